//! The DynamoDB attribute value model: [`AttributeValue`], [`Item`] and the
//! three validated set types.
//!
//! Their serde form is DynamoDB JSON, the form the Lambda event and the
//! GetRecords wire response use: every value is wrapped in a one-key object
//! naming its type (`{"S": "text"}`, `{"N": "1.5"}`, `{"B": "base64"}`, ...).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::de::{
    BoolCapture, PathSegment, Tag, TagSeed, TextCapture, Trail, drain_map, drain_seq, recover,
};
use crate::number::Number;

/// One DynamoDB attribute value, of any of the ten types.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttributeValue {
    /// `S`: a string (may be empty outside keys).
    S(String),
    /// `N`: a number, as its exact text.
    N(Number),
    /// `B`: binary data (base64 in JSON).
    B(Vec<u8>),
    /// `BOOL`: a boolean.
    Bool(bool),
    /// `NULL`: the null value.
    Null,
    /// `M`: a map of attribute names to values.
    M(Item),
    /// `L`: a list of values of any types.
    L(Vec<AttributeValue>),
    /// `SS`: a set of strings.
    Ss(StringSet),
    /// `NS`: a set of numbers.
    Ns(NumberSet),
    /// `BS`: a set of binary values.
    Bs(BinarySet),
}

impl AttributeValue {
    /// The DynamoDB type descriptor: `S`, `N`, `B`, `BOOL`, `NULL`, `M`, `L`,
    /// `SS`, `NS` or `BS`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::S(_) => "S",
            Self::N(_) => "N",
            Self::B(_) => "B",
            Self::Bool(_) => "BOOL",
            Self::Null => "NULL",
            Self::M(_) => "M",
            Self::L(_) => "L",
            Self::Ss(_) => "SS",
            Self::Ns(_) => "NS",
            Self::Bs(_) => "BS",
        }
    }
    /// The string, if this is an `S`.
    pub fn as_s(&self) -> Option<&str> {
        match self {
            Self::S(s) => Some(s),
            _ => None,
        }
    }
    /// The number, if this is an `N`.
    pub fn as_n(&self) -> Option<&Number> {
        match self {
            Self::N(n) => Some(n),
            _ => None,
        }
    }
}

/// An item (or a key, or an `M` value): attribute names to values, in name
/// order so that printing is deterministic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Item(BTreeMap<String, AttributeValue>);

impl Item {
    /// An empty item.
    pub fn new() -> Self {
        Self::default()
    }
    /// The map itself.
    pub fn into_inner(self) -> BTreeMap<String, AttributeValue> {
        self.0
    }
}

