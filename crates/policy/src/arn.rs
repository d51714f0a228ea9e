//! Amazon Resource Names: a general [`Arn`] and the typed ARNs this system
//! handles ([`TableArn`], [`StreamArn`], [`RoleArn`], [`AssumedRoleArn`],
//! [`FunctionArn`]), plus [`AccountId`].
//!
//! An ARN is `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`. The resource
//! part may itself contain colons (a stream label is a timestamp such as
//! `2024-05-01T12:00:00.000`), so parsing splits on the first five colons
//! only and keeps the rest whole.
//!
//! Every typed ARN parses with [`str::parse`], prints back byte for byte with
//! [`Display`](fmt::Display), converts into the general [`Arn`], and
//! serializes as its string.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a string is not the ARN that was asked for.
///
/// Every variant carries the offending string, so a message can always say
/// which value was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArnError {
    /// The string does not start with `arn:` or has fewer than six
    /// colon-separated parts.
    #[error("not an ARN: {value:?} (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)")]
    Malformed {
        /// The string that was parsed.
        value: String,
    },
    /// A part that must not be empty is empty.
    #[error("ARN {value:?} has an empty {part}")]
    EmptyPart {
        /// The string that was parsed.
        value: String,
        /// Which part: `partition`, `service`, `region`, `account` or `resource`.
        part: &'static str,
    },
    /// The ARN belongs to another service than the typed ARN expects.
    #[error("ARN {value:?} is for service {found:?}, expected {expected:?}")]
    WrongService {
        /// The string that was parsed.
        value: String,
        /// The service the typed ARN expects.
        expected: &'static str,
        /// The service the string names.
        found: String,
    },
    /// The resource part is not of the shape the typed ARN expects.
    #[error("ARN {value:?} is not a {kind} ARN: expected a resource of the form {expected}")]
    WrongResource {
        /// The string that was parsed.
        value: String,
        /// The kind of ARN asked for, e.g. `DynamoDB stream`.
        kind: &'static str,
        /// The expected shape of the resource part.
        expected: &'static str,
    },
    /// The account part is not twelve ASCII digits.
    #[error("{value:?} has account {account:?}, which is not a 12-digit account id")]
    InvalidAccount {
        /// The string that was parsed.
        value: String,
        /// The account part found.
        account: String,
    },
    /// A name inside the resource part breaks the service's naming rules.
    #[error("ARN {value:?} has an invalid {what} {name:?}: {rule}")]
    InvalidName {
        /// The string that was parsed.
        value: String,
        /// What the name is, e.g. `table name`.
        what: &'static str,
        /// The offending name.
        name: String,
        /// The rule it breaks.
        rule: &'static str,
    },
}

/// A 12-digit AWS account id.
///
/// ```
/// use streamgate_policy::arn::AccountId;
/// let a: AccountId = "111111111111".parse()?;
/// assert_eq!(a.root_arn().to_string(), "arn:aws:iam::111111111111:root");
/// assert!("1111".parse::<AccountId>().is_err());
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(String);

impl AccountId {
    /// The account id as its 12 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The ARN of the account's root principal, `arn:aws:iam::ID:root`: what
    /// an account id written as a principal means.
    pub fn root_arn(&self) -> Arn {
        self.root_arn_in("aws")
    }

    /// The root principal ARN in another partition (`aws-cn`, `aws-us-gov`).
    pub fn root_arn_in(&self, partition: &str) -> Arn {
        Arn {
            partition: partition.to_owned(),
            service: "iam".to_owned(),
            region: String::new(),
            account: self.0.clone(),
            resource: "root".to_owned(),
        }
    }

    fn check(value: &str, account: &str) -> Result<Self, ArnError> {
        if is_account_id(account) {
            Ok(Self(account.to_owned()))
        } else {
            Err(ArnError::InvalidAccount {
                value: value.to_owned(),
                account: account.to_owned(),
            })
        }
    }
}

/// True when `s` is exactly twelve ASCII digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

