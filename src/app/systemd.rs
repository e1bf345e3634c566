//! The systemd side of a node run as `Type=notify`: READY=1 once the workers run,
//! STOPPING=1 on the way out, and WATCHDOG=1 pings every third of `WatchdogSec` — but
//! only while every loop in `liveness` is turning. Without NOTIFY_SOCKET (not under
//! systemd) all of this is silent and free.

use crate::liveness;
use crate::shutdown::Shutdown;
use std::time::Duration;

/// Sends one notification; false when not under systemd or the socket is gone.
pub fn notify(message: &str) -> bool {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return false;
    };
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else {
        return false;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(name) = bytes.strip_prefix(b"@") {
        // An abstract socket (systemd in containers and user managers).
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(name)
            .and_then(|address| socket.send_to_addr(message.as_bytes(), &address))
    } else {
        socket.send_to(message.as_bytes(), std::path::Path::new(&path))
    };
    sent.is_ok()
}

/// systemd's watchdog period, if it set one for this process.
pub fn watchdog_period() -> Option<Duration> {
    let micros: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    // WATCHDOG_PID, when set, must be ours.
    if let Ok(pid) = std::env::var("WATCHDOG_PID") {
        if pid.parse::<u32>().ok() != Some(std::process::id()) {
            return None;
        }
    }
    (micros > 0).then(|| Duration::from_micros(micros))
}

/// Pings the watchdog while every loop is alive; logs once when one stops.
pub async fn run_watchdog(period: Duration, mut shutdown: Shutdown) {
    let mut tick = tokio::time::interval(period / 3);
    let mut reported = false;
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = tick.tick() => {
                let stale = liveness::stale(period);
                if stale.is_empty() {
                    notify("WATCHDOG=1");
                    reported = false;
                } else if !reported {
                    tracing::error!(loops = ?stale, "a loop has stopped turning; no more watchdog pings, so systemd will restart this node");
                    reported = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_reach_the_socket_named_by_notify_socket() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("notify");
        let listener = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
        // Only this test touches NOTIFY_SOCKET in the unit-test process.
        std::env::set_var("NOTIFY_SOCKET", &path);
        assert!(notify("READY=1"));
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buffer = [0u8; 64];
        let read = listener.recv(&mut buffer).unwrap();
        assert_eq!(&buffer[..read], b"READY=1");
        assert!(!notify("READY=1"), "silent without NOTIFY_SOCKET");
    }
}
