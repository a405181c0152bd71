//! JSON as Python's `json` module reads and writes it, as an ordered document.
//!
//! The position files are rewritten by us and read back by the Python program, and a value we
//! did not touch must come back exactly as Python would write it. So numbers keep the text
//! they were read with and are rendered by Python's rules, not through an `f64`:
//! - an integer literal is a Python `int` of any size (`18446744073709551616` stays; `-0` is
//!   the int 0 and is written `0`);
//! - any other number is a Python `float`, read correctly rounded (`10.520000000000001`
//!   stays itself, `999999999999999.9` is not 1e15) and written as `repr` writes it;
//! - `NaN`, `Infinity`, `-Infinity` are read as Python reads them.
//!
//! Objects keep their key order; a duplicated key keeps its first position and its last
//! value, as `dict(pairs)` does. Each member remembers its line, so an error about an entry
//! can name it. [`dumps`] is `json.dumps(value, indent=4)` (ASCII escapes, `", "`/`": "`).

use std::fmt::Write as _;

use super::pyfloat;

/// A JSON value.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    /// `null` (Python `None`).
    Null,
    /// `true`/`false`.
    Bool(bool),
    /// A number, as its text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object, in key order.
    Object(Object),
}

/// A number as JSON text (as read, or as rendered for a value we set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number(String);

/// What Python makes of a number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberValue<'a> {
    /// An `int`: the literal's digits, optionally signed.
    Int(&'a str),
    /// A `float`.
    Float(f64),
}

impl Number {
    /// An integer.
    pub fn int(v: u64) -> Number {
        Number(v.to_string())
    }

    /// A float, spelt as `repr` spells it (`10.0`, `1e-05`, `Infinity` for overflow).
    pub fn float(v: f64) -> Number {
        let mut s = String::new();
        pyfloat::push_json_float(&mut s, v);
        Number(s)
    }

    /// The value as Python holds it.
    pub fn value(&self) -> NumberValue<'_> {
        let t = self.0.as_str();
        match t {
            "NaN" => NumberValue::Float(f64::NAN),
            "Infinity" => NumberValue::Float(f64::INFINITY),
            "-Infinity" => NumberValue::Float(f64::NEG_INFINITY),
            _ if t.contains(['.', 'e', 'E']) => NumberValue::Float(t.parse().unwrap_or(f64::NAN)),
            _ => NumberValue::Int(t),
        }
    }

    /// The value as a float (an int converted as Python's `float()` does).
    pub fn as_f64(&self) -> f64 {
        match self.value() {
            NumberValue::Float(f) => f,
            NumberValue::Int(i) => i.parse().unwrap_or(f64::NAN),
        }
    }

    /// The value as a `u64`, if it is an int in range.
    pub fn as_u64(&self) -> Option<u64> {
        match self.value() {
            NumberValue::Int(i) => i.parse().ok(),
            NumberValue::Float(_) => None,
        }
    }

    /// The text as read or set.
    pub fn text(&self) -> &str {
        &self.0
    }

    /// What `json.dumps` writes for this value.
    fn push_python(&self, out: &mut String) {
        match self.value() {
            NumberValue::Int(i) => {
                let digits = i.trim_start_matches('-');
                if i.starts_with('-') && digits.bytes().any(|b| b != b'0') {
                    out.push('-');
                }
                out.push_str(digits);
            }
            NumberValue::Float(f) => pyfloat::push_json_float(out, f),
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object member.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    /// The key.
    pub key: String,
    /// The value.
    pub value: Json,
    /// 1-based line of the key in the source (0 for members set since).
    pub line: u64,
}

/// An object in key order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object {
    members: Vec<Member>,
}

impl Object {
    /// An empty object.
    pub fn new() -> Object {
        Object::default()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.member(key).map(|m| &m.value)
    }

    /// The member of `key`.
    pub fn member(&self, key: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.key == key)
    }

    /// Sets `key`: in place if it exists (as a Python dict does), else appended. Returns
    /// whether anything changed.
    pub fn insert(&mut self, key: String, value: Json) -> bool {
        match self.members.iter_mut().find(|m| m.key == key) {
            Some(m) if m.value == value => false,
            Some(m) => {
                m.value = value;
                true
            }
            None => {
                self.members.push(Member { key, value, line: 0 });
                true
            }
        }
    }

    /// Removes `key`, keeping the order of the rest; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Json> {
        let i = self.members.iter().position(|m| m.key == key)?;
        Some(self.members.remove(i).value)
    }

    /// The members in order.
    pub fn iter(&self) -> impl Iterator<Item = &Member> {
        self.members.iter()
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// A syntax error: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based line.
    pub line: u64,
    /// 1-based column (in characters).
    pub column: u64,
    /// What was expected.
    pub reason: String,
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at line {} column {}", self.reason, self.line, self.column)
    }
}

