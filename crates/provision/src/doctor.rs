//! Doctor: explains why a role cannot read a stream (an AccessDenied, or
//! Lambda's "Cannot access stream"), by fetching both policies — the
//! role's identity policies in the consumer account and the stream's
//! resource policy in the source account — and the table, and evaluating
//! offline with streamgate-policy.
//!
//! [`diagnose`] is the pure part (tested without a server); [`doctor`]
//! fetches its inputs and calls it.

use crate::clients::Accounts;
use crate::error::{Failure, ProvisionError};
use crate::observed::ObservedTable;
use crate::read::{clients_of, parse_policy, read_resource_policy, read_table, unless_not_found};
use std::fmt;
use streamgate_policy::arn::{AssumedRoleArn, RoleArn, StreamArn};
use streamgate_policy::builders::STREAM_READ_ACTIONS;
use streamgate_policy::document::{Effect, PolicyDocument, PrincipalType, Principals, Statement};
use streamgate_policy::eval::{
    Outcome, PolicyKind, PolicySet, Principal, Request, StatementRef, evaluate,
};
use streamgate_policy::pattern::{action_matches, arn_matches, resource_matches};

/// Which of the two policies a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicySide {
    /// The execution role's identity policies (consumer account).
    Identity,
    /// The stream's resource policy (source account).
    Stream,
    /// The execution role's permissions boundary (consumer account).
    PermissionsBoundary,
}

impl fmt::Display for PolicySide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Identity => "the role's identity policy",
            Self::Stream => "the stream's resource policy",
            Self::PermissionsBoundary => "the role's permissions boundary",
        })
    }
}

