//! Receipt printing against real sockets and files: a fake network printer on loopback
//! captures what `send_to_printer` sends, and a small ESC/POS reader below checks that the
//! stream is what a printer would understand (text lines, the QR payload, the cut).

use raincheck::voucher::printer::{
    receipt_bytes, send_to_printer, PrintError, PrinterTarget, Receipt,
};
use std::io::Read;
use std::net::TcpListener;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(3);

fn receipt() -> Receipt {
    Receipt {
        venue_name: "Rialto Cinema".to_owned(),
        offer_title: "Free medium popcorn".to_owned(),
        terms: "One per guest. Not exchangeable for cash. Show this receipt at any \
                concession stand of the venue before it expires."
            .to_owned(),
        valid_until: "valid until 22 Dec 2026".to_owned(),
        code: "7K3Q-9ZX1-M4TB-0C2W".to_owned(),
        qr_payload: "7K3Q9ZX1M4TB0C2W".to_owned(),
        issued: "22 Nov 2026 19:43, concession-1".to_owned(),
    }
}

/// A network printer that takes one job: everything up to the sender's close.
fn fake_printer() -> (PrinterTarget, JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fake printer");
    let address = listener.local_addr().expect("fake printer address");
    let job = std::thread::spawn(move || {
        let (mut connection, _) = listener.accept().expect("accept the print job");
        connection
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let mut received = Vec::new();
        connection
            .read_to_end(&mut received)
            .expect("read the job until the sender closes");
        received
    });
    (PrinterTarget::Tcp(address), job)
}

#[derive(Debug, PartialEq)]
enum Event {
    Initialise,
    Line(String),
    QrStore(Vec<u8>),
    QrPrint,
    Feed,
    Cut,
    Setting,
}

/// Walks an ESC/POS stream the way a printer does. Any byte it does not know fails the
/// test, so the receipt can only use commands whose lengths we have checked.
fn parse_escpos(stream: &[u8]) -> Vec<Event> {
    let mut events = Vec::new();
    let mut line = Vec::new();
    let mut position = 0;
    let byte_at = |index: usize| -> u8 {
        *stream
            .get(index)
            .unwrap_or_else(|| panic!("command cut short at byte {index}"))
    };
    while position < stream.len() {
        let byte = stream[position];
        match byte {
            b'\n' => {
                events.push(Event::Line(
                    String::from_utf8(std::mem::take(&mut line)).expect("ASCII text"),
                ));
                position += 1;
            }
            0x20..=0x7e => {
                line.push(byte);
                position += 1;
            }
            0x1b => {
                position += match byte_at(position + 1) {
                    b'@' => {
                        events.push(Event::Initialise);
                        2
                    }
                    b'd' => {
                        events.push(Event::Feed);
                        3
                    }
                    b'a' | b'E' | b'M' | b'!' => {
                        events.push(Event::Setting);
                        3
                    }
                    other => panic!("unknown ESC {other:#04x} at byte {position}"),
                };
            }
            0x1d => {
                position += match byte_at(position + 1) {
                    b'!' => {
                        events.push(Event::Setting);
                        3
                    }
                    b'V' => {
                        events.push(Event::Cut);
                        match byte_at(position + 2) {
                            65 | 66 => 4,
                            0 | 1 | 48 | 49 => 3,
                            other => panic!("unknown cut mode {other}"),
                        }
                    }
                    b'(' => {
                        assert_eq!(byte_at(position + 2), b'k', "only GS ( k is used");
                        let length = usize::from(byte_at(position + 3))
                            | usize::from(byte_at(position + 4)) << 8;
                        let start = position + 5;
                        let body = stream
                            .get(start..start + length)
                            .unwrap_or_else(|| panic!("GS ( k at {position} runs past the end"));
                        match body {
                            [49, 80, 48, data @ ..] => events.push(Event::QrStore(data.to_vec())),
                            [49, 81, 48] => events.push(Event::QrPrint),
                            [49, 65 | 67 | 69, ..] => events.push(Event::Setting),
                            other => panic!("unknown GS ( k function {other:?}"),
                        }
                        5 + length
                    }
                    other => panic!("unknown GS {other:#04x} at byte {position}"),
                };
            }
            other => panic!("stray byte {other:#04x} at {position}: would not print as text"),
        }
    }
    assert!(
        line.is_empty(),
        "text after the last line feed is never printed"
    );
    events
}

