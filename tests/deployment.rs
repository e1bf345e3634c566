//! The shipped deployment files work as shipped. Both systemd units pass
//! `systemd-analyze verify` (copied with only the binary's path pointed at the freshly built
//! raincheck, since verify checks that it exists) and stay well hardened by
//! `systemd-analyze security`; the Mosquitto drop-in merges into Debian's mosquitto.service
//! and its settings are the effective ones. And config/mosquitto/venue.conf, installed into a
//! broker config shaped like Debian's (certificates made with openssl, passwords with
//! mosquitto_passwd, the shipped ACL, only paths and ports rewritten), starts both
//! listeners, refuses anonymous clients, carries a node on the plain port and a technician
//! over TLS, and keeps a retained declaration across a hard kill of the broker.
//!
//! `systemd-analyze` works without systemd running as PID 1 (it only parses and loads unit
//! files); the systemd tests skip, saying why, when it is not installed, unless
//! RAINCHECK_REQUIRE_SYSTEMD=1. The broker test skips likewise without Mosquitto, unless
//! RAINCHECK_REQUIRE_MOSQUITTO=1.

mod common;

use common::broker::*;
use common::*;
use raincheck::model::{compute_view, ViewMode};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const UNITS: &[&str] = &["raincheck.service", "raincheck-kiosk.service"];
/// Where the units expect the binary (docs/DEPLOY.md installs it there).
const INSTALLED_BINARY: &str = "/usr/local/bin/raincheck";

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `true` when `systemd-analyze` can run here; otherwise says why the test is skipped
/// (or fails, under RAINCHECK_REQUIRE_SYSTEMD=1).
fn systemd_analyze_present() -> bool {
    let present = Command::new("systemd-analyze")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !present {
        assert_ne!(
            std::env::var("RAINCHECK_REQUIRE_SYSTEMD").as_deref(),
            Ok("1"),
            "RAINCHECK_REQUIRE_SYSTEMD=1 but systemd-analyze is not installed (apt-get install systemd)"
        );
        eprintln!("SKIPPED: systemd-analyze is not installed (apt-get install systemd); it checks the shipped units");
    }
    present
}

fn systemd_analyze(args: &[&str], directory: &Path, debug: bool) -> Output {
    let mut command = Command::new("systemd-analyze");
    command.args(args).current_dir(directory);
    // Pinned, so a developer's environment cannot change what is printed.
    command.env("SYSTEMD_LOG_LEVEL", if debug { "debug" } else { "notice" });
    command.output().expect("run systemd-analyze")
}

/// The shipped unit with the binary's path pointed at this build, and nothing else changed.
fn unit_for_this_build(unit: &str) -> String {
    let shipped = std::fs::read_to_string(repository().join("systemd").join(unit)).unwrap();
    let executable_lines = shipped
        .lines()
        .filter(|line| line.starts_with("ExecStart") && line.contains(INSTALLED_BINARY))
        .count();
    assert_eq!(
        executable_lines, 2,
        "{unit} should run {INSTALLED_BINARY} in ExecStartPre (check-config) and ExecStart"
    );
    shipped.replace(INSTALLED_BINARY, binary())
}

/// Lines of systemd-analyze's output that speak of `names`; systemd's own units on this
/// machine may have warnings of their own, which are not ours to fail on.
fn complaints_about(output: &Output, names: &[&str]) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .chain(String::from_utf8_lossy(&output.stdout).lines())
        .filter(|line| names.iter().any(|name| line.contains(name)))
        .map(str::to_owned)
        .collect()
}

