//! consentd: a consent decision service for high-volume message sends.
//!
//! Code map (see ARCHITECTURE.md for the invariants):
//! - [`decision`], [`contact`]: the pure engine and contact point normalization (the
//!   `consentd-core` crate: no I/O, no clock).
//! - [`storage`]: RocksDB store, key codec, hot index, ordering rules, history chain, tokens
//!   (the `consentd-store` crate: no configuration, cluster or API types).
//! - [`api`]: generated protobuf code (fenced in `api::pb`), conversions, gRPC services,
//!   error-to-Status mapping, access control.
//! - [`config`]: the one `Config` struct, from flags, environment and an optional TOML file.
//! - [`bulk`], [`bench`]: import/export file formats and the load engine (the
//!   `consentd-client` crate, shared with consentctl; re-exported for the tests).
//! - [`net`]: accepting connections under a cap, with handshake and idle deadlines; serving
//!   and draining the HTTP/1.1 listeners (edge, metrics).
//! - [`notify`]: systemd's readiness notifications (`Type=notify` units).
//! - [`tls`]: TLS and mutual TLS from PEM files, reloaded when they change.
//! - [`edge`]: the public HTTP edge: one-click unsubscribe, double opt-in page, preference
//!   center and its JSON API, authorised by signed link tokens.
//! - [`links`]: the recipient's links (the edge's page URLs, signed): minted by the API,
//!   served by the edge.
//! - [`app`]: the lifecycle: every task in one set, one drain signal, the stop order.
//! - [`offline`]: what `consentd` does on a stopped server's directory (`--create-admin-key`,
//!   `--rotate-link-key`, `verify`).
//! - [`webhook`]: deliveries of every change to subscribed HTTP receivers, signed per the
//!   Standard Webhooks convention.
//! - [`server`]: `run(config, listener, shutdown)`, the testable entry point.

pub mod api;
pub mod app;
pub mod cluster;
pub mod config;
pub mod edge;
pub mod links;
pub mod net;
pub mod notify;
pub mod offline;
pub mod server;
pub mod telemetry;
pub mod tls;
pub mod webhook;

pub use consentd_client::{bench, bulk};
pub use consentd_core::{contact, decision};
pub use consentd_store as storage;
