//! Lambda's configuration operations beyond functions themselves, through
//! aws-sdk-lambda: UpdateAlias, tags, reserved concurrency (and its
//! enforcement), account settings and asynchronous invocation settings.

use crate::common::{
    A, B, Keys, REGION, describe, dynamodb, iam, is_iso8601_millis, lambda, root, sqs, start, sts,
};
use crate::dynamodb::create_table;
use crate::invoke::{deploy, test_function_zip};
use crate::lambda::create_role;
use crate::streams::latest_stream;
use aws_sdk_dynamodb::types::StreamViewType;
use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    DestinationConfig, Environment, EventSourcePosition, FunctionCode, InvocationType, OnFailure,
    OnSuccess, Runtime,
};
use expect_test::expect;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use streamgate_local::RunningCloud;

const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:111111111111:function:tester";

#[tokio::test]
async fn an_alias_is_updated_under_its_revision() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[("STAGE", "one")]).await;
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    client
        .update_function_configuration()
        .function_name("tester")
        .environment(Environment::builder().variables("STAGE", "two").build())
        .send()
        .await
        .unwrap();
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let created = client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("1")
        .description("first")
        .send()
        .await
        .unwrap();

    let stale = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .function_version("2")
        .revision_id("5b9c1b2e-0000-4000-a000-000000000000")
        .send()
        .await
        .unwrap_err();
    expect![[r#"PreconditionFailedException: The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"#]]
        .assert_eq(&describe(&stale));

    let updated = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .function_version("2")
        .revision_id(created.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.function_version(), Some("2"));
    assert_eq!(updated.description(), Some("first"), "kept when not given");
    assert_ne!(updated.revision_id(), created.revision_id());
    assert_eq!(
        updated.alias_arn(),
        Some(format!("{FUNCTION_ARN}:live").as_str())
    );
    let described = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .description("second")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (described.function_version(), described.description()),
        (Some("2"), Some("second"))
    );
    assert_ne!(described.revision_id(), updated.revision_id());
    let read = client
        .get_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(read.revision_id(), described.revision_id());
    let by_alias = client
        .get_function_configuration()
        .function_name("tester")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_alias.version(),
        Some("2"),
        "the alias runs version 2 now"
    );

    let mut errors = Vec::new();
    for (function, alias, version) in [
        ("tester", "live", "9"),
        ("tester", "absent", "1"),
        ("absent", "live", "1"),
    ] {
        let error = client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .unwrap_err();
        errors.push(describe(&error));
    }
    let long = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .description("d".repeat(257))
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&long).replace(&"d".repeat(257), "d x 257"));
    let long_new = client
        .create_alias()
        .function_name("tester")
        .name("next")
        .function_version("1")
        .description("d".repeat(257))
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&long_new).replace(&"d".repeat(257), "d x 257"));
    let from_b = lambda(&cloud, &root(&cloud, B))
        .update_alias()
        .function_name(FUNCTION_ARN)
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&from_b));
    expect![[r#"
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:9
        ResourceNotFoundException: Alias not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:absent
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent
        ValidationException: 1 validation error detected: Value 'd x 257' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256
        ValidationException: 1 validation error detected: Value 'd x 257' at 'description' failed to satisfy constraint: Member must have length less than or equal to 256
        AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:UpdateAlias on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no resource-based policy allows the lambda:UpdateAlias action"#]].assert_eq(&errors.join("\n"));
    cloud.stop().await;
}

/// A Lambda client of A that does not retry, so that a throttle is seen
/// as it is answered.
fn lambda_without_retries(cloud: &RunningCloud) -> aws_sdk_lambda::Client {
    let config = cloud.sdk_config(A, REGION).unwrap();
    aws_sdk_lambda::Client::from_conf(
        aws_sdk_lambda::config::Builder::from(&config)
            .retry_config(aws_sdk_lambda::config::retry::RetryConfig::disabled())
            .build(),
    )
}

#[tokio::test]
async fn functions_and_mappings_are_tagged_listed_and_untagged() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    let create = |name: &str| {
        client
            .create_function()
            .function_name(name)
            .runtime(Runtime::Providedal2023)
            .role(&role)
            .handler("bootstrap")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(test_function_zip()))
                    .build(),
            )
    };
    create("tester")
        .tags("team", "billing")
        .tags("stage", "test")
        .send()
        .await
        .unwrap();
    let tags_of = |arn: &str| {
        let client = client.clone();
        let arn = arn.to_owned();
        async move {
            let listed = client.list_tags().resource(arn).send().await.unwrap();
            let mut tags: Vec<String> = listed
                .tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            tags.sort();
            tags.join(",")
        }
    };
    assert_eq!(tags_of(FUNCTION_ARN).await, "stage=test,team=billing");
    let got = client
        .get_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(
        got.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("billing"),
        "GetFunction gives the tags"
    );

    // GetFunction gives tags only to a caller allowed lambda:ListTags.
    let iam_of_a = iam(&cloud, &root(&cloud, A));
    iam_of_a
        .create_role()
        .role_name("reader")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    iam_of_a
        .put_role_policy()
        .role_name("reader")
        .policy_name("get-function")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:GetFunction","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let session = sts(&cloud, &root(&cloud, A))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/reader"))
        .role_session_name("reader")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let as_reader = lambda(
        &cloud,
        &Keys {
            access_key_id: session.access_key_id,
            secret_access_key: session.secret_access_key,
            session_token: Some(session.session_token),
        },
    )
    .get_function()
    .function_name("tester")
    .send()
    .await
    .unwrap();
    expect![[r#"None Some("AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/reader/reader is not authorized to perform: lambda:ListTags on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no identity-based policy allows the lambda:ListTags action")"#]].assert_eq(&format!(
        "{:?} {:?}",
        as_reader.tags(),
        as_reader
            .tags_error()
            .map(|e| format!("{}: {}", e.error_code(), e.message()))
    ));

    client
        .tag_resource()
        .resource(FUNCTION_ARN)
        .tags("team", "platform")
        .tags("cost-center", "42")
        .send()
        .await
        .unwrap();
    assert_eq!(
        tags_of(FUNCTION_ARN).await,
        "cost-center=42,stage=test,team=platform"
    );
    client
        .untag_resource()
        .resource(FUNCTION_ARN)
        .tag_keys("stage")
        .tag_keys("absent")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(FUNCTION_ARN).await, "cost-center=42,team=platform");

    let mut errors = Vec::new();
    let mut refused = |outcome: Result<(), String>| errors.push(outcome.unwrap_err());
    let tag = |arn: &str, key: &str| client.tag_resource().resource(arn).tags(key, "v").send();
    refused(
        tag(FUNCTION_ARN, "aws:team")
            .await
            .map(|_| ())
            .map_err(|e| describe(&e)),
    );
    refused(
        tag(FUNCTION_ARN, &"k".repeat(129))
            .await
            .map(|_| ())
            .map_err(|e| describe(&e).replace(&"k".repeat(129), "k*129")),
    );
    refused(
        tag(&format!("{FUNCTION_ARN}:1"), "team")
            .await
            .map(|_| ())
            .map_err(|e| describe(&e)),
    );
    refused(
        tag(
            "arn:aws:lambda:eu-west-1:111111111111:function:absent",
            "team",
        )
        .await
        .map(|_| ())
        .map_err(|e| describe(&e)),
    );
    // ListTags refuses a qualified ARN before looking for the function,
    // as AWS answers it.
    refused(
        client
            .list_tags()
            .resource("arn:aws:lambda:eu-west-1:111111111111:function:absent:live")
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(&e)),
    );
    let mut many = client.tag_resource().resource(FUNCTION_ARN);
    for i in 0..49 {
        many = many.tags(format!("key{i}"), "v");
    }
    refused(many.send().await.map(|_| ()).map_err(|e| describe(&e)));
    refused(
        lambda(&cloud, &root(&cloud, B))
            .list_tags()
            .resource(FUNCTION_ARN)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| describe(&e)),
    );
    expect![[r#"
        InvalidParameterValueException: Tag key 'aws:team' starts with the prefix 'aws:', which is reserved for AWS use
        InvalidParameterValueException: Tag key 'k*129' is 129 characters long; a tag key must be 1 to 128 characters
        InvalidParameterValueException: Tags on function aliases and versions are not supported. Please specify a function ARN.
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent
        InvalidParameterValueException: Tags on function aliases and versions are not supported. Please specify a function ARN.
        InvalidParameterValueException: Tag limit exceeded: arn:aws:lambda:eu-west-1:111111111111:function:tester would have 51 tags; a resource may have at most 50
        AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:ListTags on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no resource-based policy allows the lambda:ListTags action"#]].assert_eq(&errors.join("\n"));
    assert_eq!(
        tags_of(FUNCTION_ARN).await,
        "cost-center=42,team=platform",
        "nothing of a refused request is kept"
    );

    // An event source mapping is tagged by its ARN.
    let db = dynamodb(&cloud, &root(&cloud, A));
    create_table(&db, "documents", Some(StreamViewType::NewImage)).await;
    let stream = latest_stream(&db).await;
    iam(&cloud, &root(&cloud, A))
        .attach_role_policy()
        .role_name("runs-functions")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")
        .send()
        .await
        .unwrap();
    let mapping = client
        .create_event_source_mapping()
        .function_name("tester")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::Latest)
        .send()
        .await
        .unwrap();
    let mapping_arn = format!(
        "arn:aws:lambda:{REGION}:{A}:event-source-mapping:{}",
        mapping.uuid().unwrap()
    );
    client
        .tag_resource()
        .resource(&mapping_arn)
        .tags("owner", "billing")
        .send()
        .await
        .unwrap();
    assert_eq!(tags_of(&mapping_arn).await, "owner=billing");
    client
        .delete_event_source_mapping()
        .uuid(mapping.uuid().unwrap())
        .send()
        .await
        .unwrap();
    let gone = client
        .list_tags()
        .resource(&mapping_arn)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&gone),
        format!(
            "ResourceNotFoundException: The resource you requested does not exist. (Event source mapping {})",
            mapping.uuid().unwrap()
        )
    );

    // A deleted function takes its tags along.
    client
        .delete_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    create("tester").send().await.unwrap();
    assert_eq!(tags_of(FUNCTION_ARN).await, "");
    cloud.stop().await;
}

