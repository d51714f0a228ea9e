//! `cargo xtask deploy|exercise|status|logs|destroy`: the cross-account demo
//! step by step, on the background local cloud by default or on AWS with
//! `--consumer-profile` and `--source-profile`.
//!
//! Both targets take the same code path; only the `SdkConfig` of each
//! account differs (the local cloud's endpoint and an account's root keys,
//! or a profile). `deploy` records where it deployed in
//! `target/streamgate/deployment.json` and what it created in
//! `target/streamgate/provision-state.json`, so the later tasks need no
//! arguments.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_types::SdkConfig;
use demo_billing::scenario::{
    self, DemoAccounts, ExerciseOptions, FUNCTION_NAME, SourceClient, desired_state,
};
use serde_json::json;
use streamgate_local::sdk_config::root_sdk_config;
use streamgate_policy::arn::AccountId;
use streamgate_provision::apply::{apply, plan_against};
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::plan::Change;
use streamgate_provision::state::StateFile;

use crate::project_root;

/// The local cloud's accounts: A consumes, B and C are tenants.
pub(crate) const LOCAL_CONSUMER: &str = "111111111111";
/// The local cloud's tenant accounts.
pub(crate) const LOCAL_SOURCES: &[&str] = &["222222222222", "333333333333"];
/// The secret key of every local account's root keys.
pub(crate) const LOCAL_SECRET: &str = "streamgate-local";
/// The Region used when none is given.
const DEFAULT_REGION: &str = "eu-west-1";

/// Where to deploy: the options `deploy` takes.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct TargetArgs {
    /// Deploy to AWS: the profile of the consumer account (A)
    #[arg(long, requires = "source_profile")]
    consumer_profile: Option<String>,
    /// Deploy to AWS: the profile of a source account (B, C, ...); repeat it
    #[arg(long, requires = "consumer_profile")]
    source_profile: Vec<String>,
    /// The Region of everything (default eu-west-1, or the profile's)
    #[arg(long)]
    region: Option<String>,
    /// Print one JSON object instead of progress lines
    #[arg(long)]
    json: bool,
}

/// Options of `cargo xtask exercise`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ExerciseArgs {
    /// Writes in total, spread over the tenant accounts
    #[arg(long, default_value_t = 300)]
    operations: usize,
    /// Distinct documents per tenant account
    #[arg(long, default_value_t = 40)]
    keys: usize,
    /// Seed of the random writes (the same seed, the same writes)
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds to wait for the totals to converge
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// Print one JSON object instead of progress lines
    #[arg(long)]
    json: bool,
}

/// Options of `status`, `logs` and `destroy`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct RecordArgs {
    /// Print JSON instead of progress lines
    #[arg(long)]
    json: bool,
}

/// Where the demo was deployed, as `deploy` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Deployment {
    /// `local` or `aws`.
    pub(crate) target: String,
    /// The Region.
    pub(crate) region: String,
    /// The local cloud's endpoint (local only).
    pub(crate) endpoint: Option<String>,
    /// The consumer account and its profile (AWS only).
    pub(crate) consumer: AccountProfile,
    /// The source accounts and their profiles.
    pub(crate) sources: Vec<AccountProfile>,
}

impl Deployment {
    /// A deployment on the local cloud at `endpoint`: its consumer account
    /// and both tenant accounts, reached by their root keys.
    pub(crate) fn local(endpoint: String, region: String) -> Self {
        let account = |id: &str| AccountProfile {
            account: id.to_owned(),
            profile: None,
        };
        Self {
            target: "local".to_owned(),
            region,
            endpoint: Some(endpoint),
            consumer: account(LOCAL_CONSUMER),
            sources: LOCAL_SOURCES.iter().map(|id| account(id)).collect(),
        }
    }

    /// How long provisioning waits and retries: briefly on the local cloud,
    /// where IAM changes apply at once, as AWS needs elsewhere.
    pub(crate) fn waits(&self) -> Waits {
        if self.target == "local" {
            Waits::local()
        } else {
            Waits::aws()
        }
    }
}

/// An account and, on AWS, the profile that reaches it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountProfile {
    /// The 12-digit id.
    pub(crate) account: String,
    /// The profile (AWS only).
    pub(crate) profile: Option<String>,
}

fn state_dir() -> PathBuf {
    project_root().join("target/streamgate")
}

fn deployment_file() -> PathBuf {
    state_dir().join("deployment.json")
}

