//! The daily asset curve, `assets.csv` (written by pandas: `date,asset`).

use std::path::Path;

use tierstore_model::{AccountId, AssetPoint, Money, StoreError, TradeDate};

use super::encoding::{BOM, Eol};
use super::pyfloat;

/// The asset curve's file name.
pub const ASSETS: &str = "assets.csv";
const HEADER: &str = "date,asset";

/// A parsed asset file and how it was spelt.
#[derive(Debug, Clone)]
pub struct AssetFile {
    /// Rows in file order.
    pub points: Vec<AssetPoint>,
    /// Line ending.
    pub eol: Eol,
    bom: bool,
}

impl AssetFile {
    /// An empty curve for a new file.
    pub fn empty(eol: Eol) -> Self {
        AssetFile { points: Vec::new(), eol, bom: false }
    }

    /// A curve of `points` in that order, spelt with `eol` (and a BOM if `bom`).
    pub fn spelt(points: Vec<AssetPoint>, eol: Eol, bom: bool) -> Self {
        AssetFile { points, eol, bom }
    }

    /// Parses every row; rows that cannot be read are returned beside the good ones, each an
    /// error naming the file and line.
    pub fn parse_lenient(
        path: &Path,
        bytes: &[u8],
        account: &AccountId,
    ) -> Result<(Self, Vec<StoreError>), StoreError> {
        let bom = bytes.starts_with(BOM);
        let body = if bom { &bytes[BOM.len()..] } else { bytes };
        let text =
            std::str::from_utf8(body).map_err(|_| StoreError::corrupt(path, None, "not UTF-8 text"))?;
        let mut lines = text.split('\n').enumerate();
        let header = lines.next().map(|(_, l)| l.trim_end_matches('\r')).unwrap_or_default();
        if header != HEADER {
            return Err(StoreError::corrupt(
                path,
                Some(1),
                format!("header is {header:?}, expected {HEADER:?}"),
            ));
        }
        let mut points = Vec::new();
        let mut errors = Vec::new();
        let terminated = text.ends_with('\n');
        let mut lines = lines.peekable();
        while let Some((i, raw)) = lines.next() {
            let line = i as u64 + 1;
            let l = raw.trim_end_matches('\r');
            if l.is_empty() {
                continue;
            }
            if lines.peek().is_none() && !terminated {
                // pandas ends every line with a terminator: this one was cut off.
                errors.push(super::cut_off(path, line));
                continue;
            }
            match parse_row(l, account) {
                Ok(p) => points.push(p),
                Err(e) => errors.push(e.at(path, line)),
            }
        }
        Ok((AssetFile { points, eol: Eol::dominant(body).unwrap_or(Eol::Lf), bom }, errors))
    }

    /// Parses the file; the first bad row is an error naming its line.
    pub fn parse(path: &Path, bytes: &[u8], account: &AccountId) -> Result<Self, StoreError> {
        let (file, errors) = Self::parse_lenient(path, bytes, account)?;
        match errors.into_iter().next() {
            Some(e) => Err(e),
            None => Ok(file),
        }
    }

    /// Sets the value of each point's date: replaced in place if the date is there, else
    /// inserted before the first later date (at the end for a new day, as pandas appends).
    pub fn upsert(&mut self, point: AssetPoint) {
        if let Some(existing) = self.points.iter_mut().find(|p| p.date == point.date) {
            existing.total = point.total;
            return;
        }
        let at = self.points.iter().position(|p| p.date > point.date).unwrap_or(self.points.len());
        self.points.insert(at, point);
    }

    /// The bytes pandas would write.
    pub fn render(&self) -> Vec<u8> {
        let eol = self.eol.as_str();
        let mut text = String::with_capacity(16 + self.points.len() * 24);
        if self.bom {
            text.push('\u{feff}');
        }
        text.push_str(HEADER);
        text.push_str(eol);
        for p in &self.points {
            text.push_str(&p.date.to_string());
            text.push(',');
            pyfloat::push_float_repr(&mut text, money_as_float(p.total));
            text.push_str(eol);
        }
        text.into_bytes()
    }
}

fn parse_row(line: &str, account: &AccountId) -> Result<AssetPoint, StoreError> {
    let (date, asset) =
        line.split_once(',').ok_or_else(|| StoreError::invalid("row", line, "expected date,asset"))?;
    if asset.contains(',') {
        return Err(StoreError::invalid("row", line, "expected 2 fields: date,asset"));
    }
    let date = TradeDate::parse(date)?;
    let total = parse_money(asset)?;
    Ok(AssetPoint { account: account.clone(), date, total })
}

fn parse_money(s: &str) -> Result<Money, StoreError> {
    let v = s
        .parse::<Money>()
        .or_else(|_| Money::from_scientific(s))
        .map_err(|_| StoreError::invalid("asset", s, "not a number"))?;
    if v.is_sign_negative() && !v.is_zero() {
        return Err(StoreError::invalid("asset", s, "must not be negative"));
    }
    Ok(v)
}

/// pandas holds assets as floats; a decimal is written as the float it is closest to, which
/// reads back as the same decimal for any value with up to 15 significant digits.
fn money_as_float(m: Money) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    m.to_f64().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acct() -> AccountId {
        AccountId::new("a").unwrap()
    }

    #[test]
    fn pandas_files_round_trip_byte_for_byte() {
        for text in
            ["date,asset\n2024-10-08,1000000.0\n2024-10-09,1001234.56\n", "date,asset\r\n2024-10-08,99.5\r\n"]
        {
            let f = AssetFile::parse(Path::new("assets.csv"), text.as_bytes(), &acct()).unwrap();
            assert_eq!(String::from_utf8(f.render()).unwrap(), text);
        }
    }

    #[test]
    fn bad_rows_name_the_line() {
        let text =
            "date,asset\n2024-10-08,1000000.0\n2024-13-01,5\n2024-10-10,-3\n2024-10-11\n2024-10-12,1000";
        let (f, errors) =
            AssetFile::parse_lenient(Path::new("assets.csv"), text.as_bytes(), &acct()).unwrap();
        assert_eq!(f.points.len(), 1);
        let lines: Vec<Option<u64>> = errors
            .iter()
            .map(|e| match e {
                StoreError::Corrupt { line, .. } => *line,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(lines, [Some(3), Some(4), Some(5), Some(6)]);
        assert!(errors[3].to_string().contains("no line terminator"), "{:?}", errors[3]);
        assert!(errors[0].to_string().contains("date"), "{:?}", errors[0]);
        let e = AssetFile::parse(Path::new("assets.csv"), b"day,value\n", &acct()).unwrap_err();
        assert!(e.to_string().contains("line 1: header"), "{e}");
    }

    #[test]
    fn upsert_replaces_or_inserts_in_date_order() {
        let mut f = AssetFile::empty(Eol::Lf);
        let p = |d: &str, v: i64| AssetPoint {
            account: acct(),
            date: TradeDate::parse(d).unwrap(),
            total: Money::from(v),
        };
        f.upsert(p("2024-10-09", 2));
        f.upsert(p("2024-10-08", 1));
        f.upsert(p("2024-10-10", 3));
        f.upsert(p("2024-10-09", 5));
        let got: Vec<String> = f.points.iter().map(|p| format!("{}={}", p.date, p.total)).collect();
        assert_eq!(got, ["2024-10-08=1", "2024-10-09=5", "2024-10-10=3"]);
    }
}
