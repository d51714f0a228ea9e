//! DynamoDB's item operations with expressions: PutItem, GetItem,
//! DeleteItem and UpdateItem with conditions, projections and every
//! ReturnValues; Query and Scan of the table or of a secondary index with
//! pagination (Limit and the 1 MB page), Select and parallel scan
//! segments. Each write appends exactly the stream record DynamoDB
//! would: none when nothing changed, MODIFY with both images, REMOVE only
//! when an item existed.
//!
//! The legacy parameters (`Expected`, `AttributeUpdates`, `KeyConditions`,
//! `QueryFilter`, `ScanFilter`, `AttributesToGet`, `ConditionalOperator`)
//! are translated by [`crate::legacy`] into the same syntax trees.

use crate::attribute::{self, Item, MAX_ITEM_BYTES};
use crate::dynamodb::{
    KeyAttribute, Table, authorized_table, canonical_part, record_change, required,
};
use crate::error::{ApiError, ErrorCode};
use crate::expression::parser::{Comparator, Operand};
use crate::expression::{
    Condition, ExpressionKind, Path, Placeholders, UpdateActions, apply_update, evaluate,
    evaluate::compare_scalars, parse_condition, parse_projection, parse_update, project,
};
use crate::identity::Caller;
use crate::indexes::{self, Projection, SecondaryIndex};
use crate::legacy;
use crate::state::{Cloud, lock};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::ops::Bound;

/// The members of PutItem, GetItem, DeleteItem and UpdateItem requests.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ItemRequest {
    pub(crate) table_name: Option<String>,
    pub(crate) item: Option<Item>,
    pub(crate) key: Option<Item>,
    pub(crate) return_values: Option<String>,
    pub(crate) return_values_on_condition_check_failure: Option<String>,
    pub(crate) condition_expression: Option<String>,
    pub(crate) update_expression: Option<String>,
    pub(crate) projection_expression: Option<String>,
    pub(crate) expression_attribute_names: Option<Map<String, Value>>,
    pub(crate) expression_attribute_values: Option<Map<String, Value>>,
    pub(crate) expected: Option<Value>,
    pub(crate) attribute_updates: Option<Value>,
    pub(crate) attributes_to_get: Option<Value>,
    pub(crate) conditional_operator: Option<String>,
    pub(crate) consistent_read: Option<bool>,
}

fn legacy_refused(parameter: &str, replacement: &str) -> ApiError {
    ApiError::validation(format!(
        "the legacy parameter {parameter} is not supported by streamgate-local; use {replacement}"
    ))
}

/// Refuses legacy parameters where DynamoDB has none (the members of
/// TransactWriteItems and TransactGetItems).
pub(crate) fn reject_legacy(request: &ItemRequest) -> Result<(), ApiError> {
    if request.expected.is_some() {
        return Err(legacy_refused("Expected", "ConditionExpression"));
    }
    if request.attribute_updates.is_some() {
        return Err(legacy_refused("AttributeUpdates", "UpdateExpression"));
    }
    if request.attributes_to_get.is_some() {
        return Err(legacy_refused("AttributesToGet", "ProjectionExpression"));
    }
    Ok(())
}

/// What ReturnValues asks a write to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReturnValues {
    None,
    AllOld,
    UpdatedOld,
    AllNew,
    UpdatedNew,
}

fn return_values(text: Option<&str>, operation: &str) -> Result<ReturnValues, ApiError> {
    let value = match text {
        None | Some("NONE") => ReturnValues::None,
        Some("ALL_OLD") => ReturnValues::AllOld,
        Some("UPDATED_OLD") => ReturnValues::UpdatedOld,
        Some("ALL_NEW") => ReturnValues::AllNew,
        Some("UPDATED_NEW") => ReturnValues::UpdatedNew,
        Some(other) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
            )));
        }
    };
    if operation != "UpdateItem" && !matches!(value, ReturnValues::None | ReturnValues::AllOld) {
        return Err(ApiError::validation("Return values set to invalid value"));
    }
    Ok(value)
}

/// The parsed expressions of one item request.
pub(crate) struct Expressions {
    pub(crate) condition: Option<Condition>,
    pub(crate) update: Option<UpdateActions>,
    pub(crate) projection: Option<Vec<Path>>,
}

