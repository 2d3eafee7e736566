//! The pre-traffic hook's probes: for each kind of function, a harmless request that goes
//! through the new version's start (settings, keys, clients) and one real read of its
//! store, and what a healthy version answers to it. CodeDeploy runs the hook before it moves
//! any traffic; a version that fails its probe is rolled back before anyone meets it.
//!
//! Harmless: no account, code, session or lock-out is touched and no e-mail is sent. One
//! thing is written: the staff function audits every unregistered caller it refuses, the
//! probe too (one `staff_request` refusal per staff deployment, under [`PROBE_CALLER`], on the
//! chain of [`PROBE_NIP`], which no account has), so the trail shows each probe.

use serde_json::{json, Value};

/// A NIP of the right form that no account has (its probes find nothing).
pub const PROBE_NIP: &str = "197512312000121009";
/// An address no mailbox has (`.invalid` is reserved, RFC 2606).
pub const PROBE_EMAIL: &str = "deploy-probe@sapk.invalid";
/// A documentation address (RFC 5737) as the probe's viewer.
const PROBE_VIEWER: &str = "192.0.2.1";

/// The kinds of function the stack deploys gradually.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Forgot,
    Reset,
    Login,
    Staff,
    Mailer,
    MailStatus,
    AuditArchive,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Forgot,
        Kind::Reset,
        Kind::Login,
        Kind::Staff,
        Kind::Mailer,
        Kind::MailStatus,
        Kind::AuditArchive,
    ];

    /// The name in `SAPK_PROBE_TARGETS` (the binary's).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Forgot => "forgot",
            Kind::Reset => "reset",
            Kind::Login => "login",
            Kind::Staff => "staff",
            Kind::Mailer => "mailer",
            Kind::MailStatus => "mail-status",
            Kind::AuditArchive => "audit-archive",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// `SAPK_PROBE_TARGETS`: `function-name=kind,…`, the functions the hook may be asked about.
pub fn targets(spec: &str) -> Result<Vec<(String, Kind)>, String> {
    spec.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (name, kind) = pair
                .split_once('=')
                .ok_or_else(|| format!("SAPK_PROBE_TARGETS: `{pair}` is not name=kind"))?;
            let kind = Kind::parse(kind)
                .ok_or_else(|| format!("SAPK_PROBE_TARGETS: unknown kind `{kind}`"))?;
            Ok((name.trim().to_owned(), kind))
        })
        .collect()
}

fn api(method: &str, path: &str, origin: Option<&str>) -> sapk_http::ApiGatewayV2 {
    let mut e = sapk_http::ApiGatewayV2::new(method, path)
        .source_ip(PROBE_VIEWER)
        .header("user-agent", "sapk-pre-traffic")
        .request_id("pre-traffic");
    if let Some(secret) = origin {
        e = e.header(sapk_http::ORIGIN_VERIFY_HEADER, secret).header(
            sapk_http::VIEWER_ADDRESS_HEADER,
            &format!("{PROBE_VIEWER}:443"),
        );
    }
    e
}

/// The probe of `kind`: `origin` is the edge's secret header value (custom domain on), the
/// public functions refusing requests without it; `caller` is the hook's own role, which the
/// staff function does not know (it reads the staff table and refuses).
pub fn event(kind: Kind, origin: Option<&str>, caller: &str) -> Value {
    match kind {
        // Checks the NIP's form; no account is read.
        Kind::Forgot => api("POST", "/v1/nip/check", origin)
            .json(&json!({ "nip": PROBE_NIP }))
            .to_json(),
        Kind::Reset => api("GET", "/v1/password/policy", origin).to_json(),
        // A token no session has: one read of the session table, then 401.
        Kind::Login => api("GET", "/v1/session", origin)
            .bearer("pre-traffic-probe-token-that-no-session-has")
            .to_json(),
        // An unregistered caller: one read of the staff table, the refusal audited, 403.
        Kind::Staff => {
            sapk_http::ApiGatewayV2::new("GET", &format!("/v1/staff/employees/{PROBE_NIP}"))
                .source_ip(PROBE_VIEWER)
                .iam_caller(caller)
                .request_id("pre-traffic")
                .to_json()
        }
        Kind::Mailer => sqs_probe(),
        Kind::MailStatus => sns_probe(),
        // An empty batch: nothing to archive, nothing written.
        Kind::AuditArchive => json!({ "Records": [] }),
    }
}