/// One cause found.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Finding {
    /// The consumer is in another Region than the stream: cross-account
    /// stream access works within one Region only.
    RegionMismatch {
        /// The consumer's Region.
        consumer_region: String,
        /// The stream's Region.
        stream_region: String,
    },
    /// The table does not exist (in the stream's Region and account).
    TableMissing {
        /// The table the stream ARN names.
        table: String,
    },
    /// The table's stream is disabled.
    StreamDisabled {
        /// The table.
        table: String,
    },
    /// The stream read is not the table's latest stream: its view type or
    /// stream setting changed since, which starts a stream with a new label.
    StaleStreamLabel {
        /// The label read.
        given: String,
        /// The latest label.
        latest: String,
    },
    /// A policy names the stream with an old label.
    PolicyNamesOldStream {
        /// Which policy.
        side: PolicySide,
        /// The ARN it names.
        named: String,
        /// The latest stream's ARN.
        latest: String,
    },
    /// The table is encrypted with a KMS key not declared customer
    /// managed: with the AWS managed key, cross-account access through
    /// resource policies is impossible.
    AwsManagedKey {
        /// The key's ARN.
        key: String,
    },
    /// The table is encrypted with a customer managed KMS key and the
    /// role's identity policies do not allow `kms:Decrypt` with it (the
    /// key policy, which doctor cannot read, must allow the role too).
    KeyNotGranted {
        /// The key's ARN.
        key: String,
    },
    /// The execution role does not exist in its account.
    RoleMissing {
        /// The role.
        role: RoleArn,
    },
    /// The stream has no resource policy at all.
    NoStreamPolicy {
        /// The stream.
        stream: StreamArn,
        /// The role to allow.
        role: RoleArn,
    },
    /// The stream's policy allows the action on the stream to other
    /// principals only.
    WrongPrincipal {
        /// The action.
        action: String,
        /// The principals it names instead.
        named: Vec<String>,
        /// The role to name.
        role: RoleArn,
        /// The stream.
        stream: StreamArn,
    },
    /// The stream's policy names the role (or its account, or `*`) for the
    /// action, but the statement's conditions did not hold offline.
    ConditionNotMet {
        /// The action.
        action: String,
        /// The statements, e.g. `statement 0 (Sid "Read")`.
        statements: Vec<String>,
        /// The condition keys those statements test.
        keys: Vec<String>,
        /// The role.
        role: RoleArn,
    },
    /// The stream's policy names sessions of the role
    /// (`arn:aws:sts::A:assumed-role/ROLE/SESSION`), not the role: a
    /// session name is chosen by whoever assumes the role (Lambda picks its
    /// own), so such a grant matches only that one session.
    SessionPrincipal {
        /// The action.
        action: String,
        /// The session ARNs named.
        named: Vec<String>,
        /// The role to name instead.
        role: RoleArn,
    },
    /// No statement of a policy allows the action on the stream.
    MissingStatement {
        /// Which policy.
        side: PolicySide,
        /// The action.
        action: String,
        /// The role.
        role: RoleArn,
        /// The stream.
        stream: StreamArn,
        /// Allowing statements of that policy whose resource matches the
        /// table but not its stream, e.g. `statement 0 (Sid "Read") names
        /// arn:...:table/documents`.
        table_only: Vec<String>,
    },
    /// The role's identity policies do not allow `dynamodb:ListStreams`
    /// on `*`: Lambda checks it when the event source mapping is created
    /// (its "Cannot access stream" names it), though reading the stream
    /// itself does not need it. It cannot go in the stream's policy.
    ListStreamsNotAllowed {
        /// The evaluator's explanation.
        explanation: String,
    },
    /// The stream's policy names a principal by its unique id (`AROA...`
    /// for a role, `AIDA...` for a user) instead of an ARN: IAM stores a
    /// policy that way when the role it named was deleted, and a role
    /// created again under the same name has a new id, so the policy no
    /// longer names it.
    PrincipalIsUniqueId {
        /// The unique id found in the policy.
        id: String,
        /// The role doctor diagnoses, the ARN to put back in its place.
        role: String,
    },
    /// An error message says the read was denied, yet both policies as
    /// fetched allow it: the cause is in what doctor cannot read.
    DenialNotReproduced {
        /// The message's reason, e.g. `with an explicit deny in a service
        /// control policy`, when it gives one.
        reason: Option<String>,
    },
    /// The message blames a kind of policy doctor cannot read: a service
    /// control policy, a resource control policy, a session policy or a
    /// VPC endpoint policy.
    DeniedWhereDoctorCannotSee {
        /// The kind, e.g. `service control policy`.
        kind: String,
        /// The message's reason.
        reason: String,
    },
    /// A statement explicitly denies the action.
    ExplicitDeny {
        /// Which policy.
        side: PolicySide,
        /// The action.
        action: String,
        /// The statements that deny, with the policy they are in.
        statements: Vec<String>,
        /// The evaluator's explanation.
        explanation: String,
    },
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RegionMismatch {
                consumer_region,
                stream_region,
            } => write!(
                f,
                "region mismatch: the consumer is in {consumer_region}, the stream in {stream_region}; cross-account stream access works within one region only: run the function and its mapping in {stream_region}"
            ),
            Self::TableMissing { table } => write!(
                f,
                "table {table} does not exist: the stream ARN names a table deleted since, or one in another account or region"
            ),
            Self::StreamDisabled { table } => write!(
                f,
                "the stream of table {table} is disabled; enable it (UpdateTable with a StreamSpecification) in the table's account, then point the mapping and both policies at the new stream's ARN"
            ),
            Self::StaleStreamLabel { given, latest } => write!(
                f,
                "stale stream label: {given} is not the table's latest stream ({latest}); the stream changed and mappings and policies must name the new one"
            ),
            Self::PolicyNamesOldStream {
                side,
                named,
                latest,
            } => write!(
                f,
                "{side} names an old stream {named}; replace it with the latest, {latest}"
            ),
            Self::AwsManagedKey { key } => write!(
                f,
                "the table is encrypted with KMS key {key}, not declared customer managed; tables encrypted with the AWS managed key cannot be read across accounts: in the table's account, switch it to an AWS owned or a customer managed key (UpdateTable with an SSESpecification), or, if {key} is customer managed, declare it so"
            ),
            Self::KeyNotGranted { key } => write!(
                f,
                "the table is encrypted with customer managed key {key} and the role's identity policy does not allow kms:Decrypt with it; the key policy in the table's account must allow the role too"
            ),
            Self::RoleMissing { role } => write!(
                f,
                "role {role} does not exist in account {}; create it (or fix the name the function uses), then name it again in the stream's resource policy: a policy naming a deleted role keeps its old unique id, not the new role",
                role.account()
            ),
            Self::NoStreamPolicy { stream, role } => write!(
                f,
                "stream {stream} has no resource policy; in account {}, put one on the stream (PutResourcePolicy) allowing {role} dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator",
                stream.account()
            ),
            Self::WrongPrincipal {
                action,
                named,
                role,
                stream,
            } => write!(
                f,
                "the resource policy of stream {stream} (account {}) allows {action} to {} but not to {role}; add {role} to that statement's Principal",
                stream.account(),
                named.join(", ")
            ),
            Self::ConditionNotMet {
                action,
                statements,
                keys,
                role,
            } => write!(
                f,
                "the stream's resource policy names {role} (or its account, or \"*\") for {action} in {}, but its conditions on {} did not hold when evaluated offline, without the request's context; check that the role's session meets them (aws:PrincipalOrgID needs both accounts in that organization)",
                statements.join(", "),
                keys.join(", ")
            ),
            Self::SessionPrincipal {
                action,
                named,
                role,
            } => write!(
                f,
                "the stream's resource policy allows {action} only to the session {} of the role, and the session that reads is named by whoever assumes the role (Lambda picks its own name); name the role {role} as the principal instead",
                named.join(", ")
            ),
            Self::MissingStatement {
                side,
                action,
                role,
                stream,
                table_only,
            } => {
                match side {
                    PolicySide::Identity => write!(
                        f,
                        "no statement of the identity policies of {role} (account {}) allows {action} on {stream}; add an Allow of {action} on the stream's ARN, or on {}/stream/* for every label, to the role's policy",
                        role.account(),
                        stream.table_arn()
                    )?,
                    PolicySide::Stream => write!(
                        f,
                        "no statement of the resource policy of stream {stream} (account {}) allows {action} to {role}; add {action} for principal {role} to it",
                        stream.account()
                    )?,
                    PolicySide::PermissionsBoundary => write!(
                        f,
                        "the permissions boundary of {role} (account {}) does not allow {action} on {stream}; add {action} on the stream to the boundary",
                        role.account()
                    )?,
                }
                for statement in table_only {
                    write!(
                        f,
                        "; {statement}, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)"
                    )?;
                }
                Ok(())
            }
            Self::ListStreamsNotAllowed { explanation } => write!(
                f,
                "the role's identity policy does not allow dynamodb:ListStreams on \"*\", which Lambda checks when it creates the event source mapping; add an allow of dynamodb:ListStreams on resource \"*\" to the role's identity policy (the stream's policy cannot carry it): {explanation}"
            ),
            Self::PrincipalIsUniqueId { id, role } => write!(
                f,
                "the stream's resource policy names principal {id}, a unique id: IAM writes it in place of a role or user that was deleted, and a role created again with the same name has a new id; replace {id} with {role} in the stream's resource policy"
            ),
            Self::DenialNotReproduced { reason } => {
                f.write_str("the message reports a denial, but the role's identity policies, its permissions boundary and the stream's resource policy allow the read")?;
                if let Some(reason) = reason {
                    write!(f, " (AWS said: {reason})")?;
                }
                f.write_str("; doctor cannot read a service control policy or resource control policy of either account's organization, a session policy, or a customer managed key's key policy, so look there, and retry if a policy changed in the last few seconds")
            }
            Self::DeniedWhereDoctorCannotSee { kind, reason } => {
                let place = match kind.as_str() {
                    "session policy" => {
                        "it is passed by whoever assumes the role (AssumeRole's Policy or PolicyArns)"
                    }
                    "VPC endpoint policy" => {
                        "it is set on the VPC endpoint the request went through"
                    }
                    _ => {
                        "it is set in the organization's management account, for the account or an organizational unit above it"
                    }
                };
                write!(
                    f,
                    "AWS denied in a {kind} ({reason}), which doctor cannot read: {place}; change it there"
                )
            }
            Self::ExplicitDeny {
                side,
                action,
                statements,
                explanation,
            } => write!(
                f,
                "{side} denies {action} in {}: {explanation}; remove that statement or narrow it so that it no longer matches this role reading the stream",
                statements.join(", ")
            ),
        }
    }
}

/// What doctor needs, fetched or given.
#[derive(Debug, Clone)]
pub struct DoctorInput {
    /// The execution role.
    pub role: RoleArn,
    /// The stream it tries to read.
    pub stream: StreamArn,
    /// The consumer's Region.
    pub consumer_region: Option<String>,
    /// The role's identity policies.
    pub identity_policies: Vec<PolicyDocument>,
    /// The names of `identity_policies`, in the same order: an inline
    /// policy's name, a managed policy's ARN. A policy without one is
    /// named by its index.
    pub identity_policy_names: Vec<String>,
    /// The role's permissions boundary, if it has one.
    pub permissions_boundary: Option<PolicyDocument>,
    /// The stream's resource policy.
    pub stream_policy: Option<PolicyDocument>,
    /// The table, if it exists.
    pub table: Option<ObservedTable>,
    /// KMS keys known to be customer managed.
    pub customer_managed_keys: Vec<String>,
}

