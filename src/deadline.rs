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
