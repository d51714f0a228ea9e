//! Asynchronous invocation: the settings (PutFunctionEventInvokeConfig,
//! GetFunctionEventInvokeConfig, UpdateFunctionEventInvokeConfig,
//! DeleteFunctionEventInvokeConfig and ListFunctionEventInvokeConfigs, under
//! `/2019-09-25/functions/F/event-invoke-config`), kept per function and
//! qualifier in [`EventInvokeConfigRegistry`], and [`run_event`], which
//! runs one `Event` invocation under them.
//!
//! What is applied to `Event` invocations: `MaximumRetryAttempts` (0 to 2;
//! 2 when not set) limits the retries of a failed invocation (a minute,
//! then two minutes later, on the resource clock); an event older than
//! `MaximumEventAgeInSeconds` (60 to 21,600; six hours when not set) is
//! dropped instead of tried; an invocation throttled by the function's
//! reserved concurrency waits for a free slot (not counted as a retry) as
//! long as the event is young enough, except that a function reserved at 0
//! takes no event: it goes to the on-failure destination unrun, as
//! `RetriesExhausted`, without retries, as Lambda documents. When the event
//! fails for good (`RetriesExhausted`, `EventAgeExceeded`) its invocation
//! record goes to an `OnFailure` SQS queue, and after a success to an
//! `OnSuccess` SQS queue, sent as the execution role, in the shape Lambda
//! sends. Lambda, SNS, EventBridge and (on failure only) S3 destinations
//! are checked and stored but nothing is sent to them. A destination given
//! as `""` names none: UpdateFunctionEventInvokeConfig removes one that
//! way. A Put or Update setting nothing, and destinations off the model's
//! pattern or of another kind, are refused with Lambda's errors. The
//! settings of the qualifier as invoked apply (an alias's own, or
//! `$LATEST`'s for an unqualified call).
//!
//! Every event queued or running is held in [`EventQueue`], by function
//! and qualifier as invoked: deleting the function drops all of its
//! events, deleting a version or alias the events invoked through it. A
//! dropped event is tried no more and sends no invocation record (a try
//! already running ends first), since the code and settings it was
//! queued for are gone.

use super::functions::{FunctionKey, called_arn, plain_access, resolve_qualified};
use super::json_reply;
use super::paging::Page;
use super::versions::QualifiedFunction;
use crate::authorize::authorize;
use crate::clock;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The most retries of a failed asynchronous invocation (and the default).
pub const MAX_RETRY_ATTEMPTS: u32 = 2;
/// The youngest `MaximumEventAgeInSeconds` allowed.
pub const MIN_EVENT_AGE_SECONDS: u32 = 60;
/// The oldest an event may get (and the default): six hours.
pub const MAX_EVENT_AGE_SECONDS: u32 = 21_600;
/// When the first try and each retry are due, counted from the first try:
/// Lambda waits a minute, then two more.
const TRIES_DUE_SECONDS: [u64; 3] = [0, 60, 180];
/// How often a waiting invocation looks at the resource clock and for a
/// free concurrency slot.
const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(50);

/// The asynchronous invocation settings of one function or qualifier.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventInvokeConfig {
    /// Retries of a failed invocation, 0..=2; `None`: Lambda's 2.
    pub maximum_retry_attempts: Option<u32>,
    /// Seconds an event may wait, 60..=21600; `None`: Lambda's six hours.
    pub maximum_event_age_seconds: Option<u32>,
    /// Where a success record goes.
    pub on_success: Option<String>,
    /// Where a failure record goes.
    pub on_failure: Option<String>,
    /// When it was last changed (ms since the epoch, resource clock).
    pub last_modified_millis: u64,
}

/// Every function's asynchronous invocation settings, by function and
/// qualifier (`$LATEST`, a version number or an alias name).
#[derive(Debug, Default)]
pub struct EventInvokeConfigRegistry {
    configs: Mutex<BTreeMap<(FunctionKey, String), EventInvokeConfig>>,
}

