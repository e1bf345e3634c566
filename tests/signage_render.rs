//! Every signage state rendered offscreen with Slint's software renderer, in English and
//! Spanish (French and German for cash only, the longest wording), at 1920×1080, 1080×1920, 800×480, 1024×768 and 3840×2160: asserts the texts in the element tree,
//! that no text lies outside the window, that portrait cash-only text fills most of the
//! height, and the state's colour in the pixels. PNGs go to
//! target/screenshots/ for people to look at. Slint allows one platform per process and
//! its components are tied to one thread, so this is one test that walks every case.

mod common;

use common::screenshots_dir;
use i_slint_backend_testing::ElementHandle;
use raincheck::config::{DisplaySection, NormalStyle, TextsSection};
use raincheck::model::{LinkState, Presentation, VenueView, ViewMode};
use raincheck::protocol::IncidentTexts;
use raincheck::screen::offscreen::OffscreenScreen;
use raincheck::screen::screen_content;
use time::OffsetDateTime;

const SIZES: [(u32, u32); 7] = [
    (1920, 1080),
    (1080, 1920),
    (800, 480),
    (480, 800),
    (1024, 768),
    (3840, 2160),
    (2160, 3840),
];
const AMBER: (u8, u8, u8) = (0xff, 0xb3, 0x00);
const GREEN: (u8, u8, u8) = (0x11, 0x70, 0x3f);

struct Case {
    name: &'static str,
    presentation: Presentation,
    display: DisplaySection,
    /// (language, texts that must be in the element tree)
    expected: Vec<(&'static str, Vec<&'static str>)>,
    colour: Option<(u8, u8, u8)>,
}

/// A time on a fixed day, in UTC (what the tests format times in).
fn at(hour: u8, minute: u8) -> OffsetDateTime {
    time::macros::datetime!(2026-11-22 00:00 UTC)
        .replace_time(time::Time::from_hms(hour, minute, 0).unwrap())
}

/// A screen that has synced and shows `mode` with `texts` (the incident's own words).
fn showing(mode: ViewMode, texts: IncidentTexts) -> Presentation {
    let mut view = VenueView::normal();
    view.mode = mode;
    view.texts = texts;
    view.started_at = Some(at(19, 42));
    view.declared_at = Some(at(19, 42));
    Presentation {
        view,
        has_state: true,
        restored: false,
        link: LinkState::Up,
        shown_since: at(19, 42),
        drill_full_screen: false,
    }
}

/// A staff drill over the normal screen: the marker, or on a screen the drill names the
/// full cash-only screen with the marker.
fn drilling(full_screen: bool) -> Presentation {
    let mut presentation = showing(ViewMode::Normal, IncidentTexts::default());
    presentation.view.started_at = None;
    presentation.view.declared_at = None;
    presentation.view.drill = Some(raincheck::model::DrillView {
        drill_id: raincheck::protocol::Identifier::parse("drill-1").unwrap(),
        revision: 3,
        started_at: at(10, 0),
        ends_at: at(10, 2),
        full_screen: Vec::new(),
    });
    presentation.drill_full_screen = full_screen;
    presentation
}

