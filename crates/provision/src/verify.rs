//! Verify: every piece is in place (the plan against what exists has no
//! change) and every consumer role can read every stream it subscribes
//! to, evaluated offline with the policies fetched from both accounts.

use crate::apply::plan_against;
use crate::clients::Accounts;
use crate::doctor::{Diagnosis, DoctorInput, diagnose};
use crate::error::ProvisionError;
use crate::plan::{Action, Blocker, expected_stream, role_arn};
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

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for action in &self.drift {
            writeln!(f, "drift: {}", action.resource)?;
        }
        for blocker in &self.blockers {
            writeln!(f, "blocked: {blocker}")?;
        }
        for check in &self.access {
            let verdict = if check.diagnosis.is_healthy() {
                "can read"
            } else {
                "cannot read"
            };
            writeln!(f, "{} {verdict} {}", check.consumer, check.source)?;
            for finding in &check.diagnosis.findings {
                writeln!(f, "  - {finding}")?;
            }
        }
        Ok(())
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
    let mut access = Vec::new();
    for consumer in &desired.consumers {
        let role = role_arn(consumer)?;
        let identity_policies: Vec<_> = observed
            .roles
            .get(&(consumer.account.clone(), consumer.role_name.clone()))
            .and_then(|r| r.read_policy.clone())
            .into_iter()
            .collect();
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
                permissions_boundary: None,
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
        drift,
        blockers: plan.blockers,
        access,
    })
}
