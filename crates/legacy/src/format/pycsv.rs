//! CSV as Python's `csv` module writes and reads it (the `excel` dialect).
//!
//! Writing: `csv.writer` quotes a field only when it holds a comma, a quote or a line break,
//! and doubles the quotes inside (`QUOTE_MINIMAL`).
//!
//! Reading: [`RecordReader`] splits a byte stream into records the way `csv.reader` does on a
//! file opened with `newline=''` — quoted fields may hold commas, quotes and line breaks; a
//! record ends at `\r\n`, `\n` or a lone `\r`; a quote inside an unquoted field is kept as
//! text; blank lines are skipped — and says for each record the line it starts on (counting
//! the lines of blank lines and of line breaks inside quotes) and how it was terminated. It
//! works on bytes, so it serves GBK text too (GBK trail bytes are never `,`, `"`, `\r`, `\n`).

use std::io::{self, BufRead};

use super::encoding::Eol;

/// Appends one field the way `csv.writer` (QUOTE_MINIMAL, doublequote) writes it.
pub fn push_field(out: &mut String, field: &str) {
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
pub fn push_row<'a>(out: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, f);
    }
}

/// One record: its fields' raw bytes, where it starts and how it ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// 1-based line of the record's first byte.
    pub line: u64,
    /// Byte offset of the record's first byte in the stream.
    pub offset: u64,
    /// The bytes of all fields, concatenated (see [`Record::field`]).
    bytes: Vec<u8>,
    /// End of each field in `bytes`.
    ends: Vec<usize>,
    /// The terminator, or `None` if the stream ended first (a record being written, or cut).
    pub terminator: Option<Eol>,
}

impl Record {
    /// Number of fields.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether the record has no fields.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The raw bytes of field `i`.
    pub fn field(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }

    /// Every field's raw bytes.
    pub fn fields(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|i| self.field(i))
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.terminator = None;
    }

    fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// Reads records from a byte stream (see the module doc). Memory is bounded by the longest
/// record.
#[derive(Debug)]
pub struct RecordReader<R> {
    inner: R,
    /// Offset of the next unread byte.
    offset: u64,
    /// Line of the next unread byte.
    line: u64,
    /// The previous byte was a `\r` that ended a line; a `\n` right after belongs to it.
    after_cr: bool,
}

impl<R: BufRead> RecordReader<R> {
    /// Reads from `inner`, whose first byte is on line `first_line` at offset `offset`.
    pub fn new(inner: R, first_line: u64, offset: u64) -> Self {
        RecordReader { inner, offset, line: first_line, after_cr: false }
    }

