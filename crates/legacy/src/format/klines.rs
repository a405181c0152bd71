//! Daily klines, one `<code>.csv` per stock in the kline folder (written by pandas:
//! `datetime,open,high,low,close,volume,amount`, `datetime` an integer `YYYYMMDD`).
//!
//! Parsing is the hot path of every migration (6.25 M rows), so it works on bytes: split
//! lines, split fields, parse numbers, validate — no per-row allocation. A file is small
//! (≈1,250 rows), so it is read whole; folders are streamed file by file.

use std::path::{Path, PathBuf};

use tierstore_model::{Kline, Price, StockCode, StoreError, TradeDate, Volume};

use super::encoding::{BOM, Eol};
use super::pyfloat;

/// The header pandas writes.
pub const HEADER: &str = "datetime,open,high,low,close,volume,amount";

/// How a kline file is spelt; a rewrite keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KlineLayout {
    /// Starts with a UTF-8 BOM.
    pub bom: bool,
    /// Line ending.
    pub eol: Eol,
    /// Volumes written as floats (`12345.0`) by the data source.
    pub float_volume: bool,
}

impl KlineLayout {
    /// What pandas writes on `eol`'s platform with integer volumes.
    pub fn pandas(eol: Eol) -> Self {
        KlineLayout { bom: false, eol, float_volume: false }
    }
}

/// A parsed kline file.
#[derive(Debug, Clone)]
pub struct KlineFile {
    /// Bars in date order, one per date (the last row of a duplicated date wins).
    pub rows: Vec<Kline>,
    /// Data lines in the file, duplicates and bad rows included.
    pub data_lines: u64,
    /// Rows that could not be read, each an error naming the file and line.
    pub errors: Vec<StoreError>,
    /// Dates that appear more than once, with the line whose row was kept.
    pub duplicates: Vec<(TradeDate, u64)>,
    /// Whether the rows were in date order in the file.
    pub was_sorted: bool,
    /// How the file was spelt.
    pub layout: KlineLayout,
}

impl KlineFile {
    /// The first bad row, if any.
    pub fn first_error(&self) -> Option<StoreError> {
        self.errors.first().cloned()
    }
}

/// The file of `code` in `dir`.
pub fn path_of(dir: &Path, code: &StockCode) -> PathBuf {
    dir.join(format!("{}.csv", code.as_str()))
}

/// The stock a kline file holds, from its name (`000001.SZ.csv`); `None` for other files.
pub fn code_of(path: &Path) -> Option<Result<StockCode, StoreError>> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_suffix(".csv")?;
    if stem.starts_with(['_', '.']) {
        return None;
    }
    Some(StockCode::parse(stem))
}

