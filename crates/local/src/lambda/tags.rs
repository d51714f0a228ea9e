//! Tags on functions and event source mappings: TagResource
//! (`POST /2017-03-31/tags/ARN`), UntagResource (`DELETE
//! /2017-03-31/tags/ARN?tagKeys=K`), ListTags (`GET /2017-03-31/tags/ARN`),
//! CreateFunction's `Tags` and GetFunction's `Tags` (or `TagsError`), kept in
//! [`TagRegistry`] by the resource's unqualified ARN.
//!
//! Checked as AWS checks tags: a key of 1 to 128 characters, a value of 0
//! to 256, letters, digits, spaces and `_ . : / = + - @` only, no key
//! starting with the reserved `aws:`, at most 50 tags on a resource.
//! Versions and aliases cannot be tagged (their ARN is refused); the caller
//! must be in the resource's account (no resource policy grants tagging).

use super::functions::{FunctionKey, plain_access};
use super::json_reply;
use super::permissions::authorize_on_function;
use crate::authorize::authorize;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// The most tags a resource may have.
pub const MAX_TAGS: usize = 50;
/// The longest tag key, in characters.
pub const MAX_KEY_CHARS: usize = 128;
/// The longest tag value, in characters.
pub const MAX_VALUE_CHARS: usize = 256;

/// The tags of every taggable Lambda resource, by unqualified ARN.
#[derive(Debug, Default)]
pub struct TagRegistry {
    tags: Mutex<BTreeMap<String, BTreeMap<String, String>>>,
}

impl TagRegistry {
    /// The tags of the resource `arn` (empty when it has none).
    pub fn of(&self, arn: &str) -> BTreeMap<String, String> {
        lock(&self.tags).get(arn).cloned().unwrap_or_default()
    }

    /// Forgets every tag of `arn` (the resource is deleted).
    pub fn forget(&self, arn: &str) {
        lock(&self.tags).remove(arn);
    }

    /// Gives `arn` the tags `tags` (already checked by [`check_tags`]),
    /// keeping its others; refused when the result would be over
    /// [`MAX_TAGS`].
    pub(crate) fn merge(&self, arn: &str, tags: BTreeMap<String, String>) -> Result<(), ApiError> {
        let mut all = lock(&self.tags);
        let current = all.entry(arn.to_owned()).or_default();
        let added = tags.keys().filter(|k| !current.contains_key(*k)).count();
        let total = current.len().saturating_add(added);
        if total > MAX_TAGS {
            if current.is_empty() {
                all.remove(arn);
            }
            return Err(invalid(format!(
                "Tag limit exceeded: {arn} would have {total} tags; a resource may have at most {MAX_TAGS}"
            )));
        }
        current.extend(tags);
        Ok(())
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValueException, message)
}

/// Whether `text` has only the characters AWS allows in tags: letters,
/// digits, white space and `_ . : / = + - @`.
fn allowed_characters(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// Checks a tag key as AWS does.
fn check_key(key: &str) -> Result<(), ApiError> {
    let length = key.chars().count();
    if !(1..=MAX_KEY_CHARS).contains(&length) {
        return Err(invalid(format!(
            "Tag key '{key}' is {length} characters long; a tag key must be 1 to {MAX_KEY_CHARS} characters"
        )));
    }
    if key
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("aws:"))
    {
        return Err(invalid(format!(
            "Tag key '{key}' starts with the prefix 'aws:', which is reserved for AWS use"
        )));
    }
    if !allowed_characters(key) {
        return Err(invalid(format!(
            "Tag key '{key}' may only contain letters, digits, spaces and _ . : / = + - @"
        )));
    }
    Ok(())
}

/// Checks tags as AWS does before it stores any of them: each key and
/// value, and at most [`MAX_TAGS`] in one request.
pub(crate) fn check_tags(tags: &BTreeMap<String, String>) -> Result<(), ApiError> {
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!(
            "{} tags were given; a resource may have at most {MAX_TAGS}",
            tags.len()
        )));
    }
    for (key, value) in tags {
        check_key(key)?;
        let length = value.chars().count();
        if length > MAX_VALUE_CHARS {
            return Err(invalid(format!(
                "The value of tag '{key}' is {length} characters long; a tag value may have at most {MAX_VALUE_CHARS}"
            )));
        }
        if !allowed_characters(value) {
            return Err(invalid(format!(
                "The value of tag '{key}' may only contain letters, digits, spaces and _ . : / = + - @"
            )));
        }
    }
    Ok(())
}

