//! Position state in `held_days.json`, `max_price.json` and `min_price.json`.
//!
//! The three files are JSON objects written by `json.dumps(obj, indent=4)`. They are kept as
//! ordered JSON documents rather than converted to structs and back, so everything we do not
//! touch — key order, extra keys of nested entries, metadata keys, number spellings — is
//! written back exactly as it was.

pub(crate) mod doc;
mod ops;

pub(crate) use ops::{HELD_DAYS, MAX_PRICE, MIN_PRICE, PositionFiles};