/// Parses a kline file. File-level problems (not UTF-8, wrong header) are errors; bad rows
/// are collected in [`KlineFile::errors`] so a report can list them all.
pub fn parse(path: &Path, code: StockCode, bytes: &[u8]) -> Result<KlineFile, StoreError> {
    let bom = bytes.starts_with(BOM);
    let body = if bom { &bytes[BOM.len()..] } else { bytes };
    let mut lines = body.split(|b| *b == b'\n');
    let header = lines.next().map(trim_cr).unwrap_or_default();
    if header != HEADER.as_bytes() {
        let shown = String::from_utf8_lossy(&header[..header.len().min(120)]).into_owned();
        return Err(StoreError::corrupt(path, Some(1), format!("header is {shown:?}, expected {HEADER:?}")));
    }
    let mut rows: Vec<(Kline, u64)> = Vec::with_capacity(body.len() / 56);
    let mut errors = Vec::new();
    let mut data_lines = 0u64;
    let mut float_volume = None;
    let terminated = body.ends_with(b"\n");
    let mut lines = lines.peekable();
    let mut i = 0u64;
    while let Some(raw) = lines.next() {
        let line = i + 2;
        i += 1;
        let l = trim_cr(raw);
        if l.is_empty() {
            continue;
        }
        data_lines += 1;
        if lines.peek().is_none() && !terminated {
            // pandas ends every line with a terminator: this one was cut off.
            errors.push(super::cut_off(path, line));
            continue;
        }
        match parse_row(code, l) {
            Ok((k, float_vol)) => {
                float_volume.get_or_insert(float_vol);
                rows.push((k, line));
            }
            Err(RowProblem::Shape(reason)) => errors.push(StoreError::corrupt(path, Some(line), reason)),
            Err(RowProblem::Value(e)) => errors.push(e.at(path, line)),
        }
    }
    let was_sorted = rows.windows(2).all(|w| w[0].0.date < w[1].0.date);
    let mut duplicates = Vec::new();
    if !was_sorted {
        // Stable: among equal dates the file order is kept, so the last row is last.
        rows.sort_by_key(|(k, _)| k.date);
        let mut dedup: Vec<(Kline, u64)> = Vec::with_capacity(rows.len());
        for (k, line) in rows {
            match dedup.last_mut() {
                Some(last) if last.0.date == k.date => {
                    if duplicates.last().is_none_or(|(d, _)| *d != k.date) {
                        duplicates.push((k.date, line));
                    } else if let Some(d) = duplicates.last_mut() {
                        d.1 = line;
                    }
                    *last = (k, line);
                }
                _ => dedup.push((k, line)),
            }
        }
        rows = dedup;
    }
    Ok(KlineFile {
        rows: rows.into_iter().map(|(k, _)| k).collect(),
        data_lines,
        errors,
        duplicates,
        was_sorted,
        layout: KlineLayout {
            bom,
            eol: Eol::of_first_line(body).unwrap_or(Eol::Lf),
            float_volume: float_volume.unwrap_or(false),
        },
    })
}

fn trim_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

const FIELDS: [&str; 7] = ["datetime", "open", "high", "low", "close", "volume", "amount"];

/// Why a data line is not a bar: its shape, or a value (the model's error, naming the field).
enum RowProblem {
    Shape(String),
    Value(StoreError),
}

impl From<StoreError> for RowProblem {
    fn from(e: StoreError) -> Self {
        RowProblem::Value(e)
    }
}

/// One data line.
fn parse_row(code: StockCode, l: &[u8]) -> Result<(Kline, bool), RowProblem> {
    let mut f: [&[u8]; 7] = [&[]; 7];
    let mut n = 0;
    for part in l.split(|b| *b == b',') {
        if n == 7 {
            return Err(RowProblem::Shape(format!("more than 7 fields, expected {HEADER}")));
        }
        f[n] = part;
        n += 1;
    }
    if n != 7 {
        return Err(RowProblem::Shape(format!("{n} fields, expected 7: {HEADER}")));
    }
    let text = |i: usize| -> Result<&str, RowProblem> {
        std::str::from_utf8(f[i]).map_err(|_| RowProblem::Shape(format!("field {} is not text", FIELDS[i])))
    };
    let date = parse_date(f[0]).ok_or_else(|| {
        RowProblem::Value(StoreError::invalid(
            "datetime",
            String::from_utf8_lossy(f[0]),
            "expected an integer YYYYMMDD",
        ))
    })?;
    let date = TradeDate::from_yyyymmdd(date).map_err(|e| e.in_field("datetime"))?;
    let price = |i: usize| -> Result<Price, RowProblem> { Ok(Price::parse(FIELDS[i], text(i)?)?) };
    let (open, high, low, close) = (price(1)?, price(2)?, price(3)?, price(4)?);
    let vol_text = text(5)?;
    let volume = Volume::parse("volume", vol_text)?;
    let amount = tierstore_model::quantity::parse_non_negative("amount", text(6)?)?;
    let k = Kline { code, date, open, high, low, close, volume, amount };
    k.check_shape()?;
    Ok((k, vol_text.contains('.')))
}

