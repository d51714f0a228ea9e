//! A small JSON reader and writer made for policy documents.
//!
//! Policies need three things a general-purpose JSON library does not give
//! by default: duplicate keys must be rejected (IAM rejects them, and a
//! silent "last one wins" would change what a policy means), numbers must
//! keep their exact text (`"NumericLessThan": 10.50` prints back as
//! `10.50`), and object keys must keep their order. [`JsonValue`] keeps all
//! three, and every error names the JSON path where it happened
//! (`$.Statement[0].Action`).
//!
//! Enabling `preserve_order`/`arbitrary_precision` on serde_json instead
//! would switch those features on for every crate of the workspace through
//! feature unification, and would still need a custom visitor for duplicate
//! keys; this reader is a few hundred lines and has no dependency.

use std::fmt::{self, Write as _};

/// One step of a JSON path: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// An object member, by key.
    Key(String),
    /// An array element, by index from 0.
    Index(usize),
}

/// A JSON path such as `$.Statement[0].Condition.StringEquals`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct JsonPath(Vec<PathSegment>);

impl JsonPath {
    /// The root, `$`.
    pub fn root() -> Self {
        Self(Vec::new())
    }
    /// This path extended with an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Key(key.to_owned()));
        Self(segments)
    }
    /// This path extended with an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        Self(segments)
    }
    /// The segments from the root.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for segment in &self.0 {
            match segment {
                PathSegment::Key(key) => {
                    let plain = !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | ':'));
                    if plain {
                        write!(f, ".{key}")?;
                    } else {
                        write!(f, "[{key:?}]")?;
                    }
                }
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A JSON value that keeps key order and the exact text of numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JsonValue {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written (`10`, `10.50`, `1e3`).
    Number(String),
    /// A string, unescaped.
    String(String),
    /// An array.
    Array(Vec<JsonValue>),
    /// An object, members in document order; keys are unique.
    Object(Vec<(String, JsonValue)>),
}

impl JsonValue {
    /// A short name of the value's type for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            JsonValue::Null => "null",
            JsonValue::Bool(_) => "a boolean",
            JsonValue::Number(_) => "a number",
            JsonValue::String(_) => "a string",
            JsonValue::Array(_) => "an array",
            JsonValue::Object(_) => "an object",
        }
    }

    /// Compact JSON text, no whitespace.
    pub fn to_compact_string(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, None, 0);
        out
    }

    /// JSON text indented by four spaces, the layout of the IAM console.
    pub fn to_pretty_string(&self) -> String {
        let mut out = String::new();
        write_value(&mut out, self, Some(4), 0);
        out
    }
}

/// Why a text is not acceptable JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The text breaks the JSON grammar.
    #[error("invalid JSON at line {line} column {column} (in {path}): {reason}")]
    Syntax {
        /// Where in the document the reader was.
        path: JsonPath,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What was expected or found.
        reason: String,
    },
    /// An object has the same key twice.
    #[error("duplicate key {key:?} at {path}")]
    DuplicateKey {
        /// The object holding the key twice.
        path: JsonPath,
        /// The repeated key.
        key: String,
    },
    /// Arrays and objects nested deeper than the reader allows.
    #[error("JSON nested deeper than {limit} levels at {path}")]
    TooDeep {
        /// Where the limit was hit.
        path: JsonPath,
        /// The nesting limit.
        limit: usize,
    },
}

/// Policies are shallow; the limit only keeps hostile input from exhausting
/// the stack.
const MAX_DEPTH: usize = 64;

/// Parses `text` as one JSON value, rejecting duplicate keys.
///
/// ```
/// use streamgate_policy::json::{parse, JsonValue};
/// let v = parse(r#"{"n": 10.50}"#)?;
/// assert_eq!(v, JsonValue::Object(vec![("n".into(), JsonValue::Number("10.50".into()))]));
/// assert!(parse(r#"{"a": 1, "a": 2}"#).is_err());
/// # Ok::<(), streamgate_policy::json::JsonError>(())
/// ```
pub fn parse(text: &str) -> Result<JsonValue, JsonError> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        path: Vec::new(),
    };
    reader.skip_whitespace();
    let value = reader.value(0)?;
    reader.skip_whitespace();
    if reader.pos < reader.bytes.len() {
        return Err(reader.syntax("unexpected text after the JSON value"));
    }
    Ok(value)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    path: Vec<PathSegment>,
}

