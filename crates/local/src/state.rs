//! The state of the local cloud: [`Cloud`] holds the accounts, each with its
//! IAM state and one store per region, and the sessions AssumeRole created.
//!
//! Locking: every lock here is a short `std::sync::Mutex`/`RwLock` taken by
//! synchronous handler code and never held across an `.await`; a request
//! touches the IAM state of its accounts and the one region store it
//! addresses, so requests to different accounts or regions never contend.

use crate::clock::Clock;
use crate::dynamodb::RegionStore;
use crate::error::{ApiError, ErrorCode};
use crate::iam::IamState;
use crate::identity::Session;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Duration;
use streamgate_policy::document::{PolicyDocument, PolicyParseError};

/// How stream shards roll over; see [`crate::LocalCloudBuilder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardRollover {
    /// A shard is closed once it holds this many records.
    pub max_records: u64,
    /// A shard is closed once it is this old (resource clock).
    pub max_age: Duration,
}

impl Default for ShardRollover {
    fn default() -> Self {
        Self {
            max_records: 100_000,
            max_age: Duration::from_secs(4 * 3600),
        }
    }
}

/// One account: its IAM state and its per-region stores.
#[derive(Debug)]
pub struct Account {
    /// The 12-digit id.
    pub id: String,
    /// Roles and customer managed policies (IAM is global).
    pub iam: Mutex<IamState>,
    regions: Mutex<HashMap<String, Arc<Mutex<RegionStore>>>>,
}

/// Locks a mutex, carrying on after a panic elsewhere: the state is plain
/// data that every handler leaves consistent before it could panic.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Account {
    /// The store of `region`, created on first use (resources are per region).
    pub fn region(&self, region: &str) -> Arc<Mutex<RegionStore>> {
        let mut regions = lock(&self.regions);
        Arc::clone(
            regions
                .entry(region.to_owned())
                .or_insert_with(|| Arc::new(Mutex::new(RegionStore::default()))),
        )
    }
}

/// The whole local cloud.
#[derive(Debug)]
pub struct Cloud {
    /// The clock resources age by.
    pub clock: Clock,
    /// Shard rollover settings.
    pub rollover: ShardRollover,
    /// Lambda functions of every account and region.
    pub functions: crate::lambda::functions::FunctionRegistry,
    /// Lambda event source mappings.
    pub mappings: crate::lambda::mappings::MappingRegistry,
    /// The processes that run Lambda functions.
    pub executor: crate::lambda::executor::Executor,
    /// SQS queues of every account and region.
    pub queues: crate::sqs::QueueRegistry,
    /// Tags of Lambda functions and event source mappings.
    pub lambda_tags: crate::lambda::tags::TagRegistry,
    /// Lambda reservations and running invocations.
    pub concurrency: crate::lambda::concurrency::ConcurrencyRegistry,
    /// Lambda's asynchronous invocation settings.
    pub event_invoke_configs: crate::lambda::event_config::EventInvokeConfigRegistry,
    /// Lambda's queued asynchronous (`Event`) invocations.
    pub event_queue: crate::lambda::event_config::EventQueue,
    accounts: BTreeMap<String, Account>,
    sessions: RwLock<HashMap<String, Session>>,
    counter: AtomicU64,
    seed: u64,
    parsed_policies: RwLock<HashMap<String, Arc<PolicyDocument>>>,
}

/// How long an expired session is remembered.
const SESSION_MEMORY_MILLIS: u64 = 24 * 3600 * 1000;

/// How many parsed documents the cache keeps before it starts over.
const PARSED_POLICY_CACHE_LIMIT: usize = 10_000;