fn cases() -> Vec<Case> {
    let offer = IncidentTexts {
        offer: Some(
            "Ask any member of staff for your raincheck: a free small popcorn on your next visit."
                .into(),
        ),
        ..Default::default()
    };
    let cash = showing(ViewMode::CashOnly, offer.clone());
    let manager_words = showing(
        ViewMode::CashOnly,
        IncidentTexts {
            headline: Some("Cash only <b>tonight</b> & sorry!".into()),
            body: Some("Our card terminals lost their connection to the bank during the storm. Every till takes cash, and the box office can give change for large notes. We are working with our provider and will tell you the moment cards work again.".into()),
            ..offer
        },
    );
    // The longest a manager may write (every field at or near its limit), with the long
    // compound words German and French signs really carry: nothing may leave the screen
    // or shrink below reading size, in any language's layout.
    let longest_words = "Kartenzahlungsunterbrechung: Zahlungsverkehrsdienstleister \
        antworten nicht. Les terminaux de paiement électronique sont indisponibles. ";
    let longest = showing(
        ViewMode::CashOnly,
        IncidentTexts {
            headline: Some(
                "Kartenzahlungsunterbrechung — paiement par carte indisponible — tarjetas no"
                    .into(),
            ),
            body: Some(longest_words.repeat(4).chars().take(500).collect()),
            offer: Some(longest_words.repeat(2).chars().take(240).collect()),
            cash_points: Some("Box office, Concessions stand, Bar upstairs, Café".into()),
        },
    );
    let mut link_lost = cash.clone();
    link_lost.link = LinkState::Lost { since: at(19, 50) };
    // Rebooted without its broker: the view from its disk, not yet confirmed.
    let restored = Presentation::restored(cash.view.clone(), at(19, 52), at(19, 52));
    let dark = DisplaySection {
        normal_style: NormalStyle::Dark,
        ..Default::default()
    };
    vec![
        Case {
            name: "booting",
            presentation: Presentation::booting(at(19, 42)),
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["Rialto Picture House"]),
                ("es", vec!["Rialto Picture House"]),
            ],
            colour: None,
        },
        Case {
            name: "normal",
            presentation: showing(ViewMode::Normal, IncidentTexts::default()),
            display: DisplaySection::default(),
            expected: vec![
                (
                    "en",
                    vec!["Rialto Picture House", "All payment methods accepted"],
                ),
                ("es", vec!["Aceptamos todos los medios de pago"]),
            ],
            colour: None,
        },
        Case {
            name: "normal-dark",
            presentation: showing(ViewMode::Normal, IncidentTexts::default()),
            display: dark,
            expected: vec![("en", vec![]), ("es", vec![])],
            colour: Some((0, 0, 0)),
        },
        Case {
            name: "cash-only",
            presentation: cash,
            display: DisplaySection::default(),
            expected: vec![
                (
                    "en",
                    vec![
                        "CASH ONLY",
                        "Card payments are down",
                        "Your raincheck",
                        "Since 19:42",
                    ],
                ),
                (
                    "es",
                    vec![
                        "SOLO EFECTIVO",
                        "Los pagos con tarjeta no funcionan",
                        "Su vale de cortesía",
                        "Desde las 19:42",
                    ],
                ),
                (
                    "fr",
                    vec![
                        "ESPÈCES UNIQUEMENT",
                        "Le paiement par carte est indisponible",
                        "Votre bon à valoir",
                        "Depuis 19:42",
                        "Toutes nos caisses acceptent les espèces.",
                    ],
                ),
                (
                    "de",
                    vec![
                        "NUR BARZAHLUNG",
                        "Kartenzahlung ist gerade nicht möglich",
                        "Ihr Gutschein",
                        "Seit 19:42",
                        "Barzahlung ist an allen Kassen möglich.",
                    ],
                ),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "cash-only-manager-words",
            presentation: manager_words,
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["Cash only <b>tonight</b> & sorry!"]),
                (
                    "es",
                    vec!["SOLO EFECTIVO", "Cash only <b>tonight</b> & sorry!"],
                ),
                ("fr", vec!["ESPÈCES UNIQUEMENT"]),
                ("de", vec!["NUR BARZAHLUNG"]),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "cash-only-longest",
            presentation: longest,
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["CASH ONLY"]),
                ("es", vec!["SOLO EFECTIVO"]),
                ("fr", vec!["ESPÈCES UNIQUEMENT"]),
                ("de", vec!["NUR BARZAHLUNG"]),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "cash-only-link-lost",
            presentation: link_lost,
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["Status link lost since 19:50", "CASH ONLY"]),
                ("es", vec!["Sin conexión de estado desde las 19:50"]),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "cash-only-restored",
            presentation: restored,
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["Status link lost since 19:52", "CASH ONLY"]),
                ("es", vec!["Sin conexión de estado desde las 19:52"]),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "drill-marker",
            presentation: drilling(false),
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["TEST — staff drill", "Rialto Picture House"]),
                ("es", vec!["PRUEBA — simulacro del personal"]),
                ("de", vec!["TEST — Übung des Personals"]),
            ],
            colour: None,
        },
        Case {
            name: "drill-full-screen",
            presentation: drilling(true),
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["TEST — staff drill", "CASH ONLY"]),
                ("fr", vec!["TEST — exercice du personnel"]),
            ],
            colour: Some(AMBER),
        },
        Case {
            name: "all-clear",
            presentation: showing(ViewMode::AllClear, IncidentTexts::default()),
            display: DisplaySection::default(),
            expected: vec![
                ("en", vec!["Card payments are back"]),
                ("es", vec!["Ya aceptamos pagos con tarjeta"]),
            ],
            colour: Some(GREEN),
        },
    ]
}

