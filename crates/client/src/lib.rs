//! What consentd's clients share, apart from the generated API (`consentd-proto`): the
//! bulk file formats of imports and exports with the vendor presets ([`bulk`]), and the
//! load engine of `consentctl bench` and the load suite ([`bench`]). Nothing here opens a
//! store or serves a request.

pub mod bench;
pub mod bulk;
