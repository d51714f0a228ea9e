//! Property tests: the round trip, the monotonicity of Allow and Deny, the
//! case-insensitivity of actions, the two sides of a cross-account Allow,
//! and agreement with the plain reference evaluator, on random policies and
//! requests drawn from the vocabulary of this system.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod reference;

use proptest::prelude::*;
use reference::ReferencePolicies;
use streamgate_policy::document::{
    ConditionBlock, ConditionEntry, ConditionOperator, ConditionValue, Effect, OneOrMany,
    OperatorKind, PolicyDocument, PolicyVersion, PrincipalType, Principals, SetQualifier,
    Statement,
};
use streamgate_policy::eval::{Outcome, PolicySet, Principal, Request, evaluate};
use streamgate_policy::json;

const STREAM_B: &str =
    "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
const STREAM_A: &str =
    "arn:aws:dynamodb:eu-west-1:111111111111:table/usage/stream/2024-06-01T00:00:00.000";
const TABLE_B: &str = "arn:aws:dynamodb:eu-west-1:222222222222:table/documents";
const ROLE_A: &str = "arn:aws:iam::111111111111:role/service/billing-consumer";
const SESSION_A: &str = "arn:aws:sts::111111111111:assumed-role/billing-consumer/poller";

const ACTION_PATTERNS: &[&str] = &[
    "dynamodb:GetRecords",
    "dynamodb:DescribeStream",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "dynamodb:Get*",
    "dynamodb:*",
    "*",
    "DynamoDB:getrecords",
    "dynamodb:Get?ecords",
    "s3:GetObject",
    "dynamodb:*Stream*",
];
const ACTIONS: &[&str] = &[
    "dynamodb:GetRecords",
    "dynamodb:DescribeStream",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "dynamodb:GetItem",
    "s3:GetObject",
];
const RESOURCE_PATTERNS: &[&str] = &[
    STREAM_B,
    "arn:aws:dynamodb:*:222222222222:table/documents/stream/*",
    "*",
    TABLE_B,
    "arn:aws:dynamodb:*",
    "arn:aws:dynamodb:eu-west-1:111111111111:table/usage/stream/*",
    "arn:aws:dynamodb:eu-west-1:${aws:PrincipalAccount}:table/*",
    "arn:aws:dynamodb:*:*:table/${dynamodb:table}/*",
    "arn:aws:dynamodb:eu-west-1:222222222222:table/Documents/stream/*",
    "arn:aws:dynamodb:eu-west-?:*:table/*/stream/2024-*",
    "arn:aws:dynamodb:*:table/documents/stream/*",
    "arn:aws:dynamodb:eu-*:table/*",
    "arn:aws:dynamo*:eu-west-1:222222222222:table/documents",
];
const RESOURCES: &[&str] = &[
    STREAM_B,
    STREAM_A,
    TABLE_B,
    "*",
    "arn:aws:iam::111111111111:role/billing-consumer",
];
const AWS_PRINCIPALS: &[&str] = &[
    "*",
    ROLE_A,
    "arn:aws:iam::111111111111:role/billing-consumer",
    SESSION_A,
    "arn:aws:iam::111111111111:root",
    "111111111111",
    "arn:aws:iam::333333333333:role/audit",
    "222222222222",
    "arn:aws:iam::111111111111:user/carlos",
];
const PRINCIPALS: &[&str] = &[
    SESSION_A,
    ROLE_A,
    "111111111111",
    "222222222222",
    "arn:aws:sts::333333333333:assumed-role/audit/s",
    "lambda.amazonaws.com",
    "arn:aws:iam::111111111111:user/carlos",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(list).prop_map(str::to_owned)
}

fn strings(list: &'static [&'static str]) -> impl Strategy<Value = OneOrMany<String>> {
    prop_oneof![
        pick(list).prop_map(OneOrMany::One),
        prop::collection::vec(pick(list), 0..3).prop_map(OneOrMany::Many),
    ]
}

