//! The DynamoDB store against the local cloud: the conditional transaction
//! counts each change once, refuses redeliveries and older records of the
//! same key, and keeps keys independent of each other.

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
use demo_billing::{Applied, DynamoUsageStore, TenantDelta, UsageChange, UsageStore, UsageTable};
use streamgate_local::LocalCloud;

const ACCOUNT: &str = "111111111111";
const REGION: &str = "eu-west-1";

fn change(key: &str, sequence: u64, tenant: &str, documents: i64, pages: i64) -> UsageChange {
    UsageChange {
        marker_key: format!("doc#test#{key}"),
        sequence: format!("{sequence:0>40}"),
        deltas: vec![TenantDelta {
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
        .key("pk", AttributeValue::S(format!("tenant#{tenant}")))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item
        .unwrap_or_else(|| panic!("no total for tenant {tenant}"));
    let number = |name: &str| item[name].as_n().unwrap().clone();
    (number("documents"), number("pages"))
}

#[tokio::test]
async fn conditional_transaction_applies_each_change_once() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let client = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(ACCOUNT, REGION).unwrap());
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
        error
            .to_string()
            .starts_with("transaction on no-such-table for doc#test#a failed"),
        "{error}"
    );
    cloud.stop().await;
}
