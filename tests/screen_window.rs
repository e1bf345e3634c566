//! A real signage window under Xvfb (X11 through winit, software renderer): the node
//! opens its window, switches to cash only, and publishes a proof-of-display thumbnail
//! that shows it. Skipped, saying why, when Xvfb is not installed (unless
//! RAINCHECK_REQUIRE_XVFB=1, as in CI).

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private X server, stopped when dropped.
struct Xvfb {
    _server: KillOnDrop,
    display: String,
}

fn xvfb() -> Option<Xvfb> {
    if !std::path::Path::new("/usr/bin/Xvfb").exists() {
        assert_ne!(
            std::env::var("RAINCHECK_REQUIRE_XVFB").as_deref(),
            Ok("1"),
            "Xvfb is required but not installed"
        );
        eprintln!("SKIPPED: Xvfb is not installed (apt-get install xvfb); this test needs a real X server");
        return None;
    }
    let free = (50 + std::process::id() % 200..)
        .find(|n| !std::path::Path::new(&format!("/tmp/.X{n}-lock")).exists());
    let display = format!(":{}", free.expect("a free X display number"));
    let child = Command::new("/usr/bin/Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x720x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start Xvfb");
    let socket = format!("/tmp/.X11-unix/X{}", &display[1..]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::path::Path::new(&socket).exists() {
        assert!(Instant::now() < deadline, "Xvfb did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(Xvfb {
        _server: KillOnDrop(child),
        display,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_screen_window_shows_cash_only_and_publishes_its_thumbnail() {
    let Some(broker) = mosquitto("") else { return };
    let Some(x_server) = xvfb() else { return };
    let directory = tempfile::tempdir().unwrap();
    let config = write_config(
        directory.path(),
        "lobby-1",
        &format!(
            "[broker]\nurl = \"{}\"\n[display]\nbackend = \"winit\"\nfullscreen = true\nthumbnails = true\nthumbnail_secs = 5\n",
            broker.url()
        ),
    );
    let _node = KillOnDrop(
        Command::new(binary())
            .args(["run", "--config"])
            .arg(&config)
            .env("DISPLAY", &x_server.display)
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("start the screen node"),
    );

    let mut observer = observer(&broker.url()).await;
    wait_for(
        &mut observer,
        Duration::from_secs(20),
        "the screen node reports",
        all_confirmed(&["lobby-1"]),
    )
    .await;
    declare(&broker.url(), "start", &["--wait", "10"]);

    // Read thumbnails until one shows the cash-only amber (earlier ones may show "normal").
    let topic = format!("raincheck/v1/{VENUE}/thumbnails/lobby-1");
    let mut options = rumqttc::MqttOptions::new("thumbnail-reader", "127.0.0.1", broker.port);
    options.set_max_packet_size(1 << 20, 1 << 20);
    let (client, mut eventloop) = rumqttc::AsyncClient::new(options, 10);
    client
        .subscribe(&topic, rumqttc::QoS::AtMostOnce)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut amber_share = 0.0;
    while amber_share < 0.5 {
        let event = tokio::time::timeout_at(deadline, eventloop.poll()).await;
        if let Ok(Err(error)) = &event {
            panic!("thumbnail reader lost the broker: {error}");
        }
        let Ok(Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(publish)))) = event else {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no cash-only thumbnail within 30 s"
            );
            continue;
        };
        let decoder = png::Decoder::new(std::io::Cursor::new(publish.payload.to_vec()));
        let mut reader = decoder.read_info().expect("the thumbnail is a PNG");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        let info = reader.next_frame(&mut pixels).expect("PNG frame");
        assert_eq!(info.width, 320, "thumbnails are 320 px wide");
        let rgb = &pixels[..info.buffer_size()];
        let amber = rgb
            .chunks(3)
            .filter(|p| p[0] > 0xf0 && (0xa8..0xbe).contains(&p[1]) && p[2] < 0x10)
            .count();
        amber_share = amber as f64 / (rgb.len() / 3) as f64;
        eprintln!(
            "thumbnail {}x{}: {:.0} % amber",
            info.width,
            info.height,
            amber_share * 100.0
        );
    }
    observer.close().await;
}
