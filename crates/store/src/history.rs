//! The tamper-evident history: each contact point's events form a SHA-256 hash chain, so a
//! removed, reordered or edited event is detectable.
//!
//! An erasure redacts a contact point's events (`StoredEvent::redacted`): the personal data
//! leaves the body, the hash stays. Verification then checks that every link holds and
//! every unredacted body matches its hash; what a redacted body says is no longer proven
//! by its hash (it was the erased data's), only its place in the chain.

use sha2::{Digest, Sha256};

use prost::Message;

use super::codec::{EventBody, StoredEvent};

/// `EventBody::kind` of an erasure (`view::event_kind_to_stored(EventKind::Erased)`).
const ERASED_KIND: u32 = 5;

/// The previous hash of a chain's first event.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];

/// SHA-256(prev_hash ++ body).
pub fn chain_hash(prev_hash: &[u8], body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(body);
    h.finalize().into()
}

/// The running digest of a chain's redacted events, in order: each one's sequence number,
/// body length and redacted body. The erasure event that follows them stores it in its
/// own (hashed) body, so what a redacted body says is proven by that event's hash.
#[derive(Clone, Default)]
pub struct RedactionDigest {
    hasher: Sha256,
    any: bool,
}

impl RedactionDigest {
    pub fn add(&mut self, seq: u64, redacted_body: &[u8]) {
        self.hasher.update(seq.to_be_bytes());
        self.hasher.update((redacted_body.len() as u64).to_be_bytes());
        self.hasher.update(redacted_body);
        self.any = true;
    }

    pub fn value(&self) -> Vec<u8> {
        if self.any { self.hasher.clone().finalize().to_vec() } else { Vec::new() }
    }
}

/// The result of checking one chain from its first event to its stored head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainVerification {
    pub intact: bool,
    pub events_checked: u64,
    /// When broken: the first sequence number whose link does not hold.
    pub first_broken_seq: u64,
    pub detail: String,
}

impl ChainVerification {
    fn broken(events_checked: u64, seq: u64, detail: String) -> ChainVerification {
        ChainVerification { intact: false, events_checked, first_broken_seq: seq, detail }
    }
}

/// Walks `events` (sequence number and stored event, in key order) and checks that the
/// sequence numbers run 1, 2, 3…, that each event's `prev_hash` is the previous event's
/// hash, that each hash covers its body, and that the chain ends at the head the contact
/// record names (`expected_len`, `expected_head`), so a truncated tail is caught too.
pub fn verify_chain(
    events: impl IntoIterator<Item = (u64, StoredEvent)>,
    expected_len: u64,
    expected_head: &[u8],
) -> ChainVerification {
    verify_chain_from(events, 0, &GENESIS_HASH, expected_len, expected_head)
}

/// [`verify_chain`] resumed after a prefix checked earlier: `events` start at sequence
/// number `from_len + 1`, and the first must link to `from_hash`. `events_checked` counts
/// the prefix too.
pub fn verify_chain_from(
    events: impl IntoIterator<Item = (u64, StoredEvent)>,
    from_len: u64,
    from_hash: &[u8],
    expected_len: u64,
    expected_head: &[u8],
) -> ChainVerification {
    let mut prev: Vec<u8> = from_hash.to_vec();
    let mut checked = from_len;
    let mut redactions = RedactionDigest::default();
    // Redacted events seen since the last erasure event that vouched for them.
    let mut unvouched = false;
    for (seq, event) in events {
        let want_seq = checked + 1;
        if seq != want_seq {
            return ChainVerification::broken(checked, want_seq, format!("event {want_seq} is missing (found {seq})"));
        }
        if event.prev_hash != prev {
            return ChainVerification::broken(checked, seq, format!("event {seq} does not link to event {}", seq - 1));
        }
        // A redacted event's body lost its personal data, and its hash is the original
        // body's: it cannot be recomputed, but the chain still links through it, so a
        // removed, reordered or inserted event is still found.
        if !event.redacted && event.hash.as_slice() != chain_hash(&event.prev_hash, &event.body) {
            return ChainVerification::broken(checked, seq, format!("event {seq} does not match its hash"));
        }
        if event.redacted {
            redactions.add(seq, &event.body);
            unvouched = true;
        } else if unvouched {
            // The first event after redacted ones is the erasure that redacted them, and it
            // names every redacted body so far.
            let vouches = EventBody::decode(event.body.as_slice())
                .is_ok_and(|b| b.kind == ERASED_KIND && b.redacted_digest == redactions.value());
            if !vouches {
                return ChainVerification::broken(
                    checked,
                    seq,
                    format!("the redacted events before event {seq} do not match the erasure that redacted them"),
                );
            }
            unvouched = false;
        }
        prev = event.hash;
        checked += 1;
    }
    if unvouched {
        return ChainVerification::broken(checked, checked, "redacted events without their erasure event".to_owned());
    }
    if checked != expected_len {
        return ChainVerification::broken(
            checked,
            checked + 1,
            format!("chain has {checked} events, the contact record names {expected_len}"),
        );
    }
    let head_ok = (expected_len == 0 && expected_head.is_empty()) || prev.as_slice() == expected_head;
    if !head_ok {
        return ChainVerification::broken(checked, checked, "chain head does not match the contact record".to_owned());
    }
    ChainVerification { intact: true, events_checked: checked, first_broken_seq: 0, detail: String::new() }
}

