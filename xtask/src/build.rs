//! `cargo xtask build`: the demo function as
//! `target/lambda/demo-billing/bootstrap.zip`, cargo-lambda's layout: one
//! executable `bootstrap` (mode 0755), deflated.
//!
//! What the binary is built for depends on where it runs. For the local
//! cloud (the default, and what `deploy` to the local cloud and `demo` use)
//! it is a host build, which the local cloud runs as a process of this
//! machine. For AWS Lambda (`--lambda`, and `deploy` to AWS) it is built
//! with cargo-lambda or cargo-zigbuild for x86_64 Amazon Linux 2023, and
//! refused before compiling anything when neither is installed. `--debug`
//! is a host build with the dev profile and the feature resolution of
//! `cargo xtask ci`'s test step (`--workspace --all-features`, with example
//! 06, which needs it, so that dev-dependencies count as they do for tests),
//! so it reuses the binary that step compiled instead of compiling the AWS
//! SDK crates again in release mode (CI's example step uses it).
//!
//! Compiled binaries are found in the cargo target directory that
//! `cargo metadata` reports (`CARGO_TARGET_DIR` and `build.target-dir`
//! included); the package is written under the project's own `target/`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};
use zip::CompressionMethod;
use zip::write::{SimpleFileOptions, ZipWriter};

use crate::{cargo, project_root};

/// The function's package and binary name.
const FUNCTION: &str = "demo-billing";
/// The target cargo-lambda and cargo-zigbuild build for: x86_64 Lambda
/// against the glibc of Amazon Linux 2023.
const LAMBDA_TARGET: &str = "x86_64-unknown-linux-gnu.2.34";

/// The deflate level of the package: the fastest. On the 36 MB dev build
/// of the function it packs 13 MB instead of level 6's 10 MB in about a
/// tenth of the time (0.25 s against 2.5 s, deflate optimised in dev).
const DEFLATE_LEVEL: i64 = 1;

/// Arguments of `cargo xtask build`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Print one JSON object instead of progress lines
    #[arg(long)]
    json: bool,
    /// A host build with the dev profile (for the local cloud only):
    /// reuses the binary `cargo xtask ci`'s test step built
    #[arg(long, conflicts_with = "lambda")]
    debug: bool,
    /// Build for AWS Lambda with cargo-lambda or cargo-zigbuild instead of
    /// for the local cloud
    #[arg(long)]
    lambda: bool,
}

/// Where the function is going to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Destination {
    /// The local cloud, which runs `bootstrap` as a process of this machine.
    Local,
    /// AWS Lambda (`provided.al2023`, x86_64).
    Lambda,
}

/// The cross-building tools found on this machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct CrossTools {
    /// `cargo lambda` answers.
    pub(crate) cargo_lambda: bool,
    /// `cargo-zigbuild` answers.
    pub(crate) cargo_zigbuild: bool,
}

impl CrossTools {
    /// Asks each tool for its version.
    fn probe(sh: &Shell, cargo: &str) -> Self {
        let answers = |command: Vec<String>| {
            let Some((program, args)) = command.split_first() else {
                return false;
            };
            cmd!(sh, "{program} {args...}")
                .quiet()
                .ignore_stdout()
                .ignore_stderr()
                .run()
                .is_ok()
        };
        Self {
            cargo_lambda: answers(probe_command(cargo, CrossTool::CargoLambda)),
            cargo_zigbuild: answers(probe_command(cargo, CrossTool::CargoZigbuild)),
        }
    }
}

/// A tool that builds for Lambda from any host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CrossTool {
    CargoLambda,
    CargoZigbuild,
}

