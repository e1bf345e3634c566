//! `raincheck bench detection --displays N`: processor down → every screen cash only, with
//! the default debounce. A fake payment processor (a TCP port this benchmark opens and
//! closes) is probed by a real detector node with the shipped defaults (a check every 5 s,
//! down after 3 failures within 30 s, back after 3 healthy checks over 20 s); N real
//! display nodes follow. Each round closes the port, times until every display confirms
//! the automatic cash-only view, reopens it and waits for the all clear.

use super::fleet::VENUE;
use super::stats::percentiles;
use crate::app::start_node;
use crate::client::BusSession;
use crate::model::{compute_view, NodeKind, ViewMode};
use crate::protocol::Authority;
use crate::shutdown::shutdown_pair;
use anyhow::{anyhow, bail, Context, Result};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

pub fn run(displays: usize, rounds: usize) -> Result<ExitCode> {
    let (broker, runtime) = super::fleet::private_broker_and_runtime()?;
    let result = runtime.block_on(measure(displays, rounds, broker.url()));
    drop(broker);
    result
}

async fn measure(displays: usize, rounds: usize, url: String) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let (mut observer, mut nodes, data) =
        super::fleet::start_fleet(&url, displays, &shutdown).await?;
    let mut processor = Some(std::net::TcpListener::bind("127.0.0.1:0")?);
    let port = processor
        .as_ref()
        .map(|p| p.local_addr())
        .transpose()?
        .map(|a| a.port())
        .unwrap_or(0);
    let text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"detector\"\nroles = [\"detector\"]\ndata_dir = \"{}\"\n[broker]\nurl = \"{url}\"\n\
         [[detection.probes]]\nid = \"processor\"\ntarget = \"tcp://127.0.0.1:{port}\"\n",
        data.path().display()
    );
    let config = crate::config::load_str(&text, Path::new("bench-detector.toml"))
        .map_err(|report| anyhow!("{report}"))?;
    nodes.push(start_node(&config, Path::new("."), shutdown.clone())?);
    println!("{displays} display nodes and a detector (default debounce) online");
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        wait_for_mode(&mut observer, displays, None, round).await?;
        drop(processor.take());
        let down_at = Instant::now();
        wait_for_mode(&mut observer, displays, Some(ViewMode::CashOnly), round).await?;
        samples.push(down_at.elapsed());
        println!(
            "round {round}: every display cash only {:.1} s after the processor went down",
            down_at.elapsed().as_secs_f64()
        );
        processor = Some(std::net::TcpListener::bind(("127.0.0.1", port))?);
    }
    let stats = percentiles(&samples).context("no rounds were run")?;
    println!("processor down -> all {displays} displays cash only: {stats}");
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    observer.close().await;
    Ok(ExitCode::SUCCESS)
}

/// Waits until every display confirms an automatic cash-only view (`Some(CashOnly)`), or
/// any settled non-active view (`None`: the start of a round).
async fn wait_for_mode(
    observer: &mut BusSession,
    displays: usize,
    mode: Option<ViewMode>,
    round: usize,
) -> Result<()> {
    let deadline = Instant::now() + ROUND_TIMEOUT;
    loop {
        let view = compute_view(&observer.state);
        let wanted = match mode {
            Some(mode) => view.mode == mode && view.authority == Some(Authority::Automatic),
            None => view.mode != ViewMode::CashOnly,
        };
        let screens = observer.confirmations().tally(NodeKind::Screen);
        if wanted && screens.confirmed >= displays {
            return Ok(());
        }
        if observer.next_change(deadline).await.is_none() {
            bail!("round {round}: displays did not reach {mode:?} within {ROUND_TIMEOUT:?}");
        }
    }
}
