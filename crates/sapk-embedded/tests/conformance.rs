//! The shared store conformance suite against SQLite, in memory and on disk.

use sapk_embedded::SqliteStore;
use sapk_testkit::DynStore;
use std::sync::Arc;

mod in_memory {
    use super::*;
    sapk_testkit::store_conformance_tests!(async {
        Arc::new(SqliteStore::in_memory().expect("in-memory sqlite")) as DynStore
    });
}

mod on_disk {
    use super::*;
    sapk_testkit::store_conformance_tests!(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(&dir.path().join("sapk.db")).expect("sqlite file");
        // Keep the directory for the test's lifetime.
        std::mem::forget(dir);
        Arc::new(store) as DynStore
    });
}
