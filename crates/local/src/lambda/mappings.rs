//! Event source mappings for DynamoDB streams: CreateEventSourceMapping,
//! GetEventSourceMapping, ListEventSourceMappings (by function, by source
//! ARN), UpdateEventSourceMapping, DeleteEventSourceMapping, kept in
//! [`MappingRegistry`]; each enabled mapping has a poller task
//! ([`super::poller`]).
//!
//! At creation the execution role must be able to read the stream, as AWS
//! checks it: `dynamodb:DescribeStream`, `GetShardIterator` and `GetRecords`
//! on the stream (its resource policy and the role's identity policies,
//! both required across accounts) and `dynamodb:ListStreams`; otherwise
//! `InvalidParameterValueException` "Cannot access stream ...".
//!
//! FilterCriteria are parsed here ([`super::filter`]) and an invalid pattern
//! refused with `InvalidParameterValueException` "Invalid filter pattern
//! definition."; the poller applies them. An on-failure destination must
//! be an SQS queue ARN the execution role may `sqs:SendMessage` to (its
//! identity policies, as Lambda checks at creation). Parameters this local cloud does
//! not honour yet (an SNS or S3 on-failure destination, tumbling windows) are
//! refused with an `InvalidParameterValueException` saying so, never
//! silently ignored.

use super::filter::{Filter, FilterError, parse_filters};
use super::functions::{FunctionKey, plain_access, resolve_qualified};
use super::json_reply;
use super::paging::Page;
use crate::authorize::authorize;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// One event source mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Its id.
    pub uuid: String,
    /// The stream ARN.
    pub event_source_arn: String,
    /// The function.
    pub function: FunctionKey,
    /// The function ARN, with its qualifier if it has one.
    pub function_arn: String,
    /// The version or alias invoked (`None`: `$LATEST`).
    pub qualifier: Option<String>,
    /// `TRIM_HORIZON` or `LATEST`.
    pub starting_position: String,
    /// Records per invocation, 1..=10,000.
    pub batch_size: u32,
    /// Whether the poller runs.
    pub enabled: bool,
    /// -1 (until the record expires) or 0..=10,000.
    pub maximum_retry_attempts: i64,
    /// Records older than this many seconds are discarded; -1: never.
    pub maximum_record_age_seconds: i64,
    /// Whether the function reports partial batch failures.
    pub report_batch_item_failures: bool,
    /// FilterCriteria: a record is delivered when any matches (or none is
    /// given); the others are skipped.
    pub filters: Vec<Filter>,
    /// Whether a failing batch is split in two and the halves retried.
    pub bisect_batch_on_function_error: bool,
    /// The SQS queue ARN that gets the metadata of a discarded batch.
    pub on_failure_destination: Option<String>,
    /// Concurrent batches per shard, 1..=10, each partition key always in
    /// the same one.
    pub parallelization_factor: u32,
    /// How long an unfilled batch may wait for more records, 0..=300.
    pub maximum_batching_window_seconds: u64,
    /// `Creating`, `Enabled`, `Disabled`, `Deleting`, ...
    pub state: String,
    /// Why the state last changed.
    pub state_transition_reason: String,
    /// What the last poll gave: `No records processed`, `OK`, `PROBLEM: ...`.
    pub last_processing_result: String,
    /// When it last changed (ms since the epoch).
    pub last_modified_millis: u64,
}

/// Every mapping of the cloud, by id.
#[derive(Debug, Default)]
pub struct MappingRegistry {
    mappings: Mutex<BTreeMap<String, Mapping>>,
}

impl MappingRegistry {
    /// A copy of the mapping `uuid`.
    pub fn get(&self, uuid: &str) -> Option<Mapping> {
        lock(&self.mappings).get(uuid).cloned()
    }

    /// Changes the mapping `uuid` if it still exists.
    pub fn update(&self, uuid: &str, change: impl FnOnce(&mut Mapping)) {
        if let Some(mapping) = lock(&self.mappings).get_mut(uuid) {
            change(mapping);
        }
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValueException, message)
}

