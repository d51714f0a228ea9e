//! Function URLs (restJson1 under `/2021-10-31/`): CreateFunctionUrlConfig,
//! GetFunctionUrlConfig, UpdateFunctionUrlConfig, DeleteFunctionUrlConfig
//! (`.../functions/NAME/url`) and ListFunctionUrlConfigs (`.../urls`), one
//! configuration per function and per alias (`Qualifier` names an alias,
//! or `$LATEST` for the function itself, never a version, as the model's
//! pattern says), gone with its function or alias.
//!
//! `FunctionUrl` is `http://URL-ID.lambda-url.REGION.localhost:PORT/` once
//! the server knows its endpoint (AWS's form is
//! `https://URL-ID.lambda-url.REGION.on.aws/`; `*.localhost` resolves to the
//! loopback address by itself), the URL id 32 characters of `[a-z0-9]`.
//! `CreationTime` and `LastModifiedTime` are ISO 8601 with microseconds
//! (`2024-01-31T12:00:00.000000Z`), as Lambda writes them; CreateFunctionUrlConfig
//! answers no `LastModifiedTime`. `Cors` is checked against the model's
//! limits (and applied when the URL is served, see [`super::url_cors`]); `InvokeMode` (`BUFFERED` by default, or `RESPONSE_STREAM`) is
//! stored as given.

use super::functions::{FunctionKey, called_arn, resolve_qualified};
use super::json_reply;
use super::paging::Page;
use super::permissions::{authorize_called, authorize_on_function};
use crate::clock;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The path prefix of Lambda's function URL operations.
pub const API_PREFIX: &str = "/2021-10-31/";

/// A function URL's configuration.
#[derive(Debug, Clone)]
pub struct UrlConfig {
    /// The 32-character id the URL's host starts with.
    pub url_id: String,
    /// `NONE` or `AWS_IAM`.
    pub auth_type: String,
    /// The `Cors` object as given (validated), if any.
    pub cors: Option<Value>,
    /// `BUFFERED` or `RESPONSE_STREAM`.
    pub invoke_mode: String,
    /// When it was created (ms since the epoch, resource clock).
    pub created_millis: u64,
    /// When it was last changed.
    pub modified_millis: u64,
}

/// The URL `config` of a function in `region` is reached at.
pub fn function_url(cloud: &Cloud, region: &str, config: &UrlConfig) -> String {
    let id = &config.url_id;
    match cloud
        .executor
        .endpoint()
        .and_then(|endpoint| endpoint.rsplit_once(':'))
        .and_then(|(_, port)| port.trim_end_matches('/').parse::<u16>().ok())
    {
        Some(port) => format!("http://{id}.lambda-url.{region}.localhost:{port}/"),
        None => format!("https://{id}.lambda-url.{region}.on.aws/"),
    }
}

