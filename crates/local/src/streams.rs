//! DynamoDB Streams: the record store of a stream ([`Stream`], its shards
//! with lineage, rollover and 24-hour retention) and the four operations of
//! the DynamoDB Streams API (awsJson1_0, `DynamoDBStreams_20120810.*`).
//!
//! Sequence numbers are 21 decimal digits, increasing within a stream, so
//! their text order is their numeric order. Shard iterators are stateless:
//! `STREAM_ARN|1|SHARD_ID|NEXT_SEQUENCE|ISSUED_MILLIS`, so they survive
//! nothing but time (they expire after 15 minutes, as on AWS).

use crate::authorize::{AccessRequest, authorize};
use crate::clock;
use crate::dynamodb::{RegionStore, ResourcePolicy, required, resolve_arn};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, ShardRollover, lock};
use crate::wire::{hex, parse_json_body, set_member};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::VecDeque;

/// How long stream records are kept.
pub const RETENTION_MILLIS: u64 = 24 * 3600 * 1000;
/// How long a shard iterator stays valid.
pub const ITERATOR_LIFETIME_MILLIS: u64 = 15 * 60 * 1000;
/// The most bytes one GetRecords returns.
pub const GET_RECORDS_MAX_BYTES: usize = 1024 * 1024;

/// What a stream record carries, chosen when the stream is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewType {
    /// Only the key attributes.
    KeysOnly,
    /// The item after the change.
    NewImage,
    /// The item before the change.
    OldImage,
    /// Both.
    NewAndOldImages,
}

impl ViewType {
    /// Parses the API's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "KEYS_ONLY" => Some(Self::KeysOnly),
            "NEW_IMAGE" => Some(Self::NewImage),
            "OLD_IMAGE" => Some(Self::OldImage),
            "NEW_AND_OLD_IMAGES" => Some(Self::NewAndOldImages),
            _ => None,
        }
    }

    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KeysOnly => "KEYS_ONLY",
            Self::NewImage => "NEW_IMAGE",
            Self::OldImage => "OLD_IMAGE",
            Self::NewAndOldImages => "NEW_AND_OLD_IMAGES",
        }
    }

    fn keeps_new(self) -> bool {
        matches!(self, Self::NewImage | Self::NewAndOldImages)
    }

    fn keeps_old(self) -> bool {
        matches!(self, Self::OldImage | Self::NewAndOldImages)
    }
}

/// What happened to the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventName {
    /// A new item.
    Insert,
    /// An item changed.
    Modify,
    /// An item deleted.
    Remove,
}

impl EventName {
    fn as_str(self) -> &'static str {
        match self {
            Self::Insert => "INSERT",
            Self::Modify => "MODIFY",
            Self::Remove => "REMOVE",
        }
    }
}

/// A change to record in a stream.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    /// What happened.
    pub event: EventName,
    /// The item's key attributes.
    pub keys: &'a Value,
    /// The item before, if it existed.
    pub old_image: Option<&'a Value>,
    /// The item after, if it exists.
    pub new_image: Option<&'a Value>,
    /// The record's size as DynamoDB counts it.
    pub size_bytes: usize,
}

/// One stored record; images are kept as serialized JSON, only those the
/// view type carries, to keep a million records well under a gigabyte.
#[derive(Debug)]
struct StoredRecord {
    sequence: u64,
    created_millis: u64,
    event: EventName,
    size_bytes: u32,
    keys: Box<RawValue>,
    new_image: Option<Box<RawValue>>,
    old_image: Option<Box<RawValue>>,
}

/// A shard: an ordered run of records; closed shards have a child.
#[derive(Debug)]
struct Shard {
    id: String,
    parent: Option<String>,
    created_millis: u64,
    starting_sequence: u64,
    /// Set when closed: the last sequence number the shard holds.
    ending_sequence: Option<u64>,
    closed_millis: Option<u64>,
    records: VecDeque<StoredRecord>,
    /// Every sequence number below this one was trimmed.
    trimmed_below: u64,
}

