//! Tunable behaviour, read from `SAPK_*` environment variables with safe defaults.

use crate::domain::nip::NipRules;
use crate::domain::password::{HashParams, PasswordPolicy};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub max: u64,
    pub window_secs: i64,
}

/// Fixed-window limits per source address, per NIP and source address, and per NIP. The
/// per-address limits are sized for a whole government office behind one NAT address; the
/// per-NIP limits are ceilings well above what one person needs, so that strangers at
/// other addresses cannot use up the owner's requests (the per-NIP-and-address limit stops
/// one address long before).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub forgot_ip: RateLimit,
    pub forgot_nip_ip: RateLimit,
    pub forgot_nip: RateLimit,
    pub reset_ip: RateLimit,
    pub reset_nip_ip: RateLimit,
    pub reset_nip: RateLimit,
    pub login_ip: RateLimit,
    pub login_nip_ip: RateLimit,
    pub login_nip: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        let l = |max: u64| RateLimit {
            max,
            window_secs: 900,
        };
        RateLimits {
            forgot_ip: l(1000),
            forgot_nip_ip: l(5),
            forgot_nip: l(30),
            reset_ip: l(2000),
            reset_nip_ip: l(10),
            reset_nip: l(100),
            login_ip: l(5000),
            login_nip_ip: l(30),
            login_nip: l(300),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub code_ttl_secs: i64,
    pub code_max_attempts: u32,
    pub session_ttl_secs: i64,
    pub password: PasswordPolicy,
    pub hash: HashParams,
    /// Consecutive failures from one source address before that address is locked out
    /// of the NIP.
    pub lockout_threshold: u32,
    /// Consecutive failures from all addresses together before the NIP is locked for
    /// everyone (NIST SP 800-63B: no more than 100).
    pub lockout_nip_ceiling: u32,
    pub lockout_base_secs: i64,
    pub lockout_max_secs: i64,
    /// How long failures are remembered after the last one.
    pub lockout_memory_secs: i64,
    /// Wrong second-step codes within 30 days (across logins and addresses; a right
    /// authenticator code does not clear them) after which the authenticator's codes are
    /// refused until a recovery code or a counter unlock.
    pub second_step_cap: u32,
    /// Every forgot answer takes at least this long, so that sending mail (or not) does
    /// not show in the response time.
    pub forgot_min_ms: u64,
    /// A forgot this soon after the last code of the NIP sends nothing new (same answer).
    pub forgot_cooldown_secs: i64,
    pub limits: RateLimits,
    /// Which NIP digits 13-14 read as an NI PPPK (`SAPK_PPPK_CODES`, default `21-29`).
    pub nip: NipRules,
    /// BKN's line and address every help text names (`SAPK_HELP_PHONE`, `SAPK_HELP_EMAIL`).
    pub help: crate::text::i18n::HelpContacts,
    /// Whose employees must set up two-step login (`SAPK_SECOND_FACTOR_REQUIRED`).
    pub second_factor_required: FactorRequirement,
    /// How long audit records (with the masked, keyed-hashed NIK and document numbers in
    /// them) are kept, in days (`SAPK_AUDIT_RETENTION_DAYS`, 30 to 3650).
    pub audit_retention_days: i64,
    /// The Pwned Passwords range API new passwords are also checked against
    /// (`SAPK_BREACH_RANGE_URL`, e.g. `https://api.pwnedpasswords.com/range/`, and
    /// `SAPK_BREACH_RANGE_TIMEOUT_MS`); `None`: the shipped filter alone.
    pub breach_range: Option<BreachRange>,
    /// The RP ID passkeys are bound to (`SAPK_PASSKEY_RP_ID`): the page's host
    /// (`SAPK_PUBLIC_URL`) when `None`, or a parent domain of it. Without a page address
    /// whose host is a name, passkeys are off.
    pub passkey_rp_id: Option<String>,
}

