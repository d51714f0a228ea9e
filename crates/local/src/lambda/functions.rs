//! Functions: CreateFunction, GetFunction, GetFunctionConfiguration,
//! ListFunctions and DeleteFunction, kept in [`FunctionRegistry`] (one map
//! for the whole cloud, keyed by account, region and name). GetFunction,
//! GetFunctionConfiguration and DeleteFunction take a qualifier: a version
//! or alias is read as that version, and a version deleted alone.
//!
//! CreateFunction checks what AWS checks before it accepts a function: the
//! runtime is one whose zip brings its own `bootstrap` (`provided.al2023`,
//! `provided.al2`), the code is a zip, the caller may pass the role, and the
//! role is in the function's account with a trust policy that lets
//! `lambda.amazonaws.com` assume it (evaluated by streamgate-policy).

use super::paging::Page;
use super::{base64, json_reply};
use crate::authorize::{AccessRequest, authorize};
use crate::clock;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Mutex;
use streamgate_policy::eval::{self, PolicySet, Principal, Request};

/// The runtimes whose zip brings its own `bootstrap`, the only kind this
/// local cloud can run.
pub const SUPPORTED_RUNTIMES: [&str; 2] = ["provided.al2023", "provided.al2"];

/// The largest `ZipFile` Lambda accepts in a request, in bytes.
const MAX_ZIP_BYTES: usize = 50 * 1024 * 1024;

/// Where a function lives: account, region, name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FunctionKey {
    /// The owning account.
    pub account: String,
    /// The region.
    pub region: String,
    /// The function name.
    pub name: String,
}

/// A function as created, or one of its published versions.
#[derive(Debug, Clone)]
pub struct Function {
    /// Its ARN, `arn:aws:lambda:REGION:ACCOUNT:function:NAME`.
    pub arn: String,
    /// The runtime, one of [`SUPPORTED_RUNTIMES`].
    pub runtime: String,
    /// The execution role's ARN.
    pub role: String,
    /// The handler, as given (custom runtimes pass it to `bootstrap`).
    pub handler: String,
    /// The description.
    pub description: String,
    /// Seconds an invocation may run, 1..=900.
    pub timeout_seconds: u32,
    /// Memory in MB, 128..=10240.
    pub memory_mb: u32,
    /// `x86_64` or `arm64`, as recorded.
    pub architectures: Vec<String>,
    /// The function's own environment variables.
    pub environment: BTreeMap<String, String>,
    /// The deployment package (a zip).
    pub zip: Vec<u8>,
    /// Base64 of the SHA-256 of the zip.
    pub code_sha256: String,
    /// When it was last changed (ms since the epoch, resource clock).
    pub last_modified_millis: u64,
    /// Changes with every update.
    pub revision_id: String,
}

/// Every function of the cloud, with its published versions and aliases.
#[derive(Debug, Default)]
pub struct FunctionRegistry {
    functions: Mutex<BTreeMap<FunctionKey, Function>>,
    /// Published versions of each function: version N at index N - 1,
    /// `None` once deleted (a version number is never reused).
    pub(crate) versions:
        Mutex<BTreeMap<FunctionKey, Vec<Option<super::versions::PublishedVersion>>>>,
    /// Aliases of each function, by name.
    pub(crate) aliases: Mutex<BTreeMap<(FunctionKey, String), super::versions::Alias>>,
    /// Function policies, by function and qualifier (AddPermission).
    pub(crate) policies:
        Mutex<BTreeMap<super::permissions::PolicySlot, super::permissions::FunctionPolicy>>,
    /// Function URL configurations, by function and alias.
    pub(crate) urls: Mutex<BTreeMap<super::permissions::PolicySlot, super::urls::UrlConfig>>,
}

impl FunctionRegistry {
    /// A copy of the function at `key`.
    pub fn get(&self, key: &FunctionKey) -> Option<Function> {
        lock(&self.functions).get(key).cloned()
    }

