//! Who may read the feeds: random 256-bit keys, stored in the config only as SHA-256
//! hashes (a key is long and random, so a fast hash is as safe as a slow one and a
//! wrong-key flood costs microseconds, not argon2 seconds), compared in constant time;
//! and a throttle that answers an address's repeated wrong keys with a growing wait.
//! The throttle remembers at most `MAX_TRACKED` addresses, so no stream of requests can
//! grow it without bound. Pure apart from the random key: time comes in as `Instant`s.

use crate::config::{access_key_hash, FeedKey};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong keys an address may send before it must wait; then 2, 4, 8 … seconds.
pub const FREE_FAILURES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Addresses remembered at once; the stalest is forgotten first.
pub const MAX_TRACKED: usize = 1024;
/// A presented key longer than this is wrong without being hashed.
pub const MAX_KEY_CHARS: usize = 128;

/// The name of the configured key `presented` matches. Every stored hash is compared
/// in full, so the time taken says nothing about which or how much matched.
pub fn key_owner<'a>(keys: &'a [FeedKey], presented: &str) -> Option<&'a str> {
    if presented.is_empty() || presented.len() > MAX_KEY_CHARS {
        return None;
    }
    let hash = access_key_hash(presented);
    let mut owner = None;
    for key in keys {
        if crate::access::same_secret(&hash, &key.key_hash) {
            owner = Some(key.name.as_str());
        }
    }
    owner
}

#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Wrong keys per client address, bounded.
#[derive(Default)]
pub struct Throttle {
    failures: HashMap<IpAddr, Failures>,
}

impl Throttle {
    /// How long `from` must still wait before its key is even checked.
    pub fn wait(&mut self, from: IpAddr, now: Instant) -> Option<Duration> {
        let failures = *self.failures.get(&from)?;
        if now.duration_since(failures.last) >= FORGET_AFTER {
            self.failures.remove(&from);
            return None;
        }
        (failures.last + wait_after(failures.count))
            .checked_duration_since(now)
            .filter(|wait| !wait.is_zero())
    }

    /// Counts a wrong or missing key; returns the new count.
    pub fn record_failure(&mut self, from: IpAddr, now: Instant) -> u32 {
        if !self.failures.contains_key(&from) && self.failures.len() >= MAX_TRACKED {
            self.failures
                .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
            if self.failures.len() >= MAX_TRACKED {
                if let Some(stalest) = self.failures.iter().min_by_key(|(_, f)| f.last) {
                    let stalest = *stalest.0;
                    self.failures.remove(&stalest);
                }
            }
        }
        let entry = self.failures.entry(from).or_insert(Failures {
            count: 0,
            last: now,
        });
        entry.count = entry.count.saturating_add(1);
        entry.last = now;
        entry.count
    }

    pub fn succeeded(&mut self, from: IpAddr) {
        self.failures.remove(&from);
    }

    #[cfg(test)]
    pub fn tracked(&self) -> usize {
        self.failures.len()
    }
}

fn wait_after(failures: u32) -> Duration {
    if failures <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let exponent = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << exponent).min(MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_only_their_hash() {
        let key = crate::config::new_access_key();
        assert_eq!(key.len(), 64);
        let keys = vec![FeedKey {
            name: "website".into(),
            key_hash: access_key_hash(&key),
        }];
        assert!(crate::config::is_access_key_hash(&keys[0].key_hash));
        assert_eq!(key_owner(&keys, &key), Some("website"));
        assert_eq!(key_owner(&keys, &key[1..]), None);
        assert_eq!(key_owner(&keys, ""), None);
        assert_eq!(key_owner(&keys, &"a".repeat(10_000)), None);
    }

    #[test]
    fn wrong_keys_earn_a_wait_and_memory_stays_bounded() {
        let mut throttle = Throttle::default();
        let from: IpAddr = "10.0.0.9".parse().unwrap();
        let now = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(throttle.wait(from, now), None);
            throttle.record_failure(from, now);
        }
        assert_eq!(throttle.wait(from, now), None);
        throttle.record_failure(from, now);
        assert_eq!(throttle.wait(from, now), Some(Duration::from_secs(2)));
        throttle.succeeded(from);
        assert_eq!(throttle.wait(from, now), None);
        for n in 0..(MAX_TRACKED as u32 * 3) {
            let address = IpAddr::from(n.to_be_bytes());
            throttle.record_failure(address, now + Duration::from_millis(u64::from(n)));
        }
        assert_eq!(throttle.tracked(), MAX_TRACKED);
    }
}
