//! The tests' configuration.

use sapk_core::password::HashParams;
use sapk_core::Config;

/// argon2id at 1 MiB and one pass: tests measure behaviour, not cost.
pub const TEST_HASH: HashParams = HashParams {
    m_cost_kib: 1024,
    t_cost: 1,
    p_cost: 1,
};

/// The least argon2id takes (8 KiB): for what measures everything but the hash (the route
/// bench, `sapk-load --cheap-hash`).
pub const NO_COST_HASH: HashParams = HashParams {
    m_cost_kib: 8,
    t_cost: 1,
    p_cost: 1,
};

/// The defaults with [`TEST_HASH`], no forgot padding, and no cooldown between codes (tests
/// ask for several in a row; the cooldown has its own test).
pub fn test_config() -> Config {
    Config {
        hash: TEST_HASH,
        forgot_min_ms: 0,
        forgot_cooldown_secs: 0,
        ..Config::default()
    }
}