    /// How many functions `account` has in `region`, and the bytes of all
    /// their code, published versions included (GetAccountSettings'
    /// `AccountUsage`).
    pub fn usage(&self, account: &str, region: &str) -> (usize, u64) {
        let mine = |key: &FunctionKey| key.account == account && key.region == region;
        let bytes = |function: &Function| u64::try_from(function.zip.len()).unwrap_or(u64::MAX);
        let (count, latest) = lock(&self.functions)
            .iter()
            .filter(|(key, _)| mine(key))
            .fold((0usize, 0u64), |(count, size), (_, function)| {
                (
                    count.saturating_add(1),
                    size.saturating_add(bytes(function)),
                )
            });
        let published = lock(&self.versions)
            .iter()
            .filter(|(key, _)| mine(key))
            .flat_map(|(_, versions)| versions.iter().flatten())
            .fold(0u64, |size, version| {
                size.saturating_add(bytes(&version.function))
            });
        (count, latest.saturating_add(published))
    }
}

/// The environment variable names Lambda sets itself and a function's
/// `Environment` may not set (PATH, LANG, TZ and LD_LIBRARY_PATH are not
/// among them: a function may replace those).
pub const RESERVED_ENVIRONMENT_KEYS: [&str; 18] = [
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Refuses `variables` naming a reserved key, with Lambda's message.
fn check_environment(variables: Option<&BTreeMap<String, String>>) -> Result<(), ApiError> {
    let used: Vec<&str> = variables
        .into_iter()
        .flat_map(BTreeMap::keys)
        .map(String::as_str)
        .filter(|name| RESERVED_ENVIRONMENT_KEYS.contains(name))
        .collect();
    if used.is_empty() {
        return Ok(());
    }
    Err(invalid(format!(
        "Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: {}",
        used.join(",")
    )))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(ErrorCode::InvalidParameterValueException, message)
}

/// The CreateFunction input this local cloud reads (the SDK sends more,
/// e.g. tracing and logging settings, which are accepted and ignored).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateFunctionInput {
    function_name: Option<String>,
    runtime: Option<String>,
    role: Option<String>,
    handler: Option<String>,
    code: Option<CodeInput>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    environment: Option<EnvironmentInput>,
    architectures: Option<Vec<String>>,
    package_type: Option<String>,
    publish: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CodeInput {
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    image_uri: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EnvironmentInput {
    variables: Option<BTreeMap<String, String>>,
}

fn validate_timeout(seconds: i64) -> Result<u32, ApiError> {
    match u32::try_from(seconds) {
        Ok(seconds @ 1..=900) => Ok(seconds),
        _ => Err(ApiError::constraint(
            seconds,
            "timeout",
            "Member must have value between 1 and 900",
        )),
    }
}

fn validate_memory(megabytes: i64) -> Result<u32, ApiError> {
    match u32::try_from(megabytes) {
        Ok(megabytes @ 128..=10240) => Ok(megabytes),
        _ => Err(ApiError::constraint(
            megabytes,
            "memorySize",
            "Member must have value between 128 and 10240",
        )),
    }
}

fn validate_architectures(architectures: Vec<String>) -> Result<Vec<String>, ApiError> {
    if architectures.len() != 1 || !architectures.iter().all(|a| a == "x86_64" || a == "arm64") {
        return Err(ApiError::constraint(
            format!("{architectures:?}"),
            "architectures",
            "Member must have length 1 and each member must be x86_64 or arm64",
        ));
    }
    Ok(architectures)
}

fn valid_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Creates a function in the caller's account.
pub fn create(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: CreateFunctionInput = parse_json_body(body)?;
    let name = input
        .function_name
        .ok_or_else(|| ApiError::constraint("null", "functionName", "Member must not be null"))?;
    if !valid_function_name(&name) {
        return Err(ApiError::constraint(
            &name,
            "functionName",
            "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]{1,64}",
        ));
    }
    let role = input
        .role
        .ok_or_else(|| ApiError::constraint("null", "role", "Member must not be null"))?;
    if input.package_type.as_deref().is_some_and(|t| t != "Zip") {
        return Err(invalid(
            "streamgate-local runs zip packages only; PackageType Image is not supported",
        ));
    }
    let runtime = input.runtime.unwrap_or_default();
    if !SUPPORTED_RUNTIMES.contains(&runtime.as_str()) {
        return Err(invalid(format!(
            "The runtime parameter of {runtime} is not supported by streamgate-local, which runs functions whose zip holds a bootstrap: provided.al2023 or provided.al2"
        )));
    }
    let timeout_seconds = input.timeout.map_or(Ok(3), validate_timeout)?;
    let memory_mb = input.memory_size.map_or(Ok(128), validate_memory)?;
    let architectures = validate_architectures(
        input
            .architectures
            .unwrap_or_else(|| vec!["x86_64".to_owned()]),
    )?;
    let code = input
        .code
        .ok_or_else(|| ApiError::constraint("null", "code", "Member must not be null"))?;
    if code.s3_bucket.is_some() || code.image_uri.is_some() {
        return Err(invalid(
            "streamgate-local takes function code as ZipFile only, not from S3 or an image",
        ));
    }
    let zip_text = code
        .zip_file
        .ok_or_else(|| invalid("Please provide a source for function code."))?;
    let zip = base64::decode(&zip_text)
        .ok_or_else(|| ApiError::serialization("Code.ZipFile is not valid base64"))?;
    check_zip(&zip)?;
    check_environment(
        input
            .environment
            .as_ref()
            .and_then(|e| e.variables.as_ref()),
    )?;
    if let Some(tags) = &input.tags {
        super::tags::check_tags(tags)?;
    }

    let account = caller.account().to_owned();
    let arn = format!("arn:aws:lambda:{region}:{account}:function:{name}");
    authorize(
        cloud,
        caller,
        &plain_access("lambda:CreateFunction", &arn, &account),
    )?;
    check_execution_role(cloud, caller, &account, &arn, &role)?;

    let key = FunctionKey {
        account,
        region: region.to_owned(),
        name: name.clone(),
    };
    let function = Function {
        arn: arn.clone(),
        runtime,
        role,
        handler: input.handler.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        timeout_seconds,
        memory_mb,
        architectures,
        environment: input
            .environment
            .and_then(|e| e.variables)
            .unwrap_or_default(),
        code_sha256: base64::encode(&Sha256::digest(&zip)),
        zip,
        last_modified_millis: cloud.clock.now_millis(),
        revision_id: revision_id(cloud),
    };
    let configuration = configuration_json(&function);
    {
        let mut functions = lock(&cloud.functions.functions);
        if functions.contains_key(&key) {
            return Err(ApiError::new(
                ErrorCode::ResourceConflictException,
                format!("Function already exist: {name}"),
            ));
        }
        functions.insert(key.clone(), function);
    }
    if let Some(tags) = input.tags {
        cloud.lambda_tags.merge(&arn, tags)?;
    }
    if input.publish == Some(true) {
        // Publish: version 1 is made at once, and its configuration answers.
        let version = super::versions::publish_latest(cloud, &key, &arn, Default::default())?;
        return Ok(json_reply(201, version.to_string()));
    }
    Ok(json_reply(201, configuration.to_string()))
}

/// Lambda's answer to a `RevisionId` that is not the function's current one.
pub(crate) fn stale_revision() -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailedException,
        "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
    )
}

