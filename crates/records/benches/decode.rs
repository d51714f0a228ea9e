//! Decoding a 1,000-record Lambda event (about 1 KB per record, mixed
//! attribute types) into typed user structs, three ways in one run:
//! - `ours`: `decode_event_as::<Document>` (and a borrowing variant);
//! - `ours_raw`: `decode_event`, images kept as raw JSON and not decoded;
//! - `ours_raw_then_typed`: `decode_event`, then `new_image::<Document>()`
//!   on each record (what a consumer does);
//! - `peer`: aws_lambda_events' `Event` then `serde_dynamo::from_item`;
//! - `floor`: serde_json scanning the same bytes into `IgnoredAny`;
//! - references: serde_json decoding the same documents from plain JSON
//!   (no DynamoDB wrappers, no envelope) into the owned and the borrowing
//!   struct, and scanning them into `IgnoredAny`: how far above its own
//!   scan the fastest serde decoder lands on simpler JSON.
//!
//! Run: `cargo bench -p streamgate-records -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

mod support;

use support::{
    floor, generate_event, new_images, ours, ours_borrowed, ours_raw, ours_raw_then_typed, peer,
    plain_borrowed, plain_documents, plain_floor, plain_owned,
};

fn bench(c: &mut Criterion) {
    let event = generate_event(1000);
    let bytes = event.as_bytes();
    // The three decoders must agree before they are timed.
    let reference = peer(bytes);
    assert_eq!(new_images(ours(bytes)), reference);
    assert_eq!(ours_raw_then_typed(bytes), reference);
    assert_eq!(ours_raw(bytes).len(), reference.len());
    let borrowed = new_images(ours_borrowed(bytes));
    assert_eq!(borrowed.len(), reference.len());
    assert_eq!(borrowed[7].body, reference[7].body);
    assert_eq!(borrowed[7].address.city, reference[7].address.city);
    eprintln!(
        "input: {} records, {} bytes ({} bytes per record)",
        1000,
        bytes.len(),
        bytes.len() / 1000
    );
    let plain = plain_documents(bytes);
    let plain = plain.as_bytes();
    assert_eq!(plain_owned(plain), reference);
    eprintln!("plain documents: {} bytes", plain.len());
    let mut group = c.benchmark_group("decode_1000_records");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("ours", |b| b.iter(|| ours(black_box(bytes))));
    group.bench_function("ours_borrowed", |b| {
        b.iter(|| ours_borrowed(black_box(bytes)))
    });
    group.bench_function("ours_raw", |b| b.iter(|| ours_raw(black_box(bytes))));
    group.bench_function("ours_raw_then_typed", |b| {
        b.iter(|| ours_raw_then_typed(black_box(bytes)))
    });
    group.bench_function("peer_aws_lambda_events_serde_dynamo", |b| {
        b.iter(|| peer(black_box(bytes)))
    });
    group.bench_function("floor_serde_json_ignored_any", |b| {
        b.iter(|| floor(black_box(bytes)))
    });
    group.bench_function("reference_plain_owned", |b| {
        b.iter(|| plain_owned(black_box(plain)))
    });
    group.bench_function("reference_plain_borrowed", |b| {
        b.iter(|| plain_borrowed(black_box(plain)))
    });
    group.bench_function("reference_plain_floor", |b| {
        b.iter(|| plain_floor(black_box(plain)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
