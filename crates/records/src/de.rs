//! A serde Deserializer from DynamoDB JSON straight into the user's types.
//!
//! An item such as `{"id": {"S": "a"}, "pages": {"N": "3"}}` deserializes
//! into `struct Doc { id: String, pages: u32 }` in one pass over the input:
//! the adapter reads the type key of each wrapper and hands the inner value
//! to the user's visitor, borrowing strings from the input where it can.
//! Numbers convert exactly or fail (a string type receives a number's exact
//! text); sets are validated; an enum reads a unit variant from an `S` and a
//! variant with content from a one-key `M`, as [`to_item`](crate::to_item)
//! writes them.
//!
//! Every reader here is tolerant: when a value is wrong, the input is still
//! consumed up to the end of that value before the error is returned, so a
//! batch decoder can go on with the next record. The attribute path of a
//! failure is collected as the error unwinds.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, DeserializeSeed, Deserializer, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess,
    Visitor,
};

use crate::number::{self, convert};

/// Newtype name by which [`Number`](crate::Number) asks a deserializer for
/// the number's text and serializes it.
pub(crate) const NUMBER_TOKEN: &str = "$streamgate_records::Number";
/// Newtype name by which [`Item`](crate::Item) asks for DynamoDB JSON.
pub(crate) const ITEM_TOKEN: &str = "$streamgate_records::Item";
/// Newtype name by which [`AttributeValue`](crate::AttributeValue) asks for
/// DynamoDB JSON.
pub(crate) const VALUE_TOKEN: &str = "$streamgate_records::AttributeValue";

/// One step of an attribute path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathSegment {
    /// An attribute (or map key) name.
    Attribute(String),
    /// A position in a list or set.
    Index(usize),
}

/// The path to a value inside an item, e.g. `address.lines[1]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttributePath(pub Vec<PathSegment>);

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(item)");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Attribute(name) if i == 0 => write!(f, "{name}")?,
                PathSegment::Attribute(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// Why an item did not deserialize into the requested type.
///
/// Only this crate makes one (it may gain fields), so it cannot be built
/// outside it:
///
/// ```compile_fail
/// use streamgate_records::{AttributePath, ImageError};
/// let made = ImageError { path: AttributePath::default(), message: String::new() };
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("at {path}: {message}")]
pub struct ImageError {
    /// Where in the item the problem is.
    pub path: AttributePath,
    /// What the problem is.
    pub message: String,
}

/// The segments of the path of an error, innermost first, pushed as the
/// error unwinds through the readers.
#[derive(Debug, Default)]
pub(crate) struct Trail(RefCell<Vec<PathSegment>>);

impl Trail {
    pub(crate) fn push(&self, segment: PathSegment) {
        self.0.borrow_mut().push(segment);
    }
    /// The path collected so far, outermost first, and a fresh start.
    pub(crate) fn take(&self) -> AttributePath {
        let mut segments = std::mem::take(&mut *self.0.borrow_mut());
        segments.reverse();
        AttributePath(segments)
    }
}

// ---------------------------------------------------------------------------
// Tolerance helpers.

