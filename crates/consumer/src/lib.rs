//! A Lambda handler for DynamoDB stream batches with partial batch failure
//! reporting.
//!
//! You write an async function of one [`ChangeEvent`] (typed through
//! `streamgate-records`) and the Lambda [`Context`](lambda_runtime::Context);
//! [`run`] wires `lambda_runtime`, decodes each batch, runs the function and
//! returns the partial batch response: `batchItemFailures` whose
//! `itemIdentifier` is each failed record's sequence number. Turn on
//! `ReportBatchItemFailures` on the event source mapping so that Lambda
//! reads it.
//!
//! - Fail-fast (the default): in order, stop at the first failure and report
//!   it; Lambda retries from that record, so nothing after it runs twice.
//! - Concurrent ([`StreamHandler::concurrent`]): different partition keys
//!   in parallel up to a bound, each partition key's records in order (name
//!   the partition key with [`StreamHandler::partition_key`] when the table
//!   has a sort key).
//! - A record that does not decode fails (or goes to
//!   [`StreamHandler::on_undecodable`]); a panic in your function fails its
//!   record; the response never carries an empty identifier (a failure that
//!   cannot be identified fails the whole invocation instead).
//! - Every record runs in a tracing span with its event id, sequence number
//!   and event name; each batch logs its counts.
//! - [`idempotency`] helps keep effects single despite at-least-once
//!   delivery; [`BatchHandler`] gives you the whole batch instead.
//!
//! The records crate is re-exported as [`records`] and the stream ARN type
//! as [`StreamArn`], so a function needs no direct dependency on either.
//!
//! ```no_run
//! use streamgate_consumer::ChangeEvent;
//! use streamgate_consumer::lambda_runtime::{Context, Error};
//!
//! async fn handle(event: ChangeEvent<'_>, _ctx: &Context) -> Result<(), Error> {
//!     println!("{} {}", event.kind().event_name(), event.keys);
//!     Ok(())
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Error> {
//!     streamgate_consumer::init_logging();
//!     streamgate_consumer::run(handle).await
//! }
//! ```
//!
//! # Dependencies
//! - `streamgate-records`: decoding the batch into typed change events.
//! - `streamgate-policy`: the typed [`StreamArn`] of a record's source and of
//!   the reader's stream.
//! - `lambda_runtime` (with `tracing`): the Runtime API loop and CloudWatch
//!   friendly (JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`) logging.
//! - `futures-util`: running item groups concurrently on one task and
//!   catching panics in async code.
//! - `serde`/`serde_json`: the response type and the raw event payload.
//! - `thiserror`, `tracing`: typed errors and spans.
//! - Feature `reader` (off by default): the direct reader on
//!   `aws-sdk-dynamodbstreams` (and `streamgate-records/sdk` to decode its
//!   records), and `tokio` for its idle waits.
//! - Feature `dynamodb` (off by default): `aws-sdk-dynamodb` for the
//!   conditional-write store of processed records.

pub mod batch;
pub mod checkpoint;
pub mod handler;
pub mod idempotency;
pub mod lineage;
#[cfg(feature = "reader")]
pub mod reader;
mod response;

use std::fmt;

pub use batch::{BatchHandler, BatchVerdict};
pub use handler::{
    BatchOutcome, BoxError, FailureReason, InvocationError, Mode, RecordFailure, StreamHandler,
};
pub use lambda_runtime;
pub use response::{BatchItemFailure, BatchResponse, EmptyItemIdentifier};
pub use streamgate_policy::arn::StreamArn;
/// The records crate: [`ChangeEvent`], `Change`, `Item`, `RecordError`
/// (what [`StreamHandler::on_undecodable`] is given), decoding functions.
pub use streamgate_records as records;
pub use streamgate_records::ChangeEvent;

/// The README's example, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;

/// Runs `handler` as a Lambda function for DynamoDB stream batches in
/// fail-fast mode. For other options build a [`StreamHandler`].
pub async fn run<F, E>(handler: F) -> Result<(), lambda_runtime::Error>
where
    F: AsyncFn(ChangeEvent<'_>, &lambda_runtime::Context) -> Result<(), E>,
    E: fmt::Display,
{
    StreamHandler::new(handler).run().await
}

/// Installs the tracing subscriber Lambda expects: logs to stdout, JSON when
/// the function's log format is JSON, the level from `AWS_LAMBDA_LOG_LEVEL`
/// or `RUST_LOG`.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}
