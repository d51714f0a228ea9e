//! A minimal SQS in the protocol the current aws-sdk-sqs speaks: awsJson1_0
//! with `X-Amz-Target: AmazonSQS.*`, errors as `__type` plus the
//! `x-amzn-query-error` header (`CODE;Sender`) from which the SDKs take the
//! error code. It exists as the on-failure destination of event source
//! mappings, and serves CreateQueue, GetQueueUrl, GetQueueAttributes,
//! SendMessage, ReceiveMessage, DeleteMessage and DeleteQueue; any other
//! operation answers `AWS.SimpleQueueService.UnsupportedOperation` naming
//! it.
//!
//! Queues are per account and region (`arn:aws:sqs:REGION:ACCOUNT:NAME`);
//! their URL is this cloud's endpoint followed by `/ACCOUNT/NAME`. Every
//! operation is authorized as `sqs:OPERATION` on the queue ARN through
//! [`crate::authorize`], with the queue's `Policy` attribute as its resource
//! policy, so another account needs both that policy and its own identity
//! policy. Messages honour `VisibilityTimeout` (queue attribute or
//! ReceiveMessage parameter), `DelaySeconds` and the resource clock; long
//! polling (`WaitTimeSeconds` above 0) is refused as not implemented.

pub mod md5;

use crate::authorize::{AccessRequest, authorize};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::Reply;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

/// The awsJson target prefix of SQS.
pub const TARGET_PREFIX: &str = "AmazonSQS.";

/// Where a queue lives.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct QueueKey {
    account: String,
    region: String,
    name: String,
}

#[derive(Debug)]
struct Message {
    id: String,
    body: String,
    body_md5: String,
    sent_millis: u64,
    visible_from_millis: u64,
    receive_count: u64,
    first_receive_millis: Option<u64>,
    receipt_handle: Option<String>,
}

#[derive(Debug)]
struct Queue {
    created_millis: u64,
    attributes: BTreeMap<String, String>,
    messages: VecDeque<Message>,
}

impl Queue {
    fn seconds_attribute(&self, name: &str, default: u64) -> u64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}

/// Every queue of the cloud.
#[derive(Debug, Default)]
pub struct QueueRegistry {
    queues: Mutex<BTreeMap<QueueKey, Queue>>,
}

/// An SQS failure: the code the SDKs match on and the JSON `__type`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SqsError {
    /// The awsQuery-compatible code (`AWS.SimpleQueueService.NonExistentQueue`).
    query_code: &'static str,
    /// The shape name in `__type`.
    shape: &'static str,
    status: u16,
    message: String,
}

fn sqs_error(query_code: &'static str, shape: &'static str, message: String) -> SqsError {
    SqsError {
        query_code,
        shape,
        status: 400,
        message,
    }
}

fn no_queue() -> SqsError {
    sqs_error(
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "The specified queue does not exist.".to_owned(),
    )
}

fn invalid_parameter(message: String) -> SqsError {
    sqs_error(
        "InvalidParameterValue",
        "InvalidParameterValueException",
        message,
    )
}

