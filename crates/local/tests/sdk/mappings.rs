//! Event source mappings through aws-sdk-lambda: a function in A consumes
//! the stream of a table in B, refused without the stream policy, then
//! polled as the execution role; partial batch failures, retries, and the
//! stream policy removed and restored while the mapping runs.

use crate::common::{
    A, B, REGION, assert_describes_as, describe, dynamodb, iam, is_iso8601_millis, lambda, root,
    sqs, start, streams,
};
use crate::dynamodb::create_table;
use crate::invoke::deploy;
use crate::lambda::create_role;
use crate::streams::latest_stream;
use aws_sdk_dynamodb::types::{AttributeValue, StreamViewType};
use aws_sdk_lambda::types::{
    DestinationConfig, EventSourcePosition, Filter, FilterCriteria, FunctionResponseType, OnFailure,
};
use expect_test::expect;
use std::time::{Duration, Instant};
use streamgate_local::{LocalCloud, RunningCloud};

fn stream_policy(stream_arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/consumer"}},"Action":["dynamodb:DescribeStream","dynamodb:GetShardIterator","dynamodb:GetRecords"],"Resource":"{stream_arn}"}}]}}"#
    )
}

/// Puts `stream_policy` on `stream_arn` as B, letting A's role read it.
async fn share_stream(cloud: &RunningCloud, stream_arn: &str) {
    dynamodb(cloud, &root(cloud, B))
        .put_resource_policy()
        .resource_arn(stream_arn)
        .policy(stream_policy(stream_arn))
        .send()
        .await
        .unwrap();
}

/// B's table with a stream; A's role (with the AWS managed stream-reading
/// policy) and the test function. Gives the stream ARN.
async fn setup(cloud: &RunningCloud) -> String {
    let db = dynamodb(cloud, &root(cloud, B));
    create_table(&db, "documents", Some(StreamViewType::NewAndOldImages)).await;
    let role = create_role(cloud, A, "consumer", "lambda.amazonaws.com").await;
    iam(cloud, &root(cloud, A))
        .attach_role_policy()
        .role_name("consumer")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")
        .send()
        .await
        .unwrap();
    deploy(cloud, "consumer", &role, 3, &[]).await;
    latest_stream(&db).await
}

async fn put(cloud: &RunningCloud, pk: &str, extra: Option<&str>) {
    let mut request = dynamodb(cloud, &root(cloud, B))
        .put_item()
        .table_name("documents")
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("sk", AttributeValue::N("1".to_owned()));
    if let Some(name) = extra {
        request = request.item(name, AttributeValue::Bool(true));
    }
    request.send().await.unwrap();
}

/// The keys of the records the function was given, in order.
fn delivered(cloud: &RunningCloud) -> Vec<String> {
    cloud
        .function_logs(A, REGION, "consumer")
        .iter()
        .filter_map(|line| line.strip_prefix("record INSERT ").map(str::to_owned))
        .collect()
}

