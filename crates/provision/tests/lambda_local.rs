//! The function and event source mapping steps against the local cloud's
//! real Lambda API: the function is a zip whose `bootstrap` (a bash script
//! speaking the Runtime API, `tests/fixtures/log_events_bootstrap.sh`) runs
//! as a local process, and the mapping polls account B's stream as the
//! execution role in account A, so records written in B reach the function
//! only when both policies allow it. Write calls are counted by an SDK
//! interceptor on every client, which also injects failures.
//!
//! The mappings use provision's safe defaults (bisection on, finite retries,
//! ReportBatchItemFailures), which the local cloud honours and reads back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use expect_test::expect;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_provision::apply::{apply, plan_against_state};
use streamgate_provision::clients::{AccountClients, Accounts, Waits};
use streamgate_provision::destroy::{Removal, destroy};
use streamgate_provision::error::ProvisionError;
use streamgate_provision::spec::{
    Consumer, DesiredState, FunctionSpec, KeyAttribute, KeyType, MappingParameters, Source,
};
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";
const FUNCTION: &str = "billing-aggregator";
const BOOTSTRAP: &str = include_str!("fixtures/log_events_bootstrap.sh");

/// Records every call's `Service.Operation`, fails the operation named in
/// `fail` once, and points the next `unreadable` CreateEventSourceMapping
/// calls at a stream the role cannot read, so the local cloud refuses them
/// with "Cannot access stream" as Lambda does while a new stream policy or
/// role has not propagated.
#[derive(Debug, Clone, Default)]
struct CallLog {
    calls: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<Option<String>>>,
    unreadable: Arc<Mutex<u32>>,
}

impl CallLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn writes(&self) -> String {
        self.take()
            .into_iter()
            .filter(|call| {
                let operation = call.rsplit('.').next().unwrap_or_default();
                !["Get", "Describe", "List"]
                    .iter()
                    .any(|read| operation.starts_with(read))
            })
            .map(|call| format!("{call}\n"))
            .collect()
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().expect("operation metadata");
        let name = metadata.name().to_owned();
        self.calls
            .lock()
            .unwrap()
            .push(format!("{}.{name}", metadata.service()));
        let mut fail = self.fail.lock().unwrap();
        if fail.as_deref() == Some(name.as_str()) {
            *fail = None;
            return Err(format!("injected failure of {name}").into());
        }
        Ok(())
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let metadata = cfg.load::<Metadata>().expect("operation metadata");
        if metadata.name() != "CreateEventSourceMapping" {
            return Ok(());
        }
        let mut unreadable = self.unreadable.lock().unwrap();
        if *unreadable == 0 {
            return Ok(());
        }
        *unreadable -= 1;
        let request = context.request_mut();
        let mut body: serde_json::Value =
            serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
        let stream = body["EventSourceArn"]
            .as_str()
            .unwrap()
            .replace("table/documents/", "table/not-yet-readable/");
        body["EventSourceArn"] = serde_json::Value::String(stream);
        let text = body.to_string();
        request
            .headers_mut()
            .insert("content-length", text.len().to_string());
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(text);
        Ok(())
    }
}

fn accounts(cloud: &RunningCloud, log: &CallLog) -> Accounts {
    let mut accounts = Accounts::new();
    for id in [A, B, C] {
        let config = cloud.sdk_config(id, REGION).unwrap();
        let clients = AccountClients {
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&config)
                    .interceptor(log.clone())
                    .build(),
            ),
            lambda: aws_sdk_lambda::Client::from_conf(
                aws_sdk_lambda::config::Builder::from(&config)
                    .interceptor(log.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&config)
                    .interceptor(log.clone())
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&config)
                    .interceptor(log.clone())
                    .build(),
            ),
            region: Some(REGION.to_owned()),
        };
        accounts = accounts.with(id.parse().unwrap(), clients);
    }
    accounts
}

async fn start_cloud(dir: &std::path::Path) -> RunningCloud {
    LocalCloud::builder()
        .state_dir(dir)
        .event_source_poll_interval(Duration::from_millis(20))
        .wake_pollers_on_write(true)
        .start()
        .await
        .unwrap()
}

/// A private directory for the cloud's unpacked functions, removed at the
/// end of the test.
fn scratch_dir(test: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "streamgate-provision-{test}-{}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `script` zipped as an executable `bootstrap`.
fn bootstrap_zip(script: &str) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755);
    writer.start_file("bootstrap", options).unwrap();
    writer.write_all(script.as_bytes()).unwrap();
    writer.finish().unwrap().into_inner()
}

