//! Text encodings and line endings of legacy files.
//!
//! The journal is written in the platform's default encoding (GBK on Chinese Windows, UTF-8
//! elsewhere), other tools add a UTF-8 BOM, and line endings mix (an LF header above CRLF
//! rows on Linux, CRLF throughout on Windows). Detection works on raw bytes; GBK is safe to
//! split on `\n`, `,` and `"` because its trail bytes are all 0x40 or above.

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
        let (_, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
        (!had_errors).then_some(Encoding::Gbk)
    }

    /// Detects from a prefix of a file that may end in the middle of a character: only the
    /// part up to the last line break counts.
    pub fn detect_prefix(prefix: &[u8]) -> Option<Encoding> {
        let cut = prefix.iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(prefix.len());
        Self::detect(&prefix[..cut])
    }

    /// Decodes bytes (without any BOM) in this encoding; `None` if they are not valid in it.
    pub fn decode<'a>(self, bytes: &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
        match self {
            Encoding::Ascii | Encoding::Utf8 | Encoding::Utf8Bom => {
                std::str::from_utf8(bytes).ok().map(std::borrow::Cow::Borrowed)
            }
            Encoding::Gbk => encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(bytes),
        }
    }

    /// Encodes text for a file in this encoding. A character GBK cannot represent is an
    /// error naming `field`, never a silent `?`.
    pub fn encode(self, field: &str, text: &str) -> Result<Vec<u8>, StoreError> {
        match self {
            Encoding::Ascii | Encoding::Utf8 | Encoding::Utf8Bom => Ok(text.as_bytes().to_vec()),
            Encoding::Gbk => {
                let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
                if unmappable {
                    let bad = text
                        .chars()
                        .find(|c| encoding_rs::GBK.encode(&c.to_string()).2)
                        .map(|c| format!("{c:?}"))
                        .unwrap_or_default();
                    return Err(StoreError::invalid(
                        field,
                        text,
                        format!("character {bad} cannot be written to a GBK file"),
                    ));
                }
                Ok(bytes.into_owned())
            }
        }
    }
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
}

impl Eol {
    /// The bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::Crlf => "\r\n",
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
    fn prefix_detection_ignores_a_cut_character() {
        let text = "日期,时间\n平安".as_bytes();
        let cut = &text[..text.len() - 1];
        assert_eq!(Encoding::detect_prefix(cut), Some(Encoding::Utf8));
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
