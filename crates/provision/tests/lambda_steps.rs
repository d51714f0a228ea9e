//! The function and event source mapping steps as put on the wire: IAM,
//! STS and DynamoDB are the local cloud's, and the Lambda calls — signed
//! and sent by the real aws-sdk-lambda client — are answered by
//! `FakeLambda`, an SDK interceptor that keeps functions and mappings and
//! writes Lambda's restJson1 responses, including the Pending and Creating
//! states that apply must wait out. It checks the mapping's safe defaults
//! as sent (bisection on); `lambda_local.rs` runs the same steps against
//! the local cloud's real Lambda API and reads them back.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use expect_test::expect;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use streamgate_local::{LocalCloud, RunningCloud};
use streamgate_provision::apply::apply;
use streamgate_provision::clients::{AccountClients, Accounts, Waits};
use streamgate_provision::destroy::destroy;
use streamgate_provision::plan::{Resource, code_sha256};
use streamgate_provision::spec::{
    Consumer, DesiredState, FunctionSpec, KeyAttribute, KeyType, MappingParameters, Source,
};
use streamgate_provision::state::StateFile;
use streamgate_provision::verify::verify;

const A: &str = "111111111111";
const B: &str = "222222222222";
const REGION: &str = "eu-west-1";

#[derive(Debug, Default)]
struct LambdaState {
    functions: BTreeMap<String, Value>,
    mappings: BTreeMap<String, Value>,
    /// Polls left before a Pending function or Creating mapping settles.
    settling: u32,
    next_uuid: u32,
    /// `Operation body` of every write, in order.
    writes: Vec<String>,
    /// Every Lambda operation, in order.
    calls: Vec<String>,
    /// Messages the next CreateEventSourceMapping calls are refused with
    /// (InvalidParameterValueException, nothing created), last first.
    mapping_refusals: Vec<&'static str>,
}

/// A request's path (from `/2015-03-31`) and body.
type SentRequest = (String, Vec<u8>);

#[derive(Debug, Clone, Default)]
struct FakeLambda {
    state: Arc<Mutex<LambdaState>>,
    /// The path and body of the request on its way (calls are sequential).
    sent: Arc<Mutex<Option<SentRequest>>>,
}

fn decode_base64(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for chunk in text.as_bytes().chunks(4) {
        let digits: Vec<u32> = chunk
            .iter()
            .filter(|c| **c != b'=')
            .map(|c| value(*c))
            .collect();
        let n = digits
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, d)| n | (d << (18 - 6 * i)));
        for i in 0..digits.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn not_found(what: &str) -> (u16, &'static str, Value) {
    (
        404,
        "ResourceNotFoundException",
        json!({ "Type": "User", "Message": format!("{what} not found") }),
    )
}

/// Lambda's answer to an update of a function still Pending or with an
/// update InProgress.
fn update_conflict(function: &Value) -> Option<(u16, &'static str, Value)> {
    (function["State"] == "Pending" || function["LastUpdateStatus"] == "InProgress").then(|| {
        (
            409,
            "ResourceConflictException",
            json!({
                "Type": "User",
                "Message": "The operation cannot be performed at this time. An update is in progress for resource",
            }),
        )
    })
}

