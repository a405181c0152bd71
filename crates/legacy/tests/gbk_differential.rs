//! Differential check against the machine's CPython: "GBK" is exactly Python's `gbk` codec —
//! every one- and two-byte sequence decodes to the same character or is refused by both, and
//! every character of the Basic Multilingual Plane encodes to the same bytes or is refused by
//! both.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::process::{Command, Stdio};

use tierstore_legacy::format::encoding::Encoding;

fn python(script: &str) -> String {
    let out = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed for the differential test and could not start ({e}); install it with `apt-get install python3`")
        });
    assert!(out.status.success(), "python3 failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn decoding_matches_pythons_gbk_codec_on_every_short_sequence() {
    let out = python(
        "seqs = [bytes([b]) for b in range(0x80, 0x100)]\n\
         seqs += [bytes([a, b]) for a in range(0x81, 0xff) for b in range(0x30, 0x100)]\n\
         for s in seqs:\n\
         \x20   try: print(s.hex(), ' '.join('%04x' % ord(c) for c in s.decode('gbk')))\n\
         \x20   except UnicodeDecodeError: print(s.hex(), 'ERR')\n",
    );
    let mut differ = Vec::new();
    let mut checked = 0;
    for line in out.lines() {
        let (hex, want) = line.split_once(' ').unwrap();
        let bytes: Vec<u8> =
            (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
        let got = match Encoding::Gbk.decode(&bytes) {
            Some(text) => text.chars().map(|c| format!("{:04x}", c as u32)).collect::<Vec<_>>().join(" "),
            None => "ERR".to_owned(),
        };
        checked += 1;
        if got != want {
            differ.push(format!("{hex}: python {want}, ours {got}"));
        }
    }
    assert_eq!(checked, 128 + 126 * 208);
    assert!(
        differ.is_empty(),
        "{} differ, e.g.\n{}",
        differ.len(),
        differ[..differ.len().min(10)].join("\n")
    );
}

#[test]
fn encoding_matches_pythons_gbk_codec_on_every_bmp_character() {
    let out = python(
        "for cp in range(0x80, 0x10000):\n\
         \x20   if 0xd800 <= cp < 0xe000: continue\n\
         \x20   try: print('%04x' % cp, chr(cp).encode('gbk').hex())\n\
         \x20   except UnicodeEncodeError: print('%04x' % cp, 'ERR')\n",
    );
    let mut differ = Vec::new();
    let mut checked = 0;
    for line in out.lines() {
        checked += 1;
        let (cp, want) = line.split_once(' ').unwrap();
        let c = char::from_u32(u32::from_str_radix(cp, 16).unwrap()).unwrap();
        let got = match Encoding::Gbk.encode("text", &c.to_string()) {
            Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
            Err(_) => "ERR".to_owned(),
        };
        if got != want {
            differ.push(format!("U+{cp}: python {want}, ours {got}"));
        }
    }
    assert_eq!(checked, 0x1_0000 - 0x80 - 0x800, "every BMP character from U+0080, surrogates aside");
    assert!(
        differ.is_empty(),
        "{} differ, e.g.\n{}",
        differ.len(),
        differ[..differ.len().min(10)].join("\n")
    );
}
