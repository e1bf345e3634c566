//! Debouncing one payment source at the source, so screens never flap (Concerto #1288's
//! lesson): the source enters "down" after `enter_failures` failed checks within
//! `enter_window`, and leaves it only after `leave_successes` healthy checks in a row that
//! span at least `leave_window`. Pure: outcomes arrive with the monotonic time they were
//! seen, and the debouncer says when its state changes.

use std::collections::VecDeque;
use std::time::Duration;

/// The thresholds of one source (from `[detection]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebounceRules {
    pub enter_failures: u32,
    pub enter_window: Duration,
    pub leave_successes: u32,
    pub leave_window: Duration,
}

/// One check or authorisation: did the payment path work?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The processor answered (an approval, or a decline: a declined card is not an outage).
    Healthy,
    /// No answer, a timeout, a refused connection, a 5xx: the path is broken.
    Failed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Debounced {
    Up,
    Down,
}

/// The debounced state of one source. `Duration`s are times since any fixed origin.
#[derive(Clone, Debug)]
pub struct Debouncer {
    rules: DebounceRules,
    state: Debounced,
    /// Recent failures while up, oldest first, within the enter window.
    failures: VecDeque<Duration>,
    /// While down: when the current run of healthy outcomes began, and its length.
    healthy_run: Option<(Duration, u32)>,
}

impl Debouncer {
    pub fn new(rules: DebounceRules) -> Self {
        Self {
            rules,
            state: Debounced::Up,
            failures: VecDeque::new(),
            healthy_run: None,
        }
    }

    /// A debouncer that starts down (the broker still holds this source as down).
    pub fn down(rules: DebounceRules) -> Self {
        Self {
            state: Debounced::Down,
            ..Self::new(rules)
        }
    }

    pub fn rules(&self) -> DebounceRules {
        self.rules
    }

    pub fn state(&self) -> Debounced {
        self.state
    }

    /// Takes one outcome seen at `at`; returns the new state if it changed.
    pub fn observe(&mut self, outcome: Outcome, at: Duration) -> Option<Debounced> {
        match (self.state, outcome) {
            (Debounced::Up, Outcome::Healthy) => None,
            (Debounced::Up, Outcome::Failed) => {
                self.failures.push_back(at);
                while self
                    .failures
                    .front()
                    .is_some_and(|first| at.saturating_sub(*first) > self.rules.enter_window)
                {
                    self.failures.pop_front();
                }
                if self.failures.len() as u32 >= self.rules.enter_failures.max(1) {
                    self.failures.clear();
                    self.healthy_run = None;
                    self.state = Debounced::Down;
                    return Some(Debounced::Down);
                }
                None
            }
            (Debounced::Down, Outcome::Failed) => {
                self.healthy_run = None;
                None
            }
            (Debounced::Down, Outcome::Healthy) => {
                let (started, count) = self.healthy_run.unwrap_or((at, 0));
                let count = count + 1;
                self.healthy_run = Some((started, count));
                let long_enough = at.saturating_sub(started) >= self.rules.leave_window;
                if count >= self.rules.leave_successes.max(1) && long_enough {
                    self.healthy_run = None;
                    self.state = Debounced::Up;
                    return Some(Debounced::Up);
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rules() -> DebounceRules {
        DebounceRules {
            enter_failures: 3,
            enter_window: Duration::from_secs(60),
            leave_successes: 3,
            leave_window: Duration::from_secs(30),
        }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn enters_after_n_failures_within_the_window_and_leaves_after_m_healthy_over_t2() {
        let mut source = Debouncer::new(rules());
        assert_eq!(source.observe(Outcome::Failed, secs(0)), None);
        assert_eq!(source.observe(Outcome::Failed, secs(10)), None);
        assert_eq!(
            source.observe(Outcome::Failed, secs(20)),
            Some(Debounced::Down)
        );
        // Three healthy checks, but within 20 s: not long enough to trust.
        assert_eq!(source.observe(Outcome::Healthy, secs(30)), None);
        assert_eq!(source.observe(Outcome::Healthy, secs(40)), None);
        assert_eq!(source.observe(Outcome::Healthy, secs(50)), None);
        assert_eq!(
            source.observe(Outcome::Healthy, secs(60)),
            Some(Debounced::Up)
        );
    }

    #[test]
    fn failures_spread_wider_than_the_window_never_enter_and_a_failure_resets_recovery() {
        let mut source = Debouncer::new(rules());
        for minute in 0..10 {
            assert_eq!(source.observe(Outcome::Failed, secs(minute * 61)), None);
        }
        let mut source = Debouncer::new(rules());
        for at in [0, 1, 2] {
            source.observe(Outcome::Failed, secs(at));
        }
        assert_eq!(source.state(), Debounced::Down);
        source.observe(Outcome::Healthy, secs(10));
        source.observe(Outcome::Healthy, secs(30));
        source.observe(Outcome::Failed, secs(35));
        assert_eq!(
            source.observe(Outcome::Healthy, secs(45)),
            None,
            "the run restarted at 45 s"
        );
        assert_eq!(source.observe(Outcome::Healthy, secs(60)), None);
        assert_eq!(
            source.observe(Outcome::Healthy, secs(75)),
            Some(Debounced::Up)
        );
    }

    proptest! {
        /// However outcomes alternate, every change needs its full evidence: a change to
        /// down is preceded by N failures within T, a change to up by M healthy over T2.
        #[test]
        fn no_change_without_its_full_evidence(
            steps in proptest::collection::vec((any::<bool>(), 0u64..20), 1..200)
        ) {
            let rules = rules();
            let mut source = Debouncer::new(rules);
            let mut history: Vec<(Outcome, Duration)> = Vec::new();
            let mut now = Duration::ZERO;
            for (failed, gap) in steps {
                now += secs(gap);
                let outcome = if failed { Outcome::Failed } else { Outcome::Healthy };
                history.push((outcome, now));
                match source.observe(outcome, now) {
                    Some(Debounced::Down) => {
                        let recent = history.iter().rev()
                            .take_while(|(_, at)| now - *at <= rules.enter_window)
                            .filter(|(o, _)| *o == Outcome::Failed)
                            .count();
                        prop_assert!(recent as u32 >= rules.enter_failures);
                    }
                    Some(Debounced::Up) => {
                        let run: Vec<_> = history.iter().rev()
                            .take_while(|(o, _)| *o == Outcome::Healthy)
                            .collect();
                        prop_assert!(run.len() as u32 >= rules.leave_successes);
                        prop_assert!(now - run.last().unwrap().1 >= rules.leave_window);
                    }
                    None => {}
                }
            }
        }
    }
}