impl EventInvokeConfigRegistry {
    /// The settings of `key` as invoked with `qualifier`, if any.
    pub fn get(&self, key: &FunctionKey, qualifier: &str) -> Option<EventInvokeConfig> {
        lock(&self.configs)
            .get(&(key.clone(), qualifier.to_owned()))
            .cloned()
    }

    /// Forgets every setting of function `key` (it is deleted).
    pub fn forget(&self, key: &FunctionKey) {
        lock(&self.configs).retain(|(function, _), _| function != key);
    }

    /// Forgets the settings of one version or alias of `key` (it is
    /// deleted), so that an alias or version made again later under the
    /// same name starts without them, as on AWS.
    pub fn forget_qualifier(&self, key: &FunctionKey, qualifier: &str) {
        lock(&self.configs).remove(&(key.clone(), qualifier.to_owned()));
    }
}

/// One `Event` invocation in [`EventQueue`].
#[derive(Debug)]
struct QueuedEvent {
    function: FunctionKey,
    /// `$LATEST`, a version number or an alias name, as invoked.
    qualifier: String,
    dropped: Arc<AtomicBool>,
}

/// The `Event` invocations queued or running, so that deleting their
/// function, version or alias drops them.
#[derive(Debug, Default)]
pub struct EventQueue {
    events: Mutex<BTreeMap<u64, QueuedEvent>>,
    next_id: AtomicU64,
}

impl EventQueue {
    /// Queues an event of `function` invoked with `qualifier` (`$LATEST`,
    /// a version number or an alias name); it stays queued until the
    /// ticket is dropped.
    pub fn enqueue(cloud: &Arc<Cloud>, function: FunctionKey, qualifier: String) -> EventTicket {
        let queue = &cloud.event_queue;
        let id = queue.next_id.fetch_add(1, Ordering::Relaxed);
        let dropped = Arc::new(AtomicBool::new(false));
        lock(&queue.events).insert(
            id,
            QueuedEvent {
                function,
                qualifier,
                dropped: Arc::clone(&dropped),
            },
        );
        EventTicket {
            cloud: Arc::clone(cloud),
            id,
            dropped,
        }
    }

    /// Drops the events of `function` (deleted), or with `Some(qualifier)`
    /// those invoked with that version or alias (deleted).
    pub fn drop_events(&self, function: &FunctionKey, qualifier: Option<&str>) {
        for event in lock(&self.events).values() {
            if event.function == *function && qualifier.is_none_or(|only| event.qualifier == only) {
                event.dropped.store(true, Ordering::Relaxed);
            }
        }
    }

    /// How many events of `function` are queued or running.
    pub fn count(&self, function: &FunctionKey) -> usize {
        lock(&self.events)
            .values()
            .filter(|event| event.function == *function)
            .count()
    }
}

/// An event's place in [`EventQueue`], given up when dropped.
#[derive(Debug)]
pub struct EventTicket {
    cloud: Arc<Cloud>,
    id: u64,
    dropped: Arc<AtomicBool>,
}

