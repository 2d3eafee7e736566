//! The counter's e-mail change: identity seen in person, checks, one atomic write.

use crate::domain::email::Email;
use crate::domain::nip::Nip;
use crate::ports::{Account, StoreError};
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome, Reason};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::identity_check::{CheckFailure, DocumentSeen, IdentityCheck};
use super::{Operator, StaffError};

/// An e-mail change as the counter submits it, as the officer typed it: the core parses
/// and checks every field and audits every refusal, whether it comes from the CLI on one
/// machine or through the staff API.
#[derive(Clone, Default, Serialize, Deserialize)]
#[serde(from = "EmailChangeBody")]
pub struct EmailChangeRequest {
    pub new_email: String,
    /// The in-person check: `nik`, `documents`, `person_confirmed`.
    #[serde(flatten)]
    pub identity: IdentityCheck,
    /// Change only if the account is still at this version (from the overview); without
    /// it, the version read at the change.
    #[serde(default)]
    pub if_version: Option<u64>,
    /// For an exception request only: why the NIK may disagree with the NIP (what the
    /// officer saw, e.g. a Dukcapil letter or a birth certificate).
    #[serde(default)]
    pub exception_reason: Option<String>,
}

/// The request's JSON as read: every field named, any other refused. A misspelled field
/// (`ifVersion`) must not quietly turn a check off. `serde` cannot refuse unknown fields
/// beside a flattened one, hence this flat twin.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EmailChangeBody {
    new_email: String,
    #[serde(default)]
    nik: Option<String>,
    #[serde(default)]
    documents: Vec<DocumentSeen>,
    #[serde(default)]
    person_confirmed: bool,
    #[serde(default)]
    if_version: Option<u64>,
    #[serde(default)]
    exception_reason: Option<String>,
}

impl From<EmailChangeBody> for EmailChangeRequest {
    fn from(b: EmailChangeBody) -> Self {
        EmailChangeRequest {
            new_email: b.new_email,
            identity: IdentityCheck {
                nik: b.nik,
                documents: b.documents,
                person_confirmed: b.person_confirmed,
            },
            if_version: b.if_version,
            exception_reason: b.exception_reason,
        }
    }
}

/// An e-mail change that passed every check but (possibly) the NIK×NIP match.
pub(crate) struct CheckedChange {
    pub nip: Nip,
    pub new_email: Email,
    /// The identity record for the audit trail: masked and keyed-hashed numbers only.
    pub base: serde_json::Value,
    pub account: Account,
    pub expected_version: u64,
}

/// What the identity check saw, beside a [`CheckedChange`].
pub(crate) struct IdentitySeen {
    /// Where the KTP's NIK disagrees with the NIP, if it does.
    pub mismatch: Option<Vec<crate::domain::nik::NikMismatch>>,
    pub nik: crate::domain::nik::Nik,
    pub documents: Vec<DocumentSeen>,
}

/// The NIK and document numbers are personal data: never in logs.
impl std::fmt::Debug for EmailChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChangeRequest")
            .field("new_email", &"<redacted>")
            .field("identity", &self.identity)
            .field("if_version", &self.if_version)
            .field(
                "exception_reason",
                &self.exception_reason.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailChangeOutcome {
    pub nip: Nip,
    pub old_email: Option<Email>,
    pub new_email: Email,
    pub old_notified: Option<bool>,
    pub new_notified: bool,
    /// Whether the new address was on the mail service's suppression list and was taken off
    /// it (`None`: no such list here, or it could not be reached).
    #[serde(default)]
    pub unsuppressed: Option<bool>,
}

/// Why an e-mail change did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("identity check failed: {0}")]
    Check(CheckFailure),
    #[error(transparent)]
    Staff(#[from] StaffError),
}

impl ChangeError {
    /// The stable reason code in audit records and API answers.
    pub fn reason_code(&self) -> Reason {
        match self {
            ChangeError::Check(f) => f.reason_code(),
            ChangeError::Staff(s) => s.reason_code(),
        }
    }

    /// The stable reason code in audit records and answers.
    pub fn reason(&self) -> &'static str {
        self.reason_code().code()
    }
}

impl From<StoreError> for ChangeError {
    fn from(e: StoreError) -> Self {
        ChangeError::Staff(e.into())
    }
}

