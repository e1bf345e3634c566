//! `raincheck bench switch --displays N`: trigger → every display confirmed. N real
//! display nodes (the same `start_node` the daemon runs, each with its own MQTT
//! connection) run in this process against a private Mosquitto on loopback; an observer
//! publishes a declaration and times until the last node's report with the new view's
//! digest arrives. Rounds alternate between cash only and all clear.

use super::stats::percentiles;
use crate::cli::BusArgs;
use crate::commands::session::BusSession;
use crate::commands::target::BusTarget;
use crate::model::{compute_view, VenueState};
use crate::mosquitto::MosquittoProcess;
use crate::node::{start_node, NodeHandle};
use crate::protocol::{
    Authority, BusMessage, DeclarationState, DisplayStatus, Identifier, IncidentDeclaration,
    IncidentMode, IncidentTexts, Scope, Topic, TopicKind, SCHEMA_VERSION,
};
use crate::shutdown::shutdown_pair;
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

pub(super) const VENUE: &str = "bench";
/// Nodes started at once; larger bursts only measure the broker's accept queue.
pub(super) const START_BATCH: usize = 250;
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(displays: usize, rounds: usize, broker: Option<String>) -> Result<ExitCode> {
    let private_broker = match &broker {
        Some(_) => None,
        None => Some(
            MosquittoProcess::start("").context("start a private mosquitto for the benchmark")?,
        ),
    };
    let url = broker.unwrap_or_else(|| {
        private_broker
            .as_ref()
            .map(MosquittoProcess::url)
            .unwrap_or_default()
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(measure(displays, rounds, url))
}

async fn measure(displays: usize, rounds: usize, url: String) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let args = BusArgs {
        broker: Some(url.clone()),
        venue: Some(VENUE.into()),
        timeout: 30,
        ..Default::default()
    };
    let mut observer = BusSession::open(BusTarget::from_args(&args)?, "bench").await?;
    let started = Instant::now();
    let mut nodes: Vec<NodeHandle> = Vec::with_capacity(displays);
    for batch_start in (0..displays).step_by(START_BATCH) {
        let batch_end = (batch_start + START_BATCH).min(displays);
        for index in batch_start..batch_end {
            let config = display_config(&url, index)?;
            nodes.push(start_node(&config, Path::new("."), shutdown.clone())?);
        }
        wait_online(&mut observer, batch_end).await?;
    }
    println!(
        "{displays} display nodes online in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let source = Identifier::parse("bench")?;
    let topic = Topic::venue(&observer.target.venue, TopicKind::Incident, &source).to_string();
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let declaration = declaration(&source, observer.state.max_revision() + 1, round);
        let mut expected_state: VenueState = observer.state.clone();
        expected_state.apply(BusMessage::Declaration {
            scope: Scope::Venue,
            declaration: declaration.clone(),
        });
        let expected = compute_view(&expected_state).digest();
        let trigger_at = Instant::now();
        observer.publish_retained_nowait(&topic, serde_json::to_vec(&declaration)?)?;
        let mut confirmed: HashSet<Identifier> = HashSet::with_capacity(displays);
        let deadline = trigger_at + ROUND_TIMEOUT;
        while confirmed.len() < displays {
            if observer.next_change(deadline).await.is_none() {
                bail!(
                    "round {round}: only {} of {displays} displays confirmed within {ROUND_TIMEOUT:?}",
                    confirmed.len()
                );
            }
            if let Some(BusMessage::Display(report)) = &observer.last_applied {
                if report.digest.as_deref() == Some(expected.as_str()) {
                    confirmed.insert(report.node.clone());
                }
            }
        }
        samples.push(trigger_at.elapsed());
    }
    let stats = percentiles(&samples).context("no rounds were run")?;
    println!("trigger -> all {displays} displays confirmed: {stats}");
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    observer.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) async fn wait_online(observer: &mut BusSession, count: usize) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let online = observer
            .state
            .displays
            .values()
            .filter(|r| r.status == DisplayStatus::Online)
            .count();
        if online >= count {
            return Ok(());
        }
        if observer.next_change(deadline).await.is_none() {
            bail!("only {online} of {count} display nodes came online within 120 s");
        }
    }
}

pub(super) fn display_config(url: &str, index: usize) -> Result<crate::config::NodeConfig> {
    let text = format!(
        "[node]\nvenue = \"{VENUE}\"\nid = \"screen-{index}\"\nroles = [\"signage\"]\n[broker]\nurl = \"{url}\"\n"
    );
    crate::config::load_str(&text, Path::new("bench.toml"))
        .map_err(|report| anyhow::anyhow!("{report}"))
}

fn declaration(source: &Identifier, revision: u64, round: usize) -> IncidentDeclaration {
    let now = OffsetDateTime::now_utc();
    IncidentDeclaration {
        v: SCHEMA_VERSION,
        source: source.clone(),
        authority: Authority::Manager,
        revision,
        incident_id: Identifier::parse(&format!("bench-{}", round / 2))
            .unwrap_or_else(|_| source.clone()),
        state: if round.is_multiple_of(2) {
            DeclarationState::Active
        } else {
            DeclarationState::Resolved
        },
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts {
            headline: Some("Cash only right now".into()),
            ..Default::default()
        },
        offer_id: None,
        supersedes: Vec::new(),
        started_at: now,
        declared_at: now,
        actor: Some("bench".into()),
    }
}