impl EventTicket {
    /// Whether the event's function, version or alias was deleted.
    fn is_dropped(&self) -> bool {
        self.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for EventTicket {
    fn drop(&mut self) {
        lock(&self.cloud.event_queue.events).remove(&self.id);
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationInput {
    destination: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DestinationConfigInput {
    on_success: Option<DestinationInput>,
    on_failure: Option<DestinationInput>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ConfigInput {
    maximum_retry_attempts: Option<i64>,
    maximum_event_age_in_seconds: Option<i64>,
    destination_config: Option<DestinationConfigInput>,
}

fn validation(value: i64, member: &str, constraint: &str) -> ApiError {
    ApiError::constraint(
        value,
        member,
        &format!("Member must have value {constraint}"),
    )
}

fn check_retries(value: i64) -> Result<u32, ApiError> {
    match u32::try_from(value) {
        Ok(n) if n <= MAX_RETRY_ATTEMPTS => Ok(n),
        _ if value < 0 => Err(validation(
            value,
            "maximumRetryAttempts",
            "greater than or equal to 0",
        )),
        _ => Err(validation(
            value,
            "maximumRetryAttempts",
            "less than or equal to 2",
        )),
    }
}

fn check_event_age(value: i64) -> Result<u32, ApiError> {
    match u32::try_from(value) {
        Ok(n) if (MIN_EVENT_AGE_SECONDS..=MAX_EVENT_AGE_SECONDS).contains(&n) => Ok(n),
        _ if value < i64::from(MIN_EVENT_AGE_SECONDS) => Err(validation(
            value,
            "maximumEventAgeInSeconds",
            "greater than or equal to 60",
        )),
        _ => Err(validation(
            value,
            "maximumEventAgeInSeconds",
            "less than or equal to 21600",
        )),
    }
}

/// The kinds of destination asynchronous invocations accept, as the
/// service part of their ARN: an SQS queue, SNS topic, Lambda function or
/// EventBridge bus of a region and account, or an S3 bucket (whose ARN
/// names neither).
fn destination_service(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, service, region, account, resource] = parts.as_slice() else {
        return None;
    };
    let regional =
        !region.is_empty() && account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    let resource_fits = match *service {
        "sqs" | "sns" => regional && !resource.contains(':') && !resource.contains('/'),
        "lambda" => regional && resource.starts_with("function:"),
        "events" => regional && resource.starts_with("event-bus/"),
        "s3" => region.is_empty() && account.is_empty() && !resource.contains('/'),
        _ => false,
    };
    (partition.starts_with("aws") && !resource.is_empty() && resource_fits).then_some(*service)
}

/// Whether `arn` fits the model's `DestinationArn` pattern (an empty one
/// is handled before): `arn:PARTITION:SERVICE:[REGION]:[ACCOUNT]:RESOURCE`.
fn fits_destination_pattern(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, service, region, account, _] = parts.as_slice() else {
        return false;
    };
    let word = |text: &str| text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    partition.starts_with("aws")
        && word(partition)
        && !service.is_empty()
        && word(service)
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && (account.is_empty()
            || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())))
}

/// Checks the destinations given (an SQS queue, SNS topic, Lambda function
/// or EventBridge bus, or for failures only an S3 bucket), with Lambda's
/// errors: one off the model's pattern is a ValidationException, one of
/// another kind makes the whole configuration invalid, a function must be
/// another that exists, and the execution role must be allowed to send to
/// a queue.
fn check_destinations(
    cloud: &Cloud,
    function: &FunctionKey,
    role: &str,
    on_success: Option<&str>,
    on_failure: Option<&str>,
) -> Result<(), ApiError> {
    for (arn, member) in [(on_success, "onSuccess"), (on_failure, "onFailure")] {
        if let Some(arn) = arn.filter(|arn| !fits_destination_pattern(arn)) {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{arn}' at 'destinationConfig.{member}.destination' failed to satisfy constraint: Member must satisfy regular expression pattern: {DESTINATION_PATTERN}"
            )));
        }
    }
    let invalid =
        |message: String| ApiError::new(ErrorCode::InvalidParameterValueException, message);
    let success_kind = on_success.map(destination_service);
    let failure_kind = on_failure.map(destination_service);
    let unsupported =
        matches!(success_kind, Some(None | Some("s3"))) || matches!(failure_kind, Some(None));
    if unsupported {
        let part = |kind: &str, arn: Option<&str>| {
            arn.map_or_else(
                || "null".to_owned(),
                |arn| format!("{kind}(destination={arn})"),
            )
        };
        return Err(invalid(format!(
            "The provided destination config DestinationConfig(onSuccess={}, onFailure={}) is invalid.",
            part("OnSuccess", on_success),
            part("OnFailure", on_failure)
        )));
    }
    for arn in [on_success, on_failure].into_iter().flatten() {
        if destination_service(arn) == Some("lambda") {
            // A function destination must exist, and be another function.
            let parts: Vec<&str> = arn.split(':').collect();
            let named = match parts.as_slice() {
                [_, _, _, region, account, _, name, ..] => Some(FunctionKey {
                    account: (*account).to_owned(),
                    region: (*region).to_owned(),
                    name: (*name).to_owned(),
                }),
                _ => None,
            };
            match named {
                Some(named) if named == *function => {
                    return Err(invalid(
                        "You can't specify the function as a destination for itself.".to_owned(),
                    ));
                }
                Some(named) if cloud.functions.get(&named).is_some() => {}
                _ => return Err(invalid(format!("The destination ARN {arn} is invalid."))),
            }
        }
        if destination_service(arn) != Some("sqs") {
            continue;
        }
        let allowed = super::mappings::role_caller(cloud, function, role)
            .is_some_and(|caller| crate::sqs::may_send(cloud, &caller, arn));
        if !allowed {
            return Err(invalid(
                "The provided execution role does not have permissions to call SendMessage on SQS"
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// The model's pattern of a destination ARN, as validation errors quote it.
const DESTINATION_PATTERN: &str = "^$|arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)";

/// The function and qualifier a request names, authorized for `action`
/// and checked to exist; `(key, unqualified ARN, qualifier)`.
fn target(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    action: &str,
) -> Result<(FunctionKey, String, String, QualifiedFunction), ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    let called = called_arn(&arn, qualifier.as_deref());
    authorize(cloud, caller, &plain_access(action, &called, &key.account))?;
    let qualifier = qualifier.unwrap_or_else(|| "$LATEST".to_owned());
    let function = super::versions::qualified(cloud, &key, &arn, Some(&qualifier))?;
    Ok((key, arn, qualifier, function))
}

fn config_json(arn: &str, qualifier: &str, config: &EventInvokeConfig) -> Value {
    let mut body = json!({
        "LastModified": clock::epoch_seconds(config.last_modified_millis),
        "FunctionArn": format!("{arn}:{qualifier}"),
    });
    if let Some(object) = body.as_object_mut() {
        if let Some(n) = config.maximum_retry_attempts {
            object.insert("MaximumRetryAttempts".to_owned(), json!(n));
        }
        if let Some(n) = config.maximum_event_age_seconds {
            object.insert("MaximumEventAgeInSeconds".to_owned(), json!(n));
        }
        let destination = |arn: &Option<String>| match arn {
            Some(arn) => json!({ "Destination": arn }),
            None => json!({}),
        };
        object.insert(
            "DestinationConfig".to_owned(),
            json!({
                "OnSuccess": destination(&config.on_success),
                "OnFailure": destination(&config.on_failure),
            }),
        );
    }
    body
}

fn no_config(arn: &str, qualifier: &str) -> ApiError {
    ApiError::not_found(format!(
        "The function {arn}:{qualifier} doesn't have an EventInvokeConfig"
    ))
}

/// PutFunctionEventInvokeConfig (`replace`: every setting as given) or
/// UpdateFunctionEventInvokeConfig (only the settings given change; the
/// function must already have a configuration).
pub fn put(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    body: &[u8],
    replace: bool,
) -> Result<Reply, ApiError> {
    let input: ConfigInput = if body.is_empty() {
        ConfigInput::default()
    } else {
        parse_json_body(body)?
    };
    let retries = input
        .maximum_retry_attempts
        .map(check_retries)
        .transpose()?;
    let age = input
        .maximum_event_age_in_seconds
        .map(check_event_age)
        .transpose()?;
    if input.maximum_retry_attempts.is_none()
        && input.maximum_event_age_in_seconds.is_none()
        && input.destination_config.is_none()
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValueException,
            "You must specify at least one of error handling or destination setting.",
        ));
    }
    let action = if replace {
        "lambda:PutFunctionEventInvokeConfig"
    } else {
        "lambda:UpdateFunctionEventInvokeConfig"
    };
    let (key, arn, qualifier, function) = target(cloud, caller, region, given, qualifier, action)?;
    let destinations = input.destination_config.unwrap_or_default();
    // `None`: not given; `Some(None)`: given as "" (the model's pattern
    // allows it), which names no destination and so removes one.
    let given = |destination: Option<DestinationInput>| {
        destination
            .and_then(|d| d.destination)
            .map(|arn| Some(arn).filter(|arn| !arn.is_empty()))
    };
    let on_success = given(destinations.on_success);
    let on_failure = given(destinations.on_failure);
    check_destinations(
        cloud,
        &key,
        &function.function.role,
        on_success.clone().flatten().as_deref(),
        on_failure.clone().flatten().as_deref(),
    )?;
    let now = cloud.clock.now_millis();
    let mut configs = lock(&cloud.event_invoke_configs.configs);
    let slot = (key, qualifier.clone());
    let config = if replace {
        EventInvokeConfig {
            maximum_retry_attempts: retries,
            maximum_event_age_seconds: age,
            on_success: on_success.flatten(),
            on_failure: on_failure.flatten(),
            last_modified_millis: now,
        }
    } else {
        let mut config = configs
            .get(&slot)
            .cloned()
            .ok_or_else(|| no_config(&arn, &qualifier))?;
        if retries.is_some() {
            config.maximum_retry_attempts = retries;
        }
        if age.is_some() {
            config.maximum_event_age_seconds = age;
        }
        if let Some(on_success) = on_success {
            config.on_success = on_success;
        }
        if let Some(on_failure) = on_failure {
            config.on_failure = on_failure;
        }
        config.last_modified_millis = now;
        config
    };
    let body = config_json(&arn, &qualifier, &config);
    configs.insert(slot, config);
    Ok(json_reply(200, body.to_string()))
}

