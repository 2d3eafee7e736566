//! Sessions: `GET /v1/session`, `GET /v1/account/activity`, `POST /v1/logout`.

use crate::ports::{Account, SessionRecord};
use crate::service::error::AuthError;
use crate::service::Public;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::service::{store_down, RequestMeta, Service, SessionInfo};

/// One entry of a civil servant's own security activity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActivityItem {
    pub at: DateTime<Utc>,
    /// The stable codes, as in the audit record.
    pub action: String,
    pub result: String,
    /// The same in the reader's language.
    pub what: String,
    pub outcome: String,
    /// The source network (`203.0.113.x`, `2001:db8:1:…`), not the address.
    pub source: Option<String>,
    /// For a counter action: the office that acted (never the officer), its code.
    pub office: Option<String>,
    /// The office by name (`Kantor Regional IV BKN Makassar`).
    pub office_name: Option<String>,
    /// The record in words for the person (`Email akun Anda diganti … di Kantor Regional …`).
    pub text: String,
}

impl Public<'_> {
    /// `GET /v1/session`.
    #[instrument(skip_all, fields(action = "session"))]
    pub async fn session(self, token: &str) -> Result<SessionInfo, AuthError> {
        let (s, account) = self.live_session(token).await?;
        Ok(SessionInfo {
            nip: s.nip,
            expires_at: s.expires_at,
            second_factor: account
                .second_factor
                .as_ref()
                .is_some_and(crate::domain::factor::SecondFactor::is_active),
            second_factor_required: self
                .config
                .second_factor_required
                .applies(account.instansi.as_deref()),
            name: account.name.as_str().to_owned(),
            email_masked: account
                .email
                .as_ref()
                .map(crate::domain::email::Email::masked),
            recovery_codes_left: account
                .second_factor
                .as_ref()
                .filter(|f| f.is_active())
                .map(crate::domain::factor::SecondFactor::recovery_codes_left),
        })
    }

    /// `GET /v1/account/activity`: the signed-in civil servant's own recent security events
    /// from the audit trail, newest first: sign-ins and failures (with a coarse source, the
    /// network not the address), codes asked for, resets, password and e-mail changes, and
    /// what offices did (the office, never the officer's identity). UU PDP 27/2022 gives the
    /// data subject the right to see how their data is processed; this is the everyday part.
    #[instrument(skip_all, fields(action = "activity"))]
    pub async fn account_activity(
        self,
        token: &str,
        limit: usize,
        lang: crate::text::i18n::Lang,
    ) -> Result<Vec<ActivityItem>, AuthError> {
        let (s, _) = self.live_session(token).await?;
        let events = self
            .store
            .list_audit(&s.nip, limit.clamp(1, 100))
            .await
            .map_err(store_down)?;
        Ok(events
            .into_iter()
            .map(|e| {
                // Only a counter's own office is named: an import's operator office is not one
                // the person dealt with.
                let counter = !matches!(
                    crate::text::audit_text::Action::parse(&e.action),
                    Some(crate::text::audit_text::Action::EmployeeImported)
                );
                let office = (e.actor != "self" && counter).then_some(e.office).flatten();
                // The registry's display name as the record kept it, else one from the code.
                let office_name = office.as_deref().map(|o| {
                    crate::text::activity::office_label(
                        o,
                        e.details.get("office_name").and_then(|v| v.as_str()),
                        lang,
                    )
                });
                ActivityItem {
                    what: crate::text::audit_text::action(&e.action, lang),
                    outcome: crate::text::audit_text::outcome(&e.outcome, lang),
                    text: crate::text::activity::describe(
                        &e.action,
                        &e.outcome,
                        office_name.as_deref(),
                        lang,
                    ),
                    source: e.source_ip.as_deref().map(crate::text::i18n::coarse_source),
                    office,
                    office_name,
                    at: e.at,
                    action: e.action,
                    result: e.outcome,
                }
            })
            .collect())
    }

    /// `POST /v1/logout`.
    #[instrument(skip_all, fields(action = "logout"))]
    pub async fn logout(self, token: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let (s, _) = self.live_session(token).await?;
        self.store
            .delete_session(&s.token_hash)
            .await
            .map_err(store_down)?;
        self.audit(self.public_event(
            &s.nip,
            meta,
            crate::text::audit_text::Action::Logout,
            crate::text::audit_text::Outcome::Succeeded,
        ))
        .await;
        Ok(())
    }
}

impl Service {
    pub(crate) fn session_hash(&self, token: &str) -> String {
        self.key.mac_hex("sapk/session/v1", &[token.as_bytes()])
    }

    pub(crate) fn token_shape_ok(token: &str) -> bool {
        token.len() == 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The live session of a bearer token, and its account.
    pub(crate) async fn live_session(
        &self,
        token: &str,
    ) -> Result<(SessionRecord, Account), AuthError> {
        if !Self::token_shape_ok(token) {
            return Err(AuthError::Unauthorized);
        }
        let hash = self.session_hash(token);
        let Some(session) = self.store.get_session(&hash).await.map_err(store_down)? else {
            return Err(AuthError::Unauthorized);
        };
        if session.expires_at <= self.clock.now() {
            return Err(AuthError::Unauthorized);
        }
        let account = self
            .store
            .get_account(&session.nip)
            .await
            .map_err(store_down)?;
        match account {
            Some(a) if a.credential_version == session.credential_version => Ok((session, a)),
            _ => Err(AuthError::Unauthorized),
        }
    }
}

impl crate::service::Service {
    /// Moves the account's credential version (every session and code of it ends): the
    /// account as written, `None` when it is gone. When another write came first the account
    /// is read again and the move retried (a few times, then `Conflict`), unless `as_read`:
    /// then only while its credential version and creation are still the ones read (another
    /// credential move meanwhile, a password change or reset, a counter's action, has ended
    /// the caller's session: `None`).
    pub(crate) async fn end_every_session(
        &self,
        mut account: crate::ports::Account,
        as_read: bool,
    ) -> Result<Option<crate::ports::Account>, crate::ports::StoreError> {
        let first = (account.credential_version, account.created_at);
        for _ in 0..4 {
            let mut updated = account.clone();
            updated.credential_version += 1;
            updated.updated_at = self.now();
            match self.store.update_account(&updated, account.version).await {
                Ok(()) => return Ok(Some(updated)),
                Err(crate::ports::StoreError::Conflict(_)) => {
                    match self.store.get_account(&account.nip).await? {
                        Some(a) if !as_read || (a.credential_version, a.created_at) == first => {
                            account = a;
                        }
                        _ => return Ok(None),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(crate::ports::StoreError::Conflict(
            "the account kept changing".into(),
        ))
    }
}
