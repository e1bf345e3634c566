//! A node run as systemd's `Type=notify` service, with systemd played by this test: the
//! node says READY=1 once started, pings WATCHDOG=1 about every third of the watchdog
//! period while its loops turn (even with no broker: reconnecting is turning), and says
//! STOPPING=1 on SIGTERM.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn next_message(socket: &UnixDatagram) -> String {
    let mut buffer = [0u8; 256];
    let read = socket
        .recv(&mut buffer)
        .expect("the node sent a notification before the receive timeout");
    String::from_utf8_lossy(&buffer[..read]).into_owned()
}

#[test]
fn a_node_notifies_ready_feeds_the_watchdog_and_says_stopping() {
    let directory = tempfile::tempdir().unwrap();
    let socket_path = directory.path().join("notify");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // No broker at all: the node must still be ready and alive.
    let config = write_config(
        directory.path(),
        "lobby-1",
        "[broker]\nurl = \"mqtt://127.0.0.1:9\"\nreconnect_max_ms = 500\n[display]\nbackend = \"headless\"\n",
    );
    let child = Command::new(binary())
        .args(["run", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "1500000")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start node");
    let mut node = KillOnDrop(child);
    assert_eq!(next_message(&socket), "READY=1");
    let started = Instant::now();
    for _ in 0..3 {
        assert_eq!(next_message(&socket), "WATCHDOG=1");
    }
    // Three pings at a third of 1.5 s each: well inside two periods.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "pings are too slow: {:?}",
        started.elapsed()
    );
    let _ = Command::new("kill")
        .args(["-TERM", &node.0.id().to_string()])
        .status();
    let mut last = String::new();
    while last != "STOPPING=1" {
        last = next_message(&socket);
        assert!(
            last == "WATCHDOG=1" || last == "STOPPING=1",
            "unexpected notification {last:?}"
        );
    }
    let status = node.0.wait().expect("node exits");
    assert!(
        status.success(),
        "the node exits cleanly after SIGTERM: {status}"
    );
}
