//! IAM policy documents: the typed model, the parser and the serializer.
//!
//! [`PolicyDocument::parse`] reads a document with the
//! [JSON reader](crate::json), so duplicate keys are rejected and numbers keep their text, then
//! checks the policy grammar: every error names the JSON path where it is
//! (`$.Statement[1].Condition.StringEquals`). Serializing gives the document
//! back with its shape: a single value stays a single value and an array
//! stays an array, numbers and booleans in conditions stay unquoted, and
//! every object keeps its members' order. Documents built in code write
//! their members in the conventional order (`Version`, `Id`, `Statement`;
//! `Sid`, `Effect`, `Principal`, `NotPrincipal`, `Action`, `NotAction`,
//! `Resource`, `NotResource`, `Condition`).
//!
//! ```
//! use streamgate_policy::document::PolicyDocument;
//! let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:GetRecords","Resource":"*"}}"#;
//! let doc = PolicyDocument::parse(text)?;
//! assert_eq!(doc.to_json(), text);
//! # Ok::<(), streamgate_policy::document::PolicyParseError>(())
//! ```

use std::fmt;

use crate::json::{self, JsonError, JsonPath, JsonValue};

/// Why a text is not a policy document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyParseError {
    /// The text is not JSON, or has a duplicate key.
    #[error(transparent)]
    Json(#[from] JsonError),
    /// A member has the wrong JSON type.
    #[error("{path} must be {expected}, found {found}")]
    WrongType {
        /// Where the value is.
        path: JsonPath,
        /// What the grammar wants there.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A member the policy grammar does not know.
    #[error("unknown member {field:?} at {path}")]
    UnknownField {
        /// The object holding the member.
        path: JsonPath,
        /// The member name.
        field: String,
    },
    /// A required member is absent.
    #[error("{path} has no {field:?}")]
    MissingField {
        /// The object lacking the member.
        path: JsonPath,
        /// The member name.
        field: &'static str,
    },
    /// Two members that exclude each other are both present.
    #[error("{path} has both {first:?} and {second:?}")]
    Conflict {
        /// The statement.
        path: JsonPath,
        /// One member.
        first: &'static str,
        /// The other member.
        second: &'static str,
    },
    /// A value the grammar does not accept.
    #[error("invalid value {value:?} at {path}: {reason}")]
    InvalidValue {
        /// Where the value is.
        path: JsonPath,
        /// The offending value.
        value: String,
        /// What the grammar accepts.
        reason: &'static str,
    },
    /// A condition operator has the same key twice (keys are
    /// case-insensitive, so `aws:SourceIp` and `aws:sourceip` collide).
    #[error("duplicate condition key {key:?} at {path} (condition keys are case-insensitive)")]
    DuplicateConditionKey {
        /// The operator block.
        path: JsonPath,
        /// The second spelling of the key.
        key: String,
    },
}

/// One value or an array of values; which of the two a document used is
/// kept, so that it serializes back the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOrMany<T> {
    /// A single value written without brackets.
    One(T),
    /// An array (possibly of one element).
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    /// The values, whichever shape they were written in.
    pub fn as_slice(&self) -> &[T] {
        match self {
            OneOrMany::One(value) => std::slice::from_ref(value),
            OneOrMany::Many(values) => values,
        }
    }
    /// Iterates over the values.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.as_slice().iter()
    }
    /// The number of values.
    pub fn len(&self) -> usize {
        self.as_slice().len()
    }
    /// True for an empty array.
    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl<T> From<Vec<T>> for OneOrMany<T> {
    fn from(values: Vec<T>) -> Self {
        OneOrMany::Many(values)
    }
}

/// The policy language version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyVersion {
    /// `2012-10-17`, the current version: policy variables are substituted.
    V2012_10_17,
    /// `2008-10-17`, the old version: `${...}` is literal text.
    V2008_10_17,
}

impl PolicyVersion {
    /// The version as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVersion::V2012_10_17 => "2012-10-17",
            PolicyVersion::V2008_10_17 => "2008-10-17",
        }
    }
}

/// `Allow` or `Deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Grants the matched requests.
    Allow,
    /// Refuses the matched requests, whatever else allows them.
    Deny,
}

