//! streamgate-local: a local cloud for several AWS accounts at once, speaking
//! the real wire protocols so that unchanged AWS SDK code runs against it.
//!
//! One loopback endpoint serves DynamoDB and DynamoDB Streams (awsJson1_0),
//! IAM and STS (awsQuery with XML responses) and Lambda (restJson1), whose
//! functions run as local processes speaking the Runtime API, and a minimal
//! SQS (awsJson1_0) for the on-failure destinations of event source
//! mappings. Every request is SigV4
//! verified; the signer is an account's root (access key id = the 12-digit
//! account id, secret `streamgate-local`) or an assumed-role session; every
//! request is authorized in [`authorize`].
//!
//! ```no_run
//! # async fn run() -> Result<(), streamgate_local::StartError> {
//! let cloud = streamgate_local::LocalCloud::builder().start().await?;
//! println!("{}", cloud.endpoint_url()); // http://127.0.0.1:PORT
//! let keys = cloud.credentials("222222222222");
//! cloud.stop().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//! [`server`] accepts connections and hands each request to [`router`],
//! which authenticates it ([`sigv4`], [`identity`]) and routes it to one
//! module per service ([`dynamodb`], [`streams`], [`iam`], [`sts`],
//! [`lambda`], [`sqs`]); those ask [`authorize`] before acting and keep their state
//! in [`state`] (one store per account and region, IAM per account, Lambda
//! functions in one registry). DynamoDB's item operations live in
//! [`data_plane`] (single items, Query, Scan) and [`batches`] (batches and
//! transactions), both built on [`expression`] (with [`legacy`] translating
//! the pre-expression parameters); [`indexes`] holds the
//! secondary indexes those reads and writes respect.
//!
//! # Dependencies
//! - `tokio`, `hyper`, `hyper-util`, `http-body-util`, `bytes`: the HTTP/1.1
//!   server on a tokio runtime (hyper directly: one endpoint needs no web
//!   framework, and the SDK test clients build hyper anyway).
//! - `hmac`, `sha2`: SigV4 verification (see [`sigv4`] for why not `aws-sigv4`).
//! - `serde`, `serde_json`: the awsJson protocol; `raw_value` keeps stream
//!   images as compact serialized JSON.
//! - `thiserror`: typed errors.
//! - `base64`: restJson1 blobs, among them code uploads of up to 50 MB (the
//!   Lambda runtime already brings it into a consumer's build).
//! - `zip`, `flate2` (deflate only, pure Rust): unpacking Lambda deployment
//!   packages; tokio's `process` feature runs their `bootstrap`.
//! - `streamgate-policy`: the policy model the authorizer is built on.
//! - `anyhow`, `clap`: the `streamgate-local` binary only.
//! - `aws-types`, `aws-credential-types`, `aws-smithy-runtime-api` (feature
//!   `sdk-config`, off by default): `RunningCloud::sdk_config` hands out an
//!   `aws_types::SdkConfig` for an account, so SDK users need not build one
//!   by hand; only configuration types, no SDK client or `aws-config`.

pub mod attribute;
pub mod authorize;
pub mod batches;
pub mod clock;
pub mod data_plane;
pub mod documents;
pub mod dynamodb;
pub mod error;
pub mod expression;
pub mod iam;
pub mod identity;
pub mod indexes;
pub mod lambda;
pub mod legacy;
pub mod router;
#[cfg(feature = "sdk-config")]
pub mod sdk_config;
pub mod server;
pub mod sigv4;
pub mod sqs;
pub mod state;
pub mod streams;
pub mod sts;
pub mod wire;

pub use error::{ApiError, ErrorCode, StartError};

/// The README's example, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
pub use server::{
    AccountCredentials, DEFAULT_ACCOUNTS, DEFAULT_PORT, LocalCloud, LocalCloudBuilder, RunningCloud,
};
