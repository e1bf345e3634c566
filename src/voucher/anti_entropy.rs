//! Anti-entropy between counters, decided purely, so nothing depends on the broker's
//! queue: each counter publishes its watermarks (per origin, the highest sequence it
//! holds without gaps) retained on `…/voucher-marks/{node}`. A counter that sees a peer
//! behind on *its own* events replays them; while an origin is offline, the online
//! counter with the smallest id among those holding more serves its events instead. A
//! terminal offline for hours, or brand new, thus catches up from every origin that is
//! online; the store ignores what it already has.
//!
//! This module only decides (which peer needs what, which replay to send, whether our own
//! store has gone back in time); the voucher worker reads the store and publishes.

use crate::protocol::vouchers::{VoucherEvent, VoucherMarks, REPLAY_MAX_BYTES};
use crate::protocol::Identifier;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// How long a replay to a peer holds back the same replay again. Longer than the peer
/// needs to apply a large catch-up (100,000 events take about 2 s), short enough that a
/// replay lost on the way is sent again at the peer's next marks heartbeat but one.
pub const REPLAY_MEMORY: Duration = Duration::from_secs(15);

/// One replay to send: `origin`'s events after `after`, for `peer`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replay {
    pub peer: Identifier,
    pub origin: Identifier,
    /// The peer's mark for `origin`: it holds every event up to here.
    pub after: u64,
    /// Our mark for `origin` when the replay was decided.
    pub upto: u64,
}

/// How long marks count as a sign of life. Marks are republished every 10 s; a counter
/// that vanished without its (non-retained) last will reaching us — we joined after it
/// died and read only its retained marks — counts as offline after this, so its events
/// are served by the others.
pub const PRESENCE_TIMEOUT: Duration = Duration::from_secs(35);

/// What a peer's marks call for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarksOutcome {
    /// The peer holds our own events up to this sequence, beyond what our store holds:
    /// our store has gone back in time (restored from an old backup?), and new events
    /// would reuse sequences and serials the venue already knows.
    pub store_behind: Option<u64>,
    pub replays: Vec<Replay>,
}

/// How far `marks` (a peer's, or our own retained ones from an earlier session) say our
/// own events go, when that is beyond what our store holds. Marks of a counter that is
/// offline still count: they are what it held when it left.
pub fn claim_beyond(
    marks: &VoucherMarks,
    node: &Identifier,
    ours: &BTreeMap<String, u64>,
) -> Option<u64> {
    let own = ours.get(node.as_str()).copied().unwrap_or(0);
    let claimed = marks.marks.get(node.as_str()).copied().unwrap_or(0);
    (claimed > own).then_some(claimed)
}

/// A peer's latest marks and when they were heard.
struct Heard {
    marks: VoucherMarks,
    at: Instant,
}

impl Heard {
    fn online(&self, now: Instant) -> bool {
        self.marks.online && now.saturating_duration_since(self.at) < PRESENCE_TIMEOUT
    }
}

/// This counter's knowledge of its peers and of the replays it recently sent.
pub struct AntiEntropy {
    node: Identifier,
    /// Every other counter's latest marks (and whether it is online).
    peers: HashMap<Identifier, Heard>,
    /// Per (peer, origin): the (their mark, our mark) of the last replay, and when.
    served: HashMap<(Identifier, Identifier), ((u64, u64), Instant)>,
}

impl AntiEntropy {
    pub fn new(node: Identifier) -> Self {
        Self {
            node,
            peers: HashMap::new(),
            served: HashMap::new(),
        }
    }

    /// The link came back: every peer may have lost what was on its way.
    pub fn link_up(&mut self) {
        self.served.clear();
    }

    /// A peer's marks arrived (already checked by the protocol gate); `ours` are this
    /// store's watermarks now.
    pub fn on_marks(
        &mut self,
        marks: VoucherMarks,
        ours: &BTreeMap<String, u64>,
        now: Instant,
    ) -> MarksOutcome {
        let store_behind = claim_beyond(&marks, &self.node, ours);
        let online = marks.online;
        let peer = marks.node.clone();
        self.peers.insert(peer.clone(), Heard { marks, at: now });
        // An online peer: what it lacks. One gone offline: its history may now be ours to
        // serve, so every online peer is looked at again.
        let peers: Vec<Identifier> = if online {
            vec![peer]
        } else {
            self.peers
                .values()
                .filter(|heard| heard.online(now))
                .map(|heard| heard.marks.node.clone())
                .collect()
        };
        let replays = peers
            .iter()
            .flat_map(|peer| self.replays_for(peer, ours, now))
            .collect();
        MarksOutcome {
            store_behind,
            replays,
        }
    }

    /// Records how a replay went: a complete one holds the same replay back for
    /// [`REPLAY_MEMORY`]; one that stopped early is asked for again by the peer's next
    /// marks.
    pub fn replayed(&mut self, replay: &Replay, complete: bool, now: Instant) {
        let key = (replay.peer.clone(), replay.origin.clone());
        if complete {
            self.served.insert(key, ((replay.after, replay.upto), now));
        } else {
            self.served.remove(&key);
        }
    }

