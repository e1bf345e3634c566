//! `raincheck demo`: a complete single-box venue from the bundled `config/demo.toml`
//! (embedded broker, every role), with its data in a temporary directory, so a person
//! can see the product work with no set-up at all.

use crate::cli::DemoArgs;
use anyhow::{anyhow, Result};
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

/// The demo config, bundled so `raincheck demo` works from any directory.
pub const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let mut config =
        crate::config::load_str_without_file_checks(DEMO_CONFIG, Path::new("config/demo.toml"))
            .map_err(|report| anyhow!("{report}"))?;
    config.broker.listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    config.console.listen = SocketAddr::from(([127, 0, 0, 1], args.console_port));
    config.node.data_dir = std::env::temp_dir().join("raincheck-demo");
    std::fs::create_dir_all(&config.node.data_dir)?;
    if let Some(counter) = config.counter.as_mut() {
        counter.secret_file = config.node.data_dir.join("voucher-secret");
        write_demo_secret(&counter.secret_file)?;
    }
    // Before anything is printed: a clash names the flag that moves the demo.
    port_is_free(args.port, "--port", "the demo's broker")?;
    port_is_free(args.console_port, "--console-port", "the demo's console")?;
    let venue = config.node.venue.clone();
    let broker = format!("mqtt://127.0.0.1:{}", args.port);
    println!("raincheck demo venue \"{venue}\" is starting (embedded broker on {broker}).");
    println!(
        "Manager's console: http://127.0.0.1:{}/ (sign in as Demo, PIN 1234).",
        args.console_port
    );
    println!("In another terminal, try:");
    println!("  raincheck incident start --broker {broker} --venue {venue} --wait 5");
    println!("  raincheck status --broker {broker} --venue {venue}");
    println!("  raincheck incident resolve --broker {broker} --venue {venue} --wait 5");
    println!("Stop with Ctrl-C.");
    crate::app::run_daemon(config, Path::new("."))?;
    Ok(ExitCode::SUCCESS)
}

/// Fails with the flag to use when `port` on 127.0.0.1 is taken (another broker, an
/// earlier demo). The check and the real bind are moments apart; this only gives the
/// common clash a useful message.
fn port_is_free(port: u16, flag: &str, what: &str) -> Result<()> {
    match std::net::TcpListener::bind(("127.0.0.1", port)) {
        Ok(_) => Ok(()),
        Err(error) => Err(anyhow!(
            "cannot use port {port} for {what} ({error}); is another broker or demo running? \
             Pick a free port with `raincheck demo {flag} {}`",
            port.saturating_add(1)
        )),
    }
}

/// A random voucher secret for the demo venue, private to this user, made once.
fn write_demo_secret(path: &Path) -> Result<()> {
    use rand::RngCore;
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if path.exists() {
        return Ok(());
    }
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(&secret)?;
    Ok(())
}