impl FromStr for AccountId {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::check(s, s)
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Any ARN, split into its six parts.
///
/// ```
/// use streamgate_policy::arn::Arn;
/// let arn: Arn = "arn:aws:dynamodb:us-east-1:222222222222:table/t/stream/2024-01-01T00:00:00.000".parse()?;
/// assert_eq!(arn.service(), "dynamodb");
/// assert_eq!(arn.resource(), "table/t/stream/2024-01-01T00:00:00.000");
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arn {
    partition: String,
    service: String,
    region: String,
    account: String,
    resource: String,
}

impl Arn {
    /// Builds an ARN from its parts; the parts are taken as given.
    pub fn new(
        partition: impl Into<String>,
        service: impl Into<String>,
        region: impl Into<String>,
        account: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        Self {
            partition: partition.into(),
            service: service.into(),
            region: region.into(),
            account: account.into(),
            resource: resource.into(),
        }
    }

    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub fn partition(&self) -> &str {
        &self.partition
    }
    /// The service namespace, e.g. `dynamodb`, `iam`, `lambda`.
    pub fn service(&self) -> &str {
        &self.service
    }
    /// The Region; empty for global services such as IAM.
    pub fn region(&self) -> &str {
        &self.region
    }
    /// The account; empty for some AWS-owned resources (managed policies).
    pub fn account(&self) -> &str {
        &self.account
    }
    /// Everything after the fifth colon, colons included.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Splits an ARN on its first five colons without checking any part.
    /// Used by wildcard matching, where parts may be patterns.
    pub fn split_parts(s: &str) -> Option<[&str; 6]> {
        let mut it = s.splitn(6, ':');
        let parts = [
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
            it.next()?,
        ];
        Some(parts)
    }
}

impl FromStr for Arn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let malformed = || ArnError::Malformed {
            value: s.to_owned(),
        };
        let [prefix, partition, service, region, account, resource] =
            Self::split_parts(s).ok_or_else(malformed)?;
        if prefix != "arn" {
            return Err(malformed());
        }
        for (part, text) in [
            ("partition", partition),
            ("service", service),
            ("resource", resource),
        ] {
            if text.is_empty() {
                return Err(ArnError::EmptyPart {
                    value: s.to_owned(),
                    part,
                });
            }
        }
        Ok(Self::new(partition, service, region, account, resource))
    }
}

impl fmt::Display for Arn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arn:{}:{}:{}:{}:{}",
            self.partition, self.service, self.region, self.account, self.resource
        )
    }
}

/// Parses `s` as an ARN of `service`.
fn of_service(s: &str, service: &'static str) -> Result<Arn, ArnError> {
    let arn: Arn = s.parse()?;
    if arn.service != service {
        return Err(ArnError::WrongService {
            value: s.to_owned(),
            expected: service,
            found: arn.service,
        });
    }
    Ok(arn)
}

/// Parses `s` as an ARN of `service` in a concrete Region and account.
fn regional(s: &str, service: &'static str) -> Result<(Arn, AccountId), ArnError> {
    let arn = of_service(s, service)?;
    if arn.region.is_empty() {
        return Err(ArnError::EmptyPart {
            value: s.to_owned(),
            part: "region",
        });
    }
    let account = AccountId::check(s, &arn.account)?;
    Ok((arn, account))
}

/// Parses `s` as an ARN of a global service (`iam`, `sts`): no Region.
fn global(s: &str, service: &'static str) -> Result<(Arn, AccountId), ArnError> {
    let arn = of_service(s, service)?;
    let account = AccountId::check(s, &arn.account)?;
    Ok((arn, account))
}

/// What a name inside an ARN may be: a length in bytes and the bytes allowed.
struct NameRule {
    /// What the name is, for errors (`table name`).
    what: &'static str,
    lengths: std::ops::RangeInclusive<usize>,
    allowed: fn(u8) -> bool,
    /// The rule in words, for errors.
    rule: &'static str,
}

impl NameRule {
    /// Checks `name`, found in the ARN `value`.
    fn check(&self, value: &str, name: &str) -> Result<(), ArnError> {
        if self.lengths.contains(&name.len()) && name.bytes().all(self.allowed) {
            Ok(())
        } else {
            Err(ArnError::InvalidName {
                value: value.to_owned(),
                what: self.what,
                name: name.to_owned(),
                rule: self.rule,
            })
        }
    }
}

