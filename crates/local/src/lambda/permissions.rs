//! Function policies: AddPermission (`POST .../functions/NAME/policy`),
//! GetPolicy (`GET .../policy`) and RemovePermission (`DELETE
//! .../policy/SID`), one policy per function and per version or alias
//! (`Qualifier`, never `$LATEST`), and `authorize_on_function`, through
//! which every Lambda operation that AWS lets a function policy grant is
//! decided with that policy as the resource policy.
//!
//! Each statement is built with streamgate-policy's document types, as
//! Lambda writes it: `Principal` `{"AWS": "arn:aws:iam::ACCOUNT:root"}` for
//! an account id, `{"AWS": ARN}` for a role, user or session, `"*"`, or
//! `{"Service": NAME}` for a service principal; `Resource` the function's
//! ARN, qualified when the policy is a version's or an alias's; the
//! conditions in `StringEquals` (`AWS:SourceAccount`,
//! `aws:PrincipalOrgID`, `lambda:EventSourceToken`,
//! `lambda:FunctionUrlAuthType`), `ArnLike` (`AWS:SourceArn`) and `Bool`
//! (`lambda:InvokedViaFunctionUrl`). The document is the one the evaluator
//! reads: its text is parsed back through the same crate before it is
//! stored.
//!
//! A policy carries its own `RevisionId`, new with every change; a
//! request's `RevisionId` must be the policy's (or, before the first
//! statement, the function's, version's or alias's revision), else
//! PreconditionFailedException.

use super::functions::{FunctionKey, called_arn, resolve_qualified, stale_revision};
use super::json_reply;
use crate::authorize::{AccessRequest, authorize_with_context};
use crate::error::{ApiError, ErrorCode};
use crate::iam::principal_exists;
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::json;
use streamgate_policy::document::{
    ConditionBlock, ConditionEntry, ConditionOperator, ConditionValue, Effect, OneOrMany,
    OperatorKind, PolicyDocument, PolicyVersion, PrincipalType, Principals, Statement,
};
use streamgate_policy::json::JsonValue;

/// The largest function policy Lambda stores, in bytes of its JSON text.
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// The actions a function policy can grant, to another account too: the
/// operations on an existing function the Lambda guide lists as
/// cross-account APIs ("Granting function access to other accounts"), and
/// InvokeFunctionUrl. Lambda refuses the others (AddPermission,
/// RemovePermission, UpdateFunctionConfiguration, ...) across accounts
/// whatever the policy says, so for them the function policy is not
/// consulted.
pub const RESOURCE_POLICY_ACTIONS: [&str; 19] = [
    "lambda:InvokeFunction",
    "lambda:InvokeFunctionUrl",
    "lambda:GetFunction",
    "lambda:GetFunctionConfiguration",
    "lambda:GetPolicy",
    "lambda:UpdateFunctionCode",
    "lambda:DeleteFunction",
    "lambda:PublishVersion",
    "lambda:ListVersionsByFunction",
    "lambda:CreateAlias",
    "lambda:GetAlias",
    "lambda:ListAliases",
    "lambda:UpdateAlias",
    "lambda:DeleteAlias",
    "lambda:PutFunctionConcurrency",
    "lambda:DeleteFunctionConcurrency",
    "lambda:ListTags",
    "lambda:TagResource",
    "lambda:UntagResource",
];

/// A function's (or a version's or alias's) policy.
#[derive(Debug, Clone)]
pub struct FunctionPolicy {
    /// The document, statements in the order they were added.
    pub document: PolicyDocument,
    /// Its JSON text, as GetPolicy answers it and the evaluator reads it.
    pub text: String,
    /// Changes with every AddPermission and RemovePermission.
    pub revision_id: String,
}

/// Where a policy is kept: the function and its qualifier (`None` for the
/// unqualified function).
pub(crate) type PolicySlot = (FunctionKey, Option<String>);

/// The qualifier a policy is kept under: none for the unqualified
/// function and for `$LATEST`, which are the same resource.
fn slot_qualifier(qualifier: Option<&str>) -> Option<String> {
    qualifier.filter(|q| *q != "$LATEST").map(str::to_owned)
}