/// Consumes the rest of a map (and the value whose key was read, if any).
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(
    map: &mut A,
    value_pending: bool,
) -> Result<(), A::Error> {
    if value_pending {
        map.next_value::<IgnoredAny>()?;
    }
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes the rest of a sequence.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(seq: &mut A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// On error, drains the rest of `map` first, so the input stays in step.
/// If draining fails, the input itself is broken and that error wins.
pub(crate) fn recover<'de, T, A: MapAccess<'de>>(
    result: Result<T, A::Error>,
    map: &mut A,
    value_pending: bool,
) -> Result<T, A::Error> {
    match result {
        Ok(v) => Ok(v),
        Err(e) => {
            drain_map(map, value_pending)?;
            Err(e)
        }
    }
}

/// Captures a string, borrowed from the input when it has no escapes; any
/// other JSON value is consumed and rejected.
pub(crate) struct TextCapture;

impl<'de> DeserializeSeed<'de> for TextCapture {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextCapture {
    type Value = Cow<'de, str>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// Captures a boolean; any other JSON value is consumed and rejected.
pub(crate) struct BoolCapture;

impl<'de> DeserializeSeed<'de> for BoolCapture {
    type Value = bool;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BoolCapture {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// The type key of a DynamoDB JSON value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tag {
    S,
    N,
    B,
    Bool,
    Null,
    M,
    L,
    Ss,
    Ns,
    Bs,
}

/// Reads a type key, rejecting unknown ones by name.
pub(crate) struct TagSeed;

impl<'de> DeserializeSeed<'de> for TagSeed {
    type Value = Tag;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Tag, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TagSeed {
    type Value = Tag;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DynamoDB type key: S, N, B, BOOL, NULL, M, L, SS, NS or BS")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tag, E> {
        Tag::parse(v)
    }
}

impl Tag {
    /// The tag named by a type key.
    pub(crate) fn parse<E: de::Error>(v: &str) -> Result<Tag, E> {
        Ok(match v {
            "S" => Tag::S,
            "N" => Tag::N,
            "B" => Tag::B,
            "BOOL" => Tag::Bool,
            "NULL" => Tag::Null,
            "M" => Tag::M,
            "L" => Tag::L,
            "SS" => Tag::Ss,
            "NS" => Tag::Ns,
            "BS" => Tag::Bs,
            other => {
                return Err(E::custom(format_args!(
                    "unknown attribute type {other:?}, expected one of S, N, B, BOOL, NULL, M, L, SS, NS, BS"
                )));
            }
        })
    }
}

// ---------------------------------------------------------------------------
// Small deserializers for captured values.

/// A captured string, handed to a visitor borrowed when it was borrowed.
pub(crate) struct TextDeserializer<'de, E> {
    text: Cow<'de, str>,
    marker: PhantomData<E>,
}

impl<'de, E> TextDeserializer<'de, E> {
    pub(crate) fn new(text: Cow<'de, str>) -> Self {
        Self {
            text,
            marker: PhantomData,
        }
    }
}

impl<'de, E: de::Error> Deserializer<'de> for TextDeserializer<'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.text {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_enum(self.text.into_deserializer())
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

/// A validated DynamoDB number's text, converted exactly to what the visitor
/// asks for.
pub(crate) struct NumberDeserializer<'de, E> {
    text: Cow<'de, str>,
    marker: PhantomData<E>,
}

impl<'de, E: de::Error> NumberDeserializer<'de, E> {
    /// Validates `text` as a DynamoDB number.
    pub(crate) fn new(text: Cow<'de, str>) -> Result<Self, E> {
        number::validate(&text).map_err(E::custom)?;
        Ok(Self {
            text,
            marker: PhantomData,
        })
    }
    fn integer<T: TryFrom<i128>>(&self, target: &'static str) -> Result<T, E> {
        let inexact = || {
            E::custom(number::NumberError::Inexact {
                text: self.text.to_string(),
                target,
            })
        };
        // Plain integer text that fits an i64, the common case, skips the
        // general conversion.
        let wide = match self.text.parse::<i64>() {
            Ok(v) => i128::from(v),
            Err(_) => convert::to_i128(&self.text).map_err(|_| inexact())?,
        };
        T::try_from(wide).map_err(|_| inexact())
    }
}

macro_rules! number_methods {
    ($($method:ident => $visit:ident($ty:ty, $name:literal)),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
            let v: $ty = self.integer($name)?;
            visitor.$visit(v)
        }
    )*};
}

impl<'de, E: de::Error> Deserializer<'de> for NumberDeserializer<'de, E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        if let Ok(v) = convert::to_i64(&self.text) {
            return visitor.visit_i64(v);
        }
        if let Ok(v) = convert::to_u64(&self.text) {
            return visitor.visit_u64(v);
        }
        if let Ok(v) = convert::to_f64(&self.text) {
            return visitor.visit_f64(v);
        }
        // Neither fits exactly: the text is the lossless answer.
        self.deserialize_str(visitor)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_i64(convert::to_i64(&self.text).map_err(E::custom)?)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_u64(convert::to_u64(&self.text).map_err(E::custom)?)
    }
    number_methods! {
        deserialize_i8 => visit_i8(i8, "i8"),
        deserialize_i16 => visit_i16(i16, "i16"),
        deserialize_i32 => visit_i32(i32, "i32"),
        deserialize_i128 => visit_i128(i128, "i128"),
        deserialize_u8 => visit_u8(u8, "u8"),
        deserialize_u16 => visit_u16(u16, "u16"),
        deserialize_u32 => visit_u32(u32, "u32"),
        deserialize_u128 => visit_u128(u128, "u128"),
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_f64(convert::to_f64(&self.text).map_err(E::custom)?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_f32(convert::to_f32(&self.text).map_err(E::custom)?)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.text {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        self.deserialize_str(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }
    serde::forward_to_deserialize_any! {
        bool char bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        enum identifier ignored_any
    }
}

/// Binary data, handed over as an owned byte buffer.
pub(crate) struct BytesDeserializer<E> {
    bytes: Vec<u8>,
    marker: PhantomData<E>,
}

impl<E> BytesDeserializer<E> {
    pub(crate) fn new(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            marker: PhantomData,
        }
    }
}

impl<'de, E: de::Error> Deserializer<'de> for BytesDeserializer<E> {
    type Error = E;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_byte_buf(self.bytes)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        // `Vec<u8>` without serde_bytes asks for a sequence of numbers.
        visitor.visit_seq(de::value::SeqDeserializer::new(self.bytes.into_iter()))
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// The elements of a validated set, each handed over by its own deserializer.
struct SetAccess<I, E> {
    elements: I,
    marker: PhantomData<E>,
}

impl<'de, I, D, E> SeqAccess<'de> for SetAccess<I, E>
where
    I: Iterator<Item = D>,
    D: Deserializer<'de, Error = E>,
    E: de::Error,
{
    type Error = E;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, E> {
        match self.elements.next() {
            Some(d) => seed.deserialize(d).map(Some),
            None => Ok(None),
        }
    }
    fn size_hint(&self) -> Option<usize> {
        self.elements.size_hint().1
    }
}

// ---------------------------------------------------------------------------
// The adapter: DynamoDB JSON (read through any deserializer) into user types.

/// Deserializes an item in DynamoDB JSON into `T`, through `seed`.
pub(crate) struct TypedItemSeed<'t, S> {
    pub(crate) seed: S,
    pub(crate) trail: &'t Trail,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for TypedItemSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, S: DeserializeSeed<'de>> Visitor<'de> for TypedItemSeed<'_, S> {
    type Value = S::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item: an object of attribute names to DynamoDB JSON values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S::Value, A::Error> {
        let mut access = ItemAccess {
            inner: &mut map,
            trail: self.trail,
            key: None,
            pending: false,
        };
        let result = self.seed.deserialize(ItemDeserializer {
            access: &mut access,
        });
        let pending = access.pending;
        // Whatever the user's type left unread is skipped, so the input stays
        // in step on success and on failure alike.
        drain_map(&mut map, pending)?;
        result
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<S::Value, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// The attributes of one item, each value unwrapped on the way to the user.
struct ItemAccess<'t, 'm, 'de, A> {
    inner: &'m mut A,
    trail: &'t Trail,
    key: Option<Cow<'de, str>>,
    /// A key was read and its value not yet.
    pending: bool,
}

impl<'t, 'de, A: MapAccess<'de>> ItemAccess<'t, '_, 'de, A> {
    fn blame_key(&self) {
        if let Some(key) = &self.key {
            self.trail.push(PathSegment::Attribute(key.to_string()));
        }
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for ItemAccess<'_, '_, 'de, A> {
    type Error = A::Error;
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.inner.next_key_seed(TextCapture)? else {
            self.key = None;
            return Ok(None);
        };
        self.pending = true;
        self.key = Some(key.clone());
        let result = seed.deserialize(TextDeserializer::<A::Error>::new(key));
        if result.is_err() {
            self.blame_key();
        }
        result.map(Some)
    }
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.pending = false;
        let result = self.inner.next_value_seed(AttrSeed {
            seed,
            trail: self.trail,
        });
        if result.is_err() {
            self.blame_key();
        }
        result
    }
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// An item as a deserializer: a map of attributes.
struct ItemDeserializer<'a, 't, 'm, 'de, A> {
    access: &'a mut ItemAccess<'t, 'm, 'de, A>,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for ItemDeserializer<'_, '_, '_, 'de, A> {
    type Error = A::Error;
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.access)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        if name == ITEM_TOKEN {
            // The user asked for an untyped `Item`: hand over DynamoDB JSON.
            return visitor.visit_newtype_struct(de::value::MapAccessDeserializer::new(
                &mut *self.access.inner,
            ));
        }
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_unit()
    }
    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct enum
        identifier
    }
}

/// One attribute value in DynamoDB JSON, unwrapped for the user's seed.
struct AttrSeed<'t, S> {
    seed: S,
    trail: &'t Trail,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for AttrSeed<'_, S> {
    type Value = S::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<S::Value, D::Error> {
        self.seed.deserialize(AttrDeserializer {
            inner: d,
            trail: self.trail,
        })
    }
}

/// What the user's type asked for, remembered until the type key is read.
#[derive(Clone, Copy)]
pub(crate) enum Hint {
    Any,
    Bool,
    I8,
    I16,
    I32,
    I64,
    I128,
    U8,
    U16,
    U32,
    U64,
    U128,
    F32,
    F64,
    Char,
    Str,
    String,
    Bytes,
    ByteBuf,
    Option,
    Unit,
    UnitStruct(&'static str),
    NewtypeStruct(&'static str),
    Seq,
    Tuple(usize),
    TupleStruct(&'static str, usize),
    Map,
    Struct(&'static str, &'static [&'static str]),
    Enum(&'static str, &'static [&'static str]),
    Identifier,
    IgnoredAny,
}

/// Writes the `Deserializer` methods whose only work is to pass what the
/// visitor asked for, as a [`Hint`], on to `self.$read(hint, visitor)`: every
/// method but `deserialize_option` and `deserialize_newtype_struct`, which
/// each deserializer treats its own way. The serde reader here and the fast
/// reader in `fast.rs` share it, so both hear the same hint for each request.
macro_rules! deserialize_by_hint {
    ($read:ident) => {
        $crate::de::deserialize_by_hint! {
            @plain $read;
            deserialize_any => Any,
            deserialize_bool => Bool,
            deserialize_i8 => I8,
            deserialize_i16 => I16,
            deserialize_i32 => I32,
            deserialize_i64 => I64,
            deserialize_i128 => I128,
            deserialize_u8 => U8,
            deserialize_u16 => U16,
            deserialize_u32 => U32,
            deserialize_u64 => U64,
            deserialize_u128 => U128,
            deserialize_f32 => F32,
            deserialize_f64 => F64,
            deserialize_char => Char,
            deserialize_str => Str,
            deserialize_string => String,
            deserialize_bytes => Bytes,
            deserialize_byte_buf => ByteBuf,
            deserialize_unit => Unit,
            deserialize_seq => Seq,
            deserialize_map => Map,
            deserialize_identifier => Identifier,
            deserialize_ignored_any => IgnoredAny,
        }
        fn deserialize_unit_struct<V: serde::de::Visitor<'de>>(
            self,
            name: &'static str,
            visitor: V,
        ) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::UnitStruct(name), visitor)
        }
        fn deserialize_tuple<V: serde::de::Visitor<'de>>(
            self,
            len: usize,
            visitor: V,
        ) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::Tuple(len), visitor)
        }
        fn deserialize_tuple_struct<V: serde::de::Visitor<'de>>(
            self,
            name: &'static str,
            len: usize,
            visitor: V,
        ) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::TupleStruct(name, len), visitor)
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            name: &'static str,
            fields: &'static [&'static str],
            visitor: V,
        ) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::Struct(name, fields), visitor)
        }
        fn deserialize_enum<V: serde::de::Visitor<'de>>(
            self,
            name: &'static str,
            variants: &'static [&'static str],
            visitor: V,
        ) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::Enum(name, variants), visitor)
        }
    };
    (@plain $read:ident; $($method:ident => $hint:ident),* $(,)?) => {$(
        fn $method<V: serde::de::Visitor<'de>>(self, visitor: V) -> ::core::result::Result<V::Value, Self::Error> {
            self.$read($crate::de::Hint::$hint, visitor)
        }
    )*};
}
pub(crate) use deserialize_by_hint;

