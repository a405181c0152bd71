//! The three position files — `held_days.json`, `max_price.json`, `min_price.json` — as
//! ordered JSON documents, and the position operations on them.
//!
//! They are kept as documents rather than converted to structs and back, so everything an
//! operation does not touch — key order, extra keys of nested entries, metadata keys, number
//! spellings, the key spelling of each code — is written back exactly as it was. Pure: bytes
//! in, bytes out; the store does the reading, locking and atomic writing.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tierstore_model::{
    AccountPositions, CodeStyle, HeldDays, IncrementOutcome, Position, Price, StockCode, StoreError,
    TradeDate,
};

use super::encoding::{BOM, Eol, with_eol};
use super::pyjson::{self, Json, Number, Object};
use crate::config::HeldDaysFormat;

/// The held-days file.
pub const HELD_DAYS: &str = "held_days.json";
/// The max-price file.
pub const MAX_PRICE: &str = "max_price.json";
/// The min-price file.
pub const MIN_PRICE: &str = "min_price.json";
/// The key that records the day of the last "all held days +1".
pub const INC_DATE: &str = "_inc_date";

/// One parsed JSON object file and how it was spelt.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    /// The file, for error messages.
    pub path: PathBuf,
    map: Object,
    /// Line ending used by the file (Windows' text mode writes `\r\n`).
    pub eol: Eol,
    bom: bool,
    trailing_newline: bool,
    /// Stock keys: canonical code -> the key as spelt in the file.
    keys: Vec<(StockCode, String)>,
    /// Whether the document differs from what was read.
    pub changed: bool,
}

impl JsonDoc {
    /// An empty document for a file that does not exist yet.
    pub fn empty(path: PathBuf, eol: Eol) -> Self {
        JsonDoc {
            path,
            map: Object::new(),
            eol,
            bom: false,
            trailing_newline: false,
            keys: Vec::new(),
            changed: false,
        }
    }

