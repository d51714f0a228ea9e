//! Function versions and aliases: PublishVersion (a snapshot of `$LATEST`,
//! numbered from 1; publishing again with nothing changed gives the last
//! version back), ListVersionsByFunction (paged), CreateAlias, GetAlias,
//! ListAliases (paged), UpdateAlias (a new version or description, under the
//! `RevisionId` precondition) and DeleteAlias (routing configurations are
//! not implemented: a `RoutingConfig` is accepted and ignored, by CreateAlias
//! and UpdateAlias alike), and [`qualified`], which turns
//! a name with a qualifier (`$LATEST`, a version number or an alias, as
//! Invoke and event source mappings accept) into the function to run.

use super::functions::{Function, FunctionKey, configuration_json, resolve_authorized};
use super::json_reply;
use super::paging::Page;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::{Value, json};

/// A published version: the function as it was, and the `$LATEST`
/// revision it was taken from.
#[derive(Debug, Clone)]
pub struct PublishedVersion {
    /// The snapshot.
    pub function: Function,
    /// The revision of `$LATEST` it was published from.
    pub source_revision_id: String,
    /// The description given to PublishVersion.
    pub description: String,
}

/// An alias: a name for a version.
#[derive(Debug, Clone)]
pub struct Alias {
    /// `$LATEST` or a version number.
    pub function_version: String,
    /// The description.
    pub description: String,
    /// Changes with every update.
    pub revision_id: String,
}

/// The function a qualified name runs: the function, its qualified ARN
/// (as Lambda reports it) and the version that runs.
#[derive(Debug, Clone)]
pub struct QualifiedFunction {
    /// The function (a version's snapshot, or `$LATEST`).
    pub function: Function,
    /// `...:function:NAME`, `...:NAME:3` or `...:NAME:ALIAS`.
    pub arn: String,
    /// `$LATEST` or the version number.
    pub version: String,
}

