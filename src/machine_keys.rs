//! Keys that machines present (feed readers at `/feeds/…`, web screen pages at
//! `/screen/{id}`, POS servers and tills on a counter's LAN listener): 256 random bits
//! shown once as 64 hex digits, stored in the config only as `sha256:` and the key's
//! SHA-256 in hex. A key is long and random, so a fast hash is as safe as a slow one and
//! a wrong-key flood costs microseconds, not argon2 seconds. Presented keys are compared
//! against every stored hash in constant time, and a throttle answers an address's
//! repeated wrong keys with a growing wait; it remembers at most `MAX_TRACKED`
//! addresses, so no stream of requests can grow it without bound. The one implementation
//! for every machine key; pure apart from the random key (time comes in as `Instant`s).

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How a stored key hash starts.
pub const KEY_HASH_PREFIX: &str = "sha256:";

/// A fresh key: 32 random bytes as 64 lowercase hex digits (safe in a URL, easy to paste).
pub fn new_access_key() -> String {
    let bytes: [u8; 32] = rand::random();
    hex(&bytes)
}

/// The stored form of `key`: `sha256:` and 64 hex digits.
pub fn access_key_hash(key: &str) -> String {
    format!("{KEY_HASH_PREFIX}{}", hex(&Sha256::digest(key.as_bytes())))
}

/// True if `text` is a stored key hash: `sha256:` and 64 lowercase hex digits.
pub fn is_access_key_hash(text: &str) -> bool {
    text.strip_prefix(KEY_HASH_PREFIX).is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Wrong keys an address may send before it must wait; then 2, 4, 8 … seconds.
pub const FREE_FAILURES: u32 = 5;
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// Addresses remembered at once; the stalest is forgotten first.
pub const MAX_TRACKED: usize = 1024;
/// A presented key longer than this is wrong without being hashed.
pub const MAX_KEY_CHARS: usize = 128;

/// Which of `keys` (each an owner and its stored hash) `presented` matches. Every stored
/// hash is compared in full, so the time taken says nothing about which or how much
/// matched.
pub fn key_owner<'a, T>(
    keys: impl IntoIterator<Item = (T, &'a str)>,
    presented: &str,
) -> Option<T> {
    if presented.is_empty() || presented.len() > MAX_KEY_CHARS {
        return None;
    }
    let hash = access_key_hash(presented);
    let mut owner = None;
    for (candidate, stored) in keys {
        if crate::access::same_secret(&hash, stored) {
            owner = Some(candidate);
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
    fn keys_are_fresh_and_their_hashes_have_the_stored_shape() {
        let key = new_access_key();
        assert_eq!(key.len(), 64);
        assert_ne!(key, new_access_key());
        assert!(is_access_key_hash(&access_key_hash(&key)));
        for bad in [
            "sha256:",
            "md5:00",
            &format!("sha256:{}", "A".repeat(64)),
            &key,
        ] {
            assert!(!is_access_key_hash(bad), "{bad}");
        }
    }

    #[test]
    fn keys_match_only_their_hash() {
        let key = new_access_key();
        assert_eq!(key.len(), 64);
        let stored = access_key_hash(&key);
        let keys = [("website", stored.as_str())];
        assert!(is_access_key_hash(keys[0].1));
        assert_eq!(key_owner(keys, &key), Some("website"));
        assert_eq!(key_owner(keys, &key[1..]), None);
        assert_eq!(key_owner(keys, ""), None);
        assert_eq!(key_owner(keys, &"a".repeat(10_000)), None);
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
