//! Secondary indexes through aws-sdk-dynamodb: CreateTable's checks,
//! DescribeTable's index members, Query and Scan of local and global
//! indexes (sparse, projected, paged with the table's and the index's keys)
//! and the index key type checks of writes.

use crate::common::{B, definition, describe, dynamodb, key, root, start};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{
    BillingMode, GlobalSecondaryIndex, KeyType, LocalSecondaryIndex, Projection, ProjectionType,
    ScalarAttributeType, Select,
};
use expect_test::expect;
use std::collections::HashMap;

fn projection(kind: ProjectionType, non_key: &[&str]) -> Projection {
    let mut builder = Projection::builder().projection_type(kind);
    for name in non_key {
        builder = builder.non_key_attributes(*name);
    }
    builder.build()
}

/// `orders`: pk (S) + sk (N); local index `by_spend` on pk + spend (N),
/// projecting KEYS_ONLY; global index `by_status` on status (S) + placed
/// (N), projecting `note` besides the keys.
fn orders_table(client: &Client) -> CreateTableFluentBuilder {
    client
        .create_table()
        .table_name("orders")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("sk", ScalarAttributeType::N))
        .attribute_definitions(definition("spend", ScalarAttributeType::N))
        .attribute_definitions(definition("status", ScalarAttributeType::S))
        .attribute_definitions(definition("placed", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_spend")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("spend", KeyType::Range))
                .projection(projection(ProjectionType::KeysOnly, &[]))
                .build()
                .unwrap(),
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_status")
                .key_schema(key("status", KeyType::Hash))
                .key_schema(key("placed", KeyType::Range))
                .projection(projection(ProjectionType::Include, &["note"]))
                .build()
                .unwrap(),
        )
}

fn render(item: &HashMap<String, Av>) -> String {
    let mut pairs: Vec<String> = item
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Av::S(text) | Av::N(text) => text.clone(),
                other => format!("{other:?}"),
            };
            format!("{name}={text}")
        })
        .collect();
    pairs.sort();
    pairs.join(",")
}

async fn put_order(client: &Client, sk: u32, total: u32, status: Option<&str>) {
    let mut request = client
        .put_item()
        .table_name("orders")
        .item("pk", Av::S("tenant".into()))
        .item("sk", Av::N(sk.to_string()))
        .item("spend", Av::N(total.to_string()))
        .item("placed", Av::N((100 - sk).to_string()))
        .item("note", Av::S(format!("note {sk}")))
        .item("secret", Av::S("not projected".into()));
    if let Some(status) = status {
        request = request.item("status", Av::S(status.into()));
    }
    request.send().await.unwrap();
}

