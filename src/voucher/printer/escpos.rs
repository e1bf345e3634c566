//! The receipt as ESC/POS bytes: the few commands a raincheck needs, written by hand
//! (there is nothing a crate would add). Every string on a receipt comes from config or
//! staff and is treated as hostile: the printer interprets any ESC or GS byte as a
//! command (cut, open the cash drawer, change the code page), so every field goes through
//! `ascii` first, which removes control bytes, reduces text to ASCII (the printer's
//! default code page is not UTF-8) and caps its length.

use super::ascii::{printable_ascii, wrap};
use super::Receipt;

/// Font A on 80 mm paper.
const COLUMNS: usize = 42;
/// Double-width characters take two columns of font A.
const DOUBLE_WIDTH_COLUMNS: usize = COLUMNS / 2;
/// Font B on 80 mm paper; 56 is the narrowest count among common 80 mm printers.
const SMALL_FONT_COLUMNS: usize = 56;

const ESC: u8 = 0x1b;
const GS: u8 = 0x1d;
const LINE_FEED: u8 = b'\n';

const INITIALISE: [u8; 2] = [ESC, b'@'];
const ALIGN_CENTRE: [u8; 3] = [ESC, b'a', 1];
const BOLD_ON: [u8; 3] = [ESC, b'E', 1];
const BOLD_OFF: [u8; 3] = [ESC, b'E', 0];
const SIZE_NORMAL: [u8; 3] = [GS, b'!', 0x00];
const SIZE_DOUBLE_HEIGHT: [u8; 3] = [GS, b'!', 0x01];
const SIZE_DOUBLE_WIDTH_AND_HEIGHT: [u8; 3] = [GS, b'!', 0x11];
const FONT_A: [u8; 3] = [ESC, b'M', 0];
const FONT_B: [u8; 3] = [ESC, b'M', 1];
/// Room below the last line so it is not under the cutter blade.
const FEED_BEFORE_CUT: [u8; 3] = [ESC, b'd', 3];
/// Partial cut: the receipt stays hanging on a tab instead of falling to the floor.
const PARTIAL_CUT: [u8; 4] = [GS, b'V', 66, 0];

/// `GS ( k` function 165: QR model 2, which every current printer and phone reads.
const QR_MODEL_2: [u8; 9] = [GS, b'(', b'k', 4, 0, 49, 65, 50, 0];
/// `GS ( k` function 167: about 15 mm for a 16-symbol code, easy for a counter scanner.
const QR_MODULE_SIZE_6: [u8; 8] = [GS, b'(', b'k', 3, 0, 49, 67, 6];
/// `GS ( k` function 169, level M: survives a crease or a coffee ring.
const QR_ERROR_CORRECTION_M: [u8; 8] = [GS, b'(', b'k', 3, 0, 49, 69, 49];
/// `GS ( k` function 181: print what function 180 stored.
const QR_PRINT: [u8; 8] = [GS, b'(', b'k', 3, 0, 49, 81, 48];

/// The receipt as ESC/POS bytes for an 80 mm printer (42 columns in font A).
pub fn receipt_bytes(receipt: &Receipt) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    bytes.extend_from_slice(&INITIALISE);
    bytes.extend_from_slice(&ALIGN_CENTRE);

    bytes.extend_from_slice(&BOLD_ON);
    bytes.extend_from_slice(&SIZE_DOUBLE_HEIGHT);
    push_wrapped(&mut bytes, &receipt.venue_name, COLUMNS);
    bytes.extend_from_slice(&SIZE_NORMAL);
    push_wrapped(&mut bytes, &receipt.offer_title, COLUMNS);
    bytes.extend_from_slice(&BOLD_OFF);
    push_wrapped(&mut bytes, &receipt.terms, COLUMNS);
    push_wrapped(&mut bytes, &receipt.valid_until, COLUMNS);
    bytes.push(LINE_FEED);

    bytes.extend_from_slice(&SIZE_DOUBLE_WIDTH_AND_HEIGHT);
    push_wrapped(&mut bytes, &receipt.code, DOUBLE_WIDTH_COLUMNS);
    bytes.extend_from_slice(&SIZE_NORMAL);
    bytes.push(LINE_FEED);

    push_qr_code(&mut bytes, &receipt.qr_payload);

    bytes.extend_from_slice(&FONT_B);
    push_wrapped(&mut bytes, &receipt.issued, SMALL_FONT_COLUMNS);
    bytes.extend_from_slice(&FONT_A);
    bytes.extend_from_slice(&FEED_BEFORE_CUT);
    bytes.extend_from_slice(&PARTIAL_CUT);
    bytes
}

fn push_wrapped(bytes: &mut Vec<u8>, untrusted: &str, columns: usize) {
    for line in wrap(&printable_ascii(untrusted), columns) {
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(LINE_FEED);
    }
}

