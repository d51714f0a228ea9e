//! Apply: make the accounts match the desired state, idempotently and in
//! order — tables with their streams, roles with their trust policies, the
//! roles' read policies, the streams' resource policies, functions, event
//! source mappings.
//!
//! Apply reads everything first and plans; when the plan has no change it
//! returns without a single write call. Otherwise each resource that
//! differs is written, with the waits and retries AWS needs (each call
//! site says which and why). A failure half-way leaves the state file
//! holding what was created so far; applying again reads afresh and
//! carries on from there.

use crate::clients::{
    AccountClients, Accounts, Settling, Waits, next_retry, pause, send_with_retries, settle,
};
use crate::destroy::{Removal, remove_records};
use crate::error::{Failure, ProvisionError};
use crate::observed::Observed;
use crate::plan::{
    Action, Blocker, Change, Plan, Resource, code_sha256, function_arn, leftovers, plan_with_state,
    role_arn, role_policy, stream_policy, trust_policy,
};
use crate::read::{clients_of, read_all, read_function, read_mappings, read_table};
use crate::spec::{
    Consumer, DesiredState, FunctionSpec, MappingParameters, ROLE_POLICY_NAME, Source,
};
use crate::state::{Recorded, StateFile};
use std::collections::BTreeMap;
use streamgate_policy::arn::{AccountId, StreamArn};
use streamgate_policy::lint::{PolicyType, Severity, lint};

/// What apply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplyReport {
    /// The plan it carried out (all `NoChange` when nothing was written).
    pub plan: Plan,
    /// The resources of earlier applies it removed because the desired
    /// state no longer names them.
    pub removed: Vec<Removal>,
}

/// Checks that every account the desired state names has clients, that
/// they are configured for the desired Region and that their credentials
/// belong to that account (STS GetCallerIdentity, a read).
pub async fn precheck(desired: &DesiredState, accounts: &Accounts) -> Result<(), ProvisionError> {
    let mut needed: Vec<&AccountId> = desired.sources.iter().map(|s| &s.account).collect();
    needed.extend(desired.consumers.iter().map(|c| &c.account));
    needed.sort();
    needed.dedup();
    for account in needed {
        let clients = clients_of(accounts, account)?;
        if clients.region.as_deref() != Some(desired.region.as_str()) {
            return Err(ProvisionError::RegionMismatch {
                account: account.clone(),
                configured: clients.region.clone().unwrap_or_else(|| "none".to_owned()),
                desired: desired.region.clone(),
            });
        }
        // Not retried: a read that fails only on bad credentials.
        let identity = clients
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("GetCallerIdentity", account.to_string()))?;
        let actual = identity.account().unwrap_or_default();
        if actual != account.as_str() {
            return Err(ProvisionError::AccountMismatch {
                expected: account.clone(),
                actual: actual.to_owned(),
            });
        }
    }
    Ok(())
}

/// Reads what exists and plans, after the pre-checks. Knows nothing of
/// what earlier applies created, so it plans no deletion of resources the
/// desired state no longer names; [`plan_against_state`] does.
pub async fn plan_against(
    desired: &DesiredState,
    accounts: &Accounts,
) -> Result<(Plan, Observed), ProvisionError> {
    plan_against_state(desired, accounts, &StateFile::new()).await
}

/// Reads what exists and plans, after the pre-checks, with a `Delete` of
/// every resource `state` records that the desired state no longer names
/// (what [`apply`] with the same state file will remove).
pub async fn plan_against_state(
    desired: &DesiredState,
    accounts: &Accounts,
    state: &StateFile,
) -> Result<(Plan, Observed), ProvisionError> {
    desired
        .validate()
        .map_err(|e| ProvisionError::Plan(crate::plan::PlanError::Invalid(e)))?;
    precheck(desired, accounts).await?;
    let observed = read_all(desired, accounts).await?;
    Ok((plan_with_state(desired, &observed, state)?, observed))
}

fn change_of<'a>(plan: &'a Plan, resource: &Resource) -> Option<&'a Change> {
    plan.actions
        .iter()
        .find(|a| &a.resource == resource)
        .map(|a: &Action| &a.change)
}

fn needs_write(plan: &Plan, resource: &Resource) -> bool {
    change_of(plan, resource).is_some_and(|c| !matches!(c, Change::NoChange))
}

fn is_invalid_principal(failure: &Failure) -> bool {
    failure.message.contains("Invalid principal")
}

pub(crate) fn is_policy_throttle(failure: &Failure) -> bool {
    matches!(
        failure.code.as_str(),
        "LimitExceededException" | "ResourceInUseException" | "ThrottlingException"
    )
}