/// The policy text of `key` with `qualifier`, if it has one.
pub(crate) fn policy_text(
    cloud: &Cloud,
    key: &FunctionKey,
    qualifier: Option<&str>,
) -> Option<String> {
    lock(&cloud.functions.policies)
        .get(&(key.clone(), slot_qualifier(qualifier)))
        .map(|policy| policy.text.clone())
}

/// Allows or refuses `action` on `resource` (the function's ARN as
/// called) by `caller`. For the actions a function policy can grant
/// ([`RESOURCE_POLICY_ACTIONS`]) the policy of `key` with `qualifier` is the
/// resource policy: in the function's account the caller's identity
/// policies or the function policy may allow; from another account both
/// must. `context` adds request condition keys
/// (`lambda:FunctionUrlAuthType`).
pub(crate) fn authorize_on_function(
    cloud: &Cloud,
    caller: &Caller,
    key: &FunctionKey,
    qualifier: Option<&str>,
    action: &str,
    resource: &str,
    context: &[(&str, &str)],
) -> Result<(), ApiError> {
    let policy = if RESOURCE_POLICY_ACTIONS.contains(&action) {
        policy_text(cloud, key, qualifier)
    } else {
        None
    };
    let request = AccessRequest {
        action,
        resource,
        resource_account: &key.account,
        resource_policy: policy.as_deref(),
        resource_policy_required: false,
        encrypted_with_aws_managed_key: false,
    };
    authorize_with_context(cloud, caller, &request, context)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddPermissionInput {
    statement_id: Option<String>,
    action: Option<String>,
    principal: Option<String>,
    source_arn: Option<String>,
    source_account: Option<String>,
    event_source_token: Option<String>,
    #[serde(rename = "PrincipalOrgID")]
    principal_org_id: Option<String>,
    function_url_auth_type: Option<String>,
    invoked_via_function_url: Option<bool>,
    revision_id: Option<String>,
}

fn required(value: Option<String>, member: &str) -> Result<String, ApiError> {
    value.ok_or_else(|| ApiError::constraint("null", member, "Member must not be null"))
}

fn valid_statement_id(sid: &str) -> bool {
    (1..=100).contains(&sid.len())
        && sid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `(lambda:[*]|lambda:[a-zA-Z]+|[*])`, the Action pattern of the model.
fn valid_action(action: &str) -> bool {
    match action.strip_prefix("lambda:") {
        Some("*") => true,
        Some(name) => !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphabetic()),
        None => action == "*",
    }
}

/// `arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:([a-z]{2}(-gov)?-[a-z]+-\d{1})?:(\d{12})?:(.*)`,
/// the SourceArn pattern of the model (the region part read loosely).
fn valid_source_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ["arn", partition, service, region, account, _resource] = parts.as_slice() else {
        return false;
    };
    let partition_ok = partition
        .strip_prefix("aws")
        .is_some_and(|rest| rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let service_ok = !service.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let region_ok = region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.is_empty() || is_account_id(account);
    partition_ok && service_ok && region_ok && account_ok
}

fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `^o-[a-z0-9]{10,32}$`.
fn valid_org_id(id: &str) -> bool {
    id.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

fn invalid_principal() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidParameterValueException,
        "The provided principal was invalid. Please check the principal and try again.",
    )
}

/// The `Principal` Lambda writes for the `Principal` parameter: an account
/// id becomes its root ARN, an IAM ARN stays (and must name something that
/// exists here, as IAM resolves it), a name with a dot is a service.
fn principal_of(cloud: &Cloud, given: &str) -> Result<Principals, ApiError> {
    if given == "*" {
        return Ok(Principals::Everyone);
    }
    let aws = |arn: String| Principals::Named(vec![(PrincipalType::Aws, OneOrMany::One(arn))]);
    if is_account_id(given) {
        return Ok(aws(format!("arn:aws:iam::{given}:root")));
    }
    if given.starts_with("arn:") {
        let parts: Vec<&str> = given.splitn(6, ':').collect();
        // An IAM identity of one account, named exactly: no wildcard.
        let known_account = match parts.as_slice() {
            ["arn", "aws", "iam", "", account, resource]
                if is_account_id(account)
                    && (*resource == "root"
                        || resource.starts_with("role/")
                        || resource.starts_with("user/")) =>
            {
                cloud.account(account).is_some()
            }
            ["arn", "aws", "sts", "", account, resource]
                if is_account_id(account) && resource.starts_with("assumed-role/") =>
            {
                cloud.account(account).is_some()
            }
            _ => return Err(invalid_principal()),
        };
        if given.contains(['*', '?']) {
            return Err(invalid_principal());
        }
        // Another cloud's account cannot be looked into: taken as given.
        if known_account && !principal_exists(cloud, given) {
            return Err(invalid_principal());
        }
        return Ok(aws(given.to_owned()));
    }
    let service_shaped = given.contains('.')
        && given
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
    if service_shaped {
        return Ok(Principals::Named(vec![(
            PrincipalType::Service,
            OneOrMany::One(given.to_owned()),
        )]));
    }
    Err(invalid_principal())
}

