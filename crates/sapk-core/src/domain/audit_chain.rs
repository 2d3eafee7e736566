//! Tamper-evident audit records: a keyed hash chain per NIP.
//!
//! Every record belongs to one chain: its NIP's, or [`SYSTEM_CHAIN`] for a record without a
//! NIP (an import run, an officer's registration). A record's [`AuditLink`] holds its
//! place in the chain (`seq`, from 1), the MAC of the record before it (`prev`, empty for the
//! first) and its own MAC: HMAC-SHA-256 under the audit key over the chain, `seq`, `prev` and
//! every field of the record. Whoever rewrites a record, deletes one from the middle of a
//! chain, reorders or inserts records cannot make the MACs agree without the key; the store
//! refuses two records at one place of a chain, so concurrent appends never fork it.
//!
//! What the rows cannot show by themselves is kept beyond them, against anyone who can write
//! the store but does not hold the key:
//! - **the chain's head** ([`ChainHead`]: its newest place and MAC, keyed), written in the
//!   same transaction as every append, so that deleting the newest records (or the whole
//!   chain) leaves a head that points past what is held;
//! - **checkpoints** ([`Checkpoint`]: every chain's head at one time, keyed), written to the
//!   archive (a file beside the embedded store, the Object Lock bucket on AWS), so that
//!   rolling the store back to an older consistent state (rows and heads together) or
//!   deleting a chain with its head is seen against the newest checkpoint.
//!
//! Verification reads the records in insertion order: a record without a seal after the
//! first sealed one (or dated after it) was written outside the service. A store that never
//! expires records (the embedded one) must hold every chain from its first place; where a
//! retention period removes the oldest (DynamoDB's TTL), the archive tells expiry from
//! deletion.

use crate::domain::keys::{ct_eq, TokenKey};
use crate::domain::records::AuditEvent;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The chain of records without a NIP.
pub const SYSTEM_CHAIN: &str = "-";

const LABEL: &str = "sapk-audit-chain-v1";
const HEAD_LABEL: &str = "sapk-audit-head-v1";
const CHECKPOINT_LABEL: &str = "sapk-audit-checkpoint-v1";

/// A record's place in its chain and its keyed MAC (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLink {
    pub seq: u64,
    pub prev: String,
    pub mac: String,
    /// The keyed seal of the chain's head this record makes ([`ChainHead::seal`]): set by
    /// [`AuditKey::seal`] for the store to keep beside the record; not part of the record,
    /// and empty on records read back.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub head_seal: String,
    /// Who sealed it: empty for the service, else a writer's name ([`WRITERS`]).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sealer: String,
}

impl AuditLink {
    /// The head of `chain` this link makes, as the store keeps it (`None` without a seal).
    pub fn head(&self, chain: &str) -> Option<ChainHead> {
        (!self.head_seal.is_empty()).then(|| ChainHead {
            chain: chain.to_owned(),
            seq: self.seq,
            mac: self.mac.clone(),
            seal: self.head_seal.clone(),
            sealer: self.sealer.clone(),
        })
    }
}

/// A chain's newest place and MAC, kept by the store beyond the records (updated in the
/// same transaction as each append) and sealed with the audit key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub chain: String,
    pub seq: u64,
    pub mac: String,
    pub seal: String,
    /// Who sealed it (empty: the service).
    #[serde(default)]
    pub sealer: String,
}

/// One chain's place in a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointEntry {
    pub seq: u64,
    pub mac: String,
}

/// Every chain's head at one time, sealed with the audit key, written to the archive where
/// the store's writers cannot change it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub at: chrono::DateTime<chrono::Utc>,
    pub heads: std::collections::BTreeMap<String, CheckpointEntry>,
    /// The MAC of the checkpoint it was built on (empty for the first): each checkpoint
    /// carries forward every chain the one before it saw, so a newer checkpoint never saw
    /// less.
    #[serde(default)]
    pub prev: String,
    pub mac: String,
}

/// What a verification compares a chain's records with, besides themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Evidence<'a> {
    /// The head the store keeps for the chain.
    pub head: Option<&'a ChainHead>,
    /// The newest checkpoint (already checked with [`AuditKey::checkpoint_ok`]).
    pub checkpoint: Option<&'a Checkpoint>,
    /// Whether the store removes records after a retention period (then a chain may start
    /// above 1).
    pub expires: bool,
}

/// A record's details as a store read them: the JSON text parsed, or, when it does not
/// parse (written outside the service), the text itself kept as a string, so that the
/// record no longer matches its seal instead of reading as `null`.
pub fn details_as_stored(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

/// The chain a record belongs to.
pub fn chain_of(event: &AuditEvent) -> &str {
    event.nip.as_ref().map_or(SYSTEM_CHAIN, |n| n.as_str())
}

/// The key of the audit chain (HMAC-SHA-256). `Debug` never shows it.
///
/// The service's functions seal with the key of no name. A person's role that must append
/// records directly (on AWS the supervisor's registry and the data administrator's import)
/// seals with a key of its own, named (`supervisor`, `data-admin`): its records and heads carry
/// the name, and whoever verifies holds those keys too ([`AuditKey::with_writer`]) and names
/// who sealed what; a record a writer may not write (a login sealed by the supervisor's key)
/// is reported. So no person holds the key that seals the service's own records.
#[derive(Clone)]
pub struct AuditKey {
    key: TokenKey,
    name: String,
    writers: Vec<(String, TokenKey)>,
}

/// Where a writer's record may stand: the system chain (records without a NIP) or an
/// employee's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    System,
    Employee,
}