/// A resource that can be tagged, as its ARN names it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Taggable {
    /// A function (unqualified).
    Function(FunctionKey),
    /// An event source mapping, by UUID, in this account and region.
    Mapping {
        account: String,
        region: String,
        uuid: String,
    },
    /// A code signing configuration or capacity provider, which this
    /// local cloud does not have.
    Absent,
}

/// The pattern of a taggable ARN, for the validation message.
const TAGGABLE_PATTERN: &str = "arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)";

/// Reads a resource ARN of a tags request.
fn parse_taggable(arn: &str) -> Result<Taggable, ApiError> {
    let malformed = || {
        ApiError::validation(format!(
            "1 validation error detected: Value '{arn}' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: {TAGGABLE_PATTERN}"
        ))
    };
    let parts: Vec<&str> = arn.split(':').collect();
    let (region, account, kind, name, qualifier) = match parts.as_slice() {
        ["arn", partition, "lambda", region, account, kind, name]
            if partition.starts_with("aws") =>
        {
            (*region, *account, *kind, *name, None)
        }
        [
            "arn",
            partition,
            "lambda",
            region,
            account,
            kind,
            name,
            qualifier,
        ] if partition.starts_with("aws") => (*region, *account, *kind, *name, Some(*qualifier)),
        _ => return Err(malformed()),
    };
    let digits =
        |text: &str, len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_digit());
    if region.is_empty() || !digits(account, 12) {
        return Err(malformed());
    }
    match (kind, qualifier) {
        ("function", qualifier) => {
            let valid_name = |text: &str| {
                !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            };
            if !valid_name(name) || name.len() > 64 {
                return Err(malformed());
            }
            if let Some(qualifier) = qualifier {
                if qualifier != "$LATEST" && !valid_name(qualifier) {
                    return Err(malformed());
                }
                return Err(invalid(
                    "Tags on function aliases and versions are not supported. Please specify a function ARN.",
                ));
            }
            Ok(Taggable::Function(FunctionKey {
                account: account.to_owned(),
                region: region.to_owned(),
                name: name.to_owned(),
            }))
        }
        ("event-source-mapping", None) => {
            let shape = [8, 4, 4, 4, 12];
            let groups: Vec<&str> = name.split('-').collect();
            let uuid_shaped = groups.len() == shape.len()
                && groups.iter().zip(shape).all(|(group, len)| {
                    group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit())
                });
            if !uuid_shaped {
                return Err(malformed());
            }
            Ok(Taggable::Mapping {
                account: account.to_owned(),
                region: region.to_owned(),
                uuid: name.to_owned(),
            })
        }
        // Kinds this local cloud has none of: well formed, never found.
        ("code-signing-config" | "capacity-provider", None) => Ok(Taggable::Absent),
        _ => Err(malformed()),
    }
}

/// Authorizes `action` on `arn` for `caller`, then checks that the resource
/// exists: what TagResource, UntagResource and ListTags share.
fn authorized_resource(
    cloud: &Cloud,
    caller: &Caller,
    arn: &str,
    action: &str,
) -> Result<(), ApiError> {
    let resource = parse_taggable(arn)?;
    let account = match &resource {
        Taggable::Function(key) => key.account.as_str(),
        Taggable::Mapping { account, .. } => account.as_str(),
        // The account part of a well-formed ARN: after the fourth colon.
        Taggable::Absent => arn.split(':').nth(4).unwrap_or_default(),
    };
    match &resource {
        // A function's policy may grant its tags, to another account too.
        Taggable::Function(key) => {
            authorize_on_function(cloud, caller, key, None, action, arn, &[])?;
        }
        _ => authorize(cloud, caller, &plain_access(action, arn, account))?,
    }
    let exists = match &resource {
        Taggable::Absent => false,
        Taggable::Function(key) => cloud.functions.get(key).is_some(),
        Taggable::Mapping {
            account,
            region,
            uuid,
        } => cloud
            .mappings
            .get(uuid)
            .is_some_and(|m| m.function.account == *account && m.function.region == *region),
    };
    if exists {
        return Ok(());
    }
    Err(match resource {
        Taggable::Function(_) => ApiError::not_found(format!("Function not found: {arn}")),
        Taggable::Mapping { uuid, .. } => ApiError::not_found(format!(
            "The resource you requested does not exist. (Event source mapping {uuid})"
        )),
        Taggable::Absent => ApiError::not_found(format!(
            "The resource you requested does not exist. ({arn})"
        )),
    })
}