fn lines(events: &[Event]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match event {
            Event::Line(text) => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_receipt_sent_to_a_network_printer_arrives_whole_and_readable() {
    let (target, job) = fake_printer();
    let sent = receipt_bytes(&receipt());
    send_to_printer(&target, &sent, TIMEOUT).expect("print to the fake printer");
    let received = job.join().expect("fake printer thread");
    assert_eq!(received, sent, "every byte arrives, in order");

    let events = parse_escpos(&received);
    assert_eq!(events.first(), Some(&Event::Initialise));
    let cut = events
        .iter()
        .rposition(|event| *event == Event::Cut)
        .expect("the receipt is cut");
    assert!(
        events[cut + 1..].iter().all(|event| *event == Event::Feed),
        "nothing but feeds after the cut: {:?}",
        &events[cut + 1..]
    );

    let text = lines(&events);
    for wanted in [
        "Rialto Cinema",
        "Free medium popcorn",
        "valid until 22 Dec 2026",
        "7K3Q-9ZX1-M4TB-0C2W",
        "22 Nov 2026 19:43, concession-1",
    ] {
        assert!(text.contains(&wanted), "{wanted:?} missing from {text:#?}");
    }
    assert!(text.iter().all(|line| line.len() <= 56), "{text:#?}");
    let terms = text
        .iter()
        .skip_while(|line| !line.starts_with("One per guest."))
        .take_while(|line| !line.starts_with("valid until"))
        .copied()
        .collect::<Vec<_>>();
    assert!(terms.len() >= 2 && terms.iter().all(|line| line.len() <= 42));
    assert_eq!(
        terms.join(" "),
        receipt()
            .terms
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    );

    let stored: Vec<&Vec<u8>> = events
        .iter()
        .filter_map(|event| match event {
            Event::QrStore(data) => Some(data),
            _ => None,
        })
        .collect();
    assert_eq!(stored, [b"7K3Q9ZX1M4TB0C2W"]);
    let store_at = events.iter().position(|e| matches!(e, Event::QrStore(_)));
    let print_at = events.iter().position(|e| *e == Event::QrPrint);
    assert!(
        store_at < print_at,
        "the QR code is stored before it is printed"
    );
}

#[test]
fn hostile_text_arrives_as_plain_text_only() {
    let (target, job) = fake_printer();
    let mut hostile = receipt();
    hostile.venue_name = "Rialto\u{1b}@\u{1d}V\u{1}\u{1b}p\u{0}\u{19}\u{fa} Café".to_owned();
    hostile.terms = "\u{1d}(k\u{3}\u{0}1Q0 cut me ".repeat(50);
    send_to_printer(&target, &receipt_bytes(&hostile), TIMEOUT).expect("print");
    let events = parse_escpos(&job.join().expect("fake printer thread"));
    assert_eq!(
        events.iter().filter(|e| **e == Event::Cut).count(),
        1,
        "only the layout's own cut"
    );
    assert_eq!(events.iter().filter(|e| **e == Event::QrPrint).count(), 1);
    assert!(lines(&events).contains(&"Rialto@Vpu Cafe"), "{events:#?}");
}

#[test]
fn a_port_where_nothing_listens_is_unreachable_within_the_timeout() {
    let address = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address")
    };
    let started = Instant::now();
    let error = send_to_printer(&PrinterTarget::Tcp(address), b"\x1b@", TIMEOUT)
        .expect_err("nothing listens there");
    assert!(started.elapsed() < TIMEOUT, "{:?}", started.elapsed());
    assert!(
        matches!(&error, PrintError::Unreachable { address: a, .. } if *a == address),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&address.to_string()), "{message}");
    assert!(message.contains("switched on"), "{message}");
}

#[test]
fn a_printer_that_stops_taking_data_times_out_on_time() {
    // Accepts the connection (the kernel does, via the backlog) but never reads, as a
    // printer with an open cover does once its buffer is full.
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = PrinterTarget::Tcp(listener.local_addr().expect("address"));
    let huge = vec![b'x'; 64 * 1024 * 1024];
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let error = send_to_printer(&target, &huge, timeout).expect_err("nobody reads");
    let elapsed = started.elapsed();
    assert!(matches!(error, PrintError::Timeout { .. }), "{error:?}");
    assert!(elapsed >= timeout && elapsed < timeout * 4, "{elapsed:?}");
    drop(listener);
}

#[test]
fn a_device_path_receives_the_bytes() {
    let device = tempfile::NamedTempFile::new().expect("temp file");
    let target: PrinterTarget = device
        .path()
        .to_str()
        .expect("UTF-8 temp path")
        .parse()
        .expect("an absolute path is a device");
    assert_eq!(target, PrinterTarget::Device(device.path().to_owned()));
    let sent = receipt_bytes(&receipt());
    send_to_printer(&target, &sent, TIMEOUT).expect("write to the device");
    let landed = std::fs::read(device.path()).expect("read back");
    assert_eq!(landed, sent);
    assert!(lines(&parse_escpos(&landed)).contains(&"7K3Q-9ZX1-M4TB-0C2W"));
}

#[test]
fn a_missing_device_is_reported_not_created() {
    let directory = tempfile::tempdir().expect("temp dir");
    let path = directory.path().join("lp0");
    let error = send_to_printer(&PrinterTarget::Device(path.clone()), b"\x1b@", TIMEOUT)
        .expect_err("no such device");
    assert!(
        matches!(&error, PrintError::DeviceUnavailable { path: p, .. } if *p == path),
        "{error:?}"
    );
    assert!(error.to_string().contains("USB cable"), "{error}");
    assert!(
        !path.exists(),
        "a mistyped device path must not become a file"
    );
}
