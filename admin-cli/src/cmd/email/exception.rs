//! The exception path of `email change` (a KTP NIK that disagrees with the NIP): the request
//! one officer submits, and `email approve` / `email reject` for a second officer. The rules
//! (who may approve, what a request needs) are the core's; this module asks and prints.

use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::{refuse, CmdResult, CounterError};
use crate::output::{gender, kv, print_json, table, who};
use crate::prompt::Prompt;
use sapk_core::i18n::{format_date, format_in};
use sapk_core::ports::PendingException;
use sapk_core::staff::{EmailChangeRequest, EmployeeOverview};
use sapk_core::Lang;
use serde_json::json;
use std::process::ExitCode;

/// Officer one: submits the request and says what happens next.
pub async fn submit_request(
    g: &Ctx,
    counter: &Counter,
    o: &EmployeeOverview,
    request: &EmailChangeRequest,
) -> CmdResult {
    let l = g.lang;
    let p = counter.request_exception(&o.nip, request).await?;
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
                format_in(p.expires_at, l, g.zone)
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
fn describe(p: &PendingException, o: &EmployeeOverview, g: &Ctx) -> String {
    let l = g.lang;
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
            format!(
                "{} ({})",
                p.requested_by,
                sapk_core::text::activity::office_label(
                    &p.requested_office,
                    p.requested_office_name.as_deref(),
                    l
                )
            ),
        ),
        (
            l.pick("Diajukan pada", "Requested at").into(),
            format_in(p.requested_at, l, g.zone),
        ),
        (
            l.pick("Berlaku sampai", "Valid until").into(),
            format_in(p.expires_at, l, g.zone),
        ),
    ])
}

/// The employee and their waiting request (and whether this officer asked for it), or why
/// not.
async fn load(
    g: &Ctx,
    counter: &Counter,
    nip: &str,
) -> Result<(EmployeeOverview, PendingException, bool), CounterError> {
    let o = counter.overview(nip, 1, None).await?;
    match counter.pending_exception(&o.nip).await? {
        (Some(p), yours) => Ok((o, p, yours)),
        (None, _) => {
            let f = sapk_core::staff::CheckFailure::NoPendingException;
            Err(CounterError::refused(f.reason(), f.text(g.lang)))
        }
    }
}

/// Shows the waiting request and asks `question`: whether the officer goes on.
fn shown_and_confirmed(
    g: &Ctx,
    o: &EmployeeOverview,
    p: &PendingException,
    question: &str,
    prompt: &mut dyn Prompt,
) -> bool {
    eprint!(
        "{}\n{}",
        g.lang.pick(
            "Pengajuan pengecualian (NIK tidak cocok dengan NIP):",
            "Exception request (the NIK disagrees with the NIP):"
        ),
        describe(p, o, g)
    );
    prompt.confirm(question, g.lang)
}