/// The mapping parameters used here: provision's safe defaults.
fn local_parameters() -> MappingParameters {
    MappingParameters::default()
}

/// Billing in A reads the `documents` table of tenant B with a function.
fn desired(zip: Vec<u8>, parameters: MappingParameters) -> DesiredState {
    DesiredState::new(REGION)
        .source(Source::new(
            "tenant-b",
            B.parse().unwrap(),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .consumer(
            Consumer::new("billing", A.parse().unwrap(), "billing-consumer")
                .function(FunctionSpec::new(FUNCTION, zip))
                .reads_with("tenant-b", parameters),
        )
}

async fn put_document(cloud: &RunningCloud, key: &str) {
    use aws_sdk_dynamodb::types::AttributeValue;
    aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
        .put_item()
        .table_name("documents")
        .item("pk", AttributeValue::S(key.to_owned()))
        .send()
        .await
        .unwrap();
}

/// The keys of the records the function was invoked with, in order.
fn delivered_keys(cloud: &RunningCloud) -> Vec<String> {
    cloud
        .function_logs(A, REGION, FUNCTION)
        .iter()
        .filter_map(|line| line.strip_prefix("event "))
        .flat_map(|payload| {
            let event: serde_json::Value = serde_json::from_str(payload).unwrap();
            event["Records"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|record| {
                    record["dynamodb"]["Keys"]["pk"]["S"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
        })
        .collect()
}

/// Waits (at most ten seconds) until the function has been given the
/// records of exactly `keys`.
async fn wait_for_delivery(cloud: &RunningCloud, keys: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let delivered = delivered_keys(cloud);
        if delivered == keys {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 10 s for the function to get the records of {keys:?}; it got {delivered:?}, its log: {:#?}",
            cloud.function_logs(A, REGION, FUNCTION)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn mapping_states(cloud: &RunningCloud) -> Vec<String> {
    let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    mappings
        .event_source_mappings()
        .iter()
        .map(|m| m.state().unwrap_or_default().to_owned())
        .collect()
}

/// A local cloud in its own scratch directory (named after `test`), and
/// provision's clients of it, logging their calls.
async fn start_logged(test: &str) -> (std::path::PathBuf, RunningCloud, CallLog, Accounts) {
    let dir = scratch_dir(test);
    let cloud = start_cloud(&dir).await;
    let log = CallLog::default();
    let accounts = accounts(&cloud, &log);
    (dir, cloud, log, accounts)
}

/// Destroys what `state` recorded, then [`clean_up`].
async fn destroy_and_clean_up(
    dir: std::path::PathBuf,
    cloud: RunningCloud,
    accounts: &Accounts,
    state: &mut StateFile,
) {
    destroy(accounts, &Waits::local(), state).await.unwrap();
    clean_up(dir, cloud).await;
}

/// Checks that nothing is left, stops the cloud and removes its directory.
async fn clean_up(dir: std::path::PathBuf, cloud: RunningCloud) {
    nothing_left(&cloud).await;
    cloud.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// No function, mapping, role or table is left in either account.
async fn nothing_left(cloud: &RunningCloud) {
    for id in [A, B] {
        let config = cloud.sdk_config(id, REGION).unwrap();
        let lambda = aws_sdk_lambda::Client::new(&config);
        let functions = lambda.list_functions().send().await.unwrap();
        assert!(functions.functions().is_empty(), "functions of {id}");
        let mappings = lambda.list_event_source_mappings().send().await.unwrap();
        assert!(
            mappings.event_source_mappings().is_empty(),
            "mappings of {id}"
        );
        let tables = aws_sdk_dynamodb::Client::new(&config)
            .list_tables()
            .send()
            .await
            .unwrap();
        assert!(tables.table_names().is_empty(), "tables of {id}");
        let roles = aws_sdk_iam::Client::new(&config)
            .list_roles()
            .send()
            .await
            .unwrap();
        assert!(roles.roles().is_empty(), "roles of {id}");
    }
}

fn kind(removal: &Removal) -> String {
    let record = match removal {
        Removal::Deleted(record) | Removal::AlreadyGone(record) => record,
        _ => panic!("unknown removal"),
    };
    let debug = format!("{record:?}");
    debug.split([' ', '{']).next().unwrap().to_owned()
}

#[tokio::test]
async fn a_function_in_a_reads_bs_stream_then_apply_again_writes_nothing_then_destroy() {
    let (dir, cloud, log, accounts) = start_logged("fresh").await;
    let desired = desired(bootstrap_zip(BOOTSTRAP), local_parameters());
    let mut state = StateFile::new();

    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 6, "{}", report.plan);
    expect![[r#"
        DynamoDB.CreateTable
        IAM.CreateRole
        IAM.PutRolePolicy
        DynamoDB.PutResourcePolicy
        Lambda.CreateFunction
        Lambda.CreateEventSourceMapping
    "#]]
    .assert_eq(&log.writes());
    assert_eq!(mapping_states(&cloud).await, ["Enabled"]);

    put_document(&cloud, "doc-1").await;
    put_document(&cloud, "doc-2").await;
    wait_for_delivery(&cloud, &["doc-1", "doc-2"]).await;

    let verified = verify(&desired, &accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");
    log.take();

    let again = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    // A fresh process: the state file alone drives destroy.
    let path = dir.join("state.json");
    state.save(&path).unwrap();
    let mut fresh = StateFile::load(&path).unwrap();
    let removals = destroy(&accounts, &Waits::local(), &mut fresh)
        .await
        .unwrap();
    assert!(fresh.is_empty());
    assert!(
        removals.iter().all(|r| matches!(r, Removal::Deleted(_))),
        "{removals:?}"
    );
    let kinds: String = removals.iter().map(|r| format!("{}\n", kind(r))).collect();
    expect![[r#"
        Mapping
        Function
        StreamPolicy
        RolePolicy
        Table
        Role
    "#]]
    .assert_eq(&kinds);
    clean_up(dir, cloud).await;
}

#[tokio::test]
async fn a_failure_at_the_mapping_then_apply_again_converges_and_records_flow() {
    let (dir, cloud, log, accounts) = start_logged("half-way").await;
    let desired = desired(bootstrap_zip(BOOTSTRAP), local_parameters());
    let mut state = StateFile::new();

    *log.fail.lock().unwrap() = Some("CreateEventSourceMapping".to_owned());
    let error = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ProvisionError::Aws {
                operation: "CreateEventSourceMapping",
                ..
            }
        ),
        "{error}"
    );
    // Everything before the mapping is recorded, the function included.
    assert_eq!(state.resources.len(), 5, "{state:?}");
    log.take();

    // Records written meanwhile are read from the start of the stream.
    put_document(&cloud, "doc-1").await;
    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 1, "{}", report.plan);
    expect![[r#"
        Lambda.CreateEventSourceMapping
    "#]]
    .assert_eq(&log.writes());
    put_document(&cloud, "doc-2").await;
    wait_for_delivery(&cloud, &["doc-1", "doc-2"]).await;

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}

#[tokio::test]
async fn the_mapping_is_refused_until_the_role_can_read_the_stream_and_apply_retries() {
    let (dir, cloud, log, accounts) = start_logged("refused").await;
    let desired = desired(bootstrap_zip(BOOTSTRAP), local_parameters());
    let mut state = StateFile::new();

    // Lambda refuses the mapping while the stream policy is not in place
    // (the two refusals are real: the requests name a stream the role
    // cannot read); apply retries until it is accepted.
    *log.unreadable.lock().unwrap() = 2;
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let attempts = log
        .take()
        .iter()
        .filter(|c| c.as_str() == "Lambda.CreateEventSourceMapping")
        .count();
    assert_eq!(attempts, 3);
    assert_eq!(mapping_states(&cloud).await, ["Enabled"]);

    // Without the stream policy the mapping is refused outright, with the
    // message apply recognises.
    let a_lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let mapping = a_lambda
        .list_event_source_mappings()
        .send()
        .await
        .unwrap()
        .event_source_mappings()[0]
        .clone();
    let stream = mapping.event_source_arn().unwrap().to_owned();
    a_lambda
        .delete_event_source_mapping()
        .uuid(mapping.uuid().unwrap())
        .send()
        .await
        .unwrap();
    aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
        .delete_resource_policy()
        .resource_arn(&stream)
        .send()
        .await
        .unwrap();
    let refused = a_lambda
        .create_event_source_mapping()
        .function_name(FUNCTION)
        .event_source_arn(&stream)
        .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    let message = format!("{}", aws_sdk_lambda::error::DisplayErrorContext(&refused));
    assert!(
        message.contains("InvalidParameterValueException")
            && message.contains("Cannot access stream"),
        "{message}"
    );
    // Doctor explains Lambda's refusal (it names the stream, not the role).
    let role = format!("arn:aws:iam::{A}:role/billing-consumer")
        .parse()
        .unwrap();
    let diagnosis = streamgate_provision::doctor::explain(&accounts, &message, Some(&role), &[])
        .await
        .unwrap();
    let label = stream.rsplit_once("/stream/").unwrap().1;
    let findings: String = diagnosis
        .findings
        .iter()
        .map(|f| format!("{f}\n"))
        .collect::<String>()
        .replace(label, "LABEL");
    expect![[r#"
        stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL has no resource policy; in account 222222222222, put one on the stream (PutResourcePolicy) allowing arn:aws:iam::111111111111:role/billing-consumer dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator
    "#]]
    .assert_eq(&findings);

    // Apply puts the policy back first, then the mapping.
    log.take();
    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 2, "{}", report.plan);
    expect![[r#"
        DynamoDB.PutResourcePolicy
        Lambda.CreateEventSourceMapping
    "#]]
    .assert_eq(&log.writes());
    put_document(&cloud, "doc-1").await;
    wait_for_delivery(&cloud, &["doc-1"]).await;

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}

#[tokio::test]
async fn changed_code_configuration_and_mapping_parameters_are_updated_in_place() {
    let (dir, cloud, log, accounts) = start_logged("updates").await;
    let mut state = StateFile::new();
    apply(
        &desired(bootstrap_zip(BOOTSTRAP), local_parameters()),
        &accounts,
        &Waits::local(),
        &mut state,
    )
    .await
    .unwrap();
    log.take();

    // New code: only the code is uploaded (CodeSha256 differs).
    let changed = format!("{BOOTSTRAP}# version 2\n");
    let desired_v2 = desired(bootstrap_zip(&changed), local_parameters());
    let report = apply(&desired_v2, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 1, "{}", report.plan);
    expect![[r#"
        Lambda.UpdateFunctionCode
    "#]]
    .assert_eq(&log.writes());

    // More memory and a bigger batch: one configuration and one mapping
    // update, the mapping kept (same UUID).
    let uuid_before = {
        let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
        let mappings = lambda.list_event_source_mappings().send().await.unwrap();
        mappings.event_source_mappings()[0]
            .uuid()
            .unwrap()
            .to_owned()
    };
    let mut desired_v3 = desired(
        bootstrap_zip(&changed),
        MappingParameters {
            batch_size: 500,
            ..local_parameters()
        },
    );
    if let Some(function) = desired_v3.consumers[0].function.as_mut() {
        function.memory_mb = 256;
    }
    let report = apply(&desired_v3, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 2, "{}", report.plan);
    expect![[r#"
        Lambda.UpdateFunctionConfiguration
        Lambda.UpdateEventSourceMapping
    "#]]
    .assert_eq(&log.writes());
    let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    let mapping = &mappings.event_source_mappings()[0];
    assert_eq!(mapping.uuid(), Some(uuid_before.as_str()));
    assert_eq!(mapping.batch_size(), Some(500));
    let configuration = lambda
        .get_function_configuration()
        .function_name(FUNCTION)
        .send()
        .await
        .unwrap();
    assert_eq!(configuration.memory_size(), Some(256));

    // And nothing more to do.
    let again = apply(&desired_v3, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    put_document(&cloud, "doc-1").await;
    wait_for_delivery(&cloud, &["doc-1"]).await;

    // Where a mapping starts reading is set only at creation: a new
    // starting position replaces the mapping, and the state file follows.
    let desired_v4 = desired(
        bootstrap_zip(&changed),
        MappingParameters {
            batch_size: 500,
            starting_position: streamgate_provision::spec::StartingPosition::Latest,
            ..local_parameters()
        },
    );
    let mut desired_v4 = desired_v4;
    if let Some(function) = desired_v4.consumers[0].function.as_mut() {
        function.memory_mb = 256;
    }
    let report = apply(&desired_v4, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let mapping_change = report.plan.changes().last().unwrap().to_owned();
    assert!(
        format!("{mapping_change:?}").contains("the mapping is replaced"),
        "{}",
        report.plan
    );
    expect![[r#"
        Lambda.DeleteEventSourceMapping
        Lambda.CreateEventSourceMapping
    "#]]
    .assert_eq(&log.writes());
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    let replaced = &mappings.event_source_mappings()[0];
    assert_ne!(replaced.uuid(), Some(uuid_before.as_str()));
    assert_eq!(
        replaced.starting_position(),
        Some(&aws_sdk_lambda::types::EventSourcePosition::Latest)
    );
    assert!(
        state.resources.iter().any(|r| matches!(
            r,
            streamgate_provision::state::Recorded::Mapping { uuid, .. }
                if Some(uuid.as_str()) == replaced.uuid()
        )),
        "{state:?}"
    );
    let again = apply(&desired_v4, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}

/// The latest stream ARN of account `id`'s `documents` table.
async fn latest_stream(cloud: &RunningCloud, id: &str) -> String {
    let table = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(id, REGION).unwrap())
        .describe_table()
        .table_name("documents")
        .send()
        .await
        .unwrap();
    table
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned()
}

/// Billing (with `billing-aggregator`) reads tenants B and C; audit (with
/// `audit-function`) reads B.
fn two_consumers_two_sources(zip: &[u8]) -> DesiredState {
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
                .function(FunctionSpec::new(FUNCTION, zip.to_vec()))
                .reads_with("tenant-b", local_parameters())
                .reads_with("tenant-c", local_parameters()),
        )
        .consumer(
            Consumer::new("audit", A.parse().unwrap(), "audit-consumer")
                .function(FunctionSpec::new("audit-function", zip.to_vec()))
                .reads_with("tenant-b", local_parameters()),
        )
}

#[tokio::test]
async fn a_removed_consumer_and_source_are_deleted_and_their_grants_withdrawn() {
    let (dir, cloud, log, accounts) = start_logged("prune").await;
    let zip = bootstrap_zip(BOOTSTRAP);
    let mut state = StateFile::new();
    apply(
        &two_consumers_two_sources(&zip),
        &accounts,
        &Waits::local(),
        &mut state,
    )
    .await
    .unwrap();
    assert_eq!(mapping_states(&cloud).await.len(), 3);

    // Audit and tenant C leave the desired state.
    let desired = desired(zip, local_parameters());
    let (plan, _) = plan_against_state(&desired, &accounts, &state)
        .await
        .unwrap();
    let changes: String = plan
        .to_string()
        .lines()
        .filter(|line| !line.starts_with("= ") && !line.starts_with(' '))
        .map(|line| format!("{line}\n"))
        .collect();
    let stream_b = latest_stream(&cloud, B).await;
    let stream_c = latest_stream(&cloud, C).await;
    let uuids: Vec<(String, String)> = state
        .resources
        .iter()
        .filter_map(|r| match r {
            streamgate_provision::state::Recorded::Mapping { uuid, .. } => {
                Some((uuid.clone(), "UUID".to_owned()))
            }
            _ => None,
        })
        .collect();
    let mut shown = changes
        .replace(&stream_b, "STREAM-B")
        .replace(&stream_c, "STREAM-C");
    for (uuid, placeholder) in &uuids {
        shown = shown.replace(uuid, placeholder);
    }
    expect![[r#"
        ~ update role policy 111111111111/billing-consumer
        ~ update stream policy 222222222222/documents
        - delete mapping UUID STREAM-C -> arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator
        - delete mapping UUID STREAM-B -> arn:aws:lambda:eu-west-1:111111111111:function:audit-function
        - delete function arn:aws:lambda:eu-west-1:111111111111:function:audit-function
        - delete stream policy of STREAM-C
        - delete role policy streamgate-stream-read of 111111111111/audit-consumer
        - delete table arn:aws:dynamodb:eu-west-1:333333333333:table/documents
        - delete role arn:aws:iam::111111111111:role/audit-consumer
    "#]]
    .assert_eq(&shown);

    log.take();
    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.removed.len(), 7, "{:?}", report.removed);
    assert!(
        report
            .removed
            .iter()
            .all(|r| matches!(r, Removal::Deleted(_))),
        "{:?}",
        report.removed
    );
    // Only billing's grant is left on B's stream.
    let policy = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
        .get_resource_policy()
        .resource_arn(&stream_b)
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(policy.contains("role/billing-consumer"), "{policy}");
    assert!(!policy.contains("audit-consumer"), "{policy}");
    // Nothing of audit or tenant C is left; billing still gets B's records.
    let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let functions = lambda.list_functions().send().await.unwrap();
    let names: Vec<&str> = functions
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, [FUNCTION]);
    assert_eq!(mapping_states(&cloud).await, ["Enabled"]);
    let c_tables = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(C, REGION).unwrap())
        .list_tables()
        .send()
        .await
        .unwrap();
    assert!(c_tables.table_names().is_empty());
    put_document(&cloud, "doc-1").await;
    wait_for_delivery(&cloud, &["doc-1"]).await;

    // Applied again: nothing left to prune, no write.
    log.take();
    let again = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}

/// Creates the on-failure queue `billing-failures` in account A; gives its ARN.
async fn create_failure_queue(cloud: &RunningCloud) -> String {
    aws_sdk_sqs::Client::new(&cloud.sdk_config(A, REGION).unwrap())
        .create_queue()
        .queue_name("billing-failures")
        .send()
        .await
        .unwrap();
    format!("arn:aws:sqs:{REGION}:{A}:billing-failures")
}

#[tokio::test]
async fn bisection_destination_filters_and_parallelization_read_back_as_applied() {
    let (dir, cloud, log, accounts) = start_logged("reliability-settings").await;
    // The on-failure queue is given as an ARN; it lives in account A.
    let queue_arn = create_failure_queue(&cloud).await;
    let filter = r#"{"dynamodb":{"Keys":{"pk":{"S":[{"prefix":"doc-"}]}}}}"#;
    let parameters = MappingParameters {
        parallelization_factor: 3,
        filters: vec![filter.to_owned()],
        on_failure_destination: Some(queue_arn.clone()),
        ..MappingParameters::default()
    };
    assert!(parameters.bisect_batch_on_function_error);
    let desired = desired(bootstrap_zip(BOOTSTRAP), parameters);
    let mut state = StateFile::new();

    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    let [listed] = mappings.event_source_mappings() else {
        panic!("one mapping expected: {mappings:?}");
    };
    let mapping = lambda
        .get_event_source_mapping()
        .uuid(listed.uuid().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(mapping.bisect_batch_on_function_error(), Some(true));
    assert_eq!(mapping.parallelization_factor(), Some(3));
    assert_eq!(mapping.maximum_retry_attempts(), Some(10));
    assert_eq!(
        mapping
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        Some(queue_arn.as_str())
    );
    let patterns: Vec<&str> = mapping
        .filter_criteria()
        .unwrap()
        .filters()
        .iter()
        .filter_map(|f| f.pattern())
        .collect();
    assert_eq!(patterns, [filter]);
    assert_eq!(
        mapping.function_response_types(),
        [aws_sdk_lambda::types::FunctionResponseType::ReportBatchItemFailures]
    );

    // Read back exactly as desired: applying again writes nothing.
    log.take();
    let again = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    // The filter is in force: a key it does not match is skipped past.
    put_document(&cloud, "note-1").await;
    put_document(&cloud, "doc-1").await;
    wait_for_delivery(&cloud, &["doc-1"]).await;
    assert_eq!(delivered_keys(&cloud), ["doc-1"]);

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}

/// Lambda keeps what an update does not name: a destination removed from
/// the desired state is removed from the mapping explicitly, and applying
/// again then writes nothing.
#[tokio::test]
async fn a_removed_on_failure_destination_is_removed_from_the_mapping() {
    let (dir, cloud, log, accounts) = start_logged("destination-removed").await;
    let queue_arn = create_failure_queue(&cloud).await;
    let with_destination = desired(
        bootstrap_zip(BOOTSTRAP),
        MappingParameters {
            on_failure_destination: Some(queue_arn),
            ..MappingParameters::default()
        },
    );
    let mut state = StateFile::new();
    apply(&with_destination, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    let without = desired(bootstrap_zip(BOOTSTRAP), MappingParameters::default());
    apply(&without, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let lambda = aws_sdk_lambda::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let mappings = lambda.list_event_source_mappings().send().await.unwrap();
    let [mapping] = mappings.event_source_mappings() else {
        panic!("one mapping expected: {mappings:?}");
    };
    assert_eq!(
        mapping
            .destination_config()
            .and_then(|d| d.on_failure())
            .and_then(|f| f.destination()),
        None
    );

    log.take();
    let again = apply(&without, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    expect![""].assert_eq(&log.writes());

    destroy_and_clean_up(dir, cloud, &accounts, &mut state).await;
}
