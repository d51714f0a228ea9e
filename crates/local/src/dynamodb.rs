//! DynamoDB (awsJson1_0, `DynamoDB_20120810.*`): the control plane
//! (CreateTable, DescribeTable, ListTables, UpdateTable, DeleteTable), the
//! basic item operations (PutItem, GetItem, DeleteItem) that feed the table's
//! stream, and resource policies on tables and streams.
//!
//! A table named by ARN may live in another account: every operation
//! resolves its target to (account, region, name) and authorizes against
//! that account's resource policy.

use crate::attribute::{self, Item};
use crate::authorize::{AccessRequest, authorize};
use crate::batches;
use crate::clock;
use crate::data_plane;
use crate::documents::{self, DYNAMODB_POLICY_MAX_BYTES, PolicyKind};
use crate::error::{ApiError, ErrorCode};
use crate::iam::principal_exists;
use crate::identity::Caller;
use crate::indexes::{self, IndexChange, SecondaryIndex, TableKeys};
use crate::state::{Cloud, lock};
use crate::streams::{Change, EventName, Stream, ViewType};
use crate::wire::{parse_json_body, set_member};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// A resource policy with its revision.
#[derive(Debug, Clone)]
pub struct ResourcePolicy {
    /// The document as given.
    pub document: String,
    /// The revision id (a millisecond timestamp, increasing).
    pub revision: String,
}

/// A key attribute: name and scalar type (`S`, `N` or `B`).
#[derive(Debug, Clone)]
pub struct KeyAttribute {
    /// The attribute's name.
    pub name: String,
    /// `S`, `N` or `B`.
    pub kind: String,
}

/// The server-side encryption a table was created with.
#[derive(Debug, Clone)]
pub struct Encryption {
    /// `KMS`.
    pub sse_type: String,
    /// The key's ARN.
    pub kms_key_arn: String,
    /// Whether the key is the AWS managed `aws/dynamodb` key, which rules
    /// out cross-account access through resource policies.
    pub aws_managed_key: bool,
}

/// A table.
#[derive(Debug)]
pub struct Table {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its id (a UUID).
    pub id: String,
    /// When it was created.
    pub created_millis: u64,
    /// The partition key.
    pub hash_key: KeyAttribute,
    /// The sort key, if any.
    pub range_key: Option<KeyAttribute>,
    /// `PROVISIONED` or `PAY_PER_REQUEST`.
    pub billing_mode: String,
    /// Read and write capacity units (0 on demand).
    pub throughput: (i64, i64),
    /// Encryption with a KMS key, if asked for.
    pub encryption: Option<Encryption>,
    /// Deletion protection.
    pub deletion_protection: bool,
    /// Items by canonical key.
    pub items: BTreeMap<String, Item>,
    /// The sum of the items' sizes.
    pub item_bytes: usize,
    /// The table's resource policy.
    pub policy: Option<ResourcePolicy>,
    /// The ARN of the stream, while one is enabled.
    pub stream_arn: Option<String>,
    /// The enabled stream's view type.
    pub stream_view: Option<ViewType>,
    /// The ARN and label of the latest stream, enabled or not.
    pub latest_stream: Option<(String, String)>,
    /// The local and global secondary indexes, in CreateTable's order.
    pub indexes: Vec<SecondaryIndex>,
}

impl Table {
    /// Whether the table is encrypted with the AWS managed key.
    pub fn encrypted_with_aws_managed_key(&self) -> bool {
        self.encryption.as_ref().is_some_and(|e| e.aws_managed_key)
    }

    fn key_schema(&self) -> Value {
        let mut schema = vec![json!({ "AttributeName": self.hash_key.name, "KeyType": "HASH" })];
        if let Some(range) = &self.range_key {
            schema.push(json!({ "AttributeName": range.name, "KeyType": "RANGE" }));
        }
        Value::Array(schema)
    }

    /// The canonical key of `key` (only the key attributes, matching the
    /// schema), or DynamoDB's validation error.
    pub(crate) fn canonical_key(&self, key: &Item, whole_item: bool) -> Result<String, ApiError> {
        let mut canonical = String::new();
        let attributes = std::iter::once(&self.hash_key).chain(self.range_key.as_ref());
        let mut count = 0;
        for attribute in attributes {
            count += 1;
            let Some(value) = key.get(&attribute.name) else {
                return Err(if whole_item {
                    ApiError::validation(format!(
                        "One or more parameter values were invalid: Missing the key {} in the item",
                        attribute.name
                    ))
                } else {
                    ApiError::validation("The provided key element does not match the schema")
                });
            };
            let Some((kind, Value::String(text))) = value.as_object().and_then(|o| o.iter().next())
            else {
                return Err(type_mismatch(attribute, value));
            };
            if *kind != attribute.kind {
                return Err(type_mismatch(attribute, value));
            }
            if text.is_empty() {
                return Err(ApiError::validation(format!(
                    "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {}",
                    attribute.name
                )));
            }
            let is_hash = std::ptr::eq(attribute, &self.hash_key);
            let (limit, what) = if is_hash {
                (
                    2048,
                    "Size of hashkey has exceeded the maximum size limit of2048 bytes",
                )
            } else {
                (
                    1024,
                    "Aggregated size of all range keys has exceeded the size limit of 1024 bytes",
                )
            };
            if attribute::value_size(value) > limit {
                return Err(ApiError::validation(format!(
                    "One or more parameter values were invalid: {what}"
                )));
            }
            let text = if kind == "N" {
                attribute::canonical_number(text)
            } else {
                text.clone()
            };
            canonical.push_str(&canonical_part(kind, &text));
        }
        if !whole_item && key.len() != count {
            return Err(ApiError::validation(
                "The provided key element does not match the schema",
            ));
        }
        if whole_item {
            indexes::check_index_keys(self, key)?;
        }
        Ok(canonical)
    }

