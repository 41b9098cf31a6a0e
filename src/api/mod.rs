//! The gRPC edge: generated code (fenced in [`pb`]), conversions, services.

/// Generated protobuf and gRPC code. Nothing outside `api` uses these types.
#[expect(clippy::all, clippy::pedantic, reason = "generated code")]
pub mod pb {
    tonic::include_proto!("consent.v1");

    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("consent_v1_descriptor");
}
