//! `email change`: the guided identity check at the counter, then the change (or, for a
//! NIK that disagrees with the NIP, an exception request for a second officer).

use crate::backend::open;
use crate::context::lang;
use crate::output::{gender, kv, note, print_json, refuse, refused, usage, REFUSED};
use crate::prompt::Prompt;
use crate::Global;
use sapk_core::i18n::format_date;
use sapk_core::staff::{DocumentSeen, EmailChangeRequest};
use sapk_core::{Lang, Nik};
use serde_json::json;
use std::process::ExitCode;

/// `KIND` or `KIND=NUMBER`.
pub(crate) fn parse_document(raw: &str) -> Option<DocumentSeen> {
    match raw.split_once('=') {
        Some((k, n)) => DocumentSeen::new(k, Some(n)),
        None => DocumentSeen::new(raw, None),
    }
}

/// What a typed NIK says against the NIP.
enum NikVerdict {
    Missing,
    Agrees,
    /// Not a NIK: why.
    Invalid(String),
    /// A NIK, but its birth date or gender differs: both sides, for the officer.
    Disagrees(String),
}

fn nik_verdict(typed: &str, o: &sapk_core::staff::EmployeeOverview, l: Lang) -> NikVerdict {
    let f = &o.facts;
    match Nik::parse(typed) {
        Err(e) => NikVerdict::Invalid(e.text(l)),
        Ok(nik) => match nik.check_against(&o.nip) {
            Ok(()) => NikVerdict::Agrees,
            Err(_) => NikVerdict::Disagrees(match l {
                Lang::Id => format!(
                    "NIK tidak cocok dengan NIP. NIK: {}; NIP: lahir {}, {}",
                    nik.implied_text(l),
                    f.birth_date.format("%d-%m-%y"),
                    gender(f.gender, l)
                ),
                Lang::En => format!(
                    "the NIK does not match the NIP. NIK: {}; NIP: born {}, {}",
                    nik.implied_text(l),
                    f.birth_date.format("%d-%m-%y"),
                    gender(f.gender, l)
                ),
            }),
        },
    }
}

/// Sends a request the core is to refuse (and record): exit 1 with its reason.
async fn submit_refusal<F, Fut>(submit: F, request: EmailChangeRequest) -> anyhow::Result<ExitCode>
where
    F: FnOnce(EmailChangeRequest) -> Fut,
    Fut: std::future::Future<
        Output = Result<sapk_core::staff::EmailChangeOutcome, anyhow::Result<ExitCode>>,
    >,
{
    match submit(request).await {
        Ok(_) => Ok(ExitCode::from(REFUSED)),
        Err(code) => code,
    }
}

pub struct ChangeArgs<'a> {
    pub nip: &'a str,
    pub new_email: &'a str,
    pub nik: Option<&'a str>,
    pub documents: &'a [String],
    pub if_version: Option<u64>,
    pub yes: bool,
    pub email_shared: bool,
    pub exception: Option<&'a str>,
}

/// `email change`: the guided identity check, then the change. The NIK is checked against
/// the NIP as soon as it is typed, so the officer knows at once; the decision and its audit
/// record are the core's (here or behind the staff API).
pub async fn run(
    g: &Global,
    a: ChangeArgs<'_>,
    prompt: &mut dyn Prompt,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let documents = match checked_args(&a, l) {
        Ok(d) => d,
        Err(code) => return code,
    };
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !counter.is_api()
        && g.store == crate::StoreKind::Dynamodb
        && crate::context::env("SAPK_PII_KEY").is_none()
    {
        return usage(l.pick(
            "email change pada DynamoDB memerlukan SAPK_PII_KEY (NIK dan nomor dokumen disimpan sebagai hash berkunci)",
            "email change on DynamoDB needs SAPK_PII_KEY (the NIK and document numbers are stored as keyed hashes)",
        ));
    }
    let o = match counter.overview(a.nip, 5, Some(a.new_email), l).await {
        Ok(o) => o,
        Err(e) => return refused(g, e),
    };
    show_facts(g, &o, a.new_email, l);
    let who = crate::output::who(&o.name, &o.nip);
    let mut request = EmailChangeRequest {
        new_email: a.new_email.to_owned(),
        nik: None,
        documents,
        person_confirmed: a.yes,
        if_version: Some(a.if_version.unwrap_or(o.version)),
        email_shared_confirmed: a.email_shared,
        exception_reason: None,
    };
    let submit = |request: EmailChangeRequest| {
        let counter = &counter;
        let nip = o.nip.clone();
        async move {
            match counter.change_email(&nip, &request, l).await {
                Ok(out) => Ok(out),
                Err(e) => Err(refused(g, e)),
            }
        }
    };
    // An address that is not one is refused before any question (by the core, which
    // records it); so is a shared one the officer does not confirm.
    if sapk_core::Email::parse(a.new_email).is_err()
        || !confirm_shared(g, &a, &o, &mut request, prompt, &who)
    {
        return submit_refusal(submit, request).await;
    }
    let verdict = ask_nik(g, &a, &o, &mut request, prompt);
    let Some(exception) = decide_exception(g, &a, &verdict, &mut request, prompt, &who) else {
        return submit_refusal(submit, request).await;
    };
    if !a.yes {
        if let Err(code) = ask_documents(g, exception, &mut request, prompt) {
            return code;
        }
        confirm_person(&a, exception, &mut request, prompt, &who, l);
    }
    if exception {
        return super::exception::submit_request(g, &counter, &o, &request).await;
    }
    match submit(request).await {
        Ok(out) => print_changed(g, &out),
        Err(code) => code,
    }
}

