//! Wildcard matching and policy variables, the string rules IAM applies to
//! actions, resources and condition values.
//!
//! - `*` matches any run of characters, `?` exactly one.
//! - Actions match case-insensitively ([`action_matches`]).
//! - `Resource`/`NotResource` patterns match case-sensitively
//!   ([`resource_matches`]) within the colon-separated segments, except that
//!   a `*` ending a segment may run over colons
//!   (`arn:aws:dynamodb:*:table/t/stream/*` matches a stream of table `t` in
//!   any region and account); the service segment takes no wildcard.
//! - ARN condition operators match case-sensitively, ARN segment by ARN
//!   segment ([`arn_matches`]): a wildcard never crosses one of the first
//!   five colons, except that a `*` ending a pattern with fewer segments
//!   than the ARN runs to the end (`arn:aws:dynamodb:*` matches every
//!   DynamoDB ARN).
//! - Policy variables (`${aws:username}`, `${aws:PrincipalTag/team, 'x'}`,
//!   and the escapes `${*}`, `${?}`, `${$}`) are substituted by
//!   [`substitute`], and in resource patterns by [`substitute_resource`],
//!   only after the fifth colon; their values are literal text, never
//!   wildcards.
//!
//! Nothing here allocates unless a pattern holds a policy variable, a
//! non-ASCII character, or (for [`resource_matches`]) a wildcard before the
//! resource part of the ARN.

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

