//! The counter workflow: identity check and e-mail change, unlock, session revoke, audit.

use crate::backend::{refusal_json, Counter, CounterError, OpenError};
use crate::commands::{audit_table, lang, print_json, refuse, REFUSED};
use crate::text::{gender, kv};
use crate::Global;
use sapk_core::i18n::format_date;
use sapk_core::staff::{DocumentSeen, EmailChangeRequest, Operator};
use sapk_core::{Lang, Nik};
use serde_json::json;
use std::io::{BufRead, Write};
use std::process::ExitCode;

pub const USAGE: u8 = 2;

/// Questions to the officer. The terminal implementation writes to stderr (stdout stays
/// clean for `--json`) and reads one line from stdin; end of input answers "no".
pub trait Prompt {
    fn ask(&mut self, question: &str) -> Option<String>;

    fn confirm(&mut self, question: &str, lang: Lang) -> bool {
        let hint = lang.pick("[y/T]", "[y/N]");
        matches!(
            self.ask(&format!("{question} {hint} "))
                .map(|a| a.trim().to_lowercase())
                .as_deref(),
            Some("y" | "ya" | "yes")
        )
    }
}

pub struct StdPrompt;

impl Prompt for StdPrompt {
    fn ask(&mut self, question: &str) -> Option<String> {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "{question}");
        let _ = err.flush();
        let mut line = String::new();
        match std::io::stdin().lock().read_line(&mut line) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        }
    }
}

/// Mutating actions need an explicit operator and office.
pub fn operator_required(g: &Global) -> Result<Operator, String> {
    match (&g.operator, &g.office) {
        (Some(id), Some(office)) if !id.trim().is_empty() && !office.trim().is_empty() => Ok(Operator {
            id: id.trim().to_owned(),
            office: office.trim().to_owned(),
        }),
        _ => Err(lang(g)
            .pick(
                "tindakan ini wajib menyebut petugas: --operator ID dan --office KODE (atau SAPK_OPERATOR dan SAPK_OFFICE)",
                "this action needs the operator: --operator ID and --office CODE (or SAPK_OPERATOR and SAPK_OFFICE)",
            )
            .to_owned()),
    }
}

pub fn usage(msg: &str) -> anyhow::Result<ExitCode> {
    eprintln!("sapk-admin: {msg}");
    Ok(ExitCode::from(USAGE))
}

/// Officer-facing text, to stderr when stdout carries JSON.
fn note(g: &Global, text: &str) {
    if g.json {
        eprint!("{text}");
    } else {
        say_raw!("{text}");
    }
}

/// `KIND` or `KIND=NUMBER`.
fn parse_document(raw: &str) -> Option<DocumentSeen> {
    match raw.split_once('=') {
        Some((k, n)) => DocumentSeen::new(k, Some(n)),
        None => DocumentSeen::new(raw, None),
    }
}

/// Prints a refusal (JSON with its reason, or a line on stderr) and returns exit code 1; a
/// failure to act at all is an error (also exit 1).
pub fn refused(g: &Global, e: CounterError) -> anyhow::Result<ExitCode> {
    match e {
        CounterError::Refused(r) => {
            if g.json {
                print_json(&refusal_json(&r));
            } else {
                eprintln!("{}: {}", lang(g).pick("Ditolak", "Refused"), r.text);
            }
            Ok(ExitCode::from(REFUSED))
        }
        CounterError::Failed(e) => Err(e),
    }
}

