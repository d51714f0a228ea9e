//! `cargo xtask local start|stop|status`: the local cloud as a background
//! process, its pid and endpoint in `target/streamgate/local.json` and its
//! output in `target/streamgate/local.log`.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::{cargo, project_root};

/// How long `start` waits for the `ready` line and `stop` for the port to
/// close.
const WAIT: Duration = Duration::from_secs(20);
/// How often those waits look again.
const POLL: Duration = Duration::from_millis(50);
/// How long one probe of the endpoint waits to connect, send and hear back.
const PROBE: Duration = Duration::from_secs(1);

/// Arguments of `cargo xtask local`.
#[derive(clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    action: Action,
    /// Print one JSON object instead of progress lines
    #[arg(long, global = true)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the local cloud in the background unless it is running
    Start,
    /// Stop the background local cloud
    Stop,
    /// Say whether the local cloud is running, and where
    Status,
}

/// The running cloud, as recorded by `start`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Running {
    /// The process id.
    pub(crate) pid: u32,
    /// The endpoint, `http://127.0.0.1:PORT`.
    pub(crate) endpoint: String,
}

fn state_dir() -> PathBuf {
    project_root().join("target/streamgate")
}

fn state_file() -> PathBuf {
    state_dir().join("local.json")
}

fn log_file() -> PathBuf {
    state_dir().join("local.log")
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let (state, running) = match args.action {
        Action::Start => ("running", Some(start(!args.json)?)),
        Action::Stop => match stop(!args.json)? {
            Stopped::Stopped => ("stopped", None),
            Stopped::NotRunning => ("not running", None),
        },
        Action::Status => match status()? {
            Some(running) => ("running", Some(running)),
            None => ("not running", None),
        },
    };
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "state": state,
                "pid": running.as_ref().map(|r| r.pid),
                "endpoint": running.as_ref().map(|r| r.endpoint.clone()),
                "log": log_file().display().to_string(),
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        match running {
            Some(r) => println!(
                "local cloud {state} at {} (pid {}, log {}) in {:.1?}",
                r.endpoint,
                r.pid,
                log_file().display(),
                started.elapsed()
            ),
            None => println!("local cloud {state} in {:.1?}", started.elapsed()),
        }
    }
    Ok(())
}

/// The recorded cloud when it answers on its port; `None` otherwise.
pub(crate) fn status() -> Result<Option<Running>> {
    let Some(running) = read_state()? else {
        return Ok(None);
    };
    Ok(answers(&running.endpoint).then_some(running))
}

/// Starts the cloud unless it is running; returns where it listens.
pub(crate) fn start(progress: bool) -> Result<Running> {
    if let Some(running) = status()? {
        return Ok(running);
    }
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let cargo = cargo();
    let step = Instant::now();
    if progress {
        println!("building streamgate-local");
    }
    cmd!(
        sh,
        "{cargo} build --quiet --package streamgate-local --bin streamgate-local"
    )
    .run()?;
    let binary = crate::target_directory(&sh, &cargo)?
        .join("debug")
        .join("streamgate-local");
    if progress {
        println!("  built in {:.1?}", step.elapsed());
    }
    std::fs::create_dir_all(state_dir())
        .with_context(|| format!("creating {}", state_dir().display()))?;
    let log =
        File::create(log_file()).with_context(|| format!("creating {}", log_file().display()))?;
    let step = Instant::now();
    // Not waited for: the cloud outlives this task until `local stop`.
    let mut child = Command::new(&binary)
        // Woken on each write, the demo's totals follow in milliseconds.
        .args(["--port", "0", "--wake-pollers-on-write"])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let endpoint = wait_ready(&mut child, &log_file(), WAIT)?;
    let running = Running {
        pid: child.id(),
        endpoint,
    };
    let json = serde_json::json!({"pid": running.pid, "endpoint": running.endpoint});
    std::fs::write(state_file(), json.to_string())
        .with_context(|| format!("writing {}", state_file().display()))?;
    if progress {
        println!("  started in {:.1?}", step.elapsed());
    }
    Ok(running)
}

