//! The migration-state contract: the phase table, its log, and checkpoints.

use futures::future::join_all;
use tierstore_model::{Checkpoint, MigrationStateStore, StorageMode};

use crate::warm_env::{WarmEnv, assert_conflict, assert_invalid, start};

fn cp(unit: &str, offset: u64, rows: u64, checksum: &str) -> Checkpoint {
    Checkpoint {
        unit: unit.into(),
        byte_offset: offset,
        line: rows + 1,
        rows,
        checksum: checksum.into(),
        updated_at: start(),
    }
}

/// A new schema is in `file`; moves follow the phase table one step forward or back to any
/// earlier phase; each is logged with from, to, when, who and note; a refused move changes
/// nothing and logs nothing.
pub async fn phase_moves_are_logged<S: MigrationStateStore>(store: &S, env: &WarmEnv) {
    assert_eq!(store.phase().await.expect("phase"), StorageMode::File);
    assert!(store.phase_history().await.expect("history").is_empty());
    let err = store.move_phase(StorageMode::DbFirst, "ops", "too early").await.expect_err("skip");
    assert_conflict(&err, &["file", "db_first", "dual_write first"]);
    let err = store.move_phase(StorageMode::File, "ops", "").await.expect_err("same");
    assert_conflict(&err, &["already there"]);
    assert_eq!(store.phase().await.expect("phase"), StorageMode::File);

    let steps = [
        (StorageMode::DualWrite, "alice", "backfill next"),
        (StorageMode::DbFirst, "bob", "verify passed; 'quoted' & \"double\""),
        (StorageMode::File, "carol", "rollback: broker outage"),
    ];
    for (i, (to, by, note)) in steps.iter().enumerate() {
        env.clock.set(start() + chrono::Duration::minutes(i as i64 + 1));
        let change = store.move_phase(*to, by, note).await.expect("move");
        assert_eq!((change.seq, change.to, change.by.as_str()), (i as u64 + 1, *to, *by));
        assert_eq!(store.phase().await.expect("phase"), *to);
    }
    let history = store.phase_history().await.expect("history");
    let shown: Vec<String> = history
        .iter()
        .map(|c| format!("{} {}->{} {} {} {}", c.seq, c.from, c.to, c.at.format("%H:%M"), c.by, c.note))
        .collect();
    assert_eq!(
        shown,
        [
            "1 file->dual_write 09:31 alice backfill next",
            "2 dual_write->db_first 09:32 bob verify passed; 'quoted' & \"double\"",
            "3 db_first->file 09:33 carol rollback: broker outage",
        ]
    );
    let err = store.move_phase(StorageMode::DualWrite, "", "x").await.expect_err("nobody");
    assert_invalid(&err, "by", "");
    let long = "n".repeat(1001);
    let err = store.move_phase(StorageMode::DualWrite, "ops", &long).await.expect_err("note");
    assert_invalid(&err, "note", &format!("{}…", &long[..80]));
    assert_eq!(store.phase_history().await.expect("history").len(), 3);
    assert_eq!(store.phase().await.expect("phase"), StorageMode::File);
}

/// Eight concurrent moves from `file` to `dual_write`: exactly one is applied and logged.
pub async fn concurrent_moves_apply_once<S: MigrationStateStore>(store: &S, _env: &WarmEnv) {
    let notes: Vec<String> = (0..8).map(|i| format!("racer {i}")).collect();
    let results = join_all(notes.iter().map(|n| store.move_phase(StorageMode::DualWrite, "racer", n))).await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "{results:?}");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_conflict(r, &["already there"]);
    }
    assert_eq!(store.phase_history().await.expect("history").len(), 1);
}

