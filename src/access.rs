//! Who may use a page that people sign in to (the manager's console, the web counter):
//! PINs checked against argon2 hashes, sign-in sessions with their CSRF tokens, and the
//! throttle that answers repeated failures with a growing wait — one implementation, so
//! a till's staff PIN is guarded exactly like a manager's. Pure apart from the random
//! tokens and `verify_pin` (argon2 on a blocking thread): time comes in as `Instant`s so
//! the rules are unit-tested; each server keeps one `Access` behind a mutex never held
//! across `.await`.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use rand::RngCore;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failures before a wait is imposed; then 2, 4, 8 … seconds.
const FREE_FAILURES: u32 = 2;
/// The longest wait between attempts from one address.
const MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// The longest wait a name's failures impose on every address: enough to slow guessing
/// from many hosts, short enough that a stranger cannot lock a manager or a cashier out for long.
const MAX_NAME_WAIT: Duration = Duration::from_secs(60);
/// A failure record is forgotten after this long without news.
const FORGET_AFTER: Duration = Duration::from_secs(60 * 60);
/// At most this many live sessions; the oldest goes first.
const MAX_SESSIONS: usize = 256;

/// A PIN's shape: 4 to 12 digits, what a tablet's number pad can type.
pub fn check_pin_shape(pin: &str) -> Result<(), &'static str> {
    if (4..=12).contains(&pin.len()) && pin.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err("a PIN is 4 to 12 digits")
    }
}

/// An argon2id hash of the PIN with a fresh salt, as `pin_hash` in the config.
pub fn hash_pin(pin: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(pin.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| format!("cannot hash the PIN: {error}"))
}

/// True if `text` is an argon2 hash as `hash_pin` writes it (checked at config load, so
/// a mistyped hash is a config problem, not an account that can never sign in).
pub fn is_pin_hash(text: &str) -> bool {
    PasswordHash::new(text).is_ok_and(|hash| hash.algorithm.as_str().starts_with("argon2"))
}

/// True if `pin` matches `hash`. Slow on purpose (argon2): call it off the async threads.
pub fn pin_matches(hash: &str, pin: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(pin.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// PIN checks running at once at most, across every sign-in page of the process.
static PIN_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// An argon2 hash of no PIN anyone can type (PINs are digits): checked when the name or
/// number is unknown, so an unknown one costs as much time as a wrong PIN.
static DECOY_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    hash_pin("no such person")
        .expect("hashing a fixed PIN with the default argon2 parameters cannot fail")
});