/// Lambda's answers while a new role, or a grant just added to a role, has
/// not reached Lambda yet (IAM propagation): the role "cannot be assumed",
/// the stream cannot be read ("Cannot access stream"), or the on-failure
/// destination cannot be written ("The provided execution role does not
/// have permissions to call SendMessage on SQS"; other services' wording
/// asks to "ensure the role can perform" the action).
fn is_role_not_ready(failure: &Failure) -> bool {
    failure.code == "InvalidParameterValueException"
        && [
            "cannot be assumed",
            "Cannot access stream",
            "execution role does not have permissions",
            "ensure the role can perform",
        ]
        .iter()
        .any(|pattern| failure.message.contains(pattern))
}

/// Makes the accounts match `desired`, recording what it creates in
/// `state` as it goes (save `state` afterwards even when apply fails).
pub async fn apply(
    desired: &DesiredState,
    accounts: &Accounts,
    waits: &Waits,
    state: &mut StateFile,
) -> Result<ApplyReport, ProvisionError> {
    let (plan, observed) = plan_against_state(desired, accounts, state).await?;
    if !plan.blockers.is_empty() {
        return Err(ProvisionError::Blocked(plan.blockers));
    }
    if plan.is_empty() {
        return Ok(ApplyReport {
            plan,
            removed: Vec::new(),
        });
    }
    let region = desired.region.as_str();

    // Leftover mappings and functions go first, so nothing polls a stream
    // while its grants are withdrawn; the other leftovers go last, after
    // the stream policies stopped naming the roles about to be deleted.
    let (early, late): (Vec<Recorded>, Vec<Recorded>) = leftovers(desired, state)
        .into_iter()
        .partition(|r| matches!(r, Recorded::Mapping { .. } | Recorded::Function { .. }));
    let mut removed = remove_records(accounts, waits, state, early).await?;

    let mut streams: BTreeMap<String, StreamArn> = BTreeMap::new();
    for source in &desired.sources {
        let clients = clients_of(accounts, &source.account)?;
        let stream = ensure_table(source, clients, &plan, waits, state).await?;
        streams.insert(source.name.clone(), stream);
    }

    for consumer in &desired.consumers {
        let clients = clients_of(accounts, &consumer.account)?;
        ensure_role(consumer, clients, &plan, &observed, state).await?;
    }
    for consumer in &desired.consumers {
        let clients = clients_of(accounts, &consumer.account)?;
        let consumer_streams: Vec<StreamArn> = consumer
            .subscriptions
            .iter()
            .filter_map(|s| streams.get(&s.source).cloned())
            .collect();
        let resource = Resource::RolePolicy {
            account: consumer.account.clone(),
            role: consumer.role_name.clone(),
        };
        let keys = crate::plan::subscribed_keys(desired, consumer);
        let Some(document) = role_policy(region, consumer, &consumer_streams, &keys)? else {
            if matches!(change_of(&plan, &resource), Some(Change::Delete { .. })) {
                // Not retried: it fails only on permissions or a missing
                // policy, and a missing policy is what is wanted.
                let result = clients
                    .iam
                    .delete_role_policy()
                    .role_name(&consumer.role_name)
                    .policy_name(ROLE_POLICY_NAME)
                    .send()
                    .await;
                if let Err(error) = result {
                    let failure = Failure::of(&error);
                    if !failure.is_not_found() {
                        return Err(failure.into_error("DeleteRolePolicy", resource.to_string()));
                    }
                }
            }
            continue;
        };
        let current = observed
            .roles
            .get(&(consumer.account.clone(), consumer.role_name.clone()))
            .and_then(|r| r.read_policy.as_ref());
        // The plan may show a placeholder stream label; compare with the
        // document built from the real stream ARNs.
        if current == Some(&document) {
            continue;
        }
        // Checked again with the real stream ARNs (the plan may have seen
        // placeholder labels).
        if let Some(blocker) = crate::plan::role_policy_size_blocker(consumer, &document) {
            return Err(ProvisionError::Blocked(vec![blocker]));
        }
        // PutRolePolicy is not retried: it fails only on bad input or
        // permissions, which a retry does not fix.
        clients
            .iam
            .put_role_policy()
            .role_name(&consumer.role_name)
            .policy_name(ROLE_POLICY_NAME)
            .policy_document(document.to_json())
            .send()
            .await
            .map_err(|e| Failure::of(&e).into_error("PutRolePolicy", resource.to_string()))?;
        state.record(Recorded::RolePolicy {
            account: consumer.account.to_string(),
            role: consumer.role_name.clone(),
            policy: ROLE_POLICY_NAME.to_owned(),
        });
    }

    let readers = desired.readers();
    for source in &desired.sources {
        let Some(stream) = streams.get(&source.name) else {
            continue;
        };
        let source_readers = readers
            .get(source.name.as_str())
            .cloned()
            .unwrap_or_default();
        let clients = clients_of(accounts, &source.account)?;
        let Some(document) = stream_policy(stream, &source_readers)? else {
            // No reader left: a policy still there would keep granting the
            // roles that stopped reading. Deleted with the revision read, so
            // a policy changed meanwhile is not lost unseen.
            if let Some(current) =
                crate::read::read_resource_policy(clients, &stream.to_string()).await?
            {
                crate::destroy::delete_stream_policy(
                    clients,
                    &stream.to_string(),
                    Some(&current.revision_id),
                    waits,
                )
                .await?;
                wait_policy_read_back(clients, stream, None, waits).await?;
            }
            continue;
        };
        let current = crate::read::read_resource_policy(clients, &stream.to_string()).await?;
        if current.as_ref().map(|p| &p.document) == Some(&document) {
            continue;
        }
        // Linted again with the real stream ARN (the plan saw a placeholder
        // label where the stream did not exist yet).
        let errors: Vec<Blocker> = lint(&document, PolicyType::Stream, Some(stream.as_arn()))
            .into_iter()
            .filter(|finding| finding.severity == Severity::Error)
            .map(|finding| Blocker::PolicyLint {
                resource: format!("stream policy {stream}"),
                code: finding.code.to_string(),
                path: finding.path.to_string(),
                message: finding.message,
            })
            .collect();
        if !errors.is_empty() {
            return Err(ProvisionError::Blocked(errors));
        }
        let expected = current.map_or_else(|| "NO_POLICY".to_owned(), |p| p.revision_id);
        let revision_id = put_stream_policy(clients, stream, &document, expected, waits).await?;
        wait_policy_read_back(clients, stream, Some(&revision_id), waits).await?;
        state.record(Recorded::StreamPolicy {
            account: source.account.to_string(),
            stream_arn: stream.to_string(),
            revision_id,
        });
    }

    for consumer in &desired.consumers {
        let Some(function) = &consumer.function else {
            continue;
        };
        let clients = clients_of(accounts, &consumer.account)?;
        ensure_function(region, consumer, function, clients, &plan, waits, state).await?;
        let function_arn = function_arn(region, consumer, function)?.to_string();
        let existing = read_mappings(clients, &function.name).await?;
        for subscription in &consumer.subscriptions {
            let Some(stream) = streams.get(&subscription.source) else {
                continue;
            };
            let stream = stream.to_string();
            let found = existing.iter().find(|m| m.stream_arn == stream);
            let needs_creating = match found {
                None => true,
                Some(mapping)
                    if mapping.parameters.starting_position
                        != subscription.parameters.starting_position =>
                {
                    // UpdateEventSourceMapping cannot change where a mapping
                    // starts reading: replace it.
                    remove_mapping(clients, &consumer.account, mapping, waits, state).await?;
                    true
                }
                Some(mapping) => {
                    if crate::plan::mapping_differences(mapping, &subscription.parameters)
                        .is_empty()
                    {
                        continue;
                    }
                    if is_mapping_in_transition(&mapping.state) {
                        wait_mapping_settled(clients, &mapping.uuid, waits).await?;
                    }
                    update_mapping(clients, mapping, &subscription.parameters).await?;
                    wait_mapping(clients, &mapping.uuid, &subscription.parameters, waits).await?;
                    false
                }
            };
            if needs_creating {
                let uuid = create_mapping(
                    clients,
                    &function.name,
                    &stream,
                    &subscription.parameters,
                    waits,
                )
                .await?;
                state.record(Recorded::Mapping {
                    account: consumer.account.to_string(),
                    uuid: uuid.clone(),
                    function_arn: function_arn.clone(),
                    stream_arn: stream.clone(),
                });
                wait_mapping(clients, &uuid, &subscription.parameters, waits).await?;
            }
        }
        // Mappings from an old stream of a source's table (its view type
        // changed) would read a stream that no longer grows.
        let current: Vec<StreamArn> = consumer
            .subscriptions
            .iter()
            .filter_map(|s| streams.get(&s.source).cloned())
            .collect();
        for mapping in &existing {
            if crate::plan::is_stale_stream(&mapping.stream_arn, &current) {
                remove_mapping(clients, &consumer.account, mapping, waits, state).await?;
            }
        }
    }
    removed.extend(remove_records(accounts, waits, state, late).await?);
    Ok(ApplyReport { plan, removed })
}

