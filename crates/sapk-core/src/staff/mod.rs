//! Staff actions (the staff API and the admin CLI), a file each: who may act ([`officer`]), the employee import ([`import`]), the
//! counter's look-up ([`overview`]), the e-mail change ([`email_change`]), unlock and
//! sign-out ([`account`]), the audit trail ([`audit`]) and a NIP change ([`renumber`]).
//! Each one is audited with the operator's identity; what they share is here.

mod account;
mod audit;
mod email_change;
pub mod email_exception;
mod export;
pub mod factor_removal;
mod identity_check;
mod import;
pub mod mail_status;
pub mod officer;
mod overview;
pub mod passkey_removal;
mod renumber;
mod shared;

pub(crate) use email_change::CheckedChange;
pub use email_change::{ChangeError, EmailChangeOutcome, EmailChangeRequest};
pub use export::EXPORT_AUDIT_LIMIT;
pub use identity_check::{CheckFailure, DocumentSeen, IdentityCheck};
pub use import::{CodeSummary, EmployeeRow, ImportOutcome, IMPORT_BATCH};
pub use overview::{AccountState, EmployeeOverview};
pub use renumber::{RenumberOutcome, RenumberReason, RenumberReport};
pub use shared::{SharedAddress, SharedHolder, SharedReport};

use crate::domain::email::{Email, EmailError};
use crate::domain::nip::{Nip, NipError};
use crate::ports::{Account, AuditEvent, StoreError};
use crate::service::Service;
use crate::service::Staff;
use crate::text::audit_text::{Action, Outcome, Reason};
use serde::Serialize;
use serde_json::json;

/// The officer at the keyboard, recorded on every action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    /// The signed-in identity: the IAM principal ARN on AWS.
    pub id: String,
    pub office: String,
    /// The person, from the staff registry (their own NIP or staff ID); `None` for an
    /// identity the registry does not name (a local operator, a test).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub officer_id: Option<String>,
    /// On whom the officer may act, from the registry; `None` for an identity the registry
    /// does not name (the embedded store's local operator), who sees every employee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<crate::ports::StaffScope>,
    /// The office's display name from the registry ("Kantor Regional IV BKN Makassar"),
    /// when the supervisor gave one; `None` names the office from its code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub office_name: Option<String>,
}

impl Operator {
    /// The office as a person reads it: the registry's display name, else a name made from
    /// the code ([`crate::text::activity::office_name`]).
    pub fn office_label(&self, lang: crate::text::i18n::Lang) -> String {
        crate::text::activity::office_label(&self.office, self.office_name.as_deref(), lang)
    }

    /// The IAM Identity Center user behind an `AWSReservedSSO_…` assumed-role principal (the
    /// role session name), lower-cased: one person under two permission sets has two
    /// principals and one user.
    pub fn sso_user(&self) -> Option<String> {
        sso_user(&self.id)
    }

    /// Whether the officer may see and act on an employee of `instansi`.
    pub fn covers(&self, instansi: Option<&str>) -> bool {
        self.scope.as_ref().is_none_or(|s| s.covers(instansi))
    }
}

/// Who else holds an address, as an officer may be told: the masked NIPs of holders within
/// the officer's scope, and how many outside it (never named).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Holders {
    pub named: Vec<String>,
    pub elsewhere: usize,
}

impl Holders {
    pub fn any(&self) -> bool {
        !self.named.is_empty() || self.elsewhere > 0
    }
}

/// The IAM Identity Center user of an assumed-role principal ARN
/// (`arn:aws:sts::<account>:assumed-role/AWSReservedSSO_<set>_<id>/<user>`).
pub fn sso_user(principal: &str) -> Option<String> {
    let rest = principal.trim().split(":assumed-role/").nth(1)?;
    let (role, session) = rest.split_once('/')?;
    (role.starts_with("AWSReservedSSO_") && !session.trim().is_empty())
        .then(|| session.trim().to_lowercase())
}

