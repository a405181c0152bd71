//! Any bytes as a kline file: no panic, and the bars that read, written back in the file's
//! layout, read again as the same bars without errors.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::format::klines;
use tierstore_model::StockCode;

fuzz_target!(|data: &[u8]| {
    let path = std::path::Path::new("000001.SZ.csv");
    let code = StockCode::parse("000001.SZ").expect("a valid code");
    let Ok(file) = klines::parse(path, code, data) else { return };
    let written = klines::render(&file.rows, file.layout);
    let again = klines::parse(path, code, &written).expect("what we write parses");
    assert!(again.errors.is_empty(), "{:?}", again.errors);
    assert_eq!(again.rows, file.rows);
});
