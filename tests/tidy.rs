//! Tidy checks, run by `cargo test`: the conventions a machine can see, as
//! ARCHITECTURE.md lists them under `tests/tidy.rs`. Each rule is a function from file text to problems, so
//! the rules themselves are tested on small literal inputs below.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every package directory: each `crates/*` and `xtask`.
fn packages() -> Vec<PathBuf> {
    let mut dirs = vec![root().join("xtask")];
    if let Ok(entries) = fs::read_dir(root().join("crates")) {
        for entry in entries.flatten() {
            if entry.path().join("Cargo.toml").is_file() {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort();
    dirs
}

/// Every `.rs` file below `dir`, skipping build output.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && !name.to_string_lossy().starts_with('.') {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Problems with a package manifest: it must inherit the workspace's lints
/// and package fields.
fn manifest_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let inherited = [
        "version",
        "edition",
        "rust-version",
        "license",
        "repository",
    ];
    for field in inherited {
        if !text.contains(&format!("{field}.workspace = true")) {
            problems.push(format!("does not inherit `{field}` from the workspace"));
        }
    }
    if !text.contains("[lints]\nworkspace = true") {
        problems.push("does not inherit the workspace lints ([lints] workspace = true)".into());
    }
    problems
}

/// Problems with one source file's text.
fn source_problems(text: &str, needs_module_doc: bool) -> Vec<String> {
    let mut problems = Vec::new();
    if needs_module_doc && !text.trim_start().starts_with("//!") {
        problems.push("has no module documentation (`//!` at the top)".into());
    }
    // Spelled in pieces so that this file does not trip its own rule.
    let forbidden = [
        concat!("todo", "!("),
        concat!("unimplemented", "!("),
        concat!("dbg", "!("),
    ];
    for (number, line) in text.lines().enumerate() {
        let number = number + 1;
        if line.ends_with(' ') || line.ends_with('\t') {
            problems.push(format!("line {number}: trailing whitespace"));
        }
        for needle in forbidden {
            if line.contains(needle) {
                problems.push(format!("line {number}: `{needle}` left in the code"));
            }
        }
    }
    problems
}

#[test]
fn workspace_is_tidy() {
    let mut problems = Vec::new();
    for package in packages() {
        let manifest = package.join("Cargo.toml");
        let text = fs::read_to_string(&manifest).unwrap();
        for p in manifest_problems(&text) {
            problems.push(format!("{}: {p}", manifest.display()));
        }
        let has_root = ["src/lib.rs", "src/main.rs"]
            .iter()
            .any(|f| package.join(f).is_file());
        if !has_root {
            problems.push(format!(
                "{}: has neither src/lib.rs nor src/main.rs",
                package.display()
            ));
        }
    }
    let mut files = Vec::new();
    for dir in ["src", "crates", "xtask", "tests", "examples", "benches"] {
        rust_files(&root().join(dir), &mut files);
    }
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let relative = file.strip_prefix(root()).unwrap_or(&file);
        // Every module of library and binary code is documented; test,
        // bench and example files document themselves as they see fit.
        let in_src = relative.components().any(|c| c.as_os_str() == "src");
        for p in source_problems(&text, in_src) {
            problems.push(format!("{}: {p}", relative.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "tidy problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn manifest_rule_sees_missing_inheritance() {
    let good = "version.workspace = true\nedition.workspace = true\nrust-version.workspace = true\n\
                license.workspace = true\nrepository.workspace = true\n[lints]\nworkspace = true\n";
    assert_eq!(manifest_problems(good), Vec::<String>::new());
    let bad = "version = \"0.1.0\"\nedition.workspace = true\n";
    let problems = manifest_problems(bad);
    assert!(
        problems.iter().any(|p| p.contains("`version`")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("lints")), "{problems:?}");
}

#[test]
fn source_rule_sees_whitespace_stubs_and_missing_docs() {
    assert_eq!(
        source_problems("//! doc\nfn f() {}\n", true),
        Vec::<String>::new()
    );
    let text = format!("fn f() {{ {}) }} \n", concat!("todo", "!("));
    let problems = source_problems(&text, true);
    assert_eq!(
        problems,
        vec![
            "has no module documentation (`//!` at the top)".to_owned(),
            "line 1: trailing whitespace".to_owned(),
            format!("line 1: `{}` left in the code", concat!("todo", "!(")),
        ]
    );
    assert_eq!(source_problems("fn f() {}\n", false), Vec::<String>::new());
}