/// The writers of records besides the service, and what each may write, where: what
/// `sapk-admin --store dynamodb` writes for that role, nothing else.
pub const WRITERS: [(&str, &[(&str, Place)]); 2] = [
    (
        "supervisor",
        &[
            ("staff_registry", Place::System),
            ("audit_viewed", Place::Employee),
        ],
    ),
    (
        "data-admin",
        &[
            ("employee_imported", Place::Employee),
            ("employee_import_run", Place::System),
            ("account_renumber", Place::Employee),
            ("employee_viewed", Place::Employee),
            ("audit_viewed", Place::Employee),
        ],
    ),
];

/// Whether `sealer` (a writer's name; empty for the service) may seal a record of `action`
/// in `chain`.
pub fn may_seal(sealer: &str, action: &str, chain: &str) -> bool {
    let place = if chain == SYSTEM_CHAIN {
        Place::System
    } else {
        Place::Employee
    };
    sealer.is_empty()
        || WRITERS
            .iter()
            .any(|(name, allowed)| *name == sealer && allowed.contains(&(action, place)))
}

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

impl AuditKey {
    /// A key of its own (deployed: `SAPK_AUDIT_KEY`, kept apart from the token key so that
    /// rotating the token key after a breach leaves every earlier record verifiable).
    pub fn new(key: TokenKey) -> AuditKey {
        AuditKey {
            key,
            name: String::new(),
            writers: Vec::new(),
        }
    }

    /// The key derived from the token key, where no key of its own is configured.
    pub fn derived_from(token: &TokenKey) -> AuditKey {
        AuditKey::new(token.derive("sapk-audit-key-v1"))
    }

    /// A writer's own key (one of [`WRITERS`]): what it seals carries `name`.
    pub fn for_writer(key: TokenKey, name: &str) -> AuditKey {
        AuditKey {
            key,
            name: name.to_owned(),
            writers: Vec::new(),
        }
    }

    /// Also checks what the writer `name` sealed with `key` (a verifier's key ring).
    pub fn with_writer(mut self, name: &str, key: TokenKey) -> AuditKey {
        self.writers.push((name.to_owned(), key));
        self
    }

    /// The name this key seals under (empty: the service).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key that sealed what carries `sealer`, if this ring holds it.
    fn key_for(&self, sealer: &str) -> Option<&TokenKey> {
        if sealer == self.name {
            return Some(&self.key);
        }
        self.writers
            .iter()
            .find(|(n, _)| n == sealer)
            .map(|(_, k)| k)
    }

    /// The link of `event` appended after `head` (the chain's newest record, `None` for an
    /// empty chain), with the seal of the chain's new head.
    pub fn seal(&self, event: &AuditEvent, head: Option<&AuditLink>) -> AuditLink {
        let (seq, prev) = match head {
            Some(h) => (h.seq.saturating_add(1), h.mac.clone()),
            None => (1, String::new()),
        };
        let mac = self.mac(event, seq, &prev, &self.name).unwrap_or_default();
        let head_seal = self
            .head_mac(chain_of(event), seq, &mac, &self.name)
            .unwrap_or_default();
        AuditLink {
            seq,
            prev,
            mac,
            head_seal,
            sealer: self.name.clone(),
        }
    }

    fn head_mac(&self, chain: &str, seq: u64, mac: &str, sealer: &str) -> Option<String> {
        let key = self.key_for(sealer)?;
        let seq = seq.to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![chain.as_bytes(), &seq, mac.as_bytes()];
        if !sealer.is_empty() {
            parts.push(sealer.as_bytes());
        }
        Some(key.mac_hex(HEAD_LABEL, &parts))
    }

    /// Whether a kept head was sealed with a key of this ring (and not altered).
    pub fn head_ok(&self, head: &ChainHead) -> bool {
        self.head_mac(&head.chain, head.seq, &head.mac, &head.sealer)
            .is_some_and(|m| ct_eq(&m, &head.seal))
    }

    fn checkpoint_mac(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        prev: &str,
        heads: &std::collections::BTreeMap<String, CheckpointEntry>,
    ) -> String {
        let mut parts: Vec<Vec<u8>> = vec![
            at.timestamp_micros().to_be_bytes().to_vec(),
            prev.as_bytes().to_vec(),
        ];
        for (chain, e) in heads {
            parts.push(chain.as_bytes().to_vec());
            parts.push(e.seq.to_be_bytes().to_vec());
            parts.push(e.mac.as_bytes().to_vec());
        }
        let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
        self.key.mac_hex(CHECKPOINT_LABEL, &refs)
    }

