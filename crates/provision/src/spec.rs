//! The desired state: consumers (an account, an execution role, optionally a
//! function and its event source mappings) and sources (an account and a
//! table with its stream), many to many, and its validation.
//!
//! The seed's three patterns are all the same shape here: one consumer
//! reading many sources (central billing of many tenants), a consumer and
//! sources in the same accounts as other consumers (shared services), and
//! several consumers reading one source (tenant consumers of a central
//! table). Each source's stream gets one resource policy naming every
//! consumer role that reads it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use streamgate_policy::arn::AccountId;

/// How DynamoDB writes changes to the stream (`StreamViewType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StreamViewType {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both images.
    NewAndOldImages,
}

impl StreamViewType {
    /// The wire name (`NEW_AND_OLD_IMAGES`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    /// The view type of a wire name, if it is one.
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::KeysOnly,
            Self::NewImage,
            Self::OldImage,
            Self::NewAndOldImages,
        ]
        .into_iter()
        .find(|v| v.as_str() == text)
    }
}

impl fmt::Display for StreamViewType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// `S`.
    String,
    /// `N`.
    Number,
    /// `B`.
    Binary,
}

impl KeyType {
    /// The wire name (`S`, `N`, `B`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "S",
            Self::Number => "N",
            Self::Binary => "B",
        }
    }
}

/// One key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// Its type.
    pub key_type: KeyType,
}

impl KeyAttribute {
    /// A key attribute.
    pub fn new(name: impl Into<String>, key_type: KeyType) -> Self {
        Self {
            name: name.into(),
            key_type,
        }
    }
}

/// Whether the provisioner creates a source's table (and so may delete it)
/// or only checks one that already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TableOwnership {
    /// Create the table with its stream if it is missing; destroy deletes
    /// it when this provisioner created it.
    Managed,
    /// The table exists and belongs to someone else: check its stream and
    /// encryption, never create or delete it. Its stream's resource policy
    /// is still the provisioner's: replaced by the one naming the desired
    /// readers, and deleted by destroy.
    Existing,
}

/// A source: a table in an account whose stream consumers read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The name consumers refer to it by.
    pub name: String,
    /// The account that owns the table.
    pub account: AccountId,
    /// The table's name.
    pub table_name: String,
    /// The partition key.
    pub partition_key: KeyAttribute,
    /// The sort key, if any.
    pub sort_key: Option<KeyAttribute>,
    /// The stream view type the consumers need.
    pub view_type: StreamViewType,
    /// Created here or already there.
    pub ownership: TableOwnership,
    /// The ARN of the customer managed KMS key the table is encrypted
    /// with, if it is. A table encrypted with any other KMS key is taken to
    /// use the AWS managed key, which rules out cross-account access.
    pub customer_managed_key: Option<String>,
}

impl Source {
    /// A managed source table with a `NEW_AND_OLD_IMAGES` stream.
    pub fn new(
        name: impl Into<String>,
        account: AccountId,
        table_name: impl Into<String>,
        partition_key: KeyAttribute,
    ) -> Self {
        Self {
            name: name.into(),
            account,
            table_name: table_name.into(),
            partition_key,
            sort_key: None,
            view_type: StreamViewType::NewAndOldImages,
            ownership: TableOwnership::Managed,
            customer_managed_key: None,
        }
    }

    /// With a sort key.
    pub fn sort_key(mut self, key: KeyAttribute) -> Self {
        self.sort_key = Some(key);
        self
    }

    /// With another stream view type.
    pub fn view_type(mut self, view_type: StreamViewType) -> Self {
        self.view_type = view_type;
        self
    }

    /// An existing table: checked, never created or deleted.
    pub fn existing(mut self) -> Self {
        self.ownership = TableOwnership::Existing;
        self
    }

    /// The table is encrypted with this customer managed KMS key.
    pub fn customer_managed_key(mut self, key_arn: impl Into<String>) -> Self {
        self.customer_managed_key = Some(key_arn.into());
        self
    }
}

