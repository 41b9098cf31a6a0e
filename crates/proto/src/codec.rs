//! The gRPC codec of every consentd service and client: prost, with two guards the stock
//! codec lacks.
//!
//! - **Items before allocation.** Decoding is where a small message becomes a large one: a
//!   16 MiB `BatchSetConsent` of 8 M empty items decodes into 2.9 GB, and a `CreateProfile`
//!   of 8.4 M empty keywords, one level down, into 255 MB. Before prost builds anything, one
//!   pass over the wire bytes counts how often each field of each message occurs, nested
//!   messages included; past [`wire_items_max`] the message is refused, so the decoded size
//!   is bounded by the item limit, not the byte limit. (The services still check their own,
//!   smaller limit per field and name it; this pass only keeps memory bounded until they
//!   can.) The pass has no schema: a length-delimited field is taken for a nested message
//!   when its bytes parse exactly as one (a string rarely does; one that does and repeats
//!   one field past the bound is refused like a message would be). Nesting is followed
//!   [`NESTING_MAX`] levels deep, deeper than any consentd message.
//! - **Bytes being decoded, server-wide.** At most [`DECODE_BYTES_IN_FLIGHT_MAX`] bytes of
//!   messages are decoded at once in the process; a message past that answers
//!   `RESOURCE_EXHAUSTED` and the client retries.
//!
//! And an undecodable message is the client's fault: `INVALID_ARGUMENT`, not `INTERNAL`.
//!
//! Must not touch: anything of a message's meaning; that is the services' job.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Buf;
use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};

/// Bytes of messages decoded at once in the whole process (the server's
/// `config::Limits` names it too).
pub const DECODE_BYTES_IN_FLIGHT_MAX: usize = 256 << 20;

/// 0 until a server sets it: a process without a server (a client) decodes without the
/// item bound.
static WIRE_ITEMS_MAX: AtomicUsize = AtomicUsize::new(0);
static DECODE_BYTES_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Raises the process-wide bound on occurrences of one top-level field to `items`. Servers
/// call it with their largest item limit; with several servers in one process (tests) the
/// largest wins, and each service still enforces its own limit.
pub fn raise_wire_items_max(items: usize) {
    WIRE_ITEMS_MAX.fetch_max(items, Ordering::Relaxed);
}

/// The bound in force (0: none).
pub fn wire_items_max() -> usize {
    WIRE_ITEMS_MAX.load(Ordering::Relaxed)
}

/// prost with the guards above; named by `build.rs` as every service's codec.
#[derive(Debug, Clone)]
pub struct LimitedCodec<T, U> {
    _pd: PhantomData<(T, U)>,
}

impl<T, U> Default for LimitedCodec<T, U> {
    fn default() -> Self {
        LimitedCodec { _pd: PhantomData }
    }
}

impl<T, U> Codec for LimitedCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = LimitedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::new(BufferSettings::default())
    }

    fn decoder(&mut self) -> Self::Decoder {
        LimitedDecoder { _pd: PhantomData }
    }
}

#[derive(Debug)]
pub struct LimitedDecoder<U> {
    _pd: PhantomData<U>,
}

/// Releases a message's share of the in-flight budget when decoding ends, however it ends.
struct InFlight(usize);

impl Drop for InFlight {
    fn drop(&mut self) {
        DECODE_BYTES_IN_FLIGHT.fetch_sub(self.0, Ordering::Relaxed);
    }
}

impl<U: Message + Default> Decoder for LimitedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        let len = buf.remaining();
        let before = DECODE_BYTES_IN_FLIGHT.fetch_add(len, Ordering::Relaxed);
        let _in_flight = InFlight(len);
        if before > 0 && before + len > DECODE_BYTES_IN_FLIGHT_MAX {
            return Err(Status::resource_exhausted(format!(
                "the server is decoding {} MiB of other messages; retry this {} KiB message shortly",
                before >> 20,
                len >> 10
            )));
        }
        let items_max = wire_items_max();
        // A DecodeBuf is one contiguous buffer; if that ever changes, skip the count rather
        // than copy.
        if items_max > 0 && buf.chunk().len() == len {
            check_field_counts(buf.chunk(), items_max)?;
        }
        U::decode(buf).map(Some).map_err(|e| Status::invalid_argument(format!("undecodable message: {e}")))
    }

    fn buffer_settings(&self) -> BufferSettings {
        BufferSettings::default()
    }
}

/// How deep [`check_field_counts`] follows nested messages.
pub const NESTING_MAX: usize = 6;

/// Counts the occurrences of each field number of the message and of every nested message
/// without decoding; refuses a field that occurs more than `items_max` times in one
/// message. Malformed input is left to prost, which names the problem.
pub fn check_field_counts(wire: &[u8], items_max: usize) -> Result<(), Status> {
    match count_fields(wire, items_max, NESTING_MAX) {
        Ok(_) => Ok(()),
        Err(TooMany { path }) => {
            let path = path.iter().rev().map(|f| format!("#{f}")).collect::<Vec<_>>().join(".");
            Err(Status::invalid_argument(format!(
                "field {path} of the message repeats more than {items_max} times: at most {items_max} items per message"
            )))
        }
    }
}

