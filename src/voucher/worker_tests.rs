//! Tests of `worker.rs`, kept apart so the module itself reads in one sitting.

use super::*;
use crate::config::{OfferConfig, OfflineRedemption};
use crate::mqtt::test_support::{client_with_room_for, queued_publishes};
use crate::protocol::Topic;
use crate::shutdown::shutdown_pair;
use std::time::Duration;

fn id(text: &str) -> Identifier {
    Identifier::parse(text).unwrap()
}

fn counter_section() -> CounterSection {
    CounterSection {
        terminal: 1,
        secret_file: "unused".into(),
        offline_redemption: OfflineRedemption::Allow,
        printer: None,
        offers: vec![OfferConfig {
            id: id("popcorn"),
            number: 1,
            title: "Popcorn".into(),
            terms: String::new(),
            validity_days: 30,
            per_incident_cap: None,
            till_cap: None,
            till_value_cap: None,
            venue_cap: None,
            venue_value_cap: None,
            face_value: None,
        }],
        api_listen: None,
        answer_secs: 30,
        language: None,
        staff_sign_in: false,
        currency: None,
        words: Default::default(),
        managers: Vec::new(),
    }
}

/// A counter whose sync barrier found the MQTT request queue full when its link came
/// up must not stop serving: the barrier is sent again once there is room, and when
/// its echo comes back the counter issues.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_barrier_dropped_on_a_full_queue_is_sent_again_and_the_counter_serves() {
    let directory = tempfile::tempdir().unwrap();
    let secret = crate::voucher::VoucherSecret::new("v", &[7u8; 32]).unwrap();
    let store = VoucherStore::open(directory.path(), &id("v"), &id("till-1"), 1, secret).unwrap();
    // Room for one request, and it is taken: every publish of the worker fails until
    // the test drains the queue.
    let (client, mut eventloop) = client_with_room_for(1);
    client
        .try_publish("raincheck/v1/v/x", QoS::AtMostOnce, false, "filler")
        .unwrap();
    let barrier_topic = Topic::sync_barrier(&id("v"), "raincheck-v-till-1-vouchers");
    let (events_in, events) = mpsc::channel(16);
    let (trigger, shutdown) = shutdown_pair();
    let serving = Flag::default();
    let (handle, worker) = VoucherWorker::new(
        Arc::new(store),
        id("till-1"),
        id("v"),
        counter_section(),
        client,
        events,
        SyncBarrier::new(barrier_topic.clone()),
        serving.clone(),
        None,
        shutdown,
    );
    let task = tokio::spawn(worker.run());
    events_in.send(BusEvent::LinkUp).await.unwrap();
    // Online but not synced: the request waits (it is not refused).
    let issue = tokio::spawn({
        let handle = handle.clone();
        async move { handle.issue(id("popcorn"), None, None).await }
    });
    // Drain the queue until the barrier's token goes out (bounded).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let token = loop {
        let sent = queued_publishes(&mut eventloop);
        if let Some((_, token)) = sent.into_iter().find(|(topic, _)| *topic == barrier_topic) {
            break token;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the barrier was never sent again after the queue had room"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!serving.get(), "not serving before the echo");
    events_in
        .send(BusEvent::Message {
            topic: barrier_topic,
            payload: token.into(),
            ack: None,
        })
        .await
        .unwrap();
    let issued = tokio::time::timeout(Duration::from_secs(10), issue)
        .await
        .expect("the counter serves once its barrier is back")
        .unwrap()
        .expect("issued");
    assert_eq!(issued.code.fields.terminal, 1);
    assert!(serving.get());
    trigger.trigger();
    task.await.unwrap();
}
