//! Planning: the documents the desired state calls for, and the diff of the
//! desired state against an [`Observed`] snapshot as the list of actions a
//! person reviews (create, update or no change, per resource, in the order
//! apply takes them, with policy differences shown). Pure: no IO.

use crate::observed::{Observed, ObservedMapping, ObservedTable};
use crate::spec::{
    Consumer, DesiredState, FunctionSpec, MappingParameters, Source, SpecError, SpecWarning,
    TableOwnership,
};
use crate::state::{Recorded, StateFile};
use sha2::{Digest, Sha256};
use std::fmt;
use streamgate_policy::arn::{AccountId, Arn, ArnError, FunctionArn, RoleArn, StreamArn, TableArn};
use streamgate_policy::builders::{
    ExecutionRolePolicyBuilder, OnFailureDestination, StreamPolicyBuilder, lambda_trust_policy,
};
use streamgate_policy::document::{
    Effect, OneOrMany, PolicyDocument, PrincipalType, Principals, Statement,
};
use streamgate_policy::lint::{Finding, PolicyType, Severity, lint};

/// The label shown for a stream that does not exist yet.
pub const LABEL_KNOWN_AFTER_APPLY: &str = "LABEL-KNOWN-AFTER-APPLY";

/// A resource the provisioner manages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Resource {
    /// A source table with its stream.
    Table {
        /// The owning account.
        account: AccountId,
        /// The table's name.
        name: String,
    },
    /// A consumer's execution role with its trust policy.
    Role {
        /// The owning account.
        account: AccountId,
        /// The role's name.
        name: String,
    },
    /// The inline identity policy on a role that reads the streams.
    RolePolicy {
        /// The owning account.
        account: AccountId,
        /// The role's name.
        role: String,
    },
    /// The resource policy on a table's stream.
    StreamPolicy {
        /// The table's account.
        account: AccountId,
        /// The table's name.
        table: String,
    },
    /// A Lambda function.
    Function {
        /// The owning account.
        account: AccountId,
        /// The function's name.
        name: String,
    },
    /// An event source mapping from a stream to a function.
    Mapping {
        /// The function's account.
        account: AccountId,
        /// The function's name.
        function: String,
        /// The source table's account.
        table_account: AccountId,
        /// The source table's name.
        table: String,
    },
    /// An event source mapping of a desired function from an old stream of
    /// a source's table (its view type changed since): it is deleted.
    StaleMapping {
        /// The function's account.
        account: AccountId,
        /// The function's name.
        function: String,
        /// The old stream's ARN.
        stream: String,
    },
    /// A resource an earlier apply created (recorded in the state file)
    /// that the desired state no longer names: a consumer or a source
    /// removed, or a subscription dropped. It is deleted.
    Leftover(Recorded),
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table { account, name } => write!(f, "table {account}/{name}"),
            Self::Role { account, name } => write!(f, "role {account}/{name}"),
            Self::RolePolicy { account, role } => write!(f, "role policy {account}/{role}"),
            Self::StreamPolicy { account, table } => {
                write!(f, "stream policy {account}/{table}")
            }
            Self::Function { account, name } => write!(f, "function {account}/{name}"),
            Self::Mapping {
                account,
                function,
                table_account,
                table,
            } => write!(f, "mapping {table_account}/{table} -> {account}/{function}"),
            Self::StaleMapping {
                account,
                function,
                stream,
            } => write!(f, "mapping {stream} -> {account}/{function}"),
            Self::Leftover(record) => write!(f, "{record}"),
        }
    }
}

/// What apply will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// It is missing and will be created as described.
    Create {
        /// What will be created (a policy's document, a table's key schema).
        detail: String,
    },
    /// It exists and differs.
    Update {
        /// What differs (a policy's line diff, the fields that change).
        detail: String,
    },
    /// It exists and is no longer wanted (a policy that would grant no
    /// reader any more): it will be deleted.
    Delete {
        /// What is deleted.
        detail: String,
    },
    /// It exists as desired.
    NoChange,
}

/// One line of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// The resource.
    pub resource: Resource,
    /// What happens to it.
    pub change: Change,
}

/// Something that stops apply before it writes anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Blocker {
    /// An existing table the desired state relies on is missing.
    #[error("table {account}/{table} does not exist and is declared existing")]
    MissingExistingTable {
        /// The account.
        account: AccountId,
        /// The table.
        table: String,
    },
    /// An existing table's stream is off or has another view type.
    #[error(
        "table {account}/{table} has stream {found}; the desired state needs {expected}, and an existing table is never changed"
    )]
    StreamMismatch {
        /// The account.
        account: AccountId,
        /// The table.
        table: String,
        /// What the table has (`disabled`, `KEYS_ONLY`, ...).
        found: String,
        /// What is needed.
        expected: String,
    },
    /// The table is encrypted with a KMS key not declared customer
    /// managed: with the AWS managed key, resource policies cannot grant
    /// cross-account access.
    #[error(
        "table {account}/{table} is encrypted with KMS key {key}, not declared customer managed; tables encrypted with the AWS managed key cannot be read across accounts"
    )]
    AwsManagedKey {
        /// The account.
        account: AccountId,
        /// The table.
        table: String,
        /// The key's ARN.
        key: String,
    },
    /// A policy the provisioner built has an error finding.
    #[error("{resource}: policy lint {code} at {path}: {message}")]
    PolicyLint {
        /// Whose policy.
        resource: String,
        /// The finding's code.
        code: String,
        /// Where in the document.
        path: String,
        /// The finding's message.
        message: String,
    },
    /// A role's read policy is larger than IAM allows for a role's inline
    /// policies (a central consumer of many tenants grows one statement
    /// per stream).
    #[error(
        "the read policy of role {account}/{role} is {size} characters without whitespace, over IAM's limit of {limit} for a role's inline policies; give this role fewer sources (split the tenants across several consumers, each with its own role)"
    )]
    RolePolicyTooLarge {
        /// The account.
        account: AccountId,
        /// The role.
        role: String,
        /// The policy's size in characters, whitespace not counted.
        size: usize,
        /// IAM's limit, [`ROLE_INLINE_POLICY_LIMIT`].
        limit: usize,
    },
    /// A name the desired state gives does not make a valid ARN.
    #[error("invalid ARN: {0}")]
    Arn(#[from] ArnError),
}

/// IAM's limit on the size of a role's inline policies together, in
/// characters, whitespace not counted.
pub const ROLE_INLINE_POLICY_LIMIT: usize = 10_240;

/// The blocker for `document`, the read policy of `consumer`'s role, when
/// it is over [`ROLE_INLINE_POLICY_LIMIT`] (it is the role's only inline
/// policy).
pub fn role_policy_size_blocker(consumer: &Consumer, document: &PolicyDocument) -> Option<Blocker> {
    let size = document
        .to_json()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count();
    (size > ROLE_INLINE_POLICY_LIMIT).then(|| Blocker::RolePolicyTooLarge {
        account: consumer.account.clone(),
        role: consumer.role_name.clone(),
        size,
        limit: ROLE_INLINE_POLICY_LIMIT,
    })
}

/// The reviewed list of actions, with warnings and blockers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Per resource, in apply order.
    pub actions: Vec<Action>,
    /// Worth reading before applying.
    pub warnings: Vec<SpecWarning>,
    /// Apply refuses to start while any is present.
    pub blockers: Vec<Blocker>,
}

impl Plan {
    /// True when apply would write nothing.
    pub fn is_empty(&self) -> bool {
        self.actions
            .iter()
            .all(|a| matches!(a.change, Change::NoChange))
    }

    /// The actions that change something.
    pub fn changes(&self) -> impl Iterator<Item = &Action> {
        self.actions
            .iter()
            .filter(|a| !matches!(a.change, Change::NoChange))
    }
}

impl fmt::Display for Plan {
    /// One block per resource: `+ create`, `~ update` or `= no change`,
    /// followed by the indented detail; then warnings and blockers.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for action in &self.actions {
            let (sign, verb, detail) = match &action.change {
                Change::Create { detail } => ("+", "create", detail.as_str()),
                Change::Update { detail } => ("~", "update", detail.as_str()),
                Change::Delete { detail } => ("-", "delete", detail.as_str()),
                Change::NoChange => ("=", "no change", ""),
            };
            writeln!(f, "{sign} {verb} {}", action.resource)?;
            for line in detail.lines() {
                writeln!(f, "    {line}")?;
            }
        }
        for warning in &self.warnings {
            writeln!(f, "warning: {warning}")?;
        }
        for blocker in &self.blockers {
            writeln!(f, "blocked: {blocker}")?;
        }
        Ok(())
    }
}

