//! Running functions: [`Executor`] unpacks a function's zip into a private
//! directory under the state directory, starts its `bootstrap` as a child
//! process with the Lambda environment (the Runtime API address, the
//! function's settings and variables, temporary credentials of the execution
//! role, `AWS_ENDPOINT_URL` pointing at this cloud), and hands it
//! invocations through the instance's [`RuntimeApi`].
//!
//! Instances are reused: a finished invocation puts its instance back in
//! the function's idle pool, and the next invocation of the same version
//! takes it (a function updated since then gets fresh instances). An
//! instance runs one version (`AWS_LAMBDA_FUNCTION_VERSION`), and each
//! invocation gives the runtime the ARN as invoked (`NAME`, `NAME:3`,
//! `NAME:ALIAS`). A crash (the process exits) or
//! a timeout ends the instance and is reported as AWS reports it:
//! `Runtime.ExitError` and `Sandbox.Timedout`, with `X-Amz-Function-Error:
//! Unhandled`. Each function's stdout and stderr, with the START/END/REPORT
//! lines Lambda writes, are kept in a bounded log ([`Executor::logs`]).

use super::functions::{Function, FunctionKey};
use super::runtime_api::{QueuedInvocation, RuntimeApi, RuntimeOutcome};
use super::versions::QualifiedFunction;
use crate::clock;
use crate::state::{Cloud, lock};
use bytes::Bytes;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{oneshot, watch};

/// How many log lines a function keeps (the oldest go first).
pub const LOG_LINES_KEPT: usize = 10_000;

/// How long the execution role's credentials given to an instance last.
const INSTANCE_CREDENTIAL_SECONDS: u32 = 12 * 3600;

/// Why a function could not be run at all (before it got the event).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExecutorError {
    /// The zip could not be unpacked.
    #[error("cannot unpack the code of {function}: {reason}")]
    Unpack {
        /// The function ARN.
        function: String,
        /// What went wrong.
        reason: String,
    },
    /// The process could not be started.
    #[error("cannot start {path}: {source}")]
    Spawn {
        /// The bootstrap's path.
        path: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The Runtime API could not listen.
    #[error("cannot start the runtime api: {0}")]
    RuntimeApi(#[source] std::io::Error),
    /// The execution role could not be assumed.
    #[error("cannot assume the execution role {role}: {reason}")]
    Credentials {
        /// The role ARN.
        role: String,
        /// Why.
        reason: String,
    },
}

/// How an invocation ended, as Invoke reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationResult {
    /// The payload: the function's response, or the error document.
    pub payload: Bytes,
    /// `Some("Unhandled")` when the function failed.
    pub function_error: Option<&'static str>,
    /// The request id.
    pub request_id: String,
    /// The log lines of this invocation (for `LogType: Tail`).
    pub log_tail: Vec<String>,
}

/// One running process of a function.
#[derive(Debug)]
struct Instance {
    revision_id: String,
    /// `$LATEST` or the version number the instance runs.
    version: String,
    /// When the process was started.
    spawned: Instant,
    /// Whether an invocation ran on it (then its init was reported).
    warm: bool,
    runtime_api: RuntimeApi,
    child: Child,
    exited: watch::Receiver<bool>,
}

/// The log of one function.
#[derive(Debug, Default)]
struct FunctionLog {
    lines: VecDeque<String>,
    total: u64,
}

/// Runs functions; one per cloud.
#[derive(Debug)]
pub struct Executor {
    endpoint: OnceLock<String>,
    state_dir: OnceLock<PathBuf>,
    idle: Mutex<HashMap<FunctionKey, Vec<Instance>>>,
    logs: Arc<Mutex<HashMap<FunctionKey, FunctionLog>>>,
    created_dir: Mutex<Option<PathBuf>>,
    poll_interval: OnceLock<Duration>,
    wake_on_write: OnceLock<bool>,
    writes: std::sync::atomic::AtomicU64,
    written: tokio::sync::Notify,
}

/// How often event source mappings poll unless told otherwise (Lambda's
/// rate, about four times a second).
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(250);