fn provision_state_file() -> PathBuf {
    state_dir().join("provision-state.json")
}

/// Progress lines (or nothing, with `--json`), each step with its duration.
pub(crate) struct Progress {
    quiet: bool,
    steps: Vec<serde_json::Value>,
}

impl Progress {
    pub(crate) fn new(quiet: bool) -> Self {
        Self {
            quiet,
            steps: Vec::new(),
        }
    }

    /// Runs `body` as step `what`, printing its duration and outcome.
    pub(crate) async fn step<T>(
        &mut self,
        what: &str,
        body: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        if !self.quiet {
            println!("▸ {what} ...");
        }
        let started = Instant::now();
        let result = body.await;
        let seconds = started.elapsed().as_secs_f64();
        self.steps.push(json!({
            "step": what, "seconds": seconds, "ok": result.is_ok(),
        }));
        if !self.quiet {
            match &result {
                Ok(_) => println!("  done in {seconds:.2}s"),
                Err(e) => println!("  FAILED after {seconds:.2}s: {e:#}"),
            }
        }
        result
    }

    /// A line of detail under the current step.
    pub(crate) fn say(&self, line: impl AsRef<str>) {
        if !self.quiet {
            println!("  {}", line.as_ref());
        }
    }

    fn steps(&self) -> serde_json::Value {
        serde_json::Value::Array(self.steps.clone())
    }
}

/// The SDK configuration of an AWS profile.
async fn profile_config(profile: &str, region: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .profile_name(profile)
        .region(Region::new(region.to_owned()))
        .load()
        .await
}

/// The Region an AWS profile names, if it names one.
async fn profile_region(profile: &str) -> Option<String> {
    aws_config::defaults(BehaviorVersion::latest())
        .profile_name(profile)
        .load()
        .await
        .region()
        .map(ToString::to_string)
}

/// The Region to deploy in: `--region`, else the consumer profile's, else
/// the default.
fn deploy_region(explicit: Option<&str>, consumer_profile_region: Option<&str>) -> String {
    explicit
        .or(consumer_profile_region)
        .unwrap_or(DEFAULT_REGION)
        .to_owned()
}

/// The account a configuration acts in, from STS.
async fn account_of(config: &SdkConfig, profile: &str) -> Result<String> {
    let identity = aws_sdk_sts::Client::new(config)
        .get_caller_identity()
        .send()
        .await
        .with_context(|| format!("asking STS which account profile `{profile}` is in"))?;
    identity
        .account()
        .map(ToOwned::to_owned)
        .with_context(|| format!("STS named no account for profile `{profile}`"))
}

/// The configurations of a deployment's accounts: consumer first, then the
/// sources in order.
async fn configs(deployment: &Deployment) -> Result<(SdkConfig, Vec<SdkConfig>)> {
    if let Some(endpoint) = &deployment.endpoint {
        let running = crate::local::status()?;
        if running.as_ref().map(|r| &r.endpoint) != Some(endpoint) {
            bail!(
                "the local cloud the demo was deployed to ({endpoint}) is not running any more, and it keeps nothing across restarts: run `cargo xtask deploy` again"
            );
        }
    }
    let one = async |who: &AccountProfile| -> Result<SdkConfig> {
        match (&who.profile, &deployment.endpoint) {
            (Some(profile), _) => Ok(profile_config(profile, &deployment.region).await),
            (None, Some(endpoint)) => {
                Ok(root_sdk_config(endpoint, &who.account, &deployment.region))
            }
            (None, None) => bail!(
                "the deployment record names neither a profile nor an endpoint for account {}",
                who.account
            ),
        }
    };
    let consumer = one(&deployment.consumer).await?;
    let mut sources = Vec::new();
    for source in &deployment.sources {
        sources.push(one(source).await?);
    }
    Ok((consumer, sources))
}

/// The demo's accounts and the provisioning clients of a deployment.
pub(crate) fn demo_accounts(
    deployment: &Deployment,
    consumer: &SdkConfig,
    sources: &[SdkConfig],
) -> Result<(DemoAccounts, Accounts)> {
    let consumer_id: AccountId = deployment.consumer.account.parse()?;
    let mut accounts = Accounts::new().with_config(consumer_id.clone(), consumer);
    let mut source_ids = Vec::new();
    for (who, config) in deployment.sources.iter().zip(sources) {
        let id: AccountId = who.account.parse()?;
        accounts = accounts.with_config(id.clone(), config);
        source_ids.push(id);
    }
    Ok((
        DemoAccounts {
            region: deployment.region.clone(),
            consumer: consumer_id,
            sources: source_ids,
        },
        accounts,
    ))
}

