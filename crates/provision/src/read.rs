//! Reading what exists into an [`Observed`] snapshot. Every call here is a
//! read (Get/Describe/List); "not found" answers become absent entries.

use crate::clients::{AccountClients, Accounts};
use crate::error::{Failure, ProvisionError};
use crate::observed::{
    Observed, ObservedFunction, ObservedMapping, ObservedPolicy, ObservedRole, ObservedStream,
    ObservedTable,
};
use crate::plan::expected_stream;
use crate::spec::{
    DesiredState, MappingParameters, ROLE_POLICY_NAME, StartingPosition, StreamViewType,
};
use streamgate_policy::arn::{AccountId, StreamArn};
use streamgate_policy::document::PolicyDocument;

/// The clients of `account`, or the error saying they are missing.
pub(crate) fn clients_of<'a>(
    accounts: &'a Accounts,
    account: &AccountId,
) -> Result<&'a AccountClients, ProvisionError> {
    accounts
        .get(account)
        .ok_or_else(|| ProvisionError::NoClients {
            account: account.clone(),
        })
}

/// The output of a read, or `None` when AWS answers that the resource does
/// not exist; any other failure is the error of `operation` on `resource`.
pub(crate) fn unless_not_found<Output, OperationError, Response>(
    answer: Result<Output, aws_sdk_iam::error::SdkError<OperationError, Response>>,
    operation: &'static str,
    resource: impl Into<String>,
) -> Result<Option<Output>, ProvisionError>
where
    OperationError: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    Response: std::fmt::Debug,
{
    match answer {
        Ok(output) => Ok(Some(output)),
        Err(error) => {
            let failure = Failure::of(&error);
            if failure.is_not_found() {
                Ok(None)
            } else {
                Err(failure.into_error(operation, resource))
            }
        }
    }
}

/// Decodes `%XX` escapes (IAM returns policy documents URL-encoded).
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
            index += 3;
            continue;
        }
        out.push(byte);
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses a policy as read from IAM (URL-encoded) or DynamoDB (plain).
pub(crate) fn parse_policy(text: &str, resource: &str) -> Result<PolicyDocument, ProvisionError> {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_owned()
    } else {
        percent_decode(text)
    };
    PolicyDocument::parse(&decoded).map_err(|source| ProvisionError::UnreadablePolicy {
        resource: resource.to_owned(),
        source,
    })
}

/// The role `name` with its trust policy and the provisioner's inline
/// policy, or `None` when there is no such role.
pub async fn read_role(
    clients: &AccountClients,
    account: &AccountId,
    name: &str,
) -> Result<Option<ObservedRole>, ProvisionError> {
    let resource = format!("role {account}/{name}");
    let answer = clients.iam.get_role().role_name(name).send().await;
    let Some(output) = unless_not_found(answer, "GetRole", &resource)? else {
        return Ok(None);
    };
    let Some(role) = output.role() else {
        return Ok(None);
    };
    let trust_policy = parse_policy(
        role.assume_role_policy_document().unwrap_or("{}"),
        &resource,
    )?;
    let read_policy = read_inline_policy(clients, name, ROLE_POLICY_NAME).await?;
    let read_policy = match read_policy {
        Some(text) => Some(parse_policy(
            &text,
            &format!("{resource} policy {ROLE_POLICY_NAME}"),
        )?),
        None => None,
    };
    Ok(Some(ObservedRole {
        arn: role.arn().to_owned(),
        trust_policy,
        read_policy,
    }))
}

/// The text of the inline policy `policy` on `role`, if there is one.
pub(crate) async fn read_inline_policy(
    clients: &AccountClients,
    role: &str,
    policy: &str,
) -> Result<Option<String>, ProvisionError> {
    let answer = clients
        .iam
        .get_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await;
    let output = unless_not_found(
        answer,
        "GetRolePolicy",
        format!("role {role} policy {policy}"),
    )?;
    Ok(output.map(|output| output.policy_document().to_owned()))
}

/// The table `name` with its latest stream and encryption, or `None`.
pub async fn read_table(
    clients: &AccountClients,
    account: &AccountId,
    name: &str,
) -> Result<Option<ObservedTable>, ProvisionError> {
    let answer = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await;
    let Some(output) =
        unless_not_found(answer, "DescribeTable", format!("table {account}/{name}"))?
    else {
        return Ok(None);
    };
    let Some(table) = output.table() else {
        return Ok(None);
    };
    let enabled_view = table
        .stream_specification()
        .filter(|s| s.stream_enabled())
        .and_then(|s| s.stream_view_type())
        .and_then(|v| StreamViewType::parse(v.as_str()));
    let stream = match table.latest_stream_arn() {
        Some(arn) => Some(ObservedStream {
            arn: arn.parse::<StreamArn>()?,
            view_type: enabled_view,
        }),
        None => None,
    };
    let kms_key_arn = table
        .sse_description()
        .filter(|d| d.sse_type().is_some_and(|t| t.as_str() == "KMS"))
        .map(|d| d.kms_master_key_arn().unwrap_or("unknown").to_owned());
    Ok(Some(ObservedTable {
        arn: table.table_arn().unwrap_or_default().to_owned(),
        status: table
            .table_status()
            .map_or("UNKNOWN", |s| s.as_str())
            .to_owned(),
        stream,
        kms_key_arn,
    }))
}

