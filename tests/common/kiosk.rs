//! What the kiosk tests share (tests/kiosk.rs under cage, tests/kiosk_x11.rs on a bare X
//! server): the tools they need or skip without, the unprivileged user cage needs, a node
//! directory that user can read, the process group of a kiosk session, and the check that
//! a grabbed screen is the node's page from edge to edge.

use super::confirmed_after;
use super::{
    binary, observer, runtime, screenshots_dir, wait_for, write_config, write_counter_config,
};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const GRAB_WITHIN: Duration = Duration::from_secs(20);

/// Whether every tool is installed; panics instead of skipping when `require` is set.
pub fn tools_present(tools: &[&str], require: &str, install: &str) -> bool {
    let missing: Vec<&&str> = tools
        .iter()
        .filter(|tool| !Path::new("/usr/bin").join(tool).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert_ne!(
        std::env::var(require).as_deref(),
        Ok("1"),
        "{require}=1 but {missing:?} is not installed ({install})"
    );
    eprintln!("SKIPPED: {missing:?} is not installed ({install}); this test needs it");
    false
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
}

/// `nobody`'s uid and gid, for the files the kiosk writes.
fn nobody() -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let output = Command::new("id").args([flag, "nobody"]).output().unwrap();
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .unwrap()
    };
    (id("-u"), id("-g"))
}

/// Hands `path` to the kiosk user when the tests run as root.
pub fn give_to_kiosk_user(path: &Path) {
    if is_root() {
        let (uid, gid) = nobody();
        std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    }
}

/// A command run as the kiosk user: `nobody` when the tests run as root.
pub fn as_kiosk_user(program: &str) -> Command {
    if is_root() {
        let mut command = Command::new("setpriv");
        command.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            program,
        ]);
        command
    } else {
        Command::new(program)
    }
}

/// A process group (cage or xinit and everything they started), ended when dropped.
pub struct Session {
    child: std::process::Child,
    log: PathBuf,
}

impl Session {
    /// Starts `command` in a process group of its own, its output in `log`.
    pub fn start(mut command: Command, log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).unwrap();
        command
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .process_group(0);
        let child = command.spawn().expect("start the kiosk session");
        Session { child, log }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) until the log holds `text`; fails with the log.
    pub fn wait_for_log(&self, text: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.log().contains(text) {
            assert!(
                Instant::now() < deadline,
                "no {text:?} in the kiosk's log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let quiet = |signal: &str| {
            let _ = Command::new("kill")
                .args([signal, "--", &group])
                .stderr(Stdio::null())
                .status();
        };
        quiet("-TERM");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        quiet("-KILL");
        let _ = self.child.wait();
    }
}

/// Which node the kiosk runs.
#[derive(Clone, Copy)]
pub enum KioskRole {
    Signage,
    Counter,
}

/// A world-readable directory with a copy of the binary and a node config whose window is
/// a kiosk, what the node writes handed to the kiosk user. Returns the directory, the
/// binary and the config.
pub fn kiosk_directory(
    role: KioskRole,
    node: &str,
    broker_url: &str,
    display_extra: &str,
) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let directory = tempfile::Builder::new()
        .prefix("raincheck-kiosk-")
        .tempdir_in("/tmp")
        .unwrap();
    let path = directory.path();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let binary_copy = path.join("raincheck");
    std::fs::copy(binary(), &binary_copy).expect("copy the binary");
    std::fs::set_permissions(&binary_copy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kiosk = format!("backend = \"winit\"\nfullscreen = true\n{display_extra}");
    let config = match role {
        KioskRole::Signage => write_config(
            path,
            node,
            &format!("[broker]\nurl = \"{broker_url}\"\n[display]\n{kiosk}"),
        ),
        KioskRole::Counter => {
            let config = write_counter_config(path, node, 1, "deny", Some(broker_url));
            let text = std::fs::read_to_string(&config).unwrap();
            std::fs::write(&config, text.replace("backend = \"offscreen\"\n", &kiosk)).unwrap();
            give_to_kiosk_user(&path.join("voucher-secret"));
            config
        }
    };
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    give_to_kiosk_user(&path.join(format!("{node}-data")));
    (directory, binary_copy, config)
}

/// Waits until `node` reports it drew the venue's view at `revision` or later; fails with
/// the session's log.
pub fn wait_drawn(broker_url: &str, node: &str, revision: u64, session: &Session) {
    let waited = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        wait(broker_url, node, revision)
    }));
    if let Err(panic) = waited {
        eprintln!("the kiosk session's log:\n{}", session.log());
        std::panic::resume_unwind(panic);
    }
}

