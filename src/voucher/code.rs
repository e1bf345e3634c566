//! The voucher code: 16 Crockford base32 symbols, read aloud and typed as
//! `XXXX-XXXX-XXXX-XXXX`, the last of which is a check symbol from the same alphabet
//! (`check`: a weighted sum in GF(32)). The 15 payload symbols (75 bits) carry
//! everything a terminal needs to verify a voucher offline:
//!
//! | bits | field |
//! |---|---|
//! | 5  | offer number (1–31, from the venue's config) |
//! | 7  | issuing terminal number (1–127) |
//! | 21 | serial per terminal (up to 2,097,151) |
//! | 12 | expiry, in days since 2025-01-01 (until 2036) |
//! | 4  | venue tag: 4 bits of a hash of the venue id |
//! | 26 | MAC: HMAC-SHA-256 with the venue secret over the venue id and the 49 bits above |
//!
//! Order of checks, so each answer means one thing: length and readable symbols (a
//! symbol missing, extra, unreadable — `U`, `*` — or mistyped, or two neighbours swapped:
//! "check the code"; anything else that is not 16 symbols: "not a voucher"), venue tag
//! ("not for this venue"), MAC ("not a voucher": forged or damaged).
//! A guess that passes the check symbol and the tag still has a 1 in 2^26 (1 in 67 million)
//! chance against the MAC; with attempts rate-limited per terminal, guessing is hopeless.
//! The same 16-symbol frame — alphabet, check symbol, venue tag, MAC — carries a manager's
//! override codes (`override_code`), under a MAC domain of their own.
//! Pure: no I/O, no clock (expiry is compared by the caller).

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const PAYLOAD_SYMBOLS: usize = 15;
/// At most this many unreadable symbols in a 16-symbol code are taken for typing
/// mistakes ("check the code"); more, and it is not a voucher at all.
const UNREADABLE_TYPOS: usize = 2;
const MAC_BITS: u32 = 26;
const TAG_BITS: u32 = 4;
/// 2025-01-01 as days since 1970-01-01.
pub const EXPIRY_EPOCH_DAY: i64 = 20_089;

/// What a code carries besides its MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoucherFields {
    pub offer: u8,
    pub terminal: u8,
    pub serial: u32,
    /// Last valid day, as days since 2025-01-01.
    pub expiry_day: u16,
}

impl VoucherFields {
    pub const MAX_OFFER: u8 = 31;
    pub const MAX_TERMINAL: u8 = 127;
    pub const MAX_SERIAL: u32 = (1 << 21) - 1;
    pub const MAX_EXPIRY_DAY: u16 = (1 << 12) - 1;

    fn pack(&self) -> u64 {
        (u64::from(self.offer) << 40)
            | (u64::from(self.terminal) << 33)
            | (u64::from(self.serial) << 12)
            | u64::from(self.expiry_day)
    }

    fn unpack(bits: u64) -> Self {
        Self {
            offer: ((bits >> 40) & 0x1f) as u8,
            terminal: ((bits >> 33) & 0x7f) as u8,
            serial: ((bits >> 12) & 0x1f_ffff) as u32,
            expiry_day: (bits & 0xfff) as u16,
        }
    }

    fn check_ranges(&self) -> Result<(), CodeError> {
        let in_range = (1..=Self::MAX_OFFER).contains(&self.offer)
            && (1..=Self::MAX_TERMINAL).contains(&self.terminal)
            && self.serial <= Self::MAX_SERIAL
            && self.expiry_day <= Self::MAX_EXPIRY_DAY;
        if in_range {
            Ok(())
        } else {
            Err(CodeError::FieldOutOfRange)
        }
    }
}

/// The venue's secret key, loaded from the file the config names.
#[derive(Clone)]
pub struct VoucherSecret {
    venue: String,
    key: Vec<u8>,
}

impl fmt::Debug for VoucherSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the key, whatever logs this.
        write!(
            f,
            "VoucherSecret {{ venue: {:?}, key: <{} bytes> }}",
            self.venue,
            self.key.len()
        )
    }
}

impl VoucherSecret {
    /// At least 16 bytes of key; the venue id binds codes to the venue.
    pub fn new(venue: &str, key: &[u8]) -> Result<Self, CodeError> {
        if key.len() < 16 {
            return Err(CodeError::WeakSecret);
        }
        Ok(Self {
            venue: venue.to_owned(),
            key: key.to_vec(),
        })
    }

    fn venue_tag(&self) -> u64 {
        u64::from(Sha256::digest(self.venue.as_bytes())[0] >> (8 - TAG_BITS))
    }

    fn mac(&self, domain: Domain, fields_bits: u64, tag: u64) -> u64 {
        // Keys of any length are accepted by HMAC; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(self.venue.as_bytes());
        // The byte after the venue id (which never holds 0 or 1) keeps each kind of code
        // apart; vouchers' 0 is what every code issued so far was signed with.
        mac.update(&[domain as u8]);
        mac.update(&((fields_bits << TAG_BITS) | tag).to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let top = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        u64::from(top >> (32 - MAC_BITS))
    }
}

/// Why a typed or scanned code is not a valid voucher of this venue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("not a voucher: a code is 16 symbols of 0-9 and A-Z")]
    NotAVoucher,
    #[error("check the code: a symbol is mistyped or two are swapped")]
    CheckTheCode,
    #[error("not for this venue")]
    NotForThisVenue,
    #[error("a voucher field is out of range")]
    FieldOutOfRange,
    #[error("the venue secret must be at least 16 bytes")]
    WeakSecret,
}

/// A code that passed every check (or was just issued).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VoucherCode {
    pub fields: VoucherFields,
    symbols: [u8; 16],
}

