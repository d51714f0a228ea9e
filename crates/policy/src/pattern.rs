//! Wildcard matching and policy variables, the string rules IAM applies to
//! actions, resources and condition values.
//!
//! - `*` matches any run of characters, `?` exactly one.
//! - Actions match case-insensitively ([`action_matches`]); resources and
//!   ARN conditions case-sensitively, ARN segment by ARN segment
//!   ([`arn_matches`]): a wildcard never crosses one of the first five
//!   colons, except that a `*` ending a pattern with fewer segments than the
//!   ARN runs to the end (`arn:aws:dynamodb:*` matches every DynamoDB ARN).
//! - Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'x'}`,
//!   and the escapes `${*}`, `${?}`, `${$}`) are substituted by
//!   [`substitute`], and in resource patterns by [`substitute_resource`],
//!   only after the fifth colon; their values are literal text, never
//!   wildcards.
//!
//! Nothing here allocates unless a pattern holds a policy variable or a
//! non-ASCII character.

use std::borrow::Cow;

/// Marks a `*` that came from `${*}` or a variable value: it matches only a
/// literal `*`. A private-use character, which no ARN or action contains.
const LITERAL_STAR: char = '\u{F8FE}';
/// Marks a literal `?`, as [`LITERAL_STAR`].
const LITERAL_QUESTION: char = '\u{F8FF}';

/// Looks a context key up for policy variable substitution: the key's
/// single value, or `None` when absent or multi-valued.
pub trait VariableSource {
    /// The value of `key` (compared case-insensitively).
    fn variable(&self, key: &str) -> Option<&str>;
}

/// Replaces the policy variables in `pattern`.
///
/// Returns `None` when a variable has no value and no default: IAM then
/// treats the element as matching nothing.
///
/// ```
/// use streamgate_policy::pattern::{substitute, VariableSource};
/// struct User;
/// impl VariableSource for User {
///     fn variable(&self, key: &str) -> Option<&str> {
///         key.eq_ignore_ascii_case("aws:username").then_some("carlos")
///     }
/// }
/// assert_eq!(substitute("home/${aws:username}/*", &User).as_deref(), Some("home/carlos/*"));
/// assert_eq!(substitute("${aws:userid}", &User), None);
/// assert_eq!(substitute("${aws:userid, 'none'}", &User).as_deref(), Some("none"));
/// ```
pub fn substitute<'p>(pattern: &'p str, source: &dyn VariableSource) -> Option<Cow<'p, str>> {
    if !pattern.contains("${") {
        return Some(Cow::Borrowed(pattern));
    }
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut rest = pattern;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else {
            // An unclosed `${` is literal text.
            out.push_str(rest.get(start..).unwrap_or_default());
            return Some(Cow::Owned(out));
        };
        let inner = after.get(..end).unwrap_or_default();
        rest = after.get(end + 1..).unwrap_or_default();
        match inner {
            "*" => out.push(LITERAL_STAR),
            "?" => out.push(LITERAL_QUESTION),
            "$" => out.push('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((key, default)) => {
                        let default = default.trim();
                        let default = default
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(default);
                        (key.trim(), Some(default))
                    }
                    None => (inner.trim(), None),
                };
                let value = source.variable(key).or(default)?;
                push_literal(&mut out, value);
            }
        }
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}

/// The byte offset where the resource part of an ARN pattern begins: just
/// after its fifth colon, not counting colons inside `${...}`. `None` when
/// the pattern has fewer than five such colons.
pub(crate) fn resource_part_start(pattern: &str) -> Option<usize> {
    let mut colons = 0;
    let mut in_variable = false;
    let mut previous = '\0';
    for (index, c) in pattern.char_indices() {
        match c {
            '{' if previous == '$' => in_variable = true,
            '}' => in_variable = false,
            ':' if !in_variable => {
                colons += 1;
                if colons == 5 {
                    return Some(index + 1);
                }
            }
            _ => {}
        }
        previous = c;
    }
    None
}

