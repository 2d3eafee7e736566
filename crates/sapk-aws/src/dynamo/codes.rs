//! The DynamoDB store: reset codes: at most one per NIP, its tries taken atomically, and the
//! reset that spends it.

use super::*;
use sapk_core::ports::ResetCodes;

#[async_trait]
impl ResetCodes for DynamoStore {
    async fn put_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        self.code_put(c).send().await.map_err(sdk)?;
        Ok(())
    }

    async fn rewrite_reset_code(&self, c: &ResetCodeRecord) -> Result<(), StoreError> {
        let r = self
            .code_put(c)
            .condition_expression("code_hash = :h AND attempts_left = :a")
            .expression_attribute_values(":h", s(&c.code_hash))
            .expression_attribute_values(":a", n(c.attempts_left))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn get_reset_code(&self, nip: &Nip) -> Result<Option<ResetCodeRecord>, StoreError> {
        let Some(item) = self.get_ephemeral(code_key(nip)).await? else {
            return Ok(None);
        };
        Ok(Some(ResetCodeRecord {
            nip: nip_of(&item, "nip")?,
            code_hash: get_s(&item, "code_hash")?.to_owned(),
            issued_at: time(&item, "issued_at")?,
            expires_at: time(&item, "expires_at")?,
            attempts_left: get_n(&item, "attempts_left")?,
            credential_version: get_n(&item, "credential_version")?,
        }))
    }

    async fn take_code_attempt(
        &self,
        nip: &Nip,
        code_hash: &str,
    ) -> Result<Option<u32>, StoreError> {
        let r = self
            .client
            .update_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", code_key(nip))
            .update_expression("SET attempts_left = attempts_left - :one")
            .condition_expression("code_hash = :h AND attempts_left > :zero")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":h", s(code_hash))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match r {
            Ok(out) => {
                let attrs = out.attributes.unwrap_or_default();
                Ok(Some(get_n(&attrs, "attempts_left")?))
            }
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn delete_reset_code(
        &self,
        nip: &Nip,
        code_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut req = self
            .client
            .delete_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", code_key(nip));
        if let Some(h) = code_hash {
            req = req
                .condition_expression("code_hash = :h")
                .expression_attribute_values(":h", s(h));
        }
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(sdk(e)),
        }
    }

    async fn complete_reset(
        &self,
        code_hash: &str,
        a: &Account,
        expected: u64,
        cleared: &LoginThrottle,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let audit_writes = self.audit_writes(audit)?;
        let delete_code = Delete::builder()
            .table_name(&self.tables.ephemeral)
            .key("pk", code_key(&a.nip))
            .condition_expression("code_hash = :h")
            .expression_attribute_values(":h", s(code_hash))
            .build()
            .map_err(bad)?;
        let clear_throttle = self.throttle_put(&ThrottleWrite {
            expect: Expect::Any,
            record: cleared.clone(),
        })?;
        let mut items = vec![
            TransactWriteItem::builder().delete(delete_code).build(),
            TransactWriteItem::builder()
                .put(self.account_put(a, expected)?)
                .build(),
            TransactWriteItem::builder().put(clear_throttle).build(),
        ];
        items.extend(audit_writes);
        let r = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        r.map(|_| ()).map_err(|e| transaction_error(e, "reset"))
    }
}

pub(super) fn code_key(nip: &Nip) -> AttributeValue {
    s(format!("code#{nip}"))
}