/// The names of the members of a request that are set.
fn present<'n>(members: &[(&'n str, bool)]) -> Vec<&'n str> {
    members
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect()
}

pub(crate) fn parse_expressions(request: &ItemRequest) -> Result<Expressions, ApiError> {
    let legacy_members = present(&[
        ("AttributesToGet", request.attributes_to_get.is_some()),
        ("AttributeUpdates", request.attribute_updates.is_some()),
        (
            "ConditionalOperator",
            request.conditional_operator.is_some(),
        ),
        ("Expected", request.expected.is_some()),
    ]);
    let expression_members = present(&[
        (
            "ProjectionExpression",
            request.projection_expression.is_some(),
        ),
        ("UpdateExpression", request.update_expression.is_some()),
        (
            "ConditionExpression",
            request.condition_expression.is_some(),
        ),
        (
            "ExpressionAttributeNames",
            request.expression_attribute_names.is_some(),
        ),
        (
            "ExpressionAttributeValues",
            request.expression_attribute_values.is_some(),
        ),
    ]);
    legacy::refuse_mixing(&legacy_members, &expression_members)?;
    if !legacy_members.is_empty() {
        return Ok(Expressions {
            condition: request
                .expected
                .as_ref()
                .map(|expected| legacy::expected(expected, request.conditional_operator.as_deref()))
                .transpose()?
                .flatten(),
            update: request
                .attribute_updates
                .as_ref()
                .map(legacy::attribute_updates)
                .transpose()?,
            projection: request
                .attributes_to_get
                .as_ref()
                .map(legacy::attributes_to_get)
                .transpose()?,
        });
    }
    let mut placeholders = Placeholders::new(
        request.expression_attribute_names.as_ref(),
        request.expression_attribute_values.as_ref(),
    )?;
    let update = request
        .update_expression
        .as_deref()
        .map(|text| parse_update(text, &mut placeholders))
        .transpose()?;
    let condition = request
        .condition_expression
        .as_deref()
        .map(|text| parse_condition(ExpressionKind::Condition, text, &mut placeholders))
        .transpose()?;
    let projection = request
        .projection_expression
        .as_deref()
        .map(|text| parse_projection(text, &mut placeholders))
        .transpose()?;
    placeholders.check_all_used()?;
    Ok(Expressions {
        condition,
        update,
        projection,
    })
}

/// Checks `condition` against the item as it is (`None`: absent), failing
/// with ConditionalCheckFailedException, carrying the old item when asked.
pub(crate) fn check_condition(
    condition: Option<&Condition>,
    old: Option<&Item>,
    return_on_failure: Option<&str>,
) -> Result<(), ApiError> {
    let Some(condition) = condition else {
        return Ok(());
    };
    let empty = Item::new();
    if evaluate(old.unwrap_or(&empty), condition)? {
        return Ok(());
    }
    let error = ApiError::new(
        ErrorCode::ConditionalCheckFailedException,
        "The conditional request failed",
    );
    Err(match (return_on_failure, old) {
        (Some("ALL_OLD"), Some(old)) => error.with_details(Map::from_iter([(
            "Item".to_owned(),
            Value::Object(old.clone()),
        )])),
        _ => error,
    })
}

pub(crate) fn check_return_on_failure(text: Option<&str>) -> Result<(), ApiError> {
    match text {
        None | Some("NONE" | "ALL_OLD") => Ok(()),
        Some(other) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'returnValuesOnConditionCheckFailure' failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]"
        ))),
    }
}

pub(crate) fn check_size(item: &Item, message: &str) -> Result<usize, ApiError> {
    let size = attribute::item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(ApiError::validation(message.to_owned()));
    }
    Ok(size)
}

/// Replaces the item at `canonical` with `new` (or removes it), keeping
/// the table's byte count and appending the stream record if it changed.
pub(crate) fn store_item(
    cloud: &Cloud,
    store: &mut crate::dynamodb::RegionStore,
    table_name: &str,
    canonical: String,
    new: Option<Item>,
) -> Result<Option<Item>, ApiError> {
    let table = store.table_mut(table_name)?;
    // Numbers are kept as DynamoDB keeps them, so that `1.0` written over
    // `1` changes nothing and records no stream change.
    let mut new = new;
    if let Some(item) = &mut new {
        attribute::normalize_numbers(item);
    }
    let old = match &new {
        Some(item) => table.items.insert(canonical, item.clone()),
        None => table.items.remove(&canonical),
    };
    table.item_bytes = (table.item_bytes + new.as_ref().map_or(0, attribute::item_size))
        .saturating_sub(old.as_ref().map_or(0, attribute::item_size));
    if old != new {
        let key = match (&new, &old) {
            (Some(item), _) | (None, Some(item)) => table.key_of(item),
            (None, None) => return Ok(old),
        };
        record_change(cloud, store, table_name, &key, old.as_ref(), new.as_ref());
    }
    Ok(old)
}

