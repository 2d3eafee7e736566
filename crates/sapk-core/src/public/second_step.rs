//! Two-step login: setting up an authenticator app (TOTP) and recovery codes for the
//! signed-in civil servant, and the second step of a login. A lost authenticator is removed
//! at a counter ([`crate::staff::factor_removal`]).

use crate::domain::factor::{FactorError, FactorInput, FactorKey, SecondFactor, TotpSecret};
use crate::domain::keys::ct_eq;
use crate::domain::nip::Nip;
use crate::mail::{self, FactorNotice};
use crate::ports::{Account, LoginThrottle, SessionRecord, StoreError};
use crate::service::error::AuthError;
use crate::service::throttle::{self, Reservation};
use crate::service::Public;
use crate::service::{
    new_bearer_token, store_down, Challenge, Limited, LoginOutput, RequestMeta, Service,
};
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use serde_json::json;
use tracing::{error, info, instrument};

/// How long the second step of a login waits for its code.
pub const CHALLENGE_TTL_SECS: i64 = 5 * 60;
/// Wrong codes one challenge takes before it ends (log in again for another).
pub const CHALLENGE_TRIES: u32 = 3;
/// How long wrong second-step codes are remembered after the last one: the cap counts the
/// wrong codes of such a window (a right authenticator code does not clear them; a recovery
/// code or a counter unlock does).
pub const SECOND_STEP_MEMORY_SECS: i64 = 30 * 86_400;

/// A started set-up: what the authenticator app needs. `Debug` hides the secret.
pub struct TotpEnrolment {
    /// `otpauth://totp/SAPK%20BKN:<NIP>?secret=…&issuer=SAPK%20BKN` (for a QR code or a link).
    pub otpauth_uri: SecretString,
    /// The secret in base32, to type by hand.
    pub secret: SecretString,
    /// How long the set-up waits for the first code.
    pub expires_in: i64,
}

impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// Recovery codes as shown once (`abcde-fghij`). `Debug` hides them.
pub struct RecoveryCodes(pub Vec<String>);

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

fn factor_down(e: FactorError) -> AuthError {
    error!(error = %e, "second factor unusable");
    AuthError::unavailable()
}

/// An account changed between reading and writing (another request of the same user):
/// nothing was written; try again.
pub(crate) fn changed_meanwhile(e: StoreError) -> AuthError {
    match e {
        StoreError::Conflict(_) => AuthError::Unavailable {
            retry_after_secs: 1,
        },
        other => store_down(other),
    }
}

fn is_on(a: &Account) -> bool {
    a.second_factor
        .as_ref()
        .is_some_and(SecondFactor::is_active)
}

