//! Serving function URLs: a request whose `Host` is
//! `URL-ID.lambda-url.REGION.localhost[:PORT]` (the local form of
//! `FunctionUrl`, see [`super::urls`]) invokes the function (or alias) the
//! URL belongs to, whatever its method and path, with Lambda's payload
//! format 2.0 event, and answers the function's response as Lambda maps it.
//!
//! Authorization, as on AWS, which since October 2025 asks for two
//! actions on the function (or alias) ARN: `lambda:InvokeFunctionUrl` and
//! `lambda:InvokeFunction`, both evaluated with the request's condition
//! keys `lambda:FunctionUrlAuthType` (the URL's auth type) and
//! `lambda:InvokedViaFunctionUrl` (`true`), so that a statement made with
//! AddPermission's `InvokedViaFunctionUrl` grants `lambda:InvokeFunction`
//! through the URL and never to a direct Invoke:
//! - `AWS_IAM`: the request must be SigV4-signed for service `lambda`, and
//!   the caller allowed both actions by its identity policies or the
//!   function policy in the function's account, by both from another
//!   account;
//! - `NONE`: the function policy must allow both actions to everyone
//!   (`Principal` `*`, or `{"AWS": "*"}`, which IAM reads the same). The
//!   unauthenticated caller is evaluated as the anonymous principal, which
//!   only such a statement names.
//!
//! Anything else is `403` with `{"Message":"Forbidden"}` and
//! `x-amzn-ErrorType: AccessDeniedException`, as Lambda answers, also for
//! a URL id this cloud does not know.
//!
//! A request whose event (the invocation payload) is over the 6 MB
//! synchronous limit is `413` (`{"Message":"Request Entity Too Large"}`,
//! `x-amzn-ErrorType: RequestTooLargeException`; AWS documents the limit,
//! not the body). An invocation takes a concurrency slot like any
//! synchronous Invoke: a
//! function at its reserved concurrency (reserved at 0 deactivates its
//! URLs, as the Lambda guide suggests) or an account out of unreserved
//! concurrency is answered `429` (`{"Message":"Rate Exceeded."}`,
//! `x-amzn-ErrorType: TooManyRequestsException`; AWS documents the status
//! only).
//!
//! The response: an object with `statusCode` gives the status, `headers`,
//! `cookies` (one `Set-Cookie` each) and `body` (base64-decoded when
//! `isBase64Encoded`); any other JSON value is answered as it is, `200`
//! with `Content-Type: application/json`. A function error, or a response
//! that is not JSON, is `502` `{"Message":"Internal Server Error"}`.
//! `InvokeMode` `RESPONSE_STREAM` is answered buffered.
//!
//! A URL's `Cors` is applied by [`super::url_cors`]: preflights answered
//! before anything above, CORS headers added to every other answer.

use super::base64;
use super::functions::{FunctionKey, called_arn};
use super::invoke::MAX_SYNC_PAYLOAD_BYTES;
use super::permissions::{authorize_on_function, policy_text};
use super::url_cors::CorsRules;
use super::urls::UrlConfig;
use crate::clock;
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{ReceivedRequest, parse_form};
use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use serde_json::{Map, Value, json};
use std::sync::Arc;
use streamgate_policy::arn::AccountId;
use streamgate_policy::eval::{self, PolicySet, Principal, Request};

/// The host suffix of the local form of function URLs.
const LOCAL_URL_DOMAIN: &str = ".localhost";

/// The URL id and region a `Host` header names, when it is a function
/// URL's.
pub fn url_host(host: &str) -> Option<(&str, &str)> {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let (id, rest) = name.split_once('.')?;
    let region = rest
        .strip_prefix("lambda-url.")?
        .strip_suffix(LOCAL_URL_DOMAIN)?;
    let id_ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (id_ok && !region.is_empty() && !region.contains('.')).then_some((id, region))
}

