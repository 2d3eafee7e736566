//! `session revoke NIP`: ends every login session of an employee.

use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::{refuse, CmdResult};
use crate::help::Page;
use crate::prompt::{Prompt, StdPrompt};
use clap::Subcommand;
use sapk_core::Lang;

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

pub async fn run(g: &Ctx, cmd: &SessionCmd) -> CmdResult {
    match cmd {
        SessionCmd::Revoke { nip, yes } => revoke(g, nip, *yes, &mut StdPrompt).await,
    }
}

pub async fn revoke(g: &Ctx, nip: &str, yes: bool, prompt: &mut dyn Prompt) -> CmdResult {
    let l = g.lang;
    let counter = Counter::open(g, true).await?;
    if !yes {
        // The question names the employee; an unknown NIP is refused before it.
        let o = counter.overview(nip, 1, None).await?;
        let who = crate::output::who(&o.name, &o.nip);
        let q = match l {
            Lang::Id => format!("Akhiri semua sesi login (dan kode reset aktif) {who}?"),
            Lang::En => format!("End every login session (and any active reset code) of {who}?"),
        };
        if !prompt.confirm(&q, l) {
            return refuse(
                "cancelled",
                l.pick(
                    "dibatalkan; tidak ada yang diubah",
                    "cancelled; nothing was changed",
                ),
            );
        }
    }
    counter.revoke(nip).await?;
    g.done(
        "Semua sesi login diakhiri.",
        "Every login session was ended.",
    )
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["session"],
        about_id: "Sesi login.",
        example: "sapk-admin session revoke 198609262015051001",
    },
    Page {
        path: &["session", "revoke"],
        about_id: "Akhiri semua sesi login (dan kode reset aktif) seorang pegawai.",
        example: "sapk-admin session revoke 198609262015051001 --yes",
    },
];