impl Default for Executor {
    fn default() -> Self {
        Self {
            endpoint: OnceLock::new(),
            state_dir: OnceLock::new(),
            idle: Mutex::new(HashMap::new()),
            logs: Arc::new(Mutex::new(HashMap::new())),
            created_dir: Mutex::new(None),
            poll_interval: OnceLock::new(),
            wake_on_write: OnceLock::new(),
            writes: std::sync::atomic::AtomicU64::new(0),
            written: tokio::sync::Notify::new(),
        }
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        // Children are killed on drop (kill_on_drop); the private directory
        // this executor created goes with them.
        lock(&self.idle).clear();
        if let Some(dir) = lock(&self.created_dir).take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn push_log(logs: &Mutex<HashMap<FunctionKey, FunctionLog>>, key: &FunctionKey, line: String) {
    let mut logs = lock(logs);
    let log = logs.entry(key.clone()).or_default();
    if log.lines.len() >= LOG_LINES_KEPT {
        log.lines.pop_front();
    }
    log.lines.push_back(line);
    log.total += 1;
}

impl Executor {
    /// The endpoint URL of this cloud, once the server has set it.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.get().map(String::as_str)
    }

    /// Sets the endpoint URL functions get as `AWS_ENDPOINT_URL` (once).
    pub fn set_endpoint(&self, url: String) {
        let _ = self.endpoint.set(url);
    }

    /// Sets the directory functions are unpacked under (once; by default a
    /// private directory in the system's temporary directory, removed when
    /// the cloud stops).
    pub fn set_state_dir(&self, dir: PathBuf) {
        let _ = self.state_dir.set(dir);
    }

    fn state_dir(&self) -> PathBuf {
        self.state_dir
            .get_or_init(|| {
                let dir = std::env::temp_dir().join(format!(
                    "streamgate-local-{}-{}",
                    std::process::id(),
                    clock::wall_millis()
                ));
                *lock(&self.created_dir) = Some(dir.clone());
                dir
            })
            .clone()
    }

    /// Sets how often event source mappings poll (once).
    pub fn set_poll_interval(&self, interval: Duration) {
        let _ = self.poll_interval.set(interval);
    }

    /// Makes pollers wake as soon as a stream record is written (once).
    pub fn set_wake_on_write(&self, wake: bool) {
        let _ = self.wake_on_write.set(wake);
    }

    /// Tells waiting pollers that a stream record was written.
    pub fn record_written(&self) {
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.written.notify_waiters();
    }

    /// How many stream records were written so far (a generation count
    /// for [`Executor::wait_to_poll`]).
    pub fn writes_seen(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits for the poll interval, or, with wake-on-write, until a record
    /// is written after generation `seen`, whichever comes first.
    pub async fn wait_to_poll(&self, seen: u64) {
        let interval = self
            .poll_interval
            .get()
            .copied()
            .unwrap_or(DEFAULT_POLL_INTERVAL);
        if !self.wake_on_write.get().copied().unwrap_or(false) {
            tokio::time::sleep(interval).await;
            return;
        }
        // Registered before the check, so a write between the check and the
        // wait still wakes this poller.
        let notified = self.written.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.writes_seen() != seen {
            return;
        }
        tokio::select! {
            () = notified => {}
            () = tokio::time::sleep(interval) => {}
        }
    }

    /// The function's log lines, oldest first (at most [`LOG_LINES_KEPT`]).
    pub fn logs(&self, key: &FunctionKey) -> Vec<String> {
        lock(&self.logs)
            .get(key)
            .map(|log| log.lines.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Adds a line of Lambda's own to the function's log (what happened to
    /// an asynchronous invocation's record, say).
    pub fn note(&self, key: &FunctionKey, line: String) {
        push_log(&self.logs, key, line);
    }

    /// Ends every instance of a function (deleted or updated).
    pub fn retire(&self, key: &FunctionKey) {
        lock(&self.idle).remove(key);
    }

    /// Runs one invocation of `target` (`$LATEST`, a version, or either by
    /// an alias) with `payload`, on an idle instance of that version or a
    /// new one; the runtime sees the ARN as invoked and `client_context`
    /// (the decoded JSON of Invoke's `X-Amz-Client-Context`), under a new
    /// request id.
    pub async fn invoke(
        &self,
        cloud: &Cloud,
        key: &FunctionKey,
        target: &QualifiedFunction,
        payload: Bytes,
        client_context: Option<String>,
    ) -> Result<InvocationResult, ExecutorError> {
        self.invoke_as(cloud, key, target, payload, client_context, uuid(cloud))
            .await
    }

    /// [`Executor::invoke`] under the request id `request_id`: every try of
    /// one asynchronous invocation runs under the id its Invoke answered.
    pub async fn invoke_as(
        &self,
        cloud: &Cloud,
        key: &FunctionKey,
        target: &QualifiedFunction,
        payload: Bytes,
        client_context: Option<String>,
        request_id: String,
    ) -> Result<InvocationResult, ExecutorError> {
        let function = &target.function;
        let version = target.version.as_str();
        let reused = {
            let mut idle = lock(&self.idle);
            let pool = idle.entry(key.clone()).or_default();
            // Instances of this version from before an update, and those
            // whose process ended, go; other versions' instances stay.
            pool.retain(|i| {
                !*i.exited.borrow()
                    && (i.version != version || i.revision_id == function.revision_id)
            });
            let position = pool
                .iter()
                .rposition(|i| i.version == version && i.revision_id == function.revision_id);
            position.map(|at| pool.swap_remove(at))
        };
        let mut instance = match reused {
            Some(instance) => instance,
            None => self.start_instance(cloud, key, function, version).await?,
        };
        let started = Instant::now();
        let log_mark = lock(&self.logs).get(key).map_or(0, |l| l.total);
        push_log(
            &self.logs,
            key,
            format!("START RequestId: {request_id} Version: {version}"),
        );
        let timeout = Duration::from_secs(u64::from(function.timeout_seconds));
        let (sender, receiver) = oneshot::channel();
        let queued = QueuedInvocation {
            request_id: request_id.clone(),
            payload,
            timeout_millis: u64::from(function.timeout_seconds).saturating_mul(1000),
            function_arn: target.arn.clone(),
            trace_id: format!(
                "Root=1-{:08x}-{};Parent={};Sampled=0",
                clock::wall_millis() / 1000,
                cloud.unique_token("", 24, b"0123456789abcdef"),
                cloud.unique_token("", 16, b"0123456789abcdef")
            ),
            client_context,
            outcome: sender,
        };
        let sent = instance.runtime_api.invocations.send(queued).await.is_ok();
        let mut exited = instance.exited.clone();
        let mut init_error = instance.runtime_api.init_error.clone();
        let outcome = if sent {
            tokio::select! {
                // An outcome the runtime posted wins over the process
                // exiting right after it.
                biased;
                outcome = receiver => outcome.ok().map(Ended::Runtime).unwrap_or(Ended::Exited),
                _ = exited.wait_for(|e| *e) => Ended::Exited,
                Ok(body) = init_error.wait_for(Option::is_some) => {
                    Ended::InitError(body.clone().unwrap_or_default())
                }
                () = invoke_timer(instance.runtime_api.first_poll.clone(), timeout) => {
                    Ended::TimedOut
                }
            }
        } else {
            Ended::Exited
        };
        let status = match &outcome {
            Ended::Exited => "\tStatus: error\tError Type: Runtime.ExitError",
            Ended::TimedOut => "\tStatus: timeout",
            Ended::Runtime(_) | Ended::InitError(_) => "",
        };
        let (payload, function_error, keep) = match outcome {
            Ended::Runtime(RuntimeOutcome::Response(body)) => (body, None, true),
            Ended::Runtime(RuntimeOutcome::Error(body)) => (body, Some("Unhandled"), true),
            Ended::InitError(body) => (body, Some("Unhandled"), false),
            Ended::Exited => {
                let status = instance
                    .child
                    .try_wait()
                    .ok()
                    .flatten()
                    .map_or_else(|| "signal: killed".to_owned(), |s| s.to_string());
                let error = serde_json::json!({
                    "errorType": "Runtime.ExitError",
                    "errorMessage": format!("RequestId: {request_id} Error: Runtime exited with error: {status}"),
                });
                (Bytes::from(error.to_string()), Some("Unhandled"), false)
            }
            Ended::TimedOut => {
                let error = serde_json::json!({
                    "errorType": "Sandbox.Timedout",
                    "errorMessage": format!(
                        "RequestId: {request_id} Error: Task timed out after {}.00 seconds",
                        function.timeout_seconds
                    ),
                });
                (Bytes::from(error.to_string()), Some("Unhandled"), false)
            }
        };
        // The invocation runs from when the runtime took it; a cold
        // instance's init (start to its first `next`) is reported apart and
        // billed with it, as Lambda bills it.
        let first_poll = *instance.runtime_api.first_poll.borrow();
        let ran_from = first_poll.map_or(started, |polled| polled.max(started));
        let elapsed = ran_from.elapsed().as_secs_f64() * 1000.0;
        let init = (!instance.warm).then(|| {
            first_poll
                .unwrap_or_else(Instant::now)
                .saturating_duration_since(instance.spawned)
                .as_secs_f64()
                * 1000.0
        });
        instance.warm = true;
        let billed = (elapsed + init.unwrap_or(0.0)).ceil() as u64;
        let max_memory = instance
            .child
            .id()
            .and_then(peak_memory_mb)
            .map_or_else(String::new, |mb| format!("\tMax Memory Used: {mb} MB"));
        let init_text = init.map_or_else(String::new, |ms| format!("\tInit Duration: {ms:.2} ms"));
        push_log(&self.logs, key, format!("END RequestId: {request_id}"));
        push_log(
            &self.logs,
            key,
            format!(
                "REPORT RequestId: {request_id}\tDuration: {elapsed:.2} ms\tBilled Duration: {billed} ms\tMemory Size: {} MB{max_memory}{init_text}{status}",
                function.memory_mb
            ),
        );
        if keep {
            lock(&self.idle)
                .entry(key.clone())
                .or_default()
                .push(instance);
        } else {
            let _ = instance.child.start_kill();
        }
        let log_tail = {
            let logs = lock(&self.logs);
            logs.get(key).map_or_else(Vec::new, |log| {
                let new = usize::try_from(log.total.saturating_sub(log_mark)).unwrap_or(0);
                let skip = log.lines.len().saturating_sub(new);
                log.lines.iter().skip(skip).cloned().collect()
            })
        };
        Ok(InvocationResult {
            payload,
            function_error,
            request_id,
            log_tail,
        })
    }

    async fn start_instance(
        &self,
        cloud: &Cloud,
        key: &FunctionKey,
        function: &Function,
        version: &str,
    ) -> Result<Instance, ExecutorError> {
        let task_root = self
            .state_dir()
            .join(&key.account)
            .join(&key.region)
            .join(&key.name)
            .join(&function.revision_id);
        let zip = function.zip.clone();
        let root = task_root.clone();
        tokio::task::spawn_blocking(move || unpack(&zip, &root))
            .await
            .map_err(|error| error.to_string())
            .and_then(|r| r)
            .map_err(|reason| ExecutorError::Unpack {
                function: function.arn.clone(),
                reason,
            })?;
        let role_name = function
            .role
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        let (access_key_id, session) = crate::sts::issue_service_session(
            cloud,
            &key.account,
            &role_name,
            &key.name,
            INSTANCE_CREDENTIAL_SECONDS,
        )
        .map_err(|error| ExecutorError::Credentials {
            role: function.role.clone(),
            reason: error.message,
        })?;
        let runtime_api = RuntimeApi::start()
            .await
            .map_err(ExecutorError::RuntimeApi)?;
        let bootstrap = task_root.join("bootstrap");
        let mut command = Command::new(&bootstrap);
        command
            .env_clear()
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let task_root_text = task_root.to_string_lossy().into_owned();
        // Lambda's defaults for the variables a function may replace.
        let unreserved = [
            ("PATH", "/usr/local/bin:/usr/bin:/bin".to_owned()),
            ("LANG", "en_US.UTF-8".to_owned()),
            ("TZ", ":UTC".to_owned()),
            (
                "LD_LIBRARY_PATH",
                format!("/lib64:/usr/lib64:{task_root_text}:{task_root_text}/lib:/opt/lib"),
            ),
        ];
        for (name, value) in unreserved {
            command.env(name, value);
        }
        for (name, value) in &function.environment {
            command.env(name, value);
        }
        let memory = function.memory_mb.to_string();
        let wall_millis = clock::wall_millis();
        let log_stream = format!(
            "{}/[{version}]{}",
            clock::iso8601(wall_millis)
                .get(..10)
                .unwrap_or_default()
                .replace('-', "/"),
            cloud.unique_token("", 32, b"0123456789abcdef")
        );
        let reserved: &[(&str, &str)] = &[
            ("AWS_LAMBDA_RUNTIME_API", &runtime_api.address.to_string()),
            ("AWS_LAMBDA_FUNCTION_NAME", &key.name),
            ("AWS_LAMBDA_FUNCTION_VERSION", version),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", &memory),
            (
                "AWS_LAMBDA_LOG_GROUP_NAME",
                &format!("/aws/lambda/{}", key.name),
            ),
            ("AWS_LAMBDA_LOG_STREAM_NAME", &log_stream),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_REGION", &key.region),
            ("AWS_DEFAULT_REGION", &key.region),
            (
                "AWS_EXECUTION_ENV",
                &format!("AWS_Lambda_{}", function.runtime),
            ),
            ("_HANDLER", &function.handler),
            ("LAMBDA_TASK_ROOT", &task_root_text),
            ("LAMBDA_RUNTIME_DIR", &task_root_text),
            ("AWS_ACCESS_KEY_ID", &access_key_id),
            ("AWS_SECRET_ACCESS_KEY", &session.secret_access_key),
            ("AWS_SESSION_TOKEN", &session.session_token),
        ];
        for &(name, value) in reserved {
            command.env(name, value);
        }
        if let Some(endpoint) = self.endpoint.get() {
            command.env("AWS_ENDPOINT_URL", endpoint);
        }
        let spawned = Instant::now();
        let mut child = command.spawn().map_err(|source| ExecutorError::Spawn {
            path: bootstrap.to_string_lossy().into_owned(),
            source,
        })?;
        let (exit_sender, exited) = watch::channel(false);
        let exit_sender = Arc::new(exit_sender);
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(tokio::spawn(forward_lines(
                BufReader::new(stdout),
                Arc::clone(&self.logs),
                key.clone(),
            )));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(tokio::spawn(forward_lines(
                BufReader::new(stderr),
                Arc::clone(&self.logs),
                key.clone(),
            )));
        }
        // Both pipes close when the process exits (or hands them on), which
        // is how the instance learns it is gone without owning the child.
        tokio::spawn(async move {
            for reader in readers {
                let _ = reader.await;
            }
            exit_sender.send_replace(true);
        });
        Ok(Instance {
            revision_id: function.revision_id.clone(),
            version: version.to_owned(),
            spawned,
            warm: false,
            runtime_api,
            child,
            exited,
        })
    }
}

/// How long a new instance may take to start before the invocation's
/// timeout starts running anyway (Lambda's init limit).
const INIT_LIMIT: Duration = Duration::from_secs(10);

/// Ends after `timeout` counted from when the runtime first asked for an
/// invocation (its init done), or from [`INIT_LIMIT`] after the start if
/// it never asked: as on Lambda, init does not count against the timeout.
async fn invoke_timer(mut first_poll: watch::Receiver<Option<Instant>>, timeout: Duration) {
    let _ = tokio::time::timeout(INIT_LIMIT, first_poll.wait_for(Option::is_some)).await;
    tokio::time::sleep(timeout).await;
}

enum Ended {
    Runtime(RuntimeOutcome),
    InitError(Bytes),
    Exited,
    TimedOut,
}

async fn forward_lines<R: tokio::io::AsyncBufRead + Unpin>(
    reader: R,
    logs: Arc<Mutex<HashMap<FunctionKey, FunctionLog>>>,
    key: FunctionKey,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        push_log(&logs, &key, line);
    }
}

/// Unpacks `zip` into `root` (created private), unless already there.
fn unpack(zip: &[u8], root: &Path) -> Result<(), String> {
    if root.join(".unpacked").exists() {
        return Ok(());
    }
    create_private_dir(root).map_err(|e| format!("cannot create {}: {e}", root.display()))?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).map_err(|e| e.to_string())?;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(|e| e.to_string())?;
        let Some(relative) = entry.enclosed_name() else {
            return Err(format!("entry {:?} leaves the task root", entry.name()));
        };
        let target = root.join(relative);
        if entry.is_dir() {
            std::fs::create_dir_all(&target).map_err(|e| e.to_string())?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        let mut file = std::fs::File::create(&target).map_err(|e| e.to_string())?;
        std::io::copy(&mut entry, &mut file).map_err(|e| e.to_string())?;
        set_mode(&target, entry.unix_mode()).map_err(|e| e.to_string())?;
    }
    std::fs::write(root.join(".unpacked"), b"").map_err(|e| e.to_string())
}

#[cfg(unix)]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
}

#[cfg(not(unix))]
fn create_private_dir(path: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: Option<u32>) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    match mode {
        Some(mode) => std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o777)),
        None => Ok(()),
    }
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: Option<u32>) -> std::io::Result<()> {
    Ok(())
}

/// The peak resident memory of process `pid` in MB, rounded up (`VmHWM`
/// of `/proc/PID/status`; `None` where there is no such file or the
/// process is gone).
fn peak_memory_mb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kilobytes: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .trim()
        .strip_suffix("kB")?
        .trim()
        .parse()
        .ok()?;
    Some(kilobytes.div_ceil(1024))
}

/// A version 4 UUID in text form, as Lambda's request ids are.
pub fn uuid(cloud: &Cloud) -> String {
    let hex = cloud.unique_token("", 32, b"0123456789abcdef");
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    format!(
        "{}-{}-4{}-a{}-{}",
        part(0..8),
        part(8..12),
        part(13..16),
        part(17..20),
        part(20..32)
    )
}