/// Whether `pin` matches `hash` (the account's; `None` for an unknown name, checked
/// against a decoy so timing tells nothing). Argon2 takes ~19 MiB per check, so it runs
/// off the async threads, at most two at once, whatever arrives. A PIN of the wrong shape
/// never matches, after the same work.
pub async fn verify_pin(hash: Option<String>, pin: String) -> bool {
    let shaped = check_pin_shape(&pin).is_ok();
    let hash = hash.unwrap_or_else(|| DECOY_HASH.clone());
    match PIN_CHECKS.acquire().await {
        Ok(_permit) => tokio::task::spawn_blocking(move || shaped && pin_matches(&hash, &pin))
            .await
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// A signed-in person: a manager on the console, a member of staff on a web counter.
#[derive(Clone, Debug)]
pub struct Session {
    /// Who signed in: the manager's name, or the staff number.
    pub person: String,
    pub csrf_token: String,
    expires: Instant,
    created: Instant,
}

#[derive(Clone, Debug)]
struct Failures {
    count: u32,
    last: Instant,
}

/// Sessions and the sign-in throttle.
pub struct Access {
    sessions: HashMap<String, Session>,
    failures: HashMap<String, Failures>,
    session_length: Duration,
}

impl Access {
    pub fn new(session_length: Duration) -> Self {
        Self {
            sessions: HashMap::new(),
            failures: HashMap::new(),
            session_length,
        }
    }

    /// The throttle keys of one attempt: the name tried and the client's address, so
    /// neither guessing one name's PIN nor spraying names from one tablet gets far.
    pub fn throttle_keys(name: &str, from: &str) -> [String; 2] {
        [
            format!("name:{}", name.trim().to_lowercase()),
            format!("from:{from}"),
        ]
    }

    /// How long the caller must still wait before another attempt, if at all.
    pub fn wait_before_attempt(&mut self, keys: &[String], now: Instant) -> Option<Duration> {
        self.failures
            .retain(|_, f| now.duration_since(f.last) < FORGET_AFTER);
        keys.iter()
            .filter_map(|key| self.failures.get(key).map(|f| (key, f)))
            .filter_map(|(key, f)| {
                let mut wait = wait_after(f.count);
                if key.starts_with("name:") {
                    wait = wait.min(MAX_NAME_WAIT);
                }
                let allowed_at = f.last + wait;
                allowed_at
                    .checked_duration_since(now)
                    .filter(|d| !d.is_zero())
            })
            .max()
    }

    pub fn record_failure(&mut self, keys: &[String], now: Instant) {
        for key in keys {
            let entry = self.failures.entry(key.clone()).or_insert(Failures {
                count: 0,
                last: now,
            });
            entry.count = entry.count.saturating_add(1);
            entry.last = now;
        }
    }

    /// Forgets the failures of `keys` after a correct PIN that opens no session (a
    /// manager's override at a till).
    pub fn clear_failures(&mut self, keys: &[String]) {
        for key in keys {
            self.failures.remove(key);
        }
    }

    /// Opens a session after a correct PIN; returns its cookie token.
    pub fn sign_in(&mut self, keys: &[String], person: &str, now: Instant) -> (String, Session) {
        for key in keys {
            self.failures.remove(key);
        }
        self.sessions.retain(|_, s| s.expires > now);
        if self.sessions.len() >= MAX_SESSIONS {
            if let Some(oldest) = self
                .sessions
                .iter()
                .min_by_key(|(_, s)| s.created)
                .map(|(token, _)| token.clone())
            {
                self.sessions.remove(&oldest);
            }
        }
        let token = random_token();
        let session = Session {
            person: person.to_owned(),
            csrf_token: random_token(),
            expires: now + self.session_length,
            created: now,
        };
        self.sessions.insert(token.clone(), session.clone());
        (token, session)
    }

    /// The live session for a cookie token.
    pub fn session(&mut self, token: &str, now: Instant) -> Option<Session> {
        match self.sessions.get(token) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                self.sessions.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn sign_out(&mut self, token: &str) {
        self.sessions.remove(token);
    }
}

fn wait_after(failures: u32) -> Duration {
    if failures <= FREE_FAILURES {
        return Duration::ZERO;
    }
    let exponent = (failures - FREE_FAILURES).min(20);
    Duration::from_secs(1u64 << exponent).min(MAX_WAIT)
}

/// 32 random bytes as hex, from the OS-seeded CSPRNG.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Compares secrets without an early exit, so timing does not reveal a prefix.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_hash_and_verify_and_odd_shapes_are_refused() {
        let hash = hash_pin("4821").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(pin_matches(&hash, "4821"));
        assert!(!pin_matches(&hash, "4822"));
        assert!(!pin_matches("not a hash", "4821"));
        assert!(check_pin_shape("4821").is_ok());
        for bad in ["123", "12a4", "1234567890123", ""] {
            assert!(check_pin_shape(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn failures_earn_a_growing_wait_and_a_success_clears_it() {
        let mut access = Access::new(Duration::from_secs(60));
        let keys = Access::throttle_keys("Dana", "10.0.0.5");
        let start = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert_eq!(access.wait_before_attempt(&keys, start), None);
            access.record_failure(&keys, start);
        }
        assert_eq!(access.wait_before_attempt(&keys, start), None);
        access.record_failure(&keys, start);
        assert_eq!(
            access.wait_before_attempt(&keys, start),
            Some(Duration::from_secs(2))
        );
        access.record_failure(&keys, start);
        assert_eq!(
            access.wait_before_attempt(&keys, start),
            Some(Duration::from_secs(4))
        );
        assert_eq!(
            access.wait_before_attempt(&keys, start + Duration::from_secs(4)),
            None
        );
        // Another name from the same address is held back too.
        let other = Access::throttle_keys("Sam", "10.0.0.5");
        assert!(access.wait_before_attempt(&other, start).is_some());
        for _ in 0..40 {
            access.record_failure(&keys, start);
        }
        assert_eq!(access.wait_before_attempt(&keys, start), Some(MAX_WAIT));
        access.sign_in(&keys, "Dana", start);
        assert_eq!(access.wait_before_attempt(&keys, start), None);
    }

    #[test]
    fn sessions_expire_and_sign_out_ends_them() {
        let mut access = Access::new(Duration::from_secs(60));
        let start = Instant::now();
        let (token, session) = access.sign_in(&[], "Dana", start);
        assert_eq!(access.session(&token, start).unwrap().person, "Dana");
        assert_ne!(token, session.csrf_token);
        assert!(access
            .session(&token, start + Duration::from_secs(61))
            .is_none());
        let (token, _) = access.sign_in(&[], "Dana", start);
        access.sign_out(&token);
        assert!(access.session(&token, start).is_none());
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("abc", "ab")
        );
    }
}