impl Shard {
    fn trim_horizon(&self) -> u64 {
        self.records
            .front()
            .map_or(self.trimmed_below.max(self.starting_sequence), |r| {
                r.sequence
            })
    }

    /// The sequence number after the last record, or after the end.
    fn end_position(&self, next_in_stream: u64) -> u64 {
        match self.ending_sequence {
            Some(end) => end + 1,
            None => self
                .records
                .back()
                .map_or(next_in_stream, |r| r.sequence + 1),
        }
    }
}

/// A table's stream.
#[derive(Debug)]
pub struct Stream {
    /// Its ARN.
    pub arn: String,
    /// Its label (`2024-05-01T12:00:00.000`).
    pub label: String,
    /// The table's name.
    pub table_name: String,
    /// The table's key schema as DescribeStream reports it.
    pub key_schema: Value,
    /// Its view type.
    pub view_type: ViewType,
    /// When it was enabled.
    pub created_millis: u64,
    /// Whether it still receives records.
    pub enabled: bool,
    /// Its resource policy.
    pub policy: Option<ResourcePolicy>,
    /// Whether its table is encrypted with the AWS managed key.
    pub encrypted_with_aws_managed_key: bool,
    shards: Vec<Shard>,
    next_sequence: u64,
}

/// The first sequence number of every stream: 21 digits once formatted.
const FIRST_SEQUENCE: u64 = 100_000_000_000_000_000;

impl Stream {
    /// A new, enabled stream with one open shard.
    pub fn new(
        table_arn: &str,
        table_name: &str,
        label: String,
        key_schema: Value,
        view_type: ViewType,
        now_millis: u64,
    ) -> Self {
        let arn = format!("{table_arn}/stream/{label}");
        let mut stream = Self {
            arn,
            label,
            table_name: table_name.to_owned(),
            key_schema,
            view_type,
            created_millis: now_millis,
            enabled: true,
            policy: None,
            encrypted_with_aws_managed_key: false,
            shards: Vec::new(),
            next_sequence: FIRST_SEQUENCE,
        };
        stream.open_shard(None, now_millis);
        stream
    }

    fn open_shard(&mut self, parent: Option<String>, now_millis: u64) {
        let digest = Sha256::new()
            .chain_update(self.arn.as_bytes())
            .chain_update(self.shards.len().to_le_bytes())
            .finalize();
        let suffix = hex(digest.get(..4).unwrap_or_default());
        self.shards.push(Shard {
            id: format!("shardId-{now_millis:020}-{suffix}"),
            parent,
            created_millis: now_millis,
            starting_sequence: self.next_sequence,
            ending_sequence: None,
            closed_millis: None,
            records: VecDeque::new(),
            trimmed_below: 0,
        });
    }

    fn close_open_shard(&mut self, now_millis: u64) -> Option<String> {
        let shard = self
            .shards
            .iter_mut()
            .rev()
            .find(|s| s.ending_sequence.is_none())?;
        shard.ending_sequence = Some(
            shard
                .records
                .back()
                .map_or(shard.starting_sequence.saturating_sub(1), |r| r.sequence),
        );
        shard.closed_millis = Some(now_millis);
        Some(shard.id.clone())
    }

    /// Stops the stream: its open shard closes, its records stay readable
    /// until they age out.
    pub fn disable(&mut self, now_millis: u64) {
        self.close_open_shard(now_millis);
        self.enabled = false;
    }

    /// Drops records older than the retention period, and shards closed that
    /// long ago with nothing left.
    pub fn trim(&mut self, now_millis: u64) {
        let horizon = now_millis.saturating_sub(RETENTION_MILLIS);
        for shard in &mut self.shards {
            while shard
                .records
                .front()
                .is_some_and(|r| r.created_millis < horizon)
            {
                if let Some(record) = shard.records.pop_front() {
                    shard.trimmed_below = record.sequence + 1;
                }
            }
        }
        self.shards.retain(|shard| {
            !(shard.records.is_empty()
                && shard.closed_millis.is_some_and(|closed| closed < horizon))
        });
    }

