//! The three position files of one strategy directory, read and changed together.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};
use tierstore_model::{
    AccountPositions, HeldDays, IncrementOutcome, Position, Price, StockCode, StoreError, TradeDate,
};

use super::doc::{INC_DATE, JsonDoc, count_value, price_value};
use crate::config::{HeldDaysFormat, LegacyConfig};
use crate::fsio;

pub const HELD_DAYS: &str = "held_days.json";
pub const MAX_PRICE: &str = "max_price.json";
pub const MIN_PRICE: &str = "min_price.json";

/// `held_days.json`, `max_price.json` and `min_price.json` of one account. Callers hold the
/// directory lock from [`PositionFiles::load`] to [`PositionFiles::save`].
#[derive(Debug)]
pub(crate) struct PositionFiles {
    held: JsonDoc,
    max: JsonDoc,
    min: JsonDoc,
    format: HeldDaysFormat,
}

impl PositionFiles {
    /// Reads the three files of `dir`; a missing file is an empty one. Any malformed entry
    /// is an error naming file and line.
    pub fn load(dir: &Path, config: &LegacyConfig) -> Result<Self, StoreError> {
        let eol = config.platform.text_eol();
        let load = |name: &str| -> Result<JsonDoc, StoreError> {
            let path = dir.join(name);
            Ok(fsio::read_parsed(&path, |b| JsonDoc::parse(&path, b))?
                .unwrap_or_else(|| JsonDoc::empty(path, eol)))
        };
        let held = load(HELD_DAYS)?;
        let format = held.held_days_format().unwrap_or(config.held_days_format);
        let files = PositionFiles { max: load(MAX_PRICE)?, min: load(MIN_PRICE)?, held, format };
        // Every entry is checked, not only those an operation touches: a file with a bad entry
        // is reported, never rewritten with the garbage carried along.
        files.snapshot()?;
        Ok(files)
    }

    /// Writes the files that changed. Each is replaced atomically; all new contents are
    /// rendered before the first is written, so a rendering problem writes nothing.
    pub fn save(&self) -> Result<(), StoreError> {
        let pending: Vec<(&Path, Vec<u8>)> = [&self.held, &self.max, &self.min]
            .into_iter()
            .filter(|d| d.changed)
            .map(|d| (d.path.as_path(), d.render()))
            .collect();
        for (path, bytes) in pending {
            fsio::atomic_write(path, &bytes)?;
        }
        Ok(())
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

    /// Sets held days, in the file's shape. A closed position in the flat shape is deleted.
    pub fn set_held_days(&mut self, code: &StockCode, days: HeldDays) -> Result<(), StoreError> {
        match (self.format, days) {
            (HeldDaysFormat::Flat, HeldDays::Closed) => {
                self.held.remove(code);
            }
            (HeldDaysFormat::Flat, HeldDays::Open(n)) => {
                let key = self.held.key_for(code);
                self.held.set(key, count_value(n));
            }
            (HeldDaysFormat::Nested, days) => {
                let key = self.held.key_for(code);
                // Keep whatever else the program stores in the entry.
                let mut entry = match self.held.map.get(&key) {
                    Some(Value::Object(m)) => m.clone(),
                    _ => Map::new(),
                };
                entry.insert("day_count".into(), days.days().map(count_value).unwrap_or(Value::Null));
                self.held.set(key, Value::Object(entry));
            }
        }
        Ok(())
    }

    /// Opens positions at day 0; open ones keep their count. Returns how many were opened.
    pub fn open(&mut self, codes: &[StockCode]) -> Result<u32, StoreError> {
        let mut opened = 0;
        for code in codes {
            if self.held.held_days(code)?.is_some_and(HeldDays::is_open) {
                continue;
            }
            self.set_held_days(code, HeldDays::Open(0))?;
            opened += 1;
        }
        Ok(opened)
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
                self.set_held_days(&code, HeldDays::Open(n.saturating_add(1)))?;
                incremented += 1;
            }
        }
        self.held.set(INC_DATE.to_owned(), Value::String(today.to_string()));
        Ok(IncrementOutcome::Applied { date: today, incremented })
    }

    /// Makes the files hold exactly `state`, keeping key order and extra keys of stocks that
    /// stay, and metadata keys other than the increment date.
    pub fn replace(&mut self, state: &AccountPositions) -> Result<(), StoreError> {
        // Stored as every tier stores them: rounded, and refused (before any change) if zero.
        let state = &state.rounded()?;
        let existing: Vec<StockCode> =
            self.held.codes().chain(self.max.codes()).chain(self.min.codes()).copied().collect();
        for code in existing.iter().filter(|c| !state.positions.contains_key(c)) {
            self.remove(code);
        }
        for (code, p) in &state.positions {
            match p.held_days {
                Some(days) => self.set_held_days(code, days)?,
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
            Some(d) => self.held.set(INC_DATE.to_owned(), Value::String(d.to_string())),
            None => {
                if self.held.map.shift_remove(INC_DATE).is_some() {
                    self.held.changed = true;
                }
            }
        }
        Ok(())
    }
}