fn not_implemented(parameter: &str) -> ApiError {
    invalid(format!(
        "streamgate-local does not implement {parameter} for event source mappings yet"
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct MappingInput {
    event_source_arn: Option<String>,
    function_name: Option<String>,
    enabled: Option<bool>,
    batch_size: Option<i64>,
    starting_position: Option<String>,
    maximum_retry_attempts: Option<i64>,
    function_response_types: Option<Vec<String>>,
    filter_criteria: Option<FilterCriteriaInput>,
    bisect_batch_on_function_error: Option<bool>,
    destination_config: Option<DestinationConfigInput>,
    parallelization_factor: Option<i64>,
    maximum_record_age_in_seconds: Option<i64>,
    maximum_batching_window_in_seconds: Option<i64>,
    tumbling_window_in_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfigInput {
    on_failure: Option<DestinationInput>,
    on_success: Option<DestinationInput>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationInput {
    destination: Option<String>,
}

/// The on-failure destination of `DestinationConfig` (`None`: none, which
/// clears it on update), checked as Lambda checks it against the role.
fn parse_destination(
    cloud: &Cloud,
    function: &FunctionKey,
    role_arn: &str,
    config: &DestinationConfigInput,
) -> Result<Option<String>, ApiError> {
    if config
        .on_success
        .as_ref()
        .is_some_and(|s| s.destination.is_some())
    {
        return Err(invalid(
            "Unsupported DestinationConfig parameter for given event source mapping type: OnSuccess",
        ));
    }
    let Some(arn) = config
        .on_failure
        .as_ref()
        .and_then(|o| o.destination.clone())
    else {
        return Ok(None);
    };
    if arn.starts_with("arn:aws:sns:") || arn.starts_with("arn:aws:s3:") {
        return Err(not_implemented("an SNS or S3 on-failure destination"));
    }
    if !crate::sqs::is_queue_arn(&arn) {
        return Err(invalid(format!(
            "Unsupported on-failure destination {arn}: expected an SQS queue ARN"
        )));
    }
    let allowed = role_caller(cloud, function, role_arn)
        .is_some_and(|caller| crate::sqs::may_send(cloud, &caller, &arn));
    if !allowed {
        return Err(invalid(
            "The provided execution role does not have permissions to call SendMessage on SQS",
        ));
    }
    Ok(Some(arn))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterCriteriaInput {
    filters: Option<Vec<FilterInput>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterInput {
    pattern: Option<String>,
}

/// The filters of `FilterCriteria`; an empty object or list clears them.
fn parse_filter_criteria(criteria: &FilterCriteriaInput) -> Result<Vec<Filter>, ApiError> {
    let filters = criteria.filters.as_deref().unwrap_or_default();
    let patterns: Vec<&str> = filters
        .iter()
        .map(|f| f.pattern.as_deref().unwrap_or_default())
        .collect();
    parse_filters(patterns.into_iter()).map_err(|error| match error {
        FilterError::TooManyFilters { count } => invalid(format!(
            "The number of filters in FilterCriteria ({count}) exceeds the limit of {}",
            super::filter::MAX_FILTERS
        )),
        _ => invalid("Invalid filter pattern definition."),
    })
}

impl MappingInput {
    /// Refuses the parameters this cloud does not honour yet.
    fn refuse_unimplemented(&self) -> Result<(), ApiError> {
        let checks = [(
            self.tumbling_window_in_seconds.is_some_and(|w| w != 0),
            "TumblingWindowInSeconds",
        )];
        match checks.iter().find(|(given, _)| *given) {
            Some((_, parameter)) => Err(not_implemented(parameter)),
            None => Ok(()),
        }
    }
}

fn validate_batch_size(size: i64) -> Result<u32, ApiError> {
    match u32::try_from(size) {
        Ok(size @ 1..=10_000) => Ok(size),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{size}' at 'batchSize' failed to satisfy constraint: Member must have value between 1 and 10000"
        ))),
    }
}

fn validate_parallelization(factor: i64) -> Result<u32, ApiError> {
    match u32::try_from(factor) {
        Ok(factor @ 1..=10) => Ok(factor),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{factor}' at 'parallelizationFactor' failed to satisfy constraint: Member must have value between 1 and 10"
        ))),
    }
}

fn validate_window(seconds: i64) -> Result<u64, ApiError> {
    match u64::try_from(seconds) {
        Ok(seconds @ 0..=300) => Ok(seconds),
        _ => Err(ApiError::validation(format!(
            "1 validation error detected: Value '{seconds}' at 'maximumBatchingWindowInSeconds' failed to satisfy constraint: Member must have value between 0 and 300"
        ))),
    }
}

fn validate_retries(retries: i64) -> Result<i64, ApiError> {
    if (-1..=10_000).contains(&retries) {
        Ok(retries)
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{retries}' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value between -1 and 10000"
        )))
    }
}