    /// Parses a file's bytes. Keys are stock codes, or metadata starting with `_`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, StoreError> {
        let bom = bytes.starts_with(BOM);
        let body = if bom { &bytes[BOM.len()..] } else { bytes };
        let text = std::str::from_utf8(body)
            .map_err(|e| StoreError::corrupt(path, Some(line_at(body, e.valid_up_to())), "not UTF-8 text"))?;
        let value = pyjson::parse(text)
            .map_err(|e| StoreError::corrupt(path, Some(e.line), format!("not valid JSON: {e}")))?;
        let Json::Object(map) = value else {
            return Err(StoreError::corrupt(path, Some(1), "expected a JSON object {...}"));
        };
        let mut keys = Vec::new();
        for m in map.iter() {
            if m.key.starts_with('_') {
                continue;
            }
            let code = StockCode::parse(&m.key).map_err(|e| e.at(path, m.line))?;
            keys.push((code, m.key.clone()));
        }
        Ok(JsonDoc {
            path: path.to_path_buf(),
            map,
            eol: Eol::of_first_line(body).unwrap_or(Eol::Lf),
            bom,
            trailing_newline: Eol::at_end(body).is_some(),
            keys,
            changed: false,
        })
    }

    /// The file's bytes in the Python program's style (and this file's own line ending).
    pub fn render(&self) -> Vec<u8> {
        let mut text = pyjson::dumps(&Json::Object(self.map.clone()));
        if self.trailing_newline {
            text.push('\n');
        }
        let text = with_eol(text, self.eol);
        let mut out = Vec::with_capacity(text.len() + 3);
        if self.bom {
            out.extend_from_slice(BOM);
        }
        out.extend_from_slice(text.as_bytes());
        out
    }

    /// Stock codes in file order.
    pub fn codes(&self) -> impl Iterator<Item = &StockCode> {
        self.keys.iter().map(|(c, _)| c)
    }

    /// The key under which `code` is stored, if it is.
    pub fn key_of(&self, code: &StockCode) -> Option<&str> {
        self.keys.iter().find(|(c, _)| c == code).map(|(_, k)| k.as_str())
    }

    /// The spelling new keys get: the style most keys of this file use (canonical if none).
    fn house_style(&self) -> CodeStyle {
        let mut counts: Vec<(CodeStyle, usize)> = Vec::new();
        for (c, _) in &self.keys {
            match counts.iter_mut().find(|(s, _)| *s == c.style()) {
                Some((_, n)) => *n += 1,
                None => counts.push((c.style(), 1)),
            }
        }
        counts.into_iter().max_by_key(|(_, n)| *n).map(|(s, _)| s).unwrap_or(CodeStyle::Suffix)
    }

    /// The key for `code`: the existing one, or a new one in the file's house style.
    pub fn key_for(&mut self, code: &StockCode) -> String {
        if let Some(k) = self.key_of(code) {
            return k.to_owned();
        }
        let styled = code.with_style(self.house_style());
        let key = styled.original();
        self.keys.push((styled, key.clone()));
        key
    }

    /// Removes `code`; true if it was there.
    pub fn remove(&mut self, code: &StockCode) -> bool {
        let Some(pos) = self.keys.iter().position(|(c, _)| c == code) else { return false };
        let (_, key) = self.keys.remove(pos);
        self.map.remove(&key);
        self.changed = true;
        true
    }

    /// Sets `key` to `value`, keeping its position if it exists, appending otherwise (as a
    /// Python dict does).
    pub fn set(&mut self, key: String, value: Json) {
        if self.map.insert(key, value) {
            self.changed = true;
        }
    }

    /// Removes a metadata key.
    pub fn remove_meta(&mut self, key: &str) {
        if self.map.remove(key).is_some() {
            self.changed = true;
        }
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &str) -> Option<&Json> {
        self.map.get(key)
    }

    /// The date of the last increment.
    pub fn inc_date(&self) -> Result<Option<TradeDate>, StoreError> {
        match self.map.get(INC_DATE) {
            None | Some(Json::Null) => Ok(None),
            Some(Json::String(s)) => TradeDate::parse(s)
                .map(Some)
                .map_err(|e| e.in_field(INC_DATE).at(&self.path, self.line_of_key(INC_DATE))),
            Some(other) => Err(StoreError::corrupt(
                &self.path,
                Some(self.line_of_key(INC_DATE)),
                format!("{INC_DATE} must be a \"YYYY-MM-DD\" string, found {}", shown(other)),
            )),
        }
    }

    /// The shape of a held-days file, if its entries reveal it.
    pub fn held_days_format(&self) -> Option<HeldDaysFormat> {
        let mut seen = None;
        for (_, k) in &self.keys {
            match self.map.get(k) {
                Some(Json::Object(_)) => return Some(HeldDaysFormat::Nested),
                Some(_) => seen = Some(HeldDaysFormat::Flat),
                None => {}
            }
        }
        seen
    }

    /// The held days of `code` in a held-days file.
    pub fn held_days(&self, code: &StockCode) -> Result<Option<HeldDays>, StoreError> {
        let Some(key) = self.key_of(code) else { return Ok(None) };
        let value = self.map.get(key).unwrap_or(&Json::Null);
        let count = match value {
            Json::Object(entry) => match entry.get("day_count") {
                Some(v) => v,
                None => {
                    return Err(StoreError::corrupt(
                        &self.path,
                        Some(self.line_of_key(key)),
                        format!("entry {key:?} has no day_count"),
                    ));
                }
            },
            v => v,
        };
        held_days_of(count).map(Some).ok_or_else(|| {
            StoreError::corrupt(
                &self.path,
                Some(self.line_of_key(key)),
                format!("held days of {key:?} must be a whole number >= 0 or null, found {}", shown(count)),
            )
        })
    }

    /// The price of `code` in a price file, as every tier stores it: rounded to 3 decimals. A
    /// value that rounds to zero (only a hand edit writes one) is an error at its line.
    pub fn price(&self, code: &StockCode, field: &str) -> Result<Option<Price>, StoreError> {
        let Some(key) = self.key_of(code) else { return Ok(None) };
        match self.map.get(key) {
            Some(Json::Number(n)) => Price::new(field, n.as_f64())
                .and_then(|p| p.round3(field))
                .map(Some)
                .map_err(|e| e.at(&self.path, self.line_of_key(key))),
            Some(Json::Null) | None => Ok(None),
            Some(other) => Err(StoreError::corrupt(
                &self.path,
                Some(self.line_of_key(key)),
                format!("{field} of {key:?} must be a number, found {}", shown(other)),
            )),
        }
    }

    /// The line of the file where `key` appears (1 if it was not read from the file).
    fn line_of_key(&self, key: &str) -> u64 {
        self.map.member(key).map(|m| m.line).filter(|l| *l > 0).unwrap_or(1)
    }
}

