//! # 04 — read a stream directly, without Lambda
//!
//! Teaches: the direct reader of `streamgate::consumer::reader` for local
//! tools and backfills: it discovers the shards, reads parents before
//! children across rollovers, and checkpoints each shard, so a restart
//! resumes where the last run stopped.
//!
//! Input: an in-process local cloud (account 222222222222 with the local
//! cloud's root keys), a table `documents` with a NEW_AND_OLD_IMAGES
//! stream whose shards roll over every 4 records, and 10 items written to
//! it (`doc-0` to `doc-9`). The reader reads them all, then a second reader
//! opened on the same checkpoints finds nothing left to read but the two
//! items written since, `doc-10` and `doc-11`: the example fails if it
//! reads any other key first.
//!
//! Run: `cargo run --example 04_read_stream_directly --features local,reader,sdk-config`

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};
use streamgate::consumer::checkpoint::InMemoryCheckpoints;
use streamgate::consumer::reader::{ReaderEvent, ReaderOptions, StreamReader};
use streamgate::local::LocalCloud;

const ACCOUNT: &str = "222222222222";
const REGION: &str = "eu-west-1";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cloud = LocalCloud::builder().shard_max_records(4).start().await?;
    // The account's root keys, the cloud's endpoint and the region in one
    // SDK configuration, shared by both clients.
    let config = cloud.sdk_config(ACCOUNT, REGION)?;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let streams = aws_sdk_dynamodbstreams::Client::new(&config);

    let table = dynamodb
        .create_table()
        .table_name("documents")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("id")
                .attribute_type(ScalarAttributeType::S)
                .build()?,
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("id")
                .key_type(KeyType::Hash)
                .build()?,
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()?,
        )
        .send()
        .await?;
    let stream_arn = table
        .table_description
        .and_then(|t| t.latest_stream_arn)
        .ok_or("the table has no stream")?;
    println!("stream: {stream_arn}");

    let write = async |from: usize, to: usize| -> Result<(), Box<dyn std::error::Error>> {
        for i in from..to {
            dynamodb
                .put_item()
                .table_name("documents")
                .item("id", AttributeValue::S(format!("doc-{i}")))
                .item("pages", AttributeValue::N((i * 3).to_string()))
                .send()
                .await?;
        }
        Ok(())
    };
    write(0, 10).await?;

    let checkpoints = InMemoryCheckpoints::default();
    let options = ReaderOptions::default()
        .batch_size(3)
        .idle_wait(Duration::from_millis(10));
    let mut reader = StreamReader::new(
        streams.clone(),
        stream_arn.parse()?,
        &checkpoints,
        options.clone(),
    )?;
    let mut seen = 0;
    while seen < 10 {
        let event = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await?
            .ok_or("the stream ended")??;
        match event {
            ReaderEvent::Batch(batch) => {
                for record in batch.records {
                    let record = record?;
                    println!(
                        "  {} {} {}",
                        batch.shard_id,
                        record.kind().event_name(),
                        record.keys
                    );
                    seen += 1;
                }
            }
            ReaderEvent::ShardFinished { shard_id } => println!("  {shard_id} finished"),
            other => println!("  {other:?}"),
        }
    }
    reader.commit().await?;
    drop(reader);

    write(10, 12).await?;
    println!("a second reader on the same checkpoints:");
    let mut reader = StreamReader::new(streams, stream_arn.parse()?, &checkpoints, options)?;
    let mut resumed = Vec::new();
    while resumed.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(10), reader.next())
            .await?
            .ok_or("the stream ended")??;
        if let ReaderEvent::Batch(batch) = event {
            for record in batch.records {
                let record = record?;
                println!("  {} {}", batch.shard_id, record.keys);
                let id = record.keys.get("id").and_then(|id| id.as_s());
                resumed.push(id.unwrap_or_default().to_owned());
            }
        }
    }
    cloud.stop().await;
    // Resuming from the checkpoints means the new items and nothing before
    // them: an item read again would come first.
    if resumed != ["doc-10", "doc-11"] {
        return Err(format!(
            "the second reader resumed with {resumed:?}, not with doc-10 and doc-11"
        )
        .into());
    }
    println!("the second reader resumed with exactly the two new items");
    Ok(())
}
