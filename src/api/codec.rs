//! The gRPC codec of every consentd service and client: prost, with two guards the stock
//! codec lacks.
//!
//! - **Items before allocation.** Decoding is where a small message becomes a large one: a
//!   16 MiB `BatchSetConsent` of 8 M empty items decodes into 2.9 GB. Before prost builds
//!   anything, one pass over the wire bytes counts how often each top-level field occurs;
//!   past [`wire_items_max`] the message is refused, so the decoded size is bounded by the
//!   item limit, not the byte limit. (The services still check their own, smaller limit
//!   per field and name it; this pass only keeps memory bounded until they can.)
//! - **Bytes being decoded, server-wide.** At most [`Limits::DECODE_BYTES_IN_FLIGHT_MAX`] bytes of
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

use crate::config::Limits;

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
        if before > 0 && before + len > Limits::DECODE_BYTES_IN_FLIGHT_MAX {
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

/// Counts the occurrences of each top-level field number without decoding; refuses a field
/// that occurs more than `items_max` times. Malformed input is left to prost, which names
/// the problem.
pub fn check_field_counts(mut wire: &[u8], items_max: usize) -> Result<(), Status> {
    // Field numbers of the API's messages are small; larger ones are counted together.
    let mut counts = [0usize; 32];
    while !wire.is_empty() {
        let Some(tag) = varint(&mut wire) else { return Ok(()) };
        let field = (tag >> 3) as usize;
        let slot = &mut counts[field.min(counts.len() - 1)];
        *slot += 1;
        if *slot > items_max {
            return Err(Status::invalid_argument(format!(
                "field #{field} of the message repeats more than {items_max} times: at most {items_max} items per message"
            )));
        }
        let skipped = match tag & 7 {
            0 => varint(&mut wire).map(|_| ()),
            1 => advance(&mut wire, 8),
            2 => varint(&mut wire).and_then(|n| usize::try_from(n).ok()).and_then(|n| advance(&mut wire, n)),
            5 => advance(&mut wire, 4),
            // Groups (3, 4) and invalid wire types: prost decides.
            _ => None,
        };
        if skipped.is_none() {
            return Ok(());
        }
    }
    Ok(())
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
    fn counts_top_level_fields_only() {
        // Field 1 (length-delimited) three times, each holding field 1 five times inside.
        let inner: Vec<u8> = [0x08u8, 0x01].repeat(5);
        let mut outer = Vec::new();
        for _ in 0..3 {
            outer.push(0x0a);
            outer.push(inner.len() as u8);
            outer.extend_from_slice(&inner);
        }
        assert!(check_field_counts(&outer, 3).is_ok());
        let err = check_field_counts(&outer, 2).err().map(|s| s.message().to_owned()).unwrap_or_default();
        assert!(err.contains("field #1") && err.contains("at most 2"), "{err}");
        // Truncated or malformed input is left to prost.
        assert!(check_field_counts(&[0x0a, 0x7f], 1).is_ok());
        assert!(check_field_counts(&[0xff], 1).is_ok());
    }

    #[test]
    fn empty_items_are_counted_like_full_ones() {
        // 10 empty items of field 1 (`0a 00`), as an attacker would send millions.
        let wire: Vec<u8> = [0x0au8, 0x00].repeat(10);
        assert!(check_field_counts(&wire, 10).is_ok());
        assert!(check_field_counts(&wire, 9).is_err());
    }
}
