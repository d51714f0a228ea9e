//! Destroy: remove what the state file records, in reverse order —
//! mappings, functions, stream policies, role policies, tables, roles.
//! Works from the state file alone (a fresh process needs no desired
//! state). A piece already gone is fine; each removed piece leaves the
//! state file, so a failed destroy can simply be run again.

use crate::clients::{AccountClients, Accounts, Settling, Waits, pause, send_with_retries, settle};
use crate::error::{Failure, ProvisionError};
use crate::state::{Recorded, StateFile};
use streamgate_policy::arn::AccountId;

/// What destroy did to one recorded resource.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removal {
    /// It was deleted.
    Deleted(Recorded),
    /// It was already gone.
    AlreadyGone(Recorded),
}

impl std::fmt::Display for Removal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Deleted(record) => write!(f, "deleted {record}"),
            Self::AlreadyGone(record) => write!(f, "already gone: {record}"),
        }
    }
}

/// Removes everything `state` records, in reverse dependency order,
/// forgetting each record once its resource is gone.
pub async fn destroy(
    accounts: &Accounts,
    waits: &Waits,
    state: &mut StateFile,
) -> Result<Vec<Removal>, ProvisionError> {
    let records = state.resources.clone();
    remove_records(accounts, waits, state, records).await
}

/// Removes the resources of `records` (taken from `state`) in reverse
/// dependency order, forgetting each record once its resource is gone.
pub(crate) async fn remove_records(
    accounts: &Accounts,
    waits: &Waits,
    state: &mut StateFile,
    mut records: Vec<Recorded>,
) -> Result<Vec<Removal>, ProvisionError> {
    // Stable: within a kind, the most recently created goes first.
    records.reverse();
    records.sort_by_key(Recorded::destroy_rank);
    let mut removals = Vec::new();
    for record in records {
        let account: AccountId = record.account().parse()?;
        let clients = accounts
            .get(&account)
            .ok_or(ProvisionError::NoClients { account })?;
        let deleted = remove(clients, &record, waits).await?;
        state.forget(&record);
        removals.push(if deleted {
            Removal::Deleted(record)
        } else {
            Removal::AlreadyGone(record)
        });
    }
    Ok(removals)
}

/// Turns a "not found" answer into `Ok(false)`.
fn gone_is_fine(
    result: Result<(), Failure>,
    operation: &'static str,
    resource: &str,
) -> Result<bool, ProvisionError> {
    match result {
        Ok(()) => Ok(true),
        Err(failure) if failure.is_not_found() => Ok(false),
        Err(failure) => Err(failure.into_error(operation, resource.to_owned())),
    }
}

/// Deletes the mapping `uuid` and waits until it is gone; `Ok(false)`
/// when it was already gone.
pub(crate) async fn delete_mapping(
    clients: &AccountClients,
    uuid: &str,
    waits: &Waits,
) -> Result<bool, ProvisionError> {
    // Retried while the mapping is still Creating or Updating
    // (ResourceInUseException), polling as for any state change.
    let result = send_with_retries(
        || {
            clients
                .lambda
                .delete_event_source_mapping()
                .uuid(uuid)
                .send()
        },
        |failure| (failure.code == "ResourceInUseException").then_some(&waits.settle),
    )
    .await
    .map(|_| ());
    let deleted = gone_is_fine(result, "DeleteEventSourceMapping", uuid)?;
    // Deleting takes a moment on AWS; wait until it is gone so the
    // function can be deleted after it.
    let lookup = Lookup {
        operation: "GetEventSourceMapping",
        target: uuid,
        resource: format!("mapping {uuid}"),
        last_status: "Deleting",
    };
    wait_until_gone(waits, lookup, || async {
        clients
            .lambda
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Failure::of(&e))
    })
    .await?;
    Ok(deleted)
}

/// How [`wait_until_gone`] names what it looks up, in its errors.
struct Lookup<'a> {
    /// The AWS operation that looks the resource up.
    operation: &'static str,
    /// What that operation names in its error.
    target: &'a str,
    /// The resource in a [`ProvisionError::NotSettled`].
    resource: String,
    /// The status it was last seen in while still there.
    last_status: &'static str,
}

/// Looks the resource up with `look_up` until it answers "not found",
/// pausing between attempts as `waits.settle` says; any other failure is
/// returned as it is, and a resource still there after every attempt is
/// [`ProvisionError::NotSettled`].
async fn wait_until_gone<Probe, Answer>(
    waits: &Waits,
    lookup: Lookup<'_>,
    mut look_up: Probe,
) -> Result<(), ProvisionError>
where
    Probe: FnMut() -> Answer,
    Answer: std::future::Future<Output = Result<(), Failure>>,
{
    let Lookup {
        operation,
        target,
        resource,
        last_status,
    } = lookup;
    settle(waits, resource, "deleted", last_status, || {
        let answer = look_up();
        async move {
            match answer.await {
                Ok(()) => Ok(Settling::Pending(last_status.to_owned())),
                Err(failure) if failure.is_not_found() => Ok(Settling::Settled(())),
                Err(failure) => Err(failure.into_error(operation, target.to_owned())),
            }
        }
    })
    .await
}