/// A Lambda function deployed from a zip (`provided.al2023` with a
/// `bootstrap` for Rust).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionSpec {
    /// The function's name.
    pub name: String,
    /// The deployment package.
    pub zip: Vec<u8>,
    /// The runtime, `provided.al2023` by default.
    pub runtime: String,
    /// The handler, `bootstrap` by default.
    pub handler: String,
    /// Memory in MB (128–10,240), 128 by default.
    pub memory_mb: i32,
    /// Timeout in seconds (1–900), 30 by default.
    pub timeout_seconds: i32,
}

impl FunctionSpec {
    /// A Rust function (`provided.al2023`, handler `bootstrap`).
    pub fn new(name: impl Into<String>, zip: Vec<u8>) -> Self {
        Self {
            name: name.into(),
            zip,
            runtime: "provided.al2023".to_owned(),
            handler: "bootstrap".to_owned(),
            memory_mb: 128,
            timeout_seconds: 30,
        }
    }
}

/// Where a mapping starts reading a stream it has not read before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartingPosition {
    /// The oldest record still in the stream (24 hours).
    TrimHorizon,
    /// Only records written after the mapping starts.
    Latest,
}

impl StartingPosition {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TrimHorizon => "TRIM_HORIZON",
            Self::Latest => "LATEST",
        }
    }
}

/// The parameters of an event source mapping, with safe defaults that
/// differ from AWS's where AWS's are dangerous for a stream: retries are
/// finite (AWS retries forever and blocks the shard), a failing batch is
/// bisected, the function reports the failed items
/// (`ReportBatchItemFailures`), and records older than a day are dropped
/// to the on-failure destination when one is given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingParameters {
    /// Records per batch, 1–10,000 (default 100).
    pub batch_size: i32,
    /// Seconds to gather a batch, 0–300 (default 0).
    pub maximum_batching_window_seconds: i32,
    /// Retries of a failing batch, -1 (forever) or 0–10,000 (default 10).
    pub maximum_retry_attempts: i32,
    /// Age in seconds after which a record is not retried, -1 (forever) or
    /// 60–604,800 (default 86,400).
    pub maximum_record_age_seconds: i32,
    /// Concurrent batches per shard, 1–10 (default 1: per-key order across
    /// the whole shard).
    pub parallelization_factor: i32,
    /// Split a failing batch in two and retry each half (default on).
    pub bisect_batch_on_function_error: bool,
    /// Let the function report which records failed (default on).
    pub report_batch_item_failures: bool,
    /// Where to start reading (default `TRIM_HORIZON`).
    pub starting_position: StartingPosition,
    /// Event filter patterns, at most 5 of at most 4,096 characters each.
    pub filters: Vec<String>,
    /// The ARN of the SQS queue or SNS topic that gets failed batches.
    pub on_failure_destination: Option<String>,
    /// Whether the mapping polls (default on).
    pub enabled: bool,
}

impl Default for MappingParameters {
    fn default() -> Self {
        Self {
            batch_size: 100,
            maximum_batching_window_seconds: 0,
            maximum_retry_attempts: 10,
            maximum_record_age_seconds: 86_400,
            parallelization_factor: 1,
            bisect_batch_on_function_error: true,
            report_batch_item_failures: true,
            starting_position: StartingPosition::TrimHorizon,
            filters: Vec::new(),
            on_failure_destination: None,
            enabled: true,
        }
    }
}

/// A consumer's subscription to one source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The [`Source::name`] read.
    pub source: String,
    /// The event source mapping's parameters (used when the consumer has a
    /// function).
    pub parameters: MappingParameters,
}

