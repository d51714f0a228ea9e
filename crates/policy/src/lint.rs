//! Lints for policy documents, by the kind of policy a document is meant to
//! be: Access Analyzer-like checks plus the rules DynamoDB applies to table
//! and stream resource policies.
//!
//! Each [`Finding`] has a stable [`LintCode`] (tools may match on it), a
//! [`Severity`], a message and the JSON path of the offending element.
//! Linting never fails: a document that parses gets a list of findings,
//! possibly empty.
//!
//! ```
//! use streamgate_policy::lint::{lint_text, PolicyType, Severity};
//! let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/c"},
//!     "Action":"dynamodb:ListStreams","Resource":"*"}]}"#;
//! let findings = lint_text(text, PolicyType::Stream, None)?;
//! assert_eq!(findings[0].code.as_str(), "LIST_STREAMS_IN_STREAM_POLICY");
//! assert_eq!(findings[0].severity, Severity::Error);
//! # Ok::<(), streamgate_policy::document::PolicyParseError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use crate::arn::Arn;
use crate::builders::STREAM_READ_ACTIONS;
use crate::condition::takes_variables;
use crate::document::{
    ConditionValue, Effect, OneOrMany, OperatorKind, PolicyDocument, PolicyParseError,
    PolicyVersion, PrincipalType, Principals, SetQualifier, Statement,
};
use crate::json::JsonPath;
use crate::pattern::{action_matches, resource_matches, resource_part_start};

/// DynamoDB's limit on a resource policy, in bytes, whitespace counted.
pub const DYNAMODB_POLICY_LIMIT_BYTES: usize = 20 * 1024;

/// IAM's limit on a role's inline policies together, in characters,
/// whitespace not counted ("IAM and AWS STS quotas"); one inline policy can
/// be no larger.
pub const IAM_ROLE_INLINE_POLICIES_LIMIT: usize = 10_240;

/// IAM's limit on a managed policy, in characters, whitespace not counted.
pub const IAM_MANAGED_POLICY_LIMIT: usize = 6_144;

/// IAM's default quota on a role's trust policy, in characters, whitespace
/// not counted (it can be raised to 4,096).
pub const IAM_TRUST_POLICY_LIMIT: usize = 2_048;

/// The size IAM counts against its limits: characters, whitespace not
/// counted.
pub fn iam_policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// What a document is meant to be, which decides the rules that apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// An identity-based policy attached to a role (or user, group).
    Identity,
    /// A role's trust policy.
    Trust,
    /// A DynamoDB table's resource policy.
    Table,
    /// A DynamoDB stream's resource policy.
    Stream,
}

impl PolicyType {
    /// `identity`, `trust`, `table` or `stream`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity",
            PolicyType::Trust => "trust",
            PolicyType::Table => "table",
            PolicyType::Stream => "stream",
        }
    }
    fn with_article(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity policy",
            PolicyType::Trust => "a trust policy",
            PolicyType::Table => "a table policy",
            PolicyType::Stream => "a stream policy",
        }
    }
    fn is_resource_policy(self) -> bool {
        !matches!(self, PolicyType::Identity)
    }
    fn is_dynamodb(self) -> bool {
        matches!(self, PolicyType::Table | PolicyType::Stream)
    }
}

/// The text is not one of the policy types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown policy type {0:?}: expected identity, trust, table or stream")]
pub struct UnknownPolicyType(pub String);

impl FromStr for PolicyType {
    type Err = UnknownPolicyType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "identity" => Ok(PolicyType::Identity),
            "trust" => Ok(PolicyType::Trust),
            "table" => Ok(PolicyType::Table),
            "stream" => Ok(PolicyType::Stream),
            _ => Err(UnknownPolicyType(s.to_owned())),
        }
    }
}

/// How bad a finding is, in Access Analyzer's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Severity {
    /// The policy is rejected or cannot work as written.
    Error,
    /// The policy grants more than it probably means to.
    SecurityWarning,
    /// The policy works but something in it is likely a mistake.
    Warning,
    /// A better way to write the same thing.
    Suggestion,
}

impl Severity {
    /// `error`, `security-warning`, `warning` or `suggestion`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::SecurityWarning => "security-warning",
            Severity::Warning => "warning",
            Severity::Suggestion => "suggestion",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! lint_codes {
    ($($(#[$doc:meta])* $name:ident => $text:literal,)*) => {
        /// The stable code of a finding.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum LintCode {
            $($(#[$doc])* $name,)*
        }
        impl LintCode {
            /// Every code, for documentation and tests.
            pub const ALL: &'static [LintCode] = &[$(LintCode::$name,)*];
            /// The code as printed, e.g. `MISSING_VERSION`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(LintCode::$name => $text,)*
                }
            }
        }
    };
}

lint_codes! {
    /// The document has no `Version`, so policy variables are not substituted.
    MissingVersion => "MISSING_VERSION",
    /// The document uses the old version 2008-10-17.
    OldVersion => "OLD_VERSION",
    /// `${...}` appears under a version that does not substitute it.
    VariablesNeedNewVersion => "VARIABLES_NEED_2012_VERSION",
    /// `${...}` appears where IAM does not substitute it: in an ARN before
    /// the resource part, or in a condition operator other than the String
    /// and ARN ones.
    VariableNotSubstituted => "VARIABLE_NOT_SUBSTITUTED",
    /// A resource pattern has a wildcard in its service segment, which IAM
    /// does not allow.
    WildcardInServiceSegment => "WILDCARD_IN_SERVICE_SEGMENT",
    /// An identity-based policy names a principal.
    PrincipalInIdentityPolicy => "PRINCIPAL_IN_IDENTITY_POLICY",
    /// An identity-based policy has an `Id`.
    IdInIdentityPolicy => "ID_IN_IDENTITY_POLICY",
    /// A resource or trust policy statement names no principal.
    MissingPrincipal => "MISSING_PRINCIPAL",
    /// A statement names no resource where one is required.
    MissingResource => "MISSING_RESOURCE",
    /// A wildcard principal is allowed without a condition that limits it
    /// to trusted accounts or organizations (DynamoDB blocks such policies).
    PublicAccess => "PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION",
    /// A principal contains `*` without being exactly `*`.
    PartialWildcardPrincipal => "PARTIAL_WILDCARD_PRINCIPAL",
    /// `NotPrincipal` with `Allow`, which AWS does not support.
    AllowWithNotPrincipal => "ALLOW_WITH_NOT_PRINCIPAL",
    /// `NotPrincipal` in a role trust policy, where IAM does not allow it.
    NotPrincipalInTrustPolicy => "NOT_PRINCIPAL_IN_TRUST_POLICY",
    /// A stream policy names `dynamodb:ListStreams`, which has no stream
    /// resource and belongs in the identity policy.
    ListStreamsInStreamPolicy => "LIST_STREAMS_IN_STREAM_POLICY",
    /// A stream policy names an action that is not a stream read.
    NonStreamActionInStreamPolicy => "NON_STREAM_ACTION_IN_STREAM_POLICY",
    /// A stream policy uses a wildcard or `NotAction` instead of the three
    /// stream actions.
    ImpreciseStreamActions => "IMPRECISE_STREAM_ACTIONS",
    /// A table policy names a stream action, which belongs in the stream's
    /// own policy.
    StreamActionInTablePolicy => "STREAM_ACTION_IN_TABLE_POLICY",
    /// A `Resource` can never match the resource the policy is attached to.
    ResourceCannotMatch => "RESOURCE_CANNOT_MATCH",
    /// The document exceeds DynamoDB's 20 KB limit, whitespace counted.
    PolicyTooLarge => "POLICY_TOO_LARGE",
    /// An identity or trust policy exceeds IAM's size limit for its kind,
    /// whitespace not counted.
    IamPolicyTooLarge => "IAM_POLICY_TOO_LARGE",
    /// An identity or trust policy contains a character IAM does not accept
    /// (only tab, LF, CR and U+0020 to U+00FF).
    InvalidCharacter => "INVALID_CHARACTER",
    /// `IfExists` on `Null` has no meaning.
    IfExistsOnNull => "IF_EXISTS_ON_NULL",
    /// `ForAllValues:` on a single-valued key is true when the key is absent.
    ForAllValuesOnSingleValuedKey => "FOR_ALL_VALUES_ON_SINGLE_VALUED_KEY",
    /// The condition operator is not one IAM defines.
    UnknownConditionOperator => "UNKNOWN_CONDITION_OPERATOR",
    /// A principal looks like a unique id (`AROA...`): IAM writes one when
    /// the role it named was deleted.
    UniqueIdPrincipal => "UNIQUE_ID_PRINCIPAL",
    /// The statement list is empty.
    NoStatements => "NO_STATEMENTS",
    /// Two statements share a Sid; IAM requires them to be unique.
    DuplicateSid => "DUPLICATE_SID",
    /// An `Action`, `Resource` or principal list is an empty array, which
    /// IAM rejects.
    EmptyList => "EMPTY_LIST",
    /// `Allow` with `NotAction` grants every other action, including ones
    /// added to AWS later.
    AllowWithNotAction => "ALLOW_WITH_NOT_ACTION",
    /// `Allow` with `NotResource` grants every other resource.
    AllowWithNotResource => "ALLOW_WITH_NOT_RESOURCE",
}

impl fmt::Display for LintCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The stable code.
    pub code: LintCode,
    /// How bad it is.
    pub severity: Severity,
    /// Where it is.
    pub path: JsonPath,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Finding {
    /// `severity code path message`, the CLI's line format.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}",
            self.severity, self.code, self.path, self.message
        )
    }
}

