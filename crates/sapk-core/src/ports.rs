//! Ports: what the use cases need from storage, mail and time. Adapters implement them
//! (SQLite and a file outbox locally; DynamoDB and SES on AWS).

use crate::email::Email;
use crate::nip::Nip;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Mutex;

/// An employee's account. `version` guards every update (optimistic concurrency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub nip: Nip,
    pub name: crate::EmployeeName,
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
    pub second_factor: Option<crate::factor::SecondFactor>,
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
    /// ([`crate::audit_chain`]); `None` on an event not yet appended, and on records
    /// written before the chain existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<crate::audit_chain::AuditLink>,
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
    pub email_shared_confirmed: bool,
    /// Why the NIK may disagree (what the requesting officer saw).
    pub reason: String,
    /// What disagrees: `birth_date`, `gender`.
    pub mismatch: Vec<String>,
    /// What the NIK implies (birth date `DD-MM-YY` and gender), beside the NIP's.
    pub nik_birth: String,
    pub nik_gender: crate::nip::Gender,
    /// The identity record: documents and NIK, masked and keyed-hashed.
    pub identity: serde_json::Value,
    pub requested_by: String,
    /// The requester's officer ID (the person), as the registry named it then.
    #[serde(default)]
    pub requested_officer_id: String,
    pub requested_office: String,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A condition failed: the item changed, exists already, or is gone.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The store could not be reached or refused the request; try again later.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Stored data this code cannot read.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

#[async_trait]
pub trait Store: Send + Sync {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError>;
    /// Creates an account; `Conflict` if the NIP exists.
    /// Several accounts in one read (a bulk import's batch): one answer per NIP, in order.
    /// A NIP given twice is answered twice.
    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError>;
    async fn insert_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Replaces the account if its stored `version` is `expected_version`, storing
    /// `account` with `version = expected_version + 1`; `Conflict` otherwise.
    async fn update_account(
        &self,
        account: &Account,
        expected_version: u64,
    ) -> Result<(), StoreError>;
    /// Whether any account exists (cheap on every store: no full count).
    async fn has_accounts(&self) -> Result<bool, StoreError>;
    /// Up to `limit` NIPs whose account has exactly this e-mail (on DynamoDB from an index,
    /// so a write of the last second may be missing: a warning, not a guarantee).
    async fn accounts_with_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError>;

    /// Stores the account's code, replacing any older one.
    async fn put_reset_code(&self, code: &ResetCodeRecord) -> Result<(), StoreError>;
    /// Writes `code` again only if the stored code is exactly it (same hash and tries
    /// left); otherwise nothing (and no error). The same write as `put_reset_code`, for a
    /// forgot within the cooldown, which must not look different on the wire.
    async fn rewrite_reset_code(&self, code: &ResetCodeRecord) -> Result<(), StoreError>;
    async fn get_reset_code(&self, nip: &Nip) -> Result<Option<ResetCodeRecord>, StoreError>;
    /// Atomically takes one try from the code identified by `code_hash`: returns the tries
    /// left afterwards, or `None` when that code is gone or has no tries left.
    async fn take_code_attempt(
        &self,
        nip: &Nip,
        code_hash: &str,
    ) -> Result<Option<u32>, StoreError>;
    /// Deletes the account's code (only the one with `code_hash`, when given).
    async fn delete_reset_code(&self, nip: &Nip, code_hash: Option<&str>)
        -> Result<(), StoreError>;
    /// One atomic step: delete the code `code_hash` (it must still exist), replace the
    /// account as `update_account` does, write `cleared` (the NIP's fresh throttle record,
    /// which ends its lock-outs) unconditionally, and append `audit` as `append_audit` does.
    /// `Conflict` when the code is gone, the account changed or the audit record's place is
    /// held; then nothing is written.
    async fn complete_reset(
        &self,
        code_hash: &str,
        account: &Account,
        expected_version: u64,
        cleared: &LoginThrottle,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Deletes a session (or a login challenge); whether it was there. Of two deletes at
    /// once only one sees `true`: that makes a challenge single-use.
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError>;

    /// The throttle records under `keys`, in the same order (absent ones as `None`).
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError>;
    /// Writes every record, all or nothing: `Conflict` (and nothing written) when any
    /// record is not as its `expect` says.
    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError>;
    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError>;

    /// The last mail status of an account (replacing the one before).
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &crate::mail_status::MailStatus,
    ) -> Result<(), StoreError>;
    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<crate::mail_status::MailStatus>, StoreError>;
    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError>;

    /// Records a pending exception, replacing the NIP's earlier one.
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError>;
    /// The NIP's pending exception, expired or not (callers compare `expires_at`).
    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError>;
    /// Ends the NIP's pending exception, if any.
    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError>;

