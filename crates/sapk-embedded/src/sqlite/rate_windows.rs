//! The SQLite store: rate windows: hit counts under a key, gone with their window.

use super::*;
use sapk_core::ports::RateWindows;

#[async_trait]
impl RateWindows for SqliteStore {
    async fn count_hit(&self, key: &str, expires_at: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut counts = self
            .count_hits(&[(key.to_owned(), expires_at)])
            .await?
            .into_iter();
        counts
            .next()
            .ok_or_else(|| StoreError::Corrupt("no count".into()))
    }

    /// The rate windows (table `counters`) in one transaction (one commit for a request's three).
    async fn count_hits(
        &self,
        windows: &[(String, DateTime<Utc>)],
    ) -> Result<Vec<u64>, StoreError> {
        let windows = windows.to_vec();
        self.run(move |c| {
            let tx = c.savepoint().map_err(down)?;
            let counts = windows
                .iter()
                .map(|(key, expires_at)| {
                    tx.row(
                        "INSERT INTO counters (key, count, expires_at) VALUES (?1, 1, ?2) \
                         ON CONFLICT (key) DO UPDATE SET count = count + 1 RETURNING count",
                        params![key, micros(*expires_at)],
                        |r| r.get::<_, i64>(0),
                    )
                    .map(version_u64)
                    .map_err(down)
                })
                .collect::<Result<Vec<_>, _>>()?;
            tx.commit().map_err(down)?;
            Ok(counts)
        })
        .await
    }
}
