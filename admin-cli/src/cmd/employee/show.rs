//! `employee show NIP`: what the counter needs to know of an employee.

use crate::cmd::audit::audit_table;
use crate::context::Ctx;
use crate::counter::Counter;
use crate::error::CmdResult;
use crate::output::{kv, print_json};
use sapk_core::i18n::Zone;
use sapk_core::Lang;

use std::process::ExitCode;

pub async fn run(g: &Ctx, nip: &str, audit_limit: usize) -> CmdResult {
    let l = g.lang;
    let z = g.zone;
    let counter = Counter::open(g, false).await?;
    let o = counter.overview(nip, audit_limit, None).await?;
    if g.json {
        print_json(&serde_json::to_value(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = who_rows(&o, l, z);
    rows.extend(state_rows(&o, l, z));
    say_raw!("{}", kv(&rows));
    say!("");
    say!(
        "{}",
        l.pick("Riwayat audit terbaru:", "Recent audit events:")
    );
    say_raw!("{}", audit_table(&o.recent_audit, l, z));
    Ok(ExitCode::SUCCESS)
}

type Rows = Vec<(String, String)>;

/// Who the employee is: the NIP's facts, the agency, the e-mail and its last news.
fn who_rows(o: &sapk_core::staff::EmployeeOverview, l: Lang, z: Zone) -> Rows {
    let format_wib =
        |t: chrono::DateTime<chrono::Utc>, l: Lang| sapk_core::i18n::format_in(t, l, z);
    let mut rows = crate::cmd::identity::nip_rows(o, l);
    rows.extend([
        (
            l.pick("Instansi", "Agency").into(),
            o.instansi.clone().unwrap_or_else(|| "-".into()),
        ),
        (
            "Email".into(),
            match (&o.email_masked, &o.email) {
                (Some(m), Some(full)) => format!("{m} ({}: {full})", l.pick("lengkap", "full")),
                _ => l.pick("tidak ada", "none").into(),
            },
        ),
        (
            l.pick(
                "Email diverifikasi di loket",
                "E-mail verified at a counter",
            )
            .into(),
            match o.email_verified_at {
                Some(t) => format_wib(t, l),
                None => l.pick("belum", "no").into(),
            },
        ),
        (
            l.pick("Email terakhir", "Last e-mail").into(),
            o.mail_status
                .as_ref()
                .map_or_else(|| "-".to_owned(), |m| m.describe(l, z)),
        ),
    ]);
    rows
}

/// The account's state: activation, lock-out, two-step login, the live code, the password.
fn state_rows(o: &sapk_core::staff::EmployeeOverview, l: Lang, z: Zone) -> Rows {
    let format_wib =
        |t: chrono::DateTime<chrono::Utc>, l: Lang| sapk_core::i18n::format_in(t, l, z);
    let when =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_owned(), |t| format_wib(t, l));
    vec![
        (
            l.pick("Status akun", "Account state").into(),
            match o.locked_until {
                Some(_) => format!(
                    "{}, {}",
                    o.state.text(l),
                    l.pick("LOGIN TERKUNCI", "LOGINS LOCKED")
                ),
                None => o.state.text(l).into(),
            },
        ),
        (
            l.pick("Kunci login", "Login lock").into(),
            lock_text(o, l, z),
        ),
        (
            l.pick("Gagal login", "Failed logins").into(),
            o.login_failures.to_string(),
        ),
        (
            l.pick("Verifikasi dua langkah", "Two-step login").into(),
            if o.second_factor {
                l.pick(
                    "aktif (aplikasi authenticator); hapus bila hilang: account remove-second-factor",
                    "on (authenticator app); remove a lost one: account remove-second-factor",
                )
            } else {
                l.pick("tidak aktif", "off")
            }
            .into(),
        ),
        (
            "Passkey".into(),
            if o.passkeys.is_empty() {
                l.pick("tidak ada", "none").to_owned()
            } else {
                let names: Vec<String> = o
                    .passkeys
                    .iter()
                    .map(|p| sapk_core::i18n::printable(&p.name))
                    .collect();
                format!(
                    "{}; {}",
                    names.join(", "),
                    l.pick(
                        "hapus bila perangkat hilang: account remove-passkeys",
                        "remove a lost device's: account remove-passkeys"
                    )
                )
            },
        ),
        (
            l.pick("Kode reset aktif", "Active reset code").into(),
            match &o.active_code {
                Some(c) => match l {
                    Lang::Id => format!(
                        "ada, berlaku sampai {}, sisa {} percobaan",
                        format_wib(c.expires_at, l),
                        c.attempts_left
                    ),
                    Lang::En => format!(
                        "yes, valid until {}, {} tries left",
                        format_wib(c.expires_at, l),
                        c.attempts_left
                    ),
                },
                None => l.pick("tidak ada", "none").into(),
            },
        ),
        (
            l.pick("Ganti password terakhir", "Last password change")
                .into(),
            when(o.password_changed_at),
        ),
    ]
}

/// The lock-out as the officer needs it: until when (in the office's zone), from where, and
/// the command that lifts it.
fn lock_text(o: &sapk_core::staff::EmployeeOverview, l: Lang, z: Zone) -> String {
    let Some(until) = o.locked_until else {
        return l.pick("tidak terkunci", "not locked").into();
    };
    let at = sapk_core::i18n::format_in(until, l, z);
    let nip = o.nip.as_str();
    match (&o.locked_source, l) {
        (Some(src), Lang::Id) => format!(
            "terkunci sampai {at} untuk alamat {src} (dari alamat lain masih bisa masuk); bila pegawai ada di loket dan identitasnya sudah diperiksa: sapk-admin account unlock {nip}"
        ),
        (Some(src), Lang::En) => format!(
            "locked until {at} for address {src} (other addresses can still log in); if the employee is at the counter and identified: sapk-admin account unlock {nip}"
        ),
        (None, Lang::Id) => format!(
            "terkunci sampai {at} dari semua alamat; bila pegawai ada di loket dan identitasnya sudah diperiksa: sapk-admin account unlock {nip}"
        ),
        (None, Lang::En) => format!(
            "locked until {at} from every address; if the employee is at the counter and identified: sapk-admin account unlock {nip}"
        ),
    }
}