/// Where the range API answers (the five hex digits are appended to `url`) and how long a
/// check waits for it before the shipped filter decides alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachRange {
    pub url: String,
    pub timeout_ms: u64,
}

impl BreachRange {
    pub const DEFAULT_TIMEOUT_MS: u64 = 800;
}

/// Which agencies require two-step login of their employees: none (the default), all
/// (`*`), or the `instansi` names listed, separated by `;` (names may hold commas, as
/// "Kementerian Pendidikan, Kebudayaan, Riset, dan Teknologi" does), compared without case
/// and with runs of spaces as one. A required employee who has not set it up is still let
/// in, and led to set it up.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FactorRequirement {
    #[default]
    Nobody,
    Everyone,
    Instansi(Vec<String>),
}

fn fold_name(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

impl FactorRequirement {
    pub fn parse(raw: &str) -> FactorRequirement {
        let raw = raw.trim();
        if raw == "*" {
            return FactorRequirement::Everyone;
        }
        let names: Vec<String> = raw
            .split(';')
            .map(fold_name)
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            FactorRequirement::Nobody
        } else {
            FactorRequirement::Instansi(names)
        }
    }

    /// Whether an employee of `instansi` must set up two-step login.
    pub fn applies(&self, instansi: Option<&str>) -> bool {
        match self {
            FactorRequirement::Nobody => false,
            FactorRequirement::Everyone => true,
            FactorRequirement::Instansi(names) => {
                instansi.is_some_and(|i| names.contains(&fold_name(i)))
            }
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            code_ttl_secs: 15 * 60,
            code_max_attempts: 5,
            session_ttl_secs: 8 * 3600,
            password: PasswordPolicy::default(),
            hash: HashParams::default(),
            lockout_threshold: 5,
            lockout_nip_ceiling: 100,
            lockout_base_secs: 60,
            lockout_max_secs: 15 * 60,
            lockout_memory_secs: 24 * 3600,
            second_step_cap: 10,
            forgot_min_ms: 200,
            forgot_cooldown_secs: 60,
            limits: RateLimits::default(),
            nip: NipRules::default(),
            help: crate::text::i18n::HelpContacts::default(),
            second_factor_required: FactorRequirement::Nobody,
            audit_retention_days: 5 * 365,
            breach_range: None,
            passkey_rp_id: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("configuration {name}={value:?}: {reason}")]
pub struct ConfigError {
    pub name: String,
    pub value: String,
    pub reason: String,
}

fn num<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: T,
    min: T,
    max: T,
) -> Result<T, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let err = |what: &str| ConfigError {
        name: name.to_owned(),
        value: raw.clone(),
        reason: format!("{what}: a whole number from {min} to {max} (default {default})"),
    };
    let v: T = raw.trim().parse().map_err(|_| err("not a number"))?;
    if v < min || v > max {
        return Err(err("out of range"));
    }
    Ok(v)
}

fn limit(
    get: &dyn Fn(&str) -> Option<String>,
    name: &str,
    default: RateLimit,
) -> Result<RateLimit, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    let err = || ConfigError {
        name: name.to_owned(),
        value: raw.clone(),
        reason: "expected MAX/WINDOW_SECONDS, e.g. 5/900".to_owned(),
    };
    let (max, window) = raw.trim().split_once('/').ok_or_else(err)?;
    let max: u64 = max.trim().parse().map_err(|_| err())?;
    let window_secs: i64 = window.trim().parse().map_err(|_| err())?;
    if max == 0 || !(1..=86_400).contains(&window_secs) {
        return Err(err());
    }
    Ok(RateLimit { max, window_secs })
}

