//! A parser specialised for DynamoDB JSON, used for the common case.
//!
//! `decode_event_as` and `decode_event` walk the whole event with it: the
//! record envelope, the keys, and every image, read from the text straight
//! into the user's type (or, for `decode_event`, checked and kept as its
//! raw text, as strictly as the general decoder checks it), reading
//! each `{"TYPE": value}` wrapper without a general parser's map machinery
//! and checking UTF-8 once for the whole input. Whatever it does not accept
//! (not UTF-8, malformed JSON, too deep, not an event) goes to the general
//! decoder of `event.rs`, which then gives its usual answer; so does a batch
//! with a record that does not decode, so that its errors are exactly the
//! general decoder's (bad records are rare; their batch is decoded twice).
//! The general decoder is the reference this one is tested against.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};

use crate::de::{
    BytesDeserializer, Hint, ITEM_TOKEN, NumberDeserializer, PathSegment, Tag, TextDeserializer,
    Trail, VALUE_TOKEN, number_by_hint, visit_set,
};
use crate::event::{
    ArnCache, ChangeEvent, KeepRaw, RawImage, RecordError, RecordParts, Scalar, StreamViewType,
    Typed, UserIdentity, parse_arn_cached,
};
use crate::number::Number;
use crate::value::{AttributeValue, BinarySet, Item, NumberSet, StringSet};

/// Why an image did not deserialize (the path is in the trail).
#[derive(Debug)]
pub(crate) struct FastError(String);

impl fmt::Display for FastError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FastError {}

impl de::Error for FastError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

type Result<T> = std::result::Result<T, FastError>;

/// An error from any displayable one.
fn fail(e: impl fmt::Display) -> FastError {
    FastError(e.to_string())
}

/// Deserializes `T` from the DynamoDB JSON item `text`.
pub(crate) fn from_item_text<'de, T: de::Deserialize<'de>>(
    text: &'de str,
    trail: &Trail,
) -> Result<T> {
    let mut parser = Parser {
        text,
        pos: 0,
        depth: 0,
        broken: false,
    };
    let value = T::deserialize(ItemDe {
        p: &mut parser,
        trail,
    })?;
    parser.ws();
    if parser.pos != text.len() {
        return Err(parser.error("the end of the item"));
    }
    Ok(value)
}

struct Parser<'de> {
    text: &'de str,
    pos: usize,
    /// How deep the item being read is nested.
    depth: usize,
    /// The text is not well-formed JSON (as opposed to JSON of the wrong
    /// shape): the whole batch must go to the general decoder.
    broken: bool,
}

/// Deeper than this many maps and lists, the general decoder takes over.
/// Each level is two JSON levels (`{"M": {...}}`), so this stays inside the
/// general decoder's own limit of 128 JSON levels; DynamoDB allows 32.
const MAX_DEPTH: usize = 60;

/// The index of the first `"`, `\\` or control character at or after
/// `from` (or the length), eight bytes at a time: strings are most of an
/// image.
#[inline(never)]
fn find_quote_or_backslash(bytes: &[u8], from: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let mut i = from;
    while let Some(Ok(chunk)) = bytes.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let word = u64::from_le_bytes(chunk);
        let quote = word ^ (ONES * u64::from(b'"'));
        let backslash = word ^ (ONES * u64::from(b'\\'));
        // Each term flags, in a byte's high bit, a zero byte (a quote, a
        // backslash) or a byte below 0x20. A borrow can flag a byte above a
        // real match but never below one, so the lowest flag is exact.
        let found = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (word.wrapping_sub(ONES * 0x20) & !word))
            & HIGHS;
        if found != 0 {
            // At most 7, so the conversion cannot fail.
            return i + usize::try_from(found.trailing_zeros() / 8).unwrap_or(0);
        }
        i += 8;
    }
    while let Some(&b) = bytes.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            return i;
        }
        i += 1;
    }
    i
}

impl<'de> Parser<'de> {
    /// A type key such as `"S"`: read without the general string path,
    /// since every value has one.
    fn tag(&mut self) -> Result<Tag> {
        self.ws();
        let rest = self.text.as_bytes().get(self.pos..).unwrap_or_default();
        let (tag, len) = match rest {
            [b'"', b'S', b'"', ..] => (Tag::S, 3),
            [b'"', b'N', b'"', ..] => (Tag::N, 3),
            [b'"', b'M', b'"', ..] => (Tag::M, 3),
            [b'"', b'L', b'"', ..] => (Tag::L, 3),
            [b'"', b'B', b'"', ..] => (Tag::B, 3),
            [b'"', b'S', b'S', b'"', ..] => (Tag::Ss, 4),
            [b'"', b'N', b'S', b'"', ..] => (Tag::Ns, 4),
            [b'"', b'B', b'S', b'"', ..] => (Tag::Bs, 4),
            [b'"', b'B', b'O', b'O', b'L', b'"', ..] => (Tag::Bool, 6),
            [b'"', b'N', b'U', b'L', b'L', b'"', ..] => (Tag::Null, 6),
            _ => return Tag::parse(&self.string()?),
        };
        self.pos += len;
        Ok(tag)
    }