/// A queued reset-code e-mail whose code the NIP does not have: the mailer reads the code
/// record, finds it is not current, and drops the message without sending.
fn sqs_probe() -> Value {
    use sapk_core::ports::{CodeGuard, EmailKind, OutgoingEmail};
    let mail = sapk_core::Email::parse(PROBE_EMAIL)
        .ok()
        .zip(sapk_core::Nip::parse(PROBE_NIP, chrono::Utc::now().date_naive()).ok())
        .map(|(to, nip)| OutgoingEmail {
            kind: EmailKind::ResetCode,
            to,
            subject: "pre-traffic probe".into(),
            text: "pre-traffic probe".into(),
            html: "<p>pre-traffic probe</p>".into(),
            lang: sapk_core::Lang::Id,
            guard: Some(CodeGuard {
                nip,
                code_hash: "0".repeat(64),
                expires_at: chrono::Utc::now() + chrono::Duration::minutes(15),
            }),
        });
    // Both constants parse (a unit test holds them to it); an empty body would fail the probe.
    let body = mail
        .and_then(|m| serde_json::to_string(&m).ok())
        .unwrap_or_default();
    json!({ "Records": [{
        "messageId": "pre-traffic-probe",
        "receiptHandle": "pre-traffic-probe",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "0",
            "SenderId": "pre-traffic",
            "ApproximateFirstReceiveTimestamp": "0"
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-southeast-3:000000000000:pre-traffic",
        "awsRegion": "ap-southeast-3"
    }]})
}

/// SES's delivery notice for an address no account has: the function looks the address up,
/// finds no account, and records nothing.
fn sns_probe() -> Value {
    let message = json!({
        "eventType": "Delivery",
        "delivery": {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "processingTimeMillis": 1,
            "recipients": [PROBE_EMAIL],
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "pre-traffic"
        },
        "mail": {
            "timestamp": "2026-01-01T00:00:00.000Z",
            "source": PROBE_EMAIL,
            "messageId": "pre-traffic-probe",
            "destination": [PROBE_EMAIL],
            "headersTruncated": false
        }
    });
    json!({ "Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:ap-southeast-3:000000000000:pre-traffic:probe",
        "Sns": {
            "Type": "Notification",
            "MessageId": "pre-traffic-probe",
            "TopicArn": "arn:aws:sns:ap-southeast-3:000000000000:pre-traffic",
            "Subject": null,
            "Message": message.to_string(),
            "Timestamp": "2026-01-01T00:00:00.000Z",
            "SignatureVersion": "1",
            "Signature": "pre-traffic",
            "SigningCertUrl": "https://sns.ap-southeast-3.amazonaws.com/pre-traffic.pem",
            "UnsubscribeUrl": "https://sns.ap-southeast-3.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {}
        }
    }]})
}

/// Whether the new version answered its probe as a healthy one does: no Lambda function
/// error (a failed start, a panic, a handler error), and the expected answer.
pub fn judge(kind: Kind, function_error: Option<&str>, payload: &Value) -> Result<(), String> {
    if let Some(e) = function_error {
        return Err(format!("function error {e}: {payload}"));
    }
    let status = || payload["statusCode"].as_u64().unwrap_or(0);
    let expect = |want: u64| {
        let got = status();
        if got == want {
            Ok(())
        } else {
            Err(format!("answered {got}, not {want}: {}", payload["body"]))
        }
    };
    match kind {
        Kind::Forgot | Kind::Reset => expect(200),
        Kind::Login => expect(401),
        Kind::Staff => expect(403),
        Kind::Mailer => match payload["batchItemFailures"].as_array() {
            Some(f) if f.is_empty() => Ok(()),
            _ => Err(format!("the probe message failed: {payload}")),
        },
        Kind::MailStatus | Kind::AuditArchive => Ok(()),
    }
}

/// The identity the staff probe claims (no officer has it).
pub const PROBE_CALLER: &str = "arn:aws:sts::000000000000:assumed-role/sapk-pre-traffic/probe";

/// The kind of the function a deployment targets, by its name (or its ARN).
fn kind_of(targets: &[(String, Kind)], function: &str) -> Option<Kind> {
    let name = function.rsplit(':').next().unwrap_or(function);
    targets
        .iter()
        .find(|(n, _)| n == function || n == name)
        .map(|(_, k)| *k)
}

/// One hook run: the deployment's new version, its probe, the verdict.
async fn probe_deployment(
    hook: &Hook,
    deployment_id: &str,
) -> Result<(String, Kind), (String, String)> {
    use sapk_aws::deploy_hook;
    let target = deploy_hook::target(&hook.codedeploy, deployment_id)
        .await
        .map_err(|e| (String::from("-"), e.to_string()))?;
    let label = format!("{}:{}", target.function, target.version);
    let kind = kind_of(&hook.targets, &target.function)
        .ok_or_else(|| (label.clone(), "not a function this hook probes".to_owned()))?;
    let probe = event(kind, hook.origin.as_deref(), PROBE_CALLER);
    let invoked = deploy_hook::invoke(&hook.lambda, &target, &probe)
        .await
        .map_err(|e| (label.clone(), e.to_string()))?;
    judge(kind, invoked.function_error.as_deref(), &invoked.payload)
        .map(|()| (label.clone(), kind))
        .map_err(|e| (label, e))
}