fn attributes(value: Option<Item>) -> Value {
    match value {
        Some(item) if !item.is_empty() => json!({ "Attributes": item }),
        _ => json!({}),
    }
}

/// PutItem: replaces the whole item, under an optional condition.
pub(crate) fn put_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ItemRequest,
) -> Result<Value, ApiError> {
    let returns = return_values(request.return_values.as_deref(), "PutItem")?;
    check_return_on_failure(request.return_values_on_condition_check_failure.as_deref())?;
    let expressions = parse_expressions(&request)?;
    let name = required(request.table_name.clone(), "tableName")?;
    let item = required(request.item, "item")?;
    attribute::validate_item(&item)?;
    check_size(&item, "Item size has exceeded the maximum allowed size")?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:PutItem")?;
    let mut store = lock(&target.store);
    let table = store.table(&target.name)?;
    let canonical = table.canonical_key(&item, true)?;
    check_condition(
        expressions.condition.as_ref(),
        table.items.get(&canonical),
        request.return_values_on_condition_check_failure.as_deref(),
    )?;
    let old = store_item(cloud, &mut store, &target.name, canonical, Some(item))?;
    Ok(match returns {
        ReturnValues::AllOld => attributes(old),
        _ => json!({}),
    })
}

/// GetItem, with an optional projection.
pub(crate) fn get_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ItemRequest,
) -> Result<Value, ApiError> {
    let _ = request.consistent_read;
    let expressions = parse_expressions(&request)?;
    let name = required(request.table_name.clone(), "tableName")?;
    let key = required(request.key, "key")?;
    attribute::validate_item(&key)?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:GetItem")?;
    let store = lock(&target.store);
    let table = store.table(&target.name)?;
    let canonical = table.canonical_key(&key, false)?;
    Ok(match table.items.get(&canonical) {
        Some(item) => match &expressions.projection {
            Some(paths) => json!({ "Item": project(item, paths) }),
            None => json!({ "Item": item }),
        },
        None => json!({}),
    })
}

/// DeleteItem, under an optional condition.
pub(crate) fn delete_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ItemRequest,
) -> Result<Value, ApiError> {
    let returns = return_values(request.return_values.as_deref(), "DeleteItem")?;
    check_return_on_failure(request.return_values_on_condition_check_failure.as_deref())?;
    let expressions = parse_expressions(&request)?;
    let name = required(request.table_name.clone(), "tableName")?;
    let key = required(request.key, "key")?;
    attribute::validate_item(&key)?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:DeleteItem")?;
    let mut store = lock(&target.store);
    let table = store.table(&target.name)?;
    let canonical = table.canonical_key(&key, false)?;
    check_condition(
        expressions.condition.as_ref(),
        table.items.get(&canonical),
        request.return_values_on_condition_check_failure.as_deref(),
    )?;
    let old = store_item(cloud, &mut store, &target.name, canonical, None)?;
    Ok(match returns {
        ReturnValues::AllOld => attributes(old),
        _ => json!({}),
    })
}

pub(crate) fn key_names(table: &Table) -> Vec<&str> {
    std::iter::once(table.hash_key.name.as_str())
        .chain(table.range_key.as_ref().map(|r| r.name.as_str()))
        .collect()
}

