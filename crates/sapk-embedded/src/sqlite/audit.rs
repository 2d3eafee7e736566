//! The SQLite store: the audit trail: chained records sealed with a key, only ever appended.

use super::*;
use sapk_core::ports::AuditLog;

#[async_trait]
impl AuditLog for SqliteStore {
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        let e = e.clone();
        self.run(move |c| insert_audit(c, &e)).await
    }

    async fn list_audit(&self, n: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let key = n.as_str().to_owned();
        self.run_heavy(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit WHERE nip = ?1 ORDER BY id DESC LIMIT ?2"
                ))
                .map_err(down)?;
            let rows = stmt
                .query_map(params![key, limit as i64], audit_row)
                .map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }

    async fn audit_head(&self, chain: &str) -> Result<Option<AuditLink>, StoreError> {
        let key = chain.to_owned();
        self.run(move |c| read_audit_head(c, &key)).await
    }

    /// Reads the head and appends in one operation: writes here are serial, so the place
    /// is never taken in between.
    async fn append_audit_sealed(
        &self,
        e: &AuditEvent,
        key: &AuditKey,
    ) -> Result<bool, StoreError> {
        let (e, key) = (e.clone(), key.clone());
        self.run(move |c| {
            // After the kept head when it is past the records (the newest were deleted): the
            // gap stays visible.
            let rows = read_audit_head(c, chain_of(&e))?;
            let kept = read_kept_heads(c, Some(chain_of(&e)))?.pop();
            let head = match kept {
                Some(k) if rows.as_ref().is_none_or(|r| k.seq > r.seq) => Some(AuditLink {
                    seq: k.seq,
                    prev: String::new(),
                    mac: k.mac,
                    head_seal: String::new(),
                    sealer: String::new(),
                }),
                _ => rows,
            };
            let mut sealed = e.clone();
            sealed.link = Some(key.seal(&e, head.as_ref()));
            insert_audit(c, &sealed)?;
            Ok(true)
        })
        .await
    }

    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        let chain = chain.to_owned();
        self.run(move |c| Ok(read_kept_heads(c, Some(&chain))?.pop()))
            .await
    }

    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        self.run_heavy(move |c| read_kept_heads(c, None)).await
    }

    /// Every record of the chain in insertion order (the row id): a record written after
    /// another stays after it, sealed or not.
    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        // By the NIP index (audit_by_nip); the records without a NIP are the chain `-`.
        let key = (chain != SYSTEM_CHAIN).then(|| chain.to_owned());
        self.run_heavy(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit WHERE nip IS ?1 ORDER BY id"
                ))
                .map_err(down)?;
            let rows = stmt.query_map([key], audit_row).map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }
}

/// Appends a record; a chained one whose place is held already is refused by the unique
/// index `audit_chain_place` (a `Conflict`). The chain's kept head moves with it, in the
/// same transaction (never back).
pub(super) fn insert_audit(c: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    // A place at or before the kept head is taken, even when its record is gone (deleted
    // from the chain's end): the core then appends after the kept head.
    if let Some(l) = &e.link {
        let kept = read_kept_heads(c, Some(chain_of(e)))?.pop();
        if kept.is_some_and(|k| k.seq >= l.seq) {
            return Err(StoreError::Conflict("audit chain place (kept head)".into()));
        }
    }
    insert_audit_row(c, e)?;
    if let Some(head) = e.link.as_ref().and_then(|l| l.head(chain_of(e))) {
        c.exec(
            "INSERT INTO audit_heads (chain, seq, mac, seal, sealer) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, \
             seal = excluded.seal, sealer = excluded.sealer WHERE excluded.seq > audit_heads.seq",
            params![
                head.chain,
                head.seq as i64,
                head.mac,
                head.seal,
                Some(head.sealer.as_str()).filter(|n| !n.is_empty())
            ],
        )
        .map_err(down)?;
    }
    Ok(())
}

pub(super) fn read_kept_heads(
    c: &Connection,
    chain: Option<&str>,
) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT chain, seq, mac, seal, coalesce(sealer, '') FROM audit_heads \
             WHERE ?1 IS NULL OR chain = ?1",
        )
        .map_err(down)?;
    let rows = stmt
        .query_map([chain], |r| {
            Ok(sapk_core::audit_chain::ChainHead {
                chain: r.get(0)?,
                seq: r.get::<_, i64>(1)?.max(0) as u64,
                mac: r.get(2)?,
                seal: r.get(3)?,
                sealer: r.get(4)?,
            })
        })
        .map_err(down)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(down)
}

pub(super) fn insert_audit_row(c: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    let link = e.link.as_ref();
    c.exec(
        "INSERT INTO audit (at, actor, office, nip, source_ip, action, outcome, details, \
         chain_seq, chain_prev, chain_mac, chain_sealer) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            micros(e.at),
            e.actor,
            e.office,
            e.nip.as_ref().map(Nip::as_str),
            e.source_ip,
            e.action,
            e.outcome,
            e.details.to_string(),
            link.map(|l| l.seq as i64),
            link.map(|l| l.prev.as_str()),
            link.map(|l| l.mac.as_str()),
            link.map(|l| l.sealer.as_str()).filter(|n| !n.is_empty()),
        ],
    )
    .map_err(down)?;
    Ok(())
}

/// The link of the newest chained record of `chain`.
pub(super) fn read_audit_head(
    c: &Connection,
    chain: &str,
) -> Result<Option<AuditLink>, StoreError> {
    c.row(
        "SELECT chain_seq, chain_prev, chain_mac FROM audit \
         WHERE coalesce(nip, '-') = ?1 AND chain_seq IS NOT NULL \
         ORDER BY chain_seq DESC LIMIT 1",
        [chain],
        |r| {
            let seq: i64 = r.get(0)?;
            Ok((seq, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        },
    )
    .optional()
    .map_err(down)?
    .map(|(seq, prev, mac)| {
        Ok(AuditLink {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("chain_seq {seq}")))?,
            prev,
            mac,
            head_seal: String::new(),
            sealer: String::new(),
        })
    })
    .transpose()
}

pub(super) const AUDIT_COLUMNS: &str =
    "at, actor, office, nip, source_ip, action, outcome, details, \
     chain_seq, chain_prev, chain_mac, chain_sealer";

/// A row selected with [`AUDIT_COLUMNS`].
pub(super) fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    let n: Option<String> = r.get(3)?;
    let details: String = r.get(7)?;
    let seq: Option<i64> = r.get(8)?;
    let link = match seq {
        Some(seq) => Some(AuditLink {
            seq: u64::try_from(seq)
                .map_err(|_| conv_err(StoreError::Corrupt("chain_seq".into())))?,
            prev: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
            mac: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
            head_seal: String::new(),
            sealer: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AuditEvent {
        at: time(r.get(0)?).map_err(conv_err)?,
        actor: r.get(1)?,
        office: r.get(2)?,
        nip: n.as_deref().map(nip).transpose().map_err(conv_err)?,
        source_ip: r.get(4)?,
        action: r.get(5)?,
        outcome: r.get(6)?,
        details: sapk_core::audit_chain::details_as_stored(&details),
        link,
    })
}
