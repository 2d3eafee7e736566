//! Staff actions behind the admin CLI: import, look-up and the counter workflow. Each one is
//! audited with the operator's identity.

use crate::audit_chain::ChainReport;
use crate::audit_text::{Action, Outcome, Reason};
use crate::email::{Email, EmailError};
use crate::nip::{Nip, NipError, NipFacts, NipRules};
use crate::ports::{Account, AuditEvent, StoreError};
use crate::service::Service;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The officer at the keyboard, recorded on every action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub id: String,
    pub office: String,
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("invalid NIP: {0}")]
    InvalidNip(#[from] NipError),
    #[error("invalid e-mail: {0}")]
    InvalidEmail(#[from] EmailError),
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    #[error("no employee with this NIP")]
    UnknownNip,
    #[error("the account is activated and its e-mail differs; change it at the counter with `email change`")]
    EmailNeedsCounter,
    #[error("someone else changed this account meanwhile; look it up again")]
    Conflict,
    #[error("the old and the new number are the same")]
    SameNip,
    #[error("no key for NIK and document numbers is configured (SAPK_PII_KEY)")]
    NoPiiKey,
    #[error("forbidden: {0:?}")]
    Forbidden(Forbidden),
    #[error("the new number already has an activated account")]
    NewNipInUse,
    #[error("the new number's birth date or gender differs from the old one's; only a correction (perbaikan NIP) may change them")]
    RenumberMismatch,
    #[error("the employee has no two-step login to remove")]
    NoSecondFactor,
    #[error("store: {0}")]
    Store(StoreError),
}

impl StaffError {
    /// The stable reason code in audit records and answers.
    pub fn reason_code(&self) -> Reason {
        match self {
            StaffError::InvalidNip(_) => Reason::InvalidNip,
            StaffError::InvalidEmail(_) => Reason::InvalidEmail,
            StaffError::InvalidName(_) => Reason::InvalidName,
            StaffError::UnknownNip => Reason::UnknownNip,
            StaffError::EmailNeedsCounter => Reason::EmailNeedsCounter,
            StaffError::Conflict => Reason::ConcurrentChange,
            StaffError::SameNip => Reason::SameNip,
            StaffError::NoPiiKey => Reason::NoPiiKey,
            StaffError::Forbidden(f) => f.reason_code(),
            StaffError::NewNipInUse => Reason::NewNipInUse,
            StaffError::RenumberMismatch => Reason::RenumberMismatch,
            StaffError::NoSecondFactor => Reason::NoSecondFactor,
            StaffError::Store(_) => Reason::Unavailable,
        }
    }

    /// The stable reason code in audit records and answers.
    pub fn reason(&self) -> &'static str {
        self.reason_code().code()
    }
}

impl StaffError {
    /// What the officer reads, in their language.
    pub fn text(&self, lang: crate::Lang) -> String {
        match self {
        StaffError::InvalidNip(n) => format!("{}: {}", lang.pick("NIP tidak valid", "invalid NIP"), n.text(lang)),
        StaffError::InvalidEmail(m) => m.text(lang),
        StaffError::InvalidName(why) => format!("{}: {why}", lang.pick("nama tidak valid", "invalid name")),
        StaffError::UnknownNip => lang.pick("NIP tidak terdaftar", "no employee with this NIP").into(),
        StaffError::EmailNeedsCounter => lang
            .pick(
                "akun sudah aktif dan emailnya berbeda; ganti email hanya lewat verifikasi di loket (`email change`)",
                "the account is active and its e-mail differs; change it only after the counter check (`email change`)",
            )
            .into(),
        StaffError::Conflict => lang
            .pick(
                "akun diubah orang lain pada saat yang sama; tampilkan ulang lalu coba lagi",
                "someone else changed this account at the same time; look it up again and retry",
            )
            .into(),
        StaffError::NoPiiKey => lang
            .pick(
                "kunci untuk NIK dan nomor dokumen belum diatur (SAPK_PII_KEY)",
                "no key for NIK and document numbers is configured (SAPK_PII_KEY)",
            )
            .into(),
        StaffError::Forbidden(why) => match why {
            Forbidden::Unregistered => lang.pick(
                "identitas Anda belum terdaftar sebagai petugas; minta supervisor mendaftarkannya",
                "your identity is not registered as an officer; ask your supervisor to register it",
            ),
            Forbidden::Deactivated => lang.pick(
                "pendaftaran Anda sebagai petugas dinonaktifkan",
                "your registration as an officer is deactivated",
            ),
            Forbidden::OutOfScope => lang.pick(
                "pegawai ini bukan dari instansi Anda; hanya kantor BKN yang boleh melayaninya",
                "this employee is not of your agency; only a BKN office may act on them",
            ),
        }
        .into(),
        StaffError::SameNip => lang
            .pick("nomor lama dan nomor baru sama", "the old and the new number are the same")
            .into(),
        StaffError::NewNipInUse => lang
            .pick(
                "nomor baru sudah memiliki akun yang aktif; tidak ada yang dipindahkan",
                "the new number already has an activated account; nothing was moved",
            )
            .into(),
        StaffError::RenumberMismatch => lang
            .pick(
                "tanggal lahir atau jenis kelamin pada nomor baru berbeda dari nomor lama; hanya perbaikan NIP (--reason perbaikan) yang boleh mengubahnya",
                "the new number's birth date or gender differs from the old one's; only a correction (--reason perbaikan) may change them",
            )
            .into(),
        StaffError::NoSecondFactor => lang
            .pick(
                "pegawai ini tidak memakai verifikasi dua langkah; tidak ada yang dihapus",
                "this employee has no two-step login; nothing was removed",
            )
            .into(),
        StaffError::Store(s) => format!("{}: {s}", lang.pick("penyimpanan data gagal", "the store failed")),
    }
    }
}

