//! Provisioning against an in-process local cloud through the real SDK
//! clients: a fresh apply, apply again with no write call (counted by an
//! SDK interceptor), a failure injected half-way then converging, destroy
//! from a fresh state file leaving nothing, pre-checks, and doctor's
//! diagnosis of each broken setup.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_types::SdkConfig;
use expect_test::{Expect, expect};
use std::sync::{Arc, Mutex};
use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_policy::arn::{AccountId, RoleArn, StreamArn};
use streamgate_provision::apply::apply;
use streamgate_provision::clients::{AccountClients, Accounts, Backoff, Waits};
use streamgate_provision::destroy::{Removal, destroy};
use streamgate_provision::doctor::doctor;
use streamgate_provision::error::ProvisionError;
use streamgate_provision::spec::{Consumer, DesiredState, KeyAttribute, KeyType, Source};
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";
const REGION: &str = "eu-west-1";

fn account(id: &str) -> AccountId {
    id.parse().unwrap()
}

/// Records every call's `Service.Operation` as it goes on the wire, fails
/// the operation named in `fail` (once) to inject a failure, and makes the
/// next `unpropagated` PutResourcePolicy calls name a principal that does
/// not exist, as AWS sees a role IAM has not propagated yet.
#[derive(Debug, Clone, Default)]
struct CallLog {
    calls: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<Option<String>>>,
    unpropagated: Arc<Mutex<u32>>,
    /// The next this many PutResourcePolicy calls are refused (nothing is
    /// written) and answered as DynamoDB throttles policy changes.
    throttled: Arc<Mutex<u32>>,
    throttling_now: Arc<Mutex<bool>>,
    /// After the next PutResourcePolicy, this many GetResourcePolicy calls
    /// answer PolicyNotFoundException, as DynamoDB's eventually consistent
    /// read may right after a write.
    lag_after_put: Arc<Mutex<u32>>,
    /// The next this many DeleteResourcePolicy calls are refused (they are
    /// pointed at a table that does not exist) and answered as throttled.
    throttled_deletes: Arc<Mutex<u32>>,
    lagging_reads: Arc<Mutex<u32>>,
    not_found_now: Arc<Mutex<bool>>,
    /// After each UpdateTable, this many DescribeTable calls are answered
    /// from the table `documents-before` (a copy of the table as it was),
    /// as DynamoDB's eventually consistent read may right after a change.
    stale_table_reads: Arc<Mutex<u32>>,
    lagging_table_reads: Arc<Mutex<u32>>,
    /// The next this many UpdateTable calls are refused (they are pointed
    /// at a table that does not exist) and answered as DynamoDB answers an
    /// update of a table still UPDATING.
    busy_table_updates: Arc<Mutex<u32>>,
    table_busy_now: Arc<Mutex<bool>>,
    /// The next this many PutResourcePolicy and DeleteResourcePolicy calls
    /// that send an ExpectedRevisionId send a stale one instead, as after
    /// an eventually consistent read of the policy.
    stale_revisions: Arc<Mutex<u32>>,
}

/// Rewrites the JSON body of the request on its way with `change`.
fn rewrite_body(
    context: &mut BeforeTransmitInterceptorContextMut<'_>,
    change: impl FnOnce(&mut serde_json::Value),
) {
    let request = context.request_mut();
    let mut body: serde_json::Value =
        serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
    change(&mut body);
    let text = body.to_string();
    request
        .headers_mut()
        .insert("content-length", text.len().to_string());
    *request.body_mut() = aws_smithy_types::body::SdkBody::from(text);
}

impl CallLog {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    fn fail_once(&self, operation: &str) {
        *self.fail.lock().unwrap() = Some(operation.to_owned());
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
        if name == "PutResourcePolicy" {
            let lag = std::mem::take(&mut *self.lag_after_put.lock().unwrap());
            if lag > 0 {
                *self.lagging_reads.lock().unwrap() = lag;
            }
        }
        if name == "GetResourcePolicy" {
            let mut lagging = self.lagging_reads.lock().unwrap();
            if *lagging > 0 {
                *lagging -= 1;
                *self.not_found_now.lock().unwrap() = true;
            }
        }
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
        if metadata.name() == "UpdateTable" {
            let mut busy = self.busy_table_updates.lock().unwrap();
            if *busy > 0 {
                *busy -= 1;
                *self.table_busy_now.lock().unwrap() = true;
                rewrite_body(context, |body| body["TableName"] = "not-a-table".into());
            } else {
                *self.lagging_table_reads.lock().unwrap() = *self.stale_table_reads.lock().unwrap();
            }
            return Ok(());
        }
        if metadata.name() == "DescribeTable" {
            let mut lagging = self.lagging_table_reads.lock().unwrap();
            if *lagging > 0 {
                *lagging -= 1;
                rewrite_body(context, |body| {
                    body["TableName"] = "documents-before".into()
                });
            }
            return Ok(());
        }
        if ["PutResourcePolicy", "DeleteResourcePolicy"].contains(&metadata.name()) {
            let mut stale = self.stale_revisions.lock().unwrap();
            let sends_revision = serde_json::from_slice::<serde_json::Value>(
                context.request().body().bytes().unwrap(),
            )
            .unwrap()
            .get("ExpectedRevisionId")
            .is_some();
            if *stale > 0 && sends_revision {
                *stale -= 1;
                rewrite_body(context, |body| body["ExpectedRevisionId"] = "1".into());
                return Ok(());
            }
        }
        if metadata.name() == "DeleteResourcePolicy" {
            let mut throttled = self.throttled_deletes.lock().unwrap();
            if *throttled == 0 {
                return Ok(());
            }
            *throttled -= 1;
            *self.throttling_now.lock().unwrap() = true;
            let request = context.request_mut();
            let mut body: serde_json::Value =
                serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
            body["ResourceArn"] = serde_json::Value::String(format!(
                "arn:aws:dynamodb:{REGION}:{B}:table/not-a-table/stream/2026-01-01T00:00:00.000"
            ));
            let text = body.to_string();
            request
                .headers_mut()
                .insert("content-length", text.len().to_string());
            *request.body_mut() = aws_smithy_types::body::SdkBody::from(text);
            return Ok(());
        }
        if metadata.name() != "PutResourcePolicy" {
            return Ok(());
        }
        let mut unpropagated = self.unpropagated.lock().unwrap();
        let mut throttled = self.throttled.lock().unwrap();
        if *unpropagated > 0 {
            *unpropagated -= 1;
        } else if *throttled > 0 {
            *throttled -= 1;
            *self.throttling_now.lock().unwrap() = true;
        } else {
            return Ok(());
        }
        let request = context.request_mut();
        let mut body: serde_json::Value =
            serde_json::from_slice(request.body().bytes().unwrap()).unwrap();
        let policy = body["Policy"].as_str().unwrap().replace(
            &format!("arn:aws:iam::{A}:role/"),
            &format!("arn:aws:iam::{A}:role/not-propagated-"),
        );
        body["Policy"] = serde_json::Value::String(policy);
        let text = body.to_string();
        request
            .headers_mut()
            .insert("content-length", text.len().to_string());
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(text);
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), BoxError> {
        if std::mem::take(&mut *self.not_found_now.lock().unwrap()) {
            let response = context.response_mut();
            *response.status_mut() =
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#PolicyNotFoundException","message":"Resource-based policy not found for the provided ResourceArn"}"#,
            );
            return Ok(());
        }
        if std::mem::take(&mut *self.table_busy_now.lock().unwrap()) {
            let response = context.response_mut();
            *response.status_mut() =
                aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
            *response.body_mut() = aws_smithy_types::body::SdkBody::from(
                r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"Attempt to change a resource which is still in use: Table is being updated: documents"}"#,
            );
            return Ok(());
        }
        let mut throttling = self.throttling_now.lock().unwrap();
        if !*throttling {
            return Ok(());
        }
        *throttling = false;
        let response = context.response_mut();
        *response.status_mut() = aws_smithy_runtime_api::http::StatusCode::try_from(400).unwrap();
        *response.body_mut() = aws_smithy_types::body::SdkBody::from(
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceInUseException","message":"A policy update on this resource is in progress, try again later"}"#,
        );
        Ok(())
    }
}

