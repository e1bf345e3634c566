//! Turning the screen on over HDMI-CEC when an incident starts (`display.cec_command`, off
//! by default): a sign whose TV was switched off at its own remote still switches to cash
//! only where people can see it. raincheck runs the configured command (`cec-ctl` from
//! v4l-utils, `cec-client` from cec-utils, or a venue's own script) once per incident it
//! starts showing, off the UI thread and under a timeout; a missing program or a failing
//! one is a warning, and the screen carries on either way.

use crate::model::Presentation;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// A CEC adapter that does not answer must not leave processes behind.
const CEC_TIMEOUT: Duration = Duration::from_secs(10);

/// Which incident, if any, the screen is showing: the key the command is run once per.
pub fn incident_shown(presentation: &Presentation) -> Option<String> {
    let view = &presentation.view;
    view.is_active()
        .then(|| view.incident_id.as_ref().map(|id| id.as_str().to_owned()))
        .flatten()
        .or_else(|| {
            view.is_active()
                .then(|| format!("revision {}", view.revision))
        })
}

/// Follows the presentation and runs `command` each time a new incident appears on the
/// screen (at start, too: a box rebooted during an incident turns its screen on).
pub fn spawn_cec_follower(
    runtime: &tokio::runtime::Handle,
    mut presentation: watch::Receiver<Presentation>,
    command: Vec<String>,
) {
    if command.is_empty() {
        return;
    }
    runtime.spawn(async move {
        let mut woken_for: Option<String> = None;
        loop {
            let shown = incident_shown(&presentation.borrow_and_update());
            if shown.is_some() && shown != woken_for {
                tokio::spawn(run_command(command.clone()));
            }
            woken_for = shown;
            if presentation.changed().await.is_err() {
                break;
            }
        }
    });
}

/// Runs the command once; every way it can fail is logged, none stops the screen.
pub async fn run_command(command: Vec<String>) -> bool {
    static MISSING_TOLD: AtomicBool = AtomicBool::new(false);
    let Some((program, args)) = command.split_first() else {
        return false;
    };
    let child = tokio::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            if !MISSING_TOLD.swap(true, Ordering::SeqCst) {
                tracing::warn!(
                    "display.cec_command: {program:?} is not installed (cec-ctl is in v4l-utils, cec-client in cec-utils); the screen is not switched on over HDMI-CEC"
                );
            }
            return false;
        }
        Err(error) => {
            tracing::warn!("display.cec_command: cannot run {program:?}: {error}");
            return false;
        }
    };
    match tokio::time::timeout(CEC_TIMEOUT, child.wait_with_output()).await {
        Ok(Ok(output)) if output.status.success() => {
            tracing::info!("screen switched on over HDMI-CEC ({program})");
            true
        }
        Ok(Ok(output)) => {
            tracing::warn!(
                "display.cec_command: {program:?} failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
            false
        }
        Ok(Err(error)) => {
            tracing::warn!("display.cec_command: {program:?}: {error}");
            false
        }
        // Dropping the future kills the child (kill_on_drop).
        Err(_) => {
            tracing::warn!(
                "display.cec_command: {program:?} did not finish within {} s; stopped",
                CEC_TIMEOUT.as_secs()
            );
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn fake_command(directory: &std::path::Path, body: &str) -> String {
        let path = directory.join("fake-cec");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path.display().to_string()
    }

    #[tokio::test]
    async fn the_command_runs_with_its_arguments() {
        let directory = tempfile::tempdir().unwrap();
        let record = directory.path().join("record");
        let program = fake_command(
            directory.path(),
            &format!("echo \"$@\" >> {}", record.display()),
        );
        let ran = run_command(vec![
            program,
            "--to".into(),
            "0".into(),
            "--image-view-on".into(),
        ])
        .await;
        assert!(ran);
        assert_eq!(
            std::fs::read_to_string(&record).unwrap(),
            "--to 0 --image-view-on\n"
        );
    }

    #[tokio::test]
    async fn a_missing_or_failing_command_is_reported_not_fatal() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory
            .path()
            .join("no-such-cec-ctl")
            .display()
            .to_string();
        assert!(!run_command(vec![missing]).await);
        let failing = fake_command(directory.path(), "echo 'no CEC adapter' >&2; exit 3");
        assert!(!run_command(vec![failing]).await);
    }

    /// Lines the fake command wrote, once there are `want` or after a bounded wait.
    async fn lines(record: &std::path::Path, want: usize) -> usize {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let count = std::fs::read_to_string(record)
                .map(|text| text.lines().count())
                .unwrap_or(0);
            if count >= want || tokio::time::Instant::now() > deadline {
                return count;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    #[tokio::test]
    async fn once_per_incident_including_one_already_shown_at_start() {
        use crate::model::{VenueView, ViewMode};
        let directory = tempfile::tempdir().unwrap();
        let record = directory.path().join("record");
        let program = fake_command(
            directory.path(),
            &format!("echo on >> {}", record.display()),
        );
        let now = time::OffsetDateTime::now_utc();
        let mut cash_only = Presentation::booting(now);
        cash_only.view = VenueView {
            mode: ViewMode::CashOnly,
            revision: 3,
            ..VenueView::normal()
        };
        let (sender, receiver) = watch::channel(cash_only.clone());
        spawn_cec_follower(&tokio::runtime::Handle::current(), receiver, vec![program]);
        assert_eq!(lines(&record, 1).await, 1, "the incident shown at start");
        // The same incident again (a link note, say): no second command.
        let mut same = cash_only.clone();
        same.link = crate::model::LinkState::Up;
        sender.send(same).unwrap();
        sender.send(Presentation::booting(now)).unwrap();
        let mut next = cash_only.clone();
        next.view.revision = 5;
        sender.send(next).unwrap();
        assert_eq!(lines(&record, 2).await, 2, "a new incident after all clear");
    }
}
