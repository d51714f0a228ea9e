//! End-to-end latency of the system's story on the local cloud: a PutItem
//! in account B (through aws-sdk-dynamodb) until the function in account A,
//! fed by an event source mapping that reads B's stream as its execution
//! role, has finished handling the record (its END log line). 1,000 writes,
//! one at a time, with pollers woken on each write; prints p50, p99 and max.
//!
//! Targets: p50 <= 50 ms, p99 <= 200 ms. Run: `cargo bench -p
//! streamgate-local --bench stream_to_lambda`. There is no peer emulator
//! running Lambda event source mappings here to compare with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/sdk.rs"]
mod sdk;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{EventSourcePosition, FunctionCode, Runtime};
use sdk::{REGION, SigningKey, create_documents_table, dynamodb_client, iam_client, lambda_client};
use std::io::Write;
use std::time::{Duration, Instant};
use streamgate_local::{LocalCloud, RunningCloud};

const A: &str = "111111111111";
const B: &str = "222222222222";
const WRITES: usize = 1_000;

macro_rules! client_for {
    ($name:ident, $sdk_client:ident, $krate:ident) => {
        fn $name(cloud: &RunningCloud, account: &str) -> $krate::Client {
            let keys = cloud.credentials(account).unwrap();
            let key = SigningKey {
                access_key_id: &keys.access_key_id,
                secret_access_key: &keys.secret_access_key,
            };
            $sdk_client(&cloud.endpoint_url(), &key)
        }
    };
}

client_for!(dynamodb, dynamodb_client, aws_sdk_dynamodb);
client_for!(iam, iam_client, aws_sdk_iam);
client_for!(lambda, lambda_client, aws_sdk_lambda);

fn function_zip() -> Vec<u8> {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_streamgate-test-function")).unwrap();
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(&binary).unwrap();
    writer.finish().unwrap().into_inner()
}

async fn setup(cloud: &RunningCloud) {
    let db = dynamodb(cloud, B);
    let table = create_documents_table(&db).await;
    let stream = table
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let a_iam = iam(cloud, A);
    a_iam
        .create_role()
        .role_name("consumer")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();
    a_iam
        .attach_role_policy()
        .role_name("consumer")
        .policy_arn("arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole")
        .send()
        .await
        .unwrap();
    // The principal must exist before a policy can name it.
    db.put_resource_policy()
        .resource_arn(&stream)
        .policy(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{A}:role/consumer"}},"Action":["dynamodb:DescribeStream","dynamodb:GetShardIterator","dynamodb:GetRecords"],"Resource":"{stream}"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let functions = lambda(cloud, A);
    functions
        .create_function()
        .function_name("consumer")
        .runtime(Runtime::Providedal2023)
        .role(format!("arn:aws:iam::{A}:role/consumer"))
        .handler("bootstrap")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(function_zip()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    functions
        .create_event_source_mapping()
        .function_name("consumer")
        .event_source_arn(&stream)
        .starting_position(EventSourcePosition::TrimHorizon)
        .batch_size(100)
        .send()
        .await
        .unwrap();
}

fn ends(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.starts_with("END ")).count()
}

/// Waits until the function has been given the record `pk` and an
/// invocation begun after `ends_before` END lines has finished. (The
/// function's stdout is read on its own task, so its lines may land after
/// the END line of their invocation: order in the log proves nothing.)
async fn handled(cloud: &RunningCloud, pk: &str, ends_before: usize) {
    let marker = format!("record INSERT {pk}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let lines = cloud.function_logs(A, REGION, "consumer");
        if lines.contains(&marker) && ends(&lines) > ends_before {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 30 s for {pk} to be handled"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn main() {
    // `cargo test --benches` runs this with --bench absent: do one write
    // only, so that the bench is checked without taking its full time.
    let writes = if std::env::args().any(|a| a == "--bench") {
        WRITES
    } else {
        5
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = std::env::temp_dir().join(format!("streamgate-bench-{}", std::process::id()));
        let cloud = LocalCloud::builder()
            .wake_pollers_on_write(true)
            .state_dir(&state)
            .start()
            .await
            .unwrap();
        setup(&cloud).await;
        let db = dynamodb(&cloud, B);
        // Warm up: the first invocation starts the function's process.
        db.put_item()
            .table_name("documents")
            .item("pk", AttributeValue::S("warm-up".into()))
            .send()
            .await
            .unwrap();
        handled(&cloud, "warm-up", 0).await;
        let mut latencies = Vec::with_capacity(writes);
        for n in 0..writes {
            let pk = format!("doc-{n}");
            let ends_before = ends(&cloud.function_logs(A, REGION, "consumer"));
            let started = Instant::now();
            db.put_item()
                .table_name("documents")
                .item("pk", AttributeValue::S(pk.clone()))
                .item("pages", AttributeValue::N(n.to_string()))
                .send()
                .await
                .unwrap();
            handled(&cloud, &pk, ends_before).await;
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!(
            "write in B -> handler done in A, {} writes: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            latencies.len(),
            percentile(&latencies, 0.50).as_secs_f64() * 1000.0,
            percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
            latencies.last().unwrap().as_secs_f64() * 1000.0
        );
        cloud.stop().await;
        let _ = std::fs::remove_dir_all(state);
    });
}
