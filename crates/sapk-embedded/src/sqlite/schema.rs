//! The SQLite store: its schema, the migrations of older files, and the append-only audit
//! table's triggers.

use super::*;

pub(super) const SCHEMA: &str = r#"
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
-- One address, one account: the claim key of an address (sapk_core::Email::claim_key) and the
-- NIP that holds it, written in the transaction that sets or changes the account's address.
CREATE TABLE IF NOT EXISTS email_claims (
    claim TEXT PRIMARY KEY,
    nip   TEXT NOT NULL
) WITHOUT ROWID;

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
CREATE TABLE IF NOT EXISTS passkeys (
    id TEXT PRIMARY KEY,
    nip TEXT NOT NULL,
    user_handle TEXT NOT NULL,
    name TEXT NOT NULL,
    credential TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER
);
CREATE INDEX IF NOT EXISTS passkeys_by_nip ON passkeys (nip, created_at);
CREATE TABLE IF NOT EXISTS ceremonies (
    key TEXT PRIMARY KEY,
    nip TEXT,
    state TEXT NOT NULL,
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
pub(super) const AUDIT_TRIGGERS: &str = r#"
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
pub(super) const OWN_TRIGGERS: [&str; 3] =
    ["audit_no_update", "audit_no_delete", "audit_no_replace"];

/// Adds a column to `table` unless a store made by an earlier version has it already.
pub(super) fn add_column(
    conn: &Connection,
    table: &str,
    name: &str,
    kind: &str,
) -> Result<(), StoreError> {
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
pub(super) fn migrate(conn: &Connection) -> Result<(), StoreError> {
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
    // The office's display name (named in notices and views).
    add_column(conn, "staff", "office_name", "TEXT")?;
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
pub(super) fn refuse_foreign_triggers(conn: &Connection) -> Result<(), StoreError> {
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
