//! The managers a till accepts for an override past an offer's cap (`[[counter.managers]]`,
//! the same name and argon2 `pin_hash` as `[[console.managers]]`), and the check of a name
//! and PIN typed at the till: `access::verify_pin` (argon2 off the async threads, a decoy
//! hash for unknown names) behind `access`'s throttle, keyed by the name and where it was
//! typed (the native screen, the counter API, a web counter's address). Every till surface
//! reaches it through `CounterHandle::issue`, so a PIN is checked one way everywhere, and
//! a wrong one is counted, logged and issues nothing.

use super::override_code::OverrideRefusal;
use crate::access::Access;
use crate::config::ManagerAccount;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The till's managers and the throttle on their PINs.
pub struct ManagerGate {
    managers: Vec<ManagerAccount>,
    throttle: Mutex<Access>,
}

impl ManagerGate {
    pub fn new(managers: Vec<ManagerAccount>) -> Self {
        Self {
            managers,
            // No sessions are opened here: only the throttle is used.
            throttle: Mutex::new(Access::new(Duration::ZERO)),
        }
    }

    fn throttle(&self) -> std::sync::MutexGuard<'_, Access> {
        // A panic elsewhere while holding it leaves a usable throttle.
        self.throttle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The manager's name as configured when `name` and `pin` match one of this till's
    /// managers; `from` says where it was typed, for the throttle and the log.
    pub async fn check(
        &self,
        name: &str,
        pin: String,
        from: &str,
    ) -> Result<String, OverrideRefusal> {
        if self.managers.is_empty() {
            return Err(OverrideRefusal::NoManagers);
        }
        let name = crate::text::one_line(name).trim().to_owned();
        let keys = Access::throttle_keys(&name, from);
        // Checked and counted as a failure in one step, before the slow hash, so parallel
        // attempts cannot all slip past; a correct PIN clears the count.
        let wait = {
            let mut throttle = self.throttle();
            let wait = throttle.wait_before_attempt(&keys, Instant::now());
            if wait.is_none() {
                throttle.record_failure(&keys, Instant::now());
            }
            wait
        };
        if let Some(wait) = wait {
            let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
            tracing::warn!(from, "counter: manager override refused while throttled");
            return Err(OverrideRefusal::TooManyPins { seconds });
        }
        let account = self
            .managers
            .iter()
            .find(|m| m.name.trim().eq_ignore_ascii_case(&name));
        let matches = crate::access::verify_pin(account.map(|a| a.pin_hash.clone()), pin).await;
        match account.filter(|_| matches) {
            Some(account) => {
                self.throttle().clear_failures(&keys);
                Ok(account.name.trim().to_owned())
            }
            None => {
                // The name typed is not logged: it may be a PIN typed in the wrong field.
                tracing::warn!(from, "counter: manager override refused: wrong name or PIN");
                Err(OverrideRefusal::WrongPin)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_right_pin_names_the_manager_and_wrong_ones_are_refused_then_throttled() {
        let gate = ManagerGate::new(vec![ManagerAccount {
            name: "Dana".into(),
            pin_hash: crate::access::hash_pin("4821").unwrap(),
        }]);
        assert_eq!(
            gate.check("dana", "4821".into(), "screen").await,
            Ok("Dana".into())
        );
        for _ in 0..3 {
            assert_eq!(
                gate.check("Dana", "1111".into(), "screen").await,
                Err(OverrideRefusal::WrongPin)
            );
        }
        assert!(matches!(
            gate.check("Dana", "4821".into(), "screen").await,
            Err(OverrideRefusal::TooManyPins { .. })
        ));
        assert_eq!(
            ManagerGate::new(Vec::new())
                .check("Dana", "4821".into(), "api")
                .await,
            Err(OverrideRefusal::NoManagers)
        );
    }
}
