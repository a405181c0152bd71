//! The order/fill journal, `deal_hist.csv`: rows read off a byte stream and rows rendered as
//! the Python program appends them.
//!
//! [`JournalReader`] streams records with [`RecordReader`] (Python's `csv.reader` rules, exact
//! line numbers) and decodes each field in the file's encoding, strictly: a byte that Python
//! could not decode is an error at its line. The reader reads what its byte source gives and
//! no more; the store hands it exactly the bytes that existed when it opened the file, so a row
//! the Python program is appending at that moment is an unterminated last line — never a
//! shorter row taken for a whole one.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use tierstore_model::{AccountId, OrderKind, Price, StockCode, StoreError, Trade, TradeDate, Volume};

use super::encoding::{BOM, Encoding, Eol};
use super::pycsv::{self, Record, RecordReader};
use super::pyfloat;

/// The journal's file name.
pub const DEALS: &str = "deal_hist.csv";

/// The header the Python program writes: date, time, code, name, type, remark, price, volume.
pub const HEADER: [&str; 8] = ["日期", "时间", "代码", "名称", "类型", "注释", "成交价", "成交量"];

/// How much of the start of a journal decides its encoding.
pub const SNIFF: usize = 64 * 1024;

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

/// The layout of a journal from its first [`SNIFF`] bytes (`head`) and its last up to
/// [`SNIFF`] bytes (`tail`), `len` bytes in all — without reading the rest.
pub fn layout(path: &Path, head: &[u8], tail: &[u8], len: u64) -> Result<JournalLayout, StoreError> {
    let encoding = Encoding::sniff(head)
        .ok_or_else(|| StoreError::corrupt(path, Some(1), "neither UTF-8 nor GBK text"))?;
    let body = head.strip_prefix(BOM).unwrap_or(head);
    let header_eol = Eol::of_first_line(body).unwrap_or(Eol::Lf);
    let header_end = body.iter().position(|b| *b == b'\n').map(|i| (i + head.len() - body.len()) as u64);
    // The terminator of the last row that has one; if no row has one yet, csv.writer's CRLF.
    let tail_start = len - tail.len() as u64;
    let row_eol = match tail.iter().rposition(|b| *b == b'\n') {
        Some(i) if Some(tail_start + i as u64) != header_end => {
            if i > 0 && tail[i - 1] == b'\r' {
                Eol::Crlf
            } else {
                Eol::Lf
            }
        }
        _ => Eol::Crlf,
    };
    Ok(JournalLayout { encoding, header_eol, row_eol, terminated: Eol::at_end(tail).is_some() })
}

/// What a reader does with a last line that has no terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tail {
    /// Leave it: it is being written (the journal is appended to while we read), so it is
    /// not a row yet. [`JournalReader::unread_tail`] says where it starts.
    Leave,
    /// Report it as an error at its line.
    Report,
}

/// Where a journal reader stands between two rows: what [`JournalReader::resume`] needs to
/// go on from there, e.g. in another process after the file grew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalPosition {
    /// Bytes of the file consumed (the BOM, the header and whole rows with their terminators).
    pub offset: u64,
    /// The file line of the next byte.
    pub line: u64,
    /// Data rows consumed: the ordinal of the last one.
    pub rows: u64,
    /// The file's encoding.
    pub encoding: Encoding,
}

/// Streams the trades of one account's journal in file order.
#[derive(Debug)]
pub struct JournalReader<R> {
    path: PathBuf,
    account: AccountId,
    tz: chrono_tz::Tz,
    /// The offset of the last day read, when one offset holds all that day.
    day_offset: Option<(NaiveDate, FixedOffset)>,
    encoding: Encoding,
    records: RecordReader<R>,
    rec: Record,
    tail: Tail,
    header_checked: bool,
    header_eol: Option<Eol>,
    row_eol: Option<Eol>,
    unread_tail: Option<u64>,
    done: bool,
    /// Data rows read so far, readable or not: the ordinal of the last one.
    rows: u64,
    /// Offset and line after the last whole record (an unterminated tail is not one).
    whole: (u64, u64),
}

