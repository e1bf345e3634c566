//! The shipped deployment files work as shipped. Every systemd unit passes
//! `systemd-analyze verify` (copied with only the binary's path pointed at the freshly built
//! raincheck, since verify checks that it exists) and stays well hardened by
//! `systemd-analyze security`; the cage units' own command line, run under a headless cage
//! with the environment systemd gives it, gets READY=1 and watchdog pings from the node and
//! stops with cage exiting cleanly; the Debian package (Cargo.toml's
//! `[package.metadata.deb]`) ships every unit, example and broker file and starts nothing;
//! the Mosquitto drop-in merges into Debian's mosquitto.service and its settings are the
//! effective ones. And config/mosquitto/venue.conf, installed into a broker config shaped
//! like Debian's (certificates made with openssl, passwords with mosquitto_passwd, the
//! shipped ACL, only paths and ports rewritten), starts both listeners, refuses anonymous
//! clients, carries a node on the plain port and a technician over TLS, and keeps a retained
//! declaration across a hard kill of the broker. (Installing, upgrading and purging the
//! package needs root and dpkg: .ci/package does it.)
//!
//! `systemd-analyze` works without systemd running as PID 1 (it only parses and loads unit
//! files); the systemd tests skip, saying why, when it is not installed, unless
//! RAINCHECK_REQUIRE_SYSTEMD=1. The cage test skips likewise without cage, unless
//! RAINCHECK_REQUIRE_CAGE=1, and the broker test without Mosquitto, unless
//! RAINCHECK_REQUIRE_MOSQUITTO=1.

mod common;

use common::broker::*;
use common::*;
use raincheck::model::{compute_view, ViewMode};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const UNITS: &[&str] = &[
    "raincheck.service",
    "raincheck-kiosk.service",
    "raincheck-signage.service",
    "raincheck-counter.service",
];
/// The units that run the node under cage on tty1.
const CAGE_UNITS: &[&str] = &["raincheck-signage.service", "raincheck-counter.service"];
/// Where the units expect the binary (the Debian package installs it there).
const INSTALLED_BINARY: &str = "/usr/bin/raincheck";
/// Where Debian's cage package installs cage.
const CAGE: &str = "/usr/bin/cage";

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
    let for_this_build = shipped.replace(INSTALLED_BINARY, binary());
    if for_this_build.contains(CAGE) && !Path::new(CAGE).is_file() {
        // verify checks that every command exists; the unit's own settings are what it
        // checks here, so any executable stands in for a missing cage.
        eprintln!("note: {CAGE} is not installed (apt-get install cage); verifying {unit} with /bin/sh in its place");
        return for_this_build.replace(CAGE, "/bin/sh");
    }
    for_this_build
}