/// Checks that `zip` is a zip archive: it starts with a local file header
/// or, for an empty archive, with the end of central directory record.
fn check_zip(zip: &[u8]) -> Result<(), ApiError> {
    if zip.len() > MAX_ZIP_BYTES {
        return Err(ApiError::new(
            ErrorCode::ValidationException,
            format!(
                "Unzipped size must be smaller than {MAX_ZIP_BYTES} bytes; the zip has {} bytes",
                zip.len()
            ),
        ));
    }
    if zip.starts_with(b"PK\x03\x04") || zip.starts_with(b"PK\x05\x06") {
        Ok(())
    } else {
        Err(invalid(
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        ))
    }
}

/// An access request on a Lambda resource without a resource policy
/// (creating a function, passing a role, listing functions).
pub(crate) fn plain_access<'a>(
    action: &'a str,
    resource: &'a str,
    account: &'a str,
) -> AccessRequest<'a> {
    AccessRequest {
        action,
        resource,
        resource_account: account,
        resource_policy: None,
        resource_policy_required: false,
        encrypted_with_aws_managed_key: false,
    }
}

/// The checks AWS makes on an execution role: the caller may pass it
/// (`iam:PassRole`), it exists in the function's account, and its trust
/// policy lets `lambda.amazonaws.com` assume it. Lambda assumes the role with
/// `aws:SourceAccount` and `aws:SourceArn` set to the function's account and
/// ARN, so trust policies guarded against the confused deputy work.
fn check_execution_role(
    cloud: &Cloud,
    caller: &Caller,
    function_account: &str,
    function_arn: &str,
    role_arn: &str,
) -> Result<(), ApiError> {
    let cannot_assume =
        || invalid("The role defined for the function cannot be assumed by Lambda.");
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let ["arn", "aws", "iam", "", role_account, resource] = parts.as_slice() else {
        return Err(ApiError::constraint(
            role_arn,
            "role",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ));
    };
    let Some(role_name) = resource
        .strip_prefix("role/")
        .and_then(|path| path.rsplit('/').next())
    else {
        return Err(ApiError::constraint(
            role_arn,
            "role",
            "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+",
        ));
    };
    // Lambda refuses a role of another account before it looks at PassRole.
    if *role_account != function_account {
        return Err(cannot_assume());
    }
    authorize(
        cloud,
        caller,
        &plain_access("iam:PassRole", role_arn, role_account),
    )?;
    let account = cloud.account(role_account).ok_or_else(cannot_assume)?;
    let trust_policy = {
        let iam = lock(&account.iam);
        let role = iam.roles.get(role_name).ok_or_else(cannot_assume)?;
        if role.arn != role_arn {
            return Err(cannot_assume());
        }
        role.trust_policy.clone()
    };
    let document = cloud
        .parsed_policy(&trust_policy)
        .map_err(|_| cannot_assume())?;
    let principal = Principal::service("lambda.amazonaws.com").map_err(|_| cannot_assume())?;
    let owner = role_account.parse().map_err(|_| cannot_assume())?;
    let set = PolicySet::new()
        .with_resource_owner(owner)
        .with_resource_policy(&document)
        .requiring_resource_policy();
    let request = Request::new(principal, "sts:AssumeRole", role_arn)
        .with_context("aws:SourceAccount", function_account)
        .with_context("aws:SourceArn", function_arn);
    if eval::evaluate(&request, &set).is_allowed() {
        Ok(())
    } else {
        Err(cannot_assume())
    }
}

