//! The in-memory store: the last mail status of each account (bounces, complaints).

use super::*;
use sapk_core::ports::MailStatuses;

#[async_trait]
impl MailStatuses for MemoryStore {
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        self.with(|s| s.mail_status.insert(nip.clone(), status.clone()));
        Ok(())
    }

    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        Ok(self.with(|s| s.mail_status.get(nip).cloned()))
    }

    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError> {
        self.with(|s| s.mail_status.remove(nip));
        Ok(())
    }
}
