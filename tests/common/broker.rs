//! Setting up a Mosquitto that checks who connects, for the broker tests (broker_acl,
//! broker_security, deployment): a working directory the broker's own user can read, a
//! password file made by the real `mosquitto_passwd`, clients' private password files,
//! a broker section that logs a node in, and a test CA with a server certificate for
//! 127.0.0.1 made by the real `openssl`. A missing tool skips the test with a message,
//! unless RAINCHECK_REQUIRE_MOSQUITTO=1.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A temporary directory that Mosquitto, started as root, can still read after dropping
/// to the mosquitto user (it reads password, ACL and certificate files as that user).
pub fn directory_readable_by_mosquitto() -> tempfile::TempDir {
    let directory = tempfile::tempdir().unwrap();
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    directory
}

/// Says why the test is skipped (or fails, under RAINCHECK_REQUIRE_MOSQUITTO=1): `tool`
/// is not installed.
fn skip_without(tool: &str, message: &str) {
    assert_ne!(
        std::env::var("RAINCHECK_REQUIRE_MOSQUITTO").as_deref(),
        Ok("1"),
        "RAINCHECK_REQUIRE_MOSQUITTO=1 but {tool} is missing"
    );
    eprintln!("SKIPPED: {message}");
}

/// Writes the Mosquitto password file `path` with `mosquitto_passwd`, one line per
/// (user, password), readable by the broker. `None` (test skipped, with the reason printed)
/// when `mosquitto_passwd` is not installed; a failing `mosquitto_passwd` fails the test.
pub fn mosquitto_password_file(path: &Path, credentials: &[(&str, &str)]) -> Option<()> {
    for (index, (user, password)) in credentials.iter().enumerate() {
        let mut command = Command::new("mosquitto_passwd");
        command.arg("-b");
        if index == 0 {
            command.arg("-c");
        }
        match command.arg(path).args([*user, *password]).output() {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "mosquitto_passwd failed for {user}: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(_) => {
                skip_without(
                    "mosquitto_passwd",
                    "mosquitto_passwd is not installed (apt-get install mosquitto); this test needs a real broker",
                );
                return None;
            }
        }
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
    Some(())
}

/// A client's password in its own file `directory/name` (chmod 600, as raincheck insists).
pub fn private_password_file(directory: &Path, name: &str, password: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::write(&path, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// A node's `[broker]` section logged in as `user` with the password in `password_file`,
/// with `extra` lines (a CA file, say) and timers short enough for tests.
pub fn logged_in_broker_section(
    url: &str,
    extra: &str,
    user: &str,
    password_file: &Path,
) -> String {
    format!(
        "[broker]\nurl = \"{url}\"\n{extra}username = \"{user}\"\npassword_file = \"{}\"\nkeep_alive_secs = 2\nwatchdog_secs = 6\nreconnect_min_ms = 50\nreconnect_max_ms = 500\n",
        password_file.display()
    )
}

/// The files [`make_test_certificates`] made.
pub struct TestCertificates {
    /// The test CA's certificate, which clients trust.
    pub ca: PathBuf,
    /// The server's certificate, for 127.0.0.1 and localhost, signed by the CA.
    pub certificate: PathBuf,
    /// The server's private key.
    pub key: PathBuf,
}

/// Makes a test CA (`{ca}.pem`, `{ca}.key`, subject `ca_subject`) and a server certificate
/// it signs for 127.0.0.1 and localhost (`{server}.pem`, `{server}.key`) in `directory`,
/// readable by the broker, valid for two days. `None` (test skipped, with the reason
/// printed) when openssl is not installed; a failing openssl fails the test.
pub fn make_test_certificates(
    directory: &Path,
    ca: &str,
    server: &str,
    ca_subject: &str,
) -> Option<TestCertificates> {
    std::fs::write(
        directory.join("san.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\n",
    )
    .unwrap();
    let (ca_key, ca_pem) = (format!("{ca}.key"), format!("{ca}.pem"));
    let (server_key, server_csr, server_pem) = (
        format!("{server}.key"),
        format!("{server}.csr"),
        format!("{server}.pem"),
    );
    let steps: [&[&str]; 4] = [
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", &ca_key, "-out", &ca_pem,
            "-days", "2", "-subj", ca_subject,
        ],
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &server_key,
            "-out",
            &server_csr,
            "-subj",
            "/CN=localhost",
        ],
        &[
            "x509",
            "-req",
            "-in",
            &server_csr,
            "-CA",
            &ca_pem,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &server_pem,
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
        // The certificate just written reads back.
        &["x509", "-in", &server_pem, "-noout"],
    ];
    for step in steps {
        match Command::new("openssl")
            .args(step)
            .current_dir(directory)
            .output()
        {
            Ok(output) if output.status.success() => {}
            Ok(output) => panic!(
                "openssl {step:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(_) => {
                skip_without("openssl", "openssl is not installed; it makes the test CA");
                return None;
            }
        }
    }
    let made = TestCertificates {
        ca: directory.join(ca_pem),
        certificate: directory.join(server_pem),
        key: directory.join(server_key),
    };
    for file in [&made.ca, &made.certificate, &made.key] {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    Some(made)
}