fn entry(key: &str, value: &str) -> ConditionEntry {
    ConditionEntry {
        key: key.to_owned(),
        values: OneOrMany::One(ConditionValue::String(value.to_owned())),
    }
}

fn block(kind: OperatorKind, entries: Vec<ConditionEntry>) -> Option<ConditionBlock> {
    (!entries.is_empty()).then(|| ConditionBlock {
        operator: ConditionOperator::new(None, kind, false),
        entries,
    })
}

/// The statement AddPermission adds, from its validated input.
fn statement(
    cloud: &Cloud,
    input: &AddPermissionInput,
    sid: &str,
    action: &str,
    resource: &str,
) -> Result<Statement, ApiError> {
    let principal = principal_of(cloud, input.principal.as_deref().unwrap_or_default())?;
    let mut string_equals = Vec::new();
    if let Some(account) = &input.source_account {
        string_equals.push(entry("AWS:SourceAccount", account));
    }
    if let Some(org) = &input.principal_org_id {
        string_equals.push(entry("aws:PrincipalOrgID", org));
    }
    if let Some(token) = &input.event_source_token {
        string_equals.push(entry("lambda:EventSourceToken", token));
    }
    if let Some(auth_type) = &input.function_url_auth_type {
        string_equals.push(entry("lambda:FunctionUrlAuthType", auth_type));
    }
    let arn_like: Vec<ConditionEntry> = input
        .source_arn
        .iter()
        .map(|arn| entry("AWS:SourceArn", arn))
        .collect();
    let via_url: Vec<ConditionEntry> = input
        .invoked_via_function_url
        .iter()
        .map(|via| {
            entry(
                "lambda:InvokedViaFunctionUrl",
                if *via { "true" } else { "false" },
            )
        })
        .collect();
    let blocks: Vec<ConditionBlock> = [
        block(OperatorKind::StringEquals, string_equals),
        block(OperatorKind::ArnLike, arn_like),
        block(OperatorKind::Bool, via_url),
    ]
    .into_iter()
    .flatten()
    .collect();
    let mut statement = Statement::new(Effect::Allow);
    statement.sid = Some(sid.to_owned());
    statement.principal = Some(principal);
    statement.action = Some(OneOrMany::One(action.to_owned()));
    statement.resource = Some(OneOrMany::One(resource.to_owned()));
    statement.condition = (!blocks.is_empty()).then_some(blocks);
    Ok(statement)
}

/// A statement's compact JSON text, as AddPermission answers it.
fn statement_text(statement: &Statement) -> String {
    let document = PolicyDocument::new(None, OneOrMany::One(statement.clone()));
    match document.to_json_value() {
        JsonValue::Object(members) => members
            .into_iter()
            .find(|(name, _)| name == "Statement")
            .map(|(_, value)| value.to_compact_string())
            .unwrap_or_default(),
        other => other.to_compact_string(),
    }
}

/// The document with these statements, in Lambda's shape
/// (`"Id": "default"`, statements always in an array).
fn document_of(statements: Vec<Statement>) -> PolicyDocument {
    let mut document = PolicyDocument::new(
        Some(PolicyVersion::V2012_10_17),
        OneOrMany::Many(statements),
    );
    document.id = Some("default".to_owned());
    document
}

