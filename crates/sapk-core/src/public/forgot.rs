//! `POST /v1/password/forgot`: a reset code by e-mail.

use crate::domain::code::ResetCode;
use crate::domain::nip::Nip;
use crate::mail;
use crate::ports::ResetCodeRecord;
use crate::service::error::AuthError;
use crate::service::Public;
use crate::text::audit_text::{Action, Outcome};
use chrono::Duration;
use serde_json::json;
use tracing::{error, info, instrument};

use crate::service::{store_down, Limited, RequestMeta, Service};

impl Public<'_> {
    /// `POST /v1/password/forgot`. The answer is the same, and takes at least
    /// `forgot_min_ms`, whatever the account's state.
    #[instrument(skip_all, fields(action = "forgot"))]
    pub async fn forgot(self, nip_raw: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let started = tokio::time::Instant::now();
        let nip = self.parse_nip(nip_raw)?;
        let result = self.forgot_inner(&nip, meta).await;
        let deadline = started + std::time::Duration::from_millis(self.config.forgot_min_ms);
        // A timer rounds up to its next tick (about 1 ms), so only wait when there is time left.
        if tokio::time::Instant::now() < deadline {
            tokio::time::sleep_until(deadline).await;
        }
        result
    }
}

impl Service {
    /// Every NIP gets the same store work: the account and the current code are read, and
    /// (unless a code was issued within the cooldown) a code record is written: a real one
    /// for an account with an e-mail, otherwise one no one can know (the hash of a code that
    /// is never sent). Only the e-mail differs, and the answer time is padded.
    async fn forgot_inner(&self, nip: &Nip, meta: &RequestMeta) -> Result<(), AuthError> {
        // One round trip: the counters, the account, the code and the audit chain's head.
        let (over, account, current, head) = tokio::join!(
            self.rate_windows(Limited::Forgot, nip, meta),
            self.store.get_account(nip),
            self.store.get_reset_code(nip),
            self.audit_head(nip),
        );
        self.refuse_if_limited(Limited::Forgot, nip, meta, over, head.clone())
            .await?;
        let account = account.map_err(store_down)?;
        let current = current.map_err(store_down)?;
        let now = self.clock.now();
        let cooldown = Duration::seconds(self.config.forgot_cooldown_secs);
        // Only a code that still works holds the cooldown (not one from before a reset or
        // an e-mail change at the counter).
        let credential_version = account.as_ref().map_or(0, |a| a.credential_version);
        if let Some(c) = current.as_ref().filter(|c| {
            c.expires_at > now
                && c.issued_at + cooldown > now
                && c.credential_version == credential_version
        }) {
            return self.cooldown(nip, meta, c, account.as_ref(), head).await;
        }
        let no_randomness = |e| {
            error!(error = %e, "no randomness for a reset code");
            AuthError::unavailable()
        };
        let code = ResetCode::generate().map_err(no_randomness)?;
        let target = account
            .as_ref()
            .and_then(|a| a.email.clone().map(|e| (a, e)));
        let code_hash = match target {
            Some(_) => code.hash(&self.key, nip),
            None => ResetCode::generate()
                .map_err(no_randomness)?
                .hash(&self.key, nip),
        };
        let expires_at = now + Duration::seconds(self.config.code_ttl_secs);
        let record = ResetCodeRecord {
            nip: nip.clone(),
            code_hash,
            issued_at: now,
            expires_at,
            attempts_left: self.config.code_max_attempts,
            credential_version,
        };
        // With the code's write, the address's claim: another account's (or none, from before
        // claims) means the address is shared, which the e-mail says. Every path reads one,
        // so no answer's calls tell an account from no account.
        let probe = claim_probe(account.as_ref());
        let (written, holder) = tokio::join!(
            self.store.put_reset_code(&record),
            self.store.email_holder(&probe),
        );
        written.map_err(store_down)?;
        let shared = holder.is_ok_and(|h| h.as_ref() != Some(nip));
        let Some((account, email)) = target else {
            let outcome = if account.is_some() {
                Outcome::NoEmail
            } else {
                Outcome::UnknownNip
            };
            self.audit_on(
                self.public_event(nip, meta, Action::CodeRequested, outcome),
                head,
            )
            .await;
            return Ok(());
        };
        self.mail_code(
            nip,
            meta,
            (account.name.as_str(), &email, shared),
            &code,
            &record,
            head,
        )
        .await;
        Ok(())
    }

    /// A code asked for again within the cooldown: the same write as a new code, changing
    /// nothing, the same claim read, and its audit record.
    async fn cooldown(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        current: &ResetCodeRecord,
        account: Option<&crate::ports::Account>,
        head: crate::service::Head,
    ) -> Result<(), AuthError> {
        let probe = claim_probe(account);
        let (written, _) = tokio::join!(
            self.store.rewrite_reset_code(current),
            self.store.email_holder(&probe),
        );
        written.map_err(store_down)?;
        self.audit_on(
            self.public_event(nip, meta, Action::CodeRequested, Outcome::Cooldown),
            head,
        )
        .await;
        Ok(())
    }

    /// The code's e-mail (queued or sent, carrying its guard) and the audit record of it.
    async fn mail_code(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        (name, email, shared): (&str, &crate::domain::email::Email, bool),
        code: &ResetCode,
        record: &ResetCodeRecord,
        head: crate::service::Head,
    ) {
        let expires_at = record.expires_at;
        let mail = mail::reset_code_email(
            email,
            name,
            code,
            expires_at,
            self.config.code_ttl_secs / 60,
            meta.lang,
            shared,
        )
        .map(|mut m| {
            m.guard = Some(crate::ports::CodeGuard {
                nip: nip.clone(),
                code_hash: record.code_hash.clone(),
                expires_at,
            });
            m
        });
        let sent = self.send(mail).await;
        let mut ev = self.public_event(
            nip,
            meta,
            Action::CodeRequested,
            match (sent, self.mailer.queues()) {
                (true, true) => Outcome::Queued,
                (true, false) => Outcome::Sent,
                (false, _) => Outcome::MailFailed,
            },
        );
        ev.details = json!({ "to": email.masked(), "expires_at": expires_at });
        self.audit_on(ev, head).await;
        info!(sent, "reset code issued");
    }
}

/// The address whose claim a forgot reads: the account's, or one no account can have (every
/// path reads one claim).
fn claim_probe(account: Option<&crate::ports::Account>) -> crate::domain::email::Email {
    account
        .and_then(|a| a.email.clone())
        .unwrap_or_else(crate::domain::email::Email::nobody)
}
