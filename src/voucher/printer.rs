//! Printed rainchecks: a voucher laid out as ESC/POS bytes for an 80 mm receipt printer,
//! and the blocking send of those bytes to a network printer (raw port 9100) or a local
//! device such as `/dev/usb/lp0`. The counter issues a voucher, makes it durable, and only
//! then calls [`receipt_bytes`] and [`send_to_printer`]; a failed print is reported with
//! what to check, and the voucher can be reprinted or shown as a QR on screen instead.
//!
//! Every string on a receipt comes from config or staff and is treated as hostile: the
//! printer interprets any ESC or GS byte as a command (cut, open the cash drawer, change the
//! code page), so all control bytes are removed, and text is reduced to ASCII because the
//! printer's default code page is not UTF-8. Each field is capped in length so that a bad
//! config cannot print metres of paper. The few ESC/POS commands needed are written here
//! by hand; there is nothing a crate would add.

use std::fmt;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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
    let target = PrinterTarget::parse(
        counter
            .printer
            .as_deref()
            .ok_or("no counter.printer is configured")?,
    )
    .map_err(|message| format!("counter.printer: {message}"))?;
    let receipt = Receipt::for_voucher(config, offer, code);
    send_to_printer(&target, &receipt_bytes(&receipt), Duration::from_secs(5))
        .map_err(|error| error.to_string())
}

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

/// Where receipts go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrinterTarget {
    Tcp(SocketAddr),
    Device(PathBuf),
}

/// Why a receipt did not print, worded for the technician who has to fix it.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(
        "the printer at {address} cannot be reached ({source}): check that it is switched on \
         and cabled, and that printer.target in the config is its address (raw port, usually 9100)"
    )]
    Unreachable {
        address: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error(
        "the printer at {target} did not take the receipt within {} ms: check that it is on, \
         online, has paper and its cover is closed, then reprint the voucher",
        timeout.as_millis()
    )]
    Timeout { target: String, timeout: Duration },
    #[error(
        "the printer device {} cannot be opened ({source}): check the USB cable and that the \
         printer is on, that the path in printer.target exists, and that raincheck's user may \
         write to it (usually by being in the `lp` group)",
        path.display()
    )]
    DeviceUnavailable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "printing to {target} stopped part-way ({source}): check paper and cover, then reprint \
         the voucher"
    )]
    WriteFailed {
        target: String,
        #[source]
        source: io::Error,
    },
}

/// Font A on 80 mm paper.
const COLUMNS: usize = 42;
/// Double-width characters take two columns of font A.
const DOUBLE_WIDTH_COLUMNS: usize = COLUMNS / 2;
/// Font B on 80 mm paper; 56 is the narrowest count among common 80 mm printers.
const SMALL_FONT_COLUMNS: usize = 56;
/// Longest field, in characters after sanitising: a few lines of terms, never metres.
pub const MAX_FIELD_CHARACTERS: usize = 300;
/// The raw printing port that network receipt printers listen on.
pub const DEFAULT_PRINTER_PORT: u16 = 9100;

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

/// The text reduced to printable ASCII, at most [`MAX_FIELD_CHARACTERS`] long: control
/// characters removed (tabs and line breaks become spaces, so words stay apart), common
/// accented letters and typographic punctuation mapped to ASCII, anything else `?`.
fn printable_ascii(untrusted: &str) -> String {
    let mut text = String::new();
    for character in untrusted.chars() {
        if text.len() >= MAX_FIELD_CHARACTERS {
            break;
        }
        match character {
            '\t' | '\n' | '\r' => text.push(' '),
            ' '..='~' => text.push(character),
            _ if character.is_control() => {}
            _ => text.push_str(ascii_for(character)),
        }
    }
    // Everything pushed is ASCII, so cutting at a byte count is cutting at a character.
    text.truncate(MAX_FIELD_CHARACTERS);
    text
}

