//! The public use cases: forgot, reset, login, session check and logout.

use crate::audit_text::{Action, Outcome};
use crate::code::ResetCode;
use crate::config::Config;
use crate::error::AuthError;
use crate::i18n::Lang;
use crate::keys::{ct_eq, random_bytes, TokenKey};
use crate::mail;
use crate::nip::Nip;
use crate::password::{HashError, Password, PasswordHasher, PolicyContext};
use crate::ports::{
    Account, AuditEvent, Clock, Mailer, OutgoingEmail, ResetCodeRecord, SessionRecord, Store,
    StoreError,
};
use crate::throttle::{self, Reservation};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::sync::Arc;
use tracing::{error, info, instrument, warn};

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
}

impl std::fmt::Debug for Challenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Challenge")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What a right NIP and password lead to.
#[derive(Debug)]
pub enum LoginStep {
    Session(LoginOutput),
    /// Two-step login is on: the authenticator (or a recovery code) is asked for next.
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
}

/// The public actions with rate limits of their own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limited {
    Forgot,
    Reset,
    Login,
}

impl Limited {
    fn name(self) -> &'static str {
        match self {
            Limited::Forgot => "forgot",
            Limited::Reset => "reset",
            Limited::Login => "login",
        }
    }

    /// The audit action of a request refused by this limit.
    fn refused_action(self) -> Action {
        match self {
            Limited::Forgot => Action::ForgotRateLimited,
            Limited::Reset => Action::ResetRateLimited,
            Limited::Login => Action::LoginRateLimited,
        }
    }
}

/// One entry of a civil servant's own security activity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActivityItem {
    pub at: DateTime<Utc>,
    /// The stable codes, as in the audit record.
    pub action: String,
    pub result: String,
    /// The same in the reader's language.
    pub what: String,
    pub outcome: String,
    /// The source network (`203.0.113.x`, `2001:db8:1:…`), not the address.
    pub source: Option<String>,
    /// For a counter action: the office that acted (never the officer).
    pub office: Option<String>,
}

/// An address made coarse: the /24 of an IPv4 address, the /48 of an IPv6 one.
fn coarse_source(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.x")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:…", s[0], s[1], s[2])
        }
        Err(_) => "-".to_owned(),
    }
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
    pub(crate) factor_key: Option<crate::factor::FactorKey>,
    /// The mail service's suppression list, where there is one (SES): a staff e-mail change
    /// takes the new address off it.
    pub(crate) suppressions: Option<Arc<dyn crate::ports::Suppressions>>,
    /// Seals each audit record into its NIP's chain ([`crate::audit_chain`]); `None` only
    /// where no key was given (then every audit append is refused, never written unsealed).
    pub(crate) audit_key: Option<crate::audit_chain::AuditKey>,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The head of an audit chain read early, beside a request's first reads; `Unknown` when
