//! The offline evaluator: may this principal perform this action on this
//! resource, given these policies, and why (not)?
//!
//! It follows the documented IAM evaluation logic:
//! 1. An explicit `Deny` in any policy in play wins.
//! 2. An account's root in its own account is allowed (it has full access),
//!    unless the resource policy is required (see 3), which must then allow
//!    the root as it must allow anyone.
//! 3. Within one account, the identity-based policies and the resource-based
//!    policy are a union, with the documented rule for roles: a resource
//!    policy that names the *role* ARN is still limited by the role's
//!    permissions boundary and session policy, one that names the *session*
//!    ARN, a user, or everyone grants directly, and one that names the
//!    account only delegates to the identity side. A resource policy marked
//!    as required ([`PolicySet::requiring_resource_policy`], a role's trust
//!    policy) must allow even here.
//! 4. Across accounts, both sides must allow: the principal's identity side
//!    (identity-based policies, within the boundary and session policy) and
//!    the resource-based policy of the resource's owner.
//! 5. A service principal (`lambda.amazonaws.com` assuming a role) has no
//!    identity side: the resource policy (the trust policy) alone decides.
//!    So does it for an anonymous caller ([`Principal::anonymous`]), whom
//!    only a statement for everyone (`"*"` or `{"AWS": "*"}`) names.
//!
//! A statement applies when its action, resource, principal (in resource
//! policies) and every condition match. A `NotPrincipal` with `Deny` spares
//! a requester only when it names every identity the requester has (a
//! session: its ARN, its role and its account) and the requester has no
//! permissions boundary; a `NotPrincipal` with `Allow`, which AWS does not
//! support, grants nothing. Actions match
//! case-insensitively, resources case-sensitively per ARN segment (a `*`
//! ending a segment may run over colons); policy
//! variables are substituted in documents of version 2012-10-17 only, in
//! the resource part of `Resource`/`NotResource` ARNs (after the fifth
//! colon) and in the values of String and ARN condition operators; a
//! variable there without a value makes its statement not apply.
//!
//! The hot path (a stream read checked against two small policies) does not
//! parse anything and allocates only for the [`Decision`] and its list of
//! statements.
//!
//! ```
//! use streamgate_policy::document::PolicyDocument;
//! use streamgate_policy::eval::{evaluate, Outcome, PolicySet, Principal, Request};
//!
//! let stream = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
//! let identity = PolicyDocument::parse(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
//!     "Action":["dynamodb:GetRecords"],"Resource":"arn:aws:dynamodb:*:222222222222:table/documents/stream/*"}]}"#)?;
//! let principal = Principal::parse("arn:aws:sts::111111111111:assumed-role/billing-consumer/poller")?;
//! let request = Request::new(principal, "dynamodb:GetRecords", stream);
//!
//! let decision = evaluate(&request, &PolicySet::new().with_identity(&identity));
//! assert_eq!(decision.outcome(), Outcome::ImplicitDeny);
//! assert_eq!(
//!     decision.denial_reason().as_deref(),
//!     Some("because no resource-based policy allows the dynamodb:GetRecords action")
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::arn::{AccountId, ArnError, AssumedRoleArn, RoleArn, is_account_id};
use crate::condition::{Context, conditions_match};
use crate::document::{Effect, PolicyDocument, PrincipalType, Principals, Statement};
use crate::pattern::{action_matches, resource_matches, substitute_resource};

/// Why a principal could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PrincipalError {
    /// An ARN in the principal is malformed.
    #[error(transparent)]
    Arn(#[from] ArnError),
    /// A session's role is not the role it claims to be a session of.
    #[error("session {session} is not a session of role {role}")]
    SessionRoleMismatch {
        /// The session ARN.
        session: String,
        /// The role ARN given with it.
        role: String,
    },
    /// The text names no principal kind this evaluator knows.
    #[error(
        "{value:?} is not a principal: expected an account id, an account root, role, assumed-role or user ARN, or a service such as lambda.amazonaws.com"
    )]
    NotAPrincipal {
        /// The text given.
        value: String,
    },
}

/// What kind of principal makes a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalKind {
    /// An account's root user.
    AccountRoot,
    /// An IAM user, with long-term credentials.
    User,
    /// An IAM role acting as itself.
    Role,
    /// A session of an assumed role: what a role's credentials act as.
    AssumedRole,
    /// An AWS service, e.g. `lambda.amazonaws.com` assuming an execution role.
    Service,
    /// An unauthenticated caller (a function URL of auth type `NONE`, say):
    /// only a resource policy naming everyone, `"*"` or `{"AWS": "*"}`,
    /// grants it anything.
    Anonymous,
}

/// Who makes a request. It knows its account and its ARN as AWS prints it
/// in error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    kind: PrincipalKind,
    account: Option<AccountId>,
    /// As AWS prints it: the root, role or session ARN, or the service name.
    arn: String,
    /// The account root ARN, which a policy may name for the whole account.
    root_arn: Option<String>,
    /// The role with its path, for roles and sessions.
    role: Option<RoleArn>,
    role_text: Option<String>,
    session: Option<AssumedRoleArn>,
}

impl Principal {
    /// An account's root user.
    pub fn account_root(account: AccountId) -> Self {
        Self {
            kind: PrincipalKind::AccountRoot,
            arn: account.root_arn().to_string(),
            root_arn: Some(account.root_arn().to_string()),
            account: Some(account),
            role: None,
            role_text: None,
            session: None,
        }
    }

    /// An IAM role acting as itself.
    pub fn role(role: RoleArn) -> Self {
        let account = role.account().clone();
        Self {
            kind: PrincipalKind::Role,
            arn: role.to_string(),
            root_arn: Some(account.root_arn().to_string()),
            account: Some(account),
            role_text: Some(role.to_string()),
            role: Some(role),
            session: None,
        }
    }

    /// A session of `role`; `role` carries the role's path, which the
    /// session ARN does not. Fails when the two disagree on account or name.
    pub fn assumed_role(session: AssumedRoleArn, role: RoleArn) -> Result<Self, PrincipalError> {
        if session.account() != role.account() || session.role_name() != role.name() {
            return Err(PrincipalError::SessionRoleMismatch {
                session: session.to_string(),
                role: role.to_string(),
            });
        }
        let account = role.account().clone();
        Ok(Self {
            kind: PrincipalKind::AssumedRole,
            arn: session.to_string(),
            root_arn: Some(account.root_arn().to_string()),
            account: Some(account),
            role_text: Some(role.to_string()),
            role: Some(role),
            session: Some(session),
        })
    }

    /// An IAM user, `arn:aws:iam::ACCOUNT:user/PATH/NAME`. A resource policy
    /// naming the user grants to it directly: the user's permissions
    /// boundary does not limit such a grant.
    pub fn user(arn: &str) -> Result<Self, PrincipalError> {
        let parsed: crate::arn::Arn = arn.parse()?;
        let name = parsed
            .resource()
            .strip_prefix("user/")
            .map(|rest| rest.rsplit('/').next().unwrap_or(rest))
            .filter(|name| !name.is_empty());
        let (true, true, Some(_)) = (parsed.service() == "iam", parsed.region().is_empty(), name)
        else {
            return Err(PrincipalError::NotAPrincipal {
                value: arn.to_owned(),
            });
        };
        let account: AccountId = parsed.account().parse().map_err(PrincipalError::Arn)?;
        Ok(Self {
            kind: PrincipalKind::User,
            arn: arn.to_owned(),
            root_arn: Some(account.root_arn().to_string()),
            account: Some(account),
            role: None,
            role_text: None,
            session: None,
        })
    }

