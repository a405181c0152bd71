//! Writer processes of their own, in dual_write on the real services: one killed with
//! SIGKILL in the middle of its writes, after which a new process replays the outbox and
//! every tier equals the files; three writing concurrently for 30 s (one account each, an
//! outbox each), after which every tier equals the files.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::workload::{assert_tiers_equal, write};
use common::{Spec, Stack, settle};
use tierstore::Store;
use tierstore::outbox::Outbox;
use tierstore_model::{AccountId, StorageMode, TradeQuery, TradeStore};

/// The worker: opens the store the configuration in `STORE_WRITER_CONFIG` describes and
/// writes the stream for its accounts, printing `round N` after each round; with
/// `STORE_WRITER_SECONDS` it stops after that long, closes the store and prints `done N`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by the process tests in a child process"]
async fn store_writer() {
    let Ok(path) = std::env::var("STORE_WRITER_CONFIG") else { return };
    let config = tierstore::Config::load(Some(std::path::Path::new(&path))).unwrap();
    let store = Store::open(&config).await.unwrap();
    let accounts = store.accounts().to_vec();
    let seconds: Option<u64> = std::env::var("STORE_WRITER_SECONDS").ok().map(|s| s.parse().unwrap());
    let until = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let mut rounds = 0;
    while until.is_none_or(|u| Instant::now() < u) {
        for a in &accounts {
            write(&store, a, rounds).await.unwrap_or_else(|e| panic!("write {rounds} for {a}: {e}"));
        }
        rounds += 1;
        println!("round {rounds}");
    }
    store.close(Duration::from_secs(60)).await.unwrap();
    println!("done {rounds}");
}

fn spawn_writer(config: &std::path::Path, seconds: Option<u64>) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "store_writer", "--ignored", "--nocapture"])
        .env("STORE_WRITER_CONFIG", config)
        .stdout(Stdio::piped());
    if let Some(s) = seconds {
        cmd.env("STORE_WRITER_SECONDS", s.to_string());
    }
    cmd.spawn().unwrap()
}

/// The number after `word` on the last line that has it.
fn last_number(lines: &[String], word: &str) -> Option<u64> {
    lines.iter().rev().find_map(|l| l.strip_prefix(word).and_then(|n| n.trim().parse().ok()))
}

/// Trades the stream writes for one account in `rounds` rounds (write `i` is a trade when
/// `i % 9 == 4`).
fn trades_written(rounds: u64) -> usize {
    (0..rounds).filter(|i| i % 9 == 4).count()
}

async fn journal_rows(stack: &Stack, account: &AccountId) -> usize {
    let q = TradeQuery { accounts: vec![account.clone()], ..Default::default() };
    stack.legacy().await.trades(&q).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_writer_killed_mid_write_is_caught_up_by_the_next_process() {
    let stack = Stack::new(Spec::new(StorageMode::DualWrite)).await;
    let config = stack.config_file("writer", &stack.spec.accounts, "outbox");
    let mut child = spawn_writer(&config, None);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    while last_number(&seen, "round ").unwrap_or(0) < 60 {
        seen.push(lines.next().expect("the writer ended early").unwrap());
    }
    child.kill().unwrap(); // SIGKILL, in the middle of a round
    child.wait().unwrap();
    seen.extend(lines.map_while(Result::ok));
    let rounds = last_number(&seen, "round ").unwrap();

    assert!(stack.outbox_dir().join("running").exists(), "the killed process left its marker");
    let left = Outbox::open(&stack.outbox_dir().join("cool")).unwrap().depth()
        + Outbox::open(&stack.outbox_dir().join("hot")).unwrap().depth();
    assert!(left > 0, "the killed writer left no write in its outbox");

    let store = stack.store().await;
    settle(&store, 30).await;
    for a in &stack.spec.accounts {
        let rows = journal_rows(&stack, a).await;
        // The round in flight may have appended its trade or not.
        let done = trades_written(rounds);
        assert!(rows == done || rows == trades_written(rounds + 1), "{a}: {rows} trades, {done} written");
    }
    assert_tiers_equal(&stack).await;
    drop(store);
    assert!(!stack.outbox_dir().join("running").exists(), "a closed store removes its marker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_writing_for_30_seconds_leave_every_tier_equal() {
    let mut spec = Spec::new(StorageMode::DualWrite);
    spec.accounts = ["acct_a", "acct_b", "acct_c"].map(|a| AccountId::new(a).unwrap()).to_vec();
    let stack = Stack::new(spec).await;
    let children: Vec<(AccountId, Child)> = stack
        .spec
        .accounts
        .iter()
        .map(|a| {
            let config = stack.config_file(a.as_str(), std::slice::from_ref(a), &format!("outbox-{a}"));
            (a.clone(), spawn_writer(&config, Some(30)))
        })
        .collect();
    let mut rounds = Vec::new();
    for (a, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "writer for {a} failed: {}", String::from_utf8_lossy(&out.stderr));
        let lines: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        let n = last_number(&lines, "done ").unwrap_or_else(|| panic!("writer for {a} did not finish"));
        assert!(n > 100, "writer for {a} wrote only {n} rounds in 30 s");
        rounds.push((a, n));
    }
    for (a, n) in &rounds {
        assert_eq!(journal_rows(&stack, a).await, trades_written(*n), "{a}: every trade in the journal once");
        assert!(!stack.path(&format!("outbox-{a}/running")).exists(), "{a}'s writer closed its store");
        for tier in ["hot", "cool"] {
            let left = Outbox::open(&stack.path(&format!("outbox-{a}/{tier}"))).unwrap().depth();
            assert_eq!(left, 0, "{a}'s {tier} outbox: every write reached its tier and was acknowledged");
        }
    }
    let store = stack.store().await;
    settle(&store, 30).await;
    assert_tiers_equal(&stack).await;
}
