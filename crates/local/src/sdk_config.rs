//! AWS SDK configurations for a running local cloud (feature `sdk-config`):
//! the endpoint URL, an account's credentials, a region and the latest
//! behaviour version in one [`SdkConfig`], so that every AWS SDK client
//! (`aws_sdk_dynamodb::Client::new(&config)` and the like) talks to the
//! cloud without hand-built service configurations.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let cloud = streamgate_local::LocalCloud::builder().start().await?;
//! let config = cloud.sdk_config("222222222222", "eu-west-1")?;
//! assert_eq!(config.endpoint_url(), Some(cloud.endpoint_url().as_str()));
//! // let dynamodb = aws_sdk_dynamodb::Client::new(&config);
//! # Ok(())
//! # }
//! ```
//!
//! For an assumed-role session, pass the session's keys from STS
//! `AssumeRole` to [`RunningCloud::sdk_config_with_credentials`]; for a
//! cloud running in another process (the `streamgate-local` binary), where
//! there is no [`RunningCloud`] handle, use [`root_sdk_config`] with its
//! endpoint URL.

use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_types::SdkConfig;
use aws_types::region::Region;
use aws_types::sdk_config::SharedCredentialsProvider;

use crate::RunningCloud;
use crate::identity::ROOT_SECRET;

/// The credentials type [`RunningCloud::sdk_config_with_credentials`]
/// takes, re-exported so that callers need not depend on
/// `aws-credential-types` themselves.
pub use aws_credential_types::Credentials;

/// The name the credentials report as their provider (it shows in SDK
/// debug output and errors).
const PROVIDER_NAME: &str = "streamgate-local";

/// Why [`RunningCloud::sdk_config`] gave no configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdkConfigError {
    /// The cloud does not hold the account.
    #[error("the local cloud has no account `{account}` (it has {})", known.join(", "))]
    UnknownAccount {
        /// The account asked for.
        account: String,
        /// The accounts the cloud holds.
        known: Vec<String>,
    },
}

/// An SDK configuration signing as the root user of `account` in `region`
/// against the local cloud at `endpoint_url` (for example one the
/// `streamgate-local` binary serves), with the latest behaviour version.
/// Nothing is checked here: the cloud refuses an account it does not hold
/// on the first request. With a [`RunningCloud`] handle, prefer
/// [`RunningCloud::sdk_config`], which checks the account.
///
/// ```
/// let config = streamgate_local::sdk_config::root_sdk_config(
///     "http://127.0.0.1:4577",
///     "111111111111",
///     "eu-west-1",
/// );
/// assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:4577"));
/// ```
pub fn root_sdk_config(endpoint_url: &str, account: &str, region: &str) -> SdkConfig {
    let credentials = Credentials::new(account, ROOT_SECRET, None, None, PROVIDER_NAME);
    config_with(endpoint_url, credentials, region)
}

/// The one place the configuration is put together.
fn config_with(endpoint_url: &str, credentials: Credentials, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_owned()))
        .endpoint_url(endpoint_url)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

impl RunningCloud {
    /// An SDK configuration signing as the root user of `account` in
    /// `region`, pointed at this cloud's endpoint, with the latest behaviour
    /// version. Fails if the cloud does not hold `account`.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let cloud = streamgate_local::LocalCloud::builder().start().await?;
    /// let config = cloud.sdk_config("111111111111", "eu-west-1")?;
    /// assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
    /// # Ok(())
    /// # }
    /// ```
    pub fn sdk_config(&self, account: &str, region: &str) -> Result<SdkConfig, SdkConfigError> {
        let root = self
            .credentials(account)
            .ok_or_else(|| SdkConfigError::UnknownAccount {
                account: account.to_owned(),
                known: self.accounts().to_vec(),
            })?;
        let credentials = Credentials::new(
            root.access_key_id,
            root.secret_access_key,
            None,
            None,
            PROVIDER_NAME,
        );
        Ok(self.sdk_config_with_credentials(credentials, region))
    }

