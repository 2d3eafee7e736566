//! The guess budget of an account: failures are counted per NIP and source address (the
//! lock-out an attacker at one address cannot extend to the owner at another) and per NIP
//! (a ceiling across all addresses, NIST SP 800-63B's "no more than 100"). Every secret a
//! caller guesses draws on the same budget: the password at login, an authenticator or
//! recovery code at the second step, the current password at a change or before a change of
//! how one signs in, the codes at an authenticator's set-up. An attempt is reserved, counted
//! as a failure in one compare-and-set write, before the secret is checked, so that no
//! concurrency gets more checks than the budget.
//!
//! Only a completed login clears the counts (or a counter unlock, or a reset); a step that
//! succeeds on the way (a right password before the second step, a right current password)
//! gives back its own attempt alone, with a compare-and-set, so it never clears the failures
//! of another step or of a concurrent request. The second step keeps two more tallies: the
//! account's wrong second-step codes of the last 30 days (`<nip>/second-step`; at the cap the
//! authenticator's codes are refused until a recovery code or a counter visit) and the
//! challenge's own wrong codes (`<nip>/challenge/<id>`; a challenge ends after a few).

use crate::domain::config::Config;
use crate::domain::keys::random_bytes;
use crate::domain::nip::Nip;
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

/// The key of an account's wrong second-step codes (remembered 30 days after the last).
pub(crate) fn second_step_key(nip: &Nip) -> String {
    format!("{nip}/second-step")
}

/// The key of one login challenge's wrong codes (`id`: the challenge's keyed hash).
pub(crate) fn challenge_key(nip: &Nip, id: &str) -> String {
    format!("{nip}/challenge/{}", id.get(..24).unwrap_or(id))
}

/// A count kept beside the lock-out records in the same reservation: it adds one per
/// attempt and locks nothing by itself; the caller reads it.
pub(crate) struct Tally {
    pub key: String,
    pub expires_at: DateTime<Utc>,
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
    /// The tallies after the first two keys, in their order.
    pub tallies: Vec<Option<LoginThrottle>>,
}

impl Counts {
    /// `raw` is what the store holds under `keys(…)` (and any tallies after them); expired
    /// records, and per-address records older than the per-NIP record's `since`, count as
    /// absent. Tallies do not follow `since`: a reset by e-mail clears the lock-out, never
    /// the second step's count (a counter unlock removes that one itself).
    pub fn live(raw: &[Option<LoginThrottle>], now: DateTime<Utc>) -> Counts {
        let alive =
            |t: Option<&Option<LoginThrottle>>| t.cloned().flatten().filter(|t| t.expires_at > now);
        let nip = alive(raw.first());
        let pair = alive(raw.get(1)).filter(|p| nip.as_ref().is_none_or(|n| p.since >= n.since));
        let tallies = (2..raw.len()).map(|i| alive(raw.get(i))).collect();
        Counts { nip, pair, tallies }
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
        /// What was written: the per-NIP record, the per-address record, then the tallies.
        records: Vec<LoginThrottle>,
    },
    Locked(DateTime<Utc>),
    /// Too many writers at once on this NIP: try again in a second.
    Busy,
}

fn expect(raw: &Option<LoginThrottle>) -> Expect {
    raw.as_ref().map_or(Expect::Absent, |t| Expect::Rev(t.rev))
}

/// Reserves one attempt under both keys (and adds one to each tally), or says why not.
/// `read` is what the store held under `keys`, when the caller read it beside its other
/// first reads (a round trip less); a write that finds the records changed since reads them
/// again.
pub(crate) async fn reserve(
    store: &dyn Store,
    nip: &Nip,
    keys: &[String; 2],
    tallies: &[Tally],
    now: DateTime<Utc>,
    config: &Config,
    read: Option<Vec<Option<LoginThrottle>>>,
) -> Result<Reservation, StoreError> {
    let all_keys: Vec<String> = keys
        .iter()
        .cloned()
        .chain(tallies.iter().map(|t| t.key.clone()))
        .collect();
    let mut read = read.filter(|r| r.len() == all_keys.len());
    for _ in 0..RESERVE_TRIES {
        let raw = match read.take() {
            Some(r) => r,
            None => store.get_throttles(&all_keys).await?,
        };
        let counts = Counts::live(&raw, now);
        if let Some(until) = counts.locked_until(now) {
            return Ok(Reservation::Locked(until));
        }
        let memory = now + Duration::seconds(config.lockout_memory_secs);
        let next = |key: &str,
                    cur: &Option<LoginThrottle>,
                    expires_at: DateTime<Utc>,
                    lock: &dyn Fn(u32) -> Option<i64>| {
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
        let mut records = vec![
            next(&keys[0], &counts.nip, memory, &|f| {
                config.ceiling_lock_for(f)
            }),
            next(&keys[1], &counts.pair, memory, &|f| config.lock_for(f)),
        ];
        for (t, cur) in tallies.iter().zip(&counts.tallies) {
            records.push(next(&t.key, cur, t.expires_at, &|_| None));
        }
        let writes: Vec<ThrottleWrite> = records
            .iter()
            .zip(&raw)
            .map(|(record, raw)| ThrottleWrite {
                expect: expect(raw),
                record: record.clone(),
            })
            .collect();
        match store.put_throttles(&writes).await {
            Ok(()) => {
                return Ok(Reservation::Taken {
                    pair_failures: records[1].failures,
                    nip_failures: records[0].failures,
                    lock: records[0].locked_until.max(records[1].locked_until),
                    records,
                });
            }
            Err(StoreError::Conflict(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(Reservation::Busy)
}

/// After a completed login: every count given back to zero (the per-NIP record keeps its
/// `since`, so other addresses' lock-outs stay).
pub(crate) fn given_back(records: &[LoginThrottle]) -> Vec<ThrottleWrite> {
    records
        .iter()
        .cloned()
        .map(|mut r| {
            r.failures = 0;
            r.locked_until = None;
            r.rev = new_rev();
            ThrottleWrite {
                expect: Expect::Any,
                record: r,
            }
        })
        .collect()
}

/// After a step that succeeded on the way (not a completed login): its own attempt given
/// back, nothing else. A compare-and-set on what the reservation wrote; when another
/// request wrote meanwhile, the records are read again and one failure taken off what they
/// hold then (their lock stays), so no concurrent failure is ever lost.
pub(crate) async fn give_back_one(
    store: &dyn Store,
    records: &[LoginThrottle],
) -> Result<(), StoreError> {
    let keys: Vec<String> = records.iter().map(|r| r.key.clone()).collect();
    // First try: the records as this reservation wrote them, whose lock (if any) this
    // attempt made (a lock in force would have refused the reservation).
    let mut current: Vec<Option<LoginThrottle>> = records.iter().cloned().map(Some).collect();
    let mut ours = true;
    for _ in 0..RESERVE_TRIES {
        let writes: Vec<ThrottleWrite> = current
            .iter()
            .flatten()
            .map(|r| ThrottleWrite {
                expect: Expect::Rev(r.rev),
                record: LoginThrottle {
                    failures: r.failures.saturating_sub(1),
                    locked_until: if ours { None } else { r.locked_until },
                    rev: new_rev(),
                    ..r.clone()
                },
            })
            .collect();
        match store.put_throttles(&writes).await {
            Ok(()) => return Ok(()),
            Err(StoreError::Conflict(_)) => {
                current = store.get_throttles(&keys).await?;
                ours = false;
            }
            Err(e) => return Err(e),
        }
    }
    // Too many writers at once: the attempt stays counted (the safe side).
    Ok(())
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