impl FakeLambda {
    fn answer(&self, operation: &str, path: &str, body: &[u8]) -> (u16, &'static str, Value) {
        let mut state = self.state.lock().unwrap();
        state.calls.push(operation.to_owned());
        let input: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let segments: Vec<&str> = path
            .split('?')
            .next()
            .unwrap()
            .trim_end_matches('/')
            .split('/')
            .collect();
        if !["Get", "List"].iter().any(|r| operation.starts_with(r)) {
            let mut shown = input.clone();
            for key in ["Code", "ZipFile"] {
                if let Some(code) = shown.get_mut(key) {
                    *code = json!("...");
                }
            }
            state.writes.push(format!("{operation} {shown}"));
        }
        let settling = state.settling;
        match operation {
            "GetFunction" | "GetFunctionConfiguration" => {
                let name = segments[3];
                let Some(function) = state.functions.get_mut(name) else {
                    return not_found("function");
                };
                if function["State"] == "Pending" || function["LastUpdateStatus"] == "InProgress" {
                    if settling == 0 {
                        function["State"] = json!("Active");
                        function["LastUpdateStatus"] = json!("Successful");
                    } else {
                        state.settling -= 1;
                    }
                }
                let function = state.functions[name].clone();
                if operation == "GetFunction" {
                    (200, "", json!({ "Configuration": function }))
                } else {
                    (200, "", function)
                }
            }
            "CreateFunction" => {
                let name = input["FunctionName"].as_str().unwrap().to_owned();
                let zip = decode_base64(input["Code"]["ZipFile"].as_str().unwrap());
                let function = json!({
                    "FunctionName": name,
                    "FunctionArn": format!("arn:aws:lambda:{REGION}:{A}:function:{name}"),
                    "Runtime": input["Runtime"],
                    "Role": input["Role"],
                    "Handler": input["Handler"],
                    "MemorySize": input["MemorySize"],
                    "Timeout": input["Timeout"],
                    "CodeSha256": code_sha256(&zip),
                    "State": "Pending",
                    "LastUpdateStatus": "InProgress",
                });
                state.settling = 2;
                state.functions.insert(name, function.clone());
                (201, "", function)
            }
            "UpdateFunctionCode" => {
                let zip = decode_base64(input["ZipFile"].as_str().unwrap());
                let Some(function) = state.functions.get_mut(segments[3]) else {
                    return not_found("function");
                };
                if let Some(conflict) = update_conflict(function) {
                    return conflict;
                }
                function["CodeSha256"] = json!(code_sha256(&zip));
                function["State"] = json!("Pending");
                function["LastUpdateStatus"] = json!("InProgress");
                let function = function.clone();
                state.settling = 1;
                (200, "", function)
            }
            "UpdateFunctionConfiguration" => {
                let Some(function) = state.functions.get_mut(segments[3]) else {
                    return not_found("function");
                };
                if let Some(conflict) = update_conflict(function) {
                    return conflict;
                }
                for (key, value) in input.as_object().unwrap() {
                    function[key] = value.clone();
                }
                (200, "", function.clone())
            }
            "UpdateEventSourceMapping" => {
                let Some(mapping) = state.mappings.get_mut(segments[3]) else {
                    return not_found("mapping");
                };
                if mapping["State"] != "Enabled" && mapping["State"] != "Disabled" {
                    return (
                        400,
                        "ResourceInUseException",
                        json!({
                            "Type": "User",
                            "Message": format!(
                                "Cannot update the event source mapping because it is in use: {}",
                                mapping["State"].as_str().unwrap_or_default()
                            ),
                        }),
                    );
                }
                for (key, value) in input.as_object().unwrap() {
                    if key != "Enabled" && key != "FunctionName" {
                        mapping[key] = value.clone();
                    }
                }
                (202, "", mapping.clone())
            }
            "DeleteFunction" => match state.functions.remove(segments[3]) {
                Some(_) => (204, "", Value::Null),
                None => not_found("function"),
            },
            "ListEventSourceMappings" => {
                let function = path.split("FunctionName=").nth(1).unwrap_or_default();
                let mappings: Vec<Value> = state
                    .mappings
                    .values()
                    .filter(|m| m["FunctionArn"].as_str().unwrap().ends_with(function))
                    .cloned()
                    .collect();
                (200, "", json!({ "EventSourceMappings": mappings }))
            }
            "CreateEventSourceMapping" => {
                if let Some(message) = state.mapping_refusals.pop() {
                    return (
                        400,
                        "InvalidParameterValueException",
                        json!({ "Type": "User", "Message": message }),
                    );
                }
                state.next_uuid += 1;
                let uuid = format!("00000000-0000-0000-0000-{:012}", state.next_uuid);
                let name = input["FunctionName"].as_str().unwrap();
                let mut mapping = input.clone();
                mapping["UUID"] = json!(uuid);
                mapping["FunctionArn"] =
                    json!(format!("arn:aws:lambda:{REGION}:{A}:function:{name}"));
                mapping["State"] = json!("Creating");
                mapping.as_object_mut().unwrap().remove("FunctionName");
                mapping.as_object_mut().unwrap().remove("Enabled");
                state.settling = 2;
                state.mappings.insert(uuid, mapping.clone());
                (202, "", mapping)
            }
            "GetEventSourceMapping" => {
                let uuid = segments[3];
                let Some(mapping) = state.mappings.get_mut(uuid) else {
                    return not_found("mapping");
                };
                if ["Creating", "Updating", "Enabling"]
                    .iter()
                    .any(|s| mapping["State"] == *s)
                {
                    if settling == 0 {
                        mapping["State"] = json!("Enabled");
                    } else {
                        state.settling -= 1;
                    }
                }
                (200, "", state.mappings[uuid].clone())
            }
            "DeleteEventSourceMapping" => match state.mappings.remove(segments[3]) {
                Some(mut mapping) => {
                    mapping["State"] = json!("Deleting");
                    (202, "", mapping)
                }
                None => not_found("mapping"),
            },
            other => (
                400,
                "InvalidParameterValueException",
                json!({ "Message": format!("{other} is not answered by this fake") }),
            ),
        }
    }
}

