//! streamgate-provision: plan, apply, verify, destroy and diagnose the
//! cross-account system — a Lambda function (or a direct reader) in one
//! account reading the DynamoDB Stream of a table in another, authorized by
//! the stream's resource policy and the execution role's identity policy.
//!
//! This is the only crate of the workspace that calls control-plane APIs.
//! It takes one [`aws_types::SdkConfig`] per account (the same type as
//! `aws_config::SdkConfig`) and never reads credentials, profiles or the
//! environment itself; whether it talks to AWS or to the local cloud is
//! decided by the endpoint in that configuration alone.
//!
//! # Modules, in the order a deployment goes
//! - [`spec`]: the desired state (consumers and sources, many to many) and
//!   its validation, with the mapping parameters' ranges and safe defaults.
//! - [`observed`]: a snapshot of what exists, read from the accounts.
//! - [`plan`]: the documents the desired state calls for and the diff
//!   against a snapshot: create, update, delete or no change per resource, with
//!   policy differences, warnings and blockers (pre-checks). Pure, so it is
//!   tested without a server.
//! - [`clients`]: the SDK clients per account ([`clients::Accounts`]) and
//!   the configurable waits ([`clients::Waits`]: `aws()` or `local()`).
//! - [`read`]: fills an [`observed::Observed`] snapshot with read calls.
//! - [`apply`]: pre-checks (Region, account, table encryption and stream,
//!   policy lints), then writes what differs, in order, with the retries
//!   AWS needs; records what it creates in a [`state::StateFile`].
//! - [`verify`]: no drift, and every read allowed by the offline evaluator.
//! - [`destroy`]: removes what the state file records, in reverse order.
//! - [`doctor`]: why a role cannot read a stream.
//! - [`error`]: the error type, [`error::ProvisionError`].
//!
//! ```no_run
//! use streamgate_provision::apply::apply;
//! use streamgate_provision::clients::{Accounts, Waits};
//! use streamgate_provision::spec::{Consumer, DesiredState, KeyAttribute, KeyType, Source};
//! use streamgate_provision::state::StateFile;
//!
//! # async fn run(a: aws_types::SdkConfig, b: aws_types::SdkConfig) -> Result<(), Box<dyn std::error::Error>> {
//! let desired = DesiredState::new("eu-west-1")
//!     .source(Source::new("tenant", "222222222222".parse()?, "documents",
//!         KeyAttribute::new("pk", KeyType::String)))
//!     .consumer(Consumer::new("billing", "111111111111".parse()?, "billing-consumer")
//!         .reads("tenant"));
//! let accounts = Accounts::new()
//!     .with_config("111111111111".parse()?, &a)
//!     .with_config("222222222222".parse()?, &b);
//! let path = std::path::Path::new("streamgate-state.json");
//! let mut state = StateFile::load(path)?;
//! let applied = apply(&desired, &accounts, &Waits::aws(), &mut state).await;
//! state.save(path)?; // also after a failure: it records what was created
//! println!("{}", applied?.plan);
//! # Ok(())
//! # }
//! ```
//!
//! # Dependencies
//! - `streamgate-policy`: builds, lints and evaluates the three policies.
//! - `aws-types`: `SdkConfig`, the one input per account.
//! - `aws-sdk-iam`, `aws-sdk-lambda`, `aws-sdk-dynamodb`, `aws-sdk-sts`:
//!   the control-plane calls.
//! - `tokio` (`time` only): the waits between retries and polls.
//! - `serde`, `serde_json`: the state file.
//! - `sha2`: the deployment package's SHA-256, compared with Lambda's
//!   `CodeSha256` so an unchanged package is not uploaded again.
//! - `thiserror`: typed errors.

pub mod apply;
pub mod clients;
pub mod destroy;
pub mod doctor;
pub mod error;
pub mod observed;
pub mod plan;
pub mod read;
pub mod spec;
pub mod state;
pub mod verify;

/// The README's example, compiled and run as a doc test so it cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