/// The item `actions` make of `old` (or of the bare key when absent),
/// checked as DynamoDB checks it: key attributes untouched, values valid,
/// at most 400 KB.
pub(crate) fn updated_item(
    table: &Table,
    key: &Item,
    old: Option<&Item>,
    actions: &UpdateActions,
) -> Result<Item, ApiError> {
    for path in actions.paths() {
        if let Some(top) = path.top()
            && key_names(table).contains(&top)
        {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Cannot update attribute {top}. This attribute is part of the key"
            )));
        }
    }
    let mut new = match old {
        Some(old) => apply_update(old, actions)?,
        None => apply_update(key, actions)?,
    };
    attribute::validate_item(&new)?;
    // As stored, so that ReturnValues shows what GetItem will.
    attribute::normalize_numbers(&mut new);
    indexes::check_index_keys(table, &new)?;
    check_size(
        &new,
        "Item size to update has exceeded the maximum allowed size",
    )?;
    Ok(new)
}

/// UpdateItem: edits (or creates) one item with an UpdateExpression.
pub(crate) fn update_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ItemRequest,
) -> Result<Value, ApiError> {
    let returns = return_values(request.return_values.as_deref(), "UpdateItem")?;
    check_return_on_failure(request.return_values_on_condition_check_failure.as_deref())?;
    let expressions = parse_expressions(&request)?;
    let name = required(request.table_name.clone(), "tableName")?;
    let key = required(request.key, "key")?;
    attribute::validate_item(&key)?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:UpdateItem")?;
    let mut store = lock(&target.store);
    let table = store.table(&target.name)?;
    let canonical = table.canonical_key(&key, false)?;
    let actions = expressions.update.unwrap_or_default();
    let paths: Vec<Path> = actions.paths().into_iter().cloned().collect();
    let old = table.items.get(&canonical).cloned();
    check_condition(
        expressions.condition.as_ref(),
        old.as_ref(),
        request.return_values_on_condition_check_failure.as_deref(),
    )?;
    let new = updated_item(table, &key, old.as_ref(), &actions)?;
    store_item(
        cloud,
        &mut store,
        &target.name,
        canonical,
        Some(new.clone()),
    )?;
    Ok(match returns {
        ReturnValues::None => json!({}),
        ReturnValues::AllOld => attributes(old),
        ReturnValues::AllNew => attributes(Some(new)),
        ReturnValues::UpdatedOld => attributes(old.map(|old| project(&old, &paths))),
        ReturnValues::UpdatedNew => attributes(Some(project(&new, &paths))),
    })
}

/// The members of Query and Scan requests.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ReadRequest {
    table_name: Option<String>,
    index_name: Option<String>,
    key_condition_expression: Option<String>,
    filter_expression: Option<String>,
    projection_expression: Option<String>,
    expression_attribute_names: Option<Map<String, Value>>,
    expression_attribute_values: Option<Map<String, Value>>,
    limit: Option<i64>,
    select: Option<String>,
    scan_index_forward: Option<bool>,
    exclusive_start_key: Option<Item>,
    segment: Option<i64>,
    total_segments: Option<i64>,
    consistent_read: Option<bool>,
    key_conditions: Option<Value>,
    query_filter: Option<Value>,
    scan_filter: Option<Value>,
    attributes_to_get: Option<Value>,
    conditional_operator: Option<String>,
}

/// The hash key value and the sort key condition of a Query.
struct KeyCondition {
    hash_value: Value,
    range: Option<Condition>,
}

/// The key attributes a Query's key condition is about: the table's or an
/// index's.
struct KeySchema<'a> {
    hash_key: &'a KeyAttribute,
    range_key: Option<&'a KeyAttribute>,
}

