//! # 05: provision two accounts, verify, destroy
//!
//! Teaches: describe the cross-account setup as a desired state, print the
//! plan a person reviews, apply it, verify that the consumer's role can read
//! the tenant's stream (both policies fetched and evaluated offline), ask
//! doctor why the role cannot read once the stream policy is deleted by
//! hand, apply again to put it back (and once more to see that nothing
//! changes), and destroy everything from the state apply recorded.
//!
//! Input (all literal, below): account B (`222222222222`) owns the table
//! `documents` (partition key `pk`, stream `NEW_AND_OLD_IMAGES`); account A
//! (`111111111111`) owns the role `billing-consumer`, which reads it. Both
//! accounts live in a local cloud started in-process on a loopback port;
//! against AWS only the two `SdkConfig`s differ. This consumer reads the
//! stream directly (its role also trusts A's root), so no function is
//! deployed.
//!
//! Run: `cargo run --example 05_provision`

use aws_sdk_sts::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_types::SdkConfig;
use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_policy::arn::{RoleArn, StreamArn};
use streamgate_provision::apply::{apply, plan_against};
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::doctor::doctor;
use streamgate_provision::spec::{Consumer, DesiredState, KeyAttribute, KeyType, Source};
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const REGION: &str = "eu-west-1";

/// The SDK configuration of one account of the local cloud: its root keys
/// and the cloud's endpoint. For AWS, load it from a profile instead.
fn sdk_config(cloud: &RunningCloud, account: &str) -> Result<SdkConfig, String> {
    let keys = cloud
        .credentials(account)
        .ok_or_else(|| format!("the local cloud has no account {account}"))?;
    let credentials = Credentials::new(
        keys.access_key_id,
        keys.secret_access_key,
        None,
        None,
        "example",
    );
    Ok(SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(cloud.endpoint_url())
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cloud = LocalCloud::builder().start().await?;

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
                .trust(format!("arn:aws:iam::{A}:root"))
                .reads("tenant-b"),
        );
    let accounts = Accounts::new()
        .with_config(A.parse()?, &sdk_config(&cloud, A)?)
        .with_config(B.parse()?, &sdk_config(&cloud, B)?);

    // 2. The plan: every resource is to be created. The stream's label is
    //    only known once the table exists.
    let (plan, _) = plan_against(&desired, &accounts).await?;
    println!("plan:\n{plan}");

    // 3. Apply, recording what was created. On AWS use `Waits::aws()`,
    //    which waits out IAM propagation and the policy update throttle.
    let mut state = StateFile::new();
    let applied = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("applied {} changes", applied.plan.changes().count());

    // 4. Verify: nothing drifted and the role may read the stream.
    let report = verify(&desired, &accounts).await?;
    println!("verify:\n{report}");
    if !report.is_ok() {
        return Err("verify found problems".into());
    }

    // 5. Someone deletes the stream policy in B by hand. Doctor fetches both
    //    policies and explains why the role cannot read the stream now.
    let tenant = aws_sdk_dynamodb::Client::new(&sdk_config(&cloud, B)?);
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

    // 6. Applying again puts the policy back; once more changes nothing.
    let repaired = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("apply again: {} changes", repaired.plan.changes().count());
    let again = apply(&desired, &accounts, &Waits::local(), &mut state).await?;
    println!("apply once more: {} changes", again.plan.changes().count());

    // 7. Destroy from the recorded state (saved to a file, it also works
    //    from a fresh process).
    for removal in destroy(&accounts, &Waits::local(), &mut state).await? {
        println!("{removal}");
    }
    cloud.stop().await;
    Ok(())
}