/// Clients of one account whose every call goes through `log`.
fn logged_clients(config: &SdkConfig, log: &CallLog) -> AccountClients {
    AccountClients {
        iam: aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(config)
                .interceptor(log.clone())
                .build(),
        ),
        lambda: aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(config)
                .interceptor(log.clone())
                .build(),
        ),
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(config)
                .interceptor(log.clone())
                .build(),
        ),
        sts: aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(config)
                .interceptor(log.clone())
                .build(),
        ),
        region: config.region().map(ToString::to_string),
    }
}

fn accounts(cloud: &RunningCloud, log: &CallLog) -> Accounts {
    let mut accounts = Accounts::new();
    for id in [A, B, C] {
        accounts = accounts.with(
            account(id),
            logged_clients(&cloud.sdk_config(id, REGION).unwrap(), log),
        );
    }
    accounts
}

/// A local cloud and the clients of A, B and C, every call recorded in
/// the returned log.
async fn start_logged() -> (RunningCloud, CallLog, Accounts) {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let log = CallLog::default();
    let accounts = accounts(&cloud, &log);
    (cloud, log, accounts)
}

/// Destroys what `state` records, checks that nothing is left and stops
/// the cloud.
async fn destroy_and_stop(cloud: RunningCloud, accounts: &Accounts, state: &mut StateFile) {
    destroy(accounts, &Waits::local(), state).await.unwrap();
    nothing_left(&cloud).await;
    cloud.stop().await;
}

/// The seed's first pattern: one central consumer in A reading the
/// tenants B and C; its role is also assumable by A's root, so the test
/// can read the streams as the role.
fn central_billing() -> DesiredState {
    DesiredState::new(REGION)
        .source(Source::new(
            "tenant-b",
            account(B),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .source(
            Source::new(
                "tenant-c",
                account(C),
                "documents",
                KeyAttribute::new("pk", KeyType::String),
            )
            .sort_key(KeyAttribute::new("sk", KeyType::Number)),
        )
        .consumer(
            Consumer::new("billing", account(A), "billing-consumer")
                .trust(format!("arn:aws:iam::{A}:root"))
                .reads("tenant-b")
                .reads("tenant-c"),
        )
}

fn is_write(call: &str) -> bool {
    let operation = call.rsplit('.').next().unwrap_or_default();
    !["Get", "Describe", "List"]
        .iter()
        .any(|read| operation.starts_with(read))
}

async fn latest_stream(cloud: &RunningCloud, id: &str) -> StreamArn {
    let dynamodb = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(id, REGION).unwrap());
    let table = dynamodb
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
        .parse()
        .unwrap()
}

/// Assumes the role with A's root keys and describes `stream` as it: the
/// local cloud authorizes the read with both policies, as AWS does.
async fn describe_stream_as_role(cloud: &RunningCloud, stream: &StreamArn) -> Result<(), String> {
    let sts = aws_sdk_sts::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/billing-consumer"))
        .role_session_name("test")
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let keys = assumed.credentials().unwrap();
    let session = streamgate_local::sdk_config::Credentials::new(
        keys.access_key_id(),
        keys.secret_access_key(),
        Some(keys.session_token().to_owned()),
        None,
        "provision-tests",
    );
    aws_sdk_dynamodbstreams::Client::new(&cloud.sdk_config_with_credentials(session, REGION))
        .describe_stream()
        .stream_arn(stream.to_string())
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
            format!(
                "{}: {}",
                e.code().unwrap_or("?"),
                e.message().unwrap_or("?")
            )
        })
}

async fn nothing_left(cloud: &RunningCloud) {
    for id in [A, B, C] {
        let config = cloud.sdk_config(id, REGION).unwrap();
        let tables = aws_sdk_dynamodb::Client::new(&config)
            .list_tables()
            .send()
            .await
            .unwrap();
        assert_eq!(tables.table_names(), &[] as &[String], "tables of {id}");
        let roles = aws_sdk_iam::Client::new(&config)
            .list_roles()
            .send()
            .await
            .unwrap();
        let names: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
        assert_eq!(names, Vec::<&str>::new(), "roles of {id}");
    }
}