impl From<StoreError> for StaffError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => StaffError::Conflict,
            other => StaffError::Store(other),
        }
    }
}

/// Why a staff request is refused (403).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Forbidden {
    /// The signed-in principal is not in the staff registry.
    Unregistered,
    /// The officer's registration was deactivated.
    Deactivated,
    /// An agency officer acting on an employee of another agency.
    OutOfScope,
}

impl Forbidden {
    pub fn reason_code(self) -> Reason {
        match self {
            Forbidden::Unregistered => Reason::Unregistered,
            Forbidden::Deactivated => Reason::Deactivated,
            Forbidden::OutOfScope => Reason::OutOfScope,
        }
    }

    pub fn code(self) -> &'static str {
        self.reason_code().code()
    }
}

impl crate::ports::Officer {
    /// The identity every audit record of this officer's actions carries: the IAM
    /// principal and the registered office.
    pub fn operator(&self) -> Operator {
        Operator {
            id: self.principal.clone(),
            office: self.office.clone(),
        }
    }
}

impl Service {
    /// The registered, active officer signed in as `principal`. An unregistered or
    /// deactivated principal is refused, and the refusal audited (in the trail of the
    /// employee the request was about, `target`, when there is one).
    pub async fn authorize_officer(
        &self,
        principal: &str,
        target: Option<&Nip>,
    ) -> Result<crate::ports::Officer, StaffError> {
        let officer = self.store.get_officer(principal).await?;
        let why = match &officer {
            None => Forbidden::Unregistered,
            Some(o) if !o.active => Forbidden::Deactivated,
            Some(o) => return Ok(o.clone()),
        };
        let op = Operator {
            id: principal.to_owned(),
            office: officer.map_or_else(|| "UNREGISTERED".to_owned(), |o| o.office),
        };
        let mut ev = self.staff_event(
            &op,
            target,
            Action::StaffRequest,
            Outcome::Refused,
            json!({}),
        );
        ev.details = json!({ "reason": why.code() });
        self.staff_audit(ev).await?;
        Err(StaffError::Forbidden(why))
    }

    /// Refuses, audited, an action on `account` outside the officer's scope (an agency HR
    /// officer may act only on employees of their own `instansi`).
    pub async fn check_scope(
        &self,
        officer: &crate::ports::Officer,
        account: &Account,
        action: Action,
    ) -> Result<(), StaffError> {
        if officer.scope.covers(account.instansi.as_deref()) {
            return Ok(());
        }
        self.refuse_audited(
            &officer.operator(),
            &account.nip,
            action,
            Forbidden::OutOfScope.reason_code(),
            json!({ "scope": officer.scope.as_text() }),
        )
        .await?;
        Err(StaffError::Forbidden(Forbidden::OutOfScope))
    }

    /// Registers or replaces an officer (a supervisor's action, audited under the
    /// supervisor's identity).
    pub async fn register_officer(
        &self,
        mut officer: crate::ports::Officer,
        by: &Operator,
    ) -> Result<(), StaffError> {
        officer.principal = officer.principal.trim().to_owned();
        if officer.principal.is_empty() || officer.office.trim().is_empty() {
            return Err(StaffError::InvalidName("principal and office are required"));
        }
        officer.name = clean_name(&officer.name)?;
        officer.updated_at = self.now();
        self.store.put_officer(&officer).await?;
        self.staff_audit(self.staff_event(
            by,
            None,
            Action::StaffRegistry,
            if officer.active {
                Outcome::Registered
            } else {
                Outcome::Deactivated
            },
            json!({
                "principal": officer.principal,
                "officer_id": officer.officer_id,
                "office": officer.office,
                "scope": officer.scope.as_text(),
            }),
        ))
        .await
    }
}

/// One row of an employee export (`nip,name,email[,instansi]`).
#[derive(Debug, Clone, Default)]
pub struct EmployeeRow {
    pub nip: String,
    pub name: String,
    pub email: String,
    /// The agency; `None` when the export has no such column (the employee keeps theirs),
    /// an empty text when the column is there and empty (the agency is cleared).
    pub instansi: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// The row's e-mail differs from one verified at a counter: the e-mail was kept (any
    /// other change applied).
    KeptCounterEmail,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeSummary {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts_left: u32,
}

/// Rows a bulk import reads in one batch (DynamoDB's BatchGetItem takes 100 keys).
pub const IMPORT_BATCH: usize = 100;

/// Whether the employee has ever set a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// No password yet: the account is activated by the first reset.
    NotActivated,
    Active,
}

impl AccountState {
    /// What the officer reads.
    pub fn text(self, l: crate::Lang) -> &'static str {
        match self {
            AccountState::Active => l.pick("aktif", "active"),
            AccountState::NotActivated => l.pick(
                "belum aktivasi (belum pernah membuat password)",
                "not activated (no password set yet)",
            ),
        }
    }
}

