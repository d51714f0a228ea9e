//! Verify: every piece is in place (the plan against what exists has no
//! change) and every consumer role can read every stream it subscribes
//! to, evaluated offline with the policies fetched from both accounts.

use crate::apply::plan_against;
use crate::clients::Accounts;
use crate::doctor::{Diagnosis, DoctorInput, diagnose, read_role_policies};
use crate::error::ProvisionError;
use crate::plan::{Action, Blocker, Change, Resource, expected_stream, role_arn};
use crate::read::clients_of;
use std::fmt;

/// One consumer's access to one source, as the evaluator judges it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessCheck {
    /// The consumer's name.
    pub consumer: String,
    /// The source's name.
    pub source: String,
    /// The diagnosis (healthy when the role can read the stream).
    pub diagnosis: Diagnosis,
}

/// What verify found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Resources found as desired.
    pub in_place: Vec<Resource>,
    /// Resources that differ from the desired state.
    pub drift: Vec<Action>,
    /// Pre-check problems.
    pub blockers: Vec<Blocker>,
    /// One check per subscription.
    pub access: Vec<AccessCheck>,
}

impl VerifyReport {
    /// True when everything is in place and every read is allowed.
    pub fn is_ok(&self) -> bool {
        self.drift.is_empty()
            && self.blockers.is_empty()
            && self.access.iter().all(|a| a.diagnosis.is_healthy())
    }
}

impl VerifyReport {
    /// How many checks failed, and how many were made: one per resource,
    /// per blocker and per subscription.
    pub fn failures(&self) -> (usize, usize) {
        let failed = self.drift.len()
            + self.blockers.len()
            + self
                .access
                .iter()
                .filter(|a| !a.diagnosis.is_healthy())
                .count();
        let total =
            self.in_place.len() + self.drift.len() + self.blockers.len() + self.access.len();
        (failed, total)
    }
}

impl fmt::Display for VerifyReport {
    /// One line per check, `ok` or `FAIL`, the reasons indented under a
    /// failure, then a summary line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for resource in &self.in_place {
            writeln!(f, "ok    {resource} is as desired")?;
        }
        for action in &self.drift {
            let (what, detail) = match &action.change {
                Change::Create { detail } => ("is missing", detail.as_str()),
                Change::Update { detail } => ("differs from the desired state", detail.as_str()),
                Change::Delete { detail } => ("exists and is no longer wanted", detail.as_str()),
                Change::NoChange => ("is as desired", ""),
            };
            writeln!(f, "FAIL  {} {what}", action.resource)?;
            for line in detail.lines() {
                writeln!(f, "        {line}")?;
            }
        }
        for blocker in &self.blockers {
            writeln!(f, "FAIL  blocked: {blocker}")?;
        }
        for check in &self.access {
            if check.diagnosis.is_healthy() {
                writeln!(f, "ok    {} can read {}", check.consumer, check.source)?;
            } else {
                writeln!(f, "FAIL  {} cannot read {}", check.consumer, check.source)?;
            }
            for finding in &check.diagnosis.findings {
                writeln!(f, "        - {finding}")?;
            }
        }
        let (failed, total) = self.failures();
        if failed == 0 {
            writeln!(f, "verify: all {total} checks passed")
        } else {
            writeln!(f, "verify: {failed} of {total} checks failed")
        }
    }
}

/// Reads what exists (read calls only), compares it with `desired`, and
/// evaluates every subscription's read offline.
pub async fn verify(
    desired: &crate::spec::DesiredState,
    accounts: &Accounts,
) -> Result<VerifyReport, ProvisionError> {
    let (plan, observed) = plan_against(desired, accounts).await?;
    let drift = plan.changes().cloned().collect();
    let in_place = plan
        .actions
        .iter()
        .filter(|a| a.change == Change::NoChange)
        .map(|a| a.resource.clone())
        .collect();
    let mut access = Vec::new();
    for consumer in &desired.consumers {
        let role = role_arn(consumer)?;
        // Every policy of the role counts, not only the one apply writes:
        // a deny attached by hand, or a permissions boundary, stops the read.
        let clients = clients_of(accounts, role.account())?;
        let policies = read_role_policies(clients, &role).await?;
        let (role, identity_policies, identity_policy_names, permissions_boundary) = match policies
        {
            Some(p) => (p.role, p.identity, p.names, p.boundary),
            None => (role, Vec::new(), Vec::new(), None),
        };
        for subscription in &consumer.subscriptions {
            let Some(source) = desired.find_source(&subscription.source) else {
                continue;
            };
            let (stream, _) = expected_stream(&desired.region, source, &observed)?;
            let table = observed
                .tables
                .get(&(source.account.clone(), source.table_name.clone()))
                .cloned();
            let diagnosis = diagnose(&DoctorInput {
                role: role.clone(),
                stream: stream.clone(),
                consumer_region: Some(desired.region.clone()),
                identity_policies: identity_policies.clone(),
                identity_policy_names: identity_policy_names.clone(),
                permissions_boundary: permissions_boundary.clone(),
                stream_policy: observed
                    .stream_policies
                    .get(&stream.to_string())
                    .map(|p| p.document.clone()),
                table,
                customer_managed_keys: source.customer_managed_key.iter().cloned().collect(),
            })?;
            access.push(AccessCheck {
                consumer: consumer.name.clone(),
                source: source.name.clone(),
                diagnosis,
            });
        }
    }
    Ok(VerifyReport {
        in_place,
        drift,
        blockers: plan.blockers,
        access,
    })
}
