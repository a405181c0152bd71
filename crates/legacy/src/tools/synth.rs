//! A realistic legacy dataset, written exactly as the Python program writes it: for tests,
//! demos and benchmarks (`storectl gen-legacy`).
//!
//! It carries what real caches carry: both held-days shapes across accounts, closed
//! positions, repurchase codes, Chinese names, remarks with commas and quotes, an unknown
//! order label, float-spelt volumes from some data sources, and (`windows`) a GBK journal
//! with CRLF everywhere. The same seed gives the same bytes; kline files are generated in
//! parallel, each from its own seed-derived generator. Every file is rendered by the format
//! layer — the renderers the store writes with — so generated data exercises them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::TimeZone;
use chrono::{Datelike, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tierstore_model::{
    AccountId, AccountPositions, AssetPoint, HeldDays, Kline, Market, Money, OrderKind, Position, Price,
    StockCode, StoreError, Trade, TradeDate, Volume,
};

use crate::config::HeldDaysFormat;
use crate::format::assets::{ASSETS, AssetFile};
use crate::format::code_list::CODE_LIST;
use crate::format::encoding::{Encoding, Eol, with_eol};
use crate::format::journal::{self, DEALS};
use crate::format::klines::{self, KlineLayout};
use crate::format::positions::PositionDocs;
use crate::format::{pycsv, pyfloat};
use crate::fsio::io_error;
use crate::tools::inspect::Totals;

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetSpec {
    /// Strategy directories (accounts).
    pub accounts: u32,
    /// Entries of each account's `held_days.json` (a few are closed in the nested shape).
    pub positions: u32,
    /// Journal rows per account.
    pub trades: u32,
    /// Kline files.
    pub stocks: u32,
    /// Trading days (kline rows per stock, asset rows per account).
    pub days: u32,
    /// Seed of every random choice.
    pub seed: u64,
    /// Chinese Windows: GBK journal and CRLF everywhere.
    pub windows: bool,
}

/// What was written, with the totals `inspect` must report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DatasetSummary {
    /// The strategy directories.
    pub strategy_dirs: Vec<PathBuf>,
    /// The kline folder.
    pub daily_dir: PathBuf,
    /// Expected totals.
    pub totals: Totals,
}

const PREFIXES: [&str; 20] = [
    "平安", "浦发", "招商", "万科", "格力", "美的", "中信", "华泰", "国泰", "海通", "东方", "长江", "宁德",
    "比亚", "贵州", "五粮", "恒瑞", "隆基", "中芯", "京东",
];
const SUFFIXES: [&str; 15] = [
    "银行", "证券", "科技", "电子", "医药", "能源", "材料", "电气", "控股", "集团", "汽车", "地产", "新材",
    "时代", "股份",
];
const REMARKS: [&str; 8] =
    ["开仓", "止盈,回落3%", "止损", "清仓", "加仓 \"追涨\"", "", "尾盘,调仓", "x' OR '1'='1"];
const REPURCHASE: [(&str, &str); 2] = [("131810.SZ", "R-001"), ("204001.SH", "GC001")];

/// Account names: the usual ones first.
fn account_name(i: u32) -> String {
    match i {
        0 => "prod_pwc".into(),
        1 => "test_pwc".into(),
        2 => "sim_pwc".into(),
        n => format!("acct_{:02}", n + 1),
    }
}

fn name_of(rng: &mut ChaCha8Rng) -> String {
    let mut s = String::new();
    if rng.random_ratio(1, 40) {
        s.push_str("*ST");
    }
    s.push_str(PREFIXES[rng.random_range(0..PREFIXES.len())]);
    s.push_str(SUFFIXES[rng.random_range(0..SUFFIXES.len())]);
    s
}

/// `n` distinct stock codes with realistic prefixes on all three markets, sorted.
fn universe(n: u32, rng: &mut ChaCha8Rng) -> Vec<StockCode> {
    const BLOCKS: [(&str, Market); 12] = [
        ("000", Market::Sz),
        ("001", Market::Sz),
        ("002", Market::Sz),
        ("300", Market::Sz),
        ("301", Market::Sz),
        ("600", Market::Sh),
        ("601", Market::Sh),
        ("603", Market::Sh),
        ("605", Market::Sh),
        ("688", Market::Sh),
        ("830", Market::Bj),
        ("920", Market::Bj),
    ];
    let mut set = BTreeSet::new();
    while set.len() < n as usize {
        let (prefix, market) = BLOCKS[rng.random_range(0..BLOCKS.len())];
        let symbol = format!("{prefix}{:03}", rng.random_range(0..1000));
        if let Ok(c) = StockCode::new(&symbol, market) {
            set.insert(c);
        }
    }
    set.into_iter().collect()
}