impl Public<'_> {
    /// `POST /v1/login/second-factor`: the challenge of a right password and a code from
    /// the authenticator app (one step of clock drift either way, never one accepted
    /// before) or an unused recovery code give a session. A wrong code draws on the
    /// account's guess budget like a wrong password, and on two tallies of its own: after
    /// `CHALLENGE_TRIES` wrong codes the challenge ends, and after `second_step_cap`
    /// wrong codes within 30 days (across logins and addresses; a right authenticator code
    /// does not clear them, a recovery code does) the authenticator's codes are
    /// refused until a recovery code or a counter unlock. The challenge is single-use: of
    /// two requests with it, only one gets a session.
    #[instrument(skip_all, fields(action = "login_second_step"))]
    pub async fn login_second_step(
        self,
        challenge: &str,
        code_raw: &str,
        meta: &RequestMeta,
    ) -> Result<LoginOutput, AuthError> {
        let now = self.now();
        let Some((hash, ch)) = self.live_challenge(challenge).await? else {
            return Err(AuthError::InvalidChallenge);
        };
        let nip = ch.nip.clone();
        self.rate_limit(Limited::Login, &nip, meta).await?;
        // The account as it was when the challenge was given (a reset or a counter action
        // since ends it), with its authenticator still on. Read before anything is counted:
        // a challenge no code answers (a passkey's second step, on an account without an
        // authenticator) is refused without adding to the account's wrong codes.
        let account = self
            .store
            .get_account(&nip)
            .await
            .map_err(store_down)?
            .filter(|a| a.credential_version == ch.credential_version);
        let Some((account, factor)) = account.and_then(|a| {
            a.second_factor
                .clone()
                .filter(|f| f.is_active())
                .map(|f| (a, f))
        }) else {
            return Err(AuthError::InvalidChallenge);
        };
        let records = self.reserve_second_step(&ch, &hash, meta, now).await?;
        // Counted before this attempt: the account's wrong codes of the last 30 days, and this
        // challenge's.
        let wrong_before = records[2].failures.saturating_sub(1);
        if records[3].failures > CHALLENGE_TRIES {
            self.store.delete_session(&hash).await.map_err(store_down)?;
            return Err(AuthError::InvalidChallenge);
        }
        let input = FactorInput::parse(code_raw);
        let capped = wrong_before >= self.config.second_step_cap;
        let accepted = match &input {
            Some(FactorInput::Recovery(code)) => self.use_recovery_code(&nip, &factor, code)?,
            Some(FactorInput::Totp(_)) if capped => None,
            totp => self.totp_step(&nip, &factor, totp.as_ref(), now)?,
        };
        let Some(updated_factor) = accepted else {
            // The failure was counted when the attempt was reserved.
            let (reason, off) = self.failure_reason(&nip, &factor, input.as_ref(), capped, now)?;
            let e = self
                .second_step_failed(&account, &hash, &records, reason, capped, meta)
                .await;
            return Err(clock_said(e, off));
        };
        // Only one request takes the challenge; then the code is marked used with a
        // compare-and-set on the account (a code used meanwhile makes it fail).
        if !self.store.delete_session(&hash).await.map_err(store_down)? {
            return Err(AuthError::InvalidChallenge);
        }
        let left = updated_factor.recovery.len();
        let mut updated = account.clone();
        updated.second_factor = Some(updated_factor);
        updated.updated_at = now;
        match self.store.update_account(&updated, account.version).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(self
                    .second_step_failed(&account, &hash, &records, "used_meanwhile", capped, meta)
                    .await)
            }
            Err(e) => return Err(store_down(e)),
        }
        self.second_step_passed(&records, &input).await?;
        let out = self
            .issue_session(&nip, account.credential_version, now)
            .await?;
        self.second_step_done(&account, &input, left, meta).await;
        Ok(out)
    }

    /// `POST /v1/account/second-factor`: starts setting up an authenticator app for the
    /// signed-in user. A new secret is made and kept sealed; it is not in force until the
    /// first code confirms it (within ten minutes). Starting again replaces a set-up that
    /// was not confirmed; one that was is refused (`already_enrolled`). It needs the
    /// current password (a stolen session alone cannot put the thief's authenticator on
    /// the account), which the confirmation then relies on for the set-up's ten minutes.
    #[instrument(skip_all, fields(action = "second_factor_enrol"))]
    pub async fn start_totp_enrolment(
        self,
        token: &str,
        current_password: &str,
        meta: &RequestMeta,
    ) -> Result<TotpEnrolment, AuthError> {
        let (session, account) = self.live_session(token).await?;
        self.rate_limit(Limited::Login, &session.nip, meta).await?;
        if is_on(&account) {
            return Err(AuthError::AlreadyEnrolled);
        }
        self.check_current_password(&account, current_password, meta, Action::SecondFactorEnrol)
            .await?;
        let key = self.factor_key()?;
        let secret = TotpSecret::generate().map_err(factor_down)?;
        let sealed = key.seal(&session.nip, &secret).map_err(factor_down)?;
        let (uri, base32) = secret
            .provisioning(session.nip.as_str())
            .map_err(factor_down)?;
        let now = self.now();
        let mut updated = account.clone();
        updated.second_factor = Some(SecondFactor {
            sealed_secret: sealed,
            started_at: now,
            enrolled_at: None,
            last_step: 0,
            recovery: Vec::new(),
        });
        updated.updated_at = now;
        self.store
            .update_account(&updated, account.version)
            .await
            .map_err(changed_meanwhile)?;
        self.audit(self.public_event(
            &session.nip,
            meta,
            Action::SecondFactorEnrol,
            Outcome::Started,
        ))
        .await;
        Ok(TotpEnrolment {
            otpauth_uri: SecretString::from(uri),
            secret: SecretString::from(base32),
            expires_in: crate::domain::factor::ENROL_WINDOW_SECS,
        })
    }

    /// `POST /v1/account/second-factor/confirm`: the first code from the app turns the
    /// set-up on and gives ten recovery codes, shown this once. The account's e-mail is told.
    #[instrument(skip_all, fields(action = "second_factor_enrol"))]
    pub async fn confirm_totp_enrolment(
        self,
        token: &str,
        code_raw: &str,
        meta: &RequestMeta,
    ) -> Result<RecoveryCodes, AuthError> {
        let (session, account) = self.live_session(token).await?;
        let nip = session.nip.clone();
        self.rate_limit(Limited::Login, &nip, meta).await?;
        let now = self.now();
        let factor = match &account.second_factor {
            Some(f) if f.is_active() => return Err(AuthError::AlreadyEnrolled),
            Some(f)
                if f.started_at + Duration::seconds(crate::domain::factor::ENROL_WINDOW_SECS)
                    > now =>
            {
                f.clone()
            }
            _ => return Err(AuthError::NotEnrolled),
        };
        self.renew_with_code(
            &account,
            factor,
            code_raw,
            meta,
            Action::SecondFactorEnrol,
            FactorNotice::Enrolled,
        )
        .await
    }

    /// `POST /v1/account/recovery-codes`: ten new recovery codes for the signed-in user with
    /// two-step login on, given the current password and a current code from the app (a
    /// stolen session alone cannot make them). The old codes stop working; the account's
    /// e-mail is told.
    #[instrument(skip_all, fields(action = "recovery_codes_renew"))]
    pub async fn renew_recovery_codes(
        self,
        token: &str,
        current_password: &str,
        code_raw: &str,
        meta: &RequestMeta,
    ) -> Result<RecoveryCodes, AuthError> {
        let (session, account) = self.live_session(token).await?;
        self.rate_limit(Limited::Login, &session.nip, meta).await?;
        let Some(factor) = account.second_factor.clone().filter(|f| f.is_active()) else {
            return Err(AuthError::NotEnrolled);
        };
        self.check_current_password(&account, current_password, meta, Action::RecoveryCodesRenew)
            .await?;
        self.renew_with_code(
            &account,
            factor,
            code_raw,
            meta,
            Action::RecoveryCodesRenew,
            FactorNotice::RecoveryCodesRenewed,
        )
        .await
    }
}