    pub(crate) fn key_of(&self, item: &Item) -> Item {
        let mut key = Map::new();
        for attribute in std::iter::once(&self.hash_key).chain(self.range_key.as_ref()) {
            if let Some(value) = item.get(&attribute.name) {
                key.insert(attribute.name.clone(), value.clone());
            }
        }
        key
    }
}

/// One key attribute's share of a canonical key: length-prefixed, so that
/// the hash key's part is a prefix of every key of its partition.
pub(crate) fn canonical_part(kind: &str, text: &str) -> String {
    format!("{kind}:{}:{text}", text.len())
}

fn type_mismatch(attribute: &KeyAttribute, value: &Value) -> ApiError {
    let actual = value
        .as_object()
        .and_then(|o| o.keys().next())
        .map_or("unknown", String::as_str);
    ApiError::validation(format!(
        "One or more parameter values were invalid: Type mismatch for key {} expected: {} actual: {actual}",
        attribute.name, attribute.kind
    ))
}

/// The DynamoDB resources of one account in one region.
#[derive(Debug, Default)]
pub struct RegionStore {
    /// Tables by name.
    pub tables: BTreeMap<String, Table>,
    /// Streams by ARN, kept after their table is gone until they age out.
    pub streams: BTreeMap<String, Stream>,
    /// The ClientRequestTokens of the TransactWriteItems calls this
    /// account made here in the last 10 minutes that succeeded.
    pub transaction_tokens: BTreeMap<String, batches::IdempotentTransaction>,
}

impl RegionStore {
    /// The table `name`, or the ResourceNotFoundException DynamoDB answers.
    pub(crate) fn table(&self, name: &str) -> Result<&Table, ApiError> {
        self.tables.get(name).ok_or_else(|| table_not_found(name))
    }

    /// The table `name` to change, or the ResourceNotFoundException
    /// DynamoDB answers.
    pub(crate) fn table_mut(&mut self, name: &str) -> Result<&mut Table, ApiError> {
        self.tables
            .get_mut(name)
            .ok_or_else(|| table_not_found(name))
    }
}

/// What an ARN addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnTarget {
    /// Region.
    pub region: String,
    /// Account.
    pub account: String,
    /// Everything after the fifth colon.
    pub resource: String,
}

/// Splits a DynamoDB ARN on its first five colons (a stream label has colons).
pub fn resolve_arn(arn: &str) -> Option<ArnTarget> {
    let mut parts = arn.splitn(6, ':');
    let (
        Some("arn"),
        Some(_partition),
        Some("dynamodb"),
        Some(region),
        Some(account),
        Some(resource),
    ) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    )
    else {
        return None;
    };
    Some(ArnTarget {
        region: region.to_owned(),
        account: account.to_owned(),
        resource: resource.to_owned(),
    })
}

/// A required member, or DynamoDB's validation error naming it.
pub fn required<T>(value: Option<T>, member: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    })
}

pub(crate) fn table_not_found(name: &str) -> ApiError {
    ApiError::not_found(format!(
        "Requested resource not found: Table: {name} not found"
    ))
}

/// A table addressed by name or ARN: whose it is, where, and its name.
pub(crate) struct TableTarget {
    pub(crate) account: String,
    pub(crate) name: String,
    pub(crate) arn: String,
    pub(crate) store: Arc<Mutex<RegionStore>>,
}

fn check_table_name(name: &str) -> Result<(), ApiError> {
    let valid = (3..=255).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )))
    }
}