/// The function `key` (whose unqualified ARN is `arn`) with `qualifier`.
pub fn qualified(
    cloud: &Cloud,
    key: &FunctionKey,
    arn: &str,
    qualifier: Option<&str>,
) -> Result<QualifiedFunction, ApiError> {
    let not_found = |what: &str| ApiError::not_found(format!("Function not found: {what}"));
    let version_of = |version: &str| -> Option<Function> {
        if version == "$LATEST" {
            return cloud.functions.get(key);
        }
        let index = version.parse::<usize>().ok()?.checked_sub(1)?;
        lock(&cloud.functions.versions)
            .get(key)
            .and_then(|versions| versions.get(index))
            .and_then(Option::as_ref)
            .map(|v| v.function.clone())
    };
    match qualifier {
        None | Some("$LATEST") => Ok(QualifiedFunction {
            function: cloud.functions.get(key).ok_or_else(|| not_found(arn))?,
            arn: arn.to_owned(),
            version: "$LATEST".to_owned(),
        }),
        Some(number) if number.bytes().all(|b| b.is_ascii_digit()) => {
            let qualified_arn = format!("{arn}:{number}");
            Ok(QualifiedFunction {
                function: version_of(number).ok_or_else(|| not_found(&qualified_arn))?,
                arn: qualified_arn,
                version: number.to_owned(),
            })
        }
        Some(alias) => {
            let qualified_arn = format!("{arn}:{alias}");
            let version = lock(&cloud.functions.aliases)
                .get(&(key.clone(), alias.to_owned()))
                .map(|a| a.function_version.clone())
                .ok_or_else(|| not_found(&qualified_arn))?;
            Ok(QualifiedFunction {
                function: version_of(&version).ok_or_else(|| not_found(&qualified_arn))?,
                arn: qualified_arn,
                version,
            })
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PublishInput {
    description: Option<String>,
    code_sha256: Option<String>,
    revision_id: Option<String>,
}

/// PublishVersion.
pub fn publish(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: PublishInput = if body.is_empty() {
        PublishInput::default()
    } else {
        parse_json_body(body)?
    };
    let (key, arn) =
        resolve_authorized(cloud, caller, region, given, None, "lambda:PublishVersion")?;
    let published = publish_latest(cloud, &key, &arn, input)?;
    Ok(json_reply(201, published.to_string()))
}

/// Publishes `$LATEST` of the function `key` (already authorized) as a new
/// version, or answers the last version when nothing changed since; its
/// configuration. PublishVersion and UpdateFunctionCode with `Publish`.
pub(crate) fn publish_latest(
    cloud: &Cloud,
    key: &FunctionKey,
    arn: &str,
    input: PublishInput,
) -> Result<Value, ApiError> {
    let latest = cloud
        .functions
        .get(key)
        .ok_or_else(|| ApiError::not_found(format!("Function not found: {arn}")))?;
    if let Some(sha) = &input.code_sha256
        && *sha != latest.code_sha256
    {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValueException,
            format!(
                "CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({}). Please try again with the CodeSHA256 in $LATEST.",
                latest.code_sha256
            ),
        ));
    }
    if let Some(revision) = &input.revision_id
        && *revision != latest.revision_id
    {
        return Err(super::functions::stale_revision());
    }
    let mut versions = lock(&cloud.functions.versions);
    let published = versions.entry(key.clone()).or_default();
    let number = match published.last() {
        // Nothing changed since the last version: that version again.
        Some(Some(last)) if last.source_revision_id == latest.revision_id => published.len(),
        _ => {
            let description = input
                .description
                .unwrap_or_else(|| latest.description.clone());
            let mut function = latest.clone();
            function.revision_id = super::executor::uuid(cloud);
            function.last_modified_millis = cloud.clock.now_millis();
            function.description.clone_from(&description);
            published.push(Some(PublishedVersion {
                function,
                source_revision_id: latest.revision_id.clone(),
                description,
            }));
            published.len()
        }
    };
    let version = published
        .get(number.saturating_sub(1))
        .and_then(Option::as_ref)
        .ok_or_else(|| ApiError::not_found(format!("Function not found: {arn}:{number}")))?;
    Ok(version_json(version, arn, number))
}

/// The `FunctionConfiguration` of a qualified function: a published
/// version reports its number and its qualified ARN (by alias when called
/// by alias), as GetFunctionConfiguration with a `Qualifier` does.
pub fn qualified_configuration_json(target: &QualifiedFunction) -> Value {
    let mut configuration = configuration_json(&target.function);
    if target.version != "$LATEST"
        && let Some(object) = configuration.as_object_mut()
    {
        object.insert("Version".to_owned(), json!(target.version));
        object.insert("FunctionArn".to_owned(), json!(target.arn));
    }
    configuration
}

/// DeleteFunction with a version number as qualifier: that version goes
/// (its number is never reused), unless an alias points to it.
pub(crate) fn delete_version(
    cloud: &Cloud,
    key: &FunctionKey,
    arn: &str,
    version: &str,
) -> Result<Reply, ApiError> {
    let qualified_arn = format!("{arn}:{version}");
    if !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValueException,
            format!(
                "Qualifier {version} of {arn} is not a version number: DeleteFunction deletes a version, an alias is deleted with DeleteAlias"
            ),
        ));
    }
    // Locked in the order `qualified` and CreateAlias never invert: aliases
    // are read and released before versions are locked.
    let referencing: Vec<String> = lock(&cloud.functions.aliases)
        .iter()
        .filter(|((function, _), alias)| function == key && alias.function_version == version)
        .map(|((_, name), _)| name.clone())
        .collect();
    if !referencing.is_empty() {
        return Err(ApiError::new(
            ErrorCode::ResourceConflictException,
            format!(
                "Unable to delete version because the following aliases reference it: [{}]",
                referencing.join(", ")
            ),
        ));
    }
    let not_found = || ApiError::not_found(format!("Function not found: {qualified_arn}"));
    let index = version
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .ok_or_else(not_found)?;
    let mut versions = lock(&cloud.functions.versions);
    let slot = versions
        .get_mut(key)
        .and_then(|published| published.get_mut(index))
        .filter(|slot| slot.is_some())
        .ok_or_else(not_found)?;
    *slot = None;
    drop(versions);
    super::permissions::forget(cloud, key, Some(version));
    cloud.event_invoke_configs.forget_qualifier(key, version);
    cloud.event_queue.drop_events(key, Some(version));
    Ok(json_reply(204, ""))
}