fn revision_id(cloud: &Cloud) -> String {
    let hex = cloud.unique_token("", 32, b"0123456789abcdef");
    let part = |range: std::ops::Range<usize>| hex.get(range).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// Lambda's `LastModified`: `2024-01-31T12:00:00.000+0000`.
fn last_modified(millis: u64) -> String {
    let iso = clock::iso8601(millis);
    match iso.strip_suffix('Z') {
        Some(stem) => format!("{stem}+0000"),
        None => iso,
    }
}

/// The `FunctionConfiguration` shape.
pub fn configuration_json(function: &Function) -> Value {
    let name = function.arn.rsplit(':').next().unwrap_or_default();
    let mut configuration = json!({
        "FunctionName": name,
        "FunctionArn": function.arn,
        "Runtime": function.runtime,
        "Role": function.role,
        "Handler": function.handler,
        "CodeSize": function.zip.len(),
        "Description": function.description,
        "Timeout": function.timeout_seconds,
        "MemorySize": function.memory_mb,
        "LastModified": last_modified(function.last_modified_millis),
        "CodeSha256": function.code_sha256,
        "Version": "$LATEST",
        "TracingConfig": { "Mode": "PassThrough" },
        "RevisionId": function.revision_id,
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": function.architectures,
        "EphemeralStorage": { "Size": 512 },
    });
    if !function.environment.is_empty()
        && let Some(object) = configuration.as_object_mut()
    {
        object.insert(
            "Environment".to_owned(),
            json!({ "Variables": function.environment }),
        );
    }
    configuration
}

/// Resolves a function name as Lambda accepts it (name, `ACCOUNT:function:NAME`
/// or a full ARN, optionally with `:$LATEST`) to its key; `qualifier` is
/// the `Qualifier` query parameter.
pub(crate) fn resolve(
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<(FunctionKey, String), ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    match qualifier.as_deref() {
        None | Some("$LATEST") => Ok((key, arn)),
        Some(other) => Err(ApiError::not_found(format!(
            "Function not found: {arn}:{other}"
        ))),
    }
}

/// [`resolve`]s `given`, then checks that `caller` may do `action` on the
/// function, with the function policy where it can grant `action`.
pub(crate) fn resolve_authorized(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    action: &str,
) -> Result<(FunctionKey, String), ApiError> {
    let (key, arn) = resolve(caller, region, given, qualifier)?;
    super::permissions::authorize_on_function(cloud, caller, &key, None, action, &arn, &[])?;
    Ok((key, arn))
}

/// [`resolve`], giving the qualifier (a version or an alias, from the name
/// or the `Qualifier` parameter) instead of refusing it.
pub(crate) fn resolve_qualified(
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<(FunctionKey, String, Option<String>), ApiError> {
    let parts: Vec<&str> = given.split(':').collect();
    let (account, region, name, version) = match parts.as_slice() {
        [name] => (caller.account(), region, *name, None),
        [name, version] => (caller.account(), region, *name, Some(*version)),
        [account, "function", name] => (*account, region, *name, None),
        [account, "function", name, version] => (*account, region, *name, Some(*version)),
        [
            "arn",
            "aws",
            "lambda",
            arn_region,
            account,
            "function",
            name,
        ] => (*account, *arn_region, *name, None),
        [
            "arn",
            "aws",
            "lambda",
            arn_region,
            account,
            "function",
            name,
            version,
        ] => (*account, *arn_region, *name, Some(*version)),
        _ => {
            return Err(ApiError::constraint(
                given,
                "functionName",
                "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
            ));
        }
    };
    if !valid_function_name(name) || account.len() != 12 {
        return Err(ApiError::constraint(
            given,
            "functionName",
            "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?",
        ));
    }
    let arn = format!("arn:aws:lambda:{region}:{account}:function:{name}");
    let key = FunctionKey {
        account: account.to_owned(),
        region: region.to_owned(),
        name: name.to_owned(),
    };
    Ok((key, arn, version.or(qualifier).map(str::to_owned)))
}

/// The ARN a request named, for authorization: qualified by a version or
/// alias when one was given, unqualified for `$LATEST` or none.
pub(crate) fn called_arn(arn: &str, qualifier: Option<&str>) -> String {
    match qualifier {
        Some(q) if q != "$LATEST" => format!("{arn}:{q}"),
        _ => arn.to_owned(),
    }
}

/// GetFunction (`with_code`) or GetFunctionConfiguration, of `$LATEST` or
/// of the version a version number or alias names.
pub fn get(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
    with_code: bool,
) -> Result<Reply, ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    let action = if with_code {
        "lambda:GetFunction"
    } else {
        "lambda:GetFunctionConfiguration"
    };
    let (_, target) = super::permissions::authorize_called(
        cloud,
        caller,
        &key,
        &arn,
        qualifier.as_deref(),
        action,
    )?;
    let configuration = super::versions::qualified_configuration_json(&target);
    let body = if with_code {
        // AWS gives a presigned S3 URL in Code.Location; this cloud has no
        // S3, so only the repository type is reported.
        let mut body =
            json!({ "Configuration": configuration, "Code": { "RepositoryType": "S3" } });
        super::tags::add_to_get_function(cloud, caller, &key, &arn, &mut body);
        super::concurrency::add_to_get_function(cloud, &key, &mut body);
        body
    } else {
        configuration
    };
    Ok(json_reply(200, body.to_string()))
}

/// ListFunctions in the caller's account and region, by name, with
/// `MaxItems` (1 to 10,000, but at most 50 a page) and `Marker` paging.
pub fn list(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    query: &[(String, String)],
) -> Result<Reply, ApiError> {
    let account = caller.account().to_owned();
    authorize(
        cloud,
        caller,
        &plain_access("lambda:ListFunctions", "*", &account),
    )?;
    // At most 50 a call, whatever MaxItems asks for, as Lambda answers.
    let page = Page::from_query(query, 50, 10_000)?.at_most(50);
    let functions = lock(&cloud.functions.functions);
    let (listed, next_marker) = page.take(
        functions
            .iter()
            .filter(|(key, _)| key.account == account && key.region == region)
            .map(|(key, function)| (key.name.as_str(), function)),
    );
    let page: Vec<Value> = listed.into_iter().map(configuration_json).collect();
    let mut body = json!({ "Functions": page });
    if let (Some(marker), Some(object)) = (next_marker, body.as_object_mut()) {
        object.insert("NextMarker".to_owned(), json!(marker));
    }
    Ok(json_reply(200, body.to_string()))
}

/// DeleteFunction: without a qualifier the whole function, its versions
/// and aliases; with a version number that version alone, unless an alias
/// points to it. `$LATEST` and aliases cannot be deleted this way, as on
/// AWS.
pub fn delete(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    qualifier: Option<&str>,
) -> Result<Reply, ApiError> {
    let (key, arn, qualifier) = resolve_qualified(caller, region, given, qualifier)?;
    let called = called_arn(&arn, qualifier.as_deref());
    super::permissions::authorize_on_function(
        cloud,
        caller,
        &key,
        qualifier.as_deref(),
        "lambda:DeleteFunction",
        &called,
        &[],
    )?;
    match qualifier.as_deref() {
        None => {}
        Some("$LATEST") => {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueException,
                "$LATEST version cannot be deleted without deleting the function.",
            ));
        }
        Some(version) => return super::versions::delete_version(cloud, &key, &arn, version),
    }
    let removed = lock(&cloud.functions.functions).remove(&key);
    lock(&cloud.functions.versions).remove(&key);
    lock(&cloud.functions.aliases).retain(|(function, _), _| *function != key);
    super::permissions::forget(cloud, &key, None);
    super::urls::forget(cloud, &key, None);
    cloud.executor.retire(&key);
    cloud.lambda_tags.forget(&arn);
    cloud.concurrency.forget(&key);
    cloud.event_invoke_configs.forget(&key);
    cloud.event_queue.drop_events(&key, None);
    match removed {
        Some(_) => Ok(json_reply(204, "")),
        None => Err(ApiError::not_found(format!("Function not found: {arn}"))),
    }
}