/// Lambda's function URL times: ISO 8601 with microseconds.
fn url_time(millis: u64) -> String {
    format!("{}000Z", clock::stream_label(millis))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UrlConfigInput {
    auth_type: Option<String>,
    cors: Option<Value>,
    invoke_mode: Option<String>,
}

fn check_auth_type(auth_type: &str) -> Result<(), ApiError> {
    if matches!(auth_type, "NONE" | "AWS_IAM") {
        Ok(())
    } else {
        Err(ApiError::constraint(
            auth_type,
            "authType",
            "Member must satisfy enum value set: [NONE, AWS_IAM]",
        ))
    }
}

fn check_invoke_mode(mode: &str) -> Result<(), ApiError> {
    if matches!(mode, "BUFFERED" | "RESPONSE_STREAM") {
        Ok(())
    } else {
        Err(ApiError::constraint(
            mode,
            "invokeMode",
            "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]",
        ))
    }
}

/// Checks a `Cors` object against the model: string lists of at most
/// `max_items` members of at most `max_len` characters (origins at least
/// one), `AllowCredentials` a boolean, `MaxAge` 0 to 86,400. Gives it back
/// without the members that were null.
fn check_cors(cors: &Value) -> Result<Value, ApiError> {
    let Value::Object(members) = cors else {
        return Err(ApiError::serialization("Cors must be an object"));
    };
    let mut checked = Map::new();
    for (name, value) in members {
        if value.is_null() {
            continue;
        }
        let limits = match name.as_str() {
            "AllowHeaders" => Some(("cors.allowHeaders", 100, 0, 1024)),
            "ExposeHeaders" => Some(("cors.exposeHeaders", 100, 0, 1024)),
            "AllowMethods" => Some(("cors.allowMethods", 6, 0, 6)),
            "AllowOrigins" => Some(("cors.allowOrigins", 100, 1, 253)),
            _ => None,
        };
        if let Some((member, max_items, min_len, max_len)) = limits {
            let Some(items) = value.as_array() else {
                return Err(ApiError::serialization(format!(
                    "Cors.{name} must be a list of strings"
                )));
            };
            if items.len() > max_items {
                return Err(ApiError::constraint(
                    value,
                    member,
                    &format!("Member must have length less than or equal to {max_items}"),
                ));
            }
            for item in items {
                let Some(text) = item.as_str() else {
                    return Err(ApiError::serialization(format!(
                        "Cors.{name} must be a list of strings"
                    )));
                };
                let length = text.chars().count();
                if length < min_len || length > max_len {
                    return Err(ApiError::constraint(
                        text,
                        &format!("{member}.member"),
                        &format!("Member must have length between {min_len} and {max_len}"),
                    ));
                }
            }
        } else {
            match (name.as_str(), value) {
                ("AllowCredentials", Value::Bool(_)) => {}
                ("MaxAge", Value::Number(number)) => {
                    let seconds = number.as_i64().unwrap_or(-1);
                    if !(0..=86_400).contains(&seconds) {
                        return Err(ApiError::constraint(
                            number,
                            "cors.maxAge",
                            "Member must have value between 0 and 86400",
                        ));
                    }
                }
                ("AllowCredentials" | "MaxAge", _) => {
                    return Err(ApiError::serialization(format!(
                        "Cors.{name} has the wrong type"
                    )));
                }
                _ => {
                    return Err(ApiError::serialization(format!(
                        "Cors has no member {name}"
                    )));
                }
            }
        }
        checked.insert(name.clone(), value.clone());
    }
    Ok(Value::Object(checked))
}

/// The function and alias a URL request names: the alias from the name
/// (`NAME:ALIAS`) or `Qualifier`, never a version number or `$LATEST`;
/// authorized as `action`, and checked to exist.
fn resolve_url_target(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    action: &str,
) -> Result<(FunctionKey, String, Option<String>), ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    // `$LATEST` is the unqualified function, whose URL it names.
    let qualifier = qualifier.filter(|q| q != "$LATEST");
    if let Some(q) = &qualifier {
        let valid = !q.is_empty()
            && q.len() <= 128
            && !q.bytes().all(|b| b.is_ascii_digit())
            && q.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ApiError::constraint(
                q,
                "qualifier",
                "Member must satisfy regular expression pattern: (^\\$LATEST$)|((?!^[0-9]+$)([a-zA-Z0-9-_]+))",
            ));
        }
    }
    let (called, _) = authorize_called(cloud, caller, &key, &arn, qualifier.as_deref(), action)?;
    Ok((key, called, qualifier))
}

fn config_json(
    cloud: &Cloud,
    region: &str,
    arn: &str,
    config: &UrlConfig,
    modified: bool,
) -> Value {
    let mut body = json!({
        "FunctionUrl": function_url(cloud, region, config),
        "FunctionArn": arn,
        "AuthType": config.auth_type,
        "CreationTime": url_time(config.created_millis),
        "InvokeMode": config.invoke_mode,
    });
    if let Some(object) = body.as_object_mut() {
        if let Some(cors) = &config.cors {
            object.insert("Cors".to_owned(), cors.clone());
        }
        if modified {
            object.insert(
                "LastModifiedTime".to_owned(),
                json!(url_time(config.modified_millis)),
            );
        }
    }
    body
}

fn not_found() -> ApiError {
    ApiError::not_found("The resource you requested does not exist.")
}