fn condition_block() -> impl Strategy<Value = ConditionBlock> {
    /// Qualifier, operator, IfExists, key, values.
    type Block = (
        Option<SetQualifier>,
        OperatorKind,
        bool,
        &'static str,
        Vec<&'static str>,
    );
    let blocks: Vec<Block> = vec![
        (
            None,
            OperatorKind::StringEquals,
            false,
            "aws:PrincipalOrgID",
            vec!["o-1"],
        ),
        (
            None,
            OperatorKind::StringNotEquals,
            false,
            "aws:PrincipalOrgID",
            vec!["o-1", "o-2"],
        ),
        (
            None,
            OperatorKind::StringEquals,
            true,
            "aws:PrincipalOrgID",
            vec!["o-2"],
        ),
        (
            None,
            OperatorKind::StringEqualsIgnoreCase,
            false,
            "aws:PrincipalAccount",
            vec!["111111111111"],
        ),
        (
            None,
            OperatorKind::StringLike,
            false,
            "aws:PrincipalArn",
            vec!["arn:aws:iam::111111111111:role/*"],
        ),
        (
            None,
            OperatorKind::StringNotLike,
            true,
            "aws:PrincipalArn",
            vec!["*audit*"],
        ),
        (
            None,
            OperatorKind::Bool,
            false,
            "aws:SecureTransport",
            vec!["true"],
        ),
        (
            None,
            OperatorKind::Null,
            false,
            "aws:PrincipalOrgID",
            vec!["true"],
        ),
        (
            None,
            OperatorKind::Null,
            false,
            "aws:PrincipalOrgID",
            vec!["false"],
        ),
        (
            Some(SetQualifier::ForAnyValue),
            OperatorKind::StringLike,
            false,
            "aws:TagKeys",
            vec!["a*"],
        ),
        (
            Some(SetQualifier::ForAllValues),
            OperatorKind::StringEquals,
            false,
            "aws:TagKeys",
            vec!["a", "b"],
        ),
        (
            Some(SetQualifier::ForAllValues),
            OperatorKind::StringNotEquals,
            false,
            "aws:TagKeys",
            vec!["c"],
        ),
        (
            Some(SetQualifier::ForAnyValue),
            OperatorKind::StringNotEquals,
            true,
            "aws:TagKeys",
            vec!["a"],
        ),
        (None, OperatorKind::NumericLessThan, false, "n", vec!["10"]),
        (
            None,
            OperatorKind::NumericLessThan,
            false,
            "n",
            vec!["${limit}"],
        ),
        (
            None,
            OperatorKind::StringNotEquals,
            false,
            "aws:PrincipalOrgID",
            vec!["${dynamodb:table}"],
        ),
        (
            None,
            OperatorKind::NumericGreaterThanEquals,
            true,
            "n",
            vec!["3.5"],
        ),
        (
            None,
            OperatorKind::IpAddress,
            false,
            "aws:SourceIp",
            vec!["10.0.0.0/8"],
        ),
        (
            None,
            OperatorKind::NotIpAddress,
            false,
            "aws:SourceIp",
            vec!["10.1.0.0/16"],
        ),
        (
            None,
            OperatorKind::ArnLike,
            false,
            "aws:PrincipalArn",
            vec!["arn:aws:iam::*:role/*billing*"],
        ),
        (
            None,
            OperatorKind::ArnNotEquals,
            false,
            "aws:PrincipalArn",
            vec!["arn:aws:iam::111111111111:role/service/billing-consumer"],
        ),
        (
            None,
            OperatorKind::DateLessThan,
            false,
            "aws:CurrentTime",
            vec!["2025-01-01T00:00:00Z"],
        ),
        (
            None,
            OperatorKind::DateGreaterThan,
            true,
            "aws:CurrentTime",
            vec!["2024-06-01T00:00:00Z"],
        ),
        (
            None,
            OperatorKind::StringEquals,
            false,
            "aws:PrincipalAccount",
            vec!["${aws:PrincipalAccount}"],
        ),
    ];
    proptest::sample::select(blocks).prop_map(|(qualifier, kind, if_exists, key, values)| {
        let values: Vec<ConditionValue> = values
            .into_iter()
            .map(|v| ConditionValue::String(v.to_owned()))
            .collect();
        ConditionBlock {
            operator: ConditionOperator::new(qualifier, kind, if_exists),
            entries: vec![ConditionEntry {
                key: key.to_owned(),
                values: OneOrMany::Many(values),
            }],
        }
    })
}