impl<R: BufRead> JournalReader<R> {
    /// Starts reading `source` (the file's bytes from the beginning; `path` names it in
    /// errors). The encoding is decided from what the source's buffer holds first, so give it
    /// a buffer of [`SNIFF`] bytes.
    pub fn new(
        path: &Path,
        mut source: R,
        account: AccountId,
        tz: chrono_tz::Tz,
        tail: Tail,
    ) -> Result<Self, StoreError> {
        let io = |e: std::io::Error| crate::fsio::io_error(path, "cannot read", &e);
        let head = source.fill_buf().map_err(io)?;
        let encoding = Encoding::sniff(head)
            .ok_or_else(|| StoreError::corrupt(path, Some(1), "neither UTF-8 nor GBK text"))?;
        let skip = if head.starts_with(BOM) { BOM.len() } else { 0 };
        source.consume(skip);
        Ok(JournalReader {
            path: path.to_path_buf(),
            account,
            tz,
            day_offset: None,
            encoding,
            records: RecordReader::new(source, 1, skip as u64),
            rec: Record::default(),
            tail,
            header_checked: false,
            header_eol: None,
            row_eol: None,
            unread_tail: None,
            done: false,
            rows: 0,
            whole: (skip as u64, 1),
        })
    }

    /// Goes on reading a journal at `at` (from an earlier reader's [`JournalReader::position`]):
    /// `source` must start at byte `at.offset` of the file. The header was checked then.
    pub fn resume(
        path: &Path,
        source: R,
        account: AccountId,
        tz: chrono_tz::Tz,
        tail: Tail,
        at: JournalPosition,
    ) -> Self {
        JournalReader {
            path: path.to_path_buf(),
            account,
            tz,
            day_offset: None,
            encoding: at.encoding,
            records: RecordReader::new(source, at.line, at.offset),
            rec: Record::default(),
            tail,
            header_checked: true,
            header_eol: None,
            row_eol: None,
            unread_tail: None,
            done: false,
            rows: at.rows,
            whole: (at.offset, at.line),
        }
    }

    /// Where the reader stands: after the last whole row (or the header) it returned. Only
    /// meaningful once the header was read, i.e. after a first call to `next_row`.
    pub fn position(&self) -> JournalPosition {
        JournalPosition { offset: self.whole.0, line: self.whole.1, rows: self.rows, encoding: self.encoding }
    }

    /// The detected encoding.
    pub fn encoding(&self) -> Encoding {
        self.encoding
    }

    /// The header's terminator, once read.
    pub fn header_eol(&self) -> Option<Eol> {
        self.header_eol
    }

    /// The terminator of the last data row read.
    pub fn row_eol(&self) -> Option<Eol> {
        self.row_eol
    }

    /// Data rows read so far (whole rows, readable or not): the next row's ordinal minus one.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The line of an unterminated last line left unread ([`Tail::Leave`]), once at the end.
    pub fn unread_tail(&self) -> Option<u64> {
        self.unread_tail
    }

