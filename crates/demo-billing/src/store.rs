//! Where the totals live: the [`UsageStore`] trait and its DynamoDB
//! implementation, one conditional transaction per change.

use std::collections::HashMap;
use std::future::Future;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, TransactWriteItem, Update};

use crate::change::UsageChange;

/// The environment variable naming the totals table (default
/// `tenant-usage`).
pub const USAGE_TABLE_VARIABLE: &str = "USAGE_TABLE";

/// What applying a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Applied {
    /// The totals moved.
    Applied,
    /// The record had been applied before (a redelivery): nothing changed.
    AlreadyApplied,
    /// The record changes no total.
    NoEffect,
    /// The record can never be applied (unusable, or refused by the
    /// service as invalid): it was logged and is acknowledged, so that it
    /// does not block its shard and the records after it.
    Skipped,
}

/// Why a change could not be written. [`StoreError::is_permanent`] tells a
/// request the service refused as invalid (retrying cannot help) from a
/// failure worth retrying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A required environment variable is missing.
    #[error("environment variable {name} is not set")]
    MissingEnvironment {
        /// The variable.
        name: &'static str,
    },
    /// The transaction failed for a reason other than the marker's
    /// condition.
    #[error("transaction on {table} for {marker_key} failed: {message}")]
    Transaction {
        /// The totals table.
        table: String,
        /// The marker key of the change.
        marker_key: String,
        /// The service's or the client's message.
        message: String,
    },
    /// The service refused the transaction as invalid
    /// (`ValidationException`): the same request can never succeed.
    #[error("transaction on {table} for {marker_key} was refused as invalid: {message}")]
    Invalid {
        /// The totals table.
        table: String,
        /// The marker key of the change.
        marker_key: String,
        /// The service's message.
        message: String,
    },
    /// A test store failed on purpose.
    #[error("injected failure for {marker_key}")]
    Injected {
        /// The marker key of the change.
        marker_key: String,
    },
}

impl StoreError {
    /// Whether retrying the same change cannot succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Invalid { .. })
    }
}

/// Where the totals are kept.
pub trait UsageStore: Sync {
    /// Applies `change` exactly once in effect: [`Applied::AlreadyApplied`]
    /// when its marker already holds this or a later sequence number.
    fn apply(
        &self,
        change: &UsageChange,
    ) -> impl Future<Output = Result<Applied, StoreError>> + Send;
}

/// The name of the totals table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageTable(pub String);

impl UsageTable {
    /// The table named by `USAGE_TABLE`, else `tenant-usage`.
    pub fn from_env() -> Result<Self, StoreError> {
        Ok(Self(
            std::env::var(USAGE_TABLE_VARIABLE).unwrap_or_else(|_| "tenant-usage".to_owned()),
        ))
    }
}

/// The totals in a DynamoDB table with a string partition key `pk`.
#[derive(Debug, Clone)]
pub struct DynamoUsageStore {
    client: Client,
    table: UsageTable,
}

impl DynamoUsageStore {
    /// A store writing to `table` through `client`.
    pub fn new(client: Client, table: UsageTable) -> Self {
        Self { client, table }
    }

    /// A store configured from the Lambda environment: `AWS_REGION`, the
    /// role's `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`, and `AWS_ENDPOINT_URL` when set (the local
    /// cloud).
    pub fn from_env(table: UsageTable) -> Result<Self, StoreError> {
        let var = |name: &'static str| {
            std::env::var(name).map_err(|_| StoreError::MissingEnvironment { name })
        };
        let credentials = Credentials::new(
            var("AWS_ACCESS_KEY_ID")?,
            var("AWS_SECRET_ACCESS_KEY")?,
            std::env::var("AWS_SESSION_TOKEN").ok(),
            None,
            "lambda-environment",
        );
        let mut config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(var("AWS_REGION")?))
            .credentials_provider(credentials);
        if let Ok(endpoint) = std::env::var("AWS_ENDPOINT_URL") {
            config = config.endpoint_url(endpoint);
        }
        Ok(Self::new(Client::from_conf(config.build()), table))
    }
}

impl UsageStore for DynamoUsageStore {
    async fn apply(&self, change: &UsageChange) -> Result<Applied, StoreError> {
        let table = &self.table.0;
        let failed = |message: String| StoreError::Transaction {
            table: table.clone(),
            marker_key: change.marker_key.clone(),
            message,
        };
        let marker = Update::builder()
            .table_name(table)
            .key("pk", AttributeValue::S(change.marker_key.clone()))
            .update_expression("SET last_sequence = :seq, source_item = :item")
            .condition_expression("attribute_not_exists(last_sequence) OR last_sequence < :seq")
            .expression_attribute_values(":seq", AttributeValue::S(change.sequence.clone()))
            .expression_attribute_values(":item", AttributeValue::S(change.source_item.clone()))
            .build()
            .map_err(|e| failed(e.to_string()))?;
        let mut items = vec![TransactWriteItem::builder().update(marker).build()];
        for delta in &change.deltas {
            let total = Update::builder()
                .table_name(table)
                .key("pk", AttributeValue::S(delta.total_key()))
                .update_expression(
                    "SET account = :account, tenant = :tenant ADD documents :d, pages :p",
                )
                .set_expression_attribute_values(Some(HashMap::from([
                    (
                        ":account".to_owned(),
                        AttributeValue::S(delta.account.clone()),
                    ),
                    (
                        ":tenant".to_owned(),
                        AttributeValue::S(delta.tenant.clone()),
                    ),
                    (
                        ":d".to_owned(),
                        AttributeValue::N(delta.documents.to_string()),
                    ),
                    (":p".to_owned(), AttributeValue::N(delta.pages.to_string())),
                ])))
                .build()
                .map_err(|e| failed(e.to_string()))?;
            items.push(TransactWriteItem::builder().update(total).build());
        }
        // No retries beyond the SDK's standard ones: a failed record is
        // reported to Lambda, which redelivers it, and the marker makes the
        // redelivery safe.
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(Applied::Applied),
            Err(SdkError::ServiceError(service)) => match service.into_err() {
                TransactWriteItemsError::TransactionCanceledException(cancelled)
                    if cancelled
                        .cancellation_reasons()
                        .first()
                        .and_then(|reason| reason.code())
                        == Some("ConditionalCheckFailed") =>
                {
                    Ok(Applied::AlreadyApplied)
                }
                other if other.code() == Some("ValidationException") => Err(StoreError::Invalid {
                    table: table.clone(),
                    marker_key: change.marker_key.clone(),
                    message: other.message().unwrap_or_default().to_owned(),
                }),
                other => Err(failed(format!("{other}: {other:?}"))),
            },
            Err(other) => Err(failed(format!("{other:?}"))),
        }
    }
}
