//! # 06: the whole cross-account flow, function included
//!
//! Teaches: how the pieces of examples 01 to 05 make the system. A Lambda
//! function in account A (`billing-aggregator`, the demo-billing crate)
//! consumes the DynamoDB streams of the `documents` tables of accounts B
//! and C and keeps per-tenant totals in A's `tenant-usage`. You will see
//! that Lambda refuses the event source mapping while no policy lets A's
//! role read B's stream ("Cannot access stream ..."), that provisioning the
//! stream policies fixes it, that the totals converge to what the source
//! tables say, and that account C, which B's stream policy does not name,
//! is denied.
//!
//! Input: the function's deployment package from `cargo xtask build`
//! (`target/lambda/demo-billing/bootstrap.zip`); `cargo xtask ci` builds it
//! before running the examples. The accounts 111111111111 (A),
//! 222222222222 (B) and 333333333333 (C) live in a local cloud started in
//! this process; the writes are 120 seeded random inserts, updates and
//! deletes. Against AWS only the three `SdkConfig`s differ
//! (`cargo xtask deploy --consumer-profile ... --source-profile ...`).
//!
//! Run: `cargo xtask build && cargo run --example 06_cross_account`

use std::time::Duration;

use aws_sdk_lambda::error::ProvideErrorMetadata;
use aws_types::SdkConfig;
use demo_billing::scenario::{
    self, DOCUMENTS_TABLE_NAME, DemoAccounts, ExerciseOptions, FUNCTION_NAME, SourceClient,
    desired_state,
};
use streamgate_local::LocalCloud;
use streamgate_provision::apply::apply;
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let zip_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/lambda/demo-billing/bootstrap.zip");
    let zip = std::fs::read(&zip_path).map_err(|e| {
        format!(
            "reading {}: {e}; run `cargo xtask build` first",
            zip_path.display()
        )
    })?;
    let state_dir = std::env::temp_dir().join(format!("streamgate-06-{}", std::process::id()));
    // Pollers woken by each write: the totals follow within milliseconds.
    let cloud = LocalCloud::builder()
        .state_dir(&state_dir)
        .wake_pollers_on_write(true)
        .start()
        .await?;
    // One account of the local cloud, as an SDK sees it (see example 05).
    let (a, b, c) = (
        cloud.sdk_config(A, REGION)?,
        cloud.sdk_config(B, REGION)?,
        cloud.sdk_config(C, REGION)?,
    );
    let demo = DemoAccounts {
        region: REGION.to_owned(),
        consumer: A.parse()?,
        sources: vec![B.parse()?, C.parse()?],
    };
    let accounts = Accounts::new()
        .with_config(A.parse()?, &a)
        .with_config(B.parse()?, &b)
        .with_config(C.parse()?, &c);
    let mut state = StateFile::new();

    // 1. Everything that needs no cross-account access: the documents
    //    tables (with streams) in B and C; in A the role, the function and
    //    tenant-usage. No subscriptions yet, so no policy names the role.
    let bare = desired_state(&demo, zip.clone(), false);
    apply(&bare, &accounts, &Waits::local(), &mut state).await?;
    println!("1. deployed tables, role and function; no stream policy yet");

    // 2. Ask Lambda for a mapping from B's stream: refused, exactly as AWS
    //    refuses it, because nothing lets A's role read the stream.
    let stream = aws_sdk_dynamodb::Client::new(&b)
        .describe_table()
        .table_name(DOCUMENTS_TABLE_NAME)
        .send()
        .await?
        .table()
        .and_then(|t| t.latest_stream_arn())
        .ok_or("B's table has no stream")?
        .to_owned();
    let lambda = aws_sdk_lambda::Client::new(&a);
    match lambda
        .create_event_source_mapping()
        .function_name(FUNCTION_NAME)
        .event_source_arn(&stream)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .send()
        .await
    {
        Ok(_) => return Err("the mapping was created without any policy".into()),
        Err(e) => {
            let message = e.message().unwrap_or_default();
            if !message.starts_with("Cannot access stream") {
                return Err(format!("refused for another reason: {e:?}").into());
            }
            println!(
                "2. mapping refused: {}: {message}",
                e.code().unwrap_or_default()
            );
        }
    }

    // 3. The full desired state: the role's read policy, a stream policy in
    //    B and in C naming the role, and one mapping per stream.
    let full = desired_state(&demo, zip, true);
    let applied = apply(&full, &accounts, &Waits::local(), &mut state).await?;
    println!(
        "3. attached the policies and mappings ({} changes)",
        applied.plan.changes().count()
    );

    // 4. Tenants write; the function's totals must equal the tables'.
    let client = |account: &str, config: &SdkConfig| -> Result<SourceClient, String> {
        Ok(SourceClient {
            account: account.parse().map_err(|e| format!("{e}"))?,
            client: aws_sdk_dynamodb::Client::new(config),
        })
    };
    let tenants = [client(B, &b)?, client(C, &c)?];
    let usage = client(A, &a)?;
    let report = scenario::exercise(
        &tenants,
        &usage,
        &ExerciseOptions {
            operations: 120,
            keys_per_account: 20,
            timeout: Duration::from_secs(30),
            ..ExerciseOptions::default()
        },
    )
    .await?;
    println!(
        "4. {} inserts, {} updates, {} deletes; totals agree: {}",
        report.inserts, report.updates, report.deletes, report.totals
    );

    // 5. Verify: no drift, and both policies allow each read.
    let verified = verify(&full, &accounts).await?;
    if !verified.is_ok() {
        return Err(format!("verify found problems:\n{verified}").into());
    }
    println!("5. verified");

    // 6. Account C is not named by B's stream policy: denied.
    match aws_sdk_dynamodbstreams::Client::new(&c)
        .describe_stream()
        .stream_arn(&stream)
        .send()
        .await
    {
        Ok(_) => return Err("account C read B's stream".into()),
        Err(e) => {
            if e.code() != Some("AccessDeniedException") {
                return Err(format!("failed for another reason: {e:?}").into());
            }
            println!(
                "6. account C denied: {}: {}",
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default()
            );
        }
    }

    // 7. Destroy everything, in reverse order.
    let removed = destroy(&accounts, &Waits::local(), &mut state).await?;
    println!("7. destroyed {} resources", removed.len());
    cloud.stop().await;
    let _ = std::fs::remove_dir_all(&state_dir);
    Ok(())
}
