//! The poller of one event source mapping: reads each shard of the stream
//! as the function's execution role, through the DynamoDB Streams handler
//! and so through the same authorization as any client, parents before
//! children, and invokes the function with batches in the shape Lambda
//! sends (`Records[]` with `eventSourceARN`).
//!
//! Per shard it keeps a checkpoint (the last sequence number before which
//! everything is done) and the records after it already done, and builds a
//! fresh iterator from the checkpoint on every poll, so a failed read (the
//! stream policy removed, say) loses nothing: the mapping's
//! `LastProcessingResult` says `PROBLEM: ...` and the next successful poll
//! carries on from the checkpoint. A failed batch is retried from its first
//! record (or, with ReportBatchItemFailures, from the lowest reported
//! sequence number) until it succeeds or MaximumRetryAttempts is spent;
//! a retry holds the failed batch's records and none written since.
//!
//! With ParallelizationFactor N a poll reads up to N batches' worth and
//! deals the records into N lanes by the hash of their partition key, each
//! lane in stream order and cut at its first record that does not fit
//! (BatchSize, or the 6 MB invocation payload), so a key's records always
//! go to the same lane, in order, and never overtake each other; the lanes
//! are invoked concurrently. (Retries are counted per shard: a poll in
//! which any lane fails counts one.) MaximumBatchingWindowInSeconds holds
//! back a batch that is not full until the window since its oldest record
//! was written has passed.
//! A batch whose retries are spent is dropped; with an on-failure
//! destination its metadata (`requestContext`, `responseContext`,
//! `DDBStreamBatchInfo`, as Lambda sends them) is first sent there as the
//! execution role, and a batch whose metadata cannot be sent is kept.
//! With BisectBatchOnFunctionError a batch that fails as a whole (a function
//! error, a crash, an unusable partial batch response) is split in two and
//! the first half retried, halves being split again down to one record;
//! splitting does not count as a retry, as on AWS, and the halves are sized
//! in records read (before filtering).
//! A batch whose invocation is throttled (the function's reserved
//! concurrency, or the account's, in use: [`super::concurrency`]) is not a
//! failure: its records stay after the checkpoint, uncounted, and are
//! dealt out again on the next poll, in the same order.
//! Records older than MaximumRecordAgeInSeconds, or that no filter of the
//! mapping's FilterCriteria matches, are skipped: never delivered, passed
//! by the checkpoint.

use super::filter;
use super::mappings::{Mapping, role_caller};
use crate::identity::Caller;
use crate::state::Cloud;
use crate::wire::set_member;
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;

/// Where a shard is: the checkpoint and the retries of the current batch.
#[derive(Debug, Default, Clone)]
struct ShardPosition {
    /// Read from after this sequence number; `None`: from the mapping's
    /// starting position (or the shard's start for a child shard).
    after: Option<String>,
    /// Records after the checkpoint already done (in another concurrent
    /// batch, or before a later failure), not to be delivered again.
    done: std::collections::BTreeSet<String>,
    /// How many times the current batch has failed.
    failures: i64,
    /// While a failed batch is retried: its last sequence number, so that
    /// the retry holds the same records and none written since.
    retry_through: Option<String>,
    /// The shard is closed and every record was handled.
    finished: bool,
    /// While a failed batch is being bisected: read at most this many
    /// records until the checkpoint passes the failed batch's last record.
    bisection: Option<Bisection>,
}

/// A failed batch split in two (BisectBatchOnFunctionError).
#[derive(Debug, Clone)]
struct Bisection {
    /// The last sequence number of the batch that first failed.
    through: String,
    /// Records per invocation until then.
    limit: usize,
}

/// Whether sequence number `a` comes after `b` (both decimal digits).
fn sequence_after(a: &str, b: &str) -> bool {
    (a.len(), a) > (b.len(), b)
}

/// Starts the poller of mapping `uuid`; it ends when the mapping is deleted.
pub fn spawn(cloud: Arc<Cloud>, uuid: String) {
    tokio::spawn(async move {
        let mut positions: HashMap<String, ShardPosition> = HashMap::new();
        let mut first_poll = true;
        while let Some(mapping) = cloud.mappings.get(&uuid) {
            let seen = cloud.executor.writes_seen();
            if mapping.enabled {
                let result = poll(&cloud, &mapping, &mut positions, first_poll).await;
                first_poll = false;
                // Enabled once a first poll has fixed the starting positions.
                cloud.mappings.update(&uuid, |m| {
                    if m.enabled {
                        m.state = "Enabled".to_owned();
                    }
                    if let Some(result) = result {
                        m.last_processing_result = result;
                    }
                });
            } else {
                cloud.mappings.update(&uuid, |m| {
                    if !m.enabled {
                        m.state = "Disabled".to_owned();
                    }
                });
            }
            cloud.executor.wait_to_poll(seen).await;
        }
    });
}