/// Planning failed before comparing anything.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// The desired state is invalid; every error found is listed.
    #[error("invalid desired state: {}", join_errors(.0))]
    Invalid(Vec<SpecError>),
}

fn join_errors(errors: &[SpecError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The execution role's ARN of `consumer`.
pub fn role_arn(consumer: &Consumer) -> Result<RoleArn, ArnError> {
    RoleArn::new(&consumer.account, &consumer.role_name)
}

/// The ARN of `source`'s table in `region`.
pub fn table_arn(region: &str, source: &Source) -> Result<TableArn, ArnError> {
    TableArn::new(region, &source.account, &source.table_name)
}

/// The ARN of a consumer's function in `region`.
pub fn function_arn(
    region: &str,
    consumer: &Consumer,
    function: &FunctionSpec,
) -> Result<FunctionArn, ArnError> {
    FunctionArn::new(region, &consumer.account, &function.name)
}

/// The trust policy of a consumer's role: Lambda of the consumer's
/// account, plus any principal the consumer also trusts.
pub fn trust_policy(consumer: &Consumer) -> PolicyDocument {
    let lambda = lambda_trust_policy(Some(&consumer.account));
    if consumer.trusted_principals.is_empty() {
        return lambda;
    }
    let mut statements = lambda.statements().to_vec();
    let mut also = Statement::new(Effect::Allow);
    also.sid = Some("AlsoTrusted".to_owned());
    also.principal = Some(Principals::Named(vec![(
        PrincipalType::Aws,
        match consumer.trusted_principals.as_slice() {
            [one] => OneOrMany::One(one.clone()),
            many => OneOrMany::Many(many.to_vec()),
        },
    )]));
    also.action = Some(OneOrMany::One("sts:AssumeRole".to_owned()));
    statements.push(also);
    PolicyDocument::new(lambda.version, OneOrMany::Many(statements))
}

/// The customer managed KMS keys of the sources `consumer` subscribes to,
/// each once, in subscription order: its role needs `kms:Decrypt` with
/// each to read those tables' streams (see [`role_policy`]).
pub fn subscribed_keys<'a>(desired: &'a DesiredState, consumer: &Consumer) -> Vec<&'a str> {
    let mut keys: Vec<&str> = Vec::new();
    for subscription in &consumer.subscriptions {
        let key = desired
            .sources
            .iter()
            .find(|source| source.name == subscription.source)
            .and_then(|source| source.customer_managed_key.as_deref());
        if let Some(key) = key
            && !keys.contains(&key)
        {
            keys.push(key);
        }
    }
    keys
}

