//! AWS adapters: the DynamoDB `Store`, the SES v2 `Mailer` and the SQS mail queue, plus the SDK client set-up
//! shared by the Lambda functions, `sapk-admin --store dynamodb` and the tests.

#![cfg_attr(test, allow(clippy::too_many_lines))]

pub mod archive;
pub mod deploy_hook;
mod dynamo;
mod ses;
pub mod ses_events;
pub mod settings;
mod sqs;
pub mod tables;

pub use dynamo::DynamoStore;
pub use ses::SesMailer;
pub use settings::{Entry, Settings, SettingsError};
pub use sqs::SqsMailQueue;
pub use tables::{create_tables, TableNames, TableRole, TableSpec, TABLES};

pub use aws_config;
pub use aws_sdk_codedeploy;
pub use aws_sdk_dynamodb;
pub use aws_sdk_lambda;
pub use aws_sdk_s3;
pub use aws_sdk_secretsmanager;
pub use aws_sdk_sesv2;
pub use aws_sdk_sqs;

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

/// The SDK configuration of the tool a person runs (`sapk-admin --store dynamodb`): the
/// same as [`sdk_config`] with 5 s per attempt and 15 s per operation. A person at a counter
/// can wait a few seconds where a Lambda answering a request cannot, and an office network is
/// slower than a Lambda's.
pub async fn tool_sdk_config() -> SdkConfig {
    bounded(aws_config::defaults(BehaviorVersion::latest()), 5, 15)
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
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(50)),
        )
}

/// The DynamoDB client of every entry point: the SDK configuration plus a retry of
/// transaction conflicts.
pub fn dynamodb_client(cfg: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(dynamodb_config(cfg).build())
}

/// The configuration [`dynamodb_client`] builds from, for callers that add to it (tests add
/// interceptors).
pub fn dynamodb_config(cfg: &SdkConfig) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::config::Builder::from(cfg).retry_classifier(TransactionConflicts)
}

/// DynamoDB answers `TransactionConflictException` when a write meets an item inside a
/// running transaction, and cancels a transaction with the reason `TransactionConflict`
/// when another one holds an item. Both are transient: the standard retry strategy tries
/// again with back-off. A transaction cancelled by a failed condition is not retried (the
/// store answers a conflict).
#[derive(Debug, Clone, Copy, Default)]
pub struct TransactionConflicts;

impl aws_sdk_dynamodb::config::retry::ClassifyRetry for TransactionConflicts {
    fn classify_retry(
        &self,
        ctx: &aws_sdk_dynamodb::config::interceptors::InterceptorContext,
    ) -> aws_sdk_dynamodb::config::retry::RetryAction {
        use aws_sdk_dynamodb::config::retry::RetryAction;
        use aws_sdk_dynamodb::error::ProvideErrorMetadata;
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let Some(Err(err)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let Some(op) = err.as_operation_error() else {
            return RetryAction::NoActionIndicated;
        };
        if let Some(TransactWriteItemsError::TransactionCanceledException(c)) =
            op.downcast_ref::<TransactWriteItemsError>()
        {
            let codes: Vec<&str> = c
                .cancellation_reasons()
                .iter()
                .filter_map(|r| r.code())
                .collect();
            let conflict = codes.contains(&"TransactionConflict");
            let condition = codes.contains(&"ConditionalCheckFailed");
            return if conflict && !condition {
                RetryAction::transient_error()
            } else {
                RetryAction::NoActionIndicated
            };
        }
        let code = {
            use aws_sdk_dynamodb::operation::{
                delete_item::DeleteItemError, put_item::PutItemError, update_item::UpdateItemError,
            };
            op.downcast_ref::<PutItemError>()
                .and_then(|e| e.code())
                .or_else(|| op.downcast_ref::<UpdateItemError>().and_then(|e| e.code()))
                .or_else(|| op.downcast_ref::<DeleteItemError>().and_then(|e| e.code()))
        };
        if code == Some("TransactionConflictException") {
            RetryAction::transient_error()
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "sapk: DynamoDB transaction conflicts"
    }
}

pub fn sesv2_client(cfg: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(cfg)
}

pub fn sqs_client(cfg: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(cfg)
}

/// S3 with path-style addresses when an endpoint is set (a local stand-in serves one host).
pub fn s3_client(cfg: &SdkConfig) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .force_path_style(cfg.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
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

/// The ARN of the identity these credentials belong to (`sts:GetCallerIdentity`, which needs
/// no permission): what the tools record as the actor of a direct action on the tables.
pub async fn caller_arn(cfg: &SdkConfig) -> Result<String, String> {
    let out = aws_sdk_sts::Client::new(cfg)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws_sdk_sts::error::DisplayErrorContext(e).to_string())?;
    out.arn
        .filter(|a| !a.is_empty())
        .ok_or_else(|| "no ARN in the answer".to_owned())
}

/// A key's text: from Secrets Manager when `<NAME>_SECRET_ARN` is set (as in
/// `infra/template.yaml`), else from `<NAME>` itself; `None` when neither is set. The error
/// names the variable, never the secret.
pub async fn key_text(cfg: &SdkConfig, name: &str) -> Result<Option<String>, String> {
    let arn_var = format!("{name}_SECRET_ARN");
    match std::env::var(&arn_var) {
        // A secret that is there but empty is refused, not taken for "no key": a blank
        // origin-verify secret would otherwise turn the edge check off unnoticed.
        Ok(arn) if !arn.trim().is_empty() => match fetch_secret_text(cfg, arn.trim()).await {
            Ok(text) if text.trim().is_empty() => Err(format!("{arn_var}: the secret is empty")),
            Ok(text) => Ok(Some(text)),
            Err(e) => Err(format!("{arn_var}: {e}")),
        },
        _ => Ok(std::env::var(name).ok().filter(|v| !v.trim().is_empty())),
    }
}

/// Reads a key secret's text from Secrets Manager (once, at init).
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
