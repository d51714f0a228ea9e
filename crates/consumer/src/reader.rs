//! A direct stream reader, without Lambda: for local tools, backfills and
//! tests, on `aws-sdk-dynamodbstreams`.
//!
//! The reader discovers the stream's shards (DescribeStream, paginated),
//! reads parents before children ([`crate::lineage`]), follows rollovers by
//! describing the stream again, refreshes expired iterators from its own
//! position, reports trimmed data, and checkpoints each shard through a
//! [`CheckpointStore`].
//!
//! It is pull-based, so it has backpressure by construction: nothing is read
//! until [`StreamReader::next`] is called. Delivery is at least once: the
//! checkpoint of a batch is saved when the next one is asked for, so a batch
//! being processed when the process stops is read again after a restart.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodbstreams::types::{ShardIteratorType, StreamStatus};
use streamgate_policy::arn::StreamArn;
use streamgate_records::{ChangeEvent, Item, RecordError, from_sdk_records};

use crate::checkpoint::{Checkpoint, CheckpointError, CheckpointStore};
use crate::lineage::{Lineage, ShardInfo};

/// Where to start reading a shard that has no checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartingPosition {
    /// The oldest record still retained.
    TrimHorizon,
    /// Only records written after the reader starts. Applies to the shards
    /// open when the reader first describes the stream; shards that appear
    /// later are read from their beginning, so nothing after the start is
    /// missed.
    Latest,
}

/// Options of a [`StreamReader`]: start from [`ReaderOptions::default`] and
/// change what you need.
///
/// ```
/// use std::time::Duration;
/// use streamgate_consumer::reader::{ReaderOptions, StartingPosition};
/// let options = ReaderOptions::default()
///     .batch_size(100)
///     .starting_position(StartingPosition::Latest)
///     .idle_wait(Duration::from_millis(50));
/// assert_eq!(options.batch_size, 100);
/// assert_eq!(options.describe_interval, Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReaderOptions {
    /// Records per GetRecords call, 1 to 1,000 (default 1,000).
    pub batch_size: i32,
    /// Where shards without a checkpoint start (default trim horizon).
    pub starting_position: StartingPosition,
    /// How long to wait when every readable shard returned nothing (default
    /// 250 ms, Lambda's polling rate).
    pub idle_wait: Duration,
    /// How often to describe the stream again for new shards (default 10 s).
    pub describe_interval: Duration,
}

impl Default for ReaderOptions {
    fn default() -> Self {
        Self {
            batch_size: 1000,
            starting_position: StartingPosition::TrimHorizon,
            idle_wait: Duration::from_millis(250),
            describe_interval: Duration::from_secs(10),
        }
    }
}

impl ReaderOptions {
    /// Records per GetRecords call, 1 to 1,000; [`StreamReader::new`]
    /// refuses others.
    pub fn batch_size(mut self, batch_size: i32) -> Self {
        self.batch_size = batch_size;
        self
    }

    /// Where shards without a checkpoint start.
    pub fn starting_position(mut self, starting_position: StartingPosition) -> Self {
        self.starting_position = starting_position;
        self
    }

    /// How long to wait when every readable shard returned nothing.
    pub fn idle_wait(mut self, idle_wait: Duration) -> Self {
        self.idle_wait = idle_wait;
        self
    }

    /// How often to describe the stream again for new shards.
    pub fn describe_interval(mut self, describe_interval: Duration) -> Self {
        self.describe_interval = describe_interval;
        self
    }
}

/// Why the reader could not go on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReaderError {
    /// A DynamoDB Streams call failed; the reader can be asked again.
    #[error(
        "{operation} on {stream_arn}{} failed: {code}: {message}",
        shard_id.as_deref().map(|id| format!(" shard {id}")).unwrap_or_default()
    )]
    Api {
        /// The operation, e.g. `GetRecords`.
        operation: &'static str,
        /// The stream.
        stream_arn: String,
        /// The shard, for calls on one shard (GetShardIterator, GetRecords).
        shard_id: Option<String>,
        /// The service's error code, e.g. `AccessDeniedException`.
        code: String,
        /// The service's message.
        message: String,
    },
    /// The checkpoint store failed.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// An option is out of range.
    #[error("invalid reader option: {0}")]
    InvalidOption(String),
}

impl ReaderError {
    /// The service's error code, for API errors.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The shard an API error is about, for calls on one shard.
    pub fn shard_id(&self) -> Option<&str> {
        match self {
            Self::Api { shard_id, .. } => shard_id.as_deref(),
            _ => None,
        }
    }
}