impl Deref for Item {
    type Target = BTreeMap<String, AttributeValue>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Item {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<BTreeMap<String, AttributeValue>> for Item {
    fn from(map: BTreeMap<String, AttributeValue>) -> Self {
        Self(map)
    }
}

impl<K: Into<String>> FromIterator<(K, AttributeValue)> for Item {
    fn from_iter<T: IntoIterator<Item = (K, AttributeValue)>>(iter: T) -> Self {
        Self(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

/// Why a set is not a valid DynamoDB set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SetError {
    /// DynamoDB sets are never empty.
    #[error("a {kind} set must not be empty")]
    Empty {
        /// `SS`, `NS` or `BS`.
        kind: &'static str,
    },
    /// A value appears twice (numbers compare by value: `1` and `1.0` clash).
    #[error("{kind} set has a duplicate element {element}")]
    Duplicate {
        /// `SS`, `NS` or `BS`.
        kind: &'static str,
        /// The duplicate, as text (binary as base64).
        element: String,
    },
}

macro_rules! set_type {
    ($(#[$doc:meta])* $name:ident, $elem:ty, $kind:literal, $key:expr, $show:expr) => {
        $(#[$doc])*
        ///
        /// Two sets are equal when they hold the same elements, in any
        /// order (DynamoDB keeps no order in a set).
        #[derive(Debug, Clone)]
        pub struct $name(Vec<$elem>);

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                if self.0.len() != other.0.len() {
                    return false;
                }
                // The same elements in the same order, the usual case.
                if self.0 == other.0 {
                    return true;
                }
                // Neither set has a duplicate (by the same key), so with the
                // same length, every element of one being in the other makes
                // them equal.
                let mine: std::collections::HashSet<_> = self.0.iter().map($key).collect();
                other.0.iter().all(|element| mine.contains(&($key)(element)))
            }
        }

        impl Eq for $name {}

        impl $name {
            /// Validates the elements (non-empty, no duplicates), keeping
            /// their order.
            pub fn new(elements: Vec<$elem>) -> Result<Self, SetError> {
                if elements.is_empty() {
                    return Err(SetError::Empty { kind: $kind });
                }
                let mut seen = std::collections::HashSet::with_capacity(elements.len());
                for element in &elements {
                    if !seen.insert(($key)(element)) {
                        return Err(SetError::Duplicate {
                            kind: $kind,
                            element: ($show)(element),
                        });
                    }
                }
                Ok(Self(elements))
            }
            /// The elements, in the order received.
            pub fn as_slice(&self) -> &[$elem] {
                &self.0
            }
            /// The elements, in the order received.
            pub fn into_vec(self) -> Vec<$elem> {
                self.0
            }
        }

        impl TryFrom<Vec<$elem>> for $name {
            type Error = SetError;
            fn try_from(elements: Vec<$elem>) -> Result<Self, SetError> {
                Self::new(elements)
            }
        }
    };
}

set_type!(
    /// `SS`: a non-empty set of distinct strings.
    StringSet, String, "SS", |s: &String| s.clone(), |s: &String| format!("{s:?}")
);
set_type!(
    /// `NS`: a non-empty set of numbers, distinct by value; equality is by
    /// value too (`[1, 2]` equals `[2.0, 1]`), although two `N` values
    /// compare by text.
    NumberSet, Number, "NS", |n: &Number| number_key(n), |n: &Number| n.to_string()
);
set_type!(
    /// `BS`: a non-empty set of distinct binary values.
    BinarySet, Vec<u8>, "BS", |b: &Vec<u8>| b.clone(), |b: &Vec<u8>| crate::base64::encode(b)
);

/// A hashable value identity for a number: `1` and `1.0` give the same key.
fn number_key(n: &Number) -> (bool, String, i64) {
    let norm = n.normalized();
    let digits = n.to_decimal().mantissa.unsigned_abs().to_string();
    if norm.is_zero() {
        (false, String::new(), 0)
    } else {
        (norm.is_negative(), digits, norm.exponent())
    }
}

// ---------------------------------------------------------------------------
// Serialization: DynamoDB JSON.

impl Serialize for AttributeValue {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // The newtype name lets the item serializer recognise the value; JSON
        // serializers see through it.
        serializer.serialize_newtype_struct(crate::de::VALUE_TOKEN, &ValueJson(self))
    }
}

/// An attribute value in DynamoDB JSON.
struct ValueJson<'a>(&'a AttributeValue);

impl Serialize for ValueJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        let tag = self.0.type_name();
        match self.0 {
            AttributeValue::S(s) => map.serialize_entry(tag, s)?,
            AttributeValue::N(n) => map.serialize_entry(tag, n.as_str())?,
            AttributeValue::B(b) => map.serialize_entry(tag, &crate::base64::encode(b))?,
            AttributeValue::Bool(b) => map.serialize_entry(tag, b)?,
            AttributeValue::Null => map.serialize_entry(tag, &true)?,
            AttributeValue::M(m) => map.serialize_entry(tag, &ItemJson(m))?,
            AttributeValue::L(l) => map.serialize_entry(tag, &ListJson(l))?,
            AttributeValue::Ss(s) => map.serialize_entry(tag, s.as_slice())?,
            AttributeValue::Ns(s) => map.serialize_entry(tag, &NumberTexts(s.as_slice()))?,
            AttributeValue::Bs(s) => map.serialize_entry(tag, &Base64Texts(s.as_slice()))?,
        }
        map.end()
    }
}

struct ListJson<'a>(&'a [AttributeValue]);
impl Serialize for ListJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for v in self.0 {
            seq.serialize_element(&ValueJson(v))?;
        }
        seq.end()
    }
}

/// An item in DynamoDB JSON.
struct ItemJson<'a>(&'a Item);

impl Serialize for ItemJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.0.len()))?;
        for (k, v) in &self.0.0 {
            map.serialize_entry(k, &ValueJson(v))?;
        }
        map.end()
    }
}

struct NumberTexts<'a>(&'a [Number]);
impl Serialize for NumberTexts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for n in self.0 {
            seq.serialize_element(n.as_str())?;
        }
        seq.end()
    }
}

struct Base64Texts<'a>(&'a [Vec<u8>]);
impl Serialize for Base64Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for b in self.0 {
            seq.serialize_element(&crate::base64::encode(b))?;
        }
        seq.end()
    }
}

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_newtype_struct(crate::de::ITEM_TOKEN, &ItemJson(self))
    }
}

