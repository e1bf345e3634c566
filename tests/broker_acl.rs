//! The shipped broker ACL (config/mosquitto/raincheck.acl) on a real Mosquitto with a
//! password file made by `mosquitto_passwd`, with real raincheck nodes logged in as
//! themselves: screens and counters work under it, and least privilege holds (BRIEF.md
//! invariant 8). A screen's credentials cannot declare an incident (neither through
//! `raincheck incident start` nor by posing as the console with a raw client), cannot speak
//! for another screen, and cannot touch vouchers; a counter cannot publish another counter's
//! voucher events; the console's user declares (and, as the venue's keeper, may republish
//! any declaration) and every screen follows; the technicians'
//! `cli` user resolves; the detector's user reports payment health and raises its automatic
//! incident. Denied publishes vanish silently under MQTT 3.1.1, so each denial
//! is proved by order: the forged message is acknowledged by the broker first, then a
//! legitimate one on the same path arrives, and the forged one never did. Every forged
//! payload is checked to be one raincheck would otherwise accept, so the assertions can fail.
//!
//! Counters added to the ACL follow the procedure written at the top of the ACL file, which
//! this test applies literally.

mod common;

use common::broker::*;
use common::counters::eventually;
use common::*;
use raincheck::client::BusSession;
use raincheck::model::{compute_view, ViewMode};
use raincheck::protocol::{decode_message, Identifier};
use raincheck::shutdown::{shutdown_pair, ShutdownTrigger};
use raincheck::voucher::CounterHandle;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SHIPPED_ACL: &str = include_str!("../config/mosquitto/raincheck.acl");

/// Every MQTT user of these tests; the node id is the username, as DEPLOY.md says.
const USERS: &[&str] = &[
    "lobby-1",
    "lobby-2",
    "back-office",
    "backoffice",
    "cli",
    "concession-1",
    "box-office-1",
    "box-office-2",
];

/// A Mosquitto with the shipped ACL and a password for every user of [`USERS`].
struct AclVenue {
    directory: tempfile::TempDir,
    broker: raincheck::mosquitto::MosquittoProcess,
}

impl AclVenue {
    /// `None` (test skipped, with the reason printed) when Mosquitto is not installed.
    fn start() -> Option<Self> {
        let directory = directory_readable_by_mosquitto();
        let passwd = directory.path().join("raincheck.passwd");
        let passwords: Vec<String> = USERS.iter().map(|user| password_of(user)).collect();
        let credentials: Vec<(&str, &str)> = USERS
            .iter()
            .copied()
            .zip(passwords.iter().map(String::as_str))
            .collect();
        mosquitto_password_file(&passwd, &credentials)?;
        let acl = directory.path().join("raincheck.acl");
        let mut rules = SHIPPED_ACL.to_owned();
        for counter in ["box-office-1", "box-office-2"] {
            rules.push('\n');
            rules.push_str(&documented_counter_block(counter));
        }
        std::fs::write(&acl, rules).unwrap();
        std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
        let broker = mosquitto(&format!(
            "allow_anonymous false\npassword_file {}\nacl_file {}\n",
            passwd.display(),
            acl.display()
        ))?;
        Some(Self { directory, broker })
    }

    fn url(&self) -> String {
        self.broker.url()
    }

    /// A node config logged in as `user`, its password in a private file (chmod 600).
    fn config(&self, user: &str) -> PathBuf {
        let secret = self.secret(user);
        write_config(
            self.directory.path(),
            user,
            &self.broker_section(user, &secret),
        )
    }

    fn broker_section(&self, user: &str, secret: &Path) -> String {
        logged_in_broker_section(&self.url(), "", user, secret)
    }

    /// The private password file of `user`.
    fn secret(&self, user: &str) -> PathBuf {
        private_password_file(
            self.directory.path(),
            &format!("{user}.password"),
            &password_of(user),
        )
    }

