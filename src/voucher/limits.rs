//! The cap rule, decided purely: whether one more voucher of an offer may be issued for an
//! incident, given how many this till has issued and how many the whole venue has (as far
//! as this till's store has heard), and if not, which cap is reached and how much of it is
//! used. The store supplies the counts inside the issue's own transaction; the words staff
//! read come from [`CapReached::describe`]. Caps are per offer in `[[counter.offers]]`:
//! `till_cap` (or its older name `per_incident_cap`), `till_value_cap`, `venue_cap`,
//! `venue_value_cap`; a value cap weighs each voucher at the offer's `face_value`.
//! A voucher issued with no incident is not capped: the caps are per incident.

use crate::config::{Money, OfferConfig};
pub use crate::protocol::vouchers::CapKind;
use serde::Serialize;

/// One offer's caps, from its config.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Caps {
    pub till_count: Option<u32>,
    pub till_value: Option<Money>,
    pub venue_count: Option<u32>,
    pub venue_value: Option<Money>,
    /// What one voucher weighs against a value cap; without it value caps do not apply
    /// (`check-config` refuses that config).
    pub face_value: Option<Money>,
}

impl Caps {
    pub fn of(offer: &OfferConfig) -> Self {
        Self {
            till_count: offer.till_count_cap(),
            till_value: offer.till_value_cap,
            venue_count: offer.venue_cap,
            venue_value: offer.venue_value_cap,
            face_value: offer.face_value,
        }
    }

    /// Whether any cap is set (an uncapped offer needs no counting).
    pub fn any(&self) -> bool {
        self.till_count.is_some()
            || self.venue_count.is_some()
            || (self.face_value.is_some()
                && (self.till_value.is_some() || self.venue_value.is_some()))
    }
}

/// Vouchers of one offer already issued for one incident: by this till, and by every till
/// of the venue whose events this till holds (this till's included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Issued {
    pub till: u64,
    pub venue: u64,
}

/// A cap one more voucher would go past: which, how much of it is used (a count, or cents
/// of face value) and its limit in the same unit. Serialised as the counter API's `"cap"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CapReached {
    pub kind: CapKind,
    pub used: u64,
    pub limit: u64,
}

