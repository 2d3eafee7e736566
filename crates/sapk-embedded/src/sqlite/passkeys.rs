//! The SQLite store: passkeys and the WebAuthn ceremonies waiting for an answer.

use super::*;
use sapk_core::ports::Passkeys;

const PASSKEY_COLS: &str = "id, nip, user_handle, name, credential, created_at, last_used_at";

fn read_passkey(r: &rusqlite::Row<'_>) -> rusqlite::Result<PasskeyRecord> {
    Ok(PasskeyRecord {
        id: r.get(0)?,
        nip: nip(&r.get::<_, String>(1)?).map_err(conv_err)?,
        user_handle: r.get(2)?,
        name: r.get(3)?,
        credential: r.get(4)?,
        created_at: time(r.get(5)?).map_err(conv_err)?,
        last_used_at: r
            .get::<_, Option<i64>>(6)?
            .map(time)
            .transpose()
            .map_err(conv_err)?,
    })
}

#[async_trait]
impl Passkeys for SqliteStore {
    async fn insert_passkey(&self, p: &PasskeyRecord) -> Result<(), StoreError> {
        let p = p.clone();
        self.run(move |c| {
            let n = c
                .exec(
                    &format!(
                        "INSERT OR IGNORE INTO passkeys ({PASSKEY_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
                    ),
                    params![
                        p.id,
                        p.nip.as_str(),
                        p.user_handle,
                        p.name,
                        p.credential,
                        micros(p.created_at),
                        p.last_used_at.map(micros)
                    ],
                )
                .map_err(down)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict(format!("passkey {} exists", p.id)))
            }
        })
        .await
    }

    async fn get_passkey(&self, id: &str) -> Result<Option<PasskeyRecord>, StoreError> {
        let key = id.to_owned();
        self.run(move |c| {
            c.row(
                &format!("SELECT {PASSKEY_COLS} FROM passkeys WHERE id = ?1"),
                [key],
                read_passkey,
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }

    async fn list_passkeys(&self, n: &Nip) -> Result<Vec<PasskeyRecord>, StoreError> {
        let key = n.as_str().to_owned();
        self.run(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {PASSKEY_COLS} FROM passkeys WHERE nip = ?1 ORDER BY created_at, id"
                ))
                .map_err(down)?;
            let rows = stmt.query_map([key], read_passkey).map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }

    async fn update_passkey(
        &self,
        p: &PasskeyRecord,
        expected_credential: &str,
    ) -> Result<(), StoreError> {
        let (p, expected) = (p.clone(), expected_credential.to_owned());
        self.run(move |c| {
            let n = c
                .exec(
                    "UPDATE passkeys SET name = ?3, credential = ?4, last_used_at = ?5 \
                     WHERE id = ?1 AND nip = ?2 AND credential = ?6",
                    params![
                        p.id,
                        p.nip.as_str(),
                        p.name,
                        p.credential,
                        p.last_used_at.map(micros),
                        expected
                    ],
                )
                .map_err(down)?;
            if n == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict(format!("passkey {} changed", p.id)))
            }
        })
        .await
    }

    async fn delete_passkey(&self, n: &Nip, id: &str) -> Result<bool, StoreError> {
        let (n, id) = (n.as_str().to_owned(), id.to_owned());
        self.run(move |c| {
            let gone = c
                .exec("DELETE FROM passkeys WHERE id = ?1 AND nip = ?2", [id, n])
                .map_err(down)?;
            Ok(gone == 1)
        })
        .await
    }

    async fn put_ceremony(&self, cer: &CeremonyRecord) -> Result<(), StoreError> {
        let cer = cer.clone();
        self.run(move |c| {
            c.exec(
                "INSERT OR REPLACE INTO ceremonies (key, nip, state, expires_at) VALUES (?1, ?2, ?3, ?4)",
                params![
                    cer.key,
                    cer.nip.as_ref().map(Nip::as_str),
                    cer.state,
                    micros(cer.expires_at)
                ],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn take_ceremony(&self, key: &str) -> Result<Option<CeremonyRecord>, StoreError> {
        let key = key.to_owned();
        self.run(move |c| {
            c.row(
                "DELETE FROM ceremonies WHERE key = ?1 RETURNING key, nip, state, expires_at",
                [key],
                |r| {
                    Ok(CeremonyRecord {
                        key: r.get(0)?,
                        nip: r
                            .get::<_, Option<String>>(1)?
                            .map(|n| nip(&n))
                            .transpose()
                            .map_err(conv_err)?,
                        state: r.get(2)?,
                        expires_at: time(r.get(3)?).map_err(conv_err)?,
                    })
                },
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }
}
