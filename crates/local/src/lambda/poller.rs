//! The poller of one event source mapping: reads each shard of the stream
//! as the function's execution role, through the DynamoDB Streams handler
//! and so through the same authorization as any client, parents before
//! children, and invokes the function with batches in the shape Lambda
//! sends (`Records[]` with `eventSourceARN`).
//!
//! Per shard it keeps a checkpoint (the last sequence number done) and
//! builds a fresh iterator from it on every poll, so a failed read (the
//! stream policy removed, say) loses nothing: the mapping's
//! `LastProcessingResult` says `PROBLEM: ...` and the next successful poll
//! carries on from the checkpoint. A failed batch is retried from its first
//! record (or, with ReportBatchItemFailures, from the lowest reported
//! sequence number) until it succeeds or MaximumRetryAttempts is spent.
//! A batch whose retries are spent is dropped; with an on-failure
//! destination its metadata (`requestContext`, `responseContext`,
//! `DDBStreamBatchInfo`, as Lambda sends them) is first sent there as the
//! execution role, and a batch whose metadata cannot be sent is kept.
//! With BisectBatchOnFunctionError a batch that fails as a whole (a function
//! error, a crash, an unusable partial batch response) is split in two and
//! the first half retried, halves being split again down to one record;
//! splitting does not count as a retry, as on AWS, and the halves are sized
//! in records read (before filtering).
//! Records older than MaximumRecordAgeInSeconds, or that no filter of the
//! mapping's FilterCriteria matches, are skipped: never delivered, passed
//! by the checkpoint.

use super::filter;
use super::mappings::{Mapping, role_caller};
use crate::identity::Caller;
use crate::state::Cloud;
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
    /// Retry from this sequence number (inclusive) instead.
    at: Option<String>,
    /// How many times the current batch has failed.
    failures: i64,
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

