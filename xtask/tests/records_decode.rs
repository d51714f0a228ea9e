//! `cargo xtask records decode FILE` as a user runs it: one JSON line per
//! record on stdout, and the exit status 0 (all decoded), 1 (some record
//! failed) or 2 (not an event, or unreadable).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../crates/records/tests/fixtures")
        .join(name)
}

/// Runs the decoder on `file`; returns its exit code and stdout.
fn decode(file: &PathBuf) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["records", "decode"])
        .arg(file)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
    )
}

#[test]
fn every_record_decoded_exits_0() {
    let (code, stdout) = decode(&fixture("lambda_event.json"));
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["eventName"], "MODIFY");
    assert_eq!(lines[1]["sequenceNumber"], "4421584500000000017450439092");
    assert_eq!(lines[1]["keys"]["Id"]["N"], "101");
}

#[test]
fn a_failed_record_exits_1_and_is_printed_with_its_error() {
    let (code, stdout) = decode(&fixture("bad_records.json"));
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["eventID"], "ok");
    assert_eq!(lines[1]["field"], "dynamodb.NewImage.n");
    assert!(
        lines[1]["error"]
            .as_str()
            .unwrap()
            .contains("39 significant digits")
    );
    assert_eq!(lines[5]["eventID"], "ok-after");
}

#[test]
fn not_an_event_or_missing_file_exits_2() {
    assert_eq!(decode(&fixture("not_an_event.json")).0, 2);
    assert_eq!(decode(&fixture("no_such_file.json")).0, 2);
}