async fn ensure_table(
    source: &Source,
    clients: &AccountClients,
    plan: &Plan,
    waits: &Waits,
    state: &mut StateFile,
) -> Result<StreamArn, ProvisionError> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        StreamSpecification, StreamViewType,
    };
    let resource = Resource::Table {
        account: source.account.clone(),
        name: source.table_name.clone(),
    };
    let name = source.table_name.as_str();
    let build_error = |e: aws_sdk_dynamodb::error::BuildError| ProvisionError::Aws {
        operation: "CreateTable",
        resource: resource.to_string(),
        code: "InvalidRequest".to_owned(),
        message: e.to_string(),
    };
    let view = StreamViewType::from(source.view_type.as_str());
    let enable = StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .map_err(build_error)?;
    match change_of(plan, &resource) {
        Some(Change::Create { .. }) => {
            let mut keys = vec![(&source.partition_key, KeyType::Hash)];
            if let Some(sort) = &source.sort_key {
                keys.push((sort, KeyType::Range));
            }
            let mut request = clients
                .dynamodb
                .create_table()
                .table_name(name)
                .billing_mode(BillingMode::PayPerRequest)
                .stream_specification(enable);
            for (key, key_type) in keys {
                request = request
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name(&key.name)
                            .attribute_type(ScalarAttributeType::from(key.key_type.as_str()))
                            .build()
                            .map_err(build_error)?,
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name(&key.name)
                            .key_type(key_type)
                            .build()
                            .map_err(build_error)?,
                    );
            }
            // CreateTable is not retried: a ResourceInUseException means the
            // table appeared since the read, and applying again adopts it.
            let output = request
                .send()
                .await
                .map_err(|e| Failure::of(&e).into_error("CreateTable", resource.to_string()))?;
            let arn = output
                .table_description()
                .and_then(|t| t.table_arn())
                .unwrap_or_default()
                .to_owned();
            state.record(Recorded::Table {
                account: source.account.to_string(),
                name: name.to_owned(),
                arn,
            });
        }
        Some(Change::Update { .. }) => {
            let current = read_table(clients, &source.account, name).await?;
            let current_stream = current.and_then(|t| t.stream);
            if current_stream
                .as_ref()
                .is_some_and(|s| s.view_type.is_some())
            {
                // A view type cannot change in place: disable, then enable
                // (which starts a new stream with a new label).
                let disable = StreamSpecification::builder()
                    .stream_enabled(false)
                    .build()
                    .map_err(build_error)?;
                update_stream(clients, name, &resource, disable, waits).await?;
                wait_table_stream(clients, source, WantedStream::Disabled, waits).await?;
            }
            update_stream(clients, name, &resource, enable, waits).await?;
            let wanted = WantedStream::Enabled {
                old: current_stream.map(|s| s.arn),
            };
            let table = wait_table_stream(clients, source, wanted, waits).await?;
            return enabled_stream(table, source, &resource);
        }
        _ => {}
    }
    let table =
        wait_table_stream(clients, source, WantedStream::Enabled { old: None }, waits).await?;
    enabled_stream(table, source, &resource)
}

