//! Conformance with a client nobody here wrote: `tests/boto3_conformance.py`
//! drives a cloud this test starts with boto3 and compares results and
//! error codes with expectations from the AWS documentation. boto3 is taken
//! from python3 when it imports, or installed with pip into a virtual
//! environment under the target directory; when neither works the test
//! says that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn imports_boto3(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import boto3"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A python3 that can import boto3, or `None` when none can be had.
fn python_with_boto3() -> Option<PathBuf> {
    let system = PathBuf::from("python3");
    if imports_boto3(&system) {
        return Some(system);
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("boto3-venv");
    let python = venv.join("bin/python3");
    if imports_boto3(&python) {
        return Some(python);
    }
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .ok()?;
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "boto3"])
        .status()
        .ok()?;
    (made.success() && installed.success() && imports_boto3(&python)).then_some(python)
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_sees_the_documented_data_plane() {
    let Some(python) = tokio::task::spawn_blocking(python_with_boto3)
        .await
        .unwrap()
    else {
        eprintln!(
            "skipped: python3 cannot import boto3, and it could not be installed with python3 -m venv and pip"
        );
        return;
    };
    let cloud = streamgate_local::LocalCloud::builder()
        .start()
        .await
        .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/boto3_conformance.py");
    let endpoint = cloud.endpoint_url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .arg(endpoint)
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_SESSION_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().any(|l| l == "all checks passed"),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    cloud.stop().await;
}
