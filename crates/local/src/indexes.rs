//! Secondary indexes: the LocalSecondaryIndexes and GlobalSecondaryIndexes
//! of CreateTable, checked as DynamoDB checks them (key schemas, projections
//! ALL / KEYS_ONLY / INCLUDE, every attribute definition used exactly once),
//! their DescribeTable form, the type checks a write makes of index key
//! attributes, and the entries an index read sees.
//!
//! An index holds no copy of the items: a read derives its entries from the
//! table's items at that moment, so writes keep every index in step by
//! construction. Only items carrying all of an index's key attributes appear
//! in it (sparse indexes), projected as the index says.

use crate::attribute::{self, Item};
use crate::dynamodb::{KeyAttribute, Table, canonical_part};
use crate::error::ApiError;
use crate::expression::evaluate::compare_scalars;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

/// The most local secondary indexes a table may have.
const MAX_LOCAL_INDEXES: usize = 5;
/// The most global secondary indexes a table may have.
const MAX_GLOBAL_INDEXES: usize = 20;
/// The most non-key attributes projected over all of a table's indexes.
const MAX_PROJECTED_ATTRIBUTES: usize = 100;

/// Which attributes an index copies besides the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projection {
    /// Every attribute.
    All,
    /// Only the table's and the index's key attributes.
    KeysOnly,
    /// The keys and these non-key attributes.
    Include(Vec<String>),
}

/// A local or global secondary index of a table.
#[derive(Debug, Clone)]
pub struct SecondaryIndex {
    /// The index's name, unique within its table.
    pub name: String,
    /// Whether it is global (its own partition key) or local (the table's).
    pub global: bool,
    /// The index's partition key.
    pub hash_key: KeyAttribute,
    /// The index's sort key (always present on a local index).
    pub range_key: Option<KeyAttribute>,
    /// What the index projects.
    pub projection: Projection,
    /// Read and write capacity units of a global index (0 on demand).
    pub throughput: (i64, i64),
}

impl SecondaryIndex {
    /// The index's key attributes, partition key first.
    pub fn key_attributes(&self) -> impl Iterator<Item = &KeyAttribute> {
        std::iter::once(&self.hash_key).chain(self.range_key.as_ref())
    }

    /// Whether `item` appears in the index: it carries every index key,
    /// each of the declared type (an item written before the index was
    /// added may not, and DynamoDB leaves such items out).
    pub fn holds(&self, item: &Item) -> bool {
        self.key_attributes().all(|key| {
            item.get(&key.name)
                .and_then(Value::as_object)
                .and_then(|typed| typed.keys().next())
                .is_some_and(|kind| *kind == key.kind)
        })
    }

