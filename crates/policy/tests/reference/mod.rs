//! A plain reference evaluator, written from the IAM documentation as
//! directly as possible and with no regard for speed: the specification the
//! fast evaluator in `eval.rs` is checked against on random inputs (and the
//! peer it is measured against in the bench).
//!
//! It shares only the document model with the fast evaluator. Wildcards are
//! matched by a recursive definition, ARNs by splitting into six parts,
//! conditions by a direct reading of each operator's documented meaning. It
//! supports the operators the property tests generate; any other operator
//! makes it give up with `None`, so a disagreement is never silent.

#![allow(dead_code)] // each test binary uses a different part of it

use streamgate_policy::condition::Context;
use streamgate_policy::document::{
    ConditionBlock, Effect, OperatorKind, PolicyDocument, PolicyVersion, PrincipalType, Principals,
    SetQualifier, Statement,
};
use streamgate_policy::eval::{Outcome, PolicySet, PrincipalKind, Request};

/// `*` is any sequence, `?` any one character, everything else itself.
pub(crate) fn wildcard(pattern: &[char], value: &[char], ignore_case: bool) -> bool {
    match pattern.split_first() {
        None => value.is_empty(),
        Some(('*', rest)) => {
            (0..=value.len()).any(|skip| wildcard(rest, &value[skip..], ignore_case))
        }
        Some((p, rest)) => match value.split_first() {
            None => false,
            Some((v, value_rest)) => {
                let same = *p == '?'
                    || p == v
                    || (ignore_case
                        && p.to_lowercase().collect::<String>()
                            == v.to_lowercase().collect::<String>());
                same && wildcard(rest, value_rest, ignore_case)
            }
        },
    }
}

fn chars(s: &str) -> Vec<char> {
    s.chars().collect()
}

/// Actions: wildcards, case-insensitive.
pub(crate) fn action_like(pattern: &str, action: &str) -> bool {
    wildcard(&chars(pattern), &chars(action), true)
}

/// ARNs: six colon-separated parts (the last keeps its colons), matched
/// part by part; a pattern with fewer parts whose last part ends in `*`
/// lets that part run over the remaining colons.
pub(crate) fn arn_like(pattern: &str, value: &str) -> bool {
    if pattern == "*" {
        return true;
    }
    let p: Vec<&str> = pattern.splitn(6, ':').collect();
    let v: Vec<&str> = value.splitn(6, ':').collect();
    for i in 0..p.len() {
        let last_pattern_part = i == p.len() - 1;
        if last_pattern_part && p.len() < v.len() {
            let rest = v[i..].join(":");
            return p[i].ends_with('*') && wildcard(&chars(p[i]), &chars(&rest), false);
        }
        if i >= v.len() || !wildcard(&chars(p[i]), &chars(v[i]), false) {
            return false;
        }
    }
    p.len() == v.len()
}

/// `Resource` patterns, read from IAM's "Using wildcards in resource ARNs":
/// wildcards stay within the colon-separated segments, except a `*` that is
/// the last character of its segment, which may run over colons; the
/// service segment (the third) takes no wildcard; in the resource part
/// (after the fifth colon) colons are ordinary characters.
pub(crate) fn resource_like(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char], segment: usize) -> bool {
        let Some((first, rest)) = p.split_first() else {
            return v.is_empty();
        };
        let in_resource = segment >= 5;
        match first {
            ':' if !in_resource => v.first() == Some(&':') && go(rest, &v[1..], segment + 1),
            '*' if segment != 2 => {
                let crosses = in_resource || rest.is_empty() || rest[0] == ':';
                (0..=v.len())
                    .take_while(|k| crosses || *k == 0 || v[k - 1] != ':')
                    .any(|k| go(rest, &v[k..], segment))
            }
            '?' if segment != 2 => {
                v.first().is_some_and(|c| in_resource || *c != ':') && go(rest, &v[1..], segment)
            }
            c => v.first() == Some(c) && go(rest, &v[1..], segment),
        }
    }
    go(&chars(pattern), &chars(value), 0)
}