impl Effect {
    /// The effect as written in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of principal named inside a `Principal` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    /// `AWS`: accounts, roles, users, sessions, or `*`.
    Aws,
    /// `Service`: an AWS service such as `lambda.amazonaws.com`.
    Service,
    /// `Federated`: a web identity or SAML provider.
    Federated,
    /// `CanonicalUser`: an S3 canonical user id.
    CanonicalUser,
}

impl PrincipalType {
    /// The member name in a document.
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalType::Aws => "AWS",
            PrincipalType::Service => "Service",
            PrincipalType::Federated => "Federated",
            PrincipalType::CanonicalUser => "CanonicalUser",
        }
    }
    fn from_key(key: &str) -> Option<Self> {
        match key {
            "AWS" => Some(PrincipalType::Aws),
            "Service" => Some(PrincipalType::Service),
            "Federated" => Some(PrincipalType::Federated),
            "CanonicalUser" => Some(PrincipalType::CanonicalUser),
            _ => None,
        }
    }
}

/// The value of `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principals {
    /// `"*"`: everyone.
    Everyone,
    /// An object of principal types to one or many identifiers, in order.
    Named(Vec<(PrincipalType, OneOrMany<String>)>),
}

impl Principals {
    /// The identifiers of one principal type, in document order.
    pub fn of_type(&self, kind: PrincipalType) -> impl Iterator<Item = &str> {
        let named: &[(PrincipalType, OneOrMany<String>)] = match self {
            Principals::Everyone => &[],
            Principals::Named(named) => named,
        };
        named
            .iter()
            .filter(move |(k, _)| *k == kind)
            .flat_map(|(_, values)| values.iter().map(String::as_str))
    }
}

/// A value in a condition: IAM accepts strings, numbers and booleans, and
/// the document's choice is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionValue {
    /// A JSON string.
    String(String),
    /// An unquoted JSON number, as written.
    Number(String),
    /// An unquoted JSON boolean.
    Bool(bool),
}

impl ConditionValue {
    /// The value as text, which is how IAM compares it.
    pub fn as_str(&self) -> &str {
        match self {
            ConditionValue::String(s) | ConditionValue::Number(s) => s,
            ConditionValue::Bool(true) => "true",
            ConditionValue::Bool(false) => "false",
        }
    }
}

/// `ForAllValues:` or `ForAnyValue:`, the set qualifiers for multi-valued
/// context keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    /// Every request value must match (true when the key is absent).
    ForAllValues,
    /// At least one request value must match (false when absent).
    ForAnyValue,
}

/// The condition operators IAM defines, without qualifier or `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is named exactly as IAM spells it
pub enum OperatorKind {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

impl OperatorKind {
    /// Every operator, for lookups and tests.
    pub const ALL: [OperatorKind; 27] = [
        OperatorKind::StringEquals,
        OperatorKind::StringNotEquals,
        OperatorKind::StringEqualsIgnoreCase,
        OperatorKind::StringNotEqualsIgnoreCase,
        OperatorKind::StringLike,
        OperatorKind::StringNotLike,
        OperatorKind::NumericEquals,
        OperatorKind::NumericNotEquals,
        OperatorKind::NumericLessThan,
        OperatorKind::NumericLessThanEquals,
        OperatorKind::NumericGreaterThan,
        OperatorKind::NumericGreaterThanEquals,
        OperatorKind::DateEquals,
        OperatorKind::DateNotEquals,
        OperatorKind::DateLessThan,
        OperatorKind::DateLessThanEquals,
        OperatorKind::DateGreaterThan,
        OperatorKind::DateGreaterThanEquals,
        OperatorKind::Bool,
        OperatorKind::BinaryEquals,
        OperatorKind::IpAddress,
        OperatorKind::NotIpAddress,
        OperatorKind::ArnEquals,
        OperatorKind::ArnLike,
        OperatorKind::ArnNotEquals,
        OperatorKind::ArnNotLike,
        OperatorKind::Null,
    ];

