//! The built `sapk-admin` binary against a temporary local store, in one test binary: the
//! commands ([`cli`]) and the counter workflow ([`counter`]).

use assert_cmd::Command;
use std::path::Path;

mod cli;
mod counter;

/// The binary on the store in `dir`, with no operator or office from the environment.
fn admin(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("sapk-admin").expect("binary");
    c.arg("--data-dir")
        .arg(dir)
        .env_remove("SAPK_OPERATOR")
        .env_remove("SAPK_OFFICE");
    c
}