    /// Appends a record of a change to the item `keys` identifies, rolling
    /// the open shard over first when it is full or old.
    pub fn append(&mut self, rollover: ShardRollover, now_millis: u64, change: Change<'_>) {
        let Change {
            event,
            keys,
            old_image,
            new_image,
            size_bytes,
        } = change;
        if !self.enabled {
            return;
        }
        self.trim(now_millis);
        let must_roll = self.shards.last().is_some_and(|shard| {
            let age = now_millis.saturating_sub(shard.created_millis);
            !shard.records.is_empty()
                && (shard.records.len() as u64 >= rollover.max_records
                    || u128::from(age) >= rollover.max_age.as_millis())
        });
        if must_roll
            || self
                .shards
                .last()
                .is_none_or(|s| s.ending_sequence.is_some())
        {
            let parent = self
                .close_open_shard(now_millis)
                .or_else(|| self.shards.last().map(|s| s.id.clone()));
            self.open_shard(parent, now_millis);
        }
        let raw = |value: &Value| RawValue::from_string(value.to_string()).ok();
        let record = StoredRecord {
            sequence: self.next_sequence,
            created_millis: now_millis,
            event,
            size_bytes: u32::try_from(size_bytes).unwrap_or(u32::MAX),
            keys: raw(keys).unwrap_or_else(empty_raw),
            new_image: if self.view_type.keeps_new() {
                new_image.and_then(raw)
            } else {
                None
            },
            old_image: if self.view_type.keeps_old() {
                old_image.and_then(raw)
            } else {
                None
            },
        };
        self.next_sequence += 1;
        if let Some(shard) = self.shards.last_mut() {
            shard.records.push_back(record);
        }
    }

    /// The StreamStatus DescribeStream reports.
    pub fn status(&self) -> &'static str {
        if self.enabled { "ENABLED" } else { "DISABLED" }
    }

    /// The number of records held, for tests and benches.
    pub fn record_count(&self) -> usize {
        self.shards.iter().map(|s| s.records.len()).sum()
    }
}

fn empty_raw() -> Box<RawValue> {
    // "{}" is valid JSON, so this conversion cannot fail; the fallback keeps
    // the function total without a panic path.
    RawValue::from_string("{}".to_owned()).unwrap_or_else(|_| Box::<RawValue>::default())
}

fn sequence_text(sequence: u64) -> String {
    format!("{sequence:021}")
}

fn parse_sequence(text: &str) -> Result<u64, ApiError> {
    if !(21..=40).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{text}' at 'sequenceNumber' failed to satisfy constraint: Member must have length greater than or equal to 21"
        )));
    }
    text.parse()
        .map_err(|_| ApiError::validation(format!("Invalid SequenceNumber {text}")))
}

/// The stream `arn` in `store`, its records past the retention period as of
/// `now_millis` dropped first, or ResourceNotFoundException.
fn trimmed_stream<'s>(
    store: &'s mut RegionStore,
    arn: &str,
    now_millis: u64,
) -> Result<&'s mut Stream, ApiError> {
    let stream = store
        .streams
        .get_mut(arn)
        .ok_or_else(|| stream_not_found(arn))?;
    stream.trim(now_millis);
    Ok(stream)
}

/// One page of a listing: the `items` after the one whose `key` is
/// `exclusive_start` (all of them when none is, or it is not there), at most
/// `limit`, and whether more follow the page.
fn page_after<'i, T>(
    items: &'i [T],
    exclusive_start: Option<&str>,
    key: impl Fn(&T) -> &str,
    limit: usize,
) -> (&'i [T], bool) {
    let start = exclusive_start
        .and_then(|start| items.iter().position(|item| key(item) == start))
        .map_or(0, |i| i + 1);
    let rest = items.get(start..).unwrap_or_default();
    let page = rest.get(..limit).unwrap_or(rest);
    (page, page.len() < rest.len())
}

fn stream_not_found(arn: &str) -> ApiError {
    ApiError::not_found(format!(
        "Requested resource not found: Stream: {arn} not found"
    ))
}

