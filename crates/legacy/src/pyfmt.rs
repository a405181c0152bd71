//! How the Python program spells values: `repr(float)`, `csv.writer` quoting, and
//! `json.dumps(obj, indent=4)` with ASCII escapes. Reproducing these exactly is what lets a
//! file we write be read by the Python program, and a file it wrote be rewritten unchanged.

use std::fmt::Write as _;

use serde_json::Value;

/// Python's `repr(float)`: the shortest text that reads back as the same float, in fixed
/// notation with at least one decimal (`10.0`) when the decimal exponent is in -4..16,
/// otherwise scientific with a signed, at-least-two-digit exponent (`1e-05`, `1e+16`).
pub fn float_repr(v: f64) -> String {
    let mut out = String::new();
    push_float_repr(&mut out, v);
    out
}

/// [`float_repr`] appended to `out`.
pub fn push_float_repr(out: &mut String, v: f64) {
    if v.is_nan() {
        out.push_str("nan");
        return;
    }
    if v.is_infinite() {
        out.push_str(if v > 0.0 { "inf" } else { "-inf" });
        return;
    }
    if v == 0.0 {
        out.push_str(if v.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    // Rust's `{:e}` is the shortest round-trip digits in scientific form: "1.052e1".
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let start = out.len();
        // Rust's `{}` prints the same shortest digits in fixed notation.
        let _ = write!(out, "{v}");
        if !out[start..].contains('.') {
            out.push_str(".0");
        }
    } else {
        out.push_str(mantissa);
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    }
}

/// Appends one field the way `csv.writer` (QUOTE_MINIMAL, doublequote) writes it.
pub fn push_csv_field(out: &mut String, field: &str) {
    if field.contains([',', '"', '\r', '\n']) {
        out.push('"');
        for c in field.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(field);
    }
}

/// Appends a row of fields joined by commas, without a line terminator.
pub fn push_csv_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_csv_field(out, f);
    }
}

/// `json.dumps(value, indent=4)` (ensure_ascii on, `", "`/`": "` separators, no trailing
/// newline), with `\n` line breaks; the caller converts to CRLF for files that use it.
pub fn json_dumps(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                let _ = write!(out, "{i}");
            } else if let Some(u) = n.as_u64() {
                let _ = write!(out, "{u}");
            } else {
                push_float_repr(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_value(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_str(out, k);
                out.push_str(": ");
                write_value(out, item, depth + 1);
            }
            newline_indent(out, depth);
            out.push('}');
        }
    }
}

fn newline_indent(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth * 4 {
        out.push(' ');
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected texts below were printed by CPython 3.11's own `repr`, `json.dumps` and
    /// `csv.writer`.
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
            (3.14158, "3.14158"),
            (1234567.891, "1234567.891"),
            (0.30000000000000004, "0.30000000000000004"),
            (-12.5, "-12.5"),
        ];
        for (v, want) in cases {
            assert_eq!(float_repr(*v), *want, "{v:?}");
        }
    }

    #[test]
    fn json_dumps_matches_python() {
        let v: Value = serde_json::from_str(
            r#"{"_inc_date":"2024-10-10","000001.SZ":0,"000002.SZ":{"day_count":3,"名称":"平安银行","x":[1,2.5,null,true],"e":{}},"131810.SZ":{"day_count":null},"q":"a\"b\\c\n\t\u0001\u007f😀"}"#,
        )
        .unwrap();
        let want = "{\n    \"_inc_date\": \"2024-10-10\",\n    \"000001.SZ\": 0,\n    \"000002.SZ\": {\n        \"day_count\": 3,\n        \"\\u540d\\u79f0\": \"\\u5e73\\u5b89\\u94f6\\u884c\",\n        \"x\": [\n            1,\n            2.5,\n            null,\n            true\n        ],\n        \"e\": {}\n    },\n    \"131810.SZ\": {\n        \"day_count\": null\n    },\n    \"q\": \"a\\\"b\\\\c\\n\\t\\u0001\\u007f\\ud83d\\ude00\"\n}";
        assert_eq!(json_dumps(&v), want);
        assert_eq!(json_dumps(&serde_json::json!({})), "{}");
        assert_eq!(json_dumps(&serde_json::json!({"a": []})), "{\n    \"a\": []\n}");
    }

    #[test]
    fn csv_rows_match_python() {
        let mut out = String::new();
        push_csv_row(
            &mut out,
            [
                "2024-10-10",
                "09:31:05",
                "000001.SZ",
                "平安银行",
                "买入委托",
                "开仓,止损 \"A\"",
                "10.52",
                "1000",
            ],
        );
        out.push_str("\r\n");
        push_csv_row(&mut out, ["a", "", " b", "c\nd", "e\rf", "#x"]);
        out.push_str("\r\n");
        assert_eq!(
            out,
            "2024-10-10,09:31:05,000001.SZ,平安银行,买入委托,\"开仓,止损 \"\"A\"\"\",10.52,1000\r\na,, b,\"c\nd\",\"e\rf\",#x\r\n"
        );
    }

    proptest::proptest! {
        #[test]
        fn float_repr_round_trips(v in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
            let text = float_repr(v);
            proptest::prop_assert_eq!(text.parse::<f64>().unwrap(), v);
        }
    }
}