    /// A checkpoint of `heads` at `at`, built on `previous` (the newest trusted one): only
    /// heads sealed with this key are taken (one that is not is no evidence of anything),
    /// and every chain `previous` saw further along than the store holds now (a head gone,
    /// behind, or another at the same place) keeps `previous`'s entry: a checkpoint never
    /// forgets what an earlier one saw. Those chains are returned too (each a sign of
    /// tampering since `previous`).
    pub fn checkpoint(
        &self,
        at: chrono::DateTime<chrono::Utc>,
        heads: &[ChainHead],
        previous: Option<&Checkpoint>,
    ) -> (Checkpoint, Vec<String>) {
        let mut entries: std::collections::BTreeMap<String, CheckpointEntry> = heads
            .iter()
            // Only heads the service sealed: a writer's key could seal a head at any place.
            .filter(|h| h.sealer.is_empty() && self.head_ok(h))
            .map(|h| {
                (
                    h.chain.clone(),
                    CheckpointEntry {
                        seq: h.seq,
                        mac: h.mac.clone(),
                    },
                )
            })
            .collect();
        let mut regressed = Vec::new();
        if let Some(p) = previous {
            for (chain, before) in &p.heads {
                let kept = entries.get(chain).is_some_and(|now| {
                    now.seq > before.seq || (now.seq == before.seq && ct_eq(&now.mac, &before.mac))
                });
                if !kept {
                    regressed.push(chain.clone());
                    entries.insert(chain.clone(), before.clone());
                }
            }
        }
        let prev = previous.map(|p| p.mac.clone()).unwrap_or_default();
        let mac = self.checkpoint_mac(at, &prev, &entries);
        (
            Checkpoint {
                at,
                heads: entries,
                prev,
                mac,
            },
            regressed,
        )
    }

    /// Whether a checkpoint was sealed with this key and not altered.
    pub fn checkpoint_ok(&self, cp: &Checkpoint) -> bool {
        ct_eq(&self.checkpoint_mac(cp.at, &cp.prev, &cp.heads), &cp.mac)
    }

    /// Whether one record matches its own seal (not its place in a chain).
    pub fn record_ok(&self, e: &AuditEvent) -> bool {
        e.link
            .as_ref()
            .is_some_and(|l| self.link_ok(e, l) && may_seal(&l.sealer, &e.action, chain_of(e)))
    }

    /// Whether `l` is `e`'s seal under the key its sealer names.
    fn link_ok(&self, e: &AuditEvent, l: &AuditLink) -> bool {
        self.mac(e, l.seq, &l.prev, &l.sealer)
            .is_some_and(|m| ct_eq(&m, &l.mac))
    }

    fn mac(&self, e: &AuditEvent, seq: u64, prev: &str, sealer: &str) -> Option<String> {
        let key = self.key_for(sealer)?;
        // Each field length-prefixed (TokenKey::mac), an optional one behind a presence
        // byte, so that no two different records share an encoding. Times in microseconds:
        // the precision every store keeps.
        fn opt(v: &Option<String>) -> Vec<u8> {
            match v {
                Some(s) => [&[1u8][..], s.as_bytes()].concat(),
                None => vec![0],
            }
        }
        let nip = e.nip.as_ref().map(|n| n.as_str().to_owned());
        let details = e.details.to_string();
        let (seq, at) = (seq.to_be_bytes(), e.at.timestamp_micros().to_be_bytes());
        let (office, nip, source_ip) = (opt(&e.office), opt(&nip), opt(&e.source_ip));
        let mut parts: Vec<&[u8]> = vec![
            chain_of(e).as_bytes(),
            &seq,
            prev.as_bytes(),
            &at,
            e.actor.as_bytes(),
            &office,
            &nip,
            &source_ip,
            e.action.as_bytes(),
            e.outcome.as_bytes(),
            details.as_bytes(),
        ];
        // The service's records keep the encoding they always had; a writer's name is sealed
        // in.
        if !sealer.is_empty() {
            parts.push(sealer.as_bytes());
        }
        Some(key.mac_hex(LABEL, &parts))
    }

    /// Checks a whole chain as a store gives it ([`crate::ports::Store::audit_chain`]: in
    /// insertion order) against the head kept beyond it and the newest checkpoint.
    pub fn verify(&self, chain: &str, records: &[AuditEvent], ev: &Evidence<'_>) -> ChainReport {
        let mut report = self.verify_records(chain, records);
        if report.first_seq.is_some_and(|f| f > 1) && !ev.expires {
            // Nothing expires here: the oldest records were deleted.
            report.problems.push(ChainProblem::Missing {
                after: 0,
                next: report.first_seq.unwrap_or(1),
            });
        }
        let last = records
            .iter()
            .filter_map(|e| e.link.as_ref())
            .max_by_key(|l| l.seq);
        report.head_seq = ev.head.map(|h| h.seq);
        self.check_head(&mut report, chain, last, ev.head);
        if let Some(cp) = ev.checkpoint {
            report.checkpoint_at = Some(cp.at);
            if let Some(entry) = cp.heads.get(chain) {
                let held = last.map_or(0, |l| l.seq);
                if held < entry.seq {
                    report.problems.push(ChainProblem::BehindCheckpoint {
                        checkpoint: entry.seq,
                        held,
                    });
                } else if let Some(at) = records
                    .iter()
                    .filter_map(|e| e.link.as_ref())
                    .find(|l| l.seq == entry.seq)
                {
                    if !ct_eq(&at.mac, &entry.mac) {
                        report
                            .problems
                            .push(ChainProblem::CheckpointMismatch { seq: entry.seq });
                    }
                }
            }
        }
        report
    }

