//! The router: one endpoint for every service. A request is authenticated
//! (SigV4, giving the [`Caller`]), then routed by protocol: awsJson by
//! `X-Amz-Target` (DynamoDB, DynamoDB Streams, SQS), awsQuery by the credential
//! scope's service and the `Action` parameter (IAM, STS). Errors come back in
//! the shape of the request's protocol; nothing here panics or drops a
//! connection on bad input.

use crate::clock;
use crate::error::{ApiError, ErrorCode};
use crate::identity::{Caller, ROOT_SECRET};
use crate::sigv4::{self, Authorization};
use crate::state::Cloud;
use crate::wire::{
    IAM_NAMESPACE, Params, Protocol, ReceivedRequest, Reply, STS_NAMESPACE, parse_form,
};
use crate::{dynamodb, iam, lambda, sqs, streams, sts};

/// The awsJson target prefix of DynamoDB.
const DYNAMODB_TARGET: &str = "DynamoDB_20120810.";
/// The awsJson target prefix of DynamoDB Streams.
const STREAMS_TARGET: &str = "DynamoDBStreams_20120810.";

/// Which protocol a request speaks, judged before authentication so that
/// even an authentication error has the right shape.
fn protocol_of(request: &ReceivedRequest) -> Protocol {
    if request.header("x-amz-target").is_some() {
        return Protocol::Json;
    }
    // Lambda's operations live under several API dates (`/2015-03-31/`,
    // `/2017-10-31/` for concurrency, `/2021-10-31/` for URLs, ...): any
    // of them is Lambda's restJson, so an operation not implemented gets
    // restJson's NotImplementedException rather than an awsJson error.
    if lambda::api_date_prefix(&request.path).is_some() {
        return Protocol::RestJson;
    }
    let form = request
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form && !request.query.contains("Action=") {
        return Protocol::Json;
    }
    let scope_is_sts = request
        .header("authorization")
        .is_some_and(|a| a.contains("/sts/aws4_request"));
    let version_is_sts = String::from_utf8_lossy(&request.body).contains("Version=2011-06-15")
        || request.query.contains("Version=2011-06-15");
    if scope_is_sts || version_is_sts {
        Protocol::Query {
            namespace: STS_NAMESPACE,
        }
    } else {
        Protocol::Query {
            namespace: IAM_NAMESPACE,
        }
    }
}

/// The service name a request to `protocol` must be signed for: DynamoDB
/// Streams signs as `dynamodb`, as on AWS.
fn signing_service(request: &ReceivedRequest, protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Json
            if request
                .header("x-amz-target")
                .is_some_and(|t| t.starts_with(sqs::TARGET_PREFIX)) =>
        {
            "sqs"
        }
        Protocol::Json => "dynamodb",
        Protocol::RestJson => "lambda",
        Protocol::Query { namespace } if namespace == STS_NAMESPACE => "sts",
        Protocol::Query { .. } => "iam",
    }
}

/// Checks the credential scope's region and service as AWS does before it
/// looks at the key: any well-formed region is served here, but the service
/// must be the one the request is for.
fn check_scope(authorization: &Authorization, service: &str) -> Result<(), ApiError> {
    let region = authorization.region.as_str();
    let region_is_valid = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !region_is_valid {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            "Credential should be scoped to a valid region. ",
        ));
    }
    if authorization.service != service {
        return Err(ApiError::new(
            ErrorCode::InvalidSignatureException,
            format!("Credential should be scoped to correct service: '{service}'. "),
        ));
    }
    Ok(())
}

/// Finds who signed the request and checks the signature.
pub(crate) fn authenticate(
    cloud: &Cloud,
    request: &ReceivedRequest,
) -> Result<(Caller, Authorization), ApiError> {
    authenticate_for(
        cloud,
        request,
        signing_service(request, protocol_of(request)),
    )
}