#[tokio::test]
async fn reserved_concurrency_is_kept_reported_and_bounded_by_the_account() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;
    deploy(&cloud, "other", &role, 3, &[]).await;
    let settings = client.get_account_settings().send().await.unwrap();
    let limit = settings.account_limit().unwrap();
    let usage = settings.account_usage().unwrap();
    let code_size = test_function_zip().len() as i64;
    assert_eq!(
        (
            limit.total_code_size(),
            limit.code_size_unzipped(),
            limit.code_size_zipped(),
            limit.concurrent_executions(),
            limit.unreserved_concurrent_executions(),
            usage.function_count(),
            usage.total_code_size(),
        ),
        (
            80_530_636_800,
            262_144_000,
            52_428_800,
            1000,
            Some(1000),
            2,
            2 * code_size
        )
    );
    let none = client
        .get_function_concurrency()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(none.reserved_concurrent_executions(), None);

    let put = client
        .put_function_concurrency()
        .function_name("tester")
        .reserved_concurrent_executions(600)
        .send()
        .await
        .unwrap();
    assert_eq!(put.reserved_concurrent_executions(), Some(600));
    let got = client
        .get_function_concurrency()
        .function_name(FUNCTION_ARN)
        .send()
        .await
        .unwrap();
    assert_eq!(got.reserved_concurrent_executions(), Some(600));
    let function = client
        .get_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(
        function
            .concurrency()
            .and_then(|c| c.reserved_concurrent_executions()),
        Some(600)
    );
    let unreserved = |client: aws_sdk_lambda::Client| async move {
        client
            .get_account_settings()
            .send()
            .await
            .unwrap()
            .account_limit()
            .and_then(|l| l.unreserved_concurrent_executions())
    };
    assert_eq!(unreserved(client.clone()).await, Some(400));
    assert_eq!(
        unreserved(lambda(&cloud, &root(&cloud, B))).await,
        Some(1000),
        "another account has its own pool"
    );

    let mut errors = Vec::new();
    let over = client
        .put_function_concurrency()
        .function_name("other")
        .reserved_concurrent_executions(301)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&over));
    let negative = client
        .put_function_concurrency()
        .function_name("other")
        .reserved_concurrent_executions(-1)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&negative));
    let absent = client
        .put_function_concurrency()
        .function_name("absent")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&absent));
    let from_b = lambda(&cloud, &root(&cloud, B))
        .get_function_concurrency()
        .function_name(FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&from_b));
    expect![[r#"
        InvalidParameterValueException: Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100].
        ValidationException: 1 validation error detected: Value '-1' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent
        AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:GetFunctionConcurrency on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no resource-based policy allows the lambda:GetFunctionConcurrency action"#]].assert_eq(&errors.join("\n"));
    client
        .put_function_concurrency()
        .function_name("other")
        .reserved_concurrent_executions(300)
        .send()
        .await
        .unwrap();
    assert_eq!(unreserved(client.clone()).await, Some(100));

    client
        .delete_function_concurrency()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let deleted = client
        .get_function_concurrency()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.reserved_concurrent_executions(), None);
    let function = client
        .get_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert!(function.concurrency().is_none());
    assert_eq!(unreserved(client.clone()).await, Some(700));
    // A deleted function's reservation is given back.
    client
        .delete_function()
        .function_name("other")
        .send()
        .await
        .unwrap();
    assert_eq!(unreserved(client.clone()).await, Some(1000));
    cloud.stop().await;
}

