//! The partial batch response Lambda reads back from a stream handler.
//!
//! With `ReportBatchItemFailures` on the event source mapping, the function
//! returns `{"batchItemFailures": [{"itemIdentifier": SEQUENCE_NUMBER}]}`.
//! Lambda resumes from the lowest sequence number listed; an empty list means
//! the whole batch succeeded. An empty or missing identifier makes Lambda
//! treat the whole batch as failed, so [`BatchItemFailure`] cannot hold one:
//! its constructor and its deserializer refuse it.

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

/// One failed record, identified by its sequence number, which is never
/// empty.
///
/// ```
/// use streamgate_consumer::BatchItemFailure;
/// let failure = BatchItemFailure::new("4421584500000000017450439091").unwrap();
/// assert_eq!(failure.item_identifier(), "4421584500000000017450439091");
/// assert!(BatchItemFailure::new("").is_err());
/// assert!(serde_json::from_str::<BatchItemFailure>(r#"{"itemIdentifier": ""}"#).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "UncheckedFailure")]
pub struct BatchItemFailure {
    item_identifier: String,
}

/// A [`BatchItemFailure`] was given an empty identifier, which would make
/// Lambda fail the whole batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a batch item failure needs a sequence number, and the identifier is empty")]
#[non_exhaustive]
pub struct EmptyItemIdentifier;

impl BatchItemFailure {
    /// The failure of the record with `sequence_number`; refuses an empty
    /// one.
    pub fn new(sequence_number: impl Into<String>) -> Result<Self, EmptyItemIdentifier> {
        let item_identifier = sequence_number.into();
        if item_identifier.is_empty() {
            return Err(EmptyItemIdentifier);
        }
        Ok(Self { item_identifier })
    }

    /// The failed record's `dynamodb.SequenceNumber`.
    pub fn item_identifier(&self) -> &str {
        &self.item_identifier
    }
}

/// The wire form, checked by `TryFrom` before it becomes a
/// [`BatchItemFailure`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UncheckedFailure {
    item_identifier: String,
}

impl TryFrom<UncheckedFailure> for BatchItemFailure {
    type Error = EmptyItemIdentifier;

    fn try_from(unchecked: UncheckedFailure) -> Result<Self, Self::Error> {
        Self::new(unchecked.item_identifier)
    }
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
            .map(BatchItemFailure::item_identifier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_identifier_is_refused_when_built_and_when_read() {
        assert_eq!(BatchItemFailure::new(""), Err(EmptyItemIdentifier));
        let err = serde_json::from_str::<BatchResponse>(
            r#"{"batchItemFailures": [{"itemIdentifier": "100"}, {"itemIdentifier": ""}]}"#,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("a batch item failure needs a sequence number"),
            "{err}"
        );
        let read: BatchResponse =
            serde_json::from_str(r#"{"batchItemFailures": [{"itemIdentifier": "100"}]}"#).unwrap();
        assert_eq!(read.failed_sequence_numbers().collect::<Vec<_>>(), ["100"]);
        assert_eq!(
            serde_json::to_string(&read).unwrap(),
            r#"{"batchItemFailures":[{"itemIdentifier":"100"}]}"#
        );
    }
}
