//! Python's `repr(float)` — also what `json.dumps` and pandas' `to_csv` write for a float.
//!
//! Python prints the shortest digit string that reads back as the same float, choosing the
//! nearest such string and breaking an exact tie to even (David Gay's `dtoa`, mode 0). `ryu`
//! computes exactly that digit string; this module only lays it out as Python does: fixed
//! notation with at least one decimal (`10.0`) when the decimal exponent is in -4..=15,
//! otherwise `d.ddde±XX` with at least two exponent digits (`1e-05`, `1e+16`).
//! `tests/pyfloat_differential.rs` compares it with CPython on over a million floats.

/// `repr(v)` as Python writes it (`nan`, `inf`, `-inf` for the non-finite).
pub fn float_repr(v: f64) -> String {
    let mut out = String::new();
    push_float_repr(&mut out, v);
    out
}

/// [`float_repr`] appended to `out`.
pub fn push_float_repr(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("nan");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
    } else {
        push_finite(out, v);
    }
}

/// What `json.dumps` writes for a float: `repr`, except `NaN`, `Infinity`, `-Infinity`.
pub fn push_json_float(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else {
        push_finite(out, v);
    }
}

fn push_finite(out: &mut String, v: f64) {
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    if v.is_sign_negative() {
        out.push('-');
    }
    let mut buf = ryu::Buffer::new();
    let (digits, point) = shortest_digits(buf.format_finite(v.abs()));
    let exp = point - 1;
    if (-4..16).contains(&exp) {
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', point.unsigned_abs() as usize));
            out.push_str(&digits);
        } else if point as usize >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let e = exp.unsigned_abs();
        if e < 10 {
            out.push('0');
        }
        out.push_str(&e.to_string());
    }
}

/// The significant digits of a positive `ryu` rendering (`"1.2345e17"`, `"0.0001"`,
/// `"100.0"`) without leading or trailing zeros, and the position of the decimal point
/// relative to their start (`value = 0.DIGITS × 10^point`).
fn shortest_digits(text: &str) -> (String, i32) {
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = int.chars().chain(frac.chars()).collect();
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0').to_owned();
    let point = int.len() as i32 - leading as i32 + exp;
    (digits, point)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts were printed by CPython 3.11's `repr`.
    #[test]
    fn float_repr_matches_python() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (10.0, "10.0"),
            (10.52, "10.52"),
            (9.999, "9.999"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1.5e-7, "1.5e-07"),
            (2.675, "2.675"),
            (1e22, "1e+22"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (100.125, "100.125"),
            (1234567.891, "1234567.891"),
            (0.30000000000000004, "0.30000000000000004"),
            (-12.5, "-12.5"),
            (f64::from_bits(0x41d2_6580_b480_4000), "1234567890.0039062"),
            (f64::from_bits(0x430c_6bf5_2634_0002), "1000000000000000.2"),
            (9999999999999998.0, "9999999999999998.0"),
            (1e100, "1e+100"),
            (-1.5e-300, "-1.5e-300"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(*v), *want, "{v:?} (bits {:#x})", v.to_bits());
        }
        assert_eq!(float_repr(f64::NAN), "nan");
        let mut json = String::new();
        push_json_float(&mut json, f64::NEG_INFINITY);
        assert_eq!(json, "-Infinity");
    }

    proptest::proptest! {
        #[test]
        fn float_repr_round_trips(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let text = float_repr(v);
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap(), v);
        }
    }
}