impl Reader<'_> {
    fn path(&self) -> JsonPath {
        JsonPath(self.path.clone())
    }

    fn syntax(&self, reason: impl Into<String>) -> JsonError {
        let before = self.text.get(..self.pos).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        JsonError::Syntax {
            path: self.path(),
            line,
            column,
            reason: reason.into(),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &str, value: JsonValue) -> Result<JsonValue, JsonError> {
        if self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(literal))
        {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.syntax("expected a JSON value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep {
                path: self.path(),
                limit: MAX_DEPTH,
            });
        }
        match self.peek() {
            None => Err(self.syntax("unexpected end of input")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(JsonValue::String),
            Some(b't') => self.expect_literal("true", JsonValue::Bool(true)),
            Some(b'f') => self.expect_literal("false", JsonValue::Bool(false)),
            Some(b'n') => self.expect_literal("null", JsonValue::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.syntax("expected a JSON value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1;
        let mut members: Vec<(String, JsonValue)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(JsonValue::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.syntax("expected a string key"));
            }
            let key = self.string()?;
            if members.iter().any(|(k, _)| *k == key) {
                return Err(JsonError::DuplicateKey {
                    path: self.path(),
                    key,
                });
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.syntax("expected ':' after an object key"));
            }
            self.pos += 1;
            self.skip_whitespace();
            self.path.push(PathSegment::Key(key.clone()));
            let value = self.value(depth + 1)?;
            self.path.pop();
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(JsonValue::Object(members));
                }
                _ => return Err(self.syntax("expected ',' or '}' in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<JsonValue, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(JsonValue::Array(items));
        }
        loop {
            self.skip_whitespace();
            self.path.push(PathSegment::Index(items.len()));
            let value = self.value(depth + 1)?;
            self.path.pop();
            items.push(value);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(JsonValue::Array(items));
                }
                _ => return Err(self.syntax("expected ',' or ']' in an array")),
            }
        }
    }

    fn number(&mut self) -> Result<JsonValue, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.syntax("expected a digit in a number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit after '.' in a number"));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.syntax("expected a digit in a number's exponent"));
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).unwrap_or_default();
        Ok(JsonValue::Number(text.to_owned()))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| self.syntax("expected four hex digits after \\u"))?;
        let code = u32::from_str_radix(digits, 16)
            .map_err(|_| self.syntax("expected four hex digits after \\u"))?;
        self.pos += 4;
        Ok(code)
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while let Some(b) = self.peek() {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(self.text.get(start..self.pos).unwrap_or_default());
            match self.peek() {
                None => return Err(self.syntax("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let escape = self.peek();
                    self.pos += 1;
                    match escape {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => {
                            let first = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&first) {
                                let low = if self
                                    .text
                                    .get(self.pos..)
                                    .is_some_and(|r| r.starts_with("\\u"))
                                {
                                    self.pos += 2;
                                    self.hex4()?
                                } else {
                                    return Err(self.syntax("unpaired surrogate in \\u escape"));
                                };
                                if !(0xDC00..0xE000).contains(&low) {
                                    return Err(self.syntax("unpaired surrogate in \\u escape"));
                                }
                                0x10000 + ((first - 0xD800) << 10) + (low - 0xDC00)
                            } else {
                                first
                            };
                            let c = char::from_u32(code)
                                .ok_or_else(|| self.syntax("invalid \\u escape"))?;
                            out.push(c);
                        }
                        _ => {
                            self.pos -= 1;
                            return Err(self.syntax("invalid escape in string"));
                        }
                    }
                }
                Some(_) => return Err(self.syntax("control character in string")),
            }
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(width) = indent {
        out.push('\n');
        out.extend(std::iter::repeat_n(' ', width * level));
    }
}

fn write_value(out: &mut String, value: &JsonValue, indent: Option<usize>, level: usize) {
    match value {
        JsonValue::Null => out.push_str("null"),
        JsonValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        JsonValue::Number(text) => out.push_str(text),
        JsonValue::String(s) => write_string(out, s),
        JsonValue::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_value(out, item, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        JsonValue::Object(members) => {
            if members.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_string(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_value(out, item, indent, level + 1);
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Parses `input` and prints the compact form back, or the error.
    fn check(input: &str, expected: Expect) {
        let actual = match parse(input) {
            Ok(value) => value.to_compact_string(),
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn keeps_number_text_key_order_and_escapes() {
        check(
            r#" { "z": 10.50, "a": [true, false, null, -0, 1e3], "s": "\u00e9\"\\\n\ud83d\ude00" } "#,
            expect![[r#"{"z":10.50,"a":[true,false,null,-0,1e3],"s":"é\"\\\n😀"}"#]],
        );
    }

    #[test]
    fn duplicate_keys_are_rejected_with_their_path() {
        check(
            r#"{"Statement": [{"Effect": "Allow", "Effect": "Deny"}]}"#,
            expect![[r#"error: duplicate key "Effect" at $.Statement[0]"#]],
        );
        check(r#"{"a": 1, "A": 2}"#, expect![[r#"{"a":1,"A":2}"#]]);
    }

    #[test]
    fn syntax_errors_say_where() {
        check(
            "{\n  \"Statement\": [1,]\n}",
            expect![
                "error: invalid JSON at line 2 column 19 (in $.Statement[1]): expected a JSON value"
            ],
        );
        check(
            r#"{"a": 01}"#,
            expect![
                "error: invalid JSON at line 1 column 8 (in $): expected ',' or '}' in an object"
            ],
        );
        check(
            r#"{"a": "x"} x"#,
            expect![
                "error: invalid JSON at line 1 column 12 (in $): unexpected text after the JSON value"
            ],
        );
        check(
            r#""\ud800""#,
            expect![[
                r#"error: invalid JSON at line 1 column 8 (in $): unpaired surrogate in \u escape"#
            ]],
        );
        check(
            "",
            expect!["error: invalid JSON at line 1 column 1 (in $): unexpected end of input"],
        );
        check(
            &"[".repeat(100),
            expect![
                "error: JSON nested deeper than 64 levels at $[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
            ],
        );
    }

    #[test]
    fn pretty_printing_indents_by_four() {
        let value = parse(r#"{"a":[1,{"b":"c"}],"e":{}}"#).unwrap();
        expect![[r#"
            {
                "a": [
                    1,
                    {
                        "b": "c"
                    }
                ],
                "e": {}
            }"#]]
        .assert_eq(&value.to_pretty_string());
    }
}
