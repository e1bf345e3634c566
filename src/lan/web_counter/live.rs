//! The page's live status: `GET /counter/api/live?lang=…`, Server-Sent Events — a
//! `status` event when the page connects and after every change of what the node's
//! screens show (and when the all-clear period ends), a `ping` every few seconds so a
//! page notices a dead link within seconds, until the session ends. `GET
//! /counter/api/state` answers the same status once.
//!
//! Bounds: a stream holds one watch receiver, never a queue; an address holds at most
//! `PER_ADDRESS` streams and the node `TOTAL` (429 with Retry-After beyond, which the
//! page honours with its backoff), so a flood of reconnects costs a refusal each.

use super::session::{Refusal, Shared, Staff};
use super::words::PageWords;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// How often an idle stream says it is alive (the page gives up after 12 s of silence).
const PING: Duration = Duration::from_secs(5);
/// Live streams one address may hold: a page, a reload overlapping it, a second tab.
pub const PER_ADDRESS: usize = 4;
/// Live streams the node holds in all.
pub const TOTAL: usize = 64;
/// What a refused page is told to wait, in seconds.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Deserialize)]
pub(super) struct LanguageQuery {
    lang: Option<String>,
}

/// The page's language from `?lang=`; anything malformed counts as none.
type LanguageParam = Result<Query<LanguageQuery>, axum::extract::rejection::QueryRejection>;

fn requested(query: LanguageParam) -> Option<String> {
    query.ok().and_then(|Query(q)| q.lang)
}

/// The status now, once.
pub(super) async fn state(
    State(shared): State<Shared>,
    _staff: Staff,
    query: LanguageParam,
) -> Json<serde_json::Value> {
    let language = requested(query);
    let words = PageWords::new(&shared.config, language.as_deref());
    let (status, _) = words.status(&shared.presentation_now(), OffsetDateTime::now_utc());
    Json(status)
}

/// The labels in a language: what the sign-in form shows before anyone is signed in.
pub(super) async fn labels(
    State(shared): State<Shared>,
    query: LanguageParam,
) -> Json<serde_json::Value> {
    let language = requested(query);
    Json(PageWords::new(&shared.config, language.as_deref()).labels())
}

pub(super) async fn events(
    State(shared): State<Shared>,
    staff: Staff,
    query: LanguageParam,
) -> Response {
    let slot = match shared.streams.take(staff.from.0.ip()) {
        Ok(slot) => slot,
        Err(refusal) => return refusal.into_response(),
    };
    let language = requested(query);
    let mut receiver = shared.presentation.clone();
    receiver.mark_changed();
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING, PING);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let live = Live {
        shared,
        token: staff.token,
        language,
        receiver,
        ping,
        recheck: None,
        _slot: slot,
    };
    let stream = futures_util::stream::unfold(live, |mut live| async move {
        let event = tokio::select! {
            changed = live.receiver.changed() => {
                changed.ok()?;
                live.status_event()
            }
            _ = crate::deadline::sleep_until(live.recheck) => live.status_event(),
            _ = live.ping.tick() => Event::default().event("ping").data(""),
        };
        // A session that ended (sign-out, expiry) stops receiving the venue's state
        // within a ping.
        live.shared.access().session(&live.token, Instant::now())?;
        Some((Ok::<_, Infallible>(event), live))
    });
    Sse::new(stream).into_response()
}

/// One open stream.
struct Live {
    shared: Shared,
    token: String,
    language: Option<String>,
    receiver: tokio::sync::watch::Receiver<crate::model::Presentation>,
    ping: tokio::time::Interval,
    /// When the banner must be worded again without news (the all-clear period's end).
    recheck: Option<tokio::time::Instant>,
    _slot: StreamSlot,
}

impl Live {
    fn status_event(&mut self) -> Event {
        // One short borrow: never held while anything else happens.
        let presentation = self.receiver.borrow_and_update().clone();
        let words = PageWords::new(&self.shared.config, self.language.as_deref());
        let (status, recheck) = words.status(&presentation, OffsetDateTime::now_utc());
        self.recheck = recheck.map(|after| tokio::time::Instant::now() + after);
        Event::default().event("status").data(status.to_string())
    }
}

/// How many live streams are open, in all and per address.
#[derive(Default)]
pub struct StreamSlots {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl StreamSlots {
    /// A slot for a stream from `from`, held until the stream ends; or the refusal.
    fn take(&self, from: IpAddr) -> Result<StreamSlot, Refusal> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let total: usize = open.values().sum();
        let mine = open.get(&from).copied().unwrap_or(0);
        let refusal = if mine >= PER_ADDRESS {
            Some(format!(
                "this device already has {PER_ADDRESS} live counter pages open; close one, or wait and the page retries"
            ))
        } else if total >= TOTAL {
            Some(format!(
                "this counter already serves {TOTAL} live pages; try again shortly"
            ))
        } else {
            None
        };
        if let Some(message) = refusal {
            let mut refusal = Refusal::new(StatusCode::TOO_MANY_REQUESTS, message);
            refusal.retry_after = Some(RETRY_AFTER_SECS);
            return Err(refusal);
        }
        *open.entry(from).or_insert(0) += 1;
        Ok(StreamSlot {
            open: self.open.clone(),
            from,
        })
    }
}

/// A held stream slot, given back when dropped.
struct StreamSlot {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    from: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.from) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                open.remove(&self.from);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_bounded_per_address_and_given_back() {
        let slots = StreamSlots::default();
        let one: IpAddr = [10, 0, 0, 5].into();
        let held: Vec<_> = (0..PER_ADDRESS).map(|_| slots.take(one).unwrap()).collect();
        let refused = slots.take(one).err().expect("one too many");
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.retry_after, Some(RETRY_AFTER_SECS));
        assert!(slots.take([10, 0, 0, 6].into()).is_ok());
        drop(held);
        assert!(slots.take(one).is_ok());
        assert!(
            slots.open.lock().unwrap().is_empty(),
            "every slot given back"
        );
    }
}