/// The findings, and the evaluator's decision per read action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnosis {
    /// The causes found; empty when the role can read the stream.
    pub findings: Vec<Finding>,
    /// `(action, explanation)` per stream read action.
    pub decisions: Vec<(String, String)>,
}

impl Diagnosis {
    /// True when nothing stands in the way.
    pub fn is_healthy(&self) -> bool {
        self.findings.is_empty()
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.findings.is_empty() {
            writeln!(
                f,
                "healthy: the role's identity policy and the stream's resource policy let the role read the stream; if AWS still denies it, the cause is where doctor cannot see: a service control policy or resource control policy of either account's organization, a permissions boundary or session policy of the role, or a customer managed key's key policy"
            )?;
        }
        for finding in &self.findings {
            writeln!(f, "- {finding}")?;
        }
        for (action, explanation) in &self.decisions {
            writeln!(f, "  {action}: {explanation}")?;
        }
        Ok(())
    }
}

fn session(role: &RoleArn) -> Result<Principal, ProvisionError> {
    let text = format!(
        "arn:{}:sts::{}:assumed-role/{}/streamgate-doctor",
        role.partition(),
        role.account(),
        role.name()
    );
    let session: AssumedRoleArn = text.parse()?;
    Principal::assumed_role(session, role.clone()).map_err(|e| ProvisionError::Aws {
        operation: "doctor",
        resource: role.to_string(),
        code: "InvalidPrincipal".to_owned(),
        message: e.to_string(),
    })
}

fn old_streams(policy: &PolicyDocument, stream: &StreamArn, latest: &StreamArn) -> Vec<String> {
    let table = stream.table_arn().to_string();
    let mut named = Vec::new();
    for statement in policy.statements() {
        if statement.effect != Effect::Allow {
            continue;
        }
        for resource in statement.resource.iter().flat_map(|r| r.iter()) {
            if let Ok(other) = resource.parse::<StreamArn>()
                && other.table_arn().to_string() == table
                && !arn_matches(resource, &latest.to_string())
                && !named.contains(resource)
            {
                named.push(resource.clone());
            }
        }
    }
    named
}

/// Explains from the inputs alone why the role can or cannot read the
/// stream.
pub fn diagnose(input: &DoctorInput) -> Result<Diagnosis, ProvisionError> {
    let mut findings = Vec::new();
    let stream_region = input.stream.region().to_owned();
    if let Some(region) = &input.consumer_region
        && *region != stream_region
    {
        findings.push(Finding::RegionMismatch {
            consumer_region: region.clone(),
            stream_region: stream_region.clone(),
        });
    }
    let mut latest = input.stream.clone();
    match &input.table {
        None => findings.push(Finding::TableMissing {
            table: input.stream.table_arn().to_string(),
        }),
        Some(table) => {
            let disabled = Finding::StreamDisabled {
                table: table.arn.clone(),
            };
            match &table.stream {
                None => findings.push(disabled),
                Some(current) => {
                    if current.view_type.is_none() {
                        findings.push(disabled);
                    }
                    if current.arn != input.stream {
                        findings.push(Finding::StaleStreamLabel {
                            given: input.stream.label().to_owned(),
                            latest: current.arn.label().to_owned(),
                        });
                    }
                    latest = current.arn.clone();
                }
            }
            if let Some(key) = &table.kms_key_arn
                && !input.customer_managed_keys.contains(key)
            {
                findings.push(Finding::AwsManagedKey { key: key.clone() });
            }
        }
    }
    for policy in &input.identity_policies {
        for named in old_streams(policy, &input.stream, &latest) {
            findings.push(Finding::PolicyNamesOldStream {
                side: PolicySide::Identity,
                named,
                latest: latest.to_string(),
            });
        }
    }
    if let Some(policy) = &input.stream_policy {
        for named in old_streams(policy, &input.stream, &latest) {
            findings.push(Finding::PolicyNamesOldStream {
                side: PolicySide::Stream,
                named,
                latest: latest.to_string(),
            });
        }
    } else {
        findings.push(Finding::NoStreamPolicy {
            stream: input.stream.clone(),
            role: input.role.clone(),
        });
    }

    let principal = session(&input.role)?;
    let customer_managed_key = input
        .table
        .as_ref()
        .and_then(|t| t.kms_key_arn.as_ref())
        .filter(|key| input.customer_managed_keys.contains(key));
    if let Some(key) = customer_managed_key {
        // The identity side alone, as if the key were the role's own: the
        // key policy cannot be read from the consumer's side.
        let identity = identity_side(input);
        let request = Request::new(principal.clone(), "kms:Decrypt", key.clone());
        if evaluate(&request, &identity).outcome() != Outcome::Allow {
            findings.push(Finding::KeyNotGranted { key: key.clone() });
        }
    }
    let list = evaluate(
        &Request::new(principal.clone(), "dynamodb:ListStreams", "*"),
        &identity_side(input),
    );
    if !list.is_allowed() {
        findings.push(Finding::ListStreamsNotAllowed {
            explanation: list.to_string(),
        });
    }
    let mut policies = PolicySet::new().with_resource_owner(input.stream.account().clone());
    for policy in &input.identity_policies {
        policies = policies.with_identity(policy);
    }
    if let Some(boundary) = &input.permissions_boundary {
        policies = policies.with_boundary(boundary);
    }
    if let Some(policy) = &input.stream_policy {
        policies = policies.with_resource_policy(policy);
    }
    let mut decisions = Vec::new();
    for action in STREAM_READ_ACTIONS {
        let request = Request::new(principal.clone(), action, input.stream.to_string());
        let decision = evaluate(&request, &policies);
        decisions.push((action.to_owned(), decision.to_string()));
        match decision.outcome() {
            Outcome::Allow => {}
            Outcome::ExplicitDeny => findings.push(Finding::ExplicitDeny {
                side: side_of(decision.denied_by()),
                action: action.to_owned(),
                statements: decision
                    .statements()
                    .iter()
                    .map(|statement| named_statement(input, statement))
                    .collect(),
                explanation: decision.to_string(),
            }),
            Outcome::ImplicitDeny => {
                let side = side_of(decision.missing_allow());
                if side == PolicySide::Stream {
                    let Some(policy) = &input.stream_policy else {
                        continue;
                    };
                    let stream = input.stream.to_string();
                    let allowing = allowing_statements(policy, action, &stream);
                    let named = principals_of(&allowing);
                    for id in named.iter().filter(|p| is_unique_id(p)) {
                        let finding = Finding::PrincipalIsUniqueId {
                            id: id.clone(),
                            role: input.role.to_string(),
                        };
                        if !findings.contains(&finding) {
                            findings.push(finding);
                        }
                    }
                    if named.is_empty() {
                        findings.push(Finding::MissingStatement {
                            side,
                            action: action.to_owned(),
                            role: input.role.clone(),
                            stream: input.stream.clone(),
                            table_only: table_only(&[policy], action, &input.stream, &|_| {
                                "the stream's resource policy".to_owned()
                            }),
                        });
                    } else if !named.iter().any(|p| names_role(p, &input.role))
                        && named.iter().any(|p| names_session_of(p, &input.role))
                    {
                        findings.push(Finding::SessionPrincipal {
                            action: action.to_owned(),
                            named: named
                                .into_iter()
                                .filter(|p| names_session_of(p, &input.role))
                                .collect(),
                            role: input.role.clone(),
                        });
                    } else if named.iter().any(|p| names_role(p, &input.role)) {
                        let naming: Vec<_> = allowing
                            .iter()
                            .filter(|(_, statement)| {
                                principals_of(&[(0, statement)])
                                    .iter()
                                    .any(|p| names_role(p, &input.role))
                            })
                            .collect();
                        let mut keys = Vec::new();
                        for (_, statement) in &naming {
                            for block in statement.condition.iter().flatten() {
                                for entry in &block.entries {
                                    if !keys.contains(&entry.key) {
                                        keys.push(entry.key.clone());
                                    }
                                }
                            }
                        }
                        findings.push(Finding::ConditionNotMet {
                            action: action.to_owned(),
                            statements: naming
                                .iter()
                                .map(|(index, statement)| statement_label(*index, statement))
                                .collect(),
                            keys,
                            role: input.role.clone(),
                        });
                    } else {
                        findings.push(Finding::WrongPrincipal {
                            action: action.to_owned(),
                            named,
                            role: input.role.clone(),
                            stream: input.stream.clone(),
                        });
                    }
                } else {
                    let table_only = match side {
                        PolicySide::PermissionsBoundary => input
                            .permissions_boundary
                            .as_ref()
                            .map(|b| {
                                table_only(&[b], action, &input.stream, &|_| {
                                    "the permissions boundary".to_owned()
                                })
                            })
                            .unwrap_or_default(),
                        _ => {
                            let policies: Vec<_> = input.identity_policies.iter().collect();
                            table_only(&policies, action, &input.stream, &|index| {
                                identity_policy_name(input, index)
                            })
                        }
                    };
                    findings.push(Finding::MissingStatement {
                        side,
                        action: action.to_owned(),
                        role: input.role.clone(),
                        stream: input.stream.clone(),
                        table_only,
                    });
                }
            }
        }
    }
    Ok(Diagnosis {
        findings,
        decisions,
    })
}

