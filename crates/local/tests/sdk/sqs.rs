//! The minimal SQS through aws-sdk-sqs: queues per account, messages with
//! visibility timeouts and MD5 digests, AWS's typed errors, and another
//! account refused without a queue policy.

use crate::common::{A, B, assert_describes_as, describe, root, sqs, start};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use expect_test::expect;
use std::time::Duration;

#[tokio::test]
async fn queues_hold_messages_until_deleted() {
    let cloud = start().await;
    let client = sqs(&cloud, &root(&cloud, A));
    let url = client
        .create_queue()
        .queue_name("failures")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    assert_eq!(url, format!("{}/{A}/failures", cloud.endpoint_url()));
    let again = client
        .create_queue()
        .queue_name("failures")
        .send()
        .await
        .unwrap();
    assert_eq!(
        again.queue_url(),
        Some(url.as_str()),
        "creating it again is fine"
    );
    let conflicting = client
        .create_queue()
        .queue_name("failures")
        .attributes(QueueAttributeName::VisibilityTimeout, "5")
        .send()
        .await
        .unwrap_err();
    assert!(
        conflicting
            .as_service_error()
            .unwrap()
            .is_queue_name_exists()
    );
    let found = client
        .get_queue_url()
        .queue_name("failures")
        .send()
        .await
        .unwrap();
    assert_eq!(found.queue_url(), Some(url.as_str()));
    let attributes = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .unwrap();
    let attributes = attributes.attributes().unwrap();
    assert_eq!(
        attributes
            .get(&QueueAttributeName::QueueArn)
            .map(String::as_str),
        Some("arn:aws:sqs:eu-west-1:111111111111:failures")
    );
    assert_eq!(
        attributes
            .get(&QueueAttributeName::VisibilityTimeout)
            .map(String::as_str),
        Some("30")
    );

    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(
        sent.md5_of_message_body(),
        Some("5d41402abc4b2a76b9719d911017c592")
    );
    let receive = || {
        client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
    };
    let first = receive().send().await.unwrap();
    let message = &first.messages()[0];
    assert_eq!(message.body(), Some("hello"));
    assert_eq!(message.message_id(), sent.message_id());
    assert_eq!(message.md5_of_body(), sent.md5_of_message_body());
    assert!(
        receive().send().await.unwrap().messages().is_empty(),
        "invisible while in flight"
    );
    cloud.advance_clock(Duration::from_secs(31));
    let second = receive().send().await.unwrap();
    let again = &second.messages()[0];
    assert_eq!(
        again
            .attributes()
            .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
            .map(String::as_str),
        Some("2")
    );
    let stale = client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(message.receipt_handle().unwrap())
        .send()
        .await
        .unwrap_err();
    assert!(
        stale
            .as_service_error()
            .unwrap()
            .is_receipt_handle_is_invalid()
    );
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(again.receipt_handle().unwrap())
        .send()
        .await
        .unwrap();
    cloud.advance_clock(Duration::from_secs(31));
    assert!(
        receive().send().await.unwrap().messages().is_empty(),
        "deleted"
    );

    let long_poll = receive().wait_time_seconds(5).send().await.unwrap_err();
    expect![[r#"InvalidParameterValue: streamgate-local does not implement long polling (WaitTimeSeconds above 0) yet"#]]
        .assert_eq(&describe(&long_poll));
    client.delete_queue().queue_url(&url).send().await.unwrap();
    let gone = client
        .get_queue_attributes()
        .queue_url(&url)
        .send()
        .await
        .unwrap_err();
    assert!(gone.as_service_error().unwrap().is_queue_does_not_exist());
    cloud.stop().await;
}

#[tokio::test]
async fn another_account_needs_the_queue_policy() {
    let cloud = start().await;
    let url = sqs(&cloud, &root(&cloud, A))
        .create_queue()
        .queue_name("shared")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let in_b = sqs(&cloud, &root(&cloud, B));
    let denied = in_b
        .send_message()
        .queue_url(&url)
        .message_body("from b")
        .send()
        .await
        .unwrap_err();
    assert_describes_as(&denied, "AccessDenied: ");
    let missing = in_b
        .get_queue_url()
        .queue_name("absent")
        .queue_owner_aws_account_id(A)
        .send()
        .await
        .unwrap_err();
    assert!(
        missing
            .as_service_error()
            .unwrap()
            .is_queue_does_not_exist()
    );

    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{B}:root"}},"Action":"sqs:SendMessage","Resource":"arn:aws:sqs:eu-west-1:{A}:with-policy"}}]}}"#
    );
    let url = sqs(&cloud, &root(&cloud, A))
        .create_queue()
        .queue_name("with-policy")
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    in_b.send_message()
        .queue_url(&url)
        .message_body("from b")
        .send()
        .await
        .unwrap();
    cloud.stop().await;
}
