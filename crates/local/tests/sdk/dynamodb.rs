//! DynamoDB through aws-sdk-dynamodb: tables, items, resource policies.

use crate::common::{
    A, B, REGION, assert_describes_as, definition, describe, dynamodb, enabled_stream, key, root,
    start,
};
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{
    BillingMode, KeyType, ReturnValue, ScalarAttributeType, SseSpecification, StreamViewType,
    TableStatus,
};
use expect_test::expect;

pub(crate) async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    view: Option<StreamViewType>,
) {
    let mut request = client
        .create_table()
        .table_name(name)
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .attribute_definitions(definition("sk", ScalarAttributeType::N))
        .key_schema(key("pk", KeyType::Hash))
        .key_schema(key("sk", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest);
    if let Some(view) = view {
        request = request.stream_specification(enabled_stream(view));
    }
    request.send().await.unwrap();
}

#[tokio::test]
async fn tables_are_created_described_listed_and_deleted() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", Some(StreamViewType::NewAndOldImages)).await;
    let table = client
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    assert_eq!(table.table_status, Some(TableStatus::Active));
    assert_eq!(
        table.table_arn.as_deref(),
        Some(format!("arn:aws:dynamodb:{REGION}:{B}:table/documents").as_str())
    );
    let stream_arn = table.latest_stream_arn.unwrap();
    assert!(stream_arn.starts_with(&format!(
        "arn:aws:dynamodb:{REGION}:{B}:table/documents/stream/"
    )));
    assert_eq!(
        table.billing_mode_summary.unwrap().billing_mode,
        Some(BillingMode::PayPerRequest)
    );
    let specification = table.stream_specification.unwrap();
    assert!(specification.stream_enabled);
    assert_eq!(
        specification.stream_view_type,
        Some(StreamViewType::NewAndOldImages)
    );

    let again = client
        .create_table()
        .table_name("documents")
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap_err();
    expect!["ResourceInUseException: Table already exists: documents"].assert_eq(&describe(&again));
    assert!(again.into_service_error().is_resource_in_use_exception());

    let names = client
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap();
    assert_eq!(names, vec!["documents".to_owned()]);
    // Tables are per account: A sees none of B's.
    let other = dynamodb(&cloud, &root(&cloud, A));
    assert!(
        other
            .list_tables()
            .send()
            .await
            .unwrap()
            .table_names
            .unwrap()
            .is_empty()
    );

    let deleted = client
        .delete_table()
        .table_name("documents")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.table_description.unwrap().table_status,
        Some(TableStatus::Deleting)
    );
    // The stream outlives its table, disabled, until its records age out.
    let old_stream = crate::common::streams(&cloud, &root(&cloud, B))
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(old_stream.stream_status.unwrap().as_str(), "DISABLED");
    let missing = client
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: Requested resource not found: Table: documents not found"]
        .assert_eq(&describe(&missing));
    assert!(
        missing
            .into_service_error()
            .is_resource_not_found_exception()
    );
    cloud.stop().await;
}

