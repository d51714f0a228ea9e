//! What exists: a snapshot of the resources the desired state names, read
//! from the accounts by [`crate::read`] or written by hand in tests. Pure
//! data; planning compares it with the desired state without any IO.

use crate::spec::{MappingParameters, StreamViewType};
use std::collections::BTreeMap;
use streamgate_policy::arn::{AccountId, StreamArn};
use streamgate_policy::document::PolicyDocument;

/// An execution role as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedRole {
    /// Its ARN.
    pub arn: String,
    /// Its trust policy.
    pub trust_policy: PolicyDocument,
    /// The provisioner's inline policy on it, if present.
    pub read_policy: Option<PolicyDocument>,
}

/// A table's stream as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedStream {
    /// The latest stream's ARN.
    pub arn: StreamArn,
    /// Its view type, when the stream is enabled (`None`: the latest
    /// stream is disabled).
    pub view_type: Option<StreamViewType>,
}

/// A table as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedTable {
    /// Its ARN.
    pub arn: String,
    /// `CREATING`, `ACTIVE`, ...
    pub status: String,
    /// The latest stream, if the table ever had one.
    pub stream: Option<ObservedStream>,
    /// The KMS key ARN when the table is encrypted with a KMS key (`None`:
    /// the AWS owned key, which does not stand in the way).
    pub kms_key_arn: Option<String>,
}

/// A resource policy as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPolicy {
    /// The document.
    pub document: PolicyDocument,
    /// Its revision id, for `ExpectedRevisionId`.
    pub revision_id: String,
}

/// A Lambda function as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedFunction {
    /// Its ARN.
    pub arn: String,
    /// The execution role's ARN.
    pub role: String,
    /// The runtime.
    pub runtime: String,
    /// The handler.
    pub handler: String,
    /// Memory in MB.
    pub memory_mb: i32,
    /// Timeout in seconds.
    pub timeout_seconds: i32,
    /// Base64 of the SHA-256 of the deployment package, as Lambda reports it.
    pub code_sha256: String,
}

/// An event source mapping as it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedMapping {
    /// Its UUID.
    pub uuid: String,
    /// The function's ARN.
    pub function_arn: String,
    /// The stream's ARN.
    pub stream_arn: String,
    /// `Creating`, `Enabled`, `Disabled`, ...
    pub state: String,
    /// Its parameters as Lambda reports them.
    pub parameters: MappingParameters,
}

/// Everything read, keyed by account and name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observed {
    /// Roles by account and role name.
    pub roles: BTreeMap<(AccountId, String), ObservedRole>,
    /// Tables by account and table name.
    pub tables: BTreeMap<(AccountId, String), ObservedTable>,
    /// Stream policies by stream ARN.
    pub stream_policies: BTreeMap<String, ObservedPolicy>,
    /// Functions by account and function name.
    pub functions: BTreeMap<(AccountId, String), ObservedFunction>,
    /// The mappings of the desired functions.
    pub mappings: Vec<ObservedMapping>,
}
