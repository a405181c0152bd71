//! The durable outbox: order and acknowledgement survive reopening, a record torn by a crash
//! is cut off, damage is refused naming file and offset, one process per directory, and a
//! writer killed with SIGKILL loses none of the records whose push had returned.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::io::{BufRead, Write};
use std::path::Path;

use tierstore::outbox::{Outbox, OutboxEntry};
use tierstore_model::StoreError;

fn payloads(entries: &[OutboxEntry]) -> Vec<String> {
    entries.iter().map(|e| String::from_utf8(e.payload.clone()).unwrap()).collect()
}

fn log_len(dir: &Path) -> u64 {
    std::fs::metadata(dir.join("outbox.log")).unwrap().len()
}

#[test]
fn records_come_back_in_order_until_acknowledged_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let seqs: Vec<u64> = ["a", "bb", "ccc"].iter().map(|p| outbox.push(p.as_bytes()).unwrap()).collect();
    assert_eq!(seqs, [1, 2, 3]);
    drop(outbox);

    let mut outbox = Outbox::open(dir.path()).unwrap();
    assert_eq!(outbox.depth(), 3);
    let pending = outbox.pending(10).unwrap();
    assert_eq!(payloads(&pending), ["a", "bb", "ccc"]);
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(payloads(&outbox.pending(2).unwrap()), ["a", "bb"], "the limit");
    outbox.ack(2).unwrap();
    outbox.ack(1).unwrap(); // an older acknowledgement changes nothing
    drop(outbox);

    let mut outbox = Outbox::open(dir.path()).unwrap();
    assert_eq!(outbox.depth(), 1);
    assert_eq!(outbox.pending(10).unwrap(), [OutboxEntry { seq: 3, payload: b"ccc".to_vec() }]);
    outbox.ack(3).unwrap();
    assert_eq!(outbox.depth(), 0);
    assert_eq!(log_len(dir.path()), 24, "drained: the log starts over, header only");
    // Numbers keep growing after the log starts over, and the acknowledgement of two records
    // left from the old generation covers none of the new ones.
    for p in ["d", "e", "f"] {
        outbox.push(p.as_bytes()).unwrap();
    }
    drop(outbox);
    let mut outbox = Outbox::open(dir.path()).unwrap();
    let pending = outbox.pending(10).unwrap();
    assert_eq!(payloads(&pending), ["d", "e", "f"]);
    assert_eq!(pending.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5, 6]);

    let err = outbox.ack(7).unwrap_err();
    assert!(matches!(&err, StoreError::InvalidInput { value, .. } if value == "7"), "{err:?}");
    let err = outbox.push(b"").unwrap_err();
    assert!(matches!(err, StoreError::InvalidInput { .. }), "{err:?}");
}

#[test]
fn a_log_deleted_by_hand_starts_over_without_the_old_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for p in ["a", "b", "c"] {
        outbox.push(p.as_bytes()).unwrap();
    }
    outbox.ack(2).unwrap();
    drop(outbox);
    std::fs::remove_file(dir.path().join("outbox.log")).unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for p in ["x", "y", "z"] {
        outbox.push(p.as_bytes()).unwrap();
    }
    drop(outbox);
    let mut outbox = Outbox::open(dir.path()).unwrap();
    assert_eq!(payloads(&outbox.pending(10).unwrap()), ["x", "y", "z"]);
}

#[test]
fn a_record_torn_by_a_crash_is_cut_off_and_the_rest_kept() {
    for cut in [1u64, 4, 8, 10, 11, 12, 16, 21] {
        let dir = tempfile::tempdir().unwrap();
        let mut outbox = Outbox::open(dir.path()).unwrap();
        outbox.push(b"first").unwrap();
        outbox.push(b"second").unwrap();
        let whole = log_len(dir.path());
        outbox.push(b"third-torn").unwrap();
        drop(outbox);
        // The last frame (12 + 10 bytes) loses its tail, as a crash in the middle of the write.
        let file = std::fs::OpenOptions::new().write(true).open(dir.path().join("outbox.log")).unwrap();
        file.set_len(whole + 22 - cut).unwrap();
        drop(file);

        let mut outbox = Outbox::open(dir.path()).unwrap();
        assert_eq!(payloads(&outbox.pending(10).unwrap()), ["first", "second"], "cut {cut}");
        assert_eq!(log_len(dir.path()), whole, "the torn bytes are gone (cut {cut})");
        assert_eq!(outbox.push(b"again").unwrap(), 3);
        drop(outbox);
        let mut outbox = Outbox::open(dir.path()).unwrap();
        assert_eq!(payloads(&outbox.pending(10).unwrap()), ["first", "second", "again"]);
    }
}

