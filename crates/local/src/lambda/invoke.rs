//! Invoke (`POST /2015-03-31/functions/NAME/invocations`), answered off the
//! synchronous router because it waits for the function's process.
//!
//! The request id answered (`x-amzn-RequestId`) is the one the function
//! runs under; every try of an `Event` runs under the same one.
//!
//! `X-Amz-Invocation-Type`: `RequestResponse` (default) waits and answers
//! the function's payload, with `X-Amz-Function-Error: Unhandled` and the
//! error document when it failed; `Event` queues the invocation and answers
//! 202, run by [`super::event_config::run_event`] (retried twice, a minute
//! then two minutes later, if it fails, unless the function's asynchronous
//! invocation settings say otherwise); `DryRun` checks access and answers 204.
//! Invocations take a concurrency slot ([`super::concurrency`]): a
//! synchronous one beyond the function's reservation is answered 429
//! TooManyRequestsException; an `Event` one is always queued (202), and
//! waits for a slot or, for a function reserved at 0, goes unrun to the
//! on-failure destination. A queued `Event` goes with its function, or
//! the version or alias it was invoked with, when that is deleted.
//! `X-Amz-Log-Type: Tail` adds
//! the invocation's log lines, base64, in `X-Amz-Log-Result` (last 4 KB).
//! `X-Amz-Client-Context` (base64 JSON) reaches the runtime of a
//! synchronous invocation as `Lambda-Runtime-Client-Context`.

use super::concurrency::Throttle;
use super::executor::InvocationResult;
use super::functions::resolve_qualified;
use super::permissions::authorize_on_function;
use super::{API_PREFIX, base64, json_reply};
use crate::error::{ApiError, ErrorCode};
use crate::state::Cloud;
use crate::wire::{Protocol, ReceivedRequest, Reply, parse_form, percent_decode};
use bytes::Bytes;
use std::sync::Arc;

/// The largest synchronous request payload (6 MB).
pub const MAX_SYNC_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The largest asynchronous (`Event`) request payload (1 MB).
pub const MAX_ASYNC_PAYLOAD_BYTES: usize = 1024 * 1024;
/// How much of the log `LogType: Tail` returns.
const LOG_TAIL_BYTES: usize = 4096;

/// Answers `request` if it is an Invoke; `None` for anything else.
pub async fn answer(
    cloud: &Arc<Cloud>,
    request: &ReceivedRequest,
    request_id: &str,
) -> Option<Reply> {
    let rest = request.path.strip_prefix(API_PREFIX)?;
    let segments: Vec<&str> = rest.split('/').collect();
    // Event source mappings start pollers, which need the shared cloud.
    if let ["event-source-mappings", tail @ ..] = segments.as_slice() {
        let uuid = tail
            .first()
            .filter(|s| !s.is_empty())
            .map(|s| percent_decode(s, false));
        let result =
            crate::router::authenticate(cloud, request).and_then(|(caller, authorization)| {
                super::mappings::handle(
                    cloud,
                    &caller,
                    &authorization.region,
                    &request.method,
                    uuid.as_deref(),
                    &parse_form(&request.query),
                    &request.body,
                )
            });
        return Some(
            result.unwrap_or_else(|error| Reply::error(Protocol::RestJson, &error, request_id)),
        );
    }
    let ["functions", name, "invocations"] = segments.as_slice() else {
        return None;
    };
    if request.method != "POST" {
        return None;
    }
    let name = percent_decode(name, false);
    Some(match invoke(cloud, request, &name).await {
        Ok(reply) => reply,
        Err(error) => Reply::error(Protocol::RestJson, &error, request_id),
    })
}