/// DynamoDB table names: 3 to 255 of `a-z A-Z 0-9 _ - .`.
const TABLE_NAME: NameRule = NameRule {
    what: "table name",
    lengths: 3..=255,
    allowed: |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'),
    rule: "3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'",
};

/// IAM role names: 1 to 64 of `a-z A-Z 0-9 + = , . @ _ -`.
const ROLE_NAME: NameRule = NameRule {
    what: "role name",
    lengths: 1..=64,
    allowed: |b| {
        b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b',' | b'.' | b'@' | b'_' | b'-')
    },
    rule: "1 to 64 characters of a-z, A-Z, 0-9 and '+=,.@_-'",
};

/// Lambda function names: 1 to 64 of `a-z A-Z 0-9 _ -`.
const FUNCTION_NAME: NameRule = NameRule {
    what: "function name",
    lengths: 1..=64,
    allowed: |b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'),
    rule: "1 to 64 characters of a-z, A-Z, 0-9, '_' and '-'",
};

macro_rules! string_forms {
    ($ty:ident) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.arn, f)
            }
        }
        impl From<$ty> for Arn {
            fn from(typed: $ty) -> Arn {
                typed.arn
            }
        }
        impl AsRef<Arn> for $ty {
            fn as_ref(&self) -> &Arn {
                &self.arn
            }
        }
        impl $ty {
            /// The general form of this ARN.
            pub fn as_arn(&self) -> &Arn {
                &self.arn
            }
            /// The account that owns the resource.
            pub fn account(&self) -> &AccountId {
                &self.account
            }
            /// The partition, e.g. `aws`.
            pub fn partition(&self) -> &str {
                self.arn.partition()
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

impl Serialize for Arn {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Arn {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A DynamoDB table: `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME`.
///
/// ```
/// use streamgate_policy::arn::TableArn;
/// let t: TableArn = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents".parse()?;
/// assert_eq!(t.name(), "documents");
/// assert_eq!(t.region(), "eu-west-1");
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableArn {
    arn: Arn,
    account: AccountId,
}

impl TableArn {
    /// Builds the ARN of table `name` in `region` of `account`.
    pub fn new(region: &str, account: &AccountId, name: &str) -> Result<Self, ArnError> {
        format!("arn:aws:dynamodb:{region}:{account}:table/{name}").parse()
    }
    /// The table name.
    pub fn name(&self) -> &str {
        self.arn
            .resource()
            .get("table/".len()..)
            .unwrap_or_default()
    }
    /// The Region of the table.
    pub fn region(&self) -> &str {
        self.arn.region()
    }
    /// The ARN of one of this table's streams, identified by its label.
    pub fn stream(&self, label: &str) -> Result<StreamArn, ArnError> {
        format!("{self}/stream/{label}").parse()
    }
}

impl FromStr for TableArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (arn, account) = regional(s, "dynamodb")?;
        let name = arn
            .resource()
            .strip_prefix("table/")
            .filter(|name| !name.contains('/'))
            .ok_or_else(|| ArnError::WrongResource {
                value: s.to_owned(),
                kind: "DynamoDB table",
                expected: "table/NAME",
            })?;
        TABLE_NAME.check(s, name)?;
        Ok(Self { arn, account })
    }
}
string_forms!(TableArn);

/// A DynamoDB stream:
/// `arn:aws:dynamodb:REGION:ACCOUNT:table/NAME/stream/LABEL`, where the label
/// is a timestamp that contains colons.
///
/// ```
/// use streamgate_policy::arn::StreamArn;
/// let s: StreamArn =
///     "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse()?;
/// assert_eq!(s.table_arn().to_string(), "arn:aws:dynamodb:eu-west-1:222222222222:table/documents");
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamArn {
    arn: Arn,
    account: AccountId,
    /// Byte length of the table name inside the resource part.
    name_len: usize,
}

const STREAM_SHAPE: &str = "table/NAME/stream/LABEL";

impl StreamArn {
    /// The name of the table whose stream this is.
    pub fn table_name(&self) -> &str {
        let start = "table/".len();
        self.arn
            .resource()
            .get(start..start + self.name_len)
            .unwrap_or_default()
    }
    /// The stream label, e.g. `2024-05-01T12:00:00.000`.
    pub fn label(&self) -> &str {
        let start = "table/".len() + self.name_len + "/stream/".len();
        self.arn.resource().get(start..).unwrap_or_default()
    }
    /// The Region of the table and stream.
    pub fn region(&self) -> &str {
        self.arn.region()
    }
    /// The ARN of the table this stream belongs to.
    pub fn table_arn(&self) -> TableArn {
        let resource = format!("table/{}", self.table_name());
        TableArn {
            arn: Arn::new(
                self.arn.partition(),
                "dynamodb",
                self.arn.region(),
                self.account.as_str(),
                resource,
            ),
            account: self.account.clone(),
        }
    }
}

impl FromStr for StreamArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (arn, account) = regional(s, "dynamodb")?;
        let wrong = || ArnError::WrongResource {
            value: s.to_owned(),
            kind: "DynamoDB stream",
            expected: STREAM_SHAPE,
        };
        let rest = arn.resource().strip_prefix("table/").ok_or_else(wrong)?;
        let (name, label) = rest.split_once("/stream/").ok_or_else(wrong)?;
        if label.is_empty() || label.contains('/') {
            return Err(wrong());
        }
        TABLE_NAME.check(s, name)?;
        let name_len = name.len();
        Ok(Self {
            arn,
            account,
            name_len,
        })
    }
}
string_forms!(StreamArn);