fn side_of(kind: Option<PolicyKind>) -> PolicySide {
    match kind {
        Some(PolicyKind::Resource) => PolicySide::Stream,
        Some(PolicyKind::PermissionsBoundary) => PolicySide::PermissionsBoundary,
        _ => PolicySide::Identity,
    }
}

/// The role's own policies (identity and boundary), for a request on a
/// resource of the role's account or on `*`.
fn identity_side(input: &DoctorInput) -> PolicySet<'_> {
    let mut identity = PolicySet::new().with_resource_owner(input.role.account().clone());
    for policy in &input.identity_policies {
        identity = identity.with_identity(policy);
    }
    if let Some(boundary) = &input.permissions_boundary {
        identity = identity.with_boundary(boundary);
    }
    identity
}

/// True for an IAM unique id as IAM stores it in a policy in place of a
/// deleted principal: a four-letter prefix such as `AROA` (role) or `AIDA`
/// (user), then upper-case letters and digits.
fn is_unique_id(principal: &str) -> bool {
    const PREFIXES: [&str; 3] = ["AROA", "AIDA", "AGPA"];
    PREFIXES.iter().any(|prefix| {
        principal.strip_prefix(prefix).is_some_and(|rest| {
            rest.len() >= 12
                && rest
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
    })
}

/// The allowing statements of `policy` (with their index) for `action`
/// on `resource`.
fn allowing_statements<'a>(
    policy: &'a PolicyDocument,
    action: &str,
    resource: &str,
) -> Vec<(usize, &'a Statement)> {
    policy
        .statements()
        .iter()
        .enumerate()
        .filter(|(_, statement)| {
            statement.effect == Effect::Allow
                && allows_action(statement, action)
                && match (&statement.resource, &statement.not_resource) {
                    (Some(patterns), _) => patterns.iter().any(|p| resource_matches(p, resource)),
                    (None, Some(patterns)) => {
                        !patterns.iter().any(|p| resource_matches(p, resource))
                    }
                    (None, None) => false,
                }
        })
        .collect()
}

fn allows_action(statement: &Statement, action: &str) -> bool {
    match (&statement.action, &statement.not_action) {
        (Some(patterns), _) => patterns.iter().any(|p| action_matches(p, action)),
        (None, Some(patterns)) => !patterns.iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    }
}

/// How an identity policy is named in findings: `identity policy "NAME"`,
/// or by its index when its name is unknown.
fn identity_policy_name(input: &DoctorInput, index: usize) -> String {
    match input.identity_policy_names.get(index) {
        Some(name) => format!("identity policy {name:?}"),
        None => format!("identity-based policy {index}"),
    }
}

/// A statement the evaluator cites, with the policy it is in named.
fn named_statement(input: &DoctorInput, statement: &StatementRef) -> String {
    let policy = match statement.kind {
        PolicyKind::Identity => identity_policy_name(input, statement.policy_index),
        PolicyKind::Resource => "the stream's resource policy".to_owned(),
        PolicyKind::PermissionsBoundary => "the permissions boundary".to_owned(),
        PolicyKind::Session => "the session policy".to_owned(),
    };
    let label = match &statement.sid {
        Some(sid) => format!("statement {} (Sid {sid:?})", statement.statement_index),
        None => format!("statement {}", statement.statement_index),
    };
    format!("{policy} {label}")
}

/// `statement N (Sid "X")`, as the evaluator names statements.
fn statement_label(index: usize, statement: &Statement) -> String {
    match &statement.sid {
        Some(sid) => format!("statement {index} (Sid {sid:?})"),
        None => format!("statement {index}"),
    }
}

/// The allowing statements for `action` whose `Resource` names the
/// stream's table (or a pattern matching it) but not the stream: the
/// classic `table/x` for `table/x/stream/*`. `name` names a policy by its
/// index in `policies`.
fn table_only(
    policies: &[&PolicyDocument],
    action: &str,
    stream: &StreamArn,
    name: &dyn Fn(usize) -> String,
) -> Vec<String> {
    let table = stream.table_arn().to_string();
    let stream = stream.to_string();
    let mut found = Vec::new();
    for (number, policy) in policies.iter().enumerate() {
        for (index, statement) in policy.statements().iter().enumerate() {
            if statement.effect != Effect::Allow || !allows_action(statement, action) {
                continue;
            }
            for pattern in statement.resource.iter().flat_map(|r| r.iter()) {
                if resource_matches(pattern, &table) && !resource_matches(pattern, &stream) {
                    let label = statement_label(index, statement);
                    found.push(format!("{} {label} names {pattern}", name(number)));
                }
            }
        }
    }
    found
}

/// Whether a policy principal covers `role` (its ARN, its account or
/// `*`), so that a statement naming it failed on something else: its
/// conditions.
fn names_role(principal: &str, role: &RoleArn) -> bool {
    let account = role.account();
    principal == "*"
        || principal == role.to_string()
        || principal == account.to_string()
        || principal == account.root_arn().to_string()
}

/// Whether a policy principal is a session of `role`.
fn names_session_of(principal: &str, role: &RoleArn) -> bool {
    principal.starts_with(&format!(
        "arn:{}:sts::{}:assumed-role/{}/",
        role.partition(),
        role.account(),
        role.name()
    ))
}

/// The AWS principals the statements name (`*` for everyone).
fn principals_of(statements: &[(usize, &Statement)]) -> Vec<String> {
    let mut named = Vec::new();
    for (_, statement) in statements {
        match &statement.principal {
            Some(Principals::Everyone) => named.push("*".to_owned()),
            Some(principals) => {
                named.extend(
                    principals
                        .of_type(PrincipalType::Aws)
                        .map(ToOwned::to_owned),
                );
            }
            None => {}
        }
    }
    named.dedup();
    named
}

/// What an error message names: the role (from an assumed-role session or
/// a role ARN), the stream and the action.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DenialSubjects {
    /// The role.
    pub role: Option<RoleArn>,
    /// The stream.
    pub stream: Option<StreamArn>,
    /// The action, e.g. `dynamodb:GetRecords`.
    pub action: Option<String>,
    /// Why AWS denied, from `because ...` or `with an explicit deny ...`
    /// to the end of the message.
    pub reason: Option<String>,
}

