//! Automatic payment-failure detection (role `detector`): processor probes and a POS
//! endpoint feed one debouncer per source (`debounce`, pure); each debounced change is
//! published as the source's retained health; the policy (`policy`, pure) raises an
//! automatic cash-only incident when a quorum of sources is down and ends it when they
//! recover, never overriding a manager (invariant 2). `worker` runs it on the bus. The
//! POS routes are served on loopback (`detection.pos_listen`) and handed to the LAN
//! listener when a `[[lan.clients]]` may report payments.

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

/// A started detector.
pub struct Detector {
    pub workers: Vec<JoinHandle<()>>,
    /// The POS report routes for the LAN listener, when a `[[lan.clients]]` may report
    /// payments: the same source and debouncer as the loopback endpoint.
    pub lan_reports: Option<axum::Router>,
}

/// Starts the probes, the POS endpoint and the detector worker (inside the runtime).
pub fn start_detector(
    config: &NodeConfig,
    config_dir: &Path,
    shutdown: Shutdown,
) -> Result<Detector> {
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
    let lan_reports_wanted = config
        .lan
        .as_ref()
        .is_some_and(|lan| lan.grants(crate::config::LanPermission::Payments));
    let mut lan_reports = None;
    if detection.pos_listen.is_some() || lan_reports_wanted {
        let source = pos_source(config)?;
        sources.insert(source.clone(), Debouncer::new(rules));
        let router = pos::router(source, outcome_sender.clone());
        if let Some(address) = detection.pos_listen {
            workers.push(crate::local_http::serve(
                address,
                router.clone(),
                shutdown.clone(),
                "POS reports",
                "detection.pos_listen",
            )?);
        }
        lan_reports = lan_reports_wanted.then_some(router);
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
    Ok(Detector {
        workers,
        lan_reports,
    })
}
