//! Tests of the figures' running sums: after any mix of other tills' events (in any order,
//! repeated, conflicting) and this store's own redemptions and voids, the sums give the
//! same figures as one pass over every record (`FiguresTally`), for every business-day
//! start and incident; and a store that had no sums counts them at open to the same.

use super::*;
use crate::config::OfflineRedemption;
use crate::voucher::figures::FiguresTally;
use crate::voucher::lifecycle::RedeemContext;
use proptest::prelude::*;
use time::macros::datetime;

const BASE: OffsetDateTime = datetime!(2026-11-22 04:50 UTC);

fn id(text: &str) -> Identifier {
    Identifier::parse(text).expect("a test identifier")
}

fn secret() -> VoucherSecret {
    VoucherSecret::new("v", &[7u8; 32]).expect("a test secret")
}

fn open(directory: &std::path::Path) -> VoucherStore {
    VoucherStore::open(directory, &id("v"), &id("console"), 9, secret()).expect("open")
}

/// A valid code of the venue: one of a few terminals' first serials.
fn code(index: u8) -> String {
    let fields = VoucherFields {
        offer: 1,
        terminal: 1 + index % 3,
        serial: 1 + u32::from(index / 3),
        expiry_day: voucher_day(BASE) + 90,
    };
    VoucherCode::issue(fields, &secret())
        .expect("a test code")
        .compact()
}

/// `seconds` after 04:50: the steps straddle the business-day starts the test asks about.
fn at(seconds: u16) -> OffsetDateTime {
    BASE + time::Duration::seconds(i64::from(seconds))
}

#[derive(Clone, Debug)]
enum Step {
    /// Another till (0 or 1) issues a code, in an incident or none.
    Issued {
        till: u8,
        code: u8,
        incident: Option<u8>,
        seconds: u16,
    },
    Redeemed {
        till: u8,
        code: u8,
        seconds: u16,
    },
    Voided {
        till: u8,
        code: u8,
        seconds: u16,
    },
    /// This store redeems or voids a code itself (refused when the rules say so).
    RedeemHere {
        code: u8,
        seconds: u16,
    },
    VoidHere {
        code: u8,
        seconds: u16,
    },
    /// Everything sent so far arrives again.
    Replay,
}

fn step() -> impl Strategy<Value = Step> {
    let till = 0u8..2;
    let code = 0u8..9;
    let seconds = 0u16..1800;
    prop_oneof![
        3 => (till.clone(), code.clone(), proptest::option::of(0u8..2), seconds.clone())
            .prop_map(|(till, code, incident, seconds)| Step::Issued { till, code, incident, seconds }),
        2 => (till.clone(), code.clone(), seconds.clone())
            .prop_map(|(till, code, seconds)| Step::Redeemed { till, code, seconds }),
        1 => (till, code.clone(), seconds.clone())
            .prop_map(|(till, code, seconds)| Step::Voided { till, code, seconds }),
        1 => (code.clone(), seconds.clone()).prop_map(|(code, seconds)| Step::RedeemHere { code, seconds }),
        1 => (code, seconds).prop_map(|(code, seconds)| Step::VoidHere { code, seconds }),
        1 => Just(Step::Replay),
    ]
}

/// Plays the steps into the store; the other tills' events go through `apply_remote`.
fn play(store: &VoucherStore, steps: &[Step]) {
    let mut sent: Vec<VoucherEvent> = Vec::new();
    let mut next_seq = [1u64; 2];
    let mut remote = |till: u8, seconds: u16, change: VoucherChange| {
        let seq = next_seq[usize::from(till)];
        next_seq[usize::from(till)] += 1;
        let event = VoucherEvent {
            v: EVENT_VERSION,
            origin: id(["till-a", "till-b"][usize::from(till)]),
            seq,
            at: at(seconds),
            staff: None,
            till: None,
            change,
        };
        store
            .apply_remote(std::slice::from_ref(&event))
            .expect("apply");
        event
    };
    for step in steps {
        match step.clone() {
            Step::Issued {
                till,
                code: index,
                incident,
                seconds,
            } => sent.push(remote(
                till,
                seconds,
                VoucherChange::Issued {
                    code: code(index),
                    offer_id: id("popcorn"),
                    incident_id: incident.map(|n| id(&format!("inc-{n}"))),
                    past_cap: None,
                },
            )),
            Step::Redeemed {
                till,
                code: index,
                seconds,
            } => sent.push(remote(
                till,
                seconds,
                VoucherChange::Redeemed { code: code(index) },
            )),
            Step::Voided {
                till,
                code: index,
                seconds,
            } => sent.push(remote(
                till,
                seconds,
                VoucherChange::Voided {
                    code: code(index),
                    reason: "lost".into(),
                },
            )),
            Step::RedeemHere {
                code: index,
                seconds,
            } => {
                let context = RedeemContext {
                    today: voucher_day(at(seconds)),
                    online: true,
                    policy: OfflineRedemption::Allow,
                    this_terminal: 9,
                };
                store
                    .redeem(&code(index), None, context, at(seconds))
                    .expect("redeem");
            }
            Step::VoidHere {
                code: index,
                seconds,
            } => {
                // A refusal (unknown, already voided) changes nothing, sums included.
                let _ = store.void(&code(index), "damaged", None, at(seconds));
            }
            Step::Replay => {
                store.apply_remote(&sent).expect("replay");
            }
        }
    }
}