/// Replaces the policy variables of a `Resource` or `NotResource` pattern,
/// only in its resource part (after the fifth colon), the one place of an
/// ARN where IAM substitutes them; before it, `${...}` is literal text.
///
/// Returns `None` when a variable there has no value and no default.
///
/// ```
/// use streamgate_policy::pattern::{substitute_resource, VariableSource};
/// struct Account;
/// impl VariableSource for Account {
///     fn variable(&self, key: &str) -> Option<&str> {
///         key.eq_ignore_ascii_case("aws:PrincipalAccount").then_some("111111111111")
///     }
/// }
/// assert_eq!(
///     substitute_resource("arn:aws:s3:::b/${aws:PrincipalAccount}/*", &Account).as_deref(),
///     Some("arn:aws:s3:::b/111111111111/*")
/// );
/// assert_eq!(
///     substitute_resource("arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/t", &Account).as_deref(),
///     Some("arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/t")
/// );
/// ```
pub fn substitute_resource<'p>(
    pattern: &'p str,
    source: &dyn VariableSource,
) -> Option<Cow<'p, str>> {
    if !pattern.contains("${") {
        return Some(Cow::Borrowed(pattern));
    }
    let Some(start) = resource_part_start(pattern) else {
        return Some(Cow::Borrowed(pattern));
    };
    let (prefix, resource) = (
        pattern.get(..start).unwrap_or_default(),
        pattern.get(start..).unwrap_or_default(),
    );
    match substitute(resource, source)? {
        Cow::Borrowed(_) => Some(Cow::Borrowed(pattern)),
        Cow::Owned(resource) => Some(Cow::Owned(format!("{prefix}{resource}"))),
    }
}

fn push_literal(out: &mut String, value: &str) {
    for c in value.chars() {
        out.push(match c {
            '*' => LITERAL_STAR,
            '?' => LITERAL_QUESTION,
            c => c,
        });
    }
}

/// True when `c` from a pattern matches `v` from a value.
fn char_eq(p: char, v: char, ignore_case: bool) -> bool {
    p == v
        || (p == LITERAL_STAR && v == '*')
        || (p == LITERAL_QUESTION && v == '?')
        || (ignore_case && p.to_lowercase().eq(v.to_lowercase()))
}

/// Equality of a substituted pattern and a value, where a literal `*` or
/// `?` that came from `${*}`, `${?}` or a variable's value equals the
/// character itself; optionally ignoring case.
pub(crate) fn literal_eq(pattern: &str, value: &str, ignore_case: bool) -> bool {
    if pattern.is_ascii() && value.is_ascii() {
        return if ignore_case {
            pattern.eq_ignore_ascii_case(value)
        } else {
            pattern == value
        };
    }
    let mut p = pattern.chars();
    let mut v = value.chars();
    loop {
        match (p.next(), v.next()) {
            (None, None) => return true,
            (Some(pc), Some(vc)) if char_eq(pc, vc, ignore_case) => {}
            _ => return false,
        }
    }
}

/// Glob matching on bytes, for the common all-ASCII case.
fn glob_bytes(pattern: &[u8], value: &[u8], ignore_case: bool) -> bool {
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, v));
                p += 1;
                continue;
            }
            Some(&pc) => {
                let vc = value.get(v).copied().unwrap_or_default();
                let same = pc == b'?' || pc == vc || (ignore_case && pc.eq_ignore_ascii_case(&vc));
                if same {
                    p += 1;
                    v += 1;
                    continue;
                }
            }
            None => {}
        }
        match star {
            Some((sp, sv)) => {
                p = sp + 1;
                v = sv + 1;
                star = Some((sp, sv + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|tail| tail.iter().all(|&b| b == b'*'))
}

/// Glob matching on characters, for patterns or values beyond ASCII.
fn glob_chars(pattern: &[char], value: &[char], ignore_case: bool) -> bool {
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, v));
                p += 1;
                continue;
            }
            Some(&pc) => {
                let vc = value.get(v).copied().unwrap_or_default();
                if pc == '?' || char_eq(pc, vc, ignore_case) {
                    p += 1;
                    v += 1;
                    continue;
                }
            }
            None => {}
        }
        match star {
            Some((sp, sv)) => {
                p = sp + 1;
                v = sv + 1;
                star = Some((sp, sv + 1));
            }
            None => return false,
        }
    }
    pattern
        .get(p..)
        .is_some_and(|tail| tail.iter().all(|&c| c == '*'))
}

