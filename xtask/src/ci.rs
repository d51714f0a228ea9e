//! `cargo xtask ci`: every check, in the order that fails fastest, each step
//! printed with its duration; stops non-zero at the first failure.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// Options of `cargo xtask ci`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Skip the slow steps' rebuild of documentation
    #[arg(long)]
    no_doc: bool,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let sh = Shell::new()?;
    sh.change_dir(crate::project_root());
    let cargo = crate::cargo();
    let started = Instant::now();

    step("format", || {
        cmd!(sh, "{cargo} fmt --all --check").run()?;
        Ok(())
    })?;
    step("clippy", || {
        cmd!(
            sh,
            "{cargo} clippy --workspace --all-targets --locked -- -D warnings"
        )
        .run()?;
        Ok(())
    })?;
    step("tests", || {
        cmd!(sh, "{cargo} test --workspace --all-targets --locked").run()?;
        Ok(())
    })?;
    step("records conversions from aws_lambda_events", || {
        // The feature's crates are built for the records benches anyway, so
        // this costs one more build of the crate. The `sdk` feature is not
        // built here: aws-sdk-dynamodbstreams is slow to compile; run
        // `cargo test -p streamgate-records --features sdk` when touching it.
        cmd!(
            sh,
            "{cargo} test -p streamgate-records --features lambda-events --lib --locked"
        )
        .run()?;
        Ok(())
    })?;
    step("doc tests", || {
        cmd!(sh, "{cargo} test --workspace --doc --locked").run()?;
        Ok(())
    })?;
    if !args.no_doc {
        step("docs", || {
            let _env = sh.push_env("RUSTDOCFLAGS", "-D warnings");
            cmd!(sh, "{cargo} doc --workspace --no-deps --locked").run()?;
            Ok(())
        })?;
    }
    println!(
        "ci: every step passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs one named step, printing its start, its duration and its outcome.
fn step(name: &str, body: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("ci: {name} ...");
    let started = Instant::now();
    let result = body().with_context(|| format!("ci step `{name}` failed"));
    let secs = started.elapsed().as_secs_f64();
    match &result {
        Ok(()) => println!("ci: {name} ok ({secs:.1}s)"),
        Err(_) => println!("ci: {name} FAILED ({secs:.1}s)"),
    }
    result
}
