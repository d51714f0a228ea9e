//! The server: [`LocalCloudBuilder`] configures and starts it on a loopback
//! port (or a given address), [`RunningCloud`] is the handle: endpoint URL,
//! account credentials, the resource clock, and a clean stop.

use crate::error::StartError;
use crate::identity::ROOT_SECRET;
use crate::router;
use crate::state::{Cloud, ShardRollover};
use crate::wire::ReceivedRequest;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The accounts a cloud has unless told otherwise: A, B and C.
pub const DEFAULT_ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];
/// The port the binary listens on unless told otherwise.
pub const DEFAULT_PORT: u16 = 4577;
/// The largest request body accepted, except for Lambda code uploads.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Lambda's direct-upload limit: a request carrying a zip (50 MB, base64
/// in the JSON body) must be smaller than this many bytes, as AWS says.
pub const LAMBDA_CODE_UPLOAD_LIMIT_BYTES: usize = 69_905_067;

/// The Lambda operation a request uploads code with (CreateFunction or
/// UpdateFunctionCode), if it is one: these take bodies up to
/// [`LAMBDA_CODE_UPLOAD_LIMIT_BYTES`].
fn code_upload_operation(method: &hyper::Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix(crate::lambda::API_PREFIX)?;
    let rest = rest.strip_prefix("functions")?;
    if *method == hyper::Method::POST && (rest.is_empty() || rest == "/") {
        return Some("CreateFunction");
    }
    let name = rest.strip_prefix('/')?.strip_suffix("/code")?;
    (*method == hyper::Method::PUT && !name.is_empty() && !name.contains('/'))
        .then_some("UpdateFunctionCode")
}

/// Configures a local cloud. `LocalCloud::builder().start().await` gives a
/// cloud with the default accounts on an ephemeral loopback port.
#[derive(Debug, Clone)]
pub struct LocalCloudBuilder {
    accounts: Vec<String>,
    address: SocketAddr,
    rollover: ShardRollover,
    state_dir: Option<std::path::PathBuf>,
    poll_interval: Duration,
    wake_pollers_on_write: bool,
}

/// The entry point: see [`LocalCloud::builder`].
#[derive(Debug)]
pub struct LocalCloud;

impl LocalCloud {
    /// A builder with the default accounts, `127.0.0.1`, port 0 (ephemeral).
    pub fn builder() -> LocalCloudBuilder {
        LocalCloudBuilder {
            accounts: DEFAULT_ACCOUNTS.iter().map(|a| (*a).to_owned()).collect(),
            address: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            rollover: ShardRollover::default(),
            state_dir: None,
            poll_interval: crate::lambda::executor::DEFAULT_POLL_INTERVAL,
            wake_pollers_on_write: false,
        }
    }
}

impl LocalCloudBuilder {
    /// The accounts (12-digit ids).
    pub fn accounts<I, S>(mut self, accounts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accounts = accounts.into_iter().map(Into::into).collect();
        self
    }

    /// The address to listen on; loopback port 0 by default.
    pub fn address(mut self, address: SocketAddr) -> Self {
        self.address = address;
        self
    }

    /// Closes a stream shard and opens its child once it holds this many
    /// records (100,000 by default).
    pub fn shard_max_records(mut self, records: u64) -> Self {
        self.rollover.max_records = records.max(1);
        self
    }

    /// Closes a stream shard and opens its child once it is this old (four
    /// hours by default, as on AWS).
    pub fn shard_max_age(mut self, age: Duration) -> Self {
        self.rollover.max_age = age;
        self
    }

    /// The directory Lambda functions are unpacked under; by default a
    /// private directory in the system's temporary directory, removed when
    /// the cloud stops.
    pub fn state_dir(mut self, dir: impl Into<std::path::PathBuf>) -> Self {
        self.state_dir = Some(dir.into());
        self
    }