    /// The entry of `item` in the index: the projected attributes.
    pub fn entry(&self, table: &Table, item: &Item) -> Item {
        let keep = |name: &str| {
            self.key_attributes().any(|key| key.name == name)
                || table.hash_key.name == name
                || table.range_key.as_ref().is_some_and(|key| key.name == name)
        };
        match &self.projection {
            Projection::All => item.clone(),
            Projection::KeysOnly => item
                .iter()
                .filter(|(name, _)| keep(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            Projection::Include(extra) => item
                .iter()
                .filter(|(name, _)| keep(name) || extra.contains(name))
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
        }
    }

    /// The key of an entry as LastEvaluatedKey carries it: the table's keys
    /// and the index's.
    pub fn position_key(&self, table: &Table, item: &Item) -> Item {
        let mut key = table.key_of(item);
        for attribute in self.key_attributes() {
            if let Some(value) = item.get(&attribute.name) {
                key.insert(attribute.name.clone(), value.clone());
            }
        }
        key
    }

    /// The index's DescribeTable form, counting the items it holds now.
    pub fn describe(&self, table: &Table) -> Value {
        let mut schema = vec![json!({ "AttributeName": self.hash_key.name, "KeyType": "HASH" })];
        if let Some(range) = &self.range_key {
            schema.push(json!({ "AttributeName": range.name, "KeyType": "RANGE" }));
        }
        let projection = match &self.projection {
            Projection::All => json!({ "ProjectionType": "ALL" }),
            Projection::KeysOnly => json!({ "ProjectionType": "KEYS_ONLY" }),
            Projection::Include(names) => {
                json!({ "ProjectionType": "INCLUDE", "NonKeyAttributes": names })
            }
        };
        let (count, bytes) = table.items.values().filter(|item| self.holds(item)).fold(
            (0_usize, 0_usize),
            |(count, bytes), item| {
                (
                    count + 1,
                    bytes + attribute::item_size(&self.entry(table, item)),
                )
            },
        );
        let mut description = json!({
            "IndexName": self.name,
            "KeySchema": schema,
            "Projection": projection,
            "IndexSizeBytes": bytes,
            "ItemCount": count,
            "IndexArn": format!("{}/index/{}", table.arn, self.name),
        });
        if self.global
            && let Some(object) = description.as_object_mut()
        {
            object.insert("IndexStatus".to_owned(), json!("ACTIVE"));
            object.insert(
                "ProvisionedThroughput".to_owned(),
                json!({
                    "NumberOfDecreasesToday": 0,
                    "ReadCapacityUnits": self.throughput.0,
                    "WriteCapacityUnits": self.throughput.1,
                }),
            );
        }
        description
    }

    /// The order of entries within the index: by the index's partition key
    /// (canonically), its sort key, then the table's key, so that paging
    /// through equal index keys is stable.
    pub fn compare(&self, table: &Table, left: &Item, right: &Item) -> Ordering {
        let hash = |item: &Item| canonical_of(item.get(&self.hash_key.name));
        hash(left)
            .cmp(&hash(right))
            .then_with(|| match &self.range_key {
                Some(range) => match (left.get(&range.name), right.get(&range.name)) {
                    (Some(a), Some(b)) => compare_scalars(a, b).unwrap_or(Ordering::Equal),
                    _ => Ordering::Equal,
                },
                None => Ordering::Equal,
            })
            .then_with(|| {
                let key = |item: &Item| table.canonical_key(&table.key_of(item), false).ok();
                key(left).cmp(&key(right))
            })
    }
}

/// The canonical form of a scalar key value, comparable for equality.
pub(crate) fn canonical_of(value: Option<&Value>) -> String {
    match value
        .and_then(Value::as_object)
        .and_then(|object| object.iter().next())
    {
        Some((kind, Value::String(text))) if kind == "N" => {
            canonical_part(kind, &attribute::canonical_number(text))
        }
        Some((kind, Value::String(text))) => canonical_part(kind, text),
        _ => String::new(),
    }
}

/// Checks the index key attributes `item` carries against their declared
/// types, as a write does: a wrong type or an empty value is refused.
pub fn check_index_keys(table: &Table, item: &Item) -> Result<(), ApiError> {
    for index in &table.indexes {
        for key in index.key_attributes() {
            let Some(value) = item.get(&key.name) else {
                continue;
            };
            let typed = value.as_object().and_then(|object| object.iter().next());
            let actual = typed.map_or("unknown", |(kind, _)| kind.as_str());
            if actual != key.kind {
                return Err(ApiError::validation(format!(
                    "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {actual} IndexName: {}",
                    key.name, key.kind, index.name
                )));
            }
            if matches!(typed, Some((_, Value::String(text))) if text.is_empty()) {
                return Err(ApiError::validation(format!(
                    "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: {}, IndexKey: {}",
                    index.name, key.name
                )));
            }
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeySchemaInput {
    attribute_name: String,
    key_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProjectionInput {
    projection_type: Option<String>,
    non_key_attributes: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ThroughputInput {
    read_capacity_units: i64,
    write_capacity_units: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexInput {
    index_name: Option<String>,
    key_schema: Option<Vec<KeySchemaInput>>,
    projection: Option<ProjectionInput>,
    provisioned_throughput: Option<ThroughputInput>,
}

/// What CreateTable's index members are checked against.
pub struct TableKeys<'a> {
    /// The table's partition key.
    pub hash_key: &'a KeyAttribute,
    /// The table's sort key.
    pub range_key: Option<&'a KeyAttribute>,
    /// The AttributeDefinitions, as (name, type).
    pub definitions: &'a [(String, String)],
    /// Whether the table is billed on demand.
    pub on_demand: bool,
}

fn invalid(message: impl std::fmt::Display) -> ApiError {
    ApiError::validation(format!(
        "One or more parameter values were invalid: {message}"
    ))
}

/// Parses and checks CreateTable's LocalSecondaryIndexes and
/// GlobalSecondaryIndexes (raw JSON members), then checks that the
/// AttributeDefinitions are exactly the key attributes used.
pub fn parse_indexes(
    keys: &TableKeys<'_>,
    local: Option<&Value>,
    global: Option<&Value>,
) -> Result<Vec<SecondaryIndex>, ApiError> {
    let mut indexes = Vec::new();
    for (member, is_global) in [(local, false), (global, true)] {
        let Some(member) = member else {
            continue;
        };
        let entries: Vec<IndexInput> = serde_json::from_value(member.clone()).map_err(|error| {
            ApiError::serialization(format!(
                "{} is not a list of index definitions: {error}",
                if is_global {
                    "GlobalSecondaryIndexes"
                } else {
                    "LocalSecondaryIndexes"
                }
            ))
        })?;
        let kind = if is_global { "Global" } else { "Local" };
        if entries.is_empty() {
            return Err(invalid(format!("List of {kind}SecondaryIndexes is empty")));
        }
        let max = if is_global {
            MAX_GLOBAL_INDEXES
        } else {
            MAX_LOCAL_INDEXES
        };
        if entries.len() > max {
            return Err(invalid(format!(
                "{kind}SecondaryIndexes count exceeds the per-table limit of {max}"
            )));
        }
        for entry in entries {
            indexes.push(parse_index(keys, entry, is_global)?);
        }
    }
    let mut names: Vec<&str> = indexes.iter().map(|index| index.name.as_str()).collect();
    names.sort_unstable();
    if let Some(pair) = names.windows(2).find(|pair| pair.first() == pair.get(1)) {
        return Err(invalid(format!(
            "Duplicate index name: {}",
            pair.first().copied().unwrap_or_default()
        )));
    }
    let projected: usize = indexes
        .iter()
        .map(|index| match &index.projection {
            Projection::Include(names) => names.len(),
            _ => 0,
        })
        .sum();
    if projected > MAX_PROJECTED_ATTRIBUTES {
        return Err(invalid(format!(
            "The number of projected attributes across all indexes exceeds the limit of {MAX_PROJECTED_ATTRIBUTES}"
        )));
    }
    check_definitions_used(keys, &indexes)?;
    Ok(indexes)
}

fn parse_index(
    keys: &TableKeys<'_>,
    entry: IndexInput,
    is_global: bool,
) -> Result<SecondaryIndex, ApiError> {
    let name = entry
        .index_name
        .ok_or_else(|| invalid("IndexName is required for every secondary index"))?;
    if !(3..=255).contains(&name.len())
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
        )));
    }
    let schema = entry
        .key_schema
        .ok_or_else(|| invalid(format!("KeySchema is required for index: {name}")))?;
    let attribute = |element: &KeySchemaInput| -> Result<KeyAttribute, ApiError> {
        let (_, kind) = keys
            .definitions
            .iter()
            .find(|(defined, _)| *defined == element.attribute_name)
            .ok_or_else(|| {
                invalid(format!(
                    "Some index key attributes are not defined in AttributeDefinitions. Keys: [{}], AttributeDefinitions: [{}]",
                    element.attribute_name,
                    keys.definitions
                        .iter()
                        .map(|(defined, _)| defined.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        Ok(KeyAttribute {
            name: element.attribute_name.clone(),
            kind: kind.clone(),
        })
    };
    let (hash_key, range_key) = match schema.as_slice() {
        [hash] if hash.key_type == "HASH" => (attribute(hash)?, None),
        [hash, range] if hash.key_type == "HASH" && range.key_type == "RANGE" => {
            if hash.attribute_name == range.attribute_name {
                return Err(invalid(format!(
                    "Both the Hash Key and the Range Key element in the KeySchema have the same name for index: {name}"
                )));
            }
            (attribute(hash)?, Some(attribute(range)?))
        }
        _ => {
            return Err(invalid(format!(
                "Index KeySchema must be a HASH key, optionally followed by a RANGE key, for index: {name}"
            )));
        }
    };
    if !is_global {
        let Some(table_range) = keys.range_key else {
            return Err(invalid(
                "Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex",
            ));
        };
        if hash_key.name != keys.hash_key.name {
            return Err(invalid(format!(
                "Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {}, table hash key: {}",
                hash_key.name, keys.hash_key.name
            )));
        }
        let Some(range) = &range_key else {
            return Err(invalid(format!(
                "Index KeySchema must have a range key for local secondary index: {name}"
            )));
        };
        if range.name == table_range.name {
            return Err(invalid(format!(
                "Index KeySchema must have a range key different from the table's for local secondary index: {name}"
            )));
        }
    }
    let projection = parse_projection(&name, entry.projection)?;
    let throughput = match (is_global, keys.on_demand, entry.provisioned_throughput) {
        (false, _, None) => (0, 0),
        (false, _, Some(_)) => {
            return Err(invalid(format!(
                "ProvisionedThroughput cannot be specified for a local secondary index: {name}"
            )));
        }
        (true, true, None) => (0, 0),
        (true, true, Some(_)) => {
            return Err(invalid(format!(
                "ProvisionedThroughput should not be specified for index: {name} when BillingMode is PAY_PER_REQUEST"
            )));
        }
        (true, false, Some(t)) if t.read_capacity_units >= 1 && t.write_capacity_units >= 1 => {
            (t.read_capacity_units, t.write_capacity_units)
        }
        (true, false, _) => {
            return Err(invalid(format!(
                "ProvisionedThroughput must be specified for index: {name}"
            )));
        }
    };
    Ok(SecondaryIndex {
        name,
        global: is_global,
        hash_key,
        range_key,
        projection,
        throughput,
    })
}

fn parse_projection(
    name: &str,
    projection: Option<ProjectionInput>,
) -> Result<Projection, ApiError> {
    let projection =
        projection.ok_or_else(|| invalid(format!("Projection is required for index: {name}")))?;
    match (
        projection.projection_type.as_deref(),
        projection.non_key_attributes,
    ) {
        (Some("ALL"), None) => Ok(Projection::All),
        (Some("KEYS_ONLY"), None) => Ok(Projection::KeysOnly),
        (Some(kind @ ("ALL" | "KEYS_ONLY")), Some(_)) => Err(invalid(format!(
            "ProjectionType is {kind}, but NonKeyAttributes is specified"
        ))),
        (Some("INCLUDE"), Some(names)) if !names.is_empty() => {
            let mut seen: Vec<&String> = names.iter().collect();
            seen.sort_unstable();
            if let Some(pair) = seen.windows(2).find(|pair| pair.first() == pair.get(1)) {
                return Err(invalid(format!(
                    "Duplicate NonKeyAttributes: {} for index: {name}",
                    pair.first().map_or("", |text| text.as_str())
                )));
            }
            Ok(Projection::Include(names))
        }
        (Some("INCLUDE"), _) => Err(invalid(format!(
            "NonKeyAttributes must be specified when ProjectionType is INCLUDE for index: {name}"
        ))),
        (None, _) => Err(invalid(format!(
            "ProjectionType is required for index: {name}"
        ))),
        (Some(other), _) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{other}' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
        ))),
    }
}

/// AttributeDefinitions must name exactly the key attributes of the table
/// and its indexes, each once.
fn check_definitions_used(
    keys: &TableKeys<'_>,
    indexes: &[SecondaryIndex],
) -> Result<(), ApiError> {
    let mut used: Vec<&str> = std::iter::once(keys.hash_key)
        .chain(keys.range_key)
        .chain(indexes.iter().flat_map(SecondaryIndex::key_attributes))
        .map(|key| key.name.as_str())
        .collect();
    used.sort_unstable();
    used.dedup();
    let mut defined: Vec<&str> = keys
        .definitions
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    defined.sort_unstable();
    let mut unique = defined.clone();
    unique.dedup();
    if unique.len() != defined.len() {
        return Err(invalid("Duplicate AttributeName in AttributeDefinitions"));
    }
    if defined == used {
        return Ok(());
    }
    if indexes.is_empty() {
        return Err(invalid(
            "Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ));
    }
    Err(invalid(format!(
        "Some AttributeDefinitions are not used. AttributeDefinitions: [{}], keys used: [{}]",
        defined.join(", "),
        used.join(", ")
    )))
}

/// What UpdateTable's GlobalSecondaryIndexUpdates asks for.
#[derive(Debug)]
pub enum IndexChange {
    /// Add this global index (its entries exist at once: they are derived).
    Create(SecondaryIndex),
    /// Remove the global index of this name.
    Delete(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DefinitionInput {
    attribute_name: String,
    attribute_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexNameInput {
    index_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct IndexUpdateInput {
    create: Option<IndexInput>,
    delete: Option<IndexNameInput>,
    update: Option<Value>,
}

/// Parses and checks UpdateTable's GlobalSecondaryIndexUpdates (one Create
/// or Delete per call, as DynamoDB allows) with the AttributeDefinitions
/// that come with it.
pub fn parse_index_update(
    table: &Table,
    definitions: Option<&Value>,
    updates: &Value,
) -> Result<IndexChange, ApiError> {
    let serialization = |error: serde_json::Error| ApiError::serialization(error.to_string());
    let updates: Vec<IndexUpdateInput> =
        serde_json::from_value(updates.clone()).map_err(serialization)?;
    let update = match <[IndexUpdateInput; 1]>::try_from(updates) {
        Ok([update]) => update,
        Err(updates) => {
            return Err(ApiError::new(
                crate::error::ErrorCode::LimitExceededException,
                format!(
                    "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table; the request has {}",
                    updates.len()
                ),
            ));
        }
    };
    let mut merged: Vec<(String, String)> = attribute_definitions(table)
        .iter()
        .filter_map(|definition| {
            Some((
                definition.get("AttributeName")?.as_str()?.to_owned(),
                definition.get("AttributeType")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let given: Vec<DefinitionInput> = match definitions {
        Some(definitions) => serde_json::from_value(definitions.clone()).map_err(serialization)?,
        None => Vec::new(),
    };
    for definition in given {
        if !matches!(definition.attribute_type.as_str(), "S" | "N" | "B") {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{}' at 'attributeDefinitions.1.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]",
                definition.attribute_type
            )));
        }
        match merged
            .iter()
            .find(|(name, _)| *name == definition.attribute_name)
        {
            Some((_, kind)) if *kind != definition.attribute_type => {
                return Err(invalid(format!(
                    "Cannot change the type of attribute {} from {kind} to {}",
                    definition.attribute_name, definition.attribute_type
                )));
            }
            Some(_) => {}
            None => merged.push((definition.attribute_name, definition.attribute_type)),
        }
    }
    match (update.create, update.delete, update.update) {
        (Some(create), None, None) => {
            let keys = TableKeys {
                hash_key: &table.hash_key,
                range_key: table.range_key.as_ref(),
                definitions: &merged,
                on_demand: table.billing_mode == "PAY_PER_REQUEST",
            };
            let index = parse_index(&keys, create, true)?;
            if table
                .indexes
                .iter()
                .any(|existing| existing.name == index.name)
            {
                return Err(invalid(format!(
                    "Attempting to create an index which already exists: {}",
                    index.name
                )));
            }
            if table
                .indexes
                .iter()
                .filter(|existing| existing.global)
                .count()
                >= MAX_GLOBAL_INDEXES
            {
                return Err(invalid(format!(
                    "GlobalSecondaryIndexes count exceeds the per-table limit of {MAX_GLOBAL_INDEXES}"
                )));
            }
            let mut all = table.indexes.clone();
            all.push(index.clone());
            check_definitions_used(&keys, &all)?;
            Ok(IndexChange::Create(index))
        }
        (None, Some(delete), None) => {
            if !table
                .indexes
                .iter()
                .any(|index| index.global && index.name == delete.index_name)
            {
                return Err(ApiError::not_found(format!(
                    "Requested resource not found: Table: {} Index: {} not found",
                    table.name, delete.index_name
                )));
            }
            Ok(IndexChange::Delete(delete.index_name))
        }
        (None, None, Some(_)) => Err(ApiError::validation(
            "changing a global secondary index's throughput with UpdateTable is not supported by streamgate-local yet",
        )),
        _ => Err(invalid(
            "One of Create, Update or Delete must be given in each GlobalSecondaryIndexUpdate",
        )),
    }
}

/// The AttributeDefinitions DescribeTable shows: the table's keys, then the
/// indexes' other keys, each once.
pub fn attribute_definitions(table: &Table) -> Vec<Value> {
    let mut seen: Vec<&str> = Vec::new();
    let mut definitions = Vec::new();
    let all = std::iter::once(&table.hash_key)
        .chain(table.range_key.as_ref())
        .chain(
            table
                .indexes
                .iter()
                .flat_map(SecondaryIndex::key_attributes),
        );
    for key in all {
        if !seen.contains(&key.name.as_str()) {
            seen.push(&key.name);
            definitions.push(json!({ "AttributeName": key.name, "AttributeType": key.kind }));
        }
    }
    definitions
}

/// The members DescribeTable adds for the table's indexes.
pub fn describe_indexes(table: &Table, description: &mut Map<String, Value>) {
    for (global, member) in [
        (false, "LocalSecondaryIndexes"),
        (true, "GlobalSecondaryIndexes"),
    ] {
        let described: Vec<Value> = table
            .indexes
            .iter()
            .filter(|index| index.global == global)
            .map(|index| index.describe(table))
            .collect();
        if !described.is_empty() {
            description.insert(member.to_owned(), Value::Array(described));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    /// Parses `local` and `global` (JSON, `null` for absent) for a table
    /// keyed pk (S) + sk (N) with AttributeDefinitions `definitions`.
    fn check(definitions: &str, local: &str, global: &str, expected: Expect) {
        let definitions: Vec<(String, String)> = definitions
            .split_whitespace()
            .map(|pair| {
                let (name, kind) = pair.split_once(':').unwrap();
                (name.to_owned(), kind.to_owned())
            })
            .collect();
        let hash_key = KeyAttribute {
            name: "pk".into(),
            kind: "S".into(),
        };
        let range_key = KeyAttribute {
            name: "sk".into(),
            kind: "N".into(),
        };
        let keys = TableKeys {
            hash_key: &hash_key,
            range_key: Some(&range_key),
            definitions: &definitions,
            on_demand: true,
        };
        let local: Value = serde_json::from_str(local).unwrap();
        let global: Value = serde_json::from_str(global).unwrap();
        let actual = match parse_indexes(
            &keys,
            Some(&local).filter(|v| !v.is_null()),
            Some(&global).filter(|v| !v.is_null()),
        ) {
            Ok(indexes) => indexes
                .iter()
                .map(|index| {
                    format!(
                        "{}{} {}{} {:?}",
                        if index.global { "global " } else { "local " },
                        index.name,
                        index.hash_key.name,
                        index
                            .range_key
                            .as_ref()
                            .map_or(String::new(), |r| format!("+{}", r.name)),
                        index.projection
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Err(error) => format!("{}: {}", error.code.as_str(), error.message),
        };
        expected.assert_eq(&actual);
    }

    const BY_STATUS: &str = r#"[{"IndexName":"by_status","KeySchema":[{"AttributeName":"status","KeyType":"HASH"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]"#;

    #[test]
    fn valid_indexes_parse() {
        check(
            "pk:S sk:N status:S at:N",
            r#"[{"IndexName":"by_at","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"at","KeyType":"RANGE"}],"Projection":{"ProjectionType":"INCLUDE","NonKeyAttributes":["note"]}}]"#,
            BY_STATUS,
            expect![[r#"
                local by_at pk+at Include(["note"])
                global by_status status KeysOnly"#]],
        );
    }

    #[test]
    fn definitions_must_be_used_exactly() {
        check(
            "pk:S sk:N status:S extra:S",
            "null",
            BY_STATUS,
            expect![
                "ValidationException: One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [extra, pk, sk, status], keys used: [pk, sk, status]"
            ],
        );
        check(
            "pk:S sk:N",
            "null",
            BY_STATUS,
            expect![
                "ValidationException: One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [status], AttributeDefinitions: [pk, sk]"
            ],
        );
    }

    #[test]
    fn local_indexes_share_the_table_hash_key() {
        check(
            "pk:S sk:N status:S at:N",
            r#"[{"IndexName":"by_at","KeySchema":[{"AttributeName":"status","KeyType":"HASH"},{"AttributeName":"at","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}}]"#,
            "null",
            expect![
                "ValidationException: One or more parameter values were invalid: Index KeySchema does not have the same leading hash key as table KeySchema for index: by_at. index hash key: status, table hash key: pk"
            ],
        );
    }

    #[test]
    fn projections_and_names_are_checked() {
        check(
            "pk:S sk:N status:S",
            "null",
            r#"[{"IndexName":"by_status","KeySchema":[{"AttributeName":"status","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL","NonKeyAttributes":["a"]}}]"#,
            expect![
                "ValidationException: One or more parameter values were invalid: ProjectionType is ALL, but NonKeyAttributes is specified"
            ],
        );
        check(
            "pk:S sk:N status:S",
            "null",
            r#"[{"IndexName":"by_status","KeySchema":[{"AttributeName":"status","KeyType":"HASH"}],"Projection":{"ProjectionType":"SOME"}}]"#,
            expect![
                "ValidationException: 1 validation error detected: Value 'SOME' at 'projection.projectionType' failed to satisfy constraint: Member must satisfy enum value set: [ALL, INCLUDE, KEYS_ONLY]"
            ],
        );
        let twice = format!(
            "[{},{}]",
            BY_STATUS.trim_matches(['[', ']']),
            BY_STATUS.trim_matches(['[', ']'])
        );
        check(
            "pk:S sk:N status:S",
            "null",
            &twice,
            expect![
                "ValidationException: One or more parameter values were invalid: Duplicate index name: by_status"
            ],
        );
        check(
            "pk:S sk:N status:S",
            "null",
            &BY_STATUS.replace("by_status", "x"),
            expect![
                "ValidationException: 1 validation error detected: Value 'x' at 'indexName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 3 and 255"
            ],
        );
    }
}