fn target_table(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    name_or_arn: &str,
) -> Result<TableTarget, ApiError> {
    let (account, name) = if name_or_arn.starts_with("arn:") {
        let target = resolve_arn(name_or_arn)
            .filter(|t| t.region == region)
            .ok_or_else(|| table_not_found(name_or_arn))?;
        let name = target
            .resource
            .strip_prefix("table/")
            .filter(|n| !n.contains('/'))
            .ok_or_else(|| ApiError::validation(format!("Invalid table ARN: {name_or_arn}")))?
            .to_owned();
        (target.account, name)
    } else {
        (caller.account().to_owned(), name_or_arn.to_owned())
    };
    check_table_name(&name)?;
    let account_state = cloud
        .account(&account)
        .ok_or_else(|| table_not_found(&name))?;
    Ok(TableTarget {
        arn: format!("arn:aws:dynamodb:{region}:{account}:table/{name}"),
        account,
        name,
        store: account_state.region(region),
    })
}

/// The table `name_or_arn` names (see [`target_table`]) once `caller` is
/// authorized to do `action` on it (see [`authorize_table`]).
pub(crate) fn authorized_table(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    name_or_arn: &str,
    action: &str,
) -> Result<TableTarget, ApiError> {
    let target = target_table(cloud, caller, region, name_or_arn)?;
    authorize_table(cloud, caller, action, &target)?;
    Ok(target)
}

/// Authorizes `action` on a table, with its resource policy.
fn authorize_table(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    target: &TableTarget,
) -> Result<(), ApiError> {
    let (policy, aws_managed_key) = {
        let store = lock(&target.store);
        let table = store.tables.get(&target.name);
        (
            table.and_then(|t| t.policy.as_ref().map(|p| p.document.clone())),
            table.is_some_and(Table::encrypted_with_aws_managed_key),
        )
    };
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action,
            resource: &target.arn,
            resource_account: &target.account,
            resource_policy: policy.as_deref(),
            resource_policy_required: false,
            encrypted_with_aws_managed_key: aws_managed_key,
        },
    )
}

