//! Passkeys removed at a counter, after the in-person identity check (a lost or stolen phone
//! whose passkeys should no longer sign in). A reset by e-mail code never removes them.

use crate::domain::nip::Nip;
use crate::mail;
use crate::service::Staff;
use crate::staff::{ChangeError, DocumentSeen, IdentityCheck, Operator, StaffError};
use crate::text::audit_text::{Action, Outcome, Reason};
use serde_json::json;

/// A removal as the counter submits it: the identity check of an e-mail change, the
/// passkey (`id`; none: every passkey of the employee), the account version looked at.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "PasskeyRemovalBody")]
pub struct PasskeyRemovalRequest {
    #[serde(flatten)]
    pub identity: IdentityCheck,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub if_version: Option<u64>,
}

/// The request's JSON as read, any other field refused (see `FactorRemovalRequest`).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PasskeyRemovalBody {
    #[serde(default)]
    nik: Option<String>,
    #[serde(default)]
    documents: Vec<DocumentSeen>,
    #[serde(default)]
    person_confirmed: bool,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    if_version: Option<u64>,
}

impl From<PasskeyRemovalBody> for PasskeyRemovalRequest {
    fn from(b: PasskeyRemovalBody) -> Self {
        PasskeyRemovalRequest {
            identity: IdentityCheck {
                nik: b.nik,
                documents: b.documents,
                person_confirmed: b.person_confirmed,
            },
            id: b.id,
            if_version: b.if_version,
        }
    }
}

/// What a removal did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PasskeyRemoval {
    /// The names of the passkeys removed.
    pub removed: Vec<String>,
    /// Whether the account's e-mail was told (`None`: it has none).
    pub notified: Option<bool>,
}

impl Staff<'_> {
    /// The employee's passkeys as the counter shows them.
    pub(crate) async fn passkey_views(
        &self,
        nip: &Nip,
    ) -> Result<Vec<crate::domain::passkey::PasskeyView>, StaffError> {
        Ok(self
            .store
            .list_passkeys(nip)
            .await?
            .iter()
            .map(crate::domain::passkey::PasskeyView::of)
            .collect())
    }

    /// Ends every session of the account (its credential version moves).
    async fn end_sessions(&self, account: crate::ports::Account) -> Result<(), StaffError> {
        match self.end_every_session(account, false).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(StaffError::UnknownNip),
            Err(crate::ports::StoreError::Conflict(_)) => Err(StaffError::Conflict),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes `chosen`; the names of those that were still there.
    async fn delete_passkeys(
        &self,
        nip: &Nip,
        chosen: &[crate::ports::PasskeyRecord],
    ) -> Result<Vec<String>, StaffError> {
        let mut removed = Vec::new();
        for p in chosen {
            if self.store.delete_passkey(nip, &p.id).await? {
                removed.push(p.name.clone());
            }
        }
        Ok(removed)
    }

    /// Removes the employee's passkey `id` (or every one) after the officer checked their
    /// identity in person as for an e-mail change; every session ends (the credential
    /// version moves). Audited with the identity record; the account's e-mail is told.
    /// Every refusal is audited too.
    pub async fn remove_passkeys(
        self,
        nip: &Nip,
        req: &PasskeyRemovalRequest,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<PasskeyRemoval, ChangeError> {
        let action = Action::PasskeyRemove;
        let (account, base) = self
            .identity_checked(nip, &req.identity, op, action)
            .await?;
        if req.if_version.is_some_and(|v| v != account.version) {
            self.refuse_audited(op, nip, action, Reason::ConcurrentChange, base)
                .await?;
            return Err(StaffError::Conflict.into());
        }
        let chosen: Vec<_> = self
            .store
            .list_passkeys(nip)
            .await
            .map_err(StaffError::from)?
            .into_iter()
            .filter(|p| req.id.as_deref().is_none_or(|id| p.id == id))
            .collect();
        if chosen.is_empty() {
            self.refuse_audited(op, nip, action, Reason::NoPasskey, base)
                .await?;
            return Err(StaffError::NoPasskey.into());
        }
        // Every session ends first (one may be on the lost device), so that a removal cut
        // short never leaves them live; then the passkeys go.
        let now = self.now();
        self.end_sessions(account.clone()).await?;
        let removed = self.delete_passkeys(nip, &chosen).await?;
        let mut details = base;
        details["removed"] = json!(removed);
        self.staff_audit(self.staff_event(op, Some(nip), action, Outcome::Done, details))
            .await?;
        let notified = match &account.email {
            Some(email) => Some(
                self.send(mail::passkey_email(
                    email,
                    account.name.as_str(),
                    &removed.join(", "),
                    false,
                    now,
                    lang,
                ))
                .await,
            ),
            None => None,
        };
        Ok(PasskeyRemoval { removed, notified })
    }
}