fn streams_call(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    operation: &str,
    input: &Value,
) -> Result<Value, String> {
    let output = crate::streams::handle(
        cloud,
        caller,
        region,
        operation,
        input.to_string().as_bytes(),
    )
    .map_err(|error| format!("PROBLEM: {error}"))?;
    serde_json::from_str(&output).map_err(|error| format!("PROBLEM: {error}"))
}

/// Describes `stream` page by page (DescribeStream gives at most 100
/// shards a call): its first page's description and every shard.
fn describe_every_shard(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    stream: &str,
) -> Result<(Value, Vec<Value>), String> {
    let mut input = json!({ "StreamArn": stream });
    let mut first = None;
    let mut shards = Vec::new();
    loop {
        let page = streams_call(cloud, caller, region, "DescribeStream", &input)?;
        shards.extend(
            at(&page, "/StreamDescription/Shards")
                .as_array()
                .into_iter()
                .flatten()
                .cloned(),
        );
        let last = at(&page, "/StreamDescription/LastEvaluatedShardId")
            .as_str()
            .map(str::to_owned);
        first.get_or_insert(page);
        match last {
            Some(last) if at(&input, "/ExclusiveStartShardId").as_str() == Some(&last) => {
                return Err(format!(
                    "PROBLEM: DescribeStream of {stream} gave shard {last} as the last of two pages"
                ));
            }
            Some(last) => set_member(&mut input, "ExclusiveStartShardId", json!(last)),
            None => return Ok((first.unwrap_or_default(), shards)),
        }
    }
}

/// One poll of every shard; gives the new LastProcessingResult, if any.
async fn poll(
    cloud: &Arc<Cloud>,
    mapping: &Mapping,
    positions: &mut HashMap<String, ShardPosition>,
    first_poll: bool,
) -> Option<String> {
    let region = mapping.function.region.as_str();
    let unqualified_arn = format!(
        "arn:aws:lambda:{}:{}:function:{}",
        mapping.function.region, mapping.function.account, mapping.function.name
    );
    let Ok(target) = super::versions::qualified(
        cloud,
        &mapping.function,
        &unqualified_arn,
        mapping.qualifier.as_deref(),
    ) else {
        return Some(format!(
            "PROBLEM: Function not found: {}",
            mapping.function_arn
        ));
    };
    let function = &target.function;
    let Some(caller) = role_caller(cloud, &mapping.function, &function.role) else {
        return Some(format!(
            "PROBLEM: the execution role {} does not exist",
            function.role
        ));
    };
    let stream = &mapping.event_source_arn;
    let (described, shards) = match describe_every_shard(cloud, &caller, region, stream) {
        Ok(described) => described,
        Err(problem) => return Some(problem),
    };
    let known: Vec<String> = shards
        .iter()
        .filter_map(|s| at(s, "/ShardId").as_str().map(str::to_owned))
        .collect();
    if first_poll && mapping.starting_position == "LATEST" {
        // LATEST: every record already written is skipped: open shards are
        // read after their last record, closed ones count as done.
        for shard in &shards {
            let id = at(shard, "/ShardId")
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let closed = at(shard, "/SequenceNumberRange")
                .get("EndingSequenceNumber")
                .is_some();
            let after = if closed {
                None
            } else {
                latest_sequence(cloud, &caller, region, stream, &id)
            };
            let position = positions.entry(id).or_default();
            position.finished = closed;
            position.after = after;
        }
    }
    let partition_key = at(&described, "/StreamDescription/KeySchema")
        .as_array()
        .and_then(|schema| {
            schema
                .iter()
                .find(|k| at(k, "/KeyType").as_str() == Some("HASH"))
        })
        .and_then(|k| at(k, "/AttributeName").as_str())
        .map(str::to_owned);
    let shard_poll = ShardPoll {
        cloud,
        mapping,
        target: &target,
        caller: &caller,
        partition_key: partition_key.as_deref(),
    };
    let mut result = None;
    for shard in &shards {
        let Some(id) = at(shard, "/ShardId").as_str() else {
            continue;
        };
        if let Some(parent) = at(shard, "/ParentShardId").as_str()
            && known.iter().any(|k| k == parent)
            && !positions.get(parent).is_some_and(|p| p.finished)
        {
            continue; // parents first
        }
        let position = positions.entry(id.to_owned()).or_default();
        if position.finished {
            continue;
        }
        match shard_poll.poll_shard(id, position).await {
            ShardResult::Problem(problem) => return Some(problem),
            ShardResult::Result(shard_result) => result = shard_result.or(result),
        }
    }
    result
}

