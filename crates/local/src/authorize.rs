//! Authorization: the one place that decides whether a caller may perform an
//! action on a resource. Every service module asks [`authorize`] before it
//! acts, with the resource's policy when the resource has one; the decision
//! is streamgate-policy's evaluator's ([`streamgate_policy::eval::evaluate`]).
//!
//! The policies in play: the caller's identity policies (a role session's
//! inline and attached managed policies; an account root has full access in
//! its own account), the session policy given to AssumeRole, and the
//! resource's policy (a table's, a stream's, a role's trust policy). Across
//! accounts both sides must allow. A denial is an AccessDenied whose message
//! is AWS's, naming the principal, action, resource and what is missing.
//!
//! Parsed documents are cached by their text, so the hot path (a PutItem or
//! a GetRecords) parses nothing.

use crate::error::{ApiError, ErrorCode};
use crate::iam::identity_policy_documents;
use crate::identity::Caller;
use crate::state::{Cloud, lock};
use std::sync::Arc;
use streamgate_policy::arn::AccountId;
use streamgate_policy::document::PolicyDocument;
use streamgate_policy::eval::{self, Outcome, PolicySet, Principal, Request};

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
    /// Whether the resource's table is encrypted with the AWS managed key
    /// (`aws/dynamodb`), which no other account can be granted.
    pub encrypted_with_aws_managed_key: bool,
}

/// Allows or refuses `request` by `caller`.
pub fn authorize(
    cloud: &Cloud,
    caller: &Caller,
    request: &AccessRequest<'_>,
) -> Result<(), ApiError> {
    authorize_with_context(cloud, caller, request, &[])
}

/// Allows or refuses `request` by `caller`, with request-specific condition
/// keys (AssumeRole's `sts:ExternalId`, `sts:RoleSessionName`) added to the
/// global ones.
pub fn authorize_with_context(
    cloud: &Cloud,
    caller: &Caller,
    request: &AccessRequest<'_>,
    context: &[(&str, &str)],
) -> Result<(), ApiError> {
    if request.encrypted_with_aws_managed_key && caller.account() != request.resource_account {
        return Err(denied(
            caller,
            request,
            "because the table is encrypted with the AWS managed key aws/dynamodb, whose key policy cannot grant another account",
        ));
    }
    // Fast path: an account root in its own account, with no resource policy
    // that could deny it, has full access.
    if let Caller::Root { account } = caller
        && account == request.resource_account
        && request.resource_policy.is_none()
        && !request.resource_policy_required
    {
        return Ok(());
    }
    let principal = principal_of(caller).map_err(|reason| denied(caller, request, &reason))?;
    let owner: AccountId = request.resource_account.parse().map_err(|_| {
        denied(
            caller,
            request,
            "the resource's account is not a 12-digit account id",
        )
    })?;

    let mut identity_texts = Vec::new();
    if let Caller::AssumedRole {
        account, role_name, ..
    } = caller
        && let Some(account_state) = cloud.account(account)
    {
        let iam = lock(&account_state.iam);
        if let Some(role) = iam.roles.get(role_name) {
            identity_texts = identity_policy_documents(&iam, role);
        }
    }
    let parse = |text: &str| {
        cloud.parsed_policy(text).map_err(|error| {
            denied(
                caller,
                request,
                &format!("a policy in play could not be read: {error}"),
            )
        })
    };
    let identity: Vec<Arc<PolicyDocument>> = identity_texts
        .iter()
        .map(|text| parse(text))
        .collect::<Result<_, _>>()?;
    let session = match caller {
        Caller::AssumedRole {
            session_policy: Some(text),
            ..
        } => Some(parse(text)?),
        _ => None,
    };
    let resource = request.resource_policy.map(parse).transpose()?;

    let mut set = PolicySet::new().with_resource_owner(owner);
    for document in &identity {
        set = set.with_identity(document);
    }
    if let Some(document) = &session {
        set = set.with_session_policy(document);
    }
    if let Some(document) = &resource {
        set = set.with_resource_policy(document);
    }
    if request.resource_policy_required {
        set = set.requiring_resource_policy();
    }
    // aws:CurrentTime and aws:EpochTime follow the resource clock, so that
    // time conditions age with everything else.
    let now_seconds = i64::try_from(cloud.clock.now_millis() / 1000).unwrap_or(i64::MAX);
    let mut evaluation =
        Request::new(principal, request.action, request.resource).with_time(now_seconds);
    for (key, value) in context {
        evaluation = evaluation.with_context(*key, *value);
    }
    // A required resource policy (a trust policy) must allow even an account
    // root in its own account; the evaluator sees to that.
    let decision = eval::evaluate(&evaluation, &set);
    match decision.outcome() {
        Outcome::Allow => Ok(()),
        Outcome::ExplicitDeny | Outcome::ImplicitDeny => {
            let message = decision
                .access_denied_message(&evaluation)
                .unwrap_or_else(|| {
                    format!(
                        "User: {} is not authorized to perform: {} on resource: {}",
                        caller.arn(),
                        request.action,
                        request.resource
                    )
                });
            Err(ApiError::new(ErrorCode::AccessDeniedException, message))
        }
    }
}

/// The evaluator's principal for a caller.
fn principal_of(caller: &Caller) -> Result<Principal, String> {
    match caller {
        Caller::Root { account } => account
            .parse()
            .map(Principal::account_root)
            .map_err(|error| format!("the caller's account is not valid: {error}")),
        Caller::AssumedRole { role_arn, .. } => {
            let session = caller
                .arn()
                .parse()
                .map_err(|error| format!("the session ARN is not valid: {error}"))?;
            let role = role_arn
                .parse()
                .map_err(|error| format!("the role ARN is not valid: {error}"))?;
            Principal::assumed_role(session, role).map_err(|error| error.to_string())
        }
    }
}

