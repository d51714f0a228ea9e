//! Remembering processed records, so that at-least-once delivery does not
//! turn into a double effect.
//!
//! Lambda delivers a stream record at least once: a retry after a failure,
//! a timeout or a crash runs records again. [`skip_processed`] wraps a
//! per-record function so that a record already recorded in a
//! [`ProcessedRecords`] store is skipped, and a record is recorded only after
//! the function succeeded. A crash between the effect and the recording
//! still runs the record again; when that matters, make the effect itself
//! conditional (the demo keys its conditional writes by sequence number).

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::sync::Mutex;

use lambda_runtime::Context;
use streamgate_records::ChangeEvent;

/// What identifies a record across every stream a store serves.
///
/// One store often serves a consumer of many streams (a central account
/// reading every tenant's table), so an identity must be unique across
/// streams, not only within one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecordIdentity {
    /// `eventID`: unique per record, across streams.
    EventId,
    /// The source stream and `dynamodb.SequenceNumber`, as
    /// `<stream ARN>#<sequence number>`. A sequence number alone is unique
    /// only within its stream: two tables' streams can carry the same one.
    /// A record without a source stream (`eventSourceARN`) cannot be
    /// identified this way and fails with [`IdentityError`].
    SequenceNumber,
}

impl RecordIdentity {
    /// The identity `event` is remembered by.
    ///
    /// ```
    /// use streamgate_consumer::idempotency::RecordIdentity;
    /// let batch = br#"{"Records": [{"eventID": "e1", "eventName": "INSERT",
    ///   "eventSourceARN": "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000",
    ///   "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "100"}}]}"#;
    /// let records = streamgate_consumer::records::decode_event(batch).unwrap();
    /// let event = records[0].as_ref().unwrap();
    /// assert_eq!(RecordIdentity::EventId.of(event).unwrap(), "e1");
    /// assert_eq!(
    ///     RecordIdentity::SequenceNumber.of(event).unwrap(),
    ///     "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000#100",
    /// );
    /// ```
    pub fn of(self, event: &ChangeEvent<'_>) -> Result<String, IdentityError> {
        match self {
            Self::EventId => Ok(event.event_id.to_string()),
            Self::SequenceNumber => match &event.source {
                Some(stream) => Ok(format!("{stream}#{}", event.sequence_number)),
                None => Err(IdentityError::NoSource {
                    sequence_number: event.sequence_number.to_string(),
                }),
            },
        }
    }
}

/// A record cannot be identified by the chosen [`RecordIdentity`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The record names no source stream, and its sequence number alone does
    /// not identify it across streams.
    #[error(
        "record {sequence_number} has no eventSourceARN, and a sequence number identifies a record only within its stream"
    )]
    NoSource {
        /// The record's sequence number.
        sequence_number: String,
    },
}

/// A store failed.
///
/// ```
/// use streamgate_consumer::idempotency::StoreError;
/// let err = StoreError::new("seq-1", "the table is being deleted");
/// assert_eq!(
///     err.to_string(),
///     r#"the processed-records store failed for "seq-1": the table is being deleted"#
/// );
/// ```
#[derive(Debug, thiserror::Error)]
#[error("the processed-records store failed for {id:?}: {message}")]
#[non_exhaustive]
pub struct StoreError {
    /// The record identity involved.
    pub id: String,
    /// What went wrong.
    pub message: String,
}

impl StoreError {
    /// The store failed for the record identity `id`, saying `message`; for
    /// implementations of [`ProcessedRecords`].
    pub fn new(id: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            message: message.into(),
        }
    }
}

