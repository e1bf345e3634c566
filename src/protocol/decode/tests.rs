//! The status gate's unit tests: what `decode_message` takes, and the reason it gives
//! for each kind of bad input.

use super::*;
use crate::protocol::TranslationProblem;

fn venue() -> Identifier {
    Identifier::parse("rialto").unwrap()
}

const GOOD: &str = r#"{"v":1,"source":"cli","authority":"manager","revision":3,"incident_id":"inc-1",
    "state":"active","mode":"cash_only","texts":{"headline":"Cash only"},
    "started_at":"2026-11-22T19:42:00Z","declared_at":"2026-11-22T19:42:00Z","future_field":true}"#;

#[test]
fn accepts_a_declaration_and_ignores_unknown_fields() {
    let message = decode_message(
        "raincheck/v1/rialto/incident/cli",
        GOOD.as_bytes(),
        &venue(),
    )
    .unwrap();
    assert!(matches!(
        message,
        BusMessage::Declaration {
            scope: Scope::Venue,
            ..
        }
    ));
}

#[test]
fn an_expiry_is_taken_only_on_a_venues_active_declaration_within_72_hours() {
    let with = |state: &str, expires: &str| {
        GOOD.replace(r#""state":"active""#, &format!(r#""state":"{state}""#))
            .replace(
                r#""future_field":true"#,
                &format!(r#""expires_at":"{expires}""#),
            )
    };
    let venue_topic = "raincheck/v1/rialto/incident/cli";
    let taken = decode_message(
        venue_topic,
        with("active", "2026-11-25T19:42:00Z").as_bytes(),
        &venue(),
    );
    assert!(matches!(
        taken,
        Ok(BusMessage::Declaration { ref declaration, .. }) if declaration.expires_at.is_some()
    ));
    for (topic, payload, says) in [
        (
            venue_topic,
            with("active", "2026-11-25T19:42:01Z"),
            "within 72 hours",
        ),
        (
            venue_topic,
            with("active", "2026-11-22T19:42:00Z"),
            "after declared_at",
        ),
        (
            venue_topic,
            with("resolved", "2026-11-22T20:00:00Z"),
            "not a resolve",
        ),
        (
            "raincheck/v1/_chain/incident/cli",
            with("active", "2026-11-22T20:00:00Z"),
            "chain",
        ),
    ] {
        match decode_message(topic, payload.as_bytes(), &venue()) {
            Err(RejectReason::Malformed(why)) => assert!(why.contains(says), "{why}"),
            other => panic!("{payload} on {topic} must be refused, got {other:?}"),
        }
    }
}

#[test]
fn every_kind_of_bad_input_has_its_own_reason() {
    let topic = "raincheck/v1/rialto/incident/cli";
    type Case<'a> = (&'a str, Vec<u8>, fn(&RejectReason) -> bool);
    let cases: Vec<Case> = vec![
        (topic, vec![b' '; MAX_PAYLOAD_BYTES + 1], |r| {
            matches!(r, RejectReason::Oversized { .. })
        }),
        ("raincheck/v1/rialto/nonsense/cli", GOOD.into(), |r| {
            matches!(r, RejectReason::UnknownTopic)
        }),
        ("raincheck/v1/odeon/incident/cli", GOOD.into(), |r| {
            matches!(r, RejectReason::ForeignVenue(_))
        }),
        (topic, Vec::new(), |r| {
            matches!(r, RejectReason::EmptyPayload)
        }),
        (topic, b"{not json".to_vec(), |r| {
            matches!(r, RejectReason::Malformed(_))
        }),
        (topic, GOOD.replace("\"v\":1", "\"v\":2").into(), |r| {
            matches!(r, RejectReason::UnknownVersion(2))
        }),
        (
            topic,
            GOOD.replace("\"revision\":3", "\"revision\":\"3\"").into(),
            |r| matches!(r, RejectReason::Malformed(_)),
        ),
        ("raincheck/v1/rialto/incident/console", GOOD.into(), |r| {
            matches!(r, RejectReason::OwnerMismatch { .. })
        }),
        (
            topic,
            GOOD.replace("\"revision\":3", "\"revision\":0").into(),
            |r| matches!(r, RejectReason::RevisionOutOfRange(0)),
        ),
        (
            topic,
            GOOD.replace("\"revision\":3", "\"revision\":9007199254740992")
                .into(),
            |r| matches!(r, RejectReason::RevisionOutOfRange(_)),
        ),
        (
            topic,
            GOOD.replace("Cash only", &"x".repeat(501)).into(),
            |r| matches!(r, RejectReason::TextTooLong { .. }),
        ),
        (
            topic,
            GOOD.replace("\"state\":\"active\"", "\"state\":\"paused\"")
                .into(),
            |r| matches!(r, RejectReason::Malformed(_)),
        ),
        (
            topic,
            GOOD.replace(
                "\"texts\":",
                "\"translations\":{\"Spanish\":{\"headline\":\"x\"}},\"texts\":",
            )
            .into(),
            |r| {
                matches!(
                    r,
                    RejectReason::Translations(TranslationProblem::NotALanguage(_))
                )
            },
        ),
        (
            topic,
            GOOD.replace(
                "\"texts\":",
                &format!(
                    "\"translations\":{{\"es\":{{\"body\":\"{}\"}}}},\"texts\":",
                    "x".repeat(501)
                ),
            )
            .into(),
            |r| {
                matches!(
                    r,
                    RejectReason::Translations(TranslationProblem::TooLong { .. })
                )
            },
        ),
        (topic, b"[1,2,3]".to_vec(), |r| {
            matches!(r, RejectReason::Malformed(_))
        }),
    ];
    for (topic, payload, expected) in cases {
        let reason = decode_message(topic, &payload, &venue()).expect_err("must be refused");
        assert!(expected(&reason), "{topic}: unexpected reason {reason}");
        assert!(!reason.to_string().is_empty());
    }
}

#[test]
fn the_same_instant_with_another_offset_decodes_to_the_same_message() {
    let shifted = GOOD.replace("2026-11-22T19:42:00Z", "2026-11-22T20:42:00+01:00");
    let topic = "raincheck/v1/rialto/incident/cli";
    assert_eq!(
        decode_message(topic, GOOD.as_bytes(), &venue()),
        decode_message(topic, shifted.as_bytes(), &venue())
    );
    let Ok(BusMessage::Declaration { declaration, .. }) =
        decode_message(topic, shifted.as_bytes(), &venue())
    else {
        panic!("decodes")
    };
    let json = serde_json::to_string(&declaration).unwrap();
    assert!(json.contains("19:42:00Z"), "{json}");
}

#[test]
fn a_display_report_revision_above_the_range_is_refused_and_zero_is_not() {
    let topic = "raincheck/v1/rialto/displays/lobby-1";
    let report = |revision: u64| {
        format!(r#"{{"v":1,"node":"lobby-1","status":"online","revision":{revision}}}"#)
    };
    assert!(decode_message(topic, report(0).as_bytes(), &venue()).is_ok());
    assert!(decode_message(topic, report(MAX_REVISION).as_bytes(), &venue()).is_ok());
    for absurd in [MAX_REVISION + 1, u64::MAX] {
        assert_eq!(
            decode_message(topic, report(absurd).as_bytes(), &venue()),
            Err(RejectReason::RevisionOutOfRange(absurd))
        );
    }
}

#[test]
fn times_that_cannot_be_written_back_are_refused_not_a_panic() {
    let topic = "raincheck/v1/rialto/incident/cli";
    for time in ["0000-01-01T00:00:00+00:30", "9999-12-31T23:59:59-01:00"] {
        let payload = GOOD.replace("2026-11-22T19:42:00Z", time);
        assert!(
            matches!(
                decode_message(topic, payload.as_bytes(), &venue()),
                Err(RejectReason::Malformed(_))
            ),
            "{time}"
        );
    }
}

#[test]
fn empty_display_payload_means_decommissioned() {
    let message = decode_message("raincheck/v1/rialto/displays/lobby-1", b"", &venue()).unwrap();
    assert_eq!(
        message,
        BusMessage::DisplayRemoved(Identifier::parse("lobby-1").unwrap())
    );
}
