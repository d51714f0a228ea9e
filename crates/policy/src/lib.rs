//! IAM policy documents, ARNs, builders, lints and an offline evaluator for
//! the one job streamgate does: a Lambda function in account A reading the
//! DynamoDB Stream of a table in account B.
//!
//! This crate is pure: it never does IO and depends on no async runtime and
//! no AWS SDK crate, so it is fast to build and exhaustively testable.
//!
//! # Dependencies
//! - `serde`: ARNs serialize as their string form, so they drop into any
//!   user configuration type.
//! - `thiserror`: one typed, `#[non_exhaustive]` error enum per failure kind.
//!
//! ```
//! use streamgate_policy::arn::StreamArn;
//!
//! let stream: StreamArn =
//!     "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
//!         .parse()?;
//! assert_eq!(stream.table_name(), "documents");
//! assert_eq!(stream.label(), "2024-05-01T12:00:00.000");
//! assert_eq!(stream.account().as_str(), "222222222222");
//! # Ok::<(), streamgate_policy::arn::ArnError>(())
//! ```

pub mod arn;
