//! The per-record engine: decode a batch, run the user's function on each
//! record, and build the partial batch response.
//!
//! Both modes share one mechanism: records are split into ordered groups,
//! each group runs in order and stops at its first failure, and up to a bound
//! of groups run at once. Fail-fast is one group holding the whole batch with
//! a bound of one; concurrent mode groups records by their partition key, so
//! the changes of one partition key (every item sharing it, whatever their
//! sort keys) stay in order while different partition keys proceed in
//! parallel.

use std::collections::HashMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, StreamExt};
use lambda_runtime::Context;
use streamgate_records::{ChangeEvent, EventError, Item, RecordError, decode_event};
use tracing::Instrument;

use crate::response::{BatchItemFailure, BatchResponse};

/// A boxed error, what callbacks return.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A callback for records that do not decode, e.g. to park them in a dead
/// letter store. `Ok` counts the record as handled; `Err` fails it.
pub type UndecodableCallback = Box<dyn Fn(&RecordError) -> Result<(), BoxError> + Send + Sync>;

/// How the records of a batch are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// In order, one at a time; stop at the first failure and report it.
    /// Lambda then retries from that record, so nothing after it runs twice.
    /// The safe default for streams.
    FailFast,
    /// Records of different partition keys in parallel, at most
    /// `max_in_flight` partition keys at once; each partition key's records
    /// in order, stopping that partition key at its first failure. Every
    /// failure is reported; Lambda retries from the lowest, so records of
    /// other partition keys after it may run again (make effects idempotent,
    /// see [`crate::idempotency`]). A batch holding a record that does not
    /// decode runs in order instead, since nothing tells which partition key
    /// that record belongs to.
    ///
    /// A record does not say which of its key attributes is the partition
    /// key. A key of one attribute is the partition key; for a table with a
    /// sort key, name the partition key with
    /// [`StreamHandler::partition_key`]. Records whose partition key is not
    /// known that way (a composite key and no name, or a key without the
    /// named attribute) all run in one ordered group.
    Concurrent {
        /// How many partition keys are processed at once.
        max_in_flight: NonZeroUsize,
    },
}

/// Why one record failed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum FailureReason {
    /// The user's function returned an error; its message.
    Handler(String),
    /// The user's function panicked; the panic message.
    Panic(String),
    /// The record did not decode (and no callback took it).
    Undecodable(RecordError),
    /// The callback for undecodable records returned an error or panicked.
    Callback {
        /// The decoding error.
        record: RecordError,
        /// What the callback said.
        message: String,
    },
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Handler(m) => write!(f, "handler error: {m}"),
            Self::Panic(m) => write!(f, "handler panicked: {m}"),
            Self::Undecodable(e) => write!(f, "undecodable: {e}"),
            Self::Callback { record, message } => {
                write!(
                    f,
                    "undecodable ({record}), and the callback failed: {message}"
                )
            }
        }
    }
}

/// One failed record.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordFailure {
    /// Position in the batch, from 0.
    pub index: usize,
    /// The sequence number reported to Lambda.
    pub sequence_number: String,
    /// Why it failed.
    pub reason: FailureReason,
}

/// What happened to a batch.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// The response for Lambda.
    pub response: BatchResponse,
    /// Records whose function returned `Ok`.
    pub succeeded: usize,
    /// Failed records (listed in `failures`).
    pub failed: usize,
    /// Records not run because an earlier record (of the batch in fail-fast
    /// mode, of the same partition key in concurrent mode) failed; Lambda
    /// retries them.
    pub not_attempted: usize,
    /// Undecodable records the callback took.
    pub undecodable_handled: usize,
    /// Each failure, in batch order.
    pub failures: Vec<RecordFailure>,
}

