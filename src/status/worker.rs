//! The status worker: owns the node's [`VenueState`], applies every bus message through
//! the protocol gate, recomputes the view, tells the UI (a watch channel) and reports
//! what this node shows on its retained display topic. It publishes with `try_publish`
//! only, keeping the latest unsent report and retrying on a timer, so it can never wait
//! on the connection worker that waits on it.

use crate::model::{compute_view, ApplyOutcome, LinkState, Presentation, VenueState, ViewMode};
use crate::mqtt::{BusEvent, Echo, SyncBarrier};
use crate::protocol::{
    decode_message, encode, DisplayReport, DisplayStatus, Identifier, Topic, TopicKind,
    SCHEMA_VERSION,
};
use crate::reject_log::RejectLog;
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use std::time::Duration;
use time::OffsetDateTime;
use tokio::sync::{mpsc, watch};

/// Who this node is, for its display report.
#[derive(Clone, Debug)]
pub struct NodeIdentity {
    pub venue: Identifier,
    pub node: Identifier,
    pub name: Option<String>,
    pub roles: Vec<String>,
}

impl NodeIdentity {
    pub fn display_topic(&self) -> String {
        Topic::venue(&self.venue, TopicKind::Displays, &self.node).to_string()
    }

    pub fn offline_payload(&self) -> Vec<u8> {
        // The roles travel with the last will so an observer still knows a vanished
        // node was a screen or a counter.
        let mut report = DisplayReport::offline(&self.node, self.name.clone());
        report.roles = self.roles.clone();
        encode(&report)
    }
}

pub struct StatusWorker {
    pub identity: NodeIdentity,
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    /// Until it is reached the node shows the calm booting screen, not "normal".
    pub barrier: SyncBarrier,
    /// Whether the retained set has been read since the link came up (`/healthz`).
    pub synced: crate::health::Flag,
    pub presentation: watch::Sender<Presentation>,
    pub shutdown: Shutdown,
}

/// How often an unsent report is retried while the request queue is full.
const REPORT_RETRY: Duration = Duration::from_millis(100);

impl StatusWorker {
    pub async fn run(mut self) {
        let mut state = VenueState::default();
        let mut rejects = RejectLog::new(Duration::from_secs(10));
        let mut report_due = false;
        let mut retry = tokio::time::interval(REPORT_RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = retry.tick(), if report_due => {}
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                event = self.events.recv() => match event {
                    None => break,
                    Some(BusEvent::LinkUp) => {
                        self.presentation.send_modify(|p| p.link = LinkState::Up);
                        report_due = true;
                        self.barrier.start(&self.client);
                    }
                    Some(BusEvent::LinkDown { reason }) => {
                        tracing::warn!("status link lost ({reason}); keeping the last known view on screen");
                        self.barrier.reset();
                        self.synced.set(false);
                        let since = now();
                        self.presentation.send_if_modified(|p| match p.link {
                            LinkState::Lost { .. } => false,
                            _ => { p.link = LinkState::Lost { since }; true }
                        });
                    }
                    Some(BusEvent::Message { topic, payload, .. }) => match self.barrier.check(&topic, &payload) {
                        // Every retained message has arrived: a venue with nothing
                        // declared is now "normal", not "booting".
                        Echo::Reached => {
                            self.synced.set(true);
                            self.presentation.send_if_modified(|p| !std::mem::replace(&mut p.has_state, true));
                        }
                        Echo::Ignored => {}
                        Echo::NotBarrier => match decode_message(&topic, &payload, &self.identity.venue) {
                            Err(reason) => {
                                let kind = reason.kind();
                                crate::metrics::add("raincheck_bus_messages_refused_total", &[("reason", kind)], 1.0);
                                rejects.refused(&topic, &reason, kind);
                            }
                            Ok(message) => {
                                if state.apply(message) == ApplyOutcome::Stale {
                                    tracing::debug!(%topic, "ignored a stale message (an older revision than already known)");
                                }
                                report_due |= self.refresh_view(&state);
                            }
                        },
                    },
                }
            }
            if report_due {
                report_due = !self.publish_report();
            }
        }
        self.publish_offline_and_disconnect();
    }

    /// Recomputes the view; true when it changed (the report must then be republished).
    fn refresh_view(&self, state: &VenueState) -> bool {
        let view = compute_view(state);
        let mut changed = false;
        self.presentation.send_if_modified(|p| {
            let first_state = !p.has_state && !state.declarations.is_empty();
            p.has_state |= first_state;
            if p.view != view {
                crate::metrics::set("raincheck_view_revision", &[], view.revision as f64);
                for mode in [ViewMode::Normal, ViewMode::CashOnly, ViewMode::AllClear] {
                    let shown = if mode == view.mode { 1.0 } else { 0.0 };
                    crate::metrics::set("raincheck_view_mode", &[("mode", mode.as_str())], shown);
                }
                p.view = view;
                p.shown_since = now();
                changed = true;
            }
            changed || first_state
        });
        changed
    }

    /// Publishes what this node shows; false when the request queue is full.
    fn publish_report(&self) -> bool {
        let presentation = self.presentation.borrow().clone();
        let view = &presentation.view;
        let report = DisplayReport {
            v: SCHEMA_VERSION,
            node: self.identity.node.clone(),
            status: DisplayStatus::Online,
            name: self.identity.name.clone(),
            roles: self.identity.roles.clone(),
            revision: Some(view.revision),
            digest: Some(view.digest()),
            mode: Some(view.mode.as_str().to_owned()),
            incident_id: view.incident_id.clone(),
            since: Some(presentation.shown_since),
        };
        let payload = encode(&report);
        self.client
            .try_publish(
                self.identity.display_topic(),
                QoS::AtLeastOnce,
                true,
                payload,
            )
            .is_ok()
    }

    /// On a graceful stop the last will is not sent, so say "offline" ourselves.
    fn publish_offline_and_disconnect(&self) {
        let topic = self.identity.display_topic();
        let _ = self.client.try_publish(
            topic,
            QoS::AtLeastOnce,
            true,
            self.identity.offline_payload(),
        );
        let _ = self.client.try_disconnect();
    }
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
