//! Python tools for the tests and benches that hold the local cloud up
//! against clients and servers nobody here wrote (boto3, moto's server,
//! the AWS CLI). Each tool is taken from the system when it is there, or
//! installed with pip into a virtual environment under the target
//! directory, made on first use and reused after. Included with `#[path]`
//! by each test or bench that needs it; each uses only a part of it.

#![allow(
    dead_code,
    reason = "each test or bench that includes this module uses only a part of it"
)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The virtual environment `name` under the target directory, once
/// `ready` says it is usable: as it is when it already is, else made with
/// python3 and `packages` installed into it with pip. The error says why
/// there is none.
pub(crate) fn venv_with(
    name: &str,
    packages: &[&str],
    ready: impl Fn(&Path) -> bool,
) -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if ready(&venv) {
        return Ok(venv);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .map_err(|_| "python3 is missing".to_owned())?;
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .args(packages)
        .status()
        .map_err(|_| "pip could not run in the virtual environment".to_owned())?;
    if made.success() && installed.success() && ready(&venv) {
        Ok(venv)
    } else {
        Err(format!(
            "{} could not be installed with python3 -m venv and pip",
            packages.join(" ")
        ))
    }
}

/// Whether `python` runs `import {modules}` (`modules` as written after
/// `import`, comma-separated) without error.
pub(crate) fn imports(python: &Path, modules: &str) -> bool {
    Command::new(python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A python3 that imports `modules`: the system's when it does, else the
/// one of the virtual environment `venv_name` with `packages` installed
/// (see [`venv_with`]).
pub(crate) fn python_importing(
    modules: &str,
    venv_name: &str,
    packages: &[&str],
) -> Result<PathBuf, String> {
    let system = PathBuf::from("python3");
    if imports(&system, modules) {
        return Ok(system);
    }
    venv_with(venv_name, packages, |venv| {
        imports(&venv.join("bin/python3"), modules)
    })
    .map(|venv| venv.join("bin/python3"))
}

/// A python3 that can run moto's server (see [`python_importing`]).
pub(crate) fn python_with_moto() -> Result<PathBuf, String> {
    python_importing(
        "boto3, moto.server, flask",
        "moto-venv",
        &["moto[server]", "boto3"],
    )
}

/// Keeps the developer's own AWS configuration (profile, session token,
/// config and credentials files) out of a client the test runs.
pub(crate) fn without_local_aws_config(command: &mut Command) -> &mut Command {
    command
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
}

/// moto's server on a loopback port, stopped when dropped however the
/// test or bench ends.
pub(crate) struct MotoServer {
    child: Child,
    address: SocketAddr,
}

impl MotoServer {
    /// Starts moto's server with `python` on a free loopback port and waits
    /// (at most 60 s) until it accepts connections.
    pub(crate) fn start(python: &Path) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect_timeout(&server.address, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto's server did not accept connections on {} within 60 s",
                server.address
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// The server's endpoint URL, `http://127.0.0.1:PORT`.
    pub(crate) fn endpoint_url(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