/// Waits until `child` prints its `ready URL` line into `log` and returns
/// the URL. A child that exits first is reported at once with its status,
/// and one still silent after `wait` is killed, so a failed start leaves no
/// process behind that nothing records.
fn wait_ready(child: &mut Child, log: &Path, wait: Duration) -> Result<String> {
    let deadline = Instant::now() + wait;
    loop {
        let output = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(endpoint) = ready_endpoint(&output) {
            return Ok(endpoint);
        }
        if let Some(status) = child.try_wait().context("checking on the local cloud")? {
            bail!(
                "the local cloud exited ({status}) before it was ready; see {}",
                log.display()
            );
        }
        if Instant::now() > deadline {
            // Already exited if these fail; nothing else to do about it.
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "the local cloud did not print its ready line within {wait:?}, so it was stopped; see {}",
                log.display()
            );
        }
        std::thread::sleep(POLL);
    }
}

/// What `stop` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stopped {
    /// A running cloud was stopped.
    Stopped,
    /// No cloud was running (a stale record is removed).
    NotRunning,
}

/// Stops the recorded cloud, if any, and waits until its port closes.
pub(crate) fn stop(progress: bool) -> Result<Stopped> {
    stop_recorded(&state_file(), progress)
}

fn stop_recorded(state_file: &Path, progress: bool) -> Result<Stopped> {
    let Some(running) = read_state_at(state_file)? else {
        return Ok(Stopped::NotRunning);
    };
    let stopped = if answers(&running.endpoint) {
        let sh = Shell::new()?;
        let pid = running.pid.to_string();
        cmd!(sh, "kill -TERM {pid}").quiet().run()?;
        let deadline = Instant::now() + WAIT;
        while answers(&running.endpoint) {
            if Instant::now() > deadline {
                bail!(
                    "the local cloud (pid {pid}) still answers at {} after {WAIT:?}",
                    running.endpoint
                );
            }
            std::thread::sleep(POLL);
        }
        if progress {
            println!("stopped pid {pid}");
        }
        Stopped::Stopped
    } else {
        Stopped::NotRunning
    };
    std::fs::remove_file(state_file)
        .with_context(|| format!("removing {}", state_file.display()))?;
    Ok(stopped)
}

fn read_state() -> Result<Option<Running>> {
    read_state_at(&state_file())
}

fn read_state_at(path: &Path) -> Result<Option<Running>> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Ok(None);
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let pid = value.get("pid").and_then(serde_json::Value::as_u64);
    let endpoint = value.get("endpoint").and_then(serde_json::Value::as_str);
    match (pid.and_then(|p| u32::try_from(p).ok()), endpoint) {
        (Some(pid), Some(endpoint)) => Ok(Some(Running {
            pid,
            endpoint: endpoint.to_owned(),
        })),
        _ => bail!("{} has no pid and endpoint", path.display()),
    }
}

/// The endpoint of the first `ready URL` line, once printed.
fn ready_endpoint(output: &str) -> Option<String> {
    output
        .lines()
        .find_map(|line| line.strip_prefix("ready "))
        .map(|url| url.trim().to_owned())
}

/// Whether an HTTP server answers at `endpoint`'s host and port.
///
/// A bare TCP connect is not enough: a connection to a closed loopback port
/// can connect to itself (the kernel may pick the target port as the source
/// port), and another program may have taken the port since the cloud
/// stopped. So this sends a request and wants an HTTP status line back.
fn answers(endpoint: &str) -> bool {
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let addresses: Vec<SocketAddr> = match address.to_socket_addrs() {
        Ok(addresses) => addresses.collect(),
        Err(_) => return false,
    };
    addresses.iter().any(|a| http_status_line(a, address))
}

