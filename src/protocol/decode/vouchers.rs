//! The gate for the voucher sync topics: another counter's event batch or watermarks,
//! checked for size, version and (for marks) owner before the voucher worker acts on
//! them. The store still checks every code against the venue secret.

use super::RejectReason;
use crate::protocol::topics::{Topic, TopicKind};
use crate::protocol::vouchers::{
    VoucherBatch, VoucherChange, VoucherMarks, MAX_VOUCHER_MESSAGE_BYTES, SYNC_VERSION,
};
use crate::protocol::Identifier;

/// A voucher message that passed the gate.
#[derive(Clone, Debug)]
pub enum VoucherMessage {
    /// Events, of the sender or relayed for an offline counter.
    Batch(VoucherBatch),
    /// The watermarks of the counter whose topic they are on.
    Marks(VoucherMarks),
    /// This counter's own retained marks (from an earlier session, or the echo of this
    /// one): how far its own events went, which a store restored from a backup may not
    /// reach.
    OwnMarks(VoucherMarks),
    /// Not another counter's voucher message for this venue (our own batches, another
    /// venue's topic, another kind): nothing to do, nothing to complain about.
    NotForUs,
}

/// Checks and decodes one publish received by `node`'s voucher session in `venue`.
pub fn decode_voucher_message(
    topic_name: &str,
    payload: &[u8],
    venue: &Identifier,
    node: &Identifier,
) -> Result<VoucherMessage, RejectReason> {
    let Some(topic) = Topic::parse(topic_name) else {
        return Ok(VoucherMessage::NotForUs);
    };
    let own = topic.owner == *node;
    if topic.venue.as_ref() != Some(venue) || (own && topic.kind != TopicKind::VoucherMarks) {
        return Ok(VoucherMessage::NotForUs);
    }
    if !matches!(topic.kind, TopicKind::Vouchers | TopicKind::VoucherMarks) {
        return Ok(VoucherMessage::NotForUs);
    }
    if payload.len() > MAX_VOUCHER_MESSAGE_BYTES {
        return Err(RejectReason::Oversized {
            bytes: payload.len(),
            limit: MAX_VOUCHER_MESSAGE_BYTES,
        });
    }
    // serde's messages could quote codes from the payload: they are not passed on.
    if topic.kind == TopicKind::Vouchers {
        let batch: VoucherBatch = serde_json::from_slice(payload).map_err(|_| {
            RejectReason::Malformed(
                "a voucher batch that is not valid JSON for this version".into(),
            )
        })?;
        if batch.v != SYNC_VERSION {
            return Err(RejectReason::UnknownVersion(batch.v));
        }
        // An override names one manager or one code, within the wire limits; anything
        // else was not written by a till of this version.
        let bad_override = batch.events.iter().any(|event| {
            matches!(&event.change, VoucherChange::Issued { past_cap: Some(past), .. } if !past.is_well_formed())
        });
        if bad_override {
            return Err(RejectReason::Malformed(
                "a voucher batch with an override naming no manager or code, or both, or too long a name"
                    .into(),
            ));
        }
        return Ok(VoucherMessage::Batch(batch));
    }
    let marks: VoucherMarks = super::typed::decode_typed(payload, "voucher marks", false)?;
    // Marks decide whether a store is "behind": only this version's, and only from the
    // counter whose topic they are on.
    if marks.v != SYNC_VERSION {
        return Err(RejectReason::UnknownVersion(marks.v));
    }
    if marks.node != topic.owner {
        return Err(RejectReason::OwnerMismatch {
            topic: topic.owner.to_string(),
            payload: marks.node.to_string(),
        });
    }
    Ok(if own {
        VoucherMessage::OwnMarks(marks)
    } else {
        VoucherMessage::Marks(marks)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> Identifier {
        Identifier::parse(text).unwrap()
    }

    fn decode(topic: &str, payload: &str) -> Result<VoucherMessage, RejectReason> {
        decode_voucher_message(topic, payload.as_bytes(), &id("rialto"), &id("till-1"))
    }

    #[test]
    fn marks_must_come_from_their_topics_counter_in_this_version() {
        let good = r#"{"v":1,"node":"till-2","marks":{"till-2":4}}"#;
        assert!(matches!(
            decode("raincheck/v1/rialto/voucher-marks/till-2", good),
            Ok(VoucherMessage::Marks(_))
        ));
        assert!(matches!(
            decode("raincheck/v1/rialto/voucher-marks/till-3", good),
            Err(RejectReason::OwnerMismatch { .. })
        ));
        assert!(matches!(
            decode(
                "raincheck/v1/rialto/voucher-marks/till-2",
                &good.replace("\"v\":1", "\"v\":2")
            ),
            Err(RejectReason::UnknownVersion(2))
        ));
    }

    #[test]
    fn batches_are_checked_and_foreign_or_own_topics_are_not_ours() {
        let refusal = decode(
            "raincheck/v1/rialto/vouchers/till-2",
            "{\"v\":1,\"code\":\"7K3Q-SECRET\"",
        )
        .expect_err("not JSON");
        assert!(!refusal.to_string().contains("SECRET"), "{refusal}");
        let empty = r#"{"v":1,"origin":"till-2","events":[]}"#;
        assert!(matches!(
            decode("raincheck/v1/rialto/vouchers/till-2", empty),
            Ok(VoucherMessage::Batch(_))
        ));
        for elsewhere in [
            "raincheck/v1/odeon/vouchers/till-2",
            "raincheck/v1/rialto/vouchers/till-1",
            "raincheck/v1/rialto/incident/till-2",
            "nonsense",
        ] {
            assert!(
                matches!(decode(elsewhere, empty), Ok(VoucherMessage::NotForUs)),
                "{elsewhere}"
            );
        }
        let own_marks = r#"{"v":1,"node":"till-1","online":false,"marks":{"till-1":7}}"#;
        assert!(matches!(
            decode("raincheck/v1/rialto/voucher-marks/till-1", own_marks),
            Ok(VoucherMessage::OwnMarks(m)) if m.marks["till-1"] == 7
        ));
        let huge = "x".repeat(MAX_VOUCHER_MESSAGE_BYTES + 1);
        assert!(matches!(
            decode("raincheck/v1/rialto/vouchers/till-2", &huge),
            Err(RejectReason::Oversized { .. })
        ));
    }

    #[test]
    fn overrides_decode_when_absent_or_well_formed_and_refuse_otherwise() {
        let event = |past: &str| {
            format!(
                r#"{{"v":1,"origin":"till-2","events":[{{"v":1,"origin":"till-2","seq":1,
                "at":"2026-01-01T10:00:00Z","kind":"issued","code":"ABCD","offer_id":"popcorn"{past}}}]}}"#
            )
        };
        let topic = "raincheck/v1/rialto/vouchers/till-2";
        // An event from before limits existed.
        assert!(matches!(
            decode(topic, &event("")),
            Ok(VoucherMessage::Batch(_))
        ));
        let by_manager = event(r#","override":{"manager":"Dana","cap":"till_count"}"#);
        let Ok(VoucherMessage::Batch(batch)) = decode(topic, &by_manager) else {
            panic!("a manager's override decodes");
        };
        assert!(matches!(
            &batch.events[0].change,
            VoucherChange::Issued { past_cap: Some(past), .. } if past.manager.as_deref() == Some("Dana")
        ));
        let by_code = event(r#","override":{"code":"ABCD-EFGH-JKMN-PQRS","cap":"incident_value"}"#);
        assert!(matches!(
            decode(topic, &by_code),
            Ok(VoucherMessage::Batch(_))
        ));
        for bad in [
            r#","override":{"cap":"till_count"}"#,
            r#","override":{"manager":"Dana","code":"ABCD","cap":"till_count"}"#,
            r#","override":{"manager":"","cap":"till_count"}"#,
        ] {
            assert!(
                matches!(decode(topic, &event(bad)), Err(RejectReason::Malformed(_))),
                "{bad}"
            );
        }
        let long = format!(
            r#","override":{{"manager":"{}","cap":"till_count"}}"#,
            "x".repeat(65)
        );
        assert!(matches!(
            decode(topic, &event(&long)),
            Err(RejectReason::Malformed(_))
        ));
        let unknown_cap = event(r#","override":{"manager":"Dana","cap":"galaxy"}"#);
        assert!(decode(topic, &unknown_cap).is_err());
    }
}
