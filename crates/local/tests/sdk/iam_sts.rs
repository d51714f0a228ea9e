//! IAM and STS through aws-sdk-iam and aws-sdk-sts.

use crate::common::{A, B, assert_describes_as, describe, iam, root, start, sts};
use expect_test::expect;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},"Action":"sts:AssumeRole"}]}"#;
const READ_STREAMS: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["dynamodb:GetRecords"],"Resource":"*"}]}"#;

#[tokio::test]
async fn roles_and_their_policies() {
    let cloud = start().await;
    let client = iam(&cloud, &root(&cloud, A));
    let role = client
        .create_role()
        .role_name("billing-consumer")
        .assume_role_policy_document(TRUST)
        .description("reads tenant streams")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(role.arn, format!("arn:aws:iam::{A}:role/billing-consumer"));
    assert!(role.role_id.starts_with("AROA"));
    let got = client
        .get_role()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    // IAM returns policy documents percent-encoded, as AWS does.
    assert_eq!(
        got.assume_role_policy_document
            .as_deref()
            .map(decode)
            .as_deref(),
        Some(TRUST)
    );
    assert_eq!(client.list_roles().send().await.unwrap().roles.len(), 1);

    let exists = client
        .create_role()
        .role_name("billing-consumer")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap_err();
    expect!["EntityAlreadyExists: Role with name billing-consumer already exists."]
        .assert_eq(&describe(&exists));
    assert!(
        exists
            .into_service_error()
            .is_entity_already_exists_exception()
    );
    let malformed = client
        .create_role()
        .role_name("bad")
        .assume_role_policy_document("{")
        .send()
        .await
        .unwrap_err();
    expect!["MalformedPolicyDocument: Syntax errors in policy."].assert_eq(&describe(&malformed));
    assert!(
        malformed
            .into_service_error()
            .is_malformed_policy_document_exception()
    );
    let ghost = TRUST.replace("111111111111:root", "444444444444:root");
    let invalid = client
        .create_role()
        .role_name("ghost")
        .assume_role_policy_document(ghost)
        .send()
        .await
        .unwrap_err();
    expect![[r#"MalformedPolicyDocument: Invalid principal in policy: "AWS":"arn:aws:iam::444444444444:root""#]]
        .assert_eq(&describe(&invalid));

    client
        .put_role_policy()
        .role_name("billing-consumer")
        .policy_name("read")
        .policy_document(READ_STREAMS)
        .send()
        .await
        .unwrap();
    let inline = client
        .get_role_policy()
        .role_name("billing-consumer")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    assert_eq!(decode(&inline.policy_document), READ_STREAMS);
    assert_eq!(
        client
            .list_role_policies()
            .role_name("billing-consumer")
            .send()
            .await
            .unwrap()
            .policy_names,
        ["read"]
    );
    let principal = READ_STREAMS.replace("\"Effect\"", "\"Principal\":\"*\",\"Effect\"");
    let refused = client
        .put_role_policy()
        .role_name("billing-consumer")
        .policy_name("p")
        .policy_document(principal)
        .send()
        .await
        .unwrap_err();
    expect!["MalformedPolicyDocument: Policy document should not specify a principal."]
        .assert_eq(&describe(&refused));

    let managed = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole";
    client
        .attach_role_policy()
        .role_name("billing-consumer")
        .policy_arn(managed)
        .send()
        .await
        .unwrap();
    let attached = client
        .list_attached_role_policies()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap();
    let attached = attached.attached_policies.unwrap();
    assert_eq!(
        attached[0].policy_name.as_deref(),
        Some("AWSLambdaDynamoDBExecutionRole")
    );
    let version = client
        .get_policy_version()
        .policy_arn(managed)
        .version_id("v1")
        .send()
        .await
        .unwrap();
    let document = decode(&version.policy_version.unwrap().document.unwrap());
    assert!(
        document.contains("dynamodb:ListStreams") && document.contains("logs:PutLogEvents"),
        "{document}"
    );
    let missing = client
        .attach_role_policy()
        .role_name("billing-consumer")
        .policy_arn("arn:aws:iam::aws:policy/Nope")
        .send()
        .await
        .unwrap_err();
    assert!(missing.into_service_error().is_no_such_entity_exception());

    let conflict = client
        .delete_role()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap_err();
    expect!["DeleteConflict: Cannot delete entity, must delete policies first."]
        .assert_eq(&describe(&conflict));
    assert!(conflict.into_service_error().is_delete_conflict_exception());
    client
        .delete_role_policy()
        .role_name("billing-consumer")
        .policy_name("read")
        .send()
        .await
        .unwrap();
    let conflict = client
        .delete_role()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap_err();
    expect!["DeleteConflict: Cannot delete entity, must detach all policies first."]
        .assert_eq(&describe(&conflict));
    client
        .detach_role_policy()
        .role_name("billing-consumer")
        .policy_arn(managed)
        .send()
        .await
        .unwrap();
    client
        .delete_role()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap();
    let gone = client
        .get_role()
        .role_name("billing-consumer")
        .send()
        .await
        .unwrap_err();
    expect!["NoSuchEntity: The role with name billing-consumer cannot be found."]
        .assert_eq(&describe(&gone));
    assert!(gone.into_service_error().is_no_such_entity_exception());
    cloud.stop().await;
}

#[tokio::test]
async fn customer_managed_policies() {
    let cloud = start().await;
    let client = iam(&cloud, &root(&cloud, A));
    let policy = client
        .create_policy()
        .policy_name("read-streams")
        .policy_document(READ_STREAMS)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    let arn = policy.arn.unwrap();
    assert_eq!(arn, format!("arn:aws:iam::{A}:policy/read-streams"));
    assert_eq!(policy.default_version_id.as_deref(), Some("v1"));
    let got = client
        .get_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap()
        .policy
        .unwrap();
    assert_eq!(got.attachment_count, Some(0));
    client
        .create_role()
        .role_name("r")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    client
        .attach_role_policy()
        .role_name("r")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let conflict = client
        .delete_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_err();
    expect!["DeleteConflict: Cannot delete a policy attached to entities."]
        .assert_eq(&describe(&conflict));
    client
        .detach_role_policy()
        .role_name("r")
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    client
        .delete_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap();
    let gone = client
        .get_policy()
        .policy_arn(&arn)
        .send()
        .await
        .unwrap_err();
    assert!(gone.into_service_error().is_no_such_entity_exception());
    cloud.stop().await;
}

#[tokio::test]
async fn trust_policy_updates() {
    let cloud = start().await;
    let client = iam(&cloud, &root(&cloud, A));
    client
        .create_role()
        .role_name("consumer")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let assume_from_b = || {
        sts(&cloud, &root(&cloud, B))
            .assume_role()
            .role_arn(format!("arn:aws:iam::{A}:role/consumer"))
            .role_session_name("from-b")
            .send()
    };
    assert!(assume_from_b().await.is_err(), "B is not trusted yet");

    let trusts_b = TRUST.replace(A, B);
    client
        .update_assume_role_policy()
        .role_name("consumer")
        .policy_document(&trusts_b)
        .send()
        .await
        .unwrap();
    let got = client
        .get_role()
        .role_name("consumer")
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(
        got.assume_role_policy_document.as_deref().map(decode),
        Some(trusts_b.clone())
    );
    assume_from_b().await.unwrap();

    let missing = client
        .update_assume_role_policy()
        .role_name("nobody")
        .policy_document(&trusts_b)
        .send()
        .await
        .unwrap_err();
    expect!["NoSuchEntity: The role with name nobody cannot be found."]
        .assert_eq(&describe(&missing));
    assert!(missing.into_service_error().is_no_such_entity_exception());
    let malformed = client
        .update_assume_role_policy()
        .role_name("consumer")
        .policy_document("{")
        .send()
        .await
        .unwrap_err();
    expect!["MalformedPolicyDocument: Syntax errors in policy."].assert_eq(&describe(&malformed));
    assert!(
        malformed
            .into_service_error()
            .is_malformed_policy_document_exception()
    );
    let ghost = client
        .update_assume_role_policy()
        .role_name("consumer")
        .policy_document(TRUST.replace(A, "444444444444"))
        .send()
        .await
        .unwrap_err();
    expect![[r#"MalformedPolicyDocument: Invalid principal in policy: "AWS":"arn:aws:iam::444444444444:root""#]]
        .assert_eq(&describe(&ghost));
    // A refused update leaves the trust policy as it was.
    assume_from_b().await.unwrap();

    // A session of a role with no IAM permission may not change a trust policy.
    let session = sts(&cloud, &root(&cloud, B))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/consumer"))
        .role_session_name("from-b")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    let keys = crate::common::Keys {
        access_key_id: session.access_key_id,
        secret_access_key: session.secret_access_key,
        session_token: Some(session.session_token),
    };
    let denied = iam(&cloud, &keys)
        .update_assume_role_policy()
        .role_name("consumer")
        .policy_document(TRUST)
        .send()
        .await
        .unwrap_err();
    assert_describes_as(
        &denied,
        &format!(
            "AccessDenied: User: arn:aws:sts::{A}:assumed-role/consumer/from-b is not authorized to perform: iam:UpdateAssumeRolePolicy on resource: arn:aws:iam::{A}:role/consumer"
        ),
    );
    cloud.stop().await;
}

#[tokio::test]
async fn caller_identity_of_a_root() {
    let cloud = start().await;
    let client = sts(&cloud, &root(&cloud, A));
    let identity = client.get_caller_identity().send().await.unwrap();
    assert_eq!(identity.account.as_deref(), Some(A));
    assert_eq!(identity.arn, Some(format!("arn:aws:iam::{A}:root")));
    assert_eq!(identity.user_id.as_deref(), Some(A));
    cloud.stop().await;
}

fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

#[tokio::test]
async fn session_durations_and_role_chaining() {
    let cloud = start().await;
    let client = iam(&cloud, &root(&cloud, A));
    let mut role_ids = Vec::new();
    for name in ["first", "second"] {
        let role = client
            .create_role()
            .role_name(name)
            .assume_role_policy_document(TRUST)
            .max_session_duration(43200)
            .send()
            .await
            .unwrap()
            .role
            .unwrap();
        role_ids.push(role.role_id);
    }
    client
        .put_role_policy()
        .role_name("first")
        .policy_name("hop")
        .policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::{A}:role/second"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let assume = |keys: crate::common::Keys, role: &'static str, seconds: Option<i32>| {
        let client = sts(&cloud, &keys);
        async move {
            client
                .assume_role()
                .role_arn(format!("arn:aws:iam::{A}:role/{role}"))
                .role_session_name("worker")
                .set_duration_seconds(seconds)
                .send()
                .await
        }
    };
    let too_long = assume(root(&cloud, A), "first", Some(43201))
        .await
        .unwrap_err();
    expect!["ValidationError: 1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200"]
        .assert_eq(&describe(&too_long));
    let too_short = assume(root(&cloud, A), "first", Some(899))
        .await
        .unwrap_err();
    expect!["ValidationError: 1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900"]
        .assert_eq(&describe(&too_short));

    // A root may take the role's whole MaxSessionDuration.
    let output = assume(root(&cloud, A), "first", Some(43200)).await.unwrap();
    let user = output.assumed_role_user.unwrap();
    assert_eq!(user.assumed_role_id, format!("{}:worker", role_ids[0]));
    assert_eq!(
        user.arn,
        format!("arn:aws:sts::{A}:assumed-role/first/worker")
    );
    let credentials = output.credentials.unwrap();
    let session = crate::common::Keys {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: Some(credentials.session_token),
    };
    let identity = sts(&cloud, &session)
        .get_caller_identity()
        .send()
        .await
        .unwrap();
    assert_eq!(identity.user_id, Some(format!("{}:worker", role_ids[0])));
    assert_eq!(identity.account.as_deref(), Some(A));

    // A session assuming a role is role chaining: an hour at most.
    let same_keys = || crate::common::Keys {
        access_key_id: session.access_key_id.clone(),
        secret_access_key: session.secret_access_key.clone(),
        session_token: session.session_token.clone(),
    };
    let chained = assume(same_keys(), "second", Some(3601)).await.unwrap_err();
    expect!["ValidationError: The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."]
        .assert_eq(&describe(&chained));
    for seconds in [None, Some(3600)] {
        let hop = assume(same_keys(), "second", seconds).await.unwrap();
        assert_eq!(
            hop.assumed_role_user.unwrap().arn,
            format!("arn:aws:sts::{A}:assumed-role/second/worker")
        );
    }
    cloud.stop().await;
}

#[tokio::test]
async fn a_trust_policy_may_require_an_external_id_and_a_session_name() {
    let cloud = start().await;
    iam(&cloud, &root(&cloud, A))
        .create_role()
        .role_name("third-party")
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"sts:ExternalId":"tenant-42"}},"StringLike":{{"sts:RoleSessionName":"billing-*"}}}}}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    let assume = |external_id: Option<&'static str>, session_name: &'static str| {
        let client = sts(&cloud, &root(&cloud, B));
        async move {
            client
                .assume_role()
                .role_arn(format!("arn:aws:iam::{A}:role/third-party"))
                .role_session_name(session_name)
                .set_external_id(external_id.map(str::to_owned))
                .send()
                .await
        }
    };
    let denied = format!(
        "AccessDenied: User: arn:aws:iam::{B}:root is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{A}:role/third-party"
    );
    for (external_id, session_name) in [
        (None, "billing-1"),
        (Some("tenant-43"), "billing-1"),
        (Some("tenant-42"), "other-1"),
    ] {
        let refused = assume(external_id, session_name).await.unwrap_err();
        assert_eq!(describe(&refused), denied, "{external_id:?} {session_name}");
    }
    let user = assume(Some("tenant-42"), "billing-1")
        .await
        .unwrap()
        .assumed_role_user
        .unwrap();
    assert_eq!(
        user.arn,
        format!("arn:aws:sts::{A}:assumed-role/third-party/billing-1")
    );
    let short = assume(Some("x"), "billing-1").await.unwrap_err();
    expect!["ValidationError: 1 validation error detected: Value 'x' at 'externalId' failed to satisfy constraint: Member must have length greater than or equal to 2"]
        .assert_eq(&describe(&short));
    let spaced = assume(Some("tenant 42"), "billing-1").await.unwrap_err();
    expect![[r#"ValidationError: 1 validation error detected: Value 'tenant 42' at 'externalId' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@:\/-]*"#]]
        .assert_eq(&describe(&spaced));
    cloud.stop().await;
}

#[tokio::test]
async fn session_names_are_checked_constraint_by_constraint() {
    let cloud = start().await;
    iam(&cloud, &root(&cloud, A))
        .create_role()
        .role_name("named")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap();
    let client = sts(&cloud, &root(&cloud, A));
    let mut answers = Vec::new();
    for name in [
        "a".to_owned(),
        "n".repeat(65),
        "a b".to_owned(),
        "é".to_owned(),
    ] {
        let outcome = client
            .assume_role()
            .role_arn(format!("arn:aws:iam::{A}:role/named"))
            .role_session_name(name)
            .send()
            .await;
        answers.push(match outcome {
            Ok(_) => "ok".to_owned(),
            Err(error) => describe(&error),
        });
    }
    let nn = "n".repeat(65);
    expect![[r#"
        ValidationError: 1 validation error detected: Value 'a' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2
        ValidationError: 1 validation error detected: Value 'NN' at 'roleSessionName' failed to satisfy constraint: Member must have length less than or equal to 64
        ValidationError: 1 validation error detected: Value 'a b' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*
        ValidationError: 2 validation errors detected: Value 'é' at 'roleSessionName' failed to satisfy constraint: Member must have length greater than or equal to 2; Value 'é' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"#]]
    .assert_eq(&answers.join("\n").replace(&nn, "NN"));
    let two = client
        .assume_role()
        .role_arn(format!("arn:aws:iam::{A}:role/named"))
        .role_session_name("ok")
        .send()
        .await
        .unwrap();
    assert_eq!(
        two.assumed_role_user.unwrap().arn,
        format!("arn:aws:sts::{A}:assumed-role/named/ok")
    );
    cloud.stop().await;
}

#[tokio::test]
async fn a_role_with_a_path_is_assumed_by_its_full_arn_only() {
    let cloud = start().await;
    let created = iam(&cloud, &root(&cloud, A))
        .create_role()
        .role_name("pathed")
        .path("/team/")
        .assume_role_policy_document(TRUST)
        .send()
        .await
        .unwrap()
        .role
        .unwrap();
    assert_eq!(created.arn, format!("arn:aws:iam::{A}:role/team/pathed"));
    let client = sts(&cloud, &root(&cloud, A));
    for arn in [
        format!("arn:aws:iam::{A}:role/pathed"),
        format!("arn:aws:iam::{A}:role/other/pathed"),
    ] {
        let refused = client
            .assume_role()
            .role_arn(&arn)
            .role_session_name("s1")
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            describe(&refused),
            format!(
                "AccessDenied: User: arn:aws:iam::{A}:root is not authorized to perform: sts:AssumeRole on resource: {arn}"
            )
        );
    }
    let user = client
        .assume_role()
        .role_arn(&created.arn)
        .role_session_name("s1")
        .send()
        .await
        .unwrap()
        .assumed_role_user
        .unwrap();
    // The session's ARN names the role without its path.
    assert_eq!(user.arn, format!("arn:aws:sts::{A}:assumed-role/pathed/s1"));
    cloud.stop().await;
}