/// May one more voucher be issued? The caps are looked at in a fixed order — this till's
/// count, its value, the venue's count, its value — and the first one reached is named.
pub fn judge_issue(caps: &Caps, issued: Issued) -> Result<(), CapReached> {
    let count = |kind, used: u64, cap: Option<u32>| match cap {
        Some(limit) if used + 1 > u64::from(limit) => Err(CapReached {
            kind,
            used,
            limit: u64::from(limit),
        }),
        _ => Ok(()),
    };
    let value = |kind, used: u64, cap: Option<Money>| match (cap, caps.face_value) {
        (Some(Money(limit)), Some(Money(face))) => {
            let spent = used.saturating_mul(face);
            if spent.saturating_add(face) > limit {
                Err(CapReached {
                    kind,
                    used: spent,
                    limit,
                })
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    };
    count(CapKind::TillCount, issued.till, caps.till_count)?;
    value(CapKind::TillValue, issued.till, caps.till_value)?;
    count(CapKind::IncidentCount, issued.venue, caps.venue_count)?;
    value(CapKind::IncidentValue, issued.venue, caps.venue_value)
}

impl CapReached {
    /// The refusal's sentence with `{}` for the offer's title, the amount used and the
    /// limit: a catalogue msgid, so the counter screens word it in their language.
    pub fn template(&self) -> &'static str {
        match self.kind {
            CapKind::TillCount => "{}: this till has issued {} of {} for this incident",
            CapKind::TillValue => {
                "{}: this till has issued {} of {} in face value for this incident"
            }
            CapKind::IncidentCount => "{}: the venue's tills have issued {} of {} for this incident (as far as this till has heard)",
            CapKind::IncidentValue => "{}: the venue's tills have issued {} of {} in face value for this incident (as far as this till has heard)",
        }
    }

    /// The amount used and the limit as staff read them: counts, or amounts of money.
    pub fn figures(&self) -> [String; 2] {
        match self.kind {
            CapKind::TillCount | CapKind::IncidentCount => {
                [self.used.to_string(), self.limit.to_string()]
            }
            CapKind::TillValue | CapKind::IncidentValue => {
                [Money(self.used).to_string(), Money(self.limit).to_string()]
            }
        }
    }

    /// The refusal in words staff understand: "Popcorn: this till has issued 20 of 20 for
    /// this incident".
    pub fn describe(&self, offer_title: &str) -> String {
        let [used, limit] = self.figures();
        // One pass, so a title holding "{}" is not filled in again.
        let mut values = [offer_title, &used, &limit].into_iter();
        let mut parts = self.template().split("{}");
        let mut text = parts.next().unwrap_or_default().to_owned();
        for part in parts {
            text.push_str(values.next().unwrap_or("{}"));
            text.push_str(part);
        }
        text
    }
}

/// A cap's name in a report or log line ("this till's count").
pub fn cap_name(kind: CapKind) -> &'static str {
    match kind {
        CapKind::TillCount => "this till's count",
        CapKind::TillValue => "this till's value",
        CapKind::IncidentCount => "the venue's count",
        CapKind::IncidentValue => "the venue's value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_first_cap_reached_is_named_with_what_is_used() {
        let caps = Caps {
            till_count: Some(20),
            till_value: Some(Money(10_000)),
            venue_count: Some(50),
            venue_value: None,
            face_value: Some(Money(450)),
        };
        assert_eq!(
            judge_issue(
                &caps,
                Issued {
                    till: 19,
                    venue: 19
                }
            ),
            Ok(())
        );
        let reached = judge_issue(
            &caps,
            Issued {
                till: 20,
                venue: 20,
            },
        )
        .unwrap_err();
        assert_eq!(
            reached,
            CapReached {
                kind: CapKind::TillCount,
                used: 20,
                limit: 20
            }
        );
        assert_eq!(
            reached.describe("Popcorn"),
            "Popcorn: this till has issued 20 of 20 for this incident"
        );
        // 22 x 4.50 = 99.00; one more would be 103.50.
        let caps = Caps {
            till_count: None,
            ..caps
        };
        let reached = judge_issue(
            &caps,
            Issued {
                till: 22,
                venue: 22,
            },
        )
        .unwrap_err();
        assert_eq!(reached.kind, CapKind::TillValue);
        assert_eq!(
            reached.describe("Popcorn"),
            "Popcorn: this till has issued 99.00 of 100.00 in face value for this incident"
        );
        let reached = judge_issue(&caps, Issued { till: 3, venue: 50 }).unwrap_err();
        assert_eq!(reached.kind, CapKind::IncidentCount);
        assert!(reached
            .describe("Popcorn")
            .contains("as far as this till has heard"));
        // Without a face value, value caps weigh nothing.
        let unpriced = Caps {
            face_value: None,
            venue_count: None,
            ..caps
        };
        assert!(!Caps::default().any());
        assert_eq!(
            judge_issue(
                &unpriced,
                Issued {
                    till: 1_000,
                    venue: 1_000
                }
            ),
            Ok(())
        );
    }

    proptest! {
        /// From nothing issued, a till issues exactly as many as the tightest cap allows,
        /// and every refusal names a cap that is really reached.
        #[test]
        fn a_till_issues_exactly_what_the_tightest_cap_allows(
            till_count in proptest::option::of(1u32..40),
            till_value in proptest::option::of(1u64..20_000),
            venue_count in proptest::option::of(1u32..60),
            venue_value in proptest::option::of(1u64..30_000),
            face in 1u64..2_000,
            others in 0u64..30,
        ) {
            prop_assume!(
                till_count.is_some() || till_value.is_some() || venue_count.is_some() || venue_value.is_some()
            );
            let caps = Caps {
                till_count,
                till_value: till_value.map(Money),
                venue_count,
                venue_value: venue_value.map(Money),
                face_value: Some(Money(face)),
            };
            let mut issued = Issued { till: 0, venue: others };
            let refusal = loop {
                match judge_issue(&caps, issued) {
                    Ok(()) => {
                        issued.till += 1;
                        issued.venue += 1;
                    }
                    Err(reached) => break reached,
                }
                prop_assert!(issued.till < 10_000);
            };
            let by_count = |cap: Option<u32>, already: u64| cap.map(|c| u64::from(c).saturating_sub(already));
            let by_value = |cap: Option<u64>, already: u64| {
                cap.map(|c| (c / face).saturating_sub(already))
            };
            let allowed = [
                by_count(till_count, 0),
                by_value(till_value, 0),
                by_count(venue_count, others),
                by_value(venue_value, others),
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(u64::MAX);
            prop_assert_eq!(issued.till, allowed);
            let next = match refusal.kind {
                CapKind::TillCount => issued.till + 1,
                CapKind::IncidentCount => issued.venue + 1,
                CapKind::TillValue => (issued.till + 1) * face,
                CapKind::IncidentValue => (issued.venue + 1) * face,
            };
            prop_assert!(next > refusal.limit);
        }
    }
}