/// The data-plane clients `exercise` writes and reads with.
pub(crate) fn scenario_clients(
    demo: &DemoAccounts,
    consumer: &SdkConfig,
    sources: &[SdkConfig],
) -> (SourceClient, Vec<SourceClient>) {
    let usage = SourceClient {
        account: demo.consumer.clone(),
        client: aws_sdk_dynamodb::Client::new(consumer),
    };
    let tenants = demo
        .sources
        .iter()
        .zip(sources)
        .map(|(account, config)| SourceClient {
            account: account.clone(),
            client: aws_sdk_dynamodb::Client::new(config),
        })
        .collect();
    (usage, tenants)
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn read_deployment() -> Result<Deployment> {
    read_deployment_if_any()?.with_context(|| {
        format!(
            "nothing is deployed (no {}): run `cargo xtask deploy` first",
            deployment_file().display()
        )
    })
}

/// The recorded deployment, or `None` when nothing is deployed.
fn read_deployment_if_any() -> Result<Option<Deployment>> {
    read_deployment_at(&deployment_file())
}

fn read_deployment_at(path: &std::path::Path) -> Result<Option<Deployment>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    serde_json::from_str(&text)
        .map(Some)
        .with_context(|| format!("reading {}", path.display()))
}

/// `cargo xtask deploy`.
///
/// What can refuse the deploy is checked before the release build and
/// before the background cloud starts: a missing Lambda toolchain for AWS,
/// and a recorded deployment elsewhere.
pub(crate) fn deploy(args: &TargetArgs) -> Result<()> {
    let started = Instant::now();
    let mut progress = Progress::new(args.json);
    let destination = if args.consumer_profile.is_some() {
        crate::build::Destination::Lambda
    } else {
        crate::build::Destination::Local
    };
    let toolchain = crate::build::toolchain_for(crate::build::Profile::Release, destination)?;
    let previous = read_deployment_if_any()?;
    let runtime = runtime()?;
    // Where this deploy goes, as far as is known before anything starts:
    // on the local cloud, the running one, if any (a new one gets a new
    // endpoint).
    let planned = runtime.block_on(async {
        let consumer_profile_region = match (&args.region, &args.consumer_profile) {
            (None, Some(profile)) => profile_region(profile).await,
            _ => None,
        };
        let region = deploy_region(args.region.as_deref(), consumer_profile_region.as_deref());
        match &args.consumer_profile {
            None => {
                let mut planned = Deployment::local(String::new(), region);
                planned.endpoint = crate::local::status()?.map(|r| r.endpoint);
                Ok::<_, anyhow::Error>(planned)
            }
            Some(consumer_profile) => {
                progress
                    .step("find the accounts of the profiles", async {
                        let who = async |profile: &String| -> Result<AccountProfile> {
                            let config = profile_config(profile, &region).await;
                            Ok(AccountProfile {
                                account: account_of(&config, profile).await?,
                                profile: Some(profile.clone()),
                            })
                        };
                        let consumer = who(consumer_profile).await?;
                        let mut sources = Vec::new();
                        for profile in &args.source_profile {
                            sources.push(who(profile).await?);
                        }
                        Ok(Deployment {
                            target: "aws".to_owned(),
                            region: region.clone(),
                            endpoint: None,
                            consumer,
                            sources,
                        })
                    })
                    .await
            }
        }
    })?;
    check_replacement(previous.as_ref(), &planned)?;
    let zip = {
        let step = Instant::now();
        if !args.json {
            println!("▸ build the function ...");
        }
        let built = crate::build::build(toolchain, !args.json)?;
        let bytes = std::fs::read(&built.zip)
            .with_context(|| format!("reading {}", built.zip.display()))?;
        if !args.json {
            println!("  done in {:.2}s", step.elapsed().as_secs_f64());
        }
        bytes
    };
    let deployment = if planned.target == "local" {
        let running =
            runtime.block_on(progress.step("start the background local cloud", async {
                crate::local::start(false)
            }))?;
        progress.say(format!("local cloud at {}", running.endpoint));
        let deployment = Deployment::local(running.endpoint, planned.region);
        // Checked again: the cloud may have stopped or started since.
        check_replacement(previous.as_ref(), &deployment)?;
        deployment
    } else {
        planned
    };
    std::fs::create_dir_all(state_dir())
        .with_context(|| format!("creating {}", state_dir().display()))?;
    std::fs::write(
        deployment_file(),
        serde_json::to_string_pretty(&deployment)?,
    )
    .with_context(|| format!("writing {}", deployment_file().display()))?;
    let waits = deployment.waits();
    let summary = runtime.block_on(async {
        let (consumer, sources) = configs(&deployment).await?;
        let (demo, accounts) = demo_accounts(&deployment, &consumer, &sources)?;
        let desired = desired_state(&demo, zip, true);
        let (plan, _) = progress
            .step("plan against what exists", async {
                Ok(plan_against(&desired, &accounts).await?)
            })
            .await?;
        let changes = plan.changes().count();
        progress.say(format!("{changes} resources to create or change"));
        let path = provision_state_file();
        let mut state = StateFile::load(&path)?;
        let applied = progress
            .step("apply: tables, role, policies, function, mappings", async {
                let applied = apply(&desired, &accounts, &waits, &mut state).await;
                state.save(&path)?;
                Ok(applied?)
            })
            .await?;
        let created: Vec<String> = applied
            .plan
            .changes()
            .map(|action| format!("{} {}", change_verb(&action.change), action.resource))
            .collect();
        Ok::<_, anyhow::Error>(created)
    })?;
    if args.json {
        println!(
            "{}",
            json!({
                "deployment": deployment,
                "changed": summary,
                "state": provision_state_file().display().to_string(),
                "steps": progress.steps(),
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        if summary.is_empty() {
            println!("nothing to change: the demo was already deployed");
        } else {
            println!("created or changed:");
            for line in &summary {
                println!("  {line}");
            }
        }
        println!(
            "deployed to {} ({}) in {:.1}s; state in {}",
            deployment.target,
            deployment.region,
            started.elapsed().as_secs_f64(),
            provision_state_file().display()
        );
        println!(
            "next: cargo xtask exercise, then cargo xtask status, cargo xtask logs, cargo xtask destroy"
        );
    }
    Ok(())
}

/// What a new deployment does to the one recorded before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Replacement {
    /// The same place: a re-deploy, keeping the provisioning state.
    Same,
    /// The recorded deployment was on a local cloud that has stopped, which
    /// took everything with it: its provisioning state is stale.
    Stale,
    /// Another target, Region or set of accounts that still exists: its
    /// provisioning state would be overwritten and its resources forgotten.
    Elsewhere,
}

/// How `next` relates to the recorded `previous` deployment;
/// `previous_alive` says whether what it was deployed to still runs (a
/// local cloud; AWS always does).
fn replacement(previous: &Deployment, next: &Deployment, previous_alive: bool) -> Replacement {
    // Profiles only name the way in: the same accounts through another
    // profile are the same place.
    let place = |d: &Deployment| {
        let sources: Vec<&str> = d.sources.iter().map(|s| s.account.as_str()).collect();
        (
            d.target.clone(),
            d.region.clone(),
            d.endpoint.clone(),
            d.consumer.account.clone(),
            sources.join(","),
        )
    };
    if place(previous) == place(next) {
        Replacement::Same
    } else if previous.endpoint.is_some() && !previous_alive {
        Replacement::Stale
    } else {
        Replacement::Elsewhere
    }
}

/// Refuses a deploy to `next` while `previous` (if any) still exists
/// elsewhere, and forgets the provisioning state of a previous deployment
/// whose local cloud has stopped.
fn check_replacement(previous: Option<&Deployment>, next: &Deployment) -> Result<()> {
    let Some(previous) = previous else {
        return Ok(());
    };
    let previous_alive = match &previous.endpoint {
        Some(endpoint) => crate::local::status()?.map(|r| r.endpoint).as_ref() == Some(endpoint),
        None => true,
    };
    match replacement(previous, next, previous_alive) {
        Replacement::Same => Ok(()),
        Replacement::Stale => remove_if_present(&provision_state_file()),
        Replacement::Elsewhere => bail!(
            "a deployment to {} ({}, consumer account {}) is recorded in {}, and its resources would be left untracked: run `cargo xtask destroy` before deploying elsewhere",
            previous.target,
            previous.region,
            previous.consumer.account,
            deployment_file().display()
        ),
    }
}

fn remove_if_present(file: &std::path::Path) -> Result<()> {
    std::fs::remove_file(file)
        .or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        })
        .with_context(|| format!("removing {}", file.display()))
}

