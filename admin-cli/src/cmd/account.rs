//! `account unlock NIP`: clears the login lock-out.

use crate::backend::open;
use crate::context::lang;
use crate::output::{print_json, refused};
use crate::Global;
use clap::Subcommand;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Clear the login lock-out and failure count.
    Unlock {
        /// The employee's NIP.
        nip: String,
    },
}

pub async fn run(g: &Global, cmd: &AccountCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AccountCmd::Unlock { nip } => unlock(g, nip).await,
    }
}

async fn unlock(g: &Global, nip: &str) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match counter.unlock(nip, l).await {
        Ok(was_locked) => {
            if g.json {
                print_json(&json!({ "ok": true, "was_locked": was_locked }));
            } else if was_locked {
                say!(
                    "{}",
                    l.pick("Kunci login dibuka.", "Login lock-out cleared.")
                );
            } else {
                say!(
                    "{}",
                    l.pick(
                        "Akun tidak terkunci; hitungan gagal login dihapus.",
                        "The account was not locked; the failure count was cleared."
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}
