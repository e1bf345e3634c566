//! Every voucher rule, decided purely: what a terminal answers when staff scan or type a
//! code (from the parsed code, the local record, today's date and the link state), and
//! whether a manager's void may be made. Each answer is specific, so staff know what to
//! tell the guest; the CLI, the counter screen, the counter API and the console all get
//! theirs from here, through the store.

use super::code::{CodeError, VoucherCode};
use super::events::{EventMark, VoucherRecord};
use crate::config::OfflineRedemption;
use crate::protocol::vouchers::MAX_REASON_CHARS;
use crate::protocol::Identifier;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RedeemAnswer {
    Valid,
    AlreadyRedeemed {
        first: EventMark,
    },
    /// Last valid day, in days since 2025-01-01.
    Expired {
        last_day: u16,
    },
    Voided {
        reason: String,
    },
    NotForThisVenue,
    CheckTheCode,
    NotAVoucher,
    /// Policy forbids this redemption while the venue link is down.
    NotWhileOffline {
        why: String,
    },
    /// Too many unreadable codes in a short time at this terminal: guessing is throttled.
    TooManyAttempts,
}

impl RedeemAnswer {
    /// The words on screen and on the CLI, in capitals first so they read at a glance.
    pub fn headline(&self) -> &'static str {
        match self {
            RedeemAnswer::Valid => "VALID",
            RedeemAnswer::AlreadyRedeemed { .. } => "ALREADY REDEEMED",
            RedeemAnswer::Expired { .. } => "EXPIRED",
            RedeemAnswer::Voided { .. } => "VOIDED",
            RedeemAnswer::NotForThisVenue => "NOT FOR THIS VENUE",
            RedeemAnswer::CheckTheCode => "CHECK THE CODE",
            RedeemAnswer::NotAVoucher => "NOT A VOUCHER",
            RedeemAnswer::NotWhileOffline { .. } => "NOT WHILE OFFLINE",
            RedeemAnswer::TooManyAttempts => "TOO MANY ATTEMPTS",
        }
    }

    /// Whether the code itself was unreadable (typo, forgery, another venue): these count
    /// towards the terminal's attempt limit.
    pub fn is_unreadable(&self) -> bool {
        matches!(
            self,
            RedeemAnswer::CheckTheCode | RedeemAnswer::NotAVoucher | RedeemAnswer::NotForThisVenue
        )
    }
}

/// A redemption's answer with the offer number its code carries (none when the code is
/// unreadable), so a screen can name what the guest gets, or got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redemption {
    pub answer: RedeemAnswer,
    pub offer_number: Option<u8>,
}

impl Redemption {
    /// An answer about a code that could not be read: no offer to name.
    pub fn unread(answer: RedeemAnswer) -> Self {
        Self {
            answer,
            offer_number: None,
        }
    }
}

/// Where the decision is taken.
#[derive(Clone, Copy, Debug)]
pub struct RedeemContext {
    /// Days since 2025-01-01, from this terminal's clock.
    pub today: u16,
    /// Whether the link to the venue broker is up.
    pub online: bool,
    pub policy: OfflineRedemption,
    pub this_terminal: u8,
}

/// Why nothing is redeemed offline under the "deny" policy.
pub const OFFLINE_DENIED: &str =
    "redemptions wait until this terminal is back in touch with the venue";

pub fn judge_redemption(
    parsed: Result<&VoucherCode, CodeError>,
    record: Option<&VoucherRecord>,
    context: RedeemContext,
) -> RedeemAnswer {
    let code = match parsed {
        Ok(code) => code,
        Err(CodeError::CheckTheCode) => return RedeemAnswer::CheckTheCode,
        Err(CodeError::NotForThisVenue) => return RedeemAnswer::NotForThisVenue,
        Err(_) => return RedeemAnswer::NotAVoucher,
    };
    if let Some((_, reason)) = record.and_then(|r| r.voided.as_ref()) {
        return RedeemAnswer::Voided {
            reason: reason.clone(),
        };
    }
    if let Some(first) = record.and_then(|r| r.redemptions.first()) {
        return RedeemAnswer::AlreadyRedeemed {
            first: first.clone(),
        };
    }
    // A voucher is good through its last day; a day's grain is the clock-skew margin.
    if context.today > code.fields.expiry_day {
        return RedeemAnswer::Expired {
            last_day: code.fields.expiry_day,
        };
    }
    if !context.online {
        match context.policy {
            OfflineRedemption::Allow => {}
            OfflineRedemption::Deny => {
                return RedeemAnswer::NotWhileOffline {
                    why: OFFLINE_DENIED.into(),
                }
            }
            OfflineRedemption::IssuingTerminalOnly
                if code.fields.terminal != context.this_terminal =>
            {
                return RedeemAnswer::NotWhileOffline {
                    why: format!(
                        "while the venue link is down, only terminal {} can redeem it",
                        code.fields.terminal
                    ),
                }
            }
            OfflineRedemption::IssuingTerminalOnly => {}
        }
    }
    RedeemAnswer::Valid
}