/// Parses a document as `json.loads` does (see the module doc). Lone surrogates, which
/// Python keeps but Rust strings cannot hold, and nesting deeper than 128 levels are errors.
pub fn parse(text: &str) -> Result<Json, SyntaxError> {
    let mut p = Parser { text: text.as_bytes(), pos: 0, line: 1, line_start: 0, src: text };
    p.skip_ws();
    let v = p.value(0)?;
    p.skip_ws();
    if p.pos < p.text.len() {
        return Err(p.error("extra data after the document"));
    }
    Ok(v)
}

/// Deep enough for any real file, shallow enough that hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    text: &'a [u8],
    src: &'a str,
    pos: usize,
    line: u64,
    line_start: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &str) -> SyntaxError {
        let column = self.src.get(self.line_start..self.pos).map_or(1, |s| s.chars().count() as u64 + 1);
        SyntaxError { line: self.line, column, reason: reason.to_owned() }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b) = self.peek() {
            match b {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.line_start = self.pos;
                }
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => break,
            }
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.text[self.pos..].starts_with(lit.as_bytes()) {
            self.pos += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Json::String),
            Some(b'n') if self.eat("null") => Ok(Json::Null),
            Some(b't') if self.eat("true") => Ok(Json::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(Json::Bool(false)),
            Some(b'N') if self.eat("NaN") => Ok(Json::Number(Number("NaN".into()))),
            Some(b'I') if self.eat("Infinity") => Ok(Json::Number(Number("Infinity".into()))),
            Some(b'-') if self.eat("-Infinity") => Ok(Json::Number(Number("-Infinity".into()))),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.error("expecting a value")),
        }
    }

    fn number(&mut self) -> Result<Json, SyntaxError> {
        let start = self.pos;
        let digits = |p: &mut Self| {
            let s = p.pos;
            while p.peek().is_some_and(|b| b.is_ascii_digit()) {
                p.pos += 1;
            }
            p.pos > s
        };
        self.eat("-");
        if self.eat("0") {
        } else if !digits(self) {
            return Err(self.error("expecting a value"));
        }
        // Python's NUMBER_RE: a fraction or exponent only counts when digits follow.
        let save = self.pos;
        if self.eat(".") && !digits(self) {
            self.pos = save;
        }
        let save = self.pos;
        if self.peek().is_some_and(|b| b == b'e' || b == b'E') {
            self.pos += 1;
            if !self.eat("+") {
                self.eat("-");
            }
            if !digits(self) {
                self.pos = save;
            }
        }
        Ok(Json::Number(Number(self.src[start..self.pos].to_owned())))
    }

    fn string(&mut self) -> Result<String, SyntaxError> {
        self.pos += 1; // the opening quote
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\' && b >= 0x20) {
                self.pos += 1;
            }
            out.push_str(&self.src[start..self.pos]);
            match self.peek() {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.peek() {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return Err(self.error("invalid \\escape")),
                    };
                    self.pos += 1;
                    out.push(c);
                }
                Some(_) => return Err(self.error("invalid control character in a string")),
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let hex = self.src.get(self.pos..self.pos + 4).filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        let v = hex
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.error("invalid \\uXXXX escape"))?;
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, SyntaxError> {
        let hi = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) && self.text[self.pos..].starts_with(b"\\u") {
            let save = self.pos;
            self.pos += 2;
            let lo = self.hex4()?;
            if (0xDC00..0xE000).contains(&lo) {
                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
            } else {
                self.pos = save;
                hi
            }
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.error("a lone surrogate escape cannot be kept"))
    }

    fn array(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.eat("]") {
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            if self.eat("]") {
                return Ok(Json::Array(items));
            }
            if !self.eat(",") {
                return Err(self.error("expecting ',' delimiter"));
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, SyntaxError> {
        self.pos += 1;
        let mut obj = Object::new();
        self.skip_ws();
        if self.eat("}") {
            return Ok(Json::Object(obj));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.error("expecting a property name in double quotes"));
            }
            let line = self.line;
            let key = self.string()?;
            self.skip_ws();
            if !self.eat(":") {
                return Err(self.error("expecting ':' delimiter"));
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            match obj.members.iter_mut().find(|m| m.key == key) {
                // dict(pairs): the first position, the last value.
                Some(m) => m.value = value,
                None => obj.members.push(Member { key, value, line }),
            }
            self.skip_ws();
            if self.eat("}") {
                return Ok(Json::Object(obj));
            }
            if !self.eat(",") {
                return Err(self.error("expecting ',' delimiter"));
            }
        }
    }
}

/// `json.dumps(value, indent=4)`: ensure_ascii on, `", "`/`": "` separators, no trailing
/// newline, `\n` line breaks (the caller converts for files that use `\r\n`).
pub fn dumps(value: &Json) -> String {
    let mut out = String::new();
    write_value(&mut out, value, 0);
    out
}

fn write_value(out: &mut String, v: &Json, depth: usize) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => n.push_python(out),
        Json::String(s) => write_str(out, s),
        Json::Array(items) => {
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
        Json::Object(obj) => {
            if obj.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, m) in obj.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline_indent(out, depth + 1);
                write_str(out, &m.key);
                out.push_str(": ");
                write_value(out, &m.value, depth + 1);
            }
            newline_indent(out, depth);
            out.push('}');
        }
    }
}

