//! DynamoDB's legacy (pre-expression) parameters, translated into the
//! syntax trees of [`crate::expression`] so that one evaluator serves both:
//! `Expected`, `KeyConditions`, `QueryFilter` and `ScanFilter` (with
//! `ConditionalOperator`) become a [`Condition`], `AttributesToGet` a
//! projection, `AttributeUpdates` [`UpdateActions`].
//!
//! A request mixing a legacy parameter with an expression parameter is
//! refused as DynamoDB refuses it.

use crate::error::ApiError;
use crate::expression::evaluate::compare_scalars;
use crate::expression::parser::{Comparator, Operand, SetValue, UpdateOperand};
use crate::expression::{Condition, Path, PathElement, UpdateActions};
use serde_json::{Map, Value};

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::validation(format!(
        "One or more parameter values were invalid: {message}"
    ))
}

/// Refuses a request that names legacy and expression parameters at once.
pub fn refuse_mixing(legacy: &[&str], expressions: &[&str]) -> Result<(), ApiError> {
    if legacy.is_empty() || expressions.is_empty() {
        return Ok(());
    }
    Err(ApiError::validation(format!(
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
        legacy.join(", "),
        expressions.join(", ")
    )))
}

fn attribute_path(name: &str) -> Path {
    Path(vec![PathElement::Attribute(name.to_owned())])
}

fn as_map<'v>(value: &'v Value, member: &str) -> Result<&'v Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::serialization(format!("{member} must be a map")))
}

/// The values of an `AttributeValueList`, validated.
fn value_list(condition: &Map<String, Value>, name: &str) -> Result<Vec<Value>, ApiError> {
    let values = match condition.get("AttributeValueList") {
        None => Vec::new(),
        Some(Value::Array(values)) => values.clone(),
        Some(_) => {
            return Err(ApiError::serialization(format!(
                "AttributeValueList of {name} must be a list"
            )));
        }
    };
    for value in &values {
        crate::attribute::validate_value(name, value)?;
    }
    Ok(values)
}

/// One `{ComparisonOperator, AttributeValueList}` condition on `name`.
fn comparison(name: &str, condition: &Map<String, Value>) -> Result<Condition, ApiError> {
    let operator = condition
        .get("ComparisonOperator")
        .and_then(Value::as_str)
        .ok_or_else(|| {
            ApiError::validation(
                "1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: Member must not be null",
            )
        })?;
    let values = value_list(condition, name)?;
    let path = || Operand::Path(attribute_path(name));
    let wrong_count = || {
        invalid(format!(
            "Invalid number of argument(s) for the {operator} ComparisonOperator"
        ))
    };
    let one = || match values.as_slice() {
        [value] => Ok(Operand::Value(value.clone())),
        _ => Err(wrong_count()),
    };
    let compare = |comparator| Ok(Condition::Compare(path(), comparator, one()?));
    match operator {
        "EQ" => compare(Comparator::Equal),
        "NE" => compare(Comparator::NotEqual),
        "LT" => compare(Comparator::Less),
        "LE" => compare(Comparator::LessOrEqual),
        "GT" => compare(Comparator::Greater),
        "GE" => compare(Comparator::GreaterOrEqual),
        "NOT_NULL" | "NULL" if !values.is_empty() => Err(wrong_count()),
        "NOT_NULL" => Ok(Condition::AttributeExists(attribute_path(name))),
        "NULL" => Ok(Condition::AttributeNotExists(attribute_path(name))),
        "CONTAINS" => Ok(Condition::Contains(path(), one()?)),
        "NOT_CONTAINS" => Ok(Condition::And(
            Box::new(Condition::AttributeExists(attribute_path(name))),
            Box::new(Condition::Not(Box::new(Condition::Contains(
                path(),
                one()?,
            )))),
        )),
        "BEGINS_WITH" => Ok(Condition::BeginsWith(path(), one()?)),
        "IN" if values.is_empty() => Err(wrong_count()),
        "IN" => Ok(Condition::In(
            path(),
            values.iter().cloned().map(Operand::Value).collect(),
        )),
        "BETWEEN" => match values.as_slice() {
            // Legacy conditions have their own wording for reversed bounds.
            [low, high] if compare_scalars(low, high) == Some(std::cmp::Ordering::Greater) => {
                Err(ApiError::validation(
                    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound",
                ))
            }
            [low, high] => Ok(Condition::Between(
                path(),
                Operand::Value(low.clone()),
                Operand::Value(high.clone()),
            )),
            _ => Err(wrong_count()),
        },
        other => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]"
        ))),
    }
}

