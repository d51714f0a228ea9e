//! The Lambda Runtime API (`/2018-06-01/runtime/...`) that one function
//! instance talks to: each instance gets its own loopback listener, so the
//! port alone says which instance is asking.
//!
//! - `GET invocation/next` long-polls until an invocation is queued and
//!   answers its payload with `Lambda-Runtime-Aws-Request-Id`,
//!   `-Deadline-Ms`, `-Invoked-Function-Arn`, `-Trace-Id` and, when the
//!   caller gave one, `-Client-Context`.
//! - `POST invocation/{id}/response` and `POST invocation/{id}/error`
//!   complete the invocation ([`RuntimeOutcome`]).
//! - `POST init/error` reports that the runtime could not start.
//!
//! A response or error body over [`MAX_RUNTIME_BODY_BYTES`] gets 413 and
//! fails the invocation with `Function.ResponseSizeTooLarge`, as on AWS.
//!
//! Unknown request ids and paths get the Runtime API's own error shape,
//! `{"errorMessage","errorType"}` with a 4xx status.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

use crate::state::lock;

/// The largest response or error body a function may post: Lambda's
/// 6 MB synchronous payload limit, which it counts as 6,291,556 bytes.
pub const MAX_RUNTIME_BODY_BYTES: usize = 6 * 1024 * 1024 + 100;

/// An invocation queued for an instance.
#[derive(Debug)]
pub struct QueuedInvocation {
    /// The request id (a UUID).
    pub request_id: String,
    /// The event, as JSON bytes.
    pub payload: Bytes,
    /// The function's timeout in ms: the deadline the runtime gets is
    /// counted from when it takes the invocation.
    pub timeout_millis: u64,
    /// The invoked function's ARN.
    pub function_arn: String,
    /// The X-Ray trace header.
    pub trace_id: String,
    /// The caller's client context (JSON), for `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// Where the outcome goes.
    pub outcome: oneshot::Sender<RuntimeOutcome>,
}

/// What the runtime reported for an invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeOutcome {
    /// `invocation/{id}/response`: the function's result.
    Response(Bytes),
    /// `invocation/{id}/error`: the error document the runtime posted.
    Error(Bytes),
}

/// The shared state of one instance's Runtime API.
#[derive(Debug)]
struct RuntimeApiState {
    queue: tokio::sync::Mutex<mpsc::Receiver<QueuedInvocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<RuntimeOutcome>>>,
    init_error: watch::Sender<Option<Bytes>>,
    first_poll: watch::Sender<Option<Instant>>,
}

/// A running Runtime API for one instance.
#[derive(Debug)]
pub struct RuntimeApi {
    /// `127.0.0.1:PORT`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub address: SocketAddr,
    /// Where invocations are queued.
    pub invocations: mpsc::Sender<QueuedInvocation>,
    /// The body of an `init/error` once one was posted.
    pub init_error: watch::Receiver<Option<Bytes>>,
    /// When the runtime first asked for an invocation: the end of its init.
    pub first_poll: watch::Receiver<Option<Instant>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Starts a Runtime API on a loopback port chosen by the system.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await?;
        let address = listener.local_addr()?;
        let (invocations, queue) = mpsc::channel(1);
        let (init_sender, init_error) = watch::channel(None);
        let (first_poll_sender, first_poll) = watch::channel(None);
        let state = Arc::new(RuntimeApiState {
            queue: tokio::sync::Mutex::new(queue),
            in_flight: Mutex::new(HashMap::new()),
            init_error: init_sender,
            first_poll: first_poll_sender,
        });
        let task = tokio::spawn(serve(listener, state));
        Ok(Self {
            address,
            invocations,
            init_error,
            first_poll,
            task,
        })
    }
}

