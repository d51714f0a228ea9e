//! Lambda's control plane through aws-sdk-lambda: functions created from a
//! zip with an execution role Lambda may assume, read, listed and deleted,
//! and the errors AWS gives for what it refuses.

use crate::common::{A, B, describe, dynamodb, iam, lambda, root, start};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{Architecture, Environment, FunctionCode, Runtime};
use expect_test::expect;
use streamgate_local::RunningCloud;

/// The smallest zip archive: an end of central directory record and nothing else.
const EMPTY_ZIP: [u8; 22] = [
    b'P', b'K', 5, 6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

fn trust(service: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":"{service}"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

pub(crate) async fn create_role(
    cloud: &RunningCloud,
    account: &str,
    name: &str,
    service: &str,
) -> String {
    iam(cloud, &root(cloud, account))
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust(service))
        .send()
        .await
        .unwrap();
    format!("arn:aws:iam::{account}:role/{name}")
}

fn create_function(
    client: &aws_sdk_lambda::Client,
    name: &str,
    role: &str,
    zip: &[u8],
) -> aws_sdk_lambda::operation::create_function::builders::CreateFunctionFluentBuilder {
    client
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .role(role)
        .handler("bootstrap")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
}

#[tokio::test]
async fn functions_are_created_read_listed_and_deleted() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    let created = create_function(&client, "echo", &role, &EMPTY_ZIP)
        .timeout(30)
        .memory_size(256)
        .architectures(Architecture::Arm64)
        .environment(Environment::builder().variables("MODE", "echo").build())
        .send()
        .await
        .unwrap();
    expect![[r#"(Some("arn:aws:lambda:eu-west-1:111111111111:function:echo"), Some(30), Some(256), Some(22), Some("hznHbmgfkAkjuQDJ3w73XPQh05yrtUZQxLmtGbanbYU="), [Arm64], Some({"MODE": "echo"}), Some(Active), Some("$LATEST"))"#]]
    .assert_eq(&format!(
        "{:?}",
        (
            created.function_arn(),
            created.timeout(),
            created.memory_size(),
            Some(created.code_size()),
            created.code_sha256(),
            created.architectures(),
            created.environment().and_then(|e| e.variables()),
            created.state(),
            created.version(),
        )
    ));

    let by_name = client
        .get_function()
        .function_name("echo")
        .send()
        .await
        .unwrap();
    let configuration = by_name.configuration().unwrap();
    assert_eq!(configuration.role(), Some(role.as_str()));
    assert_eq!(configuration.runtime(), Some(&Runtime::Providedal2023));
    assert_eq!(configuration.revision_id(), created.revision_id());
    let by_arn = client
        .get_function_configuration()
        .function_name("arn:aws:lambda:eu-west-1:111111111111:function:echo")
        .send()
        .await
        .unwrap();
    assert_eq!(by_arn.code_sha256(), created.code_sha256());

    create_function(&client, "second", &role, &EMPTY_ZIP)
        .send()
        .await
        .unwrap();
    let first_page = client.list_functions().max_items(1).send().await.unwrap();
    let names = |page: &aws_sdk_lambda::operation::list_functions::ListFunctionsOutput| {
        page.functions()
            .iter()
            .filter_map(|f| f.function_name().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&first_page), ["echo"]);
    let second_page = client
        .list_functions()
        .max_items(1)
        .marker(first_page.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(names(&second_page), ["second"]);
    assert_eq!(second_page.next_marker(), None);
    let in_b = lambda(&cloud, &root(&cloud, B))
        .list_functions()
        .send()
        .await
        .unwrap();
    assert!(in_b.functions().is_empty(), "B sees no function of A");

    client
        .delete_function()
        .function_name("echo")
        .send()
        .await
        .unwrap();
    let gone = client
        .get_function()
        .function_name("echo")
        .send()
        .await
        .unwrap_err();
    expect![[r#"ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:echo"#]]
        .assert_eq(&describe(&gone));
    assert_eq!(gone.raw_response().unwrap().status().as_u16(), 404);
    let again = client
        .delete_function()
        .function_name("echo")
        .send()
        .await
        .unwrap_err();
    expect![[r#"ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:echo"#]]
        .assert_eq(&describe(&again));
    cloud.stop().await;
}

#[tokio::test]
async fn versions_and_aliases_are_read_and_deleted_by_qualifier() {
    use aws_sdk_lambda::client::Waiters;
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    create_function(&client, "echo", &role, &EMPTY_ZIP)
        .description("first")
        .send()
        .await
        .unwrap();
    let publish = || client.publish_version().function_name("echo").send();
    assert_eq!(publish().await.unwrap().version(), Some("1"));
    client
        .update_function_configuration()
        .function_name("echo")
        .description("second")
        .send()
        .await
        .unwrap();
    assert_eq!(publish().await.unwrap().version(), Some("2"));
    client
        .update_function_configuration()
        .function_name("echo")
        .description("third")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("echo")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    // The SDK's waiter polls GetFunctionConfiguration with the qualifier.
    client
        .wait_until_published_version_active()
        .function_name("echo")
        .qualifier("2")
        .wait(std::time::Duration::from_secs(10))
        .await
        .unwrap();

    let configuration = |name: &'static str, qualifier: Option<&'static str>| {
        client
            .get_function_configuration()
            .function_name(name)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
    };
    let seen = |c: &aws_sdk_lambda::operation::get_function_configuration::GetFunctionConfigurationOutput| {
        format!(
            "{} {} {}",
            c.version().unwrap_or_default(),
            c.function_arn().unwrap_or_default(),
            c.description().unwrap_or_default()
        )
    };
    expect!["1 arn:aws:lambda:eu-west-1:111111111111:function:echo:1 first"]
        .assert_eq(&seen(&configuration("echo", Some("1")).await.unwrap()));
    expect!["2 arn:aws:lambda:eu-west-1:111111111111:function:echo:2 second"]
        .assert_eq(&seen(&configuration("echo:2", None).await.unwrap()));
    expect!["$LATEST arn:aws:lambda:eu-west-1:111111111111:function:echo third"].assert_eq(&seen(
        &configuration("echo", Some("$LATEST")).await.unwrap(),
    ));
    let by_alias = client
        .get_function()
        .function_name("echo")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    let by_alias = by_alias.configuration().unwrap();
    assert_eq!(
        (by_alias.version(), by_alias.function_arn()),
        (
            Some("1"),
            Some("arn:aws:lambda:eu-west-1:111111111111:function:echo:live")
        )
    );
    let missing = configuration("echo", Some("7")).await.unwrap_err();
    expect!["ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:echo:7"]
        .assert_eq(&describe(&missing));

    let delete = |qualifier: &'static str| {
        client
            .delete_function()
            .function_name("echo")
            .qualifier(qualifier)
            .send()
    };
    let latest = delete("$LATEST").await.unwrap_err();
    expect!["InvalidParameterValueException: $LATEST version cannot be deleted without deleting the function."]
        .assert_eq(&describe(&latest));
    let aliased = delete("1").await.unwrap_err();
    expect!["ResourceConflictException: Unable to delete version because the following aliases reference it: [live]"]
        .assert_eq(&describe(&aliased));
    assert_eq!(aliased.raw_response().unwrap().status().as_u16(), 409);
    let alias = delete("live").await.unwrap_err();
    assert!(
        alias
            .into_service_error()
            .is_invalid_parameter_value_exception(),
        "an alias is not deleted through DeleteFunction"
    );
    delete("2").await.unwrap();
    let gone = configuration("echo", Some("2")).await.unwrap_err();
    expect!["ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:echo:2"]
        .assert_eq(&describe(&gone));
    let again = delete("2").await.unwrap_err();
    assert!(again.into_service_error().is_resource_not_found_exception());
    let versions = client
        .list_versions_by_function()
        .function_name("echo")
        .send()
        .await
        .unwrap();
    let numbers: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(numbers, ["$LATEST", "1"]);
    // A deleted version's number is not reused.
    assert_eq!(publish().await.unwrap().version(), Some("3"));
    // $LATEST and the alias are still there.
    configuration("echo", None).await.unwrap();
    configuration("echo", Some("live")).await.unwrap();
    cloud.stop().await;
}

#[tokio::test]
async fn versions_and_aliases_are_listed_a_page_at_a_time() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    create_function(&client, "echo", &role, &EMPTY_ZIP)
        .send()
        .await
        .unwrap();
    // Versions 1 to 11, so that version 10 and 11 would sort before 2 as text.
    for n in 1..=11 {
        client
            .update_function_configuration()
            .function_name("echo")
            .description(format!("change {n}"))
            .send()
            .await
            .unwrap();
        client
            .publish_version()
            .function_name("echo")
            .send()
            .await
            .unwrap();
    }
    for name in ["blue", "green", "red"] {
        client
            .create_alias()
            .function_name("echo")
            .name(name)
            .function_version("1")
            .send()
            .await
            .unwrap();
    }
    let mut pages = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_versions_by_function()
            .function_name("echo")
            .max_items(5)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        pages.push(
            page.versions()
                .iter()
                .map(|v| v.version().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    let mut alias_pages = Vec::new();
    let mut marker = None;
    loop {
        let page = client
            .list_aliases()
            .function_name("echo")
            .max_items(2)
            .set_marker(marker)
            .send()
            .await
            .unwrap();
        alias_pages.push(
            page.aliases()
                .iter()
                .map(|a| a.name().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(","),
        );
        marker = page.next_marker().map(str::to_owned);
        if marker.is_none() {
            break;
        }
    }
    client
        .update_alias()
        .function_name("echo")
        .name("green")
        .function_version("2")
        .send()
        .await
        .unwrap();
    let of_version = |version: &'static str| {
        client
            .list_aliases()
            .function_name("echo")
            .function_version(version)
            .send()
    };
    let of_one = of_version("1").await.unwrap();
    let of_two = of_version("2").await.unwrap();
    let bad_version = of_version("live").await.unwrap_err();
    let names = |page: &aws_sdk_lambda::operation::list_aliases::ListAliasesOutput| {
        page.aliases()
            .iter()
            .map(|a| a.name().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(",")
    };
    expect![[r#"
        blue,red | green
        ValidationException: 1 validation error detected: Value 'live' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)"#]]
    .assert_eq(&format!(
        "{} | {}\n{}",
        names(&of_one),
        names(&of_two),
        describe(&bad_version)
    ));
    let unbounded = client
        .list_versions_by_function()
        .function_name("echo")
        .max_items(10_000)
        .send()
        .await
        .unwrap();
    let refused = client
        .list_aliases()
        .function_name("echo")
        .max_items(10_001)
        .send()
        .await
        .unwrap_err();
    expect![[r#"
        $LATEST,1,2,3,4 | 5,6,7,8,9 | 10,11
        blue,green | red
        12 versions on one page
        ValidationException: 1 validation error detected: Value '10001' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 10000"#]]
    .assert_eq(&format!(
        "{}\n{}\n{} versions on one page\n{}",
        pages.join(" | "),
        alias_pages.join(" | "),
        unbounded.versions().len(),
        describe(&refused)
    ));
    cloud.stop().await;
}

#[tokio::test]
async fn list_functions_answers_at_most_fifty_a_call() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    for n in 0..51 {
        create_function(&client, &format!("f{n:02}"), &role, &EMPTY_ZIP)
            .send()
            .await
            .unwrap();
    }
    let first = client
        .list_functions()
        .max_items(10_000)
        .send()
        .await
        .unwrap();
    let second = client
        .list_functions()
        .max_items(10_000)
        .set_marker(first.next_marker().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let last_name = |page: &aws_sdk_lambda::operation::list_functions::ListFunctionsOutput| {
        page.functions()
            .last()
            .and_then(|f| f.function_name())
            .unwrap_or_default()
            .to_owned()
    };
    expect!["50 to f49, then 1 to f50, next marker None"].assert_eq(&format!(
        "{} to {}, then {} to {}, next marker {:?}",
        first.functions().len(),
        last_name(&first),
        second.functions().len(),
        last_name(&second),
        second.next_marker()
    ));
    cloud.stop().await;
}

#[tokio::test]
async fn create_publishes_and_updates_check_the_revision() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    let created = create_function(&client, "echo", &role, &EMPTY_ZIP)
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(
        (created.version(), created.function_arn()),
        (
            Some("1"),
            Some("arn:aws:lambda:eu-west-1:111111111111:function:echo:1")
        )
    );
    let versions = client
        .list_versions_by_function()
        .function_name("echo")
        .send()
        .await
        .unwrap();
    let numbers: Vec<&str> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(numbers, ["$LATEST", "1"]);

    let current = client
        .get_function_configuration()
        .function_name("echo")
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    let updated = client
        .update_function_configuration()
        .function_name("echo")
        .description("second")
        .revision_id(&current)
        .send()
        .await
        .unwrap();
    // The revision given is now stale: both updates refuse it.
    let stale = client
        .update_function_configuration()
        .function_name("echo")
        .description("third")
        .revision_id(&current)
        .send()
        .await
        .unwrap_err();
    expect!["PreconditionFailedException: The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"]
        .assert_eq(&describe(&stale));
    assert_eq!(stale.raw_response().unwrap().status().as_u16(), 412);
    let stale_code = client
        .update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(EMPTY_ZIP))
        .revision_id(&current)
        .send()
        .await
        .unwrap_err();
    assert!(
        stale_code
            .into_service_error()
            .is_precondition_failed_exception()
    );
    let code = client
        .update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(EMPTY_ZIP))
        .revision_id(updated.revision_id().unwrap())
        .architectures(Architecture::Arm64)
        .send()
        .await
        .unwrap();
    assert_eq!(code.architectures(), [Architecture::Arm64]);
    assert_eq!(code.description(), Some("second"));
    let dry_run = client
        .update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(EMPTY_ZIP))
        .dry_run(true)
        .send()
        .await
        .unwrap_err();
    expect!["InvalidParameterValueException: streamgate-local does not implement DryRun for UpdateFunctionCode yet"]
        .assert_eq(&describe(&dry_run));
    let two = client
        .update_function_code()
        .function_name("echo")
        .zip_file(Blob::new(EMPTY_ZIP))
        .architectures(Architecture::Arm64)
        .architectures(Architecture::X8664)
        .send()
        .await
        .unwrap_err();
    assert!(
        describe(&two).starts_with("ValidationException: "),
        "{}",
        describe(&two)
    );
    cloud.stop().await;
}

#[tokio::test]
async fn create_function_refuses_what_aws_refuses() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let ec2_role = create_role(&cloud, A, "runs-instances", "ec2.amazonaws.com").await;
    let role_in_b = create_role(&cloud, B, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));
    create_function(&client, "echo", &role, &EMPTY_ZIP)
        .send()
        .await
        .unwrap();

    let mut seen = Vec::new();
    for (name, role, zip) in [
        ("echo", role.as_str(), EMPTY_ZIP.as_slice()),
        ("trusts-ec2", ec2_role.as_str(), EMPTY_ZIP.as_slice()),
        ("role-in-b", role_in_b.as_str(), EMPTY_ZIP.as_slice()),
        (
            "no-such-role",
            "arn:aws:iam::111111111111:role/nobody",
            EMPTY_ZIP.as_slice(),
        ),
        ("not-a-zip", role.as_str(), b"bootstrap".as_slice()),
        ("bad/name", role.as_str(), EMPTY_ZIP.as_slice()),
    ] {
        let error = create_function(&client, name, role, zip)
            .send()
            .await
            .unwrap_err();
        seen.push(format!("{name}: {}", describe(&error)));
    }
    let node = client
        .create_function()
        .function_name("node")
        .runtime(Runtime::Nodejs22x)
        .role(&role)
        .handler("index.handler")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(EMPTY_ZIP))
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    seen.push(format!("node: {}", describe(&node)));
    let timeout = create_function(&client, "slow", &role, &EMPTY_ZIP)
        .timeout(901)
        .send()
        .await
        .unwrap_err();
    seen.push(format!("slow: {}", describe(&timeout)));
    expect![[r#"
        echo: ResourceConflictException: Function already exist: echo
        trusts-ec2: InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.
        role-in-b: InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.
        no-such-role: InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.
        not-a-zip: InvalidParameterValueException: Could not unzip uploaded file. Please check your file, then try to upload again.
        bad/name: ValidationException: 1 validation error detected: Value 'bad/name' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]{1,64}
        node: InvalidParameterValueException: The runtime parameter of nodejs22.x is not supported by streamgate-local, which runs functions whose zip holds a bootstrap: provided.al2023 or provided.al2
        slow: ValidationException: 1 validation error detected: Value '901' at 'timeout' failed to satisfy constraint: Member must have value between 1 and 900"#]]
    .assert_eq(&seen.join("\n"));
    cloud.stop().await;
}

#[tokio::test]
async fn operations_not_implemented_yet_say_so() {
    let cloud = start().await;
    let client = lambda(&cloud, &root(&cloud, A));
    // Operations under Lambda's other API dates get the same restJson error.
    let error = client
        .put_provisioned_concurrency_config()
        .function_name("echo")
        .qualifier("1")
        .provisioned_concurrent_executions(1)
        .send()
        .await
        .unwrap_err();
    expect!["NotImplementedException: streamgate-local does not implement the Lambda operation PutProvisionedConcurrencyConfig (PUT /2019-09-30/functions/echo/provisioned-concurrency) yet"].assert_eq(&describe(&error));
    assert_eq!(error.raw_response().unwrap().status().as_u16(), 501);
    cloud.stop().await;
}

/// Lambda assumes the execution role with `aws:SourceAccount` and
/// `aws:SourceArn` set, so a trust policy guarded against the confused
/// deputy accepts the function's own account and ARN, and nothing else.
#[tokio::test]
async fn trust_policies_see_the_source_account_and_arn() {
    let cloud = start().await;
    let client = lambda(&cloud, &root(&cloud, A));
    let mut seen = Vec::new();
    for (role, condition) in [
        (
            "own-account",
            r#"{"StringEquals": {"aws:SourceAccount": "111111111111"}}"#,
        ),
        (
            "other-account",
            r#"{"StringEquals": {"aws:SourceAccount": "222222222222"}}"#,
        ),
        (
            "own-function",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:111111111111:function:guarded-*"}}"#,
        ),
        (
            "other-function",
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:lambda:*:111111111111:function:someone-else"}}"#,
        ),
    ] {
        let document = format!(
            r#"{{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow",
              "Principal": {{"Service": "lambda.amazonaws.com"}}, "Action": "sts:AssumeRole",
              "Condition": {condition}}}]}}"#
        );
        iam(&cloud, &root(&cloud, A))
            .create_role()
            .role_name(role)
            .assume_role_policy_document(document)
            .send()
            .await
            .unwrap();
        let arn = format!("arn:aws:iam::{A}:role/{role}");
        let outcome = create_function(&client, &format!("guarded-{role}"), &arn, &EMPTY_ZIP)
            .send()
            .await;
        seen.push(match outcome {
            Ok(_) => format!("{role}: created"),
            Err(e) => format!("{role}: {}", describe(&e)),
        });
    }
    expect![[r#"
        own-account: created
        other-account: InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda.
        own-function: created
        other-function: InvalidParameterValueException: The role defined for the function cannot be assumed by Lambda."#]]
    .assert_eq(&seen.join("\n"));
    cloud.stop().await;
}

/// A zip holding one stored (uncompressed) `bootstrap` of `size`
/// pseudo-random bytes, so that the zip is about `size` bytes long.
fn incompressible_zip(size: usize) -> Vec<u8> {
    use std::io::Write;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut bytes = Vec::with_capacity(size);
    while bytes.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(size);
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(&bytes).unwrap();
    writer.finish().unwrap().into_inner()
}

#[tokio::test]
async fn code_uploads_take_lambdas_direct_upload_limit_and_are_refused_beyond_it() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = lambda(&cloud, &root(&cloud, A));

    // 17 MB of zip is about 23 MB of JSON: over the 16 MB other services
    // take, under Lambda's limit.
    let seventeen_megabytes = incompressible_zip(17 * 1024 * 1024);
    let created = create_function(&client, "big", &role, &seventeen_megabytes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.code_size(),
        i64::try_from(seventeen_megabytes.len()).unwrap()
    );

    // 51 MB of zip is over 50 MB: refused as AWS refuses it, with 413.
    let too_big = incompressible_zip(51 * 1024 * 1024);
    let error = create_function(&client, "too-big", &role, &too_big)
        .send()
        .await
        .unwrap_err();
    let raw = error.raw_response().map(|r| r.status().as_u16());
    let service = error.into_service_error();
    expect![[r#"(Some(413), Some("RequestEntityTooLargeException"), Some("Request must be smaller than 69905067 bytes for the CreateFunction operation"))"#]]
        .assert_eq(&format!("{:?}", (raw, service.meta().code(), service.meta().message())));
    let error = client
        .update_function_code()
        .function_name("big")
        .zip_file(Blob::new(too_big))
        .send()
        .await
        .unwrap_err();
    let service = error.into_service_error();
    expect![[r#"(Some("RequestEntityTooLargeException"), Some("Request must be smaller than 69905067 bytes for the UpdateFunctionCode operation"))"#]]
        .assert_eq(&format!("{:?}", (service.meta().code(), service.meta().message())));

    // Other services keep the 16 MB limit.
    let error = dynamodb(&cloud, &root(&cloud, A))
        .put_item()
        .table_name("anything")
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("x".repeat(17 * 1024 * 1024)),
        )
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: the request body could not be read or exceeds 16777216 bytes"]
        .assert_eq(&describe(&error));
    cloud.stop().await;
}