/// The first `n` weekdays from 2020-01-02.
fn trading_days(n: u32) -> Result<Vec<TradeDate>, StoreError> {
    let mut out = Vec::with_capacity(n as usize);
    let mut d = TradeDate::from_ymd(2020, 1, 2)?;
    while out.len() < n as usize {
        if !matches!(d.naive().weekday(), Weekday::Sat | Weekday::Sun) {
            out.push(d);
        }
        d = d
            .succ()
            .ok_or_else(|| StoreError::invalid("days", n.to_string(), "runs past the storable dates"))?;
    }
    Ok(out)
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    std::fs::write(path, bytes).map_err(|e| io_error(path, "cannot write", &e))
}

/// The dataset the benchmarks share: 5,000 stocks × 1,250 days (6.25 M kline rows) and three
/// accounts of 100,000 journal rows.
pub const BENCH_DATASET: DatasetSpec = DatasetSpec {
    accounts: 3,
    positions: 30,
    trades: 100_000,
    stocks: 5_000,
    days: 1_250,
    seed: 1,
    windows: false,
};

/// Where benchmarks keep [`BENCH_DATASET`]: `$TIERSTORE_BENCH_DATA`, else
/// `<target>/bench-data/legacy-5000x1250-seed1` under `$CARGO_TARGET_DIR` or `default_target`.
pub fn bench_dataset_dir(default_target: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("TIERSTORE_BENCH_DATA") {
        return PathBuf::from(d);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| default_target.to_path_buf(), PathBuf::from);
    let s = &BENCH_DATASET;
    target.join("bench-data").join(format!("legacy-{}x{}-seed{}", s.stocks, s.days, s.seed))
}

/// Generates `spec` under `dir` unless a complete copy is there (a `.complete` marker, written
/// last); an incomplete one is removed first. Returns what was written when it generated.
pub fn ensure_generated(spec: &DatasetSpec, dir: &Path) -> Result<Option<DatasetSummary>, StoreError> {
    let marker = dir.join(".complete");
    if marker.exists() {
        return Ok(None);
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .map_err(|e| io_error(dir, "cannot clear an incomplete dataset in", &e))?;
    }
    let summary = generate(spec, dir, &|| {})?;
    write(&marker, b"")?;
    Ok(Some(summary))
}

/// Writes the dataset under `out` (which must be empty or absent): one directory per
/// account and `_daily/`. `progress` is called once per kline file written.
pub fn generate(
    spec: &DatasetSpec,
    out: &Path,
    progress: &(dyn Fn() + Sync),
) -> Result<DatasetSummary, StoreError> {
    if out.exists() && std::fs::read_dir(out).map_err(|e| io_error(out, "cannot list", &e))?.next().is_some()
    {
        return Err(StoreError::invalid("out", out.display().to_string(), "exists and is not empty"));
    }
    for (field, v, max) in [
        ("accounts", spec.accounts, 99),
        ("positions", spec.positions, 1_000),
        ("stocks", spec.stocks, 20_000),
        ("days", spec.days, 20_000),
    ] {
        tierstore_model::error::ensure_between(field, u64::from(v), 0, max)?;
    }
    let text_eol = if spec.windows { Eol::Crlf } else { Eol::Lf };
    let days = trading_days(spec.days.max(1))?;
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let codes = universe(spec.stocks, &mut rng);
    let names: Vec<String> = codes.iter().map(|_| name_of(&mut rng)).collect();

    let mut totals = Totals::default();
    let mut strategy_dirs = Vec::new();
    for i in 0..spec.accounts {
        let dir = out.join(account_name(i));
        std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "cannot create", &e))?;
        let mut arng = ChaCha8Rng::seed_from_u64(spec.seed.wrapping_add(0x5EED_0000 + u64::from(i)));
        totals.positions += write_positions(&dir, spec, i % 2 == 0, text_eol, &days, &mut arng)?;
        let account = AccountId::new(account_name(i))?;
        write_journal(&dir, &account, spec, &codes, &names, &days, &mut arng)?;
        totals.trades += u64::from(spec.trades);
        write_assets(&dir, &account, text_eol, &days[..spec.days as usize], &mut arng)?;
        totals.assets += u64::from(spec.days);
        strategy_dirs.push(dir);
    }

    let daily = out.join("_daily");
    std::fs::create_dir_all(&daily).map_err(|e| io_error(&daily, "cannot create", &e))?;
    let mut list = String::from("code,name\n");
    for (c, n) in codes.iter().zip(&names) {
        pycsv::push_row(&mut list, [c.symbol(), n.as_str()]);
        list.push('\n');
    }
    write(&daily.join(CODE_LIST), with_eol(list, text_eol).as_bytes())?;
    write_klines(&daily, spec, &codes, &days[..spec.days as usize], text_eol, progress)?;
    totals.stocks = u64::from(spec.stocks);
    totals.kline_rows = u64::from(spec.stocks) * u64::from(spec.days);
    Ok(DatasetSummary { strategy_dirs, daily_dir: daily, totals })
}