/// Opens the counter, or the exit code of why not.
pub async fn open(g: &Global, mutating: bool) -> Result<Counter, anyhow::Result<ExitCode>> {
    Counter::open(g, mutating).await.map_err(OpenError::exit)
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
pub async fn email_change(
    g: &Global,
    a: ChangeArgs<'_>,
    prompt: &mut dyn Prompt,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
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
            return usage(&format!(
                "{} {}",
                l.pick("--yes memerlukan juga", "--yes also needs"),
                missing.join(", ")
            ));
        }
    }
    let mut documents = Vec::new();
    for d in a.documents {
        match parse_document(d) {
            Some(doc) => documents.push(doc),
            None => return usage(&format!("--document {d:?}")),
        }
    }
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    if !counter.is_api()
        && g.store == crate::StoreKind::Dynamodb
        && crate::commands::env("SAPK_PII_KEY").is_none()
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
                    a.new_email.to_owned()
                ),
            ])
        ),
    );
    let who = format!(
        "{} (NIP {})",
        sapk_core::i18n::printable(&o.name),
        o.nip.masked()
    );
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
    // records it).
    if sapk_core::Email::parse(a.new_email).is_err() {
        return match submit(request).await {
            Ok(_) => Ok(ExitCode::from(REFUSED)),
            Err(code) => code,
        };
    }

    // An address other employees already have: said before any question, and used only
    // with an explicit confirmation.
    if !o.new_email_holders.is_empty() && !request.email_shared_confirmed {
        let others = o.new_email_holders.join(", ");
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
        if !request.email_shared_confirmed {
            // The core refuses and records it.
            return match submit(request).await {
                Ok(_) => Ok(ExitCode::from(REFUSED)),
                Err(code) => code,
            };
        }
    }

    // The KTP's NIK, checked against the NIP at once. Typed at the prompt, it may be retyped
    // (a few tries), and a mismatch shows what the NIK says beside what the NIP says. A
    // missing or malformed NIK then goes to the core as it is: it refuses and records the
    // refusal. A well-formed NIK that still disagrees may become an exception request.
    const NIK_TRIES: usize = 3;
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
        verdict = nik_verdict(typed, &o, l);
        let problem = match &verdict {
            NikVerdict::Agrees => break,
            NikVerdict::Missing => break,
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
    let exception = match (&verdict, a.exception) {
        (NikVerdict::Agrees, None) => false,
        // Scripted: the officer asked for the exception; the core decides whether it is one.
        (_, Some(reason)) => {
            request.exception_reason = Some(reason.to_owned());
            true
        }
        (NikVerdict::Disagrees(p), None) if !a.yes => {
            note(g, &format!("{p}.\n"));
            let q = match l {
                Lang::Id => format!("NIK tetap tidak cocok. Bila tanggal lahir pada NIK memang salah tercatat di Dukcapil (ada surat keterangan Dukcapil atau akta kelahiran), ajukan pengecualian untuk {who}? Petugas lain atau supervisor harus menyetujuinya."),
                Lang::En => format!("The NIK still disagrees. If the NIK's birth date was recorded wrongly by Dukcapil (a Dukcapil letter or birth certificate is shown), ask for an exception for {who}? Another officer or a supervisor must approve it."),
            };
            if !prompt.confirm(&q, l) {
                return submit_refusal(submit, request).await;
            }
            true
        }
        _ => return submit_refusal(submit, request).await,
    };
    if !exception {
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
    }

    if !a.yes {
        // The documents first (the KTP among them), then the person against them.
        if request.documents.is_empty() {
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
                    return refuse(
                        g,
                        &format!(
                            "{}: {part:?}",
                            l.pick("dokumen tidak dikenal", "unknown document")
                        ),
                    );
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
        }
        let q = match l {
            Lang::Id => format!(
                "Apakah foto dan nama pada dokumen sesuai dengan orang di loket dan dengan {who}?"
            ),
            Lang::En => format!(
                "Do the photo and name on the documents match the person at the counter and {who}?"
            ),
        };
        request.person_confirmed = prompt.confirm(&q, l);
        if request.person_confirmed && exception && request.exception_reason.is_none() {
            request.exception_reason = prompt.ask(l.pick(
                "Alasan pengecualian (dokumen apa yang menunjukkan tanggal lahir sebenarnya): ",
                "Reason for the exception (which document shows the true birth date): ",
            ));
        }
        if request.person_confirmed {
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
    }
    if exception {
        return crate::exception::submit_request(g, &counter, &o, &request).await;
    }
    match submit(request).await {
        Ok(out) => print_changed(g, &out),
        Err(code) => code,
    }
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
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn unlock(g: &Global, nip: &str) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match counter.unlock(nip, l).await {
        Ok(was_locked) => {
            if g.json {
                print_json(&json!({ "ok": true, "was_locked": was_locked }));
            } else if was_locked {
                say!(
                    "{}",
                    l.pick("Kunci login dibuka.", "Login lock-out cleared.")
                );
            } else {
                say!(
                    "{}",
                    l.pick(
                        "Akun tidak terkunci; hitungan gagal login dihapus.",
                        "The account was not locked; the failure count was cleared."
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}

pub async fn revoke(
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
    if !yes {
        // The question names the employee; an unknown NIP is refused before it.
        let o = match counter.overview(nip, 1, None, l).await {
            Ok(o) => o,
            Err(e) => return refused(g, e),
        };
        let who = format!(
            "{} (NIP {})",
            sapk_core::i18n::printable(&o.name),
            o.nip.masked()
        );
        let q = match l {
            Lang::Id => format!("Akhiri semua sesi login (dan kode reset aktif) {who}?"),
            Lang::En => format!("End every login session (and any active reset code) of {who}?"),
        };
        if !prompt.confirm(&q, l) {
            return refuse(
                g,
                l.pick(
                    "dibatalkan; tidak ada yang diubah",
                    "cancelled; nothing was changed",
                ),
            );
        }
    }
    match counter.revoke(nip, l).await {
        Ok(()) => {
            if g.json {
                print_json(&json!({ "ok": true }));
            } else {
                say!(
                    "{}",
                    l.pick(
                        "Semua sesi login diakhiri.",
                        "Every login session was ended."
                    )
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}

pub async fn audit(g: &Global, nip: &str, limit: usize) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let counter = match open(g, false).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    match counter.audit(nip, limit, l).await {
        Ok(events) => {
            if g.json {
                print_json(&serde_json::to_value(&events)?);
            } else {
                say_raw!("{}", audit_table(&events, l, crate::commands::zone(g)));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}
