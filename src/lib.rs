//! raincheck: every screen and counter of a venue shows the same payment status, switches
//! to "cash only — ask for your raincheck" together, and proves it. See
//! docs/ARCHITECTURE.md for the map of these modules.

pub mod access;
pub mod app;
pub mod audit;
pub mod bench;
pub mod broker;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod config;
pub mod console;
pub mod deadline;
pub mod detection;
pub mod health;
pub mod http_client;
pub mod keeper;
pub mod lan;
pub mod liveness;
pub mod local_http;
pub mod logging;
pub mod machine_keys;
pub mod metrics;
pub mod model;
pub mod mosquitto;
pub mod mqtt;
pub mod protocol;
pub mod reject_log;
pub mod screen;
pub mod secret_file;
pub mod shutdown;
pub mod status;
pub mod text;
pub mod voucher;
pub mod web_api;
pub mod web_server;