async fn invoke(
    cloud: &Arc<Cloud>,
    request: &ReceivedRequest,
    name: &str,
) -> Result<Reply, ApiError> {
    let (caller, authorization) = crate::router::authenticate(cloud, request)?;
    let region = authorization.region;
    let query = parse_form(&request.query);
    let qualifier = query
        .iter()
        .find(|(n, _)| n == "Qualifier")
        .map(|(_, v)| v.as_str());
    let (key, arn, qualifier) = resolve_qualified(&caller, &region, name, qualifier)?;
    let target = super::versions::qualified(cloud, &key, &arn, qualifier.as_deref());
    // Authorized on the ARN as called, before saying whether it exists.
    let called_arn = match &qualifier {
        Some(q) if q != "$LATEST" => format!("{arn}:{q}"),
        _ => arn.clone(),
    };
    // The function policy of the version or alias called decides with the
    // caller's identity policies (both sides across accounts).
    authorize_on_function(
        cloud,
        &caller,
        &key,
        qualifier.as_deref(),
        "lambda:InvokeFunction",
        &called_arn,
        &[],
    )?;
    let target = target?;
    let invocation_type = request
        .header("x-amz-invocation-type")
        .unwrap_or("RequestResponse");
    let limit = match invocation_type {
        "RequestResponse" | "DryRun" => MAX_SYNC_PAYLOAD_BYTES,
        "Event" => MAX_ASYNC_PAYLOAD_BYTES,
        other => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueException,
                format!(
                    "Unsupported invocation type {other}: expected RequestResponse, Event or DryRun"
                ),
            ));
        }
    };
    if request.body.len() > limit {
        return Err(ApiError::new(
            ErrorCode::RequestTooLargeException,
            format!(
                "{} byte payload is too large for the {invocation_type} invocation type (limit {limit} bytes)",
                request.body.len()
            ),
        ));
    }
    let payload = if request.body.is_empty() {
        Bytes::from_static(b"{}")
    } else {
        request.body.clone()
    };
    if serde_json::from_slice::<serde::de::IgnoredAny>(&payload).is_err() {
        return Err(ApiError::new(
            ErrorCode::InvalidRequestContentException,
            "Could not parse request body into json: the payload is not valid JSON",
        ));
    }
    // Lambda hands the client context to synchronous invocations only.
    let client_context = request
        .header("x-amz-client-context")
        .map(|encoded| {
            base64::decode(encoded)
                .and_then(|json| String::from_utf8(json).ok())
                .filter(|json| {
                    serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(json).is_ok()
                })
                .ok_or_else(|| {
                    ApiError::new(
                        ErrorCode::InvalidRequestContentException,
                        "Client context must be a valid Base64-encoded JSON object.",
                    )
                })
        })
        .transpose()?;
    let executed_version = ("x-amz-executed-version", target.version.clone());
    match invocation_type {
        "DryRun" => {
            let mut reply = json_reply(204, "");
            reply.headers.push(executed_version);
            Ok(reply)
        }
        "Event" => {
            // Queued even for a function reserved at 0: `run_event` sends
            // such an event to the on-failure destination, unrun.
            let invoked = qualifier.unwrap_or_else(|| "$LATEST".to_owned());
            // The event's id, answered here, is the one every try runs
            // under and its invocation record names.
            let request_id = super::executor::uuid(cloud);
            // Queued before Invoke answers, so that a deletion right after
            // it drops the event.
            let ticket =
                super::event_config::EventQueue::enqueue(cloud, key.clone(), invoked.clone());
            tokio::spawn(super::event_config::run_event(
                Arc::clone(cloud),
                ticket,
                key,
                invoked,
                target,
                payload,
                request_id.clone(),
            ));
            let mut reply = json_reply(202, "");
            reply.headers.push(executed_version);
            reply.headers.push(("x-amzn-requestid", request_id));
            Ok(reply)
        }
        _ => {
            let slot = cloud
                .concurrency
                .try_start(&key)
                .map_err(Throttle::to_api_error)?;
            let result = match cloud
                .executor
                .invoke(cloud, &key, &target, payload, client_context)
                .await
            {
                Ok(result) => result,
                Err(super::executor::ExecutorError::Spawn { path, source }) => {
                    invalid_entrypoint(cloud, &path, &source)
                }
                Err(error) => {
                    return Err(ApiError::new(
                        ErrorCode::ServiceException,
                        error.to_string(),
                    ));
                }
            };
            drop(slot);
            let mut reply = json_reply(200, result.payload);
            reply.headers.push(executed_version);
            // The id the function saw is the one Invoke answers.
            reply.headers.push(("x-amzn-requestid", result.request_id));
            if let Some(kind) = result.function_error {
                reply
                    .headers
                    .push(("x-amz-function-error", kind.to_owned()));
            }
            if request.header("x-amz-log-type") == Some("Tail") {
                // The last 4096 bytes, as Lambda cuts them: possibly inside
                // a character, which base64 carries as it is.
                let text = result.log_tail.join("\n") + "\n";
                let bytes = text.as_bytes();
                let start = bytes.len().saturating_sub(LOG_TAIL_BYTES);
                let tail = bytes.get(start..).unwrap_or(bytes);
                reply
                    .headers
                    .push(("x-amz-log-result", base64::encode(tail)));
            }
            Ok(reply)
        }
    }
}

/// What Lambda answers when the zip has no runnable `bootstrap`.
fn invalid_entrypoint(cloud: &Cloud, path: &str, source: &std::io::Error) -> InvocationResult {
    let request_id = super::executor::uuid(cloud);
    let error = serde_json::json!({
        "errorType": "Runtime.InvalidEntrypoint",
        "errorMessage": format!("RequestId: {request_id} Error: Couldn't find valid bootstrap(s): [{path}]: {source}"),
    });
    InvocationResult {
        payload: Bytes::from(error.to_string()),
        function_error: Some("Unhandled"),
        request_id,
        log_tail: Vec::new(),
    }
}