/// A field that repeats past the bound: its number, innermost first, then its parents'.
struct TooMany {
    path: Vec<u64>,
}

/// Whether `wire` is exactly one well-formed message (`Ok(true)`: it then passed the bound
/// at every level), or not a message at all (`Ok(false)`: nothing in it is counted, so text
/// that merely starts like a message is never refused).
fn count_fields(wire: &[u8], items_max: usize, depth: usize) -> Result<bool, TooMany> {
    if !fields(wire).all(|f| f.is_some()) {
        return Ok(false);
    }
    // Field numbers of the API's messages are small; larger ones are counted together.
    let mut counts = [0usize; 32];
    for (field, body) in fields(wire).flatten() {
        let slot = &mut counts[usize::try_from(field).unwrap_or(usize::MAX).min(counts.len() - 1)];
        *slot += 1;
        if *slot > items_max {
            return Err(TooMany { path: vec![field] });
        }
        if let Some(body) = body.filter(|b| depth > 0 && !b.is_empty()) {
            count_fields(body, items_max, depth - 1).map_err(|mut e| {
                e.path.push(field);
                e
            })?;
        }
    }
    Ok(true)
}

/// The fields of `wire` in order: the number and, when length-delimited, the bytes of
/// each; `None` (and the end) where `wire` is not a well-formed message.
fn fields(mut wire: &[u8]) -> impl Iterator<Item = Option<(u64, Option<&[u8]>)>> {
    let mut broken = false;
    std::iter::from_fn(move || {
        if broken || wire.is_empty() {
            return None;
        }
        let field = varint(&mut wire).and_then(|tag| {
            let field = tag >> 3;
            if field == 0 {
                return None;
            }
            match tag & 7 {
                0 => varint(&mut wire).map(|_| (field, None)),
                1 => advance(&mut wire, 8).map(|()| (field, None)),
                2 => varint(&mut wire)
                    .and_then(|n| usize::try_from(n).ok())
                    .and_then(|n| take(&mut wire, n))
                    .map(|body| (field, Some(body))),
                5 => advance(&mut wire, 4).map(|()| (field, None)),
                // Groups (3, 4) and invalid wire types: not a message this pass reads.
                _ => None,
            }
        });
        broken = field.is_none();
        Some(field)
    })
}

fn take<'a>(wire: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    let (head, rest) = (wire.get(..n)?, wire.get(n..)?);
    *wire = rest;
    Some(head)
}

fn varint(wire: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = wire.split_first()?;
        *wire = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

fn advance(wire: &mut &[u8], n: usize) -> Option<()> {
    *wire = wire.get(n..)?;
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_message_of_the_tree_on_its_own() {
        // Field 1 (length-delimited) three times, each holding field 1 five times inside.
        let inner: Vec<u8> = [0x08u8, 0x01].repeat(5);
        let mut outer = Vec::new();
        for _ in 0..3 {
            outer.push(0x0a);
            outer.push(inner.len() as u8);
            outer.extend_from_slice(&inner);
        }
        assert!(check_field_counts(&outer, 5).is_ok());
        let err = check_field_counts(&outer, 4).err().map(|s| s.message().to_owned()).unwrap_or_default();
        assert!(err.contains("field #1.#1") && err.contains("at most 4"), "nested fields count: {err}");
        let single: Vec<u8> = [0x0au8, 0x02, 0x08, 0x01].repeat(3);
        let err = check_field_counts(&single, 2).err().map(|s| s.message().to_owned());
        assert!(err.is_some_and(|e| e.contains("field #1 ")), "top-level fields count");
        // Truncated or malformed input is left to prost.
        assert!(check_field_counts(&[0x0a, 0x7f], 1).is_ok());
        assert!(check_field_counts(&[0xff], 1).is_ok());
    }

    #[test]
    fn nested_repeats_are_refused_before_decoding() {
        use prost::Message as _;
        let profile = crate::pb::Profile {
            profile_id: "acme".into(),
            extra_stop_keywords: vec![String::new(); 5000],
            ..Default::default()
        };
        let req = crate::pb::CreateProfileRequest { profile: Some(profile) };
        let err = check_field_counts(&req.encode_to_vec(), 2000).err().map(|s| s.message().to_owned());
        assert!(err.is_some_and(|e| e.contains("#1.#6")), "extra_stop_keywords inside the profile");
        // Text that is not a message is not counted as one.
        let mut change = crate::pb::ConsentChange { reason: "stop stop stop".repeat(1000), ..Default::default() };
        assert!(check_field_counts(&change.encode_to_vec(), 10).is_ok());
        change.reason = "hello, world".into();
        assert!(check_field_counts(&change.encode_to_vec(), 1).is_ok());
    }

    #[test]
    fn empty_items_are_counted_like_full_ones() {
        // 10 empty items of field 1 (`0a 00`), as an attacker would send millions.
        let wire: Vec<u8> = [0x0au8, 0x00].repeat(10);
        assert!(check_field_counts(&wire, 10).is_ok());
        assert!(check_field_counts(&wire, 9).is_err());
    }
}