/// Why a whole invocation fails (Lambda then retries the whole batch, or
/// bisects it when `BisectBatchOnFunctionError` is on).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvocationError {
    /// The payload is not a DynamoDB stream event.
    #[error("the payload is not a DynamoDB stream event: {0}")]
    NotAnEvent(#[from] EventError),
    /// A record failed but has no sequence number to report it by; an empty
    /// identifier would make Lambda fail the batch anyway, so say so.
    #[error(
        "record {index} (event id {}) failed and has no sequence number to report it by: {reason}",
        event_id.as_deref().unwrap_or("unknown")
    )]
    Unidentifiable {
        /// Position in the batch.
        index: usize,
        /// The record's event id, if known.
        event_id: Option<String>,
        /// Why it failed.
        reason: FailureReason,
    },
    /// No record succeeded, at least one failed, and the handler was told
    /// to fail the invocation then. In fail-fast mode the records after the
    /// first failure were not attempted, so not every record failed.
    #[error("no record of the batch succeeded ({failed} failed, {not_attempted} not attempted)")]
    AllFailed {
        /// How many failed.
        failed: usize,
        /// How many were not run because an earlier record failed.
        not_attempted: usize,
    },
    /// The per-batch function failed as a whole.
    #[error("the batch function failed: {0}")]
    Batch(String),
    /// The per-batch function named a record the batch does not have.
    #[error(
        "the batch function reported record {index} as failed, but the batch has {len} records"
    )]
    NoSuchRecord {
        /// The index it named.
        index: usize,
        /// The batch size.
        len: usize,
    },
}

/// A Lambda handler for DynamoDB stream batches around a per-record async
/// function.
///
/// ```
/// use streamgate_consumer::{StreamHandler, lambda_runtime::Context};
/// use streamgate_consumer::ChangeEvent;
///
/// async fn count_pages(event: ChangeEvent<'_>, _ctx: &Context) -> Result<(), String> {
///     #[derive(serde::Deserialize)]
///     struct Doc { pages: u32 }
///     let doc = event.new_image::<Doc>().map_err(|e| e.to_string())?;
///     if doc.is_some_and(|d| d.pages > 1000) {
///         return Err("too many pages".into());
///     }
///     Ok(())
/// }
///
/// # tokio_test(async {
/// let handler = StreamHandler::new(count_pages);
/// let batch = br#"{"Records": [{"eventID": "1", "eventName": "INSERT",
///   "dynamodb": {"Keys": {"id": {"S": "a"}}, "SequenceNumber": "100",
///     "NewImage": {"pages": {"N": "2000"}}}}]}"#;
/// let outcome = handler.process(batch, &Context::default()).await.unwrap();
/// assert_eq!(outcome.response.failed_sequence_numbers().collect::<Vec<_>>(), ["100"]);
/// # });
/// # fn tokio_test(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub struct StreamHandler<F> {
    handler: F,
    mode: Mode,
    partition_key: Option<String>,
    on_undecodable: Option<UndecodableCallback>,
    fail_when_all_failed: bool,
}

impl<F> fmt::Debug for StreamHandler<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamHandler")
            .field("mode", &self.mode)
            .field("partition_key", &self.partition_key)
            .field("on_undecodable", &self.on_undecodable.is_some())
            .field("fail_when_all_failed", &self.fail_when_all_failed)
            .finish_non_exhaustive()
    }
}

impl<F> StreamHandler<F> {
    /// A handler in fail-fast mode around `handler`.
    pub fn new(handler: F) -> Self {
        Self {
            handler,
            mode: Mode::FailFast,
            partition_key: None,
            on_undecodable: None,
            fail_when_all_failed: false,
        }
    }

    /// Sets the mode (default [`Mode::FailFast`]).
    pub fn mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Concurrent mode with at most `max_in_flight` partition keys at once.
    pub fn concurrent(self, max_in_flight: NonZeroUsize) -> Self {
        self.mode(Mode::Concurrent { max_in_flight })
    }

    /// Names the table's partition key attribute, by which concurrent mode
    /// keeps records in order. Needed for a table with a sort key: a record's
    /// keys do not say which attribute is which. Without it, a key of one
    /// attribute is taken as the partition key, and records with composite
    /// keys run in one ordered group.
    ///
    /// ```
    /// # use std::num::NonZeroUsize;
    /// use streamgate_consumer::{StreamHandler, lambda_runtime::Context};
    /// use streamgate_consumer::ChangeEvent;
    /// # async fn handle(_: ChangeEvent<'_>, _: &Context) -> Result<(), String> { Ok(()) }
    /// let handler = StreamHandler::new(handle)
    ///     .concurrent(NonZeroUsize::new(8).unwrap())
    ///     .partition_key("tenant");
    /// assert_eq!(handler.current_partition_key(), Some("tenant"));
    /// ```
    pub fn partition_key(mut self, attribute: impl Into<String>) -> Self {
        self.partition_key = Some(attribute.into());
        self
    }

