//! DynamoDB's multi-item operations: BatchWriteItem and BatchGetItem (25
//! and 100 item limits, duplicate keys rejected, `UnprocessedItems` and
//! `UnprocessedKeys` always empty because the local cloud never throttles)
//! and TransactWriteItems and TransactGetItems (all or nothing: every
//! condition is checked with every store involved locked, and only then
//! is any item written, one stream record per changed item).
//! TransactWriteItems also keeps DynamoDB's 100-action and 4 MB limits and
//! its ClientRequestToken idempotency (10 minutes, per account and region).

use crate::attribute::{self, Item};
use crate::data_plane::{
    ItemRequest, check_condition, check_size, parse_expressions, reject_legacy, store_item,
    updated_item,
};
use crate::dynamodb::{RegionStore, TableTarget, authorized_table, required};
use crate::error::{ApiError, ErrorCode};
use crate::expression::{Placeholders, parse_projection, project};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

fn request_items(body: &Value) -> Result<&Map<String, Value>, ApiError> {
    let items = body
        .get("RequestItems")
        .and_then(Value::as_object)
        .ok_or_else(|| {
            ApiError::validation(
                "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null",
            )
        })?;
    if items.is_empty() {
        return Err(ApiError::validation(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1",
        ));
    }
    Ok(items)
}

fn item_member(value: &Value, member: &str) -> Result<Item, ApiError> {
    let item: Option<Item> = value
        .get(member)
        .map(|v| serde_json::from_value(v.clone()))
        .transpose()
        .map_err(|error| ApiError::serialization(error.to_string()))?;
    required(item, member)
}

fn duplicates() -> ApiError {
    ApiError::validation("Provided list of item keys contains duplicates")
}

/// One write of a batch, validated, before anything is applied.
struct PendingWrite {
    canonical: String,
    new: Option<Item>,
}