    /// A counter node running in this process, logged in as itself.
    fn counter(
        &self,
        node: &str,
        terminal: u8,
    ) -> (raincheck::app::NodeHandle, ShutdownTrigger, CounterHandle) {
        let secret = self.secret(node);
        let path = write_counter_config(self.directory.path(), node, terminal, "allow", None);
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str(&self.broker_section(node, &secret));
        std::fs::write(&path, text).unwrap();
        let config = raincheck::config::load(&path).expect("counter config");
        let (trigger, shutdown) = shutdown_pair();
        let handle = raincheck::app::start_node(&config, self.directory.path(), shutdown)
            .expect("counter starts");
        let counter = handle
            .counter
            .clone()
            .expect("a counter has a voucher worker");
        (handle, trigger, counter)
    }

    /// An observer session logged in as `user` (every user may read the whole venue).
    async fn observer(&self, user: &str) -> BusSession {
        session_from_config(self.config(user), 10)
            .await
            .expect("the observer logs in")
    }

    /// Each screen as a `raincheck run` process logged in as itself, and an observer
    /// logged in as the console's user (reading the whole venue is everyone's right), once
    /// every screen reports what it shows.
    async fn screens_watched_by_the_console(
        &self,
        screens: &[&str],
    ) -> (Vec<NodeProcess>, BusSession) {
        let nodes = screens
            .iter()
            .map(|screen| NodeProcess::start_with(screen, self.config(screen)))
            .collect();
        let mut observer = self.observer("back-office").await;
        wait_for(
            &mut observer,
            Duration::from_secs(20),
            "every screen, logged in as itself, reports what it shows",
            all_confirmed(screens),
        )
        .await;
        (nodes, observer)
    }

    async fn raw(&self, user: &str) -> RawClient {
        RawClient::connect(self.broker.port, user).await
    }
}

fn password_of(user: &str) -> String {
    format!("pw-{user}-7f3a")
}

/// The ACL block for a new counter, exactly as the ACL file's header tells an installer to
/// write it (its example lines, uncommented, with the example's name replaced).
fn documented_counter_block(node: &str) -> String {
    let block: Vec<String> = SHIPPED_ACL
        .lines()
        .filter_map(|line| line.strip_prefix("#   "))
        .filter(|line| {
            (line.starts_with("user ") || line.starts_with("topic "))
                && line.ends_with("box-office-1")
        })
        .map(|line| line.replace("box-office-1", node))
        .collect();
    assert_eq!(
        block.len(),
        3,
        "the ACL's header no longer shows how to add a counter (user + 2 topic lines): {block:?}"
    );
    block.join("\n") + "\n"
}

/// A bare MQTT 3.1.1 client logged in as `user`, for publishing what no raincheck node
/// would: forged messages.
struct RawClient {
    client: rumqttc::AsyncClient,
    eventloop: rumqttc::EventLoop,
    received: Vec<(String, Vec<u8>)>,
}

impl RawClient {
    async fn connect(port: u16, user: &str) -> Self {
        // A client id of its own, so the real node logged in as the same user stays online.
        let mut options = rumqttc::MqttOptions::new(
            format!("raincheck-forger-{user}-{}", std::process::id()),
            "127.0.0.1",
            port,
        );
        options.set_credentials(user, password_of(user));
        options.set_max_packet_size(1 << 20, 1 << 20);
        let (client, eventloop) = rumqttc::AsyncClient::new(options, 100);
        let mut raw = Self {
            client,
            eventloop,
            received: Vec::new(),
        };
        raw.until("the broker accepts the login", |event| {
            matches!(event, rumqttc::Event::Incoming(rumqttc::Packet::ConnAck(ack)) if ack.code == rumqttc::ConnectReturnCode::Success)
        })
        .await;
        raw
    }

