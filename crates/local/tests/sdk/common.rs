//! Clients for an account of a running local cloud, and the small
//! DynamoDB types several test modules build.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, KeySchemaElement, KeyType, ScalarAttributeType, StreamSpecification,
    StreamViewType,
};
use streamgate_local::sdk_config::Credentials;
use streamgate_local::{LocalCloud, RunningCloud};

pub(crate) const A: &str = "111111111111";
pub(crate) const B: &str = "222222222222";
pub(crate) const REGION: &str = "eu-west-1";

pub(crate) async fn start() -> RunningCloud {
    LocalCloud::builder().start().await.unwrap()
}

pub(crate) struct Keys {
    pub(crate) access_key_id: String,
    pub(crate) secret_access_key: String,
    pub(crate) session_token: Option<String>,
}

pub(crate) fn root(cloud: &RunningCloud, account: &str) -> Keys {
    let credentials = cloud.credentials(account).unwrap();
    Keys {
        access_key_id: credentials.access_key_id,
        secret_access_key: credentials.secret_access_key,
        session_token: None,
    }
}

macro_rules! client_for {
    ($name:ident, $krate:ident) => {
        pub(crate) fn $name(cloud: &RunningCloud, keys: &Keys) -> $krate::Client {
            let credentials = Credentials::new(
                &keys.access_key_id,
                &keys.secret_access_key,
                keys.session_token.clone(),
                None,
                "streamgate-local-tests",
            );
            $krate::Client::new(&cloud.sdk_config_with_credentials(credentials, REGION))
        }
    };
}

client_for!(dynamodb, aws_sdk_dynamodb);
client_for!(streams, aws_sdk_dynamodbstreams);
client_for!(iam, aws_sdk_iam);
client_for!(sts, aws_sdk_sts);
client_for!(lambda, aws_sdk_lambda);
client_for!(sqs, aws_sdk_sqs);

/// "Code: message" of an SDK error, for snapshots.
pub(crate) fn describe<E, R>(error: &aws_sdk_dynamodb::error::SdkError<E, R>) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or_default()),
        None => format!("no service error: {error:?}"),
    }
}

/// Asserts that `error`, as [`describe`] shows it, starts with `prefix`.
pub(crate) fn assert_describes_as<E, R>(
    error: &aws_sdk_dynamodb::error::SdkError<E, R>,
    prefix: &str,
) where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    let described = describe(error);
    assert!(described.starts_with(prefix), "{described}");
}

/// The attribute definition `name` of type `kind`.
pub(crate) fn definition(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

/// The key schema element `name` of role `kind` (hash or range).
pub(crate) fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

/// A stream specification turning the stream on with `view`.
pub(crate) fn enabled_stream(view: StreamViewType) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .unwrap()
}

/// Whether `text` is an ISO 8601 time with milliseconds,
/// `2019-11-14T18:16:05.568Z`, as Lambda's invocation records carry.
pub(crate) fn is_iso8601_millis(text: &str) -> bool {
    let bytes = text.as_bytes();
    let shape = b"0000-00-00T00:00:00.000Z";
    bytes.len() == shape.len()
        && bytes.iter().zip(shape).all(|(b, s)| {
            if *s == b'0' {
                b.is_ascii_digit()
            } else {
                b == s
            }
        })
}
