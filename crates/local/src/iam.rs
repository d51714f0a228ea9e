//! IAM (awsQuery, XML responses): roles with trust policies, inline role
//! policies, customer managed policies, and the AWS managed policies this
//! system attaches, with their real documents.
//!
//! IAM is global: one [`IamState`] per account, whatever the region.

use crate::authorize::{AccessRequest, authorize};
use crate::clock;
use crate::documents::{self, PolicyKind};
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, ID_ALPHABET, lock};
use crate::wire::{Params, percent_encode, xml_escape};
use std::collections::{BTreeMap, BTreeSet};

/// A role.
#[derive(Debug, Clone)]
pub struct Role {
    /// Its name.
    pub name: String,
    /// Its path, `/` by default.
    pub path: String,
    /// Its unique id, `AROA...`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// When it was created (ms since the epoch).
    pub created_millis: u64,
    /// The trust policy, as given.
    pub trust_policy: String,
    /// The description, if any.
    pub description: Option<String>,
    /// The longest session AssumeRole may grant, in seconds.
    pub max_session_duration: u32,
    /// Inline policies by name, documents as given.
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of the attached managed policies.
    pub attached_policies: BTreeSet<String>,
}

/// A customer managed policy (one version, `v1`).
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    /// Its name.
    pub name: String,
    /// Its path.
    pub path: String,
    /// Its unique id, `ANPA...`.
    pub id: String,
    /// Its ARN.
    pub arn: String,
    /// The document, as given.
    pub document: String,
    /// The description, if any.
    pub description: Option<String>,
    /// When it was created (ms since the epoch).
    pub created_millis: u64,
}

/// The IAM state of one account.
#[derive(Debug, Default)]
pub struct IamState {
    /// Roles by name.
    pub roles: BTreeMap<String, Role>,
    /// Customer managed policies by ARN.
    pub policies: BTreeMap<String, ManagedPolicy>,
}

/// An AWS managed policy: name, path, id and its real document.
#[derive(Debug, Clone, Copy)]
pub struct AwsManagedPolicy {
    /// Its name.
    pub name: &'static str,
    /// Its path.
    pub path: &'static str,
    /// Its policy id.
    pub id: &'static str,
    /// Its default version's document.
    pub document: &'static str,
}

impl AwsManagedPolicy {
    /// Its ARN (`arn:aws:iam::aws:policy/...`).
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::aws:policy{}{}", self.path, self.name)
    }
}

/// The AWS managed policies this system uses.
pub const AWS_MANAGED_POLICIES: [AwsManagedPolicy; 2] = [
    AwsManagedPolicy {
        name: "AWSLambdaBasicExecutionRole",
        path: "/service-role/",
        id: "ANPAJNCQGXC42545SKXIK",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
    },
    AwsManagedPolicy {
        name: "AWSLambdaDynamoDBExecutionRole",
        path: "/service-role/",
        id: "ANPAIP7WNAGMIPYNW4WQG",
        document: r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator","dynamodb:ListStreams","logs:CreateLogGroup","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#,
    },
];

/// The AWS managed policy with this ARN.
pub fn aws_managed_policy(arn: &str) -> Option<AwsManagedPolicy> {
    AWS_MANAGED_POLICIES
        .iter()
        .copied()
        .find(|p| p.arn() == arn)
}

/// The documents of a role's identity policies (inline, then attached), for
/// the evaluator.
pub fn identity_policy_documents(iam: &IamState, role: &Role) -> Vec<String> {
    let mut documents: Vec<String> = role.inline_policies.values().cloned().collect();
    for arn in &role.attached_policies {
        if let Some(policy) = iam.policies.get(arn) {
            documents.push(policy.document.clone());
        } else if let Some(policy) = aws_managed_policy(arn) {
            documents.push(policy.document.to_owned());
        }
    }
    documents
}

fn malformed(message: String) -> ApiError {
    ApiError::new(ErrorCode::MalformedPolicyDocument, message)
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::ValidationError, message)
}

fn no_role(name: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchEntity,
        format!("The role with name {name} cannot be found."),
    )
}

/// Checks a name against IAM's `[\w+=,.@-]+` of 1 to `max` characters.
fn check_name(member: &str, name: &str, max: usize) -> Result<(), ApiError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if name.is_empty() || name.len() > max || !valid_chars {
        return Err(invalid(format!(
            "1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ and have length between 1 and {max}"
        )));
    }
    Ok(())
}