impl Intercept for FakeLambda {
    fn name(&self) -> &'static str {
        "FakeLambda"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request();
        let path = request.uri().to_owned();
        let path = path
            .split_once("/2015-03-31")
            .map(|(_, rest)| format!("/2015-03-31{rest}"))
            .unwrap_or(path);
        let body = request.body().bytes().unwrap_or_default().to_vec();
        *self.sent.lock().unwrap() = Some((path, body));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut aws_sdk_iam::config::ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().unwrap().name().to_owned();
        let (path, body) = self.sent.lock().unwrap().take().unwrap();
        let (status, error, answer) = self.answer(&operation, &path, &body);
        let response = context.response_mut();
        *response.status_mut() = StatusCode::try_from(status).unwrap();
        if !error.is_empty() {
            response.headers_mut().insert("x-amzn-errortype", error);
        }
        response
            .headers_mut()
            .insert("content-type", "application/json");
        let text = if answer.is_null() {
            String::new()
        } else {
            answer.to_string()
        };
        *response.body_mut() = aws_smithy_types::body::SdkBody::from(text);
        Ok(())
    }
}

fn accounts(cloud: &RunningCloud, lambda: &FakeLambda) -> Accounts {
    let mut accounts = Accounts::new();
    for id in [A, B] {
        let config = cloud.sdk_config(id, REGION).unwrap();
        let mut clients = AccountClients::new(&config);
        clients.lambda = aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&config)
                .interceptor(lambda.clone())
                .build(),
        );
        accounts = accounts.with(id.parse().unwrap(), clients);
    }
    accounts
}

fn desired(zip: &[u8], parameters: MappingParameters) -> DesiredState {
    DesiredState::new(REGION)
        .source(Source::new(
            "tenant-b",
            B.parse().unwrap(),
            "documents",
            KeyAttribute::new("pk", KeyType::String),
        ))
        .consumer(
            Consumer::new("billing", A.parse().unwrap(), "billing-consumer")
                .function(FunctionSpec::new("billing-aggregator", zip.to_vec()))
                .reads_with("tenant-b", parameters),
        )
}

