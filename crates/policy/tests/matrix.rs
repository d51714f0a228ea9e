//! The cross-account matrix: a session of account A's role reads account
//! B's stream, over every combination of stream policy present or absent,
//! identity policy present or absent, right or wrong principal, granted or
//! missing action, an explicit deny on neither, the identity or the
//! resource side, and a condition that holds or fails. Each line of the
//! table is checked against the documented rule, written out plainly in
//! `documented_outcome`, and the whole table is kept as a snapshot.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use expect_test::expect;
use streamgate_policy::document::PolicyDocument;
use streamgate_policy::eval::{Outcome, PolicySet, Principal, Request, evaluate};

const STREAM: &str =
    "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Deny {
    Nowhere,
    Identity,
    Resource,
}

struct Row {
    stream_policy: bool,
    identity_policy: bool,
    right_principal: bool,
    granted_action: bool,
    deny: Deny,
    condition_holds: bool,
}

fn identity_policy(deny: bool) -> PolicyDocument {
    let deny = if deny {
        r#",{"Sid":"DenyAll","Effect":"Deny","Action":"dynamodb:*","Resource":"*"}"#
    } else {
        ""
    };
    PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"ReadStream","Effect":"Allow","Action":["dynamodb:DescribeStream","dynamodb:GetRecords"],"Resource":"arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/*"}}{deny}]}}"#
    ))
    .unwrap()
}

fn stream_policy(deny: bool) -> PolicyDocument {
    let deny = if deny {
        r#",{"Sid":"DenyAll","Effect":"Deny","Principal":"*","Action":"dynamodb:*","Resource":"*"}"#
    } else {
        ""
    };
    PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"ConsumerRead","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111111111111:role/billing-consumer"}},"Action":["dynamodb:DescribeStream","dynamodb:GetRecords"],"Resource":"{STREAM}","Condition":{{"StringEquals":{{"aws:PrincipalOrgID":"o-billing"}}}}}}{deny}]}}"#
    ))
    .unwrap()
}

/// The rule as the IAM documentation states it for cross-account requests:
/// an explicit deny in any policy that is present wins; otherwise both the
/// identity side and the resource side must allow.
fn documented_outcome(row: &Row) -> (Outcome, Option<&'static str>) {
    if row.deny == Deny::Identity && row.identity_policy {
        return (
            Outcome::ExplicitDeny,
            Some("with an explicit deny in an identity-based policy"),
        );
    }
    if row.deny == Deny::Resource && row.stream_policy {
        return (
            Outcome::ExplicitDeny,
            Some("with an explicit deny in a resource-based policy"),
        );
    }
    let identity_allows = row.identity_policy && row.granted_action;
    let resource_allows =
        row.stream_policy && row.right_principal && row.granted_action && row.condition_holds;
    match (identity_allows, resource_allows) {
        (true, true) => (Outcome::Allow, None),
        (false, _) => (
            Outcome::ImplicitDeny,
            Some("because no identity-based policy allows"),
        ),
        (true, false) => (
            Outcome::ImplicitDeny,
            Some("because no resource-based policy allows"),
        ),
    }
}

