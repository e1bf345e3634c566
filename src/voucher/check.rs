//! The check symbol of a voucher code, inside the code's own 32-symbol alphabet (so no
//! code ends in a symbol staff cannot find on a keyboard or read aloud). The 16 symbols,
//! read as elements of GF(32), satisfy Σ α^i · s_i = 0, with α a primitive element and
//! i the position. The weights α^0 … α^15 are distinct and non-zero, so:
//! - changing any one symbol changes the sum by α^i · e ≠ 0: every single substitution
//!   is caught;
//! - swapping two different neighbours changes it by (α^i + α^(i+1)) · (s_i + s_(i+1)),
//!   a product of two non-zero elements: every neighbour swap is caught, the check
//!   symbol's own included.
//!
//! Pure arithmetic; `code` uses it to issue and to read codes.

/// x^5 + x^2 + 1, primitive over GF(2): α = x generates all 31 non-zero elements.
const MODULUS: u16 = 0b10_0101;

/// The product of two GF(32) elements (5-bit values).
fn multiply(a: u8, b: u8) -> u8 {
    let (mut a, mut b, mut product) = (u16::from(a), u16::from(b), 0u16);
    while b != 0 {
        if b & 1 != 0 {
            product ^= a;
        }
        b >>= 1;
        a <<= 1;
        if a & 0b10_0000 != 0 {
            a ^= MODULUS;
        }
    }
    // Reduced below 32 at every step.
    product as u8
}

/// α^power.
fn alpha_to(power: usize) -> u8 {
    (0..power % 31).fold(1, |value, _| multiply(value, 0b10))
}

/// Σ α^i · s_i over the given symbols (digit values 0–31) from position 0.
fn weighted_sum(symbols: &[u8]) -> u8 {
    symbols
        .iter()
        .enumerate()
        .fold(0, |sum, (position, symbol)| {
            sum ^ multiply(alpha_to(position), *symbol)
        })
}

/// The check digit (0–31) for 15 payload digits.
pub fn check_digit(payload: &[u8; 15]) -> u8 {
    // α^15 · c = Σ (characteristic 2: minus is plus), and α^-15 = α^16.
    multiply(alpha_to(16), weighted_sum(payload))
}

/// Whether 16 digits (payload and check) are consistent.
pub fn is_consistent(digits: &[u8; 16]) -> bool {
    weighted_sum(digits) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpha_is_primitive_and_multiplication_inverts() {
        let powers: std::collections::BTreeSet<u8> = (0..31).map(alpha_to).collect();
        assert_eq!(powers.len(), 31, "α generates every non-zero element");
        assert!(!powers.contains(&0));
        assert_eq!(multiply(alpha_to(15), alpha_to(16)), 1);
    }

    #[test]
    fn a_made_check_digit_is_consistent() {
        let payload = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9];
        let mut digits = [0u8; 16];
        digits[..15].copy_from_slice(&payload);
        digits[15] = check_digit(&payload);
        assert!(is_consistent(&digits));
        digits[15] ^= 1;
        assert!(!is_consistent(&digits));
    }
}