/// The largest invocation payload Lambda accepts (synchronous invocation).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The most records one GetRecords call returns.
const GET_RECORDS_LIMIT: usize = 1000;

/// What one poll of a shard gave.
enum ShardResult {
    /// Reading failed: the poll stops here with this LastProcessingResult.
    Problem(String),
    /// The LastProcessingResult this shard gives, if any.
    Result(Option<String>),
}

/// What a poll of every shard shares.
struct ShardPoll<'a> {
    cloud: &'a Arc<Cloud>,
    mapping: &'a Mapping,
    /// The function, version or alias the mapping invokes.
    target: &'a super::versions::QualifiedFunction,
    caller: &'a Caller,
    /// The table's partition key attribute, for ParallelizationFactor.
    partition_key: Option<&'a str>,
}

/// One concurrent batch of a shard (ParallelizationFactor): the records
/// of the partition keys that hash to it, in stream order.
#[derive(Debug, Default)]
struct Lane {
    records: Vec<Value>,
    sequences: Vec<String>,
    payload_bytes: usize,
}

/// How one lane's invocation went.
#[derive(Debug)]
struct LaneOutcome {
    /// How many of its first records are done.
    done: usize,
    /// Why the rest failed: (whole batch, problem, responseContext).
    failure: Option<(bool, String, Value)>,
    /// The invocation was throttled: nothing ran, nothing failed.
    throttled: bool,
}

/// What running one lane gave.
enum LaneRun {
    /// The function ran (or could not be started).
    Ran(Result<super::executor::InvocationResult, super::executor::ExecutorError>),
    /// No concurrency slot was free.
    Throttled,
}

