//! `email change`: the guided identity check at the counter, then the change (or, for a
//! NIK that disagrees with the NIP, an exception request for a second officer).

use crate::cmd::identity::{ask_documents, ask_nik, confirm_person, show_facts};
use crate::cmd::identity::{IdentityArgs, NikVerdict};
use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::{usage, CmdResult, REFUSED};
use crate::output::{kv, print_json};
use crate::prompt::Prompt;
use sapk_core::staff::{EmailChangeRequest, EmployeeOverview};
use sapk_core::Lang;
use serde_json::json;
use std::process::ExitCode;

pub struct ChangeArgs<'a> {
    pub nip: &'a str,
    pub new_email: &'a str,
    pub identity: &'a IdentityArgs,
    pub if_version: Option<u64>,

    pub exception: Option<&'a str>,
}

/// `email change`: the guided identity check, then the change. The NIK is checked against
/// the NIP as soon as it is typed, so the officer knows at once; the decision and its audit
/// record are the core's (here or behind the staff API).
pub async fn run(g: &Ctx, a: ChangeArgs<'_>, prompt: &mut dyn Prompt) -> CmdResult {
    let l = g.lang;
    let yes = a.identity.yes;
    let identity = a.identity.given(l)?;
    let counter = Counter::open(g, true).await?;
    if !counter.is_api()
        && g.store == crate::context::StoreKind::Dynamodb
        && crate::context::env("SAPK_PII_KEY").is_none()
    {
        return usage(l.pick(
            "email change pada DynamoDB memerlukan SAPK_PII_KEY (NIK dan nomor dokumen disimpan sebagai hash berkunci)",
            "email change on DynamoDB needs SAPK_PII_KEY (the NIK and document numbers are stored as keyed hashes)",
        ));
    }
    let o = counter.overview(a.nip, 5, Some(a.new_email)).await?;
    show_facts(g, &o, &email_rows(&o, a.new_email, l));
    let who = crate::output::who(&o.name, &o.nip);
    let mut request = EmailChangeRequest {
        new_email: a.new_email.to_owned(),
        identity,
        if_version: Some(a.if_version.unwrap_or(o.version)),
        exception_reason: None,
    };
    // An address that is not one is refused before any question (by the core, which
    // records it); so is one another employee has (one address, one ASN).
    if sapk_core::Email::parse(a.new_email).is_err() || !address_free(g, &o) {
        return submit_refusal(&counter, &o, &request).await;
    }
    let verdict = ask_nik(g, &o, &mut request.identity, prompt);
    let Some(exception) = decide_exception(g, &a, &verdict, &mut request, prompt, &who) else {
        return submit_refusal(&counter, &o, &request).await;
    };
    if !yes {
        ask_documents(g, o.facts.kind, exception, &mut request.identity, prompt)?;
        confirm_change(&a, exception, &mut request, prompt, &who, l);
    }
    if exception {
        return super::exception::submit_request(g, &counter, &o, &request).await;
    }
    let out = counter.change_email(&o.nip, &request).await?;
    print_changed(g, &out)
}

/// Sends a request the core is to refuse (and record): exit 1 with its reason.
async fn submit_refusal(
    counter: &Counter,
    o: &EmployeeOverview,
    request: &EmailChangeRequest,
) -> CmdResult {
    counter.change_email(&o.nip, request).await?;
    Ok(ExitCode::from(REFUSED))
}

/// The e-mail rows beside the facts from the NIP.
fn email_rows(o: &EmployeeOverview, new_email: &str, l: Lang) -> Vec<(String, String)> {
    vec![
        (
            l.pick("Email sekarang", "Current e-mail").into(),
            o.email_masked.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            l.pick("Email baru", "New e-mail").into(),
            new_email.to_owned(),
        ),
    ]
}

/// An address another employee's account has: said before any question (one address, one
/// ASN: BKN's rule); the core then refuses and records it. Whether the address is free.
fn address_free(g: &Ctx, o: &sapk_core::staff::EmployeeOverview) -> bool {
    let l = g.lang;
    if o.new_email_holders.is_empty() && o.new_email_elsewhere == 0 {
        return true;
    }
    let mut others = o.new_email_holders.join(", ");
    if o.new_email_elsewhere > 0 {
        if !others.is_empty() {
            others.push_str(", ");
        }
        others.push_str(l.pick(
            "pegawai lain di luar cakupan Anda",
            "others outside your scope",
        ));
    }
    g.note(&format!(
        "{} {others}. {}\n",
        l.pick(
            "Alamat ini sudah dipakai akun pegawai lain:",
            "Another employee's account already has this address:"
        ),
        l.pick(
            "Satu email untuk satu ASN (ketentuan BKN): minta alamat lain.",
            "One address per ASN (BKN's rule): ask for another address."
        )
    ));
    false
}