impl Staff<'_> {
    /// The counter's e-mail change, whole: parses what the officer typed (the NIK, the
    /// documents), checks the NIK against the NIP, the KTP among the documents, the
    /// officer's confirmation and the version, and changes the e-mail only if the account is
    /// still at `if_version` (no lost update when two officers act at once). Ends every
    /// session and reset code, writes the change and its audit record in one atomic write,
    /// then notifies the old and the new address. Every refusal is audited.
    ///
    /// A NIK that disagrees with the NIP is refused here; the exception path
    /// ([`Service::request_email_exception`]) takes such a case to a second officer.
    pub async fn change_email(
        self,
        nip: &Nip,
        req: &EmailChangeRequest,
        op: &Operator,
        lang: crate::text::i18n::Lang,
    ) -> Result<EmailChangeOutcome, ChangeError> {
        let (c, seen) = self
            .check_email_change(nip, req, op, Action::EmailChange)
            .await?;
        if let Some(m) = seen.mismatch {
            return Err(self
                .refuse_check(
                    op,
                    nip,
                    Action::EmailChange,
                    CheckFailure::NikMismatch(m),
                    &c.base,
                )
                .await);
        }
        self.apply_email_change(c, op, Outcome::Changed, json!({}), lang)
            .await
    }
}

impl Service {
    /// Records a refused check in the employee's trail and returns it as the error.
    pub(crate) async fn refuse_check(
        &self,
        op: &Operator,
        nip: &Nip,
        action: Action,
        f: CheckFailure,
        details: &serde_json::Value,
    ) -> ChangeError {
        match self
            .refuse_audited(op, nip, action, f.reason_code(), details.clone())
            .await
        {
            Ok(()) => ChangeError::Check(f),
            Err(e) => e.into(),
        }
    }

    /// Everything an e-mail change checks but the NIK×NIP match, which it returns for the
    /// caller to decide on (a refusal, or an exception for a second officer). Refusals are
    /// audited under `action`.
    pub(crate) async fn check_email_change(
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
        op: &Operator,
        action: Action,
    ) -> Result<(CheckedChange, IdentitySeen), ChangeError> {
        let new_email = match Email::parse(&req.new_email) {
            Ok(e) => e,
            Err(e) => {
                self.refuse_audited(op, nip, action, Reason::InvalidEmail, json!({}))
                    .await?;
                return Err(StaffError::from(e).into());
            }
        };
        // NIK and document numbers are keyed with a key of their own, never the token key.
        let Some(pii) = self.pii_key.as_ref() else {
            return Err(StaffError::NoPiiKey.into());
        };
        // One address, one ASN (BKN's rule): an address another account holds is refused
        // before any other question, naming only the holders in the officer's scope.
        let others = self.other_holders(&new_email, nip, op).await?;
        let audited_email = self.email_for_audit(&new_email);
        if others.any() {
            let d = json!({ "new_email": audited_email });
            return Err(self
                .refuse_check(op, nip, action, CheckFailure::EmailInUse(others), &d)
                .await);
        }
        let (nik, documents, mut base) = match req.identity.record(pii) {
            Ok(x) => x,
            Err(f) => {
                let d = json!({ "new_email": audited_email });
                return Err(self.refuse_check(op, nip, action, f, &d).await);
            }
        };
        base["new_email"] = audited_email;
        let Some(account) = self.store.get_account(nip).await? else {
            self.refuse_audited(op, nip, action, Reason::UnknownNip, base)
                .await?;
            return Err(StaffError::UnknownNip.into());
        };
        let failure = req
            .identity
            .failure(documents.as_deref())
            .or((account.email.as_ref() == Some(&new_email)).then_some(CheckFailure::SameEmail));
        let mismatch = nik.check_against(nip).err();
        // For a plain change a mismatch is reported before the other failures: it is what the
        // officer must see first (and what decides whether an exception is the way on). An
        // exception request exists because of the mismatch: its other failures speak.
        if let Some(f) = failure {
            let f = match mismatch {
                Some(m) if action != Action::EmailExceptionRequest => CheckFailure::NikMismatch(m),
                _ => f,
            };
            return Err(self.refuse_check(op, nip, action, f, &base).await);
        }
        let expected_version = req.if_version.unwrap_or(account.version);
        if account.version != expected_version {
            self.refuse_audited(op, nip, action, Reason::ConcurrentChange, base)
                .await?;
            return Err(StaffError::Conflict.into());
        }
        Ok((
            CheckedChange {
                nip: nip.clone(),
                new_email,
                base,
                account,
                expected_version,
            },
            IdentitySeen {
                mismatch,
                nik,
                documents: documents.unwrap_or_default(),
            },
        ))
    }