/// What `employee show` tells an officer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmployeeOverview {
    pub nip: Nip,
    pub facts: NipFacts,
    pub name: String,
    pub email: Option<Email>,
    pub email_masked: Option<String>,
    /// When staff set the e-mail after the in-person check (import never changes it then).
    pub email_verified_at: Option<DateTime<Utc>>,
    pub instansi: Option<String>,
    pub state: AccountState,
    pub login_failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    pub active_code: Option<CodeSummary>,
    pub password_changed_at: Option<DateTime<Utc>>,
    /// Whether two-step login (an authenticator app) is on.
    #[serde(default)]
    pub second_factor: bool,
    pub credential_version: u64,
    /// Guards a following change (`email change --if-version`).
    pub version: u64,
    pub recent_audit: Vec<AuditEvent>,
    /// When asked about a new address: the other employees (masked NIPs) who have it.
    #[serde(default)]
    pub new_email_holders: Vec<String>,
    /// What became of the last e-mail (delivered, bounced…), from the mail service's events.
    #[serde(default)]
    pub mail_status: Option<crate::mail_status::MailStatus>,
}

/// Invisible formatting (bidi overrides, zero-width characters) is dropped; white space
/// is folded; control characters are refused.
fn clean_name(raw: &str) -> Result<String, StaffError> {
    let visible: String = raw
        .chars()
        .filter(|c| !crate::i18n::is_invisible_format(*c))
        .collect();
    let name = visible.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Err(StaffError::InvalidName("empty"));
    }
    if name.chars().count() > 200 {
        return Err(StaffError::InvalidName("longer than 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(StaffError::InvalidName("control characters"));
    }
    Ok(name)
}

/// An agency name: invisible formatting and control characters dropped, white space
/// folded.
fn clean_optional(raw: Option<&str>) -> Option<String> {
    raw.map(|s| {
        s.chars()
            .filter(|c| !c.is_control() && !crate::i18n::is_invisible_format(*c))
            .collect::<String>()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    })
    .filter(|s| !s.is_empty())
}

impl Service {
    pub(crate) fn staff_event(
        &self,
        op: &Operator,
        nip: Option<&Nip>,
        action: Action,
        outcome: Outcome,
        details: serde_json::Value,
    ) -> AuditEvent {
        AuditEvent {
            at: self.now(),
            actor: op.id.clone(),
            office: Some(op.office.clone()),
            nip: nip.cloned(),
            source_ip: None,
            action: action.code().to_owned(),
            outcome: outcome.code().to_owned(),
            details,
            link: None,
        }
    }

    /// Staff audit records must be written: a failed append fails the action's report.
    pub(crate) async fn staff_audit(&self, event: AuditEvent) -> Result<(), StaffError> {
        self.append_chained(&event).await.map_err(StaffError::Store)
    }

    /// One record for a whole import run (its file, counts and time); the rows that changed
    /// have their own records.
    pub async fn record_import_run(
        &self,
        op: &Operator,
        summary: serde_json::Value,
    ) -> Result<(), StaffError> {
        self.staff_audit(self.staff_event(
            op,
            None,
            Action::EmployeeImportRun,
            Outcome::Done,
            summary,
        ))
        .await
    }

    /// Creates or updates one employee; idempotent. The e-mail of an activated account is
    /// only changed at the counter (identity check), never by import.
    pub async fn import_employee(
        &self,
        row: &EmployeeRow,
        op: &Operator,
    ) -> Result<ImportOutcome, StaffError> {
        self.import_row(row, op, None).await
    }

    /// Imports a batch of rows (a bulk import feeds [`IMPORT_BATCH`] at a time): one
    /// batched read of the accounts that exist (BatchGetItem on DynamoDB), then each row's
    /// conditional write, at most `jobs` at once. The writes stay one per row: a new account
    /// is created only if none appeared meanwhile, a change only at the version read, which a
    /// batched write cannot express. A row whose account changed since the batch read is
    /// read again and retried once; a failed batch read falls back to a read per row. One
    /// result per row, in order.
    pub async fn import_employees(
        &self,
        rows: &[EmployeeRow],
        op: &Operator,
        jobs: usize,
    ) -> Vec<Result<ImportOutcome, StaffError>> {
        use futures_util::stream::{self, StreamExt};
        let nips: Vec<Option<Nip>> = rows.iter().map(|r| self.nip(&r.nip).ok()).collect();
        let valid: Vec<Nip> = nips.iter().flatten().cloned().collect();
        let mut found: std::collections::HashMap<Nip, Option<Account>> =
            match self.store.get_accounts(&valid).await {
                Ok(accounts) => valid.into_iter().zip(accounts).collect(),
                Err(e) => {
                    tracing::warn!(error = %e, "batched account read failed; reading per row");
                    std::collections::HashMap::new()
                }
            };
        let prefetched: Vec<Option<Option<Account>>> = nips
            .iter()
            .map(|n| n.as_ref().and_then(|n| found.get(n).cloned()))
            .collect();
        found.clear();
        stream::iter(rows.iter().zip(prefetched))
            .map(|(row, known)| async move {
                match self.import_row(row, op, known).await {
                    Err(StaffError::Conflict) => self.import_row(row, op, None).await,
                    other => other,
                }
            })
            .buffered(jobs.max(1))
            .collect()
            .await
    }

    /// One row; `known` is the account as a batch read found it (`None`: read it now).
    async fn import_row(
        &self,
        row: &EmployeeRow,
        op: &Operator,
        known: Option<Option<Account>>,
    ) -> Result<ImportOutcome, StaffError> {
        let nip = self.nip(&row.nip)?;
        let name = clean_name(&row.name)?;
        let email = match row.email.trim() {
            "" => None,
            e => Some(Email::parse(e)?),
        };
        let instansi = clean_optional(row.instansi.as_deref());
        let now = self.now();
        let existing = match known {
            Some(k) => k,
            None => self.store.get_account(&nip).await?,
        };
        let outcome = match existing {
            None => {
                let account = Account {
                    nip: nip.clone(),
                    name,
                    email: email.clone(),
                    email_verified_at: None,
                    instansi,
                    password_hash: None,
                    credential_version: 0,
                    password_changed_at: None,
                    second_factor: None,
                    created_at: now,
                    updated_at: now,
                    version: 0,
                };
                self.store.insert_account(&account).await?;
                ImportOutcome::Created
            }
            Some(existing) => {
                // An export without the agency column keeps each employee's agency.
                let instansi = match row.instansi {
                    None => existing.instansi.clone(),
                    Some(_) => instansi,
                };
                // An e-mail set at a counter after the in-person check is never changed by
                // an import: the export may be older than the visit.
                let keep_email = existing.email_verified_at.is_some() && existing.email != email;
                let email = if keep_email {
                    existing.email.clone()
                } else {
                    email.clone()
                };
                if existing.name == name && existing.email == email && existing.instansi == instansi
                {
                    if keep_email {
                        ImportOutcome::KeptCounterEmail
                    } else {
                        ImportOutcome::Unchanged
                    }
                } else {
                    if existing.email != email && existing.password_hash.is_some() {
                        return Err(StaffError::EmailNeedsCounter);
                    }
                    let mut updated = existing.clone();
                    updated.name = name;
                    updated.email = email.clone();
                    updated.instansi = instansi;
                    updated.updated_at = now;
                    let email_changed = existing.email != email;
                    if email_changed {
                        // Codes sent to the old address die with the credential version.
                        updated.credential_version += 1;
                    }
                    self.store
                        .update_account(&updated, existing.version)
                        .await?;
                    if email_changed {
                        if let Some(old) = &existing.email {
                            self.send(crate::mail::email_changed_old_email(
                                old,
                                &updated.name,
                                &email.as_ref().map_or_else(|| "-".to_owned(), Email::masked),
                                crate::mail::ChangedBy::Import,
                                now,
                                crate::Lang::Id,
                            ))
                            .await;
                        }
                    }
                    if keep_email {
                        ImportOutcome::KeptCounterEmail
                    } else {
                        ImportOutcome::Updated
                    }
                }
            }
        };
        if outcome != ImportOutcome::Unchanged {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                Action::EmployeeImported,
                match outcome {
                    ImportOutcome::Created => Outcome::Created,
                    ImportOutcome::KeptCounterEmail => Outcome::KeptCounterEmail,
                    _ => Outcome::Updated,
                },
                json!({ "email": email.as_ref().map(Email::masked) }),
            ))
            .await?;
        }
        Ok(outcome)
    }

    /// Everything an officer needs to see about one employee. The look-up itself is audited.
    pub async fn employee_overview(
        &self,
        nip_raw: &str,
        op: &Operator,
        audit_limit: usize,
    ) -> Result<EmployeeOverview, StaffError> {
        self.employee_overview_for(nip_raw, op, audit_limit, None)
            .await
    }

    /// [`Service::employee_overview`] before an e-mail change to `new_email`: also says who
    /// else already has that address, so the officer is warned before any question.
    pub async fn employee_overview_for(
        &self,
        nip_raw: &str,
        op: &Operator,
        audit_limit: usize,
        new_email: Option<&str>,
    ) -> Result<EmployeeOverview, StaffError> {
        let nip = self.nip(nip_raw)?;
        let account = self.store.get_account(&nip).await?;
        let Some(a) = account else {
            self.staff_audit(self.staff_event(
                op,
                Some(&nip),
                Action::EmployeeViewed,
                Outcome::UnknownNip,
                json!(null),
            ))
            .await?;
            return Err(StaffError::UnknownNip);
        };
        let now = self.now();
        let throttle = self
            .store
            .get_throttles(&[nip.as_str().to_owned()])
            .await?
            .pop()
            .flatten()
            .filter(|t| t.expires_at > now);
        let code = self.store.get_reset_code(&nip).await?.filter(|c| {
            c.expires_at > now
                && c.attempts_left > 0
                && c.credential_version == a.credential_version
        });
        self.staff_audit(self.staff_event(
            op,
            Some(&nip),
            Action::EmployeeViewed,
            Outcome::Ok,
            json!(null),
        ))
        .await?;
        let recent_audit = self.store.list_audit(&nip, audit_limit).await?;
        let mail_status = self.store.get_mail_status(&nip).await?;
        let new_email_holders = match new_email.map(Email::parse) {
            Some(Ok(e)) => self.other_holders(&e, &nip).await?,
            _ => Vec::new(),
        };
        Ok(EmployeeOverview {
            new_email_holders,
            mail_status,
            facts: nip.facts().clone(),
            nip,
            name: a.name,
            email_masked: a.email.as_ref().map(Email::masked),
            email_verified_at: a.email_verified_at,
            email: a.email,
            instansi: a.instansi,
            state: if a.password_hash.is_some() {
                AccountState::Active
            } else {
                AccountState::NotActivated
            },
            login_failures: throttle.as_ref().map_or(0, |t| t.failures),
            locked_until: throttle.and_then(|t| t.locked_until).filter(|u| *u > now),
            active_code: code.map(|c| CodeSummary {
                issued_at: c.issued_at,
                expires_at: c.expires_at,
                attempts_left: c.attempts_left,
            }),
            password_changed_at: a.password_changed_at,
            second_factor: a
                .second_factor
                .as_ref()
                .is_some_and(crate::factor::SecondFactor::is_active),
            credential_version: a.credential_version,
            version: a.version,
            recent_audit,
        })
    }
}