    /// The offset of the next unread byte.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The line of the next unread byte.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next record into `rec`; `Ok(false)` at the end of the stream.
    pub fn read(&mut self, rec: &mut Record) -> io::Result<bool> {
        rec.clear();
        // Skip blank lines (and the `\n` of a `\r\n` split across calls).
        loop {
            let buf = self.inner.fill_buf()?;
            let Some(&b) = buf.first() else { return Ok(false) };
            match b {
                b'\n' => {
                    if !self.after_cr {
                        self.line += 1;
                    }
                    self.after_cr = false;
                }
                b'\r' => {
                    self.line += 1;
                    self.after_cr = true;
                }
                _ => break,
            }
            self.inner.consume(1);
            self.offset += 1;
        }
        self.after_cr = false;
        rec.line = self.line;
        rec.offset = self.offset;
        let mut state = State::StartField;
        // Whether the byte before was a `\r`: a `\n` right after it ends no further line.
        let mut prev_cr = false;
        loop {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                // The stream ended inside the record: no terminator.
                if state != State::StartField || !rec.bytes.is_empty() || !rec.ends.is_empty() {
                    rec.end_field();
                }
                return Ok(true);
            }
            let mut used = 0;
            let mut done = false;
            for &b in buf {
                used += 1;
                let crlf = prev_cr && b == b'\n';
                prev_cr = b == b'\r';
                match (state, b) {
                    (State::InQuoted, b'"') => state = State::QuoteInQuoted,
                    (State::InQuoted, _) => {
                        // A line break inside quotes still starts a new line of the file.
                        if b == b'\r' || (b == b'\n' && !crlf) {
                            self.line += 1;
                        }
                        rec.bytes.push(b);
                    }
                    (State::QuoteInQuoted, b'"') => {
                        rec.bytes.push(b'"');
                        state = State::InQuoted;
                    }
                    (State::StartField, b'"') => state = State::InQuoted,
                    (_, b',') => {
                        rec.end_field();
                        state = State::StartField;
                    }
                    (_, b'\n') => {
                        rec.end_field();
                        rec.terminator = Some(Eol::Lf);
                        self.line += 1;
                        done = true;
                        break;
                    }
                    (_, b'\r') => {
                        rec.end_field();
                        rec.terminator = Some(Eol::Cr);
                        self.line += 1;
                        done = true;
                        break;
                    }
                    // Python keeps a quote inside an unquoted field, and text after a closing
                    // quote, as text.
                    (_, _) => {
                        rec.bytes.push(b);
                        state = State::InField;
                    }
                }
            }
            self.inner.consume(used);
            self.offset += used as u64;
            if done {
                if rec.terminator == Some(Eol::Cr) {
                    // A `\r\n` is one terminator.
                    let next = self.inner.fill_buf()?;
                    if next.first() == Some(&b'\n') {
                        self.inner.consume(1);
                        self.offset += 1;
                        rec.terminator = Some(Eol::Crlf);
                    }
                }
                return Ok(true);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(text: &[u8]) -> Vec<(u64, Vec<String>, Option<Eol>)> {
        let mut r = RecordReader::new(text, 1, 0);
        let mut rec = Record::default();
        let mut out = Vec::new();
        while r.read(&mut rec).unwrap() {
            let fields = rec.fields().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
            out.push((rec.line, fields, rec.terminator));
        }
        out
    }

    fn v(fields: &[&str]) -> Vec<String> {
        fields.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Expected records are what CPython 3.11's `csv.reader(open(f, newline=''))` returns.
    #[test]
    fn reads_like_python() {
        let got =
            records(b"a,b\n\r\n\"x,\"\"y\"\"\",\"line1\r\nline2\"\r\nz\"q,c\"d\"e,\r\rlast,\n\"ab\"c,d\n");
        assert_eq!(
            got,
            vec![
                (1, v(&["a", "b"]), Some(Eol::Lf)),
                (3, v(&["x,\"y\"", "line1\r\nline2"]), Some(Eol::Crlf)),
                (5, v(&["z\"q", "c\"d\"e", ""]), Some(Eol::Cr)),
                (7, v(&["last", ""]), Some(Eol::Lf)),
                (8, v(&["abc", "d"]), Some(Eol::Lf)),
            ]
        );
    }

    #[test]
    fn line_breaks_inside_quotes_are_counted_as_the_file_has_them() {
        // Field 1 ends with a CR inside its quotes, field 2 starts with an LF inside its own:
        // with `","` between them they are two line breaks, not one CRLF.
        let got = records(b"\"a\r\",\"\nb\"\r\nnext\r\n");
        assert_eq!(got[0].0, 1);
        assert_eq!(got[1], (4, v(&["next"]), Some(Eol::Crlf)));
        // A CRLF inside quotes is one line break.
        let got = records(b"\"a\r\nb\"\r\nnext\r\n");
        assert_eq!(got[1], (3, v(&["next"]), Some(Eol::Crlf)));
    }

    #[test]
    fn a_record_without_terminator_says_so() {
        let got = records(b"h\r\n1,2,10");
        assert_eq!(got[1], (2, v(&["1", "2", "10"]), None));
        let got = records(b"h\n\"open quote,");
        assert_eq!(got[1], (2, v(&["open quote,"]), None));
        assert_eq!(records(b"\r\n\n"), vec![]);
    }

    #[test]
    fn csv_rows_match_python() {
        let mut out = String::new();
        push_row(&mut out, ["2024-10-10", "平安银行", "开仓,止损 \"A\"", "10.52"]);
        out.push_str("\r\n");
        push_row(&mut out, ["a", "", " b", "c\nd", "e\rf", "#x"]);
        assert_eq!(out, "2024-10-10,平安银行,\"开仓,止损 \"\"A\"\"\",10.52\r\na,, b,\"c\nd\",\"e\rf\",#x");
    }
}
