//! The settings of every AWS entry point (the Lambda functions, `sapk-admin --store
//! dynamodb`, the tests' function harness), read in one place with one set of rules, and
//! the service they wire. The names are in `docs/deploy.md`.

use crate::{DynamoStore, SesMailer, SqsMailQueue, TableNames};
use aws_config::SdkConfig;
use sapk_core::ports::{Mailer, Store, SystemClock};
use sapk_core::{Config, Service, TokenKey};
use secrecy::SecretString;
use std::sync::Arc;

/// Who reads the settings, which decides what is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// A Lambda function: the table names, `SAPK_MAIL_FROM` and `SAPK_TOKEN_KEY` are
    /// required, and ([`Settings::load`]) no tunable may be below the security floors.
    Function,
    /// `sapk-admin --store dynamodb`: the default table names and sender where none are
    /// set. Without `SAPK_TOKEN_KEY` a fresh key (nothing the tool stores is keyed with it
    /// unless an action needs the key, and such actions refuse); without it and without
    /// `SAPK_AUDIT_KEY`, no audit key (the tool reads, but never writes an audit record).
    Tool,
}

/// The keys, each from Secrets Manager (`<NAME>_SECRET_ARN`) or the variable itself.
#[derive(Debug, Default)]
pub struct Keys {
    /// `SAPK_TOKEN_KEY`: reset codes and session tokens.
    pub token: Option<TokenKey>,
    /// `SAPK_AUDIT_KEY`: the audit chain (else derived from the token key).
    pub audit: Option<TokenKey>,
    /// `SAPK_PII_KEY`: NIK and document numbers recorded at the counter.
    pub pii: Option<TokenKey>,
    /// `SAPK_FACTOR_KEY`: two-step login.
    pub factor: Option<TokenKey>,
    /// `SAPK_ORIGIN_VERIFY`: the header CloudFront adds, proving a request came through it.
    pub origin_verify: Option<SecretString>,
    /// `SAPK_AUDIT_KEY_SUPERVISOR`, `SAPK_AUDIT_KEY_DATA_ADMIN`: the writers' own audit keys,
    /// held by what verifies chains and writes checkpoints (the staff and audit-checkpoint
    /// functions), never by the service's other functions.
    pub audit_writers: Vec<(String, TokenKey)>,
}

/// The writers' audit keys by setting name, with the name each seals under
/// ([`sapk_core::audit_chain::WRITERS`]).
pub const WRITER_KEYS: [(&str, &str); 2] = [
    ("SAPK_AUDIT_KEY_SUPERVISOR", "supervisor"),
    ("SAPK_AUDIT_KEY_DATA_ADMIN", "data-admin"),
];

/// The variables that name a key, read through [`crate::key_text`].
pub const KEY_NAMES: [&str; 7] = [
    "SAPK_TOKEN_KEY",
    "SAPK_AUDIT_KEY",
    "SAPK_PII_KEY",
    "SAPK_FACTOR_KEY",
    "SAPK_ORIGIN_VERIFY",
    "SAPK_AUDIT_KEY_SUPERVISOR",
    "SAPK_AUDIT_KEY_DATA_ADMIN",
];

/// Why the settings cannot be used. The text names variables, never a secret.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("missing required configuration: {0}")]
    Missing(String),
    #[error("{0}")]
    Invalid(String),
}

/// Everything an AWS entry point is configured with.
#[derive(Debug)]
pub struct Settings {
    pub entry: Entry,
    /// `SAPK_TABLE_*`.
    pub tables: TableNames,
    /// `SAPK_MAIL_FROM`.
    pub mail_from: String,
    /// `SAPK_SES_CONFIGURATION_SET`.
    pub configuration_set: Option<String>,
    /// `SAPK_MAIL_QUEUE_URL`: the use cases' e-mails go to this queue, not to SES.
    pub mail_queue_url: Option<String>,
    /// `SAPK_MAIL_NOTICE_QUEUE_URL`: notices to a queue of their own.
    pub notice_queue_url: Option<String>,
    /// E-mails a second one mailer instance sends: `SAPK_SES_MAX_SEND_RATE` (the account's
    /// SES quota) shared by `SAPK_MAIL_INSTANCES` (how many instances may run at once), or
    /// `SAPK_MAIL_RATE_PER_SEC` as it is; default 1, SES's sandbox quota (the pace holds it
    /// to at least one a minute).
    pub mail_rate_per_sec: f64,
    /// Every tunable of [`Config`].
    pub config: Config,
    pub keys: Keys,
    /// `SAPK_AUDIT_ARCHIVE_BUCKET`: where audit checkpoints are kept (the staff function
    /// reads the newest, the audit-checkpoint function writes them).
    pub archive_bucket: Option<String>,
    /// `SAPK_AUDIT_SEALER`: `supervisor` or `data-admin` for `sapk-admin --store dynamodb`
    /// run by that role, whose `SAPK_AUDIT_KEY` is then the role's own key; unset for the
    /// service.
    pub audit_sealer: Option<String>,
}