    /// The next row: `Some((line, Ok(trade)))`, `Some((line, Err(e)))` for a row that cannot
    /// be read (the error names file and line; reading may go on), `None` at the end. A bad
    /// header is returned as an error once and ends the stream: nothing after it can be
    /// trusted to mean what we think.
    pub fn next_row(&mut self) -> Option<(u64, Result<Trade, StoreError>)> {
        loop {
            if self.done {
                return None;
            }
            match self.records.read(&mut self.rec) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    if !self.header_checked {
                        return Some((1, Err(StoreError::corrupt(&self.path, Some(1), "no header line"))));
                    }
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some((self.rec.line, Err(crate::fsio::io_error(&self.path, "cannot read", &e))));
                }
            }
            let line = self.rec.line;
            if self.rec.terminator.is_none() {
                // csv.writer ends every row with a terminator: a row without one is being
                // written right now or was cut off, and must not be taken for a whole row.
                self.done = true;
                match self.tail {
                    Tail::Leave => {
                        self.unread_tail = Some(line);
                        return None;
                    }
                    Tail::Report => {
                        return Some((
                            line,
                            Err(StoreError::corrupt(
                                &self.path,
                                Some(line),
                                "last line has no line terminator (being written, or cut off)",
                            )),
                        ));
                    }
                }
            }
            self.whole = (self.records.offset(), self.records.line());
            if !self.header_checked {
                self.header_checked = true;
                self.header_eol = self.rec.terminator;
                if let Err(e) = self.check_header() {
                    self.done = true;
                    return Some((line, Err(e)));
                }
                continue;
            }
            self.row_eol = self.rec.terminator;
            // A row that cannot be read still takes its ordinal, so rows after it keep theirs.
            self.rows += 1;
            return Some((line, self.parse_row(line)));
        }
    }

    fn check_header(&self) -> Result<(), StoreError> {
        let fields: Vec<String> = self
            .rec
            .fields()
            .map(|f| {
                self.encoding
                    .decode(f)
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|| String::from_utf8_lossy(f).into_owned())
            })
            .collect();
        if fields == HEADER {
            return Ok(());
        }
        Err(StoreError::corrupt(
            &self.path,
            Some(self.rec.line),
            format!("header is {:?}, expected {:?}", fields.join(","), HEADER.join(",")),
        ))
    }

    fn parse_row(&mut self, line: u64) -> Result<Trade, StoreError> {
        let rec = &self.rec;
        let at = |e: StoreError| e.at(&self.path, line);
        if rec.len() != HEADER.len() {
            return Err(StoreError::corrupt(
                &self.path,
                Some(line),
                format!("{} fields, expected {} ({})", rec.len(), HEADER.len(), HEADER.join(",")),
            ));
        }
        // Fields borrow the record's bytes; only the name and remark are kept as text of their own.
        let mut f: [std::borrow::Cow<'_, str>; HEADER.len()] = Default::default();
        for (i, raw) in rec.fields().enumerate() {
            let text = self.encoding.decode(raw).ok_or_else(|| {
                let name = if self.encoding == Encoding::Gbk {
                    "GBK (as Python's gbk codec reads it)"
                } else {
                    "UTF-8"
                };
                StoreError::corrupt(
                    &self.path,
                    Some(line),
                    format!("field {} is not valid {name} text", HEADER[i]),
                )
            })?;
            if let Some(slot) = f.get_mut(i) {
                *slot = text;
            }
        }
        let date = TradeDate::parse(&f[0]).map_err(|e| at(e.in_field(HEADER[0])))?;
        let time = hms(&f[1])
            .or_else(|| NaiveTime::parse_from_str(&f[1], "%H:%M:%S").ok())
            .ok_or_else(|| at(StoreError::invalid(HEADER[1], &f[1], "expected HH:MM:SS")))?;
        let local = date.naive().and_time(time);
        let instant = local_instant(&self.tz, &mut self.day_offset, local).ok_or_else(|| {
            at(StoreError::invalid(HEADER[1], &f[1], format!("{local} does not exist once in {}", self.tz)))
        })?;
        let code = StockCode::parse(&f[2]).map_err(|e| at(e.in_field(HEADER[2])))?;
        if f[4].is_empty() {
            return Err(at(StoreError::invalid(HEADER[4], "", "must not be empty")));
        }
        Ok(Trade {
            account: self.account.clone(),
            seq: Some(self.rows),
            strategy: None,
            time: instant,
            code,
            name: std::mem::take(&mut f[3]).into_owned(),
            kind: OrderKind::from_label(&f[4]),
            remark: std::mem::take(&mut f[5]).into_owned(),
            price: Price::parse(HEADER[6], &f[6]).map_err(at)?,
            volume: Volume::parse(HEADER[7], &f[7]).map_err(at)?,
        })
    }
}