impl Cloud {
    /// A cloud with these accounts (already validated as 12 digits).
    pub fn new(account_ids: &[String], rollover: ShardRollover) -> Self {
        let accounts = account_ids
            .iter()
            .map(|id| {
                let account = Account {
                    id: id.clone(),
                    iam: Mutex::new(IamState::default()),
                    regions: Mutex::new(HashMap::new()),
                };
                (id.clone(), account)
            })
            .collect();
        Self {
            clock: Clock::default(),
            rollover,
            functions: crate::lambda::functions::FunctionRegistry::default(),
            executor: crate::lambda::executor::Executor::default(),
            mappings: crate::lambda::mappings::MappingRegistry::default(),
            queues: crate::sqs::QueueRegistry::default(),
            lambda_tags: crate::lambda::tags::TagRegistry::default(),
            concurrency: crate::lambda::concurrency::ConcurrencyRegistry::default(),
            event_invoke_configs: crate::lambda::event_config::EventInvokeConfigRegistry::default(),
            event_queue: crate::lambda::event_config::EventQueue::default(),
            accounts,
            sessions: RwLock::new(HashMap::new()),
            counter: AtomicU64::new(0),
            seed: crate::clock::wall_millis(),
            parsed_policies: RwLock::new(HashMap::new()),
        }
    }

    /// The account with this id.
    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.get(id)
    }

    /// The account ids.
    pub fn account_ids(&self) -> impl Iterator<Item = &str> {
        self.accounts.keys().map(String::as_str)
    }

    /// The account with this id, or the error DynamoDB gives for a resource
    /// in an account it does not know.
    pub fn account_or_not_found(&self, id: &str, what: &str) -> Result<&Account, ApiError> {
        self.account(id).ok_or_else(|| {
            ApiError::new(
                ErrorCode::ResourceNotFoundException,
                format!("Requested resource not found: {what} not found"),
            )
        })
    }

    /// A number unique within this cloud.
    pub fn next_number(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::Relaxed)
    }

    /// A unique token of `length` characters from `alphabet`, starting with
    /// `prefix`: unpredictable enough for local credentials and ids.
    pub fn unique_token(&self, prefix: &str, length: usize, alphabet: &[u8]) -> String {
        let mut out = String::from(prefix);
        let number = self.next_number();
        let mut block = 0u64;
        while out.len() < length {
            let digest = Sha256::new()
                .chain_update(self.seed.to_le_bytes())
                .chain_update(number.to_le_bytes())
                .chain_update(block.to_le_bytes())
                .finalize();
            for byte in digest {
                if out.len() >= length {
                    break;
                }
                let index = usize::from(byte) % alphabet.len().max(1);
                if let Some(&c) = alphabet.get(index) {
                    out.push(char::from(c));
                }
            }
            block += 1;
        }
        out
    }

    /// The parsed form of a policy document, from the cache when it was
    /// seen before.
    pub fn parsed_policy(&self, text: &str) -> Result<Arc<PolicyDocument>, PolicyParseError> {
        {
            let cache = self
                .parsed_policies
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if let Some(document) = cache.get(text) {
                return Ok(Arc::clone(document));
            }
        }
        let document = Arc::new(PolicyDocument::parse(text)?);
        let mut cache = self
            .parsed_policies
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= PARSED_POLICY_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(text.to_owned(), Arc::clone(&document));
        Ok(document)
    }

    /// Stores a session under its access key id.
    pub fn add_session(&self, access_key_id: String, session: Session) {
        let mut sessions = self
            .sessions
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        // Expired sessions are kept for a day so that their tokens are
        // reported as expired, not as unknown, as STS reports them.
        let horizon = self
            .clock
            .now_millis()
            .saturating_sub(SESSION_MEMORY_MILLIS);
        sessions.retain(|_, s| s.expires_millis > horizon);
        sessions.insert(access_key_id, session);
    }

    /// The session with this access key id, expired or not.
    pub fn session(&self, access_key_id: &str) -> Option<Session> {
        let sessions = self.sessions.read().unwrap_or_else(PoisonError::into_inner);
        sessions.get(access_key_id).cloned()
    }
}

/// Upper-case letters and digits, as AWS ids use.
pub const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/// Base64-ish characters, as AWS secrets use.
pub const SECRET_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
