//! streamgate: consume the DynamoDB Stream of a table in one AWS account from
//! a Lambda function in another, authorized by a resource-based policy on the
//! stream.
//!
//! This facade re-exports the workspace's crates under short names, so that
//! one dependency gives the whole toolkit; each crate can also be used alone.
//!
//! - [`policy`]: IAM policy documents, ARNs, builders, lints and an offline
//!   evaluator (`streamgate-policy`).
//! - [`records`]: DynamoDB stream records decoded into typed change events
//!   (`streamgate-records`).
//! - [`consumer`]: the Lambda handler with partial batch failure reporting,
//!   and (with the `reader` feature) a direct stream reader
//!   (`streamgate-consumer`).
//! - `local` (with the `local` feature): the local cloud, a loopback
//!   endpoint speaking DynamoDB, DynamoDB Streams, IAM and STS for several
//!   accounts (`streamgate-local`); the `sdk-config` feature adds
//!   `RunningCloud::sdk_config`, an AWS SDK configuration for an account.
//! - `provision` (with the `provision` feature): plan, apply, verify,
//!   destroy and doctor for the cross-account setup with the AWS SDK for
//!   Rust (`streamgate-provision`).

pub use streamgate_policy as policy;
pub use streamgate_records as records;

pub use streamgate_consumer as consumer;

#[cfg(feature = "local")]
pub use streamgate_local as local;

#[cfg(feature = "provision")]
pub use streamgate_provision as provision;
