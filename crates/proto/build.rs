//! Generates the gRPC code of `proto/consent/v1` (protoc from $PROTOC or PATH) and a file
//! descriptor set for server reflection.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "../../proto/consent/v1/types.proto",
        "../../proto/consent/v1/decision.proto",
        "../../proto/consent/v1/consent.proto",
        "../../proto/consent/v1/admin.proto",
    ];
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        // prost plus an item count before decoding and INVALID_ARGUMENT for undecodable
        // messages; see src/codec.rs.
        .codec_path("crate::codec::LimitedCodec")
        .file_descriptor_set_path(out_dir.join("consent_v1_descriptor.bin"))
        .compile_protos(&protos, &["../../proto"])?;
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    Ok(())
}