impl ShardPoll<'_> {
    /// Reads up to `limit` records after the checkpoint, over as many
    /// GetRecords calls as needed; `None` in `.1` when the shard is closed
    /// and read to its end.
    fn read(
        &self,
        id: &str,
        position: &ShardPosition,
        limit: usize,
    ) -> Result<(Vec<Value>, bool), String> {
        let stream = &self.mapping.event_source_arn;
        let region = self.mapping.function.region.as_str();
        let input = match &position.after {
            Some(after) => json!({
                "StreamArn": stream,
                "ShardId": id,
                "ShardIteratorType": "AFTER_SEQUENCE_NUMBER",
                "SequenceNumber": after,
            }),
            None => {
                json!({ "StreamArn": stream, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON" })
            }
        };
        let iterator = streams_call(self.cloud, self.caller, region, "GetShardIterator", &input)?;
        let mut iterator = at(&iterator, "/ShardIterator").as_str().map(str::to_owned);
        let mut records = Vec::new();
        while let Some(current) = iterator.take() {
            let wanted = (limit - records.len()).min(GET_RECORDS_LIMIT);
            let page = streams_call(
                self.cloud,
                self.caller,
                region,
                "GetRecords",
                &json!({ "ShardIterator": current, "Limit": wanted }),
            )?;
            let got = at(&page, "/Records")
                .as_array()
                .cloned()
                .unwrap_or_default();
            let next = at(&page, "/NextShardIterator").as_str().map(str::to_owned);
            let empty = got.is_empty();
            records.extend(got);
            if next.is_none() {
                return Ok((records, true));
            }
            if !empty && records.len() < limit {
                iterator = next;
            }
        }
        Ok((records, false))
    }

    /// The lane of a record: its partition key's hash modulo the factor.
    fn lane_of(&self, record: &Value) -> usize {
        let factor = self.mapping.parallelization_factor.max(1);
        if factor == 1 {
            return 0;
        }
        let key = match self.partition_key {
            Some(name) => at(record, "/dynamodb/Keys").get(name).cloned(),
            None => Some(at(record, "/dynamodb/Keys").clone()),
        };
        let mut hasher = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&key.unwrap_or_default().to_string(), &mut hasher);
        (std::hash::Hasher::finish(&hasher) % factor as u64) as usize
    }

    async fn poll_shard(&self, id: &str, position: &mut ShardPosition) -> ShardResult {
        let cloud = self.cloud;
        let mapping = self.mapping;
        let stream = &mapping.event_source_arn;
        let batch_size = mapping.batch_size as usize;
        let per_lane = position
            .bisection
            .as_ref()
            .map_or(batch_size, |b| b.limit.min(batch_size));
        let factor = mapping.parallelization_factor.max(1) as usize;
        let read_limit = per_lane * factor + position.done.len();
        let (read, closed_and_read) = match self.read(id, position, read_limit) {
            Ok(read) => read,
            Err(problem) => return ShardResult::Problem(problem),
        };
        if read.is_empty() {
            position.finished = closed_and_read;
            return ShardResult::Result(None);
        }
        let sequence_of = |r: &Value| {
            at(r, "/dynamodb/SequenceNumber")
                .as_str()
                .map(str::to_owned)
        };
        let read_sequences: Vec<String> = read.iter().filter_map(sequence_of).collect();
        // Done without an invocation: already done (another lane), too old,
        // or matched by no filter.
        let mut done: std::collections::HashSet<String> = std::collections::HashSet::new();
        let oldest_kept = (mapping.maximum_record_age_seconds >= 0).then(|| {
            crate::clock::epoch_seconds(cloud.clock.now_millis())
                - mapping.maximum_record_age_seconds as f64
        });
        let mut lanes: Vec<Lane> = (0..factor).map(|_| Lane::default()).collect();
        let mut cut = false;
        let mut blocked_lanes = vec![false; factor];
        let mut expired_records: Vec<Value> = Vec::new();
        let mut expired_sequences: Vec<String> = Vec::new();
        for mut record in read {
            let Some(sequence) = sequence_of(&record) else {
                continue;
            };
            if position.done.contains(&sequence) {
                done.insert(sequence);
                continue;
            }
            let too_old = oldest_kept.is_some_and(|oldest| {
                at(&record, "/dynamodb/ApproximateCreationDateTime")
                    .as_f64()
                    .is_some_and(|created| created < oldest)
            });
            if let Some(object) = record.as_object_mut() {
                object.insert("eventSourceARN".to_owned(), Value::String(stream.clone()));
            }
            if too_old {
                // Dropped unread; its metadata goes to the on-failure
                // destination first, as Lambda sends it.
                expired_sequences.push(sequence);
                expired_records.push(record);
                continue;
            }
            if !filter::passes(&mapping.filters, &record) {
                done.insert(sequence);
                continue;
            }
            if position
                .retry_through
                .as_ref()
                .is_some_and(|through| sequence_after(&sequence, through))
            {
                cut = true; // written after the batch being retried
                continue;
            }
            let index = self.lane_of(&record);
            let (Some(lane), Some(blocked)) = (lanes.get_mut(index), blocked_lanes.get_mut(index))
            else {
                continue;
            };
            // A record that does not fit ends its lane: the lane's later
            // records (its keys' later changes) wait for the next batch.
            let size = record.to_string().len() + 1;
            let fits = lane.records.len() < per_lane
                && (lane.records.is_empty()
                    || lane.payload_bytes + size + EVENT_OVERHEAD_BYTES <= MAX_PAYLOAD_BYTES);
            if *blocked || !fits {
                *blocked = true;
                cut = true;
                continue;
            }
            lane.payload_bytes += size;
            lane.sequences.push(sequence);
            lane.records.push(record);
        }
        if !expired_records.is_empty() {
            match self.send_to_destination(
                id,
                RECORD_AGE_EXCEEDED,
                position.failures,
                &json!({}),
                &expired_records,
                &expired_sequences,
            ) {
                Ok(()) => done.extend(expired_sequences),
                Err(problem) => {
                    // Kept: nothing after them is invoked until the
                    // destination takes their metadata.
                    advance(position, &read_sequences, &done);
                    return ShardResult::Result(Some(problem));
                }
            }
        }
        lanes.retain(|lane| !lane.records.is_empty());
        let last_read = read_sequences.last().cloned();
        if lanes.is_empty() {
            advance(position, &read_sequences, &done);
            finish_if_done_to_the_end(position, closed_and_read, &read_sequences);
            return ShardResult::Result(None);
        }
        // MaximumBatchingWindowInSeconds: an unfilled batch waits until the
        // window since its oldest record was written has passed.
        let window_millis = mapping.maximum_batching_window_seconds * 1000;
        let full = cut || read_sequences.len() >= read_limit;
        if window_millis > 0 && !full {
            let oldest_millis = lanes
                .iter()
                .filter_map(|lane| lane.records.first())
                .filter_map(|r| at(r, "/dynamodb/ApproximateCreationDateTime").as_f64())
                .map(|seconds| (seconds * 1000.0) as u64)
                .min()
                .unwrap_or_default();
            if cloud.clock.now_millis() < oldest_millis + window_millis {
                return ShardResult::Result(None);
            }
        }

        let mut invocations = tokio::task::JoinSet::new();
        for (index, lane) in lanes.iter().enumerate() {
            let cloud = Arc::clone(cloud);
            let key = mapping.function.clone();
            let target = self.target.clone();
            let event = json!({ "Records": lane.records }).to_string();
            invocations.spawn(async move {
                let Ok(slot) = cloud.concurrency.try_start(&key) else {
                    return (index, LaneRun::Throttled);
                };
                let outcome = cloud
                    .executor
                    .invoke(&cloud, &key, &target, Bytes::from(event), None)
                    .await;
                drop(slot);
                (index, LaneRun::Ran(outcome))
            });
        }
        let mut outcomes: Vec<Option<LaneOutcome>> = (0..lanes.len()).map(|_| None).collect();
        while let Some(joined) = invocations.join_next().await {
            let Ok((index, outcome)) = joined else {
                continue; // a task that panicked counts as not done
            };
            let Some(lane) = lanes.get(index) else {
                continue;
            };
            if let Some(slot) = outcomes.get_mut(index) {
                *slot = Some(judge(mapping, lane, outcome));
            }
        }

        let mut result = Some("OK".to_owned());
        let mut any_counted_failure = false;
        let mut split_lanes = vec![false; lanes.len()];
        for ((lane, outcome), lane_split) in lanes.iter().zip(&outcomes).zip(&mut split_lanes) {
            let outcome = outcome.as_ref().map_or_else(
                || LaneOutcome {
                    done: 0,
                    failure: Some((
                        true,
                        "PROBLEM: the invocation was lost".to_owned(),
                        json!({ "statusCode": 500, "executedVersion": "$LATEST" }),
                    )),
                    throttled: false,
                },
                |o| LaneOutcome {
                    done: o.done,
                    failure: o.failure.clone(),
                    throttled: o.throttled,
                },
            );
            if outcome.throttled {
                // Nothing ran: the lane's records wait for the next poll,
                // no retry counted and no bisection.
                result = Some(THROTTLED.to_owned());
                continue;
            }
            done.extend(lane.sequences.iter().take(outcome.done).cloned());
            let Some((whole, problem, _)) = &outcome.failure else {
                continue;
            };
            result = Some(problem.clone());
            if *whole && mapping.bisect_batch_on_function_error && lane.records.len() > 1 {
                // Split in two and retry the first half; splitting does not
                // count towards the retry quota, as on AWS.
                *lane_split = true;
                let through = position
                    .bisection
                    .as_ref()
                    .map(|b| b.through.clone())
                    .or_else(|| last_read.clone())
                    .unwrap_or_default();
                let limit = lane.records.len().div_ceil(2);
                position.bisection = Some(Bisection {
                    through,
                    limit: position
                        .bisection
                        .as_ref()
                        .map_or(limit, |b| b.limit.min(limit)),
                });
            } else {
                any_counted_failure = true;
            }
        }
        if any_counted_failure {
            position.failures += 1;
            if position.retry_through.is_none() {
                position.retry_through = lanes
                    .iter()
                    .filter_map(|lane| lane.sequences.last())
                    .max_by(|a, b| (a.len(), a).cmp(&(b.len(), b)))
                    .cloned();
            }
            let exhausted = mapping.maximum_retry_attempts >= 0
                && position.failures > mapping.maximum_retry_attempts;
            if exhausted {
                // Each failed lane's remaining records are dropped, their
                // metadata first sent to the on-failure destination, if any.
                let mut kept = false;
                for ((lane, outcome), lane_split) in lanes.iter().zip(&outcomes).zip(&split_lanes) {
                    if *lane_split {
                        continue; // being bisected, not dropped
                    }
                    let Some(LaneOutcome {
                        done: lane_done,
                        failure: Some((_, _, response_context)),
                        ..
                    }) = outcome
                    else {
                        continue;
                    };
                    let remaining = lane.records.get(*lane_done..).unwrap_or_default();
                    let sequences = lane.sequences.get(*lane_done..).unwrap_or_default();
                    match self.send_to_destination(
                        id,
                        RETRY_ATTEMPTS_EXHAUSTED,
                        position.failures,
                        response_context,
                        remaining,
                        sequences,
                    ) {
                        Ok(()) => done.extend(sequences.iter().cloned()),
                        Err(problem) => {
                            kept = true;
                            result = Some(problem);
                        }
                    }
                }
                if kept {
                    position.failures -= 1;
                } else {
                    position.failures = 0;
                    position.retry_through = None;
                }
            }
        } else if result.as_deref() == Some("OK") {
            position.failures = 0;
            position.retry_through = None;
        }
        advance(position, &read_sequences, &done);
        if !split_lanes.contains(&true) {
            end_bisection_once_passed(position);
        }
        finish_if_done_to_the_end(position, closed_and_read, &read_sequences);
        ShardResult::Result(result)
    }

    /// Sends the metadata of a dropped batch to the mapping's on-failure
    /// destination, as the execution role; `Ok` when there is none.
    fn send_to_destination(
        &self,
        shard_id: &str,
        condition: &str,
        invocations: i64,
        response_context: &Value,
        records: &[Value],
        sequences: &[String],
    ) -> Result<(), String> {
        let Some(destination) = &self.mapping.on_failure_destination else {
            return Ok(());
        };
        let arrival = |record: Option<&Value>| {
            record
                .and_then(|r| at(r, "/dynamodb/ApproximateCreationDateTime").as_f64())
                .map(|seconds| crate::clock::iso8601_millis((seconds * 1000.0) as u64))
        };
        let metadata = json!({
            "requestContext": {
                "requestId": super::executor::uuid(self.cloud),
                "functionArn": self.mapping.function_arn,
                "condition": condition,
                "approximateInvokeCount": invocations,
            },
            "responseContext": response_context,
            "version": "1.0",
            "timestamp": crate::clock::iso8601_millis(self.cloud.clock.now_millis()),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": sequences.first(),
                "endSequenceNumber": sequences.last(),
                "approximateArrivalOfFirstRecord": arrival(records.first()),
                "approximateArrivalOfLastRecord": arrival(records.last()),
                "batchSize": sequences.len(),
                "streamArn": self.mapping.event_source_arn,
            },
        });
        crate::sqs::send_to_arn(self.cloud, self.caller, destination, metadata.to_string())
            .map(|_| ())
            .map_err(|error| {
                format!(
                    "PROBLEM: the on-failure destination {destination} refused the batch's metadata: {error}"
                )
            })
    }
}