/// Reads the role, stream and action out of an AccessDenied message
/// (`User: arn:aws:sts::A:assumed-role/ROLE/SESSION is not authorized to
/// perform: dynamodb:GetRecords on resource: STREAM ...`) or Lambda's
/// `Cannot access stream STREAM. Please ensure the role can perform ...`.
pub fn parse_denial(message: &str) -> DenialSubjects {
    let reason = [" because ", " with an explicit deny "]
        .iter()
        .filter_map(|marker| message.find(marker))
        .min()
        .and_then(|at| message.get(at..))
        .map(|tail| tail.trim().trim_end_matches('.').to_owned());
    let mut subjects = DenialSubjects {
        reason,
        ..DenialSubjects::default()
    };
    for raw in message.split_whitespace() {
        let token = raw.trim_matches(|c: char| matches!(c, ',' | ';' | '"' | '\'' | '(' | ')'));
        // A sentence may end right after an ARN: try without its full stop first.
        let candidates = [token.strip_suffix('.').unwrap_or(token), token];
        for candidate in candidates {
            if subjects.stream.is_none()
                && let Ok(stream) = candidate.parse::<StreamArn>()
            {
                subjects.stream = Some(stream);
                break;
            }
            if subjects.role.is_none() {
                if let Ok(session) = candidate.parse::<AssumedRoleArn>() {
                    subjects.role = Some(session.role_arn());
                    break;
                }
                if let Ok(role) = candidate.parse::<RoleArn>() {
                    subjects.role = Some(role);
                    break;
                }
            }
        }
        if subjects.action.is_none()
            && let Some((service, action)) = token.split_once(':')
            && service == "dynamodb"
            && !action.is_empty()
            && action.chars().all(|c| c.is_ascii_alphabetic())
        {
            subjects.action = Some(token.to_owned());
        }
    }
    subjects
}

/// Kinds of policy an AccessDenied may blame that doctor cannot read.
const INVISIBLE_POLICY_KINDS: [&str; 4] = [
    "service control policy",
    "resource control policy",
    "session policy",
    "VPC endpoint policy",
];

/// Explains an error message: the role and stream are read from it (a
/// "Cannot access stream" message names no role, so pass `role`), then
/// [`doctor`] fetches and diagnoses.
pub async fn explain(
    accounts: &Accounts,
    message: &str,
    role: Option<&RoleArn>,
    customer_managed_keys: &[String],
) -> Result<Diagnosis, ProvisionError> {
    let subjects = parse_denial(message);
    let role =
        role.cloned()
            .or(subjects.role)
            .ok_or_else(|| ProvisionError::UnexplainedMessage {
                missing: "role",
                message: message.to_owned(),
            })?;
    let stream = subjects
        .stream
        .ok_or_else(|| ProvisionError::UnexplainedMessage {
            missing: "stream",
            message: message.to_owned(),
        })?;
    let mut diagnosis = doctor(accounts, &role, &stream, customer_managed_keys).await?;
    let invisible = subjects.reason.as_deref().and_then(|reason| {
        INVISIBLE_POLICY_KINDS
            .iter()
            .find(|kind| reason.contains(*kind))
            .map(|kind| Finding::DeniedWhereDoctorCannotSee {
                kind: (*kind).to_owned(),
                reason: reason.to_owned(),
            })
    });
    if let Some(finding) = invisible {
        diagnosis.findings.insert(0, finding);
    } else if diagnosis.is_healthy() {
        diagnosis.findings.push(Finding::DenialNotReproduced {
            reason: subjects.reason,
        });
    }
    Ok(diagnosis)
}

/// Fetches the role's identity policies (inline and attached) from its
/// account, the stream's policy and the table from the stream's account,
/// and diagnoses. Only read calls are made.
pub async fn doctor(
    accounts: &Accounts,
    role: &RoleArn,
    stream: &StreamArn,
    customer_managed_keys: &[String],
) -> Result<Diagnosis, ProvisionError> {
    let consumer = clients_of(accounts, role.account())?;
    let source = clients_of(accounts, stream.account())?;
    let policies = read_role_policies(consumer, role).await?;
    let table = read_table(source, stream.account(), stream.table_name()).await?;
    let stream_policy = read_resource_policy(source, &stream.to_string())
        .await?
        .map(|p| p.document);
    let role_missing = policies.is_none();
    let policies = policies.unwrap_or_else(|| RolePolicies {
        role: role.clone(),
        identity: Vec::new(),
        names: Vec::new(),
        boundary: None,
    });
    let mut diagnosis = diagnose(&DoctorInput {
        role: policies.role,
        stream: stream.clone(),
        consumer_region: consumer.region.clone(),
        identity_policies: policies.identity,
        identity_policy_names: policies.names,
        permissions_boundary: policies.boundary,
        stream_policy,
        table,
        customer_managed_keys: customer_managed_keys.to_vec(),
    })?;
    if role_missing {
        diagnosis
            .findings
            .insert(0, Finding::RoleMissing { role: role.clone() });
    }
    Ok(diagnosis)
}