/// The ASCII stand-in for a character outside printable ASCII.
fn ascii_for(character: char) -> &'static str {
    const BASE_LETTERS: &[(&str, &str)] = &[
        ("A", "ÀÁÂÃÄÅĀĂĄ"),
        ("a", "àáâãäåāăą"),
        ("C", "ÇĆĈĊČ"),
        ("c", "çćĉċč"),
        ("D", "ĎĐÐ"),
        ("d", "ďđð"),
        ("E", "ÈÉÊËĒĔĖĘĚ"),
        ("e", "èéêëēĕėęě"),
        ("G", "ĜĞĠĢ"),
        ("g", "ĝğġģ"),
        ("H", "ĤĦ"),
        ("h", "ĥħ"),
        ("I", "ÌÍÎÏĨĪĬĮİ"),
        ("i", "ìíîïĩīĭįı"),
        ("J", "Ĵ"),
        ("j", "ĵ"),
        ("K", "Ķ"),
        ("k", "ķ"),
        ("L", "ĹĻĽĿŁ"),
        ("l", "ĺļľŀł"),
        ("N", "ÑŃŅŇ"),
        ("n", "ñńņň"),
        ("O", "ÒÓÔÕÖØŌŎŐ"),
        ("o", "òóôõöøōŏő"),
        ("R", "ŔŖŘ"),
        ("r", "ŕŗř"),
        ("S", "ŚŜŞŠ"),
        ("s", "śŝşš"),
        ("T", "ŢŤŦ"),
        ("t", "ţťŧ"),
        ("U", "ÙÚÛÜŨŪŬŮŰŲ"),
        ("u", "ùúûüũūŭůűų"),
        ("W", "Ŵ"),
        ("w", "ŵ"),
        ("Y", "ÝŶŸ"),
        ("y", "ýÿŷ"),
        ("Z", "ŹŻŽ"),
        ("z", "źżž"),
        ("AE", "Æ"),
        ("ae", "æ"),
        ("OE", "Œ"),
        ("oe", "œ"),
        ("ss", "ß"),
        ("Th", "Þ"),
        ("th", "þ"),
        // Managers paste texts from word processors, which curl quotes and lengthen dashes.
        ("'", "‘’‚′´"),
        ("\"", "“”„″«»"),
        ("-", "‐‑‒–—―−"),
        ("...", "…"),
        ("*", "•·"),
        ("x", "×"),
        (" ", "\u{a0}\u{2002}\u{2003}\u{2007}\u{2009}\u{202f}"),
        ("EUR", "€"),
        ("GBP", "£"),
    ];
    // Invisible formatting (zero-width spaces, direction overrides) would otherwise become
    // stray question marks in the middle of words.
    const INVISIBLE: &str =
        "\u{ad}\u{200b}\u{200c}\u{200d}\u{200e}\u{200f}\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}\u{2060}\u{feff}";
    if INVISIBLE.contains(character) {
        return "";
    }
    BASE_LETTERS
        .iter()
        .find(|(_, variants)| variants.contains(character))
        .map_or("?", |(ascii, _)| ascii)
}

/// Greedy word wrap: words never split unless one alone is wider than the paper.
fn wrap(text: &str, columns: usize) -> Vec<String> {
    let columns = columns.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word;
        if !line.is_empty() && line.len() + 1 + word.len() > columns {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > columns {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            // The text is ASCII, so any byte index is a character boundary.
            let (head, rest) = word.split_at(columns);
            lines.push(head.to_owned());
            word = rest;
        }
        if word.is_empty() {
            continue;
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// Sends bytes to the printer with blocking std I/O, bounded by `timeout` (connect and write).
///
/// For a device the open and write run on a helper thread, because std has no timeout for
/// either; if the device hangs, that thread stays blocked in the kernel and is abandoned,
/// while the caller gets [`PrintError::Timeout`] on time.
pub fn send_to_printer(
    target: &PrinterTarget,
    bytes: &[u8],
    timeout: Duration,
) -> Result<(), PrintError> {
    match target {
        PrinterTarget::Tcp(address) => send_over_tcp(*address, bytes, timeout),
        PrinterTarget::Device(path) => send_to_device(path, bytes, timeout),
    }
}

fn send_over_tcp(address: SocketAddr, bytes: &[u8], timeout: Duration) -> Result<(), PrintError> {
    let deadline = Instant::now() + timeout;
    let timed_out = || PrintError::Timeout {
        target: format!("tcp://{address}"),
        timeout,
    };
    let write_failed = |source| PrintError::WriteFailed {
        target: format!("tcp://{address}"),
        source,
    };
    if timeout.is_zero() {
        return Err(timed_out());
    }
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|source| {
        if is_timeout(&source) {
            timed_out()
        } else {
            PrintError::Unreachable { address, source }
        }
    })?;
    // One overall deadline, not one per write call, so a printer that takes a byte at a
    // time cannot stretch the wait without bound.
    let mut remaining = bytes;
    while !remaining.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(timed_out());
        }
        stream.set_write_timeout(Some(left)).map_err(write_failed)?;
        match stream.write(remaining) {
            Ok(0) => {
                return Err(write_failed(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the printer closed the connection",
                )))
            }
            Ok(written) => remaining = &remaining[written..],
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if is_timeout(&error) => return Err(timed_out()),
            Err(error) => return Err(write_failed(error)),
        }
    }
    // Closing with unread status bytes from the printer would reset the connection and
    // could drop the end of the receipt still in flight; so half-close, then drain briefly.
    stream.shutdown(Shutdown::Write).map_err(write_failed)?;
    drain_until_closed(&mut stream, deadline);
    Ok(())
}