    /// Every origin `peer` lacks that this counter is to serve, not replayed just now.
    fn replays_for(
        &self,
        peer: &Identifier,
        ours: &BTreeMap<String, u64>,
        now: Instant,
    ) -> Vec<Replay> {
        let Some(heard) = self.peers.get(peer) else {
            return Vec::new();
        };
        let mut replays = Vec::new();
        for (origin, our_mark) in ours {
            let their = heard.marks.marks.get(origin).copied().unwrap_or(0);
            if their >= *our_mark || !self.serves(origin, peer, their, now) {
                continue;
            }
            let Ok(origin) = Identifier::parse(origin) else {
                continue;
            };
            let fresh = self
                .served
                .get(&(peer.clone(), origin.clone()))
                .is_some_and(|(pair, at)| {
                    *pair == (their, *our_mark) && now.duration_since(*at) < REPLAY_MEMORY
                });
            if !fresh {
                replays.push(Replay {
                    peer: peer.clone(),
                    origin,
                    after: their,
                    upto: *our_mark,
                });
            }
        }
        replays
    }

    /// Whether this counter should send `origin`'s events to `peer`, which holds them up
    /// to `their`: always for its own; for another origin only while that origin cannot
    /// serve them itself — it is offline, or it *is* the peer and lacks its own events
    /// (its store was restored from an old backup, and this gives them back) — and then
    /// only the online counter with the smallest id among those that hold more (so one
    /// counter serves, not all of them).
    fn serves(&self, origin: &str, peer: &Identifier, their: u64, now: Instant) -> bool {
        if origin == self.node.as_str() {
            return true;
        }
        let origin_serves_itself = origin != peer.as_str()
            && self
                .peers
                .iter()
                .any(|(node, heard)| node.as_str() == origin && heard.online(now));
        if origin_serves_itself {
            return false;
        }
        let smaller_server = self.peers.values().any(|heard| {
            heard.online(now)
                && heard.marks.node.as_str() < self.node.as_str()
                && heard.marks.marks.get(origin).copied().unwrap_or(0) > their
        });
        !smaller_server
    }
}