    /// The operator's name as IAM spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            OperatorKind::StringEquals => "StringEquals",
            OperatorKind::StringNotEquals => "StringNotEquals",
            OperatorKind::StringEqualsIgnoreCase => "StringEqualsIgnoreCase",
            OperatorKind::StringNotEqualsIgnoreCase => "StringNotEqualsIgnoreCase",
            OperatorKind::StringLike => "StringLike",
            OperatorKind::StringNotLike => "StringNotLike",
            OperatorKind::NumericEquals => "NumericEquals",
            OperatorKind::NumericNotEquals => "NumericNotEquals",
            OperatorKind::NumericLessThan => "NumericLessThan",
            OperatorKind::NumericLessThanEquals => "NumericLessThanEquals",
            OperatorKind::NumericGreaterThan => "NumericGreaterThan",
            OperatorKind::NumericGreaterThanEquals => "NumericGreaterThanEquals",
            OperatorKind::DateEquals => "DateEquals",
            OperatorKind::DateNotEquals => "DateNotEquals",
            OperatorKind::DateLessThan => "DateLessThan",
            OperatorKind::DateLessThanEquals => "DateLessThanEquals",
            OperatorKind::DateGreaterThan => "DateGreaterThan",
            OperatorKind::DateGreaterThanEquals => "DateGreaterThanEquals",
            OperatorKind::Bool => "Bool",
            OperatorKind::BinaryEquals => "BinaryEquals",
            OperatorKind::IpAddress => "IpAddress",
            OperatorKind::NotIpAddress => "NotIpAddress",
            OperatorKind::ArnEquals => "ArnEquals",
            OperatorKind::ArnLike => "ArnLike",
            OperatorKind::ArnNotEquals => "ArnNotEquals",
            OperatorKind::ArnNotLike => "ArnNotLike",
            OperatorKind::Null => "Null",
        }
    }

    /// True for the operators that succeed when the value does *not* match
    /// (`StringNotEquals`, `NotIpAddress`, ...).
    pub fn is_negated(self) -> bool {
        matches!(
            self,
            OperatorKind::StringNotEquals
                | OperatorKind::StringNotEqualsIgnoreCase
                | OperatorKind::StringNotLike
                | OperatorKind::NumericNotEquals
                | OperatorKind::DateNotEquals
                | OperatorKind::NotIpAddress
                | OperatorKind::ArnNotEquals
                | OperatorKind::ArnNotLike
        )
    }
}

/// A condition operator as written: optional set qualifier, the operator,
/// optional `IfExists`. An operator IAM does not define is kept (so that
/// lints can report it); it never matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOperator {
    text: String,
    qualifier: Option<SetQualifier>,
    kind: Option<OperatorKind>,
    if_exists: bool,
}

impl ConditionOperator {
    /// Reads an operator name such as `ForAnyValue:StringLikeIfExists`.
    pub fn parse(text: &str) -> Self {
        let (qualifier, rest) = if let Some(rest) = text.strip_prefix("ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else if let Some(rest) = text.strip_prefix("ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else {
            (None, text)
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let kind = OperatorKind::ALL.into_iter().find(|k| k.as_str() == base);
        Self {
            text: text.to_owned(),
            qualifier,
            kind,
            if_exists,
        }
    }
    /// Builds the operator from its parts.
    pub fn new(qualifier: Option<SetQualifier>, kind: OperatorKind, if_exists: bool) -> Self {
        let mut text = String::new();
        match qualifier {
            Some(SetQualifier::ForAllValues) => text.push_str("ForAllValues:"),
            Some(SetQualifier::ForAnyValue) => text.push_str("ForAnyValue:"),
            None => {}
        }
        text.push_str(kind.as_str());
        if if_exists {
            text.push_str("IfExists");
        }
        Self {
            text,
            qualifier,
            kind: Some(kind),
            if_exists,
        }
    }
    /// The operator as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
    /// The set qualifier, if any.
    pub fn qualifier(&self) -> Option<SetQualifier> {
        self.qualifier
    }
    /// The operator, or `None` when IAM does not define it.
    pub fn kind(&self) -> Option<OperatorKind> {
        self.kind
    }
    /// True with the `IfExists` suffix.
    pub fn if_exists(&self) -> bool {
        self.if_exists
    }
}

/// One condition key and its values under an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// The context key, e.g. `aws:PrincipalOrgID`, as written.
    pub key: String,
    /// The values; any one matching is enough.
    pub values: OneOrMany<ConditionValue>,
}

/// One operator and its keys; all keys must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionBlock {
    /// The operator.
    pub operator: ConditionOperator,
    /// The keys, in document order.
    pub entries: Vec<ConditionEntry>,
}

