//! Lambda's event filter patterns (`FilterCriteria` of an event source
//! mapping), parsed once at Create/UpdateEventSourceMapping and applied to
//! each stream record as Lambda sees it (`eventName`,
//! `dynamodb.NewImage.ATTRIBUTE.S`, ...).
//!
//! A pattern is a JSON object whose keys follow the record's fields; a key
//! holds either a nested pattern or a non-empty array of matchers, any of
//! which may match. Every key of a pattern must match (and), `$or` takes a
//! list of patterns of which one must match. Matchers: a string, number,
//! boolean or null (exact; numbers compare as numbers), `{"prefix": S}`,
//! `{"suffix": S}`, `{"equals-ignore-case": S}`, `{"anything-but": V}` (V a
//! value, a list of values, or `{"prefix": S}` / `{"suffix": S}` /
//! `{"equals-ignore-case": S}`), `{"numeric": [OP, N]}` or
//! `{"numeric": [">" or ">=", N, "<" or "<=", M]}`, `{"exists": BOOL}`.
//! As in EventBridge, on which Lambda's filtering is built, matchers other
//! than `exists: false` need the field to be present, an array in the record
//! matches when one of its elements does, and comparison matchers (all but
//! `exists`) match leaves only, never a nested object. A mapping matches a
//! record when any of its (at most five) filters does.
//!
//! Anything else is refused with [`FilterError`], which the mapping
//! operations turn into AWS's `InvalidParameterValueException` "Invalid
//! filter pattern definition."

use serde_json::Value;

/// The most filters one mapping may have (Lambda's default quota).
pub const MAX_FILTERS: usize = 5;

/// The longest pattern Lambda accepts, in characters.
pub const MAX_PATTERN_CHARS: usize = 4096;

/// Why a filter pattern is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The pattern is not JSON.
    #[error("the pattern is not JSON: {0}")]
    NotJson(String),
    /// The pattern is longer than [`MAX_PATTERN_CHARS`].
    #[error("the pattern has {chars} characters, more than {MAX_PATTERN_CHARS}")]
    TooLong {
        /// Its length in characters.
        chars: usize,
    },
    /// A pattern (or the value of a key) must be a JSON object here.
    #[error("at {path}: expected an object of fields, found {found}")]
    NotAnObject {
        /// Where, as a dotted path (`$` is the pattern itself).
        path: String,
        /// The offending value.
        found: String,
    },
    /// A pattern object with no field.
    #[error("at {path}: the pattern is empty")]
    Empty {
        /// Where.
        path: String,
    },
    /// A field's matchers must be a non-empty array (or a nested pattern).
    #[error("at {path}: expected a non-empty array of matchers or a nested pattern, found {found}")]
    NotMatchers {
        /// Where.
        path: String,
        /// The offending value.
        found: String,
    },
    /// `$or` must be an array of at least two patterns.
    #[error("at {path}: $or needs an array of at least two patterns, found {found}")]
    BadOr {
        /// Where.
        path: String,
        /// The offending value.
        found: String,
    },
    /// An operator object this filter syntax does not have, or with
    /// arguments of the wrong shape.
    #[error("at {path}: invalid matcher {found}: {reason}")]
    BadMatcher {
        /// Where.
        path: String,
        /// The offending matcher.
        found: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// More filters than [`MAX_FILTERS`].
    #[error("{count} filters given, at most {MAX_FILTERS} are allowed")]
    TooManyFilters {
        /// How many were given.
        count: usize,
    },
}

/// One filter of a mapping: its text as given and its parsed form.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// The pattern as the caller wrote it (answered back unchanged).
    pub pattern_text: String,
    pattern: Pattern,
}

impl Filter {
    /// Parses one pattern.
    pub fn parse(pattern_text: &str) -> Result<Self, FilterError> {
        let chars = pattern_text.chars().count();
        if chars > MAX_PATTERN_CHARS {
            return Err(FilterError::TooLong { chars });
        }
        let value: Value = serde_json::from_str(pattern_text)
            .map_err(|error| FilterError::NotJson(error.to_string()))?;
        let pattern = Pattern::parse(&value, "$")?;
        Ok(Self {
            pattern_text: pattern_text.to_owned(),
            pattern,
        })
    }