/// A DynamoDB JSON value (`{"TYPE": value}`) as a deserializer of its
/// unwrapped value.
struct AttrDeserializer<'t, D> {
    inner: D,
    trail: &'t Trail,
}

impl<'de, D: Deserializer<'de>> AttrDeserializer<'_, D> {
    /// Reads the wrapper, then its value as `hint` asks.
    fn read<V: Visitor<'de>>(self, hint: Hint, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_any(TaggedVisitor {
            visitor,
            hint,
            trail: self.trail,
        })
    }
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for AttrDeserializer<'_, D> {
    type Error = D::Error;
    deserialize_by_hint!(read);
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.read(Hint::Option, visitor)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        if name == VALUE_TOKEN {
            // The user asked for an untyped `AttributeValue`: hand over the
            // DynamoDB JSON as it is.
            return visitor.visit_newtype_struct(self.inner);
        }
        self.read(Hint::NewtypeStruct(name), visitor)
    }
}

/// Reads the type key of a wrapper and hands its value to the user's visitor
/// the way the user's type asked for it.
struct TaggedVisitor<'t, V> {
    visitor: V,
    hint: Hint,
    trail: &'t Trail,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TaggedVisitor<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DynamoDB JSON value, an object with one type key such as {\"S\": \"text\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let tag = match recover(map.next_key_seed(TagSeed), &mut map, true)? {
            Some(tag) => tag,
            None => return Err(de::Error::custom("attribute value has no type key")),
        };
        let value = TaggedValue {
            tag,
            map: &mut map,
            trail: self.trail,
        };
        let result = value.deserialize_hint(self.hint, self.visitor);
        let value = recover(result, &mut map, false)?;
        if recover(map.next_key::<IgnoredAny>(), &mut map, true)?.is_some() {
            drain_map(&mut map, true)?;
            return Err(de::Error::custom(
                "attribute value has more than one type key",
            ));
        }
        Ok(value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V::Value, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// A wrapper whose type key has been read; its value is next in `map`.
struct TaggedValue<'m, 't, A> {
    tag: Tag,
    map: &'m mut A,
    trail: &'t Trail,
}

impl<'de, A: MapAccess<'de>> TaggedValue<'_, '_, A> {
    fn deserialize_hint<V: Visitor<'de>>(self, hint: Hint, v: V) -> Result<V::Value, A::Error> {
        match hint {
            Hint::Any => self.deserialize_any(v),
            Hint::Bool => self.deserialize_bool(v),
            Hint::I8 => self.deserialize_i8(v),
            Hint::I16 => self.deserialize_i16(v),
            Hint::I32 => self.deserialize_i32(v),
            Hint::I64 => self.deserialize_i64(v),
            Hint::I128 => self.deserialize_i128(v),
            Hint::U8 => self.deserialize_u8(v),
            Hint::U16 => self.deserialize_u16(v),
            Hint::U32 => self.deserialize_u32(v),
            Hint::U64 => self.deserialize_u64(v),
            Hint::U128 => self.deserialize_u128(v),
            Hint::F32 => self.deserialize_f32(v),
            Hint::F64 => self.deserialize_f64(v),
            Hint::Char => self.deserialize_char(v),
            Hint::Str => self.deserialize_str(v),
            Hint::String => self.deserialize_string(v),
            Hint::Bytes => self.deserialize_bytes(v),
            Hint::ByteBuf => self.deserialize_byte_buf(v),
            Hint::Option => self.deserialize_option(v),
            Hint::Unit => self.deserialize_unit(v),
            Hint::UnitStruct(name) => self.deserialize_unit_struct(name, v),
            Hint::NewtypeStruct(name) => self.deserialize_newtype_struct(name, v),
            Hint::Seq => self.deserialize_seq(v),
            Hint::Tuple(len) => self.deserialize_tuple(len, v),
            Hint::TupleStruct(name, len) => self.deserialize_tuple_struct(name, len, v),
            Hint::Map => self.deserialize_map(v),
            Hint::Struct(name, fields) => self.deserialize_struct(name, fields, v),
            Hint::Enum(name, variants) => self.deserialize_enum(name, variants, v),
            Hint::Identifier => self.deserialize_identifier(v),
            Hint::IgnoredAny => self.deserialize_ignored_any(v),
        }
    }

    /// The value by its type, for a visitor that asked for `hint`.
    fn dispatch<V: Visitor<'de>>(self, hint: Hint, visitor: V) -> Result<V::Value, A::Error> {
        let Self { tag, map, trail } = self;
        match tag {
            Tag::S => {
                let text = map.next_value_seed(TextCapture)?;
                TextDeserializer::new(text).deserialize_hint_text(hint, visitor)
            }
            Tag::N => {
                let text = map.next_value_seed(TextCapture)?;
                let number = NumberDeserializer::new(text)?;
                number_by_hint(number, hint, visitor)
            }
            Tag::B => {
                let text = map.next_value_seed(TextCapture)?;
                let bytes = crate::base64::decode(&text).map_err(de::Error::custom)?;
                let bytes = BytesDeserializer {
                    bytes,
                    marker: PhantomData,
                };
                match hint {
                    Hint::Seq => bytes.deserialize_seq(visitor),
                    _ => bytes.deserialize_any(visitor),
                }
            }
            Tag::Bool => visitor.visit_bool(map.next_value_seed(BoolCapture)?),
            Tag::Null => {
                if !map.next_value_seed(BoolCapture)? {
                    return Err(de::Error::custom("NULL must be true"));
                }
                visitor.visit_unit()
            }
            Tag::M => {
                if let Hint::NewtypeStruct(ITEM_TOKEN) = hint {
                    return map.next_value_seed(NewtypeSeed(visitor));
                }
                if let Hint::Enum(..) = hint {
                    // `{"M": {"Variant": value}}`, as `to_item` writes a
                    // variant with content.
                    return map.next_value_seed(EnumSeed { visitor, trail });
                }
                map.next_value_seed(TypedItemSeed {
                    seed: VisitMapSeed(visitor),
                    trail,
                })
            }
            Tag::L => map.next_value_seed(ListSeed { visitor, trail }),
            Tag::Ss | Tag::Ns | Tag::Bs => {
                let texts = map.next_value_seed(crate::value::TextListSeed)?;
                visit_set(tag, texts, hint, visitor)
            }
        }
    }
}

