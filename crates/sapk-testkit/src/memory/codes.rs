//! The in-memory store: reset codes: at most one per NIP, its tries taken atomically, and the
//! reset that spends it.

use super::*;
use sapk_core::ports::ResetCodes;

#[async_trait]
impl ResetCodes for MemoryStore {
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
}
