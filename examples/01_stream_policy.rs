//! # 01: the stream policy, and may this role read this stream?
//!
//! Teaches: build the resource policy a DynamoDB stream in account B needs
//! so that the execution role of a Lambda function in account A may read it,
//! lint it, and ask the offline evaluator whether the role, and the session
//! Lambda's poller acts as, may read the stream, with and without that
//! policy, and why.
//!
//! Input (all literal, below): the stream
//! `arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000`,
//! the role `arn:aws:iam::111111111111:role/billing-consumer`, and its session
//! `arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller`, which
//! is what Lambda's event source mapping acts as.
//!
//! Run: `cargo run --example 01_stream_policy`

use streamgate::policy::arn::{RoleArn, StreamArn};
use streamgate::policy::builders::{ExecutionRolePolicyBuilder, StreamPolicyBuilder};
use streamgate::policy::eval::{PolicySet, Principal, Request, evaluate};
use streamgate::policy::lint::{PolicyType, lint_text};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let stream: StreamArn =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
            .parse()?;
    let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer".parse()?;

    // 1. The stream's resource policy (attached in account B) and the role's
    //    identity policy (attached in account A).
    let stream_policy = StreamPolicyBuilder::new(&stream, &role).build();
    let identity_policy = ExecutionRolePolicyBuilder::new(&stream).build();
    println!("stream policy:\n{}\n", stream_policy.to_json_pretty());

    // 2. Lint it as what it is: a stream policy attached to this stream.
    let findings = lint_text(
        &stream_policy.to_json_pretty(),
        PolicyType::Stream,
        Some(stream.as_arn()),
    )?;
    println!("lint findings: {}", findings.len());
    for finding in &findings {
        println!("  {finding}");
    }

    // 3. May the role read the stream, and may its session? The stream
    //    policy names the role; Lambda's poller reads as a session of it.
    let session = Principal::assumed_role(
        "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm-poller".parse()?,
        role.clone(),
    )?;
    let without = PolicySet::new().with_identity(&identity_policy);
    let with = without.clone().with_resource_policy(&stream_policy);
    for (who, principal) in [
        ("the role", Principal::role(role.clone())),
        ("its session", session),
    ] {
        let request = Request::new(principal, "dynamodb:GetRecords", stream.to_string());

        let decision = evaluate(&request, &without);
        println!("\n{who}, without the stream policy: {}", decision.outcome());
        println!("  {decision}");
        if let Some(message) = decision.access_denied_message(&request) {
            println!("  AWS would say: {message}");
        }

        let decision = evaluate(&request, &with);
        println!("\n{who}, with the stream policy: {}", decision.outcome());
        println!("  {decision}");
    }
    Ok(())
}
