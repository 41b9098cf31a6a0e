//! Confirmation tokens and the edge's link tokens: any string is refused or accepted
//! without a panic, and a token is only ever accepted with the claims it was signed with.
#![no_main]

use consentd::decision::Subject;
use consentd::decision::Channel;
use consentd::storage::ContactKey;
use consentd::storage::link::{LinkAction, LinkClaims, LinkKey, LinkKeys};
use consentd::storage::token::{TokenClaims, TokenKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = TokenKey { id: 1, secret: [7; 32] };
    let Some(links) = LinkKeys::new(vec![LinkKey { id: 1, secret: [9; 32] }]) else { return };
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = key.verify(text, 0);
        let _ = links.verify(text, 0, i64::MAX);
    }
    if data.len() >= 2 {
        let claims = LinkClaims {
            action: if data[0] & 1 == 0 { LinkAction::Unsubscribe } else { LinkAction::Preferences },
            profile_id: "acme".into(),
            channel: Channel::ALL[usize::from(data[1]) % Channel::ALL.len()],
            contact: ContactKey([data[0]; 16]),
            contact_point: String::from_utf8_lossy(&data[2..data.len().min(200)]).into_owned(),
            purpose_no: u16::from(data[1]),
            topic_no: 0,
            issued_at: 5,
            minted_by: "ck_0123456789abcdef".into(),
        };
        let token = links.sign(&claims);
        assert_eq!(links.verify(&token, 5, 10).as_ref(), Ok(&claims));
        let mut bytes = token.into_bytes();
        let i = usize::from(data[1]) % bytes.len();
        bytes[i] ^= data[0] | 1;
        if let Ok(tampered) = String::from_utf8(bytes) {
            if let Ok(c) = links.verify(&tampered, 5, 10) {
                assert_eq!(c, claims, "a changed link verified with other claims");
            }
        }
    }
    // A signed token with one byte changed never verifies as something else.
    if data.len() >= 2 {
        let claims = TokenClaims {
            contact: ContactKey([data[0]; 16]),
            subject: Subject { purpose: u16::from(data[1]) & Subject::PURPOSE_NO_MAX, topic: 0 },
            token_id: [data[0]; 16],
            expires_at: 1_000,
        };
        let token = key.sign(&claims);
        assert_eq!(key.verify(&token, 0), Ok(claims));
        let mut bytes = token.into_bytes();
        let i = usize::from(data[1]) % bytes.len();
        bytes[i] ^= data[0] | 1;
        if let Ok(tampered) = String::from_utf8(bytes) {
            if let Ok(c) = key.verify(&tampered, 0) {
                assert_eq!(c, claims, "a changed token verified with other claims");
            }
        }
    }
});
