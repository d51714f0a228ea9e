//! Integration tests driving streamgate-local with the real aws-sdk-rust
//! clients (DynamoDB, DynamoDB Streams, IAM, STS, Lambda, SQS), from several accounts.
//! One test binary, so the SDK crates are linked once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;
mod cross_account;
mod dynamodb;
mod expressions;
mod iam_sts;
mod indexes;
mod invoke;
mod lambda;
mod lambda_settings;
mod mappings;
mod permissions;
mod signatures;
mod sqs;
mod streams;
mod urls;
