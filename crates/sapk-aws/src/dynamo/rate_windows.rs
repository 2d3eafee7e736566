//! The DynamoDB store: rate windows: hit counts under a key, gone with their window.

use super::*;
use sapk_core::ports::RateWindows;

#[async_trait]
impl RateWindows for DynamoStore {
    async fn count_hit(&self, key: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        let out = self
            .client
            .update_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", s(format!("counter#{key}")))
            .update_expression("SET expires_at = if_not_exists(expires_at, :exp), #ttl = if_not_exists(#ttl, :ttl) ADD hits :one")
            .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
            .expression_attribute_values(":exp", micros(expires_at))
            .expression_attribute_values(":ttl", ttl(expires_at))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk)?;
        get_n(&out.attributes.unwrap_or_default(), "hits")
    }
}