fn parse_date(b: &[u8]) -> Option<u32> {
    if b.len() != 8 {
        return None;
    }
    b.iter().try_fold(0u32, |acc, c| c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0')))
}

/// A kline file's bytes as pandas writes them, in `layout`.
pub fn render(rows: &[Kline], layout: KlineLayout) -> Vec<u8> {
    let eol = layout.eol.as_str();
    let mut text = String::with_capacity(64 + rows.len() * 64);
    if layout.bom {
        text.push('\u{feff}');
    }
    text.push_str(HEADER);
    text.push_str(eol);
    for k in rows {
        push_row(&mut text, k, layout.float_volume);
        text.push_str(eol);
    }
    text.into_bytes()
}

/// One data line without terminator.
pub fn push_row(out: &mut String, k: &Kline, float_volume: bool) {
    use std::fmt::Write as _;
    let _ = write!(out, "{},", k.date.yyyymmdd());
    for p in [k.open, k.high, k.low, k.close] {
        pyfloat::push_float_repr(out, p.get());
        out.push(',');
    }
    let _ = write!(out, "{}", k.volume.get());
    // A float spelling only where it reads back as the same integer (below 2^53).
    if float_volume && k.volume.survives_float_spelling() {
        out.push_str(".0");
    }
    out.push(',');
    pyfloat::push_float_repr(out, k.amount);
}

/// Merges `new` bars into `existing` (both for one code): a new bar replaces the bar of its
/// date; the result is in date order.
pub fn merge(existing: Vec<Kline>, new: &[Kline]) -> Vec<Kline> {
    let mut by_date: std::collections::BTreeMap<TradeDate, Kline> =
        existing.into_iter().map(|k| (k.date, k)).collect();
    for k in new {
        by_date.insert(k.date, *k);
    }
    by_date.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> StockCode {
        StockCode::parse("000001.SZ").unwrap()
    }

    const PANDAS: &str = "datetime,open,high,low,close,volume,amount\n\
        20240102,9.39,9.42,9.21,9.21,1158366,1075742252.45\n\
        20240103,9.19,9.22,9.15,9.2,733610,673673613.0\n";

    #[test]
    fn pandas_file_round_trips_byte_for_byte() {
        for text in [PANDAS.to_owned(), PANDAS.replace('\n', "\r\n")] {
            let f = parse(Path::new("000001.SZ.csv"), code(), text.as_bytes()).unwrap();
            assert!(f.errors.is_empty() && f.was_sorted && f.duplicates.is_empty());
            assert_eq!(f.rows.len(), 2);
            assert_eq!(String::from_utf8(render(&f.rows, f.layout)).unwrap(), text);
        }
        let float_vol = PANDAS.replace(",1158366,", ",1158366.0,").replace(",733610,", ",733610.0,");
        let f = parse(Path::new("x.csv"), code(), float_vol.as_bytes()).unwrap();
        assert!(f.layout.float_volume);
        assert_eq!(f.rows[0].volume.get(), 1158366);
        assert_eq!(String::from_utf8(render(&f.rows, f.layout)).unwrap(), float_vol);
    }

    #[test]
    fn unsorted_rows_are_sorted_and_the_last_duplicate_wins() {
        let text = "datetime,open,high,low,close,volume,amount\n\
            20240103,9.19,9.22,9.15,9.2,1,1.0\n\
            20240102,9.39,9.42,9.21,9.21,2,2.0\n\
            20240103,9.0,9.5,8.9,9.1,3,3.0\n";
        let f = parse(Path::new("x.csv"), code(), text.as_bytes()).unwrap();
        assert!(!f.was_sorted);
        assert_eq!(f.data_lines, 3);
        let dates: Vec<u32> = f.rows.iter().map(|k| k.date.yyyymmdd()).collect();
        assert_eq!(dates, [20240102, 20240103]);
        assert_eq!(f.rows[1].volume.get(), 3, "the later row of a duplicated date wins");
        assert_eq!(f.duplicates, vec![(TradeDate::from_yyyymmdd(20240103).unwrap(), 4)]);
    }

    #[test]
    fn bad_rows_name_line_field_and_value() {
        let text = "datetime,open,high,low,close,volume,amount\n\
            20240102,9.39,9.42,9.21,9.21,100,1.0\n\
            20240103,9.19,9.22,9.15\n\
            20240104,-1,9.22,9.15,9.2,100,1.0\n\
            2024-01-05,9.19,9.22,9.15,9.2,100,1.0\n\
            20240106,9.19,9.22,9.15,9.2,-100,1.0\n\
            20240107,9.19,9.10,9.15,9.2,100,1.0\n\
            20240108,9.19,9.22,9.15,9.2,100\n\
            20240109,9.19,9.22,9.15,9.2,100,1.0";
        let f = parse(Path::new("x.csv"), code(), text.as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 1);
        let got: Vec<(u64, &str)> = f
            .errors
            .iter()
            .map(|e| match e {
                StoreError::Corrupt { line, reason, .. } => (line.unwrap_or(0), reason.as_str()),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(got[0], (3, "4 fields, expected 7: datetime,open,high,low,close,volume,amount"));
        assert_eq!(got[1], (4, r#"field open = "-1": must be greater than 0"#));
        assert!(got[2].1.starts_with(r#"field datetime = "2024-01-05""#), "{:?}", got[2]);
        assert_eq!(got[3], (6, r#"field volume = "-100": must not be negative"#));
        assert!(got[4].1.starts_with("field high"), "{:?}", got[4]);
        assert_eq!(got[5], (8, "6 fields, expected 7: datetime,open,high,low,close,volume,amount"));
        assert_eq!(
            got[6],
            (9, "last line has no line terminator (truncated?)"),
            "a whole-looking row, cut off"
        );
        assert_eq!(f.data_lines, 8);
    }

    #[test]
    fn header_only_and_wrong_header() {
        let f = parse(Path::new("x.csv"), code(), format!("{HEADER}\n").as_bytes()).unwrap();
        assert!(f.rows.is_empty() && f.errors.is_empty());
        let e = parse(Path::new("x.csv"), code(), b"date,open\n").unwrap_err();
        assert!(e.to_string().contains("x.csv line 1: header is \"date,open\""), "{e}");
        let f =
            parse(Path::new("x.csv"), code(), b"\xEF\xBB\xBFdatetime,open,high,low,close,volume,amount\r\n")
                .unwrap();
        assert!(f.layout.bom && f.layout.eol == Eol::Crlf);
    }

    #[test]
    fn file_names_give_codes() {
        assert_eq!(code_of(Path::new("/d/000001.SZ.csv")).unwrap().unwrap(), code());
        assert!(code_of(Path::new("/d/_code_list.csv")).is_none());
        assert!(code_of(Path::new("/d/notes.txt")).is_none());
        assert!(code_of(Path::new("/d/bogus.csv")).unwrap().is_err());
    }

    #[test]
    fn volumes_at_and_above_2_pow_53_are_never_written_as_floats() {
        let text = "datetime,open,high,low,close,volume,amount\n\
            20240102,9.39,9.42,9.21,9.21,1158366.0,1.0\n";
        let f = parse(Path::new("x.csv"), code(), text.as_bytes()).unwrap();
        assert!(f.layout.float_volume);
        let mut rows = f.rows.clone();
        rows[0].volume = Volume::new(9_007_199_254_740_993);
        let mut more = rows[0];
        more.date = TradeDate::from_yyyymmdd(20240103).unwrap();
        more.volume = Volume::new(100_000_000_000_000_000);
        rows.push(more);
        let written = render(&rows, f.layout);
        let again = parse(Path::new("x.csv"), code(), &written).unwrap();
        assert!(again.errors.is_empty(), "{:?}", again.errors);
        assert_eq!(again.rows, rows, "read back exactly");
        assert!(String::from_utf8(written).unwrap().contains(",9007199254740993,"));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let _ = parse(Path::new("x.csv"), code(), &bytes);
            let mut with_header = format!("{HEADER}\n").into_bytes();
            with_header.extend_from_slice(&bytes);
            let _ = parse(Path::new("x.csv"), code(), &with_header);
        }
    }
}