/// The order in which a parsed document wrote its members, so that
/// serializing gives them back in that order. It is presentation only:
/// documents that differ in nothing but member order compare equal.
#[derive(Debug, Clone, Default)]
struct MemberOrder(Vec<&'static str>);

impl PartialEq for MemberOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for MemberOrder {}

impl MemberOrder {
    /// Sorts `members` (given in the conventional order) into the recorded
    /// order; members the document did not have keep the conventional
    /// order, after the recorded ones.
    fn arrange(&self, members: &mut [(String, JsonValue)]) {
        members.sort_by_key(|(name, _)| {
            self.0
                .iter()
                .position(|recorded| recorded == name)
                .unwrap_or(usize::MAX)
        });
    }
}

/// A statement: who (for resource policies), what, on which resources, and
/// under which conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement id.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    /// Who the statement applies to (resource and trust policies).
    pub principal: Option<Principals>,
    /// Everyone except these.
    pub not_principal: Option<Principals>,
    /// The actions, with `*` and `?` wildcards, case-insensitive.
    pub action: Option<OneOrMany<String>>,
    /// Every action except these.
    pub not_action: Option<OneOrMany<String>>,
    /// The resources, ARN patterns.
    pub resource: Option<OneOrMany<String>>,
    /// Every resource except these.
    pub not_resource: Option<OneOrMany<String>>,
    /// Operator blocks; all must match.
    pub condition: Option<Vec<ConditionBlock>>,
    member_order: MemberOrder,
}

impl Statement {
    /// A statement with this effect and nothing else; the builders and tests
    /// fill in the rest.
    pub fn new(effect: Effect) -> Self {
        Self {
            sid: None,
            effect,
            principal: None,
            not_principal: None,
            action: None,
            not_action: None,
            resource: None,
            not_resource: None,
            condition: None,
            member_order: MemberOrder::default(),
        }
    }
}

/// A whole policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDocument {
    /// The language version; `None` when the document has none (IAM then
    /// reads it as 2008-10-17).
    pub version: Option<PolicyVersion>,
    /// The optional policy id.
    pub id: Option<String>,
    /// One statement or an array of them.
    pub statement: OneOrMany<Statement>,
    member_order: MemberOrder,
}

impl PolicyDocument {
    /// A document with this version and these statements, and no Id.
    pub fn new(version: Option<PolicyVersion>, statement: OneOrMany<Statement>) -> Self {
        Self {
            version,
            id: None,
            statement,
            member_order: MemberOrder::default(),
        }
    }

    /// Parses a policy from JSON text.
    ///
    /// ```
    /// use streamgate_policy::document::PolicyDocument;
    /// let err = PolicyDocument::parse(r#"{"Statement":[{"Effect":"Permit","Action":"*"}]}"#).unwrap_err();
    /// assert_eq!(err.to_string(), r#"invalid value "Permit" at $.Statement[0].Effect: expected "Allow" or "Deny""#);
    /// ```
    pub fn parse(text: &str) -> Result<Self, PolicyParseError> {
        let value = json::parse(text)?;
        Self::from_json(&value)
    }

    /// Reads a policy from an already parsed JSON value.
    pub fn from_json(value: &JsonValue) -> Result<Self, PolicyParseError> {
        let root = JsonPath::root();
        let members = object(value, &root)?;
        let mut version = None;
        let mut id = None;
        let mut statement = None;
        let mut member_order = MemberOrder::default();
        for (key, value) in members {
            let path = root.key(key);
            if let Some(name) = ["Version", "Id", "Statement"]
                .into_iter()
                .find(|n| n == key)
            {
                member_order.0.push(name);
            }
            match key.as_str() {
                "Version" => {
                    let text = string(value, &path)?;
                    version = Some(match text {
                        "2012-10-17" => PolicyVersion::V2012_10_17,
                        "2008-10-17" => PolicyVersion::V2008_10_17,
                        _ => {
                            return Err(PolicyParseError::InvalidValue {
                                path,
                                value: text.to_owned(),
                                reason: "expected \"2012-10-17\" or \"2008-10-17\"",
                            });
                        }
                    });
                }
                "Id" => id = Some(string(value, &path)?.to_owned()),
                "Statement" => {
                    statement = Some(match value {
                        JsonValue::Array(items) => OneOrMany::Many(
                            items
                                .iter()
                                .enumerate()
                                .map(|(i, item)| parse_statement(item, &path.index(i)))
                                .collect::<Result<_, _>>()?,
                        ),
                        other => OneOrMany::One(parse_statement(other, &path)?),
                    });
                }
                _ => {
                    return Err(PolicyParseError::UnknownField {
                        path: root,
                        field: key.clone(),
                    });
                }
            }
        }
        let statement = statement.ok_or(PolicyParseError::MissingField {
            path: root,
            field: "Statement",
        })?;
        Ok(Self {
            version,
            id,
            statement,
            member_order,
        })
    }

