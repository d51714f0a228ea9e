//! Function URLs: their configurations through aws-sdk-lambda (create,
//! read, update, list and delete, per function and per alias, with
//! Lambda's shapes and refusals), and the URLs served with the test
//! function behind them, signed or not, as the auth type and the function
//! policy decide.

use crate::common::{A, Keys, REGION, describe, lambda, root, start};
use crate::invoke::deploy;
use crate::lambda::create_role;
use aws_sdk_lambda::types::{Cors, FunctionUrlAuthType, InvokeMode};
use expect_test::expect;
use serde_json::{Value, json};
use std::time::Duration;
use streamgate_local::RunningCloud;
use streamgate_local::sigv4::sign;
use streamgate_local::wire::ReceivedRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const C: &str = "333333333333";

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
    // `$LATEST` names the function's own URL.
    let latest = client
        .get_function_url_config()
        .function_name("web")
        .qualifier("$LATEST")
        .send()
        .await
        .unwrap();
    assert_eq!(latest.function_url(), created.function_url());
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
    expect!["ValidationException: 1 validation error detected: Value '1' at 'qualifier' failed to satisfy constraint: Member must satisfy regular expression pattern: (^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))"]
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
    let other = lambda(&cloud, &root(&cloud, C))
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

/// An HTTP answer: status, headers (lowercase names), body.
struct HttpAnswer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpAnswer {
    fn header(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Sends `method path?query` with `body` to the cloud's port with `host`,
/// signed for `service` with `keys` when given; reads the whole answer.
async fn send(
    cloud: &RunningCloud,
    host: &str,
    method: &str,
    path_and_query: &str,
    extra_headers: &[(&str, &str)],
    body: &str,
    signed_by: Option<(&Keys, &str)>,
) -> HttpAnswer {
    let port = cloud
        .endpoint_url()
        .rsplit_once(':')
        .unwrap()
        .1
        .trim_end_matches('/')
        .to_owned();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut request = ReceivedRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers: vec![("host".to_owned(), format!("{host}:{port}"))],
        body: bytes::Bytes::from(body.to_owned()),
    };
    request.headers.extend(
        extra_headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
    );
    if let Some((keys, service)) = signed_by {
        if let Some(token) = &keys.session_token {
            request
                .headers
                .push(("x-amz-security-token".to_owned(), token.clone()));
        }
        sign(
            &mut request,
            &keys.access_key_id,
            &keys.secret_access_key,
            REGION,
            service,
            streamgate_local::clock::wall_millis(),
        );
    }
    let mut text = format!("{method} {path_and_query} HTTP/1.1\r\n");
    for (name, value) in &request.headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))
        .await
        .unwrap();
    stream.write_all(text.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer))
        .await
        .expect("the function URL answered within 30 s")
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    HttpAnswer {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// The host of a function URL (`http://HOST:PORT/`).
fn host_of(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    rest.split_once(':').unwrap().0.to_owned()
}

#[tokio::test]
async fn urls_invoke_the_function_as_their_auth_type_and_policy_allow() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "web", &role, 3, &[]).await;
    let url = client
        .create_function_url_config()
        .function_name("web")
        .auth_type(FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .unwrap()
        .function_url()
        .to_owned();
    let host = host_of(&url);
    let a = root(&cloud, A);
    let c = root(&cloud, C);
    let forbidden = r#"403 ["AccessDeniedException"] {"Message":"Forbidden"}"#;
    let short = |answer: &HttpAnswer| {
        format!(
            "{} {:?} {}",
            answer.status,
            answer.header("x-amzn-errortype"),
            answer.body
        )
    };

    // AWS_IAM: unsigned, or signed for another service, is refused.
    let unsigned = send(&cloud, &host, "GET", "/", &[], "", None).await;
    assert_eq!(short(&unsigned), forbidden);
    let wrong_service = send(&cloud, &host, "GET", "/", &[], "", Some((&a, "dynamodb"))).await;
    assert_eq!(short(&wrong_service), forbidden);

    // Signed by the function's account: the function gets the 2.0 event.
    let echoed = send(
        &cloud,
        &host,
        "POST",
        "/orders/7?x=1&x=2&y=z",
        &[
            ("cookie", "session=abc; theme=dark"),
            ("user-agent", "tests"),
        ],
        r#"{"hello":1}"#,
        Some((&a, "lambda")),
    )
    .await;
    assert_eq!(echoed.status, 200);
    assert_eq!(echoed.header("content-type"), ["application/json"]);
    let mut event: Value = serde_json::from_str(&echoed.body).unwrap();
    let context = event["requestContext"].as_object_mut().unwrap();
    assert_eq!(context.remove("domainName").unwrap(), json!(host));
    assert_eq!(
        context.remove("apiId").unwrap(),
        context.remove("domainPrefix").unwrap()
    );
    assert!(context.remove("requestId").unwrap().is_string());
    context.remove("time").unwrap();
    context.remove("timeEpoch").unwrap();
    event["headers"]
        .as_object_mut()
        .unwrap()
        .retain(|name, _| !name.starts_with("x-amz") && name != "authorization" && name != "host");
    expect![[r#"
        {
          "body": "{\"hello\":1}",
          "cookies": [
            "session=abc",
            "theme=dark"
          ],
          "headers": {
            "connection": "close",
            "content-length": "11",
            "user-agent": "tests"
          },
          "isBase64Encoded": false,
          "queryStringParameters": {
            "x": "1,2",
            "y": "z"
          },
          "rawPath": "/orders/7",
          "rawQueryString": "x=1&x=2&y=z",
          "requestContext": {
            "accountId": "111111111111",
            "authorizer": {
              "iam": {
                "accessKey": "111111111111",
                "accountId": "111111111111",
                "callerId": "111111111111",
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:iam::111111111111:root",
                "userId": "111111111111"
              }
            },
            "http": {
              "method": "POST",
              "path": "/orders/7",
              "protocol": "HTTP/1.1",
              "sourceIp": "127.0.0.1",
              "userAgent": "tests"
            },
            "routeKey": "$default",
            "stage": "$default"
          },
          "routeKey": "$default",
          "version": "2.0"
        }"#]]
    .assert_eq(&serde_json::to_string_pretty(&event).unwrap());

    // The function's response is mapped to HTTP.
    let shaped = send(
        &cloud,
        &host,
        "POST",
        "/",
        &[],
        r#"{"respond":{"statusCode":201,"headers":{"X-Kind":"made"},"cookies":["a=1","b=2"],"body":"done"}}"#,
        Some((&a, "lambda")),
    )
    .await;
    expect![[r#"201 ["made"] ["a=1", "b=2"] done"#]].assert_eq(&format!(
        "{} {:?} {:?} {}",
        shaped.status,
        shaped.header("x-kind"),
        shaped.header("set-cookie"),
        shaped.body
    ));
    let broken = send(
        &cloud,
        &host,
        "POST",
        "/",
        &[],
        r#"{"respond":{"statusCode":"teapot"}}"#,
        Some((&a, "lambda")),
    )
    .await;
    expect![[r#"502 [] {"Message":"Internal Server Error"}"#]].assert_eq(&short(&broken));

    // Another account needs the function policy (and its own identity),
    // for lambda:InvokeFunctionUrl and for lambda:InvokeFunction, which a
    // statement may limit to calls through the URL.
    let from_c = || send(&cloud, &host, "GET", "/", &[], "", Some((&c, "lambda")));
    assert_eq!(short(&from_c().await), forbidden);
    client
        .add_permission()
        .function_name("web")
        .statement_id("c-by-iam")
        .action("lambda:InvokeFunctionUrl")
        .principal(C)
        .function_url_auth_type(FunctionUrlAuthType::AwsIam)
        .send()
        .await
        .unwrap();
    assert_eq!(short(&from_c().await), forbidden);
    client
        .add_permission()
        .function_name("web")
        .statement_id("c-through-url")
        .action("lambda:InvokeFunction")
        .principal(C)
        .invoked_via_function_url(true)
        .send()
        .await
        .unwrap();
    assert_eq!(from_c().await.status, 200);
    // That statement grants no direct Invoke.
    let direct = lambda(&cloud, &c)
        .invoke()
        .function_name("arn:aws:lambda:eu-west-1:111111111111:function:web")
        .send()
        .await
        .unwrap_err();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:web because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&describe(&direct));

    // NONE: only statements for everyone, InvokeFunctionUrl with auth type
    // NONE and InvokeFunction through the URL, open it.
    client
        .update_function_url_config()
        .function_name("web")
        .auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    let anonymous = || send(&cloud, &host, "GET", "/", &[], "", None);
    assert_eq!(short(&anonymous().await), forbidden);
    client
        .add_permission()
        .function_name("web")
        .statement_id("public")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .function_url_auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    assert_eq!(short(&anonymous().await), forbidden);
    client
        .add_permission()
        .function_name("web")
        .statement_id("public-through-url")
        .action("lambda:InvokeFunction")
        .principal("*")
        .invoked_via_function_url(true)
        .send()
        .await
        .unwrap();
    let open = anonymous().await;
    assert_eq!(open.status, 200);
    let event: Value = serde_json::from_str(&open.body).unwrap();
    assert_eq!(event["requestContext"]["accountId"], json!("anonymous"));
    assert!(event["requestContext"].get("authorizer").is_none());

    // CORS: Lambda answers a preflight itself, unsigned and without the
    // function, and puts the configured headers on every other answer in
    // place of the function's own.
    client
        .update_function_url_config()
        .function_name("web")
        .cors(
            Cors::builder()
                .allow_origins("https://app.example.com")
                .allow_methods("POST")
                .allow_headers("content-type")
                .expose_headers("x-kind")
                .max_age(60)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let cors_of = |answer: &HttpAnswer| {
        let mut shown = format!("{} {:?}", answer.status, answer.body);
        for (name, value) in &answer.headers {
            if name.starts_with("access-control-") {
                shown.push_str(&format!("\n{name}: {value}"));
            }
        }
        shown
    };
    let origin = ("origin", "https://app.example.com");
    let preflight = send(
        &cloud,
        &host,
        "OPTIONS",
        "/orders",
        &[origin, ("access-control-request-method", "POST")],
        "",
        None,
    )
    .await;
    expect![[r#"
        200 ""
        access-control-allow-origin: https://app.example.com
        access-control-allow-methods: POST
        access-control-allow-headers: content-type
        access-control-max-age: 60"#]]
    .assert_eq(&cors_of(&preflight));
    let cross_origin = send(
        &cloud,
        &host,
        "POST",
        "/",
        &[origin],
        r#"{"respond":{"statusCode":200,"headers":{"Access-Control-Allow-Origin":"*","X-Kind":"made"},"body":"done"}}"#,
        None,
    )
    .await;
    expect![[r#"
        200 "done"
        access-control-allow-origin: https://app.example.com
        access-control-expose-headers: x-kind"#]]
    .assert_eq(&cors_of(&cross_origin));

    // An event over the 6 MB synchronous payload limit is refused.
    let big = "x".repeat(6 * 1024 * 1024);
    let too_large = send(&cloud, &host, "POST", "/", &[], &big, None).await;
    expect![[r#"413 ["RequestTooLargeException"] {"Message":"Request Entity Too Large"}"#]]
        .assert_eq(&short(&too_large));

    // Reserved concurrency 0 deactivates the URL: 429 until it goes.
    client
        .put_function_concurrency()
        .function_name("web")
        .reserved_concurrent_executions(0)
        .send()
        .await
        .unwrap();
    expect![[r#"429 ["TooManyRequestsException"] {"Message":"Rate Exceeded."}"#]]
        .assert_eq(&short(&anonymous().await));
    client
        .delete_function_concurrency()
        .function_name("web")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous().await.status, 200);

    // A URL id nobody has is refused like a denied one.
    let unknown = send(
        &cloud,
        &format!("{}.lambda-url.{REGION}.localhost", "z".repeat(32)),
        "GET",
        "/",
        &[],
        "",
        None,
    )
    .await;
    assert_eq!(short(&unknown), forbidden);
    cloud.stop().await;
}
