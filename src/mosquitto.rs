//! A private Mosquitto broker started as a child process on a free loopback port, for
//! the integration tests and the switch benchmark (real broker, no mocks). It is killed
//! when dropped. [`adapt_config`] turns the shipped configs in config/mosquitto/ into
//! extra config for such a broker, so tests and benchmarks run the rules that ship.

use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// config/mosquitto/bridge-to-hq.conf as shipped: a venue broker's bridge to head office
/// (written for venue `rialto`).
pub const SHIPPED_BRIDGE: &str = include_str!("../config/mosquitto/bridge-to-hq.conf");

/// config/mosquitto/hq.conf as shipped: head office's broker.
pub const SHIPPED_HQ: &str = include_str!("../config/mosquitto/hq.conf");

/// A shipped config adapted to run here: comments and blank lines dropped, every line
/// of each directive named in `set` replaced by `directive value` (or removed when the
/// value is `None`), and every other line kept exactly as shipped. A directive to set
/// that the shipped file lacks is an error, so a renamed line cannot silently leave the
/// shipped value in force.
pub fn adapt_config(shipped: &str, set: &[(&str, Option<&str>)]) -> Result<String> {
    let mut out = String::new();
    let mut seen = vec![false; set.len()];
    for line in shipped.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let directive = line.split_whitespace().next().unwrap_or_default();
        match set.iter().position(|(name, _)| *name == directive) {
            Some(index) => {
                seen[index] = true;
                if let Some(value) = set[index].1 {
                    out.push_str(&format!("{directive} {value}\n"));
                }
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    if let Some(index) = seen.iter().position(|seen| !seen) {
        bail!(
            "the shipped config has no `{}` line to adapt; update the caller with the config",
            set[index].0
        );
    }
    Ok(out)
}

pub struct MosquittoProcess {
    child: Option<Child>,
    pub port: u16,
    directory: tempfile::TempDir,
}

impl MosquittoProcess {
    /// Path of the mosquitto binary, if installed.
    pub fn binary() -> Option<PathBuf> {
        [
            "/usr/sbin/mosquitto",
            "/usr/bin/mosquitto",
            "/usr/local/sbin/mosquitto",
        ]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
    }

    /// Starts a broker on a free port with `extra` lines appended to its config.
    pub fn start(extra: &str) -> Result<Self> {
        let port = free_port()?;
        let directory = tempfile::tempdir().context("temporary directory for mosquitto")?;
        let mut process = Self {
            child: None,
            port,
            directory,
        };
        process.launch(extra)?;
        Ok(process)
    }

    fn config_path(&self) -> PathBuf {
        self.directory.path().join("mosquitto.conf")
    }

    fn launch(&mut self, extra: &str) -> Result<()> {
        let anonymous = if extra.contains("allow_anonymous") {
            ""
        } else {
            "allow_anonymous true\n"
        };
        let config = format!(
            "listener {} 127.0.0.1\n{anonymous}log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\nlog_type information\nmax_queued_messages 100000\nset_tcp_nodelay true\n{extra}\n",
            self.port
        );
        std::fs::write(self.config_path(), config).context("write mosquitto.conf")?;
        self.spawn_child()
    }

    fn spawn_child(&mut self) -> Result<()> {
        let binary =
            Self::binary().context("mosquitto is not installed (apt-get install mosquitto)")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.directory.path().join("mosquitto.log"))?;
        // The log is appended to across restarts: only a new "listening" line counts.
        let opened = format!("listen socket on port {}", self.port);
        let opened_before = self.log().matches(&opened).count();
        let child = Command::new(binary)
            .arg("-c")
            .arg(self.config_path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("start mosquitto")?;
        self.child = Some(child);
        wait_until_listening(self.port, Duration::from_secs(10))?;
        // Something answered on the port; make sure it is this broker, not another's that
        // won a race for the same free port: ours says it opened the socket, and lives.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            let alive = matches!(self.child.as_mut().map(Child::try_wait), Some(Ok(None)));
            if !alive {
                bail!(
                    "mosquitto exited at start (port {} taken?); log:\n{}",
                    self.port,
                    self.log()
                );
            }
            if self.log().matches(&opened).count() > opened_before {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!(
                    "mosquitto did not say it listens on port {}; log:\n{}",
                    self.port,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Kills the broker (SIGKILL, so nothing is flushed) and starts it again on the
    /// same port with the same config.
    pub fn restart(&mut self) -> Result<()> {
        self.kill();
        self.spawn_child()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What the broker logged so far (for test failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("mosquitto.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

impl Drop for MosquittoProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A port that was free a moment ago (the OS picks it).
pub fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn wait_until_listening(port: u16, within: Duration) -> Result<()> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + within;
    while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if Instant::now() > deadline {
            bail!("mosquitto did not listen on port {port} within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adapting_keeps_every_other_line_as_shipped() {
        let shipped =
            "# why\naddress hq:8883\ntopic a/# in 1\n\ntopic b/# out 1\nremote_password x\n";
        let adapted = adapt_config(
            shipped,
            &[("address", Some("127.0.0.1:1")), ("remote_password", None)],
        )
        .unwrap();
        assert_eq!(
            adapted,
            "address 127.0.0.1:1\ntopic a/# in 1\ntopic b/# out 1\n"
        );
        let missing = adapt_config(shipped, &[("bridge_cafile", None)]).unwrap_err();
        assert!(missing.to_string().contains("`bridge_cafile`"), "{missing}");
    }

    #[test]
    fn the_shipped_bridge_carries_chain_declarations_down_and_reports_and_retirements_up_only() {
        let topics: Vec<&str> = SHIPPED_BRIDGE
            .lines()
            .filter(|line| line.starts_with("topic "))
            .collect();
        assert_eq!(
            topics,
            [
                "topic raincheck/v1/_chain/incident/# in 1",
                "topic raincheck/v1/rialto/displays/# out 1",
                "topic raincheck/v1/rialto/retired/# out 1"
            ]
        );
    }
}
