//! STS (awsQuery, XML responses): GetCallerIdentity, and AssumeRole, which
//! evaluates the role's trust policy and hands out temporary credentials
//! with a session token and an expiry.

use crate::authorize::{AccessRequest, authorize_with_context};
use crate::clock;
use crate::documents::{self, PolicyKind};
use crate::error::{ApiError, ErrorCode};
use crate::identity::{Caller, Session};
use crate::state::{Cloud, ID_ALPHABET, SECRET_ALPHABET, lock};
use crate::wire::{Params, xml_escape};
use std::ops::RangeInclusive;

/// The length bounds of AssumeRole's `RoleSessionName`.
const SESSION_NAME_LENGTH: RangeInclusive<usize> = 2..=64;

/// The length bounds of AssumeRole's `ExternalId`.
const EXTERNAL_ID_LENGTH: RangeInclusive<usize> = 2..=1224;

/// A session's length when AssumeRole is given no `DurationSeconds`.
const DEFAULT_DURATION_SECONDS: u32 = 3600;

/// The longest session a role session may get by assuming a role (role
/// chaining), whatever the role's `MaxSessionDuration`.
const CHAINED_MAX_DURATION_SECONDS: u32 = 3600;

fn invalid(message: String) -> ApiError {
    ApiError::new(ErrorCode::ValidationError, message)
}

/// Handles one STS action by `caller`; returns the XML inside
/// `<{Action}Result>`.
pub fn handle(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<String, ApiError> {
    match action {
        "GetCallerIdentity" => Ok(format!(
            "<Arn>{}</Arn><UserId>{}</UserId><Account>{}</Account>",
            xml_escape(&caller.arn()),
            xml_escape(&caller.user_id()),
            caller.account()
        )),
        "AssumeRole" => assume_role(cloud, caller, params),
        other => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {other} for version 2011-06-15"),
        )),
    }
}