fn shown(v: &Json) -> String {
    let text = pyjson::dumps(v);
    match text.char_indices().nth(40) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

fn held_days_of(v: &Json) -> Option<HeldDays> {
    match v {
        Json::Null => Some(HeldDays::Closed),
        Json::Number(n) => {
            if let Some(u) = n.as_u64() {
                return u32::try_from(u).ok().map(HeldDays::Open);
            }
            let f = n.as_f64();
            (f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX)).then_some(HeldDays::Open(f as u32))
        }
        _ => None,
    }
}

/// A JSON number for a held-days count.
pub fn count_value(days: u32) -> Json {
    Json::Number(Number::int(u64::from(days)))
}

/// A JSON number for a price (always a float, as Python's `round(x, 3)` returns).
pub fn price_value(p: Price) -> Json {
    Json::Number(Number::float(p.get()))
}

fn line_at(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

/// The three position documents of one account and the operations of the position store on
/// them. Every entry is validated on construction, so a file with a bad entry is reported,
/// never rewritten with the garbage carried along.
#[derive(Debug)]
pub struct PositionDocs {
    /// `held_days.json`.
    pub held: JsonDoc,
    /// `max_price.json`.
    pub max: JsonDoc,
    /// `min_price.json`.
    pub min: JsonDoc,
    format: HeldDaysFormat,
}

impl PositionDocs {
    /// Wraps the three documents; `default_format` is the held-days shape used when the
    /// held-days file does not reveal one.
    pub fn new(
        held: JsonDoc,
        max: JsonDoc,
        min: JsonDoc,
        default_format: HeldDaysFormat,
    ) -> Result<Self, StoreError> {
        let format = held.held_days_format().unwrap_or(default_format);
        let docs = PositionDocs { held, max, min, format };
        docs.snapshot()?;
        Ok(docs)
    }

    /// Empty documents for a directory without position files.
    pub fn empty(dir: &Path, eol: Eol, format: HeldDaysFormat) -> Self {
        PositionDocs {
            held: JsonDoc::empty(dir.join(HELD_DAYS), eol),
            max: JsonDoc::empty(dir.join(MAX_PRICE), eol),
            min: JsonDoc::empty(dir.join(MIN_PRICE), eol),
            format,
        }
    }

    /// The documents that changed, rendered: all are rendered before any is written.
    pub fn changed_files(&self) -> Vec<(&Path, Vec<u8>)> {
        [&self.held, &self.max, &self.min]
            .into_iter()
            .filter(|d| d.changed)
            .map(|d| (d.path.as_path(), d.render()))
            .collect()
    }

    /// Every stock with any state, and the last increment date.
    pub fn snapshot(&self) -> Result<AccountPositions, StoreError> {
        let mut positions = BTreeMap::new();
        let codes: Vec<StockCode> =
            self.held.codes().chain(self.max.codes()).chain(self.min.codes()).copied().collect();
        for code in codes {
            if positions.contains_key(&code) {
                continue;
            }
            positions.insert(code, self.position(&code)?);
        }
        Ok(AccountPositions { last_increment: self.held.inc_date()?, positions })
    }

    /// One stock's state (all parts `None` if it has none).
    pub fn position(&self, code: &StockCode) -> Result<Position, StoreError> {
        Ok(Position {
            held_days: self.held.held_days(code)?,
            max_price: self.max.price(code, "max_price")?,
            min_price: self.min.price(code, "min_price")?,
        })
    }

    /// Sets held days, in the file's shape. A closed position in the flat shape is deleted
    /// (as the Python program does) — unless the file already marks it closed with `null`,
    /// which is then left as it is.
    pub fn set_held_days(&mut self, code: &StockCode, days: HeldDays) {
        match (self.format, days) {
            (HeldDaysFormat::Flat, HeldDays::Closed) => {
                let marked = self.held.key_of(code).is_some_and(|k| self.held.get(k) == Some(&Json::Null));
                if !marked {
                    self.held.remove(code);
                }
            }
            (HeldDaysFormat::Flat, HeldDays::Open(n)) => {
                let key = self.held.key_for(code);
                self.held.set(key, count_value(n));
            }
            (HeldDaysFormat::Nested, days) => {
                let key = self.held.key_for(code);
                // Keep whatever else the program stores in the entry.
                let mut entry = match self.held.get(&key) {
                    Some(Json::Object(m)) => m.clone(),
                    _ => Object::new(),
                };
                entry.insert("day_count".into(), days.days().map(count_value).unwrap_or(Json::Null));
                self.held.set(key, Json::Object(entry));
            }
        }
    }

    /// Opens positions at day 0; open ones keep their count. Returns how many were opened.
    pub fn open(&mut self, codes: &[StockCode]) -> Result<u32, StoreError> {
        let mut opened = 0;
        for code in codes {
            if self.held.held_days(code)?.is_some_and(HeldDays::is_open) {
                continue;
            }
            self.set_held_days(code, HeldDays::Open(0));
            opened += 1;
        }
        Ok(opened)
    }

    /// Marks a position closed if it has held days.
    pub fn close(&mut self, code: &StockCode) -> Result<(), StoreError> {
        if self.held.held_days(code)?.is_some() {
            self.set_held_days(code, HeldDays::Closed);
        }
        Ok(())
    }

    /// Removes everything stored for `code`.
    pub fn remove(&mut self, code: &StockCode) {
        self.held.remove(code);
        self.max.remove(code);
        self.min.remove(code);
    }

    /// Raises the max price if `price` (rounded to 3 decimals) is higher; returns the max.
    pub fn raise_max(&mut self, code: &StockCode, price: Price) -> Result<Price, StoreError> {
        let price = price.round3("max_price")?;
        match self.max.price(code, "max_price")? {
            Some(current) if current.get() >= price.get() => Ok(current),
            _ => {
                let key = self.max.key_for(code);
                self.max.set(key, price_value(price));
                Ok(price)
            }
        }
    }

    /// Lowers the min price if `price` (rounded to 3 decimals) is lower; returns the min.
    pub fn lower_min(&mut self, code: &StockCode, price: Price) -> Result<Price, StoreError> {
        let price = price.round3("min_price")?;
        match self.min.price(code, "min_price")? {
            Some(current) if current.get() <= price.get() => Ok(current),
            _ => {
                let key = self.min.key_for(code);
                self.min.set(key, price_value(price));
                Ok(price)
            }
        }
    }

    /// "All held days +1" for `today`, unless it already ran on `today` or later.
    pub fn increment(&mut self, today: TradeDate) -> Result<IncrementOutcome, StoreError> {
        if let Some(last) = self.held.inc_date()?
            && today <= last
        {
            return Ok(IncrementOutcome::AlreadyApplied { date: last });
        }
        let codes: Vec<StockCode> = self.held.codes().copied().collect();
        let mut incremented = 0;
        for code in codes {
            if let Some(HeldDays::Open(n)) = self.held.held_days(&code)? {
                self.set_held_days(&code, HeldDays::Open(n.saturating_add(1)));
                incremented += 1;
            }
        }
        self.held.set(INC_DATE.to_owned(), Json::String(today.to_string()));
        Ok(IncrementOutcome::Applied { date: today, incremented })
    }

    /// Makes the documents hold exactly `state` (prices rounded as every tier stores them;
    /// a price rounding to zero is refused before anything changes), keeping key order and
    /// extra keys of stocks that stay, and metadata keys other than the increment date.
    pub fn replace(&mut self, state: &AccountPositions) -> Result<(), StoreError> {
        let state = state.rounded()?;
        let existing: Vec<StockCode> =
            self.held.codes().chain(self.max.codes()).chain(self.min.codes()).copied().collect();
        for code in existing.iter().filter(|c| !state.positions.contains_key(c)) {
            self.remove(code);
        }
        for (code, p) in &state.positions {
            match p.held_days {
                Some(days) => self.set_held_days(code, days),
                None => {
                    self.held.remove(code);
                }
            }
            for (doc, price) in [(&mut self.max, p.max_price), (&mut self.min, p.min_price)] {
                match price {
                    Some(price) => {
                        let key = doc.key_for(code);
                        doc.set(key, price_value(price));
                    }
                    None => {
                        doc.remove(code);
                    }
                }
            }
        }
        match state.last_increment {
            Some(d) => self.held.set(INC_DATE.to_owned(), Json::String(d.to_string())),
            None => self.held.remove_meta(INC_DATE),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<JsonDoc, StoreError> {
        JsonDoc::parse(Path::new("held_days.json"), text.as_bytes())
    }

    fn c(s: &str) -> StockCode {
        StockCode::parse(s).unwrap()
    }

    #[test]
    fn bad_keys_are_reported_with_their_line() {
        let e = parse("{\n    \"000001.SZ\": 1,\n    \"NOT-A-CODE\": 2\n}").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"corrupt data in held_days.json line 3: field code = "NOT-A-CODE": expected NNNNNN.XX, XXNNNNNN or xxNNNNNN with market SH, SZ or BJ"#
        );
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let e = parse("{\n    \"000001.SZ\": 1,\n    \"000002.SZ\": \n}").unwrap_err();
        assert!(e.to_string().starts_with("corrupt data in held_days.json line 4: not valid JSON"), "{e}");
        let e = parse("[1, 2]").unwrap_err();
        assert!(e.to_string().contains("expected a JSON object"), "{e}");
    }

    #[test]
    fn held_day_values_are_validated() {
        let d =
            parse(r#"{"000001.SZ": -1, "000002.SZ": {"x": 1}, "000003.SZ": "3", "000004.SZ": 2.0}"#).unwrap();
        assert!(d.held_days(&c("000001.SZ")).unwrap_err().to_string().contains("whole number"));
        assert!(d.held_days(&c("000002.SZ")).unwrap_err().to_string().contains("no day_count"));
        assert!(d.held_days(&c("000003.SZ")).is_err());
        assert_eq!(d.held_days(&c("000004.SZ")).unwrap(), Some(HeldDays::Open(2)));
    }

    #[test]
    fn a_price_rounding_to_zero_is_an_error_at_its_line() {
        let d = JsonDoc::parse(
            Path::new("max_price.json"),
            b"{\n    \"000001.SZ\": 10.0,\n    \"600000.SH\": 1e-05\n}",
        )
        .unwrap();
        let e = d.price(&c("600000.SH"), "max_price").unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"corrupt data in max_price.json line 3: field max_price = "0.00001": rounds to 0.000 at 3 decimals; a position price must be at least 0.0005"#
        );
        assert_eq!(d.price(&c("000001.SZ"), "max_price").unwrap().map(Price::get), Some(10.0));
    }

    #[test]
    fn new_keys_follow_the_files_spelling() {
        let mut d = parse(r#"{"SH600000": 1, "SZ000001": 2}"#).unwrap();
        assert_eq!(d.key_for(&c("000002.SZ")), "SZ000002");
        let mut d = parse("{}").unwrap();
        assert_eq!(d.key_for(&c("sz000002")), "000002.SZ");
    }

    #[test]
    fn untouched_numbers_are_written_as_python_would() {
        // Values Python reads and writes back unchanged, though an f64 round trip through a
        // less careful parser would alter them.
        let text = "{\n    \"000001.SZ\": 10.520000000000001,\n    \"600000.SH\": 999999999999999.9,\n    \"_n\": 18446744073709551616\n}";
        let mut d = JsonDoc::parse(Path::new("max_price.json"), text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(d.render()).unwrap(), text);
        d.set("000002.SZ".into(), price_value(Price::new("p", 5.0).unwrap()));
        assert!(
            String::from_utf8(d.render())
                .unwrap()
                .ends_with("18446744073709551616,\n    \"000002.SZ\": 5.0\n}")
        );
    }
}