/// `HH:MM:SS` as Python's `strftime` writes it (two digits each); `None` for anything else,
/// which `chrono`'s parser then decides.
fn hms(text: &str) -> Option<NaiveTime> {
    let b = text.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let two = |i: usize| -> Option<u32> {
        let (t, u) = (b[i].checked_sub(b'0')?, b[i + 1].checked_sub(b'0')?);
        (t < 10 && u < 10).then(|| u32::from(t) * 10 + u32::from(u))
    };
    NaiveTime::from_hms_opt(two(0)?, two(3)?, two(6)?)
}

/// The instant of a market-local time, or `None` when it does not exist once in `tz`. A day's
/// offset is remembered in `day` when the day's first and last second have one and the same
/// offset, so the day's other rows skip the time zone's search. That takes a day whose
/// offset changes to change it back the same day for a day without change; no time zone
/// does that (Shanghai's offset has not changed since September 1991).
fn local_instant(
    tz: &chrono_tz::Tz,
    day: &mut Option<(NaiveDate, FixedOffset)>,
    local: NaiveDateTime,
) -> Option<DateTime<Utc>> {
    let date = local.date();
    if let Some((d, offset)) = *day
        && d == date
    {
        return offset.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc));
    }
    let offset_at = |t: NaiveTime| tz.offset_from_local_datetime(&date.and_time(t)).single().map(|o| o.fix());
    let last_second = NaiveTime::from_hms_opt(23, 59, 59);
    if let (Some(first), Some(last)) = (offset_at(NaiveTime::MIN), last_second.and_then(offset_at))
        && first == last
    {
        *day = Some((date, first));
    }
    tz.from_local_datetime(&local).single().map(|t| t.with_timezone(&Utc))
}

/// One row as the Python program writes it (without terminator): the market-local date and
/// time of the instant, the code as spelt, `repr` of the price.
pub fn render_row(out: &mut String, t: &Trade, tz: &chrono_tz::Tz) {
    let local = t.time.with_timezone(tz);
    let date = local.format("%Y-%m-%d").to_string();
    let time = local.format("%H:%M:%S").to_string();
    let code = t.code.original();
    let price = pyfloat::float_repr(t.price.get());
    let volume = t.volume.get().to_string();
    let fields: [&str; 8] = [&date, &time, &code, &t.name, t.kind.label(), &t.remark, &price, &volume];
    pycsv::push_row(out, fields);
}

/// The bytes to append for `trades` to a journal of `layout` (or, if `None`, of a new file:
/// the header first, ended by `new_header_eol`), encoded and terminated as that file's rows
/// are. A journal whose last line has no terminator is not appended to.
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
            pycsv::push_row(&mut text, HEADER);
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

#[cfg(test)]
mod tests {
    use super::*;

    type Rows = Vec<(u64, Result<Trade, String>)>;

    fn read(bytes: &[u8], tail: Tail) -> (Rows, Option<u64>) {
        let mut r = JournalReader::new(
            Path::new("deal_hist.csv"),
            bytes,
            AccountId::new("a").unwrap(),
            chrono_tz::Asia::Shanghai,
            tail,
        )
        .unwrap();
        let mut out = Vec::new();
        while let Some((line, row)) = r.next_row() {
            out.push((line, row.map_err(|e| e.to_string())));
        }
        (out, r.unread_tail())
    }

    const HEAD: &str = "日期,时间,代码,名称,类型,注释,成交价,成交量";