/// Finds the stream `arn` names: its account and region store.
fn locate(
    cloud: &Cloud,
    region: &str,
    arn: &str,
) -> Result<(String, std::sync::Arc<std::sync::Mutex<RegionStore>>), ApiError> {
    let target = resolve_arn(arn)
        .ok_or_else(|| ApiError::validation(format!("Invalid StreamArn: {arn}")))?;
    if target.region != region || !target.resource.contains("/stream/") {
        return Err(stream_not_found(arn));
    }
    let account = cloud
        .account(&target.account)
        .ok_or_else(|| stream_not_found(arn))?;
    Ok((target.account, account.region(region)))
}

/// Authorizes `action` on stream `arn` (held in `store` of `account`).
fn authorize_stream(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    arn: &str,
    account: &str,
    store: &std::sync::Mutex<RegionStore>,
) -> Result<(), ApiError> {
    let (policy, aws_managed_key) = {
        let store = lock(store);
        let stream = store
            .streams
            .get(arn)
            .ok_or_else(|| stream_not_found(arn))?;
        (
            stream.policy.as_ref().map(|p| p.document.clone()),
            stream.encrypted_with_aws_managed_key,
        )
    };
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action,
            resource: arn,
            resource_account: account,
            resource_policy: policy.as_deref(),
            resource_policy_required: false,
            encrypted_with_aws_managed_key: aws_managed_key,
        },
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListStreamsInput {
    table_name: Option<String>,
    limit: Option<i64>,
    exclusive_start_stream_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeStreamInput {
    stream_arn: Option<String>,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
    shard_filter: Option<ShardFilterInput>,
}

/// DescribeStream's `ShardFilter`: `CHILD_SHARDS` of `ShardId`, the only
/// filter the model defines.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ShardFilterInput {
    #[serde(rename = "Type")]
    kind: Option<String>,
    shard_id: Option<String>,
}

impl ShardFilterInput {
    /// The parent whose children are asked for, once the filter is valid.
    fn parent(self) -> Result<String, ApiError> {
        match self.kind.as_deref() {
            Some("CHILD_SHARDS") => {}
            Some(other) => {
                return Err(ApiError::validation(format!(
                    "1 validation error detected: Value '{other}' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [CHILD_SHARDS]"
                )));
            }
            None => {
                return Err(ApiError::validation(
                    "1 validation error detected: Value null at 'shardFilter.type' failed to satisfy constraint: Member must not be null",
                ));
            }
        }
        let shard_id = self.shard_id.ok_or_else(|| {
            ApiError::validation(
                "1 validation error detected: Value null at 'shardFilter.shardId' failed to satisfy constraint: Member must not be null",
            )
        })?;
        if !(28..=65).contains(&shard_id.len()) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{shard_id}' at 'shardFilter.shardId' failed to satisfy constraint: Member must have length less than or equal to 65 and greater than or equal to 28"
            )));
        }
        Ok(shard_id)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetShardIteratorInput {
    stream_arn: Option<String>,
    shard_id: Option<String>,
    shard_iterator_type: Option<String>,
    sequence_number: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsInput {
    shard_iterator: Option<String>,
    limit: Option<i64>,
}

fn check_limit(limit: Option<i64>, max: i64, member: &str) -> Result<usize, ApiError> {
    match limit {
        None => Ok(usize::try_from(max).unwrap_or(100)),
        Some(value) if (1..=max).contains(&value) => Ok(usize::try_from(value).unwrap_or(1)),
        Some(value) => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value less than or equal to {max} and greater than or equal to 1"
        ))),
    }
}

/// Handles one DynamoDB Streams operation by `caller` in `region`; returns
/// the response body.
pub fn handle(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    operation: &str,
    body: &[u8],
) -> Result<String, ApiError> {
    match operation {
        "ListStreams" => {
            list_streams(cloud, caller, region, parse_json_body(body)?).map(|v| v.to_string())
        }
        "DescribeStream" => {
            describe_stream(cloud, caller, region, parse_json_body(body)?).map(|v| v.to_string())
        }
        "GetShardIterator" => {
            get_shard_iterator(cloud, caller, region, parse_json_body(body)?).map(|v| v.to_string())
        }
        "GetRecords" => get_records(cloud, caller, region, parse_json_body(body)?),
        _ => Err(ApiError::new(ErrorCode::UnknownOperationException, "")),
    }
}

