//! The request context and the condition operators evaluated against it.
//!
//! [`Context`] holds condition keys (case-insensitive) with one or many
//! values. [`conditions_match`] evaluates a statement's `Condition` the way
//! the IAM documentation describes it: every operator block and every key
//! in it must match (AND); any one of a key's policy values is enough (OR).
//! For an absent key, `...IfExists` matches, negated operators
//! (`StringNotEquals`, `NotIpAddress`, ...) match, `ForAllValues:` matches,
//! and everything else does not; `Null` tests presence itself. A value that
//! cannot be read as the operator's type (a number, a date, an IP address)
//! never matches. An operator IAM does not define never matches. Policy
//! variables are substituted in the values of the String and ARN operators
//! only; one without a value fails the whole condition, negated operators
//! included, so that its statement does not apply.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::document::{ConditionBlock, ConditionValue, OperatorKind, SetQualifier};
use crate::pattern::{VariableSource, arn_matches, glob_matches, literal_eq, substitute};

/// Condition keys and their values for one request.
///
/// ```
/// use streamgate_policy::condition::Context;
/// let mut context = Context::new();
/// context.insert("aws:SourceIp", "203.0.113.7");
/// context.insert_many("aws:TagKeys", ["team", "cost-center"]);
/// assert_eq!(context.get("AWS:SOURCEIP"), Some(&["203.0.113.7".to_owned()][..]));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// Keys are mostly the global keys, so they are usually borrowed.
    entries: Vec<(Cow<'static, str>, Vec<String>)>,
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context with room for `keys` keys before it reallocates.
    pub fn with_capacity(keys: usize) -> Self {
        Self {
            entries: Vec::with_capacity(keys),
        }
    }

    /// Sets `key` to a single value, replacing what it had.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        self.insert_many(key, [value.into()]);
    }

    /// Sets `key` to many values (a multi-valued key such as `aws:TagKeys`).
    pub fn insert_many<V: Into<String>>(
        &mut self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        self.set(Cow::Owned(key.into()), values);
    }

    /// Sets a key whose name is a constant, without copying the name.
    pub(crate) fn insert_static(&mut self, key: &'static str, value: impl Into<String>) {
        self.set(Cow::Borrowed(key), vec![value.into()]);
    }

    fn set(&mut self, key: Cow<'static, str>, values: Vec<String>) {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            Some(entry) => *entry = (key, values),
            None => self.entries.push((key, values)),
        }
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(key));
    }

    /// The values of `key`, looked up case-insensitively.
    pub fn get(&self, key: &str) -> Option<&[String]> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_slice())
    }

    /// Every key with its values, in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_slice()))
    }
}

impl VariableSource for Context {
    fn variable(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some([single]) => Some(single),
            _ => None,
        }
    }
}

/// True when every block of a statement's `Condition` matches.
/// `substitute_variables` is true for documents of version 2012-10-17.
pub fn conditions_match(
    blocks: &[ConditionBlock],
    context: &Context,
    substitute_variables: bool,
) -> bool {
    blocks.iter().all(|block| {
        block.entries.iter().all(|entry| {
            entry_matches(
                block,
                &entry.key,
                entry.values.as_slice(),
                context,
                substitute_variables,
            )
        })
    })
}

fn entry_matches(
    block: &ConditionBlock,
    key: &str,
    policy_values: &[ConditionValue],
    context: &Context,
    substitute_variables: bool,
) -> bool {
    let operator = &block.operator;
    let Some(kind) = operator.kind() else {
        return false;
    };
    // IAM "Variables and tags": only the String and ARN operators take
    // policy variables (elsewhere `${...}` is literal text), and a variable
    // with no value makes the whole statement not apply, whatever the
    // operator (a negated one included).
    let substituted: Option<Vec<Cow<'_, str>>> = if substitute_variables
        && takes_variables(kind)
        && policy_values.iter().any(|v| v.as_str().contains("${"))
    {
        let mut values = Vec::with_capacity(policy_values.len());
        for value in policy_values {
            match substitute(value.as_str(), context) {
                Some(text) => values.push(text),
                None => return false,
            }
        }
        Some(values)
    } else {
        None
    };
    let request_values = context.get(key).filter(|values| !values.is_empty());
    if kind == OperatorKind::Null {
        let absent = request_values.is_none();
        return policy_values.iter().any(|v| {
            let text = v.as_str();
            if text.eq_ignore_ascii_case("true") {
                absent
            } else if text.eq_ignore_ascii_case("false") {
                !absent
            } else {
                false
            }
        });
    }
    let Some(request_values) = request_values else {
        return operator.if_exists()
            || match operator.qualifier() {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => kind.is_negated(),
            };
    };
    // Whether one request value satisfies the operator: matching any policy
    // value for positive operators, matching none for negated ones.
    let value_ok = |request_value: &str| {
        let any = match &substituted {
            Some(values) => values
                .iter()
                .any(|text| value_matches(kind, text, request_value)),
            None => policy_values
                .iter()
                .any(|value| value_matches(kind, value.as_str(), request_value)),
        };
        any != kind.is_negated()
    };
    match operator.qualifier() {
        Some(SetQualifier::ForAllValues) => request_values.iter().all(|v| value_ok(v)),
        Some(SetQualifier::ForAnyValue) => request_values.iter().any(|v| value_ok(v)),
        None if kind.is_negated() => request_values.iter().all(|v| value_ok(v)),
        None => request_values.iter().any(|v| value_ok(v)),
    }
}

