//! Evaluation of parsed expressions against items: conditions decide,
//! updates produce the new item, projections pick attributes. Items are
//! the awsJson maps of [`crate::attribute::Item`]; numbers go through the
//! exact [`Decimal`].

use super::number::Decimal;
use super::parser::{
    ATTRIBUTE_TYPES, Comparator, Condition, ExpressionKind, Operand, Path, PathElement, SetValue,
    UpdateActions, UpdateOperand, invalid_attribute_type,
};
use crate::attribute::Item;
use crate::error::ApiError;
use serde_json::{Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

/// The type tag and inner JSON of an attribute value.
fn typed(value: &Value) -> Option<(&str, &Value)> {
    value
        .as_object()
        .and_then(|object| object.iter().next())
        .map(|(kind, inner)| (kind.as_str(), inner))
}

/// The value at `path` in `item`, if any.
pub fn resolve<'v>(item: &'v Item, path: &Path) -> Option<&'v Value> {
    let mut elements = path.0.iter();
    let mut current = match elements.next() {
        Some(PathElement::Attribute(name)) => item.get(name)?,
        _ => return None,
    };
    for element in elements {
        current = match (element, typed(current)?) {
            (PathElement::Attribute(name), ("M", Value::Object(map))) => map.get(name)?,
            (PathElement::Index(index), ("L", Value::Array(list))) => list.get(*index)?,
            _ => return None,
        };
    }
    Some(current)
}

fn decode_base64(text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() / 4 * 3);
    let mut buffer = 0_u32;
    let mut bits = 0;
    for byte in text.bytes() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => continue,
        };
        buffer = (buffer << 6) | u32::from(sextet);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push(u8::try_from((buffer >> bits) & 0xff).unwrap_or(0));
        }
    }
    bytes
}

fn number(inner: &Value) -> Option<Decimal> {
    inner.as_str().and_then(|text| Decimal::parse(text).ok())
}

/// The order of two scalars of the same type (`S`, `N`, `B`), else `None`.
pub fn compare_scalars(left: &Value, right: &Value) -> Option<Ordering> {
    match (typed(left)?, typed(right)?) {
        (("S", Value::String(a)), ("S", Value::String(b))) => Some(a.as_bytes().cmp(b.as_bytes())),
        (("N", a), ("N", b)) => Some(number(a)?.cmp(&number(b)?)),
        (("B", Value::String(a)), ("B", Value::String(b))) => {
            Some(decode_base64(a).cmp(&decode_base64(b)))
        }
        _ => None,
    }
}

/// Whether two attribute values are equal as DynamoDB compares them
/// (numbers by value, sets regardless of order).
pub fn values_equal(left: &Value, right: &Value) -> bool {
    let (Some((left_kind, left_inner)), Some((right_kind, right_inner))) =
        (typed(left), typed(right))
    else {
        return false;
    };
    if left_kind != right_kind {
        return false;
    }
    match (left_kind, left_inner, right_inner) {
        ("N", a, b) => number(a).is_some() && number(a) == number(b),
        ("B", Value::String(a), Value::String(b)) => decode_base64(a) == decode_base64(b),
        ("SS" | "BS" | "NS", Value::Array(a), Value::Array(b)) => {
            a.len() == b.len()
                && a.iter().all(|member| {
                    b.iter()
                        .any(|other| set_members_equal(left_kind, member, other))
                })
        }
        ("L", Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_equal(x, y))
        }
        ("M", Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, x)| b.get(key).is_some_and(|y| values_equal(x, y)))
        }
        (_, a, b) => a == b,
    }
}

