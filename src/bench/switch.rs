//! `raincheck bench switch --displays N`: trigger → every display confirmed. N real
//! display nodes (the same `start_node` the daemon runs, each with its own MQTT
//! connection) run in this process against a private Mosquitto on loopback; an observer
//! publishes a declaration and times until the last node's report with the new view's
//! digest arrives. Each node proves the view from a frame its offscreen backend rendered
//! (`display.backend = "offscreen"`), so the report is the drawn one. Rounds alternate
//! between cash only and all clear, each from a settled venue (`fleet::settle`).
//!
//! With `--bridged`, the chain case: a private HQ Mosquitto and a venue Mosquitto bridged
//! to it by the shipped config/mosquitto/bridge-to-hq.conf (TLS and login removed, rules
//! as shipped), the displays on the venue broker, and each trigger a chain declaration
//! published at HQ. The clock stops at the last confirmation seen on the venue broker:
//! every screen has confirmed. With `--observe-at-hq`, also at the last confirmation back
//! up the bridge at HQ (what `incident --chain --wait` waits for); that needs an HQ session
//! in this process decoding every report, which on one machine slows the first figure.

use super::fleet::{start_fleet, VENUE};
use super::stats::percentiles;
use crate::client::{BrokerTarget, BusSession, ChainSession, Link};
use crate::model::{compute_view, NodeKind, VenueState};
use crate::mosquitto::{adapt_config, MosquittoProcess, SHIPPED_BRIDGE};
use crate::protocol::{
    Authority, BusMessage, DeclarationState, Identifier, IncidentDeclaration, IncidentMode,
    IncidentTexts, Scope, Topic, TopicKind, SCHEMA_VERSION,
};
use crate::shutdown::shutdown_pair;
use anyhow::{bail, Context, Result};
use rumqttc::QoS;
use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(60);

pub fn run(
    displays: usize,
    rounds: usize,
    broker: Option<String>,
    bridged: bool,
    observe_at_hq: bool,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if bridged {
        return runtime.block_on(measure_bridged(displays, rounds, observe_at_hq));
    }
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
    runtime.block_on(measure(displays, rounds, url))
}

async fn measure(displays: usize, rounds: usize, url: String) -> Result<ExitCode> {
    let (trigger, shutdown) = shutdown_pair();
    let started = Instant::now();
    let (mut observer, nodes, _data) = start_fleet(&url, displays, &shutdown).await?;
    println!(
        "{displays} display nodes online in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let source = Identifier::parse("bench")?;
    let topic = Topic::venue(&observer.target.venue, TopicKind::Incident, &source).to_string();
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        super::fleet::settle().await;
        let declaration = declaration(&source, observer.state.max_revision() + 1, round);
        let expected = expected_digest(&observer.state, Scope::Venue, &declaration);
        let trigger_at = Instant::now();
        observer.publish_retained_nowait(&topic, crate::protocol::encode(&declaration))?;
        samples.push(
            confirmed_at_venue(&mut observer, &expected, displays, trigger_at)
                .await
                .with_context(|| format!("round {round}"))?,
        );
    }
    let stats = percentiles(&samples).context("no rounds were run")?;
    println!("trigger -> all {displays} displays confirmed (drawn): {stats}");
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    observer.close().await;
    super::responders::print_against_bare(&url, displays, rounds, &stats, "raincheck").await?;
    Ok(ExitCode::SUCCESS)
}