    /// A staff e-mail change in one atomic step: replaces the account as `update_account`
    /// does (it must be at `expected_version`), deletes its reset code and any pending
    /// e-mail exception, and appends `audit`.
    /// `Conflict` when the account changed; then nothing is written, not even the audit
    /// record (no change exists without its record, and no record without its change).
    async fn change_email_audited(
        &self,
        account: &Account,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;

    /// Carries an account to a new number in one atomic step: deletes `old` (it must still
    /// be at `old.version`) with its reset code, per-NIP throttle record and sessions, and stores
    /// `moved` under its (new) NIP: created when `replace` is `None` (`Conflict` if that NIP
    /// exists), or replacing the record there at version `replace` (stored at `replace + 1`).
    /// `Conflict` when any condition fails; then nothing is written.
    /// The old number's pending e-mail exception ends with it too.
    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<u64>,
    ) -> Result<(), StoreError>;

    /// Atomically adds one to the counter `key` (created with `expires_at`); returns the
    /// new count.
    async fn hit_counter(&self, key: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError>;

    /// [`Store::hit_counter`] for each of `counters` at once, the counts in the same order.
    /// A store that can do it in one transaction (SQLite) does; the default makes the calls
    /// concurrently (one round trip's wait on DynamoDB).
    async fn hit_counters(
        &self,
        counters: &[(String, DateTime<Utc>)],
    ) -> Result<Vec<u64>, StoreError> {
        futures_util::future::try_join_all(
            counters
                .iter()
                .map(|(key, expires_at)| self.hit_counter(key, *expires_at)),
        )
        .await
    }

    /// The registered officer signed in as `principal`, if any.
    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError>;
    /// Registers or replaces an officer.
    async fn put_officer(&self, officer: &Officer) -> Result<(), StoreError>;
    /// Every registered officer (a registry of hundreds, not millions).
    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError>;

    /// Appends a chained record (`event.link` set by the core). `Conflict` when its chain
    /// already holds a record at `link.seq` (another append won the place; the core seals
    /// again on the new head and retries). Records without a link are stored as they are.
    async fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Appends `event` sealed with `key` on its chain's head as found in the same
    /// transaction, where the store's writes are serial (the embedded store): an append
    /// never loses its place, however many there are at once. `Ok(false)` from a store that
    /// cannot (the default): the core then seals on a head it read and seals again when
    /// another append took the place.
    async fn append_audit_sealed(
        &self,
        _event: &AuditEvent,
        _key: &crate::audit_chain::AuditKey,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// The link of the newest chained record of `chain` (a NIP, or
    /// [`crate::audit_chain::SYSTEM_CHAIN`] for records without one).
    async fn audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<crate::audit_chain::AuditLink>, StoreError>;
    /// Every record of `chain`, oldest first (chained records in `seq` order, after any
    /// written before the chain existed): what a verification reads.
    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError>;
    /// The NIP's audit events, newest first.
    async fn list_audit(&self, nip: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError>;
    /// The head of `chain` as kept beyond its records: written with every chained append
    /// (from the link's `head_seal`, in the same transaction), never moved back.
    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<crate::audit_chain::ChainHead>, StoreError>;
    /// Every chain's kept head (for a checkpoint).
    async fn kept_audit_heads(&self) -> Result<Vec<crate::audit_chain::ChainHead>, StoreError>;
    /// Whether records are removed after a retention period (then a chain may begin above
    /// its first place without anything having been deleted).
    fn audit_expires(&self) -> bool {
        false
    }
}

/// Where audit checkpoints are kept, out of reach of the store's writers: written once,
/// never replaced.
#[async_trait]
pub trait AuditArchive: Send + Sync {
    async fn put_checkpoint(
        &self,
        checkpoint: &crate::audit_chain::Checkpoint,
    ) -> Result<(), StoreError>;
    /// The newest checkpoint, if any was written.
    async fn latest_checkpoint(&self)
        -> Result<Option<crate::audit_chain::Checkpoint>, StoreError>;
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
    pub lang: crate::i18n::Lang,
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

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("mail service unavailable: {0}")]
    Unavailable(String),
    #[error("message refused: {0}")]
    Rejected(String),
}

#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError>;

    /// Whether `send` only queues the message (a sender delivers it later).
    fn queues(&self) -> bool {
        false
    }
}

/// The mail service's list of addresses it will not send to (SES's account-level
/// suppression list: earlier hard bounces and complaints).
#[async_trait]
pub trait Suppressions: Send + Sync {
    /// Takes `to` off the list; `Ok(true)` if it was on it.
    async fn release(&self, to: &Email) -> Result<bool, MailError>;
}

pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock tests move by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock(Mutex::new(start))
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}
