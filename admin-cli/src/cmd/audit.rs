//! `audit NIP`: an employee's audit trail, newest first.

use crate::backend::open;
use crate::context::{lang, zone};
use crate::output::{print_json, refused, table};
use crate::Global;
use clap::Args;

use sapk_core::Lang;
use std::process::ExitCode;

/// Show an employee's audit trail, newest first.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The employee's NIP.
    pub nip: String,
    /// How many events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

pub async fn run(g: &Global, a: &AuditArgs) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, false).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match counter.audit(&a.nip, a.limit, l).await {
        Ok(events) => {
            if g.json {
                print_json(&serde_json::to_value(&events)?);
            } else {
                say_raw!("{}", audit_table(&events, l, zone(g)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}

pub fn audit_table(
    events: &[sapk_core::ports::AuditEvent],
    l: Lang,
    z: sapk_core::i18n::Zone,
) -> String {
    use sapk_core::audit_text;
    if events.is_empty() {
        return format!("  {}\n", l.pick("(belum ada)", "(none)"));
    }
    table(
        &[
            l.pick("Waktu", "Time"),
            l.pick("Pelaku", "Actor"),
            l.pick("Kantor", "Office"),
            l.pick("Aksi", "Action"),
            l.pick("Hasil", "Outcome"),
            l.pick("Alasan", "Reason"),
            "IP",
        ],
        &events
            .iter()
            .map(|e| {
                vec![
                    sapk_core::i18n::format_compact(e.at, z),
                    e.actor.clone(),
                    e.office.clone().unwrap_or_else(|| "-".into()),
                    audit_text::action(&e.action, l),
                    audit_text::outcome(&e.outcome, l),
                    e.details["reason"]
                        .as_str()
                        .map_or_else(|| "-".to_owned(), |r| audit_text::reason(r, l)),
                    e.source_ip.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    )
}
