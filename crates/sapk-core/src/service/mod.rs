//! What every use case shares: [`Service`] itself (built once per process; the public use
//! cases in [`crate::public`], the counter's in [`crate::staff`] and the mail pipeline's in
//! [`crate::mail`] are its methods), its refusal codes ([`error`]), the audit chain's appends
//! ([`audit`]), the rate windows ([`rate_limit`]) and the lock-out reservations ([`throttle`]).

mod audit;
pub mod error;
pub(crate) mod rate_limit;
pub mod throttle;

pub(crate) use rate_limit::Limited;

use crate::domain::config::Config;
use crate::domain::keys::{random_bytes, TokenKey};
use crate::domain::nip::Nip;
use crate::domain::password::{HashError, PasswordHasher};
use crate::ports::{Clock, Mailer, Store, StoreError};
use crate::service::error::AuthError;
use crate::text::i18n::Lang;
use base64::Engine;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tracing::error;

/// Who is asking, as far as the transport knows.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub source_ip: Option<String>,
    pub lang: Lang,
}

/// A new session's bearer token; the token itself is never stored.
pub struct LoginOutput {
    pub access_token: secrecy::SecretString,
    pub expires_in: i64,
    /// The account's agency requires two-step login and it is not set up yet: the client
    /// leads the user to set it up.
    pub enrol_second_factor: bool,
}

impl std::fmt::Debug for LoginOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginOutput")
            .field("expires_in", &self.expires_in)
            .field("enrol_second_factor", &self.enrol_second_factor)
            .finish_non_exhaustive()
    }
}

/// The second step's challenge: a short-lived, single-use token that is not a session.
pub struct Challenge {
    pub token: secrecy::SecretString,
    pub expires_in: i64,
    /// Whether the authenticator's code (or a recovery code) answers it.
    pub code: bool,
    /// Whether one of the account's passkeys answers it (`POST /v1/login/passkey`).
    pub passkey: bool,
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("expires_in", &self.expires_in)
            .field("code", &self.code)
            .field("passkey", &self.passkey)
            .finish_non_exhaustive()
    }
}

/// What a right NIP and password lead to.
#[derive(Debug)]
pub enum LoginStep {
    Session(LoginOutput),
    /// Two-step login is on: the authenticator's code (or a recovery code) or a passkey is
    /// asked for next.
    SecondStep(Challenge),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub nip: Nip,
    pub expires_at: DateTime<Utc>,
    /// Whether two-step login is on.
    pub second_factor: bool,
    /// Whether the account's agency requires it.
    pub second_factor_required: bool,
    /// Whose account it is, as the page greets them.
    pub name: String,
    /// The account's e-mail, masked (`bu***@example.go.id`).
    pub email_masked: Option<String>,
    /// How many unused recovery codes are left (two-step login on).
    pub recovery_codes_left: Option<usize>,
}

/// What became of a queued e-mail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Sent,
    /// Its code expired before it could be sent.
    DroppedExpired,
    /// Its code was replaced or used meanwhile.
    DroppedSuperseded,
}

/// Everything the use cases need, built once per process.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) mailer: Arc<dyn Mailer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    pub(crate) key: TokenKey,
    /// Keys NIK and document numbers recorded at the counter; `None` where no staff action
    /// runs (then e-mail changes are refused).
    pub(crate) pii_key: Option<TokenKey>,
    pub(crate) hasher: PasswordHasher,
    /// Seals TOTP secrets and keys recovery-code hashes; `None` where no two-step login is
    /// served (then setting it up, and its second step, are unavailable).
    pub(crate) factor_key: Option<crate::domain::factor::FactorKey>,
    /// The mail service's suppression list, where there is one (SES): a staff e-mail change
    /// takes the new address off it.
    pub(crate) suppressions: Option<Arc<dyn crate::ports::Suppressions>>,
    /// Seals each audit record into its NIP's chain ([`crate::domain::audit_chain`]); `None` only
    /// where no key was given (then every audit append is refused, never written unsealed).
    pub(crate) audit_key: Option<crate::domain::audit_chain::AuditKey>,
    /// Where keyed checkpoints of every audit chain's head go, and are read back by a
    /// verification (a folder beside the embedded store; the Object Lock archive on AWS).
    pub(crate) checkpoints: Option<Arc<dyn crate::ports::AuditArchive>>,
    /// The range API new passwords are also checked against ([`Config::breach_range`]).
    pub(crate) breach_range: Option<Arc<dyn crate::ports::BreachRange>>,
    /// This service as a WebAuthn relying party, from the page's address; `None`: passkeys
    /// are off (no page address, or one whose host is an IP address).
    pub(crate) passkeys: Option<Arc<crate::domain::passkey::RelyingParty>>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The use cases by who calls them, each a view of the one [`Service`]: [`Service::public`]
/// for the public API (`public/`), [`Service::staff`] for the counter, the staff registry and
/// the data administrator (`staff/`), [`Service::mail`] for the mail pipeline (`mail/` and the
/// mail-status recorder). A view is a copyable reference; what the use cases share (the
/// store, the clock, the audit) stays on `Service`, which each view dereferences to.
macro_rules! view {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy)]
        pub struct $name<'a>(&'a Service);

        impl std::ops::Deref for $name<'_> {
            type Target = Service;

            fn deref(&self) -> &Service {
                self.0
            }
        }

        impl Service {
            $(#[$doc])*
            pub fn $method(&self) -> $name<'_> {
                $name(self)
            }
        }
    };
}

view!(
    /// The use cases of the public API: forgot, reset, login and its second step, sessions.
    Public,
    public
);
view!(
    /// The use cases of the counter, the staff registry and the data administrator.
    Staff,
    staff
);
view!(
    /// The use cases of the mail pipeline: delivery of queued mail, the mail service's events.
    Mail,
    mail
);