/// Glob matching over the elements of `pattern` and `value` (bytes for the
/// common all-ASCII case, characters otherwise): `star` matches any run,
/// `question` any one element, and `same` decides whether a pattern element
/// equals a value element.
fn glob<T: Copy + Default + PartialEq>(
    pattern: &[T],
    value: &[T],
    (star_element, question): (T, T),
    same: impl Fn(T, T) -> bool,
) -> bool {
    let (mut p, mut v) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while v < value.len() {
        match pattern.get(p) {
            Some(&pc) if pc == star_element => {
                star = Some((p, v));
                p += 1;
                continue;
            }
            Some(&pc) => {
                let vc = value.get(v).copied().unwrap_or_default();
                if pc == question || same(pc, vc) {
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
        .is_some_and(|tail| tail.iter().all(|&e| e == star_element))
}

/// Glob matching on bytes, for the common all-ASCII case.
fn glob_bytes(pattern: &[u8], value: &[u8], ignore_case: bool) -> bool {
    glob(pattern, value, (b'*', b'?'), |pc, vc| {
        pc == vc || (ignore_case && pc.eq_ignore_ascii_case(&vc))
    })
}

/// Glob matching on characters, for patterns or values beyond ASCII.
fn glob_chars(pattern: &[char], value: &[char], ignore_case: bool) -> bool {
    glob(pattern, value, ('*', '?'), |pc, vc| {
        char_eq(pc, vc, ignore_case)
    })
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

/// One element of a resource pattern, for [`resource_matches`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// A character that matches itself (or, for a literal-star marker, `*`).
    Char(char),
    /// `?`: any one character; a colon only when `crosses`.
    One { crosses: bool },
    /// `*`: any run of characters; colons only when `crosses`.
    Star { crosses: bool },
}

/// The tokens of a `Resource` pattern. Before the fifth colon a `*` crosses
/// colons only when it ends its segment, and a `?` never does; in the
/// service segment (the third) wildcards are literal characters, as IAM
/// allows none there. After the fifth colon, in the resource part, `*` and
/// `?` match any characters.
fn resource_tokens(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::with_capacity(pattern.len());
    let mut segment = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let in_resource = segment >= 5;
        let token = match c {
            ':' if !in_resource => {
                segment += 1;
                Token::Char(':')
            }
            '*' | '?' if segment == 2 => Token::Char(c),
            '*' => Token::Star {
                crosses: in_resource || matches!(chars.peek(), None | Some(':')),
            },
            '?' => Token::One {
                crosses: in_resource,
            },
            c => Token::Char(c),
        };
        tokens.push(token);
    }
    tokens
}

/// Matches an ARN against the pattern of a `Resource` or `NotResource`
/// element, case-sensitively, the way IAM's "IAM JSON policy elements:
/// Resource" page describes it: wildcards work within the colon-separated
/// segments, except that "if the * wildcard is the last character of a
/// resource ARN segment, it can expand to match beyond the colon
/// boundaries"; the service segment takes no wildcard. Condition operators
/// (`ArnLike`, ...) check each segment on its own: see [`arn_matches`].
///
/// ```
/// use streamgate_policy::pattern::resource_matches;
/// let stream = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
/// assert!(resource_matches("arn:aws:dynamodb:*:table/documents/stream/*", stream));
/// assert!(resource_matches("arn:aws:dynamodb:*:222222222222:table/documents/stream/*", stream));
/// assert!(!resource_matches("arn:aws:dynamodb:eu-*-1:table/documents/stream/*", stream));
/// assert!(!resource_matches("arn:aws:dynamo*:eu-west-1:222222222222:table/documents/stream/*", stream));
/// ```
pub fn resource_matches(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    if !pattern.contains(['*', '?']) && pattern.is_ascii() {
        return pattern == value;
    }
    // The usual shape, wildcards only in the resource part, needs no
    // automaton: the rest must be equal.
    if let Some(start) = resource_part_start(pattern)
        && let (Some(prefix), Some(resource)) = (pattern.get(..start), pattern.get(start..))
        && !prefix.contains(['*', '?', LITERAL_STAR, LITERAL_QUESTION])
    {
        return value
            .get(..start)
            .is_some_and(|value_prefix| value_prefix == prefix)
            && value
                .get(start..)
                .is_some_and(|rest| glob_matches(resource, rest, false));
    }
    let tokens = resource_tokens(pattern);
    // A simulation of the pattern's automaton: `states[i]` is true when the
    // value read so far can leave the pattern at token `i`.
    let mut states = vec![false; tokens.len() + 1];
    let mut next = vec![false; tokens.len() + 1];
    let close = |states: &mut [bool]| {
        for i in 0..tokens.len() {
            if states.get(i) == Some(&true)
                && matches!(tokens.get(i), Some(Token::Star { .. }))
                && let Some(after) = states.get_mut(i + 1)
            {
                *after = true;
            }
        }
    };
    if let Some(first) = states.first_mut() {
        *first = true;
    }
    close(&mut states);
    for v in value.chars() {
        next.iter_mut().for_each(|s| *s = false);
        for (i, token) in tokens.iter().enumerate() {
            if states.get(i) != Some(&true) {
                continue;
            }
            let target = match *token {
                Token::Char(p) if char_eq(p, v, false) => i + 1,
                Token::One { crosses } if crosses || v != ':' => i + 1,
                Token::Star { crosses } if crosses || v != ':' => i,
                _ => continue,
            };
            if let Some(state) = next.get_mut(target) {
                *state = true;
            }
        }
        close(&mut next);
        std::mem::swap(&mut states, &mut next);
        if !states.contains(&true) {
            return false;
        }
    }
    states.last() == Some(&true)
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
    fn resource_wildcards_cross_colons_at_segment_ends() {
        // IAM "IAM JSON policy elements: Resource", "Using wildcards in
        // resource ARNs": "If the * wildcard is the last character of a
        // resource ARN segment, it can expand to match beyond the colon
        // boundaries", and no wildcard in the service segment. ArnLike
        // and the other ARN condition operators check each of the six
        // segments on its own, so `arn_matches` keeps that.
        let stream = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
        let mut out = String::new();
        for pattern in [
            "arn:aws:dynamodb:*:table/documents/stream/*",
            "arn:aws:dynamodb:eu-*:table/documents/stream/*",
            "arn:aws:dynamodb:eu-*-1:table/documents/stream/*",
            "arn:aws:dynamodb:eu-west-?:*:table/documents/stream/*",
            "arn:aws:dynamodb:?:table/documents/stream/*",
            "arn:*:table/documents/stream/*",
            "arn:aws:dynamo*:eu-west-1:222222222222:table/documents/stream/*",
            "arn:aws:*:eu-west-1:222222222222:table/documents/stream/*",
            "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:*:00.000",
            "arn:aws:dynamodb:eu-west-1:222222222222:table/documents",
            "arn:aws:dynamodb:*:*:table/documents/stream/2024-05-01T12:00:00.000",
        ] {
            out.push_str(&format!(
                "{pattern}: resource {} arn {}\n",
                resource_matches(pattern, stream),
                arn_matches(pattern, stream)
            ));
        }
        expect![[r#"
            arn:aws:dynamodb:*:table/documents/stream/*: resource true arn false
            arn:aws:dynamodb:eu-*:table/documents/stream/*: resource true arn false
            arn:aws:dynamodb:eu-*-1:table/documents/stream/*: resource false arn false
            arn:aws:dynamodb:eu-west-?:*:table/documents/stream/*: resource true arn true
            arn:aws:dynamodb:?:table/documents/stream/*: resource false arn false
            arn:*:table/documents/stream/*: resource false arn false
            arn:aws:dynamo*:eu-west-1:222222222222:table/documents/stream/*: resource false arn true
            arn:aws:*:eu-west-1:222222222222:table/documents/stream/*: resource false arn true
            arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:*:00.000: resource true arn true
            arn:aws:dynamodb:eu-west-1:222222222222:table/documents: resource false arn false
            arn:aws:dynamodb:*:*:table/documents/stream/2024-05-01T12:00:00.000: resource true arn true
        "#]].assert_eq(&out);
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
