//! Function URL configurations through aws-sdk-lambda: create, read,
//! update, list and delete, per function and per alias, with Lambda's
//! shapes and refusals.

use crate::common::{A, REGION, describe, lambda, root, start};
use crate::invoke::deploy;
use crate::lambda::create_role;
use aws_sdk_lambda::types::{Cors, FunctionUrlAuthType, InvokeMode};
use expect_test::expect;

/// `FunctionUrl` with the URL id and port replaced, after checking them.
fn url_shape(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (id, rest) = rest.split_once('.').unwrap();
    assert_eq!(id.len(), 32, "{url}");
    assert!(
        id.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{url}"
    );
    let (host, port) = rest.trim_end_matches('/').rsplit_once(':').unwrap();
    port.parse::<u16>().unwrap();
    format!("http://<id>.{host}:<port>/")
}

/// A time in Lambda's function URL format, with its digits replaced.
fn time_shape(time: &str) -> String {
    time.chars()
        .map(|c| if c.is_ascii_digit() { 'N' } else { c })
        .collect()
}

#[tokio::test]
async fn url_configurations_are_created_read_updated_listed_and_deleted() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "web", &role, 3, &[]).await;

    let created = client
        .create_function_url_config()
        .function_name("web")
        .auth_type(FunctionUrlAuthType::None)
        .cors(
            Cors::builder()
                .allow_origins("https://example.com")
                .allow_methods("GET")
                .max_age(300)
                .build(),
        )
        .send()
        .await
        .unwrap();
    expect![[r#"
        http://<id>.lambda-url.eu-west-1.localhost:<port>/ arn:aws:lambda:eu-west-1:111111111111:function:web NONE Some(Buffered) NNNN-NN-NNTNN:NN:NN.NNNNNNZ
        Some(Cors { allow_credentials: None, allow_headers: None, allow_methods: Some(["GET"]), allow_origins: Some(["https://example.com"]), expose_headers: None, max_age: Some(300) })"#]]
    .assert_eq(&format!(
        "{} {} {} {:?} {}\n{:?}",
        url_shape(created.function_url()),
        created.function_arn(),
        created.auth_type(),
        created.invoke_mode(),
        time_shape(created.creation_time()),
        created.cors()
    ));
    // The host names the URL id and the region, on the cloud's own port.
    let port = cloud.endpoint_url().rsplit_once(':').unwrap().1.to_owned();
    assert!(
        created
            .function_url()
            .ends_with(&format!(".lambda-url.{REGION}.localhost:{port}/")),
        "{}",
        created.function_url()
    );

    let again = client
        .create_function_url_config()
        .function_name("web")
        .auth_type(FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .unwrap_err();
    expect!["ResourceConflictException: Failed to create function url config for [functionArn = arn:aws:lambda:eu-west-1:111111111111:function:web]. Error message:  FunctionUrlConfig exists for this Lambda function"]
        .assert_eq(&describe(&again));

    let read = client
        .get_function_url_config()
        .function_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(read.function_url(), created.function_url());
    assert_eq!(read.creation_time(), created.creation_time());
    assert_eq!(
        time_shape(read.last_modified_time()),
        "NNNN-NN-NNTNN:NN:NN.NNNNNNZ"
    );

    let updated = client
        .update_function_url_config()
        .function_name("web")
        .auth_type(FunctionUrlAuthType::AwsIam)
        .invoke_mode(InvokeMode::ResponseStream)
        .send()
        .await
        .unwrap();
    expect!["AWS_IAM Some(ResponseStream) true"].assert_eq(&format!(
        "{} {:?} {}",
        updated.auth_type(),
        updated.invoke_mode(),
        updated.cors().is_some()
    ));
    assert_eq!(updated.function_url(), created.function_url());

    // What the model refuses.
    let too_old = client
        .update_function_url_config()
        .function_name("web")
        .cors(Cors::builder().max_age(90_000).build())
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: 1 validation error detected: Value '90000' at 'cors.maxAge' failed to satisfy constraint: Member must have value between 0 and 86400"]
        .assert_eq(&describe(&too_old));
    let by_version = client
        .create_function_url_config()
        .function_name("web")
        .qualifier("1")
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap_err();
    expect!["ValidationException: 1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ((?!^\\d+$)^[0-9a-zA-Z-_]+$)"]
        .assert_eq(&describe(&by_version));
    let no_alias = client
        .create_function_url_config()
        .function_name("web")
        .qualifier("live")
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:web:live"]
        .assert_eq(&describe(&no_alias));

    // An alias has a URL of its own.
    client
        .publish_version()
        .function_name("web")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("web")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let live = client
        .create_function_url_config()
        .function_name("web:live")
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        live.function_arn(),
        "arn:aws:lambda:eu-west-1:111111111111:function:web:live"
    );
    assert_ne!(live.function_url(), created.function_url());
    let first_page = client
        .list_function_url_configs()
        .function_name("web")
        .max_items(1)
        .send()
        .await
        .unwrap();
    let second_page = client
        .list_function_url_configs()
        .function_name("web")
        .max_items(1)
        .set_marker(first_page.next_marker().map(str::to_owned))
        .send()
        .await
        .unwrap();
    let arns = |page: &aws_sdk_lambda::operation::list_function_url_configs::ListFunctionUrlConfigsOutput| {
        page.function_url_configs()
            .iter()
            .map(|c| c.function_arn().to_owned())
            .collect::<Vec<_>>()
    };
    expect![[r#"(["arn:aws:lambda:eu-west-1:111111111111:function:web"], true, ["arn:aws:lambda:eu-west-1:111111111111:function:web:live"], None)"#]]
        .assert_eq(&format!(
            "{:?}",
            (
                arns(&first_page),
                first_page.next_marker().is_some(),
                arns(&second_page),
                second_page.next_marker()
            )
        ));

    // Another account may not manage the URLs.
    let other = lambda(&cloud, &root(&cloud, "333333333333"))
        .get_function_url_config()
        .function_name("arn:aws:lambda:eu-west-1:111111111111:function:web")
        .send()
        .await
        .unwrap_err();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:GetFunctionUrlConfig on resource: arn:aws:lambda:eu-west-1:111111111111:function:web because no resource-based policy allows the lambda:GetFunctionUrlConfig action"]
        .assert_eq(&describe(&other));

    // The alias's URL goes with the alias; the function's with DeleteFunctionUrlConfig.
    client
        .delete_alias()
        .function_name("web")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .delete_function_url_config()
        .function_name("web")
        .send()
        .await
        .unwrap();
    let gone = client
        .get_function_url_config()
        .function_name("web")
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: The resource you requested does not exist."]
        .assert_eq(&describe(&gone));
    let listed = client
        .list_function_url_configs()
        .function_name("web")
        .send()
        .await
        .unwrap();
    assert!(listed.function_url_configs().is_empty());
    cloud.stop().await;
}
