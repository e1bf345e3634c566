//! The detector's worker: its own MQTT session on the view's inputs, one debouncer per
//! source (probes and the POS), and the policy. A debounced change is published as the
//! source's retained health; after every change to the retained set the policy may raise
//! or end this detector's automatic incident. Nothing is published before the retained
//! set has been read to the sync barrier, so revisions and decisions see everything.

use super::debounce::{Debounced, Debouncer, Outcome};
use super::policy::{decide, Decision, Policy};
use crate::model::{
    incident_id, prepare_declaration, prepare_own_resolve, DeclareAction, DeclareRequest, Template,
    VenueState,
};
use crate::mqtt::{BusEvent, Echo, SyncBarrier};
use crate::protocol::{
    decode_message, encode, Authority, Identifier, IncidentTexts, PaymentHealth, PaymentStatus,
    Scope, Topic, TopicKind, SCHEMA_VERSION,
};
use crate::shutdown::Shutdown;
use rumqttc::{AsyncClient, QoS};
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use tokio::sync::mpsc;

/// One outcome of one source, from a probe task or the POS endpoint.
#[derive(Debug)]
pub struct SourceOutcome {
    pub source: Identifier,
    pub outcome: Outcome,
    pub detail: String,
}

pub struct DetectorWorker {
    pub venue: Identifier,
    pub incident_source: Identifier,
    pub policy: Policy,
    pub templates: Template,
    pub sources: BTreeMap<Identifier, Debouncer>,
    /// Nothing is published before it is reached: revisions and decisions see everything.
    pub barrier: SyncBarrier,
    pub client: AsyncClient,
    pub events: mpsc::Receiver<BusEvent>,
    pub outcomes: mpsc::Receiver<SourceOutcome>,
    pub shutdown: Shutdown,
}

struct Bus {
    state: VenueState,
    /// Sources whose debounced state changed and is not yet published.
    unpublished: BTreeMap<Identifier, String>,
    /// Whether each source's state was set from its retained health after (re)start.
    adopted: BTreeSet<Identifier>,
}

