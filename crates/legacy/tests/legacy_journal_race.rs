//! A journal read while the Python program appends to it returns only rows that were written:
//! a writer process appends rows a few bytes at a time (as a buffered writer flushing at any
//! byte would), while this process reads the journal thousands of times through every reader
//! the store has. A row read half-written — `…,10.52,10` of what becomes `…,10.52,1000` — would
//! be a trade that never happened; every row returned must equal, in order, a row the writer
//! wrote.
//!
//! The writer is this test binary run again with a filter selecting an ignored worker test.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::TimeZone;
use futures::TryStreamExt;
use tierstore_legacy::inspect::{FileKind, inspect_file};
use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_model::{
    AccountId, Market, OrderKind, Price, StockCode, Trade, TradeQuery, TradeStore, Volume,
};

const ROWS: usize = 1500;
const HEADER: &str = "日期,时间,代码,名称,类型,注释,成交价,成交量\n";

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}

/// The fields of row `i`. Volumes and prices are long, so that most prefixes of a row are
/// themselves a well-formed row with smaller numbers; some remarks are quoted and hold commas
/// and line breaks.
struct Row {
    day: u32,
    hms: (u32, u32, u32),
    symbol: usize,
    remark: String,
    price: (usize, usize),
    volume: u64,
}

fn fields(i: usize) -> Row {
    Row {
        day: 10 + (i / 500) as u32,
        hms: (9 + (i / 3600 % 6) as u32, (i / 60 % 60) as u32, (i % 60) as u32),
        symbol: i % 1000 + 1,
        remark: match i % 4 {
            0 => "开仓".to_owned(),
            1 => format!("止盈,回落{i}%"),
            2 => format!("第{i}笔\r\n续"),
            _ => String::new(),
        },
        price: (10 + i % 89, i % 1000),
        volume: 100 * (i as u64 + 1) * 1001,
    }
}

/// Row `i` as `csv.writer` writes it.
fn row(i: usize) -> String {
    let r = fields(i);
    let remark = if r.remark.contains([',', '\r']) { format!("\"{}\"", r.remark) } else { r.remark.clone() };
    format!(
        "2024-10-{:02},{:02}:{:02}:{:02},{:06}.SZ,平安银行,买入成交,{remark},{}.{:03},{}\r\n",
        r.day, r.hms.0, r.hms.1, r.hms.2, r.symbol, r.price.0, r.price.1, r.volume,
    )
}

/// Row `i` as the trade it records (ordinal `i + 1`), built from its fields, not by parsing.
fn trade(i: usize) -> Trade {
    let r = fields(i);
    let local = chrono::NaiveDate::from_ymd_opt(2024, 10, r.day)
        .and_then(|d| d.and_hms_opt(r.hms.0, r.hms.1, r.hms.2))
        .unwrap();
    Trade {
        account: acct(),
        seq: Some(i as u64 + 1),
        strategy: None,
        time: chrono_tz::Asia::Shanghai
            .from_local_datetime(&local)
            .single()
            .unwrap()
            .with_timezone(&chrono::Utc),
        code: StockCode::new(&format!("{:06}", r.symbol), Market::Sz).unwrap(),
        name: "平安银行".to_owned(),
        kind: OrderKind::BuyFill,
        remark: r.remark,
        price: Price::new("price", format!("{}.{:03}", r.price.0, r.price.1).parse().unwrap()).unwrap(),
        volume: Volume::new(r.volume),
    }
}

/// How long the writer takes at least, whatever the load: its pieces are paced by the clock.
const WRITER_TIME: Duration = Duration::from_secs(4);

/// The worker half: appends every row in pieces of 1 to 7 bytes, spread over [`WRITER_TIME`].
#[test]
#[ignore = "run by concurrent_reads_return_only_rows_the_writer_wrote in a child process"]
fn writer() {
    // Run alone (e.g. `--ignored`), there is nothing to write to.
    let Ok(path) = std::env::var("JOURNAL_RACE_PATH") else { return };
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let text: Vec<u8> = (0..ROWS).flat_map(|i| row(i).into_bytes()).collect();
    let started = Instant::now();
    let (mut at, mut step) = (0usize, 0usize);
    while at < text.len() {
        step += 1;
        let n = (1 + step * 7919 % 7).min(text.len() - at);
        f.write_all(&text[at..at + n]).unwrap();
        at += n;
        let due = WRITER_TIME.mul_f64(at as f64 / text.len() as f64);
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            std::thread::sleep(wait);
        }
    }
}

