//! A serde Serializer from the user's types into an [`Item`], the inverse of
//! the deserializer: structs and maps become `M`, sequences `L`, strings `S`,
//! numbers `N` (exact text), booleans `BOOL`, `None` and unit `NULL`, byte
//! buffers (`serde_bytes`) `B`; [`Number`], [`Item`] and [`AttributeValue`]
//! fields keep their own type.

use std::collections::BTreeMap;

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::de::{AttributePath, ITEM_TOKEN, NUMBER_TOKEN, PathSegment, VALUE_TOKEN};
use crate::number::{Number, NumberError};
use crate::value::{AttributeValue, Item};

/// Why a value could not become an item: what is wrong, and where in the
/// item (`pages`, `address.lines[1]`; `(item)` for the value itself).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("at {path}: {problem}")]
pub struct SerializeError {
    /// Where in the item the value at fault is.
    pub path: AttributePath,
    /// What is wrong with it.
    pub problem: SerializeProblem,
}

impl SerializeError {
    /// The same error one level further out: `segment` is where the value
    /// at fault sits in its parent.
    fn at(mut self, segment: PathSegment) -> Self {
        self.path.0.insert(0, segment);
        self
    }
}

impl From<SerializeProblem> for SerializeError {
    fn from(problem: SerializeProblem) -> Self {
        Self {
            path: AttributePath::default(),
            problem,
        }
    }
}

impl From<NumberError> for SerializeError {
    fn from(e: NumberError) -> Self {
        SerializeProblem::Number(e).into()
    }
}

/// What is wrong with a value that could not become part of an item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SerializeProblem {
    /// The top-level value is not a struct or map.
    #[error("an item must be a struct or a map, found {found}")]
    NotAnItem {
        /// What was found, as a DynamoDB type name.
        found: &'static str,
    },
    /// A map key is not a string.
    #[error("map keys must be strings")]
    KeyNotAString,
    /// A number DynamoDB cannot hold (NaN, infinity, more than 38 digits).
    #[error(transparent)]
    Number(NumberError),
    /// Any other error raised by a `Serialize` implementation.
    #[error("{0}")]
    Custom(String),
}

impl ser::Error for SerializeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        SerializeProblem::Custom(msg.to_string()).into()
    }
}

/// Serializes `value` into an [`Item`]; an error names the attribute path of
/// the value at fault.
///
/// ```
/// use streamgate_records::{AttributeValue, to_item};
/// #[derive(serde::Serialize)]
/// struct Doc { id: &'static str, pages: u64, draft: Option<bool> }
/// let item = to_item(&Doc { id: "d1", pages: 3, draft: None })?;
/// assert_eq!(item.to_string(), r#"{"draft":{"NULL":true},"id":{"S":"d1"},"pages":{"N":"3"}}"#);
/// # Ok::<(), streamgate_records::SerializeError>(())
/// ```
///
/// ```
/// use streamgate_records::to_item;
/// #[derive(serde::Serialize)]
/// struct Reading { values: Vec<f64> }
/// let err = to_item(&Reading { values: vec![1.0, f64::NAN] }).unwrap_err();
/// assert_eq!(err.path.to_string(), "values[1]");
/// assert_eq!(err.to_string(), r#"at values[1]: "NaN" is not a number: it is not finite"#);
/// ```
pub fn to_item<T: Serialize + ?Sized>(value: &T) -> Result<Item, SerializeError> {
    match value.serialize(ValueSerializer)? {
        AttributeValue::M(item) => Ok(item),
        other => Err(SerializeProblem::NotAnItem {
            found: other.type_name(),
        }
        .into()),
    }
}

/// Serializes `value` into one [`AttributeValue`].
pub fn to_attribute_value<T: Serialize + ?Sized>(
    value: &T,
) -> Result<AttributeValue, SerializeError> {
    value.serialize(ValueSerializer)
}

struct ValueSerializer;

fn number(text: String) -> Result<AttributeValue, SerializeError> {
    Ok(AttributeValue::N(Number::new(text)?))
}

/// Serializer methods for integers that always fit a DynamoDB number.
macro_rules! integers_as_numbers {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<AttributeValue, SerializeError> {
            Ok(AttributeValue::N(v.into()))
        }
    )*};
}

/// Key serializer methods for values that cannot name an attribute.
macro_rules! refuse_as_keys {
    ($($method:ident($ty:ty)),* $(,)?) => {$(
        fn $method(self, _: $ty) -> Result<String, SerializeError> {
            Err(SerializeProblem::KeyNotAString.into())
        }
    )*};
}