    /// The kept head against the newest record held.
    fn check_head(
        &self,
        report: &mut ChainReport,
        chain: &str,
        last: Option<&AuditLink>,
        head: Option<&ChainHead>,
    ) {
        match (head, last) {
            (None, None) => {}
            (None, Some(_)) => report.problems.push(ChainProblem::HeadMissing),
            (Some(h), _) if h.chain != chain || !self.head_ok(h) => {
                report.problems.push(ChainProblem::HeadAltered)
            }
            // A head a writer sealed is believed only as the record it names: the writer's
            // key could seal a head at any place.
            (Some(h), last)
                if !h.sealer.is_empty()
                    && !last.is_some_and(|l| {
                        l.seq == h.seq && l.sealer == h.sealer && ct_eq(&l.mac, &h.mac)
                    }) =>
            {
                report.problems.push(ChainProblem::HeadAltered)
            }
            (Some(h), None) => report.problems.push(ChainProblem::TailMissing {
                held: 0,
                head: h.seq,
            }),
            (Some(h), Some(l)) if h.seq > l.seq => {
                report.problems.push(ChainProblem::TailMissing {
                    held: l.seq,
                    head: h.seq,
                })
            }
            (Some(h), Some(l)) if h.seq < l.seq => report.problems.push(ChainProblem::HeadBehind {
                head: h.seq,
                held: l.seq,
            }),
            (Some(h), Some(l)) if !ct_eq(&h.mac, &l.mac) => report
                .problems
                .push(ChainProblem::HeadMismatch { seq: h.seq }),
            _ => {}
        }
    }

    /// The records alone: each seal, each link to the one before, and no record without a
    /// seal after (or dated after) the first sealed one.
    fn verify_records(&self, chain: &str, records: &[AuditEvent]) -> ChainReport {
        let mut report = ChainReport {
            chain: chain.to_owned(),
            records: records.len(),
            unchained: 0,
            first_seq: None,
            last_seq: None,
            head_seq: None,
            checkpoint_at: None,
            sealed_by: std::collections::BTreeMap::new(),
            problems: Vec::new(),
        };
        let mut before: Option<&AuditLink> = None;
        for e in records {
            if chain_of(e) != chain {
                report.problems.push(ChainProblem::WrongChain { at: e.at });
                continue;
            }
            let Some(link) = &e.link else {
                // Every record this service writes is sealed: one without a seal was written
                // outside it, wherever it sorts and whatever date it claims.
                report.unchained += 1;
                report
                    .problems
                    .push(ChainProblem::UnchainedAfterChain { at: e.at });
                continue;
            };
            if !self.link_ok(e, link) {
                report
                    .problems
                    .push(ChainProblem::Altered { seq: link.seq });
            } else if !may_seal(&link.sealer, &e.action, chain) {
                report.problems.push(ChainProblem::SealedByWriter {
                    seq: link.seq,
                    sealer: link.sealer.clone(),
                });
            } else {
                // Counted once its seal holds: a forged name counts for no one.
                let by = if link.sealer.is_empty() {
                    "service"
                } else {
                    link.sealer.as_str()
                };
                *report.sealed_by.entry(by.to_owned()).or_default() += 1;
            }
            match before {
                None => {
                    report.first_seq = Some(link.seq);
                    if link.seq == 1 && !link.prev.is_empty() {
                        report.problems.push(ChainProblem::Broken { seq: link.seq });
                    }
                }
                Some(b) => {
                    if link.seq <= b.seq {
                        report
                            .problems
                            .push(ChainProblem::Duplicate { seq: link.seq });
                    } else if link.seq != b.seq + 1 {
                        report.problems.push(ChainProblem::Missing {
                            after: b.seq,
                            next: link.seq,
                        });
                    } else if !ct_eq(&link.prev, &b.mac) {
                        report.problems.push(ChainProblem::Broken { seq: link.seq });
                    }
                }
            }
            report.last_seq = Some(link.seq);
            before = Some(link);
        }
        report
    }
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainReport {
    pub chain: String,
    /// Records read.
    pub records: usize,
    /// Records without a seal (each also a problem: the service writes none).
    pub unchained: usize,
    /// The oldest chained record's place: above 1 when older records are gone (the
    /// retention period, or a deletion: the archive tells which).
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
    /// The place the head kept beyond the records names.
    #[serde(default)]
    pub head_seq: Option<u64>,
    /// When the newest checkpoint compared with was written.
    #[serde(default)]
    pub checkpoint_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Who sealed the records: `service`, or a writer's name.
    #[serde(default)]
    pub sealed_by: std::collections::BTreeMap<String, usize>,
    pub problems: Vec<ChainProblem>,
}

impl ChainReport {
    /// No record altered, missing, duplicated or out of place.
    pub fn intact(&self) -> bool {
        self.problems.is_empty()
    }

