//! `employee renumber`: carry accounts to their new numbers, one pair or a CSV mapping.

use crate::context::service;
use crate::context::Ctx;
use crate::error::failure;
use crate::error::{refuse, usage, CmdResult, REFUSED};
use crate::output::print_json;
use crate::output::{kv, line_errors, table};
use sapk_core::staff::{RenumberOutcome, RenumberReason};
use sapk_core::{Lang, Service};
use serde_json::json;
use std::path::Path;
use std::process::ExitCode;

pub struct Args<'a> {
    pub old_nip: Option<&'a str>,
    pub new_nip: Option<&'a str>,
    pub file: Option<&'a Path>,
    pub reason: Option<&'a str>,
}

/// One mapping row: its line, the two numbers and the reason text (if the file has one).
struct Row {
    line: u64,
    old: String,
    new: String,
    reason: Option<String>,
}

fn reason_hint(l: Lang) -> &'static str {
    l.pick(
        "alasan harus perbaikan, pindah-instansi atau pppk-ke-pns",
        "the reason must be perbaikan, pindah-instansi or pppk-ke-pns",
    )
}

fn outcome_text(o: RenumberOutcome, l: Lang) -> &'static str {
    match o {
        RenumberOutcome::Moved => l.pick("dipindahkan", "moved"),
        RenumberOutcome::Merged => l.pick(
            "dipindahkan ke data impor nomor baru",
            "moved onto the new number's imported record",
        ),
        RenumberOutcome::AlreadyMoved => l.pick("sudah dipindahkan", "already moved"),
    }
}

fn read_mapping(path: &Path, l: Lang) -> anyhow::Result<Vec<Row>> {
    let table = crate::csvfile::read(path, l)?;
    let (Some(ci_old), Some(ci_new)) = (
        table.col(&["old_nip", "nip_lama"]),
        table.col(&["new_nip", "nip_baru"]),
    ) else {
        return Err(failure(
            "bad_header",
            format!(
            "{}: {}",
            l.pick(
                "header CSV harus old_nip,new_nip[,reason] atau nip_lama,nip_baru[,alasan]; yang ada",
                "the CSV header must be old_nip,new_nip[,reason] or nip_lama,nip_baru[,alasan]; found",
            ),
            table.headers.join(",")
            ),
        ));
    };
    let ci_reason = table.col(&["reason", "alasan"]);
    let mut rows = Vec::new();
    for (line, rec) in table.rows {
        let rec = rec.map_err(|e| anyhow::anyhow!("{} {line}: {e}", l.pick("baris", "line")))?;
        let get = |c: usize| rec.get(c).unwrap_or("").to_owned();
        rows.push(Row {
            line,
            old: get(ci_old),
            new: get(ci_new),
            reason: ci_reason.map(get).filter(|r| !r.is_empty()),
        });
    }
    Ok(rows)
}

pub async fn run(g: &Ctx, a: Args<'_>) -> CmdResult {
    let l = g.lang;
    let op = crate::context::operator(g, true).await?;
    let default_reason = match a.reason {
        Some(r) => match RenumberReason::parse(r) {
            Some(r) => Some(r),
            None => return usage(&format!("--reason {r:?}: {}", reason_hint(l))),
        },
        None => None,
    };
    let rows = match (a.file, a.old_nip, a.new_nip) {
        (Some(file), None, None) => read_mapping(file, l)?,
        (None, Some(old), Some(new)) => {
            if default_reason.is_none() {
                return usage(l.pick(
                    "sebutkan alasan: --reason perbaikan|pindah-instansi|pppk-ke-pns",
                    "give the reason: --reason perbaikan|pindah-instansi|pppk-ke-pns",
                ));
            }
            vec![Row {
                line: 0,
                old: old.to_owned(),
                new: new.to_owned(),
                reason: None,
            }]
        }
        _ => {
            return usage(l.pick(
                "sebutkan NIP_LAMA NIP_BARU, atau --file PEMETAAN.csv",
                "give OLD_NIP NEW_NIP, or --file MAPPING.csv",
            ))
        }
    };
    let svc = service(g).await?;
    let single = a.file.is_none();
    let mut done = Vec::new();
    let mut errors = Vec::new();
    let mut first_code = None;
    for row in rows {
        let reason = match row.reason.as_deref().map(RenumberReason::parse) {
            Some(Some(r)) => Some(r),
            Some(None) => None,
            None => default_reason,
        };
        let Some(reason) = reason else {
            errors.push((row.line, row.old, reason_hint(l).to_owned()));
            continue;
        };
        match renumber_one(&svc, &row, reason, &op, l).await {
            Ok(v) => done.push(v),
            Err((code, msg)) => {
                first_code.get_or_insert(code);
                errors.push((row.line, row.old, msg));
            }
        }
    }
    if single {
        if let Some((_, _, msg)) = errors.first() {
            return refuse(first_code.unwrap_or("invalid_reason"), msg);
        }
    }
    report(g, &done, &errors);
    Ok(if errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(REFUSED)
    })
}

async fn renumber_one(
    svc: &Service,
    row: &Row,
    reason: RenumberReason,
    op: &sapk_core::staff::Operator,
    l: Lang,
) -> Result<serde_json::Value, (&'static str, String)> {
    let r = svc
        .staff()
        .renumber_employee(&row.old, &row.new, reason, op, l)
        .await
        .map_err(|e| (e.reason(), e.text(l)))?;
    Ok(json!({
        "line": row.line,
        "old_nip": r.old_nip,
        "new_nip": r.new_nip,
        "kind": r.new_nip.kind(),
        "outcome": r.outcome,
        "outcome_text": outcome_text(r.outcome, l),
        "notified": r.notified,
    }))
}

fn report(g: &Ctx, done: &[serde_json::Value], errors: &[(u64, String, String)]) {
    let l = g.lang;
    if g.json {
        print_json(&json!({
            "ok": errors.is_empty(),
            "renumbered": done,
            "failed": errors.len(),
            "errors": errors.iter().map(|(line, nip, error)| json!({"line": line, "old_nip": nip, "error": error})).collect::<Vec<_>>(),
        }));
        return;
    }
    if !done.is_empty() {
        let rows: Vec<Vec<String>> = done
            .iter()
            .map(|v| {
                vec![
                    v["old_nip"].as_str().unwrap_or("").to_owned(),
                    format!(
                        "{} ({})",
                        v["new_nip"].as_str().unwrap_or(""),
                        v["kind"].as_str().unwrap_or("").to_uppercase()
                    ),
                    v["outcome_text"].as_str().unwrap_or("").to_owned(),
                ]
            })
            .collect();
        say_raw!(
            "{}",
            table(
                &[
                    l.pick("NIP lama", "Old number"),
                    l.pick("NIP baru", "New number"),
                    l.pick("Hasil", "Result"),
                ],
                &rows
            )
        );
        say!("");
    }
    say_raw!(
        "{}",
        kv(&[
            (
                l.pick("Dipindahkan", "Moved").into(),
                done.len().to_string()
            ),
            (l.pick("Gagal", "Failed").into(), errors.len().to_string()),
        ])
    );
    if !errors.is_empty() {
        say!("");
        say_raw!(
            "{}",
            line_errors(l.pick("NIP lama", "Old number"), errors, l)
        );
    }
}