/// What the reader yields.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReaderEvent {
    /// Records of one shard, in order.
    Batch(ReadBatch),
    /// Records between the checkpoint and the oldest retained record were
    /// trimmed (older than 24 hours) before they were read: they are lost.
    /// Reading goes on from the oldest retained record.
    Trimmed {
        /// The shard.
        shard_id: String,
        /// The checkpoint that pointed into trimmed data.
        checkpoint: Option<Checkpoint>,
    },
    /// A closed shard was read to its end; its children may now be read.
    ShardFinished {
        /// The shard.
        shard_id: String,
    },
}

/// Records read from one shard by one GetRecords call.
#[derive(Debug)]
#[non_exhaustive]
pub struct ReadBatch {
    /// The shard.
    pub shard_id: String,
    /// One result per record, in stream order.
    pub records: Vec<Result<ChangeEvent<'static, Item>, RecordError>>,
}

/// Reads one stream directly, parents before children, with checkpoints.
pub struct StreamReader<C> {
    client: Client,
    stream: Arc<StreamArn>,
    checkpoints: C,
    options: ReaderOptions,
    lineage: Lineage,
    /// Shards known at the first describe: the only ones LATEST applies to.
    initial_shards: Option<Vec<String>>,
    iterators: HashMap<String, String>,
    /// The last sequence number handed out per shard.
    positions: HashMap<String, String>,
    /// Shards whose next iterator must start at the trim horizon.
    restart_at_horizon: Vec<String>,
    pending: Option<(String, Checkpoint)>,
    /// `StreamStatus` of the last DescribeStream.
    status: Option<StreamStatus>,
    last_describe: Option<Instant>,
    cursor: usize,
    empty_in_a_row: usize,
}

impl<C> std::fmt::Debug for StreamReader<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamReader")
            .field("stream", &self.stream.to_string())
            .field("options", &self.options)
            .field("lineage", &self.lineage)
            .finish_non_exhaustive()
    }
}

impl<C: CheckpointStore> StreamReader<C> {
    /// A reader of `stream` through `client`, checkpointing into
    /// `checkpoints`.
    pub fn new(
        client: Client,
        stream: StreamArn,
        checkpoints: C,
        options: ReaderOptions,
    ) -> Result<Self, ReaderError> {
        if !(1..=1000).contains(&options.batch_size) {
            return Err(ReaderError::InvalidOption(format!(
                "batch_size must be 1 to 1000, got {}",
                options.batch_size
            )));
        }
        Ok(Self {
            client,
            stream: Arc::new(stream),
            checkpoints,
            options,
            lineage: Lineage::default(),
            initial_shards: None,
            iterators: HashMap::new(),
            positions: HashMap::new(),
            restart_at_horizon: Vec::new(),
            pending: None,
            status: None,
            last_describe: None,
            cursor: 0,
            empty_in_a_row: 0,
        })
    }

    /// The checkpoint store.
    pub fn checkpoints(&self) -> &C {
        &self.checkpoints
    }

    /// Saves the checkpoint of the batch handed out last. [`Self::next`]
    /// does this itself; call it before stopping to save the last batch.
    ///
    /// The checkpoint stays pending until the store has saved it: after a
    /// failed (or cancelled) save, the next call tries again, and a
    /// finished shard's children are not read before its end is saved.
    pub async fn commit(&mut self) -> Result<(), ReaderError> {
        if let Some((shard, checkpoint)) = &self.pending {
            self.checkpoints
                .save(&self.stream.to_string(), shard, checkpoint.clone())
                .await?;
            if *checkpoint == Checkpoint::Finished {
                self.lineage.finish(shard);
            }
            self.pending = None;
        }
        Ok(())
    }