/// An officer ID as compared: white space removed, case folded.
pub fn officer_id_key(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("invalid NIP: {0}")]
    InvalidNip(#[from] NipError),
    #[error("invalid e-mail: {0}")]
    InvalidEmail(#[from] EmailError),
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A registry entry a supervisor typed wrongly, in both languages.
    #[error("invalid registry entry: {en}")]
    InvalidEntry { id: &'static str, en: &'static str },
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
    #[error("the employee has no such passkey to remove")]
    NoPasskey,
    /// The officer ID is active under another principal (named): the same person's
    /// second role needs the supervisor's `--second-role`.
    #[error("officer ID already registered under {0}")]
    OfficerIdInUse(String),
    /// Another account holds the address (one address, one ASN): `holder` is its NIP,
    /// masked, when the officer may see it.
    #[error("another employee's account holds this e-mail address")]
    EmailTaken { holder: Option<String> },
    #[error("store: {0}")]
    Store(StoreError),
}

impl StaffError {
    /// The stable reason code in audit records and answers.
    pub fn reason_code(&self) -> Reason {
        match self {
            StaffError::InvalidNip(_) => Reason::InvalidNip,
            StaffError::InvalidEmail(_) => Reason::InvalidEmail,
            StaffError::InvalidName(_) | StaffError::InvalidEntry { .. } => Reason::InvalidName,
            StaffError::UnknownNip => Reason::UnknownNip,
            StaffError::EmailNeedsCounter => Reason::EmailNeedsCounter,
            StaffError::Conflict => Reason::ConcurrentChange,
            StaffError::SameNip => Reason::SameNip,
            StaffError::NoPiiKey => Reason::NoPiiKey,
            StaffError::Forbidden(f) => f.reason_code(),
            StaffError::NewNipInUse => Reason::NewNipInUse,
            StaffError::RenumberMismatch => Reason::RenumberMismatch,
            StaffError::NoSecondFactor => Reason::NoSecondFactor,
            StaffError::NoPasskey => Reason::NoPasskey,
            StaffError::OfficerIdInUse(_) => Reason::OfficerIdInUse,
            StaffError::EmailTaken { .. } => Reason::EmailInUse,
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
    pub fn text(&self, lang: crate::text::i18n::Lang) -> String {
        match self {
        StaffError::InvalidNip(n) => format!("{}: {}", lang.pick("NIP tidak valid", "invalid NIP"), n.text(lang)),
        StaffError::InvalidEmail(m) => m.text(lang),
        StaffError::InvalidName(why) => format!("{}: {why}", lang.pick("nama tidak valid", "invalid name")),
        StaffError::InvalidEntry { id, en } => lang.pick(id, en).to_owned(),
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
        StaffError::NoPasskey => lang.pick("pegawai ini tidak punya passkey itu; tidak ada yang dihapus", "this employee has no such passkey; nothing was removed").into(),
        StaffError::OfficerIdInUse(other) => format!(
            "{} {other}. {}",
            lang.pick("ID petugas ini sudah terdaftar aktif untuk identitas", "this officer ID is already registered and active for the identity"),
            lang.pick(
                "Satu orang tidak boleh terhitung sebagai dua petugas. Jika ini peran kedua orang yang sama, daftarkan dengan --second-role (aturan dua petugas tetap berlaku untuknya).",
                "One person must not count as two officers. If this is the same person's second role, register it with --second-role (the two-officer rule still applies to them).",
            )
        ),
        StaffError::EmailTaken { holder } => format!(
            "{}{}. {}",
            lang.pick("alamat email ini sudah dipakai akun pegawai lain", "another employee's account already has this e-mail address"),
            holder.as_ref().map(|h| format!(" (NIP {h})")).unwrap_or_default(),
            lang.pick(
                "Satu email untuk satu ASN (ketentuan BKN): minta alamat lain.",
                "One address per ASN (BKN's rule): ask for another address.",
            )
        ),
        StaffError::Store(s) => format!("{}: {s}", lang.pick("penyimpanan data gagal", "the store failed")),
    }
    }
}

impl From<crate::domain::name::NameError> for StaffError {
    fn from(e: crate::domain::name::NameError) -> Self {
        StaffError::InvalidName(e.why())
    }
}

impl From<StoreError> for StaffError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => StaffError::Conflict,
            // Found at the write (another officer was faster): the holder may be outside the
            // officer's scope, so not named.
            StoreError::EmailTaken(_) => StaffError::EmailTaken { holder: None },
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

impl Staff<'_> {
    /// Account state as an officer starts the counter workflow (its `version` guards the
    /// change that follows).
    pub async fn account_for_counter(self, nip_raw: &str) -> Result<Account, StaffError> {
        let nip = self.nip(nip_raw)?;
        self.store
            .get_account(&nip)
            .await?
            .ok_or(StaffError::UnknownNip)
    }

    /// Records a staff request refused before it reached a use case (a malformed or unknown
    /// NIP), in the trail of that NIP when there is one.
    pub async fn record_staff_refusal(
        self,
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
        // Every record of an officer's action names the person as well as the identity.
        let details = match (&op.officer_id, details) {
            (Some(id), serde_json::Value::Object(mut m)) => {
                m.insert("officer_id".into(), json!(id));
                serde_json::Value::Object(m)
            }
            (Some(id), serde_json::Value::Null) => json!({ "officer_id": id }),
            (_, d) => d,
        };
        // The office's display name as the registry had it then, for the notices and views
        // that name it later.
        let details = match (&op.office_name, details) {
            (Some(name), serde_json::Value::Object(mut m)) => {
                m.insert("office_name".into(), json!(name));
                serde_json::Value::Object(m)
            }
            (Some(name), serde_json::Value::Null) => json!({ "office_name": name }),
            (_, d) => d,
        };
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

    /// Other employees whose account has this e-mail (at most 5 looked at): the account
    /// that claims it (whatever the case of its letters), and those the e-mail index lists
    /// (accounts from before claims, sharing an address); named (masked NIPs) when within the
    /// officer's scope, only counted otherwise.
    pub(crate) async fn other_holders(
        &self,
        email: &Email,
        nip: &Nip,
        op: &Operator,
    ) -> Result<Holders, StaffError> {
        let mut nips: Vec<Nip> = self.store.email_holder(email).await?.into_iter().collect();
        for n in self.store.accounts_with_email(email, 6).await? {
            if !nips.contains(&n) {
                nips.push(n);
            }
        }
        let nips: Vec<Nip> = nips.into_iter().filter(|n| n != nip).take(5).collect();
        let mut holders = Holders::default();
        if nips.is_empty() {
            return Ok(holders);
        }
        let accounts = self.store.get_accounts(&nips).await?;
        for (n, a) in nips.iter().zip(accounts) {
            if op.covers(a.as_ref().and_then(|a| a.instansi.as_deref())) {
                holders.named.push(n.masked());
            } else {
                holders.elsewhere += 1;
            }
        }
        Ok(holders)
    }

    /// An address as an audit record keeps it: masked, and a keyed hash that finds every
    /// record about the same address without showing it.
    pub(crate) fn email_for_audit(&self, email: &Email) -> serde_json::Value {
        json!({
            "masked": email.masked(),
            "hash": self.key.mac_hex("sapk/audit-email/v1", &[email.as_str().to_lowercase().as_bytes()]),
        })
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
}