    /// Whether `record` matches this filter.
    pub fn matches(&self, record: &Value) -> bool {
        self.pattern.matches(Some(record))
    }
}

/// Parses the filters of a mapping, at most [`MAX_FILTERS`].
pub fn parse_filters<'a>(
    patterns: impl ExactSizeIterator<Item = &'a str>,
) -> Result<Vec<Filter>, FilterError> {
    if patterns.len() > MAX_FILTERS {
        return Err(FilterError::TooManyFilters {
            count: patterns.len(),
        });
    }
    patterns.map(Filter::parse).collect()
}

/// Whether `record` passes `filters`: no filter, or any one matching.
pub fn passes(filters: &[Filter], record: &Value) -> bool {
    filters.is_empty() || filters.iter().any(|filter| filter.matches(record))
}

/// A parsed pattern object.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    /// Every field must match.
    fields: Vec<(String, FieldRule)>,
    /// Each `$or`: one of its patterns must match.
    alternatives: Vec<Vec<Pattern>>,
}

#[derive(Debug, Clone, PartialEq)]
enum FieldRule {
    Nested(Pattern),
    AnyOf(Vec<Matcher>),
}

#[derive(Debug, Clone, PartialEq)]
enum Matcher {
    /// A string, boolean or null, compared exactly.
    Exact(Value),
    /// A number, compared as a number.
    Number(f64),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(String),
    AnythingBut(Exclusion),
    Numeric(Vec<(Comparison, f64)>),
    Exists(bool),
}

#[derive(Debug, Clone, PartialEq)]
enum Exclusion {
    Values(Vec<Value>),
    Prefix(String),
    Suffix(String),
    EqualsIgnoreCase(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Comparison {
    Equal,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

fn shown(value: &Value) -> String {
    value.to_string()
}

impl Pattern {
    fn parse(value: &Value, path: &str) -> Result<Self, FilterError> {
        let Value::Object(object) = value else {
            return Err(FilterError::NotAnObject {
                path: path.to_owned(),
                found: shown(value),
            });
        };
        if object.is_empty() {
            return Err(FilterError::Empty {
                path: path.to_owned(),
            });
        }
        let mut pattern = Pattern {
            fields: Vec::new(),
            alternatives: Vec::new(),
        };
        for (key, rule) in object {
            let here = format!("{path}.{key}");
            if key == "$or" {
                let bad_or = || FilterError::BadOr {
                    path: here.clone(),
                    found: shown(rule),
                };
                let Value::Array(items) = rule else {
                    return Err(bad_or());
                };
                if items.len() < 2 {
                    return Err(bad_or());
                }
                let alternatives = items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| Pattern::parse(item, &format!("{here}[{index}]")))
                    .collect::<Result<Vec<_>, _>>()?;
                pattern.alternatives.push(alternatives);
                continue;
            }
            let rule = match rule {
                Value::Object(_) => FieldRule::Nested(Pattern::parse(rule, &here)?),
                Value::Array(items) if !items.is_empty() => FieldRule::AnyOf(
                    items
                        .iter()
                        .map(|item| Matcher::parse(item, &here))
                        .collect::<Result<_, _>>()?,
                ),
                other => {
                    return Err(FilterError::NotMatchers {
                        path: here,
                        found: shown(other),
                    });
                }
            };
            pattern.fields.push((key.clone(), rule));
        }
        Ok(pattern)
    }

    /// Whether `value` (absent: `None`) matches.
    fn matches(&self, value: Option<&Value>) -> bool {
        let object = value.and_then(Value::as_object);
        let field = |key: &str| object.and_then(|o| o.get(key));
        self.fields
            .iter()
            .all(|(key, rule)| rule.matches(field(key)))
            && self
                .alternatives
                .iter()
                .all(|any| any.iter().any(|pattern| pattern.matches(value)))
    }
}

impl FieldRule {
    fn matches(&self, value: Option<&Value>) -> bool {
        match self {
            FieldRule::Nested(pattern) => pattern.matches(value),
            FieldRule::AnyOf(matchers) => matchers.iter().any(|m| m.matches(value)),
        }
    }
}

fn string_argument<'a>(
    argument: &'a Value,
    path: &str,
    matcher: &Value,
) -> Result<&'a str, FilterError> {
    argument.as_str().ok_or_else(|| FilterError::BadMatcher {
        path: path.to_owned(),
        found: shown(matcher),
        reason: "expected a string",
    })
}

