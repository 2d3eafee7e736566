//! The global options, resolved once into the [`Ctx`] every command gets: the language, the
//! time zone, the operator, and the service on the chosen store.

use crate::error::CounterError;
#[cfg(feature = "direct")]
use anyhow::Context;
use clap::{Args, ValueEnum};
#[cfg(feature = "direct")]
use sapk_core::ports::SystemClock;
use sapk_core::staff::Operator;
use sapk_core::{Lang, Service};
#[cfg(feature = "direct")]
use sapk_embedded::DataDir;
use std::path::PathBuf;
#[cfg(feature = "direct")]
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct Global {
    /// Which store to use.
    #[arg(
        long,
        value_enum,
        default_value = "sqlite",
        env = "SAPK_STORE",
        global = true
    )]
    pub store: StoreKind,
    /// Local data directory (SQLite store, outbox, token key) for `--store sqlite`.
    #[arg(long, default_value = "./.sapk", env = "SAPK_DATA_DIR", global = true)]
    pub data_dir: PathBuf,
    /// The staff API (e.g. https://abc123.execute-api.ap-southeast-3.amazonaws.com): the
    /// counter commands (employee show, employee export, email change/pending/approve/reject, account
    /// unlock, account remove-second-factor, account remove-passkeys, session revoke, audit) go through it, signed with your AWS identity (IAM Identity Center: `aws sso login`).
    /// Your officer identity and office then come from the staff registry, not from flags.
    #[arg(long, env = "SAPK_API_URL", global = true, value_name = "URL")]
    pub api: Option<String>,
    /// The AWS profile to sign with (default: the standard chain, e.g. AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Without --api: your operator ID (NIP or staff ID), recorded in the audit log.
    #[arg(long, env = "SAPK_OPERATOR", global = true)]
    pub operator: Option<String>,
    /// Without --api: your office code (e.g. KANREG-I), recorded in the audit log.
    #[arg(long, env = "SAPK_OFFICE", global = true, value_parser = office_code)]
    pub office: Option<String>,
    /// Language of the output: id (default) or en.
    #[arg(
        long,
        value_enum,
        default_value = "id",
        env = "SAPK_LANG",
        global = true
    )]
    pub lang: LangArg,
    /// Time zone of the times shown: wib, wita or wit. Default: the zone of your office
    /// (--office / SAPK_OFFICE, e.g. KANREG-IV is WITA), else WIB.
    #[arg(long, value_enum, env = "SAPK_TZ", global = true)]
    pub tz: Option<TzArg>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum StoreKind {
    /// The local SQLite store in `--data-dir`.
    Sqlite,
    /// DynamoDB (region, credentials, endpoint and `SAPK_TABLE_*` from the environment).
    Dynamodb,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TzArg {
    Wib,
    Wita,
    Wit,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LangArg {
    Id,
    En,
}

/// What every command gets: the global options, with the language and the time zone
/// resolved once (the options themselves stay readable through `Deref`).
pub struct Ctx {
    pub global: Global,
    pub lang: Lang,
    pub zone: sapk_core::i18n::Zone,
}

impl Ctx {
    pub fn new(global: Global) -> Ctx {
        Ctx {
            lang: lang(&global),
            zone: zone(&global),
            global,
        }
    }
}

impl Ctx {
    /// A done action with nothing more to show: `{"ok": true}` under `--json`, else the
    /// sentence in the officer's language.
    pub fn done(&self, id: &'static str, en: &'static str) -> crate::error::CmdResult {
        if self.json {
            crate::output::print_json(&serde_json::json!({ "ok": true }));
        } else {
            say!("{}", self.lang.pick(id, en));
        }
        Ok(std::process::ExitCode::SUCCESS)
    }

    /// Officer-facing text, to stderr when stdout carries JSON.
    pub fn note(&self, text: &str) {
        if self.json {
            eprint!("{text}");
        } else {
            say_raw!("{text}");
        }
    }
}

impl std::ops::Deref for Ctx {
    type Target = Global;

    fn deref(&self) -> &Global {
        &self.global
    }
}

fn zone(g: &Global) -> sapk_core::i18n::Zone {
    use sapk_core::i18n::Zone;
    match g.tz {
        Some(TzArg::Wib) => Zone::Wib,
        Some(TzArg::Wita) => Zone::Wita,
        Some(TzArg::Wit) => Zone::Wit,
        None => g
            .office
            .as_deref()
            .and_then(Zone::of_office)
            .unwrap_or_default(),
    }
}

fn lang(g: &Global) -> Lang {
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
pub fn operator_or_os_user(g: &Ctx) -> Operator {
    Operator {
        id: g
            .operator
            .clone()
            .unwrap_or_else(|| format!("os:{}", os_user())),
        office: g.office.clone().unwrap_or_else(|| "UNSPECIFIED".into()),
        officer_id: None,
        scope: None,
        office_name: None,
    }
}

/// A set, non-blank environment variable.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// The service on the store `g` names. An embedded data folder without a store is refused:
/// a mistyped or missing `--data-dir` must not quietly start an empty one.
pub async fn service(g: &Ctx) -> anyhow::Result<Service> {
    open_service(g, false).await
}

/// The embedded store's file in a data directory (`sapk_embedded::DB_FILE`).
pub const DB_FILE: &str = "sapk.db";

/// What a build without direct store access (the Windows counter tool) says to a command
/// that needs it.
#[cfg(not(feature = "direct"))]
pub fn api_only(l: Lang) -> CounterError {
    CounterError::Usage(api_only_text(l).to_owned())
}

#[cfg(not(feature = "direct"))]
fn api_only_text(l: Lang) -> &'static str {
    l.pick(
            "versi alat ini hanya bekerja melalui API petugas (--api URL atau SAPK_API_URL); perintah ini memerlukan akses langsung ke penyimpanan (versi Linux, peran administrator data atau supervisor)",
            "this build works only through the staff API (--api URL or SAPK_API_URL); this command needs direct access to a store (the Linux build, the data administrator's or supervisor's role)",
        )
}

/// [`service`], creating the embedded store when `create` (`init`, `employee import --init`).
#[cfg(not(feature = "direct"))]
pub async fn open_service(g: &Ctx, create: bool) -> anyhow::Result<Service> {
    let _ = create;
    Err(crate::error::failure("api_only", api_only_text(g.lang)))
}

/// [`service`], creating the embedded store when `create` (`init`, `employee import --init`).
#[cfg(feature = "direct")]
pub async fn open_service(g: &Ctx, create: bool) -> anyhow::Result<Service> {
    match g.store {
        StoreKind::Sqlite => {
            if !create && !g.data_dir.join(DB_FILE).exists() {
                return Err(crate::error::failure(
                    "no_store",
                    format!(
                        "{} {}",
                        g.data_dir.display(),
                        g.lang.pick(
                            "belum berisi penyimpanan SAPK. Periksa folder kerja atau --data-dir (SAPK_DATA_DIR); penyimpanan baru hanya dibuat dengan `sapk-admin init` atau `employee import --init`.",
                            "holds no SAPK store. Check the working folder or --data-dir (SAPK_DATA_DIR); a new store is only created by `sapk-admin init` or `employee import --init`.",
                        )
                    ),
                ));
            }
            let s = sapk_embedded::EmbeddedSettings::from_env()?;
            let data = DataDir::open_with_keys(&g.data_dir, &s.mail_from, s.token_key, s.pii_key)
                .with_context(|| format!("opening {}", g.data_dir.display()))?;
            Ok(Service::new(
                Arc::new(data.store),
                Arc::new(data.outbox),
                Arc::new(SystemClock),
                s.config,
                data.key,
            )?
            .with_pii_key(data.pii_key)
            .with_audit_key(data.audit_key)
            .with_checkpoints(Arc::new(sapk_embedded::CheckpointDir::in_data_dir(
                &data.path,
            ))))
        }
        StoreKind::Dynamodb => {
            // The functions' settings reader, with a tool's defaults (sapk_aws::Entry::Tool).
            let sdk = sapk_aws::tool_sdk_config().await;
            let settings = sapk_aws::Settings::load(sapk_aws::Entry::Tool, &sdk).await?;
            let store = settings.store(sapk_aws::dynamodb_client(&sdk));
            let mailer = settings.ses(sapk_aws::sesv2_client(&sdk));
            Ok(settings.service(Arc::new(store), Arc::new(mailer))?)
        }
    }
}

/// `--office`: a plain office code (ASCII letters and digits, `-`, `_`; at most 40), as the
/// registry keeps them; it is recorded and printed in notices.
fn office_code(v: &str) -> Result<String, String> {
    let code = v.trim();
    if sapk_core::staff::officer::is_office_code(code) {
        Ok(code.to_owned())
    } else {
        Err("KANREG-IV, BKPSDM-KOTA-BANDUNG: A-Z 0-9 - _ (40)".to_owned())
    }
}

/// Mutating actions need an explicit operator and office.
pub fn operator_required(g: &Ctx) -> Result<Operator, String> {
    match (&g.operator, &g.office) {
        (Some(id), Some(office)) if !id.trim().is_empty() && !office.trim().is_empty() => Ok(Operator {
            id: id.trim().to_owned(),
            office: office.trim().to_owned(),
            officer_id: None,
            scope: None, office_name: None, }),
        _ => Err(g.lang
            .pick(
                "tindakan ini wajib menyebut petugas: --operator ID dan --office KODE (atau SAPK_OPERATOR dan SAPK_OFFICE)",
                "this action needs the operator: --operator ID and --office CODE (or SAPK_OPERATOR and SAPK_OFFICE)",
            )
            .to_owned()),
    }
}

/// The first line of every command's human output: where it acts.
pub fn target_line(g: &Ctx) -> String {
    let l = g.lang;
    match (&g.api, g.store) {
        (Some(url), _) => format!("{} {url}", l.pick("[API petugas]", "[staff API]")),
        #[cfg(feature = "direct")]
        (None, StoreKind::Dynamodb) => {
            let t = sapk_aws::TableNames::from_env_or_default(&|k| env(k));
            format!("[DynamoDB] {}", t.accounts)
        }
        #[cfg(not(feature = "direct"))]
        (None, StoreKind::Dynamodb) => "[DynamoDB]".to_owned(),
        (None, StoreKind::Sqlite) => format!(
            "[{}] {}",
            l.pick("penyimpanan lokal", "embedded store"),
            g.data_dir.display()
        ),
    }
}

/// Who acts directly on a store. On DynamoDB it is the AWS identity the credentials belong
/// to (`sts:GetCallerIdentity`), never a flag, and a mutating action needs `--office`; on
/// the embedded store, `--operator`/`--office` (required for a mutating action) or the OS
/// user.
pub async fn operator(g: &Ctx, mutating: bool) -> Result<Operator, CounterError> {
    let l = g.lang;
    #[cfg(not(feature = "direct"))]
    if g.store == StoreKind::Dynamodb {
        return Err(api_only(l));
    }
    #[cfg(feature = "direct")]
    if g.store == StoreKind::Dynamodb {
        let sdk = sapk_aws::tool_sdk_config().await;
        let arn = sapk_aws::caller_arn(&sdk).await.map_err(|e| {
            CounterError::Failed(anyhow::anyhow!(
                "{}: {e}",
                l.pick(
                    "identitas AWS Anda tidak dapat dibaca (sts:GetCallerIdentity); masuk dulu, misalnya `aws sso login`",
                    "cannot tell your AWS identity (sts:GetCallerIdentity); sign in first, e.g. `aws sso login`",
                )
            ))
        })?;
        let office = g.office.as_deref().map(str::trim).filter(|o| !o.is_empty());
        let office = match (office, mutating) {
            (Some(o), _) => o.to_owned(),
            (None, false) => "UNSPECIFIED".to_owned(),
            (None, true) => {
                return Err(CounterError::Usage(
                    l.pick(
                        "tindakan ini wajib menyebut kantor: --office KODE (atau SAPK_OFFICE); petugasnya adalah identitas AWS Anda",
                        "this action needs your office: --office CODE (or SAPK_OFFICE); the operator is your AWS identity",
                    )
                    .to_owned(),
                ))
            }
        };
        return Ok(Operator {
            id: arn,
            office,
            officer_id: None,
            scope: None,
            office_name: None,
        });
    }
    if mutating {
        operator_required(g).map_err(CounterError::Usage)
    } else {
        Ok(operator_or_os_user(g))
    }
}

#[cfg(all(test, feature = "direct"))]
mod tests {
    #[test]
    fn the_store_file_is_the_embedded_stores() {
        assert_eq!(super::DB_FILE, sapk_embedded::DB_FILE);
    }
}
