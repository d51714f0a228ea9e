//! What the benches that drive a cloud through aws-sdk-rust share: a
//! client of each service for an endpoint and an access key, the streamed
//! `documents` table, and the timing of a loop of requests. Included with `#[path]` by each bench that
//! needs it; each uses only a part of it.

#![allow(
    dead_code,
    reason = "each bench that includes this module uses only a part of it"
)]

use aws_sdk_dynamodb::operation::create_table::CreateTableOutput;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    StreamSpecification, StreamViewType,
};

use std::time::{Duration, Instant};

/// The region every bench works in.
pub(crate) const REGION: &str = "eu-west-1";

/// The access key a bench's clients sign with.
pub(crate) struct SigningKey<'a> {
    /// The access key id.
    pub(crate) access_key_id: &'a str,
    /// Its secret.
    pub(crate) secret_access_key: &'a str,
}

macro_rules! client_for {
    ($name:ident, $krate:ident) => {
        /// A client for `endpoint` in [`REGION`], signing with `key`.
        pub(crate) fn $name(endpoint: &str, key: &SigningKey<'_>) -> $krate::Client {
            let credentials = $krate::config::Credentials::new(
                key.access_key_id,
                key.secret_access_key,
                None,
                None,
                "bench",
            );
            let config = $krate::Config::builder()
                .behavior_version($krate::config::BehaviorVersion::latest())
                .region($krate::config::Region::new(REGION))
                .endpoint_url(endpoint)
                .credentials_provider(credentials)
                .build();
            $krate::Client::from_conf(config)
        }
    };
}

client_for!(dynamodb_client, aws_sdk_dynamodb);
client_for!(streams_client, aws_sdk_dynamodbstreams);
client_for!(iam_client, aws_sdk_iam);
client_for!(lambda_client, aws_sdk_lambda);

/// Creates `documents`: key `pk` (S), on demand, with a NEW_AND_OLD_IMAGES
/// stream.
pub(crate) async fn create_documents_table(client: &aws_sdk_dynamodb::Client) -> CreateTableOutput {
    client
        .create_table()
        .table_name("documents")
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
}

/// How long `iterations` requests take, sent one after another on
/// `runtime`; `request(n)` sends the n-th and checks its answer.
pub(crate) fn time_requests<Request>(
    runtime: &tokio::runtime::Runtime,
    iterations: u64,
    mut request: impl FnMut(u64) -> Request,
) -> Duration
where
    Request: std::future::Future<Output = ()>,
{
    runtime.block_on(async {
        let start = Instant::now();
        for n in 0..iterations {
            request(n).await;
        }
        start.elapsed()
    })
}
