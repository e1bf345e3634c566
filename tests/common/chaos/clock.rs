//! Faked wall clocks (libfaketime) for the publishers that run ten minutes off.

use super::*;

/// libfaketime's preload library, if installed (Debian package `libfaketime`). Missing,
/// the faked-clock parts are skipped with a message unless RAINCHECK_REQUIRE_FAKETIME=1.
pub fn libfaketime() -> Option<PathBuf> {
    let found = [
        "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
        "/usr/lib/faketime/libfaketime.so.1",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|path| path.is_file());
    if found.is_none() {
        if std::env::var("RAINCHECK_REQUIRE_FAKETIME").as_deref() == Ok("1") {
            panic!("RAINCHECK_REQUIRE_FAKETIME=1 but libfaketime is not installed");
        }
        eprintln!("SKIPPED the faked-clock processes: libfaketime is not installed (apt-get install libfaketime)");
    }
    found
}

/// The environment that shifts a process's wall clock by `offset` ("+10m", "-10m") and
/// leaves its monotonic clock (timers, keep-alives) alone.
pub fn faked_clock(library: &Path, offset: &str) -> Vec<(&'static str, String)> {
    vec![
        ("LD_PRELOAD", library.display().to_string()),
        ("FAKETIME", offset.to_owned()),
        ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
    ]
}
