//! Shared test harness: a real Mosquitto per test (skipped with a reason when it is not
//! installed, unless RAINCHECK_REQUIRE_MOSQUITTO=1), real `raincheck` node processes,
//! and an observer session that waits for events with bounded timeouts.

#![allow(dead_code)]

pub mod broker;

pub mod chaos;

pub mod console;

pub mod counters;

pub mod kiosk;

pub mod webdriver;

pub use counters::{write_counter_config, VOUCHER_SECRET};

use raincheck::client::{BusSession, BusTarget};
use raincheck::model::{Confirmations, Standing, VenueState};
use raincheck::mosquitto::MosquittoProcess;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;
use tokio::time::Instant;

pub const VENUE: &str = "rialto";

/// A Mosquitto for this test, or `None` (test skipped) when it is not installed.
pub fn mosquitto(extra: &str) -> Option<MosquittoProcess> {
    if MosquittoProcess::binary().is_none() {
        if std::env::var("RAINCHECK_REQUIRE_MOSQUITTO").as_deref() == Ok("1") {
            panic!("RAINCHECK_REQUIRE_MOSQUITTO=1 but mosquitto is not installed");
        }
        eprintln!("SKIPPED: mosquitto is not installed (apt-get install mosquitto); this test needs a real broker");
        return None;
    }
    Some(MosquittoProcess::start(extra).expect("start mosquitto"))
}

/// Mosquitto with on-disk persistence saved after every change, as shipped for venues.
pub fn persistent_mosquitto(directory: &Path) -> Option<MosquittoProcess> {
    // Started as root, mosquitto drops to its own user, which must be able to write here.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o777))
        .expect("chmod persistence dir");
    mosquitto(&format!(
        "persistence true\npersistence_location {}/\nautosave_interval 1\nautosave_on_changes true\n",
        directory.display()
    ))
}

pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_raincheck")
}

/// Runs the CLI to completion (bounded by its own --timeout flags).
pub fn cli(args: &[&str]) -> Output {
    Command::new(binary())
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run raincheck")
}

/// A signage node's config; unless `broker_section` brings its own `[display]`, the node
/// draws offscreen, so its reports are proved by rendered frames without a window.
pub fn write_config(directory: &Path, node: &str, broker_section: &str) -> PathBuf {
    let path = directory.join(format!("{node}.toml"));
    let display = if broker_section.contains("[display]") {
        ""
    } else {
        "[display]\nbackend = \"offscreen\"\n"
    };
    let data = directory.join(format!("{node}-data"));
    std::fs::create_dir_all(&data).expect("data dir");
    std::fs::write(
        &path,
        format!(
            "[node]\nvenue = \"{VENUE}\"\nid = \"{node}\"\nroles = [\"signage\"]\ndata_dir = \"{}\"\n{broker_section}\n{display}",
            data.display()
        ),
    )
    .expect("write config");
    path
}

/// A `raincheck run` child process.
pub struct NodeProcess {
    pub node: String,
    pub config: PathBuf,
    /// Extra environment, kept for restarts (libfaketime's clock offset, say).
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl NodeProcess {
    pub fn start(directory: &Path, node: &str, url: &str) -> Self {
        let config = write_config(directory, node, &format!("[broker]\nurl = \"{url}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n"));
        Self::start_with(node, config)
    }

    pub fn start_with(node: &str, config: PathBuf) -> Self {
        Self::start_with_env(node, config, &[])
    }

    /// Like [`NodeProcess::start_with`], the process running with extra environment.
    pub fn start_with_env(node: &str, config: PathBuf, env: &[(&str, String)]) -> Self {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(key, value)| ((*key).to_owned(), value.clone()))
            .collect();
        let child = Command::new(binary())
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(key, value)| (key, value)))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node");
        Self {
            node: node.to_owned(),
            config,
            env,
            child: Some(child),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no goodbye, the broker's last will must speak for the node.
    pub fn kill_hard(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait (bounded) for a clean exit; returns the exit status success.
    pub fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("node {} did not stop within 10 s of SIGTERM", self.node);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn restart(&mut self) {
        self.kill_hard();
        let env = std::mem::take(&mut self.env);
        let env: Vec<(&str, String)> = env
            .iter()
            .map(|(key, value)| (key.as_str(), value.clone()))
            .collect();
        *self = Self::start_with_env(&self.node.clone(), self.config.clone(), &env);
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill_hard();
    }
}

/// One `raincheck run` process per name, all on the broker at `url`.
pub fn start_nodes(directory: &Path, names: &[&str], url: &str) -> Vec<NodeProcess> {
    names
        .iter()
        .map(|name| NodeProcess::start(directory, name, url))
        .collect()
}

pub async fn observer(url: &str) -> BusSession {
    let target = BusTarget::at_url(url, VENUE).expect("a broker URL");
    BusSession::open(target, "test")
        .await
        .expect("observer connects")
}

/// An observer on `url`, once every one of `nodes` is online and confirms the view the
/// observer computes (bounded by `within`): the venue is up before a scenario starts.
pub async fn observer_once_online(url: &str, nodes: &[&str], within: Duration) -> BusSession {
    let mut session = observer(url).await;
    wait_for(
        &mut session,
        within,
        "every screen and counter online",
        all_confirmed(nodes),
    )
    .await;
    session
}

/// A session on the broker and venue that the node config `config` names (its
/// credentials and CA file included), giving up on connecting after `timeout` seconds.
pub async fn session_from_config(config: PathBuf, timeout: u64) -> anyhow::Result<BusSession> {
    let node = raincheck::config::load(&config).expect("a valid config");
    let directory = config.parent().expect("a config in a directory");
    let target = BusTarget::of_node(&node, directory).with_timeout(Duration::from_secs(timeout));
    BusSession::open(target, "test").await
}

/// Waits until `condition` holds for the observer's state, or fails with `what`.
pub async fn wait_for(
    session: &mut BusSession,
    within: Duration,
    what: &str,
    condition: impl Fn(&VenueState) -> bool,
) {
    wait_watching(session, within, what, condition, |_| {}).await
}

/// Like [`wait_for`], handing the session to `watch` after every change on the way.
pub async fn wait_watching(
    session: &mut BusSession,
    within: Duration,
    what: &str,
    condition: impl Fn(&VenueState) -> bool,
    mut watch: impl FnMut(&BusSession),
) {
    let deadline = Instant::now() + within;
    while !condition(&session.state) {
        if session.next_change(deadline).await.is_none() {
            panic!(
                "timed out after {within:?} waiting for: {what}\nview: {:?}\nnodes: {}",
                session.view(),
                session.headline()
            );
        }
        watch(session);
    }
}

/// Every named node is online and shows the view computed from the observer's state.
pub fn all_confirmed<'a>(nodes: &'a [&'a str]) -> impl Fn(&VenueState) -> bool + 'a {
    move |state: &VenueState| {
        let confirmations = Confirmations::of(state);
        nodes.iter().all(|node| {
            let node = raincheck::protocol::Identifier::parse(node).expect("a node id");
            confirmations.standing(&node) == Some(Standing::Confirmed)
        })
    }
}

/// Like [`all_confirmed`], once the observer has seen revision `revision` (so a state
/// from before a declaration cannot satisfy it).
pub fn confirmed_after<'a>(
    nodes: &'a [&'a str],
    revision: u64,
) -> impl Fn(&VenueState) -> bool + 'a {
    move |state: &VenueState| state.max_revision() >= revision && all_confirmed(nodes)(state)
}

