use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sapk_core::audit_chain::{chain_of, AuditKey, AuditLink, SYSTEM_CHAIN};
use sapk_core::email::Email;
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, CeremonyRecord, Expect, LoginThrottle, Officer, PasskeyRecord,
    PendingException, ResetCodeRecord, SessionRecord, StaffScope, StoreError, ThrottleWrite,
};
use sapk_core::EmployeeName;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::Mutex;

mod accounts;
mod audit;
mod codes;
mod lockouts;
mod mail;
mod passkeys;
mod rate_windows;
mod schema;
mod sessions;
mod staff;
use accounts::write_account;
use audit::insert_audit;
use lockouts::write_throttle;
use schema::{migrate, SCHEMA};

/// SQLite store (one file, WAL mode). Times are stored as microseconds since the epoch.
/// Like DynamoDB's TTL, expiry is not enforced here: callers compare `expires_at`.
///
/// One connection serves every request; a file store's WAL is copied into the database by a
/// checkpointer thread on a connection of its own, so the fsyncs of a checkpoint never
/// happen inside a request's transaction.
///
/// Short operations are committed in groups: each waits in a queue, and whoever holds the
/// connection next runs everything queued in one transaction (each operation in a
/// savepoint of its own, so one that fails leaves no trace and takes nothing else down)
/// and answers each after the commit. Under load one commit serves several requests.
#[derive(Clone)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    queued: Arc<std::sync::Mutex<Vec<Job>>>,
    /// Dropped with the last clone of the store, which ends the checkpointer.
    _checkpointer: Option<Arc<mpsc::SyncSender<()>>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteStore")
    }
}

/// `execute` through the connection's statement cache: each statement is compiled once per
/// connection, not once per call.
trait Exec {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize>;
    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>;
}

impl Exec for Connection {
    fn exec<P: rusqlite::Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn row<T, P, F>(&self, sql: &str, params: P, f: F) -> rusqlite::Result<T>
    where
        P: rusqlite::Params,
        F: FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    {
        self.prepare_cached(sql)?.query_row(params, f)
    }
}

fn down(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::SqliteFailure(ref f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Conflict(e.to_string())
        }
        other => StoreError::Unavailable(other.to_string()),
    }
}

fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn time(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| StoreError::Corrupt(format!("time {us}")))
}

fn nip(s: &str) -> Result<Nip, StoreError> {
    Nip::from_stored(s).map_err(|e| StoreError::Corrupt(format!("nip {s:?}: {e}")))
}

