//! Chain-wide incidents through two real Mosquitto brokers bridged together. Head office's
//! broker runs the shipped config/mosquitto/hq.conf and hq.acl (TLS, a login per venue and
//! per operator); venue rialto's broker runs the shipped bridge-to-hq.conf with only its
//! address, CA file and password changed, so these tests prove the rules that ship.
//! Headless screens run on the venue broker; HQ's operator uses `raincheck incident
//! --chain` against HQ's broker, and an HQ session watches the reports come up.

mod common;

use common::*;
use raincheck::client::{BrokerTarget, BusSession, ChainSession};
use raincheck::model::{compute_view, ChainState, Standing, ViewMode};
use raincheck::mosquitto::{adapt_config, MosquittoProcess, SHIPPED_BRIDGE, SHIPPED_HQ};
use raincheck::protocol::{DeclarationState, Identifier, Scope};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use tokio::time::Instant;

const SCREENS: [&str; 3] = ["lobby-1", "lobby-2", "bar"];
const BRIDGE_PASSWORD: &str = "rialto-bridge-secret";
const OPERATOR_PASSWORD: &str = "ops-secret";

/// HQ's broker, the venue's broker bridged to it, and HQ's operator config.
struct Chain {
    directory: tempfile::TempDir,
    hq: MosquittoProcess,
    venue: MosquittoProcess,
    /// `raincheck --config` for HQ's operator `ops.hq` (TLS, password file).
    operator: PathBuf,
}

impl Chain {
    /// Both brokers, or `None` (test skipped, saying why) without mosquitto, openssl or
    /// mosquitto_passwd, unless RAINCHECK_REQUIRE_MOSQUITTO=1.
    fn start() -> Option<Self> {
        let directory = tempfile::tempdir().unwrap();
        // Mosquitto drops to its own user when started as root: it must read these files.
        std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let d = directory.path();
        if MosquittoProcess::binary().is_none() {
            return skip("mosquitto is not installed (apt-get install mosquitto)");
        }
        if !make_certificates(d) {
            return skip("openssl is not installed; it makes the test CA");
        }
        if !make_password_file(d) {
            return skip("mosquitto_passwd is not installed");
        }
        let hq_data = d.join("hq-data");
        std::fs::create_dir_all(&hq_data).unwrap();
        std::fs::set_permissions(&hq_data, std::fs::Permissions::from_mode(0o777)).unwrap();
        let acl = d.join("hq.acl");
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("config/mosquitto/hq.acl"),
            &acl,
        )
        .unwrap();
        std::fs::set_permissions(&acl, std::fs::Permissions::from_mode(0o644)).unwrap();
        let path = |name: &str| d.join(name).display().to_string();
        // The test broker has its own loopback listener (MosquittoProcess), so the shipped
        // listener line goes; every setting after it then applies to that listener.
        let hq_config = adapt_config(
            SHIPPED_HQ,
            &[
                ("listener", None),
                ("certfile", Some(&path("server.pem"))),
                ("keyfile", Some(&path("server.key"))),
                ("password_file", Some(&path("passwd"))),
                ("acl_file", Some(&path("hq.acl"))),
            ],
        )
        .expect("adapt hq.conf");
        let hq = mosquitto(&format!(
            "{hq_config}persistence_location {}/\n",
            hq_data.display()
        ))?;
        let bridge = adapt_config(
            SHIPPED_BRIDGE,
            &[
                ("address", Some(&format!("127.0.0.1:{}", hq.port))),
                ("bridge_cafile", Some(&path("ca.pem"))),
                ("remote_password", Some(BRIDGE_PASSWORD)),
            ],
        )
        .expect("adapt bridge-to-hq.conf");
        let venue = mosquitto(&bridge)?;
        let secret = d.join("ops-password");
        std::fs::write(&secret, format!("{OPERATOR_PASSWORD}\n")).unwrap();
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
        let operator = d.join("hq-ops.toml");
        // Only the [broker] section counts with --chain; a config file is how the CLI
        // gets TLS and a login.
        std::fs::write(
            &operator,
            format!(
                "[node]\nvenue = \"hq\"\nid = \"ops\"\nroles = [\"signage\"]\ndata_dir = \"{}\"\n\
                 [broker]\nurl = \"mqtts://127.0.0.1:{}\"\nca_file = \"{}\"\nusername = \"ops.hq\"\n\
                 password_file = \"{}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\n",
                path("ops-data"),
                hq.port,
                path("ca.pem"),
                secret.display()
            ),
        )
        .unwrap();
        Some(Self {
            directory,
            hq,
            venue,
            operator,
        })
    }

    fn dir(&self) -> &Path {
        self.directory.path()
    }

    /// HQ's own view of the chain, as its operator's login sees it.
    async fn hq_session(&self) -> ChainSession {
        let config = raincheck::config::load(&self.operator).expect("HQ operator config");
        let directory = self
            .operator
            .parent()
            .expect("the operator config in a directory");
        let target = BrokerTarget::of_node(&config, directory);
        ChainSession::open(target, "test")
            .await
            .expect("HQ session connects over TLS as ops.hq")
    }

    /// `raincheck incident ACTION --chain` as HQ's operator.
    fn hq_declare(&self, action: &str, extra: &[&str]) -> std::process::Output {
        let mut args = vec![
            "incident",
            action,
            "--chain",
            "--config",
            self.operator.to_str().unwrap(),
            "--timeout",
            "10",
        ];
        args.extend_from_slice(extra);
        cli(&args)
    }

    /// What the HQ broker logged, for failure messages.
    fn logs(&self) -> String {
        format!(
            "--- HQ broker log:\n{}\n--- venue broker log:\n{}",
            self.hq.log(),
            self.venue.log()
        )
    }
}