/// The stream of `table`, which [`wait_table_stream`] saw enabled with the
/// desired view type.
fn enabled_stream(
    table: crate::observed::ObservedTable,
    source: &Source,
    resource: &Resource,
) -> Result<StreamArn, ProvisionError> {
    match table
        .stream
        .filter(|s| s.view_type == Some(source.view_type))
    {
        Some(stream) => Ok(stream.arn),
        None => Err(ProvisionError::NotSettled {
            resource: resource.to_string(),
            wanted: "stream-enabled",
            attempts: 1,
            last: "no enabled stream with the desired view type".to_owned(),
        }),
    }
}

/// UpdateTable of the stream specification, retried while the table is
/// still UPDATING from a change DescribeTable did not show yet
/// (ResourceInUseException; DescribeTable is eventually consistent),
/// polling as for any state change.
async fn update_stream(
    clients: &AccountClients,
    name: &str,
    resource: &Resource,
    specification: aws_sdk_dynamodb::types::StreamSpecification,
    waits: &Waits,
) -> Result<(), ProvisionError> {
    send_with_retries(
        || {
            clients
                .dynamodb
                .update_table()
                .table_name(name)
                .stream_specification(specification.clone())
                .send()
        },
        |failure| (failure.code == "ResourceInUseException").then_some(&waits.settle),
    )
    .await
    .map_err(|failure| failure.into_error("UpdateTable", resource.to_string()))?;
    Ok(())
}

/// The stream a table change waits for.
enum WantedStream {
    /// No enabled stream.
    Disabled,
    /// Enabled with the source's view type, on a stream other than `old`
    /// (each enabling starts a new stream, so a read still showing the old
    /// one is a stale read).
    Enabled {
        /// The table's latest stream before the change, if any.
        old: Option<StreamArn>,
    },
}

