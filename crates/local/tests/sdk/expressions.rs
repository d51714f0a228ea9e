//! The data plane through aws-sdk-dynamodb: UpdateItem with every
//! ReturnValues, conditional writes, Query and Scan paging, and the stream
//! records those writes leave (none for a write that changed nothing).

use crate::common::{B, describe, dynamodb, root, start, streams};
use crate::dynamodb::create_table;
use crate::streams::{latest_stream, read_all, summarize};
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{
    ReturnValue, ReturnValuesOnConditionCheckFailure, Select, StreamViewType,
};
use expect_test::expect;
use std::collections::HashMap;

fn render(item: Option<&HashMap<String, Av>>) -> String {
    let Some(item) = item else {
        return "-".to_owned();
    };
    let mut pairs: Vec<String> = item.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    pairs.sort();
    pairs.join(" ")
}

#[tokio::test]
async fn update_item_returns_values_and_streams_only_real_changes() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", Some(StreamViewType::NewAndOldImages)).await;
    let update = |expression: &'static str, returns: ReturnValue| {
        client
            .update_item()
            .table_name("documents")
            .key("pk", Av::S("tenant-1".into()))
            .key("sk", Av::N("1".into()))
            .update_expression(expression)
            .expression_attribute_values(":n", Av::N("2.5".into()))
            .return_values(returns)
            .send()
    };
    let created = update(
        "SET bytes_used = if_not_exists(bytes_used, :n)",
        ReturnValue::AllNew,
    )
    .await
    .unwrap();
    expect![[r#"bytes_used=N("2.5") pk=S("tenant-1") sk=N("1")"#]]
        .assert_eq(&render(created.attributes.as_ref()));
    let added = update("ADD bytes_used :n", ReturnValue::UpdatedOld)
        .await
        .unwrap();
    expect![[r#"bytes_used=N("2.5")"#]].assert_eq(&render(added.attributes.as_ref()));
    let unchanged = update(
        "SET bytes_used = if_not_exists(bytes_used, :n)",
        ReturnValue::UpdatedNew,
    )
    .await
    .unwrap();
    expect![[r#"bytes_used=N("5")"#]].assert_eq(&render(unchanged.attributes.as_ref()));
    let failed = client
        .update_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .update_expression("SET bytes_used = :n")
        .condition_expression("bytes_used < :n")
        .expression_attribute_values(":n", Av::N("2.5".into()))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await
        .unwrap_err();
    expect!["ConditionalCheckFailedException: The conditional request failed"]
        .assert_eq(&describe(&failed));
    let old_item = failed
        .as_service_error()
        .and_then(|e| match e {
            aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(inner) => inner.item.as_ref(),
            _ => None,
        });
    expect![[r#"bytes_used=N("5") pk=S("tenant-1") sk=N("1")"#]].assert_eq(&render(old_item));
    let key_update = client
        .update_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .update_expression("SET pk = :n")
        .expression_attribute_values(":n", Av::S("other".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key"]
        .assert_eq(&describe(&key_update));
    let deleted = client
        .delete_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .condition_expression("attribute_exists(pk)")
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    expect![[r#"bytes_used=N("5") pk=S("tenant-1") sk=N("1")"#]]
        .assert_eq(&render(deleted.attributes.as_ref()));
    client
        .delete_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    let stream_arn = latest_stream(&client).await;
    let records = read_all(&streams(&cloud, &root(&cloud, B)), &stream_arn).await;
    expect![[r#"
        INSERT keys[pk=tenant-1,sk=1] new[bytes_used=2.5,pk=tenant-1,sk=1] old[-]
        MODIFY keys[pk=tenant-1,sk=1] new[bytes_used=5,pk=tenant-1,sk=1] old[bytes_used=2.5,pk=tenant-1,sk=1]
        REMOVE keys[pk=tenant-1,sk=1] new[-] old[bytes_used=5,pk=tenant-1,sk=1]"#]]
    .assert_eq(&summarize(&records));
    cloud.stop().await;
}

#[tokio::test]
async fn query_and_scan_page_through_items() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", None).await;
    for (pk, sk) in [("a", "3"), ("a", "1"), ("a", "20"), ("a", "2"), ("b", "1")] {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S(pk.into()))
            .item("sk", Av::N(sk.into()))
            .item("even", Av::Bool(sk.parse::<u32>().unwrap() % 2 == 0))
            .send()
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .query()
            .table_name("documents")
            .key_condition_expression("pk = :pk AND sk >= :low")
            .expression_attribute_values(":pk", Av::S("a".into()))
            .expression_attribute_values(":low", Av::N("2".into()))
            .scan_index_forward(false)
            .limit(2)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        let sks: Vec<String> = page
            .items()
            .iter()
            .map(|item| item["sk"].as_n().unwrap().clone())
            .collect();
        pages.push(format!("{} of {}", sks.join(","), page.scanned_count));
        start = page.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    expect!["20,3 of 2 | 2 of 1"].assert_eq(&pages.join(" | "));
    // The key may stand on either side of a comparison.
    let mirrored = client
        .query()
        .table_name("documents")
        .key_condition_expression(":pk = pk AND :low > sk")
        .expression_attribute_values(":pk", Av::S("a".into()))
        .expression_attribute_values(":low", Av::N("3".into()))
        .send()
        .await
        .unwrap();
    let sks: Vec<&str> = mirrored
        .items()
        .iter()
        .map(|item| item["sk"].as_n().unwrap().as_str())
        .collect();
    expect!["1,2"].assert_eq(&sks.join(","));
    let counted = client
        .query()
        .table_name("documents")
        .key_condition_expression("pk = :pk")
        .filter_expression("even = :t")
        .expression_attribute_values(":pk", Av::S("a".into()))
        .expression_attribute_values(":t", Av::Bool(true))
        .select(Select::Count)
        .send()
        .await
        .unwrap();
    expect!["count 2 scanned 4 items None"].assert_eq(&format!(
        "count {} scanned {} items {:?}",
        counted.count, counted.scanned_count, counted.items
    ));
    let missing_hash = client
        .query()
        .table_name("documents")
        .key_condition_expression("sk = :s")
        .expression_attribute_values(":s", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Query condition missed key schema element: pk"]
        .assert_eq(&describe(&missing_hash));
    // Query API reference, KeyConditionExpression: only AND, =, <, <=, >, >=,
    // BETWEEN and begins_with; anything else is named in the refusal.
    let mut refusals = Vec::new();
    for expression in [
        "pk = :pk OR sk = :s",
        "pk = :pk AND NOT sk = :s",
        "pk = :pk AND sk IN (:s)",
        "pk = :pk AND sk <> :s",
        "pk = :pk AND attribute_exists(sk)",
        "pk = :pk AND contains(sk, :s)",
        "pk = :pk AND sk > :s AND sk < :s",
        "pk = :pk AND pk = :pk",
    ] {
        let mut names = vec![":pk", ":s"];
        names.retain(|name| expression.contains(name));
        let mut query = client
            .query()
            .table_name("documents")
            .key_condition_expression(expression);
        for name in names {
            let value = if name == ":pk" {
                Av::S("a".into())
            } else {
                Av::N("1".into())
            };
            query = query.expression_attribute_values(name, value);
        }
        refusals.push(describe(&query.send().await.unwrap_err()));
    }
    expect![[r#"
        ValidationException: Invalid operator used in KeyConditionExpression: OR
        ValidationException: Invalid operator used in KeyConditionExpression: NOT
        ValidationException: Invalid operator used in KeyConditionExpression: IN
        ValidationException: Invalid operator used in KeyConditionExpression: <>
        ValidationException: Invalid operator used in KeyConditionExpression: attribute_exists
        ValidationException: Invalid operator used in KeyConditionExpression: contains
        ValidationException: Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key
        ValidationException: Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key"#]]
    .assert_eq(&refusals.join("\n"));
    let mut per_segment = Vec::new();
    for segment in 0..3 {
        let page = client
            .scan()
            .table_name("documents")
            .segment(segment)
            .total_segments(3)
            .send()
            .await
            .unwrap();
        per_segment.push(page.count);
    }
    assert_eq!(
        per_segment.iter().sum::<i32>(),
        5,
        "segments split {per_segment:?}"
    );
    let projected = client
        .scan()
        .table_name("documents")
        .projection_expression("sk")
        .filter_expression("pk = :b")
        .expression_attribute_values(":b", Av::S("b".into()))
        .send()
        .await
        .unwrap();
    expect![[r#"sk=N("1")"#]].assert_eq(&render(projected.items().first()));
    cloud.stop().await;
}

/// Pages of a Query and a Scan over `documents`, as "count/scanned last-sk"
/// per page, following LastEvaluatedKey to the end.
async fn pages_of(client: &aws_sdk_dynamodb::Client, query: bool) -> String {
    let mut pages = Vec::new();
    let mut start = None;
    loop {
        let (count, scanned, last) = if query {
            let page = client
                .query()
                .table_name("documents")
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", Av::S("big".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            (page.count, page.scanned_count, page.last_evaluated_key)
        } else {
            let page = client
                .scan()
                .table_name("documents")
                .set_exclusive_start_key(start)
                .send()
                .await
                .unwrap();
            (page.count, page.scanned_count, page.last_evaluated_key)
        };
        let last_sk = last
            .as_ref()
            .map_or("-".to_owned(), |key| key["sk"].as_n().unwrap().clone());
        pages.push(format!("{count}/{scanned} {last_sk}"));
        start = last;
        if start.is_none() {
            break;
        }
    }
    pages.join(" | ")
}

#[tokio::test]
async fn query_and_scan_pages_stop_at_one_megabyte() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", None).await;
    // Each item is 100,000 bytes of "body" plus its name and keys, so ten
    // stay under 1 MB (1,048,576 bytes) and the eleventh reaches it.
    let body = "x".repeat(100_000);
    for sk in 1..=12 {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S("big".into()))
            .item("sk", Av::N(sk.to_string()))
            .item("body", Av::S(body.clone()))
            .send()
            .await
            .unwrap();
    }
    expect!["11/11 11 | 1/1 -"].assert_eq(&pages_of(&client, true).await);
    let scan = pages_of(&client, false).await;
    let counts: Vec<&str> = scan
        .split(" | ")
        .map(|page| page.split(' ').next().unwrap())
        .collect();
    expect![[r#"["11/11", "1/1"]"#]].assert_eq(&format!("{counts:?}"));
    cloud.stop().await;
}

fn put(pk: &str, sk: &str) -> aws_sdk_dynamodb::types::WriteRequest {
    use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
    WriteRequest::builder()
        .put_request(
            PutRequest::builder()
                .item("pk", Av::S(pk.into()))
                .item("sk", Av::N(sk.into()))
                .build()
                .unwrap(),
        )
        .build()
}

#[tokio::test]
async fn batches_check_limits_and_transactions_are_all_or_nothing() {
    use aws_sdk_dynamodb::types::{
        ConditionCheck, KeysAndAttributes, Put, TransactWriteItem, Update,
    };
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", Some(StreamViewType::NewAndOldImages)).await;
    let too_many = client
        .batch_write_item()
        .request_items(
            "documents",
            (0..26).map(|n| put("a", &n.to_string())).collect(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Too many items requested for the BatchWriteItem call"]
        .assert_eq(&describe(&too_many));
    let duplicate = client
        .batch_write_item()
        .request_items("documents", vec![put("a", "1"), put("a", "1.0")])
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Provided list of item keys contains duplicates"]
        .assert_eq(&describe(&duplicate));
    let written = client
        .batch_write_item()
        .request_items("documents", vec![put("a", "1"), put("a", "2")])
        .send()
        .await
        .unwrap();
    assert_eq!(written.unprocessed_items.map(|u| u.len()), Some(0));
    let key = |sk: &str| {
        HashMap::from([
            ("pk".to_owned(), Av::S("a".into())),
            ("sk".to_owned(), Av::N(sk.into())),
        ])
    };
    let got = client
        .batch_get_item()
        .request_items(
            "documents",
            KeysAndAttributes::builder()
                .keys(key("1"))
                .keys(key("2"))
                .keys(key("3"))
                .projection_expression("sk")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let mut found: Vec<String> = got.responses.unwrap()["documents"]
        .iter()
        .map(|item| render(Some(item)))
        .collect();
    found.sort();
    expect![[r#"sk=N("1") | sk=N("2")"#]].assert_eq(&found.join(" | "));
    let transaction = |condition_value: &str| {
        client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name("documents")
                            .set_key(Some(key("1")))
                            .update_expression("ADD visits :one")
                            .expression_attribute_values(":one", Av::N("1".into()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name("documents")
                            .set_key(Some(key("2")))
                            .condition_expression("sk = :v")
                            .expression_attribute_values(":v", Av::N(condition_value.into()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name("documents")
                            .item("pk", Av::S("b".into()))
                            .item("sk", Av::N("1".into()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
    };
    let cancelled = transaction("3").await.unwrap_err();
    expect!["TransactionCanceledException: Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]"]
        .assert_eq(&describe(&cancelled));
    transaction("2").await.unwrap();
    let stream_arn = latest_stream(&client).await;
    let records = read_all(&streams(&cloud, &root(&cloud, B)), &stream_arn).await;
    expect![[r#"
        INSERT keys[pk=a,sk=1] new[pk=a,sk=1] old[-]
        INSERT keys[pk=a,sk=2] new[pk=a,sk=2] old[-]
        MODIFY keys[pk=a,sk=1] new[pk=a,sk=1,visits=1] old[pk=a,sk=1]
        INSERT keys[pk=b,sk=1] new[pk=b,sk=1] old[-]"#]]
    .assert_eq(&summarize(&records));
    cloud.stop().await;
}

#[tokio::test]
async fn transaction_tokens_are_idempotent_for_ten_minutes_and_size_is_limited() {
    use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", None).await;
    let add = |amount: &'static str, token: &'static str| {
        client
            .transact_write_items()
            .client_request_token(token)
            .transact_items(
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name("documents")
                            .key("pk", Av::S("counter".into()))
                            .key("sk", Av::N("1".into()))
                            .update_expression("ADD hits :n")
                            .expression_attribute_values(":n", Av::N(amount.into()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
    };
    let hits = || async {
        client
            .get_item()
            .table_name("documents")
            .key("pk", Av::S("counter".into()))
            .key("sk", Av::N("1".into()))
            .send()
            .await
            .unwrap()
            .item
            .map_or("-".to_owned(), |item| item["hits"].as_n().unwrap().clone())
    };
    add("1", "token-1").await.unwrap();
    add("1", "token-1").await.unwrap();
    expect!["1"].assert_eq(&hits().await);
    let mismatch = add("5", "token-1").await.unwrap_err();
    expect!["IdempotentParameterMismatchException: The request uses the same client token as a previous, but non-identical request"]
        .assert_eq(&describe(&mismatch));
    add("1", "token-2").await.unwrap();
    expect!["2"].assert_eq(&hits().await);
    cloud.advance_clock(std::time::Duration::from_secs(10 * 60 + 1));
    add("1", "token-1").await.unwrap();
    expect!["3"].assert_eq(&hits().await);

    // Eleven items of 390,000 bytes each: every one under 400 KB, together
    // over 4 MB (4,194,304 bytes).
    let body = "x".repeat(390_000);
    let too_large = client
        .transact_write_items()
        .set_transact_items(Some(
            (0..11)
                .map(|n| {
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name("documents")
                                .item("pk", Av::S("big".into()))
                                .item("sk", Av::N(n.to_string()))
                                .item("body", Av::S(body.clone()))
                                .build()
                                .unwrap(),
                        )
                        .build()
                })
                .collect(),
        ))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Transaction request cannot be larger than 4 MB"]
        .assert_eq(&describe(&too_large));
    let stored = client
        .scan()
        .table_name("documents")
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(stored, 1, "only the counter is stored");
    cloud.stop().await;
}

#[tokio::test]
async fn legacy_parameters_act_as_their_expressions() {
    use aws_sdk_dynamodb::types::{
        AttributeAction, AttributeValueUpdate, ComparisonOperator, Condition, ConditionalOperator,
        ExpectedAttributeValue,
    };
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", None).await;
    let absent = ExpectedAttributeValue::builder().exists(false).build();
    for sk in 1..=4 {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S("a".into()))
            .item("sk", Av::N(sk.to_string()))
            .item("size", Av::N((sk * 10).to_string()))
            .expected("pk", absent.clone())
            .send()
            .await
            .unwrap();
    }
    let again = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("a".into()))
        .item("sk", Av::N("1".into()))
        .expected("pk", absent.clone())
        .send()
        .await
        .unwrap_err();
    expect!["ConditionalCheckFailedException: The conditional request failed"]
        .assert_eq(&describe(&again));
    let updated = client
        .update_item()
        .table_name("documents")
        .key("pk", Av::S("a".into()))
        .key("sk", Av::N("1".into()))
        .attribute_updates(
            "size",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Add)
                .value(Av::N("5".into()))
                .build(),
        )
        .attribute_updates(
            "label",
            AttributeValueUpdate::builder()
                .action(AttributeAction::Put)
                .value(Av::S("first".into()))
                .build(),
        )
        .expected(
            "size",
            ExpectedAttributeValue::builder()
                .comparison_operator(ComparisonOperator::Lt)
                .attribute_value_list(Av::N("11".into()))
                .build(),
        )
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap();
    expect![[r#"label=S("first") size=N("15")"#]].assert_eq(&render(updated.attributes.as_ref()));
    let got = client
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("a".into()))
        .key("sk", Av::N("1".into()))
        .attributes_to_get("label")
        .send()
        .await
        .unwrap();
    expect![[r#"label=S("first")"#]].assert_eq(&render(got.item.as_ref()));
    let queried = client
        .query()
        .table_name("documents")
        .key_conditions(
            "pk",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(Av::S("a".into()))
                .build()
                .unwrap(),
        )
        .key_conditions(
            "sk",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Between)
                .attribute_value_list(Av::N("2".into()))
                .attribute_value_list(Av::N("4".into()))
                .build()
                .unwrap(),
        )
        .query_filter(
            "size",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Ge)
                .attribute_value_list(Av::N("30".into()))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    expect!["count 2 scanned 3"].assert_eq(&format!(
        "count {} scanned {}",
        queried.count, queried.scanned_count
    ));
    let scanned = client
        .scan()
        .table_name("documents")
        .scan_filter(
            "size",
            Condition::builder()
                .comparison_operator(ComparisonOperator::Eq)
                .attribute_value_list(Av::N("20".into()))
                .build()
                .unwrap(),
        )
        .scan_filter(
            "label",
            Condition::builder()
                .comparison_operator(ComparisonOperator::NotNull)
                .build()
                .unwrap(),
        )
        .conditional_operator(ConditionalOperator::Or)
        .send()
        .await
        .unwrap();
    expect!["count 2"].assert_eq(&format!("count {}", scanned.count));
    let mixed = client
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("a".into()))
        .key("sk", Av::N("1".into()))
        .attributes_to_get("label")
        .projection_expression("size")
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributesToGet} Expression parameters: {ProjectionExpression}"]
        .assert_eq(&describe(&mixed));
    cloud.stop().await;
}