/// The head of an audit chain read early, beside a request's first reads; `Unknown` when
/// not read (or that read failed): it is read when the record is sealed.
#[derive(Debug, Clone)]
pub(crate) enum Head {
    Known(Option<crate::domain::audit_chain::AuditLink>),
    Unknown,
}

/// 256 random bits, base64url (43 characters): a session token or a login challenge.
pub(crate) fn new_bearer_token() -> Result<String, AuthError> {
    let bytes = random_bytes::<32>().map_err(|e| {
        error!(error = %e, "no randomness for a token");
        AuthError::unavailable()
    })?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn store_down(e: StoreError) -> AuthError {
    error!(error = %e, "store call failed");
    AuthError::unavailable()
}

pub(crate) fn hash_down(e: HashError) -> AuthError {
    error!(error = %e, "password hashing failed");
    AuthError::unavailable()
}

impl Service {
    pub fn new(
        store: Arc<dyn Store>,
        mailer: Arc<dyn Mailer>,
        clock: Arc<dyn Clock>,
        config: Config,
        key: TokenKey,
    ) -> Result<Service, HashError> {
        let hasher = PasswordHasher::new(config.hash)?;
        config.help.install();
        let passkeys = config.help.page_url.as_deref().and_then(|page| {
            match crate::domain::passkey::RelyingParty::for_page(
                page,
                config.passkey_rp_id.as_deref(),
                &config.help.product,
            ) {
                Ok(rp) => rp.map(Arc::new),
                Err(e) => {
                    tracing::error!(error = %e, "passkeys are off");
                    None
                }
            }
        });
        Ok(Service {
            store,
            mailer,
            clock,
            config,
            pii_key: None,
            factor_key: None,
            suppressions: None,
            breach_range: None,
            passkeys,
            audit_key: Some(crate::domain::audit_chain::AuditKey::derived_from(&key)),
            checkpoints: None,
            key,
            hasher,
        })
    }

    /// The key of the audit chain: a key of its own (deployed: `SAPK_AUDIT_KEY`). Without
    /// it the key is derived from the token key.
    pub fn with_audit_key(mut self, key: TokenKey) -> Service {
        self.audit_key = Some(crate::domain::audit_chain::AuditKey::new(key));
        self
    }

    /// Seals audit records with `key` (a service key, or a writer's own: see
    /// [`crate::domain::audit_chain::AuditKey`]), a ring that may also hold writers' keys to verify.
    pub fn with_audit_key_ring(mut self, key: crate::domain::audit_chain::AuditKey) -> Service {
        self.audit_key = Some(key);
        self
    }

    /// The writer whose own key seals this process's audit records (`supervisor`,
    /// `data-admin`), or `None` for the service's key.
    pub fn audit_sealer(&self) -> Option<&str> {
        self.audit_key
            .as_ref()
            .map(|k| k.name())
            .filter(|n| !n.is_empty())
    }

    /// The archive of audit checkpoints (see [`crate::domain::audit_chain::Checkpoint`]).
    pub fn with_checkpoints(mut self, archive: Arc<dyn crate::ports::AuditArchive>) -> Service {
        self.checkpoints = Some(archive);
        self
    }

    /// No audit key (a tool started without one): reading works, every audit append is
    /// refused.
    pub fn without_audit_key(mut self) -> Service {
        self.audit_key = None;
        self
    }

    /// The key for NIK and document numbers (a key of its own, not the token key).
    pub fn with_pii_key(mut self, key: TokenKey) -> Service {
        self.pii_key = Some(key);
        self
    }

    /// The key of two-step login (a key of its own: not the token key, not the PII key).
    pub fn with_factor_key(mut self, key: TokenKey) -> Service {
        self.factor_key = Some(crate::domain::factor::FactorKey::new(key));
        self
    }

    /// The same service, with the mail service's suppression list to clear at a staff e-mail
    /// change.
    /// New passwords also checked against `range` (the shipped filter decides alone when it
    /// does not answer within [`Config::breach_range`]'s timeout).
    pub fn with_breach_range(mut self, range: Arc<dyn crate::ports::BreachRange>) -> Service {
        self.breach_range = Some(range);
        self
    }

    pub fn with_suppressions(mut self, s: Arc<dyn crate::ports::Suppressions>) -> Service {
        self.suppressions = Some(s);
        self
    }

    /// The mailer the service sends through.
    pub fn mailer(&self) -> Arc<dyn Mailer> {
        self.mailer.clone()
    }

    /// The same service, its e-mails going to `mailer` (a queue instead of SES).
    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Service {
        self.mailer = mailer;
        self
    }

    /// Whether passkeys are offered: the page is served at a domain name (not an IP address).
    pub fn passkeys_on(&self) -> bool {
        self.passkeys.is_some()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn key(&self) -> &TokenKey {
        &self.key
    }

    /// Does the per-process work once (the dummy hash unknown NIPs are checked against, the
    /// password policy's word list), so that no request pays for it.
    pub async fn warm_up(&self) {
        let h = self.hasher.clone();
        let _ = tokio::task::spawn_blocking(move || {
            crate::domain::policy::load_word_list();
            if !crate::domain::breached::load() {
                tracing::error!("the breached-password filter is unreadable: only the published examples are refused");
            }
            h.dummy_hash().len()
        })
        .await;
    }

    /// A NIP (PNS or PPPK) as typed by a person, under the configured rules.
    pub fn nip(&self, raw: &str) -> Result<Nip, crate::domain::nip::NipError> {
        Nip::parse_with(raw, self.clock.now().date_naive(), &self.config.nip)
    }

    pub fn parse_nip(&self, raw: &str) -> Result<Nip, AuthError> {
        Ok(self.nip(raw)?)
    }
}
