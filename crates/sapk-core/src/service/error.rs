//! The error of the public use cases: what a caller of forgot, reset, login, session and
//! logout can be told. Each maps to one problem `code` of the API.

use crate::domain::nip::NipError;
use crate::domain::password::Violation;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("invalid NIP: {0}")]
    InvalidNip(NipError),
    /// Wrong, expired, used or superseded code: all alike.
    #[error("invalid or expired reset code")]
    InvalidToken,
    /// The rules broken and, when it is too guessable, what made it so.
    #[error("the new password breaks the policy: {0:?}")]
    WeakPassword(Vec<Violation>, Vec<crate::domain::policy::GuessHint>),
    #[error("wrong NIP or password")]
    InvalidCredentials,
    /// A signed-in form's "current password" is wrong (a change, setting up or renewing two-step
    /// login): counted as a login attempt, but said as what it is.
    #[error("wrong current password")]
    WrongCurrentPassword,
    /// The first code of an authenticator being set up does not match (no recovery codes exist
    /// yet: only the code shown now, with the phone's clock right, will do).
    #[error("wrong first authenticator code")]
    WrongSetupCode,
    #[error("missing, invalid or expired session")]
    Unauthorized,
    #[error("too many requests; retry after {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("service unavailable; retry after {retry_after_secs} s")]
    Unavailable { retry_after_secs: u64 },
    /// A wrong, used or malformed authenticator or recovery code.
    #[error("wrong authenticator or recovery code")]
    InvalidSecondFactor,
    /// A wrong authenticator code that is the code of a time a few minutes away: the phone's
    /// clock is off by about `offset_secs` (positive: ahead). Refused all the same.
    #[error("authenticator code from a clock {offset_secs} s off")]
    ClockOff { offset_secs: i64 },
    /// The second step's challenge is missing, expired, used, or outlived by a change of
    /// the account: log in again.
    #[error("missing, expired or used login challenge")]
    InvalidChallenge,
    /// Too many wrong second-step codes (within 30 days): the authenticator's codes are refused
    /// until a recovery code or a counter unlock.
    #[error("authenticator codes blocked after too many wrong codes")]
    SecondFactorLocked,
    #[error("two-step login is already set up")]
    AlreadyEnrolled,
    /// No confirmed (or, for a confirmation, no pending) authenticator.
    #[error("two-step login is not set up")]
    NotEnrolled,
    /// Passkeys are not offered here (no page address whose host is a name).
    #[error("passkeys are not offered here")]
    PasskeysOff,
    /// A passkey sign-in refused: an unknown or removed passkey, a challenge missing, used
    /// or expired, a wrong origin or RP ID, no user verification, a signature that does not
    /// verify, a counter that went back: all alike.
    #[error("passkey sign-in refused")]
    InvalidPasskey,
    /// A new passkey refused (the browser's answer does not verify or its challenge is gone).
    #[error("the new passkey was refused")]
    PasskeyRefused,
    #[error("too many passkeys")]
    TooManyPasskeys,
    /// No passkey of this account has that ID.
    #[error("no such passkey")]
    UnknownPasskey,
}

impl AuthError {
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::InvalidNip(_) => "invalid_nip",
            AuthError::InvalidToken => "invalid_token",
            AuthError::WeakPassword(..) => "weak_password",
            AuthError::InvalidCredentials => "invalid_credentials",
            AuthError::WrongCurrentPassword => "wrong_current_password",
            AuthError::WrongSetupCode => "wrong_setup_code",
            AuthError::Unauthorized => "unauthorized",
            AuthError::RateLimited { .. } => "rate_limited",
            AuthError::Unavailable { .. } => "unavailable",
            AuthError::InvalidSecondFactor => "invalid_second_factor",
            AuthError::ClockOff { .. } => "clock_off",
            AuthError::InvalidChallenge => "invalid_challenge",
            AuthError::SecondFactorLocked => "second_factor_locked",
            AuthError::AlreadyEnrolled => "already_enrolled",
            AuthError::NotEnrolled => "not_enrolled",
            AuthError::PasskeysOff => "passkeys_unavailable",
            AuthError::InvalidPasskey => "invalid_passkey",
            AuthError::PasskeyRefused => "passkey_refused",
            AuthError::TooManyPasskeys => "too_many_passkeys",
            AuthError::UnknownPasskey => "unknown_passkey",
        }
    }

    pub(crate) fn unavailable() -> AuthError {
        AuthError::Unavailable {
            retry_after_secs: 5,
        }
    }
}

impl From<NipError> for AuthError {
    fn from(e: NipError) -> Self {
        AuthError::InvalidNip(e)
    }
}