/// Whether IAM substitutes policy variables in the values of this operator:
/// the String and ARN operators only.
pub(crate) fn takes_variables(kind: OperatorKind) -> bool {
    use OperatorKind as K;
    matches!(
        kind,
        K::StringEquals
            | K::StringNotEquals
            | K::StringEqualsIgnoreCase
            | K::StringNotEqualsIgnoreCase
            | K::StringLike
            | K::StringNotLike
            | K::ArnEquals
            | K::ArnLike
            | K::ArnNotEquals
            | K::ArnNotLike
    )
}

/// The positive form of the operator: does `request` match `policy`?
fn value_matches(kind: OperatorKind, policy: &str, request: &str) -> bool {
    use OperatorKind as K;
    match kind {
        K::StringEquals | K::StringNotEquals => literal_eq(policy, request, false),
        K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => {
            literal_eq(policy, request, true)
        }
        K::StringLike | K::StringNotLike => glob_matches(policy, request, false),
        K::NumericEquals | K::NumericNotEquals => {
            compare_numbers(policy, request).is_some_and(|o| o.is_eq())
        }
        K::NumericLessThan => compare_numbers(request, policy).is_some_and(|o| o.is_lt()),
        K::NumericLessThanEquals => compare_numbers(request, policy).is_some_and(|o| o.is_le()),
        K::NumericGreaterThan => compare_numbers(request, policy).is_some_and(|o| o.is_gt()),
        K::NumericGreaterThanEquals => compare_numbers(request, policy).is_some_and(|o| o.is_ge()),
        K::DateEquals | K::DateNotEquals => {
            compare_dates(policy, request).is_some_and(|o| o.is_eq())
        }
        K::DateLessThan => compare_dates(request, policy).is_some_and(|o| o.is_lt()),
        K::DateLessThanEquals => compare_dates(request, policy).is_some_and(|o| o.is_le()),
        K::DateGreaterThan => compare_dates(request, policy).is_some_and(|o| o.is_gt()),
        K::DateGreaterThanEquals => compare_dates(request, policy).is_some_and(|o| o.is_ge()),
        K::Bool => policy.eq_ignore_ascii_case(request),
        K::BinaryEquals => policy == request,
        K::IpAddress | K::NotIpAddress => ip_in_range(policy, request),
        K::ArnEquals | K::ArnLike | K::ArnNotEquals | K::ArnNotLike => arn_matches(policy, request),
        K::Null => false,
    }
}

/// Compares two numbers given as text; integers exactly, others as floats.
fn compare_numbers(left: &str, right: &str) -> Option<std::cmp::Ordering> {
    if let (Ok(l), Ok(r)) = (left.trim().parse::<i128>(), right.trim().parse::<i128>()) {
        return Some(l.cmp(&r));
    }
    let l: f64 = left.trim().parse().ok()?;
    let r: f64 = right.trim().parse().ok()?;
    l.partial_cmp(&r)
}

fn compare_dates(left: &str, right: &str) -> Option<std::cmp::Ordering> {
    Some(parse_date_millis(left)?.cmp(&parse_date_millis(right)?))
}

