//! Any text as a hot-tier account string: no panic, and what decodes re-encodes to a string
//! that decodes to the same state (encoding is canonical: a fixed point after one round).

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_hot::codec;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok((epoch, state)) = codec::decode(text) else { return };
    let encoded = codec::encode(&epoch, &state);
    assert_eq!(codec::decode(&encoded), Ok((epoch.clone(), state.clone())));
    assert_eq!(codec::encode(&epoch, &state), encoded);
});
