//! Where the counter commands act, through one path: every command is a request to a staff
//! route from the staff API's own table. With `--api` the request goes signed to the deployed
//! API, where the signed-in IAM identity is the operator and the server decides; without it,
//! the same staff handler answers in this process, for the operator established here (the
//! flags or the OS user on the embedded store, the AWS identity on DynamoDB). Either way the
//! same routes, checks and audit records run; this module only carries requests and answers.

use crate::api::StaffClient;
use crate::context::{operator, service, Ctx};
use crate::error::{CounterError, Refusal};
use sapk_core::audit_chain::ChainReport;
use sapk_core::ports::{AuditEvent, PendingException};
use sapk_core::staff::email_exception::WaitingList;
use sapk_core::staff::factor_removal::{FactorRemoval, FactorRemovalRequest};
use sapk_core::staff::passkey_removal::{PasskeyRemoval, PasskeyRemovalRequest};
use sapk_core::staff::{EmailChangeOutcome, EmailChangeRequest, EmployeeOverview, Operator};
use sapk_core::{Lang, Nip};
use sapk_http::staff::{routes, StaffRoute};
use sapk_http::{ApiGatewayV2, StaffApi};
use serde_json::{json, Value};
use std::sync::Arc;

/// How a request reaches the staff handler.
enum Transport {
    /// The handler in this process, on a store this machine reaches directly.
    Local { api: StaffApi, op: Operator },
    /// The deployed staff API, signed with the officer's AWS identity.
    Api(Box<StaffClient>),
}

pub struct Counter {
    transport: Transport,
    lang: Lang,
}

impl Counter {
    /// Opens the counter for `g`. Direct actions that change an account need an explicit
    /// operator and office (`mutating`); read-only ones fall back to the OS user.
    pub async fn open(g: &Ctx, mutating: bool) -> Result<Counter, CounterError> {
        let lang = g.lang;
        if let Some(url) = &g.api {
            if g.operator.is_some() || g.office.is_some() {
                eprintln!(
                    "{}",
                    lang.pick(
                        "catatan: dengan --api, petugas dan kantor diambil dari identitas yang masuk (IAM) dan registri petugas; --operator/--office diabaikan",
                        "note: with --api the operator and office come from the signed-in identity (IAM) and the staff registry; --operator/--office are ignored",
                    )
                );
            }
            let client = StaffClient::new(url, g.profile.as_deref(), lang).await?;
            return Ok(Counter {
                transport: Transport::Api(Box::new(client)),
                lang,
            });
        }
        let op = operator(g, mutating).await?;
        let api = StaffApi::new(Arc::new(service(g).await?));
        Ok(Counter {
            transport: Transport::Local { api, op },
            lang,
        })
    }

    pub fn is_api(&self) -> bool {
        matches!(self.transport, Transport::Api(_))
    }

