//! Sending receipt bytes to the printer with blocking std I/O, bounded by a timeout:
//! a network printer's raw port, or a local device. Errors are worded for the
//! technician who has to fix the printer.

use crate::config::PrinterTarget;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

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

#[cfg(test)]
mod tests {
    use super::*;

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
