//! The in-person identity check at the counter, shared by `email change` and
//! `account remove-second-factor`: one clap argument group (`--nik`, `--document`, `--yes`),
//! the facts to compare with the KTP, and the questions (the NIK checked against the NIP as
//! soon as it is typed, the documents examined, the person against them). What it gathers is
//! the core's [`IdentityCheck`], flattened into both requests; the core decides and records.

use crate::context::Ctx;
use crate::error::CounterError;
use crate::output::{gender, kv};
use crate::prompt::Prompt;
use clap::Args;
use sapk_core::i18n::format_date;
use sapk_core::staff::{DocumentSeen, EmployeeOverview, IdentityCheck};
use sapk_core::{Lang, Nik};

/// The identity check's options, the same in every command that needs one.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// The NIK typed from the KTP shown (16 digits); checked against the NIP.
    #[arg(long)]
    pub nik: Option<String>,
    /// A document seen: ktp, karpeg, sk_cpns, sk_pns, kpe, paspor… optionally with its
    /// number as KIND=NUMBER (kept only masked and keyed-hashed). Repeatable.
    #[arg(long = "document", value_name = "KIND[=NUMBER]")]
    pub documents: Vec<String>,
    /// Confirm: the person matches the documents, and go ahead without asking.
    #[arg(long)]
    pub yes: bool,
}

impl IdentityArgs {
    /// The check as given on the command line, after what `--yes` needs is all there.
    pub fn given(&self, l: Lang) -> Result<IdentityCheck, CounterError> {
        if self.yes {
            // Everything --yes lacks, at once.
            let mut missing = Vec::new();
            if self.nik.is_none() {
                missing.push("--nik NIK");
            }
            if self.documents.is_empty() {
                missing.push("--document ktp");
            }
            if !missing.is_empty() {
                return Err(CounterError::usage(format!(
                    "{} {}",
                    l.pick("--yes memerlukan juga", "--yes also needs"),
                    missing.join(", ")
                )));
            }
        }
        let documents = self
            .documents
            .iter()
            .map(|d| {
                parse_document(d).ok_or_else(|| CounterError::usage(format!("--document {d:?}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(IdentityCheck {
            nik: self.nik.clone(),
            documents,
            person_confirmed: self.yes,
        })
    }
}

/// `KIND` or `KIND=NUMBER`.
pub fn parse_document(raw: &str) -> Option<DocumentSeen> {
    match raw.split_once('=') {
        Some((k, n)) => DocumentSeen::new(k, Some(n)),
        None => DocumentSeen::new(raw, None),
    }
}

/// Who the employee is by the NIP: the number, the name, and what the NIP itself says (birth
/// date, gender, appointment), each marked as read from the NIP.
pub fn nip_rows(o: &EmployeeOverview, l: Lang) -> Vec<(String, String)> {
    let f = &o.facts;
    let from_nip = l.pick("(dari NIP)", "(from NIP)");
    vec![
        ("NIP".into(), o.nip.grouped()),
        (l.pick("Nama", "Name").into(), o.name.clone()),
        (
            l.pick("Tanggal lahir", "Birth date").into(),
            format!("{} {from_nip}", format_date(f.birth_date, l)),
        ),
        (
            l.pick("Jenis kelamin", "Gender").into(),
            format!("{} {from_nip}", gender(f.gender, l)),
        ),
        (
            l.pick("Kepegawaian", "Appointment").into(),
            format!("{} {from_nip}", f.appointment_text(l)),
        ),
    ]
}

/// The facts from the NIP to compare with the documents presented, and `extra` rows.
pub fn show_facts(g: &Ctx, o: &EmployeeOverview, extra: &[(String, String)]) {
    let l = g.lang;
    let header = l.pick(
        "Bandingkan data berikut dengan KTP, Karpeg atau SK yang ditunjukkan:",
        "Compare these facts with the KTP, Karpeg or SK presented:",
    );
    let mut rows = nip_rows(o, l);
    rows.extend_from_slice(extra);
    g.note(&format!("{header}\n{}\n", kv(&rows)));
}

/// What a typed NIK says against the NIP.
pub enum NikVerdict {
    Missing,
    Agrees,
    /// Not a NIK: why.
    Invalid(String),
    /// A NIK, but its birth date or gender differs: both sides, for the officer.
    Disagrees(String),
}

fn nik_verdict(typed: &str, o: &EmployeeOverview, l: Lang) -> NikVerdict {
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

/// The KTP's NIK, checked against the NIP at once. Typed at the prompt, it may be retyped (a
/// few tries), and a mismatch shows what the NIK says beside what the NIP says. A missing or
/// malformed NIK then goes to the core as it is: it refuses and records the refusal.
pub fn ask_nik(
    g: &Ctx,
    o: &EmployeeOverview,
    check: &mut IdentityCheck,
    prompt: &mut dyn Prompt,
) -> NikVerdict {
    const NIK_TRIES: usize = 3;
    let l = g.lang;
    let given = check.nik.clone();
    let tries = if given.is_some() { 1 } else { NIK_TRIES };
    let mut verdict = NikVerdict::Missing;
    for attempt in 1..=tries {
        check.nik = match &given {
            Some(n) => Some(n.clone()),
            None => prompt.ask(l.pick(
                "NIK pada KTP (16 digit, spasi boleh): ",
                "NIK on the KTP (16 digits, spaces allowed): ",
            )),
        };
        let Some(typed) = check.nik.as_deref() else {
            break;
        };
        verdict = nik_verdict(typed, o, l);
        let problem = match &verdict {
            NikVerdict::Agrees | NikVerdict::Missing => break,
            NikVerdict::Invalid(p) | NikVerdict::Disagrees(p) => p,
        };
        if attempt < tries {
            g.note(&format!(
                "{problem}. {}\n",
                l.pick(
                    "Periksa KTP lalu ketik ulang.",
                    "Check the KTP and type it again."
                )
            ));
        }
    }
    verdict
}

/// The documents examined, asked when none were given (the KTP among them; for an
/// exception, the proof of the birth date), each with its number.
pub fn ask_documents(
    g: &Ctx,
    kind: sapk_core::nip::NipKind,
    exception: bool,
    check: &mut IdentityCheck,
    prompt: &mut dyn Prompt,
) -> Result<(), CounterError> {
    let l = g.lang;
    if !check.documents.is_empty() {
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
    } else if kind == sapk_core::nip::NipKind::Pppk {
        // A PPPK has no karpeg, SK CPNS or SK PNS: the appointment and the work agreement.
        (
            l.pick(
                "Dokumen yang diperiksa, pisahkan dengan koma (ktp, sk_pppk, perjanjian_kerja) [ktp]: ",
                "Documents examined, comma-separated (ktp, sk_pppk, perjanjian_kerja) [ktp]: ",
            ),
            "ktp",
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
            return Err(CounterError::refused(
                "invalid_document",
                format!(
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
        check.documents.push(doc);
    }
    Ok(())
}

/// Asks whether the person at the counter matches the documents and the employee `who`.
pub fn confirm_person(check: &mut IdentityCheck, prompt: &mut dyn Prompt, who: &str, l: Lang) {
    let q = match l {
        Lang::Id => format!(
            "Apakah foto dan nama pada dokumen sesuai dengan orang di loket dan dengan {who}?"
        ),
        Lang::En => format!(
            "Do the photo and name on the documents match the person at the counter and {who}?"
        ),
    };
    check.person_confirmed = prompt.confirm(&q, l);
}
