//! A private Mosquitto broker started as a child process on a free loopback port, for
//! the integration tests and the switch benchmark (real broker, no mocks). It is killed
//! when dropped.

use anyhow::{bail, Context, Result};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
        let child = Command::new(binary)
            .arg("-c")
            .arg(self.config_path())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("start mosquitto")?;
        self.child = Some(child);
        wait_until_listening(self.port, Duration::from_secs(10))?;
        // Something answered on the port; make sure it is this broker, not another's.
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => Ok(()),
            _ => bail!(
                "mosquitto exited at start (port {} taken?); log:\n{}",
                self.port,
                self.log()
            ),
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