/// The document's text, checked by parsing it back as the evaluator will
/// read it.
fn checked_text(cloud: &Cloud, document: &PolicyDocument) -> Result<String, ApiError> {
    let text = document.to_json();
    let parsed = cloud.parsed_policy(&text).map_err(|error| {
        ApiError::new(
            ErrorCode::InvalidParameterValueException,
            format!("The policy could not be read back: {error}"),
        )
    })?;
    if *parsed != *document {
        return Err(ApiError::new(
            ErrorCode::ServiceException,
            format!("the function policy does not read back as written: {text}"),
        ));
    }
    if text.len() > MAX_POLICY_BYTES {
        return Err(ApiError::new(
            ErrorCode::PolicyLengthExceededException,
            format!(
                "The final policy size ({}) is bigger than the limit ({MAX_POLICY_BYTES}).",
                text.len()
            ),
        ));
    }
    Ok(text)
}

/// The revision a request's `RevisionId` is compared with while the
/// resource has no policy: that of the function, version or alias.
fn resource_revision(
    cloud: &Cloud,
    key: &FunctionKey,
    arn: &str,
    qualifier: Option<&str>,
) -> Result<String, ApiError> {
    if let Some(alias) = qualifier.filter(|q| !q.bytes().all(|b| b.is_ascii_digit())) {
        let aliases = lock(&cloud.functions.aliases);
        if let Some(alias) = aliases.get(&(key.clone(), alias.to_owned())) {
            return Ok(alias.revision_id.clone());
        }
    }
    super::versions::qualified(cloud, key, arn, qualifier).map(|target| target.function.revision_id)
}

/// Authorizes `action` on the function, version or alias that `arn` and
/// `qualifier` call, with that one's function policy as the resource policy,
/// then finds what they name: the two steps, in AWS's order, of every
/// operation on one function. Answers the ARN as called with its target.
pub(crate) fn authorize_called(
    cloud: &Cloud,
    caller: &Caller,
    key: &FunctionKey,
    arn: &str,
    qualifier: Option<&str>,
    action: &str,
) -> Result<(String, super::versions::QualifiedFunction), ApiError> {
    let called = called_arn(arn, qualifier);
    authorize_on_function(cloud, caller, key, qualifier, action, &called, &[])?;
    let target = super::versions::qualified(cloud, key, arn, qualifier)?;
    Ok((called, target))
}

/// Resolves the function and qualifier of a policy request and checks that
/// the function (and its version or alias) exists.
fn resolve_existing(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    action: &str,
) -> Result<(FunctionKey, String, Option<String>), ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    let qualifier = slot_qualifier(qualifier.as_deref());
    authorize_called(cloud, caller, &key, &arn, qualifier.as_deref(), action)?;
    Ok((key, arn, qualifier))
}

