//! `session revoke NIP`: ends every login session of an employee.

use crate::backend::open;
use crate::context::lang;
use crate::output::{print_json, refuse, refused};
use crate::prompt::{Prompt, StdPrompt};
use crate::Global;
use clap::Subcommand;
use sapk_core::Lang;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum SessionCmd {
    /// End every login session (and any active reset code) of an employee.
    Revoke {
        /// The employee's NIP.
        nip: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(g: &Global, cmd: &SessionCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        SessionCmd::Revoke { nip, yes } => revoke(g, nip, *yes, &mut StdPrompt).await,
    }
}

pub async fn revoke(
    g: &Global,
    nip: &str,
    yes: bool,
    prompt: &mut dyn Prompt,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !yes {
        // The question names the employee; an unknown NIP is refused before it.
        let o = match counter.overview(nip, 1, None, l).await {
            Ok(o) => o,
            Err(e) => return refused(g, e),
        };
        let who = crate::output::who(&o.name, &o.nip);
        let q = match l {
            Lang::Id => format!("Akhiri semua sesi login (dan kode reset aktif) {who}?"),
            Lang::En => format!("End every login session (and any active reset code) of {who}?"),
        };
        if !prompt.confirm(&q, l) {
            return refuse(
                g,
                "cancelled",
                l.pick(
                    "dibatalkan; tidak ada yang diubah",
                    "cancelled; nothing was changed",
                ),
            );
        }
    }
    match counter.revoke(nip, l).await {
        Ok(()) => {
            if g.json {
                print_json(&json!({ "ok": true }));
            } else {
                say!(
                    "{}",
                    l.pick(
                        "Semua sesi login diakhiri.",
                        "Every login session was ended."
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}
