//! Passkeys for the signed-in civil servant, and signing in with one.
//!
//! - Adding one needs the current password, and the authenticator's code when two-step login
//!   is on (a stolen session, or a session and a password, cannot add a way in). The
//!   credential is discoverable with user verification required; the account's WebAuthn user
//!   handle is random (never the NIP), the same for each of its passkeys.
//! - A passkey sign-in is a whole login (no password, no code): the discoverable flow names
//!   no NIP, so an unknown NIP and an account without passkeys cannot be told apart. It
//!   also satisfies an agency's two-step requirement. Every refusal is the same
//!   `invalid_passkey`.
//! - Each ceremony's state stays server-side under a keyed hash of its challenge and is taken
//!   once; a sign-in's new signature counter and backup flags are written only over the
//!   credential it read, so a replayed or racing assertion loses.
//! - A reset by e-mail code keeps the passkeys; a counter officer can list and remove them.

use crate::domain::passkey::{
    answered_challenge, clean_name, credential_id_text, DiscoverableAuthentication, Passkey,
    PasskeyRegistration, PasskeyView, PublicKeyCredential, RegisterPublicKeyCredential,
    RelyingParty, Uuid, CEREMONY_SECS, MAX_PASSKEYS,
};
use crate::mail;
use crate::ports::{Account, CeremonyRecord, PasskeyRecord, SessionRecord, StoreError};
use crate::service::error::AuthError;
use crate::service::{store_down, Limited, LoginOutput, Public, RequestMeta, Service};
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};
use tracing::{info, instrument, warn};