    /// Polls the connection until `done` holds for an event (10 s at most), keeping every
    /// message received on the way.
    async fn until(&mut self, what: &str, done: impl Fn(&rumqttc::Event) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let event = match tokio::time::timeout_at(deadline, self.eventloop.poll()).await {
                Err(_) => panic!("timed out after 10 s waiting for: {what}"),
                Ok(Err(error)) => panic!("raw client lost the broker waiting for {what}: {error}"),
                Ok(Ok(event)) => event,
            };
            if let rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish)) = &event {
                self.received
                    .push((publish.topic.clone(), publish.payload.to_vec()));
            }
            if done(&event) {
                return;
            }
        }
    }

    async fn subscribe(&mut self, filter: &str) {
        self.client
            .subscribe(filter, rumqttc::QoS::AtLeastOnce)
            .await
            .unwrap();
        self.until(&format!("the subscription to {filter}"), |event| {
            matches!(event, rumqttc::Event::Incoming(rumqttc::Packet::SubAck(_)))
        })
        .await;
    }

    /// Publishes at QoS 1 and waits for the broker's PUBACK: from then on the broker has
    /// routed the message, or dropped it.
    async fn publish_acked(&mut self, topic: &str, payload: Vec<u8>, retain: bool) {
        self.client
            .publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload)
            .await
            .unwrap();
        self.until(
            &format!("the broker's acknowledgement of {topic}"),
            |event| matches!(event, rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))),
        )
        .await;
    }

    /// Waits until a message on `topic` arrives; returns every topic received up to it.
    async fn receive_until(&mut self, topic: &str) -> Vec<String> {
        let wanted = topic.to_owned();
        if !self.received.iter().any(|(t, _)| *t == wanted) {
            self.until(&format!("a message on {topic}"), |event| {
                matches!(event, rumqttc::Event::Incoming(rumqttc::Packet::Publish(p)) if p.topic == wanted)
            })
            .await;
        }
        self.received.iter().map(|(t, _)| t.clone()).collect()
    }
}

fn venue() -> Identifier {
    Identifier::parse(VENUE).unwrap()
}

fn topic(rest: &str) -> String {
    format!("raincheck/v1/{VENUE}/{rest}")
}

/// Asserts raincheck would accept `payload` on `topic` if it were delivered, so a test
/// that shows it was not delivered proves the ACL, not a malformed forgery.
fn assert_acceptable(topic: &str, payload: &[u8]) {
    if let Err(reason) = decode_message(topic, payload, &venue()) {
        panic!("the forged message on {topic} would be refused anyway ({reason}); the test proves nothing");
    }
}