fn validate_record_age(age: i64) -> Result<i64, ApiError> {
    if age == -1 || (60..=604_800).contains(&age) {
        Ok(age)
    } else {
        Err(ApiError::validation(format!(
            "1 validation error detected: Value '{age}' at 'maximumRecordAgeInSeconds' failed to satisfy constraint: Member must be -1 or between 60 and 604800"
        )))
    }
}

fn report_failures(types: Option<&Vec<String>>) -> Result<Option<bool>, ApiError> {
    let Some(types) = types else { return Ok(None) };
    for kind in types {
        if kind != "ReportBatchItemFailures" {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '[{kind}]' at 'functionResponseTypes' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]"
            )));
        }
    }
    Ok(Some(!types.is_empty()))
}

/// The caller the poller acts as: a session of the function's execution
/// role, named as Lambda names its sessions.
pub(crate) fn role_caller(cloud: &Cloud, function: &FunctionKey, role_arn: &str) -> Option<Caller> {
    let role_name = role_arn.rsplit('/').next()?;
    let account = cloud.account(&function.account)?;
    let role_id = lock(&account.iam).roles.get(role_name)?.id.clone();
    Some(Caller::AssumedRole {
        account: function.account.clone(),
        role_name: role_name.to_owned(),
        role_arn: role_arn.to_owned(),
        role_id,
        session_name: "awslambda_streamgate_local".to_owned(),
        session_policy: None,
    })
}

/// Whether the role can read the stream, as Lambda checks at creation.
fn check_stream_access(
    cloud: &Cloud,
    function: &FunctionKey,
    role_arn: &str,
    stream_arn: &str,
) -> Result<(), ApiError> {
    let cannot = || {
        invalid(format!(
            "Cannot access stream {stream_arn}. Please ensure the role can perform the GetRecords, GetShardIterator, DescribeStream, and ListStreams Actions on your stream in IAM."
        ))
    };
    let caller = role_caller(cloud, function, role_arn).ok_or_else(cannot)?;
    for action in [
        "dynamodb:DescribeStream",
        "dynamodb:GetShardIterator",
        "dynamodb:GetRecords",
    ] {
        crate::streams::authorize_stream_read(cloud, &caller, &function.region, action, stream_arn)
            .map_err(|_| cannot())?;
    }
    authorize(
        cloud,
        &caller,
        &plain_access("dynamodb:ListStreams", "*", &function.account),
    )
    .map_err(|_| cannot())
}

/// The `EventSourceMappingConfiguration` shape.
pub fn mapping_json(mapping: &Mapping) -> Value {
    let mut types = Vec::new();
    if mapping.report_batch_item_failures {
        types.push("ReportBatchItemFailures");
    }
    let mut configuration = json!({
        "UUID": mapping.uuid,
        "StartingPosition": mapping.starting_position,
        "BatchSize": mapping.batch_size,
        "MaximumBatchingWindowInSeconds": mapping.maximum_batching_window_seconds,
        "ParallelizationFactor": mapping.parallelization_factor,
        "EventSourceArn": mapping.event_source_arn,
        "FunctionArn": mapping.function_arn,
        "LastModified": crate::clock::epoch_seconds(mapping.last_modified_millis),
        "LastProcessingResult": mapping.last_processing_result,
        "State": mapping.state,
        "StateTransitionReason": mapping.state_transition_reason,
        "DestinationConfig": {
            "OnFailure": mapping
                .on_failure_destination
                .as_ref()
                .map_or_else(|| json!({}), |arn| json!({ "Destination": arn })),
        },
        "MaximumRecordAgeInSeconds": mapping.maximum_record_age_seconds,
        "BisectBatchOnFunctionError": mapping.bisect_batch_on_function_error,
        "MaximumRetryAttempts": mapping.maximum_retry_attempts,
        "TumblingWindowInSeconds": 0,
        "FunctionResponseTypes": types,
    });
    if !mapping.filters.is_empty()
        && let Some(object) = configuration.as_object_mut()
    {
        let filters: Vec<Value> = mapping
            .filters
            .iter()
            .map(|f| json!({ "Pattern": f.pattern_text }))
            .collect();
        object.insert("FilterCriteria".to_owned(), json!({ "Filters": filters }));
    }
    configuration
}

