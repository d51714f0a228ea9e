//! Memory: the resident size of a stream holding a million retained records
//! (NEW_AND_OLD_IMAGES, small items), read from `/proc/self/status`.
//! Under `cargo test` (no `--bench` argument) it stores 10,000 records to
//! check that it runs.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use streamgate_local::state::ShardRollover;
use streamgate_local::streams::{Change, EventName, Stream, ViewType};

fn resident_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let records: u64 = if benching { 1_000_000 } else { 10_000 };
    let before = resident_kib();
    let mut stream = Stream::new(
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents",
        "documents",
        "2024-05-01T12:00:00.000".into(),
        json!([{ "AttributeName": "pk", "KeyType": "HASH" }]),
        ViewType::NewAndOldImages,
        0,
    );
    let now = streamgate_local::clock::wall_millis();
    for n in 0..records {
        let keys = json!({ "pk": { "S": format!("doc-{n}") } });
        let old = json!({ "pk": { "S": format!("doc-{n}") }, "tenant": { "S": "tenant-b" }, "pages": { "N": n.to_string() } });
        let new = json!({ "pk": { "S": format!("doc-{n}") }, "tenant": { "S": "tenant-b" }, "pages": { "N": (n + 1).to_string() } });
        stream.append(
            ShardRollover::default(),
            now,
            Change {
                event: EventName::Modify,
                keys: &keys,
                old_image: Some(&old),
                new_image: Some(&new),
                size_bytes: 80,
            },
        );
    }
    assert_eq!(stream.record_count() as u64, records);
    let after = resident_kib();
    match (before, after) {
        (Some(before), Some(after)) => {
            let grown = after.saturating_sub(before);
            println!(
                "retained_records: {records} records, resident {} MiB ({} MiB grown, {} bytes per record)",
                after / 1024,
                grown / 1024,
                grown * 1024 / records
            );
        }
        _ => println!(
            "retained_records: {records} records; resident size unknown (no /proc/self/status)"
        ),
    }
}