/// The function's log lines as text, one a line (a streamgate-local
/// extension: `GET /2015-03-31/functions/NAME/logs`, authorized as
/// `lambda:GetFunction`).
pub fn logs(cloud: &Cloud, caller: &Caller, region: &str, given: &str) -> Result<Reply, ApiError> {
    let (key, arn) = resolve_authorized(cloud, caller, region, given, None, "lambda:GetFunction")?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    let mut text = cloud.executor.logs(&key).join("\n");
    text.push('\n');
    let mut reply = json_reply(200, text);
    reply.content_type = "text/plain; charset=utf-8";
    Ok(reply)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateCodeInput {
    zip_file: Option<String>,
    s3_bucket: Option<String>,
    image_uri: Option<String>,
    publish: Option<bool>,
    revision_id: Option<String>,
    dry_run: Option<bool>,
    architectures: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateConfigurationInput {
    role: Option<String>,
    handler: Option<String>,
    description: Option<String>,
    timeout: Option<i64>,
    memory_size: Option<i64>,
    environment: Option<EnvironmentInput>,
    runtime: Option<String>,
    revision_id: Option<String>,
}

/// Replaces `key`'s function through `change`, with a new revision id and
/// modification time; running instances of the old code are retired.
/// With `expected_revision` (the request's `RevisionId`), a function whose
/// revision has moved on is left alone: PreconditionFailedException.
fn replace_function(
    cloud: &Cloud,
    key: &FunctionKey,
    arn: &str,
    expected_revision: Option<&str>,
    change: impl FnOnce(&mut Function),
) -> Result<Reply, ApiError> {
    let revision = revision_id(cloud);
    let now = cloud.clock.now_millis();
    let configuration = {
        let mut functions = lock(&cloud.functions.functions);
        let function = functions
            .get_mut(key)
            .ok_or_else(|| ApiError::not_found(format!("Function not found: {arn}")))?;
        if expected_revision.is_some_and(|expected| expected != function.revision_id) {
            return Err(stale_revision());
        }
        change(function);
        function.revision_id = revision;
        function.last_modified_millis = now;
        configuration_json(function)
    };
    cloud.executor.retire(key);
    Ok(json_reply(200, configuration.to_string()))
}

/// UpdateFunctionCode (`PUT .../functions/NAME/code`) from a ZipFile.
pub fn update_code(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: UpdateCodeInput = parse_json_body(body)?;
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:UpdateFunctionCode",
    )?;
    if input.s3_bucket.is_some() || input.image_uri.is_some() {
        return Err(invalid(
            "streamgate-local takes function code as ZipFile only, not from S3 or an image",
        ));
    }
    if input.dry_run == Some(true) {
        return Err(invalid(
            "streamgate-local does not implement DryRun for UpdateFunctionCode yet",
        ));
    }
    let architectures = input
        .architectures
        .map(validate_architectures)
        .transpose()?;
    let zip_text = input
        .zip_file
        .ok_or_else(|| invalid("Please provide a source for function code."))?;
    let zip = base64::decode(&zip_text)
        .ok_or_else(|| ApiError::serialization("ZipFile is not valid base64"))?;
    check_zip(&zip)?;
    let code_sha256 = base64::encode(&Sha256::digest(&zip));
    let updated = replace_function(
        cloud,
        &key,
        &arn,
        input.revision_id.as_deref(),
        |function| {
            function.zip = zip;
            function.code_sha256 = code_sha256;
            if let Some(architectures) = architectures {
                function.architectures = architectures;
            }
        },
    )?;
    if input.publish != Some(true) {
        return Ok(updated);
    }
    // Publish: the new code becomes a version, whose configuration answers.
    let version = super::versions::publish_latest(cloud, &key, &arn, Default::default())?;
    Ok(json_reply(200, version.to_string()))
}

/// UpdateFunctionConfiguration (`PUT .../functions/NAME/configuration`).
pub fn update_configuration(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: UpdateConfigurationInput = parse_json_body(body)?;
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:UpdateFunctionConfiguration",
    )?;
    let timeout = input.timeout.map(validate_timeout).transpose()?;
    let memory = input.memory_size.map(validate_memory).transpose()?;
    check_environment(
        input
            .environment
            .as_ref()
            .and_then(|e| e.variables.as_ref()),
    )?;
    if let Some(runtime) = &input.runtime
        && !SUPPORTED_RUNTIMES.contains(&runtime.as_str())
    {
        return Err(invalid(format!(
            "The runtime parameter of {runtime} is not supported by streamgate-local, which runs functions whose zip holds a bootstrap: provided.al2023 or provided.al2"
        )));
    }
    if let Some(role) = &input.role {
        check_execution_role(cloud, caller, &key.account, &arn, role)?;
    }
    replace_function(
        cloud,
        &key,
        &arn,
        input.revision_id.as_deref(),
        |function| {
            if let Some(role) = input.role {
                function.role = role;
            }
            if let Some(handler) = input.handler {
                function.handler = handler;
            }
            if let Some(description) = input.description {
                function.description = description;
            }
            if let Some(timeout) = timeout {
                function.timeout_seconds = timeout;
            }
            if let Some(memory) = memory {
                function.memory_mb = memory;
            }
            if let Some(environment) = input.environment {
                function.environment = environment.variables.unwrap_or_default();
            }
            if let Some(runtime) = input.runtime {
                function.runtime = runtime;
            }
        },
    )
}
