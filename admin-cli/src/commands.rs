//! Each command: parse, call the core, print a table (or `--json`), pick the exit code.

use crate::text::{gender, kv, table};
use crate::{
    AccountCmd, Cli, Command, EmailCmd, EmployeeCmd, Global, LangArg, SessionCmd, StoreKind,
    TablesCmd,
};
use anyhow::Context;
use sapk_core::i18n::format_date;
use sapk_core::ports::SystemClock;
use sapk_core::staff::{AccountState, Operator};
use sapk_core::{Config, Lang, Service, TokenKey};
use sapk_embedded::{DataDir, DEFAULT_MAIL_FROM};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

pub const REFUSED: u8 = 1;

pub fn zone(g: &Global) -> sapk_core::i18n::Zone {
    use sapk_core::i18n::Zone;
    match g.tz {
        Some(crate::TzArg::Wib) => Zone::Wib,
        Some(crate::TzArg::Wita) => Zone::Wita,
        Some(crate::TzArg::Wit) => Zone::Wit,
        None => g
            .office
            .as_deref()
            .and_then(Zone::of_office)
            .unwrap_or_default(),
    }
}

pub fn lang(g: &Global) -> Lang {
    match g.lang {
        LangArg::Id => Lang::Id,
        LangArg::En => Lang::En,
    }
}