fn missing(name: &str) -> SqsError {
    sqs_error(
        "MissingParameter",
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

impl From<ApiError> for SqsError {
    fn from(error: ApiError) -> Self {
        match error.code {
            ErrorCode::AccessDeniedException | ErrorCode::AccessDenied => SqsError {
                query_code: "AccessDenied",
                shape: "AccessDeniedException",
                status: 403,
                message: error.message,
            },
            _ => invalid_parameter(error.message),
        }
    }
}

fn error_reply(error: &SqsError) -> Reply {
    let namespace = if error.shape == "AccessDeniedException" {
        "com.amazon.coral.service"
    } else {
        "com.amazonaws.sqs"
    };
    Reply {
        status: error.status,
        content_type: "application/x-amz-json-1.0",
        body: json!({ "__type": format!("{namespace}#{}", error.shape), "message": error.message })
            .to_string()
            .into(),
        headers: vec![("x-amzn-query-error", format!("{};Sender", error.query_code))],
    }
}

/// Answers one SQS request by `caller` in `region`; errors are rendered in
/// SQS's own shape.
pub fn handle(cloud: &Cloud, caller: &Caller, region: &str, operation: &str, body: &[u8]) -> Reply {
    match dispatch(cloud, caller, region, operation, body) {
        Ok(output) => Reply::json(output.to_string()),
        Err(error) => error_reply(&error),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SqsInput {
    queue_name: Option<String>,
    queue_url: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner_aws_account_id: Option<String>,
    attributes: Option<BTreeMap<String, String>>,
    attribute_names: Option<Vec<String>>,
    message_system_attribute_names: Option<Vec<String>>,
    message_body: Option<String>,
    delay_seconds: Option<u64>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<u64>,
    wait_time_seconds: Option<i64>,
    receipt_handle: Option<String>,
}

fn dispatch(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    operation: &str,
    body: &[u8],
) -> Result<Value, SqsError> {
    let input: SqsInput = if body.is_empty() {
        SqsInput::default()
    } else {
        serde_json::from_slice(body).map_err(|error| {
            sqs_error(
                "InvalidParameterValue",
                "InvalidParameterValueException",
                format!("the request body is not the JSON this operation takes: {error}"),
            )
        })?
    };
    match operation {
        "CreateQueue" => create_queue(cloud, caller, region, &input),
        "GetQueueUrl" => {
            let name = input
                .queue_name
                .clone()
                .ok_or_else(|| missing("QueueName"))?;
            let account = input
                .queue_owner_aws_account_id
                .clone()
                .unwrap_or_else(|| caller.account().to_owned());
            let key = QueueKey {
                account,
                region: region.to_owned(),
                name,
            };
            allow_on_queue(cloud, caller, "sqs:GetQueueUrl", &key)?;
            Ok(json!({ "QueueUrl": queue_url(cloud, &key) }))
        }
        "GetQueueAttributes" => get_queue_attributes(cloud, caller, region, &input),
        "SendMessage" => {
            let key = key_from_url(&input, region)?;
            allow_on_queue(cloud, caller, "sqs:SendMessage", &key)?;
            let body = input
                .message_body
                .clone()
                .ok_or_else(|| missing("MessageBody"))?;
            let (id, md5) = enqueue(cloud, &key, body, input.delay_seconds)?;
            Ok(json!({ "MessageId": id, "MD5OfMessageBody": md5 }))
        }
        "ReceiveMessage" => receive_message(cloud, caller, region, &input),
        "DeleteMessage" => {
            let key = key_from_url(&input, region)?;
            allow_on_queue(cloud, caller, "sqs:DeleteMessage", &key)?;
            let handle = input
                .receipt_handle
                .clone()
                .ok_or_else(|| missing("ReceiptHandle"))?;
            let mut queues = lock(&cloud.queues.queues);
            let queue = queues.get_mut(&key).ok_or_else(no_queue)?;
            let before = queue.messages.len();
            queue
                .messages
                .retain(|m| m.receipt_handle.as_deref() != Some(handle.as_str()));
            if queue.messages.len() == before {
                return Err(sqs_error(
                    "ReceiptHandleIsInvalid",
                    "ReceiptHandleIsInvalid",
                    format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
                ));
            }
            Ok(json!({}))
        }
        "DeleteQueue" => {
            let key = key_from_url(&input, region)?;
            allow_on_queue(cloud, caller, "sqs:DeleteQueue", &key)?;
            lock(&cloud.queues.queues).remove(&key);
            Ok(json!({}))
        }
        other => Err(sqs_error(
            "AWS.SimpleQueueService.UnsupportedOperation",
            "UnsupportedOperation",
            format!("streamgate-local does not implement the SQS operation {other} yet"),
        )),
    }
}

/// The queue ARN of `key`.
fn queue_arn(key: &QueueKey) -> String {
    format!("arn:aws:sqs:{}:{}:{}", key.region, key.account, key.name)
}

fn queue_url(cloud: &Cloud, key: &QueueKey) -> String {
    let base = cloud.executor.endpoint().map_or_else(
        || format!("https://sqs.{}.amazonaws.com", key.region),
        str::to_owned,
    );
    format!(
        "{}/{}/{}",
        base.trim_end_matches('/'),
        key.account,
        key.name
    )
}

/// The queue a `QueueUrl` names: its last two path segments are the
/// account and the name.
fn key_from_url(input: &SqsInput, region: &str) -> Result<QueueKey, SqsError> {
    let url = input
        .queue_url
        .as_deref()
        .ok_or_else(|| missing("QueueUrl"))?;
    let mut segments = url.trim_end_matches('/').rsplit('/');
    match (segments.next(), segments.next()) {
        (Some(name), Some(account))
            if !name.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit()) =>
        {
            Ok(QueueKey {
                account: account.to_owned(),
                region: region.to_owned(),
                name: name.to_owned(),
            })
        }
        _ => Err(sqs_error(
            "InvalidAddress",
            "InvalidAddress",
            format!("The address {url} is not valid for this endpoint."),
        )),
    }
}

/// The queue an ARN names, if it is an SQS queue ARN.
fn key_from_arn(arn: &str) -> Option<QueueKey> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    Some(QueueKey {
        account: account.to_owned(),
        region: region.to_owned(),
        name: name.to_owned(),
    })
}

/// The queue's `Policy`, or `QueueDoesNotExist`. (A queue of another
/// account that does not exist is reported as missing, as AWS does.)
fn queue_policy(cloud: &Cloud, key: &QueueKey) -> Result<Option<String>, SqsError> {
    let queues = lock(&cloud.queues.queues);
    let queue = queues.get(key).ok_or_else(no_queue)?;
    Ok(queue.attributes.get("Policy").cloned())
}

/// Lets `caller` do `action` on the existing queue `key`, under its own
/// policy (a queue that is not there is `no_queue`).
fn allow_on_queue(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    key: &QueueKey,
) -> Result<(), SqsError> {
    let policy = queue_policy(cloud, key)?;
    allow(cloud, caller, action, key, policy.as_deref())
}

fn allow(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    key: &QueueKey,
    policy: Option<&str>,
) -> Result<(), SqsError> {
    let arn = queue_arn(key);
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action,
            resource: &arn,
            resource_account: &key.account,
            resource_policy: policy,
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        },
    )
    .map_err(SqsError::from)
}

