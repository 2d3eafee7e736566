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
//! What a chain cannot show by itself: that its newest records were deleted (nothing comes
//! after them), or which of its oldest are gone through the retention period. The
//! write-once archive (S3 Object Lock) holds every record with its link for that.

use crate::keys::{ct_eq, TokenKey};
use crate::ports::AuditEvent;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The chain of records without a NIP.
pub const SYSTEM_CHAIN: &str = "-";

const LABEL: &str = "sapk-audit-chain-v1";

/// A record's place in its chain and its keyed MAC (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditLink {
    pub seq: u64,
    pub prev: String,
    pub mac: String,
}

/// The chain a record belongs to.
pub fn chain_of(event: &AuditEvent) -> &str {
    event.nip.as_ref().map_or(SYSTEM_CHAIN, |n| n.as_str())
}

/// The key of the audit chain (HMAC-SHA-256). `Debug` never shows it.
#[derive(Clone)]
pub struct AuditKey(TokenKey);

impl fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditKey([REDACTED])")
    }
}

impl AuditKey {
    /// A key of its own (deployed: `SAPK_AUDIT_KEY`, kept apart from the token key so that
    /// rotating the token key after a breach leaves every earlier record verifiable).
    pub fn new(key: TokenKey) -> AuditKey {
        AuditKey(key)
    }

    /// The key derived from the token key, where no key of its own is configured.
    pub fn derived_from(token: &TokenKey) -> AuditKey {
        AuditKey(token.derive("sapk-audit-key-v1"))
    }

    /// The link of `event` appended after `head` (the chain's newest record, `None` for an
    /// empty chain).
    pub fn seal(&self, event: &AuditEvent, head: Option<&AuditLink>) -> AuditLink {
        let (seq, prev) = match head {
            Some(h) => (h.seq.saturating_add(1), h.mac.clone()),
            None => (1, String::new()),
        };
        let mac = self.mac(event, seq, &prev);
        AuditLink { seq, prev, mac }
    }

    fn mac(&self, e: &AuditEvent, seq: u64, prev: &str) -> String {
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
        self.0.mac_hex(
            LABEL,
            &[
                chain_of(e).as_bytes(),
                &seq.to_be_bytes(),
                prev.as_bytes(),
                &e.at.timestamp_micros().to_be_bytes(),
                e.actor.as_bytes(),
                &opt(&e.office),
                &opt(&nip),
                &opt(&e.source_ip),
                e.action.as_bytes(),
                e.outcome.as_bytes(),
                details.as_bytes(),
            ],
        )
    }