/// GetFunctionEventInvokeConfig.
pub fn get(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, arn, qualifier, _) = target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:GetFunctionEventInvokeConfig",
    )?;
    let config = cloud
        .event_invoke_configs
        .get(&key, &qualifier)
        .ok_or_else(|| no_config(&arn, &qualifier))?;
    Ok(json_reply(
        200,
        config_json(&arn, &qualifier, &config).to_string(),
    ))
}

/// DeleteFunctionEventInvokeConfig.
pub fn delete(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, arn, qualifier, _) = target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:DeleteFunctionEventInvokeConfig",
    )?;
    lock(&cloud.event_invoke_configs.configs)
        .remove(&(key, qualifier.clone()))
        .ok_or_else(|| no_config(&arn, &qualifier))?;
    Ok(json_reply(204, ""))
}

/// ListFunctionEventInvokeConfigs: every qualifier's settings of a
/// function, in qualifier order, with `MaxItems` (1..=50, default 50) and
/// `Marker` paging.
pub fn list(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let (key, arn, _, _) = target(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:ListFunctionEventInvokeConfigs",
    )?;
    let page = Page::from_query(query, 50, 50)?;
    let configs = lock(&cloud.event_invoke_configs.configs);
    let (listed, next_marker) = page.take(
        configs
            .iter()
            .filter(|((function, _), _)| *function == key)
            .map(|((_, qualifier), config)| (qualifier.as_str(), (qualifier, config))),
    );
    let page: Vec<Value> = listed
        .into_iter()
        .map(|(qualifier, config)| config_json(&arn, qualifier, config))
        .collect();
    let mut body = json!({ "FunctionEventInvokeConfigs": page });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}