/// Held days (nested or flat), max and min prices. Returns the open positions.
fn write_positions(
    dir: &Path,
    spec: &DatasetSpec,
    nested: bool,
    eol: Eol,
    days: &[TradeDate],
    rng: &mut ChaCha8Rng,
) -> Result<u64, StoreError> {
    let format = if nested { HeldDaysFormat::Nested } else { HeldDaysFormat::Flat };
    let mut state = AccountPositions { last_increment: Some(days[days.len() - 1]), ..Default::default() };
    let mut open = 0u64;
    for k in 0..spec.positions {
        let code = match k {
            1 if spec.positions >= 3 => StockCode::parse(REPURCHASE[0].0)?,
            2 if spec.positions >= 3 => StockCode::parse(REPURCHASE[1].0)?,
            _ => loop {
                let (base, market) =
                    if rng.random_bool(0.5) { (0, Market::Sz) } else { (600_000, Market::Sh) };
                let c = StockCode::new(&format!("{:06}", base + rng.random_range(1..3000)), market)?;
                if !state.positions.contains_key(&c) {
                    break c;
                }
            },
        };
        // In the nested shape about one position in ten is closed (kept with a null count).
        let closed = nested && spec.positions >= 5 && k % 10 == 4;
        let count = rng.random_range(0..30u32);
        if !closed {
            open += 1;
        }
        let base = rng.random_range(5.0..80.0);
        let hi = Price::new("max_price", base * rng.random_range(1.0..1.3))?.round3("max_price")?;
        let lo = Price::new("min_price", base * rng.random_range(0.75..1.0))?.round3("min_price")?;
        let held = if closed { HeldDays::Closed } else { HeldDays::Open(count) };
        state
            .positions
            .insert(code, Position { held_days: Some(held), max_price: Some(hi), min_price: Some(lo) });
    }
    let mut docs = PositionDocs::empty(dir, eol, format);
    docs.replace(&state)?;
    for (path, bytes) in docs.changed_files() {
        write(path, &bytes)?;
    }
    Ok(open)
}

fn write_journal(
    dir: &Path,
    account: &AccountId,
    spec: &DatasetSpec,
    codes: &[StockCode],
    names: &[String],
    days: &[TradeDate],
    rng: &mut ChaCha8Rng,
) -> Result<(), StoreError> {
    let tz = chrono_tz::Asia::Shanghai;
    // Seconds since 09:30 spread over the session, in order within the day.
    let mut times: Vec<(usize, u32)> =
        (0..spec.trades).map(|_| (rng.random_range(0..days.len()), rng.random_range(0..14_400u32))).collect();
    times.sort_unstable();
    let mut trades = Vec::with_capacity(times.len());
    for (day, secs) in times {
        let (code, name) = if codes.is_empty() || rng.random_ratio(1, 20) {
            let (c, n) = REPURCHASE[rng.random_range(0..2)];
            (StockCode::parse(c)?, n.to_owned())
        } else {
            let i = rng.random_range(0..codes.len());
            (codes[i], names[i].clone())
        };
        let kind = match rng.random_range(0..100) {
            0..20 => OrderKind::BuyOrder,
            20..40 => OrderKind::SellOrder,
            40..62 => OrderKind::BuyFill,
            62..85 => OrderKind::SellFill,
            85..95 => OrderKind::Cancel,
            _ => OrderKind::Other("尾盘买入委托".into()),
        };
        let secs = 9 * 3600 + 30 * 60 + secs + if secs >= 7200 { 5400 } else { 0 }; // lunch break
        let local = days[day].naive().and_hms_opt(secs / 3600, secs / 60 % 60, secs % 60).unwrap_or_default();
        let time = tz
            .from_local_datetime(&local)
            .single()
            .ok_or_else(|| {
                StoreError::invalid("time", local.to_string(), "not a single instant in Asia/Shanghai")
            })?
            .with_timezone(&chrono::Utc);
        trades.push(Trade {
            account: account.clone(),
            seq: Some(trades.len() as u64 + 1),
            strategy: None,
            time,
            code,
            name,
            kind,
            remark: REMARKS[rng.random_range(0..REMARKS.len())].to_owned(),
            price: Price::new("price", cents(rng.random_range(2.0..150.0)))?,
            volume: Volume::new(u64::from(rng.random_range(1..100u32) * 100)),
        });
    }
    let (encoding, header_eol) =
        if spec.windows { (Encoding::Gbk, Eol::Crlf) } else { (Encoding::Utf8, Eol::Lf) };
    let path = dir.join(DEALS);
    write(&path, &journal::render_append(&path, &trades, None, encoding, header_eol, &tz)?)
}

