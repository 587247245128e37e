//! A span's ids, as plain integers: formatted as hex only where a line or a header needs them.

/// The ids of one span. `trace_id` and `span_id` are never 0 (the W3C's invalid value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SpanIds {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    /// Whether the trace is sampled: its spans are exported (always false under
    /// `OTEL_TRACES_SAMPLER=always_off`).
    pub(crate) sampled: bool,
    /// W3C Level 2's random flag: the trace id is random (one sightline made, or a caller said so).
    pub(crate) random: bool,
}

impl SpanIds {
    /// A child of `parent`, or the root of a new trace: a fresh span id, and the parent's trace id or a
    /// fresh one. `sample` decides a root's sampling from its trace id and the parent's decision.
    #[inline]
    pub(crate) fn child_of(
        parent: Option<SpanIds>,
        sample: impl FnOnce(u128, Option<bool>) -> bool,
    ) -> SpanIds {
        let trace_id = parent.map_or_else(new_trace_id, |p| p.trace_id);
        SpanIds {
            trace_id,
            span_id: new_span_id(),
            sampled: sample(trace_id, parent.map(|p| p.sampled)),
            random: parent.map_or(true, |p| p.random),
        }
    }
}

/// 128 random bits, never 0. fastrand's generator is per thread: no lock, no shared state.
#[inline]
pub(crate) fn new_trace_id() -> u128 {
    fastrand::u128(1..)
}

/// 64 random bits, never 0.
#[inline]
pub(crate) fn new_span_id() -> u64 {
    fastrand::u64(1..)
}

/// Lower-case hex of `value`'s `bytes` low bytes, big-endian, as Jaeger and `traceparent` write ids.
#[inline]
pub(crate) fn push_hex(out: &mut Vec<u8>, value: u128, bytes: usize) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bytes = bytes.min(16);
    let be = value.to_be_bytes();
    let mut text = [0u8; 32];
    for (pair, byte) in text.chunks_exact_mut(2).zip(&be[16 - bytes..]) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0xf)];
    }
    out.extend_from_slice(&text[..bytes * 2]);
}

/// `value` as `2 * bytes` hex digits.
#[cfg(test)]
pub(crate) fn hex(value: u128, bytes: usize) -> String {
    let mut out = Vec::with_capacity(bytes * 2);
    push_hex(&mut out, value, bytes);
    // Only ASCII digits were written.
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_zero_padded_big_endian() {
        assert_eq!(hex(0xab, 8), "00000000000000ab");
        assert_eq!(hex(u128::MAX, 16), "f".repeat(32));
        assert_eq!(hex(1 << 64, 16), format!("{:032x}", 1u128 << 64));
    }

    #[test]
    fn a_child_keeps_the_trace_and_a_root_starts_one() {
        let root = SpanIds::child_of(None, |_, parent| parent.is_none());
        assert!(root.sampled && root.trace_id != 0 && root.span_id != 0);
        let child = SpanIds::child_of(Some(root), |_, parent| parent == Some(true));
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
        assert!(child.sampled);
    }
}
