//! The live stream: one `snapshot` Server-Sent Event when a page connects and one after
//! every change (the bus worker coalesces them), until the session ends — at the next
//! change, or within a re-check period when nothing changes.

use super::http::{Context, Manager};
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use std::convert::Infallible;
use std::time::{Duration, Instant};

/// How often an idle live stream re-checks that its session still exists.
const SESSION_RECHECK: Duration = Duration::from_secs(15);

/// One `snapshot` event now and one after every change, until the session ends.
pub(super) async fn events(
    State(context): State<Context>,
    manager: Manager,
) -> Sse<impl futures_util::Stream<Item = Result<Event, Infallible>>> {
    let mut receiver = context.snapshots.clone();
    receiver.mark_changed();
    let stream = futures_util::stream::unfold(
        (receiver, context, manager.token),
        |(mut receiver, context, token)| async move {
            // A session that ended (sign-out, expiry) stops receiving the venue's state: at
            // the next change, or within a check period if nothing changes.
            loop {
                context.access().session(&token, Instant::now())?;
                match tokio::time::timeout(SESSION_RECHECK, receiver.changed()).await {
                    Ok(changed) => break changed.ok()?,
                    Err(_) => continue,
                }
            }
            context.access().session(&token, Instant::now())?;
            let json = receiver.borrow_and_update().json.clone();
            let event = Event::default().event("snapshot").data(json);
            Some((Ok(event), (receiver, context, token)))
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
