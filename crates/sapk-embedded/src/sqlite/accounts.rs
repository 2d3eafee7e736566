//! The SQLite store: the accounts, one per NIP and replaced only at the version read, and the
//! atomic steps that carry an account (a staff e-mail change, a new number).

use super::*;
use sapk_core::ports::Accounts;

#[async_trait]
impl Accounts for SqliteStore {
    async fn get_account(&self, n: &Nip) -> Result<Option<Account>, StoreError> {
        let key = n.as_str().to_owned();
        self.run(move |c| {
            c.row(
                &format!("SELECT {ACCOUNT_COLS} FROM accounts WHERE nip = ?1"),
                [key],
                read_account,
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }

    async fn get_accounts(&self, nips: &[Nip]) -> Result<Vec<Option<Account>>, StoreError> {
        let keys: Vec<String> = nips.iter().map(|n| n.as_str().to_owned()).collect();
        self.run_heavy(move |c| {
            let mut found = std::collections::HashMap::new();
            // SQLite binds at most 32766 parameters; a batch is far below, but chunk anyway.
            for chunk in keys.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(", ");
                let mut stmt = c
                    .prepare_cached(&format!(
                        "SELECT {ACCOUNT_COLS} FROM accounts WHERE nip IN ({marks})"
                    ))
                    .map_err(down)?;
                let rows = stmt
                    .query_map(rusqlite::params_from_iter(chunk.iter()), read_account)
                    .map_err(down)?;
                for row in rows {
                    let a = row.map_err(unwrap_conv)?;
                    found.insert(a.nip.as_str().to_owned(), a);
                }
            }
            Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
        })
        .await
    }

    async fn insert_account(&self, a: &Account) -> Result<(), StoreError> {
        let a = a.clone();
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            claim_free(&tx, a.email.as_ref(), &[a.nip.as_str()])?;
            insert_account_row(&tx, &a)?;
            move_claim(&tx, a.nip.as_str(), None, a.email.as_ref())?;
            tx.commit().map_err(down)
        })
        .await
    }

    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        let a = a.clone();
        self.run(move |c| {
            let stored: Option<Option<String>> = c
                .row(
                    "SELECT email FROM accounts WHERE nip = ?1",
                    [a.nip.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(down)?;
            if stored
                .as_ref()
                .is_some_and(|e| e.as_deref() != a.email.as_ref().map(Email::as_str))
            {
                return Err(StoreError::Conflict(
                    "the e-mail changes only with its claim".into(),
                ));
            }
            write_account(c, &a, expected)
        })
        .await
    }

    async fn update_account_email(
        &self,
        a: &Account,
        expected: u64,
        previous: Option<&Email>,
    ) -> Result<(), StoreError> {
        let (a, previous) = (a.clone(), previous.cloned());
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            claim_free(&tx, a.email.as_ref(), &[a.nip.as_str()])?;
            write_account(&tx, &a, expected)?;
            move_claim(&tx, a.nip.as_str(), previous.as_ref(), a.email.as_ref())?;
            tx.commit().map_err(down)
        })
        .await
    }

    async fn claim_email(&self, email: &Email, nip: &Nip) -> Result<bool, StoreError> {
        let (key, nip) = (email.claim_key(), nip.as_str().to_owned());
        self.run(move |c| {
            c.exec(
                "INSERT INTO email_claims (claim, nip) VALUES (?1, ?2) ON CONFLICT (claim) DO NOTHING",
                params![key, nip],
            )
            .map_err(down)?;
            let holder: String = c
                .row("SELECT nip FROM email_claims WHERE claim = ?1", [key], |r| r.get(0))
                .map_err(down)?;
            Ok(holder == nip)
        })
        .await
    }

    async fn email_holder(&self, email: &Email) -> Result<Option<Nip>, StoreError> {
        let key = email.claim_key();
        let holder: Option<String> = self
            .run(move |c| {
                c.row(
                    "SELECT nip FROM email_claims WHERE claim = ?1",
                    [key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(down)
            })
            .await?;
        holder.as_deref().map(nip).transpose()
    }

    async fn accounts_page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<(Vec<Account>, Option<String>), StoreError> {
        let after = cursor.unwrap_or_default();
        let mut page: Vec<Account> = self
            .run_heavy(move |c| {
                let mut st = c
                    .prepare_cached(&format!(
                        "SELECT {ACCOUNT_COLS} FROM accounts WHERE nip > ?1 ORDER BY nip LIMIT ?2"
                    ))
                    .map_err(down)?;
                let rows = st
                    .query_map(params![after, (limit + 1) as i64], read_account)
                    .map_err(down)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(unwrap_conv);
                rows
            })
            .await?;
        let more = page.len() > limit;
        page.truncate(limit);
        let next = more
            .then(|| page.last().map(|a| a.nip.as_str().to_owned()))
            .flatten();
        Ok((page, next))
    }

    async fn accounts_with_email(
        &self,
        email: &Email,
        limit: usize,
    ) -> Result<Vec<Nip>, StoreError> {
        let email = email.as_str().to_owned();
        let rows: Vec<String> = self
            .run(move |c| {
                let mut st = c
                    .prepare_cached(
                        "SELECT nip FROM accounts WHERE email = ?1 ORDER BY nip LIMIT ?2",
                    )
                    .map_err(down)?;
                let rows = st
                    .query_map(params![email, limit as i64], |r| r.get::<_, String>(0))
                    .map_err(down)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(down);
                rows
            })
            .await?;
        rows.iter().map(|n| nip(n)).collect()
    }

    async fn has_accounts(&self) -> Result<bool, StoreError> {
        self.run_heavy(|c| {
            c.row("SELECT EXISTS (SELECT 1 FROM accounts)", [], |r| {
                r.get::<_, bool>(0)
            })
            .map_err(down)
        })
        .await
    }

    async fn change_email_audited(
        &self,
        a: &Account,
        expected: u64,
        previous: Option<&Email>,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (a, audit, previous) = (a.clone(), audit.clone(), previous.cloned());
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            claim_free(&tx, a.email.as_ref(), &[a.nip.as_str()])?;
            write_account(&tx, &a, expected)?;
            move_claim(&tx, a.nip.as_str(), previous.as_ref(), a.email.as_ref())?;
            for table in ["reset_codes", "email_exceptions"] {
                tx.exec(
                    &format!("DELETE FROM {table} WHERE nip = ?1"),
                    [a.nip.as_str()],
                )
                .map_err(down)?;
            }
            insert_audit(&tx, &audit)?;
            tx.commit().map_err(down)
        })
        .await
    }

    async fn renumber_account(
        &self,
        old: &Account,
        moved: &Account,
        replace: Option<&Account>,
    ) -> Result<(), StoreError> {
        let (old, moved, replaced) = (old.clone(), moved.clone(), replace.cloned());
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            let gone = tx
                .exec(
                    "DELETE FROM accounts WHERE nip = ?1 AND version = ?2",
                    params![old.nip.as_str(), old.version as i64],
                )
                .map_err(down)?;
            if gone != 1 {
                return Err(StoreError::Conflict(format!(
                    "account {} is not at version {}",
                    old.nip, old.version
                )));
            }
            // An address another account claims is one shared from before claims: carried as
            // it is, unclaimed (the account keeps working until its address changes).
            let mine = [old.nip.as_str(), moved.nip.as_str()];
            let claimable = match claim_free(&tx, moved.email.as_ref(), &mine) {
                Ok(()) => true,
                Err(StoreError::EmailTaken(_)) => false,
                Err(e) => return Err(e),
            };
            match &replaced {
                Some(r) => write_account(&tx, &moved, r.version)?,
                None => insert_account_row(&tx, &moved)?,
            }
            move_claim(&tx, old.nip.as_str(), old.email.as_ref(), None)?;
            let before = replaced.as_ref().and_then(|r| r.email.as_ref());
            let next_claim = moved.email.as_ref().filter(|_| claimable);
            move_claim(&tx, moved.nip.as_str(), before, next_claim)?;
            for table in ["reset_codes", "sessions", "email_exceptions"] {
                tx.exec(
                    &format!("DELETE FROM {table} WHERE nip = ?1"),
                    [old.nip.as_str()],
                )
                .map_err(down)?;
            }
            // The passkeys move with the account (a replaced account's own go).
            if replaced.is_some() {
                tx.exec("DELETE FROM passkeys WHERE nip = ?1", [moved.nip.as_str()])
                    .map_err(down)?;
            }
            tx.exec(
                "UPDATE passkeys SET nip = ?2 WHERE nip = ?1",
                [old.nip.as_str(), moved.nip.as_str()],
            )
            .map_err(down)?;
            tx.exec("DELETE FROM login_locks WHERE key = ?1", [old.nip.as_str()])
                .map_err(down)?;
            tx.commit().map_err(down)
        })
        .await
    }
}

