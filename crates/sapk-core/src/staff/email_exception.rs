//! The exception path of the counter's e-mail change: a KTP whose NIK disagrees with the
//! NIP's birth date or gender.
//!
//! A NIK is issued for life. When the birth date was entered wrongly at registration,
//! Dukcapil keeps the number (it is not re-issued to correct the date), so an honest person
//! can fail the NIK×NIP check forever. One officer records the case with the reason and the
//! evidence seen (a Dukcapil letter, a birth certificate); a second registered officer or a
//! supervisor approves it under their own identity; only then does the e-mail change. The
//! change's audit record names both and marks it an approved exception. One person alone can
//! never do it: the approver must be another person than the requester, compared by officer
//! ID (the registry's person, whatever principal they sign in as) and by IAM Identity Center
//! user, not only by IAM principal.

use crate::domain::nik::NikMismatch;
use crate::domain::nip::Nip;
use crate::ports::PendingException;
use crate::service::Service;
use crate::service::Staff;
use crate::staff::{
    ChangeError, CheckFailure, CheckedChange, EmailChangeOutcome, EmailChangeRequest, Operator,
    StaffError,
};
use crate::text::audit_text::{Action, Outcome, Reason};
use serde_json::json;

/// How long a request waits for its approval.
pub const EXCEPTION_VALID_HOURS: i64 = 24;
/// The longest reason an officer may record.
pub const EXCEPTION_REASON_MAX: usize = 500;

const REQUEST: Action = Action::EmailExceptionRequest;
const APPROVE: Action = Action::EmailExceptionApprove;
const REJECT: Action = Action::EmailExceptionReject;

fn mismatch_code(m: &NikMismatch) -> &'static str {
    match m {
        NikMismatch::BirthDate => "birth_date",
        NikMismatch::Gender => "gender",
    }
}

/// The reason as recorded: white space folded; `None` when empty, too long or with
/// control characters.
fn clean_reason(raw: Option<&str>) -> Option<String> {
    let r = raw?.split_whitespace().collect::<Vec<_>>().join(" ");
    (!r.is_empty()
        && r.chars().count() <= EXCEPTION_REASON_MAX
        && !r
            .chars()
            .any(|c| c.is_control() || crate::text::i18n::is_invisible_format(c)))
    .then_some(r)
}

/// The most waiting requests one list shows (oldest first).
pub const WAITING_MAX: usize = 500;

/// A request waiting for a second officer, as the counter's list shows it: who and from
/// where, the new address masked. The reason, what disagrees and the documents are shown (and
/// that look recorded on the employee's trail) by the request's own view.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WaitingException {
    pub nip: Nip,
    pub name: String,
    pub new_email: String,
    pub requested_office: String,
    pub requested_office_name: String,
    pub requested_at: chrono::DateTime<chrono::Utc>,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Whether the reader asked for it (then they may not decide it).
    pub yours: bool,
}

/// The waiting requests an officer may see, oldest first, at most [`WAITING_MAX`]; `more`
/// says how many others in the scope were left out.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WaitingList {
    pub waiting: Vec<WaitingException>,
    pub more: usize,
}

impl PendingException {
    /// Whether a request is still waiting at `now`.
    pub fn is_open(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires_at > now
    }
}

