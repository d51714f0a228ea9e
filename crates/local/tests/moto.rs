//! Differential test against moto's server: `tests/moto_differential.py`
//! runs the same random operations (puts, conditional updates with every
//! ReturnValues, deletes, queries, batches, transactions) against a cloud
//! this test starts and against a moto server it starts, and fails on any
//! disagreement not documented in the script as moto departing from the
//! AWS documentation. moto is taken from python3 when it imports, or
//! installed with pip into a virtual environment under the target
//! directory; when neither works the test says that it skipped.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/python.rs"]
mod python;

use python::{MotoServer, python_with_moto};
use std::path::Path;
use std::process::Command;

#[tokio::test(flavor = "multi_thread")]
async fn local_and_moto_agree_on_random_operations() {
    let Ok(python) = tokio::task::spawn_blocking(python_with_moto).await.unwrap() else {
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
        let moto = MotoServer::start(&python);
        let mut outputs = Vec::new();
        for seed in ["1", "2", "3"] {
            let output = python::without_local_aws_config(
                Command::new(&python)
                    .arg(&script)
                    .arg(&endpoint)
                    .arg(moto.endpoint_url())
                    .args([seed, "200"]),
            )
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