/// `${key}` replaced by the key's single value; `None` when it has none.
fn with_variables(text: &str, context: &Context, version: Option<PolicyVersion>) -> Option<String> {
    if version != Some(PolicyVersion::V2012_10_17) {
        return Some(text.to_owned());
    }
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}')? + start;
        let key = &rest[start + 2..end];
        match context.get(key) {
            Some([value]) if !value.contains('*') && !value.contains('?') => out.push_str(value),
            _ => return None,
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// A `Resource` pattern with its variables substituted: only after the
/// fifth colon (IAM keeps the rest literal); `None` when one has no value.
fn resource_with_variables(
    pattern: &str,
    context: &Context,
    version: Option<PolicyVersion>,
) -> Option<String> {
    // The fifth colon outside `${...}`.
    let mut colons = 0;
    let mut depth = 0;
    let chars: Vec<char> = pattern.chars().collect();
    let mut split = None;
    for (i, c) in chars.iter().enumerate() {
        if *c == '{' && i > 0 && chars[i - 1] == '$' {
            depth += 1;
        } else if *c == '}' && depth > 0 {
            depth -= 1;
        } else if *c == ':' && depth == 0 {
            colons += 1;
            if colons == 5 {
                split = Some(i + 1);
                break;
            }
        }
    }
    match split {
        None => Some(pattern.to_owned()),
        Some(at) => {
            let prefix: String = chars[..at].iter().collect();
            let rest: String = chars[at..].iter().collect();
            Some(prefix + &with_variables(&rest, context, version)?)
        }
    }
}

/// The String and ARN operators, the only ones whose values take variables.
fn takes_variables(kind: OperatorKind) -> bool {
    let name = format!("{kind:?}");
    name.starts_with("String") || name.starts_with("Arn")
}

fn ipv4(text: &str) -> Option<u32> {
    let parts: Vec<u32> = text
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if parts.len() != 4 || parts.iter().any(|p| *p > 255) {
        return None;
    }
    Some(parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3])
}

/// One request value against one policy value, for the positive form of
/// the operator. `None`: an operator the reference does not cover.
fn one_value(kind: OperatorKind, policy: &str, request: &str) -> Option<bool> {
    use OperatorKind as K;
    Some(match kind {
        K::StringEquals | K::StringNotEquals => policy == request,
        K::StringEqualsIgnoreCase | K::StringNotEqualsIgnoreCase => {
            policy.to_lowercase() == request.to_lowercase()
        }
        K::StringLike | K::StringNotLike => wildcard(&chars(policy), &chars(request), false),
        K::Bool => policy.to_lowercase() == request.to_lowercase(),
        K::NumericEquals | K::NumericNotEquals => {
            matches!((policy.parse::<f64>(), request.parse::<f64>()), (Ok(a), Ok(b)) if a == b)
        }
        K::NumericLessThan => {
            matches!((request.parse::<f64>(), policy.parse::<f64>()), (Ok(r), Ok(p)) if r < p)
        }
        K::NumericGreaterThanEquals => {
            matches!((request.parse::<f64>(), policy.parse::<f64>()), (Ok(r), Ok(p)) if r >= p)
        }
        // The generator writes every date as YYYY-MM-DDTHH:MM:SSZ, which
        // orders like text.
        K::DateLessThan => request.len() == 20 && policy.len() == 20 && request < policy,
        K::DateGreaterThan => request.len() == 20 && policy.len() == 20 && request > policy,
        K::IpAddress | K::NotIpAddress => {
            let (network, bits) = policy.split_once('/')?;
            let bits: u32 = bits.parse().ok()?;
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            match (ipv4(network), ipv4(request)) {
                (Some(n), Some(r)) => n & mask == r & mask,
                _ => false,
            }
        }
        K::ArnLike | K::ArnEquals | K::ArnNotLike | K::ArnNotEquals => arn_like(policy, request),
        _ => return None,
    })
}

