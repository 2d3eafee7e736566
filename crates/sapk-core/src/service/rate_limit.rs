//! The rate limits of forgot, reset and login: per source address, per NIP and address, per NIP.

use crate::domain::nip::Nip;
use crate::service::error::AuthError;
use crate::service::throttle;
use crate::text::audit_text::{Action, Outcome};
use chrono::{DateTime, Utc};
use tracing::warn;

use super::{store_down, Head, RequestMeta, Service};

/// The public actions with rate limits of their own.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Limited {
    Forgot,
    Reset,
    Login,
}

impl Limited {
    pub(super) fn name(self) -> &'static str {
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

/// The key of the fixed window of `limit` that `now` falls in (`<key>:<window>`), and when
/// that window ends: each key counts the hits of one window, its record living until then.
pub(crate) fn window_key(
    key: &str,
    limit: crate::domain::config::RateLimit,
    now: DateTime<Utc>,
) -> (String, DateTime<Utc>) {
    let window = now.timestamp().div_euclid(limit.window_secs);
    let ends = (window + 1) * limit.window_secs;
    (
        format!("{key}:{window}"),
        DateTime::from_timestamp(ends, 0).unwrap_or(now),
    )
}

impl Service {
    /// Counts the request against the limits of `action` per source address, per NIP and
    /// address, and per NIP (unknown NIPs count alike, so limits reveal nothing). The three
    /// rate windows are counted at once, whatever their state.
    pub(crate) async fn rate_limit(
        &self,
        action: Limited,
        nip: &Nip,
        meta: &RequestMeta,
    ) -> Result<(), AuthError> {
        let over = self.rate_windows(action, nip, meta).await;
        self.refuse_if_limited(action, nip, meta, over, Head::Unknown)
            .await
    }

    /// The three rate windows of [`Service::rate_limit`], counted at once (a route reads its
    /// records beside them); the longest wait of a window over its limit.
    pub(crate) async fn rate_windows(
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
        let windows = limits.map(|(key, limit)| {
            let (key, until) = window_key(&key, limit, now);
            (key, until, limit.max)
        });
        let keys: Vec<(String, DateTime<Utc>)> = windows
            .iter()
            .map(|(key, until, _)| (key.clone(), *until))
            .collect();
        let counts = self.store.count_hits(&keys).await.map_err(store_down)?;
        if counts.len() != keys.len() {
            return Err(store_down(crate::ports::StoreError::Corrupt(format!(
                "{} counts for {} rate windows",
                counts.len(),
                keys.len()
            ))));
        }
        Ok(windows
            .iter()
            .zip(counts)
            .filter(|((_, _, max), count)| count > max)
            .map(|((_, until, _), _)| (until.timestamp() - now.timestamp()).max(1) as u64)
            .max())
    }

    /// The answer of [`Service::rate_windows`]: a rate window over its limit refuses the
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
}