    #[test]
    fn two_digit_times_are_read_directly_and_others_left_to_chrono() {
        assert_eq!(hms("09:31:05"), NaiveTime::from_hms_opt(9, 31, 5));
        assert_eq!(hms("23:59:59"), NaiveTime::from_hms_opt(23, 59, 59));
        for other in [
            "9:31:05",
            "24:00:00",
            "09:60:00",
            "09:31:5x",
            "09-31-05",
            "09:31:05 ",
            "０9:31:05",
            "zz:zz:zz",
            "~~:~~:~~",
        ] {
            assert_eq!(hms(other), None, "{other}");
        }
        // What the fast path leaves reads as it always did.
        let text = format!("{HEAD}\n2024-10-10,9:31:05,000001.SZ,x,买入委托,,10.52,100\n");
        let (rows, _) = read(text.as_bytes(), Tail::Report);
        let t = rows[0].1.as_ref().unwrap().time;
        assert_eq!(t.to_rfc3339(), "2024-10-10T01:31:05+00:00");
    }

    #[test]
    fn a_days_offset_is_kept_only_when_it_holds_all_day() {
        let day = |d: &str, t: &str| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .unwrap()
                .and_time(NaiveTime::parse_from_str(t, "%H:%M:%S").unwrap())
        };
        let ny = chrono_tz::America::New_York;
        let mut kept = None;
        // 2024-03-10: New York moves from UTC-5 to UTC-4 at 02:00; 02:30 does not exist.
        let at = |kept: &mut Option<_>, d, t| local_instant(&ny, kept, day(d, t)).map(|i| i.to_rfc3339());
        assert_eq!(at(&mut kept, "2024-03-10", "01:59:59").as_deref(), Some("2024-03-10T06:59:59+00:00"));
        assert_eq!(kept, None, "a day with a transition is not kept");
        assert_eq!(at(&mut kept, "2024-03-10", "02:30:00"), None);
        assert_eq!(at(&mut kept, "2024-03-10", "03:00:00").as_deref(), Some("2024-03-10T07:00:00+00:00"));
        assert_eq!(at(&mut kept, "2024-03-11", "09:30:00").as_deref(), Some("2024-03-11T13:30:00+00:00"));
        let edt = FixedOffset::west_opt(4 * 3600).unwrap();
        assert_eq!(kept, Some((day("2024-03-11", "00:00:00").date(), edt)));
        assert_eq!(at(&mut kept, "2024-03-11", "15:00:00").as_deref(), Some("2024-03-11T19:00:00+00:00"));
        // 2024-11-03: back to UTC-5 at 02:00; 01:30 happens twice.
        assert_eq!(at(&mut kept, "2024-11-03", "01:30:00"), None);
        assert_eq!(at(&mut kept, "2024-11-03", "12:00:00").as_deref(), Some("2024-11-03T17:00:00+00:00"));
        let sh = chrono_tz::Asia::Shanghai;
        let mut kept = None;
        let got = local_instant(&sh, &mut kept, day("2024-10-10", "09:31:05")).unwrap();
        assert_eq!(got.to_rfc3339(), "2024-10-10T01:31:05+00:00");
        assert_eq!(
            kept,
            Some((day("2024-10-10", "00:00:00").date(), FixedOffset::east_opt(8 * 3600).unwrap()))
        );
    }

    #[test]
    fn line_numbers_count_blank_lines_and_breaks_inside_quotes() {
        let text = format!(
            "{HEAD}\r\n\r\n2024-10-10,09:31:05,000001.SZ,x,买入委托,\"a\r\nb\",10.52,abc\r\n\n2024-10-10,09:31:06,000001.SZ,x,买入委托,,-1,100\r\n"
        );
        let (rows, _) = read(text.as_bytes(), Tail::Report);
        let lines: Vec<u64> = rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(lines, [3, 6]);
        let e = rows[0].1.as_ref().unwrap_err();
        assert!(e.starts_with("corrupt data in deal_hist.csv line 3: field 成交量 = \"abc\""), "{e}");
        let e = rows[1].1.as_ref().unwrap_err();
        assert!(e.starts_with("corrupt data in deal_hist.csv line 6: field 成交价 = \"-1\""), "{e}");
    }

    #[test]
    fn a_reader_resumed_where_another_stopped_reads_the_rest_with_the_same_ordinals() {
        let whole = format!(
            "\u{feff}{HEAD}\r\n2024-10-10,09:31:05,000001.SZ,x,买入委托,\"a\r\nb\",10.52,100\r\n\
             2024-10-10,09:31:06,600000.SH,y,卖出成交,,9.9,200\r\n2024-10-11,09:31:07,000001.SZ,x,买入委托,,10.5,300\r\n"
        );
        // The first reader sees the file while its third row is half written.
        let cut = whole.find("2024-10-11").unwrap() + 12;
        let account = AccountId::new("a").unwrap();
        let tz = chrono_tz::Asia::Shanghai;
        let path = Path::new("deal_hist.csv");
        let mut first =
            JournalReader::new(path, &whole.as_bytes()[..cut], account.clone(), tz, Tail::Leave).unwrap();
        let mut seqs = Vec::new();
        while let Some((_, row)) = first.next_row() {
            seqs.push(row.unwrap().seq.unwrap());
        }
        assert_eq!(seqs, [1, 2]);
        let at = first.position();
        // Bytes: the 3-byte BOM, then everything up to the third row.
        assert_eq!(at.offset as usize, whole.find("2024-10-11").unwrap());
        assert_eq!((at.line, at.rows, at.encoding), (5, 2, Encoding::Utf8Bom));
        let mut rest = JournalReader::resume(
            path,
            &whole.as_bytes()[at.offset as usize..],
            account,
            tz,
            Tail::Leave,
            at,
        );
        let (line, row) = rest.next_row().unwrap();
        let t = row.unwrap();
        assert_eq!((line, t.seq, t.volume.to_string().as_str()), (5, Some(3), "300"));
        assert!(rest.next_row().is_none());
        assert_eq!(rest.position().offset as usize, whole.len());
    }

    #[test]
    fn a_row_being_written_is_left_or_reported_never_read_short() {
        let text = format!(
            "{HEAD}\n2024-10-10,09:31:05,000001.SZ,x,买入委托,,10.52,1000\r\n2024-10-10,09:31:06,000001.SZ,x,买入委托,,10.52,10"
        );
        let (rows, tail) = read(text.as_bytes(), Tail::Leave);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].1.as_ref().unwrap().volume.get(), 1000);
        assert_eq!(tail, Some(3));
        let (rows, _) = read(text.as_bytes(), Tail::Report);
        assert_eq!(rows.len(), 2);
        assert!(rows[1].1.as_ref().unwrap_err().contains("line 3: last line has no line terminator"));
    }

    #[test]
    fn bytes_python_cannot_decode_are_errors_at_their_line() {
        let mut bytes = encoding_rs::GBK.encode(&format!("{HEAD}\r\n")).0.into_owned();
        let row = |name: &[u8]| {
            let mut r = b"2024-10-10,09:31:05,000001.SZ,".to_vec();
            r.extend_from_slice(name);
            r.extend_from_slice(&encoding_rs::GBK.encode(",买入委托,,10.52,100\r\n").0);
            r
        };
        bytes.extend(row(&encoding_rs::GBK.encode("平安").0));
        bytes.extend(row(b"\x80"));
        bytes.extend(row(b"\x81\x30\x81\x30"));
        bytes.extend(row(b"\xAA\xA1"));
        let (rows, _) = read(&bytes, Tail::Report);
        assert_eq!(rows[0].1.as_ref().unwrap().name, "平安");
        for (i, line) in [(1, 3), (2, 4), (3, 5)] {
            let e = rows[i].1.as_ref().unwrap_err();
            assert!(e.contains(&format!("line {line}: field 名称 is not valid GBK")), "{e}");
        }
    }

    #[test]
    fn a_wrong_header_ends_the_stream() {
        let (rows, _) = read(b"date,time\r\n2024-10-10,09:31:05\r\n", Tail::Report);
        assert_eq!(rows.len(), 1);
        assert!(rows[0].1.as_ref().unwrap_err().contains("line 1: header is \"date,time\""));
    }
}