/// CreateFunctionUrlConfig.
pub fn create(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: UrlConfigInput = parse_json_body(body)?;
    let auth_type = input
        .auth_type
        .ok_or_else(|| ApiError::constraint("null", "authType", "Member must not be null"))?;
    check_auth_type(&auth_type)?;
    let invoke_mode = input.invoke_mode.unwrap_or_else(|| "BUFFERED".to_owned());
    check_invoke_mode(&invoke_mode)?;
    let cors = input.cors.as_ref().map(check_cors).transpose()?;
    let (key, arn, qualifier) = resolve_url_target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:CreateFunctionUrlConfig",
    )?;
    let now = cloud.clock.now_millis();
    let config = UrlConfig {
        url_id: cloud.unique_token("", 32, b"abcdefghijklmnopqrstuvwxyz0123456789"),
        auth_type,
        cors,
        invoke_mode,
        created_millis: now,
        modified_millis: now,
    };
    let mut urls = lock(&cloud.functions.urls);
    let slot = (key, qualifier);
    if urls.contains_key(&slot) {
        return Err(ApiError::new(
            ErrorCode::ResourceConflictException,
            format!(
                "Failed to create function url config for [functionArn = {arn}]. Error message:  FunctionUrlConfig exists for this Lambda function"
            ),
        ));
    }
    let body = config_json(cloud, region, &arn, &config, false);
    urls.insert(slot, config);
    Ok(json_reply(201, body.to_string()))
}

/// GetFunctionUrlConfig.
pub fn get(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, arn, qualifier) = resolve_url_target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:GetFunctionUrlConfig",
    )?;
    let urls = lock(&cloud.functions.urls);
    let config = urls.get(&(key, qualifier)).ok_or_else(not_found)?;
    Ok(json_reply(
        200,
        config_json(cloud, region, &arn, config, true).to_string(),
    ))
}

/// UpdateFunctionUrlConfig: what the request gives replaces what was
/// there (a whole `Cors` object at once), the rest stays.
pub fn update(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: UrlConfigInput = parse_json_body(body)?;
    if let Some(auth_type) = &input.auth_type {
        check_auth_type(auth_type)?;
    }
    if let Some(mode) = &input.invoke_mode {
        check_invoke_mode(mode)?;
    }
    let cors = input.cors.as_ref().map(check_cors).transpose()?;
    let (key, arn, qualifier) = resolve_url_target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:UpdateFunctionUrlConfig",
    )?;
    let now = cloud.clock.now_millis();
    let mut urls = lock(&cloud.functions.urls);
    let config = urls.get_mut(&(key, qualifier)).ok_or_else(not_found)?;
    if let Some(auth_type) = input.auth_type {
        config.auth_type = auth_type;
    }
    if let Some(mode) = input.invoke_mode {
        config.invoke_mode = mode;
    }
    if let Some(cors) = cors {
        config.cors = Some(cors);
    }
    config.modified_millis = now;
    Ok(json_reply(
        200,
        config_json(cloud, region, &arn, config, true).to_string(),
    ))
}

/// DeleteFunctionUrlConfig.
pub fn delete(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, _, qualifier) = resolve_url_target(
        cloud,
        caller,
        region,
        given,
        qualifier,
        "lambda:DeleteFunctionUrlConfig",
    )?;
    lock(&cloud.functions.urls)
        .remove(&(key, qualifier))
        .ok_or_else(not_found)?;
    Ok(json_reply(204, ""))
}

/// ListFunctionUrlConfigs: the function's URL, then its aliases', by
/// alias name, `MaxItems` (1 to 50) at a time after `Marker`.
pub fn list(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let page = Page::from_query(query, 50, 50)?;
    let (key, arn) = super::functions::resolve(caller, region, given, None)?;
    authorize_on_function(
        cloud,
        caller,
        &key,
        None,
        "lambda:ListFunctionUrlConfigs",
        &arn,
        &[],
    )?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    // The unqualified function's URL comes first, its position `$LATEST`
    // sorting before every alias name, then the aliases' by name.
    let urls = lock(&cloud.functions.urls);
    let (listed, next_marker) = page.take(
        urls.iter()
            .filter(|((function, _), _)| *function == key)
            .map(|((_, qualifier), config)| {
                let position = qualifier.clone().unwrap_or_else(|| "$LATEST".to_owned());
                (position, (qualifier, config))
            }),
    );
    let configs: Vec<Value> = listed
        .into_iter()
        .map(|(qualifier, config)| {
            let called = called_arn(&arn, qualifier.as_deref());
            config_json(cloud, region, &called, config, true)
        })
        .collect();
    let mut body = json!({ "FunctionUrlConfigs": configs });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}

/// Forgets the URL of `key` (all of them, or one alias's) when the
/// function or an alias is deleted.
pub(crate) fn forget(cloud: &Cloud, key: &FunctionKey, qualifier: Option<&str>) {
    lock(&cloud.functions.urls).retain(|(function, q), _| {
        function != key || qualifier.is_some_and(|only| q.as_deref() != Some(only))
    });
}
