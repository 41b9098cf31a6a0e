//! The gRPC edge: generated code (fenced in [`pb`]), conversions, services.

/// Generated protobuf and gRPC code. Outside `api`, the library names these types only in
/// `server` (to mount the services and report health); the clients (consentctl, the fuzz
/// targets, tests and benches) use them freely.
#[allow(
    clippy::all,
    clippy::pedantic,
    reason = "generated code; an expectation would fail whenever codegen happens to be clean"
)]
pub mod pb {
    tonic::include_proto!("consent.v1");

    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("consent_v1_descriptor");
}

pub mod admin;
pub mod auth;
pub mod codec;
pub mod consent;
pub mod convert;
pub mod decision;
pub mod error;
pub mod metrics;
pub mod trace;
