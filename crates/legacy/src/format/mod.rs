//! The format layer: each legacy file's bytes parsed into model values and rendered back
//! exactly as the Python program writes them. Pure — no files are opened here; the store and
//! the tools read and write the bytes.
//!
//! - [`pyfloat`], [`pyjson`], [`pycsv`]: how CPython spells floats, JSON and CSV, and how its
//!   `json` and `csv` modules read them;
//! - [`encoding`]: UTF-8 / BOM / GBK (as Python's `gbk` codec has it) and line endings;
//! - [`positions`], [`journal`], [`assets`], [`klines`], [`code_list`]: one module per kind of
//!   file.

pub mod assets;
pub mod code_list;
pub mod encoding;
pub mod journal;
pub mod klines;
pub mod positions;
pub mod pycsv;
pub mod pyfloat;
pub mod pyjson;

/// The error for the last line of a file that is written whole (by pandas or a data source)
/// when it has no terminator: the file was cut off.
pub(crate) fn cut_off(path: &std::path::Path, line: u64) -> tierstore_model::StoreError {
    tierstore_model::StoreError::corrupt(path, Some(line), "last line has no line terminator (truncated?)")
}