impl Public<'_> {
    /// `POST /v1/account/passkeys/options`: the options for the browser to make a passkey
    /// (`navigator.credentials.create`), given the current password and, with two-step
    /// login on, the authenticator's code.
    #[instrument(skip_all, fields(action = "passkey_add"))]
    pub async fn passkey_registration_options(
        self,
        token: &str,
        current_password: &str,
        code: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<Value, AuthError> {
        let rp = self.relying_party()?;
        let (session, account) = self.live_session(token).await?;
        self.rate_limit(Limited::Login, &session.nip, meta).await?;
        self.check_current_password(&account, current_password, meta, Action::PasskeyAdd)
            .await?;
        if let Some(factor) = account.second_factor.as_ref().filter(|f| f.is_active()) {
            let checked = self
                .check_code(
                    &account,
                    factor,
                    code.unwrap_or_default(),
                    meta,
                    Action::PasskeyAdd,
                )
                .await?;
            // The code's time step taken, so that it is not used again.
            let mut updated = account.clone();
            updated.second_factor = Some(checked);
            updated.updated_at = self.now();
            self.store
                .update_account(&updated, account.version)
                .await
                .map_err(crate::public::second_step::changed_meanwhile)?;
        }
        let existing = self
            .store
            .list_passkeys(&account.nip)
            .await
            .map_err(store_down)?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(AuthError::TooManyPasskeys);
        }
        let handle = existing
            .first()
            .and_then(|p| Uuid::parse_str(&p.user_handle).ok())
            .unwrap_or_else(Uuid::new_v4);
        let exclude = existing
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.credential).ok())
            .map(|k| k.cred_id().clone())
            .collect::<Vec<_>>();
        let (options, state) = rp
            .webauthn
            .start_passkey_registration(
                handle,
                account.nip.as_str(),
                account.name.as_str(),
                Some(exclude),
            )
            .map_err(|e| {
                warn!(error = %e, "passkey registration not started");
                AuthError::unavailable()
            })?;
        let mut options = serde_json::to_value(&options).map_err(|_| AuthError::unavailable())?;
        // A passkey is a discoverable credential (signing in names no NIP).
        options["publicKey"]["authenticatorSelection"]["residentKey"] = json!("required");
        options["publicKey"]["authenticatorSelection"]["requireResidentKey"] = json!(true);
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .unwrap_or_default();
        let kept = json!({ "registration": state, "user_handle": handle.to_string() });
        self.keep_ceremony(challenge, Some(&account), kept).await?;
        Ok(options)
    }

    /// `POST /v1/account/passkeys/add`: the browser's new credential, verified against the
    /// ceremony this account started (origin, RP ID, challenge, user verification), kept
    /// under `name` (or a name with the date), the owner told by e-mail.
    #[instrument(skip_all, fields(action = "passkey_add"))]
    pub async fn add_passkey(
        self,
        token: &str,
        answer: &Value,
        name: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<PasskeyView, AuthError> {
        let rp = self.relying_party()?;
        let (session, account) = self.live_session(token).await?;
        self.rate_limit(Limited::Login, &session.nip, meta).await?;
        let nip = account.nip.clone();
        let refused = |why: &'static str| {
            let nip = nip.clone();
            async move {
                let mut ev = self.public_event(&nip, meta, Action::PasskeyAdd, Outcome::Failed);
                ev.details = json!({ "reason": why });
                self.audit(ev).await;
                AuthError::PasskeyRefused
            }
        };
        let ceremony = match self.take_ceremony(answer).await? {
            Some(c) if c.nip.as_ref() == Some(&account.nip) => c,
            _ => return Err(refused("no_ceremony").await),
        };
        let kept: Value = serde_json::from_str(&ceremony.state).unwrap_or_default();
        let (Ok(state), Ok(credential), Some(handle)) = (
            serde_json::from_value::<PasskeyRegistration>(kept["registration"].clone()),
            serde_json::from_value::<RegisterPublicKeyCredential>(answer.clone()),
            kept["user_handle"].as_str(),
        ) else {
            return Err(refused("malformed").await);
        };
        let Ok(passkey) = rp.webauthn.finish_passkey_registration(&credential, &state) else {
            return Err(refused("not_verified").await);
        };
        // The cap again: several ceremonies may have been started at once.
        let held = self
            .store
            .list_passkeys(&account.nip)
            .await
            .map_err(store_down)?;
        if held.len() >= MAX_PASSKEYS {
            return Err(AuthError::TooManyPasskeys);
        }
        let now = self.now();
        let record = PasskeyRecord {
            id: credential_id_text(passkey.cred_id().as_ref()),
            nip: account.nip.clone(),
            user_handle: handle.to_owned(),
            name: name
                .and_then(clean_name)
                .unwrap_or_else(|| default_name(now, meta.lang)),
            credential: serde_json::to_string(&passkey).map_err(|_| AuthError::unavailable())?,
            created_at: now,
            last_used_at: None,
        };
        match self.store.insert_passkey(&record).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(refused("registered_already").await),
            Err(e) => return Err(store_down(e)),
        }
        // The account as it is now: a renumbering (or a reset ending every session) that
        // came between the session's check and the insert would leave the passkey with a
        // number the account no longer has.
        let now_account = self
            .store
            .get_account(&account.nip)
            .await
            .map_err(store_down)?;
        if now_account.is_none_or(|a| a.credential_version != account.credential_version) {
            let _ = self.store.delete_passkey(&account.nip, &record.id).await;
            return Err(refused("account_changed").await);
        }
        let mut ev = self.public_event(&account.nip, meta, Action::PasskeyAdd, Outcome::Succeeded);
        ev.details = json!({ "name": record.name });
        self.audit(ev).await;
        info!("passkey added");
        self.tell(&account, &record.name, true, meta).await;
        Ok(PasskeyView::of(&record))
    }

    /// `GET /v1/account/passkeys`: the signed-in account's passkeys, oldest first.
    pub async fn list_passkeys(self, token: &str) -> Result<Vec<PasskeyView>, AuthError> {
        let (session, account) = self.live_session(token).await?;
        let all = self
            .store
            .list_passkeys(&session.nip)
            .await
            .map_err(store_down)?;
        Ok(all
            .iter()
            .filter(|p| belongs_to(p, &account))
            .map(PasskeyView::of)
            .collect())
    }

    /// `POST /v1/account/passkeys/remove`: removes one of the account's passkeys, given the
    /// current password (counted as a login attempt: a stolen session alone removes nothing
    /// and signs no one out). Then every other session ends (one a lost device opened with
    /// the passkey among them) and a new session, expiring when this one would have,
    /// replaces this one; the owner is told by e-mail.
    #[instrument(skip_all, fields(action = "passkey_remove"))]
    pub async fn remove_passkey(
        self,
        token: &str,
        id: &str,
        current_raw: &str,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let (session, account) = self.live_session(token).await?;
        self.rate_limit(Limited::Login, &session.nip, meta).await?;
        let Some(p) = self
            .store
            .get_passkey(id)
            .await
            .map_err(store_down)?
            .filter(|p| p.nip == session.nip)
        else {
            return Err(AuthError::UnknownPasskey);
        };
        self.check_current_password(&account, current_raw, meta, Action::PasskeyRemove)
            .await?;
        // The passkey first: whatever happens next, the lost device signs in no more.
        if !self
            .store
            .delete_passkey(&session.nip, id)
            .await
            .map_err(store_down)?
        {
            return Err(AuthError::UnknownPasskey);
        }
        let mut ev = self.public_event(&session.nip, meta, Action::PasskeyRemove, Outcome::Done);
        ev.details = json!({ "name": p.name, "by": "owner", "sessions_ended": true });
        self.audit(ev).await;
        self.tell(&account, &p.name, false, meta).await;
        // Only while this session's credential version stands: a password change, a reset
        // or a counter's action meanwhile ended it, and nothing renews it.
        let Some(ended) = self
            .end_every_session(account, true)
            .await
            .map_err(crate::public::second_step::changed_meanwhile)?
        else {
            return Err(AuthError::Unauthorized);
        };
        self.issue_session_until(
            &session.nip,
            ended.credential_version,
            self.now(),
            session.expires_at,
        )
        .await
    }

    /// `POST /v1/login/passkey/options`: a sign-in challenge for the browser
    /// (`navigator.credentials.get`, also offered by autofill), naming no one.
    pub async fn passkey_sign_in_options(self, meta: &RequestMeta) -> Result<Value, AuthError> {
        let rp = self.relying_party()?;
        self.rate_limit_source(meta).await?;
        let (options, state) = rp
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| {
                warn!(error = %e, "passkey sign-in not started");
                AuthError::unavailable()
            })?;
        let mut options = serde_json::to_value(&options).map_err(|_| AuthError::unavailable())?;
        // Discoverable: no list of credentials (an empty one would allow none).
        if let Some(pk) = options.get_mut("publicKey").and_then(Value::as_object_mut) {
            pk.remove("allowCredentials");
        }
        let challenge = options["publicKey"]["challenge"]
            .as_str()
            .unwrap_or_default();
        self.keep_ceremony(challenge, None, json!({ "sign_in": state }))
            .await?;
        Ok(options)
    }

    /// `POST /v1/login/passkey`: the browser's assertion for a sign-in challenge; a session
    /// when it verifies for a passkey of an account. With `second_step` (the challenge a
    /// right password gave), the passkey must be that account's and the challenge is used
    /// up. Every refusal is `invalid_passkey`.
    #[instrument(skip_all, fields(action = "passkey_login"))]
    pub async fn passkey_sign_in(
        self,
        answer: &Value,
        second_step: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let rp = self.relying_party()?;
        self.rate_limit_source(meta).await?;
        let after_password = match second_step {
            None => None,
            // An unknown, used or expired challenge: refused as every passkey sign-in is.
            Some(token) => match self.live_challenge(token).await? {
                Some(kept) => Some(kept),
                None => return Err(AuthError::InvalidPasskey),
            },
        };
        let ceremony = match self.take_ceremony(answer).await? {
            Some(c) if c.nip.is_none() => c,
            _ => return Err(AuthError::InvalidPasskey),
        };
        let kept: Value = serde_json::from_str(&ceremony.state).unwrap_or_default();
        let (Ok(state), Ok(assertion)) = (
            serde_json::from_value::<DiscoverableAuthentication>(kept["sign_in"].clone()),
            serde_json::from_value::<PublicKeyCredential>(answer.clone()),
        ) else {
            return Err(AuthError::InvalidPasskey);
        };
        let Ok((handle, raw_id)) = rp.webauthn.identify_discoverable_authentication(&assertion)
        else {
            return Err(AuthError::InvalidPasskey);
        };
        let id = credential_id_text(raw_id);
        let Some(record) = self.store.get_passkey(&id).await.map_err(store_down)? else {
            return Err(AuthError::InvalidPasskey);
        };
        if Uuid::parse_str(&record.user_handle).ok() != Some(handle) {
            // Another account's user handle put beside this passkey (it is not signed):
            // recorded in the passkey's own account.
            let mut ev =
                self.public_event(&record.nip, meta, Action::PasskeyLogin, Outcome::Failed);
            ev.details = json!({ "reason": "user_handle_mismatch", "passkey": record.name });
            self.audit(ev).await;
            return Err(AuthError::InvalidPasskey);
        }
        self.finish_sign_in(rp, record, (assertion, state), after_password, meta)
            .await
    }
}