/// Sends `GET /` to `address` and reads whether the reply starts like an
/// HTTP/1.x response, each step bounded by [`PROBE`].
fn http_status_line(address: &SocketAddr, host: &str) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(address, PROBE) else {
        return false;
    };
    if stream.set_read_timeout(Some(PROBE)).is_err()
        || stream.set_write_timeout(Some(PROBE)).is_err()
    {
        return false;
    }
    let request = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut start = [0_u8; 7];
    stream.read_exact(&mut start).is_ok() && &start == b"HTTP/1."
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn ready_line_gives_the_endpoint() {
        assert_eq!(
            ready_endpoint("ready http://127.0.0.1:4567\nregion us-east-1; ...\n"),
            Some("http://127.0.0.1:4567".to_owned())
        );
        assert_eq!(ready_endpoint("compiling\n"), None);
    }

    /// A child running `script` under `sh` with its output in a log file
    /// named after `test`, which the caller removes.
    fn spawn_logged(test: &str, script: &str) -> (Child, PathBuf) {
        let log = std::env::temp_dir().join(format!("xtask-{}-{test}.log", std::process::id()));
        let file = File::create(&log).unwrap();
        let child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::null())
            .stdout(file)
            .spawn()
            .unwrap();
        (child, log)
    }

    #[test]
    fn a_ready_child_gives_its_endpoint() {
        let (mut child, log) =
            spawn_logged("ready", "echo ready http://127.0.0.1:4567; exec sleep 30");
        let endpoint = wait_ready(&mut child, &log, Duration::from_secs(20)).unwrap();
        assert_eq!(endpoint, "http://127.0.0.1:4567");
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_child_that_exits_first_is_reported_with_its_status() {
        let (mut child, log) = spawn_logged("exits", "echo starting; exit 3");
        let error = wait_ready(&mut child, &log, Duration::from_secs(20)).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("exited (exit status: 3) before it was ready"),
            "{error}"
        );
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn a_silent_child_is_stopped_when_the_wait_ends() {
        let (mut child, log) = spawn_logged("silent", "exec sleep 30");
        let error = wait_ready(&mut child, &log, Duration::ZERO).unwrap_err();
        assert!(error.to_string().contains("so it was stopped"), "{error}");
        // Killed and reaped, so it has an exit status now.
        assert!(child.try_wait().unwrap().is_some());
        std::fs::remove_file(log).unwrap();
    }

    #[test]
    fn an_http_server_answers() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0_u8; 4];
            stream.read_exact(&mut request).unwrap();
            assert_eq!(&request, b"GET ");
            stream
                .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        assert!(answers(&endpoint));
        server.join().unwrap();
    }

    #[test]
    fn a_port_nobody_listens_on_does_not_answer() {
        // Bound but not listening: the port stays ours for the whole test, so
        // no other program can take it, and connecting to it is refused.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        assert!(!answers(&format!("http://127.0.0.1:{port}")));
    }

    #[test]
    fn a_server_that_does_not_speak_http_does_not_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            stream.write_all(b"SSH-2.0-OpenSSH_9.6\r\n").unwrap();
        });
        assert!(!answers(&endpoint));
        server.join().unwrap();
    }

    #[test]
    fn stopping_nothing_says_it_was_not_running() {
        let dir = std::env::temp_dir().join(format!("xtask-stop-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = dir.join("local.json");
        assert_eq!(stop_recorded(&record, false).unwrap(), Stopped::NotRunning);
        // A record of a cloud that no longer answers is removed.
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        let port = socket.local_addr().unwrap().as_socket().unwrap().port();
        let json = serde_json::json!({"pid": 1, "endpoint": format!("http://127.0.0.1:{port}")});
        std::fs::write(&record, json.to_string()).unwrap();
        assert_eq!(stop_recorded(&record, false).unwrap(), Stopped::NotRunning);
        assert!(!record.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_endpoint_that_is_not_an_address_does_not_answer() {
        assert!(!answers("http://not an address"));
    }
}