/// The writer process, killed if the test ends early (a failed assertion).
struct Writer(std::process::Child);

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A journal of the account holding `initial`, in a temporary strategy directory, and a store
/// over it.
async fn journal_store(initial: &[u8]) -> (tempfile::TempDir, std::path::PathBuf, LegacyStore) {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("prod_pwc");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deal_hist.csv");
    std::fs::write(&path, initial).unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert(acct(), dir);
    let store = LegacyStore::open(LegacyConfig::new(accounts, None)).await.unwrap();
    (root, path, store)
}

fn check_prefix(got: &[Trade], want: &[Trade], via: &str) {
    assert!(got.len() <= want.len(), "{via}: {} rows, more than written", got.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{via}: row {i} differs from the row the writer wrote");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_return_only_rows_the_writer_wrote() {
    let (_root, path, store) = journal_store(HEADER.as_bytes()).await;

    let want: Vec<Trade> = (0..ROWS).map(trade).collect();

    let mut child = Writer(
        Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "writer", "--ignored", "--nocapture", "--test-threads", "1"])
            .env("JOURNAL_RACE_PATH", &path)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );

    let q = TradeQuery::default();
    let started = Instant::now();
    let mut reads = 0usize;
    let mut partial_views = 0usize;
    let mut longest = 0usize;
    loop {
        let done = child.0.try_wait().unwrap().is_some();
        let got = store.trades(&q).await.unwrap();
        check_prefix(&got, &want, "trades");
        let streamed: Vec<Trade> =
            store.stream_trades(&q).try_collect::<Vec<_>>().await.unwrap().into_iter().flatten().collect();
        check_prefix(&streamed, &want, "stream_trades");
        let report = inspect_file(&path, FileKind::Deals, &acct(), chrono_tz::Asia::Shanghai);
        assert!(report.errors.is_empty(), "inspect: {:?}", report.errors);
        reads += 3;
        if !report.notes.is_empty() {
            partial_views += 1;
        }
        longest = longest.max(got.len());
        if done {
            break;
        }
        assert!(started.elapsed() < WRITER_TIME * 30, "the writer takes too long");
    }
    assert!(child.0.wait().unwrap().success());
    assert_eq!(store.trades(&q).await.unwrap(), want, "all rows once the writer is done");
    eprintln!("{reads} reads, {partial_views} saw a row being written, {:?}", started.elapsed());
    assert!(reads >= 1000, "only {reads} reads raced the writer");
    assert!(partial_views > 0, "no read ever saw a row being written ({reads} reads)");
    assert_eq!(longest, ROWS);
}

#[test]
fn the_helpers_agree_with_each_other() {
    // Quoted remarks, CRLF, one line per row except the multi-line remark; and the trades
    // the rows stand for.
    assert_eq!(row(0), "2024-10-10,09:00:00,000001.SZ,平安银行,买入成交,开仓,10.000,100100\r\n");
    assert_eq!(row(1), "2024-10-10,09:00:01,000002.SZ,平安银行,买入成交,\"止盈,回落1%\",11.001,200200\r\n");
    assert_eq!(row(2), "2024-10-10,09:00:02,000003.SZ,平安银行,买入成交,\"第2笔\r\n续\",12.002,300300\r\n");
    let t = trade(1);
    assert_eq!(t.time.to_rfc3339(), "2024-10-10T01:00:01+00:00");
    assert_eq!((t.price.get(), t.volume.get(), t.remark.as_str()), (11.001, 200_200, "止盈,回落1%"));
}