/// The resource policy of `arn` (a table or stream), or `None`.
pub async fn read_resource_policy(
    clients: &AccountClients,
    arn: &str,
) -> Result<Option<ObservedPolicy>, ProvisionError> {
    let answer = clients
        .dynamodb
        .get_resource_policy()
        .resource_arn(arn)
        .send()
        .await;
    let Some(output) = unless_not_found(answer, "GetResourcePolicy", arn)? else {
        return Ok(None);
    };
    let Some(text) = output.policy() else {
        return Ok(None);
    };
    Ok(Some(ObservedPolicy {
        document: parse_policy(text, arn)?,
        revision_id: output.revision_id().unwrap_or_default().to_owned(),
    }))
}

/// The function `name`, or `None`.
pub async fn read_function(
    clients: &AccountClients,
    account: &AccountId,
    name: &str,
) -> Result<Option<ObservedFunction>, ProvisionError> {
    let answer = clients
        .lambda
        .get_function()
        .function_name(name)
        .send()
        .await;
    let Some(output) =
        unless_not_found(answer, "GetFunction", format!("function {account}/{name}"))?
    else {
        return Ok(None);
    };
    let Some(configuration) = output.configuration() else {
        return Ok(None);
    };
    Ok(Some(ObservedFunction {
        arn: configuration.function_arn().unwrap_or_default().to_owned(),
        role: configuration.role().unwrap_or_default().to_owned(),
        runtime: configuration
            .runtime()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        handler: configuration.handler().unwrap_or_default().to_owned(),
        memory_mb: configuration.memory_size().unwrap_or_default(),
        timeout_seconds: configuration.timeout().unwrap_or_default(),
        code_sha256: configuration.code_sha256().unwrap_or_default().to_owned(),
    }))
}

/// Converts one mapping as Lambda describes it.
pub(crate) fn observed_mapping(
    mapping: &aws_sdk_lambda::types::EventSourceMappingConfiguration,
) -> ObservedMapping {
    let state = mapping.state().unwrap_or_default().to_owned();
    let defaults = MappingParameters::default();
    ObservedMapping {
        uuid: mapping.uuid().unwrap_or_default().to_owned(),
        function_arn: mapping.function_arn().unwrap_or_default().to_owned(),
        stream_arn: mapping.event_source_arn().unwrap_or_default().to_owned(),
        parameters: MappingParameters {
            batch_size: mapping.batch_size().unwrap_or(defaults.batch_size),
            maximum_batching_window_seconds: mapping
                .maximum_batching_window_in_seconds()
                .unwrap_or(0),
            maximum_retry_attempts: mapping.maximum_retry_attempts().unwrap_or(-1),
            maximum_record_age_seconds: mapping.maximum_record_age_in_seconds().unwrap_or(-1),
            parallelization_factor: mapping.parallelization_factor().unwrap_or(1),
            bisect_batch_on_function_error: mapping
                .bisect_batch_on_function_error()
                .unwrap_or(false),
            report_batch_item_failures: mapping
                .function_response_types()
                .iter()
                .any(|t| t.as_str() == "ReportBatchItemFailures"),
            starting_position: match mapping.starting_position().map(|p| p.as_str()) {
                Some("LATEST") => StartingPosition::Latest,
                _ => StartingPosition::TrimHorizon,
            },
            filters: mapping
                .filter_criteria()
                .map(|c| {
                    c.filters()
                        .iter()
                        .filter_map(|f| f.pattern().map(ToOwned::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            on_failure_destination: mapping
                .destination_config()
                .and_then(|d| d.on_failure())
                .and_then(|f| f.destination())
                .map(ToOwned::to_owned),
            enabled: !matches!(state.as_str(), "Disabled" | "Disabling"),
        },
        state,
    }
}

/// The event source mappings of function `name`.
pub async fn read_mappings(
    clients: &AccountClients,
    name: &str,
) -> Result<Vec<ObservedMapping>, ProvisionError> {
    let mut mappings = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let output = clients
            .lambda
            .list_event_source_mappings()
            .function_name(name)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("ListEventSourceMappings", name.to_owned()))?;
        mappings.extend(output.event_source_mappings().iter().map(observed_mapping));
        match output.next_marker() {
            Some(next) if !next.is_empty() => marker = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(mappings)
}

/// Reads every resource `desired` names from the accounts: roles and
/// their policies, tables and their streams' policies, functions and their
/// mappings. Only read calls are made.
pub async fn read_all(
    desired: &DesiredState,
    accounts: &Accounts,
) -> Result<Observed, ProvisionError> {
    let mut observed = Observed::default();
    for source in &desired.sources {
        let clients = clients_of(accounts, &source.account)?;
        if let Some(table) = read_table(clients, &source.account, &source.table_name).await? {
            observed
                .tables
                .insert((source.account.clone(), source.table_name.clone()), table);
        }
        let (stream, exists) = expected_stream(&desired.region, source, &observed)?;
        if exists && let Some(policy) = read_resource_policy(clients, &stream.to_string()).await? {
            observed.stream_policies.insert(stream.to_string(), policy);
        }
    }
    for consumer in &desired.consumers {
        let clients = clients_of(accounts, &consumer.account)?;
        if let Some(role) = read_role(clients, &consumer.account, &consumer.role_name).await? {
            observed
                .roles
                .insert((consumer.account.clone(), consumer.role_name.clone()), role);
        }
        if let Some(function) = &consumer.function
            && let Some(found) = read_function(clients, &consumer.account, &function.name).await?
        {
            observed
                .functions
                .insert((consumer.account.clone(), function.name.clone()), found);
            observed
                .mappings
                .extend(read_mappings(clients, &function.name).await?);
        }
    }
    Ok(observed)
}