    /// Records before the oldest one still held (expired or deleted).
    pub fn absent_before(&self) -> u64 {
        self.first_seq.map_or(0, |s| s.saturating_sub(1))
    }
}

/// One way a chain is not what was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum ChainProblem {
    /// The record's MAC does not match its content: it was changed (or written without the
    /// key).
    Altered { seq: u64 },
    /// Records between `after` and `next` are missing.
    Missing { after: u64, next: u64 },
    /// Two records at one place, or out of order.
    Duplicate { seq: u64 },
    /// The record does not name its predecessor's MAC: something was replaced before it.
    Broken { seq: u64 },
    /// A record without a seal: written outside the service (every record it writes is
    /// sealed).
    UnchainedAfterChain { at: chrono::DateTime<chrono::Utc> },
    /// A record of another chain given with this one.
    WrongChain { at: chrono::DateTime<chrono::Utc> },
    /// Sealed records but no head kept beyond them: the head was deleted.
    HeadMissing,
    /// The kept head does not match its seal (written without the key).
    HeadAltered,
    /// A record sealed by a writer's own key (a person's role) that this writer may not
    /// write (a login sealed by the supervisor's key).
    SealedByWriter { seq: u64, sealer: String },
    /// The kept head names a place past the newest record held: the newest records (or,
    /// with `held` 0, the whole chain) were deleted.
    TailMissing { held: u64, head: u64 },
    /// The kept head is older than the records held: it was put back (a rollback).
    HeadBehind { head: u64, held: u64 },
    /// The kept head and the record at its place differ.
    HeadMismatch { seq: u64 },
    /// The newest checkpoint saw the chain at `checkpoint`; the store holds it only up to
    /// `held`: rolled back or deleted since.
    BehindCheckpoint { checkpoint: u64, held: u64 },
    /// The record at the checkpoint's place is not the one the checkpoint saw.
    CheckpointMismatch { seq: u64 },
    /// The newest checkpoint does not match its seal: the archive was altered.
    CheckpointAltered,
    /// The audit trail records a checkpoint written at `at` that the archive no longer holds
    /// as its newest (deleted, or an older one put in its place).
    CheckpointMissing { at: chrono::DateTime<chrono::Utc> },
    /// A problem this version does not know (from a newer service).
    #[serde(other)]
    Other,
}

impl ChainProblem {
    /// What an officer or auditor reads: where in the chain, then what is wrong.
    pub fn text(&self, l: crate::text::i18n::Lang) -> String {
        let (id, en) = self.words();
        let what = l.pick(id, en);
        let what = match self {
            ChainProblem::SealedByWriter { sealer, .. } => format!("{what} ({sealer})"),
            _ => what.to_owned(),
        };
        match self.place() {
            Some(place) => format!("{place}: {what}"),
            None => what,
        }
    }

    /// Where the problem is: a record's place, a range, or a time.
    fn place(&self) -> Option<String> {
        match self {
            ChainProblem::Altered { seq }
            | ChainProblem::Duplicate { seq }
            | ChainProblem::Broken { seq }
            | ChainProblem::SealedByWriter { seq, .. }
            | ChainProblem::HeadMismatch { seq }
            | ChainProblem::CheckpointMismatch { seq } => Some(format!("#{seq}")),
            ChainProblem::Missing { after, next } => Some(format!("#{after}..#{next}")),
            ChainProblem::TailMissing { held, head } => Some(format!("#{held}..#{head}")),
            ChainProblem::HeadBehind { head, held } => Some(format!("#{head} < #{held}")),
            ChainProblem::BehindCheckpoint { checkpoint, held } => {
                Some(format!("#{held} < #{checkpoint}"))
            }
            ChainProblem::UnchainedAfterChain { at } | ChainProblem::WrongChain { at } => {
                Some(at.to_string())
            }
            ChainProblem::CheckpointMissing { at } => Some(at.to_string()),
            ChainProblem::HeadMissing
            | ChainProblem::HeadAltered
            | ChainProblem::CheckpointAltered
            | ChainProblem::Other => None,
        }
    }