    /// An AWS service principal such as `lambda.amazonaws.com`.
    pub fn service(name: &str) -> Result<Self, PrincipalError> {
        let valid = name.ends_with(".amazonaws.com")
            && name.len() > ".amazonaws.com".len()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-'));
        if !valid {
            return Err(PrincipalError::NotAPrincipal {
                value: name.to_owned(),
            });
        }
        Ok(Self {
            kind: PrincipalKind::Service,
            account: None,
            arn: name.to_owned(),
            root_arn: None,
            role: None,
            role_text: None,
            session: None,
        })
    }

    /// An unauthenticated caller, named `anonymous` in messages as AWS names
    /// it. A resource policy alone decides for it, and only its statements
    /// for everyone (`"*"`, `{"AWS": "*"}`) apply; its requests carry
    /// `aws:PrincipalType` `Anonymous` and no other principal key.
    pub fn anonymous() -> Self {
        Self {
            kind: PrincipalKind::Anonymous,
            account: None,
            arn: "anonymous".to_owned(),
            root_arn: None,
            role: None,
            role_text: None,
            session: None,
        }
    }

    /// Reads a principal from text: a 12-digit account id or
    /// `arn:aws:iam::ID:root` (the root), a role ARN, an assumed-role
    /// session ARN (its role is taken to have no path), a user ARN, or a
    /// service name.
    pub fn parse(text: &str) -> Result<Self, PrincipalError> {
        if is_account_id(text) {
            return Ok(Self::account_root(text.parse()?));
        }
        if text.ends_with(".amazonaws.com") {
            return Self::service(text);
        }
        if text.starts_with("arn:") && text.contains(":assumed-role/") {
            let session: AssumedRoleArn = text.parse()?;
            let role = session.role_arn();
            return Self::assumed_role(session, role);
        }
        if text.starts_with("arn:") && text.ends_with(":root") {
            let arn: crate::arn::Arn = text.parse()?;
            if arn.service() == "iam" && arn.resource() == "root" {
                return Ok(Self::account_root(arn.account().parse()?));
            }
        }
        if text.starts_with("arn:") && text.contains(":role/") {
            return Ok(Self::role(text.parse()?));
        }
        if text.starts_with("arn:") && text.contains(":user/") {
            return Self::user(text);
        }
        Err(PrincipalError::NotAPrincipal {
            value: text.to_owned(),
        })
    }

    /// The kind of principal.
    pub fn kind(&self) -> PrincipalKind {
        self.kind
    }
    /// The principal's account; `None` for a service principal and an
    /// anonymous caller.
    pub fn account(&self) -> Option<&AccountId> {
        self.account.as_ref()
    }
    /// The ARN as AWS prints it in messages (the service name for services).
    pub fn arn(&self) -> &str {
        &self.arn
    }
    /// The role, with its path, for roles and sessions.
    pub fn role_arn(&self) -> Option<&RoleArn> {
        self.role.as_ref()
    }
    /// The session ARN, for sessions.
    pub fn session_arn(&self) -> Option<&AssumedRoleArn> {
        self.session.as_ref()
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arn)
    }
}

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Who asks.
    pub principal: Principal,
    /// The action, e.g. `dynamodb:GetRecords`.
    pub action: String,
    /// The ARN of the resource acted on (`*` for actions without one, such
    /// as `dynamodb:ListStreams`).
    pub resource: String,
    /// Condition keys and their values.
    pub context: Context,
}

impl Request {
    /// A request whose context holds the global keys the principal
    /// determines: `aws:PrincipalArn`, `aws:PrincipalAccount`,
    /// `aws:PrincipalType`, `aws:PrincipalIsAWSService`, `aws:userid` (root),
    /// `aws:PrincipalServiceName` (services). Add the rest
    /// (`aws:SourceIp`, `aws:CurrentTime`, `aws:SecureTransport`,
    /// `aws:PrincipalOrgID`, ...) with [`Request::with_context`].
    pub fn new(
        principal: Principal,
        action: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        // The derived keys plus a few the caller usually adds.
        let mut context = Context::with_capacity(10);
        match principal.kind {
            PrincipalKind::Service => {
                context.insert_static("aws:PrincipalServiceName", principal.arn.as_str());
                context.insert_static("aws:PrincipalIsAWSService", "true");
            }
            PrincipalKind::Anonymous => {
                context.insert_static("aws:PrincipalType", "Anonymous");
            }
            kind => {
                let arn = principal
                    .role_text
                    .as_deref()
                    .unwrap_or(principal.arn.as_str());
                context.insert_static("aws:PrincipalArn", arn);
                if let Some(account) = &principal.account {
                    context.insert_static("aws:PrincipalAccount", account.as_str());
                    if kind == PrincipalKind::AccountRoot {
                        context.insert_static("aws:userid", account.as_str());
                    }
                }
                if kind == PrincipalKind::User {
                    let name = principal.arn.rsplit('/').next().unwrap_or_default();
                    context.insert_static("aws:username", name);
                }
                let principal_type = match kind {
                    PrincipalKind::AccountRoot => "Account",
                    PrincipalKind::User => "User",
                    _ => "AssumedRole",
                };
                context.insert_static("aws:PrincipalType", principal_type);
                context.insert_static("aws:PrincipalIsAWSService", "false");
            }
        }
        Self {
            principal,
            action: action.into(),
            resource: resource.into(),
            context,
        }
    }

    /// Sets a context key to one value.
    pub fn with_context(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key, value);
        self
    }

    /// Sets `aws:CurrentTime` (ISO 8601, UTC) and `aws:EpochTime` from
    /// seconds since the Unix epoch. The evaluator never reads a clock; the
    /// caller passes the time of the request.
    ///
    /// ```
    /// use streamgate_policy::eval::{Principal, Request};
    /// let request = Request::new(Principal::parse("111111111111")?, "dynamodb:GetRecords", "*")
    ///     .with_time(1_714_564_800);
    /// assert_eq!(request.context.get("aws:CurrentTime"), Some(&["2024-05-01T12:00:00Z".to_owned()][..]));
    /// # Ok::<(), streamgate_policy::eval::PrincipalError>(())
    /// ```
    pub fn with_time(mut self, unix_seconds: i64) -> Self {
        self.context
            .insert_static("aws:CurrentTime", format_utc_timestamp(unix_seconds));
        self.context
            .insert_static("aws:EpochTime", unix_seconds.to_string());
        self
    }

    /// Sets a multi-valued context key.
    pub fn with_context_values<V: Into<String>>(
        mut self,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.context.insert_many(key, values);
        self
    }
}

/// `2024-05-01T12:00:00Z` for seconds since the Unix epoch (proleptic
/// Gregorian calendar, UTC).
fn format_utc_timestamp(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let second_of_day = unix_seconds.rem_euclid(86_400);
    // Civil date from days since 1970-01-01, by 400-year eras.
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// The policies in play for one request.
#[derive(Debug, Clone, Default)]
pub struct PolicySet<'a> {
    identity: Vec<&'a PolicyDocument>,
    boundary: Option<&'a PolicyDocument>,
    session: Option<&'a PolicyDocument>,
    resource: Option<&'a PolicyDocument>,
    resource_owner: Option<AccountId>,
    resource_policy_required: bool,
}