/// A set's elements, validated, for the user's visitor (`hint` only
/// matters for binary: `Vec<u8>` elements ask for a sequence).
pub(crate) fn visit_set<'de, V: Visitor<'de>, E: de::Error>(
    tag: Tag,
    texts: Vec<Cow<'de, str>>,
    _hint: Hint,
    visitor: V,
) -> Result<V::Value, E> {
    match tag {
        Tag::Ns => {
            let numbers = texts
                .into_iter()
                .map(NumberDeserializer::new)
                .collect::<Result<Vec<_>, _>>()?;
            check_distinct(
                "NS",
                &numbers,
                |a, b| number::same_value(&a.text, &b.text),
                |n| n.text.to_string(),
            )?;
            visitor.visit_seq(SetAccess {
                elements: numbers.into_iter(),
                marker: PhantomData,
            })
        }
        Tag::Bs => {
            let blobs = texts
                .iter()
                .map(|t| crate::base64::decode(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(de::Error::custom)?;
            check_distinct("BS", &blobs, |a, b| a == b, |b| crate::base64::encode(b))?;
            visitor.visit_seq(SetAccess {
                elements: blobs.into_iter().map(|bytes| BytesDeserializer {
                    bytes,
                    marker: PhantomData,
                }),
                marker: PhantomData,
            })
        }
        _ => {
            check_distinct("SS", &texts, |a, b| a == b, |t| format!("{t:?}"))?;
            visitor.visit_seq(SetAccess {
                elements: texts.into_iter().map(TextDeserializer::new),
                marker: PhantomData,
            })
        }
    }
}

/// Rejects empty sets and duplicate elements, `same` deciding equality.
/// Sets in stream records are small, so pairwise comparison beats hashing.
fn check_distinct<T, E: de::Error>(
    kind: &'static str,
    elements: &[T],
    same: impl Fn(&T, &T) -> bool,
    show: impl Fn(&T) -> String,
) -> Result<(), E> {
    if elements.is_empty() {
        return Err(E::custom(crate::value::SetError::Empty { kind }));
    }
    for (i, element) in elements.iter().enumerate() {
        if elements
            .iter()
            .take(i)
            .any(|earlier| same(earlier, element))
        {
            return Err(E::custom(crate::value::SetError::Duplicate {
                kind,
                element: show(element),
            }));
        }
    }
    Ok(())
}

pub(crate) fn number_by_hint<'de, V: Visitor<'de>, E: de::Error>(
    n: NumberDeserializer<'de, E>,
    hint: Hint,
    v: V,
) -> Result<V::Value, E> {
    match hint {
        Hint::I8 => n.deserialize_i8(v),
        Hint::I16 => n.deserialize_i16(v),
        Hint::I32 => n.deserialize_i32(v),
        Hint::I64 => n.deserialize_i64(v),
        Hint::I128 => n.deserialize_i128(v),
        Hint::U8 => n.deserialize_u8(v),
        Hint::U16 => n.deserialize_u16(v),
        Hint::U32 => n.deserialize_u32(v),
        Hint::U64 => n.deserialize_u64(v),
        Hint::U128 => n.deserialize_u128(v),
        Hint::F32 => n.deserialize_f32(v),
        Hint::F64 => n.deserialize_f64(v),
        Hint::Str | Hint::String | Hint::Identifier => n.deserialize_str(v),
        Hint::NewtypeStruct(name) => n.deserialize_newtype_struct(name, v),
        _ => n.deserialize_any(v),
    }
}

impl<'de, E: de::Error> TextDeserializer<'de, E> {
    pub(crate) fn deserialize_hint_text<V: Visitor<'de>>(
        self,
        hint: Hint,
        v: V,
    ) -> Result<V::Value, E> {
        match hint {
            Hint::Enum(name, variants) => self.deserialize_enum(name, variants, v),
            Hint::NewtypeStruct(name) => self.deserialize_newtype_struct(name, v),
            _ => self.deserialize_any(v),
        }
    }
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for TaggedValue<'_, '_, A> {
    type Error = A::Error;
    deserialize_by_hint!(dispatch);
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        if self.tag == Tag::Null {
            if !self.map.next_value_seed(BoolCapture)? {
                return Err(de::Error::custom("NULL must be true"));
            }
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        match name {
            NUMBER_TOKEN | ITEM_TOKEN => self.dispatch(Hint::NewtypeStruct(name), visitor),
            _ => visitor.visit_newtype_struct(self),
        }
    }
}

/// An enum variant with content, from a one-key `M`.
struct EnumSeed<'t, V> {
    visitor: V,
    trail: &'t Trail,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for EnumSeed<'_, V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for EnumSeed<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an enum variant: an M with one key")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        let pending = std::cell::Cell::new(false);
        let result = self.visitor.visit_enum(MapEnum {
            map: &mut map,
            trail: self.trail,
            pending: &pending,
        });
        let value = recover(result, &mut map, pending.get())?;
        if recover(map.next_key::<IgnoredAny>(), &mut map, true)?.is_some() {
            drain_map(&mut map, true)?;
            return Err(de::Error::custom(
                "an enum variant must be an M with exactly one key",
            ));
        }
        Ok(value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<V::Value, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

struct MapEnum<'m, 't, 'p, A> {
    map: &'m mut A,
    trail: &'t Trail,
    /// The variant's name was read and its value not yet.
    pending: &'p std::cell::Cell<bool>,
}

impl<'de, 'm, 't, 'p, A: MapAccess<'de>> de::EnumAccess<'de> for MapEnum<'m, 't, 'p, A> {
    type Error = A::Error;
    type Variant = Self;
    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), A::Error> {
        let Some(name) = self.map.next_key_seed(TextCapture)? else {
            return Err(de::Error::custom(
                "an enum variant must be an M with exactly one key",
            ));
        };
        self.pending.set(true);
        let variant = seed.deserialize(TextDeserializer::<A::Error>::new(name))?;
        Ok((variant, self))
    }
}