#[test]
fn every_state_in_every_language_and_size() {
    let directory = screenshots_dir();
    let mut checked = 0;
    for (width, height) in SIZES {
        let screen = OffscreenScreen::new(width, height).expect("offscreen screen");
        for case in cases() {
            for (language, texts) in &case.expected {
                let (content, _) = screen_content(
                    &case.presentation,
                    "Rialto Picture House",
                    &case.display,
                    &TextsSection::default(),
                    language,
                    at(19, 45),
                );
                screen.show(&content, language);
                let frame = screen.render();
                let png = frame.to_png().expect("png");
                std::fs::write(
                    directory.join(format!(
                        "signage-{}-{language}-{width}x{height}.png",
                        case.name
                    )),
                    png,
                )
                .unwrap();

                let elements: Vec<ElementHandle> =
                    ElementHandle::find_by_element_type_name(&screen.component, "Text").collect();
                let labels: Vec<String> = elements
                    .iter()
                    .filter_map(|e| e.accessible_label())
                    .map(|l| l.to_string())
                    .collect();
                for text in texts {
                    assert!(
                        labels.iter().any(|l| l == text),
                        "{} {language} {width}x{height}: {text:?} not drawn; drawn: {labels:?}",
                        case.name
                    );
                }
                for element in &elements {
                    let position = element.absolute_position();
                    let size = element.size();
                    let inside = position.x >= -0.5
                        && position.y >= -0.5
                        && position.x + size.width <= width as f32 + 0.5
                        && position.y + size.height <= height as f32 + 0.5;
                    assert!(
                        inside,
                        "{} {language} {width}x{height}: {:?} lies outside the window ({position:?} {size:?})",
                        case.name,
                        element.accessible_label()
                    );
                    let font_floor = height.min(width) as f32 * 0.02;
                    assert!(
                        size.height <= 0.0 || size.height >= font_floor,
                        "{} {width}x{height}: text {:?} is too small to read ({} px)",
                        case.name,
                        element.accessible_label(),
                        size.height
                    );
                }
                // Portrait: the cash-only words fill the screen, not its top half.
                if height > width && case.name.starts_with("cash-only") {
                    let mut rows = vec![false; height as usize];
                    for element in &elements {
                        let (position, size) = (element.absolute_position(), element.size());
                        let top = position.y.max(0.0) as usize;
                        let bottom =
                            ((position.y + size.height).min(height as f32)).max(0.0) as usize;
                        for row in rows.iter_mut().take(bottom).skip(top) {
                            *row = true;
                        }
                    }
                    let covered = rows.iter().filter(|row| **row).count() as f32 / height as f32;
                    assert!(
                        covered > 0.55,
                        "{} {language} {width}x{height}: text covers only {:.0}% of the height",
                        case.name,
                        covered * 100.0
                    );
                }
                if let Some(colour) = case.colour {
                    let share = frame.share_of(colour);
                    assert!(
                        share > 0.3,
                        "{} {language} {width}x{height}: the state's colour covers only {:.0}% of the screen",
                        case.name,
                        share * 100.0
                    );
                }
                if case.name.starts_with("normal") || case.name == "booting" {
                    assert!(
                        frame.share_of(AMBER) < 0.01,
                        "{}: no outage colour on a calm screen",
                        case.name
                    );
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, SIZES.len() * 29);
}