impl<'a> PolicySet<'a> {
    /// No policies at all.
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds an identity-based policy of the principal (inline or managed).
    pub fn with_identity(mut self, policy: &'a PolicyDocument) -> Self {
        self.identity.push(policy);
        self
    }
    /// Sets the principal's permissions boundary.
    pub fn with_boundary(mut self, policy: &'a PolicyDocument) -> Self {
        self.boundary = Some(policy);
        self
    }
    /// Sets the session policy passed to AssumeRole.
    pub fn with_session_policy(mut self, policy: &'a PolicyDocument) -> Self {
        self.session = Some(policy);
        self
    }
    /// Sets the resource-based policy (a stream or table policy, a trust
    /// policy).
    pub fn with_resource_policy(mut self, policy: &'a PolicyDocument) -> Self {
        self.resource = Some(policy);
        self
    }
    /// Sets the account that owns the resource. Without it, the account in
    /// the request's resource ARN is used, and when that has none the
    /// resource is taken to be in the principal's account.
    pub fn with_resource_owner(mut self, owner: AccountId) -> Self {
        self.resource_owner = Some(owner);
        self
    }
    /// Makes the resource policy necessary even within its own account, as
    /// a role's trust policy is for `sts:AssumeRole` (and a KMS key policy
    /// for key use): an identity policy alone cannot grant the request, nor
    /// can the account root's full access; the resource policy must allow
    /// it, either directly or by naming the account, in which case the
    /// identity side must allow too.
    pub fn requiring_resource_policy(mut self) -> Self {
        self.resource_policy_required = true;
        self
    }
    /// The identity-based policies.
    pub fn identity(&self) -> &[&'a PolicyDocument] {
        &self.identity
    }
}

/// The three possible outcomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The request is allowed.
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// Nothing (or not enough) allowed it.
    ImplicitDeny,
}

impl Outcome {
    /// `Allow`, `ExplicitDeny` or `ImplicitDeny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "Allow",
            Outcome::ExplicitDeny => "ExplicitDeny",
            Outcome::ImplicitDeny => "ImplicitDeny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kinds of policy that take part in a decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyKind {
    /// An identity-based policy of the principal.
    Identity,
    /// The principal's permissions boundary.
    PermissionsBoundary,
    /// The session policy.
    Session,
    /// The resource-based policy.
    Resource,
}

impl PolicyKind {
    /// How AWS names the kind in messages: `identity-based policy`, ...
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyKind::Identity => "identity-based policy",
            PolicyKind::PermissionsBoundary => "permissions boundary",
            PolicyKind::Session => "session policy",
            PolicyKind::Resource => "resource-based policy",
        }
    }
    fn with_article(self) -> &'static str {
        match self {
            PolicyKind::Identity => "an identity-based policy",
            PolicyKind::PermissionsBoundary => "a permissions boundary",
            PolicyKind::Session => "a session policy",
            PolicyKind::Resource => "a resource-based policy",
        }
    }
}

impl fmt::Display for PolicyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A statement that took part in a decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementRef {
    /// Which kind of policy it is in.
    pub kind: PolicyKind,
    /// Which policy of that kind (identity policies are numbered in the
    /// order given to [`PolicySet::with_identity`]; the others are 0).
    pub policy_index: usize,
    /// The statement's index in the policy.
    pub statement_index: usize,
    /// The statement's Sid, if any.
    pub sid: Option<String>,
    /// The statement's effect.
    pub effect: Effect,
}

impl fmt::Display for StatementRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PolicyKind::Identity => write!(f, "{} {}", self.kind, self.policy_index)?,
            kind => write!(f, "{kind}")?,
        }
        write!(f, " statement {}", self.statement_index)?;
        if let Some(sid) = &self.sid {
            write!(f, " (Sid {sid:?})")?;
        }
        Ok(())
    }
}

/// The evaluator's answer, with the reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    outcome: Outcome,
    /// For denials, the kind of policy that denied or that lacks an allow.
    deciding_kind: Option<PolicyKind>,
    statements: Vec<StatementRef>,
    action: String,
    cross_account: bool,
    root_in_own_account: bool,
}

impl Decision {
    /// Allow, ExplicitDeny or ImplicitDeny.
    pub fn outcome(&self) -> Outcome {
        self.outcome
    }
    /// True for [`Outcome::Allow`].
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }
    /// For an allow, the statements that allowed; for an explicit deny, the
    /// statements that denied; for an implicit deny, the allowing statements
    /// that were not enough (for example an identity policy allowing a
    /// cross-account read that no resource policy allows).
    pub fn statements(&self) -> &[StatementRef] {
        &self.statements
    }
    /// For an explicit deny, the kind of policy whose statement denied.
    pub fn denied_by(&self) -> Option<PolicyKind> {
        (self.outcome == Outcome::ExplicitDeny)
            .then_some(self.deciding_kind)
            .flatten()
    }
    /// For an implicit deny, the kind of policy that has no allowing
    /// statement.
    pub fn missing_allow(&self) -> Option<PolicyKind> {
        (self.outcome == Outcome::ImplicitDeny)
            .then_some(self.deciding_kind)
            .flatten()
    }
    /// True when the principal's account does not own the resource.
    pub fn is_cross_account(&self) -> bool {
        self.cross_account
    }

    /// For a denial, the tail of AWS's AccessDenied message, e.g.
    /// `because no resource-based policy allows the dynamodb:GetRecords
    /// action` or `with an explicit deny in an identity-based policy`.
    pub fn denial_reason(&self) -> Option<String> {
        let kind = self.deciding_kind?;
        match self.outcome {
            Outcome::Allow => None,
            Outcome::ExplicitDeny => {
                Some(format!("with an explicit deny in {}", kind.with_article()))
            }
            Outcome::ImplicitDeny => Some(format!(
                "because no {} allows the {} action",
                kind.as_str(),
                self.action
            )),
        }
    }

    /// For a denial, AWS's whole AccessDenied message: `User: PRINCIPAL is
    /// not authorized to perform: ACTION on resource: RESOURCE because ...`.
    pub fn access_denied_message(&self, request: &Request) -> Option<String> {
        let reason = self.denial_reason()?;
        Some(format!(
            "User: {} is not authorized to perform: {} on resource: {} {reason}",
            request.principal.arn(),
            request.action,
            request.resource
        ))
    }
}

impl fmt::Display for Decision {
    /// The outcome and why, in one paragraph.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>| -> fmt::Result {
            for (i, statement) in self.statements.iter().enumerate() {
                if i > 0 {
                    f.write_str("; ")?;
                }
                write!(f, "{statement}")?;
            }
            Ok(())
        };
        let scope = if self.cross_account {
            "cross-account"
        } else {
            "same-account"
        };
        match self.outcome {
            Outcome::Allow if self.root_in_own_account => write!(
                f,
                "Allow: {} is allowed because the account root has full access in its own account and nothing denies it",
                self.action
            ),
            Outcome::Allow => {
                write!(f, "Allow: {} is allowed ({scope}) by ", self.action)?;
                list(f)
            }
            Outcome::ExplicitDeny => {
                write!(f, "ExplicitDeny: {} is denied ", self.action)?;
                if let Some(reason) = self.denial_reason() {
                    f.write_str(&reason)?;
                }
                f.write_str(": ")?;
                list(f)
            }
            Outcome::ImplicitDeny => {
                write!(f, "ImplicitDeny: {} is denied ({scope}) ", self.action)?;
                if let Some(reason) = self.denial_reason() {
                    f.write_str(&reason)?;
                }
                if !self.statements.is_empty() {
                    f.write_str("; allowed only by ")?;
                    list(f)?;
                }
                Ok(())
            }
        }
    }
}