/// Deletes the resource policy of `stream_arn` (only at revision
/// `expected_revision` when given, or at the revision read again when that
/// one turns out stale); `Ok(false)` when there was none.
/// Retried while DynamoDB throttles policy changes on the stream (about one
/// per 15 seconds: a delete may follow a put closely).
pub(crate) async fn delete_stream_policy(
    clients: &AccountClients,
    stream_arn: &str,
    expected_revision: Option<&str>,
    waits: &Waits,
) -> Result<bool, ProvisionError> {
    let mut expected_revision = expected_revision.map(str::to_owned);
    let mut retry = 0;
    let mut stale = 0;
    loop {
        let result = clients
            .dynamodb
            .delete_resource_policy()
            .resource_arn(stream_arn)
            .set_expected_revision_id(expected_revision.clone())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| Failure::of(&e));
        match result {
            Err(failure) if crate::apply::is_policy_throttle(&failure) => {
                retry += 1;
                if retry >= waits.policy_throttle.attempts {
                    return Err(failure.into_error("DeleteResourcePolicy", stream_arn.to_owned()));
                }
                pause(&waits.policy_throttle, retry).await;
            }
            // With an ExpectedRevisionId, PolicyNotFoundException also
            // means a stale revision (read from an eventually consistent
            // read, or the policy changed since): the policy may well be
            // there. Read it again and retry with the revision now there;
            // when none is read, a delete without a revision tells for
            // sure whether one is left.
            Err(failure)
                if failure.code == "PolicyNotFoundException" && expected_revision.is_some() =>
            {
                stale += 1;
                if stale >= waits.settle.attempts {
                    return Err(failure.into_error("DeleteResourcePolicy", stream_arn.to_owned()));
                }
                pause(&waits.settle, stale).await;
                expected_revision = crate::read::read_resource_policy(clients, stream_arn)
                    .await?
                    .map(|current| current.revision_id);
            }
            other => return gone_is_fine(other, "DeleteResourcePolicy", stream_arn),
        }
    }
}

/// Deletes the inline policy `policy` of `role`; `Ok(false)` when it was
/// already gone. Not retried: IAM deletes at once.
async fn delete_role_policy(
    clients: &AccountClients,
    role: &str,
    policy: &str,
) -> Result<bool, ProvisionError> {
    let result = clients
        .iam
        .delete_role_policy()
        .role_name(role)
        .policy_name(policy)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| Failure::of(&e));
    gone_is_fine(result, "DeleteRolePolicy", &format!("{role}/{policy}"))
}

async fn remove(
    clients: &AccountClients,
    record: &Recorded,
    waits: &Waits,
) -> Result<bool, ProvisionError> {
    match record {
        Recorded::Mapping { uuid, .. } => delete_mapping(clients, uuid, waits).await,
        Recorded::Function { name, .. } => {
            // Not retried: its mappings are gone (deleted and waited for
            // first), so a failure is rights or the function being gone.
            let result = clients
                .lambda
                .delete_function()
                .function_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Failure::of(&e));
            gone_is_fine(result, "DeleteFunction", name)
        }
        Recorded::StreamPolicy { stream_arn, .. } => {
            // No ExpectedRevisionId: destroy removes the policy whatever
            // its revision, as the provisioner owns the stream's policy.
            delete_stream_policy(clients, stream_arn, None, waits).await
        }
        Recorded::RolePolicy { role, policy, .. } => {
            delete_role_policy(clients, role, policy).await
        }
        Recorded::Table { name, .. } => {
            // Not retried: a failure is rights or deletion protection.
            let result = clients
                .dynamodb
                .delete_table()
                .table_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Failure::of(&e));
            let deleted = gone_is_fine(result, "DeleteTable", name)?;
            // A table is DELETING for a while on AWS; wait until it is gone.
            let lookup = Lookup {
                operation: "DescribeTable",
                target: name,
                resource: format!("table {name}"),
                last_status: "DELETING",
            };
            wait_until_gone(waits, lookup, || async {
                clients
                    .dynamodb
                    .describe_table()
                    .table_name(name)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Failure::of(&e))
            })
            .await?;
            Ok(deleted)
        }
        Recorded::Role { name, .. } => {
            // A role with policies cannot be deleted: remove any inline
            // policy left (one added by hand, say) first.
            if let Ok(listed) = clients
                .iam
                .list_role_policies()
                .role_name(name)
                .send()
                .await
            {
                for policy in listed.policy_names() {
                    delete_role_policy(clients, name, policy).await?;
                }
            }
            let result = clients
                .iam
                .delete_role()
                .role_name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Failure::of(&e));
            gone_is_fine(result, "DeleteRole", name)
        }
    }
}
