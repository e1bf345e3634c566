//! A bare MQTT client for floods that knows when the broker has taken every message.

use super::*;

/// A bare MQTT client for floods that knows when the broker has taken every message:
/// it counts the broker's PUBACKs, and a lost connection fails the test instead of
/// silently dropping what was still queued.
pub struct Flooder {
    client: rumqttc::AsyncClient,
    acked: watch::Receiver<usize>,
    task: tokio::task::JoinHandle<String>,
    sent: usize,
}

impl Flooder {
    pub fn connect(port: u16) -> Self {
        let options = bare_client_options("chaos-flood", port);
        let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 1000);
        let (count, acked) = watch::channel(0usize);
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        count.send_modify(|n| *n += 1);
                    }
                    Ok(rumqttc::Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                        return "disconnected".to_owned()
                    }
                    Ok(_) => {}
                    Err(error) => return error.to_string(),
                }
            }
        });
        Self {
            client,
            acked,
            task,
            sent: 0,
        }
    }

    /// Queues one QoS 1 publish.
    pub async fn publish(&mut self, topic: &str, payload: Vec<u8>, retain: bool) {
        tokio::time::timeout(
            Duration::from_secs(20),
            self.client
                .publish(topic, rumqttc::QoS::AtLeastOnce, retain, payload),
        )
        .await
        .expect("the flood is queued in time")
        .expect("flood publish");
        self.sent += 1;
    }

    /// Waits (bounded) until the broker has acknowledged every message published so far.
    pub async fn wait_acknowledged(&mut self, within: Duration) {
        let sent = self.sent;
        // The channel closes when the client's task ends, which ends the wait too.
        let done = matches!(
            tokio::time::timeout(within, self.acked.wait_for(|n| *n >= sent)).await,
            Ok(Ok(_))
        );
        if !done && self.task.is_finished() {
            let task = &mut self.task;
            let why = task.await.unwrap_or_else(|error| error.to_string());
            panic!(
                "the flooder lost the broker after {} of {sent} acknowledgements: {why}",
                *self.acked.borrow()
            );
        }
        assert!(
            done,
            "the broker acknowledged {} of {sent} flood messages within {within:?}",
            *self.acked.borrow()
        );
    }
}

impl Drop for Flooder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
