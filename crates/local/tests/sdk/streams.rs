//! DynamoDB Streams through aws-sdk-dynamodbstreams: shards, iterators,
//! records per view type, lineage after rollover, retention and expiry.

use crate::common::{
    B, REGION, assert_describes_as, describe, dynamodb, enabled_stream, root, streams,
};
use crate::dynamodb::create_table;
use aws_sdk_dynamodb::types::AttributeValue as Av;
use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamAv, OperationType, ShardIteratorType,
};
use expect_test::expect;
use std::time::Duration;
use streamgate_local::{LocalCloud, RunningCloud};

pub(crate) async fn write_three_changes(client: &aws_sdk_dynamodb::Client) {
    for pages in ["1", "2"] {
        client
            .put_item()
            .table_name("documents")
            .item("pk", Av::S("doc-1".into()))
            .item("sk", Av::N("1".into()))
            .item("pages", Av::N(pages.into()))
            .send()
            .await
            .unwrap();
    }
    client
        .delete_item()
        .table_name("documents")
        .key("pk", Av::S("doc-1".into()))
        .key("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
}

pub(crate) async fn latest_stream(client: &aws_sdk_dynamodb::Client) -> String {
    let table = client
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    table.latest_stream_arn.unwrap()
}

/// The shards DescribeStream lists for `stream_arn`.
pub(crate) async fn list_shards(
    client: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Shard> {
    client
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap()
        .shards
        .unwrap()
}

/// A TRIM_HORIZON iterator of the shard `shard_id` of `stream_arn`.
pub(crate) async fn trim_horizon_iterator(
    client: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
    shard_id: impl Into<String>,
) -> String {
    client
        .get_shard_iterator()
        .stream_arn(stream_arn)
        .shard_id(shard_id)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap()
}

/// Reads every record of every shard from the trim horizon, parents first.
pub(crate) async fn read_all(
    client: &aws_sdk_dynamodbstreams::Client,
    stream_arn: &str,
) -> Vec<aws_sdk_dynamodbstreams::types::Record> {
    let description = client
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    let mut records = Vec::new();
    for shard in description.shards.unwrap() {
        let mut iterator = client
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        // An open shard always hands out a next iterator; stop at the first empty page.
        while let Some(current) = iterator {
            let page = client
                .get_records()
                .shard_iterator(current)
                .send()
                .await
                .unwrap();
            let got = page.records.unwrap_or_default();
            if got.is_empty() {
                break;
            }
            records.extend(got);
            iterator = page.next_shard_iterator;
        }
    }
    records
}

/// One line per record: event, keys, images, as the view type shapes them.
pub(crate) fn summarize(records: &[aws_sdk_dynamodbstreams::types::Record]) -> String {
    let attr = |map: Option<&std::collections::HashMap<String, StreamAv>>| match map {
        None => "-".to_owned(),
        Some(map) => {
            let mut pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| match v {
                    StreamAv::S(s) => format!("{k}={s}"),
                    StreamAv::N(n) => format!("{k}={n}"),
                    other => format!("{k}={other:?}"),
                })
                .collect();
            pairs.sort();
            pairs.join(",")
        }
    };
    records
        .iter()
        .map(|record| {
            let data = record.dynamodb.as_ref().unwrap();
            assert_eq!(record.event_source.as_deref(), Some("aws:dynamodb"));
            assert_eq!(record.aws_region.as_deref(), Some(REGION));
            assert!(data.size_bytes.unwrap() > 0);
            assert!(data.sequence_number.as_ref().unwrap().len() >= 21);
            assert!(data.approximate_creation_date_time.is_some());
            format!(
                "{} keys[{}] new[{}] old[{}]",
                record.event_name.as_ref().unwrap().as_str(),
                attr(data.keys.as_ref()),
                attr(data.new_image.as_ref()),
                attr(data.old_image.as_ref()),
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

async fn records_for(view: StreamViewType) -> String {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(view)).await;
    write_three_changes(&db).await;
    let arn = latest_stream(&db).await;
    let records = read_all(&streams(&cloud, &root(&cloud, B)), &arn).await;
    cloud.stop().await;
    summarize(&records)
}

#[tokio::test]
async fn records_carry_what_each_view_type_says() {
    expect![[r#"
        INSERT keys[pk=doc-1,sk=1] new[-] old[-]
        MODIFY keys[pk=doc-1,sk=1] new[-] old[-]
        REMOVE keys[pk=doc-1,sk=1] new[-] old[-]"#]]
    .assert_eq(&records_for(StreamViewType::KeysOnly).await);
    expect![[r#"
        INSERT keys[pk=doc-1,sk=1] new[pages=1,pk=doc-1,sk=1] old[-]
        MODIFY keys[pk=doc-1,sk=1] new[pages=2,pk=doc-1,sk=1] old[-]
        REMOVE keys[pk=doc-1,sk=1] new[-] old[-]"#]]
    .assert_eq(&records_for(StreamViewType::NewImage).await);
    expect![[r#"
        INSERT keys[pk=doc-1,sk=1] new[-] old[-]
        MODIFY keys[pk=doc-1,sk=1] new[-] old[pages=1,pk=doc-1,sk=1]
        REMOVE keys[pk=doc-1,sk=1] new[-] old[pages=2,pk=doc-1,sk=1]"#]]
    .assert_eq(&records_for(StreamViewType::OldImage).await);
    expect![[r#"
        INSERT keys[pk=doc-1,sk=1] new[pages=1,pk=doc-1,sk=1] old[-]
        MODIFY keys[pk=doc-1,sk=1] new[pages=2,pk=doc-1,sk=1] old[pages=1,pk=doc-1,sk=1]
        REMOVE keys[pk=doc-1,sk=1] new[-] old[pages=2,pk=doc-1,sk=1]"#]]
    .assert_eq(&records_for(StreamViewType::NewAndOldImages).await);
}

#[tokio::test]
async fn an_unchanged_put_writes_no_record() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(StreamViewType::KeysOnly)).await;
    for _ in 0..3 {
        db.put_item()
            .table_name("documents")
            .item("pk", Av::S("same".into()))
            .item("sk", Av::N("1".into()))
            .send()
            .await
            .unwrap();
    }
    let records = read_all(
        &streams(&cloud, &root(&cloud, B)),
        &latest_stream(&db).await,
    )
    .await;
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].event_name, Some(OperationType::Insert));
    cloud.stop().await;
}

/// DynamoDB keeps numbers with leading and trailing zeros trimmed ("In
/// DynamoDB, numbers are represented as variable length. Leading and
/// trailing zeroes are trimmed.", Developer Guide, Supported data types),
/// so a write spelling the same numbers differently changes nothing.
#[tokio::test]
async fn numbers_are_normalised_and_respelling_them_changes_nothing() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(StreamViewType::NewImage)).await;
    let put = |spent: &str, set: [&str; 2], nested: &str| {
        db.put_item()
            .table_name("documents")
            .item("pk", Av::S("doc".into()))
            .item("sk", Av::N("1".into()))
            .item("spent", Av::N(spent.into()))
            .item("sizes", Av::Ns(set.map(str::to_owned).to_vec()))
            .item(
                "detail",
                Av::M(
                    [("pages".to_owned(), Av::L(vec![Av::N(nested.into())]))]
                        .into_iter()
                        .collect(),
                ),
            )
            .send()
    };
    put("1.50", ["2", "10"], "0.250").await.unwrap();
    put("001.5", ["2.0", "1E1"], "25E-2").await.unwrap();
    let item = db
        .get_item()
        .table_name("documents")
        .key("pk", Av::S("doc".into()))
        .key("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    expect![[r#"[("detail", M({"pages": L([N("0.25")])})), ("pk", S("doc")), ("sizes", Ns(["2", "10"])), ("sk", N("1")), ("spent", N("1.5"))]"#]]
        .assert_eq(&format!("{:?}", {
            let mut sorted: Vec<_> = item.into_iter().collect();
            sorted.sort_by(|a, b| a.0.cmp(&b.0));
            sorted
        }));
    let updated = db
        .update_item()
        .table_name("documents")
        .key("pk", Av::S("doc".into()))
        .key("sk", Av::N("1.0".into()))
        .update_expression("SET spent = :big, tiny = :tiny, zero = :zero")
        .expression_attribute_values(":big", Av::N("1.2E3".into()))
        .expression_attribute_values(":tiny", Av::N("-0.0500".into()))
        .expression_attribute_values(":zero", Av::N("-0".into()))
        .return_values(aws_sdk_dynamodb::types::ReturnValue::UpdatedNew)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    let mut updated: Vec<_> = updated.into_iter().collect();
    updated.sort_by(|a, b| a.0.cmp(&b.0));
    expect![[r#"[("spent", N("1200")), ("tiny", N("-0.05")), ("zero", N("0"))]"#]]
        .assert_eq(&format!("{updated:?}"));
    let duplicates = put("1", ["1", "1.0"], "0").await.unwrap_err();
    assert!(
        describe(&duplicates).contains("contains duplicates"),
        "{}",
        describe(&duplicates)
    );

    let records = read_all(
        &streams(&cloud, &root(&cloud, B)),
        &latest_stream(&db).await,
    )
    .await;
    let names: Vec<_> = records
        .iter()
        .map(|r| r.event_name.clone().unwrap())
        .collect();
    // The second put spelt the same numbers differently: no record.
    assert_eq!(names, [OperationType::Insert, OperationType::Modify]);
    let image = records[0]
        .dynamodb
        .as_ref()
        .unwrap()
        .new_image
        .as_ref()
        .unwrap();
    assert_eq!(image["spent"], StreamAv::N("1.5".into()));
    cloud.stop().await;
}

async fn rolling_cloud() -> (
    RunningCloud,
    aws_sdk_dynamodb::Client,
    aws_sdk_dynamodbstreams::Client,
) {
    let cloud = LocalCloud::builder()
        .shard_max_records(2)
        .start()
        .await
        .unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    let st = streams(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(StreamViewType::NewImage)).await;
    for n in 0..5 {
        db.put_item()
            .table_name("documents")
            .item("pk", Av::S(format!("doc-{n}")))
            .item("sk", Av::N("1".into()))
            .send()
            .await
            .unwrap();
    }
    (cloud, db, st)
}

#[tokio::test]
async fn shards_roll_over_into_children_with_lineage() {
    let (cloud, db, st) = rolling_cloud().await;
    let arn = latest_stream(&db).await;
    let description = st
        .describe_stream()
        .stream_arn(&arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(description.stream_status.unwrap().as_str(), "ENABLED");
    assert_eq!(description.table_name.as_deref(), Some("documents"));
    let shards = description.shards.unwrap();
    assert_eq!(shards.len(), 3);
    for shard in &shards {
        assert!(shard.shard_id.as_ref().unwrap().len() >= 28);
    }
    assert!(shards[0].parent_shard_id.is_none());
    assert_eq!(shards[1].parent_shard_id, shards[0].shard_id);
    assert_eq!(shards[2].parent_shard_id, shards[1].shard_id);
    let closed = shards[0].sequence_number_range.as_ref().unwrap();
    assert!(closed.ending_sequence_number.is_some());
    assert!(
        shards[2]
            .sequence_number_range
            .as_ref()
            .unwrap()
            .ending_sequence_number
            .is_none()
    );

    // Reading the closed shard to its end: no next iterator.
    let iterator = trim_horizon_iterator(&st, &arn, shards[0].shard_id.clone().unwrap()).await;
    let page = st
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap();
    assert_eq!(page.records.unwrap().len(), 2);
    assert!(page.next_shard_iterator.is_none());

    // Pagination of DescribeStream.
    let first = st
        .describe_stream()
        .stream_arn(&arn)
        .limit(2)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(first.shards.unwrap().len(), 2);
    let last = first.last_evaluated_shard_id.unwrap();
    let rest = st
        .describe_stream()
        .stream_arn(&arn)
        .exclusive_start_shard_id(last)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(rest.shards.unwrap().len(), 1);
    assert!(rest.last_evaluated_shard_id.is_none());

    let all = read_all(&st, &arn).await;
    let keys: Vec<String> = all
        .iter()
        .map(
            |r| match &r.dynamodb.as_ref().unwrap().keys.as_ref().unwrap()["pk"] {
                StreamAv::S(s) => s.clone(),
                other => panic!("{other:?}"),
            },
        )
        .collect();
    assert_eq!(keys, ["doc-0", "doc-1", "doc-2", "doc-3", "doc-4"]);
    cloud.stop().await;
}

#[tokio::test]
async fn a_child_shards_filter_describes_only_the_children_of_a_shard() {
    use aws_sdk_dynamodbstreams::types::{ShardFilter, ShardFilterType};
    let (cloud, db, st) = rolling_cloud().await;
    let arn = latest_stream(&db).await;
    let shards = list_shards(&st, &arn).await;
    let ids: Vec<String> = shards.iter().map(|s| s.shard_id.clone().unwrap()).collect();
    let children_of = |shard_id: String| {
        st.describe_stream()
            .stream_arn(&arn)
            .shard_filter(
                ShardFilter::builder()
                    .r#type(ShardFilterType::ChildShards)
                    .shard_id(shard_id)
                    .build(),
            )
            .send()
    };
    let children =
        |output: aws_sdk_dynamodbstreams::operation::describe_stream::DescribeStreamOutput| {
            let description = output.stream_description.unwrap();
            assert!(description.last_evaluated_shard_id.is_none());
            description
                .shards
                .unwrap()
                .into_iter()
                .map(|s| s.shard_id.unwrap())
                .collect::<Vec<_>>()
        };
    assert_eq!(
        children(children_of(ids[0].clone()).await.unwrap()),
        [ids[1].clone()]
    );
    assert_eq!(
        children(children_of(ids[1].clone()).await.unwrap()),
        [ids[2].clone()]
    );
    // The open shard has no child yet.
    assert!(children(children_of(ids[2].clone()).await.unwrap()).is_empty());

    let bad_type = st
        .describe_stream()
        .stream_arn(&arn)
        .shard_filter(
            ShardFilter::builder()
                .r#type(ShardFilterType::from("PARENT_SHARDS"))
                .shard_id(ids[0].clone())
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: 1 validation error detected: Value 'PARENT_SHARDS' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [CHILD_SHARDS]"]
        .assert_eq(&describe(&bad_type));
    let short = children_of("shard-1".to_owned()).await.unwrap_err();
    expect!["ValidationException: 1 validation error detected: Value 'shard-1' at 'shardFilter.shardId' failed to satisfy constraint: Member must have length less than or equal to 65 and greater than or equal to 28"]
        .assert_eq(&describe(&short));
    cloud.stop().await;
}

#[tokio::test]
async fn iterators_of_all_four_types_and_limits() {
    let (cloud, db, st) = rolling_cloud().await;
    let arn = latest_stream(&db).await;
    let shards = list_shards(&st, &arn).await;
    let open = shards.last().unwrap();
    let shard_id = open.shard_id.clone().unwrap();
    let first_sequence = open
        .sequence_number_range
        .as_ref()
        .unwrap()
        .starting_sequence_number
        .clone()
        .unwrap();
    let iterator = |kind: ShardIteratorType, sequence: Option<String>| {
        st.get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(&shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence)
            .send()
    };
    let at = iterator(
        ShardIteratorType::AtSequenceNumber,
        Some(first_sequence.clone()),
    )
    .await
    .unwrap()
    .shard_iterator
    .unwrap();
    let records = st
        .get_records()
        .shard_iterator(at)
        .send()
        .await
        .unwrap()
        .records
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]
            .dynamodb
            .as_ref()
            .unwrap()
            .sequence_number
            .as_ref(),
        Some(&first_sequence)
    );
    let after = iterator(
        ShardIteratorType::AfterSequenceNumber,
        Some(first_sequence.clone()),
    )
    .await
    .unwrap()
    .shard_iterator
    .unwrap();
    let page = st.get_records().shard_iterator(after).send().await.unwrap();
    assert!(page.records.unwrap().is_empty());
    assert!(page.next_shard_iterator.is_some());

    let latest = iterator(ShardIteratorType::Latest, None)
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    db.put_item()
        .table_name("documents")
        .item("pk", Av::S("late".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    let page = st
        .get_records()
        .shard_iterator(latest)
        .limit(1)
        .send()
        .await
        .unwrap();
    let records = page.records.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]
            .dynamodb
            .as_ref()
            .unwrap()
            .new_image
            .as_ref()
            .unwrap()["pk"],
        StreamAv::S("late".into())
    );

    let bad_limit = st
        .get_records()
        .shard_iterator(page.next_shard_iterator.unwrap())
        .limit(1001)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&bad_limit, "ValidationException: ");
    let no_shard = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id("shardId-00000000000000000000-00000000")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    assert!(
        no_shard
            .into_service_error()
            .is_resource_not_found_exception()
    );
    cloud.stop().await;
}

#[tokio::test]
async fn iterators_expire_and_old_records_are_trimmed() {
    let (cloud, db, st) = rolling_cloud().await;
    let arn = latest_stream(&db).await;
    let shards = list_shards(&st, &arn).await;
    let first = shards[0].clone();
    let iterator = trim_horizon_iterator(&st, &arn, first.shard_id.clone().unwrap()).await;
    cloud.advance_clock(Duration::from_secs(16 * 60));
    let expired = st
        .get_records()
        .shard_iterator(&iterator)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&expired, "ExpiredIteratorException: Iterator expired.");
    assert!(expired.into_service_error().is_expired_iterator_exception());

    let sequence = first
        .sequence_number_range
        .unwrap()
        .starting_sequence_number
        .unwrap();
    let fresh = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(first.shard_id.clone().unwrap())
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(&sequence)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    cloud.advance_clock(Duration::from_secs(24 * 3600));
    // A write after a day trims what is older than 24 hours.
    db.put_item()
        .table_name("documents")
        .item("pk", Av::S("new".into()))
        .item("sk", Av::N("1".into()))
        .send()
        .await
        .unwrap();
    let trimmed = st
        .get_records()
        .shard_iterator(&fresh)
        .send()
        .await
        .unwrap_err();
    // The iterator is older than 15 minutes too; expiry is reported first.
    assert!(trimmed.into_service_error().is_expired_iterator_exception());
    let shards = list_shards(&st, &arn).await;
    assert!(
        shards.iter().all(|s| s.shard_id != first.shard_id),
        "closed, drained shards older than a day are gone"
    );
    let open = shards.last().unwrap();
    let horizon = trim_horizon_iterator(&st, &arn, open.shard_id.clone().unwrap()).await;
    let records = st
        .get_records()
        .shard_iterator(horizon)
        .send()
        .await
        .unwrap()
        .records
        .unwrap();
    assert_eq!(
        records.len(),
        1,
        "only the record younger than a day is left"
    );
    let old_position = st
        .get_shard_iterator()
        .stream_arn(&arn)
        .shard_id(open.shard_id.clone().unwrap())
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .sequence_number(
            open.sequence_number_range
                .as_ref()
                .unwrap()
                .starting_sequence_number
                .clone()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert!(
        old_position
            .into_service_error()
            .is_trimmed_data_access_exception()
    );
    cloud.stop().await;
}

#[tokio::test]
async fn list_streams_filters_and_paginates_and_a_new_view_type_makes_a_new_stream() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    let st = streams(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(StreamViewType::KeysOnly)).await;
    let first = latest_stream(&db).await;
    let again = db
        .update_table()
        .table_name("documents")
        .stream_specification(enabled_stream(StreamViewType::NewImage))
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: Table already has an enabled stream: TableName: documents"]
        .assert_eq(&describe(&again));
    db.update_table()
        .table_name("documents")
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(false)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    db.update_table()
        .table_name("documents")
        .stream_specification(enabled_stream(StreamViewType::NewImage))
        .send()
        .await
        .unwrap();
    let second = latest_stream(&db).await;
    assert_ne!(first, second);
    let old = st
        .describe_stream()
        .stream_arn(&first)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    assert_eq!(old.stream_status.unwrap().as_str(), "DISABLED");

    create_table(&db, "other", Some(StreamViewType::KeysOnly)).await;
    let all = st.list_streams().send().await.unwrap().streams.unwrap();
    assert_eq!(all.len(), 3);
    let filtered = st
        .list_streams()
        .table_name("documents")
        .send()
        .await
        .unwrap()
        .streams
        .unwrap();
    assert_eq!(filtered.len(), 2);
    let page = st.list_streams().limit(1).send().await.unwrap();
    assert_eq!(page.streams.unwrap().len(), 1);
    let next = st
        .list_streams()
        .exclusive_start_stream_arn(page.last_evaluated_stream_arn.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(next.streams.unwrap().len(), 2);
    cloud.stop().await;
}

#[tokio::test]
async fn shards_roll_over_by_age_too() {
    let cloud = LocalCloud::builder()
        .shard_max_age(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let db = dynamodb(&cloud, &root(&cloud, B));
    create_table(&db, "documents", Some(StreamViewType::KeysOnly)).await;
    let put = |pk: &'static str| {
        db.put_item()
            .table_name("documents")
            .item("pk", Av::S(pk.into()))
            .item("sk", Av::N("1".into()))
            .send()
    };
    put("before").await.unwrap();
    cloud.advance_clock(Duration::from_secs(2 * 3600));
    put("after").await.unwrap();
    let st = streams(&cloud, &root(&cloud, B));
    let arn = latest_stream(&db).await;
    let shards = list_shards(&st, &arn).await;
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[1].parent_shard_id, shards[0].shard_id);
    assert_eq!(read_all(&st, &arn).await.len(), 2);
    cloud.stop().await;
}
