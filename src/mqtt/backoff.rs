//! Capped exponential backoff with jitter for reconnects, so a venue full of screens does
//! not hammer a broker that is coming back up all at the same instant.

use rand::Rng;
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct Backoff {
    minimum: Duration,
    maximum: Duration,
    next: Duration,
    /// Failures since the last success, for "connected after N attempts" logs.
    pub failures: u32,
}

impl Backoff {
    pub fn new(minimum: Duration, maximum: Duration) -> Self {
        let minimum = minimum.max(Duration::from_millis(1));
        Self {
            minimum,
            maximum: maximum.max(minimum),
            next: minimum,
            failures: 0,
        }
    }

    /// The delay before the next attempt: the current step plus up to 50 % jitter; the
    /// step doubles each time up to the cap.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let base = self.next;
        self.next = (self.next * 2).min(self.maximum);
        let jitter_ms = rand::thread_rng().gen_range(0..=base.as_millis() as u64 / 2);
        base + Duration::from_millis(jitter_ms)
    }

    /// The longest delay between attempts, jitter excluded.
    pub fn maximum(&self) -> Duration {
        self.maximum
    }

    pub fn reset(&mut self) {
        self.next = self.minimum;
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000));
        let delays: Vec<_> = (0..8).map(|_| backoff.next_delay()).collect();
        for (delay, base) in delays
            .iter()
            .zip([100, 200, 400, 800, 1000, 1000, 1000, 1000])
        {
            let base = Duration::from_millis(base);
            assert!(
                *delay >= base && *delay <= base + base / 2,
                "{delay:?} vs {base:?}"
            );
        }
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(150));
        assert_eq!(backoff.failures, 1);
    }
}
