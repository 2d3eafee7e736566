//! The DynamoDB store: the audit trail: chained records sealed with a key, only ever appended.

use super::*;
use sapk_core::ports::AuditLog;

#[async_trait]
impl AuditLog for DynamoStore {
    /// The record and its chain's kept head in one transaction.
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(self.audit_writes(e)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| transaction_error(err, "audit append"))
    }

    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", audit_head_key(chain))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item().map(read_kept_head).transpose()
    }

    /// Every kept head: a Scan of the ephemeral table for their prefix (a checkpoint's
    /// read, not a request's).
    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        let items = all_pages(|start| async move {
            let page = self
                .client
                .scan()
                .table_name(&self.tables.ephemeral)
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s(AUDIT_HEAD_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        items.iter().map(read_kept_head).collect()
    }

    fn audit_expires(&self) -> bool {
        self.audit_retention.is_some()
    }

    async fn list_audit(&self, nip: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("nip = :nip")
            .expression_attribute_values(":nip", s(nip.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().map(read_audit).collect()
    }

    async fn audit_head(&self, chain: &str) -> Result<Option<AuditLink>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("nip = :c AND begins_with(sk, :p)")
            .expression_attribute_values(":c", s(chain))
            .expression_attribute_values(":p", s(CHAIN_SK_PREFIX))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        match out.items().first() {
            Some(item) => Ok(read_audit(item)?.link),
            None => Ok(None),
        }
    }

    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let items = all_pages(|start| async move {
            let page = self
                .client
                .query()
                .table_name(&self.tables.audit)
                .key_condition_expression("nip = :c")
                .expression_attribute_values(":c", s(chain))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        items.iter().map(read_audit).collect()
    }
}

/// An audit record's item: partition by NIP (`-` when none), sort by time and a random
/// suffix.
/// The sort key of a chained audit record: its place in the chain, so that the store refuses
/// a second record there (`attribute_not_exists(sk)`). Records from before the chain have
/// `<at micros, 20 digits>#<16 hex random>`, which sorts before every `c#`.
pub(super) fn chain_sk(seq: u64) -> String {
    format!("{CHAIN_SK_PREFIX}{seq:020}")
}

pub(super) const CHAIN_SK_PREFIX: &str = "c#";

pub(super) fn audit_item(e: &AuditEvent) -> Result<Item, StoreError> {
    let sk = match &e.link {
        Some(l) => chain_sk(l.seq),
        None => {
            let suffix =
                random_bytes::<8>().map_err(|err| StoreError::Unavailable(err.to_string()))?;
            format!("{:020}#{}", e.at.timestamp_micros(), hex(&suffix))
        }
    };
    let mut item: Item = HashMap::from([
        ("nip".into(), s(chain_of(e))),
        ("sk".into(), s(sk)),
        ("at".into(), micros(e.at)),
        ("actor".into(), s(&e.actor)),
        ("action".into(), s(&e.action)),
        ("outcome".into(), s(&e.outcome)),
        ("details".into(), s(e.details.to_string())),
    ]);
    if let Some(o) = &e.office {
        item.insert("office".into(), s(o));
    }
    if let Some(ip) = &e.source_ip {
        item.insert("source_ip".into(), s(ip));
    }
    if let Some(l) = &e.link {
        item.insert("chain_seq".into(), n(l.seq));
        item.insert("chain_mac".into(), s(&l.mac));
        if !l.sealer.is_empty() {
            item.insert("chain_sealer".into(), s(&l.sealer));
        }
        if !l.prev.is_empty() {
            item.insert("chain_prev".into(), s(&l.prev));
        }
    }
    Ok(item)
}

/// An audit record as [`audit_item`] wrote it.
pub(super) fn read_audit(item: &Item) -> Result<AuditEvent, StoreError> {
    let nip_key = get_s(item, "nip")?;
    let nip = if nip_key == SYSTEM_CHAIN {
        None
    } else {
        Some(Nip::from_stored(nip_key).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    };
    let link = match opt_n::<u64>(item, "chain_seq")? {
        Some(seq) => Some(AuditLink {
            seq,
            prev: opt_s(item, "chain_prev").unwrap_or_default(),
            mac: get_s(item, "chain_mac")?.to_owned(),
            head_seal: String::new(),
            sealer: opt_s(item, "chain_sealer").unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AuditEvent {
        at: time(item, "at")?,
        actor: get_s(item, "actor")?.to_owned(),
        office: opt_s(item, "office"),
        nip,
        source_ip: opt_s(item, "source_ip"),
        action: get_s(item, "action")?.to_owned(),
        outcome: get_s(item, "outcome")?.to_owned(),
        details: sapk_core::audit_chain::details_as_stored(get_s(item, "details")?),
        link,
    })
}

/// An audit chain's kept head, in the ephemeral table (no TTL attribute: it never expires).
pub(super) fn audit_head_key(chain: &str) -> AttributeValue {
    s(format!("{AUDIT_HEAD_PREFIX}{chain}"))
}

pub(super) const AUDIT_HEAD_PREFIX: &str = "audithead#";

pub(super) fn read_kept_head(item: &Item) -> Result<sapk_core::audit_chain::ChainHead, StoreError> {
    Ok(sapk_core::audit_chain::ChainHead {
        chain: get_s(item, "chain")?.to_owned(),
        seq: get_n(item, "seq")?,
        mac: get_s(item, "mac")?.to_owned(),
        seal: get_s(item, "seal")?.to_owned(),
        sealer: opt_s(item, "sealer").unwrap_or_default(),
    })
}