impl DetectorWorker {
    pub async fn run(mut self) {
        let started = tokio::time::Instant::now();
        let mut bus = Bus {
            state: VenueState::default(),
            unpublished: BTreeMap::new(),
            adopted: BTreeSet::new(),
        };
        // A decision or health the MQTT queue refused is retried on this tick.
        let mut retry = tokio::time::interval(std::time::Duration::from_secs(1));
        retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.shutdown.wait() => break,
                _ = retry.tick() => {}
                _ = crate::deadline::sleep_until(self.barrier.retry_at()) => {
                    self.barrier.send_if_due(&self.client);
                }
                outcome = self.outcomes.recv() => match outcome {
                    None => break,
                    Some(SourceOutcome { source, outcome, detail }) => {
                        let Some(debouncer) = self.sources.get_mut(&source) else { continue };
                        if let Some(changed) = debouncer.observe(outcome, started.elapsed()) {
                            let down = if changed == Debounced::Down { 1.0 } else { 0.0 };
                            crate::metrics::set("raincheck_payment_source_down", &[("source", source.as_str())], down);
                            tracing::warn!(%source, state = ?changed, %detail, "payment source changed");
                            bus.unpublished.insert(source, detail);
                        }
                    }
                },
                event = self.events.recv() => match event {
                    None => break,
                    Some(event) => self.handle_event(event, &mut bus),
                },
            }
            if self.barrier.reached() {
                self.publish_health(&mut bus);
                self.apply_policy(&mut bus);
            }
        }
    }

    fn handle_event(&mut self, event: BusEvent, bus: &mut Bus) {
        match event {
            BusEvent::LinkUp => self.barrier.start(&self.client),
            BusEvent::LinkDown { reason } => {
                tracing::warn!("detector: link to the broker lost: {reason}");
                self.barrier.reset();
            }
            BusEvent::Message { topic, payload, .. } => {
                match self.barrier.check(&topic, &payload) {
                    Echo::Reached => return self.adopt_retained_health(bus),
                    Echo::Ignored => return,
                    Echo::NotBarrier => {}
                }
                match decode_message(&topic, &payload, &self.venue) {
                    Ok(message) => {
                        bus.state.apply(message);
                    }
                    Err(reason) => tracing::debug!(%topic, "detector ignored a message: {reason}"),
                }
            }
        }
    }

    /// After a restart, a source the broker still holds as down stays down until it has
    /// shown its recovery here; a source with no retained health announces itself.
    fn adopt_retained_health(&mut self, bus: &mut Bus) {
        for (source, debouncer) in self.sources.iter_mut() {
            if !bus.adopted.insert(source.clone()) {
                continue;
            }
            match bus.state.payments.get(source) {
                Some(health) if health.status == PaymentStatus::Down => {
                    if debouncer.state() == Debounced::Up {
                        *debouncer = Debouncer::down(debouncer.rules());
                    }
                    // Already said (probes may have run before the broker answered):
                    // republishing would be a "new" failure after a manager's resolve.
                    bus.unpublished.remove(source);
                }
                Some(_) if debouncer.state() == Debounced::Up => {
                    bus.unpublished.remove(source);
                }
                Some(_) => {}
                None => {
                    bus.unpublished
                        .entry(source.clone())
                        .or_insert_with(|| "started".to_owned());
                }
            }
        }
    }

    fn publish_health(&mut self, bus: &mut Bus) {
        let mut waiting = std::mem::take(&mut bus.unpublished).into_iter();
        while let Some((source, detail)) = waiting.next() {
            let Some(debouncer) = self.sources.get(&source) else {
                continue;
            };
            let status = match debouncer.state() {
                Debounced::Up => PaymentStatus::Ok,
                Debounced::Down => PaymentStatus::Down,
            };
            let Ok(revision) = bus.state.next_revision() else {
                tracing::error!("detector: the revision range is used up; see `raincheck status`");
                bus.unpublished.insert(source, detail);
                bus.unpublished.extend(waiting);
                return;
            };
            let health = PaymentHealth {
                v: SCHEMA_VERSION,
                source: source.clone(),
                status,
                revision,
                since: OffsetDateTime::now_utc(),
                detail: Some(detail).filter(|d| !d.is_empty()),
                // Published on changes only: each report starts its own state.
                down_since_revision: None,
            };
            let topic = Topic::venue(&self.venue, TopicKind::Payments, &source).to_string();
            let payload = encode(&health);
            if self
                .client
                .try_publish(topic, QoS::AtLeastOnce, true, payload)
                .is_err()
            {
                bus.unpublished
                    .insert(source, health.detail.unwrap_or_default());
                continue;
            }
            // Applied at once, so the policy and the next revision see it.
            bus.state
                .apply(crate::protocol::BusMessage::Payment(health));
        }
    }

    fn apply_policy(&mut self, bus: &mut Bus) {
        let Some(decision) = decide(&bus.state, self.policy, &self.incident_source) else {
            return;
        };
        let now = OffsetDateTime::now_utc();
        let prepared = match decision {
            Decision::Start => {
                let request = DeclareRequest {
                    action: DeclareAction::Start,
                    source: self.incident_source.clone(),
                    authority: Authority::Automatic,
                    actor: Some("automatic detection".to_owned()),
                    texts: IncidentTexts::default(),
                    translations: Default::default(),
                    offer_id: None,
                    next_update_by: None,
                    expires_at: None,
                };
                let fresh = incident_id(now, rand::random());
                prepare_declaration(&bus.state, request, Some(&self.templates), now, fresh)
                    .map(|prepared| prepared.declaration)
            }
            // Its own incident, whatever the view shows (it may be hidden by a manager).
            Decision::Resolve => {
                match prepare_own_resolve(&bus.state, &self.incident_source, now) {
                    Some(prepared) => prepared,
                    None => return,
                }
            }
        };
        let declaration = match prepared {
            Ok(declaration) => declaration,
            Err(refusal) => {
                tracing::error!("detector cannot declare: {refusal}");
                return;
            }
        };
        let topic =
            Topic::venue(&self.venue, TopicKind::Incident, &self.incident_source).to_string();
        let payload = encode(&declaration);
        if self
            .client
            .try_publish(topic, QoS::AtLeastOnce, true, payload)
            .is_err()
        {
            tracing::warn!(
                "detector: the MQTT queue is full; the decision is retried on the next change"
            );
            return;
        }
        tracing::warn!(incident = %declaration.incident_id, revision = declaration.revision, ?decision, "automatic incident");
        bus.state.apply(crate::protocol::BusMessage::Declaration {
            scope: Scope::Venue,
            declaration,
        });
    }
}