/// Matches `value` against a pattern with `*` and `?`.
///
/// ```
/// use streamgate_policy::pattern::glob_matches;
/// assert!(glob_matches("Get*", "GetRecords", false));
/// assert!(!glob_matches("get*", "GetRecords", false));
/// assert!(glob_matches("get*", "GetRecords", true));
/// ```
pub fn glob_matches(pattern: &str, value: &str, ignore_case: bool) -> bool {
    let literal_ascii = pattern
        .bytes()
        .all(|b| b != b'*' && b != b'?' && b.is_ascii());
    if literal_ascii && value.is_ascii() {
        // Most patterns are plain names: compare them directly.
        return if ignore_case {
            pattern.eq_ignore_ascii_case(value)
        } else {
            pattern == value
        };
    }
    if pattern.is_ascii() && value.is_ascii() {
        return glob_bytes(pattern.as_bytes(), value.as_bytes(), ignore_case);
    }
    let pattern: Vec<char> = pattern.chars().collect();
    let value: Vec<char> = value.chars().collect();
    glob_chars(&pattern, &value, ignore_case)
}

/// Matches an action such as `dynamodb:GetRecords` against a pattern such
/// as `dynamodb:Get*`, ignoring case.
pub fn action_matches(pattern: &str, action: &str) -> bool {
    glob_matches(pattern, action, true)
}

