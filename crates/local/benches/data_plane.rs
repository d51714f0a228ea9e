//! The data plane per second through the real SDK client on loopback, one
//! client, every request SigV4-verified and authorized: Query of one
//! 100-item partition out of a 100,000-item table, UpdateItem with a
//! condition (the demo's exact-totals write), and part 1's PutItem figure
//! measured in the same run for comparison.
//!
//! The peer is moto's server, started by the helper `tests/moto.rs` uses
//! (`tests/support/python.rs`: python3 that imports moto, or moto installed with pip into a
//! virtual environment under the target directory), so every figure comes
//! with a ratio from the same run; without python3 the bench says so and
//! measures streamgate-local alone. Set `STREAMGATE_PEER_ENDPOINT` to
//! measure another running emulator as the peer instead.
//!
//! One run (`-- --warm-up-time 1 --measurement-time 3`, on an idle 2-core
//! machine; medians, moto 5.2.1 in the same run):
//!
//! | loop | streamgate-local | moto | ratio |
//! |---|---|---|---|
//! | Query of 100 items from 100,000 | 605 µs (1,653/s) | 658 ms (1.5/s) | 1,087x |
//! | UpdateItem with a condition | 175 µs (5,712/s) | 3.22 ms (311/s) | 18.4x |
//! | PutItem | 148 µs (6,757/s) | 1.83 ms (545/s) | 12.4x |

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

#[path = "../tests/support/python.rs"]
mod python;
#[path = "support/sdk.rs"]
mod sdk;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, WriteRequest,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use python::{MotoServer, python_with_moto};
use sdk::{SigningKey, dynamodb_client, time_requests};
use std::time::Duration;
use streamgate_local::LocalCloud;

const ACCOUNT: &str = "222222222222";
const PARTITIONS: u64 = 1_000;
const ITEMS_PER_PARTITION: u64 = 100;

fn dynamodb(endpoint: &str) -> aws_sdk_dynamodb::Client {
    // An account id as the access key id, which the local cloud accepts
    // for that account.
    let key = SigningKey {
        access_key_id: ACCOUNT,
        secret_access_key: "streamgate-local",
    };
    dynamodb_client(endpoint, &key)
}

async fn create_table(client: &aws_sdk_dynamodb::Client) {
    // The peer may keep state between runs: start from an empty table.
    let _ = client.delete_table().table_name("usage").send().await;
    client
        .create_table()
        .table_name("usage")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("tenant")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("day")
                .attribute_type(ScalarAttributeType::N)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("tenant")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("day")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

/// Fills the table with 100,000 items, 25 per BatchWriteItem.
async fn fill(client: &aws_sdk_dynamodb::Client) {
    let mut batch = Vec::new();
    for tenant in 0..PARTITIONS {
        for day in 0..ITEMS_PER_PARTITION {
            batch.push(
                WriteRequest::builder()
                    .put_request(
                        PutRequest::builder()
                            .item("tenant", AttributeValue::S(format!("tenant-{tenant}")))
                            .item("day", AttributeValue::N(day.to_string()))
                            .item("total", AttributeValue::N("0".into()))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            );
            if batch.len() == 25 {
                client
                    .batch_write_item()
                    .request_items("usage", std::mem::take(&mut batch))
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}

fn query_loop(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_dynamodb::Client,
    iterations: u64,
) -> Duration {
    time_requests(runtime, iterations, |n| async move {
        let page = client
            .query()
            .table_name("usage")
            .key_condition_expression("tenant = :t")
            .expression_attribute_values(
                ":t",
                AttributeValue::S(format!("tenant-{}", n % PARTITIONS)),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(page.count, 100);
    })
}

fn update_loop(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_dynamodb::Client,
    iterations: u64,
) -> Duration {
    time_requests(runtime, iterations, |n| async move {
        client
            .update_item()
            .table_name("usage")
            .key(
                "tenant",
                AttributeValue::S(format!("tenant-{}", n % PARTITIONS)),
            )
            .key("day", AttributeValue::N("0".into()))
            .update_expression("SET #total = #total + :bytes")
            .condition_expression("attribute_exists(tenant) AND #total >= :zero")
            .expression_attribute_names("#total", "total")
            .expression_attribute_values(":bytes", AttributeValue::N("1024".into()))
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await
            .unwrap();
    })
}

fn put_loop(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_dynamodb::Client,
    iterations: u64,
) -> Duration {
    time_requests(runtime, iterations, |n| async move {
        client
            .put_item()
            .table_name("usage")
            .item("tenant", AttributeValue::S("put-bench".into()))
            .item("day", AttributeValue::N((n % 10_000).to_string()))
            .item("total", AttributeValue::N(n.to_string()))
            .send()
            .await
            .unwrap();
    })
}

fn benches(c: &mut Criterion) {
    // One thread for client and server, as in the part 1 bench.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let cloud = runtime.block_on(LocalCloud::builder().start()).unwrap();
    let mut targets = vec![("streamgate-local", dynamodb(&cloud.endpoint_url()))];
    let mut _moto = None;
    if let Ok(peer) = std::env::var("STREAMGATE_PEER_ENDPOINT") {
        targets.push(("peer", dynamodb(&peer)));
    } else {
        match python_with_moto() {
            Ok(python) => {
                let server = MotoServer::start(&python);
                targets.push(("moto", dynamodb(&server.endpoint_url())));
                _moto = Some(server);
            }
            Err(why) => eprintln!("no peer measured: {why}; measuring streamgate-local alone"),
        }
    }
    for (_, client) in &targets {
        runtime.block_on(async {
            create_table(client).await;
            fill(client).await;
        });
    }
    type Loop = fn(&tokio::runtime::Runtime, &aws_sdk_dynamodb::Client, u64) -> Duration;
    let loops: [(&str, Loop); 3] = [
        ("query_100_of_100000", query_loop),
        ("conditional_update_item", update_loop),
        ("put_item", put_loop),
    ];
    for (name, measured) in loops {
        let mut group = c.benchmark_group(name);
        group.throughput(Throughput::Elements(1));
        for (target, client) in &targets {
            group.bench_function(*target, |b| {
                b.iter_custom(|iterations| measured(&runtime, client, iterations));
            });
        }
        group.finish();
    }
    runtime.block_on(cloud.stop());
}

criterion_group! {
    name = data_plane;
    config = Criterion::default().sample_size(10).measurement_time(Duration::from_secs(4));
    targets = benches
}
criterion_main!(data_plane);