fn push_qr_code(bytes: &mut Vec<u8>, untrusted: &str) {
    let payload = printable_ascii(untrusted);
    // A store command with no data makes some printers print garbage or stall; a receipt
    // without a QR code still carries the code as text.
    if payload.is_empty() {
        return;
    }
    // The capped payload is at most 300 bytes, so the length always fits pL and pH.
    let stored_length = payload.len() + 3;
    let [low, high] = u16::try_from(stored_length)
        .unwrap_or(u16::MAX)
        .to_le_bytes();
    bytes.extend_from_slice(&QR_MODEL_2);
    bytes.extend_from_slice(&QR_MODULE_SIZE_6);
    bytes.extend_from_slice(&QR_ERROR_CORRECTION_M);
    bytes.extend_from_slice(&[GS, b'(', b'k', low, high, 49, 80, 48]);
    bytes.extend_from_slice(payload.as_bytes());
    bytes.extend_from_slice(&QR_PRINT);
    bytes.push(LINE_FEED);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::voucher::printer::ascii::MAX_FIELD_CHARACTERS;

    fn clean_receipt() -> Receipt {
        Receipt {
            venue_name: "Rialto Cinema".to_owned(),
            offer_title: "Free medium popcorn".to_owned(),
            terms: "One per guest. Not exchangeable for cash. Show this receipt at any \
                    concession stand of the venue."
                .to_owned(),
            valid_until: "valid until 22 Dec 2026".to_owned(),
            code: "7K3Q-9ZX1-M4TB-0C2W".to_owned(),
            qr_payload: "7K3Q9ZX1M4TB0C2W".to_owned(),
            issued: "22 Nov 2026 19:43, concession-1".to_owned(),
        }
    }

    fn count(bytes: &[u8], wanted: u8) -> usize {
        bytes.iter().filter(|&&byte| byte == wanted).count()
    }

    fn fields(receipt: &mut Receipt) -> [&mut String; 7] {
        [
            &mut receipt.venue_name,
            &mut receipt.offer_title,
            &mut receipt.terms,
            &mut receipt.valid_until,
            &mut receipt.code,
            &mut receipt.qr_payload,
            &mut receipt.issued,
        ]
    }

    #[test]
    fn control_bytes_in_any_field_cannot_reach_the_printer_as_commands() {
        let clean = receipt_bytes(&clean_receipt());
        let hostile_bits = "\u{1b}@\u{1d}V\u{0}\u{7f}\u{1b}p\u{0}\u{19}\u{fa}\u{9b}";
        for index in 0..7 {
            let mut hostile = clean_receipt();
            fields(&mut hostile)[index].insert_str(3, hostile_bits);
            let bytes = receipt_bytes(&hostile);
            assert_eq!(count(&bytes, ESC), count(&clean, ESC), "field {index}");
            assert_eq!(count(&bytes, GS), count(&clean, GS), "field {index}");
            assert_eq!(count(&bytes, 0), count(&clean, 0), "field {index}");
            // What survives is exactly the printable part of the hostile text.
            let mut expected = clean_receipt();
            fields(&mut expected)[index].insert_str(3, "@Vpu");
            assert_eq!(bytes, receipt_bytes(&expected), "field {index}");
        }
    }

    #[test]
    fn the_layout_emits_only_its_own_commands() {
        let bytes = receipt_bytes(&clean_receipt());
        assert!(bytes.starts_with(&INITIALISE));
        assert!(bytes.ends_with(&PARTIAL_CUT));
        // ESC @, centre, bold on/off, font B/A, feed; GS ! ×4, 5 × GS ( k, cut.
        assert_eq!(count(&bytes, ESC), 7);
        assert_eq!(count(&bytes, GS), 10);
        let big_code = [&SIZE_DOUBLE_WIDTH_AND_HEIGHT[..], b"7K3Q-9ZX1-M4TB-0C2W\n"].concat();
        assert!(bytes
            .windows(big_code.len())
            .any(|window| window == big_code));
    }

    #[test]
    fn non_ascii_is_mapped_for_the_printers_code_page() {
        assert_eq!(
            printable_ascii("Café Zürich — «Ærøskøbing» Straße, ½ price…"),
            "Cafe Zurich - \"AEroskobing\" Strasse, ? price..."
        );
        assert_eq!(printable_ascii("映画館\u{200b}🍿"), "????");
        assert_eq!(printable_ascii("line\none\ttwo\r"), "line one two ");
        let mut receipt = clean_receipt();
        for field in fields(&mut receipt) {
            field.push_str(" ÀÉÎõü 映画 \u{202e}€");
        }
        assert!(receipt_bytes(&receipt).iter().all(u8::is_ascii));
    }

    #[test]
    fn oversized_fields_are_capped() {
        let mut receipt = clean_receipt();
        for field in fields(&mut receipt) {
            *field = "popcorn ".repeat(100_000);
        }
        let bytes = receipt_bytes(&receipt);
        // Seven capped fields plus commands: a receipt, not a roll.
        assert!(
            bytes.len() < 7 * (MAX_FIELD_CHARACTERS + 20) + 200,
            "{}",
            bytes.len()
        );
        assert_eq!(
            printable_ascii(&"é".repeat(1000)).len(),
            MAX_FIELD_CHARACTERS
        );
        assert_eq!(
            printable_ascii(&"€".repeat(1000)).len(),
            MAX_FIELD_CHARACTERS
        );
    }

    #[test]
    fn an_empty_receipt_still_initialises_and_cuts_but_stores_no_qr_code() {
        let bytes = receipt_bytes(&Receipt::default());
        assert!(bytes.starts_with(&INITIALISE));
        assert!(bytes.ends_with(&PARTIAL_CUT));
        assert!(!bytes.windows(3).any(|window| window == [GS, b'(', b'k']));
    }
}
