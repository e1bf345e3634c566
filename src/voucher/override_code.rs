//! A manager's one-time override code: minted on the console, typed at a till (or read
//! over the phone) to issue vouchers past an offer's cap, and verified there offline with
//! the venue's voucher secret. It is a voucher code's frame (`code`: 16 symbols grouped
//! `XXXX-XXXX-XXXX-XXXX`, the check symbol, the venue tag, a 26-bit MAC) under a MAC domain
//! of its own, carrying:
//!
//! | bits | field |
//! |---|---|
//! | 5  | offer number (1–31) |
//! | 7  | the one terminal it is for (1–127), or 0 for any |
//! | 7  | how many vouchers it lets past the cap (1–100) |
//! | 26 | the minute it expires, in minutes since 2025-01-01 (UTC) |
//!
//! One-time: the till records each use in the issue's own transaction and its event
//! carries the code, so every till that has synced counts the uses (`store`); a code used
//! at two tills cut off from each other is over-used, and the report says so.
//! Pure: no I/O, no clock (`now` comes in as a minute).

use super::code::{grouped, read_frame, write_frame, CodeError, Domain, VoucherSecret};
use time::OffsetDateTime;

/// Fewest and most vouchers one code lets past a cap.
pub const EXTRA_RANGE: std::ops::RangeInclusive<u8> = 1..=100;
/// Shortest and longest validity of a code, in minutes.
pub const VALIDITY_MINUTES: std::ops::RangeInclusive<u32> = 5..=720;

/// What an override code carries besides its MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OverrideFields {
    pub offer: u8,
    /// The terminal number it is for; 0: any terminal of the venue.
    pub terminal: u8,
    /// How many vouchers it lets past the cap.
    pub extra: u8,
    /// The minute it expires (it is valid before), in minutes since 2025-01-01.
    pub expires_minute: u32,
}

impl OverrideFields {
    const MAX_MINUTE: u32 = (1 << 26) - 1;

    fn pack(&self) -> u64 {
        (u64::from(self.offer) << 40)
            | (u64::from(self.terminal) << 33)
            | (u64::from(self.extra) << 26)
            | u64::from(self.expires_minute)
    }

    fn unpack(bits: u64) -> Self {
        Self {
            offer: ((bits >> 40) & 0x1f) as u8,
            terminal: ((bits >> 33) & 0x7f) as u8,
            extra: ((bits >> 26) & 0x7f) as u8,
            expires_minute: (bits & u64::from(Self::MAX_MINUTE)) as u32,
        }
    }

    fn in_range(&self) -> bool {
        (1..=31).contains(&self.offer)
            && self.terminal <= 127
            && EXTRA_RANGE.contains(&self.extra)
            && self.expires_minute <= Self::MAX_MINUTE
    }
}

/// Minutes since 2025-01-01 (UTC) of an instant: the unit of an override code's expiry.
pub fn override_minute(now: OffsetDateTime) -> u32 {
    let minutes = now.unix_timestamp().div_euclid(60) - super::code::EXPIRY_EPOCH_DAY * 1440;
    minutes.clamp(0, i64::from(OverrideFields::MAX_MINUTE)) as u32
}

/// The instant a code's minute stands for.
pub fn minute_instant(minute: u32) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(
        (super::code::EXPIRY_EPOCH_DAY * 1440 + i64::from(minute)) * 60,
    )
    .expect("a minute of 26 bits after 2025 is a representable instant")
}

/// A code that passed every check of its frame (or was just minted).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OverrideCode {
    pub fields: OverrideFields,
    symbols: [u8; 16],
}

impl OverrideCode {
    /// Mints the code for `fields`; `None` when a field is out of range.
    pub fn mint(fields: OverrideFields, secret: &VoucherSecret) -> Option<Self> {
        fields.in_range().then(|| Self {
            fields,
            symbols: write_frame(Domain::Override, fields.pack(), secret),
        })
    }

    /// Reads a typed override code of this venue.
    pub fn parse(text: &str, secret: &VoucherSecret) -> Result<Self, OverrideRefusal> {
        let (bits, symbols) =
            read_frame(Domain::Override, text, secret).map_err(|error| match error {
                CodeError::CheckTheCode => OverrideRefusal::Mistyped,
                CodeError::NotForThisVenue => OverrideRefusal::NotForThisVenue,
                _ => OverrideRefusal::Forged,
            })?;
        let fields = OverrideFields::unpack(bits);
        if !fields.in_range() {
            return Err(OverrideRefusal::Forged);
        }
        Ok(Self { fields, symbols })
    }

    /// `XXXX-XXXX-XXXX-XXXX`: as shown on the console, kept in events and the store key.
    pub fn grouped(&self) -> String {
        grouped(&self.symbols)
    }
}