/// AddPermission.
pub fn add(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: AddPermissionInput = parse_json_body(body)?;
    let sid = required(input.statement_id.clone(), "statementId")?;
    if !valid_statement_id(&sid) {
        return Err(ApiError::constraint(
            &sid,
            "statementId",
            "Member must satisfy regular expression pattern: ([a-zA-Z0-9-_]+)",
        ));
    }
    let action = required(input.action.clone(), "action")?;
    if !valid_action(&action) {
        return Err(ApiError::constraint(
            &action,
            "action",
            "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
        ));
    }
    let principal = required(input.principal.clone(), "principal")?;
    if principal.is_empty() || principal.contains(char::is_whitespace) {
        return Err(ApiError::constraint(
            &principal,
            "principal",
            "Member must satisfy regular expression pattern: [^\\s]+",
        ));
    }
    if let Some(arn) = input.source_arn.as_deref().filter(|a| !valid_source_arn(a)) {
        return Err(ApiError::constraint(
            arn,
            "sourceArn",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
        ));
    }
    if let Some(account) = input
        .source_account
        .as_deref()
        .filter(|a| !is_account_id(a))
    {
        return Err(ApiError::constraint(
            account,
            "sourceAccount",
            "Member must satisfy regular expression pattern: \\d{12}",
        ));
    }
    if let Some(org) = input
        .principal_org_id
        .as_deref()
        .filter(|o| !valid_org_id(o))
    {
        return Err(ApiError::constraint(
            org,
            "principalOrgID",
            "Member must satisfy regular expression pattern: ^o-[a-z0-9]{10,32}$",
        ));
    }
    if let Some(token) = input.event_source_token.as_deref() {
        let valid = token.len() <= 256
            && !token.is_empty()
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !valid {
            return Err(ApiError::constraint(
                token,
                "eventSourceToken",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9._\\-]+",
            ));
        }
    }
    if let Some(auth_type) = input
        .function_url_auth_type
        .as_deref()
        .filter(|t| !matches!(*t, "NONE" | "AWS_IAM"))
    {
        return Err(ApiError::constraint(
            auth_type,
            "functionUrlAuthType",
            "Member must satisfy enum value set: [NONE, AWS_IAM]",
        ));
    }

    let (key, arn, given_qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    if given_qualifier.as_deref() == Some("$LATEST") {
        return Err(ApiError::new(
            ErrorCode::InvalidParameterValueException,
            "We currently do not support adding policies for $LATEST.",
        ));
    }
    let qualifier = slot_qualifier(given_qualifier.as_deref());
    let resource = called_arn(&arn, qualifier.as_deref());
    authorize_on_function(
        cloud,
        caller,
        &key,
        qualifier.as_deref(),
        "lambda:AddPermission",
        &resource,
        &[],
    )?;
    let before_any_policy = resource_revision(cloud, &key, &arn, qualifier.as_deref())?;
    let added = statement(cloud, &input, &sid, &action, &resource)?;
    let added_text = statement_text(&added);
    let revision_id = super::executor::uuid(cloud);

    let mut policies = lock(&cloud.functions.policies);
    let slot = (key, qualifier);
    let current = policies.get(&slot);
    let current_revision = current.map_or(before_any_policy, |p| p.revision_id.clone());
    if input
        .revision_id
        .as_deref()
        .is_some_and(|expected| expected != current_revision)
    {
        return Err(stale_revision());
    }
    let mut statements: Vec<Statement> = current
        .map(|p| p.document.statements().to_vec())
        .unwrap_or_default();
    if statements.iter().any(|s| s.sid.as_deref() == Some(&sid)) {
        return Err(ApiError::new(
            ErrorCode::ResourceConflictException,
            format!(
                "The statement id ({sid}) provided already exists. Please provide a new statement id, or remove the existing statement."
            ),
        ));
    }
    statements.push(added);
    let document = document_of(statements);
    let text = checked_text(cloud, &document)?;
    policies.insert(
        slot,
        FunctionPolicy {
            document,
            text,
            revision_id,
        },
    );
    Ok(json_reply(
        201,
        json!({ "Statement": added_text }).to_string(),
    ))
}

/// GetPolicy.
pub fn get(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, _, qualifier) =
        resolve_existing(cloud, caller, region, given, qualifier, "lambda:GetPolicy")?;
    let policies = lock(&cloud.functions.policies);
    let policy = policies
        .get(&(key, qualifier))
        .ok_or_else(|| ApiError::not_found("The resource you requested does not exist."))?;
    let body = json!({ "Policy": policy.text, "RevisionId": policy.revision_id });
    Ok(json_reply(200, body.to_string()))
}

/// RemovePermission; the policy goes with its last statement.
pub fn remove(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    sid: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let parameter = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let (key, _, qualifier) = resolve_existing(
        cloud,
        caller,
        region,
        given,
        parameter("Qualifier"),
        "lambda:RemovePermission",
    )?;
    let revision_id = super::executor::uuid(cloud);
    let mut policies = lock(&cloud.functions.policies);
    let slot = (key, qualifier);
    let policy = policies
        .get(&slot)
        .ok_or_else(|| ApiError::not_found("No policy is associated with the given resource."))?;
    if parameter("RevisionId").is_some_and(|expected| expected != policy.revision_id) {
        return Err(stale_revision());
    }
    let statements: Vec<Statement> = policy
        .document
        .statements()
        .iter()
        .filter(|s| s.sid.as_deref() != Some(sid))
        .cloned()
        .collect();
    if statements.len() == policy.document.statements().len() {
        return Err(ApiError::not_found(format!(
            "Statement {sid} is not found in resource policy."
        )));
    }
    if statements.is_empty() {
        policies.remove(&slot);
    } else {
        let document = document_of(statements);
        let text = checked_text(cloud, &document)?;
        policies.insert(
            slot,
            FunctionPolicy {
                document,
                text,
                revision_id,
            },
        );
    }
    Ok(json_reply(204, ""))
}

