//! The records the use cases keep and the adapters store: accounts, codes, sessions,
//! lock-out tallies, officers, audit events, pending e-mail exceptions, and the e-mails the
//! mail pipeline carries.

use crate::domain::email::Email;
use crate::domain::nip::Nip;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An employee's account. `version` guards every update (optimistic concurrency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub nip: Nip,
    pub name: crate::domain::name::EmployeeName,
    pub email: Option<Email>,
    /// When staff set `email` after the in-person check at a counter; such an e-mail is
    /// never changed by an import.
    pub email_verified_at: Option<DateTime<Utc>>,
    pub instansi: Option<String>,
    /// PHC string; `None` until the account is activated through forgot/reset.
    pub password_hash: Option<String>,
    /// Bumped by every reset and staff e-mail change; sessions and codes carry the value
    /// they were issued under and die when it moves.
    pub credential_version: u64,
    pub password_changed_at: Option<DateTime<Utc>>,
    /// The authenticator of a two-step login (confirmed or waiting for its first code).
    /// A reset by e-mail code keeps it; only the owner (signed in) or an officer after the
    /// in-person check changes it.
    pub second_factor: Option<crate::domain::factor::SecondFactor>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

/// The one live reset code of an account (a newer one replaces it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResetCodeRecord {
    pub nip: Nip,
    /// HMAC of the code; also identifies this code.
    pub code_hash: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub attempts_left: u32,
    pub credential_version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// HMAC of the bearer token.
    pub token_hash: String,
    pub nip: Nip,
    pub credential_version: u64,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Consecutive login failures counted under one key: a NIP alone (the per-NIP ceiling) or a
/// NIP with a source address (the lock-out). Kept for unknown NIPs too, so that lock-out
/// says nothing about whether an account exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginThrottle {
    /// `<nip>` for the per-NIP record, `<nip>@<address>` for a NIP and a source address.
    pub key: String,
    pub nip: Nip,
    pub failures: u32,
    pub locked_until: Option<DateTime<Utc>>,
    /// When this count began. A per-NIP record's `since` also ends every per-address count
    /// of that NIP that began earlier (a reset or an unlock writes a fresh one).
    pub since: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Random per write: what a compare-and-set compares.
    pub rev: u64,
}

/// What a throttle write expects to find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// No record under the key.
    Absent,
    /// The record written with this `rev`.
    Rev(u64),
    /// Anything (an unconditional write).
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleWrite {
    pub expect: Expect,
    pub record: LoginThrottle,
}

/// On whom a registered officer may act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "instansi", rename_all = "snake_case")]
pub enum StaffScope {
    /// A BKN office (Kanreg): any employee.
    Bkn,
    /// An agency's HR unit (BKPSDM, Biro SDM): only employees of this `instansi`.
    Instansi(String),
}

impl StaffScope {
    /// `bkn` or `instansi:<name>`, as stored and typed.
    pub fn as_text(&self) -> String {
        match self {
            StaffScope::Bkn => "bkn".to_owned(),
            StaffScope::Instansi(i) => format!("instansi:{i}"),
        }
    }

    pub fn parse(s: &str) -> Option<StaffScope> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("bkn") {
            return Some(StaffScope::Bkn);
        }
        let (kind, name) = s.split_once(':')?;
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        (kind.trim().eq_ignore_ascii_case("instansi") && !name.is_empty())
            .then_some(StaffScope::Instansi(name))
    }

    /// Whether an officer of this scope may act on an employee of `instansi`: the agency's
    /// name compared with white space folded and case ignored (an export's
    /// "PEMERINTAH  KOTA BANDUNG" is the registry's "Pemerintah Kota Bandung").
    pub fn covers(&self, instansi: Option<&str>) -> bool {
        fn folded(s: &str) -> String {
            s.split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        }
        match self {
            StaffScope::Bkn => true,
            StaffScope::Instansi(mine) => instansi.is_some_and(|theirs| {
                let (mine, theirs) = (folded(mine), folded(theirs));
                !mine.is_empty() && mine == theirs
            }),
        }
    }
}

#[cfg(test)]
mod scope_tests {
    use super::StaffScope;

    #[test]
    fn an_agency_scope_covers_its_own_agency_in_any_case_or_spacing_and_nothing_else() {
        let bandung = StaffScope::parse("instansi:Pemerintah Kota Bandung").unwrap();
        for own in [
            "Pemerintah Kota Bandung",
            "PEMERINTAH KOTA BANDUNG",
            "  pemerintah  kota\tbandung ",
        ] {
            assert!(bandung.covers(Some(own)), "{own:?}");
        }
        for other in [
            None,
            Some(""),
            Some("Pemerintah Kota Bandung Barat"),
            Some("Pemerintah Kabupaten Bandung"),
            Some("PemerintahKota Bandung"),
        ] {
            assert!(!bandung.covers(other), "{other:?}");
        }
        assert!(StaffScope::Bkn.covers(None));
        assert!(StaffScope::Bkn.covers(Some("Pemerintah Kota Bandung")));
        assert_eq!(
            StaffScope::parse(" INSTANSI : Pemerintah   Kota Bandung "),
            Some(bandung)
        );
        assert_eq!(StaffScope::parse("instansi:  "), None);
    }
}

