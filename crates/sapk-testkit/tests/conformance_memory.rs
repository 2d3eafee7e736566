//! The in-memory store passes the same conformance suite as SQLite and DynamoDB.

use sapk_testkit::memory::MemoryStore;
use sapk_testkit::DynStore;
use std::sync::Arc;

sapk_testkit::store_conformance_tests!(async { Arc::new(MemoryStore::new()) as DynStore });