/// Forgets the policies of `key` (all of them, or one qualifier's) when
/// the function, a version or an alias is deleted.
pub(crate) fn forget(cloud: &Cloud, key: &FunctionKey, qualifier: Option<&str>) {
    lock(&cloud.functions.policies).retain(|(function, q), _| {
        function != key || qualifier.is_some_and(|only| q.as_deref() != Some(only))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_the_model_pattern() {
        let verdicts: Vec<(&str, bool)> = [
            "lambda:InvokeFunction",
            "lambda:*",
            "*",
            "InvokeFunction",
            "lambda:",
            "lambda:Invoke*",
            "s3:GetObject",
        ]
        .into_iter()
        .map(|a| (a, valid_action(a)))
        .collect();
        expect_test::expect![[r#"[("lambda:InvokeFunction", true), ("lambda:*", true), ("*", true), ("InvokeFunction", false), ("lambda:", false), ("lambda:Invoke*", false), ("s3:GetObject", false)]"#]]
            .assert_eq(&format!("{verdicts:?}"));
    }

    #[test]
    fn statements_are_written_as_lambda_writes_them() {
        let cloud = Cloud::new(
            &["111111111111".to_owned()],
            crate::state::ShardRollover::default(),
        );
        let input = AddPermissionInput {
            statement_id: None,
            action: None,
            principal: Some("s3.amazonaws.com".to_owned()),
            source_arn: Some("arn:aws:s3:::bucket".to_owned()),
            source_account: Some("111111111111".to_owned()),
            event_source_token: None,
            principal_org_id: None,
            function_url_auth_type: None,
            invoked_via_function_url: None,
            revision_id: None,
        };
        let built = statement(
            &cloud,
            &input,
            "s3",
            "lambda:InvokeFunction",
            "arn:aws:lambda:eu-west-1:111111111111:function:f",
        )
        .unwrap();
        expect_test::expect![[r#"{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111111111111:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}"#]]
            .assert_eq(&statement_text(&built));
        let document = document_of(vec![built]);
        expect_test::expect![[r#"{"Version":"2012-10-17","Id":"default","Statement":[{"Sid":"s3","Effect":"Allow","Principal":{"Service":"s3.amazonaws.com"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111111111111:function:f","Condition":{"StringEquals":{"AWS:SourceAccount":"111111111111"},"ArnLike":{"AWS:SourceArn":"arn:aws:s3:::bucket"}}}]}"#]]
            .assert_eq(&checked_text(&cloud, &document).unwrap());
    }

    #[test]
    fn principals_become_what_lambda_stores() {
        let cloud = Cloud::new(
            &["111111111111".to_owned()],
            crate::state::ShardRollover::default(),
        );
        let shown: Vec<String> = [
            "*",
            "333333333333",
            "arn:aws:iam::444444444444:role/elsewhere",
            "arn:aws:iam::111111111111:role/absent",
            "arn:aws:iam::*:root",
            "arn:aws:iam::444444444444:role/*",
            "arn:aws:s3:::bucket",
            "sns.amazonaws.com",
            "nobody",
        ]
        .into_iter()
        .map(|given| match principal_of(&cloud, given) {
            Ok(principals) => format!("{given} -> {principals:?}"),
            Err(error) => format!("{given} -> {error}"),
        })
        .collect();
        expect_test::expect![[r#"
            * -> Everyone
            333333333333 -> Named([(Aws, One("arn:aws:iam::333333333333:root"))])
            arn:aws:iam::444444444444:role/elsewhere -> Named([(Aws, One("arn:aws:iam::444444444444:role/elsewhere"))])
            arn:aws:iam::111111111111:role/absent -> InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again.
            arn:aws:iam::*:root -> InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again.
            arn:aws:iam::444444444444:role/* -> InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again.
            arn:aws:s3:::bucket -> InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again.
            sns.amazonaws.com -> Named([(Service, One("sns.amazonaws.com"))])
            nobody -> InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again."#]]
            .assert_eq(&shown.join("\n"));
    }
}
