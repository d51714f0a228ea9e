//! Decoding a 1,000-record Lambda event (about 1 KB per record, mixed
//! attribute types) into typed user structs, three ways in one run:
//! - `ours`: `decode_event_as::<Document>` (and a borrowing variant);
//! - `peer`: aws_lambda_events' `Event` then `serde_dynamo::from_item`;
//! - `floor`: serde_json scanning the same bytes into `IgnoredAny`;
//! - a reference: serde_json decoding the same documents from plain JSON
//!   (no DynamoDB wrappers, no envelope) into the borrowing struct, which
//!   bounds what any serde-based typed decoder can reach.
//!
//! Run: `cargo bench -p streamgate-records -- --warm-up-time 1 --measurement-time 3`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::borrow::Cow;
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;

#[derive(Deserialize, Debug, PartialEq)]
struct Address {
    street: String,
    city: String,
    zip: String,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Revision {
    at: u64,
    by: String,
}

/// The user's type, owned: what both ours and the peer produce.
#[derive(Deserialize, Debug, PartialEq)]
struct Document {
    id: String,
    tenant: String,
    title: String,
    pages: u32,
    bytes: u64,
    price: f64,
    draft: bool,
    reviewer: Option<String>,
    tags: Vec<String>,
    scores: Vec<u32>,
    address: Address,
    history: Vec<Revision>,
    body: String,
}

/// The same type borrowing its strings from the input, which only our
/// decoder can offer (the peer owns an intermediate tree).
#[derive(Deserialize, Debug, PartialEq)]
struct BorrowedDocument<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(borrow)]
    tenant: Cow<'a, str>,
    #[serde(borrow)]
    title: Cow<'a, str>,
    pages: u32,
    bytes: u64,
    price: f64,
    draft: bool,
    #[serde(borrow)]
    reviewer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    tags: Vec<Cow<'a, str>>,
    scores: Vec<u32>,
    #[serde(borrow)]
    address: BorrowedAddress<'a>,
    history: Vec<Revision>,
    #[serde(borrow)]
    body: Cow<'a, str>,
}

#[derive(Deserialize, Debug, PartialEq)]
struct BorrowedAddress<'a> {
    #[serde(borrow)]
    street: Cow<'a, str>,
    #[serde(borrow)]
    city: Cow<'a, str>,
    #[serde(borrow)]
    zip: Cow<'a, str>,
}

/// A small deterministic generator, so every run decodes the same bytes.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
}

const WORDS: &[&str] = &[
    "invoice",
    "ledger",
    "tenant",
    "stream",
    "policy",
    "billing",
    "record",
    "page",
    "archive",
    "summary",
    "quarterly",
    "report",
    "scan",
    "contract",
    "receipt",
];