fn principals() -> impl Strategy<Value = Principals> {
    prop_oneof![
        2 => Just(Principals::Everyone),
        2 => strings(AWS_PRINCIPALS).prop_map(|v| Principals::Named(vec![(PrincipalType::Aws, v)])),
        // Some or all of the identities of the consumer's session.
        6 => proptest::sample::subsequence(vec![SESSION_A, ROLE_A, "111111111111"], 1..=3)
            .prop_map(|v| Principals::Named(vec![(
                PrincipalType::Aws,
                OneOrMany::Many(v.into_iter().map(str::to_owned).collect()),
            )])),
        // Long enough to name every identity of a session (for NotPrincipal).
        1 => prop::collection::vec(pick(AWS_PRINCIPALS), 3..6)
            .prop_map(|v| Principals::Named(vec![(PrincipalType::Aws, OneOrMany::Many(v))])),
        1 => Just(Principals::Named(vec![(
            PrincipalType::Service,
            OneOrMany::One("lambda.amazonaws.com".to_owned())
        )])),
    ]
}

fn statement(resource_policy: bool) -> impl Strategy<Value = Statement> {
    (
        prop_oneof![3 => Just(Effect::Allow), 1 => Just(Effect::Deny)],
        any::<bool>(),
        strings(ACTION_PATTERNS),
        prop::option::of(any::<bool>()),
        strings(RESOURCE_PATTERNS),
        prop::option::of(prop::collection::vec(condition_block(), 1..3)),
        principals(),
        0u8..24,
        prop::option::of("[A-Za-z0-9]{1,8}"),
    )
        .prop_map(
            move |(
                effect,
                not_action,
                actions,
                resource_mode,
                resources,
                condition,
                principal,
                not_principal_draw,
                sid,
            )| {
                // NotPrincipal on a quarter of the Deny statements, and on a
                // few Allow statements (which AWS does not support and which
                // grant nothing), so that enough cases still allow.
                let not_principal = match effect {
                    Effect::Allow => not_principal_draw < 2,
                    Effect::Deny => not_principal_draw < 6,
                };
                let mut s = Statement::new(effect);
                s.sid = sid;
                if not_action {
                    s.not_action = Some(actions);
                } else {
                    s.action = Some(actions);
                }
                match resource_mode {
                    Some(true) => s.resource = Some(resources),
                    Some(false) => s.not_resource = Some(resources),
                    None if resource_policy => {}
                    None => s.resource = Some(resources),
                }
                // Keep condition blocks' operators distinct, as JSON keys must be.
                s.condition = condition.map(|mut blocks| {
                    blocks.dedup_by(|a, b| a.operator == b.operator);
                    blocks
                });
                if resource_policy {
                    if not_principal {
                        s.not_principal = Some(principal);
                    } else {
                        s.principal = Some(principal);
                    }
                }
                s
            },
        )
}

fn document(resource_policy: bool) -> impl Strategy<Value = PolicyDocument> {
    (
        prop_oneof![4 => Just(Some(PolicyVersion::V2012_10_17)), 1 => Just(Some(PolicyVersion::V2008_10_17)), 1 => Just(None)],
        prop::collection::vec(statement(resource_policy), 1..4),
        any::<bool>(),
    )
        .prop_map(|(version, mut statements, single)| {
            PolicyDocument::new(
                version,
                if single && statements.len() == 1 {
                    OneOrMany::One(statements.remove(0))
                } else {
                    OneOrMany::Many(statements)
                },
            )
        })
}

#[derive(Debug, Clone)]
struct Case {
    principal: String,
    action: String,
    resource: String,
    context: Vec<(String, Vec<String>)>,
    identity: Vec<PolicyDocument>,
    boundary: Option<PolicyDocument>,
    session: Option<PolicyDocument>,
    resource_policy: Option<PolicyDocument>,
    resource_required: bool,
}