/// The LastProcessingResult of a poll whose invocation was throttled.
const THROTTLED: &str = "PROBLEM: Function call throttled";

/// The on-failure condition of a batch dropped after its last retry.
const RETRY_ATTEMPTS_EXHAUSTED: &str = "RetryAttemptsExhausted";

/// The on-failure condition of records dropped for being older than
/// MaximumRecordAgeInSeconds.
const RECORD_AGE_EXCEEDED: &str = "RecordAgeExceeded";

/// `{"Records":[` and `]}` around the records.
const EVENT_OVERHEAD_BYTES: usize = 16;

/// How an invocation of `lane` went.
fn judge(mapping: &Mapping, lane: &Lane, run: LaneRun) -> LaneOutcome {
    let outcome = match run {
        LaneRun::Ran(outcome) => outcome,
        LaneRun::Throttled => {
            return LaneOutcome {
                done: 0,
                failure: None,
                throttled: true,
            };
        }
    };
    let ok = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
    let failed = |whole: bool, problem: String, context: Value| LaneOutcome {
        done: 0,
        failure: Some((whole, problem, context)),
        throttled: false,
    };
    match outcome {
        Err(error) => failed(
            true,
            format!("PROBLEM: {error}"),
            json!({ "statusCode": 500, "executedVersion": "$LATEST", "functionError": "Unhandled" }),
        ),
        Ok(result) if result.function_error.is_some() => failed(
            true,
            "PROBLEM: Function call failed".to_owned(),
            json!({
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": result.function_error,
            }),
        ),
        Ok(result) if mapping.report_batch_item_failures => {
            match lowest_failure(&result.payload, &lane.sequences) {
                Ok(None) => LaneOutcome {
                    done: lane.records.len(),
                    failure: None,
                    throttled: false,
                },
                Ok(Some(lowest)) => LaneOutcome {
                    done: lane
                        .sequences
                        .iter()
                        .position(|s| *s == lowest)
                        .unwrap_or_default(),
                    failure: Some((false, "PROBLEM: Function call failed".to_owned(), ok)),
                    throttled: false,
                },
                Err(problem) => failed(true, problem, ok),
            }
        }
        Ok(_) => LaneOutcome {
            done: lane.records.len(),
            failure: None,
            throttled: false,
        },
    }
}

