//! `cargo xtask demo`: the whole cross-account story on a fresh local cloud
//! started in this process, one explained line per step.
//!
//! Build the function; deploy the tables, the role and the function; show
//! that a mapping from B's stream is refused while no stream policy names
//! the role; attach the policies and the mappings; write to the tenants'
//! tables and watch the totals converge; verify; show that an account the
//! stream policy does not name is denied; destroy; stop the cloud. Exits
//! non-zero when any step does not go as the story says.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use demo_billing::scenario::{
    self, DOCUMENTS_TABLE_NAME, ExerciseOptions, FUNCTION_NAME, desired_state,
};
use streamgate_local::LocalCloud;
use streamgate_provision::apply::apply;
use streamgate_provision::clients::Waits;
use streamgate_provision::destroy::destroy;
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

use crate::deploy::{
    Deployment, LOCAL_CONSUMER, LOCAL_SOURCES, Progress, demo_accounts, print_exercise,
    scenario_clients,
};

/// The Region of the demo.
const REGION: &str = "eu-west-1";

pub(crate) fn run() -> Result<()> {
    let started = Instant::now();
    println!(
        "streamgate demo: a function in account A totals the documents that tenants in accounts B and C write, reading their DynamoDB streams across accounts"
    );
    println!("▸ build the function (demo-billing) as a Lambda deployment package ...");
    let step = Instant::now();
    // A host build: the in-process local cloud runs it on this machine.
    let built = crate::build::build(crate::build::Toolchain::Host, false)?;
    let zip =
        std::fs::read(&built.zip).with_context(|| format!("reading {}", built.zip.display()))?;
    println!(
        "  {} in {:.2}s",
        built.zip.display(),
        step.elapsed().as_secs_f64()
    );
    let story_started = Instant::now();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(story(zip))?;
    println!(
        "demo finished: every step went as expected in {:.1}s ({:.1}s after the build)",
        started.elapsed().as_secs_f64(),
        story_started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn story(zip: Vec<u8>) -> Result<()> {
    let mut progress = Progress::new(false);
    let state_dir = crate::project_root()
        .join("target/streamgate")
        .join(format!("demo-{}", std::process::id()));
    let cloud = progress
        .step(
            "start a fresh local cloud (accounts 111111111111 = A, 222222222222 = B, 333333333333 = C)",
            async {
                Ok(LocalCloud::builder()
                    .state_dir(&state_dir)
                    .wake_pollers_on_write(true)
                    .start()
                    .await?)
            },
        )
        .await?;
    let endpoint = cloud.endpoint_url();
    progress.say(format!("listening on {endpoint}"));
    let result = story_on(&mut progress, &endpoint, zip, &cloud).await;
    cloud.stop().await;
    // The functions' unpacked code; the cloud is stopped, nothing uses it.
    let _ = std::fs::remove_dir_all(&state_dir);
    result
}

async fn story_on(
    progress: &mut Progress,
    endpoint: &str,
    zip: Vec<u8>,
    cloud: &streamgate_local::RunningCloud,
) -> Result<()> {
    let deployment = Deployment::local(endpoint.to_owned(), REGION.to_owned());
    let consumer = cloud.sdk_config(LOCAL_CONSUMER, REGION)?;
    let sources = LOCAL_SOURCES
        .iter()
        .map(|a| cloud.sdk_config(a, REGION))
        .collect::<Result<Vec<_>, _>>()?;
    let (demo, accounts) = demo_accounts(&deployment, &consumer, &sources)?;
    let waits = Waits::local();
    let mut state = StateFile::new();

    let bare = desired_state(&demo, zip.clone(), false);
    progress
        .step(
            "deploy what needs no cross-account access: documents tables with streams in B and C; role, function and tenant-usage table in A",
            async { Ok(apply(&bare, &accounts, &waits, &mut state).await?) },
        )
        .await?;

    let b_config = sources.first().context("the demo has no tenant account")?;
    let stream = progress
        .step(
            "try to map B's stream to the function before any policy lets A's role read it",
            async { refused_mapping(&consumer, b_config).await },
        )
        .await?;
    progress.say(format!("refused as AWS refuses it: {}", stream.1));

    let full = desired_state(&demo, zip, true);
    let applied = progress
        .step(
            "attach the stream policies in B and C (naming A's role), the role's read policy and the mappings",
            async { Ok(apply(&full, &accounts, &waits, &mut state).await?) },
        )
        .await?;
    for action in applied.plan.changes() {
        progress.say(format!(
            "{} {}",
            crate::deploy::change_verb(&action.change),
            action.resource
        ));
    }

    let (usage, tenants) = scenario_clients(&demo, &consumer, &sources);
    let options = ExerciseOptions {
        operations: 200,
        keys_per_account: 30,
        timeout: Duration::from_secs(30),
        ..ExerciseOptions::default()
    };
    let report = progress
        .step(
            "write 200 random inserts, updates and deletes in B and C, then wait until A's totals equal what the tables say",
            async { Ok(scenario::exercise(&tenants, &usage, &options).await?) },
        )
        .await?;
    print_exercise(progress, &report, false);

    let verified = progress
        .step(
            "verify: nothing drifted, and both policies let A's role read each stream (offline evaluator)",
            async { Ok(verify(&full, &accounts).await?) },
        )
        .await?;
    if !verified.is_ok() {
        bail!("verify found problems:\n{verified}");
    }
    progress.say("verify: ok");

    let c_config = sources
        .get(1)
        .context("the demo has one tenant account only")?;
    let denied = progress
        .step(
            "read B's stream as account C, which B's stream policy does not name",
            async { denied_read(c_config, &stream.0).await },
        )
        .await?;
    progress.say(format!("denied: {denied}"));

    let logs = cloud.function_logs(LOCAL_CONSUMER, REGION, FUNCTION_NAME);
    progress.say(format!(
        "the function logged {} lines; the last: {}",
        logs.len(),
        logs.last().map_or("(none)", String::as_str)
    ));

    let removed = progress
        .step(
            "destroy everything, in reverse order, from the recorded state",
            async { Ok(destroy(&accounts, &waits, &mut state).await?) },
        )
        .await?;
    progress.say(format!("{} resources removed", removed.len()));
    if !state.is_empty() {
        bail!("destroy left resources recorded: {:?}", state.resources);
    }
    Ok(())
}

/// Asks Lambda (as A) for a mapping from B's stream; returns the stream ARN
/// and the refusal, or fails when the mapping was created.
async fn refused_mapping(
    consumer: &aws_types::SdkConfig,
    source: &aws_types::SdkConfig,
) -> Result<(String, String)> {
    let table = aws_sdk_dynamodb::Client::new(source)
        .describe_table()
        .table_name(DOCUMENTS_TABLE_NAME)
        .send()
        .await
        .context("describing B's documents table")?;
    let stream = table
        .table()
        .and_then(|t| t.latest_stream_arn())
        .context("B's documents table has no stream")?
        .to_owned();
    let attempt = aws_sdk_lambda::Client::new(consumer)
        .create_event_source_mapping()
        .function_name(FUNCTION_NAME)
        .event_source_arn(&stream)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .send()
        .await;
    match attempt {
        Ok(created) => bail!(
            "the mapping {} was created although no policy lets the role read the stream",
            created.uuid().unwrap_or("?")
        ),
        Err(error) => {
            let message = aws_sdk_lambda::error::DisplayErrorContext(&error).to_string();
            if !message.contains("Cannot access stream") {
                bail!("the mapping was refused, but not for the stream's access: {message}");
            }
            let short = error
                .as_service_error()
                .and_then(|e| aws_sdk_lambda::error::ProvideErrorMetadata::message(e))
                .unwrap_or(&message)
                .to_owned();
            Ok((stream, short))
        }
    }
}

/// Reads `stream` with `reader`'s credentials; returns the denial, or
/// fails when the read was allowed.
async fn denied_read(reader: &aws_types::SdkConfig, stream: &str) -> Result<String> {
    let attempt = aws_sdk_dynamodbstreams::Client::new(reader)
        .describe_stream()
        .stream_arn(stream)
        .send()
        .await;
    match attempt {
        Ok(_) => bail!("account C could read B's stream although no policy names it"),
        Err(error) => {
            let code = aws_sdk_dynamodbstreams::error::ProvideErrorMetadata::code(&error)
                .unwrap_or("")
                .to_owned();
            if code != "AccessDeniedException" {
                bail!(
                    "the read failed, but not as a denial: {}",
                    aws_sdk_dynamodbstreams::error::DisplayErrorContext(&error)
                );
            }
            Ok(
                aws_sdk_dynamodbstreams::error::ProvideErrorMetadata::message(&error)
                    .unwrap_or("AccessDeniedException")
                    .to_owned(),
            )
        }
    }
}
