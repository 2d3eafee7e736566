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
    Account, AuditEvent, Expect, LoginThrottle, Officer, PendingException, ResetCodeRecord,
    SessionRecord, StaffScope, Store, StoreError, ThrottleWrite,
};
use sapk_core::EmployeeName;
use std::collections::HashMap;

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

fn account_item(a: &Account, version: u64) -> Result<Item, StoreError> {
    let mut item: Item = HashMap::from([
        ("nip".into(), s(a.nip.as_str())),
        ("name".into(), s(a.name.as_str())),
        ("credential_version".into(), n(a.credential_version)),
        ("created_at".into(), micros(a.created_at)),
        ("updated_at".into(), micros(a.updated_at)),
        ("version".into(), n(version)),
    ]);
    if let Some(e) = &a.email {
        item.insert("email".into(), s(e.as_str()));
    }
    if let Some(i) = &a.instansi {
        item.insert("instansi".into(), s(i));
    }
    if let Some(h) = &a.password_hash {
        item.insert("password_hash".into(), s(h));
    }
    if let Some(t) = a.password_changed_at {
        item.insert("password_changed_at".into(), micros(t));
    }
    if let Some(t) = a.email_verified_at {
        item.insert("email_verified_at".into(), micros(t));
    }
    if let Some(f) = &a.second_factor {
        let json = serde_json::to_string(f).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        item.insert("second_factor".into(), s(json));
    }
    Ok(item)
}

fn read_account(item: &Item) -> Result<Account, StoreError> {
    let email = match opt_s(item, "email") {
        Some(e) => {
            Some(Email::parse(&e).map_err(|err| StoreError::Corrupt(format!("email: {err}")))?)
        }
        None => None,
    };
    Ok(Account {
        nip: nip_of(item, "nip")?,
        name: EmployeeName::from_stored(get_s(item, "name")?.to_owned()),
        email,
        email_verified_at: opt_time(item, "email_verified_at")?,
        instansi: opt_s(item, "instansi"),
        password_hash: opt_s(item, "password_hash"),
        credential_version: get_n(item, "credential_version")?,
        password_changed_at: opt_time(item, "password_changed_at")?,
        second_factor: opt_s(item, "second_factor")
            .map(|j| serde_json::from_str(&j))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("second_factor: {e}")))?,
        created_at: time(item, "created_at")?,
        updated_at: time(item, "updated_at")?,
        version: get_n(item, "version")?,
    })
}

fn read_officer(item: &Item) -> Result<Officer, StoreError> {
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
    })
}

/// An audit record's item: partition by NIP (`-` when none), sort by time and a random
/// suffix.
/// The sort key of a chained audit record: its place in the chain, so that the store refuses
/// a second record there (`attribute_not_exists(sk)`). Records from before the chain have
/// `<at micros, 20 digits>#<16 hex random>`, which sorts before every `c#`.
fn chain_sk(seq: u64) -> String {
    format!("{CHAIN_SK_PREFIX}{seq:020}")
}

const CHAIN_SK_PREFIX: &str = "c#";

fn audit_item(e: &AuditEvent) -> Result<Item, StoreError> {
    let sk = match &e.link {
        Some(l) => chain_sk(l.seq),
        None => {
            let suffix =
                random_bytes::<8>().map_err(|err| StoreError::Unavailable(err.to_string()))?;
            format!("{:020}#{}", e.at.timestamp_micros(), hex(&suffix))
        }
    };
    let mut item: Item = HashMap::from([
        ("nip".into(), s(chain_of(e))),
        ("sk".into(), s(sk)),
        ("at".into(), micros(e.at)),
        ("actor".into(), s(&e.actor)),
        ("action".into(), s(&e.action)),
        ("outcome".into(), s(&e.outcome)),
        ("details".into(), s(e.details.to_string())),
    ]);
    if let Some(o) = &e.office {
        item.insert("office".into(), s(o));
    }
    if let Some(ip) = &e.source_ip {
        item.insert("source_ip".into(), s(ip));
    }
    if let Some(l) = &e.link {
        item.insert("chain_seq".into(), n(l.seq));
        item.insert("chain_mac".into(), s(&l.mac));
        if !l.sealer.is_empty() {
            item.insert("chain_sealer".into(), s(&l.sealer));
        }
        if !l.prev.is_empty() {
            item.insert("chain_prev".into(), s(&l.prev));
        }
    }
    Ok(item)
}