/// The command line that asks `tool` for its version. cargo-lambda's own
/// parser wants its `lambda` subcommand first (`cargo-lambda --version`
/// fails), so it is asked through cargo, as it is run; cargo-zigbuild
/// takes `--version` only at its top level.
fn probe_command(cargo: &str, tool: CrossTool) -> Vec<String> {
    let words: &[&str] = match tool {
        CrossTool::CargoLambda => &[cargo, "lambda", "--version"],
        CrossTool::CargoZigbuild => &["cargo-zigbuild", "--version"],
    };
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The toolchain for `profile` and `destination`: a host build for the
/// local cloud (a Lambda build is an x86_64 Linux binary, which need not
/// run here), a cross build for Lambda, or why there is none.
pub(crate) fn choose_toolchain(
    profile: Profile,
    destination: Destination,
    tools: CrossTools,
) -> Result<Toolchain> {
    match (destination, profile) {
        (Destination::Local, Profile::Release) => Ok(Toolchain::Host),
        (Destination::Local, Profile::Dev) => Ok(Toolchain::HostDebug),
        (Destination::Lambda, Profile::Dev) => {
            bail!("a debug build is for the local cloud only; build for Lambda without --debug")
        }
        (Destination::Lambda, Profile::Release) if tools.cargo_lambda => Ok(Toolchain::CargoLambda),
        (Destination::Lambda, Profile::Release) if tools.cargo_zigbuild => {
            Ok(Toolchain::CargoZigbuild)
        }
        (Destination::Lambda, Profile::Release) => bail!(
            "neither cargo-lambda nor cargo-zigbuild is installed, and a host build only runs on the local cloud: install one (see the README's Real AWS section) to build a function Lambda can run"
        ),
    }
}

/// Finds the cross tools and chooses the toolchain for `profile` and
/// `destination`, before anything is compiled.
pub(crate) fn toolchain_for(profile: Profile, destination: Destination) -> Result<Toolchain> {
    let tools = match destination {
        Destination::Local => CrossTools::default(),
        Destination::Lambda => {
            let sh = Shell::new()?;
            sh.change_dir(project_root());
            CrossTools::probe(&sh, &cargo())
        }
    };
    choose_toolchain(profile, destination, tools)
}

/// The cargo command line that compiles the function with `toolchain`.
fn build_command(cargo: &str, toolchain: Toolchain) -> Vec<String> {
    let words: &[&str] = match toolchain {
        Toolchain::CargoLambda => &[cargo, "lambda", "build", "--release", "--package", FUNCTION],
        Toolchain::CargoZigbuild => &[
            cargo,
            "zigbuild",
            "--release",
            "--package",
            FUNCTION,
            "--target",
            LAMBDA_TARGET,
        ],
        Toolchain::Host => &[cargo, "build", "--release", "--package", FUNCTION],
        // The feature resolution of `cargo xtask ci`'s test step, so the
        // binary that step built: the same packages and features, and an
        // example selected (the one that runs this build) so that cargo
        // unifies the dev-dependencies' features as it does for tests;
        // with `--bin` alone it leaves them out (serde's `alloc`, for one)
        // and rebuilds nearly every dependency.
        Toolchain::HostDebug => &[
            cargo,
            "build",
            "--workspace",
            "--all-features",
            "--bin",
            FUNCTION,
            "--example",
            "06_cross_account",
        ],
    };
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// Where `toolchain` leaves the binary in the cargo target directory.
fn binary_path(target_dir: &Path, toolchain: Toolchain) -> PathBuf {
    match toolchain {
        Toolchain::CargoLambda => target_dir.join("lambda").join(FUNCTION).join("bootstrap"),
        // cargo-zigbuild strips the glibc suffix from the directory name.
        Toolchain::CargoZigbuild => target_dir
            .join("x86_64-unknown-linux-gnu")
            .join("release")
            .join(FUNCTION),
        Toolchain::Host => target_dir.join("release").join(FUNCTION),
        Toolchain::HostDebug => target_dir.join("debug").join(FUNCTION),
    }
}

/// The cargo profile the function is built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// `--release`: what Lambda runs, and the default.
    Release,
    /// The dev profile, host only: quick when the tests were just built.
    Dev,
}

/// How the bootstrap binary was built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Toolchain {
    /// `cargo lambda build --release`: runs on Lambda.
    CargoLambda,
    /// `cargo zigbuild --release --target x86_64-unknown-linux-gnu.2.34`:
    /// runs on Lambda.
    CargoZigbuild,
    /// `cargo build --release` for this machine: runs on the local cloud.
    Host,
    /// `cargo build` (dev profile) for this machine: runs on the local
    /// cloud.
    HostDebug,
}

