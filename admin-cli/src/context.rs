//! What every command needs from the global options: the language, the time zone, the
//! operator, and the service on the chosen store.

use crate::{Global, LangArg, StoreKind};
use anyhow::Context;
use sapk_core::ports::SystemClock;
use sapk_core::staff::Operator;
use sapk_core::{Config, Lang, Service, TokenKey};
use sapk_embedded::{DataDir, DEFAULT_MAIL_FROM};
use std::sync::Arc;

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
        officer_id: None,
        scope: None,
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
                return Err(crate::output::failure(
                    "no_store",
                    format!(
                        "{} {}",
                        g.data_dir.display(),
                        lang(g).pick(
                            "belum berisi penyimpanan SAPK. Periksa folder kerja atau --data-dir (SAPK_DATA_DIR); penyimpanan baru hanya dibuat dengan `sapk-admin init` atau `employee import --init`.",
                            "holds no SAPK store. Check the working folder or --data-dir (SAPK_DATA_DIR); a new store is only created by `sapk-admin init` or `employee import --init`.",
                        )
                    ),
                ));
            }
            let key = match std::env::var("SAPK_TOKEN_KEY") {
                Ok(v) => Some(TokenKey::from_secret_text(&v).context("SAPK_TOKEN_KEY")?),
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

/// Mutating actions need an explicit operator and office.
pub fn operator_required(g: &Global) -> Result<Operator, String> {
    match (&g.operator, &g.office) {
        (Some(id), Some(office)) if !id.trim().is_empty() && !office.trim().is_empty() => Ok(Operator {
            id: id.trim().to_owned(),
            office: office.trim().to_owned(),
            officer_id: None,
            scope: None,
        }),
        _ => Err(lang(g)
            .pick(
                "tindakan ini wajib menyebut petugas: --operator ID dan --office KODE (atau SAPK_OPERATOR dan SAPK_OFFICE)",
                "this action needs the operator: --operator ID and --office CODE (or SAPK_OPERATOR and SAPK_OFFICE)",
            )
            .to_owned()),
    }
}

/// The first line of every command's human output: where it acts.
pub fn target_line(g: &Global) -> String {
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