    /// How often event source mappings poll their stream (250 ms by
    /// default, Lambda's rate).
    pub fn event_source_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = interval;
        self
    }

    /// Wakes event source mapping pollers as soon as a stream record is
    /// written, instead of at their next poll (off by default, as on AWS).
    pub fn wake_pollers_on_write(mut self, wake: bool) -> Self {
        self.wake_pollers_on_write = wake;
        self
    }

    /// Starts listening and serving.
    pub async fn start(self) -> Result<RunningCloud, StartError> {
        if self.accounts.is_empty() {
            return Err(StartError::NoAccounts);
        }
        for account in &self.accounts {
            if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
                return Err(StartError::InvalidAccountId {
                    account: account.clone(),
                });
            }
        }
        let listener =
            TcpListener::bind(self.address)
                .await
                .map_err(|source| StartError::Bind {
                    address: self.address.to_string(),
                    source,
                })?;
        let address = listener.local_addr().map_err(|source| StartError::Bind {
            address: self.address.to_string(),
            source,
        })?;
        let cloud = Arc::new(Cloud::new(&self.accounts, self.rollover));
        cloud.executor.set_endpoint(format!("http://{address}"));
        if let Some(dir) = self.state_dir {
            cloud.executor.set_state_dir(dir);
        }
        cloud.executor.set_poll_interval(self.poll_interval);
        cloud.executor.set_wake_on_write(self.wake_pollers_on_write);
        let (stop_sender, stop_receiver) = watch::channel(false);
        let task = tokio::spawn(serve(listener, Arc::clone(&cloud), stop_receiver));
        Ok(RunningCloud {
            cloud,
            address,
            accounts: self.accounts,
            stop_sender,
            task: Some(task),
        })
    }
}

/// The credentials of an account's root user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCredentials {
    /// The access key id: the 12-digit account id.
    pub access_key_id: String,
    /// The secret access key: `streamgate-local`.
    pub secret_access_key: String,
}