/// `EmailTaken` if `email` is claimed by an account other than those in `mine`.
fn claim_free(c: &Connection, email: Option<&Email>, mine: &[&str]) -> Result<(), StoreError> {
    let Some(e) = email else { return Ok(()) };
    let holder: Option<String> = c
        .row(
            "SELECT nip FROM email_claims WHERE claim = ?1",
            [e.claim_key()],
            |r| r.get(0),
        )
        .optional()
        .map_err(down)?;
    match holder {
        Some(h) if !mine.contains(&h.as_str()) => Err(StoreError::EmailTaken(h)),
        _ => Ok(()),
    }
}

/// Releases `previous` (if `holder` holds it and it is not the same claim as `next`) and
/// claims `next` for `holder`.
fn move_claim(
    c: &Connection,
    holder: &str,
    previous: Option<&Email>,
    next: Option<&Email>,
) -> Result<(), StoreError> {
    let next_key = next.map(Email::claim_key);
    if let Some(p) = previous {
        let key = p.claim_key();
        if next_key.as_deref() != Some(key.as_str()) {
            c.exec(
                "DELETE FROM email_claims WHERE claim = ?1 AND nip = ?2",
                params![key, holder],
            )
            .map_err(down)?;
        }
    }
    if let Some(k) = next_key {
        c.exec(
            "INSERT INTO email_claims (claim, nip) VALUES (?1, ?2) \
             ON CONFLICT (claim) DO UPDATE SET nip = excluded.nip",
            params![k, holder],
        )
        .map_err(down)?;
    }
    Ok(())
}

