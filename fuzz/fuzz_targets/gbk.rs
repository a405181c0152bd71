//! Bytes Python's `gbk` codec decodes encode back to the same bytes.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::format::encoding::Encoding;

fuzz_target!(|data: &[u8]| {
    if let Some(text) = Encoding::Gbk.decode(data) {
        let bytes = Encoding::Gbk.encode("text", &text).expect("decoded text encodes");
        assert_eq!(bytes, data);
    }
});