/// How the allowing statements of a resource policy named the requester;
/// one statement may name it in several ways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Grants {
    /// By the session ARN, `*` or the service: a direct grant.
    direct: bool,
    /// By the role ARN: limited by the boundary and session policy.
    role: bool,
    /// By the account (root ARN or id): delegated to the account, whose
    /// identity side decides.
    account: bool,
}

impl Grants {
    const DIRECT: Grants = Grants {
        direct: true,
        role: false,
        account: false,
    };
    fn any(self) -> bool {
        self.direct || self.role || self.account
    }
    fn add(&mut self, other: Grants) {
        self.direct |= other.direct;
        self.role |= other.role;
        self.account |= other.account;
    }
}

/// True when a `NotPrincipal` names every identity the requester has, so
/// that the statement does not apply to it. A session is its session ARN,
/// its role and its account; a role is itself and its account; a root is
/// its account; a service is its name. Naming only some of them (only the
/// role, say) leaves the statement applying, as the IAM documentation warns.
fn not_principal_excludes(principals: &Principals, principal: &Principal) -> bool {
    let named = match principals {
        Principals::Everyone => return true,
        Principals::Named(named) => named,
    };
    let names = |kind: PrincipalType, wanted: &dyn Fn(&str) -> bool| {
        named
            .iter()
            .filter(|(k, _)| *k == kind)
            .any(|(_, values)| values.iter().any(|v| wanted(v)))
    };
    if principal.kind == PrincipalKind::Service {
        return names(PrincipalType::Service, &|v| v == principal.arn);
    }
    let account_named = names(PrincipalType::Aws, &|v| {
        v == "*"
            || principal.root_arn.as_deref() == Some(v)
            || principal.account.as_ref().is_some_and(|a| a.as_str() == v)
    });
    let self_named = names(PrincipalType::Aws, &|v| v == "*" || v == principal.arn);
    let role_named = principal
        .role_text
        .as_deref()
        .is_none_or(|role| names(PrincipalType::Aws, &|v| v == "*" || v == role));
    account_named && self_named && role_named
}

fn principals_match(principals: &Principals, principal: &Principal) -> Grants {
    let named = match principals {
        Principals::Everyone => return Grants::DIRECT,
        Principals::Named(named) => named,
    };
    let mut grants = Grants::default();
    for (kind, values) in named {
        for value in values.iter() {
            match kind {
                // IAM: `"*"` and `{"AWS": "*"}` are the same, everyone,
                // anonymous callers included; nothing else names one.
                PrincipalType::Aws if principal.kind == PrincipalKind::Anonymous => {
                    grants.direct |= value == "*";
                }
                PrincipalType::Aws if principal.kind != PrincipalKind::Service => {
                    if value == "*" || *value == principal.arn {
                        grants.direct = true;
                    } else if principal.role_text.as_deref() == Some(value.as_str()) {
                        grants.role = true;
                    } else if principal.root_arn.as_deref() == Some(value.as_str())
                        || principal
                            .account
                            .as_ref()
                            .is_some_and(|a| a.as_str() == value)
                    {
                        grants.account = true;
                    }
                }
                PrincipalType::Service
                    if principal.kind == PrincipalKind::Service && *value == principal.arn =>
                {
                    grants.direct = true;
                }
                _ => {}
            }
        }
    }
    grants
}

/// Whether a statement applies to the request, ignoring its principal.
fn statement_matches(statement: &Statement, request: &Request, variables: bool) -> bool {
    let action = &request.action;
    let action_ok = match (&statement.action, &statement.not_action) {
        (Some(actions), _) => actions.iter().any(|p| action_matches(p, action)),
        (None, Some(actions)) => !actions.iter().any(|p| action_matches(p, action)),
        (None, None) => false,
    };
    if !action_ok {
        return false;
    }
    let resource_ok = match (&statement.resource, &statement.not_resource) {
        (Some(patterns), _) | (None, Some(patterns)) => {
            let mut any_match = false;
            for pattern in patterns.iter() {
                any_match |= if variables {
                    // IAM "Variables and tags": a variable with no value
                    // makes the statement not apply, in NotResource as in
                    // Resource.
                    match substitute_resource(pattern, &request.context) {
                        Some(pattern) => resource_matches(&pattern, &request.resource),
                        None => return false,
                    }
                } else {
                    resource_matches(pattern, &request.resource)
                };
            }
            any_match == statement.resource.is_some()
        }
        // No Resource at all: a trust policy, whose resource is the role.
        (None, None) => true,
    };
    if !resource_ok {
        return false;
    }
    match &statement.condition {
        Some(blocks) => conditions_match(blocks, &request.context, variables),
        None => true,
    }
}

/// What one policy kind contributed.
#[derive(Default)]
struct Scan {
    allows: bool,
    denies: bool,
}

