//! Shared start-up of the Lambda functions: JSON logs, configuration from the environment,
//! SDK clients built once at init, then the runtime loop over [`sapk_http::Api::handle`].

use lambda_http::{service_fn, Body, Request, Response};
use sapk_aws::{DynamoStore, SesMailer, SqsMailQueue, TableNames};
use sapk_core::ports::{Mailer, OutgoingEmail, SystemClock};
use sapk_core::{Config, Service, TokenKey};
use sapk_http::{Api, Route, StaffApi};
use std::sync::Arc;

/// JSON logs, level from `RUST_LOG` (default `info`), without ANSI colours.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .init();
}

/// Why a function refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("missing required configuration: {0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
}

/// Routes served by each function.
pub const FORGOT_ROUTES: &[Route] = &[Route::Forgot, Route::NipCheck];
pub const RESET_ROUTES: &[Route] = &[Route::Reset, Route::PasswordPolicy, Route::Help];
pub const LOGIN_ROUTES: &[Route] = &[
    Route::Login,
    Route::Session,
    Route::Logout,
    Route::ChangePassword,
    Route::Activity,
    Route::LoginSecondStep,
    Route::FactorEnrol,
    Route::FactorConfirm,
    Route::RecoveryCodes,
];

/// Builds the service from `SAPK_*` settings (read through `get`) and the SDK clients.
/// Required: `SAPK_TABLE_ACCOUNTS`, `SAPK_TABLE_EPHEMERAL`, `SAPK_TABLE_AUDIT`,
/// `SAPK_MAIL_FROM`, `SAPK_TOKEN_KEY` (see [`TokenKey::from_secret_text`]). Optional:
/// `SAPK_SES_CONFIGURATION_SET` and every tunable of [`Config`], none below
/// [`Config::security_floor_violations`]'s floors.
pub fn build_service(
    dynamodb: sapk_aws::aws_sdk_dynamodb::Client,
    sesv2: sapk_aws::aws_sdk_sesv2::Client,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Service, StartError> {
    let present = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let mut missing = Vec::new();
    let tables = TableNames::from_env_required(get)
        .map_err(|m| missing.push(m))
        .ok();
    let from = present("SAPK_MAIL_FROM");
    if from.is_none() {
        missing.push("SAPK_MAIL_FROM".to_owned());
    }
    let key = present("SAPK_TOKEN_KEY");
    if key.is_none() {
        missing.push("SAPK_TOKEN_KEY".to_owned());
    }
    let (Some(tables), Some(from), Some(key)) = (tables, from, key) else {
        return Err(StartError::Missing(missing.join(", ")));
    };
    let key = TokenKey::from_secret_text(&key)
        .map_err(|e| StartError::Invalid(format!("SAPK_TOKEN_KEY: {e}")))?;
    let config = Config::from_lookup(get).map_err(|e| StartError::Invalid(e.to_string()))?;
    let weak = config.security_floor_violations();
    if !weak.is_empty() {
        return Err(StartError::Invalid(format!(
            "settings below the security floor: {}",
            weak.join("; ")
        )));
    }
    config.log_effective();
    build_service_with(
        dynamodb,
        sesv2,
        tables,
        from,
        key,
        config,
        present("SAPK_SES_CONFIGURATION_SET"),
    )
}

/// The service over DynamoDB and SES with a given `Config` (tests inject theirs here; the
/// functions go through [`build_service`], which holds the settings to the floors).
pub fn build_service_with(
    dynamodb: sapk_aws::aws_sdk_dynamodb::Client,
    sesv2: sapk_aws::aws_sdk_sesv2::Client,
    tables: TableNames,
    from: String,
    key: TokenKey,
    config: Config,
    configuration_set: Option<String>,
) -> Result<Service, StartError> {
    let store =
        DynamoStore::new(dynamodb, tables).with_audit_retention(config.audit_retention_days);
    let mailer = SesMailer::new(sesv2, from, configuration_set);
    Service::new(
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(SystemClock),
        config,
        key,
    )
    .map_err(|e| StartError::Invalid(e.to_string()))
}

/// [`sapk_aws::key_text`], refusing to start when a named secret cannot be read.
async fn key_text(
    sdk: &sapk_aws::aws_config::SdkConfig,
    name: &str,
) -> anyhow::Result<Option<String>> {
    sapk_aws::key_text(sdk, name).await.map_err(|e| {
        tracing::error!(error = %e, "key secret not readable");
        anyhow::anyhow!("refusing to start: {e}")
    })
}

/// Builds the service once (clients, configuration, keys) from the environment. With
/// `SAPK_MAIL_QUEUE_URL` (as deployed) its e-mails go to the mail queue, not to SES, and with
/// `SAPK_MAIL_NOTICE_QUEUE_URL` the notices to a queue of their own.
async fn service_from_env(
) -> anyhow::Result<(Service, Option<String>, sapk_aws::aws_config::SdkConfig)> {
    let (service, pii, sdk) = service_with_ses_from_env().await?;
    let service = match std::env::var("SAPK_MAIL_QUEUE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let mut queue = SqsMailQueue::new(sapk_aws::sqs_client(&sdk), url.trim().to_owned());
            if let Ok(n) = std::env::var("SAPK_MAIL_NOTICE_QUEUE_URL") {
                if !n.trim().is_empty() {
                    queue = queue.with_notice_queue(n.trim().to_owned());
                }
            }
            service.with_mailer(Arc::new(queue))
        }
        _ => service,
    };
    Ok((service, pii, sdk))
}

