//! `streamgate-test-function`: a Lambda function for the local cloud's own
//! tests, speaking the Runtime API with nothing but the standard library.
//! Zipped as `bootstrap`, it does what each event asks:
//!
//! - `{"action":"echo", ...}` answers the event itself;
//! - `{"action":"fail","message":M}` reports a function error `TestFailure`;
//! - `{"action":"sleep","millis":N}` waits N ms, then answers `{"slept":N}`;
//! - `{"action":"exit","code":N}` ends the process mid-invocation;
//! - `{"action":"env","names":[...]}` answers those environment variables;
//! - `{"action":"log","line":L}` writes L to stdout and stderr, answers `{}`;
//! - `{"action":"pid"}` answers `{"pid":N}`, telling instances apart;
//! - a function URL's event (payload format 2.0) whose body is
//!   `{"respond":R}` answers R; any other such event answers itself;
//! - a DynamoDB stream event (`Records`) answers a partial batch response
//!   listing the records whose new image has a `fail` attribute, fails the
//!   whole batch with a function error `PoisonRecord` when one has a `poison`
//!   attribute, and exits when one has an `exit` attribute; it prints
//!   `record EVENT PK` and `keys PK SK` (`SK` the number of a sort key `sk`)
//!   for each record it is given.
//!
//! With `TEST_FUNCTION_INIT_ERROR` set it reports an init error and exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};

/// A response of the Runtime API: status, headers (lowercase), body.
struct RuntimeResponse {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn call(api: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<RuntimeResponse> {
    let mut stream = TcpStream::connect(api)?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {api}\r\nContent-Length: {}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let mut headers = Vec::new();
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            let value = value.trim().to_owned();
            if name == "content-length" {
                length = value.parse::<usize>().ok();
            }
            headers.push((name, value));
        }
    }
    let mut body = Vec::new();
    match length {
        Some(length) => {
            body.resize(length, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok(RuntimeResponse { headers, body })
}

fn header<'a>(response: &'a RuntimeResponse, name: &str) -> Option<&'a str> {
    response
        .headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// What the function answers for one event.
enum Answer {
    Response(Value),
    Error(Value),
}

fn handle(event: &Value) -> Answer {
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        let asked = event
            .get("body")
            .and_then(Value::as_str)
            .and_then(|body| serde_json::from_str::<Value>(body).ok())
            .and_then(|body| body.get("respond").cloned());
        return Answer::Response(asked.unwrap_or_else(|| event.clone()));
    }
    if let Some(records) = event.get("Records").and_then(Value::as_array) {
        let mut failures = Vec::new();
        let mut poisoned = false;
        for record in records {
            let change = record.get("dynamodb");
            let image = change.and_then(|c| c.get("NewImage"));
            let sequence = change
                .and_then(|c| c.get("SequenceNumber"))
                .cloned()
                .unwrap_or(Value::Null);
            let name = record
                .get("eventName")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let key = change
                .and_then(|c| c.pointer("/Keys/pk/S"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            println!("record {name} {key}");
            let sort_key = change
                .and_then(|c| c.pointer("/Keys/sk/N"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            println!("keys {key} {sort_key}");
            if image.and_then(|i| i.get("exit")).is_some() {
                println!("exiting on record {sequence}");
                std::process::exit(3);
            }
            if image.and_then(|i| i.get("fail")).is_some() {
                failures.push(json!({ "itemIdentifier": sequence }));
            }
            poisoned |= image.and_then(|i| i.get("poison")).is_some();
        }
        if poisoned {
            return Answer::Error(json!({
                "errorMessage": "a poison record is in the batch",
                "errorType": "PoisonRecord",
            }));
        }
        return Answer::Response(json!({ "batchItemFailures": failures }));
    }
    match event.get("action").and_then(Value::as_str) {
        Some("fail") => Answer::Error(json!({
            "errorMessage": event.get("message").cloned().unwrap_or(Value::Null),
            "errorType": "TestFailure",
        })),
        Some("sleep") => {
            let millis = event.get("millis").and_then(Value::as_u64).unwrap_or(0);
            std::thread::sleep(Duration::from_millis(millis));
            Answer::Response(json!({ "slept": millis }))
        }
        Some("exit") => {
            let code = event.get("code").and_then(Value::as_i64).unwrap_or(1);
            println!("exiting with {code}");
            std::process::exit(i32::try_from(code).unwrap_or(1));
        }
        Some("env") => {
            let names = event.get("names").and_then(Value::as_array);
            let values: serde_json::Map<String, Value> = names
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(|name| {
                    let value = std::env::var(name).map_or(Value::Null, Value::String);
                    (name.to_owned(), value)
                })
                .collect();
            Answer::Response(Value::Object(values))
        }
        Some("large") => {
            let bytes = event.get("bytes").and_then(Value::as_u64).unwrap_or(0);
            let text = "x".repeat(usize::try_from(bytes).unwrap_or(0));
            Answer::Response(json!({ "data": text }))
        }
        Some("pid") => Answer::Response(json!({ "pid": std::process::id() })),
        Some("log") => {
            let line = event
                .get("line")
                .and_then(Value::as_str)
                .unwrap_or_default();
            println!("{line}");
            eprintln!("{line}");
            Answer::Response(json!({}))
        }
        _ => Answer::Response(event.clone()),
    }
}

fn main() -> anyhow::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")?;
    if let Ok(message) = std::env::var("TEST_FUNCTION_INIT_ERROR") {
        let error = json!({ "errorMessage": message, "errorType": "TestInitFailure" });
        call(
            &api,
            "POST",
            "/2018-06-01/runtime/init/error",
            error.to_string().as_bytes(),
        )?;
        std::process::exit(1);
    }
    if let Some(millis) = std::env::var("TEST_FUNCTION_INIT_SLEEP_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        std::thread::sleep(std::time::Duration::from_millis(millis));
    }
    loop {
        let next = call(&api, "GET", "/2018-06-01/runtime/invocation/next", b"")?;
        let request_id = header(&next, "lambda-runtime-aws-request-id")
            .unwrap_or_default()
            .to_owned();
        println!("handling {request_id}");
        let event: Value = serde_json::from_slice(&next.body)?;
        let answer = if event.get("action").and_then(Value::as_str) == Some("context") {
            // The invocation's context, as the Runtime API gave it.
            let names = [
                "lambda-runtime-aws-request-id",
                "lambda-runtime-invoked-function-arn",
                "lambda-runtime-deadline-ms",
                "lambda-runtime-trace-id",
                "lambda-runtime-client-context",
                "lambda-runtime-cognito-identity",
            ];
            let headers: serde_json::Map<String, Value> = names
                .iter()
                .map(|name| {
                    let value = header(&next, name).map_or(Value::Null, |v| json!(v));
                    ((*name).to_owned(), value)
                })
                .collect();
            Answer::Response(Value::Object(headers))
        } else {
            handle(&event)
        };
        let (path, body) = match answer {
            Answer::Response(value) => (
                format!("/2018-06-01/runtime/invocation/{request_id}/response"),
                value,
            ),
            Answer::Error(value) => (
                format!("/2018-06-01/runtime/invocation/{request_id}/error"),
                value,
            ),
        };
        call(&api, "POST", &path, body.to_string().as_bytes())?;
    }
}