fn set_members_equal(kind: &str, a: &Value, b: &Value) -> bool {
    match (kind, a.as_str(), b.as_str()) {
        ("NS", Some(x), Some(y)) => {
            Decimal::parse(x).ok().is_some() && Decimal::parse(x).ok() == Decimal::parse(y).ok()
        }
        ("BS", Some(x), Some(y)) => decode_base64(x) == decode_base64(y),
        (_, Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn operand_value(item: &Item, operand: &Operand) -> Option<Value> {
    match operand {
        Operand::Path(path) => resolve(item, path).cloned(),
        Operand::Value(value) => Some(value.clone()),
        Operand::Size(path) => {
            let size = match typed(resolve(item, path)?)? {
                ("S", Value::String(text)) => text.chars().count(),
                ("B", Value::String(text)) => decode_base64(text).len(),
                ("SS" | "NS" | "BS" | "L", Value::Array(members)) => members.len(),
                ("M", Value::Object(map)) => map.len(),
                _ => return None,
            };
            Some(serde_json::json!({ "N": size.to_string() }))
        }
    }
}

/// Whether `item` (absent: an empty item) satisfies `condition`.
pub fn evaluate(item: &Item, condition: &Condition) -> Result<bool, ApiError> {
    Ok(match condition {
        Condition::Compare(left, comparator, right) => {
            let (left, right) = (operand_value(item, left), operand_value(item, right));
            match (comparator, left, right) {
                (Comparator::Equal, Some(a), Some(b)) => values_equal(&a, &b),
                (Comparator::NotEqual, Some(a), Some(b)) => !values_equal(&a, &b),
                (Comparator::NotEqual, _, _) => true,
                (_, Some(a), Some(b)) => {
                    compare_scalars(&a, &b).is_some_and(|order| match comparator {
                        Comparator::Less => order == Ordering::Less,
                        Comparator::LessOrEqual => order != Ordering::Greater,
                        Comparator::Greater => order == Ordering::Greater,
                        Comparator::GreaterOrEqual => order != Ordering::Less,
                        Comparator::Equal | Comparator::NotEqual => false,
                    })
                }
                _ => false,
            }
        }
        Condition::Between(value, low, high) => {
            match (
                operand_value(item, value),
                operand_value(item, low),
                operand_value(item, high),
            ) {
                // Literal bounds in the wrong order were refused while parsing.
                (Some(value), Some(low), Some(high)) => {
                    compare_scalars(&value, &low).is_some_and(|o| o != Ordering::Less)
                        && compare_scalars(&value, &high).is_some_and(|o| o != Ordering::Greater)
                }
                _ => false,
            }
        }
        Condition::In(value, candidates) => match operand_value(item, value) {
            Some(value) => candidates.iter().any(|candidate| {
                operand_value(item, candidate).is_some_and(|c| values_equal(&value, &c))
            }),
            None => false,
        },
        Condition::And(left, right) => evaluate(item, left)? && evaluate(item, right)?,
        Condition::Or(left, right) => evaluate(item, left)? || evaluate(item, right)?,
        Condition::Not(inner) => !evaluate(item, inner)?,
        Condition::AttributeExists(path) => resolve(item, path).is_some(),
        Condition::AttributeNotExists(path) => resolve(item, path).is_none(),
        Condition::AttributeType(path, kind) => {
            // Literal names were checked while parsing; a name read from the
            // item is checked here.
            let wanted = match operand_value(item, kind).as_ref().and_then(typed) {
                Some(("S", Value::String(kind))) if ATTRIBUTE_TYPES.contains(&kind.as_str()) => {
                    kind.clone()
                }
                Some((_, inner)) => {
                    return Err(invalid_attribute_type(
                        ExpressionKind::Condition,
                        inner.as_str().unwrap_or(""),
                    ));
                }
                None => return Ok(false),
            };
            resolve(item, path)
                .and_then(typed)
                .is_some_and(|(actual, _)| actual == wanted)
        }
        Condition::BeginsWith(value, prefix) => {
            match (
                operand_value(item, value).as_ref().and_then(typed),
                operand_value(item, prefix).as_ref().and_then(typed),
            ) {
                (Some(("S", Value::String(text))), Some(("S", Value::String(prefix)))) => {
                    text.starts_with(prefix.as_str())
                }
                (Some(("B", Value::String(bytes))), Some(("B", Value::String(prefix)))) => {
                    decode_base64(bytes).starts_with(&decode_base64(prefix))
                }
                _ => false,
            }
        }
        Condition::Contains(container, member) => {
            let (Some(container), Some(member)) =
                (operand_value(item, container), operand_value(item, member))
            else {
                return Ok(false);
            };
            match (typed(&container), typed(&member)) {
                (Some(("S", Value::String(text))), Some(("S", Value::String(part)))) => {
                    text.contains(part.as_str())
                }
                (Some(("B", Value::String(bytes))), Some(("B", Value::String(part)))) => {
                    let (bytes, part) = (decode_base64(bytes), decode_base64(part));
                    part.is_empty() || bytes.windows(part.len()).any(|w| w == part.as_slice())
                }
                (
                    Some((set @ ("SS" | "NS" | "BS"), Value::Array(members))),
                    Some((kind, inner)),
                ) if set.get(..1) == Some(kind) => {
                    members.iter().any(|m| set_members_equal(set, m, inner))
                }
                (Some(("L", Value::Array(members))), Some(_)) => {
                    members.iter().any(|m| values_equal(m, &member))
                }
                _ => false,
            }
        }
    })
}

fn incorrect_type() -> ApiError {
    ApiError::validation("An operand in the update expression has an incorrect data type")
}

fn missing_attribute() -> ApiError {
    ApiError::validation(
        "The provided expression refers to an attribute that does not exist in the item",
    )
}

fn invalid_path() -> ApiError {
    ApiError::validation(
        "The document path provided in the update expression is invalid for update",
    )
}

fn update_operand(item: &Item, operand: &UpdateOperand) -> Result<Value, ApiError> {
    match operand {
        UpdateOperand::Path(path) => resolve(item, path).cloned().ok_or_else(missing_attribute),
        UpdateOperand::Value(value) => Ok(value.clone()),
        UpdateOperand::IfNotExists(path, fallback) => match resolve(item, path) {
            Some(value) => Ok(value.clone()),
            None => update_operand(item, fallback),
        },
        UpdateOperand::ListAppend(first, second) => {
            let (first, second) = (update_operand(item, first)?, update_operand(item, second)?);
            match (typed(&first), typed(&second)) {
                (Some(("L", Value::Array(a))), Some(("L", Value::Array(b)))) => {
                    let joined: Vec<Value> = a.iter().chain(b).cloned().collect();
                    Ok(serde_json::json!({ "L": joined }))
                }
                _ => Err(incorrect_type()),
            }
        }
    }
}

fn arithmetic(left: &Value, right: &Value, plus: bool) -> Result<Value, ApiError> {
    let (Some(("N", a)), Some(("N", b))) = (typed(left), typed(right)) else {
        return Err(incorrect_type());
    };
    let (a, b) = (
        number(a).ok_or_else(incorrect_type)?,
        number(b).ok_or_else(incorrect_type)?,
    );
    let result = if plus {
        a.checked_add(b)?
    } else {
        a.subtract(b)?
    };
    Ok(serde_json::json!({ "N": result.to_text() }))
}

/// Writes `value` at `path`, creating nothing but the last step.
fn write_path(item: &mut Item, path: &Path, value: Value) -> Result<(), ApiError> {
    let Some((last, parents)) = path.0.split_last() else {
        return Err(invalid_path());
    };
    let mut elements = parents.iter();
    let container: &mut Value = match elements.next() {
        None => {
            let PathElement::Attribute(name) = last else {
                return Err(invalid_path());
            };
            item.insert(name.clone(), value);
            return Ok(());
        }
        Some(PathElement::Attribute(name)) => item.get_mut(name).ok_or_else(invalid_path)?,
        Some(PathElement::Index(_)) => return Err(invalid_path()),
    };
    let mut container = container;
    for element in elements {
        container = step_mut(container, element).ok_or_else(invalid_path)?;
    }
    match (
        last,
        container.as_object_mut().and_then(|o| o.iter_mut().next()),
    ) {
        (PathElement::Attribute(name), Some((kind, Value::Object(map)))) if kind == "M" => {
            map.insert(name.clone(), value);
            Ok(())
        }
        (PathElement::Index(index), Some((kind, Value::Array(list)))) if kind == "L" => {
            match list.get_mut(*index) {
                Some(slot) => *slot = value,
                None => list.push(value),
            }
            Ok(())
        }
        _ => Err(invalid_path()),
    }
}

fn step_mut<'v>(value: &'v mut Value, element: &PathElement) -> Option<&'v mut Value> {
    let (kind, inner) = value.as_object_mut()?.iter_mut().next()?;
    match (kind.as_str(), inner, element) {
        ("M", Value::Object(map), PathElement::Attribute(name)) => map.get_mut(name),
        ("L", Value::Array(list), PathElement::Index(index)) => list.get_mut(*index),
        _ => None,
    }
}

fn remove_path(item: &mut Item, path: &Path) -> Result<(), ApiError> {
    let Some((last, parents)) = path.0.split_last() else {
        return Ok(());
    };
    if parents.is_empty() {
        if let PathElement::Attribute(name) = last {
            item.remove(name);
        }
        return Ok(());
    }
    let mut elements = parents.iter();
    let mut container = match elements.next() {
        Some(PathElement::Attribute(name)) => match item.get_mut(name) {
            Some(value) => value,
            None => return Ok(()),
        },
        _ => return Err(invalid_path()),
    };
    for element in elements {
        container = match step_mut(container, element) {
            Some(value) => value,
            None => return Ok(()),
        };
    }
    match (
        last,
        container.as_object_mut().and_then(|o| o.iter_mut().next()),
    ) {
        (PathElement::Attribute(name), Some((kind, Value::Object(map)))) if kind == "M" => {
            map.remove(name);
            Ok(())
        }
        (PathElement::Index(index), Some((kind, Value::Array(list)))) if kind == "L" => {
            if *index < list.len() {
                list.remove(*index);
            }
            Ok(())
        }
        _ => Err(invalid_path()),
    }
}

fn operand_type_error(operator: &str, value: &Value) -> ApiError {
    let kind = match typed(value).map(|(kind, _)| kind) {
        Some("S") => "STRING",
        Some("N") => "NUMBER",
        Some("B") => "BINARY",
        Some("BOOL") => "BOOLEAN",
        Some("NULL") => "NULL",
        Some("L") => "LIST",
        Some("M") => "MAP",
        _ => "SET",
    };
    ApiError::validation(format!(
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: {operator}, operand type: {kind}"
    ))
}

fn set_union(existing: &Value, addition: &Value, kind: &str) -> Result<Value, ApiError> {
    let (Some((existing_kind, Value::Array(members))), Some((_, Value::Array(added)))) =
        (typed(existing), typed(addition))
    else {
        return Err(incorrect_type());
    };
    if existing_kind != kind {
        return Err(incorrect_type());
    }
    let mut union = members.clone();
    for member in added {
        if !union.iter().any(|m| set_members_equal(kind, m, member)) {
            union.push(member.clone());
        }
    }
    Ok(Value::Object(Map::from_iter([(
        kind.to_owned(),
        Value::Array(union),
    )])))
}

/// The item after applying `actions` to `old` (all right-hand sides read
/// the item as it was before the update, as DynamoDB does).
pub fn apply_update(old: &Item, actions: &UpdateActions) -> Result<Item, ApiError> {
    let mut new = old.clone();
    for (path, value) in &actions.set {
        let value = match value {
            SetValue::Operand(operand) => update_operand(old, operand)?,
            SetValue::Plus(a, b) => {
                arithmetic(&update_operand(old, a)?, &update_operand(old, b)?, true)?
            }
            SetValue::Minus(a, b) => {
                arithmetic(&update_operand(old, a)?, &update_operand(old, b)?, false)?
            }
        };
        write_path(&mut new, path, value)?;
    }
    let mut removals: Vec<&Path> = actions.remove.iter().collect();
    // Later list indexes first, so that earlier ones still name the element they named.
    removals.sort_by(|a, b| b.0.cmp(&a.0));
    for path in removals {
        remove_path(&mut new, path)?;
    }
    for (path, addition) in &actions.add {
        let kind = typed(addition).map(|(kind, _)| kind).unwrap_or("");
        let value = match (kind, resolve(&new, path)) {
            ("N" | "SS" | "NS" | "BS", None) => addition.clone(),
            ("N", Some(existing)) => arithmetic(existing, addition, true)?,
            ("SS" | "NS" | "BS", Some(existing)) => set_union(existing, addition, kind)?,
            _ => return Err(operand_type_error("ADD", addition)),
        };
        write_path(&mut new, path, value)?;
    }
    for (path, removal) in &actions.delete {
        let Some((kind @ ("SS" | "NS" | "BS"), Value::Array(removed))) = typed(removal) else {
            return Err(operand_type_error("DELETE", removal));
        };
        let Some(existing) = resolve(&new, path) else {
            continue;
        };
        let Some((existing_kind, Value::Array(members))) = typed(existing) else {
            return Err(incorrect_type());
        };
        if existing_kind != kind {
            return Err(incorrect_type());
        }
        let remaining: Vec<Value> = members
            .iter()
            .filter(|m| !removed.iter().any(|r| set_members_equal(kind, m, r)))
            .cloned()
            .collect();
        if remaining.is_empty() {
            remove_path(&mut new, path)?;
        } else {
            let value = Value::Object(Map::from_iter([(kind.to_owned(), Value::Array(remaining))]));
            write_path(&mut new, path, value)?;
        }
    }
    Ok(new)
}

enum Projected {
    Whole(Value),
    Map(BTreeMap<String, Projected>),
    List(BTreeMap<usize, Projected>),
}

impl Projected {
    fn insert(&mut self, source: &Value, rest: &[PathElement]) {
        let Some((first, tail)) = rest.split_first() else {
            *self = Self::Whole(source.clone());
            return;
        };
        let child = match (typed(source), first) {
            (Some(("M", Value::Object(map))), PathElement::Attribute(name)) => map.get(name),
            (Some(("L", Value::Array(list))), PathElement::Index(index)) => list.get(*index),
            _ => None,
        };
        let Some(child) = child else {
            return;
        };
        match (self, first) {
            (Self::Whole(_), _) => {}
            (Self::Map(children), PathElement::Attribute(name)) => children
                .entry(name.clone())
                .or_insert_with(|| Self::empty_for(tail))
                .insert(child, tail),
            (Self::List(children), PathElement::Index(index)) => children
                .entry(*index)
                .or_insert_with(|| Self::empty_for(tail))
                .insert(child, tail),
            _ => {}
        }
    }

    fn empty_for(rest: &[PathElement]) -> Self {
        match rest.first() {
            Some(PathElement::Index(_)) => Self::List(BTreeMap::new()),
            _ => Self::Map(BTreeMap::new()),
        }
    }

    fn render(self) -> Value {
        match self {
            Self::Whole(value) => value,
            Self::Map(children) => serde_json::json!({ "M": children
                .into_iter()
                .map(|(name, child)| (name, child.render()))
                .collect::<Map<String, Value>>() }),
            Self::List(children) => serde_json::json!({ "L": children
                .into_values()
                .map(Self::render)
                .collect::<Vec<_>>() }),
        }
    }
}

/// The parts of `item` that `paths` name (nested parts keep their nesting;
/// list elements keep their order).
pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut tops: BTreeMap<String, Projected> = BTreeMap::new();
    for path in paths {
        let Some((PathElement::Attribute(name), rest)) = path.0.split_first() else {
            continue;
        };
        // A path that does not resolve projects nothing: checked up front so
        // that no empty map or list is left where it led.
        let (Some(source), Some(_)) = (item.get(name), resolve(item, path)) else {
            continue;
        };
        tops.entry(name.clone())
            .or_insert_with(|| Projected::empty_for(rest))
            .insert(source, rest);
    }
    tops.into_iter()
        .filter_map(|(name, projected)| {
            let value = projected.render();
            let empty = typed(&value).is_some_and(|(kind, inner)| {
                (kind == "M" && inner.as_object().is_some_and(Map::is_empty))
                    || (kind == "L" && inner.as_array().is_some_and(Vec::is_empty))
            });
            (!empty || item.get(&name) == Some(&value)).then_some((name, value))
        })
        .collect()
}
