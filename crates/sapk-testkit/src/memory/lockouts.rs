//! The in-memory store: login throttle records (failures and lock-outs, per NIP and per
//! source), written all or nothing.

use super::*;
use sapk_core::ports::Lockouts;

#[async_trait]
impl Lockouts for MemoryStore {
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
}