fn list_streams(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: ListStreamsInput,
) -> Result<Value, ApiError> {
    let limit = check_limit(input.limit, 100, "limit")?;
    let (account, table_filter) = match input.table_name.as_deref() {
        Some(name) if name.starts_with("arn:") => {
            let target = resolve_arn(name)
                .ok_or_else(|| ApiError::validation(format!("Invalid TableName: {name}")))?;
            let table = target
                .resource
                .strip_prefix("table/")
                .unwrap_or(&target.resource)
                .to_owned();
            (target.account, Some(table))
        }
        other => (caller.account().to_owned(), other.map(str::to_owned)),
    };
    let resource = format!("arn:aws:dynamodb:{region}:{account}:table/*/stream/*");
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action: "dynamodb:ListStreams",
            resource: &resource,
            resource_account: &account,
            resource_policy: None,
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        },
    )?;
    let account_state = cloud.account_or_not_found(&account, "Account")?;
    let store = account_state.region(region);
    let store = lock(&store);
    let mut streams: Vec<&Stream> = store
        .streams
        .values()
        .filter(|s| table_filter.as_deref().is_none_or(|t| s.table_name == t))
        .collect();
    streams.sort_by(|a, b| (&a.table_name, &a.arn).cmp(&(&b.table_name, &b.arn)));
    let (page, more) = page_after(
        &streams,
        input.exclusive_start_stream_arn.as_deref(),
        |s| s.arn.as_str(),
        limit,
    );
    let mut output = json!({
        "Streams": page.iter().map(|s| json!({
            "StreamArn": s.arn,
            "TableName": s.table_name,
            "StreamLabel": s.label,
        })).collect::<Vec<_>>(),
    });
    if more && let Some(last) = page.last() {
        set_member(&mut output, "LastEvaluatedStreamArn", json!(last.arn));
    }
    Ok(output)
}

fn describe_stream(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: DescribeStreamInput,
) -> Result<Value, ApiError> {
    let arn = required(input.stream_arn, "streamArn")?;
    let limit = check_limit(input.limit, 100, "limit")?;
    let parent = input
        .shard_filter
        .map(ShardFilterInput::parent)
        .transpose()?;
    let (account, store) = locate(cloud, region, &arn)?;
    authorize_stream(
        cloud,
        caller,
        "dynamodb:DescribeStream",
        &arn,
        &account,
        &store,
    )?;
    let mut store = lock(&store);
    let now = cloud.clock.now_millis();
    let stream = trimmed_stream(&mut store, &arn, now)?;
    // With a CHILD_SHARDS filter only that shard's children are described
    // (none when it has none yet, or is unknown), paged like all shards.
    let described: Vec<&Shard> = stream
        .shards
        .iter()
        .filter(|shard| {
            parent
                .as_deref()
                .is_none_or(|parent| shard.parent.as_deref() == Some(parent))
        })
        .collect();
    let (page, more) = page_after(
        &described,
        input.exclusive_start_shard_id.as_deref(),
        |s| s.id.as_str(),
        limit,
    );
    let shards: Vec<Value> = page
        .iter()
        .map(|shard| {
            let mut range =
                json!({ "StartingSequenceNumber": sequence_text(shard.starting_sequence) });
            if let Some(end) = shard.ending_sequence {
                set_member(
                    &mut range,
                    "EndingSequenceNumber",
                    json!(sequence_text(end)),
                );
            }
            let mut value = json!({ "ShardId": shard.id, "SequenceNumberRange": range });
            if let Some(parent) = &shard.parent {
                set_member(&mut value, "ParentShardId", json!(parent));
            }
            value
        })
        .collect();
    let mut description = json!({
        "StreamArn": stream.arn,
        "StreamLabel": stream.label,
        "StreamStatus": stream.status(),
        "StreamViewType": stream.view_type.as_str(),
        "CreationRequestDateTime": clock::epoch_seconds(stream.created_millis),
        "TableName": stream.table_name,
        "KeySchema": stream.key_schema,
        "Shards": shards,
    });
    if more && let Some(last) = page.last() {
        set_member(&mut description, "LastEvaluatedShardId", json!(last.id));
    }
    Ok(json!({ "StreamDescription": description }))
}

