//! The DynamoDB `Store`. See `docs/dynamodb.md` for the table design and every access
//! pattern with its condition expression. TTL deletion is lazy, so nothing here relies on
//! it: callers compare `expires_at` themselves.

use crate::tables::{TableNames, TTL_ATTRIBUTE};
use async_trait::async_trait;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, ReturnValue, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use sapk_core::audit_chain::{chain_of, AuditLink, SYSTEM_CHAIN};
use sapk_core::email::Email;
use sapk_core::keys::{hex, random_bytes};
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, CeremonyRecord, Expect, LoginThrottle, Officer, PasskeyRecord,
    PendingException, ResetCodeRecord, SessionRecord, StaffScope, StoreError, ThrottleWrite,
};
use sapk_core::EmployeeName;
use std::collections::HashMap;

mod accounts;
mod audit;
mod codes;
mod lockouts;
mod mail;
mod passkeys;
mod rate_windows;
mod sessions;
mod staff;
use accounts::account_item;
use audit::{audit_head_key, audit_item};
use codes::code_key;
use lockouts::{lock_key, throttle_condition, throttle_item};
use staff::exception_key;

type Item = HashMap<String, AttributeValue>;

#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: TableNames,
    /// How long an audit record is kept (its `ttl`); `None`: for ever.
    audit_retention: Option<chrono::Duration>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn micros(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp_micros())
}

fn ttl(t: DateTime<Utc>) -> AttributeValue {
    n(t.timestamp())
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("attribute {what}"))
}

fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str, StoreError> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(k))
}

fn opt_s(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Result<T, StoreError> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(k))
}

fn opt_n<T: std::str::FromStr>(item: &Item, k: &str) -> Result<Option<T>, StoreError> {
    match item.get(k) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(_) => get_n(item, k).map(Some),
    }
}

fn time(item: &Item, k: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(get_n(item, k)?).ok_or_else(|| corrupt(k))
}

fn opt_time(item: &Item, k: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    opt_n::<i64>(item, k)?
        .map(|us| DateTime::from_timestamp_micros(us).ok_or_else(|| corrupt(k)))
        .transpose()
}

fn nip_of(item: &Item, k: &str) -> Result<Nip, StoreError> {
    let raw = get_s(item, k)?;
    Nip::from_stored(raw).map_err(|e| StoreError::Corrupt(format!("nip {raw:?}: {e}")))
}

/// Maps an SDK error: failed conditions are conflicts, everything else is "unavailable".
fn sdk<E, R>(e: aws_sdk_dynamodb::error::SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e.code() {
        Some("ConditionalCheckFailedException") => {
            StoreError::Conflict(e.code().unwrap_or_default().to_owned())
        }
        // Transaction conflicts are retried by the client (`TransactionConflicts`); one that
        // outlasts the retries is a busy store, not a lost race.
        _ => StoreError::Unavailable(DisplayErrorContext(e).to_string()),
    }
}

fn is_condition_failure<E: ProvideErrorMetadata, R>(
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

/// A cancelled transaction whose condition failed (or met another transaction) is a
/// conflict; anything else is "unavailable".
/// [`transaction_error`] for a transaction whose item at `claim_at` takes an e-mail claim:
/// that item's failed condition is `EmailTaken` (with the holder DynamoDB returned, if it did).
fn claim_transaction_error<R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
    what: &str,
    claim_at: Option<usize>,
) -> StoreError {
    if let (Some(TransactWriteItemsError::TransactionCanceledException(c)), Some(i)) =
        (e.as_service_error(), claim_at)
    {
        let reasons = c.cancellation_reasons();
        // Another item's failed condition (a version, an audit place) is the lost race it
        // is; the claim's alone says the address is taken.
        let others_failed = reasons
            .iter()
            .enumerate()
            .any(|(j, r)| j != i && r.code() == Some("ConditionalCheckFailed"));
        if let Some(r) = reasons.get(i).filter(|_| !others_failed) {
            if r.code() == Some("ConditionalCheckFailed") {
                let holder = r
                    .item()
                    .and_then(|item| item.get("holder"))
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                return StoreError::EmailTaken(holder);
            }
        }
    }
    transaction_error(e, what)
}

/// The accounts table's key of an e-mail claim (no NIP starts so).
pub(crate) fn claim_item_key(email: &Email) -> String {
    format!("{CLAIM_PREFIX}{}", email.claim_key())
}

