//! Ports: what the use cases need from storage, mail and time, as traits only. Adapters
//! implement them (SQLite and a file outbox locally; DynamoDB and SES on AWS). The records
//! they carry are in [`crate::domain::records`], re-exported here for the adapters.

use crate::domain::email::Email;
use crate::domain::nip::Nip;
pub use crate::domain::records::*;
use async_trait::async_trait;
use chrono::{DateTime, Utc};

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
    /// The e-mail address is claimed by another account (the NIP that holds it): one address,
    /// one ASN. Nothing was written.
    #[error("the e-mail address belongs to another account")]
    EmailTaken(String),
}

/// Storage, as one trait per aggregate (each backend implements them in files of the same
/// names: `accounts`, `codes`, `sessions`, `lockouts`, `rate_windows`, `audit`, `staff`,
/// `mail`). A store is whatever implements them all; use cases hold an `Arc<dyn Store>`,
/// on which every one of their methods is callable.
pub trait Store:
    Accounts
    + ResetCodes
    + Sessions
    + Lockouts
    + RateWindows
    + AuditLog
    + StaffRecords
    + MailStatuses
    + Passkeys
{
}

/// Every store trait, for code that calls a concrete store (`use sapk_core::ports::stores::*`).
pub mod stores {
    pub use super::{
        Accounts, AuditLog, Lockouts, MailStatuses, Passkeys, RateWindows, ResetCodes, Sessions,
        StaffRecords, Store,
    };
}

impl<
        T: Accounts
            + ResetCodes
            + Sessions
            + Lockouts
            + RateWindows
            + AuditLog
            + StaffRecords
            + MailStatuses
            + Passkeys
            + ?Sized,
    > Store for T
{
}

/// The accounts, one per NIP and replaced only at the version read, and the atomic steps that carry an account (a staff e-mail change, a new number).
#[async_trait]
pub trait Accounts: Send + Sync {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError>;
    /// Several accounts in one read (a bulk import's batch): one answer per NIP, in order.
    /// A NIP given twice is answered twice.
    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError>;
    /// Creates an account and, with its e-mail, the claim on that address (one address, one
    /// account: [`Email::claim_key`]) in one step; `Conflict` if the NIP exists, `EmailTaken`
    /// if another account claims the address.
    async fn insert_account(&self, account: &Account) -> Result<(), StoreError>;
    /// Replaces the account if its stored `version` is `expected_version`, storing
    /// `account` with `version = expected_version + 1`; `Conflict` otherwise. The e-mail
    /// stays as stored (a different one is `Conflict`): it changes only through the steps
    /// that move its claim ([`Accounts::update_account_email`],
    /// [`Accounts::change_email_audited`], [`Accounts::renumber_account`]).
    async fn update_account(
        &self,
        account: &Account,
        expected_version: u64,
    ) -> Result<(), StoreError>;
    /// `update_account` for an account whose e-mail was `previous`: in the same step the
    /// claim on the new address is taken and the one on `previous` released. `EmailTaken`
    /// when another account claims the new address; then nothing is written.
    async fn update_account_email(
        &self,
        account: &Account,
        expected_version: u64,
        previous: Option<&Email>,
    ) -> Result<(), StoreError>;
    /// The NIP whose account claims `email` (case-insensitively), if any.
    async fn email_holder(&self, email: &Email) -> Result<Option<Nip>, StoreError>;
    /// Claims `email` for `nip` if no account claims it yet (the claims accounts from before
    /// them lack): `true` if it is now `nip`'s, `false` if another account holds it.
    async fn claim_email(&self, email: &Email, nip: &Nip) -> Result<bool, StoreError>;
    /// Every account, a page at a time: the accounts after `cursor` (`None`: from the start)
    /// and the cursor of the next page (`None`: the last). For the tools that go through them
    /// all (the shared-address report); never on a request path.
    async fn accounts_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), StoreError>;
    /// Whether any account exists (cheap on every store: no full count).
    async fn has_accounts(&self) -> Result<bool, StoreError>;
    /// Up to `limit` NIPs whose account has exactly this e-mail (on DynamoDB from an index,
    /// so a write of the last second may be missing: a warning, not a guarantee).
    async fn accounts_with_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError>;
    /// A staff e-mail change in one atomic step: replaces the account as `update_account`
    /// does (it must be at `expected_version`), deletes its reset code and any pending
    /// e-mail exception, and appends `audit`.
    /// `Conflict` when the account changed; then nothing is written, not even the audit
    /// record (no change exists without its record, and no record without its change).
    /// The claim moves with the address, as in [`Accounts::update_account_email`]
    /// (`EmailTaken` when another account claims the new one).
    async fn change_email_audited(
        &self,
        account: &Account,
        expected_version: u64,
        previous: Option<&Email>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// Carries an account to a new number in one atomic step: deletes `old` (it must still
    /// be at `old.version`) with its reset code, per-NIP throttle record and sessions, and stores
    /// `moved` under its (new) NIP: created when `replace` is `None` (`Conflict` if that NIP
    /// exists), or replacing the account there (it must still be at `replace.version`; stored
    /// at `replace.version + 1`). The claims follow: `moved`'s address is claimed for the new
    /// NIP, `old`'s and `replace`'s other addresses released.
    /// `Conflict` (or `EmailTaken`) when any condition fails; then nothing is written.
    /// The old number's pending e-mail exception ends with it too. Its passkeys move to
    /// the new number (a replaced account's own are removed).
    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<&Account>,
    ) -> Result<(), StoreError>;
}