fn key(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
) -> Result<Option<TokenKey>, SettingsError> {
    get(name)
        .map(|text| {
            TokenKey::from_secret_text(&text)
                .map_err(|e| SettingsError::Invalid(format!("{name}: {e}")))
        })
        .transpose()
}

impl Settings {
    /// Reads the settings through `get` (a non-blank value counts as set), the keys' text
    /// included. A function's missing settings are named together.
    pub fn read(
        entry: Entry,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let get = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let tables = match entry {
            Entry::Function => TableNames::from_env_required(&get),
            Entry::Tool => Ok(TableNames::from_env_or_default(&get)),
        };
        let mail_from = match (entry, get("SAPK_MAIL_FROM")) {
            (_, Some(f)) => Ok(f.trim().to_owned()),
            (Entry::Tool, None) => Ok(sapk_core::mail::DEFAULT_MAIL_FROM.to_owned()),
            (Entry::Function, None) => Err("SAPK_MAIL_FROM".to_owned()),
        };
        let token_missing = entry == Entry::Function && get("SAPK_TOKEN_KEY").is_none();
        let (tables, mail_from) = match (tables, mail_from, token_missing) {
            (Ok(t), Ok(f), false) => (t, f),
            (tables, from, token_missing) => {
                let missing: Vec<String> = [tables.err(), from.err()]
                    .into_iter()
                    .flatten()
                    .chain(token_missing.then(|| "SAPK_TOKEN_KEY".to_owned()))
                    .collect();
                return Err(SettingsError::Missing(missing.join(", ")));
            }
        };
        let keys = Keys {
            token: key(&get, "SAPK_TOKEN_KEY")?,
            audit: key(&get, "SAPK_AUDIT_KEY")?,
            pii: key(&get, "SAPK_PII_KEY")?,
            factor: key(&get, "SAPK_FACTOR_KEY")?,
            origin_verify: origin_verify(&get)?,
            audit_writers: WRITER_KEYS
                .iter()
                .filter_map(|(var, name)| {
                    key(&get, var)
                        .map(|k| k.map(|k| (name.to_string(), k)))
                        .transpose()
                })
                .collect::<Result<Vec<_>, _>>()?,
        };
        let config =
            Config::from_lookup(&get).map_err(|e| SettingsError::Invalid(e.to_string()))?;
        let mail_rate_per_sec = mail_rate(&get)?;
        let trimmed = |k: &str| get(k).map(|v| v.trim().to_owned());
        Ok(Settings {
            entry,
            tables,
            mail_from,
            configuration_set: trimmed("SAPK_SES_CONFIGURATION_SET"),
            mail_queue_url: trimmed("SAPK_MAIL_QUEUE_URL"),
            notice_queue_url: trimmed("SAPK_MAIL_NOTICE_QUEUE_URL"),
            mail_rate_per_sec,
            config,
            keys,
            archive_bucket: trimmed("SAPK_AUDIT_ARCHIVE_BUCKET"),
            audit_sealer: match trimmed("SAPK_AUDIT_SEALER") {
                Some(n) if sapk_core::audit_chain::WRITERS.iter().any(|(w, _)| *w == n) => Some(n),
                Some(n) => {
                    return Err(SettingsError::Invalid(format!(
                        "SAPK_AUDIT_SEALER={n:?}: must be supervisor or data-admin"
                    )))
                }
                None => None,
            },
        })
    }

