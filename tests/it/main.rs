#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly on purpose")]

//! Integration tests: real servers on real sockets, driven through the generated clients
//! the way a sender, gateway or preference center would.

mod abuse;
mod admin_auth;
mod asof;
mod bench;
mod browser;
mod cli;
mod cluster;
mod consent;
mod crash;
mod damage;
mod decision;
mod edge;
mod edges;
mod layers;
mod life;
mod nats;
mod otlp;
mod packed;
mod presets;
mod receipts;
mod recover;
mod simulate;
mod store;
mod support;
mod tls;
mod webhook;
