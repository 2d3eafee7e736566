//! Shared start-up of the Lambda functions: JSON logs, configuration from the environment,
//! SDK clients built once at init, then the runtime loop over [`sapk_http::Api::handle`].

#![cfg_attr(test, allow(clippy::too_many_lines))]

use lambda_http::{service_fn, Body, Request, Response};
use sapk_aws::aws_config::SdkConfig;
use sapk_aws::{Entry, Settings};
use sapk_core::ports::Mailer;
use sapk_core::Service;
use sapk_http::{routes, Api, Route, StaffApi};
use secrecy::ExposeSecret;
use std::sync::Arc;

pub mod probe;

/// The `pre-traffic` function ([`probe::run`]).
pub async fn run_pre_traffic() -> anyhow::Result<()> {
    probe::run().await
}

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

/// Routes served by each function.
pub const FORGOT_ROUTES: &[Route] = &[&routes::FORGOT, &routes::NIP_CHECK];
pub const RESET_ROUTES: &[Route] = &[&routes::RESET, &routes::PASSWORD_POLICY, &routes::HELP];
pub const LOGIN_ROUTES: &[Route] = &[
    &routes::LOGIN,
    &routes::SESSION,
    &routes::LOGOUT,
    &routes::PASSWORD_CHANGE,
    &routes::ACTIVITY,
    &routes::LOGIN_SECOND_STEP,
    &routes::FACTOR_ENROL,
    &routes::FACTOR_CONFIRM,
    &routes::RECOVERY_CODES,
    &routes::PASSKEY_OPTIONS,
    &routes::PASSKEY_ADD,
    &routes::PASSKEY_LIST,
    &routes::PASSKEY_REMOVE,
    &routes::PASSKEY_SIGN_IN_OPTIONS,
    &routes::PASSKEY_SIGN_IN,
];

/// The settings ([`Settings::load`]) and the SDK configuration, read once at init. A
/// function that cannot start says why in its log, naming variables, never a secret.
async fn settings() -> anyhow::Result<(Settings, SdkConfig)> {
    init_logging();
    let sdk = sapk_aws::sdk_config().await;
    match Settings::load(Entry::Function, &sdk).await {
        Ok(s) => Ok((s, sdk)),
        Err(e) => {
            tracing::error!(error = %e, "refusing to start");
            anyhow::bail!("refusing to start: {e}")
        }
    }
}

/// The SDK clients a function uses, built once at init from one SDK configuration (the
/// tests build them over the stand-ins, some with interceptors, and wire them through the
/// same functions below).
#[derive(Clone)]
pub struct Clients {
    pub dynamodb: sapk_aws::aws_sdk_dynamodb::Client,
    pub ses: sapk_aws::aws_sdk_sesv2::Client,
    pub sqs: sapk_aws::aws_sdk_sqs::Client,
    pub s3: sapk_aws::aws_sdk_s3::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            dynamodb: sapk_aws::dynamodb_client(sdk),
            ses: sapk_aws::sesv2_client(sdk),
            sqs: sapk_aws::sqs_client(sdk),
            s3: sapk_aws::s3_client(sdk),
        }
    }
}

/// The service, its e-mails going to SES.
pub fn ses_service(s: &Settings, c: &Clients) -> anyhow::Result<Service> {
    let store = Arc::new(s.store(c.dynamodb.clone()));
    Ok(s.service(store, Arc::new(s.ses(c.ses.clone())))?)
}

/// The service of the API functions: with `SAPK_MAIL_QUEUE_URL` (as deployed) its e-mails
/// go to the mail queue (and with `SAPK_MAIL_NOTICE_QUEUE_URL` the notices to a queue of
/// their own), not to SES.
pub fn api_service(s: &Settings, c: &Clients) -> anyhow::Result<Service> {
    let store = Arc::new(s.store(c.dynamodb.clone()));
    let mailer: Arc<dyn Mailer> = match s.mail_queue(c.sqs.clone()) {
        Some(queue) => Arc::new(queue),
        None => Arc::new(s.ses(c.ses.clone())),
    };
    let service = s.service(store, mailer)?;
    // New passwords are also checked against the range API, where one is configured.
    Ok(match sapk_http::breach_range::from_config(&s.config) {
        Some(range) => service.with_breach_range(range),
        None => service,
    })
}

/// A public function's handler over `routes`. Behind CloudFront (infra/edge.yaml), the
/// viewer's address comes from CloudFront-Viewer-Address on requests with the origin-verify
/// secret (`SAPK_ORIGIN_VERIFY`).
pub fn build_api(s: &Settings, c: &Clients, routes: &'static [Route]) -> anyhow::Result<Api> {
    let mut api = Api::new(Arc::new(api_service(s, c)?), routes);
    if let Some(secret) = &s.keys.origin_verify {
        api = api.with_edge(sapk_http::EdgeTrust::cloudfront(secret.expose_secret()));
    }
    Ok(api)
}

