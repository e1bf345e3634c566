//! The page, embedded in the binary so a till's browser needs nothing but this node: no
//! CDN, no internet. `assets/web-counter/` holds the HTML, script and style, written
//! without a build step; the font is the screens' own Inter. The page only ever sets
//! text (never HTML) from data, and the policy below forbids anything but our own
//! script, style and font, images from data: URLs (the QR code) and the camera's stream,
//! and framing by any other site (a framed page could be clicked into issuing vouchers).

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

const PAGE: &str = include_str!("../../../assets/web-counter/index.html");
const SCRIPT: &str = include_str!("../../../assets/web-counter/counter.js");
const STYLE: &str = include_str!("../../../assets/web-counter/counter.css");
const FONT_REGULAR: &[u8] = include_bytes!("../../../ui/fonts/Inter-Regular.otf");
const FONT_BOLD: &[u8] = include_bytes!("../../../ui/fonts/Inter-Bold.otf");

const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; font-src 'self'; img-src 'self' data:; media-src 'self' mediastream: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// The page and its files, at `/counter` and `/counter/…`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/counter",
            get(|| asset("text/html; charset=utf-8", PAGE.as_bytes())),
        )
        .route(
            "/counter/counter.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT.as_bytes())),
        )
        .route(
            "/counter/counter.css",
            get(|| asset("text/css; charset=utf-8", STYLE.as_bytes())),
        )
        .route(
            "/counter/inter-regular.otf",
            get(|| asset("font/otf", FONT_REGULAR)),
        )
        .route(
            "/counter/inter-bold.otf",
            get(|| asset("font/otf", FONT_BOLD)),
        )
}

async fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_FRAME_OPTIONS, "DENY"),
        ],
        body,
    )
        .into_response()
}
