//! `repr` of any finite float reads back as exactly that float, also through our JSON reader.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::format::{pyfloat, pyjson};

fuzz_target!(|data: [u8; 8]| {
    let v = f64::from_le_bytes(data);
    if !v.is_finite() {
        return;
    }
    let text = pyfloat::float_repr(v);
    assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()), "{text}");
    let mut json = String::new();
    pyfloat::push_json_float(&mut json, v);
    match pyjson::parse(&json) {
        Ok(pyjson::Json::Number(n)) => assert_eq!(n.as_f64().to_bits(), v.to_bits(), "{json}"),
        other => panic!("{json} read as {other:?}"),
    }
});