    /// Writes a checked e-mail change: the change, the end of every session and reset code
    /// (with the credential version) and its audit record (outcome `outcome`, `extra`
    /// merged into the details) in one atomic write; then notifies both addresses.
    pub(crate) async fn apply_email_change(
        &self,
        c: CheckedChange,
        op: &Operator,
        outcome: Outcome,
        extra: serde_json::Value,
        lang: crate::text::i18n::Lang,
    ) -> Result<EmailChangeOutcome, ChangeError> {
        let CheckedChange {
            nip,
            new_email,
            base,
            account,
            expected_version,
        } = c;
        let now = self.now();
        let mut updated = account.clone();
        updated.email = Some(new_email.clone());
        updated.email_verified_at = Some(now);
        updated.credential_version += 1;
        updated.updated_at = now;
        let mut details = base.clone();
        details["old_email"] = json!(account.email.as_ref().map(|e| self.email_for_audit(e)));
        if let (Some(d), serde_json::Value::Object(x)) = (details.as_object_mut(), extra) {
            d.extend(x);
        }
        let record = self.staff_event(op, Some(&nip), Action::EmailChange, outcome, details);
        // The change, the end of the code (sessions end with the credential version), any
        // pending exception and the audit record: one atomic write.
        if let Err(e) = self
            .sealed_write(&record, crate::service::Head::Unknown, |sealed| {
                let (updated, previous) = (&updated, account.email.as_ref());
                async move {
                    self.store
                        .change_email_audited(updated, expected_version, previous, &sealed)
                        .await
                }
            })
            .await
        {
            let e = StaffError::from(e);
            let reason = match e {
                StaffError::Conflict => Some(Reason::ConcurrentChange),
                StaffError::EmailTaken { .. } => Some(Reason::EmailInUse),
                _ => None,
            };
            if let Some(reason) = reason {
                self.refuse_audited(op, &nip, Action::EmailChange, reason, base)
                    .await?;
            }
            return Err(e.into());
        }
        self.reclaim_if_shared(account.email.as_ref()).await;
        let (released, old_notified, new_notified) = self
            .after_email_change(&nip, &account, &new_email, op, now, lang)
            .await;
        Ok(EmailChangeOutcome {
            nip,
            old_email: account.email,
            new_email,
            old_notified,
            new_notified,
            unsuppressed: released,
        })
    }

    /// After a change: the old address's mail status cleared, the new address taken off the
    /// mail service's suppression list (an old bounce or complaint would stop the next code;
    /// an officer has checked it now), and both addresses told. Returns whether the new
    /// address was on the list (`None`: unknown), and whether each was told.
    async fn after_email_change(
        &self,
        nip: &Nip,
        account: &crate::ports::Account,
        new_email: &Email,
        op: &Operator,
        now: chrono::DateTime<chrono::Utc>,
        lang: crate::text::i18n::Lang,
    ) -> (Option<bool>, Option<bool>, bool) {
        if let Err(e) = self.store.delete_mail_status(nip).await {
            tracing::warn!(error = %e, "mail status of the old address not cleared");
        }
        let released = match &self.suppressions {
            Some(list) => match list.release(new_email).await {
                Ok(was_listed) => Some(was_listed),
                Err(e) => {
                    tracing::warn!(error = %e, "new address not taken off the suppression list");
                    None
                }
            },
            None => None,
        };
        let office = op.office_label(lang);
        let old_notified = match &account.email {
            Some(old) => Some(
                self.send(crate::mail::email_changed_old_email(
                    old,
                    account.name.as_str(),
                    &new_email.masked(),
                    crate::mail::ChangedBy::Office(&office),
                    now,
                    lang,
                ))
                .await,
            ),
            None => None,
        };
        let new_notified = self
            .send(crate::mail::email_changed_new_email(
                new_email,
                account.name.as_str(),
                &office,
                now,
                lang,
            ))
            .await;
        (released, old_notified, new_notified)
    }
}
