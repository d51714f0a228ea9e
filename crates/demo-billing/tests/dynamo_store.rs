//! The DynamoDB store against the local cloud: the conditional transaction
//! counts each change once, refuses redeliveries and older records of the
//! same key, and keeps keys independent of each other; a source item with a
//! key near DynamoDB's limit still gets a valid marker, and a write the
//! service refuses as invalid is a permanent error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};
use demo_billing::{
    Applied, DynamoUsageStore, StoreError, TenantDelta, UsageChange, UsageStore, UsageTable,
    marker_key, plan_change, total_key,
};
use streamgate_local::LocalCloud;

const ACCOUNT: &str = "111111111111";
const REGION: &str = "eu-west-1";

fn change(key: &str, sequence: u64, tenant: &str, documents: i64, pages: i64) -> UsageChange {
    let source_item = format!("test#{key}");
    UsageChange {
        marker_key: marker_key(&source_item),
        source_item,
        sequence: format!("{sequence:0>40}"),
        deltas: vec![TenantDelta {
            account: "222222222222".to_owned(),
            tenant: tenant.to_owned(),
            documents,
            pages,
        }],
    }
}

async fn total(client: &aws_sdk_dynamodb::Client, tenant: &str) -> (String, String) {
    let item = client
        .get_item()
        .table_name("tenant-usage")
        .key("pk", AttributeValue::S(total_key("222222222222", tenant)))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no total for tenant {tenant}"));
    let number = |name: &str| item[name].as_n().unwrap().clone();
    (number("documents"), number("pages"))
}

async fn create_usage_table(client: &aws_sdk_dynamodb::Client) {
    client
        .create_table()
        .table_name("tenant-usage")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn conditional_transaction_applies_each_change_once() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(ACCOUNT, REGION).unwrap());
    create_usage_table(&client).await;
    let store = DynamoUsageStore::new(client.clone(), UsageTable("tenant-usage".to_owned()));

    // Key a: insert, then a page change; key b: insert, processed in between.
    let insert_a = change("a", 100, "acme", 1, 10);
    let insert_b = change("b", 7, "acme", 1, 3);
    let modify_a = change("a", 250, "acme", 0, 2);
    assert_eq!(store.apply(&insert_a).await.unwrap(), Applied::Applied);
    assert_eq!(store.apply(&insert_b).await.unwrap(), Applied::Applied);
    assert_eq!(store.apply(&modify_a).await.unwrap(), Applied::Applied);
    assert_eq!(
        total(&client, "acme").await,
        ("2".to_owned(), "15".to_owned())
    );

    // Redeliveries, and an older record of key a, change nothing.
    for again in [&insert_a, &insert_b, &modify_a] {
        assert_eq!(store.apply(again).await.unwrap(), Applied::AlreadyApplied);
    }
    assert_eq!(
        total(&client, "acme").await,
        ("2".to_owned(), "15".to_owned())
    );

    // A removal later in key b's order still applies.
    let remove_b = change("b", 8, "acme", -1, -3);
    assert_eq!(store.apply(&remove_b).await.unwrap(), Applied::Applied);
    assert_eq!(
        total(&client, "acme").await,
        ("1".to_owned(), "12".to_owned())
    );

    cloud.stop().await;
}

#[tokio::test]
async fn missing_table_is_a_transaction_error_naming_it() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(ACCOUNT, REGION).unwrap());
    let store = DynamoUsageStore::new(client, UsageTable("no-such-table".to_owned()));
    let error = store
        .apply(&change("a", 1, "acme", 1, 1))
        .await
        .unwrap_err();
    assert!(
        error.to_string().starts_with(&format!(
            "transaction on no-such-table for {} failed",
            marker_key("test#a")
        )),
        "{error}"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_source_key_near_the_limit_gets_a_marker_and_an_invalid_write_is_permanent() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(ACCOUNT, REGION).unwrap());
    create_usage_table(&client).await;
    let store = DynamoUsageStore::new(client.clone(), UsageTable("tenant-usage".to_owned()));

    // A 2,000-byte partition key in the source: the stream ARN and the key
    // together exceed the 2,048 bytes a key of tenant-usage may have.
    let long = "k".repeat(2_000);
    let input = format!(
        r#"{{"Records": [{{"eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb",
          "awsRegion": "eu-west-1",
          "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
          "dynamodb": {{"Keys": {{"pk": {{"S": "{long}"}}}},
            "NewImage": {{"pk": {{"S": "{long}"}}, "tenant": {{"S": "acme"}}, "pages": {{"N": "9"}}}},
            "SequenceNumber": "5", "StreamViewType": "NEW_AND_OLD_IMAGES"}}}}]}}"#
    );
    let event = streamgate_records::decode_event(input.as_bytes())
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    let planned = plan_change(&event).unwrap().change.unwrap();
    assert_eq!(store.apply(&planned).await.unwrap(), Applied::Applied);
    assert_eq!(
        store.apply(&planned).await.unwrap(),
        Applied::AlreadyApplied
    );
    assert_eq!(
        total(&client, "acme").await,
        ("1".to_owned(), "9".to_owned())
    );
    let marker = client
        .get_item()
        .table_name("tenant-usage")
        .key("pk", AttributeValue::S(planned.marker_key.clone()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(marker["source_item"].as_s().unwrap(), &planned.source_item);

    // A marker key past the limit is refused as invalid: no retry helps.
    let mut too_long = planned.clone();
    too_long.marker_key = format!("doc#{}", planned.source_item);
    let error = store.apply(&too_long).await.unwrap_err();
    assert!(matches!(error, StoreError::Invalid { .. }), "{error:?}");
    assert!(error.is_permanent());
    cloud.stop().await;
}