/// Handles one DynamoDB operation by `caller` in `region`.
pub fn handle(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    operation: &str,
    body: &[u8],
) -> Result<Value, ApiError> {
    match operation {
        "CreateTable" => create_table(cloud, caller, region, parse_json_body(body)?),
        "DescribeTable" => {
            let input: TableNameInput = parse_json_body(body)?;
            let target = authorized_table(
                cloud,
                caller,
                region,
                &required(input.table_name, "tableName")?,
                "dynamodb:DescribeTable",
            )?;
            let store = lock(&target.store);
            let table = store.table(&target.name)?;
            Ok(json!({ "Table": describe(table, "ACTIVE") }))
        }
        "ListTables" => list_tables(cloud, caller, region, parse_json_body(body)?),
        "DeleteTable" => {
            let input: TableNameInput = parse_json_body(body)?;
            let target = authorized_table(
                cloud,
                caller,
                region,
                &required(input.table_name, "tableName")?,
                "dynamodb:DeleteTable",
            )?;
            let mut store = lock(&target.store);
            let table = store.table(&target.name)?;
            if table.deletion_protection {
                return Err(ApiError::validation(format!(
                    "Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first. Table: {}",
                    target.name
                )));
            }
            let description = describe(table, "DELETING");
            let stream_arn = table.stream_arn.clone();
            store.tables.remove(&target.name);
            if let Some(arn) = stream_arn
                && let Some(stream) = store.streams.get_mut(&arn)
            {
                stream.disable(cloud.clock.now_millis());
            }
            Ok(json!({ "TableDescription": description }))
        }
        "UpdateTable" => update_table(cloud, caller, region, parse_json_body(body)?),
        "PutItem" => data_plane::put_item(cloud, caller, region, parse_json_body(body)?),
        "GetItem" => data_plane::get_item(cloud, caller, region, parse_json_body(body)?),
        "DeleteItem" => data_plane::delete_item(cloud, caller, region, parse_json_body(body)?),
        "UpdateItem" => data_plane::update_item(cloud, caller, region, parse_json_body(body)?),
        "Query" => data_plane::query(cloud, caller, region, parse_json_body(body)?),
        "BatchWriteItem" => {
            batches::batch_write_item(cloud, caller, region, &parse_json_body(body)?)
        }
        "BatchGetItem" => batches::batch_get_item(cloud, caller, region, &parse_json_body(body)?),
        "TransactWriteItems" => {
            batches::transact_write_items(cloud, caller, region, &parse_json_body(body)?)
        }
        "TransactGetItems" => {
            batches::transact_get_items(cloud, caller, region, &parse_json_body(body)?)
        }
        "Scan" => data_plane::scan(cloud, caller, region, parse_json_body(body)?),
        "PutResourcePolicy" => put_resource_policy(cloud, caller, region, parse_json_body(body)?),
        "GetResourcePolicy" => get_resource_policy(cloud, caller, region, parse_json_body(body)?),
        "DeleteResourcePolicy" => {
            delete_resource_policy(cloud, caller, region, parse_json_body(body)?)
        }
        "DescribeTimeToLive"
        | "UpdateTimeToLive"
        | "TagResource"
        | "UntagResource"
        | "ListTagsOfResource"
        | "DescribeContinuousBackups"
        | "DescribeEndpoints"
        | "DescribeLimits" => Err(ApiError::validation(format!(
            "{operation} is not supported by streamgate-local yet"
        ))),
        _ => Err(ApiError::new(ErrorCode::UnknownOperationException, "")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TableNameInput {
    table_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDefinition {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySchemaElement {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Throughput {
    read_capacity_units: i64,
    write_capacity_units: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StreamSpecification {
    stream_enabled: bool,
    stream_view_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SseSpecification {
    enabled: Option<bool>,
    #[serde(rename = "SSEType")]
    sse_type: Option<String>,
    #[serde(rename = "KMSMasterKeyId")]
    kms_master_key_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateTableInput {
    table_name: Option<String>,
    attribute_definitions: Option<Vec<AttributeDefinition>>,
    key_schema: Option<Vec<KeySchemaElement>>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    stream_specification: Option<StreamSpecification>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<SseSpecification>,
    deletion_protection_enabled: Option<bool>,
    global_secondary_indexes: Option<Value>,
    local_secondary_indexes: Option<Value>,
    resource_policy: Option<String>,
}

fn describe(table: &Table, status: &str) -> Value {
    let definitions = indexes::attribute_definitions(table);
    let mut description = json!({
        "AttributeDefinitions": definitions,
        "TableName": table.name,
        "KeySchema": table.key_schema(),
        "TableStatus": status,
        "CreationDateTime": clock::epoch_seconds(table.created_millis),
        "ProvisionedThroughput": {
            "NumberOfDecreasesToday": 0,
            "ReadCapacityUnits": table.throughput.0,
            "WriteCapacityUnits": table.throughput.1,
        },
        "TableSizeBytes": table.item_bytes,
        "ItemCount": table.items.len(),
        "TableArn": table.arn,
        "TableId": table.id,
        "DeletionProtectionEnabled": table.deletion_protection,
    });
    if table.billing_mode == "PAY_PER_REQUEST" {
        set_member(
            &mut description,
            "BillingModeSummary",
            json!({
                "BillingMode": "PAY_PER_REQUEST",
                "LastUpdateToPayPerRequestDateTime": clock::epoch_seconds(table.created_millis),
            }),
        );
    }
    if let Some(encryption) = &table.encryption {
        set_member(
            &mut description,
            "SSEDescription",
            json!({
                "Status": "ENABLED",
                "SSEType": encryption.sse_type,
                "KMSMasterKeyArn": encryption.kms_key_arn,
            }),
        );
    }
    if let Some(view_type) = table.stream_view {
        set_member(
            &mut description,
            "StreamSpecification",
            json!({ "StreamEnabled": true, "StreamViewType": view_type.as_str() }),
        );
    }
    if let Some((arn, label)) = &table.latest_stream {
        set_member(&mut description, "LatestStreamArn", json!(arn));
        set_member(&mut description, "LatestStreamLabel", json!(label));
    }
    if let Some(object) = description.as_object_mut() {
        indexes::describe_indexes(table, object);
    }
    description
}

/// Stream specification → view type, with DynamoDB's checks.
fn stream_view(spec: &StreamSpecification) -> Result<Option<ViewType>, ApiError> {
    match (spec.stream_enabled, spec.stream_view_type.as_deref()) {
        (false, _) => Ok(None),
        (true, None) => Err(ApiError::validation(
            "One or more parameter values were invalid: StreamViewType is required when StreamEnabled is true",
        )),
        (true, Some(text)) => ViewType::parse(text).map(Some).ok_or_else(|| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{text}' at 'streamSpecification.streamViewType' failed to satisfy constraint: Member must satisfy enum value set: [NEW_IMAGE, OLD_IMAGE, NEW_AND_OLD_IMAGES, KEYS_ONLY]"
            ))
        }),
    }
}

/// Enables a new stream on `table`, with a label unique for the table.
fn enable_stream(store: &mut RegionStore, table_name: &str, view_type: ViewType, now: u64) {
    let Some(table) = store.tables.get_mut(table_name) else {
        return;
    };
    let mut at = now;
    let mut label = clock::stream_label(at);
    while store
        .streams
        .contains_key(&format!("{}/stream/{label}", table.arn))
    {
        at += 1;
        label = clock::stream_label(at);
    }
    let mut stream = Stream::new(
        &table.arn,
        &table.name,
        label.clone(),
        table.key_schema(),
        view_type,
        now,
    );
    stream.encrypted_with_aws_managed_key = table.encrypted_with_aws_managed_key();
    table.stream_arn = Some(stream.arn.clone());
    table.stream_view = Some(view_type);
    table.latest_stream = Some((stream.arn.clone(), label));
    store.streams.insert(stream.arn.clone(), stream);
}

fn create_table(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: CreateTableInput,
) -> Result<Value, ApiError> {
    let name = required(input.table_name, "tableName")?;
    let definitions = required(input.attribute_definitions, "attributeDefinitions")?;
    let key_schema = required(input.key_schema, "keySchema")?;
    if input.resource_policy.is_some() {
        return Err(ApiError::validation(
            "ResourcePolicy in CreateTable is not supported by streamgate-local yet; use PutResourcePolicy",
        ));
    }
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:CreateTable")?;
    let key_attribute = |element: &KeySchemaElement| -> Result<KeyAttribute, ApiError> {
        let definition = definitions
            .iter()
            .find(|d| d.attribute_name == element.attribute_name)
            .ok_or_else(|| {
                ApiError::validation(format!(
                    "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                    element.attribute_name,
                    definitions.iter().map(|d| d.attribute_name.as_str()).collect::<Vec<_>>().join(", ")
                ))
            })?;
        if !matches!(definition.attribute_type.as_str(), "S" | "N" | "B") {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                definition.attribute_type
            )));
        }
        Ok(KeyAttribute {
            name: element.attribute_name.clone(),
            kind: definition.attribute_type.clone(),
        })
    };
    let (hash_key, range_key) = match key_schema.as_slice() {
        [hash] if hash.key_type == "HASH" => (key_attribute(hash)?, None),
        [hash, range] if hash.key_type == "HASH" && range.key_type == "RANGE" => {
            if hash.attribute_name == range.attribute_name {
                return Err(ApiError::validation(
                    "Both the Hash Key and the Range Key element in the KeySchema have the same name",
                ));
            }
            (key_attribute(hash)?, Some(key_attribute(range)?))
        }
        _ => {
            return Err(ApiError::validation(
                "1 validation error detected: Value at 'keySchema' failed to satisfy constraint: the key schema must be a HASH key, optionally followed by a RANGE key",
            ));
        }
    };
    let billing_mode = input
        .billing_mode
        .unwrap_or_else(|| "PROVISIONED".to_owned());
    for definition in &definitions {
        if !matches!(definition.attribute_type.as_str(), "S" | "N" | "B") {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                definition.attribute_type
            )));
        }
    }
    let defined: Vec<(String, String)> = definitions
        .iter()
        .map(|d| (d.attribute_name.clone(), d.attribute_type.clone()))
        .collect();
    let secondary_indexes = indexes::parse_indexes(
        &TableKeys {
            hash_key: &hash_key,
            range_key: range_key.as_ref(),
            definitions: &defined,
            on_demand: billing_mode == "PAY_PER_REQUEST",
        },
        input.local_secondary_indexes.as_ref(),
        input.global_secondary_indexes.as_ref(),
    )?;
    let throughput = match (billing_mode.as_str(), input.provisioned_throughput) {
        ("PROVISIONED", Some(t)) if t.read_capacity_units >= 1 && t.write_capacity_units >= 1 => {
            (t.read_capacity_units, t.write_capacity_units)
        }
        ("PROVISIONED", _) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED",
            ));
        }
        ("PAY_PER_REQUEST", None) => (0, 0),
        ("PAY_PER_REQUEST", Some(_)) => {
            return Err(ApiError::validation(
                "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST",
            ));
        }
        (other, _) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
            )));
        }
    };
    let view_type = match &input.stream_specification {
        Some(spec) => stream_view(spec)?,
        None => None,
    };
    let encryption = match input.sse_specification {
        Some(spec) if spec.enabled == Some(true) => {
            if spec.sse_type.as_deref().is_some_and(|t| t != "KMS") {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: SSEType must be KMS",
                ));
            }
            Some(kms_encryption(
                region,
                &target.account,
                spec.kms_master_key_id.as_deref(),
            ))
        }
        _ => None,
    };
    let now = cloud.clock.now_millis();
    let mut store = lock(&target.store);
    if store.tables.contains_key(&target.name) {
        return Err(ApiError::new(
            ErrorCode::ResourceInUseException,
            format!("Table already exists: {}", target.name),
        ));
    }
    let table = Table {
        name: target.name.clone(),
        arn: target.arn.clone(),
        id: uuid_like(cloud),
        created_millis: now,
        hash_key,
        range_key,
        billing_mode,
        throughput,
        encryption,
        deletion_protection: input.deletion_protection_enabled.unwrap_or(false),
        items: BTreeMap::new(),
        item_bytes: 0,
        policy: None,
        stream_arn: None,
        stream_view: None,
        latest_stream: None,
        indexes: secondary_indexes,
    };
    store.tables.insert(target.name.clone(), table);
    if let Some(view_type) = view_type {
        enable_stream(&mut store, &target.name, view_type, now);
    }
    let table = store.table(&target.name)?;
    Ok(json!({ "TableDescription": describe(table, "CREATING") }))
}