/// A document the officer examined at the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentSeen {
    /// `ktp`, `karpeg`, `sk_cpns`, `sk_pns`, `kpe`, `paspor`, or another short name.
    pub kind: String,
    /// Its number, if the officer typed it; only kept masked and as a keyed hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

impl DocumentSeen {
    /// A document as an officer names it: the kind normalised (`SK CPNS` is `sk_cpns`), at
    /// most 32 letters, digits or `_`; the number trimmed, and none when empty. `None` for a
    /// kind that is not one.
    pub fn new(kind: &str, number: Option<&str>) -> Option<DocumentSeen> {
        let kind = kind.trim().to_lowercase().replace([' ', '-'], "_");
        (!kind.is_empty()
            && kind.len() <= 32
            && kind.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| DocumentSeen {
            kind,
            number: number
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
        })
    }
}

/// An e-mail change as the counter submits it, as the officer typed it: the core parses
/// and checks every field and audits every refusal, whether it comes from the CLI on one
/// machine or through the staff API.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct EmailChangeRequest {
    pub new_email: String,
    /// The NIK read from the KTP shown (16 digits), checked against the NIP.
    #[serde(default)]
    pub nik: Option<String>,
    /// The documents examined (the KTP among them).
    #[serde(default)]
    pub documents: Vec<DocumentSeen>,
    /// The officer confirmed the person matches the photo and name on the documents.
    #[serde(default)]
    pub person_confirmed: bool,
    /// Change only if the account is still at this version (from the overview); without
    /// it, the version read at the change.
    #[serde(default)]
    pub if_version: Option<u64>,
    /// The officer confirmed the address may be used although other employees have it
    /// (a shared family address, a mistake in the other record).
    #[serde(default)]
    pub email_shared_confirmed: bool,
    /// For an exception request only: why the NIK may disagree with the NIP (what the
    /// officer saw, e.g. a Dukcapil letter or a birth certificate).
    #[serde(default)]
    pub exception_reason: Option<String>,
}

