//! `raincheck run`: the embedded broker if configured, the node's workers, signals, the
//! systemd watchdog, the screen windows on the main thread (Slint must own it), and an
//! orderly stop that waits for every worker under a timeout.

use super::node::{start_node, NodeHandle, ScreenPlan};
use crate::config::{BrokerMode, NodeConfig, Role};
use crate::model::Drawing;
use crate::protocol::{Topic, TopicKind};
use crate::screen::window::{run_window, ScreenExit, ScreenSetup};
use crate::shutdown::{shutdown_pair, Shutdown};
use anyhow::{Context, Result};
use rumqttc::QoS;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// `raincheck run`: the whole node until SIGTERM or Ctrl-C. A signage node gives the
/// main thread to its window; without a display it carries on headless.
pub fn run_daemon(config: NodeConfig, config_dir: &Path) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("raincheck-worker")
        .enable_all()
        .build()
        .context("start the async runtime")?;
    if config.broker.mode == BrokerMode::Embedded {
        // The box keeps the venue's retained set (it is a keeper): seed the broker with it.
        let kept = crate::keeper::kept_path(&config.node.data_dir);
        let retained = crate::keeper::load(&kept, &config.node.venue)
            .unwrap_or_else(|error| {
                tracing::warn!("{error:#}; the embedded broker starts empty");
                Vec::new()
            })
            .iter()
            .map(|(topic, message)| (topic.clone(), crate::model::keeper::payload_of(message)))
            .collect();
        crate::broker::start_embedded_broker(config.broker.listen, retained)?;
    }
    let (trigger, shutdown) = shutdown_pair();
    let trigger = Arc::new(trigger);
    let mut node = runtime.block_on(async { start_node(&config, config_dir, shutdown.clone()) })?;
    tracing::info!(venue = %config.node.venue, node = %config.node.id, roles = ?config.node.roles, "node started");
    super::systemd::notify("READY=1");
    let watchdog = super::systemd::watchdog_period();
    if let Some(period) = watchdog {
        node.workers
            .push(runtime.spawn(super::systemd::run_watchdog(period, shutdown.clone())));
    }
    let signal_trigger = trigger.clone();
    runtime.spawn(async move {
        wait_for_stop_signal().await;
        tracing::info!("stopping");
        signal_trigger.trigger();
    });
    // A console's voucher replica is not a counter: only the counter role gets the panel.
    let counter_panel = node
        .counter
        .clone()
        .filter(|_| config.has_role(Role::Counter));
    if node.screen == ScreenPlan::Window {
        let mut thumbnails = None;
        if config.display.thumbnails {
            let (sender, task) = spawn_thumbnail_publisher(&runtime, &node, shutdown.clone());
            node.workers.push(task);
            thumbnails = Some(sender);
        }
        let setup = ScreenSetup {
            config: config.clone(),
            presentation: node.presentation.clone(),
            drawing: node.drawing.clone(),
            runtime: runtime.handle().clone(),
            thumbnails,
            counter: counter_panel,
            // Under systemd's watchdog the UI thread proves it is turning.
            ui_heartbeat: watchdog.is_some(),
            shutdown: shutdown.clone(),
        };
        let reason = match run_window(setup) {
            ScreenExit::Closed if shutdown.is_triggered() => None,
            ScreenExit::Closed => Some("the window was closed".to_owned()),
            ScreenExit::Unavailable(reason) => {
                // A dark screen must never count as proof: the report says headless, why.
                tracing::warn!(
                    "no display available ({reason}); running headless: the view is computed and reported as not drawn"
                );
                Some(reason)
            }
        };
        if let Some(reason) = reason {
            node.drawing.send_replace(Drawing::Nothing { reason });
        }
    }
    runtime.block_on(async {
        let mut shutdown = shutdown;
        shutdown.wait().await;
    });
    super::systemd::notify("STOPPING=1");
    trigger.trigger();
    runtime.block_on(node.join());
    Ok(())
}

/// Publishes thumbnails from the UI thread, retained, one topic per node.
fn spawn_thumbnail_publisher(
    runtime: &tokio::runtime::Runtime,
    node: &NodeHandle,
    mut shutdown: Shutdown,
) -> (mpsc::Sender<Vec<u8>>, JoinHandle<()>) {
    let (sender, mut receiver) = mpsc::channel::<Vec<u8>>(2);
    let client = node.client.clone();
    let topic = Topic::venue(
        &node.identity.venue,
        TopicKind::Thumbnails,
        &node.identity.node,
    )
    .to_string();
    let task = runtime.spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                png = receiver.recv() => match png {
                    None => break,
                    Some(png) => {
                        if client.try_publish(topic.clone(), QoS::AtMostOnce, true, png).is_err() {
                            tracing::debug!("thumbnail skipped: the MQTT request queue is full");
                        }
                    }
                },
            }
        }
    });
    (sender, task)
}

/// SIGTERM (systemd) or SIGINT (Ctrl-C).
pub async fn wait_for_stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(error) => {
            tracing::warn!("cannot listen for SIGTERM ({error}); stopping on Ctrl-C only");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