/// The throttle of an Invoke as "code: message (reason)".
fn throttle_of(
    error: &aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError>,
) -> String {
    let reason = match error.as_service_error() {
        Some(aws_sdk_lambda::operation::invoke::InvokeError::TooManyRequestsException(e)) => {
            format!("{:?}", e.reason())
        }
        _ => "not a TooManyRequestsException".to_owned(),
    };
    format!(
        "{}: {} ({reason}, status {})",
        error.code().unwrap_or_default(),
        error.message().unwrap_or_default(),
        error
            .raw_response()
            .map(|r| r.status().as_u16())
            .unwrap_or_default()
    )
}

#[tokio::test]
async fn invocations_beyond_the_reservation_are_throttled() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    deploy(&cloud, "tester", &role, 10, &[]).await;
    let client = lambda_without_retries(&cloud);
    let invoke = |event: Value, kind: InvocationType| {
        client
            .invoke()
            .function_name("tester")
            .invocation_type(kind)
            .payload(Blob::new(event.to_string()))
            .send()
    };
    client
        .put_function_concurrency()
        .function_name("tester")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    let sync = invoke(json!({"action": "echo"}), InvocationType::RequestResponse)
        .await
        .unwrap_err();
    expect!["TooManyRequestsException: Rate Exceeded. (Some(ReservedFunctionConcurrentInvocationLimitExceeded), status 429)"].assert_eq(&throttle_of(&sync));
    // An event is accepted, and goes unrun to the on-failure destination
    // without retries, as Lambda documents for a function reserved at 0.
    let (failures_url, failures_arn) = queue_for_role(&cloud, "failures").await;
    client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&failures_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let event = invoke(json!({"action": "echo"}), InvocationType::Event)
        .await
        .unwrap();
    assert_eq!(event.status_code(), 202);
    let record = next_record(&cloud, &failures_url, "the unrun event's record").await;
    expect![[r#"{"requestContext":{"approximateInvokeCount":0,"condition":"RetriesExhausted","functionArn":"arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST","requestId":"<varies>"},"requestPayload":{"action":"echo"},"timestamp":"<varies>","version":"1.0"}"#]].assert_eq(&record_shape(&record));
    assert!(
        !cloud
            .function_logs(A, REGION, "tester")
            .iter()
            .any(|l| l.starts_with("START")),
        "reserved 0: nothing runs"
    );

    // Reserved 1: a second invocation while the first runs is throttled,
    // and one after it ends runs.
    client
        .put_function_concurrency()
        .function_name("tester")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap();
    let slow = tokio::spawn(invoke(
        json!({"action": "sleep", "millis": 3000}),
        InvocationType::RequestResponse,
    ));
    wait_for_log(&cloud, "the slow invocation to start", |log| {
        log.iter().any(|l| l.starts_with("START"))
    })
    .await;
    let second = invoke(json!({"action": "echo"}), InvocationType::RequestResponse)
        .await
        .unwrap_err();
    expect!["TooManyRequestsException: Rate Exceeded. (Some(ReservedFunctionConcurrentInvocationLimitExceeded), status 429)"].assert_eq(&throttle_of(&second));
    let slow = slow.await.unwrap().unwrap();
    assert_eq!(slow.function_error(), None);
    let after = invoke(
        json!({"action": "echo", "n": 2}),
        InvocationType::RequestResponse,
    )
    .await
    .unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(after.payload().unwrap().as_ref()).unwrap(),
        json!({"action": "echo", "n": 2})
    );
    cloud.stop().await;
}