#[tokio::test]
async fn encryption_is_recorded_and_reported() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    client
        .create_table()
        .table_name("secret")
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .sse_specification(SseSpecification::builder().enabled(true).build())
        .send()
        .await
        .unwrap();
    let table = client
        .describe_table()
        .table_name("secret")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let sse = table.sse_description.unwrap();
    assert_eq!(sse.status.unwrap().as_str(), "ENABLED");
    assert_eq!(sse.sse_type.unwrap().as_str(), "KMS");
    assert!(
        sse.kms_master_key_arn
            .unwrap()
            .starts_with(&format!("arn:aws:kms:{REGION}:{B}:key/"))
    );

    // A key named by alias is reported by its key ARN, the same for the
    // alias name and the alias ARN, never as `key/alias/...`.
    let mut arns = Vec::new();
    for (table, key_id) in [
        ("by-alias", "alias/tenant-key".to_owned()),
        (
            "by-alias-arn",
            format!("arn:aws:kms:{REGION}:{B}:alias/tenant-key"),
        ),
        ("other-alias", "alias/other-key".to_owned()),
        ("by-id", "1234abcd-12ab-34cd-56ef-1234567890ab".to_owned()),
    ] {
        client
            .create_table()
            .table_name(table)
            .attribute_definitions(definition("pk", ScalarAttributeType::S))
            .key_schema(key("pk", KeyType::Hash))
            .billing_mode(BillingMode::PayPerRequest)
            .sse_specification(
                SseSpecification::builder()
                    .enabled(true)
                    .kms_master_key_id(key_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let arn = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .unwrap()
            .table
            .unwrap()
            .sse_description
            .unwrap()
            .kms_master_key_arn
            .unwrap();
        let id = arn
            .strip_prefix(&format!("arn:aws:kms:{REGION}:{B}:key/"))
            .unwrap_or_else(|| panic!("{arn} is not a key ARN of B"));
        assert!(
            id.len() == 36 && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'),
            "{arn} does not end in a key id"
        );
        arns.push(arn);
    }
    assert_eq!(arns[0], arns[1], "an alias and its ARN name one key");
    assert_ne!(arns[0], arns[2], "two aliases name two keys");
    assert_eq!(
        arns[3],
        format!("arn:aws:kms:{REGION}:{B}:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    cloud.stop().await;
}

#[tokio::test]
async fn items_are_put_got_and_deleted_with_key_validation() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", None).await;
    let put = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("tenant-1".into()))
        .item("sk", Av::N("1".into()))
        .item("pages", Av::N("12".into()))
        .item("tags", Av::Ss(vec!["a".into(), "b".into()]))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert!(put.attributes.is_none());
    // `1.0` is the same number as `1`: the same key.
    let got = client
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1.0".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    assert_eq!(got["pages"], Av::N("12".into()));
    let replaced = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("tenant-1".into()))
        .item("sk", Av::N("1".into()))
        .item("pages", Av::N("13".into()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(replaced.attributes.unwrap()["pages"], Av::N("12".into()));
    let deleted = client
        .delete_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .return_values(ReturnValue::AllOld)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.attributes.unwrap()["pages"], Av::N("13".into()));
    let gone = client
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("tenant-1".into()))
        .key("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    assert!(gone.item.is_none());

    let missing_key = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("x".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Missing the key sk in the item"]
        .assert_eq(&describe(&missing_key));
    let wrong_type = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::N("1".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"]
        .assert_eq(&describe(&wrong_type));
    let extra_key = client
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("x".into()))
        .key("sk", Av::N("1".into()))
        .key("other", Av::S("y".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: The provided key element does not match the schema"]
        .assert_eq(&describe(&extra_key));
    let long_key = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("k".repeat(2049)))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"]
        .assert_eq(&describe(&long_key));
    let too_big = client
        .put_item()
        .table_name("documents")
        .item("pk", Av::S("x".into()))
        .item("sk", Av::N("1".into()))
        .item("body", Av::S("x".repeat(400 * 1024)))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Item size has exceeded the maximum allowed size"]
        .assert_eq(&describe(&too_big));
    let put_once = || {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S("x".into()))
            .item("sk", Av::N("1".into()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
    };
    put_once().await.unwrap();
    let second = put_once().await.unwrap_err();
    expect!["ConditionalCheckFailedException: The conditional request failed"]
        .assert_eq(&describe(&second));
    cloud.stop().await;
}

#[tokio::test]
async fn resource_policies_have_revisions_and_dynamodb_rules() {
    let cloud = start().await;
    let client = dynamodb(&cloud, &root(&cloud, B));
    create_table(&client, "documents", Some(StreamViewType::KeysOnly)).await;
    let table = client
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let table_arn = table.table_arn.unwrap();
    let stream_arn = table.latest_stream_arn.unwrap();
    let stream_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":["dynamodb:DescribeStream","dynamodb:GetShardIterator","dynamodb:GetRecords"],"Resource":"{stream_arn}"}}]}}"#
    );

    let none = client
        .get_resource_policy()
        .resource_arn(&stream_arn)
        .send()
        .await
        .unwrap_err();
    assert!(none.into_service_error().is_policy_not_found_exception());

    let first = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(&stream_policy)
        .expected_revision_id("NO_POLICY")
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    let got = client
        .get_resource_policy()
        .resource_arn(&stream_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(got.policy.as_deref(), Some(stream_policy.as_str()));
    assert_eq!(got.revision_id.as_deref(), Some(first.as_str()));

    let conflict = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(&stream_policy)
        .expected_revision_id("NO_POLICY")
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&conflict, "PolicyNotFoundException: ");
    let second = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(&stream_policy)
        .expected_revision_id(&first)
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    assert_ne!(first, second);
    let stale = client
        .delete_resource_policy()
        .resource_arn(&stream_arn)
        .expected_revision_id(&first)
        .send()
        .await
        .unwrap_err();
    assert!(stale.into_service_error().is_policy_not_found_exception());

    let list_streams = stream_policy.replace("dynamodb:GetRecords", "dynamodb:ListStreams");
    let rejected = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(list_streams)
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Invalid policy document: the action dynamodb:ListStreams is not supported on a stream; a stream policy may only name dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator"]
        .assert_eq(&describe(&rejected));
    let ghost = stream_policy.replace(
        &format!("arn:aws:iam::{A}:root"),
        &format!("arn:aws:iam::{A}:role/no-such-role"),
    );
    let rejected = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(ghost)
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Invalid principal in policy document"]
        .assert_eq(&describe(&rejected));
    let huge = stream_policy.replace(
        "\"Version\"",
        &format!("{}\"Version\"", " ".repeat(20 * 1024)),
    );
    let rejected = client
        .put_resource_policy()
        .resource_arn(&stream_arn)
        .policy(huge)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&rejected, "ValidationException: Policy document size ");

    let table_policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"dynamodb:GetItem","Resource":"{table_arn}"}}]}}"#
    );
    client
        .put_resource_policy()
        .resource_arn(&table_arn)
        .policy(&table_policy)
        .send()
        .await
        .unwrap();
    let deleted = client
        .delete_resource_policy()
        .resource_arn(&stream_arn)
        .expected_revision_id(&second)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.revision_id.as_deref(), Some(second.as_str()));
    let table_got = client
        .get_resource_policy()
        .resource_arn(&table_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(table_got.policy.as_deref(), Some(table_policy.as_str()));
    cloud.stop().await;
}