    /// The partition key attribute named with [`Self::partition_key`].
    pub fn current_partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }

    /// Sends records that do not decode to `callback` instead of failing
    /// them. The callback's `Ok` counts the record as handled.
    pub fn on_undecodable(
        mut self,
        callback: impl Fn(&RecordError) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Self {
        self.on_undecodable = Some(Box::new(callback));
        self
    }

    /// Fails the whole invocation (instead of reporting item failures) when
    /// no record succeeded and at least one failed.
    pub fn fail_invocation_when_all_failed(mut self, yes: bool) -> Self {
        self.fail_when_all_failed = yes;
        self
    }

    /// The configured mode.
    pub fn current_mode(&self) -> Mode {
        self.mode
    }
}

impl<F, E> StreamHandler<F>
where
    F: AsyncFn(ChangeEvent<'_>, &Context) -> Result<(), E>,
    E: fmt::Display,
{
    /// Decodes `payload` (the Lambda event JSON) and runs the function on its
    /// records. Tests call this directly; [`StreamHandler::run`] calls it for
    /// every invocation.
    pub async fn process(
        &self,
        payload: &[u8],
        ctx: &Context,
    ) -> Result<BatchOutcome, InvocationError> {
        let records = decode_event(payload)?;
        let total = records.len();
        // A record that did not decode has no trustworthy keys, so nothing
        // tells which item it belongs to: such a batch runs in order.
        let any_undecodable = records.iter().any(Result::is_err);
        let (groups, limit) = match self.mode {
            Mode::Concurrent { max_in_flight } if !any_undecodable => (
                group_by_partition(records, self.partition_key.as_deref()),
                max_in_flight.get(),
            ),
            _ => (vec![records.into_iter().enumerate().collect()], 1),
        };
        let results: Vec<Result<GroupOutcome, InvocationError>> =
            futures_util::stream::iter(groups.into_iter().map(|group| self.run_group(group, ctx)))
                .buffer_unordered(limit)
                .collect()
                .await;
        let mut outcome = BatchOutcome::default();
        let mut failures = Vec::new();
        for result in results {
            let group = result?;
            outcome.succeeded += group.succeeded;
            outcome.not_attempted += group.not_attempted;
            outcome.undecodable_handled += group.undecodable_handled;
            failures.extend(group.failure);
        }
        failures.sort_by_key(|(f, _)| f.index);
        outcome.failed = failures.len();
        let (failures, items) = failures.into_iter().unzip();
        outcome.failures = failures;
        outcome.response = BatchResponse {
            batch_item_failures: items,
        };
        tracing::info!(
            records = total,
            succeeded = outcome.succeeded,
            failed = outcome.failed,
            not_attempted = outcome.not_attempted,
            undecodable_handled = outcome.undecodable_handled,
            "stream batch processed"
        );
        if self.fail_when_all_failed
            && outcome.failed > 0
            && outcome.succeeded == 0
            && outcome.undecodable_handled == 0
        {
            return Err(InvocationError::AllFailed {
                failed: outcome.failed,
                not_attempted: outcome.not_attempted,
            });
        }
        Ok(outcome)
    }

    /// Runs the handler as a Lambda function: polls the Runtime API, returns
    /// the partial batch response of every invocation. Call it from `main`.
    pub async fn run(self) -> Result<(), lambda_runtime::Error> {
        let this = &self;
        lambda_runtime::run(lambda_runtime::service_fn(
            move |event: lambda_runtime::LambdaEvent<Box<serde_json::value::RawValue>>| async move {
                let payload = event.payload.get().as_bytes();
                match this.process(payload, &event.context).await {
                    Ok(outcome) => Ok(outcome.response),
                    Err(e) => {
                        tracing::error!(error = %e, "stream batch failed as a whole");
                        Err(lambda_runtime::Error::from(e.to_string()))
                    }
                }
            },
        ))
        .await
    }

    /// Runs one ordered group, stopping at its first failure.
    async fn run_group<'a>(
        &self,
        group: Vec<(usize, Result<ChangeEvent<'a>, RecordError>)>,
        ctx: &Context,
    ) -> Result<GroupOutcome, InvocationError> {
        let mut outcome = GroupOutcome::default();
        let mut records = group.into_iter();
        for (index, record) in records.by_ref() {
            let failed = match record {
                Ok(event) => {
                    let sequence_number = event.sequence_number.to_string();
                    let event_id = event.event_id.to_string();
                    match self.run_one(event, ctx).await {
                        Ok(()) => {
                            outcome.succeeded += 1;
                            None
                        }
                        Err(reason) => Some((Some(sequence_number), Some(event_id), reason)),
                    }
                }
                Err(error) => match self.undecodable(&error) {
                    Ok(()) => {
                        outcome.undecodable_handled += 1;
                        None
                    }
                    Err(reason) => Some((
                        error.sequence_number.clone(),
                        error.event_id.clone(),
                        reason,
                    )),
                },
            };
            if let Some((sequence_number, event_id, reason)) = failed {
                tracing::warn!(index, event_id = ?event_id, sequence_number = ?sequence_number, %reason, "record failed");
                let Some(item) = sequence_number.and_then(|s| BatchItemFailure::new(s).ok()) else {
                    return Err(InvocationError::Unidentifiable {
                        index,
                        event_id,
                        reason,
                    });
                };
                let failure = RecordFailure {
                    index,
                    sequence_number: item.item_identifier().to_owned(),
                    reason,
                };
                outcome.failure = Some((failure, item));
                break;
            }
        }
        outcome.not_attempted = records.count();
        Ok(outcome)
    }

    /// Runs the user's function on one record in its span, turning an error
    /// or a panic into a failure.
    async fn run_one(&self, event: ChangeEvent<'_>, ctx: &Context) -> Result<(), FailureReason> {
        let span = tracing::info_span!(
            "record",
            event_id = %event.event_id,
            sequence_number = %event.sequence_number,
            event_name = event.kind().event_name(),
        );
        let run = AssertUnwindSafe((self.handler)(event, ctx)).catch_unwind();
        match run.instrument(span).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(FailureReason::Handler(e.to_string())),
            Err(panic) => Err(FailureReason::Panic(panic_message(panic.as_ref()))),
        }
    }

    /// Gives an undecodable record to the callback, or fails it.
    fn undecodable(&self, error: &RecordError) -> Result<(), FailureReason> {
        let Some(callback) = &self.on_undecodable else {
            return Err(FailureReason::Undecodable(error.clone()));
        };
        let message = match std::panic::catch_unwind(AssertUnwindSafe(|| callback(error))) {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(panic) => format!("panicked: {}", panic_message(panic.as_ref())),
        };
        Err(FailureReason::Callback {
            record: error.clone(),
            message,
        })
    }
}