/// One word for a planned change.
pub(crate) fn change_verb(change: &Change) -> &'static str {
    match change {
        Change::Create { .. } => "created",
        Change::Update { .. } => "updated",
        Change::Delete { .. } => "deleted",
        _ => "kept",
    }
}

/// `cargo xtask exercise`.
pub(crate) fn exercise(args: &ExerciseArgs) -> Result<()> {
    let deployment = read_deployment()?;
    let runtime = runtime()?;
    let mut progress = Progress::new(args.json);
    let options = ExerciseOptions {
        operations: args.operations,
        keys_per_account: args.keys,
        seed: args.seed,
        timeout: Duration::from_secs(args.timeout),
        ..ExerciseOptions::default()
    };
    let report = runtime.block_on(async {
        let (consumer, sources) = configs(&deployment).await?;
        let (demo, _) = demo_accounts(&deployment, &consumer, &sources)?;
        let (usage, tenants) = scenario_clients(&demo, &consumer, &sources);
        progress
            .step(
                &format!(
                    "write {} random inserts, updates and deletes and wait for the totals",
                    options.operations
                ),
                async { Ok(scenario::exercise(&tenants, &usage, &options).await?) },
            )
            .await
    })?;
    print_exercise(&progress, &report, args.json);
    Ok(())
}