impl VoucherCode {
    /// Makes the code for `fields`.
    pub fn issue(fields: VoucherFields, secret: &VoucherSecret) -> Result<Self, CodeError> {
        fields.check_ranges()?;
        let symbols = write_frame(Domain::Voucher, fields.pack(), secret);
        Ok(Self { fields, symbols })
    }

    /// Reads a typed or scanned code: case-insensitive, I and L read as 1, O as 0,
    /// hyphens and spaces ignored.
    pub fn parse(text: &str, secret: &VoucherSecret) -> Result<Self, CodeError> {
        let (bits, symbols) = read_frame(Domain::Voucher, text, secret)?;
        let fields = VoucherFields::unpack(bits);
        fields.check_ranges().map_err(|_| CodeError::NotAVoucher)?;
        Ok(Self { fields, symbols })
    }

    /// The 16 symbols without separators: the QR payload and the store key.
    pub fn compact(&self) -> String {
        compact(&self.symbols)
    }
}

impl fmt::Display for VoucherCode {
    /// `XXXX-XXXX-XXXX-XXXX`, as printed and read aloud.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", grouped(&self.symbols))
    }
}

/// Which kind of code a frame carries: each kind has its own MAC domain, so a voucher
/// never reads as a manager's override code (`override_code`) or the reverse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Domain {
    Voucher = 0,
    Override = 1,
}

/// The 16 symbols of a code of `domain` carrying 45 bits of fields: the fields, the
/// venue tag, the MAC, and the check symbol.
pub(crate) fn write_frame(domain: Domain, bits: u64, secret: &VoucherSecret) -> [u8; 16] {
    let tag = secret.venue_tag();
    // 75 bits: more than a u64 holds.
    let value = ((u128::from((bits << TAG_BITS) | tag)) << MAC_BITS)
        | u128::from(secret.mac(domain, bits, tag));
    let mut digits = [0u8; PAYLOAD_SYMBOLS];
    for (index, digit) in digits.iter_mut().enumerate() {
        let shift = 5 * (PAYLOAD_SYMBOLS - 1 - index);
        *digit = ((value >> shift) & 0x1f) as u8;
    }
    let mut symbols = [0u8; 16];
    for (symbol, digit) in symbols.iter_mut().zip(digits) {
        *symbol = ALPHABET[usize::from(digit)];
    }
    symbols[15] = ALPHABET[usize::from(super::check::check_digit(&digits))];
    symbols
}

/// Reads a typed code of `domain` (case-insensitive, I and L as 1, O as 0, hyphens and
/// spaces ignored) and checks length, symbols, check symbol, venue tag and MAC, in that
/// order; the 45 bits of fields and the canonical symbols.
pub(crate) fn read_frame(
    domain: Domain,
    text: &str,
    secret: &VoucherSecret,
) -> Result<(u64, [u8; 16]), CodeError> {
    if text.len() > 64 {
        return Err(CodeError::NotAVoucher);
    }
    // Each symbol's digit, or None where what was typed is no symbol of the alphabet.
    let mut digits: Vec<Option<u8>> = Vec::with_capacity(16);
    for character in text.chars() {
        let normalised = match character.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'I' | 'L' => '1',
            'O' => '0',
            other => other,
        };
        let digit = ALPHABET
            .iter()
            .position(|a| char::from(*a) == normalised)
            .map(|digit| digit as u8);
        digits.push(digit);
    }
    let unreadable = digits.iter().filter(|digit| digit.is_none()).count();
    let typo = match digits.len() {
        // A symbol left out or typed twice.
        15 | 17 => true,
        16 => unreadable > 0 && unreadable <= UNREADABLE_TYPOS,
        _ => return Err(CodeError::NotAVoucher),
    };
    if typo {
        return Err(CodeError::CheckTheCode);
    }
    if unreadable > 0 {
        return Err(CodeError::NotAVoucher);
    }
    let mut all = [0u8; 16];
    for (slot, digit) in all.iter_mut().zip(&digits) {
        *slot = digit.expect("every symbol was readable");
    }
    if !super::check::is_consistent(&all) {
        return Err(CodeError::CheckTheCode);
    }
    let value = all[..PAYLOAD_SYMBOLS]
        .iter()
        .fold(0u128, |value, digit| (value << 5) | u128::from(*digit));
    // The masks keep each part within its width, so the narrowing casts are exact.
    let mac = (value & ((1 << MAC_BITS) - 1)) as u64;
    let tag = ((value >> MAC_BITS) & ((1 << TAG_BITS) - 1)) as u64;
    let bits = (value >> (MAC_BITS + TAG_BITS)) as u64;
    if tag != secret.venue_tag() {
        return Err(CodeError::NotForThisVenue);
    }
    if mac != secret.mac(domain, bits, tag) {
        return Err(CodeError::NotAVoucher);
    }
    let mut symbols = [0u8; 16];
    for (symbol, digit) in symbols.iter_mut().zip(all) {
        *symbol = ALPHABET[usize::from(digit)];
    }
    Ok((bits, symbols))
}

/// The 16 symbols without separators.
pub(crate) fn compact(symbols: &[u8; 16]) -> String {
    symbols.iter().map(|&b| b as char).collect()
}

/// `XXXX-XXXX-XXXX-XXXX`, as printed and read aloud.
pub(crate) fn grouped(symbols: &[u8; 16]) -> String {
    let compact = compact(symbols);
    format!(
        "{}-{}-{}-{}",
        &compact[0..4],
        &compact[4..8],
        &compact[8..12],
        &compact[12..16]
    )
}

#[cfg(test)]
#[path = "code_tests.rs"]
mod tests;