/// Waits until the resource clock reaches `due_millis`, or the event is
/// dropped (then `false`).
async fn wait_on_resource_clock(cloud: &Cloud, ticket: &EventTicket, due_millis: u64) -> bool {
    while cloud.clock.now_millis() < due_millis {
        if ticket.is_dropped() {
            return false;
        }
        tokio::time::sleep(WAIT_STEP).await;
    }
    !ticket.is_dropped()
}

/// One `Event` invocation of `target` (the function `key` as invoked with
/// `qualifier`), run to its end under the settings of that qualifier:
/// tries, the event's age, throttling, destinations. Every try runs under
/// `request_id` (the id Invoke answered), which the invocation record
/// names too. The event leaves the queue with `ticket` when it ends, or
/// ends early once dropped. Returns how many times the function ran.
pub async fn run_event(
    cloud: Arc<Cloud>,
    ticket: EventTicket,
    key: FunctionKey,
    qualifier: String,
    target: QualifiedFunction,
    payload: Bytes,
    request_id: String,
) -> u32 {
    let config = cloud
        .event_invoke_configs
        .get(&key, &qualifier)
        .unwrap_or_default();
    let retries = config
        .maximum_retry_attempts
        .unwrap_or(MAX_RETRY_ATTEMPTS)
        .min(MAX_RETRY_ATTEMPTS);
    let max_age_millis = u64::from(
        config
            .maximum_event_age_seconds
            .unwrap_or(MAX_EVENT_AGE_SECONDS),
    ) * 1000;
    let received_millis = cloud.clock.now_millis();
    let too_old = |cloud: &Cloud| cloud.clock.now_millis() > received_millis + max_age_millis;
    let tries = TRIES_DUE_SECONDS
        .iter()
        .take(usize::try_from(retries).unwrap_or(0).saturating_add(1));
    let mut invocations = 0u32;
    let mut last_failure = None;
    for due_seconds in tries {
        if !wait_on_resource_clock(&cloud, &ticket, received_millis + due_seconds * 1000).await {
            return invocations;
        }
        // A throttled try waits for a slot; it is no retry.
        let slot = loop {
            if ticket.is_dropped() {
                break Err("dropped");
            }
            if too_old(&cloud) {
                break Err("EventAgeExceeded");
            }
            // Reserved at 0: the event goes to the on-failure destination
            // at once, without retries, as Lambda documents.
            if cloud.concurrency.reserved(&key) == Some(0) {
                break Err("RetriesExhausted");
            }
            match cloud.concurrency.try_start(&key) {
                Ok(slot) => break Ok(slot),
                Err(_) => tokio::time::sleep(WAIT_STEP).await,
            }
        };
        let slot = match slot {
            Ok(slot) => slot,
            Err("dropped") => return invocations,
            Err(condition) => {
                send_record(
                    &cloud,
                    &key,
                    &target,
                    &config.on_failure,
                    condition,
                    &request_id,
                    invocations,
                    &payload,
                    last_failure.as_ref(),
                );
                return invocations;
            }
        };
        invocations = invocations.saturating_add(1);
        let outcome = cloud
            .executor
            .invoke_as(
                &cloud,
                &key,
                &target,
                payload.clone(),
                None,
                request_id.clone(),
            )
            .await;
        drop(slot);
        if ticket.is_dropped() {
            return invocations;
        }
        match outcome {
            Ok(result) if result.function_error.is_none() => {
                send_record(
                    &cloud,
                    &key,
                    &target,
                    &config.on_success,
                    "Success",
                    &request_id,
                    invocations,
                    &payload,
                    Some(&result),
                );
                return invocations;
            }
            Ok(result) => last_failure = Some(result),
            Err(error) => {
                last_failure = Some(super::executor::InvocationResult {
                    payload: Bytes::from(
                        json!({ "errorType": "ServiceException", "errorMessage": error.to_string() })
                            .to_string(),
                    ),
                    function_error: Some("Unhandled"),
                    request_id: request_id.clone(),
                    log_tail: Vec::new(),
                });
            }
        }
    }
    send_record(
        &cloud,
        &key,
        &target,
        &config.on_failure,
        "RetriesExhausted",
        &request_id,
        invocations,
        &payload,
        last_failure.as_ref(),
    );
    invocations
}