impl Case {
    fn request(&self) -> Request {
        let principal = if self.principal == SESSION_A {
            Principal::assumed_role(SESSION_A.parse().unwrap(), ROLE_A.parse().unwrap()).unwrap()
        } else {
            Principal::parse(&self.principal).unwrap()
        };
        let mut request = Request::new(principal, &self.action, &self.resource);
        for (key, values) in &self.context {
            request.context.insert_many(key, values.iter().cloned());
        }
        request
    }
    fn policies(&self) -> ReferencePolicies<'_> {
        ReferencePolicies {
            identity: self.identity.iter().collect(),
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            resource: self.resource_policy.as_ref(),
            owner: None,
            resource_required: self.resource_required,
        }
    }
    fn fast(&self) -> Outcome {
        evaluate(&self.request(), &self.policies().to_policy_set()).outcome()
    }
}

fn context() -> impl Strategy<Value = Vec<(String, Vec<String>)>> {
    let entries: Vec<(&str, Vec<&str>)> = vec![
        ("aws:PrincipalOrgID", vec!["o-1"]),
        ("aws:PrincipalOrgID", vec!["o-2"]),
        ("aws:SecureTransport", vec!["true"]),
        ("aws:SecureTransport", vec!["false"]),
        ("aws:TagKeys", vec!["a", "b"]),
        ("aws:TagKeys", vec!["a", "c"]),
        ("aws:TagKeys", vec![]),
        ("n", vec!["5"]),
        ("n", vec!["12.5"]),
        ("n", vec!["x"]),
        ("aws:SourceIp", vec!["10.1.2.3"]),
        ("aws:SourceIp", vec!["10.2.0.1"]),
        ("aws:SourceIp", vec!["192.0.2.1"]),
        ("aws:CurrentTime", vec!["2024-05-01T12:00:00Z"]),
        ("aws:CurrentTime", vec!["2025-03-01T12:00:00Z"]),
        (
            "aws:PrincipalArn",
            vec!["arn:aws:iam::333333333333:role/audit"],
        ),
        ("dynamodb:table", vec!["documents"]),
        ("dynamodb:table", vec!["usage"]),
        ("limit", vec!["7"]),
    ];
    prop::collection::vec(proptest::sample::select(entries), 0..4).prop_map(|list| {
        list.into_iter()
            .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
            .collect()
    })
}

fn case() -> impl Strategy<Value = Case> {
    (
        pick(PRINCIPALS),
        pick(ACTIONS),
        pick(RESOURCES),
        context(),
        prop::collection::vec(document(false), 0..3),
        prop::option::of(document(false)),
        prop::option::of(document(false)),
        // A resource policy in most cases: only a Principal naming the
        // requester grants across accounts (a NotPrincipal with Allow grants
        // nothing), and cross-account allows must stay frequent.
        prop::option::weighted(0.8, document(true)),
        any::<bool>(),
    )
        .prop_map(
            |(
                principal,
                action,
                resource,
                context,
                identity,
                boundary,
                session,
                resource_policy,
                resource_required,
            )| Case {
                principal,
                action,
                resource,
                context,
                identity,
                boundary,
                session,
                resource_policy,
                resource_required,
            },
        )
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 2000,
        ..ProptestConfig::default()
    }
}

fn allow_all(resource_policy: bool) -> PolicyDocument {
    let principal = if resource_policy {
        r#""Principal":"*","#
    } else {
        ""
    };
    PolicyDocument::parse(&format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow",{principal}"Action":"*","Resource":"*"}}]}}"#
    ))
    .unwrap()
}

fn with_statement(doc: &PolicyDocument, statement: Statement) -> PolicyDocument {
    let mut doc = doc.clone();
    let mut list = doc.statements().to_vec();
    list.push(statement);
    doc.statement = OneOrMany::Many(list);
    doc
}

