//! Concurrency: PutFunctionConcurrency (`PUT /2017-10-31/functions/F/concurrency`),
//! GetFunctionConcurrency (`GET /2019-09-30/functions/F/concurrency`),
//! DeleteFunctionConcurrency (`DELETE /2017-10-31/functions/F/concurrency`),
//! GetFunction's `Concurrency`, and GetAccountSettings
//! (`GET /2016-08-19/account-settings/`), over [`ConcurrencyRegistry`].
//!
//! Each account has [`ACCOUNT_CONCURRENT_EXECUTIONS`] per region, Lambda's
//! default quota. A reservation takes its share out of the unreserved pool,
//! which must keep [`MINIMUM_UNRESERVED`] (refused otherwise with AWS's
//! message). Reservations are enforced: every invocation (Invoke, an
//! asynchronous invocation's tries, an event source mapping's batches)
//! takes a [`ConcurrencySlot`] for as long as it runs; a function with a
//! reservation runs at most that many at once (0: never), and functions
//! without one share what the reservations leave. An invocation that gets
//! no slot is throttled ([`Throttle`]): a synchronous Invoke answers 429
//! TooManyRequestsException with its `Reason`; an asynchronous one waits
//! in its queue ([`super::event_config`]).

use super::functions::{FunctionKey, resolve_authorized};
use super::json_reply;
use crate::authorize::authorize;
use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use crate::wire::{Reply, parse_json_body};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Concurrent executions of an account in a region (Lambda's default quota).
pub const ACCOUNT_CONCURRENT_EXECUTIONS: u32 = 1000;
/// What reservations must leave to functions without one.
pub const MINIMUM_UNRESERVED: u32 = 100;
/// GetAccountSettings' `AccountLimit.TotalCodeSize` (75 GB).
pub const TOTAL_CODE_SIZE_LIMIT: u64 = 80_530_636_800;
/// GetAccountSettings' `AccountLimit.CodeSizeUnzipped` (250 MB).
pub const CODE_SIZE_UNZIPPED_LIMIT: u64 = 262_144_000;
/// GetAccountSettings' `AccountLimit.CodeSizeZipped` (50 MB).
pub const CODE_SIZE_ZIPPED_LIMIT: u64 = 52_428_800;

/// Why an invocation got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Throttle {
    /// The function runs as many as its reservation allows.
    Reserved,
    /// The functions without a reservation use the whole unreserved pool.
    Account,
}

impl Throttle {
    /// The `Reason` Lambda gives in a TooManyRequestsException.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Reserved => "ReservedFunctionConcurrentInvocationLimitExceeded",
            Self::Account => "ConcurrentInvocationLimitExceeded",
        }
    }

    /// The error Invoke answers: 429 TooManyRequestsException, `Rate
    /// Exceeded.`, with the reason.
    pub fn to_api_error(self) -> ApiError {
        let mut details = Map::new();
        details.insert("Reason".to_owned(), json!(self.reason()));
        ApiError::new(ErrorCode::TooManyRequestsException, "Rate Exceeded.").with_details(details)
    }
}

/// Whether two functions draw on the same account and region's pool.
fn same_pool(a: &FunctionKey, b: &FunctionKey) -> bool {
    a.account == b.account && a.region == b.region
}

#[derive(Debug, Default)]
struct ConcurrencyState {
    /// Reservations by function.
    reserved: BTreeMap<FunctionKey, u32>,
    /// Invocations running, by function.
    running: HashMap<FunctionKey, u32>,
}

impl ConcurrencyState {
    /// What the reservations of `key`'s account and region leave, without
    /// counting `key`'s own.
    fn unreserved_without(&self, key: &FunctionKey) -> u32 {
        let reserved: u32 = self
            .reserved
            .iter()
            .filter(|(other, _)| same_pool(other, key) && *other != key)
            .fold(0u32, |sum, (_, n)| sum.saturating_add(*n));
        ACCOUNT_CONCURRENT_EXECUTIONS.saturating_sub(reserved)
    }
}

/// Reservations and running invocations of every function.
#[derive(Debug, Default)]
pub struct ConcurrencyRegistry {
    state: Arc<Mutex<ConcurrencyState>>,
}

/// One running invocation; dropping it frees its place.
#[derive(Debug)]
pub struct ConcurrencySlot {
    state: Arc<Mutex<ConcurrencyState>>,
    key: FunctionKey,
}

impl Drop for ConcurrencySlot {
    fn drop(&mut self) {
        let mut state = lock(&self.state);
        if let Some(running) = state.running.get_mut(&self.key) {
            *running = running.saturating_sub(1);
            if *running == 0 {
                state.running.remove(&self.key);
            }
        }
    }
}