impl<'de, A: MapAccess<'de>> de::VariantAccess<'de> for MapEnum<'_, '_, '_, A> {
    type Error = A::Error;
    fn unit_variant(self) -> Result<(), A::Error> {
        self.pending.set(false);
        self.map.next_value::<IgnoredAny>()?;
        Ok(())
    }
    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, A::Error> {
        self.pending.set(false);
        self.map.next_value_seed(AttrSeed {
            seed,
            trail: self.trail,
        })
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, A::Error> {
        self.pending.set(false);
        self.map.next_value_seed(AttrSeed {
            seed: TupleSeed(len, visitor),
            trail: self.trail,
        })
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, A::Error> {
        self.pending.set(false);
        self.map.next_value_seed(AttrSeed {
            seed: StructSeed(fields, visitor),
            trail: self.trail,
        })
    }
}

/// Asks a deserializer for a tuple.
struct TupleSeed<V>(usize, V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for TupleSeed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_tuple(self.0, self.1)
    }
}

/// Asks a deserializer for a struct.
struct StructSeed<V>(&'static [&'static str], V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for StructSeed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_struct("", self.0, self.1)
    }
}

/// Hands a deserializer to a visitor as a newtype's content.
struct NewtypeSeed<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for NewtypeSeed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        self.0.visit_newtype_struct(d)
    }
}