#[test]
fn both_units_pass_systemd_analyze_verify() {
    if !systemd_analyze_present() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for unit in UNITS {
        let path = directory.path().join(unit);
        std::fs::write(&path, unit_for_this_build(unit)).unwrap();
        paths.push(path.to_str().unwrap().to_owned());
    }
    let mut args = vec!["verify", "--man=no"];
    args.extend(paths.iter().map(String::as_str));
    let output = systemd_analyze(&args, directory.path(), false);
    // verify exits 0 on unknown keys and unparsable values (it ignores them, as systemd
    // would), so any line naming our units is a failure too.
    let complaints = complaints_about(&output, UNITS);
    assert!(
        output.status.success() && complaints.is_empty(),
        "systemd-analyze verify failed (exit {:?}):\n{}\n{}",
        output.status.code(),
        complaints.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );

    // The settings the issue asks for are the effective ones (systemd's unit dump).
    let dump = dump_of(&systemd_analyze(&args, directory.path(), true));
    for unit in UNITS {
        let section = unit_dump(&dump, unit);
        for setting in [
            "Type: notify",
            "NotifyAccess: main",
            "WatchdogSec: 30s",
            "Restart: always",
            "RestartSec: 2s",
            "User: raincheck",
            "StateDirectory: raincheck",
            "ConfigurationDirectory: raincheck",
            "ProtectSystem: strict",
            "ProtectHome: yes",
            "PrivateTmp: yes",
            "ProtectKernelTunables: yes",
            "ProtectControlGroups: yes",
            "LockPersonality: yes",
            "SystemCallArchitectures: native",
            "UMask: 0077",
            "CapabilityBoundingSet: \n",
        ] {
            assert!(
                section.contains(setting),
                "{unit}: expected {setting:?} in systemd's view of the unit:\n{section}"
            );
        }
    }
    let kiosk = unit_dump(&dump, "raincheck-kiosk.service");
    for setting in [
        "Conflicts: getty@tty1.service",
        "TTYPath: /dev/tty1",
        "SupplementaryGroups: video input",
        "PrivateDevices: no",
        "DevicePolicy: closed",
        "DeviceAllow: char-drm rw",
        "DeviceAllow: char-input rw",
    ] {
        assert!(
            kiosk.contains(setting),
            "kiosk: expected {setting:?} in systemd's view of the unit:\n{kiosk}"
        );
    }
}

/// Everything a debug-level run printed (the unit dumps go to the log, on stderr).
fn dump_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned() + &String::from_utf8_lossy(&output.stdout)
}

/// systemd's dump of one unit: from its "-> Unit NAME:" header to the next unit's.
fn unit_dump<'a>(dump: &'a str, unit: &str) -> &'a str {
    let header = format!("-> Unit {unit}:");
    let start = dump
        .find(&header)
        .unwrap_or_else(|| panic!("systemd-analyze printed no dump of {unit}"));
    let rest = &dump[start + header.len()..];
    let end = rest.find("-> Unit ").unwrap_or(rest.len());
    // Dumps of the service's exec context and devices follow the unit's header in one block.
    &dump[start..start + header.len() + end]
}