/// Answers the mapping operations; `segments` follow `event-source-mappings`.
pub fn handle(
    cloud: &Arc<Cloud>,
    caller: &Caller,
    region: &str,
    method: &str,
    uuid: Option<&str>,
    query: &[(String, String)],
    body: &[u8],
) -> Result<Reply, ApiError> {
    match (method, uuid) {
        ("POST", None) => create(cloud, caller, region, body),
        ("GET", None) => list(cloud, caller, region, query),
        ("GET", Some(uuid)) => {
            let mapping = owned(cloud, caller, uuid, "lambda:GetEventSourceMapping")?;
            Ok(json_reply(200, mapping_json(&mapping).to_string()))
        }
        ("PUT", Some(uuid)) => update(cloud, caller, uuid, body),
        ("DELETE", Some(uuid)) => {
            let mut mapping = owned(cloud, caller, uuid, "lambda:DeleteEventSourceMapping")?;
            lock(&cloud.mappings.mappings).remove(uuid);
            cloud.lambda_tags.forget(&format!(
                "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
                mapping.function.region, mapping.function.account
            ));
            mapping.state = "Deleting".to_owned();
            mapping.state_transition_reason = "User action".to_owned();
            Ok(json_reply(202, mapping_json(&mapping).to_string()))
        }
        _ => Err(ApiError::new(
            ErrorCode::NotImplementedException,
            format!("streamgate-local does not implement {method} on event source mappings"),
        )),
    }
}

fn not_found(uuid: &str) -> ApiError {
    ApiError::not_found(format!(
        "The resource you requested does not exist. (Service: Lambda, Status Code: 404, Request ID: {uuid})"
    ))
}

/// The mapping `uuid` if it belongs to the caller's account and the caller
/// may do `action` on it.
fn owned(cloud: &Cloud, caller: &Caller, uuid: &str, action: &str) -> Result<Mapping, ApiError> {
    let mapping = cloud.mappings.get(uuid).ok_or_else(|| not_found(uuid))?;
    if mapping.function.account != caller.account() {
        return Err(not_found(uuid));
    }
    let arn = format!(
        "arn:aws:lambda:{}:{}:event-source-mapping:{uuid}",
        mapping.function.region, mapping.function.account
    );
    authorize(
        cloud,
        caller,
        &plain_access(action, &arn, &mapping.function.account),
    )?;
    Ok(mapping)
}