struct Hook {
    codedeploy: sapk_aws::aws_sdk_codedeploy::Client,
    lambda: sapk_aws::aws_sdk_lambda::Client,
    targets: Vec<(String, Kind)>,
    origin: Option<String>,
}

async fn handle(hook: &Hook, event: &Value) -> Result<Value, String> {
    let field = |k: &str| {
        event[k]
            .as_str()
            .map(str::to_owned)
            .ok_or(format!("no {k} in the event"))
    };
    let (deployment, execution) = (
        field("DeploymentId")?,
        field("LifecycleEventHookExecutionId")?,
    );
    let verdict = probe_deployment(hook, &deployment).await;
    match &verdict {
        Ok((version, kind)) => {
            tracing::info!(%deployment, %version, kind = kind.as_str(), "pre-traffic probe passed")
        }
        Err((version, why)) => {
            tracing::error!(%deployment, %version, error = %why, "pre-traffic probe failed: the deployment rolls back")
        }
    }
    sapk_aws::deploy_hook::report(&hook.codedeploy, &deployment, &execution, verdict.is_ok())
        .await
        .map_err(|e| e.to_string())?;
    Ok(json!({ "succeeded": verdict.is_ok() }))
}

/// The `pre-traffic` function: CodeDeploy's BeforeAllowTraffic hook of every gradually
/// deployed function (`SAPK_PROBE_TARGETS`: `name=kind,…`; `SAPK_ORIGIN_VERIFY_SECRET_ARN`
/// with a custom domain, so that the public probes pass the edge check as real requests do).
pub async fn run() -> anyhow::Result<()> {
    crate::init_logging();
    let sdk = sapk_aws::sdk_config().await;
    let targets = targets(&std::env::var("SAPK_PROBE_TARGETS").unwrap_or_default())
        .and_then(|t| {
            if t.is_empty() {
                Err("SAPK_PROBE_TARGETS names no function".into())
            } else {
                Ok(t)
            }
        })
        .map_err(|e| {
            tracing::error!(error = %e, "refusing to start");
            anyhow::anyhow!("refusing to start: {e}")
        })?;
    let origin = sapk_aws::key_text(&sdk, "SAPK_ORIGIN_VERIFY")
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "refusing to start");
            anyhow::anyhow!("refusing to start: {e}")
        })?;
    let (codedeploy, lambda) = sapk_aws::deploy_hook::clients(&sdk);
    let hook = std::sync::Arc::new(Hook {
        codedeploy,
        lambda,
        targets,
        origin,
    });
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<Value>| {
            let hook = hook.clone();
            async move {
                handle(&hook, &event.payload)
                    .await
                    .map_err(lambda_runtime::Error::from)
            }
        },
    ))
    .await
    .map_err(|e| anyhow::anyhow!("lambda runtime: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_a_kind_each() {
        let t = targets("sapk-Forgot-1=forgot, sapk-Mailer-2=mailer").unwrap();
        assert_eq!(
            t,
            vec![
                ("sapk-Forgot-1".to_owned(), Kind::Forgot),
                ("sapk-Mailer-2".to_owned(), Kind::Mailer)
            ]
        );
        assert!(targets("x=unknown").is_err());
        assert!(targets("no-kind").is_err());
    }

    #[test]
    fn a_5xx_or_a_function_error_fails_the_probe() {
        let ok = json!({ "statusCode": 200, "body": "{}" });
        assert!(judge(Kind::Reset, None, &ok).is_ok());
        assert!(judge(Kind::Reset, Some("Unhandled"), &ok).is_err());
        let down = json!({ "statusCode": 503, "body": "{}" });
        for kind in [Kind::Forgot, Kind::Reset, Kind::Login, Kind::Staff] {
            assert!(judge(kind, None, &down).is_err(), "{kind:?}");
        }
        let failed = json!({ "batchItemFailures": [{ "itemIdentifier": "pre-traffic-probe" }] });
        assert!(judge(Kind::Mailer, None, &failed).is_err());
        assert!(judge(Kind::Mailer, None, &json!({ "batchItemFailures": [] })).is_ok());
    }

    #[test]
    fn the_probe_mail_is_a_queued_email_the_mailer_reads() {
        let e = event(Kind::Mailer, None, "x");
        let body = e["Records"][0]["body"].as_str().unwrap();
        let mail: sapk_core::ports::OutgoingEmail = serde_json::from_str(body).unwrap();
        assert_eq!(mail.to.as_str(), PROBE_EMAIL);
        assert!(mail.guard.is_some());
    }
}