#[test]
fn cross_account_matrix() {
    let mut table = String::new();
    let mut rows = 0;
    for stream_policy_present in [false, true] {
        for identity_present in [false, true] {
            for right_principal in [true, false] {
                for granted_action in [true, false] {
                    for deny in [Deny::Nowhere, Deny::Identity, Deny::Resource] {
                        for condition_holds in [true, false] {
                            let row = Row {
                                stream_policy: stream_policy_present,
                                identity_policy: identity_present,
                                right_principal,
                                granted_action,
                                deny,
                                condition_holds,
                            };
                            let identity = identity_policy(deny == Deny::Identity);
                            let resource = stream_policy(deny == Deny::Resource);
                            let mut set = PolicySet::new();
                            if identity_present {
                                set = set.with_identity(&identity);
                            }
                            if stream_policy_present {
                                set = set.with_resource_policy(&resource);
                            }
                            let role = if right_principal {
                                "billing-consumer"
                            } else {
                                "intruder"
                            };
                            let principal = Principal::parse(&format!(
                                "arn:aws:sts::111111111111:assumed-role/{role}/esm"
                            ))
                            .unwrap();
                            let action = if granted_action {
                                "dynamodb:GetRecords"
                            } else {
                                "dynamodb:GetShardIterator"
                            };
                            let org = if condition_holds {
                                "o-billing"
                            } else {
                                "o-other"
                            };
                            let request = Request::new(principal, action, STREAM)
                                .with_context("aws:PrincipalOrgID", org);
                            let decision = evaluate(&request, &set);
                            let reason = decision.denial_reason().unwrap_or_default();

                            let (outcome, expected_reason) = documented_outcome(&row);
                            assert_eq!(decision.outcome(), outcome, "{decision}");
                            assert!(
                                reason.starts_with(expected_reason.unwrap_or_default()),
                                "{reason} / {expected_reason:?}"
                            );
                            assert!(decision.is_cross_account());

                            let mark = |b: bool| if b { "yes" } else { "no " };
                            table.push_str(&format!(
                                "stream {} identity {} principal {} action {} deny {:<8} condition {} -> {}{}\n",
                                mark(stream_policy_present),
                                mark(identity_present),
                                if right_principal { "right" } else { "wrong" },
                                if granted_action { "granted" } else { "missing" },
                                format!("{deny:?}"),
                                if condition_holds { "holds" } else { "fails" },
                                decision.outcome(),
                                if reason.is_empty() { String::new() } else { format!(" ({reason})") },
                            ));
                            rows += 1;
                        }
                    }
                }
            }
        }
    }
    assert_eq!(rows, 96);
    expect![[r#"
        stream no  identity no  principal right action granted deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action granted deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action granted deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action granted deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action granted deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action granted deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal right action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal right action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal right action missing deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal right action missing deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal right action missing deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal right action missing deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action granted deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action granted deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action granted deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action granted deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action granted deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action granted deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream no  identity no  principal wrong action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action missing deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action missing deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action missing deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity no  principal wrong action missing deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal right action granted deny Nowhere  condition holds -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal right action granted deny Nowhere  condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal right action granted deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal right action granted deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal right action granted deny Resource condition holds -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal right action granted deny Resource condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal right action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal right action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal right action missing deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal right action missing deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal right action missing deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal right action missing deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal wrong action granted deny Nowhere  condition holds -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal wrong action granted deny Nowhere  condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal wrong action granted deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal wrong action granted deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal wrong action granted deny Resource condition holds -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal wrong action granted deny Resource condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream no  identity yes principal wrong action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal wrong action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal wrong action missing deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal wrong action missing deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream no  identity yes principal wrong action missing deny Resource condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream no  identity yes principal wrong action missing deny Resource condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal right action granted deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal right action granted deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal right action granted deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal right action granted deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal right action granted deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal right action granted deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal right action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal right action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal right action missing deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal right action missing deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal right action missing deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal right action missing deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal wrong action granted deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal wrong action granted deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal wrong action granted deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal wrong action granted deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        stream yes identity no  principal wrong action granted deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal wrong action granted deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal wrong action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal wrong action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal wrong action missing deny Identity condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal wrong action missing deny Identity condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity no  principal wrong action missing deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity no  principal wrong action missing deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal right action granted deny Nowhere  condition holds -> Allow
        stream yes identity yes principal right action granted deny Nowhere  condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream yes identity yes principal right action granted deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal right action granted deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal right action granted deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal right action granted deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal right action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity yes principal right action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity yes principal right action missing deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal right action missing deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal right action missing deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal right action missing deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal wrong action granted deny Nowhere  condition holds -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream yes identity yes principal wrong action granted deny Nowhere  condition fails -> ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        stream yes identity yes principal wrong action granted deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal wrong action granted deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal wrong action granted deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal wrong action granted deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal wrong action missing deny Nowhere  condition holds -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity yes principal wrong action missing deny Nowhere  condition fails -> ImplicitDeny (because no identity-based policy allows the dynamodb:GetShardIterator action)
        stream yes identity yes principal wrong action missing deny Identity condition holds -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal wrong action missing deny Identity condition fails -> ExplicitDeny (with an explicit deny in an identity-based policy)
        stream yes identity yes principal wrong action missing deny Resource condition holds -> ExplicitDeny (with an explicit deny in a resource-based policy)
        stream yes identity yes principal wrong action missing deny Resource condition fails -> ExplicitDeny (with an explicit deny in a resource-based policy)
    "#]]
    .assert_eq(&table);
}