fn version_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn conv_err(e: StoreError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn unwrap_conv(e: rusqlite::Error) -> StoreError {
    match e {
        rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<StoreError>() {
            Ok(se) => *se,
            Err(other) => StoreError::Corrupt(other.to_string()),
        },
        other => down(other),
    }
}

/// Called with the group's commit (`Err` with why it failed) to answer a queued operation.
type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// A queued operation: runs it (`true` when it is alone in its group, so no savepoint is
/// needed) and returns whether it succeeded and how to answer it once the group commits.
type Job = Box<dyn FnOnce(&mut Connection, bool) -> (bool, Finish) + Send>;

/// `f` in a savepoint: rolled back alone if it fails.
fn in_savepoint<T>(
    c: &mut Connection,
    f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    c.exec("SAVEPOINT op", []).map_err(down)?;
    let result = f(c);
    let end = match result {
        Ok(_) => c.exec("RELEASE op", []),
        Err(_) => c
            .exec("ROLLBACK TO op", [])
            .and_then(|_| c.exec("RELEASE op", [])),
    };
    match end {
        Ok(_) => result,
        Err(e) => Err(down(e)),
    }
}

/// Runs `group` in one transaction and answers every operation after the commit. A group
/// of one is the operation's own transaction (rolled back if it fails); in a larger group
/// each operation has its savepoint and the transaction commits what succeeded.
fn run_group(c: &mut Connection, group: Vec<Job>) {
    if group.is_empty() {
        return;
    }
    // A transaction left open (an operation that panicked) would refuse every BEGIN.
    if !c.is_autocommit() {
        let _ = c.execute_batch("ROLLBACK");
    }
    if let Err(e) = c.exec("BEGIN IMMEDIATE", []) {
        // Dropped unrun: each caller is answered that its operation was not run.
        tracing::error!(error = %e, operations = group.len(), "store: no transaction");
        return;
    }
    let alone = group.len() == 1;
    let mut finishes = Vec::with_capacity(group.len());
    let mut any_ok = false;
    for job in group {
        let (ok, finish) = job(c, alone);
        any_ok |= ok;
        finishes.push(finish);
    }
    let end = if alone && !any_ok {
        c.exec("ROLLBACK", [])
    } else {
        c.exec("COMMIT", [])
    };
    let commit = match end {
        Ok(_) => Ok(()),
        Err(e) => {
            // A failed COMMIT may leave the transaction open.
            if !c.is_autocommit() {
                let _ = c.execute_batch("ROLLBACK");
            }
            Err(format!("store: commit failed: {e}"))
        }
    };
    for finish in finishes {
        finish(commit.clone());
    }
}

/// Starts the thread that checkpoints the database at `path` every [`CHECKPOINT_EVERY`]
/// until the returned sender is dropped. It copies the WAL into the database on a
/// connection of its own while requests go on, then takes the request connection for the
/// few frames written meanwhile: a checkpoint that completes lets the next write start the
/// WAL over, so the file stays small (a checkpoint that never catches up with the writers
/// would let it grow without end).
fn spawn_checkpointer(
    path: PathBuf,
    requests: std::sync::Weak<Mutex<Connection>>,
) -> Result<mpsc::SyncSender<()>, StoreError> {
    let conn = Connection::open(&path).map_err(down)?;
    conn.busy_timeout(Duration::from_secs(5)).map_err(down)?;
    let (stop, stopped) = mpsc::sync_channel::<()>(0);
    let checkpoint = |c: &Connection| {
        if let Err(e) = c.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::warn!(error = %e, "WAL checkpoint failed");
        }
    };
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_EVERY)
            {
                checkpoint(&conn);
                let Some(requests) = requests.upgrade() else {
                    break;
                };
                checkpoint(&requests.blocking_lock());
            }
        })
        .map_err(|e| StoreError::Unavailable(format!("checkpointer: {e}")))?;
    Ok(stop)
}

