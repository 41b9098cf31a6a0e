//! consentd's API as Rust types: the generated code of `proto/consent/v1` (fenced in
//! [`pb`]) and the gRPC codec every consentd service and client uses ([`codec`]). No
//! storage, no server: the client crate and consentctl build on this alone.

pub mod codec;

/// The generated messages, enums, clients and servers of `consent.v1`, and its file
/// descriptor set (for server reflection).
#[allow(
    clippy::all,
    clippy::pedantic,
    reason = "generated code; an expectation would fail whenever codegen happens to be clean"
)]
pub mod pb {
    tonic::include_proto!("consent.v1");

    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("consent_v1_descriptor");
}