/// The sums agree with one pass over every record for every day start and incident.
fn assert_sums_agree(store: &VoucherStore) {
    let day_starts = [
        datetime!(2026-11-22 04:00 UTC),
        datetime!(2026-11-22 04:55 UTC),
        datetime!(2026-11-22 05:00 UTC),
        datetime!(2026-11-22 05:13 UTC),
        datetime!(2026-11-22 06:00 UTC),
    ];
    let incidents = [
        None,
        Some(id("inc-0")),
        Some(id("inc-1")),
        Some(id("inc-9")),
    ];
    for day_start in day_starts {
        for incident in &incidents {
            let mut tally = FiguresTally::new(day_start, incident.clone());
            store
                .each_record(|record| tally.add(&record))
                .expect("a pass over the records");
            let by_pass = tally.finish();
            let by_sums = store.figures(day_start, incident.clone()).expect("figures");
            assert_eq!(by_sums, by_pass, "day from {day_start}, {incident:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_sums_give_the_figures_of_a_pass_over_every_record(
        steps in proptest::collection::vec(step(), 1..40)
    ) {
        let directory = tempfile::tempdir().expect("a temp dir");
        let store = open(directory.path());
        play(&store, &steps);
        assert_sums_agree(&store);
        // A store that lost its sums (made before they existed) counts them again.
        store.meta.remove(VERSION_KEY).expect("remove the marker");
        store.meta.insert(TOTAL_KEY, &7u64.to_be_bytes()).expect("damage a sum");
        store.ensure_figures().expect("count the sums");
        assert_sums_agree(&store);
    }
}

#[test]
fn a_store_without_sums_counts_them_when_it_opens_and_they_survive_a_restart() {
    let directory = tempfile::tempdir().expect("a temp dir");
    let steps = [
        Step::Issued {
            till: 0,
            code: 0,
            incident: Some(0),
            seconds: 100,
        },
        Step::Issued {
            till: 1,
            code: 0,
            incident: Some(0),
            seconds: 700,
        },
        Step::Redeemed {
            till: 0,
            code: 0,
            seconds: 800,
        },
        Step::Redeemed {
            till: 1,
            code: 0,
            seconds: 900,
        },
    ];
    {
        let store = open(directory.path());
        play(&store, &steps);
        let figures = store
            .figures(datetime!(2026-11-22 05:00 UTC), Some(id("inc-0")))
            .expect("figures");
        assert_eq!(figures.total, 1);
        assert_eq!(figures.conflict_count, 1, "issued twice, redeemed twice");
        assert_eq!(
            figures.tonight,
            Counts {
                issued: 0,
                redeemed: 2,
                voided: 0
            },
            "the voucher is till-a's issue at 04:51:40, before the day started; till-b's \
             is the duplicate"
        );
        let incident = figures.incident.expect("the incident asked for");
        assert_eq!((incident.counts.issued, incident.counts.redeemed), (1, 1));
        // As a store written before the sums existed would be.
        for key in store.meta.scan_prefix("fig/").keys() {
            store.meta.remove(key.expect("a key")).expect("remove");
        }
        store.db.flush().expect("flush");
    }
    let store = open(directory.path());
    assert_sums_agree(&store);
    drop(store);
    let store = open(directory.path());
    assert_sums_agree(&store);
}