fn version_json(version: &PublishedVersion, arn: &str, number: usize) -> Value {
    let mut configuration = configuration_json(&version.function);
    if let Some(object) = configuration.as_object_mut() {
        object.insert("Version".to_owned(), json!(number.to_string()));
        object.insert("FunctionArn".to_owned(), json!(format!("{arn}:{number}")));
        object.insert("Description".to_owned(), json!(version.description));
    }
    configuration
}

/// The longest description of an alias, in characters (the model's).
const MAX_ALIAS_DESCRIPTION_CHARS: usize = 256;

/// Checks an alias's description against the model's length limit.
fn check_alias_description(description: Option<&str>) -> Result<(), ApiError> {
    match description {
        Some(text) if text.chars().count() > MAX_ALIAS_DESCRIPTION_CHARS => {
            Err(ApiError::validation(format!(
                "1 validation error detected: Value '{text}' at 'description' failed to satisfy constraint: Member must have length less than or equal to {MAX_ALIAS_DESCRIPTION_CHARS}"
            )))
        }
        _ => Ok(()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AliasInput {
    name: Option<String>,
    function_version: Option<String>,
    description: Option<String>,
}

fn alias_json(arn: &str, name: &str, alias: &Alias) -> Value {
    json!({
        "AliasArn": format!("{arn}:{name}"),
        "Name": name,
        "FunctionVersion": alias.function_version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    })
}

/// CreateAlias.
pub fn create_alias(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: AliasInput = parse_json_body(body)?;
    check_alias_description(input.description.as_deref())?;
    let (key, arn) = resolve_authorized(cloud, caller, region, given, None, "lambda:CreateAlias")?;
    let name = input.name.unwrap_or_default();
    let valid_name = !name.is_empty()
        && name.len() <= 128
        && !name.bytes().all(|b| b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid_name {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)"
        )));
    }
    let function_version = input.function_version.unwrap_or_default();
    // The version must exist.
    qualified(cloud, &key, &arn, Some(&function_version))?;
    let alias = Alias {
        function_version,
        description: input.description.unwrap_or_default(),
        revision_id: super::executor::uuid(cloud),
    };
    let mut aliases = lock(&cloud.functions.aliases);
    let slot = (key, name.clone());
    if aliases.contains_key(&slot) {
        return Err(ApiError::new(
            ErrorCode::ResourceConflictException,
            format!("Alias already exists: {arn}:{name}"),
        ));
    }
    let body = alias_json(&arn, &name, &alias).to_string();
    aliases.insert(slot, alias);
    Ok(json_reply(201, body))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateAliasInput {
    function_version: Option<String>,
    description: Option<String>,
    revision_id: Option<String>,
}

/// UpdateAlias: points alias `name` at another version and/or changes its
/// description; with `RevisionId`, only if that is still the alias's
/// revision. Every update gives the alias a new revision.
pub fn update_alias(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    name: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: UpdateAliasInput = parse_json_body(body)?;
    check_alias_description(input.description.as_deref())?;
    let (key, arn) = resolve_authorized(cloud, caller, region, given, None, "lambda:UpdateAlias")?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    // The new version must exist; checked before the aliases are locked,
    // as `qualified` locks them itself.
    if let Some(version) = &input.function_version {
        if !version.bytes().all(|b| b.is_ascii_digit()) && version != "$LATEST" {
            return Err(ApiError::validation(format!(
                "1 validation error detected: Value '{version}' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"
            )));
        }
        qualified(cloud, &key, &arn, Some(version))?;
    }
    let revision_id = super::executor::uuid(cloud);
    let mut aliases = lock(&cloud.functions.aliases);
    let alias = aliases
        .get_mut(&(key, name.to_owned()))
        .ok_or_else(|| ApiError::not_found(format!("Alias not found: {arn}:{name}")))?;
    if input
        .revision_id
        .as_ref()
        .is_some_and(|expected| *expected != alias.revision_id)
    {
        return Err(super::functions::stale_revision());
    }
    if let Some(version) = input.function_version {
        alias.function_version = version;
    }
    if let Some(description) = input.description {
        alias.description = description;
    }
    alias.revision_id = revision_id;
    Ok(json_reply(200, alias_json(&arn, name, alias).to_string()))
}

/// GetAlias.
pub fn get_alias(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let (key, arn) = resolve_authorized(cloud, caller, region, given, None, "lambda:GetAlias")?;
    let aliases = lock(&cloud.functions.aliases);
    let alias = aliases
        .get(&(key, name.to_owned()))
        .ok_or_else(|| ApiError::not_found(format!("Alias not found: {arn}:{name}")))?;
    Ok(json_reply(200, alias_json(&arn, name, alias).to_string()))
}

/// ListVersionsByFunction: `$LATEST`, then each version in order,
/// `MaxItems` (1 to 10,000, but at most 50 a page, as Lambda answers) at a
/// time after `Marker`.
pub fn list_versions(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let page = Page::from_query(query, 50, 10_000)?.at_most(50);
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:ListVersionsByFunction",
    )?;
    let latest = cloud
        .functions
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("Function not found: {arn}")))?;
    // Positions in listing order: `$LATEST` sorts before the zero-padded
    // version numbers, which sort as the numbers do.
    let mut all = vec![("$LATEST".to_owned(), configuration_json(&latest))];
    if let Some(versions) = lock(&cloud.functions.versions).get(&key) {
        all.extend(versions.iter().enumerate().filter_map(|(index, version)| {
            let number = index.saturating_add(1);
            version
                .as_ref()
                .map(|version| (format!("{number:010}"), version_json(version, &arn, number)))
        }));
    }
    let (listed, next_marker) = page.take(all);
    let mut body = json!({ "Versions": listed });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}