impl Matcher {
    fn parse(item: &Value, path: &str) -> Result<Self, FilterError> {
        let bad = |reason: &'static str| FilterError::BadMatcher {
            path: path.to_owned(),
            found: shown(item),
            reason,
        };
        let operator = match item {
            Value::Number(number) => {
                return number
                    .as_f64()
                    .map(Matcher::Number)
                    .ok_or_else(|| bad("a number out of range"));
            }
            Value::String(_) | Value::Bool(_) | Value::Null => {
                return Ok(Matcher::Exact(item.clone()));
            }
            Value::Array(_) => return Err(bad("arrays cannot be nested in a matcher list")),
            Value::Object(operator) => operator,
        };
        let mut entries = operator.iter();
        let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
            return Err(bad("a matcher object has exactly one operator"));
        };
        match name.as_str() {
            "prefix" => Ok(Matcher::Prefix(
                string_argument(argument, path, item)?.to_owned(),
            )),
            "suffix" => Ok(Matcher::Suffix(
                string_argument(argument, path, item)?.to_owned(),
            )),
            "equals-ignore-case" => Ok(Matcher::EqualsIgnoreCase(
                string_argument(argument, path, item)?.to_owned(),
            )),
            "exists" => argument
                .as_bool()
                .map(Matcher::Exists)
                .ok_or_else(|| bad("exists takes true or false")),
            "numeric" => parse_numeric(argument).map(Matcher::Numeric).ok_or_else(|| {
                bad("numeric takes [OP, N] or [\">\"|\">=\", N, \"<\"|\"<=\", M] with N < M")
            }),
            "anything-but" => parse_exclusion(argument)
                .map(Matcher::AnythingBut)
                .ok_or_else(|| {
                    bad("anything-but takes a value, a non-empty list of strings or of numbers, or {\"prefix\"|\"suffix\"|\"equals-ignore-case\": ...}")
                }),
            _ => Err(bad("unknown operator")),
        }
    }

    fn matches(&self, value: Option<&Value>) -> bool {
        match (self, value) {
            (Matcher::Exists(wanted), value) => value.is_some_and(is_leaf) == *wanted,
            (_, None) => false,
            (_, Some(Value::Array(items))) => items.iter().any(|item| self.matches_leaf(item)),
            (_, Some(value)) => self.matches_leaf(value),
        }
    }

    /// Whether one present, non-array value matches.
    fn matches_leaf(&self, value: &Value) -> bool {
        match self {
            Matcher::Exact(expected) => value == expected,
            Matcher::Number(expected) => value.as_f64() == Some(*expected),
            Matcher::Prefix(prefix) => value.as_str().is_some_and(|s| s.starts_with(prefix)),
            Matcher::Suffix(suffix) => value.as_str().is_some_and(|s| s.ends_with(suffix)),
            Matcher::EqualsIgnoreCase(expected) => value
                .as_str()
                .is_some_and(|s| s.to_lowercase() == expected.to_lowercase()),
            Matcher::AnythingBut(exclusion) => is_leaf(value) && !exclusion.excludes(value),
            Matcher::Numeric(comparisons) => value.as_f64().is_some_and(|number| {
                comparisons
                    .iter()
                    .all(|(comparison, bound)| comparison.holds(number, *bound))
            }),
            Matcher::Exists(wanted) => is_leaf(value) == *wanted,
        }
    }
}

/// A value comparison matchers apply to: anything but an object.
fn is_leaf(value: &Value) -> bool {
    !value.is_object()
}

