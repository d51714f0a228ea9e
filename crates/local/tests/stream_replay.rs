//! Property: any sequence of writes (puts, deletes, conditional updates,
//! batches, transactions) leaves a stream whose replay rebuilds the table
//! exactly, with no record for a write that changed nothing, INSERT only
//! for a new key, MODIFY with the previous image as its old image, and
//! REMOVE only for an item that existed. Runs in process, no server.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use streamgate_local::identity::Caller;
use streamgate_local::state::{Cloud, ShardRollover};

const ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";

#[derive(Debug, Clone)]
enum Write {
    Put { key: u8, value: u8 },
    Delete { key: u8 },
    Add { key: u8, value: u8 },
    SetIfAbsent { key: u8, value: u8 },
    Remove { key: u8 },
    Batch { keys: Vec<u8>, value: u8 },
    Transaction { first: u8, second: u8, value: u8 },
}

fn write() -> impl Strategy<Value = Write> {
    let key = 0_u8..4;
    let value = 0_u8..3;
    prop_oneof![
        (key.clone(), value.clone()).prop_map(|(key, value)| Write::Put { key, value }),
        key.clone().prop_map(|key| Write::Delete { key }),
        (key.clone(), value.clone()).prop_map(|(key, value)| Write::Add { key, value }),
        (key.clone(), value.clone()).prop_map(|(key, value)| Write::SetIfAbsent { key, value }),
        key.clone().prop_map(|key| Write::Remove { key }),
        (
            proptest::collection::btree_set(key.clone(), 1..4),
            value.clone()
        )
            .prop_map(|(keys, value)| Write::Batch {
                keys: keys.into_iter().collect(),
                value
            }),
        (key.clone(), key, value).prop_map(|(first, second, value)| Write::Transaction {
            first,
            second,
            value
        }),
    ]
}

fn call(cloud: &Cloud, caller: &Caller, operation: &str, body: Value) -> Result<Value, String> {
    streamgate_local::dynamodb::handle(
        cloud,
        caller,
        REGION,
        operation,
        body.to_string().as_bytes(),
    )
    .map_err(|error| error.to_string())
}