/// Condition keys that limit a wildcard principal to known parties; with
/// one of them a `*` principal is not public (DynamoDB's rule).
const TRUSTED_KEYS: &[&str] = &[
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceOrgID",
    "aws:SourceOrgPaths",
    "aws:SourceOwner",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:userid",
];

/// Global keys that always carry one value; `ForAllValues:` on them is
/// vacuously true when they are absent.
const SINGLE_VALUED_KEYS: &[&str] = &[
    "aws:CurrentTime",
    "aws:EpochTime",
    "aws:MultiFactorAuthAge",
    "aws:MultiFactorAuthPresent",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalOrgID",
    "aws:PrincipalServiceName",
    "aws:PrincipalType",
    "aws:RequestedRegion",
    "aws:SecureTransport",
    "aws:SourceAccount",
    "aws:SourceArn",
    "aws:SourceIp",
    "aws:SourceOrgID",
    "aws:SourceVpc",
    "aws:SourceVpce",
    "aws:UserAgent",
    "aws:userid",
    "aws:username",
];

/// Prefixes of IAM unique ids (role, user, instance profile, managed
/// policy, group, ...).
const UNIQUE_ID_PREFIXES: &[&str] = &["AROA", "AIDA", "AIPA", "ANPA", "AGPA", "ANVA", "ASIA"];

/// Parses `text` and lints it, including the size limit (which needs the
/// text as written).
pub fn lint_text(
    text: &str,
    policy_type: PolicyType,
    attached_to: Option<&Arn>,
) -> Result<Vec<Finding>, PolicyParseError> {
    let doc = PolicyDocument::parse(text)?;
    let mut findings = Vec::new();
    if policy_type.is_dynamodb() && text.len() > DYNAMODB_POLICY_LIMIT_BYTES {
        findings.push(Finding {
            code: LintCode::PolicyTooLarge,
            severity: Severity::Error,
            path: JsonPath::root(),
            message: format!(
                "the policy is {} bytes; DynamoDB accepts at most {DYNAMODB_POLICY_LIMIT_BYTES} bytes, whitespace counted",
                text.len()
            ),
        });
    }
    if matches!(policy_type, PolicyType::Identity | PolicyType::Trust) {
        iam_text_findings(text, policy_type, &mut findings);
    }
    findings.extend(lint(&doc, policy_type, attached_to));
    Ok(findings)
}