/// Hands a map deserializer to a visitor expecting a map.
struct VisitMapSeed<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for VisitMapSeed<V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_map(self.0)
    }
}

/// An `L` value for the user's visitor: each element unwrapped.
struct ListSeed<'t, V> {
    visitor: V,
    trail: &'t Trail,
}

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for ListSeed<'_, V> {
    type Value = V::Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<V::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, V: Visitor<'de>> Visitor<'de> for ListSeed<'_, V> {
    type Value = V::Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of DynamoDB JSON values")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<V::Value, S::Error> {
        let mut access = ListAccess {
            inner: &mut seq,
            trail: self.trail,
            index: 0,
        };
        let result = self.visitor.visit_seq(&mut access);
        drain_seq(&mut seq)?;
        result
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V::Value, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

struct ListAccess<'m, 't, S> {
    inner: &'m mut S,
    trail: &'t Trail,
    index: usize,
}

impl<'de, S: SeqAccess<'de>> SeqAccess<'de> for ListAccess<'_, '_, S> {
    type Error = S::Error;
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, S::Error> {
        let result = self.inner.next_element_seed(AttrSeed {
            seed,
            trail: self.trail,
        });
        match result {
            Err(e) => {
                self.trail.push(PathSegment::Index(self.index));
                Err(e)
            }
            Ok(v) => {
                self.index += 1;
                Ok(v)
            }
        }
    }
    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

