//! The DynamoDB store: login throttle records (failures and lock-outs, per NIP and per source),
//! written all or nothing.

use super::*;
use sapk_core::ports::Lockouts;

#[async_trait]
impl Lockouts for DynamoStore {
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError> {
        let items = futures_util::future::try_join_all(
            keys.iter().map(|k| self.get_ephemeral(lock_key(k))),
        )
        .await?;
        items
            .iter()
            .map(|i| i.as_ref().map(read_throttle).transpose())
            .collect()
    }

    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError> {
        match writes {
            [] => Ok(()),
            [one] => {
                let (condition, values) = throttle_condition(one.expect);
                self.client
                    .put_item()
                    .table_name(&self.tables.ephemeral)
                    .set_item(Some(throttle_item(&one.record)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_values(values)
                    .send()
                    .await
                    .map_err(sdk)?;
                Ok(())
            }
            many => {
                let mut tx = self.client.transact_write_items();
                for w in many {
                    tx = tx.transact_items(
                        TransactWriteItem::builder()
                            .put(self.throttle_put(w)?)
                            .build(),
                    );
                }
                tx.send()
                    .await
                    .map(|_| ())
                    .map_err(|e| transaction_error(e, "throttle"))
            }
        }
    }

    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        self.delete_ephemeral(lock_key(key)).await
    }
}

/// Login throttle records (`lock#<nip>` and `lock#<nip>@<address>`). The first design's
/// `throttle#<nip>` items are no longer read; TTL removes them.
pub(super) fn lock_key(key: &str) -> AttributeValue {
    s(format!("lock#{key}"))
}

pub(super) fn throttle_item(t: &LoginThrottle) -> Item {
    let mut item: Item = HashMap::from([
        ("pk".into(), lock_key(&t.key)),
        ("key".into(), s(&t.key)),
        ("nip".into(), s(t.nip.as_str())),
        ("failures".into(), n(t.failures)),
        ("since".into(), micros(t.since)),
        ("expires_at".into(), micros(t.expires_at)),
        ("rev".into(), n(t.rev)),
        (TTL_ATTRIBUTE.into(), ttl(t.expires_at)),
    ]);
    if let Some(u) = t.locked_until {
        item.insert("locked_until".into(), micros(u));
    }
    item
}

/// The condition a throttle write puts on the stored record (compare-and-set on `rev`).
pub(super) fn throttle_condition(expect: Expect) -> (Option<String>, Option<Item>) {
    match expect {
        Expect::Any => (None, None),
        Expect::Absent => (Some("attribute_not_exists(pk)".to_owned()), None),
        Expect::Rev(r) => (
            Some("rev = :rev".to_owned()),
            Some(HashMap::from([(":rev".to_owned(), n(r))])),
        ),
    }
}

pub(super) fn read_throttle(item: &Item) -> Result<LoginThrottle, StoreError> {
    Ok(LoginThrottle {
        key: get_s(item, "key")?.to_owned(),
        nip: nip_of(item, "nip")?,
        failures: get_n(item, "failures")?,
        locked_until: opt_time(item, "locked_until")?,
        since: time(item, "since")?,
        expires_at: time(item, "expires_at")?,
        rev: get_n(item, "rev")?,
    })
}
