//! Invoke through aws-sdk-lambda, with the workspace's test function zipped
//! as `bootstrap` and run as a local process: every invocation type, function
//! errors, crashes, timeouts, init errors, instance reuse, the Lambda
//! environment with the execution role's credentials, and logs.

use crate::common::{A, Keys, REGION, describe, lambda, root, start, sts};
use crate::lambda::create_role;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Environment, FunctionCode, InvocationType, LogType, Runtime};
use expect_test::expect;
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, Instant};
use streamgate_local::RunningCloud;

/// A zip holding `files` (name, bytes, unix mode), deflated.
pub(crate) fn zip_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes, mode) in files {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .unix_permissions(*mode);
        writer.start_file(*name, options).unwrap();
        writer.write_all(bytes).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The test function zipped as `bootstrap`.
pub(crate) fn test_function_zip() -> Vec<u8> {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_streamgate-test-function")).unwrap();
    zip_of(&[("bootstrap", &binary, 0o755)])
}

/// Creates the test function `name` in A with `timeout` seconds and `env`.
pub(crate) async fn deploy(
    cloud: &RunningCloud,
    name: &str,
    role: &str,
    timeout: i32,
    env: &[(&str, &str)],
) -> aws_sdk_lambda::Client {
    let client = lambda(cloud, &root(cloud, A));
    let mut environment = Environment::builder();
    for (key, value) in env {
        environment = environment.variables(*key, *value);
    }
    client
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role(role)
        .handler("bootstrap")
        .timeout(timeout)
        .environment(environment.build())
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(test_function_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    client
}

/// Invokes synchronously; gives (function error, payload as JSON).
async fn call(
    client: &aws_sdk_lambda::Client,
    name: &str,
    event: &Value,
) -> (Option<String>, Value) {
    let output = client
        .invoke()
        .function_name(name)
        .payload(Blob::new(event.to_string()))
        .send()
        .await
        .unwrap();
    assert_eq!(output.status_code(), 200);
    assert_eq!(output.executed_version(), Some("$LATEST"));
    let payload = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    (output.function_error().map(str::to_owned), payload)
}

/// The payload with request ids replaced, for snapshots.
fn without_request_id(payload: &Value) -> String {
    let text = payload.to_string();
    match text.find("RequestId: ") {
        Some(at) => {
            let end = at + "RequestId: ".len() + 36;
            format!("{}RequestId: <id>{}", &text[..at], &text[end..])
        }
        None => text,
    }
}

#[tokio::test]
async fn request_response_invocations_and_how_they_fail() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 1, &[]).await;

    let (error, payload) = call(&client, "tester", &json!({"action": "echo", "n": 1})).await;
    assert_eq!((error, payload), (None, json!({"action": "echo", "n": 1})));
    let (_, first) = call(&client, "tester", &json!({"action": "pid"})).await;
    let (_, second) = call(&client, "tester", &json!({"action": "pid"})).await;
    assert_eq!(first, second, "the instance is reused");

    let (error, payload) = call(
        &client,
        "tester",
        &json!({"action": "fail", "message": "boom"}),
    )
    .await;
    expect![[
        r#"(Some("Unhandled"), "{\"errorMessage\":\"boom\",\"errorType\":\"TestFailure\"}")"#
    ]]
    .assert_eq(&format!("{:?}", (error, payload.to_string())));
    let (_, after_error) = call(&client, "tester", &json!({"action": "pid"})).await;
    assert_eq!(after_error, first, "a function error keeps the instance");

    let (error, payload) = call(&client, "tester", &json!({"action": "exit", "code": 7})).await;
    expect![[r#"(Some("Unhandled"), "{\"errorMessage\":\"RequestId: <id> Error: Runtime exited with error: exit status: 7\",\"errorType\":\"Runtime.ExitError\"}")"#]]
        .assert_eq(&format!("{:?}", (error, without_request_id(&payload))));
    let (_, after_crash) = call(&client, "tester", &json!({"action": "pid"})).await;
    assert_ne!(after_crash, first, "a crash replaces the instance");

    let (error, payload) = call(
        &client,
        "tester",
        &json!({"action": "sleep", "millis": 5000}),
    )
    .await;
    expect![[r#"(Some("Unhandled"), "{\"errorMessage\":\"RequestId: <id> Error: Task timed out after 1.00 seconds\",\"errorType\":\"Sandbox.Timedout\"}")"#]]
        .assert_eq(&format!("{:?}", (error, without_request_id(&payload))));
    let (error, after_timeout) = call(&client, "tester", &json!({"action": "pid"})).await;
    assert_eq!(error, None);
    assert_ne!(
        after_timeout, after_crash,
        "a timeout replaces the instance"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn the_function_runs_with_the_lambda_environment_and_its_role() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[("GREETING", "hello")]).await;
    let names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_REGION",
        "_HANDLER",
        "GREETING",
    ];
    let (_, values) = call(&client, "tester", &json!({"action": "env", "names": names})).await;
    expect![[r#"{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE":"128","AWS_LAMBDA_FUNCTION_NAME":"tester","AWS_LAMBDA_FUNCTION_VERSION":"$LATEST","AWS_REGION":"eu-west-1","GREETING":"hello","_HANDLER":"bootstrap"}"#]]
        .assert_eq(&values.to_string());
    let names = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "LAMBDA_TASK_ROOT",
        "AWS_LAMBDA_RUNTIME_API",
    ];
    let (_, values) = call(&client, "tester", &json!({"action": "env", "names": names})).await;
    let text = |name: &str| values[name].as_str().unwrap().to_owned();
    assert_eq!(text("AWS_ENDPOINT_URL"), cloud.endpoint_url());
    assert!(
        text("LAMBDA_TASK_ROOT").contains("/111111111111/eu-west-1/tester/"),
        "the task root is the function's own directory: {}",
        text("LAMBDA_TASK_ROOT")
    );
    assert!(text("AWS_LAMBDA_RUNTIME_API").starts_with("127.0.0.1:"));
    let keys = Keys {
        access_key_id: text("AWS_ACCESS_KEY_ID"),
        secret_access_key: text("AWS_SECRET_ACCESS_KEY"),
        session_token: Some(text("AWS_SESSION_TOKEN")),
    };
    let identity = sts(&cloud, &keys)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.arn(),
        Some("arn:aws:sts::111111111111:assumed-role/runs-functions/tester")
    );
    cloud.stop().await;
}

#[tokio::test]
async fn event_dry_run_tail_and_logs() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;

    let dry = client
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.status_code(), 204);

    let queued = client
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            json!({"action": "log", "line": "from an event"}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(queued.status_code(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines = cloud.function_logs(A, REGION, "tester");
        if lines.iter().filter(|l| *l == "from an event").count() == 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "waited 10 s for the event's line on stdout and stderr; log: {lines:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let tailed = client
        .invoke()
        .function_name("tester")
        .log_type(LogType::Tail)
        .payload(Blob::new(
            json!({"action": "log", "line": "tailed"}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    let tail = String::from_utf8(
        streamgate_local::lambda::base64::decode(tailed.log_result().unwrap()).unwrap(),
    )
    .unwrap();
    let shapes: Vec<&str> = tail
        .lines()
        .map(|line| line.split(' ').next().unwrap())
        .collect();
    expect![[r#"["START", "handling", "tailed", "tailed", "END", "REPORT"]"#]]
        .assert_eq(&format!("{shapes:?}"));

    // A longer log is cut to its last 4096 bytes, even inside a character
    // (the lines' lengths make some cuts fall inside one).
    for padding in 0..4 {
        let line = format!("{}{}", "\u{1F600}".repeat(2000), "x".repeat(padding));
        let tailed = client
            .invoke()
            .function_name("tester")
            .log_type(LogType::Tail)
            .payload(Blob::new(
                json!({"action": "log", "line": line}).to_string(),
            ))
            .send()
            .await
            .unwrap();
        let tail = streamgate_local::lambda::base64::decode(tailed.log_result().unwrap()).unwrap();
        assert_eq!(tail.len(), 4096, "padding {padding}");
        assert!(tail.ends_with(b"\n"), "the tail is the log's end");
    }
    cloud.stop().await;
}

#[tokio::test]
async fn invocations_that_cannot_run() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(
        &cloud,
        "broken",
        &role,
        3,
        &[("TEST_FUNCTION_INIT_ERROR", "no config")],
    )
    .await;
    let (error, payload) = call(&client, "broken", &json!({})).await;
    expect![[r#"(Some("Unhandled"), "{\"errorMessage\":\"no config\",\"errorType\":\"TestInitFailure\"}")"#]]
        .assert_eq(&format!("{:?}", (error, payload.to_string())));

    client
        .create_function()
        .function_name("no-bootstrap")
        .runtime(Runtime::Providedal2023)
        .role(&role)
        .handler("bootstrap")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(zip_of(&[("main", b"#!/bin/sh\n", 0o755)])))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (error, payload) = call(&client, "no-bootstrap", &json!({})).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(payload["errorType"], "Runtime.InvalidEntrypoint");

    let mut seen = Vec::new();
    let missing = client
        .invoke()
        .function_name("nobody")
        .send()
        .await
        .unwrap_err();
    seen.push(describe(&missing));
    let too_large = client
        .invoke()
        .function_name("broken")
        .payload(Blob::new(format!("\"{}\"", "x".repeat(6 * 1024 * 1024))))
        .send()
        .await
        .unwrap_err();
    seen.push(describe(&too_large));
    let not_json = client
        .invoke()
        .function_name("broken")
        .payload(Blob::new("{not json"))
        .send()
        .await
        .unwrap_err();
    seen.push(describe(&not_json));
    expect![[r#"
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:nobody
        RequestTooLargeException: 6291458 byte payload is too large for the RequestResponse invocation type (limit 6291456 bytes)
        InvalidRequestContentException: Could not parse request body into json: the payload is not valid JSON"#]]
    .assert_eq(&seen.join("\n"));
    cloud.stop().await;
}

#[tokio::test]
async fn updates_take_effect_on_the_next_invocation() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[("GREETING", "hello")]).await;
    let names = json!({"action": "env", "names": ["GREETING"]});
    assert_eq!(
        call(&client, "tester", &names).await.1,
        json!({"GREETING": "hello"})
    );
    let before = client
        .get_function_configuration()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let updated = client
        .update_function_configuration()
        .function_name("tester")
        .timeout(10)
        .environment(Environment::builder().variables("GREETING", "bye").build())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.timeout(), Some(10));
    assert_ne!(updated.revision_id(), before.revision_id());
    assert_eq!(
        call(&client, "tester", &names).await.1,
        json!({"GREETING": "bye"})
    );

    let refused = client
        .update_function_configuration()
        .function_name("tester")
        .memory_size(64)
        .send()
        .await
        .unwrap_err();
    expect![[r#"ValidationException: 1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: Member must have value between 128 and 10240"#]]
        .assert_eq(&describe(&refused));

    let code = client
        .update_function_code()
        .function_name("tester")
        .zip_file(Blob::new(zip_of(&[("main", b"#!/bin/sh\n", 0o755)])))
        .send()
        .await
        .unwrap();
    assert_ne!(code.code_sha256(), before.code_sha256());
    let (error, payload) = call(&client, "tester", &names).await;
    assert_eq!(error.as_deref(), Some("Unhandled"));
    assert_eq!(
        payload["errorType"], "Runtime.InvalidEntrypoint",
        "the new code runs"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_failed_event_invocation_is_retried_twice() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;
    client
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(
            json!({"action": "fail", "message": "always"}).to_string(),
        ))
        .send()
        .await
        .unwrap();
    wait_for_starts(&cloud, 1).await;
    // The first retry comes a minute later, the second two minutes after it.
    cloud.advance_clock(Duration::from_secs(61));
    wait_for_starts(&cloud, 2).await;
    cloud.advance_clock(Duration::from_secs(121));
    wait_for_starts(&cloud, 3).await;
    cloud.advance_clock(Duration::from_secs(600));
    // A succeeding event is run once: its START is the fourth.
    client
        .invoke()
        .function_name("tester")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(json!({"action": "echo"}).to_string()))
        .send()
        .await
        .unwrap();
    wait_for_starts(&cloud, 4).await;
    assert_eq!(starts(&cloud), 4, "no fourth try of the failed event");
    cloud.stop().await;
}

fn starts(cloud: &RunningCloud) -> usize {
    cloud
        .function_logs(A, REGION, "tester")
        .iter()
        .filter(|l| l.starts_with("START RequestId"))
        .count()
}

/// Waits (at most 10 s) until the function has started `count` invocations.
async fn wait_for_starts(cloud: &RunningCloud, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while starts(cloud) < count {
        assert!(
            Instant::now() < deadline,
            "waited 10 s for invocation {count}; log: {:#?}",
            cloud.function_logs(A, REGION, "tester")
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn versions_and_aliases_run_the_code_and_configuration_they_name() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[("STAGE", "one")]).await;
    let first = client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(first.version(), Some("1"));
    assert_eq!(
        first.function_arn(),
        Some("arn:aws:lambda:eu-west-1:111111111111:function:tester:1")
    );
    let again = client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.version(),
        Some("1"),
        "nothing changed: the same version"
    );
    client
        .update_function_configuration()
        .function_name("tester")
        .environment(Environment::builder().variables("STAGE", "two").build())
        .send()
        .await
        .unwrap();
    let second = client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(second.version(), Some("2"));
    let alias = client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        alias.alias_arn(),
        Some("arn:aws:lambda:eu-west-1:111111111111:function:tester:live")
    );
    let got = client
        .get_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(got.function_version(), Some("1"));
    let duplicate = client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("2")
        .send()
        .await
        .unwrap_err();
    assert!(describe(&duplicate).starts_with("ResourceConflictException: Alias already exists"));

    let stage = |qualifier: Option<&'static str>| {
        let client = client.clone();
        async move {
            let output = client
                .invoke()
                .function_name("tester")
                .set_qualifier(qualifier.map(str::to_owned))
                .payload(Blob::new(
                    json!({"action": "env", "names": ["STAGE", "AWS_LAMBDA_FUNCTION_VERSION"]})
                        .to_string(),
                ))
                .send()
                .await
                .unwrap();
            let payload: Value =
                serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
            let context = client
                .invoke()
                .function_name("tester")
                .set_qualifier(qualifier.map(str::to_owned))
                .payload(Blob::new(json!({"action": "context"}).to_string()))
                .send()
                .await
                .unwrap();
            let context: Value =
                serde_json::from_slice(context.payload().unwrap().as_ref()).unwrap();
            format!(
                "{} {} {} {}",
                output.executed_version().unwrap(),
                payload["STAGE"],
                payload["AWS_LAMBDA_FUNCTION_VERSION"],
                context["lambda-runtime-invoked-function-arn"]
            )
        }
    };
    expect![[r#"["1 \"one\" \"1\" \"arn:aws:lambda:eu-west-1:111111111111:function:tester:1\"", "2 \"two\" \"2\" \"arn:aws:lambda:eu-west-1:111111111111:function:tester:2\"", "1 \"one\" \"1\" \"arn:aws:lambda:eu-west-1:111111111111:function:tester:live\"", "$LATEST \"two\" \"$LATEST\" \"arn:aws:lambda:eu-west-1:111111111111:function:tester\""]"#]].assert_eq(&format!(
        "{:?}",
        [
            stage(Some("1")).await,
            stage(Some("2")).await,
            stage(Some("live")).await,
            stage(None).await,
        ]
    ));
    let versions = client
        .list_versions_by_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let listed: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(listed, ["$LATEST", "1", "2"]);
    let aliases = client
        .list_aliases()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    assert_eq!(aliases.aliases().len(), 1);
    client
        .delete_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    let gone = client
        .get_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap_err();
    assert!(describe(&gone).starts_with("ResourceNotFoundException: Alias not found"));
    let missing = client
        .invoke()
        .function_name("tester:9")
        .send()
        .await
        .unwrap_err();
    expect![[r#"ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:9"#]]
        .assert_eq(&describe(&missing));
    // UpdateFunctionCode with Publish makes the new code a version at once.
    let published = client
        .update_function_code()
        .function_name("tester")
        .zip_file(Blob::new(test_function_zip()))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(published.version(), Some("3"));
    assert_eq!(
        published.function_arn(),
        Some("arn:aws:lambda:eu-west-1:111111111111:function:tester:3")
    );
    let listed = client
        .list_versions_by_function()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let versions: Vec<&str> = listed
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(versions, ["$LATEST", "1", "2", "3"]);
    cloud.stop().await;
}

#[tokio::test]
async fn reserved_environment_keys_are_refused_and_the_rest_may_be_replaced() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    let refused = client
        .create_function()
        .function_name("reserved")
        .runtime(Runtime::Providedal2023)
        .role(&role)
        .handler("bootstrap")
        .environment(
            Environment::builder()
                .variables("AWS_REGION", "us-east-1")
                .variables("AWS_LAMBDA_LOG_STREAM_NAME", "mine")
                .variables("STAGE", "one")
                .build(),
        )
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(test_function_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    expect!["InvalidParameterValueException: Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: AWS_LAMBDA_LOG_STREAM_NAME,AWS_REGION"]
        .assert_eq(&describe(&refused));

    let client = deploy(&cloud, "tester", &role, 3, &[("TZ", "Europe/Paris")]).await;
    let refused = client
        .update_function_configuration()
        .function_name("tester")
        .environment(Environment::builder().variables("_HANDLER", "x").build())
        .send()
        .await
        .unwrap_err();
    expect!["InvalidParameterValueException: Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: _HANDLER"]
        .assert_eq(&describe(&refused));

    let names = [
        "TZ",
        "LANG",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
    ];
    let (_, values) = call(&client, "tester", &json!({"action": "env", "names": names})).await;
    expect![[r#"{"AWS_DEFAULT_REGION":"eu-west-1","AWS_EXECUTION_ENV":"AWS_Lambda_provided.al2023","AWS_LAMBDA_LOG_GROUP_NAME":"/aws/lambda/tester","LANG":"en_US.UTF-8","TZ":"Europe/Paris"}"#]]
        .assert_eq(&values.to_string());
    let names = [
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "LD_LIBRARY_PATH",
        "LAMBDA_TASK_ROOT",
    ];
    let (_, values) = call(&client, "tester", &json!({"action": "env", "names": names})).await;
    let text = |name: &str| values[name].as_str().unwrap_or_default().to_owned();
    let stream = text("AWS_LAMBDA_LOG_STREAM_NAME");
    let (date, instance) = stream.split_once("/[$LATEST]").unwrap_or_default();
    assert_eq!(date.len(), 10, "a yyyy/mm/dd date: {stream}");
    assert_eq!(date.matches('/').count(), 2, "a yyyy/mm/dd date: {stream}");
    assert_eq!(instance.len(), 32, "32 hex digits: {stream}");
    assert!(
        text("LD_LIBRARY_PATH").contains(&format!("{}/lib", text("LAMBDA_TASK_ROOT"))),
        "the task root's lib is searched: {}",
        text("LD_LIBRARY_PATH")
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_response_over_the_payload_limit_fails_the_invocation() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 30, &[]).await;
    // `{"data":"..."}` wraps the text in 11 bytes: this answer is exactly
    // Lambda's limit of 6,291,556 bytes.
    let at_limit = 6_291_556 - 11;
    let started = Instant::now();
    let (error, payload) = call(
        &client,
        "tester",
        &json!({"action": "large", "bytes": at_limit}),
    )
    .await;
    assert_eq!(error, None);
    assert_eq!(payload["data"].as_str().map(str::len), Some(at_limit));

    let (error, payload) = call(
        &client,
        "tester",
        &json!({"action": "large", "bytes": at_limit + 1}),
    )
    .await;
    expect![[r#"(Some("Unhandled"), "{\"errorMessage\":\"Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).\",\"errorType\":\"Function.ResponseSizeTooLarge\"}")"#]]
        .assert_eq(&format!("{:?}", (error, payload.to_string())));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the invocation fails when the response is posted, not at the timeout"
    );
    cloud.stop().await;
}

#[tokio::test]
async fn the_runtime_gets_the_invocation_context_and_the_client_context() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[]).await;
    let context = |client_context: Option<String>| {
        let client = client.clone();
        async move {
            client
                .invoke()
                .function_name("tester")
                .set_client_context(client_context)
                .payload(Blob::new(json!({"action": "context"}).to_string()))
                .send()
                .await
        }
    };
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let given = streamgate_local::lambda::base64::encode(br#"{"custom":{"tenant":"a"}}"#);
    let output = context(Some(given)).await.unwrap();
    let headers: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    let text = |name: &str| headers[name].as_str().unwrap_or_default().to_owned();
    assert_eq!(
        text("lambda-runtime-client-context"),
        r#"{"custom":{"tenant":"a"}}"#
    );
    assert_eq!(
        text("lambda-runtime-invoked-function-arn"),
        "arn:aws:lambda:eu-west-1:111111111111:function:tester"
    );
    assert_eq!(text("lambda-runtime-aws-request-id").len(), 36);
    assert!(text("lambda-runtime-trace-id").starts_with("Root=1-"));
    let deadline: u64 = text("lambda-runtime-deadline-ms").parse().unwrap();
    assert!(
        deadline >= before + 3000 && deadline <= before + 13_000,
        "the deadline is the timeout from now: {deadline} vs {before}"
    );
    assert_eq!(headers["lambda-runtime-cognito-identity"], Value::Null);

    let output = context(None).await.unwrap();
    let headers: Value = serde_json::from_slice(output.payload().unwrap().as_ref()).unwrap();
    assert_eq!(headers["lambda-runtime-client-context"], Value::Null);

    let refused = context(Some("bm90IGpzb24=".to_owned())).await.unwrap_err();
    expect![
        "InvalidRequestContentException: Client context must be a valid Base64-encoded JSON object."
    ]
    .assert_eq(&describe(&refused));
    cloud.stop().await;
}

/// The function's START and REPORT lines, numbers and request ids as `N`.
fn report_shapes(cloud: &RunningCloud) -> Vec<String> {
    let number = |token: &str| {
        token.bytes().any(|b| b.is_ascii_digit())
            && token
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b'-' || b == b'.')
    };
    cloud
        .function_logs(A, REGION, "tester")
        .iter()
        .filter(|line| line.starts_with("REPORT ") || line.starts_with("START "))
        .map(|line| {
            line.split_inclusive([' ', '\t'])
                .map(|piece| {
                    let token = piece.trim_end_matches([' ', '\t']);
                    match piece.strip_prefix(token) {
                        Some(separator) if number(token) => format!("N{separator}"),
                        _ => piece.to_owned(),
                    }
                })
                .collect::<String>()
        })
        .collect()
}

#[tokio::test]
async fn report_lines_say_what_lambda_says() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 1, &[]).await;
    call(&client, "tester", &json!({"action": "echo"})).await;
    call(&client, "tester", &json!({"action": "echo"})).await;
    call(
        &client,
        "tester",
        &json!({"action": "sleep", "millis": 5000}),
    )
    .await;
    call(&client, "tester", &json!({"action": "exit", "code": 2})).await;
    expect![[r#"
        START RequestId: N Version: $LATEST
        REPORT RequestId: N	Duration: N ms	Billed Duration: N ms	Memory Size: N MB	Max Memory Used: N MB	Init Duration: N ms
        START RequestId: N Version: $LATEST
        REPORT RequestId: N	Duration: N ms	Billed Duration: N ms	Memory Size: N MB	Max Memory Used: N MB
        START RequestId: N Version: $LATEST
        REPORT RequestId: N	Duration: N ms	Billed Duration: N ms	Memory Size: N MB	Max Memory Used: N MB	Status: timeout
        START RequestId: N Version: $LATEST
        REPORT RequestId: N	Duration: N ms	Billed Duration: N ms	Memory Size: N MB	Init Duration: N ms	Status: error	Error Type: Runtime.ExitError"#]].assert_eq(&report_shapes(&cloud).join("\n"));
    cloud.stop().await;
}

#[tokio::test]
async fn a_slow_init_does_not_count_against_the_timeout() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(
        &cloud,
        "tester",
        &role,
        // Init takes longer than the timeout, and the invocation itself
        // leaves the timeout two seconds of slack on a loaded machine.
        2,
        &[("TEST_FUNCTION_INIT_SLEEP_MS", "3000")],
    )
    .await;
    let (error, payload) = call(&client, "tester", &json!({"action": "context"})).await;
    assert_eq!(
        error, None,
        "the invocation ran within its timeout: {payload}"
    );
    let deadline: u64 = payload["lambda-runtime-deadline-ms"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        deadline > now,
        "the deadline is counted from when the runtime took the invocation: {deadline} vs {now}"
    );
    cloud.stop().await;
}