impl Service {
    fn relying_party(&self) -> Result<&RelyingParty, AuthError> {
        self.passkeys.as_deref().ok_or(AuthError::PasskeysOff)
    }

    fn ceremony_key(&self, challenge: &str) -> String {
        self.key.mac_hex(
            "sapk/passkey-ceremony/v1",
            &[challenge.trim_end_matches('=').as_bytes()],
        )
    }

    /// Keeps what a ceremony's answer is checked against, under its challenge.
    async fn keep_ceremony(
        &self,
        challenge: &str,
        account: Option<&Account>,
        state: Value,
    ) -> Result<(), AuthError> {
        let record = CeremonyRecord {
            key: self.ceremony_key(challenge),
            nip: account.map(|a| a.nip.clone()),
            state: state.to_string(),
            expires_at: self.now() + Duration::seconds(CEREMONY_SECS),
        };
        self.store.put_ceremony(&record).await.map_err(store_down)
    }

    /// The ceremony the answer's challenge belongs to, taken (once), if it has not expired.
    async fn take_ceremony(&self, answer: &Value) -> Result<Option<CeremonyRecord>, AuthError> {
        let Some(challenge) = answered_challenge(answer) else {
            return Ok(None);
        };
        let taken = self
            .store
            .take_ceremony(&self.ceremony_key(&challenge))
            .await
            .map_err(store_down)?;
        let now = self.now();
        Ok(taken.filter(|c| c.expires_at > now))
    }

