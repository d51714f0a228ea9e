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
use crate::read::{clients_of, parse_policy, read_resource_policy, read_table};
use std::fmt;
use streamgate_policy::arn::{AssumedRoleArn, RoleArn, StreamArn};
use streamgate_policy::builders::STREAM_READ_ACTIONS;
use streamgate_policy::document::{Effect, PolicyDocument, PrincipalType, Principals};
use streamgate_policy::eval::{Outcome, PolicyKind, PolicySet, Principal, Request, evaluate};
use streamgate_policy::pattern::{action_matches, arn_matches};

/// Which of the two policies a finding is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicySide {
    /// The execution role's identity policies (consumer account).
    Identity,
    /// The stream's resource policy (source account).
    Stream,
}

impl fmt::Display for PolicySide {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Identity => "the role's identity policy",
            Self::Stream => "the stream's resource policy",
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
    TableMissing,
    /// The table's stream is disabled.
    StreamDisabled,
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
    /// The stream has no resource policy at all.
    NoStreamPolicy,
    /// The stream's policy allows the action to other principals only.
    WrongPrincipal {
        /// The action.
        action: String,
        /// The principals it names instead.
        named: Vec<String>,
    },
    /// No statement of a policy allows the action on the stream.
    MissingStatement {
        /// Which policy.
        side: PolicySide,
        /// The action.
        action: String,
    },
    /// A statement explicitly denies the action.
    ExplicitDeny {
        /// Which policy.
        side: PolicySide,
        /// The action.
        action: String,
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
                "region mismatch: the consumer is in {consumer_region}, the stream in {stream_region}; cross-account stream access works within one region only"
            ),
            Self::TableMissing => f.write_str("the table does not exist"),
            Self::StreamDisabled => f.write_str("the table's stream is disabled"),
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
                "{side} names an old stream {named}; the latest is {latest}"
            ),
            Self::AwsManagedKey { key } => write!(
                f,
                "the table is encrypted with KMS key {key}, not declared customer managed; tables encrypted with the AWS managed key cannot be read across accounts"
            ),
            Self::KeyNotGranted { key } => write!(
                f,
                "the table is encrypted with customer managed key {key} and the role's identity policy does not allow kms:Decrypt with it; the key policy in the table's account must allow the role too"
            ),
            Self::NoStreamPolicy => f.write_str("the stream has no resource policy"),
            Self::WrongPrincipal { action, named } => write!(
                f,
                "the stream's resource policy allows {action} to {} but not to this role",
                named.join(", ")
            ),
            Self::MissingStatement { side, action } => {
                write!(f, "no statement of {side} allows {action} on the stream")
            }
            Self::ExplicitDeny {
                side,
                action,
                explanation,
            } => write!(f, "{side} denies {action}: {explanation}"),
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
            writeln!(f, "healthy: the role can read the stream")?;
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
        None => findings.push(Finding::TableMissing),
        Some(table) => {
            match &table.stream {
                None => findings.push(Finding::StreamDisabled),
                Some(current) => {
                    if current.view_type.is_none() {
                        findings.push(Finding::StreamDisabled);
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
        findings.push(Finding::NoStreamPolicy);
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
        let mut identity = PolicySet::new().with_resource_owner(input.role.account().clone());
        for policy in &input.identity_policies {
            identity = identity.with_identity(policy);
        }
        let request = Request::new(principal.clone(), "kms:Decrypt", key.clone());
        if evaluate(&request, &identity).outcome() != Outcome::Allow {
            findings.push(Finding::KeyNotGranted { key: key.clone() });
        }
    }
    let mut policies = PolicySet::new().with_resource_owner(input.stream.account().clone());
    for policy in &input.identity_policies {
        policies = policies.with_identity(policy);
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
                explanation: decision.to_string(),
            }),
            Outcome::ImplicitDeny => {
                let side = side_of(decision.missing_allow());
                if side == PolicySide::Stream {
                    let Some(policy) = &input.stream_policy else {
                        continue;
                    };
                    let named = principals_allowed(policy, action);
                    if named.is_empty() {
                        findings.push(Finding::MissingStatement {
                            side,
                            action: action.to_owned(),
                        });
                    } else {
                        findings.push(Finding::WrongPrincipal {
                            action: action.to_owned(),
                            named,
                        });
                    }
                } else {
                    findings.push(Finding::MissingStatement {
                        side,
                        action: action.to_owned(),
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
        _ => PolicySide::Identity,
    }
}

/// The AWS principals an allowing statement of `policy` names for `action`.
fn principals_allowed(policy: &PolicyDocument, action: &str) -> Vec<String> {
    let mut named = Vec::new();
    for statement in policy.statements() {
        let allows_action = statement.effect == Effect::Allow
            && statement
                .action
                .iter()
                .flat_map(|a| a.iter())
                .any(|pattern| action_matches(pattern, action));
        if !allows_action {
            continue;
        }
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
}

/// Reads the role, stream and action out of an AccessDenied message
/// (`User: arn:aws:sts::A:assumed-role/ROLE/SESSION is not authorized to
/// perform: dynamodb:GetRecords on resource: STREAM ...`) or Lambda's
/// `Cannot access stream STREAM. Please ensure the role can perform ...`.
pub fn parse_denial(message: &str) -> DenialSubjects {
    let mut subjects = DenialSubjects::default();
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
    doctor(accounts, &role, &stream, customer_managed_keys).await
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
    let mut identity_policies = Vec::new();
    let names = consumer
        .iam
        .list_role_policies()
        .role_name(role.name())
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("ListRolePolicies", role.to_string()))?;
    for name in names.policy_names() {
        if let Some(text) = crate::read::read_inline_policy(consumer, role.name(), name).await? {
            identity_policies.push(parse_policy(&text, &format!("{role} policy {name}"))?);
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
        let described = consumer
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("GetPolicy", arn.to_owned()))?;
        let Some(version) = described.policy().and_then(|p| p.default_version_id()) else {
            continue;
        };
        let document = consumer
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("GetPolicyVersion", arn.to_owned()))?;
        if let Some(text) = document.policy_version().and_then(|v| v.document()) {
            identity_policies.push(parse_policy(text, arn)?);
        }
    }
    let table = read_table(source, stream.account(), stream.table_name()).await?;
    let stream_policy = read_resource_policy(source, &stream.to_string())
        .await?
        .map(|p| p.document);
    diagnose(&DoctorInput {
        role: role.clone(),
        stream: stream.clone(),
        consumer_region: consumer.region.clone(),
        identity_policies,
        stream_policy,
        table,
        customer_managed_keys: customer_managed_keys.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(message: &str, expected: Expect) {
        let subjects = parse_denial(message);
        let actual = format!(
            "role {}\nstream {}\naction {}\n",
            subjects.role.map_or("-".to_owned(), |r| r.to_string()),
            subjects.stream.map_or("-".to_owned(), |s| s.to_string()),
            subjects.action.unwrap_or_else(|| "-".to_owned()),
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
            "#]],
        );
    }

    #[test]
    fn cannot_access_stream_names_the_stream_only() {
        check(
            "Cannot access stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM.",
            expect![[r#"
                role -
                stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000
                action -
            "#]],
        );
        check(
            "something else entirely",
            expect![[r#"
                role -
                stream -
                action -
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
            stream_policy: Some(
                streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &role).build(),
            ),
            table: None,
            customer_managed_keys: Vec::new(),
        };
        let diagnosis = diagnose(&healthy).unwrap();
        expect![[r#"
            - the table does not exist
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
            the table does not exist
            the role's identity policy denies dynamodb:GetRecords: ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in an identity-based policy: identity-based policy 1 statement 0
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
}