/// [`authenticate`] for a request that must be signed for `service`
/// whatever its shape (a function URL's, signed for `lambda`).
pub(crate) fn authenticate_for(
    cloud: &Cloud,
    request: &ReceivedRequest,
    service: &str,
) -> Result<(Caller, Authorization), ApiError> {
    let authorization = sigv4::parse_authorization(request)?;
    check_scope(&authorization, service)?;
    let key = authorization.access_key_id.as_str();
    let invalid_token = || {
        ApiError::new(
            ErrorCode::UnrecognizedClientException,
            "The security token included in the request is invalid.",
        )
    };
    let (caller, secret) = if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) {
        // Long-term keys sent with a session token (a stale
        // AWS_SESSION_TOKEN beside root keys) are refused, as AWS refuses them.
        if cloud.account(key).is_none() || request.header("x-amz-security-token").is_some() {
            return Err(invalid_token());
        }
        (
            Caller::Root {
                account: key.to_owned(),
            },
            ROOT_SECRET.to_owned(),
        )
    } else {
        let session = cloud.session(key).ok_or_else(invalid_token)?;
        if request.header("x-amz-security-token") != Some(session.session_token.as_str()) {
            return Err(invalid_token());
        }
        if session.expires_millis <= cloud.clock.now_millis() {
            return Err(ApiError::new(
                ErrorCode::ExpiredTokenException,
                "The security token included in the request is expired",
            ));
        }
        (session.caller, session.secret_access_key)
    };
    sigv4::verify(request, &authorization, &secret, clock::wall_millis())?;
    Ok((caller, authorization))
}

/// Answers one request.
pub fn respond(cloud: &Cloud, request: &ReceivedRequest, request_id: &str) -> Reply {
    let protocol = protocol_of(request);
    match route(cloud, request, protocol, request_id) {
        Ok(reply) => reply,
        Err(error) => Reply::error(protocol, &error, request_id),
    }
}