/// A running local cloud. Dropping it stops the server too;
/// [`stop`](RunningCloud::stop) also waits until it has stopped.
#[derive(Debug)]
pub struct RunningCloud {
    cloud: Arc<Cloud>,
    address: SocketAddr,
    accounts: Vec<String>,
    stop_sender: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningCloud {
    /// `http://127.0.0.1:PORT`: the endpoint URL for every service.
    pub fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// The account ids.
    pub fn accounts(&self) -> &[String] {
        &self.accounts
    }

    /// The root credentials of `account`, if the cloud has it.
    pub fn credentials(&self, account: &str) -> Option<AccountCredentials> {
        self.accounts
            .iter()
            .any(|a| a == account)
            .then(|| AccountCredentials {
                access_key_id: account.to_owned(),
                secret_access_key: ROOT_SECRET.to_owned(),
            })
    }

    /// Moves the clock resources age by (stream retention, shard age,
    /// iterator and session expiry) forward. Signatures are still checked
    /// against the wall clock, so clients keep working.
    pub fn advance_clock(&self, by: Duration) {
        self.cloud.clock.advance(by);
    }

    /// The log lines (stdout, stderr and Lambda's START/END/REPORT lines)
    /// of a function, oldest first; empty for an unknown function. Over the
    /// wire: `GET /2015-03-31/functions/NAME/logs`, signed as for Lambda.
    pub fn function_logs(&self, account: &str, region: &str, function_name: &str) -> Vec<String> {
        self.cloud
            .executor
            .logs(&crate::lambda::functions::FunctionKey {
                account: account.to_owned(),
                region: region.to_owned(),
                name: function_name.to_owned(),
            })
    }

    /// How many asynchronous (`Event`) invocations of a function are
    /// queued or running (0 for an unknown function). Deleting the
    /// function, or the version or alias an event was invoked with, drops
    /// its events: they leave the queue without running again.
    pub fn queued_events(&self, account: &str, region: &str, function_name: &str) -> usize {
        self.cloud
            .event_queue
            .count(&crate::lambda::functions::FunctionKey {
                account: account.to_owned(),
                region: region.to_owned(),
                name: function_name.to_owned(),
            })
    }

    /// Stops accepting connections, ends the open ones and waits until the
    /// server has stopped.
    pub async fn stop(mut self) {
        let _ = self.stop_sender.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningCloud {
    fn drop(&mut self) {
        let _ = self.stop_sender.send(true);
    }
}

async fn serve(listener: TcpListener, cloud: Arc<Cloud>, mut stop: watch::Receiver<bool>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let cloud = Arc::clone(&cloud);
                let mut stop = stop.clone();
                connections.spawn(async move {
                    let service = service_fn(move |request| answer(Arc::clone(&cloud), request));
                    let connection = http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    let mut connection = std::pin::pin!(connection);
                    tokio::select! {
                        _ = connection.as_mut() => {}
                        _ = stop.changed() => {
                            connection.as_mut().graceful_shutdown();
                            let _ = tokio::time::timeout(Duration::from_secs(5), connection).await;
                        }
                    }
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    while connections.join_next().await.is_some() {}
}

async fn answer(
    cloud: Arc<Cloud>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = request.into_parts();
    let request_id = format!(
        "{:032X}",
        u128::from(cloud.next_number()) << 64 | u128::from(crate::clock::wall_millis())
    );
    let upload = code_upload_operation(&parts.method, parts.uri.path());
    let limit = match upload {
        // "Smaller than" the limit: the limit itself is refused.
        Some(_) => LAMBDA_CODE_UPLOAD_LIMIT_BYTES - 1,
        None => MAX_BODY_BYTES,
    };
    let body = match read_body(body, limit).await {
        Ok(body) => body,
        Err(refused) => {
            let reply = match (refused, upload) {
                (BodyRefused::TooLarge, Some(operation)) => crate::wire::Reply::error(
                    crate::wire::Protocol::RestJson,
                    &crate::error::ApiError::new(
                        crate::error::ErrorCode::RequestEntityTooLargeException,
                        format!(
                            "Request must be smaller than {LAMBDA_CODE_UPLOAD_LIMIT_BYTES} bytes for the {operation} operation"
                        ),
                    ),
                    &request_id,
                ),
                _ => crate::wire::Reply::error(
                    crate::wire::Protocol::Json,
                    &crate::error::ApiError::validation(format!(
                        "the request body could not be read or exceeds {MAX_BODY_BYTES} bytes"
                    )),
                    &request_id,
                ),
            };
            return Ok(to_response(reply, &request_id));
        }
    };
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let received = ReceivedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        body,
    };
    // A function URL's request is told by its host, whatever its path.
    if let Some(response) = crate::lambda::url_invoke::answer(&cloud, &received, &request_id).await
    {
        return Ok(response);
    }
    // Invoke waits for a function process, so it is answered here, off the
    // synchronous router.
    let reply = match crate::lambda::invoke::answer(&cloud, &received, &request_id).await {
        Some(reply) => reply,
        None => router::respond(&cloud, &received, &request_id),
    };
    Ok(to_response(reply, &request_id))
}

/// Why a request body was not taken.
enum BodyRefused {
    /// It is over its limit.
    TooLarge,
    /// The connection failed while it was read.
    Unreadable,
}

/// Reads a request body of at most `limit` bytes. A longer one is read to
/// its end (up to four times the limit) and dropped, so that the client,
/// still sending, gets the error answer rather than a reset connection.
async fn read_body(mut body: Incoming, limit: usize) -> Result<Bytes, BodyRefused> {
    let mut collected = Vec::new();
    let mut seen = 0_usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(BodyRefused::Unreadable);
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen <= limit {
            collected.extend_from_slice(&data);
        } else if seen > limit.saturating_mul(4) {
            break;
        }
    }
    if seen > limit {
        return Err(BodyRefused::TooLarge);
    }
    Ok(Bytes::from(collected))
}

fn to_response(reply: crate::wire::Reply, request_id: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(reply.content_type),
    );
    if let Ok(value) = hyper::header::HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", value);
    }
    for (name, value) in reply.headers {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::code_upload_operation;
    use hyper::Method;

    #[test]
    fn only_lambda_code_uploads_get_the_large_limit() {
        let cases = [
            (
                Method::POST,
                "/2015-03-31/functions",
                Some("CreateFunction"),
            ),
            (
                Method::POST,
                "/2015-03-31/functions/",
                Some("CreateFunction"),
            ),
            (
                Method::PUT,
                "/2015-03-31/functions/billing/code",
                Some("UpdateFunctionCode"),
            ),
            (Method::GET, "/2015-03-31/functions", None),
            (
                Method::PUT,
                "/2015-03-31/functions/billing/configuration",
                None,
            ),
            (Method::PUT, "/2015-03-31/functions//code", None),
            (
                Method::POST,
                "/2015-03-31/functions/billing/invocations",
                None,
            ),
            (Method::POST, "/2015-03-31/event-source-mappings/", None),
            (Method::POST, "/", None),
        ];
        for (method, path, expected) in cases {
            assert_eq!(
                code_upload_operation(&method, path),
                expected,
                "{method} {path}"
            );
        }
    }
}
