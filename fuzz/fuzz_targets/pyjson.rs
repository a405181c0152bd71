//! Any text Python's `json` would accept, read and written back, reads back and writes the
//! same: render → parse → render is a fixed point, and nothing panics.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::format::pyjson;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(doc) = pyjson::parse(text) else { return };
    let once = pyjson::dumps(&doc);
    let again = pyjson::parse(&once).expect("what we write parses");
    assert_eq!(pyjson::dumps(&again), once, "render, parse, render is stable");
});