fn route(
    cloud: &Cloud,
    request: &ReceivedRequest,
    protocol: Protocol,
    request_id: &str,
) -> Result<Reply, ApiError> {
    let (caller, authorization) = authenticate(cloud, request)?;
    let region = authorization.region.as_str();
    match protocol {
        Protocol::Json => {
            let target = request.header("x-amz-target").unwrap_or_default();
            if let Some(operation) = target.strip_prefix(sqs::TARGET_PREFIX) {
                return Ok(sqs::handle(
                    cloud,
                    &caller,
                    region,
                    operation,
                    &request.body,
                ));
            }
            let output = if let Some(operation) = target.strip_prefix(DYNAMODB_TARGET) {
                dynamodb::handle(cloud, &caller, region, operation, &request.body)?.to_string()
            } else if let Some(operation) = target.strip_prefix(STREAMS_TARGET) {
                streams::handle(cloud, &caller, region, operation, &request.body)?
            } else {
                return Err(ApiError::new(ErrorCode::UnknownOperationException, ""));
            };
            Ok(Reply::json(output))
        }
        Protocol::RestJson => lambda::handle(cloud, &caller, region, request),
        Protocol::Query { namespace } => {
            let mut pairs = parse_form(&request.query);
            pairs.extend(parse_form(&String::from_utf8_lossy(&request.body)));
            let params = Params(pairs);
            let action = params
                .get("Action")
                .ok_or_else(|| ApiError::new(ErrorCode::InvalidAction, "Missing Action"))?
                .to_owned();
            let inner = if namespace == STS_NAMESPACE {
                sts::handle(cloud, &caller, &action, &params)?
            } else {
                iam::handle(cloud, &caller, &action, &params)?
            };
            Ok(Reply::query(namespace, &action, &inner, request_id))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sigv4::sign;
    use crate::state::ShardRollover;
    use expect_test::{Expect, expect};

    fn cloud() -> Cloud {
        Cloud::new(&["111111111111".to_owned()], ShardRollover::default())
    }

    fn request(headers: &[(&str, &str)], body: &str) -> ReceivedRequest {
        let mut all = vec![("host".to_owned(), "127.0.0.1:4577".to_owned())];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        ReceivedRequest {
            method: "POST".into(),
            path: "/".into(),
            query: String::new(),
            headers: all,
            body: body.to_owned().into(),
        }
    }

    fn signed(headers: &[(&str, &str)], body: &str, service: &str) -> ReceivedRequest {
        let mut request = request(headers, body);
        sign(
            &mut request,
            "111111111111",
            ROOT_SECRET,
            "eu-west-1",
            service,
            clock::wall_millis(),
        );
        request
    }

    fn check(request: ReceivedRequest, expected: Expect) {
        let reply = respond(&cloud(), &request, "req-1");
        let text = format!("{} {}", reply.status, String::from_utf8_lossy(&reply.body));
        expected.assert_eq(&text);
    }

    #[test]
    fn json_requests_that_are_not_what_the_operation_expects() {
        check(
            signed(
                &[("x-amz-target", "DynamoDB_20120810.ListTables")],
                "{not json",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#SerializationException","message":"key must be a string at line 1 column 2"}"#
            ]],
        );
        check(
            signed(
                &[("x-amz-target", "DynamoDB_20120810.Frobnicate")],
                "{}",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#UnknownOperationException","message":""}"#
            ]],
        );
        check(
            signed(
                &[("x-amz-target", "Kinesis_20131202.ListStreams")],
                "{}",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#UnknownOperationException","message":""}"#
            ]],
        );
        check(
            signed(
                &[("x-amz-target", "DynamoDB_20120810.DescribeTable")],
                "{}",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"}"#
            ]],
        );
        check(
            signed(
                &[("x-amz-target", "DynamoDB_20120810.ListTables")],
                "{}",
                "dynamodb",
            ),
            expect![[r#"200 {"TableNames":[]}"#]],
        );
    }

    #[test]
    fn missing_headers_are_aws_shaped_errors() {
        check(
            request(&[("x-amz-target", "DynamoDB_20120810.ListTables")], "{}"),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#MissingAuthenticationTokenException","message":"Request is missing Authentication Token"}"#
            ]],
        );
        check(
            request(&[], ""),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#MissingAuthenticationTokenException","message":"Request is missing Authentication Token"}"#
            ]],
        );
        check(
            signed(&[], "{}", "dynamodb"),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#UnknownOperationException","message":""}"#
            ]],
        );
        check(
            request(
                &[("content-type", "application/x-www-form-urlencoded")],
                "Action=GetCallerIdentity&Version=2011-06-15",
            ),
            expect![[
                r#"403 <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>MissingAuthenticationToken</Code><Message>Request is missing Authentication Token</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
    }

    #[test]
    fn the_credential_scope_names_the_service_and_a_valid_region() {
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        check(
            signed(
                &[("x-amz-target", "DynamoDB_20120810.ListTables")],
                "{}",
                "sts",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Credential should be scoped to correct service: 'dynamodb'. "}"#
            ]],
        );
        check(
            signed(
                &[("x-amz-target", "DynamoDBStreams_20120810.ListStreams")],
                "{}",
                "dynamodb",
            ),
            expect![[r#"200 {"Streams":[]}"#]],
        );
        check(
            signed(
                &[("x-amz-target", "AmazonSQS.ListQueues")],
                "{}",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Credential should be scoped to correct service: 'sqs'. "}"#
            ]],
        );
        check(
            signed(&form, "Action=GetCallerIdentity&Version=2011-06-15", "iam"),
            expect![[
                r#"403 <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: 'sts'. </Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
        check(
            signed(&form, "Action=ListRoles&Version=2010-05-08", "dynamodb"),
            expect![[
                r#"403 <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>Credential should be scoped to correct service: 'iam'. </Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
        let mut regionless = request(&[("x-amz-target", "DynamoDB_20120810.ListTables")], "{}");
        sign(
            &mut regionless,
            "111111111111",
            ROOT_SECRET,
            "",
            "dynamodb",
            clock::wall_millis(),
        );
        check(
            regionless,
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#InvalidSignatureException","message":"Credential should be scoped to a valid region. "}"#
            ]],
        );
    }

    #[test]
    fn root_keys_with_a_session_token_are_refused() {
        check(
            signed(
                &[
                    ("x-amz-target", "DynamoDB_20120810.ListTables"),
                    ("x-amz-security-token", "stale"),
                ],
                "{}",
                "dynamodb",
            ),
            expect![[
                r#"400 {"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"The security token included in the request is invalid."}"#
            ]],
        );
    }

    #[test]
    fn query_requests_route_by_scope_and_action() {
        let form = [(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        )];
        check(
            signed(&form, "Action=GetCallerIdentity&Version=2011-06-15", "sts"),
            expect![[
                r#"200 <GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::111111111111:root</Arn><UserId>111111111111</UserId><Account>111111111111</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"#
            ]],
        );
        check(
            signed(&form, "Action=CreateUser&Version=2010-05-08", "iam"),
            expect![[
                r#"400 <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Could not find operation CreateUser for version 2010-05-08</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
        check(
            signed(&form, "Version=2010-05-08", "iam"),
            expect![[
                r#"400 <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>Missing Action</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
        check(
            signed(&form, "Action=GetRole&Version=2010-05-08", "iam"),
            expect![[
                r#"400 <ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null</Message></Error><RequestId>req-1</RequestId></ErrorResponse>"#
            ]],
        );
    }

    /// The operations a service module dispatches: the quoted names that
    /// open an arm of its one `match operation` (or `match action`), at the
    /// arms' indentation.
    fn dispatched(source: &str) -> Vec<String> {
        let start = source
            .find("    match operation {\n")
            .or_else(|| source.find("    match action {\n"))
            .unwrap();
        let mut names = Vec::new();
        for line in source[start..].lines().skip(1) {
            if line.starts_with("        _ =>") || line.starts_with("        other =>") {
                break;
            }
            let Some(arm) = line.strip_prefix("        \"") else {
                continue;
            };
            if let Some((name, _)) = arm.split_once("\" =>") {
                names.push(name.to_owned());
            }
        }
        names
    }

    /// The operations the README's table gives for a service: the cell
    /// after `| SERVICE (`, up to its first `;`, without parentheses.
    fn listed(readme: &str, service: &str) -> Vec<String> {
        let row = readme
            .lines()
            .find(|line| line.starts_with(&format!("| {service} (")))
            .unwrap_or_else(|| panic!("no README row for {service}"));
        let cell = row.split(" | ").nth(1).unwrap().trim_end_matches('|');
        let cell = cell.split(';').next().unwrap();
        let mut plain = String::new();
        let mut depth = 0;
        for c in cell.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ if depth == 0 => plain.push(c),
                _ => {}
            }
        }
        plain
            .split(',')
            .map(|name| name.trim().to_owned())
            .collect()
    }

    #[test]
    fn readme_lists_exactly_the_operations_each_service_dispatches() {
        let readme = include_str!("../README.md");
        let services = [
            ("DynamoDB", include_str!("dynamodb.rs")),
            ("DynamoDB Streams", include_str!("streams.rs")),
            ("IAM", include_str!("iam.rs")),
            ("STS", include_str!("sts.rs")),
            ("SQS", include_str!("sqs/mod.rs")),
        ];
        for (service, source) in services {
            let mut code = dispatched(source);
            let mut readme_names = listed(readme, service);
            assert!(!code.is_empty(), "no operation found for {service}");
            code.sort();
            readme_names.sort();
            assert_eq!(readme_names, code, "{service}: README vs dispatch");
        }
        // DynamoDB's operations refused by name are named in the README.
        let source = include_str!("dynamodb.rs");
        let dispatch = source.split("    match operation {\n").nth(1).unwrap();
        let dispatch = dispatch.split("\n        _ =>").next().unwrap();
        let refused: Vec<&str> = dispatch
            .lines()
            .filter_map(|line| {
                let rest = line.strip_prefix("        ")?;
                let rest = rest.strip_prefix("| ").unwrap_or(rest);
                let name = rest.strip_prefix('"')?.split('"').next()?;
                if !name.chars().all(|c| c.is_ascii_alphabetic()) {
                    return None;
                }
                let after = rest.get(name.len() + 2..)?;
                (after.is_empty() || after.contains("Err(ApiError::validation")).then_some(name)
            })
            .collect();
        assert!(refused.contains(&"DescribeTimeToLive"), "{refused:?}");
        let not_done = readme.split("## What it does not do").nth(1).unwrap();
        for name in refused {
            assert!(
                not_done.contains(name),
                "the README does not say {name} is refused"
            );
        }
        // And each listed operation is answered by its module, not refused
        // as unknown.
        let cloud = cloud();
        let caller = Caller::Root {
            account: "111111111111".to_owned(),
        };
        for operation in listed(readme, "DynamoDB") {
            if let Err(e) = dynamodb::handle(&cloud, &caller, "eu-west-1", &operation, b"{}") {
                assert_ne!(e.code, ErrorCode::UnknownOperationException, "{operation}");
                assert!(!e.message.contains("not supported"), "{operation}: {e}");
            }
        }
        for operation in listed(readme, "DynamoDB Streams") {
            if let Err(e) = streams::handle(&cloud, &caller, "eu-west-1", &operation, b"{}") {
                assert_ne!(e.code, ErrorCode::UnknownOperationException, "{operation}");
            }
        }
        for operation in listed(readme, "IAM") {
            if let Err(e) = iam::handle(&cloud, &caller, &operation, &Params(Vec::new())) {
                assert_ne!(e.code, ErrorCode::InvalidAction, "{operation}");
            }
        }
        for operation in listed(readme, "STS") {
            if let Err(e) = sts::handle(&cloud, &caller, &operation, &Params(Vec::new())) {
                assert_ne!(e.code, ErrorCode::InvalidAction, "{operation}");
            }
        }
        for operation in listed(readme, "SQS") {
            let reply = sqs::handle(&cloud, &caller, "eu-west-1", &operation, b"");
            let body = String::from_utf8_lossy(&reply.body);
            assert!(
                !body.contains("UnsupportedOperation"),
                "{operation}: {body}"
            );
        }
    }
}
