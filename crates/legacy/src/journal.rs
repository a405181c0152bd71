//! The order/fill journal, `deal_hist.csv`.
//!
//! Rows are read straight off the bytes with the `csv` crate (quoted fields with commas,
//! quotes and line breaks; CRLF, LF and mixed endings) and each field is decoded in the file's
//! encoding, so a GBK journal streams in constant memory. Appends reproduce what the Python
//! program writes: `csv.writer` quoting, the file's own encoding and row terminator.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use tierstore_model::{AccountId, OrderKind, Price, StockCode, StoreError, Trade, TradeDate, Volume};

use crate::encoding::{BOM, Encoding, Eol};
use crate::fsio;
use crate::pyfmt;

/// The journal's file name.
pub const DEALS: &str = "deal_hist.csv";

/// The header the Python program writes: date, time, code, name, type, remark, price, volume.
pub const HEADER: [&str; 8] = ["日期", "时间", "代码", "名称", "类型", "注释", "成交价", "成交量"];

/// How much of the start of a journal is read to detect its encoding.
const SNIFF: usize = 64 * 1024;

/// How an existing journal is spelt; appends follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLayout {
    /// Encoding of the text.
    pub encoding: Encoding,
    /// Terminator of the header line.
    pub header_eol: Eol,
    /// Terminator of data rows (of the last line; CRLF, `csv.writer`'s, if there are none).
    pub row_eol: Eol,
    /// Whether the file ends with a line terminator (a hand-edited file may not).
    pub terminated: bool,
}

/// Reads a journal's layout from its start and end without reading the whole file.
pub fn layout(path: &Path) -> Result<Option<JournalLayout>, StoreError> {
    let mut f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fsio::io_error(path, "cannot read", &e)),
    };
    let io = |e: std::io::Error| fsio::io_error(path, "cannot read", &e);
    let mut head = Vec::with_capacity(SNIFF);
    f.by_ref().take(SNIFF as u64).read_to_end(&mut head).map_err(io)?;
    let encoding = Encoding::detect_prefix(&head)
        .ok_or_else(|| StoreError::corrupt(path, Some(1), "neither UTF-8 nor GBK text"))?;
    let len = f.seek(SeekFrom::End(0)).map_err(io)?;
    let tail_len = len.min(SNIFF as u64);
    f.seek(SeekFrom::End(-(tail_len as i64))).map_err(io)?;
    let mut tail = Vec::with_capacity(tail_len as usize);
    f.take(tail_len).read_to_end(&mut tail).map_err(io)?;
    let body = head.strip_prefix(BOM).unwrap_or(&head);
    let header_eol = Eol::of_first_line(body).unwrap_or(Eol::Lf);
    let header_end =
        body.iter().position(|b| *b == b'\n').map(|i| i as u64 + (head.len() - body.len()) as u64);
    // The terminator of the last row that has one; if no row has one yet, csv.writer's CRLF.
    let last_nl = tail.iter().rposition(|b| *b == b'\n');
    let last_nl_offset = last_nl.map(|i| len - tail_len + i as u64);
    let row_eol = match (last_nl, last_nl_offset) {
        (Some(i), Some(off)) if Some(off) != header_end => {
            if i > 0 && tail[i - 1] == b'\r' {
                Eol::Crlf
            } else {
                Eol::Lf
            }
        }
        _ => Eol::Crlf,
    };
    Ok(Some(JournalLayout { encoding, header_eol, row_eol, terminated: Eol::at_end(&tail).is_some() }))
}

