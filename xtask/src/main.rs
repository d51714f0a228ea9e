//! `cargo xtask`: the project's automation, an ordinary workspace member
//! reached through the cargo alias in `.cargo/config.toml`.
//!
//! One module per task. Nested cargo runs go through `$CARGO`; the project
//! root comes from `CARGO_MANIFEST_DIR`. Run `cargo xtask` with no argument
//! for the list of tasks.
//!
//! Dependencies: `clap` for the command line, `xshell` to run commands
//! without a shell's quoting pitfalls, `anyhow` for errors with context,
//! `streamgate-policy` for `cargo xtask policy`, `streamgate-records` for
//! `records decode`, `zip` (deflate only) for the function's deployment
//! package, `serde_json` for `--json` output. The demo's tasks (`deploy`,
//! `exercise`, `status`, `logs`, `destroy`, `demo`) use `demo-billing`'s
//! scenario, `streamgate-provision`, `streamgate-local` (the in-process
//! cloud of `demo`), `tokio` to run them, `aws-config` to load profiles
//! (the only place that reads them), `aws-types` and the SDK clients of
//! DynamoDB, DynamoDB Streams, Lambda and STS; `serde` for the deployment
//! record.

mod bench;
mod build;
mod ci;
mod demo;
mod deploy;
mod local;
mod policy;
mod records;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use xshell::{Shell, cmd};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "streamgate's project tasks")]
struct Cli {
    #[command(subcommand)]
    task: Option<Task>,
}

#[derive(Subcommand)]
enum Task {
    /// Run every bench (short settings) and print each median against the fastest of its group
    Bench(bench::Args),
    /// Build the demo function as target/lambda/demo-billing/bootstrap.zip
    Build(build::Args),
    /// Run every check CI runs: fmt, clippy, tests, doc tests, docs
    Ci(ci::Args),
    /// Run the whole cross-account story on a fresh in-process local cloud
    Demo,
    /// Deploy the demo: local cloud by default, AWS with --consumer-profile and --source-profile
    Deploy(deploy::TargetArgs),
    /// Write random documents in the tenant accounts and check the totals converge
    Exercise(deploy::ExerciseArgs),
    /// Show the deployment and each event source mapping's state
    Status(deploy::RecordArgs),
    /// Show the function's recent log lines
    Logs(deploy::LogsArgs),
    /// Remove everything deploy created
    Destroy(deploy::RecordArgs),
    /// Start, stop or show the background local cloud: `local start|stop|status`
    Local(local::Args),
    /// Lint a policy file, or evaluate a request against policy files
    Policy(Box<policy::Args>),
    /// Decode stream records: `records decode FILE`
    Records(records::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.task {
        None => {
            print_tasks();
            Ok(())
        }
        Some(Task::Bench(args)) => bench::run(&args),
        Some(Task::Build(args)) => build::run(&args),
        Some(Task::Ci(args)) => ci::run(&args),
        Some(Task::Demo) => demo::run(),
        Some(Task::Deploy(args)) => deploy::deploy(&args),
        Some(Task::Exercise(args)) => deploy::exercise(&args),
        Some(Task::Status(args)) => deploy::status(&args),
        Some(Task::Logs(args)) => deploy::logs(&args),
        Some(Task::Destroy(args)) => deploy::destroy_deployment(&args),
        Some(Task::Local(args)) => local::run(&args),
        // Its own exit codes: 1 for lint errors, 2 for bad input.
        Some(Task::Policy(args)) => return policy::run(&args),
        // Its exit status says more than success or failure (see records.rs).
        Some(Task::Records(args)) => return records::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prints one line per task, from clap's own descriptions so the list never
/// drifts from the parser.
fn print_tasks() {
    use clap::CommandFactory;
    let cli = Cli::command();
    println!("cargo xtask TASK, where TASK is one of:");
    for task in cli.get_subcommands() {
        let about = task
            .get_about()
            .map(ToString::to_string)
            .unwrap_or_default();
        println!("  {:<10} {about}", task.get_name());
    }
}

/// The workspace root: the parent of this package's manifest directory.
fn project_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo that runs this xtask, so nested builds use the same toolchain.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}

/// The workspace's `cargo metadata --no-deps` JSON, as `cargo` prints it
/// in `sh`'s directory.
fn workspace_metadata(sh: &Shell, cargo: &str) -> anyhow::Result<String> {
    cmd!(sh, "{cargo} metadata --no-deps --format-version 1")
        .quiet()
        .read()
        .context("reading the workspace's metadata")
}

/// Where cargo puts what it compiles: `target_directory` of the metadata,
/// which follows `CARGO_TARGET_DIR` and `build.target-dir`.
fn target_directory(sh: &Shell, cargo: &str) -> anyhow::Result<PathBuf> {
    target_directory_of(&workspace_metadata(sh, cargo)?)
}

/// `target_directory` of `cargo metadata`'s JSON.
fn target_directory_of(metadata_json: &str) -> anyhow::Result<PathBuf> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata_json).context("cargo metadata printed no JSON")?;
    metadata
        .get("target_directory")
        .and_then(serde_json::Value::as_str)
        .map(PathBuf::from)
        .context("cargo metadata names no target_directory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_directory_is_read_from_the_metadata() {
        assert_eq!(
            target_directory_of(r#"{"packages": [], "target_directory": "/shared/target"}"#)
                .unwrap(),
            PathBuf::from("/shared/target")
        );
        let error = target_directory_of(r#"{"packages": []}"#).unwrap_err();
        assert_eq!(
            error.to_string(),
            "cargo metadata names no target_directory"
        );
    }

    #[test]
    fn this_workspace_s_target_directory_follows_cargo_target_dir() {
        let sh = Shell::new().unwrap();
        sh.change_dir(project_root());
        let _env = sh.push_env("CARGO_TARGET_DIR", "/tmp/xtask-elsewhere/target");
        assert_eq!(
            target_directory(&sh, &cargo()).unwrap(),
            PathBuf::from("/tmp/xtask-elsewhere/target")
        );
    }
}
