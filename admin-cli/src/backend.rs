//! Where the counter commands act: directly on a store this machine holds (the embedded
//! SQLite store, operator = the flags or the OS user), or through the staff API (`--api`),
//! where the signed-in IAM identity is the operator and the server decides. Both run the
//! same core use cases; this module only carries requests and answers.

use crate::api::StaffClient;
use crate::context::{lang, operator_or_os_user, operator_required, service};

use crate::Global;
use sapk_core::audit_chain::{ChainReport, SYSTEM_CHAIN};
use sapk_core::ports::{AuditEvent, PendingException};
use sapk_core::staff::factor_removal::{FactorRemoval, FactorRemovalRequest};
use sapk_core::staff::{
    ChangeError, EmailChangeOutcome, EmailChangeRequest, EmployeeOverview, Operator, StaffError,
};
use sapk_core::{Lang, Nip, Service};
use sapk_http::staff::routes;
use serde_json::{json, Value};
use std::process::ExitCode;

/// A refused action: a stable reason code and what the officer reads.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub reason: String,
    pub text: String,
}

#[derive(Debug)]
pub enum CounterError {
    /// Refused by a rule (exit 1, with the reason).
    Refused(Refusal),
    /// Could not be carried out (no credentials, network, store).
    Failed(anyhow::Error),
}

impl CounterError {
    fn staff(e: &StaffError, l: Lang) -> CounterError {
        CounterError::Refused(Refusal {
            reason: e.reason().into(),
            text: e.text(l),
        })
    }

    fn change(e: &ChangeError, l: Lang) -> CounterError {
        match e {
            ChangeError::Check(f) => CounterError::Refused(Refusal {
                reason: f.reason().into(),
                text: f.text(l),
            }),
            ChangeError::Staff(s) => CounterError::staff(s, l),
        }
    }
}

pub enum Counter {
    Direct { svc: Box<Service>, op: Operator },
    Api(Box<StaffClient>),
}

/// Why a counter could not be opened: a usage error (exit 2) or a failure.
pub enum OpenError {
    Usage(String),
    Failed(anyhow::Error),
}

impl OpenError {
    /// The exit of a command that could not start: 2 for usage, an error (1) otherwise.
    pub fn exit(self) -> anyhow::Result<std::process::ExitCode> {
        match self {
            OpenError::Usage(m) => crate::output::usage(&m),
            OpenError::Failed(e) => Err(e),
        }
    }
}

impl Counter {
    /// Opens the counter for `g`. Direct actions that change an account need an explicit
    /// operator and office (`mutating`); read-only ones fall back to the OS user.
    pub async fn open(g: &Global, mutating: bool) -> Result<Counter, OpenError> {
        if let Some(url) = &g.api {
            if g.operator.is_some() || g.office.is_some() {
                eprintln!(
                    "{}",
                    lang(g).pick(
                        "catatan: dengan --api, petugas dan kantor diambil dari identitas yang masuk (IAM) dan registri petugas; --operator/--office diabaikan",
                        "note: with --api the operator and office come from the signed-in identity (IAM) and the staff registry; --operator/--office are ignored",
                    )
                );
            }
            return StaffClient::new(url, g.profile.as_deref(), lang(g))
                .await
                .map(|c| Counter::Api(Box::new(c)))
                .map_err(OpenError::Failed);
        }
        let op = operator(g, mutating).await?;
        let svc = service(g).await.map_err(OpenError::Failed)?;
        Ok(Counter::Direct {
            svc: Box::new(svc),
            op,
        })
    }

    pub fn is_api(&self) -> bool {
        matches!(self, Counter::Api(_))
    }