fn key_condition(schema: &KeySchema<'_>, condition: Condition) -> Result<KeyCondition, ApiError> {
    let mut conjuncts = Vec::new();
    let mut pending = vec![condition];
    while let Some(next) = pending.pop() {
        // Query's KeyConditionExpression allows only AND, the ordering
        // comparators, BETWEEN and begins_with (API reference, Query).
        let refused = match &next {
            Condition::Or(..) => Some("OR"),
            Condition::Not(_) => Some("NOT"),
            Condition::In(..) => Some("IN"),
            Condition::Compare(_, Comparator::NotEqual, _) => Some("<>"),
            Condition::AttributeExists(_) => Some("attribute_exists"),
            Condition::AttributeNotExists(_) => Some("attribute_not_exists"),
            Condition::AttributeType(..) => Some("attribute_type"),
            Condition::Contains(..) => Some("contains"),
            _ => None,
        };
        if let Some(operator) = refused {
            return Err(ApiError::validation(format!(
                "Invalid operator used in KeyConditionExpression: {operator}"
            )));
        }
        match next {
            Condition::And(left, right) => {
                pending.push(*right);
                pending.push(*left);
            }
            other => conjuncts.push(other),
        }
    }
    let unsupported = || ApiError::validation("Query key condition not supported");
    let names: Vec<&str> = std::iter::once(schema.hash_key.name.as_str())
        .chain(schema.range_key.map(|r| r.name.as_str()))
        .collect();
    let path_name = |operand: &Operand| match operand {
        Operand::Path(path) if path.0.len() == 1 => path.top().map(str::to_owned),
        _ => None,
    };
    let mut hash_value = None;
    let mut range = None;
    for conjunct in conjuncts {
        // `:v < sk` is `sk > :v`: DynamoDB accepts the key on either side.
        let conjunct = match conjunct {
            Condition::Compare(value @ Operand::Value(_), comparator, path @ Operand::Path(_)) => {
                Condition::Compare(path, comparator.mirrored(), value)
            }
            other => other,
        };
        let attribute = match &conjunct {
            Condition::Compare(left, _, Operand::Value(_))
            | Condition::Between(left, Operand::Value(_), Operand::Value(_))
            | Condition::BeginsWith(left, Operand::Value(_)) => path_name(left),
            _ => None,
        }
        .ok_or_else(unsupported)?;
        if !names.contains(&attribute.as_str()) {
            return Err(ApiError::validation(format!(
                "Query condition missed key schema element: {}",
                schema
                    .range_key
                    .map_or(schema.hash_key.name.as_str(), |r| r.name.as_str())
            )));
        }
        let one_per_key = || {
            ApiError::validation(
                "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key",
            )
        };
        if attribute == schema.hash_key.name {
            if hash_value.is_some() {
                return Err(one_per_key());
            }
            match conjunct {
                Condition::Compare(_, Comparator::Equal, Operand::Value(value)) => {
                    hash_value = Some(value);
                }
                _ => return Err(unsupported()),
            }
        } else if range.is_none() {
            range = Some(conjunct);
        } else {
            return Err(one_per_key());
        }
    }
    let hash_value = hash_value.ok_or_else(|| {
        ApiError::validation(format!(
            "Query condition missed key schema element: {}",
            schema.hash_key.name
        ))
    })?;
    Ok(KeyCondition { hash_value, range })
}

/// The canonical-key prefix shared by every item of a partition.
fn partition_prefix(hash_key: &KeyAttribute, value: &Value) -> Result<String, ApiError> {
    let typed = value.as_object().and_then(|o| o.iter().next());
    match typed {
        Some((kind, Value::String(text))) if *kind == hash_key.kind => {
            let text = if kind == "N" {
                attribute::canonical_number(text)
            } else {
                text.clone()
            };
            Ok(canonical_part(kind, &text))
        }
        _ => Err(ApiError::validation(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        )),
    }
}

enum Selection {
    All,
    Count,
    Projected(Vec<Path>),
}

struct ReadPlan {
    filter: Option<Condition>,
    selection: Selection,
    limit: Option<usize>,
}

fn read_plan(
    request: &ReadRequest,
    reads_index: bool,
    placeholders: &mut Placeholders<'_>,
) -> Result<ReadPlan, ApiError> {
    let legacy_filter = request
        .query_filter
        .as_ref()
        .map(|filter| (filter, "QueryFilter"))
        .or(request
            .scan_filter
            .as_ref()
            .map(|filter| (filter, "ScanFilter")));
    let filter = match (request.filter_expression.as_deref(), legacy_filter) {
        (Some(text), _) => Some(parse_condition(ExpressionKind::Filter, text, placeholders)?),
        (None, Some((filter, member))) => {
            legacy::conditions(filter, member, request.conditional_operator.as_deref())?
        }
        (None, None) => None,
    };
    let projection = match (
        request.projection_expression.as_deref(),
        &request.attributes_to_get,
    ) {
        (Some(text), _) => Some(parse_projection(text, placeholders)?),
        (None, Some(names)) => Some(legacy::attributes_to_get(names)?),
        (None, None) => None,
    };
    let selection = match (request.select.as_deref(), projection) {
        (None | Some("ALL_ATTRIBUTES"), None) => Selection::All,
        (None | Some("SPECIFIC_ATTRIBUTES"), Some(paths)) => Selection::Projected(paths),
        (Some("COUNT"), None) => Selection::Count,
        (Some("ALL_ATTRIBUTES" | "COUNT"), Some(_)) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Cannot specify the ProjectionExpression when choosing to get ALL_ATTRIBUTES or COUNT",
            ));
        }
        (Some("ALL_PROJECTED_ATTRIBUTES"), None) if reads_index => Selection::All,
        (Some("ALL_PROJECTED_ATTRIBUTES"), Some(_)) if reads_index => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Cannot specify the ProjectionExpression when choosing to get ALL_PROJECTED_ATTRIBUTES",
            ));
        }
        (Some("ALL_PROJECTED_ATTRIBUTES"), _) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Select type ALL_PROJECTED_ATTRIBUTES is supported only for index queries",
            ));
        }
        (Some("SPECIFIC_ATTRIBUTES"), None) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Must specify the ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
            ));
        }
        (Some(other), _) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )));
        }
    };
    let limit = match request.limit {
        None => None,
        Some(limit) if limit >= 1 => Some(usize::try_from(limit).unwrap_or(usize::MAX)),
        Some(limit) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )));
        }
    };
    Ok(ReadPlan {
        filter,
        selection,
        limit,
    })
}