#[derive(Default)]
struct GroupOutcome {
    succeeded: usize,
    not_attempted: usize,
    undecodable_handled: usize,
    /// The group's failure and what the response says about it.
    failure: Option<(RecordFailure, BatchItemFailure)>,
}

type Group<'a> = Vec<(usize, Result<ChangeEvent<'a>, RecordError>)>;

/// Splits a batch into one ordered group per partition key, in the order
/// partition keys first appear; records whose partition key is not known
/// share one group. Callers only pass batches that decoded whole; a record
/// that did not decode would join the shared group.
fn group_by_partition<'a>(
    records: Vec<Result<ChangeEvent<'a>, RecordError>>,
    partition_key: Option<&str>,
) -> Vec<Group<'a>> {
    let mut groups: Vec<Group<'a>> = Vec::new();
    let mut by_key: HashMap<Option<String>, usize> = HashMap::new();
    for (index, record) in records.into_iter().enumerate() {
        let key = match &record {
            Ok(event) => partition_of(&event.keys, partition_key),
            Err(_) => None,
        };
        let slot = *by_key.entry(key).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len().saturating_sub(1)
        });
        if let Some(group) = groups.get_mut(slot) {
            group.push((index, record));
        }
    }
    groups
}

/// The partition key value of a record's keys, as DynamoDB JSON: the named
/// attribute, or the only one; `None` when that does not tell.
fn partition_of(keys: &Item, partition_key: Option<&str>) -> Option<String> {
    let value = match partition_key {
        Some(name) => keys.get(name),
        None if keys.len() == 1 => keys.values().next(),
        None => None,
    };
    value.map(ToString::to_string)
}

/// The message of a panic payload, when it is a string.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}
