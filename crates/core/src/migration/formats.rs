//! How each source file is spelt, recorded by `init` so `export` writes the databases back
//! as the Python program would have: a journal's encoding and line endings, an asset file's
//! line ending and BOM, a kline file's layout, and the JSON documents' skeletons (key order
//! and spelling, shape, indentation, line endings) whose values export replaces with the
//! database's.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use tierstore_legacy::format::assets::ASSETS;
use tierstore_legacy::format::code_list::CODE_LIST;
use tierstore_legacy::format::encoding::{BOM, Encoding, Eol};
use tierstore_legacy::format::journal::{self, DEALS, JournalLayout, SNIFF};
use tierstore_legacy::format::klines::{self, KlineLayout};
use tierstore_legacy::format::positions::{HELD_DAYS, MAX_PRICE, MIN_PRICE};
use tierstore_model::{AccountId, MigrationStateStore, Result, StockCode, StoreError};

use super::Source;
use super::records;

/// The record key.
const FORMATS: &str = "formats";

const ENCODINGS: [Encoding; 4] = [Encoding::Ascii, Encoding::Utf8, Encoding::Utf8Bom, Encoding::Gbk];
const EOLS: [Eol; 3] = [Eol::Lf, Eol::Crlf, Eol::Cr];

fn encoding_named(name: &str) -> Result<Encoding> {
    ENCODINGS
        .into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| StoreError::invalid("migration record formats", name, "not an encoding"))
}

fn eol_named(name: &str) -> Result<Eol> {
    EOLS.into_iter()
        .find(|e| e.name() == name)
        .ok_or_else(|| StoreError::invalid("migration record formats", name, "not a line ending"))
}

/// A journal's spelling.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct JournalFormat {
    encoding: String,
    header_eol: String,
    row_eol: String,
}

impl JournalFormat {
    pub(crate) fn layout(&self) -> Result<JournalLayout> {
        Ok(JournalLayout {
            encoding: encoding_named(&self.encoding)?,
            header_eol: eol_named(&self.header_eol)?,
            row_eol: eol_named(&self.row_eol)?,
            terminated: true,
        })
    }

    pub(crate) fn of(layout: JournalLayout) -> Self {
        JournalFormat {
            encoding: layout.encoding.name().to_owned(),
            header_eol: layout.header_eol.name().to_owned(),
            row_eol: layout.row_eol.name().to_owned(),
        }
    }
}

/// A text file's line ending and BOM.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct TextFormat {
    eol: String,
    bom: bool,
}

impl TextFormat {
    pub(crate) fn eol(&self) -> Result<Eol> {
        eol_named(&self.eol)
    }

    pub(crate) fn bom(&self) -> bool {
        self.bom
    }
}

/// A kline file's layout.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct KlineFormat {
    eol: String,
    bom: bool,
    float_volume: bool,
}

impl KlineFormat {
    fn of(l: KlineLayout) -> Self {
        KlineFormat { eol: l.eol.name().to_owned(), bom: l.bom, float_volume: l.float_volume }
    }

    pub(crate) fn layout(&self) -> Result<KlineLayout> {
        Ok(KlineLayout { eol: eol_named(&self.eol)?, bom: self.bom, float_volume: self.float_volume })
    }
}

/// One account's files.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountFormats {
    pub journal: Option<JournalFormat>,
    pub assets: Option<TextFormat>,
    /// The JSON documents as read (their values are replaced on export).
    pub held_days: Option<String>,
    pub max_price: Option<String>,
    pub min_price: Option<String>,
}

/// Every source file's spelling.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Formats {
    pub accounts: BTreeMap<AccountId, AccountFormats>,
    /// The layout most kline files share.
    pub kline_default: Option<KlineFormat>,
    /// Kline files spelt otherwise, by code.
    pub kline_other: BTreeMap<String, KlineFormat>,
    /// `_code_list.csv` as it was (the databases do not hold it).
    pub code_list: Option<String>,
}

impl Formats {
    pub(crate) async fn recorded(warm: &impl MigrationStateStore) -> Result<Formats> {
        Ok(records::load(warm, FORMATS).await?.unwrap_or_default())
    }

    pub(crate) async fn record(&self, warm: &impl MigrationStateStore) -> Result<()> {
        records::save(warm, FORMATS, self).await
    }