impl Toolchain {
    fn describe(self) -> &'static str {
        match self {
            Self::CargoLambda => "cargo-lambda (runs on AWS Lambda)",
            Self::CargoZigbuild => "cargo-zigbuild for x86_64 glibc 2.34 (runs on AWS Lambda)",
            Self::Host => "a host release build (runs on the local cloud only)",
            Self::HostDebug => "a host debug build (runs on the local cloud only)",
        }
    }
}

/// What `build` produced.
pub(crate) struct Built {
    /// The zip file.
    pub(crate) zip: PathBuf,
    /// How the binary was built.
    pub(crate) toolchain: Toolchain,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let profile = if args.debug {
        Profile::Dev
    } else {
        Profile::Release
    };
    let destination = if args.lambda {
        Destination::Lambda
    } else {
        Destination::Local
    };
    let toolchain = toolchain_for(profile, destination)?;
    let built = build(toolchain, !args.json)?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "zip": built.zip.display().to_string(),
                "toolchain": format!("{:?}", built.toolchain),
                "seconds": started.elapsed().as_secs_f64(),
            })
        );
    } else {
        println!(
            "built {} with {} in {:.1?}",
            built.zip.display(),
            built.toolchain.describe(),
            started.elapsed()
        );
    }
    Ok(())
}

/// Builds the function with `toolchain` (see [`toolchain_for`]) and
/// packages it; `progress` prints each step.
pub(crate) fn build(toolchain: Toolchain, progress: bool) -> Result<Built> {
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let cargo = cargo();
    let target_dir = crate::target_directory(&sh, &cargo)?;
    let step = Instant::now();
    if progress {
        println!("building {FUNCTION} with {}", toolchain.describe());
    }
    let command = build_command(&cargo, toolchain);
    if let Some((program, args)) = command.split_first() {
        cmd!(sh, "{program} {args...}").run()?;
    }
    let binary = binary_path(&target_dir, toolchain);
    if progress {
        println!("  compiled in {:.1?}", step.elapsed());
    }
    let step = Instant::now();
    let zip = root
        .join("target/lambda")
        .join(FUNCTION)
        .join("bootstrap.zip");
    write_bootstrap_zip(&binary, &zip)?;
    if progress {
        println!("  packaged {} in {:.1?}", zip.display(), step.elapsed());
    }
    Ok(Built { zip, toolchain })
}

