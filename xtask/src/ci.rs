//! `cargo xtask ci`: every check, in the order that fails fastest, each step
//! printed with its duration; stops non-zero at the first failure.
//!
//! Every step builds with `--all-features`, so optional conversions and
//! readers are checked and tested too; one feature set also means one build
//! of each dependency.

use std::time::Instant;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// Options of `cargo xtask ci`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Skip building the documentation
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
            "{cargo} clippy --workspace --all-targets --all-features --locked -- -D warnings"
        )
        .run()?;
        Ok(())
    })?;
    step("tests", || {
        cmd!(
            sh,
            "{cargo} test --workspace --all-targets --all-features --locked"
        )
        .run()?;
        Ok(())
    })?;
    step("doc tests", || {
        cmd!(sh, "{cargo} test --workspace --doc --all-features --locked").run()?;
        Ok(())
    })?;
    step("examples", || run_examples(&sh, &cargo))?;
    if !args.no_doc {
        step("docs", || {
            let _env = sh.push_env("RUSTDOCFLAGS", "-D warnings");
            cmd!(
                sh,
                "{cargo} doc --workspace --no-deps --all-features --locked"
            )
            .run()?;
            Ok(())
        })?;
    }
    println!(
        "ci: every step passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs every example of the tutorial, in order, so that none can rot: each
/// must exit 0.
fn run_examples(sh: &Shell, cargo: &str) -> Result<()> {
    let dir = crate::project_root().join("examples");
    let mut names: Vec<String> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| {
                let path = e.path();
                let is_rust = path.extension().is_some_and(|x| x == "rs");
                let stem = path.file_stem()?.to_str()?.to_owned();
                is_rust.then_some(stem)
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    names.sort();
    // Example 06 deploys the demo function on the local cloud: package a
    // dev-profile build, which reuses what the test step compiled.
    crate::build::build(crate::build::Toolchain::HostDebug, true)
        .context("building the demo function for the examples")?;
    if names.is_empty() {
        println!("ci: no examples yet");
    }
    for name in names {
        println!("ci: example {name}");
        cmd!(
            sh,
            "{cargo} run --quiet --locked --all-features --example {name}"
        )
        .run()
        .with_context(|| format!("example `{name}` failed"))?;
    }
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