/// Adds `statement` to one of the policies of `case`, chosen by `slot`.
fn add_statement(case: &Case, slot: usize, statement_for: impl Fn(bool) -> Statement) -> Case {
    let mut case = case.clone();
    let empty = || PolicyDocument::new(Some(PolicyVersion::V2012_10_17), OneOrMany::Many(vec![]));
    match slot % 4 {
        0 => match case.identity.first_mut() {
            Some(doc) => *doc = with_statement(doc, statement_for(false)),
            None => case
                .identity
                .push(with_statement(&empty(), statement_for(false))),
        },
        1 => {
            if let Some(doc) = &case.boundary {
                case.boundary = Some(with_statement(doc, statement_for(false)));
            }
        }
        2 => {
            if let Some(doc) = &case.session {
                case.session = Some(with_statement(doc, statement_for(false)));
            }
        }
        _ => {
            let doc = case.resource_policy.clone().unwrap_or_else(empty);
            case.resource_policy = Some(with_statement(&doc, statement_for(true)));
        }
    }
    case
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn documents_round_trip(doc in document(true)) {
        let compact = PolicyDocument::parse(&doc.to_json()).unwrap();
        prop_assert_eq!(&compact, &doc);
        let pretty = PolicyDocument::parse(&doc.to_json_pretty()).unwrap();
        prop_assert_eq!(&pretty, &doc);
        prop_assert_eq!(compact.to_json(), doc.to_json());
    }

    #[test]
    fn any_member_order_round_trips_exactly(doc in document(true), seed in any::<u64>()) {
        // Rotate every object's members by a seed-dependent amount, so the
        // text is a valid document in an unconventional order.
        fn rotate(value: &mut json::JsonValue, seed: u64) {
            match value {
                json::JsonValue::Object(members) => {
                    if !members.is_empty() {
                        let by = (seed % members.len() as u64) as usize;
                        members.rotate_left(by);
                    }
                    for (_, member) in members.iter_mut() {
                        rotate(member, seed / 3 + 1);
                    }
                }
                json::JsonValue::Array(items) => {
                    for item in items.iter_mut() {
                        rotate(item, seed / 5 + 2);
                    }
                }
                _ => {}
            }
        }
        let mut value = doc.to_json_value();
        rotate(&mut value, seed);
        let text = value.to_compact_string();
        let parsed = PolicyDocument::parse(&text).unwrap();
        prop_assert_eq!(parsed.to_json(), text);
        // Statement and top-level order is presentation only.
        prop_assert_eq!(&parsed.statements().len(), &doc.statements().len());
        prop_assert_eq!(parsed.version, doc.version);
    }

    #[test]
    fn resource_matching_agrees_with_the_reference(
        pattern in "(arn:)?[ab:*?]{0,10}",
        value in "(arn:)?[ab:]{0,10}",
    ) {
        prop_assert_eq!(
            streamgate_policy::pattern::resource_matches(&pattern, &value),
            reference::resource_like(&pattern, &value),
            "{} ~ {}", pattern, value
        );
    }

    #[test]
    fn fast_evaluator_agrees_with_the_reference(case in case()) {
        let expected = reference::evaluate(&case.request(), &case.policies());
        prop_assert!(expected.is_some(), "the reference does not cover {:?}", case);
        prop_assert_eq!(Some(case.fast()), expected, "{:?}", case);
    }

    #[test]
    fn adding_a_deny_never_allows(case in case(), slot in 0usize..4, extra in statement(true)) {
        let before = case.fast();
        let after = add_statement(&case, slot, |resource_policy| {
            let mut s = extra.clone();
            s.effect = Effect::Deny;
            if !resource_policy {
                s.principal = None;
                s.not_principal = None;
            }
            s
        })
        .fast();
        if before != Outcome::Allow {
            prop_assert_ne!(after, Outcome::Allow);
        }
        if before == Outcome::ExplicitDeny {
            prop_assert_eq!(after, Outcome::ExplicitDeny);
        }
    }

    #[test]
    fn adding_an_allow_never_denies(case in case(), slot in 0usize..4, extra in statement(true)) {
        let before = case.fast();
        let after = add_statement(&case, slot, |resource_policy| {
            let mut s = extra.clone();
            s.effect = Effect::Allow;
            if !resource_policy {
                s.principal = None;
                s.not_principal = None;
            }
            s
        })
        .fast();
        if before == Outcome::Allow {
            prop_assert_eq!(after, Outcome::Allow);
        }
    }

    #[test]
    fn the_case_of_an_action_never_matters(case in case(), flips in prop::collection::vec(any::<bool>(), 32)) {
        let before = case.fast();
        let mut changed = case.clone();
        changed.action = case
            .action
            .chars()
            .zip(flips.iter().cycle())
            .map(|(c, flip)| if *flip { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() })
            .collect();
        prop_assert_eq!(changed.fast(), before);
    }

    #[test]
    fn a_cross_account_allow_needs_both_sides(case in case()) {
        let request = case.request();
        let decision = evaluate(&request, &case.policies().to_policy_set());
        if decision.is_allowed() && decision.is_cross_account() && request.principal.account().is_some() {
            // The identity side alone, against a resource open to everyone.
            let open = allow_all(true);
            let mut identity_side = case.policies();
            identity_side.resource = Some(&open);
            prop_assert_eq!(evaluate(&request, &identity_side.to_policy_set()).outcome(), Outcome::Allow);
            // The resource side alone, for a principal whose own policies allow everything.
            let everything = allow_all(false);
            let resource_side = ReferencePolicies {
                identity: vec![&everything],
                boundary: None,
                session: None,
                resource: case.resource_policy.as_ref(),
                owner: None,
                resource_required: case.resource_required,
            };
            prop_assert_eq!(evaluate(&request, &resource_side.to_policy_set()).outcome(), Outcome::Allow);
        }
    }
}