impl RateLimits {
    /// `SAPK_LIMIT_{FORGOT,RESET,LOGIN}_{IP,NIP_IP,NIP}`, each `MAX/WINDOW_SECONDS`.
    fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<RateLimits, ConfigError> {
        let dl = RateLimits::default();
        Ok(RateLimits {
            forgot_ip: limit(get, "SAPK_LIMIT_FORGOT_IP", dl.forgot_ip)?,
            forgot_nip_ip: limit(get, "SAPK_LIMIT_FORGOT_NIP_IP", dl.forgot_nip_ip)?,
            forgot_nip: limit(get, "SAPK_LIMIT_FORGOT_NIP", dl.forgot_nip)?,
            reset_ip: limit(get, "SAPK_LIMIT_RESET_IP", dl.reset_ip)?,
            reset_nip_ip: limit(get, "SAPK_LIMIT_RESET_NIP_IP", dl.reset_nip_ip)?,
            reset_nip: limit(get, "SAPK_LIMIT_RESET_NIP", dl.reset_nip)?,
            login_ip: limit(get, "SAPK_LIMIT_LOGIN_IP", dl.login_ip)?,
            login_nip_ip: limit(get, "SAPK_LIMIT_LOGIN_NIP_IP", dl.login_nip_ip)?,
            login_nip: limit(get, "SAPK_LIMIT_LOGIN_NIP", dl.login_nip)?,
        })
    }
}

/// The help contacts (`SAPK_HELP_PHONE`, `SAPK_HELP_EMAIL`), `d`'s where unset.
fn help_from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
    d: crate::text::i18n::HelpContacts,
) -> Result<crate::text::i18n::HelpContacts, ConfigError> {
    Ok(crate::text::i18n::HelpContacts {
        phone: match get("SAPK_HELP_PHONE") {
            None => d.phone,
            Some(raw) => {
                crate::text::i18n::HelpContacts::phone_from(&raw).ok_or_else(|| ConfigError {
                    name: "SAPK_HELP_PHONE".to_owned(),
                    value: raw.clone(),
                    reason: "a telephone number: digits, spaces, +, - and parentheses, at most 24"
                        .to_owned(),
                })?
            }
        },
        email: match get("SAPK_HELP_EMAIL") {
            None => d.email,
            Some(raw) => crate::domain::email::Email::parse(raw.trim())
                .map(|e| e.as_str().to_owned())
                .map_err(|_| ConfigError {
                    name: "SAPK_HELP_EMAIL".to_owned(),
                    value: raw.clone(),
                    reason: "an e-mail address".to_owned(),
                })?,
        },
        page_url: match get("SAPK_PUBLIC_URL").map(|r| r.trim().to_owned()) {
            None => d.page_url,
            Some(u) if u.is_empty() => None,
            Some(u) => Some(page_url(&u).ok_or_else(|| ConfigError {
                name: "SAPK_PUBLIC_URL".to_owned(),
                value: u.clone(),
                reason: "the recovery page's address, http(s)://host[/path]".to_owned(),
            })?),
        },
        product: match get("SAPK_PRODUCT_NAME").map(|r| r.trim().to_owned()) {
            Some(n)
                if !n.is_empty() && n.chars().count() <= 40 && !n.chars().any(char::is_control) =>
            {
                n
            }
            Some(n) if !n.is_empty() => {
                return Err(ConfigError {
                    name: "SAPK_PRODUCT_NAME".to_owned(),
                    value: n,
                    reason: "a name of at most 40 characters".to_owned(),
                })
            }
            _ => d.product,
        },
    })
}

/// The page's address as configured, ending in `/` where it has no path.
fn page_url(u: &str) -> Option<String> {
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    let clean = !host.is_empty()
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "<>\"'`".contains(c));
    clean.then(|| {
        if rest.contains('/') {
            u.to_owned()
        } else {
            format!("{u}/")
        }
    })
}