/// Refuses a Query or Scan that mixes legacy and expression parameters.
fn refuse_mixed_read(request: &ReadRequest) -> Result<(), ApiError> {
    let legacy_members = present(&[
        ("AttributesToGet", request.attributes_to_get.is_some()),
        (
            "ConditionalOperator",
            request.conditional_operator.is_some(),
        ),
        ("KeyConditions", request.key_conditions.is_some()),
        ("QueryFilter", request.query_filter.is_some()),
        ("ScanFilter", request.scan_filter.is_some()),
    ]);
    let expression_members = present(&[
        (
            "ProjectionExpression",
            request.projection_expression.is_some(),
        ),
        ("FilterExpression", request.filter_expression.is_some()),
        (
            "KeyConditionExpression",
            request.key_condition_expression.is_some(),
        ),
        (
            "ExpressionAttributeNames",
            request.expression_attribute_names.is_some(),
        ),
        (
            "ExpressionAttributeValues",
            request.expression_attribute_values.is_some(),
        ),
    ]);
    legacy::refuse_mixing(&legacy_members, &expression_members)
}

/// How much item data one Query or Scan page reads at most: DynamoDB stops
/// a page once the items it has evaluated (before any filter) reach 1 MB.
pub(crate) const PAGE_BYTES: usize = 1024 * 1024;

/// Runs the evaluated items (in order) through limit, filter and selection.
/// The page ends after `Limit` items or once the items read reach
/// [`PAGE_BYTES`] (counted as DynamoDB counts item sizes), whichever comes
/// first; either way it carries the last item's key as LastEvaluatedKey.
fn read_page<'i>(
    last_key: impl Fn(&Item) -> Item,
    plan: &ReadPlan,
    candidates: impl Iterator<Item = &'i Item>,
) -> Result<Value, ApiError> {
    let mut scanned = 0_usize;
    let mut bytes_read = 0_usize;
    let mut items = Vec::new();
    let mut last = None;
    for item in candidates {
        if last.is_some() {
            break;
        }
        scanned += 1;
        bytes_read += attribute::item_size(item);
        if plan.limit == Some(scanned) || bytes_read >= PAGE_BYTES {
            last = Some(last_key(item));
        }
        if let Some(filter) = &plan.filter
            && !evaluate(item, filter)?
        {
            continue;
        }
        match &plan.selection {
            Selection::All => items.push(Value::Object(item.clone())),
            Selection::Projected(paths) => items.push(Value::Object(project(item, paths))),
            Selection::Count => items.push(Value::Null),
        }
    }
    let mut output = Map::new();
    output.insert("Count".to_owned(), json!(items.len()));
    output.insert("ScannedCount".to_owned(), json!(scanned));
    if !matches!(plan.selection, Selection::Count) {
        output.insert("Items".to_owned(), Value::Array(items));
    }
    if let Some(last) = last {
        output.insert("LastEvaluatedKey".to_owned(), Value::Object(last));
    }
    Ok(Value::Object(output))
}