/// The revision a successful `incident …` command printed ("… at revision N …").
pub fn printed_revision(stdout: &str) -> u64 {
    stdout
        .split_whitespace()
        .skip_while(|word| *word != "revision")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no revision in {stdout:?}"))
}

pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A bare MQTT client with no subscriptions, its event loop polled in the background:
/// for flooding the broker without reading anything back.
pub fn raw_publisher(port: u16) -> (rumqttc::AsyncClient, tokio::task::JoinHandle<()>) {
    let mut options =
        rumqttc::MqttOptions::new(format!("raw-{}", std::process::id()), "127.0.0.1", port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
    let task = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) | Err(_) => break,
                Ok(_) => {}
            }
        }
    });
    (client, task)
}

/// Waits (bounded) until Mosquitto has saved its database after `after`, so a hard kill
/// cannot lose what was published before.
pub fn wait_for_autosave(persistence: &Path, after: std::time::SystemTime) {
    let database = persistence.join("mosquitto.db");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let saved = std::fs::metadata(&database)
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified > after);
        if saved {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not save {} within 10 s",
            database.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed when dropped, so a failing test leaves nothing running.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `raincheck incident ACTION`; returns its output and the revision it published.
pub fn declare(url: &str, action: &str, extra: &[&str]) -> (String, u64) {
    let mut args = vec![
        "incident",
        action,
        "--broker",
        url,
        "--venue",
        VENUE,
        "--timeout",
        "10",
    ];
    args.extend_from_slice(extra);
    let output = cli(&args);
    assert!(
        output.status.success(),
        "incident {action} failed: {}",
        stderr_of(&output)
    );
    let out = stdout_of(&output);
    let revision = printed_revision(&out);
    (out, revision)
}

/// Declares through the CLI and waits until `nodes` confirm what the observer computes.
pub async fn declare_and_confirm(
    session: &mut BusSession,
    url: &str,
    action: &str,
    extra: &[&str],
    nodes: &[&str],
    what: &str,
) -> (String, u64) {
    let (out, revision) = declare(url, action, extra);
    wait_for(
        session,
        Duration::from_secs(20),
        what,
        confirmed_after(nodes, revision),
    )
    .await;
    (out, revision)
}

/// A two-thread runtime for tests whose own thread belongs to Slint.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// target/screenshots/, where rendered screens are saved for people to look at.
pub fn screenshots_dir() -> PathBuf {
    let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&directory).expect("create target/screenshots");
    directory
}

/// A self-signed certificate for 127.0.0.1 and localhost, made by the openssl CLI; the key
/// is chmod 600. Returns (certificate, key) paths.
pub fn self_signed_certificate(directory: &Path) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let cert = directory.join("cert.pem");
    let key = directory.join("key.pem");
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .args(["-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        // A server certificate, not a CA (rustls refuses a CA as the server's own).
        .args(["-addext", "basicConstraints=critical,CA:FALSE"])
        .output()
        .expect("run openssl (it must be installed for this test)");
    assert!(
        output.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    (cert, key)
}
