//! The SQLite store: the staff registry, and the e-mail exceptions waiting for a second
//! officer.

use super::*;
use sapk_core::ports::StaffRecords;

#[async_trait]
impl StaffRecords for SqliteStore {
    async fn put_email_exception(&self, p: &PendingException) -> Result<(), StoreError> {
        self.put_body("email_exceptions", &p.nip, p, Some(p.expires_at))
            .await
    }

    async fn get_email_exception(&self, n: &Nip) -> Result<Option<PendingException>, StoreError> {
        self.get_body("email_exceptions", n).await
    }

    async fn delete_email_exception(&self, n: &Nip) -> Result<(), StoreError> {
        self.delete_body("email_exceptions", n).await
    }

    async fn list_email_exceptions(&self) -> Result<Vec<PendingException>, StoreError> {
        let bodies: Vec<String> = self
            .run_heavy(|c| {
                let mut stmt = c
                    .prepare_cached("SELECT body FROM email_exceptions")
                    .map_err(down)?;
                let rows = stmt.query_map([], |r| r.get(0)).map_err(down)?;
                rows.collect::<Result<Vec<_>, _>>().map_err(down)
            })
            .await?;
        bodies
            .iter()
            .map(|b| {
                serde_json::from_str(b)
                    .map_err(|e| StoreError::Corrupt(format!("email_exceptions: {e}")))
            })
            .collect()
    }

    async fn get_officer(&self, principal: &str) -> Result<Option<Officer>, StoreError> {
        let key = principal.to_owned();
        self.run(move |c| {
            c.row(
                &format!("SELECT {STAFF_COLS} FROM staff WHERE principal = ?1"),
                [key],
                read_officer,
            )
            .optional()
            .map_err(unwrap_conv)
        })
        .await
    }

    async fn put_officer(&self, o: &Officer) -> Result<(), StoreError> {
        let o = o.clone();
        self.run(move |c| {
            c.exec(
                &format!("INSERT OR REPLACE INTO staff ({STAFF_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                params![
                    o.principal,
                    o.officer_id,
                    o.name,
                    o.office,
                    o.scope.as_text(),
                    o.active,
                    micros(o.updated_at),
                    o.office_name
                ],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn list_officers(&self) -> Result<Vec<Officer>, StoreError> {
        self.run_heavy(|c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {STAFF_COLS} FROM staff ORDER BY principal"
                ))
                .map_err(down)?;
            let rows = stmt.query_map([], read_officer).map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }
}

pub(super) const STAFF_COLS: &str =
    "principal, officer_id, name, office, scope, active, updated_at, office_name";

pub(super) fn read_officer(r: &rusqlite::Row<'_>) -> rusqlite::Result<Officer> {
    let scope: String = r.get(4)?;
    Ok(Officer {
        principal: r.get(0)?,
        officer_id: r.get(1)?,
        name: r.get(2)?,
        office: r.get(3)?,
        scope: StaffScope::parse(&scope)
            .ok_or_else(|| conv_err(StoreError::Corrupt(format!("scope {scope:?}"))))?,
        active: r.get(5)?,
        updated_at: time(r.get(6)?).map_err(conv_err)?,
        office_name: r.get(7)?,
    })
}
