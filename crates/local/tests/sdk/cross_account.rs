//! The system's story: a role in account A reads the stream of a table in
//! account B, allowed by the stream's resource policy in B and the role's
//! identity policy in A; each missing or denying piece gives AWS's error.

use crate::common::{
    A, B, Keys, REGION, assert_describes_as, definition, describe, dynamodb, enabled_stream, iam,
    key, root, streams, sts,
};
use crate::dynamodb::create_table;
use crate::streams::{latest_stream, list_shards, trim_horizon_iterator, write_three_changes};
use aws_sdk_dynamodb::types::StreamViewType;
use std::time::Duration;
use streamgate_local::RunningCloud;

const ROLE: &str = "billing-consumer";

fn trust(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
    )
}

fn identity_policy(effect: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Action":["dynamodb:DescribeStream","dynamodb:GetShardIterator","dynamodb:GetRecords"],"Resource":"arn:aws:dynamodb:{REGION}:{B}:table/documents/stream/*"}}]}}"#
    )
}

fn stream_policy(effect: &str, principal: &str, stream_arn: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{{"AWS":"{principal}"}},"Action":["dynamodb:DescribeStream","dynamodb:GetShardIterator","dynamodb:GetRecords"],"Resource":"{stream_arn}"}}]}}"#
    )
}

fn role_arn() -> String {
    format!("arn:aws:iam::{A}:role/{ROLE}")
}

/// B's table with a stream and three changes; A's role with `identity` as
/// its inline policy (if any). Returns the stream ARN.
async fn setup(cloud: &RunningCloud, identity: Option<String>) -> String {
    let db = dynamodb(cloud, &root(cloud, B));
    create_table(&db, "documents", Some(StreamViewType::NewAndOldImages)).await;
    write_three_changes(&db).await;
    let a_iam = iam(cloud, &root(cloud, A));
    a_iam
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust(A))
        .send()
        .await
        .unwrap();
    a_iam
        .create_role()
        .role_name("someone-else")
        .assume_role_policy_document(trust(A))
        .send()
        .await
        .unwrap();
    if let Some(policy) = identity {
        a_iam
            .put_role_policy()
            .role_name(ROLE)
            .policy_name("read")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    latest_stream(&db).await
}

async fn attach_stream_policy(cloud: &RunningCloud, stream_arn: &str, policy: String) {
    dynamodb(cloud, &root(cloud, B))
        .put_resource_policy()
        .resource_arn(stream_arn)
        .policy(policy)
        .send()
        .await
        .unwrap();
}

async fn assume(cloud: &RunningCloud, role_arn: &str) -> Keys {
    let output = sts(cloud, &root(cloud, A))
        .assume_role()
        .role_arn(role_arn)
        .role_session_name("poller")
        .send()
        .await
        .unwrap();
    let credentials = output.credentials.unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"));
    Keys {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: Some(credentials.session_token),
    }
}

/// DescribeStream as the session; "ok" or the error.
async fn describe_as(cloud: &RunningCloud, keys: &Keys, stream_arn: &str) -> String {
    match streams(cloud, keys)
        .describe_stream()
        .stream_arn(stream_arn)
        .send()
        .await
    {
        Ok(_) => "ok".to_owned(),
        Err(error) => describe(&error),
    }
}

/// A role of A that A trusts, created on demand.
async fn role_arn_trusting_a(cloud: &RunningCloud) -> String {
    iam(cloud, &root(cloud, A))
        .create_role()
        .role_name("trusts-a")
        .assume_role_policy_document(trust(A))
        .send()
        .await
        .unwrap();
    format!("arn:aws:iam::{A}:role/trusts-a")
}

fn session_arn() -> String {
    format!("arn:aws:sts::{A}:assumed-role/{ROLE}/poller")
}

#[tokio::test]
async fn the_role_reads_the_stream_when_both_policies_allow() {
    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, Some(identity_policy("Allow"))).await;
    attach_stream_policy(
        &cloud,
        &stream_arn,
        stream_policy("Allow", &role_arn(), &stream_arn),
    )
    .await;
    let keys = assume(&cloud, &role_arn()).await;

    let identity = sts(&cloud, &keys)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.arn, Some(session_arn()));
    assert_eq!(identity.account.as_deref(), Some(A));

    let reader = streams(&cloud, &keys);
    let description = reader
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .unwrap();
    let shard = description.shards.unwrap().remove(0);
    let iterator = trim_horizon_iterator(&reader, &stream_arn, shard.shard_id.unwrap()).await;
    let records = reader
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap()
        .records
        .unwrap();
    assert_eq!(records.len(), 3);

    // The session may read, not write: B's table has no policy for it.
    let write = dynamodb(&cloud, &keys)
        .put_item()
        .table_name(format!("arn:aws:dynamodb:{REGION}:{B}:table/documents"))
        .item("pk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
        .item("sk", aws_sdk_dynamodb::types::AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&write, "AccessDeniedException: ");
    cloud.stop().await;
}

#[tokio::test]
async fn without_a_stream_policy_access_is_denied() {
    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, Some(identity_policy("Allow"))).await;
    let keys = assume(&cloud, &role_arn()).await;
    assert_eq!(
        describe_as(&cloud, &keys, &stream_arn).await,
        format!(
            "AccessDeniedException: User: {} is not authorized to perform: dynamodb:DescribeStream on resource: {stream_arn} because no resource-based policy allows the dynamodb:DescribeStream action",
            session_arn()
        )
    );
    cloud.stop().await;
}

#[tokio::test]
async fn without_an_identity_policy_access_is_denied() {
    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, None).await;
    attach_stream_policy(
        &cloud,
        &stream_arn,
        stream_policy("Allow", &role_arn(), &stream_arn),
    )
    .await;
    let keys = assume(&cloud, &role_arn()).await;
    assert_eq!(
        describe_as(&cloud, &keys, &stream_arn).await,
        format!(
            "AccessDeniedException: User: {} is not authorized to perform: dynamodb:DescribeStream on resource: {stream_arn} because no identity-based policy allows the dynamodb:DescribeStream action",
            session_arn()
        )
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_stream_policy_for_another_principal_does_not_help() {
    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, Some(identity_policy("Allow"))).await;
    let other = format!("arn:aws:iam::{A}:role/someone-else");
    attach_stream_policy(
        &cloud,
        &stream_arn,
        stream_policy("Allow", &other, &stream_arn),
    )
    .await;
    let keys = assume(&cloud, &role_arn()).await;
    assert!(
        describe_as(&cloud, &keys, &stream_arn).await.ends_with(
            "because no resource-based policy allows the dynamodb:DescribeStream action"
        )
    );
    cloud.stop().await;
}

#[tokio::test]
async fn an_explicit_deny_on_either_side_wins() {
    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, Some(identity_policy("Deny"))).await;
    attach_stream_policy(
        &cloud,
        &stream_arn,
        stream_policy("Allow", &role_arn(), &stream_arn),
    )
    .await;
    let keys = assume(&cloud, &role_arn()).await;
    assert_eq!(
        describe_as(&cloud, &keys, &stream_arn).await,
        format!(
            "AccessDeniedException: User: {} is not authorized to perform: dynamodb:DescribeStream on resource: {stream_arn} with an explicit deny in an identity-based policy",
            session_arn()
        )
    );
    cloud.stop().await;

    let cloud = crate::common::start().await;
    let stream_arn = setup(&cloud, Some(identity_policy("Allow"))).await;
    let policy = stream_policy("Allow", &role_arn(), &stream_arn).replace(
        "]}",
        &format!(
            r#",{{"Effect":"Deny","Principal":{{"AWS":"{A}"}},"Action":"dynamodb:GetRecords","Resource":"{stream_arn}"}}]}}"#
        ),
    );
    attach_stream_policy(&cloud, &stream_arn, policy).await;
    let keys = assume(&cloud, &role_arn()).await;
    assert_eq!(describe_as(&cloud, &keys, &stream_arn).await, "ok");
    let reader = streams(&cloud, &keys);
    let shard = list_shards(&reader, &stream_arn).await.remove(0);
    let iterator = trim_horizon_iterator(&reader, &stream_arn, shard.shard_id.unwrap()).await;
    let denied = reader
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&denied),
        format!(
            "AccessDeniedException: User: {} is not authorized to perform: dynamodb:GetRecords on resource: {stream_arn} with an explicit deny in a resource-based policy",
            session_arn()
        )
    );
    cloud.stop().await;
}

#[tokio::test]
async fn assume_role_follows_the_trust_policy_and_sessions_expire() {
    let cloud = crate::common::start().await;
    let a_iam = iam(&cloud, &root(&cloud, A));
    a_iam
        .create_role()
        .role_name("trusts-c")
        .assume_role_policy_document(trust("333333333333"))
        .send()
        .await
        .unwrap();
    let refused = sts(&cloud, &root(&cloud, A))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/trusts-c"))
        .role_session_name("poller")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&refused),
        format!(
            "AccessDenied: User: arn:aws:iam::{A}:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{A}:role/trusts-c"
        )
    );
    // Account C is trusted: its root may assume the role across accounts.
    let keys = {
        let output = sts(&cloud, &root(&cloud, "333333333333"))
            .assume_role()
            .role_arn(format!("arn:aws:iam::{A}:role/trusts-c"))
            .role_session_name("from-c")
            .duration_seconds(900)
            .send()
            .await
            .unwrap();
        let credentials = output.credentials.unwrap();
        Keys {
            access_key_id: credentials.access_key_id,
            secret_access_key: credentials.secret_access_key,
            session_token: Some(credentials.session_token),
        }
    };
    let identity = sts(&cloud, &keys)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(
        identity.arn,
        Some(format!("arn:aws:sts::{A}:assumed-role/trusts-c/from-c"))
    );
    let too_long = sts(&cloud, &root(&cloud, "333333333333"))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/trusts-c"))
        .role_session_name("from-c")
        .duration_seconds(7200)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&too_long),
        "ValidationError: The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );

    cloud.advance_clock(Duration::from_secs(901));
    // A new session after the first expired does not make the first unknown.
    assume(&cloud, &role_arn_trusting_a(&cloud).await).await;
    let expired = sts(&cloud, &keys)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&expired),
        "ExpiredToken: The security token included in the request is expired"
    );
    let expired = streams(&cloud, &keys)
        .list_streams()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&expired),
        "ExpiredTokenException: The security token included in the request is expired"
    );
    let wrong_token = Keys {
        session_token: Some("not-the-token".into()),
        ..keys
    };
    let invalid = sts(&cloud, &wrong_token)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        describe(&invalid),
        "InvalidClientTokenId: The security token included in the request is invalid."
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_table_encrypted_with_the_aws_managed_key_cannot_be_shared() {
    // No key, the managed key's alias, and its alias ARN all name it.
    for key_id in [
        None,
        Some("alias/aws/dynamodb".to_owned()),
        Some(format!("arn:aws:kms:{REGION}:{B}:alias/aws/dynamodb")),
    ] {
        refused_with_the_aws_managed_key(key_id).await;
    }
}

async fn refused_with_the_aws_managed_key(key_id: Option<String>) {
    use aws_sdk_dynamodb::types::{BillingMode, KeyType, ScalarAttributeType, SseSpecification};
    let cloud = crate::common::start().await;
    let db = dynamodb(&cloud, &root(&cloud, B));
    db.create_table()
        .table_name("documents")
        .attribute_definitions(definition("pk", ScalarAttributeType::S))
        .key_schema(key("pk", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .set_kms_master_key_id(key_id)
                .build(),
        )
        .stream_specification(enabled_stream(StreamViewType::KeysOnly))
        .send()
        .await
        .unwrap();
    let stream_arn = latest_stream(&db).await;
    let a_iam = iam(&cloud, &root(&cloud, A));
    a_iam
        .create_role()
        .role_name(ROLE)
        .assume_role_policy_document(trust(A))
        .send()
        .await
        .unwrap();
    a_iam
        .put_role_policy()
        .role_name(ROLE)
        .policy_name("read")
        .policy_document(identity_policy("Allow"))
        .send()
        .await
        .unwrap();
    attach_stream_policy(
        &cloud,
        &stream_arn,
        stream_policy("Allow", &role_arn(), &stream_arn),
    )
    .await;
    let keys = assume(&cloud, &role_arn()).await;
    assert_eq!(
        describe_as(&cloud, &keys, &stream_arn).await,
        format!(
            "AccessDeniedException: User: {} is not authorized to perform: dynamodb:DescribeStream on resource: {stream_arn} because the table is encrypted with the AWS managed key aws/dynamodb, whose key policy cannot grant another account",
            session_arn()
        )
    );
    // The owner still reads its own stream.
    streams(&cloud, &root(&cloud, B))
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap();
    cloud.stop().await;
}

#[tokio::test]
async fn a_trust_policy_naming_the_account_delegates_to_the_callers_identity_policy() {
    let cloud = crate::common::start().await;
    let a_iam = iam(&cloud, &root(&cloud, A));
    for name in [ROLE, "next-hop"] {
        a_iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust(A))
            .send()
            .await
            .unwrap();
    }
    let session = assume(&cloud, &role_arn()).await;
    let hop = || {
        sts(&cloud, &session)
            .assume_role()
            .role_arn(format!("arn:aws:iam::{A}:role/next-hop"))
            .role_session_name("hop")
            .send()
    };
    let refused = hop().await.unwrap_err();
    assert_eq!(
        describe(&refused),
        format!(
            "AccessDenied: User: {} is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{A}:role/next-hop",
            session_arn()
        )
    );
    a_iam
        .put_role_policy()
        .role_name(ROLE)
        .policy_name("hop")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{A}:role/next-hop"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let user = hop().await.unwrap().assumed_role_user.unwrap();
    assert_eq!(
        user.arn,
        format!("arn:aws:sts::{A}:assumed-role/next-hop/hop")
    );
    cloud.stop().await;
}