    /// The layout of `code`'s kline file, if known.
    pub(crate) fn kline(&self, code: &StockCode) -> Option<KlineFormat> {
        self.kline_other.get(&code.to_string()).cloned().or_else(|| self.kline_default.clone())
    }
}

fn read_text(path: &Path) -> Result<Option<String>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| StoreError::corrupt(path, None, "not UTF-8 text"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StoreError::corrupt(path, None, format!("cannot read: {e}"))),
    }
}

fn head_and_tail(path: &Path) -> Result<(Vec<u8>, Vec<u8>, u64)> {
    let io = |e: std::io::Error| StoreError::corrupt(path, None, format!("cannot read: {e}"));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut head = Vec::new();
    (&mut f).take(SNIFF as u64).read_to_end(&mut head).map_err(io)?;
    let start = len.saturating_sub(SNIFF as u64);
    let mut tail = vec![0u8; usize::try_from(len - start).unwrap_or(0)];
    std::os::unix::fs::FileExt::read_exact_at(&f, &mut tail, start).map_err(io)?;
    Ok((head, tail, len))
}

/// The layout of a kline file from its first line and first row.
fn kline_layout(path: &Path) -> Result<KlineLayout> {
    let io = |e: std::io::Error| StoreError::corrupt(path, None, format!("cannot read: {e}"));
    let mut head = Vec::new();
    std::fs::File::open(path).map_err(io)?.take(4096).read_to_end(&mut head).map_err(io)?;
    let bom = head.starts_with(BOM);
    let body = if bom { &head[BOM.len()..] } else { &head[..] };
    let eol = Eol::of_first_line(body).unwrap_or(Eol::Lf);
    let first_row = body.split(|b| *b == b'\n').nth(1).unwrap_or_default();
    let volume = first_row.split(|b| *b == b',').nth(5).unwrap_or_default();
    Ok(KlineLayout { bom, eol, float_volume: volume.contains(&b'.') })
}

/// Reads the spelling of every file of `source`.
pub(crate) fn capture(source: &Source) -> Result<Formats> {
    let mut formats = Formats::default();
    for (account, dir) in &source.accounts {
        let mut f = AccountFormats::default();
        let deals = dir.join(DEALS);
        if deals.is_file() {
            let (head, tail, len) = head_and_tail(&deals)?;
            f.journal = Some(JournalFormat::of(journal::layout(&deals, &head, &tail, len)?));
        }
        let assets = dir.join(ASSETS);
        if assets.is_file() {
            let (head, tail, _) = head_and_tail(&assets)?;
            let body = head.strip_prefix(BOM).unwrap_or(&head);
            let eol = Eol::of_first_line(body).or_else(|| Eol::at_end(&tail)).unwrap_or(Eol::Lf);
            f.assets = Some(TextFormat { eol: eol.name().to_owned(), bom: head.starts_with(BOM) });
        }
        f.held_days = read_text(&dir.join(HELD_DAYS))?;
        f.max_price = read_text(&dir.join(MAX_PRICE))?;
        f.min_price = read_text(&dir.join(MIN_PRICE))?;
        formats.accounts.insert(account.clone(), f);
    }
    if let Some(daily) = &source.daily_dir {
        let mut layouts: Vec<(StockCode, KlineFormat)> = Vec::new();
        for path in super::inspection::kline_files(daily)? {
            if let Some(Ok(code)) = klines::code_of(&path) {
                layouts.push((code, KlineFormat::of(kline_layout(&path)?)));
            }
        }
        let mut counts: BTreeMap<(bool, bool, String), usize> = BTreeMap::new();
        for (_, l) in &layouts {
            *counts.entry((l.bom, l.float_volume, l.eol.clone())).or_default() += 1;
        }
        let common = counts.into_iter().max_by_key(|(_, n)| *n).map(|(k, _)| k);
        if let Some((bom, float_volume, eol)) = common {
            let default = KlineFormat { eol, bom, float_volume };
            formats.kline_default = Some(default.clone());
            formats.kline_other =
                layouts.into_iter().filter(|(_, l)| *l != default).map(|(c, l)| (c.to_string(), l)).collect();
        }
        formats.code_list = read_text(&daily.join(CODE_LIST))?;
    }
    Ok(formats)
}