#[test]
fn reference_matching_agrees_with_examples() {
    assert!(reference::arn_like("arn:aws:dynamodb:*", STREAM_B));
    assert!(!reference::arn_like("arn:aws:dynamodb:*:1:table", STREAM_B));
    assert!(reference::resource_like(
        "arn:aws:dynamodb:*:table/documents/stream/*",
        STREAM_B
    ));
    assert!(!reference::arn_like(
        "arn:aws:dynamodb:*:table/documents/stream/*",
        STREAM_B
    ));
    assert!(!reference::resource_like(
        "arn:aws:dynamodb:eu-*-1:table/documents/stream/*",
        STREAM_B
    ));
    assert!(reference::action_like(
        "DYNAMODB:get*",
        "dynamodb:GetRecords"
    ));
    // Keep the principal/policy-set helpers honest.
    let set: PolicySet<'_> = PolicySet::new();
    assert!(set.identity().is_empty());
}

/// The generated cases must reach every outcome often, in both account
/// settings, or the agreement test above would prove little.
#[test]
fn generated_cases_cover_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let mut counts = std::collections::BTreeMap::new();
    let mut delegated = std::collections::BTreeMap::new();
    // Does the resource policy grant to account 111111111111 by name?
    let names_own_account = |case: &Case| {
        case.resource_policy.as_ref().is_some_and(|doc| {
            doc.statements().iter().any(|s| {
                s.effect == Effect::Allow
                    && s.principal.as_ref().is_some_and(|p| {
                        p.of_type(PrincipalType::Aws)
                            .any(|v| v == "111111111111" || v == "arn:aws:iam::111111111111:root")
                    })
            })
        })
    };
    for _ in 0..2000 {
        let case = strategy.new_tree(&mut runner).unwrap().current();
        let decision = evaluate(&case.request(), &case.policies().to_policy_set());
        if case.resource_required && !decision.is_cross_account() && names_own_account(&case) {
            *delegated
                .entry(format!("{:?}", decision.outcome()))
                .or_insert(0) += 1;
        }
        *counts
            .entry((
                decision.is_cross_account(),
                format!("{:?}", decision.outcome()),
            ))
            .or_insert(0) += 1;
    }
    for cross in [false, true] {
        for outcome in ["Allow", "ExplicitDeny", "ImplicitDeny"] {
            let n = counts
                .get(&(cross, outcome.to_owned()))
                .copied()
                .unwrap_or(0);
            assert!(
                n >= 40,
                "only {n} cases of {outcome} (cross-account {cross}): {counts:?}"
            );
        }
    }
    // A required resource policy within its own account that names the
    // account (so the identity side decides): both outcomes, often.
    for outcome in ["Allow", "ImplicitDeny"] {
        let n = delegated.get(outcome).copied().unwrap_or(0);
        assert!(
            n >= 20,
            "only {n} delegated cases of {outcome}: {delegated:?}"
        );
    }
}
