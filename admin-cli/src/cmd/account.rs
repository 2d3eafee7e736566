//! `account unlock NIP`: clears the login lock-out. `account remove-second-factor NIP` and
//! `account remove-passkeys NIP`: remove a lost authenticator, or a lost device's passkeys,
//! after the in-person identity check.

use crate::cmd::identity::{ask_documents, ask_nik, confirm_person, show_facts, IdentityArgs};
use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::CmdResult;
use crate::help::Page;
use crate::output::print_json;
use crate::prompt::{Prompt, StdPrompt};
use clap::Subcommand;
use sapk_core::staff::factor_removal::FactorRemovalRequest;
use sapk_core::staff::passkey_removal::PasskeyRemovalRequest;
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
    /// in with the password and may set up a new authenticator. Without --yes it asks for
    /// whatever is not given.
    RemoveSecondFactor {
        /// The employee's NIP.
        nip: String,
        #[command(flatten)]
        identity: IdentityArgs,
        /// Only if the account is still at this version (from `employee show`).
        #[arg(long)]
        if_version: Option<u64>,
    },
    /// Remove the passkeys of a lost or stolen device after checking the employee's identity
    /// in person, as for an e-mail change: every passkey, or the one given. Every session
    /// ends. Without --yes it asks for whatever is not given.
    RemovePasskeys {
        /// The employee's NIP.
        nip: String,
        /// Only this passkey (its ID, from `employee show --json`).
        #[arg(long = "passkey-id")]
        passkey_id: Option<String>,
        #[command(flatten)]
        identity: IdentityArgs,
        /// Only if the account is still at this version (from `employee show`).
        #[arg(long)]
        if_version: Option<u64>,
    },
}

pub async fn run(g: &Ctx, cmd: &AccountCmd) -> CmdResult {
    match cmd {
        AccountCmd::Unlock { nip } => unlock(g, nip).await,
        AccountCmd::RemoveSecondFactor {
            nip,
            identity,
            if_version,
        } => remove_second_factor(g, nip, identity, *if_version, &mut StdPrompt).await,
        AccountCmd::RemovePasskeys {
            nip,
            passkey_id,
            identity,
            if_version,
        } => {
            let what = Removing {
                nip,
                passkey_id: passkey_id.as_deref(),
                identity,
                if_version: *if_version,
            };
            remove_passkeys(g, what, &mut StdPrompt).await
        }
    }
}

/// What `account remove-passkeys` was given.
struct Removing<'a> {
    nip: &'a str,
    passkey_id: Option<&'a str>,
    identity: &'a IdentityArgs,
    if_version: Option<u64>,
}

/// The identity check, then the removal of the passkeys, as for a lost authenticator.
async fn remove_passkeys(g: &Ctx, what: Removing<'_>, prompt: &mut dyn Prompt) -> CmdResult {
    let l = g.lang;
    let mut check = what.identity.given(l)?;
    let counter = Counter::open(g, true).await?;
    let o = counter.overview(what.nip, 0, None).await?;
    show_facts(g, &o, &[]);
    let who = crate::output::who(&o.name, &o.nip);
    if !what.identity.yes {
        ask_nik(g, &o, &mut check, prompt);
        ask_documents(g, o.facts.kind, false, &mut check, prompt)?;
        confirm_person(&mut check, prompt, &who, l);
    }
    let req = PasskeyRemovalRequest {
        identity: check,
        id: what.passkey_id.map(str::to_owned),
        if_version: what.if_version.or(Some(o.version)),
    };
    let out = counter.remove_passkeys(&o.nip, &req).await?;
    if g.json {
        print_json(&json!({ "ok": true, "outcome": out }));
        return Ok(ExitCode::SUCCESS);
    }
    say!(
        "{} {}",
        l.pick("Passkey dihapus:", "Passkeys removed:"),
        out.removed
            .iter()
            .map(|n| sapk_core::i18n::printable(n))
            .collect::<Vec<_>>()
            .join(", ")
    );
    say!(
        "{}",
        l.pick(
            "Semua sesi diakhiri. Pegawai masuk dengan password (atau passkey lain) lalu dapat menambahkan passkey baru.",
            "Every session ended. The employee signs in with the password (or another passkey) and can add a new passkey.",
        )
    );
    Ok(ExitCode::SUCCESS)
}

/// The identity check (as for an e-mail change), then the removal; the decision and its
/// audit record are the core's (here or behind the staff API).
async fn remove_second_factor(
    g: &Ctx,
    nip: &str,
    identity: &IdentityArgs,
    if_version: Option<u64>,
    prompt: &mut dyn Prompt,
) -> CmdResult {
    let l = g.lang;
    let mut check = identity.given(l)?;
    let counter = Counter::open(g, true).await?;
    let o = counter.overview(nip, 0, None).await?;
    show_facts(g, &o, &[]);
    let who = crate::output::who(&o.name, &o.nip);
    if !identity.yes {
        ask_nik(g, &o, &mut check, prompt);
        ask_documents(g, o.facts.kind, false, &mut check, prompt)?;
        confirm_person(&mut check, prompt, &who, l);
    }
    let req = FactorRemovalRequest {
        identity: check,
        if_version: if_version.or(Some(o.version)),
    };
    let out = counter.remove_second_factor(&o.nip, &req).await?;
    print_removed(g, &out);
    Ok(ExitCode::SUCCESS)
}

/// A done removal (JSON, or what happened and whether the employee was told).
fn print_removed(g: &Ctx, out: &sapk_core::staff::factor_removal::FactorRemoval) {
    let l = g.lang;
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

async fn unlock(g: &Ctx, nip: &str) -> CmdResult {
    let l = g.lang;
    let counter = Counter::open(g, true).await?;
    let was_locked = counter.unlock(nip).await?;
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

/// This command's help in Indonesian, with an example (`help::localise` lays it over the
/// English of the doc comments).
pub const HELP: &[Page] = &[
    Page {
        path: &["account"],
        about_id: "Akun di loket: buka kunci login, atau hapus aplikasi authenticator atau passkey dari perangkat yang hilang setelah pemeriksaan identitas.",
        example: "sapk-admin account unlock 198609262015051001",
    },
    Page {
        path: &["account", "unlock"],
        about_id: "Buka kunci login dan hapus hitungan gagal login.",
        example: "sapk-admin account unlock 198609262015051001",
    },
    Page {
        path: &["account", "remove-passkeys"],
        about_id: "Hapus passkey dari perangkat yang hilang atau dicuri, setelah memeriksa identitas pegawai secara langsung seperti pada ganti email (KTP dan NIK): semua passkey, atau satu dengan --passkey-id. Semua sesi diakhiri.",
        example: "sapk-admin account remove-passkeys 198609262015051001 --nik 3174052609860001 --document ktp",
    },
    Page {
        path: &["account", "remove-second-factor"],
        about_id: "Hapus aplikasi authenticator (verifikasi dua langkah) yang hilang, setelah memeriksa identitas pegawai secara langsung seperti pada ganti email (KTP dan NIK). Semua sesi diakhiri; pegawai masuk dengan password lalu dapat memasang authenticator baru.",
        example: "sapk-admin account remove-second-factor 198609262015051001 --nik 3174052609860001 --document ktp",
    },
];
