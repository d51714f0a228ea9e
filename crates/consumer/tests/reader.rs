//! The direct reader against the local cloud: lineage across rollovers, a
//! restart from file checkpoints, an expired iterator, and trimmed data.
//! Every test starts its own cloud on a port of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use futures_util::FutureExt;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType, StreamSpecification, StreamViewType,
};
use streamgate_consumer::StreamArn;
use streamgate_consumer::checkpoint::{
    Checkpoint, CheckpointError, CheckpointStore, FileCheckpoints, InMemoryCheckpoints,
};
use streamgate_consumer::reader::{ReaderEvent, ReaderOptions, StreamReader};
use streamgate_consumer::records::AttributeValue as Value;
use streamgate_local::{LocalCloud, RunningCloud};

const ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";

struct Fixture {
    cloud: RunningCloud,
    dynamodb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    stream: StreamArn,
}

async fn fixture(builder: streamgate_local::LocalCloudBuilder) -> Fixture {
    let cloud = builder.start().await.unwrap();
    // One SDK configuration for both clients: same endpoint, region, keys.
    let config = cloud.sdk_config(ACCOUNT, REGION).unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);
    let table = dynamodb
        .create_table()
        .table_name("documents")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stream = table
        .table_description
        .unwrap()
        .latest_stream_arn
        .unwrap()
        .parse()
        .unwrap();
    Fixture {
        cloud,
        dynamodb,
        streams,
        stream,
    }
}

impl Fixture {
    async fn put(&self, ids: std::ops::Range<usize>) {
        for i in ids {
            self.dynamodb
                .put_item()
                .table_name("documents")
                .item("id", AttributeValue::S(format!("k{i:02}")))
                .item("pages", AttributeValue::N(i.to_string()))
                .send()
                .await
                .unwrap();
        }
    }

    fn reader<C: streamgate_consumer::checkpoint::CheckpointStore>(
        &self,
        checkpoints: C,
        batch_size: i32,
    ) -> StreamReader<C> {
        StreamReader::new(
            self.streams.clone(),
            self.stream.clone(),
            checkpoints,
            ReaderOptions::default()
                .batch_size(batch_size)
                .idle_wait(Duration::from_millis(5)),
        )
        .unwrap()
    }
}

/// What a reader yielded, one line per event, records by their item id.
fn describe(event: &ReaderEvent) -> String {
    match event {
        ReaderEvent::Batch(batch) => {
            let ids: Vec<String> = batch
                .records
                .iter()
                .map(|r| match r {
                    Ok(e) => match e.keys.get("id") {
                        Some(Value::S(id)) => id.clone(),
                        other => format!("{other:?}"),
                    },
                    Err(e) => format!("error {e}"),
                })
                .collect();
            format!("batch {}", ids.join(" "))
        }
        ReaderEvent::Trimmed { checkpoint, .. } => format!("trimmed (checkpoint {checkpoint:?})"),
        ReaderEvent::ShardFinished { .. } => "shard finished".to_owned(),
        other => format!("{other:?}"),
    }
}

/// Reads until `want` records were handed out, giving up (with what it saw)
/// after 200 events or 20 seconds.
async fn read_records<C: streamgate_consumer::checkpoint::CheckpointStore>(
    reader: &mut StreamReader<C>,
    want: usize,
) -> (Vec<String>, Vec<String>) {
    let mut ids = Vec::new();
    let mut log = Vec::new();
    let outcome = tokio::time::timeout(Duration::from_secs(20), async {
        for _ in 0..200 {
            if ids.len() >= want {
                return;
            }
            let event = reader.next().await.expect("the stream ended").unwrap();
            log.push(describe(&event));
            if let ReaderEvent::Batch(batch) = event {
                for record in batch.records {
                    let record = record.unwrap();
                    if let Some(Value::S(id)) = record.keys.get("id") {
                        ids.push(id.clone());
                    }
                }
            }
        }
    })
    .await;
    assert!(
        outcome.is_ok() && ids.len() >= want,
        "waited for {want} records, got {}: {log:?}",
        ids.len()
    );
    (ids, log)
}

fn keys(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("k{i:02}")).collect()
}

