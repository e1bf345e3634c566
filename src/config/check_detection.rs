//! Checks of the `[detection]` section: thresholds in range, probe targets that parse,
//! unique source ids, and a POS endpoint that listens on loopback only (POS software runs
//! on the same machine; nothing else may report outcomes).

use super::sections::{NodeConfig, Role};

pub(super) fn check_detection(config: &NodeConfig, push: &mut impl FnMut(&str, String)) {
    let detection = &config.detection;
    if config.has_role(Role::Detector)
        && detection.probes.is_empty()
        && detection.pos_listen.is_none()
    {
        push(
            "detection",
            "the detector role needs a source: set detection.pos_listen or add a [[detection.probes]]".into(),
        );
    }
    if let Some(address) = detection.pos_listen {
        if !address.ip().is_loopback() {
            push(
                "detection.pos_listen",
                format!("{address} is not a loopback address; POS software reports on this machine only (127.0.0.1)"),
            );
        }
    }
    for (key, value, range) in [
        (
            "detection.enter_failures",
            detection.enter_failures,
            1..=100,
        ),
        (
            "detection.enter_window_secs",
            detection.enter_window_secs,
            1..=3600,
        ),
        (
            "detection.leave_successes",
            detection.leave_successes,
            1..=100,
        ),
        (
            "detection.leave_window_secs",
            detection.leave_window_secs,
            0..=3600,
        ),
        ("detection.quorum", detection.quorum, 1..=100),
    ] {
        if !range.contains(&value) {
            push(
                key,
                format!(
                    "{value} is out of range; use {} to {}",
                    range.start(),
                    range.end()
                ),
            );
        }
    }
    let mut ids = std::collections::BTreeSet::new();
    for probe in &detection.probes {
        if !ids.insert(probe.id.clone()) {
            push(
                "detection.probes",
                format!("probe id {} is used twice", probe.id),
            );
        }
        if let Err(message) = crate::detection::ProbeTarget::parse(&probe.target) {
            push("detection.probes", format!("probe {}: {message}", probe.id));
        }
        if !(1..=3600).contains(&probe.interval_secs) {
            push(
                "detection.probes",
                format!("probe {}: interval_secs must be 1 to 3600", probe.id),
            );
        }
        if !(100..=60_000).contains(&probe.timeout_ms) {
            push(
                "detection.probes",
                format!("probe {}: timeout_ms must be 100 to 60000", probe.id),
            );
        }
    }
}
