//! The in-memory store: the audit trail: chained records sealed with a key, only ever appended.

use super::*;
use sapk_core::ports::AuditLog;

#[async_trait]
impl AuditLog for MemoryStore {
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