/// The prefix of claim items in the accounts table: scans of accounts skip them.
pub(crate) const CLAIM_PREFIX: &str = "email#";

fn transaction_error<R: std::fmt::Debug>(
    e: aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
    what: &str,
) -> StoreError {
    if let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() {
        // A failed condition is a lost race; a transaction conflict that outlasted the
        // client's retries is a busy store (unavailable).
        let conflict = c
            .cancellation_reasons()
            .iter()
            .any(|r| r.code() == Some("ConditionalCheckFailed"));
        if conflict {
            return StoreError::Conflict(format!("{what} transaction cancelled"));
        }
    }
    sdk(e)
}

impl DynamoStore {
    /// The accounts table's items under `keys` (`nip` values: NIPs, or keys such as
    /// `passkey#<id>`), in no order: BatchGetItem, 100 keys a call (DynamoDB's limit), strongly
    /// consistent; keys the service leaves unprocessed (throttling) are asked again, a bounded
    /// number of times.
    pub(crate) async fn batch_get_accounts_items(
        &self,
        keys: &[&str],
    ) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let keys: Vec<Item> = chunk
                .iter()
                .map(|k| HashMap::from([("nip".to_owned(), s(*k))]))
                .collect();
            let mut request = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(keys))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Unavailable(e.to_string()))?,
            );
            let mut attempt = 0u32;
            while let Some(req) = request.take() {
                attempt += 1;
                if attempt > 8 {
                    return Err(StoreError::Unavailable(
                        "BatchGetItem left keys unprocessed 8 times".into(),
                    ));
                }
                if attempt > 1 {
                    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6)))
                        .await;
                }
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.tables.accounts, req)
                    .send()
                    .await
                    .map_err(sdk)?;
                found.extend(
                    out.responses
                        .unwrap_or_default()
                        .remove(&self.tables.accounts)
                        .unwrap_or_default(),
                );
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.tables.accounts)
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(found)
    }
}

/// Every item of a paginated Scan or Query: `page` asks for the page after a start key and
/// gives its items and the next start key.
async fn all_pages<F, Fut>(mut page: F) -> Result<Vec<Item>, StoreError>
where
    F: FnMut(Option<Item>) -> Fut,
    Fut: std::future::Future<Output = Result<(Option<Vec<Item>>, Option<Item>), StoreError>>,
{
    let mut out = Vec::new();
    let mut start = None;
    loop {
        let (items, next) = page(start).await?;
        out.extend(items.unwrap_or_default());
        match next {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(out),
        }
    }
}

impl DynamoStore {
    pub fn new(client: Client, tables: TableNames) -> DynamoStore {
        DynamoStore {
            client,
            tables,
            audit_retention: None,
        }
    }

    /// Audit records written from now on expire `days` after their time (DynamoDB's TTL
    /// removes them: the retention period of UU PDP 27/2022, `SAPK_AUDIT_RETENTION_DAYS`).
    pub fn with_audit_retention(mut self, days: i64) -> DynamoStore {
        self.audit_retention = Some(chrono::Duration::days(days));
        self
    }

