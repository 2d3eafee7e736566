//! `mail bounce EMAIL`: on the embedded store, marks an address as bounced (or complained
//! about), as SES's events do when deployed, so the counter's view can be tried locally.

use crate::context::service;
use crate::context::{Ctx, StoreKind};
use crate::error::{refuse, usage, CmdResult};
use crate::help::Page;
use crate::output::print_json;
use clap::Subcommand;
use sapk_core::mail_status::{MailEvent, MailState, MailStatus};
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum MailCmd {
    /// Development and training on the embedded store: record that mail to EMAIL bounced (as
    /// SES reports when deployed); `employee show` then shows it.
    Bounce {
        /// The address.
        email: String,
        /// A temporary refusal (mailbox full) instead of a permanent one.
        #[arg(long, conflicts_with = "complaint")]
        soft: bool,
        /// A spam complaint instead of a bounce.
        #[arg(long)]
        complaint: bool,
        /// The receiving server's words, e.g. "smtp; 550 5.1.1 user unknown".
        #[arg(long)]
        diagnostic: Option<String>,
    },
}

pub async fn run(g: &Ctx, cmd: &MailCmd) -> CmdResult {
    let l = g.lang;
    let MailCmd::Bounce {
        email,
        soft,
        complaint,
        diagnostic,
    } = cmd;
    if g.store != StoreKind::Sqlite {
        return usage(l.pick(
            "mail bounce hanya untuk penyimpanan lokal; di AWS status email datang dari SES",
            "mail bounce is for the embedded store only; on AWS the mail status comes from SES",
        ));
    }
    let Ok(address) = sapk_core::Email::parse(email) else {
        return refuse(
            "invalid_email",
            l.pick("alamat email tidak valid", "not a valid e-mail address"),
        );
    };
    let state = match (soft, complaint) {
        (_, true) => MailState::Complaint,
        (true, _) => MailState::SoftBounce,
        _ => MailState::HardBounce,
    };
    let svc = service(g).await?;
    let diagnostic = diagnostic.clone().or_else(|| match state {
        MailState::HardBounce => Some("smtp; 550 5.1.1 user unknown".to_owned()),
        MailState::SoftBounce => Some("smtp; 452 4.2.2 mailbox full".to_owned()),
        _ => None,
    });
    let recorded = svc
        .mail()
        .record_mail_events(&[MailEvent {
            to: address.clone(),
            status: MailStatus {
                state,
                at: svc.now(),
                address,
                diagnostic,
            },
        }])
        .await?;
    if g.json {
        print_json(&json!({ "ok": true, "state": state.code(), "accounts": recorded }));
    } else {
        say!(
            "{} {recorded}",
            l.pick(
                "Status email dicatat untuk akun:",
                "Mail status recorded for accounts:"
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["mail"],
        about_id: "Status email (untuk pengembangan dan pelatihan di penyimpanan lokal).",
        example: "sapk-admin mail bounce budi.santoso@example.go.id",
    },
    Page {
        path: &["mail", "bounce"],
        about_id: "Pengembangan dan pelatihan di penyimpanan lokal: catat bahwa email ke alamat ini ditolak (seperti laporan SES di AWS); `employee show` lalu menampilkannya.",
        example: "sapk-admin mail bounce budi.santoso@example.go.id --diagnostic \"smtp; 550 5.1.1 user unknown\"",
    },
];