fn get_shard_iterator(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: GetShardIteratorInput,
) -> Result<Value, ApiError> {
    let arn = required(input.stream_arn, "streamArn")?;
    let shard_id = required(input.shard_id, "shardId")?;
    let kind = required(input.shard_iterator_type, "shardIteratorType")?;
    let (account, store) = locate(cloud, region, &arn)?;
    authorize_stream(
        cloud,
        caller,
        "dynamodb:GetShardIterator",
        &arn,
        &account,
        &store,
    )?;
    let mut store = lock(&store);
    let now = cloud.clock.now_millis();
    let stream = trimmed_stream(&mut store, &arn, now)?;
    let next_in_stream = stream.next_sequence;
    let shard = stream
        .shards
        .iter()
        .find(|s| s.id == shard_id)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "Requested resource not found: Shard does not exist: {shard_id}"
            ))
        })?;
    let at_sequence = |text: Option<String>| -> Result<u64, ApiError> {
        let text = text.ok_or_else(|| {
            ApiError::validation(format!(
                "SequenceNumber is required for ShardIteratorType {kind}"
            ))
        })?;
        let sequence = parse_sequence(&text)?;
        let end = shard.end_position(next_in_stream);
        if sequence < shard.starting_sequence || sequence >= end {
            return Err(ApiError::validation(format!(
                "Invalid SequenceNumber {text} for shard {shard_id}: it is not in the shard's range"
            )));
        }
        if sequence < shard.trim_horizon() {
            return Err(ApiError::new(
                ErrorCode::TrimmedDataAccessException,
                format!("Sequence number {text} of shard {shard_id} is beyond the trim horizon"),
            ));
        }
        Ok(sequence)
    };
    let position = match kind.as_str() {
        "TRIM_HORIZON" => shard.trim_horizon(),
        "LATEST" => shard.end_position(next_in_stream),
        "AT_SEQUENCE_NUMBER" => at_sequence(input.sequence_number)?,
        "AFTER_SEQUENCE_NUMBER" => at_sequence(input.sequence_number)? + 1,
        other => {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{other}' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
            )));
        }
    };
    Ok(json!({ "ShardIterator": format!("{arn}|1|{shard_id}|{position}|{now}") }))
}

/// A parsed shard iterator.
struct Iterator<'a> {
    stream_arn: &'a str,
    shard_id: &'a str,
    position: u64,
    issued_millis: u64,
}

fn parse_iterator(text: &str) -> Option<Iterator<'_>> {
    let mut parts = text.rsplitn(5, '|');
    let issued_millis = parts.next()?.parse().ok()?;
    let position = parts.next()?.parse().ok()?;
    let shard_id = parts.next()?;
    let version = parts.next()?;
    let stream_arn = parts.next()?;
    (version == "1").then_some(Iterator {
        stream_arn,
        shard_id,
        position,
        issued_millis,
    })
}

