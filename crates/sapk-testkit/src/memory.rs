//! An in-process `Store` over hash maps, for benchmarks and core tests. It passes the same
//! conformance suite as the real stores (see `tests/memory.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sapk_core::audit_chain::{chain_of, AuditLink};
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, Expect, LoginThrottle, Officer, PendingException, ResetCodeRecord,
    SessionRecord, Store, StoreError, ThrottleWrite,
};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
struct State {
    accounts: HashMap<Nip, Account>,
    codes: HashMap<Nip, ResetCodeRecord>,
    sessions: HashMap<String, SessionRecord>,
    throttles: HashMap<String, LoginThrottle>,
    rate_windows: HashMap<String, u64>,
    audit: Vec<AuditEvent>,
    /// Each chain's records (indexes into `audit`), its head and its held places: the
    /// route bench appends tens of thousands of records, which a scan would make it measure.
    chains: HashMap<String, Chain>,
    /// Each chain's head as kept beyond its records.
    kept_heads: HashMap<String, sapk_core::audit_chain::ChainHead>,
    officers: HashMap<String, Officer>,
    exceptions: HashMap<Nip, PendingException>,
    mail_status: HashMap<Nip, sapk_core::mail_status::MailStatus>,
}

#[derive(Default)]
struct Chain {
    records: Vec<usize>,
    places: std::collections::HashSet<u64>,
    head: Option<AuditLink>,
}

#[derive(Default)]
pub struct MemoryStore(Mutex<State>);

impl MemoryStore {
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }
}

fn conflict(what: &str) -> StoreError {
    StoreError::Conflict(what.to_owned())
}

/// Whether `e`'s place in its chain is held already (by a record, or at or before the kept
/// head).
fn taken(s: &State, e: &AuditEvent) -> bool {
    e.link.as_ref().is_some_and(|l| {
        s.chains
            .get(chain_of(e))
            .is_some_and(|c| c.places.contains(&l.seq))
            || s.kept_heads
                .get(chain_of(e))
                .is_some_and(|k| k.seq >= l.seq)
    })
}

fn push_audit(s: &mut State, e: &AuditEvent) -> Result<(), StoreError> {
    if taken(s, e) {
        return Err(conflict("audit chain place"));
    }
    let index = s.audit.len();
    // The head's seal is kept beside the records (below), not in them, as every store does.
    let mut row = e.clone();
    if let Some(l) = row.link.as_mut() {
        l.head_seal.clear();
    }
    s.audit.push(row);
    let chain = s.chains.entry(chain_of(e).to_owned()).or_default();
    chain.records.push(index);
    if let Some(l) = &e.link {
        chain.places.insert(l.seq);
        if chain.head.as_ref().is_none_or(|h| h.seq < l.seq) {
            chain.head = Some(AuditLink {
                head_seal: String::new(),
                ..l.clone()
            });
        }
        if let Some(kept) = l.head(chain_of(e)) {
            let newer = s
                .kept_heads
                .get(&kept.chain)
                .is_none_or(|h| h.seq < kept.seq);
            if newer {
                s.kept_heads.insert(kept.chain.clone(), kept);
            }
        }
    }
    Ok(())
}

/// The records of `chain`, oldest first.
fn chain_records<'a>(s: &'a State, chain: &str) -> impl DoubleEndedIterator<Item = &'a AuditEvent> {
    s.chains
        .get(chain)
        .into_iter()
        .flat_map(|c| c.records.iter())
        .map(|i| &s.audit[*i])
}