impl ser::Serializer for ValueSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    type SerializeSeq = ListSerializer;
    type SerializeTuple = ListSerializer;
    type SerializeTupleStruct = ListSerializer;
    type SerializeTupleVariant = VariantSerializer<ListSerializer>;
    type SerializeMap = MapSerializer;
    type SerializeStruct = MapSerializer;
    type SerializeStructVariant = VariantSerializer<MapSerializer>;

    fn serialize_bool(self, v: bool) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::Bool(v))
    }
    integers_as_numbers! {
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
    }
    fn serialize_i128(self, v: i128) -> Result<AttributeValue, SerializeError> {
        number(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<AttributeValue, SerializeError> {
        number(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<AttributeValue, SerializeError> {
        if !v.is_finite() {
            return Err(NumberError::Syntax {
                text: v.to_string(),
                reason: "it is not finite",
            }
            .into());
        }
        let plain = v.to_string();
        let exp = format!("{v:e}");
        number(if plain.len() <= exp.len() { plain } else { exp })
    }
    fn serialize_f64(self, v: f64) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::N(Number::try_from(v)?))
    }
    fn serialize_char(self, v: char) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::S(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::S(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::B(v.to_vec()))
    }
    fn serialize_none(self) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(
        self,
        v: &T,
    ) -> Result<AttributeValue, SerializeError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::S(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        v: &T,
    ) -> Result<AttributeValue, SerializeError> {
        match name {
            NUMBER_TOKEN => match v.serialize(self)? {
                AttributeValue::S(text) => number(text),
                other => Ok(other),
            },
            // Our own types serialize as DynamoDB JSON; read it back as such.
            ITEM_TOKEN | VALUE_TOKEN => {
                let json = serde_json::to_string(v)
                    .map_err(|e| SerializeProblem::Custom(e.to_string()))?;
                if name == ITEM_TOKEN {
                    let item: Item = serde_json::from_str(&json)
                        .map_err(|e| SerializeProblem::Custom(e.to_string()))?;
                    Ok(AttributeValue::M(item))
                } else {
                    let value: AttributeValue = serde_json::from_str(&json)
                        .map_err(|e| SerializeProblem::Custom(e.to_string()))?;
                    Ok(value)
                }
            }
            _ => v.serialize(self),
        }
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        v: &T,
    ) -> Result<AttributeValue, SerializeError> {
        let inner = v
            .serialize(self)
            .map_err(|e| e.at(PathSegment::Attribute(variant.to_owned())))?;
        Ok(AttributeValue::M([(variant, inner)].into_iter().collect()))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ListSerializer, SerializeError> {
        Ok(ListSerializer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<ListSerializer, SerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<ListSerializer, SerializeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<VariantSerializer<ListSerializer>, SerializeError> {
        Ok(VariantSerializer {
            variant,
            inner: ListSerializer(Vec::with_capacity(len)),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSerializer, SerializeError> {
        Ok(MapSerializer::default())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSerializer, SerializeError> {
        Ok(MapSerializer::default())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<VariantSerializer<MapSerializer>, SerializeError> {
        Ok(VariantSerializer {
            variant,
            inner: MapSerializer::default(),
        })
    }
}

struct ListSerializer(Vec<AttributeValue>);

impl ser::SerializeSeq for ListSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerializeError> {
        let index = self.0.len();
        let value = v
            .serialize(ValueSerializer)
            .map_err(|e| e.at(PathSegment::Index(index)))?;
        self.0.push(value);
        Ok(())
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::L(self.0))
    }
}

impl ser::SerializeTuple for ListSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for ListSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        ser::SerializeSeq::end(self)
    }
}

#[derive(Default)]
struct MapSerializer {
    entries: BTreeMap<String, AttributeValue>,
    key: Option<String>,
}

impl ser::SerializeMap for MapSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), SerializeError> {
        self.key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerializeError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| SerializeProblem::Custom("map value without a key".to_owned()))?;
        match v.serialize(ValueSerializer) {
            Ok(value) => {
                self.entries.insert(key, value);
                Ok(())
            }
            Err(e) => Err(e.at(PathSegment::Attribute(key))),
        }
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        Ok(AttributeValue::M(Item::from(self.entries)))
    }
}

impl ser::SerializeStruct for MapSerializer {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerializeError> {
        let value = v
            .serialize(ValueSerializer)
            .map_err(|e| e.at(PathSegment::Attribute(key.to_owned())))?;
        self.entries.insert(key.to_owned(), value);
        Ok(())
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        ser::SerializeMap::end(self)
    }
}

/// An enum variant with content: `{"Variant": content}` as an `M`.
struct VariantSerializer<S> {
    variant: &'static str,
    inner: S,
}

impl ser::SerializeTupleVariant for VariantSerializer<ListSerializer> {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), SerializeError> {
        ser::SerializeSeq::serialize_element(&mut self.inner, v)
            .map_err(|e| e.at(PathSegment::Attribute(self.variant.to_owned())))
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        let inner = ser::SerializeSeq::end(self.inner)?;
        Ok(AttributeValue::M(
            [(self.variant, inner)].into_iter().collect(),
        ))
    }
}

impl ser::SerializeStructVariant for VariantSerializer<MapSerializer> {
    type Ok = AttributeValue;
    type Error = SerializeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        v: &T,
    ) -> Result<(), SerializeError> {
        ser::SerializeStruct::serialize_field(&mut self.inner, key, v)
            .map_err(|e| e.at(PathSegment::Attribute(self.variant.to_owned())))
    }
    fn end(self) -> Result<AttributeValue, SerializeError> {
        let inner = ser::SerializeMap::end(self.inner)?;
        Ok(AttributeValue::M(
            [(self.variant, inner)].into_iter().collect(),
        ))
    }
}