pub(crate) fn print_exercise(
    progress: &Progress,
    report: &scenario::ExerciseReport,
    json_output: bool,
) {
    if json_output {
        println!(
            "{}",
            json!({
                "inserts": report.inserts,
                "updates": report.updates,
                "deletes": report.deletes,
                "totals": report.totals.0.iter().map(|(tenant, t)| (tenant.to_string(), json!({"documents": t.documents, "pages": t.pages}))).collect::<serde_json::Map<_, _>>(),
                "converged_after_seconds": report.converged_after.as_secs_f64(),
                "latency_seconds": report.latencies.iter().map(|(a, d)| (a.to_string(), json!(d.as_secs_f64()))).collect::<serde_json::Map<_, _>>(),
                "steps": progress.steps(),
            })
        );
        return;
    }
    progress.say(format!(
        "wrote {} inserts, {} updates, {} deletes",
        report.inserts, report.updates, report.deletes
    ));
    progress.say(format!(
        "tenant-usage agrees with the source tables (documents/pages): {}",
        report.totals
    ));
    progress.say(format!(
        "converged {:.0} ms after the last write",
        report.converged_after.as_secs_f64() * 1000.0
    ));
    for (account, latency) in &report.latencies {
        progress.say(format!(
            "end-to-end latency, write in {account} → total in the consumer account: {:.0} ms",
            latency.as_secs_f64() * 1000.0
        ));
    }
}

