//! What consentd's clients share, apart from the generated API (`consentd-proto`): the
//! bulk file formats of imports and exports with the vendor presets ([`bulk`]), the load
//! engine of `consentctl bench` and the load suite ([`bench`]), and the one way every Rust
//! client connects ([`connect`]) and packs a check batch ([`packed`]). Nothing here opens a store or serves a request.

pub mod bench;
pub mod bulk;
pub mod connect;
pub mod packed;
pub mod receipt;
