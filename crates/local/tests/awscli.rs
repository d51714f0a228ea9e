//! The AWS CLI works against streamgate-local too: `tests/awscli.sh` drives a
//! cloud this test starts. The CLI is taken from PATH, or installed with pip
//! into a virtual environment under the target directory when python3 is
//! there; with neither, the test says that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/python.rs"]
mod python;

use std::path::{Path, PathBuf};
use std::process::Command;

fn on_path(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A virtual environment with awscli, made on first use; `None` when it
/// cannot be made (no python3, or pip could not install awscli).
fn awscli_venv() -> Option<PathBuf> {
    python::venv_with("awscli-venv", &["awscli"], |venv| {
        venv.join("bin/aws").exists()
    })
    .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_aws_cli_works_against_the_local_cloud() {
    let venv = if on_path("aws") {
        None
    } else {
        match tokio::task::spawn_blocking(awscli_venv).await.unwrap() {
            Some(venv) => Some(venv),
            None => {
                eprintln!(
                    "skipped: no `aws` on PATH, and awscli could not be installed with python3 -m venv and pip"
                );
                return;
            }
        }
    };
    let cloud = streamgate_local::LocalCloud::builder()
        .start()
        .await
        .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/awscli.sh");
    let endpoint = cloud.endpoint_url();
    let output = tokio::task::spawn_blocking(move || {
        let mut command = Command::new("bash");
        command.arg(script).arg(endpoint);
        if let Some(venv) = venv {
            command.env("AWSCLI_VENV", venv);
        }
        command.output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    for expected in [
        "identity: arn:aws:iam::222222222222:root",
        "arn:aws:iam::222222222222:role/cli-role",
        "role: cli-role",
        "cli-table",
        "item: 1",
        "streams: 1",
        "records: INSERT",
        "missing: ResourceNotFoundException",
    ] {
        assert!(
            stdout.lines().any(|l| l == expected),
            "no line {expected:?} in:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    cloud.stop().await;
}
