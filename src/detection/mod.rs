//! Automatic payment-failure detection (role `detector`): processor probes and a POS
//! endpoint feed one debouncer per source (`debounce`, pure); each debounced change is
//! published as the source's retained health; the policy (`policy`, pure) raises an
//! automatic cash-only incident when a quorum of sources is down and ends it when they
//! recover, never overriding a manager (invariant 2). `worker` runs it on the bus.

pub mod debounce;
pub mod policy;
mod pos;
mod probe;
mod worker;

use crate::config::NodeConfig;
use crate::protocol::{Identifier, Topic};
use crate::shutdown::Shutdown;
use anyhow::{anyhow, Result};
use debounce::{DebounceRules, Debouncer};
use std::path::Path;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use worker::{DetectorWorker, SourceOutcome};

/// The source id of this node's POS reports.
pub fn pos_source(config: &NodeConfig) -> Result<Identifier> {
    match &config.detection.pos_source {
        Some(source) => Ok(source.clone()),
        None => Identifier::parse(&format!("pos-{}", config.node.id))
            .map_err(|error| anyhow!("pos-{} {error}; set detection.pos_source", config.node.id)),
    }
}

/// Starts the probes, the POS endpoint and the detector worker (inside the runtime).
pub fn start_detector(
    config: &NodeConfig,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<Vec<JoinHandle<()>>> {
    let detection = &config.detection;
    let venue = config.node.venue.clone();
    let rules = DebounceRules {
        enter_failures: detection.enter_failures,
        enter_window: Duration::from_secs(u64::from(detection.enter_window_secs)),
        leave_successes: detection.leave_successes,
        leave_window: Duration::from_secs(u64::from(detection.leave_window_secs)),
    };
    let (outcome_sender, outcomes) = mpsc::channel::<SourceOutcome>(256);
    let mut workers = Vec::new();
    let mut sources = std::collections::BTreeMap::new();
    for probe in &detection.probes {
        let target = probe.target.clone();
        let tls = probe::tls_connector(
            probe
                .ca_file
                .as_deref()
                .map(|f| config_dir.join(f))
                .as_deref(),
        )
        .map_err(|message| anyhow!("probe {}: {message}", probe.id))?;
        sources.insert(probe.id.clone(), Debouncer::new(rules));
        let every = Duration::from_secs(u64::from(probe.interval_secs));
        let timeout = Duration::from_millis(u64::from(probe.timeout_ms));
        let source = probe.id.clone();
        let sender = outcome_sender.clone();
        let mut stop = shutdown.clone();
        workers.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.wait() => break,
                    _ = tick.tick() => {
                        let (outcome, detail) = probe::check(&target, &tls, timeout).await;
                        let report = SourceOutcome { source: source.clone(), outcome, detail };
                        if sender.send(report).await.is_err() {
                            break;
                        }
                    }
                }
            }
        }));
    }
    if let Some(address) = detection.pos_listen {
        let source = pos_source(config)?;
        sources.insert(source.clone(), Debouncer::new(rules));
        let router = pos::router(source, outcome_sender.clone());
        workers.push(crate::local_http::serve(
            address,
            router,
            shutdown.clone(),
            "POS reports",
            "detection.pos_listen",
        )?);
    }
    drop(outcome_sender);

    let session = crate::mqtt::spawn_session(
        &config.broker,
        config_dir,
        crate::mqtt::SessionSpec::for_node(
            &config.broker,
            &venue,
            &config.node.id,
            Some("detector"),
            Topic::view_filters(&venue),
        ),
        shutdown.clone(),
    )?;
    let incident_source = match &detection.incident_source {
        Some(source) => source.clone(),
        None => Identifier::parse(&format!("auto-{}", config.node.id)).map_err(|error| {
            anyhow!(
                "auto-{} {error}; set detection.incident_source",
                config.node.id
            )
        })?,
    };
    let worker = DetectorWorker {
        venue,
        incident_source,
        policy: policy::Policy {
            quorum: detection.quorum as usize,
            resolve: detection.resolve,
        },
        templates: crate::model::Template {
            texts: config.texts.cash_only.clone(),
            translations: config.texts.cash_only_translations(),
        },
        sources,
        barrier: session.barrier,
        client: session.connection.client,
        events: session.connection.events,
        outcomes,
        shutdown,
    };
    workers.push(tokio::spawn(worker.run()));
    workers.push(session.connection.task);
    Ok(workers)
}
