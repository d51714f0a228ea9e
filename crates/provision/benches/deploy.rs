//! How long a deployment takes on the in-process local cloud (the design's
//! budget: under 2 s, compile excluded): a fresh apply of the central
//! billing setup (two tenant tables with streams in B and C, the consumer
//! role in A, its read policy, both stream policies, the function — a bash
//! `bootstrap` speaking the Runtime API — and its two event source
//! mappings) followed by destroy, and an apply with nothing to change (reads
//! only). Planning alone, with no IO, is measured too.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::io::Write;
use std::time::Duration;
use streamgate_local::LocalCloud;
use streamgate_provision::apply::apply;
use streamgate_provision::clients::{Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::observed::Observed;
use streamgate_provision::plan::plan;
use streamgate_provision::spec::{
    Consumer, DesiredState, FunctionSpec, KeyAttribute, KeyType, MappingParameters, Source,
};
use streamgate_provision::state::StateFile;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";

/// The provisioning tests' bash function, zipped as `bootstrap`.
fn package() -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer
        .write_all(include_bytes!("../tests/fixtures/log_events_bootstrap.sh"))
        .unwrap();
    writer.finish().unwrap().into_inner()
}

fn desired() -> DesiredState {
    let parameters = MappingParameters::default();
    DesiredState::new(REGION)
        .source(Source::new(
            "tenant-b",
            B.parse().unwrap(),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .source(Source::new(
            "tenant-c",
            C.parse().unwrap(),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .consumer(
            Consumer::new("billing", A.parse().unwrap(), "billing-consumer")
                .function(FunctionSpec::new("billing-aggregator", package()))
                .reads_with("tenant-b", parameters.clone())
                .reads_with("tenant-c", parameters),
        )
}

fn deploy(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let cloud = runtime.block_on(LocalCloud::builder().start()).unwrap();
    let mut accounts = Accounts::new();
    for id in [A, B, C] {
        accounts =
            accounts.with_config(id.parse().unwrap(), &cloud.sdk_config(id, REGION).unwrap());
    }
    let desired = desired();
    let waits = Waits::local();

    let mut group = c.benchmark_group("deploy_local");
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("fresh apply then destroy", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let mut state = StateFile::new();
                apply(&desired, &accounts, &waits, &mut state)
                    .await
                    .unwrap();
                destroy(&accounts, &waits, &mut state).await.unwrap();
            })
        })
    });
    let mut state = StateFile::new();
    runtime
        .block_on(apply(&desired, &accounts, &waits, &mut state))
        .unwrap();
    group.bench_function("apply with no change", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let report = apply(&desired, &accounts, &waits, &mut state)
                    .await
                    .unwrap();
                assert!(report.plan.is_empty());
            })
        })
    });
    group.finish();
    runtime
        .block_on(destroy(&accounts, &waits, &mut state))
        .unwrap();

    let observed = Observed::default();
    c.bench_function("plan_offline", |b| {
        b.iter(|| plan(black_box(&desired), black_box(&observed)).unwrap())
    });
    drop(cloud);
}

criterion_group!(benches, deploy);
criterion_main!(benches);
