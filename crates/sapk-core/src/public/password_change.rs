//! `POST /v1/password/change`: a signed-in civil servant sets a new password.

use crate::domain::password::Password;
use crate::mail;
use crate::ports::{Account, StoreError};
use crate::service::error::AuthError;
use crate::service::Public;
use crate::text::audit_text::{Action, Outcome};
use crate::text::i18n::Lang;
use chrono::{DateTime, Utc};
use tracing::instrument;

use crate::service::{hash_down, store_down, Limited, LoginOutput, RequestMeta, Service};

impl Public<'_> {
    /// `POST /v1/password/change`: a signed-in civil servant sets a new password. The new one
    /// must pass the same policy as at a reset (with the account's name and e-mail); the
    /// current one is checked as a login attempt (a wrong one counts toward the same
    /// lock-out, and a locked account is refused as at login). On success the credential
    /// version moves (every other session ends), a new session replaces this one, the
    /// account's e-mail is told, and it is audited.
    #[instrument(skip_all, fields(action = "password_change"))]
    pub async fn change_password(
        self,
        token: &str,
        current_raw: &str,
        new_raw: &str,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let (session, account) = self.live_session(token).await?;
        let nip = session.nip.clone();
        self.rate_limit(Limited::Login, &nip, meta).await?;
        let new = Password::new(new_raw);
        let refused = self
            .check_policy(&new, Service::personal_context(&nip, &account))
            .await;
        // The current password again is no change: said with the other rules, at once.
        if new.expose() == Password::new(current_raw).expose() {
            let (mut violations, hints) = match refused {
                Err(AuthError::WeakPassword(v, h)) => (v, h),
                Err(other) => return Err(other),
                Ok(()) => (Vec::new(), Vec::new()),
            };
            violations.push(crate::domain::password::Violation::SameAsCurrent);
            return Err(AuthError::WeakPassword(violations, hints));
        }
        refused?;
        let now = self.clock.now();
        self.check_current_password(&account, current_raw, meta, Action::PasswordChange)
            .await?;
        let hash = self.hasher.hash(&new).await.map_err(hash_down)?;
        let mut updated = account.clone();
        updated.password_hash = Some(hash);
        updated.credential_version += 1;
        updated.password_changed_at = Some(now);
        updated.updated_at = now;
        self.store
            .update_account(&updated, account.version)
            .await
            .map_err(|e| match e {
                // Changed meanwhile (another change, a reset): this session is gone anyway.
                StoreError::Conflict(_) => AuthError::Unauthorized,
                other => store_down(other),
            })?;
        let out = self
            .issue_session(&nip, updated.credential_version, now)
            .await?;
        self.notify_password_changed(&account, now, meta.lang).await;
        self.audit(self.public_event(&nip, meta, Action::PasswordChange, Outcome::Succeeded))
            .await;
        Ok(out)
    }
}

impl Service {
    /// Tells the account's e-mail (if any) that its password changed (a reset or a change).
    pub(crate) async fn notify_password_changed(
        &self,
        account: &Account,
        at: DateTime<Utc>,
        lang: Lang,
    ) {
        if let Some(email) = &account.email {
            self.send(mail::password_changed_email(
                email,
                account.name.as_str(),
                at,
                lang,
            ))
            .await;
        }
    }
}