// ---------------------------------------------------------------------------
// Deserialization: DynamoDB JSON, tolerant of bad input (an error leaves the
// input positioned after the bad value, so a batch can go on to the next
// record), with the attribute path of a failure kept in a [`Trail`].

/// Reads an item in DynamoDB JSON, recording the path of a failure.
pub(crate) struct ItemSeed<'t> {
    pub(crate) trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item: an object of attribute names to DynamoDB JSON values")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        let mut item = BTreeMap::new();
        loop {
            let key = match recover(map.next_key_seed(TextCapture), &mut map, true)? {
                Some(key) => key,
                None => break,
            };
            let value = map.next_value_seed(ValueSeed { trail: self.trail });
            let value = match value {
                Ok(v) => v,
                Err(e) => {
                    self.trail.push(PathSegment::Attribute(key.into_owned()));
                    return Err(recover(Err(e), &mut map, false)?);
                }
            };
            item.insert(key.into_owned(), value);
        }
        Ok(Item(item))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

/// Reads one attribute value in DynamoDB JSON.
pub(crate) struct ValueSeed<'t> {
    pub(crate) trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = AttributeValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<AttributeValue, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = AttributeValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DynamoDB JSON value, an object with one type key such as {\"S\": \"text\"}")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AttributeValue, A::Error> {
        let tag = match recover(map.next_key_seed(TagSeed), &mut map, true)? {
            Some(tag) => tag,
            None => return Err(de::Error::custom("attribute value has no type key")),
        };
        let value = recover(self.value_of(tag, &mut map), &mut map, false)?;
        if recover(map.next_key::<de::IgnoredAny>(), &mut map, false)?.is_some() {
            drain_map(&mut map, true)?;
            return Err(de::Error::custom(
                "attribute value has more than one type key",
            ));
        }
        Ok(value)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<AttributeValue, A::Error> {
        drain_seq(&mut seq)?;
        Err(de::Error::invalid_type(de::Unexpected::Seq, &self))
    }
}

impl ValueSeed<'_> {
    fn value_of<'de, A: MapAccess<'de>>(
        &self,
        tag: Tag,
        map: &mut A,
    ) -> Result<AttributeValue, A::Error> {
        let trail = self.trail;
        Ok(match tag {
            Tag::S => AttributeValue::S(map.next_value_seed(TextCapture)?.into_owned()),
            Tag::N => {
                let text = map.next_value_seed(TextCapture)?;
                AttributeValue::N(Number::new(text.into_owned()).map_err(de::Error::custom)?)
            }
            Tag::B => {
                let text = map.next_value_seed(TextCapture)?;
                AttributeValue::B(crate::base64::decode(&text).map_err(de::Error::custom)?)
            }
            Tag::Bool => AttributeValue::Bool(map.next_value_seed(BoolCapture)?),
            Tag::Null => {
                if !map.next_value_seed(BoolCapture)? {
                    return Err(de::Error::custom("NULL must be true"));
                }
                AttributeValue::Null
            }
            Tag::M => AttributeValue::M(map.next_value_seed(ItemSeed { trail })?),
            Tag::L => AttributeValue::L(map.next_value_seed(ListSeed { trail })?),
            Tag::Ss => {
                let texts = map.next_value_seed(TextListSeed)?;
                let set = texts.into_iter().map(Cow::into_owned).collect();
                AttributeValue::Ss(StringSet::new(set).map_err(de::Error::custom)?)
            }
            Tag::Ns => {
                let texts = map.next_value_seed(TextListSeed)?;
                let numbers = texts
                    .into_iter()
                    .map(|t| Number::new(t.into_owned()))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(de::Error::custom)?;
                AttributeValue::Ns(NumberSet::new(numbers).map_err(de::Error::custom)?)
            }
            Tag::Bs => {
                let texts = map.next_value_seed(TextListSeed)?;
                let blobs = texts
                    .iter()
                    .map(|t| crate::base64::decode(t))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(de::Error::custom)?;
                AttributeValue::Bs(BinarySet::new(blobs).map_err(de::Error::custom)?)
            }
        })
    }
}

/// Reads an `L` value: a JSON array of DynamoDB JSON values.
struct ListSeed<'t> {
    trail: &'t Trail,
}