/// `cargo xtask status`.
pub(crate) fn status(args: &RecordArgs) -> Result<()> {
    let deployment = read_deployment()?;
    let runtime = runtime()?;
    let mappings = runtime.block_on(async {
        let (consumer, _) = configs(&deployment).await?;
        let lambda = aws_sdk_lambda::Client::new(&consumer);
        // Every page: a consumer of many tenant accounts has a mapping each.
        let listed: Vec<_> = lambda
            .list_event_source_mappings()
            .function_name(FUNCTION_NAME)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .context("listing the function's event source mappings")?;
        Ok::<_, anyhow::Error>(
            listed
                .iter()
                .map(|m| {
                    json!({
                        "uuid": m.uuid(),
                        "stream": m.event_source_arn(),
                        "state": m.state(),
                        "last_processing_result": m.last_processing_result(),
                    })
                })
                .collect::<Vec<_>>(),
        )
    })?;
    if args.json {
        println!(
            "{}",
            json!({"deployment": deployment, "mappings": mappings})
        );
        return Ok(());
    }
    println!(
        "deployed to {} ({}), consumer account {}, tenant accounts {}",
        deployment.target,
        deployment.region,
        deployment.consumer.account,
        deployment
            .sources
            .iter()
            .map(|s| s.account.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if mappings.is_empty() {
        println!("the function {FUNCTION_NAME} has no event source mappings");
    }
    for mapping in &mappings {
        println!(
            "mapping {} from {}: {}, last processing result: {}",
            mapping["uuid"].as_str().unwrap_or("?"),
            mapping["stream"].as_str().unwrap_or("?"),
            mapping["state"].as_str().unwrap_or("?"),
            mapping["last_processing_result"]
                .as_str()
                .unwrap_or("(none yet)")
        );
    }
    Ok(())
}

/// `cargo xtask destroy`.
pub(crate) fn destroy_deployment(args: &RecordArgs) -> Result<()> {
    let Some(deployment) = read_deployment_if_any()? else {
        if args.json {
            println!("{}", json!({"removed": [], "note": "nothing was deployed"}));
        } else {
            println!(
                "nothing to destroy: no deployment is recorded in {}",
                deployment_file().display()
            );
        }
        return Ok(());
    };
    if let Some(endpoint) = &deployment.endpoint
        && crate::local::status()?.map(|r| r.endpoint).as_ref() != Some(endpoint)
    {
        // The local cloud keeps nothing across restarts: what deploy made
        // went with it, so only the records remain to be removed.
        for file in [deployment_file(), provision_state_file()] {
            remove_if_present(&file)?;
        }
        if args.json {
            println!(
                "{}",
                json!({"removed": [], "note": "the local cloud had stopped"})
            );
        } else {
            println!(
                "the local cloud at {endpoint} has stopped and took the deployment with it; removed the records"
            );
        }
        return Ok(());
    }
    let runtime = runtime()?;
    let mut progress = Progress::new(args.json);
    let waits = deployment.waits();
    let removed = runtime.block_on(async {
        let (consumer, sources) = configs(&deployment).await?;
        let (_, accounts) = demo_accounts(&deployment, &consumer, &sources)?;
        let path = provision_state_file();
        let mut state = StateFile::load(&path)?;
        progress
            .step(
                "destroy everything deploy created, in reverse order",
                async {
                    let removed = destroy(&accounts, &waits, &mut state).await;
                    state.save(&path)?;
                    Ok(removed?)
                },
            )
            .await
    })?;
    let lines: Vec<String> = removed.iter().map(ToString::to_string).collect();
    std::fs::remove_file(deployment_file())
        .with_context(|| format!("removing {}", deployment_file().display()))?;
    if args.json {
        println!("{}", json!({"removed": lines, "steps": progress.steps()}));
    } else {
        for line in &lines {
            println!("  {line}");
        }
        println!("{}", destroyed_line(&deployment));
    }
    Ok(())
}

/// The last line of a destroy of `deployment`.
fn destroyed_line(deployment: &Deployment) -> &'static str {
    if deployment.endpoint.is_some() {
        "destroyed; the local cloud keeps running until `cargo xtask local stop`"
    } else {
        "destroyed"
    }
}

/// Options of `cargo xtask logs`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct LogsArgs {
    /// How many of the most recent lines to show
    #[arg(long, default_value_t = 50)]
    lines: usize,
    /// Print one JSON object: `lines` (local cloud) or `command` (AWS)
    #[arg(long)]
    json: bool,
}

/// `cargo xtask logs`: the function's recent log lines, from the local
/// cloud's function log (`GET /2015-03-31/functions/NAME/logs`, signed
/// like any Lambda call).
pub(crate) fn logs(args: &LogsArgs) -> Result<()> {
    let deployment = read_deployment()?;
    let Some(endpoint) = &deployment.endpoint else {
        // CloudWatch Logs is not read here: say how to read it.
        let command = cloudwatch_tail_command(&deployment);
        if args.json {
            println!("{}", json!({ "command": command }));
        } else {
            println!("the function's logs on AWS are in CloudWatch Logs; read them with:");
            println!("{command}");
        }
        return Ok(());
    };
    let text = local_function_logs(endpoint, &deployment.region, &deployment.consumer.account)?;
    let lines: Vec<&str> = text.lines().collect();
    let recent = lines
        .get(lines.len().saturating_sub(args.lines)..)
        .unwrap_or_default();
    if args.json {
        println!("{}", json!({ "lines": recent }));
    } else {
        for line in recent {
            println!("{line}");
        }
    }
    Ok(())
}

/// The AWS CLI command that follows the function's CloudWatch log group
/// of an AWS `deployment`.
fn cloudwatch_tail_command(deployment: &Deployment) -> String {
    format!(
        "aws logs tail /aws/lambda/{FUNCTION_NAME} --follow --profile {} --region {}",
        deployment
            .consumer
            .profile
            .as_deref()
            .unwrap_or("CONSUMER_PROFILE"),
        deployment.region
    )
}