fn replace_account(s: &mut State, a: &Account, expected: u64) -> Result<(), StoreError> {
    match s.accounts.get(&a.nip) {
        Some(cur) if cur.version == expected => {
            let mut next = a.clone();
            next.version = expected + 1;
            s.accounts.insert(a.nip.clone(), next);
            Ok(())
        }
        _ => Err(conflict("account version")),
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError> {
        Ok(self.with(|s| s.accounts.get(nip).cloned()))
    }
    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError> {
        Ok(self.with(|s| nips.iter().map(|n| s.accounts.get(n).cloned()).collect()))
    }
    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.contains_key(&a.nip) {
                return Err(conflict("account exists"));
            }
            s.accounts.insert(a.nip.clone(), a.clone());
            Ok(())
        })
    }
    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        self.with(|s| replace_account(s, a, expected))
    }
    async fn has_accounts(&self) -> Result<bool, StoreError> {
        Ok(self.with(|s| !s.accounts.is_empty()))
    }
    async fn accounts_with_email(
        &self,
        email: &sapk_core::Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError> {
        let mut nips: Vec<Nip> = self.with(|s| {
            s.accounts
                .values()
                .filter(|a| a.email.as_ref() == Some(email))
                .map(|a| a.nip.clone())
                .collect()
        });
        nips.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        nips.truncate(limit);
        Ok(nips)
    }
    async fn put_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        self.with(|s| s.codes.insert(c.nip.clone(), c.clone()));
        Ok(())
    }
    async fn rewrite_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        self.with(|s| {
            if let Some(cur) = s.codes.get_mut(&c.nip) {
                if cur.code_hash == c.code_hash && cur.attempts_left == c.attempts_left {
                    *cur = c.clone();
                }
            }
        });
        Ok(())
    }
    async fn get_reset_code(&self, nip: &Nip) -> Result<Option<ResetCodeRecord>, StoreError> {
        Ok(self.with(|s| s.codes.get(nip).cloned()))
    }
    async fn take_code_attempt(&self, nip: &Nip, h: &str) -> Result<Option<u32>, StoreError> {
        Ok(self.with(|s| match s.codes.get_mut(nip) {
            Some(c) if c.code_hash == h && c.attempts_left > 0 => {
                c.attempts_left -= 1;
                Some(c.attempts_left)
            }
            _ => None,
        }))
    }
    async fn delete_reset_code(&self, nip: &Nip, h: Option<&str>) -> Result<(), StoreError> {
        self.with(|s| {
            if s.codes
                .get(nip)
                .is_some_and(|c| h.is_none_or(|h| c.code_hash == h))
            {
                s.codes.remove(nip);
            }
        });
        Ok(())
    }
    async fn complete_reset(
        &self,
        h: &str,
        a: &Account,
        expected: u64,
        cleared: &LoginThrottle,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if s.codes.get(&a.nip).is_none_or(|c| c.code_hash != h) {
                return Err(conflict("code gone"));
            }
            if taken(s, audit) {
                return Err(conflict("audit chain place"));
            }
            replace_account(s, a, expected)?;
            s.codes.remove(&a.nip);
            s.throttles.insert(cleared.key.clone(), cleared.clone());
            push_audit(s, audit)
        })
    }
    async fn put_session(&self, x: &SessionRecord) -> Result<(), StoreError> {
        self.with(|s| s.sessions.insert(x.token_hash.clone(), x.clone()));
        Ok(())
    }
    async fn get_session(&self, h: &str) -> Result<Option<SessionRecord>, StoreError> {
        Ok(self.with(|s| s.sessions.get(h).cloned()))
    }
    async fn delete_session(&self, h: &str) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.sessions.remove(h)).is_some())
    }
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError> {
        Ok(self.with(|s| keys.iter().map(|k| s.throttles.get(k).cloned()).collect()))
    }
    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError> {
        self.with(|s| {
            for w in writes {
                let cur = s.throttles.get(&w.record.key).map(|t| t.rev);
                let ok = match w.expect {
                    Expect::Any => true,
                    Expect::Absent => cur.is_none(),
                    Expect::Rev(r) => cur == Some(r),
                };
                if !ok {
                    return Err(conflict("throttle changed"));
                }
            }
            for w in writes {
                s.throttles.insert(w.record.key.clone(), w.record.clone());
            }
            Ok(())
        })
    }
    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.with(|s| s.throttles.remove(key));
        Ok(())
    }
    async fn change_email_audited(
        &self,
        a: &Account,
        expected: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if taken(s, audit) {
                return Err(conflict("audit chain place"));
            }
            replace_account(s, a, expected)?;
            s.codes.remove(&a.nip);
            s.exceptions.remove(&a.nip);
            push_audit(s, audit)
        })
    }
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        self.with(|s| s.mail_status.insert(nip.clone(), status.clone()));
        Ok(())
    }
    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        Ok(self.with(|s| s.mail_status.get(nip).cloned()))
    }
    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError> {
        self.with(|s| s.mail_status.remove(nip));
        Ok(())
    }
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError> {
        self.with(|s| s.exceptions.insert(p.nip.clone(), p.clone()));
        Ok(())
    }
    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError> {
        Ok(self.with(|s| s.exceptions.get(nip).cloned()))
    }
    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError> {
        self.with(|s| s.exceptions.remove(nip));
        Ok(())
    }
    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<u64>,
    ) -> Result<(), StoreError> {
        self.with(|s| {
            if s.accounts.get(&old.nip).map(|a| a.version) != Some(old.version) {
                return Err(conflict("old account version"));
            }
            let target = s.accounts.get(&moved.nip).map(|a| a.version);
            let mut next = moved.clone();
            match (replace, target) {
                (None, None) => {}
                (Some(v), Some(cur)) if v == cur => next.version = v + 1,
                _ => return Err(conflict("new account")),
            }
            s.accounts.remove(&old.nip);
            s.codes.remove(&old.nip);
            s.exceptions.remove(&old.nip);
            s.throttles.remove(old.nip.as_str());
            s.sessions.retain(|_, x| x.nip != old.nip);
            s.accounts.insert(next.nip.clone(), next);
            Ok(())
        })
    }
    async fn count_hit(&self, key: &str, _exp: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.with(|s| {
            let c = s.rate_windows.entry(key.to_owned()).or_insert(0);
            *c += 1;
            *c
        }))
    }
    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError> {
        Ok(self.with(|s| s.officers.get(principal).cloned()))
    }
    async fn put_officer(&self, o: &Officer) -> Result<(), StoreError> {
        self.with(|s| s.officers.insert(o.principal.clone(), o.clone()));
        Ok(())
    }
    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError> {
        let mut v: Vec<Officer> = self.with(|s| s.officers.values().cloned().collect());
        v.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(v)
    }
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.with(|s| {
            push_audit(s, e)?;
            Ok(())
        })
    }
    async fn audit_head(&self, chain: &str) -> Result<Option<AuditLink>, StoreError> {
        Ok(self.with(|s| s.chains.get(chain).and_then(|c| c.head.clone())))
    }
    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self.with(|s| chain_records(s, chain).cloned().collect()))
    }
    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        Ok(self.with(|s| s.kept_heads.get(chain).cloned()))
    }
    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        Ok(self.with(|s| s.kept_heads.values().cloned().collect()))
    }
    async fn list_audit(&self, nip: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self.with(|s| {
            chain_records(s, nip.as_str())
                .rev()
                .take(limit)
                .cloned()
                .collect()
        }))
    }
}
