//! IAM policy documents, ARNs, builders, lints and an offline evaluator for
//! the one job streamgate does: a Lambda function in account A reading the
//! DynamoDB Stream of a table in account B.
//!
//! This crate is pure: it never does IO and depends on no async runtime and
//! no AWS SDK crate, so it is fast to build and exhaustively testable.
//!
//! # Modules
//! - [`arn`]: typed ARNs and account ids.
//! - [`json`]: the JSON reader and writer policies need (duplicate keys
//!   rejected, number text and key order kept, errors with JSON paths).
//! - [`document`]: the policy document model, parser and serializer.
//! - [`builders`]: the stream resource policy, the execution role's
//!   identity policy and the Lambda trust policy.
//! - [`lint`]: findings with stable codes for identity, trust, table and
//!   stream policies.
//! - [`pattern`]: wildcard matching (actions, ARNs) and policy variables.
//! - [`condition`]: the request [`Context`](condition::Context) and every
//!   condition operator.
//! - [`eval`]: the evaluator: [`evaluate`](eval::evaluate) a
//!   [`Request`](eval::Request) against a [`PolicySet`](eval::PolicySet) and
//!   get a [`Decision`](eval::Decision) that explains itself.
//!
//! # Dependencies
//! - `serde`: ARNs serialize as their string form, so they drop into any
//!   user configuration type.
//! - `thiserror`: one typed, `#[non_exhaustive]` error enum per failure kind.
//! - Dev only: `expect-test` (inline snapshots), `proptest` (properties
//!   against the reference evaluator in `tests/reference`), `criterion`
//!   (the bench), `serde_json` (checks that ARNs serialize as strings).
//! - No JSON library: policies need duplicate keys rejected and number text
//!   kept, which serde_json only offers through features that would switch on
//!   for every crate of the workspace; [`json`] is a small reader that does
//!   exactly this.
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
//!
//! Build the stream's policy, lint it, and ask whether the consumer's
//! session may read the stream:
//!
//! ```
//! use streamgate_policy::arn::{RoleArn, StreamArn};
//! use streamgate_policy::builders::{ExecutionRolePolicyBuilder, StreamPolicyBuilder};
//! use streamgate_policy::eval::{evaluate, Outcome, PolicySet, Principal, Request};
//! use streamgate_policy::lint::{lint, PolicyType};
//!
//! let stream: StreamArn =
//!     "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000".parse()?;
//! let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer".parse()?;
//! let stream_policy = StreamPolicyBuilder::new(&stream, &role).build();
//! assert!(lint(&stream_policy, PolicyType::Stream, Some(stream.as_arn())).is_empty());
//!
//! let identity = ExecutionRolePolicyBuilder::new(&stream).build();
//! let session = Principal::assumed_role(
//!     "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm".parse()?,
//!     role,
//! )?;
//! let request = Request::new(session, "dynamodb:GetRecords", stream.to_string());
//! let policies = PolicySet::new().with_identity(&identity).with_resource_policy(&stream_policy);
//! assert_eq!(evaluate(&request, &policies).outcome(), Outcome::Allow);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod arn;
pub mod builders;
pub mod condition;
pub mod document;
pub mod eval;
pub mod json;
pub mod lint;
pub mod pattern;

/// The README's example, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