fn check_path(path: &str) -> Result<(), ApiError> {
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
        return Err(invalid(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters. Value: {path}"
        )));
    }
    Ok(())
}

fn role_xml(role: &Role) -> String {
    let description = role
        .description
        .as_deref()
        .map(|d| format!("<Description>{}</Description>", xml_escape(d)))
        .unwrap_or_default();
    format!(
        "<Path>{}</Path><RoleName>{}</RoleName><RoleId>{}</RoleId><Arn>{}</Arn><CreateDate>{}</CreateDate><AssumeRolePolicyDocument>{}</AssumeRolePolicyDocument>{description}<MaxSessionDuration>{}</MaxSessionDuration>",
        xml_escape(&role.path),
        xml_escape(&role.name),
        role.id,
        xml_escape(&role.arn),
        clock::iso8601(role.created_millis),
        percent_encode(&role.trust_policy, false),
        role.max_session_duration
    )
}

fn policy_xml(
    name: &str,
    id: &str,
    arn: &str,
    path: &str,
    attachments: usize,
    description: Option<&str>,
    created_millis: u64,
) -> String {
    let description = description
        .map(|d| format!("<Description>{}</Description>", xml_escape(d)))
        .unwrap_or_default();
    let date = clock::iso8601(created_millis);
    format!(
        "<PolicyName>{}</PolicyName><PolicyId>{id}</PolicyId><Arn>{}</Arn><Path>{}</Path><DefaultVersionId>v1</DefaultVersionId><AttachmentCount>{attachments}</AttachmentCount><PermissionsBoundaryUsageCount>0</PermissionsBoundaryUsageCount><IsAttachable>true</IsAttachable>{description}<CreateDate>{date}</CreateDate><UpdateDate>{date}</UpdateDate>",
        xml_escape(name),
        xml_escape(arn),
        xml_escape(path)
    )
}

/// [`policy_xml`] of a customer managed policy attached `attachments` times.
fn managed_policy_xml(policy: &ManagedPolicy, attachments: usize) -> String {
    policy_xml(
        &policy.name,
        &policy.id,
        &policy.arn,
        &policy.path,
        attachments,
        policy.description.as_deref(),
        policy.created_millis,
    )
}

fn attachment_count(iam: &IamState, arn: &str) -> usize {
    iam.roles
        .values()
        .filter(|role| role.attached_policies.contains(arn))
        .count()
}