/// The documented meaning of one condition key under one operator.
fn condition_key(
    block: &ConditionBlock,
    key: &str,
    policy_values: &[String],
    context: &Context,
) -> Option<bool> {
    let kind = block.operator.kind()?;
    let values = context.get(key).unwrap_or(&[]);
    if kind == OperatorKind::Null {
        let want_absent = policy_values.iter().any(|v| v == "true");
        let want_present = policy_values.iter().any(|v| v == "false");
        return Some((want_absent && values.is_empty()) || (want_present && !values.is_empty()));
    }
    if values.is_empty() {
        if block.operator.if_exists() {
            return Some(true);
        }
        return Some(match block.operator.qualifier() {
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            None => kind.is_negated(),
        });
    }
    // For each request value: does it match some policy value?
    let mut matches = Vec::new();
    for value in values {
        let mut any = false;
        for policy in policy_values {
            any |= one_value(kind, policy, value)?;
        }
        matches.push(any);
    }
    let negated = kind.is_negated();
    Some(match block.operator.qualifier() {
        // Every request value must satisfy the operator.
        Some(SetQualifier::ForAllValues) => matches.iter().all(|m| *m != negated),
        // At least one request value must satisfy it.
        Some(SetQualifier::ForAnyValue) => matches.iter().any(|m| *m != negated),
        // Without a qualifier: a positive operator needs some value to
        // match, a negated one needs no value to match.
        None if negated => !matches.iter().any(|m| *m),
        None => matches.iter().any(|m| *m),
    })
}

fn conditions(
    statement: &Statement,
    request: &Request,
    version: Option<PolicyVersion>,
) -> Option<bool> {
    let Some(blocks) = &statement.condition else {
        return Some(true);
    };
    for block in blocks {
        for entry in &block.entries {
            let substitutes = block.operator.kind().is_some_and(takes_variables);
            let mut values = Vec::new();
            for value in entry.values.iter() {
                if !substitutes {
                    values.push(value.as_str().to_owned());
                    continue;
                }
                // A variable without a value: the statement does not apply.
                match with_variables(value.as_str(), &request.context, version) {
                    Some(value) => values.push(value),
                    None => return Some(false),
                }
            }
            if !condition_key(block, &entry.key, &values, &request.context)? {
                return Some(false);
            }
        }
    }
    Some(true)
}

/// Does the statement's action, resource and condition match?
fn applies(
    statement: &Statement,
    request: &Request,
    version: Option<PolicyVersion>,
) -> Option<bool> {
    let action = match (&statement.action, &statement.not_action) {
        (Some(list), _) => list.iter().any(|p| action_like(p, &request.action)),
        (None, Some(list)) => !list.iter().any(|p| action_like(p, &request.action)),
        (None, None) => false,
    };
    // Every pattern substituted; a variable without a value anywhere in
    // Resource or NotResource: the statement does not apply.
    let substituted = |list: &streamgate_policy::document::OneOrMany<String>| {
        list.iter()
            .map(|p| resource_with_variables(p, &request.context, version))
            .collect::<Option<Vec<String>>>()
    };
    let resource = match (&statement.resource, &statement.not_resource) {
        (Some(list), _) => match substituted(list) {
            Some(list) => list.iter().any(|p| resource_like(p, &request.resource)),
            None => false,
        },
        (None, Some(list)) => match substituted(list) {
            Some(list) => !list.iter().any(|p| resource_like(p, &request.resource)),
            None => false,
        },
        (None, None) => true,
    };
    if !action || !resource {
        return Some(false);
    }
    conditions(statement, request, version)
}

/// How a resource policy's principal names the requester.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Named {
    /// By its account (root ARN or id).
    Account,
    /// By its role ARN.
    Role,
    /// By its session ARN, the service name, or `*`.
    Directly,
}