/// A manager's cash-only declaration as the console would publish it, at a revision above
/// anything these tests reach.
fn forged_declaration(source: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1, "source": source, "authority": "manager", "revision": 900_000,
        "incident_id": "inc-forged", "state": "active", "mode": "cash_only",
        "texts": { "headline": "Forged" },
        "started_at": "2026-11-22T19:42:00Z", "declared_at": "2026-11-22T19:42:00Z"
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screens_report_but_only_the_console_and_technicians_declare() {
    let Some(venue) = AclVenue::start() else {
        return;
    };
    let screens = ["lobby-1", "lobby-2"];
    let (_nodes, mut observer) = venue.screens_watched_by_the_console(&screens).await;

    // A screen's credentials through the real CLI: the broker drops the declaration, so
    // the CLI never sees it come back and says so.
    let lobby_config = venue.config("lobby-1");
    let output = cli(&[
        "incident",
        "start",
        "--config",
        lobby_config.to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a screen's declaration must fail: {}{}",
        stdout_of(&output),
        stderr_of(&output)
    );
    let refusal = stderr_of(&output);
    assert!(
        refusal.contains("did not confirm")
            && refusal.contains(&topic("incident/cli"))
            && !stdout_of(&output).contains("declared"),
        "the CLI reports that the declaration was not confirmed: {refusal}"
    );
    assert!(
        !refusal.contains(&password_of("lobby-1")),
        "the password never reaches the output"
    );

    // A screen posing as the console, retained, with a raw client.
    let mut forger = venue.raw("lobby-1").await;
    let forged = forged_declaration("console");
    assert_acceptable(&topic("incident/console"), &forged);
    forger
        .publish_acked(&topic("incident/console"), forged.clone(), true)
        .await;
    forger
        .publish_acked(
            &topic("incident/auto-backoffice"),
            forged_declaration("auto-backoffice"),
            true,
        )
        .await;
    // After the broker acknowledged the forgeries, a sync barrier proves the observer has
    // everything the broker would deliver: had they been accepted, they would be here.
    observer.sync().await.expect("observer sync");
    let view = compute_view(&observer.state);
    assert_eq!(
        view.mode,
        ViewMode::Normal,
        "a screen's declaration changed the venue's view: {view:?}"
    );
    assert!(
        observer.state.max_revision() < 900_000,
        "no forged revision was retained"
    );
    // A fresh session reads the retained set from scratch: nothing was retained either.
    let status = cli(&[
        "status",
        "--json",
        "--config",
        lobby_config.to_str().unwrap(),
        "--timeout",
        "5",
    ]);
    assert!(status.status.success(), "{}", stderr_of(&status));
    assert!(
        !stdout_of(&status).contains("inc-forged") && !stdout_of(&status).contains("cash_only"),
        "nothing forged is retained: {}",
        stdout_of(&status)
    );

    // The console's user declares as the console, and every screen follows.
    let console_config = venue.config("back-office");
    let output = cli(&[
        "incident",
        "start",
        "--config",
        console_config.to_str().unwrap(),
        "--source",
        "console",
        "--headline",
        "Cash only tonight",
        "--timeout",
        "10",
    ]);
    assert!(
        output.status.success(),
        "the console's user declares: {}",
        stderr_of(&output)
    );
    let revision = printed_revision(&stdout_of(&output));
    wait_for(
        &mut observer,
        Duration::from_secs(20),
        "every screen shows the console's declaration",
        confirmed_after(&screens, revision),
    )
    .await;
    assert_eq!(compute_view(&observer.state).mode, ViewMode::CashOnly);

    // The console's user may write every declaration topic: as the venue's keeper it
    // republishes any source's winner the broker lost (docs/PROTOCOL.md, "Keepers"), so
    // it is no longer limited to `incident/console`. Screens and counters stay limited.

    // A technician with the `cli` user resolves, and every screen follows.
    let technician = venue.config("cli");
    let output = cli(&[
        "incident",
        "resolve",
        "--config",
        technician.to_str().unwrap(),
        "--timeout",
        "10",
    ]);
    assert!(
        output.status.success(),
        "the technicians' user resolves: {}",
        stderr_of(&output)
    );
    let revision = printed_revision(&stdout_of(&output));
    wait_for(
        &mut observer,
        Duration::from_secs(20),
        "every screen shows the resolve",
        confirmed_after(&screens, revision),
    )
    .await;
    assert_eq!(compute_view(&observer.state).mode, ViewMode::AllClear);
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_cannot_speak_for_another_screen() {
    let Some(venue) = AclVenue::start() else {
        return;
    };
    let screens = ["lobby-1", "lobby-2"];
    let (_nodes, mut observer) = venue.screens_watched_by_the_console(&screens).await;

    // lobby-2's credentials say lobby-1 went offline, and post a thumbnail for it.
    let mut forger = venue.raw("lobby-2").await;
    let offline = br#"{"v":1,"node":"lobby-1","status":"offline"}"#.to_vec();
    assert_acceptable(&topic("displays/lobby-1"), &offline);
    forger
        .publish_acked(&topic("displays/lobby-1"), offline, true)
        .await;
    observer.sync().await.expect("observer sync");
    assert!(
        all_confirmed(&screens)(&observer.state),
        "lobby-2 spoke for lobby-1: {}",
        observer.headline()
    );

    // Thumbnails and sync barriers: the forger listens on lobby-1's and its own, publishes
    // to lobby-1's first and its own last; its own arrive, lobby-1's never do.
    let own_thumbnail = topic("thumbnails/lobby-2");
    let other_thumbnail = topic("thumbnails/lobby-1");
    // Barriers are named after the MQTT client id (the forger's own, lobby-1's status session).
    let own_barrier = topic(&format!(
        "sync/raincheck-forger-lobby-2-{}",
        std::process::id()
    ));
    let other_barrier = topic("sync/raincheck-rialto-lobby-1");
    for filter in [
        &other_thumbnail,
        &own_thumbnail,
        &other_barrier,
        &own_barrier,
    ] {
        forger.subscribe(filter).await;
    }
    forger
        .publish_acked(&other_thumbnail, b"\x89PNG forged".to_vec(), false)
        .await;
    forger
        .publish_acked(&other_barrier, b"sync".to_vec(), false)
        .await;
    forger
        .publish_acked(&own_thumbnail, b"\x89PNG own".to_vec(), false)
        .await;
    forger
        .publish_acked(&own_barrier, b"sync".to_vec(), false)
        .await;
    let received = forger.receive_until(&own_barrier).await;
    assert!(
        received.contains(&own_thumbnail),
        "a screen may publish its own thumbnail: {received:?}"
    );
    assert!(
        !received.contains(&other_thumbnail) && !received.contains(&other_barrier),
        "lobby-2 published on lobby-1's topics: {received:?}"
    );

    // Nor may a screen touch payment health or vouchers.
    let down = br#"{"v":1,"source":"processor","status":"down","revision":900000,"since":"2026-11-22T19:40:00Z"}"#.to_vec();
    assert_acceptable(&topic("payments/processor"), &down);
    forger
        .publish_acked(&topic("payments/processor"), down, true)
        .await;
    observer.sync().await.expect("observer sync");
    assert!(
        observer.state.max_revision() < 900_000,
        "a screen reported payment health"
    );
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_cannot_publish_another_counters_vouchers() {
    let Some(venue) = AclVenue::start() else {
        return;
    };
    // concession-1 is in the shipped ACL; box-office-1 was added as its header says.
    let (_concession, _stop_concession, concession) = venue.counter("concession-1", 1);
    let (_box_office, _stop_box_office, box_office) = venue.counter("box-office-1", 2);
    let popcorn = Identifier::parse("popcorn").unwrap();

    let first = concession
        .issue(popcorn.clone(), None, None)
        .await
        .expect("concession-1 issues under the ACL")
        .code
        .compact();
    eventually(
        &box_office,
        &first,
        "box-office-1 learns of concession-1's voucher",
        |r| r.issued.is_some(),
    )
    .await;

    // Another counter's credentials (box-office-2, not running) redeem concession-1's
    // voucher as if concession-1 had, and a screen's claim that concession-1 holds
    // box-office-1's events far beyond what box-office-1 has (which would make
    // box-office-1 refuse all work, as a store restored from an old backup does).
    let mut counter_forger = venue.raw("box-office-2").await;
    let redemption = serde_json::to_vec(&serde_json::json!({
        "v": 1, "origin": "concession-1", "events": [
            { "v": 1, "origin": "concession-1", "seq": 2, "at": "2026-11-22T19:43:10Z",
              "kind": "redeemed", "code": first }
        ]
    }))
    .unwrap();
    let vouchers_of_concession = topic("vouchers/concession-1");
    counter_forger
        .publish_acked(&vouchers_of_concession, redemption, false)
        .await;
    let mut screen_forger = venue.raw("lobby-1").await;
    let marks = serde_json::to_vec(&serde_json::json!({
        "v": 1, "node": "concession-1", "online": true, "marks": { "box-office-1": 5000 }
    }))
    .unwrap();
    screen_forger
        .publish_acked(&topic("voucher-marks/concession-1"), marks, true)
        .await;

    // concession-1's next voucher travels the same topic after the forgeries: once
    // box-office-1 has it, it has seen everything the broker let through before it.
    let second = concession
        .issue(popcorn.clone(), None, None)
        .await
        .expect("issue")
        .code
        .compact();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, record) = box_office.lookup(first.clone()).await.expect("lookup");
        let redeemed = record.is_some_and(|r| !r.redemptions.is_empty());
        assert!(
            !redeemed,
            "a forged redemption of concession-1's voucher reached box-office-1"
        );
        let (_, record) = box_office.lookup(second.clone()).await.expect("lookup");
        if record.is_some_and(|r| r.issued.is_some()) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for box-office-1 to learn of concession-1's second voucher"
        );
        // Polling the counter's store: it has no change notification to wait on.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = box_office
        .redeem(first.clone(), None)
        .await
        .expect("box-office-1 still redeems: the forged marks never reached it")
        .answer;
    assert_eq!(
        answer,
        raincheck::voucher::lifecycle::RedeemAnswer::Valid,
        "the guest's voucher is still good"
    );
    let own = box_office
        .issue(popcorn, None, None)
        .await
        .expect("box-office-1 still issues: the forged marks never reached it")
        .code
        .compact();
    eventually(
        &concession,
        &own,
        "concession-1 learns of box-office-1's voucher",
        |r| r.issued.is_some(),
    )
    .await;
}

#[test]
fn the_detector_reports_and_raises_its_automatic_incident() {
    let Some(venue) = AclVenue::start() else {
        return;
    };
    let _screen = NodeProcess::start_with("lobby-1", venue.config("lobby-1"));
    // A processor nobody answers for: the port was free a moment ago and is closed now.
    let closed = raincheck::mosquitto::free_port().unwrap();
    let path = venue.directory.path().join("backoffice.toml");
    std::fs::write(
        &path,
        format!(
            "[node]\nvenue = \"{VENUE}\"\nid = \"backoffice\"\nroles = [\"detector\"]\ndata_dir = \"{}\"\n{}\
             [detection]\nenter_failures = 2\nenter_window_secs = 10\n\
             [[detection.probes]]\nid = \"processor\"\ntarget = \"tcp://127.0.0.1:{closed}\"\ninterval_secs = 1\ntimeout_ms = 500\n",
            venue.directory.path().join("backoffice-data").display(),
            venue.broker_section("backoffice", &venue.secret("backoffice")),
        ),
    )
    .unwrap();
    let config = raincheck::config::load(&path).expect("detector config");
    let runtime = runtime();
    let (_stop, shutdown) = shutdown_pair();
    let _detector = runtime
        .block_on(async { raincheck::app::start_node(&config, venue.directory.path(), shutdown) })
        .expect("the detector starts");
    runtime.block_on(async {
        let mut observer = venue.observer("back-office").await;
        wait_for(
            &mut observer,
            Duration::from_secs(30),
            "the detector's health report and automatic incident reach the screen",
            |state| {
                let view = compute_view(state);
                state
                    .payments
                    .get(&Identifier::parse("processor").unwrap())
                    .is_some_and(|health| health.status == raincheck::protocol::PaymentStatus::Down)
                    && view.mode == ViewMode::CashOnly
                    && view.source.as_ref().map(Identifier::as_str) == Some("auto-backoffice")
                    && all_confirmed(&["lobby-1"])(state)
                    // The detector draws nothing: it reports the view it computed as
                    // headless, never as shown.
                    && state
                        .displays
                        .get(&Identifier::parse("backoffice").unwrap())
                        .is_some_and(|report| {
                            report.shown == Some(raincheck::protocol::Shown::Headless)
                                && report.digest == Some(view.digest())
                        })
            },
        )
        .await;
        observer.close().await;
    });
}