fn write_assets(
    dir: &Path,
    account: &AccountId,
    eol: Eol,
    days: &[TradeDate],
    rng: &mut ChaCha8Rng,
) -> Result<(), StoreError> {
    let mut file = AssetFile::empty(eol);
    let mut asset = 1_000_000.0f64;
    for d in days {
        asset = cents(asset * (1.0 + rng.random_range(-0.02..0.021)));
        // pandas holds the curve as floats: the decimal is the float's shortest spelling.
        let total: Money = pyfloat::float_repr(asset)
            .parse()
            .map_err(|_| StoreError::invalid("asset", asset.to_string(), "not a decimal"))?;
        file.upsert(AssetPoint { account: account.clone(), date: *d, total });
    }
    write(&dir.join(ASSETS), &file.render())
}

fn write_klines(
    daily: &Path,
    spec: &DatasetSpec,
    codes: &[StockCode],
    days: &[TradeDate],
    eol: Eol,
    progress: &(dyn Fn() + Sync),
) -> Result<(), StoreError> {
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| -> Result<(), StoreError> {
                    let mut rows: Vec<Kline> = Vec::with_capacity(days.len());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(code) = codes.get(i) else { return Ok(()) };
                        let mut rng = ChaCha8Rng::seed_from_u64(
                            spec.seed ^ (0x9E37_79B9_7F4A_7C15u64.wrapping_mul(i as u64 + 1)),
                        );
                        rows.clear();
                        bars(*code, days, &mut rng, &mut rows)?;
                        // Some data sources write volumes as floats.
                        let layout = KlineLayout { bom: false, eol, float_volume: i.is_multiple_of(3) };
                        write(&klines::path_of(daily, code), &klines::render(&rows, layout))?;
                        progress();
                    }
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join().unwrap_or_else(|_| Err(StoreError::invalid("stocks", "", "a generator thread panicked")))
        })
    })
}

/// A random walk of daily bars in cents.
fn bars(
    code: StockCode,
    days: &[TradeDate],
    rng: &mut ChaCha8Rng,
    out: &mut Vec<Kline>,
) -> Result<(), StoreError> {
    let mut close = cents(rng.random_range(3.0..120.0));
    for d in days {
        let open = cents((close * (1.0 + rng.random_range(-0.01..0.01))).max(0.5));
        let change = (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() - 1.5) * 0.03;
        let c = cents((open * (1.0 + change.clamp(-0.1, 0.1))).max(0.5));
        let high = cents(open.max(c) * (1.0 + rng.random_range(0.0..0.02)));
        let low = cents((open.min(c) * (1.0 - rng.random_range(0.0..0.02))).max(0.01));
        let volume = rng.random_range(10_000..20_000_000u64) / 100 * 100;
        let amount = cents(volume as f64 * (open + c) / 2.0);
        out.push(Kline::new(code, *d, open, high, low, c, Volume::new(volume), amount)?);
        close = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trading_days_skip_weekends() {
        let d = trading_days(3).unwrap();
        let shown: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["2020-01-02", "2020-01-03", "2020-01-06"]);
    }
}