/// Polls DescribeTable until the table is ACTIVE with the stream as
/// `wanted` (creating a table or changing its stream takes seconds to
/// minutes on AWS, and DescribeTable is eventually consistent: right after
/// UpdateTable it may still show ACTIVE with the previous stream).
async fn wait_table_stream(
    clients: &AccountClients,
    source: &Source,
    wanted: WantedStream,
    waits: &Waits,
) -> Result<crate::observed::ObservedTable, ProvisionError> {
    let resource = format!("table {}/{}", source.account, source.table_name);
    let wanted_text = match wanted {
        WantedStream::Disabled => "ACTIVE with its stream disabled",
        WantedStream::Enabled { .. } => "ACTIVE with the desired stream",
    };
    let wanted = &wanted;
    settle(waits, resource, wanted_text, "missing", || async move {
        let Some(table) = read_table(clients, &source.account, &source.table_name).await? else {
            return Ok(Settling::Unseen);
        };
        let view = table.stream.as_ref().and_then(|s| s.view_type);
        let stream_as_wanted = match wanted {
            WantedStream::Disabled => view.is_none(),
            WantedStream::Enabled { old } => {
                view == Some(source.view_type)
                    && table.stream.as_ref().map(|s| &s.arn) != old.as_ref()
            }
        };
        Ok(if table.status == "ACTIVE" && stream_as_wanted {
            Settling::Settled(table)
        } else {
            let stream = match (&table.stream, view) {
                (Some(stream), Some(view)) => {
                    format!("stream {} {}", stream.arn.label(), view.as_str())
                }
                _ => "no enabled stream".to_owned(),
            };
            Settling::Pending(format!("{} with {stream}", table.status))
        })
    })
    .await
}

async fn ensure_role(
    consumer: &Consumer,
    clients: &AccountClients,
    plan: &Plan,
    observed: &Observed,
    state: &mut StateFile,
) -> Result<(), ProvisionError> {
    let resource = Resource::Role {
        account: consumer.account.clone(),
        name: consumer.role_name.clone(),
    };
    let trust = trust_policy(consumer).to_json();
    let exists = observed
        .roles
        .contains_key(&(consumer.account.clone(), consumer.role_name.clone()));
    match change_of(plan, &resource) {
        Some(Change::Create { .. }) if !exists => {
            // CreateRole is not retried: IAM answers at once; what takes
            // time is the role becoming usable elsewhere, handled where it
            // is used (stream policy, function, mapping).
            let output = clients
                .iam
                .create_role()
                .role_name(&consumer.role_name)
                .assume_role_policy_document(&trust)
                .description("streamgate consumer execution role")
                .send()
                .await
                .map_err(|e| Failure::of(&e).into_error("CreateRole", resource.to_string()))?;
            let arn = output
                .role()
                .map(|r| r.arn().to_owned())
                .unwrap_or_else(|| {
                    role_arn(consumer)
                        .map(|a| a.to_string())
                        .unwrap_or_default()
                });
            state.record(Recorded::Role {
                account: consumer.account.to_string(),
                name: consumer.role_name.clone(),
                arn,
            });
        }
        Some(Change::Update { .. }) => {
            // Not retried: IAM applies it at once; a failure is bad input.
            clients
                .iam
                .update_assume_role_policy()
                .role_name(&consumer.role_name)
                .policy_document(&trust)
                .send()
                .await
                .map_err(|e| {
                    Failure::of(&e).into_error("UpdateAssumeRolePolicy", resource.to_string())
                })?;
        }
        _ => {}
    }
    Ok(())
}

/// PutResourcePolicy with `ExpectedRevisionId`, retried while the new role
/// is not yet a valid principal (IAM propagation) and while DynamoDB
/// throttles policy changes on the resource (about one per 15 seconds).
/// DynamoDB answers a stale `ExpectedRevisionId` (the revision read came
/// from an eventually consistent read, or the policy changed since) with
/// PolicyNotFoundException: the policy is read again and the put retried
/// with the revision now there, polling as for any state change; when the
/// policy read is already `policy`, its revision is the answer.
async fn put_stream_policy(
    clients: &AccountClients,
    stream: &StreamArn,
    policy: &streamgate_policy::document::PolicyDocument,
    mut expected_revision: String,
    waits: &Waits,
) -> Result<String, ProvisionError> {
    let text = policy.to_json();
    let mut retry = 0;
    let mut stale = 0;
    loop {
        let result = clients
            .dynamodb
            .put_resource_policy()
            .resource_arn(stream.to_string())
            .policy(&text)
            .expected_revision_id(&expected_revision)
            .send()
            .await;
        match result {
            Ok(output) => return Ok(output.revision_id().unwrap_or_default().to_owned()),
            Err(error) => {
                let failure = Failure::of(&error);
                if failure.code == "PolicyNotFoundException" {
                    match next_retry(&mut stale, Some(&waits.settle)) {
                        Some(backoff) => pause(backoff, stale).await,
                        None => {
                            return Err(failure.into_error("PutResourcePolicy", stream.to_string()));
                        }
                    }
                    let current =
                        crate::read::read_resource_policy(clients, &stream.to_string()).await?;
                    match current {
                        Some(current) if current.document == *policy => {
                            return Ok(current.revision_id);
                        }
                        Some(current) => expected_revision = current.revision_id,
                        None => expected_revision = "NO_POLICY".to_owned(),
                    }
                    continue;
                }
                let backoff = if is_invalid_principal(&failure) {
                    Some(&waits.iam_propagation)
                } else if is_policy_throttle(&failure) {
                    Some(&waits.policy_throttle)
                } else {
                    None
                };
                match next_retry(&mut retry, backoff) {
                    Some(backoff) => pause(backoff, retry).await,
                    None => {
                        return Err(failure.into_error("PutResourcePolicy", stream.to_string()));
                    }
                }
            }
        }
    }
}