/// Moves the checkpoint over the leading records that are done and keeps
/// the later done ones, so that they are not delivered again.
fn advance(
    position: &mut ShardPosition,
    read_sequences: &[String],
    done: &std::collections::HashSet<String>,
) {
    let mut leading = true;
    for sequence in read_sequences {
        if leading && done.contains(sequence) {
            position.after = Some(sequence.clone());
            position.done.remove(sequence);
        } else {
            leading = false;
            if done.contains(sequence) {
                position.done.insert(sequence.clone());
            }
        }
    }
}

/// Marks a closed shard finished once the read reached its end and the
/// checkpoint its last record, so that its children are read in the same
/// poll rather than one generation a poll.
fn finish_if_done_to_the_end(
    position: &mut ShardPosition,
    closed_and_read: bool,
    read_sequences: &[String],
) {
    if closed_and_read
        && position.done.is_empty()
        && position.retry_through.is_none()
        && position.after.as_ref() == read_sequences.last()
    {
        position.finished = true;
    }
}

/// Ends a bisection once the checkpoint has passed the failed batch.
fn end_bisection_once_passed(position: &mut ShardPosition) {
    let passed = match (&position.bisection, &position.after) {
        (Some(bisection), Some(after)) => !sequence_after(&bisection.through, after),
        _ => true,
    };
    if passed {
        position.bisection = None;
    }
}

