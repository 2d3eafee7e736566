//! `audit NIP`: an employee's audit trail, newest first; `audit NIP --verify`: the check of
//! its keyed hash chain (exit 0 intact, 1 not).

use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::CmdResult;
use crate::help::Page;
use crate::output::{print_json, table};
use clap::Args;

use sapk_core::Lang;
use std::process::ExitCode;

/// Show an employee's audit trail, newest first, or check that it is intact.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The employee's NIP (with --verify, `-` checks the records without a NIP).
    #[arg(required_unless_present = "checkpoint")]
    pub nip: Option<String>,
    /// How many events.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Check the trail's keyed hash chain instead: every record unaltered, none missing
    /// between the oldest and the newest (exit 1 when not intact).
    #[arg(long)]
    pub verify: bool,
    /// Write a keyed checkpoint of every chain's head to the archive now (the embedded
    /// store: `audit-checkpoints/` in the data folder; `sapk-local` writes one every hour).
    /// A later --verify compares each chain with the newest checkpoint, which shows a store
    /// put back to an older state or a chain deleted whole.
    #[arg(long, conflicts_with_all = ["verify", "nip"])]
    pub checkpoint: bool,
}

pub async fn run(g: &Ctx, a: &AuditArgs) -> CmdResult {
    let l = g.lang;
    if a.checkpoint {
        return checkpoint(g, l).await;
    }
    let nip = a.nip.as_deref().unwrap_or("-");
    let counter = Counter::open(g, false).await?;
    if a.verify {
        let report = counter.verify_audit(nip).await?;
        if g.json {
            print_json(&serde_json::to_value(&report)?);
        } else {
            say_raw!("{}", report_text(&report, l));
        }
        return Ok(if report.intact() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(crate::error::REFUSED)
        });
    }
    let events = counter.audit(nip, a.limit).await?;
    if g.json {
        print_json(&serde_json::to_value(&events)?);
    } else {
        say_raw!("{}", audit_table(&events, l, g.zone));
    }
    Ok(ExitCode::SUCCESS)
}

/// `audit --checkpoint`: on the embedded store, a checkpoint written now; on DynamoDB the
/// audit-archive function writes them (it holds the key; no person does).
async fn checkpoint(g: &Ctx, l: Lang) -> CmdResult {
    if g.store != crate::context::StoreKind::Sqlite {
        return crate::error::usage(l.pick(
            "di AWS titik periksa ditulis oleh fungsi audit-archive setiap jam (hanya fungsi itu yang memegang kuncinya)",
            "on AWS the audit-archive function writes checkpoints every hour (only that function holds the key)",
        ));
    }
    let svc = crate::context::service(g).await?;
    let op = crate::context::operator_or_os_user(g);
    match svc.staff().write_audit_checkpoint(&op).await {
        Ok(cp) => {
            if g.json {
                print_json(
                    &serde_json::json!({ "ok": true, "at": cp.at, "chains": cp.heads.len() }),
                );
            } else {
                say!(
                    "{} {} {}.",
                    l.pick("Titik periksa ditulis:", "Checkpoint written:"),
                    cp.heads.len(),
                    l.pick("rantai", "chains")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => crate::error::refuse(e.reason(), &e.text(l)),
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
            l.pick("Rincian", "Details"),
            "IP",
        ],
        &events
            .iter()
            .map(|e| {
                vec![
                    sapk_core::i18n::format_compact(e.at, z),
                    actor_text(&e.actor, l),
                    match e.office.as_deref() {
                        None => "-".into(),
                        Some("UNSPECIFIED") => l.pick("tidak disebut", "not given").into(),
                        Some(o) => o.to_owned(),
                    },
                    audit_text::action(&e.action, l),
                    audit_text::outcome(&e.outcome, l),
                    details_text(&e.details, l),
                    e.source_ip.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

/// Who acted, as short as it stays clear: the employee, the system, or an officer by the
/// user name of their sign-in (the ARN's last part).
pub fn actor_text(actor: &str, l: Lang) -> String {
    match actor {
        "self" => l.pick("pegawai sendiri", "the employee").into(),
        "system" => l.pick("sistem", "system").into(),
        "mail-service" => l.pick("layanan email", "mail service").into(),
        a if a.starts_with("arn:") => a.rsplit('/').next().unwrap_or(a).to_owned(),
        a => a.strip_prefix("os:").map_or_else(
            || a.to_owned(),
            |u| format!("{} {u}", l.pick("pengguna komputer", "computer user")),
        ),
    }
}

/// What an officer needs of a record's details: why it was refused, an e-mail change's old
/// and new address (masked), who asked for an approved exception, a lock's end.
fn details_text(d: &serde_json::Value, l: Lang) -> String {
    let mut parts = Vec::new();
    if let Some(r) = d["reason"].as_str() {
        parts.push(sapk_core::audit_text::reason(r, l));
    }
    let masked = |v: &serde_json::Value| v["masked"].as_str().map(str::to_owned);
    match (masked(&d["old_email"]), masked(&d["new_email"])) {
        (Some(o), Some(n)) => parts.push(format!("{o} → {n}")),
        (None, Some(n)) => parts.push(format!("{} {n}", l.pick("email baru", "new e-mail"))),
        _ => {}
    }
    if let Some(by) = d["requested_by"].as_str() {
        parts.push(format!(
            "{} {}",
            l.pick("diajukan oleh", "requested by"),
            actor_text(by, l)
        ));
    }
    if parts.is_empty() {
        "-".into()
    } else {
        parts.join("; ")
    }
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

    if !r.sealed_by.is_empty() {
        let by: Vec<String> = r
            .sealed_by
            .iter()
            .map(|(who, n)| {
                let who = match who.as_str() {
                    "service" => l.pick("layanan", "the service"),
                    "supervisor" => l.pick("supervisor", "supervisors"),
                    "data-admin" => l.pick("administrator data", "data administrators"),
                    other => other,
                };
                format!("{who} {n}")
            })
            .collect();
        out.push_str(&format!(
            "  {} {}\n",
            l.pick("Disegel oleh:", "Sealed by:"),
            by.join(", ")
        ));
    }
    if let Some(h) = r.head_seq {
        out.push_str(&format!(
            "  {} #{h}\n",
            l.pick("Ujung rantai tersimpan:", "Kept head:")
        ));
    }
    match r.checkpoint_at {
        Some(at) => out.push_str(&format!(
            "  {} {}\n",
            l.pick(
                "Dibandingkan dengan titik periksa arsip",
                "Compared with the archive checkpoint of"
            ),
            sapk_core::i18n::format_all_zones(at, l)
        )),
        None => out.push_str(&format!(
            "  {}\n",
            l.pick(
                "Belum ada titik periksa arsip untuk dibandingkan",
                "No archive checkpoint to compare with yet"
            )
        )),
    }
    for p in &r.problems {
        out.push_str(&format!("  ! {}\n", p.text(l)));
    }
    out
}

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["audit"],
        about_id: "Tampilkan riwayat audit pegawai, yang terbaru lebih dulu; dengan --verify, periksa bahwa riwayat itu utuh (rantai segel).",
        example: "sapk-admin audit 198609262015051001 --verify",
    },
];
