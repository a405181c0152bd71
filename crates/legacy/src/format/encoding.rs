//! Text encodings and line endings of legacy files.
//!
//! The journal is written in the platform's default encoding (GBK on Chinese Windows, UTF-8
//! elsewhere), other tools add a UTF-8 BOM, and line endings mix (an LF header above CRLF
//! rows on Linux, CRLF throughout on Windows). Detection works on raw bytes; GBK is safe to
//! split on `\n`, `\r`, `,` and `"` because its trail bytes are all 0x40 or above.
//!
//! "GBK" means exactly what Python's `gbk` codec (which `cp936` is an alias of) reads and
//! writes. `encoding_rs::GBK` is the WHATWG decoder, which also accepts GB18030's four-byte
//! sequences, `0x80` (€) and 2,149 two-byte codes of the user-defined areas that Python
//! refuses; a file holding them would read cleanly here and then break the Python program (or
//! our own rewrite). [`gbk_invalid_at`] refuses them; where both accept a sequence they map it
//! to the same character (checked against CPython for all 24,066 two-byte codes by
//! `tests/gbk_differential.rs`).

use std::fmt;

use tierstore_model::StoreError;

/// The UTF-8 byte order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A text encoding found in legacy files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Encoding {
    /// Only ASCII bytes (valid as UTF-8 and GBK alike).
    Ascii,
    /// UTF-8 without BOM.
    Utf8,
    /// UTF-8 with a BOM.
    Utf8Bom,
    /// GBK / cp936.
    Gbk,
}

impl Encoding {
    /// The name used in reports: `ascii`, `utf-8`, `utf-8-bom`, `gbk`.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Ascii => "ascii",
            Encoding::Utf8 => "utf-8",
            Encoding::Utf8Bom => "utf-8-bom",
            Encoding::Gbk => "gbk",
        }
    }

    /// Detects the encoding of a file's bytes: BOM, else valid UTF-8 (ASCII if no byte is
    /// above 0x7F), else GBK if it decodes without error.
    pub fn detect(bytes: &[u8]) -> Option<Encoding> {
        if bytes.starts_with(BOM) {
            return Some(Encoding::Utf8Bom);
        }
        if bytes.is_ascii() {
            return Some(Encoding::Ascii);
        }
        if std::str::from_utf8(bytes).is_ok() {
            return Some(Encoding::Utf8);
        }
        gbk_invalid_at(bytes).is_none().then_some(Encoding::Gbk)
    }

    /// Detects from a prefix of a file that may end in the middle of a character: only the
    /// part up to the last line break counts.
    pub fn detect_prefix(prefix: &[u8]) -> Option<Encoding> {
        let cut = prefix.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(prefix.len());
        Self::detect(&prefix[..cut])
    }

    /// The encoding of a text file from its first bytes (`head`, which may end inside a
    /// character or a line): the whole head decides where it can ([`Encoding::detect_prefix`]);
    /// a head that is neither UTF-8 nor GBK throughout — a bad byte in some row — is judged by
    /// its first line (a journal's header is Chinese, so it tells the encoding), leaving the
    /// bad row to be reported at its own line.
    pub fn sniff(head: &[u8]) -> Option<Encoding> {
        if let Some(e) = Self::detect_prefix(head) {
            return Some(e);
        }
        let first = head.split(|b| *b == b'\n').next().unwrap_or(head);
        if first.is_ascii() {
            return None;
        }
        if std::str::from_utf8(first).is_ok() {
            return Some(Encoding::Utf8);
        }
        gbk_invalid_at(first).is_none().then_some(Encoding::Gbk)
    }

    /// Decodes bytes (without any BOM) in this encoding; `None` if they are not valid in it.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Encoding::Ascii | Encoding::Utf8 | Encoding::Utf8Bom => {
                std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed)
            }
            Encoding::Gbk => match gbk_invalid_at(bytes) {
                Some(_) => None,
                None => encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes),
            },
        }
    }

    /// Encodes text for a file in this encoding. A character GBK cannot represent is an
    /// error naming `field`, never a silent `?`.
    pub fn encode(self, field: &str, text: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Encoding::Ascii | Encoding::Utf8 | Encoding::Utf8Bom => Ok(text.as_bytes().to_vec()),
            Encoding::Gbk => {
                let gbk = |s: &str| {
                    let (bytes, _, unmappable) = encoding_rs::GBK.encode(s);
                    (!unmappable && gbk_invalid_at(&bytes).is_none()).then(|| bytes.into_owned())
                };
                gbk(text).ok_or_else(|| {
                    let bad = text
                        .chars()
                        .find(|c| gbk(&c.to_string()).is_none())
                        .map(|c| format!("{c:?}"))
                        .unwrap_or_default();
                    StoreError::invalid(
                        field,
                        text,
                        format!("character {bad} cannot be written to a GBK file"),
                    )
                })
            }
        }
    }
}