/// Whether this becomes an exception request (a well-formed NIK that still disagrees, and
/// the officer asks for one), a plain change (`Some(false)`), or is refused (`None`: the core
/// refuses and records it).
fn decide_exception(
    g: &Ctx,
    a: &ChangeArgs<'_>,
    verdict: &NikVerdict,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
    who: &str,
) -> Option<bool> {
    let l = g.lang;
    match (verdict, a.exception) {
        (NikVerdict::Agrees, None) => {
            g.note(&format!(
                "{}\n",
                l.pick(
                    "NIK cocok dengan tanggal lahir dan jenis kelamin pada NIP.",
                    "The NIK agrees with the NIP's birth date and gender."
                )
            ));
            Some(false)
        }
        // Scripted: the officer asked for the exception; the core decides whether it is one.
        (_, Some(reason)) => {
            request.exception_reason = Some(reason.to_owned());
            Some(true)
        }
        (NikVerdict::Disagrees(p), None) if !a.identity.yes => {
            g.note(&format!("{p}.\n"));
            let q = match l {
                Lang::Id => format!("NIK tetap tidak cocok. Bila tanggal lahir pada NIK memang salah tercatat di Dukcapil (ada surat keterangan Dukcapil atau akta kelahiran), ajukan pengecualian untuk {who}? Petugas lain atau supervisor harus menyetujuinya."),
                Lang::En => format!("The NIK still disagrees. If the NIK's birth date was recorded wrongly by Dukcapil (a Dukcapil letter or birth certificate is shown), ask for an exception for {who}? Another officer or a supervisor must approve it."),
            };
            prompt.confirm(&q, l).then_some(true)
        }
        _ => None,
    }
}

/// The person against the documents, the exception's reason, and the change itself.
fn confirm_change(
    a: &ChangeArgs<'_>,
    exception: bool,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
    who: &str,
    l: Lang,
) {
    confirm_person(&mut request.identity, prompt, who, l);
    if !request.identity.person_confirmed {
        return;
    }
    if exception && request.exception_reason.is_none() {
        request.exception_reason = prompt.ask(l.pick(
            "Alasan pengecualian (dokumen apa yang menunjukkan tanggal lahir sebenarnya): ",
            "Reason for the exception (which document shows the true birth date): ",
        ));
    }
    let q = match (exception, l) {
        (false, Lang::Id) => format!(
            "Ganti email {who} menjadi {}? Semua sesi login dan kode reset akan diakhiri.",
            a.new_email
        ),
        (false, Lang::En) => format!(
            "Change the e-mail of {who} to {}? Every login session and reset code will end.",
            a.new_email
        ),
        (true, Lang::Id) => format!(
            "Ajukan pengecualian: email {who} menjadi {} setelah disetujui petugas kedua?",
            a.new_email
        ),
        (true, Lang::En) => format!(
            "Ask for the exception: the e-mail of {who} becomes {} once a second officer approves?",
            a.new_email
        ),
    };
    request.identity.person_confirmed = prompt.confirm(&q, l);
}

/// Prints a done e-mail change (JSON, or what was changed and who was told).
pub fn print_changed(g: &Ctx, out: &sapk_core::staff::EmailChangeOutcome) -> CmdResult {
    let l = g.lang;
    if g.json {
        print_json(&json!({
            "ok": true,
            "nip": out.nip,
            "old_email": out.old_email,
            "new_email": out.new_email,
            "old_notified": out.old_notified,
            "new_notified": out.new_notified,
            "unsuppressed": out.unsuppressed,
        }));
    } else {
        let yes_no = |b: bool| {
            if b {
                l.pick("terkirim", "sent")
            } else {
                l.pick("GAGAL dikirim", "NOT sent")
            }
        };
        say!(
            "{}",
            l.pick("Email berhasil diganti.", "The e-mail was changed.")
        );
        say_raw!(
            "{}",
            kv(&[
                (
                    l.pick("Email lama", "Old e-mail").into(),
                    out.old_email.as_ref().map_or("-".into(), |e| e.to_string())
                ),
                (
                    l.pick("Email baru", "New e-mail").into(),
                    out.new_email.to_string()
                ),
                (
                    l.pick("Pemberitahuan ke email lama", "Notice to the old address")
                        .into(),
                    out.old_notified.map_or("-", yes_no).into()
                ),
                (
                    l.pick(
                        "Konfirmasi ke email baru",
                        "Confirmation to the new address"
                    )
                    .into(),
                    yes_no(out.new_notified).into()
                ),
                (
                    l.pick("Sesi login dan kode reset", "Sessions and reset codes")
                        .into(),
                    l.pick("diakhiri", "ended").into()
                ),
            ])
        );
        if out.unsuppressed == Some(true) {
            say!(
                "{}",
                l.pick(
                    "Alamat baru sebelumnya diblokir layanan email (pernah ditolak atau dilaporkan spam); blokirnya sudah dicabut.",
                    "The new address was blocked by the mail service (an earlier bounce or spam report); the block is lifted."
                )
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
