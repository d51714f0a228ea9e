//! The corpus: real policy documents (the AWS documentation's examples for
//! IAM, DynamoDB tables and streams and Lambda trust policies, in their
//! shapes, plus the documents this system writes and some broken ones),
//! one file each under `tests/corpus/<kind>/`. Every document must
//! round-trip to exactly its text, lint to the findings recorded here, and
//! evaluate requests the way the documentation says.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::path::PathBuf;

use expect_test::{Expect, expect};
use streamgate_policy::arn::{AccountId, Arn, FunctionArn, RoleArn, StreamArn};
use streamgate_policy::builders::{
    ExecutionRolePolicyBuilder, StreamPolicyBuilder, lambda_trust_policy,
};
use streamgate_policy::document::PolicyDocument;
use streamgate_policy::eval::{PolicySet, Principal, Request, evaluate};
use streamgate_policy::json;
use streamgate_policy::lint::{PolicyType, lint_text};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Every corpus file as (kind directory, file name, text), sorted.
fn corpus() -> Vec<(String, String, String)> {
    let mut files = Vec::new();
    for kind in ["identity", "trust", "table", "stream"] {
        let mut names: Vec<String> = fs::read_dir(corpus_dir().join(kind))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        for name in names {
            let text = fs::read_to_string(corpus_dir().join(kind).join(&name)).unwrap();
            files.push((kind.to_owned(), name, text));
        }
    }
    files
}

fn load(path: &str) -> PolicyDocument {
    PolicyDocument::parse(&fs::read_to_string(corpus_dir().join(path)).unwrap()).unwrap()
}

/// What each table or stream policy is attached to, for the lint that
/// checks its `Resource`.
fn attached_to(kind: &str, name: &str) -> Option<Arn> {
    let arn = match (kind, name) {
        ("table", _) => "arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection",
        ("stream", "users-read-stream.json") => {
            "arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection/stream/2024-02-12T18:57:26.492"
        }
        ("stream", _) => {
            "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
        }
        ("trust", _) => "arn:aws:iam::111111111111:role/billing-consumer",
        _ => return None,
    };
    Some(arn.parse().unwrap())
}

#[test]
fn every_document_round_trips_to_its_exact_text() {
    let files = corpus();
    assert!(
        files.len() >= 20,
        "the corpus shrank to {} files",
        files.len()
    );
    for (kind, name, text) in files {
        let doc = PolicyDocument::parse(&text).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"));
        assert_eq!(
            doc.to_json_pretty(),
            text.trim_end(),
            "{kind}/{name}: pretty form differs"
        );
        let value = json::parse(&text).unwrap();
        assert_eq!(
            doc.to_json(),
            value.to_compact_string(),
            "{kind}/{name}: compact form differs"
        );
        assert_eq!(
            PolicyDocument::parse(&doc.to_json()).unwrap(),
            doc,
            "{kind}/{name}"
        );
    }
}

