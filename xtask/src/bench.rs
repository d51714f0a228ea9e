//! `cargo xtask bench`: every benchmark of the workspace, one package a
//! step, then one table of what criterion measured in this run, each
//! median beside its ratio to the fastest of its group, so that a figure is
//! read against the peer measured in the same run, never alone.
//!
//! Short settings by default (`--warm-up-time 1 --measurement-time 3`):
//! enough to compare within one run on a busy machine; `--full` keeps
//! criterion's own. The benches that are plain programs (end-to-end latency,
//! memory, the decode profile) print their own figures as they run.

use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// The packages that have benches, in the order they run.
const PACKAGES: &[&str] = &[
    "streamgate-policy",
    "streamgate-records",
    "streamgate-provision",
    "streamgate-local",
];

/// Options of `cargo xtask bench`.
#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only this package's benches (repeatable)
    #[arg(long = "package", short = 'p', value_name = "NAME")]
    packages: Vec<String>,
    /// Criterion's own warm-up and measurement times instead of the short ones
    #[arg(long)]
    full: bool,
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let packages = chosen_packages(&args.packages)?;
    let sh = Shell::new()?;
    let root = crate::project_root();
    sh.change_dir(&root);
    let cargo = crate::cargo();
    let started = SystemTime::now();
    let short: &[&str] = if args.full {
        &[]
    } else {
        &["--warm-up-time", "1", "--measurement-time", "3"]
    };
    let metadata = crate::workspace_metadata(&sh, &cargo)?;
    let criterion = criterion_home(
        std::env::var_os("CRITERION_HOME").map(PathBuf::from),
        &crate::target_directory_of(&metadata)?,
    );
    for package in &packages {
        // Each bench target by name: `--benches` would also hand the
        // criterion options to the library's test harness, which refuses them.
        let targets: Vec<String> = bench_targets(&metadata, package)?
            .into_iter()
            .flat_map(|name| ["--bench".to_owned(), name])
            .collect();
        println!("▸ bench {package} ...");
        let step = Instant::now();
        cmd!(
            sh,
            "{cargo} bench --locked -p {package} {targets...} -- {short...}"
        )
        .run()
        .with_context(|| format!("the benches of {package} failed"))?;
        println!("  done in {:.1}s", step.elapsed().as_secs_f64());
    }
    let measured = read_estimates(&criterion, started)?;
    print!("{}", summary(&measured));
    Ok(())
}

/// Where criterion writes its measurements, as criterion decides it:
/// `CRITERION_HOME`, else `criterion` in the cargo target directory.
fn criterion_home(criterion_home: Option<PathBuf>, target_dir: &Path) -> PathBuf {
    criterion_home.unwrap_or_else(|| target_dir.join("criterion"))
}

/// The packages to bench: all by default, else the named ones, each checked.
fn chosen_packages(named: &[String]) -> Result<Vec<&'static str>> {
    if named.is_empty() {
        return Ok(PACKAGES.to_vec());
    }
    named
        .iter()
        .map(|name| {
            PACKAGES
                .iter()
                .find(|p| **p == name.as_str())
                .copied()
                .with_context(|| {
                    format!(
                        "`{name}` has no benches; packages with benches: {}",
                        PACKAGES.join(", ")
                    )
                })
        })
        .collect()
}

/// The names of `package`'s bench targets, from `cargo metadata`'s JSON.
fn bench_targets(metadata_json: &str, package: &str) -> Result<Vec<String>> {
    let metadata: serde_json::Value =
        serde_json::from_str(metadata_json).context("cargo metadata printed no JSON")?;
    let found = metadata
        .get("packages")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(package))
        .with_context(|| format!("package `{package}` is not in the workspace"))?;
    let names: Vec<String> = found
        .get("targets")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .filter(|t| {
            t.get("kind")
                .and_then(|k| k.as_array())
                .is_some_and(|kinds| kinds.iter().any(|k| k == "bench"))
        })
        .filter_map(|t| t.get("name").and_then(|n| n.as_str()).map(str::to_owned))
        .collect();
    if names.is_empty() {
        anyhow::bail!("package `{package}` has no bench targets");
    }
    Ok(names)
}

/// One criterion measurement: its group, its function and its median.
#[derive(Debug, PartialEq)]
struct Measured {
    group: String,
    function: String,
    median_nanos: f64,
}

/// The medians criterion wrote at or after `since`, from its
/// `GROUP/FUNCTION/new/estimates.json` files; empty when there are none.
fn read_estimates(criterion: &Path, since: SystemTime) -> Result<Vec<Measured>> {
    let mut measured = Vec::new();
    for group in sorted_dirs(criterion)? {
        for function in sorted_dirs(&group)? {
            let file = function.join("new/estimates.json");
            let Ok(metadata) = std::fs::metadata(&file) else {
                continue;
            };
            if metadata.modified().is_ok_and(|at| at < since) {
                continue; // from an earlier run: not comparable
            }
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let median_nanos =
                median_of(&text).with_context(|| format!("no median in {}", file.display()))?;
            measured.push(Measured {
                group: file_name(&group),
                function: file_name(&function),
                median_nanos,
            });
        }
    }
    Ok(measured)
}

