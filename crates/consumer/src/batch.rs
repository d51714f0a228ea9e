//! The per-batch variant, for users who want the whole batch at once: the
//! function gets every decoded record (or its decoding error) and says which
//! records failed; the response is built from their sequence numbers.

use std::fmt;

use lambda_runtime::Context;
use streamgate_records::{ChangeEvent, RecordError, decode_event};

use crate::handler::{FailureReason, InvocationError};
use crate::response::{BatchItemFailure, BatchResponse};

/// A decoded batch: one result per record, in stream order.
pub type Batch<'a> = Vec<Result<ChangeEvent<'a>, RecordError>>;

/// What a per-batch function says about its batch: which records failed, by
/// their position in the batch.
///
/// ```
/// use streamgate_consumer::BatchVerdict;
/// let mut verdict = BatchVerdict::all_succeeded();
/// verdict.fail(3);
/// assert_eq!(verdict.failed_indexes(), [3]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchVerdict {
    failed: Vec<usize>,
}

impl BatchVerdict {
    /// Every record succeeded.
    pub fn all_succeeded() -> Self {
        Self::default()
    }
    /// Marks the record at `index` as failed.
    pub fn fail(&mut self, index: usize) -> &mut Self {
        self.failed.push(index);
        self
    }
    /// The failed positions, as given.
    pub fn failed_indexes(&self) -> &[usize] {
        &self.failed
    }
}

impl FromIterator<usize> for BatchVerdict {
    fn from_iter<T: IntoIterator<Item = usize>>(iter: T) -> Self {
        Self {
            failed: iter.into_iter().collect(),
        }
    }
}

/// A Lambda handler around a per-batch async function.
///
/// ```
/// use streamgate_consumer::{BatchHandler, BatchVerdict, batch::Batch, lambda_runtime::Context};
///
/// async fn whole(batch: Batch<'_>, _ctx: &Context) -> Result<BatchVerdict, String> {
///     // e.g. one bulk write of every decoded record; fail the undecodable
///     Ok(batch.iter().enumerate().filter(|(_, r)| r.is_err()).map(|(i, _)| i).collect())
/// }
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let batch = br#"{"Records": [{"eventID": "1", "eventName": "INSERT",
///   "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "100"}}]}"#;
/// let response = BatchHandler::new(whole).process(batch, &Context::default()).await.unwrap();
/// assert!(response.is_success());
/// # });
/// ```
pub struct BatchHandler<F> {
    handler: F,
}

impl<F> fmt::Debug for BatchHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchHandler").finish_non_exhaustive()
    }
}

impl<F, E> BatchHandler<F>
where
    F: AsyncFn(Batch<'_>, &Context) -> Result<BatchVerdict, E>,
    E: fmt::Display,
{
    /// A handler around `handler`.
    pub fn new(handler: F) -> Self {
        Self { handler }
    }

    /// Decodes `payload`, runs the function and builds the response. An
    /// error from the function fails the whole invocation.
    pub async fn process(
        &self,
        payload: &[u8],
        ctx: &Context,
    ) -> Result<BatchResponse, InvocationError> {
        let records = decode_event(payload)?;
        let identities: Vec<(Option<String>, Option<String>)> = records
            .iter()
            .map(|r| match r {
                Ok(e) => (
                    Some(e.sequence_number.to_string()),
                    Some(e.event_id.to_string()),
                ),
                Err(e) => (e.sequence_number.clone(), e.event_id.clone()),
            })
            .collect();
        let verdict = (self.handler)(records, ctx)
            .await
            .map_err(|e| InvocationError::Batch(e.to_string()))?;
        let mut failed = verdict.failed;
        failed.sort_unstable();
        failed.dedup();
        let mut failures = Vec::with_capacity(failed.len());
        for index in failed {
            let (sequence_number, event_id) =
                identities.get(index).ok_or(InvocationError::NoSuchRecord {
                    index,
                    len: identities.len(),
                })?;
            let item = sequence_number
                .clone()
                .and_then(|s| BatchItemFailure::new(s).ok())
                .ok_or_else(|| InvocationError::Unidentifiable {
                    index,
                    event_id: event_id.clone(),
                    reason: FailureReason::Handler("reported failed by the batch function".into()),
                })?;
            failures.push(item);
        }
        tracing::info!(
            records = identities.len(),
            failed = failures.len(),
            "stream batch processed"
        );
        Ok(BatchResponse {
            batch_item_failures: failures,
        })
    }

    /// Runs the handler as a Lambda function. Call it from `main`.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        let this = &self;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| async move {
                this.process(event.payload.get().as_bytes(), &event.context)
                    .await
                    .map_err(|e| {
                        tracing::error!(error = %e, "stream batch failed as a whole");
                        lambda_runtime::Error::from(e.to_string())
                    })
            },
        ))
        .await
    }
}
