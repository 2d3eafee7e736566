//! The SQLite store: reset codes: at most one per NIP, its tries taken atomically, and the
//! reset that spends it.

use super::*;
use sapk_core::ports::ResetCodes;

#[async_trait]
impl ResetCodes for SqliteStore {
    async fn put_reset_code(&self, r: &ResetCodeRecord) -> Result<(), StoreError> {
        let r = r.clone();
        self.run(move |c| {
            c.exec(
                "INSERT OR REPLACE INTO reset_codes (nip, code_hash, issued_at, expires_at, \
                 attempts_left, credential_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    r.nip.as_str(),
                    r.code_hash,
                    micros(r.issued_at),
                    micros(r.expires_at),
                    r.attempts_left,
                    r.credential_version as i64
                ],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn rewrite_reset_code(&self, r: &ResetCodeRecord) -> Result<(), StoreError> {
        let r = r.clone();
        self.run(move |c| {
            c.exec(
                "UPDATE reset_codes SET issued_at = ?4, expires_at = ?5, credential_version = ?6 \
                 WHERE nip = ?1 AND code_hash = ?2 AND attempts_left = ?3",
                params![
                    r.nip.as_str(),
                    r.code_hash,
                    r.attempts_left,
                    micros(r.issued_at),
                    micros(r.expires_at),
                    r.credential_version as i64
                ],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_reset_code(&self, n: &Nip) -> Result<Option<ResetCodeRecord>, StoreError> {
        let key = n.as_str().to_owned();
        self.run(move |c| {
            c.row(
                "SELECT nip, code_hash, issued_at, expires_at, attempts_left, credential_version \
                 FROM reset_codes WHERE nip = ?1",
                [key],
                |r| {
                    Ok(ResetCodeRecord {
                        nip: nip(&r.get::<_, String>(0)?).map_err(conv_err)?,
                        code_hash: r.get(1)?,
                        issued_at: time(r.get(2)?).map_err(conv_err)?,
                        expires_at: time(r.get(3)?).map_err(conv_err)?,
                        attempts_left: r.get(4)?,
                        credential_version: version_u64(r.get(5)?),
                    })
                },
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }

    async fn take_code_attempt(&self, n: &Nip, code_hash: &str) -> Result<Option<u32>, StoreError> {
        let (key, hash) = (n.as_str().to_owned(), code_hash.to_owned());
        self.run(move |c| {
            c.row(
                "UPDATE reset_codes SET attempts_left = attempts_left - 1 \
                 WHERE nip = ?1 AND code_hash = ?2 AND attempts_left > 0 RETURNING attempts_left",
                [key, hash],
                |r| r.get::<_, u32>(0),
            )
            .optional()
            .map_err(down)
        })
        .await
    }

    async fn delete_reset_code(&self, n: &Nip, code_hash: Option<&str>) -> Result<(), StoreError> {
        let (key, hash) = (n.as_str().to_owned(), code_hash.map(str::to_owned));
        self.run(move |c| {
            match hash {
                Some(h) => c.exec(
                    "DELETE FROM reset_codes WHERE nip = ?1 AND code_hash = ?2",
                    [key, h],
                ),
                None => c.exec("DELETE FROM reset_codes WHERE nip = ?1", [key]),
            }
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn complete_reset(
        &self,
        code_hash: &str,
        a: &Account,
        expected: u64,
        cleared: &LoginThrottle,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        let (hash, a, cleared, audit) = (
            code_hash.to_owned(),
            a.clone(),
            cleared.clone(),
            audit.clone(),
        );
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            let gone = tx
                .exec(
                    "DELETE FROM reset_codes WHERE nip = ?1 AND code_hash = ?2",
                    [a.nip.as_str(), &hash],
                )
                .map_err(down)?;
            if gone != 1 {
                return Err(StoreError::Conflict("the reset code is gone".into()));
            }
            write_account(&tx, &a, expected)?;
            write_throttle(&tx, &cleared)?;
            insert_audit(&tx, &audit)?;
            tx.commit().map_err(down)
        })
        .await
    }
}
