//! One position JSON file as an ordered document.

use std::path::{Path, PathBuf};

use serde_json::{Map, Number, Value};
use tierstore_model::{CodeStyle, HeldDays, Price, StockCode, StoreError, TradeDate};

use crate::config::HeldDaysFormat;
use crate::encoding::{BOM, Eol, with_eol};
use crate::pyfmt::json_dumps;

/// The key that records the day of the last "all held days +1".
pub const INC_DATE: &str = "_inc_date";

/// A parsed JSON object file and how it was spelt.
#[derive(Debug, Clone)]
pub struct JsonDoc {
    pub path: PathBuf,
    pub map: Map<String, Value>,
    /// Line ending used by the file (Windows' text mode writes `\r\n`).
    pub eol: Eol,
    bom: bool,
    trailing_newline: bool,
    /// Stock keys: canonical code -> the key as spelt in the file.
    keys: Vec<(StockCode, String)>,
    /// The text as read, for locating keys in error messages.
    source: String,
    pub changed: bool,
}

impl JsonDoc {
    /// An empty document for a file that does not exist yet.
    pub fn empty(path: PathBuf, eol: Eol) -> Self {
        JsonDoc {
            path,
            map: Map::new(),
            eol,
            bom: false,
            trailing_newline: false,
            keys: Vec::new(),
            source: String::new(),
            changed: false,
        }
    }

    /// Parses the file's bytes. Keys are stock codes, or metadata starting with `_`.
    pub fn parse(path: &Path, bytes: &[u8]) -> Result<Self, StoreError> {
        let bom = bytes.starts_with(BOM);
        let body = if bom { &bytes[BOM.len()..] } else { bytes };
        let text = std::str::from_utf8(body)
            .map_err(|e| StoreError::corrupt(path, Some(line_at(body, e.valid_up_to())), "not UTF-8 text"))?;
        let value: Value = serde_json::from_str(text)
            .map_err(|e| StoreError::corrupt(path, Some(e.line() as u64), format!("not valid JSON: {e}")))?;
        let Value::Object(map) = value else {
            return Err(StoreError::corrupt(path, Some(1), "expected a JSON object {...}"));
        };
        let mut keys = Vec::new();
        for k in map.keys() {
            if k.starts_with('_') {
                continue;
            }
            let code = StockCode::parse(k).map_err(|e| e.at(path, key_line(text, k)))?;
            keys.push((code, k.clone()));
        }
        Ok(JsonDoc {
            path: path.to_path_buf(),
            map,
            eol: Eol::of_first_line(body).unwrap_or(Eol::Lf),
            bom,
            trailing_newline: Eol::at_end(body).is_some(),
            keys,
            source: text.to_owned(),
            changed: false,
        })
    }

    /// The file's bytes in the Python program's style (and this file's own line ending).
    pub fn render(&self) -> Vec<u8> {
        let mut text = json_dumps(&Value::Object(self.map.clone()));
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
        self.map.shift_remove(&key);
        self.changed = true;
        true
    }

    /// Sets `key` to `value`, keeping its position if it exists, appending otherwise (as a
    /// Python dict does).
    pub fn set(&mut self, key: String, value: Value) {
        if self.map.get(&key) != Some(&value) {
            self.map.insert(key, value);
            self.changed = true;
        }
    }