/// An e-mail change that passed every check but (possibly) the NIK×NIP match.
pub(crate) struct CheckedChange {
    pub nip: Nip,
    pub new_email: Email,
    /// The identity record for the audit trail: masked and keyed-hashed numbers only.
    pub base: serde_json::Value,
    pub others: Vec<String>,
    pub account: Account,
    pub expected_version: u64,
}

/// What the identity check saw, beside a [`CheckedChange`].
pub(crate) struct IdentitySeen {
    /// Where the KTP's NIK disagrees with the NIP, if it does.
    pub mismatch: Option<Vec<crate::nik::NikMismatch>>,
    pub nik: crate::nik::Nik,
    pub documents: Vec<DocumentSeen>,
}

/// The NIK and document numbers are personal data: never in logs.
impl std::fmt::Debug for EmailChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailChangeRequest")
            .field("new_email", &"<redacted>")
            .field("nik", &self.nik.as_ref().map(|_| "<redacted>"))
            .field(
                "documents",
                &self.documents.iter().map(|d| &d.kind).collect::<Vec<_>>(),
            )
            .field("person_confirmed", &self.person_confirmed)
            .field("if_version", &self.if_version)
            .field("email_shared_confirmed", &self.email_shared_confirmed)
            .field(
                "exception_reason",
                &self.exception_reason.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Why an identity check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckFailure {
    #[error("no NIK was given")]
    NoNik,
    #[error("the NIK is not a NIK")]
    InvalidNik,
    #[error("the NIK does not match the NIP: {0:?}")]
    NikMismatch(Vec<crate::nik::NikMismatch>),
    #[error("a document kind is not one: letters, digits and _ only, at most 32")]
    InvalidDocument,
    #[error("the KTP must be among the documents seen")]
    NoKtp,
    #[error("the officer did not confirm the person matches the documents")]
    NotConfirmed,
    #[error("the new e-mail is the current one")]
    SameEmail,
    #[error("other employees already have this e-mail: {0:?}")]
    EmailInUse(Vec<String>),
    #[error("the NIK matches the NIP: no exception is needed")]
    ExceptionNotNeeded,
    #[error("an exception needs its reason (at most 500 characters)")]
    NoExceptionReason,
    #[error("an exception needs a document besides the KTP that shows the true birth date")]
    NoEvidence,
    #[error("no e-mail exception is waiting for this NIP")]
    NoPendingException,
    #[error("the officer who asked for the exception cannot approve it")]
    SameOfficer,
}

impl CheckFailure {
    /// The stable reason code in audit records and API answers.
    pub fn reason_code(&self) -> Reason {
        match self {
            CheckFailure::NoNik => Reason::NoNik,
            CheckFailure::InvalidNik => Reason::InvalidNik,
            CheckFailure::NikMismatch(_) => Reason::NikMismatch,
            CheckFailure::InvalidDocument => Reason::InvalidDocument,
            CheckFailure::NoKtp => Reason::NoKtp,
            CheckFailure::NotConfirmed => Reason::NotConfirmed,
            CheckFailure::SameEmail => Reason::SameEmail,
            CheckFailure::EmailInUse(_) => Reason::EmailInUse,
            CheckFailure::ExceptionNotNeeded => Reason::ExceptionNotNeeded,
            CheckFailure::NoExceptionReason => Reason::NoExceptionReason,
            CheckFailure::NoEvidence => Reason::NoEvidence,
            CheckFailure::NoPendingException => Reason::NoPendingException,
            CheckFailure::SameOfficer => Reason::SameOfficer,
        }
    }

    /// The stable reason code in audit records and answers.
    pub fn reason(&self) -> &'static str {
        self.reason_code().code()
    }

    /// What the officer reads.
    pub fn text(&self, l: crate::Lang) -> String {
        match self {
            CheckFailure::NoNik => l
                .pick(
                    "NIK pada KTP wajib diisi.",
                    "The NIK on the KTP is required.",
                )
                .into(),
            CheckFailure::InvalidNik => l
                .pick(
                    "NIK tidak valid (16 digit dengan kode wilayah dan tanggal lahir).",
                    "Not a valid NIK (16 digits with a region code and a birth date).",
                )
                .into(),
            CheckFailure::NikMismatch(m) => {
                let what: Vec<&str> = m
                    .iter()
                    .map(|x| match x {
                        crate::nik::NikMismatch::BirthDate => l.pick("tanggal lahir", "birth date"),
                        crate::nik::NikMismatch::Gender => l.pick("jenis kelamin", "gender"),
                    })
                    .collect();
                format!(
                    "{}: {}.",
                    l.pick(
                        "NIK pada KTP tidak cocok dengan NIP",
                        "The KTP's NIK does not match the NIP"
                    ),
                    what.join(", ")
                )
            }
            CheckFailure::InvalidDocument => l
                .pick(
                    "Jenis dokumen tidak dikenal (huruf, angka dan _, paling banyak 32).",
                    "Unknown document kind (letters, digits and _, at most 32).",
                )
                .into(),
            CheckFailure::NoKtp => l
                .pick("KTP wajib diperiksa.", "The KTP must be among the documents checked.")
                .into(),
            CheckFailure::NotConfirmed => l
                .pick(
                    "Petugas tidak mengonfirmasi kecocokan orang dengan dokumen; tidak ada yang diubah.",
                    "The officer did not confirm the person matches the documents; nothing was changed.",
                )
                .into(),
            CheckFailure::SameEmail => l
                .pick(
                    "Email baru sama dengan email sekarang.",
                    "The new e-mail is the current one.",
                )
                .into(),
            CheckFailure::EmailInUse(others) => format!(
                "{} {}. {}",
                l.pick(
                    "Alamat ini sudah dipakai pegawai lain: NIP",
                    "Other employees already have this address: NIP"
                ),
                others.join(", "),
                l.pick(
                    "Gunakan hanya bila memang dipakai bersama, dengan konfirmasi tegas (--email-shared).",
                    "Use it only if it is truly shared, with an explicit confirmation (--email-shared).",
                )
            ),
            CheckFailure::ExceptionNotNeeded => l
                .pick(
                    "NIK cocok dengan NIP; tidak perlu pengecualian, ganti email biasa saja.",
                    "The NIK matches the NIP; no exception is needed, change the e-mail as usual.",
                )
                .into(),
            CheckFailure::NoExceptionReason => l
                .pick(
                    "Pengecualian wajib disertai alasan (paling banyak 500 karakter), mis. surat keterangan Dukcapil atau akta kelahiran yang dilihat.",
                    "An exception needs its reason (at most 500 characters), e.g. the Dukcapil letter or birth certificate seen.",
                )
                .into(),
            CheckFailure::NoEvidence => l
                .pick(
                    "Pengecualian wajib disertai dokumen selain KTP yang menunjukkan tanggal lahir sebenarnya (mis. akta_kelahiran, surat_dukcapil).",
                    "An exception needs a document besides the KTP that shows the true birth date (e.g. akta_kelahiran, surat_dukcapil).",
                )
                .into(),
            CheckFailure::NoPendingException => l
                .pick(
                    "Tidak ada pengajuan pengecualian yang menunggu untuk NIP ini (atau sudah kedaluwarsa).",
                    "No exception request is waiting for this NIP (or it has expired).",
                )
                .into(),
            CheckFailure::SameOfficer => l
                .pick(
                    "Petugas yang mengajukan pengecualian tidak boleh menyetujuinya sendiri; minta petugas lain atau supervisor.",
                    "The officer who asked for the exception may not approve it; ask another officer or a supervisor.",
                )
                .into(),
        }
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

/// The identity seen at the counter as records keep it: the NIK parsed, the documents as
/// named (`None` when a kind is not one), and the record of both with numbers masked and
/// keyed-hashed (UU PDP 27/2022).
#[allow(clippy::type_complexity)]
pub(crate) fn identity_record(
    pii: &crate::keys::TokenKey,
    nik: Option<&str>,
    documents: &[DocumentSeen],
) -> Result<
    (
        crate::nik::Nik,
        Option<Vec<DocumentSeen>>,
        serde_json::Value,
    ),
    CheckFailure,
> {
    let nik = match nik.map(str::trim).filter(|n| !n.is_empty()) {
        None => return Err(CheckFailure::NoNik),
        Some(raw) => crate::nik::Nik::parse(raw).map_err(|_| CheckFailure::InvalidNik)?,
    };
    let documents: Option<Vec<DocumentSeen>> = documents
        .iter()
        .map(|d| DocumentSeen::new(&d.kind, d.number.as_deref()))
        .collect();
    let docs: Vec<serde_json::Value> = documents
        .iter()
        .flatten()
        .map(|d| {
            json!({
                "kind": d.kind,
                "number_masked": d.number.as_deref().map(mask_number),
                "number_hash": d.number.as_deref().map(|n| pii.mac_hex("sapk/document/v1", &[d.kind.as_bytes(), n.trim().as_bytes()])),
            })
        })
        .collect();
    let nik_hash = pii.mac_hex("sapk/nik/v1", &[nik.expose_digits().as_bytes()]);
    let base = json!({
        "documents": docs,
        "nik_masked": nik.masked(),
        "nik_hash": nik_hash,
    });
    Ok((nik, documents, base))
}

/// What is wrong with the documents seen and the officer's confirmation, if anything.
pub(crate) fn documents_failure(
    documents: Option<&[DocumentSeen]>,
    person_confirmed: bool,
) -> Option<CheckFailure> {
    match documents {
        None => Some(CheckFailure::InvalidDocument),
        Some(d) if !d.iter().any(|d| d.kind == "ktp") => Some(CheckFailure::NoKtp),
        Some(_) if !person_confirmed => Some(CheckFailure::NotConfirmed),
        Some(_) => None,
    }
}

/// A document number as kept in records: at most its last 4 characters (UU PDP 27/2022).
pub(crate) fn mask_number(n: &str) -> String {
    let chars: Vec<char> = n.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - 4))
}

