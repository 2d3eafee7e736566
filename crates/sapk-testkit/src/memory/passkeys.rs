//! The in-memory store: passkeys and the WebAuthn ceremonies waiting for an answer.

use super::*;
use sapk_core::ports::Passkeys;

#[async_trait]
impl Passkeys for MemoryStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<(), StoreError> {
        self.with(|s| {
            if s.passkeys.contains_key(&p.id) {
                return Err(StoreError::Conflict(format!("passkey {} exists", p.id)));
            }
            s.passkeys.insert(p.id.clone(), p.clone());
            Ok(())
        })
    }

    async fn get_passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        Ok(self.with(|s| s.passkeys.get(id).cloned()))
    }

    async fn list_passkeys(&self, nip: &Nip) -> Result<Vec<PasskeyRecord>, StoreError> {
        let mut v: Vec<PasskeyRecord> = self.with(|s| {
            s.passkeys
                .values()
                .filter(|p| &p.nip == nip)
                .cloned()
                .collect()
        });
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(v)
    }

    async fn update_passkey(
        &self,
        p: &PasskeyRecord,
        expected_credential: &str,
    ) -> Result<(), StoreError> {
        self.with(|s| match s.passkeys.get_mut(&p.id) {
            Some(cur) if cur.credential == expected_credential && cur.nip == p.nip => {
                *cur = p.clone();
                Ok(())
            }
            _ => Err(StoreError::Conflict(format!("passkey {} changed", p.id))),
        })
    }

    async fn delete_passkey(&self, nip: &Nip, id: &str) -> Result<bool, StoreError> {
        Ok(self.with(|s| match s.passkeys.get(id) {
            Some(p) if &p.nip == nip => s.passkeys.remove(id).is_some(),
            _ => false,
        }))
    }

    async fn put_ceremony(&self, c: &CeremonyRecord) -> Result<(), StoreError> {
        self.with(|s| s.ceremonies.insert(c.key.clone(), c.clone()));
        Ok(())
    }

    async fn take_ceremony(&self, key: &str) -> Result<Option<CeremonyRecord>, StoreError> {
        Ok(self.with(|s| s.ceremonies.remove(key)))
    }
}