/// The chain case: trigger at HQ, displays behind the venue's bridge.
async fn measure_bridged(displays: usize, rounds: usize, observe_at_hq: bool) -> Result<ExitCode> {
    let hq_broker =
        MosquittoProcess::start("").context("start a private HQ mosquitto for the benchmark")?;
    // The shipped bridge, for this benchmark's venue, with TLS and the HQ login taken out
    // (the private HQ is plain and anonymous on loopback); every other line as shipped.
    let bridge = adapt_config(
        &SHIPPED_BRIDGE.replace("rialto", VENUE),
        &[
            ("address", Some(&format!("127.0.0.1:{}", hq_broker.port))),
            ("bridge_cafile", None),
            ("bridge_insecure", None),
            ("bridge_tls_version", None),
            ("remote_username", None),
            ("remote_password", None),
        ],
    )?;
    let venue_broker =
        MosquittoProcess::start(&bridge).context("start a private venue mosquitto, bridged")?;
    let (trigger, shutdown) = shutdown_pair();
    let started = Instant::now();
    let (mut venue, nodes, _data) = start_fleet(&venue_broker.url(), displays, &shutdown).await?;
    println!(
        "{displays} display nodes online on the venue broker in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let hq_target = BrokerTarget::at_url(&hq_broker.url())?.with_timeout(Duration::from_secs(30));
    // Before timing anything, the bridge must be up: every report has reached HQ.
    let mut hq = ChainSession::open(hq_target.clone(), "bench").await?;
    let venue_id = venue.target.venue.clone();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let up = hq
            .state
            .venues
            .get(&venue_id)
            .map_or(0, |state| state.displays.len());
        if up >= displays {
            break;
        }
        if !hq.next_change(deadline).await {
            bail!("only {up} of {displays} display reports came up the bridge within 120 s");
        }
    }
    println!(
        "all {displays} reports up the bridge at HQ after {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut hq = if observe_at_hq {
        Some(hq)
    } else {
        hq.close().await;
        None
    };
    // HQ's trigger comes from a client that reads nothing, so that only the system under
    // test (the brokers, the bridge and the displays) shares the CPU with the observer.
    let publisher = Link::open(
        &hq_target,
        "bench-hq",
        Vec::new(),
        Topic::chain_sync_barrier,
    )
    .await?;
    let source = Identifier::parse("hq")?;
    let topic = Topic::chain_incident(&source).to_string();
    let (mut at_venue, mut at_hq) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        super::fleet::settle().await;
        let revision = venue.state.max_revision() + 1;
        let declaration = declaration(&source, revision, round);
        let expected = expected_digest(&venue.state, Scope::Chain, &declaration);
        let payload = crate::protocol::encode(&declaration);
        let trigger_at = Instant::now();
        publisher.try_publish(&topic, QoS::AtLeastOnce, true, payload)?;
        match hq.as_mut() {
            Some(hq) => {
                let (venue_time, hq_time) = tokio::try_join!(
                    confirmed_at_venue(&mut venue, &expected, displays, trigger_at),
                    confirmed_at_hq(hq, &expected, displays, trigger_at),
                )
                .with_context(|| format!("round {round}"))?;
                at_venue.push(venue_time);
                at_hq.push(hq_time);
            }
            None => at_venue.push(
                confirmed_at_venue(&mut venue, &expected, displays, trigger_at)
                    .await
                    .with_context(|| format!("round {round}"))?,
            ),
        }
    }
    let stats = percentiles(&at_venue).context("no rounds were run")?;
    println!(
        "chain trigger at HQ -> all {displays} displays confirmed, seen on the venue broker: {stats}"
    );
    if let Some(stats) = percentiles(&at_hq) {
        println!(
            "chain trigger at HQ -> all {displays} confirmations back up the bridge at HQ: {stats}"
        );
    }
    trigger.trigger();
    for node in nodes {
        node.join().await;
    }
    venue.close().await;
    publisher.close().await;
    if let Some(hq) = hq {
        hq.close().await;
    }
    Ok(ExitCode::SUCCESS)
}

/// The digest every display will report once `declaration` (at `scope`) is applied.
fn expected_digest(state: &VenueState, scope: Scope, declaration: &IncidentDeclaration) -> String {
    let mut expected = state.clone();
    expected.apply(BusMessage::Declaration {
        scope,
        declaration: declaration.clone(),
    });
    compute_view(&expected).digest()
}

/// Time from `trigger_at` until the venue observer's tracker says `displays` screens
/// confirm the `expected` view (the tracker counts per report as they arrive).
async fn confirmed_at_venue(
    observer: &mut BusSession,
    expected: &str,
    displays: usize,
    trigger_at: Instant,
) -> Result<Duration> {
    let deadline = trigger_at + ROUND_TIMEOUT;
    loop {
        let confirmations = observer.confirmations();
        let confirmed = confirmations.tally(NodeKind::Screen).confirmed;
        if confirmations.digest() == expected && confirmed >= displays {
            return Ok(trigger_at.elapsed());
        }
        if observer.next_change(deadline).await.is_none() {
            bail!("only {confirmed} of {displays} displays confirmed within {ROUND_TIMEOUT:?}");
        }
    }
}

/// The same, counted at HQ from the reports that came up the bridge.
async fn confirmed_at_hq(
    hq: &mut ChainSession,
    expected: &str,
    displays: usize,
    trigger_at: Instant,
) -> Result<Duration> {
    let mut confirmed: HashSet<Identifier> = HashSet::with_capacity(displays);
    let deadline = trigger_at + ROUND_TIMEOUT;
    while confirmed.len() < displays {
        if !hq.next_change(deadline).await {
            bail!(
                "only {} of {displays} confirmations came up the bridge within {ROUND_TIMEOUT:?}",
                confirmed.len()
            );
        }
        if let Some((Some(_), BusMessage::Display(report))) = &hq.last_applied {
            if report.digest.as_deref() == Some(expected) {
                confirmed.insert(report.node.clone());
            }
        }
    }
    Ok(trigger_at.elapsed())
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
        translations: Default::default(),
        offer_id: None,
        supersedes: Vec::new(),
        started_at: now,
        declared_at: now,
        actor: Some("bench".into()),
        next_update_by: None,
        expires_at: None,
    }
}
