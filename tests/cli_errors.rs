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