    /// The statements, whichever shape they were written in.
    pub fn statements(&self) -> &[Statement] {
        self.statement.as_slice()
    }

    /// True when `${...}` in resources and condition values is a policy
    /// variable (only under version 2012-10-17).
    pub fn substitutes_variables(&self) -> bool {
        self.version == Some(PolicyVersion::V2012_10_17)
    }

    /// The document as a JSON value.
    pub fn to_json_value(&self) -> JsonValue {
        let mut members = Vec::new();
        if let Some(version) = self.version {
            members.push(("Version".to_owned(), str_value(version.as_str())));
        }
        if let Some(id) = &self.id {
            members.push(("Id".to_owned(), str_value(id)));
        }
        let statement = match &self.statement {
            OneOrMany::One(s) => statement_json(s),
            OneOrMany::Many(list) => JsonValue::Array(list.iter().map(statement_json).collect()),
        };
        members.push(("Statement".to_owned(), statement));
        self.member_order.arrange(&mut members);
        JsonValue::Object(members)
    }

    /// Compact JSON text.
    pub fn to_json(&self) -> String {
        self.to_json_value().to_compact_string()
    }

    /// JSON text indented by four spaces.
    pub fn to_json_pretty(&self) -> String {
        self.to_json_value().to_pretty_string()
    }
}

impl fmt::Display for PolicyDocument {
    /// The pretty JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_pretty())
    }
}

impl std::str::FromStr for PolicyDocument {
    type Err = PolicyParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

fn str_value(s: &str) -> JsonValue {
    JsonValue::String(s.to_owned())
}

fn strings_json(values: &OneOrMany<String>) -> JsonValue {
    match values {
        OneOrMany::One(s) => str_value(s),
        OneOrMany::Many(list) => JsonValue::Array(list.iter().map(|s| str_value(s)).collect()),
    }
}

fn principals_json(principals: &Principals) -> JsonValue {
    match principals {
        Principals::Everyone => str_value("*"),
        Principals::Named(named) => JsonValue::Object(
            named
                .iter()
                .map(|(kind, values)| (kind.as_str().to_owned(), strings_json(values)))
                .collect(),
        ),
    }
}

fn condition_value_json(value: &ConditionValue) -> JsonValue {
    match value {
        ConditionValue::String(s) => str_value(s),
        ConditionValue::Number(n) => JsonValue::Number(n.clone()),
        ConditionValue::Bool(b) => JsonValue::Bool(*b),
    }
}

fn statement_json(statement: &Statement) -> JsonValue {
    let mut members = Vec::new();
    if let Some(sid) = &statement.sid {
        members.push(("Sid".to_owned(), str_value(sid)));
    }
    members.push(("Effect".to_owned(), str_value(statement.effect.as_str())));
    if let Some(p) = &statement.principal {
        members.push(("Principal".to_owned(), principals_json(p)));
    }
    if let Some(p) = &statement.not_principal {
        members.push(("NotPrincipal".to_owned(), principals_json(p)));
    }
    for (name, values) in [
        ("Action", &statement.action),
        ("NotAction", &statement.not_action),
        ("Resource", &statement.resource),
        ("NotResource", &statement.not_resource),
    ] {
        if let Some(values) = values {
            members.push((name.to_owned(), strings_json(values)));
        }
    }
    if let Some(blocks) = &statement.condition {
        let blocks = blocks
            .iter()
            .map(|block| {
                let entries = block
                    .entries
                    .iter()
                    .map(|entry| {
                        let values = match &entry.values {
                            OneOrMany::One(v) => condition_value_json(v),
                            OneOrMany::Many(list) => {
                                JsonValue::Array(list.iter().map(condition_value_json).collect())
                            }
                        };
                        (entry.key.clone(), values)
                    })
                    .collect();
                (
                    block.operator.as_str().to_owned(),
                    JsonValue::Object(entries),
                )
            })
            .collect();
        members.push(("Condition".to_owned(), JsonValue::Object(blocks)));
    }
    statement.member_order.arrange(&mut members);
    JsonValue::Object(members)
}

fn object<'v>(
    value: &'v JsonValue,
    path: &JsonPath,
) -> Result<&'v [(String, JsonValue)], PolicyParseError> {
    match value {
        JsonValue::Object(members) => Ok(members),
        other => Err(PolicyParseError::WrongType {
            path: path.clone(),
            expected: "an object",
            found: other.type_name(),
        }),
    }
}