/// A consumer: an execution role in an account that reads sources, with a
/// Lambda function and one event source mapping per source when it has a
/// function (without one, the role is for a direct reader).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumer {
    /// The consumer's name (unique in the desired state).
    pub name: String,
    /// The account of the role and function.
    pub account: AccountId,
    /// The execution role's name.
    pub role_name: String,
    /// Principals besides Lambda that may assume the role (e.g. an
    /// account's root for a direct reader), as ARNs.
    pub trusted_principals: Vec<String>,
    /// The function, if any.
    pub function: Option<FunctionSpec>,
    /// The sources it reads.
    pub subscriptions: Vec<Subscription>,
    /// Tables of its own account that the function writes (e.g. its
    /// results), by table name: the role may read and write their items.
    pub writes_tables: Vec<String>,
}

impl Consumer {
    /// A consumer with a role and nothing else yet.
    pub fn new(name: impl Into<String>, account: AccountId, role_name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            account,
            role_name: role_name.into(),
            trusted_principals: Vec::new(),
            function: None,
            subscriptions: Vec::new(),
            writes_tables: Vec::new(),
        }
    }

    /// Lets the role read and write the items of `table_name`, a table of
    /// the consumer's own account (the function's results).
    pub fn writes_table(mut self, table_name: impl Into<String>) -> Self {
        self.writes_tables.push(table_name.into());
        self
    }

    /// Runs as this function.
    pub fn function(mut self, function: FunctionSpec) -> Self {
        self.function = Some(function);
        self
    }

    /// Lets `principal_arn` assume the role too.
    pub fn trust(mut self, principal_arn: impl Into<String>) -> Self {
        self.trusted_principals.push(principal_arn.into());
        self
    }

    /// Reads `source` with the default mapping parameters.
    pub fn reads(self, source: impl Into<String>) -> Self {
        self.reads_with(source, MappingParameters::default())
    }

    /// Reads `source` with these mapping parameters.
    pub fn reads_with(mut self, source: impl Into<String>, parameters: MappingParameters) -> Self {
        self.subscriptions.push(Subscription {
            source: source.into(),
            parameters,
        });
        self
    }
}

/// Everything that should exist, in one Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredState {
    /// The Region of every resource (cross-account stream access works
    /// within one Region only).
    pub region: String,
    /// The consumers.
    pub consumers: Vec<Consumer>,
    /// The sources.
    pub sources: Vec<Source>,
}

/// The name of the inline policy the provisioner writes on each role.
pub const ROLE_POLICY_NAME: &str = "streamgate-stream-read";

/// DynamoDB Streams serves at most this many simultaneous readers per
/// shard before throttling.
pub const MAX_READERS_PER_STREAM: usize = 2;

