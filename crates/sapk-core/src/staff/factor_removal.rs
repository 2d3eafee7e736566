//! The removal of a lost authenticator at a counter, after the in-person identity check (a
//! reset by e-mail code never removes it: that would make two-step login pointless).

use crate::domain::nip::Nip;
use crate::mail::{self, FactorNotice};
use crate::service::Staff;
use crate::staff::{ChangeError, CheckFailure, DocumentSeen, IdentityCheck, Operator, StaffError};
use crate::text::audit_text::Reason;
use crate::text::audit_text::{Action, Outcome};
use serde_json::json;

/// A lost authenticator's removal as the counter submits it: the same in-person identity
/// check as an e-mail change (the KTP's NIK against the NIP, the documents seen, the
/// officer's confirmation), and the account version the officer looked at.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "FactorRemovalBody")]
pub struct FactorRemovalRequest {
    /// The in-person check: `nik`, `documents`, `person_confirmed`.
    #[serde(flatten)]
    pub identity: IdentityCheck,
    #[serde(default)]
    pub if_version: Option<u64>,
}

/// The request's JSON as read: every field named, any other refused (an e-mail change's
/// body sent here by mistake is not quietly taken for a removal). `serde` cannot refuse
/// unknown fields beside a flattened one, hence this flat twin.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FactorRemovalBody {
    #[serde(default)]
    nik: Option<String>,
    #[serde(default)]
    documents: Vec<DocumentSeen>,
    #[serde(default)]
    person_confirmed: bool,
    #[serde(default)]
    if_version: Option<u64>,
}

impl From<FactorRemovalBody> for FactorRemovalRequest {
    fn from(b: FactorRemovalBody) -> Self {
        FactorRemovalRequest {
            identity: IdentityCheck {
                nik: b.nik,
                documents: b.documents,
                person_confirmed: b.person_confirmed,
            },
            if_version: b.if_version,
        }
    }
}

/// What a removal did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct FactorRemoval {
    /// Whether the authenticator had been confirmed (or was a set-up never finished).
    pub was_active: bool,
    /// Whether the account's e-mail was told (`None`: it has none).
    pub notified: Option<bool>,
}

impl Staff<'_> {
    /// The in-person identity check of a removal at the counter (an authenticator, a
    /// device's passkeys), as for an e-mail change: the employee's account and the identity
    /// record to audit with, or the refusal (audited under `action`).
    pub(crate) async fn identity_checked(
        &self,
        nip: &Nip,
        identity: &IdentityCheck,
        op: &Operator,
        action: Action,
    ) -> Result<(crate::ports::Account, serde_json::Value), ChangeError> {
        let Some(pii) = self.pii_key.as_ref() else {
            return Err(StaffError::NoPiiKey.into());
        };
        let (nik, documents, base) = match identity.record(pii) {
            Ok(x) => x,
            Err(f) => return Err(self.refuse_check(op, nip, action, f, &json!({})).await),
        };
        let Some(account) = self
            .store
            .get_account(nip)
            .await
            .map_err(StaffError::from)?
        else {
            self.refuse_audited(op, nip, action, Reason::UnknownNip, base)
                .await?;
            return Err(StaffError::UnknownNip.into());
        };
        let failure = identity
            .failure(documents.as_deref())
            .or_else(|| nik.check_against(nip).err().map(CheckFailure::NikMismatch));
        if let Some(f) = failure {
            return Err(self.refuse_check(op, nip, action, f, &base).await);
        }
        Ok((account, base))
    }

    /// Removes the authenticator (and its recovery codes) of an employee who lost it, after
    /// the officer checked their identity in person as for an e-mail change. Every session
    /// ends (the credential version moves); the employee signs in with the password and may
    /// set up a new authenticator. Audited with the identity record; the account's e-mail
    /// is told. Every refusal is audited too.
    pub async fn remove_second_factor(
        self,
        nip: &Nip,
        req: &FactorRemovalRequest,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<FactorRemoval, ChangeError> {
        let action = Action::SecondFactorRemove;
        let (account, base) = self
            .identity_checked(nip, &req.identity, op, action)
            .await?;
        let Some(factor) = &account.second_factor else {
            self.refuse_audited(op, nip, action, Reason::NoSecondFactor, base)
                .await?;
            return Err(StaffError::NoSecondFactor.into());
        };
        let was_active = factor.is_active();
        if req.if_version.is_some_and(|v| v != account.version) {
            self.refuse_audited(op, nip, action, Reason::ConcurrentChange, base)
                .await?;
            return Err(StaffError::Conflict.into());
        }
        let now = self.now();
        let mut updated = account.clone();
        updated.second_factor = None;
        updated.credential_version += 1;
        updated.updated_at = now;
        if let Err(e) = self.store.update_account(&updated, account.version).await {
            let e = StaffError::from(e);
            if matches!(e, StaffError::Conflict) {
                self.refuse_audited(op, nip, action, Reason::ConcurrentChange, base)
                    .await?;
            }
            return Err(e.into());
        }
        let mut details = base;
        details["was_active"] = json!(was_active);
        self.staff_audit(self.staff_event(op, Some(nip), action, Outcome::Done, details))
            .await?;
        let office = op.office_label(lang);
        let notified = match &account.email {
            Some(email) => Some(
                self.send(mail::second_factor_email(
                    email,
                    account.name.as_str(),
                    FactorNotice::RemovedAtCounter { office: &office },
                    now,
                    lang,
                ))
                .await,
            ),
            None => None,
        };
        Ok(FactorRemoval {
            was_active,
            notified,
        })
    }
}
