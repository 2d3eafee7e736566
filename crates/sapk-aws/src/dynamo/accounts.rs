//! The DynamoDB store: the accounts, one per NIP and replaced only at the version read, and the
//! atomic steps that carry an account (a staff e-mail change, a new number).

use super::*;
use sapk_core::ports::Accounts;

#[async_trait]
impl Accounts for DynamoStore {
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
        let mut unique: Vec<&str> = nips.iter().map(Nip::as_str).collect();
        unique.sort_unstable();
        unique.dedup();
        let mut found: HashMap<String, Account> = HashMap::new();
        for item in self.batch_get_accounts_items(&unique).await? {
            let a = read_account(&item)?;
            found.insert(a.nip.as_str().to_owned(), a);
        }
        Ok(nips
            .iter()
            .map(|n| found.get(n.as_str()).cloned())
            .collect())
    }

    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        let Some(email) = &a.email else {
            self.client
                .put_item()
                .table_name(&self.tables.accounts)
                .set_item(Some(account_item(a, a.version)?))
                .condition_expression("attribute_not_exists(nip)")
                .send()
                .await
                .map_err(sdk)?;
            return Ok(());
        };
        // The account and its address's claim, together.
        let put = Put::builder()
            .table_name(&self.tables.accounts)
            .set_item(Some(account_item(a, a.version)?))
            .condition_expression("attribute_not_exists(nip)")
            .build()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(self.claim_put(email, &a.nip, &[&a.nip])?)
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| claim_transaction_error(e, "new account", Some(1)))
    }

    /// The e-mail must be the stored one (its claim moves only in the steps that move it).
    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        let mut put = self
            .client
            .put_item()
            .table_name(&self.tables.accounts)
            .set_item(Some(account_item(a, expected + 1)?))
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected));
        put = match &a.email {
            Some(e) => put
                .condition_expression("#v = :expected AND email = :email")
                .expression_attribute_values(":email", s(e.as_str())),
            None => put.condition_expression("#v = :expected AND attribute_not_exists(email)"),
        };
        put.send().await.map_err(sdk)?;
        Ok(())
    }

    async fn update_account_email(
        &self,
        a: &Account,
        expected: u64,
        previous: Option<&Email>,
    ) -> Result<(), StoreError> {
        let mut items = vec![TransactWriteItem::builder()
            .put(self.account_put(a, expected)?)
            .build()];
        let claim_at = self.claim_items(&mut items, a, previous).await?;
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| claim_transaction_error(e, "e-mail update", claim_at))
    }

    async fn claim_email(&self, email: &Email, nip: &Nip) -> Result<bool, StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.tables.accounts)
            .item("nip", s(super::claim_item_key(email)))
            .item("holder", s(nip.as_str()))
            .condition_expression("attribute_not_exists(nip) OR holder = :h")
            .expression_attribute_values(":h", s(nip.as_str()))
            .send()
            .await;
        match put {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk(e)),
        }
    }

    async fn email_holder(&self, email: &Email) -> Result<Option<Nip>, StoreError> {
        self.email_claim_holder(email)
            .await?
            .map(|h| {
                Nip::parse_with(
                    &h,
                    Utc::now().date_naive(),
                    &sapk_core::nip::NipRules::permissive(),
                )
                .map_err(|e| StoreError::Corrupt(format!("claim holder: {e}")))
            })
            .transpose()
    }

    /// A Scan page (claim items skipped), strongly consistent; the cursor is the last key.
    async fn accounts_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), StoreError> {
        let mut scan = self
            .client
            .scan()
            .table_name(&self.tables.accounts)
            .consistent_read(true)
            .limit(i32::try_from(limit.clamp(1, 1000)).unwrap_or(1000))
            // Accounts only: not the e-mail claims nor the passkeys (keys with a `#`).
            .filter_expression("NOT contains(nip, :hash)")
            .expression_attribute_values(":hash", s("#"));
        if let Some(c) = cursor {
            scan = scan.exclusive_start_key("nip", s(c));
        }
        let out = scan.send().await.map_err(sdk)?;
        let accounts = out
            .items()
            .iter()
            .map(read_account)
            .collect::<Result<Vec<_>, _>>()?;
        let next = out
            .last_evaluated_key()
            .and_then(|k| k.get("nip"))
            .and_then(|v| v.as_s().ok())
            .cloned();
        Ok((accounts, next))
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

    async fn change_email_audited(
        &self,
        a: &Account,
        expected: u64,
        previous: Option<&Email>,
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
        let claim_at = self.claim_items(&mut items, a, previous).await?;
        items.extend(self.audit_writes(audit)?);
        self.client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| claim_transaction_error(e, "e-mail change", claim_at))
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<&Account>,
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
            Some(r) => self.account_put(moved, r.version)?,
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
        // The claims: the moved address for the new number (from the old one or the
        // replaced account), the old number's other address and the replaced one's released.
        let mut claims = Vec::new();
        // An address another account claims is one shared from before claims: carried as it
        // is, unclaimed (the account keeps working until its address changes).
        let claimable = match &moved.email {
            Some(e) => self
                .email_claim_holder(e)
                .await?
                .is_none_or(|h| h == old.nip.as_str() || h == moved.nip.as_str()),
            None => false,
        };
        if let Some(e) = moved.email.as_ref().filter(|_| claimable) {
            claims.push(
                TransactWriteItem::builder()
                    .put(self.claim_put(e, &moved.nip, &[&old.nip, &moved.nip])?)
                    .build(),
            );
        }
        let claim_at = (!claims.is_empty()).then_some(2);
        let releases = [
            self.claim_release(&old.nip, old.email.as_ref(), moved.email.as_ref())
                .await?,
            self.claim_release(
                &moved.nip,
                replace.and_then(|r| r.email.as_ref()),
                moved.email.as_ref(),
            )
            .await?,
        ];
        for d in releases.into_iter().flatten() {
            claims.push(TransactWriteItem::builder().delete(d).build());
        }
        for c in claims {
            tx = tx.transact_items(c);
        }
        // The passkeys move with the account (a replaced account's own go).
        for item in self
            .passkey_moves(&old.nip, &moved.nip, replace.is_some())
            .await?
        {
            tx = tx.transact_items(item);
        }
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
            .map_err(|e| claim_transaction_error(e, "renumber", claim_at))
    }
}

impl DynamoStore {
    /// Adds to `items` the claim on `a`'s address and the release of `previous`'s; the index
    /// of the claim's put, if there is one.
    async fn claim_items(
        &self,
        items: &mut Vec<TransactWriteItem>,
        a: &Account,
        previous: Option<&Email>,
    ) -> Result<Option<usize>, StoreError> {
        let mut claim_at = None;
        if let Some(e) = &a.email {
            claim_at = Some(items.len());
            items.push(
                TransactWriteItem::builder()
                    .put(self.claim_put(e, &a.nip, &[&a.nip])?)
                    .build(),
            );
        }
        if let Some(d) = self
            .claim_release(&a.nip, previous, a.email.as_ref())
            .await?
        {
            items.push(TransactWriteItem::builder().delete(d).build());
        }
        Ok(claim_at)
    }
}

pub(super) fn account_item(a: &Account, version: u64) -> Result<Item, StoreError> {
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

pub(super) fn read_account(item: &Item) -> Result<Account, StoreError> {
    let email = match opt_s(item, "email") {
        Some(e) => Some(
            Email::parse_stored(&e).map_err(|err| StoreError::Corrupt(format!("email: {err}")))?,
        ),
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