/// Counts lines under the CSV reader: records the offset of every `\n` it passes, so the
/// line of a record can be told from its byte offset, quoted line breaks and blank lines
/// included, in memory bounded by the reader's buffer.
struct LineCounting<R> {
    inner: R,
    offset: u64,
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut nl = self.newlines.borrow_mut();
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' {
                nl.push_back(self.offset + i as u64);
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// Streams the trades of one account's journal in file order.
pub struct JournalReader {
    path: PathBuf,
    account: AccountId,
    tz: chrono_tz::Tz,
    encoding: Encoding,
    csv: csv::Reader<LineCounting<BufReader<File>>>,
    record: csv::ByteRecord,
    header_checked: bool,
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
    lines_before: u64,
    /// The record read ahead of the one being returned.
    ahead: Option<(u64, Result<csv::ByteRecord, StoreError>)>,
    /// Whether the file ends with a line terminator.
    terminated: bool,
}

impl JournalReader {
    /// Opens `path`; `Ok(None)` if there is no journal.
    pub fn open(path: &Path, account: AccountId, tz: chrono_tz::Tz) -> Result<Option<Self>, StoreError> {
        let Some(layout) = layout(path)? else { return Ok(None) };
        let mut file = File::open(path).map_err(|e| fsio::io_error(path, "cannot read", &e))?;
        if layout.encoding == Encoding::Utf8Bom {
            file.seek(SeekFrom::Start(BOM.len() as u64))
                .map_err(|e| fsio::io_error(path, "cannot read", &e))?;
        }
        let newlines = std::rc::Rc::default();
        let counting =
            LineCounting { inner: BufReader::new(file), offset: 0, newlines: std::rc::Rc::clone(&newlines) };
        let csv = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(counting);
        Ok(Some(JournalReader {
            path: path.to_path_buf(),
            account,
            tz,
            encoding: layout.encoding,
            csv,
            record: csv::ByteRecord::new(),
            header_checked: false,
            newlines,
            lines_before: 0,
            ahead: None,
            terminated: layout.terminated,
        }))
    }

    /// The detected encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The next row: `Some(Ok(trade))`, `Some(Err(e))` for a row that cannot be read (the
    /// error names file and line; reading may go on with the next row), `None` at the end.
    /// A bad header is returned as an error once, and ends the stream.
    pub fn next_row(&mut self) -> Option<(u64, Result<Trade, StoreError>)> {
        loop {
            let (line, read) = match self.ahead.take() {
                Some(r) => r,
                None => self.read_record()?,
            };
            // One record of look-ahead tells whether this is the last one.
            self.ahead = self.read_record();
            let record = match read {
                Ok(r) => r,
                Err(e) => {
                    // The csv reader cannot resynchronise after an I/O error.
                    self.ahead = None;
                    return Some((line, Err(e)));
                }
            };
            if self.ahead.is_none() && !self.terminated {
                // csv.writer ends every row with a terminator: a row without one is being
                // written right now or was cut off, and must not be taken for a whole row.
                return Some((
                    line,
                    Err(StoreError::corrupt(
                        &self.path,
                        Some(line),
                        "last line has no line terminator (truncated?)",
                    )),
                ));
            }
            if !self.header_checked {
                self.header_checked = true;
                let fields: Vec<String> = record
                    .iter()
                    .map(|f| self.encoding.decode(f).map(|c| c.into_owned()).unwrap_or_default())
                    .collect();
                if fields != HEADER {
                    let got = fields.join(",");
                    let err = StoreError::corrupt(
                        &self.path,
                        Some(line),
                        format!("header is {got:?}, expected {:?}", HEADER.join(",")),
                    );
                    // Nothing after a wrong header can be trusted to mean what we think.
                    self.ahead = None;
                    while self.csv.read_byte_record(&mut self.record).unwrap_or(false) {}
                    return Some((line, Err(err)));
                }
                continue;
            }
            if record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty) {
                continue; // a blank line
            }
            return Some((line, self.parse_row(&record, line)));
        }
    }

    /// The next raw record and its line; `None` at the end.
    fn read_record(&mut self) -> Option<(u64, Result<csv::ByteRecord, StoreError>)> {
        let read = self.csv.read_byte_record(&mut self.record);
        let line = self.line_at(self.record.position().map(|p| p.byte()).unwrap_or(0));
        match read {
            Ok(false) => None,
            Ok(true) => Some((line, Ok(self.record.clone()))),
            Err(e) => {
                let line = e.position().map(|p| self.line_at(p.byte())).unwrap_or(line);
                Some((line, Err(StoreError::corrupt(&self.path, Some(line), e.to_string()))))
            }
        }
    }