    /// One level deeper, within limits.
    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.broken = true;
            return Err(FastError("nested too deeply".to_owned()));
        }
        Ok(())
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.pos += 1;
        }
    }

    fn peek_ws(&mut self) -> Option<u8> {
        self.ws();
        self.peek()
    }

    /// What is at the current position, for messages.
    fn found(&self) -> &'static str {
        match self.peek() {
            Some(b'{') => "a map",
            Some(b'[') => "a list",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(b'-' | b'0'..=b'9') => "a number",
            Some(_) => "an unexpected character",
            None => "the end of the input",
        }
    }

    fn error(&self, expected: &str) -> FastError {
        FastError(format!(
            "expected {expected}, found {} at offset {}",
            self.found(),
            self.pos
        ))
    }

    /// The byte `byte`, next or after whitespace.
    #[inline]
    fn expect(&mut self, byte: u8, expected: &str) -> Result<()> {
        // Compact JSON, the common case, has no whitespace to skip.
        if self.peek() == Some(byte) {
            self.pos += 1;
            return Ok(());
        }
        self.expect_after_whitespace(byte, expected)
    }

    #[cold]
    fn expect_after_whitespace(&mut self, byte: u8, expected: &str) -> Result<()> {
        if self.peek_ws() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(expected))
        }
    }

    /// A string, borrowed from the text unless it has escapes.
    #[inline(always)]
    fn string(&mut self) -> Result<Cow<'de, str>> {
        if self.peek() != Some(b'"') && self.peek_ws() != Some(b'"') {
            return Err(self.error("a string"));
        }
        let bytes = self.text.as_bytes();
        let start = self.pos + 1;
        let i = find_quote_or_backslash(bytes, start);
        match bytes.get(i) {
            Some(b'"') => {
                // Both ends are ASCII quotes, so they are char boundaries.
                let s = self
                    .text
                    .get(start..i)
                    .ok_or_else(|| self.error("a string"))?;
                self.pos = i + 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = i;
                self.broken = true;
                return Err(self.error("no control character in a string"));
            }
            None => return Err(self.error("the end of a string")),
        }
        self.escaped_string(start, i)
    }

    /// The rest of a string that has an escape at `i`, unescaped into an
    /// owned string: kept out of line so that the common path stays small.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, mut i: usize) -> Result<Cow<'de, str>> {
        let bytes = self.text.as_bytes();
        let mut out = String::from(self.text.get(start..i).unwrap_or_default());
        loop {
            match bytes.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let escape = bytes.get(i + 1).copied();
                    i += 2;
                    let c = match escape {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (c, used) = self.unicode_escape(i)?;
                            i += used;
                            c
                        }
                        _ => {
                            self.pos = i;
                            return Err(self.error("a valid escape"));
                        }
                    };
                    out.push(c);
                }
                Some(&b) if b < 0x20 => {
                    self.pos = i;
                    self.broken = true;
                    return Err(self.error("no control character in a string"));
                }
                Some(_) => {
                    let run = i;
                    i = find_quote_or_backslash(bytes, i);
                    out.push_str(self.text.get(run..i).unwrap_or_default());
                }
                None => {
                    self.pos = i;
                    return Err(self.error("the end of a string"));
                }
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    /// The character of a `\u` escape whose hex digits start at `at`, and
    /// how many bytes it used (a surrogate pair uses a second escape).
    fn unicode_escape(&self, at: usize) -> Result<(char, usize)> {
        let bad = || FastError(format!("invalid unicode escape at offset {at}"));
        let high = self.hex4(at).ok_or_else(bad)?;
        if (0xD800..0xDC00).contains(&high) {
            let rest = self.text.get(at + 4..at + 6);
            let low = self
                .hex4(at + 6)
                .filter(|_| rest == Some("\\u"))
                .ok_or_else(bad)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(bad());
            }
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            return char::from_u32(code).map(|c| (c, 10)).ok_or_else(bad);
        }
        char::from_u32(high).map(|c| (c, 4)).ok_or_else(bad)
    }

    fn boolean(&mut self) -> Result<bool> {
        self.ws();
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if rest.starts_with("true") {
            self.pos += 4;
            Ok(true)
        } else if rest.starts_with("false") {
            self.pos += 5;
            Ok(false)
        } else {
            Err(self.error("a boolean"))
        }
    }

    /// Skips one JSON value of any kind, checking it strictly (it may be
    /// text no other reader looked at).
    fn skip_value(&mut self) -> Result<()> {
        self.ws();
        if let Some(end) = self.plain_value_end() {
            self.pos = end;
            return Ok(());
        }
        let rest = self.text.get(self.pos..).unwrap_or_default();
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<de::IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => {
                self.pos += values.byte_offset();
                Ok(())
            }
            _ => {
                self.broken = true;
                Err(self.error("a JSON value"))
            }
        }
    }

    /// Where the JSON value at the current position ends, when it is in the
    /// plain form this can check on its own: strings without escapes,
    /// numbers by JSON's grammar, `true` / `false` / `null`, at most 64
    /// levels of maps and lists. `None` means "not sure": the caller then
    /// asks serde_json, whose verdict is the reference. Whatever this
    /// accepts, serde_json accepts with the same end (a property test holds
    /// it to that); it only makes the common case, raw images, cheaper.
    fn plain_value_end(&self) -> Option<usize> {
        /// How deep the level bits below can track.
        const MAX_LEVELS: u32 = 64;
        let bytes = self.text.as_bytes();
        let ws = |mut i: usize| {
            while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(i) {
                i += 1;
            }
            i
        };
        // `i` at a string's opening quote; where the string ends.
        let string_end = |i: usize| {
            let close = find_quote_or_backslash(bytes, i + 1);
            (bytes.get(close) == Some(&b'"')).then_some(close + 1)
        };
        // `i` before a map key; where the value after its `:` starts.
        let key_end = |i: usize| {
            let i = ws(i);
            if bytes.get(i) != Some(&b'"') {
                return None;
            }
            let i = ws(string_end(i)?);
            (bytes.get(i) == Some(&b':')).then_some(i + 1)
        };
        // One bit per open level, the innermost lowest: 1 a map, 0 a list.
        let mut levels: u64 = 0;
        let mut depth = 0u32;
        let mut i = self.pos;
        loop {
            // A value starts at `i` (after whitespace).
            i = ws(i);
            match *bytes.get(i)? {
                open @ (b'{' | b'[') => {
                    if depth == MAX_LEVELS {
                        return None;
                    }
                    let is_map = open == b'{';
                    let after = ws(i + 1);
                    if bytes.get(after) == Some(if is_map { &b'}' } else { &b']' }) {
                        i = after + 1;
                    } else {
                        levels = (levels << 1) | u64::from(is_map);
                        depth += 1;
                        i = if is_map { key_end(after)? } else { after };
                        continue;
                    }
                }
                b'"' => i = string_end(i)?,
                b'-' | b'0'..=b'9' => i = self.json_number_end_at(i)?,
                first => {
                    let word: &[u8] = match first {
                        b't' => b"true",
                        b'f' => b"false",
                        b'n' => b"null",
                        _ => return None,
                    };
                    if !bytes.get(i..)?.starts_with(word) {
                        return None;
                    }
                    i += word.len();
                    match bytes.get(i) {
                        Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') | None => {}
                        Some(_) => return None,
                    }
                }
            }
            // A value ended at `i`: close levels, or go on to the next value.
            loop {
                if depth == 0 {
                    return Some(i);
                }
                i = ws(i);
                let in_map = levels & 1 == 1;
                match (*bytes.get(i)?, in_map) {
                    (b',', true) => {
                        i = key_end(i + 1)?;
                        break;
                    }
                    (b',', false) => {
                        i += 1;
                        break;
                    }
                    (b'}', true) | (b']', false) => {
                        i += 1;
                        levels >>= 1;
                        depth -= 1;
                    }
                    _ => return None,
                }
            }
        }
    }

    /// The raw text of the next value.
    fn raw_value(&mut self) -> Result<&'de str> {
        self.ws();
        let start = self.pos;
        self.skip_value()?;
        self.text
            .get(start..self.pos)
            .ok_or_else(|| self.error("a value"))
    }

    /// A JSON array of strings (the elements of a set).
    fn string_list(&mut self) -> Result<Vec<Cow<'de, str>>> {
        self.expect(b'[', "a list of strings")?;
        let mut out = Vec::new();
        if self.peek_ws() == Some(b']') {
            self.pos += 1;
            return Ok(out);
        }
        loop {
            out.push(self.string()?);
            match self.peek_ws() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(out);
                }
                _ => return Err(self.error("`,` or `]`")),
            }
        }
    }
}

