//! Decisions per second for the stream-read case: an assumed-role session
//! of account A reads the stream of a table in account B, checked against
//! the execution role's identity policy and the stream's resource policy
//! (with an `aws:PrincipalOrgID` condition), as the local cloud does for
//! every GetRecords call. The peer, measured in the same run, is the plain
//! reference evaluator of the property tests.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![allow(missing_docs)]

#[path = "../tests/reference/mod.rs"]
mod reference;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use streamgate_policy::arn::{FunctionArn, RoleArn, StreamArn};
use streamgate_policy::builders::{ExecutionRolePolicyBuilder, StreamPolicyBuilder};
use streamgate_policy::eval::{Outcome, Principal, Request, evaluate};

const STREAM: &str =
    "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";

fn stream_read(c: &mut Criterion) {
    let stream: StreamArn = STREAM.parse().unwrap();
    let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer"
        .parse()
        .unwrap();
    let function: FunctionArn = "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator"
        .parse()
        .unwrap();
    let identity = ExecutionRolePolicyBuilder::new(&stream)
        .logs_for(&function)
        .build();
    let resource = StreamPolicyBuilder::new(&stream, &role)
        .require_org_id("o-billing")
        .build();
    let principal = Principal::assumed_role(
        "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller"
            .parse()
            .unwrap(),
        role.clone(),
    )
    .unwrap();
    let request = Request::new(principal.clone(), "dynamodb:GetRecords", STREAM)
        .with_context("aws:PrincipalOrgID", "o-billing")
        .with_context("aws:SecureTransport", "true");
    let policies = reference::ReferencePolicies {
        identity: vec![&identity],
        boundary: None,
        session: None,
        resource: Some(&resource),
        owner: None,
        resource_required: false,
    };
    let set = policies.to_policy_set();
    assert_eq!(evaluate(&request, &set).outcome(), Outcome::Allow);
    assert_eq!(
        reference::evaluate(&request, &policies),
        Some(Outcome::Allow)
    );

    let mut group = c.benchmark_group("stream_read");
    group.throughput(Throughput::Elements(1));
    group.bench_function("fast", |b| {
        b.iter(|| evaluate(black_box(&request), black_box(&set)).outcome())
    });
    group.bench_function("fast_with_request", |b| {
        b.iter(|| {
            let request = Request::new(principal.clone(), "dynamodb:GetRecords", STREAM)
                .with_context("aws:PrincipalOrgID", "o-billing");
            evaluate(black_box(&request), black_box(&set)).outcome()
        })
    });
    group.bench_function("reference", |b| {
        b.iter(|| reference::evaluate(black_box(&request), black_box(&policies)))
    });
    group.finish();
}

criterion_group!(benches, stream_read);
criterion_main!(benches);