/// The AWS managed key's alias, which no key policy of ours can change.
const AWS_MANAGED_KEY_ALIAS: &str = "alias/aws/dynamodb";

/// The encryption of a table in `account` and `region` whose
/// `KMSMasterKeyId` is `given`: a key id, key ARN, alias name or alias ARN
/// as KMS accepts them, or none for the AWS managed key. An alias stands
/// for a key whose ARN is derived from the alias, so the same alias always
/// gives the same key ARN (this cloud has no KMS to look it up in).
fn kms_encryption(region: &str, account: &str, given: Option<&str>) -> Encryption {
    // (region, account, what follows `key/` or `alias/`)
    let (key_region, key_account, resource) = match given {
        None => (region, account, AWS_MANAGED_KEY_ALIAS),
        Some(arn) if arn.starts_with("arn:") => {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            match parts.as_slice() {
                [_, _, "kms", key_region, key_account, resource] => {
                    (*key_region, *key_account, *resource)
                }
                _ => {
                    return Encryption {
                        sse_type: "KMS".into(),
                        kms_key_arn: arn.to_owned(),
                        aws_managed_key: false,
                    };
                }
            }
        }
        Some(name) if name.starts_with("alias/") => (region, account, name),
        Some(id) => {
            return Encryption {
                sse_type: "KMS".into(),
                kms_key_arn: format!("arn:aws:kms:{region}:{account}:key/{id}"),
                aws_managed_key: false,
            };
        }
    };
    let kms_key_arn = if resource.starts_with("alias/") {
        format!(
            "arn:aws:kms:{key_region}:{key_account}:key/{}",
            key_id_of_alias(key_region, key_account, resource)
        )
    } else {
        format!("arn:aws:kms:{key_region}:{key_account}:{resource}")
    };
    Encryption {
        sse_type: "KMS".into(),
        kms_key_arn,
        aws_managed_key: resource == AWS_MANAGED_KEY_ALIAS,
    }
}

