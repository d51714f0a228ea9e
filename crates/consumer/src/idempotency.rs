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

/// Which field of a record identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordIdentity {
    /// `eventID`: unique per record.
    EventId,
    /// `dynamodb.SequenceNumber`: unique within a stream.
    SequenceNumber,
}

impl RecordIdentity {
    /// The identifying text of `event`.
    pub fn of<'e>(self, event: &'e ChangeEvent<'_>) -> &'e str {
        match self {
            Self::EventId => &event.event_id,
            Self::SequenceNumber => &event.sequence_number,
        }
    }
}

/// A store failed.
#[derive(Debug, thiserror::Error)]
#[error("the processed-records store failed for {id:?}: {message}")]
pub struct StoreError {
    /// The record identity involved.
    pub id: String,
    /// What went wrong.
    pub message: String,
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
pub enum IdempotentError<E> {
    /// The wrapped function failed.
    #[error("{0}")]
    Handler(E),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Wraps a per-record function: records whose identity is in `store` are
/// skipped; a record is recorded after the function succeeded.
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
        let id = identity.of(&event).to_owned();
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