#[tokio::test]
async fn fresh_apply_then_apply_again_writes_nothing_then_destroy_from_a_fresh_state() {
    let (cloud, log, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();

    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 6, "{}", report.plan);
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        DynamoDB.CreateTable
        DynamoDB.CreateTable
        IAM.CreateRole
        IAM.PutRolePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.PutResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));

    let verified = verify(&desired, &accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");
    expect![[r#"
        ok    table 222222222222/documents is as desired
        ok    table 333333333333/documents is as desired
        ok    role 111111111111/billing-consumer is as desired
        ok    role policy 111111111111/billing-consumer is as desired
        ok    stream policy 222222222222/documents is as desired
        ok    stream policy 333333333333/documents is as desired
        ok    billing can read tenant-b
        ok    billing can read tenant-c
        verify: all 8 checks passed
    "#]]
    .assert_eq(&verified.to_string());
    for id in [B, C] {
        let stream = latest_stream(&cloud, id).await;
        describe_stream_as_role(&cloud, &stream).await.unwrap();
    }
    log.take();

    let again = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    let calls = log.take();
    assert_eq!(
        calls.iter().filter(|c| is_write(c)).count(),
        0,
        "apply again wrote: {calls:?}"
    );
    expect![[r#"
        STS.GetCallerIdentity
        STS.GetCallerIdentity
        STS.GetCallerIdentity
        DynamoDB.DescribeTable
        DynamoDB.GetResourcePolicy
        DynamoDB.DescribeTable
        DynamoDB.GetResourcePolicy
        IAM.GetRole
        IAM.GetRolePolicy
    "#]]
    .assert_eq(&lines(&calls));

    // A fresh process: the state file alone drives destroy.
    let dir = std::env::temp_dir().join(format!("streamgate-provision-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("state.json");
    state.save(&path).unwrap();
    let mut fresh = StateFile::load(&path).unwrap();
    assert_eq!(fresh, state);
    let removals = destroy(&accounts, &Waits::local(), &mut fresh)
        .await
        .unwrap();
    assert!(fresh.is_empty());
    assert!(
        removals.iter().all(|r| matches!(r, Removal::Deleted(_))),
        "{removals:?}"
    );
    expect![[r#"
        StreamPolicy
        StreamPolicy
        RolePolicy
        Table
        Table
        Role
    "#]]
    .assert_eq(&lines(&removals.iter().map(kind).collect::<Vec<_>>()));
    nothing_left(&cloud).await;

    // Destroying again is fine: everything is already gone.
    let removals = destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(
        removals
            .iter()
            .all(|r| matches!(r, Removal::AlreadyGone(_))),
        "{removals:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
    cloud.stop().await;
}

fn kind(removal: &Removal) -> String {
    let record = match removal {
        Removal::Deleted(record) | Removal::AlreadyGone(record) => record,
        _ => panic!("unknown removal"),
    };
    format!("{record:?}")
        .split([' ', '{'])
        .next()
        .unwrap()
        .to_owned()
}

fn lines(items: &[String]) -> String {
    items.iter().map(|i| format!("{i}\n")).collect()
}

#[tokio::test]
async fn a_failure_half_way_then_apply_again_converges() {
    let (cloud, log, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();

    log.fail_once("PutResourcePolicy");
    let error = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &error,
            ProvisionError::Aws {
                operation: "PutResourcePolicy",
                ..
            }
        ),
        "{error}"
    );
    // Tables, role and its policy were created before the failure and are
    // recorded, so destroy would find them.
    assert_eq!(state.resources.len(), 4, "{state:?}");
    let stream = latest_stream(&cloud, B).await;
    assert!(describe_stream_as_role(&cloud, &stream).await.is_err());

    log.take();
    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        DynamoDB.PutResourcePolicy
        DynamoDB.PutResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));
    assert_eq!(report.plan.changes().count(), 2, "{}", report.plan);
    let verified = verify(&desired, &accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");
    describe_stream_as_role(&cloud, &stream).await.unwrap();

    destroy_and_stop(cloud, &accounts, &mut state).await;
}

#[tokio::test]
async fn pre_checks_stop_apply_before_any_write() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let log = CallLog::default();
    let desired = central_billing();
    let mut state = StateFile::new();

    // Clients in another Region.
    let mut elsewhere = accounts(&cloud, &log);
    elsewhere = elsewhere.with(
        account(B),
        logged_clients(&cloud.sdk_config(B, "us-east-1").unwrap(), &log),
    );
    let error = apply(&desired, &elsewhere, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    expect!["the clients of account 222222222222 are configured for region us-east-1, the desired state is in eu-west-1"]
        .assert_eq(&error.to_string());

    // B's clients carrying C's credentials.
    let mut swapped = accounts(&cloud, &log);
    swapped = swapped.with(
        account(B),
        logged_clients(&cloud.sdk_config(C, REGION).unwrap(), &log),
    );
    let error = apply(&desired, &swapped, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    expect![
        "the clients given for account 222222222222 have the credentials of account 333333333333"
    ]
    .assert_eq(&error.to_string());

    // A missing account.
    let only_a = Accounts::new().with(
        account(A),
        logged_clients(&cloud.sdk_config(A, REGION).unwrap(), &log),
    );
    let error = apply(&desired, &only_a, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    expect!["no clients given for account 222222222222"].assert_eq(&error.to_string());

    // An existing table encrypted with the AWS managed key.
    let b = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
    create_table(&b, "ledger", true).await;
    let kms = DesiredState::new(REGION)
        .source(
            Source::new(
                "ledger",
                account(B),
                "ledger",
                KeyAttribute::new("pk", KeyType::String),
            )
            .existing(),
        )
        .consumer(Consumer::new("billing", account(A), "billing-consumer").reads("ledger"));
    let error = apply(&kms, &accounts(&cloud, &log), &Waits::local(), &mut state)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("apply blocked before writing anything: table 222222222222/ledger is encrypted with KMS key arn:aws:kms:eu-west-1:222222222222:key/"),
        "{message}"
    );

    // Invalid mapping parameters.
    let bad = central_billing().consumer(Consumer::new("audit", account(C), "audit").reads_with(
        "tenant-b",
        streamgate_provision::spec::MappingParameters {
            batch_size: 10_001,
            ..Default::default()
        },
    ));
    let error = apply(&bad, &accounts(&cloud, &log), &Waits::local(), &mut state)
        .await
        .unwrap_err();
    expect!["invalid desired state: consumers[1].subscriptions[0].batch_size: 10001 is out of range: 1 to 10000"]
        .assert_eq(&error.to_string());

    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    assert_eq!(writes, Vec::<String>::new());
    assert!(state.is_empty());
    cloud.stop().await;
}

async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, aws_managed_key: bool) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType as Key, ScalarAttributeType,
        SseSpecification, StreamSpecification, StreamViewType,
    };
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(Key::Hash)
                .build()
                .unwrap(),
        )
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        );
    if aws_managed_key {
        request = request.sse_specification(SseSpecification::builder().enabled(true).build());
    }
    request.send().await.unwrap();
}

/// Applies the central billing setup, breaks it with `break_it`, and
/// returns doctor's diagnosis of the role reading B's stream (`stream`
/// chooses which stream ARN the consumer was given).
async fn diagnose_broken<F, Fut>(region: &str, break_it: F) -> String
where
    F: FnOnce(Arc<RunningCloud>, StreamArn) -> Fut,
    Fut: std::future::Future<Output = Option<StreamArn>>,
{
    let cloud = Arc::new(LocalCloud::builder().start().await.unwrap());
    let log = CallLog::default();
    let accounts = accounts(&cloud, &log);
    let mut state = StateFile::new();
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let stream = latest_stream(&cloud, B).await;
    let asked = break_it(Arc::clone(&cloud), stream.clone())
        .await
        .unwrap_or(stream);
    let mut doctor_accounts = accounts.clone();
    doctor_accounts = doctor_accounts.with(
        account(A),
        logged_clients(&cloud.sdk_config(A, region).unwrap(), &log),
    );
    log.take();
    let role: RoleArn = format!("arn:aws:iam::{A}:role/billing-consumer")
        .parse()
        .unwrap();
    let diagnosis = doctor(&doctor_accounts, &role, &asked, &[]).await.unwrap();
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    assert_eq!(writes, Vec::<String>::new(), "doctor only reads");
    // Normalize the stream labels, which carry the creation time.
    let mut text = diagnosis
        .findings
        .iter()
        .map(|f| format!("{f}\n"))
        .collect::<String>();
    if text.is_empty() {
        text = "healthy\n".to_owned();
    }
    let latest = latest_stream(&cloud, B).await;
    text.replace(asked.label(), "GIVEN")
        .replace(latest.label(), "LATEST")
}

fn check(actual: String, expected: Expect) {
    expected.assert_eq(&actual);
}

#[tokio::test]
async fn doctor_finds_nothing_wrong_in_a_healthy_setup() {
    check(
        diagnose_broken(REGION, |_, _| async { None }).await,
        expect![[r#"
            healthy
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_missing_stream_policy() {
    check(
        diagnose_broken(REGION, |cloud, stream| async move {
            aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
                .delete_resource_policy()
                .resource_arn(stream.to_string())
                .send()
                .await
                .unwrap();
            None
        })
        .await,
        expect![[r#"
            stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN has no resource policy; in account 222222222222, put one on the stream (PutResourcePolicy) allowing arn:aws:iam::111111111111:role/billing-consumer dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_stream_policy_naming_another_role() {
    check(
        diagnose_broken(REGION, |cloud, stream| async move {
            let iam = aws_sdk_iam::Client::new(&cloud.sdk_config(C, REGION).unwrap());
            iam.create_role()
                .role_name("someone-else")
                .assume_role_policy_document(
                    streamgate_policy::builders::lambda_trust_policy(None).to_json(),
                )
                .send()
                .await
                .unwrap();
            let other: RoleArn = format!("arn:aws:iam::{C}:role/someone-else")
                .parse()
                .unwrap();
            let policy =
                streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &other).build();
            aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
                .put_resource_policy()
                .resource_arn(stream.to_string())
                .policy(policy.to_json())
                .send()
                .await
                .unwrap();
            None
        })
        .await,
        expect![[r#"
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN (account 222222222222) allows dynamodb:DescribeStream to arn:aws:iam::333333333333:role/someone-else but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN (account 222222222222) allows dynamodb:GetRecords to arn:aws:iam::333333333333:role/someone-else but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
            the resource policy of stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN (account 222222222222) allows dynamodb:GetShardIterator to arn:aws:iam::333333333333:role/someone-else but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_missing_identity_statement() {
    check(
        diagnose_broken(REGION, |cloud, _| async move {
            aws_sdk_iam::Client::new(&cloud.sdk_config(A, REGION).unwrap())
                .delete_role_policy()
                .role_name("billing-consumer")
                .policy_name(streamgate_provision::spec::ROLE_POLICY_NAME)
                .send()
                .await
                .unwrap();
            None
        })
        .await,
        expect![[r#"
            the role's identity policy does not allow dynamodb:ListStreams on "*", which Lambda checks when it creates the event source mapping; add an allow of dynamodb:ListStreams on resource "*" to the role's identity policy (the stream's policy cannot carry it): ImplicitDeny: dynamodb:ListStreams is denied (same-account) because no identity-based policy allows the dynamodb:ListStreams action
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:DescribeStream on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN; add an Allow of dynamodb:DescribeStream on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetRecords on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN; add an Allow of dynamodb:GetRecords on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetShardIterator on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN; add an Allow of dynamodb:GetShardIterator on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_region_mismatch() {
    check(
        diagnose_broken("us-east-1", |_, _| async { None }).await,
        expect![[r#"
            region mismatch: the consumer is in us-east-1, the stream in eu-west-1; cross-account stream access works within one region only: run the function and its mapping in eu-west-1
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_stale_stream_label() {
    check(
        diagnose_broken(REGION, |cloud, stream| async move {
            use aws_sdk_dynamodb::types::{StreamSpecification, StreamViewType};
            let dynamodb = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
            for spec in [
                StreamSpecification::builder()
                    .stream_enabled(false)
                    .build()
                    .unwrap(),
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::KeysOnly)
                    .build()
                    .unwrap(),
            ] {
                dynamodb
                    .update_table()
                    .table_name("documents")
                    .stream_specification(spec)
                    .send()
                    .await
                    .unwrap();
            }
            // The consumer still holds the old stream's ARN.
            Some(stream)
        })
        .await,
        expect![[r#"
            stale stream label: GIVEN is not the table's latest stream (LATEST); the stream changed and mappings and policies must name the new one
            the role's identity policy names an old stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN; replace it with the latest, arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LATEST
            the stream's resource policy names an old stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/GIVEN; replace it with the latest, arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LATEST
        "#]],
    );
}

#[tokio::test]
async fn doctor_explains_a_table_with_the_aws_managed_key() {
    let (cloud, _, accounts) = start_logged().await;
    let b = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
    create_table(&b, "documents", true).await;
    let stream = latest_stream(&cloud, B).await;
    let role: RoleArn = format!("arn:aws:iam::{A}:role/billing-consumer")
        .parse()
        .unwrap();
    aws_sdk_iam::Client::new(&cloud.sdk_config(A, REGION).unwrap())
        .create_role()
        .role_name("billing-consumer")
        .assume_role_policy_document(
            streamgate_policy::builders::lambda_trust_policy(None).to_json(),
        )
        .send()
        .await
        .unwrap();
    let diagnosis = doctor(&accounts, &role, &stream, &[]).await.unwrap();
    let text: String = diagnosis
        .findings
        .iter()
        .map(|f| format!("{f}\n"))
        .collect();
    let key = text
        .split("KMS key ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap()
        .to_owned();
    check(
        text.replace(&key, "KEY").replace(stream.label(), "LABEL"),
        expect![[r#"
            the table is encrypted with KMS key KEY, not declared customer managed; tables encrypted with the AWS managed key cannot be read across accounts: in the table's account, switch it to an AWS owned or a customer managed key (UpdateTable with an SSESpecification), or, if KEY is customer managed, declare it so
            stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL has no resource policy; in account 222222222222, put one on the stream (PutResourcePolicy) allowing arn:aws:iam::111111111111:role/billing-consumer dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator
            the role's identity policy does not allow dynamodb:ListStreams on "*", which Lambda checks when it creates the event source mapping; add an allow of dynamodb:ListStreams on resource "*" to the role's identity policy (the stream's policy cannot carry it): ImplicitDeny: dynamodb:ListStreams is denied (same-account) because no identity-based policy allows the dynamodb:ListStreams action
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:DescribeStream on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL; add an Allow of dynamodb:DescribeStream on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetRecords on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL; add an Allow of dynamodb:GetRecords on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
            no statement of the identity policies of arn:aws:iam::111111111111:role/billing-consumer (account 111111111111) allows dynamodb:GetShardIterator on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL; add an Allow of dynamodb:GetShardIterator on the stream's ARN, or on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/* for every label, to the role's policy
        "#]],
    );
    // Declared customer managed, the key is no longer a finding.
    let declared = doctor(&accounts, &role, &stream, &[key]).await.unwrap();
    assert!(!declared.to_string().contains("KMS"), "{declared}");
    cloud.stop().await;
}

#[tokio::test]
async fn the_stream_policy_is_retried_while_the_new_role_is_not_a_valid_principal() {
    let (cloud, log, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();

    // Two refusals: within the three attempts `Waits::local()` allows.
    *log.unpropagated.lock().unwrap() = 2;
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let puts = log
        .take()
        .into_iter()
        .filter(|c| c.ends_with("PutResourcePolicy"))
        .count();
    assert_eq!(puts, 4, "two refused and retried, then one per stream");
    assert!(verify(&desired, &accounts).await.unwrap().is_ok());
    destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    // More refusals than attempts: the last refusal is the error.
    *log.unpropagated.lock().unwrap() = 3;
    let error = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(
            "PutResourcePolicy on arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/"
        ) && message.ends_with("failed: ValidationException: Invalid principal in policy document"),
        "{message}"
    );
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// The seed's third pattern: several tenant consumers (in B and C) read
/// one central table in A; its one stream policy names both roles. Then a
/// third reader is added: the plan warns, apply updates the policy with
/// the revision it read.
#[tokio::test]
async fn several_tenants_read_one_central_table_through_one_stream_policy() {
    let (cloud, log, accounts) = start_logged().await;
    let central = || {
        DesiredState::new(REGION)
            .source(Source::new(
                "central",
                account(A),
                "orders",
                KeyAttribute::new("pk", KeyType::String),
            ))
            .consumer(Consumer::new("tenant-b", account(B), "orders-reader").reads("central"))
            .consumer(Consumer::new("tenant-c", account(C), "orders-reader").reads("central"))
    };
    let mut state = StateFile::new();
    apply(&central(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let dynamodb = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let stream = dynamodb
        .describe_table()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .table()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let policy = dynamodb
        .get_resource_policy()
        .resource_arn(&stream)
        .send()
        .await
        .unwrap();
    let document =
        streamgate_policy::document::PolicyDocument::parse(policy.policy().unwrap()).unwrap();
    let principals: Vec<&str> = document.statements()[0]
        .principal
        .as_ref()
        .unwrap()
        .of_type(streamgate_policy::document::PrincipalType::Aws)
        .collect();
    assert_eq!(
        principals,
        [
            "arn:aws:iam::222222222222:role/orders-reader",
            "arn:aws:iam::333333333333:role/orders-reader"
        ]
    );
    let report = verify(&central(), &accounts).await.unwrap();
    assert!(report.is_ok(), "{report}");

    let three = central().consumer(Consumer::new("audit", account(A), "audit").reads("central"));
    log.take();
    let applied = apply(&three, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    expect![[r#"
        source `central` is read by 3 consumers (tenant-b, tenant-c, audit); DynamoDB Streams throttles beyond 2 readers per shard
    "#]]
    .assert_eq(&lines(
        &applied
            .plan
            .warnings
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
    ));
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        IAM.CreateRole
        IAM.PutRolePolicy
        DynamoDB.PutResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));
    let updated = dynamodb
        .get_resource_policy()
        .resource_arn(&stream)
        .send()
        .await
        .unwrap();
    assert_ne!(updated.revision_id(), policy.revision_id());
    assert!(verify(&three, &accounts).await.unwrap().is_ok());

    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// A managed table whose view type changes gets a new stream (a new
/// label): apply re-creates the stream and points both policies at it.
#[tokio::test]
async fn a_view_type_change_moves_both_policies_to_the_new_stream() {
    let (cloud, log, accounts) = start_logged().await;
    let mut state = StateFile::new();
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let before = latest_stream(&cloud, B).await;

    let mut changed = central_billing();
    changed.sources[0].view_type = streamgate_provision::spec::StreamViewType::KeysOnly;
    log.take();
    apply(&changed, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        DynamoDB.UpdateTable
        DynamoDB.UpdateTable
        IAM.PutRolePolicy
        DynamoDB.PutResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));
    let after = latest_stream(&cloud, B).await;
    assert_ne!(before, after);
    let report = verify(&changed, &accounts).await.unwrap();
    assert!(report.is_ok(), "{report}");
    describe_stream_as_role(&cloud, &after).await.unwrap();

    // Both streams' policies are recorded; destroy removes them all.
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// Verify reads every policy of the role, not only the one apply writes:
/// a deny attached by hand fails the check, with the statement that denies.
#[tokio::test]
async fn verify_sees_a_deny_attached_to_the_role_by_hand() {
    let (cloud, _, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let iam = aws_sdk_iam::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    let created = iam
        .create_policy()
        .policy_name("no-records")
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoRecords","Effect":"Deny","Action":"dynamodb:GetRecords","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    let policy_arn = created.policy().unwrap().arn().unwrap().to_owned();
    iam.attach_role_policy()
        .role_name("billing-consumer")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    let report = verify(&desired, &accounts).await.unwrap();
    assert!(!report.is_ok());
    let report = report
        .to_string()
        .replace(latest_stream(&cloud, C).await.label(), "LABEL-C")
        .replace(latest_stream(&cloud, B).await.label(), "LABEL-B");
    expect![[r#"
        ok    table 222222222222/documents is as desired
        ok    table 333333333333/documents is as desired
        ok    role 111111111111/billing-consumer is as desired
        ok    role policy 111111111111/billing-consumer is as desired
        ok    stream policy 222222222222/documents is as desired
        ok    stream policy 333333333333/documents is as desired
        FAIL  billing cannot read tenant-b
                - the role's identity policy denies dynamodb:GetRecords in identity policy "arn:aws:iam::111111111111:policy/no-records" statement 0 (Sid "NoRecords"): ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in an identity-based policy: identity-based policy 1 statement 0 (Sid "NoRecords"); remove that statement or narrow it so that it no longer matches this role reading the stream
        FAIL  billing cannot read tenant-c
                - the role's identity policy denies dynamodb:GetRecords in identity policy "arn:aws:iam::111111111111:policy/no-records" statement 0 (Sid "NoRecords"): ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in an identity-based policy: identity-based policy 1 statement 0 (Sid "NoRecords"); remove that statement or narrow it so that it no longer matches this role reading the stream
        verify: 2 of 8 checks failed
    "#]].assert_eq(&report);
    iam.detach_role_policy()
        .role_name("billing-consumer")
        .policy_arn(&policy_arn)
        .send()
        .await
        .unwrap();
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

#[tokio::test]
async fn verify_reports_drift_and_destroy_accepts_pieces_already_gone() {
    let (cloud, _, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    // Someone replaces C's stream policy by hand with one for another role.
    let stream = latest_stream(&cloud, C).await;
    let other: RoleArn = format!("arn:aws:iam::{C}:role/intruder").parse().unwrap();
    aws_sdk_iam::Client::new(&cloud.sdk_config(C, REGION).unwrap())
        .create_role()
        .role_name("intruder")
        .assume_role_policy_document(
            streamgate_policy::builders::lambda_trust_policy(None).to_json(),
        )
        .send()
        .await
        .unwrap();
    aws_sdk_dynamodb::Client::new(&cloud.sdk_config(C, REGION).unwrap())
        .put_resource_policy()
        .resource_arn(stream.to_string())
        .policy(
            streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &other)
                .build()
                .to_json(),
        )
        .send()
        .await
        .unwrap();
    let report = verify(&desired, &accounts).await.unwrap();
    assert!(!report.is_ok());
    let report = report.to_string().replace(stream.label(), "LABEL");
    expect![[r#"
        ok    table 222222222222/documents is as desired
        ok    table 333333333333/documents is as desired
        ok    role 111111111111/billing-consumer is as desired
        ok    role policy 111111111111/billing-consumer is as desired
        ok    stream policy 222222222222/documents is as desired
        FAIL  stream policy 333333333333/documents differs from the desired state
                  {
                      "Version": "2012-10-17",
                      "Statement": [
                          {
                              "Sid": "AllowCrossAccountStreamRead",
                              "Effect": "Allow",
                              "Principal": {
                -                 "AWS": "arn:aws:iam::333333333333:role/intruder"
                +                 "AWS": "arn:aws:iam::111111111111:role/billing-consumer"
                              },
                              "Action": [
                                  "dynamodb:DescribeStream",
                                  "dynamodb:GetRecords",
                                  "dynamodb:GetShardIterator"
                              ],
                              "Resource": "arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/LABEL"
                          }
                      ]
                  }
        ok    billing can read tenant-b
        FAIL  billing cannot read tenant-c
                - the resource policy of stream arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/LABEL (account 333333333333) allows dynamodb:DescribeStream to arn:aws:iam::333333333333:role/intruder but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
                - the resource policy of stream arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/LABEL (account 333333333333) allows dynamodb:GetRecords to arn:aws:iam::333333333333:role/intruder but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
                - the resource policy of stream arn:aws:dynamodb:eu-west-1:333333333333:table/documents/stream/LABEL (account 333333333333) allows dynamodb:GetShardIterator to arn:aws:iam::333333333333:role/intruder but not to arn:aws:iam::111111111111:role/billing-consumer; add arn:aws:iam::111111111111:role/billing-consumer to that statement's Principal
        verify: 2 of 8 checks failed
    "#]]
    .assert_eq(&report.to_string());

    // B's table is deleted by hand: destroy finds it gone and removes the
    // rest, including the policy of its stream, which outlives the table
    // (for 24 hours on AWS).
    aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
        .delete_table()
        .table_name("documents")
        .send()
        .await
        .unwrap();
    let removals = destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    expect![[r#"
        deleted stream policy of STREAM-C
        deleted stream policy of STREAM-B
        deleted role policy streamgate-stream-read of 111111111111/billing-consumer
        deleted table arn:aws:dynamodb:eu-west-1:333333333333:table/documents
        already gone: table arn:aws:dynamodb:eu-west-1:222222222222:table/documents
        deleted role arn:aws:iam::111111111111:role/billing-consumer
    "#]]
    .assert_eq(
        &removals
            .iter()
            .map(|r| {
                let text = r.to_string();
                let text = text.replace(&stream.to_string(), "STREAM-C");
                let b = format!("arn:aws:dynamodb:{REGION}:{B}:table/documents/stream/");
                match text.find(&b) {
                    Some(at) => format!("{}STREAM-B\n", &text[..at]),
                    None => format!("{text}\n"),
                }
            })
            .collect::<String>(),
    );
    assert!(state.is_empty());
    aws_sdk_iam::Client::new(&cloud.sdk_config(C, REGION).unwrap())
        .delete_role()
        .role_name("intruder")
        .send()
        .await
        .unwrap();
    nothing_left(&cloud).await;
    cloud.stop().await;
}

/// The AccessDenied the local cloud answers, as AWS does, is explained
/// from its text alone.
#[tokio::test]
async fn doctor_explains_a_real_access_denied_message() {
    let (cloud, _, accounts) = start_logged().await;
    let mut state = StateFile::new();
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let stream = latest_stream(&cloud, B).await;
    aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap())
        .delete_resource_policy()
        .resource_arn(stream.to_string())
        .send()
        .await
        .unwrap();
    let denied = describe_stream_as_role(&cloud, &stream).await.unwrap_err();
    assert!(denied.starts_with("AccessDeniedException: "), "{denied}");
    let diagnosis = streamgate_provision::doctor::explain(&accounts, &denied, None, &[])
        .await
        .unwrap();
    check(
        diagnosis
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect::<String>()
            .replace(stream.label(), "LABEL"),
        expect![[r#"
            stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL has no resource policy; in account 222222222222, put one on the stream (PutResourcePolicy) allowing arn:aws:iam::111111111111:role/billing-consumer dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator
        "#]],
    );
    // A denial blamed on a service control policy is beyond what doctor
    // reads: it says so, and where that policy lives.
    let denied_by_scp = format!(
        "User: arn:aws:sts::{A}:assumed-role/billing-consumer/esm is not authorized to perform: dynamodb:GetRecords on resource: {stream} with an explicit deny in a service control policy"
    );
    let diagnosis = streamgate_provision::doctor::explain(&accounts, &denied_by_scp, None, &[])
        .await
        .unwrap();
    check(
        diagnosis
            .findings
            .iter()
            .map(|f| format!("{f}\n"))
            .collect::<String>()
            .replace(stream.label(), "LABEL"),
        expect![[r#"
            AWS denied in a service control policy (with an explicit deny in a service control policy), which doctor cannot read: it is set in the organization's management account, for the account or an organizational unit above it; change it there
            stream arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL has no resource policy; in account 222222222222, put one on the stream (PutResourcePolicy) allowing arn:aws:iam::111111111111:role/billing-consumer dynamodb:DescribeStream, dynamodb:GetRecords and dynamodb:GetShardIterator
        "#]],
    );
    let error = streamgate_provision::doctor::explain(&accounts, "Throttled", None, &[])
        .await
        .unwrap_err();
    expect!["the message names no role; give it explicitly: Throttled"]
        .assert_eq(&error.to_string());
    destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    cloud.stop().await;
}

/// A role that does not exist is a finding, not an error: the other side
/// is still diagnosed.
#[tokio::test]
async fn doctor_explains_a_missing_role() {
    let (cloud, _, accounts) = start_logged().await;
    let source = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
    create_table(&source, "documents", false).await;
    let stream = latest_stream(&cloud, B).await;
    let role: RoleArn = format!("arn:aws:iam::{A}:role/gone").parse().unwrap();
    let diagnosis = doctor(&accounts, &role, &stream, &[]).await.unwrap();
    let first = diagnosis.findings.first().map(ToString::to_string);
    expect!["role arn:aws:iam::111111111111:role/gone does not exist in account 111111111111; create it (or fix the name the function uses), then name it again in the stream's resource policy: a policy naming a deleted role keeps its old unique id, not the new role"].assert_eq(first.as_deref().unwrap_or("-"));
    cloud.stop().await;
}

/// A role with a path, as an AccessDenied names it: its session ARN has no
/// path, so doctor reads the role's real ARN before matching it against a
/// stream policy that spells the path out.
#[tokio::test]
async fn doctor_matches_a_role_with_a_path_named_by_its_session() {
    let (cloud, _, accounts) = start_logged().await;
    let source = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
    create_table(&source, "documents", false).await;
    let stream = latest_stream(&cloud, B).await;
    let iam = aws_sdk_iam::Client::new(&cloud.sdk_config(A, REGION).unwrap());
    iam.create_role()
        .role_name("path-reader")
        .path("/service/")
        .assume_role_policy_document(
            streamgate_policy::builders::lambda_trust_policy(None).to_json(),
        )
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("path-reader")
        .policy_name("read")
        .policy_document(
            streamgate_policy::builders::ExecutionRolePolicyBuilder::new(&stream)
                .build()
                .to_json(),
        )
        .send()
        .await
        .unwrap();
    let with_path: RoleArn = format!("arn:aws:iam::{A}:role/service/path-reader")
        .parse()
        .unwrap();
    source
        .put_resource_policy()
        .resource_arn(stream.to_string())
        .policy(
            streamgate_policy::builders::StreamPolicyBuilder::new(&stream, &with_path)
                .build()
                .to_json(),
        )
        .send()
        .await
        .unwrap();
    let message = format!(
        "User: arn:aws:sts::{A}:assumed-role/path-reader/esm is not authorized to perform: dynamodb:GetRecords on resource: {stream} because no resource-based policy allows the dynamodb:GetRecords action"
    );
    let diagnosis = streamgate_provision::doctor::explain(&accounts, &message, None, &[])
        .await
        .unwrap();
    let findings: String = diagnosis
        .findings
        .iter()
        .map(|f| format!("{f}\n"))
        .collect();
    check(
        findings,
        expect![[r#"
        the message reports a denial, but the role's identity policies, its permissions boundary and the stream's resource policy allow the read (AWS said: because no resource-based policy allows the dynamodb:GetRecords action); doctor cannot read a service control policy or resource control policy of either account's organization, a session policy, or a customer managed key's key policy, so look there, and retry if a policy changed in the last few seconds
    "#]],
    );
    cloud.stop().await;
}

/// A consumer that stops reading loses its grants: the stream policy no
/// reader needs is deleted, and so is a role policy that reads nothing.
#[tokio::test]
async fn a_consumer_that_stops_reading_loses_its_grants() {
    let (cloud, log, accounts) = start_logged().await;
    let mut state = StateFile::new();
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    let mut only_b = central_billing();
    only_b.consumers[0].subscriptions.truncate(1);
    log.take();
    // The deletion is throttled twice (DynamoDB's 15-second policy update
    // limit) and retried.
    *log.throttled_deletes.lock().unwrap() = 2;
    let applied = apply(&only_b, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let changes: Vec<String> = applied
        .plan
        .changes()
        .map(|a| {
            let verb = match a.change {
                streamgate_provision::plan::Change::Delete { .. } => "delete",
                streamgate_provision::plan::Change::Update { .. } => "update",
                _ => "other",
            };
            format!("{verb} {}", a.resource)
        })
        .collect();
    expect![[r#"
        update role policy 111111111111/billing-consumer
        delete stream policy 333333333333/documents
    "#]]
    .assert_eq(&lines(&changes));
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        IAM.PutRolePolicy
        DynamoDB.DeleteResourcePolicy
        DynamoDB.DeleteResourcePolicy
        DynamoDB.DeleteResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));
    let c_stream = latest_stream(&cloud, C).await;
    let denied = describe_stream_as_role(&cloud, &c_stream)
        .await
        .unwrap_err();
    assert!(denied.starts_with("AccessDeniedException"), "{denied}");
    assert!(verify(&only_b, &accounts).await.unwrap().is_ok());

    let mut none = central_billing();
    none.consumers[0].subscriptions.clear();
    apply(&none, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let writes: Vec<String> = log.take().into_iter().filter(|c| is_write(c)).collect();
    expect![[r#"
        IAM.DeleteRolePolicy
        DynamoDB.DeleteResourcePolicy
    "#]]
    .assert_eq(&lines(&writes));
    assert!(
        apply(&none, &accounts, &Waits::local(), &mut state)
            .await
            .unwrap()
            .plan
            .is_empty()
    );

    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// DynamoDB refuses policy changes on one resource for about 15 seconds
/// after the previous one: apply waits with the policy throttle's backoff
/// (none locally) and tries again, as many times as it allows. (The SDK's
/// own retry already covers LimitExceededException and ThrottlingException
/// with its short backoff; ResourceInUseException is apply's to retry.)
#[tokio::test]
async fn the_stream_policy_is_retried_while_policy_changes_are_throttled() {
    let (cloud, log, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();

    *log.throttled.lock().unwrap() = 2;
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let puts = log
        .take()
        .into_iter()
        .filter(|c| c.ends_with("PutResourcePolicy"))
        .count();
    assert_eq!(puts, 4, "two throttled and retried, then one per stream");
    assert!(verify(&desired, &accounts).await.unwrap().is_ok());
    destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    // A single attempt allowed: the throttle is the error.
    let mut impatient = Waits::local();
    impatient.policy_throttle = streamgate_provision::clients::Backoff::immediate(1);
    *log.throttled.lock().unwrap() = 1;
    let error = apply(&desired, &accounts, &impatient, &mut state)
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("failed: ResourceInUseException: A policy update on this resource is in progress, try again later"),
        "{error}"
    );
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

#[tokio::test]
async fn apply_waits_until_a_written_stream_policy_reads_back() {
    let (cloud, log, accounts) = start_logged().await;
    let desired = central_billing();
    let mut state = StateFile::new();

    *log.lag_after_put.lock().unwrap() = 2;
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let calls = log.take();
    let first_put = calls
        .iter()
        .position(|c| c == "DynamoDB.PutResourcePolicy")
        .unwrap();
    // Two reads still miss the new policy; the third sees it. The second
    // stream's policy reads back at once.
    expect![[r#"
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
    "#]]
    .assert_eq(&lines(&calls[first_put..]));
    let verified = verify(&desired, &accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");

    destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();

    // A read that does not catch up within the waits is reported, and the
    // next apply finds the policy written and carries on.
    *log.lag_after_put.lock().unwrap() = 100;
    let mut waits = Waits::local();
    waits.settle = Backoff::immediate(3);
    let error = apply(&desired, &accounts, &waits, &mut state)
        .await
        .unwrap_err();
    expect![[r#"
        stream policy of arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/LABEL did not become the revision written after 3 polls; last state no policy
    "#]]
    .assert_eq(&format!(
        "{}\n",
        error
            .to_string()
            .replace(latest_stream(&cloud, B).await.label(), "LABEL")
    ));
    *log.lagging_reads.lock().unwrap() = 0;
    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let verified = verify(&desired, &accounts).await.unwrap();
    assert!(verified.is_ok(), "{verified}");
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// DescribeTable is eventually consistent: right after UpdateTable it may
/// still show the table ACTIVE with its previous stream, and an UpdateTable
/// sent then finds the table UPDATING. Apply waits for the stream it asked
/// for, and retries the update refused as in use.
#[tokio::test]
async fn a_view_type_change_waits_out_stale_table_reads_and_a_busy_table() {
    let (cloud, log, accounts) = start_logged().await;
    let mut state = StateFile::new();
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let before = latest_stream(&cloud, B).await;
    // What a stale read shows: the table as it was (enabled, new and old
    // images).
    let b_dynamodb = aws_sdk_dynamodb::Client::new(&cloud.sdk_config(B, REGION).unwrap());
    create_table(&b_dynamodb, "documents-before", false).await;

    let mut changed = central_billing();
    changed.sources[0].view_type = streamgate_provision::spec::StreamViewType::KeysOnly;
    *log.stale_table_reads.lock().unwrap() = 3;
    *log.busy_table_updates.lock().unwrap() = 1;
    log.take();
    apply(&changed, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let table_calls: Vec<String> = log
        .take()
        .into_iter()
        .filter(|c| c.ends_with("Table") && !c.ends_with("CreateTable"))
        .collect();
    // The refused disable is sent again; each change is waited out through
    // three stale reads.
    expect![[r#"
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.UpdateTable
        DynamoDB.UpdateTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.UpdateTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
        DynamoDB.DescribeTable
    "#]]
    .assert_eq(&lines(&table_calls));
    *log.stale_table_reads.lock().unwrap() = 0;
    let after = latest_stream(&cloud, B).await;
    assert_ne!(before, after);
    let report = verify(&changed, &accounts).await.unwrap();
    assert!(report.is_ok(), "{report}");
    describe_stream_as_role(&cloud, &after).await.unwrap();
    b_dynamodb
        .delete_table()
        .table_name("documents-before")
        .send()
        .await
        .unwrap();
    destroy_and_stop(cloud, &accounts, &mut state).await;
}

/// DynamoDB answers a policy write or delete with a stale ExpectedRevisionId
/// with PolicyNotFoundException, though the policy is there: apply reads
/// the policy again and retries with the revision now there, rather than
/// failing the write or taking the policy for gone.
#[tokio::test]
async fn a_stale_policy_revision_is_read_again_and_retried() {
    let (cloud, log, accounts) = start_logged().await;
    let mut state = StateFile::new();
    *log.stale_revisions.lock().unwrap() = 2;
    apply(&central_billing(), &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let policy_calls: Vec<String> = log
        .take()
        .into_iter()
        .filter(|c| c.contains("ResourcePolicy"))
        .collect();
    // B's policy: read, refused twice as stale and read again each time,
    // written, read back; then C's.
    expect![[r#"
        DynamoDB.GetResourcePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.PutResourcePolicy
        DynamoDB.GetResourcePolicy
    "#]]
    .assert_eq(&lines(&policy_calls));
    assert!(verify(&central_billing(), &accounts).await.unwrap().is_ok());

    // The consumer stops reading C: the delete, sent with a stale
    // revision, is read again and retried, and the policy is gone.
    let mut only_b = central_billing();
    only_b.consumers[0].subscriptions.truncate(1);
    *log.stale_revisions.lock().unwrap() = 1;
    apply(&only_b, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let policy_calls: Vec<String> = log
        .take()
        .into_iter()
        .filter(|c| c.contains("ResourcePolicy"))
        .collect();
    expect![[r#"
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.DeleteResourcePolicy
        DynamoDB.GetResourcePolicy
        DynamoDB.DeleteResourcePolicy
        DynamoDB.GetResourcePolicy
    "#]]
    .assert_eq(&lines(&policy_calls));
    let c_stream = latest_stream(&cloud, C).await;
    let denied = describe_stream_as_role(&cloud, &c_stream)
        .await
        .unwrap_err();
    assert!(denied.starts_with("AccessDeniedException"), "{denied}");
    assert!(verify(&only_b, &accounts).await.unwrap().is_ok());
    destroy_and_stop(cloud, &accounts, &mut state).await;
}