/// Where processed record identities are remembered.
pub trait ProcessedRecords {
    /// Whether `id` was recorded as processed.
    fn contains(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>>;
    /// Records `id` as processed; `Ok(true)` when it was not recorded before.
    fn record(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>>;
}

impl<T: ProcessedRecords + ?Sized> ProcessedRecords for &T {
    fn contains(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> {
        (**self).contains(id)
    }
    fn record(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> {
        (**self).record(id)
    }
}

impl<T: ProcessedRecords + ?Sized> ProcessedRecords for std::sync::Arc<T> {
    fn contains(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> {
        (**self).contains(id)
    }
    fn record(&self, id: &str) -> impl Future<Output = Result<bool, StoreError>> {
        (**self).record(id)
    }
}

/// A store in memory: for tests, and for one process's lifetime.
///
/// ```
/// use streamgate_consumer::idempotency::{InMemoryProcessedRecords, ProcessedRecords};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let store = InMemoryProcessedRecords::default();
/// assert!(store.record("seq-1").await.unwrap());
/// assert!(!store.record("seq-1").await.unwrap());
/// assert!(store.contains("seq-1").await.unwrap());
/// # });
/// ```
#[derive(Debug, Default)]
pub struct InMemoryProcessedRecords {
    ids: Mutex<HashSet<String>>,
}

impl InMemoryProcessedRecords {
    fn with_ids<T>(
        &self,
        id: &str,
        f: impl FnOnce(&mut HashSet<String>) -> T,
    ) -> Result<T, StoreError> {
        match self.ids.lock() {
            Ok(mut ids) => Ok(f(&mut ids)),
            Err(_) => Err(StoreError {
                id: id.to_owned(),
                message: "the in-memory store was poisoned by a panic".to_owned(),
            }),
        }
    }

    /// How many identities are recorded.
    pub fn len(&self) -> usize {
        self.ids.lock().map(|ids| ids.len()).unwrap_or(0)
    }

    /// Whether nothing is recorded.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ProcessedRecords for InMemoryProcessedRecords {
    async fn contains(&self, id: &str) -> Result<bool, StoreError> {
        self.with_ids(id, |ids| ids.contains(id))
    }
    async fn record(&self, id: &str) -> Result<bool, StoreError> {
        self.with_ids(id, |ids| ids.insert(id.to_owned()))
    }
}

/// What a function wrapped by [`skip_processed`] can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdempotentError<E> {
    /// The wrapped function failed.
    #[error("{0}")]
    Handler(E),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The record cannot be identified, so it is not run: running it
    /// without a way to remember it would lose the at-most-once effect.
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// Wraps a per-record function: records whose identity is in `store` are
/// skipped; a record is recorded after the function succeeded.
///
/// Identities are unique across streams (see [`RecordIdentity`]), so one
/// store can serve a consumer of many streams. A record that cannot be
/// identified fails with [`IdempotentError::Identity`] without running.
pub fn skip_processed<F, E, S>(
    store: S,
    identity: RecordIdentity,
    handler: F,
) -> impl AsyncFn(ChangeEvent<'_>, &Context) -> Result<(), IdempotentError<E>>
where
    F: AsyncFn(ChangeEvent<'_>, &Context) -> Result<(), E>,
    E: fmt::Display,
    S: ProcessedRecords,
{
    async move |event: ChangeEvent<'_>, ctx: &Context| {
        let id = identity.of(&event)?;
        if store.contains(&id).await? {
            tracing::debug!(id, "record already processed, skipped");
            return Ok(());
        }
        handler(event, ctx)
            .await
            .map_err(IdempotentError::Handler)?;
        store.record(&id).await?;
        Ok(())
    }
}

/// A store in a DynamoDB table (feature `dynamodb`): one item per processed
/// record, written with a conditional put so that two concurrent writers of
/// the same identity cannot both see it as new.
///
/// The table's partition key is a string attribute (`key_attribute`, `pk` by
/// default). With [`DynamoDbProcessedRecords::expire_after`] each item also
/// carries an `expires_at` epoch-seconds attribute for the table's TTL, so
/// the store does not grow without bound (the stream's own retention is 24
/// hours, so a few days is plenty).
#[cfg(feature = "dynamodb")]
#[derive(Debug, Clone)]
pub struct DynamoDbProcessedRecords {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key_attribute: String,
    expire_after: Option<std::time::Duration>,
}

#[cfg(feature = "dynamodb")]
impl DynamoDbProcessedRecords {
    /// A store in `table`, keyed by the string attribute `pk`.
    pub fn new(client: aws_sdk_dynamodb::Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            key_attribute: "pk".to_owned(),
            expire_after: None,
        }
    }

    /// Uses another partition key attribute name.
    pub fn key_attribute(mut self, name: impl Into<String>) -> Self {
        self.key_attribute = name.into();
        self
    }

    /// Writes an `expires_at` attribute this long after recording. A time
    /// beyond what epoch seconds can say is written as the largest one
    /// (`u64::MAX`), which TTL never reaches.
    pub fn expire_after(mut self, after: std::time::Duration) -> Self {
        self.expire_after = Some(after);
        self
    }

    /// The service's code and message, or the whole error chain when the
    /// call got no answer.
    fn error<E>(&self, id: &str, error: &E) -> StoreError
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    {
        let detail = match (error.code(), error.message()) {
            (Some(code), Some(message)) => format!("{code}: {message}"),
            (Some(code), None) => code.to_owned(),
            _ => aws_sdk_dynamodb::error::DisplayErrorContext(error).to_string(),
        };
        StoreError {
            id: id.to_owned(),
            message: format!("table {}: {detail}", self.table),
        }
    }
}

#[cfg(feature = "dynamodb")]
impl ProcessedRecords for DynamoDbProcessedRecords {
    async fn contains(&self, id: &str) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        // Strongly consistent: a record recorded a moment ago must be seen.
        let answer = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(&self.key_attribute, AttributeValue::S(id.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| self.error(id, &e))?;
        Ok(answer.item.is_some())
    }

    async fn record(&self, id: &str) -> Result<bool, StoreError> {
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        use aws_sdk_dynamodb::types::AttributeValue;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(&self.key_attribute, AttributeValue::S(id.to_owned()))
            .condition_expression("attribute_not_exists(#k)")
            .expression_attribute_names("#k", &self.key_attribute);
        if let Some(after) = self.expire_after {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default();
            let expires = expiry_epoch_seconds(now, after);
            put = put.item("expires_at", AttributeValue::N(expires.to_string()));
        }
        // No retry here beyond the SDK's own (throttling, transient errors):
        // a conditional put is safe to retry, and the SDK already does.
        match put.send().await {
            Ok(_) => Ok(true),
            Err(e) if e.code() == Some("ConditionalCheckFailedException") => Ok(false),
            Err(e) => Err(self.error(id, &e)),
        }
    }
}

/// The epoch second `after` from `now`, saturating instead of overflowing.
#[cfg(feature = "dynamodb")]
fn expiry_epoch_seconds(now: std::time::Duration, after: std::time::Duration) -> u64 {
    now.saturating_add(after).as_secs()
}

#[cfg(all(test, feature = "dynamodb"))]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_expiry_beyond_the_clock_saturates() {
        let now = Duration::from_secs(1_700_000_000);
        assert_eq!(
            expiry_epoch_seconds(now, Duration::from_secs(3600)),
            1_700_003_600
        );
        assert_eq!(expiry_epoch_seconds(now, Duration::MAX), u64::MAX);
    }
}
