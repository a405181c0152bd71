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

use futures::TryStreamExt;
use tierstore_legacy::inspect::{FileKind, inspect_file};
use tierstore_legacy::{LegacyConfig, LegacyStore};
use tierstore_model::{AccountId, Trade, TradeQuery, TradeStore};

const ROWS: usize = 1500;
const HEADER: &str = "日期,时间,代码,名称,类型,注释,成交价,成交量\n";

fn acct() -> AccountId {
    AccountId::new("prod_pwc").unwrap()
}

/// Row `i` as `csv.writer` writes it. Volumes and prices are long, so that most prefixes of a
/// row are themselves a well-formed row with smaller numbers; some remarks are quoted and hold
/// commas and line breaks.
fn row(i: usize) -> String {
    let remark = match i % 4 {
        0 => "开仓".to_owned(),
        1 => format!("\"止盈,回落{i}%\""),
        2 => format!("\"第{i}笔\r\n续\""),
        _ => String::new(),
    };
    format!(
        "2024-10-{:02},{:02}:{:02}:{:02},{:06}.SZ,平安银行,买入成交,{remark},{}.{:03},{}\r\n",
        10 + i / 500,
        9 + i / 3600 % 6,
        i / 60 % 60,
        i % 60,
        i % 1000 + 1,
        10 + i % 89,
        i % 1000,
        100 * (i + 1) * 1001,
    )
}

/// The worker half: appends every row in pieces of 1 to 7 bytes with a pause between them.
#[test]
#[ignore = "run by concurrent_reads_return_only_rows_the_writer_wrote in a child process"]
fn writer() {
    let path = std::env::var("JOURNAL_RACE_PATH").expect("JOURNAL_RACE_PATH");
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    let mut step = 0usize;
    for i in 0..ROWS {
        let bytes = row(i).into_bytes();
        let mut at = 0;
        while at < bytes.len() {
            step += 1;
            let n = (1 + step * 7919 % 7).min(bytes.len() - at);
            f.write_all(&bytes[at..at + n]).unwrap();
            at += n;
            std::thread::sleep(Duration::from_micros(20));
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

fn check_prefix(got: &[Trade], want: &[Trade], via: &str) {
    assert!(got.len() <= want.len(), "{via}: {} rows, more than written", got.len());
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{via}: row {i} differs from the row the writer wrote");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_return_only_rows_the_writer_wrote() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("prod_pwc");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("deal_hist.csv");
    std::fs::write(&path, HEADER).unwrap();
    let mut accounts = BTreeMap::new();
    accounts.insert(acct(), dir.clone());
    let store = LegacyStore::open(LegacyConfig::new(accounts, None)).await.unwrap();

    // The rows as the store reads them from the finished file, parsed independently of the
    // race: each read's rows must be a prefix of these.
    let all_text: String = std::iter::once(HEADER.to_owned()).chain((0..ROWS).map(row)).collect();
    let reference_dir = root.path().join("reference");
    std::fs::create_dir_all(&reference_dir).unwrap();
    std::fs::write(reference_dir.join("deal_hist.csv"), &all_text).unwrap();
    let mut ref_accounts = BTreeMap::new();
    ref_accounts.insert(acct(), reference_dir);
    let reference = LegacyStore::open(LegacyConfig::new(ref_accounts, None)).await.unwrap();
    let want = reference.trades(&TradeQuery::default()).await.unwrap();
    assert_eq!(want.len(), ROWS);
    assert_eq!(want[1].remark, "止盈,回落1%");
    assert_eq!(want[2].remark, "第2笔\r\n续");

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
        assert!(started.elapsed() < Duration::from_secs(120), "the writer takes too long");
    }
    assert!(child.0.wait().unwrap().success());
    assert_eq!(store.trades(&q).await.unwrap(), want, "all rows once the writer is done");
    eprintln!("{reads} reads, {partial_views} saw a row being written, {:?}", started.elapsed());
    assert!(reads >= 1000, "only {reads} reads raced the writer");
    assert!(partial_views > 0, "no read ever saw a row being written ({reads} reads)");
    assert_eq!(longest, ROWS);
}

#[test]
fn rows_are_what_csv_writer_writes() {
    // The helper itself: quoted remarks, CRLF, one line per row except the multi-line remark.
    assert_eq!(row(0), "2024-10-10,09:00:00,000001.SZ,平安银行,买入成交,开仓,10.000,100100\r\n");
    assert_eq!(row(2), "2024-10-10,09:00:02,000003.SZ,平安银行,买入成交,\"第2笔\r\n续\",12.002,300300\r\n");
}
