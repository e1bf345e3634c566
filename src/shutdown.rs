//! One shutdown signal for every worker (house rule 5): the daemon triggers it on
//! SIGTERM/SIGINT, every worker's `select!` has a branch for it, and the daemon then
//! waits for the workers under a timeout.

use tokio::sync::watch;

/// Held by whoever decides to stop; dropping it also stops everything.
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// Held by every worker.
#[derive(Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

pub fn shutdown_pair() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }

    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }
}

impl Shutdown {
    /// Resolves once shutdown is triggered (or the trigger is gone). Cancel-safe.
    pub async fn wait(&mut self) {
        let _ = self.receiver.wait_for(|stopping| *stopping).await;
    }

    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }
}