fn string<'v>(value: &'v JsonValue, path: &JsonPath) -> Result<&'v str, PolicyParseError> {
    match value {
        JsonValue::String(s) => Ok(s),
        other => Err(PolicyParseError::WrongType {
            path: path.clone(),
            expected: "a string",
            found: other.type_name(),
        }),
    }
}

fn strings(value: &JsonValue, path: &JsonPath) -> Result<OneOrMany<String>, PolicyParseError> {
    match value {
        JsonValue::String(s) => Ok(OneOrMany::One(s.clone())),
        JsonValue::Array(items) => Ok(OneOrMany::Many(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| string(item, &path.index(i)).map(str::to_owned))
                .collect::<Result<_, _>>()?,
        )),
        other => Err(PolicyParseError::WrongType {
            path: path.clone(),
            expected: "a string or an array of strings",
            found: other.type_name(),
        }),
    }
}

fn parse_principals(value: &JsonValue, path: &JsonPath) -> Result<Principals, PolicyParseError> {
    match value {
        JsonValue::String(s) if s == "*" => Ok(Principals::Everyone),
        JsonValue::String(s) => Err(PolicyParseError::InvalidValue {
            path: path.clone(),
            value: s.clone(),
            reason: "a principal is \"*\" or an object such as {\"AWS\": \"...\"}",
        }),
        JsonValue::Object(members) => {
            let mut named = Vec::with_capacity(members.len());
            for (key, value) in members {
                let kind =
                    PrincipalType::from_key(key).ok_or_else(|| PolicyParseError::UnknownField {
                        path: path.clone(),
                        field: key.clone(),
                    })?;
                named.push((kind, strings(value, &path.key(key))?));
            }
            Ok(Principals::Named(named))
        }
        other => Err(PolicyParseError::WrongType {
            path: path.clone(),
            expected: "\"*\" or an object",
            found: other.type_name(),
        }),
    }
}

fn parse_condition_value(
    value: &JsonValue,
    path: &JsonPath,
) -> Result<ConditionValue, PolicyParseError> {
    match value {
        JsonValue::String(s) => Ok(ConditionValue::String(s.clone())),
        JsonValue::Number(n) => Ok(ConditionValue::Number(n.clone())),
        JsonValue::Bool(b) => Ok(ConditionValue::Bool(*b)),
        other => Err(PolicyParseError::WrongType {
            path: path.clone(),
            expected: "a string, number or boolean",
            found: other.type_name(),
        }),
    }
}

fn parse_condition(
    value: &JsonValue,
    path: &JsonPath,
) -> Result<Vec<ConditionBlock>, PolicyParseError> {
    let mut blocks = Vec::new();
    for (operator, block) in object(value, path)? {
        let block_path = path.key(operator);
        let mut entries: Vec<ConditionEntry> = Vec::new();
        for (key, values) in object(block, &block_path)? {
            if entries.iter().any(|e| e.key.eq_ignore_ascii_case(key)) {
                return Err(PolicyParseError::DuplicateConditionKey {
                    path: block_path,
                    key: key.clone(),
                });
            }
            let key_path = block_path.key(key);
            let values = match values {
                JsonValue::Array(items) => OneOrMany::Many(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| parse_condition_value(item, &key_path.index(i)))
                        .collect::<Result<_, _>>()?,
                ),
                other => OneOrMany::One(parse_condition_value(other, &key_path)?),
            };
            entries.push(ConditionEntry {
                key: key.clone(),
                values,
            });
        }
        blocks.push(ConditionBlock {
            operator: ConditionOperator::parse(operator),
            entries,
        });
    }
    Ok(blocks)
}

