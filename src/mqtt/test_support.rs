//! For unit tests of code that publishes: a real rumqttc client whose request queue is
//! small, and what it queued, without a broker (its event loop is never polled).

use rumqttc::{AsyncClient, EventLoop, MqttOptions, Request};

/// A client whose request queue holds `room` requests, and its (unpolled) event loop.
pub fn client_with_room_for(room: usize) -> (AsyncClient, EventLoop) {
    AsyncClient::new(MqttOptions::new("unit-test", "127.0.0.1", 1), room)
}

/// Takes every publish the client queued, as (topic, payload): the queue has room again.
pub fn queued_publishes(eventloop: &mut EventLoop) -> Vec<(String, Vec<u8>)> {
    eventloop.clean();
    eventloop
        .pending
        .drain(..)
        .filter_map(|request| match request {
            Request::Publish(publish) => Some((publish.topic, publish.payload.to_vec())),
            _ => None,
        })
        .collect()
}