    /// The 1-based line of byte `offset` (offsets only grow, so passed newlines are dropped).
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut nl = self.newlines.borrow_mut();
        // `<=`: after a CRLF the csv reader may place the next record at the `\n`.
        while nl.front().is_some_and(|o| *o <= offset) {
            nl.pop_front();
            self.lines_before += 1;
        }
        self.lines_before + 1
    }

    fn parse_row(&self, record: &csv::ByteRecord, line: u64) -> Result<Trade, StoreError> {
        let at = |e: StoreError| e.at(&self.path, line);
        if record.len() != HEADER.len() {
            return Err(StoreError::corrupt(
                &self.path,
                Some(line),
                format!("{} fields, expected {} ({})", record.len(), HEADER.len(), HEADER.join(",")),
            ));
        }
        let mut f: Vec<String> = Vec::with_capacity(HEADER.len());
        for (i, raw) in record.iter().enumerate() {
            let text = self.encoding.decode(raw).ok_or_else(|| {
                StoreError::corrupt(
                    &self.path,
                    Some(line),
                    format!("field {} is not valid {} text", HEADER[i], self.encoding),
                )
            })?;
            f.push(text.into_owned());
        }
        let date = TradeDate::parse(&f[0]).map_err(|e| at(e.in_field(HEADER[0])))?;
        let time = NaiveTime::parse_from_str(&f[1], "%H:%M:%S")
            .map_err(|_| at(StoreError::invalid(HEADER[1], &f[1], "expected HH:MM:SS")))?;
        let local = date.naive().and_time(time);
        let instant = self.tz.from_local_datetime(&local).single().ok_or_else(|| {
            at(StoreError::invalid(HEADER[1], &f[1], format!("{local} does not exist once in {}", self.tz)))
        })?;
        let code = StockCode::parse(&f[2]).map_err(|e| at(e.in_field(HEADER[2])))?;
        if f[4].is_empty() {
            return Err(at(StoreError::invalid(HEADER[4], "", "must not be empty")));
        }
        Ok(Trade {
            account: self.account.clone(),
            strategy: None,
            time: instant.with_timezone(&Utc),
            code,
            name: std::mem::take(&mut f[3]),
            kind: OrderKind::from_label(&f[4]),
            remark: std::mem::take(&mut f[5]),
            price: Price::parse(HEADER[6], &f[6]).map_err(at)?,
            volume: Volume::parse(HEADER[7], &f[7]).map_err(at)?,
        })
    }
}

/// One row as the Python program writes it (without terminator).
pub fn render_row(out: &mut String, t: &Trade, tz: &chrono_tz::Tz) {
    let local = t.time.with_timezone(tz);
    let date = local.format("%Y-%m-%d").to_string();
    let time = local.format("%H:%M:%S").to_string();
    let code = t.code.original();
    let price = pyfmt::float_repr(t.price.get());
    let volume = t.volume.get().to_string();
    let fields: [&str; 8] = [&date, &time, &code, &t.name, t.kind.label(), &t.remark, &price, &volume];
    pyfmt::push_csv_row(out, fields);
}

/// The bytes to append for `trades` to a journal of `layout` (or, if `None`, of a new file
/// with the header), encoded and terminated as that file's rows are.
pub fn render_append(
    path: &Path,
    trades: &[Trade],
    layout: Option<JournalLayout>,
    new_encoding: Encoding,
    new_header_eol: Eol,
    tz: &chrono_tz::Tz,
) -> Result<Vec<u8>, StoreError> {
    let mut text = String::new();
    let (encoding, row_eol) = match layout {
        Some(l) if !l.terminated => {
            // Completing a row that was cut off would make it look whole; the Python program
            // may also be writing it right now. Either way, not ours to append to.
            return Err(StoreError::corrupt(
                path,
                None,
                "last line has no line terminator (truncated, or being written); not appending",
            ));
        }
        Some(l) => (l.encoding, l.row_eol),
        None => {
            pyfmt::push_csv_row(&mut text, HEADER);
            text.push_str(new_header_eol.as_str());
            (new_encoding, Eol::Crlf)
        }
    };
    for t in trades {
        // Name the field that a GBK journal cannot hold, before anything is written.
        for (field, value) in
            [("name", t.name.as_str()), ("remark", t.remark.as_str()), ("kind", t.kind.label())]
        {
            encoding.encode(field, value)?;
        }
        render_row(&mut text, t, tz);
        text.push_str(row_eol.as_str());
    }
    encoding.encode("journal", &text)
}

/// The market-local date of a trade.
pub fn local_date(t: &Trade, tz: &chrono_tz::Tz) -> Option<TradeDate> {
    let d: NaiveDate = t.time.with_timezone(tz).date_naive();
    TradeDate::from_naive(d).ok()
}
