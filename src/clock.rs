//! Wall-clock formatting for people ("since 19:42"). The local UTC offset can only be
//! read safely while the process is single-threaded, so `main` captures it once at
//! start; everything later formats with that offset. No decision uses these times.

use std::sync::OnceLock;
use time::{OffsetDateTime, UtcOffset};

static LOCAL_OFFSET: OnceLock<UtcOffset> = OnceLock::new();

/// Call first thing in `main`, before any thread is started.
pub fn capture_local_offset() {
    let offset = UtcOffset::current_local_offset().unwrap_or(UtcOffset::UTC);
    let _ = LOCAL_OFFSET.set(offset);
}

pub fn local(time: OffsetDateTime) -> OffsetDateTime {
    time.to_offset(*LOCAL_OFFSET.get().unwrap_or(&UtcOffset::UTC))
}

/// "19:42"
pub fn hour_minute(time: OffsetDateTime) -> String {
    let local = local(time);
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// "19:42:07"
pub fn hour_minute_second(time: OffsetDateTime) -> String {
    let local = local(time);
    format!(
        "{:02}:{:02}:{:02}",
        local.hour(),
        local.minute(),
        local.second()
    )
}