#[tokio::test]
async fn a_table_in_another_account_is_reached_by_arn_when_its_policy_allows() {
    let cloud = start().await;
    let owner = dynamodb(&cloud, &root(&cloud, B));
    create_table(&owner, "documents", None).await;
    let stranger = dynamodb(&cloud, &root(&cloud, A));
    let table_arn = format!("arn:aws:dynamodb:{REGION}:{B}:table/documents");
    let get = || {
        stranger
            .get_item()
            .table_name(&table_arn)
            .key("pk", Av::S("x".into()))
            .key("sk", Av::N("1".into()))
            .send()
    };
    let denied = get().await.unwrap_err();
    expect!["AccessDeniedException: User: arn:aws:iam::111111111111:root is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents because no resource-based policy allows the dynamodb:GetItem action"]
        .assert_eq(&describe(&denied));
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"{A}"}},"Action":"dynamodb:GetItem","Resource":"{table_arn}"}}]}}"#
    );
    owner
        .put_resource_policy()
        .resource_arn(&table_arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
    owner
        .put_item()
        .table_name(&table_arn)
        .item("pk", Av::S("x".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    let item = get().await.unwrap().item.unwrap();
    assert_eq!(item["pk"], Av::S("x".into()));
    // The policy allows GetItem only.
    let put = stranger
        .put_item()
        .table_name(&table_arn)
        .item("pk", Av::S("y".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap_err();
    assert!(
        describe(&put)
            .ends_with("because no resource-based policy allows the dynamodb:PutItem action"),
        "{}",
        describe(&put)
    );
    cloud.stop().await;
}