    /// The employee; with `new_email`, also who else has that address.
    pub async fn overview(
        &self,
        nip: &str,
        audit_limit: usize,
        new_email: Option<&str>,
        l: Lang,
    ) -> Result<EmployeeOverview, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .employee_overview_for(nip, op, audit_limit, new_email)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => {
                let mut query = format!("?limit={audit_limit}");
                if let Some(e) = new_email {
                    query.push_str("&new_email=");
                    query.push_str(&StaffClient::encode(e));
                }
                decode(c.route(&routes::EMPLOYEE, nip, &query, None).await?)
            }
        }
    }

    pub async fn change_email(
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
        l: Lang,
    ) -> Result<EmailChangeOutcome, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .change_email(nip, req, op, l)
                .await
                .map_err(|e| CounterError::change(&e, l)),
            Counter::Api(c) => {
                let body = serde_json::to_vec(req).map_err(|e| CounterError::Failed(e.into()))?;
                let answer = c
                    .route(&routes::EMAIL_CHANGE, nip.as_str(), "", Some(body))
                    .await?;
                decode(answer["outcome"].clone())
            }
        }
    }

    /// Officer one: records an e-mail change whose NIK disagrees with the NIP, for a second
    /// officer to approve.
    pub async fn request_exception(
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
        l: Lang,
    ) -> Result<PendingException, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .request_email_exception(nip, req, op)
                .await
                .map_err(|e| CounterError::change(&e, l)),
            Counter::Api(c) => {
                let body = serde_json::to_vec(req).map_err(|e| CounterError::Failed(e.into()))?;
                decode(
                    c.route(&routes::EMAIL_EXCEPTION, nip.as_str(), "", Some(body))
                        .await?["pending"]
                        .clone(),
                )
            }
        }
    }

    /// The exception request waiting for `nip`, if any.
    pub async fn pending_exception(
        &self,
        nip: &Nip,
        l: Lang,
    ) -> Result<Option<PendingException>, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .view_email_exception(nip, op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => decode(
                c.route(&routes::EMAIL_EXCEPTION_VIEW, nip.as_str(), "", None)
                    .await?["pending"]
                    .clone(),
            ),
        }
    }

    /// Officer two: approves the waiting request (the e-mail changes).
    pub async fn approve_exception(
        &self,
        nip: &Nip,
        l: Lang,
    ) -> Result<EmailChangeOutcome, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .approve_email_exception(nip, op, l)
                .await
                .map_err(|e| CounterError::change(&e, l)),
            Counter::Api(c) => decode(
                c.route(&routes::EMAIL_EXCEPTION_APPROVE, nip.as_str(), "", None)
                    .await?["outcome"]
                    .clone(),
            ),
        }
    }

    /// Officer two turns the waiting request down.
    pub async fn reject_exception(
        &self,
        nip: &Nip,
        why: Option<&str>,
        l: Lang,
    ) -> Result<(), CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .reject_email_exception(nip, op, why)
                .await
                .map_err(|e| CounterError::change(&e, l)),
            Counter::Api(c) => {
                let body = serde_json::to_vec(&json!({ "why": why }))
                    .map_err(|e| CounterError::Failed(e.into()))?;
                c.route(
                    &routes::EMAIL_EXCEPTION_REJECT,
                    nip.as_str(),
                    "",
                    Some(body),
                )
                .await
                .map(|_| ())
            }
        }
    }

    /// Clears the lock-out; whether the account was locked.
    /// Removes a lost authenticator after the in-person identity check.
    pub async fn remove_second_factor(
        &self,
        nip: &Nip,
        req: &FactorRemovalRequest,
        l: Lang,
    ) -> Result<FactorRemoval, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .remove_second_factor(nip, req, op, l)
                .await
                .map_err(|e| CounterError::change(&e, l)),
            Counter::Api(c) => {
                let body = serde_json::to_vec(req).map_err(|e| CounterError::Failed(e.into()))?;
                let answer = c
                    .route(&routes::FACTOR_REMOVE, nip.as_str(), "", Some(body))
                    .await?;
                decode(answer["outcome"].clone())
            }
        }
    }

    pub async fn unlock(&self, nip: &str, l: Lang) -> Result<bool, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .unlock_account(nip, op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => {
                let answer = c.route(&routes::UNLOCK, nip, "", None).await?;
                Ok(answer["was_locked"].as_bool().unwrap_or(false))
            }
        }
    }

    pub async fn revoke(&self, nip: &str, l: Lang) -> Result<(), CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .revoke_sessions(nip, op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => c
                .route(&routes::SESSIONS_REVOKE, nip, "", None)
                .await
                .map(|_| ()),
        }
    }

    pub async fn audit(
        &self,
        nip: &str,
        limit: usize,
        l: Lang,
    ) -> Result<Vec<AuditEvent>, CounterError> {
        match self {
            Counter::Direct { svc, op } => svc
                .audit_trail(nip, limit, op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => {
                let query = format!("?limit={limit}");
                decode(c.route(&routes::AUDIT, nip, &query, None).await?)
            }
        }
    }

    /// Checks the keyed hash chain of an employee's audit trail; `-` for the records
    /// without a NIP (on a store this machine holds only).
    pub async fn verify_audit(&self, nip: &str, l: Lang) -> Result<ChainReport, CounterError> {
        match self {
            // A writer's own key (a supervisor's, a data administrator's) checks only its own
            // records: the service's are checked by the staff function, through the API.
            Counter::Direct { svc, .. } if svc.audit_sealer().is_some() => {
                Err(CounterError::Refused(Refusal {
                    reason: "use_api".into(),
                    text: l
                        .pick(
                            "kunci audit Anda hanya menyegel catatan peran Anda; periksa rantai melalui API (--api URL)",
                            "your audit key seals only your role's records; check chains through the API (--api URL)",
                        )
                        .into(),
                }))
            }
            Counter::Direct { svc, op } if nip.trim() == SYSTEM_CHAIN => svc
                .verify_system_audit(op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Direct { svc, op } => svc
                .verify_audit_trail(nip, op)
                .await
                .map_err(|e| CounterError::staff(&e, l)),
            Counter::Api(c) => {
                decode(c.route(&routes::AUDIT_VERIFY, nip, "", None).await?)
            }
        }
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, CounterError> {
    serde_json::from_value(v).map_err(|e| {
        CounterError::Failed(anyhow::anyhow!("unexpected answer from the staff API: {e}"))
    })
}

/// Who acts directly on a store. On DynamoDB it is the AWS identity the credentials belong
/// to (`sts:GetCallerIdentity`), never a flag, and a mutating action needs `--office`; on
/// the embedded store, `--operator`/`--office` (required for a mutating action) or the OS
/// user.
pub async fn operator(g: &Global, mutating: bool) -> Result<Operator, OpenError> {
    let l = lang(g);
    if g.store == crate::StoreKind::Dynamodb {
        let sdk = sapk_aws::tool_sdk_config().await;
        let arn = sapk_aws::caller_arn(&sdk).await.map_err(|e| {
            OpenError::Failed(anyhow::anyhow!(
                "{}: {e}",
                l.pick(
                    "identitas AWS Anda tidak dapat dibaca (sts:GetCallerIdentity); masuk dulu, misalnya `aws sso login`",
                    "cannot tell your AWS identity (sts:GetCallerIdentity); sign in first, e.g. `aws sso login`",
                )
            ))
        })?;
        let office = g.office.as_deref().map(str::trim).filter(|o| !o.is_empty());
        let office = match (office, mutating) {
            (Some(o), _) => o.to_owned(),
            (None, false) => "UNSPECIFIED".to_owned(),
            (None, true) => {
                return Err(OpenError::Usage(
                    l.pick(
                        "tindakan ini wajib menyebut kantor: --office KODE (atau SAPK_OFFICE); petugasnya adalah identitas AWS Anda",
                        "this action needs your office: --office CODE (or SAPK_OFFICE); the operator is your AWS identity",
                    )
                    .to_owned(),
                ))
            }
        };
        return Ok(Operator {
            id: arn,
            office,
            officer_id: None,
            scope: None,
        });
    }
    if mutating {
        operator_required(g).map_err(OpenError::Usage)
    } else {
        Ok(operator_or_os_user(g))
    }
}

/// The JSON of a refusal: `{"ok": false, "reason", "error"}`.
pub fn refusal_json(r: &Refusal) -> Value {
    json!({ "ok": false, "reason": r.reason, "error": r.text })
}

/// Opens the counter, or the exit code of why not.
pub async fn open(g: &Global, mutating: bool) -> Result<Counter, anyhow::Result<ExitCode>> {
    Counter::open(g, mutating).await.map_err(OpenError::exit)
}
