//! The broker edge's security settings against a real Mosquitto: username and password
//! (with the secret kept in a private file), and TLS with the venue's own CA.

mod common;

use common::broker::*;
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn node_config(directory: &Path, name: &str, broker: &str) -> std::path::PathBuf {
    write_config(
        directory,
        name,
        &format!("[broker]\n{broker}\nkeep_alive_secs = 2\nwatchdog_secs = 6\n"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn username_and_password_from_a_private_file() {
    let directory = directory_readable_by_mosquitto();
    let passwd = directory.path().join("passwd");
    if mosquitto_password_file(&passwd, &[("lobby-1", "s3cret")]).is_none() {
        return;
    }
    let Some(broker) = mosquitto(&format!(
        "allow_anonymous false\npassword_file {}\n",
        passwd.display()
    )) else {
        return;
    };

    let good_secret = private_password_file(directory.path(), "good-password", "s3cret");
    let bad_secret = private_password_file(directory.path(), "bad-password", "guess");
    let url = broker.url();
    let with = |name: &str, secret: &Path| {
        node_config(
            directory.path(),
            name,
            &format!(
                "url = \"{url}\"\nusername = \"lobby-1\"\npassword_file = \"{}\"",
                secret.display()
            ),
        )
    };

    let good = with("lobby-1", &good_secret);
    let output = cli(&[
        "status",
        "--json",
        "--config",
        good.to_str().unwrap(),
        "--timeout",
        "5",
    ]);
    assert!(
        output.status.success(),
        "the right password connects: {}",
        stderr_of(&output)
    );

    let bad = with("intruder", &bad_secret);
    let output = cli(&[
        "status",
        "--config",
        bad.to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let refusal = stderr_of(&output);
    assert!(
        refusal.contains("refused the connection"),
        "the reason is given: {refusal}"
    );
    assert!(
        !refusal.contains("guess"),
        "the password never reaches the output: {refusal}"
    );

    let anonymous = cli(&[
        "status",
        "--broker",
        &url,
        "--venue",
        VENUE,
        "--timeout",
        "2",
    ]);
    assert_eq!(
        anonymous.status.code(),
        Some(1),
        "anonymous clients are refused"
    );

    std::fs::set_permissions(&good_secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = cli(&[
        "status",
        "--config",
        good.to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr_of(&output).contains("chmod 600"),
        "a world-readable secret is refused: {}",
        stderr_of(&output)
    );
    assert!(
        !stderr_of(&output).contains("s3cret"),
        "the secret never reaches the output"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_the_venues_own_ca() {
    let directory = directory_readable_by_mosquitto();
    let d = directory.path();
    let Some(certificates) = make_test_certificates(d, "ca", "server", "/CN=raincheck test CA")
    else {
        return;
    };
    let extra = format!(
        "cafile {}\ncertfile {}\nkeyfile {}\n",
        certificates.ca.display(),
        certificates.certificate.display(),
        certificates.key.display()
    );
    let Some(broker) = mosquitto(&extra) else {
        return;
    };
    let url = format!("mqtts://127.0.0.1:{}", broker.port);
    let trusted = node_config(
        d,
        "lobby-1",
        &format!(
            "url = \"{url}\"\nca_file = \"{}\"",
            certificates.ca.display()
        ),
    );
    let _node = NodeProcess::start_with("lobby-1", trusted.clone());
    // The node must be reporting before "--wait" can count it.
    let mut observer = session_from_config(trusted.clone(), 10)
        .await
        .expect("TLS observer");
    wait_for(
        &mut observer,
        std::time::Duration::from_secs(20),
        "the TLS node reports",
        all_confirmed(&["lobby-1"]),
    )
    .await;
    observer.close().await;
    let output = cli(&[
        "incident",
        "start",
        "--config",
        trusted.to_str().unwrap(),
        "--wait",
        "10",
    ]);
    assert!(
        output.status.success(),
        "TLS with the venue CA works: {}",
        stderr_of(&output)
    );
    assert!(
        stdout_of(&output).contains("1 of 1 screen confirmed"),
        "{}",
        stdout_of(&output)
    );

    let plain = cli(&[
        "status",
        "--broker",
        &format!("mqtt://127.0.0.1:{}", broker.port),
        "--venue",
        VENUE,
        "--timeout",
        "2",
    ]);
    assert_eq!(
        plain.status.code(),
        Some(1),
        "plain MQTT is not accepted on the TLS port"
    );
    let untrusted = node_config(d, "stranger", &format!("url = \"{url}\""));
    let output = cli(&[
        "status",
        "--config",
        untrusted.to_str().unwrap(),
        "--timeout",
        "2",
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "a broker certificate from an unknown CA is refused"
    );
}
