//! The DynamoDB store: the staff registry, and the e-mail exceptions waiting for a second
//! officer.

use super::*;
use sapk_core::ports::StaffRecords;

#[async_trait]
impl StaffRecords for DynamoStore {
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError> {
        let body = serde_json::to_string(p).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.tables.ephemeral)
            .item("pk", exception_key(&p.nip))
            .item("nip", s(p.nip.as_str()))
            .item("body", s(body))
            .item("expires_at", micros(p.expires_at))
            .item(TTL_ATTRIBUTE, ttl(p.expires_at))
            // In the sparse `queue` index, where the counter's list finds it.
            .item("queue", s(crate::tables::EXCEPTION_QUEUE))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError> {
        self.get_body(exception_key(nip)).await
    }

    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError> {
        self.delete_ephemeral(exception_key(nip)).await
    }

    async fn list_email_exceptions(&self) -> Result<Vec<PendingException>, StoreError> {
        let keys = all_pages(|start| async move {
            let page = self
                .client
                .query()
                .table_name(&self.tables.ephemeral)
                .index_name(crate::tables::QUEUE_INDEX)
                .key_condition_expression("#q = :q")
                .expression_attribute_names("#q", "queue")
                .expression_attribute_values(":q", s(crate::tables::EXCEPTION_QUEUE))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        // Keys only in the index: each body read from the table (gone meanwhile: skipped).
        let mut out = Vec::with_capacity(keys.len());
        for key in keys.into_iter().filter_map(|mut k| k.remove("pk")) {
            if let Some(p) = self.get_body(key).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.staff)
            .key("principal", s(principal))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item.as_ref().map(read_officer).transpose()
    }

    async fn put_officer(&self, o: &Officer) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.staff)
            .item("principal", s(&o.principal))
            .item("officer_id", s(&o.officer_id))
            .item("name", s(&o.name))
            .item("office", s(&o.office))
            .item("scope", s(o.scope.as_text()))
            .item("active", AttributeValue::Bool(o.active))
            .item("updated_at", micros(o.updated_at));
        if let Some(name) = &o.office_name {
            put = put.item("office_name", s(name));
        }
        put.send().await.map_err(sdk)?;
        Ok(())
    }

    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError> {
        let items = all_pages(|start| async move {
            let page = self
                .client
                .scan()
                .table_name(&self.tables.staff)
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        let mut out = items
            .iter()
            .map(read_officer)
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| a.principal.cmp(&b.principal));
        Ok(out)
    }
}

pub(super) fn read_officer(item: &Item) -> Result<Officer, StoreError> {
    let scope = get_s(item, "scope")?;
    Ok(Officer {
        principal: get_s(item, "principal")?.to_owned(),
        officer_id: get_s(item, "officer_id")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        office: get_s(item, "office")?.to_owned(),
        scope: StaffScope::parse(scope)
            .ok_or_else(|| StoreError::Corrupt(format!("scope {scope:?}")))?,
        active: item
            .get("active")
            .and_then(|v| v.as_bool().ok())
            .copied()
            .ok_or_else(|| corrupt("active"))?,
        updated_at: time(item, "updated_at")?,
        office_name: item.get("office_name").and_then(|v| v.as_s().ok()).cloned(),
    })
}

pub(super) fn exception_key(nip: &Nip) -> AttributeValue {
    s(format!("exception#{nip}"))
}
