//! The rate limits of forgot, reset and login: per source address, per NIP and address, per NIP.

use crate::audit_text::{Action, Outcome};
use crate::error::AuthError;
use crate::nip::Nip;
use crate::throttle;
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

impl Service {
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
}