/// Reset codes: at most one per NIP, its tries taken atomically, and the reset that spends it.
#[async_trait]
pub trait ResetCodes: Send + Sync {
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
}

/// Login sessions and second-step challenges, by the hash of their token.
#[async_trait]
pub trait Sessions: Send + Sync {
    async fn put_session(&self, session: &SessionRecord) -> Result<(), StoreError>;
    async fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Deletes a session (or a login challenge); whether it was there. Of two deletes at
    /// once only one sees `true`: that makes a challenge single-use.
    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError>;
}

/// Login throttle records (failures and lock-outs, per NIP and per source), written all or nothing.
#[async_trait]
pub trait Lockouts: Send + Sync {
    /// The throttle records under `keys`, in the same order (absent ones as `None`).
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError>;
    /// Writes every record, all or nothing: `Conflict` (and nothing written) when any
    /// record is not as its `expect` says.
    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError>;
    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError>;
}

/// Rate windows: hit counts under a key, gone with their window.
#[async_trait]
pub trait RateWindows: Send + Sync {
    /// Atomically adds one to the hits of the rate window `key` (created with `expires_at`); returns the
    /// new count.
    async fn count_hit(&self, key: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError>;
    /// [`RateWindows::count_hit`] for each of `windows` at once, the counts in the same order.
    /// A store that can do it in one transaction (SQLite) does; the default makes the calls
    /// concurrently (one round trip's wait on DynamoDB).
    async fn count_hits(
        &self,
        windows: &[(String, DateTime<Utc>)],
    ) -> Result<Vec<u64>, StoreError> {
        futures_util::future::try_join_all(
            windows
                .iter()
                .map(|(key, expires_at)| self.count_hit(key, *expires_at)),
        )
        .await
    }
}

/// The audit trail: chained records sealed with a key, only ever appended.
#[async_trait]
pub trait AuditLog: Send + Sync {
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
        _key: &crate::domain::audit_chain::AuditKey,
    ) -> Result<bool, StoreError> {
        Ok(false)
    }
    /// The link of the newest chained record of `chain` (a NIP, or
    /// [`crate::domain::audit_chain::SYSTEM_CHAIN`] for records without one).
    async fn audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<crate::domain::audit_chain::AuditLink>, StoreError>;
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
    ) -> Result<Option<crate::domain::audit_chain::ChainHead>, StoreError>;
    /// Every chain's kept head (for a checkpoint).
    async fn kept_audit_heads(
        &self,
    ) -> Result<Vec<crate::domain::audit_chain::ChainHead>, StoreError>;
    /// Whether records are removed after a retention period (then a chain may begin above
    /// its first place without anything having been deleted).
    fn audit_expires(&self) -> bool {
        false
    }
}