fn wait(broker_url: &str, node: &str, revision: u64) {
    runtime().block_on(async {
        let mut observer = observer(broker_url).await;
        wait_for(
            &mut observer,
            Duration::from_secs(30),
            &format!("{node} draws the incident"),
            confirmed_after(&[node], revision),
        )
        .await;
        observer.close().await;
    });
}

/// The page a grab must show: its colour, and how much of the screen it takes at least.
pub struct Page {
    pub name: &'static str,
    pub matches: fn(&[u8; 3]) -> bool,
    pub min_share: f64,
}

/// The cash-only sign's amber.
pub const CASH_ONLY_SIGN: Page = Page {
    name: "cash-only amber",
    matches: |p| p[0] > 0xf0 && (0xa8..0xbe).contains(&p[1]) && p[2] < 0x10,
    min_share: 0.5,
};

/// How much of a grabbed screen is the page, and where it is not.
struct Coverage {
    width: u32,
    height: u32,
    share: f64,
    /// The share of the page in the last rows and the last columns (a band shows here).
    bottom_edge: f64,
    right_edge: f64,
    black_rows: usize,
}

impl Coverage {
    fn of(width: u32, height: u32, rgb: &[[u8; 3]], page: &Page) -> Self {
        let black = |p: &[u8; 3]| p[0] < 0x10 && p[1] < 0x10 && p[2] < 0x10;
        let (w, h) = (width as usize, height as usize);
        let at = |(x, y): (usize, usize)| &rgb[y * w + x];
        let share = |pixels: &mut dyn Iterator<Item = &[u8; 3]>| {
            let (mut all, mut hit) = (0usize, 0usize);
            for p in pixels {
                all += 1;
                hit += usize::from((page.matches)(p));
            }
            hit as f64 / all.max(1) as f64
        };
        let edge = 8;
        let bottom = (h - edge..h).flat_map(|y| (0..w).map(move |x| (x, y)));
        let right = (0..h).flat_map(|y| (w - edge..w).map(move |x| (x, y)));
        Coverage {
            width,
            height,
            share: share(&mut rgb.iter()),
            bottom_edge: share(&mut bottom.map(at)),
            right_edge: share(&mut right.map(at)),
            black_rows: (0..h)
                .filter(|&y| (0..w).filter(|&x| black(at((x, y)))).count() * 100 >= w * 99)
                .count(),
        }
    }

    fn fills(&self, width: u32, height: u32, page: &Page) -> bool {
        (self.width, self.height) == (width, height)
            && self.share >= page.min_share
            && self.bottom_edge > 0.95
            && self.right_edge > 0.95
            && self.black_rows == 0
    }

    fn describe(&self, page: &Page) -> String {
        format!(
            "{}×{}: {:.0} % {}, last rows {:.0} %, last columns {:.0} %, {} black rows",
            self.width,
            self.height,
            self.share * 100.0,
            page.name,
            self.bottom_edge * 100.0,
            self.right_edge * 100.0,
            self.black_rows
        )
    }
}

fn decode_png(bytes: &[u8]) -> Option<(u32, u32, Vec<[u8; 3]>)> {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()?;
    let mut buffer = vec![0; reader.output_buffer_size()?];
    let info = reader.next_frame(&mut buffer).ok()?;
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        _ => return None,
    };
    let pixels = buffer[..info.buffer_size()]
        .chunks(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    Some((info.width, info.height, pixels))
}

/// Grabs (a PNG) until the screen is `page` from edge to edge, or fails with the last
/// grab saved in target/screenshots/ for people to look at.
pub fn assert_fills(
    name: &str,
    width: u32,
    height: u32,
    page: &Page,
    mut grab: impl FnMut() -> Result<Vec<u8>, String>,
) {
    let deadline = Instant::now() + GRAB_WITHIN;
    let path = screenshots_dir().join(format!("{name}.png"));
    loop {
        let grabbed = grab().and_then(|png| {
            decode_png(&png)
                .map(|(w, h, rgb)| (w, h, rgb, png))
                .ok_or_else(|| "the grab is not an 8-bit RGB PNG".to_owned())
        });
        let last = match grabbed {
            Ok((w, h, rgb, png)) => {
                let coverage = Coverage::of(w, h, &rgb, page);
                std::fs::write(&path, &png).unwrap();
                if coverage.fills(width, height, page) {
                    eprintln!(
                        "{name}: {} (saved in {})",
                        coverage.describe(page),
                        path.display()
                    );
                    return;
                }
                coverage.describe(page)
            }
            Err(error) => error,
        };
        assert!(
            Instant::now() < deadline,
            "{name}: the screen is not the {} from edge to edge within {GRAB_WITHIN:?}: {last} (see {})",
            page.name,
            path.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
