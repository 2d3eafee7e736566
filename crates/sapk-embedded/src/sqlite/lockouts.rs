//! The SQLite store: login throttle records (failures and lock-outs, per NIP and per source),
//! written all or nothing.

use super::*;
use sapk_core::ports::Lockouts;

#[async_trait]
impl Lockouts for SqliteStore {
    async fn get_throttles(
        &self,
        keys: &[String],
    ) -> Result<Vec<Option<LoginThrottle>>, StoreError> {
        let keys = keys.to_vec();
        self.run(move |c| {
            keys.iter()
                .map(|k| read_throttle(c, k).map_err(unwrap_conv))
                .collect()
        })
        .await
    }

    async fn put_throttles(&self, writes: &[ThrottleWrite]) -> Result<(), StoreError> {
        let writes = writes.to_vec();
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            for w in &writes {
                let cur: Option<i64> = tx
                    .row(
                        "SELECT rev FROM login_locks WHERE key = ?1",
                        [&w.record.key],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(down)?;
                let ok = match w.expect {
                    Expect::Any => true,
                    Expect::Absent => cur.is_none(),
                    Expect::Rev(r) => cur == Some(r as i64),
                };
                if !ok {
                    return Err(StoreError::Conflict(format!(
                        "throttle {} changed",
                        w.record.key
                    )));
                }
                write_throttle(&tx, &w.record)?;
            }
            tx.commit().map_err(down)
        })
        .await
    }

    async fn delete_throttle(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.run(move |c| {
            c.exec("DELETE FROM login_locks WHERE key = ?1", [key])
                .map_err(down)?;
            Ok(())
        })
        .await
    }
}

pub(super) fn read_throttle(c: &Connection, key: &str) -> rusqlite::Result<Option<LoginThrottle>> {
    c.row(
        "SELECT key, nip, failures, locked_until, since, expires_at, rev \
         FROM login_locks WHERE key = ?1",
        [key],
        |r| {
            let locked: Option<i64> = r.get(3)?;
            Ok(LoginThrottle {
                key: r.get(0)?,
                nip: nip(&r.get::<_, String>(1)?).map_err(conv_err)?,
                failures: r.get(2)?,
                locked_until: locked.map(time).transpose().map_err(conv_err)?,
                since: time(r.get(4)?).map_err(conv_err)?,
                expires_at: time(r.get(5)?).map_err(conv_err)?,
                rev: r.get::<_, i64>(6)? as u64,
            })
        },
    )
    .optional()
}

pub(super) fn write_throttle(c: &Connection, t: &LoginThrottle) -> Result<(), StoreError> {
    c.exec(
        "INSERT OR REPLACE INTO login_locks \
         (key, nip, failures, locked_until, since, expires_at, rev) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            t.key,
            t.nip.as_str(),
            t.failures,
            t.locked_until.map(micros),
            micros(t.since),
            micros(t.expires_at),
            t.rev as i64
        ],
    )
    .map_err(down)?;
    Ok(())
}
