//! Printed rainchecks: a voucher laid out as ESC/POS bytes for an 80 mm receipt printer
//! (`escpos`, with text made safe and wrapped by `ascii`), and the blocking send of those
//! bytes to a network printer (raw port 9100) or a local device such as `/dev/usb/lp0`
//! (`transport`). The counter issues a voucher, makes it durable, and only then calls
//! [`print_voucher`]; a failed print is reported with what to check, and the voucher can
//! be reprinted or shown as a QR on screen instead. Where the printer is comes from the
//! config as a parsed [`PrinterTarget`].

mod ascii;
mod escpos;
mod transport;

pub use crate::config::PrinterTarget;
pub use ascii::MAX_FIELD_CHARACTERS;
pub use escpos::receipt_bytes;
pub use transport::{send_to_printer, PrintError};

use std::time::Duration;

/// What goes on a raincheck receipt. All strings are untrusted text from config or staff.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    pub venue_name: String,
    pub offer_title: String,
    pub terms: String,
    /// Already formatted, e.g. "valid until 22 Dec 2026".
    pub valid_until: String,
    /// Display form, e.g. "7K3Q-9ZX1-M4TB-0C2W".
    pub code: String,
    /// The compact code, e.g. "7K3Q9ZX1M4TB0C2W".
    pub qr_payload: String,
    /// E.g. "22 Nov 2026 19:43, concession-1".
    pub issued: String,
}

impl Receipt {
    /// The receipt for a voucher just issued by this counter (CLI and counter screen alike).
    pub fn for_voucher(
        config: &crate::config::NodeConfig,
        offer: &crate::config::OfferConfig,
        code: &crate::voucher::VoucherCode,
    ) -> Self {
        Receipt {
            venue_name: config.node.venue_name.clone(),
            offer_title: offer.title.clone(),
            terms: offer.terms.clone(),
            valid_until: format!(
                "valid until {}",
                crate::voucher::lifecycle::last_day_text(code.fields.expiry_day)
            ),
            code: code.to_string(),
            qr_payload: code.compact(),
            issued: format!(
                "{} {}",
                crate::clock::hour_minute(time::OffsetDateTime::now_utc()),
                config.display_name()
            ),
        }
    }
}

/// Prints a voucher's receipt on the counter's configured printer (5 s at most).
pub fn print_voucher(
    config: &crate::config::NodeConfig,
    offer: &crate::config::OfferConfig,
    code: &crate::voucher::VoucherCode,
) -> Result<(), String> {
    let counter = config
        .counter
        .as_ref()
        .ok_or("this node has no [counter] section")?;
    let target = counter
        .printer
        .as_ref()
        .ok_or("no counter.printer is configured")?;
    let receipt = Receipt::for_voucher(config, offer, code);
    send_to_printer(target, &receipt_bytes(&receipt), Duration::from_secs(5))
        .map_err(|error| error.to_string())
}
