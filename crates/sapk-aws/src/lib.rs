//! AWS adapters: the DynamoDB `Store` and the SES v2 `Mailer`, plus the SDK client set-up
//! shared by the Lambda functions, `sapk-admin --store dynamodb` and the tests.

mod dynamo;
mod ses;
pub mod tables;

pub use dynamo::DynamoStore;
pub use ses::SesMailer;
pub use tables::{create_tables, TableNames, TableRole, TableSpec, TABLES};

pub use aws_config;
pub use aws_sdk_dynamodb;
pub use aws_sdk_sesv2;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use std::time::Duration;

/// Loads the SDK configuration the usual way (region, credentials, `AWS_ENDPOINT_URL` and
/// `AWS_ENDPOINT_URL_<SERVICE>` from the environment) with bounded timeouts and retries:
/// a call never hangs a request for long.
pub async fn sdk_config() -> SdkConfig {
    bounded(aws_config::defaults(BehaviorVersion::latest()), 2, 5)
        .load()
        .await
}

/// 1 s to connect, `attempt_secs` per attempt, `operation_secs` in all, 3 attempts.
fn bounded(
    loader: aws_config::ConfigLoader,
    attempt_secs: u64,
    operation_secs: u64,
) -> aws_config::ConfigLoader {
    loader
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(attempt_secs))
                .operation_timeout(Duration::from_secs(operation_secs))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(3))
}

pub fn dynamodb_client(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(cfg)
}

pub fn sesv2_client(cfg: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(cfg)
}

/// SDK configuration for a local stand-in (moto, aws-ses-v2-local): fixed endpoint, region
/// and dummy static credentials; the same retries as production, with more time per attempt
/// (the stand-ins are slower than AWS on a busy test machine).
pub async fn local_sdk_config(endpoint: &str) -> SdkConfig {
    let loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("ap-southeast-3"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "static",
        ));
    bounded(loader, 5, 10).load().await
}

/// Reads the token key's secret text from Secrets Manager (once, at init).
pub async fn fetch_secret_text(cfg: &SdkConfig, secret_id: &str) -> Result<String, String> {
    let client = aws_sdk_secretsmanager::Client::new(cfg);
    let out = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| aws_sdk_secretsmanager::error::DisplayErrorContext(e).to_string())?;
    out.secret_string()
        .map(str::to_owned)
        .ok_or_else(|| format!("secret {secret_id} has no SecretString"))
}