/// Handles one IAM action by `caller`; returns the XML inside
/// `<{Action}Result>` (empty for actions without a result).
pub fn handle(
    cloud: &Cloud,
    caller: &Caller,
    action: &str,
    params: &Params,
) -> Result<String, ApiError> {
    let account_id = caller.account().to_owned();
    let Some(account) = cloud.account(&account_id) else {
        return Err(ApiError::new(
            ErrorCode::InvalidClientTokenId,
            "The security token included in the request is invalid.",
        ));
    };
    let role_arn = |path: &str, name: &str| format!("arn:aws:iam::{account_id}:role{path}{name}");
    let check_access = |resource: &str| {
        authorize(
            cloud,
            caller,
            &AccessRequest {
                action: &format!("iam:{action}"),
                resource,
                resource_account: &account_id,
                resource_policy: None,
                resource_policy_required: false,
                encrypted_with_aws_managed_key: false,
            },
        )
    };
    match action {
        "CreateRole" => {
            let name = params.required("RoleName")?;
            check_name("roleName", name, 64)?;
            let path = params.get("Path").unwrap_or("/");
            check_path(path)?;
            let trust = params.required("AssumeRolePolicyDocument")?;
            let max_session_duration = match params.get("MaxSessionDuration") {
                None => 3600,
                Some(text) => match text.parse::<u32>() {
                    Ok(seconds @ 3600..=43200) => seconds,
                    _ => {
                        return Err(invalid(format!(
                            "1 validation error detected: Value '{text}' at 'maxSessionDuration' failed to satisfy constraint: Member must have value less than or equal to 43200 and greater than or equal to 3600"
                        )));
                    }
                },
            };
            let arn = role_arn(path, name);
            check_access(&arn)?;
            check_trust_policy(cloud, trust)?;
            let mut iam = lock(&account.iam);
            if iam.roles.keys().any(|n| n.eq_ignore_ascii_case(name)) {
                return Err(ApiError::new(
                    ErrorCode::EntityAlreadyExists,
                    format!("Role with name {name} already exists."),
                ));
            }
            let role = Role {
                name: name.to_owned(),
                path: path.to_owned(),
                id: cloud.unique_token("AROA", 21, ID_ALPHABET),
                arn,
                created_millis: cloud.clock.now_millis(),
                trust_policy: trust.to_owned(),
                description: params.get("Description").map(str::to_owned),
                max_session_duration,
                inline_policies: BTreeMap::new(),
                attached_policies: BTreeSet::new(),
            };
            let xml = format!("<Role>{}</Role>", role_xml(&role));
            iam.roles.insert(name.to_owned(), role);
            Ok(xml)
        }
        "UpdateAssumeRolePolicy" => {
            let name = params.required("RoleName")?;
            let trust = params.required("PolicyDocument")?;
            let arn = {
                let iam = lock(&account.iam);
                iam.roles
                    .get(name)
                    .ok_or_else(|| no_role(name))?
                    .arn
                    .clone()
            };
            check_access(&arn)?;
            // Checked before the lock below: it reads this account's roles too.
            check_trust_policy(cloud, trust)?;
            let mut iam = lock(&account.iam);
            // The role may have gone between the two locks.
            let role = iam.roles.get_mut(name).ok_or_else(|| no_role(name))?;
            role.trust_policy = trust.to_owned();
            Ok(String::new())
        }
        "GetRole" => {
            let name = params.required("RoleName")?;
            let iam = lock(&account.iam);
            let role = iam.roles.get(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            Ok(format!("<Role>{}</Role>", role_xml(role)))
        }
        "ListRoles" => {
            check_access("*")?;
            let prefix = params.get("PathPrefix").unwrap_or("/");
            let iam = lock(&account.iam);
            let members: String = iam
                .roles
                .values()
                .filter(|role| role.path.starts_with(prefix))
                .map(|role| format!("<member>{}</member>", role_xml(role)))
                .collect();
            Ok(format!(
                "<Roles>{members}</Roles><IsTruncated>false</IsTruncated>"
            ))
        }
        "DeleteRole" => {
            let name = params.required("RoleName")?;
            let mut iam = lock(&account.iam);
            let role = iam.roles.get(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            if !role.inline_policies.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::DeleteConflict,
                    "Cannot delete entity, must delete policies first.",
                ));
            }
            if !role.attached_policies.is_empty() {
                return Err(ApiError::new(
                    ErrorCode::DeleteConflict,
                    "Cannot delete entity, must detach all policies first.",
                ));
            }
            iam.roles.remove(name);
            Ok(String::new())
        }
        "PutRolePolicy" => {
            let name = params.required("RoleName")?;
            let policy_name = params.required("PolicyName")?;
            check_name("policyName", policy_name, 128)?;
            let document = params.required("PolicyDocument")?;
            let mut iam = lock(&account.iam);
            let role = iam.roles.get_mut(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            documents::check(PolicyKind::Identity, document).map_err(malformed)?;
            let others: usize = role
                .inline_policies
                .iter()
                .filter(|(n, _)| *n != policy_name)
                .map(|(_, d)| d.len())
                .sum();
            if others + document.len() > 10_240 {
                return Err(ApiError::new(
                    ErrorCode::InvalidParameterValue,
                    "Maximum policy size of 10240 bytes exceeded for role ".to_owned() + name,
                ));
            }
            role.inline_policies
                .insert(policy_name.to_owned(), document.to_owned());
            Ok(String::new())
        }
        "GetRolePolicy" => {
            let name = params.required("RoleName")?;
            let policy_name = params.required("PolicyName")?;
            let iam = lock(&account.iam);
            let role = iam.roles.get(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            let document = role.inline_policies.get(policy_name).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("The role policy with name {policy_name} cannot be found."),
                )
            })?;
            Ok(format!(
                "<RoleName>{}</RoleName><PolicyName>{}</PolicyName><PolicyDocument>{}</PolicyDocument>",
                xml_escape(name),
                xml_escape(policy_name),
                percent_encode(document, false)
            ))
        }
        "DeleteRolePolicy" => {
            let name = params.required("RoleName")?;
            let policy_name = params.required("PolicyName")?;
            let mut iam = lock(&account.iam);
            let role = iam.roles.get_mut(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            if role.inline_policies.remove(policy_name).is_none() {
                return Err(ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("The role policy with name {policy_name} cannot be found."),
                ));
            }
            Ok(String::new())
        }
        "ListRolePolicies" => {
            let name = params.required("RoleName")?;
            let iam = lock(&account.iam);
            let role = iam.roles.get(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            let members: String = role
                .inline_policies
                .keys()
                .map(|n| format!("<member>{}</member>", xml_escape(n)))
                .collect();
            Ok(format!(
                "<PolicyNames>{members}</PolicyNames><IsTruncated>false</IsTruncated>"
            ))
        }
        "AttachRolePolicy" => {
            let name = params.required("RoleName")?;
            let policy_arn = params.required("PolicyArn")?;
            let mut iam = lock(&account.iam);
            let exists =
                iam.policies.contains_key(policy_arn) || aws_managed_policy(policy_arn).is_some();
            let role = iam.roles.get_mut(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            if !exists {
                return Err(ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("Policy {policy_arn} does not exist or is not attachable."),
                ));
            }
            role.attached_policies.insert(policy_arn.to_owned());
            Ok(String::new())
        }
        "DetachRolePolicy" => {
            let name = params.required("RoleName")?;
            let policy_arn = params.required("PolicyArn")?;
            let mut iam = lock(&account.iam);
            let role = iam.roles.get_mut(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            if !role.attached_policies.remove(policy_arn) {
                return Err(ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("Policy {policy_arn} was not found."),
                ));
            }
            Ok(String::new())
        }
        "ListAttachedRolePolicies" => {
            let name = params.required("RoleName")?;
            let iam = lock(&account.iam);
            let role = iam.roles.get(name).ok_or_else(|| no_role(name))?;
            check_access(&role.arn)?;
            let members: String = role
                .attached_policies
                .iter()
                .map(|arn| {
                    let policy_name = arn.rsplit('/').next().unwrap_or(arn);
                    format!(
                        "<member><PolicyName>{}</PolicyName><PolicyArn>{}</PolicyArn></member>",
                        xml_escape(policy_name),
                        xml_escape(arn)
                    )
                })
                .collect();
            Ok(format!(
                "<AttachedPolicies>{members}</AttachedPolicies><IsTruncated>false</IsTruncated>"
            ))
        }
        "CreatePolicy" => {
            let name = params.required("PolicyName")?;
            check_name("policyName", name, 128)?;
            let path = params.get("Path").unwrap_or("/");
            check_path(path)?;
            let document = params.required("PolicyDocument")?;
            let arn = format!("arn:aws:iam::{account_id}:policy{path}{name}");
            check_access(&arn)?;
            if document.len() > 6144 {
                return Err(ApiError::new(
                    ErrorCode::MalformedPolicyDocument,
                    "Cannot exceed quota for PolicySize: 6144",
                ));
            }
            documents::check(PolicyKind::Identity, document).map_err(malformed)?;
            let mut iam = lock(&account.iam);
            if iam.policies.values().any(|p| p.name == name) {
                return Err(ApiError::new(
                    ErrorCode::EntityAlreadyExists,
                    format!(
                        "A policy called {name} already exists. Duplicate names are not allowed."
                    ),
                ));
            }
            let policy = ManagedPolicy {
                name: name.to_owned(),
                path: path.to_owned(),
                id: cloud.unique_token("ANPA", 21, ID_ALPHABET),
                arn: arn.clone(),
                document: document.to_owned(),
                description: params.get("Description").map(str::to_owned),
                created_millis: cloud.clock.now_millis(),
            };
            let xml = format!("<Policy>{}</Policy>", managed_policy_xml(&policy, 0));
            iam.policies.insert(arn, policy);
            Ok(xml)
        }
        "GetPolicy" => {
            let arn = params.required("PolicyArn")?;
            check_access(arn)?;
            let iam = lock(&account.iam);
            if let Some(policy) = iam.policies.get(arn) {
                return Ok(format!(
                    "<Policy>{}</Policy>",
                    managed_policy_xml(policy, attachment_count(&iam, arn))
                ));
            }
            let policy = aws_managed_policy(arn).ok_or_else(|| no_policy(arn))?;
            Ok(format!(
                "<Policy>{}</Policy>",
                policy_xml(
                    policy.name,
                    policy.id,
                    &policy.arn(),
                    policy.path,
                    attachment_count(&iam, arn),
                    None,
                    AWS_MANAGED_POLICY_CREATED_MILLIS
                )
            ))
        }
        "GetPolicyVersion" => {
            let arn = params.required("PolicyArn")?;
            let version = params.required("VersionId")?;
            check_access(arn)?;
            let iam = lock(&account.iam);
            let (document, created) = if let Some(policy) = iam.policies.get(arn) {
                (policy.document.clone(), policy.created_millis)
            } else {
                let policy = aws_managed_policy(arn).ok_or_else(|| no_policy(arn))?;
                (
                    policy.document.to_owned(),
                    AWS_MANAGED_POLICY_CREATED_MILLIS,
                )
            };
            if version != "v1" {
                return Err(ApiError::new(
                    ErrorCode::NoSuchEntity,
                    format!("Policy {arn} version {version} does not exist or is not attachable."),
                ));
            }
            Ok(format!(
                "<PolicyVersion><Document>{}</Document><VersionId>v1</VersionId><IsDefaultVersion>true</IsDefaultVersion><CreateDate>{}</CreateDate></PolicyVersion>",
                percent_encode(&document, false),
                clock::iso8601(created)
            ))
        }
        "DeletePolicy" => {
            let arn = params.required("PolicyArn")?;
            check_access(arn)?;
            let mut iam = lock(&account.iam);
            if !iam.policies.contains_key(arn) {
                return Err(no_policy(arn));
            }
            if attachment_count(&iam, arn) > 0 {
                return Err(ApiError::new(
                    ErrorCode::DeleteConflict,
                    "Cannot delete a policy attached to entities.",
                ));
            }
            iam.policies.remove(arn);
            Ok(String::new())
        }
        other => Err(ApiError::new(
            ErrorCode::InvalidAction,
            format!("Could not find operation {other} for version 2010-05-08"),
        )),
    }
}