/// Evaluates `request` against `policies`.
pub fn evaluate(request: &Request, policies: &PolicySet<'_>) -> Decision {
    let mut allowing: Vec<StatementRef> = Vec::new();
    let mut denying: Vec<StatementRef> = Vec::new();
    // IAM "AWS JSON policy elements: NotPrincipal": a Deny with NotPrincipal
    // always denies an IAM principal that has a permissions boundary
    // attached, whatever NotPrincipal names.
    let has_boundary = policies.boundary.is_some();
    let mut scan = |kind: PolicyKind, index: usize, doc: &PolicyDocument| -> (Scan, Grants) {
        let variables = doc.substitutes_variables();
        let mut result = Scan::default();
        let mut grants = Grants::default();
        for (statement_index, statement) in doc.statements().iter().enumerate() {
            let statement_grants = if kind == PolicyKind::Resource {
                let found = match (&statement.principal, &statement.not_principal) {
                    (Some(p), _) => principals_match(p, &request.principal),
                    // NotPrincipal with Allow is not supported by AWS: it
                    // grants nothing.
                    (None, Some(_)) if statement.effect == Effect::Allow => Grants::default(),
                    (None, Some(np))
                        if has_boundary || !not_principal_excludes(np, &request.principal) =>
                    {
                        Grants::DIRECT
                    }
                    _ => Grants::default(),
                };
                if !found.any() {
                    continue;
                }
                found
            } else {
                Grants::default()
            };
            if !statement_matches(statement, request, variables) {
                continue;
            }
            let reference = StatementRef {
                kind,
                policy_index: index,
                statement_index,
                sid: statement.sid.clone(),
                effect: statement.effect,
            };
            match statement.effect {
                Effect::Deny => {
                    result.denies = true;
                    denying.push(reference);
                }
                Effect::Allow => {
                    result.allows = true;
                    grants.add(statement_grants);
                    allowing.push(reference);
                }
            }
        }
        (result, grants)
    };

    let mut identity = Scan::default();
    for (index, doc) in policies.identity.iter().enumerate() {
        let (found, _) = scan(PolicyKind::Identity, index, doc);
        identity.allows |= found.allows;
        identity.denies |= found.denies;
    }
    let boundary = policies
        .boundary
        .map(|doc| scan(PolicyKind::PermissionsBoundary, 0, doc).0);
    let session = policies
        .session
        .map(|doc| scan(PolicyKind::Session, 0, doc).0);
    let (resource, grants) = match policies.resource {
        Some(doc) => {
            let (found, grants) = scan(PolicyKind::Resource, 0, doc);
            (Some(found), grants)
        }
        None => (None, Grants::default()),
    };

    let principal = &request.principal;
    let owner = policies
        .resource_owner
        .as_ref()
        .map(AccountId::as_str)
        .or_else(|| {
            crate::arn::Arn::split_parts(&request.resource)
                .map(|parts| parts[4])
                .filter(|account| is_account_id(account))
        });
    let cross_account = match (principal.account(), owner) {
        (Some(mine), Some(owner)) => mine.as_str() != owner,
        (Some(_), None) => false,
        (None, _) => true,
    };
    let action = request.action.clone();
    let decision = |outcome, deciding_kind, statements, root_in_own_account| Decision {
        outcome,
        deciding_kind,
        statements,
        action,
        cross_account,
        root_in_own_account,
    };

    // 1. An explicit deny anywhere wins.
    let deny_order = [
        (PolicyKind::Identity, identity.denies),
        (
            PolicyKind::Resource,
            resource.as_ref().is_some_and(|s| s.denies),
        ),
        (
            PolicyKind::PermissionsBoundary,
            boundary.as_ref().is_some_and(|s| s.denies),
        ),
        (
            PolicyKind::Session,
            session.as_ref().is_some_and(|s| s.denies),
        ),
    ];
    if let Some((kind, _)) = deny_order.into_iter().find(|(_, denies)| *denies) {
        return decision(Outcome::ExplicitDeny, Some(kind), denying, false);
    }

    // 2. The root user has full access in its own account, except where a
    // resource policy is required (a trust policy, a KMS key policy): that
    // policy must allow the root too, by naming it or its account.
    let is_root = principal.kind == PrincipalKind::AccountRoot;
    if is_root && !cross_account && !policies.resource_policy_required {
        return decision(Outcome::Allow, None, allowing, true);
    }

    let boundary_ok = boundary.as_ref().is_none_or(|s| s.allows);
    let session_ok = session.as_ref().is_none_or(|s| s.allows);
    let limits_ok = boundary_ok && session_ok;
    // The identity side: what the principal's own policies allow within its
    // boundary and session policy.
    let identity_side = is_root || (identity.allows && limits_ok);
    // Which limit to blame when the identity side fails.
    let identity_gap = if !(is_root || identity.allows) {
        PolicyKind::Identity
    } else if !boundary_ok {
        PolicyKind::PermissionsBoundary
    } else {
        PolicyKind::Session
    };

    if matches!(
        principal.kind,
        PrincipalKind::Service | PrincipalKind::Anonymous
    ) {
        // 5. A service, or an anonymous caller, has no identity side.
        return if grants.any() {
            decision(Outcome::Allow, None, allowing, false)
        } else {
            decision(
                Outcome::ImplicitDeny,
                Some(PolicyKind::Resource),
                allowing,
                false,
            )
        };
    }

    if cross_account {
        // 4. Both sides must allow.
        return match (identity_side, grants.any()) {
            (true, true) => decision(Outcome::Allow, None, allowing, false),
            (false, _) => decision(Outcome::ImplicitDeny, Some(identity_gap), allowing, false),
            (true, false) => decision(
                Outcome::ImplicitDeny,
                Some(PolicyKind::Resource),
                allowing,
                false,
            ),
        };
    }

    // 3. Same account: a union, with the role-versus-session rule.
    let direct_grant = grants.direct;
    let limited_grant = grants.role && limits_ok;
    // Which limit to blame when a grant to the role is all there is.
    let limit_gap = if !boundary_ok {
        PolicyKind::PermissionsBoundary
    } else {
        PolicyKind::Session
    };
    if policies.resource_policy_required {
        // A trust policy must allow; naming the account delegates to the
        // identity side, which must then allow too.
        let delegated = grants.account && identity_side;
        if direct_grant || limited_grant || delegated {
            let keep = |s: &StatementRef| s.kind == PolicyKind::Resource || delegated;
            let statements = allowing.into_iter().filter(keep).collect();
            return decision(Outcome::Allow, None, statements, false);
        }
        let gap = if grants.role {
            limit_gap
        } else if grants.account {
            identity_gap
        } else {
            PolicyKind::Resource
        };
        return decision(Outcome::ImplicitDeny, Some(gap), allowing, false);
    }
    if direct_grant || limited_grant || identity_side {
        // Keep only the statements that actually carry the allow.
        let keep = |s: &StatementRef| match s.kind {
            PolicyKind::Resource => direct_grant || limited_grant,
            PolicyKind::Identity | PolicyKind::PermissionsBoundary | PolicyKind::Session => {
                identity_side || (limited_grant && s.kind != PolicyKind::Identity)
            }
        };
        let statements = allowing.into_iter().filter(keep).collect();
        return decision(Outcome::Allow, None, statements, false);
    }
    let gap = if grants.role && identity_gap == PolicyKind::Identity {
        limit_gap
    } else {
        identity_gap
    };
    decision(Outcome::ImplicitDeny, Some(gap), allowing, false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::{Expect, expect};

    const STREAM: &str =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

    fn doc(text: &str) -> PolicyDocument {
        PolicyDocument::parse(text).unwrap()
    }

    /// Evaluates `principal action resource` with the given identity,
    /// boundary, session and resource policies and prints the outcome, the
    /// explanation and the AccessDenied message.
    fn check(
        request: Request,
        identity: &[&str],
        boundary: Option<&str>,
        session: Option<&str>,
        resource: Option<&str>,
        expected: Expect,
    ) {
        let identity: Vec<PolicyDocument> = identity.iter().map(|t| doc(t)).collect();
        let boundary = boundary.map(doc);
        let session = session.map(doc);
        let resource = resource.map(doc);
        let mut set = PolicySet::new();
        for policy in &identity {
            set = set.with_identity(policy);
        }
        if let Some(b) = &boundary {
            set = set.with_boundary(b);
        }
        if let Some(s) = &session {
            set = set.with_session_policy(s);
        }
        if let Some(r) = &resource {
            set = set.with_resource_policy(r);
        }
        let decision = evaluate(&request, &set);
        let mut out = format!("{}\n{decision}\n", decision.outcome());
        if let Some(message) = decision.access_denied_message(&request) {
            out.push_str(&message);
            out.push('\n');
        }
        expected.assert_eq(&out);
    }

    fn session(arn: &str) -> Principal {
        Principal::parse(arn).unwrap()
    }

    const READ_IDENTITY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ReadStream","Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/*"}]}"#;
    const STREAM_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"CrossAccountRead","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":["dynamodb:DescribeStream","dynamodb:GetRecords","dynamodb:GetShardIterator"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"}]}"#;

    fn consumer_read() -> Request {
        Request::new(
            session("arn:aws:sts::111111111111:assumed-role/billing-consumer/poller"),
            "dynamodb:GetRecords",
            STREAM,
        )
    }

    #[test]
    fn an_anonymous_caller_is_named_only_by_everyone() {
        const URL: &str = "arn:aws:lambda:eu-west-1:111111111111:function:web";
        let policy = |principal: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S","Effect":"Allow","Principal":{principal},"Action":"lambda:InvokeFunctionUrl","Resource":"{URL}"}}]}}"#
            )
        };
        let anonymous = Request::new(Principal::anonymous(), "lambda:InvokeFunctionUrl", URL);
        let outcomes: Vec<String> = [
            r#""*""#,
            r#"{"AWS":"*"}"#,
            r#"{"AWS":"arn:aws:iam::111111111111:root"}"#,
            r#"{"AWS":"anonymous"}"#,
            r#"{"Service":"lambda.amazonaws.com"}"#,
        ]
        .into_iter()
        .map(|principal| {
            let document = doc(&policy(principal));
            let set = PolicySet::new()
                .with_resource_owner("111111111111".parse().unwrap())
                .with_resource_policy(&document);
            format!("{principal} -> {}", evaluate(&anonymous, &set).outcome())
        })
        .collect();
        expect![[r#"
            "*" -> Allow
            {"AWS":"*"} -> Allow
            {"AWS":"arn:aws:iam::111111111111:root"} -> ImplicitDeny
            {"AWS":"anonymous"} -> ImplicitDeny
            {"Service":"lambda.amazonaws.com"} -> ImplicitDeny"#]]
        .assert_eq(&outcomes.join("\n"));
        // No identity side; its context says only what it is.
        let denied = evaluate(&anonymous, &PolicySet::new());
        expect!["User: anonymous is not authorized to perform: lambda:InvokeFunctionUrl on resource: arn:aws:lambda:eu-west-1:111111111111:function:web because no resource-based policy allows the lambda:InvokeFunctionUrl action"]
            .assert_eq(&denied.access_denied_message(&anonymous).unwrap());
        let keys: Vec<String> = anonymous
            .context
            .iter()
            .map(|(k, v)| format!("{k}={}", v.join("|")))
            .collect();
        expect!["aws:PrincipalType=Anonymous"].assert_eq(&keys.join(", "));
    }

    #[test]
    fn cross_account_needs_both_sides() {
        check(
            consumer_read(),
            &[READ_IDENTITY],
            None,
            None,
            Some(STREAM_POLICY),
            expect![[r#"
                Allow
                Allow: dynamodb:GetRecords is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStream"); resource-based policy statement 0 (Sid "CrossAccountRead")
            "#]],
        );
        check(
            consumer_read(),
            &[READ_IDENTITY],
            None,
            None,
            None,
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (cross-account) because no resource-based policy allows the dynamodb:GetRecords action; allowed only by identity-based policy 0 statement 0 (Sid "ReadStream")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action
            "#]],
        );
        check(
            consumer_read(),
            &[],
            None,
            None,
            Some(STREAM_POLICY),
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (cross-account) because no identity-based policy allows the dynamodb:GetRecords action; allowed only by resource-based policy statement 0 (Sid "CrossAccountRead")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no identity-based policy allows the dynamodb:GetRecords action
            "#]],
        );
    }

    #[test]
    fn explicit_deny_wins_and_names_its_side() {
        let deny_in_stream = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoInsecure","Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;
        check(
            consumer_read().with_context("aws:SecureTransport", "false"),
            &[READ_IDENTITY],
            None,
            None,
            Some(deny_in_stream),
            expect![[r#"
                ExplicitDeny
                ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in a resource-based policy: resource-based policy statement 0 (Sid "NoInsecure")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in a resource-based policy
            "#]],
        );
        let deny_identity = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotAction":"dynamodb:Describe*","Resource":"*"}]}"#;
        check(
            consumer_read(),
            &[READ_IDENTITY, deny_identity],
            None,
            None,
            Some(STREAM_POLICY),
            expect![[r#"
                ExplicitDeny
                ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in an identity-based policy: identity-based policy 1 statement 0
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in an identity-based policy
            "#]],
        );
    }

    #[test]
    fn same_account_role_versus_session_rule() {
        let same_account_stream = "arn:aws:dynamodb:eu-west-1:111111111111:table/documents/stream/2024-05-01T12:00:00.000";
        let request = || {
            Request::new(
                Principal::assumed_role(
                    "arn:aws:sts::111111111111:assumed-role/billing-consumer/poller"
                        .parse()
                        .unwrap(),
                    "arn:aws:iam::111111111111:role/service/billing-consumer"
                        .parse()
                        .unwrap(),
                )
                .unwrap(),
                "dynamodb:GetRecords",
                same_account_stream,
            )
        };
        let to_role = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ToRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/service/billing-consumer"},"Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
        let to_session = r#"{"Version":"2012-10-17","Statement":[{"Sid":"ToSession","Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/billing-consumer/poller"},"Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
        let boundary = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OnlyLogs","Effect":"Allow","Action":"logs:*","Resource":"*"}]}"#;
        // A resource policy alone grants within the account.
        check(
            request(),
            &[],
            None,
            None,
            Some(to_role),
            expect![[r#"
                Allow
                Allow: dynamodb:GetRecords is allowed (same-account) by resource-based policy statement 0 (Sid "ToRole")
            "#]],
        );
        // Naming the role: the boundary still limits it.
        check(
            request(),
            &[],
            Some(boundary),
            None,
            Some(to_role),
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (same-account) because no permissions boundary allows the dynamodb:GetRecords action; allowed only by resource-based policy statement 0 (Sid "ToRole")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:111111111111:table/documents/stream/2024-05-01T12:00:00.000 because no permissions boundary allows the dynamodb:GetRecords action
            "#]],
        );
        // Naming the session: a direct grant the boundary does not limit.
        check(
            request(),
            &[],
            Some(boundary),
            Some(boundary),
            Some(to_session),
            expect![[r#"
                Allow
                Allow: dynamodb:GetRecords is allowed (same-account) by resource-based policy statement 0 (Sid "ToSession")
            "#]],
        );
        // Identity allows but the session policy does not.
        check(
            request(),
            &[READ_IDENTITY
                .replace("222222222222", "111111111111")
                .as_str()],
            None,
            Some(boundary),
            None,
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (same-account) because no session policy allows the dynamodb:GetRecords action; allowed only by identity-based policy 0 statement 0 (Sid "ReadStream")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:111111111111:table/documents/stream/2024-05-01T12:00:00.000 because no session policy allows the dynamodb:GetRecords action
            "#]],
        );
    }

    #[test]
    fn deny_with_not_principal_must_name_every_identity() {
        let policy = |names: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{STREAM_ALLOW},{{"Sid":"OnlyTheConsumer","Effect":"Deny","NotPrincipal":{{"AWS":[{names}]}},"Action":"dynamodb:*","Resource":"*"}}]}}"#
            )
        };
        const STREAM_ALLOW: &str = r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":"dynamodb:GetRecords","Resource":"*"}"#;
        let all_three = policy(
            r#""arn:aws:sts::111111111111:assumed-role/billing-consumer/poller","arn:aws:iam::111111111111:role/billing-consumer","arn:aws:iam::111111111111:root""#,
        );
        check(
            consumer_read(),
            &[READ_IDENTITY],
            None,
            None,
            Some(&all_three),
            expect![[r#"
                Allow
                Allow: dynamodb:GetRecords is allowed (cross-account) by identity-based policy 0 statement 0 (Sid "ReadStream"); resource-based policy statement 0
            "#]],
        );
        let without_account = policy(
            r#""arn:aws:sts::111111111111:assumed-role/billing-consumer/poller","arn:aws:iam::111111111111:role/billing-consumer""#,
        );
        check(
            consumer_read(),
            &[READ_IDENTITY],
            None,
            None,
            Some(&without_account),
            expect![[r#"
                ExplicitDeny
                ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in a resource-based policy: resource-based policy statement 1 (Sid "OnlyTheConsumer")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in a resource-based policy
            "#]],
        );
    }

    #[test]
    fn deny_with_not_principal_always_denies_a_principal_with_a_boundary() {
        // IAM "AWS JSON policy elements: NotPrincipal": "The NotPrincipal
        // element with a Deny effect will always deny any IAM principal that
        // has a permissions boundary policy attached, regardless of the values
        // specified in the NotPrincipal element."
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"},"Action":"dynamodb:GetRecords","Resource":"*"},{"Sid":"OnlyTheConsumer","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:sts::111111111111:assumed-role/billing-consumer/poller","arn:aws:iam::111111111111:role/billing-consumer","arn:aws:iam::111111111111:root"]},"Action":"dynamodb:*","Resource":"*"}]}"#;
        let boundary = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}"#;
        check(
            consumer_read(),
            &[READ_IDENTITY],
            Some(boundary),
            None,
            Some(policy),
            expect![[r#"
                ExplicitDeny
                ExplicitDeny: dynamodb:GetRecords is denied with an explicit deny in a resource-based policy: resource-based policy statement 1 (Sid "OnlyTheConsumer")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 with an explicit deny in a resource-based policy
            "#]],
        );
    }

    #[test]
    fn allow_with_not_principal_grants_nothing() {
        // IAM "AWS JSON policy elements: NotPrincipal": "NotPrincipal must be
        // used with "Effect":"Deny". Using it with "Effect":"Allow" is not
        // supported."
        let policy = r#"{"Version":"2012-10-17","Statement":[{"Sid":"AllButAudit","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"dynamodb:GetRecords","Resource":"*"}]}"#;
        check(
            consumer_read(),
            &[READ_IDENTITY],
            None,
            None,
            Some(policy),
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (cross-account) because no resource-based policy allows the dynamodb:GetRecords action; allowed only by identity-based policy 0 statement 0 (Sid "ReadStream")
                User: arn:aws:sts::111111111111:assumed-role/billing-consumer/poller is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action
            "#]],
        );
    }

    #[test]
    fn a_required_trust_policy_must_allow_within_the_account() {
        let role = "arn:aws:iam::111111111111:role/billing-consumer";
        let deployer = || {
            Request::new(
                session("arn:aws:sts::111111111111:assumed-role/deployer/ci"),
                "sts:AssumeRole",
                role,
            )
        };
        let trust = |principal: &str| {
            doc(&format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Trust","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"sts:AssumeRole"}}]}}"#
            ))
        };
        let may_assume = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"MayAssume","Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}"#,
        );
        let run = |trust: &PolicyDocument, identity: Option<&PolicyDocument>| {
            let mut set = PolicySet::new()
                .with_resource_policy(trust)
                .requiring_resource_policy();
            if let Some(identity) = identity {
                set = set.with_identity(identity);
            }
            let decision = evaluate(&deployer(), &set);
            format!("{decision}\n")
        };
        let names_role = trust("arn:aws:iam::111111111111:role/deployer");
        let names_account = trust("arn:aws:iam::111111111111:root");
        let names_other = trust("arn:aws:iam::111111111111:role/someone-else");
        let out = [
            run(&names_role, None),
            run(&names_account, None),
            run(&names_account, Some(&may_assume)),
            run(&names_other, Some(&may_assume)),
        ]
        .concat();
        expect![[r#"
            Allow: sts:AssumeRole is allowed (same-account) by resource-based policy statement 0 (Sid "Trust")
            ImplicitDeny: sts:AssumeRole is denied (same-account) because no identity-based policy allows the sts:AssumeRole action; allowed only by resource-based policy statement 0 (Sid "Trust")
            Allow: sts:AssumeRole is allowed (same-account) by identity-based policy 0 statement 0 (Sid "MayAssume"); resource-based policy statement 0 (Sid "Trust")
            ImplicitDeny: sts:AssumeRole is denied (same-account) because no resource-based policy allows the sts:AssumeRole action; allowed only by identity-based policy 0 statement 0 (Sid "MayAssume")
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn a_required_resource_policy_binds_the_account_root_too() {
        // AWS KMS "Default key policy": "Unlike other AWS resource policies,
        // an AWS KMS key policy does not automatically give permission to the
        // account or any of its identities." A role's trust policy likewise
        // decides who may assume the role: where the resource policy is
        // required, the root user's full access does not stand in for it.
        let root = || {
            Request::new(
                Principal::parse("111111111111").unwrap(),
                "sts:AssumeRole",
                "arn:aws:iam::111111111111:role/billing-consumer",
            )
        };
        let lambda_only = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Lambda","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        );
        let names_account = doc(
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Account","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#,
        );
        let run = |trust: &PolicyDocument| {
            let set = PolicySet::new()
                .with_resource_policy(trust)
                .requiring_resource_policy();
            let request = root();
            let decision = evaluate(&request, &set);
            let mut out = format!("{decision}\n");
            if let Some(message) = decision.access_denied_message(&request) {
                out.push_str(&message);
                out.push('\n');
            }
            out
        };
        let out = [run(&lambda_only), run(&names_account)].concat();
        expect![[r#"
            ImplicitDeny: sts:AssumeRole is denied (same-account) because no resource-based policy allows the sts:AssumeRole action
            User: arn:aws:iam::111111111111:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/billing-consumer because no resource-based policy allows the sts:AssumeRole action
            Allow: sts:AssumeRole is allowed (same-account) by resource-based policy statement 0 (Sid "Account")
        "#]].assert_eq(&out);
    }

    #[test]
    fn policy_variables_in_resources_follow_iam() {
        let same_account_stream = "arn:aws:dynamodb:eu-west-1:111111111111:table/documents/stream/2024-05-01T12:00:00.000";
        let request = |context: Option<&str>| {
            let request = Request::new(
                session("arn:aws:sts::111111111111:assumed-role/billing-consumer/poller"),
                "dynamodb:GetRecords",
                same_account_stream,
            );
            match context {
                Some(table) => request.with_context("dynamodb:table", table),
                None => request,
            }
        };
        let identity = |element: &str, pattern: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S","Effect":"Allow","Action":"dynamodb:GetRecords",{element}:"{pattern}"}}]}}"#
            )
        };
        let run = |policy: &str, context: Option<&str>| {
            let policy = doc(policy);
            let decision = evaluate(&request(context), &PolicySet::new().with_identity(&policy));
            format!("{}\n", decision.outcome())
        };
        // IAM "Variables and tags": "any attempt to match it fails and causes
        // the statement to be invalid": an absent variable in NotResource
        // does not make the statement apply to everything.
        let not_resource = identity(
            r#""NotResource""#,
            "arn:aws:dynamodb:*:*:table/${dynamodb:table}/*",
        );
        // IAM "Variables and tags": variables are substituted only in the
        // resource part of an ARN, after the fifth colon; before it they
        // are literal text.
        let in_account = identity(
            r#""Resource""#,
            "arn:aws:dynamodb:*:${aws:PrincipalAccount}:table/documents/stream/*",
        );
        let in_resource = identity(
            r#""Resource""#,
            "arn:aws:dynamodb:*:111111111111:table/${dynamodb:table}/stream/*",
        );
        let out = [
            run(&not_resource, None),
            run(&not_resource, Some("documents")),
            run(&not_resource, Some("other")),
            run(&in_account, None),
            run(&in_resource, Some("documents")),
        ]
        .concat();
        expect![[r#"
            ImplicitDeny
            ImplicitDeny
            Allow
            ImplicitDeny
            Allow
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn a_resource_star_ending_a_segment_crosses_colons() {
        // IAM "IAM JSON policy elements: Resource": "If the * wildcard is
        // the last character of a resource ARN segment, it can expand to
        // match beyond the colon boundaries." ArnLike keeps each segment
        // apart.
        let identity = |resource: &str, condition: &str| {
            format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Read","Effect":"Allow","Action":"dynamodb:GetRecords","Resource":"{resource}"{condition}}}]}}"#
            )
        };
        let run = |policy: &str| {
            let policy = doc(policy);
            let request = consumer_read().with_context("aws:SourceArn", STREAM);
            let decision = evaluate(
                &request,
                &PolicySet::new()
                    .with_identity(&policy)
                    .with_resource_policy(&doc(STREAM_POLICY)),
            );
            format!("{}\n", decision.outcome())
        };
        let out = [
            run(&identity("arn:aws:dynamodb:*:table/documents/stream/*", "")),
            run(&identity(
                "*",
                r#","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:dynamodb:*:table/documents/stream/*"}}"#,
            )),
        ]
        .concat();
        expect![[r#"
            Allow
            ImplicitDeny
        "#]]
        .assert_eq(&out);
    }

    #[test]
    fn roots_and_services() {
        let root = || Principal::parse("222222222222").unwrap();
        check(
            Request::new(root(), "dynamodb:GetRecords", STREAM),
            &[],
            None,
            None,
            None,
            expect![[r#"
                Allow
                Allow: dynamodb:GetRecords is allowed because the account root has full access in its own account and nothing denies it
            "#]],
        );
        check(
            Request::new(
                Principal::parse("arn:aws:iam::333333333333:root").unwrap(),
                "dynamodb:GetRecords",
                STREAM,
            ),
            &[],
            None,
            None,
            Some(STREAM_POLICY),
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: dynamodb:GetRecords is denied (cross-account) because no resource-based policy allows the dynamodb:GetRecords action
                User: arn:aws:iam::333333333333:root is not authorized to perform: dynamodb:GetRecords on resource: arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 because no resource-based policy allows the dynamodb:GetRecords action
            "#]],
        );
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
        let role = "arn:aws:iam::111111111111:role/billing-consumer";
        check(
            Request::new(
                Principal::service("lambda.amazonaws.com").unwrap(),
                "sts:AssumeRole",
                role,
            ),
            &[],
            None,
            None,
            Some(trust),
            expect![[r#"
                Allow
                Allow: sts:AssumeRole is allowed (cross-account) by resource-based policy statement 0
            "#]],
        );
        check(
            Request::new(
                Principal::service("ec2.amazonaws.com").unwrap(),
                "sts:AssumeRole",
                role,
            ),
            &[],
            None,
            None,
            Some(trust),
            expect![[r#"
                ImplicitDeny
                ImplicitDeny: sts:AssumeRole is denied (cross-account) because no resource-based policy allows the sts:AssumeRole action
                User: ec2.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111111111111:role/billing-consumer because no resource-based policy allows the sts:AssumeRole action
            "#]],
        );
    }

    #[test]
    fn timestamps_round_trip_through_the_date_parser() {
        for seconds in [
            0,
            951_782_400,
            1_709_164_800,
            1_714_564_800,
            4_102_444_799,
            -86_401,
        ] {
            let text = format_utc_timestamp(seconds);
            assert_eq!(
                crate::condition::parse_date_millis(&text),
                Some(i128::from(seconds) * 1000),
                "{text}"
            );
        }
        expect!["2000-02-29T00:00:00Z"].assert_eq(&format_utc_timestamp(951_782_400));
    }

    #[test]
    fn principals_parse_and_fill_the_context() {
        let describe = |text: &str| match Principal::parse(text) {
            Ok(p) => {
                let request = Request::new(p.clone(), "a:b", "*");
                let keys: Vec<String> = request
                    .context
                    .iter()
                    .map(|(k, v)| format!("{k}={}", v.join("|")))
                    .collect();
                format!(
                    "{:?} {:?} {} [{}]",
                    p.kind(),
                    p.account().map(AccountId::as_str),
                    p.arn(),
                    keys.join(", ")
                )
            }
            Err(e) => format!("error: {e}"),
        };
        let mut out = String::new();
        for text in [
            "111111111111",
            "arn:aws:iam::111111111111:root",
            "arn:aws:iam::111111111111:role/a/b/reader",
            "arn:aws:sts::111111111111:assumed-role/reader/s1",
            "lambda.amazonaws.com",
            "arn:aws:iam::111111111111:user/division/bob",
            "arn:aws:iam::111111111111:group/admins",
            "Lambda.amazonaws.com",
        ] {
            out.push_str(&describe(text));
            out.push('\n');
        }
        expect![[r#"
            AccountRoot Some("111111111111") arn:aws:iam::111111111111:root [aws:PrincipalArn=arn:aws:iam::111111111111:root, aws:PrincipalAccount=111111111111, aws:userid=111111111111, aws:PrincipalType=Account, aws:PrincipalIsAWSService=false]
            AccountRoot Some("111111111111") arn:aws:iam::111111111111:root [aws:PrincipalArn=arn:aws:iam::111111111111:root, aws:PrincipalAccount=111111111111, aws:userid=111111111111, aws:PrincipalType=Account, aws:PrincipalIsAWSService=false]
            Role Some("111111111111") arn:aws:iam::111111111111:role/a/b/reader [aws:PrincipalArn=arn:aws:iam::111111111111:role/a/b/reader, aws:PrincipalAccount=111111111111, aws:PrincipalType=AssumedRole, aws:PrincipalIsAWSService=false]
            AssumedRole Some("111111111111") arn:aws:sts::111111111111:assumed-role/reader/s1 [aws:PrincipalArn=arn:aws:iam::111111111111:role/reader, aws:PrincipalAccount=111111111111, aws:PrincipalType=AssumedRole, aws:PrincipalIsAWSService=false]
            Service None lambda.amazonaws.com [aws:PrincipalServiceName=lambda.amazonaws.com, aws:PrincipalIsAWSService=true]
            User Some("111111111111") arn:aws:iam::111111111111:user/division/bob [aws:PrincipalArn=arn:aws:iam::111111111111:user/division/bob, aws:PrincipalAccount=111111111111, aws:username=bob, aws:PrincipalType=User, aws:PrincipalIsAWSService=false]
            error: "arn:aws:iam::111111111111:group/admins" is not a principal: expected an account id, an account root, role, assumed-role or user ARN, or a service such as lambda.amazonaws.com
            error: "Lambda.amazonaws.com" is not a principal: expected an account id, an account root, role, assumed-role or user ARN, or a service such as lambda.amazonaws.com
        "#]]
        .assert_eq(&out);
        let mismatch = Principal::assumed_role(
            "arn:aws:sts::111111111111:assumed-role/reader/s1"
                .parse()
                .unwrap(),
            "arn:aws:iam::111111111111:role/writer".parse().unwrap(),
        );
        assert!(matches!(
            mismatch,
            Err(PrincipalError::SessionRoleMismatch { .. })
        ));
    }
}