/// A desired state that cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// A parameter is outside the range AWS accepts.
    #[error("{path}: {value} is out of range: {expected}")]
    OutOfRange {
        /// Where, e.g. `consumers[0].subscriptions[1].batch_size`.
        path: String,
        /// The value given.
        value: i64,
        /// What AWS accepts.
        expected: &'static str,
    },
    /// More filters than a mapping may have.
    #[error("{path}: {count} filters given, at most 5 are allowed")]
    TooManyFilters {
        /// Where.
        path: String,
        /// How many were given.
        count: usize,
    },
    /// A filter pattern longer than AWS accepts.
    #[error("{path}: the filter pattern is {length} characters, at most 4096 are allowed")]
    FilterTooLong {
        /// Where.
        path: String,
        /// Its length.
        length: usize,
    },
    /// A filter pattern is not a JSON object, which Lambda requires.
    #[error("{path}: the filter pattern is not a JSON object: {reason}")]
    InvalidFilter {
        /// Where.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Two consumers or two sources share a name, or two resources would
    /// share one.
    #[error("{path}: duplicate {what} `{name}`")]
    Duplicate {
        /// Where the second one is.
        path: String,
        /// What kind of name.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A subscription names a source that is not in the desired state.
    #[error("{path}: unknown source `{source_name}`")]
    UnknownSource {
        /// Where.
        path: String,
        /// The name given.
        source_name: String,
    },
    /// A name AWS would refuse.
    #[error("{path}: invalid {what} `{name}`: {rule}")]
    InvalidName {
        /// Where.
        path: String,
        /// What kind of name.
        what: &'static str,
        /// The name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// A field that may not be empty is.
    #[error("{path}: {what} is empty")]
    Empty {
        /// Where.
        path: String,
        /// What is empty.
        what: &'static str,
    },
    /// An on-failure destination that is neither a queue nor a topic ARN.
    #[error("{path}: `{value}` is not an SQS queue or SNS topic ARN")]
    InvalidDestination {
        /// Where.
        path: String,
        /// The value given.
        value: String,
    },
    /// A Region name that is not one.
    #[error("region: invalid region `{region}`")]
    InvalidRegion {
        /// The value given.
        region: String,
    },
}

/// Something the plan should tell a person, but not an error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecWarning {
    /// More than two consumers read one stream: DynamoDB Streams throttles
    /// beyond two simultaneous readers per shard.
    TooManyReaders {
        /// The source.
        source: String,
        /// The consumers reading it.
        consumers: Vec<String>,
    },
    /// A source's table is encrypted with a customer managed KMS key: the
    /// readers' roles are granted `kms:Decrypt` with it, but the key policy
    /// in the source account must allow them too, and provisioning does not
    /// change key policies.
    KeyPolicyMustAllow {
        /// The source.
        source: String,
        /// The key's ARN.
        key: String,
        /// The ARNs of the roles that read the source.
        roles: Vec<String>,
    },
}

impl fmt::Display for SpecWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeyPolicyMustAllow { source, key, roles } => write!(
                f,
                "source `{source}` is encrypted with customer managed key {key}: its key policy must allow kms:Decrypt to {}; provisioning does not change key policies",
                roles.join(", ")
            ),
            Self::TooManyReaders { source, consumers } => write!(
                f,
                "source `{source}` is read by {} consumers ({}); DynamoDB Streams throttles beyond {MAX_READERS_PER_STREAM} readers per shard",
                consumers.len(),
                consumers.join(", ")
            ),
        }
    }
}

fn check_range(
    errors: &mut Vec<SpecError>,
    path: &str,
    field: &str,
    value: i32,
    ok: bool,
    expected: &'static str,
) {
    if !ok {
        errors.push(SpecError::OutOfRange {
            path: format!("{path}.{field}"),
            value: i64::from(value),
            expected,
        });
    }
}

fn check_name(
    errors: &mut Vec<SpecError>,
    path: String,
    what: &'static str,
    name: &str,
    max: usize,
    allowed: fn(char) -> bool,
    rule: &'static str,
) {
    if name.is_empty() {
        errors.push(SpecError::Empty { path, what });
    } else if name.chars().count() > max || !name.chars().all(allowed) {
        errors.push(SpecError::InvalidName {
            path,
            what,
            name: name.to_owned(),
            rule,
        });
    }
}

fn table_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

fn role_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-')
}

fn function_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-')
}