/// The values of every `key=` line of a unit file, in order (no section tracking: every key
/// the tests read lives in one section).
fn unit_values(unit_text: &str, key: &str) -> Vec<String> {
    let prefix = format!("{key}=");
    unit_text
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
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
fn every_unit_passes_systemd_analyze_verify() {
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
            "WatchdogSec: 30s",
            "Restart: always",
            "RestartSec: 2s",
            "User: raincheck",
            "StateDirectory: raincheck",
            "ConfigurationDirectory: raincheck",
            "ProtectSystem: strict",
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
    let headless = unit_dump(&dump, "raincheck.service");
    for setting in [
        "NotifyAccess: main",
        "ProtectHome: yes",
        "PrivateDevices: yes",
        "PrivateUsers: yes",
    ] {
        assert!(
            headless.contains(setting),
            "raincheck.service: expected {setting:?} in systemd's view of the unit:\n{headless}"
        );
    }
    let kiosk = unit_dump(&dump, "raincheck-kiosk.service");
    for setting in [
        "NotifyAccess: main",
        "ProtectHome: yes",
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
    // The cage units: cage's recipe for a logind session on tty1, the node (cage's child)
    // feeding the watchdog, and the devices of a screen.
    let cage = if Path::new(CAGE).is_file() {
        CAGE
    } else {
        "/bin/sh"
    };
    for unit in CAGE_UNITS {
        let section = unit_dump(&dump, unit);
        for setting in [
            "NotifyAccess: all".to_owned(),
            "UnsetEnvironment: WATCHDOG_PID".to_owned(),
            "PAMName: login".to_owned(),
            "TTYPath: /dev/tty1".to_owned(),
            "StandardInput: tty-fail".to_owned(),
            "UtmpIdentifier: tty1".to_owned(),
            "Conflicts: getty@tty1.service".to_owned(),
            "Conflicts: raincheck.service".to_owned(),
            "After: systemd-user-sessions.service".to_owned(),
            "Wants: systemd-logind.service".to_owned(),
            "ReadWritePaths: /run/user".to_owned(),
            // Homes hidden without ProtectHome= (which would hide /run/user too).
            "InaccessiblePaths: -/home -/root".to_owned(),
            "PrivateDevices: no".to_owned(),
            "DevicePolicy: closed".to_owned(),
            "DeviceAllow: char-drm rw".to_owned(),
            "DeviceAllow: char-input rw".to_owned(),
            "Environment: WLR_LIBINPUT_NO_DEVICES=1".to_owned(),
            format!(
                "Command Line: {cage} -d -- {} run --config /etc/raincheck/node.toml",
                binary()
            ),
        ] {
            assert!(
                section.contains(&setting),
                "{unit}: expected {setting:?} in systemd's view of the unit:\n{section}"
            );
        }
    }
    // The counter's receipt printer, and nothing of it on a lobby screen.
    let counter = unit_dump(&dump, "raincheck-counter.service");
    let signage = unit_dump(&dump, "raincheck-signage.service");
    for setting in ["SupplementaryGroups: lp", "DeviceAllow: char-usb rw"] {
        assert!(
            counter.contains(setting),
            "counter: expected {setting:?} in systemd's view of the unit:\n{counter}"
        );
        assert!(
            !signage.contains(setting),
            "signage must not get the counter's printer access ({setting:?}):\n{signage}"
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
fn every_unit_stays_hardened() {
    if !systemd_analyze_present() {
        return;
    }
    let directory = tempfile::tempdir().unwrap();
    // systemd's exposure score, 0 (locked down) to 10 (UNSAFE), times ten. The headless node
    // scores about 1.1 and the kiosk about 1.5 (it needs devices and real groups); the cage
    // units about 1.8 (signage) and 1.9 (counter: the lp group and USB printers), since a
    // compositor also needs writable-executable memory for Mesa and a writable /run/user.
    // These thresholds catch a sandbox setting lost along the way.
    for (unit, threshold) in [
        ("raincheck.service", "15"),
        ("raincheck-kiosk.service", "20"),
        ("raincheck-signage.service", "20"),
        ("raincheck-counter.service", "20"),
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

/// `true` when cage is installed; otherwise says why the test is skipped (or fails, under
/// RAINCHECK_REQUIRE_CAGE=1).
fn cage_present() -> bool {
    let present = Path::new(CAGE).is_file();
    if !present {
        assert_ne!(
            std::env::var("RAINCHECK_REQUIRE_CAGE").as_deref(),
            Ok("1"),
            "RAINCHECK_REQUIRE_CAGE=1 but {CAGE} is not installed (apt-get install cage)"
        );
        eprintln!("SKIPPED: cage is not installed (apt-get install cage); the screen units run the node under it");
    }
    present
}

/// The process group of a command started with `process_group(0)`, killed on drop: cage and
/// the node it started, whatever happened to the test.
struct KillGroupOnDrop(std::process::Child);

impl Drop for KillGroupOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

fn next_notification(socket: &std::os::unix::net::UnixDatagram, log: &Path) -> String {
    let mut buffer = [0u8; 256];
    match socket.recv(&mut buffer) {
        Ok(read) => String::from_utf8_lossy(&buffer[..read]).into_owned(),
        Err(error) => panic!(
            "no notification from the node under cage ({error}); its log:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        ),
    }
}

#[test]
fn the_cage_units_run_the_node_under_cage_feed_the_watchdog_and_stop_cleanly() {
    if !cage_present() {
        return;
    }
    let shipped: Vec<String> = CAGE_UNITS
        .iter()
        .map(|unit| std::fs::read_to_string(repository().join("systemd").join(unit)).unwrap())
        .collect();
    // Both units start and stop the node alike: checking one checks both.
    for key in ["ExecStart", "ExecStop", "Environment", "UnsetEnvironment"] {
        assert_eq!(
            unit_values(&shipped[0], key),
            unit_values(&shipped[1], key),
            "{key}= differs between {CAGE_UNITS:?}"
        );
    }
    let unit = &shipped[0];
    let [exec_start] = &unit_values(unit, "ExecStart")[..] else {
        panic!("expected one ExecStart= in {}", CAGE_UNITS[0]);
    };
    let [exec_stop] = &unit_values(unit, "ExecStop")[..] else {
        panic!("expected one ExecStop= in {}", CAGE_UNITS[0]);
    };

    // Files the node, running as nobody when the test runs as root (cage refuses root),
    // can read (the config) and write (its data, the runtime directory, the socket).
    let directory = tempfile::tempdir().unwrap();
    let d = directory.path();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = write_config(
        d,
        "lobby-1",
        "[broker]\nurl = \"mqtt://127.0.0.1:9\"\nreconnect_max_ms = 500\n[display]\nbackend = \"winit\"\n",
    );
    let runtime = d.join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket_path = d.join("notify");
    let socket = std::os::unix::net::UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o777)).unwrap();
    let as_root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
    const NOBODY: u32 = 65534;
    if as_root {
        for path in [d.join("lobby-1-data"), runtime.clone()] {
            std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
        }
    }

    // The unit's command line for this build, run as systemd runs it: the unit's
    // Environment=, WATCHDOG_PID naming the main process (cage: the shell execs it, keeping
    // its pid) unless UnsetEnvironment= drops it. Only the screen is a test's: wlroots'
    // headless backend instead of a monitor. 6 s of watchdog: the UI thread beats every 5 s,
    // so a stalled screen stops the pings.
    let mut argv: Vec<String> = exec_start
        .split_whitespace()
        .map(|word| match word {
            INSTALLED_BINARY => binary().to_owned(),
            "/etc/raincheck/node.toml" => config.to_str().unwrap().to_owned(),
            _ => word.to_owned(),
        })
        .collect();
    assert_eq!(argv[0], CAGE, "{} runs cage", CAGE_UNITS[0]);
    assert!(
        argv.iter().any(|word| word == binary()),
        "cage runs the node: {exec_start}"
    );
    let unset: Vec<String> = unit_values(unit, "UnsetEnvironment")
        .iter()
        .flat_map(|line| {
            line.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    let script = format!(
        "WATCHDOG_PID=$$; export WATCHDOG_PID; {}exec \"$@\"",
        unset
            .iter()
            .map(|name| format!("unset {name}; "))
            .collect::<String>()
    );
    argv.insert(0, "sh".to_owned());
    let log = d.join("cage.log");
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(&script)
        .args(&argv)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("WLR_BACKENDS", "headless")
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "6000000")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    for assignment in unit_values(unit, "Environment") {
        for pair in assignment.split_whitespace() {
            let (name, value) = pair.split_once('=').expect("Environment=NAME=value");
            command.env(name, value);
        }
    }
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        if as_root {
            command.uid(NOBODY).gid(NOBODY);
        }
    }
    let mut cage = KillGroupOnDrop(command.spawn().expect("start cage"));

    assert_eq!(next_notification(&socket, &log), "READY=1");
    // Pings keep coming past the point where a stalled UI thread or a WATCHDOG_PID naming
    // cage would have stopped them (6 s).
    let ready = std::time::Instant::now();
    let mut pings = 0;
    while ready.elapsed() < Duration::from_secs(8) {
        let message = next_notification(&socket, &log);
        assert_eq!(message, "WATCHDOG=1", "unexpected notification");
        pings += 1;
    }
    assert!(pings >= 4, "only {pings} watchdog pings in 8 s");

    // Stop as systemd stops the unit: its ExecStop (privileged, "+"; "$$" is systemd's "$"),
    // with MAINPID naming cage, bounded by TimeoutStopSec.
    let stop = exec_stop
        .strip_prefix('+')
        .expect("ExecStop runs privileged (+)")
        .replace("$$", "$");
    let script = stop
        .strip_prefix("/bin/sh -c '")
        .and_then(|rest| rest.strip_suffix('\''))
        .unwrap_or_else(|| panic!("ExecStop is /bin/sh -c '…': {exec_stop}"));
    let [timeout] = &unit_values(unit, "TimeoutStopSec")[..] else {
        panic!("expected one TimeoutStopSec=");
    };
    // systemd reaps cage the moment it exits (ExecStop waits for that), so this test reaps it
    // too, on a thread of its own, while the stop runs.
    let (stopped, status) = std::thread::scope(|scope| {
        let cage_pid = cage.0.id();
        let reaper = scope.spawn(|| cage.0.wait());
        let stopped = Command::new("timeout")
            .args([timeout.as_str(), "sh", "-c", script])
            .env("MAINPID", cage_pid.to_string())
            .status()
            .unwrap();
        if !stopped.success() {
            // The reaper would wait for ever: end cage so it returns, and report.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{cage_pid}")])
                .status();
        }
        (stopped, reaper.join().unwrap().unwrap())
    });
    assert!(
        stopped.success(),
        "ExecStop did not finish within {timeout} s: {stopped}"
    );
    // Not SIGABRT (cage 0.1.4 aborts on SIGTERM): cage ends with the node's clean exit.
    assert!(
        status.success(),
        "cage did not exit cleanly ({status}); log:\n{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let mut last = String::new();
    while last != "STOPPING=1" {
        last = next_notification(&socket, &log);
        assert!(
            last == "WATCHDOG=1" || last == "STOPPING=1",
            "unexpected notification {last:?}"
        );
    }
}

/// The Debian package's metadata, as cargo-deb reads it.
fn deb_metadata() -> toml::Value {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string(repository().join("Cargo.toml")).unwrap()).unwrap();
    manifest["package"]["metadata"]["deb"].clone()
}

#[test]
fn the_debian_package_ships_every_unit_example_and_broker_file_and_starts_none() {
    let deb = deb_metadata();
    let assets: Vec<(String, String)> = deb["assets"]
        .as_array()
        .expect("assets")
        .iter()
        .map(|asset| {
            let asset = asset.as_array().expect("[source, dest, mode]");
            (
                asset[0].as_str().unwrap().to_owned(),
                asset[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let shipped_to = |source: &str| -> Option<&str> {
        assets
            .iter()
            .find(|(from, _)| from == source)
            .map(|(_, to)| to.as_str())
    };
    let files_in = |directory: &str, extension: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(repository().join(directory))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.ends_with(extension))
            .collect();
        names.sort();
        names
    };

    let units = files_in("systemd", ".service");
    assert_eq!(
        units,
        {
            let mut listed: Vec<String> = UNITS.iter().map(|unit| (*unit).to_owned()).collect();
            listed.sort();
            listed
        },
        "every unit in systemd/ is verified and scored by this file's tests"
    );
    for unit in &units {
        assert_eq!(
            shipped_to(&format!("systemd/{unit}")),
            Some("usr/lib/systemd/system/"),
            "{unit} is not packaged as a system unit"
        );
    }
    // Every role's example, as an example; the demo's config is built into the binary.
    for example in files_in("config", ".toml") {
        if example == "demo.toml" {
            continue;
        }
        assert_eq!(
            shipped_to(&format!("config/{example}")),
            Some("usr/share/raincheck/examples/"),
            "config/{example} is not packaged as an example"
        );
    }
    for broker_file in files_in("config/mosquitto", "") {
        assert_eq!(
            shipped_to(&format!("config/mosquitto/{broker_file}")),
            Some("usr/share/raincheck/mosquitto/"),
            "config/mosquitto/{broker_file} is not packaged with the broker files"
        );
    }
    assert_eq!(
        shipped_to("systemd/mosquitto-raincheck.conf"),
        Some("usr/share/raincheck/mosquitto/"),
        "the broker's drop-in is packaged beside the broker files, not installed"
    );
    assert_eq!(shipped_to("target/release/raincheck"), Some("usr/bin/"));
    assert_eq!(shipped_to("docs/*.md"), Some("usr/share/doc/raincheck/"));
    // Nothing live in /etc: a node.toml or broker config there would act before anyone
    // configured it.
    let in_etc: Vec<&(String, String)> = assets
        .iter()
        .filter(|(_, to)| to.starts_with("etc"))
        .collect();
    assert!(in_etc.is_empty(), "assets installed into /etc: {in_etc:?}");

    // Nothing enabled or started by the package.
    let systemd_units = &deb["systemd-units"];
    assert_eq!(
        systemd_units["enable"].as_bool(),
        Some(false),
        "units must not be enabled on install"
    );
    assert_eq!(
        systemd_units["start"].as_bool(),
        Some(false),
        "units must not be started on install"
    );
    // The maintainer scripts make the user and its directory, and leave cargo-deb's systemd
    // lines a place to go.
    let scripts = repository().join(
        deb["maintainer-scripts"]
            .as_str()
            .expect("maintainer-scripts"),
    );
    let postinst = std::fs::read_to_string(scripts.join("postinst")).unwrap();
    for needed in ["#DEBHELPER#", "adduser --system", "/var/lib/raincheck"] {
        assert!(postinst.contains(needed), "postinst lacks {needed:?}");
    }
    let postrm = std::fs::read_to_string(scripts.join("postrm")).unwrap();
    assert!(postrm.contains("#DEBHELPER#"), "postrm lacks #DEBHELPER#");
    for script in [&postinst, &postrm] {
        for forbidden in [
            "systemctl start",
            "systemctl enable",
            "deb-systemd-invoke start",
        ] {
            assert!(
                !script.contains(forbidden),
                "a maintainer script runs {forbidden:?}"
            );
        }
    }
    let depends = deb["depends"].as_str().unwrap();
    for package in ["adduser", "procps"] {
        assert!(
            depends.contains(package),
            "the package must depend on {package}: {depends}"
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
