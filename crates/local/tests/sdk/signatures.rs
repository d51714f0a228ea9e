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

#[tokio::test]
async fn root_keys_with_a_session_token_are_invalid() {
    let cloud = start().await;
    let stale = Keys {
        session_token: Some("left-over-token".to_owned()),
        ..crate::common::root(&cloud, A)
    };
    let error = dynamodb(&cloud, &stale)
        .list_tables()
        .send()
        .await
        .unwrap_err();
    expect!["UnrecognizedClientException: The security token included in the request is invalid."]
        .assert_eq(&describe(&error));
    let error = sts(&cloud, &stale)
        .get_caller_identity()
        .send()
        .await
        .unwrap_err();
    expect!["InvalidClientTokenId: The security token included in the request is invalid."]
        .assert_eq(&describe(&error));
    cloud.stop().await;
}

/// Sends raw bytes and returns the whole answer (the request asks the
/// server to close the connection, so reading ends).
async fn raw_exchange(cloud: &streamgate_local::RunningCloud, bytes: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(cloud.local_addr())
        .await
        .unwrap();
    stream.write_all(bytes.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await
    .expect("the server answered and closed the connection within 10 s")
    .unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn unsigned_and_garbled_requests_get_4xx_not_a_dropped_connection() {
    let cloud = start().await;
    let answer = raw_exchange(
        &cloud,
        "POST / HTTP/1.1\r\nHost: local\r\nX-Amz-Target: DynamoDB_20120810.ListTables\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{oops",
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert!(answer.contains("x-amzn-requestid: "), "{answer}");
    assert!(
        answer.ends_with(r#"{"__type":"com.amazon.coral.service#MissingAuthenticationTokenException","message":"Request is missing Authentication Token"}"#),
        "{answer}"
    );
    let answer = raw_exchange(&cloud, "NOT HTTP AT ALL\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    // The server still serves after both.
    dynamodb(&cloud, &crate::common::root(&cloud, A))
        .list_tables()
        .send()
        .await
        .unwrap();
    cloud.stop().await;
}