/// Query: one partition, in sort key order.
pub(crate) fn query(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ReadRequest,
) -> Result<Value, ApiError> {
    refuse_mixed_read(&request)?;
    let _ = request.consistent_read;
    let name = required(request.table_name.clone(), "tableName")?;
    let mut placeholders = Placeholders::new(
        request.expression_attribute_names.as_ref(),
        request.expression_attribute_values.as_ref(),
    )?;
    let key_expression = match (
        request.key_condition_expression.as_deref(),
        &request.key_conditions,
    ) {
        (Some(text), _) => parse_condition(ExpressionKind::KeyCondition, text, &mut placeholders)?,
        (None, Some(conditions)) => legacy::conditions(conditions, "KeyConditions", None)?
            .ok_or_else(|| {
                ApiError::validation("KeyConditions must have at least one condition")
            })?,
        (None, None) => {
            return Err(ApiError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        }
    };
    let plan = read_plan(&request, request.index_name.is_some(), &mut placeholders)?;
    placeholders.check_all_used()?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:Query")?;
    let store = lock(&target.store);
    let table = store.table(&target.name)?;
    let index = read_index(table, &request)?;
    let schema = match index {
        Some(index) => KeySchema {
            hash_key: &index.hash_key,
            range_key: index.range_key.as_ref(),
        },
        None => KeySchema {
            hash_key: &table.hash_key,
            range_key: table.range_key.as_ref(),
        },
    };
    let condition = key_condition(&schema, key_expression)?;
    let prefix = partition_prefix(schema.hash_key, &condition.hash_value)?;
    if let Some(index) = index {
        let mut entries = Vec::new();
        for item in table.items.values() {
            if !index.holds(item) || indexes::canonical_of(item.get(&index.hash_key.name)) != prefix
            {
                continue;
            }
            if let Some(range) = &condition.range
                && !evaluate(item, range)?
            {
                continue;
            }
            entries.push(item);
        }
        let forward = request.scan_index_forward != Some(false);
        return read_index_page(table, index, &request, &plan, entries, forward);
    }
    let mut partition = Vec::new();
    for (_, item) in table
        .items
        .range(prefix.clone()..)
        .take_while(|(canonical, _)| canonical.starts_with(&prefix))
    {
        if let Some(range) = &condition.range
            && !evaluate(item, range)?
        {
            continue;
        }
        partition.push(item);
    }
    if let Some(range_key) = &table.range_key {
        let sort_value = |item: &Item| item.get(&range_key.name).cloned().unwrap_or(Value::Null);
        partition.sort_by(|a, b| {
            compare_scalars(&sort_value(a), &sort_value(b)).unwrap_or(Ordering::Equal)
        });
    }
    if request.scan_index_forward == Some(false) {
        partition.reverse();
    }
    let start = match &request.exclusive_start_key {
        Some(start) => {
            let start_canonical = table.canonical_key(start, false)?;
            partition
                .iter()
                .position(|item| {
                    table
                        .canonical_key(&table.key_of(item), false)
                        .ok()
                        .as_ref()
                        == Some(&start_canonical)
                })
                .map_or(partition.len(), |at| at + 1)
        }
        None => 0,
    };
    read_page(
        |item| table.key_of(item),
        &plan,
        partition.into_iter().skip(start),
    )
}

/// A stable 64-bit FNV-1a hash, so a key stays in its scan segment.
fn segment_hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Scan: the whole table (or one segment of it) in key order.
pub(crate) fn scan(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    request: ReadRequest,
) -> Result<Value, ApiError> {
    refuse_mixed_read(&request)?;
    let _ = request.consistent_read;
    let name = required(request.table_name.clone(), "tableName")?;
    let segments = match (request.segment, request.total_segments) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(ApiError::validation(
                "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::validation(
                "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
            ));
        }
        (Some(_), Some(total)) if !(1..=1_000_000).contains(&total) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: Member must have value between 1 and 1000000"
            )));
        }
        (Some(segment), Some(total)) if !(0..total).contains(&segment) => {
            return Err(ApiError::validation(format!(
                "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}"
            )));
        }
        (Some(segment), Some(total)) => Some((
            u64::try_from(segment).unwrap_or(0),
            u64::try_from(total).unwrap_or(1),
        )),
    };
    let mut placeholders = Placeholders::new(
        request.expression_attribute_names.as_ref(),
        request.expression_attribute_values.as_ref(),
    )?;
    let plan = read_plan(&request, request.index_name.is_some(), &mut placeholders)?;
    placeholders.check_all_used()?;
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:Scan")?;
    let store = lock(&target.store);
    let table = store.table(&target.name)?;
    if let Some(index) = read_index(table, &request)? {
        let entries = table
            .items
            .values()
            .filter(|item| index.holds(item))
            .filter(|item| match segments {
                None => true,
                Some((segment, total)) => {
                    let hash_part = indexes::canonical_of(item.get(&index.hash_key.name));
                    segment_hash(&hash_part) % total == segment
                }
            })
            .collect();
        return read_index_page(table, index, &request, &plan, entries, true);
    }
    let after = request
        .exclusive_start_key
        .as_ref()
        .map(|start| table.canonical_key(start, false))
        .transpose()?;
    let in_segment = |item: &Item| match segments {
        None => true,
        Some((segment, total)) => {
            let hash_part = item
                .get(&table.hash_key.name)
                .map(Value::to_string)
                .unwrap_or_default();
            segment_hash(&hash_part) % total == segment
        }
    };
    // Resuming after ExclusiveStartKey is a B-tree seek, not a walk from
    // the first item.
    let bounds = match after {
        Some(after) => (Bound::Excluded(after), Bound::Unbounded),
        None => (Bound::Unbounded, Bound::Unbounded),
    };
    let candidates = table
        .items
        .range::<String, _>(bounds)
        .map(|(_, item)| item)
        .filter(|item| in_segment(item));
    read_page(|item| table.key_of(item), &plan, candidates)
}