/// An IAM role: `arn:aws:iam::ACCOUNT:role/PATH/NAME` (the path may be empty).
///
/// ```
/// use streamgate_policy::arn::RoleArn;
/// let r: RoleArn = "arn:aws:iam::111111111111:role/service/billing-consumer".parse()?;
/// assert_eq!(r.name(), "billing-consumer");
/// assert_eq!(r.path(), "/service/");
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoleArn {
    arn: Arn,
    account: AccountId,
}

impl RoleArn {
    /// Builds the ARN of role `name` (no path) in `account`.
    pub fn new(account: &AccountId, name: &str) -> Result<Self, ArnError> {
        format!("arn:aws:iam::{account}:role/{name}").parse()
    }
    /// The role name, the last path segment.
    pub fn name(&self) -> &str {
        let resource = self.arn.resource();
        resource.rsplit('/').next().unwrap_or(resource)
    }
    /// The role path, `/` when none, otherwise `/a/b/`.
    pub fn path(&self) -> &str {
        let resource = self.arn.resource();
        let end = resource.len() - self.name().len();
        resource.get("role".len()..end).unwrap_or("/")
    }
}

impl FromStr for RoleArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (arn, account) = global(s, "iam")?;
        let wrong = || ArnError::WrongResource {
            value: s.to_owned(),
            kind: "IAM role",
            expected: "role/NAME or role/PATH/NAME",
        };
        if !arn.region().is_empty() {
            return Err(wrong());
        }
        let rest = arn.resource().strip_prefix("role/").ok_or_else(wrong)?;
        let name = rest.rsplit('/').next().unwrap_or(rest);
        ROLE_NAME.check(s, name)?;
        Ok(Self { arn, account })
    }
}
string_forms!(RoleArn);

/// An assumed-role session, the principal a role's temporary credentials act
/// as: `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
///
/// ```
/// use streamgate_policy::arn::AssumedRoleArn;
/// let s: AssumedRoleArn = "arn:aws:sts::111111111111:assumed-role/billing-consumer/poller".parse()?;
/// assert_eq!(s.role_name(), "billing-consumer");
/// assert_eq!(s.session_name(), "poller");
/// assert_eq!(s.role_arn().to_string(), "arn:aws:iam::111111111111:role/billing-consumer");
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssumedRoleArn {
    arn: Arn,
    account: AccountId,
    /// Byte length of the role name inside the resource part.
    role_len: usize,
}

