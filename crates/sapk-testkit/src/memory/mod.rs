//! An in-process `Store` over hash maps, for benchmarks and core tests. It passes the same
//! conformance suite as the real stores (see `tests/memory.rs`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sapk_core::audit_chain::{chain_of, AuditLink};
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, CeremonyRecord, Expect, LoginThrottle, Officer, PasskeyRecord,
    PendingException, ResetCodeRecord, SessionRecord, StoreError, ThrottleWrite,
};
use std::collections::HashMap;
use std::sync::Mutex;

mod accounts;
mod audit;
mod codes;
mod lockouts;
mod mail;
mod passkeys;
mod rate_windows;
mod sessions;
mod staff;

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
    /// One address, one account: claim key → the NIP that holds it.
    claims: HashMap<String, Nip>,
    passkeys: HashMap<String, PasskeyRecord>,
    ceremonies: HashMap<String, CeremonyRecord>,
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