#[tokio::test]
async fn create_table_checks_and_describes_indexes() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    let unused = client
        .create_table()
        .table_name("unused")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("extra", ScalarAttributeType::S))
        .attribute_definitions(definition("status", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_status")
                .key_schema(key("status", KeyType::Hash))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Some AttributeDefinitions are not used. AttributeDefinitions: [extra, pk, status], keys used: [pk, status]"]
        .assert_eq(&describe(&unused));
    let local_without_range = client
        .create_table()
        .table_name("no_range")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("spend", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .local_secondary_indexes(
            LocalSecondaryIndex::builder()
                .index_name("by_spend")
                .key_schema(key("pk", KeyType::Hash))
                .key_schema(key("spend", KeyType::Range))
                .projection(projection(ProjectionType::All, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex"]
        .assert_eq(&describe(&local_without_range));
    let include_without_names = client
        .create_table()
        .table_name("include")
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("status", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name("by_status")
                .key_schema(key("status", KeyType::Hash))
                .projection(projection(ProjectionType::Include, &[]))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: NonKeyAttributes must be specified when ProjectionType is INCLUDE for index: by_status"]
        .assert_eq(&describe(&include_without_names));

    orders_table(&client).send().await.unwrap();
    put_order(&client, 1, 30, Some("open")).await;
    put_order(&client, 2, 10, None).await;
    let table = client
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let definitions: Vec<String> = table
        .attribute_definitions()
        .iter()
        .map(|d| format!("{}:{}", d.attribute_name(), d.attribute_type()))
        .collect();
    expect!["pk:S sk:N spend:N status:S placed:N"].assert_eq(&definitions.join(" "));
    let local = &table.local_secondary_indexes()[0];
    let arn = local.index_arn().unwrap();
    expect!["by_spend KEYS_ONLY items 2 table/orders/index/by_spend"].assert_eq(&format!(
        "{} {} items {} {}",
        local.index_name().unwrap(),
        local.projection().unwrap().projection_type().unwrap(),
        local.item_count().unwrap(),
        arn.rsplit_once(':').map_or(arn, |(_, resource)| resource),
    ));
    let global = &table.global_secondary_indexes()[0];
    expect!["by_status INCLUDE [\"note\"] ACTIVE items 1"].assert_eq(&format!(
        "{} {} {:?} {} items {}",
        global.index_name().unwrap(),
        global.projection().unwrap().projection_type().unwrap(),
        global.projection().unwrap().non_key_attributes(),
        global.index_status().unwrap(),
        global.item_count().unwrap(),
    ));
    cloud.stop().await;
}

#[tokio::test]
async fn queries_and_scans_read_sparse_projected_indexes_in_pages() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    orders_table(&client).send().await.unwrap();
    for (sk, total, status) in [
        (1, 30, Some("open")),
        (2, 10, Some("open")),
        (3, 20, None),
        (4, 40, Some("open")),
        (5, 50, Some("closed")),
    ] {
        put_order(&client, sk, total, status).await;
    }
    // Global index, paged two at a time: only items with a status, sorted
    // by `placed` (100 - sk), projecting the keys and `note`.
    let mut pages = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name("orders")
            .index_name("by_status")
            .key_condition_expression("#s = :open")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":open", Av::S("open".into()))
            .limit(2)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        let items: Vec<String> = page.items().iter().map(render).collect();
        let last = page.last_evaluated_key.as_ref().map(render);
        pages.push(format!("{} / last {last:?}", items.join(" ; ")));
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    expect![[r#"
        note=note 4,pk=tenant,placed=96,sk=4,status=open ; note=note 2,pk=tenant,placed=98,sk=2,status=open / last Some("pk=tenant,placed=98,sk=2,status=open")
        note=note 1,pk=tenant,placed=99,sk=1,status=open / last None"#]]
    .assert_eq(&pages.join("\n"));
    // Local index, descending by spend, keys only unless whole items are asked for.
    let by_spend = client
        .query()
        .table_name("orders")
        .index_name("by_spend")
        .key_condition_expression("pk = :pk AND spend BETWEEN :low AND :high")
        .expression_attribute_values(":pk", Av::S("tenant".into()))
        .expression_attribute_values(":low", Av::N("15".into()))
        .expression_attribute_values(":high", Av::N("45".into()))
        .scan_index_forward(false)
        .send()
        .await
        .unwrap();
    let items: Vec<String> = by_spend.items().iter().map(render).collect();
    expect!["pk=tenant,sk=4,spend=40 ; pk=tenant,sk=1,spend=30 ; pk=tenant,sk=3,spend=20"]
        .assert_eq(&items.join(" ; "));
    let whole = client
        .query()
        .table_name("orders")
        .index_name("by_spend")
        .key_condition_expression("pk = :pk AND spend < :low")
        .expression_attribute_values(":pk", Av::S("tenant".into()))
        .expression_attribute_values(":low", Av::N("15".into()))
        .select(Select::AllAttributes)
        .send()
        .await
        .unwrap();
    let items: Vec<String> = whole.items().iter().map(render).collect();
    expect!["note=note 2,pk=tenant,placed=98,secret=not projected,sk=2,spend=10,status=open"]
        .assert_eq(&items.join(" ; "));
    let scanned = client
        .scan()
        .table_name("orders")
        .index_name("by_status")
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    expect!["count 4 scanned 4"].assert_eq(&format!(
        "count {} scanned {}",
        scanned.count, scanned.scanned_count
    ));
    let refused = [
        client
            .query()
            .table_name("orders")
            .index_name("by_status")
            .key_condition_expression("#s = :open")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":open", Av::S("open".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap_err(),
        client
            .query()
            .table_name("orders")
            .index_name("by_status")
            .key_condition_expression("#s = :open")
            .expression_attribute_names("#s", "status")
            .expression_attribute_values(":open", Av::S("open".into()))
            .select(Select::AllAttributes)
            .send()
            .await
            .unwrap_err(),
        client
            .query()
            .table_name("orders")
            .index_name("missing")
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", Av::S("tenant".into()))
            .send()
            .await
            .unwrap_err(),
    ];
    let refused: Vec<String> = refused.iter().map(describe).collect();
    expect![[r#"
        ValidationException: Consistent reads are not supported on global secondary indexes
        ValidationException: One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index by_status because its projection type is not ALL
        ValidationException: The table does not have the specified index: missing"#]]
    .assert_eq(&refused.join("\n"));
    cloud.stop().await;
}

#[tokio::test]
async fn writes_check_index_key_types() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    orders_table(&client).send().await.unwrap();
    let wrong_type = client
        .put_item()
        .table_name("orders")
        .item("pk", Av::S("tenant".into()))
        .item("sk", Av::N("1".into()))
        .item("status", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Type mismatch for Index Key status Expected: S Actual: N IndexName: by_status"]
        .assert_eq(&describe(&wrong_type));
    let empty = client
        .update_item()
        .table_name("orders")
        .key("pk", Av::S("tenant".into()))
        .key("sk", Av::N("1".into()))
        .update_expression("SET #s = :empty")
        .expression_attribute_names("#s", "status")
        .expression_attribute_values(":empty", Av::S(String::new()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: by_status, IndexKey: status"]
        .assert_eq(&describe(&empty));
    let count = client
        .scan()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(count, 0, "refused writes left items behind");
    cloud.stop().await;
}

#[tokio::test]
async fn update_table_adds_and_removes_global_indexes() {
    use aws_sdk_dynamodb::types::{
        CreateGlobalSecondaryIndexAction, DeleteGlobalSecondaryIndexAction,
        GlobalSecondaryIndexUpdate,
    };
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    crate::dynamodb::create_table(&client, "documents", None).await;
    for (sk, kind) in [
        (1, Av::S("pdf".into())),
        (2, Av::N("7".into())),
        (3, Av::S("pdf".into())),
    ] {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S("tenant".into()))
            .item("sk", Av::N(sk.to_string()))
            .item("kind", kind)
            .send()
            .await
            .unwrap();
    }
    let create = GlobalSecondaryIndexUpdate::builder()
        .create(
            CreateGlobalSecondaryIndexAction::builder()
                .index_name("by_kind")
                .key_schema(key("kind", KeyType::Hash))
                .projection(projection(ProjectionType::KeysOnly, &[]))
                .build()
                .unwrap(),
        )
        .build();
    let delete = GlobalSecondaryIndexUpdate::builder()
        .delete(
            DeleteGlobalSecondaryIndexAction::builder()
                .index_name("by_kind")
                .build()
                .unwrap(),
        )
        .build();
    let two_at_once = client
        .update_table()
        .table_name("documents")
        .attribute_definitions(definition("kind", ScalarAttributeType::S))
        .global_secondary_index_updates(create.clone())
        .global_secondary_index_updates(delete.clone())
        .send()
        .await
        .unwrap_err();
    expect!["LimitExceededException: Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table; the request has 2"]
        .assert_eq(&describe(&two_at_once));
    client
        .update_table()
        .table_name("documents")
        .attribute_definitions(definition("kind", ScalarAttributeType::S))
        .global_secondary_index_updates(create)
        .send()
        .await
        .unwrap();
    // The item whose `kind` is a number is not of the index key's type:
    // it stays out of the index.
    let count = |kind: &'static str| {
        client
            .query()
            .table_name("documents")
            .index_name("by_kind")
            .key_condition_expression("kind = :k")
            .expression_attribute_values(":k", Av::S(kind.into()))
            .send()
    };
    assert_eq!(count("pdf").await.unwrap().count, 2);
    let scanned = client
        .scan()
        .table_name("documents")
        .index_name("by_kind")
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.count, 2, "the wrongly typed item is not indexed");
    client
        .update_table()
        .table_name("documents")
        .global_secondary_index_updates(delete)
        .send()
        .await
        .unwrap();
    expect!["ValidationException: The table does not have the specified index: by_kind"]
        .assert_eq(&describe(&count("pdf").await.unwrap_err()));
    let described = client
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap();
    assert!(
        described
            .table()
            .unwrap()
            .global_secondary_indexes()
            .is_empty()
    );
    cloud.stop().await;
}