    /// The next batch, trimmed-data notice or finished shard. `None` once
    /// the stream is disabled and every shard of it is finished (read to its
    /// end); a live stream never ends, and this waits for records, or, while
    /// the stream is being enabled and lists no shard yet, for a shard.
    pub async fn next(&mut self) -> Option<Result<ReaderEvent, ReaderError>> {
        if let Err(e) = self.commit().await {
            return Some(Err(e));
        }
        loop {
            let stale = self
                .last_describe
                .is_none_or(|t| t.elapsed() >= self.options.describe_interval);
            if stale || self.lineage.readable().is_empty() {
                if let Err(e) = self.describe().await {
                    return Some(Err(e));
                }
                if self.ended() {
                    return None;
                }
            }
            let readable: Vec<String> = self
                .lineage
                .readable()
                .iter()
                .map(|s| s.id.clone())
                .collect();
            if readable.is_empty() {
                tokio::time::sleep(self.options.idle_wait).await;
                continue;
            }
            let shard = readable
                .get(self.cursor % readable.len())
                .cloned()
                .unwrap_or_default();
            self.cursor = self.cursor.wrapping_add(1);
            match self.read_shard(&shard).await {
                Ok(Some(event)) => {
                    self.empty_in_a_row = 0;
                    return Some(Ok(event));
                }
                Ok(None) => {
                    self.empty_in_a_row += 1;
                    if self.empty_in_a_row >= readable.len() {
                        self.empty_in_a_row = 0;
                        tokio::time::sleep(self.options.idle_wait).await;
                    }
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }

    /// The reader as an async [`Stream`](futures_util::Stream) of its
    /// events, ending when [`Self::next`] would return `None`. Backpressure
    /// is the same: nothing is read until the stream is polled, and a
    /// batch's checkpoint is saved when the next item is asked for.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<ReaderEvent, ReaderError>> {
        futures_util::stream::unfold(self, |mut reader| async move {
            let item = reader.next().await?;
            Some((item, reader))
        })
    }

    /// Whether nothing is left to read: the stream is disabled (or being
    /// disabled, or its status is unknown) and every shard it listed is
    /// finished. An enabled stream always gets more; a disabled one that
    /// never listed a shard has nothing to read.
    fn ended(&self) -> bool {
        match &self.status {
            Some(StreamStatus::Enabling | StreamStatus::Enabled) => false,
            Some(StreamStatus::Disabled) => self.lineage.is_empty() || self.lineage.all_finished(),
            _ => self.lineage.all_finished(),
        }
    }

    /// Describes the stream (every page) and learns its shards and their
    /// checkpoints.
    async fn describe(&mut self) -> Result<(), ReaderError> {
        let stream_arn = self.stream.to_string();
        let mut start: Option<String> = None;
        let mut found = Vec::new();
        let mut status = None;
        loop {
            let answer = self
                .client
                .describe_stream()
                .stream_arn(&stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(|e| api_error("DescribeStream", &stream_arn, None, &e))?;
            let Some(description) = answer.stream_description else {
                break;
            };
            status = description.stream_status;
            for shard in description.shards.unwrap_or_default() {
                let Some(id) = shard.shard_id else { continue };
                let closed = shard
                    .sequence_number_range
                    .as_ref()
                    .is_some_and(|r| r.ending_sequence_number.is_some());
                found.push(ShardInfo {
                    id,
                    parent: shard.parent_shard_id,
                    closed,
                });
            }
            start = description.last_evaluated_shard_id;
            if start.is_none() {
                break;
            }
        }
        for shard in &found {
            if self.lineage.get(&shard.id).is_none()
                && self.checkpoints.load(&stream_arn, &shard.id).await?
                    == Some(Checkpoint::Finished)
            {
                self.lineage.finish(&shard.id);
            }
        }
        if self.initial_shards.is_none() {
            self.initial_shards = Some(found.iter().map(|s| s.id.clone()).collect());
        }
        self.lineage.learn(found);
        self.status = status;
        self.last_describe = Some(Instant::now());
        Ok(())
    }

    /// One GetRecords on `shard`.
    async fn read_shard(&mut self, shard: &str) -> Result<Option<ReaderEvent>, ReaderError> {
        let stream_arn = self.stream.to_string();
        let iterator = match self.iterators.get(shard) {
            Some(iterator) => iterator.clone(),
            None => match self.new_iterator(shard).await {
                Ok(iterator) => iterator,
                Err(e) => {
                    return match e.code() {
                        Some("TrimmedDataAccessException") => self.trimmed(shard, false).await,
                        // The shard aged out of the stream altogether.
                        Some("ResourceNotFoundException") => self.trimmed(shard, true).await,
                        _ => Err(e),
                    };
                }
            },
        };
        let answer = self
            .client
            .get_records()
            .shard_iterator(&iterator)
            .limit(self.options.batch_size)
            .send()
            .await;
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                self.iterators.remove(shard);
                return match e.code() {
                    // The iterator is older than 15 minutes: a new one from
                    // our own position loses nothing.
                    Some("ExpiredIteratorException") => Ok(None),
                    Some("TrimmedDataAccessException") => self.trimmed(shard, false).await,
                    _ => Err(api_error("GetRecords", &stream_arn, Some(shard), &e)),
                };
            }
        };
        let next = answer.next_shard_iterator;
        let records = answer.records.unwrap_or_default();
        match &next {
            Some(next) => {
                self.iterators.insert(shard.to_owned(), next.clone());
            }
            None => {
                self.iterators.remove(shard);
            }
        }
        if records.is_empty() {
            if next.is_none() {
                self.checkpoints
                    .save(&stream_arn, shard, Checkpoint::Finished)
                    .await?;
                self.lineage.finish(shard);
                return Ok(Some(ReaderEvent::ShardFinished {
                    shard_id: shard.to_owned(),
                }));
            }
            return Ok(None);
        }
        let last = records
            .iter()
            .rev()
            .find_map(|r| r.dynamodb.as_ref()?.sequence_number.clone());
        let decoded = from_sdk_records(records, Some(Arc::clone(&self.stream)));
        if let Some(last) = &last {
            self.positions.insert(shard.to_owned(), last.clone());
        }
        self.pending = match (&next, last) {
            (None, _) => Some((shard.to_owned(), Checkpoint::Finished)),
            (Some(_), Some(sequence_number)) => {
                Some((shard.to_owned(), Checkpoint::After { sequence_number }))
            }
            (Some(_), None) => None,
        };
        Ok(Some(ReaderEvent::Batch(ReadBatch {
            shard_id: shard.to_owned(),
            records: decoded,
        })))
    }

    /// Records of `shard` were trimmed before they were read: say so, and
    /// go on from the oldest retained record, or, when the shard itself is
    /// gone, from its children.
    async fn trimmed(
        &mut self,
        shard: &str,
        shard_gone: bool,
    ) -> Result<Option<ReaderEvent>, ReaderError> {
        let stream_arn = self.stream.to_string();
        let checkpoint = self.checkpoints.load(&stream_arn, shard).await?;
        self.iterators.remove(shard);
        self.positions.remove(shard);
        if shard_gone {
            self.checkpoints
                .save(&stream_arn, shard, Checkpoint::Finished)
                .await?;
            self.lineage.finish(shard);
        } else {
            self.restart_at_horizon.push(shard.to_owned());
        }
        Ok(Some(ReaderEvent::Trimmed {
            shard_id: shard.to_owned(),
            checkpoint,
        }))
    }

    /// A fresh iterator for `shard`: after our position, else after the
    /// checkpoint, else at the starting position.
    async fn new_iterator(&mut self, shard: &str) -> Result<String, ReaderError> {
        let stream_arn = self.stream.to_string();
        let after = match self.positions.get(shard) {
            Some(position) => Some(position.clone()),
            None => match self.checkpoints.load(&stream_arn, shard).await? {
                Some(Checkpoint::After { sequence_number }) => Some(sequence_number),
                _ => None,
            },
        };
        let horizon = self.restart_at_horizon.iter().any(|s| s == shard);
        let request = self
            .client
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(shard);
        let request = match after {
            Some(sequence_number) if !horizon => request
                .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                .sequence_number(sequence_number),
            _ => {
                let initial = self
                    .initial_shards
                    .as_ref()
                    .is_some_and(|ids| ids.iter().any(|s| s == shard));
                let latest = !horizon
                    && initial
                    && self.options.starting_position == StartingPosition::Latest;
                request.shard_iterator_type(if latest {
                    ShardIteratorType::Latest
                } else {
                    ShardIteratorType::TrimHorizon
                })
            }
        };
        let answer = request
            .send()
            .await
            .map_err(|e| api_error("GetShardIterator", &stream_arn, Some(shard), &e))?;
        self.restart_at_horizon.retain(|s| s != shard);
        let iterator = answer.shard_iterator.ok_or_else(|| ReaderError::Api {
            operation: "GetShardIterator",
            stream_arn: stream_arn.clone(),
            shard_id: Some(shard.to_owned()),
            code: "MissingShardIterator".to_owned(),
            message: "the answer carried no iterator".to_owned(),
        })?;
        self.iterators.insert(shard.to_owned(), iterator.clone());
        Ok(iterator)
    }
}

/// A call's failure, with the service's code and message, or the whole
/// error chain when the call never got an answer (connection refused, ...).
fn api_error<E>(
    operation: &'static str,
    stream_arn: &str,
    shard_id: Option<&str>,
    error: &E,
) -> ReaderError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    ReaderError::Api {
        operation,
        stream_arn: stream_arn.to_owned(),
        shard_id: shard_id.map(str::to_owned),
        code: error.code().unwrap_or("NoAnswer").to_owned(),
        message: match error.message() {
            Some(message) => message.to_owned(),
            None => DisplayErrorContext(error).to_string(),
        },
    }
}