impl MappingParameters {
    /// Checks every parameter against the ranges AWS accepts; `path` names
    /// the mapping in the errors.
    pub fn validate(&self, path: &str) -> Vec<SpecError> {
        let mut errors = Vec::new();
        let e = &mut errors;
        check_range(
            e,
            path,
            "batch_size",
            self.batch_size,
            (1..=10_000).contains(&self.batch_size),
            "1 to 10000",
        );
        check_range(
            e,
            path,
            "maximum_batching_window_seconds",
            self.maximum_batching_window_seconds,
            (0..=300).contains(&self.maximum_batching_window_seconds),
            "0 to 300",
        );
        check_range(
            e,
            path,
            "maximum_retry_attempts",
            self.maximum_retry_attempts,
            (-1..=10_000).contains(&self.maximum_retry_attempts),
            "-1 (forever) or 0 to 10000",
        );
        check_range(
            e,
            path,
            "maximum_record_age_seconds",
            self.maximum_record_age_seconds,
            self.maximum_record_age_seconds == -1
                || (60..=604_800).contains(&self.maximum_record_age_seconds),
            "-1 (forever) or 60 to 604800",
        );
        check_range(
            e,
            path,
            "parallelization_factor",
            self.parallelization_factor,
            (1..=10).contains(&self.parallelization_factor),
            "1 to 10",
        );
        if self.filters.len() > 5 {
            errors.push(SpecError::TooManyFilters {
                path: format!("{path}.filters"),
                count: self.filters.len(),
            });
        }
        for (index, filter) in self.filters.iter().enumerate() {
            let length = filter.chars().count();
            if length > 4096 {
                errors.push(SpecError::FilterTooLong {
                    path: format!("{path}.filters[{index}]"),
                    length,
                });
            }
            let reason = match serde_json::from_str::<serde_json::Value>(filter) {
                Ok(serde_json::Value::Object(_)) => None,
                Ok(other) => Some(format!("it is {}", json_kind(&other))),
                Err(error) => Some(error.to_string()),
            };
            if let Some(reason) = reason {
                errors.push(SpecError::InvalidFilter {
                    path: format!("{path}.filters[{index}]"),
                    reason,
                });
            }
        }
        if let Some(destination) = &self.on_failure_destination
            && !(destination.starts_with("arn:aws:sqs:") || destination.starts_with("arn:aws:sns:"))
        {
            errors.push(SpecError::InvalidDestination {
                path: format!("{path}.on_failure_destination"),
                value: destination.clone(),
            });
        }
        errors
    }
}

/// What kind of JSON value `value` is, for error messages.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

impl DesiredState {
    /// An empty desired state in `region`.
    pub fn new(region: impl Into<String>) -> Self {
        Self {
            region: region.into(),
            consumers: Vec::new(),
            sources: Vec::new(),
        }
    }

    /// With another source.
    pub fn source(mut self, source: Source) -> Self {
        self.sources.push(source);
        self
    }

    /// With another consumer.
    pub fn consumer(mut self, consumer: Consumer) -> Self {
        self.consumers.push(consumer);
        self
    }

    /// The source named `name`.
    pub fn find_source(&self, name: &str) -> Option<&Source> {
        self.sources.iter().find(|s| s.name == name)
    }

    /// The consumers reading each source, by source name, in the order
    /// they are declared.
    pub fn readers(&self) -> BTreeMap<&str, Vec<&Consumer>> {
        let mut readers: BTreeMap<&str, Vec<&Consumer>> = BTreeMap::new();
        for source in &self.sources {
            readers.entry(source.name.as_str()).or_default();
        }
        for consumer in &self.consumers {
            for subscription in &consumer.subscriptions {
                let list = readers.entry(subscription.source.as_str()).or_default();
                if !list.iter().any(|c| c.name == consumer.name) {
                    list.push(consumer);
                }
            }
        }
        readers
    }

