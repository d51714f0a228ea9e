//! Function policies through aws-sdk-lambda: AddPermission, GetPolicy and
//! RemovePermission with the statements Lambda writes, and cross-account
//! access decided by the function policy together with the caller's
//! identity policies.

use crate::common::{A, Keys, REGION, describe, iam, lambda, root, start, sts};
use crate::invoke::deploy;
use crate::lambda::create_role;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::FunctionUrlAuthType;
use expect_test::expect;
use serde_json::Value;
use streamgate_local::RunningCloud;

const C: &str = "333333333333";

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{A}:function:{name}")
}

/// The policy of `name` (with `qualifier`) pretty-printed, or the error.
async fn policy_of(client: &aws_sdk_lambda::Client, name: &str, qualifier: Option<&str>) -> String {
    match client
        .get_policy()
        .function_name(name)
        .set_qualifier(qualifier.map(str::to_owned))
        .send()
        .await
    {
        Ok(output) => {
            assert!(!output.revision_id().unwrap_or_default().is_empty());
            let policy: Value = serde_json::from_str(output.policy().unwrap()).unwrap();
            serde_json::to_string_pretty(&policy).unwrap()
        }
        Err(error) => describe(&error),
    }
}

/// Invokes `arn` as `keys`: "ok" or the error.
async fn invoke_as(cloud: &RunningCloud, keys: &Keys, arn: &str) -> String {
    match lambda(cloud, keys)
        .invoke()
        .function_name(arn)
        .payload(Blob::new(r#"{"action":"echo"}"#))
        .send()
        .await
    {
        Ok(output) => {
            assert_eq!(output.function_error(), None);
            "ok".to_owned()
        }
        Err(error) => describe(&error),
    }
}

/// A session of a role of `account` (assumed by that account's root), with
/// `identity` as its inline policy.
async fn session_in(
    cloud: &RunningCloud,
    account: &str,
    name: &str,
    identity: Option<&str>,
) -> Keys {
    let client = iam(cloud, &root(cloud, account));
    client
        .create_role()
        .role_name(name)
        .assume_role_policy_document(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        ))
        .send()
        .await
        .unwrap();
    if let Some(policy) = identity {
        client
            .put_role_policy()
            .role_name(name)
            .policy_name("invoke")
            .policy_document(policy)
            .send()
            .await
            .unwrap();
    }
    let credentials = sts(cloud, &root(cloud, account))
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/{name}"))
        .role_session_name("caller")
        .send()
        .await
        .unwrap()
        .credentials
        .unwrap();
    Keys {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: Some(credentials.session_token),
    }
}

#[tokio::test]
async fn permissions_are_added_read_and_removed_as_lambda_writes_them() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "shared", &role, 3, &[]).await;

    expect!["ResourceNotFoundException: The resource you requested does not exist."]
        .assert_eq(&policy_of(&client, "shared", None).await);

    let added = client
        .add_permission()
        .function_name("shared")
        .statement_id("xaccount")
        .action("lambda:InvokeFunction")
        .principal(C)
        .send()
        .await
        .unwrap();
    expect![[r#"{"Sid":"xaccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111111111111:function:shared"}"#]]
        .assert_eq(added.statement().unwrap());
    client
        .add_permission()
        .function_name(function_arn("shared"))
        .statement_id("sns")
        .action("lambda:InvokeFunction")
        .principal("sns.amazonaws.com")
        .source_arn(format!("arn:aws:sns:{REGION}:{A}:topic"))
        .source_account(A)
        .send()
        .await
        .unwrap();
    client
        .add_permission()
        .function_name("shared")
        .statement_id("org")
        .action("lambda:GetFunction")
        .principal("*")
        .principal_org_id("o-a1b2c3d4e5")
        .send()
        .await
        .unwrap();
    client
        .add_permission()
        .function_name("shared")
        .statement_id("url")
        .action("lambda:InvokeFunctionUrl")
        .principal("*")
        .function_url_auth_type(FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    expect![[r#"
        {
          "Id": "default",
          "Statement": [
            {
              "Action": "lambda:InvokeFunction",
              "Effect": "Allow",
              "Principal": {
                "AWS": "arn:aws:iam::333333333333:root"
              },
              "Resource": "arn:aws:lambda:eu-west-1:111111111111:function:shared",
              "Sid": "xaccount"
            },
            {
              "Action": "lambda:InvokeFunction",
              "Condition": {
                "ArnLike": {
                  "AWS:SourceArn": "arn:aws:sns:eu-west-1:111111111111:topic"
                },
                "StringEquals": {
                  "AWS:SourceAccount": "111111111111"
                }
              },
              "Effect": "Allow",
              "Principal": {
                "Service": "sns.amazonaws.com"
              },
              "Resource": "arn:aws:lambda:eu-west-1:111111111111:function:shared",
              "Sid": "sns"
            },
            {
              "Action": "lambda:GetFunction",
              "Condition": {
                "StringEquals": {
                  "aws:PrincipalOrgID": "o-a1b2c3d4e5"
                }
              },
              "Effect": "Allow",
              "Principal": "*",
              "Resource": "arn:aws:lambda:eu-west-1:111111111111:function:shared",
              "Sid": "org"
            },
            {
              "Action": "lambda:InvokeFunctionUrl",
              "Condition": {
                "StringEquals": {
                  "lambda:FunctionUrlAuthType": "NONE"
                }
              },
              "Effect": "Allow",
              "Principal": "*",
              "Resource": "arn:aws:lambda:eu-west-1:111111111111:function:shared",
              "Sid": "url"
            }
          ],
          "Version": "2012-10-17"
        }"#]]
    .assert_eq(&policy_of(&client, "shared", None).await);

    // What AWS refuses.
    let refusal = |builder: aws_sdk_lambda::operation::add_permission::builders::AddPermissionFluentBuilder| async move {
        describe(&builder.send().await.unwrap_err())
    };
    let base = || {
        client
            .add_permission()
            .function_name("shared")
            .statement_id("another")
            .action("lambda:InvokeFunction")
            .principal(C)
    };
    expect!["ResourceConflictException: The statement id (xaccount) provided already exists. Please provide a new statement id, or remove the existing statement."]
        .assert_eq(&refusal(base().statement_id("xaccount")).await);
    expect!["ValidationException: 1 validation error detected: Value 'InvokeFunction' at 'action' failed to satisfy constraint: Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])"]
        .assert_eq(&refusal(base().action("InvokeFunction")).await);
    expect!["InvalidParameterValueException: The provided principal was invalid. Please check the principal and try again."]
        .assert_eq(&refusal(base().principal(format!("arn:aws:iam::{C}:role/absent"))).await);
    expect![
        "InvalidParameterValueException: We currently do not support adding policies for $LATEST."
    ]
    .assert_eq(&refusal(base().qualifier("$LATEST")).await);
    expect!["ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:shared:live"]
        .assert_eq(&refusal(base().qualifier("live")).await);
    expect!["PreconditionFailedException: The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"]
        .assert_eq(&refusal(base().revision_id("stale")).await);
    expect!["ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent"]
        .assert_eq(&refusal(base().function_name("absent")).await);

    // The current revision is taken, and changes with the policy.
    let revision = client
        .get_policy()
        .function_name("shared")
        .send()
        .await
        .unwrap()
        .revision_id
        .unwrap();
    base().revision_id(&revision).send().await.unwrap();
    let stale_remove = client
        .remove_permission()
        .function_name("shared")
        .statement_id("another")
        .revision_id(&revision)
        .send()
        .await
        .unwrap_err();
    expect!["PreconditionFailedException: The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"]
        .assert_eq(&describe(&stale_remove));

    for sid in ["another", "xaccount", "sns", "org"] {
        client
            .remove_permission()
            .function_name("shared")
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }
    let missing = client
        .remove_permission()
        .function_name("shared")
        .statement_id("xaccount")
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: Statement xaccount is not found in resource policy."]
        .assert_eq(&describe(&missing));
    client
        .remove_permission()
        .function_name("shared")
        .statement_id("url")
        .send()
        .await
        .unwrap();
    expect!["ResourceNotFoundException: The resource you requested does not exist."]
        .assert_eq(&policy_of(&client, "shared", None).await);
    let no_policy = client
        .remove_permission()
        .function_name("shared")
        .statement_id("url")
        .send()
        .await
        .unwrap_err();
    expect!["ResourceNotFoundException: No policy is associated with the given resource."]
        .assert_eq(&describe(&no_policy));
    cloud.stop().await;
}

#[tokio::test]
async fn a_version_or_alias_has_its_own_policy() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "shared", &role, 3, &[]).await;
    client
        .publish_version()
        .function_name("shared")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("shared")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let added = client
        .add_permission()
        .function_name("shared:live")
        .statement_id("xaccount")
        .action("lambda:InvokeFunction")
        .principal(C)
        .send()
        .await
        .unwrap();
    expect![[r#"{"Sid":"xaccount","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::333333333333:root"},"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:eu-west-1:111111111111:function:shared:live"}"#]]
        .assert_eq(added.statement().unwrap());
    expect!["ResourceNotFoundException: The resource you requested does not exist."]
        .assert_eq(&policy_of(&client, "shared", None).await);
    assert!(
        policy_of(&client, "shared", Some("live"))
            .await
            .contains("shared:live")
    );

    // C may invoke the alias, not the function, not the version.
    let c = root(&cloud, C);
    let arn = function_arn("shared");
    assert_eq!(invoke_as(&cloud, &c, &format!("{arn}:live")).await, "ok");
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &arn).await);
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared:1 because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &format!("{arn}:1")).await);

    // The alias's policy goes with the alias.
    client
        .delete_alias()
        .function_name("shared")
        .name("live")
        .send()
        .await
        .unwrap();
    client
        .create_alias()
        .function_name("shared")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    expect!["ResourceNotFoundException: The resource you requested does not exist."]
        .assert_eq(&policy_of(&client, "shared", Some("live")).await);
    cloud.stop().await;
}