impl ConcurrencyRegistry {
    /// The reservation of function `key`, if it has one.
    pub fn reserved(&self, key: &FunctionKey) -> Option<u32> {
        lock(&self.state).reserved.get(key).copied()
    }

    /// What the reservations leave to the other functions of `account`
    /// in `region` (GetAccountSettings' `UnreservedConcurrentExecutions`).
    pub fn unreserved(&self, account: &str, region: &str) -> u32 {
        let probe = FunctionKey {
            account: account.to_owned(),
            region: region.to_owned(),
            name: String::new(),
        };
        lock(&self.state).unreserved_without(&probe)
    }

    /// Reserves `executions` for `key`, unless that leaves the unreserved
    /// pool under [`MINIMUM_UNRESERVED`].
    pub fn reserve(&self, key: &FunctionKey, executions: u32) -> Result<(), ApiError> {
        let mut state = lock(&self.state);
        let left = state.unreserved_without(key).checked_sub(executions);
        if left.is_none_or(|left| left < MINIMUM_UNRESERVED) {
            return Err(ApiError::new(
                ErrorCode::InvalidParameterValueException,
                format!(
                    "Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{MINIMUM_UNRESERVED}]."
                ),
            ));
        }
        state.reserved.insert(key.clone(), executions);
        Ok(())
    }

    /// Removes the reservation of `key` (the function is deleted, or its
    /// reservation is).
    pub fn forget(&self, key: &FunctionKey) {
        lock(&self.state).reserved.remove(key);
    }