/// Two-byte codes that `encoding_rs::GBK` decodes but Python's `gbk` codec refuses (inclusive
/// ranges of `lead << 8 | trail`): the user-defined areas and a few codes GB18030 added.
const PYTHON_GBK_GAPS: [(u16, u16); 53] = [
    (0xA140, 0xA17E),
    (0xA180, 0xA1A0),
    (0xA240, 0xA27E),
    (0xA280, 0xA2A0),
    (0xA2AB, 0xA2B0),
    (0xA2E3, 0xA2E4),
    (0xA2EF, 0xA2F0),
    (0xA2FD, 0xA2FE),
    (0xA340, 0xA37E),
    (0xA380, 0xA3A0),
    (0xA440, 0xA47E),
    (0xA480, 0xA4A0),
    (0xA4F4, 0xA4FE),
    (0xA540, 0xA57E),
    (0xA580, 0xA5A0),
    (0xA5F7, 0xA5FE),
    (0xA640, 0xA67E),
    (0xA680, 0xA6A0),
    (0xA6B9, 0xA6C0),
    (0xA6D9, 0xA6DF),
    (0xA6EC, 0xA6ED),
    (0xA6F3, 0xA6F3),
    (0xA6F6, 0xA6FE),
    (0xA740, 0xA77E),
    (0xA780, 0xA7A0),
    (0xA7C2, 0xA7D0),
    (0xA7F2, 0xA7FE),
    (0xA896, 0xA8A0),
    (0xA8BC, 0xA8BC),
    (0xA8BF, 0xA8BF),
    (0xA8C1, 0xA8C4),
    (0xA8EA, 0xA8FE),
    (0xA958, 0xA958),
    (0xA95B, 0xA95B),
    (0xA95D, 0xA95F),
    (0xA989, 0xA995),
    (0xA997, 0xA9A3),
    (0xA9F0, 0xA9FE),
    (0xAAA1, 0xAAFE),
    (0xABA1, 0xABFE),
    (0xACA1, 0xACFE),
    (0xADA1, 0xADFE),
    (0xAEA1, 0xAEFE),
    (0xAFA1, 0xAFFE),
    (0xD7FA, 0xD7FE),
    (0xF8A1, 0xF8FE),
    (0xF9A1, 0xF9FE),
    (0xFAA1, 0xFAFE),
    (0xFBA1, 0xFBFE),
    (0xFCA1, 0xFCFE),
    (0xFDA1, 0xFDFE),
    (0xFE50, 0xFE7E),
    (0xFE80, 0xFEFE),
];

/// The offset of the first byte of `bytes` that Python's `gbk` codec cannot decode, if any:
/// a lone `0x80`/`0xFF`, a lead byte without a valid trail byte (including GB18030's
/// four-byte sequences, whose second byte is a digit, and a lead byte at the very end), or a
/// two-byte code Python does not map.
pub fn gbk_invalid_at(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        let lead = bytes[i];
        if lead < 0x80 {
            i += 1;
            continue;
        }
        if !(0x81..=0xFE).contains(&lead) {
            return Some(i);
        }
        let Some(&trail) = bytes.get(i + 1) else { return Some(i) };
        let code = u16::from(lead) << 8 | u16::from(trail);
        let trail_ok = matches!(trail, 0x40..=0x7E | 0x80..=0xFE);
        if !trail_ok || PYTHON_GBK_GAPS.iter().any(|(a, b)| (*a..=*b).contains(&code)) {
            return Some(i);
        }
        i += 2;
    }
    None
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A line terminator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Eol {
    /// `\n`.
    Lf,
    /// `\r\n`.
    Crlf,
    /// A lone `\r` (classic Mac OS; `csv.reader` ends a record there too).
    Cr,
}

impl Eol {
    /// `lf`, `crlf` or `cr`, as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Eol::Lf => "lf",
            Eol::Crlf => "crlf",
            Eol::Cr => "cr",
        }
    }

    /// The bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::Crlf => "\r\n",
            Eol::Cr => "\r",
        }
    }

    /// The terminator of the first line of `bytes`, if it has one.
    pub fn of_first_line(bytes: &[u8]) -> Option<Eol> {
        let i = bytes.iter().position(|b| *b == b'\n')?;
        Some(if i > 0 && bytes[i - 1] == b'\r' { Eol::Crlf } else { Eol::Lf })
    }

    /// The terminator the text ends with, if it ends with one.
    pub fn at_end(bytes: &[u8]) -> Option<Eol> {
        match bytes {
            [.., b'\r', b'\n'] => Some(Eol::Crlf),
            [.., b'\n'] => Some(Eol::Lf),
            _ => None,
        }
    }

    /// Lf if any line of `bytes` ends in a bare `\n`, else Crlf if any ends in `\r\n`.
    pub fn dominant(bytes: &[u8]) -> Option<Eol> {
        let mut crlf = 0usize;
        let mut lf = 0usize;
        for (i, b) in bytes.iter().enumerate() {
            if *b == b'\n' {
                if i > 0 && bytes[i - 1] == b'\r' {
                    crlf += 1;
                } else {
                    lf += 1;
                }
            }
        }
        match (crlf, lf) {
            (0, 0) => None,
            (c, l) if c >= l => Some(Eol::Crlf),
            _ => Some(Eol::Lf),
        }
    }

    /// A description of the line endings of `bytes`: `lf`, `crlf`, `mixed` or `none`.
    pub fn describe(bytes: &[u8]) -> &'static str {
        let crlf = bytes.windows(2).filter(|w| w == b"\r\n").count();
        let lf = bytes.iter().filter(|b| **b == b'\n').count() - crlf;
        match (crlf, lf) {
            (0, 0) => "none",
            (0, _) => "lf",
            (_, 0) => "crlf",
            _ => "mixed",
        }
    }
}