/// The identity policy of a consumer's role: read every stream it
/// subscribes to (`streams`, in subscription order), list streams,
/// decrypt with the customer managed KMS keys of those tables
/// (`kms_keys`, from [`subscribed_keys`]; the key policy in the source
/// account must allow the role too), and, when it has a function, write
/// that function's logs.
pub fn role_policy(
    region: &str,
    consumer: &Consumer,
    streams: &[StreamArn],
    kms_keys: &[&str],
) -> Result<Option<PolicyDocument>, ArnError> {
    let Some((first, rest)) = streams.split_first() else {
        return Ok(None);
    };
    let mut builder = ExecutionRolePolicyBuilder::new(first);
    for stream in rest {
        builder = builder.stream(stream);
    }
    for key in kms_keys {
        builder = builder.kms_key(key.parse::<Arn>()?);
    }
    let Some(function) = &consumer.function else {
        // A direct reader writes no Lambda logs: keep only the stream reads.
        let built = builder.build();
        let reads: Vec<Statement> = built
            .statements()
            .iter()
            .filter(|statement| {
                !statement
                    .action
                    .iter()
                    .flat_map(|actions| actions.iter())
                    .any(|action| action.starts_with("logs:"))
            })
            .cloned()
            .collect();
        return Ok(Some(PolicyDocument::new(
            built.version,
            OneOrMany::Many(reads),
        )));
    };
    builder = builder.logs_for(&function_arn(region, consumer, function)?);
    // Lambda sends a failed batch's record as the execution role: each
    // distinct on-failure destination needs its send permission, or AWS
    // refuses the mapping. The builder takes one destination; the others'
    // statements are built the same way and renamed.
    let mut destinations: Vec<&str> = Vec::new();
    for subscription in &consumer.subscriptions {
        if let Some(destination) = subscription.parameters.on_failure_destination.as_deref()
            && !destinations.contains(&destination)
        {
            destinations.push(destination);
        }
    }
    if destinations.is_empty() && consumer.writes_tables.is_empty() {
        return Ok(Some(builder.build()));
    }
    let built = match destinations.first() {
        Some(first) => builder
            .clone()
            .on_failure(OnFailureDestination::parse(first)?)
            .build(),
        None => builder.clone().build(),
    };
    let mut statements = built.statements().to_vec();
    for (index, destination) in destinations.iter().enumerate().skip(1) {
        let with = builder
            .clone()
            .on_failure(OnFailureDestination::parse(destination)?)
            .build();
        let send = with
            .statements()
            .iter()
            .filter(|s| s.sid.as_deref() == Some(SEND_FAILED_BATCHES_SID))
            .cloned()
            .map(|mut statement| {
                statement.sid = Some(format!("{SEND_FAILED_BATCHES_SID}{}", index + 1));
                statement
            });
        statements.extend(send);
    }
    if !consumer.writes_tables.is_empty() {
        let mut writes = Statement::new(Effect::Allow);
        writes.sid = Some("WriteOwnTables".to_owned());
        writes.action = Some(OneOrMany::Many(
            WRITE_TABLE_ACTIONS
                .iter()
                .map(|a| (*a).to_owned())
                .collect(),
        ));
        let tables = consumer
            .writes_tables
            .iter()
            .map(|table| TableArn::new(region, &consumer.account, table).map(|arn| arn.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        writes.resource = Some(match tables.as_slice() {
            [one] => OneOrMany::One(one.clone()),
            many => OneOrMany::Many(many.to_vec()),
        });
        statements.push(writes);
    }
    Ok(Some(PolicyDocument::new(
        built.version,
        OneOrMany::Many(statements),
    )))
}

/// The Sid streamgate-policy's execution role builder gives the statement
/// that lets Lambda send failed batches to the on-failure destination.
const SEND_FAILED_BATCHES_SID: &str = "SendFailedBatches";

/// What a consumer's role may do on the tables it writes: item reads and
/// writes, one at a time or in a transaction (DynamoDB authorizes each item
/// of a TransactWriteItems as its single-item action).
const WRITE_TABLE_ACTIONS: &[&str] = &[
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:Query",
    "dynamodb:Scan",
];

/// The resource policy of a stream: every reader's role may read it.
pub fn stream_policy(
    stream: &StreamArn,
    readers: &[&Consumer],
) -> Result<Option<PolicyDocument>, ArnError> {
    let Some((first, rest)) = readers.split_first() else {
        return Ok(None);
    };
    let mut builder = StreamPolicyBuilder::new(stream, &role_arn(first)?);
    for reader in rest {
        builder = builder.consumer(&role_arn(reader)?);
    }
    Ok(Some(builder.build()))
}

/// Base64 of the SHA-256 of `zip`: what Lambda reports as `CodeSha256`.
pub fn code_sha256(zip: &[u8]) -> String {
    base64(&Sha256::digest(zip))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let symbol =
        |index: u32| char::from(ALPHABET.get((index & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(symbol(n >> 18));
        out.push(symbol(n >> 12));
        out.push(if chunk.len() > 1 { symbol(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { symbol(n) } else { '=' });
    }
    out
}

/// A line diff of two texts: unchanged lines prefixed `  `, removed `- `,
/// added `+ ` (longest common subsequence).
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lengths = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, line_a) in a.iter().enumerate().rev() {
        for (j, line_b) in b.iter().enumerate().rev() {
            let value = if line_a == line_b {
                cell(&lengths, i + 1, j + 1) + 1
            } else {
                cell(&lengths, i + 1, j).max(cell(&lengths, i, j + 1))
            };
            if let Some(slot) = lengths.get_mut(i).and_then(|row| row.get_mut(j)) {
                *slot = value;
            }
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push_str(&format!("  {x}\n"));
                i += 1;
                j += 1;
            }
            (Some(x), Some(_)) if cell(&lengths, i + 1, j) >= cell(&lengths, i, j + 1) => {
                out.push_str(&format!("- {x}\n"));
                i += 1;
            }
            (_, Some(y)) => {
                out.push_str(&format!("+ {y}\n"));
                j += 1;
            }
            (Some(x), None) => {
                out.push_str(&format!("- {x}\n"));
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

fn cell(table: &[Vec<usize>], i: usize, j: usize) -> usize {
    table
        .get(i)
        .and_then(|row| row.get(j))
        .copied()
        .unwrap_or(0)
}

fn policy_change(existing: Option<&PolicyDocument>, desired: &PolicyDocument) -> Change {
    match existing {
        None => Change::Create {
            detail: desired.to_json_pretty(),
        },
        Some(existing) if existing == desired => Change::NoChange,
        Some(existing) => Change::Update {
            detail: line_diff(&existing.to_json_pretty(), &desired.to_json_pretty()),
        },
    }
}

/// The stream ARN a source's table has or will have: the observed latest
/// stream when it is enabled with the desired view type, otherwise a
/// placeholder whose label is [`LABEL_KNOWN_AFTER_APPLY`].
pub fn expected_stream(
    region: &str,
    source: &Source,
    observed: &Observed,
) -> Result<(StreamArn, bool), ArnError> {
    let table = observed
        .tables
        .get(&(source.account.clone(), source.table_name.clone()));
    if let Some(stream) = table.and_then(|t| t.stream.as_ref())
        && stream.view_type == Some(source.view_type)
    {
        return Ok((stream.arn.clone(), true));
    }
    Ok((
        table_arn(region, source)?.stream(LABEL_KNOWN_AFTER_APPLY)?,
        false,
    ))
}

fn lint_blockers(blockers: &mut Vec<Blocker>, resource: &Resource, findings: Vec<Finding>) {
    for finding in findings {
        if finding.severity == Severity::Error {
            blockers.push(Blocker::PolicyLint {
                resource: resource.to_string(),
                code: finding.code.to_string(),
                path: finding.path.to_string(),
                message: finding.message,
            });
        }
    }
}

fn table_change(
    source: &Source,
    observed: Option<&ObservedTable>,
    blockers: &mut Vec<Blocker>,
) -> Change {
    let expected = source.view_type.as_str();
    let Some(table) = observed else {
        if source.ownership == TableOwnership::Existing {
            blockers.push(Blocker::MissingExistingTable {
                account: source.account.clone(),
                table: source.table_name.clone(),
            });
            return Change::NoChange;
        }
        let mut detail = format!(
            "key {} ({})",
            source.partition_key.name,
            source.partition_key.key_type.as_str()
        );
        if let Some(sort) = &source.sort_key {
            detail.push_str(&format!(
                ", sort {} ({})",
                sort.name,
                sort.key_type.as_str()
            ));
        }
        detail.push_str(&format!("; stream {expected}; on-demand billing"));
        return Change::Create { detail };
    };
    if let Some(key) = &table.kms_key_arn
        && source.customer_managed_key.as_deref() != Some(key.as_str())
    {
        blockers.push(Blocker::AwsManagedKey {
            account: source.account.clone(),
            table: source.table_name.clone(),
            key: key.clone(),
        });
    }
    let found = table
        .stream
        .as_ref()
        .and_then(|s| s.view_type)
        .map_or("disabled", |v| v.as_str());
    if found == expected {
        return Change::NoChange;
    }
    if source.ownership == TableOwnership::Existing {
        blockers.push(Blocker::StreamMismatch {
            account: source.account.clone(),
            table: source.table_name.clone(),
            found: found.to_owned(),
            expected: expected.to_owned(),
        });
        return Change::NoChange;
    }
    Change::Update {
        detail: if found == "disabled" {
            format!("enable stream {expected}")
        } else {
            format!(
                "stream {found} -> {expected}: disable and enable, which starts a new stream with a new label"
            )
        },
    }
}

fn mapping_detail(parameters: &MappingParameters) -> String {
    format!(
        "batch size {}, window {} s, retries {}, record age {} s, parallelization {}, bisect {}, report item failures {}, start {}, filters {}, on failure {}, enabled {}",
        parameters.batch_size,
        parameters.maximum_batching_window_seconds,
        parameters.maximum_retry_attempts,
        parameters.maximum_record_age_seconds,
        parameters.parallelization_factor,
        parameters.bisect_batch_on_function_error,
        parameters.report_batch_item_failures,
        parameters.starting_position.as_str(),
        parameters.filters.len(),
        parameters
            .on_failure_destination
            .as_deref()
            .unwrap_or("none"),
        parameters.enabled,
    )
}

/// True when `stream` is another stream (an older label) of the table of
/// one of `current`.
pub fn is_stale_stream(stream: &str, current: &[StreamArn]) -> bool {
    let Ok(stream) = stream.parse::<StreamArn>() else {
        return false;
    };
    current
        .iter()
        .any(|c| c.table_arn() == stream.table_arn() && *c != stream)
}

/// Adds `field: old -> new` to `lines` when `old` and `new` differ.
fn push_difference(lines: &mut Vec<String>, field: &str, old: String, new: String) {
    if old != new {
        lines.push(format!("{field}: {old} -> {new}"));
    }
}

/// The fields of `desired` that differ from an existing mapping's, as
/// `field: old -> new` lines (the starting position is fixed at creation
/// and not compared).
pub fn mapping_differences(existing: &ObservedMapping, desired: &MappingParameters) -> Vec<String> {
    let old = &existing.parameters;
    let mut lines = Vec::new();
    // Each named field as its `Display` (or, with `debug`, `Debug`) text.
    macro_rules! compare {
        ($($field:ident),+) => {
            $(push_difference(
                &mut lines,
                stringify!($field),
                old.$field.to_string(),
                desired.$field.to_string(),
            );)+
        };
        (debug $($field:ident),+) => {
            $(push_difference(
                &mut lines,
                stringify!($field),
                format!("{:?}", old.$field),
                format!("{:?}", desired.$field),
            );)+
        };
    }
    compare!(
        batch_size,
        maximum_batching_window_seconds,
        maximum_retry_attempts,
        maximum_record_age_seconds,
        parallelization_factor,
        bisect_batch_on_function_error,
        report_batch_item_failures
    );
    compare!(debug filters, on_failure_destination);
    compare!(enabled);
    if old.starting_position != desired.starting_position {
        lines.push(format!(
            "starting_position: {} -> {} (set only at creation: the mapping is replaced)",
            old.starting_position.as_str(),
            desired.starting_position.as_str()
        ));
    }
    lines
}

/// The change for an existing resource that differs from the desired one
/// by `differences` (one line each): none, or an update listing them.
fn update_for(differences: Vec<String>) -> Change {
    if differences.is_empty() {
        Change::NoChange
    } else {
        Change::Update {
            detail: differences.join("\n"),
        }
    }
}

/// The fields of a function that differ, as `field: old -> new` lines.
pub fn function_differences(
    existing: &crate::observed::ObservedFunction,
    desired: &FunctionSpec,
    role: &RoleArn,
) -> Vec<String> {
    let mut lines = Vec::new();
    let mut compare = |field: &str, old: String, new: String| {
        push_difference(&mut lines, field, old, new);
    };
    compare(
        "code_sha256",
        existing.code_sha256.clone(),
        code_sha256(&desired.zip),
    );
    compare("role", existing.role.clone(), role.to_string());
    compare("runtime", existing.runtime.clone(), desired.runtime.clone());
    compare("handler", existing.handler.clone(), desired.handler.clone());
    compare(
        "memory_mb",
        existing.memory_mb.to_string(),
        desired.memory_mb.to_string(),
    );
    compare(
        "timeout_seconds",
        existing.timeout_seconds.to_string(),
        desired.timeout_seconds.to_string(),
    );
    lines
}

/// Whether `desired` still names the resource of `record`.
fn still_desired(desired: &DesiredState, record: &Recorded) -> bool {
    let region = desired.region.as_str();
    let source_of_stream = |account: &str, stream_arn: &str| {
        stream_arn.parse::<StreamArn>().ok().and_then(|stream| {
            desired
                .sources
                .iter()
                .find(|s| s.account.as_str() == account && s.table_name == stream.table_name())
        })
    };
    match record {
        Recorded::Table { account, name, .. } => desired
            .sources
            .iter()
            .any(|s| s.account.as_str() == account && &s.table_name == name),
        Recorded::Role { account, name, .. } => desired
            .consumers
            .iter()
            .any(|c| c.account.as_str() == account && &c.role_name == name),
        Recorded::RolePolicy { account, role, .. } => desired
            .consumers
            .iter()
            .any(|c| c.account.as_str() == account && &c.role_name == role),
        Recorded::StreamPolicy {
            account,
            stream_arn,
            ..
        } => source_of_stream(account, stream_arn).is_some(),
        Recorded::Function { account, name, .. } => desired.consumers.iter().any(|c| {
            c.account.as_str() == account && c.function.as_ref().is_some_and(|f| &f.name == name)
        }),
        Recorded::Mapping {
            function_arn: recorded_function,
            stream_arn,
            ..
        } => {
            let Some(stream_account) = stream_arn
                .parse::<StreamArn>()
                .ok()
                .map(|s| s.account().to_string())
            else {
                return false;
            };
            let Some(source) = source_of_stream(&stream_account, stream_arn) else {
                return false;
            };
            desired.consumers.iter().any(|c| {
                c.function.as_ref().is_some_and(|f| {
                    function_arn(region, c, f)
                        .is_ok_and(|arn| arn.to_string() == *recorded_function)
                }) && c.subscriptions.iter().any(|s| s.source == source.name)
            })
        }
    }
}

/// The resources `state` records that `desired` no longer names, in the
/// order destroy removes them (mappings first, roles last).
pub fn leftovers(desired: &DesiredState, state: &StateFile) -> Vec<Recorded> {
    let mut records: Vec<Recorded> = state
        .resources
        .iter()
        .filter(|record| !still_desired(desired, record))
        .cloned()
        .collect();
    records.sort_by_key(Recorded::destroy_rank);
    records
}

/// [`plan`], plus a `Delete` of every [`leftovers`] resource of `state`.
pub fn plan_with_state(
    desired: &DesiredState,
    observed: &Observed,
    state: &StateFile,
) -> Result<Plan, PlanError> {
    let mut planned = plan(desired, observed)?;
    for record in leftovers(desired, state) {
        planned.actions.push(Action {
            resource: Resource::Leftover(record),
            change: Change::Delete {
                detail: "created by an earlier apply; no longer in the desired state".to_owned(),
            },
        });
    }
    Ok(planned)
}

/// Compares `desired` with `observed`: the actions in apply order (tables,
/// roles, role policies, stream policies, functions, mappings), the
/// desired state's warnings, and the blockers found by the pre-checks
/// (existing tables' stream and encryption, policy lints).
pub fn plan(desired: &DesiredState, observed: &Observed) -> Result<Plan, PlanError> {
    let warnings = desired.validate().map_err(PlanError::Invalid)?;
    let region = desired.region.as_str();
    let mut actions = Vec::new();
    let mut blockers = Vec::new();

    let mut streams = Vec::new();
    for source in &desired.sources {
        let observed_table = observed
            .tables
            .get(&(source.account.clone(), source.table_name.clone()));
        actions.push(Action {
            resource: Resource::Table {
                account: source.account.clone(),
                name: source.table_name.clone(),
            },
            change: table_change(source, observed_table, &mut blockers),
        });
        match expected_stream(region, source, observed) {
            Ok(stream) => streams.push((source, stream)),
            Err(error) => blockers.push(error.into()),
        }
    }
    let stream_of = |name: &str| {
        streams
            .iter()
            .find(|(source, _)| source.name == name)
            .map(|(_, (arn, _))| arn.clone())
    };

    let mut policy_actions = Vec::new();
    for consumer in &desired.consumers {
        let key = (consumer.account.clone(), consumer.role_name.clone());
        let role = observed.roles.get(&key);
        let trust = trust_policy(consumer);
        let role_resource = Resource::Role {
            account: consumer.account.clone(),
            name: consumer.role_name.clone(),
        };
        lint_blockers(
            &mut blockers,
            &role_resource,
            lint(&trust, PolicyType::Trust, None),
        );
        actions.push(Action {
            resource: role_resource,
            change: policy_change(role.map(|r| &r.trust_policy), &trust),
        });
        let consumer_streams: Vec<StreamArn> = consumer
            .subscriptions
            .iter()
            .filter_map(|s| stream_of(&s.source))
            .collect();
        let policy_resource = Resource::RolePolicy {
            account: consumer.account.clone(),
            role: consumer.role_name.clone(),
        };
        match role_policy(
            region,
            consumer,
            &consumer_streams,
            &subscribed_keys(desired, consumer),
        ) {
            Ok(Some(document)) => {
                lint_blockers(
                    &mut blockers,
                    &policy_resource,
                    lint(&document, PolicyType::Identity, None),
                );
                blockers.extend(role_policy_size_blocker(consumer, &document));
                policy_actions.push(Action {
                    resource: policy_resource,
                    change: policy_change(role.and_then(|r| r.read_policy.as_ref()), &document),
                });
            }
            Ok(None) => {
                if let Some(existing) = role.and_then(|r| r.read_policy.as_ref()) {
                    policy_actions.push(Action {
                        resource: policy_resource,
                        change: Change::Delete {
                            detail: line_diff(&existing.to_json_pretty(), ""),
                        },
                    });
                }
            }
            Err(error) => blockers.push(error.into()),
        }
    }
    actions.extend(policy_actions);

    let readers = desired.readers();
    for (source, (stream, _)) in &streams {
        let source_readers = readers
            .get(source.name.as_str())
            .cloned()
            .unwrap_or_default();
        let resource = Resource::StreamPolicy {
            account: source.account.clone(),
            table: source.table_name.clone(),
        };
        match stream_policy(stream, &source_readers) {
            Ok(Some(document)) => {
                lint_blockers(
                    &mut blockers,
                    &resource,
                    lint(&document, PolicyType::Stream, Some(stream.as_arn())),
                );
                let existing = observed
                    .stream_policies
                    .get(&stream.to_string())
                    .map(|p| &p.document);
                actions.push(Action {
                    resource,
                    change: policy_change(existing, &document),
                });
            }
            Ok(None) => {
                if let Some(existing) = observed.stream_policies.get(&stream.to_string()) {
                    actions.push(Action {
                        resource,
                        change: Change::Delete {
                            detail: line_diff(&existing.document.to_json_pretty(), ""),
                        },
                    });
                }
            }
            Err(error) => blockers.push(error.into()),
        }
    }

    for consumer in &desired.consumers {
        let Some(function) = &consumer.function else {
            continue;
        };
        let role = match role_arn(consumer) {
            Ok(role) => role,
            Err(error) => {
                blockers.push(error.into());
                continue;
            }
        };
        let existing = observed
            .functions
            .get(&(consumer.account.clone(), function.name.clone()));
        let change = match existing {
            None => Change::Create {
                detail: format!(
                    "{} {}, {} MB, {} s, code {}",
                    function.runtime,
                    function.handler,
                    function.memory_mb,
                    function.timeout_seconds,
                    code_sha256(&function.zip)
                ),
            },
            Some(existing) => update_for(function_differences(existing, function, &role)),
        };
        actions.push(Action {
            resource: Resource::Function {
                account: consumer.account.clone(),
                name: function.name.clone(),
            },
            change,
        });
    }

    for consumer in &desired.consumers {
        let Some(function) = &consumer.function else {
            continue;
        };
        let function_arn = function_arn(region, consumer, function).map(|a| a.to_string());
        for subscription in &consumer.subscriptions {
            let Some(source) = desired.find_source(&subscription.source) else {
                continue;
            };
            let stream = stream_of(&source.name).map(|s| s.to_string());
            let existing = observed.mappings.iter().find(|m| {
                Some(&m.stream_arn) == stream.as_ref()
                    && function_arn.as_ref().is_ok_and(|f| *f == m.function_arn)
            });
            let change = match existing {
                None => Change::Create {
                    detail: mapping_detail(&subscription.parameters),
                },
                Some(existing) => {
                    update_for(mapping_differences(existing, &subscription.parameters))
                }
            };
            actions.push(Action {
                resource: Resource::Mapping {
                    account: consumer.account.clone(),
                    function: function.name.clone(),
                    table_account: source.account.clone(),
                    table: source.table_name.clone(),
                },
                change,
            });
        }
        let current: Vec<StreamArn> = consumer
            .subscriptions
            .iter()
            .filter_map(|s| stream_of(&s.source))
            .collect();
        for mapping in &observed.mappings {
            if function_arn
                .as_ref()
                .is_ok_and(|f| *f == mapping.function_arn)
                && is_stale_stream(&mapping.stream_arn, &current)
            {
                actions.push(Action {
                    resource: Resource::StaleMapping {
                        account: consumer.account.clone(),
                        function: function.name.clone(),
                        stream: mapping.stream_arn.clone(),
                    },
                    change: Change::Delete {
                        detail: format!(
                            "mapping {} reads an old stream of the table",
                            mapping.uuid
                        ),
                    },
                });
            }
        }
    }

    Ok(Plan {
        actions,
        warnings,
        blockers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observed::{ObservedPolicy, ObservedRole, ObservedStream, ObservedTable};
    use crate::spec::{KeyAttribute, KeyType, StreamViewType};
    use expect_test::{Expect, expect};

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const C: &str = "333333333333";
    const REGION: &str = "eu-west-1";
    const LABEL: &str = "2026-01-01T00:00:00.000";

    fn account(id: &str) -> AccountId {
        id.parse().unwrap()
    }

    /// One central consumer in A reading the tenants B and C.
    fn central_billing() -> DesiredState {
        DesiredState::new(REGION)
            .source(Source::new(
                "tenant-b",
                account(B),
                "documents",
                KeyAttribute::new("pk", KeyType::String),
            ))
            .source(Source::new(
                "tenant-c",
                account(C),
                "documents",
                KeyAttribute::new("pk", KeyType::String),
            ))
            .consumer(
                Consumer::new("billing", account(A), "billing-consumer")
                    .reads("tenant-b")
                    .reads("tenant-c"),
            )
    }

    fn stream(id: &str) -> StreamArn {
        TableArn::new(REGION, &account(id), "documents")
            .unwrap()
            .stream(LABEL)
            .unwrap()
    }

    /// What exists after a complete apply of `desired`.
    fn converged(desired: &DesiredState) -> Observed {
        let mut observed = Observed::default();
        for source in &desired.sources {
            observed.tables.insert(
                (source.account.clone(), source.table_name.clone()),
                ObservedTable {
                    arn: table_arn(REGION, source).unwrap().to_string(),
                    status: "ACTIVE".to_owned(),
                    stream: Some(ObservedStream {
                        arn: stream(source.account.as_str()),
                        view_type: Some(source.view_type),
                    }),
                    kms_key_arn: None,
                },
            );
        }
        let readers = desired.readers();
        for source in &desired.sources {
            let arn = stream(source.account.as_str());
            let document = stream_policy(&arn, &readers[source.name.as_str()])
                .unwrap()
                .unwrap();
            observed.stream_policies.insert(
                arn.to_string(),
                ObservedPolicy {
                    document,
                    revision_id: "1".to_owned(),
                },
            );
        }
        for consumer in &desired.consumers {
            let streams: Vec<StreamArn> = consumer
                .subscriptions
                .iter()
                .map(|s| stream(desired.find_source(&s.source).unwrap().account.as_str()))
                .collect();
            observed.roles.insert(
                (consumer.account.clone(), consumer.role_name.clone()),
                ObservedRole {
                    arn: role_arn(consumer).unwrap().to_string(),
                    trust_policy: trust_policy(consumer),
                    read_policy: role_policy(REGION, consumer, &streams, &[]).unwrap(),
                },
            );
        }
        observed
    }

    fn check(desired: &DesiredState, observed: &Observed, expected: Expect) {
        let actual = match plan(desired, observed) {
            Ok(plan) => plan.to_string(),
            Err(error) => format!("error: {error}\n"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn nothing_exists_so_everything_is_created() {
        let desired = DesiredState::new(REGION)
            .source(
                Source::new(
                    "tenant-b",
                    account(B),
                    "documents",
                    KeyAttribute::new("pk", KeyType::String),
                )
                .sort_key(KeyAttribute::new("sk", KeyType::Number)),
            )
            .consumer(Consumer::new("billing", account(A), "billing-consumer").reads("tenant-b"));
        check(
            &desired,
            &Observed::default(),
            expect![[r#"
                + create table 222222222222/documents
                    key pk (S), sort sk (N); stream NEW_AND_OLD_IMAGES; on-demand billing
                + create role 111111111111/billing-consumer
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "LambdaAssumeRole",
                                "Effect": "Allow",
                                "Principal": {
                                    "Service": "lambda.amazonaws.com"
                                },
                                "Action": "sts:AssumeRole",
                                "Condition": {
                                    "StringEquals": {
                                        "aws:SourceAccount": "111111111111"
                                    }
                                }
                            }
                        ]
                    }
                + create role policy 111111111111/billing-consumer
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "ReadStreams",
                                "Effect": "Allow",
                                "Action": [
                                    "dynamodb:DescribeStream",
                                    "dynamodb:GetRecords",
                                    "dynamodb:GetShardIterator"
                                ],
                                "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL-KNOWN-AFTER-APPLY"
                            },
                            {
                                "Sid": "ListStreams",
                                "Effect": "Allow",
                                "Action": "dynamodb:ListStreams",
                                "Resource": "*"
                            }
                        ]
                    }
                + create stream policy 222222222222/documents
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AllowCrossAccountStreamRead",
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": "arn:aws:iam::111111111111:role/billing-consumer"
                                },
                                "Action": [
                                    "dynamodb:DescribeStream",
                                    "dynamodb:GetRecords",
                                    "dynamodb:GetShardIterator"
                                ],
                                "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL-KNOWN-AFTER-APPLY"
                            }
                        ]
                    }
            "#]],
        );
    }

    #[test]
    fn a_converged_setup_plans_no_change() {
        let desired = central_billing();
        let plan = plan(&desired, &converged(&desired)).unwrap();
        assert!(plan.is_empty(), "{plan}");
        check(
            &desired,
            &converged(&desired),
            expect![[r#"
                = no change table 222222222222/documents
                = no change table 333333333333/documents
                = no change role 111111111111/billing-consumer
                = no change role policy 111111111111/billing-consumer
                = no change stream policy 222222222222/documents
                = no change stream policy 333333333333/documents
            "#]],
        );
    }

    #[test]
    fn a_second_reader_updates_the_stream_policy_with_a_diff() {
        let before = central_billing();
        let after = central_billing()
            .consumer(Consumer::new("audit", account(C), "audit-reader").reads("tenant-b"));
        let plan = plan(&after, &converged(&before)).unwrap();
        let stream_policy = plan
            .actions
            .iter()
            .find(|a| {
                a.resource
                    == Resource::StreamPolicy {
                        account: account(B),
                        table: "documents".to_owned(),
                    }
            })
            .unwrap();
        let Change::Update { detail } = &stream_policy.change else {
            panic!("expected an update, got {:?}", stream_policy.change);
        };
        expect![[r#"
              {
                  "Version": "2012-10-17",
                  "Statement": [
                      {
                          "Sid": "AllowCrossAccountStreamRead",
                          "Effect": "Allow",
                          "Principal": {
            -                 "AWS": "arn:aws:iam::111111111111:role/billing-consumer"
            +                 "AWS": [
            +                     "arn:aws:iam::111111111111:role/billing-consumer",
            +                     "arn:aws:iam::333333333333:role/audit-reader"
            +                 ]
                          },
                          "Action": [
                              "dynamodb:DescribeStream",
                              "dynamodb:GetRecords",
                              "dynamodb:GetShardIterator"
                          ],
                          "Resource": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2026-01-01T00:00:00.000"
                      }
                  ]
              }
        "#]]
        .assert_eq(detail);
        let other = plan
            .actions
            .iter()
            .find(|a| {
                a.resource
                    == Resource::StreamPolicy {
                        account: account(C),
                        table: "documents".to_owned(),
                    }
            })
            .unwrap();
        assert_eq!(other.change, Change::NoChange);
    }

    #[test]
    fn existing_tables_are_checked_not_changed() {
        let desired = DesiredState::new(REGION)
            .source(
                Source::new(
                    "central",
                    account(A),
                    "orders",
                    KeyAttribute::new("pk", KeyType::String),
                )
                .existing(),
            )
            .source(
                Source::new(
                    "missing",
                    account(A),
                    "absent",
                    KeyAttribute::new("pk", KeyType::String),
                )
                .existing(),
            )
            .consumer(
                Consumer::new("tenant-b", account(B), "orders-reader")
                    .reads("central")
                    .reads("missing"),
            );
        let mut observed = Observed::default();
        observed.tables.insert(
            (account(A), "orders".to_owned()),
            ObservedTable {
                arn: format!("arn:aws:dynamodb:{REGION}:{A}:table/orders"),
                status: "ACTIVE".to_owned(),
                stream: Some(ObservedStream {
                    arn: TableArn::new(REGION, &account(A), "orders")
                        .unwrap()
                        .stream(LABEL)
                        .unwrap(),
                    view_type: Some(StreamViewType::KeysOnly),
                }),
                kms_key_arn: Some(format!("arn:aws:kms:{REGION}:{A}:key/1234")),
            },
        );
        let plan = plan(&desired, &observed).unwrap();
        let blockers: String = plan.blockers.iter().map(|b| format!("{b}\n")).collect();
        expect![[r#"
            table 111111111111/orders is encrypted with KMS key arn:aws:kms:eu-west-1:111111111111:key/1234, not declared customer managed; tables encrypted with the AWS managed key cannot be read across accounts
            table 111111111111/orders has stream KEYS_ONLY; the desired state needs NEW_AND_OLD_IMAGES, and an existing table is never changed
            table 111111111111/absent does not exist and is declared existing
        "#]]
        .assert_eq(&blockers);
    }

    #[test]
    fn a_source_with_a_customer_managed_key_gets_its_readers_decrypt_and_a_warning() {
        let key = format!("arn:aws:kms:{REGION}:{A}:key/1234");
        let desired = DesiredState::new(REGION)
            .source(
                Source::new(
                    "central",
                    account(A),
                    "orders",
                    KeyAttribute::new("pk", KeyType::String),
                )
                .existing()
                .customer_managed_key(&key),
            )
            .consumer(Consumer::new("tenant-b", account(B), "orders-reader").reads("central"))
            .consumer(Consumer::new("tenant-c", account(C), "orders-reader").reads("central"));
        let mut observed = Observed::default();
        observed.tables.insert(
            (account(A), "orders".to_owned()),
            ObservedTable {
                arn: format!("arn:aws:dynamodb:{REGION}:{A}:table/orders"),
                status: "ACTIVE".to_owned(),
                stream: Some(ObservedStream {
                    arn: TableArn::new(REGION, &account(A), "orders")
                        .unwrap()
                        .stream(LABEL)
                        .unwrap(),
                    view_type: Some(StreamViewType::NewAndOldImages),
                }),
                kms_key_arn: Some(key.clone()),
            },
        );
        let plan = plan(&desired, &observed).unwrap();
        assert!(plan.blockers.is_empty(), "{plan}");
        for reader in [B, C] {
            let resource = Resource::RolePolicy {
                account: account(reader),
                role: "orders-reader".to_owned(),
            };
            let action = plan
                .actions
                .iter()
                .find(|a| a.resource == resource)
                .unwrap();
            let Change::Create { detail } = &action.change else {
                panic!("{action:?}");
            };
            assert!(
                detail.contains(r#""kms:Decrypt""#) && detail.contains(&key),
                "{detail}"
            );
        }
        let warnings: String = plan.warnings.iter().map(|w| format!("{w}\n")).collect();
        expect![[r#"
            source `central` is encrypted with customer managed key arn:aws:kms:eu-west-1:111111111111:key/1234: its key policy must allow kms:Decrypt to arn:aws:iam::222222222222:role/orders-reader, arn:aws:iam::333333333333:role/orders-reader; provisioning does not change key policies
        "#]]
        .assert_eq(&warnings);
    }

    #[test]
    fn a_role_policy_over_the_inline_limit_blocks_the_plan() {
        let tenants = |count: usize| {
            let mut desired = DesiredState::new(REGION);
            let mut consumer = Consumer::new("billing", account(A), "billing-consumer");
            for index in 0..count {
                let name = format!("tenant-{index}");
                desired = desired.source(Source::new(
                    &name,
                    account(B),
                    format!("documents-{index}"),
                    KeyAttribute::new("pk", KeyType::String),
                ));
                consumer = consumer.reads(&name);
            }
            desired.consumer(consumer)
        };
        let blockers = |count: usize| -> String {
            plan(&tenants(count), &Observed::default())
                .unwrap()
                .blockers
                .iter()
                .map(|b| format!("{b}\n"))
                .collect()
        };
        expect![[r#""#]].assert_eq(&blockers(100));
        expect![[r#"
            the read policy of role 111111111111/billing-consumer is 14103 characters without whitespace, over IAM's limit of 10240 for a role's inline policies; give this role fewer sources (split the tenants across several consumers, each with its own role)
        "#]]
        .assert_eq(&blockers(150));
    }

    #[test]
    fn a_managed_table_with_another_view_type_gets_a_new_stream() {
        let desired = central_billing();
        let mut observed = converged(&desired);
        let table = observed
            .tables
            .get_mut(&(account(B), "documents".to_owned()))
            .unwrap();
        table.stream.as_mut().unwrap().view_type = Some(StreamViewType::KeysOnly);
        let plan = plan(&desired, &observed).unwrap();
        let first = plan.actions.first().unwrap();
        assert_eq!(
            first.change,
            Change::Update {
                detail: "stream KEYS_ONLY -> NEW_AND_OLD_IMAGES: disable and enable, which starts a new stream with a new label".to_owned()
            }
        );
        // The new stream's label is not known yet, so both policies change.
        assert_eq!(plan.changes().count(), 3, "{plan}");
    }

    #[test]
    fn a_built_policy_with_a_lint_error_blocks_apply() {
        let desired = central_billing().consumer(
            Consumer::new("open", account(A), "open-role")
                .trust("arn:aws:iam::111111111111:role/*")
                .reads("tenant-b"),
        );
        let plan = plan(&desired, &converged(&central_billing())).unwrap();
        let blockers: String = plan.blockers.iter().map(|b| format!("{b}\n")).collect();
        expect![[r#"
            role 111111111111/open-role: policy lint PARTIAL_WILDCARD_PRINCIPAL at $.Statement[1].Principal.AWS: principal "arn:aws:iam::111111111111:role/*" contains a wildcard: IAM accepts only "*" alone; use "*" with a condition such as aws:PrincipalArn (ArnLike) instead
        "#]].assert_eq(&blockers);
    }

    #[test]
    fn an_invalid_desired_state_is_not_planned() {
        let desired =
            central_billing().consumer(Consumer::new("x", account(A), "r").reads("tenant-z"));
        check(
            &desired,
            &Observed::default(),
            expect![[r#"
                error: invalid desired state: consumers[1].subscriptions[0].source: unknown source `tenant-z`
            "#]],
        );
    }

    #[test]
    fn functions_and_mappings_are_planned() {
        let desired = DesiredState::new(REGION)
            .source(Source::new(
                "tenant-b",
                account(B),
                "documents",
                KeyAttribute::new("pk", KeyType::String),
            ))
            .consumer(
                Consumer::new("billing", account(A), "billing-consumer")
                    .function(FunctionSpec::new("billing-aggregator", b"zip".to_vec()))
                    .reads("tenant-b"),
            );
        let mut observed = converged(&desired);
        let plan_text = plan(&desired, &observed).unwrap().to_string();
        expect![[r#"
            + create function 111111111111/billing-aggregator
                provided.al2023 bootstrap, 128 MB, 30 s, code SnD+mqZDbgLC3qNA+9HjUuTvLYzmylKtJdS5VHH8i/I=
            + create mapping 222222222222/documents -> 111111111111/billing-aggregator
                batch size 100, window 0 s, retries 10, record age 86400 s, parallelization 1, bisect true, report item failures true, start TRIM_HORIZON, filters 0, on failure none, enabled true
        "#]]
        .assert_eq(&plan_text.lines().filter(|l| !l.starts_with('=')).map(|l| format!("{l}\n")).collect::<String>());
        observed.mappings.push(ObservedMapping {
            uuid: "u".to_owned(),
            function_arn: format!("arn:aws:lambda:{REGION}:{A}:function:billing-aggregator"),
            stream_arn: stream(B).to_string(),
            state: "Enabled".to_owned(),
            parameters: MappingParameters {
                batch_size: 7,
                ..MappingParameters::default()
            },
        });
        let plan = plan(&desired, &observed).unwrap();
        let mapping = plan.actions.last().unwrap();
        assert_eq!(
            mapping.change,
            Change::Update {
                detail: "batch_size: 7 -> 100".to_owned()
            }
        );
    }

    #[test]
    fn mapping_differences_name_every_changed_field_in_order() {
        let existing = ObservedMapping {
            uuid: "u".to_owned(),
            function_arn: "f".to_owned(),
            stream_arn: "s".to_owned(),
            state: "Enabled".to_owned(),
            parameters: MappingParameters::default(),
        };
        let desired = MappingParameters {
            batch_size: 7,
            maximum_batching_window_seconds: 5,
            maximum_retry_attempts: 2,
            maximum_record_age_seconds: 60,
            parallelization_factor: 3,
            bisect_batch_on_function_error: false,
            report_batch_item_failures: false,
            starting_position: crate::spec::StartingPosition::Latest,
            filters: vec![r#"{"eventName":["INSERT"]}"#.to_owned()],
            on_failure_destination: Some("arn:aws:sqs:eu-west-1:111111111111:dead".to_owned()),
            enabled: false,
        };
        let lines = mapping_differences(&existing, &desired);
        expect![[r#"
            batch_size: 100 -> 7
            maximum_batching_window_seconds: 0 -> 5
            maximum_retry_attempts: 10 -> 2
            maximum_record_age_seconds: 86400 -> 60
            parallelization_factor: 1 -> 3
            bisect_batch_on_function_error: true -> false
            report_batch_item_failures: true -> false
            filters: [] -> ["{\"eventName\":[\"INSERT\"]}"]
            on_failure_destination: None -> Some("arn:aws:sqs:eu-west-1:111111111111:dead")
            enabled: true -> false
            starting_position: TRIM_HORIZON -> LATEST (set only at creation: the mapping is replaced)
        "#]]
        .assert_eq(&lines.iter().map(|l| format!("{l}\n")).collect::<String>());
        assert!(mapping_differences(&existing, &existing.parameters).is_empty());
    }

    /// What an apply of `desired` records, as a state file.
    fn recorded(desired: &DesiredState) -> StateFile {
        let mut state = StateFile::new();
        for source in &desired.sources {
            state.record(Recorded::Table {
                account: source.account.to_string(),
                name: source.table_name.clone(),
                arn: table_arn(REGION, source).unwrap().to_string(),
            });
            state.record(Recorded::StreamPolicy {
                account: source.account.to_string(),
                stream_arn: stream(source.account.as_str()).to_string(),
                revision_id: "1".to_owned(),
            });
        }
        for consumer in &desired.consumers {
            state.record(Recorded::Role {
                account: consumer.account.to_string(),
                name: consumer.role_name.clone(),
                arn: role_arn(consumer).unwrap().to_string(),
            });
            state.record(Recorded::RolePolicy {
                account: consumer.account.to_string(),
                role: consumer.role_name.clone(),
                policy: crate::spec::ROLE_POLICY_NAME.to_owned(),
            });
            let Some(function) = &consumer.function else {
                continue;
            };
            let function_arn = function_arn(REGION, consumer, function).unwrap();
            state.record(Recorded::Function {
                account: consumer.account.to_string(),
                name: function.name.clone(),
                arn: function_arn.to_string(),
            });
            for subscription in &consumer.subscriptions {
                let source = desired.find_source(&subscription.source).unwrap();
                state.record(Recorded::Mapping {
                    account: consumer.account.to_string(),
                    uuid: format!("{}-{}", function.name, source.account),
                    function_arn: function_arn.to_string(),
                    stream_arn: stream(source.account.as_str()).to_string(),
                });
            }
        }
        state
    }

    /// The plan's deletions of leftovers when `state` was recorded for
    /// `before` and the desired state is now `after`.
    fn check_leftovers(before: &DesiredState, after: &DesiredState, expected: Expect) {
        let plan = plan_with_state(after, &converged(after), &recorded(before)).unwrap();
        let deletions: String = plan
            .to_string()
            .lines()
            .filter(|line| line.starts_with("- ") || line.starts_with("    created by"))
            .map(|line| format!("{line}\n"))
            .collect();
        expected.assert_eq(&deletions);
    }

    fn with_functions(desired: DesiredState) -> DesiredState {
        let mut desired = desired;
        for consumer in &mut desired.consumers {
            consumer.function = Some(FunctionSpec::new(
                format!("{}-function", consumer.name),
                b"zip".to_vec(),
            ));
        }
        desired
    }

    #[test]
    fn nothing_is_left_over_when_the_desired_state_is_unchanged() {
        let desired = with_functions(central_billing());
        check_leftovers(&desired, &desired, expect![""]);
    }

    #[test]
    fn a_removed_consumer_leaves_its_role_policy_function_and_mappings_over() {
        let before = with_functions(
            central_billing()
                .consumer(Consumer::new("audit", account(A), "audit-consumer").reads("tenant-b")),
        );
        check_leftovers(
            &before,
            &with_functions(central_billing()),
            expect![[r#"
                - delete mapping audit-function-222222222222 arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2026-01-01T00:00:00.000 -> arn:aws:lambda:eu-west-1:111111111111:function:audit-function
                    created by an earlier apply; no longer in the desired state
                - delete function arn:aws:lambda:eu-west-1:111111111111:function:audit-function
                    created by an earlier apply; no longer in the desired state
                - delete role policy streamgate-stream-read of 111111111111/audit-consumer
                    created by an earlier apply; no longer in the desired state
                - delete role arn:aws:iam::111111111111:role/audit-consumer
                    created by an earlier apply; no longer in the desired state
            "#]],
        );
    }

    #[test]
    fn a_removed_source_leaves_its_table_stream_policy_and_mapping_over() {
        let after = with_functions(
            DesiredState::new(REGION)
                .source(Source::new(
                    "tenant-b",
                    account(B),
                    "documents",
                    KeyAttribute::new("pk", KeyType::String),
                ))
                .consumer(
                    Consumer::new("billing", account(A), "billing-consumer").reads("tenant-b"),
                ),
        );
        check_leftovers(
            &with_functions(central_billing()),
            &after,
            expect![[r#"
                - delete mapping billing-function-333333333333 arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/2026-01-01T00:00:00.000 -> arn:aws:lambda:eu-west-1:111111111111:function:billing-function
                    created by an earlier apply; no longer in the desired state
                - delete stream policy of arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/2026-01-01T00:00:00.000
                    created by an earlier apply; no longer in the desired state
                - delete table arn:aws:dynamodb:eu-west-1:333333333333:table/documents
                    created by an earlier apply; no longer in the desired state
            "#]],
        );
    }

    #[test]
    fn the_role_may_send_failed_batches_to_every_destination() {
        let parameters = |destination: &str| MappingParameters {
            on_failure_destination: Some(destination.to_owned()),
            ..MappingParameters::default()
        };
        let consumer = Consumer::new("billing", account(A), "billing-consumer")
            .function(FunctionSpec::new("billing-aggregator", b"zip".to_vec()))
            .reads_with(
                "tenant-b",
                parameters("arn:aws:sqs:eu-west-1:111111111111:failed-b"),
            )
            .reads_with(
                "tenant-c",
                parameters("arn:aws:sns:eu-west-1:111111111111:failed-c"),
            );
        let document = role_policy(REGION, &consumer, &[stream(B), stream(C)], &[])
            .unwrap()
            .unwrap();
        let sends: String = document
            .statements()
            .iter()
            .filter(|s| {
                s.sid
                    .as_deref()
                    .is_some_and(|sid| sid.starts_with("SendFailedBatches"))
            })
            .map(|s| {
                format!(
                    "{} {:?} {:?}\n",
                    s.sid.as_deref().unwrap(),
                    s.action.as_ref().unwrap(),
                    s.resource.as_ref().unwrap()
                )
            })
            .collect();
        expect![[r#"
            SendFailedBatches One("sqs:SendMessage") One("arn:aws:sqs:eu-west-1:111111111111:failed-b")
            SendFailedBatches2 One("sns:Publish") One("arn:aws:sns:eu-west-1:111111111111:failed-c")
        "#]].assert_eq(&sends);
        assert!(
            lint(&document, PolicyType::Identity, None)
                .iter()
                .all(|finding| finding.severity != Severity::Error),
            "{}",
            document.to_json_pretty()
        );
    }

    #[test]
    fn a_function_that_writes_its_own_table_may_write_only_that_table() {
        let consumer = Consumer::new("billing", account(A), "billing-consumer")
            .function(FunctionSpec::new("billing-aggregator", Vec::new()))
            .writes_table("tenant-usage")
            .reads("tenant-b");
        let document = role_policy(REGION, &consumer, &[stream(B)], &[])
            .unwrap()
            .unwrap();
        let writes = document
            .statements()
            .iter()
            .find(|s| s.sid.as_deref() == Some("WriteOwnTables"))
            .unwrap();
        let resources: Vec<&String> = writes.resource.iter().flat_map(|r| r.iter()).collect();
        assert_eq!(
            resources,
            [&format!("arn:aws:dynamodb:{REGION}:{A}:table/tenant-usage")]
        );
        let actions: Vec<&String> = writes.action.iter().flat_map(|a| a.iter()).collect();
        assert!(actions.iter().any(|a| *a == "dynamodb:UpdateItem"));
        // A consumer that writes nothing gets no such statement.
        let reader = Consumer::new("billing", account(A), "billing-consumer")
            .function(FunctionSpec::new("billing-aggregator", Vec::new()))
            .reads("tenant-b");
        let document = role_policy(REGION, &reader, &[stream(B)], &[])
            .unwrap()
            .unwrap();
        assert!(
            document
                .statements()
                .iter()
                .all(|s| s.sid.as_deref() != Some("WriteOwnTables"))
        );
    }

    #[test]
    fn base64_of_sha256_matches_lambda() {
        // sha256("") in base64, as Lambda reports CodeSha256.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn line_diff_marks_changes() {
        expect![[r#"
              a
            - b
            + c
              d
            + e
        "#]]
        .assert_eq(&line_diff("a\nb\nd", "a\nc\nd\ne"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// A many-to-many desired state: up to four sources in A, B or C
        /// and up to four consumers, each reading a random subset.
        fn desired_state() -> impl Strategy<Value = DesiredState> {
            let accounts = [A, B, C];
            (
                proptest::collection::vec(0usize..3, 1..4),
                proptest::collection::vec(
                    (0usize..3, proptest::collection::vec(any::<bool>(), 4)),
                    0..4,
                ),
            )
                .prop_map(move |(sources, consumers)| {
                    let mut desired = DesiredState::new(REGION);
                    for (index, owner) in sources.iter().enumerate() {
                        desired = desired.source(Source::new(
                            format!("s{index}"),
                            account(accounts[*owner]),
                            format!("table-{index}"),
                            KeyAttribute::new("pk", KeyType::String),
                        ));
                    }
                    for (index, (owner, reads)) in consumers.iter().enumerate() {
                        let mut consumer = Consumer::new(
                            format!("c{index}"),
                            account(accounts[*owner]),
                            format!("role-{index}"),
                        );
                        for (source, read) in reads.iter().enumerate().take(sources.len()) {
                            if *read {
                                consumer = consumer.reads(format!("s{source}"));
                            }
                        }
                        desired = desired.consumer(consumer);
                    }
                    desired
                })
        }

        fn converged_any(desired: &DesiredState) -> Observed {
            let mut observed = Observed::default();
            let stream_of =
                |source: &Source| table_arn(REGION, source).unwrap().stream(LABEL).unwrap();
            for source in &desired.sources {
                observed.tables.insert(
                    (source.account.clone(), source.table_name.clone()),
                    ObservedTable {
                        arn: table_arn(REGION, source).unwrap().to_string(),
                        status: "ACTIVE".to_owned(),
                        stream: Some(ObservedStream {
                            arn: stream_of(source),
                            view_type: Some(source.view_type),
                        }),
                        kms_key_arn: None,
                    },
                );
            }
            let readers = desired.readers();
            for source in &desired.sources {
                if let Some(document) =
                    stream_policy(&stream_of(source), &readers[source.name.as_str()]).unwrap()
                {
                    observed.stream_policies.insert(
                        stream_of(source).to_string(),
                        ObservedPolicy {
                            document,
                            revision_id: "1".to_owned(),
                        },
                    );
                }
            }
            for consumer in &desired.consumers {
                let streams: Vec<StreamArn> = consumer
                    .subscriptions
                    .iter()
                    .map(|s| stream_of(desired.find_source(&s.source).unwrap()))
                    .collect();
                observed.roles.insert(
                    (consumer.account.clone(), consumer.role_name.clone()),
                    ObservedRole {
                        arn: role_arn(consumer).unwrap().to_string(),
                        trust_policy: trust_policy(consumer),
                        read_policy: role_policy(REGION, consumer, &streams, &[]).unwrap(),
                    },
                );
            }
            observed
        }

        proptest! {
            /// Planning against what a complete apply leaves changes
            /// nothing (and no built policy has a lint error), and against
            /// nothing creates every resource.
            #[test]
            fn a_converged_state_plans_no_change(desired in desired_state()) {
                let converged = plan(&desired, &converged_any(&desired)).unwrap();
                prop_assert!(converged.is_empty(), "{converged}");
                prop_assert!(converged.blockers.is_empty());
                let fresh = plan(&desired, &Observed::default()).unwrap();
                prop_assert_eq!(fresh.actions.len(), converged.actions.len());
                let all_created = fresh.actions.iter().all(|a| matches!(a.change, Change::Create { .. }));
                prop_assert!(all_created, "{}", fresh);
            }

            /// Every stream policy names exactly the roles of its readers.
            #[test]
            fn stream_policies_name_exactly_the_readers(desired in desired_state()) {
                let observed = converged_any(&desired);
                let readers = desired.readers();
                for source in &desired.sources {
                    let stream = table_arn(REGION, source).unwrap().stream(LABEL).unwrap();
                    let expected: Vec<String> = readers[source.name.as_str()]
                        .iter()
                        .map(|c| role_arn(c).unwrap().to_string())
                        .collect();
                    let named: Vec<String> = observed
                        .stream_policies
                        .get(&stream.to_string())
                        .map(|p| p.document.statements().iter()
                            .flat_map(|s| s.principal.iter().flat_map(|p| p.of_type(PrincipalType::Aws).map(ToOwned::to_owned)).collect::<Vec<_>>())
                            .collect())
                        .unwrap_or_default();
                    prop_assert_eq!(named, expected);
                }
            }

            /// The diff keeps every line of both texts, in order.
            #[test]
            fn line_diff_rebuilds_both_texts(
                old in proptest::collection::vec("[abc]{0,2}", 0..8),
                new in proptest::collection::vec("[abc]{0,2}", 0..8),
            ) {
                let (old, new) = (old.join("\n"), new.join("\n"));
                let diff = line_diff(&old, &new);
                let side = |skip: &str| diff
                    .lines()
                    .filter(|l| !l.starts_with(skip))
                    .map(|l| l.get(2..).unwrap_or_default())
                    .collect::<Vec<_>>();
                prop_assert_eq!(side("+ "), old.lines().collect::<Vec<_>>());
                prop_assert_eq!(side("- "), new.lines().collect::<Vec<_>>());
            }
        }
    }
}