/// The function log of the demo function on the local cloud at `endpoint`,
/// read as the consumer account's root with a SigV4-signed GET.
fn local_function_logs(endpoint: &str, region: &str, account: &str) -> Result<String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    use aws_sigv4::sign::v4;
    use std::io::{Read, Write};

    let authority = endpoint
        .strip_prefix("http://")
        .with_context(|| format!("the local cloud's endpoint {endpoint} is not http://HOST:PORT"))?
        .trim_end_matches('/');
    let path = format!("/2015-03-31/functions/{FUNCTION_NAME}/logs");
    let url = format!("http://{authority}{path}");
    let identity = Credentials::new(account, LOCAL_SECRET, None, None, "streamgate-local").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("lambda")
        .time(std::time::SystemTime::now())
        .settings(SigningSettings::default())
        .build()
        .context("preparing the request signature")?
        .into();
    let headers = [("host", authority)];
    let signable = SignableRequest::new(
        "GET",
        &url,
        headers.iter().copied(),
        SignableBody::Bytes(&[]),
    )
    .context("preparing the request signature")?;
    let (instructions, _) = sign(signable, &params)
        .context("signing the request")?
        .into_parts();
    let mut request = format!("GET {path} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (name, value) in instructions.headers() {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut stream = std::net::TcpStream::connect(authority).with_context(|| {
        format!(
            "connecting to the local cloud at {endpoint}: is it running? (cargo xtask local status)"
        )
    })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .context("reading the function log")?;
    let header_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("the local cloud's answer has no header end")?;
    let (head, body) = response.split_at(header_end);
    let body = body.get(4..).unwrap_or_default();
    let head = String::from_utf8_lossy(head);
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        bail!(
            "the local cloud answered {status}: {}",
            String::from_utf8_lossy(body)
        );
    }
    let chunked = head.lines().any(|l| {
        l.to_ascii_lowercase()
            .starts_with("transfer-encoding: chunked")
    });
    // Chunk sizes count bytes, and a chunk may end inside a character, so
    // the body is joined as bytes and only then read as text.
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// The body of a chunked HTTP/1.1 message, or what is wrong with it (a
/// truncated log must not pass for the whole one).
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("a chunk's size line has no end")?;
        let (size_line, rest) = body.split_at(line_end);
        let rest = rest.get(2..).unwrap_or_default();
        let size_text = String::from_utf8_lossy(size_line);
        // A size may carry extensions after `;`.
        let digits = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(digits, 16)
            .with_context(|| format!("a chunk size is not hexadecimal: {size_text:?}"))?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest
            .get(..size)
            .with_context(|| format!("a chunk of {size} bytes ends after {}", rest.len()))?;
        out.extend_from_slice(chunk);
        body = rest
            .get(size..)
            .and_then(|after| after.strip_prefix(b"\r\n"))
            .context("a chunk is not followed by its line end")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(input: &[u8], expected: Expect) {
        let actual = match dechunk(input) {
            Ok(body) => format!("{:?}", String::from_utf8_lossy(&body)),
            Err(e) => format!("error: {e:#}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn chunked_bodies_are_joined_and_bad_ones_refused() {
        check(
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            expect![[r#""hello world""#]],
        );
        check(b"0\r\n\r\n", expect![[r#""""#]]);
        check(b"3;name=x\r\nabc\r\n0\r\n\r\n", expect![[r#""abc""#]]);
        // A character split over two chunks is whole once they are joined.
        check(
            b"4\r\nn\xc3\xa9\xe2\r\n3\r\n\x86\x92.\r\n0\r\n\r\n",
            expect![[r#""né→.""#]],
        );
        check(
            b"3\r\nabc\r\nzz\r\nrest",
            expect![[
                r#"error: a chunk size is not hexadecimal: "zz": invalid digit found in string"#
            ]],
        );
        check(
            b"9\r\nshort",
            expect!["error: a chunk of 9 bytes ends after 5"],
        );
        check(
            b"3\r\nabcX",
            expect!["error: a chunk is not followed by its line end"],
        );
        check(
            b"3\r\nabc\r\n",
            expect!["error: a chunk's size line has no end"],
        );
    }

    #[test]
    fn the_region_is_the_flag_then_the_consumer_profile_s_then_the_default() {
        assert_eq!(
            deploy_region(Some("us-east-2"), Some("eu-central-1")),
            "us-east-2"
        );
        assert_eq!(deploy_region(None, Some("eu-central-1")), "eu-central-1");
        assert_eq!(deploy_region(None, None), DEFAULT_REGION);
    }

    #[test]
    fn a_deployment_elsewhere_is_refused_until_the_recorded_one_is_gone() {
        let local = |port: u16| {
            Deployment::local(format!("http://127.0.0.1:{port}"), "eu-west-1".to_owned())
        };
        let aws = |region: &str| Deployment {
            target: "aws".to_owned(),
            region: region.to_owned(),
            endpoint: None,
            consumer: AccountProfile {
                account: "123456789012".to_owned(),
                profile: Some("billing".to_owned()),
            },
            sources: Vec::new(),
        };
        let not_started = || {
            let mut planned = local(0);
            planned.endpoint = None;
            planned
        };
        let mut renamed = aws("eu-west-1");
        renamed.consumer.profile = Some("billing-admin".to_owned());
        let cases = [
            (local(4577), local(4577), true, Replacement::Same),
            (local(4577), local(4600), false, Replacement::Stale),
            (local(4577), aws("eu-west-1"), false, Replacement::Stale),
            (local(4577), aws("eu-west-1"), true, Replacement::Elsewhere),
            (aws("eu-west-1"), aws("eu-west-1"), true, Replacement::Same),
            (aws("eu-west-1"), renamed, true, Replacement::Same),
            (
                aws("eu-west-1"),
                aws("us-east-1"),
                true,
                Replacement::Elsewhere,
            ),
            (aws("eu-west-1"), local(4577), true, Replacement::Elsewhere),
            // Checked before a local cloud starts: nothing runs yet.
            (local(4577), not_started(), false, Replacement::Stale),
            (
                aws("eu-west-1"),
                not_started(),
                true,
                Replacement::Elsewhere,
            ),
        ];
        for (previous, next, alive, expected) in cases {
            assert_eq!(
                replacement(&previous, &next, alive),
                expected,
                "{previous:?} -> {next:?}"
            );
        }
    }

    #[test]
    fn destroy_mentions_the_local_cloud_only_for_a_local_deployment() {
        let local = Deployment::local("http://127.0.0.1:4577".to_owned(), "eu-west-1".to_owned());
        assert_eq!(
            destroyed_line(&local),
            "destroyed; the local cloud keeps running until `cargo xtask local stop`"
        );
        let mut aws = local;
        aws.target = "aws".to_owned();
        aws.endpoint = None;
        assert_eq!(destroyed_line(&aws), "destroyed");
    }

    #[test]
    fn logs_on_aws_name_the_command_that_reads_them() {
        let deployment = Deployment {
            target: "aws".to_owned(),
            region: "eu-central-1".to_owned(),
            endpoint: None,
            consumer: AccountProfile {
                account: "123456789012".to_owned(),
                profile: Some("billing".to_owned()),
            },
            sources: Vec::new(),
        };
        assert_eq!(
            cloudwatch_tail_command(&deployment),
            "aws logs tail /aws/lambda/billing-aggregator --follow --profile billing --region eu-central-1"
        );
    }

    #[test]
    fn a_missing_deployment_record_is_no_deployment() {
        let dir = std::env::temp_dir().join(format!("xtask-deploy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("deployment.json");
        assert_eq!(read_deployment_at(&path).unwrap(), None);
        let local = Deployment::local("http://127.0.0.1:4577".to_owned(), "eu-west-1".to_owned());
        std::fs::write(&path, serde_json::to_string(&local).unwrap()).unwrap();
        assert_eq!(read_deployment_at(&path).unwrap(), Some(local));
        std::fs::write(&path, "{").unwrap();
        assert!(read_deployment_at(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_deployment_record_round_trips() {
        let deployment = Deployment {
            target: "aws".to_owned(),
            region: "eu-west-1".to_owned(),
            endpoint: None,
            consumer: AccountProfile {
                account: "111111111111".to_owned(),
                profile: Some("billing".to_owned()),
            },
            sources: vec![AccountProfile {
                account: "222222222222".to_owned(),
                profile: Some("tenant-b".to_owned()),
            }],
        };
        let text = serde_json::to_string(&deployment).unwrap();
        let back: Deployment = serde_json::from_str(&text).unwrap();
        assert_eq!(back, deployment);
    }
}