/// A key id (UUID-shaped) for `alias` in `account` and `region`, the same
/// every time.
fn key_id_of_alias(region: &str, account: &str, alias: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(format!("{account}|{region}|{alias}"))
        .finalize();
    let hex: String = digest
        .iter()
        .take(16)
        .map(|byte| format!("{byte:02x}"))
        .collect();
    uuid_shaped(&hex)
}

/// 32 hex digits grouped as a UUID is written: 8-4-4-4-12.
fn uuid_shaped(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

fn uuid_like(cloud: &Cloud) -> String {
    let hex = cloud.unique_token("", 32, b"0123456789abcdef");
    uuid_shaped(&hex)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTablesInput {
    exclusive_start_table_name: Option<String>,
    limit: Option<i64>,
}

fn list_tables(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: ListTablesInput,
) -> Result<Value, ApiError> {
    let limit = match input.limit {
        None => 100,
        Some(value @ 1..=100) => usize::try_from(value).unwrap_or(100),
        Some(value) => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{value}' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100"
            )));
        }
    };
    let account = caller.account();
    let resource = format!("arn:aws:dynamodb:{region}:{account}:table/*");
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action: "dynamodb:ListTables",
            resource: &resource,
            resource_account: account,
            resource_policy: None,
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        },
    )?;
    let account_state = cloud.account_or_not_found(account, "Account")?;
    let store = account_state.region(region);
    let store = lock(&store);
    let names: Vec<&String> = store
        .tables
        .keys()
        .filter(|name| {
            input
                .exclusive_start_table_name
                .as_ref()
                .is_none_or(|start| *name > start)
        })
        .take(limit + 1)
        .collect();
    let more = names.len() > limit;
    let page: Vec<&&String> = names.iter().take(limit).collect();
    let mut output = json!({ "TableNames": page });
    if more && let Some(last) = page.last() {
        set_member(&mut output, "LastEvaluatedTableName", json!(last));
    }
    Ok(output)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateTableInput {
    table_name: Option<String>,
    stream_specification: Option<StreamSpecification>,
    billing_mode: Option<String>,
    provisioned_throughput: Option<Throughput>,
    deletion_protection_enabled: Option<bool>,
    attribute_definitions: Option<Value>,
    global_secondary_index_updates: Option<Value>,
    #[serde(rename = "SSESpecification")]
    sse_specification: Option<Value>,
}

