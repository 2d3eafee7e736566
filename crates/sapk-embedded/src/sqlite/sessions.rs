//! The SQLite store: login sessions and second-step challenges, by the hash of their token.

use super::*;
use sapk_core::ports::Sessions;

#[async_trait]
impl Sessions for SqliteStore {
    async fn put_session(&self, s: &SessionRecord) -> Result<(), StoreError> {
        let s = s.clone();
        self.run(move |c| {
            c.exec(
                "INSERT INTO sessions (token_hash, nip, credential_version, issued_at, expires_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    s.token_hash,
                    s.nip.as_str(),
                    s.credential_version as i64,
                    micros(s.issued_at),
                    micros(s.expires_at)
                ],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let key = token_hash.to_owned();
        self.run(move |c| {
            c.row(
                "SELECT token_hash, nip, credential_version, issued_at, expires_at \
                 FROM sessions WHERE token_hash = ?1",
                [key],
                |r| {
                    Ok(SessionRecord {
                        token_hash: r.get(0)?,
                        nip: nip(&r.get::<_, String>(1)?).map_err(conv_err)?,
                        credential_version: version_u64(r.get(2)?),
                        issued_at: time(r.get(3)?).map_err(conv_err)?,
                        expires_at: time(r.get(4)?).map_err(conv_err)?,
                    })
                },
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<bool, StoreError> {
        let key = token_hash.to_owned();
        self.run(move |c| {
            let n = c
                .exec("DELETE FROM sessions WHERE token_hash = ?1", [key])
                .map_err(down)?;
            Ok(n == 1)
        })
        .await
    }
}