/// Joins conditions with ConditionalOperator (AND unless OR is asked for).
fn join(
    conditions: Vec<Condition>,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    let or = match conditional_operator {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
            )));
        }
    };
    Ok(conditions.into_iter().reduce(|left, right| {
        if or {
            Condition::Or(Box::new(left), Box::new(right))
        } else {
            Condition::And(Box::new(left), Box::new(right))
        }
    }))
}

/// `KeyConditions`, `QueryFilter` or `ScanFilter` (`member` names it) as
/// one condition.
pub fn conditions(
    value: &Value,
    member: &str,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    let mut parsed = Vec::new();
    for (name, condition) in as_map(value, member)? {
        parsed.push(comparison(name, as_map(condition, member)?)?);
    }
    join(parsed, conditional_operator)
}

/// `Expected` as one condition: each entry either a comparison or the
/// older `{Value, Exists}` form.
pub fn expected(
    value: &Value,
    conditional_operator: Option<&str>,
) -> Result<Option<Condition>, ApiError> {
    let mut parsed = Vec::new();
    for (name, entry) in as_map(value, "Expected")? {
        let entry = as_map(entry, "Expected")?;
        if entry.contains_key("ComparisonOperator") {
            if entry.contains_key("Value") {
                return Err(invalid(format!(
                    "Value and AttributeValueList cannot be used together for Attribute: {name}"
                )));
            }
            parsed.push(comparison(name, entry)?);
            continue;
        }
        let exists = entry.get("Exists").and_then(Value::as_bool).unwrap_or(true);
        let expected_value = entry.get("Value");
        parsed.push(match (exists, expected_value) {
            (true, Some(expected_value)) => {
                crate::attribute::validate_value(name, expected_value)?;
                Condition::Compare(
                    Operand::Path(attribute_path(name)),
                    Comparator::Equal,
                    Operand::Value(expected_value.clone()),
                )
            }
            (true, None) => {
                return Err(invalid(format!(
                    "Exists is set to TRUE for attribute ({name}), Value must also be set"
                )));
            }
            (false, None) => Condition::AttributeNotExists(attribute_path(name)),
            (false, Some(_)) => {
                return Err(invalid(format!(
                    "Value cannot be used when Exists is false for attribute ({name})"
                )));
            }
        });
    }
    join(parsed, conditional_operator)
}

/// `AttributesToGet` as a projection of top-level attributes.
pub fn attributes_to_get(value: &Value) -> Result<Vec<Path>, ApiError> {
    let names = value
        .as_array()
        .ok_or_else(|| ApiError::serialization("AttributesToGet must be a list"))?;
    if names.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    let mut paths: Vec<Path> = Vec::new();
    for name in names {
        let name = name
            .as_str()
            .ok_or_else(|| ApiError::serialization("AttributesToGet must hold strings"))?;
        let path = attribute_path(name);
        if paths.contains(&path) {
            return Err(invalid(format!(
                "Duplicate value in attribute name: {name}"
            )));
        }
        paths.push(path);
    }
    Ok(paths)
}