// ---------------------------------------------------------------------------
// Public entry points.

/// Deserializes `T` from an item in DynamoDB JSON text, borrowing strings
/// from `json` where `T` allows. (For an untyped [`Item`](crate::Item),
/// [`RawImage::item`](crate::RawImage::item) and
/// [`decode_event_items`](crate::decode_event_items) also name the attribute
/// path of a failure; through this function an `Item` reports only the
/// message.)
///
/// ```
/// use serde::Deserialize;
///
/// #[derive(Deserialize, Debug, PartialEq)]
/// struct Doc<'a> { id: &'a str, pages: u32, tags: Vec<String> }
///
/// let json = r#"{"id": {"S": "d-1"}, "pages": {"N": "12"}, "tags": {"SS": ["a", "b"]}}"#;
/// let doc: Doc = streamgate_records::from_json_item(json)?;
/// assert_eq!(doc, Doc { id: "d-1", pages: 12, tags: vec!["a".into(), "b".into()] });
///
/// let err = streamgate_records::from_json_item::<Doc>(r#"{"id": {"S": "x"}, "pages": {"N": "1.5"}, "tags": {"SS": ["a"]}}"#)
///     .unwrap_err();
/// assert_eq!(err.path.to_string(), "pages");
/// # Ok::<(), streamgate_records::ImageError>(())
/// ```
pub fn from_json_item<'de, T: de::Deserialize<'de>>(json: &'de str) -> Result<T, ImageError> {
    let trail = Trail::default();
    let mut deserializer = serde_json::Deserializer::from_str(json);
    let seed = TypedItemSeed {
        seed: PhantomData::<T>,
        trail: &trail,
    };
    let result = seed
        .deserialize(&mut deserializer)
        .and_then(|v| deserializer.end().map(|()| v));
    result.map_err(|e| ImageError {
        path: trail.take(),
        message: e.to_string(),
    })
}