/// Answers `request` if its host is a function URL's; `None` otherwise.
pub async fn answer(
    cloud: &Arc<Cloud>,
    request: &ReceivedRequest,
    request_id: &str,
) -> Option<Response<Full<Bytes>>> {
    let (url_id, region) = url_host(request.header("host")?)?;
    let found = find_url(cloud, url_id, region);
    let cors = found
        .as_ref()
        .and_then(|(_, _, config)| config.cors.as_ref())
        .map(CorsRules::from_config);
    let origin = request.header("origin");
    if let (Some(rules), Some(origin)) = (&cors, origin)
        && CorsRules::is_preflight(&request.method, |name| request.header(name).is_some())
    {
        let preflight = UrlReply {
            status: 200,
            headers: rules.preflight_headers(origin),
            body: Bytes::new(),
        };
        return Some(preflight.into_response(request_id));
    }
    let mut reply = match found {
        Some(found) => match serve(cloud, request, url_id, found, request_id).await {
            Ok(reply) | Err(reply) => reply,
        },
        None => UrlReply::forbidden(),
    };
    if let (Some(rules), Some(origin)) = (&cors, origin) {
        rules.apply(origin, &mut reply.headers);
    }
    Some(reply.into_response(request_id))
}

/// An HTTP answer with any headers (a function chooses its own).
struct UrlReply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl UrlReply {
    fn message(status: u16, error_type: Option<&str>, message: &str) -> Self {
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        if let Some(kind) = error_type {
            headers.push(("x-amzn-errortype".to_owned(), kind.to_owned()));
        }
        Self {
            status,
            headers,
            body: Bytes::from(json!({ "Message": message }).to_string()),
        }
    }

    fn forbidden() -> Self {
        Self::message(403, Some("AccessDeniedException"), "Forbidden")
    }

    fn too_large() -> Self {
        Self::message(
            413,
            Some("RequestTooLargeException"),
            "Request Entity Too Large",
        )
    }

    fn throttled() -> Self {
        Self::message(429, Some("TooManyRequestsException"), "Rate Exceeded.")
    }

    fn failed() -> Self {
        Self::message(502, None, "Internal Server Error")
    }

    fn into_response(self, request_id: &str) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() =
            hyper::StatusCode::from_u16(self.status).unwrap_or(hyper::StatusCode::BAD_GATEWAY);
        let headers = response.headers_mut();
        if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", value);
        }
        for (name, value) in self.headers {
            let (Ok(name), Ok(value)) = (
                hyper::header::HeaderName::from_bytes(name.as_bytes()),
                hyper::header::HeaderValue::from_str(&value),
            ) else {
                continue;
            };
            // The server frames the body itself.
            if name == hyper::header::CONTENT_LENGTH || name == hyper::header::TRANSFER_ENCODING {
                continue;
            }
            headers.append(name, value);
        }
        response
    }
}

/// The function, alias and configuration of the URL `url_id` in `region`.
fn find_url(
    cloud: &Cloud,
    url_id: &str,
    region: &str,
) -> Option<(FunctionKey, Option<String>, UrlConfig)> {
    lock(&cloud.functions.urls)
        .iter()
        .find(|((key, _), config)| config.url_id == url_id && key.region == region)
        .map(|((key, qualifier), config)| (key.clone(), qualifier.clone(), config.clone()))
}