fn get_records(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: GetRecordsInput,
) -> Result<String, ApiError> {
    let text = required(input.shard_iterator, "shardIterator")?;
    let limit = check_limit(input.limit, 1000, "limit")?;
    let iterator = parse_iterator(&text)
        .ok_or_else(|| ApiError::validation(format!("Invalid ShardIterator: {text}")))?;
    let now = cloud.clock.now_millis();
    if now.saturating_sub(iterator.issued_millis) > ITERATOR_LIFETIME_MILLIS {
        return Err(ApiError::new(
            ErrorCode::ExpiredIteratorException,
            format!(
                "Iterator expired. The iterator was created at time {} while right now it's {} which is further in future than the tolerated delay of {ITERATOR_LIFETIME_MILLIS} milliseconds.",
                clock::iso8601(iterator.issued_millis),
                clock::iso8601(now)
            ),
        ));
    }
    let arn = iterator.stream_arn;
    let (account, store) = locate(cloud, region, arn)?;
    authorize_stream(cloud, caller, "dynamodb:GetRecords", arn, &account, &store)?;
    let mut store = lock(&store);
    let stream = trimmed_stream(&mut store, arn, now)?;
    let next_in_stream = stream.next_sequence;
    let view_type = stream.view_type.as_str();
    let Some(shard) = stream.shards.iter().find(|s| s.id == iterator.shard_id) else {
        return Err(ApiError::new(
            ErrorCode::TrimmedDataAccessException,
            format!("Shard {} of stream {arn} was trimmed", iterator.shard_id),
        ));
    };
    if iterator.position < shard.trim_horizon() {
        return Err(ApiError::new(
            ErrorCode::TrimmedDataAccessException,
            format!(
                "The iterator's position {} in shard {} is beyond the trim horizon",
                sequence_text(iterator.position),
                shard.id
            ),
        ));
    }
    let first = shard
        .records
        .partition_point(|r| r.sequence < iterator.position);
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut position = iterator.position.max(shard.starting_sequence);
    for record in shard.records.range(first..) {
        if records.len() >= limit
            || (bytes > 0 && bytes + record.size_bytes as usize > GET_RECORDS_MAX_BYTES)
        {
            break;
        }
        bytes += record.size_bytes as usize;
        let event_id = hex(Sha256::new()
            .chain_update(arn.as_bytes())
            .chain_update(record.sequence.to_le_bytes())
            .finalize()
            .get(..16)
            .unwrap_or_default());
        records.push(RecordOut {
            event_id,
            event_name: record.event.as_str(),
            event_version: "1.1",
            event_source: "aws:dynamodb",
            aws_region: region,
            dynamodb: StreamRecordOut {
                approximate_creation_date_time: record.created_millis / 1000,
                keys: &record.keys,
                new_image: record.new_image.as_deref(),
                old_image: record.old_image.as_deref(),
                sequence_number: sequence_text(record.sequence),
                size_bytes: record.size_bytes,
                stream_view_type: view_type,
            },
        });
        position = record.sequence + 1;
    }
    let end = shard.end_position(next_in_stream);
    let drained = shard.ending_sequence.is_some() && position >= end;
    let output = GetRecordsOut {
        records,
        next_shard_iterator: (!drained).then(|| format!("{arn}|1|{}|{position}|{now}", shard.id)),
    };
    serde_json::to_string(&output).map_err(|error| {
        ApiError::new(
            ErrorCode::InternalFailure,
            format!("the records could not be written as JSON: {error}"),
        )
    })
}

/// GetRecords' output, written straight from the stored records: the images
/// are already JSON and are copied, not parsed.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsOut<'a> {
    records: Vec<RecordOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_shard_iterator: Option<String>,
}

/// One record of GetRecords' output.
#[derive(Serialize)]
struct RecordOut<'a> {
    #[serde(rename = "eventID")]
    event_id: String,
    #[serde(rename = "eventName")]
    event_name: &'static str,
    #[serde(rename = "eventVersion")]
    event_version: &'static str,
    #[serde(rename = "eventSource")]
    event_source: &'static str,
    #[serde(rename = "awsRegion")]
    aws_region: &'a str,
    dynamodb: StreamRecordOut<'a>,
}

/// The `dynamodb` member of a record.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StreamRecordOut<'a> {
    approximate_creation_date_time: u64,
    keys: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    new_image: Option<&'a RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    old_image: Option<&'a RawValue>,
    sequence_number: String,
    size_bytes: u32,
    stream_view_type: &'static str,
}

/// Authorizes `action` (`dynamodb:GetRecords`, ...) on the stream `arn` in
/// `region` for `caller`, with the stream's resource policy, as a read of
/// that stream would be: Lambda checks an event source mapping's role with
/// this before it accepts the mapping.
pub(crate) fn authorize_stream_read(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    action: &str,
    arn: &str,
) -> Result<(), ApiError> {
    let (account, store) = locate(cloud, region, arn)?;
    authorize_stream(cloud, caller, action, arn, &account, &store)
}