/// Adds GetFunction's `Tags` (when the function `arn`, of `key`, has
/// any) to `body`: only for a caller allowed `lambda:ListTags` on it, as
/// Lambda gives them; anyone else gets `TagsError` with the denial.
pub(crate) fn add_to_get_function(
    cloud: &Cloud,
    caller: &Caller,
    key: &FunctionKey,
    arn: &str,
    body: &mut serde_json::Value,
) {
    let tags = cloud.lambda_tags.of(arn);
    let Some(object) = body.as_object_mut() else {
        return;
    };
    if tags.is_empty() {
        return;
    }
    match authorize_on_function(cloud, caller, key, None, "lambda:ListTags", arn, &[]) {
        Ok(()) => {
            object.insert("Tags".to_owned(), json!(tags));
        }
        Err(denied) => {
            object.insert(
                "TagsError".to_owned(),
                json!({ "ErrorCode": denied.code.as_str(), "Message": denied.message }),
            );
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagResourceInput {
    tags: Option<BTreeMap<String, String>>,
}

/// TagResource: adds `Tags` to the resource `arn`, replacing the values of
/// keys it already has.
pub fn tag_resource(
    cloud: &Cloud,
    caller: &Caller,
    arn: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: TagResourceInput = parse_json_body(body)?;
    let tags = input.tags.ok_or_else(|| {
        ApiError::validation(
            "1 validation error detected: Value null at 'tags' failed to satisfy constraint: Member must not be null",
        )
    })?;
    authorized_resource(cloud, caller, arn, "lambda:TagResource")?;
    check_tags(&tags)?;
    cloud.lambda_tags.merge(arn, tags)?;
    Ok(json_reply(204, ""))
}

/// UntagResource: removes the keys given as `tagKeys` (keys the resource
/// does not have are ignored, as on AWS).
pub fn untag_resource(
    cloud: &Cloud,
    caller: &Caller,
    arn: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let keys: Vec<&str> = query
        .iter()
        .filter(|(name, _)| name == "tagKeys")
        .map(|(_, value)| value.as_str())
        .collect();
    if keys.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: Member must not be null",
        ));
    }
    authorized_resource(cloud, caller, arn, "lambda:UntagResource")?;
    for key in &keys {
        check_key(key)?;
    }
    let mut all = lock(&cloud.lambda_tags.tags);
    if let Some(tags) = all.get_mut(arn) {
        for key in keys {
            tags.remove(key);
        }
        if tags.is_empty() {
            all.remove(arn);
        }
    }
    Ok(json_reply(204, ""))
}