/// Chains verified whole earlier in this process, by contact key: their length and head
/// then. History only grows, so the next verification of a long chain reads the events
/// after that point (and the one at it, to see it is still the same chain) instead of the
/// whole chain again: paging through a 200k-event history reads it once, not once per
/// page. Bounded: only chains of at least [`Self::MIN_EVENTS`], at most
/// [`Self::ENTRIES_MAX`] of them (forgotten all at once when full). A restart, and the
/// store's background verification, read every chain whole.
#[derive(Default)]
pub struct VerifiedPrefixes {
    map: std::sync::Mutex<std::collections::HashMap<[u8; 16], Verified>>,
}

/// A chain's length and head hash when it was verified.
type Verified = (u64, [u8; 32]);

impl VerifiedPrefixes {
    /// Shorter chains are read whole every time: cheap, and not worth an entry.
    pub const MIN_EVENTS: u64 = 256;
    pub const ENTRIES_MAX: usize = 4096;

    pub fn get(&self, key: &[u8; 16]) -> Option<Verified> {
        self.map.lock().ok()?.get(key).copied()
    }

    pub fn put(&self, key: [u8; 16], len: u64, head: &[u8]) {
        let (Ok(head), true) = (<[u8; 32]>::try_from(head), len >= Self::MIN_EVENTS) else { return };
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= Self::ENTRIES_MAX && !m.contains_key(&key) {
                m.clear();
            }
            m.insert(key, (len, head));
        }
    }

    pub fn forget(&self, key: &[u8; 16]) {
        if let Ok(mut m) = self.map.lock() {
            m.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u64) -> Vec<(u64, StoredEvent)> {
        let mut prev = GENESIS_HASH.to_vec();
        (1..=n)
            .map(|seq| {
                let body = format!("event {seq}").into_bytes();
                let hash = chain_hash(&prev, &body).to_vec();
                let e = StoredEvent { body, prev_hash: prev.clone(), hash: hash.clone(), redacted: false };
                prev = hash;
                (seq, e)
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        let head = c[4].1.hash.clone();
        let v = verify_chain(c, 5, &head);
        assert!(v.intact && v.events_checked == 5, "{v:?}");
        assert!(verify_chain(Vec::new(), 0, &[]).intact);
    }

    #[test]
    fn edits_deletions_reorders_and_truncation_are_caught() {
        let c = chain(5);
        let head = c[4].1.hash.clone();
        let mut edited = c.clone();
        edited[2].1.body[0] ^= 1;
        assert_eq!(verify_chain(edited, 5, &head).first_broken_seq, 3);
        let mut deleted = c.clone();
        deleted.remove(1);
        assert_eq!(verify_chain(deleted, 5, &head).first_broken_seq, 2);
        let mut swapped = c.clone();
        swapped.swap(1, 2);
        assert!(!verify_chain(swapped, 5, &head).intact);
        // Dropping the tail is caught through the head stored with the contact record.
        let truncated: Vec<_> = c.iter().take(4).cloned().collect();
        let v = verify_chain(truncated, 5, &head);
        assert!(!v.intact && v.first_broken_seq == 5, "{v:?}");
        // Rewriting an event and every hash after it still fails against the stored head.
        let mut rewritten = chain(5);
        rewritten[4].1.body = b"forged".to_vec();
        rewritten[4].1.hash = chain_hash(&rewritten[4].1.prev_hash, &rewritten[4].1.body).to_vec();
        assert!(!verify_chain(rewritten, 5, &head).intact);
    }

    /// A redacted event keeps its hash and the chain verifies; editing its redacted body
    /// afterwards, or redacting without an erasure event to vouch for it, does not.
    #[test]
    fn redacted_events_are_vouched_for_by_their_erasure() {
        let original = EventBody { seq: 1, kind: 1, contact_point: "jane@example.com".into(), ..EventBody::default() };
        let redacted = EventBody { contact_point: String::new(), ..original.clone() }.encode_to_vec();
        let h1 = chain_hash(&GENESIS_HASH, &original.encode_to_vec()).to_vec();
        let mut digest = RedactionDigest::default();
        digest.add(1, &redacted);
        let erasure = EventBody { seq: 2, kind: ERASED_KIND, redacted_digest: digest.value(), ..EventBody::default() }
            .encode_to_vec();
        let h2 = chain_hash(&h1, &erasure).to_vec();
        let first = StoredEvent { body: redacted, prev_hash: GENESIS_HASH.to_vec(), hash: h1.clone(), redacted: true };
        let second = StoredEvent { body: erasure, prev_hash: h1, hash: h2.clone(), redacted: false };
        let v = verify_chain(vec![(1, first.clone()), (2, second.clone())], 2, &h2);
        assert!(v.intact, "{v:?}");
        let mut edited = first.clone();
        edited.body =
            EventBody { contact_point: "x".into(), ..EventBody::decode(first.body.as_slice()).unwrap_or_default() }
                .encode_to_vec();
        let v = verify_chain(vec![(1, edited), (2, second)], 2, &h2);
        assert!(!v.intact && v.first_broken_seq == 2, "{v:?}");
        let v = verify_chain(vec![(1, first)], 1, &h2);
        assert!(!v.intact, "{v:?}");
    }
}
