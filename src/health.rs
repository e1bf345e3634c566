//! Readiness, as `GET /healthz` tells it on every local HTTP endpoint of a node: whether
//! its status session has read the broker's whole retained set since the link last came
//! up (synced), and on a counter whether the voucher worker serves requests. Workers set
//! their flag; the endpoints only read. Tests and operators wait on this instead of
//! probing with a call that changes something.

use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// One yes/no a worker keeps up to date.
#[derive(Clone, Debug, Default)]
pub struct Flag(Arc<AtomicBool>);

impl Flag {
    pub fn set(&self, value: bool) {
        self.0.store(value, Ordering::Relaxed);
    }

    pub fn get(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// A node's readiness flags.
#[derive(Clone, Debug, Default)]
pub struct Health {
    /// The status session has read the retained set to its sync barrier.
    pub synced: Flag,
    /// The voucher worker serves issue and redeem (counters, and consoles keeping a
    /// replica); `None` on nodes without one.
    pub serving: Option<Flag>,
}

/// What an endpoint's callers need the node to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// The console and metrics: the venue's state read (and the replica serving).
    Everything,
    /// The counter API: issue and redeem, which work offline too; `synced` is shown but
    /// a till must not stop selling rainchecks because the broker is away.
    Serving,
}

impl Health {
    /// 200 with `{"ready": true, …}` when what `needs` holds, else 503 saying what not.
    pub fn answer(&self, needs: Needs) -> (StatusCode, Json<serde_json::Value>) {
        let synced = self.synced.get();
        let serving = self.serving.as_ref().map(Flag::get);
        let ready = match needs {
            Needs::Everything => synced && serving != Some(false),
            Needs::Serving => serving == Some(true),
        };
        let mut body = serde_json::json!({ "ready": ready, "synced": synced });
        if let Some(serving) = serving {
            body["serving"] = serving.into();
        }
        if !ready {
            body["error"] = match (needs, synced, serving) {
                (Needs::Everything, false, _) => {
                    "not yet synced with the venue's broker (or the link is down)"
                }
                _ => "the voucher worker does not serve requests yet (or its store is behind)",
            }
            .into();
        }
        let status = if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, Json(body))
    }

    /// `GET /healthz` for callers that need `needs`, to merge into a router.
    pub fn route<S: Clone + Send + Sync + 'static>(&self, needs: Needs) -> Router<S> {
        let health = self.clone();
        Router::new().route("/healthz", get(move || async move { health.answer(needs) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_means_what_the_endpoints_callers_need() {
        let health = Health {
            synced: Flag::default(),
            serving: Some(Flag::default()),
        };
        assert_eq!(
            health.answer(Needs::Everything).0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        health.serving.as_ref().unwrap().set(true);
        assert_eq!(
            health.answer(Needs::Serving).0,
            StatusCode::OK,
            "a counter serving offline is ready for its till"
        );
        let (status, body) = health.answer(Needs::Everything);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body["error"].as_str().unwrap().contains("synced"));
        health.synced.set(true);
        assert_eq!(health.answer(Needs::Everything).0, StatusCode::OK);
    }
}