/// Writes `binary` into a new zip at `zip` as the executable `bootstrap`.
pub(crate) fn write_bootstrap_zip(binary: &Path, zip: &Path) -> Result<()> {
    let contents =
        std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    if let Some(dir) = zip.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = File::create(zip).with_context(|| format!("creating {}", zip.display()))?;
    let mut writer = ZipWriter::new(BufWriter::new(file));
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(DEFLATE_LEVEL))
        .unix_permissions(0o755);
    writer
        .start_file("bootstrap", options)
        .with_context(|| format!("writing {}", zip.display()))?;
    writer.write_all(&contents)?;
    writer
        .finish()
        .with_context(|| format!("finishing {}", zip.display()))?
        .flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn zip_holds_one_executable_bootstrap_with_the_binary() {
        let dir = std::env::temp_dir().join(format!("xtask-build-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let binary = dir.join("demo-billing");
        let contents: Vec<u8> = (0..50_000u32).map(|i| (i % 7) as u8).collect();
        std::fs::write(&binary, &contents).unwrap();
        let zip_path = dir.join("out/bootstrap.zip");
        write_bootstrap_zip(&binary, &zip_path).unwrap();

        let mut archive = zip::ZipArchive::new(File::open(&zip_path).unwrap()).unwrap();
        assert_eq!(archive.len(), 1);
        let mut entry = archive.by_name("bootstrap").unwrap();
        assert_eq!(entry.unix_mode().map(|m| m & 0o777), Some(0o755));
        assert_eq!(entry.compression(), CompressionMethod::Deflated);
        assert!(entry.compressed_size() < entry.size());
        let mut read = Vec::new();
        entry.read_to_end(&mut read).unwrap();
        assert_eq!(read, contents);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cargo_lambda_is_asked_through_cargo_and_zigbuild_directly() {
        assert_eq!(
            probe_command("cargo", CrossTool::CargoLambda),
            ["cargo", "lambda", "--version"]
        );
        assert_eq!(
            probe_command("/x/cargo", CrossTool::CargoZigbuild),
            ["cargo-zigbuild", "--version"]
        );
    }

    #[test]
    fn the_local_cloud_gets_a_host_build_and_lambda_a_cross_build() {
        let none = CrossTools::default();
        let both = CrossTools {
            cargo_lambda: true,
            cargo_zigbuild: true,
        };
        let zig = CrossTools {
            cargo_lambda: false,
            cargo_zigbuild: true,
        };
        let choose = |profile, destination, tools| {
            choose_toolchain(profile, destination, tools).map_err(|e| e.to_string())
        };
        // Installed cross tools do not change a local build: their x86_64
        // Linux binary need not run on this machine.
        assert_eq!(
            choose(Profile::Release, Destination::Local, both),
            Ok(Toolchain::Host)
        );
        assert_eq!(
            choose(Profile::Dev, Destination::Local, both),
            Ok(Toolchain::HostDebug)
        );
        assert_eq!(
            choose(Profile::Release, Destination::Lambda, both),
            Ok(Toolchain::CargoLambda)
        );
        assert_eq!(
            choose(Profile::Release, Destination::Lambda, zig),
            Ok(Toolchain::CargoZigbuild)
        );
        let refused = choose(Profile::Release, Destination::Lambda, none).unwrap_err();
        assert!(
            refused.starts_with("neither cargo-lambda nor cargo-zigbuild is installed"),
            "{refused}"
        );
        let refused = choose(Profile::Dev, Destination::Lambda, both).unwrap_err();
        assert!(refused.contains("local cloud only"), "{refused}");
    }

    #[test]
    fn the_debug_build_uses_the_test_step_s_packages_and_features() {
        assert_eq!(
            build_command("cargo", Toolchain::HostDebug).join(" "),
            "cargo build --workspace --all-features --bin demo-billing --example 06_cross_account"
        );
        assert_eq!(
            build_command("cargo", Toolchain::CargoLambda).join(" "),
            "cargo lambda build --release --package demo-billing"
        );
    }

    #[test]
    fn binaries_are_found_in_the_cargo_target_directory() {
        let dir = Path::new("/elsewhere/target");
        assert_eq!(
            binary_path(dir, Toolchain::Host),
            Path::new("/elsewhere/target/release/demo-billing")
        );
        assert_eq!(
            binary_path(dir, Toolchain::HostDebug),
            Path::new("/elsewhere/target/debug/demo-billing")
        );
        assert_eq!(
            binary_path(dir, Toolchain::CargoLambda),
            Path::new("/elsewhere/target/lambda/demo-billing/bootstrap")
        );
        assert_eq!(
            binary_path(dir, Toolchain::CargoZigbuild),
            Path::new("/elsewhere/target/x86_64-unknown-linux-gnu/release/demo-billing")
        );
    }

    #[test]
    fn missing_binary_names_its_path() {
        let error = write_bootstrap_zip(Path::new("/no/such/binary"), Path::new("/tmp/unused.zip"))
            .unwrap_err();
        assert_eq!(
            format!("{error:#}").split(':').next(),
            Some("reading /no/such/binary")
        );
    }
}