/// The attributes CreateQueue accepts, with their bounds in seconds (or
/// none for text).
const SETTABLE_ATTRIBUTES: [(&str, Option<(u64, u64)>); 5] = [
    ("VisibilityTimeout", Some((0, 43_200))),
    ("DelaySeconds", Some((0, 900))),
    ("MessageRetentionPeriod", Some((60, 1_209_600))),
    ("ReceiveMessageWaitTimeSeconds", Some((0, 20))),
    ("Policy", None),
];

fn create_queue(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: &SqsInput,
) -> Result<Value, SqsError> {
    let name = input
        .queue_name
        .clone()
        .ok_or_else(|| missing("QueueName"))?;
    let valid_name = !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(invalid_parameter(format!(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length: {name}"
        )));
    }
    let attributes = input.attributes.clone().unwrap_or_default();
    for (attribute, value) in &attributes {
        let Some((_, bounds)) = SETTABLE_ATTRIBUTES.iter().find(|(n, _)| n == attribute) else {
            return Err(sqs_error(
                "InvalidAttributeName",
                "InvalidAttributeName",
                format!("Unknown Attribute {attribute}."),
            ));
        };
        if let Some((low, high)) = bounds
            && !value
                .parse::<u64>()
                .is_ok_and(|v| (*low..=*high).contains(&v))
        {
            return Err(sqs_error(
                "InvalidAttributeValue",
                "InvalidAttributeValue",
                format!("Invalid value for the parameter {attribute}: {value}"),
            ));
        }
    }
    if let Some(policy) = attributes.get("Policy") {
        let document: Option<Value> = serde_json::from_str(policy).ok();
        if document
            .as_ref()
            .is_none_or(|d| d.get("Statement").is_none())
        {
            return Err(sqs_error(
                "InvalidAttributeValue",
                "InvalidAttributeValue",
                "Invalid value for the parameter Policy: not a JSON policy document with a Statement"
                    .to_owned(),
            ));
        }
    }
    let key = QueueKey {
        account: caller.account().to_owned(),
        region: region.to_owned(),
        name,
    };
    allow(cloud, caller, "sqs:CreateQueue", &key, None)?;
    let mut queues = lock(&cloud.queues.queues);
    if let Some(existing) = queues.get(&key) {
        // Creating an existing queue again is fine when nothing differs.
        if existing.attributes != attributes {
            return Err(sqs_error(
                "QueueAlreadyExists",
                "QueueNameExists",
                format!(
                    "A queue already exists with the same name and a different value for attribute(s) {}",
                    attributes.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    } else {
        queues.insert(
            key.clone(),
            Queue {
                created_millis: cloud.clock.now_millis(),
                attributes,
                messages: VecDeque::new(),
            },
        );
    }
    Ok(json!({ "QueueUrl": queue_url(cloud, &key) }))
}

fn get_queue_attributes(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: &SqsInput,
) -> Result<Value, SqsError> {
    let key = key_from_url(input, region)?;
    allow_on_queue(cloud, caller, "sqs:GetQueueAttributes", &key)?;
    let now = cloud.clock.now_millis();
    let queues = lock(&cloud.queues.queues);
    let queue = queues.get(&key).ok_or_else(no_queue)?;
    let mut all = Map::new();
    all.insert("QueueArn".to_owned(), Value::String(queue_arn(&key)));
    let seconds = |millis: u64| Value::String((millis / 1000).to_string());
    all.insert("CreatedTimestamp".to_owned(), seconds(queue.created_millis));
    all.insert(
        "LastModifiedTimestamp".to_owned(),
        seconds(queue.created_millis),
    );
    for (name, default) in [
        ("VisibilityTimeout", 30),
        ("DelaySeconds", 0),
        ("MessageRetentionPeriod", 345_600),
        ("ReceiveMessageWaitTimeSeconds", 0),
        ("MaximumMessageSize", 262_144),
    ] {
        all.insert(
            name.to_owned(),
            Value::String(queue.seconds_attribute(name, default).to_string()),
        );
    }
    if let Some(policy) = queue.attributes.get("Policy") {
        all.insert("Policy".to_owned(), Value::String(policy.clone()));
    }
    let visible = queue
        .messages
        .iter()
        .filter(|m| m.visible_from_millis <= now && m.receipt_handle.is_none())
        .count();
    let in_flight = queue
        .messages
        .iter()
        .filter(|m| m.receipt_handle.is_some() && m.visible_from_millis > now)
        .count();
    let delayed = queue
        .messages
        .iter()
        .filter(|m| m.receipt_handle.is_none() && m.visible_from_millis > now)
        .count();
    all.insert(
        "ApproximateNumberOfMessages".to_owned(),
        Value::String(
            (visible
                + queue
                    .messages
                    .iter()
                    .filter(|m| m.receipt_handle.is_some() && m.visible_from_millis <= now)
                    .count())
            .to_string(),
        ),
    );
    all.insert(
        "ApproximateNumberOfMessagesNotVisible".to_owned(),
        Value::String(in_flight.to_string()),
    );
    all.insert(
        "ApproximateNumberOfMessagesDelayed".to_owned(),
        Value::String(delayed.to_string()),
    );
    let names = input.attribute_names.clone().unwrap_or_default();
    let wanted: Map<String, Value> = if names.iter().any(|n| n == "All") {
        all
    } else {
        let mut chosen = Map::new();
        for name in names {
            match all.get(&name) {
                Some(value) => {
                    chosen.insert(name, value.clone());
                }
                None => {
                    return Err(sqs_error(
                        "InvalidAttributeName",
                        "InvalidAttributeName",
                        format!("Unknown Attribute {name}."),
                    ));
                }
            }
        }
        chosen
    };
    Ok(json!({ "Attributes": wanted }))
}

/// Appends a message; gives its id and body MD5.
fn enqueue(
    cloud: &Cloud,
    key: &QueueKey,
    body: String,
    delay_seconds: Option<u64>,
) -> Result<(String, String), SqsError> {
    if body.is_empty() || body.len() > 262_144 {
        return Err(invalid_parameter(format!(
            "The message body must be 1 to 262144 bytes long; this one is {} bytes",
            body.len()
        )));
    }
    if delay_seconds.is_some_and(|d| d > 900) {
        return Err(invalid_parameter(
            "Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900"
                .to_owned(),
        ));
    }
    let id = crate::lambda::executor::uuid(cloud);
    let md5 = md5::md5_hex(body.as_bytes());
    let now = cloud.clock.now_millis();
    let mut queues = lock(&cloud.queues.queues);
    let queue = queues.get_mut(key).ok_or_else(no_queue)?;
    let delay = delay_seconds.unwrap_or_else(|| queue.seconds_attribute("DelaySeconds", 0));
    queue.messages.push_back(Message {
        id: id.clone(),
        body,
        body_md5: md5.clone(),
        sent_millis: now,
        visible_from_millis: now + delay * 1000,
        receive_count: 0,
        first_receive_millis: None,
        receipt_handle: None,
    });
    Ok((id, md5))
}

fn receive_message(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    input: &SqsInput,
) -> Result<Value, SqsError> {
    let key = key_from_url(input, region)?;
    allow_on_queue(cloud, caller, "sqs:ReceiveMessage", &key)?;
    let most = input.max_number_of_messages.unwrap_or(1);
    let most = usize::try_from(most)
        .ok()
        .filter(|m| (1..=10).contains(m))
        .ok_or_else(|| {
            invalid_parameter(format!(
                "Value {most} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
            ))
        })?;
    if input.wait_time_seconds.is_some_and(|w| w > 0) {
        return Err(invalid_parameter(
            "streamgate-local does not implement long polling (WaitTimeSeconds above 0) yet"
                .to_owned(),
        ));
    }
    let names: Vec<&String> = input
        .attribute_names
        .iter()
        .chain(input.message_system_attribute_names.iter())
        .flatten()
        .collect();
    let wants = |name: &str| names.iter().any(|n| *n == "All" || *n == name);
    let now = cloud.clock.now_millis();
    let mut queues = lock(&cloud.queues.queues);
    let queue = queues.get_mut(&key).ok_or_else(no_queue)?;
    let visibility = input
        .visibility_timeout
        .unwrap_or_else(|| queue.seconds_attribute("VisibilityTimeout", 30));
    let mut received = Vec::new();
    for message in queue.messages.iter_mut() {
        if received.len() == most {
            break;
        }
        if message.visible_from_millis > now {
            continue;
        }
        let handle = cloud.unique_token(
            "AQEB",
            64,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        );
        message.receipt_handle = Some(handle.clone());
        message.receive_count += 1;
        message.visible_from_millis = now + visibility * 1000;
        let first = *message.first_receive_millis.get_or_insert(now);
        let mut attributes = Map::new();
        let mut add = |name: &str, value: String| {
            if wants(name) {
                attributes.insert(name.to_owned(), Value::String(value));
            }
        };
        add("SentTimestamp", message.sent_millis.to_string());
        add("ApproximateReceiveCount", message.receive_count.to_string());
        add("ApproximateFirstReceiveTimestamp", first.to_string());
        let mut shown = json!({
            "MessageId": message.id,
            "ReceiptHandle": handle,
            "MD5OfBody": message.body_md5,
            "Body": message.body,
        });
        if !attributes.is_empty()
            && let Some(object) = shown.as_object_mut()
        {
            object.insert("Attributes".to_owned(), Value::Object(attributes));
        }
        received.push(shown);
    }
    if received.is_empty() {
        Ok(json!({}))
    } else {
        Ok(json!({ "Messages": received }))
    }
}

/// Why a message for an on-failure destination was not sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DestinationError {
    /// The destination is not an SQS queue ARN.
    #[error("the destination {0} is not an SQS queue ARN")]
    NotAQueue(String),
    /// SQS refused it (the queue is gone, or the role may not send).
    #[error("{code}: {message}")]
    Refused {
        /// The SQS error code.
        code: String,
        /// Its message.
        message: String,
    },
}

/// Whether `arn` names an SQS queue (of any account, existing or not).
pub fn is_queue_arn(arn: &str) -> bool {
    key_from_arn(arn).is_some_and(|k| !k.name.is_empty() && !k.name.contains(':'))
}

/// Whether `caller` may send to the queue `arn`, judged by its identity
/// policies alone (as Lambda checks a mapping's execution role at
/// creation; the queue's own policy is met when a message is sent).
pub fn may_send(cloud: &Cloud, caller: &Caller, arn: &str) -> bool {
    let Some(key) = key_from_arn(arn) else {
        return false;
    };
    let resource = queue_arn(&key);
    // Judged as in the caller's own account, so that only its identity
    // policies decide.
    authorize(
        cloud,
        caller,
        &AccessRequest {
            action: "sqs:SendMessage",
            resource: &resource,
            resource_account: caller.account(),
            resource_policy: None,
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        },
    )
    .is_ok()
}

/// Sends `body` to the queue `arn` as `caller`, authorized as SendMessage
/// from that caller would be. Gives the message id.
pub fn send_to_arn(
    cloud: &Cloud,
    caller: &Caller,
    arn: &str,
    body: String,
) -> Result<String, DestinationError> {
    let key = key_from_arn(arn).ok_or_else(|| DestinationError::NotAQueue(arn.to_owned()))?;
    let refused = |error: SqsError| DestinationError::Refused {
        code: error.query_code.to_owned(),
        message: error.message,
    };
    allow_on_queue(cloud, caller, "sqs:SendMessage", &key).map_err(refused)?;
    enqueue(cloud, &key, body, None)
        .map(|(id, _)| id)
        .map_err(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(url: &str, expected: Expect) {
        let input = SqsInput {
            queue_url: Some(url.to_owned()),
            ..SqsInput::default()
        };
        let shown = match key_from_url(&input, "eu-west-1") {
            Ok(key) => queue_arn(&key),
            Err(error) => format!("{}: {}", error.query_code, error.message),
        };
        expected.assert_eq(&shown);
    }

    #[test]
    fn queue_urls_name_the_account_and_queue() {
        check(
            "http://127.0.0.1:4577/111111111111/failures",
            expect!["arn:aws:sqs:eu-west-1:111111111111:failures"],
        );
        check(
            "https://sqs.eu-west-1.amazonaws.com/222222222222/q/",
            expect!["arn:aws:sqs:eu-west-1:222222222222:q"],
        );
        check(
            "http://127.0.0.1:4577/failures",
            expect![
                "InvalidAddress: The address http://127.0.0.1:4577/failures is not valid for this endpoint."
            ],
        );
    }

    #[test]
    fn errors_carry_the_code_the_sdks_match_on() {
        let reply = error_reply(&no_queue());
        expect![[r#"400 [("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")] {"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#]]
            .assert_eq(&format!(
                "{} {:?} {}",
                reply.status,
                reply.headers,
                String::from_utf8_lossy(&reply.body)
            ));
    }

    #[test]
    fn only_sqs_arns_are_queues() {
        assert!(is_queue_arn("arn:aws:sqs:eu-west-1:111111111111:failures"));
        assert!(!is_queue_arn("arn:aws:sns:eu-west-1:111111111111:topic"));
        assert!(!is_queue_arn("arn:aws:sqs:eu-west-1:111111111111"));
    }
}