    /// A function's settings: [`Settings::read`], and no tunable below the security floors
    /// ([`Config::security_floor_violations`]).
    pub fn for_function(get: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
        let s = Settings::read(Entry::Function, get)?;
        let weak = s.config.security_floor_violations();
        if !weak.is_empty() {
            return Err(SettingsError::Invalid(format!(
                "settings below the security floor: {}",
                weak.join("; ")
            )));
        }
        Ok(s)
    }

    /// The settings from the environment, the keys read from Secrets Manager where
    /// `<NAME>_SECRET_ARN` is set (all at once: each is a call at cold start); a function's
    /// held to the floors and its effective configuration logged.
    pub async fn load(entry: Entry, sdk: &SdkConfig) -> Result<Settings, SettingsError> {
        let texts =
            futures_util::future::join_all(KEY_NAMES.map(|n| crate::key_text(sdk, n))).await;
        let mut keys = std::collections::HashMap::new();
        for (name, text) in KEY_NAMES.into_iter().zip(texts) {
            if let Some(t) = text.map_err(SettingsError::Invalid)? {
                keys.insert(name, t);
            }
        }
        let get = |k: &str| {
            if KEY_NAMES.contains(&k) {
                keys.get(k).cloned()
            } else {
                std::env::var(k).ok()
            }
        };
        match entry {
            Entry::Function => {
                let s = Settings::for_function(&get)?;
                s.config.log_effective();
                Ok(s)
            }
            Entry::Tool => Settings::read(entry, &get),
        }
    }

    /// The store on the tables, with the audit records' retention.
    pub fn store(&self, dynamodb: aws_sdk_dynamodb::Client) -> DynamoStore {
        DynamoStore::new(dynamodb, self.tables.clone())
            .with_audit_retention(self.config.audit_retention_days)
    }

    /// SES, with the sender and configuration set.
    pub fn ses(&self, sesv2: aws_sdk_sesv2::Client) -> SesMailer {
        SesMailer::new(
            sesv2,
            self.mail_from.clone(),
            self.configuration_set.clone(),
        )
    }

    /// The mail queue, when one is set.
    pub fn mail_queue(&self, sqs: aws_sdk_sqs::Client) -> Option<SqsMailQueue> {
        let url = self.mail_queue_url.clone()?;
        let queue = SqsMailQueue::new(sqs, url);
        Some(match &self.notice_queue_url {
            Some(n) => queue.with_notice_queue(n.clone()),
            None => queue,
        })
    }

    /// The audit checkpoints in the archive bucket, when one is set.
    pub fn checkpoints(&self, s3: aws_sdk_s3::Client) -> Option<crate::archive::S3Checkpoints> {
        self.archive_bucket
            .clone()
            .map(|b| crate::archive::S3Checkpoints::new(s3, b))
    }

    /// The service over `store` and `mailer` with every key that is set (see [`Entry`] for
    /// a tool without keys).
    pub fn service(
        &self,
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
    ) -> Result<Service, SettingsError> {
        let token = match (&self.keys.token, self.entry) {
            (Some(k), _) => k.clone(),
            (None, Entry::Tool) => {
                TokenKey::generate().map_err(|e| SettingsError::Invalid(e.to_string()))?
            }
            (None, Entry::Function) => return Err(SettingsError::Missing("SAPK_TOKEN_KEY".into())),
        };
        let service = Service::new(
            store,
            mailer,
            Arc::new(SystemClock),
            self.config.clone(),
            token,
        )
        .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        // The audit chain's key of its own (deployed: AuditKeySecret); without it, one derived
        // from the token key, or none at all when the token key is not given either.
        let service = match (&self.keys.audit, &self.keys.token) {
            (Some(a), _) => {
                let ring = match &self.audit_sealer {
                    Some(name) => sapk_core::audit_chain::AuditKey::for_writer(a.clone(), name),
                    None => sapk_core::audit_chain::AuditKey::new(a.clone()),
                };
                let ring = self
                    .keys
                    .audit_writers
                    .iter()
                    .fold(ring, |r, (name, k)| r.with_writer(name, k.clone()));
                service.with_audit_key_ring(ring)
            }
            (None, Some(_)) => service,
            (None, None) => service.without_audit_key(),
        };
        let service = match &self.keys.pii {
            Some(k) => service.with_pii_key(k.clone()),
            None => service,
        };
        Ok(match &self.keys.factor {
            Some(k) => service.with_factor_key(k.clone()),
            None => service,
        })
    }
}

