//! The gRPC edge: generated code (fenced in [`pb`]), conversions, services.

/// The codec of every service and client (the `consentd-proto` crate).
pub use consentd_proto::codec;
/// Generated protobuf and gRPC code (the `consentd-proto` crate). Outside `api`, the
/// library names these types only in `server` (to mount the services and report health);
/// the clients (consentctl, the fuzz targets, tests and benches) use them freely.
pub use consentd_proto::pb;

pub mod admin;
pub mod auth;
pub mod consent;
pub mod convert;
pub mod decision;
pub mod error;
pub mod fence;
pub mod metrics;
pub mod simulate;
pub mod trace;
pub mod webhooks;
