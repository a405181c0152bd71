//! Any bytes as `held_days.json`: no panic; a file that reads, written back untouched, reads
//! as the same state; and replacing the state with itself keeps it.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::HeldDaysFormat;
use tierstore_legacy::format::encoding::Eol;
use tierstore_legacy::format::positions::{JsonDoc, PositionDocs};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("held_days.json");
    let Ok(held) = JsonDoc::parse(path, data) else { return };
    let empty = |name: &str| JsonDoc::empty(Path::new(name).to_path_buf(), Eol::Lf);
    let Ok(mut docs) = PositionDocs::new(
        held.clone(),
        empty("max_price.json"),
        empty("min_price.json"),
        HeldDaysFormat::Nested,
    ) else {
        return;
    };
    let state = docs.snapshot().expect("validated on construction");
    let reread = JsonDoc::parse(path, &held.render()).expect("what we write parses");
    let redocs =
        PositionDocs::new(reread, empty("max_price.json"), empty("min_price.json"), HeldDaysFormat::Nested)
            .expect("what we write is valid");
    assert_eq!(redocs.snapshot().expect("valid"), state);
    docs.replace(&state).expect("a state read from a file can be written");
    assert_eq!(docs.snapshot().expect("valid"), state);
});
