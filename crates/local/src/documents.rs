//! The checks IAM and DynamoDB make on a policy document before they store
//! it, with AWS's error wording: JSON syntax, the statement shape each kind
//! of policy needs, size limits, and DynamoDB's own rules for resource
//! policies (only the three stream actions on a stream; 20 KB).

use serde_json::Value;

/// Which kind of policy a document is, which decides what it must and must
/// not contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// An identity policy (inline or managed): no `Principal`, `Resource` needed.
    Identity,
    /// A role's trust policy: `Principal` needed, no `Resource`.
    Trust,
    /// A DynamoDB resource policy on a table.
    TablePolicy,
    /// A DynamoDB resource policy on a stream.
    StreamPolicy,
}

/// The largest resource policy DynamoDB accepts, whitespace counted.
pub const DYNAMODB_POLICY_MAX_BYTES: usize = 20 * 1024;

/// The actions a stream policy may name.
pub const STREAM_POLICY_ACTIONS: [&str; 3] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
];

/// Checks `text` as a policy of `kind`; the error is AWS's message.
pub fn check(kind: PolicyKind, text: &str) -> Result<Value, String> {
    let document: Value = serde_json::from_str(text).map_err(|_| {
        if matches!(kind, PolicyKind::TablePolicy | PolicyKind::StreamPolicy) {
            "Invalid policy document: the policy is not valid JSON".to_owned()
        } else {
            "Syntax errors in policy.".to_owned()
        }
    })?;
    let Some(object) = document.as_object() else {
        return Err("Syntax errors in policy.".to_owned());
    };
    match object.get("Version").and_then(Value::as_str) {
        None | Some("2012-10-17" | "2008-10-17") => {}
        Some(_) => return Err("The policy failed legacy parsing".to_owned()),
    }
    let statements: Vec<&Value> = match object.get("Statement") {
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(item @ Value::Object(_)) => vec![item],
        _ => return Err("Syntax errors in policy.".to_owned()),
    };
    for statement in statements {
        let Some(statement) = statement.as_object() else {
            return Err("Syntax errors in policy.".to_owned());
        };
        match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow" | "Deny") => {}
            _ => return Err("Syntax errors in policy.".to_owned()),
        }
        if !statement.contains_key("Action") && !statement.contains_key("NotAction") {
            return Err("Policy statement must contain actions.".to_owned());
        }
        let has_principal =
            statement.contains_key("Principal") || statement.contains_key("NotPrincipal");
        let has_resource =
            statement.contains_key("Resource") || statement.contains_key("NotResource");
        match kind {
            PolicyKind::Identity => {
                if has_principal {
                    return Err("Policy document should not specify a principal.".to_owned());
                }
                if !has_resource {
                    return Err("Policy statement must contain resources.".to_owned());
                }
            }
            PolicyKind::Trust => {
                if !has_principal {
                    return Err(
                        "AssumeRolepolicy contained an invalid principal: missing Principal"
                            .to_owned(),
                    );
                }
                if has_resource {
                    return Err("Has prohibited field Resource".to_owned());
                }
            }
            PolicyKind::TablePolicy | PolicyKind::StreamPolicy => {
                if !has_principal {
                    return Err("Invalid policy document: a statement has no Principal".to_owned());
                }
            }
        }
        if kind == PolicyKind::StreamPolicy {
            for action in string_values(statement.get("Action")) {
                let allowed = STREAM_POLICY_ACTIONS
                    .iter()
                    .any(|name| name.eq_ignore_ascii_case(action));
                if !allowed {
                    return Err(format!(
                        "Invalid policy document: the action {action} is not supported on a stream; a stream policy may only name dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator"
                    ));
                }
            }
        }
    }
    // What is stored must be what the evaluator can read.
    streamgate_policy::document::PolicyDocument::parse(text).map_err(|error| {
        if matches!(kind, PolicyKind::TablePolicy | PolicyKind::StreamPolicy) {
            format!("Invalid policy document: {error}")
        } else {
            format!("Syntax errors in policy: {error}")
        }
    })?;
    Ok(document)
}

/// The strings of a value that is one string or an array of strings.
pub fn string_values(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(text)) => vec![text.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The `AWS` principals a document names (account ids, ARNs or `*`).
pub fn aws_principals(document: &Value) -> Vec<String> {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(item) => vec![item],
        None => Vec::new(),
    };
    let mut principals = Vec::new();
    for statement in statements {
        for key in ["Principal", "NotPrincipal"] {
            match statement.get(key) {
                Some(Value::String(star)) => principals.push(star.clone()),
                Some(Value::Object(map)) => {
                    for principal in string_values(map.get("AWS")) {
                        principals.push(principal.to_owned());
                    }
                }
                _ => {}
            }
        }
    }
    principals
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check_kind(kind: PolicyKind, text: &str, expected: Expect) {
        let outcome = match check(kind, text) {
            Ok(document) => format!("ok {:?}", aws_principals(&document)),
            Err(message) => message,
        };
        expected.assert_eq(&outcome);
    }

    #[test]
    fn identity_policies() {
        check_kind(
            PolicyKind::Identity,
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}}"#,
            expect!["ok []"],
        );
        check_kind(
            PolicyKind::Identity,
            "{",
            expect!["Syntax errors in policy."],
        );
        check_kind(
            PolicyKind::Identity,
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:*"}]}"#,
            expect!["Policy statement must contain resources."],
        );
        check_kind(
            PolicyKind::Identity,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}"#,
            expect!["Policy document should not specify a principal."],
        );
        check_kind(
            PolicyKind::Identity,
            r#"{"Version":"2020-01-01","Statement":[]}"#,
            expect!["The policy failed legacy parsing"],
        );
    }

    #[test]
    fn trust_and_resource_policies() {
        check_kind(
            PolicyKind::Trust,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::2:root"]},"Action":"sts:AssumeRole"}]}"#,
            expect![[r#"ok ["111111111111", "arn:aws:iam::2:root"]"#]],
        );
        check_kind(
            PolicyKind::Trust,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole","Resource":"*"}]}"#,
            expect!["Has prohibited field Resource"],
        );
        check_kind(
            PolicyKind::StreamPolicy,
            r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"1"},"Action":["dynamodb:GetRecords","dynamodb:ListStreams"],"Resource":"*"}]}"#,
            expect![
                "Invalid policy document: the action dynamodb:ListStreams is not supported on a stream; a stream policy may only name dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator"
            ],
        );
        check_kind(
            PolicyKind::TablePolicy,
            r#"{"Statement":[{"Effect":"Allow","Action":"dynamodb:GetItem","Resource":"*"}]}"#,
            expect!["Invalid policy document: a statement has no Principal"],
        );
    }
}