/// Hands a raw DynamoDB JSON text to a visitor that reads it with serde_json
/// (our own `Item` and `AttributeValue` types).
fn visit_raw<'de, V: Visitor<'de>>(raw: &'de str, visitor: V) -> Result<V::Value> {
    let mut json = serde_json::Deserializer::from_str(raw);
    visitor
        .visit_newtype_struct(&mut json)
        .map_err(|e: serde_json::Error| FastError(e.to_string()))
}

/// A whole item: `{"name": {"S": "..."}, ...}`.
struct ItemDe<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    trail: &'t Trail,
}

impl<'de> Deserializer<'de> for ItemDe<'_, '_, 'de> {
    type Error = FastError;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visit_item(self.p, self.trail, visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == ITEM_TOKEN {
            return visit_raw(self.p.raw_value()?, visitor);
        }
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.p.skip_value()?;
        visitor.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier
    }
}

/// Reads `{...}` attributes into the visitor, skipping what it leaves.
fn visit_item<'de, V: Visitor<'de>>(
    p: &mut Parser<'de>,
    trail: &Trail,
    visitor: V,
) -> Result<V::Value> {
    p.expect(b'{', "an item (a map)")?;
    p.enter()?;
    let mut map = ItemMap {
        p,
        trail,
        first: true,
        done: false,
        pending: false,
        key: None,
    };
    let value = visitor.visit_map(&mut map)?;
    map.finish()?;
    map.p.depth -= 1;
    Ok(value)
}

struct ItemMap<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    trail: &'t Trail,
    first: bool,
    done: bool,
    /// A key was read and its value not yet.
    pending: bool,
    key: Option<Cow<'de, str>>,
}

impl ItemMap<'_, '_, '_> {
    fn blame_key(&self) {
        if let Some(key) = &self.key {
            self.trail.push(PathSegment::Attribute(key.to_string()));
        }
    }

    /// Reads the next key, or the closing brace.
    fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        if self.p.peek_ws() == Some(b'}') {
            self.p.pos += 1;
            self.done = true;
            return Ok(false);
        }
        if !self.first {
            self.p.expect(b',', "`,` or `}`")?;
        }
        self.first = false;
        let key = self.p.string()?;
        self.p.expect(b':', "`:`")?;
        self.key = Some(key);
        self.pending = true;
        Ok(true)
    }

    /// Skips whatever the visitor left unread, up to the closing brace.
    fn finish(&mut self) -> Result<()> {
        if self.pending {
            self.p.skip_value()?;
            self.pending = false;
        }
        while self.advance()? {
            self.p.skip_value()?;
            self.pending = false;
        }
        Ok(())
    }
}

impl<'de> MapAccess<'de> for ItemMap<'_, '_, 'de> {
    type Error = FastError;
    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if !self.advance()? {
            return Ok(None);
        }
        let key = self.key.clone().unwrap_or_default();
        let result = seed.deserialize(TextDeserializer::<FastError>::new(key));
        if result.is_err() {
            self.blame_key();
        }
        result.map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        self.pending = false;
        let result = seed.deserialize(ValueDe {
            p: &mut *self.p,
            trail: self.trail,
        });
        if result.is_err() {
            self.blame_key();
        }
        result
    }
}

/// A wrapped value, `{"TYPE": value}`, not yet read.
struct ValueDe<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    trail: &'t Trail,
}

impl<'de> ValueDe<'_, '_, 'de> {
    fn read<V: Visitor<'de>>(self, hint: Hint, visitor: V) -> Result<V::Value> {
        let p = self.p;
        p.expect(b'{', "a DynamoDB JSON value such as {\"S\": \"text\"}")?;
        let tag = p.tag()?;
        p.expect(b':', "`:`")?;
        let value = match hint {
            Hint::Option if tag == Tag::Null => {
                if !p.boolean()? {
                    return Err(FastError("NULL must be true".to_owned()));
                }
                visitor.visit_none()?
            }
            Hint::Option => visitor.visit_some(TaggedDe {
                p: &mut *p,
                tag,
                trail: self.trail,
            })?,
            _ => TaggedDe {
                p: &mut *p,
                tag,
                trail: self.trail,
            }
            .dispatch(hint, visitor)?,
        };
        match p.peek_ws() {
            Some(b'}') => {
                p.pos += 1;
                Ok(value)
            }
            Some(b',') => Err(FastError(
                "attribute value has more than one type key".to_owned(),
            )),
            _ => Err(p.error("`}`")),
        }
    }
}

impl<'de> Deserializer<'de> for ValueDe<'_, '_, 'de> {
    type Error = FastError;
    crate::de::deserialize_by_hint!(read);
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.read(Hint::Option, visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        if name == VALUE_TOKEN {
            return visit_raw(self.p.raw_value()?, visitor);
        }
        self.read(Hint::NewtypeStruct(name), visitor)
    }
}

/// A wrapped value whose type key has been read.
struct TaggedDe<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    tag: Tag,
    trail: &'t Trail,
}