async fn serve(
    cloud: &Arc<Cloud>,
    request: &ReceivedRequest,
    url_id: &str,
    (key, qualifier, config): (FunctionKey, Option<String>, UrlConfig),
    request_id: &str,
) -> Result<UrlReply, UrlReply> {
    let arn = format!(
        "arn:aws:lambda:{}:{}:function:{}",
        key.region, key.account, key.name
    );
    let called = called_arn(&arn, qualifier.as_deref());
    let caller = if config.auth_type == "AWS_IAM" {
        let (caller, _) = crate::router::authenticate_for(cloud, request, "lambda")
            .map_err(|_| UrlReply::forbidden())?;
        let context = url_context("AWS_IAM");
        for action in URL_ACTIONS {
            authorize_on_function(
                cloud,
                &caller,
                &key,
                qualifier.as_deref(),
                action,
                &called,
                &context,
            )
            .map_err(|_| UrlReply::forbidden())?;
        }
        Some(caller)
    } else {
        if !open_to_everyone(cloud, &key, qualifier.as_deref(), &called) {
            return Err(UrlReply::forbidden());
        }
        None
    };
    let target = super::versions::qualified(cloud, &key, &arn, qualifier.as_deref())
        .map_err(|_| UrlReply::forbidden())?;
    let event = event(cloud, request, url_id, caller.as_ref(), request_id).to_string();
    // The event is the invocation's payload, under Lambda's synchronous
    // limit like any Invoke's.
    if event.len() > MAX_SYNC_PAYLOAD_BYTES {
        return Err(UrlReply::too_large());
    }
    let slot = cloud
        .concurrency
        .try_start(&key)
        .map_err(|_| UrlReply::throttled())?;
    let result = cloud
        .executor
        .invoke(cloud, &key, &target, Bytes::from(event), None)
        .await
        .map_err(|_| UrlReply::failed())?;
    drop(slot);
    if result.function_error.is_some() {
        return Err(UrlReply::failed());
    }
    let value: Value = serde_json::from_slice(&result.payload).map_err(|_| UrlReply::failed())?;
    response_of(value, result.payload).ok_or_else(UrlReply::failed)
}

/// The actions a caller of a function URL must be allowed, both.
const URL_ACTIONS: [&str; 2] = ["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"];

/// The condition keys of a request through a URL of `auth_type`.
fn url_context(auth_type: &str) -> [(&str, &str); 2] {
    [
        ("lambda:FunctionUrlAuthType", auth_type),
        ("lambda:InvokedViaFunctionUrl", "true"),
    ]
}

/// Whether the function policy lets anyone invoke the URL of auth type
/// `NONE`: both [`URL_ACTIONS`] allowed to the unauthenticated caller.
fn open_to_everyone(
    cloud: &Cloud,
    key: &FunctionKey,
    qualifier: Option<&str>,
    called: &str,
) -> bool {
    let Some(text) = policy_text(cloud, key, qualifier) else {
        return false;
    };
    let (Ok(document), Ok(owner)) = (cloud.parsed_policy(&text), key.account.parse::<AccountId>())
    else {
        return false;
    };
    let principal = Principal::anonymous();
    let set = PolicySet::new()
        .with_resource_owner(owner)
        .with_resource_policy(&document);
    let now_seconds = i64::try_from(cloud.clock.now_millis() / 1000).unwrap_or(i64::MAX);
    URL_ACTIONS.iter().all(|action| {
        let request = url_context("NONE").into_iter().fold(
            Request::new(principal.clone(), *action, called).with_time(now_seconds),
            |request, (key, value)| request.with_context(key, value),
        );
        eval::evaluate(&request, &set).is_allowed()
    })
}

/// `12/Mar/2020:19:03:58 +0000`, the event's `requestContext.time`.
fn request_time(millis: u64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = clock::iso8601(millis);
    let part = |range: std::ops::Range<usize>| iso.get(range).unwrap_or_default();
    let month = part(5..7)
        .parse::<usize>()
        .ok()
        .and_then(|m| m.checked_sub(1))
        .and_then(|m| MONTHS.get(m))
        .copied()
        .unwrap_or("Jan");
    format!(
        "{}/{month}/{}:{} +0000",
        part(8..10),
        part(0..4),
        part(11..19)
    )
}