/// `email approve NIP`: shows the request, asks, approves. The requester is refused before
/// anything is shown or asked.
/// `email pending`: the requests waiting for a second officer in this officer's scope,
/// oldest first, each with the command that decides it.
pub async fn pending(g: &Ctx) -> CmdResult {
    let l = g.lang;
    let counter = Counter::open(g, false).await?;
    let list = counter.waiting_exceptions().await?;
    if g.json {
        print_json(&json!(list));
        return Ok(ExitCode::SUCCESS);
    }
    let waiting = list.waiting;
    if waiting.is_empty() {
        say!(
            "{}",
            l.pick(
                "Tidak ada pengajuan pengecualian yang menunggu persetujuan di cakupan Anda.",
                "No exception request in your scope is waiting for approval."
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = waiting
        .iter()
        .map(|w| {
            vec![
                // Whole, to be typed into `email approve`: the list is within the scope.
                w.nip.as_str().to_owned(),
                sapk_core::i18n::printable(&w.name),
                w.new_email.clone(),
                w.requested_office_name.clone(),
                format_in(w.requested_at, l, g.zone),
                format_in(w.expires_at, l, g.zone),
                if w.yours {
                    l.pick("Anda (tidak boleh memutuskan)", "you (may not decide)")
                } else {
                    "-"
                }
                .to_owned(),
            ]
        })
        .collect();
    say_raw!(
        "{}",
        table(
            &[
                "NIP",
                l.pick("Nama", "Name"),
                l.pick("Email baru", "New e-mail"),
                l.pick("Diajukan oleh", "Requested by"),
                l.pick("Diajukan pada", "Requested at"),
                l.pick("Berlaku sampai", "Valid until"),
                l.pick("Pengaju", "Requester"),
            ],
            &rows
        )
    );
    if list.more > 0 {
        say!(
            "{}",
            match l {
                Lang::Id => format!(
                    "Ditampilkan {} yang terlama; {} lainnya menunggu.",
                    waiting.len(),
                    list.more
                ),
                Lang::En => format!(
                    "The oldest {} are shown; {} more are waiting.",
                    waiting.len(),
                    list.more
                ),
            }
        );
    }
    say!(
        "{}",
        l.pick(
            "Periksa alasan dan dokumennya, lalu putuskan dengan `sapk-admin email approve NIP` atau `sapk-admin email reject NIP`.",
            "Check the reason and the documents, then decide with `sapk-admin email approve NIP` or `sapk-admin email reject NIP`."
        )
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn approve(g: &Ctx, nip: &str, yes: bool, prompt: &mut dyn Prompt) -> CmdResult {
    let l = g.lang;
    let counter = Counter::open(g, true).await?;
    let (o, p, yours) = load(g, &counter, nip).await?;
    if yours {
        // Refused before any question: the server records the refusal and says why.
        let out = counter.approve_exception(&o.nip).await?;
        return super::change::print_changed(g, &out);
    }
    let who = who(&o.name, &o.nip);
    let q = match l {
        Lang::Id => format!(
            "Anda sudah memeriksa alasan dan dokumennya. Setujui dan ganti email {who} menjadi {}? Semua sesi login dan kode reset akan diakhiri.",
            p.new_email
        ),
        Lang::En => format!(
            "You have checked the reason and the documents. Approve, changing the e-mail of {who} to {}? Every login session and reset code will end.",
            p.new_email
        ),
    };
    if !yes && !shown_and_confirmed(g, &o, &p, &q, prompt) {
        return refuse(
            "cancelled",
            l.pick(
                "tidak disetujui; tidak ada yang diubah (tolak dengan `email reject`)",
                "not approved; nothing was changed (turn it down with `email reject`)",
            ),
        );
    }
    let out = counter.approve_exception(&o.nip).await?;
    super::change::print_changed(g, &out)
}

/// `email reject NIP [--why TEXT] [--yes]`: shows the request, asks, turns it down.
pub async fn reject(
    g: &Ctx,
    nip: &str,
    why: Option<&str>,
    yes: bool,
    prompt: &mut dyn Prompt,
) -> CmdResult {
    let l = g.lang;
    let counter = Counter::open(g, true).await?;
    let (o, p, _) = load(g, &counter, nip).await?;
    let who = who(&o.name, &o.nip);
    let q = match l {
        Lang::Id => format!(
            "Tolak pengajuan ini? Email {who} tetap seperti sekarang dan pengajuan berakhir."
        ),
        Lang::En => format!(
            "Turn this request down? The e-mail of {who} stays as it is and the request ends."
        ),
    };
    if !yes && !shown_and_confirmed(g, &o, &p, &q, prompt) {
        return refuse(
            "cancelled",
            l.pick(
                "tidak ditolak; pengajuan masih menunggu",
                "not turned down; the request is still waiting",
            ),
        );
    }
    counter.reject_exception(&o.nip, why).await?;
    g.done(
        "Pengajuan pengecualian ditolak; email tidak diganti.",
        "The exception request was turned down; the e-mail is unchanged.",
    )
}
