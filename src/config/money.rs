//! Amounts of money in the config: an offer's face value ("4.50"), parsed at load into
//! whole cents so reports add them up exactly. A string, not a TOML float: 0.1 + 0.2 is
//! not 0.3 in binary, and a morning-after report must add up to the cent.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// An amount in cents (hundredths of the currency unit), at most 1,000,000.00.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(pub u64);

/// The largest face value accepted, in cents.
const MAX_CENTS: u64 = 100_000_000;

impl FromStr for Money {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let refuse = || format!("{text:?} is not an amount; write it like \"4.50\" or \"12\"");
        let (units, cents) = match text.trim().split_once('.') {
            None => (text.trim(), ""),
            Some((units, cents)) => (units, cents),
        };
        let digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty()
            || units.len() > 7
            || !digits(units)
            || cents.len() > 2
            || !digits(cents)
        {
            return Err(refuse());
        }
        let units: u64 = units.parse().map_err(|_| refuse())?;
        let cents: u64 = match cents.len() {
            0 => 0,
            1 => cents.parse::<u64>().map_err(|_| refuse())? * 10,
            _ => cents.parse().map_err(|_| refuse())?,
        };
        let total = units * 100 + cents;
        if total > MAX_CENTS {
            return Err(format!("{text:?} is more than 1000000.00"));
        }
        Ok(Money(total))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// True for a currency code as ISO 4217 writes it ("EUR", "GBP", "USD").
pub fn is_currency_code(text: &str) -> bool {
    text.len() == 3 && text.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_to_cents_and_print_back() {
        for (text, cents) in [
            ("4.50", 450),
            ("4.5", 450),
            ("12", 1200),
            ("0.05", 5),
            ("1000000", 100_000_000),
        ] {
            let money: Money = text.parse().unwrap();
            assert_eq!(money, Money(cents), "{text}");
        }
        assert_eq!(Money(450).to_string(), "4.50");
        for bad in ["", "4,50", "-1", "4.505", "1e3", ".5", "1000000.01", "abc"] {
            assert!(bad.parse::<Money>().is_err(), "{bad}");
        }
        assert!(is_currency_code("EUR") && !is_currency_code("eur") && !is_currency_code("EURO"));
    }
}
