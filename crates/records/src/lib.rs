//! Decode DynamoDB Stream records into typed change events, losslessly and
//! fast.
//!
//! Two sources give one result: the Lambda event JSON for a DynamoDB stream
//! (and the GetRecords wire response, which has the same `Records` array) and,
//! behind features, the record types of `aws-sdk-dynamodbstreams` and
//! `aws_lambda_events`.
//!
//! - [`decode_event`] and [`decode_event_as`] decode a batch into one
//!   `Result` per record: a bad record never stops the others from
//!   decoding, and its [`RecordError`] names the event id, the sequence
//!   number and the field.
//! - [`ChangeEvent`] says what changed ([`Change`]: insert, modify, remove,
//!   with the images the stream view type carries; an absent image is `None`,
//!   never an empty item), the keys, the sequence number, the source
//!   [`StreamArn`], and whether it was a TTL deletion.
//! - [`AttributeValue`] models all ten DynamoDB types; [`Number`] keeps the
//!   exact decimal text and converts only when nothing is lost (integers
//!   exactly; a float when its shortest decimal text is the number's value,
//!   see [`Number::to_f64`]); sets are validated.
//! - A serde Deserializer reads items straight into user types, with no
//!   intermediate tree, borrowing strings where the user's type allows
//!   ([`from_json_item`], [`ChangeEvent::new_image`]); [`to_item`] goes back.
//!
//! This crate is pure: it never does IO and depends on no async runtime.
//!
//! ```
//! use serde::Deserialize;
//! use streamgate_records::{Change, decode_event_as};
//!
//! #[derive(Deserialize)]
//! struct Document<'a> { tenant: &'a str, pages: u32 }
//!
//! let event = br#"{"Records": [{
//!   "eventID": "7de3041dd709b024af6f29e4fa13d34c", "eventName": "INSERT",
//!   "eventSource": "aws:dynamodb", "awsRegion": "eu-west-1",
//!   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
//!   "dynamodb": {"ApproximateCreationDateTime": 1714564800,
//!     "Keys": {"id": {"S": "doc-1"}},
//!     "NewImage": {"id": {"S": "doc-1"}, "tenant": {"S": "acme"}, "pages": {"N": "12"}},
//!     "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_AND_OLD_IMAGES"}}]}"#;
//! for record in decode_event_as::<Document>(event)? {
//!     match record {
//!         Ok(e) => if let Change::Insert { new_image: Some(doc) } = &e.change {
//!             assert_eq!((doc.tenant, doc.pages), ("acme", 12));
//!         },
//!         // Stop here and report only this record's sequence number as the
//!         // batch item failure: Lambda resumes the shard from the lowest
//!         // reported sequence number, so the records after it come again,
//!         // and handling them now would apply them twice.
//!         Err(bad) => {
//!             eprintln!("{bad}");
//!             break;
//!         }
//!     }
//! }
//! # Ok::<(), streamgate_records::EventError>(())
//! ```
//!
//! `StreamHandler` in `streamgate-consumer` does that for a Lambda function
//! (fail-fast by default, or concurrent with each item's records in order),
//! catches panics and writes the partial batch response.
//!
//! The source's [`StreamArn`] and the [`ArnError`] of a record whose
//! `eventSourceARN` is not a stream ARN come from `streamgate-policy` and
//! are re-exported here, so a user of this crate needs no dependency on
//! that one:
//!
//! ```
//! use streamgate_records::{ArnError, StreamArn};
//!
//! let arn: StreamArn =
//!     "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
//!         .parse()?;
//! assert_eq!(arn.table_name(), "documents");
//! let wrong = "arn:aws:s3:::bucket".parse::<StreamArn>();
//! assert!(matches!(wrong, Err(ArnError::WrongService { .. })));
//! # Ok::<(), ArnError>(())
//! ```
//!
//! # Dependencies
//! - `streamgate-policy`: the typed `StreamArn` of a record's source
//!   (re-exported with its `ArnError`).
//! - `serde`: the Deserializer and Serializer between items and user types.
//! - `serde_json` (with `raw_value`): the JSON parser the batch decoder drives,
//!   and borrowed raw images.
//! - `thiserror`: typed, `#[non_exhaustive]` errors.
//! - `base64`: binary attributes (B, BS) to and from their JSON text; a
//!   well-kept crate that the Lambda runtime already brings into a consumer.
//! - `aws-sdk-dynamodbstreams` (feature `sdk`) and `aws_lambda_events`
//!   (feature `lambda-events`): only for `From` conversions from their record
//!   types. Both are off by default; `cargo xtask ci` builds and tests
//!   them (it runs with `--all-features`).
//! - `rust_decimal` (feature `rust_decimal`): exact conversions between
//!   [`Number`] and `rust_decimal::Decimal` (`Number::to_rust_decimal`).

mod base64;
pub mod de;
mod event;
mod fast;
mod number;
mod ser;
mod value;

#[cfg(any(feature = "lambda-events", feature = "sdk"))]
mod foreign;
#[cfg(feature = "lambda-events")]
mod lambda_events;
#[cfg(feature = "sdk")]
mod sdk;

pub use de::{AttributePath, ImageError, PathSegment, from_item, from_json_item};
pub use event::{
    Change, ChangeEvent, ChangeKind, EventError, RawImage, RecordError, RecordProblem,
    StreamViewType, UserIdentity, decode_event, decode_event_as, decode_event_items,
};
#[cfg(feature = "lambda-events")]
pub use lambda_events::{from_lambda_event, from_lambda_record};
pub use number::{Decimal, Normalized, Number, NumberError};
#[cfg(feature = "sdk")]
pub use sdk::{from_sdk_record, from_sdk_records};
pub use ser::{SerializeError, SerializeProblem, to_attribute_value, to_item};
pub use streamgate_policy::arn::{ArnError, StreamArn};
pub use value::{AttributeValue, BinarySet, Item, NumberSet, SetError, StringSet};

/// The README's example, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