/// The median's point estimate, in nanoseconds, of an `estimates.json`.
fn median_of(estimates_json: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(estimates_json).ok()?;
    value.pointer("/median/point_estimate")?.as_f64()
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && file_name(p) != "report")
        .collect();
    dirs.sort();
    Ok(dirs)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// One line per measurement: group, function, median, and how many times
/// the fastest of its group it took.
fn summary(measured: &[Measured]) -> String {
    if measured.is_empty() {
        return "no criterion measurement was written by this run\n".to_owned();
    }
    let mut out =
        String::from("criterion medians of this run (x = times the fastest of its group):\n");
    let width = measured
        .iter()
        .map(|m| m.group.len() + m.function.len() + 1)
        .max()
        .unwrap_or_default();
    for m in measured {
        let fastest = measured
            .iter()
            .filter(|other| other.group == m.group)
            .map(|other| other.median_nanos)
            .fold(f64::INFINITY, f64::min);
        let name = format!("{}/{}", m.group, m.function);
        out.push_str(&format!(
            "  {name:<width$}  {:>12}  {:>7.2}x\n",
            human(m.median_nanos),
            m.median_nanos / fastest
        ));
    }
    out
}

/// A duration in nanoseconds in the unit that reads best.
fn human(nanos: f64) -> String {
    if nanos >= 1e9 {
        format!("{:.2} s", nanos / 1e9)
    } else if nanos >= 1e6 {
        format!("{:.2} ms", nanos / 1e6)
    } else if nanos >= 1e3 {
        format!("{:.2} µs", nanos / 1e3)
    } else {
        format!("{nanos:.0} ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;

    fn measured(group: &str, function: &str, median_nanos: f64) -> Measured {
        Measured {
            group: group.to_owned(),
            function: function.to_owned(),
            median_nanos,
        }
    }

    #[test]
    fn criterion_writes_under_its_home_or_the_cargo_target_directory() {
        let target = Path::new("/shared/target");
        assert_eq!(
            criterion_home(None, target),
            Path::new("/shared/target/criterion")
        );
        assert_eq!(
            criterion_home(Some(PathBuf::from("/c")), target),
            Path::new("/c")
        );
    }

    #[test]
    fn each_median_is_read_against_the_fastest_of_its_group() {
        let table = summary(&[
            measured("decode", "ours", 3_000_000.0),
            measured("decode", "peer", 12_000_000.0),
            measured("put_item", "streamgate-local", 315_000.0),
        ]);
        expect![[r#"
            criterion medians of this run (x = times the fastest of its group):
              decode/ours                     3.00 ms     1.00x
              decode/peer                    12.00 ms     4.00x
              put_item/streamgate-local     315.00 µs     1.00x
        "#]]
        .assert_eq(&table);
        expect![[r#"
            no criterion measurement was written by this run
        "#]]
        .assert_eq(&summary(&[]));
    }

    #[test]
    fn only_estimates_written_by_this_run_are_read() {
        let dir = std::env::temp_dir().join(format!("xtask-bench-{}", std::process::id()));
        let write = |group: &str, function: &str, median: &str| {
            let at = dir.join(group).join(function).join("new");
            std::fs::create_dir_all(&at).unwrap();
            std::fs::write(
                at.join("estimates.json"),
                format!(
                    r#"{{"mean":{{"point_estimate":1.0}},"median":{{"point_estimate":{median}}}}}"#
                ),
            )
            .unwrap();
        };
        write("old", "f", "5.0");
        let since = SystemTime::now() + std::time::Duration::from_secs(3600);
        assert_eq!(read_estimates(&dir, since).unwrap(), []);
        write("decode", "ours", "2.5");
        let all = read_estimates(&dir, SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(
            all,
            [measured("decode", "ours", 2.5), measured("old", "f", 5.0)]
        );
        write("broken", "f", "\"x\"");
        let error = read_estimates(&dir, SystemTime::UNIX_EPOCH).unwrap_err();
        assert!(
            format!("{error:#}").starts_with("no median in"),
            "{error:#}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(read_estimates(&dir, SystemTime::UNIX_EPOCH).unwrap(), []);
    }

    #[test]
    fn bench_targets_are_read_from_cargo_metadata() {
        let metadata = r#"{"packages":[
            {"name":"streamgate-policy","targets":[
                {"name":"streamgate_policy","kind":["lib"]},
                {"name":"evaluate","kind":["bench"]},
                {"name":"corpus","kind":["test"]}]},
            {"name":"xtask","targets":[{"name":"xtask","kind":["bin"]}]}]}"#;
        assert_eq!(
            bench_targets(metadata, "streamgate-policy").unwrap(),
            ["evaluate"]
        );
        expect!["package `xtask` has no bench targets"]
            .assert_eq(&bench_targets(metadata, "xtask").unwrap_err().to_string());
        expect!["package `nope` is not in the workspace"]
            .assert_eq(&bench_targets(metadata, "nope").unwrap_err().to_string());
    }

    #[test]
    fn unknown_packages_are_refused_by_name() {
        assert_eq!(chosen_packages(&[]).unwrap(), PACKAGES);
        assert_eq!(
            chosen_packages(&["streamgate-records".to_owned()]).unwrap(),
            ["streamgate-records"]
        );
        let error = chosen_packages(&["xtask".to_owned()]).unwrap_err();
        expect!["`xtask` has no benches; packages with benches: streamgate-policy, streamgate-records, streamgate-provision, streamgate-local"]
            .assert_eq(&error.to_string());
    }
}