/// Matches an ARN against an ARN pattern, segment by segment, case-sensitively.
///
/// ```
/// use streamgate_policy::pattern::arn_matches;
/// let stream = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
/// assert!(arn_matches("arn:aws:dynamodb:*:222222222222:table/documents/stream/*", stream));
/// assert!(arn_matches("arn:aws:dynamodb:*", stream));
/// assert!(arn_matches("*", stream));
/// assert!(!arn_matches("arn:aws:dynamodb:*:222222222222:table/Documents/stream/*", stream));
/// assert!(!arn_matches("arn:aws:dynamodb*222222222222:table/documents/stream/*", stream));
/// ```
pub fn arn_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let mut pattern_rest = pattern;
    let mut value_rest = value;
    for _ in 0..5 {
        let (p_seg, p_next) = match pattern_rest.split_once(':') {
            Some((seg, next)) => (seg, Some(next)),
            None => (pattern_rest, None),
        };
        let Some(p_next) = p_next else {
            // The pattern has fewer segments than the ARN: a trailing `*`
            // runs over the remaining colons.
            return if value_rest.contains(':') {
                p_seg.ends_with('*') && glob_matches(p_seg, value_rest, false)
            } else {
                glob_matches(p_seg, value_rest, false)
            };
        };
        let Some((v_seg, v_next)) = value_rest.split_once(':') else {
            return false;
        };
        if !glob_matches(p_seg, v_seg, false) {
            return false;
        }
        pattern_rest = p_next;
        value_rest = v_next;
    }
    glob_matches(pattern_rest, value_rest, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    struct Vars;
    impl VariableSource for Vars {
        fn variable(&self, key: &str) -> Option<&str> {
            if key.eq_ignore_ascii_case("aws:username") {
                Some("a*b")
            } else {
                None
            }
        }
    }

    /// Matches each `(pattern, value)` as an action, a resource and after
    /// substitution, one line each.
    fn check(cases: &[(&str, &str)], expected: Expect) {
        let mut out = String::new();
        for (pattern, value) in cases {
            let substituted = substitute(pattern, &Vars)
                .map(|p| arn_matches(&p, value).to_string())
                .unwrap_or_else(|| "absent".to_owned());
            out.push_str(&format!(
                "{pattern} ~ {value}: action {} arn {} substituted {}\n",
                action_matches(pattern, value),
                arn_matches(pattern, value),
                substituted,
            ));
        }
        expected.assert_eq(&out);
    }

    #[test]
    fn wildcards_cases_and_segments() {
        check(
            &[
                ("dynamodb:Get*", "dynamodb:GetRecords"),
                ("DynamoDB:getrecords", "dynamodb:GetRecords"),
                ("dynamodb:Get?ecords", "dynamodb:GetRecords"),
                ("dynamodb:*Stream*", "dynamodb:ListStreams"),
                ("s3:*", "dynamodb:GetRecords"),
                ("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b:c"),
                ("arn:aws:s3:::*", "arn:aws:s3:::bucket/x"),
                ("arn:*:s3:::b", "arn:aws:s3:::b"),
                ("arn:aws:iam::*", "arn:aws:iam::111111111111:role/x"),
                (
                    "arn:aws:iam:*:111111111111:role/x",
                    "arn:aws:iam::111111111111:role/x",
                ),
                (
                    "arn:aws:iam::111111111111:role/${aws:username}",
                    "arn:aws:iam::111111111111:role/a*b",
                ),
                (
                    "arn:aws:iam::111111111111:role/${aws:username}",
                    "arn:aws:iam::111111111111:role/axxb",
                ),
                (
                    "arn:aws:iam::111111111111:role/${aws:userid}",
                    "arn:aws:iam::111111111111:role/x",
                ),
                (
                    "arn:aws:iam::111111111111:role/${*}",
                    "arn:aws:iam::111111111111:role/*",
                ),
                (
                    "arn:aws:iam::111111111111:role/${*}",
                    "arn:aws:iam::111111111111:role/x",
                ),
                ("ünï*", "ÜNÏcode"),
                ("", ""),
                ("*", ""),
                ("a", ""),
            ],
            expect![[r#"
                dynamodb:Get* ~ dynamodb:GetRecords: action true arn true substituted true
                DynamoDB:getrecords ~ dynamodb:GetRecords: action true arn false substituted false
                dynamodb:Get?ecords ~ dynamodb:GetRecords: action true arn true substituted true
                dynamodb:*Stream* ~ dynamodb:ListStreams: action true arn true substituted true
                s3:* ~ dynamodb:GetRecords: action false arn false substituted false
                arn:aws:s3:::bucket/* ~ arn:aws:s3:::bucket/a/b:c: action true arn true substituted true
                arn:aws:s3:::* ~ arn:aws:s3:::bucket/x: action true arn true substituted true
                arn:*:s3:::b ~ arn:aws:s3:::b: action true arn true substituted true
                arn:aws:iam::* ~ arn:aws:iam::111111111111:role/x: action true arn true substituted true
                arn:aws:iam:*:111111111111:role/x ~ arn:aws:iam::111111111111:role/x: action true arn true substituted true
                arn:aws:iam::111111111111:role/${aws:username} ~ arn:aws:iam::111111111111:role/a*b: action false arn false substituted true
                arn:aws:iam::111111111111:role/${aws:username} ~ arn:aws:iam::111111111111:role/axxb: action false arn false substituted false
                arn:aws:iam::111111111111:role/${aws:userid} ~ arn:aws:iam::111111111111:role/x: action false arn false substituted absent
                arn:aws:iam::111111111111:role/${*} ~ arn:aws:iam::111111111111:role/*: action false arn false substituted true
                arn:aws:iam::111111111111:role/${*} ~ arn:aws:iam::111111111111:role/x: action false arn false substituted false
                ünï* ~ ÜNÏcode: action true arn false substituted false
                 ~ : action true arn true substituted true
                * ~ : action true arn true substituted true
                a ~ : action false arn false substituted false
            "#]],
        );
    }
}