/// The name of the signed-in OS user: `$USER`, else `id -un` (a service or `sudo -u`
/// session may have no `$USER`), else the numeric id.
fn os_user() -> String {
    if let Some(u) = env("USER") {
        return u;
    }
    let id = |arg: &str| {
        std::process::Command::new("id")
            .arg(arg)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    id("-un")
        .or_else(|| id("-u").map(|n| format!("uid-{n}")))
        .unwrap_or_else(|| "unknown".into())
}

/// The operator for read-only and import commands: the given identity, or the OS user.
pub fn operator_or_os_user(g: &Global) -> Operator {
    Operator {
        id: g
            .operator
            .clone()
            .unwrap_or_else(|| format!("os:{}", os_user())),
        office: g.office.clone().unwrap_or_else(|| "UNSPECIFIED".into()),
    }
}

/// A set, non-blank environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The service on the store `g` names. An embedded data folder without a store is refused:
/// a mistyped or missing `--data-dir` must not quietly start an empty one.
pub async fn service(g: &Global) -> anyhow::Result<Service> {
    open_service(g, false).await
}

/// [`service`], creating the embedded store when `create` (`init`, `employee import --init`).
pub async fn open_service(g: &Global, create: bool) -> anyhow::Result<Service> {
    let config = Config::from_env().context("reading SAPK_* configuration")?;
    match g.store {
        StoreKind::Sqlite => {
            if !create && !g.data_dir.join(sapk_embedded::DB_FILE).exists() {
                anyhow::bail!(
                    "{} {}",
                    g.data_dir.display(),
                    lang(g).pick(
                        "belum berisi penyimpanan SAPK. Periksa folder kerja atau --data-dir (SAPK_DATA_DIR); penyimpanan baru hanya dibuat dengan `sapk-admin init` atau `employee import --init`.",
                        "holds no SAPK store. Check the working folder or --data-dir (SAPK_DATA_DIR); a new store is only created by `sapk-admin init` or `employee import --init`.",
                    )
                );
            }
            let key = match std::env::var("SAPK_TOKEN_KEY") {
                Ok(v) => Some(TokenKey::from_base64(&v).context("SAPK_TOKEN_KEY")?),
                Err(_) => None,
            };
            let pii_key = match env("SAPK_PII_KEY") {
                Some(v) => Some(TokenKey::from_secret_text(&v).context("SAPK_PII_KEY")?),
                None => None,
            };
            let from = std::env::var("SAPK_MAIL_FROM").unwrap_or_else(|_| DEFAULT_MAIL_FROM.into());
            let data = DataDir::open_with_keys(&g.data_dir, &from, key, pii_key)
                .with_context(|| format!("opening {}", g.data_dir.display()))?;
            Ok(Service::new(
                Arc::new(data.store),
                Arc::new(data.outbox),
                Arc::new(SystemClock),
                config,
                data.key,
            )?
            .with_pii_key(data.pii_key))
        }
        StoreKind::Dynamodb => {
            let sdk = sapk_aws::sdk_config().await;
            let tables = sapk_aws::TableNames::from_env_or_default(&|k| env(k));
            let store = sapk_aws::DynamoStore::new(sapk_aws::dynamodb_client(&sdk), tables);
            let from = env("SAPK_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.into());
            let mailer = sapk_aws::SesMailer::new(
                sapk_aws::sesv2_client(&sdk),
                from,
                env("SAPK_SES_CONFIGURATION_SET"),
            );
            let key = match env("SAPK_TOKEN_KEY") {
                Some(v) => TokenKey::from_secret_text(&v).context("SAPK_TOKEN_KEY")?,
                // Nothing this tool stores is keyed with it unless an action needs the key;
                // such actions refuse without SAPK_TOKEN_KEY.
                None => TokenKey::generate()?,
            };
            let svc = Service::new(
                Arc::new(store),
                Arc::new(mailer),
                Arc::new(SystemClock),
                config,
                key,
            )?;
            Ok(match env("SAPK_PII_KEY") {
                Some(v) => {
                    svc.with_pii_key(TokenKey::from_secret_text(&v).context("SAPK_PII_KEY")?)
                }
                None => svc,
            })
        }
    }
}

async fn tables_create(g: &Global) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    if g.store != StoreKind::Dynamodb {
        let msg = l.pick(
            "Penyimpanan SQLite membuat tabelnya sendiri; tidak ada yang perlu dibuat.",
            "The SQLite store creates its tables itself; nothing to do.",
        );
        if g.json {
            print_json(&json!({ "ok": true, "created": [], "message": msg }));
        } else {
            say!("{msg}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let names = sapk_aws::TableNames::from_env_or_default(&|k| env(k));
    let sdk = sapk_aws::sdk_config().await;
    let created = match sapk_aws::create_tables(&sapk_aws::dynamodb_client(&sdk), &names).await {
        Ok(c) => c,
        Err(e) => return refuse(g, &e.to_string()),
    };
    let all = [
        names.accounts.clone(),
        names.ephemeral.clone(),
        names.audit.clone(),
        names.staff.clone(),
    ];
    if g.json {
        print_json(&json!({ "ok": true, "created": created, "tables": all }));
    } else {
        for t in &all {
            let state = if created.contains(t) {
                l.pick("dibuat", "created")
            } else {
                l.pick("sudah ada", "exists")
            };
            say!("{t}  {state}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Commands that act on the tables directly, under the data administrator's or the
/// supervisor's own role: never through the counter's staff API.
fn direct_only(cmd: &Command) -> bool {
    matches!(
        cmd,
        Command::Employee(EmployeeCmd::Import { .. } | EmployeeCmd::Renumber { .. })
            | Command::Tables(_)
            | Command::Staff(_)
    )
}

/// `init`: creates the embedded store (and its keys) in `--data-dir`; idempotent.
async fn init(g: &Global) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    if g.store != StoreKind::Sqlite || g.api.is_some() {
        return crate::counter::usage(l.pick(
            "init hanya untuk penyimpanan lokal (--data-dir)",
            "init is for the embedded store only (--data-dir)",
        ));
    }
    let existed = g.data_dir.join(sapk_embedded::DB_FILE).exists();
    open_service(g, true).await?;
    if g.json {
        print_json(&json!({ "ok": true, "data_dir": g.data_dir, "created": !existed }));
    } else if existed {
        say!(
            "{} {}",
            g.data_dir.display(),
            l.pick(
                "sudah berisi penyimpanan SAPK.",
                "already holds a SAPK store."
            )
        );
    } else {
        say!(
            "{} {}",
            l.pick("Penyimpanan SAPK dibuat di", "SAPK store created in"),
            g.data_dir.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The first line of every command's human output: where it acts.
fn target_line(g: &Global) -> String {
    let l = lang(g);
    match (&g.api, g.store) {
        (Some(url), _) => format!("{} {url}", l.pick("[API petugas]", "[staff API]")),
        (None, StoreKind::Dynamodb) => {
            let t = sapk_aws::TableNames::from_env_or_default(&|k| env(k));
            format!("[DynamoDB] {}", t.accounts)
        }
        (None, StoreKind::Sqlite) => format!(
            "[{}] {}",
            l.pick("penyimpanan lokal", "embedded store"),
            g.data_dir.display()
        ),
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let g = &cli.global;
    if !g.json {
        say!("{}", target_line(g));
    }
    if g.api.is_some() && direct_only(&cli.command) {
        return crate::counter::usage(lang(g).pick(
            "perintah ini tidak melalui API petugas: impor dan penomoran ulang dijalankan administrator data, registri petugas oleh supervisor, masing-masing dengan perannya sendiri (tanpa --api)",
            "this command does not go through the staff API: import and renumbering are run by the data administrator, the staff registry by a supervisor, each under their own role (without --api)",
        ));
    }
    match &cli.command {
        Command::Employee(EmployeeCmd::Import {
            file,
            init,
            jobs,
            report,
        }) => {
            let args = crate::import::Args {
                file,
                init: *init,
                jobs: *jobs,
                report: report.as_deref(),
            };
            crate::import::run(g, args).await
        }
        Command::Init => init(g).await,
        Command::Employee(EmployeeCmd::Show { nip, audit_limit }) => {
            show(g, nip, *audit_limit).await
        }
        Command::Employee(EmployeeCmd::Renumber {
            old_nip,
            new_nip,
            file,
            reason,
        }) => {
            let args = crate::renumber::Args {
                old_nip: old_nip.as_deref(),
                new_nip: new_nip.as_deref(),
                file: file.as_deref(),
                reason: reason.as_deref(),
            };
            crate::renumber::run(g, args).await
        }
        Command::Tables(TablesCmd::Create) => tables_create(g).await,
        Command::Staff(cmd) => crate::staff::run(g, cmd).await,
        Command::Email(EmailCmd::Change {
            nip,
            new_email,
            nik,
            documents,
            if_version,
            yes,
            email_shared,
            exception,
        }) => {
            let args = crate::counter::ChangeArgs {
                email_shared: *email_shared,
                exception: exception.as_deref(),
                nip,
                new_email,
                nik: nik.as_deref(),
                documents,
                if_version: *if_version,
                yes: *yes,
            };
            crate::counter::email_change(g, args, &mut crate::counter::StdPrompt).await
        }
        Command::Email(EmailCmd::Approve { nip, yes }) => {
            crate::exception::approve(g, nip, *yes, &mut crate::counter::StdPrompt).await
        }
        Command::Email(EmailCmd::Reject { nip, why }) => {
            crate::exception::reject(g, nip, why.as_deref()).await
        }
        Command::Account(AccountCmd::Unlock { nip }) => crate::counter::unlock(g, nip).await,
        Command::Session(SessionCmd::Revoke { nip, yes }) => {
            crate::counter::revoke(g, nip, *yes, &mut crate::counter::StdPrompt).await
        }
        Command::Audit { nip, limit } => crate::counter::audit(g, nip, *limit).await,
    }
}

pub fn print_json(v: &serde_json::Value) {
    say!(
        "{}",
        serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
    );
}

async fn show(g: &Global, nip: &str, audit_limit: usize) -> anyhow::Result<ExitCode> {
    let l = lang(g);
    let z = zone(g);
    let format_wib =
        |t: chrono::DateTime<chrono::Utc>, l: Lang| sapk_core::i18n::format_in(t, l, z);
    let counter = match crate::counter::open(g, false).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    let o = match counter.overview(nip, audit_limit, None, l).await {
        Ok(o) => o,
        Err(e) => return crate::counter::refused(g, e),
    };
    if g.json {
        print_json(&serde_json::to_value(&o)?);
        return Ok(ExitCode::SUCCESS);
    }
    let when =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or("-".to_owned(), |t| format_wib(t, l));
    let f = &o.facts;
    let from_nip = l.pick("(dari NIP)", "(from NIP)");
    let rows = vec![
        ("NIP".to_owned(), o.nip.grouped()),
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
            l.pick("Status akun", "Account state").into(),
            match o.state {
                AccountState::Active => l.pick("aktif", "active").into(),
                AccountState::NotActivated => l
                    .pick(
                        "belum aktivasi (belum pernah membuat password)",
                        "not activated (no password set yet)",
                    )
                    .into(),
            },
        ),
        (
            l.pick("Gagal login", "Failed logins").into(),
            match o.locked_until {
                Some(u) => format!(
                    "{} ({} {})",
                    o.login_failures,
                    l.pick("terkunci sampai", "locked until"),
                    format_wib(u, l)
                ),
                None => o.login_failures.to_string(),
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
    ];
    say_raw!("{}", kv(&rows));
    say!("");
    say!(
        "{}",
        l.pick("Riwayat audit terbaru:", "Recent audit events:")
    );
    say_raw!("{}", audit_table(&o.recent_audit, l, z));
    Ok(ExitCode::SUCCESS)
}

pub fn audit_table(
    events: &[sapk_core::ports::AuditEvent],
    l: Lang,
    z: sapk_core::i18n::Zone,
) -> String {
    use sapk_core::audit_text;
    if events.is_empty() {
        return format!("  {}\n", l.pick("(belum ada)", "(none)"));
    }
    table(
        &[
            l.pick("Waktu", "Time"),
            l.pick("Pelaku", "Actor"),
            l.pick("Kantor", "Office"),
            l.pick("Aksi", "Action"),
            l.pick("Hasil", "Outcome"),
            l.pick("Alasan", "Reason"),
            "IP",
        ],
        &events
            .iter()
            .map(|e| {
                vec![
                    sapk_core::i18n::format_compact(e.at, z),
                    e.actor.clone(),
                    e.office.clone().unwrap_or_else(|| "-".into()),
                    audit_text::action(&e.action, l),
                    audit_text::outcome(&e.outcome, l),
                    e.details["reason"]
                        .as_str()
                        .map_or_else(|| "-".to_owned(), |r| audit_text::reason(r, l)),
                    e.source_ip.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect::<Vec<_>>(),
    )
}

/// Prints why an action was refused and returns exit code 1.
pub fn refuse(g: &Global, message: &str) -> anyhow::Result<ExitCode> {
    if g.json {
        print_json(&json!({ "ok": false, "error": message }));
    } else {
        eprintln!("{}: {message}", lang(g).pick("Ditolak", "Refused"));
    }
    Ok(ExitCode::from(REFUSED))
}