/// How often the checkpointer copies the WAL into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(down)?;
        let mut store = Self::init(conn)?;
        // The request connection never checkpoints (a checkpoint syncs the WAL and the
        // database file); the checkpointer does, off every request's path.
        store
            .conn
            .try_lock()
            .map_err(|e| StoreError::Unavailable(e.to_string()))?
            .execute_batch("PRAGMA wal_autocheckpoint = 0")
            .map_err(down)?;
        store._checkpointer = Some(Arc::new(spawn_checkpointer(
            path.to_owned(),
            Arc::downgrade(&store.conn),
        )?));
        Ok(store)
    }

    /// A private in-memory database (tests).
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        Self::init(Connection::open_in_memory().map_err(down)?)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(Duration::from_secs(5)).map_err(down)?;
        conn.set_prepared_statement_cache_capacity(128);
        conn.execute_batch(SCHEMA).map_err(down)?;
        migrate(&conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            queued: Arc::default(),
            _checkpointer: None,
        })
    }

    /// Runs a short statement or group of statements (one request's rows; no fsync with
    /// `synchronous=NORMAL` and the checkpoints elsewhere) atomically, committed with
    /// whatever else is queued at the time, on the request's own thread: a request waiting
    /// for the connection yields to the others instead of blocking a thread.
    async fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (answer, mut answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |c: &mut Connection, alone: bool| {
            let result = if alone { f(c) } else { in_savepoint(c, f) };
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |commit: Result<(), String>| {
                let _ = answer.send(match commit {
                    Ok(()) => result,
                    Err(e) => Err(StoreError::Unavailable(e)),
                });
            });
            (ok, finish)
        });
        self.queued
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(job);
        let not_run = || StoreError::Unavailable("store: the operation was not run".into());
        let mut conn = self.conn.lock().await;
        // An earlier holder of the connection may have run this job with its group.
        match answered.try_recv() {
            Ok(result) => return result,
            Err(tokio::sync::oneshot::error::TryRecvError::Closed) => return Err(not_run()),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty) => {}
        }
        let group = std::mem::take(&mut *self.queued.lock().unwrap_or_else(|p| p.into_inner()));
        run_group(&mut conn, group);
        drop(conn);
        answered.try_recv().unwrap_or_else(|_| Err(not_run()))
    }

    /// Runs `f` on the blocking pool: for what reads or writes many rows (batches, lists,
    /// purges, a whole audit chain).
    async fn run_heavy<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let mut guard = self.conn.clone().lock_owned().await;
        tokio::task::spawn_blocking(move || f(&mut guard))
            .await
            .map_err(|e| StoreError::Unavailable(format!("store worker: {e}")))?
    }

    /// A record kept as JSON by NIP (`mail_status`, `email_exceptions`), replacing the NIP's
    /// earlier one; `expires_at` for the tables that have one.
    async fn put_body<T: serde::Serialize>(
        &self,
        table: &'static str,
        n: &Nip,
        value: &T,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let key = n.as_str().to_owned();
        self.run(move |c| {
            match expires_at {
                Some(t) => c.exec(
                    &format!("INSERT OR REPLACE INTO {table} (nip, body, expires_at) VALUES (?1, ?2, ?3)"),
                    params![key, body, micros(t)],
                ),
                None => c.exec(
                    &format!("INSERT OR REPLACE INTO {table} (nip, body) VALUES (?1, ?2)"),
                    params![key, body],
                ),
            }
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    async fn get_body<T: serde::de::DeserializeOwned>(
        &self,
        table: &'static str,
        n: &Nip,
    ) -> Result<Option<T>, StoreError> {
        let key = n.as_str().to_owned();
        let body: Option<String> = self
            .run(move |c| {
                c.row(
                    &format!("SELECT body FROM {table} WHERE nip = ?1"),
                    [key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(down)
            })
            .await?;
        body.map(|b| {
            serde_json::from_str(&b).map_err(|e| StoreError::Corrupt(format!("{table}: {e}")))
        })
        .transpose()
    }

    async fn delete_body(&self, table: &'static str, n: &Nip) -> Result<(), StoreError> {
        let key = n.as_str().to_owned();
        self.run(move |c| {
            c.exec(&format!("DELETE FROM {table} WHERE nip = ?1"), [key])
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    /// Queues an e-mail (JSON), due at once. Returns its id.
    pub async fn enqueue_mail(&self, body: String) -> Result<i64, StoreError> {
        self.run(move |c| {
            c.exec(
                "INSERT INTO mail_queue (body, attempts, next_at, dead) VALUES (?1, 0, 0, 0)",
                [body],
            )
            .map_err(down)?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    /// Up to `limit` live queued e-mails due at `now`, oldest first: `(id, body, attempts)`.
    pub async fn due_mail(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(i64, String, u32)>, StoreError> {
        self.run_heavy(move |c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, body, attempts FROM mail_queue \
                     WHERE dead = 0 AND next_at <= ?1 ORDER BY id LIMIT ?2",
                )
                .map_err(down)?;
            let rows = stmt
                .query_map(params![micros(now), limit as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?))
                })
                .map_err(down)?;
            rows.map(|r| {
                r.map(|(id, body, n)| (id, body, u32::try_from(n).unwrap_or(u32::MAX)))
                    .map_err(down)
            })
            .collect()
        })
        .await
    }

    /// A queued e-mail is done with (sent or dropped).
    pub async fn finish_mail(&self, id: i64) -> Result<(), StoreError> {
        self.run(move |c| {
            c.exec("DELETE FROM mail_queue WHERE id = ?1", [id])
                .map_err(down)?;
            Ok(())
        })
        .await
    }

    /// A try failed: try again at `next_at`, or keep it aside as dead (the local dead-letter
    /// queue) when `dead`.
    pub async fn retry_mail(
        &self,
        id: i64,
        attempts: u32,
        next_at: DateTime<Utc>,
        dead: bool,
        error: String,
    ) -> Result<(), StoreError> {
        self.run(move |c| {
            c.exec(
                "UPDATE mail_queue SET attempts = ?2, next_at = ?3, dead = ?4, last_error = ?5 \
                 WHERE id = ?1",
                params![id, attempts, micros(next_at), dead, error],
            )
            .map_err(down)?;
            Ok(())
        })
        .await
    }

    /// How many queued e-mails wait, and how many are dead.
    pub async fn mail_queue_depth(&self) -> Result<(u64, u64), StoreError> {
        self.run(|c| {
            c.row(
                "SELECT COALESCE(SUM(dead = 0), 0), COALESCE(SUM(dead = 1), 0) FROM mail_queue",
                [],
                |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
            )
            .map(|(a, b)| (version_u64(a), version_u64(b)))
            .map_err(down)
        })
        .await
    }

    /// Deletes expired codes, sessions, throttles, rate windows (table `counters`) and WebAuthn
    /// ceremonies: the local stand-in for DynamoDB's TTL. Returns how many rows went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.run_heavy(move |c| {
            let t = micros(now);
            let mut n = 0;
            for table in [
                "reset_codes",
                "sessions",
                "login_locks",
                "counters",
                "ceremonies",
            ] {
                n += c
                    .exec(&format!("DELETE FROM {table} WHERE expires_at <= ?1"), [t])
                    .map_err(down)?;
            }
            Ok(n)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sapk_core::ports::stores::*;

    #[test]
    fn a_store_on_disk_is_wal_with_commits_that_do_not_wait_for_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("sapk.db")).unwrap();
        let c = store.conn.blocking_lock();
        let mode: String = c
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = c.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        // NORMAL (1): in WAL mode a commit is not synced; the WAL is synced at checkpoints.
        assert_eq!((mode.as_str(), sync), ("wal", 1));
        // ... which the request connection leaves to the checkpointer.
        let auto: i64 = c
            .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
            .unwrap();
        assert_eq!(auto, 0);
    }

    /// The WAL header's checkpoint sequence number (bytes 12..16), bumped each time the WAL
    /// starts over.
    fn wal_generation(wal: &Path) -> Option<u32> {
        let bytes = std::fs::read(wal).ok()?;
        Some(u32::from_be_bytes(bytes.get(12..16)?.try_into().ok()?))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_starts_the_wal_over_while_writes_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("sapk.db");
        let wal = dir.path().join("sapk.db-wal");
        let store = SqliteStore::open(&db).unwrap();
        let exp = Utc::now();
        store.count_hit("warm", exp).await.unwrap();
        let first = wal_generation(&wal).expect("a WAL after the first write");
        // Eight writers without pause, as under load: only the checkpointer can complete a
        // checkpoint (the request connection's automatic checkpoints are off), and only a
        // completed one lets the WAL start over.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writers: Vec<_> = (0..8u32)
            .map(|w| {
                let (store, stop) = (store.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut n = 0u32;
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) && n < 1_000_000 {
                        let keys: Vec<_> = (0..3)
                            .map(|i| (format!("k{w}:{i}:{}", n % 4096), exp))
                            .collect();
                        store.count_hits(&keys).await.unwrap();
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let started = std::time::Instant::now();
        while wal_generation(&wal) == Some(first) && started.elapsed() < Duration::from_secs(20) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut writes = 0;
        for w in writers {
            writes += w.await.unwrap();
        }
        assert_ne!(
            wal_generation(&wal),
            Some(first),
            "the WAL never started over ({writes} writes)"
        );
        let size = std::fs::metadata(&wal).unwrap().len();
        assert!(size < 64 << 20, "WAL of {size} bytes");
        // Everything written is still there.
        assert_eq!(
            store.count_hit("warm", exp).await.unwrap(),
            2,
            "the first rate window survived the checkpoints"
        );
    }

    #[test]
    fn audit_rows_cannot_be_rewritten_by_any_statement() {
        let store = SqliteStore::in_memory().unwrap();
        let c = store.conn.blocking_lock();
        c.execute(
            "INSERT INTO audit (at, actor, action, outcome, details) VALUES (1, 'a', 'x', 'ok', '{}')",
            [],
        )
        .unwrap();
        for sql in [
            "REPLACE INTO audit (id, at, actor, action, outcome, details) VALUES (1, 2, 'b', 'x', 'forged', '{}')",
            "INSERT OR REPLACE INTO audit (id, at, actor, action, outcome, details) VALUES (1, 2, 'b', 'x', 'forged', '{}')",
            "UPDATE audit SET outcome = 'forged'",
            "DELETE FROM audit",
        ] {
            assert!(c.execute(sql, []).is_err(), "{sql} must be refused");
        }
        let outcome: String = c
            .query_row("SELECT outcome FROM audit WHERE id = 1", [], |r| r.get(0))
            .unwrap();
        assert_eq!(outcome, "ok");
    }
}
