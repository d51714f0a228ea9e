//! What both decode benches share: the user's types, the generated event
//! and the decoders compared, each doing the same job on the same bytes:
//! - `ours`: `decode_event_as::<Document>` (and a borrowing variant);
//! - `peer`: aws_lambda_events' `Event` then `serde_dynamo::from_item`;
//! - `floor`: serde_json scanning the same bytes into `IgnoredAny`;
//! - references that say what serde_json itself reaches on the same
//!   documents written as plain JSON (no `{"S": ...}` wrappers, no
//!   envelope): decoded into the owned struct (`plain_owned`) and scanned
//!   into `IgnoredAny` (`plain_floor`). Their ratio is the one the target
//!   asks of ours, for the fastest serde decoder on simpler JSON.

use std::borrow::Cow;

use serde::Deserialize;

#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct Address {
    pub(crate) street: String,
    pub(crate) city: String,
    pub(crate) zip: String,
}

#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct Revision {
    pub(crate) at: u64,
    pub(crate) by: String,
}

/// The user's type, owned: what both ours and the peer produce.
#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct Document {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) title: String,
    pub(crate) pages: u32,
    pub(crate) bytes: u64,
    pub(crate) price: f64,
    pub(crate) draft: bool,
    pub(crate) reviewer: Option<String>,
    pub(crate) tags: Vec<String>,
    pub(crate) scores: Vec<u32>,
    pub(crate) address: Address,
    pub(crate) history: Vec<Revision>,
    pub(crate) body: String,
}

/// The same type borrowing its strings from the input, which only our
/// decoder can offer (the peer owns an intermediate tree).
#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct BorrowedDocument<'a> {
    #[serde(borrow)]
    pub(crate) id: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) tenant: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) title: Cow<'a, str>,
    pub(crate) pages: u32,
    pub(crate) bytes: u64,
    pub(crate) price: f64,
    pub(crate) draft: bool,
    #[serde(borrow)]
    pub(crate) reviewer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub(crate) tags: Vec<Cow<'a, str>>,
    pub(crate) scores: Vec<u32>,
    #[serde(borrow)]
    pub(crate) address: BorrowedAddress<'a>,
    pub(crate) history: Vec<Revision>,
    #[serde(borrow)]
    pub(crate) body: Cow<'a, str>,
}

#[derive(Deserialize, Debug, PartialEq)]
pub(crate) struct BorrowedAddress<'a> {
    #[serde(borrow)]
    pub(crate) street: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) city: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) zip: Cow<'a, str>,
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
pub(crate) fn generate_event(records: usize) -> String {
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

/// What `decode_event_as` gives: a result per record, each change event
/// holding the user's struct.
pub(crate) type Decoded<'a, T> =
    Vec<Result<streamgate_records::ChangeEvent<'a, T>, streamgate_records::RecordError>>;

/// Ours: the batch decoded straight into owned `Document`s, inside the
/// change events a handler then walks (what the floor is compared with:
/// the decoder's own output, not a list rebuilt from it).
#[inline(never)]
pub(crate) fn ours(bytes: &[u8]) -> Decoded<'_, Document> {
    streamgate_records::decode_event_as::<Document>(bytes).unwrap()
}

/// Ours, into `Document`s that borrow their strings from the input.
#[inline(never)]
pub(crate) fn ours_borrowed(bytes: &[u8]) -> Decoded<'_, BorrowedDocument<'_>> {
    streamgate_records::decode_event_as::<BorrowedDocument>(bytes).unwrap()
}

/// The new images of decoded records, in order: how the checks outside the
/// timed code compare ours with the peer.
pub(crate) fn new_images<T>(records: Decoded<'_, T>) -> Vec<T> {
    records
        .into_iter()
        .map(|r| match r.unwrap().change {
            streamgate_records::Change::Insert { new_image }
            | streamgate_records::Change::Modify { new_image, .. } => new_image.unwrap(),
            streamgate_records::Change::Remove { .. } => panic!("no removes generated"),
        })
        .collect()
}

/// Ours, images kept raw: the batch decoded with `decode_event` (keys and
/// metadata, no image decoded); the result is dropped by the caller.
#[inline(never)]
pub(crate) fn ours_raw(bytes: &[u8]) -> Vec<streamgate_records::ChangeEvent<'_>> {
    streamgate_records::decode_event(bytes)
        .unwrap()
        .into_iter()
        .map(Result::unwrap)
        .collect()
}

/// Ours, the consumer's path: `decode_event`, then `new_image::<Document>()`
/// on each record.
#[inline(never)]
pub(crate) fn ours_raw_then_typed(bytes: &[u8]) -> Vec<Document> {
    streamgate_records::decode_event(bytes)
        .unwrap()
        .into_iter()
        .map(|r| r.unwrap().new_image::<Document>().unwrap().unwrap())
        .collect()
}

/// The peer: aws_lambda_events' event, then serde_dynamo per image.
#[inline(never)]
pub(crate) fn peer(bytes: &[u8]) -> Vec<Document> {
    let event: aws_lambda_events::event::dynamodb::Event = serde_json::from_slice(bytes).unwrap();
    event
        .records
        .into_iter()
        .map(|record| serde_dynamo::from_item(record.change.new_image).unwrap())
        .collect()
}

/// The floor: serde_json checking the same bytes, building nothing.
#[inline(never)]
pub(crate) fn floor(bytes: &[u8]) -> serde::de::IgnoredAny {
    serde_json::from_slice(bytes).unwrap()
}

/// The images of `event` as plain JSON documents, `[{"id": "doc-1", ...}]`:
/// what serde_json's own typed decoding is measured on.
pub(crate) fn plain_documents(event: &[u8]) -> String {
    let records = streamgate_records::decode_event_as::<serde_json::Value>(event).unwrap();
    let documents: Vec<serde_json::Value> = records
        .into_iter()
        .map(|r| r.unwrap().change.new_image().unwrap().clone())
        .collect();
    serde_json::to_string(&documents).unwrap()
}

/// Reference: serde_json decoding the plain documents into owned `Document`s.
#[inline(never)]
pub(crate) fn plain_owned(plain: &[u8]) -> Vec<Document> {
    serde_json::from_slice(plain).unwrap()
}

/// Reference: serde_json decoding the plain documents into `Document`s that
/// borrow their strings.
#[inline(never)]
pub(crate) fn plain_borrowed(plain: &[u8]) -> Vec<BorrowedDocument<'_>> {
    serde_json::from_slice(plain).unwrap()
}

/// Reference: serde_json scanning the plain documents, building nothing.
#[inline(never)]
pub(crate) fn plain_floor(plain: &[u8]) -> serde::de::IgnoredAny {
    serde_json::from_slice(plain).unwrap()
}