#[tokio::test]
async fn another_account_invokes_only_as_the_function_policy_allows() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let owner = deploy(&cloud, "shared", &role, 3, &[]).await;
    let arn = function_arn("shared");
    let c = root(&cloud, C);

    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &arn).await);

    let grant = |sid: &str, principal: &str| {
        owner
            .add_permission()
            .function_name("shared")
            .statement_id(sid)
            .action("lambda:InvokeFunction")
            .principal(principal)
    };
    grant("account-c", C).send().await.unwrap();
    assert_eq!(invoke_as(&cloud, &c, &arn).await, "ok");
    // Only InvokeFunction was granted.
    let read = lambda(&cloud, &c)
        .get_function()
        .function_name(&arn)
        .send()
        .await
        .unwrap_err();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:GetFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:GetFunction action"]
        .assert_eq(&describe(&read));
    // Reading the function and its policy can be granted too.
    for action in ["lambda:GetFunction", "lambda:GetPolicy"] {
        owner
            .add_permission()
            .function_name("shared")
            .statement_id(action.replace(':', "-"))
            .action(action)
            .principal(C)
            .send()
            .await
            .unwrap();
    }
    let c_client = lambda(&cloud, &c);
    let read = c_client
        .get_function()
        .function_name(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        read.configuration().unwrap().function_arn(),
        Some(arn.as_str())
    );
    assert!(
        policy_of(&c_client, &arn, None)
            .await
            .contains("lambda:GetPolicy")
    );
    // Not what Lambda never lets another account do, whatever the policy.
    owner
        .add_permission()
        .function_name("shared")
        .statement_id("everything")
        .action("lambda:*")
        .principal(C)
        .send()
        .await
        .unwrap();
    let configured = c_client
        .update_function_configuration()
        .function_name(&arn)
        .timeout(5)
        .send()
        .await
        .unwrap_err();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:UpdateFunctionConfiguration on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:UpdateFunctionConfiguration action"]
        .assert_eq(&describe(&configured));
    // But the concurrency and tag operations the Lambda guide lists among
    // its cross-account APIs.
    c_client
        .put_function_concurrency()
        .function_name(&arn)
        .reserved_concurrent_executions(5)
        .send()
        .await
        .unwrap();
    c_client
        .delete_function_concurrency()
        .function_name(&arn)
        .send()
        .await
        .unwrap();
    c_client
        .tag_resource()
        .resource(&arn)
        .tags("team", "c")
        .send()
        .await
        .unwrap();
    let tags = c_client.list_tags().resource(&arn).send().await.unwrap();
    assert_eq!(
        tags.tags().and_then(|t| t.get("team")).map(String::as_str),
        Some("c")
    );
    let with_tags = c_client
        .get_function()
        .function_name(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_tags
            .tags()
            .and_then(|t| t.get("team"))
            .map(String::as_str),
        Some("c")
    );
    c_client
        .untag_resource()
        .resource(&arn)
        .tag_keys("team")
        .send()
        .await
        .unwrap();
    for sid in ["lambda-GetFunction", "lambda-GetPolicy", "everything"] {
        owner
            .remove_permission()
            .function_name("shared")
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }

    // A role of C needs its own identity policy as well.
    let bare = session_in(&cloud, C, "bare", None).await;
    expect!["AccessDeniedException: User: arn:aws:sts::333333333333:assumed-role/bare/caller is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no identity-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &bare, &arn).await);
    let invoker = session_in(
        &cloud,
        C,
        "invoker",
        Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":"*"}]}"#),
    )
    .await;
    assert_eq!(invoke_as(&cloud, &invoker, &arn).await, "ok");

    owner
        .remove_permission()
        .function_name("shared")
        .statement_id("account-c")
        .send()
        .await
        .unwrap();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &arn).await);
    expect!["AccessDeniedException: User: arn:aws:sts::333333333333:assumed-role/invoker/caller is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &invoker, &arn).await);

    // A statement naming the role grants the role, not the rest of C.
    grant("role-of-c", &format!("arn:aws:iam::{C}:role/invoker"))
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_as(&cloud, &invoker, &arn).await, "ok");
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &arn).await);

    // A SourceAccount condition holds only for a service acting for that
    // account: a direct call from C does not meet it.
    grant("c-via-source", C)
        .source_account(C)
        .send()
        .await
        .unwrap();
    expect!["AccessDeniedException: User: arn:aws:iam::333333333333:root is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no resource-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &c, &arn).await);

    // In its own account, the identity policies or the function policy may
    // allow: a role of A without identity policies, once the policy names it.
    let local = session_in(&cloud, A, "local", None).await;
    expect!["AccessDeniedException: User: arn:aws:sts::111111111111:assumed-role/local/caller is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:eu-west-1:111111111111:function:shared because no identity-based policy allows the lambda:InvokeFunction action"]
        .assert_eq(&invoke_as(&cloud, &local, &arn).await);
    grant("local", &format!("arn:aws:iam::{A}:role/local"))
        .send()
        .await
        .unwrap();
    assert_eq!(invoke_as(&cloud, &local, &arn).await, "ok");
    cloud.stop().await;
}

