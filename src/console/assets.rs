//! The tablet page, embedded in the binary so the console needs no files and no network:
//! `assets/console/` holds the HTML, script and style, written without any build step.
//! The page only ever sets text (never HTML) from data, and the headers below forbid
//! anything but our own script and style, so hostile incident texts stay text.

use axum::http::header;
use axum::response::{IntoResponse, Response};

const PAGE: &str = include_str!("../../assets/console/index.html");
const SCRIPT: &str = include_str!("../../assets/console/app.js");
const DRILL_SCRIPT: &str = include_str!("../../assets/console/drill.js");
const STYLE: &str = include_str!("../../assets/console/app.css");

/// Only our own script, style and images; no inline script, no framing by other sites.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    embedded(content_type, CONTENT_SECURITY_POLICY, body.as_bytes())
}

/// An embedded file with its type, a content security policy and the usual hardening
/// headers (the web screens' pages use it with their own policy).
pub(super) fn embedded(
    content_type: &'static str,
    policy: &'static str,
    body: &'static [u8],
) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, policy),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

pub async fn page() -> Response {
    asset("text/html; charset=utf-8", PAGE)
}

pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", SCRIPT)
}

pub async fn drill_script() -> Response {
    asset("text/javascript; charset=utf-8", DRILL_SCRIPT)
}

pub async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}