/// Sends the invocation record of an event to `destination` when it is an
/// SQS queue, as the execution role (other kinds are stored, not served).
/// A queue that refuses it is noted in the function's log: Lambda drops
/// the record then too.
#[allow(clippy::too_many_arguments)]
fn send_record(
    cloud: &Cloud,
    key: &FunctionKey,
    target: &QualifiedFunction,
    destination: &Option<String>,
    condition: &str,
    request_id: &str,
    invocations: u32,
    payload: &Bytes,
    result: Option<&super::executor::InvocationResult>,
) {
    let Some(destination) = destination else {
        return;
    };
    if destination_service(destination) != Some("sqs") {
        return;
    }
    let parse = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    let mut record = json!({
        "version": "1.0",
        "timestamp": clock::iso8601_millis(cloud.clock.now_millis()),
        "requestContext": {
            "requestId": request_id,
            "functionArn": qualified_arn(target),
            "condition": condition,
            "approximateInvokeCount": invocations,
        },
        "requestPayload": parse(payload),
    });
    if let (Some(result), Some(object)) = (result, record.as_object_mut()) {
        let mut context = json!({ "statusCode": 200, "executedVersion": target.version });
        if let (Some(kind), Some(context)) = (result.function_error, context.as_object_mut()) {
            context.insert("functionError".to_owned(), json!(kind));
        }
        object.insert("responseContext".to_owned(), context);
        object.insert("responsePayload".to_owned(), parse(&result.payload));
    }
    let sent = super::mappings::role_caller(cloud, key, &target.function.role)
        .ok_or_else(|| format!("the execution role {} does not exist", target.function.role))
        .and_then(|caller| {
            crate::sqs::send_to_arn(cloud, &caller, destination, record.to_string())
                .map_err(|error| error.to_string())
        });
    if let Err(problem) = sent {
        cloud.executor.note(
            key,
            format!("the {condition} record could not be sent to {destination}: {problem}"),
        );
    }
}