    /// What is wrong, in Indonesian and English.
    fn words(&self) -> (&'static str, &'static str) {
        match self {
            ChainProblem::SealedByWriter { .. } => (
                "disegel dengan kunci peran yang tidak boleh menulis catatan seperti ini",
                "sealed with the key of a role that may not write such a record",
            ),
            ChainProblem::TailMissing { .. } => (
                "catatan terbaru hilang (dihapus dari ujung rantai)",
                "the newest records are missing (deleted from the chain's end)",
            ),
            ChainProblem::HeadBehind { .. } => (
                "penanda ujung rantai lebih lama dari catatannya (dikembalikan)",
                "the kept head is older than the records (put back)",
            ),
            ChainProblem::BehindCheckpoint { .. } => (
                "titik periksa arsip melihat rantai lebih panjang (penyimpanan dikembalikan ke keadaan lama atau catatan dihapus)",
                "the archive's checkpoint saw a longer chain (the store was rolled back or records deleted)",
            ),
            ChainProblem::Altered { .. } => (
                "isi catatan tidak cocok dengan segelnya (diubah)",
                "the record does not match its seal (altered)",
            ),
            ChainProblem::Missing { .. } => (
                "catatan di antaranya hilang (dihapus)",
                "records between them are missing (deleted)",
            ),
            ChainProblem::Duplicate { .. } => (
                "dua catatan di satu tempat atau urutan salah",
                "two records at one place, or out of order",
            ),
            ChainProblem::Broken { .. } => (
                "tidak menyambung ke catatan sebelumnya (diganti)",
                "does not link to the record before it (replaced)",
            ),
            ChainProblem::UnchainedAfterChain { .. } => (
                "catatan tanpa segel (ditulis di luar layanan)",
                "a record without a seal (written outside the service)",
            ),
            ChainProblem::WrongChain { .. } => (
                "catatan dari rantai lain",
                "a record of another chain",
            ),
            ChainProblem::HeadMissing => (
                "penanda ujung rantai tidak ada (dihapus)",
                "the chain's kept head is missing (deleted)",
            ),
            ChainProblem::HeadAltered => (
                "penanda ujung rantai tidak cocok dengan segelnya (diubah)",
                "the chain's kept head does not match its seal (altered)",
            ),
            ChainProblem::HeadMismatch { .. } => (
                "penanda ujung rantai tidak sama dengan catatan di tempatnya",
                "the kept head differs from the record at its place",
            ),
            ChainProblem::CheckpointMismatch { .. } => (
                "catatan tidak sama dengan yang dilihat titik periksa arsip (diganti)",
                "the record is not the one the archive's checkpoint saw (replaced)",
            ),
            ChainProblem::Other => (
                "masalah yang belum dikenal versi alat ini (perbarui sapk-admin)",
                "a problem this version of the tool does not know (update sapk-admin)",
            ),
            ChainProblem::CheckpointAltered => (
                "titik periksa arsip terbaru tidak cocok dengan segelnya",
                "the archive's newest checkpoint does not match its seal",
            ),
            ChainProblem::CheckpointMissing { .. } => (
                "titik periksa yang tercatat di riwayat tidak ada lagi di arsip (dihapus atau diganti yang lama)",
                "a checkpoint the trail records is no longer the archive's newest (deleted, or an older one put back)",
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::nip::Nip;
    use chrono::{TimeZone, Utc};

    fn key(b: u8) -> AuditKey {
        AuditKey::new(TokenKey::from_bytes(vec![b; 32]).unwrap())
    }

    fn event(i: i64, nip: Option<&Nip>) -> AuditEvent {
        AuditEvent {
            at: Utc.timestamp_opt(1_700_000_000 + i, 123_456_789).unwrap(),
            actor: "self".into(),
            office: None,
            nip: nip.cloned(),
            source_ip: Some("203.0.113.7".into()),
            action: "login".into(),
            outcome: "failed".into(),
            details: serde_json::json!({ "i": i, "teks": "é 🇮🇩" }),
            link: None,
        }
    }

    fn chain(k: &AuditKey, n: usize, nip: Option<&Nip>) -> Vec<AuditEvent> {
        let mut out: Vec<AuditEvent> = Vec::new();
        for i in 0..n {
            let mut e = event(i as i64, nip);
            e.link = Some(k.seal(&e, out.last().and_then(|p| p.link.as_ref())));
            out.push(e);
        }
        out
    }

    /// The records checked against the head their own newest record made, on a store that
    /// expires old records.
    fn v(k: &AuditKey, chain: &str, records: &[AuditEvent]) -> ChainReport {
        let head = records
            .iter()
            .filter_map(|e| e.link.as_ref())
            .max_by_key(|l| l.seq)
            .and_then(|l| l.head(chain));
        k.verify(
            chain,
            records,
            &Evidence {
                head: head.as_ref(),
                checkpoint: None,
                expires: true,
            },
        )
    }

    fn nip() -> Nip {
        Nip::parse(
            "199001012015031001",
            chrono::NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn an_untouched_chain_verifies_and_its_links_run_from_one() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 5, Some(&n));
        let r = v(&k, n.as_str(), &c);
        assert!(r.intact(), "{r:?}");
        assert_eq!((r.first_seq, r.last_seq, r.records), (Some(1), Some(5), 5));
        assert_eq!(c[0].link.as_ref().unwrap().prev, "");
        assert_eq!(
            c[3].link.as_ref().unwrap().prev,
            c[2].link.as_ref().unwrap().mac
        );
    }

    #[test]
    fn each_kind_of_tampering_is_named() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 5, Some(&n));

        let mut altered = c.clone();
        altered[2].outcome = "ok".into();
        assert_eq!(
            v(&k, n.as_str(), &altered).problems,
            [ChainProblem::Altered { seq: 3 }]
        );

        let mut details = c.clone();
        details[1].details = serde_json::json!({ "i": 9, "teks": "é 🇮🇩" });
        assert_eq!(
            v(&k, n.as_str(), &details).problems,
            [ChainProblem::Altered { seq: 2 }]
        );

        let mut deleted = c.clone();
        deleted.remove(2);
        assert_eq!(
            v(&k, n.as_str(), &deleted).problems,
            [ChainProblem::Missing { after: 2, next: 4 }]
        );

        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert!(!v(&k, n.as_str(), &swapped).intact());

        // A record replaced by one sealed with the right key but on another history.
        let mut replaced = c.clone();
        let mut forged = event(2, Some(&n));
        forged.outcome = "ok".into();
        forged.link = Some(k.seal(
            &forged,
            Some(&AuditLink {
                seq: 2,
                prev: String::new(),
                mac: "00".into(),
                head_seal: String::new(),
                sealer: String::new(),
            }),
        ));
        replaced[2] = forged;
        assert_eq!(
            v(&k, n.as_str(), &replaced).problems,
            [
                ChainProblem::Broken { seq: 3 },
                ChainProblem::Broken { seq: 4 }
            ]
        );

        let mut inserted = c.clone();
        inserted.push(event(9, Some(&n)));
        assert!(matches!(
            v(&k, n.as_str(), &inserted).problems[..],
            [ChainProblem::UnchainedAfterChain { .. }]
        ));

        // Sealed under another key: every record is refused, and the head.
        let other = chain(&key(8), 3, Some(&n));
        let problems = v(&k, n.as_str(), &other).problems;
        assert_eq!(problems.len(), 4);
        assert_eq!(problems[3], ChainProblem::HeadAltered);
    }

    #[test]
    fn records_gone_before_the_oldest_are_counted_not_refused() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 6, Some(&n));
        let r = v(&k, n.as_str(), &c[2..]);
        assert!(r.intact(), "{r:?}");
        assert_eq!(r.absent_before(), 2);
    }

    #[test]
    fn a_record_without_a_seal_is_refused_even_dated_before_the_chain() {
        let k = key(7);
        let n = nip();
        let mut c = vec![event(-2, Some(&n)), event(-1, Some(&n))];
        c.extend(chain(&k, 2, Some(&n)));
        let r = v(&k, n.as_str(), &c);
        assert_eq!(r.unchained, 2);
        assert_eq!(r.problems.len(), 2, "{r:?}");
        // A chain with no sealed record at all accepts none either.
        let r = v(&k, n.as_str(), &[event(3, Some(&n))]);
        assert!(!r.intact());
    }

    #[test]
    fn the_kept_head_shows_a_shortened_chain_and_a_put_back_head() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 5, Some(&n));
        let head5 = c[4].link.as_ref().unwrap().head(n.as_str()).unwrap();
        let head3 = c[2].link.as_ref().unwrap().head(n.as_str()).unwrap();
        let check = |records: &[AuditEvent], head: Option<&ChainHead>, expires: bool| {
            k.verify(
                n.as_str(),
                records,
                &Evidence {
                    head,
                    checkpoint: None,
                    expires,
                },
            )
            .problems
        };
        assert_eq!(check(&c, Some(&head5), false), []);
        // The newest two deleted: the head points past them.
        assert_eq!(
            check(&c[..3], Some(&head5), false),
            [ChainProblem::TailMissing { held: 3, head: 5 }]
        );
        // The whole chain deleted, the head left.
        assert_eq!(
            check(&[], Some(&head5), false),
            [ChainProblem::TailMissing { held: 0, head: 5 }]
        );
        // The head deleted too, or put back to an older one.
        assert_eq!(check(&c, None, false), [ChainProblem::HeadMissing]);
        assert_eq!(
            check(&c, Some(&head3), false),
            [ChainProblem::HeadBehind { head: 3, held: 5 }]
        );
        // A head written without the key.
        let mut forged = head5.clone();
        forged.seq = 3;
        assert_eq!(
            check(&c[..3], Some(&forged), false),
            [ChainProblem::HeadAltered]
        );
        // The oldest deleted where nothing expires; counted where records expire.
        assert_eq!(
            check(&c[2..], Some(&head5), false),
            [ChainProblem::Missing { after: 0, next: 3 }]
        );
        assert_eq!(check(&c[2..], Some(&head5), true), []);
    }

    #[test]
    fn a_checkpoint_shows_a_rollback_to_an_older_consistent_state() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 5, Some(&n));
        let heads = [c[4].link.as_ref().unwrap().head(n.as_str()).unwrap()];
        let (cp, regressed) = k.checkpoint(chrono::Utc::now(), &heads, None);
        assert!(k.checkpoint_ok(&cp) && regressed.is_empty());
        // The store as it was at #3, rows and head together: consistent, but behind.
        let head3 = c[2].link.as_ref().unwrap().head(n.as_str()).unwrap();
        let r = k.verify(
            n.as_str(),
            &c[..3],
            &Evidence {
                head: Some(&head3),
                checkpoint: Some(&cp),
                expires: false,
            },
        );
        assert_eq!(
            r.problems,
            [ChainProblem::BehindCheckpoint {
                checkpoint: 5,
                held: 3
            }]
        );
        // A chain and its head both deleted.
        let r = k.verify(
            n.as_str(),
            &[],
            &Evidence {
                head: None,
                checkpoint: Some(&cp),
                expires: false,
            },
        );
        assert_eq!(
            r.problems,
            [ChainProblem::BehindCheckpoint {
                checkpoint: 5,
                held: 0
            }]
        );
        // A checkpoint altered, or of heads not sealed with the key.
        let mut altered = cp.clone();
        altered.heads.get_mut(n.as_str()).unwrap().seq = 2;
        assert!(!k.checkpoint_ok(&altered));
        let mut unsealed = heads[0].clone();
        unsealed.seal = "00".into();
        assert!(k
            .checkpoint(chrono::Utc::now(), &[unsealed], None)
            .0
            .heads
            .is_empty());
        // A later checkpoint of a store that lost the chain (or was put back) keeps what the
        // earlier one saw, and names the chain.
        let (later, regressed) =
            k.checkpoint(chrono::Utc::now(), std::slice::from_ref(&head3), Some(&cp));
        assert_eq!(regressed, [n.as_str().to_owned()]);
        assert_eq!(later.heads[n.as_str()].seq, 5);
        assert_eq!(later.prev, cp.mac);
        assert!(k.checkpoint_ok(&later));
        let (empty, regressed) = k.checkpoint(chrono::Utc::now(), &[], Some(&later));
        assert_eq!((empty.heads[n.as_str()].seq, regressed.len()), (5, 1));
    }

    #[test]
    fn an_unsealed_record_dated_after_the_chain_began_is_refused_wherever_it_sorts() {
        let k = key(7);
        let n = nip();
        let mut c = chain(&k, 2, Some(&n));
        // As DynamoDB sorts them: unsealed records first; this one is dated after the first
        // sealed record.
        c.insert(0, event(5, Some(&n)));
        assert!(matches!(
            v(&k, n.as_str(), &c).problems[..],
            [ChainProblem::UnchainedAfterChain { .. }]
        ));
    }

    #[test]
    fn a_writers_records_verify_under_its_own_key_and_only_for_what_it_may_write() {
        let sup = TokenKey::from_bytes(vec![9; 32]).unwrap();
        let supervisor = AuditKey::for_writer(sup.clone(), "supervisor");
        let ring = key(7).with_writer("supervisor", sup);
        let sealed = |k: &AuditKey, mut e: AuditEvent, before: Option<&AuditEvent>| {
            e.link = Some(k.seal(&e, before.and_then(|b| b.link.as_ref())));
            e
        };
        let mut registry = event(1, None);
        registry.action = "staff_registry".into();
        let a = sealed(&ring, event(0, None), None);
        let b = sealed(&supervisor, registry, Some(&a));
        let c = sealed(&ring, event(2, None), Some(&b));
        let chain = [a, b.clone(), c];
        let r = v(&ring, SYSTEM_CHAIN, &chain);
        assert!(r.intact(), "{r:?}");
        assert_eq!(
            r.sealed_by,
            [("service".to_owned(), 2), ("supervisor".to_owned(), 1)].into()
        );
        assert_eq!(b.link.as_ref().unwrap().sealer, "supervisor");
        // A head the writer sealed is checked with the writer's key.
        assert!(ring.head_ok(&b.link.as_ref().unwrap().head(SYSTEM_CHAIN).unwrap()));
        // The supervisor's key forging a login record: named, and refused.
        let forged = sealed(&supervisor, event(3, None), Some(&chain[2]));
        let r = v(
            &ring,
            SYSTEM_CHAIN,
            &[chain[0].clone(), chain[1].clone(), chain[2].clone(), forged],
        );
        assert_eq!(
            r.problems,
            [ChainProblem::SealedByWriter {
                seq: 4,
                sealer: "supervisor".into()
            }]
        );
        // Without the writer's key the writer's record does not verify; nor does its name
        // change hands: relabelled as the service's, its seal fails.
        assert!(!v(&key(7), SYSTEM_CHAIN, &chain).intact());
        let mut relabelled = chain.clone();
        relabelled[1].link.as_mut().unwrap().sealer.clear();
        assert!(!v(&ring, SYSTEM_CHAIN, &relabelled).intact());
    }

    #[test]
    fn a_writers_head_is_believed_only_as_its_record() {
        let sup = TokenKey::from_bytes(vec![9; 32]).unwrap();
        let supervisor = AuditKey::for_writer(sup.clone(), "supervisor");
        let ring = key(7).with_writer("supervisor", sup);
        let n = nip();
        let c = chain(&ring, 3, Some(&n));
        // The supervisors' key seals a head far ahead of the employee's chain.
        let mut far = event(9, Some(&n));
        far.action = "audit_viewed".into();
        let bogus = supervisor
            .seal(
                &far,
                Some(&AuditLink {
                    seq: 1_000_000,
                    prev: String::new(),
                    mac: "00".into(),
                    head_seal: String::new(),
                    sealer: String::new(),
                }),
            )
            .head(n.as_str())
            .unwrap();
        assert!(ring.head_ok(&bogus), "its seal holds");
        let r = ring.verify(
            n.as_str(),
            &c,
            &Evidence {
                head: Some(&bogus),
                checkpoint: None,
                expires: false,
            },
        );
        assert_eq!(r.problems, [ChainProblem::HeadAltered]);
        // Never taken into a checkpoint.
        let (cp, _) = ring.checkpoint(chrono::Utc::now(), std::slice::from_ref(&bogus), None);
        assert!(cp.heads.is_empty());
        // A checkpoint record sealed by a writer is not believed as one.
        let mut record = event(10, None);
        record.action = "audit_checkpoint".into();
        record.link = Some(supervisor.seal(&record, None));
        assert!(!ring.record_ok(&record));
    }

    #[test]
    fn the_system_chain_and_a_nip_chain_do_not_mix() {
        let k = key(7);
        let n = nip();
        let system = chain(&k, 2, None);
        assert!(v(&k, SYSTEM_CHAIN, &system).intact());
        assert!(!v(&k, n.as_str(), &system).intact());
    }

    #[test]
    fn a_derived_key_is_not_the_token_key_and_hides_in_debug() {
        let t = TokenKey::from_bytes(vec![3; 32]).unwrap();
        let e = event(0, None);
        let derived = AuditKey::derived_from(&t).seal(&e, None);
        assert_ne!(derived, AuditKey::new(t).seal(&e, None));
        assert_eq!(format!("{:?}", key(1)), "AuditKey([REDACTED])");
    }
}