fn create(
    cloud: &Arc<Cloud>,
    caller: &Caller,
    region: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: MappingInput = parse_json_body(body)?;
    input.refuse_unimplemented()?;
    let function_name = input.function_name.as_deref().ok_or_else(|| {
        ApiError::validation("1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null")
    })?;
    let stream_arn = input
        .event_source_arn
        .clone()
        .ok_or_else(|| invalid("Unrecognized event source, must be a DynamoDB stream ARN"))?;
    if !(stream_arn.starts_with("arn:aws:dynamodb:") && stream_arn.contains("/stream/")) {
        return Err(invalid(format!(
            "Unrecognized event source, must be a DynamoDB stream ARN: {stream_arn}"
        )));
    }
    let starting_position = match input.starting_position.as_deref() {
        Some(p @ ("TRIM_HORIZON" | "LATEST")) => p.to_owned(),
        Some(other) => {
            return Err(invalid(format!(
                "Unsupported starting position {other} for a DynamoDB stream: expected TRIM_HORIZON or LATEST"
            )));
        }
        None => {
            return Err(invalid(
                "StartingPosition must be provided for a DynamoDB stream",
            ));
        }
    };
    let batch_size = input.batch_size.map_or(Ok(100), validate_batch_size)?;
    let maximum_retry_attempts = input
        .maximum_retry_attempts
        .map_or(Ok(-1), validate_retries)?;
    let report = report_failures(input.function_response_types.as_ref())?.unwrap_or(false);
    let maximum_record_age_seconds = input
        .maximum_record_age_in_seconds
        .map_or(Ok(-1), validate_record_age)?;
    let filters = input
        .filter_criteria
        .as_ref()
        .map(parse_filter_criteria)
        .transpose()?
        .unwrap_or_default();
    let parallelization_factor = input
        .parallelization_factor
        .map_or(Ok(1), validate_parallelization)?;
    let maximum_batching_window_seconds = input
        .maximum_batching_window_in_seconds
        .map_or(Ok(0), validate_window)?;
    let (key, unqualified_arn, qualifier) = resolve_qualified(caller, region, function_name, None)?;
    authorize(
        cloud,
        caller,
        &plain_access("lambda:CreateEventSourceMapping", "*", caller.account()),
    )?;
    let target = super::versions::qualified(cloud, &key, &unqualified_arn, qualifier.as_deref())?;
    let function = target.function;
    let function_arn = target.arn;
    check_stream_access(cloud, &key, &function.role, &stream_arn)?;
    let on_failure_destination = input
        .destination_config
        .as_ref()
        .map(|config| parse_destination(cloud, &key, &function.role, config))
        .transpose()?
        .flatten();
    let uuid = super::executor::uuid(cloud);
    let enabled = input.enabled.unwrap_or(true);
    let mapping = Mapping {
        uuid: uuid.clone(),
        event_source_arn: stream_arn,
        function: key,
        function_arn,
        qualifier,
        starting_position,
        batch_size,
        enabled,
        maximum_retry_attempts,
        maximum_record_age_seconds,
        report_batch_item_failures: report,
        filters,
        bisect_batch_on_function_error: input.bisect_batch_on_function_error.unwrap_or(false),
        on_failure_destination,
        parallelization_factor,
        maximum_batching_window_seconds,
        state: "Creating".to_owned(),
        state_transition_reason: "User action".to_owned(),
        last_processing_result: "No records processed".to_owned(),
        last_modified_millis: cloud.clock.now_millis(),
    };
    let body = mapping_json(&mapping).to_string();
    {
        // Checked and inserted under one lock, so two concurrent creations
        // cannot both pass.
        let mut mappings = lock(&cloud.mappings.mappings);
        if let Some(existing) = mappings.values().find(|m| {
            m.function == mapping.function
                && m.event_source_arn == mapping.event_source_arn
                && same_qualifier(m.qualifier.as_deref(), mapping.qualifier.as_deref())
        }) {
            return Err(ApiError::new(
                ErrorCode::ResourceConflictException,
                format!(
                    "The event source arn (\" {} \") and function (\" {function_name} \") provided mapping already exists. Please update or delete the existing mapping with UUID {}",
                    existing.event_source_arn, existing.uuid
                ),
            ));
        }
        mappings.insert(uuid.clone(), mapping);
    }
    super::poller::spawn(Arc::clone(cloud), uuid);
    Ok(json_reply(202, body))
}

/// Whether two qualifiers name the same target (none is `$LATEST`).
fn same_qualifier(a: Option<&str>, b: Option<&str>) -> bool {
    a.unwrap_or("$LATEST") == b.unwrap_or("$LATEST")
}