/// Why a manager's void is refused; nothing is written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VoidRefusal {
    #[error("say why the voucher is void (1 to {MAX_REASON_CHARS} characters)")]
    NoReason,
    #[error("the reason is {chars} characters; the limit is {MAX_REASON_CHARS}")]
    ReasonTooLong { chars: usize },
    #[error("this voucher was already voided by {by} ({reason})")]
    AlreadyVoided { by: Identifier, reason: String },
}

/// Whether `record`'s voucher may be voided for `reason`; the reason as it is kept (one
/// line, trimmed) if so. A void is final: a second one is refused, not repeated.
pub fn judge_void(record: Option<&VoucherRecord>, reason: &str) -> Result<String, VoidRefusal> {
    let reason = crate::text::one_line(reason).trim().to_owned();
    let chars = reason.chars().count();
    if chars == 0 {
        return Err(VoidRefusal::NoReason);
    }
    if chars > MAX_REASON_CHARS {
        return Err(VoidRefusal::ReasonTooLong { chars });
    }
    if let Some((mark, earlier)) = record.and_then(|r| r.voided.as_ref()) {
        return Err(VoidRefusal::AlreadyVoided {
            by: mark.origin.clone(),
            reason: earlier.clone(),
        });
    }
    Ok(reason)
}

/// "2027-02-20" for a voucher day (days since 2025-01-01).
pub fn last_day_text(day: u16) -> String {
    let date = time::Date::from_julian_day(
        time::macros::date!(2025 - 01 - 01).to_julian_day() + i32::from(day),
    );
    date.map(|d| d.to_string())
        .unwrap_or_else(|_| format!("day {day}"))
}

/// "VALID: redeemed now: …" — the headline and the detail, for the CLI.
pub fn describe_answer(answer: &RedeemAnswer) -> String {
    format!("{}: {}", answer.headline(), answer_detail(answer))
}

/// What staff should know besides the headline (when, where, why).
pub fn answer_detail(answer: &RedeemAnswer) -> String {
    match answer {
        RedeemAnswer::Valid => "redeemed now: give the guest the offer".to_owned(),
        RedeemAnswer::AlreadyRedeemed { first } => format!(
            "at {} by {} on {}",
            crate::clock::hour_minute(first.at),
            first.origin,
            first.at.date()
        ),
        RedeemAnswer::Expired { last_day } => {
            format!("it was valid until {}", last_day_text(*last_day))
        }
        RedeemAnswer::Voided { reason } => format!("voided: {reason}"),
        RedeemAnswer::NotForThisVenue => "this is another venue's voucher".to_owned(),
        RedeemAnswer::CheckTheCode => {
            "a symbol is mistyped or two are swapped; read it again".to_owned()
        }
        RedeemAnswer::NotAVoucher => "this is not one of our vouchers".to_owned(),
        RedeemAnswer::NotWhileOffline { why } => why.clone(),
        RedeemAnswer::TooManyAttempts => {
            "too many unreadable codes in the last minute; wait a moment and try again".to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::events::{VoucherChange, VoucherEvent, EVENT_VERSION};

    #[test]
    fn a_void_needs_a_reason_and_happens_once() {
        assert_eq!(judge_void(None, " \n "), Err(VoidRefusal::NoReason));
        let long = "x".repeat(MAX_REASON_CHARS + 1);
        assert_eq!(
            judge_void(None, &long),
            Err(VoidRefusal::ReasonTooLong {
                chars: MAX_REASON_CHARS + 1
            })
        );
        assert_eq!(
            judge_void(None, " guest\ncomplaint "),
            Ok("guest complaint".to_owned())
        );
        let mut record = VoucherRecord::default();
        record.apply(&VoucherEvent {
            v: EVENT_VERSION,
            origin: Identifier::parse("till-2").unwrap(),
            seq: 1,
            at: time::OffsetDateTime::UNIX_EPOCH,
            staff: None,
            till: None,
            change: VoucherChange::Voided {
                code: "C".into(),
                reason: "lost".into(),
            },
        });
        let refusal = judge_void(Some(&record), "again").unwrap_err();
        assert_eq!(
            refusal.to_string(),
            "this voucher was already voided by till-2 (lost)"
        );
    }
}