/// Our appends race another writer appending whole rows without our lock (as the Python
/// program does): every identity we hand out must be the ordinal our row really got — the
/// row at that ordinal is ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identities_stay_right_when_another_writer_appends_between_our_count_and_write() {
    let (_root, path, store) = journal_store(HEADER.as_bytes()).await;

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let other = {
        let (stop, path) = (stop.clone(), path.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            let mut n = 0u64;
            // Bounded: after each of its rows our next append counts the whole journal again,
            // so an unbounded writer on a loaded machine would grow it faster than we append.
            while n < 3_000 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                // One write per whole row, as csv.writer's flush of a line buffer does.
                f.write_all(row(3).as_bytes()).unwrap();
                n += 1;
                std::thread::sleep(Duration::from_micros(200));
            }
            n
        })
    };
    let mut ours = Vec::new();
    for i in 0..300 {
        let t = Trade { seq: None, remark: format!("ours-{i}"), ..trade(0) };
        let id = store.append_trades(&[t]).await.unwrap();
        ours.push((id[0].seq, format!("ours-{i}")));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let theirs = other.join().unwrap();
    let all = store.trades(&TradeQuery::default()).await.unwrap();
    let by_seq: BTreeMap<u64, &str> = all.iter().map(|t| (t.seq.unwrap(), t.remark.as_str())).collect();
    assert_eq!(all.len() as u64, 300 + theirs, "every row of both writers");
    // The race was run: the other writer's rows landed between ours, not all before or after.
    assert!(ours.windows(2).any(|w| w[1].0 > w[0].0 + 1), "no row of the other writer between two of ours");
    for (seq, remark) in &ours {
        assert_eq!(by_seq.get(seq).copied(), Some(remark.as_str()), "the row at #{seq} is not ours");
    }
    eprintln!("{theirs} rows of the other writer interleaved with our 300");
}

/// Another writer is in the middle of a row (its last line has no terminator yet) when we
/// append: the append waits for the row to be finished, then writes after it, with the
/// ordinal after it — instead of refusing, or completing the other writer's row with ours.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_append_waits_for_a_row_another_writer_is_finishing() {
    let theirs = row(1).into_bytes();
    let (first_half, second_half) = theirs.split_at(theirs.len() / 2);
    let (_root, path, store) =
        journal_store(&[format!("{HEADER}{}", row(0)).as_bytes(), first_half].concat()).await;

    let finisher = {
        let (path, rest) = (path.clone(), second_half.to_vec());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
            f.write_all(&rest).unwrap();
        })
    };
    let ours = Trade { seq: None, remark: "ours".into(), ..trade(0) };
    let ids = store.append_trades(&[ours]).await.unwrap();
    finisher.join().unwrap();
    assert_eq!(ids[0].seq, 3, "after the header's rows #1 and the other writer's #2");
    let all = store.trades(&TradeQuery::default()).await.unwrap();
    let by_seq: BTreeMap<u64, &Trade> = all.iter().map(|t| (t.seq.unwrap(), t)).collect();
    assert_eq!(by_seq.keys().copied().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(by_seq[&3].remark, "ours");
    assert_eq!(*by_seq[&2], trade(1), "the other writer's row, whole");
}

/// Appends number their rows from a count kept since the last append, not by reading the
/// whole journal again; a journal replaced since (same length, fewer rows) is counted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_rewritten_to_the_same_length_is_counted_again() {
    let (_root, path, store) = journal_store(HEADER.as_bytes()).await;
    let short = |i: usize| Trade { seq: None, remark: "ab".into(), ..trade(i) };
    let ids = store.append_trades(&[short(0), short(1)]).await.unwrap();
    assert_eq!(ids.iter().map(|i| i.seq).collect::<Vec<_>>(), [1, 2]);
    let two_rows = std::fs::read(&path).unwrap();
    // The same bytes as one row: the second row's line folded into the first one's remark.
    let text = String::from_utf8(two_rows.clone()).unwrap();
    let mut lines: Vec<&str> = text.split_inclusive("\r\n").collect();
    let second = lines.pop().unwrap().trim_end_matches("\r\n").to_owned();
    let first = lines.pop().unwrap().trim_end_matches("\r\n").to_owned();
    let folded = first.replacen(",ab,", &format!(",\"ab{}\",", "x".repeat(second.len() - 2 + 2)), 1);
    let mut one_row = lines.concat();
    one_row.push_str(&folded);
    one_row.push_str("\r\n");
    assert_eq!(one_row.len(), two_rows.len(), "the rewrite keeps the length");
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, &one_row).unwrap();
    std::fs::rename(&tmp, &path).unwrap();
    assert_eq!(store.trades(&TradeQuery::default()).await.unwrap().len(), 1);
    let ids = store.append_trades(&[short(2)]).await.unwrap();
    assert_eq!(ids[0].seq, 2, "numbered after the one row the journal now holds");
    let all = store.trades(&TradeQuery::default()).await.unwrap();
    assert_eq!(all.iter().map(|t| t.seq.unwrap()).collect::<Vec<_>>(), [1, 2]);
}