impl<'de> TaggedDe<'_, '_, 'de> {
    fn dispatch<V: Visitor<'de>>(self, hint: Hint, visitor: V) -> Result<V::Value> {
        let Self { p, tag, trail } = self;
        match tag {
            Tag::S => TextDeserializer::new(p.string()?).deserialize_hint_text(hint, visitor),
            Tag::N => number_by_hint(NumberDeserializer::new(p.string()?)?, hint, visitor),
            Tag::B => {
                let text = p.string()?;
                let bytes = crate::base64::decode(&text).map_err(de::Error::custom)?;
                let bytes = BytesDeserializer::<FastError>::new(bytes);
                match hint {
                    Hint::Seq => bytes.deserialize_seq(visitor),
                    _ => bytes.deserialize_any(visitor),
                }
            }
            Tag::Bool => visitor.visit_bool(p.boolean()?),
            Tag::Null => {
                if !p.boolean()? {
                    return Err(FastError("NULL must be true".to_owned()));
                }
                visitor.visit_unit()
            }
            Tag::M => match hint {
                Hint::NewtypeStruct(ITEM_TOKEN) => visit_raw(p.raw_value()?, visitor),
                Hint::Enum(..) => {
                    p.expect(b'{', "an enum variant (an M with one key)")?;
                    let value = visitor.visit_enum(MapEnum { p: &mut *p, trail })?;
                    p.expect(b'}', "the end of a one-key M (an enum variant)")?;
                    Ok(value)
                }
                _ => visit_item(p, trail, visitor),
            },
            Tag::L => {
                p.expect(b'[', "a list")?;
                p.enter()?;
                let mut list = ListSeq {
                    p,
                    trail,
                    index: 0,
                    done: false,
                };
                let value = visitor.visit_seq(&mut list)?;
                list.finish()?;
                list.p.depth -= 1;
                Ok(value)
            }
            Tag::Ss | Tag::Ns | Tag::Bs => visit_set(tag, p.string_list()?, hint, visitor),
        }
    }
}

impl<'de> Deserializer<'de> for TaggedDe<'_, '_, 'de> {
    type Error = FastError;
    crate::de::deserialize_by_hint!(dispatch);
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        match name {
            crate::de::NUMBER_TOKEN | ITEM_TOKEN => {
                self.dispatch(Hint::NewtypeStruct(name), visitor)
            }
            _ => visitor.visit_newtype_struct(self),
        }
    }
}

/// The elements of an `L`, each a wrapped value.
struct ListSeq<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    trail: &'t Trail,
    index: usize,
    done: bool,
}

impl ListSeq<'_, '_, '_> {
    /// Reads up to the next element, or the closing bracket.
    fn advance(&mut self) -> Result<bool> {
        if self.done {
            return Ok(false);
        }
        if self.p.peek_ws() == Some(b']') {
            self.p.pos += 1;
            self.done = true;
            return Ok(false);
        }
        if self.index > 0 {
            self.p.expect(b',', "`,` or `]`")?;
        }
        Ok(true)
    }

    fn finish(&mut self) -> Result<()> {
        while self.advance()? {
            self.p.skip_value()?;
            self.index += 1;
        }
        Ok(())
    }
}

impl<'de> SeqAccess<'de> for ListSeq<'_, '_, 'de> {
    type Error = FastError;
    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if !self.advance()? {
            return Ok(None);
        }
        let result = seed.deserialize(ValueDe {
            p: &mut *self.p,
            trail: self.trail,
        });
        match result {
            Ok(v) => {
                self.index += 1;
                Ok(Some(v))
            }
            Err(e) => {
                self.trail.push(PathSegment::Index(self.index));
                Err(e)
            }
        }
    }
}

/// An enum variant with content: the one key of an `M`.
struct MapEnum<'p, 't, 'de> {
    p: &'p mut Parser<'de>,
    trail: &'t Trail,
}

impl<'de> de::EnumAccess<'de> for MapEnum<'_, '_, 'de> {
    type Error = FastError;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self)> {
        let name = self.p.string()?;
        self.p.expect(b':', "`:`")?;
        let variant = seed.deserialize(name.into_deserializer())?;
        Ok((variant, self))
    }
}

