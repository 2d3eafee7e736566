//! `POST /v1/password/reset`: a new password with the e-mailed code.

use crate::domain::breached;
use crate::domain::code::ResetCode;
use crate::domain::keys::ct_eq;
use crate::domain::nip::Nip;
use crate::domain::password::{GuessHint, Password, PolicyContext, Violation};
use crate::ports::{Account, StoreError};
use crate::service::error::AuthError;
use crate::service::throttle;
use crate::service::Public;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;
use tracing::{error, info, instrument, warn};

use crate::service::{hash_down, store_down, Limited, RequestMeta, Service};

impl Public<'_> {
    /// `POST /v1/password/reset`. No weak password costs a try, and no answer depends on
    /// whether the NIP exists:
    /// 1. the policy with what the NIP itself tells (same for every NIP);
    /// 2. the code, compared without writing; a wrong one then takes a try;
    /// 3. only for the right code, the policy with the account's name and e-mail (checking
    ///    that earlier would tell a guesser which NIPs have an account with that name);
    /// 4. a try taken atomically (of parallel requests with the right code, at most as many
    ///    as tries are left get further), the hash, and one atomic write.
    #[instrument(skip_all, fields(action = "reset"))]
    pub async fn reset(
        self,
        nip_raw: &str,
        code_raw: &str,
        new_password_raw: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let nip = self.parse_nip(nip_raw)?;
        // The same store work for every NIP. One round trip: the counters, the account, the
        // code and the audit chain's head; then a try taken (from whatever code is there;
        // nothing, if there is none); then, for the right code, the reset and its audit
        // record in one atomic write.
        let (over, account, record, head) = tokio::join!(
            self.rate_windows(Limited::Reset, &nip, meta),
            self.store.get_account(&nip),
            self.store.get_reset_code(&nip),
            self.audit_head(&nip),
        );
        self.refuse_if_limited(Limited::Reset, &nip, meta, over, head.clone())
            .await?;
        let password = Password::new(new_password_raw);
        self.check_policy(&password, Service::public_context(&nip))
            .await?;

        let fail = |reason: &'static str| {
            let (nip, head) = (nip.clone(), head.clone());
            async move {
                let mut ev = self.public_event(&nip, meta, Action::Reset, Outcome::Failed);
                ev.details = json!({ "reason": reason });
                self.audit_on(ev, head).await;
                AuthError::InvalidToken
            }
        };
        let Ok(code) = ResetCode::parse(code_raw) else {
            return Err(fail("malformed_code").await);
        };
        let account = account.map_err(store_down)?;
        let record = record.map_err(store_down)?;
        let now = self.clock.now();
        // A code with no tries left is spent: never compared again (not even for the
        // account's own password rules, which would say it was right).
        let live = record.as_ref().filter(|r| {
            r.expires_at > now
                && r.attempts_left > 0
                && r.credential_version == account.as_ref().map_or(0, |a| a.credential_version)
        });
        let stored_hash = record
            .as_ref()
            .map_or_else(|| "-".to_owned(), |r| r.code_hash.clone());
        let right = live.is_some() && ct_eq(&code.hash(&self.key, &nip), &stored_hash);
        if let (true, Some(a)) = (right, &account) {
            self.check_policy_offline(&password, Service::personal_context(&nip, a))
                .await?;
        }
        let left = self
            .store
            .take_code_attempt(&nip, &stored_hash)
            .await
            .map_err(store_down)?;
        let reason = match (&record, live, left, right, &account) {
            (None, ..) => Some("no_code"),
            (Some(r), None, ..) if r.attempts_left == 0 && r.expires_at > now => {
                Some("no_tries_left")
            }
            // Still in time, but the account moved on since it was sent (a reset that won a
            // race, a counter change): the code no longer belongs to the account.
            (Some(r), None, ..) if r.expires_at > now => Some("code_superseded"),
            (Some(_), None, ..) => Some("expired_code"),
            (_, _, None, ..) => Some("no_tries_left"),
            (_, _, _, false, _) => Some("wrong_code"),
            // A code for a NIP without an account is never sent; guessing it proves nothing.
            (_, _, _, true, None) => Some("unknown_nip"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(fail(reason).await);
        }
        let (Some(account), Some(record)) = (account, record) else {
            return Err(fail("unknown_nip").await);
        };
        if !self
            .apply_reset(&nip, meta, &account, &record, &password, now, head.clone())
            .await?
        {
            return Err(fail("code_already_used").await);
        }
        Ok(())
    }
}

pub(crate) fn refuse_any(
    violations: Vec<Violation>,
    hints: Vec<GuessHint>,
) -> Result<(), AuthError> {
    if violations.is_empty() {
        Ok(())
    } else {
        Err(AuthError::WeakPassword(violations, hints))
    }
}