fn stream_call(cloud: &Cloud, caller: &Caller, operation: &str, body: Value) -> Value {
    let text = streamgate_local::streams::handle(
        cloud,
        caller,
        REGION,
        operation,
        body.to_string().as_bytes(),
    )
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn key(k: u8) -> Value {
    json!({ "pk": { "S": format!("k{k}") } })
}

fn apply(cloud: &Cloud, caller: &Caller, write: &Write) {
    let outcome = match write {
        Write::Put { key: k, value } => call(
            cloud,
            caller,
            "PutItem",
            json!({
                "TableName": "totals",
                "Item": { "pk": { "S": format!("k{k}") }, "v": { "N": value.to_string() } },
            }),
        ),
        Write::Delete { key: k } => call(
            cloud,
            caller,
            "DeleteItem",
            json!({ "TableName": "totals", "Key": key(*k) }),
        ),
        Write::Add { key: k, value } => call(
            cloud,
            caller,
            "UpdateItem",
            json!({
                "TableName": "totals", "Key": key(*k),
                "UpdateExpression": "ADD v :n",
                "ExpressionAttributeValues": { ":n": { "N": value.to_string() } },
            }),
        ),
        Write::SetIfAbsent { key: k, value } => call(
            cloud,
            caller,
            "UpdateItem",
            json!({
                "TableName": "totals", "Key": key(*k),
                "UpdateExpression": "SET v = if_not_exists(v, :n)",
                "ExpressionAttributeValues": { ":n": { "N": value.to_string() } },
            }),
        ),
        Write::Remove { key: k } => call(
            cloud,
            caller,
            "UpdateItem",
            json!({
                "TableName": "totals", "Key": key(*k),
                "UpdateExpression": "REMOVE v",
                "ConditionExpression": "attribute_exists(pk)",
            }),
        ),
        Write::Batch { keys, value } => call(
            cloud,
            caller,
            "BatchWriteItem",
            json!({
                "RequestItems": { "totals": keys.iter().map(|k| if value % 2 == 0 {
                    json!({ "PutRequest": { "Item": { "pk": { "S": format!("k{k}") }, "w": { "N": value.to_string() } } } })
                } else {
                    json!({ "DeleteRequest": { "Key": key(*k) } })
                }).collect::<Vec<_>>() }
            }),
        ),
        Write::Transaction {
            first,
            second,
            value,
        } => call(
            cloud,
            caller,
            "TransactWriteItems",
            json!({
                "TransactItems": [
                    { "Update": { "TableName": "totals", "Key": key(*first), "UpdateExpression": "ADD v :n",
                        "ConditionExpression": "attribute_exists(pk)",
                        "ExpressionAttributeValues": { ":n": { "N": value.to_string() } } } },
                    { "Put": { "TableName": "totals", "Item": { "pk": { "S": format!("k{second}") }, "t": { "N": value.to_string() } } } },
                ]
            }),
        ),
    };
    if let Err(error) = outcome {
        // Failed conditions and a transaction naming one item twice are
        // expected refusals; anything else is a bug.
        assert!(
            error.starts_with("ConditionalCheckFailedException")
                || error.starts_with("TransactionCanceledException")
                || error.contains("multiple operations on one item"),
            "{write:?} failed: {error}"
        );
    }
}

fn replay(
    cloud: &Cloud,
    caller: &Caller,
    stream_arn: &str,
) -> BTreeMap<String, Map<String, Value>> {
    let description = stream_call(
        cloud,
        caller,
        "DescribeStream",
        json!({ "StreamArn": stream_arn }),
    );
    let mut table: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for shard in description["StreamDescription"]["Shards"]
        .as_array()
        .unwrap()
    {
        let mut iterator = stream_call(cloud, caller, "GetShardIterator", json!({
            "StreamArn": stream_arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON",
        }))["ShardIterator"].clone();
        loop {
            let page = stream_call(
                cloud,
                caller,
                "GetRecords",
                json!({ "ShardIterator": iterator }),
            );
            let records = page["Records"].as_array().unwrap();
            if records.is_empty() {
                break;
            }
            for record in records {
                let data = &record["dynamodb"];
                let pk = data["Keys"]["pk"]["S"].as_str().unwrap().to_owned();
                let current = table.get(&pk).cloned().map(Value::Object);
                match record["eventName"].as_str().unwrap() {
                    "INSERT" => {
                        assert!(current.is_none(), "INSERT of existing {pk}");
                        table.insert(pk, data["NewImage"].as_object().unwrap().clone());
                    }
                    "MODIFY" => {
                        assert_eq!(
                            current.as_ref(),
                            Some(&data["OldImage"]),
                            "MODIFY old image of {pk}"
                        );
                        assert_ne!(
                            data["OldImage"], data["NewImage"],
                            "MODIFY that changed nothing"
                        );
                        table.insert(pk, data["NewImage"].as_object().unwrap().clone());
                    }
                    "REMOVE" => {
                        assert_eq!(
                            current.as_ref(),
                            Some(&data["OldImage"]),
                            "REMOVE old image of {pk}"
                        );
                        table.remove(&pk);
                    }
                    other => panic!("unexpected event {other}"),
                }
            }
            iterator = page["NextShardIterator"].clone();
        }
    }
    table
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn replaying_the_stream_rebuilds_the_table(writes in proptest::collection::vec(write(), 1..40)) {
        let cloud = Cloud::new(&[ACCOUNT.to_owned()], ShardRollover::default());
        let caller = Caller::Root { account: ACCOUNT.to_owned() };
        call(&cloud, &caller, "CreateTable", json!({
            "TableName": "totals",
            "AttributeDefinitions": [{ "AttributeName": "pk", "AttributeType": "S" }],
            "KeySchema": [{ "AttributeName": "pk", "KeyType": "HASH" }],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": { "StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES" },
        })).unwrap();
        for write in &writes {
            apply(&cloud, &caller, write);
        }
        let described = call(&cloud, &caller, "DescribeTable", json!({ "TableName": "totals" })).unwrap();
        let stream_arn = described["Table"]["LatestStreamArn"].as_str().unwrap().to_owned();
        let rebuilt = replay(&cloud, &caller, &stream_arn);
        let scanned = call(&cloud, &caller, "Scan", json!({ "TableName": "totals" })).unwrap();
        let actual: BTreeMap<String, Map<String, Value>> = scanned["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| (item["pk"]["S"].as_str().unwrap().to_owned(), item.as_object().unwrap().clone()))
            .collect();
        prop_assert_eq!(rebuilt, actual);
    }
}
