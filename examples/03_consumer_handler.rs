//! # 03 — a Lambda handler with partial batch failures
//!
//! Teaches: writing the per-record function of a stream consumer with
//! `streamgate::consumer`, what the partial batch response looks like when a
//! record fails (fail-fast: the failed record is reported and nothing after
//! it runs, so Lambda's retry starts exactly there), and the concurrent mode
//! that keeps each partition key's records in order (the table here has no
//! sort key, so its one key attribute is the partition key).
//!
//! Input: the batch below, as Lambda delivers it for a table `documents`
//! (NEW_AND_OLD_IMAGES). The third record carries a negative page count,
//! which the function refuses.
//!
//! In a real function `main` is one line:
//! `streamgate::consumer::run(count_pages).await`. Here the handler is called
//! directly, as a test would.
//!
//! Run: `cargo run --example 03_consumer_handler`

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;

use serde::Deserialize;
use streamgate::consumer::lambda_runtime::Context;
use streamgate::consumer::{ChangeEvent, StreamHandler};

#[derive(Deserialize)]
struct Document<'a> {
    tenant: &'a str,
    pages: i64,
}

const BATCH: &str = r#"{"Records": [
  {"eventID": "e1", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "dynamodb": {"Keys": {"id": {"S": "doc-1"}}, "SequenceNumber": "1000",
     "NewImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"N": "12"}},
     "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "e2", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "dynamodb": {"Keys": {"id": {"S": "doc-2"}}, "SequenceNumber": "1001",
     "NewImage": {"id": {"S": "doc-2"}, "tenant": {"S": "globex"}, "pages": {"N": "3"}},
     "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "e3", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "dynamodb": {"Keys": {"id": {"S": "doc-3"}}, "SequenceNumber": "1002",
     "NewImage": {"id": {"S": "doc-3"}, "tenant": {"S": "acme"}, "pages": {"N": "-4"}},
     "StreamViewType": "NEW_AND_OLD_IMAGES"}},
  {"eventID": "e4", "eventName": "INSERT", "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
   "dynamodb": {"Keys": {"id": {"S": "doc-4"}}, "SequenceNumber": "1003",
     "NewImage": {"id": {"S": "doc-4"}, "tenant": {"S": "globex"}, "pages": {"N": "7"}},
     "StreamViewType": "NEW_AND_OLD_IMAGES"}}
]}"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The function's effect: pages per tenant (a table in a real consumer).
    let totals: RefCell<BTreeMap<String, i64>> = RefCell::new(BTreeMap::new());
    let count_pages = async |event: ChangeEvent<'_>, _ctx: &Context| -> Result<(), String> {
        let Some(doc) = event.new_image::<Document>().map_err(|e| e.to_string())? else {
            return Ok(()); // a REMOVE, or a KEYS_ONLY stream: nothing to count
        };
        if doc.pages < 0 {
            return Err(format!("{} has a negative page count", event.keys));
        }
        *totals
            .borrow_mut()
            .entry(doc.tenant.to_owned())
            .or_default() += doc.pages;
        Ok(())
    };

    println!("fail-fast (the default):");
    let handler = StreamHandler::new(&count_pages);
    let outcome = handler
        .process(BATCH.as_bytes(), &Context::default())
        .await?;
    println!(
        "  succeeded {}, failed {}, not attempted {}",
        outcome.succeeded, outcome.failed, outcome.not_attempted
    );
    println!("  response: {}", serde_json::to_string(&outcome.response)?);
    println!("  totals: {:?}", totals.borrow());
    assert_eq!(
        outcome
            .response
            .failed_sequence_numbers()
            .collect::<Vec<_>>(),
        ["1002"]
    );

    println!("concurrent, two partition keys at a time:");
    totals.borrow_mut().clear();
    let handler = StreamHandler::new(&count_pages).concurrent(NonZeroUsize::new(2).ok_or("zero")?);
    let outcome = handler
        .process(BATCH.as_bytes(), &Context::default())
        .await?;
    println!(
        "  succeeded {}, failed {}, not attempted {}",
        outcome.succeeded, outcome.failed, outcome.not_attempted
    );
    println!("  response: {}", serde_json::to_string(&outcome.response)?);
    println!("  totals: {:?}", totals.borrow());
    Ok(())
}