/// The index a Query or Scan names (`None`: the table itself), refusing
/// what DynamoDB refuses: an unknown index, a consistent read of a global
/// index, and ALL_ATTRIBUTES from a global index that does not project all.
fn read_index<'t>(
    table: &'t Table,
    request: &ReadRequest,
) -> Result<Option<&'t SecondaryIndex>, ApiError> {
    let Some(name) = &request.index_name else {
        return Ok(None);
    };
    let index = table
        .indexes
        .iter()
        .find(|index| index.name == *name)
        .ok_or_else(|| {
            ApiError::validation(format!(
                "The table does not have the specified index: {name}"
            ))
        })?;
    if index.global && request.consistent_read == Some(true) {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    if index.global
        && index.projection != Projection::All
        && request.select.as_deref() == Some("ALL_ATTRIBUTES")
    {
        return Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {name} because its projection type is not ALL"
        )));
    }
    Ok(Some(index))
}

/// One page of an index read: `entries` (the items the index holds that
/// the read selects) in index order, resumed after ExclusiveStartKey (the
/// table's and the index's keys) by binary search, and projected as the
/// index projects; a local index fetches whole items from the table when
/// asked for ALL_ATTRIBUTES or a ProjectionExpression, as DynamoDB does.
fn read_index_page(
    table: &Table,
    index: &SecondaryIndex,
    request: &ReadRequest,
    plan: &ReadPlan,
    mut entries: Vec<&Item>,
    forward: bool,
) -> Result<Value, ApiError> {
    entries.sort_by(|a, b| index.compare(table, a, b));
    if !forward {
        entries.reverse();
    }
    let start = match &request.exclusive_start_key {
        Some(start) => {
            attribute::validate_item(start)?;
            let expected = index.position_key(table, start);
            if expected.len() != start.len()
                || table.canonical_key(&table.key_of(start), false).is_err()
                || !index.holds(start)
            {
                return Err(ApiError::validation(
                    "The provided starting key is invalid: The provided key element does not match the schema",
                ));
            }
            entries.partition_point(|entry| {
                let order = index.compare(table, entry, start);
                if forward {
                    order != Ordering::Greater
                } else {
                    order != Ordering::Less
                }
            })
        }
        None => 0,
    };
    let fetch_whole = !index.global
        && (request.select.as_deref() == Some("ALL_ATTRIBUTES")
            || request.projection_expression.is_some());
    let projected: Vec<Item> = entries
        .iter()
        .skip(start)
        .map(|item| {
            if fetch_whole {
                (*item).clone()
            } else {
                index.entry(table, item)
            }
        })
        .collect();
    read_page(
        |item| index.position_key(table, item),
        plan,
        projected.iter(),
    )
}