impl Service {
    /// What anyone knows from the NIP alone: the same for every NIP, whether or not an
    /// account exists.
    fn public_context(nip: &Nip) -> PolicyContext {
        PolicyContext::for_nip(nip)
    }

    /// The NIP's context plus the account's name and e-mail.
    pub(crate) fn personal_context(nip: &Nip, account: &Account) -> PolicyContext {
        let ctx = PolicyContext::for_nip(nip).with_name(account.name.as_str());
        match &account.email {
            Some(e) => ctx.with_email(e),
            None => ctx,
        }
    }

    /// The password policy, off the async executor (the estimator costs milliseconds), then
    /// the range API where one is configured and the shipped filter did not already know the
    /// password: every violation at once.
    pub(crate) async fn check_policy(
        &self,
        password: &Password,
        ctx: PolicyContext,
    ) -> Result<(), AuthError> {
        let (mut violations, hints) = self.policy_violations(password, ctx).await?;
        if !violations.contains(&Violation::Breached) && self.range_lists(password).await {
            violations.push(Violation::Breached);
        }
        refuse_any(violations, hints)
    }

    /// The policy alone (the range API's answer does not depend on the context: a second
    /// check of the same password with more context does not ask it again).
    async fn check_policy_offline(
        &self,
        password: &Password,
        ctx: PolicyContext,
    ) -> Result<(), AuthError> {
        let (violations, hints) = self.policy_violations(password, ctx).await?;
        refuse_any(violations, hints)
    }

    /// The rules `password` breaks and, if it is too guessable, what made it so.
    pub(crate) async fn policy_violations(
        &self,
        password: &Password,
        ctx: PolicyContext,
    ) -> Result<(Vec<Violation>, Vec<GuessHint>), AuthError> {
        let policy = self.config.password.clone();
        let pw = Password::new(password.expose());
        let work = move || {
            let violations = policy.check(&pw, &ctx).err().unwrap_or_default();
            let hints = if violations.contains(&Violation::TooGuessable) {
                policy.hints(pw.expose(), &ctx)
            } else {
                Vec::new()
            };
            (violations, hints)
        };
        match tokio::task::spawn_blocking(work).await {
            Ok(r) => Ok(r),
            Err(e) => {
                error!(error = %e, "password policy worker failed");
                Err(AuthError::unavailable())
            }
        }
    }

    /// Whether the range API lists `password` as breached: `false` without one, or when it
    /// fails or does not answer in time (then the shipped filter has decided alone; logged).
    async fn range_lists(&self, password: &Password) -> bool {
        let (Some(range), Some(cfg)) = (&self.breach_range, &self.config.breach_range) else {
            return false;
        };
        let (prefix, suffix) = breached::range_key(password.expose());
        let wait = std::time::Duration::from_millis(cfg.timeout_ms);
        match tokio::time::timeout(wait, range.suffixes(&prefix)).await {
            Ok(Ok(answer)) => breached::range_lists(&answer, &suffix),
            Ok(Err(e)) => {
                warn!(error = %e, "breach range API failed: the shipped filter decided alone");
                false
            }
            Err(_) => {
                warn!(
                    timeout_ms = cfg.timeout_ms,
                    "breach range API did not answer in time: the shipped filter decided alone"
                );
                false
            }
        }
    }

    /// The reset of a right code: the new hash, and in one atomic write the account (its
    /// credentials' version moved on), the code used up, the lock-out cleared and the audit
    /// record; then the owner told. `false` when the code was used meanwhile.
    #[allow(clippy::too_many_arguments)]
    async fn apply_reset(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        account: &Account,
        record: &crate::ports::ResetCodeRecord,
        password: &Password,
        now: chrono::DateTime<chrono::Utc>,
        head: crate::service::Head,
    ) -> Result<bool, AuthError> {
        let hash = self.hasher.hash(password).await.map_err(hash_down)?;
        let mut updated = account.clone();
        updated.password_hash = Some(hash);
        updated.credential_version += 1;
        updated.password_changed_at = Some(now);
        updated.updated_at = now;
        let cleared = throttle::cleared(nip, now, &self.config);
        let done = self.public_event(nip, meta, Action::Reset, Outcome::Succeeded);
        let written = self
            .sealed_write(&done, head, |sealed| {
                let (updated, cleared) = (&updated, &cleared);
                async move {
                    self.store
                        .complete_reset(
                            &record.code_hash,
                            updated,
                            account.version,
                            cleared,
                            &sealed,
                        )
                        .await
                }
            })
            .await;
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Ok(false),
            Err(e) => return Err(store_down(e)),
        }
        info!("password reset");
        self.notify_password_changed(account, now, meta.lang).await;
        Ok(true)
    }
}