/// Deserializes `T` from an [`Item`](crate::Item) already in memory.
///
/// ```
/// use streamgate_records::{AttributeValue, Item, from_item};
/// let item: Item = [("n", AttributeValue::N("7".parse()?))].into_iter().collect();
/// #[derive(serde::Deserialize)]
/// struct Counter { n: u8 }
/// assert_eq!(from_item::<Counter>(&item)?.n, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn from_item<T: de::DeserializeOwned>(item: &crate::Item) -> Result<T, ImageError> {
    // The item's own DynamoDB JSON is read back through the one adapter, so
    // that both sources follow exactly the same rules.
    let json = serde_json::to_string(item).map_err(|e| ImageError {
        path: AttributePath::default(),
        message: e.to_string(),
    })?;
    from_json_item(&json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttributeValue, Item, Number};
    use expect_test::{Expect, expect};
    use serde::Deserialize;

    /// Deserializes `json` (an item in DynamoDB JSON) into `T` and shows
    /// the value or the error.
    fn check<'de, T: Deserialize<'de> + fmt::Debug>(json: &'de str, expected: Expect) {
        let shown = match from_json_item::<T>(json) {
            Ok(v) => format!("{v:?}"),
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&shown);
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Borrowing<'a> {
        name: &'a str,
        #[serde(borrow)]
        note: Option<Cow<'a, str>>,
        count: u8,
    }

    #[test]
    fn strings_borrow_and_null_is_none() {
        check::<Borrowing>(
            r#"{"name": {"S": "a"}, "note": {"NULL": true}, "count": {"N": "255"}}"#,
            expect![[r#"Borrowing { name: "a", note: None, count: 255 }"#]],
        );
        check::<Borrowing>(
            r#"{"name": {"S": "a"}, "note": {"S": "n"}, "count": {"N": "256"}}"#,
            expect![[r#"error: at count: "256" does not fit exactly in u8 at line 1 column 62"#]],
        );
        check::<Borrowing>(
            r#"{"name": {"S": "a"}, "count": {"N": "1"}}"#,
            expect![[r#"Borrowing { name: "a", note: None, count: 1 }"#]],
        );
        check::<Borrowing>(
            r#"{"name": {"N": "1"}, "count": {"N": "1"}}"#,
            expect![[r#"Borrowing { name: "1", note: None, count: 1 }"#]],
        );
        check::<Borrowing>(
            r#"{"count": {"N": "1"}}"#,
            expect!["error: at (item): missing field `name` at line 1 column 21"],
        );
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    enum Color {
        Red,
        Green,
    }

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Mixed {
        color: Color,
        ratio: f32,
        exact: Number,
        raw: AttributeValue,
        nested: Item,
        blob: Vec<u8>,
        points: Vec<(i32, i32)>,
        flags: std::collections::BTreeSet<String>,
    }

    #[test]
    fn every_shape_of_user_type() {
        check::<Mixed>(
            r#"{"color": {"S": "Green"}, "ratio": {"N": "0.25"}, "exact": {"N": "1.50"},
                "raw": {"NS": ["1", "2"]}, "nested": {"M": {"a": {"BOOL": true}}},
                "blob": {"B": "AAE="}, "points": {"L": [{"L": [{"N": "1"}, {"N": "-2"}]}]},
                "flags": {"SS": ["x", "y"]}}"#,
            expect![[
                r#"Mixed { color: Green, ratio: 0.25, exact: Number(1.50), raw: Ns(NumberSet([Number(1), Number(2)])), nested: Item({"a": Bool(true)}), blob: [0, 1], points: [(1, -2)], flags: {"x", "y"} }"#
            ]],
        );
        check::<Mixed>(
            r#"{"color": {"S": "Blue"}}"#,
            expect![
                "error: at color: unknown variant `Blue`, expected `Red` or `Green` at line 1 column 23"
            ],
        );
        check::<Mixed>(
            r#"{"color": {"S": "Red"}, "ratio": {"N": "0.1000000001"}}"#,
            expect![[
                r#"error: at ratio: "0.1000000001" does not fit exactly in f32 at line 1 column 54"#
            ]],
        );
    }

    #[test]
    fn errors_name_the_path() {
        check::<std::collections::BTreeMap<String, Vec<std::collections::BTreeMap<String, u32>>>>(
            r#"{"a": {"L": [{"M": {"x": {"N": "1"}}}, {"M": {"x": {"N": "-1"}}}]}}"#,
            expect![[r#"error: at a[1].x: "-1" does not fit exactly in u32 at line 1 column 62"#]],
        );
        check::<serde_json::Value>(
            r#"{"a": {"SS": ["x", "x"]}}"#,
            expect![[r#"error: at a: SS set has a duplicate element "x" at line 1 column 24"#]],
        );
        check::<serde_json::Value>(
            r#"{"a": {"S": "x"}} trailing"#,
            expect!["error: at (item): trailing characters at line 1 column 19"],
        );
    }
}
