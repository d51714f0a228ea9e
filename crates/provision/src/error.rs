//! The errors of the operations that talk to the accounts.

use crate::plan::{Blocker, PlanError};
use streamgate_policy::arn::{AccountId, ArnError};
use streamgate_policy::document::PolicyParseError;

/// A provisioning operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// An AWS call failed with an error it is not retried for (or still
    /// failed after its retries).
    #[error("{operation} on {resource} failed: {code}: {message}")]
    Aws {
        /// The operation, e.g. `PutResourcePolicy`.
        operation: &'static str,
        /// What it was called on.
        resource: String,
        /// The error code (`AccessDeniedException`, ...), or
        /// `NoServiceError` when the call got no answer from the service.
        code: String,
        /// The error message.
        message: String,
    },
    /// No clients were given for an account the operation needs.
    #[error("no clients given for account {account}")]
    NoClients {
        /// The account.
        account: AccountId,
    },
    /// The clients of an account are configured for another Region.
    #[error(
        "the clients of account {account} are configured for region {configured}, the desired state is in {desired}"
    )]
    RegionMismatch {
        /// The account.
        account: AccountId,
        /// The Region of its clients (`none` when unset).
        configured: String,
        /// The desired state's Region.
        desired: String,
    },
    /// The credentials given for an account belong to another one.
    #[error("the clients given for account {expected} have the credentials of account {actual}")]
    AccountMismatch {
        /// The account the clients were given for.
        expected: AccountId,
        /// The account STS says they belong to.
        actual: String,
    },
    /// The desired state is invalid.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Pre-checks found problems; nothing was written.
    #[error("apply blocked before writing anything: {}", join(.0))]
    Blocked(Vec<Blocker>),
    /// A policy read from an account does not parse.
    #[error("the policy of {resource} does not parse: {source}")]
    UnreadablePolicy {
        /// Whose policy.
        resource: String,
        /// Why.
        source: PolicyParseError,
    },
    /// An ARN read from an account or built from the desired state is not
    /// valid.
    #[error("invalid ARN: {0}")]
    Arn(#[from] ArnError),
    /// A resource did not reach the state waited for.
    #[error("{resource} did not become {wanted} after {attempts} polls; last state {last}")]
    NotSettled {
        /// What was waited for.
        resource: String,
        /// The state wanted.
        wanted: &'static str,
        /// How many polls were made.
        attempts: u32,
        /// The last state seen.
        last: String,
    },
    /// An error message doctor was asked to explain does not name what it
    /// needs.
    #[error("the message names no {missing}; give it explicitly: {message}")]
    UnexplainedMessage {
        /// What is missing: `role` or `stream`.
        missing: &'static str,
        /// The message.
        message: String,
    },
    /// The state file cannot be read or written.
    #[error("state file {path}: {message}")]
    StateFile {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

fn join(blockers: &[Blocker]) -> String {
    blockers
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The code and message of a failed SDK call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn of<E, R>(error: &aws_sdk_iam::error::SdkError<E, R>) -> Self
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        use aws_sdk_iam::error::ProvideErrorMetadata;
        match error.code() {
            Some(code) => Self {
                code: code.to_owned(),
                message: error.message().unwrap_or_default().to_owned(),
            },
            None => Self {
                code: "NoServiceError".to_owned(),
                message: aws_sdk_iam::error::DisplayErrorContext(error).to_string(),
            },
        }
    }

    pub(crate) fn into_error(
        self,
        operation: &'static str,
        resource: impl Into<String>,
    ) -> ProvisionError {
        ProvisionError::Aws {
            operation,
            resource: resource.into(),
            code: self.code,
            message: self.message,
        }
    }

    /// A "does not exist" answer of any of the services.
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(
            self.code.as_str(),
            "NoSuchEntity" | "ResourceNotFoundException" | "PolicyNotFoundException"
        )
    }
}