/// A role's policies as IAM holds them.
#[derive(Debug, Clone)]
pub(crate) struct RolePolicies {
    /// The role's ARN as IAM has it, path included.
    pub(crate) role: RoleArn,
    /// Its inline and attached policies.
    pub(crate) identity: Vec<PolicyDocument>,
    /// Their names: an inline policy's name, a managed policy's ARN.
    pub(crate) names: Vec<String>,
    /// Its permissions boundary.
    pub(crate) boundary: Option<PolicyDocument>,
}

/// Reads the role's ARN (with its path), its inline and attached policies
/// and its permissions boundary; `None` when there is no such role. Read
/// calls only.
pub(crate) async fn read_role_policies(
    consumer: &crate::clients::AccountClients,
    role: &RoleArn,
) -> Result<Option<RolePolicies>, ProvisionError> {
    // The role as IAM has it: a role ARN read from a session ARN lacks the
    // role's path, which a policy naming the role spells out.
    let answer = consumer.iam.get_role().role_name(role.name()).send().await;
    let Some(described) = unless_not_found(answer, "GetRole", role.to_string())? else {
        return Ok(None);
    };
    let iam_role = described.role();
    let role = match iam_role.map(|r| r.arn().parse::<RoleArn>()) {
        Some(Ok(arn)) if arn.account() == role.account() && arn.name() == role.name() => arn,
        _ => role.clone(),
    };
    let boundary = match iam_role
        .and_then(|r| r.permissions_boundary())
        .and_then(|b| b.permissions_boundary_arn())
    {
        Some(arn) => read_managed_policy(consumer, arn).await?,
        None => None,
    };
    let mut identity = Vec::new();
    let mut policy_names = Vec::new();
    let names = consumer
        .iam
        .list_role_policies()
        .role_name(role.name())
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("ListRolePolicies", role.to_string()))?;
    for name in names.policy_names() {
        if let Some(text) = crate::read::read_inline_policy(consumer, role.name(), name).await? {
            identity.push(parse_policy(&text, &format!("{role} policy {name}"))?);
            policy_names.push(name.clone());
        }
    }
    let attached = consumer
        .iam
        .list_attached_role_policies()
        .role_name(role.name())
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("ListAttachedRolePolicies", role.to_string()))?;
    for policy in attached.attached_policies() {
        let Some(arn) = policy.policy_arn() else {
            continue;
        };
        if let Some(document) = read_managed_policy(consumer, arn).await? {
            identity.push(document);
            policy_names.push(arn.to_owned());
        }
    }
    Ok(Some(RolePolicies {
        role,
        identity,
        names: policy_names,
        boundary,
    }))
}

