//! # 05: provision a function in one account reading a stream in another
//!
//! Teaches: describe the cross-account setup as a desired state, print the
//! plan a person reviews, apply it (table and stream in B, role, its policy,
//! the stream policy, the function and its event source mapping in A), see
//! records written in B reach the function in A, verify that the role can
//! read the tenant's stream (both policies fetched and evaluated offline),
//! ask doctor why the role cannot read once the stream policy is deleted by
//! hand, apply again to put it back (and once more to see that nothing
//! changes), and destroy everything from the state apply recorded.
//!
//! Input (all literal, below): account B (`222222222222`) owns the table
//! `documents` (partition key `pk`, stream `NEW_AND_OLD_IMAGES`); account A
//! (`111111111111`) owns the role `billing-consumer` and the function
//! `billing-aggregator`, whose mapping reads B's stream. The function's
//! package is a zip holding one `bootstrap`: a bash script speaking the
//! Lambda Runtime API that prints each event it gets (so nothing has to be
//! compiled for it; `cargo xtask build` makes a real Rust function's zip).
//! Both accounts live in a local cloud started in-process on a loopback
//! port, which runs the function as a local process; against AWS only the
//! two `SdkConfig`s differ.
//!
//! Run: `cargo run --example 05_provision --all-features`

use std::io::Write;
use std::time::{Duration, Instant};

use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_policy::arn::{RoleArn, StreamArn};
use streamgate_provision::apply::{apply, plan_against};
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::doctor::doctor;
use streamgate_provision::spec::{
    Consumer, DesiredState, FunctionSpec, KeyAttribute, KeyType, MappingParameters, Source,
};
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const REGION: &str = "eu-west-1";
const FUNCTION: &str = "billing-aggregator";

/// The function: a Runtime API client in bash that logs `event <payload>`.
const BOOTSTRAP: &str = include_str!("../crates/provision/tests/fixtures/log_events_bootstrap.sh");

/// `script` zipped as an executable `bootstrap`, the layout of Lambda's
/// `provided.al2023` runtime.
fn package(script: &str) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options)?;
    writer.write_all(script.as_bytes())?;
    Ok(writer.finish()?.into_inner())
}

/// Waits, at most ten seconds, until the function has logged `events`
/// invocations, and returns those log lines.
async fn wait_for_events(cloud: &RunningCloud, events: usize) -> Result<Vec<String>, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let logged: Vec<String> = cloud
            .function_logs(A, REGION, FUNCTION)
            .into_iter()
            .filter(|line| line.starts_with("event "))
            .collect();
        if logged.len() >= events {
            return Ok(logged);
        }
        if Instant::now() > deadline {
            return Err(format!(
                "waited 10 s for {events} invocations of {FUNCTION}; saw {}",
                logged.len()
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Pollers wake on each write so the example does not wait for Lambda's
    // polling rate.
    let cloud = LocalCloud::builder()
        .wake_pollers_on_write(true)
        .start()
        .await?;

    // 1. What should exist.
    let desired = DesiredState::new(REGION)
        .source(Source::new(
            "tenant-b",
            B.parse()?,
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .consumer(
            Consumer::new("billing", A.parse()?, "billing-consumer")
                .function(FunctionSpec::new(FUNCTION, package(BOOTSTRAP)?))
                // The safe defaults: finite retries, a failing batch
                // bisected down to the failing record, partial batch
                // responses.
                .reads_with("tenant-b", MappingParameters::default()),
        );
    // Each account's SDK configuration: its root keys and the cloud's
    // endpoint. For AWS, load it from a profile instead.
    let accounts = Accounts::new()
        .with_config(A.parse()?, &cloud.sdk_config(A, REGION)?)
        .with_config(B.parse()?, &cloud.sdk_config(B, REGION)?);

    // 2. The plan: every resource is to be created. The stream's label is
    //    only known once the table exists.
    let (plan, _) = plan_against(&desired, &accounts).await?;
    println!("plan:\n{plan}");

    // 3. Apply, recording what was created. On AWS use `Waits::aws()`,
    //    which waits out IAM propagation and the policy update throttle.
    let mut state = StateFile::new();
    let applied = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("applied {} changes", applied.plan.changes().count());

    // 4. A tenant writes a document in B; the mapping in A reads B's stream
    //    as the function's role and invokes the function with the record.
    let tenant = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION)?);
    tenant
        .put_item()
        .table_name("documents")
        .item(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("doc-1".to_owned()),
        )
        .send()
        .await?;
    let events = wait_for_events(&cloud, 1).await?;
    let event: serde_json::Value = serde_json::from_str(
        events
            .first()
            .and_then(|line| line.strip_prefix("event "))
            .ok_or("no event logged")?,
    )?;
    let record = event
        .pointer("/Records/0")
        .ok_or("no record in the event")?;
    println!(
        "the function in A got {} of {} from B",
        record
            .pointer("/eventName")
            .unwrap_or(&serde_json::Value::Null),
        record
            .pointer("/dynamodb/Keys/pk/S")
            .unwrap_or(&serde_json::Value::Null)
    );

    // 5. Verify: nothing drifted and the role may read the stream.
    let report = verify(&desired, &accounts).await?;
    println!("verify:\n{report}");
    if !report.is_ok() {
        return Err("verify found problems".into());
    }

    // 6. Someone deletes the stream policy in B by hand. Doctor fetches both
    //    policies and explains why the role cannot read the stream now.
    let stream: StreamArn = tenant
        .describe_table()
        .table_name("documents")
        .send()
        .await?
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or("the table has no stream")?
        .parse()?;
    tenant
        .delete_resource_policy()
        .resource_arn(stream.to_string())
        .send()
        .await?;
    let role: RoleArn = format!("arn:aws:iam::{A}:role/billing-consumer").parse()?;
    let diagnosis = doctor(&accounts, &role, &stream, &[]).await?;
    println!("doctor:\n{diagnosis}");

    // 7. Applying again puts the policy back; once more changes nothing.
    let repaired = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("apply again: {} changes", repaired.plan.changes().count());
    let again = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("apply once more: {} changes", again.plan.changes().count());

    // 8. Destroy from the recorded state (saved to a file, it also works
    //    from a fresh process).
    for removal in destroy(&accounts, &Waits::local(), &mut state).await? {
        println!("{removal}");
    }
    cloud.stop().await;
    Ok(())
}
