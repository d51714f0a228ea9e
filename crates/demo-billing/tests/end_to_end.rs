//! The whole cross-account system on an in-process local cloud, with this
//! package's own `demo-billing` binary as the function: deploy → exercise →
//! verify → re-deploy (no change) → destroy (nothing left); the two
//! refusals (a mapping before any policy, an account the stream policy does
//! not name); and the reliability run with injected failures and mid-batch
//! exits.
//!
//! The reliability run's sizes are parameters: `RELIABILITY_OPERATIONS`
//! (default 2,000 writes) and `RELIABILITY_KEYS` (default 200 documents per
//! tenant account).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodb::types::AttributeValue;
use std::io::Write;
use std::time::Duration;

use demo_billing::scenario::{
    self, DOCUMENTS_TABLE_NAME, DemoAccounts, ExerciseOptions, FUNCTION_NAME, SourceClient,
    desired_state,
};
use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_provision::apply::{apply, plan_against};
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::plan::Change;
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";

/// This package's function binary as a Lambda deployment package, made
/// once per test binary.
fn bootstrap_zip() -> Vec<u8> {
    static ZIP: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    ZIP.get_or_init(|| {
        let started = std::time::Instant::now();
        let binary = std::fs::read(env!("CARGO_BIN_EXE_demo-billing")).unwrap();
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // The fastest level, as `cargo xtask build` packs.
            .compression_level(Some(1))
            .unix_permissions(0o755);
        writer.start_file("bootstrap", options).unwrap();
        writer.write_all(&binary).unwrap();
        let zip = writer.finish().unwrap().into_inner();
        eprintln!(
            "packaged the function ({} bytes) in {:?}",
            zip.len(),
            started.elapsed()
        );
        zip
    })
    .clone()
}

struct Demo {
    cloud: RunningCloud,
    demo: DemoAccounts,
    accounts: Accounts,
    usage: SourceClient,
    tenants: Vec<SourceClient>,
    _state_dir: TempDir,
}

