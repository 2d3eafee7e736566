//! `POST /v1/login`: NIP and password, then a session or the second step.

use crate::domain::nip::Nip;
use crate::domain::password::Password;
use crate::ports::{Account, SessionRecord};
use crate::public::passkey::belongs_to;
use crate::service::error::AuthError;
use crate::service::throttle::{self, Reservation};
use crate::service::Public;
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use tracing::{info, instrument, warn};

use crate::service::{
    hash_down, new_bearer_token, store_down, Limited, LoginOutput, LoginStep, RequestMeta, Service,
};

/// A login's attempt, counted: the failures so far (at this address, at every address),
/// the lock it set, and the records written (to give back).
struct Taken {
    pair_failures: u32,
    nip_failures: u32,
    lock: Option<DateTime<Utc>>,
    records: Vec<crate::ports::LoginThrottle>,
}

impl Public<'_> {
    /// `POST /v1/login`: one argon2id verification whether or not the NIP exists.
    #[instrument(skip_all, fields(action = "login"))]
    pub async fn login(
        self,
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
            self.rate_windows(Limited::Login, &nip, meta),
            self.store.get_account(&nip),
            self.store.get_throttles(&keys),
            self.audit_head(&nip),
        );
        self.refuse_if_limited(Limited::Login, &nip, meta, over, head.clone())
            .await?;
        let account = account.map_err(store_down)?;
        let taken = self
            .reserve_login(&nip, meta, &keys, locks.ok(), now, head.clone())
            .await?;
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
                "failures": taken.pair_failures,
                "failures_all_addresses": taken.nip_failures,
                "locked_until": taken.lock,
            });
            self.audit_on(ev, head).await;
            return Err(AuthError::InvalidCredentials);
        };
        if let Some(phc) = &account.password_hash {
            if self.hasher.needs_rehash(phc) {
                self.rehash(&account, &password).await;
            }
        }
        self.after_right_password(&nip, meta, &account, &taken.records, now, head)
            .await
    }
}

impl Service {
    /// The login's attempt counted against the NIP's lock-out records (as a failure until
    /// given back), or the refusal of a locked NIP (audited).
    async fn reserve_login(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        keys: &[String; 2],
        locks: Option<Vec<Option<crate::ports::LoginThrottle>>>,
        now: DateTime<Utc>,
        head: crate::service::Head,
    ) -> Result<Taken, AuthError> {
        let reservation = throttle::reserve(
            self.store.as_ref(),
            nip,
            keys,
            &[],
            now,
            &self.config,
            locks,
        )
        .await
        .map_err(store_down)?;
        let (retry_after_secs, locked_until) = match reservation {
            Reservation::Taken {
                pair_failures,
                nip_failures,
                lock,
                records,
            } => {
                return Ok(Taken {
                    pair_failures,
                    nip_failures,
                    lock,
                    records,
                })
            }
            Reservation::Locked(until) => ((until - now).num_seconds().max(1) as u64, Some(until)),
            Reservation::Busy => (1, None),
        };
        // With the lock's end: the counter's view of the lock reads it.
        let mut ev = self.public_event(nip, meta, Action::Login, Outcome::Throttled);
        ev.details = json!({ "locked_until": locked_until });
        self.audit_on(ev, head).await;
        Err(AuthError::RateLimited { retry_after_secs })
    }

    /// A right password: the session, or for an account with an authenticator the challenge
    /// of the second step. (Whether the account has a factor was read with the account, as
    /// for every NIP; nothing before this point differs.) A completed login clears the
    /// counts; a right password before the second step gives back its own attempt alone, so
    /// the second step's failures keep adding up across logins. The record says the password
    /// was right.
    async fn after_right_password(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        account: &Account,
        records: &[crate::ports::LoginThrottle],
        now: DateTime<Utc>,
        head: crate::service::Head,
    ) -> Result<LoginStep, AuthError> {
        let code = account
            .second_factor
            .as_ref()
            .is_some_and(crate::domain::factor::SecondFactor::is_active);
        // A passkey is a second step too: offered beside the code, and asked for after the
        // password when the agency requires two-step login and the account has a passkey
        // but no authenticator (a password alone does not satisfy the requirement then).
        let required = self
            .config
            .second_factor_required
            .applies(account.instansi.as_deref());
        // Read whether passkeys are offered here or not: with them off (no page address),
        // the requirement is not met by the password alone either (fail closed).
        let passkey = if code || required {
            let kept = self.store.list_passkeys(nip).await.map_err(store_down)?;
            kept.iter().any(|p| belongs_to(p, account))
        } else {
            false
        };
        let two_step = code || passkey;
        let give_back = async {
            if two_step {
                throttle::give_back_one(self.store.as_ref(), records).await
            } else {
                self.store
                    .put_throttles(&throttle::given_back(records))
                    .await
            }
        };
        let outcome = if two_step {
            Outcome::SecondStep
        } else {
            Outcome::Succeeded
        };
        let step = async {
            if two_step {
                let mut challenge = self
                    .issue_challenge(nip, account.credential_version, now)
                    .await?;
                (challenge.code, challenge.passkey) = (code, passkey);
                return Ok(LoginStep::SecondStep(challenge));
            }
            let mut out = self
                .issue_session(nip, account.credential_version, now)
                .await?;
            out.enrol_second_factor = self.second_factor_required(account);
            Ok(LoginStep::Session(out))
        };
        let (given, step, ()) = tokio::join!(
            give_back,
            step,
            self.audit_on(self.public_event(nip, meta, Action::Login, outcome), head),
        );
        given.map_err(store_down)?;
        step
    }

    /// Whether the account's agency requires two-step login and it is not on (an account
    /// with a passkey is asked for it after the password, so never gets here).
    pub(crate) fn second_factor_required(&self, account: &Account) -> bool {
        self.config
            .second_factor_required
            .applies(account.instansi.as_deref())
            && !account
                .second_factor
                .as_ref()
                .is_some_and(crate::domain::factor::SecondFactor::is_active)
    }

    /// A new session of `nip` at `credential_version`.
    pub(crate) async fn issue_session(
        &self,
        nip: &Nip,
        credential_version: u64,
        now: DateTime<Utc>,
    ) -> Result<LoginOutput, AuthError> {
        let expires_at = now + Duration::seconds(self.config.session_ttl_secs);
        self.issue_session_until(nip, credential_version, now, expires_at)
            .await
    }

    /// A new session of `nip` at `credential_version` that ends at `expires_at` (a renewed
    /// session keeps the end of the one it replaces).
    pub(crate) async fn issue_session_until(
        &self,
        nip: &Nip,
        credential_version: u64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<LoginOutput, AuthError> {
        let token = new_bearer_token()?;
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
            expires_in: (expires_at - now).num_seconds().max(0),
            enrol_second_factor: false,
        })
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
}