/// Map keys: strings, chars and unit variants only.
struct KeySerializer;

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = SerializeError;
    type SerializeSeq = Impossible<String, SerializeError>;
    type SerializeTuple = Impossible<String, SerializeError>;
    type SerializeTupleStruct = Impossible<String, SerializeError>;
    type SerializeTupleVariant = Impossible<String, SerializeError>;
    type SerializeMap = Impossible<String, SerializeError>;
    type SerializeStruct = Impossible<String, SerializeError>;
    type SerializeStructVariant = Impossible<String, SerializeError>;

    fn serialize_str(self, v: &str) -> Result<String, SerializeError> {
        Ok(v.to_owned())
    }
    fn serialize_char(self, v: char) -> Result<String, SerializeError> {
        Ok(v.to_string())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, SerializeError> {
        Ok(variant.to_owned())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &T,
    ) -> Result<String, SerializeError> {
        v.serialize(self)
    }
    refuse_as_keys! {
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_bytes(&[u8]),
    }
    fn serialize_none(self) -> Result<String, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<String, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_unit(self) -> Result<String, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<String, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<String, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, SerializeError> {
        Err(SerializeProblem::KeyNotAString.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};
    use std::collections::BTreeMap;

    /// Serializes `value` into an item and shows the item or the error.
    fn check<T: Serialize>(value: &T, expected: Expect) {
        let shown = match to_item(value) {
            Ok(item) => item.to_string(),
            Err(e) => format!("error: {e}"),
        };
        expected.assert_eq(&shown);
    }

    /// A value whose own `Serialize` fails, as a user's type may.
    struct Refuses;
    impl Serialize for Refuses {
        fn serialize<S: ser::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
            Err(ser::Error::custom("refused by the user's type"))
        }
    }

    #[derive(Serialize)]
    enum Shape {
        Tuple(u8, f32),
        Struct { side: f64 },
        Newtype(Vec<f64>),
    }

    #[test]
    fn errors_name_the_attribute_path() {
        #[derive(Serialize)]
        struct Line {
            values: Vec<f64>,
        }
        #[derive(Serialize)]
        struct Doc {
            id: &'static str,
            lines: Vec<Line>,
        }
        check(
            &Doc {
                id: "d",
                lines: vec![
                    Line { values: vec![1.5] },
                    Line {
                        values: vec![2.0, f64::INFINITY],
                    },
                ],
            },
            expect![[r#"error: at lines[1].values[1]: "inf" is not a number: it is not finite"#]],
        );
        let mut by_key = BTreeMap::new();
        by_key.insert("fine", vec![Some(1u128)]);
        by_key.insert("too big", vec![None, Some(u128::MAX)]);
        check(
            &by_key,
            expect![[
                r#"error: at too big[1]: "340282366920938463463374607431768211455" has 39 significant digits, DynamoDB allows at most 38"#
            ]],
        );
        let mut bad_keys = BTreeMap::new();
        bad_keys.insert("m", BTreeMap::from([(1u8, "one")]));
        check(
            &bad_keys,
            expect![[r#"error: at m: map keys must be strings"#]],
        );
        check(
            &BTreeMap::from([("deep", vec![vec![Refuses]])]),
            expect![[r#"error: at deep[0][0]: refused by the user's type"#]],
        );
        check(
            &"just a string",
            expect![[r#"error: at (item): an item must be a struct or a map, found S"#]],
        );
    }

    #[test]
    fn enum_variants_are_path_segments() {
        check(
            &BTreeMap::from([("shape", Shape::Tuple(1, f32::NAN))]),
            expect![[r#"error: at shape.Tuple[1]: "NaN" is not a number: it is not finite"#]],
        );
        check(
            &BTreeMap::from([(
                "shape",
                Shape::Struct {
                    side: f64::NEG_INFINITY,
                },
            )]),
            expect![[r#"error: at shape.Struct.side: "-inf" is not a number: it is not finite"#]],
        );
        check(
            &BTreeMap::from([("shape", Shape::Newtype(vec![f64::NAN]))]),
            expect![[r#"error: at shape.Newtype[0]: "NaN" is not a number: it is not finite"#]],
        );
        check(
            &BTreeMap::from([("shape", Shape::Struct { side: 2.5 })]),
            expect![[r#"{"shape":{"M":{"Struct":{"M":{"side":{"N":"2.5"}}}}}}"#]],
        );
    }

    #[test]
    fn problems_stay_matchable() {
        let err = to_item(&BTreeMap::from([("n", f64::NAN)])).unwrap_err();
        assert!(matches!(err.problem, SerializeProblem::Number(_)));
        assert_eq!(err.path.to_string(), "n");
        let err = to_attribute_value(&vec![Refuses]).unwrap_err();
        assert_eq!(
            err.problem,
            SerializeProblem::Custom("refused by the user's type".to_owned())
        );
        assert_eq!(err.path.to_string(), "[0]");
    }
}
