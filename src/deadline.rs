//! The one idiom for "no deadline" in a worker's `select!`: an `Option<Instant>`, and
//! [`sleep_until`] that waits for it or, for `None`, forever. No far-future sentinels.

use tokio::time::Instant;

/// Resolves at `deadline`; never, when there is none. Cancel-safe.
pub async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant matching a wall-clock moment (now, if it has passed): how a
/// worker waits for a time a message names, such as an incident's expiry. Read again on
/// every turn of the loop, so a wall clock set while waiting costs at most one early or
/// late wake-up, after which the caller checks the wall clock itself.
pub fn instant_at(moment: time::OffsetDateTime) -> Instant {
    let wait = moment - time::OffsetDateTime::now_utc();
    Instant::now() + std::time::Duration::try_from(wait).unwrap_or_default()
}
