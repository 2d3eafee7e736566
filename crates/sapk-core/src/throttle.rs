//! Login lock-out: failures are counted per NIP and source address (the lock-out an attacker
//! at one address cannot extend to the owner at another) and per NIP (a ceiling across all
//! addresses, NIST SP 800-63B's "no more than 100"). An attempt is reserved, counted as a
//! failure in one compare-and-set write, before the password is verified, so that no
//! concurrency gets more verifications than the budget; a success gives it back.

use crate::config::Config;
use crate::keys::random_bytes;
use crate::nip::Nip;
use crate::ports::{Expect, LoginThrottle, Store, StoreError, ThrottleWrite};
use chrono::{DateTime, Duration, Utc};
use std::net::IpAddr;

/// How often a reservation is retried when another request wrote the records meanwhile.
const RESERVE_TRIES: usize = 6;

/// The source address as the limits and the lock-out key it: an IPv4 address as it is, an
/// IPv6 address by its /64 (one subscriber's prefix), an IPv4-mapped IPv6 address as IPv4.
pub fn source_key(ip: Option<&str>) -> String {
    match ip.and_then(|s| s.trim().parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    }
}

/// A fresh random compare-and-set token.
pub(crate) fn new_rev() -> u64 {
    match random_bytes::<8>() {
        Ok(b) => u64::from_le_bytes(b),
        // Without randomness a clock reading still differs from write to write.
        Err(_) => Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64,
    }
}

/// The two keys of a login: the NIP, and the NIP with the source address.
pub(crate) fn keys(nip: &Nip, source_ip: Option<&str>) -> [String; 2] {
    [
        nip.as_str().to_owned(),
        format!("{nip}@{}", source_key(source_ip)),
    ]
}

/// A fresh per-NIP record: no failures, and every per-address count that began before now
/// ends (a reset or a staff unlock).
pub(crate) fn cleared(nip: &Nip, now: DateTime<Utc>, config: &Config) -> LoginThrottle {
    LoginThrottle {
        key: nip.as_str().to_owned(),
        nip: nip.clone(),
        failures: 0,
        locked_until: None,
        since: now,
        expires_at: now + Duration::seconds(config.lockout_memory_secs),
        rev: new_rev(),
    }
}

/// The live records of a login, as they count now.
pub(crate) struct Counts {
    pub nip: Option<LoginThrottle>,
    pub pair: Option<LoginThrottle>,
}

impl Counts {
    /// `raw` is what the store holds under `keys(…)`; expired records, and per-address
    /// records older than the per-NIP record's `since`, count as absent.
    pub fn live(raw: &[Option<LoginThrottle>], now: DateTime<Utc>) -> Counts {
        let alive =
            |t: Option<&Option<LoginThrottle>>| t.cloned().flatten().filter(|t| t.expires_at > now);
        let nip = alive(raw.first());
        let pair = alive(raw.get(1)).filter(|p| nip.as_ref().is_none_or(|n| p.since >= n.since));
        Counts { nip, pair }
    }

    /// The lock in force now, if any.
    pub fn locked_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [&self.pair, &self.nip]
            .iter()
            .filter_map(|t| t.as_ref().and_then(|t| t.locked_until))
            .filter(|u| *u > now)
            .max()
    }
}

pub(crate) enum Reservation {
    /// The attempt is counted as a failure already (with any lock it brings); a success
    /// gives it back.
    Taken {
        pair_failures: u32,
        nip_failures: u32,
        lock: Option<DateTime<Utc>>,
        records: Box<[LoginThrottle; 2]>,
    },
    Locked(DateTime<Utc>),
    /// Too many writers at once on this NIP: try again in a second.
    Busy,
}

fn expect(raw: &Option<LoginThrottle>) -> Expect {
    raw.as_ref().map_or(Expect::Absent, |t| Expect::Rev(t.rev))
}

/// Reserves one attempt under both keys, or says why not. `read` is what the store held
/// under `keys`, when the caller read it beside its other first reads (a round trip less);
/// a write that finds the records changed since reads them again.
pub(crate) async fn reserve(
    store: &dyn Store,
    nip: &Nip,
    keys: &[String; 2],
    now: DateTime<Utc>,
    config: &Config,
    read: Option<Vec<Option<LoginThrottle>>>,
) -> Result<Reservation, StoreError> {
    let mut read = read.filter(|r| r.len() == keys.len());
    for _ in 0..RESERVE_TRIES {
        let raw = match read.take() {
            Some(r) => r,
            None => store.get_throttles(keys).await?,
        };
        let counts = Counts::live(&raw, now);
        if let Some(until) = counts.locked_until(now) {
            return Ok(Reservation::Locked(until));
        }
        let expires_at = now + Duration::seconds(config.lockout_memory_secs);
        let next = |key: &str, cur: &Option<LoginThrottle>, lock: &dyn Fn(u32) -> Option<i64>| {
            let failures = cur.as_ref().map_or(0, |t| t.failures) + 1;
            LoginThrottle {
                key: key.to_owned(),
                nip: nip.clone(),
                failures,
                locked_until: lock(failures).map(|s| now + Duration::seconds(s)),
                since: cur.as_ref().map_or(now, |t| t.since),
                expires_at,
                rev: new_rev(),
            }
        };
        let nip_rec = next(&keys[0], &counts.nip, &|f| config.ceiling_lock_for(f));
        let pair_rec = next(&keys[1], &counts.pair, &|f| config.lock_for(f));
        let writes = [
            ThrottleWrite {
                expect: expect(&raw[0]),
                record: nip_rec.clone(),
            },
            ThrottleWrite {
                expect: expect(&raw[1]),
                record: pair_rec.clone(),
            },
        ];
        match store.put_throttles(&writes).await {
            Ok(()) => {
                let lock = nip_rec.locked_until.max(pair_rec.locked_until);
                return Ok(Reservation::Taken {
                    pair_failures: pair_rec.failures,
                    nip_failures: nip_rec.failures,
                    lock,
                    records: Box::new([nip_rec, pair_rec]),
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Reservation::Busy)
}

/// After a successful login: both counts back to zero (the per-NIP record keeps its
/// `since`, so other addresses' lock-outs stay).
pub(crate) fn given_back(records: &[LoginThrottle; 2]) -> [ThrottleWrite; 2] {
    records.clone().map(|mut r| {
        r.failures = 0;
        r.locked_until = None;
        r.rev = new_rev();
        ThrottleWrite {
            expect: Expect::Any,
            record: r,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_are_keyed_by_host_or_ipv6_64() {
        assert_eq!(source_key(Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(
            source_key(Some("2001:db8:aa:bb:1:2:3:4")),
            "2001:db8:aa:bb::/64"
        );
        assert_eq!(
            source_key(Some("2001:db8:aa:bb:ffff::9")),
            source_key(Some("2001:db8:aa:bb::1"))
        );
        assert_ne!(
            source_key(Some("2001:db8:aa:bc::1")),
            source_key(Some("2001:db8:aa:bb::1"))
        );
        assert_eq!(source_key(Some("::ffff:198.51.100.2")), "198.51.100.2");
        assert_eq!(source_key(None), "unknown");
        assert_eq!(source_key(Some("not an address")), "unknown");
    }
}
