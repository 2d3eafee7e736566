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
        self.run(move |c| insert_account_row(c, &a)).await
    }

    async fn update_account(&self, a: &Account, expected: u64) -> Result<(), StoreError> {
        let a = a.clone();
        self.run(move |c| write_account(c, &a, expected)).await
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
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (a, audit) = (a.clone(), audit.clone());
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            write_account(&tx, &a, expected)?;
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
        replace: Option<u64>,
    ) -> Result<(), StoreError> {
        let (old, moved) = (old.clone(), moved.clone());
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
            match replace {
                Some(v) => write_account(&tx, &moved, v)?,
                None => insert_account_row(&tx, &moved)?,
            }
            for table in ["reset_codes", "sessions", "email_exceptions"] {
                tx.exec(
                    &format!("DELETE FROM {table} WHERE nip = ?1"),
                    [old.nip.as_str()],
                )
                .map_err(down)?;
            }
            tx.exec("DELETE FROM login_locks WHERE key = ?1", [old.nip.as_str()])
                .map_err(down)?;
            tx.commit().map_err(down)
        })
        .await
    }
}

pub(super) fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
    let email: Option<String> = r.get(2)?;
    let email = match email {
        Some(e) => Some(
            Email::parse(&e)
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