impl AssumedRoleArn {
    /// The name of the assumed role (without its path, as AWS writes it).
    pub fn role_name(&self) -> &str {
        let start = "assumed-role/".len();
        self.arn
            .resource()
            .get(start..start + self.role_len)
            .unwrap_or_default()
    }
    /// The session name given to AssumeRole.
    pub fn session_name(&self) -> &str {
        let start = "assumed-role/".len() + self.role_len + 1;
        self.arn.resource().get(start..).unwrap_or_default()
    }
    /// The role ARN, without path: session ARNs do not carry the role's path.
    pub fn role_arn(&self) -> RoleArn {
        RoleArn {
            arn: Arn::new(
                self.arn.partition(),
                "iam",
                "",
                self.account.as_str(),
                format!("role/{}", self.role_name()),
            ),
            account: self.account.clone(),
        }
    }
}

impl FromStr for AssumedRoleArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (arn, account) = global(s, "sts")?;
        let wrong = || ArnError::WrongResource {
            value: s.to_owned(),
            kind: "STS assumed-role session",
            expected: "assumed-role/ROLE/SESSION",
        };
        let rest = arn
            .resource()
            .strip_prefix("assumed-role/")
            .ok_or_else(wrong)?;
        let (role, session) = rest.split_once('/').ok_or_else(wrong)?;
        if session.is_empty() || session.contains('/') {
            return Err(wrong());
        }
        ROLE_NAME.check(s, role)?;
        let role_len = role.len();
        Ok(Self {
            arn,
            account,
            role_len,
        })
    }
}
string_forms!(AssumedRoleArn);

/// A Lambda function: `arn:aws:lambda:REGION:ACCOUNT:function:NAME`, with an
/// optional `:QUALIFIER` (a version or an alias).
///
/// ```
/// use streamgate_policy::arn::FunctionArn;
/// let f: FunctionArn = "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:live".parse()?;
/// assert_eq!(f.name(), "billing-aggregator");
/// assert_eq!(f.qualifier(), Some("live"));
/// # Ok::<(), streamgate_policy::arn::ArnError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FunctionArn {
    arn: Arn,
    account: AccountId,
}

impl FunctionArn {
    /// Builds the unqualified ARN of function `name`.
    pub fn new(region: &str, account: &AccountId, name: &str) -> Result<Self, ArnError> {
        format!("arn:aws:lambda:{region}:{account}:function:{name}").parse()
    }
    fn parts(&self) -> (&str, Option<&str>) {
        let rest = self
            .arn
            .resource()
            .get("function:".len()..)
            .unwrap_or_default();
        match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        }
    }
    /// The function name.
    pub fn name(&self) -> &str {
        self.parts().0
    }
    /// The version or alias, when the ARN is qualified.
    pub fn qualifier(&self) -> Option<&str> {
        self.parts().1
    }
    /// The Region of the function.
    pub fn region(&self) -> &str {
        self.arn.region()
    }
}

