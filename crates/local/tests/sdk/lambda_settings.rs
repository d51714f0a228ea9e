//! Lambda's configuration operations beyond functions themselves, through
//! aws-sdk-lambda: UpdateAlias, tags, reserved concurrency (and its
//! enforcement), account settings and asynchronous invocation settings.

use crate::common::{A, B, describe, lambda, root, start};
use crate::invoke::deploy;
use crate::lambda::create_role;
use aws_sdk_lambda::types::Environment;
use expect_test::expect;

const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:111111111111:function:tester";

#[tokio::test]
async fn an_alias_is_updated_under_its_revision() {
    let cloud = start().await;
    let role = create_role(&cloud, A, "runs-functions", "lambda.amazonaws.com").await;
    let client = deploy(&cloud, "tester", &role, 3, &[("STAGE", "one")]).await;
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    client
        .update_function_configuration()
        .function_name("tester")
        .environment(Environment::builder().variables("STAGE", "two").build())
        .send()
        .await
        .unwrap();
    client
        .publish_version()
        .function_name("tester")
        .send()
        .await
        .unwrap();
    let created = client
        .create_alias()
        .function_name("tester")
        .name("live")
        .function_version("1")
        .description("first")
        .send()
        .await
        .unwrap();

    let stale = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .function_version("2")
        .revision_id("5b9c1b2e-0000-4000-a000-000000000000")
        .send()
        .await
        .unwrap_err();
    expect![[r#"PreconditionFailedException: The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id"#]]
        .assert_eq(&describe(&stale));

    let updated = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .function_version("2")
        .revision_id(created.revision_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(updated.function_version(), Some("2"));
    assert_eq!(updated.description(), Some("first"), "kept when not given");
    assert_ne!(updated.revision_id(), created.revision_id());
    assert_eq!(
        updated.alias_arn(),
        Some(format!("{FUNCTION_ARN}:live").as_str())
    );
    let described = client
        .update_alias()
        .function_name("tester")
        .name("live")
        .description("second")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (described.function_version(), described.description()),
        (Some("2"), Some("second"))
    );
    assert_ne!(described.revision_id(), updated.revision_id());
    let read = client
        .get_alias()
        .function_name("tester")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(read.revision_id(), described.revision_id());
    let by_alias = client
        .get_function_configuration()
        .function_name("tester")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_alias.version(),
        Some("2"),
        "the alias runs version 2 now"
    );

    let mut errors = Vec::new();
    for (function, alias, version) in [
        ("tester", "live", "9"),
        ("tester", "absent", "1"),
        ("absent", "live", "1"),
    ] {
        let error = client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .unwrap_err();
        errors.push(describe(&error));
    }
    let from_b = lambda(&cloud, &root(&cloud, B))
        .update_alias()
        .function_name(FUNCTION_ARN)
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap_err();
    errors.push(describe(&from_b));
    expect![[r#"
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:9
        ResourceNotFoundException: Alias not found: arn:aws:lambda:eu-west-1:111111111111:function:tester:absent
        ResourceNotFoundException: Function not found: arn:aws:lambda:eu-west-1:111111111111:function:absent
        AccessDeniedException: User: arn:aws:iam::222222222222:root is not authorized to perform: lambda:UpdateAlias on resource: arn:aws:lambda:eu-west-1:111111111111:function:tester because no resource-based policy allows the lambda:UpdateAlias action"#]].assert_eq(&errors.join("\n"));
    cloud.stop().await;
}
