//! The SDK clients of each account, and the waits between retries and
//! polls.
//!
//! One [`AccountClients`] per account, built from that account's
//! `SdkConfig` (or from clients the caller configured, e.g. with an
//! interceptor); [`Accounts`] finds them by account id.

use crate::error::ProvisionError;
use aws_types::SdkConfig;
use std::collections::BTreeMap;
use std::time::Duration;
use streamgate_policy::arn::AccountId;

/// The clients for one account.
#[derive(Debug, Clone)]
pub struct AccountClients {
    /// IAM: roles and their policies.
    pub iam: aws_sdk_iam::Client,
    /// Lambda: functions and event source mappings.
    pub lambda: aws_sdk_lambda::Client,
    /// DynamoDB: tables and resource policies.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// STS: which account the credentials belong to.
    pub sts: aws_sdk_sts::Client,
    /// The Region the clients are configured for, if any.
    pub region: Option<String>,
}

impl AccountClients {
    /// Clients for the account whose credentials `config` carries.
    pub fn new(config: &SdkConfig) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(config),
            lambda: aws_sdk_lambda::Client::new(config),
            dynamodb: aws_sdk_dynamodb::Client::new(config),
            sts: aws_sdk_sts::Client::new(config),
            region: config.region().map(ToString::to_string),
        }
    }
}

/// The clients of every account the desired state names.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    by_id: BTreeMap<AccountId, AccountClients>,
}

impl Accounts {
    /// No accounts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// With the clients of `account`.
    pub fn with(mut self, account: AccountId, clients: AccountClients) -> Self {
        self.by_id.insert(account, clients);
        self
    }

    /// With the clients built from `config` for `account`.
    pub fn with_config(self, account: AccountId, config: &SdkConfig) -> Self {
        self.with(account, AccountClients::new(config))
    }

    /// The clients of `account`, if given.
    pub fn get(&self, account: &AccountId) -> Option<&AccountClients> {
        self.by_id.get(account)
    }

    /// Every account and its clients.
    pub fn iter(&self) -> impl Iterator<Item = (&AccountId, &AccountClients)> {
        self.by_id.iter()
    }
}

/// How long to wait between attempts of one kind, and how many attempts
/// to make. The first retry waits `initial`, each next one twice as long,
/// at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry.
    pub initial: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts in all, the first included.
    pub attempts: u32,
}

impl Backoff {
    /// `attempts` attempts with no wait between them.
    pub const fn immediate(attempts: u32) -> Self {
        Self {
            initial: Duration::ZERO,
            max: Duration::ZERO,
            attempts,
        }
    }

    /// The wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32) -> Duration {
        let factor = 1u32
            .checked_shl(retry.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }
}

/// The waits AWS needs. [`Waits::aws`] suits AWS; [`Waits::local`]
/// suits the local cloud, where IAM changes apply at once and no throttle
/// exists, so nothing sleeps unless a call actually asks to be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waits {
    /// IAM propagation: a new role is not yet usable by Lambda ("cannot be
    /// assumed by Lambda") or as a principal ("Invalid principal in policy
    /// document") for several seconds after it is created.
    pub iam_propagation: Backoff,
    /// DynamoDB refuses a resource policy change within about 15 seconds of
    /// the previous one on the same resource.
    pub policy_throttle: Backoff,
    /// Polling a table until it is `ACTIVE` (or gone) and a function or
    /// mapping until its state settles; also retrying what an eventually
    /// consistent read got wrong (an UpdateTable refused as the table is
    /// still in use, a stream policy revision found stale).
    pub settle: Backoff,
}

impl Waits {
    /// What AWS needs: IAM propagation up to about a minute, the 15-second
    /// policy throttle, tables and mappings within a few minutes.
    pub const fn aws() -> Self {
        Self {
            iam_propagation: Backoff {
                initial: Duration::from_secs(2),
                max: Duration::from_secs(10),
                attempts: 10,
            },
            policy_throttle: Backoff {
                initial: Duration::from_secs(15),
                max: Duration::from_secs(15),
                attempts: 6,
            },
            settle: Backoff {
                initial: Duration::from_secs(1),
                max: Duration::from_secs(5),
                attempts: 90,
            },
        }
    }

    /// For the local cloud and tests, where IAM changes apply at once and
    /// no throttle exists: retries without waiting, and short polls for
    /// states that settle asynchronously (a function becoming active).
    pub const fn local() -> Self {
        Self {
            iam_propagation: Backoff::immediate(3),
            policy_throttle: Backoff::immediate(3),
            settle: Backoff {
                initial: Duration::from_millis(10),
                max: Duration::from_millis(250),
                attempts: 120,
            },
        }
    }
}

impl Default for Waits {
    fn default() -> Self {
        Self::aws()
    }
}

/// Waits `backoff`'s delay before retry number `retry`; returns at once
/// when the delay is zero.
pub(crate) async fn pause(backoff: &Backoff, retry: u32) {
    let delay = backoff.delay(retry);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// Counts one more retry with `backoff` (the one the failure calls for, or
/// `None` when it is final) and returns it while attempts are left.
pub(crate) fn next_retry<'a>(retry: &mut u32, backoff: Option<&'a Backoff>) -> Option<&'a Backoff> {
    let backoff = backoff?;
    *retry += 1;
    (*retry < backoff.attempts).then_some(backoff)
}

/// Sends a request until it succeeds or fails for good: a failure for which
/// `backoff_for` names a backoff is sent again after its pause while that
/// backoff has attempts left; any other failure, or the last, is returned.
pub(crate) async fn send_with_retries<'w, T, E, R, Fut>(
    mut send: impl FnMut() -> Fut,
    backoff_for: impl Fn(&crate::error::Failure) -> Option<&'w Backoff>,
) -> Result<T, crate::error::Failure>
where
    Fut: std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut retry = 0;
    loop {
        match send().await {
            Ok(output) => return Ok(output),
            Err(error) => {
                let failure = crate::error::Failure::of(&error);
                match next_retry(&mut retry, backoff_for(&failure)) {
                    Some(backoff) => pause(backoff, retry).await,
                    None => return Err(failure),
                }
            }
        }
    }
}

/// What one look at a settling resource saw.
pub(crate) enum Settling<T> {
    /// It is as wanted: the wait is over.
    Settled(T),
    /// Not yet, and this is how it looks.
    Pending(String),
    /// It could not be seen this time; what an earlier look saw stands.
    Unseen,
}

/// Looks at a resource with `look` until it has settled, pausing between
/// looks as `waits.settle` says; an error from a look ends the wait. Still
/// unsettled after every attempt, it is [`ProvisionError::NotSettled`]
/// naming `resource`, `wanted` and how it looked last (`unseen` when no
/// look saw it).
pub(crate) async fn settle<T, Look, Answer>(
    waits: &Waits,
    resource: String,
    wanted: &'static str,
    unseen: &str,
    mut look: Look,
) -> Result<T, ProvisionError>
where
    Look: FnMut() -> Answer,
    Answer: std::future::Future<Output = Result<Settling<T>, ProvisionError>>,
{
    let mut last = unseen.to_owned();
    for attempt in 0..waits.settle.attempts {
        if attempt > 0 {
            pause(&waits.settle, attempt).await;
        }
        match look().await? {
            Settling::Settled(settled) => return Ok(settled),
            Settling::Pending(now) => last = now,
            Settling::Unseen => {}
        }
    }
    Err(ProvisionError::NotSettled {
        resource,
        wanted,
        attempts: waits.settle.attempts,
        last,
    })
}