/// Reads and discards what the printer sends until it closes, for a short while at most:
/// the receipt has already been handed over, so nothing here is a failure.
fn drain_until_closed(stream: &mut TcpStream, deadline: Instant) {
    const LONGEST_DRAIN: Duration = Duration::from_millis(250);
    let drain_deadline = deadline.min(Instant::now() + LONGEST_DRAIN);
    let mut discard = [0u8; 256];
    loop {
        let left = drain_deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut discard) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
    )
}

fn send_to_device(path: &Path, bytes: &[u8], timeout: Duration) -> Result<(), PrintError> {
    let (sender, receiver) = mpsc::channel();
    let thread_path = path.to_owned();
    let thread_bytes = bytes.to_vec();
    let spawned = std::thread::Builder::new()
        .name("printer-device".to_owned())
        .spawn(move || {
            // The receiver may have given up after the timeout; nothing to tell then.
            let _ = sender.send(write_device(&thread_path, &thread_bytes));
        });
    if let Err(source) = spawned {
        return Err(PrintError::WriteFailed {
            target: path.display().to_string(),
            source,
        });
    }
    match receiver.recv_timeout(timeout) {
        Ok(result) => result,
        Err(_) => Err(PrintError::Timeout {
            target: path.display().to_string(),
            timeout,
        }),
    }
}

fn write_device(path: &Path, bytes: &[u8]) -> Result<(), PrintError> {
    // Never create: a mistyped device path must fail, not fill a regular file in /dev.
    let mut device = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|source| PrintError::DeviceUnavailable {
            path: path.to_owned(),
            source,
        })?;
    device
        .write_all(bytes)
        .and_then(|()| device.flush())
        .map_err(|source| PrintError::WriteFailed {
            target: path.display().to_string(),
            source,
        })
}

impl PrinterTarget {
    /// Parses config text: "tcp://192.168.1.50:9100" (port defaults to 9100) or "/dev/usb/lp0".
    pub fn parse(text: &str) -> Result<Self, String> {
        const FORMS: &str = "write tcp://IP:PORT for a network printer (e.g. \
                             tcp://192.168.1.50:9100) or the device path of a USB printer \
                             (e.g. /dev/usb/lp0)";
        let text = text.trim();
        if text.is_empty() {
            return Err(format!("no printer given: {FORMS}"));
        }
        if text.chars().any(char::is_control) {
            return Err(format!(
                "the printer {:?} contains control characters: {FORMS}",
                text
            ));
        }
        if let Some(address) = text.strip_prefix("tcp://") {
            return parse_tcp_address(address).map(Self::Tcp);
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(format!(
                "the printer {text:?} uses {scheme}://, which raincheck does not speak: {FORMS}"
            ));
        }
        if text.starts_with('/') {
            if text.ends_with('/') {
                return Err(format!(
                    "the printer {text:?} is a directory, not a device: {FORMS}"
                ));
            }
            return Ok(Self::Device(PathBuf::from(text)));
        }
        Err(format!(
            "the printer {text:?} is neither a tcp:// address nor an absolute device path: {FORMS}"
        ))
    }
}

fn parse_tcp_address(text: &str) -> Result<SocketAddr, String> {
    let address = if let Ok(address) = text.parse::<SocketAddr>() {
        address
    } else if let Ok(ip) = text.parse::<IpAddr>() {
        SocketAddr::new(ip, DEFAULT_PRINTER_PORT)
    } else if let Ok(ip) = text
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or("")
        .parse::<IpAddr>()
    {
        SocketAddr::new(ip, DEFAULT_PRINTER_PORT)
    } else {
        // Host names would need DNS, which is down exactly when a venue is offline.
        return Err(format!(
            "the printer address tcp://{text} is not IP:PORT: give the printer's IP address, \
             e.g. tcp://192.168.1.50:9100 (the port may be left out for {DEFAULT_PRINTER_PORT}); \
             host names are not looked up so that printing works with DNS down"
        ));
    };
    if address.port() == 0 {
        return Err(format!(
            "the printer address tcp://{text} has port 0: use the printer's raw port, usually \
             {DEFAULT_PRINTER_PORT}"
        ));
    }
    Ok(address)
}