    /// A slot for one invocation of `key`, or why there is none.
    pub fn try_start(&self, key: &FunctionKey) -> Result<ConcurrencySlot, Throttle> {
        let mut state = lock(&self.state);
        let running = state.running.get(key).copied().unwrap_or(0);
        match state.reserved.get(key) {
            Some(reserved) if running >= *reserved => return Err(Throttle::Reserved),
            Some(_) => {}
            None => {
                let pool = state.unreserved_without(key);
                let used = state
                    .running
                    .iter()
                    .filter(|(other, _)| {
                        same_pool(other, key) && !state.reserved.contains_key(*other)
                    })
                    .fold(0u32, |sum, (_, n)| sum.saturating_add(*n));
                if used >= pool {
                    return Err(Throttle::Account);
                }
            }
        }
        state.running.insert(key.clone(), running.saturating_add(1));
        Ok(ConcurrencySlot {
            state: Arc::clone(&self.state),
            key: key.clone(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutInput {
    reserved_concurrent_executions: Option<i64>,
}

/// PutFunctionConcurrency.
pub fn put(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
    body: &[u8],
) -> Result<Reply, ApiError> {
    let input: PutInput = parse_json_body(body)?;
    let executions = match input.reserved_concurrent_executions {
        None => {
            return Err(ApiError::validation(
                "1 validation error detected: Value null at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must not be null",
            ));
        }
        Some(n) => u32::try_from(n).map_err(|_| {
            ApiError::validation(format!(
                "1 validation error detected: Value '{n}' at 'reservedConcurrentExecutions' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))
        })?,
    };
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:PutFunctionConcurrency",
    )?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    cloud.concurrency.reserve(&key, executions)?;
    Ok(json_reply(
        200,
        json!({ "ReservedConcurrentExecutions": executions }).to_string(),
    ))
}

/// GetFunctionConcurrency: `{}` for a function without a reservation.
pub fn get(cloud: &Cloud, caller: &Caller, region: &str, given: &str) -> Result<Reply, ApiError> {
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:GetFunctionConcurrency",
    )?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    Ok(json_reply(200, concurrency_json(cloud, &key).to_string()))
}

/// DeleteFunctionConcurrency.
pub fn delete(
    cloud: &Cloud,
    caller: &Caller,
    region: &str,
    given: &str,
) -> Result<Reply, ApiError> {
    let (key, arn) = resolve_authorized(
        cloud,
        caller,
        region,
        given,
        None,
        "lambda:DeleteFunctionConcurrency",
    )?;
    if cloud.functions.get(&key).is_none() {
        return Err(ApiError::not_found(format!("Function not found: {arn}")));
    }
    cloud.concurrency.forget(&key);
    Ok(json_reply(204, ""))
}

/// The `Concurrency` shape of function `key`: `{}` without a reservation.
pub fn concurrency_json(cloud: &Cloud, key: &FunctionKey) -> Value {
    match cloud.concurrency.reserved(key) {
        Some(n) => json!({ "ReservedConcurrentExecutions": n }),
        None => json!({}),
    }
}

/// Adds GetFunction's `Concurrency` (when function `key` has a
/// reservation) to `body`.
pub(crate) fn add_to_get_function(cloud: &Cloud, key: &FunctionKey, body: &mut Value) {
    if let (Some(n), Some(object)) = (cloud.concurrency.reserved(key), body.as_object_mut()) {
        object.insert(
            "Concurrency".to_owned(),
            json!({ "ReservedConcurrentExecutions": n }),
        );
    }
}

/// GetAccountSettings of the caller's account in `region`.
pub fn account_settings(cloud: &Cloud, caller: &Caller, region: &str) -> Result<Reply, ApiError> {
    let account = caller.account();
    authorize(
        cloud,
        caller,
        &super::functions::plain_access("lambda:GetAccountSettings", "*", account),
    )?;
    let (function_count, total_code_size) = cloud.functions.usage(account, region);
    let body = json!({
        "AccountLimit": {
            "TotalCodeSize": TOTAL_CODE_SIZE_LIMIT,
            "CodeSizeUnzipped": CODE_SIZE_UNZIPPED_LIMIT,
            "CodeSizeZipped": CODE_SIZE_ZIPPED_LIMIT,
            "ConcurrentExecutions": ACCOUNT_CONCURRENT_EXECUTIONS,
            "UnreservedConcurrentExecutions": cloud.concurrency.unreserved(account, region),
        },
        "AccountUsage": {
            "TotalCodeSize": total_code_size,
            "FunctionCount": function_count,
        },
    });
    Ok(json_reply(200, body.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(account: &str, region: &str, name: &str) -> FunctionKey {
        FunctionKey {
            account: account.to_owned(),
            region: region.to_owned(),
            name: name.to_owned(),
        }
    }

    #[test]
    fn reservations_leave_a_hundred_to_the_rest() {
        let registry = ConcurrencyRegistry::default();
        let a = function("111111111111", "eu-west-1", "a");
        let b = function("111111111111", "eu-west-1", "b");
        registry.reserve(&a, 600).unwrap();
        assert_eq!(registry.unreserved("111111111111", "eu-west-1"), 400);
        assert_eq!(registry.unreserved("111111111111", "us-east-1"), 1000);
        assert_eq!(registry.unreserved("222222222222", "eu-west-1"), 1000);
        registry.reserve(&b, 300).unwrap();
        let refused = registry.reserve(&b, 301).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "InvalidParameterValueException: Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [100]."
        );
        assert_eq!(
            registry.reserved(&b),
            Some(300),
            "a refused change keeps the old one"
        );
        // A function's own reservation does not count against its new one.
        registry.reserve(&a, 600).unwrap();
        registry.reserve(&a, 601).unwrap_err();
        registry.reserve(&a, u32::MAX).unwrap_err();
        registry.forget(&a);
        assert_eq!(registry.unreserved("111111111111", "eu-west-1"), 700);
    }

    #[test]
    fn a_reservation_caps_running_invocations() {
        let registry = ConcurrencyRegistry::default();
        let key = function("111111111111", "eu-west-1", "f");
        registry.reserve(&key, 2).unwrap();
        let first = registry.try_start(&key).unwrap();
        let second = registry.try_start(&key).unwrap();
        assert_eq!(registry.try_start(&key).unwrap_err(), Throttle::Reserved);
        drop(first);
        let third = registry.try_start(&key).unwrap();
        drop((second, third));
        registry.reserve(&key, 0).unwrap();
        assert_eq!(registry.try_start(&key).unwrap_err(), Throttle::Reserved);
        registry.forget(&key);
        assert!(registry.try_start(&key).is_ok());
    }

    #[test]
    fn functions_without_a_reservation_share_the_unreserved_pool() {
        let registry = ConcurrencyRegistry::default();
        let reserved = function("111111111111", "eu-west-1", "big");
        let a = function("111111111111", "eu-west-1", "a");
        let b = function("111111111111", "eu-west-1", "b");
        registry.reserve(&reserved, 900).unwrap();
        let mut slots: Vec<ConcurrencySlot> =
            (0..60).map(|_| registry.try_start(&a).unwrap()).collect();
        slots.extend((0..40).map(|_| registry.try_start(&b).unwrap()));
        assert_eq!(registry.try_start(&a).unwrap_err(), Throttle::Account);
        assert_eq!(registry.try_start(&b).unwrap_err(), Throttle::Account);
        // The reserved function and other regions have their own.
        let big = registry.try_start(&reserved).unwrap();
        assert!(
            registry
                .try_start(&function("111111111111", "us-east-1", "a"))
                .is_ok()
        );
        drop(big);
        slots.pop();
        assert!(registry.try_start(&a).is_ok());
        assert_eq!(
            Throttle::Account
                .to_api_error()
                .details
                .map(|d| d.get("Reason").cloned()),
            Some(Some(json!("ConcurrentInvocationLimitExceeded")))
        );
    }
}
