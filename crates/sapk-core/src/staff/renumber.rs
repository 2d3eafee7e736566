//! A new number for an employee (a corrected NIP, a PPPK at another agency, a PPPK become PNS): the account moves to it.

use crate::domain::email::Email;
use crate::domain::nip::{Nip, NipRules};
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome, Reason};
use serde::Serialize;
use serde_json::json;

use super::{Operator, StaffError};

/// Why an account moves to a new number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenumberReason {
    /// BKN corrected a wrong NIP (birth date, TMT or gender): "perbaikan NIP".
    Correction,
    /// A PPPK signed with another agency and got a new NI PPPK.
    PppkNewAgency,
    /// A PPPK became PNS and got a NIP.
    PppkToPns,
}

impl RenumberReason {
    /// Accepts the Indonesian and English names, with `-` or `_`.
    pub fn parse(s: &str) -> Option<RenumberReason> {
        match s.trim().to_lowercase().replace('-', "_").as_str() {
            "perbaikan" | "perbaikan_nip" | "correction" => Some(RenumberReason::Correction),
            "pindah_instansi" | "pppk_new_agency" | "new_agency" => {
                Some(RenumberReason::PppkNewAgency)
            }
            "pppk_ke_pns" | "pppk_to_pns" => Some(RenumberReason::PppkToPns),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            RenumberReason::Correction => "correction",
            RenumberReason::PppkNewAgency => "pppk_new_agency",
            RenumberReason::PppkToPns => "pppk_to_pns",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RenumberOutcome {
    /// The account now lives under the new number.
    Moved,
    /// The new number had an imported, not yet activated record: the account replaced it
    /// (name and agency from that newer record).
    Merged,
    /// Nothing to do: the old number is gone and the new one exists (a re-run).
    AlreadyMoved,
}

#[derive(Debug, Clone, Serialize)]
pub struct RenumberReport {
    pub old_nip: Nip,
    pub new_nip: Nip,
    pub outcome: RenumberOutcome,
    /// Whether the notice reached the account's e-mail (`None`: no e-mail or nothing moved).
    pub notified: Option<bool>,
}

/// The account at its new number: the old one's credentials (their version moved on, so
/// sessions and codes of the old number end), and from an account the import already made at
/// the new number its name, its agency and, if the old had none, its e-mail.
fn moved_account(
    source: &crate::ports::Account,
    target: Option<&crate::ports::Account>,
    new: &Nip,
    now: chrono::DateTime<chrono::Utc>,
) -> crate::ports::Account {
    let mut moved = source.clone();
    moved.nip = new.clone();
    moved.credential_version = source.credential_version + 1;
    moved.updated_at = now;
    moved.version = 0;
    if let Some(t) = target {
        moved.name = t.name.clone();
        if t.instansi.is_some() {
            moved.instansi = t.instansi.clone();
        }
        if moved.email.is_none() {
            moved.email = t.email.clone();
            moved.email_verified_at = t.email_verified_at;
        }
    }
    moved
}

impl Staff<'_> {
    /// Carries an account to its new number (a PPPK at another agency, a PPPK become PNS, a
    /// corrected NIP): password hash, e-mail and its counter verification move; sessions,
    /// reset code and lock-out of the old number end; the old number then answers like an
    /// unknown one. Both numbers get an audit record; the account's e-mail a notice.
    pub async fn renumber_employee(
        self,
        old_raw: &str,
        new_raw: &str,
        reason: RenumberReason,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<RenumberReport, StaffError> {
        // The old number was accepted once; read it whatever the PPPK setting is now.
        let old = Nip::parse_with(old_raw, self.now().date_naive(), &NipRules::permissive())?;
        let new = self.nip(new_raw)?;
        if old == new {
            return Err(StaffError::SameNip);
        }
        let details = json!({ "old_nip": old, "new_nip": new, "reason": reason.code() });
        let action = Action::AccountRenumber;
        let (of, nf) = (old.facts(), new.facts());
        if reason != RenumberReason::Correction
            && (of.birth_date != nf.birth_date || of.gender != nf.gender)
        {
            self.refuse_audited(op, &old, action, Reason::FactsDiffer, details)
                .await?;
            return Err(StaffError::RenumberMismatch);
        }
        let source = self.store.get_account(&old).await?;
        let target = self.store.get_account(&new).await?;
        let Some(source) = source else {
            if target.is_some() {
                return Ok(RenumberReport {
                    old_nip: old,
                    new_nip: new,
                    outcome: RenumberOutcome::AlreadyMoved,
                    notified: None,
                });
            }
            self.refuse_audited(op, &old, action, Reason::UnknownNip, details)
                .await?;
            return Err(StaffError::UnknownNip);
        };
        if target.as_ref().is_some_and(|t| t.password_hash.is_some()) {
            self.refuse_audited(op, &old, action, Reason::NewNipActive, details)
                .await?;
            return Err(StaffError::NewNipInUse);
        }
        let now = self.now();
        let moved = moved_account(&source, target.as_ref(), &new, now);
        if let Err(e) = self
            .store
            .renumber_account(&source, &moved, target.as_ref())
            .await
        {
            let e = StaffError::from(e);
            if matches!(e, StaffError::Conflict) {
                self.refuse_audited(op, &old, action, Reason::ConcurrentChange, details)
                    .await?;
            }
            return Err(e);
        }
        let outcome = if target.is_some() {
            RenumberOutcome::Merged
        } else {
            RenumberOutcome::Moved
        };
        let notified = self
            .renumbered(op, &old, &new, &moved, outcome, details, lang)
            .await?;
        Ok(RenumberReport {
            old_nip: old,
            new_nip: new,
            outcome,
            notified,
        })
    }
}

impl Service {
    /// After the move: the audit record on both numbers, and the notice to the account's
    /// e-mail (`None`: it has none).
    #[allow(clippy::too_many_arguments)]
    async fn renumbered(
        &self,
        op: &Operator,
        old: &Nip,
        new: &Nip,
        moved: &crate::ports::Account,
        outcome: RenumberOutcome,
        mut details: serde_json::Value,
        lang: crate::text::i18n::Lang,
    ) -> Result<Option<bool>, StaffError> {
        let action = Action::AccountRenumber;
        details["email"] = json!(moved.email.as_ref().map(Email::masked));
        self.staff_audit(self.staff_event(
            op,
            Some(old),
            action,
            Outcome::MovedOut,
            details.clone(),
        ))
        .await?;
        let in_outcome = match outcome {
            RenumberOutcome::Merged => Outcome::MergedIn,
            _ => Outcome::MovedIn,
        };
        self.staff_audit(self.staff_event(op, Some(new), action, in_outcome, details))
            .await?;
        Ok(match &moved.email {
            Some(to) => Some(
                self.send(crate::mail::nip_changed_email(
                    to,
                    moved.name.as_str(),
                    old,
                    new,
                    self.now(),
                    lang,
                ))
                .await,
            ),
            None => None,
        })
    }
}