fn parse_comparison(value: &Value) -> Option<Comparison> {
    Some(match value.as_str()? {
        "=" => Comparison::Equal,
        "<" => Comparison::Less,
        "<=" => Comparison::LessOrEqual,
        ">" => Comparison::Greater,
        ">=" => Comparison::GreaterOrEqual,
        _ => return None,
    })
}

fn parse_numeric(argument: &Value) -> Option<Vec<(Comparison, f64)>> {
    match argument.as_array()?.as_slice() {
        [operator, bound] => Some(vec![(parse_comparison(operator)?, bound.as_f64()?)]),
        [lower_operator, lower, upper_operator, upper] => {
            let lower_comparison = parse_comparison(lower_operator)?;
            let upper_comparison = parse_comparison(upper_operator)?;
            let (lower, upper) = (lower.as_f64()?, upper.as_f64()?);
            let lower_ok = matches!(
                lower_comparison,
                Comparison::Greater | Comparison::GreaterOrEqual
            );
            let upper_ok = matches!(upper_comparison, Comparison::Less | Comparison::LessOrEqual);
            (lower_ok && upper_ok && lower < upper)
                .then(|| vec![(lower_comparison, lower), (upper_comparison, upper)])
        }
        _ => None,
    }
}

fn parse_exclusion(argument: &Value) -> Option<Exclusion> {
    match argument {
        Value::String(_) | Value::Number(_) => Some(Exclusion::Values(vec![argument.clone()])),
        Value::Array(items) => {
            let all_strings = items.iter().all(Value::is_string);
            let all_numbers = items.iter().all(Value::is_number);
            (!items.is_empty() && (all_strings || all_numbers))
                .then(|| Exclusion::Values(items.clone()))
        }
        Value::Object(operator) => {
            let mut entries = operator.iter();
            let (Some((name, inner)), None) = (entries.next(), entries.next()) else {
                return None;
            };
            match (name.as_str(), inner) {
                ("prefix", Value::String(prefix)) => Some(Exclusion::Prefix(prefix.clone())),
                ("suffix", Value::String(suffix)) => Some(Exclusion::Suffix(suffix.clone())),
                ("equals-ignore-case", Value::String(one)) => {
                    Some(Exclusion::EqualsIgnoreCase(vec![one.clone()]))
                }
                ("equals-ignore-case", Value::Array(many))
                    if !many.is_empty() && many.iter().all(Value::is_string) =>
                {
                    Some(Exclusion::EqualsIgnoreCase(
                        many.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect(),
                    ))
                }
                _ => None,
            }
        }
        Value::Bool(_) | Value::Null => None,
    }
}

impl Exclusion {
    fn excludes(&self, value: &Value) -> bool {
        match self {
            Exclusion::Values(values) => values.iter().any(|excluded| match excluded {
                Value::Number(number) => value.as_f64() == number.as_f64(),
                other => other == value,
            }),
            Exclusion::Prefix(prefix) => value.as_str().is_some_and(|s| s.starts_with(prefix)),
            Exclusion::Suffix(suffix) => value.as_str().is_some_and(|s| s.ends_with(suffix)),
            Exclusion::EqualsIgnoreCase(values) => value.as_str().is_some_and(|s| {
                let lower = s.to_lowercase();
                values.iter().any(|v| v.to_lowercase() == lower)
            }),
        }
    }
}