/// Checkpoints are inserted or replaced by unit, read one or all (ordered by unit), and a
/// batch with one bad checkpoint writes none of it.
pub async fn checkpoints_save_all_or_nothing<S: MigrationStateStore>(store: &S, env: &WarmEnv) {
    assert_eq!(store.checkpoint("trades:prod").await.expect("none"), None);
    store
        .save_checkpoints(&[cp("trades:prod_b", 10, 1, "aa"), cp("klines:sh600000", 500, 20, "bb")])
        .await
        .expect("save");
    env.clock.set(start() + chrono::Duration::seconds(30));
    store.save_checkpoints(&[cp("trades:prod_b", 2_000_000_000_000, 123_456, "cc")]).await.expect("replace");
    let got = store.checkpoint("trades:prod_b").await.expect("read").expect("present");
    assert_eq!(
        (got.byte_offset, got.line, got.rows, got.checksum.as_str()),
        (2_000_000_000_000, 123_457, 123_456, "cc")
    );
    assert_eq!(got.updated_at, start() + chrono::Duration::seconds(30));
    let units: Vec<String> = store.checkpoints().await.expect("all").into_iter().map(|c| c.unit).collect();
    assert_eq!(units, ["klines:sh600000", "trades:prod_b"]);

    let before = store.checkpoints().await.expect("all");
    let err = store
        .save_checkpoints(&[cp("trades:prod_b", 1, 1, "dd"), cp("assets:x", 1, 1, "not hex")])
        .await
        .expect_err("bad");
    assert_invalid(&err, "checkpoint checksum", "not hex");
    let err = store.save_checkpoints(&[cp("u", 1, 1, "aa"), cp("u", 2, 2, "bb")]).await.expect_err("twice");
    assert_invalid(&err, "checkpoint unit", "u");
    assert_eq!(store.checkpoints().await.expect("all"), before);
}

/// Clearing by prefix removes exactly the units that start with it (`_` is no wildcard).
pub async fn checkpoints_clear_by_prefix<S: MigrationStateStore>(store: &S, _env: &WarmEnv) {
    store
        .save_checkpoints(&[
            cp("trades:prod_a", 1, 1, "01"),
            cp("trades:prodXa", 1, 1, "02"),
            cp("trades:prod_b", 1, 1, "03"),
            cp("klines:a", 1, 1, "04"),
        ])
        .await
        .expect("save");
    assert_eq!(store.clear_checkpoints("trades:prod_").await.expect("clear"), 2);
    let units: Vec<String> = store.checkpoints().await.expect("all").into_iter().map(|c| c.unit).collect();
    assert_eq!(units, ["klines:a", "trades:prodXa"]);
    assert_eq!(store.clear_checkpoints("").await.expect("all"), 2);
    assert!(store.checkpoints().await.expect("empty").is_empty());
}

/// Records are saved and replaced by key, read back verbatim (large, multi-line and non-ASCII
/// text included), `None` when never saved; a bad key or an oversized value is refused and
/// changes nothing.
pub async fn records_are_kept_by_key<S: MigrationStateStore>(store: &S, _env: &WarmEnv) {
    assert_eq!(store.record("source").await.expect("none"), None);
    store.save_record("source", r#"{"legacy_dir":"/srv/缓存/_cache"}"#).await.expect("save");
    store.save_record("formats:prod_a", "x").await.expect("save");
    assert_eq!(
        store.record("source").await.expect("read").as_deref(),
        Some(r#"{"legacy_dir":"/srv/缓存/_cache"}"#)
    );
    // Larger than MySQL's TEXT (64 KiB).
    let big: String = (0..20_000).map(|i| format!("{i:05}\n")).collect::<Vec<_>>().join(",\r\n");
    assert!(big.len() > 100_000);
    store.save_record("source", &big).await.expect("replace");
    assert_eq!(store.record("source").await.expect("read"), Some(big.clone()));
    assert_eq!(store.record("formats:prod_a").await.expect("read").as_deref(), Some("x"));
    let err = store.save_record("", "v").await.expect_err("empty key");
    assert_invalid(&err, "record key", "");
    let err = store.save_record("a\nb", "v").await.expect_err("control");
    assert_invalid(&err, "record key", "a\nb");
    let huge = "v".repeat(tierstore_model::migration::MAX_RECORD_LEN + 1);
    let err = store.save_record("source", &huge).await.expect_err("huge");
    assert_invalid(&err, "record value", "4194305 bytes");
    assert_eq!(store.record("source").await.expect("read"), Some(big));
}

/// `migration_state_contract!(module, setup)`: one test per check.
#[macro_export]
macro_rules! migration_state_contract {
    ($module:ident, $setup:path) => {
        $crate::__contract_tests!(
            $module,
            $setup,
            migration_state,
            [
                phase_moves_are_logged,
                concurrent_moves_apply_once,
                checkpoints_save_all_or_nothing,
                checkpoints_clear_by_prefix,
                records_are_kept_by_key,
            ]
        );
    };
}
