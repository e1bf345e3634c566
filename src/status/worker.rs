//! The status worker: owns the node's [`VenueState`], applies every bus message through
//! the protocol gate, recomputes the view, tells the UI (a watch channel) and reports
//! what this node's screen drew ([`Drawing`], from the window or the offscreen renderer)
//! on its retained display topic ([`report_of`]). It publishes with `try_publish` only,
//! keeping the latest unsent report and retrying on a timer, so it can never wait on the
//! connection worker that waits on it; an unchanged report is not sent again. A timer
//! wakes it when an incident's expiry (plus the margin) passes with no keeper's resolve.

use super::report::report_of;
use crate::model::{
    compute_view_at, next_screen_change, ApplyOutcome, Drawing, LinkState, Presentation,
    VenueState, ViewMode,
};
use crate::mqtt::{BusEvent, Echo, SyncBarrier};
use crate::protocol::{decode_message, encode, DisplayReport, Identifier, Topic, TopicKind};
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
    /// What the screen drew: the report says that, not what was computed.
    pub drawing: watch::Receiver<Drawing>,
    /// Where a screen writes down the view it shows, for its next boot (`memory`).
    pub memory: Option<std::path::PathBuf>,
    pub shutdown: Shutdown,
}

/// How often an unsent report is retried while the request queue is full.
const REPORT_RETRY: Duration = Duration::from_millis(100);

impl StatusWorker {
    pub async fn run(mut self) {
        let mut state = VenueState::default();
        let mut rejects = RejectLog::new(Duration::from_secs(10));
        let mut report_due = false;
        // The report last handed to the client, so an unchanged one is not sent again.
        let mut last_sent: Option<Vec<u8>> = None;
        let mut drawing_open = true;
        // When the settled view is to be written down.
        let mut remember_at: Option<tokio::time::Instant> = None;
        let mut retry = tokio::time::interval(REPORT_RETRY);
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // An incident that ends itself changes the view with no message: wake then.
            let expiry_at = next_screen_change(&state, now()).map(crate::deadline::instant_at);
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = retry.tick(), if report_due => {}
                _ = crate::deadline::sleep_until(expiry_at) => {
                    report_due |= self.refresh_view(&state);
                }
                _ = crate::deadline::sleep_until(remember_at) => {
                    remember_at = None;
                    self.remember();
                }
                changed = self.drawing.changed(), if drawing_open => {
                    drawing_open = changed.is_ok();
                    report_due = true;
                }
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                event = self.events.recv() => match event {
                    None => break,
                    Some(BusEvent::LinkUp) => {
                        // A restored view keeps its "link lost" note until it is confirmed.
                        self.presentation.send_if_modified(|p| {
                            let up = !p.is_unconfirmed_restore() && p.link != LinkState::Up;
                            if up {
                                p.link = LinkState::Up;
                            }
                            up
                        });
                        // A new session: the broker may hold anything for our topic.
                        last_sent = None;
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
                            report_due |= self.presentation.send_if_modified(|p| {
                                let news = !p.has_state || p.link != LinkState::Up;
                                p.has_state = true;
                                p.link = LinkState::Up;
                                news
                            });
                            // A view restored from disk gives way to the venue's.
                            report_due |= self.refresh_view(&state);
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
                report_due = !self.publish_report(&mut last_sent);
                if remember_at.is_none() && self.memory.is_some() {
                    remember_at = Some(tokio::time::Instant::now() + super::memory::SETTLE);
                }
            }
        }
        self.publish_offline_and_disconnect();
    }

    /// Recomputes the view (with any incident past its expiry and margin ended, by this
    /// node's clock: `model::expiry`); true when what the screen is told changed (the
    /// report may then change too).
    fn refresh_view(&self, state: &VenueState) -> bool {
        let view = compute_view_at(state, now());
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
                p.drill_full_screen = view.drill_full_screen_for(&self.identity.node);
                p.view = view;
                p.shown_since = now();
                changed = true;
            }
            changed || first_state
        })
    }

    /// Publishes what this node shows unless it is what was last sent; false when the
    /// request queue is full.
    fn publish_report(&self, last_sent: &mut Option<Vec<u8>>) -> bool {
        let report: DisplayReport = {
            let presentation = self.presentation.borrow().clone();
            let drawing = self.drawing.borrow().clone();
            report_of(&self.identity, &presentation, &drawing)
        };
        let payload = encode(&report);
        if last_sent.as_ref() == Some(&payload) {
            return true;
        }
        let sent = self
            .client
            .try_publish(
                self.identity.display_topic(),
                QoS::AtLeastOnce,
                true,
                payload.clone(),
            )
            .is_ok();
        if sent {
            *last_sent = Some(payload);
        }
        sent
    }

    /// Writes the view on screen down for the next boot, off the async threads; only a
    /// view read from the broker, never a restored one.
    fn remember(&self) {
        let (Some(path), presentation) = (self.memory.clone(), self.presentation.borrow().clone())
        else {
            return;
        };
        if !presentation.has_state {
            return;
        }
        tokio::task::spawn_blocking(move || {
            if let Err(error) = super::memory::save(&path, &presentation.view, now()) {
                tracing::warn!("cannot remember the view for the next boot: {error:#}");
            }
        });
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