#[tokio::test]
async fn the_first_statement_takes_the_function_revision_and_policies_stay_under_20_kb() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "shared", &role, 3, &[]).await;
    // Before any policy, the revision to name is the function's own.
    let function_revision = client
        .get_function()
        .function_name("shared")
        .send()
        .await
        .unwrap()
        .configuration
        .unwrap()
        .revision_id
        .unwrap();
    client
        .add_permission()
        .function_name("shared")
        .statement_id("first")
        .action("lambda:InvokeFunction")
        .principal(C)
        .revision_id(&function_revision)
        .send()
        .await
        .unwrap();

    let mut refused = None;
    for index in 0..200 {
        let added = client
            .add_permission()
            .function_name("shared")
            .statement_id(format!("statement-{index:03}"))
            .action("lambda:GetFunction")
            .principal(format!("arn:aws:iam::{C}:root"))
            .source_arn(format!("arn:aws:sns:{REGION}:{C}:topic-{index:03}"))
            .send()
            .await;
        if let Err(error) = added {
            refused = Some((index, describe(&error)));
            break;
        }
    }
    let (index, message) = refused.expect("a policy cannot grow past 20 KB");
    expect!["PolicyLengthExceededException: The final policy size (20679) is bigger than the limit (20480)."]
        .assert_eq(&message);
    // What was refused was not stored: the policy is the one before it.
    let statements = policy_of(&client, "shared", None)
        .await
        .matches("\"Sid\"")
        .count();
    assert_eq!(statements, index + 1);
    cloud.stop().await;
}
