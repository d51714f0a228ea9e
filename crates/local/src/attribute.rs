//! DynamoDB attribute values as they travel in awsJson (`{"S": "x"}`,
//! `{"N": "1"}`, ...): validation with DynamoDB's messages, item size as
//! DynamoDB counts it towards the 400 KB limit, and key extraction.

use crate::error::ApiError;
use serde_json::{Map, Value};

/// An item: attribute name → attribute value JSON.
pub type Item = Map<String, Value>;

/// The largest item DynamoDB stores.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

fn invalid(message: String) -> ApiError {
    ApiError::validation(format!(
        "One or more parameter values were invalid: {message}"
    ))
}

/// Checks one attribute value (named `name` in messages).
pub fn validate_value(name: &str, value: &Value) -> Result<(), ApiError> {
    let Some(object) = value.as_object() else {
        return Err(ApiError::serialization(format!(
            "attribute {name} is not an AttributeValue object"
        )));
    };
    let mut entries = object.iter();
    let (Some((kind, inner)), None) = (entries.next(), entries.next()) else {
        return Err(ApiError::validation(format!(
            "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes (attribute {name})"
        )));
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(_)) | ("BOOL", Value::Bool(_)) | ("NULL", Value::Bool(true)) => Ok(()),
        ("N", Value::String(number)) => {
            // Exact parsing also enforces DynamoDB's range and 38 digits.
            crate::expression::Decimal::parse(number).map(|_| ())
        }
        ("B", Value::String(text)) => check_base64(name, text),
        ("SS" | "NS" | "BS", Value::Array(members)) => {
            if members.is_empty() {
                return Err(invalid(format!(
                    "An string set  may not be empty for attribute {name}"
                )));
            }
            let mut seen = std::collections::HashSet::new();
            for member in members {
                let Some(text) = member.as_str() else {
                    return Err(ApiError::serialization(format!(
                        "set member of attribute {name} is not a string"
                    )));
                };
                // Numbers are the same member whatever their spelling: `1`
                // and `1.0` are duplicates.
                let identity = if kind == "NS" {
                    crate::expression::Decimal::parse(text)?.to_text()
                } else {
                    text.to_owned()
                };
                if kind == "BS" {
                    check_base64(name, text)?;
                }
                if !seen.insert(identity) {
                    return Err(invalid(format!(
                        "Input collection [{}] contains duplicates.",
                        members
                            .iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            Ok(())
        }
        ("M", Value::Object(map)) => {
            for (key, member) in map {
                validate_value(key, member)?;
            }
            Ok(())
        }
        ("L", Value::Array(members)) => {
            for member in members {
                validate_value(name, member)?;
            }
            Ok(())
        }
        ("NULL", Value::Bool(false)) => Err(invalid(format!(
            "Null attribute value types must have the value of true (attribute {name})"
        ))),
        (kind, _) => Err(ApiError::serialization(format!(
            "unexpected value for AttributeValue type {kind} of attribute {name}"
        ))),
    }
}

fn check_base64(name: &str, text: &str) -> Result<(), ApiError> {
    let valid = text.len().is_multiple_of(4)
        && text
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if valid {
        Ok(())
    } else {
        Err(ApiError::serialization(format!(
            "Base64 encoded length is expected a multiple of 4 bytes (attribute {name})"
        )))
    }
}

/// Whether `text` is a DynamoDB number: optional sign, digits with an
/// optional fraction, optional exponent, at most 38 significant digits.
pub fn is_number(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (body.get(..at).unwrap_or(""), body.get(at + 1..)),
        None => (body, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits_ok = (!whole.is_empty() || !fraction.is_empty())
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    let significant = format!("{whole}{fraction}");
    let significant = significant.trim_start_matches('0').trim_end_matches('0');
    digits_ok && exponent_ok && significant.len() <= 38
}

/// Rewrites every number of a valid item (N, NS members, inside L and M)
/// as DynamoDB stores and returns it: plain digits, leading and trailing
/// zeros trimmed, no exponent (`1.50` → `1.5`, `1E2` → `100`, `-0` → `0`).
/// "In DynamoDB, numbers are represented as variable length. Leading and
/// trailing zeroes are trimmed." (Developer Guide, Supported data types,
/// Number.)
pub fn normalize_numbers(item: &mut Item) {
    for value in item.values_mut() {
        normalize_value(value);
    }
}

fn normalize_value(value: &mut Value) {
    let Some(object) = value.as_object_mut() else {
        return;
    };
    for (kind, inner) in object.iter_mut() {
        match (kind.as_str(), inner) {
            ("N", Value::String(text)) => normalize_text(text),
            ("NS", Value::Array(members)) => {
                for member in members {
                    if let Value::String(text) = member {
                        normalize_text(text);
                    }
                }
            }
            ("L", Value::Array(members)) => members.iter_mut().for_each(normalize_value),
            ("M", Value::Object(map)) => map.values_mut().for_each(normalize_value),
            _ => {}
        }
    }
}

fn normalize_text(text: &mut String) {
    // A value that does not parse was refused by validation before; it is
    // left as it is rather than guessed at.
    if let Ok(number) = crate::expression::Decimal::parse(text) {
        *text = number.to_text();
    }
}

/// A number in one canonical text (no leading or trailing zeros, exponent
/// folded), so that `1`, `1.0` and `10E-1` name the same key.
pub fn canonical_number(text: &str) -> String {
    let negative = text.starts_with('-');
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(at) => (
            body.get(..at).unwrap_or(""),
            body.get(at + 1..)
                .and_then(|e| e.parse::<i64>().ok())
                .unwrap_or(0),
        ),
        None => (body, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{fraction}");
    let leading = digits.len() - digits.trim_start_matches('0').len();
    let trimmed = digits.trim_start_matches('0').trim_end_matches('0');
    if trimmed.is_empty() {
        return "0".to_owned();
    }
    // value = 0.DIGITS × 10^(point), point counted from the first significant digit.
    let point =
        i64::try_from(whole.len()).unwrap_or(0) - i64::try_from(leading).unwrap_or(0) + exponent;
    format!("{}0.{trimmed}e{point}", if negative { "-" } else { "" })
}

/// The size DynamoDB counts for an attribute value.
pub fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(text)) => text.len(),
        ("N", Value::String(number)) => number_size(number),
        ("B", Value::String(text)) => base64_len(text),
        ("SS", Value::Array(members)) => {
            members.iter().filter_map(Value::as_str).map(str::len).sum()
        }
        ("NS", Value::Array(members)) => members
            .iter()
            .filter_map(Value::as_str)
            .map(number_size)
            .sum(),
        ("BS", Value::Array(members)) => members
            .iter()
            .filter_map(Value::as_str)
            .map(base64_len)
            .sum(),
        ("M", Value::Object(map)) => {
            3 + map
                .iter()
                .map(|(name, member)| name.len() + value_size(member) + 1)
                .sum::<usize>()
        }
        ("L", Value::Array(members)) => {
            3 + members
                .iter()
                .map(|member| value_size(member) + 1)
                .sum::<usize>()
        }
        _ => 1,
    }
}

fn number_size(number: &str) -> usize {
    let significant = number
        .trim_start_matches(['-', '+'])
        .split(['e', 'E'])
        .next()
        .unwrap_or("")
        .replace('.', "");
    let significant = significant.trim_start_matches('0').trim_end_matches('0');
    significant.len().div_ceil(2) + 1
}

fn base64_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count();
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// The size DynamoDB counts for an item: names plus values.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// Checks every attribute of an item.
pub fn validate_item(item: &Item) -> Result<(), ApiError> {
    for (name, value) in item {
        validate_value(name, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(item: &str, expected: Expect) {
        let item: Item = serde_json::from_str(item).unwrap();
        let text = match validate_item(&item) {
            Ok(()) => format!("ok {}", item_size(&item)),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    #[test]
    fn sizes_and_errors() {
        check(r#"{"id":{"S":"abc"},"n":{"N":"123.45"}}"#, expect!["ok 10"]);
        check(
            r#"{"b":{"B":"AAEC"},"m":{"M":{"x":{"BOOL":true}}}}"#,
            expect!["ok 11"],
        );
        check(
            r#"{"n":{"N":"12a"}}"#,
            expect![
                "ValidationException: The parameter cannot be converted to a numeric value: 12a"
            ],
        );
        check(
            r#"{"s":{"SS":["a","a"]}}"#,
            expect![
                "ValidationException: One or more parameter values were invalid: Input collection [a, a] contains duplicates."
            ],
        );
        check(
            r#"{"s":{"S":"a","N":"1"}}"#,
            expect![
                "ValidationException: Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes (attribute s)"
            ],
        );
        check(
            r#"{"s":"plain"}"#,
            expect!["SerializationException: attribute s is not an AttributeValue object"],
        );
    }

    #[test]
    fn numbers_out_of_range_are_refused() {
        check(
            r#"{"n":{"N":"1E126"}}"#,
            expect![
                "ValidationException: Number overflow. Attempting to store a number with magnitude larger than supported range"
            ],
        );
        check(
            r#"{"n":{"NS":["1","1E-131"]}}"#,
            expect![
                "ValidationException: Number underflow. Attempting to store a number with magnitude smaller than supported range"
            ],
        );
        check(
            r#"{"n":{"N":"123456789012345678901234567890123456789"}}"#,
            expect![
                "ValidationException: Attempting to store more than 38 significant digits in a Number"
            ],
        );
        check(r#"{"n":{"N":"9.99E125"}}"#, expect!["ok 4"]);
    }

    #[test]
    fn numbers_have_one_canonical_form() {
        assert_eq!(canonical_number("1"), canonical_number("1.0"));
        assert_eq!(canonical_number("1"), canonical_number("10E-1"));
        assert_eq!(canonical_number("0.010"), canonical_number("1e-2"));
        assert_ne!(canonical_number("1"), canonical_number("-1"));
        assert_eq!(canonical_number("-0.0"), "0");
        assert!(is_number("-1.5e10") && !is_number("1e") && !is_number("."));
    }

    #[test]
    fn stored_numbers_are_plain_digits_without_extra_zeros() {
        let mut item: Item = serde_json::from_str(
            r#"{"a":{"N":"1.50"},"b":{"N":"1E2"},"c":{"N":"-0"},"d":{"N":"+0.0010"},
                "e":{"N":"12345678901234567890123456789012345678E-40"},
                "f":{"NS":["010","2.000"]},"g":{"L":[{"N":"5e0"},{"M":{"h":{"N":"-7.0"}}}]},
                "s":{"S":"1.50"}}"#,
        )
        .unwrap();
        normalize_numbers(&mut item);
        expect![[r#"{"a":{"N":"1.5"},"b":{"N":"100"},"c":{"N":"0"},"d":{"N":"0.001"},"e":{"N":"0.0012345678901234567890123456789012345678"},"f":{"NS":["10","2"]},"g":{"L":[{"N":"5"},{"M":{"h":{"N":"-7"}}}]},"s":{"S":"1.50"}}"#]]
            .assert_eq(&serde_json::to_string(&item).unwrap());
    }
}