pub(super) fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let email: Option<String> = r.get(2)?;
    let email = match email {
        Some(e) => Some(
            Email::parse_stored(&e)
                .map_err(|err| conv_err(StoreError::Corrupt(format!("email: {err}"))))?,
        ),
        None => None,
    };
    let changed: Option<i64> = r.get(6)?;
    let verified: Option<i64> = r.get(10)?;
    let factor: Option<String> = r.get(11)?;
    let second_factor = factor
        .map(|j| serde_json::from_str(&j))
        .transpose()
        .map_err(|e| conv_err(StoreError::Corrupt(format!("second_factor: {e}"))))?;
    Ok(Account {
        nip: nip(&r.get::<_, String>(0)?).map_err(conv_err)?,
        name: EmployeeName::from_stored(r.get(1)?),
        email,
        email_verified_at: verified.map(time).transpose().map_err(conv_err)?,
        instansi: r.get(3)?,
        password_hash: r.get(4)?,
        credential_version: version_u64(r.get(5)?),
        password_changed_at: changed.map(time).transpose().map_err(conv_err)?,
        second_factor,
        created_at: time(r.get(7)?).map_err(conv_err)?,
        updated_at: time(r.get(8)?).map_err(conv_err)?,
        version: version_u64(r.get(9)?),
    })
}

pub(super) const ACCOUNT_COLS: &str =
    "nip, name, email, instansi, password_hash, credential_version, \
     password_changed_at, created_at, updated_at, version, email_verified_at, second_factor";

/// Runs `sql` with the account's twelve columns bound as `?1`..`?12` in `ACCOUNT_COLS` order,
/// `?10` being `last` (the version to insert, or the expected version of an update).
pub(super) fn execute_account(
    c: &Connection,
    sql: &str,
    a: &Account,
    last: u64,
) -> Result<usize, StoreError> {
    let factor = a
        .second_factor
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    c.exec(
        sql,
        params![
            a.nip.as_str(),
            a.name.as_str(),
            a.email.as_ref().map(Email::as_str),
            a.instansi,
            a.password_hash,
            a.credential_version as i64,
            a.password_changed_at.map(micros),
            micros(a.created_at),
            micros(a.updated_at),
            last as i64,
            a.email_verified_at.map(micros),
            factor,
        ],
    )
    .map_err(down)
}

pub(super) fn insert_account_row(c: &Connection, a: &Account) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    );
    execute_account(c, &sql, a, a.version).map(|_| ())
}

pub(super) fn write_account(tx: &Connection, a: &Account, expected: u64) -> Result<(), StoreError> {
    let n = execute_account(
        tx,
        "UPDATE accounts SET name = ?2, email = ?3, instansi = ?4, password_hash = ?5, \
         credential_version = ?6, password_changed_at = ?7, created_at = ?8, updated_at = ?9, \
         version = ?10 + 1, email_verified_at = ?11, second_factor = ?12 \
         WHERE nip = ?1 AND version = ?10",
        a,
        expected,
    )?;
    if n == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "account {} is not at version {expected}",
            a.nip
        )))
    }
}