/// The checks IAM makes on the text of an identity or trust policy
/// ("IAM and AWS STS quotas"): its character set and its size, whitespace
/// not counted.
fn iam_text_findings(text: &str, policy_type: PolicyType, findings: &mut Vec<Finding>) {
    if let Some((offset, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| !matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}'))
    {
        findings.push(Finding {
            code: LintCode::InvalidCharacter,
            severity: Severity::Error,
            path: JsonPath::root(),
            message: format!(
                "character {offset} is U+{:04X} ({c:?}); IAM accepts only tab, line feed, carriage return and U+0020 to U+00FF in a policy document",
                u32::from(c)
            ),
        });
    }
    let size = iam_policy_size(text);
    let (limit, severity, what) = match policy_type {
        PolicyType::Trust => (
            IAM_TRUST_POLICY_LIMIT,
            Severity::Error,
            "a role's trust policy (the default quota)",
        ),
        _ if size > IAM_ROLE_INLINE_POLICIES_LIMIT => (
            IAM_ROLE_INLINE_POLICIES_LIMIT,
            Severity::Error,
            "a role's inline policies together (and less for a managed policy)",
        ),
        _ => (
            IAM_MANAGED_POLICY_LIMIT,
            Severity::Warning,
            "a managed policy (fine inline, where a role's policies may total 10240)",
        ),
    };
    if size > limit {
        findings.push(Finding {
            code: LintCode::IamPolicyTooLarge,
            severity,
            path: JsonPath::root(),
            message: format!(
                "the policy is {size} characters without whitespace; IAM accepts at most {limit} for {what}"
            ),
        });
    }
}

/// Lints a parsed document as a policy of `policy_type`, optionally
/// attached to the resource `attached_to` (a table, stream or role ARN).
pub fn lint(
    doc: &PolicyDocument,
    policy_type: PolicyType,
    attached_to: Option<&Arn>,
) -> Vec<Finding> {
    let mut linter = Linter {
        findings: Vec::new(),
        policy_type,
    };
    linter.document(doc, attached_to);
    linter.findings
}

struct Linter {
    findings: Vec<Finding>,
    policy_type: PolicyType,
}

fn values_path(path: &JsonPath, values: &OneOrMany<String>, index: usize) -> JsonPath {
    match values {
        OneOrMany::One(_) => path.clone(),
        OneOrMany::Many(_) => path.index(index),
    }
}

impl Linter {
    fn push(&mut self, code: LintCode, severity: Severity, path: JsonPath, message: String) {
        self.findings.push(Finding {
            code,
            severity,
            path,
            message,
        });
    }

    fn document(&mut self, doc: &PolicyDocument, attached_to: Option<&Arn>) {
        let root = JsonPath::root();
        match doc.version {
            None => self.push(
                LintCode::MissingVersion,
                Severity::Warning,
                root.clone(),
                "the policy has no Version: add \"Version\": \"2012-10-17\" (without it, policy variables are not substituted)".to_owned(),
            ),
            Some(PolicyVersion::V2008_10_17) => self.push(
                LintCode::OldVersion,
                Severity::Suggestion,
                root.key("Version"),
                "use Version 2012-10-17, the current policy language".to_owned(),
            ),
            Some(PolicyVersion::V2012_10_17) => {}
        }
        if self.policy_type == PolicyType::Identity && doc.id.is_some() {
            self.push(
                LintCode::IdInIdentityPolicy,
                Severity::Warning,
                root.key("Id"),
                "identity-based policies do not use Id; IAM ignores it".to_owned(),
            );
        }
        if doc.statements().is_empty() {
            self.push(
                LintCode::NoStatements,
                Severity::Error,
                root.key("Statement"),
                "the policy has no statements".to_owned(),
            );
        }
        let statement_path = root.key("Statement");
        let mut sids: Vec<&str> = Vec::new();
        for (index, statement) in doc.statements().iter().enumerate() {
            let path = match &doc.statement {
                OneOrMany::One(_) => statement_path.clone(),
                OneOrMany::Many(_) => statement_path.index(index),
            };
            if let Some(sid) = statement.sid.as_deref() {
                if sids.contains(&sid) {
                    self.push(
                        LintCode::DuplicateSid,
                        Severity::Error,
                        path.key("Sid"),
                        format!("Sid {sid:?} is used by an earlier statement; Sids must be unique within a policy"),
                    );
                }
                sids.push(sid);
            }
            self.statement(statement, &path, doc.substitutes_variables(), attached_to);
        }
    }

    fn statement(
        &mut self,
        statement: &Statement,
        path: &JsonPath,
        substitutes: bool,
        attached_to: Option<&Arn>,
    ) {
        self.lists(statement, path);
        self.principals(statement, path);
        self.actions(statement, path);
        self.resources(statement, path, substitutes, attached_to);
        self.conditions(statement, path, substitutes);
    }

    fn lists(&mut self, statement: &Statement, path: &JsonPath) {
        let mut lists: Vec<(JsonPath, bool)> = [
            ("Action", &statement.action),
            ("NotAction", &statement.not_action),
            ("Resource", &statement.resource),
            ("NotResource", &statement.not_resource),
        ]
        .into_iter()
        .filter_map(|(field, values)| values.as_ref().map(|v| (path.key(field), v.is_empty())))
        .collect();
        for (field, principals) in [
            ("Principal", &statement.principal),
            ("NotPrincipal", &statement.not_principal),
        ] {
            if let Some(Principals::Named(named)) = principals {
                let field_path = path.key(field);
                lists.push((field_path.clone(), named.is_empty()));
                for (kind, values) in named {
                    lists.push((field_path.key(kind.as_str()), values.is_empty()));
                }
            }
        }
        for (list_path, empty) in lists {
            if empty {
                self.push(
                    LintCode::EmptyList,
                    Severity::Error,
                    list_path,
                    "an empty list matches nothing and IAM rejects it: name at least one value"
                        .to_owned(),
                );
            }
        }
        if statement.effect == Effect::Allow {
            if statement.not_action.is_some() && self.policy_type != PolicyType::Stream {
                self.push(
                    LintCode::AllowWithNotAction,
                    Severity::SecurityWarning,
                    path.key("NotAction"),
                    "Allow with NotAction grants every other action, including actions AWS adds later: list the actions to allow instead".to_owned(),
                );
            }
            if statement.not_resource.is_some() {
                self.push(
                    LintCode::AllowWithNotResource,
                    Severity::SecurityWarning,
                    path.key("NotResource"),
                    "Allow with NotResource grants every other resource, including ones created later: list the resources to allow instead".to_owned(),
                );
            }
        }
    }

    fn principals(&mut self, statement: &Statement, path: &JsonPath) {
        let has_principal = statement.principal.is_some() || statement.not_principal.is_some();
        if self.policy_type == PolicyType::Identity {
            if has_principal {
                let field = if statement.principal.is_some() {
                    "Principal"
                } else {
                    "NotPrincipal"
                };
                self.push(
                    LintCode::PrincipalInIdentityPolicy,
                    Severity::Error,
                    path.key(field),
                    format!("an identity-based policy cannot name a principal: remove {field}; the principal is whoever the policy is attached to"),
                );
            }
            return;
        }
        if !has_principal {
            self.push(
                LintCode::MissingPrincipal,
                Severity::Error,
                path.clone(),
                format!(
                    "every statement of {} needs a Principal",
                    self.policy_type.with_article()
                ),
            );
        }
        // IAM "AWS JSON policy elements: NotPrincipal": NotPrincipal is not
        // allowed in a role trust policy, and with Allow it is not supported.
        if statement.not_principal.is_some() && self.policy_type == PolicyType::Trust {
            self.push(
                LintCode::NotPrincipalInTrustPolicy,
                Severity::Error,
                path.key("NotPrincipal"),
                "a role trust policy cannot use NotPrincipal: name the principals that may assume the role in Principal".to_owned(),
            );
        } else if statement.not_principal.is_some() && statement.effect == Effect::Allow {
            self.push(
                LintCode::AllowWithNotPrincipal,
                Severity::Error,
                path.key("NotPrincipal"),
                "NotPrincipal with Allow is not supported by AWS and grants nothing: name the principals in Principal instead".to_owned(),
            );
        }
        for (field, principals) in [
            ("Principal", &statement.principal),
            ("NotPrincipal", &statement.not_principal),
        ] {
            let Some(principals) = principals else {
                continue;
            };
            let field_path = path.key(field);
            let mut wildcard = matches!(principals, Principals::Everyone);
            if let Principals::Named(named) = principals {
                for (kind, values) in named {
                    let kind_path = field_path.key(kind.as_str());
                    for (i, value) in values.iter().enumerate() {
                        let value_path = values_path(&kind_path, values, i);
                        if value == "*" {
                            wildcard |= *kind == PrincipalType::Aws;
                        } else if value.contains('*') || value.contains('?') {
                            self.push(
                                LintCode::PartialWildcardPrincipal,
                                Severity::Error,
                                value_path.clone(),
                                format!("principal {value:?} contains a wildcard: IAM accepts only \"*\" alone; use \"*\" with a condition such as aws:PrincipalArn (ArnLike) instead"),
                            );
                        }
                        if *kind == PrincipalType::Aws
                            && UNIQUE_ID_PREFIXES.iter().any(|p| value.starts_with(p))
                            && value.len() >= 16
                            && value
                                .bytes()
                                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                        {
                            self.push(
                                LintCode::UniqueIdPrincipal,
                                Severity::Warning,
                                value_path,
                                format!("principal {value:?} is a unique id: IAM writes one in place of a role or user that was deleted; a recreated role with the same name is not this principal, so name it again by ARN"),
                            );
                        }
                    }
                }
            }
            if field == "Principal" && wildcard && statement.effect == Effect::Allow {
                // A trusted condition must fail for strangers: a positive
                // operator, without IfExists or a set qualifier (ForAllValues
                // is true when the key is absent), and values without
                // wildcards (`"1111*"` trusts every account starting so).
                let trusted = statement.condition.as_ref().is_some_and(|blocks| {
                    blocks.iter().any(|block| {
                        let positive = block
                            .operator
                            .kind()
                            .is_some_and(|k| !k.is_negated() && k != OperatorKind::Null)
                            && !block.operator.if_exists()
                            && block.operator.qualifier().is_none();
                        positive
                            && block.entries.iter().any(|entry| {
                                TRUSTED_KEYS
                                    .iter()
                                    .any(|k| k.eq_ignore_ascii_case(&entry.key))
                                    && !entry.values.iter().any(|v| v.as_str().contains(['*', '?']))
                            })
                    })
                });
                if !trusted {
                    let severity = if self.policy_type.is_dynamodb() {
                        Severity::Error
                    } else {
                        Severity::SecurityWarning
                    };
                    let consequence = if self.policy_type.is_dynamodb() {
                        "; DynamoDB rejects such policies"
                    } else {
                        ""
                    };
                    self.push(
                        LintCode::PublicAccess,
                        severity,
                        field_path,
                        format!("a wildcard principal without a condition pinning a trusted key (aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) to exact values (a positive operator, no wildcard, no set qualifier, no IfExists) makes the resource public{consequence}"),
                    );
                }
            }
        }
    }

    fn actions(&mut self, statement: &Statement, path: &JsonPath) {
        match self.policy_type {
            PolicyType::Stream => {
                if statement.not_action.is_some() && statement.effect == Effect::Allow {
                    self.push(
                        LintCode::ImpreciseStreamActions,
                        Severity::Warning,
                        path.key("NotAction"),
                        format!(
                            "name the stream actions in Action instead of NotAction: {}",
                            STREAM_READ_ACTIONS.join(", ")
                        ),
                    );
                }
                let Some(actions) = &statement.action else {
                    return;
                };
                let action_path = path.key("Action");
                for (i, action) in actions.iter().enumerate() {
                    let value_path = values_path(&action_path, actions, i);
                    if action.eq_ignore_ascii_case("dynamodb:ListStreams") {
                        self.push(
                            LintCode::ListStreamsInStreamPolicy,
                            Severity::Error,
                            value_path,
                            "dynamodb:ListStreams has no stream resource and is rejected in a stream policy: grant it in the consumer's identity policy".to_owned(),
                        );
                    } else if STREAM_READ_ACTIONS
                        .iter()
                        .any(|a| a.eq_ignore_ascii_case(action))
                    {
                        // Exactly one of the stream actions: what we want.
                    } else if STREAM_READ_ACTIONS
                        .iter()
                        .any(|a| action_matches(action, a))
                    {
                        // A wide Deny only takes away; a wide Allow is imprecise.
                        if statement.effect == Effect::Deny {
                            continue;
                        }
                        self.push(
                            LintCode::ImpreciseStreamActions,
                            Severity::Warning,
                            value_path,
                            format!("{action:?} is a wildcard: a stream policy may only grant {}; name them exactly", STREAM_READ_ACTIONS.join(", ")),
                        );
                    } else {
                        self.push(
                            LintCode::NonStreamActionInStreamPolicy,
                            Severity::Error,
                            value_path,
                            format!("{action:?} is not a stream action: a stream policy may only grant {}", STREAM_READ_ACTIONS.join(", ")),
                        );
                    }
                }
            }
            PolicyType::Table => {
                let Some(actions) = &statement.action else {
                    return;
                };
                let action_path = path.key("Action");
                for (i, action) in actions.iter().enumerate() {
                    let is_stream_action = STREAM_READ_ACTIONS
                        .iter()
                        .chain(&["dynamodb:ListStreams"])
                        .any(|a| a.eq_ignore_ascii_case(action));
                    if is_stream_action {
                        self.push(
                            LintCode::StreamActionInTablePolicy,
                            Severity::Error,
                            values_path(&action_path, actions, i),
                            format!("{action:?} is a stream action: put it in the stream's resource policy (ListStreams in the identity policy), not the table's"),
                        );
                    }
                }
            }
            PolicyType::Identity | PolicyType::Trust => {}
        }
    }

    fn resources(
        &mut self,
        statement: &Statement,
        path: &JsonPath,
        substitutes: bool,
        attached_to: Option<&Arn>,
    ) {
        let needs_resource = matches!(
            self.policy_type,
            PolicyType::Identity | PolicyType::Table | PolicyType::Stream
        );
        if needs_resource && statement.resource.is_none() && statement.not_resource.is_none() {
            self.push(
                LintCode::MissingResource,
                Severity::Error,
                path.clone(),
                format!(
                    "every statement of {} needs a Resource",
                    self.policy_type.with_article()
                ),
            );
        }
        for (field, resources) in [
            ("Resource", &statement.resource),
            ("NotResource", &statement.not_resource),
        ] {
            let Some(resources) = resources else {
                continue;
            };
            let field_path = path.key(field);
            for (i, resource) in resources.iter().enumerate() {
                let value_path = values_path(&field_path, resources, i);
                if !substitutes && resource.contains("${") {
                    self.variables_warning(value_path.clone(), resource);
                }
                let service = resource.split(':').nth(2).unwrap_or_default();
                if service.contains(['*', '?']) {
                    self.push(
                        LintCode::WildcardInServiceSegment,
                        Severity::Warning,
                        value_path.clone(),
                        format!("{resource:?} has a wildcard in the service segment, where IAM allows none: it is literal text there and the ARN never matches; name the service"),
                    );
                }
                let prefix = match resource_part_start(resource) {
                    Some(start) => resource.get(..start).unwrap_or_default(),
                    None => resource.as_str(),
                };
                if substitutes && prefix.contains("${") {
                    self.push(
                        LintCode::VariableNotSubstituted,
                        Severity::Warning,
                        value_path.clone(),
                        format!("{resource:?} has a policy variable before the resource part of the ARN (the fifth colon), where IAM keeps it as literal text and the ARN never matches"),
                    );
                }
                if field != "Resource" || !self.policy_type.is_resource_policy() {
                    continue;
                }
                let Some(attached) = attached_to else {
                    continue;
                };
                let attached = attached.to_string();
                let matches = resource.contains("${")
                    || resource_matches(resource, &attached)
                    || (self.policy_type == PolicyType::Table
                        && resource_matches(resource, &format!("{attached}/index/x"))
                        && resource.starts_with(&format!("{attached}/index/")));
                if !matches {
                    self.push(
                        LintCode::ResourceCannotMatch,
                        Severity::Error,
                        value_path,
                        format!("{resource:?} can never match {attached}, the resource this policy is attached to"),
                    );
                }
            }
        }
    }

    fn variables_warning(&mut self, path: JsonPath, value: &str) {
        self.push(
            LintCode::VariablesNeedNewVersion,
            Severity::Warning,
            path,
            format!("{value:?} uses a policy variable, which is literal text unless the policy's Version is 2012-10-17"),
        );
    }

    fn conditions(&mut self, statement: &Statement, path: &JsonPath, substitutes: bool) {
        let Some(blocks) = &statement.condition else {
            return;
        };
        let condition_path = path.key("Condition");
        for block in blocks {
            let operator = &block.operator;
            let block_path = condition_path.key(operator.as_str());
            match operator.kind() {
                None => self.push(
                    LintCode::UnknownConditionOperator,
                    Severity::Error,
                    block_path.clone(),
                    format!("{:?} is not a condition operator; the condition never matches", operator.as_str()),
                ),
                Some(OperatorKind::Null) if operator.if_exists() => self.push(
                    LintCode::IfExistsOnNull,
                    Severity::Error,
                    block_path.clone(),
                    "Null already tests whether the key exists; IfExists on it is meaningless: use Null".to_owned(),
                ),
                Some(_) => {}
            }
            for entry in &block.entries {
                let entry_path = block_path.key(&entry.key);
                if operator.qualifier() == Some(SetQualifier::ForAllValues)
                    && SINGLE_VALUED_KEYS
                        .iter()
                        .any(|k| k.eq_ignore_ascii_case(&entry.key))
                {
                    self.push(
                        LintCode::ForAllValuesOnSingleValuedKey,
                        Severity::SecurityWarning,
                        entry_path.clone(),
                        format!("{} is single-valued: ForAllValues is true when the key is absent, so this allows requests without it; drop ForAllValues:", entry.key),
                    );
                }
                let literal_operator = operator.kind().is_some_and(|k| !takes_variables(k));
                for (i, value) in entry.values.iter().enumerate() {
                    let ConditionValue::String(text) = value else {
                        continue;
                    };
                    if !text.contains("${") {
                        continue;
                    }
                    let value_path = match &entry.values {
                        OneOrMany::One(_) => entry_path.clone(),
                        OneOrMany::Many(_) => entry_path.index(i),
                    };
                    if !substitutes {
                        self.variables_warning(value_path, text);
                    } else if literal_operator {
                        self.push(
                            LintCode::VariableNotSubstituted,
                            Severity::Warning,
                            value_path,
                            format!("{text:?} has a policy variable, which IAM substitutes only for String and ARN operators; under {} it is literal text", operator.as_str()),
                        );
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Lints `input` as `policy_type` (attached to `attached`, if given) and
    /// prints one finding a line.
    fn check(input: &str, policy_type: PolicyType, attached: Option<&str>, expected: Expect) {
        let attached: Option<Arn> = attached.map(|a| a.parse().unwrap());
        let actual = match lint_text(input, policy_type, attached.as_ref()) {
            Ok(findings) => findings
                .iter()
                .map(|f| format!("{f}\n"))
                .collect::<String>(),
            Err(e) => format!("parse error: {e}\n"),
        };
        expected.assert_eq(&actual);
    }

    const STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

    #[test]
    fn clean_documents_have_no_findings() {
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/*"}]}"#,
            PolicyType::Stream,
            Some(STREAM),
            expect![""],
        );
    }

    #[test]
    fn version_and_identity_rules() {
        check(
            r#"{"Id":"x","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                warning MISSING_VERSION $ the policy has no Version: add "Version": "2012-10-17" (without it, policy variables are not substituted)
                warning ID_IN_IDENTITY_POLICY $.Id identity-based policies do not use Id; IAM ignores it
                error PRINCIPAL_IN_IDENTITY_POLICY $.Statement.Principal an identity-based policy cannot name a principal: remove Principal; the principal is whoever the policy is attached to
                warning VARIABLES_NEED_2012_VERSION $.Statement.Resource "arn:aws:s3:::b/${aws:username}/*" uses a policy variable, which is literal text unless the policy's Version is 2012-10-17
            "#]],
        );
        check(
            r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Condition":{"StringLike":{"s3:prefix":["a","${aws:username}/"]}}}]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                suggestion OLD_VERSION $.Version use Version 2012-10-17, the current policy language
                error MISSING_RESOURCE $.Statement[0] every statement of an identity policy needs a Resource
                warning VARIABLES_NEED_2012_VERSION $.Statement[0].Condition.StringLike.s3:prefix[1] "${aws:username}/" uses a policy variable, which is literal text unless the policy's Version is 2012-10-17
            "#]],
        );
        check(
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                error NO_STATEMENTS $.Statement the policy has no statements
            "#]],
        );
    }

    #[test]
    fn principal_rules() {
        check(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":"*","Action":"dynamodb:GetRecords","Resource":"*"},
                {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"dynamodb:GetRecords","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}},
                {"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::*:role/c","AROAEXAMPLEID1234567"]},"Action":"dynamodb:GetRecords","Resource":"*"},
                {"Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":"dynamodb:GetRecords","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalAccount":"111111111111"}}},
                {"Effect":"Allow","Action":"dynamodb:GetRecords","Resource":"*"}
            ]}"#,
            PolicyType::Stream,
            None,
            expect![[r#"
                error PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION $.Statement[0].Principal a wildcard principal without a condition pinning a trusted key (aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) to exact values (a positive operator, no wildcard, no set qualifier, no IfExists) makes the resource public; DynamoDB rejects such policies
                error PARTIAL_WILDCARD_PRINCIPAL $.Statement[2].Principal.AWS[0] principal "arn:aws:iam::*:role/c" contains a wildcard: IAM accepts only "*" alone; use "*" with a condition such as aws:PrincipalArn (ArnLike) instead
                warning UNIQUE_ID_PRINCIPAL $.Statement[2].Principal.AWS[1] principal "AROAEXAMPLEID1234567" is a unique id: IAM writes one in place of a role or user that was deleted; a recreated role with the same name is not this principal, so name it again by ARN
                error ALLOW_WITH_NOT_PRINCIPAL $.Statement[3].NotPrincipal NotPrincipal with Allow is not supported by AWS and grants nothing: name the principals in Principal instead
                error MISSING_PRINCIPAL $.Statement[4] every statement of a stream policy needs a Principal
            "#]],
        );
        // A wildcard principal is public unless a condition pins it to known
        // parties: a set qualifier or a wildcard value does not.
        check(
            r#"{"Version":"2012-10-17","Statement":[
                {"Effect":"Allow","Principal":"*","Action":"dynamodb:GetRecords","Resource":"*","Condition":{"ForAllValues:StringEquals":{"aws:PrincipalAccount":"111111111111"}}},
                {"Effect":"Allow","Principal":"*","Action":"dynamodb:GetRecords","Resource":"*","Condition":{"StringLike":{"aws:PrincipalAccount":"1111*"}}},
                {"Effect":"Allow","Principal":"*","Action":"dynamodb:GetRecords","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"111111111111"}}}
            ]}"#,
            PolicyType::Stream,
            None,
            expect![[r#"
                error PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION $.Statement[0].Principal a wildcard principal without a condition pinning a trusted key (aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) to exact values (a positive operator, no wildcard, no set qualifier, no IfExists) makes the resource public; DynamoDB rejects such policies
                security-warning FOR_ALL_VALUES_ON_SINGLE_VALUED_KEY $.Statement[0].Condition.ForAllValues:StringEquals.aws:PrincipalAccount aws:PrincipalAccount is single-valued: ForAllValues is true when the key is absent, so this allows requests without it; drop ForAllValues:
                error PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION $.Statement[1].Principal a wildcard principal without a condition pinning a trusted key (aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) to exact values (a positive operator, no wildcard, no set qualifier, no IfExists) makes the resource public; DynamoDB rejects such policies
            "#]],
        );
        // IAM "AWS JSON policy elements: NotPrincipal": not in an identity
        // policy nor in a role trust policy.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":"sts:AssumeRole"}]}"#,
            PolicyType::Trust,
            None,
            expect![[r#"
                error NOT_PRINCIPAL_IN_TRUST_POLICY $.Statement[0].NotPrincipal a role trust policy cannot use NotPrincipal: name the principals that may assume the role in Principal
            "#]],
        );
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":"s3:*","Resource":"*"}]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                error PRINCIPAL_IN_IDENTITY_POLICY $.Statement[0].NotPrincipal an identity-based policy cannot name a principal: remove NotPrincipal; the principal is whoever the policy is attached to
            "#]],
        );
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
            PolicyType::Trust,
            None,
            expect![[r#"
                security-warning PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION $.Statement[0].Principal a wildcard principal without a condition pinning a trusted key (aws:PrincipalAccount, aws:PrincipalOrgID, aws:PrincipalArn, aws:SourceAccount, ...) to exact values (a positive operator, no wildcard, no set qualifier, no IfExists) makes the resource public
            "#]],
        );
    }

    #[test]
    fn dynamodb_action_and_resource_rules() {
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":["dynamodb:ListStreams","dynamodb:GetItem","dynamodb:Get*","dynamodb:getrecords"],"Resource":["arn:aws:dynamodb:eu-west-1:222222222222:table/documents","arn:aws:dynamodb:*:*:table/documents/stream/*"]}]}"#,
            PolicyType::Stream,
            Some(STREAM),
            expect![[r#"
                error LIST_STREAMS_IN_STREAM_POLICY $.Statement[0].Action[0] dynamodb:ListStreams has no stream resource and is rejected in a stream policy: grant it in the consumer's identity policy
                error NON_STREAM_ACTION_IN_STREAM_POLICY $.Statement[0].Action[1] "dynamodb:GetItem" is not a stream action: a stream policy may only grant dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator
                warning IMPRECISE_STREAM_ACTIONS $.Statement[0].Action[2] "dynamodb:Get*" is a wildcard: a stream policy may only grant dynamodb:DescribeStream, dynamodb:GetRecords, dynamodb:GetShardIterator; name them exactly
                error RESOURCE_CANNOT_MATCH $.Statement[0].Resource[0] "arn:aws:dynamodb:eu-west-1:222222222222:table/documents" can never match arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000, the resource this policy is attached to
            "#]],
        );
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":["dynamodb:GetItem","dynamodb:GetRecords"],"Resource":["arn:aws:dynamodb:eu-west-1:222222222222:table/documents/index/*","arn:aws:dynamodb:eu-west-1:222222222222:table/other"]}]}"#,
            PolicyType::Table,
            Some("arn:aws:dynamodb:eu-west-1:222222222222:table/documents"),
            expect![[r#"
                error STREAM_ACTION_IN_TABLE_POLICY $.Statement[0].Action[1] "dynamodb:GetRecords" is a stream action: put it in the stream's resource policy (ListStreams in the identity policy), not the table's
                error RESOURCE_CANNOT_MATCH $.Statement[0].Resource[1] "arn:aws:dynamodb:eu-west-1:222222222222:table/other" can never match arn:aws:dynamodb:eu-west-1:222222222222:table/documents, the resource this policy is attached to
            "#]],
        );
        let padding = " ".repeat(DYNAMODB_POLICY_LIMIT_BYTES);
        check(
            &format!(
                r#"{{"Version":"2012-10-17","Statement":[{padding}{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:role/c"}},"Action":"dynamodb:GetRecords","Resource":"*"}}]}}"#
            ),
            PolicyType::Stream,
            None,
            expect![[r#"
                error POLICY_TOO_LARGE $ the policy is 20638 bytes; DynamoDB accepts at most 20480 bytes, whitespace counted
            "#]],
        );
    }

    #[test]
    fn iam_character_set_and_sizes() {
        // IAM "IAM and AWS STS quotas": policy documents may contain only
        // tab, LF, CR and U+0020 to U+00FF; a managed policy at most 6,144
        // characters, a role's inline policies 10,240 together, a trust
        // policy 2,048 by default, whitespace not counted.
        let with_sid = |sid: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{sid}","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}]}}"#
            )
        };
        check(
            &with_sid("Caf\u{e9}\u{2019}s"),
            PolicyType::Identity,
            None,
            expect![[r#"
                error INVALID_CHARACTER $ character 49 is U+2019 ('’'); IAM accepts only tab, line feed, carriage return and U+0020 to U+00FF in a policy document
            "#]],
        );
        // Accepted in a stream policy, which IAM does not store.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/c"},"Action":"dynamodb:GetRecords","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalTag/team":"’"}}}]}"#,
            PolicyType::Stream,
            None,
            expect![[r#""#]],
        );
        let overhead = iam_policy_size(&with_sid(""));
        let sized = |size: usize| with_sid(&"a".repeat(size - overhead));
        let out: String = [
            format!("{}{}", " ".repeat(20_000), sized(6_144)),
            sized(6_145),
            sized(10_240),
            sized(10_241),
        ]
        .iter()
        .flat_map(|text| lint_text(text, PolicyType::Identity, None).unwrap())
        .map(|finding| format!("{finding}\n"))
        .collect();
        expect![[r#"
            warning IAM_POLICY_TOO_LARGE $ the policy is 6145 characters without whitespace; IAM accepts at most 6144 for a managed policy (fine inline, where a role's policies may total 10240)
            warning IAM_POLICY_TOO_LARGE $ the policy is 10240 characters without whitespace; IAM accepts at most 6144 for a managed policy (fine inline, where a role's policies may total 10240)
            error IAM_POLICY_TOO_LARGE $ the policy is 10241 characters without whitespace; IAM accepts at most 10240 for a role's inline policies together (and less for a managed policy)
        "#]].assert_eq(&out);
        let trust = |size: usize| {
            let empty = r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
            let sid = "a".repeat(size - iam_policy_size(empty));
            empty.replace(r#""Sid":"""#, &format!(r#""Sid":"{sid}""#))
        };
        let out: String = [trust(2_048), trust(2_049)]
            .iter()
            .flat_map(|text| lint_text(text, PolicyType::Trust, None).unwrap())
            .map(|finding| format!("{finding}\n"))
            .collect();
        expect![[r#"
            error IAM_POLICY_TOO_LARGE $ the policy is 2049 characters without whitespace; IAM accepts at most 2048 for a role's trust policy (the default quota)
        "#]].assert_eq(&out);
    }

    #[test]
    fn condition_rules() {
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{
                "NullIfExists":{"aws:TokenIssueTime":"true"},
                "ForAllValues:StringEquals":{"aws:PrincipalOrgID":"o-1","aws:TagKeys":["a"]},
                "StringEqualsAnyCase":{"k":"v"}
            }}]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                error IF_EXISTS_ON_NULL $.Statement[0].Condition.NullIfExists Null already tests whether the key exists; IfExists on it is meaningless: use Null
                security-warning FOR_ALL_VALUES_ON_SINGLE_VALUED_KEY $.Statement[0].Condition.ForAllValues:StringEquals.aws:PrincipalOrgID aws:PrincipalOrgID is single-valued: ForAllValues is true when the key is absent, so this allows requests without it; drop ForAllValues:
                error UNKNOWN_CONDITION_OPERATOR $.Statement[0].Condition.StringEqualsAnyCase "StringEqualsAnyCase" is not a condition operator; the condition never matches
            "#]],
        );
        check(
            "{",
            PolicyType::Identity,
            None,
            expect![[r#"
            parse error: invalid JSON at line 1 column 2 (in $): expected a string key
        "#]],
        );
    }

    #[test]
    fn no_wildcard_in_the_service_segment() {
        // IAM "IAM JSON policy elements: Resource": a wildcard cannot stand
        // in the service segment; elsewhere it may.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetRecords","Resource":["arn:aws:dynamodb:*:table/documents/stream/*","arn:aws:*:eu-west-1:222222222222:table/documents/stream/*"]}]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                warning WILDCARD_IN_SERVICE_SEGMENT $.Statement[0].Resource[1] "arn:aws:*:eu-west-1:222222222222:table/documents/stream/*" has a wildcard in the service segment, where IAM allows none: it is literal text there and the ARN never matches; name the service
            "#]],
        );
    }

    #[test]
    fn variables_where_iam_keeps_them_literal() {
        // IAM "Variables and tags": variables only in the resource part of an
        // ARN (after the fifth colon) and in String and ARN operators.
        check(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetRecords","Resource":["arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/t/stream/*","arn:aws:dynamodb:*:111111111111:table/${aws:PrincipalTag/table}/stream/*"],"Condition":{
                "DateLessThan":{"aws:CurrentTime":"${aws:TokenIssueTime}"},
                "StringEquals":{"aws:PrincipalAccount":"${aws:ResourceAccount}"}
            }}]}"#,
            PolicyType::Identity,
            None,
            expect![[r#"
                warning VARIABLE_NOT_SUBSTITUTED $.Statement[0].Resource[0] "arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/t/stream/*" has a policy variable before the resource part of the ARN (the fifth colon), where IAM keeps it as literal text and the ARN never matches
                warning VARIABLE_NOT_SUBSTITUTED $.Statement[0].Condition.DateLessThan.aws:CurrentTime "${aws:TokenIssueTime}" has a policy variable, which IAM substitutes only for String and ARN operators; under DateLessThan it is literal text
            "#]],
        );
    }

    /// One document per code that raises it, linted as the given kind.
    fn raising_documents() -> Vec<(LintCode, PolicyType, String)> {
        let stmt = |body: &str| format!(r#"{{"Version":"2012-10-17","Statement":[{{{body}}}]}}"#);
        let reader = r#""Principal":{"AWS":"arn:aws:iam::111111111111:role/c"}"#;
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}{{"Effect":"Allow",{reader},"Action":"dynamodb:GetRecords","Resource":"*"}}]}}"#,
            " ".repeat(DYNAMODB_POLICY_LIMIT_BYTES)
        );
        vec![
            (LintCode::MissingVersion, PolicyType::Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.to_owned()),
            (LintCode::OldVersion, PolicyType::Identity, r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.to_owned()),
            (LintCode::VariablesNeedNewVersion, PolicyType::Identity, r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"arn:aws:s3:::b/${aws:username}"}]}"#.to_owned()),
            (LintCode::VariableNotSubstituted, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{"NumericLessThan":{"n":"${limit}"}}"#)),
            (LintCode::WildcardInServiceSegment, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"*","Resource":"arn:aws:dynamo*:*:*:table/t""#)),
            (LintCode::PrincipalInIdentityPolicy, PolicyType::Identity, stmt(r#""Effect":"Allow","NotPrincipal":"*","Action":"*","Resource":"*""#)),
            (LintCode::IdInIdentityPolicy, PolicyType::Identity, r#"{"Version":"2012-10-17","Id":"x","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.to_owned()),
            (LintCode::MissingPrincipal, PolicyType::Trust, stmt(r#""Effect":"Allow","Action":"sts:AssumeRole""#)),
            (LintCode::MissingResource, PolicyType::Table, stmt(&format!(r#""Effect":"Allow",{reader},"Action":"dynamodb:GetItem""#))),
            (LintCode::PublicAccess, PolicyType::Table, stmt(r#""Effect":"Allow","Principal":{"AWS":["*"]},"Action":"dynamodb:GetItem","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-1"}}"#)),
            (LintCode::PartialWildcardPrincipal, PolicyType::Trust, stmt(r#""Effect":"Allow","Principal":{"AWS":"arn:aws:iam::11111111111?:root"},"Action":"sts:AssumeRole""#)),
            (LintCode::AllowWithNotPrincipal, PolicyType::Table, stmt(r#""Effect":"Allow","NotPrincipal":{"AWS":"111111111111"},"Action":"dynamodb:GetItem","Resource":"*""#)),
            (LintCode::NotPrincipalInTrustPolicy, PolicyType::Trust, stmt(r#""Effect":"Deny","NotPrincipal":{"AWS":"111111111111"},"Action":"sts:AssumeRole""#)),
            (LintCode::ListStreamsInStreamPolicy, PolicyType::Stream, stmt(&format!(r#""Effect":"Allow",{reader},"Action":"DynamoDB:liststreams","Resource":"*""#))),
            (LintCode::NonStreamActionInStreamPolicy, PolicyType::Stream, stmt(&format!(r#""Effect":"Deny",{reader},"Action":"dynamodb:PutItem","Resource":"*""#))),
            (LintCode::ImpreciseStreamActions, PolicyType::Stream, stmt(&format!(r#""Effect":"Allow",{reader},"NotAction":"dynamodb:GetRecords","Resource":"*""#))),
            (LintCode::StreamActionInTablePolicy, PolicyType::Table, stmt(&format!(r#""Effect":"Allow",{reader},"Action":"dynamodb:ListStreams","Resource":"*""#))),
            (LintCode::ResourceCannotMatch, PolicyType::Stream, stmt(&format!(r#""Effect":"Allow",{reader},"Action":"dynamodb:GetRecords","Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2023-*""#))),
            (LintCode::PolicyTooLarge, PolicyType::Table, big),
            (LintCode::IamPolicyTooLarge, PolicyType::Trust, stmt(&format!(r#""Sid":"{}","Effect":"Allow","Principal":{{"Service":"lambda.amazonaws.com"}},"Action":"sts:AssumeRole""#, "a".repeat(IAM_TRUST_POLICY_LIMIT)))),
            (LintCode::InvalidCharacter, PolicyType::Trust, stmt(r#""Sid":"☃","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole""#)),
            (LintCode::IfExistsOnNull, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAnyValue:NullIfExists":{"k":"true"}}"#)),
            (LintCode::ForAllValuesOnSingleValuedKey, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForAllValues:IpAddress":{"aws:sourceip":"10.0.0.0/8"}}"#)),
            (LintCode::UnknownConditionOperator, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"*","Resource":"*","Condition":{"ForEveryValue:StringEquals":{"k":"v"}}"#)),
            (LintCode::UniqueIdPrincipal, PolicyType::Table, stmt(r#""Effect":"Allow","Principal":{"AWS":"AIDAJQABLZS4A3QDU576Q"},"Action":"dynamodb:GetItem","Resource":"*""#)),
            (LintCode::NoStatements, PolicyType::Trust, r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned()),
            (LintCode::DuplicateSid, PolicyType::Identity, r#"{"Version":"2012-10-17","Statement":[{"Sid":"a","Effect":"Allow","Action":"*","Resource":"*"},{"Sid":"a","Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#.to_owned()),
            (LintCode::EmptyList, PolicyType::Trust, stmt(r#""Effect":"Allow","Principal":{"AWS":[]},"Action":"sts:AssumeRole""#)),
            (LintCode::AllowWithNotAction, PolicyType::Identity, stmt(r#""Effect":"Allow","NotAction":"iam:*","Resource":"*""#)),
            (LintCode::AllowWithNotResource, PolicyType::Identity, stmt(r#""Effect":"Allow","Action":"s3:*","NotResource":"arn:aws:s3:::secret/*""#)),
        ]
    }

    #[test]
    fn every_code_has_a_document_that_raises_it() {
        let cases = raising_documents();
        let attached: Arn = STREAM.parse().unwrap();
        for code in LintCode::ALL {
            let (_, kind, text) = cases
                .iter()
                .find(|(c, _, _)| c == code)
                .unwrap_or_else(|| panic!("no case raises {code}"));
            let findings = lint_text(text, *kind, Some(&attached)).unwrap();
            assert!(
                findings.iter().any(|f| f.code == *code),
                "{code} not raised by {text}: {findings:?}"
            );
        }
    }

    /// The README's table of codes: each row's code and its severities
    /// (the second column), by code.
    fn readme_rows() -> Vec<(String, String)> {
        include_str!("../README.md")
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("| `")?.splitn(3, " | ");
                let code = cells.next()?.strip_suffix('`')?;
                Some((code.to_owned(), cells.next()?.to_owned()))
            })
            .collect()
    }

    #[test]
    fn readme_lists_every_code_with_the_severity_it_is_raised_with() {
        let rows = readme_rows();
        let listed: Vec<&str> = rows.iter().map(|(code, _)| code.as_str()).collect();
        let codes: Vec<&str> = LintCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            listed, codes,
            "the README's rows are not LintCode::ALL in order"
        );
        let attached: Arn = STREAM.parse().unwrap();
        let mut documents = raising_documents();
        // The codes whose severity depends on the kind or the size.
        documents.push((
            LintCode::PublicAccess,
            PolicyType::Trust,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#.to_owned(),
        ));
        documents.push((
            LintCode::IamPolicyTooLarge,
            PolicyType::Identity,
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
                "a".repeat(IAM_MANAGED_POLICY_LIMIT)
            ),
        ));
        documents.push((
            LintCode::IamPolicyTooLarge,
            PolicyType::Identity,
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"{}","Effect":"Allow","Action":"*","Resource":"*"}}]}}"#,
                "a".repeat(IAM_ROLE_INLINE_POLICIES_LIMIT)
            ),
        ));
        let mut seen = std::collections::HashSet::new();
        for (code, kind, text) in documents {
            let findings = lint_text(&text, kind, Some(&attached)).unwrap();
            let (_, severities) = rows.iter().find(|(c, _)| c == code.as_str()).unwrap();
            for finding in findings.iter().filter(|f| f.code == code) {
                // "warning" is also inside "security-warning": compare words.
                let named = severities
                    .split([' ', ',', '(', ')', ';', ':'])
                    .any(|word| word == finding.severity.as_str());
                assert!(
                    named,
                    "the README gives {code} as {severities:?}; it is raised as {}",
                    finding.severity
                );
                seen.insert((code, finding.severity));
            }
        }
        // Each severity written in the table was seen raised.
        let expected_pairs: usize = rows
            .iter()
            .map(|(_, severities)| {
                ["error", "security-warning", "suggestion"]
                    .iter()
                    .filter(|s| severities.contains(*s))
                    .count()
                    + severities
                        .split([' ', ',', '(', ')', ';', ':'])
                        .filter(|w| *w == "warning")
                        .count()
            })
            .sum();
        assert_eq!(seen.len(), expected_pairs, "{seen:?}");
    }

    #[test]
    fn every_code_is_distinct_and_upper_snake() {
        let mut seen = std::collections::HashSet::new();
        for code in LintCode::ALL {
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
            );
        }
    }
}