/// Polls GetResourcePolicy until it shows the revision `revision` (or no
/// policy, for `None`). GetResourcePolicy is eventually consistent: right
/// after a PutResourcePolicy it may answer PolicyNotFoundException or the
/// previous policy, and right after a delete the deleted one. Waiting here
/// means that verify, a plan or another apply that follows reads what was
/// written, and never writes it again against a stale revision.
async fn wait_policy_read_back(
    clients: &AccountClients,
    stream: &StreamArn,
    revision: Option<&str>,
    waits: &Waits,
) -> Result<(), ProvisionError> {
    let arn = stream.to_string();
    let wanted = if revision.is_some() {
        "the revision written"
    } else {
        "no policy"
    };
    let resource = format!("stream policy of {arn}");
    let arn = arn.as_str();
    settle(waits, resource, wanted, "", || async move {
        let current = crate::read::read_resource_policy(clients, arn).await?;
        let seen = current.as_ref().map(|p| p.revision_id.as_str());
        Ok(if seen == revision {
            Settling::Settled(())
        } else {
            Settling::Pending(
                seen.map_or_else(|| "no policy".to_owned(), |r| format!("revision {r}")),
            )
        })
    })
    .await
}

/// Deletes `mapping` of the consumer `account` and forgets it in the state
/// file.
async fn remove_mapping(
    clients: &AccountClients,
    account: &AccountId,
    mapping: &crate::observed::ObservedMapping,
    waits: &Waits,
    state: &mut StateFile,
) -> Result<(), ProvisionError> {
    crate::destroy::delete_mapping(clients, &mapping.uuid, waits).await?;
    state.forget(&Recorded::Mapping {
        account: account.to_string(),
        uuid: mapping.uuid.clone(),
        function_arn: mapping.function_arn.clone(),
        stream_arn: mapping.stream_arn.clone(),
    });
    Ok(())
}

async fn ensure_function(
    region: &str,
    consumer: &Consumer,
    function: &FunctionSpec,
    clients: &AccountClients,
    plan: &Plan,
    waits: &Waits,
    state: &mut StateFile,
) -> Result<(), ProvisionError> {
    use aws_sdk_lambda::primitives::Blob;
    use aws_sdk_lambda::types::{FunctionCode, Runtime};
    let resource = Resource::Function {
        account: consumer.account.clone(),
        name: function.name.clone(),
    };
    let role = role_arn(consumer)?;
    let current = read_function(clients, &consumer.account, &function.name).await?;
    match current {
        None => {
            // Retried while Lambda cannot assume the new role yet (IAM
            // propagation: "The role defined for the function cannot be
            // assumed by Lambda").
            let created = send_with_retries(
                || {
                    clients
                        .lambda
                        .create_function()
                        .function_name(&function.name)
                        .runtime(Runtime::from(function.runtime.as_str()))
                        .handler(&function.handler)
                        .role(role.to_string())
                        .memory_size(function.memory_mb)
                        .timeout(function.timeout_seconds)
                        .code(
                            FunctionCode::builder()
                                .zip_file(Blob::new(function.zip.clone()))
                                .build(),
                        )
                        .send()
                },
                |failure| is_role_not_ready(failure).then_some(&waits.iam_propagation),
            )
            .await
            .map_err(|failure| failure.into_error("CreateFunction", resource.to_string()))?;
            let arn = created.function_arn().unwrap_or_default().to_owned();
            let arn = if arn.is_empty() {
                function_arn(region, consumer, function)?.to_string()
            } else {
                arn
            };
            state.record(Recorded::Function {
                account: consumer.account.to_string(),
                name: function.name.clone(),
                arn,
            });
        }
        Some(existing) => {
            if !needs_write(plan, &resource)
                && crate::plan::function_differences(&existing, function, &role).is_empty()
            {
                return wait_function(clients, &function.name, waits).await;
            }
            // The updates are not retried: each waits for the function to
            // settle first (an update while the function is Pending or an
            // earlier update is InProgress fails with
            // ResourceConflictException), the first one included, as an
            // earlier apply or another tool may have just changed it.
            wait_function(clients, &function.name, waits).await?;
            if existing.code_sha256 != code_sha256(&function.zip) {
                clients
                    .lambda
                    .update_function_code()
                    .function_name(&function.name)
                    .zip_file(Blob::new(function.zip.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        Failure::of(&e).into_error("UpdateFunctionCode", resource.to_string())
                    })?;
                wait_function(clients, &function.name, waits).await?;
            }
            let configuration_differs = existing.role != role.to_string()
                || existing.runtime != function.runtime
                || existing.handler != function.handler
                || existing.memory_mb != function.memory_mb
                || existing.timeout_seconds != function.timeout_seconds;
            if configuration_differs {
                clients
                    .lambda
                    .update_function_configuration()
                    .function_name(&function.name)
                    .role(role.to_string())
                    .runtime(Runtime::from(function.runtime.as_str()))
                    .handler(&function.handler)
                    .memory_size(function.memory_mb)
                    .timeout(function.timeout_seconds)
                    .send()
                    .await
                    .map_err(|e| {
                        Failure::of(&e)
                            .into_error("UpdateFunctionConfiguration", resource.to_string())
                    })?;
            }
        }
    }
    wait_function(clients, &function.name, waits).await
}