/// Waits (at most 20 s) until `done` holds for the function's log.
async fn wait_for_log(cloud: &RunningCloud, what: &str, done: impl Fn(&[String]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = cloud.function_logs(A, REGION, "tester");
        if done(&log) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}; log: {log:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A queue in A the role `runs-functions` may send to; its URL and ARN.
async fn queue_for_role(cloud: &RunningCloud, name: &str) -> (String, String) {
    let url = sqs(cloud, &root(cloud, A))
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = format!("arn:aws:sqs:{REGION}:{A}:{name}");
    iam(cloud, &root(cloud, A))
        .put_role_policy()
        .role_name("runs-functions")
        .policy_name(format!("send-{name}"))
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"{arn}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    (url, arn)
}

/// The next message of the queue at `url` as JSON (waiting at most 20 s).
async fn next_record(cloud: &RunningCloud, url: &str, what: &str) -> Value {
    let client = sqs(cloud, &root(cloud, A));
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let received = client
            .receive_message()
            .queue_url(url)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            return serde_json::from_str(message.body().unwrap()).unwrap();
        }
        assert!(Instant::now() < deadline, "waited 20 s for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// An invocation record without what changes from run to run.
fn record_shape(record: &Value) -> String {
    let time = record["timestamp"].as_str().unwrap_or_default();
    assert!(is_iso8601_millis(time), "timestamp: {time}");
    let mut record = record.clone();
    for pointer in ["/timestamp", "/requestContext/requestId"] {
        if let Some(value) = record.pointer_mut(pointer) {
            *value = json!("<varies>");
        }
    }
    record.to_string()
}

#[tokio::test]
async fn event_invoke_configs_are_kept_per_qualifier() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let failures_arn = format!("arn:aws:sqs:{REGION}:{A}:failures");
    let on_failure = |arn: &str| {
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(arn).build())
            .build()
    };
    let refused = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(on_failure(&failures_arn))
        .send()
        .await
        .unwrap_err();
    let mut errors = vec![describe(&refused)];
    queue_for_role(&cloud, "failures").await;
    let put = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .maximum_retry_attempts(1)
        .maximum_event_age_in_seconds(120)
        .destination_config(on_failure(&failures_arn))
        .send()
        .await
        .unwrap();
    assert!(put.last_modified().is_some());
    let shape = |arn: Option<&str>,
                 retries: Option<i32>,
                 age: Option<i32>,
                 destinations: Option<&DestinationConfig>| {
        format!(
            "{} retries={retries:?} age={age:?} on_failure={:?} on_success={:?}",
            arn.unwrap_or_default(),
            destinations
                .and_then(|d| d.on_failure())
                .and_then(|o| o.destination()),
            destinations
                .and_then(|d| d.on_success())
                .and_then(|o| o.destination()),
        )
    };
    let mut shapes = vec![shape(
        put.function_arn(),
        put.maximum_retry_attempts(),
        put.maximum_event_age_in_seconds(),
        put.destination_config(),
    )];
    let updated = client
        .update_function_event_invoke_config()
        .function_name("tester")
        .maximum_event_age_in_seconds(300)
        .send()
        .await
        .unwrap();
    shapes.push(shape(
        updated.function_arn(),
        updated.maximum_retry_attempts(),
        updated.maximum_event_age_in_seconds(),
        updated.destination_config(),
    ));
    client
        .put_function_event_invoke_config()
        .function_name("tester")
        .qualifier("live")
        .maximum_retry_attempts(0)
        .send()
        .await
        .unwrap();
    let got = client
        .get_function_event_invoke_config()
        .function_name("tester:live")
        .send()
        .await
        .unwrap();
    shapes.push(shape(
        got.function_arn(),
        got.maximum_retry_attempts(),
        got.maximum_event_age_in_seconds(),
        got.destination_config(),
    ));
    let first_page = client
        .list_function_event_invoke_configs()
        .function_name("tester")
        .max_items(1)
        .send()
        .await
        .unwrap();
    let second_page = client
        .list_function_event_invoke_configs()
        .function_name("tester")
        .marker(first_page.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    for config in first_page
        .function_event_invoke_configs()
        .iter()
        .chain(second_page.function_event_invoke_configs())
    {
        shapes.push(format!(
            "listed {}",
            config.function_arn().unwrap_or_default()
        ));
    }
    assert_eq!(second_page.next_marker(), None);
    expect![[r#"
        arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST retries=Some(1) age=Some(120) on_failure=Some("arn:aws:sqs:eu-west-1:111111111111:failures") on_success=None
        arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST retries=Some(1) age=Some(300) on_failure=Some("arn:aws:sqs:eu-west-1:111111111111:failures") on_success=None
        arn:aws:lambda:eu-west-1:111111111111:function:tester:live retries=Some(0) age=None on_failure=None on_success=None
        listed arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST
        listed arn:aws:lambda:eu-west-1:111111111111:function:tester:live"#]].assert_eq(&shapes.join("\n"));

    let out_of_range = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .maximum_retry_attempts(3)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&out_of_range));
    let too_young = client
        .update_function_event_invoke_config()
        .function_name("tester")
        .maximum_event_age_in_seconds(59)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&too_young));
    let bad_destination = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(on_failure("arn:aws:s3:eu-west-1:111111111111:bucket"))
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&bad_destination));
    let bucket_on_success = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(
            DestinationConfig::builder()
                .on_success(
                    OnSuccess::builder()
                        .destination("arn:aws:s3:::bucket")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&bucket_on_success));
    let not_an_arn = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(on_failure("failures"))
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&not_an_arn));
    let nothing = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&nothing));
    for function in ["tester", "absent"] {
        let refused = client
            .put_function_event_invoke_config()
            .function_name("tester")
            .destination_config(
                DestinationConfig::builder()
                    .on_success(
                        OnSuccess::builder()
                            .destination(FUNCTION_ARN.replace("tester", function))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
        errors.push(describe(&refused));
    }
    let none_for_version = client
        .get_function_event_invoke_config()
        .function_name("tester")
        .qualifier("1")
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&none_for_version));
    let update_of_none = client
        .update_function_event_invoke_config()
        .function_name("tester")
        .qualifier("1")
        .maximum_retry_attempts(1)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&update_of_none));
    let absent_alias = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .qualifier("absent")
        .maximum_retry_attempts(1)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&absent_alias));
    let from_b = lambda(&cloud, &root(&cloud, B))
        .get_function_event_invoke_config()
        .function_name(FUNCTION_ARN)
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&from_b));
    client
        .delete_function_event_invoke_config()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let deleted = client
        .delete_function_event_invoke_config()
        .function_name("tester")
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&deleted));
    expect![[r#"
        InvalidParameterValueException: The provided execution role does not have permissions to call SendMessage on SQS
        ValidationException: 1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2
        ValidationException: 1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60
        InvalidParameterValueException: The provided destination config DestinationConfig(onSuccess=null, onFailure=OnFailure(destination=arn:aws:s3:eu-west-1:111111111111:bucket)) is invalid.
        InvalidParameterValueException: The provided destination config DestinationConfig(onSuccess=OnSuccess(destination=arn:aws:s3:::bucket), onFailure=null) is invalid.
        ValidationException: 1 validation error detected: Value 'failures' at 'destinationConfig.onFailure.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: ^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\d{1})?:(\d{12})?:(.*)
        InvalidParameterValueException: You must specify at least one of error handling or destination setting.
        InvalidParameterValueException: You can't specify the function as a destination for itself.
        InvalidParameterValueException: The destination ARN arn:aws:lambda:eu-west-1:111111111111:function:absent is invalid.
        ResourceNotFoundException: The function arn:aws:lambda:eu-west-1:111111111111:function:tester:1 doesn't have an EventInvokeConfig
        ResourceNotFoundException: The function arn:aws:lambda:eu-west-1:111111111111:function:tester:1 doesn't have an EventInvokeConfig
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:absent
        AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:GetFunctionEventInvokeConfig on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no resource-based policy allows the lambda:GetFunctionEventInvokeConfig action
        ResourceNotFoundException: The function arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST doesn't have an EventInvokeConfig"#]].assert_eq(&errors.join("\n"));

    // An S3 bucket takes failures; an empty destination, which the model
    // allows, names none: an update that gives one removes the destination.
    let bucket = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .destination_config(on_failure("arn:aws:s3:::bucket"))
        .send()
        .await
        .unwrap();
    let removed = client
        .update_function_event_invoke_config()
        .function_name("tester")
        .destination_config(on_failure(""))
        .send()
        .await
        .unwrap();
    let put_empty = client
        .put_function_event_invoke_config()
        .function_name("tester")
        .qualifier("1")
        .destination_config(on_failure(""))
        .send()
        .await
        .unwrap();
    expect![[r#"
        arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST retries=None age=None on_failure=Some("arn:aws:s3:::bucket") on_success=None
        arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST retries=None age=None on_failure=None on_success=None
        arn:aws:lambda:eu-west-1:111111111111:function:tester:1 retries=None age=None on_failure=None on_success=None"#]]
    .assert_eq(
        &[
            shape(
                bucket.function_arn(),
                bucket.maximum_retry_attempts(),
                bucket.maximum_event_age_in_seconds(),
                bucket.destination_config(),
            ),
            shape(
                removed.function_arn(),
                removed.maximum_retry_attempts(),
                removed.maximum_event_age_in_seconds(),
                removed.destination_config(),
            ),
            shape(
                put_empty.function_arn(),
                put_empty.maximum_retry_attempts(),
                put_empty.maximum_event_age_in_seconds(),
                put_empty.destination_config(),
            ),
        ]
        .join("\n"),
    );
    cloud.stop().await;
}

#[tokio::test]
async fn an_invocation_keeps_the_request_id_invoke_answered() {
    use aws_sdk_lambda::operation::RequestId;
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 10, &[]).await;
    let (failures_url, failures_arn) = queue_for_role(&cloud, "failures").await;
    client
        .put_function_event_invoke_config()
        .function_name("tester")
        .maximum_retry_attempts(1)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&failures_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let starts_of = |cloud: &RunningCloud, id: &str| {
        let start = format!("START RequestId: {id} ");
        cloud
            .function_logs(A, REGION, "tester")
            .iter()
            .filter(|l| l.starts_with(&start))
            .count()
    };
    let synchronous = client
        .invoke()
        .function_name("tester")
        .payload(Blob::new(json!({"action": "echo"}).to_string()))
        .send()
        .await
        .unwrap();
    let id = synchronous.request_id().unwrap().to_owned();
    assert_eq!(starts_of(&cloud, &id), 1, "the function ran under {id}");

    let queued = client
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            json!({"action": "fail", "message": "twice"}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    let id = queued.request_id().unwrap().to_owned();
    // The synchronous invocation's end, then the first try's.
    wait_for_log(&cloud, "the first try to end", |log| {
        log.iter()
            .filter(|l| l.starts_with("END RequestId: "))
            .count()
            == 2
    })
    .await;
    cloud.advance_clock(Duration::from_secs(61));
    let record = next_record(&cloud, &failures_url, "the failure record").await;
    assert_eq!(record["requestContext"]["requestId"], json!(id));
    assert_eq!(record["requestContext"]["approximateInvokeCount"], json!(2));
    assert_eq!(starts_of(&cloud, &id), 2, "both tries ran under {id}");
    cloud.stop().await;
}

#[tokio::test]
async fn event_invoke_configs_go_with_their_alias_or_version() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;
    for stage in ["one", "two"] {
        client
            .update_function_configuration()
            .function_name("tester")
            .environment(Environment::builder().variables("STAGE", stage).build())
            .send()
            .await
            .unwrap();
        client
            .publish_version()
            .function_name("tester")
            .send()
            .await
            .unwrap();
    }
    let alias = |version: &'static str| {
        client
            .create_alias()
            .function_name("tester")
            .name("live")
            .function_version(version)
            .send()
    };
    alias("1").await.unwrap();
    for qualifier in ["live", "2"] {
        client
            .put_function_event_invoke_config()
            .function_name("tester")
            .qualifier(qualifier)
            .maximum_retry_attempts(0)
            .send()
            .await
            .unwrap();
    }
    client
        .delete_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .delete_function()
        .function_name("tester")
        .qualifier("2")
        .send()
        .await
        .unwrap();
    // An alias made again under the same name starts without settings.
    alias("1").await.unwrap();
    let of_new_alias = client
        .get_function_event_invoke_config()
        .function_name("tester")
        .qualifier("live")
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: The function arn:aws:lambda:eu-west-1:111111111111:function:tester:live doesn't have an EventInvokeConfig"]
        .assert_eq(&describe(&of_new_alias));
    let listed = client
        .list_function_event_invoke_configs()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed.function_event_invoke_configs(),
        [],
        "the deleted alias's and version's settings are gone"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn event_invocations_follow_their_settings_and_reach_their_queues() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 10, &[]).await;
    let (failures_url, failures_arn) = queue_for_role(&cloud, "failures").await;
    let (successes_url, successes_arn) = queue_for_role(&cloud, "successes").await;
    client
        .put_function_event_invoke_config()
        .function_name("tester")
        .maximum_retry_attempts(0)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&failures_arn).build())
                .on_success(OnSuccess::builder().destination(&successes_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    let event = |payload: Value| {
        client
            .invoke()
            .function_name("tester")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send()
    };
    event(json!({"action": "fail", "message": "always"}))
        .await
        .unwrap();
    let failed = next_record(&cloud, &failures_url, "the failure record").await;
    event(json!({"action": "echo", "n": 1})).await.unwrap();
    let succeeded = next_record(&cloud, &successes_url, "the success record").await;
    expect![[r#"
        {"requestContext":{"approximateInvokeCount":1,"condition":"RetriesExhausted","functionArn":"arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST","requestId":"<varies>"},"requestPayload":{"action":"fail","message":"always"},"responseContext":{"executedVersion":"$LATEST","functionError":"Unhandled","statusCode":200},"responsePayload":{"errorMessage":"always","errorType":"TestFailure"},"timestamp":"<varies>","version":"1.0"}
        {"requestContext":{"approximateInvokeCount":1,"condition":"Success","functionArn":"arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST","requestId":"<varies>"},"requestPayload":{"action":"echo","n":1},"responseContext":{"executedVersion":"$LATEST","statusCode":200},"responsePayload":{"action":"echo","n":1},"timestamp":"<varies>","version":"1.0"}"#]].assert_eq(&format!(
        "{}\n{}",
        record_shape(&failed),
        record_shape(&succeeded)
    ));

    // An event that waits for a slot longer than its maximum age is
    // dropped unrun, its record sent on.
    client
        .put_function_event_invoke_config()
        .function_name("tester")
        .maximum_retry_attempts(0)
        .maximum_event_age_in_seconds(60)
        .destination_config(
            DestinationConfig::builder()
                .on_failure(OnFailure::builder().destination(&failures_arn).build())
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
        .put_function_concurrency()
        .function_name("tester")
        .reserved_concurrent_executions(1)
        .send()
        .await
        .unwrap();
    let starts = |cloud: &RunningCloud| {
        cloud
            .function_logs(A, REGION, "tester")
            .iter()
            .filter(|l| l.starts_with("START"))
            .count()
    };
    let slow = tokio::spawn(
        client
            .invoke()
            .function_name("tester")
            .payload(Blob::new(
                json!({"action": "sleep", "millis": 3000}).to_string(),
            ))
            .send(),
    );
    wait_for_log(&cloud, "the slow invocation to start", |log| {
        log.iter().filter(|l| l.starts_with("START")).count() == 3
    })
    .await;
    event(json!({"action": "echo", "n": 2})).await.unwrap();
    cloud.advance_clock(Duration::from_secs(61));
    let expired = next_record(&cloud, &failures_url, "the expired event's record").await;
    slow.await.unwrap().unwrap();
    expect![[r#"{"requestContext":{"approximateInvokeCount":0,"condition":"EventAgeExceeded","functionArn":"arn:aws:lambda:eu-west-1:111111111111:function:tester:$LATEST","requestId":"<varies>"},"requestPayload":{"action":"echo","n":2},"timestamp":"<varies>","version":"1.0"}"#]].assert_eq(&record_shape(&expired));
    assert_eq!(starts(&cloud), 3, "the expired event never ran");
    cloud.stop().await;
}

/// Waits (at most 20 s) until `tester` has `count` events queued or running.
async fn wait_for_queued_events(cloud: &RunningCloud, count: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let queued = cloud.queued_events(A, REGION, "tester");
        if queued == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 20 s for {what}: {queued} events queued, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn deleting_a_function_or_alias_drops_its_queued_events() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 10, &[]).await;
    let (failures_url, failures_arn) = queue_for_role(&cloud, "failures").await;
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    client
        .update_function_configuration()
        .function_name("tester")
        .environment(Environment::builder().variables("STAGE", "two").build())
        .send()
        .await
        .unwrap();
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let qualifiers = ["$LATEST", "live", "2"];
    for qualifier in qualifiers {
        client
            .put_function_event_invoke_config()
            .function_name("tester")
            .qualifier(qualifier)
            .destination_config(
                DestinationConfig::builder()
                    .on_failure(OnFailure::builder().destination(&failures_arn).build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }
    for qualifier in qualifiers {
        client
            .invoke()
            .function_name("tester")
            .qualifier(qualifier)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(
                json!({"action": "fail", "message": "retry me"}).to_string(),
            ))
            .send()
            .await
            .unwrap();
    }
    wait_for_log(&cloud, "the three first tries to end", |log| {
        log.iter()
            .filter(|l| l.starts_with("END RequestId: "))
            .count()
            == 3
    })
    .await;
    assert_eq!(
        cloud.queued_events(A, REGION, "tester"),
        3,
        "the three events wait for their retry"
    );
    client
        .delete_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    wait_for_queued_events(&cloud, 2, "the alias's event to be dropped").await;
    client
        .delete_function()
        .function_name("tester")
        .qualifier("2")
        .send()
        .await
        .unwrap();
    wait_for_queued_events(&cloud, 1, "the version's event to be dropped").await;
    client
        .delete_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    wait_for_queued_events(&cloud, 0, "the function's event to be dropped").await;
    // Past every retry and the record a failure would send: nothing is
    // left to run, so nothing runs and nothing reaches the queue.
    cloud.advance_clock(Duration::from_secs(200));
    let received = sqs(&cloud, &root(&cloud, A))
        .receive_message()
        .queue_url(&failures_url)
        .send()
        .await
        .unwrap();
    assert_eq!(received.messages(), [], "no invocation record was sent");
    let starts = cloud
        .function_logs(A, REGION, "tester")
        .iter()
        .filter(|l| l.starts_with("START"))
        .count();
    assert_eq!(starts, 3, "only the first tries ran");
    cloud.stop().await;
}
