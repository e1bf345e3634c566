//! Every wrong type in every field of every payload is refused: for each payload type, a
//! sample with every optional field filled is written out, and every value in it — the
//! whole payload, each field, each element, at any depth — is replaced in turn by each
//! JSON kind it is not (an array, an object, a number, a string, a boolean). The gate must
//! refuse every one of them. The cases come from walking the types' own serialisation, so
//! a field added to a payload is covered without a new hand-written case.

use super::{decode_message, decode_voucher_message};
use crate::protocol::vouchers::{VoucherBatch, VoucherChange, VoucherEvent, VoucherMarks};
use crate::protocol::{
    Authority, DeclarationState, DisplayReport, DisplayStatus, Identifier, IncidentDeclaration,
    IncidentMode, IncidentTexts, PaymentHealth, PaymentStatus, SCHEMA_VERSION,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

fn id(text: &str) -> Identifier {
    Identifier::parse(text).expect("a valid id")
}

fn at() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("in range")
}

fn declaration() -> Value {
    serde_json::to_value(IncidentDeclaration {
        v: SCHEMA_VERSION,
        source: id("cli"),
        authority: Authority::Manager,
        revision: 3,
        incident_id: id("inc-1"),
        state: DeclarationState::Active,
        mode: IncidentMode::CashOnly,
        texts: IncidentTexts::from_fn(|field| Some(field.name().to_owned())),
        translations: [(
            "es".to_owned(),
            IncidentTexts::from_fn(|field| Some(field.name().to_owned())),
        )]
        .into(),
        offer_id: Some(id("popcorn")),
        supersedes: vec![id("hq-1")],
        started_at: at(),
        declared_at: at(),
        actor: Some("Dana".into()),
        next_update_by: None,
        expires_at: None,
    })
    .expect("serialises")
}

fn payment() -> Value {
    serde_json::to_value(PaymentHealth {
        v: SCHEMA_VERSION,
        source: id("pos-1"),
        status: PaymentStatus::Down,
        revision: 4,
        since: at(),
        detail: Some("timeouts".into()),
        down_since_revision: Some(2),
    })
    .expect("serialises")
}

fn report() -> Value {
    serde_json::to_value(DisplayReport {
        v: SCHEMA_VERSION,
        node: id("lobby-1"),
        status: DisplayStatus::Online,
        name: Some("Lobby".into()),
        roles: vec!["signage".into()],
        revision: Some(3),
        digest: Some("0123456789abcdef".into()),
        mode: Some("cash_only".into()),
        incident_id: Some(id("inc-1")),
        since: Some(at()),
        shown: Some(crate::protocol::Shown::Headless),
        reason: Some("no display".into()),
        drawn_at: Some(at()),
    })
    .expect("serialises")
}

fn batch() -> Value {
    let event = |seq, change| VoucherEvent {
        v: 1,
        origin: id("till-2"),
        seq,
        at: at(),
        staff: Some("Sam".into()),
        till: None,
        change,
    };
    serde_json::to_value(VoucherBatch {
        v: 1,
        origin: id("till-2"),
        events: vec![
            event(
                1,
                VoucherChange::Issued {
                    code: "ABCD".into(),
                    offer_id: id("popcorn"),
                    incident_id: Some(id("inc-1")),
                    past_cap: None,
                },
            ),
            event(
                2,
                VoucherChange::Voided {
                    code: "ABCD".into(),
                    reason: "lost".into(),
                },
            ),
        ],
    })
    .expect("serialises")
}

fn marks() -> Value {
    serde_json::to_value(VoucherMarks {
        v: 1,
        node: id("till-2"),
        online: true,
        marks: [("till-2".to_owned(), 4)].into_iter().collect(),
    })
    .expect("serialises")
}

/// Every JSON kind `value` is not (null is left out: an absent optional field is fine).
fn other_kinds(value: &Value) -> Vec<Value> {
    let all = [json!([]), json!({}), json!(7), json!("x"), json!(true)];
    let same =
        |candidate: &Value| std::mem::discriminant(candidate) == std::mem::discriminant(value);
    all.into_iter()
        .filter(|candidate| !same(candidate))
        .collect()
}

/// Every path in `value` (the root included), as a list of steps.
fn paths(value: &Value, prefix: Vec<Step>, found: &mut Vec<Vec<Step>>) {
    found.push(prefix.clone());
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                let mut next = prefix.clone();
                next.push(Step::Key(key.clone()));
                paths(field, next, found);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                let mut next = prefix.clone();
                next.push(Step::Index(index));
                paths(item, next, found);
            }
        }
        _ => {}
    }
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

fn at_path<'v>(value: &'v mut Value, path: &[Step]) -> &'v mut Value {
    path.iter().fold(value, |value, step| match step {
        Step::Key(key) => &mut value[key.as_str()],
        Step::Index(index) => &mut value[*index],
    })
}

/// Checks every wrong-kind replacement of `sample` is refused by `decode`.
fn every_wrong_type_is_refused(name: &str, sample: Value, decode: impl Fn(&[u8]) -> bool) -> usize {
    let bytes = serde_json::to_vec(&sample).expect("serialises");
    assert!(
        decode(&bytes),
        "{name}: the sample itself must pass the gate"
    );
    let mut all = Vec::new();
    paths(&sample, Vec::new(), &mut all);
    let mut cases = 0;
    for path in all {
        let original = {
            let mut copy = sample.clone();
            at_path(&mut copy, &path).clone()
        };
        for wrong in other_kinds(&original) {
            let mut broken = sample.clone();
            *at_path(&mut broken, &path) = wrong.clone();
            let bytes = serde_json::to_vec(&broken).expect("serialises");
            assert!(
                !decode(&bytes),
                "{name}: {path:?} as {wrong} was accepted: {broken}"
            );
            cases += 1;
        }
    }
    cases
}

#[test]
fn every_status_payload_refuses_every_wrong_type() {
    let venue = id("rialto");
    let status = |topic: &'static str| {
        let venue = venue.clone();
        move |bytes: &[u8]| decode_message(topic, bytes, &venue).is_ok()
    };
    let cases = every_wrong_type_is_refused(
        "declaration",
        declaration(),
        status("raincheck/v1/rialto/incident/cli"),
    ) + every_wrong_type_is_refused(
        "chain declaration",
        declaration(),
        status("raincheck/v1/_chain/incident/cli"),
    ) + every_wrong_type_is_refused(
        "payment health",
        payment(),
        status("raincheck/v1/rialto/payments/pos-1"),
    ) + every_wrong_type_is_refused(
        "display report",
        report(),
        status("raincheck/v1/rialto/displays/lobby-1"),
    );
    assert!(cases > 200, "only {cases} cases were generated");
}

#[test]
fn every_voucher_payload_refuses_every_wrong_type() {
    let (venue, node) = (id("rialto"), id("till-1"));
    let voucher = |topic: &'static str| {
        let (venue, node) = (venue.clone(), node.clone());
        move |bytes: &[u8]| {
            matches!(
                decode_voucher_message(topic, bytes, &venue, &node),
                Ok(super::VoucherMessage::Batch(_) | super::VoucherMessage::Marks(_))
            )
        }
    };
    let cases = every_wrong_type_is_refused(
        "voucher batch",
        batch(),
        voucher("raincheck/v1/rialto/vouchers/till-2"),
    ) + every_wrong_type_is_refused(
        "voucher marks",
        marks(),
        voucher("raincheck/v1/rialto/voucher-marks/till-2"),
    );
    assert!(cases > 100, "only {cases} cases were generated");
}