    /// Checks the whole desired state: every error found (not only the
    /// first), or the warnings a plan should show.
    pub fn validate(&self) -> Result<Vec<SpecWarning>, Vec<SpecError>> {
        let mut errors = Vec::new();
        let region_ok = !self.region.is_empty()
            && self.region.len() <= 32
            && self
                .region
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && self.region.contains('-');
        if !region_ok {
            errors.push(SpecError::InvalidRegion {
                region: self.region.clone(),
            });
        }
        let mut source_names = BTreeSet::new();
        let mut tables = BTreeSet::new();
        for (index, source) in self.sources.iter().enumerate() {
            let path = format!("sources[{index}]");
            if !source_names.insert(source.name.as_str()) {
                errors.push(SpecError::Duplicate {
                    path: format!("{path}.name"),
                    what: "source",
                    name: source.name.clone(),
                });
            }
            check_name(
                &mut errors,
                format!("{path}.table_name"),
                "table name",
                &source.table_name,
                255,
                table_char,
                "3 to 255 of a-z, A-Z, 0-9, _, - and .",
            );
            if !source.table_name.is_empty() && source.table_name.len() < 3 {
                errors.push(SpecError::InvalidName {
                    path: format!("{path}.table_name"),
                    what: "table name",
                    name: source.table_name.clone(),
                    rule: "3 to 255 of a-z, A-Z, 0-9, _, - and .",
                });
            }
            if !tables.insert((source.account.clone(), source.table_name.as_str())) {
                errors.push(SpecError::Duplicate {
                    path: format!("{path}.table_name"),
                    what: "table",
                    name: source.table_name.clone(),
                });
            }
            if source.partition_key.name.is_empty() {
                errors.push(SpecError::Empty {
                    path: format!("{path}.partition_key"),
                    what: "partition key name",
                });
            }
        }
        let mut consumer_names = BTreeSet::new();
        let mut roles = BTreeSet::new();
        let mut functions = BTreeSet::new();
        for (index, consumer) in self.consumers.iter().enumerate() {
            let path = format!("consumers[{index}]");
            if !consumer_names.insert(consumer.name.as_str()) {
                errors.push(SpecError::Duplicate {
                    path: format!("{path}.name"),
                    what: "consumer",
                    name: consumer.name.clone(),
                });
            }
            check_name(
                &mut errors,
                format!("{path}.role_name"),
                "role name",
                &consumer.role_name,
                64,
                role_char,
                "1 to 64 of a-z, A-Z, 0-9 and +=,.@_-",
            );
            if !roles.insert((consumer.account.clone(), consumer.role_name.as_str())) {
                errors.push(SpecError::Duplicate {
                    path: format!("{path}.role_name"),
                    what: "role",
                    name: consumer.role_name.clone(),
                });
            }
            if let Some(function) = &consumer.function {
                check_name(
                    &mut errors,
                    format!("{path}.function.name"),
                    "function name",
                    &function.name,
                    64,
                    function_char,
                    "1 to 64 of a-z, A-Z, 0-9, _ and -",
                );
                if !functions.insert((consumer.account.clone(), function.name.as_str())) {
                    errors.push(SpecError::Duplicate {
                        path: format!("{path}.function.name"),
                        what: "function",
                        name: function.name.clone(),
                    });
                }
                if function.zip.is_empty() {
                    errors.push(SpecError::Empty {
                        path: format!("{path}.function.zip"),
                        what: "deployment package",
                    });
                }
                check_range(
                    &mut errors,
                    &format!("{path}.function"),
                    "memory_mb",
                    function.memory_mb,
                    (128..=10_240).contains(&function.memory_mb),
                    "128 to 10240",
                );
                check_range(
                    &mut errors,
                    &format!("{path}.function"),
                    "timeout_seconds",
                    function.timeout_seconds,
                    (1..=900).contains(&function.timeout_seconds),
                    "1 to 900",
                );
            }
            let mut read = BTreeSet::new();
            for (sub_index, subscription) in consumer.subscriptions.iter().enumerate() {
                let sub_path = format!("{path}.subscriptions[{sub_index}]");
                if self.find_source(&subscription.source).is_none() {
                    errors.push(SpecError::UnknownSource {
                        path: format!("{sub_path}.source"),
                        source_name: subscription.source.clone(),
                    });
                }
                if !read.insert(subscription.source.as_str()) {
                    errors.push(SpecError::Duplicate {
                        path: format!("{sub_path}.source"),
                        what: "subscription",
                        name: subscription.source.clone(),
                    });
                }
                errors.extend(subscription.parameters.validate(&sub_path));
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let readers = self.readers();
        let mut warnings: Vec<SpecWarning> = readers
            .iter()
            .filter(|(_, consumers)| consumers.len() > MAX_READERS_PER_STREAM)
            .map(|(source, consumers)| SpecWarning::TooManyReaders {
                source: (*source).to_owned(),
                consumers: consumers.iter().map(|c| c.name.clone()).collect(),
            })
            .collect();
        for source in &self.sources {
            let Some(key) = &source.customer_managed_key else {
                continue;
            };
            let roles: Vec<String> = readers
                .get(source.name.as_str())
                .into_iter()
                .flatten()
                .map(|c| format!("arn:aws:iam::{}:role/{}", c.account, c.role_name))
                .collect();
            if !roles.is_empty() {
                warnings.push(SpecWarning::KeyPolicyMustAllow {
                    source: source.name.clone(),
                    key: key.clone(),
                    roles,
                });
            }
        }
        Ok(warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn account(id: &str) -> AccountId {
        id.parse().unwrap()
    }

    fn check(desired: &DesiredState, expected: Expect) {
        let actual = match desired.validate() {
            Ok(warnings) => warnings
                .iter()
                .map(|w| format!("warning: {w}\n"))
                .collect::<String>(),
            Err(errors) => errors.iter().map(|e| format!("error: {e}\n")).collect(),
        };
        expected.assert_eq(&actual);
    }

    fn base() -> DesiredState {
        DesiredState::new("eu-west-1").source(Source::new(
            "documents",
            account("222222222222"),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
    }

    #[test]
    fn defaults_are_valid_and_safe() {
        let parameters = MappingParameters::default();
        assert!(parameters.validate("m").is_empty());
        assert_ne!(parameters.maximum_retry_attempts, -1);
        assert!(parameters.bisect_batch_on_function_error);
        assert!(parameters.report_batch_item_failures);
        check(
            &base().consumer(
                Consumer::new("billing", account("111111111111"), "billing").reads("documents"),
            ),
            expect![""],
        );
    }

    #[test]
    fn every_parameter_out_of_range_is_reported_with_its_path() {
        let parameters = MappingParameters {
            batch_size: 0,
            maximum_batching_window_seconds: 301,
            maximum_retry_attempts: -2,
            maximum_record_age_seconds: 59,
            parallelization_factor: 11,
            filters: vec![
                "{}".to_owned(),
                "[1]".to_owned(),
                "{\"dynamodb\":".to_owned(),
                "{}".to_owned(),
                "{}".to_owned(),
                "{}".to_owned(),
            ],
            on_failure_destination: Some("arn:aws:s3:::bucket".to_owned()),
            ..MappingParameters::default()
        };
        check(
            &base().consumer(
                Consumer::new("billing", account("111111111111"), "billing")
                    .reads_with("documents", parameters),
            ),
            expect![[r#"
                error: consumers[0].subscriptions[0].batch_size: 0 is out of range: 1 to 10000
                error: consumers[0].subscriptions[0].maximum_batching_window_seconds: 301 is out of range: 0 to 300
                error: consumers[0].subscriptions[0].maximum_retry_attempts: -2 is out of range: -1 (forever) or 0 to 10000
                error: consumers[0].subscriptions[0].maximum_record_age_seconds: 59 is out of range: -1 (forever) or 60 to 604800
                error: consumers[0].subscriptions[0].parallelization_factor: 11 is out of range: 1 to 10
                error: consumers[0].subscriptions[0].filters: 6 filters given, at most 5 are allowed
                error: consumers[0].subscriptions[0].filters[1]: the filter pattern is not a JSON object: it is an array
                error: consumers[0].subscriptions[0].filters[2]: the filter pattern is not a JSON object: EOF while parsing a value at line 1 column 12
                error: consumers[0].subscriptions[0].on_failure_destination: `arn:aws:s3:::bucket` is not an SQS queue or SNS topic ARN
            "#]],
        );
    }

    /// A filter pattern (a JSON object) of exactly `length` characters.
    fn pattern_of_length(length: usize) -> String {
        let pattern = format!("{{\"k\":\"{}\"}}", "x".repeat(length - 8));
        assert_eq!(pattern.len(), length);
        pattern
    }

    #[test]
    fn range_edges_are_accepted() {
        for (batch, window, retries, age, parallel) in [
            (1, 0, -1, -1, 1),
            (10_000, 300, 10_000, 604_800, 10),
            (5, 1, 0, 60, 2),
        ] {
            let parameters = MappingParameters {
                batch_size: batch,
                maximum_batching_window_seconds: window,
                maximum_retry_attempts: retries,
                maximum_record_age_seconds: age,
                parallelization_factor: parallel,
                filters: vec![pattern_of_length(4096); 5],
                ..MappingParameters::default()
            };
            assert_eq!(parameters.validate("m"), Vec::new(), "{parameters:?}");
        }
        let long = MappingParameters {
            filters: vec![pattern_of_length(4097)],
            ..MappingParameters::default()
        };
        assert_eq!(
            long.validate("m"),
            vec![SpecError::FilterTooLong {
                path: "m.filters[0]".to_owned(),
                length: 4097
            }]
        );
    }

    #[test]
    fn names_references_and_duplicates_are_checked() {
        let desired = base()
            .source(Source::new(
                "documents",
                account("222222222222"),
                "x",
                KeyAttribute::new("", KeyType::Number),
            ))
            .consumer(
                Consumer::new("billing", account("111111111111"), "bad role!")
                    .reads("nowhere")
                    .reads("documents")
                    .reads("documents")
                    .function(FunctionSpec::new("fn", Vec::new())),
            )
            .consumer(Consumer::new("billing", account("111111111111"), "other"));
        check(
            &desired,
            expect![[r#"
                error: sources[1].name: duplicate source `documents`
                error: sources[1].table_name: invalid table name `x`: 3 to 255 of a-z, A-Z, 0-9, _, - and .
                error: sources[1].partition_key: partition key name is empty
                error: consumers[0].role_name: invalid role name `bad role!`: 1 to 64 of a-z, A-Z, 0-9 and +=,.@_-
                error: consumers[0].function.zip: deployment package is empty
                error: consumers[0].subscriptions[0].source: unknown source `nowhere`
                error: consumers[0].subscriptions[2].source: duplicate subscription `documents`
                error: consumers[1].name: duplicate consumer `billing`
            "#]],
        );
        check(
            &DesiredState::new("Europe"),
            expect![[r#"
                error: region: invalid region `Europe`
            "#]],
        );
    }

    #[test]
    fn more_than_two_readers_of_one_stream_is_a_warning() {
        let mut desired = base();
        for (index, name) in ["a", "b", "c"].iter().enumerate() {
            desired = desired.consumer(
                Consumer::new(
                    *name,
                    account(["111111111111", "333333333333", "111111111111"][index]),
                    format!("{name}-role"),
                )
                .reads("documents"),
            );
        }
        check(
            &desired,
            expect![[r#"
                warning: source `documents` is read by 3 consumers (a, b, c); DynamoDB Streams throttles beyond 2 readers per shard
            "#]],
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// A parameter set is accepted exactly when every value is in
            /// the range AWS documents, and each value out of range is
            /// reported once, at its own path.
            #[test]
            fn accepted_exactly_within_the_documented_ranges(
                batch in -5i32..10_010,
                window in -5i32..310,
                retries in -5i32..10_010,
                age in -5i32..604_810,
                parallel in -2i32..13,
                filters in 0usize..8,
            ) {
                let parameters = MappingParameters {
                    batch_size: batch,
                    maximum_batching_window_seconds: window,
                    maximum_retry_attempts: retries,
                    maximum_record_age_seconds: age,
                    parallelization_factor: parallel,
                    filters: vec!["{}".to_owned(); filters],
                    ..MappingParameters::default()
                };
                let outside = [
                    !(1..=10_000).contains(&batch),
                    !(0..=300).contains(&window),
                    !(retries == -1 || (0..=10_000).contains(&retries)),
                    !(age == -1 || (60..=604_800).contains(&age)),
                    !(1..=10).contains(&parallel),
                    filters > 5,
                ]
                .iter()
                .filter(|o| **o)
                .count();
                prop_assert_eq!(parameters.validate("m").len(), outside);
            }
        }
    }
}