/// The service with its e-mails going to SES, and the SDK configuration.
async fn service_with_ses_from_env(
) -> anyhow::Result<(Service, Option<String>, sapk_aws::aws_config::SdkConfig)> {
    init_logging();
    let sdk = sapk_aws::sdk_config().await;
    // The key secrets at once: each is a Secrets Manager call at cold start.
    let (token, pii, audit) = tokio::try_join!(
        key_text(&sdk, "SAPK_TOKEN_KEY"),
        key_text(&sdk, "SAPK_PII_KEY"),
        key_text(&sdk, "SAPK_AUDIT_KEY"),
    )?;
    let get = |k: &str| match (k, &token) {
        ("SAPK_TOKEN_KEY", Some(text)) => Some(text.clone()),
        _ => std::env::var(k).ok(),
    };
    let dynamodb = sapk_aws::dynamodb_client(&sdk);
    let sesv2 = sapk_aws::sesv2_client(&sdk);
    match build_service(dynamodb, sesv2, &get) {
        // The audit chain's key of its own (deployed: AuditKeySecret); without it, one
        // derived from the token key.
        Ok(s) => match audit {
            Some(text) => Ok((
                s.with_audit_key(
                    TokenKey::from_secret_text(&text)
                        .map_err(|e| anyhow::anyhow!("refusing to start: SAPK_AUDIT_KEY: {e}"))?,
                ),
                pii,
                sdk,
            )),
            None => Ok((s, pii, sdk)),
        },
        Err(e) => {
            tracing::error!(error = %e, "refusing to start");
            anyhow::bail!("refusing to start: {e}");
        }
    }
}

