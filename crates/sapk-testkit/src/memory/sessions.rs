//! The in-memory store: login sessions and second-step challenges, by the hash of their token.

use super::*;
use sapk_core::ports::Sessions;

#[async_trait]
impl Sessions for MemoryStore {
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
}