/// not read (or that read failed): it is read when the record is sealed.
#[derive(Debug, Clone)]
pub(crate) enum Head {
    Known(Option<crate::audit_chain::AuditLink>),
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
        Ok(Service {
            store,
            mailer,
            clock,
            config,
            pii_key: None,
            factor_key: None,
            suppressions: None,
            audit_key: Some(crate::audit_chain::AuditKey::derived_from(&key)),
            key,
            hasher,
        })
    }

    /// The key of the audit chain: a key of its own (deployed: `SAPK_AUDIT_KEY`). Without
    /// it the key is derived from the token key.
    pub fn with_audit_key(mut self, key: TokenKey) -> Service {
        self.audit_key = Some(crate::audit_chain::AuditKey::new(key));
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
        self.factor_key = Some(crate::factor::FactorKey::new(key));
        self
    }

    /// The same service, with the mail service's suppression list to clear at a staff e-mail
    /// change.
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
            crate::policy::load_word_list();
            h.dummy_hash().len()
        })
        .await;
    }

    /// A NIP (PNS or PPPK) as typed by a person, under the configured rules.
    pub fn nip(&self, raw: &str) -> Result<Nip, crate::nip::NipError> {
        Nip::parse_with(raw, self.clock.now().date_naive(), &self.config.nip)
    }

    pub fn parse_nip(&self, raw: &str) -> Result<Nip, AuthError> {
        Ok(self.nip(raw)?)
    }

    pub(crate) async fn audit(&self, event: AuditEvent) {
        self.audit_on(event, Head::Unknown).await;
    }

    /// [`Service::audit`] sealed on a head read earlier, beside the request's first reads
    /// (one round trip less); a stale head only costs a retry.
    pub(crate) async fn audit_on(&self, event: AuditEvent, head: Head) {
        if let Err(e) = self.append_chained_on(&event, head).await {
            error!(error = %e, action = %event.action, "audit append failed");
        }
    }

    /// Seals `event` on its chain's head and appends it; when another append took the place
    /// first, seals again on the new head (a few times, with a short random pause).
    pub(crate) async fn append_chained(&self, event: &AuditEvent) -> Result<(), StoreError> {
        self.append_chained_on(event, Head::Unknown).await
    }

    async fn append_chained_on(&self, event: &AuditEvent, head: Head) -> Result<(), StoreError> {
        if let Some(key) = &self.audit_key {
            if self.store.append_audit_sealed(event, key).await? {
                return Ok(());
            }
        }
        self.sealed_write(event, head, |sealed| async move {
            self.store.append_audit(&sealed).await
        })
        .await
    }

    /// The head of `nip`'s audit chain, to read beside a request's first reads.
    pub(crate) async fn audit_head(&self, nip: &Nip) -> Head {
        match self.store.audit_head(nip.as_str()).await {
            Ok(h) => Head::Known(h),
            Err(_) => Head::Unknown,
        }
    }

    /// `write` with `event` sealed on its chain's current head, again on a newer head when
    /// the write meets a conflict and the head moved (a conflict with an unmoved head is the
    /// write's own and is returned).
    pub(crate) async fn sealed_write<F, Fut>(
        &self,
        event: &AuditEvent,
        head: Head,
        write: F,
    ) -> Result<(), StoreError>
    where
        F: Fn(AuditEvent) -> Fut,
        Fut: std::future::Future<Output = Result<(), StoreError>>,
    {
        const ATTEMPTS: u32 = 24;
        let Some(key) = &self.audit_key else {
            return Err(StoreError::Unavailable(
                "no audit key configured (SAPK_AUDIT_KEY): audit records cannot be sealed".into(),
            ));
        };
        let chain = crate::audit_chain::chain_of(event);
        let mut head = match head {
            Head::Known(h) => h,
            Head::Unknown => self.store.audit_head(chain).await?,
        };
        for attempt in 0..ATTEMPTS {
            let mut sealed = event.clone();
            sealed.link = Some(key.seal(event, head.as_ref()));
            match write(sealed).await {
                Err(StoreError::Conflict(why)) => {
                    let now = self.store.audit_head(chain).await?;
                    if now == head {
                        return Err(StoreError::Conflict(why));
                    }
                    head = now;
                    let spread = 1u64 << attempt.min(5);
                    let jitter = u64::from(crate::keys::random_bytes::<1>().map_or(0, |b| b[0]));
                    tokio::time::sleep(std::time::Duration::from_micros(
                        200 * spread + jitter * 4 * spread,
                    ))
                    .await;
                }
                done => return done,
            }
        }
        Err(StoreError::Conflict(format!(
            "audit chain {chain}: {ATTEMPTS} appends lost the race"
        )))
    }

    pub(crate) fn public_event(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        action: Action,
        outcome: Outcome,
    ) -> AuditEvent {
        AuditEvent {
            at: self.clock.now(),
            actor: "self".to_owned(),
            office: None,
            nip: Some(nip.clone()),
            source_ip: meta.source_ip.clone(),
            action: action.code().to_owned(),
            outcome: outcome.code().to_owned(),
            details: serde_json::Value::Null,
            link: None,
        }
    }

    /// Counts the request against the limits of `action` per source address, per NIP and
    /// address, and per NIP (unknown NIPs count alike, so limits reveal nothing). The three
    /// counters are written at once, whatever their state.
    pub(crate) async fn rate_limit(
        &self,
        action: Limited,
        nip: &Nip,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let over = self.rate_counters(action, nip, meta).await;
        self.refuse_if_limited(action, nip, meta, over, Head::Unknown)
            .await
    }

    /// The three counters of [`Service::rate_limit`], written at once (a route reads its
    /// records beside them); the longest wait of a counter over its limit.
    pub(crate) async fn rate_counters(
        &self,
        action: Limited,
        nip: &Nip,
        meta: &RequestMeta,
    ) -> Result<Option<u64>, AuthError> {
        let l = &self.config.limits;
        let (by_ip, by_nip_ip, by_nip) = match action {
            Limited::Forgot => (l.forgot_ip, l.forgot_nip_ip, l.forgot_nip),
            Limited::Reset => (l.reset_ip, l.reset_nip_ip, l.reset_nip),
            Limited::Login => (l.login_ip, l.login_nip_ip, l.login_nip),
        };
        let now = self.clock.now();
        let ip = throttle::source_key(meta.source_ip.as_deref());
        let name = action.name();
        let limits = [
            (format!("rl:{name}:ip:{ip}"), by_ip),
            (format!("rl:{name}:nipip:{nip}@{ip}"), by_nip_ip),
            (format!("rl:{name}:nip:{nip}"), by_nip),
        ];
        // Each counter counts one fixed window; its record lives until the window ends.
        let windows = limits.map(|(key, limit)| {
            let window = now.timestamp().div_euclid(limit.window_secs);
            let ends = (window + 1) * limit.window_secs;
            (key, window, ends, limit.max)
        });
        let counters: Vec<(String, DateTime<Utc>)> = windows
            .iter()
            .map(|(key, window, ends, _)| {
                (
                    format!("{key}:{window}"),
                    DateTime::from_timestamp(*ends, 0).unwrap_or(now),
                )
            })
            .collect();
        let counts = self
            .store
            .hit_counters(&counters)
            .await
            .map_err(store_down)?;
        if counts.len() != counters.len() {
            return Err(store_down(crate::ports::StoreError::Corrupt(format!(
                "{} counts for {} counters",
                counts.len(),
                counters.len()
            ))));
        }
        Ok(windows
            .iter()
            .zip(counts)
            .filter(|((_, _, _, max), count)| count > max)
            .map(|((_, _, ends, _), _)| (ends - now.timestamp()).max(1) as u64)
            .max())
    }

    /// The answer of [`Service::rate_counters`]: a counter over its limit refuses the
    /// request, audited (sealed on `head` when it was read early).
    pub(crate) async fn refuse_if_limited(
        &self,
        action: Limited,
        nip: &Nip,
        meta: &RequestMeta,
        over: Result<Option<u64>, AuthError>,
        head: Head,
    ) -> Result<(), AuthError> {
        match over? {
            None => Ok(()),
            Some(retry_after_secs) => {
                warn!(action = action.name(), "rate limited");
                self.audit_on(
                    self.public_event(nip, meta, action.refused_action(), Outcome::Refused),
                    head,
                )
                .await;
                Err(AuthError::RateLimited { retry_after_secs })
            }
        }
    }

    pub(crate) async fn send(&self, email: Result<OutgoingEmail, mail::TemplateError>) -> bool {
        let email = match email {
            Ok(m) => m,
            Err(e) => {
                error!(error = %e, "e-mail not rendered");
                return false;
            }
        };
        match self.mailer.send(&email).await {
            Ok(()) => true,
            Err(e) => {
                error!(error = %e, kind = email.kind.as_str(), "e-mail not sent");
                false
            }
        }
    }

    /// Sends one queued e-mail through `via` (the sender's real mailer: SES, the outbox). A
    /// reset-code e-mail whose code expired or was replaced (a newer code, a completed reset,
    /// an e-mail change) since it was queued is dropped, not sent: the code in it would not
    /// work. A store that cannot be read is a failure to retry, like a mailer that fails.
    pub async fn deliver(
        &self,
        email: &OutgoingEmail,
        via: &dyn crate::ports::Mailer,
    ) -> Result<Delivery, crate::ports::MailError> {
        if let Some(g) = &email.guard {
            if g.expires_at <= self.clock.now() {
                return Ok(Delivery::DroppedExpired);
            }
            match self.store.get_reset_code(&g.nip).await {
                Ok(Some(c)) if c.code_hash == g.code_hash => {}
                Ok(_) => return Ok(Delivery::DroppedSuperseded),
                Err(e) => return Err(crate::ports::MailError::Unavailable(e.to_string())),
            }
        }
        via.send(email).await.map(|()| Delivery::Sent)
    }

    /// `POST /v1/password/forgot`. The answer is the same, and takes at least
    /// `forgot_min_ms`, whatever the account's state.
    #[instrument(skip_all, fields(action = "forgot"))]
    pub async fn forgot(&self, nip_raw: &str, meta: &RequestMeta) -> Result<(), AuthError> {
        let started = tokio::time::Instant::now();
        let nip = self.parse_nip(nip_raw)?;
        let result = self.forgot_inner(&nip, meta).await;
        let deadline = started + std::time::Duration::from_millis(self.config.forgot_min_ms);
        // A timer rounds up to its next tick (about 1 ms), so only wait when there is time left.
        if tokio::time::Instant::now() < deadline {
            tokio::time::sleep_until(deadline).await;
        }
        result
    }

    /// Every NIP gets the same store work: the account and the current code are read, and
    /// (unless a code was issued within the cooldown) a code record is written: a real one
    /// for an account with an e-mail, otherwise one no one can know (the hash of a code that
    /// is never sent). Only the e-mail differs, and the answer time is padded.
    async fn forgot_inner(&self, nip: &Nip, meta: &RequestMeta) -> Result<(), AuthError> {
        // One round trip: the counters, the account, the code and the audit chain's head.
        let (over, account, current, head) = tokio::join!(
            self.rate_counters(Limited::Forgot, nip, meta),
            self.store.get_account(nip),
            self.store.get_reset_code(nip),
            self.audit_head(nip),
        );
        self.refuse_if_limited(Limited::Forgot, nip, meta, over, head.clone())
            .await?;
        let account = account.map_err(store_down)?;
        let current = current.map_err(store_down)?;
        let now = self.clock.now();
        let cooldown = Duration::seconds(self.config.forgot_cooldown_secs);
        // Only a code that still works holds the cooldown (not one from before a reset or
        // an e-mail change at the counter).
        let credential_version = account.as_ref().map_or(0, |a| a.credential_version);
        if let Some(c) = current.as_ref().filter(|c| {
            c.expires_at > now
                && c.issued_at + cooldown > now
                && c.credential_version == credential_version
        }) {
            // The same write as a new code, changing nothing.
            self.store.rewrite_reset_code(c).await.map_err(store_down)?;
            self.audit_on(
                self.public_event(nip, meta, Action::CodeRequested, Outcome::Cooldown),
                head,
            )
            .await;
            return Ok(());
        }
        let no_randomness = |e| {
            error!(error = %e, "no randomness for a reset code");
            AuthError::unavailable()
        };
        let code = ResetCode::generate().map_err(no_randomness)?;
        let target = account
            .as_ref()
            .and_then(|a| a.email.clone().map(|e| (a, e)));
        let code_hash = match target {
            Some(_) => code.hash(&self.key, nip),
            None => ResetCode::generate()
                .map_err(no_randomness)?
                .hash(&self.key, nip),
        };
        let expires_at = now + Duration::seconds(self.config.code_ttl_secs);
        let record = ResetCodeRecord {
            nip: nip.clone(),
            code_hash,
            issued_at: now,
            expires_at,
            attempts_left: self.config.code_max_attempts,
            credential_version,
        };
        self.store
            .put_reset_code(&record)
            .await
            .map_err(store_down)?;
        let Some((account, email)) = target else {
            let outcome = if account.is_some() {
                Outcome::NoEmail
            } else {
                Outcome::UnknownNip
            };
            self.audit_on(
                self.public_event(nip, meta, Action::CodeRequested, outcome),
                head,
            )
            .await;
            return Ok(());
        };
        let mail = mail::reset_code_email(
            &email,
            &account.name,
            &code,
            expires_at,
            self.config.code_ttl_secs / 60,
            meta.lang,
        )
        .map(|mut m| {
            m.guard = Some(crate::ports::CodeGuard {
                nip: nip.clone(),
                code_hash: record.code_hash.clone(),
                expires_at,
            });
            m
        });
        let sent = self.send(mail).await;
        let mut ev = self.public_event(
            nip,
            meta,
            Action::CodeRequested,
            match (sent, self.mailer.queues()) {
                (true, true) => Outcome::Queued,
                (true, false) => Outcome::Sent,
                (false, _) => Outcome::MailFailed,
            },
        );
        ev.details = json!({ "to": email.masked(), "expires_at": expires_at });
        self.audit_on(ev, head).await;
        info!(sent, "reset code issued");
        Ok(())
    }

    /// What anyone knows from the NIP alone: the same for every NIP, whether or not an
    /// account exists.
    fn public_context(nip: &Nip) -> PolicyContext {
        PolicyContext::for_nip(nip)
    }

    /// The NIP's context plus the account's name and e-mail.
    fn personal_context(nip: &Nip, account: &Account) -> PolicyContext {
        let ctx = PolicyContext::for_nip(nip).with_name(&account.name);
        match &account.email {
            Some(e) => ctx.with_email(e),
            None => ctx,
        }
    }

    /// The password policy, off the async executor (the estimator costs milliseconds).
    pub(crate) async fn check_policy(
        &self,
        password: &Password,
        ctx: PolicyContext,
    ) -> Result<(), AuthError> {
        let policy = self.config.password.clone();
        let pw = Password::new(password.expose());
        match tokio::task::spawn_blocking(move || policy.check(&pw, &ctx)).await {
            Ok(r) => r.map_err(AuthError::WeakPassword),
            Err(e) => {
                error!(error = %e, "password policy worker failed");
                Err(AuthError::unavailable())
            }
        }
    }

    /// `POST /v1/password/reset`. No weak password costs a try, and no answer depends on
    /// whether the NIP exists:
    /// 1. the policy with what the NIP itself tells (same for every NIP);
    /// 2. the code, compared without writing; a wrong one then takes a try;
    /// 3. only for the right code, the policy with the account's name and e-mail (checking
    ///    that earlier would tell a guesser which NIPs have an account with that name);
    /// 4. a try taken atomically (of parallel requests with the right code, at most as many
    ///    as tries are left get further), the hash, and one atomic write.
    #[instrument(skip_all, fields(action = "reset"))]
    pub async fn reset(
        &self,
        nip_raw: &str,
        code_raw: &str,
        new_password_raw: &str,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let nip = self.parse_nip(nip_raw)?;
        // The same store work for every NIP. One round trip: the counters, the account, the
        // code and the audit chain's head; then a try taken (from whatever code is there;
        // nothing, if there is none); then, for the right code, the reset and its audit
        // record in one atomic write.
        let (over, account, record, head) = tokio::join!(
            self.rate_counters(Limited::Reset, &nip, meta),
            self.store.get_account(&nip),
            self.store.get_reset_code(&nip),
            self.audit_head(&nip),
        );
        self.refuse_if_limited(Limited::Reset, &nip, meta, over, head.clone())
            .await?;
        let password = Password::new(new_password_raw);
        self.check_policy(&password, Self::public_context(&nip))
            .await?;

        let fail = |reason: &'static str| {
            let (nip, head) = (nip.clone(), head.clone());
            async move {
                let mut ev = self.public_event(&nip, meta, Action::Reset, Outcome::Failed);
                ev.details = json!({ "reason": reason });
                self.audit_on(ev, head).await;
                AuthError::InvalidToken
            }
        };
        let Ok(code) = ResetCode::parse(code_raw) else {
            return Err(fail("malformed_code").await);
        };
        let account = account.map_err(store_down)?;
        let record = record.map_err(store_down)?;
        let now = self.clock.now();
        let live = record.as_ref().filter(|r| {
            r.expires_at > now
                && r.credential_version == account.as_ref().map_or(0, |a| a.credential_version)
        });
        let stored_hash = record
            .as_ref()
            .map_or_else(|| "-".to_owned(), |r| r.code_hash.clone());
        let right = live.is_some() && ct_eq(&code.hash(&self.key, &nip), &stored_hash);
        if let (true, Some(a)) = (right, &account) {
            self.check_policy(&password, Self::personal_context(&nip, a))
                .await?;
        }
        let left = self
            .store
            .take_code_attempt(&nip, &stored_hash)
            .await
            .map_err(store_down)?;
        let reason = match (&record, live, left, right, &account) {
            (None, ..) => Some("no_code"),
            (Some(_), None, ..) => Some("expired_code"),
            (_, _, None, ..) => Some("no_tries_left"),
            (_, _, _, false, _) => Some("wrong_code"),
            // A code for a NIP without an account is never sent; guessing it proves nothing.
            (_, _, _, true, None) => Some("unknown_nip"),
            _ => None,
        };
        if let Some(reason) = reason {
            return Err(fail(reason).await);
        }
        let (Some(account), Some(record)) = (account, record) else {
            return Err(fail("unknown_nip").await);
        };
        let hash = self.hasher.hash(&password).await.map_err(hash_down)?;
        let mut updated = account.clone();
        updated.password_hash = Some(hash);
        updated.credential_version += 1;
        updated.password_changed_at = Some(now);
        updated.updated_at = now;
        let cleared = throttle::cleared(&nip, now, &self.config);
        let done = self.public_event(&nip, meta, Action::Reset, Outcome::Succeeded);
        let written = self
            .sealed_write(&done, head.clone(), |sealed| {
                let (record, updated, cleared) = (&record, &updated, &cleared);
                async move {
                    self.store
                        .complete_reset(
                            &record.code_hash,
                            updated,
                            account.version,
                            cleared,
                            &sealed,
                        )
                        .await
                }
            })
            .await;
        match written {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(fail("code_already_used").await),
            Err(e) => return Err(store_down(e)),
        }
        info!("password reset");
        self.notify_password_changed(&account, now, meta.lang).await;
        Ok(())
    }

    pub(crate) fn session_hash(&self, token: &str) -> String {
        self.key.mac_hex("sapk/session/v1", &[token.as_bytes()])
    }

    /// `POST /v1/login`: one argon2id verification whether or not the NIP exists.
    #[instrument(skip_all, fields(action = "login"))]
    pub async fn login(
        &self,
        nip_raw: &str,
        password_raw: &str,
        meta: &RequestMeta,
    ) -> Result<LoginStep, AuthError> {
        let nip = self.parse_nip(nip_raw)?;
        let now = self.clock.now();
        let keys = throttle::keys(&nip, meta.source_ip.as_deref());
        // The same store work for every NIP. One round trip: the counters, the account, the
        // lock-out records and the audit chain's head; then the attempt reserved (one write);
        // after the verification, the attempt given back, the session and the audit record
        // at once.
        let (over, account, locks, head) = tokio::join!(
            self.rate_counters(Limited::Login, &nip, meta),
            self.store.get_account(&nip),
            self.store.get_throttles(&keys),
            self.audit_head(&nip),
        );
        self.refuse_if_limited(Limited::Login, &nip, meta, over, head.clone())
            .await?;
        let account = account.map_err(store_down)?;
        let reservation = throttle::reserve(
            self.store.as_ref(),
            &nip,
            &keys,
            now,
            &self.config,
            locks.ok(),
        )
        .await;
        let (pair_failures, nip_failures, lock, records) = match reservation.map_err(store_down)? {
            Reservation::Taken {
                pair_failures,
                nip_failures,
                lock,
                records,
            } => (pair_failures, nip_failures, lock, records),
            Reservation::Locked(until) => {
                self.audit_on(
                    self.public_event(&nip, meta, Action::Login, Outcome::Throttled),
                    head,
                )
                .await;
                return Err(AuthError::RateLimited {
                    retry_after_secs: (until - now).num_seconds().max(1) as u64,
                });
            }
            Reservation::Busy => {
                self.audit_on(
                    self.public_event(&nip, meta, Action::Login, Outcome::Throttled),
                    head,
                )
                .await;
                return Err(AuthError::RateLimited {
                    retry_after_secs: 1,
                });
            }
        };
        let password = Password::new(password_raw);
        let phc = account.as_ref().and_then(|a| a.password_hash.as_deref());
        let ok = self
            .hasher
            .verify(&password, phc)
            .await
            .map_err(hash_down)?;
        let (Some(account), true) = (account, ok) else {
            // The failure was counted when the attempt was reserved.
            let mut ev = self.public_event(&nip, meta, Action::Login, Outcome::Failed);
            ev.details = json!({
                "failures": pair_failures,
                "failures_all_addresses": nip_failures,
                "locked_until": lock,
            });
            self.audit_on(ev, head).await;
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(phc) = &account.password_hash {
            if self.hasher.needs_rehash(phc) {
                self.rehash(&account, &password).await;
            }
        }
        let give_back = throttle::given_back(&records);
        // Two-step login: a right password gives a challenge, not a session. (Whether the
        // account has a factor was read with the account, as for every NIP; nothing before
        // this point differs.) The attempt is given back and the record written beside it;
        // the record says the password was right.
        let two_step = account
            .second_factor
            .as_ref()
            .is_some_and(crate::factor::SecondFactor::is_active);
        let outcome = if two_step {
            Outcome::SecondStep
        } else {
            Outcome::Succeeded
        };
        let step = async {
            if two_step {
                let challenge = self
                    .issue_challenge(&nip, account.credential_version, now)
                    .await?;
                return Ok(LoginStep::SecondStep(challenge));
            }
            let mut out = self
                .issue_session(&nip, account.credential_version, now)
                .await?;
            out.enrol_second_factor = self.second_factor_required(&account);
            Ok(LoginStep::Session(out))
        };
        let (given, step, ()) = tokio::join!(
            self.store.put_throttles(&give_back),
            step,
            self.audit_on(self.public_event(&nip, meta, Action::Login, outcome), head,),
        );
        given.map_err(store_down)?;
        step
    }

    /// Whether the account's agency requires two-step login and it is not on.
    pub(crate) fn second_factor_required(&self, account: &Account) -> bool {
        self.config
            .second_factor_required
            .applies(account.instansi.as_deref())
            && !account
                .second_factor
                .as_ref()
                .is_some_and(crate::factor::SecondFactor::is_active)
    }

    /// A new session of `nip` at `credential_version`.
    pub(crate) async fn issue_session(
        &self,
        nip: &Nip,
        credential_version: u64,
        now: DateTime<Utc>,
    ) -> Result<LoginOutput, AuthError> {
        let token = new_bearer_token()?;
        let expires_at = now + Duration::seconds(self.config.session_ttl_secs);
        self.store
            .put_session(&SessionRecord {
                token_hash: self.session_hash(&token),
                nip: nip.clone(),
                credential_version,
                issued_at: now,
                expires_at,
            })
            .await
            .map_err(store_down)?;
        Ok(LoginOutput {
            access_token: secrecy::SecretString::from(token),
            expires_in: self.config.session_ttl_secs,
            enrol_second_factor: false,
        })
    }

    /// `POST /v1/password/change`: a signed-in civil servant sets a new password. The new one
    /// must pass the same policy as at a reset (with the account's name and e-mail); the
    /// current one is checked as a login attempt (a wrong one counts toward the same
    /// lock-out, and a locked account is refused as at login). On success the credential
    /// version moves (every other session ends), a new session replaces this one, the
    /// account's e-mail is told, and it is audited.
    #[instrument(skip_all, fields(action = "password_change"))]
    pub async fn change_password(
        &self,
        token: &str,
        current_raw: &str,
        new_raw: &str,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let (session, account) = self.live_session(token).await?;
        let nip = session.nip.clone();
        self.rate_limit(Limited::Login, &nip, meta).await?;
        let new = Password::new(new_raw);
        self.check_policy(&new, Self::personal_context(&nip, &account))
            .await?;
        let now = self.clock.now();
        let records = self
            .reserve_attempt(&nip, meta, Action::PasswordChange)
            .await?;
        let current = Password::new(current_raw);
        let ok = self
            .hasher
            .verify(&current, account.password_hash.as_deref())
            .await
            .map_err(hash_down)?;
        if !ok {
            self.audit(self.public_event(&nip, meta, Action::PasswordChange, Outcome::Failed))
                .await;
            return Err(AuthError::InvalidCredentials);
        }
        self.give_back(&records).await?;
        let hash = self.hasher.hash(&new).await.map_err(hash_down)?;
        let mut updated = account.clone();
        updated.password_hash = Some(hash);
        updated.credential_version += 1;
        updated.password_changed_at = Some(now);
        updated.updated_at = now;
        self.store
            .update_account(&updated, account.version)
            .await
            .map_err(|e| match e {
                // Changed meanwhile (another change, a reset): this session is gone anyway.
                StoreError::Conflict(_) => AuthError::Unauthorized,
                other => store_down(other),
            })?;
        let out = self
            .issue_session(&nip, updated.credential_version, now)
            .await?;
        self.notify_password_changed(&account, now, meta.lang).await;
        self.audit(self.public_event(&nip, meta, Action::PasswordChange, Outcome::Succeeded))
            .await;
        Ok(out)
    }

    /// Tells the account's e-mail (if any) that its password changed (a reset or a change).
    async fn notify_password_changed(&self, account: &Account, at: DateTime<Utc>, lang: Lang) {
        if let Some(email) = &account.email {
            self.send(mail::password_changed_email(email, &account.name, at, lang))
                .await;
        }
    }

    async fn rehash(&self, account: &Account, password: &Password) {
        let hash = match self.hasher.hash(password).await {
            Ok(h) => h,
            Err(e) => {
                warn!(error = %e, "re-hash skipped");
                return;
            }
        };
        let mut updated = account.clone();
        updated.password_hash = Some(hash);
        updated.updated_at = self.clock.now();
        match self.store.update_account(&updated, account.version).await {
            Ok(()) => info!("password re-hashed with current parameters"),
            // Someone changed the account meanwhile; the next login tries again.
            Err(e) => warn!(error = %e, "re-hash not stored"),
        }
    }

    pub(crate) fn token_shape_ok(token: &str) -> bool {
        token.len() == 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }

    /// The live session of a bearer token, and its account.
    pub(crate) async fn live_session(
        &self,
        token: &str,
    ) -> Result<(SessionRecord, Account), AuthError> {
        if !Self::token_shape_ok(token) {
            return Err(AuthError::Unauthorized);
        }
        let hash = self.session_hash(token);
        let Some(session) = self.store.get_session(&hash).await.map_err(store_down)? else {
            return Err(AuthError::Unauthorized);
        };
        if session.expires_at <= self.clock.now() {
            return Err(AuthError::Unauthorized);
        }
        let account = self
            .store
            .get_account(&session.nip)
            .await
            .map_err(store_down)?;
        match account {
            Some(a) if a.credential_version == session.credential_version => Ok((session, a)),
            _ => Err(AuthError::Unauthorized),
        }
    }

    /// `GET /v1/session`.
    #[instrument(skip_all, fields(action = "session"))]
    pub async fn session(&self, token: &str) -> Result<SessionInfo, AuthError> {
        let (s, account) = self.live_session(token).await?;
        Ok(SessionInfo {
            nip: s.nip,
            expires_at: s.expires_at,
            second_factor: account
                .second_factor
                .as_ref()
                .is_some_and(crate::factor::SecondFactor::is_active),
            second_factor_required: self
                .config
                .second_factor_required
                .applies(account.instansi.as_deref()),
        })
    }

    /// `GET /v1/account/activity`: the signed-in civil servant's own recent security events
    /// from the audit trail, newest first: sign-ins and failures (with a coarse source, the
    /// network not the address), codes asked for, resets, password and e-mail changes, and
    /// what offices did (the office, never the officer's identity). UU PDP 27/2022 gives the
    /// data subject the right to see how their data is processed; this is the everyday part.
    #[instrument(skip_all, fields(action = "activity"))]
    pub async fn account_activity(
        &self,
        token: &str,
        limit: usize,
        lang: crate::Lang,
    ) -> Result<Vec<ActivityItem>, AuthError> {
        let (s, _) = self.live_session(token).await?;
        let events = self
            .store
            .list_audit(&s.nip, limit.clamp(1, 100))
            .await
            .map_err(store_down)?;
        Ok(events
            .into_iter()
            .map(|e| ActivityItem {
                what: crate::audit_text::action(&e.action, lang),
                outcome: crate::audit_text::outcome(&e.outcome, lang),
                source: e.source_ip.as_deref().map(coarse_source),
                office: (e.actor != "self").then_some(e.office).flatten(),
                at: e.at,
                action: e.action,
                result: e.outcome,
            })
            .collect())
    }

    /// `POST /v1/logout`.
    #[instrument(skip_all, fields(action = "logout"))]
    pub async fn logout(&self, token: &str) -> Result<(), AuthError> {
        let (s, _) = self.live_session(token).await?;
        self.store
            .delete_session(&s.token_hash)
            .await
            .map(|_| ())
            .map_err(store_down)
    }
}