impl Service {
    /// Other employees (masked NIPs, at most 5) whose account has this e-mail.
    pub(crate) async fn other_holders(
        &self,
        email: &Email,
        nip: &Nip,
    ) -> Result<Vec<String>, StaffError> {
        Ok(self
            .store
            .accounts_with_email(email, 6)
            .await?
            .into_iter()
            .filter(|n| n != nip)
            .take(5)
            .map(|n| n.masked())
            .collect())
    }

    /// Account state as an officer starts the counter workflow (its `version` guards the
    /// change that follows).
    pub async fn account_for_counter(&self, nip_raw: &str) -> Result<Account, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.store
            .get_account(&nip)
            .await?
            .ok_or(StaffError::UnknownNip)
    }

    pub(crate) async fn refuse_audited(
        &self,
        op: &Operator,
        nip: &Nip,
        action: Action,
        reason: Reason,
        details: serde_json::Value,
    ) -> Result<(), StaffError> {
        let mut d = details;
        d["reason"] = serde_json::Value::from(reason.code());
        self.staff_audit(self.staff_event(op, Some(nip), action, Outcome::Refused, d))
            .await
    }

    /// Records a staff request refused before it reached a use case (a malformed or unknown
    /// NIP), in the trail of that NIP when there is one.
    pub async fn record_staff_refusal(
        &self,
        op: &Operator,
        nip: Option<&Nip>,
        action: Action,
        reason: Reason,
    ) -> Result<(), StaffError> {
        self.staff_audit(self.staff_event(
            op,
            nip,
            action,
            Outcome::Refused,
            json!({ "reason": reason.code() }),
        ))
        .await
    }

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
        &self,
        nip: &Nip,
        req: &EmailChangeRequest,
        op: &Operator,
        lang: crate::Lang,
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
        // An address other employees have: only with the officer's explicit confirmation
        // (asked before anything else), and the record says with whom it is shared.
        let others = self.other_holders(&new_email, nip).await?;
        if !others.is_empty() && !req.email_shared_confirmed {
            let d = json!({ "new_email": new_email.as_str() });
            return Err(self
                .refuse_check(op, nip, action, CheckFailure::EmailInUse(others), &d)
                .await);
        }
        let (nik, documents, mut base) =
            match identity_record(pii, req.nik.as_deref(), &req.documents) {
                Ok(x) => x,
                Err(f) => {
                    let d = json!({ "new_email": new_email.as_str() });
                    return Err(self.refuse_check(op, nip, action, f, &d).await);
                }
            };
        base["new_email"] = json!(new_email.as_str());
        let Some(account) = self.store.get_account(nip).await? else {
            self.refuse_audited(op, nip, action, Reason::UnknownNip, base)
                .await?;
            return Err(StaffError::UnknownNip.into());
        };
        let failure = documents_failure(documents.as_deref(), req.person_confirmed).or((account
            .email
            .as_ref()
            == Some(&new_email))
        .then_some(CheckFailure::SameEmail));
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
                others,
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
        lang: crate::Lang,
    ) -> Result<EmailChangeOutcome, ChangeError> {
        let CheckedChange {
            nip,
            new_email,
            base,
            others,
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
        details["old_email"] = json!(account.email.as_ref().map(Email::as_str));
        if !others.is_empty() {
            details["email_shared_with"] = json!(others);
        }
        if let (Some(d), serde_json::Value::Object(x)) = (details.as_object_mut(), extra) {
            d.extend(x);
        }
        let record = self.staff_event(op, Some(&nip), Action::EmailChange, outcome, details);
        // The change, the end of the code (sessions end with the credential version), any
        // pending exception and the audit record: one atomic write.
        if let Err(e) = self
            .sealed_write(&record, crate::service::Head::Unknown, |sealed| {
                let updated = &updated;
                async move {
                    self.store
                        .change_email_audited(updated, expected_version, &sealed)
                        .await
                }
            })
            .await
        {
            let e = StaffError::from(e);
            if matches!(e, StaffError::Conflict) {
                self.refuse_audited(
                    op,
                    &nip,
                    Action::EmailChange,
                    Reason::ConcurrentChange,
                    base,
                )
                .await?;
            }
            return Err(e.into());
        }
        // The last mail status was about the old address: it no longer says anything.
        if let Err(e) = self.store.delete_mail_status(&nip).await {
            tracing::warn!(error = %e, "mail status of the old address not cleared");
        }
        // A new address on the mail service's suppression list (an old bounce or complaint)
        // would never get the next code: take it off, now that an officer has checked it.
        let released = match &self.suppressions {
            Some(list) => match list.release(&new_email).await {
                Ok(was_listed) => Some(was_listed),
                Err(e) => {
                    tracing::warn!(error = %e, "new address not taken off the suppression list");
                    None
                }
            },
            None => None,
        };

        let old_notified = match &account.email {
            Some(old) => Some(
                self.send(crate::mail::email_changed_old_email(
                    old,
                    &account.name,
                    &new_email.masked(),
                    crate::mail::ChangedBy::Office(&op.office),
                    now,
                    lang,
                ))
                .await,
            ),
            None => None,
        };
        let new_notified = self
            .send(crate::mail::email_changed_new_email(
                &new_email,
                &account.name,
                &op.office,
                now,
                lang,
            ))
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

    /// Clears the login lock-out (and failure count) of an employee.
    pub async fn unlock_account(&self, nip_raw: &str, op: &Operator) -> Result<bool, StaffError> {
        let account = self.account_for_counter(nip_raw).await?;
        let now = self.now();
        let was_locked = self
            .store
            .get_throttles(&[account.nip.as_str().to_owned()])
            .await?
            .pop()
            .flatten()
            .is_some_and(|t| t.expires_at > now && (t.failures > 0 || t.locked_until.is_some()));
        // A fresh per-NIP record ends the lock-out of every address.
        self.store
            .put_throttles(&[crate::ports::ThrottleWrite {
                expect: crate::ports::Expect::Any,
                record: crate::throttle::cleared(&account.nip, now, &self.config),
            }])
            .await?;
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
    pub async fn revoke_sessions(&self, nip_raw: &str, op: &Operator) -> Result<(), StaffError> {
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

    /// The audit trail of an employee, newest first (the look-up is audited too).
    pub async fn audit_trail(
        &self,
        nip_raw: &str,
        limit: usize,
        op: &Operator,
    ) -> Result<Vec<AuditEvent>, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.staff_audit(self.staff_event(
            op,
            Some(&nip),
            Action::AuditViewed,
            Outcome::Ok,
            json!(null),
        ))
        .await?;
        Ok(self.store.list_audit(&nip, limit).await?)
    }

    /// Checks the keyed hash chain of an employee's audit trail ([`crate::audit_chain`]):
    /// every record held, oldest first. The check is recorded after it, with what it found.
    pub async fn verify_audit_trail(
        &self,
        nip_raw: &str,
        op: &Operator,
    ) -> Result<ChainReport, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.verify_chain(nip.as_str(), Some(&nip), op).await
    }

    /// [`Service::verify_audit_trail`] for the records without a NIP (import runs, the
    /// staff registry).
    pub async fn verify_system_audit(&self, op: &Operator) -> Result<ChainReport, StaffError> {
        self.verify_chain(crate::audit_chain::SYSTEM_CHAIN, None, op)
            .await
    }

    async fn verify_chain(
        &self,
        chain: &str,
        nip: Option<&Nip>,
        op: &Operator,
    ) -> Result<ChainReport, StaffError> {
        let Some(key) = &self.audit_key else {
            return Err(StaffError::Store(StoreError::Unavailable(
                "no audit key configured (SAPK_AUDIT_KEY)".into(),
            )));
        };
        let records = self.store.audit_chain(chain).await?;
        let report = key.verify(chain, &records);
        let outcome = if report.intact() {
            Outcome::Intact
        } else {
            Outcome::Broken
        };
        self.staff_audit(self.staff_event(
            op,
            nip,
            Action::AuditVerified,
            outcome,
            json!({
                "records": report.records,
                "first_seq": report.first_seq,
                "last_seq": report.last_seq,
                "problems": report.problems.len(),
            }),
        ))
        .await?;
        Ok(report)
    }
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

impl Service {
    /// Carries an account to its new number (a PPPK at another agency, a PPPK become PNS, a
    /// corrected NIP): password hash, e-mail and its counter verification move; sessions,
    /// reset code and lock-out of the old number end; the old number then answers like an
    /// unknown one. Both numbers get an audit record; the account's e-mail a notice.
    pub async fn renumber_employee(
        &self,
        old_raw: &str,
        new_raw: &str,
        reason: RenumberReason,
        op: &Operator,
        lang: crate::Lang,
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
        let mut moved = source.clone();
        moved.nip = new.clone();
        moved.credential_version = source.credential_version + 1;
        moved.updated_at = now;
        moved.version = 0;
        if let Some(t) = &target {
            moved.name = t.name.clone();
            if t.instansi.is_some() {
                moved.instansi = t.instansi.clone();
            }
            if moved.email.is_none() {
                moved.email = t.email.clone();
                moved.email_verified_at = t.email_verified_at;
            }
        }
        if let Err(e) = self
            .store
            .renumber_account(&source, &moved, target.as_ref().map(|t| t.version))
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
        let mut d = details;
        d["email"] = json!(moved.email.as_ref().map(Email::masked));
        self.staff_audit(self.staff_event(op, Some(&old), action, Outcome::MovedOut, d.clone()))
            .await?;
        let in_outcome = match outcome {
            RenumberOutcome::Merged => Outcome::MergedIn,
            _ => Outcome::MovedIn,
        };
        self.staff_audit(self.staff_event(op, Some(&new), action, in_outcome, d))
            .await?;
        let notified = match &moved.email {
            Some(to) => Some(
                self.send(crate::mail::nip_changed_email(
                    to,
                    &moved.name,
                    &old,
                    &new,
                    now,
                    lang,
                ))
                .await,
            ),
            None => None,
        };
        Ok(RenumberReport {
            old_nip: old,
            new_nip: new,
            outcome,
            notified,
        })
    }
}