fn update(cloud: &Cloud, caller: &Caller, uuid: &str, body: &[u8]) -> Result<Reply, ApiError> {
    let input: MappingInput = parse_json_body(body)?;
    input.refuse_unimplemented()?;
    let current = owned(cloud, caller, uuid, "lambda:UpdateEventSourceMapping")?;
    if input.function_name.is_some() {
        return Err(not_implemented("changing the function of a mapping"));
    }
    let batch_size = input.batch_size.map(validate_batch_size).transpose()?;
    let retries = input
        .maximum_retry_attempts
        .map(validate_retries)
        .transpose()?;
    let report = report_failures(input.function_response_types.as_ref())?;
    let record_age = input
        .maximum_record_age_in_seconds
        .map(validate_record_age)
        .transpose()?;
    let filters = input
        .filter_criteria
        .as_ref()
        .map(parse_filter_criteria)
        .transpose()?;
    let factor = input
        .parallelization_factor
        .map(validate_parallelization)
        .transpose()?;
    let window = input
        .maximum_batching_window_in_seconds
        .map(validate_window)
        .transpose()?;
    let destination = match &input.destination_config {
        Some(config) => {
            let function = cloud.functions.get(&current.function).ok_or_else(|| {
                ApiError::not_found(format!("Function not found: {}", current.function_arn))
            })?;
            Some(parse_destination(
                cloud,
                &current.function,
                &function.role,
                config,
            )?)
        }
        None => None,
    };
    let now = cloud.clock.now_millis();
    let mut updated = None;
    let mut in_transition = false;
    cloud.mappings.update(uuid, |mapping| {
        // A mapping between two states (its poller has not yet taken up the
        // last change) cannot be updated, as on AWS.
        if !matches!(mapping.state.as_str(), "Enabled" | "Disabled") {
            in_transition = true;
            return;
        }
        if let Some(size) = batch_size {
            mapping.batch_size = size;
        }
        if let Some(retries) = retries {
            mapping.maximum_retry_attempts = retries;
        }
        if let Some(age) = record_age {
            mapping.maximum_record_age_seconds = age;
        }
        if let Some(report) = report {
            mapping.report_batch_item_failures = report;
        }
        if let Some(filters) = filters {
            mapping.filters = filters;
        }
        if let Some(factor) = factor {
            mapping.parallelization_factor = factor;
        }
        if let Some(window) = window {
            mapping.maximum_batching_window_seconds = window;
        }
        if let Some(destination) = destination {
            mapping.on_failure_destination = destination;
        }
        if let Some(bisect) = input.bisect_batch_on_function_error {
            mapping.bisect_batch_on_function_error = bisect;
        }
        if let Some(enabled) = input.enabled
            && enabled != mapping.enabled
        {
            mapping.enabled = enabled;
            mapping.state = if enabled { "Enabling" } else { "Disabling" }.to_owned();
            mapping.state_transition_reason = "User action".to_owned();
        }
        mapping.last_modified_millis = now;
        updated = Some(mapping_json(mapping));
    });
    if in_transition {
        return Err(ApiError::new(
            ErrorCode::ResourceInUseException,
            "Cannot update the event source mapping because it is in use.",
        ));
    }
    let body = updated.ok_or_else(|| not_found(uuid))?;
    Ok(json_reply(202, body.to_string()))
}

/// ListEventSourceMappings of the caller's account and region, of one
/// function (or version or alias) and/or event source, by UUID, with
/// `MaxItems` (1 to 10,000, but at most 100 a page) and `Marker` paging.
fn list(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    authorize(
        cloud,
        caller,
        &plain_access("lambda:ListEventSourceMappings", "*", caller.account()),
    )?;
    // At most 100 a call, whatever MaxItems asks for, as Lambda answers.
    let page = Page::from_query(query, 100, 10_000)?.at_most(100);
    let parameter = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    // A qualified name (`NAME:ALIAS`, `NAME:3`) lists that alias's or
    // version's mappings; an unqualified one every mapping of the function.
    let function = parameter("FunctionName")
        .map(|name| resolve_qualified(caller, region, name, None))
        .transpose()?;
    let same_target = |mapping: &Mapping, qualifier: &Option<String>| {
        qualifier.is_none() || same_qualifier(mapping.qualifier.as_deref(), qualifier.as_deref())
    };
    let source = parameter("EventSourceArn");
    let mappings = lock(&cloud.mappings.mappings);
    // By UUID, which is also the marker.
    let (listed, next_marker) = page.take(
        mappings
            .iter()
            .filter(|(_, m)| m.function.account == caller.account() && m.function.region == region)
            .filter(|(_, m)| {
                function.as_ref().is_none_or(|(key, _, qualifier)| {
                    &m.function == key && same_target(m, qualifier)
                })
            })
            .filter(|(_, m)| source.is_none_or(|arn| m.event_source_arn == arn)),
    );
    let listed: Vec<Value> = listed.into_iter().map(mapping_json).collect();
    let mut body = json!({ "EventSourceMappings": listed });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}