fn words(rng: &mut Lcg, n: usize) -> String {
    (0..n)
        .map(|_| WORDS[(rng.next() as usize) % WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// The generated Lambda event: `records` records of about 1 KB each.
pub fn generate_event(records: usize) -> String {
    let mut rng = Lcg(42);
    let arn =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
    let mut out = String::from("{\"Records\":[");
    for i in 0..records {
        if i > 0 {
            out.push(',');
        }
        let id = format!("doc-{i:06}");
        let tenant = format!("tenant-{}", rng.next() % 50);
        let name = if i % 2 == 0 { "INSERT" } else { "MODIFY" };
        let tags: Vec<String> = (0..3)
            .map(|k| format!("\"{}-{k}\"", words(&mut rng, 1)))
            .collect();
        let scores: Vec<String> = (0..4)
            .map(|k| format!("\"{}\"", rng.next() % 1000 + k * 1000))
            .collect();
        let history: Vec<String> = (0..3)
            .map(|_| {
                format!(
                    "{{\"M\":{{\"at\":{{\"N\":\"{}\"}},\"by\":{{\"S\":\"user-{}\"}}}}}}",
                    1_714_000_000 + rng.next() % 1_000_000,
                    rng.next() % 100
                )
            })
            .collect();
        let reviewer = if i % 3 == 0 {
            "{\"NULL\":true}".to_owned()
        } else {
            format!("{{\"S\":\"reviewer-{}\"}}", rng.next() % 20)
        };
        out.push_str(&format!(
            concat!(
                "{{\"eventID\":\"{event_id:032x}\",\"eventName\":\"{name}\",\"eventVersion\":\"1.1\",",
                "\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",",
                "\"dynamodb\":{{\"ApproximateCreationDateTime\":{time},",
                "\"Keys\":{{\"id\":{{\"S\":\"{id}\"}}}},",
                "\"NewImage\":{{\"id\":{{\"S\":\"{id}\"}},\"tenant\":{{\"S\":\"{tenant}\"}},",
                "\"title\":{{\"S\":\"{title}\"}},\"pages\":{{\"N\":\"{pages}\"}},",
                "\"bytes\":{{\"N\":\"{bytes}\"}},\"price\":{{\"N\":\"{price}.{cents:02}\"}},",
                "\"draft\":{{\"BOOL\":{draft}}},\"reviewer\":{reviewer},",
                "\"tags\":{{\"SS\":[{tags}]}},\"scores\":{{\"NS\":[{scores}]}},",
                "\"address\":{{\"M\":{{\"street\":{{\"S\":\"{street} street {num}\"}},",
                "\"city\":{{\"S\":\"{city}\"}},\"zip\":{{\"S\":\"{zip:05}\"}}}}}},",
                "\"history\":{{\"L\":[{history}]}},",
                "\"body\":{{\"S\":\"{body}\"}}}},",
                "\"SequenceNumber\":\"{seq}\",\"SizeBytes\":{size},\"StreamViewType\":\"NEW_IMAGE\"}},",
                "\"eventSourceARN\":\"{arn}\"}}"
            ),
            event_id = u128::from(rng.next()) << 64 | u128::from(rng.next()),
            name = name,
            time = 1_714_564_800 + i,
            id = id,
            tenant = tenant,
            title = words(&mut rng, 5),
            pages = rng.next() % 500,
            bytes = rng.next() * 1000,
            price = rng.next() % 10_000,
            cents = rng.next() % 100,
            draft = i % 4 == 0,
            reviewer = reviewer,
            tags = tags.join(","),
            scores = scores.join(","),
            street = words(&mut rng, 2),
            num = rng.next() % 200,
            city = words(&mut rng, 1),
            zip = rng.next() % 100_000,
            history = history.join(","),
            body = words(&mut rng, 45),
            seq = 100_000_000_000_000_000_000u128 + i as u128,
            size = 900 + rng.next() % 100,
            arn = arn,
        ));
    }
    out.push_str("]}");
    out
}

fn ours(bytes: &[u8]) -> Vec<Document> {
    let records = streamgate_records::decode_event_as::<Document>(bytes).unwrap();
    records
        .into_iter()
        .map(|r| match r.unwrap().change {
            streamgate_records::Change::Insert { new_image }
            | streamgate_records::Change::Modify { new_image, .. } => new_image.unwrap(),
            streamgate_records::Change::Remove { .. } => panic!("no removes generated"),
        })
        .collect()
}

fn ours_borrowed(bytes: &[u8]) -> Vec<BorrowedDocument<'_>> {
    let records = streamgate_records::decode_event_as::<BorrowedDocument>(bytes).unwrap();
    records
        .into_iter()
        .map(|r| match r.unwrap().change {
            streamgate_records::Change::Insert { new_image }
            | streamgate_records::Change::Modify { new_image, .. } => new_image.unwrap(),
            streamgate_records::Change::Remove { .. } => panic!("no removes generated"),
        })
        .collect()
}

fn peer(bytes: &[u8]) -> Vec<Document> {
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_slice(bytes).unwrap();
    event
        .records
        .into_iter()
        .map(|record| serde_dynamo::from_item(record.change.new_image).unwrap())
        .collect()
}

fn floor(bytes: &[u8]) -> serde::de::IgnoredAny {
    serde_json::from_slice(bytes).unwrap()
}

/// The images of the event as plain JSON documents: `{"id": "doc-1", ...}`.
fn plain_documents(bytes: &[u8]) -> String {
    let records = streamgate_records::decode_event_as::<serde_json::Value>(bytes).unwrap();
    let documents: Vec<serde_json::Value> = records
        .into_iter()
        .map(|r| r.unwrap().change.new_image().unwrap().clone())
        .collect();
    let plain = serde_json::to_string(&documents).unwrap();
    eprintln!("plain documents: {} bytes", plain.len());
    plain
}

fn bench(c: &mut Criterion) {
    let event = generate_event(1000);
    let bytes = event.as_bytes();
    // The three decoders must agree before they are timed.
    let reference = peer(bytes);
    assert_eq!(ours(bytes), reference);
    let borrowed = ours_borrowed(bytes);
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
    let mut group = c.benchmark_group("decode_1000_records");
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    group.bench_function("ours", |b| b.iter(|| ours(black_box(bytes))));
    group.bench_function("ours_borrowed", |b| {
        b.iter(|| ours_borrowed(black_box(bytes)))
    });
    group.bench_function("peer_aws_lambda_events_serde_dynamo", |b| {
        b.iter(|| peer(black_box(bytes)))
    });
    group.bench_function("floor_serde_json_ignored_any", |b| {
        b.iter(|| floor(black_box(bytes)))
    });
    group.bench_function("reference_serde_json_plain_documents", |b| {
        b.iter(|| {
            serde_json::from_slice::<Vec<BorrowedDocument>>(black_box(plain.as_bytes())).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