/// The documents of `--document`, after the arguments `--yes` needs are all there.
fn checked_args(
    a: &ChangeArgs<'_>,
    l: Lang,
) -> Result<Vec<DocumentSeen>, anyhow::Result<ExitCode>> {
    if a.yes {
        // Everything --yes lacks, at once.
        let mut missing = Vec::new();
        if a.nik.is_none() {
            missing.push("--nik NIK");
        }
        if a.documents.is_empty() {
            missing.push("--document ktp");
        }
        if !missing.is_empty() {
            return Err(usage(&format!(
                "{} {}",
                l.pick("--yes memerlukan juga", "--yes also needs"),
                missing.join(", ")
            )));
        }
    }
    a.documents
        .iter()
        .map(|d| parse_document(d).ok_or_else(|| usage(&format!("--document {d:?}"))))
        .collect()
}

/// What the officer compares with the documents presented.
fn show_facts(g: &Global, o: &sapk_core::staff::EmployeeOverview, new_email: &str, l: Lang) {
    let f = &o.facts;
    let header = l.pick(
        "Bandingkan data berikut dengan KTP, Karpeg atau SK yang ditunjukkan:",
        "Compare these facts with the KTP, Karpeg or SK presented:",
    );
    let from_nip = l.pick("(dari NIP)", "(from NIP)");
    note(
        g,
        &format!(
            "{header}\n{}\n",
            kv(&[
                ("NIP".into(), o.nip.grouped()),
                (l.pick("Nama", "Name").into(), o.name.clone()),
                (
                    l.pick("Tanggal lahir", "Birth date").into(),
                    format!("{} {from_nip}", format_date(f.birth_date, l))
                ),
                (
                    l.pick("Jenis kelamin", "Gender").into(),
                    format!("{} {from_nip}", gender(f.gender, l))
                ),
                (
                    l.pick("Kepegawaian", "Appointment").into(),
                    format!("{} {from_nip}", f.appointment_text(l))
                ),
                (
                    l.pick("Email sekarang", "Current e-mail").into(),
                    o.email_masked.clone().unwrap_or_else(|| "-".into())
                ),
                (
                    l.pick("Email baru", "New e-mail").into(),
                    new_email.to_owned()
                ),
            ])
        ),
    );
}

/// An address other employees already have: said before any question, and used only with
/// an explicit confirmation. Whether to go on.
fn confirm_shared(
    g: &Global,
    a: &ChangeArgs<'_>,
    o: &sapk_core::staff::EmployeeOverview,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
    who: &str,
) -> bool {
    let l = lang(g);
    if (o.new_email_holders.is_empty() && o.new_email_elsewhere == 0)
        || request.email_shared_confirmed
    {
        return true;
    }
    let mut others = o.new_email_holders.join(", ");
    if o.new_email_elsewhere > 0 {
        if !others.is_empty() {
            others.push_str(", ");
        }
        others.push_str(l.pick(
            "dan pegawai lain di luar cakupan Anda",
            "and others outside your scope",
        ));
    }
    note(
        g,
        &format!(
            "{} {others}\n",
            l.pick(
                "PERHATIAN: alamat ini sudah dipakai pegawai lain, NIP",
                "WARNING: other employees already have this address, NIP"
            )
        ),
    );
    if !a.yes {
        let q = match l {
            Lang::Id => format!(
                "Tetap pakai {} untuk {who}, bersama pegawai tersebut?",
                a.new_email
            ),
            Lang::En => format!("Use {} for {who} anyway, shared with them?", a.new_email),
        };
        request.email_shared_confirmed = prompt.confirm(&q, l);
    }
    // Not confirmed: the core refuses and records it.
    request.email_shared_confirmed
}

/// The KTP's NIK, checked against the NIP at once. Typed at the prompt, it may be retyped (a
/// few tries), and a mismatch shows what the NIK says beside what the NIP says. A missing or
/// malformed NIK then goes to the core as it is: it refuses and records the refusal.
fn ask_nik(
    g: &Global,
    a: &ChangeArgs<'_>,
    o: &sapk_core::staff::EmployeeOverview,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
) -> NikVerdict {
    const NIK_TRIES: usize = 3;
    let l = lang(g);
    let tries = if a.nik.is_some() { 1 } else { NIK_TRIES };
    let mut verdict = NikVerdict::Missing;
    for attempt in 1..=tries {
        request.nik = match a.nik {
            Some(n) => Some(n.to_owned()),
            None => prompt.ask(l.pick(
                "NIK pada KTP (16 digit, spasi boleh): ",
                "NIK on the KTP (16 digits, spaces allowed): ",
            )),
        };
        let Some(typed) = request.nik.as_deref() else {
            break;
        };
        verdict = nik_verdict(typed, o, l);
        let problem = match &verdict {
            NikVerdict::Agrees | NikVerdict::Missing => break,
            NikVerdict::Invalid(p) | NikVerdict::Disagrees(p) => p,
        };
        if attempt < tries {
            note(
                g,
                &format!(
                    "{problem}. {}\n",
                    l.pick(
                        "Periksa KTP lalu ketik ulang.",
                        "Check the KTP and type it again."
                    )
                ),
            );
        }
    }
    verdict
}