/// The members a statement may have, in the conventional order.
const STATEMENT_MEMBERS: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

fn parse_statement(value: &JsonValue, path: &JsonPath) -> Result<Statement, PolicyParseError> {
    let members = object(value, path)?;
    let mut effect = None;
    let mut statement = Statement::new(Effect::Allow);
    for (key, value) in members {
        let member_path = path.key(key);
        if let Some(name) = STATEMENT_MEMBERS.into_iter().find(|n| n == key) {
            statement.member_order.0.push(name);
        }
        match key.as_str() {
            "Sid" => statement.sid = Some(string(value, &member_path)?.to_owned()),
            "Effect" => {
                let text = string(value, &member_path)?;
                effect = Some(match text {
                    "Allow" => Effect::Allow,
                    "Deny" => Effect::Deny,
                    _ => {
                        return Err(PolicyParseError::InvalidValue {
                            path: member_path,
                            value: text.to_owned(),
                            reason: "expected \"Allow\" or \"Deny\"",
                        });
                    }
                });
            }
            "Principal" => statement.principal = Some(parse_principals(value, &member_path)?),
            "NotPrincipal" => {
                statement.not_principal = Some(parse_principals(value, &member_path)?);
            }
            "Action" => statement.action = Some(strings(value, &member_path)?),
            "NotAction" => statement.not_action = Some(strings(value, &member_path)?),
            "Resource" => statement.resource = Some(strings(value, &member_path)?),
            "NotResource" => statement.not_resource = Some(strings(value, &member_path)?),
            "Condition" => statement.condition = Some(parse_condition(value, &member_path)?),
            _ => {
                return Err(PolicyParseError::UnknownField {
                    path: path.clone(),
                    field: key.clone(),
                });
            }
        }
    }
    statement.effect = effect.ok_or_else(|| PolicyParseError::MissingField {
        path: path.clone(),
        field: "Effect",
    })?;
    let pairs = [
        (
            "Principal",
            statement.principal.is_some(),
            "NotPrincipal",
            statement.not_principal.is_some(),
        ),
        (
            "Action",
            statement.action.is_some(),
            "NotAction",
            statement.not_action.is_some(),
        ),
        (
            "Resource",
            statement.resource.is_some(),
            "NotResource",
            statement.not_resource.is_some(),
        ),
    ];
    for (first, has_first, second, has_second) in pairs {
        if has_first && has_second {
            return Err(PolicyParseError::Conflict {
                path: path.clone(),
                first,
                second,
            });
        }
    }
    if statement.action.is_none() && statement.not_action.is_none() {
        return Err(PolicyParseError::MissingField {
            path: path.clone(),
            field: "Action",
        });
    }
    Ok(statement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Parses `input`, then prints the compact serialization, or the error.
    fn check(input: &str, expected: Expect) {
        let actual = match PolicyDocument::parse(input) {
            Ok(doc) => {
                let text = doc.to_json();
                let again = PolicyDocument::parse(&text).unwrap();
                assert_eq!(
                    again, doc,
                    "re-parsing the serialization changed the document"
                );
                text
            }
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn shapes_survive_the_round_trip() {
        check(
            r#"{
                "Version": "2012-10-17",
                "Id": "stream-read",
                "Statement": [{
                    "Sid": "Read",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam::111111111111:role/c"], "Service": "lambda.amazonaws.com"},
                    "Action": "dynamodb:GetRecords",
                    "Resource": ["arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/2024-01-01T00:00:00.000"],
                    "Condition": {
                        "NumericLessThan": {"aws:MultiFactorAuthAge": 3600.50},
                        "Bool": {"aws:SecureTransport": true},
                        "ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b"]}
                    }
                }]
            }"#,
            expect![[
                r#"{"Version":"2012-10-17","Id":"stream-read","Statement":[{"Sid":"Read","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/c"],"Service":"lambda.amazonaws.com"},"Action":"dynamodb:GetRecords","Resource":["arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/2024-01-01T00:00:00.000"],"Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":3600.50},"Bool":{"aws:SecureTransport":true},"ForAnyValue:StringLikeIfExists":{"aws:TagKeys":["a*","b"]}}}]}"#
            ]],
        );
        check(
            r#"{"Statement": {"Effect": "Deny", "NotPrincipal": "*", "NotAction": ["s3:*"], "NotResource": "*"}}"#,
            expect![[
                r#"{"Statement":{"Effect":"Deny","NotPrincipal":"*","NotAction":["s3:*"],"NotResource":"*"}}"#
            ]],
        );
    }

    #[test]
    fn member_order_is_kept_but_does_not_change_equality() {
        let text = r#"{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow","Sid":"x"}],"Version":"2012-10-17"}"#;
        check(
            text,
            expect![[
                r#"{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow","Sid":"x"}],"Version":"2012-10-17"}"#
            ]],
        );
        let mut doc = PolicyDocument::parse(text).unwrap();
        let canonical = PolicyDocument::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"x","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .unwrap();
        assert_eq!(doc, canonical);
        // Members added after parsing go after the recorded ones.
        if let OneOrMany::Many(list) = &mut doc.statement {
            list[0].not_principal = Some(Principals::Everyone);
            list[0].sid = None;
        }
        doc.id = Some("i".to_owned());
        expect![[r#"{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow","NotPrincipal":"*"}],"Version":"2012-10-17","Id":"i"}"#]]
            .assert_eq(&doc.to_json());
    }

    #[test]
    fn errors_name_the_json_path() {
        check(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*"}, {"Effect": "Allow", "Action": 3}]}"#,
            expect![
                "error: $.Statement[1].Action must be a string or an array of strings, found a number"
            ],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"StringEquals": {"aws:SourceIp": "a", "AWS:sourceip": "b"}}}]}"#,
            expect![[
                r#"error: duplicate condition key "AWS:sourceip" at $.Statement[0].Condition.StringEquals (condition keys are case-insensitive)"#
            ]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Resource": "x"}]}"#,
            expect![[r#"error: duplicate key "Resource" at $.Statement[0]"#]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "x"}]}"#,
            expect![[r#"error: $.Statement[0] has both "Action" and "NotAction""#]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Resource": "*"}]}"#,
            expect![[r#"error: $.Statement[0] has no "Action""#]],
        );
        check(
            r#"{"Statement": [{"Action": "*"}]}"#,
            expect![[r#"error: $.Statement[0] has no "Effect""#]],
        );
        check(
            r#"{"Version": "2012-10-18", "Statement": []}"#,
            expect![[
                r#"error: invalid value "2012-10-18" at $.Version: expected "2012-10-17" or "2008-10-17""#
            ]],
        );
        check(
            r#"{"Version": "2012-10-17"}"#,
            expect![[r#"error: $ has no "Statement""#]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Principal": {"Aws": "x"}}]}"#,
            expect![[r#"error: unknown member "Aws" at $.Statement[0].Principal"#]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Principal": "arn:aws:iam::111111111111:root"}]}"#,
            expect![[
                r#"error: invalid value "arn:aws:iam::111111111111:root" at $.Statement[0].Principal: a principal is "*" or an object such as {"AWS": "..."}"#
            ]],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"Null": {"k": null}}}]}"#,
            expect![
                "error: $.Statement[0].Condition.Null.k must be a string, number or boolean, found null"
            ],
        );
        check(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resources": "*"}]}"#,
            expect![[r#"error: unknown member "Resources" at $.Statement[0]"#]],
        );
        check(
            r#"[]"#,
            expect!["error: $ must be an object, found an array"],
        );
    }

    #[test]
    fn operators_split_into_their_parts() {
        let parts = |text: &str| {
            let op = ConditionOperator::parse(text);
            format!("{:?} {:?} {}", op.qualifier(), op.kind(), op.if_exists())
        };
        expect![[r#"Some(ForAllValues) Some(StringLike) true"#]]
            .assert_eq(&parts("ForAllValues:StringLikeIfExists"));
        expect!["None None false"].assert_eq(&parts("StringMatches"));
        expect!["None Some(Null) true"].assert_eq(&parts("NullIfExists"));
        for kind in OperatorKind::ALL {
            assert_eq!(ConditionOperator::parse(kind.as_str()).kind(), Some(kind));
        }
    }
}