/// The longest prefix of `events` that fits in [`REPLAY_MAX_BYTES`] (at least one event,
/// so a replay never stalls), and whether any were left for the next batch. Events carry
/// free text (staff names, void reasons): every batch stays well under the broker's
/// message limit, or it would be refused and resent forever.
pub fn cap_batch_bytes(mut events: Vec<VoucherEvent>) -> (Vec<VoucherEvent>, bool) {
    let mut bytes = 0;
    let keep = events
        .iter()
        .position(|event| {
            bytes += crate::protocol::encode(event).len() + 1;
            bytes > REPLAY_MAX_BYTES
        })
        .unwrap_or(events.len())
        .max(1);
    let cut = keep < events.len();
    events.truncate(keep);
    (events, cut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::vouchers::{VoucherChange, EVENT_VERSION, SYNC_VERSION};
    use time::OffsetDateTime;

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn marks(node: &str, online: bool, held: &[(&str, u64)]) -> VoucherMarks {
        VoucherMarks {
            v: SYNC_VERSION,
            node: id(node),
            online,
            marks: held.iter().map(|(o, m)| (o.to_string(), *m)).collect(),
        }
    }

    fn ours(held: &[(&str, u64)]) -> BTreeMap<String, u64> {
        held.iter().map(|(o, m)| (o.to_string(), *m)).collect()
    }

    #[test]
    fn a_peer_behind_on_our_events_gets_them_once_until_the_memory_fades() {
        let mut sync = AntiEntropy::new(id("till-1"));
        let now = Instant::now();
        let held = ours(&[("till-1", 10)]);
        let outcome = sync.on_marks(marks("till-2", true, &[("till-1", 4)]), &held, now);
        assert_eq!(outcome.store_behind, None);
        assert_eq!(
            outcome.replays,
            vec![Replay {
                peer: id("till-2"),
                origin: id("till-1"),
                after: 4,
                upto: 10
            }]
        );
        sync.replayed(&outcome.replays[0], true, now);
        let again = sync.on_marks(marks("till-2", true, &[("till-1", 4)]), &held, now);
        assert!(again.replays.is_empty(), "held back while it is on its way");
        let later = now + REPLAY_MEMORY;
        let resent = sync.on_marks(marks("till-2", true, &[("till-1", 4)]), &held, later);
        assert_eq!(resent.replays.len(), 1, "lost on the way: sent again");
        sync.replayed(&resent.replays[0], false, later);
        let stopped = sync.on_marks(marks("till-2", true, &[("till-1", 4)]), &held, later);
        assert_eq!(
            stopped.replays.len(),
            1,
            "a replay that stopped early is retried"
        );
    }

    #[test]
    fn an_offline_origin_is_served_by_the_smallest_online_counter_holding_more() {
        let held = ours(&[("till-3", 8)]);
        let now = Instant::now();
        let mut two = AntiEntropy::new(id("till-2"));
        // till-3 is online: it serves its own events, nobody else does.
        two.on_marks(marks("till-3", true, &[("till-3", 8)]), &held, now);
        let while_online = two.on_marks(marks("till-4", true, &[]), &held, now);
        assert!(while_online.replays.is_empty());
        // till-3 goes: till-2 (smaller than till-5) now serves till-4.
        two.on_marks(marks("till-5", true, &[("till-3", 8)]), &held, now);
        let gone = two.on_marks(marks("till-3", false, &[]), &held, now);
        assert_eq!(
            gone.replays
                .iter()
                .map(|r| (r.peer.as_str(), r.origin.as_str(), r.after))
                .collect::<Vec<_>>(),
            vec![("till-4", "till-3", 0)]
        );
        let mut five = AntiEntropy::new(id("till-5"));
        five.on_marks(marks("till-2", true, &[("till-3", 8)]), &held, now);
        five.on_marks(marks("till-4", true, &[]), &held, now);
        let gone = five.on_marks(marks("till-3", false, &[]), &held, now);
        assert!(gone.replays.is_empty(), "till-2 serves, not till-5");
    }

    #[test]
    fn a_peer_holding_more_of_our_own_events_means_our_store_went_back_in_time() {
        let mut sync = AntiEntropy::new(id("till-1"));
        let held = ours(&[("till-1", 3)]);
        let now = Instant::now();
        let online = sync.on_marks(marks("till-2", true, &[("till-1", 9)]), &held, now);
        assert_eq!(online.store_behind, Some(9));
        // A goodbye keeps what the counter held when it left: still evidence.
        let offline = sync.on_marks(marks("till-2", false, &[("till-1", 9)]), &held, now);
        assert_eq!(offline.store_behind, Some(9));
        let caught_up = ours(&[("till-1", 9)]);
        let current = sync.on_marks(marks("till-2", true, &[("till-1", 9)]), &caught_up, now);
        assert_eq!(current.store_behind, None);
    }

    #[test]
    fn a_counter_behind_on_its_own_events_gets_them_back_from_one_peer() {
        // till-1 was restored and holds its own events only up to 3; till-2 and till-3
        // hold them up to 9. Only the smaller of the two gives them back.
        let held = ours(&[("till-1", 9)]);
        let now = Instant::now();
        let mut two = AntiEntropy::new(id("till-2"));
        two.on_marks(marks("till-3", true, &[("till-1", 9)]), &held, now);
        let back = two.on_marks(marks("till-1", true, &[("till-1", 3)]), &held, now);
        assert_eq!(
            back.replays
                .iter()
                .map(|r| (r.peer.as_str(), r.origin.as_str(), r.after, r.upto))
                .collect::<Vec<_>>(),
            vec![("till-1", "till-1", 3, 9)]
        );
        let mut three = AntiEntropy::new(id("till-3"));
        three.on_marks(marks("till-2", true, &[("till-1", 9)]), &held, now);
        let back = three.on_marks(marks("till-1", true, &[("till-1", 3)]), &held, now);
        assert!(
            back.replays.is_empty(),
            "till-2 gives them back, not till-3"
        );
    }

    #[test]
    fn retained_marks_of_a_counter_that_died_stop_counting_as_online() {
        // till-3 died; its will was not retained, so a late joiner reads its last
        // heartbeat "online". After the presence timeout its events are served.
        let held = ours(&[("till-3", 8)]);
        let start = Instant::now();
        let mut two = AntiEntropy::new(id("till-2"));
        two.on_marks(marks("till-3", true, &[("till-3", 8)]), &held, start);
        let soon = two.on_marks(marks("till-4", true, &[]), &held, start);
        assert!(soon.replays.is_empty(), "till-3 still counts as online");
        let later = start + PRESENCE_TIMEOUT;
        let after = two.on_marks(marks("till-4", true, &[]), &held, later);
        assert_eq!(after.replays.len(), 1, "{after:?}");
    }

    fn event(seq: u64, reason_chars: usize) -> VoucherEvent {
        VoucherEvent {
            v: EVENT_VERSION,
            origin: id("till-1"),
            seq,
            at: OffsetDateTime::UNIX_EPOCH,
            staff: None,
            till: None,
            change: VoucherChange::Voided {
                code: "ABCD".into(),
                reason: "x".repeat(reason_chars),
            },
        }
    }

    #[test]
    fn replay_batches_stay_under_the_byte_cap_and_always_move_on() {
        let small: Vec<_> = (1..=10).map(|seq| event(seq, 10)).collect();
        let (kept, cut) = cap_batch_bytes(small);
        assert_eq!((kept.len(), cut), (10, false));
        let large: Vec<_> = (1..=500).map(|seq| event(seq, 2000)).collect();
        let (kept, cut) = cap_batch_bytes(large);
        assert!(cut && kept.len() < 500 && !kept.is_empty());
        let bytes: usize = kept
            .iter()
            .map(|e| serde_json::to_vec(e).unwrap().len())
            .sum();
        assert!(bytes <= REPLAY_MAX_BYTES, "{bytes}");
        let (kept, _) = cap_batch_bytes(vec![event(1, 400_000)]);
        assert_eq!(
            kept.len(),
            1,
            "a single event always goes, so replay never stalls"
        );
    }
}