#[test]
fn both_units_stay_hardened() {
    if !systemd_analyze_present() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    // systemd's exposure score, 0 (locked down) to 10 (UNSAFE), times ten. The headless node
    // scores about 1.1 and the kiosk about 1.6 (it needs devices and real groups); these
    // thresholds catch a sandbox setting lost along the way.
    for (unit, threshold) in [
        ("raincheck.service", "15"),
        ("raincheck-kiosk.service", "20"),
    ] {
        let path = directory.path().join(unit);
        std::fs::write(&path, unit_for_this_build(unit)).unwrap();
        let threshold = format!("--threshold={threshold}");
        let output = systemd_analyze(
            &[
                "security",
                "--offline=yes",
                &threshold,
                "--no-pager",
                path.to_str().unwrap(),
            ],
            directory.path(),
            false,
        );
        assert!(
            output.status.success(),
            "{unit} is exposed beyond {threshold}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn the_mosquitto_drop_in_merges_into_debians_unit() {
    if !systemd_analyze_present() {
        return;
    }
    let Some(debian_unit) = [
        "/lib/systemd/system/mosquitto.service",
        "/usr/lib/systemd/system/mosquitto.service",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.is_file()) else {
        assert_ne!(
            std::env::var("RAINCHECK_REQUIRE_MOSQUITTO").as_deref(),
            Ok("1"),
            "RAINCHECK_REQUIRE_MOSQUITTO=1 but Debian's mosquitto.service is not installed"
        );
        eprintln!("SKIPPED: mosquitto.service is not installed (apt-get install mosquitto); the drop-in extends it");
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let unit = directory.path().join("mosquitto.service");
    std::fs::copy(&debian_unit, &unit).unwrap();
    let drop_ins = directory.path().join("mosquitto.service.d");
    std::fs::create_dir(&drop_ins).unwrap();
    let drop_in = drop_ins.join("raincheck.conf");
    std::fs::copy(
        repository().join("systemd/mosquitto-raincheck.conf"),
        &drop_in,
    )
    .unwrap();

    let args = ["verify", "--man=no", unit.to_str().unwrap()];
    let output = systemd_analyze(&args, directory.path(), false);
    let complaints = complaints_about(&output, &["raincheck.conf", "mosquitto.service"]);
    assert!(
        output.status.success() && complaints.is_empty(),
        "mosquitto.service with the drop-in fails verification:\n{}\n{}",
        complaints.join("\n"),
        String::from_utf8_lossy(&output.stderr)
    );
    let dump = dump_of(&systemd_analyze(&args, directory.path(), true));
    let section = unit_dump(&dump, "mosquitto.service");
    for setting in [
        format!("DropIn Path: {}", drop_in.display()),
        "Restart: always".to_owned(),
        "LimitNOFILE: 65536".to_owned(),
        "ProtectHome: yes".to_owned(),
    ] {
        assert!(
            section.contains(&setting),
            "expected {setting:?} in systemd's view of mosquitto.service:\n{section}"
        );
    }
}

/// The shipped venue.conf with its paths moved under `directory` and its two listeners on
/// `plain` and `tls`; every other line as shipped.
fn venue_conf_for_test(directory: &Path, plain: u16, tls: u16) -> String {
    let shipped =
        std::fs::read_to_string(repository().join("config/mosquitto/venue.conf")).unwrap();
    let mut listeners = 0;
    let rewritten: Vec<String> = shipped
        .lines()
        .map(|line| match line.trim() {
            "listener 1883" => {
                listeners += 1;
                format!("listener {plain}")
            }
            "listener 8883" => {
                listeners += 1;
                format!("listener {tls}")
            }
            _ => line
                .replace(
                    "/etc/mosquitto/certs/",
                    &format!("{}/certs/", directory.display()),
                )
                .replace("/etc/mosquitto/", &format!("{}/", directory.display())),
        })
        .collect();
    assert_eq!(
        listeners, 2,
        "venue.conf should have `listener 1883` and `listener 8883`"
    );
    let leftovers: Vec<&String> = rewritten
        .iter()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains("/etc/"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "paths the test did not move: {leftovers:?}"
    );
    rewritten.join("\n") + "\n"
}

fn wait_listening(port: u16, broker: &mut KillOnDrop, log: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    while std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
        if let Ok(Some(status)) = broker.0.try_wait() {
            panic!(
                "mosquitto exited ({status}) with the shipped venue.conf:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not listen on {port} within 10 s:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn start_broker(main_conf: &Path, log: &Path, ports: [u16; 2]) -> KillOnDrop {
    let binary = raincheck::mosquitto::MosquittoProcess::binary().expect("mosquitto");
    let stderr = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let mut broker = KillOnDrop(
        Command::new(binary)
            .arg("-c")
            .arg(main_conf)
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start mosquitto"),
    );
    for port in ports {
        wait_listening(port, &mut broker, log);
    }
    broker
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_venue_broker_config_starts_and_keeps_declarations() {
    if raincheck::mosquitto::MosquittoProcess::binary().is_none() {
        // The same skip (or failure under RAINCHECK_REQUIRE_MOSQUITTO=1) as every broker test.
        assert!(mosquitto("").is_none());
        return;
    }
    let directory = directory_readable_by_mosquitto();
    let d = directory.path();
    // Named as venue.conf expects.
    let certs = d.join("certs");
    std::fs::create_dir(&certs).unwrap();
    let Some(certificates) =
        make_test_certificates(&certs, "venue-ca", "broker", "/CN=raincheck test venue CA")
    else {
        return;
    };
    let passwd = d.join("raincheck.passwd");
    if mosquitto_password_file(&passwd, &[("lobby-1", "pw-lobby-1"), ("cli", "pw-cli")]).is_none() {
        return;
    }
    std::fs::copy(
        repository().join("config/mosquitto/raincheck.acl"),
        d.join("raincheck.acl"),
    )
    .unwrap();
    std::fs::set_permissions(
        d.join("raincheck.acl"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();

    let plain = raincheck::mosquitto::free_port().unwrap();
    let tls = raincheck::mosquitto::free_port().unwrap();
    let conf_d = d.join("conf.d");
    std::fs::create_dir(&conf_d).unwrap();
    std::fs::write(
        conf_d.join("raincheck.conf"),
        venue_conf_for_test(d, plain, tls),
    )
    .unwrap();
    // Debian's /etc/mosquitto/mosquitto.conf, which includes conf.d: the shipped file must
    // not repeat what it sets. Its pid_file is left out and its log goes to a file of ours.
    let database = d.join("db");
    std::fs::create_dir(&database).unwrap();
    // The mosquitto user must be able to write the database.
    std::fs::set_permissions(&database, std::fs::Permissions::from_mode(0o777)).unwrap();
    let main_conf = d.join("mosquitto.conf");
    std::fs::write(
        &main_conf,
        format!(
            "persistence true\npersistence_location {}/\n\nlog_dest stderr\n\ninclude_dir {}\n",
            database.display(),
            conf_d.display()
        ),
    )
    .unwrap();
    let log = d.join("mosquitto.log");
    let mut broker = start_broker(&main_conf, &log, [plain, tls]);
    let started = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        !started.contains("Error"),
        "mosquitto complains about the shipped config:\n{started}"
    );

    // A screen and a technician's CLI on the plain listener; an observer over TLS with the
    // venue CA. (The observer runs in this process: the debug raincheck binary that tests
    // build cannot speak TLS, see the comment at the provider below.)
    let broker_section = |user: &str, url: String, extra: &str| {
        let secret = private_password_file(d, &format!("{user}.password"), &format!("pw-{user}"));
        logged_in_broker_section(&url, extra, user, &secret)
    };
    let plain_url = format!("mqtt://127.0.0.1:{plain}");
    let tls_url = format!("mqtts://127.0.0.1:{tls}");
    let venue_ca = format!("ca_file = \"{}\"\n", certificates.ca.display());
    let lobby = write_config(
        d,
        "lobby-1",
        &broker_section("lobby-1", plain_url.clone(), ""),
    );
    let technician = write_config(d, "cli", &broker_section("cli", plain_url.clone(), ""));
    let observer_config = {
        let directory = d.join("observer");
        std::fs::create_dir(&directory).unwrap();
        write_config(
            &directory,
            "cli",
            &broker_section("cli", tls_url.clone(), &venue_ca),
        )
    };
    let _screen = NodeProcess::start_with("lobby-1", lobby);
    // Test builds link rustls with two crypto providers (the dev-dependency reqwest brings
    // ring next to raincheck's aws-lc-rs), so rustls cannot pick one by itself: a release
    // build has only aws-lc-rs and needs no such line.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut observer = session_from_config(observer_config.clone(), 10)
        .await
        .expect("the observer connects over TLS with the venue CA and its password");
    wait_for(
        &mut observer,
        Duration::from_secs(20),
        "the screen reports through the plain listener",
        all_confirmed(&["lobby-1"]),
    )
    .await;
    observer.close().await;

    let anonymous = cli(&[
        "status",
        "--broker",
        &plain_url,
        "--venue",
        VENUE,
        "--timeout",
        "1",
    ]);
    assert_eq!(
        anonymous.status.code(),
        Some(1),
        "the plain listener refuses anonymous clients"
    );
    let anonymous_tls = write_config(
        d,
        "anonymous",
        &format!("[broker]\nurl = \"{tls_url}\"\n{venue_ca}"),
    );
    // A refused client retries until its timeout: one second is plenty on loopback.
    match session_from_config(anonymous_tls, 1).await {
        Ok(_) => panic!("the TLS listener let an anonymous client in"),
        Err(error) => assert!(
            error.to_string().contains("NotAuthorized"),
            "refused for being anonymous, not for TLS: {error}"
        ),
    }

    let output = cli(&[
        "incident",
        "start",
        "--config",
        technician.to_str().unwrap(),
        "--headline",
        "Cash only: card terminals are down",
        "--wait",
        "10",
    ]);
    assert!(
        output.status.success(),
        "the technician declares: {}",
        stderr_of(&output)
    );
    assert!(
        stdout_of(&output).contains("1 of 1 screen confirmed"),
        "{}",
        stdout_of(&output)
    );
    let incident = stdout_of(&output)
        .split_whitespace()
        .find(|word| word.starts_with("inc-"))
        .expect("an incident id")
        .to_owned();

    // autosave_on_changes: the database on disk holds the declaration soon after it is made.
    let saved = database.join("mosquitto.db");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read(&saved).is_ok_and(|bytes| {
        bytes
            .windows(incident.len())
            .any(|w| w == incident.as_bytes())
    }) {
        assert!(
            std::time::Instant::now() < deadline,
            "mosquitto did not save the declaration to {} within 10 s",
            saved.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGKILL: nothing is flushed on the way out; only what was saved survives.
    drop(broker);
    broker = start_broker(&main_conf, &log, [plain, tls]);

    let mut observer = session_from_config(observer_config, 10)
        .await
        .expect("the observer reconnects over TLS");
    let view = compute_view(&observer.state);
    assert_eq!(
        (
            view.mode,
            view.incident_id.as_ref().map(ToString::to_string)
        ),
        (ViewMode::CashOnly, Some(incident.clone())),
        "the declaration survived the broker's hard restart"
    );
    wait_for(
        &mut observer,
        Duration::from_secs(20),
        "the screen reconnects and shows the same",
        all_confirmed(&["lobby-1"]),
    )
    .await;
    observer.close().await;
    drop(broker);
}