impl Service {
    fn factor_key(&self) -> Result<&FactorKey, AuthError> {
        self.factor_key.as_ref().ok_or_else(|| {
            error!("no factor key (SAPK_FACTOR_KEY): two-step login is not served here");
            AuthError::unavailable()
        })
    }

    fn challenge_hash(&self, token: &str) -> String {
        self.key.mac_hex("sapk/challenge/v1", &[token.as_bytes()])
    }

    /// The second step's challenge `token` as kept (under its keyed hash, also returned),
    /// while it lasts; `None` for a malformed, unknown, used or expired one.
    pub(crate) async fn live_challenge(
        &self,
        token: &str,
    ) -> Result<Option<(String, SessionRecord)>, AuthError> {
        if !Service::token_shape_ok(token) {
            return Ok(None);
        }
        let hash = self.challenge_hash(token);
        let kept = self.store.get_session(&hash).await.map_err(store_down)?;
        Ok(kept
            .filter(|c| c.expires_at > self.now())
            .map(|c| (hash, c)))
    }

    /// A challenge for the second step: kept (as a keyed hash) beside sessions, under a
    /// label of its own, so a challenge never works as a session nor a session as one.
    pub(crate) async fn issue_challenge(
        &self,
        nip: &Nip,
        credential_version: u64,
        now: DateTime<Utc>,
    ) -> Result<Challenge, AuthError> {
        let token = new_bearer_token()?;
        self.store
            .put_session(&SessionRecord {
                token_hash: self.challenge_hash(&token),
                nip: nip.clone(),
                credential_version,
                issued_at: now,
                expires_at: now + Duration::seconds(CHALLENGE_TTL_SECS),
            })
            .await
            .map_err(store_down)?;
        Ok(Challenge {
            token: SecretString::from(token),
            expires_in: CHALLENGE_TTL_SECS,
            code: true,
            passkey: false,
        })
    }

    /// Counts one attempt against the account's guess budget (as a failure until given
    /// back; each tally gains one too), or refuses a locked NIP as login does. What the
    /// reservation wrote is returned, to give back.
    pub(crate) async fn reserve_attempt(
        &self,
        nip: &Nip,
        meta: &RequestMeta,
        action: Action,
        tallies: &[throttle::Tally],
    ) -> Result<Vec<LoginThrottle>, AuthError> {
        let now = self.now();
        let keys = throttle::keys(nip, meta.source_ip.as_deref());
        match throttle::reserve(
            self.store.as_ref(),
            nip,
            &keys,
            tallies,
            now,
            &self.config,
            None,
        )
        .await
        .map_err(store_down)?
        {
            Reservation::Taken { records, .. } => Ok(records),
            Reservation::Locked(until) => {
                let mut ev = self.public_event(nip, meta, action, Outcome::Throttled);
                ev.details = json!({ "locked_until": until });
                self.audit(ev).await;
                Err(AuthError::RateLimited {
                    retry_after_secs: (until - now).num_seconds().max(1) as u64,
                })
            }
            Reservation::Busy => Err(AuthError::RateLimited {
                retry_after_secs: 1,
            }),
        }
    }

