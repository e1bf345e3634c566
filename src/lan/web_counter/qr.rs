//! A voucher's QR code as a small SVG the page shows as an image (a `data:` URL, which
//! the page's content security policy allows for images only): black modules on white
//! with the quiet zone, one path, crisp at any size. The same text as the native
//! counter's QR (`VoucherCode::compact`), so any scanner reads both alike. Pure.

use std::fmt::Write as _;

/// Modules of white around the code, as the QR standard asks.
const QUIET: usize = 4;

/// The SVG of `text`'s QR code, or `None` if it does not fit in a QR code.
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let modules = code.width();
    let colors = code.to_colors();
    let side = modules + 2 * QUIET;
    let mut path = String::new();
    for (index, color) in colors.iter().enumerate() {
        if *color == qrcode::Color::Dark {
            let (x, y) = (index % modules + QUIET, index / modules + QUIET);
            let _ = write!(path, "M{x} {y}h1v1h-1z");
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{path}\"/></svg>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_becomes_one_path_with_its_quiet_zone() {
        let svg = qr_svg("7K3Q9ZX1M4TB0C2W").expect("a short code fits");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 16 alphanumeric symbols fit a version-1 code: 21 modules and the quiet zone.
        assert!(svg.contains("viewBox=\"0 0 29 29\""), "{svg}");
        assert!(
            svg.contains("M4 4h1v1h-1z"),
            "the finder pattern's first module"
        );
        assert!(qr_svg(&"x".repeat(10_000)).is_none());
    }
}