/// `SAPK_ORIGIN_VERIFY`: the value CloudFront sends, at least 32 characters as
/// `infra/edge.yaml` requires of it; a shorter one is refused rather than trusted.
fn origin_verify(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SecretString>, SettingsError> {
    match get("SAPK_ORIGIN_VERIFY") {
        None => Ok(None),
        Some(v) if v.trim().chars().count() < 32 => Err(SettingsError::Invalid(
            "SAPK_ORIGIN_VERIFY: shorter than 32 characters".into(),
        )),
        Some(v) => Ok(Some(SecretString::from(v.trim().to_owned()))),
    }
}

/// One mailer instance's share of the SES quota (see [`Settings::mail_rate_per_sec`]). A
/// value that is not a positive number is refused: a mailer must not guess its pace.
fn mail_rate(get: &dyn Fn(&str) -> Option<String>) -> Result<f64, SettingsError> {
    let positive = |name: &str| -> Result<Option<f64>, SettingsError> {
        get(name)
            .map(|v| match v.trim().parse::<f64>() {
                Ok(n) if n.is_finite() && n > 0.0 => Ok(n),
                _ => Err(SettingsError::Invalid(format!(
                    "{name}: not a positive number"
                ))),
            })
            .transpose()
    };
    match (
        positive("SAPK_SES_MAX_SEND_RATE")?,
        positive("SAPK_MAIL_INSTANCES")?,
        positive("SAPK_MAIL_RATE_PER_SEC")?,
    ) {
        (Some(quota), Some(instances), _) => Ok(quota / instances.ceil()),
        (Some(quota), None, _) => Ok(quota),
        (None, _, Some(rate)) => Ok(rate),
        (None, _, None) => Ok(1.0),
    }
}

/// `SAPK_AUDIT_ARCHIVE_BUCKET`: the audit-archive function's one setting (it reads no table
/// and sends no mail, so it reads nothing else).
pub fn audit_archive_bucket(get: &dyn Fn(&str) -> Option<String>) -> Result<String, SettingsError> {
    get("SAPK_AUDIT_ARCHIVE_BUCKET")
        .map(|b| b.trim().to_owned())
        .filter(|b| !b.is_empty())
        .ok_or_else(|| SettingsError::Missing("SAPK_AUDIT_ARCHIVE_BUCKET".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    const KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn a_function_names_everything_it_misses_at_once() {
        let err = Settings::read(Entry::Function, &lookup(&[("SAPK_TABLE_AUDIT", "  ")]))
            .expect_err("refused");
        let text = err.to_string();
        for name in [
            "SAPK_TABLE_ACCOUNTS",
            "SAPK_TABLE_EPHEMERAL",
            "SAPK_TABLE_AUDIT",
            "SAPK_TABLE_STAFF",
            "SAPK_MAIL_FROM",
            "SAPK_TOKEN_KEY",
        ] {
            assert!(text.contains(name), "{text}");
        }
    }

    #[test]
    fn a_tool_falls_back_to_the_default_tables_and_sender() {
        let s =
            Settings::read(Entry::Tool, &lookup(&[("SAPK_TABLE_STAFF", "x-staff")])).expect("read");
        assert_eq!(s.tables.staff, "x-staff");
        assert_eq!(
            s.tables.accounts,
            TableNames::from_env_or_default(&|_| None).accounts
        );
        assert_eq!(s.mail_from, sapk_core::mail::DEFAULT_MAIL_FROM);
        assert!(s.keys.token.is_none() && s.keys.audit.is_none());
        assert_eq!(s.mail_rate_per_sec, 1.0);
        assert!(s.mail_queue_url.is_none());
    }

    #[test]
    fn an_origin_secret_too_short_is_refused() {
        let get = lookup(&[("SAPK_ORIGIN_VERIFY", "short")]);
        assert!(origin_verify(&get).is_err());
        let long = "o".repeat(32);
        let get = lookup(&[("SAPK_ORIGIN_VERIFY", long.as_str())]);
        assert!(origin_verify(&get).unwrap().is_some());
        assert!(origin_verify(&lookup(&[])).unwrap().is_none());
    }

    /// The mailer's instances share the SES quota: four at 14/s send 3.5/s each, so that
    /// together they never pass it; a pace that is not a number is refused, not guessed.
    #[test]
    fn mailer_instances_share_the_ses_quota() {
        let rate = |pairs: &[(&str, &str)]| mail_rate(&lookup(pairs));
        let shared = rate(&[
            ("SAPK_SES_MAX_SEND_RATE", "14"),
            ("SAPK_MAIL_INSTANCES", "4"),
        ]);
        assert_eq!(shared.unwrap(), 3.5);
        assert_eq!(rate(&[("SAPK_MAIL_RATE_PER_SEC", "7")]).unwrap(), 7.0);
        assert_eq!(rate(&[]).unwrap(), 1.0);
        for bad in [
            [
                ("SAPK_SES_MAX_SEND_RATE", "fourteen"),
                ("SAPK_MAIL_INSTANCES", "4"),
            ],
            [
                ("SAPK_SES_MAX_SEND_RATE", "14"),
                ("SAPK_MAIL_INSTANCES", "0"),
            ],
            [
                ("SAPK_MAIL_RATE_PER_SEC", "-1"),
                ("SAPK_MAIL_INSTANCES", "2"),
            ],
        ] {
            assert!(rate(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_function_refuses_a_token_key_too_short() {
        let env = [
            ("SAPK_TABLE_ACCOUNTS", "a"),
            ("SAPK_TABLE_EPHEMERAL", "b"),
            ("SAPK_TABLE_AUDIT", "c"),
            ("SAPK_TABLE_STAFF", "d"),
            ("SAPK_MAIL_FROM", "x@y.id"),
            // base64 of "short"
            ("SAPK_TOKEN_KEY", "c2hvcnQ="),
        ];
        let err = Settings::for_function(&lookup(&env)).expect_err("refused");
        assert!(err.to_string().contains("SAPK_TOKEN_KEY"), "{err}");
    }

    #[test]
    fn a_bad_key_is_named_and_its_text_is_not_shown() {
        let err = Settings::read(Entry::Tool, &lookup(&[("SAPK_PII_KEY", "sekret-pendek")]))
            .expect_err("refused");
        let text = err.to_string();
        assert!(text.contains("SAPK_PII_KEY"), "{text}");
        assert!(!text.contains("sekret-pendek"), "{text}");
    }

    #[test]
    fn a_function_below_the_floors_is_refused_by_setting() {
        let env = [
            ("SAPK_TABLE_ACCOUNTS", "a"),
            ("SAPK_TABLE_EPHEMERAL", "b"),
            ("SAPK_TABLE_AUDIT", "c"),
            ("SAPK_TABLE_STAFF", "d"),
            ("SAPK_MAIL_FROM", "x@y.id"),
            ("SAPK_TOKEN_KEY", KEY),
            ("SAPK_MAIL_QUEUE_URL", " https://sqs/q "),
            ("SAPK_MAIL_RATE_PER_SEC", "14"),
        ];
        let s = Settings::for_function(&lookup(&env)).expect("settings at the floors");
        assert_eq!(s.mail_queue_url.as_deref(), Some("https://sqs/q"));
        assert_eq!(s.mail_rate_per_sec, 14.0);
        assert!(s.keys.token.is_some() && s.keys.factor.is_none());
        let weak: Vec<_> = env
            .iter()
            .copied()
            .chain([("SAPK_FORGOT_MIN_MS", "0"), ("SAPK_ARGON2_MEMORY_KIB", "8")])
            .collect();
        // Read, the weak settings pass; a function refuses them, each by name.
        assert!(Settings::read(Entry::Function, &lookup(&weak)).is_ok());
        let err = Settings::for_function(&lookup(&weak)).expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("SAPK_FORGOT_MIN_MS") && text.contains("argon2id m=8"),
            "{text}"
        );
    }
}