/// `AttributeUpdates` as update actions: PUT sets, DELETE removes the
/// attribute (or members of a set), ADD adds to a number or set.
pub fn attribute_updates(value: &Value) -> Result<UpdateActions, ApiError> {
    let mut actions = UpdateActions::default();
    for (name, update) in as_map(value, "AttributeUpdates")? {
        let update = as_map(update, "AttributeUpdates")?;
        let action = update
            .get("Action")
            .and_then(Value::as_str)
            .unwrap_or("PUT");
        let new_value = update.get("Value").cloned();
        if let Some(new_value) = &new_value {
            crate::attribute::validate_value(name, new_value)?;
        }
        let path = attribute_path(name);
        match (action, new_value) {
            ("PUT", Some(new_value)) => actions
                .set
                .push((path, SetValue::Operand(UpdateOperand::Value(new_value)))),
            ("PUT", None) => {
                return Err(invalid(format!(
                    "Only DELETE action is allowed when no attribute value is specified: {name}"
                )));
            }
            ("DELETE", None) => actions.remove.push(path),
            ("DELETE", Some(members)) => actions.delete.push((path, members)),
            ("ADD", Some(amount)) => actions.add.push((path, amount)),
            ("ADD", None) => {
                return Err(invalid(format!(
                    "Only DELETE action is allowed when no attribute value is specified: {name}"
                )));
            }
            (other, _) => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
                )));
            }
        }
    }
    Ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::expression::evaluate;
    use expect_test::{Expect, expect};
    use serde_json::json;

    /// Evaluates legacy `Expected` (with an optional ConditionalOperator)
    /// against `item`, or shows the error.
    fn check(item: Value, expected_member: Value, operator: Option<&str>, expect: Expect) {
        let item = item.as_object().cloned().unwrap();
        let actual = match super::expected(&expected_member, operator) {
            Ok(Some(condition)) => match evaluate(&item, &condition) {
                Ok(result) => result.to_string(),
                Err(error) => format!("{}: {}", error.code.as_str(), error.message),
            },
            Ok(None) => "no condition".to_owned(),
            Err(error) => format!("{}: {}", error.code.as_str(), error.message),
        };
        expect.assert_eq(&actual);
    }

    #[test]
    fn expected_compares_and_checks_existence() {
        let item = json!({ "n": { "N": "5" }, "tags": { "SS": ["a", "b"] } });
        check(
            item.clone(),
            json!({ "n": { "Value": { "N": "5.0" } } }),
            None,
            expect!["true"],
        );
        check(
            item.clone(),
            json!({ "missing": { "Exists": false } }),
            None,
            expect!["true"],
        );
        check(
            item.clone(),
            json!({
                "n": { "ComparisonOperator": "BETWEEN", "AttributeValueList": [{ "N": "1" }, { "N": "4" }] },
                "tags": { "ComparisonOperator": "CONTAINS", "AttributeValueList": [{ "S": "b" }] }
            }),
            Some("OR"),
            expect!["true"],
        );
        check(
            item.clone(),
            json!({
                "n": { "ComparisonOperator": "BETWEEN", "AttributeValueList": [{ "N": "1" }, { "N": "4" }] },
                "tags": { "ComparisonOperator": "CONTAINS", "AttributeValueList": [{ "S": "b" }] }
            }),
            None,
            expect!["false"],
        );
        check(
            item.clone(),
            json!({ "tags": { "ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [{ "S": "c" }] } }),
            None,
            expect!["true"],
        );
        check(
            item,
            json!({ "n": { "ComparisonOperator": "IN", "AttributeValueList": [{ "N": "4" }, { "N": "6" }] } }),
            None,
            expect!["false"],
        );
    }

    #[test]
    fn malformed_legacy_conditions_are_refused() {
        let item = json!({});
        check(
            item.clone(),
            json!({ "n": { "Exists": true } }),
            None,
            expect![
                "ValidationException: One or more parameter values were invalid: Exists is set to TRUE for attribute (n), Value must also be set"
            ],
        );
        check(
            item.clone(),
            json!({ "n": { "Exists": false, "Value": { "N": "1" } } }),
            None,
            expect![
                "ValidationException: One or more parameter values were invalid: Value cannot be used when Exists is false for attribute (n)"
            ],
        );
        check(
            item.clone(),
            json!({ "n": { "ComparisonOperator": "EQ", "AttributeValueList": [] } }),
            None,
            expect![
                "ValidationException: One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"
            ],
        );
        check(
            item.clone(),
            json!({ "n": { "ComparisonOperator": "BETWEEN", "AttributeValueList": [{ "N": "4" }, { "N": "1" }] } }),
            None,
            expect![
                "ValidationException: The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
            ],
        );
        check(
            item,
            json!({ "n": { "ComparisonOperator": "EQ", "AttributeValueList": [{ "N": "1" }] } }),
            Some("XOR"),
            expect![
                "ValidationException: 1 validation error detected: Value 'XOR' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
            ],
        );
    }

    #[test]
    fn attribute_updates_become_actions() {
        let actions = attribute_updates(&json!({
            "a": { "Action": "PUT", "Value": { "S": "x" } },
            "b": { "Action": "DELETE" },
            "c": { "Action": "ADD", "Value": { "N": "2" } },
            "d": { "Action": "DELETE", "Value": { "SS": ["q"] } }
        }))
        .unwrap();
        expect![[r#"set 1 remove 1 add 1 delete 1"#]].assert_eq(&format!(
            "set {} remove {} add {} delete {}",
            actions.set.len(),
            actions.remove.len(),
            actions.add.len(),
            actions.delete.len()
        ));
        let refused = attribute_updates(&json!({ "a": { "Action": "ADD" } })).unwrap_err();
        expect!["One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified: a"]
            .assert_eq(&refused.message);
    }
}