/// The payload format 2.0 event of `request`.
fn event(
    cloud: &Cloud,
    request: &ReceivedRequest,
    url_id: &str,
    caller: Option<&Caller>,
    request_id: &str,
) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in &request.headers {
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| json!(c)),
            );
            continue;
        }
        match headers.get_mut(name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(value);
            }
            _ => {
                headers.insert(name.clone(), json!(value));
            }
        }
    }
    let mut parameters: Map<String, Value> = Map::new();
    for (name, value) in parse_form(&request.query) {
        match parameters.get_mut(&name) {
            Some(Value::String(joined)) => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => {
                parameters.insert(name, json!(value));
            }
        }
    }
    let host = request.header("host").unwrap_or_default();
    let domain = host.rsplit_once(':').map_or(host, |(name, _)| name);
    let now = cloud.clock.now_millis();
    let mut context = json!({
        "accountId": caller.map_or("anonymous", Caller::account),
        "apiId": url_id,
        "domainName": domain,
        "domainPrefix": url_id,
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": request.header("user-agent").unwrap_or_default(),
        },
        "requestId": request_id,
        "routeKey": "$default",
        "stage": "$default",
        "time": request_time(now),
        "timeEpoch": now,
    });
    if let (Some(caller), Some(object)) = (caller, context.as_object_mut()) {
        let (access_key_id, user_id) = match caller {
            Caller::Root { account } => (account.clone(), account.clone()),
            Caller::AssumedRole {
                role_id,
                session_name,
                ..
            } => (
                request
                    .header("authorization")
                    .and_then(|a| a.split("Credential=").nth(1))
                    .and_then(|c| c.split('/').next())
                    .unwrap_or_default()
                    .to_owned(),
                format!("{role_id}:{session_name}"),
            ),
        };
        object.insert(
            "authorizer".to_owned(),
            json!({ "iam": {
                "accessKey": access_key_id,
                "accountId": caller.account(),
                "callerId": user_id,
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": caller.arn(),
                "userId": user_id,
            }}),
        );
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": request.path,
        "rawQueryString": request.query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": false,
    });
    if let Some(object) = event.as_object_mut() {
        if !cookies.is_empty() {
            object.insert("cookies".to_owned(), Value::Array(cookies));
        }
        if !parameters.is_empty() {
            object.insert(
                "queryStringParameters".to_owned(),
                Value::Object(parameters),
            );
        }
        if !request.body.is_empty() {
            let (body, encoded) = match std::str::from_utf8(&request.body) {
                Ok(text) => (text.to_owned(), false),
                Err(_) => (base64::encode(&request.body), true),
            };
            object.insert("body".to_owned(), json!(body));
            object.insert("isBase64Encoded".to_owned(), json!(encoded));
        }
    }
    event
}

/// A header value as text: strings as they are, other JSON as written.
fn header_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The HTTP answer of a function's response: `None` when it cannot be one
/// (a `statusCode` that is no status, a body that does not decode).
fn response_of(value: Value, payload: Bytes) -> Option<UrlReply> {
    let Value::Object(object) = &value else {
        return Some(inferred(payload));
    };
    let Some(status) = object.get("statusCode") else {
        return Some(inferred(payload));
    };
    let status = status
        .as_u64()
        .and_then(|s| u16::try_from(s).ok())
        .filter(|s| (100..=599).contains(s))?;
    let mut headers: Vec<(String, String)> = object
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(name, value)| (name.to_ascii_lowercase(), header_text(value)))
        .collect();
    headers.extend(
        object
            .get("cookies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|cookie| ("set-cookie".to_owned(), header_text(cookie))),
    );
    let text = match object.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(body) => header_text(body),
    };
    let body = if object.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        Bytes::from(base64::decode(&text)?)
    } else {
        Bytes::from(text)
    };
    Some(UrlReply {
        status,
        headers,
        body,
    })
}