    /// The writes of one audit record, for a transaction: the record (refused at a held
    /// place) and, for a chained one, its chain's kept head (never moved back).
    fn audit_writes(&self, e: &AuditEvent) -> Result<Vec<TransactWriteItem>, StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let mut out = vec![TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.tables.audit)
                    .set_item(Some(self.audit_item(e)?))
                    .condition_expression("attribute_not_exists(sk)")
                    .build()
                    .map_err(bad)?,
            )
            .build()];
        if let Some(h) = e.link.as_ref().and_then(|l| l.head(chain_of(e))) {
            out.push(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.tables.ephemeral)
                            .item("pk", audit_head_key(&h.chain))
                            .item("chain", s(&h.chain))
                            .item("seq", n(h.seq))
                            .item("mac", s(&h.mac))
                            .item("seal", s(&h.seal))
                            .item("sealer", s(&h.sealer))
                            .condition_expression("attribute_not_exists(pk) OR seq < :seq")
                            .expression_attribute_values(":seq", n(h.seq))
                            .build()
                            .map_err(bad)?,
                    )
                    .build(),
            );
        }
        Ok(out)
    }

    fn audit_item(&self, e: &AuditEvent) -> Result<Item, StoreError> {
        let mut item = audit_item(e)?;
        if let Some(keep) = self.audit_retention {
            item.insert(TTL_ATTRIBUTE.into(), ttl(e.at + keep));
        }
        Ok(item)
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    async fn get_ephemeral(&self, key: AttributeValue) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", key)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item)
    }

    async fn delete_ephemeral(&self, key: AttributeValue) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", key)
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// A record kept as JSON in the ephemeral table under `key`, replacing the one there;
    /// with `expires_at`, also its TTL.
    async fn put_body<T: serde::Serialize>(
        &self,
        key: AttributeValue,
        nip: &Nip,
        value: &T,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.ephemeral)
            .item("pk", key)
            .item("nip", s(nip.as_str()))
            .item("body", s(body));
        if let Some(t) = expires_at {
            put = put
                .item("expires_at", micros(t))
                .item(TTL_ATTRIBUTE, ttl(t));
        }
        put.send().await.map_err(sdk)?;
        Ok(())
    }

    async fn get_body<T: serde::de::DeserializeOwned>(
        &self,
        key: AttributeValue,
    ) -> Result<Option<T>, StoreError> {
        let Some(item) = self.get_ephemeral(key).await? else {
            return Ok(None);
        };
        serde_json::from_str(get_s(&item, "body")?)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("body: {e}")))
    }

    fn code_put(
        &self,
        c: &ResetCodeRecord,
    ) -> aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder {
        self.client
            .put_item()
            .table_name(&self.tables.ephemeral)
            .item("pk", code_key(&c.nip))
            .item("nip", s(c.nip.as_str()))
            .item("code_hash", s(&c.code_hash))
            .item("issued_at", micros(c.issued_at))
            .item("expires_at", micros(c.expires_at))
            .item("attempts_left", n(c.attempts_left))
            .item("credential_version", n(c.credential_version))
            .item(TTL_ATTRIBUTE, ttl(c.expires_at))
    }

    fn throttle_put(&self, w: &ThrottleWrite) -> Result<Put, StoreError> {
        let (condition, values) = throttle_condition(w.expect);
        Put::builder()
            .table_name(&self.tables.ephemeral)
            .set_item(Some(throttle_item(&w.record)))
            .set_condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// The claim on `email` for `holder` (one address, one account), an item of the accounts
    /// table keyed `email#<claim key>`: taken if free or already held by one of `mine`.
    fn claim_put(&self, email: &Email, holder: &Nip, mine: &[&Nip]) -> Result<Put, StoreError> {
        let mut b = Put::builder()
            .table_name(&self.tables.accounts)
            .item("nip", s(claim_item_key(email)))
            .item("holder", s(holder.as_str()))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            );
        let marks: Vec<String> = (0..mine.len()).map(|i| format!(":h{i}")).collect();
        b = b.condition_expression(format!(
            "attribute_not_exists(nip) OR holder IN ({})",
            marks.join(", ")
        ));
        for (m, nip) in marks.iter().zip(mine) {
            b = b.expression_attribute_values(m, s(nip.as_str()));
        }
        b.build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// The release of `previous`'s claim by `holder`, unless it is `next`'s claim too or
    /// another account holds it (an address shared from before claims: its holder keeps it).
    /// The claim is read first; the delete is conditional on the holder still being `holder`.
    async fn claim_release(
        &self,
        holder: &Nip,
        previous: Option<&Email>,
        next: Option<&Email>,
    ) -> Result<Option<Delete>, StoreError> {
        let Some(p) = previous else { return Ok(None) };
        if next.map(Email::claim_key) == Some(p.claim_key()) {
            return Ok(None);
        }
        if self.email_claim_holder(p).await?.as_deref() != Some(holder.as_str()) {
            return Ok(None);
        }
        Delete::builder()
            .table_name(&self.tables.accounts)
            .key("nip", s(claim_item_key(p)))
            .condition_expression("holder = :h")
            .expression_attribute_values(":h", s(holder.as_str()))
            .build()
            .map(Some)
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    /// The NIP (as stored) that claims `email`.
    async fn email_claim_holder(&self, email: &Email) -> Result<Option<String>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("nip", s(claim_item_key(email)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.item.as_ref().and_then(|i| opt_s(i, "holder")))
    }

    fn account_put(&self, a: &Account, expected: u64) -> Result<Put, StoreError> {
        Put::builder()
            .table_name(&self.tables.accounts)
            .set_item(Some(account_item(a, expected + 1)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected))
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }
}