impl FromStr for FunctionArn {
    type Err = ArnError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (arn, account) = regional(s, "lambda")?;
        let wrong = || ArnError::WrongResource {
            value: s.to_owned(),
            kind: "Lambda function",
            expected: "function:NAME or function:NAME:QUALIFIER",
        };
        let rest = arn.resource().strip_prefix("function:").ok_or_else(wrong)?;
        let (name, qualifier) = match rest.split_once(':') {
            Some((name, qualifier)) => (name, Some(qualifier)),
            None => (rest, None),
        };
        FUNCTION_NAME.check(s, name)?;
        let qualifier_ok = qualifier.is_none_or(|q| {
            (1..=128).contains(&q.len())
                && q.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$'))
        });
        if !qualifier_ok {
            return Err(wrong());
        }
        Ok(Self { arn, account })
    }
}
string_forms!(FunctionArn);

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Parses `input` as each typed ARN and prints what each made of it.
    fn check(input: &str, expected: Expect) {
        let mut out = String::new();
        let mut line = |kind: &str, result: Result<String, ArnError>| {
            let text = match result {
                Ok(parsed) => parsed,
                Err(e) => format!("error: {e}"),
            };
            out.push_str(&format!("{kind}: {text}\n"));
        };
        line(
            "arn",
            input.parse::<Arn>().map(|a| {
                format!(
                    "{} | {} | {} | {} | {}",
                    a.partition(),
                    a.service(),
                    a.region(),
                    a.account(),
                    a.resource()
                )
            }),
        );
        line(
            "table",
            input
                .parse::<TableArn>()
                .map(|t| format!("{} in {} of {}", t.name(), t.region(), t.account())),
        );
        line(
            "stream",
            input.parse::<StreamArn>().map(|s| {
                format!(
                    "{} label {} (table {})",
                    s.table_name(),
                    s.label(),
                    s.table_arn()
                )
            }),
        );
        line(
            "role",
            input
                .parse::<RoleArn>()
                .map(|r| format!("{} path {}", r.name(), r.path())),
        );
        line(
            "session",
            input
                .parse::<AssumedRoleArn>()
                .map(|r| format!("{} session {}", r.role_arn(), r.session_name())),
        );
        line(
            "function",
            input
                .parse::<FunctionArn>()
                .map(|f| format!("{} qualifier {:?}", f.name(), f.qualifier())),
        );
        expected.assert_eq(&out);
    }

    #[test]
    fn stream_label_keeps_its_colons() {
        check(
            "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
            expect![[r#"
                arn: aws | dynamodb | eu-west-1 | 222222222222 | table/documents/stream/2024-05-01T12:00:00.000
                table: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000" is not a DynamoDB table ARN: expected a resource of the form table/NAME
                stream: documents label 2024-05-01T12:00:00.000 (table arn:aws:dynamodb:eu-west-1:222222222222:table/documents)
                role: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000" is for service "dynamodb", expected "iam"
                session: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000" is for service "dynamodb", expected "sts"
                function: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000" is for service "dynamodb", expected "lambda"
            "#]],
        );
    }

    #[test]
    fn table() {
        check(
            "arn:aws:dynamodb:us-east-1:111111111111:table/tenant-usage",
            expect![[r#"
                arn: aws | dynamodb | us-east-1 | 111111111111 | table/tenant-usage
                table: tenant-usage in us-east-1 of 111111111111
                stream: error: ARN "arn:aws:dynamodb:us-east-1:111111111111:table/tenant-usage" is not a DynamoDB stream ARN: expected a resource of the form table/NAME/stream/LABEL
                role: error: ARN "arn:aws:dynamodb:us-east-1:111111111111:table/tenant-usage" is for service "dynamodb", expected "iam"
                session: error: ARN "arn:aws:dynamodb:us-east-1:111111111111:table/tenant-usage" is for service "dynamodb", expected "sts"
                function: error: ARN "arn:aws:dynamodb:us-east-1:111111111111:table/tenant-usage" is for service "dynamodb", expected "lambda"
            "#]],
        );
    }

    #[test]
    fn role_with_path_and_session() {
        check(
            "arn:aws:iam::111111111111:role/service/billing-consumer",
            expect![[r#"
                arn: aws | iam |  | 111111111111 | role/service/billing-consumer
                table: error: ARN "arn:aws:iam::111111111111:role/service/billing-consumer" is for service "iam", expected "dynamodb"
                stream: error: ARN "arn:aws:iam::111111111111:role/service/billing-consumer" is for service "iam", expected "dynamodb"
                role: billing-consumer path /service/
                session: error: ARN "arn:aws:iam::111111111111:role/service/billing-consumer" is for service "iam", expected "sts"
                function: error: ARN "arn:aws:iam::111111111111:role/service/billing-consumer" is for service "iam", expected "lambda"
            "#]],
        );
        check(
            "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller",
            expect![[r#"
                arn: aws | sts |  | 111111111111 | assumed-role/billing-consumer/esm-poller
                table: error: ARN "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller" is for service "sts", expected "dynamodb"
                stream: error: ARN "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller" is for service "sts", expected "dynamodb"
                role: error: ARN "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller" is for service "sts", expected "iam"
                session: arn:aws:iam::111111111111:role/billing-consumer session esm-poller
                function: error: ARN "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller" is for service "sts", expected "lambda"
            "#]],
        );
    }

    #[test]
    fn function_with_qualifier() {
        check(
            "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:$LATEST",
            expect![[r#"
                arn: aws | lambda | eu-west-1 | 111111111111 | function:billing-aggregator:$LATEST
                table: error: ARN "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:$LATEST" is for service "lambda", expected "dynamodb"
                stream: error: ARN "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:$LATEST" is for service "lambda", expected "dynamodb"
                role: error: ARN "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:$LATEST" is for service "lambda", expected "iam"
                session: error: ARN "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator:$LATEST" is for service "lambda", expected "sts"
                function: billing-aggregator qualifier Some("$LATEST")
            "#]],
        );
    }

    #[test]
    fn malformed_inputs_name_the_value() {
        check(
            "arn:aws:dynamodb:eu-west-1:2222:table/documents",
            expect![[r#"
                arn: aws | dynamodb | eu-west-1 | 2222 | table/documents
                table: error: "arn:aws:dynamodb:eu-west-1:2222:table/documents" has account "2222", which is not a 12-digit account id
                stream: error: "arn:aws:dynamodb:eu-west-1:2222:table/documents" has account "2222", which is not a 12-digit account id
                role: error: ARN "arn:aws:dynamodb:eu-west-1:2222:table/documents" is for service "dynamodb", expected "iam"
                session: error: ARN "arn:aws:dynamodb:eu-west-1:2222:table/documents" is for service "dynamodb", expected "sts"
                function: error: ARN "arn:aws:dynamodb:eu-west-1:2222:table/documents" is for service "dynamodb", expected "lambda"
            "#]],
        );
        check(
            "arn:aws:dynamodb",
            expect![[r#"
                arn: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
                table: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
                stream: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
                role: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
                session: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
                function: error: not an ARN: "arn:aws:dynamodb" (expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE)
            "#]],
        );
        check(
            "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x",
            expect![[r#"
                arn: aws | dynamodb | eu-west-1 | 222222222222 | table/a!/stream/x
                table: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x" is not a DynamoDB table ARN: expected a resource of the form table/NAME
                stream: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x" has an invalid table name "a!": 3 to 255 characters of a-z, A-Z, 0-9, '_', '-' and '.'
                role: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x" is for service "dynamodb", expected "iam"
                session: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x" is for service "dynamodb", expected "sts"
                function: error: ARN "arn:aws:dynamodb:eu-west-1:222222222222:table/a!/stream/x" is for service "dynamodb", expected "lambda"
            "#]],
        );
    }

    #[test]
    fn display_round_trips_and_serde_uses_the_string() {
        let text = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
        let stream: StreamArn = text.parse().unwrap();
        assert_eq!(stream.to_string(), text);
        let json = serde_json::to_string(&stream).unwrap();
        assert_eq!(json, format!("{text:?}"));
        let back: StreamArn = serde_json::from_str(&json).unwrap();
        assert_eq!(back, stream);
        let bad = serde_json::from_str::<StreamArn>("\"arn:aws:iam::1:root\"").unwrap_err();
        assert!(bad.to_string().contains("expected \"dynamodb\""), "{bad}");
    }

    #[test]
    fn constructors_build_valid_arns() {
        let account: AccountId = "222222222222".parse().unwrap();
        let table = TableArn::new("eu-west-1", &account, "documents").unwrap();
        let stream = table.stream("2024-05-01T12:00:00.000").unwrap();
        assert_eq!(stream.table_arn(), table);
        let role = RoleArn::new(&account, "billing-consumer").unwrap();
        assert_eq!(role.path(), "/");
        assert!(TableArn::new("eu-west-1", &account, "x").is_err());
        let f = FunctionArn::new("eu-west-1", &account, "f-1").unwrap();
        assert_eq!(f.qualifier(), None);
    }
}