/// One poll of every shard; gives the new LastProcessingResult, if any.
async fn poll(
    cloud: &Arc<Cloud>,
    mapping: &Mapping,
    positions: &mut HashMap<String, ShardPosition>,
    first_poll: bool,
) -> Option<String> {
    let region = mapping.function.region.as_str();
    let Some(function) = cloud.functions.get(&mapping.function) else {
        return Some(format!(
            "PROBLEM: Function not found: {}",
            mapping.function_arn
        ));
    };
    let Some(caller) = role_caller(cloud, &mapping.function, &function.role) else {
        return Some(format!(
            "PROBLEM: the execution role {} does not exist",
            function.role
        ));
    };
    let stream = &mapping.event_source_arn;
    let described = match streams_call(
        cloud,
        &caller,
        region,
        "DescribeStream",
        &json!({ "StreamArn": stream }),
    ) {
        Ok(value) => value,
        Err(problem) => return Some(problem),
    };
    let shards = at(&described, "/StreamDescription/Shards")
        .as_array()
        .cloned()
        .unwrap_or_default();
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
        let position = positions.entry(id.to_owned()).or_default().clone();
        if position.finished {
            continue;
        }
        let (kind, sequence) = match (&position.at, &position.after) {
            (Some(at), _) => ("AT_SEQUENCE_NUMBER", Some(at.clone())),
            (None, Some(after)) => ("AFTER_SEQUENCE_NUMBER", Some(after.clone())),
            (None, None) => ("TRIM_HORIZON", None),
        };
        let mut input = json!({ "StreamArn": stream, "ShardId": id, "ShardIteratorType": kind });
        if let (Some(sequence), Some(object)) = (sequence, input.as_object_mut()) {
            object.insert("SequenceNumber".to_owned(), Value::String(sequence));
        }
        let iterator = match streams_call(cloud, &caller, region, "GetShardIterator", &input) {
            Ok(value) => at(&value, "/ShardIterator")
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            Err(problem) => return Some(problem),
        };
        let limit = position
            .bisection
            .as_ref()
            .map_or(mapping.batch_size as usize, |b| {
                b.limit.min(mapping.batch_size as usize)
            });
        let records = match streams_call(
            cloud,
            &caller,
            region,
            "GetRecords",
            &json!({ "ShardIterator": iterator, "Limit": limit }),
        ) {
            Ok(value) => value,
            Err(problem) => return Some(problem),
        };
        let mut batch = at(&records, "/Records")
            .as_array()
            .cloned()
            .unwrap_or_default();
        if batch.is_empty() {
            if records.get("NextShardIterator").is_none_or(Value::is_null) {
                positions.entry(id.to_owned()).or_default().finished = true;
            }
            continue;
        }
        let last_read = batch.last().and_then(|r| {
            at(r, "/dynamodb/SequenceNumber")
                .as_str()
                .map(str::to_owned)
        });
        if mapping.maximum_record_age_seconds >= 0 {
            // Records older than MaximumRecordAgeInSeconds are discarded
            // unprocessed, as Lambda discards them.
            let now_seconds = crate::clock::epoch_seconds(cloud.clock.now_millis());
            let oldest_kept = now_seconds - mapping.maximum_record_age_seconds as f64;
            batch.retain(|r| {
                at(r, "/dynamodb/ApproximateCreationDateTime")
                    .as_f64()
                    .is_none_or(|created| created >= oldest_kept)
            });
        }
        for record in &mut batch {
            if let Some(object) = record.as_object_mut() {
                object.insert("eventSourceARN".to_owned(), Value::String(stream.clone()));
            }
        }
        // Records no filter matches are skipped, their checkpoint moving on
        // with the batch, as Lambda skips them.
        batch.retain(|record| filter::passes(&mapping.filters, record));
        if batch.is_empty() {
            let position = positions.entry(id.to_owned()).or_default();
            position.after = last_read;
            position.at = None;
            position.failures = 0;
            continue;
        }
        let sequences: Vec<String> = batch
            .iter()
            .filter_map(|r| {
                at(r, "/dynamodb/SequenceNumber")
                    .as_str()
                    .map(str::to_owned)
            })
            .collect();
        let arrival = |record: Option<&Value>| {
            record
                .and_then(|r| at(r, "/dynamodb/ApproximateCreationDateTime").as_f64())
                .map(|seconds| crate::clock::iso8601((seconds * 1000.0) as u64))
        };
        let arrivals = (arrival(batch.first()), arrival(batch.last()));
        let event = json!({ "Records": batch });
        let outcome = cloud
            .executor
            .invoke(
                cloud,
                &mapping.function,
                &function,
                Bytes::from(event.to_string()),
            )
            .await;
        // (where to retry from, whether the whole batch failed, the problem)
        let mut response_context = json!({ "statusCode": 200, "executedVersion": "$LATEST" });
        let failed_from = match outcome {
            Err(error) => {
                response_context = json!({ "statusCode": 500, "executedVersion": "$LATEST", "functionError": "Unhandled" });
                Some((
                    sequences.first().cloned(),
                    true,
                    format!("PROBLEM: {error}"),
                ))
            }
            Ok(result) if result.function_error.is_some() => {
                response_context = json!({
                    "statusCode": 200,
                    "executedVersion": "$LATEST",
                    "functionError": result.function_error,
                });
                Some((
                    sequences.first().cloned(),
                    true,
                    "PROBLEM: Function call failed".to_owned(),
                ))
            }
            Ok(result) if mapping.report_batch_item_failures => {
                match lowest_failure(&result.payload, &sequences) {
                    Ok(None) => None,
                    Ok(Some(lowest)) => Some((
                        Some(lowest),
                        false,
                        "PROBLEM: Function call failed".to_owned(),
                    )),
                    Err(problem) => Some((sequences.first().cloned(), true, problem)),
                }
            }
            Ok(_) => None,
        };
        let position = positions.entry(id.to_owned()).or_default();
        match failed_from {
            None => {
                position.after = last_read;
                position.at = None;
                position.failures = 0;
                end_bisection_once_passed(position);
                result = Some("OK".to_owned());
            }
            Some((from, true, problem))
                if mapping.bisect_batch_on_function_error && sequences.len() > 1 =>
            {
                // Split in two and retry the first half; splitting does not
                // count towards the retry quota, as on AWS.
                let through = position
                    .bisection
                    .as_ref()
                    .map(|b| b.through.clone())
                    .or_else(|| sequences.last().cloned())
                    .unwrap_or_default();
                position.bisection = Some(Bisection {
                    through,
                    limit: sequences.len().div_ceil(2),
                });
                position.at = from;
                result = Some(problem);
            }
            Some((from, _, problem)) => {
                position.failures += 1;
                let exhausted = mapping.maximum_retry_attempts >= 0
                    && position.failures > mapping.maximum_retry_attempts;
                let mut kept_for_destination = None;
                if exhausted && let Some(destination) = &mapping.on_failure_destination {
                    let record = json!({
                        "requestContext": {
                            "requestId": super::executor::uuid(cloud),
                            "functionArn": mapping.function_arn,
                            "condition": "RetryAttemptsExhausted",
                            "approximateInvokeCount": position.failures,
                        },
                        "responseContext": response_context,
                        "version": "1.0",
                        "timestamp": crate::clock::iso8601(cloud.clock.now_millis()),
                        "DDBStreamBatchInfo": {
                            "shardId": id,
                            "startSequenceNumber": sequences.first(),
                            "endSequenceNumber": sequences.last(),
                            "approximateArrivalOfFirstRecord": arrivals.0,
                            "approximateArrivalOfLastRecord": arrivals.1,
                            "batchSize": sequences.len(),
                            "streamArn": stream,
                        },
                    });
                    if let Err(error) =
                        crate::sqs::send_to_arn(cloud, &caller, destination, record.to_string())
                    {
                        // Not dropped: the batch stays until its metadata
                        // reaches the destination.
                        kept_for_destination = Some(format!(
                            "PROBLEM: the on-failure destination {destination} refused the batch's metadata: {error}"
                        ));
                    }
                }
                if let Some(kept) = &kept_for_destination {
                    position.failures -= 1;
                    position.at = from;
                    result = Some(kept.clone());
                } else if exhausted {
                    // The batch is dropped (its metadata sent to the
                    // on-failure destination, if any), as Lambda drops it.
                    position.after = last_read;
                    position.at = None;
                    position.failures = 0;
                    end_bisection_once_passed(position);
                } else {
                    position.at = from;
                }
                if kept_for_destination.is_none() {
                    result = Some(problem);
                }
            }
        }
    }
    result
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