/// BatchWriteItem: up to 25 puts and deletes over any tables.
pub(crate) fn batch_write_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let tables = request_items(body)?;
    let total: usize = tables
        .values()
        .map(|writes| writes.as_array().map_or(0, Vec::len))
        .sum();
    if total > 25 {
        return Err(ApiError::validation(
            "Too many items requested for the BatchWriteItem call",
        ));
    }
    let mut plan = Vec::new();
    for (name, writes) in tables {
        let writes = writes.as_array().filter(|w| !w.is_empty()).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value at 'requestItems.{name}.member' failed to satisfy constraint: Member must have length greater than or equal to 1"
            ))
        })?;
        let target = authorized_table(cloud, caller, region, name, "dynamodb:BatchWriteItem")?;
        let store = lock(&target.store);
        let table = store.table(&target.name)?;
        let mut seen = HashSet::new();
        let mut pending = Vec::new();
        for write in writes {
            let (canonical, new) = match (write.get("PutRequest"), write.get("DeleteRequest")) {
                (Some(put), None) => {
                    let item = item_member(put, "Item")?;
                    attribute::validate_item(&item)?;
                    check_size(&item, "Item size has exceeded the maximum allowed size")?;
                    (table.canonical_key(&item, true)?, Some(item))
                }
                (None, Some(delete)) => {
                    let key = item_member(delete, "Key")?;
                    attribute::validate_item(&key)?;
                    (table.canonical_key(&key, false)?, None)
                }
                _ => {
                    return Err(ApiError::validation(
                        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
                    ));
                }
            };
            if !seen.insert(canonical.clone()) {
                return Err(duplicates());
            }
            pending.push(PendingWrite { canonical, new });
        }
        drop(store);
        plan.push((target, pending));
    }
    for (target, pending) in plan {
        let mut store = lock(&target.store);
        for write in pending {
            store_item(cloud, &mut store, &target.name, write.canonical, write.new)?;
        }
    }
    Ok(json!({ "UnprocessedItems": {} }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeysAndAttributes {
    keys: Option<Vec<Item>>,
    projection_expression: Option<String>,
    expression_attribute_names: Option<Map<String, Value>>,
    consistent_read: Option<bool>,
    attributes_to_get: Option<Value>,
}

/// BatchGetItem: up to 100 keys over any tables.
pub(crate) fn batch_get_item(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let tables = request_items(body)?;
    let mut requests = Vec::new();
    let mut total = 0;
    for (name, request) in tables {
        let request: KeysAndAttributes = serde_json::from_value(request.clone())
            .map_err(|error| ApiError::serialization(error.to_string()))?;
        if request.attributes_to_get.is_some() {
            crate::legacy::refuse_mixing(
                &["AttributesToGet"],
                &[
                    (
                        "ProjectionExpression",
                        request.projection_expression.is_some(),
                    ),
                    (
                        "ExpressionAttributeNames",
                        request.expression_attribute_names.is_some(),
                    ),
                ]
                .iter()
                .filter(|(_, set)| *set)
                .map(|(name, _)| *name)
                .collect::<Vec<_>>(),
            )?;
        }
        let _ = request.consistent_read;
        total += request.keys.as_ref().map_or(0, Vec::len);
        requests.push((name, request));
    }
    if total > 100 {
        return Err(ApiError::validation(
            "Too many items requested for the BatchGetItem call",
        ));
    }
    let mut responses = Map::new();
    for (name, request) in requests {
        let keys = required(request.keys, "keys")?;
        let mut placeholders =
            Placeholders::new(request.expression_attribute_names.as_ref(), None)?;
        let projection = match (&request.projection_expression, &request.attributes_to_get) {
            (Some(text), _) => Some(parse_projection(text, &mut placeholders)?),
            (None, Some(names)) => Some(crate::legacy::attributes_to_get(names)?),
            (None, None) => None,
        };
        placeholders.check_all_used()?;
        let target = authorized_table(cloud, caller, region, name, "dynamodb:BatchGetItem")?;
        let store = lock(&target.store);
        let table = store.table(&target.name)?;
        let mut seen = HashSet::new();
        let mut found = Vec::new();
        for key in &keys {
            attribute::validate_item(key)?;
            let canonical = table.canonical_key(key, false)?;
            if !seen.insert(canonical.clone()) {
                return Err(duplicates());
            }
            if let Some(item) = table.items.get(&canonical) {
                found.push(Value::Object(match &projection {
                    Some(paths) => project(item, paths),
                    None => item.clone(),
                }));
            }
        }
        responses.insert(name.clone(), Value::Array(found));
    }
    Ok(json!({ "Responses": responses, "UnprocessedKeys": {} }))
}

/// What one TransactWriteItems entry does.
enum TransactAction {
    ConditionCheck,
    Put,
    Delete,
    Update,
}

impl TransactAction {
    fn permission(&self) -> &'static str {
        match self {
            Self::ConditionCheck => "dynamodb:ConditionCheckItem",
            Self::Put => "dynamodb:PutItem",
            Self::Delete => "dynamodb:DeleteItem",
            Self::Update => "dynamodb:UpdateItem",
        }
    }
}

/// Locks every distinct store once, in address order so two transactions
/// over the same stores cannot deadlock.
fn lock_all(stores: &[Arc<Mutex<RegionStore>>]) -> BTreeMap<usize, MutexGuard<'_, RegionStore>> {
    let mut guards = BTreeMap::new();
    let mut ordered: Vec<&Arc<Mutex<RegionStore>>> = stores.iter().collect();
    ordered.sort_by_key(|store| Arc::as_ptr(store) as usize);
    for store in ordered {
        let address = Arc::as_ptr(store) as usize;
        guards.entry(address).or_insert_with(|| lock(store));
    }
    guards
}

fn transaction_error(reasons: Vec<Value>) -> ApiError {
    let codes: Vec<&str> = reasons
        .iter()
        .map(|reason| reason.get("Code").and_then(Value::as_str).unwrap_or("None"))
        .collect();
    ApiError::new(
        ErrorCode::TransactionCanceledException,
        format!(
            "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]",
            codes.join(", ")
        ),
    )
    .with_details(Map::from_iter([(
        "CancellationReasons".to_owned(),
        Value::Array(reasons),
    )]))
}

/// A TransactWriteItems call that succeeded under a ClientRequestToken.
#[derive(Debug, Clone)]
pub struct IdempotentTransaction {
    /// The request without its token, serialized: a repeat must match it.
    pub fingerprint: String,
    /// When it succeeded, in the cloud's clock.
    pub at_millis: u64,
}

/// How long DynamoDB remembers a ClientRequestToken.
const TOKEN_MEMORY_MILLIS: u64 = 10 * 60 * 1000;

/// The most item data one transaction may carry.
const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;

/// The ClientRequestToken of a TransactWriteItems body, checked, with the
/// fingerprint of the rest of the request.
fn client_token(body: &Value) -> Result<Option<(String, String)>, ApiError> {
    let Some(token) = body.get("ClientRequestToken") else {
        return Ok(None);
    };
    let token = token
        .as_str()
        .ok_or_else(|| ApiError::serialization("ClientRequestToken must be a string"))?;
    let length = token.chars().count();
    if !(1..=36).contains(&length) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: Member must have length {}",
            if length == 0 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 36"
            }
        )));
    }
    let mut rest = body.clone();
    if let Some(object) = rest.as_object_mut() {
        object.remove("ClientRequestToken");
    }
    Ok(Some((token.to_owned(), rest.to_string())))
}