/// A directory removed when the test ends.
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start(name: &str) -> Demo {
    let dir = std::env::temp_dir().join(format!("streamgate-e2e-{name}-{}", std::process::id()));
    let cloud = LocalCloud::builder()
        .state_dir(&dir)
        .wake_pollers_on_write(true)
        .start()
        .await
        .unwrap();
    let demo = DemoAccounts {
        region: REGION.to_owned(),
        consumer: A.parse().unwrap(),
        sources: vec![B.parse().unwrap(), C.parse().unwrap()],
    };
    let accounts = Accounts::new()
        .with_config(A.parse().unwrap(), &cloud.sdk_config(A, REGION).unwrap())
        .with_config(B.parse().unwrap(), &cloud.sdk_config(B, REGION).unwrap())
        .with_config(C.parse().unwrap(), &cloud.sdk_config(C, REGION).unwrap());
    let client = |account: &str| SourceClient {
        account: account.parse().unwrap(),
        client: aws_sdk_dynamodb::Client::new(&cloud.sdk_config(account, REGION).unwrap()),
    };
    let usage = client(A);
    let tenants = vec![client(B), client(C)];
    Demo {
        cloud,
        demo,
        accounts,
        usage,
        tenants,
        _state_dir: TempDir(dir),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_exercise_verify_redeploy_destroy() {
    let d = start("lifecycle").await;
    let desired = desired_state(&d.demo, bootstrap_zip(), true);
    let mut state = StateFile::new();
    let applied = apply(&desired, &d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    // Three tables, role, role policy, two stream policies, function, two
    // mappings.
    assert_eq!(applied.plan.changes().count(), 10, "{}", applied.plan);

    let report = scenario::exercise(
        &d.tenants,
        &d.usage,
        &ExerciseOptions {
            operations: 300,
            keys_per_account: 30,
            timeout: Duration::from_secs(60),
            ..ExerciseOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.inserts + report.updates + report.deletes, 300);
    assert!(report.deletes > 0 && report.updates > 0);
    assert_eq!(
        report.totals,
        scenario::usage_totals(&d.usage).await.unwrap()
    );
    assert_eq!(
        report.totals,
        scenario::source_totals(&d.tenants).await.unwrap()
    );

    // A second run over the same keys finds the first run's documents: its
    // inserts are only of documents that were absent, so the documents it
    // leaves are those it found, plus its inserts, less its deletes, plus
    // the one latency probe per source account.
    let documents =
        |totals: &scenario::Totals| -> i64 { totals.0.values().map(|t| t.documents).sum() };
    let before = documents(&report.totals);
    let second = scenario::exercise(
        &d.tenants,
        &d.usage,
        &ExerciseOptions {
            operations: 100,
            keys_per_account: 30,
            timeout: Duration::from_secs(60),
            seed: 11,
            ..ExerciseOptions::default()
        },
    )
    .await
    .unwrap();
    let probes = i64::try_from(d.tenants.len()).unwrap();
    assert_eq!(
        documents(&second.totals),
        before + i64::try_from(second.inserts).unwrap() - i64::try_from(second.deletes).unwrap()
            + probes,
        "{second:?}"
    );
    assert!(second.updates > 0, "{second:?}");
    assert_eq!(
        second.totals,
        scenario::source_totals(&d.tenants).await.unwrap()
    );

    // A document the function cannot bill (pages not a number) between two
    // valid ones, written in one transaction so that the three reach the
    // function in one batch, and a valid document turned invalid: with the
    // demo's finite retries, the invalid ones must neither block nor drop
    // the valid ones, and the totals follow the valid documents only.
    let b = &d.tenants[0];
    let before = scenario::usage_totals(&d.usage).await.unwrap();
    let put = |key: &str, pages: AttributeValue| {
        aws_sdk_dynamodb::types::TransactWriteItem::builder()
            .put(
                aws_sdk_dynamodb::types::Put::builder()
                    .table_name(DOCUMENTS_TABLE_NAME)
                    .item("pk", AttributeValue::S(key.to_owned()))
                    .item("tenant", AttributeValue::S("acme".to_owned()))
                    .item("pages", pages)
                    .build()
                    .unwrap(),
            )
            .build()
    };
    b.client
        .transact_write_items()
        .transact_items(put("valid-before", AttributeValue::N("2".to_owned())))
        .transact_items(put("invalid", AttributeValue::S("many".to_owned())))
        .transact_items(put("valid-middle", AttributeValue::N("4".to_owned())))
        .send()
        .await
        .unwrap();
    scenario::put_document(b, "turns-invalid", "acme", 5)
        .await
        .unwrap();
    b.client
        .put_item()
        .table_name(DOCUMENTS_TABLE_NAME)
        .item("pk", AttributeValue::S("turns-invalid".to_owned()))
        .item("tenant", AttributeValue::S("acme".to_owned()))
        .send()
        .await
        .unwrap();
    scenario::put_document(b, "valid-after", "acme", 3)
        .await
        .unwrap();
    let expected = scenario::source_totals(&d.tenants).await.unwrap();
    scenario::wait_for_totals(&d.usage, &expected, Duration::from_secs(60))
        .await
        .unwrap();
    let acme = |totals: &scenario::Totals| {
        totals
            .0
            .iter()
            .find(|(id, _)| id.account.as_str() == B && id.tenant == "acme")
            .map(|(_, t)| (t.documents, t.pages))
            .unwrap_or_default()
    };
    let (documents, pages) = acme(&before);
    assert_eq!(
        acme(&scenario::usage_totals(&d.usage).await.unwrap()),
        (documents + 3, pages + 9)
    );
    let logs = d.cloud.function_logs(A, REGION, FUNCTION_NAME);
    let refused: Vec<&String> = logs
        .iter()
        .filter(|l| l.contains("image counted as no document"))
        .collect();
    assert!(
        refused
            .iter()
            .any(|l| l.contains("NewImage is not a document")
                && l.contains("event_id=")
                && l.contains(&format!(
                    "source=arn:aws:dynamodb:{REGION}:{B}:table/documents/stream/"
                ))),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|l| l.contains("missing field `pages`")),
        "{refused:?}"
    );

    let verified = verify(&desired, &d.accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");

    // Re-deploying plans no change and writes nothing.
    let (plan, _) = plan_against(&desired, &d.accounts).await.unwrap();
    assert_eq!(plan.changes().count(), 0, "{plan}");
    let again = apply(&desired, &d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(again.plan.changes().count(), 0, "{}", again.plan);

    let removed = destroy(&d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(removed.len(), 10);
    assert!(state.is_empty());
    // Nothing is left: every resource would be created again.
    let (plan, _) = plan_against(&desired, &d.accounts).await.unwrap();
    assert!(
        plan.actions
            .iter()
            .all(|a| matches!(a.change, Change::Create { .. })),
        "{plan}"
    );
    assert_eq!(plan.actions.len(), 10, "{plan}");
    d.cloud.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_before_the_policy_and_an_unnamed_account_are_refused() {
    let d = start("refusals").await;
    let mut state = StateFile::new();
    let bare = desired_state(&d.demo, bootstrap_zip(), false);
    apply(&bare, &d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let stream = aws_sdk_dynamodb::Client::new(&d.cloud.sdk_config(B, REGION).unwrap())
        .describe_table()
        .table_name(DOCUMENTS_TABLE_NAME)
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let lambda = aws_sdk_lambda::Client::new(&d.cloud.sdk_config(A, REGION).unwrap());
    let refused = lambda
        .create_event_source_mapping()
        .function_name(FUNCTION_NAME)
        .event_source_arn(&stream)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    let service = refused.as_service_error().unwrap();
    assert_eq!(
        aws_sdk_lambda::error::ProvideErrorMetadata::code(service),
        Some("InvalidParameterValueException")
    );
    let message = aws_sdk_lambda::error::ProvideErrorMetadata::message(service).unwrap();
    assert!(
        message.starts_with(&format!("Cannot access stream {stream}.")),
        "{message}"
    );

    let full = desired_state(&d.demo, bootstrap_zip(), true);
    apply(&full, &d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    // A's role may read now; account C, which B's policy does not name,
    // may not.
    let denied = aws_sdk_dynamodbstreams::Client::new(&d.cloud.sdk_config(C, REGION).unwrap())
        .describe_stream()
        .stream_arn(&stream)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_dynamodbstreams::error::ProvideErrorMetadata::code(&denied),
        Some("AccessDeniedException")
    );
    let message = aws_sdk_dynamodbstreams::error::ProvideErrorMetadata::message(&denied).unwrap();
    assert!(
        message.contains(&format!("arn:aws:iam::{C}:root"))
            && message.contains("dynamodb:DescribeStream"),
        "{message}"
    );
    destroy(&d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    d.cloud.stop().await;
}

fn size_parameter(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v} is not a number"))
        })
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totals_equal_the_sources_despite_failures_and_exits_mid_batch() {
    let operations = size_parameter("RELIABILITY_OPERATIONS", 2_000);
    let keys = size_parameter("RELIABILITY_KEYS", 200);
    let d = start("reliability").await;
    let started = std::time::Instant::now();
    let mut desired = desired_state(&d.demo, bootstrap_zip(), true);
    // Retry until success: a mapping that gives up would drop records, and
    // this test is about losing none.
    for subscription in &mut desired.consumers[0].subscriptions {
        subscription.parameters.maximum_retry_attempts = -1;
        subscription.parameters.maximum_record_age_seconds = -1;
    }
    let mut state = StateFile::new();
    apply(&desired, &d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    // 5% of records fail transiently, 0.3% exit the process mid-batch
    // right after being applied (before the batch is acknowledged).
    aws_sdk_lambda::Client::new(&d.cloud.sdk_config(A, REGION).unwrap())
        .update_function_configuration()
        .function_name(FUNCTION_NAME)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("DEMO_BILLING_FAULTS", "fail=50,exit=3,seed=11")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let report = scenario::exercise(
        &d.tenants,
        &d.usage,
        &ExerciseOptions {
            operations,
            keys_per_account: keys,
            seed: 42,
            timeout: Duration::from_secs(90),
            ..ExerciseOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(report.inserts + report.updates + report.deletes, operations);
    eprintln!(
        "reliability: {operations} writes over {keys} keys per account converged {:?} after the last write; {:?} since deploy",
        report.converged_after,
        started.elapsed()
    );
    assert_eq!(
        scenario::usage_totals(&d.usage).await.unwrap(),
        scenario::source_totals(&d.tenants).await.unwrap()
    );

    let logs = d.cloud.function_logs(A, REGION, FUNCTION_NAME);
    let failed = logs
        .iter()
        .filter(|l| l.contains("fault injection: failing the record"))
        .count();
    let exits = logs
        .iter()
        .filter(|l| l.contains("fault injection: exiting mid-batch"))
        .count();
    assert!(failed > 0, "no record failed: the injection did not run");
    assert!(
        exits >= 2,
        "the process exited {exits} times, expected several"
    );

    // Every record of the source streams was handled: each has an outcome
    // in the function's log (Applied, NoEffect, or AlreadyApplied after a
    // redelivery), none was skipped, and none was applied twice. Per
    // document, the applied changes carry increasing sequence numbers.
    let mut outcomes: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut applied = 0;
    for line in logs.iter().filter(|l| l.contains(" outcome=")) {
        let field = |name: &str| {
            let start = line.find(&format!(" {name}=")).unwrap() + name.len() + 2;
            line[start..].split(' ').next().unwrap().to_owned()
        };
        let (sequence, source, outcome) = (field("sequence"), field("source"), field("outcome"));
        if outcome == "Applied" {
            let marker = field("marker");
            if let Some(previous) = last.get(&marker) {
                assert!(
                    format!("{sequence:0>40}") > format!("{previous:0>40}"),
                    "{marker}: {sequence} applied after {previous}"
                );
            }
            last.insert(marker, sequence.clone());
            applied += 1;
        }
        outcomes
            .entry((source, sequence))
            .or_default()
            .push(outcome);
    }
    let records = stream_records(&d, &[B, C]).await;
    // A put that changes nothing writes no record, so a few writes may
    // have none.
    assert!(records.len() >= operations / 2, "{} records", records.len());
    for record in &records {
        let seen = outcomes
            .get(record)
            .unwrap_or_else(|| panic!("{record:?}: no outcome in the function's log"));
        let count = |name: &str| seen.iter().filter(|o| *o == name).count();
        assert_eq!(count("Skipped"), 0, "{record:?}: {seen:?}");
        assert!(count("Applied") <= 1, "{record:?} applied twice: {seen:?}");
    }
    let unknown: Vec<_> = outcomes.keys().filter(|k| !records.contains(*k)).collect();
    assert!(
        unknown.is_empty(),
        "outcomes of unknown records: {unknown:?}"
    );
    assert!(applied > 0, "no applied change was logged");
    destroy(&d.accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    d.cloud.stop().await;
}

/// Every record of the `documents` streams of `accounts`, as (stream ARN,
/// sequence number), read by each account itself from the oldest record.
async fn stream_records(d: &Demo, accounts: &[&str]) -> BTreeSet<(String, String)> {
    use aws_sdk_dynamodbstreams::types::ShardIteratorType;
    let mut records = BTreeSet::new();
    for account in accounts {
        let config = d.cloud.sdk_config(account, REGION).unwrap();
        let stream = aws_sdk_dynamodb::Client::new(&config)
            .describe_table()
            .table_name(DOCUMENTS_TABLE_NAME)
            .send()
            .await
            .unwrap()
            .table()
            .unwrap()
            .latest_stream_arn()
            .unwrap()
            .to_owned();
        let streams = aws_sdk_dynamodbstreams::Client::new(&config);
        let description = streams
            .describe_stream()
            .stream_arn(&stream)
            .send()
            .await
            .unwrap();
        let shards = description.stream_description().unwrap().shards();
        for shard in shards {
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(&stream)
                .shard_id(shard.shard_id().unwrap())
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .unwrap()
                .shard_iterator
                .unwrap();
            // Bounded: an open shard answers empty once read to its end.
            for _ in 0..10_000 {
                let page = streams
                    .get_records()
                    .shard_iterator(&iterator)
                    .send()
                    .await
                    .unwrap();
                for record in page.records() {
                    let sequence = record.dynamodb().unwrap().sequence_number().unwrap();
                    records.insert((stream.clone(), sequence.to_owned()));
                }
                match page.next_shard_iterator() {
                    Some(next) if !page.records().is_empty() => iterator = next.to_owned(),
                    _ => break,
                }
            }
        }
    }
    records
}
