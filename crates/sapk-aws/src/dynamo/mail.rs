//! The DynamoDB store: the last mail status of each account (bounces, complaints).

use super::*;
use sapk_core::ports::MailStatuses;

#[async_trait]
impl MailStatuses for DynamoStore {
    /// An item of the ephemeral table without a TTL: it stays until the next status or an
    /// e-mail change.
    async fn put_mail_status(
        &self,
        nip: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        self.put_body(mail_status_key(nip), nip, status, None).await
    }

    async fn get_mail_status(
        &self,
        nip: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        self.get_body(mail_status_key(nip)).await
    }

    async fn delete_mail_status(&self, nip: &Nip) -> Result<(), StoreError> {
        self.delete_ephemeral(mail_status_key(nip)).await
    }
}

pub(super) fn mail_status_key(nip: &Nip) -> AttributeValue {
    s(format!("mailstatus#{nip}"))
}
