//! The CLI's refusals: one clear line and a non-zero exit, nothing published.

mod common;

use common::*;

#[test]
fn check_config_reports_every_problem_with_key_and_line() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("bad.toml");
    std::fs::write(
        &file,
        "[node]\nvenue = \"rialto\"\nid = \"Lobby 1\"\nroles = [\"signage\", \"oven\"]\n[broker]\nurl = \"ftp://x\"\n",
    )
    .unwrap();
    let output = cli(&["check-config", file.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr_of(&output);
    assert!(errors.contains("bad.toml:3: node.id"), "{errors}");
    let good = cli(&[
        "check-config",
        concat!(env!("CARGO_MANIFEST_DIR"), "/config/signage.toml"),
    ]);
    assert!(good.status.success(), "{}", stderr_of(&good));
}

#[test]
fn an_unreachable_broker_is_one_clear_error() {
    let port = raincheck::mosquitto::free_port().unwrap();
    let output = cli(&[
        "status",
        "--broker",
        &format!("mqtt://127.0.0.1:{port}"),
        "--venue",
        "rialto",
        "--timeout",
        "2",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let errors = stderr_of(&output);
    assert!(
        errors.starts_with("error: cannot reach the broker"),
        "{errors}"
    );
    assert_eq!(errors.trim().lines().count(), 1, "{errors}");
}

#[test]
fn bad_arguments_are_refused_before_anything_is_sent() {
    for (args, expected) in [
        (
            vec![
                "incident",
                "start",
                "--venue",
                "Bad Venue",
                "--broker",
                "mqtt://127.0.0.1:1",
            ],
            "--venue",
        ),
        (
            vec![
                "incident", "start", "--venue", "rialto", "--broker", "http://x",
            ],
            "--broker",
        ),
        (
            vec!["incident", "start", "--venue", "rialto", "--source", "a/b"],
            "--source",
        ),
        (
            vec![
                "payments", "report", "down", "--source", "#", "--venue", "rialto",
            ],
            "--source",
        ),
        (
            vec!["incident", "start", "--broker", "mqtt://127.0.0.1:1"],
            "which venue",
        ),
        // Wording per language: a bad line is named, and nothing is sent.
        (
            vec![
                "incident",
                "start",
                "--venue",
                "rialto",
                "--broker",
                "mqtt://127.0.0.1:1",
                "--in",
                "es-headline",
            ],
            "write LANG:FIELD=TEXT",
        ),
        (
            vec![
                "incident",
                "start",
                "--venue",
                "rialto",
                "--broker",
                "mqtt://127.0.0.1:1",
                "--in",
                "it:headline=Solo contanti",
            ],
            "\"it\" is not a screen language",
        ),
        (
            vec![
                "incident",
                "start",
                "--venue",
                "rialto",
                "--broker",
                "mqtt://127.0.0.1:1",
                "--in",
                "es:title=Solo efectivo",
            ],
            "\"title\" is not a text",
        ),
    ] {
        let output = cli(&args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(
            stderr_of(&output).contains(expected),
            "{args:?}: {}",
            stderr_of(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolving_with_nothing_active_is_refused() {
    let Some(broker) = mosquitto("") else { return };
    let output = cli(&[
        "incident",
        "resolve",
        "--broker",
        &broker.url(),
        "--venue",
        VENUE,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("no incident is active"),
        "{}",
        stderr_of(&output)
    );
    let observer = observer(&broker.url()).await;
    assert!(
        observer.state.declarations.is_empty(),
        "nothing was published"
    );
    observer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_reports_are_retained_per_source() {
    let Some(broker) = mosquitto("") else { return };
    for (status, source) in [("down", "pos-1"), ("ok", "probe")] {
        let output = cli(&[
            "payments",
            "report",
            status,
            "--source",
            source,
            "--broker",
            &broker.url(),
            "--venue",
            VENUE,
        ]);
        assert!(output.status.success(), "{}", stderr_of(&output));
    }
    let observer = observer(&broker.url()).await;
    let statuses: Vec<_> = observer
        .state
        .payments
        .values()
        .map(|p| (p.source.to_string(), p.status))
        .collect();
    use raincheck::protocol::PaymentStatus;
    assert_eq!(
        statuses,
        vec![
            ("pos-1".into(), PaymentStatus::Down),
            ("probe".into(), PaymentStatus::Ok)
        ]
    );
    observer.close().await;
}

/// `--wait` on a venue nobody reports from (a typo) fails with the likely cause; on a venue
/// whose only screen draws nothing, it fails and says why — a dark screen is no proof.
#[test]
fn waiting_where_nothing_draws_the_view_fails_and_says_why() {
    let Some(broker) = mosquitto("") else { return };
    let url = broker.url();
    let typo = cli(&[
        "incident", "start", "--broker", &url, "--venue", "demoo", "--wait", "2",
    ]);
    assert_eq!(typo.status.code(), Some(3), "{}", stderr_of(&typo));
    let said = String::from_utf8_lossy(&typo.stdout);
    assert!(
        said.contains("no screen or counter of venue demoo has reported — is the venue id right?"),
        "{said}"
    );

    let directory = tempfile::tempdir().unwrap();
    let config = write_config(
        directory.path(),
        "lobby-1",
        &format!(
            "name = \"Lobby 1\"\n[broker]\nurl = \"{url}\"\n[display]\nbackend = \"headless\"\n"
        ),
    );
    let _dark = NodeProcess::start_with("lobby-1", config);
    let status_shows_headless = || {
        let status = cli(&[
            "status",
            "--broker",
            &url,
            "--venue",
            VENUE,
            "--timeout",
            "3",
        ]);
        String::from_utf8_lossy(&status.stdout).contains("draws nothing")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !status_shows_headless() {
        assert!(
            std::time::Instant::now() < deadline,
            "the headless node never reported"
        );
    }
    let dark = cli(&[
        "incident", "start", "--broker", &url, "--venue", VENUE, "--wait", "2",
    ]);
    assert_eq!(dark.status.code(), Some(3), "{}", stderr_of(&dark));
    let said = String::from_utf8_lossy(&dark.stdout);
    assert!(
        said.contains(
            "0 of 1 screen confirmed — Lobby 1 draws nothing (display.backend is \"headless\")"
        ),
        "{said}"
    );
}

#[test]
fn a_demo_port_clash_names_the_flag_before_printing_any_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let console_port = raincheck::mosquitto::free_port().unwrap().to_string();
    // Killed after 20 s if the clash went unnoticed and the demo kept running.
    let output = std::process::Command::new("timeout")
        .args([
            "20",
            binary(),
            "demo",
            "--port",
            &port,
            "--console-port",
            &console_port,
        ])
        .env_remove("RUST_LOG")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .expect("run raincheck demo");
    assert_eq!(output.status.code(), Some(1), "{}", stderr_of(&output));
    let said = stderr_of(&output);
    assert!(said.contains(&format!("cannot use port {port}")), "{said}");
    assert!(said.contains("raincheck demo --port"), "{said}");
    assert!(!said.contains("broker.listen"), "{said}");
    assert!(
        !stdout_of(&output).contains("Manager's console"),
        "the addresses were printed before the clash: {}",
        stdout_of(&output)
    );
}
