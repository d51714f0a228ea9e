//! Authentication through the SDKs: wrong secrets and unknown keys get the
//! error codes AWS gives, in each protocol.

use crate::common::{A, Keys, describe, dynamodb, start, sts};
use expect_test::expect;

fn keys(access_key_id: &str, secret: &str) -> Keys {
    Keys {
        access_key_id: access_key_id.to_owned(),
        secret_access_key: secret.to_owned(),
        session_token: None,
    }
}

#[tokio::test]
async fn a_wrong_secret_is_an_invalid_signature() {
    let cloud = start().await;
    let error = dynamodb(&cloud, &keys(A, "not-the-secret"))
        .list_tables()
        .send()
        .await
        .unwrap_err();
    expect!["InvalidSignatureException: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."]
        .assert_eq(&describe(&error));
    let error = sts(&cloud, &keys(A, "not-the-secret"))
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    expect!["SignatureDoesNotMatch: The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."]
        .assert_eq(&describe(&error));
    cloud.stop().await;
}

#[tokio::test]
async fn an_unknown_access_key_is_unrecognized() {
    let cloud = start().await;
    let error = dynamodb(&cloud, &keys("999999999999", "streamgate-local"))
        .list_tables()
        .send()
        .await
        .unwrap_err();
    expect!["UnrecognizedClientException: The security token included in the request is invalid."]
        .assert_eq(&describe(&error));
    let error = sts(&cloud, &keys("ASIAUNKNOWN", "x"))
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    expect!["InvalidClientTokenId: The security token included in the request is invalid."]
        .assert_eq(&describe(&error));
    cloud.stop().await;
}