/// A person registered to act at a counter, keyed by the IAM principal they sign in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Officer {
    /// The IAM principal ARN (for IAM Identity Center users, the assumed-role ARN whose
    /// session name is the user).
    pub principal: String,
    /// The officer's own NIP or staff ID.
    pub officer_id: String,
    pub name: String,
    /// Office code, e.g. `KANREG-I` or `BKPSDM-KOTA-BANDUNG`.
    pub office: String,
    /// The office's display name ("Kantor Regional IV BKN Makassar", "BKPSDM Kota
    /// Makassar"), named in notices and views; `None`: named from the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub office_name: Option<String>,
    pub scope: StaffScope,
    pub active: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    /// `self` for the public API, the operator's ID for staff, `system` otherwise.
    pub actor: String,
    pub office: Option<String>,
    pub nip: Option<Nip>,
    pub source_ip: Option<String>,
    pub action: String,
    pub outcome: String,
    pub details: serde_json::Value,
    /// The record's place in its NIP's chain and its keyed MAC
    /// ([`crate::domain::audit_chain`]); `None` on an event not yet appended, and on records
    /// written before the chain existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::domain::audit_chain::AuditLink>,
}

/// An e-mail change whose KTP NIK disagrees with the NIP's birth date or gender, recorded by
/// one officer with the reason and the evidence seen, and waiting for a second officer's
/// approval. One per NIP (a newer request replaces it); it ends at `expires_at`, with any
/// e-mail change of the account, and with a renumbering. It holds masked and keyed-hashed
/// numbers only, as the audit record does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingException {
    pub nip: Nip,
    pub new_email: Email,
    /// The account's version when the request was made: approval changes nothing if the
    /// account changed since.
    pub account_version: u64,
    /// Why the NIK may disagree (what the requesting officer saw).
    pub reason: String,
    /// What disagrees: `birth_date`, `gender`.
    pub mismatch: Vec<String>,
    /// What the NIK implies (birth date `DD-MM-YY` and gender), beside the NIP's.
    pub nik_birth: String,
    pub nik_gender: crate::domain::nip::Gender,
    /// The identity record: documents and NIK, masked and keyed-hashed.
    pub identity: serde_json::Value,
    pub requested_by: String,
    /// The requester's officer ID (the person), as the registry named it then.
    #[serde(default)]
    pub requested_officer_id: String,
    pub requested_office: String,
    /// The requesting office's display name from the registry, if it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_office_name: Option<String>,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Which message an e-mail carries (for logs and outbox file names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EmailKind {
    ResetCode,
    PasswordChanged,
    EmailChangedOld,
    EmailChangedNew,
    NipChanged,
    /// Two-step login set up, a recovery code used, codes renewed, or the factor removed.
    SecondFactor,
    /// A passkey added or removed.
    Passkey,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailKind::ResetCode => "reset-code",
            EmailKind::PasswordChanged => "password-changed",
            EmailKind::EmailChangedOld => "email-changed-old",
            EmailKind::EmailChangedNew => "email-changed-new",
            EmailKind::NipChanged => "nip-changed",
            EmailKind::SecondFactor => "second-factor",
            EmailKind::Passkey => "passkey",
        }
    }
}

/// A message ready to send. `Debug` leaves the bodies out: they may hold a reset code.
/// An e-mail ready to send. It is serialisable because a queue carries it (the SQLite mail
/// queue; SQS, server-side encrypted, retained no longer than a code lives).
#[derive(Clone, Serialize, Deserialize)]
pub struct OutgoingEmail {
    pub kind: EmailKind,
    pub to: Email,
    pub subject: String,
    pub text: String,
    pub html: String,
    pub lang: crate::text::i18n::Lang,
    /// For a reset code: the code it carries, so that a queued message whose code expired or
    /// was replaced meanwhile is dropped instead of sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<CodeGuard>,
}

/// Which code a queued e-mail carries: its NIP, its keyed hash and its expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeGuard {
    pub nip: Nip,
    pub code_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("kind", &self.kind)
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// A passkey (a WebAuthn discoverable credential) of an account. The credential itself (the
/// public key, the signature counter, the backup flags) is kept as the WebAuthn library
/// serialises it, opaque to the stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasskeyRecord {
    /// The credential ID, base64url without padding (as WebAuthn's JSON carries it).
    pub id: String,
    pub nip: Nip,
    /// The account's random WebAuthn user handle (never the NIP), base64url: the same for
    /// every passkey of the account.
    pub user_handle: String,
    /// What the person sees in their list ("Android, dibuat 6 Des 2026").
    pub name: String,
    /// The credential as the WebAuthn library serialises it (JSON).
    pub credential: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A WebAuthn ceremony waiting for the browser's answer: the library's state for it (JSON),
/// kept server-side under a keyed hash of its challenge, used once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyRecord {
    /// Keyed hash of the challenge sent to the browser.
    pub key: String,
    /// Whose ceremony it is: the NIP of a registration, `None` for a sign-in (the
    /// discoverable flow names no one until the answer).
    pub nip: Option<Nip>,
    pub state: String,
    pub expires_at: DateTime<Utc>,
}