fn newline_indent(out: &mut String, depth: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', depth * 4));
}

/// A string as `json.dumps` writes it with `ensure_ascii=True`.
pub fn write_str(out: &mut String, s: &str) {
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

    /// Expected texts were printed by CPython 3.11: `json.dumps(json.loads(src), indent=4)`.
    #[test]
    fn loads_then_dumps_like_python() {
        let cases: &[(&str, &str)] = &[
            (
                "[-0, -0.0, 18446744073709551616, 1E400, 1.0e5]",
                "[\n    0,\n    -0.0,\n    18446744073709551616,\n    Infinity,\n    100000.0\n]",
            ),
            (
                "[10.520000000000001, 999999999999999.9, 1e22, -1e-7]",
                "[\n    10.520000000000001,\n    999999999999999.9,\n    1e+22,\n    -1e-07\n]",
            ),
            (
                "[NaN, -Infinity, 0.1, 100, -12]",
                "[\n    NaN,\n    -Infinity,\n    0.1,\n    100,\n    -12\n]",
            ),
            ("{\"b\": 1, \"a\": 2, \"b\": 3}", "{\n    \"b\": 3,\n    \"a\": 2\n}"),
            (
                "{\"k\": \"\\ud83d\\ude00\\u00e9\\/\\u007f\"}",
                "{\n    \"k\": \"\\ud83d\\ude00\\u00e9/\\u007f\"\n}",
            ),
            (" {} ", "{}"),
        ];
        for (src, want) in cases {
            assert_eq!(dumps(&parse(src).unwrap()), *want, "{src}");
        }
    }

    #[test]
    fn json_dumps_matches_python() {
        let v = parse(
            r#"{"_inc_date":"2024-10-10","000001.SZ":0,"000002.SZ":{"day_count":3,"名称":"平安银行","x":[1,2.5,null,true],"e":{}},"131810.SZ":{"day_count":null},"q":"a\"b\\c\n\t\u0001\u007f😀"}"#,
        )
        .unwrap();
        let want = "{\n    \"_inc_date\": \"2024-10-10\",\n    \"000001.SZ\": 0,\n    \"000002.SZ\": {\n        \"day_count\": 3,\n        \"\\u540d\\u79f0\": \"\\u5e73\\u5b89\\u94f6\\u884c\",\n        \"x\": [\n            1,\n            2.5,\n            null,\n            true\n        ],\n        \"e\": {}\n    },\n    \"131810.SZ\": {\n        \"day_count\": null\n    },\n    \"q\": \"a\\\"b\\\\c\\n\\t\\u0001\\u007f\\ud83d\\ude00\"\n}";
        assert_eq!(dumps(&v), want);
    }

    #[test]
    fn numbers_keep_what_python_reads() {
        let Json::Array(items) = parse("[10.520000000000001, 999999999999999.9, 7, 1e3]").unwrap() else {
            panic!()
        };
        let n = |i: usize| match &items[i] {
            Json::Number(n) => n.clone(),
            other => panic!("{other:?}"),
        };
        assert_eq!(n(0).as_f64().to_bits(), 10.520000000000001f64.to_bits());
        assert_ne!(n(0).as_f64(), 10.52);
        assert_eq!(n(1).as_f64(), 999999999999999.9);
        assert_eq!((n(2).as_u64(), n(3).as_u64()), (Some(7), None));
        assert_eq!(n(3).as_f64(), 1000.0);
    }

    #[test]
    fn errors_name_line_and_column() {
        for (src, line, reason) in [
            ("{\n    \"a\": 1,\n    \"b\": \n}", 4, "expecting a value"),
            ("{\"a\": 01}", 1, "expecting ',' delimiter"),
            ("{\"a\": 1}\n x", 2, "extra data"),
            ("{\"a\" 1}", 1, "expecting ':'"),
            ("{'a': 1}", 1, "property name"),
            ("[\"\\ud800\"]", 1, "lone surrogate"),
            ("[\"a\tb\"]", 1, "control character"),
            ("[1.]", 1, "expecting ',' delimiter"),
            ("", 1, "expecting a value"),
        ] {
            let e = parse(src).unwrap_err();
            assert_eq!(e.line, line, "{src:?}: {e}");
            assert!(e.reason.contains(reason), "{src:?}: {e}");
        }
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).unwrap_err().reason.contains("nested too deeply"));
    }

    #[test]
    fn members_remember_their_lines() {
        let Json::Object(o) = parse("{\n    \"a\": 1,\n\n    \"b\": {\"c\": 2}\n}").unwrap() else {
            panic!()
        };
        let lines: Vec<(&str, u64)> = o.iter().map(|m| (m.key.as_str(), m.line)).collect();
        assert_eq!(lines, [("a", 2), ("b", 4)]);
    }
}
