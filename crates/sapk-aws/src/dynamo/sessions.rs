//! The DynamoDB store: login sessions and second-step challenges, by the hash of their token.

use super::*;
use sapk_core::ports::Sessions;

#[async_trait]
impl Sessions for DynamoStore {
    async fn put_session(&self, x: &SessionRecord) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.ephemeral)
            .item("pk", session_key(&x.token_hash))
            .item("token_hash", s(&x.token_hash))
            .item("nip", s(x.nip.as_str()))
            .item("credential_version", n(x.credential_version))
            .item("issued_at", micros(x.issued_at))
            .item("expires_at", micros(x.expires_at))
            .item(TTL_ATTRIBUTE, ttl(x.expires_at))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let Some(item) = self.get_ephemeral(session_key(token_hash)).await? else {
            return Ok(None);
        };
        Ok(Some(SessionRecord {
            token_hash: get_s(&item, "token_hash")?.to_owned(),
            nip: nip_of(&item, "nip")?,
            credential_version: get_n(&item, "credential_version")?,
            issued_at: time(&item, "issued_at")?,
            expires_at: time(&item, "expires_at")?,
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        // The old item comes back only to the delete that removed it.
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", session_key(token_hash))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.attributes().is_some_and(|a| !a.is_empty()))
    }
}

pub(super) fn session_key(hash: &str) -> AttributeValue {
    s(format!("session#{hash}"))
}