async fn serve(listener: TcpListener, state: Arc<RuntimeApiState>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                connections.spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&state), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn reply(status: u16, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn runtime_error(status: u16, error_type: &str, message: &str) -> Response<Full<Bytes>> {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    reply(status, body.to_string())
}

async fn answer(
    state: Arc<RuntimeApiState>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let method = parts.method.as_str().to_owned();
    let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") else {
        return Ok(runtime_error(
            404,
            "NotFound",
            &format!("no route for {path}"),
        ));
    };
    let segments: Vec<&str> = rest.split('/').collect();
    if let (["invocation", "next"], "GET") = (segments.as_slice(), method.as_str()) {
        return Ok(next(&state).await);
    }
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = declared.is_some_and(|n| n > MAX_RUNTIME_BODY_BYTES as u64);
    let body = match (too_large, Limited::new(body, MAX_RUNTIME_BODY_BYTES)) {
        (false, limited) => limited.collect().await.ok().map(|c| c.to_bytes()),
        (true, _) => None,
    };
    let Some(body) = body else {
        // Lambda fails the invocation itself (Invoke answers
        // Function.ResponseSizeTooLarge) and tells the runtime 413.
        if let ["invocation", id, "response" | "error"] = segments.as_slice() {
            let size = declared.map_or_else(String::new, |n| format!(" ({n} bytes)"));
            let error = serde_json::json!({
                "errorMessage": format!(
                    "Response payload size{size} exceeded maximum allowed payload size ({MAX_RUNTIME_BODY_BYTES} bytes)."
                ),
                "errorType": "Function.ResponseSizeTooLarge",
            });
            let _ = complete(
                &state,
                id,
                RuntimeOutcome::Error(Bytes::from(error.to_string())),
            );
        }
        return Ok(runtime_error(
            413,
            "RequestEntityTooLarge",
            &format!("Exceeded maximum allowed payload size ({MAX_RUNTIME_BODY_BYTES} bytes)."),
        ));
    };
    let response = match (segments.as_slice(), method.as_str()) {
        (["invocation", id, "response"], "POST") => {
            complete(&state, id, RuntimeOutcome::Response(body))
        }
        (["invocation", id, "error"], "POST") => complete(&state, id, RuntimeOutcome::Error(body)),
        (["init", "error"], "POST") => {
            state.init_error.send_replace(Some(body));
            reply(202, r#"{"status":"OK"}"#)
        }
        _ => runtime_error(404, "NotFound", &format!("no route for {method} {path}")),
    };
    Ok(response)
}

async fn next(state: &RuntimeApiState) -> Response<Full<Bytes>> {
    state.first_poll.send_if_modified(|polled| {
        let first = polled.is_none();
        polled.get_or_insert_with(Instant::now);
        first
    });
    let invocation = {
        let mut queue = state.queue.lock().await;
        queue.recv().await
    };
    let Some(invocation) = invocation else {
        return runtime_error(500, "ServiceShutdown", "the instance is shutting down");
    };
    lock(&state.in_flight).insert(invocation.request_id.clone(), invocation.outcome);
    let mut response = reply(200, invocation.payload);
    let headers = response.headers_mut();
    let pairs = [
        ("lambda-runtime-aws-request-id", invocation.request_id),
        (
            "lambda-runtime-deadline-ms",
            crate::clock::wall_millis()
                .saturating_add(invocation.timeout_millis)
                .to_string(),
        ),
        (
            "lambda-runtime-invoked-function-arn",
            invocation.function_arn,
        ),
        ("lambda-runtime-trace-id", invocation.trace_id),
    ];
    let optional = invocation
        .client_context
        .map(|context| ("lambda-runtime-client-context", context));
    let pairs = pairs.into_iter().chain(optional);
    for (name, value) in pairs {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn complete(
    state: &RuntimeApiState,
    request_id: &str,
    outcome: RuntimeOutcome,
) -> Response<Full<Bytes>> {
    let waiting = lock(&state.in_flight).remove(request_id);
    match waiting {
        Some(sender) => {
            // The invoker may have given up (a timeout); the outcome is then
            // dropped, as Lambda drops a late response.
            let _ = sender.send(outcome);
            reply(202, r#"{"status":"OK"}"#)
        }
        None => runtime_error(
            400,
            "InvalidRequestID",
            &format!("invalid request id {request_id}: no invocation in flight has it"),
        ),
    }
}