    /// One request to a staff route for a NIP as typed (`query` empty or starting with
    /// `?`): the answer's JSON, or why not.
    async fn call(
        &self,
        route: StaffRoute,
        nip: &str,
        query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Value, CounterError> {
        self.request(route.method.as_str(), &route.path(nip), query, body)
            .await
    }

    /// One request to a staff path (`query` empty or starting with `?`).
    async fn request(
        &self,
        method: &str,
        path: &str,
        query: &str,
        body: Option<Vec<u8>>,
    ) -> Result<Value, CounterError> {
        let (status, json) = match &self.transport {
            Transport::Api(c) => c.call(method, &format!("{path}{query}"), body).await?,
            Transport::Local { api, op } => {
                let mut event = ApiGatewayV2::new(method, path)
                    .query(query.trim_start_matches('?'))
                    .header("accept-language", self.lang.pick("id", "en"))
                    .source_ip("127.0.0.1")
                    .api("local", "local", "localhost")
                    .request_id("sapk-admin")
                    .at(chrono::Utc::now());
                if let Some(b) = body {
                    event = event.header("content-type", "application/json").body(b);
                }
                let req = event
                    .request()
                    .map_err(|e| CounterError::Failed(anyhow::anyhow!("{e}")))?;
                let resp = api.handle_local(req, op.clone()).await;
                let json = serde_json::from_slice(resp.body().as_ref()).unwrap_or(Value::Null);
                (resp.status().as_u16(), json)
            }
        };
        if (200..300).contains(&status) {
            return Ok(json);
        }
        Err(CounterError::Refused(refusal_of(status, &json, self.lang)))
    }

    /// [`call`](Self::call) with `req` as the JSON body.
    async fn send<T: serde::Serialize>(
        &self,
        route: StaffRoute,
        nip: &Nip,
        req: &T,
    ) -> Result<Value, CounterError> {
        let body = serde_json::to_vec(req).map_err(|e| CounterError::Failed(e.into()))?;
        self.call(route, nip.as_str(), "", Some(body)).await
    }

    /// The employee; with `new_email`, also who else has that address.
    pub async fn overview(
        &self,
        nip: &str,
        audit_limit: usize,
        new_email: Option<&str>,
    ) -> Result<EmployeeOverview, CounterError> {
        let mut query = format!("?limit={audit_limit}");
        if let Some(e) = new_email {
            query.push_str("&new_email=");
            query.push_str(&routes::encode(e));
        }
        decode(self.call(&routes::EMPLOYEE, nip, &query, None).await?)
    }

    /// The e-mail exceptions waiting for a second officer in this officer's scope, oldest
    /// first, and how many more there are; recorded.
    pub async fn waiting_exceptions(&self) -> Result<WaitingList, CounterError> {
        decode(self.request("GET", routes::WAITING_PATH, "", None).await?)
    }

    /// The subject access export's text, in the counter's language; recorded.
    pub async fn export(&self, nip: &str) -> Result<String, CounterError> {
        decode(
            self.call(&routes::EXPORT, nip, "", Some(b"{}".to_vec()))
                .await?["text"]
                .take(),
        )
    }

    pub async fn change_email(
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
    ) -> Result<EmailChangeOutcome, CounterError> {
        decode(self.send(&routes::EMAIL_CHANGE, nip, req).await?["outcome"].take())
    }

    /// Officer one: records an e-mail change whose NIK disagrees with the NIP, for a second
    /// officer to approve.
    pub async fn request_exception(
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
    ) -> Result<PendingException, CounterError> {
        decode(self.send(&routes::EMAIL_EXCEPTION, nip, req).await?["pending"].take())
    }

    /// The exception request waiting for `nip`, if any.
    /// The request waiting for `nip`, and whether this officer asked for it.
    pub async fn pending_exception(
        &self,
        nip: &Nip,
    ) -> Result<(Option<PendingException>, bool), CounterError> {
        let mut answer = self
            .call(&routes::EMAIL_EXCEPTION_VIEW, nip.as_str(), "", None)
            .await?;
        let yours = answer["yours"].as_bool().unwrap_or(false);
        Ok((decode(answer["pending"].take())?, yours))
    }

    /// Officer two: approves the waiting request (the e-mail changes).
    pub async fn approve_exception(&self, nip: &Nip) -> Result<EmailChangeOutcome, CounterError> {
        let mut answer = self
            .call(&routes::EMAIL_EXCEPTION_APPROVE, nip.as_str(), "", None)
            .await?;
        decode(answer["outcome"].take())
    }

    /// Officer two turns the waiting request down.
    pub async fn reject_exception(&self, nip: &Nip, why: Option<&str>) -> Result<(), CounterError> {
        self.send(&routes::EMAIL_EXCEPTION_REJECT, nip, &json!({ "why": why }))
            .await
            .map(|_| ())
    }

    /// Removes a lost authenticator after the in-person identity check.
    pub async fn remove_second_factor(
        &self,
        nip: &Nip,
        req: &FactorRemovalRequest,
    ) -> Result<FactorRemoval, CounterError> {
        decode(self.send(&routes::FACTOR_REMOVE, nip, req).await?["outcome"].take())
    }

    pub async fn remove_passkeys(
        &self,
        nip: &Nip,
        req: &PasskeyRemovalRequest,
    ) -> Result<PasskeyRemoval, CounterError> {
        decode(self.send(&routes::PASSKEYS_REMOVE, nip, req).await?["outcome"].take())
    }

    /// Clears the lock-out; whether the account was locked.
    pub async fn unlock(&self, nip: &str) -> Result<bool, CounterError> {
        let answer = self.call(&routes::UNLOCK, nip, "", None).await?;
        Ok(answer["was_locked"].as_bool().unwrap_or(false))
    }

    pub async fn revoke(&self, nip: &str) -> Result<(), CounterError> {
        self.call(&routes::SESSIONS_REVOKE, nip, "", None)
            .await
            .map(|_| ())
    }

    pub async fn audit(&self, nip: &str, limit: usize) -> Result<Vec<AuditEvent>, CounterError> {
        let query = format!("?limit={limit}");
        decode(self.call(&routes::AUDIT, nip, &query, None).await?)
    }

    /// Checks the keyed hash chain of an employee's audit trail; `-` for the records
    /// without a NIP.
    pub async fn verify_audit(&self, nip: &str) -> Result<ChainReport, CounterError> {
        decode(self.call(&routes::AUDIT_VERIFY, nip, "", None).await?)
    }
}

fn decode<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, CounterError> {
    serde_json::from_value(v).map_err(|e| {
        CounterError::Failed(anyhow::anyhow!("unexpected answer from the staff API: {e}"))
    })
}

/// What the officer reads for a refused request: the staff handler's problem+json, or API
/// Gateway's own 403 when the signature itself was refused.
fn refusal_of(status: u16, body: &Value, l: Lang) -> Refusal {
    if let Some(detail) = body["detail"].as_str() {
        let reason = body["reason"]
            .as_str()
            .or_else(|| body["code"].as_str())
            .unwrap_or("refused");
        return Refusal {
            reason: reason.to_owned(),
            text: detail.to_owned(),
        };
    }
    if status == 403 {
        let msg = body["message"].as_str().unwrap_or("Forbidden");
        return Refusal {
            reason: "signature_refused".into(),
            text: format!(
                "{} ({msg})",
                l.pick(
                    "permintaan ditolak gerbang API: tanda tangan tidak ada atau tidak sah; masuk ulang (`aws sso login`) dan periksa jam komputer",
                    "the API gateway refused the request: the signature is missing or not valid; sign in again (`aws sso login`) and check the computer's clock",
                )
            ),
        };
    }
    Refusal {
        reason: "http_error".into(),
        text: format!(
            "{} {status}",
            l.pick("layanan menjawab", "the service answered")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_the_problem_or_the_gateway() {
        let p = serde_json::json!({"code": "forbidden", "reason": "out_of_scope", "detail": "Pegawai ini bukan dari instansi Anda."});
        let r = refusal_of(403, &p, Lang::Id);
        assert_eq!(r.reason, "out_of_scope");
        assert_eq!(r.text, "Pegawai ini bukan dari instansi Anda.");
        let g = refusal_of(403, &serde_json::json!({"message": "Forbidden"}), Lang::En);
        assert_eq!(g.reason, "signature_refused");
        assert!(g.text.contains("Forbidden"));
    }
}