#[tokio::test]
async fn reads_every_record_in_order_across_rollovers() {
    let f = fixture(LocalCloud::builder().shard_max_records(5)).await;
    f.put(0..23).await;
    let mut reader = f.reader(InMemoryCheckpoints::default(), 4);
    let (ids, _log) = read_records(&mut reader, 23).await;
    assert_eq!(ids, keys(0..23));
    reader.commit().await.unwrap();
    let checkpoints = reader.checkpoints().snapshot().unwrap();
    let shards = &checkpoints[&f.stream.to_string()];
    let finished = shards
        .values()
        .filter(|c| **c == Checkpoint::Finished)
        .count();
    assert_eq!(shards.len(), 5, "{shards:?}");
    assert_eq!(finished, 4, "{shards:?}");
    f.cloud.stop().await;
}

#[tokio::test]
async fn a_restart_from_file_checkpoints_loses_nothing() {
    let f = fixture(LocalCloud::builder()).await;
    let dir = std::env::temp_dir().join(format!("sg-reader-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("checkpoints.json");
    let _ = std::fs::remove_file(&path);
    f.put(0..10).await;

    let mut first = f.reader(FileCheckpoints::open(&path).unwrap(), 3);
    let (ids, _) = read_records(&mut first, 3).await;
    assert_eq!(ids, keys(0..3));
    // The second batch is handed out, then the process "dies" before asking
    // for more: its checkpoint was never saved.
    let (ids, _) = read_records(&mut first, 3).await;
    assert_eq!(ids, keys(3..6));
    drop(first);

    f.put(10..15).await;
    let mut second = f.reader(FileCheckpoints::open(&path).unwrap(), 3);
    let (ids, _) = read_records(&mut second, 12).await;
    assert_eq!(ids, keys(3..15), "resumes after the last saved checkpoint");
    std::fs::remove_dir_all(&dir).unwrap();
    f.cloud.stop().await;
}

#[tokio::test]
async fn the_reader_is_also_an_async_stream() {
    use futures_util::StreamExt;
    let f = fixture(LocalCloud::builder().shard_max_records(3)).await;
    f.put(0..7).await;
    let stream = f.reader(InMemoryCheckpoints::default(), 2).into_stream();
    let ids: Vec<String> = stream
        .filter_map(|event| async move {
            match event.unwrap() {
                ReaderEvent::Batch(batch) => {
                    Some(futures_util::stream::iter(batch.records.into_iter().map(
                        |r| match r.unwrap().keys.get("id") {
                            Some(Value::S(id)) => id.clone(),
                            other => format!("{other:?}"),
                        },
                    )))
                }
                _ => None,
            }
        })
        .flatten()
        .take(7)
        .collect()
        .await;
    assert_eq!(ids, keys(0..7));
    f.cloud.stop().await;
}

#[tokio::test]
async fn an_expired_iterator_is_refreshed_from_the_readers_position() {
    let f = fixture(LocalCloud::builder()).await;
    f.put(0..6).await;
    let mut reader = f.reader(InMemoryCheckpoints::default(), 3);
    let (ids, _) = read_records(&mut reader, 3).await;
    assert_eq!(ids, keys(0..3));
    f.cloud.advance_clock(Duration::from_secs(16 * 60));
    let (ids, _) = read_records(&mut reader, 3).await;
    assert_eq!(ids, keys(3..6));
    f.cloud.stop().await;
}

#[tokio::test]
async fn trimmed_data_is_reported_and_reading_goes_on() {
    let f = fixture(LocalCloud::builder()).await;
    f.put(0..3).await;
    let mut reader = f.reader(InMemoryCheckpoints::default(), 1);
    let (ids, _) = read_records(&mut reader, 1).await;
    assert_eq!(ids, keys(0..1));
    reader.commit().await.unwrap();
    // k01 and k02 age out unread; k03 and k04 are written a day later.
    f.cloud.advance_clock(Duration::from_secs(25 * 3600));
    f.put(3..5).await;
    let (ids, log) = read_records(&mut reader, 2).await;
    assert_eq!(ids, keys(3..5));
    assert!(
        log.first()
            .is_some_and(|l| l.starts_with("trimmed (checkpoint Some(After")),
        "{log:?}"
    );
    f.cloud.stop().await;
}

/// Checkpoints in memory whose saves can be made to fail or to never
/// complete.
#[derive(Default)]
struct FlakyCheckpoints {
    inner: InMemoryCheckpoints,
    /// `SAVE`, `FAIL` or `HANG`.
    behaviour: AtomicU8,
}

const SAVE: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;

impl CheckpointStore for FlakyCheckpoints {
    async fn load(
        &self,
        stream_arn: &str,
        shard_id: &str,
    ) -> Result<Option<Checkpoint>, CheckpointError> {
        self.inner.load(stream_arn, shard_id).await
    }

    async fn save(
        &self,
        stream_arn: &str,
        shard_id: &str,
        checkpoint: Checkpoint,
    ) -> Result<(), CheckpointError> {
        match self.behaviour.load(Ordering::SeqCst) {
            FAIL => Err(CheckpointError::Io {
                path: "flaky".into(),
                source: std::io::Error::other("disk full"),
            }),
            HANG => std::future::pending().await,
            _ => self.inner.save(stream_arn, shard_id, checkpoint).await,
        }
    }
}

#[tokio::test]
async fn a_failed_or_cancelled_commit_keeps_the_checkpoint_and_holds_children_back() {
    let f = fixture(LocalCloud::builder().shard_max_records(2)).await;
    f.put(0..4).await;
    let store = FlakyCheckpoints::default();
    let mut reader = f.reader(&store, 2);
    // The first shard holds k00 and k01 and is closed: this batch ends it.
    let first = tokio::time::timeout(Duration::from_secs(10), reader.next())
        .await
        .expect("waited 10 s for the first batch")
        .unwrap()
        .unwrap();
    let ReaderEvent::Batch(batch) = first else {
        panic!("expected a batch, got {first:?}")
    };
    let parent = batch.shard_id.clone();
    assert_eq!(describe(&ReaderEvent::Batch(batch)), "batch k00 k01");

    // A save that fails: the error is reported, again and again, and the
    // child shard is not read meanwhile.
    store.behaviour.store(FAIL, Ordering::SeqCst);
    for _ in 0..2 {
        let err = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await
            .expect("waited 10 s for the failing commit")
            .unwrap()
            .unwrap_err();
        assert!(err.to_string().contains("disk full"), "{err}");
    }
    // A save that is cancelled (the caller drops `next` while it waits).
    store.behaviour.store(HANG, Ordering::SeqCst);
    assert!(reader.next().now_or_never().is_none(), "the save hangs");
    assert!(store.inner.snapshot().unwrap().is_empty());

    store.behaviour.store(SAVE, Ordering::SeqCst);
    let (ids, _) = read_records(&mut reader, 2).await;
    assert_eq!(ids, keys(2..4));
    let saved = store.inner.snapshot().unwrap();
    assert_eq!(
        saved[&f.stream.to_string()].get(&parent),
        Some(&Checkpoint::Finished),
        "{saved:?}"
    );
    f.cloud.stop().await;
}

/// A scripted DynamoDB Streams endpoint on loopback, for stream states the
/// local cloud never shows (a stream still being enabled, with no shard,
/// or refusing one call). DescribeStream answers the script's next entry
/// (the last one repeats); GetShardIterator and GetRecords give their
/// answers (by default an iterator, and the shard read to its end).
struct ScriptedStreams {
    endpoint: String,
    describes: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

/// An HTTP status and a JSON body.
type Answer = (u16, String);

fn ok(body: &str) -> Answer {
    (200, body.to_owned())
}

/// An awsJson1_0 error answer.
fn refused(code: &str, message: &str) -> Answer {
    (
        400,
        format!(r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{code}","message":"{message}"}}"#),
    )
}

const SCRIPTED_ARN: &str =
    "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
const SCRIPTED_SHARD: &str = "shardId-00000001714564800000-0000abcd";

/// A DescribeStream answer: the status and whether the one closed shard is
/// listed.
fn description(status: &str, with_shard: bool) -> String {
    let shards = if with_shard {
        format!(
            r#"[{{"ShardId":"{SCRIPTED_SHARD}","SequenceNumberRange":{{"StartingSequenceNumber":"100000000000000000001","EndingSequenceNumber":"100000000000000000001"}}}}]"#
        )
    } else {
        "[]".to_owned()
    };
    format!(
        r#"{{"StreamDescription":{{"StreamArn":"{SCRIPTED_ARN}","StreamStatus":"{status}","StreamViewType":"NEW_AND_OLD_IMAGES","TableName":"documents","Shards":{shards}}}}}"#
    )
}

impl ScriptedStreams {
    async fn start(script: Vec<String>) -> Self {
        Self::start_with(
            script,
            ok(r#"{"ShardIterator":"iterator-1"}"#),
            ok(r#"{"Records":[]}"#),
        )
        .await
    }

    /// With the answers (status and body) of GetShardIterator and GetRecords.
    async fn start_with(script: Vec<String>, iterator: Answer, records: Answer) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::AtomicUsize;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let describes = Arc::new(AtomicUsize::new(0));
        let script = Arc::new(script);
        let counter = Arc::clone(&describes);
        let server = tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let script = Arc::clone(&script);
                let counter = Arc::clone(&counter);
                let (iterator, records) = (iterator.clone(), records.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    loop {
                        // One request: headers, then Content-Length bytes.
                        let head_end = loop {
                            if let Some(at) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                                break at + 4;
                            }
                            let mut chunk = [0u8; 4096];
                            let n = socket.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            buffer.extend_from_slice(&chunk[..n]);
                        };
                        let head = String::from_utf8_lossy(&buffer[..head_end]).to_lowercase();
                        let header = |name: &str| {
                            head.lines()
                                .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
                        };
                        let length: usize = header("content-length:")
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0);
                        let target = header("x-amz-target:").unwrap_or_default();
                        while buffer.len() < head_end + length {
                            let mut chunk = [0u8; 4096];
                            let n = socket.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            buffer.extend_from_slice(&chunk[..n]);
                        }
                        buffer.drain(..head_end + length);
                        let (status, body) = match target.rsplit('.').next().unwrap_or_default() {
                            "describestream" => {
                                let call = counter.fetch_add(1, Ordering::SeqCst);
                                (200, script[call.min(script.len() - 1)].clone())
                            }
                            "getsharditerator" => iterator.clone(),
                            "getrecords" => records.clone(),
                            other => panic!("unexpected operation {other}"),
                        };
                        let response = format!(
                            "HTTP/1.1 {status} Scripted\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self {
            endpoint,
            describes,
            server,
        }
    }

    fn reader(&self) -> StreamReader<InMemoryCheckpoints> {
        StreamReader::new(
            self.client(),
            SCRIPTED_ARN.parse().unwrap(),
            InMemoryCheckpoints::default(),
            ReaderOptions::default().idle_wait(Duration::from_millis(1)),
        )
        .unwrap()
    }

    fn client(&self) -> aws_sdk_dynamodbstreams::Client {
        use aws_sdk_dynamodbstreams::config::{BehaviorVersion, Credentials, Region};
        let config = aws_sdk_dynamodbstreams::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .endpoint_url(&self.endpoint)
            .build();
        aws_sdk_dynamodbstreams::Client::from_conf(config)
    }
}

#[tokio::test]
async fn a_stream_without_shards_yet_is_waited_for_until_it_is_disabled_and_read() {
    let mut script = vec![description("ENABLING", false); 3];
    script.extend(vec![description("ENABLED", true); 3]);
    script.push(description("DISABLED", true));
    let streams = ScriptedStreams::start(script).await;
    let mut reader = streams.reader();
    let mut log = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = reader.next().await {
            log.push(describe(&event.unwrap()));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("waited 10 s for the stream to end, saw {log:?}"));
    // No shard while enabling: not the end. The shard read to its end while
    // the stream is enabled: not the end either. Disabled and read: the end.
    assert_eq!(log, ["shard finished"]);
    assert_eq!(streams.describes.load(Ordering::SeqCst), 7);
    streams.server.abort();
}

#[tokio::test]
async fn a_refused_call_on_a_shard_names_the_shard() {
    for (iterator, records, operation) in [
        (
            refused("AccessDeniedException", "not for you"),
            ok(r#"{"Records":[]}"#),
            "GetShardIterator",
        ),
        (
            ok(r#"{"ShardIterator":"iterator-1"}"#),
            refused("AccessDeniedException", "not these records"),
            "GetRecords",
        ),
    ] {
        let streams =
            ScriptedStreams::start_with(vec![description("ENABLED", true)], iterator, records)
                .await;
        let mut reader = streams.reader();
        let err = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await
            .expect("waited 10 s for the refused call")
            .unwrap()
            .unwrap_err();
        assert_eq!(err.shard_id(), Some(SCRIPTED_SHARD), "{err}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "{operation} on {SCRIPTED_ARN} shard {SCRIPTED_SHARD} failed: "
            )),
            "{message}"
        );
        streams.server.abort();
    }
}

#[tokio::test]
async fn a_batch_size_out_of_range_is_refused() {
    let streams = ScriptedStreams::start(vec![description("ENABLED", true)]).await;
    for size in [0, 1001] {
        let err = StreamReader::new(
            streams.client(),
            SCRIPTED_ARN.parse().unwrap(),
            InMemoryCheckpoints::default(),
            ReaderOptions::default().batch_size(size),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("invalid reader option: batch_size must be 1 to 1000, got {size}")
        );
    }
    streams.server.abort();
}
