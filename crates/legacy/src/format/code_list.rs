//! The stock universe of a kline folder, `_code_list.csv`: a `code,name` header, then the
//! symbols as the data source returns them — bare 6-digit symbols whose market the first two
//! digits tell (`StockCode::from_symbol`).

use std::path::Path;

use tierstore_model::{StockCode, StoreError};

use super::encoding::BOM;
use super::pycsv::{Record, RecordReader};

/// The file's name in a kline folder.
pub const CODE_LIST: &str = "_code_list.csv";

/// The entries that read, and how many data rows there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeList {
    /// Codes and names, in file order.
    pub entries: Vec<(StockCode, String)>,
    /// Data rows, bad ones included.
    pub rows: u64,
}

/// Parses every row; rows that cannot be read are returned beside the good ones, each an
/// error naming the file and line. A wrong header is an error for the whole file.
pub fn parse_lenient(path: &Path, bytes: &[u8]) -> Result<(CodeList, Vec<StoreError>), StoreError> {
    let body = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut records = RecordReader::new(body, 1, 0);
    let mut rec = Record::default();
    let mut list = CodeList::default();
    let mut errors = Vec::new();
    let mut first = true;
    while records.read(&mut rec).map_err(|e| StoreError::corrupt(path, Some(rec.line), e.to_string()))? {
        let text = |i: usize| rec.field(i).map(|f| String::from_utf8_lossy(f).into_owned());
        if first {
            first = false;
            if text(0).as_deref() != Some("code") {
                let shown: Vec<String> = (0..rec.len()).filter_map(text).collect();
                return Err(StoreError::corrupt(
                    path,
                    Some(rec.line),
                    format!("header is {:?}, expected \"code,name\"", shown.join(",")),
                ));
            }
            continue;
        }
        list.rows += 1;
        if rec.terminator.is_none() {
            errors.push(super::cut_off(path, rec.line));
            continue;
        }
        let symbol = text(0).unwrap_or_default();
        match StockCode::from_symbol(&symbol) {
            Ok(code) => list.entries.push((code, text(1).unwrap_or_default())),
            Err(e) => errors.push(e.at(path, rec.line)),
        }
    }
    Ok((list, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_symbols_and_reports_bad_rows_by_line() {
        let text = "code,name\n000001,平安银行\r\n\n399001,深证成指\n600000,\"浦发,银行\"\n83079";
        let (list, errors) = parse_lenient(Path::new(CODE_LIST), text.as_bytes()).unwrap();
        let shown: Vec<(String, &str)> =
            list.entries.iter().map(|(c, n)| (c.to_string(), n.as_str())).collect();
        assert_eq!(shown, [("000001.SZ".to_owned(), "平安银行"), ("600000.SH".to_owned(), "浦发,银行")]);
        assert_eq!(list.rows, 4);
        let lines: Vec<Option<u64>> = errors
            .iter()
            .map(|e| match e {
                StoreError::Corrupt { line, .. } => *line,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(lines, [Some(4), Some(6)]);
        let e = parse_lenient(Path::new(CODE_LIST), b"symbol,name\n").unwrap_err();
        assert!(e.to_string().contains("line 1: header is \"symbol,name\""), "{e}");
    }
}
