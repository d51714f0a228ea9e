//! Authorization: the one place that decides whether a caller may perform an
//! action on a resource. Every service module asks [`authorize`] before it
//! acts, with the resource's policy when the resource has one.
//!
//! An account's root acting in its own account is always allowed, as on AWS.
//! Everything else needs streamgate-policy's evaluator (identity policies,
//! session policy, resource policy, both sides across accounts); until that
//! evaluator is wired in here, such requests are refused with an
//! AccessDenied whose message says so: never allowed silently.

use crate::error::{ApiError, ErrorCode};
use crate::identity::Caller;
use crate::state::Cloud;

/// What a request wants to do.
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// `service:Operation`, e.g. `dynamodb:GetRecords`.
    pub action: &'a str,
    /// The resource ARN, or `*` for actions without a resource.
    pub resource: &'a str,
    /// The account that owns the resource.
    pub resource_account: &'a str,
    /// The resource's own policy (a stream's, a table's, a role's trust
    /// policy), if it has one.
    pub resource_policy: Option<&'a str>,
    /// Whether the resource policy must allow the request even in the
    /// resource's own account (a role's trust policy for `sts:AssumeRole`).
    pub resource_policy_required: bool,
}

/// Allows or refuses `request` by `caller`.
pub fn authorize(
    cloud: &Cloud,
    caller: &Caller,
    request: &AccessRequest<'_>,
) -> Result<(), ApiError> {
    // The cloud is what the evaluator will read identity policies from.
    let _ = cloud;
    if let Caller::Root { account } = caller
        && account == request.resource_account
        && !request.resource_policy_required
    {
        return Ok(());
    }
    Err(denied(
        caller,
        request,
        "policy evaluation is not wired yet in streamgate-local: only an account's root acting in its own account is allowed",
    ))
}

/// An AccessDenied in AWS's words, ending with `because {reason}`.
pub fn denied(caller: &Caller, request: &AccessRequest<'_>, reason: &str) -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!(
            "User: {} is not authorized to perform: {} on resource: {} because {reason}",
            caller.arn(),
            request.action,
            request.resource
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::ShardRollover;
    use expect_test::{Expect, expect};

    fn check(caller: Caller, resource_account: &str, expected: Expect) {
        let cloud = Cloud::new(
            &["111111111111".to_owned(), "222222222222".to_owned()],
            ShardRollover::default(),
        );
        let resource = format!("arn:aws:dynamodb:eu-west-1:{resource_account}:table/t");
        let request = AccessRequest {
            action: "dynamodb:GetItem",
            resource: &resource,
            resource_account,
            resource_policy: None,
            resource_policy_required: false,
        };
        let text = match authorize(&cloud, &caller, &request) {
            Ok(()) => "allowed".to_owned(),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    #[test]
    fn root_in_its_own_account_is_allowed_and_nothing_else_yet() {
        let root = |account: &str| Caller::Root {
            account: account.into(),
        };
        check(root("111111111111"), "111111111111", expect!["allowed"]);
        check(
            root("111111111111"),
            "222222222222",
            expect![
                "AccessDeniedException: User: arn:aws:iam::111111111111:root is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/t because policy evaluation is not wired yet in streamgate-local: only an account's root acting in its own account is allowed"
            ],
        );
        let session = Caller::AssumedRole {
            account: "111111111111".into(),
            role_name: "r".into(),
            role_id: "AROA1".into(),
            session_name: "s".into(),
            session_policy: None,
        };
        check(
            session,
            "111111111111",
            expect![
                "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/r/s is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-1:111111111111:table/t because policy evaluation is not wired yet in streamgate-local: only an account's root acting in its own account is allowed"
            ],
        );
    }
}
