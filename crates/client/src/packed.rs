//! The packed form of `CheckStream` (see `CheckStreamRequest.contact_points_packed` and
//! `CheckStreamResponse.outcomes`): a batch's contact points as one buffer of lines, its
//! answers as one byte per recipient. The server reads it without a string per recipient.

/// The contact points as lines, or none when one holds a line feed (that batch goes in the
/// listed form instead).
pub fn pack<'a>(points: impl IntoIterator<Item = &'a str>) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for p in points {
        if p.contains('\n') {
            return None;
        }
        out.extend_from_slice(p.as_bytes());
        out.push(b'\n');
    }
    Some(out)
}

/// One packed answer: (the `Decision`'s number, the `Reason`'s number).
pub fn answer(byte: u8) -> (i32, i32) {
    (i32::from(byte >> 6), i32::from(byte & 63))
}

#[cfg(test)]
mod tests {
    use super::{answer, pack};

    #[test]
    fn lines_and_bytes() {
        assert_eq!(
            pack(["a@example.com", "", "+31612345678"]).as_deref(),
            Some(b"a@example.com\n\n+31612345678\n".as_slice())
        );
        assert_eq!(pack(["a\nb"]), None);
        assert_eq!(pack([]).map(|v| v.len()), Some(0));
        assert_eq!(answer((2 << 6) | 4), (2, 4));
        assert_eq!(answer((1 << 6) | 10), (1, 10));
    }
}