    /// Checks a whole chain as a store gives it ([`crate::ports::Store::audit_chain`]:
    /// oldest first).
    pub fn verify(&self, chain: &str, records: &[AuditEvent]) -> ChainReport {
        let mut report = ChainReport {
            chain: chain.to_owned(),
            records: records.len(),
            unchained: 0,
            first_seq: None,
            last_seq: None,
            problems: Vec::new(),
        };
        let mut before: Option<&AuditLink> = None;
        for e in records {
            if chain_of(e) != chain {
                report.problems.push(ChainProblem::WrongChain { at: e.at });
                continue;
            }
            let Some(link) = &e.link else {
                if before.is_some() {
                    report
                        .problems
                        .push(ChainProblem::UnchainedAfterChain { at: e.at });
                } else {
                    report.unchained += 1;
                }
                continue;
            };
            if !ct_eq(&self.mac(e, link.seq, &link.prev), &link.mac) {
                report
                    .problems
                    .push(ChainProblem::Altered { seq: link.seq });
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
    /// Records written before the chain existed (all before the first chained one).
    pub unchained: usize,
    /// The oldest chained record's place: above 1 when older records are gone (the
    /// retention period, or a deletion: the archive tells which).
    pub first_seq: Option<u64>,
    pub last_seq: Option<u64>,
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
    /// A record without a link after chained ones: written outside the service.
    UnchainedAfterChain { at: chrono::DateTime<chrono::Utc> },
    /// A record of another chain given with this one.
    WrongChain { at: chrono::DateTime<chrono::Utc> },
}

impl ChainProblem {
    /// What an officer or auditor reads.
    pub fn text(&self, l: crate::Lang) -> String {
        match self {
            ChainProblem::Altered { seq } => format!(
                "#{seq}: {}",
                l.pick(
                    "isi catatan tidak cocok dengan segelnya (diubah)",
                    "the record does not match its seal (altered)"
                )
            ),
            ChainProblem::Missing { after, next } => format!(
                "#{after}..#{next}: {}",
                l.pick(
                    "catatan di antaranya hilang (dihapus)",
                    "records between them are missing (deleted)"
                )
            ),
            ChainProblem::Duplicate { seq } => format!(
                "#{seq}: {}",
                l.pick(
                    "dua catatan di satu tempat atau urutan salah",
                    "two records at one place, or out of order"
                )
            ),
            ChainProblem::Broken { seq } => format!(
                "#{seq}: {}",
                l.pick(
                    "tidak menyambung ke catatan sebelumnya (diganti)",
                    "does not link to the record before it (replaced)"
                )
            ),
            ChainProblem::UnchainedAfterChain { at } => format!(
                "{at}: {}",
                l.pick(
                    "catatan tanpa segel sesudah rantai dimulai (ditulis di luar layanan)",
                    "a record without a seal after the chain began (written outside the service)"
                )
            ),
            ChainProblem::WrongChain { at } => format!(
                "{at}: {}",
                l.pick("catatan dari rantai lain", "a record of another chain")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Nip;
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
        let r = k.verify(n.as_str(), &c);
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
            k.verify(n.as_str(), &altered).problems,
            [ChainProblem::Altered { seq: 3 }]
        );

        let mut details = c.clone();
        details[1].details = serde_json::json!({ "i": 9, "teks": "é 🇮🇩" });
        assert_eq!(
            k.verify(n.as_str(), &details).problems,
            [ChainProblem::Altered { seq: 2 }]
        );

        let mut deleted = c.clone();
        deleted.remove(2);
        assert_eq!(
            k.verify(n.as_str(), &deleted).problems,
            [ChainProblem::Missing { after: 2, next: 4 }]
        );

        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert!(!k.verify(n.as_str(), &swapped).intact());

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
            }),
        ));
        replaced[2] = forged;
        assert_eq!(
            k.verify(n.as_str(), &replaced).problems,
            [
                ChainProblem::Broken { seq: 3 },
                ChainProblem::Broken { seq: 4 }
            ]
        );

        let mut inserted = c.clone();
        inserted.push(event(9, Some(&n)));
        assert!(matches!(
            k.verify(n.as_str(), &inserted).problems[..],
            [ChainProblem::UnchainedAfterChain { .. }]
        ));

        // Sealed under another key: every record is refused.
        let other = chain(&key(8), 3, Some(&n));
        assert_eq!(k.verify(n.as_str(), &other).problems.len(), 3);
    }

    #[test]
    fn records_gone_before_the_oldest_are_counted_not_refused() {
        let k = key(7);
        let n = nip();
        let c = chain(&k, 6, Some(&n));
        let r = k.verify(n.as_str(), &c[2..]);
        assert!(r.intact(), "{r:?}");
        assert_eq!(r.absent_before(), 2);
    }

    #[test]
    fn older_records_without_a_link_may_only_come_first() {
        let k = key(7);
        let n = nip();
        let mut c = vec![event(-2, Some(&n)), event(-1, Some(&n))];
        c.extend(chain(&k, 2, Some(&n)));
        let r = k.verify(n.as_str(), &c);
        assert!(r.intact(), "{r:?}");
        assert_eq!(r.unchained, 2);
    }

    #[test]
    fn the_system_chain_and_a_nip_chain_do_not_mix() {
        let k = key(7);
        let n = nip();
        let system = chain(&k, 2, None);
        assert!(k.verify(SYSTEM_CHAIN, &system).intact());
        assert!(!k.verify(n.as_str(), &system).intact());
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
