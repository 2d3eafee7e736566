use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use sapk_core::audit_chain::{chain_of, AuditKey, AuditLink, SYSTEM_CHAIN};
use sapk_core::email::Email;
use sapk_core::nip::Nip;
use sapk_core::ports::{
    Account, AuditEvent, Expect, LoginThrottle, Officer, PendingException, ResetCodeRecord,
    SessionRecord, StaffScope, Store, StoreError, ThrottleWrite,
};
use sapk_core::EmployeeName;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};
use std::time::Duration;
use tokio::sync::Mutex;

const SCHEMA: &str = r#"
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS accounts (
    nip TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT,
    instansi TEXT,
    password_hash TEXT,
    credential_version INTEGER NOT NULL,
    password_changed_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    version INTEGER NOT NULL,
    email_verified_at INTEGER,
    second_factor TEXT
);
CREATE INDEX IF NOT EXISTS accounts_email ON accounts (email);
CREATE TABLE IF NOT EXISTS reset_codes (
    nip TEXT PRIMARY KEY,
    code_hash TEXT NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts_left INTEGER NOT NULL,
    credential_version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY,
    nip TEXT NOT NULL,
    credential_version INTEGER NOT NULL,
    issued_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS login_locks (
    key TEXT PRIMARY KEY,
    nip TEXT NOT NULL,
    failures INTEGER NOT NULL,
    locked_until INTEGER,
    since INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rev INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS staff (
    principal TEXT PRIMARY KEY,
    officer_id TEXT NOT NULL,
    name TEXT NOT NULL,
    office TEXT NOT NULL,
    scope TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_status (
    nip TEXT PRIMARY KEY,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS email_exceptions (
    nip TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mail_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER NOT NULL,
    dead INTEGER NOT NULL,
    last_error TEXT
);
CREATE INDEX IF NOT EXISTS mail_queue_due ON mail_queue (dead, next_at, id);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    office TEXT,
    nip TEXT,
    source_ip TEXT,
    action TEXT NOT NULL,
    outcome TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_nip ON audit (nip, id);
CREATE TABLE IF NOT EXISTS audit_heads (
    chain TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    mac TEXT NOT NULL,
    seal TEXT NOT NULL,
    sealer TEXT
);
"#;

/// The audit table's guards, made anew each time the store opens (so that their text is
/// always this one). In a BEFORE INSERT trigger an id SQLite is about to assign reads as -1:
/// `audit_no_replace` looks only at ids given explicitly (a row planted at id -1 must not
/// refuse every later append).
const AUDIT_TRIGGERS: &str = r#"
DROP TRIGGER IF EXISTS audit_no_update;
DROP TRIGGER IF EXISTS audit_no_delete;
DROP TRIGGER IF EXISTS audit_no_replace;
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
    WHEN NEW.id > 0 AND EXISTS (SELECT 1 FROM audit WHERE id = NEW.id)
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"#;

/// The triggers this store makes; any other trigger on the tables of the audit trail was
/// written outside the service (one could drop records silently, or refuse every append).
const OWN_TRIGGERS: [&str; 3] = ["audit_no_update", "audit_no_delete", "audit_no_replace"];

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

fn read_account(r: &rusqlite::Row<'_>) -> rusqlite::Result<Account> {
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

const ACCOUNT_COLS: &str = "nip, name, email, instansi, password_hash, credential_version, \
     password_changed_at, created_at, updated_at, version, email_verified_at, second_factor";

/// Runs `sql` with the account's twelve columns bound as `?1`..`?12` in `ACCOUNT_COLS` order,
/// `?10` being `last` (the version to insert, or the expected version of an update).
fn execute_account(c: &Connection, sql: &str, a: &Account, last: u64) -> Result<usize, StoreError> {
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

fn insert_account_row(c: &Connection, a: &Account) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO accounts ({ACCOUNT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    );
    execute_account(c, &sql, a, a.version).map(|_| ())
}

const STAFF_COLS: &str = "principal, officer_id, name, office, scope, active, updated_at";

fn read_officer(r: &rusqlite::Row<'_>) -> rusqlite::Result<Officer> {
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
    })
}

fn read_throttle(c: &Connection, key: &str) -> rusqlite::Result<Option<LoginThrottle>> {
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

fn write_throttle(c: &Connection, t: &LoginThrottle) -> Result<(), StoreError> {
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

/// Appends a record; a chained one whose place is held already is refused by the unique
/// index `audit_chain_place` (a `Conflict`). The chain's kept head moves with it, in the
/// same transaction (never back).
fn insert_audit(c: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    // A place at or before the kept head is taken, even when its record is gone (deleted
    // from the chain's end): the core then appends after the kept head.
    if let Some(l) = &e.link {
        let kept = read_kept_heads(c, Some(chain_of(e)))?.pop();
        if kept.is_some_and(|k| k.seq >= l.seq) {
            return Err(StoreError::Conflict("audit chain place (kept head)".into()));
        }
    }
    insert_audit_row(c, e)?;
    if let Some(head) = e.link.as_ref().and_then(|l| l.head(chain_of(e))) {
        c.exec(
            "INSERT INTO audit_heads (chain, seq, mac, seal, sealer) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT(chain) DO UPDATE SET seq = excluded.seq, mac = excluded.mac, \
             seal = excluded.seal, sealer = excluded.sealer WHERE excluded.seq > audit_heads.seq",
            params![
                head.chain,
                head.seq as i64,
                head.mac,
                head.seal,
                Some(head.sealer.as_str()).filter(|n| !n.is_empty())
            ],
        )
        .map_err(down)?;
    }
    Ok(())
}

fn read_kept_heads(
    c: &Connection,
    chain: Option<&str>,
) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
    let mut stmt = c
        .prepare_cached(
            "SELECT chain, seq, mac, seal, coalesce(sealer, '') FROM audit_heads \
             WHERE ?1 IS NULL OR chain = ?1",
        )
        .map_err(down)?;
    let rows = stmt
        .query_map([chain], |r| {
            Ok(sapk_core::audit_chain::ChainHead {
                chain: r.get(0)?,
                seq: r.get::<_, i64>(1)?.max(0) as u64,
                mac: r.get(2)?,
                seal: r.get(3)?,
                sealer: r.get(4)?,
            })
        })
        .map_err(down)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(down)
}

fn insert_audit_row(c: &Connection, e: &AuditEvent) -> Result<(), StoreError> {
    let link = e.link.as_ref();
    c.exec(
        "INSERT INTO audit (at, actor, office, nip, source_ip, action, outcome, details, \
         chain_seq, chain_prev, chain_mac, chain_sealer) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            micros(e.at),
            e.actor,
            e.office,
            e.nip.as_ref().map(Nip::as_str),
            e.source_ip,
            e.action,
            e.outcome,
            e.details.to_string(),
            link.map(|l| l.seq as i64),
            link.map(|l| l.prev.as_str()),
            link.map(|l| l.mac.as_str()),
            link.map(|l| l.sealer.as_str()).filter(|n| !n.is_empty()),
        ],
    )
    .map_err(down)?;
    Ok(())
}

/// The link of the newest chained record of `chain`.
fn read_audit_head(c: &Connection, chain: &str) -> Result<Option<AuditLink>, StoreError> {
    c.row(
        "SELECT chain_seq, chain_prev, chain_mac FROM audit \
         WHERE coalesce(nip, '-') = ?1 AND chain_seq IS NOT NULL \
         ORDER BY chain_seq DESC LIMIT 1",
        [chain],
        |r| {
            let seq: i64 = r.get(0)?;
            Ok((seq, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
        },
    )
    .optional()
    .map_err(down)?
    .map(|(seq, prev, mac)| {
        Ok(AuditLink {
            seq: u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("chain_seq {seq}")))?,
            prev,
            mac,
            head_seal: String::new(),
            sealer: String::new(),
        })
    })
    .transpose()
}

const AUDIT_COLUMNS: &str = "at, actor, office, nip, source_ip, action, outcome, details, \
     chain_seq, chain_prev, chain_mac, chain_sealer";

/// A row selected with [`AUDIT_COLUMNS`].
fn audit_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEvent> {
    let n: Option<String> = r.get(3)?;
    let details: String = r.get(7)?;
    let seq: Option<i64> = r.get(8)?;
    let link = match seq {
        Some(seq) => Some(AuditLink {
            seq: u64::try_from(seq)
                .map_err(|_| conv_err(StoreError::Corrupt("chain_seq".into())))?,
            prev: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
            mac: r.get::<_, Option<String>>(10)?.unwrap_or_default(),
            head_seal: String::new(),
            sealer: r.get::<_, Option<String>>(11)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(AuditEvent {
        at: time(r.get(0)?).map_err(conv_err)?,
        actor: r.get(1)?,
        office: r.get(2)?,
        nip: n.as_deref().map(nip).transpose().map_err(conv_err)?,
        source_ip: r.get(4)?,
        action: r.get(5)?,
        outcome: r.get(6)?,
        details: sapk_core::audit_chain::details_as_stored(&details),
        link,
    })
}

fn write_account(tx: &Connection, a: &Account, expected: u64) -> Result<(), StoreError> {
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

/// Adds a column to `table` unless a store made by an earlier version has it already.
fn add_column(conn: &Connection, table: &str, name: &str, kind: &str) -> Result<(), StoreError> {
    let has: bool = conn
        .row(
            "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
            [table, name],
            |r| r.get(0),
        )
        .map_err(down)?;
    if !has {
        conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {name} {kind}"))
            .map_err(down)?;
    }
    Ok(())
}

/// Brings a store made by an earlier version up to the current schema.
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    // REPLACE deletes the old row; with recursive triggers that delete fires
    // audit_no_delete too (belt and braces beside audit_no_replace).
    conn.execute_batch("PRAGMA recursive_triggers = ON")
        .map_err(down)?;
    add_column(conn, "accounts", "email_verified_at", "INTEGER")?;
    add_column(conn, "accounts", "second_factor", "TEXT")?;
    // The audit chain (sapk_core::audit_chain): a record's place, its predecessor's MAC and
    // its own; one record per place of a chain (a NIP, or '-' for records without one).
    add_column(conn, "audit", "chain_seq", "INTEGER")?;
    add_column(conn, "audit", "chain_prev", "TEXT")?;
    add_column(conn, "audit", "chain_mac", "TEXT")?;
    // Who sealed a record and a head (empty: the service; else a writer's own key).
    add_column(conn, "audit", "chain_sealer", "TEXT")?;
    add_column(conn, "audit_heads", "sealer", "TEXT")?;
    conn.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS audit_chain_place \
         ON audit (coalesce(nip, '-'), chain_seq) WHERE chain_seq IS NOT NULL",
    )
    .map_err(down)?;
    // Replaced by login_locks (per NIP and per NIP and address); its rows were ephemeral.
    conn.execute_batch("DROP TABLE IF EXISTS login_throttle")
        .map_err(down)?;
    refuse_foreign_triggers(conn)?;
    conn.execute_batch(AUDIT_TRIGGERS).map_err(down)?;
    Ok(())
}

/// Refuses to open a store whose audit tables carry a trigger this store did not make.
fn refuse_foreign_triggers(conn: &Connection) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' \
             AND tbl_name IN ('audit', 'audit_heads')",
        )
        .map_err(down)?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(down)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(down)?;
    let foreign: Vec<&String> = names
        .iter()
        .filter(|n| !OWN_TRIGGERS.contains(&n.as_str()))
        .collect();
    if foreign.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Corrupt(format!(
            "the audit trail carries triggers this store did not make ({}): written outside the \
             service; the store is not opened",
            foreign
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
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

    /// Deletes expired codes, sessions, throttles and rate windows (table `counters`; the local stand-in for
    /// DynamoDB's TTL). Returns how many rows went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.run_heavy(move |c| {
            let t = micros(now);
            let mut n = 0;
            for table in ["reset_codes", "sessions", "login_locks", "counters"] {
                n += c
                    .exec(&format!("DELETE FROM {table} WHERE expires_at <= ?1"), [t])
                    .map_err(down)?;
            }
            Ok(n)
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
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

    async fn put_mail_status(
        &self,
        n: &Nip,
        status: &sapk_core::mail_status::MailStatus,
    ) -> Result<(), StoreError> {
        self.put_body("mail_status", n, status, None).await
    }

    async fn get_mail_status(
        &self,
        n: &Nip,
    ) -> Result<Option<sapk_core::mail_status::MailStatus>, StoreError> {
        self.get_body("mail_status", n).await
    }

    async fn delete_mail_status(&self, n: &Nip) -> Result<(), StoreError> {
        self.delete_body("mail_status", n).await
    }

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
                &format!("INSERT OR REPLACE INTO staff ({STAFF_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
                params![
                    o.principal,
                    o.officer_id,
                    o.name,
                    o.office,
                    o.scope.as_text(),
                    o.active,
                    micros(o.updated_at)
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

    async fn append_audit(&self, e: &AuditEvent) -> Result<(), StoreError> {
        let e = e.clone();
        self.run(move |c| insert_audit(c, &e)).await
    }

    async fn list_audit(&self, n: &Nip, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let key = n.as_str().to_owned();
        self.run_heavy(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit WHERE nip = ?1 ORDER BY id DESC LIMIT ?2"
                ))
                .map_err(down)?;
            let rows = stmt
                .query_map(params![key, limit as i64], audit_row)
                .map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }

    async fn audit_head(&self, chain: &str) -> Result<Option<AuditLink>, StoreError> {
        let key = chain.to_owned();
        self.run(move |c| read_audit_head(c, &key)).await
    }

    /// Reads the head and appends in one operation: writes here are serial, so the place
    /// is never taken in between.
    async fn append_audit_sealed(
        &self,
        e: &AuditEvent,
        key: &AuditKey,
    ) -> Result<bool, StoreError> {
        let (e, key) = (e.clone(), key.clone());
        self.run(move |c| {
            // After the kept head when it is past the records (the newest were deleted): the
            // gap stays visible.
            let rows = read_audit_head(c, chain_of(&e))?;
            let kept = read_kept_heads(c, Some(chain_of(&e)))?.pop();
            let head = match kept {
                Some(k) if rows.as_ref().is_none_or(|r| k.seq > r.seq) => Some(AuditLink {
                    seq: k.seq,
                    prev: String::new(),
                    mac: k.mac,
                    head_seal: String::new(),
                    sealer: String::new(),
                }),
                _ => rows,
            };
            let mut sealed = e.clone();
            sealed.link = Some(key.seal(&e, head.as_ref()));
            insert_audit(c, &sealed)?;
            Ok(true)
        })
        .await
    }

    async fn kept_audit_head(
        &self,
        chain: &str,
    ) -> Result<Option<sapk_core::audit_chain::ChainHead>, StoreError> {
        let chain = chain.to_owned();
        self.run(move |c| Ok(read_kept_heads(c, Some(&chain))?.pop()))
            .await
    }

    async fn kept_audit_heads(&self) -> Result<Vec<sapk_core::audit_chain::ChainHead>, StoreError> {
        self.run_heavy(move |c| read_kept_heads(c, None)).await
    }

    /// Every record of the chain in insertion order (the row id): a record written after
    /// another stays after it, sealed or not.
    async fn audit_chain(&self, chain: &str) -> Result<Vec<AuditEvent>, StoreError> {
        // By the NIP index (audit_by_nip); the records without a NIP are the chain `-`.
        let key = (chain != SYSTEM_CHAIN).then(|| chain.to_owned());
        self.run_heavy(move |c| {
            let mut stmt = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit WHERE nip IS ?1 ORDER BY id"
                ))
                .map_err(down)?;
            let rows = stmt.query_map([key], audit_row).map_err(down)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(unwrap_conv)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