/// The `staff` function's handler: needs the key of NIK and document numbers
/// (`SAPK_PII_KEY_SECRET_ARN` or `SAPK_PII_KEY`) besides what every function needs. An
/// officer's e-mail change takes the new address off SES's suppression list, and
/// `audit --verify` compares each chain with the newest checkpoint in the archive.
pub fn build_staff(s: &Settings, c: &Clients) -> anyhow::Result<StaffApi> {
    if s.keys.pii.is_none() {
        anyhow::bail!("missing required configuration: SAPK_PII_KEY");
    }
    let mut service = api_service(s, c)?.with_suppressions(Arc::new(s.ses(c.ses.clone())));
    if let Some(checkpoints) = s.checkpoints(c.s3.clone()) {
        service = service.with_checkpoints(Arc::new(checkpoints));
    }
    Ok(StaffApi::new(Arc::new(service)))
}

/// Builds everything once, then serves `routes` until the runtime stops. The login
/// function also reads the key of two-step login (`SAPK_FACTOR_KEY_SECRET_ARN` or
/// `SAPK_FACTOR_KEY`); without it, accounts with two-step login on cannot finish a login.
pub async fn run(routes: &'static [Route]) -> anyhow::Result<()> {
    let (settings, sdk) = settings().await?;
    let api = build_api(&settings, &Clients::new(&sdk), routes)?;
    api.service().warm_up().await;
    lambda_http::run(service_fn(move |req: Request| {
        let api = api.clone();
        async move { Ok::<Response<Body>, lambda_http::Error>(answered(api.handle(req).await)) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// A handler answers a failure of its own (a 5xx) as a normal response, so Lambda's
/// `Errors` stay 0 and a gradual deployment cannot see it. Each such answer is logged with
/// the function and the version that gave it (`AWS_LAMBDA_FUNCTION_NAME`,
/// `AWS_LAMBDA_FUNCTION_VERSION`): the stack's metric filters count them per version
/// (`SAPK/Api Answers5xx`), and each deployment's alarms watch the new version's count.
fn answered(resp: Response<Body>) -> Response<Body> {
    static WHO: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    let status = resp.status().as_u16();
    if status >= 500 {
        // Set by the Lambda runtime for the life of the instance; `-` outside it.
        let (function, version) = WHO.get_or_init(|| {
            let var = |n: &str| std::env::var(n).unwrap_or_else(|_| "-".to_owned());
            (
                var("AWS_LAMBDA_FUNCTION_NAME"),
                var("AWS_LAMBDA_FUNCTION_VERSION"),
            )
        });
        tracing::warn!(%function, %version, status, "5xx answer");
    }
    resp
}

/// The `staff` function: the counter routes behind API Gateway's IAM authorizer.
pub async fn run_staff() -> anyhow::Result<()> {
    let (settings, sdk) = settings().await?;
    let api = match build_staff(&settings, &Clients::new(&sdk)) {
        Ok(api) => api,
        Err(e) => {
            tracing::error!(error = %e, "refusing to start");
            anyhow::bail!("refusing to start: {e}")
        }
    };
    lambda_http::run(service_fn(move |req: Request| {
        let api = api.clone();
        async move { Ok::<Response<Body>, lambda_http::Error>(answered(api.handle(req).await)) }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

use sapk_core::mail::deliver::{MailTally, Pace};

/// The `mailer` function's work on one SQS batch: each message is an e-mail the API queued,
/// delivered by the core's drain loop ([`Service::deliver_queued`]: sent through `via` (SES)
/// at `pace`, or dropped when its code expired or was replaced). A message that fails (SES
/// down or throttling, the store unreadable) is reported back as a batch item failure: SQS
/// makes it visible again after the visibility timeout and, after its receives run out, moves
/// it to the dead-letter queue. An unreadable message is reported too, so it ends in the
/// dead-letter queue for an operator to look at.
pub async fn deliver_batch(
    service: &Service,
    via: &dyn Mailer,
    pace: &Pace,
    event: aws_lambda_events::event::sqs::SqsEvent,
) -> (aws_lambda_events::event::sqs::SqsBatchResponse, MailTally) {
    use sapk_core::mail::deliver::Fate;
    let messages = event
        .records
        .into_iter()
        .map(|r| (r.message_id.unwrap_or_default(), r.body))
        .collect();
    let (fates, tally) = service.mail().deliver_queued(via, pace, messages).await;
    let mut response = aws_lambda_events::event::sqs::SqsBatchResponse::default();
    for (id, fate) in fates {
        match fate {
            Fate::Delivered(_) => {}
            Fate::Failed(e) => {
                tracing::warn!(message_id = %id, error = %e, "e-mail not sent; SQS will retry");
                response.add_failure(id);
            }
            Fate::Unreadable(e) => {
                tracing::error!(message_id = %id, error = %e, "queued e-mail unreadable");
                response.add_failure(id);
            }
        }
    }
    tally.log();
    (response, tally)
}

/// The `mailer` function: consumes the mail queue and sends through SES
/// (`SAPK_MAIL_FROM`, `SAPK_SES_CONFIGURATION_SET`) at `SAPK_MAIL_RATE_PER_SEC` per
/// instance (default 1: SES's sandbox quota; the template sets quota ÷ maximum concurrency).
pub async fn run_mailer() -> anyhow::Result<()> {
    let (settings, sdk) = settings().await?;
    let service = Arc::new(ses_service(&settings, &Clients::new(&sdk))?);
    let pace = Arc::new(Pace::new(settings.mail_rate_per_sec));
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
            Ok(events) => recorded += service.mail().record_mail_events(&events).await?,
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
    let (settings, sdk) = settings().await?;
    let service = Arc::new(ses_service(&settings, &Clients::new(&sdk))?);
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

/// The identity an audit checkpoint is recorded under.
pub fn checkpoint_operator() -> sapk_core::staff::Operator {
    sapk_core::staff::Operator {
        id: "system:audit-checkpoint".into(),
        office: "AWS".into(),
        officer_id: None,
        scope: None,
        office_name: None,
    }
}

/// The `audit-checkpoint` function: on a schedule, a keyed checkpoint of every audit chain's
/// head into the archive bucket (`SAPK_AUDIT_ARCHIVE_BUCKET`, Object Lock). It holds the
/// audit key; no person does.
pub async fn run_audit_checkpoint() -> anyhow::Result<()> {
    let (settings, sdk) = settings().await?;
    let Some(checkpoints) = settings.checkpoints(sapk_aws::s3_client(&sdk)) else {
        tracing::error!("refusing to start: SAPK_AUDIT_ARCHIVE_BUCKET is missing");
        anyhow::bail!(
            "refusing to start: missing required configuration: SAPK_AUDIT_ARCHIVE_BUCKET"
        );
    };
    let service = Arc::new(
        api_service(&settings, &Clients::new(&sdk))?.with_checkpoints(Arc::new(checkpoints)),
    );
    lambda_runtime::run(lambda_runtime::service_fn(
        move |_event: lambda_runtime::LambdaEvent<serde_json::Value>| {
            let service = service.clone();
            async move {
                let cp = service
                    .staff()
                    .write_audit_checkpoint(&checkpoint_operator())
                    .await
                    .map_err(|e| lambda_runtime::Error::from(e.to_string()))?;
                tracing::info!(chains = cp.heads.len(), "audit checkpoint written");
                Ok::<serde_json::Value, lambda_runtime::Error>(
                    serde_json::json!({ "at": cp.at, "chains": cp.heads.len() }),
                )
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

/// The `audit-archive` function: the audit table's stream into the Object Lock bucket
/// `SAPK_AUDIT_ARCHIVE_BUCKET`.
pub async fn run_audit_archive() -> anyhow::Result<()> {
    init_logging();
    let bucket = match sapk_aws::settings::audit_archive_bucket(&|k| std::env::var(k).ok()) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "refusing to start");
            anyhow::bail!("refusing to start: {e}");
        }
    };
    let sdk = sapk_aws::sdk_config().await;
    let archive = Arc::new(sapk_aws::archive::AuditArchive::new(
        sapk_aws::s3_client(&sdk),
        bucket,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// Log lines written to memory, as the Lambda runtime's JSON format writes them.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The line the stack's metric filter counts (`{ $.fields.message = "5xx answer" }`,
    /// dimensions `$.fields.function` and `$.fields.version`) is written for a 5xx answer
    /// and for nothing else.
    #[test]
    fn a_5xx_answer_is_logged_with_its_function_and_version() {
        let lines = Lines::default();
        let writer = lines.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_current_span(false)
            .without_time()
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for status in [200, 401, 429, 503, 500] {
                let resp = Response::builder()
                    .status(status)
                    .body(Body::Empty)
                    .unwrap();
                assert_eq!(answered(resp).status().as_u16(), status);
            }
        });
        let text = String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let logged: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(logged.len(), 2, "{text}");
        for (line, status) in logged.iter().zip([503, 500]) {
            assert_eq!(line["fields"]["message"], "5xx answer");
            assert_eq!(line["fields"]["status"], status);
            assert!(line["fields"]["function"].is_string());
            assert!(line["fields"]["version"].is_string());
        }
    }
}