/// The `TransactItems` of a transaction request: present, and 1 to 100 of
/// them.
fn transact_items(body: &Value) -> Result<&Vec<Value>, ApiError> {
    let entries = body
        .get("TransactItems")
        .and_then(Value::as_array)
        .ok_or_else(|| missing("transactItems"))?;
    if entries.is_empty() || entries.len() > 100 {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100 and greater than or equal to 1; found {}",
            entries.len()
        )));
    }
    Ok(entries)
}

/// TransactWriteItems: up to 100 checks and writes, all applied or none.
/// With a ClientRequestToken, a repeat of a request that succeeded in the
/// last 10 minutes succeeds again without writing; the same token with a
/// different request is refused with IdempotentParameterMismatchException.
pub(crate) fn transact_write_items(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let entries = transact_items(body)?;
    let token = client_token(body)?;
    let mut parsed = Vec::new();
    for (position, entry) in entries.iter().enumerate() {
        let members = [
            ("ConditionCheck", TransactAction::ConditionCheck),
            ("Put", TransactAction::Put),
            ("Delete", TransactAction::Delete),
            ("Update", TransactAction::Update),
        ];
        let mut found = members
            .into_iter()
            .filter_map(|(name, action)| entry.get(name).map(|inner| (action, inner)));
        let (Some((action, inner)), None) = (found.next(), found.next()) else {
            return Err(ApiError::validation(
                "TransactItems can only contain one of Check, Put, Update or Delete",
            ));
        };
        let request: ItemRequest = serde_json::from_value(inner.clone())
            .map_err(|error| ApiError::serialization(error.to_string()))?;
        reject_legacy(&request)?;
        let expressions = parse_expressions(&request)?;
        if matches!(action, TransactAction::ConditionCheck) && expressions.condition.is_none() {
            return Err(missing(&format!(
                "transactItems.{}.member.conditionCheck.conditionExpression",
                position + 1
            )));
        }
        let name = required(request.table_name.clone(), "tableName")?;
        let target = authorized_table(cloud, caller, region, &name, action.permission())?;
        parsed.push((action, request, expressions, target));
    }
    let mut stores: Vec<Arc<Mutex<RegionStore>>> = parsed
        .iter()
        .map(|(.., target)| Arc::clone(&target.store))
        .collect();
    // The caller's own store keeps its tokens; it is locked with the rest so
    // that two concurrent repeats cannot both write.
    let token_store = cloud
        .account(caller.account())
        .map(|account| account.region(region));
    if let Some(store) = &token_store {
        stores.push(Arc::clone(store));
    }
    let mut guards = lock_all(&stores);
    let now = cloud.clock.now_millis();
    if let (Some((token, fingerprint)), Some(store)) = (&token, &token_store)
        && let Some(guard) = guards.get_mut(&(Arc::as_ptr(store) as usize))
    {
        guard
            .transaction_tokens
            .retain(|_, earlier| now.saturating_sub(earlier.at_millis) < TOKEN_MEMORY_MILLIS);
        if let Some(earlier) = guard.transaction_tokens.get(token) {
            if earlier.fingerprint == *fingerprint {
                return Ok(json!({}));
            }
            return Err(ApiError::new(
                ErrorCode::IdempotentParameterMismatchException,
                "The request uses the same client token as a previous, but non-identical request",
            ));
        }
    }
    let mut transaction_bytes = 0_usize;
    let mut seen = HashSet::new();
    let mut outcomes: Vec<(&TableTarget, String, Option<Option<Item>>)> = Vec::new();
    let mut reasons = Vec::new();
    let mut cancelled = false;
    for (action, request, expressions, target) in &parsed {
        let address = Arc::as_ptr(&target.store) as usize;
        let store = guards
            .get(&address)
            .ok_or_else(|| ApiError::new(ErrorCode::InternalFailure, "store not locked"))?;
        let table = store.table(&target.name)?;
        let (canonical, key) = match (action, &request.item, &request.key) {
            (TransactAction::Put, Some(item), _) => {
                attribute::validate_item(item)?;
                check_size(item, "Item size has exceeded the maximum allowed size")?;
                (table.canonical_key(item, true)?, table.key_of(item))
            }
            (TransactAction::Put, None, _) => return Err(missing("item")),
            (_, _, Some(key)) => {
                attribute::validate_item(key)?;
                (table.canonical_key(key, false)?, key.clone())
            }
            (_, _, None) => return Err(missing("key")),
        };
        if !seen.insert((target.arn.clone(), canonical.clone())) {
            return Err(ApiError::validation(
                "Transaction request cannot include multiple operations on one item",
            ));
        }
        let old = table.items.get(&canonical);
        transaction_bytes += match (action, &request.item) {
            (TransactAction::Put, Some(item)) => attribute::item_size(item),
            // An update counts the item it makes, added below.
            (TransactAction::Update, _) => 0,
            _ => attribute::item_size(&key),
        };
        match check_condition(
            expressions.condition.as_ref(),
            old,
            request.return_values_on_condition_check_failure.as_deref(),
        ) {
            Ok(()) => reasons.push(json!({ "Code": "None" })),
            Err(error) if error.code == ErrorCode::ConditionalCheckFailedException => {
                cancelled = true;
                let mut reason = Map::new();
                reason.insert("Code".to_owned(), json!("ConditionalCheckFailed"));
                reason.insert(
                    "Message".to_owned(),
                    json!("The conditional request failed"),
                );
                if let Some(details) = error.details {
                    reason.extend(*details);
                }
                reasons.push(Value::Object(reason));
                continue;
            }
            Err(error) => return Err(error),
        }
        let new = match action {
            TransactAction::ConditionCheck => None,
            TransactAction::Put => Some(request.item.clone()),
            TransactAction::Delete => Some(None),
            TransactAction::Update => {
                let actions = expressions.update.clone().unwrap_or_default();
                let new = updated_item(table, &key, old, &actions)?;
                transaction_bytes += attribute::item_size(&new);
                Some(Some(new))
            }
        };
        outcomes.push((target, canonical, new));
    }
    if transaction_bytes > MAX_TRANSACTION_BYTES {
        return Err(ApiError::validation(
            "Transaction request cannot be larger than 4 MB",
        ));
    }
    if cancelled {
        return Err(transaction_error(reasons));
    }
    for (target, canonical, new) in outcomes {
        let Some(new) = new else {
            continue;
        };
        let address = Arc::as_ptr(&target.store) as usize;
        let store = guards
            .get_mut(&address)
            .ok_or_else(|| ApiError::new(ErrorCode::InternalFailure, "store not locked"))?;
        store_item(cloud, store, &target.name, canonical, new)?;
    }
    if let (Some((token, fingerprint)), Some(store)) = (token, &token_store)
        && let Some(guard) = guards.get_mut(&(Arc::as_ptr(store) as usize))
    {
        guard.transaction_tokens.insert(
            token,
            IdempotentTransaction {
                fingerprint,
                at_millis: now,
            },
        );
    }
    Ok(json!({}))
}