/// Waits (at most 20 s) until `done` holds for the delivered keys.
async fn wait_for_deliveries(cloud: &RunningCloud, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let keys = delivered(cloud);
        if done(&keys) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}; delivered: {keys:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

async fn last_result(client: &aws_sdk_lambda::Client, uuid: &str) -> (String, String) {
    let mapping = client
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .unwrap();
    (
        mapping.state().unwrap_or_default().to_owned(),
        mapping
            .last_processing_result()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// Waits (at most 20 s) until the mapping's state and last processing
/// result satisfy `done`; gives them.
async fn wait_for_mapping(
    client: &aws_sdk_lambda::Client,
    uuid: &str,
    what: &str,
    done: impl Fn(&str, &str) -> bool,
) -> (String, String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (state, result) = last_result(client, uuid).await;
        if done(&state, &result) {
            return (state, result);
        }
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}; last: {state}, {result}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_function_in_a_consumes_the_stream_of_b_as_its_role() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    let client = lambda(&cloud, &root(&cloud, A));
    let create = || {
        client
            .create_event_source_mapping()
            .function_name("consumer")
            .event_source_arn(&stream)
            .starting_position(EventSourcePosition::TrimHorizon)
            .batch_size(2)
            .maximum_retry_attempts(2)
            .function_response_types(FunctionResponseType::ReportBatchItemFailures)
    };
    let refused = create().send().await.unwrap_err();
    assert_eq!(
        describe(&refused),
        format!(
            "InvalidParameterValueException: Cannot access stream {stream}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
        )
    );

    share_stream(&cloud, &stream).await;
    for pk in ["a", "b", "c"] {
        put(&cloud, pk, None).await;
    }
    let created = create().send().await.unwrap();
    let uuid = created.uuid().unwrap().to_owned();
    assert_eq!(created.state(), Some("Creating"));
    assert_eq!(created.batch_size(), Some(2));
    for pk in ["d", "e"] {
        put(&cloud, pk, None).await;
    }
    wait_for_deliveries(&cloud, "the five records", |keys| keys.len() >= 5).await;
    assert_eq!(
        delivered(&cloud),
        ["a", "b", "c", "d", "e"],
        "in order, once each"
    );
    expect![[r#"("Enabled", "OK")"#]]
        .assert_eq(&format!("{:?}", last_result(&client, &uuid).await));

    // A record the function reports as failed is retried from the lowest
    // reported sequence number, with what follows it, until the retries are
    // spent; nothing after it is lost.
    // (Written while the mapping is disabled, so that f and g share a batch.)
    let disabled = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .enabled(false)
        .send()
        .await
        .unwrap();
    assert_eq!(disabled.state(), Some("Disabling"));
    wait_for_mapping(&client, &uuid, "the mapping to be disabled", |state, _| {
        state == "Disabled"
    })
    .await;
    put(&cloud, "f", Some("fail")).await;
    put(&cloud, "g", None).await;
    put(&cloud, "h", None).await;
    client
        .update_event_source_mapping()
        .uuid(&uuid)
        .enabled(true)
        .send()
        .await
        .unwrap();
    wait_for_deliveries(&cloud, "the failing batch retried and h", |keys| {
        keys.iter().any(|k| k == "h")
    })
    .await;
    expect![[r#"["a", "b", "c", "d", "e", "f", "g", "f", "g", "f", "g", "h"]"#]]
        .assert_eq(&format!("{:?}", delivered(&cloud)));

    // The stream policy removed: polling fails visibly; restored: it resumes
    // with nothing lost.
    dynamodb(&cloud, &root(&cloud, B))
        .delete_resource_policy()
        .resource_arn(&stream)
        .send()
        .await
        .unwrap();
    put(&cloud, "i", None).await;
    wait_for_mapping(&client, &uuid, "the denial to show", |_, result| {
        result.starts_with("PROBLEM: AccessDeniedException")
    })
    .await;
    assert!(!delivered(&cloud).contains(&"i".to_owned()));
    share_stream(&cloud, &stream).await;
    wait_for_deliveries(&cloud, "i after the policy came back", |keys| {
        keys.iter().any(|k| k == "i")
    })
    .await;
    assert_eq!(delivered(&cloud).iter().filter(|k| *k == "i").count(), 1);

    let by_function = client
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    let by_source = client
        .list_event_source_mappings()
        .event_source_arn(&stream)
        .send()
        .await
        .unwrap();
    assert_eq!(by_function.event_source_mappings().len(), 1);
    assert_eq!(by_source.event_source_mappings().len(), 1);
    let in_b = lambda(&cloud, &root(&cloud, B))
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&in_b, "ResourceNotFoundException");
    let deleted = client
        .delete_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.state(), Some("Deleting"));
    let gone = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&gone, "ResourceNotFoundException");
    cloud.stop().await;
}

#[tokio::test]
async fn latest_skips_what_was_written_before_and_unimplemented_parameters_are_refused() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    share_stream(&cloud, &stream).await;
    put(&cloud, "before", None).await;
    let client = lambda(&cloud, &root(&cloud, A));
    let refused = client
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::Latest)
        .tumbling_window_in_seconds(60)
        .send()
        .await
        .unwrap_err();
    expect![[r#"InvalidParameterValueException: streamgate-local does not implement TumblingWindowInSeconds for event source mappings yet"#]]
        .assert_eq(&describe(&refused));
    let created = client
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::Latest)
        .send()
        .await
        .unwrap();
    let uuid = created.uuid().unwrap();
    // A second mapping of the same function (even named `NAME:$LATEST`)
    // and stream is refused, naming the one that exists.
    for name in ["consumer", "consumer:$LATEST"] {
        let duplicate = client
            .create_event_source_mapping()
            .function_name(name)
            .event_source_arn(&stream)
            .starting_position(EventSourcePosition::TrimHorizon)
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            describe(&duplicate),
            format!(
                "ResourceConflictException: The event source arn (\" {stream} \") and function (\" {name} \") provided mapping already exists. Please update or delete the existing mapping with UUID {uuid}"
            )
        );
        assert_eq!(duplicate.raw_response().unwrap().status().as_u16(), 409);
    }
    let listed = client
        .list_event_source_mappings()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    assert_eq!(listed.event_source_mappings().len(), 1);
    wait_for_mapping(&client, uuid, "the mapping to be enabled", |state, _| {
        state == "Enabled"
    })
    .await;
    put(&cloud, "after", None).await;
    wait_for_deliveries(&cloud, "the record written after", |keys| !keys.is_empty()).await;
    assert_eq!(delivered(&cloud), ["after"]);

    // A second mapping, of version 1: listed a page at a time by UUID.
    client
        .publish_version()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    let second = client
        .create_event_source_mapping()
        .function_name("consumer:1")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::Latest)
        .send()
        .await
        .unwrap();
    let mut uuids = [uuid.to_owned(), second.uuid().unwrap().to_owned()];
    uuids.sort();
    let first_page = client
        .list_event_source_mappings()
        .max_items(1)
        .send()
        .await
        .unwrap();
    let second_page = client
        .list_event_source_mappings()
        .max_items(1)
        .set_marker(first_page.next_marker().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let uuids_of =
        |page: &aws_sdk_lambda::operation::list_event_source_mappings::ListEventSourceMappingsOutput| {
            page.event_source_mappings()
                .iter()
                .filter_map(|m| m.uuid().map(str::to_owned))
                .collect::<Vec<_>>()
        };
    assert_eq!(uuids_of(&first_page), [uuids[0].clone()]);
    assert_eq!(uuids_of(&second_page), [uuids[1].clone()]);
    assert_eq!(second_page.next_marker(), None);
    let refused = client
        .list_event_source_mappings()
        .max_items(10_001)
        .send()
        .await
        .unwrap_err();
    expect![[r#"ValidationException: 1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"#]]
        .assert_eq(&describe(&refused));
    cloud.stop().await;
}

/// A mapping whose poller has not yet taken up the last change (here:
/// asleep for an hour after being disabled) refuses another update, as
/// Lambda does while a mapping is Creating, Enabling, Disabling or Updating.
#[tokio::test]
async fn a_mapping_in_transition_refuses_updates() {
    let cloud = LocalCloud::builder()
        .event_source_poll_interval(Duration::from_secs(3600))
        .start()
        .await
        .unwrap();
    let stream = setup(&cloud).await;
    let uuid = create_mapping(&cloud, &stream, -1).await;
    let client = lambda(&cloud, &root(&cloud, A));
    // The first poll starts at once and makes the mapping Enabled.
    wait_for_mapping(&client, &uuid, "the mapping to be enabled", |state, _| {
        state == "Enabled"
    })
    .await;
    let disabling = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .enabled(false)
        .send()
        .await
        .unwrap();
    assert_eq!(disabling.state(), Some("Disabling"));
    let busy = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .batch_size(10)
        .send()
        .await
        .unwrap_err();
    expect!["ResourceInUseException: Cannot update the event source mapping because it is in use."]
        .assert_eq(&describe(&busy));
    assert!(busy.into_service_error().is_resource_in_use_exception());
    // Nothing of the refused update was applied.
    let mapping = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(mapping.batch_size(), Some(100));
    cloud.stop().await;
}

async fn create_mapping(cloud: &RunningCloud, stream: &str, retries: i32) -> String {
    share_stream(cloud, stream).await;
    let created = lambda(cloud, &root(cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .maximum_retry_attempts(retries)
        .send()
        .await
        .unwrap();
    created.uuid().unwrap().to_owned()
}

#[tokio::test]
async fn every_shard_is_read_when_the_stream_has_more_than_one_page_of_them() {
    // One record per shard: 130 writes leave 130 shards, more than the 100
    // that one DescribeStream call gives.
    let cloud = LocalCloud::builder()
        .shard_max_records(1)
        .start()
        .await
        .unwrap();
    let stream = setup(&cloud).await;
    let written: Vec<String> = (0..130).map(|i| format!("doc-{i:03}")).collect();
    for key in &written {
        put(&cloud, key, None).await;
    }
    let shards = streams(&cloud, &root(&cloud, B))
        .describe_stream()
        .stream_arn(&stream)
        .send()
        .await
        .unwrap();
    let description = shards.stream_description().unwrap();
    assert_eq!(description.shards().len(), 100);
    assert!(description.last_evaluated_shard_id().is_some());
    create_mapping(&cloud, &stream, -1).await;
    wait_for_deliveries(&cloud, "a record from each of the 130 shards", |keys| {
        keys.len() >= written.len()
    })
    .await;
    // Each shard is read after its parent, so the records come in order.
    assert_eq!(delivered(&cloud), written);
    cloud.stop().await;
}

#[tokio::test]
async fn pollers_wake_when_a_record_is_written() {
    // A poll interval far beyond the wait's bound: only the wake-up can
    // deliver the record in time.
    let cloud = LocalCloud::builder()
        .event_source_poll_interval(Duration::from_secs(600))
        .wake_pollers_on_write(true)
        .start()
        .await
        .unwrap();
    let stream = setup(&cloud).await;
    let uuid = create_mapping(&cloud, &stream, -1).await;
    let client = lambda(&cloud, &root(&cloud, A));
    wait_for_mapping(&client, &uuid, "the first poll", |state, _| {
        state == "Enabled"
    })
    .await;
    put(&cloud, "woken", None).await;
    wait_for_deliveries(&cloud, "the record, by wake-up", |keys| !keys.is_empty()).await;
    assert_eq!(delivered(&cloud), ["woken"]);
    cloud.stop().await;
}

#[tokio::test]
async fn a_function_crashing_mid_batch_is_retried_then_the_batch_dropped() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    put(&cloud, "one", None).await;
    put(&cloud, "crash", Some("exit")).await;
    put(&cloud, "three", None).await;
    let uuid = create_mapping(&cloud, &stream, 1).await;
    wait_for_deliveries(&cloud, "the batch tried twice", |keys| {
        keys.iter().filter(|k| *k == "crash").count() == 2
    })
    .await;
    put(&cloud, "after", None).await;
    wait_for_deliveries(&cloud, "the record after the crashing batch", |keys| {
        keys.iter().any(|k| k == "after")
    })
    .await;
    // The process exits at the second record: the batch (all three) is
    // retried once on a new instance, then dropped; what follows arrives.
    expect![[r#"["one", "crash", "one", "crash", "after"]"#]]
        .assert_eq(&format!("{:?}", delivered(&cloud)));
    let logs = cloud.function_logs(A, REGION, "consumer").join("\n");
    assert!(logs.contains("exiting on record"), "{logs}");
    let client = lambda(&cloud, &root(&cloud, A));
    wait_for_mapping(&client, &uuid, "an OK after the crashes", |_, result| {
        result == "OK"
    })
    .await;
    cloud.stop().await;
}

/// Waits (at most 20 s) until the mapping's LastProcessingResult is `want`.
async fn wait_for_result(client: &aws_sdk_lambda::Client, uuid: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, result) = last_result(client, uuid).await;
        if result == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 20 s for LastProcessingResult {want:?}; it is {result:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_throttled_function_gets_its_records_later_none_lost_or_reordered() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    let client = lambda(&cloud, &root(&cloud, A));
    client
        .put_function_concurrency()
        .function_name("consumer")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    put(&cloud, "one", None).await;
    put(&cloud, "two", None).await;
    // No retries: a throttle counted as a failure would drop the batch.
    let uuid = create_mapping(&cloud, &stream, 0).await;
    wait_for_result(&client, &uuid, "PROBLEM: Function call throttled").await;
    put(&cloud, "three", None).await;
    wait_for_result(&client, &uuid, "PROBLEM: Function call throttled").await;
    assert!(
        delivered(&cloud).is_empty(),
        "reserved 0: the function never runs"
    );
    client
        .delete_function_concurrency()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    wait_for_deliveries(&cloud, "the records held back", |keys| keys.len() >= 3).await;
    wait_for_result(&client, &uuid, "OK").await;
    expect![[r#"["one", "two", "three"]"#]].assert_eq(&format!("{:?}", delivered(&cloud)));
    cloud.stop().await;
}

#[tokio::test]
async fn records_older_than_the_maximum_age_are_discarded() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    share_stream(&cloud, &stream).await;
    put(&cloud, "old", None).await;
    cloud.advance_clock(Duration::from_secs(120));
    let refused = lambda(&cloud, &root(&cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .maximum_record_age_in_seconds(30)
        .send()
        .await
        .unwrap_err();
    expect![[r#"ValidationException: 1 validation error detected: Value '30' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must be -1 or between 60 and 604800"#]]
        .assert_eq(&describe(&refused));
    let created = lambda(&cloud, &root(&cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .maximum_record_age_in_seconds(60)
        .send()
        .await
        .unwrap();
    assert_eq!(created.maximum_record_age_in_seconds(), Some(60));
    put(&cloud, "new", None).await;
    wait_for_deliveries(&cloud, "the new record", |keys| !keys.is_empty()).await;
    assert_eq!(
        delivered(&cloud),
        ["new"],
        "the two-minute-old record is discarded"
    );
    cloud.stop().await;
}

fn filter_criteria(patterns: &[&str]) -> FilterCriteria {
    let mut criteria = FilterCriteria::builder();
    for pattern in patterns {
        criteria = criteria.filters(Filter::builder().pattern(*pattern).build());
    }
    criteria.build()
}

#[tokio::test]
async fn records_no_filter_matches_are_skipped_and_bad_patterns_refused() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    share_stream(&cloud, &stream).await;
    let client = lambda(&cloud, &root(&cloud, A));
    let create = |patterns: &[&str]| {
        client
            .create_event_source_mapping()
            .function_name("consumer")
            .event_source_arn(&stream)
            .starting_position(EventSourcePosition::TrimHorizon)
            .filter_criteria(filter_criteria(patterns))
    };
    for bad in [
        r#"{"eventName":"INSERT"}"#,
        r#"{"eventName":[{"wildcard":"IN*"}]}"#,
        "not json",
    ] {
        let refused = create(&[bad]).send().await.unwrap_err();
        assert_eq!(
            describe(&refused),
            "InvalidParameterValueException: Invalid filter pattern definition.",
            "{bad}"
        );
    }
    let too_many = create(&[r#"{"a":["x"]}"#; 6]).send().await.unwrap_err();
    expect![[r#"InvalidParameterValueException: The number of filters in FilterCriteria (6) exceeds the limit of 5"#]]
        .assert_eq(&describe(&too_many));

    for pk in ["keep-1", "drop-1", "KEEP-2", "drop-2", "keep-3"] {
        put(&cloud, pk, None).await;
    }
    put(&cloud, "marked", Some("flag")).await;
    let prefix =
        r#"{"eventName":["INSERT"],"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"keep"}]}}}}"#;
    let flagged = r#"{"dynamodb":{"NewImage":{"flag":{"BOOL":[true]}}}}"#;
    let created = create(&[prefix, flagged]).send().await.unwrap();
    let uuid = created.uuid().unwrap().to_owned();
    let patterns = |criteria: Option<&FilterCriteria>| -> Vec<String> {
        criteria
            .map(|c| {
                c.filters()
                    .iter()
                    .filter_map(|f| f.pattern().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(patterns(created.filter_criteria()), [prefix, flagged]);
    wait_for_deliveries(&cloud, "the records a filter matches", |keys| {
        keys.iter().any(|k| k == "marked")
    })
    .await;
    assert_eq!(delivered(&cloud), ["keep-1", "keep-3", "marked"]);

    // The skipped records were passed by the checkpoint: with the filters
    // cleared, only what is written next arrives.
    let updated = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .filter_criteria(FilterCriteria::builder().build())
        .send()
        .await
        .unwrap();
    assert!(patterns(updated.filter_criteria()).is_empty());
    let refused = client
        .update_event_source_mapping()
        .uuid(&uuid)
        .filter_criteria(filter_criteria(&[
            r#"{"eventName":[{"numeric":["<",1,">",0]}]}"#,
        ]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&refused),
        "InvalidParameterValueException: Invalid filter pattern definition."
    );
    put(&cloud, "drop-3", None).await;
    wait_for_deliveries(&cloud, "drop-3 with no filter", |keys| {
        keys.iter().any(|k| k == "drop-3")
    })
    .await;
    assert_eq!(delivered(&cloud), ["keep-1", "keep-3", "marked", "drop-3"]);
    cloud.stop().await;
}

#[tokio::test]
async fn a_failing_batch_is_bisected_down_to_the_poison_record() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    share_stream(&cloud, &stream).await;
    for (pk, mark) in [("a", None), ("b", None), ("p", Some("poison")), ("d", None)] {
        put(&cloud, pk, mark).await;
    }
    let created = lambda(&cloud, &root(&cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(4)
        .maximum_retry_attempts(1)
        .bisect_batch_on_function_error(true)
        .send()
        .await
        .unwrap();
    assert_eq!(created.bisect_batch_on_function_error(), Some(true));
    put(&cloud, "e", None).await;
    wait_for_deliveries(&cloud, "e after the bisected batch", |keys| {
        keys.iter().any(|k| k == "e")
    })
    .await;
    // The batch of four fails and is split: a and b pass; p and d fail and
    // are split; p alone fails twice (one retry) and is dropped; d passes.
    // Splitting is not a retry.
    expect![[r#"["a", "b", "p", "d", "a", "b", "p", "d", "p", "p", "d", "e"]"#]]
        .assert_eq(&format!("{:?}", delivered(&cloud)));
    cloud.stop().await;
}

#[tokio::test]
async fn a_batch_whose_retries_are_spent_goes_to_the_on_failure_queue() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    share_stream(&cloud, &stream).await;
    let queues = sqs(&cloud, &root(&cloud, A));
    let url = queues
        .create_queue()
        .queue_name("consumer-failures")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{A}:consumer-failures");
    let client = lambda(&cloud, &root(&cloud, A));
    let create = || {
        client
            .create_event_source_mapping()
            .function_name("consumer")
            .event_source_arn(&stream)
            .starting_position(EventSourcePosition::TrimHorizon)
            .batch_size(2)
            .maximum_retry_attempts(1)
            .destination_config(
                DestinationConfig::builder()
                    .on_failure(OnFailure::builder().destination(&queue_arn).build())
                    .build(),
            )
    };
    let refused = create().send().await.unwrap_err();
    expect![[r#"InvalidParameterValueException: The provided execution role does not have permissions to call SendMessage on SQS"#]]
        .assert_eq(&describe(&refused));
    iam(&cloud, &root(&cloud, A))
        .put_role_policy()
        .role_name("consumer")
        .policy_name("send-failures")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"{queue_arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();

    put(&cloud, "p", Some("poison")).await;
    put(&cloud, "q", None).await;
    let created = create().send().await.unwrap();
    assert_eq!(
        created
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|o| o.destination()),
        Some(queue_arn.as_str())
    );
    put(&cloud, "after", None).await;
    wait_for_deliveries(&cloud, "the record after the dropped batch", |keys| {
        keys.iter().any(|k| k == "after")
    })
    .await;
    expect![[r#"["p", "q", "p", "q", "after"]"#]].assert_eq(&format!("{:?}", delivered(&cloud)));

    let received = queues
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 1);
    let mut body: serde_json::Value =
        serde_json::from_str(received.messages()[0].body().unwrap()).unwrap();
    // What varies from run to run, checked for shape and then fixed.
    let info = body.pointer_mut("/DDBStreamBatchInfo").unwrap();
    for field in [
        "shardId",
        "startSequenceNumber",
        "endSequenceNumber",
        "approximateArrivalOfFirstRecord",
        "approximateArrivalOfLastRecord",
    ] {
        assert!(info[field].is_string(), "{field}: {info}");
        if field.starts_with("approximateArrival") {
            let time = info[field].as_str().unwrap_or_default();
            assert!(is_iso8601_millis(time), "{field}: {time}");
        }
        info[field] = field.into();
    }
    assert_eq!(info["streamArn"], stream.as_str());
    info["streamArn"] = "STREAM".into();
    let time = body["timestamp"].as_str().unwrap_or_default();
    assert!(is_iso8601_millis(time), "timestamp: {time}");
    for pointer in ["/requestContext/requestId", "/timestamp"] {
        let value = body.pointer_mut(pointer).unwrap();
        assert!(value.is_string(), "{pointer}");
        *value = pointer.into();
    }
    expect![[r#"
        {
          "DDBStreamBatchInfo": {
            "approximateArrivalOfFirstRecord": "approximateArrivalOfFirstRecord",
            "approximateArrivalOfLastRecord": "approximateArrivalOfLastRecord",
            "batchSize": 2,
            "endSequenceNumber": "endSequenceNumber",
            "shardId": "shardId",
            "startSequenceNumber": "startSequenceNumber",
            "streamArn": "STREAM"
          },
          "requestContext": {
            "approximateInvokeCount": 2,
            "condition": "RetryAttemptsExhausted",
            "functionArn": "arn:aws:lambda:eu-west-1:111111111111:function:consumer",
            "requestId": "/requestContext/requestId"
          },
          "responseContext": {
            "executedVersion": "$LATEST",
            "functionError": "Unhandled",
            "statusCode": 200
          },
          "timestamp": "/timestamp",
          "version": "1.0"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&body).unwrap());
    cloud.stop().await;
}

/// The records of each invocation, in order (`PK SK`), from the log.
fn invocations(cloud: &RunningCloud) -> Vec<Vec<String>> {
    let mut invocations: Vec<Vec<String>> = Vec::new();
    for line in cloud.function_logs(A, REGION, "consumer") {
        if line.starts_with("START RequestId") {
            invocations.push(Vec::new());
        } else if let (Some(keys), Some(current)) =
            (line.strip_prefix("keys "), invocations.last_mut())
        {
            current.push(keys.to_owned());
        }
    }
    invocations.retain(|records| !records.is_empty());
    invocations
}

async fn put_version(cloud: &RunningCloud, pk: &str, sk: u32, blob: Option<&str>) {
    let mut request = dynamodb(cloud, &root(cloud, B))
        .put_item()
        .table_name("documents")
        .item("pk", AttributeValue::S(pk.to_owned()))
        .item("sk", AttributeValue::N(sk.to_string()));
    if let Some(blob) = blob {
        request = request.item("blob", AttributeValue::S(blob.to_owned()));
    }
    request.send().await.unwrap();
}

async fn mapping_with(
    cloud: &RunningCloud,
    stream: &str,
    configure: impl FnOnce(
        aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder,
    ) -> aws_sdk_lambda::operation::create_event_source_mapping::builders::CreateEventSourceMappingFluentBuilder,
) -> String {
    share_stream(cloud, stream).await;
    let request = lambda(cloud, &root(cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(stream)
        .starting_position(EventSourcePosition::TrimHorizon);
    configure(request)
        .send()
        .await
        .unwrap()
        .uuid()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn concurrent_batches_keep_each_keys_order() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    let keys = ["k1", "k2", "k3", "k4", "k5", "k6"];
    for version in 1..=4 {
        for key in keys {
            put_version(&cloud, key, version, None).await;
        }
    }
    let refused = lambda(&cloud, &root(&cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .parallelization_factor(11)
        .send()
        .await
        .unwrap_err();
    expect![[r#"ValidationException: 1 validation error detected: Value '11' at 'parallelizationFactor' failed to satisfy constraint: Member must have value between 1 and 10"#]]
        .assert_eq(&describe(&refused));
    let uuid = mapping_with(&cloud, &stream, |m| {
        m.parallelization_factor(3).batch_size(3)
    })
    .await;
    wait_for_deliveries(&cloud, "the 24 records", |delivered| delivered.len() >= 24).await;
    let batches = invocations(&cloud);
    let all: Vec<&String> = batches.iter().flatten().collect();
    assert_eq!(all.len(), 24, "each record once: {batches:?}");
    for key in keys {
        let versions: Vec<&str> = all
            .iter()
            .filter_map(|r| r.strip_prefix(&format!("{key} ")))
            .collect();
        assert_eq!(
            versions,
            ["1", "2", "3", "4"],
            "{key} in order: {batches:?}"
        );
    }
    // (Concurrent invocations interleave their log lines, so batches are
    // counted by their START lines.)
    let starts = cloud
        .function_logs(A, REGION, "consumer")
        .iter()
        .filter(|line| line.starts_with("START RequestId"))
        .count();
    assert!(starts >= 8, "24 records in batches of at most 3: {starts}");
    let mapping = lambda(&cloud, &root(&cloud, A))
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(mapping.parallelization_factor(), Some(3));
    cloud.stop().await;
}

#[tokio::test]
async fn an_unfilled_batch_waits_for_its_window() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    put_version(&cloud, "a", 1, None).await;
    let uuid = mapping_with(&cloud, &stream, |m| {
        m.maximum_batching_window_in_seconds(60).batch_size(3)
    })
    .await;
    let client = lambda(&cloud, &root(&cloud, A));
    // Enabled is set after the first poll, which saw `a` and held it back.
    wait_for_mapping(&client, &uuid, "the first poll", |state, _| {
        state == "Enabled"
    })
    .await;
    assert!(invocations(&cloud).is_empty(), "{:?}", invocations(&cloud));
    // A full batch goes at once.
    put_version(&cloud, "b", 1, None).await;
    put_version(&cloud, "c", 1, None).await;
    wait_for_deliveries(&cloud, "the full batch", |keys| keys.len() >= 3).await;
    put_version(&cloud, "d", 1, None).await;
    cloud.advance_clock(Duration::from_secs(61));
    wait_for_deliveries(&cloud, "d once the window passed", |keys| keys.len() >= 4).await;
    expect![[r#"[["a 1", "b 1", "c 1"], ["d 1"]]"#]]
        .assert_eq(&format!("{:?}", invocations(&cloud)));
    let window = lambda(&cloud, &root(&cloud, A))
        .update_event_source_mapping()
        .uuid(&uuid)
        .maximum_batching_window_in_seconds(301)
        .send()
        .await
        .unwrap_err();
    expect![[r#"ValidationException: 1 validation error detected: Value '301' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value between 0 and 300"#]]
        .assert_eq(&describe(&window));
    cloud.stop().await;
}

#[tokio::test]
async fn a_batch_is_cut_to_stay_under_the_six_megabyte_payload() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    // 20 records of about 380 KB: 7.6 MB, more than one invocation holds.
    let blob = "x".repeat(380 * 1024);
    for sk in 1..=20 {
        put_version(&cloud, "big", sk, Some(&blob)).await;
    }
    mapping_with(&cloud, &stream, |m| m.batch_size(100)).await;
    wait_for_deliveries(&cloud, "the 20 large records", |keys| keys.len() >= 20).await;
    let batches = invocations(&cloud);
    let sizes: Vec<usize> = batches.iter().map(Vec::len).collect();
    assert_eq!(sizes.iter().sum::<usize>(), 20, "{sizes:?}");
    assert!(sizes.len() >= 2, "cut into several invocations: {sizes:?}");
    assert!(
        sizes.iter().all(|s| *s * 380 * 1024 <= 6 * 1024 * 1024),
        "every invocation under 6 MB: {sizes:?}"
    );
    let order: Vec<String> = batches.into_iter().flatten().collect();
    let expected: Vec<String> = (1..=20).map(|sk| format!("big {sk}")).collect();
    assert_eq!(order, expected);
    cloud.stop().await;
}

#[tokio::test]
async fn a_mapping_can_invoke_an_alias() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    let client = lambda(&cloud, &root(&cloud, A));
    client
        .publish_version()
        .function_name("consumer")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("consumer")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    put(&cloud, "aliased", None).await;
    let uuid = mapping_with(&cloud, &stream, |m| m.function_name("consumer:live")).await;
    wait_for_deliveries(&cloud, "the record, through the alias", |keys| {
        !keys.is_empty()
    })
    .await;
    assert_eq!(delivered(&cloud), ["aliased"]);
    let mapping = client
        .get_event_source_mapping()
        .uuid(&uuid)
        .send()
        .await
        .unwrap();
    assert_eq!(
        mapping.function_arn(),
        Some("arn:aws:lambda:eu-west-1:111111111111:function:consumer:live")
    );
    let on_latest = mapping_with(&cloud, &stream, |m| m.enabled(false)).await;
    let listed = |name: &'static str| {
        let client = client.clone();
        async move {
            let page = client
                .list_event_source_mappings()
                .function_name(name)
                .send()
                .await
                .unwrap();
            let mut uuids: Vec<String> = page
                .event_source_mappings()
                .iter()
                .filter_map(|m| m.uuid().map(str::to_owned))
                .collect();
            uuids.sort();
            uuids
        }
    };
    // Listing by a qualified name gives that alias's or version's mappings.
    assert_eq!(listed("consumer:live").await, std::slice::from_ref(&uuid));
    assert_eq!(
        listed("consumer:$LATEST").await,
        std::slice::from_ref(&on_latest)
    );
    assert!(listed("consumer:1").await.is_empty());
    let mut both = vec![uuid, on_latest];
    both.sort();
    assert_eq!(listed("consumer").await, both);
    cloud.stop().await;
}

#[tokio::test]
async fn a_batch_is_kept_until_a_queue_in_another_account_accepts_its_metadata() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    let queue_arn = format!("arn:aws:sqs:{REGION}:{B}:failures-of-a");
    iam(&cloud, &root(&cloud, A))
        .put_role_policy()
        .role_name("consumer")
        .policy_name("send-failures")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"{queue_arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let queues_in_b = sqs(&cloud, &root(&cloud, B));
    // B's queue has no policy yet: A's role may not send to it.
    queues_in_b
        .create_queue()
        .queue_name("failures-of-a")
        .send()
        .await
        .unwrap();
    put(&cloud, "p", Some("poison")).await;
    let uuid = mapping_with(&cloud, &stream, |m| {
        m.maximum_retry_attempts(0).destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&queue_arn).build())
                .build(),
        )
    })
    .await;
    let client = lambda(&cloud, &root(&cloud, A));
    let (_, result) = wait_for_mapping(
        &client,
        &uuid,
        "the refused destination to show",
        |_, result| result.starts_with("PROBLEM: the on-failure destination"),
    )
    .await;
    assert!(result.contains("AccessDenied"), "{result}");
    // With a queue policy letting A's role send, the kept batch's metadata
    // arrives, and what follows is delivered.
    let url = queues_in_b
        .get_queue_url()
        .queue_name("failures-of-a")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    queues_in_b
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/consumer"}},"Action":"sqs:SendMessage","Resource":"{queue_arn}"}}]}}"#
    );
    queues_in_b
        .create_queue()
        .queue_name("failures-of-a")
        .attributes(aws_sdk_sqs::types::QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap();
    put(&cloud, "after", None).await;
    wait_for_deliveries(&cloud, "the record after the kept batch", |keys| {
        keys.iter().any(|k| k == "after")
    })
    .await;
    let received = queues_in_b
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages().len(), 1, "one message for the batch");
    let body: serde_json::Value =
        serde_json::from_str(received.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body["DDBStreamBatchInfo"]["batchSize"], 1);
    assert_eq!(
        body["requestContext"]["condition"],
        "RetryAttemptsExhausted"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn records_discarded_for_age_go_to_the_on_failure_queue() {
    let cloud = start().await;
    let stream = setup(&cloud).await;
    dynamodb(&cloud, &root(&cloud, B))
        .put_resource_policy()
        .resource_arn(&stream)
        .policy(stream_policy(&stream))
        .send()
        .await
        .unwrap();
    let queues = sqs(&cloud, &root(&cloud, A));
    let url = queues
        .create_queue()
        .queue_name("aged-out")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let queue_arn = format!("arn:aws:sqs:{REGION}:{A}:aged-out");
    iam(&cloud, &root(&cloud, A))
        .put_role_policy()
        .role_name("consumer")
        .policy_name("send-failures")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"{queue_arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    put(&cloud, "old-1", None).await;
    put(&cloud, "old-2", None).await;
    cloud.advance_clock(Duration::from_secs(120));
    lambda(&cloud, &root(&cloud, A))
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .maximum_record_age_in_seconds(60)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&queue_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    put(&cloud, "new", None).await;
    wait_for_deliveries(&cloud, "the new record", |keys| !keys.is_empty()).await;
    assert_eq!(
        delivered(&cloud),
        ["new"],
        "the old records are not invoked"
    );

    let received = queues
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(
        received.messages().len(),
        1,
        "one message for the aged-out run"
    );
    let body: serde_json::Value =
        serde_json::from_str(received.messages()[0].body().unwrap()).unwrap();
    assert_eq!(body["requestContext"]["condition"], "RecordAgeExceeded");
    assert_eq!(body["requestContext"]["approximateInvokeCount"], 0);
    assert_eq!(body["DDBStreamBatchInfo"]["batchSize"], 2);
    assert_eq!(body["DDBStreamBatchInfo"]["streamArn"], stream.as_str());
    cloud.stop().await;
}
