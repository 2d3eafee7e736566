//! `account unlock NIP`: clears the login lock-out. `account remove-second-factor NIP`:
//! removes a lost authenticator after the in-person identity check.

use crate::backend::open;
use crate::context::lang;
use crate::output::{kv, note, print_json, refused, usage};
use crate::prompt::{Prompt, StdPrompt};
use crate::Global;
use clap::Subcommand;
use sapk_core::i18n::format_date;
use sapk_core::staff::factor_removal::FactorRemovalRequest;
use serde_json::json;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Clear the login lock-out and failure count.
    Unlock {
        /// The employee's NIP.
        nip: String,
    },
    /// Remove a lost authenticator app (two-step login) after checking the employee's
    /// identity in person, as for an e-mail change. Every session ends; the employee signs
    /// in with the password and may set up a new authenticator.
    RemoveSecondFactor {
        /// The employee's NIP.
        nip: String,
        /// The NIK on the KTP presented (checked against the NIP).
        #[arg(long)]
        nik: Option<String>,
        /// A document examined, `KIND` or `KIND=NUMBER` (repeat; the KTP is required).
        #[arg(long = "document", value_name = "KIND[=NUMBER]")]
        documents: Vec<String>,
        /// Only if the account is still at this version (from `employee show`).
        #[arg(long)]
        if_version: Option<u64>,
        /// The person matches the photo and name on the documents (no question asked).
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(g: &Global, cmd: &AccountCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        AccountCmd::Unlock { nip } => unlock(g, nip).await,
        AccountCmd::RemoveSecondFactor {
            nip,
            nik,
            documents,
            if_version,
            yes,
        } => {
            remove_second_factor(
                g,
                nip,
                nik.as_deref(),
                documents,
                *if_version,
                *yes,
                &mut StdPrompt,
            )
            .await
        }
    }
}

/// The identity check, then the removal; the decision and its audit record are the core's
/// (here or behind the staff API).
async fn remove_second_factor(
    g: &Global,
    nip: &str,
    nik: Option<&str>,
    documents: &[String],
    if_version: Option<u64>,
    yes: bool,
    prompt: &mut dyn Prompt,
) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let Some(nik) = nik else {
        return usage(l.pick(
            "--nik NIK (dari KTP yang ditunjukkan) wajib diisi",
            "--nik NIK (from the KTP presented) is required",
        ));
    };
    let mut docs = Vec::new();
    for d in documents {
        match crate::cmd::email::change::parse_document(d) {
            Some(doc) => docs.push(doc),
            None => return usage(&format!("--document {d:?}")),
        }
    }
    let counter = match open(g, true).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let o = match counter.overview(nip, 0, None, l).await {
        Ok(o) => o,
        Err(e) => return refused(g, e),
    };
    note(
        g,
        &format!(
            "{}\n{}\n",
            l.pick(
                "Bandingkan data berikut dengan KTP yang ditunjukkan:",
                "Compare these facts with the KTP presented:",
            ),
            kv(&[
                ("NIP".into(), o.nip.grouped()),
                (l.pick("Nama", "Name").into(), o.name.clone()),
                (
                    l.pick("Tanggal lahir", "Birth date").into(),
                    format_date(o.facts.birth_date, l)
                ),
            ])
        ),
    );
    let person_confirmed = yes
        || prompt.confirm(
            l.pick(
                "Orang di depan Anda cocok dengan foto dan nama pada KTP, dan pemilik akun ini?",
                "Does the person in front of you match the photo and name on the KTP, and own this account?",
            ),
            l,
        );
    let req = FactorRemovalRequest {
        nik: Some(nik.to_owned()),
        documents: docs,
        person_confirmed,
        if_version: if_version.or(Some(o.version)),
    };
    match counter.remove_second_factor(&o.nip, &req, l).await {
        Ok(out) => {
            print_removed(g, &out);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => refused(g, e),
    }
}

/// A done removal (JSON, or what happened and whether the employee was told).
fn print_removed(g: &Global, out: &sapk_core::staff::factor_removal::FactorRemoval) {
    let l = lang(g);
    if g.json {
        print_json(&json!({ "ok": true, "outcome": out }));
        return;
    }
    say!(
        "{}",
        l.pick(
            "Verifikasi dua langkah dihapus; semua sesi diakhiri. Pegawai dapat masuk dengan password lalu memasang aplikasi authenticator baru.",
            "Two-step login removed; every session ended. The employee can sign in with the password and set up a new authenticator app.",
        )
    );
    if out.notified == Some(false) {
        say!(
            "{}",
            l.pick(
                "Pemberitahuan ke email pegawai belum terkirim.",
                "The notice to the employee's e-mail was not sent.",
            )
        );
    }
}

async fn unlock(g: &Global, nip: &str) -> anyhow::Result<ExitCode> {
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
