//! Fault injection for tests only: `DEMO_BILLING_FAULTS=fail=50,exit=2,seed=7`
//! makes the function fail about 50 in 1,000 records with a transient error
//! (they are reported as batch item failures and redelivered) and exit the
//! process right after applying about 2 in 1,000 records, before the batch
//! is acknowledged (the mapping retries the batch on a new instance, which
//! redelivers records that were already applied). Unset, nothing is
//! injected; never set it in a real deployment.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that turns fault injection on.
pub const FAULTS_VARIABLE: &str = "DEMO_BILLING_FAULTS";

/// A bad `DEMO_BILLING_FAULTS` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FaultPlanError {
    /// A part is not `name=number`, or names no known knob.
    #[error("{FAULTS_VARIABLE}: `{part}` is not fail=N, exit=N or seed=N")]
    UnknownPart {
        /// The offending part.
        part: String,
    },
    /// A rate above 1,000 per mille.
    #[error("{FAULTS_VARIABLE}: `{part}` is above 1000 per mille")]
    RateTooHigh {
        /// The offending part.
        part: String,
    },
}

/// What to inject, in records per thousand.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// Records failed with a transient error, per thousand.
    pub fail_per_mille: u64,
    /// Records after which the process exits, per thousand.
    pub exit_per_mille: u64,
    /// Seed of the choices (mixed with the process id, so each instance
    /// differs).
    pub seed: u64,
}

impl FaultPlan {
    /// Parses `fail=N,exit=N,seed=N` (any subset, any order).
    pub fn parse(text: &str) -> Result<Self, FaultPlanError> {
        let mut plan = Self::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let unknown = || FaultPlanError::UnknownPart {
                part: part.to_owned(),
            };
            let (name, value) = part.split_once('=').ok_or_else(unknown)?;
            let value: u64 = value.trim().parse().map_err(|_| unknown())?;
            let rate = |value: u64| {
                if value > 1000 {
                    Err(FaultPlanError::RateTooHigh {
                        part: part.to_owned(),
                    })
                } else {
                    Ok(value)
                }
            };
            match name.trim() {
                "fail" => plan.fail_per_mille = rate(value)?,
                "exit" => plan.exit_per_mille = rate(value)?,
                "seed" => plan.seed = value,
                _ => return Err(unknown()),
            }
        }
        Ok(plan)
    }

    /// The plan in `DEMO_BILLING_FAULTS`, or `None` when it is unset.
    pub fn from_env() -> Result<Option<Self>, FaultPlanError> {
        std::env::var(FAULTS_VARIABLE)
            .ok()
            .map(|text| Self::parse(&text))
            .transpose()
    }
}

/// What to do with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Handle it normally.
    None,
    /// Fail it with a transient error.
    FailRecord,
    /// Handle it, then exit the process before the batch is acknowledged.
    ExitAfterRecord,
}

/// Draws a [`Fault`] per record from a [`FaultPlan`].
#[derive(Debug)]
pub struct FaultInjector {
    plan: FaultPlan,
    state: AtomicU64,
}

impl FaultInjector {
    /// An injector for `plan`, its choices seeded by `plan.seed` and
    /// `instance` (e.g. the process id).
    pub fn new(plan: FaultPlan, instance: u64) -> Self {
        let seed = (plan.seed ^ instance.rotate_left(32) ^ 0x9E37_79B9_7F4A_7C15) | 1;
        Self {
            plan,
            state: AtomicU64::new(seed),
        }
    }

    /// The fault for the next record.
    pub fn next(&self) -> Fault {
        let mut x = self.state.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state.store(x, Ordering::Relaxed);
        let draw = x.wrapping_mul(0x2545_F491_4F6C_DD1D) % 1000;
        if draw < self.plan.fail_per_mille {
            Fault::FailRecord
        } else if draw < self.plan.fail_per_mille + self.plan.exit_per_mille {
            Fault::ExitAfterRecord
        } else {
            Fault::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    fn check(input: &str, expected: Expect) {
        let actual = match FaultPlan::parse(input) {
            Ok(plan) => format!("{plan:?}"),
            Err(error) => format!("error: {error}"),
        };
        expected.assert_eq(&actual);
    }

    #[test]
    fn plans_parse_and_bad_parts_are_named() {
        check(
            "fail=50,exit=2,seed=7",
            expect![[r#"FaultPlan { fail_per_mille: 50, exit_per_mille: 2, seed: 7 }"#]],
        );
        check(
            "",
            expect![[r#"FaultPlan { fail_per_mille: 0, exit_per_mille: 0, seed: 0 }"#]],
        );
        check(
            "fail=5,crash=1",
            expect!["error: DEMO_BILLING_FAULTS: `crash=1` is not fail=N, exit=N or seed=N"],
        );
        check(
            "fail=1001",
            expect!["error: DEMO_BILLING_FAULTS: `fail=1001` is above 1000 per mille"],
        );
        check(
            "fail",
            expect!["error: DEMO_BILLING_FAULTS: `fail` is not fail=N, exit=N or seed=N"],
        );
    }

    #[test]
    fn rates_are_roughly_kept() {
        let injector = FaultInjector::new(FaultPlan::parse("fail=50,exit=10").unwrap(), 3);
        let draws: Vec<Fault> = (0..20_000).map(|_| injector.next()).collect();
        let failed = draws.iter().filter(|f| **f == Fault::FailRecord).count();
        let exited = draws
            .iter()
            .filter(|f| **f == Fault::ExitAfterRecord)
            .count();
        assert!((800..1200).contains(&failed), "{failed}");
        assert!((120..280).contains(&exited), "{exited}");
        let none = FaultInjector::new(FaultPlan::default(), 3);
        assert!((0..1000).all(|_| none.next() == Fault::None));
    }
}