fn update_table(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: UpdateTableInput,
) -> Result<Value, ApiError> {
    let name = required(input.table_name, "tableName")?;
    if input.sse_specification.is_some() {
        return Err(ApiError::validation(
            "UpdateTable of encryption is not supported by streamgate-local yet",
        ));
    }
    if input.attribute_definitions.is_some() && input.global_secondary_index_updates.is_none() {
        return Err(ApiError::validation(
            "One or more parameter values were invalid: AttributeDefinitions can only be given with GlobalSecondaryIndexUpdates",
        ));
    }
    let target = authorized_table(cloud, caller, region, &name, "dynamodb:UpdateTable")?;
    let now = cloud.clock.now_millis();
    let mut store = lock(&target.store);
    let table = store.table_mut(&target.name)?;
    // Checked first and applied last, so a refused request changes nothing.
    let index_change = input
        .global_secondary_index_updates
        .as_ref()
        .map(|updates| {
            indexes::parse_index_update(table, input.attribute_definitions.as_ref(), updates)
        })
        .transpose()?;
    if let Some(mode) = &input.billing_mode {
        match mode.as_str() {
            "PAY_PER_REQUEST" => table.throughput = (0, 0),
            "PROVISIONED" if input.provisioned_throughput.is_none() => {
                return Err(ApiError::validation(
                    "One or more parameter values were invalid: ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
                ));
            }
            "PROVISIONED" => {}
            other => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
                )));
            }
        }
        table.billing_mode = mode.clone();
    }
    if let Some(t) = input.provisioned_throughput {
        table.throughput = (t.read_capacity_units, t.write_capacity_units);
    }
    if let Some(protection) = input.deletion_protection_enabled {
        table.deletion_protection = protection;
    }
    let mut new_stream = None;
    if let Some(spec) = &input.stream_specification {
        let view_type = stream_view(spec)?;
        match (view_type, table.stream_arn.clone()) {
            (Some(_), Some(_)) => {
                return Err(ApiError::validation(format!(
                    "Table already has an enabled stream: TableName: {}",
                    table.name
                )));
            }
            (None, None) => {
                return Err(ApiError::validation(format!(
                    "Table already has no stream enabled: TableName: {}",
                    table.name
                )));
            }
            (None, Some(arn)) => {
                table.stream_arn = None;
                table.stream_view = None;
                if let Some(stream) = store.streams.get_mut(&arn) {
                    stream.disable(now);
                }
            }
            (Some(view_type), None) => new_stream = Some(view_type),
        }
    }
    if let Some(change) = index_change
        && let Some(table) = store.tables.get_mut(&target.name)
    {
        match change {
            IndexChange::Create(index) => table.indexes.push(index),
            IndexChange::Delete(name) => table.indexes.retain(|index| index.name != name),
        }
    }
    if let Some(view_type) = new_stream {
        enable_stream(&mut store, &target.name, view_type, now);
    }
    let table = store.table(&target.name)?;
    Ok(json!({ "TableDescription": describe(table, "UPDATING") }))
}

pub(crate) fn record_change(
    cloud: &Cloud,
    store: &mut RegionStore,
    table_name: &str,
    key: &Item,
    old: Option<&Item>,
    new: Option<&Item>,
) {
    let Some(stream_arn) = store
        .tables
        .get(table_name)
        .and_then(|t| t.stream_arn.clone())
    else {
        return;
    };
    let Some(stream) = store.streams.get_mut(&stream_arn) else {
        return;
    };
    let event = match (old, new) {
        (None, Some(_)) => EventName::Insert,
        (Some(_), Some(_)) => EventName::Modify,
        (Some(_), None) => EventName::Remove,
        (None, None) => return,
    };
    let size = attribute::item_size(key)
        + old.map_or(0, attribute::item_size)
        + new.map_or(0, attribute::item_size);
    let keys = Value::Object(key.clone());
    let old = old.map(|i| Value::Object(i.clone()));
    let new = new.map(|i| Value::Object(i.clone()));
    stream.append(
        cloud.rollover,
        cloud.clock.now_millis(),
        Change {
            event,
            keys: &keys,
            old_image: old.as_ref(),
            new_image: new.as_ref(),
            size_bytes: size,
        },
    );
    cloud.executor.record_written();
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ResourcePolicyInput {
    resource_arn: Option<String>,
    policy: Option<String>,
    expected_revision_id: Option<String>,
    confirm_remove_self_resource_access: Option<bool>,
}

/// A table or stream named by a resource ARN.
struct PolicyTarget {
    account: String,
    arn: String,
    table_name: String,
    stream: bool,
    store: Arc<Mutex<RegionStore>>,
}

fn policy_target(cloud: &Cloud, region: &str, arn: &str) -> Result<PolicyTarget, ApiError> {
    let not_found = || ApiError::not_found(format!("Requested resource not found: {arn}"));
    let target = resolve_arn(arn).ok_or_else(|| {
        ApiError::validation(format!("Invalid ResourceArn provided as input {arn}"))
    })?;
    if target.region != region {
        return Err(not_found());
    }
    let rest = target
        .resource
        .strip_prefix("table/")
        .ok_or_else(not_found)?;
    let (table_name, stream) = match rest.split_once('/') {
        None => (rest.to_owned(), false),
        Some((table, tail)) if tail.starts_with("stream/") => (table.to_owned(), true),
        Some(_) => {
            return Err(ApiError::validation(format!(
                "resource policies on {arn} are not supported by streamgate-local yet (tables and streams only)"
            )));
        }
    };
    let account = cloud.account(&target.account).ok_or_else(not_found)?;
    Ok(PolicyTarget {
        account: target.account,
        arn: arn.to_owned(),
        table_name,
        stream,
        store: account.region(region),
    })
}

/// The policy slot of a table or stream.
fn policy_slot<'a>(
    store: &'a mut RegionStore,
    target: &PolicyTarget,
) -> Result<&'a mut Option<ResourcePolicy>, ApiError> {
    let not_found = || ApiError::not_found(format!("Requested resource not found: {}", target.arn));
    if target.stream {
        store
            .streams
            .get_mut(&target.arn)
            .map(|s| &mut s.policy)
            .ok_or_else(not_found)
    } else {
        store
            .tables
            .get_mut(&target.table_name)
            .map(|t| &mut t.policy)
            .ok_or_else(not_found)
    }
}

