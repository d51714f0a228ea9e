//! Conformance with a client nobody here wrote: `tests/boto3_conformance.py`
//! drives a cloud this test starts with boto3 and compares results and
//! error codes with expectations from the AWS documentation. boto3 is taken
//! from python3 when it imports, or installed with pip into a virtual
//! environment under the target directory; when neither works the test
//! says that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

/// A python3 that can import boto3, or why there is none.
fn python_with_boto3() -> Result<PathBuf, String> {
    python::python_importing("boto3", "boto3-venv", &["boto3"])
}

#[tokio::test(flavor = "multi_thread")]
async fn boto3_sees_the_documented_data_plane() {
    let Ok(python) = tokio::task::spawn_blocking(python_with_boto3)
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
        python::without_local_aws_config(Command::new(python).arg(script).arg(endpoint))
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
