//! The one reader of the settings of the programs on the embedded store (`sapk-local`, and
//! `sapk-admin` without `--store dynamodb`): the use cases' tunables ([`Config`]) and what the
//! embedded store itself needs, from the environment. The AWS entry points have theirs in
//! `sapk_aws::Settings`, which reads the same [`Config`].

use crate::DEFAULT_MAIL_FROM;
use sapk_core::config::ConfigError;
use sapk_core::{Config, TokenKey};
use std::time::Duration;

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("reading SAPK_* configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("{0}: not a key (base64 of 32 random bytes)")]
    Key(&'static str),
    #[error("SAPK_AUDIT_CHECKPOINT_SECONDS: not a number of seconds")]
    CheckpointEvery,
}

/// The settings of a program on the embedded store.
pub struct EmbeddedSettings {
    pub config: Config,
    /// Sender of the e-mails (`SAPK_MAIL_FROM`).
    pub mail_from: String,
    /// The token key, instead of the data folder's own (`SAPK_TOKEN_KEY`).
    pub token_key: Option<TokenKey>,
    /// The key of NIK and document numbers, instead of the data folder's own
    /// (`SAPK_PII_KEY`).
    pub pii_key: Option<TokenKey>,
    /// How often `sapk-local` writes audit checkpoints (`SAPK_AUDIT_CHECKPOINT_SECONDS`,
    /// default an hour; 0: never).
    pub checkpoint_every: Duration,
}

impl EmbeddedSettings {
    pub fn from_env() -> Result<EmbeddedSettings, SettingsError> {
        EmbeddedSettings::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The settings from `get` (a variable set but blank counts as unset).
    pub fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Result<EmbeddedSettings, SettingsError> {
        let set = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        let key = |k: &'static str| {
            set(k)
                .map(|v| TokenKey::from_secret_text(&v).map_err(|_| SettingsError::Key(k)))
                .transpose()
        };
        let checkpoint_every = match set("SAPK_AUDIT_CHECKPOINT_SECONDS") {
            None => Duration::from_secs(3600),
            Some(v) => Duration::from_secs(
                v.trim()
                    .parse()
                    .map_err(|_| SettingsError::CheckpointEvery)?,
            ),
        };
        Ok(EmbeddedSettings {
            config: Config::from_lookup(get)?,
            mail_from: set("SAPK_MAIL_FROM").unwrap_or_else(|| DEFAULT_MAIL_FROM.to_owned()),
            token_key: key("SAPK_TOKEN_KEY")?,
            pii_key: key("SAPK_PII_KEY")?,
            checkpoint_every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<EmbeddedSettings, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        EmbeddedSettings::from_lookup(&|k| {
            vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_without_a_variable() {
        let s = from(&[]).unwrap();
        assert_eq!(s.mail_from, DEFAULT_MAIL_FROM);
        assert!(s.token_key.is_none() && s.pii_key.is_none());
        assert_eq!(s.checkpoint_every, Duration::from_secs(3600));
    }

    #[test]
    fn a_bad_value_is_named() {
        let e = from(&[("SAPK_PII_KEY", "not a key")]).err().unwrap();
        assert!(e.to_string().contains("SAPK_PII_KEY"), "{e}");
        assert!(from(&[("SAPK_AUDIT_CHECKPOINT_SECONDS", "hourly")]).is_err());
        assert!(from(&[("SAPK_CODE_TTL_SECONDS", "5")]).is_err());
        let s = from(&[
            ("SAPK_AUDIT_CHECKPOINT_SECONDS", "0"),
            ("SAPK_TOKEN_KEY", " "),
        ])
        .unwrap();
        assert_eq!(s.checkpoint_every, Duration::ZERO);
        assert!(s.token_key.is_none(), "blank is unset");
    }
}