/// ListTags: `{"Tags": {...}}` of the resource `arn`.
pub fn list_tags(cloud: &Cloud, caller: &Caller, arn: &str) -> Result<Reply, ApiError> {
    authorized_resource(cloud, caller, arn, "lambda:ListTags")?;
    let tags = cloud.lambda_tags.of(arn);
    Ok(json_reply(200, json!({ "Tags": tags }).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check_set(tags: &[(&str, &str)], expected: Expect) {
        let tags: BTreeMap<String, String> = tags
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let outcome = match check_tags(&tags) {
            Ok(()) => "ok".to_owned(),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&outcome);
    }

    #[test]
    fn tags_are_checked_as_aws_checks_them() {
        let long_key = "k".repeat(128);
        let too_long_key = "k".repeat(129);
        let long_value = "é".repeat(256);
        let too_long_value = "v".repeat(257);
        check_set(
            &[
                ("team", ""),
                (&long_key, &long_value),
                ("a b_.:/=+-@", "ü 1"),
            ],
            expect!["ok"],
        );
        check_set(
            &[("", "x")],
            expect![
                "InvalidParameterValueException: Tag key '' is 0 characters long; a tag key must be 1 to 128 characters"
            ],
        );
        check_set(
            &[(&too_long_key, "x")],
            expect![
                "InvalidParameterValueException: Tag key 'kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk' is 129 characters long; a tag key must be 1 to 128 characters"
            ],
        );
        check_set(
            &[("x", &too_long_value)],
            expect![
                "InvalidParameterValueException: The value of tag 'x' is 257 characters long; a tag value may have at most 256"
            ],
        );
        check_set(
            &[("AWS:owner", "x")],
            expect![
                "InvalidParameterValueException: Tag key 'AWS:owner' starts with the prefix 'aws:', which is reserved for AWS use"
            ],
        );
        check_set(
            &[("semi;colon", "x")],
            expect![
                "InvalidParameterValueException: Tag key 'semi;colon' may only contain letters, digits, spaces and _ . : / = + - @"
            ],
        );
        let many: Vec<(String, String)> =
            (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        let many: Vec<(&str, &str)> = many.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        check_set(
            &many,
            expect![
                "InvalidParameterValueException: 51 tags were given; a resource may have at most 50"
            ],
        );
    }

    #[test]
    fn merging_stops_at_fifty_tags_on_a_resource() {
        let registry = TagRegistry::default();
        let arn = "arn:aws:lambda:eu-west-1:111111111111:function:f";
        let batch = |range: std::ops::Range<usize>| {
            range
                .map(|i| (format!("k{i}"), "v".to_owned()))
                .collect::<BTreeMap<_, _>>()
        };
        registry.merge(arn, batch(0..30)).unwrap();
        // Overwriting existing keys adds nothing.
        registry.merge(arn, batch(10..50)).unwrap();
        assert_eq!(registry.of(arn).len(), 50);
        expect!["InvalidParameterValueException: Tag limit exceeded: arn:aws:lambda:eu-west-1:111111111111:function:f would have 51 tags; a resource may have at most 50"]
            .assert_eq(&registry.merge(arn, batch(49..51)).unwrap_err().to_string());
        assert_eq!(registry.of(arn).len(), 50, "nothing of a refused request");
        // A refused first request leaves no entry behind.
        let other = "arn:aws:lambda:eu-west-1:111111111111:function:g";
        registry.merge(other, batch(0..51)).unwrap_err();
        assert!(!lock(&registry.tags).contains_key(other));
    }

    #[test]
    fn taggable_arns_are_functions_and_mappings() {
        let check = |arn: &str, expected: Expect| {
            let outcome = match parse_taggable(arn) {
                Ok(resource) => format!("{resource:?}"),
                Err(error) => error.to_string(),
            };
            expected.assert_eq(&outcome);
        };
        check(
            "arn:aws:lambda:eu-west-1:111111111111:function:f",
            expect![[
                r#"Function(FunctionKey { account: "111111111111", region: "eu-west-1", name: "f" })"#
            ]],
        );
        check(
            "arn:aws:lambda:eu-west-1:111111111111:event-source-mapping:0a1b2c3d-0000-4000-a000-0123456789ab",
            expect![[
                r#"Mapping { account: "111111111111", region: "eu-west-1", uuid: "0a1b2c3d-0000-4000-a000-0123456789ab" }"#
            ]],
        );
        check(
            "arn:aws:lambda:eu-west-1:111111111111:event-source-mapping:0A1B2C3D-0000-4000-A000-0123456789AB",
            expect![[
                r#"Mapping { account: "111111111111", region: "eu-west-1", uuid: "0A1B2C3D-0000-4000-A000-0123456789AB" }"#
            ]],
        );
        check(
            "arn:aws:lambda:eu-west-1:111111111111:code-signing-config:csc-0123456789abcdefg",
            expect!["Absent"],
        );
        check(
            "arn:aws:lambda:eu-west-1:111111111111:function:f:live",
            expect![
                "InvalidParameterValueException: Tags on function aliases and versions are not supported. Please specify a function ARN."
            ],
        );
        check(
            "arn:aws:lambda:eu-west-1:1111:function:f",
            expect![[
                r#"ValidationException: 1 validation error detected: Value 'arn:aws:lambda:eu-west-1:1111:function:f' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"#
            ]],
        );
        check(
            "arn:aws:lambda:eu-west-1:111111111111:event-source-mapping:not-a-uuid",
            expect![[
                r#"ValidationException: 1 validation error detected: Value 'arn:aws:lambda:eu-west-1:111111111111:event-source-mapping:not-a-uuid' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"#
            ]],
        );
        check(
            "arn:aws:sqs:eu-west-1:111111111111:queue",
            expect![[
                r#"ValidationException: 1 validation error detected: Value 'arn:aws:sqs:eu-west-1:111111111111:queue' at 'resource' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*):lambda:[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:\d{12}:(function:[a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?|code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"#
            ]],
        );
    }
}
