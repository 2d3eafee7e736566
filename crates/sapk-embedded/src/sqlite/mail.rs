//! The SQLite store: the last mail status of each account (bounces, complaints).

use super::*;
use sapk_core::ports::MailStatuses;

#[async_trait]
impl MailStatuses for SqliteStore {
    async fn put_mail_status(
        &self,
        n: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        self.put_body("mail_status", n, status, None).await
    }

    async fn get_mail_status(
        &self,
        n: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        self.get_body("mail_status", n).await
    }

    async fn delete_mail_status(&self, n: &Nip) -> Result<(), StoreError> {
        self.delete_body("mail_status", n).await
    }
}
