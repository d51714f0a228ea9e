//! The router: one endpoint for every service. A request is authenticated
//! (SigV4, giving the [`Caller`]), then routed by protocol: awsJson by
//! `X-Amz-Target` (DynamoDB, DynamoDB Streams), awsQuery by the credential
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
use crate::{dynamodb, iam, streams, sts};

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

/// Finds who signed the request and checks the signature.
fn authenticate(
    cloud: &Cloud,
    request: &ReceivedRequest,
) -> Result<(Caller, Authorization), ApiError> {
    let authorization = sigv4::parse_authorization(request)?;
    let key = authorization.access_key_id.as_str();
    let invalid_token = || {
        ApiError::new(
            ErrorCode::UnrecognizedClientException,
            "The security token included in the request is invalid.",
        )
    };
    let (caller, secret) = if key.len() == 12 && key.bytes().all(|b| b.is_ascii_digit()) {
        if cloud.account(key).is_none() {
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
            let output = if let Some(operation) = target.strip_prefix(DYNAMODB_TARGET) {
                dynamodb::handle(cloud, &caller, region, operation, &request.body)?
            } else if let Some(operation) = target.strip_prefix(STREAMS_TARGET) {
                streams::handle(cloud, &caller, region, operation, &request.body)?
            } else {
                return Err(ApiError::new(ErrorCode::UnknownOperationException, ""));
            };
            Ok(Reply::json(output.to_string()))
        }
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
