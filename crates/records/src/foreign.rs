//! What the conversions from other crates' types share (`sdk.rs` from
//! aws-sdk-dynamodbstreams, `lambda_events.rs` from aws_lambda_events):
//! both crates model an attribute value as an enum with the same ten
//! variants, so the walk over maps, lists and number sets, and the paths
//! their errors carry, are written once here, generic over the foreign value.

use std::collections::HashMap;

use crate::de::{AttributePath, ImageError, PathSegment};
use crate::number::Number;
use crate::value::{AttributeValue, Item, NumberSet};

/// Converts one foreign attribute value.
pub(crate) type ValueFrom<V> = fn(V) -> Result<AttributeValue, ImageError>;

/// An error about the value itself (its path is filled in on the way out).
pub(crate) fn invalid(message: impl ToString) -> ImageError {
    ImageError {
        path: AttributePath::default(),
        message: message.to_string(),
    }
}

/// Converts a foreign map of attributes; an error names the attribute.
pub(crate) fn item_from<V>(
    map: HashMap<String, V>,
    value_from: ValueFrom<V>,
) -> Result<Item, ImageError> {
    let mut item = Item::new();
    for (name, value) in map {
        match value_from(value) {
            Ok(v) => {
                item.insert(name, v);
            }
            Err(mut e) => {
                e.path.0.insert(0, PathSegment::Attribute(name));
                return Err(e);
            }
        }
    }
    Ok(item)
}

/// Converts a foreign list; an error names the element's index.
pub(crate) fn list_from<V>(
    list: Vec<V>,
    value_from: ValueFrom<V>,
) -> Result<AttributeValue, ImageError> {
    let mut out = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        out.push(value_from(v).map_err(|mut e| {
            e.path.0.insert(0, PathSegment::Index(i));
            e
        })?);
    }
    Ok(AttributeValue::L(out))
}

/// Converts the texts of a number set, each validated as a number.
pub(crate) fn number_set_from(texts: Vec<String>) -> Result<AttributeValue, ImageError> {
    let numbers = texts
        .into_iter()
        .map(Number::new)
        .collect::<Result<Vec<_>, _>>()
        .map_err(invalid)?;
    Ok(AttributeValue::Ns(
        NumberSet::new(numbers).map_err(invalid)?,
    ))
}
