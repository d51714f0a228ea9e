//! The partial batch response Lambda reads back from a stream handler.
//!
//! With `ReportBatchItemFailures` on the event source mapping, the function
//! returns `{"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}`.
//! Lambda resumes from the lowest sequence number listed; an empty list means
//! the whole batch succeeded. An empty or missing identifier makes Lambda
//! treat the whole batch as failed, so this type cannot hold one.

use serde::{Deserialize, Serialize};

/// The response of a stream handler: which records failed.
///
/// ```
/// use streamgate_consumer::BatchResponse;
/// let ok = BatchResponse::default();
/// assert_eq!(serde_json::to_string(&ok).unwrap(), r#"{"batchItemFailures":[]}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchResponse {
    /// The failed records, lowest sequence number first.
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// One failed record, identified by its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchItemFailure {
    /// The record's `dynamodb.SequenceNumber`; never empty.
    pub item_identifier: String,
}

impl BatchResponse {
    /// Whether every record succeeded.
    pub fn is_success(&self) -> bool {
        self.batch_item_failures.is_empty()
    }

    /// The identifiers of the failed records, in order.
    pub fn failed_sequence_numbers(&self) -> impl Iterator<Item = &str> {
        self.batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
    }
}