impl<'de> DeserializeSeed<'de> for ListSeed<'_> {
    type Value = Vec<AttributeValue>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ListSeed<'_> {
    type Value = Vec<AttributeValue>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of DynamoDB JSON values")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            match seq.next_element_seed(ValueSeed { trail: self.trail }) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => return Ok(out),
                Err(e) => {
                    self.trail.push(PathSegment::Index(out.len()));
                    drain_seq(&mut seq)?;
                    return Err(e);
                }
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

/// Reads an array of strings, borrowing them where the input allows.
pub(crate) struct TextListSeed;

impl<'de> DeserializeSeed<'de> for TextListSeed {
    type Value = Vec<Cow<'de, str>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TextListSeed {
    type Value = Vec<Cow<'de, str>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        loop {
            match seq.next_element_seed(TextCapture) {
                Ok(Some(v)) => out.push(v),
                Ok(None) => return Ok(out),
                Err(e) => {
                    drain_seq(&mut seq)?;
                    return Err(e);
                }
            }
        }
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        drain_map(&mut map, false)?;
        Err(de::Error::invalid_type(de::Unexpected::Map, &self))
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an item in DynamoDB JSON")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
                ItemSeed {
                    trail: &Trail::default(),
                }
                .deserialize(d)
            }
        }
        deserializer.deserialize_newtype_struct(crate::de::ITEM_TOKEN, ItemVisitor)
    }
}

impl<'de> Deserialize<'de> for AttributeValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ValueVisitor;
        impl<'de> Visitor<'de> for ValueVisitor {
            type Value = AttributeValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an attribute value in DynamoDB JSON")
            }
            fn visit_newtype_struct<D: Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<AttributeValue, D::Error> {
                ValueSeed {
                    trail: &Trail::default(),
                }
                .deserialize(d)
            }
        }
        deserializer.deserialize_newtype_struct(crate::de::VALUE_TOKEN, ValueVisitor)
    }
}

impl fmt::Display for AttributeValue {
    /// DynamoDB JSON, numbers as their exact text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

impl fmt::Display for Item {
    /// DynamoDB JSON, numbers as their exact text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_string(self) {
            Ok(s) => f.write_str(&s),
            Err(_) => Err(fmt::Error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(elements: &[&str]) -> StringSet {
        StringSet::new(elements.iter().map(|s| (*s).to_owned()).collect()).unwrap()
    }
    fn numbers(elements: &[&str]) -> NumberSet {
        NumberSet::new(elements.iter().map(|s| s.parse().unwrap()).collect()).unwrap()
    }
    fn blobs(elements: &[&[u8]]) -> BinarySet {
        BinarySet::new(elements.iter().map(|b| b.to_vec()).collect()).unwrap()
    }

    #[test]
    fn sets_are_equal_in_any_order() {
        assert_eq!(strings(&["a", "b"]), strings(&["b", "a"]));
        assert_eq!(blobs(&[b"\x00", b"\x01"]), blobs(&[b"\x01", b"\x00"]));
        assert_eq!(numbers(&["1", "2", "3"]), numbers(&["3", "1", "2"]));
        assert_eq!(
            AttributeValue::Ss(strings(&["x", "y"])),
            AttributeValue::Ss(strings(&["y", "x"]))
        );
        // The order received is kept all the same.
        assert_eq!(strings(&["b", "a"]).as_slice(), ["b", "a"]);
    }

    #[test]
    fn number_sets_are_equal_by_value() {
        assert_eq!(numbers(&["1"]), numbers(&["1.0"]));
        assert_eq!(numbers(&["1", "0.5", "-0"]), numbers(&["5E-1", "0", "1E0"]));
        assert_ne!(numbers(&["1"]), numbers(&["1.5"]));
        // A single number still compares by text.
        assert_ne!(
            AttributeValue::N("1".parse().unwrap()),
            AttributeValue::N("1.0".parse().unwrap())
        );
    }

    #[test]
    fn different_sets_are_not_equal() {
        assert_ne!(strings(&["a", "b"]), strings(&["a", "c"]));
        assert_ne!(strings(&["a", "b"]), strings(&["a"]));
        assert_ne!(strings(&["a"]), strings(&["a", "b"]));
        assert_ne!(numbers(&["1", "2"]), numbers(&["1", "3"]));
        assert_ne!(blobs(&[b"a", b"b"]), blobs(&[b"b", b"c"]));
        assert_ne!(
            AttributeValue::Ss(strings(&["1"])),
            AttributeValue::Ns(numbers(&["1"]))
        );
    }
}