/// The other things a crash leaves: the file extended with zeros the write never filled, and
/// a last record whose payload did not all land.
#[test]
fn zeros_past_the_end_and_a_garbled_last_record_are_cut_off() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    outbox.push(b"first").unwrap();
    let whole = log_len(dir.path());
    drop(outbox);
    let path = dir.path().join("outbox.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0u8; 40]);
    std::fs::write(&path, &bytes).unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    assert_eq!(payloads(&outbox.pending(10).unwrap()), ["first"]);
    assert_eq!(log_len(dir.path()), whole);
    outbox.push(b"second").unwrap();
    drop(outbox);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF; // the last byte of "second" never landed as written
    std::fs::write(&path, &bytes).unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    assert_eq!(payloads(&outbox.pending(10).unwrap()), ["first"]);
    assert_eq!(log_len(dir.path()), whole);
}

#[test]
fn a_damaged_record_with_records_after_it_is_refused_naming_file_and_offset() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    outbox.push(b"first").unwrap();
    outbox.push(b"second").unwrap();
    drop(outbox);
    let path = dir.path().join("outbox.log");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[24 + 12] ^= 0x20; // "first" → "First": its checksum no longer matches
    std::fs::write(&path, &bytes).unwrap();
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("outbox.log") && text.contains("at byte 24"), "{text}");
    assert_eq!(std::fs::read(&path).unwrap(), bytes, "nothing cut off or rewritten");

    // A length that points past the end with records after it is damage too, not a torn tail.
    let mut long = std::fs::read(&path).unwrap();
    long[24 + 12] ^= 0x20; // undo the flip above
    long[24] = 0xFF;
    std::fs::write(&path, &long).unwrap();
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("length fails its checksum") && err.to_string().contains("at byte 24"),
        "{err}"
    );

    std::fs::write(&path, b"not an outbox at all").unwrap();
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("not an outbox log"), "{err}");
}

#[test]
fn one_process_per_directory() {
    let dir = tempfile::tempdir().unwrap();
    let outbox = Outbox::open(dir.path()).unwrap();
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("another process holds it"), "{err}");
    drop(outbox);
    let mut outbox = Outbox::open(dir.path()).unwrap();
    // Closed (still in memory): the directory is free, and the closed outbox refuses calls.
    outbox.push(b"one").unwrap();
    outbox.close();
    let mut again = Outbox::open(dir.path()).unwrap();
    assert_eq!(again.pending(10).unwrap().len(), 1);
    let err = outbox.push(b"two").unwrap_err();
    assert!(err.to_string().contains("closed"), "{err}");
}

/// Replaying from the start is not safe (a sequence of writes is not idempotent), so an
/// acknowledgement file that cannot be trusted is refused, not guessed at.
#[test]
fn an_unreadable_acknowledgement_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut outbox = Outbox::open(dir.path()).unwrap();
    for p in ["a", "b", "c"] {
        outbox.push(p.as_bytes()).unwrap();
    }
    outbox.ack(2).unwrap();
    drop(outbox);
    let done = dir.path().join("outbox.done");
    let good = std::fs::read(&done).unwrap();
    std::fs::write(&done, b"garbage").unwrap();
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }) && err.to_string().contains("outbox.done"), "{err}");

    // One that acknowledges more than the log holds: the log lost records.
    std::fs::write(&done, &good).unwrap();
    let log = dir.path().join("outbox.log");
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..24 + 13]).unwrap(); // one record left, the rest cut
    let err = Outbox::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("acknowledges 2 records"), "{err}");
}

/// The worker half of the kill test: pushes numbered records forever, printing each number
/// once its push has returned.
#[test]
#[ignore = "run by a_writer_killed_with_sigkill_loses_no_returned_push in a child process"]
fn pusher() {
    let Ok(dir) = std::env::var("OUTBOX_KILL_DIR") else { return };
    let mut outbox = Outbox::open(Path::new(&dir)).unwrap();
    let mut out = std::io::stdout();
    for i in 0u64.. {
        let payload = format!("record-{i}-{}", "x".repeat((i % 50) as usize));
        let seq = outbox.push(payload.as_bytes()).unwrap();
        writeln!(out, "{seq}").unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn a_writer_killed_with_sigkill_loses_no_returned_push() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "pusher", "--ignored", "--nocapture"])
        .env("OUTBOX_KILL_DIR", dir.path())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut returned = 0u64;
    // Kill it in the middle of its work, after a few hundred durable pushes.
    while returned < 300 {
        let line = lines.next().expect("the pusher ended early").unwrap();
        if let Ok(n) = line.trim().parse::<u64>() {
            returned = n;
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    for line in lines.map_while(Result::ok) {
        if let Ok(n) = line.trim().parse::<u64>() {
            returned = returned.max(n);
        }
    }

    let mut outbox = Outbox::open(dir.path()).unwrap();
    let pending = outbox.pending(usize::MAX).unwrap();
    assert!(pending.len() as u64 >= returned, "{} records, {returned} pushes had returned", pending.len());
    for (i, e) in pending.iter().enumerate() {
        let i = i as u64;
        assert_eq!(e.seq, i + 1);
        let want = format!("record-{i}-{}", "x".repeat((i % 50) as usize));
        assert_eq!(e.payload, want.as_bytes(), "record {}", e.seq);
    }
}
