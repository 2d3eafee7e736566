//! The DynamoDB store: passkeys and the WebAuthn ceremonies waiting for an answer.
//!
//! A passkey is an item of the accounts table keyed `passkey#<credential ID>` (its account
//! in `owner`), so that a sign-in finds it by the ID the browser sends; the account's list
//! is the item `passkeys#<NIP>` holding the IDs as a string set, written in the same
//! transaction as each passkey, so that listing is two consistent reads and a renumbering
//! knows every passkey to move. A ceremony is an ephemeral item `ceremony#<key>` with a TTL,
//! taken by a delete that returns it (only one of two takes gets it).

use super::*;
use aws_sdk_dynamodb::types::Update;
use sapk_core::ports::Passkeys;

pub(super) fn passkey_key(id: &str) -> AttributeValue {
    s(format!("passkey#{id}"))
}

pub(super) fn passkey_list_key(nip: &Nip) -> AttributeValue {
    s(format!("passkeys#{nip}"))
}

fn ceremony_key(key: &str) -> AttributeValue {
    s(format!("ceremony#{key}"))
}

fn bad(e: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(super) fn passkey_item(p: &PasskeyRecord) -> Item {
    let mut item = HashMap::from([
        ("nip".to_owned(), passkey_key(&p.id)),
        ("owner".to_owned(), s(p.nip.as_str())),
        ("user_handle".to_owned(), s(&p.user_handle)),
        ("name".to_owned(), s(&p.name)),
        ("credential".to_owned(), s(&p.credential)),
        ("created_at".to_owned(), micros(p.created_at)),
    ]);
    if let Some(t) = p.last_used_at {
        item.insert("last_used_at".to_owned(), micros(t));
    }
    item
}

fn read_passkey(item: &Item) -> Result<PasskeyRecord, StoreError> {
    let key = get_s(item, "nip")?;
    Ok(PasskeyRecord {
        id: key
            .strip_prefix("passkey#")
            .ok_or_else(|| corrupt("passkey key"))?
            .to_owned(),
        nip: nip_of(item, "owner")?,
        user_handle: get_s(item, "user_handle")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        credential: get_s(item, "credential")?.to_owned(),
        created_at: time(item, "created_at")?,
        last_used_at: opt_time(item, "last_used_at")?,
    })
}

impl DynamoStore {
    /// The IDs in the account's list item (a consistent read).
    pub(super) async fn passkey_ids(&self, nip: &Nip) -> Result<Vec<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("nip", passkey_list_key(nip))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out
            .item
            .as_ref()
            .and_then(|i| i.get("ids"))
            .and_then(|v| v.as_ss().ok())
            .cloned()
            .unwrap_or_default())
    }

    /// The list item's update adding (`ADD`) or removing (`DELETE`) one ID.
    fn list_update(&self, nip: &Nip, verb: &str, id: &str) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.tables.accounts)
            .key("nip", passkey_list_key(nip))
            .update_expression(format!("{verb} ids :id"))
            .expression_attribute_values(":id", AttributeValue::Ss(vec![id.to_owned()]))
            .build()
            .map_err(bad)
    }

    /// What a renumbering adds to its transaction for the passkeys: the old number's list
    /// moved to the new number, each passkey's owner changed (on the condition that it is
    /// still the old number's), and a replaced account's own passkeys removed.
    pub(super) async fn passkey_moves(
        &self,
        old: &Nip,
        new: &Nip,
        replacing: bool,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let ids = self.passkey_ids(old).await?;
        let mut items = Vec::new();
        if replacing {
            for id in self.passkey_ids(new).await? {
                let d = Delete::builder()
                    .table_name(&self.tables.accounts)
                    .key("nip", passkey_key(&id))
                    .build()
                    .map_err(bad)?;
                items.push(TransactWriteItem::builder().delete(d).build());
            }
        }
        if ids.is_empty() {
            if replacing {
                let d = Delete::builder()
                    .table_name(&self.tables.accounts)
                    .key("nip", passkey_list_key(new))
                    .build()
                    .map_err(bad)?;
                items.push(TransactWriteItem::builder().delete(d).build());
            }
            return Ok(items);
        }
        let delete_list = Delete::builder()
            .table_name(&self.tables.accounts)
            .key("nip", passkey_list_key(old))
            .build()
            .map_err(bad)?;
        let put_list = Put::builder()
            .table_name(&self.tables.accounts)
            .item("nip", passkey_list_key(new))
            .item("ids", AttributeValue::Ss(ids.clone()))
            .build()
            .map_err(bad)?;
        items.push(TransactWriteItem::builder().delete(delete_list).build());
        items.push(TransactWriteItem::builder().put(put_list).build());
        for id in ids {
            let u = Update::builder()
                .table_name(&self.tables.accounts)
                .key("nip", passkey_key(&id))
                .update_expression("SET #o = :new")
                .condition_expression("#o = :old")
                .expression_attribute_names("#o", "owner")
                .expression_attribute_values(":new", s(new.as_str()))
                .expression_attribute_values(":old", s(old.as_str()))
                .build()
                .map_err(bad)?;
            items.push(TransactWriteItem::builder().update(u).build());
        }
        Ok(items)
    }

    async fn get_passkeys(&self, ids: &[String]) -> Result<Vec<PasskeyRecord>, StoreError> {
        let keys: Vec<String> = ids.iter().map(|id| format!("passkey#{id}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.batch_get_accounts_items(&keys)
            .await?
            .iter()
            .map(read_passkey)
            .collect()
    }
}

#[async_trait]
impl Passkeys for DynamoStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<(), StoreError> {
        let put = Put::builder()
            .table_name(&self.tables.accounts)
            .set_item(Some(passkey_item(p)))
            .condition_expression("attribute_not_exists(nip)")
            .build()
            .map_err(bad)?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(self.list_update(&p.nip, "ADD", &p.id)?)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| transaction_error(e, "passkey insert"))
    }

    async fn get_passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("nip", passkey_key(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item.as_ref().map(read_passkey).transpose()
    }

    async fn list_passkeys(&self, nip: &Nip) -> Result<Vec<PasskeyRecord>, StoreError> {
        let ids = self.passkey_ids(nip).await?;
        let mut all: Vec<PasskeyRecord> = self
            .get_passkeys(&ids)
            .await?
            .into_iter()
            .filter(|p| &p.nip == nip)
            .collect();
        all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(all)
    }

    async fn update_passkey(
        &self,
        p: &PasskeyRecord,
        expected_credential: &str,
    ) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.accounts)
            .set_item(Some(passkey_item(p)))
            .condition_expression("#c = :expected AND #o = :owner")
            .expression_attribute_names("#c", "credential")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":expected", s(expected_credential))
            .expression_attribute_values(":owner", s(p.nip.as_str()))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn delete_passkey(&self, nip: &Nip, id: &str) -> Result<bool, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.tables.accounts)
            .key("nip", passkey_key(id))
            .condition_expression("#o = :owner")
            .expression_attribute_names("#o", "owner")
            .expression_attribute_values(":owner", s(nip.as_str()))
            .build()
            .map_err(bad)?;
        let out = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .transact_items(
                TransactWriteItem::builder()
                    .update(self.list_update(nip, "DELETE", id)?)
                    .build(),
            )
            .send()
            .await;
        match out.map_err(|e| transaction_error(e, "passkey delete")) {
            Ok(_) => Ok(true),
            // Not there, or another account's: nothing removed.
            Err(StoreError::Conflict(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn put_ceremony(&self, c: &CeremonyRecord) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.ephemeral)
            .item("pk", ceremony_key(&c.key))
            .item("state", s(&c.state))
            .item("expires_at", micros(c.expires_at))
            .item(TTL_ATTRIBUTE, ttl(c.expires_at));
        if let Some(n) = &c.nip {
            put = put.item("nip", s(n.as_str()));
        }
        put.send().await.map_err(sdk)?;
        Ok(())
    }

    async fn take_ceremony(&self, key: &str) -> Result<Option<CeremonyRecord>, StoreError> {
        // The old item comes back only to the delete that removed it.
        let out = self
            .client
            .delete_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", ceremony_key(key))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk)?;
        let Some(item) = out.attributes.filter(|a| !a.is_empty()) else {
            return Ok(None);
        };
        Ok(Some(CeremonyRecord {
            key: key.to_owned(),
            nip: item.get("nip").map(|_| nip_of(&item, "nip")).transpose()?,
            state: get_s(&item, "state")?.to_owned(),
            expires_at: time(&item, "expires_at")?,
        }))
    }
}