    /// A completed login: every count the reservation wrote back to zero.
    pub(crate) async fn give_back(&self, records: &[LoginThrottle]) -> Result<(), AuthError> {
        self.store
            .put_throttles(&throttle::given_back(records))
            .await
            .map_err(store_down)
    }

    /// A step that succeeded on the way: its own attempt back, nothing else.
    pub(crate) async fn give_back_one(&self, records: &[LoginThrottle]) -> Result<(), AuthError> {
        throttle::give_back_one(self.store.as_ref(), records)
            .await
            .map_err(store_down)
    }

    /// Re-authentication with the current password, counted as a login attempt: before a
    /// password change and before any change of how one signs in (a stolen session alone
    /// can do neither). A wrong password is audited under `action` and answered as a
    /// wrong login; a right one gives back its attempt alone.
    pub(crate) async fn check_current_password(
        &self,
        account: &Account,
        current_raw: &str,
        meta: &RequestMeta,
        action: Action,
    ) -> Result<(), AuthError> {
        let nip = &account.nip;
        let records = self.reserve_attempt(nip, meta, action, &[]).await?;
        let current = crate::domain::password::Password::new(current_raw);
        let ok = self
            .hasher
            .verify(&current, account.password_hash.as_deref())
            .await
            .map_err(crate::service::hash_down)?;
        if !ok {
            let mut ev = self.public_event(nip, meta, action, Outcome::Failed);
            // With the lock this failure set, if any (the counter's view of the lock reads it).
            let lock = records.iter().take(2).filter_map(|r| r.locked_until).max();
            ev.details = json!({ "reason": "wrong_current_password", "locked_until": lock });
            self.audit(ev).await;
            return Err(AuthError::WrongCurrentPassword);
        }
        self.give_back_one(&records).await
    }

    /// Why a second step failed, for its record, and how far off the phone's clock is when a
    /// wrong authenticator code is the code of a time a few minutes away (refused too, and
    /// said).
    fn failure_reason(
        &self,
        nip: &Nip,
        factor: &SecondFactor,
        input: Option<&FactorInput>,
        capped: bool,
        now: DateTime<Utc>,
    ) -> Result<(&'static str, Option<i64>), AuthError> {
        Ok(match input {
            None => ("malformed_code", None),
            Some(FactorInput::Totp(_)) if capped => ("authenticator_capped", None),
            Some(FactorInput::Totp(code)) => match self.clock_offset(nip, factor, code, now)? {
                Some(off) => ("wrong_code_clock_off", Some(off)),
                None => ("wrong_code", None),
            },
            Some(FactorInput::Recovery(_)) => ("wrong_recovery_code", None),
        })
    }