/// When the AWS managed policies were created, as IAM reports it.
const AWS_MANAGED_POLICY_CREATED_MILLIS: u64 = 1_428_019_200_000;

fn no_policy(arn: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NoSuchEntity,
        format!("Policy {arn} does not exist or is not attachable."),
    )
}

/// Checks a trust policy as CreateRole and UpdateAssumeRolePolicy do: its
/// size, its grammar, then that the principals it names exist.
fn check_trust_policy(cloud: &Cloud, trust: &str) -> Result<(), ApiError> {
    if trust.len() > 2048 {
        return Err(invalid(
            "Cannot exceed quota for ACLSizePerRole: 2048".to_owned(),
        ));
    }
    let document = documents::check(PolicyKind::Trust, trust).map_err(malformed)?;
    check_trust_principals(cloud, &document)
}

/// A trust policy may only name principals that exist: accounts of this
/// cloud, their roots, their roles, or a service.
fn check_trust_principals(cloud: &Cloud, document: &serde_json::Value) -> Result<(), ApiError> {
    for principal in documents::aws_principals(document) {
        if !principal_exists(cloud, &principal) {
            return Err(malformed(format!(
                "Invalid principal in policy: \"AWS\":\"{principal}\""
            )));
        }
    }
    Ok(())
}

/// Whether an `AWS` principal (account id, root ARN, role ARN, assumed-role
/// ARN or `*`) names something that exists in this cloud.
pub fn principal_exists(cloud: &Cloud, principal: &str) -> bool {
    if principal == "*" {
        return true;
    }
    if principal.len() == 12 && principal.bytes().all(|b| b.is_ascii_digit()) {
        return cloud.account(principal).is_some();
    }
    let parts: Vec<&str> = principal.splitn(6, ':').collect();
    let [arn, partition, service, _region, account, resource] = parts.as_slice() else {
        return false;
    };
    if *arn != "arn" || *partition != "aws" {
        return false;
    }
    let Some(account_state) = cloud.account(account) else {
        return false;
    };
    match (*service, *resource) {
        ("iam", "root") => true,
        ("iam", role) if role.starts_with("role/") => {
            let name = role.rsplit('/').next().unwrap_or_default();
            lock(&account_state.iam).roles.contains_key(name)
        }
        ("sts", session) if session.starts_with("assumed-role/") => {
            let role_name = session.split('/').nth(1).unwrap_or_default();
            lock(&account_state.iam).roles.contains_key(role_name)
        }
        _ => false,
    }
}