/// The default version of the managed policy `arn`, or `None` when it has
/// none.
async fn read_managed_policy(
    consumer: &crate::clients::AccountClients,
    arn: &str,
) -> Result<Option<PolicyDocument>, ProvisionError> {
    let described = consumer
        .iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("GetPolicy", arn.to_owned()))?;
    let Some(version) = described.policy().and_then(|p| p.default_version_id()) else {
        return Ok(None);
    };
    let document = consumer
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("GetPolicyVersion", arn.to_owned()))?;
    match document.policy_version().and_then(|v| v.document()) {
        Some(text) => Ok(Some(parse_policy(text, arn)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(message: &str, expected: Expect) {
        let subjects = parse_denial(message);
        let actual = format!(
            "role {}\nstream {}\naction {}\nreason {}\n",
            subjects.role.map_or("-".to_owned(), |r| r.to_string()),
            subjects.stream.map_or("-".to_owned(), |s| s.to_string()),
            subjects.action.unwrap_or_else(|| "-".to_owned()),
            subjects.reason.unwrap_or_else(|| "-".to_owned()),
        );
        expected.assert_eq(&actual);
    }

    #[test]
    fn access_denied_names_the_session_stream_and_action() {
        check(
            "User: arn:aws:sts::111111111111:assumed-role/billing-consumer/esm is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action",
            expect![[r#"
                role arn:aws:iam::111111111111:role/billing-consumer
                stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000
                action dynamodb:GetRecords
                reason because no resource-based policy allows the dynamodb:GetRecords action
            "#]],
        );
    }

    #[test]
    fn access_denied_reasons_are_read_verbatim() {
        for tail in [
            "with an explicit deny in a resource-based policy",
            "with an explicit deny in an identity-based policy",
            "because no identity-based policy allows the dynamodb:GetShardIterator action",
            "with an explicit deny in a service control policy",
        ] {
            let message = format!(
                "User: arn:aws:sts::111111111111:assumed-role/billing-consumer/esm is not authorized to perform: dynamodb:GetShardIterator on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 {tail}"
            );
            let subjects = parse_denial(&message);
            assert_eq!(subjects.reason.as_deref(), Some(tail), "{message}");
            assert_eq!(
                subjects.action.as_deref(),
                Some("dynamodb:GetShardIterator")
            );
            assert_eq!(
                subjects.role.map(|r| r.to_string()).as_deref(),
                Some("arn:aws:iam::111111111111:role/billing-consumer")
            );
        }
    }

    #[test]
    fn cannot_access_stream_names_the_stream_only() {
        check(
            "Cannot access stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.",
            expect![[r#"
                role -
                stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000
                action -
                reason -
            "#]],
        );
        check(
            "something else entirely",
            expect![[r#"
                role -
                stream -
                action -
                reason -
            "#]],
        );
    }

    #[test]
    fn diagnose_without_a_server() {
        let stream: StreamArn = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse().unwrap();
        let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer"
            .parse()
            .unwrap();
        let healthy = DoctorInput {
            role: role.clone(),
            stream: stream.clone(),
            consumer_region: Some("eu-west-1".to_owned()),
            identity_policies: vec![
                streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream).build(),
            ],
            identity_policy_names: Vec::new(),
            permissions_boundary: None,
            stream_policy: Some(
                streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &role).build(),
            ),
            table: None,
            customer_managed_keys: Vec::new(),
        };
        let diagnosis = diagnose(&healthy).unwrap();
        expect![[r#"
            - table arn:aws:dynamodb:eu-west-1:222222222222:table/documents does not exist: the stream ARN names a table deleted since, or one in another account or region
              dynamodb:DescribeStream: Allow: dynamodb:DescribeStream is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStreams"); resource-based policy statement 0 (Sid "AllowCrossAccountStreamRead")
              dynamodb:GetRecords: Allow: dynamodb:GetRecords is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStreams"); resource-based policy statement 0 (Sid "AllowCrossAccountStreamRead")
              dynamodb:GetShardIterator: Allow: dynamodb:GetShardIterator is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStreams"); resource-based policy statement 0 (Sid "AllowCrossAccountStreamRead")
        "#]]
        .assert_eq(&diagnosis.to_string());
        let mut denied = healthy;
        let mut deny = streamgate_policy::document::Statement::new(Effect::Deny);
        deny.action = Some(streamgate_policy::document::OneOrMany::One(
            "dynamodb:GetRecords".to_owned(),
        ));
        deny.resource = Some(streamgate_policy::document::OneOrMany::One("*".to_owned()));
        denied.identity_policies.push(PolicyDocument::new(
            Some(streamgate_policy::document::PolicyVersion::V2012_10_17),
            streamgate_policy::document::OneOrMany::Many(vec![deny]),
        ));
        let findings: String = diagnose(&denied)
            .unwrap()
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect();
        expect![[r#"
            table arn:aws:dynamodb:eu-west-1:222222222222:table/documents does not exist: the stream ARN names a table deleted since, or one in another account or region
            the role's identity policy denies dynamodb:GetRecords in identity-based policy 1 statement 0: ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in an identity-based policy: identity-based policy 1 statement 0; remove that statement or narrow it so that it no longer matches this role reading the stream
        "#]]
        .assert_eq(&findings);
    }

    #[test]
    fn diagnose_a_customer_managed_key_the_role_may_not_decrypt_with() {
        let stream: StreamArn = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse().unwrap();
        let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer"
            .parse()
            .unwrap();
        let key = "arn:aws:kms:eu-west-1:222222222222:key/1234";
        let input = |identity: PolicyDocument| DoctorInput {
            role: role.clone(),
            stream: stream.clone(),
            consumer_region: Some("eu-west-1".to_owned()),
            identity_policies: vec![identity],
            identity_policy_names: Vec::new(),
            permissions_boundary: None,
            stream_policy: Some(
                streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &role).build(),
            ),
            table: Some(ObservedTable {
                arn: stream.table_arn().to_string(),
                status: "ACTIVE".to_owned(),
                stream: Some(crate::observed::ObservedStream {
                    arn: stream.clone(),
                    view_type: Some(crate::spec::StreamViewType::NewAndOldImages),
                }),
                kms_key_arn: Some(key.to_owned()),
            }),
            customer_managed_keys: vec![key.to_owned()],
        };
        let builder = streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream);
        let findings: String = diagnose(&input(builder.build()))
            .unwrap()
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect();
        expect![[r#"
            the table is encrypted with customer managed key arn:aws:kms:eu-west-1:222222222222:key/1234 and the role's identity policy does not allow kms:Decrypt with it; the key policy in the table's account must allow the role too
        "#]]
        .assert_eq(&findings);
        let granted = builder.kms_key(key.parse().unwrap()).build();
        assert!(diagnose(&input(granted)).unwrap().is_healthy());
    }

    fn stream_and_role() -> (StreamArn, RoleArn) {
        let stream: StreamArn = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse().unwrap();
        let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer"
            .parse()
            .unwrap();
        (stream, role)
    }

    /// The findings of a diagnosis of `role` reading `stream` with the
    /// given policies (JSON), the table present with the stream enabled.
    fn findings_of(identity: &str, stream_policy: &str) -> String {
        findings_with_boundary(identity, None, stream_policy)
    }

    /// [`findings_of`] with a permissions boundary on the role.
    fn findings_with_boundary(
        identity: &str,
        boundary: Option<&str>,
        stream_policy: &str,
    ) -> String {
        let (stream, role) = stream_and_role();
        let input = DoctorInput {
            role,
            stream: stream.clone(),
            consumer_region: Some("eu-west-1".to_owned()),
            identity_policies: vec![PolicyDocument::parse(identity).unwrap()],
            identity_policy_names: vec!["read".to_owned()],
            permissions_boundary: boundary.map(|b| PolicyDocument::parse(b).unwrap()),
            stream_policy: Some(PolicyDocument::parse(stream_policy).unwrap()),
            table: Some(ObservedTable {
                arn: stream.table_arn().to_string(),
                status: "ACTIVE".to_owned(),
                stream: Some(crate::observed::ObservedStream {
                    arn: stream.clone(),
                    view_type: Some(crate::spec::StreamViewType::NewAndOldImages),
                }),
                kms_key_arn: None,
            }),
            customer_managed_keys: Vec::new(),
        };
        diagnose(&input)
            .unwrap()
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect()
    }

    const STREAM_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"}]}"#;

    #[test]
    fn diagnose_an_identity_policy_without_list_streams() {
        let reads_only = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/*"}]}"#;
        expect![[r#"
            the role's identity policy does not allow dynamodb:ListStreams on "*", which Lambda checks when it creates the event source mapping; add an allow of dynamodb:ListStreams on resource "*" to the role's identity policy (the stream's policy cannot carry it): ImplicitDeny: dynamodb:ListStreams is denied (same-account) because no identity-based policy allows the dynamodb:ListStreams action
        "#]]
        .assert_eq(&findings_of(reads_only, STREAM_POLICY));
        let with_list = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/*"},{"Sid":"List","Effect":"Allow","Action":"dynamodb:ListStreams","Resource":"*"}]}"#;
        expect![[""]].assert_eq(&findings_of(with_list, STREAM_POLICY));
    }

    #[test]
    fn diagnose_a_stream_policy_naming_a_deleted_role_by_its_unique_id() {
        let identity =
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream_and_role().0)
                .build()
                .to_json();
        let orphaned = STREAM_POLICY.replace(
            "arn:aws:iam::111111111111:role/billing-consumer",
            "AROA4EXAMPLEUNIQUEID7",
        );
        expect![[r#"
            the stream's resource policy names principal AROA4EXAMPLEUNIQUEID7, a unique id: IAM writes it in place of a role or user that was deleted, and a role created again with the same name has a new id; replace AROA4EXAMPLEUNIQUEID7 with arn:aws:iam::111111111111:role/billing-consumer in the stream's resource policy
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:DescribeStream to AROA4EXAMPLEUNIQUEID7 but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:GetRecords to AROA4EXAMPLEUNIQUEID7 but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:GetShardIterator to AROA4EXAMPLEUNIQUEID7 but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
        "#]]
        .assert_eq(&findings_of(&identity, &orphaned));
    }

    #[test]
    fn diagnose_a_permissions_boundary_that_denies_or_does_not_allow() {
        let identity =
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream_and_role().0)
                .build()
                .to_json();
        let logs_only = r#"{"Version":"2012-10-17","Statement":[{"Sid":"LogsOnly","Effect":"Allow","Action":["logs:*","dynamodb:ListStreams"],"Resource":"*"}]}"#;
        expect![[r#"
            the permissions boundary of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) does not allow dynamodb:DescribeStream on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add dynamodb:DescribeStream on the stream to the boundary
            the permissions boundary of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) does not allow dynamodb:GetRecords on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add dynamodb:GetRecords on the stream to the boundary
            the permissions boundary of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) does not allow dynamodb:GetShardIterator on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add dynamodb:GetShardIterator on the stream to the boundary
        "#]].assert_eq(&findings_with_boundary(&identity, Some(logs_only), STREAM_POLICY));
        let denies = r#"{"Version":"2012-10-17","Statement":[{"Sid":"All","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"NoRecords","Effect":"Deny","Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
        expect![[r#"
            the role's permissions boundary denies dynamodb:GetRecords in the permissions boundary statement 1 (Sid "NoRecords"): ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in a permissions boundary: permissions boundary statement 1 (Sid "NoRecords"); remove that statement or narrow it so that it no longer matches this role reading the stream
        "#]].assert_eq(&findings_with_boundary(&identity, Some(denies), STREAM_POLICY));
    }

    #[test]
    fn diagnose_a_public_stream_policy_whose_condition_does_not_hold() {
        let identity =
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream_and_role().0)
                .build()
                .to_json();
        let org_only = STREAM_POLICY
            .replace(
                r#"{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"}"#,
                r#""*""#,
            )
            .replace(
                r#""Resource""#,
                r#""Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-example"}},"Resource""#,
            );
        expect![[r#"
            the stream's resource policy names arn:aws:iam::111111111111:role/billing-consumer (or its account, or "*") for dynamodb:DescribeStream in statement 0 (Sid "Read"), but its conditions on aws:PrincipalOrgID did not hold when evaluated offline, without the request's context; check that the role's session meets them (aws:PrincipalOrgID needs both accounts in that organization)
            the stream's resource policy names arn:aws:iam::111111111111:role/billing-consumer (or its account, or "*") for dynamodb:GetRecords in statement 0 (Sid "Read"), but its conditions on aws:PrincipalOrgID did not hold when evaluated offline, without the request's context; check that the role's session meets them (aws:PrincipalOrgID needs both accounts in that organization)
            the stream's resource policy names arn:aws:iam::111111111111:role/billing-consumer (or its account, or "*") for dynamodb:GetShardIterator in statement 0 (Sid "Read"), but its conditions on aws:PrincipalOrgID did not hold when evaluated offline, without the request's context; check that the role's session meets them (aws:PrincipalOrgID needs both accounts in that organization)
        "#]].assert_eq(&findings_of(&identity, &org_only));
    }

    #[test]
    fn diagnose_resources_that_match_the_table_but_not_its_stream() {
        let table_only = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Reads","Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents"},{"Effect":"Allow","Action":"dynamodb:ListStreams","Resource":"*"}]}"#;
        expect![[r#"
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:DescribeStream on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add an Allow of dynamodb:DescribeStream on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy; identity policy "read" statement 0 (Sid "Reads") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetRecords on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add an Allow of dynamodb:GetRecords on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy; identity policy "read" statement 0 (Sid "Reads") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetShardIterator on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000; add an Allow of dynamodb:GetShardIterator on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy; identity policy "read" statement 0 (Sid "Reads") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
        "#]].assert_eq(&findings_of(table_only, STREAM_POLICY));
        let identity =
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream_and_role().0)
                .build()
                .to_json();
        let stream_policy_on_table = STREAM_POLICY.replace(
            "table/documents/stream/2024-05-01T12:00:00.000",
            "table/documents",
        );
        expect![[r#"
            no statement of the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:DescribeStream to arn:aws:iam::111111111111:role/billing-consumer; add dynamodb:DescribeStream for principal arn:aws:iam::111111111111:role/billing-consumer to it; the stream's resource policy statement 0 (Sid "Read") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
            no statement of the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:GetRecords to arn:aws:iam::111111111111:role/billing-consumer; add dynamodb:GetRecords for principal arn:aws:iam::111111111111:role/billing-consumer to it; the stream's resource policy statement 0 (Sid "Read") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
            no statement of the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 (account 222222222222) allows dynamodb:GetShardIterator to arn:aws:iam::111111111111:role/billing-consumer; add dynamodb:GetShardIterator for principal arn:aws:iam::111111111111:role/billing-consumer to it; the stream's resource policy statement 0 (Sid "Read") names arn:aws:dynamodb:eu-west-1:222222222222:table/documents, which matches the table but not its stream (a stream's ARN is the table's followed by /stream/LABEL)
        "#]].assert_eq(&findings_of(&identity, &stream_policy_on_table));
    }

    #[test]
    fn diagnose_a_stream_policy_naming_one_session_of_the_role() {
        let identity =
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream_and_role().0)
                .build()
                .to_json();
        let session_only = STREAM_POLICY.replace(
            "arn:aws:iam::111111111111:role/billing-consumer",
            "arn:aws:sts::111111111111:assumed-role/billing-consumer/someone",
        );
        expect![[r#"
            the stream's resource policy allows dynamodb:DescribeStream only to the session arn:aws:sts::111111111111:assumed-role/billing-consumer/someone of the role, and the session that reads is named by whoever assumes the role (Lambda picks its own name); name the role arn:aws:iam::111111111111:role/billing-consumer as the principal instead
            the stream's resource policy allows dynamodb:GetRecords only to the session arn:aws:sts::111111111111:assumed-role/billing-consumer/someone of the role, and the session that reads is named by whoever assumes the role (Lambda picks its own name); name the role arn:aws:iam::111111111111:role/billing-consumer as the principal instead
            the stream's resource policy allows dynamodb:GetShardIterator only to the session arn:aws:sts::111111111111:assumed-role/billing-consumer/someone of the role, and the session that reads is named by whoever assumes the role (Lambda picks its own name); name the role arn:aws:iam::111111111111:role/billing-consumer as the principal instead
        "#]].assert_eq(&findings_of(&identity, &session_only));
    }
}