    /// The date of the last increment.
    pub fn inc_date(&self) -> Result<Option<TradeDate>, StoreError> {
        match self.map.get(INC_DATE) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => TradeDate::parse(s)
                .map(Some)
                .map_err(|e| e.in_field(INC_DATE).at(&self.path, self.line_of_key(INC_DATE))),
            Some(other) => Err(StoreError::corrupt(
                &self.path,
                Some(self.line_of_key(INC_DATE)),
                format!("{INC_DATE} must be a \"YYYY-MM-DD\" string, found {other}"),
            )),
        }
    }

    /// The shape of a held-days file, if its entries reveal it.
    pub fn held_days_format(&self) -> Option<HeldDaysFormat> {
        let mut seen = None;
        for (_, k) in &self.keys {
            match self.map.get(k) {
                Some(Value::Object(_)) => return Some(HeldDaysFormat::Nested),
                Some(_) => seen = Some(HeldDaysFormat::Flat),
                None => {}
            }
        }
        seen
    }

    /// The held days of `code` in a held-days file.
    pub fn held_days(&self, code: &StockCode) -> Result<Option<HeldDays>, StoreError> {
        let Some(key) = self.key_of(code) else { return Ok(None) };
        let value = self.map.get(key).unwrap_or(&Value::Null);
        let count = match value {
            Value::Object(entry) => match entry.get("day_count") {
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
                format!("held days of {key:?} must be a whole number >= 0 or null, found {count}"),
            )
        })
    }

    /// The price of `code` in a price file.
    pub fn price(&self, code: &StockCode, field: &str) -> Result<Option<Price>, StoreError> {
        let Some(key) = self.key_of(code) else { return Ok(None) };
        match self.map.get(key) {
            Some(Value::Number(n)) => {
                let v = n.as_f64().unwrap_or(f64::NAN);
                // Read as every tier stores it: rounded to 3 decimals, and a value that rounds
                // to zero (only a hand edit writes one) is an error at its line.
                Price::new(field, v)
                    .and_then(|p| p.round3(field))
                    .map(Some)
                    .map_err(|e| e.at(&self.path, self.line_of_key(key)))
            }
            Some(Value::Null) | None => Ok(None),
            Some(other) => Err(StoreError::corrupt(
                &self.path,
                Some(self.line_of_key(key)),
                format!("{field} of {key:?} must be a number, found {other}"),
            )),
        }
    }

    /// The line of the file where `key` appears (1 if it cannot be found).
    fn line_of_key(&self, key: &str) -> u64 {
        key_line(&self.source, key)
    }
}

fn held_days_of(v: &Value) -> Option<HeldDays> {
    match v {
        Value::Null => Some(HeldDays::Closed),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                return u32::try_from(u).ok().map(HeldDays::Open);
            }
            let f = n.as_f64()?;
            (f >= 0.0 && f.fract() == 0.0 && f <= f64::from(u32::MAX)).then_some(HeldDays::Open(f as u32))
        }
        _ => None,
    }
}

/// A JSON number for a held-days count.
pub fn count_value(days: u32) -> Value {
    Value::Number(Number::from(days))
}

/// A JSON number for a price (always a float, as Python's `round(x, 3)` returns).
pub fn price_value(p: Price) -> Value {
    Number::from_f64(p.get()).map(Value::Number).unwrap_or(Value::Null)
}

/// 1-based line of the first `"key"` in `text`.
fn key_line(text: &str, key: &str) -> u64 {
    let needle = serde_json::to_string(key).unwrap_or_default();
    let ascii_needle = json_dumps(&Value::String(key.to_owned()));
    let pos = text.find(&needle).or_else(|| text.find(&ascii_needle)).unwrap_or(0);
    line_at(text.as_bytes(), pos)
}

fn line_at(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())].iter().filter(|b| **b == b'\n').count() as u64 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<JsonDoc, StoreError> {
        JsonDoc::parse(Path::new("held_days.json"), text.as_bytes())
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
        let c = |s| StockCode::parse(s).unwrap();
        assert!(d.held_days(&c("000001.SZ")).unwrap_err().to_string().contains("whole number"));
        assert!(d.held_days(&c("000002.SZ")).unwrap_err().to_string().contains("no day_count"));
        assert!(d.held_days(&c("000003.SZ")).is_err());
        assert_eq!(d.held_days(&c("000004.SZ")).unwrap(), Some(HeldDays::Open(2)));
    }

    #[test]
    fn new_keys_follow_the_files_spelling() {
        let mut d = parse(r#"{"SH600000": 1, "SZ000001": 2}"#).unwrap();
        let k = d.key_for(&StockCode::parse("000002.SZ").unwrap());
        assert_eq!(k, "SZ000002");
        let mut d = parse("{}").unwrap();
        assert_eq!(d.key_for(&StockCode::parse("sz000002").unwrap()), "000002.SZ");
    }
}
