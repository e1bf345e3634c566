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
    let mut config = crate::config::load_str(DEMO_CONFIG, Path::new("config/demo.toml"))
        .map_err(|report| anyhow!("{report}"))?;
    config.broker.listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    config.node.data_dir = std::env::temp_dir().join("raincheck-demo");
    std::fs::create_dir_all(&config.node.data_dir)?;
    let venue = config.node.venue.clone();
    let broker = format!("mqtt://127.0.0.1:{}", args.port);
    println!("raincheck demo venue \"{venue}\" is starting (embedded broker on {broker}).");
    println!("In another terminal, try:");
    println!("  raincheck incident start --broker {broker} --venue {venue} --wait 5");
    println!("  raincheck status --broker {broker} --venue {venue}");
    println!("  raincheck incident resolve --broker {broker} --venue {venue} --wait 5");
    println!("Stop with Ctrl-C.");
    crate::node::run_daemon(config, Path::new("."))?;
    Ok(ExitCode::SUCCESS)
}