fn assume_role(cloud: &Cloud, caller: &Caller, params: &Params) -> Result<String, ApiError> {
    let role_arn = params.required("RoleArn")?;
    let session_name = params.required("RoleSessionName")?;
    check_member(
        "roleSessionName",
        session_name,
        SESSION_NAME_LENGTH,
        "_+=,.@-",
        "[\\w+=,.@-]*",
    )?;
    let duration = match params.get("DurationSeconds") {
        None => DEFAULT_DURATION_SECONDS,
        Some(text) => match text.parse::<u32>() {
            Ok(seconds @ 900..=43200) => seconds,
            // AWS names the bound that was crossed.
            Ok(seconds) if seconds > 43200 => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"
                )));
            }
            _ => {
                return Err(invalid(format!(
                    "1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"
                )));
            }
        },
    };
    let external_id = params.get("ExternalId");
    if let Some(id) = external_id {
        check_member(
            "externalId",
            id,
            EXTERNAL_ID_LENGTH,
            "_+=,.@:/-",
            "[\\w+=,.@:\\/-]*",
        )?;
    }
    let session_policy = params.get("Policy").map(str::to_owned);
    if let Some(policy) = &session_policy {
        documents::check(PolicyKind::Identity, policy)
            .map_err(|message| ApiError::new(ErrorCode::MalformedPolicyDocument, message))?;
    }
    let not_authorized = || {
        ApiError::new(
            ErrorCode::AccessDenied,
            format!(
                "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                caller.arn()
            ),
        )
    };
    // arn:aws:iam::ACCOUNT:role/PATH/NAME
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let [_, _, "iam", _, role_account, resource] = parts.as_slice() else {
        return Err(invalid(format!(
            "{role_arn} is invalid: the role ARN must be arn:aws:iam::ACCOUNT:role/NAME"
        )));
    };
    let Some(role_name) = resource
        .strip_prefix("role/")
        .map(|r| r.rsplit('/').next().unwrap_or(r))
    else {
        return Err(invalid(format!("{role_arn} is not a role ARN")));
    };
    let account = cloud.account(role_account).ok_or_else(not_authorized)?;
    let (role_id, role_arn_with_path, trust_policy, max_session) = {
        let iam = lock(&account.iam);
        // The ARN names the role with its path: the same name under another
        // path is another role, which does not exist.
        let role = iam
            .roles
            .get(role_name)
            .filter(|role| role.arn == role_arn)
            .ok_or_else(not_authorized)?;
        (
            role.id.clone(),
            role.arn.clone(),
            role.trust_policy.clone(),
            role.max_session_duration,
        )
    };
    // The trust policy may test the request's own keys: a third party's
    // external id, the session name.
    let mut context = vec![("sts:RoleSessionName", session_name)];
    if let Some(id) = external_id {
        context.push(("sts:ExternalId", id));
    }
    authorize_with_context(
        cloud,
        caller,
        &AccessRequest {
            action: "sts:AssumeRole",
            resource: role_arn,
            resource_account: role_account,
            resource_policy: Some(&trust_policy),
            resource_policy_required: true,
            encrypted_with_aws_managed_key: false,
        },
        &context,
    )
    .map_err(|_| not_authorized())?;
    // Role chaining: a role session assuming a role gets at most an hour,
    // whatever the role's MaxSessionDuration.
    if matches!(caller, Caller::AssumedRole { .. }) && duration > CHAINED_MAX_DURATION_SECONDS {
        return Err(invalid(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
                .to_owned(),
        ));
    }
    if duration > max_session {
        return Err(invalid(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    let access_key_id = cloud.unique_token("ASIA", 20, ID_ALPHABET);
    let secret_access_key = cloud.unique_token("", 40, SECRET_ALPHABET);
    let session_token = cloud.unique_token("IQoJb3JpZ2luX2VjE", 356, SECRET_ALPHABET);
    let expires_millis = cloud.clock.now_millis() + u64::from(duration) * 1000;
    let assumed = Caller::AssumedRole {
        account: role_account.to_string(),
        role_name: role_name.to_owned(),
        role_arn: role_arn_with_path,
        role_id: role_id.clone(),
        session_name: session_name.to_owned(),
        session_policy,
    };
    let xml = format!(
        "<Credentials><AccessKeyId>{access_key_id}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials><AssumedRoleUser><AssumedRoleId>{}</AssumedRoleId><Arn>{}</Arn></AssumedRoleUser>",
        xml_escape(&secret_access_key),
        xml_escape(&session_token),
        clock::iso8601(expires_millis),
        xml_escape(&assumed.user_id()),
        xml_escape(&assumed.arn())
    );
    cloud.add_session(
        access_key_id,
        Session {
            secret_access_key,
            session_token,
            caller: assumed,
            expires_millis,
        },
    );
    Ok(xml)
}

/// Checks one AssumeRole member against its length bounds and its pattern
/// (ASCII letters, digits and `allowed`, written `pattern` in the message),
/// naming every constraint it fails, as STS does.
fn check_member(
    member: &str,
    value: &str,
    length: RangeInclusive<usize>,
    allowed: &str,
    pattern: &str,
) -> Result<(), ApiError> {
    let mut failed = Vec::new();
    let count = value.chars().count();
    if count < *length.start() {
        failed.push(format!(
            "Member must have length greater than or equal to {}",
            length.start()
        ));
    }
    if count > *length.end() {
        failed.push(format!(
            "Member must have length less than or equal to {}",
            length.end()
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || allowed.contains(c))
    {
        failed.push(format!(
            "Member must satisfy regular expression pattern: {pattern}"
        ));
    }
    if failed.is_empty() {
        return Ok(());
    }
    let count = failed.len();
    let plural = if count == 1 { "" } else { "s" };
    let details: Vec<String> = failed
        .iter()
        .map(|constraint| {
            format!("Value '{value}' at '{member}' failed to satisfy constraint: {constraint}")
        })
        .collect();
    Err(invalid(format!(
        "{count} validation error{plural} detected: {}",
        details.join("; ")
    )))
}

/// Issues temporary credentials of `role_name` in `account` to a service
/// (Lambda assuming an execution role): the trust policy is checked by the
/// caller, so this only mints the session. Returns the access key id and the
/// session.
pub(crate) fn issue_service_session(
    cloud: &Cloud,
    account: &str,
    role_name: &str,
    session_name: &str,
    duration_seconds: u32,
) -> Result<(String, Session), ApiError> {
    let not_found = || {
        ApiError::new(
            ErrorCode::NoSuchEntity,
            format!("The role with name {role_name} cannot be found."),
        )
    };
    let owner = cloud.account(account).ok_or_else(not_found)?;
    let (role_id, role_arn) = {
        let iam = lock(&owner.iam);
        let role = iam.roles.get(role_name).ok_or_else(not_found)?;
        (role.id.clone(), role.arn.clone())
    };
    let access_key_id = cloud.unique_token("ASIA", 20, ID_ALPHABET);
    let session = Session {
        secret_access_key: cloud.unique_token("", 40, SECRET_ALPHABET),
        session_token: cloud.unique_token("IQoJb3JpZ2luX2VjE", 356, SECRET_ALPHABET),
        caller: Caller::AssumedRole {
            account: account.to_owned(),
            role_name: role_name.to_owned(),
            role_arn,
            role_id,
            session_name: session_name.to_owned(),
            session_policy: None,
        },
        expires_millis: cloud.clock.now_millis() + u64::from(duration_seconds) * 1000,
    };
    cloud.add_session(access_key_id.clone(), session.clone());
    Ok((access_key_id, session))
}