    /// Passkey sign-ins per source address, under the login's per-address limit (a sign-in
    /// names no NIP until it verifies, so there is no per-NIP window to count).
    async fn rate_limit_source(&self, meta: &RequestMeta) -> Result<(), AuthError> {
        let limit = self.config.limits.login_ip;
        let now = self.now();
        let ip = crate::service::throttle::source_key(meta.source_ip.as_deref());
        let (key, until) =
            crate::service::rate_limit::window_key(&format!("rl:passkey:ip:{ip}"), limit, now);
        let counts = self
            .store
            .count_hits(&[(key, until)])
            .await
            .map_err(store_down)?;
        if counts.first().is_some_and(|c| *c > limit.max) {
            warn!("passkey sign-ins rate limited");
            return Err(AuthError::RateLimited {
                retry_after_secs: (until.timestamp() - now.timestamp()).max(1) as u64,
            });
        }
        Ok(())
    }

    async fn finish_sign_in(
        &self,
        rp: &RelyingParty,
        record: PasskeyRecord,
        (assertion, state): (PublicKeyCredential, DiscoverableAuthentication),
        after_password: Option<(String, SessionRecord)>,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let (nip, name) = (record.nip.clone(), record.name.clone());
        let failed = |why: &'static str| {
            let (nip, name) = (nip.clone(), name.clone());
            async move {
                let mut ev = self.public_event(&nip, meta, Action::PasskeyLogin, Outcome::Failed);
                ev.details = json!({ "reason": why, "passkey": name });
                self.audit(ev).await;
                AuthError::InvalidPasskey
            }
        };
        let Ok(mut passkey) = serde_json::from_str::<Passkey>(&record.credential) else {
            return Err(failed("unreadable").await);
        };
        let result = match rp
            .webauthn
            .finish_discoverable_authentication_v2(&assertion, state, &passkey)
        {
            Ok(r) if r.user_verified() => r,
            Ok(_) => return Err(failed("no_user_verification").await),
            Err(_) => return Err(failed("not_verified").await),
        };
        let account = self
            .store
            .get_account(&record.nip)
            .await
            .map_err(store_down)?;
        // A passkey made before its account existed belongs to an earlier holder of the
        // number (left behind by a renumbering): never this account's.
        let Some(account) = account.filter(|a| belongs_to(&record, a)) else {
            return Err(failed("no_account").await);
        };
        // After a password: that account's passkey, the account as the password found it.
        if let Some((_, ch)) = &after_password {
            if ch.nip != account.nip || ch.credential_version != account.credential_version {
                return Err(failed("not_the_password_s_account").await);
            }
        }
        passkey.update_credential(&result);
        let now = self.now();
        let mut used = record.clone();
        used.credential = serde_json::to_string(&passkey).map_err(|_| AuthError::unavailable())?;
        used.last_used_at = Some(now);
        match self.store.update_passkey(&used, &record.credential).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(failed("used_meanwhile").await),
            Err(e) => return Err(store_down(e)),
        }
        // The password's challenge is used once: of two answers to it, one gets a session.
        if let Some((hash, _)) = &after_password {
            if !self.store.delete_session(hash).await.map_err(store_down)? {
                return Err(failed("challenge_used").await);
            }
        }
        let out = self
            .issue_session(&account.nip, account.credential_version, now)
            .await?;
        let mut ev =
            self.public_event(&account.nip, meta, Action::PasskeyLogin, Outcome::Succeeded);
        ev.details = json!({ "passkey": used.name, "after_password": after_password.is_some() });
        self.audit(ev).await;
        info!("signed in with a passkey");
        // A passkey is a second factor in itself: no two-step set-up is asked for.
        Ok(out)
    }

    async fn tell(&self, account: &Account, passkey: &str, added: bool, meta: &RequestMeta) {
        if let Some(email) = &account.email {
            self.send(mail::passkey_email(
                email,
                account.name.as_str(),
                passkey,
                added,
                self.now(),
                meta.lang,
            ))
            .await;
        }
    }
}

/// Whether `passkey` is `account`'s: kept under its number and made since the account exists
/// (one made before belongs to an earlier holder of the number, left by a renumbering).
pub(crate) fn belongs_to(passkey: &PasskeyRecord, account: &Account) -> bool {
    passkey.nip == account.nip && account.created_at <= passkey.created_at
}

/// A passkey's name when the browser gave none: "Passkey, dibuat 6 Des 2026".
fn default_name(at: DateTime<Utc>, lang: crate::text::i18n::Lang) -> String {
    format!(
        "Passkey, {} {}",
        lang.pick("dibuat", "made"),
        crate::text::i18n::format_date(at.date_naive(), lang)
    )
}
