//! Counter terminals for tests: their config, an in-process counter node with its voucher
//! worker, bounded waits on what a counter's store holds, and a bare reader of the
//! retained voucher marks on the broker.

use super::VENUE;
use raincheck::app::{start_node, NodeHandle};
use raincheck::protocol::Identifier;
use raincheck::shutdown::{shutdown_pair, ShutdownTrigger};
use raincheck::voucher::events::VoucherRecord;
use raincheck::voucher::CounterHandle;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The venue secret of the test counters.
pub const VOUCHER_SECRET: &[u8] = b"a-venue-secret-of-32-bytes-long!";

/// A counter terminal's config (and the shared secret file) in `directory`; `broker`
/// adds a fast-reconnecting broker section.
pub fn write_counter_config(
    directory: &Path,
    node: &str,
    terminal: u8,
    policy: &str,
    broker: Option<&str>,
) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let secret = directory.join("voucher-secret");
    if !secret.exists() {
        std::fs::write(&secret, VOUCHER_SECRET).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let data = directory.join(format!("{node}-data"));
    std::fs::create_dir_all(&data).unwrap();
    let broker = broker
        .map(|url| format!("[broker]\nurl = \"{url}\"\nkeep_alive_secs = 1\nwatchdog_secs = 3\nreconnect_min_ms = 50\nreconnect_max_ms = 300\n"))
        .unwrap_or_default();
    let path = directory.join(format!("{node}.toml"));
    std::fs::write(
        &path,
        format!(
            "[node]\nvenue = \"{VENUE}\"\nid = \"{node}\"\nroles = [\"counter\"]\ndata_dir = \"{}\"\n{broker}\
             [counter]\nterminal = {terminal}\nsecret_file = \"{}\"\noffline_redemption = \"{policy}\"\n\
             [[counter.offers]]\nid = \"popcorn\"\nnumber = 1\ntitle = \"A free small popcorn\"\nvalidity_days = 90\n\
             [display]\nbackend = \"offscreen\"\n",
            data.display(),
            secret.display()
        ),
    )
    .unwrap();
    path
}

/// The offer every test counter gives.
pub fn popcorn() -> Identifier {
    Identifier::parse("popcorn").unwrap()
}

/// Starts a counter node in-process from `config`; returns it, its trigger and its
/// voucher worker.
pub fn start_counter(
    config: &Path,
    directory: &Path,
) -> (NodeHandle, ShutdownTrigger, CounterHandle) {
    let loaded = raincheck::config::load(config).expect("the counter config loads");
    let (trigger, shutdown) = shutdown_pair();
    let node = start_node(&loaded, directory, shutdown).expect("the counter starts");
    let counter = node
        .counter
        .clone()
        .expect("a counter node has a voucher worker");
    (node, trigger, counter)
}

/// A counter `node` (terminal number `terminal`, offline redemption allowed) on the broker
/// at `url`, started in-process.
pub fn counter_node(
    directory: &Path,
    node: &str,
    terminal: u8,
    url: &str,
) -> (NodeHandle, ShutdownTrigger, CounterHandle) {
    let path = write_counter_config(directory, node, terminal, "allow", Some(url));
    start_counter(&path, directory)
}

/// Waits (bounded) until `condition` holds for the counter's record of `code`.
pub async fn eventually(
    counter: &CounterHandle,
    code: &str,
    what: &str,
    condition: impl Fn(&VoucherRecord) -> bool,
) {
    // Long enough for a replay lost on the way to be sent again (REPLAY_MEMORY plus a
    // marks heartbeat): sync repairs itself, and the test waits for that.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
    loop {
        let (_, record) = counter.lookup(code.to_owned()).await.expect("lookup");
        if record.as_ref().is_some_and(&condition) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}; record: {record:?}"
        );
        // Polling the counter's store: it has no change notification to wait on.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Issues `count` popcorn vouchers at `till`; returns their codes in order.
pub async fn issue_many(till: &CounterHandle, count: usize) -> Vec<String> {
    let mut codes = Vec::with_capacity(count);
    for _ in 0..count {
        let issued = till.issue(popcorn(), None, None).await.expect("issue");
        codes.push(issued.code.to_string());
    }
    codes
}