/// The value at a JSON pointer, or null.
fn at<'a>(value: &'a Value, pointer: &str) -> &'a Value {
    const NULL: &Value = &Value::Null;
    value.pointer(pointer).unwrap_or(NULL)
}

/// The sequence number of the last record now in shard `id`, if any.
fn latest_sequence(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    stream: &str,
    id: &str,
) -> Option<String> {
    let iterator = streams_call(
        cloud,
        caller,
        region,
        "GetShardIterator",
        &json!({ "StreamArn": stream, "ShardId": id, "ShardIteratorType": "TRIM_HORIZON" }),
    )
    .ok()?;
    let mut iterator = at(&iterator, "/ShardIterator").as_str()?.to_owned();
    let mut last = None;
    loop {
        let page = streams_call(
            cloud,
            caller,
            region,
            "GetRecords",
            &json!({ "ShardIterator": iterator }),
        )
        .ok()?;
        let records = at(&page, "/Records")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if records.is_empty() {
            return last;
        }
        last = records.last().and_then(|r| {
            at(r, "/dynamodb/SequenceNumber")
                .as_str()
                .map(str::to_owned)
        });
        iterator = at(&page, "/NextShardIterator").as_str()?.to_owned();
    }
}

/// The lowest sequence number a partial batch response reports, `None` when
/// it reports none; an error when an identifier is empty or not in the
/// batch, which fails the whole batch as on AWS.
fn lowest_failure(payload: &[u8], sequences: &[String]) -> Result<Option<String>, String> {
    let response: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
    let Some(failures) = response.get("batchItemFailures").and_then(Value::as_array) else {
        return Ok(None);
    };
    let mut lowest: Option<usize> = None;
    for failure in failures {
        let identifier = failure
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let Some(index) = sequences.iter().position(|s| s == identifier) else {
            return Err(format!(
                "PROBLEM: the function reported item identifier {identifier:?}, which is empty or not in the batch"
            ));
        };
        lowest = Some(lowest.map_or(index, |l| l.min(index)));
    }
    Ok(lowest.and_then(|i| sequences.get(i).cloned()))
}
