//! `cargo xtask build`: the demo function as
//! `target/lambda/demo-billing/bootstrap.zip`, cargo-lambda's layout: one
//! executable `bootstrap` (mode 0755), deflated.
//!
//! With cargo-lambda or cargo-zigbuild installed the binary is built for
//! Lambda (x86_64 Amazon Linux 2023's glibc); otherwise it is a host
//! release build, which runs on the local cloud but not necessarily on
//! Lambda, and the task says so. `--debug` is a host build with the dev
//! profile, for the local cloud only: it reuses what `cargo test` compiled
//! instead of compiling the AWS SDK crates again in release mode (CI's
//! example step uses it).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
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
    /// reuses the debug artifacts tests built
    #[arg(long)]
    debug: bool,
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
            Self::Host => {
                "a host release build (runs on the local cloud; install cargo-lambda or cargo-zigbuild for AWS)"
            }
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
    let built = build(profile, !args.json)?;
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

/// Builds the function with `profile` and packages it; `progress` prints
/// each step.
pub(crate) fn build(profile: Profile, progress: bool) -> Result<Built> {
    let root = project_root();
    let sh = Shell::new()?;
    sh.change_dir(&root);
    let cargo = cargo();
    let toolchain = if profile == Profile::Dev {
        Toolchain::HostDebug
    } else if on_path(&sh, "cargo-lambda") {
        Toolchain::CargoLambda
    } else if on_path(&sh, "cargo-zigbuild") {
        Toolchain::CargoZigbuild
    } else {
        Toolchain::Host
    };
    let step = Instant::now();
    if progress {
        println!("building {FUNCTION} with {}", toolchain.describe());
    }
    let binary = match toolchain {
        Toolchain::CargoLambda => {
            cmd!(sh, "{cargo} lambda build --release --package {FUNCTION}").run()?;
            root.join("target/lambda").join(FUNCTION).join("bootstrap")
        }
        Toolchain::CargoZigbuild => {
            cmd!(
                sh,
                "{cargo} zigbuild --release --package {FUNCTION} --target {LAMBDA_TARGET}"
            )
            .run()?;
            root.join("target/x86_64-unknown-linux-gnu/release")
                .join(FUNCTION)
        }
        Toolchain::Host => {
            cmd!(sh, "{cargo} build --release --package {FUNCTION}").run()?;
            root.join("target/release").join(FUNCTION)
        }
        Toolchain::HostDebug => {
            cmd!(sh, "{cargo} build --package {FUNCTION}").run()?;
            root.join("target/debug").join(FUNCTION)
        }
    };
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

fn on_path(sh: &Shell, program: &str) -> bool {
    cmd!(sh, "{program} --version")
        .quiet()
        .ignore_stdout()
        .ignore_stderr()
        .run()
        .is_ok()
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
    fn missing_binary_names_its_path() {
        let error = write_bootstrap_zip(Path::new("/no/such/binary"), Path::new("/tmp/unused.zip"))
            .unwrap_err();
        assert_eq!(
            format!("{error:#}").split(':').next(),
            Some("reading /no/such/binary")
        );
    }
}