fn named_in(principals: &Principals, request: &Request) -> Vec<Named> {
    let p = &request.principal;
    let mut found = Vec::new();
    match principals {
        Principals::Everyone => found.push(Named::Directly),
        Principals::Named(list) => {
            for (kind, values) in list {
                for value in values.iter() {
                    match kind {
                        PrincipalType::Service
                            if p.kind() == PrincipalKind::Service && value == p.arn() =>
                        {
                            found.push(Named::Directly);
                        }
                        PrincipalType::Aws if p.kind() != PrincipalKind::Service => {
                            let account = p
                                .account()
                                .map(|a| a.as_str().to_owned())
                                .unwrap_or_default();
                            if value == "*" || value == p.arn() {
                                found.push(Named::Directly);
                            } else if p.role_arn().is_some_and(|r| r.to_string() == *value) {
                                found.push(Named::Role);
                            } else if *value == account
                                || *value == format!("arn:aws:iam::{account}:root")
                            {
                                found.push(Named::Account);
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    found
}

fn every_identity_named(principals: &Principals, request: &Request) -> bool {
    let p = &request.principal;
    let Principals::Named(list) = principals else {
        return true;
    };
    let listed = |kind: PrincipalType, identity: &str| {
        list.iter().any(|(k, values)| {
            *k == kind
                && values
                    .iter()
                    .any(|v| v == identity || (kind == PrincipalType::Aws && v == "*"))
        })
    };
    if p.kind() == PrincipalKind::Service {
        return listed(PrincipalType::Service, p.arn());
    }
    let account = p
        .account()
        .map(|a| a.as_str().to_owned())
        .unwrap_or_default();
    let mut identities = vec![p.arn().to_owned()];
    if let Some(role) = p.role_arn() {
        identities.push(role.to_string());
    }
    let account_listed = listed(PrincipalType::Aws, &account)
        || listed(PrincipalType::Aws, &format!("arn:aws:iam::{account}:root"));
    account_listed
        && identities
            .iter()
            .all(|identity| listed(PrincipalType::Aws, identity))
}

/// All (effect, how-named) pairs of the statements of `doc` that apply.
fn matching(
    doc: &PolicyDocument,
    request: &Request,
    resource_policy: bool,
    has_boundary: bool,
) -> Option<Vec<(Effect, Option<Named>)>> {
    let mut out = Vec::new();
    for statement in doc.statements() {
        let named = if resource_policy {
            let how = match (&statement.principal, &statement.not_principal) {
                (Some(p), _) => named_in(p, request),
                // NotPrincipal with Allow is not supported: it grants nothing.
                (None, Some(_)) if statement.effect == Effect::Allow => vec![],
                (None, Some(np)) => {
                    // A Deny with NotPrincipal applies to a principal with a
                    // permissions boundary whatever it names; otherwise
                    // unless it names every identity of the requester: for a
                    // session its ARN, its role and its account (the
                    // documentation's own example lists all three).
                    if !has_boundary && every_identity_named(np, request) {
                        vec![]
                    } else {
                        vec![Named::Directly]
                    }
                }
                (None, None) => vec![],
            };
            if how.is_empty() {
                continue;
            }
            how
        } else {
            vec![]
        };
        if applies(statement, request, doc.version)? {
            if named.is_empty() {
                out.push((statement.effect, None));
            }
            // One pair for each way the statement names the requester.
            for how in named {
                out.push((statement.effect, Some(how)));
            }
        }
    }
    Some(out)
}

/// The reference policies, owned, so the reference does not need the fast
/// evaluator's `PolicySet` internals.
pub(crate) struct ReferencePolicies<'a> {
    /// Identity-based policies.
    pub(crate) identity: Vec<&'a PolicyDocument>,
    /// Permissions boundary.
    pub(crate) boundary: Option<&'a PolicyDocument>,
    /// Session policy.
    pub(crate) session: Option<&'a PolicyDocument>,
    /// Resource-based policy.
    pub(crate) resource: Option<&'a PolicyDocument>,
    /// The resource's account.
    pub(crate) owner: Option<String>,
    /// Whether the resource policy must allow even within its account (a
    /// role's trust policy).
    pub(crate) resource_required: bool,
}

impl<'a> ReferencePolicies<'a> {
    /// The same policies as a fast-evaluator `PolicySet`.
    pub(crate) fn to_policy_set(&self) -> PolicySet<'a> {
        let mut set = PolicySet::new();
        for doc in &self.identity {
            set = set.with_identity(doc);
        }
        if let Some(doc) = self.boundary {
            set = set.with_boundary(doc);
        }
        if let Some(doc) = self.session {
            set = set.with_session_policy(doc);
        }
        if let Some(doc) = self.resource {
            set = set.with_resource_policy(doc);
        }
        if let Some(owner) = &self.owner {
            set = set.with_resource_owner(owner.parse().unwrap());
        }
        if self.resource_required {
            set = set.requiring_resource_policy();
        }
        set
    }
}

/// The documented decision. `None` when the inputs use something the
/// reference does not cover.
pub(crate) fn evaluate(request: &Request, policies: &ReferencePolicies<'_>) -> Option<Outcome> {
    let mut identity = Vec::new();
    for doc in &policies.identity {
        identity.extend(matching(doc, request, false, false)?);
    }
    let boundary = match policies.boundary {
        Some(doc) => Some(matching(doc, request, false, false)?),
        None => None,
    };
    let session = match policies.session {
        Some(doc) => Some(matching(doc, request, false, false)?),
        None => None,
    };
    let resource = match policies.resource {
        Some(doc) => matching(doc, request, true, policies.boundary.is_some())?,
        None => Vec::new(),
    };

    let denied = |list: &Vec<(Effect, Option<Named>)>| list.iter().any(|(e, _)| *e == Effect::Deny);
    let allowed =
        |list: &Vec<(Effect, Option<Named>)>| list.iter().any(|(e, _)| *e == Effect::Allow);

    // Any explicit deny in any policy: denied.
    if denied(&identity)
        || denied(&resource)
        || boundary.as_ref().is_some_and(denied)
        || session.as_ref().is_some_and(denied)
    {
        return Some(Outcome::ExplicitDeny);
    }

    let principal = &request.principal;
    let resource_account = policies.owner.clone().or_else(|| {
        let account = request.resource.split(':').nth(4)?.to_owned();
        (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit())).then_some(account)
    });
    let principal_account = principal.account().map(|a| a.as_str().to_owned());
    let same_account = match (&principal_account, &resource_account) {
        (Some(p), Some(r)) => p == r,
        (Some(_), None) => true,
        (None, _) => false,
    };

    let is_root = principal.kind() == PrincipalKind::AccountRoot;
    // The root user has full access to its own account, except where the
    // resource policy must allow (a trust policy, a KMS key policy).
    if is_root && same_account && !policies.resource_required {
        return Some(Outcome::Allow);
    }

    let boundary_allows = boundary.as_ref().is_none_or(allowed);
    let session_allows = session.as_ref().is_none_or(allowed);
    let identity_allows = is_root || (allowed(&identity) && boundary_allows && session_allows);
    let resource_allows_by = |how: Named| {
        resource
            .iter()
            .any(|(e, n)| *e == Effect::Allow && *n == Some(how))
    };
    let resource_allows = allowed(&resource);

    if principal.kind() == PrincipalKind::Service {
        return Some(if resource_allows {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        });
    }
    if !same_account {
        // Cross-account: the trusting account's resource policy and the
        // trusted account's identity side must both allow.
        return Some(if identity_allows && resource_allows {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        });
    }
    if policies.resource_required {
        // A trust policy must allow: directly, or to the role within its
        // limits, or to the account, which then needs the identity side.
        let allow = resource_allows_by(Named::Directly)
            || (resource_allows_by(Named::Role) && boundary_allows && session_allows)
            || (resource_allows_by(Named::Account) && identity_allows);
        return Some(if allow {
            Outcome::Allow
        } else {
            Outcome::ImplicitDeny
        });
    }
    // Same account: either side allows, except that a grant to the role
    // (not to the session) is still capped by boundary and session policy.
    let allow = identity_allows
        || resource_allows_by(Named::Directly)
        || (resource_allows_by(Named::Role) && boundary_allows && session_allows);
    Some(if allow {
        Outcome::Allow
    } else {
        Outcome::ImplicitDeny
    })
}