fn authorize_policy_change(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    target: &PolicyTarget,
) -> Result<(), ApiError> {
    let current = {
        let mut store = lock(&target.store);
        policy_slot(&mut store, target)?
            .as_ref()
            .map(|p| p.document.clone())
    };
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action,
            resource: &target.arn,
            resource_account: &target.account,
            resource_policy: current.as_deref(),
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        },
    )
}

fn check_expected_revision(
    current: Option<&ResourcePolicy>,
    expected: Option<&str>,
    arn: &str,
) -> Result<(), ApiError> {
    let matches = match (expected, current) {
        (None, _) => true,
        (Some("NO_POLICY"), None) => true,
        (Some(expected), Some(policy)) => policy.revision == expected,
        (Some(_), None) => false,
    };
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::PolicyNotFoundException,
            format!(
                "Resource-based policy not found for the provided ResourceArn: Requested update for policy with revision id {}, but the policy associated to target table {arn} has revision id {}.",
                expected.unwrap_or_default(),
                current.map_or("NO_POLICY", |p| p.revision.as_str())
            ),
        ))
    }
}

fn put_resource_policy(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: ResourcePolicyInput,
) -> Result<Value, ApiError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    let policy = required(input.policy, "policy")?;
    let _ = input.confirm_remove_self_resource_access;
    let target = policy_target(cloud, region, &arn)?;
    authorize_policy_change(cloud, caller, "dynamodb:PutResourcePolicy", &target)?;
    if policy.len() > DYNAMODB_POLICY_MAX_BYTES {
        return Err(ApiError::validation(format!(
            "Policy document size {} exceeds the maximum allowed size of {DYNAMODB_POLICY_MAX_BYTES} bytes",
            policy.len()
        )));
    }
    let kind = if target.stream {
        PolicyKind::StreamPolicy
    } else {
        PolicyKind::TablePolicy
    };
    let document = documents::check(kind, &policy).map_err(ApiError::validation)?;
    for principal in documents::aws_principals(&document) {
        if !principal_exists(cloud, &principal) {
            return Err(ApiError::validation("Invalid principal in policy document"));
        }
    }
    let mut store = lock(&target.store);
    let slot = policy_slot(&mut store, &target)?;
    check_expected_revision(slot.as_ref(), input.expected_revision_id.as_deref(), &arn)?;
    let previous = slot
        .as_ref()
        .and_then(|p| p.revision.parse::<u64>().ok())
        .unwrap_or(0);
    let revision = cloud.clock.now_millis().max(previous + 1).to_string();
    *slot = Some(ResourcePolicy {
        document: policy,
        revision: revision.clone(),
    });
    Ok(json!({ "RevisionId": revision }))
}

/// PolicyNotFoundException for the table or stream `arn`.
fn policy_not_found(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::PolicyNotFoundException,
        format!("Resource-based policy not found for the provided ResourceArn: {arn}"),
    )
}

fn get_resource_policy(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: ResourcePolicyInput,
) -> Result<Value, ApiError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    let target = policy_target(cloud, region, &arn)?;
    authorize_policy_change(cloud, caller, "dynamodb:GetResourcePolicy", &target)?;
    let mut store = lock(&target.store);
    let slot = policy_slot(&mut store, &target)?;
    match slot {
        Some(policy) => Ok(json!({ "Policy": policy.document, "RevisionId": policy.revision })),
        None => Err(policy_not_found(&arn)),
    }
}

fn delete_resource_policy(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: ResourcePolicyInput,
) -> Result<Value, ApiError> {
    let arn = required(input.resource_arn, "resourceArn")?;
    let target = policy_target(cloud, region, &arn)?;
    authorize_policy_change(cloud, caller, "dynamodb:DeleteResourcePolicy", &target)?;
    let mut store = lock(&target.store);
    let slot = policy_slot(&mut store, &target)?;
    if slot.is_none() {
        return Err(policy_not_found(&arn));
    }
    check_expected_revision(slot.as_ref(), input.expected_revision_id.as_deref(), &arn)?;
    let revision = slot.take().map(|p| p.revision).unwrap_or_default();
    Ok(json!({ "RevisionId": revision }))
}
