//! Unlocking an account and ending its sessions, at the counter.

use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;

use super::{Operator, StaffError};

impl Staff<'_> {
    /// Clears the login lock-out (and failure count) of an employee, and the count of wrong
    /// second-step codes (which turns the authenticator's codes back on after its cap).
    pub async fn unlock_account(self, nip_raw: &str, op: &Operator) -> Result<bool, StaffError> {
        let account = self.account_for_counter(nip_raw).await?;
        let now = self.now();
        let second_step = crate::service::throttle::second_step_key(&account.nip);
        let held = self
            .store
            .get_throttles(&[account.nip.as_str().to_owned(), second_step.clone()])
            .await?;
        let was_locked = held
            .iter()
            .flatten()
            .any(|t| t.expires_at > now && (t.failures > 0 || t.locked_until.is_some()));
        // A fresh per-NIP record ends the lock-out of every address.
        self.store
            .put_throttles(&[crate::ports::ThrottleWrite {
                expect: crate::ports::Expect::Any,
                record: crate::service::throttle::cleared(&account.nip, now, &self.config),
            }])
            .await?;
        self.store.delete_throttle(&second_step).await?;
        self.staff_audit(self.staff_event(
            op,
            Some(&account.nip),
            Action::AccountUnlock,
            Outcome::Done,
            json!({ "was_locked": was_locked }),
        ))
        .await?;
        Ok(was_locked)
    }

    /// Ends every session (and any reset code) of an employee by moving the credential
    /// version.
    pub async fn revoke_sessions(self, nip_raw: &str, op: &Operator) -> Result<(), StaffError> {
        let account = self.account_for_counter(nip_raw).await?;
        let mut updated = account.clone();
        updated.credential_version += 1;
        updated.updated_at = self.now();
        self.store.update_account(&updated, account.version).await?;
        self.staff_audit(self.staff_event(
            op,
            Some(&account.nip),
            Action::SessionRevoke,
            Outcome::Done,
            json!(null),
        ))
        .await
    }
}
