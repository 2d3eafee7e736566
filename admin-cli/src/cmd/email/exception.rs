//! The exception path of `email change` (a KTP NIK that disagrees with the NIP): the request
//! one officer submits, and `email approve` / `email reject` for a second officer. The rules
//! (who may approve, what a request needs) are the core's; this module asks and prints.

use crate::backend::open;
use crate::backend::Counter;
use crate::context::{lang, zone};
use crate::output::{gender, kv, print_json, refuse, refused, who};
use crate::prompt::Prompt;
use crate::Global;
use sapk_core::i18n::{format_date, format_in};
use sapk_core::ports::PendingException;
use sapk_core::staff::{EmailChangeRequest, EmployeeOverview};
use sapk_core::Lang;
use serde_json::json;
use std::process::ExitCode;

/// Officer one: submits the request and says what happens next.
pub async fn submit_request(
    g: &Global,
    counter: &Counter,
    o: &EmployeeOverview,
    request: &EmailChangeRequest,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let p = match counter.request_exception(&o.nip, request, l).await {
        Ok(p) => p,
        Err(e) => return refused(g, e),
    };
    if g.json {
        print_json(&json!({ "ok": true, "pending": p }));
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{}",
        l.pick(
            "Pengajuan pengecualian dicatat; email BELUM diganti.",
            "The exception request is recorded; the e-mail is NOT changed yet."
        )
    );
    say_raw!(
        "{}",
        kv(&[
            (l.pick("Pegawai", "Employee").into(), who(&o.name, &o.nip)),
            (
                l.pick("Email baru", "New e-mail").into(),
                p.new_email.to_string()
            ),
            (
                l.pick("Berlaku sampai", "Valid until").into(),
                format_in(p.expires_at, l, zone(g))
            ),
        ])
    );
    say!(
        "{} sapk-admin email approve {}",
        l.pick(
            "Minta petugas lain atau supervisor memeriksa dan menyetujuinya dengan identitasnya sendiri:",
            "Ask another officer or a supervisor to check and approve it under their own identity:"
        ),
        o.nip.as_str()
    );
    Ok(ExitCode::SUCCESS)
}

/// What the approver reads before deciding.
fn describe(p: &PendingException, o: &EmployeeOverview, g: &Global) -> String {
    let l = lang(g);
    let f = &o.facts;
    let mismatch: Vec<&str> = p
        .mismatch
        .iter()
        .map(|m| match m.as_str() {
            "birth_date" => l.pick("tanggal lahir", "birth date"),
            "gender" => l.pick("jenis kelamin", "gender"),
            other => other,
        })
        .collect();
    let documents: Vec<String> = p.identity["documents"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let kind = d["kind"].as_str().unwrap_or("?");
            match d["number_masked"].as_str() {
                Some(n) => format!("{kind} {n}"),
                None => kind.to_owned(),
            }
        })
        .collect();
    kv(&[
        (l.pick("Pegawai", "Employee").into(), who(&o.name, &o.nip)),
        (
            l.pick("Menurut NIP", "By the NIP").into(),
            format!(
                "{} {}, {}",
                l.pick("lahir", "born"),
                format_date(f.birth_date, l),
                gender(f.gender, l)
            ),
        ),
        (
            l.pick("Menurut NIK", "By the NIK").into(),
            format!(
                "{} {}, {} (NIK {})",
                l.pick("lahir", "born"),
                p.nik_birth,
                gender(p.nik_gender, l),
                p.identity["nik_masked"].as_str().unwrap_or("-")
            ),
        ),
        (
            l.pick("Tidak cocok", "Disagrees").into(),
            mismatch.join(", "),
        ),
        (
            l.pick("Email sekarang", "Current e-mail").into(),
            o.email_masked.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            l.pick("Email baru", "New e-mail").into(),
            p.new_email.to_string(),
        ),
        (l.pick("Alasan", "Reason").into(), p.reason.clone()),
        (l.pick("Dokumen", "Documents").into(), documents.join("; ")),
        (
            l.pick("Diajukan oleh", "Requested by").into(),
            format!("{} ({})", p.requested_by, p.requested_office),
        ),
        (
            l.pick("Diajukan pada", "Requested at").into(),
            format_in(p.requested_at, l, zone(g)),
        ),
        (
            l.pick("Berlaku sampai", "Valid until").into(),
            format_in(p.expires_at, l, zone(g)),
        ),
    ])
}

/// The employee and their waiting request, or the exit code of why not.
async fn load(
    g: &Global,
    counter: &Counter,
    nip: &str,
) -> Result<(EmployeeOverview, PendingException), anyhow::Result<ExitCode>> {
    let l = lang(g);
    let o = counter
        .overview(nip, 1, None, l)
        .await
        .map_err(|e| refused(g, e))?;
    match counter.pending_exception(&o.nip, l).await {
        Ok(Some(p)) => Ok((o, p)),
        Ok(None) => {
            let f = sapk_core::staff::CheckFailure::NoPendingException;
            Err(refuse(g, f.reason(), &f.text(l)))
        }
        Err(e) => Err(refused(g, e)),
    }
}

/// `email approve NIP`: shows the request, asks, approves.
pub async fn approve(
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
    let (o, p) = match load(g, &counter, nip).await {
        Ok(x) => x,
        Err(code) => return code,
    };
    if !yes {
        eprint!(
            "{}\n{}",
            l.pick(
                "Pengajuan pengecualian (NIK tidak cocok dengan NIP):",
                "Exception request (the NIK disagrees with the NIP):"
            ),
            describe(&p, &o, g)
        );
        let q = match l {
            Lang::Id => format!(
                "Anda sudah memeriksa alasan dan dokumennya. Setujui dan ganti email {} menjadi {}? Semua sesi login dan kode reset akan diakhiri.",
                who(&o.name, &o.nip),
                p.new_email
            ),
            Lang::En => format!(
                "You have checked the reason and the documents. Approve, changing the e-mail of {} to {}? Every login session and reset code will end.",
                who(&o.name, &o.nip),
                p.new_email
            ),
        };
        if !prompt.confirm(&q, l) {
            return refuse(
                g,
                "cancelled",
                l.pick(
                    "tidak disetujui; tidak ada yang diubah (tolak dengan `email reject`)",
                    "not approved; nothing was changed (turn it down with `email reject`)",
                ),
            );
        }
    }
    match counter.approve_exception(&o.nip, l).await {
        Ok(out) => super::change::print_changed(g, &out),
        Err(e) => refused(g, e),
    }
}

/// `email reject NIP [--why TEXT]`.
pub async fn reject(g: &Global, nip: &str, why: Option<&str>) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let nip = match counter.overview(nip, 1, None, l).await {
        Ok(o) => o.nip,
        Err(e) => return refused(g, e),
    };
    match counter.reject_exception(&nip, why, l).await {
        Ok(()) => {
            if g.json {
                print_json(&json!({ "ok": true }));
            } else {
                say!(
                    "{}",
                    l.pick(
                        "Pengajuan pengecualian ditolak; email tidak diganti.",
                        "The exception request was turned down; the e-mail is unchanged."
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}
