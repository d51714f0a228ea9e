//! # 02 — decode stream records
//!
//! Teaches: turning the Lambda event of a DynamoDB stream into typed change
//! events with `streamgate::records`, reading images into your own struct in
//! the same decode, telling absent images from empty ones, spotting TTL
//! deletions, and what to do with a bad record: stop there and report it by
//! its sequence number, leaving the records after it for Lambda to deliver
//! again (example 03's `StreamHandler` does exactly that for you).
//!
//! Input: the event below, as Lambda delivers it for a table `documents`
//! whose stream has the view type NEW_AND_OLD_IMAGES (its fourth record is
//! deliberately broken: a page count with a fraction; the fifth is fine but
//! comes after it). Then two one-record events side by side: an insert
//! from a KEYS_ONLY stream, which carries no image (absent: `None`), and
//! one whose new image is present but holds no attribute (`Some` of an
//! empty item).
//!
//! Run: `cargo run --example 02_decode_records`

use serde::Deserialize;
use streamgate::records::{Change, Item, decode_event_as, to_item};

/// One row of the `documents` table, borrowing its strings from the event.
#[derive(Debug, Deserialize, serde::Serialize)]
struct Document<'a> {
    tenant: &'a str,
    title: String,
    pages: u32,
    tags: Vec<String>,
}

const EVENT: &str = r#"{"Records": [
  {"eventID": "1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"ApproximateCreationDateTime": 1714564800, "Keys": {"id": {"S": "doc-1"}},
     "NewImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "title": {"S": "Q1 invoice"},
                  "pages": {"N": "12"}, "tags": {"SS": ["billing", "q1"]}},
     "SequenceNumber": "100", "SizeBytes": 90, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "2", "eventName": "MODIFY", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"Keys": {"id": {"S": "doc-1"}},
     "OldImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "title": {"S": "Q1 invoice"},
                  "pages": {"N": "12"}, "tags": {"SS": ["billing", "q1"]}},
     "NewImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "title": {"S": "Q1 invoice (final)"},
                  "pages": {"N": "14"}, "tags": {"SS": ["billing", "q1", "final"]}},
     "SequenceNumber": "101", "SizeBytes": 180, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "3", "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
   "dynamodb": {"Keys": {"id": {"S": "doc-1"}},
     "OldImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "title": {"S": "Q1 invoice (final)"},
                  "pages": {"N": "14"}, "tags": {"SS": ["billing", "q1", "final"]}},
     "SequenceNumber": "102", "SizeBytes": 90, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "4", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"Keys": {"id": {"S": "doc-2"}},
     "NewImage": {"id": {"S": "doc-2"}, "tenant": {"S": "acme"}, "title": {"S": "scan"},
                  "pages": {"N": "2.5"}, "tags": {"SS": ["scan"]}},
     "SequenceNumber": "103", "SizeBytes": 70, "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "5", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"Keys": {"id": {"S": "doc-3"}},
     "NewImage": {"id": {"S": "doc-3"}, "tenant": {"S": "acme"}, "title": {"S": "contract"},
                  "pages": {"N": "4"}, "tags": {"SS": ["legal"]}},
     "SequenceNumber": "104", "SizeBytes": 70, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
]}"#;

/// An insert from a KEYS_ONLY stream: the keys, no image at all.
const KEYS_ONLY_EVENT: &str = r#"{"Records": [
  {"eventID": "6", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/audit/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"Keys": {"id": {"S": "doc-4"}},
     "SequenceNumber": "200", "SizeBytes": 20, "StreamViewType": "KEYS_ONLY"}}
]}"#;

/// An insert whose new image is there but holds no attribute.
const EMPTY_IMAGE_EVENT: &str = r#"{"Records": [
  {"eventID": "7", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
   "dynamodb": {"Keys": {"id": {"S": "doc-5"}}, "NewImage": {},
     "SequenceNumber": "105", "SizeBytes": 20, "StreamViewType": "NEW_AND_OLD_IMAGES"}}
]}"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Every image goes straight into `Document`, with no intermediate tree.
    let records = decode_event_as::<Document>(EVENT.as_bytes())?;
    let mut first_failure = None;
    for (index, record) in records.iter().enumerate() {
        let event = match record {
            Ok(event) => event,
            Err(bad) => {
                // Stop at the first bad record and report only it, by its
                // sequence number (in a partial batch response). Lambda
                // resumes the shard from the lowest sequence number reported,
                // so every later record is delivered again: handling them
                // now too would apply them twice.
                println!("failed: {bad}");
                first_failure = Some((index, bad));
                break;
            }
        };
        let table = event.source.as_ref().map_or("?", |arn| arn.table_name());
        let key = event.keys.get("id").and_then(|id| id.as_s()).unwrap_or("?");
        match &event.change {
            Change::Insert {
                new_image: Some(doc),
            } => {
                println!(
                    "{table}: {key} inserted: {} pages for {}",
                    doc.pages, doc.tenant
                )
            }
            Change::Modify {
                old_image: Some(old),
                new_image: Some(new),
            } => println!(
                "{table}: {key} modified: {} -> {} pages, tags now {:?}",
                old.pages, new.pages, new.tags
            ),
            Change::Remove { old_image } if event.is_ttl_delete() => println!(
                "{table}: {key} expired (TTL), had {} pages",
                old_image.as_ref().map_or(0, |d| d.pages)
            ),
            // `None` here means the stream's view type does not carry that
            // image: it is never confused with an empty item.
            other => println!(
                "{table}: {key} {:?} without the images we need",
                other.kind()
            ),
        }
    }
    match first_failure {
        None => println!("batch item failures: none"),
        Some((index, bad)) => {
            match &bad.sequence_number {
                Some(sequence_number) => println!("batch item failure: {sequence_number}"),
                // Nothing to report it by: fail the whole invocation instead,
                // and Lambda retries the batch.
                None => return Err(bad.clone().into()),
            }
            let later: Vec<_> = records
                .iter()
                .skip(index.saturating_add(1))
                .filter_map(|r| match r {
                    Ok(event) => Some(event.sequence_number.as_ref()),
                    Err(bad) => bad.sequence_number.as_deref(),
                })
                .collect();
            println!("left for Lambda to deliver again: {later:?}");
        }
    }

    // Absent is not empty: an image the view type does not carry is `None`;
    // an image that is there with no attribute is `Some` of an empty item.
    for (name, event) in [
        ("KEYS_ONLY stream", KEYS_ONLY_EVENT),
        ("empty new image", EMPTY_IMAGE_EVENT),
    ] {
        for record in decode_event_as::<Item>(event.as_bytes())? {
            let record = record?;
            let key = record
                .keys
                .get("id")
                .and_then(|id| id.as_s())
                .unwrap_or("?");
            match record.change.new_image() {
                None => println!("{name}: {key} has no new image (absent)"),
                Some(image) => println!(
                    "{name}: {key} has a new image with {} attributes (present)",
                    image.len()
                ),
            }
        }
    }

    // And back: a user struct becomes an item in DynamoDB JSON.
    let doc = Document {
        tenant: "acme",
        title: "Q2 invoice".into(),
        pages: 3,
        tags: vec!["billing".into()],
    };
    println!("as an item: {}", to_item(&doc)?);
    Ok(())
}