/// Whether `text` is a version number as the model's pattern has it.
fn is_version_number(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

/// ListAliases, by name, `MaxItems` (1 to 10,000, default 50) at a time
/// after `Marker`; with `FunctionVersion`, only the aliases of that
/// version.
pub fn list_aliases(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let page = Page::from_query(query, 50, 10_000)?;
    let version = query
        .iter()
        .find(|(name, _)| name == "FunctionVersion")
        .map(|(_, value)| value.as_str());
    if let Some(version) = version.filter(|v| *v != "$LATEST" && !is_version_number(v)) {
        return Err(ApiError::validation(format!(
            "1 validation error detected: Value '{version}' at 'functionVersion' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\$LATEST|[0-9]+)"
        )));
    }
    let (key, arn) = resolve_authorized(cloud, caller, region, given, None, "lambda:ListAliases")?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    let aliases = lock(&cloud.functions.aliases);
    let (listed, next_marker) = page.take(
        aliases
            .iter()
            .filter(|((function, _), alias)| {
                *function == key && version.is_none_or(|v| alias.function_version == v)
            })
            .map(|((_, name), alias)| (name.as_str(), (name, alias))),
    );
    let listed: Vec<Value> = listed
        .into_iter()
        .map(|(name, alias)| alias_json(&arn, name, alias))
        .collect();
    let mut body = json!({ "Aliases": listed });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}

/// DeleteAlias (deleting one that does not exist is fine, as on AWS).
pub fn delete_alias(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let (key, _) = resolve_authorized(cloud, caller, region, given, None, "lambda:DeleteAlias")?;
    lock(&cloud.functions.aliases).remove(&(key.clone(), name.to_owned()));
    super::permissions::forget(cloud, &key, Some(name));
    super::urls::forget(cloud, &key, Some(name));
    cloud.event_invoke_configs.forget_qualifier(&key, name);
    cloud.event_queue.drop_events(&key, Some(name));
    Ok(json_reply(204, ""))
}