    /// How far off the phone's clock is, if a wrong authenticator code is the code of a time
    /// a few minutes away ([`crate::domain::factor::TotpSecret::clock_offset`]).
    fn clock_offset(
        &self,
        nip: &Nip,
        factor: &SecondFactor,
        code: &crate::domain::factor::TotpCode,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, AuthError> {
        let secret = self
            .factor_key()?
            .open(nip, &factor.sealed_secret)
            .map_err(factor_down)?;
        secret.clock_offset(code, now).map_err(factor_down)
    }

    /// The factor with a right authenticator code's step as the last one used (a code
    /// newer than the last one accepted); `None` for a wrong code or a recovery code.
    fn totp_step(
        &self,
        nip: &Nip,
        factor: &SecondFactor,
        input: Option<&FactorInput>,
        now: DateTime<Utc>,
    ) -> Result<Option<SecondFactor>, AuthError> {
        let Some(FactorInput::Totp(code)) = input else {
            return Ok(None);
        };
        let secret = self
            .factor_key()?
            .open(nip, &factor.sealed_secret)
            .map_err(factor_down)?;
        Ok(secret
            .matching_step(code, now, factor.last_step)
            .map_err(factor_down)?
            .map(|step| SecondFactor {
                last_step: step,
                ..factor.clone()
            }))
    }

    /// The attempt counted against the account's guess budget, its 30-day tally of wrong
    /// codes and the challenge's tries.
    async fn reserve_second_step(
        &self,
        ch: &SessionRecord,
        hash: &str,
        meta: &RequestMeta,
        now: DateTime<Utc>,
    ) -> Result<Vec<LoginThrottle>, AuthError> {
        let tallies = [
            throttle::Tally {
                key: throttle::second_step_key(&ch.nip),
                expires_at: now + Duration::seconds(SECOND_STEP_MEMORY_SECS),
            },
            throttle::Tally {
                key: throttle::challenge_key(&ch.nip, hash),
                expires_at: ch.expires_at,
            },
        ];
        self.reserve_attempt(&ch.nip, meta, Action::LoginSecondStep, &tallies)
            .await
    }

    /// A completed login: the lock-out counts back to zero. The second step's tally only for
    /// a recovery code (the owner's proof when the authenticator may be under attack): a
    /// right authenticator code gives back its own attempt alone, so an attacker with the
    /// password gains no fresh tries each time the owner signs in.
    async fn second_step_passed(
        &self,
        records: &[LoginThrottle],
        input: &Option<FactorInput>,
    ) -> Result<(), AuthError> {
        if matches!(input, Some(FactorInput::Recovery(_))) {
            self.give_back(&records[..3]).await
        } else {
            self.give_back(&records[..2]).await?;
            self.give_back_one(&records[2..3]).await
        }
    }

    /// The hash of a recovery code as stored for `nip`, and the factor without it when it
    /// is one of the account's.
    fn use_recovery_code(
        &self,
        nip: &Nip,
        factor: &SecondFactor,
        code: &crate::domain::factor::RecoveryCode,
    ) -> Result<Option<SecondFactor>, AuthError> {
        let h = self.factor_key()?.recovery_hash(nip, code);
        Ok(factor.recovery.iter().position(|x| ct_eq(x, &h)).map(|i| {
            let mut f = factor.clone();
            f.recovery.remove(i);
            f
        }))
    }

    /// A wrong second-step code: audited; the challenge ends after its last try; the owner
    /// is told once when the authenticator's codes reach their cap.
    async fn second_step_failed(
        &self,
        account: &Account,
        challenge_hash: &str,
        records: &[LoginThrottle],
        reason: &'static str,
        capped: bool,
        meta: &RequestMeta,
    ) -> AuthError {
        let nip = &account.nip;
        let wrong = records[2].failures;
        let mut ev = self.public_event(nip, meta, Action::LoginSecondStep, Outcome::Failed);
        ev.details = json!({
            "reason": reason,
            "failures": records[1].failures,
            "second_step_failures": wrong,
        });
        self.audit(ev).await;
        if records[3].failures >= CHALLENGE_TRIES {
            if let Err(e) = self.store.delete_session(challenge_hash).await {
                error!(error = %e, "challenge not ended after its last try");
            }
        }
        // The owner is told half-way and at the cap.
        let cap = self.config.second_step_cap;
        let notice = if wrong == cap {
            Some(FactorNotice::CodesCapped {
                wrong: wrong as usize,
            })
        } else if cap >= 4 && wrong == cap / 2 {
            Some(FactorNotice::WrongCodes {
                wrong: wrong as usize,
            })
        } else {
            None
        };
        if let (Some(notice), Some(email)) = (notice, &account.email) {
            self.send(mail::second_factor_email(
                email,
                account.name.as_str(),
                notice,
                self.now(),
                meta.lang,
            ))
            .await;
        }
        if capped {
            AuthError::SecondFactorLocked
        } else {
            AuthError::InvalidSecondFactor
        }
    }

    /// A completed second step: audited; a used recovery code is told to the e-mail.
    async fn second_step_done(
        &self,
        account: &Account,
        input: &Option<FactorInput>,
        left: usize,
        meta: &RequestMeta,
    ) {
        let by_recovery = matches!(input, Some(FactorInput::Recovery(_)));
        let outcome = if by_recovery {
            Outcome::RecoveryCodeUsed
        } else {
            Outcome::Succeeded
        };
        let mut ev = self.public_event(&account.nip, meta, Action::LoginSecondStep, outcome);
        if by_recovery {
            ev.details = json!({ "recovery_codes_left": left });
        }
        self.audit(ev).await;
        if let (true, Some(email)) = (by_recovery, &account.email) {
            self.send(mail::second_factor_email(
                email,
                account.name.as_str(),
                FactorNotice::RecoveryCodeUsed { left },
                self.now(),
                meta.lang,
            ))
            .await;
        }
    }

    /// Checks an authenticator code (counted toward the guess budget like a login; for an
    /// authenticator in force, toward the second step's tally too, whose cap refuses its
    /// codes here as at login), then stores `factor` on, with the code's step as the last
    /// one used and ten new recovery codes.
    /// A signed-in form's code from the authenticator app, counted against the account's
    /// guess budget and the second step's tally as the second step is: the factor with the
    /// code's time step taken, to be written with what the form changes (so that the code
    /// is not used twice), or the refusal (audited under `action`).
    pub(crate) async fn check_code(
        &self,
        account: &Account,
        factor: &SecondFactor,
        code_raw: &str,
        meta: &RequestMeta,
        action: Action,
    ) -> Result<SecondFactor, AuthError> {
        let nip = &account.nip;
        let now = self.now();
        let factor = factor.clone();
        let tallies: Vec<throttle::Tally> = if factor.is_active() {
            vec![throttle::Tally {
                key: throttle::second_step_key(nip),
                expires_at: now + Duration::seconds(SECOND_STEP_MEMORY_SECS),
            }]
        } else {
            Vec::new()
        };
        let records = self.reserve_attempt(nip, meta, action, &tallies).await?;
        let capped = records
            .get(2)
            .is_some_and(|t| t.failures.saturating_sub(1) >= self.config.second_step_cap);
        let input = FactorInput::parse(code_raw);
        let checked = if capped {
            None
        } else {
            self.totp_step(nip, &factor, input.as_ref(), now)?
        };
        let Some(checked) = checked else {
            let off = match (&input, capped) {
                (Some(FactorInput::Totp(code)), false) => {
                    self.clock_offset(nip, &factor, code, now)?
                }
                _ => None,
            };
            let reason = match (capped, off) {
                (true, _) => "authenticator_capped",
                (false, Some(_)) => "wrong_code_clock_off",
                (false, None) => "wrong_code",
            };
            let mut ev = self.public_event(nip, meta, action, Outcome::Failed);
            ev.details = json!({ "reason": reason });
            self.audit(ev).await;
            return Err(if capped {
                AuthError::SecondFactorLocked
            } else if factor.is_active() {
                clock_said(AuthError::InvalidSecondFactor, off)
            } else {
                // Setting up: no recovery code exists yet to fall back on.
                clock_said(AuthError::WrongSetupCode, off)
            });
        };
        // A right code gives back its own attempt alone, from the lock-out counts and the
        // second step's tally.
        self.give_back_one(&records).await?;
        Ok(checked)
    }

    async fn renew_with_code(
        &self,
        account: &Account,
        factor: SecondFactor,
        code_raw: &str,
        meta: &RequestMeta,
        action: Action,
        notice: FactorNotice<'_>,
    ) -> Result<RecoveryCodes, AuthError> {
        let nip = &account.nip;
        let now = self.now();
        let checked = self
            .check_code(account, &factor, code_raw, meta, action)
            .await?;
        let (codes, hashes) = self
            .factor_key()?
            .new_recovery_codes(nip)
            .map_err(factor_down)?;
        let factor = checked;
        let step = factor.last_step;
        let mut updated = account.clone();
        updated.second_factor = Some(SecondFactor {
            enrolled_at: factor.enrolled_at.or(Some(now)),
            last_step: step,
            recovery: hashes,
            ..factor
        });
        updated.updated_at = now;
        self.store
            .update_account(&updated, account.version)
            .await
            .map_err(changed_meanwhile)?;
        self.audit(self.public_event(nip, meta, action, Outcome::Succeeded))
            .await;
        info!(action = action.code(), "second factor updated");
        if let Some(email) = &account.email {
            self.send(mail::second_factor_email(
                email,
                account.name.as_str(),
                notice,
                now,
                meta.lang,
            ))
            .await;
        }
        Ok(RecoveryCodes(codes.iter().map(|c| c.display()).collect()))
    }
}

/// A wrong authenticator code answered with how far off the phone's clock is, when it is the
/// code of a time a few minutes away; any other refusal as it is.
fn clock_said(e: AuthError, offset_secs: Option<i64>) -> AuthError {
    match (e, offset_secs) {
        (AuthError::InvalidSecondFactor | AuthError::WrongSetupCode, Some(offset_secs)) => {
            AuthError::ClockOff { offset_secs }
        }
        (e, _) => e,
    }
}