impl Staff<'_> {
    /// Officer one: records an e-mail change whose NIK disagrees with the NIP, to wait for
    /// a second officer's approval. Every other check of an e-mail change must pass (the
    /// address, the KTP seen, the person confirmed, the version), and the request needs a
    /// reason and a document besides the KTP. Nothing about the account changes. Replaces
    /// an earlier request for the NIP; audited as requested or refused.
    pub async fn request_email_exception(
        self,
        nip: &Nip,
        req: &EmailChangeRequest,
        op: &Operator,
    ) -> Result<PendingException, ChangeError> {
        let reason = clean_reason(req.exception_reason.as_deref());
        let (c, seen) = self.check_email_change(nip, req, op, REQUEST).await?;
        let failure = if seen.mismatch.is_none() {
            Some(CheckFailure::ExceptionNotNeeded)
        } else if reason.is_none() {
            Some(CheckFailure::NoExceptionReason)
        } else if !seen.documents.iter().any(|d| d.kind != "ktp") {
            Some(CheckFailure::NoEvidence)
        } else {
            None
        };
        if let Some(f) = failure {
            return Err(self.refuse_check(op, nip, REQUEST, f, &c.base).await);
        }
        let now = self.now();
        let requested_officer_id = match &op.officer_id {
            Some(id) => id.clone(),
            None => self
                .store
                .get_officer(&op.id)
                .await
                .map_err(StaffError::from)?
                .map(|o| o.officer_id)
                .unwrap_or_default(),
        };
        let pending = PendingException {
            nip: nip.clone(),
            new_email: c.new_email.clone(),
            account_version: c.expected_version,
            reason: reason.unwrap_or_default(),
            mismatch: seen
                .mismatch
                .iter()
                .flatten()
                .map(|m| mismatch_code(m).to_owned())
                .collect(),
            nik_birth: seen.nik.birth_text(),
            nik_gender: seen.nik.gender(),
            identity: c.base.clone(),
            requested_by: op.id.clone(),
            requested_officer_id,
            requested_office: op.office.clone(),
            requested_office_name: op.office_name.clone(),
            requested_at: now,
            expires_at: now + chrono::Duration::hours(EXCEPTION_VALID_HOURS),
        };
        self.store.put_email_exception(&pending).await?;
        let mut details = c.base;
        details["reason"] = json!(pending.reason);
        details["mismatch"] = json!(pending.mismatch);
        details["expires_at"] = json!(pending.expires_at);
        self.staff_audit(self.staff_event(op, Some(nip), REQUEST, Outcome::Requested, details))
            .await?;
        Ok(pending)
    }

    /// The request waiting for `nip` as an officer reads it before deciding (the new
    /// address, what the NIK says): audited, as every look at personal data is.
    pub async fn view_email_exception(
        self,
        nip: &Nip,
        op: &Operator,
    ) -> Result<Option<PendingException>, StaffError> {
        let pending = self.pending_email_exception(nip).await?;
        let details = match &pending {
            Some(p) => json!({
                "new_email": self.email_for_audit(&p.new_email),
                "requested_by": p.requested_by,
            }),
            None => json!({ "pending": false }),
        };
        self.staff_audit(self.staff_event(
            op,
            Some(nip),
            Action::EmailExceptionViewed,
            Outcome::Ok,
            details,
        ))
        .await?;
        Ok(pending)
    }

    /// The requests waiting for a second officer within `op`'s scope, oldest first, with
    /// whether `op` asked for each (then they may not decide it). Audited once, on the
    /// records without a NIP, with how many were shown.
    pub async fn list_email_exceptions(
        self,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<WaitingList, StaffError> {
        let now = self.now();
        let mut open: Vec<PendingException> = self
            .store
            .list_email_exceptions()
            .await?
            .into_iter()
            .filter(|p| p.is_open(now))
            .collect();
        open.sort_by(|a, b| {
            (a.requested_at, a.nip.as_str()).cmp(&(b.requested_at, b.nip.as_str()))
        });
        // The scope first (from the accounts as they are now), then the cap: requests
        // elsewhere never push this officer's own out of the list.
        let mut mine = Vec::new();
        for chunk in open.chunks(100) {
            let nips: Vec<Nip> = chunk.iter().map(|p| p.nip.clone()).collect();
            let accounts = self.store.get_accounts(&nips).await?;
            mine.extend(chunk.iter().zip(accounts).filter_map(|(p, a)| {
                a.filter(|a| op.covers(a.instansi.as_deref()))
                    .map(|a| (p.clone(), a))
            }));
        }
        let more = mine.len().saturating_sub(WAITING_MAX);
        mine.truncate(WAITING_MAX);
        let mut waiting = Vec::with_capacity(mine.len());
        for (p, account) in mine {
            let yours = self.same_person(&p, op).await?;
            waiting.push(WaitingException {
                requested_office_name: crate::text::activity::office_label(
                    &p.requested_office,
                    p.requested_office_name.as_deref(),
                    lang,
                ),
                nip: p.nip,
                name: account.name.as_str().to_owned(),
                new_email: p.new_email.masked(),
                requested_office: p.requested_office,
                requested_at: p.requested_at,
                expires_at: p.expires_at,
                yours,
            });
        }
        // Who saw whose: the NIPs shown, in the one record of this look (the request itself,
        // its reason and documents, is shown and recorded per NIP by the view).
        let shown: Vec<&str> = waiting.iter().map(|w| w.nip.as_str()).collect();
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::EmailExceptionViewed,
            Outcome::Ok,
            json!({ "listed": waiting.len(), "nips": shown, "more": more }),
        ))
        .await?;
        Ok(WaitingList { waiting, more })
    }

    /// Whether `op` asked for the request waiting for `nip` (then they may not decide it).
    pub async fn is_requester(
        self,
        p: &crate::ports::PendingException,
        op: &Operator,
    ) -> Result<bool, StaffError> {
        self.same_person(p, op).await
    }

    /// The request waiting for `nip` (not audited: for the core's own checks).
    pub async fn pending_email_exception(
        self,
        nip: &Nip,
    ) -> Result<Option<PendingException>, StaffError> {
        let now = self.now();
        Ok(self
            .store
            .get_email_exception(nip)
            .await?
            .filter(|p| p.is_open(now)))
    }

    /// Officer two: approves the waiting request and changes the e-mail, as the counter's
    /// change does (sessions and reset code end, both addresses notified). Refused when the
    /// approver is the requester, when nothing is waiting (or it expired), when the account
    /// changed since the request, or when the address has meanwhile reached another
    /// employee without the requester's confirmation. The change's audit record carries
    /// both identities, the reason, what disagreed and the documents' masked numbers.
    pub async fn approve_email_exception(
        self,
        nip: &Nip,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<EmailChangeOutcome, ChangeError> {
        let p = self.open_exception(nip, op, APPROVE).await?;
        if self.same_person(&p, op).await? {
            return Err(self
                .refuse_check(op, nip, APPROVE, CheckFailure::SameOfficer, &p.identity)
                .await);
        }
        let Some(account) = self.store.get_account(nip).await? else {
            self.refuse_audited(op, nip, APPROVE, Reason::UnknownNip, p.identity.clone())
                .await?;
            return Err(StaffError::UnknownNip.into());
        };
        if account.version != p.account_version {
            self.refuse_audited(
                op,
                nip,
                APPROVE,
                Reason::ConcurrentChange,
                p.identity.clone(),
            )
            .await?;
            return Err(StaffError::Conflict.into());
        }
        let others = self.other_holders(&p.new_email, nip, op).await?;
        if others.any() {
            let f = CheckFailure::EmailInUse(others);
            return Err(self.refuse_check(op, nip, APPROVE, f, &p.identity).await);
        }
        let exception = json!({ "exception": {
            "reason": p.reason,
            "mismatch": p.mismatch,
            "nik_birth": p.nik_birth,
            "nik_gender": p.nik_gender,
            "requested_by": p.requested_by,
            "requested_officer_id": p.requested_officer_id,
            "requested_office": p.requested_office,
            "requested_at": p.requested_at,
            "approved_by": op.id,
            "approved_officer_id": op.officer_id,
            "approved_office": op.office,
        }});
        let change = CheckedChange {
            nip: nip.clone(),
            new_email: p.new_email.clone(),
            base: p.identity.clone(),
            expected_version: p.account_version,
            account,
        };
        self.apply_email_change(change, op, Outcome::ExceptionApproved, exception, lang)
            .await
    }

    /// Officer two turns the request down: it ends, and the record says who and why.
    pub async fn reject_email_exception(
        self,
        nip: &Nip,
        op: &Operator,
        why: Option<&str>,
    ) -> Result<(), ChangeError> {
        let p = self.open_exception(nip, op, REJECT).await?;
        self.store.delete_email_exception(nip).await?;
        let mut details = p.identity;
        details["requested_by"] = json!(p.requested_by);
        details["why"] = json!(clean_reason(why));
        self.staff_audit(self.staff_event(op, Some(nip), REJECT, Outcome::Rejected, details))
            .await?;
        Ok(())
    }
}

impl Service {
    /// The waiting request, or the refusal `no_pending_exception` (audited under `action`).
    async fn open_exception(
        &self,
        nip: &Nip,
        op: &Operator,
        action: Action,
    ) -> Result<PendingException, ChangeError> {
        match self.staff().pending_email_exception(nip).await? {
            Some(p) => Ok(p),
            None => Err(self
                .refuse_check(
                    op,
                    nip,
                    action,
                    CheckFailure::NoPendingException,
                    &json!({}),
                )
                .await),
        }
    }
}