/// Applies `desired` once more, which must plan no change, then destroys
/// what `state` recorded and stops the cloud.
async fn apply_again_then_destroy(
    cloud: RunningCloud,
    desired: &DesiredState,
    accounts: &Accounts,
    state: &mut StateFile,
) {
    let again = apply(desired, accounts, &Waits::local(), state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    destroy(accounts, &Waits::local(), state).await.unwrap();
    cloud.stop().await;
}

fn take_writes(lambda: &FakeLambda) -> String {
    let mut state = lambda.state.lock().unwrap();
    let writes: String = state.writes.iter().map(|w| format!("{w}\n")).collect();
    state.writes.clear();
    state.calls.clear();
    writes
}

#[tokio::test]
async fn functions_and_mappings_are_created_waited_for_kept_and_destroyed() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let lambda = FakeLambda::default();
    let accounts = accounts(&cloud, &lambda);
    let desired = desired(b"a zip with a bootstrap", MappingParameters::default());
    let mut state = StateFile::new();

    let report = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert_eq!(report.plan.changes().count(), 6, "{}", report.plan);
    let writes = take_writes(&lambda);
    let stream = {
        let state = lambda.state.lock().unwrap();
        state.mappings.values().next().unwrap()["EventSourceArn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    // The safe defaults, as sent: finite retries, bisect, item failures.
    expect![[r#"
        CreateFunction {"Code":"...","FunctionName":"billing-aggregator","Handler":"bootstrap","MemorySize":128,"Role":"arn:aws:iam::111111111111:role/billing-consumer","Runtime":"provided.al2023","Timeout":30}
        CreateEventSourceMapping {"BatchSize":100,"BisectBatchOnFunctionError":true,"Enabled":true,"EventSourceArn":"STREAM","FunctionName":"billing-aggregator","FunctionResponseTypes":["ReportBatchItemFailures"],"MaximumBatchingWindowInSeconds":0,"MaximumRecordAgeInSeconds":86400,"MaximumRetryAttempts":10,"ParallelizationFactor":1,"StartingPosition":"TRIM_HORIZON"}
    "#]]
    .assert_eq(&writes.replace(&stream, "STREAM"));
    // Both waited out their settling states.
    {
        let state = lambda.state.lock().unwrap();
        assert_eq!(state.functions["billing-aggregator"]["State"], "Active");
        assert_eq!(state.mappings.values().next().unwrap()["State"], "Enabled");
    }
    assert!(verify(&desired, &accounts).await.unwrap().is_ok());

    // Nothing changed: no Lambda write either.
    take_writes(&lambda);
    let again = apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    assert!(again.plan.is_empty(), "{}", again.plan);
    assert_eq!(take_writes(&lambda), "");

    let removals = destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    expect![[r#"
        DeleteEventSourceMapping null
        DeleteFunction null
    "#]]
    .assert_eq(&take_writes(&lambda));
    assert_eq!(removals.len(), 6, "{removals:?}");
    assert!(state.is_empty());
    cloud.stop().await;
}

#[tokio::test]
async fn a_changed_package_or_mapping_parameter_is_updated_in_place() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let lambda = FakeLambda::default();
    let accounts = accounts(&cloud, &lambda);
    let mut state = StateFile::new();
    apply(
        &desired(b"first", MappingParameters::default()),
        &accounts,
        &Waits::local(),
        &mut state,
    )
    .await
    .unwrap();
    take_writes(&lambda);

    let changed = desired(
        b"second",
        MappingParameters {
            batch_size: 500,
            ..MappingParameters::default()
        },
    );
    let plan = apply(&changed, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap()
        .plan;
    let shown: String = plan
        .changes()
        .map(|a| format!("{}\n{:?}\n", a.resource, a.change))
        .collect();
    expect![[r#"
        function 111111111111/billing-aggregator
        Update { detail: "code_sha256: p5N7ZLjKpY8Dchu2us9ceMsjX+vg5wsbhM2ZVBRhoI4= -> FjZ6rLZ6SgF8jairlWgsyzkIY3gPcRTdoKDgxVZEx8Q=" }
        mapping 222222222222/documents -> 111111111111/billing-aggregator
        Update { detail: "batch_size: 100 -> 500" }
    "#]]
    .assert_eq(&shown);
    expect![[r#"
        UpdateFunctionCode {"ZipFile":"..."}
        UpdateEventSourceMapping {"BatchSize":500,"BisectBatchOnFunctionError":true,"Enabled":true,"FilterCriteria":{},"FunctionResponseTypes":["ReportBatchItemFailures"],"MaximumBatchingWindowInSeconds":0,"MaximumRecordAgeInSeconds":86400,"MaximumRetryAttempts":10,"ParallelizationFactor":1}
    "#]]
    .assert_eq(&take_writes(&lambda));
    apply_again_then_destroy(cloud, &changed, &accounts, &mut state).await;
}

/// A view type change starts a new stream: the function gets a mapping
/// from the new stream and loses the one from the old.
#[tokio::test]
async fn a_view_type_change_moves_the_mapping_to_the_new_stream() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let lambda = FakeLambda::default();
    let accounts = accounts(&cloud, &lambda);
    let mut state = StateFile::new();
    let before = desired(b"zip", MappingParameters::default());
    apply(&before, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    take_writes(&lambda);
    let mapped_stream = |lambda: &FakeLambda| {
        let state = lambda.state.lock().unwrap();
        assert_eq!(state.mappings.len(), 1);
        state.mappings.values().next().unwrap()["EventSourceArn"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let old_stream = mapped_stream(&lambda);

    let mut after = desired(b"zip", MappingParameters::default());
    after.sources[0].view_type = streamgate_provision::spec::StreamViewType::NewImage;
    let plan = apply(&after, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap()
        .plan;
    let changes: String = plan
        .changes()
        .map(|a| match &a.resource {
            Resource::StaleMapping { stream, .. } if *stream == old_stream => {
                "mapping from the old stream\n".to_owned()
            }
            other => format!("{other}\n"),
        })
        .collect();
    expect![[r#"
        table 222222222222/documents
        role policy 111111111111/billing-consumer
        stream policy 222222222222/documents
        mapping 222222222222/documents -> 111111111111/billing-aggregator
        mapping from the old stream
    "#]]
    .assert_eq(&changes);
    let writes: Vec<String> = take_writes(&lambda)
        .lines()
        .map(|w| w.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(
        writes,
        ["CreateEventSourceMapping", "DeleteEventSourceMapping"]
    );
    assert_ne!(mapped_stream(&lambda), old_stream);
    let recorded = state
        .resources
        .iter()
        .filter(|r| matches!(r, streamgate_provision::state::Recorded::Mapping { .. }))
        .count();
    assert_eq!(recorded, 1, "{state:?}");
    apply_again_then_destroy(cloud, &after, &accounts, &mut state).await;
}

/// Right after the role gains a grant (for a new on-failure queue, say),
/// Lambda refuses the mapping until IAM has propagated it, with messages
/// that say the role lacks permissions: apply retries them.
#[tokio::test]
async fn a_mapping_refused_while_a_grant_propagates_is_retried() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let lambda = FakeLambda::default();
    let accounts = accounts(&cloud, &lambda);
    let desired = desired(b"zip", MappingParameters::default());
    lambda.state.lock().unwrap().mapping_refusals = vec![
        "The provided execution role does not have permissions to call SendMessage on SQS",
        "Please ensure the role can perform the sqs:SendMessage action on your resource",
    ];
    let mut state = StateFile::new();

    apply(&desired, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let creates = lambda
        .state
        .lock()
        .unwrap()
        .calls
        .iter()
        .filter(|c| *c == "CreateEventSourceMapping")
        .count();
    assert_eq!(creates, 3);
    assert_eq!(lambda.state.lock().unwrap().mappings.len(), 1);
    destroy(&accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    cloud.stop().await;
}

/// A function or mapping still settling from a change made just before
/// (by an earlier apply, or another tool) refuses updates: apply waits for
/// both to settle before updating them.
#[tokio::test]
async fn updates_wait_for_a_function_and_a_mapping_still_settling() {
    let cloud = LocalCloud::builder().start().await.unwrap();
    let lambda = FakeLambda::default();
    let accounts = accounts(&cloud, &lambda);
    let mut state = StateFile::new();
    apply(
        &desired(b"first", MappingParameters::default()),
        &accounts,
        &Waits::local(),
        &mut state,
    )
    .await
    .unwrap();
    {
        let mut fake = lambda.state.lock().unwrap();
        fake.functions.get_mut("billing-aggregator").unwrap()["LastUpdateStatus"] =
            json!("InProgress");
        for mapping in fake.mappings.values_mut() {
            mapping["State"] = json!("Updating");
        }
        fake.settling = 4;
    }
    take_writes(&lambda);

    let changed = desired(
        b"second",
        MappingParameters {
            batch_size: 500,
            ..MappingParameters::default()
        },
    );
    apply(&changed, &accounts, &Waits::local(), &mut state)
        .await
        .unwrap();
    let writes: Vec<String> = take_writes(&lambda)
        .lines()
        .map(|w| w.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(writes, ["UpdateFunctionCode", "UpdateEventSourceMapping"]);
    apply_again_then_destroy(cloud, &changed, &accounts, &mut state).await;
}