#[test]
fn lint_findings_of_the_corpus() {
    let mut out = String::new();
    for (kind, name, text) in corpus() {
        let policy_type: PolicyType = kind.parse().unwrap();
        let findings = lint_text(&text, policy_type, attached_to(&kind, &name).as_ref()).unwrap();
        out.push_str(&format!("{kind}/{name}:"));
        if findings.is_empty() {
            out.push_str(" clean");
        }
        out.push('\n');
        for finding in findings {
            out.push_str(&format!(
                "  {} {} {}\n",
                finding.severity, finding.code, finding.path
            ));
        }
    }
    expect![[r#"
        identity/billing-consumer-execution.json: clean
        identity/date-window.json: clean
        identity/deny-outside-ip-ranges.json: clean
        identity/dynamodb-fine-grained-leading-keys.json: clean
        identity/dynamodb-streams-lambda-execution.json: clean
        identity/lambda-basic-execution.json: clean
        identity/mfa-age-and-presence.json: clean
        identity/old-version-with-variable.json:
          suggestion OLD_VERSION $.Version
          warning VARIABLES_NEED_2012_VERSION $.Statement[0].Resource
        identity/principal-in-identity-policy.json:
          warning MISSING_VERSION $
          warning ID_IN_IDENTITY_POLICY $.Id
          error PRINCIPAL_IN_IDENTITY_POLICY $.Statement[0].Principal
        identity/s3-home-directory.json: clean
        trust/cross-account-with-mfa.json: clean
        trust/deleted-role-and-wildcards.json:
          warning UNIQUE_ID_PRINCIPAL $.Statement[0].Principal.AWS[0]
          error PARTIAL_WILDCARD_PRINCIPAL $.Statement[0].Principal.AWS[1]
        trust/lambda-built.json: clean
        trust/lambda-confused-deputy.json: clean
        trust/lambda.json: clean
        table/stream-actions-on-table.json:
          error STREAM_ACTION_IN_TABLE_POLICY $.Statement[0].Action[1]
          error RESOURCE_CANNOT_MATCH $.Statement[0].Resource[2]
        table/users-get-items.json: clean
        stream/cross-account-consumer-role.json: clean
        stream/list-streams-in-stream-policy.json:
          error LIST_STREAMS_IN_STREAM_POLICY $.Statement[0].Action[1]
          error NON_STREAM_ACTION_IN_STREAM_POLICY $.Statement[0].Action[2]
        stream/organization-wide.json: clean
        stream/public-without-condition.json:
          error PUBLIC_ACCESS_WITHOUT_TRUSTED_CONDITION $.Statement[0].Principal
        stream/users-read-stream.json: clean
    "#]]
    .assert_eq(&out);
}

/// Evaluates `action` on `resource` by `principal` with `context`
/// (`key=value` pairs) against the identity and resource policies named
/// by corpus path, one line per request.
fn check(
    identity: &[&str],
    resource_policy: Option<&str>,
    requests: &[(&str, &str, &str, &[&str])],
    expected: Expect,
) {
    let identity: Vec<PolicyDocument> = identity.iter().map(|p| load(p)).collect();
    let resource_policy = resource_policy.map(load);
    let mut set = PolicySet::new();
    for doc in &identity {
        set = set.with_identity(doc);
    }
    if let Some(doc) = &resource_policy {
        set = set.with_resource_policy(doc);
    }
    let mut out = String::new();
    for (principal, action, resource, context) in requests {
        let mut request = Request::new(Principal::parse(principal).unwrap(), *action, *resource);
        for pair in *context {
            let (key, value) = pair.split_once('=').unwrap();
            request = request.with_context(key, value);
        }
        let decision = evaluate(&request, &set);
        out.push_str(&format!(
            "{action} {resource} {context:?}: {}",
            decision.outcome()
        ));
        if let Some(reason) = decision.denial_reason() {
            out.push_str(&format!(" ({reason})"));
        }
        out.push('\n');
    }
    expected.assert_eq(&out);
}

const GAME_SCORES_STREAM: &str =
    "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/2024-01-01T00:00:00.000";

#[test]
fn documentation_examples_evaluate_as_documented() {
    let role = "arn:aws:iam::123456789012:role/app";
    check(
        &["identity/dynamodb-streams-lambda-execution.json"],
        None,
        &[
            (role, "dynamodb:GetRecords", GAME_SCORES_STREAM, &[]),
            (
                role,
                "dynamodb:GetItem",
                "arn:aws:dynamodb:us-west-2:123456789012:table/GameScores",
                &[],
            ),
            (
                role,
                "dynamodb:GetRecords",
                "arn:aws:dynamodb:us-west-2:123456789012:table/Other/stream/2024-01-01T00:00:00.000",
                &[],
            ),
        ],
        expect![[r#"
            dynamodb:GetRecords arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/2024-01-01T00:00:00.000 []: Allow
            dynamodb:GetItem arn:aws:dynamodb:us-west-2:123456789012:table/GameScores []: ImplicitDeny (because no identity-based policy allows the dynamodb:GetItem action)
            dynamodb:GetRecords arn:aws:dynamodb:us-west-2:123456789012:table/Other/stream/2024-01-01T00:00:00.000 []: ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        "#]],
    );
    check(
        &["identity/s3-home-directory.json"],
        None,
        &[
            (
                role,
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/carlos/notes.txt",
                &["aws:username=carlos"],
            ),
            (
                role,
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/maria/notes.txt",
                &["aws:username=carlos"],
            ),
            (
                role,
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/home/carlos/notes.txt",
                &[],
            ),
            (
                role,
                "s3:ListBucket",
                "arn:aws:s3:::amzn-s3-demo-bucket",
                &["aws:username=carlos", "s3:prefix=home/carlos/photos"],
            ),
            (
                role,
                "s3:ListBucket",
                "arn:aws:s3:::amzn-s3-demo-bucket",
                &["aws:username=carlos", "s3:prefix=home/"],
            ),
        ],
        expect![[r#"
            s3:GetObject arn:aws:s3:::amzn-s3-demo-bucket/home/carlos/notes.txt ["aws:username=carlos"]: Allow
            s3:GetObject arn:aws:s3:::amzn-s3-demo-bucket/home/maria/notes.txt ["aws:username=carlos"]: ImplicitDeny (because no identity-based policy allows the s3:GetObject action)
            s3:GetObject arn:aws:s3:::amzn-s3-demo-bucket/home/carlos/notes.txt []: ImplicitDeny (because no identity-based policy allows the s3:GetObject action)
            s3:ListBucket arn:aws:s3:::amzn-s3-demo-bucket ["aws:username=carlos", "s3:prefix=home/carlos/photos"]: Allow
            s3:ListBucket arn:aws:s3:::amzn-s3-demo-bucket ["aws:username=carlos", "s3:prefix=home/"]: ImplicitDeny (because no identity-based policy allows the s3:ListBucket action)
        "#]],
    );
    check(
        &[
            "identity/mfa-age-and-presence.json",
            "identity/deny-outside-ip-ranges.json",
        ],
        None,
        &[
            (
                role,
                "dynamodb:Scan",
                "*",
                &[
                    "aws:MultiFactorAuthAge=600",
                    "aws:MultiFactorAuthPresent=true",
                    "aws:SourceIp=192.0.2.9",
                    "aws:ViaAWSService=false",
                ],
            ),
            (
                role,
                "dynamodb:Scan",
                "*",
                &[
                    "aws:MultiFactorAuthAge=7200",
                    "aws:MultiFactorAuthPresent=true",
                    "aws:SourceIp=192.0.2.9",
                    "aws:ViaAWSService=false",
                ],
            ),
            (
                role,
                "dynamodb:Scan",
                "*",
                &["aws:SourceIp=192.0.2.9", "aws:ViaAWSService=false"],
            ),
            (
                role,
                "dynamodb:Scan",
                "*",
                &[
                    "aws:MultiFactorAuthAge=600",
                    "aws:MultiFactorAuthPresent=true",
                    "aws:SourceIp=198.51.100.1",
                    "aws:ViaAWSService=false",
                ],
            ),
            (
                role,
                "dynamodb:Scan",
                "*",
                &[
                    "aws:MultiFactorAuthAge=600",
                    "aws:MultiFactorAuthPresent=true",
                    "aws:SourceIp=198.51.100.1",
                    "aws:ViaAWSService=true",
                ],
            ),
        ],
        expect![[r#"
            dynamodb:Scan * ["aws:MultiFactorAuthAge=600", "aws:MultiFactorAuthPresent=true", "aws:SourceIp=192.0.2.9", "aws:ViaAWSService=false"]: Allow
            dynamodb:Scan * ["aws:MultiFactorAuthAge=7200", "aws:MultiFactorAuthPresent=true", "aws:SourceIp=192.0.2.9", "aws:ViaAWSService=false"]: ImplicitDeny (because no identity-based policy allows the dynamodb:Scan action)
            dynamodb:Scan * ["aws:SourceIp=192.0.2.9", "aws:ViaAWSService=false"]: ExplicitDeny (with an explicit deny in an identity-based policy)
            dynamodb:Scan * ["aws:MultiFactorAuthAge=600", "aws:MultiFactorAuthPresent=true", "aws:SourceIp=198.51.100.1", "aws:ViaAWSService=false"]: ExplicitDeny (with an explicit deny in an identity-based policy)
            dynamodb:Scan * ["aws:MultiFactorAuthAge=600", "aws:MultiFactorAuthPresent=true", "aws:SourceIp=198.51.100.1", "aws:ViaAWSService=true"]: Allow
        "#]],
    );
    check(
        &["identity/date-window.json"],
        None,
        &[
            (
                role,
                "dynamodb:GetRecords",
                GAME_SCORES_STREAM,
                &["aws:CurrentTime=2024-05-15T08:00:00Z"],
            ),
            (
                role,
                "dynamodb:GetRecords",
                GAME_SCORES_STREAM,
                &["aws:CurrentTime=2024-07-01T00:00:00Z"],
            ),
            (role, "dynamodb:GetRecords", GAME_SCORES_STREAM, &[]),
        ],
        expect![[r#"
            dynamodb:GetRecords arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/2024-01-01T00:00:00.000 ["aws:CurrentTime=2024-05-15T08:00:00Z"]: Allow
            dynamodb:GetRecords arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/2024-01-01T00:00:00.000 ["aws:CurrentTime=2024-07-01T00:00:00Z"]: ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
            dynamodb:GetRecords arn:aws:dynamodb:us-west-2:123456789012:table/GameScores/stream/2024-01-01T00:00:00.000 []: ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        "#]],
    );
    check(
        &["identity/old-version-with-variable.json"],
        None,
        &[
            (
                role,
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/carlos/a",
                &["aws:username=carlos"],
            ),
            (
                role,
                "s3:GetObject",
                "arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/a",
                &["aws:username=carlos"],
            ),
        ],
        expect![[r#"
            s3:GetObject arn:aws:s3:::amzn-s3-demo-bucket/carlos/a ["aws:username=carlos"]: ImplicitDeny (because no identity-based policy allows the s3:GetObject action)
            s3:GetObject arn:aws:s3:::amzn-s3-demo-bucket/${aws:username}/a ["aws:username=carlos"]: Allow
        "#]],
    );
}

#[test]
fn table_and_stream_policies_naming_users() {
    let table = "arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection";
    let john = "arn:aws:iam::111122223333:user/John";
    let bob = "arn:aws:iam::111122223333:user/Bob";
    // Cross-account: the users' own account must allow too.
    check(
        &["identity/mfa-age-and-presence.json"],
        Some("table/users-get-items.json"),
        &[
            (
                john,
                "dynamodb:GetItem",
                table,
                &[
                    "aws:MultiFactorAuthAge=60",
                    "aws:MultiFactorAuthPresent=true",
                ],
            ),
            (
                john,
                "dynamodb:PutItem",
                table,
                &[
                    "aws:MultiFactorAuthAge=60",
                    "aws:MultiFactorAuthPresent=true",
                ],
            ),
            (
                bob,
                "dynamodb:GetItem",
                table,
                &[
                    "aws:MultiFactorAuthAge=60",
                    "aws:MultiFactorAuthPresent=true",
                ],
            ),
            (john, "dynamodb:GetItem", table, &[]),
        ],
        expect![[r#"
            dynamodb:GetItem arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection ["aws:MultiFactorAuthAge=60", "aws:MultiFactorAuthPresent=true"]: Allow
            dynamodb:PutItem arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection ["aws:MultiFactorAuthAge=60", "aws:MultiFactorAuthPresent=true"]: ImplicitDeny (because no resource-based policy allows the dynamodb:PutItem action)
            dynamodb:GetItem arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection ["aws:MultiFactorAuthAge=60", "aws:MultiFactorAuthPresent=true"]: ImplicitDeny (because no resource-based policy allows the dynamodb:GetItem action)
            dynamodb:GetItem arn:aws:dynamodb:us-east-1:123456789012:table/MusicCollection []: ExplicitDeny (with an explicit deny in an identity-based policy)
        "#]],
    );
}

#[test]
fn trust_policies_decide_who_assumes_the_role() {
    let role = "arn:aws:iam::111111111111:role/billing-consumer";
    check(
        &[],
        Some("trust/lambda-confused-deputy.json"),
        &[
            (
                "lambda.amazonaws.com",
                "sts:AssumeRole",
                role,
                &[
                    "aws:SourceAccount=111111111111",
                    "aws:SourceArn=arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator",
                ],
            ),
            (
                "lambda.amazonaws.com",
                "sts:AssumeRole",
                role,
                &[
                    "aws:SourceAccount=333333333333",
                    "aws:SourceArn=arn:aws:lambda:eu-west-1:333333333333:function:x",
                ],
            ),
            ("ec2.amazonaws.com", "sts:AssumeRole", role, &[]),
        ],
        expect![[r#"
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer ["aws:SourceAccount=111111111111", "aws:SourceArn=arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator"]: Allow
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer ["aws:SourceAccount=333333333333", "aws:SourceArn=arn:aws:lambda:eu-west-1:333333333333:function:x"]: ImplicitDeny (because no resource-based policy allows the sts:AssumeRole action)
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer []: ImplicitDeny (because no resource-based policy allows the sts:AssumeRole action)
        "#]],
    );
    check(
        &[],
        Some("trust/cross-account-with-mfa.json"),
        &[
            (
                "222222222222",
                "sts:AssumeRole",
                role,
                &["aws:MultiFactorAuthPresent=true"],
            ),
            ("222222222222", "sts:AssumeRole", role, &[]),
            (
                "arn:aws:sts::222222222222:assumed-role/deployer/s",
                "sts:AssumeRole",
                role,
                &["aws:MultiFactorAuthPresent=true"],
            ),
            (
                "333333333333",
                "sts:AssumeRole",
                role,
                &["aws:MultiFactorAuthPresent=true"],
            ),
        ],
        expect![[r#"
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer ["aws:MultiFactorAuthPresent=true"]: Allow
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer []: ImplicitDeny (because no resource-based policy allows the sts:AssumeRole action)
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer ["aws:MultiFactorAuthPresent=true"]: ImplicitDeny (because no identity-based policy allows the sts:AssumeRole action)
            sts:AssumeRole arn:aws:iam::111111111111:role/billing-consumer ["aws:MultiFactorAuthPresent=true"]: ImplicitDeny (because no resource-based policy allows the sts:AssumeRole action)
        "#]],
    );
}

#[test]
fn stream_policies_with_the_consumer_identity() {
    let stream =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000";
    let consumer = "arn:aws:sts::111111111111:assumed-role/billing-consumer/esm";
    let identity = "identity/lambda-basic-execution.json";
    // The consumer's role may do only logs; the stream policy alone is not enough across accounts.
    check(
        &[identity],
        Some("stream/cross-account-consumer-role.json"),
        &[(consumer, "dynamodb:GetRecords", stream, &[])],
        expect![[r#"
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 []: ImplicitDeny (because no identity-based policy allows the dynamodb:GetRecords action)
        "#]],
    );
    check(
        &["identity/billing-consumer-execution.json"],
        Some("stream/cross-account-consumer-role.json"),
        &[
            (consumer, "dynamodb:GetRecords", stream, &[]),
            (consumer, "dynamodb:GetShardIterator", stream, &[]),
            (consumer, "dynamodb:ListStreams", stream, &[]),
            (
                "arn:aws:sts::111111111111:assumed-role/intruder/s",
                "dynamodb:GetRecords",
                stream,
                &[],
            ),
        ],
        expect![[r#"
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 []: Allow
            dynamodb:GetShardIterator arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 []: Allow
            dynamodb:ListStreams arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 []: ImplicitDeny (because no resource-based policy allows the dynamodb:ListStreams action)
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 []: ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        "#]],
    );
    check(
        &["identity/billing-consumer-execution.json"],
        Some("stream/organization-wide.json"),
        &[
            (
                consumer,
                "dynamodb:GetRecords",
                stream,
                &[
                    "aws:PrincipalOrgID=o-a1b2c3d4e5",
                    "aws:SecureTransport=true",
                ],
            ),
            (
                consumer,
                "dynamodb:GetRecords",
                stream,
                &[
                    "aws:PrincipalOrgID=o-a1b2c3d4e5",
                    "aws:SecureTransport=false",
                ],
            ),
            (
                consumer,
                "dynamodb:GetRecords",
                stream,
                &["aws:PrincipalOrgID=o-other", "aws:SecureTransport=true"],
            ),
        ],
        expect![[r#"
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 ["aws:PrincipalOrgID=o-a1b2c3d4e5", "aws:SecureTransport=true"]: Allow
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 ["aws:PrincipalOrgID=o-a1b2c3d4e5", "aws:SecureTransport=false"]: ExplicitDeny (with an explicit deny in a resource-based policy)
            dynamodb:GetRecords arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000 ["aws:PrincipalOrgID=o-other", "aws:SecureTransport=true"]: ImplicitDeny (because no resource-based policy allows the dynamodb:GetRecords action)
        "#]],
    );
}

#[test]
fn the_documents_this_system_builds_are_in_the_corpus() {
    let stream: StreamArn =
        "arn:aws:dynamodb:eu-west-1:222222222222:table/documents/stream/2024-05-01T12:00:00.000"
            .parse()
            .unwrap();
    let role: RoleArn = "arn:aws:iam::111111111111:role/billing-consumer"
        .parse()
        .unwrap();
    let function: FunctionArn = "arn:aws:lambda:eu-west-1:111111111111:function:billing-aggregator"
        .parse()
        .unwrap();
    let account: AccountId = "111111111111".parse().unwrap();
    let built = [
        (
            "stream/cross-account-consumer-role.json",
            StreamPolicyBuilder::new(&stream, &role).build(),
        ),
        (
            "identity/billing-consumer-execution.json",
            ExecutionRolePolicyBuilder::new(&stream)
                .logs_for(&function)
                .build(),
        ),
        (
            "trust/lambda-built.json",
            lambda_trust_policy(Some(&account)),
        ),
    ];
    for (path, doc) in built {
        let text = fs::read_to_string(corpus_dir().join(path)).unwrap();
        assert_eq!(doc.to_json_pretty(), text.trim_end(), "{path}");
    }
}
