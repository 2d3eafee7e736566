//! `audit NIP`: an employee's audit trail, newest first; `audit NIP --verify`: the check of
//! its keyed hash chain (exit 0 intact, 1 not).

use crate::backend::open;
use crate::context::{lang, zone};
use crate::output::{print_json, refused, table};
use crate::Global;
use clap::Args;

use sapk_core::Lang;
use std::process::ExitCode;

/// Show an employee's audit trail, newest first, or check that it is intact.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The employee's NIP (with --verify, `-` checks the records without a NIP).
    pub nip: String,
    /// How many events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Check the trail's keyed hash chain instead: every record unaltered, none missing
    /// between the oldest and the newest (exit 1 when not intact).
    #[arg(long)]
    pub verify: bool,
}

pub async fn run(g: &Global, a: &AuditArgs) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, false).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    if a.verify {
        return match counter.verify_audit(&a.nip, l).await {
            Ok(report) => {
                if g.json {
                    print_json(&serde_json::to_value(&report)?);
                } else {
                    say_raw!("{}", report_text(&report, l));
                }
                Ok(if report.intact() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(crate::output::REFUSED)
                })
            }
            Err(e) => refused(g, e),
        };
    }
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

/// What an officer or auditor reads of a chain check.
pub fn report_text(r: &sapk_core::audit_chain::ChainReport, l: Lang) -> String {
    let mut out = format!(
        "{} {}: {}\n",
        l.pick("Rantai riwayat", "Audit chain"),
        r.chain,
        if r.intact() {
            l.pick("UTUH", "INTACT")
        } else {
            l.pick("TIDAK UTUH", "NOT INTACT")
        }
    );
    match (r.first_seq, r.last_seq) {
        (Some(first), Some(last)) => out.push_str(&format!(
            "  {} {} (#{first}..#{last})\n",
            r.records - r.unchained,
            l.pick("catatan bersegel", "sealed records"),
        )),
        _ => out.push_str(&format!(
            "  {}\n",
            l.pick("belum ada catatan bersegel", "no sealed record yet")
        )),
    }
    if r.absent_before() > 0 {
        out.push_str(&format!(
            "  {} {}\n",
            r.absent_before(),
            l.pick(
                "catatan lebih lama tidak ada lagi (masa simpan habis, atau dihapus: periksa arsip)",
                "older records are no longer held (retention ended, or deleted: check the archive)"
            )
        ));
    }
    if r.unchained > 0 {
        out.push_str(&format!(
            "  {} {}\n",
            r.unchained,
            l.pick(
                "catatan dari sebelum segel diberlakukan",
                "records from before sealing began"
            )
        ));
    }
    for p in &r.problems {
        out.push_str(&format!("  ! {}\n", p.text(l)));
    }
    out
}