/// Why an override was not accepted. Nothing was issued and nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OverrideRefusal {
    #[error("check the override code: a symbol is mistyped or two are swapped")]
    Mistyped,
    #[error(
        "not an override code of this venue: forged, damaged, or a voucher code typed in its place"
    )]
    Forged,
    #[error("this override code is for another venue")]
    NotForThisVenue,
    #[error("this override code expired at {at} UTC; ask the manager for a new one")]
    Expired { at: String },
    #[error("this override code is for till number {terminal}, not this one")]
    OtherTerminal { terminal: u8 },
    #[error("this override code is for another offer")]
    OtherOffer,
    #[error("this override code is used up: it allowed {allowed} voucher(s) past the cap and {used} were issued with it")]
    UsedUp { allowed: u8, used: u64 },
    #[error("wrong manager name or PIN; nothing was issued")]
    WrongPin,
    #[error("no manager can override at this till: add [[counter.managers]] to its config, or ask for an override code from the console")]
    NoManagers,
    #[error("too many wrong manager PINs at this till; wait {seconds} s and try again")]
    TooManyPins { seconds: u64 },
}

/// May `code` let one more voucher of offer `offer` past its cap at terminal `terminal`
/// at minute `now`, after `used` uses known to this till?
pub fn judge_code(
    code: &OverrideCode,
    offer: u8,
    terminal: u8,
    now: u32,
    used: u64,
) -> Result<(), OverrideRefusal> {
    let fields = code.fields;
    if now >= fields.expires_minute {
        let at = minute_instant(fields.expires_minute);
        return Err(OverrideRefusal::Expired {
            at: format!(
                "{}-{:02}-{:02} {:02}:{:02}",
                at.year(),
                u8::from(at.month()),
                at.day(),
                at.hour(),
                at.minute()
            ),
        });
    }
    if fields.offer != offer {
        return Err(OverrideRefusal::OtherOffer);
    }
    if fields.terminal != 0 && fields.terminal != terminal {
        return Err(OverrideRefusal::OtherTerminal {
            terminal: fields.terminal,
        });
    }
    if used >= u64::from(fields.extra) {
        return Err(OverrideRefusal::UsedUp {
            allowed: fields.extra,
            used,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::VoucherCode;

    fn secret() -> VoucherSecret {
        VoucherSecret::new("rialto", b"0123456789abcdef-venue-secret").unwrap()
    }

    fn fields() -> OverrideFields {
        OverrideFields {
            offer: 3,
            terminal: 0,
            extra: 2,
            expires_minute: 1_000_000,
        }
    }

    #[test]
    fn codes_read_back_and_are_judged_one_refusal_at_a_time() {
        let code = OverrideCode::mint(fields(), &secret()).unwrap();
        let typed = code.grouped().to_lowercase().replace('-', " ");
        assert_eq!(OverrideCode::parse(&typed, &secret()), Ok(code));
        assert_eq!(judge_code(&code, 3, 9, 999_999, 1), Ok(()));
        assert!(matches!(
            judge_code(&code, 3, 9, 1_000_000, 0),
            Err(OverrideRefusal::Expired { .. })
        ));
        assert_eq!(
            judge_code(&code, 4, 9, 0, 0),
            Err(OverrideRefusal::OtherOffer)
        );
        assert_eq!(
            judge_code(&code, 3, 9, 0, 2),
            Err(OverrideRefusal::UsedUp {
                allowed: 2,
                used: 2
            })
        );
        let for_till_7 = OverrideCode::mint(
            OverrideFields {
                terminal: 7,
                ..fields()
            },
            &secret(),
        )
        .unwrap();
        assert_eq!(judge_code(&for_till_7, 3, 7, 0, 0), Ok(()));
        assert_eq!(
            judge_code(&for_till_7, 3, 8, 0, 0),
            Err(OverrideRefusal::OtherTerminal { terminal: 7 })
        );
    }

    #[test]
    fn forged_mistyped_foreign_and_voucher_codes_are_refused() {
        let code = OverrideCode::mint(fields(), &secret()).unwrap().grouped();
        let mut swapped: Vec<char> = code.chars().collect();
        swapped.swap(0, 1);
        if swapped[0] != swapped[1] {
            let swapped: String = swapped.into_iter().collect();
            assert_eq!(
                OverrideCode::parse(&swapped, &secret()),
                Err(OverrideRefusal::Mistyped)
            );
        }
        let other_key = VoucherSecret::new("rialto", b"another-venue-secret-key").unwrap();
        assert_eq!(
            OverrideCode::parse(&code, &other_key),
            Err(OverrideRefusal::Forged)
        );
        // A voucher's code never reads as an override code, nor the reverse.
        let voucher = VoucherCode::issue(
            crate::voucher::VoucherFields {
                offer: 3,
                terminal: 1,
                serial: 1,
                expiry_day: 700,
            },
            &secret(),
        )
        .unwrap();
        assert_eq!(
            OverrideCode::parse(&voucher.to_string(), &secret()),
            Err(OverrideRefusal::Forged)
        );
        assert!(VoucherCode::parse(&code, &secret()).is_err());
        for out_of_range in [
            OverrideFields {
                extra: 0,
                ..fields()
            },
            OverrideFields {
                extra: 101,
                ..fields()
            },
            OverrideFields {
                offer: 0,
                ..fields()
            },
        ] {
            assert!(OverrideCode::mint(out_of_range, &secret()).is_none());
        }
    }

    #[test]
    fn minutes_count_from_2025() {
        let at = time::macros::datetime!(2025-01-01 01:00 UTC);
        assert_eq!(override_minute(at), 60);
        assert_eq!(minute_instant(60), at);
    }
}