    /// An SDK configuration signing with `credentials` (typically an
    /// assumed-role session: access key, secret and session token from STS
    /// `AssumeRole` against this cloud) in `region`, pointed at this
    /// cloud's endpoint, with the latest behaviour version. The cloud checks
    /// the keys on each request, not here.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use streamgate_local::sdk_config::Credentials;
    /// let cloud = streamgate_local::LocalCloud::builder().start().await?;
    /// // The keys of a session that STS AssumeRole handed out.
    /// let session = Credentials::new("ASIA...", "secret", Some("token".into()), None, "sts");
    /// let config = cloud.sdk_config_with_credentials(session, "eu-west-1");
    /// # Ok(())
    /// # }
    /// ```
    pub fn sdk_config_with_credentials(&self, credentials: Credentials, region: &str) -> SdkConfig {
        config_with(&self.endpoint_url(), credentials, region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LocalCloud;
    use aws_credential_types::provider::ProvideCredentials;
    use expect_test::{Expect, expect};

    /// Renders what a configuration for `account` carries (or the error).
    async fn check(account: &str, expected: Expect) {
        let cloud = LocalCloud::builder()
            .accounts(["111111111111", "222222222222"])
            .start()
            .await
            .unwrap();
        let rendered = match cloud.sdk_config(account, "eu-west-1") {
            Ok(config) => {
                let keys = config
                    .credentials_provider()
                    .unwrap()
                    .provide_credentials()
                    .await
                    .unwrap();
                let endpoint_is_the_cloud =
                    config.endpoint_url() == Some(cloud.endpoint_url().as_str());
                format!(
                    "region={:?} endpoint_is_the_cloud={endpoint_is_the_cloud} \
                     behavior_version_set={} key={} secret={} token={:?}",
                    config.region().map(|r| r.as_ref().to_owned()),
                    config.behavior_version().is_some(),
                    keys.access_key_id(),
                    keys.secret_access_key(),
                    keys.session_token(),
                )
            }
            Err(error) => format!("error: {error}"),
        };
        cloud.stop().await;
        expected.assert_eq(&rendered);
    }

    #[tokio::test]
    async fn root_configuration_signs_as_the_account() {
        check(
            "222222222222",
            expect![[r#"region=Some("eu-west-1") endpoint_is_the_cloud=true behavior_version_set=true key=222222222222 secret=streamgate-local token=None"#]],
        )
        .await;
    }

    #[tokio::test]
    async fn unknown_account_is_refused_with_the_known_ones() {
        check(
            "999999999999",
            expect![[r#"error: the local cloud has no account `999999999999` (it has 111111111111, 222222222222)"#]],
        )
        .await;
    }

    #[tokio::test]
    async fn endpoint_configuration_signs_as_the_running_cloud_does() {
        let cloud = LocalCloud::builder().start().await.unwrap();
        let by_endpoint = root_sdk_config(&cloud.endpoint_url(), "111111111111", "eu-west-1");
        let by_handle = cloud.sdk_config("111111111111", "eu-west-1").unwrap();
        let keys = |config: &SdkConfig| {
            let provider = config.credentials_provider().unwrap();
            async move { provider.provide_credentials().await.unwrap() }
        };
        let (a, b) = (keys(&by_endpoint).await, keys(&by_handle).await);
        assert_eq!(
            (a.access_key_id(), a.secret_access_key()),
            (b.access_key_id(), b.secret_access_key())
        );
        assert_eq!(by_endpoint.endpoint_url(), by_handle.endpoint_url());
        cloud.stop().await;
    }

    #[tokio::test]
    async fn session_configuration_keeps_the_session_token() {
        let cloud = LocalCloud::builder().start().await.unwrap();
        let session = Credentials::new("ASIAEXAMPLE", "secret", Some("token".into()), None, "test");
        let config = cloud.sdk_config_with_credentials(session, "us-east-1");
        let keys = config
            .credentials_provider()
            .unwrap()
            .provide_credentials()
            .await
            .unwrap();
        assert_eq!(keys.session_token(), Some("token"));
        assert_eq!(config.region().map(|r| r.as_ref()), Some("us-east-1"));
        cloud.stop().await;
    }
}
