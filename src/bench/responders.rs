//! The natural limit of a switch: bare MQTT responders. N plain rumqttc clients on the same
//! broker (same settings, one connection each, in this process) that subscribe to the
//! venue's declarations and, for each one, publish a retained QoS 1 answer on their own
//! display topic — no gate, no view, no rendering. The observer times from its publish to
//! the last answer, exactly as the switch benchmark times from the declaration to the last
//! drawn confirmation, so the ratio of the two is what raincheck itself costs.

use super::fleet::VENUE;
use anyhow::{bail, Context, Result};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// Clients connected at once; larger bursts only measure the broker's accept queue.
const START_BATCH: usize = 250;

/// Where the broker is: the host and port of the switch benchmark's.
#[derive(Clone)]
pub struct Broker {
    pub host: String,
    pub port: u16,
}

fn options(broker: &Broker, client_id: String) -> MqttOptions {
    let mut options = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    options.set_keep_alive(Duration::from_secs(30));
    options.set_max_packet_size(1 << 20, 1 << 20);
    options.set_inflight(100);
    options
}

/// A client with the transport settings raincheck's own sessions use (no Nagle delay).
fn client(
    broker: &Broker,
    client_id: String,
    capacity: usize,
) -> (AsyncClient, rumqttc::EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options(broker, client_id), capacity);
    let mut network = eventloop.network_options();
    network.set_tcp_nodelay(true);
    eventloop.set_network_options(network);
    (client, eventloop)
}

/// One responder: answers every declaration it hears with its round marker.
async fn respond(broker: Broker, index: usize, connected: mpsc::Sender<()>) {
    let (client, mut eventloop) = client(&broker, format!("bare-{index}"), 64);
    let incident = format!("raincheck/v1/{VENUE}/incident/+");
    let answer_topic = format!("raincheck/v1/{VENUE}/displays/bare-{index}");
    let mut announced = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                let _ = client.try_subscribe(incident.clone(), QoS::AtLeastOnce);
            }
            Ok(Event::Incoming(Packet::SubAck(_))) if !announced => {
                announced = true;
                let _ = connected.send(()).await;
            }
            Ok(Event::Incoming(Packet::Publish(publish))) if !publish.retain => {
                let _ = client.try_publish(
                    answer_topic.clone(),
                    QoS::AtLeastOnce,
                    true,
                    publish.payload.to_vec(),
                );
            }
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Times `rounds` bare switches of `responders` answers on `broker`.
pub async fn bare_switches(
    broker: &Broker,
    responders: usize,
    rounds: usize,
) -> Result<Vec<Duration>> {
    let (connected_tx, mut connected) = mpsc::channel(responders.max(1));
    let mut tasks = Vec::with_capacity(responders);
    for batch_start in (0..responders).step_by(START_BATCH) {
        let batch_end = (batch_start + START_BATCH).min(responders);
        for index in batch_start..batch_end {
            tasks.push(tokio::spawn(respond(
                broker.clone(),
                index,
                connected_tx.clone(),
            )));
        }
        for _ in batch_start..batch_end {
            tokio::time::timeout(ROUND_TIMEOUT, connected.recv())
                .await
                .context("bare responders did not subscribe within 60 s")?;
        }
    }
    let (observer, mut events) = client(broker, "bare-observer".into(), 1024);
    observer
        .subscribe(format!("raincheck/v1/{VENUE}/displays/+"), QoS::AtLeastOnce)
        .await?;
    let (answers_tx, mut answers) = mpsc::channel::<(String, Vec<u8>)>(responders.max(1) * 2);
    let poller = tokio::spawn(async move {
        while let Ok(event) = events.poll().await {
            if let Event::Incoming(Packet::Publish(publish)) = event {
                if answers_tx
                    .send((publish.topic, publish.payload.to_vec()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    });
    let trigger_topic = format!("raincheck/v1/{VENUE}/incident/bench");
    let mut samples = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let marker = format!("bare-round-{round}").into_bytes();
        let trigger_at = Instant::now();
        observer
            .publish(
                trigger_topic.clone(),
                QoS::AtLeastOnce,
                false,
                marker.clone(),
            )
            .await?;
        let mut answered = HashSet::with_capacity(responders);
        while answered.len() < responders {
            let Ok(Some((topic, payload))) =
                tokio::time::timeout_at(trigger_at + ROUND_TIMEOUT, answers.recv()).await
            else {
                bail!(
                    "round {round}: only {} of {responders} bare responders answered within 60 s",
                    answered.len()
                );
            };
            if payload == marker {
                answered.insert(topic);
            }
        }
        samples.push(trigger_at.elapsed());
    }
    let _ = observer.try_disconnect();
    poller.abort();
    for task in tasks {
        task.abort();
    }
    Ok(samples)
}

/// The limit, side by side: as many bare clients that only answer on the same broker at
/// `url`, `rounds` times; prints their figures and `ours` (what `what` measured) as a ratio.
pub async fn print_against_bare(
    url: &str,
    responders: usize,
    rounds: usize,
    ours: &super::stats::Percentiles,
    what: &str,
) -> anyhow::Result<()> {
    use anyhow::Context;
    let parsed = url::Url::parse(url).context("the broker URL")?;
    let broker = Broker {
        host: parsed.host_str().unwrap_or("127.0.0.1").to_owned(),
        port: parsed.port().unwrap_or(1883),
    };
    let bare = bare_switches(&broker, responders, rounds).await?;
    let bare = super::stats::percentiles(&bare).context("no bare rounds were run")?;
    println!("trigger -> all {responders} bare MQTT responders answered: {bare}");
    let ratio =
        |ours: Duration, limit: Duration| ours.as_secs_f64() / limit.as_secs_f64().max(1e-9);
    println!(
        "{what} / bare MQTT: p50 {:.2}x, p99 {:.2}x",
        ratio(ours.p50, bare.p50),
        ratio(ours.p99, bare.p99)
    );
    Ok(())
}