/// An AccessDenied in AWS's words, ending with `reason` (which starts with
/// `because` or `with`).
pub fn denied(caller: &Caller, request: &AccessRequest<'_>, reason: &str) -> ApiError {
    ApiError::new(
        ErrorCode::AccessDeniedException,
        format!(
            "User: {} is not authorized to perform: {} on resource: {} {reason}",
            caller.arn(),
            request.action,
            request.resource
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::Role;
    use crate::state::ShardRollover;
    use expect_test::{Expect, expect};
    use std::collections::{BTreeMap, BTreeSet};

    const A: &str = "111111111111";
    const B: &str = "222222222222";
    const STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

    fn cloud_with_role(identity_policy: Option<&str>) -> Cloud {
        let cloud = Cloud::new(&[A.to_owned(), B.to_owned()], ShardRollover::default());
        let mut inline_policies = BTreeMap::new();
        if let Some(policy) = identity_policy {
            inline_policies.insert("p".to_owned(), policy.to_owned());
        }
        let role = Role {
            name: "consumer".into(),
            path: "/".into(),
            id: "AROA1".into(),
            arn: format!("arn:aws:iam::{A}:role/consumer"),
            created_millis: 0,
            trust_policy: "{}".into(),
            description: None,
            max_session_duration: 3600,
            inline_policies,
            attached_policies: BTreeSet::new(),
        };
        if let Some(account) = cloud.account(A) {
            lock(&account.iam).roles.insert("consumer".into(), role);
        }
        cloud
    }

    fn session() -> Caller {
        Caller::AssumedRole {
            account: A.into(),
            role_name: "consumer".into(),
            role_arn: format!("arn:aws:iam::{A}:role/consumer"),
            role_id: "AROA1".into(),
            session_name: "poller".into(),
            session_policy: None,
        }
    }

    fn check(cloud: &Cloud, caller: &Caller, resource_policy: Option<&str>, expected: Expect) {
        let request = AccessRequest {
            action: "dynamodb:GetRecords",
            resource: STREAM,
            resource_account: B,
            resource_policy,
            resource_policy_required: false,
            encrypted_with_aws_managed_key: false,
        };
        let text = match authorize(cloud, caller, &request) {
            Ok(()) => "allowed".to_owned(),
            Err(error) => error.to_string(),
        };
        expected.assert_eq(&text);
    }

    const IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
    const STREAM_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/consumer"},"Action":"dynamodb:GetRecords","Resource":"*"}]}"#;

    #[test]
    fn cross_account_needs_both_sides() {
        check(
            &cloud_with_role(Some(IDENTITY)),
            &session(),
            Some(STREAM_POLICY),
            expect!["allowed"],
        );
        check(
            &cloud_with_role(Some(IDENTITY)),
            &session(),
            None,
            expect![
                "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action"
            ],
        );
        check(
            &cloud_with_role(None),
            &session(),
            Some(STREAM_POLICY),
            expect![
                "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no identity-based policy allows the dynamodb:GetRecords action"
            ],
        );
        let deny = STREAM_POLICY.replace("\"Allow\"", "\"Deny\"");
        check(
            &cloud_with_role(Some(IDENTITY)),
            &session(),
            Some(&deny),
            expect![
                "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in a resource-based policy"
            ],
        );
    }

    #[test]
    fn a_trust_policy_must_allow_even_the_account_root() {
        let cloud = cloud_with_role(None);
        let root = Caller::Root { account: A.into() };
        let assume = |trust: &str| {
            let request = AccessRequest {
                action: "sts:AssumeRole",
                resource: "arn:aws:iam::111111111111:role/consumer",
                resource_account: A,
                resource_policy: Some(trust),
                resource_policy_required: true,
                encrypted_with_aws_managed_key: false,
            };
            match authorize(&cloud, &root, &request) {
                Ok(()) => "allowed".to_owned(),
                Err(error) => error.to_string(),
            }
        };
        let lambda_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let account = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
        expect![[r#"
            AccessDeniedException: User: arn:aws:iam::111111111111:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/consumer because no resource-based policy allows the sts:AssumeRole action
            allowed"#]].assert_eq(&format!("{}\n{}", assume(lambda_only), assume(account)));
    }

    #[test]
    fn time_conditions_follow_the_resource_clock() {
        let cloud = cloud_with_role(Some(IDENTITY));
        let deadline = crate::clock::iso8601(cloud.clock.now_millis() + 3_600_000);
        let expiring = STREAM_POLICY.replace(
            "\"Resource\":\"*\"}",
            &format!(
                "\"Resource\":\"*\",\"Condition\":{{\"DateLessThan\":{{\"aws:CurrentTime\":\"{deadline}\"}}}}}}"
            ),
        );
        check(&cloud, &session(), Some(&expiring), expect!["allowed"]);
        cloud.clock.advance(std::time::Duration::from_secs(7200));
        check(
            &cloud,
            &session(),
            Some(&expiring),
            expect![
                "AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action"
            ],
        );
    }

    #[test]
    fn roots_have_full_access_at_home_only() {
        let cloud = cloud_with_role(None);
        check(
            &cloud,
            &Caller::Root { account: B.into() },
            None,
            expect!["allowed"],
        );
        check(
            &cloud,
            &Caller::Root { account: A.into() },
            None,
            expect![
                "AccessDeniedException: User: arn:aws:iam::111111111111:root is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action"
            ],
        );
        let deny_all = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"*"}]}"#;
        check(
            &cloud,
            &Caller::Root { account: B.into() },
            Some(deny_all),
            expect![
                "AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in a resource-based policy"
            ],
        );
    }
}