/// Lambda's answer to a response without `statusCode`: the JSON as it is.
fn inferred(payload: Bytes) -> UrlReply {
    UrlReply {
        status: 200,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_function_urls() {
        let hosts: Vec<String> = [
            "abc123.lambda-url.eu-west-1.localhost:4577",
            "abc123.lambda-url.eu-west-1.localhost",
            "abc123.lambda-url.eu-west-1.on.aws",
            "127.0.0.1:4577",
            "ABC.lambda-url.eu-west-1.localhost",
            "abc.lambda-url.localhost",
        ]
        .into_iter()
        .map(|host| format!("{host} -> {:?}", url_host(host)))
        .collect();
        expect_test::expect![[r#"
            abc123.lambda-url.eu-west-1.localhost:4577 -> Some(("abc123", "eu-west-1"))
            abc123.lambda-url.eu-west-1.localhost -> Some(("abc123", "eu-west-1"))
            abc123.lambda-url.eu-west-1.on.aws -> None
            127.0.0.1:4577 -> None
            ABC.lambda-url.eu-west-1.localhost -> None
            abc.lambda-url.localhost -> None"#]]
        .assert_eq(&hosts.join("\n"));
    }

    fn shown(value: Value) -> String {
        let payload = Bytes::from(value.to_string());
        match response_of(value, payload) {
            Some(reply) => format!(
                "{} {:?} {:?}",
                reply.status,
                reply.headers,
                String::from_utf8_lossy(&reply.body)
            ),
            None => "unmappable".to_owned(),
        }
    }

    #[test]
    fn responses_are_mapped_as_lambda_maps_them() {
        let cases = [
            json!({"statusCode": 201, "headers": {"X-Kind": "made", "Retry": 3}, "cookies": ["a=1", "b=2"], "body": "done"}),
            json!({"statusCode": 200, "body": "aGk=", "isBase64Encoded": true}),
            json!({"statusCode": 204}),
            json!({"message": "no status"}),
            json!([1, 2]),
            json!("text"),
            json!({"statusCode": "teapot"}),
            json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true}),
        ];
        let shown: Vec<String> = cases.into_iter().map(shown).collect();
        expect_test::expect![[r#"
            201 [("retry", "3"), ("x-kind", "made"), ("set-cookie", "a=1"), ("set-cookie", "b=2")] "done"
            200 [] "hi"
            204 [] ""
            200 [("content-type", "application/json")] "{\"message\":\"no status\"}"
            200 [("content-type", "application/json")] "[1,2]"
            200 [("content-type", "application/json")] "\"text\""
            unmappable
            unmappable"#]]
        .assert_eq(&shown.join("\n"));
    }

    #[test]
    fn a_statement_for_aws_everyone_opens_a_none_url_as_one_for_everyone() {
        let cloud = Cloud::new(
            &["111111111111".to_owned()],
            crate::state::ShardRollover::default(),
        );
        let key = FunctionKey {
            account: "111111111111".to_owned(),
            region: "eu-west-1".to_owned(),
            name: "web".to_owned(),
        };
        let arn = "arn:aws:lambda:eu-west-1:111111111111:function:web";
        let opens = |principal: &str, via_url: &str| {
            let text = format!(
                r#"{{"Version":"2012-10-17","Id":"default","Statement":[{{"Sid":"url","Effect":"Allow","Principal":{principal},"Action":"lambda:InvokeFunctionUrl","Resource":"{arn}","Condition":{{"StringEquals":{{"lambda:FunctionUrlAuthType":"NONE"}}}}}},{{"Sid":"invoke","Effect":"Allow","Principal":{principal},"Action":"lambda:InvokeFunction","Resource":"{arn}","Condition":{{"Bool":{{"lambda:InvokedViaFunctionUrl":"{via_url}"}}}}}}]}}"#
            );
            let document = (*cloud.parsed_policy(&text).unwrap()).clone();
            lock(&cloud.functions.policies).insert(
                (key.clone(), None),
                super::super::permissions::FunctionPolicy {
                    document,
                    text,
                    revision_id: "r".to_owned(),
                },
            );
            open_to_everyone(&cloud, &key, None, arn)
        };
        let verdicts = [
            opens(r#""*""#, "true"),
            opens(r#"{"AWS":"*"}"#, "true"),
            opens(r#"{"AWS":"arn:aws:iam::111111111111:root"}"#, "true"),
            opens(r#""*""#, "false"),
        ];
        assert_eq!(verdicts, [true, true, false, false]);
    }

    #[test]
    fn request_times_are_in_the_access_log_format() {
        expect_test::expect!["12/Mar/2020:19:03:58 +0000"]
            .assert_eq(&request_time(1_584_039_838_390));
    }
}