/// Builds everything once, then serves `routes` until the runtime stops. The login
/// function also reads the key of two-step login (`SAPK_FACTOR_KEY_SECRET_ARN` or
/// `SAPK_FACTOR_KEY`); without it, accounts with two-step login on cannot finish a login.
pub async fn run(routes: &'static [Route]) -> anyhow::Result<()> {
    let (service, _, sdk) = service_from_env().await?;
    let service = match key_text(&sdk, "SAPK_FACTOR_KEY").await? {
        Some(text) => service.with_factor_key(
            TokenKey::from_secret_text(&text)
                .map_err(|e| anyhow::anyhow!("refusing to start: SAPK_FACTOR_KEY: {e}"))?,
        ),
        None => service,
    };
    service.warm_up().await;
    let mut api = Api::new(Arc::new(service), routes);
    // Behind CloudFront (infra/edge.yaml), the viewer's address comes from
    // CloudFront-Viewer-Address on requests with the origin-verify secret.
    if let Some(secret) = key_text(&sdk, "SAPK_ORIGIN_VERIFY").await? {
        api = api.with_edge(sapk_http::EdgeTrust::cloudfront(&secret));
    }
    lambda_http::run(service_fn(move |req: Request| {
        let api = api.clone();
        async move { Ok::<Response<Body>, lambda_http::Error>(api.handle(req).await) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// The `staff` function: the counter routes behind API Gateway's IAM authorizer. Needs the
/// key of NIK and document numbers (`SAPK_PII_KEY_SECRET_ARN` or `SAPK_PII_KEY`) besides
/// what every function needs.
pub async fn run_staff() -> anyhow::Result<()> {
    let (service, pii, sdk) = service_from_env().await?;
    let Some(pii) = pii else {
        tracing::error!("refusing to start: SAPK_PII_KEY_SECRET_ARN or SAPK_PII_KEY is missing");
        anyhow::bail!("refusing to start: missing required configuration: SAPK_PII_KEY");
    };
    let pii = TokenKey::from_secret_text(&pii)
        .map_err(|e| anyhow::anyhow!("refusing to start: SAPK_PII_KEY: {e}"))?;
    // An officer's e-mail change takes the new address off SES's suppression list.
    let ses = SesMailer::new(
        sapk_aws::sesv2_client(&sdk),
        std::env::var("SAPK_MAIL_FROM").unwrap_or_default(),
        std::env::var("SAPK_SES_CONFIGURATION_SET")
            .ok()
            .filter(|v| !v.trim().is_empty()),
    );
    let api = StaffApi::new(Arc::new(
        service.with_pii_key(pii).with_suppressions(Arc::new(ses)),
    ));
    lambda_http::run(service_fn(move |req: Request| {
        let api = api.clone();
        async move { Ok::<Response<Body>, lambda_http::Error>(api.handle(req).await) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// Spaces sends out to a rate (SES's per-second quota shared by the mailer's concurrent
/// instances): each send takes the next free slot.
pub struct Pace {
    interval: std::time::Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    /// `per_sec` sends a second (at least one a minute).
    pub fn new(per_sec: f64) -> Pace {
        let per_sec = if per_sec.is_finite() && per_sec > 0.0 {
            per_sec.max(1.0 / 60.0)
        } else {
            1.0
        };
        Pace {
            interval: std::time::Duration::from_secs_f64(1.0 / per_sec),
            next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this send's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// What one batch of the mail queue came to (logged; the numbers operations alarms on).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailBatch {
    pub sent: u32,
    pub dropped_expired: u32,
    pub dropped_superseded: u32,
    pub failed: u32,
}

/// The `mailer` function's work on one SQS batch: each message is an e-mail the API queued;
/// [`Service::deliver`] sends it through `via` (SES) at `pace`, or drops it when its code
/// expired or was replaced. A message that fails (SES down or throttling, the store
/// unreadable) is reported back as a batch item failure: SQS makes it visible again after
/// the visibility timeout and, after its receives run out, moves it to the dead-letter
/// queue. An unreadable message is reported too, so it ends in the dead-letter queue for
/// inspection rather than vanishing.
pub async fn deliver_batch(
    service: &Service,
    via: &dyn Mailer,
    pace: &Pace,
    event: aws_lambda_events::event::sqs::SqsEvent,
) -> (aws_lambda_events::event::sqs::SqsBatchResponse, MailBatch) {
    use sapk_core::Delivery;
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    let mut counts = MailBatch::default();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        let mail = record
            .body
            .as_deref()
            .map(serde_json::from_str::<OutgoingEmail>);
        let mail = match mail {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                tracing::error!(message_id = %id, error = %e, "queued e-mail unreadable");
                counts.failed += 1;
                response.add_failure(id);
                continue;
            }
            None => {
                tracing::error!(message_id = %id, "queued e-mail without a body");
                counts.failed += 1;
                response.add_failure(id);
                continue;
            }
        };
        pace.wait().await;
        match service.deliver(&mail, via).await {
            Ok(Delivery::Sent) => counts.sent += 1,
            Ok(Delivery::DroppedExpired) => counts.dropped_expired += 1,
            Ok(Delivery::DroppedSuperseded) => counts.dropped_superseded += 1,
            Err(e) => {
                tracing::warn!(message_id = %id, kind = mail.kind.as_str(), error = %e, "e-mail not sent; SQS will retry");
                counts.failed += 1;
                response.add_failure(id);
            }
        }
    }
    tracing::info!(
        sent = counts.sent,
        dropped_expired = counts.dropped_expired,
        dropped_superseded = counts.dropped_superseded,
        failed = counts.failed,
        "mail batch"
    );
    (response, counts)
}

/// The `mailer` function: consumes the mail queue and sends through SES
/// (`SAPK_MAIL_FROM`, `SAPK_SES_CONFIGURATION_SET`) at `SAPK_MAIL_RATE_PER_SEC` per
/// instance (default 1: SES's sandbox quota; the template sets quota ÷ maximum concurrency).
pub async fn run_mailer() -> anyhow::Result<()> {
    let (service, _, _) = service_with_ses_from_env().await?;
    let rate = std::env::var("SAPK_MAIL_RATE_PER_SEC")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap_or(1.0);
    let service = Arc::new(service);
    let pace = Arc::new(Pace::new(rate));
    let via = service.mailer();
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| {
            let (service, pace, via) = (service.clone(), pace.clone(), via.clone());
            async move {
                let (response, _) =
                    deliver_batch(&service, via.as_ref(), &pace, event.payload).await;
                Ok::<_, lambda_runtime::Error>(response)
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// The `mail-status` function's work on one SNS delivery of SES event records: each record
/// is read ([`sapk_aws::ses_events::parse`]) and its statuses recorded for the accounts with
/// that address ([`Service::record_mail_events`]). A record that is not an SES event is
/// logged and skipped (retrying it would not help); a store that fails fails the invocation,
/// so SNS delivers it again.
pub async fn record_ses_notifications(
    service: &Service,
    event: aws_lambda_events::event::sns::SnsEvent,
) -> Result<usize, sapk_core::ports::StoreError> {
    let mut recorded = 0;
    for record in event.records {
        match sapk_aws::ses_events::parse(&record.sns.message) {
            Ok(events) => recorded += service.record_mail_events(&events).await?,
            Err(e) => {
                tracing::warn!(message_id = %record.sns.message_id, error = %e, "SNS message skipped")
            }
        }
    }
    tracing::info!(recorded, "mail statuses");
    Ok(recorded)
}

/// The `mail-status` function: SES's events through SNS into each account's last mail
/// status.
pub async fn run_mail_status() -> anyhow::Result<()> {
    let (service, _, _) = service_with_ses_from_env().await?;
    let service = Arc::new(service);
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::sns::SnsEvent>| {
            let service = service.clone();
            async move {
                record_ses_notifications(&service, event.payload)
                    .await
                    .map_err(|e| lambda_runtime::Error::from(e.to_string()))
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// The `audit-archive` function's work on one batch of the audit table's stream: the whole
/// batch into the archive bucket ([`sapk_aws::archive::AuditArchive`]), and every
/// modification or removal that DynamoDB's TTL did not make logged as an error (a metric
/// filter raises the `AuditTamperingAlarm`). A bucket that fails fails the invocation: the
/// stream delivers the batch again.
pub async fn archive_audit_batch(
    archive: &sapk_aws::archive::AuditArchive,
    event: aws_lambda_events::event::dynamodb::Event,
) -> Result<sapk_aws::archive::ArchiveCounts, sapk_aws::archive::ArchiveError> {
    use sapk_aws::archive::AuditChange;
    for r in &event.records {
        let change = AuditChange::of(r);
        if change.is_tampering() {
            let keys = serde_json::to_string(&r.change.keys).unwrap_or_default();
            let what = if change == AuditChange::Modified {
                "audit record modified"
            } else {
                "audit record removed"
            };
            tracing::error!(
                keys = %keys,
                by = ?r.user_identity.as_ref().map(|u| &u.principal_id),
                "{what}"
            );
        }
    }
    let counts = archive.archive(&event.records).await?;
    tracing::info!(
        appended = counts.appended,
        modified = counts.modified,
        removed = counts.removed,
        expired = counts.expired,
        "audit archived"
    );
    Ok(counts)
}

/// The `audit-archive` function: the audit table's stream into the Object Lock bucket
/// `SAPK_AUDIT_ARCHIVE_BUCKET`.
pub async fn run_audit_archive() -> anyhow::Result<()> {
    init_logging();
    let Some(bucket) = std::env::var("SAPK_AUDIT_ARCHIVE_BUCKET")
        .ok()
        .filter(|b| !b.trim().is_empty())
    else {
        tracing::error!("refusing to start: SAPK_AUDIT_ARCHIVE_BUCKET is missing");
        anyhow::bail!(
            "refusing to start: missing required configuration: SAPK_AUDIT_ARCHIVE_BUCKET"
        );
    };
    let sdk = sapk_aws::sdk_config().await;
    let archive = Arc::new(sapk_aws::archive::AuditArchive::new(
        sapk_aws::s3_client(&sdk),
        bucket.trim().to_owned(),
    ));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<aws_lambda_events::event::dynamodb::Event>| {
            let archive = archive.clone();
            async move {
                archive_audit_batch(&archive, event.payload)
                    .await
                    .map(|_| ())
                    .map_err(|e| lambda_runtime::Error::from(e.to_string()))
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}