fn skip(why: &str) -> Option<Chain> {
    if std::env::var("RAINCHECK_REQUIRE_MOSQUITTO").as_deref() == Ok("1") {
        panic!("RAINCHECK_REQUIRE_MOSQUITTO=1 but {why}");
    }
    eprintln!("SKIPPED: {why}; this test needs two real brokers");
    None
}

/// A test CA and HQ's certificate for 127.0.0.1 (the bridge verifies the host name).
fn make_certificates(d: &Path) -> bool {
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap();
    let steps: [&[&str]; 3] = [
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=raincheck test HQ CA",
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    ];
    for step in steps {
        match Command::new("openssl").args(step).current_dir(d).output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "openssl {step:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(_) => return false,
        }
    }
    for file in ["server.key", "server.pem", "ca.pem"] {
        std::fs::set_permissions(d.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    true
}

/// HQ's logins: venue rialto's bridge and the operator ops.hq.
fn make_password_file(d: &Path) -> bool {
    let passwd = d.join("passwd");
    for (index, (user, password)) in [("rialto", BRIDGE_PASSWORD), ("ops.hq", OPERATOR_PASSWORD)]
        .into_iter()
        .enumerate()
    {
        let mut command = Command::new("mosquitto_passwd");
        command.arg("-b");
        if index == 0 {
            command.arg("-c");
        }
        match command.arg(&passwd).args([user, password]).status() {
            Ok(status) if status.success() => {}
            Ok(status) => panic!("mosquitto_passwd for {user} failed: {status}"),
            Err(_) => return false,
        }
    }
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).unwrap();
    true
}

fn rialto() -> Identifier {
    Identifier::parse(VENUE).unwrap()
}

/// Waits until `condition` holds for HQ's state, or fails with `what` and both logs.
async fn wait_hq(
    session: &mut ChainSession,
    chain: &Chain,
    within: Duration,
    what: &str,
    condition: impl Fn(&ChainState) -> bool,
) {
    let deadline = Instant::now() + within;
    while !condition(&session.state) {
        if !session.next_change(deadline).await {
            panic!(
                "timed out after {within:?} waiting at HQ for: {what}\nHQ sees: {}\nbridges: {:?}\n{}",
                session.confirmations().headline(),
                session.state.bridges,
                chain.logs()
            );
        }
    }
}