impl fmt::Display for PrinterTarget {
    /// The same form [`PrinterTarget::parse`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp(address) => write!(f, "tcp://{address}"),
            Self::Device(path) => write!(f, "{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

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
    fn wrapping_never_splits_a_word_that_fits_on_a_line() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(42);
        for _ in 0..2_000 {
            let words: Vec<String> = (0..rng.gen_range(0..40))
                .map(|_| {
                    let length = rng.gen_range(1..=COLUMNS);
                    (0..length)
                        .map(|_| char::from(rng.gen_range(b'a'..=b'z')))
                        .collect()
                })
                .collect();
            let text = words.join(if rng.gen_bool(0.5) { " " } else { "  \t" });
            let lines = wrap(&text, COLUMNS);
            assert!(lines.iter().all(|line| line.len() <= COLUMNS), "{lines:?}");
            let rewrapped: Vec<&str> = lines.iter().flat_map(|l| l.split(' ')).collect();
            assert_eq!(rewrapped, words, "every word kept whole and in order");
        }
    }

    #[test]
    fn a_word_wider_than_the_paper_is_cut_at_the_paper_edge() {
        let long = "x".repeat(100);
        let lines = wrap(&format!("before {long} after"), COLUMNS);
        assert_eq!(
            lines,
            [
                "before",
                &long[..42],
                &long[42..84],
                &format!("{} after", &long[84..])
            ]
        );
        assert_eq!(wrap("   ", COLUMNS), Vec::<String>::new());
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

    #[test]
    fn printer_targets_parse_from_config_text() {
        let parsed = |text: &str| PrinterTarget::parse(text);
        let tcp = |text: &str| PrinterTarget::Tcp(text.parse().unwrap());
        assert_eq!(
            parsed("tcp://192.168.1.50:9100"),
            Ok(tcp("192.168.1.50:9100"))
        );
        assert_eq!(parsed(" tcp://10.0.0.7 "), Ok(tcp("10.0.0.7:9100")));
        assert_eq!(parsed("tcp://10.0.0.7:9101"), Ok(tcp("10.0.0.7:9101")));
        assert_eq!(parsed("tcp://[::1]:9100"), Ok(tcp("[::1]:9100")));
        assert_eq!(parsed("tcp://[fe80::1]"), Ok(tcp("[fe80::1]:9100")));
        assert_eq!(parsed("tcp://::1"), Ok(tcp("[::1]:9100")));
        assert_eq!(
            parsed("/dev/usb/lp0"),
            Ok(PrinterTarget::Device(PathBuf::from("/dev/usb/lp0")))
        );
        assert_eq!(
            parsed("tcp://10.0.0.7:9100").unwrap().to_string(),
            "tcp://10.0.0.7:9100"
        );

        for (text, hint) in [
            ("", "no printer given"),
            ("   ", "no printer given"),
            ("tcp://printer.local:9100", "host names are not looked up"),
            ("tcp://10.0.0.7:0", "port 0"),
            ("tcp://10.0.0.7:99999", "not IP:PORT"),
            ("tcp://10.0.0.7:9100/", "not IP:PORT"),
            ("tcp://", "not IP:PORT"),
            ("http://10.0.0.7", "http://, which raincheck does not speak"),
            (
                "usb/lp0",
                "neither a tcp:// address nor an absolute device path",
            ),
            ("10.0.0.7:9100", "neither a tcp:// address"),
            ("/dev/usb/", "is a directory"),
            ("/dev/usb/lp0\u{1b}", "control characters"),
        ] {
            let error = parsed(text).expect_err(text);
            assert!(error.contains(hint), "{text:?}: {error}");
            assert!(
                error.contains("tcp://") || error.contains("port"),
                "{error}"
            );
        }
    }

    #[test]
    fn errors_tell_the_technician_what_to_check() {
        let unreachable = PrintError::Unreachable {
            address: "10.0.0.7:9100".parse().unwrap(),
            source: io::Error::from(io::ErrorKind::ConnectionRefused),
        };
        assert!(unreachable.to_string().contains("switched on"));
        let timeout = PrintError::Timeout {
            target: "tcp://10.0.0.7:9100".to_owned(),
            timeout: Duration::from_secs(3),
        };
        assert!(timeout.to_string().contains("3000 ms"));
        assert!(timeout.to_string().contains("paper"));
    }
}
