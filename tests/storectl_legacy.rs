//! `storectl gen-legacy` and `storectl inspect` as an operator runs them: a generated
//! Chinese-Windows dataset is reported with exact totals, and a corrupted line is named by
//! file and line with exit code 1.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::path::Path;

mod support;

use support::storectl;

fn generate(out: &Path, windows: bool) -> serde_json::Value {
    let mut args = vec![
        "gen-legacy",
        "--out",
        out.to_str().unwrap(),
        "--accounts",
        "3",
        "--positions",
        "30",
        "--trades",
        "500",
        "--stocks",
        "120",
        "--days",
        "60",
        "--seed",
        "42",
        "--json",
    ];
    if windows {
        args.push("--windows");
    }
    let o = storectl(&args, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

fn inspect(dir: &Path) -> (i32, serde_json::Value) {
    let o = storectl(&["inspect", "--legacy-dir", dir.to_str().unwrap(), "--json"], &[]);
    (o.status.code().unwrap(), serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn inspect_reports_exact_totals_of_a_generated_windows_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache");
    let summary = generate(&out, true);
    let (code, report) = inspect(&out);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["totals"], summary["totals"]);
    assert_eq!(
        report["totals"],
        serde_json::json!({"positions": 84, "trades": 1500, "assets": 180, "kline_rows": 7200, "stocks": 120}),
        "3 accounts × 30 positions, 3 of them closed in each of the two nested files"
    );
    let files = report["files"].as_array().unwrap();
    assert_eq!(files.len(), 3 * 5 + 1 + 120);
    for f in files {
        let mut keys: Vec<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["encoding", "errors", "kind", "path", "rows"], "exactly these keys");
        assert!(f["errors"].as_array().unwrap().is_empty(), "{f}");
    }
    let deals: Vec<&serde_json::Value> = files.iter().filter(|f| f["kind"] == "deals").collect();
    assert_eq!(deals.len(), 3);
    assert!(deals.iter().all(|f| f["encoding"] == "gbk" && f["rows"] == 500), "{deals:?}");

    // The same seed writes the same bytes.
    let again = dir.path().join("again");
    generate(&again, true);
    for rel in ["prod_pwc/deal_hist.csv", "test_pwc/held_days.json", "_daily/_code_list.csv"] {
        assert_eq!(std::fs::read(out.join(rel)).unwrap(), std::fs::read(again.join(rel)).unwrap(), "{rel}");
    }
}

#[test]
fn a_corrupted_line_is_named_by_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache");
    generate(&out, true);
    // Line 7 of a GBK journal gets a price that is not a number.
    let journal = out.join("test_pwc/deal_hist.csv");
    let text = encoding_rs::GBK.decode(&std::fs::read(&journal).unwrap()).0.into_owned();
    let mut lines: Vec<String> = text.split_inclusive("\r\n").map(str::to_owned).collect();
    let mut fields: Vec<&str> = lines[6].trim_end().rsplitn(3, ',').collect();
    fields[1] = "12..5";
    fields.reverse();
    lines[6] = format!("{}\r\n", fields.join(","));
    std::fs::write(&journal, encoding_rs::GBK.encode(&lines.concat()).0).unwrap();
    // And a kline file loses the end of its last line.
    let kline = std::fs::read_dir(out.join("_daily"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with('_'))
        .min()
        .unwrap();
    let bytes = std::fs::read(&kline).unwrap();
    std::fs::write(&kline, &bytes[..bytes.len() - 12]).unwrap();

    let (code, report) = inspect(&out);
    assert_eq!(code, 1);
    let bad: Vec<&serde_json::Value> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| !f["errors"].as_array().unwrap().is_empty())
        .collect();
    assert_eq!(bad.len(), 2, "{bad:#?}");
    assert_eq!(bad[0]["path"], journal.to_str().unwrap());
    assert_eq!(bad[0]["errors"][0]["line"], 7);
    assert!(bad[0]["errors"][0]["reason"].as_str().unwrap().contains("成交价"), "{}", bad[0]);
    assert_eq!(bad[1]["path"], kline.to_str().unwrap());
    assert_eq!(bad[1]["errors"][0]["line"], 61, "header + 60 days: the last line");
    // The bad rows still count as rows: totals say what is in the files.
    assert_eq!(report["totals"]["trades"], 1500);
    assert_eq!(report["totals"]["kline_rows"], 7200);

    let o = storectl(&["inspect", "--legacy-dir", out.to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(&format!("error: {}:7:", journal.display())), "{text}");
}

#[test]
fn a_single_strategy_directory_and_an_explicit_kline_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache");
    generate(&out, false);
    let o = storectl(
        &[
            "inspect",
            "--legacy-dir",
            out.join("prod_pwc").to_str().unwrap(),
            "--daily-dir",
            out.join("_daily").to_str().unwrap(),
            "--json",
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["totals"],
        serde_json::json!({"positions": 27, "trades": 500, "assets": 60, "kline_rows": 7200, "stocks": 120})
    );
    let deals = report["files"].as_array().unwrap().iter().find(|f| f["kind"] == "deals").unwrap();
    assert_eq!(deals["encoding"], "utf-8");
}

#[test]
fn gen_legacy_refuses_a_non_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("keep.txt"), "x").unwrap();
    let o = storectl(&["gen-legacy", "--out", dir.path().to_str().unwrap()], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("exists and is not empty"));
    assert!(dir.path().join("keep.txt").exists());
}

#[test]
fn inspect_defaults_to_the_configured_legacy_directories() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache");
    generate(&out, false);
    // Two of the three accounts are configured; the third directory is not inspected.
    let config = dir.path().join("tierstore.toml");
    std::fs::write(
        &config,
        "[legacy]\ndaily_dir = \"cache/_daily\"\n\n\
         [[accounts]]\nid = \"prod_pwc\"\nlegacy_dir = \"cache/prod_pwc\"\nbroker = \"qmt\"\n\n\
         [[accounts]]\nid = \"test_pwc\"\nlegacy_dir = \"cache/test_pwc\"\nbroker = \"qmt\"\n",
    )
    .unwrap();
    let o = storectl(&["--config", config.to_str().unwrap(), "inspect", "--json"], &[]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        report["totals"],
        serde_json::json!({"positions": 57, "trades": 1000, "assets": 120, "kline_rows": 7200, "stocks": 120}),
        "prod_pwc (nested, 3 closed: 27 open) + test_pwc (flat: 30 open), and the kline folder"
    );
    let inspected: Vec<&str> =
        report["files"].as_array().unwrap().iter().filter_map(|f| f["path"].as_str()).collect();
    assert!(inspected.iter().all(|p| !p.contains("sim_pwc")), "{inspected:?}");

    // Without any legacy directory configured, the error says what to do.
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    let o = storectl(&["--config", empty.to_str().unwrap(), "inspect"], &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--legacy-dir"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