/// Whether this becomes an exception request (a well-formed NIK that still disagrees, and
/// the officer asks for one), a plain change (`Some(false)`), or is refused (`None`: the core
/// refuses and records it).
fn decide_exception(
    g: &Global,
    a: &ChangeArgs<'_>,
    verdict: &NikVerdict,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
    who: &str,
) -> Option<bool> {
    let l = lang(g);
    match (verdict, a.exception) {
        (NikVerdict::Agrees, None) => {
            note(
                g,
                &format!(
                    "{}\n",
                    l.pick(
                        "NIK cocok dengan tanggal lahir dan jenis kelamin pada NIP.",
                        "The NIK agrees with the NIP's birth date and gender."
                    )
                ),
            );
            Some(false)
        }
        // Scripted: the officer asked for the exception; the core decides whether it is one.
        (_, Some(reason)) => {
            request.exception_reason = Some(reason.to_owned());
            Some(true)
        }
        (NikVerdict::Disagrees(p), None) if !a.yes => {
            note(g, &format!("{p}.\n"));
            let q = match l {
                Lang::Id => format!("NIK tetap tidak cocok. Bila tanggal lahir pada NIK memang salah tercatat di Dukcapil (ada surat keterangan Dukcapil atau akta kelahiran), ajukan pengecualian untuk {who}? Petugas lain atau supervisor harus menyetujuinya."),
                Lang::En => format!("The NIK still disagrees. If the NIK's birth date was recorded wrongly by Dukcapil (a Dukcapil letter or birth certificate is shown), ask for an exception for {who}? Another officer or a supervisor must approve it."),
            };
            prompt.confirm(&q, l).then_some(true)
        }
        _ => None,
    }
}

/// The documents examined, asked when none were given (the KTP among them; for an
/// exception, the proof of the birth date), each with its number.
fn ask_documents(
    g: &Global,
    exception: bool,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
) -> Result<(), anyhow::Result<ExitCode>> {
    let l = lang(g);
    if !request.documents.is_empty() {
        return Ok(());
    }
    let (q, default) = if exception {
        (
            l.pick(
                "Dokumen yang diperiksa, pisahkan dengan koma (ktp dan bukti tanggal lahir: akta_kelahiran, surat_dukcapil): ",
                "Documents examined, comma-separated (ktp and proof of the birth date: akta_kelahiran, surat_dukcapil): ",
            ),
            "",
        )
    } else {
        (
            l.pick(
                "Dokumen yang diperiksa, pisahkan dengan koma (ktp, karpeg, sk_cpns, sk_pns) [ktp]: ",
                "Documents examined, comma-separated (ktp, karpeg, sk_cpns, sk_pns) [ktp]: ",
            ),
            "ktp",
        )
    };
    let answer = prompt.ask(q).unwrap_or_default();
    let answer = if answer.trim().is_empty() {
        default.to_owned()
    } else {
        answer
    };
    for part in answer.split(',').filter(|p| !p.trim().is_empty()) {
        let Some(mut doc) = parse_document(part) else {
            return Err(refuse(
                g,
                "invalid_document",
                &format!(
                    "{}: {part:?}",
                    l.pick("dokumen tidak dikenal", "unknown document")
                ),
            ));
        };
        if doc.kind != "ktp" && doc.number.is_none() {
            let q = match l {
                Lang::Id => format!("Nomor {} (boleh kosong): ", doc.kind),
                Lang::En => format!("{} number (may be empty): ", doc.kind),
            };
            doc.number = prompt
                .ask(&q)
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
        }
        request.documents.push(doc);
    }
    Ok(())
}

/// The person against the documents, the exception's reason, and the change itself.
fn confirm_person(
    a: &ChangeArgs<'_>,
    exception: bool,
    request: &mut EmailChangeRequest,
    prompt: &mut dyn Prompt,
    who: &str,
    l: Lang,
) {
    let q = match l {
        Lang::Id => format!(
            "Apakah foto dan nama pada dokumen sesuai dengan orang di loket dan dengan {who}?"
        ),
        Lang::En => format!(
            "Do the photo and name on the documents match the person at the counter and {who}?"
        ),
    };
    request.person_confirmed = prompt.confirm(&q, l);
    if !request.person_confirmed {
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
    request.person_confirmed = prompt.confirm(&q, l);
}

/// Prints a done e-mail change (JSON, or what was changed and who was told).
pub fn print_changed(
    g: &Global,
    out: &sapk_core::staff::EmailChangeOutcome,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
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