/// HQ hears all of rialto's screens, and rialto's bridge says it is up.
fn hq_hears_every_screen(state: &ChainState) -> bool {
    state.bridges.get(&rialto()) == Some(&true)
        && state
            .venues
            .get(&rialto())
            .is_some_and(|venue| venue.displays.len() == SCREENS.len())
}

/// The venue's view is HQ's declaration at `revision`, confirmed by every screen.
fn shows_chain<'a>(
    revision: u64,
    screens: &'a [&'a str],
) -> impl Fn(&raincheck::model::VenueState) -> bool + 'a {
    move |state| {
        let view = compute_view(state);
        view.scope == Some(Scope::Chain)
            && view.revision == revision
            && all_confirmed(screens)(state)
    }
}

async fn screens_up(chain: &Chain) -> (Vec<NodeProcess>, BusSession, ChainSession) {
    let screens = start_nodes(chain.dir(), &SCREENS, &chain.venue.url());
    let mut venue = observer(&chain.venue.url()).await;
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "every screen reports on the venue broker",
        all_confirmed(&SCREENS),
    )
    .await;
    let mut hq = chain.hq_session().await;
    wait_hq(
        &mut hq,
        chain,
        Duration::from_secs(20),
        "rialto's bridge is up and its three screens' reports came up",
        hq_hears_every_screen,
    )
    .await;
    (screens, venue, hq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_incident_reaches_every_screen_and_the_venue_manager_keeps_precedence() {
    let Some(chain) = Chain::start() else {
        return;
    };
    let (_screens, mut venue, mut hq) = screens_up(&chain).await;

    // (a) HQ declares on its own broker; every venue screen shows it, and HQ sees the
    // confirmations come up the bridge.
    let output = chain.hq_declare(
        "start",
        &[
            "--headline",
            "Card payments are down nationally",
            "--wait",
            "20",
        ],
    );
    let out = stdout_of(&output);
    assert!(
        output.status.success(),
        "chain start failed: {}\n{out}\n{}",
        stderr_of(&output),
        chain.logs()
    );
    assert!(out.contains("declared chain-wide incident"), "{out}");
    assert!(out.contains("3 of 3 screens in 1 venue show it"), "{out}");
    let chain_revision = printed_revision(&out);
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "every rialto screen shows HQ's chain incident",
        shows_chain(chain_revision, &SCREENS),
    )
    .await;
    let view = venue.view();
    assert_eq!(view.mode, ViewMode::CashOnly);
    assert_eq!(
        view.texts.headline.as_deref(),
        Some("Card payments are down nationally")
    );
    let chain_incident = view.incident_id.clone().expect("an incident id");
    wait_hq(
        &mut hq,
        &chain,
        Duration::from_secs(20),
        "HQ sees all three screens confirm its declaration",
        |state| state.confirmations().count(Standing::Confirmed) == SCREENS.len(),
    )
    .await;

    // The retain flag survived the bridge: a session and a screen that connect now
    // converge from the venue broker's retained set alone.
    let fresh = observer(&chain.venue.url()).await;
    assert_eq!(
        fresh.view().scope,
        Some(Scope::Chain),
        "retained at the venue"
    );
    assert_eq!(fresh.view().revision, chain_revision);
    fresh.close().await;
    let _late = NodeProcess::start(chain.dir(), "lobby-late", &chain.venue.url());
    let with_late = ["lobby-1", "lobby-2", "bar", "lobby-late"];
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "a screen started after the declaration shows it too",
        shows_chain(chain_revision, &with_late),
    )
    .await;

    // (b) The venue manager's own declaration stays in force for this venue.
    let (out, own_revision) = declare_and_confirm(
        &mut venue,
        &chain.venue.url(),
        "start",
        &[
            "--headline",
            "Rialto: cash only, the bar takes cards again at 9",
        ],
        &with_late,
        "every screen shows the venue manager's own declaration",
    )
    .await;
    assert!(out.contains("declared incident"), "{out}");
    let view = venue.view();
    assert_eq!(view.scope, Some(Scope::Venue));
    assert_eq!(view.revision, own_revision);
    assert_eq!(
        view.texts.headline.as_deref(),
        Some("Rialto: cash only, the bar takes cards again at 9")
    );

    // HQ updates its incident: it reaches the venue, which keeps its own declaration,
    // and HQ's --wait says screens show something else instead of claiming success.
    let output = chain.hq_declare(
        "update",
        &["--body", "Our processor is working on it", "--wait", "3"],
    );
    let out = stdout_of(&output);
    assert_eq!(output.status.code(), Some(3), "{out}{}", stderr_of(&output));
    assert!(out.contains("showing something else"), "{out}");
    assert!(out.contains("rialto 4"), "{out}");
    let update_revision = printed_revision(&out);
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "HQ's update reaches the venue broker",
        |state| {
            state
                .declarations
                .get(&(Scope::Chain, Identifier::parse("hq").unwrap()))
                .is_some_and(|d| d.revision == update_revision)
        },
    )
    .await;
    assert_eq!(
        venue.view().scope,
        Some(Scope::Venue),
        "the venue's own stays"
    );
    assert!(all_confirmed(&with_late)(&venue.state));

    // The venue manager resolves: all clear in this venue, which answers for HQ's
    // incident (supersedes) while HQ's incident stays active at HQ.
    declare_and_confirm(
        &mut venue,
        &chain.venue.url(),
        "resolve",
        &[],
        &with_late,
        "every screen shows all clear after the venue's resolve",
    )
    .await;
    let view = venue.view();
    assert_eq!(view.mode, ViewMode::AllClear);
    assert_eq!(view.scope, Some(Scope::Venue));
    let resolve = venue
        .state
        .declarations
        .get(&(Scope::Venue, Identifier::parse("cli").unwrap()))
        .expect("the venue's resolve");
    assert_eq!(resolve.supersedes, vec![chain_incident.clone()]);
    let hq_declaration = venue
        .state
        .declarations
        .get(&(Scope::Chain, Identifier::parse("hq").unwrap()))
        .expect("HQ's declaration at the venue");
    assert_eq!(hq_declaration.state, DeclarationState::Active);
    let at_hq = chain.hq_session().await;
    assert_eq!(
        at_hq.state.view().mode,
        ViewMode::CashOnly,
        "HQ's stays active"
    );
    assert_eq!(at_hq.state.view().incident_id, Some(chain_incident));
    at_hq.close().await;

    venue.close().await;
    hq.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_venue_stays_whole_without_hq_and_the_bridge_comes_back() {
    let Some(mut chain) = Chain::start() else {
        return;
    };
    let (_screens, mut venue, mut hq) = screens_up(&chain).await;

    // (c) The bridge is cut: HQ's broker dies. The venue declares and resolves on its
    // own, and every screen confirms each step.
    chain.hq.kill();
    let venue_url = chain.venue.url();
    let (out, _) = declare(
        &venue_url,
        "start",
        &["--headline", "Cash only tonight", "--wait", "10"],
    );
    assert!(out.contains("3 of 3 screens confirmed"), "{out}");
    let (out, resolve_revision) = declare(&venue_url, "resolve", &["--wait", "10"]);
    assert!(out.contains("3 of 3 screens cleared"), "{out}");
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "every screen shows the venue's all clear, with HQ gone",
        confirmed_after(&SCREENS, resolve_revision),
    )
    .await;
    assert_eq!(venue.view().mode, ViewMode::AllClear);

    // (d) HQ comes back on the same port. The bridge reconnects on its own backoff
    // (restart_timeout, as shipped); nothing outside can await that, so poll HQ's state
    // until the screens' reports from the outage have come up.
    chain.hq.restart().expect("restart the HQ broker");
    wait_hq(
        &mut hq,
        &chain,
        Duration::from_secs(120),
        "rialto's bridge reconnects and its screens' current reports reach HQ",
        |state| {
            state.venues.get(&rialto()).is_some_and(|venue| {
                venue.displays.len() == SCREENS.len()
                    && venue
                        .displays
                        .values()
                        .all(|r| r.revision >= Some(resolve_revision))
            })
        },
    )
    .await;
    let output = chain.hq_declare(
        "start",
        &["--headline", "A second national outage", "--wait", "20"],
    );
    let out = stdout_of(&output);
    assert!(
        output.status.success(),
        "chain start after HQ's return failed: {}\n{out}\n{}",
        stderr_of(&output),
        chain.logs()
    );
    assert!(out.contains("3 of 3 screens in 1 venue show it"), "{out}");
    let chain_revision = printed_revision(&out);
    assert!(
        chain_revision > resolve_revision,
        "HQ orders its declaration after what the venue's screens show"
    );
    wait_for(
        &mut venue,
        Duration::from_secs(20),
        "every screen shows HQ's new incident after the bridge came back",
        shows_chain(chain_revision, &SCREENS),
    )
    .await;
    assert_eq!(
        venue.view().texts.headline.as_deref(),
        Some("A second national outage")
    );
    venue.close().await;
    hq.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_venue_login_at_hq_reaches_only_its_own_topics() {
    let Some(chain) = Chain::start() else {
        return;
    };
    let d = chain.dir();
    let publish = |topic: &str, payload: &str| {
        Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &chain.hq.port.to_string()])
            .arg("--cafile")
            .arg(d.join("ca.pem"))
            .args(["-u", "rialto", "-P", BRIDGE_PASSWORD, "-q", "1", "-r"])
            .args(["-t", topic, "-m", payload])
            .status()
    };
    let report =
        r#"{"v":1,"node":"lobby-1","status":"online","revision":99,"digest":"0000000000000000"}"#;
    let declaration = r#"{"v":1,"source":"evil","authority":"manager","revision":99,"incident_id":"fake","state":"active","mode":"cash_only","texts":{},"started_at":"2026-11-22T19:42:00Z","declared_at":"2026-11-22T19:42:00Z"}"#;
    for (topic, payload) in [
        ("raincheck/v1/odeon/displays/lobby-1", report),
        ("raincheck/v1/_chain/incident/evil", declaration),
        ("raincheck/v1/odeon/bridge/hq", "1"),
    ] {
        match publish(topic, payload) {
            // Mosquitto acknowledges a denied publish and drops it: only what HQ holds
            // afterwards tells.
            Ok(status) if status.success() => {}
            Ok(status) => panic!("mosquitto_pub to {topic} failed: {status}"),
            Err(_) => {
                skip("mosquitto_pub is not installed");
                return;
            }
        }
    }
    // Allowed for this login: its own venue's report, the control that the login works.
    publish(
        "raincheck/v1/rialto/displays/probe",
        report.replace("lobby-1", "probe").as_str(),
    )
    .expect("mosquitto_pub");
    let mut hq = chain.hq_session().await;
    wait_hq(
        &mut hq,
        &chain,
        Duration::from_secs(10),
        "rialto's own report, written with its login, is at HQ",
        |state| {
            state
                .venues
                .get(&rialto())
                .is_some_and(|v| !v.displays.is_empty())
        },
    )
    .await;
    let odeon = Identifier::parse("odeon").unwrap();
    assert!(
        !hq.state.venues.contains_key(&odeon),
        "no other venue's reports"
    );
    assert!(
        !hq.state.bridges.contains_key(&odeon),
        "no other venue's bridge state"
    );
    assert!(
        hq.state.declarations.declarations.is_empty(),
        "a venue cannot declare chain-wide"
    );
    hq.close().await;

    // The CLI says so too: declaring chain-wide with a venue's login is refused.
    let as_venue = d.join("as-venue.toml");
    std::fs::write(
        &as_venue,
        std::fs::read_to_string(&chain.operator)
            .unwrap()
            .replace("ops.hq", "rialto")
            .replace(
                &d.join("ops-password").display().to_string(),
                &d.join("venue-password").display().to_string(),
            ),
    )
    .unwrap();
    std::fs::write(d.join("venue-password"), format!("{BRIDGE_PASSWORD}\n")).unwrap();
    std::fs::set_permissions(
        d.join("venue-password"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let output = cli(&[
        "incident",
        "start",
        "--chain",
        "--config",
        as_venue.to_str().unwrap(),
        "--timeout",
        "3",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout_of(&output));
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains("raincheck/v1/_chain/sync/")
            && stderr.contains("may publish and subscribe"),
        "{stderr}"
    );
}
