//! The built `sapk-admin` binary against a temporary local store, in one test binary: the
//! commands ([`cli`]) and the counter workflow ([`counter`]).

#![allow(clippy::too_many_lines)]

use assert_cmd::Command;
use std::path::Path;

mod cli;
mod counter;
mod one_address;

/// The binary on the store in `dir`, with no operator or office from the environment.
fn admin(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("sapk-admin").expect("binary");
    c.arg("--data-dir")
        .arg(dir)
        .env_remove("SAPK_OPERATOR")
        .env_remove("SAPK_OFFICE");
    c
}

/// What `c` printed on stdout as JSON, once it exited with `code`.
fn json_out(c: &mut Command, code: i32) -> serde_json::Value {
    let out = c.assert().code(code).get_output().stdout.clone();
    serde_json::from_slice(&out)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)))
}

/// What `c` printed on stdout, once it exited with `code`.
fn text_out(c: &mut Command, code: i32) -> String {
    let out = c.assert().code(code).get_output().stdout.clone();
    String::from_utf8(out).expect("UTF-8 output")
}