/// Reads a date as milliseconds since the Unix epoch: either epoch seconds
/// (`1714564800`, `1714564800.5`) or ISO 8601 (`2024-05-01`,
/// `2024-05-01T12:00:00Z`, `2024-05-01T12:00:00.123+02:00`).
pub fn parse_date_millis(text: &str) -> Option<i128> {
    let text = text.trim();
    if text.get(4..5) != Some("-") {
        let seconds: f64 = text.parse().ok()?;
        if !seconds.is_finite() || seconds.abs() > 1e15 {
            return None;
        }
        // Bounded above, so the conversion cannot saturate.
        return Some((seconds * 1000.0).round() as i128);
    }
    let number = |s: Option<&str>| -> Option<i64> {
        let s = s?;
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let year = number(text.get(0..4))?;
    if text.get(4..5)? != "-" || text.get(7..8)? != "-" {
        return None;
    }
    let month = number(text.get(5..7))?;
    let day = number(text.get(8..10))?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let mut millis_of_day: i64 = 0;
    let mut offset_minutes: i64 = 0;
    let rest = text.get(10..)?;
    if !rest.is_empty() {
        let time = rest.strip_prefix('T').or_else(|| rest.strip_prefix(' '))?;
        let hour = number(time.get(0..2))?;
        if time.get(2..3)? != ":" {
            return None;
        }
        let minute = number(time.get(3..5))?;
        let mut rest = time.get(5..)?;
        let mut second = 0;
        let mut millis = 0;
        if let Some(after) = rest.strip_prefix(':') {
            second = number(after.get(0..2))?;
            rest = after.get(2..)?;
            if let Some(after) = rest.strip_prefix('.') {
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if digits == 0 {
                    return None;
                }
                let fraction = after.get(..digits)?;
                let padded = format!("{fraction:0<3}");
                millis = number(padded.get(..3))?;
                rest = after.get(digits..)?;
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        millis_of_day = ((hour * 60 + minute) * 60 + second) * 1000 + millis;
        match rest {
            "" | "Z" | "z" => {}
            zone => {
                let sign = match zone.get(0..1)? {
                    "+" => 1,
                    "-" => -1,
                    _ => return None,
                };
                let zone = zone.get(1..)?;
                let (h, m) = match zone.split_once(':') {
                    Some((h, m)) => (h, m),
                    None => (zone.get(0..2)?, zone.get(2..)?),
                };
                offset_minutes = sign * (number(Some(h))? * 60 + number(Some(m))?);
            }
        }
    }
    let days = days_from_civil(year, month, day);
    Some(
        i128::from(days) * 86_400_000 + i128::from(millis_of_day)
            - i128::from(offset_minutes) * 60_000,
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// True when `address` lies in `range` (`203.0.113.0/24`, `2001:db8::/32`,
/// or a single address).
fn ip_in_range(range: &str, address: &str) -> bool {
    let Ok(address) = address.trim().parse::<IpAddr>() else {
        return false;
    };
    let (network, prefix) = match range.trim().split_once('/') {
        Some((network, prefix)) => match prefix.parse::<u32>() {
            Ok(prefix) => (network, Some(prefix)),
            Err(_) => return false,
        },
        None => (range.trim(), None),
    };
    let Ok(network) = network.parse::<IpAddr>() else {
        return false;
    };
    match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let prefix = prefix.unwrap_or(32);
            if prefix > 32 {
                return false;
            }
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let prefix = prefix.unwrap_or(128);
            if prefix > 128 {
                return false;
            }
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::PolicyDocument;
    use expect_test::{Expect, expect};

    /// Evaluates the `Condition` object `condition` against each context
    /// (`key=v1|v2` pairs separated by `;`, empty for none) and prints one
    /// line per context.
    fn check(condition: &str, contexts: &[&str], expected: Expect) {
        let doc = PolicyDocument::parse(&format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"*","Condition":{condition}}}}}"#
        ))
        .unwrap();
        let blocks = doc.statements()[0].condition.as_ref().unwrap();
        let mut out = String::new();
        for spec in contexts {
            let mut context = Context::new();
            for pair in spec.split(';').filter(|p| !p.is_empty()) {
                let (key, values) = pair.split_once('=').unwrap();
                context.insert_many(key, values.split('|'));
            }
            let result = conditions_match(blocks, &context, doc.substitutes_variables());
            out.push_str(&format!("{spec:?}: {result}\n"));
        }
        expected.assert_eq(&out);
    }

    #[test]
    fn string_operators_and_absent_keys() {
        check(
            r#"{"StringEquals": {"aws:PrincipalOrgID": ["o-1", "o-2"]}}"#,
            &["aws:principalorgid=o-2", "aws:PrincipalOrgID=O-2", ""],
            expect![[r#"
                "aws:principalorgid=o-2": true
                "aws:PrincipalOrgID=O-2": false
                "": false
            "#]],
        );
        check(
            r#"{"StringNotEquals": {"k": "a"}}"#,
            &["k=a", "k=b", "", "k=b|a"],
            expect![[r#"
                "k=a": false
                "k=b": true
                "": true
                "k=b|a": false
            "#]],
        );
        check(
            r#"{"StringEqualsIgnoreCaseIfExists": {"k": "ABC"}, "StringLike": {"j": "a*c"}}"#,
            &["j=abbc", "j=abbc;k=abc", "j=abbc;k=x", "k=abc"],
            expect![[r#"
                "j=abbc": true
                "j=abbc;k=abc": true
                "j=abbc;k=x": false
                "k=abc": false
            "#]],
        );
    }

    #[test]
    fn set_qualifiers() {
        check(
            r#"{"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &["aws:TagKeys=a|b", "aws:TagKeys=a|c", ""],
            expect![[r#"
                "aws:TagKeys=a|b": true
                "aws:TagKeys=a|c": false
                "": true
            "#]],
        );
        check(
            r#"{"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}"#,
            &["aws:TagKeys=x|b", "aws:TagKeys=x|y", ""],
            expect![[r#"
                "aws:TagKeys=x|b": true
                "aws:TagKeys=x|y": false
                "": false
            "#]],
        );
        check(
            r#"{"ForAllValues:StringNotEquals": {"t": ["a", "b"]}, "ForAnyValue:StringNotLike": {"u": "x*"}}"#,
            &["t=c|d;u=xa|y", "t=c|a;u=y", "u=xa"],
            expect![[r#"
                "t=c|d;u=xa|y": true
                "t=c|a;u=y": false
                "u=xa": false
            "#]],
        );
    }

    #[test]
    fn numbers_dates_bools_and_null() {
        check(
            r#"{"NumericLessThanEquals": {"n": 10.5}, "NumericNotEquals": {"m": "3"}}"#,
            &["n=10.5", "n=10.50001", "n=abc", "n=-1;m=3", "n=2;m=03"],
            expect![[r#"
                "n=10.5": true
                "n=10.50001": false
                "n=abc": false
                "n=-1;m=3": false
                "n=2;m=03": false
            "#]],
        );
        check(
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2024-05-01T12:00:00Z"}, "DateLessThan": {"aws:CurrentTime": "2024-05-02"}}"#,
            &[
                "aws:CurrentTime=2024-05-01T12:00:00.001Z",
                "aws:CurrentTime=2024-05-01T13:00:00+02:00",
                "aws:CurrentTime=1714600000",
                "aws:CurrentTime=tomorrow",
            ],
            expect![[r#"
                "aws:CurrentTime=2024-05-01T12:00:00.001Z": true
                "aws:CurrentTime=2024-05-01T13:00:00+02:00": false
                "aws:CurrentTime=1714600000": true
                "aws:CurrentTime=tomorrow": false
            "#]],
        );
        check(
            r#"{"Bool": {"aws:SecureTransport": false}}"#,
            &["aws:SecureTransport=False", "aws:SecureTransport=true", ""],
            expect![[r#"
                "aws:SecureTransport=False": true
                "aws:SecureTransport=true": false
                "": false
            "#]],
        );
        check(
            r#"{"Null": {"aws:PrincipalOrgID": "true", "k": false}}"#,
            &["k=1", "k=1;aws:PrincipalOrgID=o-1", ""],
            expect![[r#"
                "k=1": true
                "k=1;aws:PrincipalOrgID=o-1": false
                "": false
            "#]],
        );
    }

    #[test]
    fn ip_arn_binary_unknown_and_variables() {
        check(
            r#"{"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}"#,
            &[
                "aws:SourceIp=203.0.113.200",
                "aws:SourceIp=203.0.114.1",
                "aws:SourceIp=2001:db8:1::9",
                "aws:SourceIp=nope",
            ],
            expect![[r#"
                "aws:SourceIp=203.0.113.200": true
                "aws:SourceIp=203.0.114.1": false
                "aws:SourceIp=2001:db8:1::9": true
                "aws:SourceIp=nope": false
            "#]],
        );
        check(
            r#"{"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}"#,
            &["aws:SourceIp=10.1.2.3", "aws:SourceIp=11.1.2.3", ""],
            expect![[r#"
                "aws:SourceIp=10.1.2.3": false
                "aws:SourceIp=11.1.2.3": true
                "": true
            "#]],
        );
        check(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/billing-*"}}"#,
            &[
                "aws:PrincipalArn=arn:aws:iam::111111111111:role/billing-consumer",
                "aws:PrincipalArn=arn:aws:iam::111111111111:role/other",
            ],
            expect![[r#"
                "aws:PrincipalArn=arn:aws:iam::111111111111:role/billing-consumer": true
                "aws:PrincipalArn=arn:aws:iam::111111111111:role/other": false
            "#]],
        );
        check(
            r#"{"StringEquals": {"s3:prefix": "home/${aws:username}/"}}"#,
            &[
                "s3:prefix=home/carlos/;aws:username=carlos",
                "s3:prefix=home/carlos/",
                "s3:prefix=home/${aws:username}/",
            ],
            expect![[r#"
                "s3:prefix=home/carlos/;aws:username=carlos": true
                "s3:prefix=home/carlos/": false
                "s3:prefix=home/${aws:username}/": false
            "#]],
        );
        check(
            r#"{"StringMatches": {"k": "a"}}"#,
            &["k=a"],
            expect![[r#"
                "k=a": false
            "#]],
        );
    }

    #[test]
    fn a_variable_without_a_value_makes_the_condition_fail() {
        // IAM "Variables and tags": "not present means that the value is not
        // in the current request information, and any attempt to match it
        // fails and causes the statement to be invalid" -- a negated
        // operator included.
        check(
            r#"{"StringNotEquals": {"aws:PrincipalAccount": "${aws:SourceAccount}"}}"#,
            &[
                "aws:PrincipalAccount=111111111111",
                "aws:PrincipalAccount=111111111111;aws:SourceAccount=111111111111",
                "aws:PrincipalAccount=111111111111;aws:SourceAccount=222222222222",
            ],
            expect![[r#"
                "aws:PrincipalAccount=111111111111": false
                "aws:PrincipalAccount=111111111111;aws:SourceAccount=111111111111": false
                "aws:PrincipalAccount=111111111111;aws:SourceAccount=222222222222": true
            "#]],
        );
    }

    #[test]
    fn only_string_and_arn_operators_take_variables() {
        // IAM "Variables and tags", "Where you can use policy variables":
        // condition values of the String and ARN operators only; elsewhere
        // `${...}` is literal text.
        check(
            r#"{"NumericLessThan": {"n": "${limit}"}}"#,
            &["n=3;limit=5"],
            expect![[r#"
                "n=3;limit=5": false
            "#]],
        );
        check(
            r#"{"Bool": {"aws:SecureTransport": "${flag}"}}"#,
            &[
                "aws:SecureTransport=true;flag=true",
                "aws:SecureTransport=${flag}",
            ],
            expect![[r#"
                "aws:SecureTransport=true;flag=true": false
                "aws:SecureTransport=${flag}": true
            "#]],
        );
        check(
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:${aws:PrincipalAccount}:*"}}"#,
            &[
                "aws:SourceArn=arn:aws:sqs:eu-west-1:111111111111:q;aws:PrincipalAccount=111111111111",
            ],
            expect![[r#"
                "aws:SourceArn=arn:aws:sqs:eu-west-1:111111111111:q;aws:PrincipalAccount=111111111111": true
            "#]],
        );
    }

    #[test]
    fn ignore_case_keeps_escaped_wildcards_literal() {
        // IAM "Variables and tags": `${*}` and `${?}` stand for a literal
        // `*` and `?`, which StringEqualsIgnoreCase must compare as such.
        check(
            r#"{"StringEqualsIgnoreCase": {"k": "A${*}b${?}"}}"#,
            &["k=a*B?", "k=axbx"],
            expect![[r#"
                "k=a*B?": true
                "k=axbx": false
            "#]],
        );
        check(
            r#"{"StringNotEqualsIgnoreCase": {"k": "Ü${*}"}}"#,
            &["k=ü*", "k=üx"],
            expect![[r#"
                "k=ü*": false
                "k=üx": true
            "#]],
        );
    }

    #[test]
    fn dates_read_both_forms() {
        assert_eq!(parse_date_millis("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_date_millis("1714564800"),
            parse_date_millis("2024-05-01T12:00:00Z")
        );
        assert_eq!(
            parse_date_millis("2024-02-29T00:00:00.5Z"),
            Some(1_709_164_800_500)
        );
        assert_eq!(parse_date_millis("2024-13-01"), None);
        assert_eq!(parse_date_millis(""), None);
    }
}