impl Comparison {
    fn holds(self, number: f64, bound: f64) -> bool {
        match self {
            Comparison::Equal => number == bound,
            Comparison::Less => number < bound,
            Comparison::LessOrEqual => number <= bound,
            Comparison::Greater => number > bound,
            Comparison::GreaterOrEqual => number >= bound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use serde_json::json;

    /// A DynamoDB stream record as Lambda sees it.
    fn record(event_name: &str, new_image: Value) -> Value {
        json!({
            "eventID": "1",
            "eventName": event_name,
            "eventSource": "aws:dynamodb",
            "awsRegion": "eu-west-1",
            "dynamodb": {
                "Keys": { "pk": { "S": "doc#1" } },
                "NewImage": new_image,
                "SequenceNumber": "100",
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            },
            "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/t/stream/x",
            "tags": ["a", "b"],
            "count": 12,
            "nothing": null,
            "empty": ""
        })
    }

    /// Parses `pattern` and shows, for each record, whether it matches; or
    /// the error.
    fn check(pattern: &str, records: &[Value], expected: Expect) {
        let shown = match Filter::parse(pattern) {
            Ok(filter) => records
                .iter()
                .map(|r| if filter.matches(r) { "match" } else { "no" })
                .collect::<Vec<_>>()
                .join(" "),
            Err(error) => format!("error: {error}"),
        };
        expected.assert_eq(&shown);
    }

    fn sample() -> Vec<Value> {
        vec![
            record(
                "INSERT",
                json!({ "pk": { "S": "keep-1" }, "pages": { "N": "3" } }),
            ),
            record(
                "MODIFY",
                json!({ "pk": { "S": "drop-2" }, "Flag": { "BOOL": true } }),
            ),
            record("REMOVE", json!({ "pk": { "S": "KEEP.png" } })),
        ]
    }

    #[test]
    fn exact_values_and_or_within_a_field() {
        check(
            r#"{"eventName":["INSERT"]}"#,
            &sample(),
            expect!["match no no"],
        );
        check(
            r#"{"eventName":["INSERT","REMOVE"]}"#,
            &sample(),
            expect!["match no match"],
        );
        check(
            r#"{"dynamodb":{"NewImage":{"Flag":{"BOOL":[true]}}}}"#,
            &sample(),
            expect!["no match no"],
        );
        check(r#"{"count":[12]}"#, &sample(), expect!["match match match"]);
        check(r#"{"count":["12"]}"#, &sample(), expect!["no no no"]);
        check(
            r#"{"nothing":[null]}"#,
            &sample(),
            expect!["match match match"],
        );
        check(r#"{"empty":[""]}"#, &sample(), expect!["match match match"]);
        check(r#"{"tags":["b"]}"#, &sample(), expect!["match match match"]);
    }

    #[test]
    fn every_field_must_match_and_or_takes_one_pattern() {
        check(
            r#"{"eventName":["INSERT"],"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"drop"}]}}}}"#,
            &sample(),
            expect!["no no no"],
        );
        check(
            r#"{"$or":[{"eventName":["INSERT"]},{"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"drop"}]}}}}]}"#,
            &sample(),
            expect!["match match no"],
        );
    }

    #[test]
    fn string_operators() {
        let pk = |matcher: &str| {
            format!(r#"{{"dynamodb":{{"NewImage":{{"pk":{{"S":[{matcher}]}}}}}}}}"#)
        };
        check(
            &pk(r#"{"prefix":"keep"}"#),
            &sample(),
            expect!["match no no"],
        );
        check(
            &pk(r#"{"suffix":".png"}"#),
            &sample(),
            expect!["no no match"],
        );
        check(
            &pk(r#"{"equals-ignore-case":"keep-1"}"#),
            &sample(),
            expect!["match no no"],
        );
        check(
            &pk(r#"{"anything-but":["keep-1","drop-2"]}"#),
            &sample(),
            expect!["no no match"],
        );
        check(
            &pk(r#"{"anything-but":{"prefix":"keep"}}"#),
            &sample(),
            expect!["no match match"],
        );
        check(
            &pk(r#"{"anything-but":{"suffix":".png"}}"#),
            &sample(),
            expect!["match match no"],
        );
        check(
            &pk(r#"{"anything-but":{"equals-ignore-case":["KEEP-1","keep.PNG"]}}"#),
            &sample(),
            expect!["no match no"],
        );
        check(
            r#"{"eventName":[{"anything-but":"INSERT"}]}"#,
            &sample(),
            expect!["no match match"],
        );
    }

    #[test]
    fn numeric_ranges_compare_numbers_not_strings() {
        check(
            r#"{"count":[{"numeric":[">",10,"<=",12]}]}"#,
            &sample(),
            expect!["match match match"],
        );
        check(
            r#"{"count":[{"numeric":["<",12]}]}"#,
            &sample(),
            expect!["no no no"],
        );
        check(
            r#"{"count":[{"numeric":["=",12.0]}]}"#,
            &sample(),
            expect!["match match match"],
        );
        // DynamoDB numbers travel as strings: no numeric matcher applies.
        check(
            r#"{"dynamodb":{"NewImage":{"pages":{"N":[{"numeric":[">",0]}]}}}}"#,
            &sample(),
            expect!["no no no"],
        );
    }

    #[test]
    fn exists_is_about_leaves_and_absence() {
        check(
            r#"{"dynamodb":{"NewImage":{"Flag":{"BOOL":[{"exists":true}]}}}}"#,
            &sample(),
            expect!["no match no"],
        );
        check(
            r#"{"dynamodb":{"NewImage":{"Flag":{"BOOL":[{"exists":false}]}}}}"#,
            &sample(),
            expect!["match no match"],
        );
        // An object is not a leaf.
        check(
            r#"{"dynamodb":[{"exists":true}]}"#,
            &sample(),
            expect!["no no no"],
        );
        // Other matchers need the field.
        check(
            r#"{"missing":[{"anything-but":"x"}]}"#,
            &sample(),
            expect!["no no no"],
        );
    }

    #[test]
    fn invalid_patterns_are_refused_with_where_and_why() {
        let none: &[Value] = &[];
        check(
            "{",
            none,
            expect![
                "error: the pattern is not JSON: EOF while parsing an object at line 1 column 1"
            ],
        );
        check(
            "[]",
            none,
            expect!["error: at $: expected an object of fields, found []"],
        );
        check("{}", none, expect!["error: at $: the pattern is empty"]);
        check(
            r#"{"eventName":"INSERT"}"#,
            none,
            expect![[
                r#"error: at $.eventName: expected a non-empty array of matchers or a nested pattern, found "INSERT""#
            ]],
        );
        check(
            r#"{"eventName":[]}"#,
            none,
            expect![
                "error: at $.eventName: expected a non-empty array of matchers or a nested pattern, found []"
            ],
        );
        check(
            r#"{"a":[{"wildcard":"x*"}]}"#,
            none,
            expect![[r#"error: at $.a: invalid matcher {"wildcard":"x*"}: unknown operator"#]],
        );
        check(
            r#"{"a":[{"prefix":1}]}"#,
            none,
            expect![[r#"error: at $.a: invalid matcher {"prefix":1}: expected a string"#]],
        );
        check(
            r#"{"a":[{"numeric":[">",5,"<",1]}]}"#,
            none,
            expect![[
                r#"error: at $.a: invalid matcher {"numeric":[">",5,"<",1]}: numeric takes [OP, N] or [">"|">=", N, "<"|"<=", M] with N < M"#
            ]],
        );
        check(
            r#"{"a":[{"exists":"yes"}]}"#,
            none,
            expect![[
                r#"error: at $.a: invalid matcher {"exists":"yes"}: exists takes true or false"#
            ]],
        );
        check(
            r#"{"a":[{"anything-but":[1,"x"]}]}"#,
            none,
            expect![[
                r#"error: at $.a: invalid matcher {"anything-but":[1,"x"]}: anything-but takes a value, a non-empty list of strings or of numbers, or {"prefix"|"suffix"|"equals-ignore-case": ...}"#
            ]],
        );
        check(
            r#"{"$or":[{"a":["x"]}]}"#,
            none,
            expect![[
                r#"error: at $.$or: $or needs an array of at least two patterns, found [{"a":["x"]}]"#
            ]],
        );
        check(
            r#"{"a":[{"prefix":"x","suffix":"y"}]}"#,
            none,
            expect![[
                r#"error: at $.a: invalid matcher {"prefix":"x","suffix":"y"}: a matcher object has exactly one operator"#
            ]],
        );
        let long = format!(r#"{{"a":["{}"]}}"#, "x".repeat(MAX_PATTERN_CHARS));
        check(
            &long,
            none,
            expect!["error: the pattern has 4106 characters, more than 4096"],
        );
    }

    /// A one-field matcher, with what the filter syntax says of it.
    #[derive(Debug, Clone)]
    enum Spec {
        Exact(String),
        Prefix(String),
        Suffix(String),
        IgnoreCase(String),
        AnythingBut(Vec<String>),
        AnythingButPrefix(String),
        Exists(bool),
    }

    impl Spec {
        fn pattern(&self) -> Value {
            match self {
                Spec::Exact(s) => json!(s),
                Spec::Prefix(s) => json!({ "prefix": s }),
                Spec::Suffix(s) => json!({ "suffix": s }),
                Spec::IgnoreCase(s) => json!({ "equals-ignore-case": s }),
                Spec::AnythingBut(values) => json!({ "anything-but": values }),
                Spec::AnythingButPrefix(s) => json!({ "anything-but": { "prefix": s } }),
                Spec::Exists(wanted) => json!({ "exists": wanted }),
            }
        }

        /// The reference: what the documentation says, written plainly.
        fn expected(&self, value: Option<&str>) -> bool {
            let Some(v) = value else {
                return matches!(self, Spec::Exists(false));
            };
            match self {
                Spec::Exact(s) => v == s,
                Spec::Prefix(s) => v.starts_with(s.as_str()),
                Spec::Suffix(s) => v.ends_with(s.as_str()),
                Spec::IgnoreCase(s) => v.to_lowercase() == s.to_lowercase(),
                Spec::AnythingBut(values) => !values.iter().any(|x| x == v),
                Spec::AnythingButPrefix(s) => !v.starts_with(s.as_str()),
                Spec::Exists(wanted) => *wanted,
            }
        }
    }

    fn spec() -> impl proptest::strategy::Strategy<Value = Spec> {
        use proptest::prelude::*;
        let text = "[aAb]{0,3}";
        prop_oneof![
            text.prop_map(Spec::Exact),
            text.prop_map(Spec::Prefix),
            text.prop_map(Spec::Suffix),
            text.prop_map(Spec::IgnoreCase),
            proptest::collection::vec(text, 1..3).prop_map(Spec::AnythingBut),
            text.prop_map(Spec::AnythingButPrefix),
            any::<bool>().prop_map(Spec::Exists),
        ]
    }

    proptest::proptest! {
        #[test]
        fn matchers_agree_with_the_reference(
            first in spec(),
            second in spec(),
            value in proptest::option::of("[aAb]{0,3}"),
        ) {
            let record = match &value {
                Some(v) => json!({ "f": v }),
                None => json!({ "g": "other" }),
            };
            let one = json!({ "f": [first.pattern()] }).to_string();
            proptest::prop_assert_eq!(
                Filter::parse(&one).unwrap().matches(&record),
                first.expected(value.as_deref()),
                "{}", one
            );
            // Matchers in one list: any; two patterns under $or: either.
            let either = first.expected(value.as_deref()) || second.expected(value.as_deref());
            let listed = json!({ "f": [first.pattern(), second.pattern()] }).to_string();
            proptest::prop_assert_eq!(Filter::parse(&listed).unwrap().matches(&record), either);
            let or = json!({ "$or": [{ "f": [first.pattern()] }, { "f": [second.pattern()] }] })
                .to_string();
            proptest::prop_assert_eq!(Filter::parse(&or).unwrap().matches(&record), either);
        }
    }

    #[test]
    fn at_most_five_filters_any_of_which_may_match() {
        let six = [r#"{"a":["x"]}"#; 6];
        expect!["6 filters given, at most 5 are allowed"]
            .assert_eq(&parse_filters(six.iter().copied()).unwrap_err().to_string());
        let filters = parse_filters(
            [r#"{"eventName":["INSERT"]}"#, r#"{"eventName":["REMOVE"]}"#].into_iter(),
        )
        .unwrap();
        let passed: Vec<bool> = sample().iter().map(|r| passes(&filters, r)).collect();
        assert_eq!(passed, [true, false, true]);
        assert!(sample().iter().all(|r| passes(&[], r)));
    }
}