/// The staff registry, and the e-mail exceptions waiting for a second officer.
#[async_trait]
pub trait StaffRecords: Send + Sync {
    /// Records a pending exception, replacing the NIP's earlier one.
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError>;
    /// The NIP's pending exception, expired or not (callers compare `expires_at`).
    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError>;
    /// Ends the NIP's pending exception, if any.
    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError>;
    /// Every pending exception, expired or not (hundreds at most: each waits a day), in no
    /// particular order. On DynamoDB read from an index, so a request made a moment ago
    /// may be missing.
    async fn list_email_exceptions(&self) -> Result<Vec<PendingException>, StoreError>;
    /// The registered officer signed in as `principal`, if any.
    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError>;
    /// Registers or replaces an officer.
    async fn put_officer(&self, officer: &Officer) -> Result<(), StoreError>;
    /// Every registered officer (a registry of hundreds, not millions).
    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError>;
}

/// Passkeys (WebAuthn credentials) by credential ID, each of one account, and the ceremonies
/// waiting for a browser's answer. A renumbered account's passkeys move with it
/// ([`Accounts::renumber_account`]).
#[async_trait]
pub trait Passkeys: Send + Sync {
    /// Adds a passkey: `Conflict` (nothing written) when its credential ID is registered
    /// already, to this account or another.
    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError>;
    async fn get_passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError>;
    /// The account's passkeys, oldest first.
    async fn list_passkeys(&self, nip: &Nip) -> Result<Vec<PasskeyRecord>, StoreError>;
    /// Replaces a passkey after a sign-in (its counter, backup flags, last use) only if its
    /// credential is still `expected`: of two sign-ins with one assertion, or two at once,
    /// one writes and the other gets `Conflict`.
    async fn update_passkey(
        &self,
        passkey: &PasskeyRecord,
        expected_credential: &str,
    ) -> Result<(), StoreError>;
    /// Removes the account's passkey `id`; whether it was the account's.
    async fn delete_passkey(&self, nip: &Nip, id: &str) -> Result<bool, StoreError>;
    /// Keeps a ceremony until its expiry.
    async fn put_ceremony(&self, ceremony: &CeremonyRecord) -> Result<(), StoreError>;
    /// Takes (removes and returns) the ceremony under `key`, expired or not: of two takes at
    /// once only one gets it, which makes a challenge single-use.
    async fn take_ceremony(&self, key: &str) -> Result<Option<CeremonyRecord>, StoreError>;
}

/// The last mail status of each account (bounces, complaints).
#[async_trait]
pub trait MailStatuses: Send + Sync {
    /// The last mail status of an account (replacing the one before).
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &crate::domain::mail_status::MailStatus,
    ) -> Result<(), StoreError>;
    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<crate::domain::mail_status::MailStatus>, StoreError>;
    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError>;
}

/// Where audit checkpoints are kept, out of reach of the store's writers: written once,
/// never replaced.
#[async_trait]
pub trait AuditArchive: Send + Sync {
    async fn put_checkpoint(
        &self,
        checkpoint: &crate::domain::audit_chain::Checkpoint,
    ) -> Result<(), StoreError>;
    /// The newest checkpoint, if any was written.
    async fn latest_checkpoint(
        &self,
    ) -> Result<Option<crate::domain::audit_chain::Checkpoint>, StoreError>;
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

/// A corpus of breached passwords asked by k-anonymity (the Pwned Passwords range API): it
/// is given the first five hex digits of a password's SHA-1 and answers with the rest of
/// every SHA-1 in the corpus that starts with them, each with how often it was seen (0 for
/// the padding the caller asked for). The password, and its full hash, never leave.
#[async_trait]
pub trait BreachRange: Send + Sync {
    async fn suffixes(&self, prefix: &str) -> Result<Vec<(String, u64)>, RangeError>;
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error("the range service is unreachable: {0}")]
    Unreachable(String),
    #[error("the range service answered HTTP {0}")]
    Status(u16),
    #[error("the range service's answer is unreadable: {0}")]
    Malformed(String),
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
