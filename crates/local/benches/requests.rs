//! Requests per second through the real SDK clients on loopback, every
//! request SigV4-verified and authorized: single-client PutItem on a
//! stream-enabled table, and GetRecords (records per second).
//!
//! `put_item/raw_http` sends the same PutItem, signed, over one keep-alive
//! connection without an SDK, to show the server's own cost.
//!
//! Set `STREAMGATE_PEER_ENDPOINT` to a peer emulator's endpoint URL to
//! measure the same PutItem loop against it in the same run.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

#[path = "support/sdk.rs"]
mod sdk;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sdk::{SigningKey, create_documents_table, dynamodb_client, streams_client, time_requests};
use std::time::{Duration, Instant};
use streamgate_local::LocalCloud;
use streamgate_local::wire::ReceivedRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One signed PutItem as HTTP/1.1 bytes.
fn raw_put_item(host: &str, n: u64) -> Vec<u8> {
    let body = format!(
        r#"{{"TableName":"documents","Item":{{"pk":{{"S":"raw-{}"}},"tenant":{{"S":"tenant-b"}},"pages":{{"N":"{n}"}}}}}}"#,
        n % 10_000
    );
    let mut request = ReceivedRequest {
        method: "POST".into(),
        path: "/".into(),
        query: String::new(),
        headers: vec![
            ("host".into(), host.to_owned()),
            ("content-type".into(), "application/x-amz-json-1.0".into()),
            ("x-amz-target".into(), "DynamoDB_20120810.PutItem".into()),
        ],
        body: body.into(),
    };
    streamgate_local::sigv4::sign(
        &mut request,
        ACCOUNT,
        "streamgate-local",
        "eu-west-1",
        "dynamodb",
        streamgate_local::clock::wall_millis(),
    );
    let mut bytes = b"POST / HTTP/1.1\r\n".to_vec();
    for (name, value) in &request.headers {
        bytes.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    bytes.extend_from_slice(format!("content-length: {}\r\n\r\n", request.body.len()).as_bytes());
    bytes.extend_from_slice(&request.body);
    bytes
}

/// Sends one request on a keep-alive connection and reads the whole answer.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) {
    stream.write_all(request).await.unwrap();
    buffer.clear();
    loop {
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.unwrap();
        assert!(read > 0, "the server closed the connection");
        buffer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(buffer);
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("content-length: "))
                .map_or(0, |v| v.trim().parse().unwrap());
            if buffer.len() >= end + 4 + length {
                assert!(text.starts_with("HTTP/1.1 200"), "{text}");
                return;
            }
        }
    }
}

const ACCOUNT: &str = "222222222222";

/// The key the clients sign with: an account id as the access key id,
/// which the local cloud accepts for that account.
const KEY: SigningKey<'static> = SigningKey {
    access_key_id: ACCOUNT,
    secret_access_key: "streamgate-local",
};

fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    dynamodb_client(endpoint, &KEY)
}

fn streams(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    streams_client(endpoint, &KEY)
}

async fn create_table(client: &aws_sdk_dynamodb::Client) {
    create_documents_table(client).await;
}

async fn put(client: &aws_sdk_dynamodb::Client, n: u64) {
    client
        .put_item()
        .table_name("documents")
        .item("pk", AttributeValue::S(format!("doc-{}", n % 10_000)))
        .item("tenant", AttributeValue::S("tenant-b".into()))
        .item("pages", AttributeValue::N(n.to_string()))
        .send()
        .await
        .unwrap();
}

/// Measures `iterations` PutItem calls, one after another from one client.
fn put_items(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_dynamodb::Client,
    iterations: u64,
) -> Duration {
    time_requests(runtime, iterations, |n| put(client, n))
}

fn benches(c: &mut Criterion) {
    // One thread for client and server: a single client's requests never
    // hop between threads, so the figure is the cost of the work itself.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cloud = runtime.block_on(LocalCloud::builder().start()).unwrap();
    let endpoint = cloud.endpoint_url();
    let client = dynamodb(&endpoint);
    runtime.block_on(create_table(&client));

    let mut group = c.benchmark_group("put_item");
    group.throughput(Throughput::Elements(1));
    group.bench_function("streamgate-local", |b| {
        b.iter_custom(|iterations| put_items(&runtime, &client, iterations));
    });
    group.bench_function("raw_http", |b| {
        b.iter_custom(|iterations| {
            runtime.block_on(async {
                let address = cloud.local_addr();
                let mut stream = TcpStream::connect(address).await.unwrap();
                stream.set_nodelay(true).unwrap();
                let host = address.to_string();
                let mut buffer = Vec::new();
                let start = Instant::now();
                for n in 0..iterations {
                    exchange(&mut stream, &raw_put_item(&host, n), &mut buffer).await;
                }
                start.elapsed()
            })
        });
    });
    if let Ok(peer) = std::env::var("STREAMGATE_PEER_ENDPOINT") {
        let peer_client = dynamodb(&peer);
        // The peer may keep state between runs: a table that exists is fine.
        let _ = runtime.block_on(peer_client.delete_table().table_name("documents").send());
        runtime.block_on(create_table(&peer_client));
        group.bench_function("peer", |b| {
            b.iter_custom(|iterations| put_items(&runtime, &peer_client, iterations));
        });
    }
    group.finish();

    // GetRecords: a full page of 1,000 records per call from the trim horizon.
    let reader = streams(&endpoint);
    let iterator = runtime.block_on(async {
        let table = client
            .describe_table()
            .table_name("documents")
            .send()
            .await
            .unwrap();
        let arn = table.table.unwrap().latest_stream_arn.unwrap();
        for n in 0..2_000 {
            put(&client, 1_000_000 + n).await;
        }
        let description = reader
            .describe_stream()
            .stream_arn(&arn)
            .send()
            .await
            .unwrap();
        let shard = description
            .stream_description
            .unwrap()
            .shards
            .unwrap()
            .remove(0);
        reader
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator
            .unwrap()
    });
    let mut group = c.benchmark_group("get_records");
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("page_of_1000", |b| {
        b.iter_custom(|iterations| {
            time_requests(&runtime, iterations, |_| async {
                let page = reader
                    .get_records()
                    .shard_iterator(&iterator)
                    .limit(1_000)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(page.records.map(|r| r.len()), Some(1_000));
            })
        });
    });
    group.finish();
    runtime.block_on(cloud.stop());
}

criterion_group! {
    name = requests;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = benches
}
criterion_main!(requests);
