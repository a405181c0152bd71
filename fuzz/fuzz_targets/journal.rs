//! Any bytes as a journal: no panic, every line number within the file, and every row that
//! reads written back as the Python program would and read again gives the same trade.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tierstore_legacy::format::journal::{self, JournalReader, Tail};
use tierstore_model::AccountId;

fuzz_target!(|data: &[u8]| {
    let tz = chrono_tz::Asia::Shanghai;
    let account = AccountId::new("fuzz").expect("a valid id");
    let path = std::path::Path::new("deal_hist.csv");
    let Ok(mut reader) = JournalReader::new(path, data, account.clone(), tz, Tail::Report) else { return };
    let lines = data.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64 + 1;
    let mut rows = Vec::new();
    while let Some((line, row)) = reader.next_row() {
        assert!(line >= 1 && line <= lines, "line {line} of at most {lines}");
        if let Ok(t) = row {
            rows.push(t);
        }
    }
    if rows.is_empty() {
        return;
    }
    let mut text = journal::HEADER.join(",");
    text.push('\n');
    for t in &rows {
        journal::render_row(&mut text, t, &tz);
        text.push_str("\r\n");
    }
    let mut again =
        JournalReader::new(path, text.as_bytes(), account, tz, Tail::Report).expect("our journal opens");
    for want in &rows {
        let (_, got) = again.next_row().expect("as many rows");
        assert_eq!(&got.expect("our row reads"), want);
    }
    assert!(again.next_row().is_none());
});