/// Waits (bounded) until `node`'s retained voucher marks say it holds `origin` up to `seq`.
pub async fn wait_for_marks(port: u16, node: &str, origin: &str, seq: u64) {
    let what = format!("{node}'s marks holding {origin} up to {seq}");
    wait_for_retained_marks(port, node, &what, |marks| {
        marks["marks"][origin].as_u64().unwrap_or(0) >= seq
    })
    .await;
}

/// Waits (bounded) until `node`'s retained voucher marks say it is offline; returns them.
pub async fn wait_for_offline(port: u16, node: &str) -> serde_json::Value {
    let what = format!("{node}'s goodbye on its voucher marks topic");
    wait_for_retained_marks(port, node, &what, |marks| marks["online"] == false).await
}

/// Reads `node`'s voucher marks topic with a bare client until `done` holds (20 s at
/// most); returns the marks that satisfied it.
pub async fn wait_for_retained_marks(
    port: u16,
    node: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    MarksReader::subscribe(port, node)
        .await
        .wait(what, done)
        .await
}

/// A bare client on `node`'s voucher marks topic. Subscribed (the broker's answer
/// awaited) before anything else happens, so a message that is not retained — a last
/// will when a link dies — is not missed.
pub struct MarksReader {
    eventloop: rumqttc::EventLoop,
    _client: rumqttc::AsyncClient,
}

impl MarksReader {
    pub async fn subscribe(port: u16, node: &str) -> Self {
        let mut options = rumqttc::MqttOptions::new(
            format!("marks-reader-{}-{node}", std::process::id()),
            "127.0.0.1",
            port,
        );
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
        client
            .subscribe(
                format!("raincheck/v1/{VENUE}/voucher-marks/{node}"),
                rumqttc::QoS::AtMostOnce,
            )
            .await
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let Ok(event) = tokio::time::timeout_at(deadline, eventloop.poll()).await else {
                panic!("timed out subscribing to {node}'s voucher marks");
            };
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_))) = event {
                break;
            }
        }
        Self {
            eventloop,
            _client: client,
        }
    }

    /// Waits (20 s at most) for marks for which `done` holds; returns them.
    pub async fn wait(
        &mut self,
        what: &str,
        done: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let Ok(event) = tokio::time::timeout_at(deadline, self.eventloop.poll()).await else {
                panic!("timed out waiting for {what}");
            };
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish))) = event {
                let marks: serde_json::Value =
                    serde_json::from_slice(&publish.payload).unwrap_or_default();
                if done(&marks) {
                    return marks;
                }
            }
        }
    }
}

/// Waits (bounded) until the till's `/healthz` at `base` says its voucher worker serves
/// (nothing pushes readiness to an HTTP client, so it asks every 50 ms).
pub async fn wait_till_serving(http: &reqwest::Client, base: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(response) = http.get(format!("{base}/healthz")).send().await {
            let health: serde_json::Value = response.json().await.unwrap_or_default();
            if health["serving"] == true {
                return;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the till at {base} did not serve within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A till on `broker` whose popcorn carries `caps`, with a soda offer worth 3.00 capped
/// at 6.00 of face value per till, manager Dana (the console's PIN) and, if `api_port`, its API.
pub fn capped_till(
    directory: &Path,
    node: &str,
    terminal: u8,
    broker: &str,
    caps: &str,
    api_port: Option<u16>,
) -> PathBuf {
    let path = write_counter_config(directory, node, terminal, "allow", Some(broker));
    let mut text = std::fs::read_to_string(&path).unwrap();
    if let Some(port) = api_port {
        let offers = text.find("[[counter.offers]]").unwrap();
        text.insert_str(offers, &format!("api_listen = \"127.0.0.1:{port}\"\n"));
    }
    let pin_hash = raincheck::console::hash_pin(super::console::PIN).unwrap();
    let more = format!(
        "validity_days = 90\nface_value = \"4.50\"\n{caps}\n\
         [[counter.offers]]\nid = \"soda\"\nnumber = 2\ntitle = \"A soda\"\nvalidity_days = 30\n\
         face_value = \"3.00\"\ntill_value_cap = \"6.00\"\n\
         [[counter.managers]]\nname = \"Dana\"\npin_hash = \"{pin_hash}\"\n[display]"
    );
    text = text.replacen("validity_days = 90\n[display]", &more, 1);
    std::fs::write(&path, text).unwrap();
    path
}
