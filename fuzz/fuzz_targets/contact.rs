//! Contact-point normalizers: never panic, and normalizing a normalized value changes
//! nothing (so a stored key is found again whatever spelling a sender used).
#![no_main]

use consentd::contact::{self, Kind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else { return };
    for kind in [Kind::Email, Kind::Phone, Kind::Token] {
        for region in [None, Some("NL"), Some("DE"), Some("US")] {
            if let Ok(n) = contact::normalize(kind, raw, region) {
                let again = contact::normalize(kind, n.as_str(), region);
                assert_eq!(again.as_ref().map(|a| a.as_str()), Ok(n.as_str()), "not idempotent: {raw:?}");
            }
        }
    }
});
