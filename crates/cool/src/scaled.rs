//! Prices and amounts as scaled integers that decode to exactly the `f64` they came from.
//!
//! A value `v` is stored as `n` with scale `s` when `n as f64 / 10^s == v` bit for bit — the
//! smallest such `s` from 0 to 15 is used — so `10.35` becomes `1035` at scale 2 and
//! `0.123456789012345` becomes `123456789012345` at scale 15. Integers of a few digits
//! compress far better than noisy floats, and the check makes the round trip exact.
//! A group of values shares one scale; when no scale fits them all, the group is stored as raw
//! bits with scale [`RAW`].

/// The scale meaning "the integers are IEEE-754 bit patterns".
pub(crate) const RAW: u8 = 255;

/// Largest integer every `f64` represents exactly (2^53).
const EXACT: f64 = 9_007_199_254_740_992.0;

fn pow10(s: u8) -> f64 {
    10f64.powi(i32::from(s))
}

/// Decodes one value.
pub(crate) fn decode(n: i64, scale: u8) -> f64 {
    if scale == RAW {
        return f64::from_bits(n as u64);
    }
    n as f64 / pow10(scale)
}

/// Encodes a group of values with one shared scale.
pub(crate) fn encode<const N: usize>(values: [f64; N]) -> ([i64; N], u8) {
    'scale: for s in 0..=15u8 {
        let p = pow10(s);
        let mut out = [0i64; N];
        for (slot, v) in out.iter_mut().zip(values) {
            let n = (v * p).round();
            // Compared as bits of what decoding gives, so -0.0 (which an integer cannot carry)
            // falls through to raw bits.
            if !n.is_finite() || n.abs() >= EXACT || ((n as i64) as f64 / p).to_bits() != v.to_bits() {
                continue 'scale;
            }
            *slot = n as i64;
        }
        return (out, s);
    }
    (values.map(|v| v.to_bits() as i64), RAW)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trips<const N: usize>(values: [f64; N]) -> u8 {
        let (ns, s) = encode(values);
        for (n, v) in ns.iter().zip(values) {
            assert_eq!(decode(*n, s).to_bits(), v.to_bits(), "{v} via {n}/{s}");
        }
        s
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        assert_eq!(round_trips([-0.0]), RAW);
        assert_eq!(round_trips([0.0]), 0);
    }

    #[test]
    fn the_smallest_exact_scale_is_chosen() {
        assert_eq!(encode([10.35, 10.4, 10.0, 10.3]), ([1035, 1040, 1000, 1030], 2));
        assert_eq!(encode([8.12]), ([812], 2));
        assert_eq!(encode([1200.0]), ([1200], 0));
        assert_eq!(encode([1.234]), ([1234], 3));
    }

    #[test]
    fn awkward_values_round_trip_bit_for_bit() {
        // Scales found independently with CPython: round(v * 10**s) / 10**s == v.
        assert_eq!(round_trips([0.123_456_789_012_345]), 15);
        assert_eq!(round_trips([0.000_123_456]), 9);
        assert_eq!(round_trips([2093.675]), 3);
        assert_eq!(round_trips([0.1 + 0.2]), RAW); // 0.30000000000000004
        assert_eq!(round_trips([10.000_000_000_000_002]), RAW);
        assert_eq!(round_trips([123_456_789_012.345_67, 1.0]), RAW);
        assert_eq!(round_trips([1e-300]), RAW);
        assert_eq!(round_trips([8.12 - 0.1, 10.5 - 0.3]), 2); // 8.02 and 10.2 exactly
    }
}
