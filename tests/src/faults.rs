//! A store and a mailer that fail on demand, around real adapters.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, LoginThrottle, MailError, Mailer, Officer, OutgoingEmail, ResetCodeRecord,
    SessionRecord, Store, StoreError, ThrottleWrite,
};
use sapk_core::ports::{
    Accounts, AuditLog, Lockouts, MailStatuses, RateWindows, ResetCodes, Sessions, StaffRecords,
};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Shared switch: while on, every call fails as an unreachable service would.
#[derive(Debug, Clone, Default)]
pub struct Switch(Arc<AtomicBool>);

impl Switch {
    pub fn set(&self, failing: bool) {
        self.0.store(failing, Ordering::SeqCst);
    }

    fn check_store(&self) -> Result<(), StoreError> {
        if self.0.load(Ordering::SeqCst) {
            Err(StoreError::Unavailable(
                "injected: connection refused".into(),
            ))
        } else {
            Ok(())
        }
    }
}

/// Which calls fail while the switch is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Every call fails before it reaches the store.
    #[default]
    Everything,
    /// Only `complete_reset` fails, before it writes: after a try was taken, before the
    /// reset completes.
    BeforeCompleteReset,
    /// `complete_reset` is done, then its answer is lost (a timeout after the commit).
    AfterCompleteReset,
    /// Only the batched read (`get_accounts`) fails.
    BatchReads,
}

/// The store calls made, by method name, in order.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<std::sync::Mutex<Vec<&'static str>>>);

impl CallLog {
    fn push(&self, name: &'static str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(name);
    }

    /// Takes the calls made so far, sorted (calls made at once have no order).
    pub fn take_sorted(&self) -> Vec<&'static str> {
        let mut v = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        v.sort_unstable();
        v
    }
}

/// A store that fails on command and logs every call.
pub struct FailingStore {
    pub inner: Arc<dyn Store>,
    pub switch: Switch,
    pub mode: FailMode,
    pub calls: CallLog,
    /// When set, `take_code_attempt` waits here after taking its try: with a barrier for N
    /// concurrent resets, every try is taken before any reset goes on (a race that
    /// certainly happens).
    pub attempt_barrier: Option<Arc<tokio::sync::Barrier>>,
}

impl FailingStore {
    pub fn new(inner: Arc<dyn Store>, switch: Switch, mode: FailMode) -> FailingStore {
        FailingStore {
            inner,
            switch,
            mode,
            calls: CallLog::default(),
            attempt_barrier: None,
        }
    }
}

impl CallLog {
    /// A store wrapper (for `AppOptions::store_wrapper`) that logs every call here.
    pub fn wrapper(&self) -> crate::StoreWrapper {
        let log = self.clone();
        Box::new(move |inner| {
            let mut s = FailingStore::new(inner, Switch::default(), FailMode::Everything);
            s.calls = log;
            Arc::new(s) as Arc<dyn Store>
        })
    }
}

macro_rules! delegate {
    ($self:ident, $call:ident ( $($arg:expr),* )) => {{
        $self.calls.push(stringify!($call));
        if $self.mode == FailMode::Everything {
            $self.switch.check_store()?;
        }
        $self.inner.$call($($arg),*).await
    }};
}

/// The accounts, one per NIP and replaced only at the version read, and the atomic steps that carry an account (a staff e-mail change, a new number).
#[async_trait]
impl Accounts for FailingStore {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError> {
        delegate!(self, get_account(nip))
    }

    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError> {
        if self.mode == FailMode::BatchReads {
            self.switch.check_store()?;
        }
        delegate!(self, get_accounts(nips))
    }

    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        delegate!(self, insert_account(a))
    }

    async fn update_account(&self, a: &Account, v: u64) -> Result<(), StoreError> {
        delegate!(self, update_account(a, v))
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        delegate!(self, has_accounts())
    }

    async fn accounts_with_email(
        &self,
        e: &sapk_core::Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError> {
        delegate!(self, accounts_with_email(e, limit))
    }

    async fn change_email_audited(
        &self,
        a: &Account,
        v: u64,
        previous: Option<&sapk_core::Email>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        delegate!(self, change_email_audited(a, v, previous, audit))
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<&Account>,
    ) -> Result<(), StoreError> {
        delegate!(self, renumber_account(old, moved, replace))
    }

    async fn update_account_email(
        &self,
        a: &Account,
        v: u64,
        previous: Option<&sapk_core::Email>,
    ) -> Result<(), StoreError> {
        delegate!(self, update_account_email(a, v, previous))
    }

    async fn claim_email(&self, e: &sapk_core::Email, n: &Nip) -> Result<bool, StoreError> {
        delegate!(self, claim_email(e, n))
    }

    async fn email_holder(&self, e: &sapk_core::Email) -> Result<Option<Nip>, StoreError> {
        delegate!(self, email_holder(e))
    }

    async fn accounts_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), StoreError> {
        delegate!(self, accounts_page(cursor, limit))
    }
}

/// Reset codes: at most one per NIP, its tries taken atomically, and the reset that spends it.
#[async_trait]
impl ResetCodes for FailingStore {
    async fn put_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        delegate!(self, put_reset_code(c))
    }

    async fn rewrite_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        // One code write, like `put_reset_code` (on DynamoDB both are a PutItem): logged as
        // one, so that the log compares the work the store does.
        self.calls.push("put_reset_code");
        if self.mode == FailMode::Everything {
            self.switch.check_store()?;
        }
        self.inner.rewrite_reset_code(c).await
    }

    async fn get_reset_code(&self, nip: &Nip) -> Result<Option<ResetCodeRecord>, StoreError> {
        delegate!(self, get_reset_code(nip))
    }

    async fn take_code_attempt(&self, nip: &Nip, h: &str) -> Result<Option<u32>, StoreError> {
        let r = delegate!(self, take_code_attempt(nip, h));
        if let Some(b) = &self.attempt_barrier {
            b.wait().await;
        }
        r
    }

    async fn delete_reset_code(&self, nip: &Nip, h: Option<&str>) -> Result<(), StoreError> {
        delegate!(self, delete_reset_code(nip, h))
    }

    async fn complete_reset(
        &self,
        h: &str,
        a: &Account,
        v: u64,
        cleared: &LoginThrottle,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.calls.push("complete_reset");
        if self.mode != FailMode::AfterCompleteReset {
            self.switch.check_store()?;
        }
        self.inner.complete_reset(h, a, v, cleared, audit).await?;
        if self.mode == FailMode::AfterCompleteReset {
            self.switch.check_store()?;
        }
        Ok(())
    }
}

