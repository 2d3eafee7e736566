//! The in-memory store: rate windows: hit counts under a key, gone with their window.

use super::*;
use sapk_core::ports::RateWindows;

#[async_trait]
impl RateWindows for MemoryStore {
    async fn count_hit(&self, key: &str, _exp: DateTime<Utc>) -> Result<u64, StoreError> {
        Ok(self.with(|s| {
            let c = s.rate_windows.entry(key.to_owned()).or_insert(0);
            *c += 1;
            *c
        }))
    }
}
