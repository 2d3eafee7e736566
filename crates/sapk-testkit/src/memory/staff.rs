//! The in-memory store: the staff registry, and the e-mail exceptions waiting for a second
//! officer.

use super::*;
use sapk_core::ports::StaffRecords;

#[async_trait]
impl StaffRecords for MemoryStore {
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError> {
        self.with(|s| s.exceptions.insert(p.nip.clone(), p.clone()));
        Ok(())
    }

    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError> {
        Ok(self.with(|s| s.exceptions.get(nip).cloned()))
    }

    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError> {
        self.with(|s| s.exceptions.remove(nip));
        Ok(())
    }

    async fn list_email_exceptions(&self) -> Result<Vec<PendingException>, StoreError> {
        Ok(self.with(|s| s.exceptions.values().cloned().collect()))
    }

    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError> {
        Ok(self.with(|s| s.officers.get(principal).cloned()))
    }

    async fn put_officer(&self, o: &Officer) -> Result<(), StoreError> {
        self.with(|s| s.officers.insert(o.principal.clone(), o.clone()));
        Ok(())
    }

    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError> {
        let mut v: Vec<Officer> = self.with(|s| s.officers.values().cloned().collect());
        v.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(v)
    }
}