/// Login sessions and second-step challenges, by the hash of their token.
#[async_trait]
impl Sessions for FailingStore {
    async fn put_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        delegate!(self, put_session(s))
    }

    async fn get_session(&self, h: &str) -> Result<Option<SessionRecord>, StoreError> {
        delegate!(self, get_session(h))
    }

    async fn delete_session(&self, h: &str) -> Result<bool, StoreError> {
        delegate!(self, delete_session(h))
    }
}

/// Login throttle records (failures and lock-outs, per NIP and per source), written all or nothing.
#[async_trait]
impl Lockouts for FailingStore {
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError> {
        delegate!(self, get_throttles(keys))
    }

    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError> {
        delegate!(self, put_throttles(writes))
    }

    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        delegate!(self, delete_throttle(key))
    }
}

/// Rate windows: hit counts under a key, gone with their window.
#[async_trait]
impl RateWindows for FailingStore {
    async fn count_hit(&self, key: &str, exp: DateTime<Utc>) -> Result<u64, StoreError> {
        delegate!(self, count_hit(key, exp))
    }
}

/// The audit trail: chained records sealed with a key, only ever appended.
#[async_trait]
impl AuditLog for FailingStore {
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        delegate!(self, append_audit(e))
    }

    async fn list_audit(&self, nip: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        delegate!(self, list_audit(nip, limit))
    }

    async fn audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::AuditLink>, StoreError> {
        delegate!(self, audit_head(chain))
    }

    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        delegate!(self, audit_chain(chain))
    }

    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        delegate!(self, kept_audit_head(chain))
    }

    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        delegate!(self, kept_audit_heads())
    }

    fn audit_expires(&self) -> bool {
        self.inner.audit_expires()
    }
}

/// The staff registry, and the e-mail exceptions waiting for a second officer.
#[async_trait]
impl StaffRecords for FailingStore {
    async fn put_email_exception(
        &self,
        p: &sapk_core::ports::PendingException,
    ) -> Result<(), StoreError> {
        delegate!(self, put_email_exception(p))
    }

    async fn get_email_exception(
        &self,
        nip: &Nip,
    ) -> Result<Option<sapk_core::ports::PendingException>, StoreError> {
        delegate!(self, get_email_exception(nip))
    }

    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError> {
        delegate!(self, delete_email_exception(nip))
    }

    async fn list_email_exceptions(
        &self,
    ) -> Result<Vec<sapk_core::ports::PendingException>, StoreError> {
        delegate!(self, list_email_exceptions())
    }

    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError> {
        delegate!(self, get_officer(principal))
    }

    async fn put_officer(&self, o: &Officer) -> Result<(), StoreError> {
        delegate!(self, put_officer(o))
    }

    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError> {
        delegate!(self, list_officers())
    }
}

/// The last mail status of each account (bounces, complaints).
#[async_trait]
impl MailStatuses for FailingStore {
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        delegate!(self, put_mail_status(nip, status))
    }

    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        delegate!(self, get_mail_status(nip))
    }

    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError> {
        delegate!(self, delete_mail_status(nip))
    }
}

pub struct FailingMailer {
    pub inner: Arc<dyn Mailer>,
    pub switch: Switch,
}

#[async_trait]
impl Mailer for FailingMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), MailError> {
        if self.switch.0.load(Ordering::SeqCst) {
            return Err(MailError::Unavailable("injected: mail service down".into()));
        }
        self.inner.send(email).await
    }
}

/// Passkeys and the WebAuthn ceremonies waiting for an answer.
#[async_trait]
impl sapk_core::ports::Passkeys for FailingStore {
    async fn insert_passkey(&self, p: &sapk_core::ports::PasskeyRecord) -> Result<(), StoreError> {
        delegate!(self, insert_passkey(p))
    }

    async fn get_passkey(
        &self,
        id: &str,
    ) -> Result<Option<sapk_core::ports::PasskeyRecord>, StoreError> {
        delegate!(self, get_passkey(id))
    }

    async fn list_passkeys(
        &self,
        nip: &Nip,
    ) -> Result<Vec<sapk_core::ports::PasskeyRecord>, StoreError> {
        delegate!(self, list_passkeys(nip))
    }

    async fn update_passkey(
        &self,
        p: &sapk_core::ports::PasskeyRecord,
        expected: &str,
    ) -> Result<(), StoreError> {
        delegate!(self, update_passkey(p, expected))
    }

    async fn delete_passkey(&self, nip: &Nip, id: &str) -> Result<bool, StoreError> {
        delegate!(self, delete_passkey(nip, id))
    }

    async fn put_ceremony(&self, c: &sapk_core::ports::CeremonyRecord) -> Result<(), StoreError> {
        delegate!(self, put_ceremony(c))
    }

    async fn take_ceremony(
        &self,
        key: &str,
    ) -> Result<Option<sapk_core::ports::CeremonyRecord>, StoreError> {
        delegate!(self, take_ceremony(key))
    }
}
