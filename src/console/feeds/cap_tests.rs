use super::*;
use time::macros::datetime;

fn id(text: &str) -> Identifier {
    Identifier::parse(text).unwrap()
}

fn settings() -> CapSettings {
    CapSettings {
        status: CapStatus::Actual,
        expires_after: Duration::hours(4),
        cancel_for: Duration::hours(1),
    }
}

fn words(headline: &str) -> Vec<LanguageWords> {
    vec![LanguageWords {
        language: "en".into(),
        headline: headline.into(),
        body: "Sorry".into(),
        offer: "Free popcorn".into(),
        cash_points: "Every till".into(),
    }]
}

fn view(mode: ViewMode, revision: u64, declared: OffsetDateTime) -> VenueView {
    let mut view = VenueView::normal();
    view.mode = mode;
    view.revision = revision;
    view.incident_id = Some(id("inc-1"));
    view.started_at = Some(datetime!(2026-12-01 19:42:07.5 UTC));
    view.declared_at = Some(declared);
    view
}

#[test]
fn alert_then_update_then_cancel_then_nothing() {
    let venue = id("rialto");
    let start = datetime!(2026-12-01 19:42:07.5 UTC);
    let alert = view(ViewMode::CashOnly, 5, start);
    let now = start + Duration::minutes(1);
    let first = cap_message(
        &venue,
        "Rialto",
        &alert,
        &words("Cash"),
        None,
        &settings(),
        now,
    )
    .unwrap();
    assert_eq!(first.msg_type, "Alert");
    assert_eq!(first.reference.identifier, "rialto.inc-1");
    assert!(first.xml.contains("<sent>2026-12-01T19:42:07-00:00</sent>"));
    assert!(first
        .xml
        .contains("<expires>2026-12-01T23:42:07-00:00</expires>"));
    assert!(!first.xml.contains("<references>"));

    let update = view(ViewMode::CashOnly, 6, start + Duration::minutes(5));
    let second = cap_message(
        &venue,
        "Rialto",
        &update,
        &words("Cash"),
        Some(&first.reference),
        &settings(),
        now + Duration::minutes(5),
    )
    .unwrap();
    assert_eq!(second.msg_type, "Update");
    assert_eq!(second.reference.identifier, "rialto.inc-1.6");
    assert!(second.xml.contains(
        "<references>raincheck.rialto,rialto.inc-1,2026-12-01T19:42:07-00:00</references>"
    ));

    // Three hours on, the update is renewed before it expires.
    let later = start + Duration::minutes(5) + Duration::hours(3);
    let renewed = cap_message(
        &venue,
        "Rialto",
        &update,
        &words("Cash"),
        None,
        &settings(),
        later,
    )
    .unwrap();
    assert_eq!(renewed.reference.identifier, "rialto.inc-1.6.1");
    assert!(renewed.xml.contains("raincheck.rialto,rialto.inc-1.6,"));

    let resolve = view(ViewMode::AllClear, 7, start + Duration::minutes(30));
    let cancel = cap_message(
        &venue,
        "Rialto",
        &resolve,
        &words("Thanks"),
        Some(&second.reference),
        &settings(),
        start + Duration::minutes(31),
    )
    .unwrap();
    assert_eq!(cancel.msg_type, "Cancel");
    assert!(cancel.xml.contains("<responseType>AllClear</responseType>"));
    assert!(cancel.xml.contains("rialto.inc-1.6,"));
    let after = start + Duration::minutes(30) + Duration::hours(1);
    assert!(cap_message(&venue, "R", &resolve, &[], None, &settings(), after).is_none());
    assert!(cap_message(
        &venue,
        "R",
        &VenueView::normal(),
        &[],
        None,
        &settings(),
        now
    )
    .is_none());
}

#[test]
fn manager_text_cannot_make_markup() {
    let mut xml = String::new();
    escape_into(&mut xml, "<b>&</b> ]]> \"x\" 'y'\u{7}\u{0}\r\u{FFFF}é");
    assert_eq!(
        xml,
        "&lt;b&gt;&amp;&lt;/b&gt; ]]&gt; &quot;x&quot; &apos;y&apos;  &#13; é"
    );
}

#[test]
fn a_drill_is_an_exercise() {
    let start = datetime!(2026-12-01 19:42:07.5 UTC);
    let drill = CapSettings {
        status: CapStatus::Exercise,
        ..settings()
    };
    let alert = view(ViewMode::CashOnly, 1, start);
    let message = cap_message(&id("rialto"), "R", &alert, &[], None, &drill, start).unwrap();
    assert!(message.xml.contains("<status>Exercise</status>"));
}