/// DynamoDB's message for a required member left out.
fn missing(member: &str) -> ApiError {
    ApiError::validation(format!(
        "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
    ))
}

/// TransactGetItems: up to 100 gets read under one consistent view.
pub(crate) fn transact_get_items(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    body: &Value,
) -> Result<Value, ApiError> {
    let entries = transact_items(body)?;
    let mut parsed = Vec::new();
    for entry in entries {
        let inner = entry
            .get("Get")
            .ok_or_else(|| missing("transactItems.member.get"))?;
        let request: ItemRequest = serde_json::from_value(inner.clone())
            .map_err(|error| ApiError::serialization(error.to_string()))?;
        reject_legacy(&request)?;
        let expressions = parse_expressions(&request)?;
        let name = required(request.table_name.clone(), "tableName")?;
        let key = required(request.key.clone(), "key")?;
        attribute::validate_item(&key)?;
        let target = authorized_table(cloud, caller, region, &name, "dynamodb:GetItem")?;
        parsed.push((key, expressions, target));
    }
    let stores: Vec<Arc<Mutex<RegionStore>>> = parsed
        .iter()
        .map(|(.., target)| Arc::clone(&target.store))
        .collect();
    let guards = lock_all(&stores);
    let mut responses = Vec::new();
    for (key, expressions, target) in &parsed {
        let address = Arc::as_ptr(&target.store) as usize;
        let store = guards
            .get(&address)
            .ok_or_else(|| ApiError::new(ErrorCode::InternalFailure, "store not locked"))?;
        let table = store.table(&target.name)?;
        let canonical = table.canonical_key(key, false)?;
        responses.push(match table.items.get(&canonical) {
            Some(item) => json!({ "Item": match &expressions.projection {
                Some(paths) => project(item, paths),
                None => item.clone(),
            } }),
            None => json!({}),
        });
    }
    Ok(json!({ "Responses": responses }))
}
