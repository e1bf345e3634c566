//! Rate-limited logging of refused messages: a flood of 10,000 bad messages must give a
//! handful of log lines, each naming the topic and the reason, not 10,000.

use std::collections::HashMap;
use std::time::{Duration, Instant};

pub struct RejectLog {
    window: Duration,
    /// Per reason kind: when it was last logged, and how many were suppressed since.
    last: HashMap<String, (Instant, u64)>,
}

impl RejectLog {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            last: HashMap::new(),
        }
    }

    /// Logs the refusal unless one of the same kind was logged within the window.
    pub fn refused(&mut self, topic: &str, reason: &dyn std::fmt::Display, kind: &str) {
        let now = Instant::now();
        match self.last.get_mut(kind) {
            Some((logged_at, suppressed)) if now.duration_since(*logged_at) < self.window => {
                *suppressed += 1;
            }
            entry => {
                let suppressed = entry.map(|(_, s)| *s).unwrap_or(0);
                let topic: String = topic.chars().take(200).collect();
                if suppressed > 0 {
                    tracing::warn!(%topic, "ignored a message: {reason} ({suppressed} similar messages ignored since the last report)");
                } else {
                    tracing::warn!(%topic, "ignored a message: {reason}");
                }
                self.last.insert(kind.to_owned(), (now, 0));
            }
        }
    }
}