/// An audit record as [`audit_item`] wrote it.
fn read_audit(item: &Item) -> Result<AuditEvent, StoreError> {
    let nip_key = get_s(item, "nip")?;
    let nip = if nip_key == SYSTEM_CHAIN {
        None
    } else {
        Some(Nip::from_stored(nip_key).map_err(|e| StoreError::Corrupt(e.to_string()))?)
    };
    let link = match opt_n::<u64>(item, "chain_seq")? {
        Some(seq) => Some(AuditLink {
            seq,
            prev: opt_s(item, "chain_prev").unwrap_or_default(),
            mac: get_s(item, "chain_mac")?.to_owned(),
            head_seal: String::new(),
            sealer: opt_s(item, "chain_sealer").unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AuditEvent {
        at: time(item, "at")?,
        actor: get_s(item, "actor")?.to_owned(),
        office: opt_s(item, "office"),
        nip,
        source_ip: opt_s(item, "source_ip"),
        action: get_s(item, "action")?.to_owned(),
        outcome: get_s(item, "outcome")?.to_owned(),
        details: sapk_core::audit_chain::details_as_stored(get_s(item, "details")?),
        link,
    })
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

/// An audit chain's kept head, in the ephemeral table (no TTL attribute: it never expires).
fn audit_head_key(chain: &str) -> AttributeValue {
    s(format!("{AUDIT_HEAD_PREFIX}{chain}"))
}

const AUDIT_HEAD_PREFIX: &str = "audithead#";

fn read_kept_head(item: &Item) -> Result<sapk_core::audit_chain::ChainHead, StoreError> {
    Ok(sapk_core::audit_chain::ChainHead {
        chain: get_s(item, "chain")?.to_owned(),
        seq: get_n(item, "seq")?,
        mac: get_s(item, "mac")?.to_owned(),
        seal: get_s(item, "seal")?.to_owned(),
        sealer: opt_s(item, "sealer").unwrap_or_default(),
    })
}

fn code_key(nip: &Nip) -> AttributeValue {
    s(format!("code#{nip}"))
}

fn exception_key(nip: &Nip) -> AttributeValue {
    s(format!("exception#{nip}"))
}

fn mail_status_key(nip: &Nip) -> AttributeValue {
    s(format!("mailstatus#{nip}"))
}

fn session_key(hash: &str) -> AttributeValue {
    s(format!("session#{hash}"))
}

/// Login throttle records (`lock#<nip>` and `lock#<nip>@<address>`). The first design's
/// `throttle#<nip>` items are no longer read; TTL removes them.
fn lock_key(key: &str) -> AttributeValue {
    s(format!("lock#{key}"))
}

fn throttle_item(t: &LoginThrottle) -> Item {
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
fn throttle_condition(expect: Expect) -> (Option<String>, Option<Item>) {
    match expect {
        Expect::Any => (None, None),
        Expect::Absent => (Some("attribute_not_exists(pk)".to_owned()), None),
        Expect::Rev(r) => (
            Some("rev = :rev".to_owned()),
            Some(HashMap::from([(":rev".to_owned(), n(r))])),
        ),
    }
}

fn read_throttle(item: &Item) -> Result<LoginThrottle, StoreError> {
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

#[async_trait]
impl Store for DynamoStore {
    async fn get_account(&self, nip: &Nip) -> Result<Option<Account>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.accounts)
            .key("nip", s(nip.as_str()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item.as_ref().map(read_account).transpose()
    }

    /// BatchGetItem, 100 keys a call (DynamoDB's limit), strongly consistent; keys the
    /// service leaves unprocessed (throttling) are asked again, a bounded number of times.
    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut unique: Vec<&str> = nips.iter().map(Nip::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        let mut found: HashMap<String, Account> = HashMap::new();
        for chunk in unique.chunks(100) {
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
                for item in out
                    .responses
                    .unwrap_or_default()
                    .remove(&self.tables.accounts)
                    .unwrap_or_default()
                {
                    let a = read_account(&item)?;
                    found.insert(a.nip.as_str().to_owned(), a);
                }
                request = out
                    .unprocessed_keys
                    .unwrap_or_default()
                    .remove(&self.tables.accounts)
                    .filter(|k| !k.keys().is_empty());
            }
        }
        Ok(nips
            .iter()
            .map(|n| found.get(n.as_str()).cloned())
            .collect())
    }

    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.accounts)
            .set_item(Some(account_item(a, a.version)?))
            .condition_expression("attribute_not_exists(nip)")
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.tables.accounts)
            .set_item(Some(account_item(a, expected + 1)?))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    async fn accounts_with_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.accounts)
            .index_name(crate::tables::EMAIL_INDEX)
            .key_condition_expression("email = :e")
            .expression_attribute_values(":e", s(email.as_str()))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().map(|item| nip_of(item, "nip")).collect()
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        let out = self
            .client
            .scan()
            .table_name(&self.tables.accounts)
            .limit(1)
            .projection_expression("nip")
            .send()
            .await
            .map_err(sdk)?;
        Ok(out.count > 0 || out.last_evaluated_key.is_some())
    }

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

    async fn change_email_audited(
        &self,
        a: &Account,
        expected: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let delete = |key| {
            Delete::builder()
                .table_name(&self.tables.ephemeral)
                .key("pk", key)
                .build()
                .map_err(bad)
        };
        let (delete_code, delete_exception) =
            (delete(code_key(&a.nip))?, delete(exception_key(&a.nip))?);
        let mut items = vec![
            TransactWriteItem::builder()
                .put(self.account_put(a, expected)?)
                .build(),
            TransactWriteItem::builder().delete(delete_code).build(),
            TransactWriteItem::builder()
                .delete(delete_exception)
                .build(),
        ];
        items.extend(self.audit_writes(audit)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| transaction_error(e, "e-mail change"))
    }

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

    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError> {
        self.put_body(exception_key(&p.nip), &p.nip, p, Some(p.expires_at))
            .await
    }

    async fn get_email_exception(&self, nip: &Nip) -> Result<Option<PendingException>, StoreError> {
        self.get_body(exception_key(nip)).await
    }

    async fn delete_email_exception(&self, nip: &Nip) -> Result<(), StoreError> {
        self.delete_ephemeral(exception_key(nip)).await
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<u64>,
    ) -> Result<(), StoreError> {
        let bad = |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(e.to_string());
        let delete_old = Delete::builder()
            .table_name(&self.tables.accounts)
            .key("nip", s(old.nip.as_str()))
            .condition_expression("#v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(old.version))
            .build()
            .map_err(bad)?;
        let put_new = match replace {
            Some(v) => self.account_put(moved, v)?,
            None => Put::builder()
                .table_name(&self.tables.accounts)
                .set_item(Some(account_item(moved, moved.version)?))
                .condition_expression("attribute_not_exists(nip)")
                .build()
                .map_err(bad)?,
        };
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().delete(delete_old).build())
            .transact_items(TransactWriteItem::builder().put(put_new).build());
        // Sessions are keyed by token; they die with the old account record (a session
        // whose NIP has no account is refused).
        for key in [
            code_key(&old.nip),
            lock_key(old.nip.as_str()),
            exception_key(&old.nip),
        ] {
            let d = Delete::builder()
                .table_name(&self.tables.ephemeral)
                .key("pk", key)
                .build()
                .map_err(bad)?;
            tx = tx.transact_items(TransactWriteItem::builder().delete(d).build());
        }
        tx.send()
            .await
            .map(|_| ())
            .map_err(|e| transaction_error(e, "renumber"))
    }

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
        self.client
            .put_item()
            .table_name(&self.tables.staff)
            .item("principal", s(&o.principal))
            .item("officer_id", s(&o.officer_id))
            .item("name", s(&o.name))
            .item("office", s(&o.office))
            .item("scope", s(o.scope.as_text()))
            .item("active", AttributeValue::Bool(o.active))
            .item("updated_at", micros(o.updated_at))
            .send()
            .await
            .map_err(sdk)?;
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

    /// The record and its chain's kept head in one transaction.
    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        self.client
            .transact_write_items()
            .set_transact_items(Some(self.audit_writes(e)?))
            .send()
            .await
            .map(|_| ())
            .map_err(|err| transaction_error(err, "audit append"))
    }

    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tables.ephemeral)
            .key("pk", audit_head_key(chain))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        out.item().map(read_kept_head).transpose()
    }

    /// Every kept head: a Scan of the ephemeral table for their prefix (a checkpoint's
    /// read, not a request's).
    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        let items = all_pages(|start| async move {
            let page = self
                .client
                .scan()
                .table_name(&self.tables.ephemeral)
                .filter_expression("begins_with(pk, :p)")
                .expression_attribute_values(":p", s(AUDIT_HEAD_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        items.iter().map(read_kept_head).collect()
    }

    fn audit_expires(&self) -> bool {
        self.audit_retention.is_some()
    }

    async fn list_audit(&self, nip: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("nip = :nip")
            .expression_attribute_values(":nip", s(nip.as_str()))
            .scan_index_forward(false)
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(sdk)?;
        out.items().iter().map(read_audit).collect()
    }

    async fn audit_head(&self, chain: &str) -> Result<Option<AuditLink>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.tables.audit)
            .key_condition_expression("nip = :c AND begins_with(sk, :p)")
            .expression_attribute_values(":c", s(chain))
            .expression_attribute_values(":p", s(CHAIN_SK_PREFIX))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        match out.items().first() {
            Some(item) => Ok(read_audit(item)?.link),
            None => Ok(None),
        }
    }

    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let items = all_pages(|start| async move {
            let page = self
                .client
                .query()
                .table_name(&self.tables.audit)
                .key_condition_expression("nip = :c")
                .expression_attribute_values(":c", s(chain))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk)?;
            Ok((page.items, page.last_evaluated_key))
        })
        .await?;
        items.iter().map(read_audit).collect()
    }
}