/// Polls GetFunctionConfiguration until the function is Active and its
/// last update is done (a new function starts Pending; an update is
/// InProgress for a few seconds, and a second update meanwhile fails).
async fn wait_function(
    clients: &AccountClients,
    name: &str,
    waits: &Waits,
) -> Result<(), ProvisionError> {
    settle(
        waits,
        format!("function {name}"),
        "Active",
        "",
        || async move {
            let output = clients
                .lambda
                .get_function_configuration()
                .function_name(name)
                .send()
                .await
                .map_err(|e| {
                    Failure::of(&e).into_error("GetFunctionConfiguration", name.to_owned())
                })?;
            let state = output.state().map_or("Active", |s| s.as_str());
            let update = output
                .last_update_status()
                .map_or("Successful", |s| s.as_str());
            if state == "Failed" || update == "Failed" {
                return Err(ProvisionError::Aws {
                    operation: "GetFunctionConfiguration",
                    resource: name.to_owned(),
                    code: "FunctionFailed".to_owned(),
                    message: output
                        .state_reason()
                        .or(output.last_update_status_reason())
                        .unwrap_or("the function is in state Failed")
                        .to_owned(),
                });
            }
            Ok(if state == "Active" && update == "Successful" {
                Settling::Settled(())
            } else {
                Settling::Pending(format!("{state}/{update}"))
            })
        },
    )
    .await
}

fn mapping_request_parts(
    parameters: &MappingParameters,
) -> (
    Vec<aws_sdk_lambda::types::FunctionResponseType>,
    Option<aws_sdk_lambda::types::FilterCriteria>,
    Option<aws_sdk_lambda::types::DestinationConfig>,
) {
    use aws_sdk_lambda::types::{
        DestinationConfig, Filter, FilterCriteria, FunctionResponseType, OnFailure,
    };
    let response_types = if parameters.report_batch_item_failures {
        vec![FunctionResponseType::ReportBatchItemFailures]
    } else {
        Vec::new()
    };
    let filters = (!parameters.filters.is_empty()).then(|| {
        FilterCriteria::builder()
            .set_filters(Some(
                parameters
                    .filters
                    .iter()
                    .map(|p| Filter::builder().pattern(p).build())
                    .collect(),
            ))
            .build()
    });
    let destination = parameters.on_failure_destination.as_ref().map(|arn| {
        DestinationConfig::builder()
            .on_failure(OnFailure::builder().destination(arn).build())
            .build()
    });
    (response_types, filters, destination)
}

/// CreateEventSourceMapping, retried while the execution role is not yet
/// usable, cannot yet read the stream or write the on-failure destination
/// (IAM propagation of the new role and its policies, see
/// [`is_role_not_ready`]).
async fn create_mapping(
    clients: &AccountClients,
    function: &str,
    stream: &str,
    parameters: &MappingParameters,
    waits: &Waits,
) -> Result<String, ProvisionError> {
    use aws_sdk_lambda::types::EventSourcePosition;
    let (response_types, filters, destination) = mapping_request_parts(parameters);
    let created = send_with_retries(
        || {
            clients
                .lambda
                .create_event_source_mapping()
                .function_name(function)
                .event_source_arn(stream)
                .starting_position(EventSourcePosition::from(
                    parameters.starting_position.as_str(),
                ))
                .batch_size(parameters.batch_size)
                .maximum_batching_window_in_seconds(parameters.maximum_batching_window_seconds)
                .maximum_retry_attempts(parameters.maximum_retry_attempts)
                .maximum_record_age_in_seconds(parameters.maximum_record_age_seconds)
                .parallelization_factor(parameters.parallelization_factor)
                .bisect_batch_on_function_error(parameters.bisect_batch_on_function_error)
                .set_function_response_types(Some(response_types.clone()))
                .set_filter_criteria(filters.clone())
                .set_destination_config(destination.clone())
                .enabled(parameters.enabled)
                .send()
        },
        |failure| is_role_not_ready(failure).then_some(&waits.iam_propagation),
    )
    .await
    .map_err(|failure| {
        failure.into_error(
            "CreateEventSourceMapping",
            format!("{stream} -> {function}"),
        )
    })?;
    Ok(created.uuid().unwrap_or_default().to_owned())
}