/// `SAPK_BREACH_RANGE_URL` (an `http(s)://` URL; unset or empty: off) and
/// `SAPK_BREACH_RANGE_TIMEOUT_MS` (100 to 5000, default 800).
fn breach_range_from_lookup(
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<BreachRange>, ConfigError> {
    let Some(raw) = get("SAPK_BREACH_RANGE_URL") else {
        return Ok(None);
    };
    let url = raw.trim();
    if url.is_empty() {
        return Ok(None);
    }
    let well_formed = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_whitespace() || c.is_control());
    if !well_formed {
        return Err(ConfigError {
            name: "SAPK_BREACH_RANGE_URL".to_owned(),
            value: raw.clone(),
            reason: "an http(s):// URL the five hex digits are appended to".to_owned(),
        });
    }
    Ok(Some(BreachRange {
        url: url.to_owned(),
        timeout_ms: num(
            get,
            "SAPK_BREACH_RANGE_TIMEOUT_MS",
            BreachRange::DEFAULT_TIMEOUT_MS,
            100,
            5000,
        )?,
    }))
}

impl Config {
    /// Reads `SAPK_*` variables through `get` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_lookup(get: &dyn Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let d = Config::default();
        let mut c = Config {
            code_ttl_secs: num(get, "SAPK_CODE_TTL_SECONDS", d.code_ttl_secs, 60, 86_400)?,
            code_max_attempts: num(get, "SAPK_CODE_MAX_ATTEMPTS", d.code_max_attempts, 1, 20)?,
            session_ttl_secs: num(
                get,
                "SAPK_SESSION_TTL_SECONDS",
                d.session_ttl_secs,
                60,
                30 * 86_400,
            )?,
            password: PasswordPolicy {
                min_len: num(get, "SAPK_PASSWORD_MIN_LENGTH", d.password.min_len, 6, 64)?,
                max_len: d.password.max_len,
                min_score: num(get, "SAPK_PASSWORD_MIN_SCORE", d.password.min_score, 0, 4)?,
            },
            hash: HashParams {
                m_cost_kib: num(
                    get,
                    "SAPK_ARGON2_MEMORY_KIB",
                    d.hash.m_cost_kib,
                    8,
                    4 * 1024 * 1024,
                )?,
                t_cost: num(get, "SAPK_ARGON2_ITERATIONS", d.hash.t_cost, 1, 100)?,
                p_cost: num(get, "SAPK_ARGON2_PARALLELISM", d.hash.p_cost, 1, 16)?,
            },
            second_step_cap: num(get, "SAPK_SECOND_STEP_CAP", d.second_step_cap, 1, 100)?,
            forgot_min_ms: num(get, "SAPK_FORGOT_MIN_MS", d.forgot_min_ms, 0, 10_000)?,
            forgot_cooldown_secs: num(
                get,
                "SAPK_FORGOT_COOLDOWN_SECONDS",
                d.forgot_cooldown_secs,
                0,
                3600,
            )?,
            limits: RateLimits::from_lookup(get)?,
            nip: match get("SAPK_PPPK_CODES") {
                None => d.nip,
                Some(raw) => NipRules::parse(&raw).map_err(|reason| ConfigError {
                    name: "SAPK_PPPK_CODES".to_owned(),
                    value: raw.clone(),
                    reason: format!("{reason} (expected codes and ranges such as 21-29 or 21,24)"),
                })?,
            },
            help: help_from_lookup(get, d.help.clone())?,
            second_factor_required: get("SAPK_SECOND_FACTOR_REQUIRED")
                .map_or(FactorRequirement::Nobody, |raw| {
                    FactorRequirement::parse(&raw)
                }),
            audit_retention_days: num(
                get,
                "SAPK_AUDIT_RETENTION_DAYS",
                d.audit_retention_days,
                30,
                3650,
            )?,
            ..d
        };
        c.read_lockout(get)?;
        c.breach_range = breach_range_from_lookup(get)?;
        c.passkey_rp_id = get("SAPK_PASSKEY_RP_ID")
            .map(|r| r.trim().to_ascii_lowercase())
            .filter(|r| !r.is_empty());
        Ok(c)
    }

    /// The lock-out's settings (`SAPK_LOCKOUT_*`).
    fn read_lockout(&mut self, get: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        let d = Config::default();
        self.lockout_threshold = num(get, "SAPK_LOCKOUT_THRESHOLD", d.lockout_threshold, 1, 100)?;
        self.lockout_nip_ceiling = num(
            get,
            "SAPK_LOCKOUT_NIP_CEILING",
            d.lockout_nip_ceiling,
            1,
            1000,
        )?;
        self.lockout_base_secs = num(
            get,
            "SAPK_LOCKOUT_BASE_SECONDS",
            d.lockout_base_secs,
            1,
            3600,
        )?;
        self.lockout_max_secs = num(
            get,
            "SAPK_LOCKOUT_MAX_SECONDS",
            d.lockout_max_secs,
            1,
            86_400,
        )?;
        self.lockout_memory_secs = num(
            get,
            "SAPK_LOCKOUT_MEMORY_SECONDS",
            d.lockout_memory_secs,
            60,
            30 * 86_400,
        )?;
        Ok(())
    }

    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(&|k| std::env::var(k).ok())
    }

    /// The settings a deployed function refuses to run with: each makes the service weaker
    /// than the product promises (OWASP's argon2id minimums, the strength estimate, the
    /// forgot padding, NIST's lock-out ceiling, the code's tries and lifetime, limits that
    /// would stop limiting). Empty when the configuration is safe. Tests build their
    /// `Config` directly and are not held to these.
    pub fn security_floor_violations(&self) -> Vec<String> {
        let mut v = self.hashing_violations();
        v.extend(self.guess_violations());
        v.extend(self.limit_violations());
        v
    }

    /// Hashing and strength below the floor.
    fn hashing_violations(&self) -> Vec<String> {
        let mut v = Vec::new();
        let h = self.hash;
        // OWASP Password Storage Cheat Sheet: argon2id m=47104/t=1, m=19456/t=2,
        // m=12288/t=3, m=9216/t=4 or m=7168/t=5 (KiB), p=1.
        let owasp = [(47104, 1), (19456, 2), (12288, 3), (9216, 4), (7168, 5)];
        if !owasp
            .iter()
            .any(|&(m, t)| h.m_cost_kib >= m && h.t_cost >= t)
        {
            v.push(format!(
                "argon2id m={} KiB, t={} is below OWASP's minimum (e.g. m=19456, t=2)",
                h.m_cost_kib, h.t_cost
            ));
        }
        if self.password.min_score < 3 {
            v.push(format!(
                "SAPK_PASSWORD_MIN_SCORE={} is below 3",
                self.password.min_score
            ));
        }
        if self.forgot_min_ms < 100 {
            v.push(format!(
                "SAPK_FORGOT_MIN_MS={} is below 100: the answer time would show whether mail was sent",
                self.forgot_min_ms
            ));
        }
        v
    }

    /// More guesses than the floor allows: the code's tries and life, the lock-out.
    fn guess_violations(&self) -> Vec<String> {
        let checks = [
            (
                self.code_max_attempts > 10,
                "SAPK_CODE_MAX_ATTEMPTS",
                self.code_max_attempts as u64,
                "is above 10",
            ),
            (
                self.code_ttl_secs > 3600,
                "SAPK_CODE_TTL_SECONDS",
                self.code_ttl_secs as u64,
                "is above 3600",
            ),
            (
                self.lockout_threshold > 10,
                "SAPK_LOCKOUT_THRESHOLD",
                self.lockout_threshold as u64,
                "is above 10",
            ),
            (
                self.lockout_nip_ceiling > 100,
                "SAPK_LOCKOUT_NIP_CEILING",
                self.lockout_nip_ceiling as u64,
                "is above NIST's 100",
            ),
            (
                self.second_step_cap > 20,
                "SAPK_SECOND_STEP_CAP",
                self.second_step_cap as u64,
                "is above 20",
            ),
            (
                self.lockout_base_secs < 30,
                "SAPK_LOCKOUT_BASE_SECONDS",
                self.lockout_base_secs as u64,
                "is below 30",
            ),
        ];
        checks
            .into_iter()
            .filter(|(weak, ..)| *weak)
            .map(|(_, name, value, why)| format!("{name}={value} {why}"))
            .collect()
    }

    /// Rate limits that would stop limiting.
    fn limit_violations(&self) -> Vec<String> {
        let l = &self.limits;
        let per_15_min = |r: RateLimit| r.max.saturating_mul(900) / r.window_secs.max(1) as u64;
        [
            ("SAPK_LIMIT_FORGOT_NIP_IP", l.forgot_nip_ip, 20),
            ("SAPK_LIMIT_FORGOT_NIP", l.forgot_nip, 100),
            ("SAPK_LIMIT_RESET_NIP_IP", l.reset_nip_ip, 50),
            ("SAPK_LIMIT_RESET_NIP", l.reset_nip, 300),
            ("SAPK_LIMIT_LOGIN_NIP_IP", l.login_nip_ip, 100),
            ("SAPK_LIMIT_LOGIN_NIP", l.login_nip, 1000),
            ("SAPK_LIMIT_FORGOT_IP", l.forgot_ip, 100_000),
            ("SAPK_LIMIT_RESET_IP", l.reset_ip, 100_000),
            ("SAPK_LIMIT_LOGIN_IP", l.login_ip, 100_000),
        ]
        .into_iter()
        .filter(|(_, limit, cap)| per_15_min(*limit) > *cap)
        .map(|(name, _, cap)| format!("{name} allows more than {cap} per 15 minutes"))
        .collect()
    }

    /// Logs the security parameters in force (at start).
    pub fn log_effective(&self) {
        tracing::info!(
            argon2_m_kib = self.hash.m_cost_kib,
            argon2_t = self.hash.t_cost,
            argon2_p = self.hash.p_cost,
            password_min_len = self.password.min_len,
            password_min_score = self.password.min_score,
            code_ttl_secs = self.code_ttl_secs,
            code_max_attempts = self.code_max_attempts,
            lockout_threshold = self.lockout_threshold,
            lockout_nip_ceiling = self.lockout_nip_ceiling,
            forgot_min_ms = self.forgot_min_ms,
            forgot_cooldown_secs = self.forgot_cooldown_secs,
            pppk_codes = %self.nip.describe(),
            "security parameters in force"
        );
    }

    /// Lock of a whole NIP after `failures` consecutive failures from all addresses: the
    /// longest lock from the ceiling on.
    pub fn ceiling_lock_for(&self, failures: u32) -> Option<i64> {
        (failures >= self.lockout_nip_ceiling).then_some(self.lockout_max_secs)
    }

    /// Lock duration after `failures` consecutive failures, if any: the base at the
    /// threshold, doubling per further failure, capped.
    pub fn lock_for(&self, failures: u32) -> Option<i64> {
        if failures < self.lockout_threshold {
            return None;
        }
        let doublings = (failures - self.lockout_threshold).min(30);
        let secs = self.lockout_base_secs.saturating_mul(1i64 << doublings);
        Some(secs.min(self.lockout_max_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn defaults_and_overrides() {
        let env: HashMap<&str, &str> = [
            ("SAPK_PASSWORD_MIN_LENGTH", "6"),
            ("SAPK_LIMIT_FORGOT_NIP", "3/60"),
            ("SAPK_CODE_TTL_SECONDS", " 600 "),
            ("SAPK_PPPK_CODES", "21-29,31"),
        ]
        .into();
        let c = Config::from_lookup(&|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert_eq!(c.password.min_len, 6);
        assert_eq!(
            c.limits.forgot_nip,
            RateLimit {
                max: 3,
                window_secs: 60
            }
        );
        assert_eq!(c.code_ttl_secs, 600);
        assert_eq!(c.hash, HashParams::default());
        assert_eq!(c.nip.describe(), "21-29,31");
        assert_eq!(Config::default().nip.describe(), "21-29");
    }

    #[test]
    fn bad_values_are_refused_with_their_name() {
        for (k, v) in [
            ("SAPK_PASSWORD_MIN_LENGTH", "5"),
            ("SAPK_LIMIT_LOGIN_IP", "ten"),
            ("SAPK_LIMIT_LOGIN_IP", "0/60"),
            ("SAPK_CODE_MAX_ATTEMPTS", "-1"),
            ("SAPK_PPPK_CODES", "05"),
            ("SAPK_PPPK_CODES", ""),
            ("SAPK_HELP_PHONE", "call us"),
            ("SAPK_HELP_PHONE", "021-8093008; DROP"),
            ("SAPK_HELP_EMAIL", "humas at bkn"),
        ] {
            let e = Config::from_lookup(&|n| (n == k).then(|| v.to_string())).unwrap_err();
            assert_eq!(e.name, k);
        }
    }

    #[test]
    fn an_out_of_range_setting_says_the_range() {
        let e = Config::from_lookup(&|n| (n == "SAPK_CODE_TTL_SECONDS").then(|| "20".into()))
            .unwrap_err();
        assert!(
            e.to_string()
                .contains("out of range: a whole number from 60 to 86400 (default 900)"),
            "{e}"
        );
        let c = Config::from_lookup(&|n| match n {
            "SAPK_PUBLIC_URL" => Some("https://sapk.example.go.id".into()),
            "SAPK_PRODUCT_NAME" => Some(" Akun ASN ".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            c.help.page_url.as_deref(),
            Some("https://sapk.example.go.id/")
        );
        assert_eq!(c.help.product, "Akun ASN");
        for bad in ["ftp://x", "https://", "https://a b/", "javascript:alert(1)"] {
            assert!(
                Config::from_lookup(&|n| (n == "SAPK_PUBLIC_URL").then(|| bad.into())).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn help_contacts_are_configurable() {
        let c = Config::from_lookup(&|n| match n {
            "SAPK_HELP_PHONE" => Some(" (021) 809 3008 ".into()),
            "SAPK_HELP_EMAIL" => Some("bantuan@bkn.go.id".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(
            (c.help.phone.as_str(), c.help.email.as_str()),
            ("(021) 809 3008", "bantuan@bkn.go.id")
        );
        let d = Config::default();
        assert_eq!(
            (d.help.phone.as_str(), d.help.email.as_str()),
            ("021-8093008", "humasbknri@gmail.com")
        );
    }

    #[test]
    fn the_defaults_meet_the_floors_and_weakening_settings_do_not() {
        assert_eq!(
            Config::default().security_floor_violations(),
            Vec::<String>::new()
        );
        for (k, v) in [
            ("SAPK_ARGON2_MEMORY_KIB", "8"),
            ("SAPK_ARGON2_ITERATIONS", "1"),
            ("SAPK_FORGOT_MIN_MS", "0"),
            ("SAPK_PASSWORD_MIN_SCORE", "0"),
            ("SAPK_LIMIT_LOGIN_NIP_IP", "100000/60"),
            ("SAPK_LOCKOUT_NIP_CEILING", "1000"),
            ("SAPK_CODE_MAX_ATTEMPTS", "20"),
        ] {
            let c = Config::from_lookup(&|n| (n == k).then(|| v.to_string())).unwrap();
            assert_eq!(c.security_floor_violations().len(), 1, "{k}={v}");
        }
        let strong = Config::from_lookup(&|n| match n {
            "SAPK_ARGON2_MEMORY_KIB" => Some("47104".into()),
            "SAPK_ARGON2_ITERATIONS" => Some("1".into()),
            _ => None,
        })
        .unwrap();
        assert!(strong.security_floor_violations().is_empty());
    }

    #[test]
    fn lockout_backoff_doubles_and_caps() {
        let c = Config::default();
        assert_eq!(c.lock_for(4), None);
        assert_eq!(c.lock_for(5), Some(60));
        assert_eq!(c.lock_for(6), Some(120));
        assert_eq!(c.lock_for(8), Some(480));
        assert_eq!(c.lock_for(9), Some(900));
        assert_eq!(c.lock_for(1000), Some(900));
    }
}
