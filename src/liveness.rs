//! Proof of life for systemd's watchdog: every loop that must keep turning (each MQTT
//! connection worker, the UI thread) registers a heartbeat and beats it as it goes round;
//! the watchdog pings systemd only while every registered loop has beaten recently, so a
//! wedged MQTT loop or a frozen screen gets the node restarted (docs/DEPLOY.md).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

/// One loop's last sign of life, in milliseconds since the process's first heartbeat.
pub struct Heartbeat {
    name: String,
    last: AtomicU64,
    /// How long this loop may legitimately go round without a beat (a long keep-alive,
    /// a long reconnect backoff); the watchdog waits at least this long.
    allowance: Duration,
}

static EPOCH: OnceLock<Instant> = OnceLock::new();
static LOOPS: Mutex<Vec<Weak<Heartbeat>>> = Mutex::new(Vec::new());

fn now_ms() -> u64 {
    let epoch = EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Heartbeat {
    pub fn beat(&self) {
        self.last.store(now_ms(), Ordering::Relaxed);
    }
}

/// Registers a loop; it counts for as long as the returned heartbeat is alive.
pub fn register(name: impl Into<String>) -> Arc<Heartbeat> {
    register_with_allowance(name, Duration::ZERO)
}

/// Like [`register`], for a loop whose quiet gaps can exceed the watchdog period.
pub fn register_with_allowance(name: impl Into<String>, allowance: Duration) -> Arc<Heartbeat> {
    let heartbeat = Arc::new(Heartbeat {
        name: name.into(),
        last: AtomicU64::new(now_ms()),
        allowance,
    });
    let mut loops = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    loops.retain(|weak| weak.strong_count() > 0);
    loops.push(Arc::downgrade(&heartbeat));
    heartbeat
}

/// The registered loops that have not beaten within `max_age`.
pub fn stale(max_age: Duration) -> Vec<String> {
    let now = now_ms();
    let limit = u64::try_from(max_age.as_millis()).unwrap_or(u64::MAX);
    let loops = LOOPS.lock().unwrap_or_else(|e| e.into_inner());
    loops
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|h| {
            let limit = limit.max(u64::try_from(h.allowance.as_millis()).unwrap_or(u64::MAX));
            now.saturating_sub(h.last.load(Ordering::Relaxed)) > limit
        })
        .map(|h| h.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loop_that_stops_beating_is_reported_and_a_dropped_one_is_forgotten() {
        let turning = register("test turning");
        let stuck = register("test stuck");
        std::thread::sleep(Duration::from_millis(30));
        turning.beat();
        let stale_now = stale(Duration::from_millis(20));
        assert!(stale_now.contains(&"test stuck".to_owned()));
        assert!(!stale_now.contains(&"test turning".to_owned()));
        drop(stuck);
        assert!(!stale(Duration::from_millis(20)).contains(&"test stuck".to_owned()));
    }
}