/// UpdateEventSourceMapping of `current` to `parameters`; not retried (a
/// mapping still settling answers ResourceInUseException, and apply waits
/// for it to settle first). Lambda keeps what an update does not name, so
/// an on-failure destination that goes away is removed explicitly, with an
/// `OnFailure` that names no destination.
async fn update_mapping(
    clients: &AccountClients,
    current: &crate::observed::ObservedMapping,
    parameters: &MappingParameters,
) -> Result<(), ProvisionError> {
    let uuid = current.uuid.as_str();
    let (response_types, filters, mut destination) = mapping_request_parts(parameters);
    if destination.is_none() && current.parameters.on_failure_destination.is_some() {
        destination = Some(
            aws_sdk_lambda::types::DestinationConfig::builder()
                .on_failure(aws_sdk_lambda::types::OnFailure::builder().build())
                .build(),
        );
    }
    clients
        .lambda
        .update_event_source_mapping()
        .uuid(uuid)
        .batch_size(parameters.batch_size)
        .maximum_batching_window_in_seconds(parameters.maximum_batching_window_seconds)
        .maximum_retry_attempts(parameters.maximum_retry_attempts)
        .maximum_record_age_in_seconds(parameters.maximum_record_age_seconds)
        .parallelization_factor(parameters.parallelization_factor)
        .bisect_batch_on_function_error(parameters.bisect_batch_on_function_error)
        .set_function_response_types(Some(response_types))
        .filter_criteria(
            filters.unwrap_or_else(|| aws_sdk_lambda::types::FilterCriteria::builder().build()),
        )
        .set_destination_config(destination)
        .enabled(parameters.enabled)
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("UpdateEventSourceMapping", uuid.to_owned()))?;
    Ok(())
}

/// GetEventSourceMapping of `uuid`.
async fn get_mapping(
    clients: &AccountClients,
    uuid: &str,
) -> Result<
    aws_sdk_lambda::operation::get_event_source_mapping::GetEventSourceMappingOutput,
    ProvisionError,
> {
    clients
        .lambda
        .get_event_source_mapping()
        .uuid(uuid)
        .send()
        .await
        .map_err(|e| Failure::of(&e).into_error("GetEventSourceMapping", uuid.to_owned()))
}

/// A mapping state in which Lambda refuses an update
/// (ResourceInUseException) until it settles.
fn is_mapping_in_transition(state: &str) -> bool {
    matches!(state, "Creating" | "Updating" | "Enabling" | "Disabling")
}

/// Polls GetEventSourceMapping until the mapping has left Creating,
/// Updating, Enabling and Disabling, so that it may be updated.
async fn wait_mapping_settled(
    clients: &AccountClients,
    uuid: &str,
    waits: &Waits,
) -> Result<(), ProvisionError> {
    settle(
        waits,
        format!("mapping {uuid}"),
        "settled",
        "",
        || async move {
            let output = get_mapping(clients, uuid).await?;
            let state = output.state().unwrap_or_default();
            Ok(if is_mapping_in_transition(state) {
                Settling::Pending(state.to_owned())
            } else {
                Settling::Settled(())
            })
        },
    )
    .await
}

/// Polls GetEventSourceMapping until the mapping is Enabled (or Disabled
/// when asked for): Creating, Enabling and Updating take seconds on AWS.
async fn wait_mapping(
    clients: &AccountClients,
    uuid: &str,
    parameters: &MappingParameters,
    waits: &Waits,
) -> Result<(), ProvisionError> {
    let wanted = if parameters.enabled {
        "Enabled"
    } else {
        "Disabled"
    };
    settle(
        waits,
        format!("mapping {uuid}"),
        wanted,
        "",
        || async move {
            let output = get_mapping(clients, uuid).await?;
            let state = output.state().unwrap_or_default();
            Ok(if state == wanted {
                Settling::Settled(())
            } else {
                Settling::Pending(format!(
                    "{state} {}",
                    output.state_transition_reason().unwrap_or_default()
                ))
            })
        },
    )
    .await
}
