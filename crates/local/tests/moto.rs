//! Differential test against moto's server: `tests/moto_differential.py`
//! runs the same random operations (puts, conditional updates with every
//! ReturnValues, deletes, queries, batches, transactions) against a cloud
//! this test starts and against a moto server it starts, and fails on any
//! disagreement not documented in the script as moto departing from the
//! AWS documentation. moto is taken from python3 when it imports, or
//! installed with pip into a virtual environment under the target
//! directory; when neither works the test says that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn imports_moto(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import boto3, moto.server, flask"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A python3 that can run moto's server, or `None` when none can be had.
fn python_with_moto() -> Option<PathBuf> {
    let system = PathBuf::from("python3");
    if imports_moto(&system) {
        return Some(system);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("moto-venv");
    let python = venv.join("bin/python3");
    if imports_moto(&python) {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .ok()?;
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "moto[server]", "boto3"])
        .status()
        .ok()?;
    (made.success() && installed.success() && imports_moto(&python)).then_some(python)
}

/// Stops the moto server when the test ends, however it ends.
struct MotoServer(Child);

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_moto(python: &Path) -> (MotoServer, SocketAddr) {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = MotoServer(child);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto's server did not accept connections on {address} within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, address)
}

#[tokio::test(flavor = "multi_thread")]
async fn local_and_moto_agree_on_random_operations() {
    let Some(python) = tokio::task::spawn_blocking(python_with_moto).await.unwrap() else {
        eprintln!(
            "skipped: python3 cannot import moto's server, and moto[server] could not be installed with python3 -m venv and pip"
        );
        return;
    };
    let cloud = streamgate_local::LocalCloud::builder()
        .start()
        .await
        .unwrap();
    let endpoint = cloud.endpoint_url();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/moto_differential.py");
    let output = tokio::task::spawn_blocking(move || {
        let (_moto, moto_address) = start_moto(&python);
        let mut outputs = Vec::new();
        for seed in ["1", "2", "3"] {
            let output = Command::new(&python)
                .arg(&script)
                .arg(&endpoint)
                .arg(format!("http://{moto_address}"))
                .args([seed, "200"])
                .env("AWS_CONFIG_FILE", "/dev/null")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
                .env_remove("AWS_PROFILE")
                .env_remove("AWS_SESSION_TOKEN")
                .output()
                .unwrap();
            outputs.push(output);
        }
        outputs
    })
    .await
    .unwrap();
    for output in output {
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success() && stdout.contains("0 disagreements"),
            "stdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    cloud.stop().await;
}
