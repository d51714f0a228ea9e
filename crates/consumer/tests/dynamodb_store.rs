//! The DynamoDB store of processed records against the local cloud: a
//! conditional put records an identity once, and a second writer of the same
//! identity learns it was already there.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use streamgate_consumer::idempotency::{DynamoDbProcessedRecords, ProcessedRecords};
use streamgate_local::LocalCloud;

#[tokio::test]
async fn records_each_identity_once() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let client =
        aws_sdk_dynamodb::Client::new(&cloud.sdk_config("111111111111", "eu-west-1").unwrap());
    client
        .create_table()
        .table_name("processed")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("record")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("record")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    let store = DynamoDbProcessedRecords::new(client.clone(), "processed")
        .key_attribute("record")
        .expire_after(Duration::from_secs(3 * 24 * 3600));
    assert!(!store.contains("seq-1").await.unwrap());
    assert!(store.record("seq-1").await.unwrap(), "first writer");
    assert!(!store.record("seq-1").await.unwrap(), "second writer");
    assert!(store.contains("seq-1").await.unwrap());
    let item = client
        .get_item()
        .table_name("processed")
        .key(
            "record",
            aws_sdk_dynamodb::types::AttributeValue::S("seq-1".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert!(item.contains_key("expires_at"), "{item:?}");

    // An expiry too far away to add to the clock is written as the
    // largest epoch second, not a panic.
    let forever = DynamoDbProcessedRecords::new(client.clone(), "processed")
        .key_attribute("record")
        .expire_after(Duration::MAX);
    assert!(forever.record("seq-forever").await.unwrap());
    let item = client
        .get_item()
        .table_name("processed")
        .key(
            "record",
            aws_sdk_dynamodb::types::AttributeValue::S("seq-forever".into()),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(
        item.get("expires_at").and_then(|v| v.as_n().ok()),
        Some(&u64::MAX.to_string()),
        "{item:?}"
    );

    let missing = DynamoDbProcessedRecords::new(client, "no-such-table");
    let err = missing.record("seq-2").await.unwrap_err();
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    cloud.stop().await;
}
