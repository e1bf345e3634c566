//! The broker edge's security settings against a real Mosquitto: username and password
//! (with the secret kept in a private file), and TLS with the venue's own CA.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

fn node_config(directory: &Path, name: &str, broker: &str) -> std::path::PathBuf {
    write_config(
        directory,
        name,
        &format!("[broker]\n{broker}\nkeep_alive_secs = 2\nwatchdog_secs = 6\n"),
    )
}

fn make_private(path: &Path) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn username_and_password_from_a_private_file() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let passwd = directory.path().join("passwd");
    let created = Command::new("mosquitto_passwd")
        .arg("-b")
        .arg("-c")
        .arg(&passwd)
        .args(["lobby-1", "s3cret"])
        .status();
    if !created.is_ok_and(|s| s.success()) {
        assert_ne!(
            std::env::var("RAINCHECK_REQUIRE_MOSQUITTO").as_deref(),
            Ok("1"),
            "mosquitto_passwd is missing"
        );
        eprintln!("SKIPPED: mosquitto_passwd is not installed");
        return;
    }
    std::fs::set_permissions(&passwd, std::fs::Permissions::from_mode(0o644)).unwrap();
    let Some(broker) = mosquitto(&format!(
        "allow_anonymous false\npassword_file {}\n",
        passwd.display()
    )) else {
        return;
    };

    let good_secret = directory.path().join("good-password");
    std::fs::write(&good_secret, "s3cret\n").unwrap();
    make_private(&good_secret);
    let bad_secret = directory.path().join("bad-password");
    std::fs::write(&bad_secret, "guess\n").unwrap();
    make_private(&bad_secret);
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
    let directory = tempfile::tempdir().unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let d = directory.path();
    let openssl = |args: &[&str]| Command::new("openssl").args(args).current_dir(d).output();
    let steps: [&[&str]; 4] = [
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
            "/CN=raincheck test CA",
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
        &["x509", "-in", "server.pem", "-noout"],
    ];
    std::fs::write(
        d.join("san.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap();
    for step in steps {
        match openssl(step) {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "openssl {step:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(_) => {
                eprintln!("SKIPPED: openssl is not installed; it makes the test CA");
                return;
            }
        }
    }
    for file in ["server.key", "server.pem", "ca.pem"] {
        std::fs::set_permissions(d.join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let extra = format!(
        "cafile {0}/ca.pem\ncertfile {0}/server.pem\nkeyfile {0}/server.key\n",
        d.display()
    );
    let Some(broker) = mosquitto(&extra) else {
        return;
    };
    let url = format!("mqtts://127.0.0.1:{}", broker.port);
    let trusted = node_config(
        d,
        "lobby-1",
        &format!("url = \"{url}\"\nca_file = \"{}/ca.pem\"", d.display()),
    );
    let _node = NodeProcess::start_with("lobby-1", trusted.clone());
    // The node must be reporting before "--wait" can count it.
    let target = raincheck::commands::target::BusTarget::from_args(&raincheck::cli::BusArgs {
        config: Some(trusted.clone()),
        timeout: 10,
        ..Default::default()
    })
    .expect("target");
    let mut observer = raincheck::commands::session::BusSession::open(target, "test")
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
        stdout_of(&output).contains("1 of 1 nodes confirmed"),
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