/// Converts `\n` line breaks of generated text to `eol`.
pub fn with_eol(text: String, eol: Eol) -> String {
    match eol {
        Eol::Lf => text,
        Eol::Crlf => text.replace('\n', "\r\n"),
        Eol::Cr => text.replace('\n', "\r"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_encodings() {
        assert_eq!(Encoding::detect(b"date,asset\n"), Some(Encoding::Ascii));
        assert_eq!(Encoding::detect("日期,时间\n".as_bytes()), Some(Encoding::Utf8));
        assert_eq!(Encoding::detect(b"\xEF\xBB\xBFdate\n"), Some(Encoding::Utf8Bom));
        let gbk = encoding_rs::GBK.encode("日期,时间,平安银行\r\n").0.into_owned();
        assert_eq!(Encoding::detect(&gbk), Some(Encoding::Gbk));
        assert_eq!(Encoding::Gbk.decode(&gbk).unwrap(), "日期,时间,平安银行\r\n");
        assert_eq!(Encoding::detect(b"\xFF\xFF\xFF"), None);
    }

    #[test]
    fn a_bad_row_does_not_hide_the_encoding_of_the_header() {
        let mut gbk = encoding_rs::GBK.encode("日期,时间\r\n").0.into_owned();
        gbk.extend_from_slice(b"\x80,x\r\n");
        assert_eq!(Encoding::sniff(&gbk), Some(Encoding::Gbk));
        let mut utf8 = "日期,时间\n".as_bytes().to_vec();
        utf8.extend_from_slice(b"\xFF,x\n");
        assert_eq!(Encoding::sniff(&utf8), Some(Encoding::Utf8));
        assert_eq!(Encoding::sniff(b"date\n\xFF\n"), None);
    }

    #[test]
    fn prefix_detection_ignores_a_cut_character() {
        let text = "日期,时间\n平安".as_bytes();
        let cut = &text[..text.len() - 1];
        assert_eq!(Encoding::detect_prefix(cut), Some(Encoding::Utf8));
    }

    #[test]
    fn gbk_is_what_python_reads_not_what_gb18030_reads() {
        // € as 0x80, a four-byte GB18030 sequence, a user-defined-area code, a lone lead byte.
        for (bytes, at) in [
            (&b"ab\x80"[..], 2),
            (&b"a\x81\x30\x81\x30"[..], 1),
            (&b"\xB0\xA1\xAA\xA1"[..], 2),
            (&b"\xB0\xA1\xFF"[..], 2),
        ] {
            assert_eq!(gbk_invalid_at(bytes), Some(at), "{bytes:?}");
            assert_eq!(Encoding::Gbk.decode(bytes), None, "{bytes:?}");
        }
        assert_eq!(gbk_invalid_at(b"a\xB0"), Some(1), "a lead byte at the end has no trail");
        assert_eq!(Encoding::detect(b"\xB0\xA1\n\xB0"), None);
        assert_eq!(
            Encoding::detect_prefix(b"\xB0\xA1\n\xB0"),
            Some(Encoding::Gbk),
            "a prefix may cut a character"
        );
        assert_eq!(Encoding::Gbk.decode("啊".as_bytes()), None);
        assert_eq!(Encoding::Gbk.decode(b"\xB0\xA1").unwrap(), "啊");
        assert_eq!(Encoding::detect(b"\xB0\xA1\x80\n"), None, "not UTF-8, not Python's GBK");
        let e = Encoding::Gbk.encode("remark", "价格€").unwrap_err();
        assert!(e.to_string().contains("character '€' cannot be written to a GBK file"), "{e}");
        assert!(
            Encoding::Gbk.encode("remark", "\u{e000}").is_err(),
            "private use maps to a user-defined code"
        );
    }

    #[test]
    fn gbk_encoding_refuses_unmappable_characters() {
        let e = Encoding::Gbk.encode("remark", "止盈😀").unwrap_err();
        assert!(e.to_string().contains("cannot be written to a GBK file"), "{e}");
        assert!(e.to_string().contains("remark"), "{e}");
        assert!(Encoding::Gbk.encode("remark", "止盈,回落").is_ok());
    }

    #[test]
    fn line_endings() {
        assert_eq!(Eol::of_first_line(b"a\nb\r\n"), Some(Eol::Lf));
        assert_eq!(Eol::at_end(b"a\nb\r\n"), Some(Eol::Crlf));
        assert_eq!(Eol::describe(b"a\nb\r\n"), "mixed");
        assert_eq!(Eol::describe(b"a\r\nb\r\n"), "crlf");
        assert_eq!(Eol::at_end(b"a"), None);
        assert_eq!(with_eol("a\nb".into(), Eol::Crlf), "a\r\nb");
    }
}