impl<'de> de::VariantAccess<'de> for MapEnum<'_, '_, 'de> {
    type Error = FastError;
    fn unit_variant(self) -> Result<()> {
        self.p.skip_value()
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value> {
        seed.deserialize(ValueDe {
            p: self.p,
            trail: self.trail,
        })
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value> {
        ValueDe {
            p: self.p,
            trail: self.trail,
        }
        .deserialize_tuple(len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        ValueDe {
            p: self.p,
            trail: self.trail,
        }
        .deserialize_struct("", fields, visitor)
    }
}

// ---------------------------------------------------------------------------
// The whole event, walked with the same parser.

/// How the whole-event walk reads an image.
trait ImageWalk<'de> {
    /// The image type of the decoded events.
    type Image;
    /// Reads the image at the parser's position (after whitespace).
    fn read(p: &mut Parser<'de>, trail: &Trail) -> Result<Self::Image>;
}

impl<'de, T: de::Deserialize<'de>> ImageWalk<'de> for Typed<T> {
    type Image = T;
    fn read(p: &mut Parser<'de>, trail: &Trail) -> Result<T> {
        T::deserialize(ItemDe { p, trail })
    }
}

impl<'de> ImageWalk<'de> for KeepRaw {
    type Image = RawImage<'de>;
    fn read(p: &mut Parser<'de>, _trail: &Trail) -> Result<RawImage<'de>> {
        // Checked as strictly as the general decoder checks it, and sliced
        // the same way: from the value's first byte to its last.
        p.raw_value().map(RawImage::from_checked_json)
    }
}

type Records<'de, I> = Vec<std::result::Result<ChangeEvent<'de, I>, RecordError>>;

/// Decodes a whole Lambda event (or GetRecords response) with its images
/// deserialized into `T`, walking the text once with this parser.
///
/// `None` means "ask the general decoder": the text is not UTF-8, not
/// well-formed JSON, nested too deeply, not an object with a `Records`
/// array, or has a record that is not an object or does not decode. The
/// general decoder then gives the same answer it always gives, with its
/// exact errors.
pub(crate) fn decode_event_as<'de, T: de::Deserialize<'de>>(
    json: &'de [u8],
) -> Option<Records<'de, T>> {
    walk_event::<Typed<T>>(json)
}

/// Decodes a whole event as [`decode_event_as`] does, keeping each image as
/// its raw JSON text; `None` means "ask the general decoder" as there.
pub(crate) fn decode_event_raw(json: &[u8]) -> Option<Records<'_, RawImage<'_>>> {
    walk_event::<KeepRaw>(json)
}

fn walk_event<'de, R: ImageWalk<'de>>(json: &'de [u8]) -> Option<Records<'de, R::Image>> {
    let text = std::str::from_utf8(json).ok()?;
    let mut p = Parser {
        text,
        pos: 0,
        depth: 0,
        broken: false,
    };
    let mut records = None;
    p.expect(b'{', "an event object").ok()?;
    let mut first = true;
    while let Some(key) = p.object_key(&mut first)? {
        if key == "Records" {
            records = Some(decode_records::<R>(&mut p)?);
        } else {
            p.skip_value().ok()?;
        }
    }
    p.ws();
    if p.pos != text.len() {
        return None;
    }
    records
}

impl<'de> Parser<'de> {
    /// The next key of an object whose `{` was read (`None` at its end),
    /// with the `:` after it consumed; `None` outside if the text is broken.
    fn object_key(&mut self, first: &mut bool) -> Option<Option<Cow<'de, str>>> {
        match self.peek_ws()? {
            b'}' => {
                self.pos += 1;
                return Some(None);
            }
            b',' if !*first => self.pos += 1,
            _ if *first => {}
            _ => return None,
        }
        *first = false;
        let key = self.string().ok()?;
        self.expect(b':', "`:`").ok()?;
        Some(Some(key))
    }

    /// Where the JSON number at the current position ends, when it is one
    /// by JSON's grammar (`-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?`)
    /// and is followed by a byte that may follow a value.
    fn json_number_end(&self) -> Option<usize> {
        self.json_number_end_at(self.pos)
    }

    /// [`Self::json_number_end`] for a number starting at `at`.
    fn json_number_end_at(&self, at: usize) -> Option<usize> {
        let bytes = self.text.as_bytes();
        let digits_from = |mut i: usize| {
            let start = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            (i > start).then_some(i)
        };
        let mut i = at + usize::from(bytes.get(at) == Some(&b'-'));
        i = match bytes.get(i) {
            Some(b'0') => i + 1,
            Some(b'1'..=b'9') => digits_from(i)?,
            _ => return None,
        };
        if bytes.get(i) == Some(&b'.') {
            i = digits_from(i + 1)?;
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            i = digits_from(i)?;
        }
        match bytes.get(i) {
            Some(b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t') | None => Some(i),
            Some(_) => None,
        }
    }

    /// A string field of a record. `None` if it is not a string or the
    /// text is broken: either way the record does not decode here, and its
    /// batch goes to the general decoder for the error (see
    /// `decode_records`), so no message is made here.
    fn text_field(&mut self) -> Option<Cow<'de, str>> {
        if self.peek_ws() != Some(b'"') {
            return None;
        }
        self.string().ok()
    }

    /// A number field of a record, as it came. `None` if it is not a JSON
    /// number, as [`Self::text_field`].
    fn number_field(&mut self) -> Option<Scalar> {
        self.ws();
        let start = self.pos;
        self.pos = self.json_number_end()?;
        let text = self.text.get(start..self.pos)?;
        if let Ok(n) = text.parse::<u64>() {
            Some(Scalar::Unsigned(n))
        } else if let Ok(n) = text.parse::<i64>() {
            Some(Scalar::Signed(n))
        } else {
            text.parse::<f64>().ok().map(Scalar::Float)
        }
    }
}

/// The fewest bytes a record that decodes takes (an estimate's floor).
const MIN_RECORD_LEN: usize = 64;
/// The most records a Lambda batch for a DynamoDB stream holds.
const MAX_BATCH_RECORDS: usize = 10_000;

fn decode_records<'de, R: ImageWalk<'de>>(p: &mut Parser<'de>) -> Option<Records<'de, R::Image>> {
    p.expect(b'[', "a list of records").ok()?;
    let arn_cache = ArnCache::default();
    let trail = Trail::default();
    let mut out = Vec::new();
    loop {
        match p.peek_ws()? {
            b']' => {
                p.pos += 1;
                return Some(out);
            }
            b',' if !out.is_empty() => p.pos += 1,
            _ if out.is_empty() => {}
            _ => return None,
        }
        if p.peek_ws()? != b'{' {
            return None;
        }
        let start = p.pos;
        // Filled in place and finished straight into the list: a record
        // holds two of the user's images, and every move of it is a copy.
        let mut parts = RecordParts::<R::Image>::default();
        decode_record::<R>(p, &mut parts, &arn_cache, &trail)?;
        let index = out.len();
        if index == 0 {
            // Records of a batch are alike in size: the first one tells how
            // many the rest of the text holds, which saves growing (and
            // copying) the whole list a dozen times. A third more than the
            // estimate covers a first record longer than most, so that the
            // list is not copied once more when the estimate falls short.
            let first_len = p.pos.saturating_sub(start).max(MIN_RECORD_LEN);
            let remaining = p.text.len().saturating_sub(p.pos);
            let estimate = remaining / first_len + 1;
            out.reserve(estimate.saturating_add(estimate / 3).min(MAX_BATCH_RECORDS));
        }
        // A record that fails goes, with its batch, to the general decoder:
        // its error is then exactly the reference's (wording, position),
        // and bad records are rare enough that decoding their batch twice
        // costs nothing that matters.
        let record = parts.finish(index);
        if record.is_err() {
            return None;
        }
        out.push(record);
    }
}

fn decode_record<'de, R: ImageWalk<'de>>(
    p: &mut Parser<'de>,
    parts: &mut RecordParts<'de, R::Image>,
    arn_cache: &ArnCache,
    trail: &Trail,
) -> Option<()> {
    p.expect(b'{', "a record").ok()?;
    let mut first = true;
    while let Some(key) = p.object_key(&mut first)? {
        match key.as_ref() {
            "eventID" => parts.event_id = Some(p.text_field()?),
            "eventName" => {
                let name = p.text_field()?;
                parts.set_event_name(&name);
            }
            "eventVersion" => parts.event_version = Some(p.text_field()?),
            "awsRegion" => parts.region = Some(p.text_field()?),
            "eventSourceARN" => {
                let text = p.text_field()?;
                parts.source = parse_arn_cached(arn_cache, parts, &text);
            }
            "userIdentity" => decode_user_identity(p, parts)?,
            "dynamodb" => {
                parts.has_stream_record = true;
                decode_stream_record::<R>(p, parts, trail)?;
            }
            _ => p.skip_value().ok()?,
        }
    }
    Some(())
}

fn decode_user_identity<'de, I>(
    p: &mut Parser<'de>,
    parts: &mut RecordParts<'de, I>,
) -> Option<()> {
    p.expect(b'{', "a user identity object").ok()?;
    let (mut kind, mut principal_id) = (String::new(), String::new());
    let mut first = true;
    while let Some(key) = p.object_key(&mut first)? {
        // Both spellings, as the general decoder's `UserIdentitySeed`: the
        // Lambda event's and the GetRecords response's `Identity` shape.
        let slot = match key.as_ref() {
            "type" | "Type" => &mut kind,
            "principalId" | "PrincipalId" => &mut principal_id,
            _ => {
                p.skip_value().ok()?;
                continue;
            }
        };
        *slot = p.text_field()?.into_owned();
    }
    parts.user_identity = Some(UserIdentity { kind, principal_id });
    Some(())
}

fn decode_stream_record<'de, R: ImageWalk<'de>>(
    p: &mut Parser<'de>,
    parts: &mut RecordParts<'de, R::Image>,
    trail: &Trail,
) -> Option<()> {
    p.expect(b'{', "the record's \"dynamodb\" object").ok()?;
    let mut first = true;
    while let Some(key) = p.object_key(&mut first)? {
        // A field that does not decode fails the record, so the batch goes
        // to the general decoder for its error (see `decode_records`).
        match key.as_ref() {
            "Keys" => {
                trail.take();
                p.ws();
                parts.keys = Some(p.item(trail).ok()?);
            }
            "NewImage" | "OldImage" => {
                trail.take();
                p.ws();
                let image = R::read(p, trail).ok()?;
                if key == "NewImage" {
                    parts.new_image = Some(image);
                } else {
                    parts.old_image = Some(image);
                }
            }
            "SequenceNumber" => parts.sequence_number = Some(p.text_field()?),
            "SizeBytes" => match p.number_field()? {
                Scalar::Unsigned(n) => parts.size_bytes = Some(n),
                _ => return None,
            },
            "StreamViewType" => {
                parts.view_type = Some(StreamViewType::parse(&p.text_field()?)?);
            }
            "ApproximateCreationDateTime" => {
                parts.approximate_creation_time = Some(p.number_field()?.to_time()?);
            }
            _ => p.skip_value().ok()?,
        }
    }
    Some(())
}

// ---------------------------------------------------------------------------
// Untyped items, read natively (keys, which every record has).

impl Parser<'_> {
    /// An item as an untyped [`Item`], the path of a failure in `trail`.
    fn item(&mut self, trail: &Trail) -> Result<Item> {
        self.expect(b'{', "an item (a map)")?;
        self.enter()?;
        let mut item = Item::new();
        let mut first = true;
        loop {
            match self.peek_ws() {
                Some(b'}') => {
                    self.pos += 1;
                    break;
                }
                Some(b',') if !first => self.pos += 1,
                _ if first => {}
                _ => return Err(self.error("`,` or `}`")),
            }
            first = false;
            let key = self.string()?;
            self.expect(b':', "`:`")?;
            match self.attribute_value(trail) {
                Ok(value) => {
                    item.insert(key.into_owned(), value);
                }
                Err(e) => {
                    trail.push(PathSegment::Attribute(key.into_owned()));
                    return Err(e);
                }
            }
        }
        self.depth -= 1;
        Ok(item)
    }

    /// One `{"TYPE": value}` as an [`AttributeValue`].
    fn attribute_value(&mut self, trail: &Trail) -> Result<AttributeValue> {
        self.expect(b'{', "a DynamoDB JSON value such as {\"S\": \"text\"}")?;
        let tag = self.tag()?;
        self.expect(b':', "`:`")?;
        let value = match tag {
            Tag::S => AttributeValue::S(self.string()?.into_owned()),
            Tag::N => AttributeValue::N(Number::new(self.string()?.into_owned()).map_err(fail)?),
            Tag::B => AttributeValue::B(crate::base64::decode(&self.string()?).map_err(fail)?),
            Tag::Bool => AttributeValue::Bool(self.boolean()?),
            Tag::Null => {
                if !self.boolean()? {
                    return Err(FastError("NULL must be true".to_owned()));
                }
                AttributeValue::Null
            }
            Tag::M => AttributeValue::M(self.item(trail)?),
            Tag::L => {
                self.expect(b'[', "a list")?;
                self.enter()?;
                let mut list = Vec::new();
                loop {
                    match self.peek_ws() {
                        Some(b']') => {
                            self.pos += 1;
                            break;
                        }
                        Some(b',') if !list.is_empty() => self.pos += 1,
                        _ if list.is_empty() => {}
                        _ => return Err(self.error("`,` or `]`")),
                    }
                    match self.attribute_value(trail) {
                        Ok(value) => list.push(value),
                        Err(e) => {
                            trail.push(PathSegment::Index(list.len()));
                            return Err(e);
                        }
                    }
                }
                self.depth -= 1;
                AttributeValue::L(list)
            }
            Tag::Ss => {
                let texts = self.string_list()?;
                let set = texts.into_iter().map(Cow::into_owned).collect();
                AttributeValue::Ss(StringSet::new(set).map_err(fail)?)
            }
            Tag::Ns => {
                let numbers = self
                    .string_list()?
                    .into_iter()
                    .map(|t| Number::new(t.into_owned()))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(fail)?;
                AttributeValue::Ns(NumberSet::new(numbers).map_err(fail)?)
            }
            Tag::Bs => {
                let blobs = self
                    .string_list()?
                    .iter()
                    .map(|t| crate::base64::decode(t))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(fail)?;
                AttributeValue::Bs(BinarySet::new(blobs).map_err(fail)?)
            }
        };
        match self.peek_ws() {
            Some(b'}') => {
                self.pos += 1;
                Ok(value)
            }
            Some(b',') => Err(FastError(
                "attribute value has more than one type key".to_owned(),
            )),
            _ => Err(self.error("`}`")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::decode_with;
    use proptest::prelude::*;

    proptest! {
        /// The word-at-a-time scan finds exactly what a byte loop finds,
        /// whatever the bytes and wherever the scan starts.
        #[test]
        fn quote_scan_agrees_with_a_byte_loop(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..=0xff, Just(b'a')],
                0..40,
            ),
            from in 0usize..45,
        ) {
            let expected = (from..bytes.len())
                .find(|&i| matches!(bytes[i], b'"' | b'\\' | 0..=0x1f))
                .unwrap_or(bytes.len().max(from));
            prop_assert_eq!(find_quote_or_backslash(&bytes, from), expected);
        }
    }

    proptest! {
        /// Where the number scanner says a number ends, the strict skip
        /// (serde_json) agrees that a number ends there.
        #[test]
        fn number_scan_agrees_with_the_strict_skip(
            text in "[-+0-9.eE]{1,10}[,}\\] x:]?[0-9]?",
        ) {
            let parser = |text| Parser { text, pos: 0, depth: 0, broken: false };
            if let Some(end) = parser(&text).json_number_end() {
                let mut strict = parser(&text);
                prop_assert!(strict.skip_value().is_ok(), "{text:?}");
                prop_assert_eq!(strict.pos, end, "{:?}", text);
            }
        }
    }

    /// What the strict skip (serde_json) makes of `text`: where the value
    /// ends, or `None` if it rejects it.
    fn strict_end(text: &str) -> Option<usize> {
        let mut values = serde_json::Deserializer::from_str(text).into_iter::<de::IgnoredAny>();
        match values.next() {
            Some(Ok(_)) => Some(values.byte_offset()),
            _ => None,
        }
    }

    proptest! {
        /// Whatever the plain skip accepts, the strict skip accepts with the
        /// same end; on valid values it is sure most of the time.
        #[test]
        fn plain_skip_agrees_with_the_strict_skip(
            text in "[{}\\[\\]\",:0-9.eE+-]{0,3}([{}\\[\\]\",: \n\\\\0-9.eE+-]|true|false|null|nul|\"[ab\\\\u0-9\u{1}]{0,3}\"){0,24}",
        ) {
            let parser = Parser { text: &text, pos: 0, depth: 0, broken: false };
            if let Some(end) = parser.plain_value_end() {
                prop_assert_eq!(strict_end(&text), Some(end), "{:?}", text);
            }
        }

        #[test]
        fn plain_skip_agrees_on_mutated_fixtures(
            fixture_index in 0..FIXTURES.len(),
            from in any::<prop::sample::Index>(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"{}[]\",:0-eE.tnu\\ \x01".to_vec())),
                0..3,
            ),
        ) {
            let mut bytes = fixture(FIXTURES[fixture_index]);
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
            // Start at any value opener, like a skip inside the event does.
            let openers: Vec<usize> = text
                .bytes()
                .enumerate()
                .filter(|(_, b)| matches!(b, b'{' | b'[' | b'"' | b't' | b'n' | b'0'..=b'9'))
                .map(|(i, _)| i)
                .collect();
            if openers.is_empty() {
                return Ok(());
            }
            let start = openers[from.index(openers.len())];
            let parser = Parser { text: &text, pos: start, depth: 0, broken: false };
            if let Some(end) = parser.plain_value_end() {
                prop_assert_eq!(strict_end(&text[start..]).map(|n| n + start), Some(end));
            }
        }
    }

    #[test]
    fn plain_skip_is_sure_of_whole_valid_events_without_escapes() {
        let mut checked = 0;
        for name in FIXTURES {
            let text = String::from_utf8(fixture(name)).unwrap();
            let start = text.find('{').unwrap();
            let parser = Parser {
                text: &text,
                pos: start,
                depth: 0,
                broken: false,
            };
            let plain = parser.plain_value_end().map(|end| end - start);
            if text.contains('\\') {
                // Escapes are left to the strict skip.
                assert_eq!(plain, None, "{name}");
            } else {
                assert_eq!(plain, strict_end(&text[start..]), "{name}");
                checked += 1;
            }
        }
        assert!(checked >= 3, "only {checked} fixtures have no escapes");
    }

    const FIXTURES: [&str; 7] = [
        "lambda_event",
        "get_records_response",
        "ttl_delete",
        "get_records_ttl_delete",
        "every_type",
        "missing_optional_fields",
        "bad_records",
    ];

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    /// The whole-event walks (typed and raw) must give what the general
    /// decoder gives, whenever they give anything; whether each walk (typed,
    /// raw) gave anything is returned.
    fn agree(bytes: &[u8]) -> (bool, bool) {
        let typed = records_agree(decode_event_as::<serde_json::Value>(bytes), || {
            decode_with::<Typed<serde_json::Value>>(bytes)
        });
        let raw = records_agree(decode_event_raw(bytes), || decode_with::<KeepRaw>(bytes));
        if raw {
            // The raw images are the very same text, not only equal JSON.
            let texts = |records: Records<'_, RawImage<'_>>| -> Vec<_> {
                records
                    .iter()
                    .map(|r| {
                        r.as_ref().ok().map(|e| {
                            let text = |i: Option<&RawImage<'_>>| i.map(|i| i.json().to_owned());
                            (text(e.change.new_image()), text(e.change.old_image()))
                        })
                    })
                    .collect()
            };
            let fast = decode_event_raw(bytes).unwrap();
            let general = decode_with::<KeepRaw>(bytes).unwrap();
            assert_eq!(texts(fast), texts(general));
        }
        (typed, raw)
    }

    fn records_agree<'a, I: serde::Serialize + fmt::Debug>(
        fast: Option<Records<'a, I>>,
        general: impl FnOnce() -> std::result::Result<Records<'a, I>, crate::EventError>,
    ) -> bool {
        let Some(fast) = fast else {
            return false;
        };
        let general =
            general().unwrap_or_else(|e| panic!("only the fast walk accepted the input: {e}"));
        assert_eq!(fast.len(), general.len());
        for (fast, general) in fast.iter().zip(&general) {
            match (fast, general) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.to_json(), b.to_json());
                    assert_eq!(a.user_identity, b.user_identity);
                }
                // A failing record sends its batch to the general decoder.
                (a, b) => panic!("the fast walk kept a batch with a bad record: {a:?} / {b:?}"),
            }
        }
        true
    }

    #[test]
    fn walks_every_fixture_like_the_general_decoder() {
        for name in FIXTURES {
            let (typed, raw) = agree(&fixture(name));
            // The fixture of bad records goes to the general decoder; so
            // does `every_type` when typed, its binary values not fitting a
            // `serde_json::Value`.
            assert_eq!(raw, name != "bad_records", "{name}");
            assert_eq!(
                typed,
                !["bad_records", "every_type"].contains(&name),
                "{name}"
            );
        }
    }

    #[test]
    fn raw_images_of_any_shape_and_depth_decode_alike() {
        let mut images: Vec<String> = ["null", "5", "-0.5e3", "\"x\"", "[ ]", "{ }", "true"]
            .into_iter()
            .map(String::from)
            .chain([r#"{ "a" : { "S" : "b\u00e9" } , "n": {"N": "1"} }"#.to_owned()])
            .collect();
        for depth in [60, 120, 122, 123, 124, 125, 126, 127, 128, 129, 200] {
            images.push(format!("{}{}", "[".repeat(depth), "]".repeat(depth)));
        }
        for image in images {
            let json = format!(
                r#"{{"Records": [{{"eventID": "a", "eventName": "MODIFY", "dynamodb": {{"Keys": {{}}, "SequenceNumber": "1", "NewImage":  {image} , "OldImage":{image}}}}}]}}"#
            );
            agree(json.as_bytes());
            let general = decode_with::<KeepRaw>(json.as_bytes());
            let fast = decode_event_raw(json.as_bytes());
            // The fast walk leaves nothing the general decoder accepts to it.
            assert_eq!(general.is_ok(), fast.is_some(), "{image}");
            if let Some(fast) = fast {
                let event = fast[0].as_ref().unwrap();
                assert_eq!(event.change.new_image().unwrap().json(), image);
                assert_eq!(event.change.old_image().unwrap().json(), image);
            }
        }
    }

    #[test]
    fn a_bad_record_sends_its_batch_to_the_general_decoder() {
        let records = [
            r#"{"eventID": "a", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"X": "a"}}, "SequenceNumber": "1"}}"#,
            r#"{"eventID": "b", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"L": [{"N": "1"}, {"N": "x"}]}}, "SequenceNumber": "2"}}"#,
            r#"{"eventID": 3, "eventName": "INSERT", "dynamodb": {"Keys": {}, "SequenceNumber": "3"}}"#,
            r#"{"eventID": "d", "eventName": "INSERT", "dynamodb": {"Keys": {}, "SequenceNumber": "4", "SizeBytes": "big"}}"#,
            r#"{"eventID": "e", "eventName": "INSERT", "dynamodb": [1, 2]}"#,
            r#"{"eventID": "f", "eventName": "REMOVE", "userIdentity": "me", "dynamodb": {"Keys": {}, "SequenceNumber": "6"}}"#,
            r#"{"eventID": "g", "eventName": "INSERT", "dynamodb": {"Keys": {"k": {"S": "a", "N": "1"}}, "SequenceNumber": "7", "NewImage": {"s": {"SS": []}}}}"#,
            r#"{"eventID": "h", "eventName": "INSERT", "dynamodb": {"Keys": {}, "SequenceNumber": "8", "NewImage": {"n": {"NS": ["1", "1.0"]}}, "ApproximateCreationDateTime": -5}}"#,
            r#"{"eventID": "i", "eventName": "MODIFY", "eventSourceARN": "arn:aws:s3:::b", "dynamodb": {"Keys": {"k": {"B": "AA=="}}, "SequenceNumber": "9", "StreamViewType": "ALL"}}"#,
        ];
        let good = r#"{"eventID": "ok", "eventName": "INSERT", "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "0", "NewImage": {"id": {"S": "a"}}}}"#;
        fn errors<I>(records: &Records<'_, I>) -> Vec<RecordError> {
            records
                .iter()
                .filter_map(|r| r.as_ref().err().cloned())
                .collect()
        }
        for bad in records {
            let json = format!(r#"{{"Records": [{good}, {bad}, {good}]}}"#);
            let bytes = json.as_bytes();
            assert!(
                decode_event_as::<serde_json::Value>(bytes).is_none(),
                "{bad}"
            );
            assert!(decode_event_raw(bytes).is_none(), "{bad}");
            // So the public decoders give the general decoder's exact errors.
            let raw = crate::decode_event(bytes).unwrap();
            assert_eq!(
                errors(&raw),
                errors(&decode_with::<KeepRaw>(bytes).unwrap())
            );
            assert_eq!(errors(&raw).len(), 1, "{bad}");
            let typed = crate::decode_event_as::<serde_json::Value>(bytes).unwrap();
            let general = decode_with::<Typed<serde_json::Value>>(bytes).unwrap();
            assert_eq!(errors(&typed), errors(&general));
            assert_eq!(errors(&typed).len(), 1, "{bad}");
        }
    }

    #[test]
    fn leaves_what_is_not_json_to_the_general_decoder() {
        for text in [
            "",
            "[]",
            r#"{"Records": [1]}"#,
            r#"{"Records": [{"eventID": tru}]}"#,
            "{\"Records\": [{\"eventID\": \"a\nb\"}]}",
            r#"{"Records": []} x"#,
            r#"{"Records": [],}"#,
        ] {
            assert!(
                decode_event_as::<serde_json::Value>(text.as_bytes()).is_none(),
                "{text}"
            );
            assert!(decode_event_raw(text.as_bytes()).is_none(), "{text}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(512) })]

        #[test]
        fn mutated_events_decode_alike(
            fixture_index in 0..FIXTURES.len(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
        ) {
            let mut bytes = fixture(FIXTURES[fixture_index]);
            for (at, byte, kind) in edits {
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = byte,
                    1 => { bytes.remove(i); }
                    _ => bytes.insert(i, byte),
                }
            }
            agree(&bytes);
        }

        #[test]
        fn valid_events_with_any_whitespace_decode_alike(
            fixture_index in 0..FIXTURES.len(),
            spaces in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b" \n\t\r".to_vec())),
                1..40,
            ),
        ) {
            // Whitespace between tokens keeps an event valid (inside a
            // string it changes the text only): both walks must still agree.
            let mut bytes = fixture(FIXTURES[fixture_index]);
            for (at, byte) in spaces {
                bytes.insert(at.index(bytes.len()), byte);
            }
            agree(&bytes);
        }

        #[test]
        fn structural_mutations_decode_alike(
            fixture_index in 0..FIXTURES.len(),
            edits in prop::collection::vec(
                (any::<prop::sample::Index>(), prop::sample::select(b"{}[]\",:0aNSLMtnx \\".to_vec())),
                1..3,
            ),
        ) {
            let mut bytes = fixture(FIXTURES[fixture_index]);
            for (at, byte) in edits {
                let i = at.index(bytes.len());
                bytes[i] = byte;
            }
            agree(&bytes);
        }
    }
}