/// The ARN Lambda names in an invocation record: qualified by the version
/// or alias invoked, `$LATEST` for an unqualified call.
fn qualified_arn(target: &QualifiedFunction) -> String {
    // `arn:aws:lambda:R:A:function:NAME` has six colons, a qualified one seven.
    if target.arn.matches(':').count() == 6 {
        format!("{}:$LATEST", target.arn)
    } else {
        target.arn.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_destinations_are_checked() {
        let outcome = |result: Result<u32, ApiError>| match result {
            Ok(n) => n.to_string(),
            Err(error) => error.to_string(),
        };
        let checked: Vec<String> = [-1, 0, 2, 3]
            .into_iter()
            .map(|n| outcome(check_retries(n)))
            .chain(
                [59, 60, 21_600, 21_601]
                    .into_iter()
                    .map(|n| outcome(check_event_age(n))),
            )
            .collect();
        expect_test::expect![[r#"
            ValidationException: 1 validation error detected: Value '-1' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value greater than or equal to 0
            0
            2
            ValidationException: 1 validation error detected: Value '3' at 'maximumRetryAttempts' failed to satisfy constraint: Member must have value less than or equal to 2
            ValidationException: 1 validation error detected: Value '59' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 60
            60
            21600
            ValidationException: 1 validation error detected: Value '21601' at 'maximumEventAgeInSeconds' failed to satisfy constraint: Member must have value less than or equal to 21600"#]]
        .assert_eq(&checked.join("\n"));
        let services: Vec<Option<&str>> = [
            "arn:aws:sqs:eu-west-1:111111111111:failures",
            "arn:aws:sns:eu-west-1:111111111111:topic",
            "arn:aws:lambda:eu-west-1:111111111111:function:next",
            "arn:aws:events:eu-west-1:111111111111:event-bus/default",
            "arn:aws:s3:::bucket",
            "arn:aws:s3:eu-west-1:111111111111:bucket",
            "arn:aws:sqs:eu-west-1:1111:failures",
            "arn:aws:lambda:eu-west-1:111111111111:layer:x",
            "not an arn",
        ]
        .into_iter()
        .map(destination_service)
        .collect();
        assert_eq!(
            services,
            [
                Some("sqs"),
                Some("sns"),
                Some("lambda"),
                Some("events"),
                Some("s3"),
                None,
                None,
                None,
                None
            ]
        );
    }
}
