//! The in-memory store passes the same conformance suite as SQLite and DynamoDB.

use sapk_store_conformance::memory::MemoryStore;
use sapk_store_conformance::DynStore;
use std::sync::Arc;

sapk_store_conformance::store_conformance_tests!(async {
    Arc::new(MemoryStore::new()) as DynStore
});
