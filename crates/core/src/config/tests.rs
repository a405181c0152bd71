//! Tests of configuration loading: files, defaults, environment overrides, and the errors of each.

use std::collections::HashMap;
use std::path::Path;

use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> =
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |k| map.get(k).cloned()
}

fn parse(text: &str, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::parse(text, "tierstore.toml", Path::new("/etc/ts"), env(vars), Path::new("/work"))
}

#[test]
fn no_file_means_local_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load_with(None, env(&[]), dir.path()).unwrap();
    assert_eq!(c.origin, "built-in defaults");
    assert_eq!(c.mode, StorageMode::File);
    assert_eq!(c.timezone, chrono_tz::Asia::Shanghai);
    assert_eq!(c.redis.as_ref().unwrap().url.to_string(), "redis://127.0.0.1:6379");
    assert_eq!(c.warm.as_ref().unwrap().backend().unwrap(), tierstore_warm::WarmBackend::Sqlite);
    assert_eq!(c.clickhouse.as_ref().unwrap().database, "tierstore");
    assert!(c.legacy_config().is_none());
}

#[test]
fn the_shipped_example_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deployment/tierstore.example.toml");
    let c = Config::load_with(Some(&path), env(&[]), Path::new("/")).unwrap();
    assert_eq!(c.accounts.len(), 2);
    let legacy = c.legacy_config().unwrap();
    let base = path.parent().unwrap();
    assert_eq!(legacy.accounts[&AccountId::new("prod_pwc").unwrap()], base.join("_cache/prod_pwc"));
    assert_eq!(legacy.daily_dir.unwrap(), base.join("_cache/_daily"));
    assert!(!format!("{c:?}").contains("change-me"), "password printed in Debug");
}

#[test]
fn file_named_by_env_or_found_in_cwd() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tierstore.toml"), "mode = \"dual_write\"\n").unwrap();
    let c = Config::load_with(None, env(&[]), dir.path()).unwrap();
    assert_eq!(c.mode, StorageMode::DualWrite);
    assert!(c.redis.is_none(), "a file configures only what it names");

    let other = dir.path().join("other.toml");
    std::fs::write(&other, "mode = \"db_first\"\n").unwrap();
    let c =
        Config::load_with(None, env(&[("TIERSTORE_CONFIG", other.to_str().unwrap())]), dir.path()).unwrap();
    assert_eq!(c.mode, StorageMode::DbFirst);

    let err = Config::load_with(Some(&dir.path().join("missing.toml")), env(&[]), dir.path()).unwrap_err();
    assert!(matches!(err, ConfigError::Read { .. }), "{err}");
}

#[test]
fn environment_overrides_keys_and_adds_sections() {
    let c = parse(
        "[redis]\nurl = \"redis://a:6379\"\n",
        &[
            ("TIERSTORE_REDIS_URL", "redis://b:6380/1"),
            ("TIERSTORE_REDIS_TIMEOUT_MS", "250"),
            ("TIERSTORE_CLICKHOUSE_URL", "http://ch:8123"),
            ("TIERSTORE_CLICKHOUSE_PASSWORD", "pa55word"),
            ("TIERSTORE_MODE", "dual_write"),
            ("TIERSTORE_DAILY_DIR", "data/_daily"),
        ],
    )
    .unwrap();
    let r = c.redis.as_ref().unwrap();
    assert_eq!((r.url.to_string().as_str(), r.timeout_ms), ("redis://b:6380/1", 250));
    let ch = c.clickhouse.as_ref().unwrap();
    assert_eq!(ch.password().as_deref(), Some("pa55word"));
    assert_eq!(c.mode, StorageMode::DualWrite);
    assert_eq!(c.legacy.daily_dir.as_deref(), Some(Path::new("/work/data/_daily")));
    assert!(c.origin.contains("TIERSTORE_REDIS_URL"), "{}", c.origin);
    assert!(!format!("{c:?}").contains("pa55word"));
}

#[test]
fn bad_environment_values_name_the_variable() {
    let err = parse("", &[("TIERSTORE_REDIS_TIMEOUT_MS", "soon")]).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"environment variable TIERSTORE_REDIS_TIMEOUT_MS: "soon" is not a whole number"#
    );
    let err = parse("", &[("TIERSTORE_MODE", "turbo")]).unwrap_err();
    assert!(err.to_string().contains("invalid mode \"turbo\""), "{err}");
    assert!(err.to_string().contains("TIERSTORE_MODE"), "{err}");
}

#[test]
fn syntax_errors_name_the_line_but_not_the_text() {
    let err = parse("mode = \"file\"\n[redis]\nurl = \"redis://:hunter2@h:6379\n", &[]).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("tierstore.toml line 3"), "{text}");
    assert!(!text.contains("hunter2"), "{text}");
}

#[test]
fn schema_errors_are_specific() {
    let err = parse("[redis]\nurl = \"redis://h\"\nfoo = 1\n", &[]).unwrap_err();
    assert!(err.to_string().contains("unknown field `foo`"), "{err}");
    let err = parse("[redis]\nurl = \"not a url\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("invalid url"), "{err}");
    let err = parse("timezone = \"Mars/Olympus\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains(r#"invalid timezone "Mars/Olympus""#), "{err}");
    let err = parse("[warm]\nurl = \"mssql://h/db\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("warm.url"), "{err}");
    parse("[warm]\nurl = \"postgres://h/db\"\n", &[]).unwrap();
    let err = parse("[[accounts]]\nid = \"a b\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("account_id"), "{err}");
}

#[test]
fn accounts_and_their_directories_are_unique() {
    let err = parse("[[accounts]]\nid = \"a\"\n[[accounts]]\nid = \"a\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains(r#"invalid accounts.id "a": appears twice"#), "{err}");
    let err = parse(
        "[[accounts]]\nid = \"a\"\nlegacy_dir = \"x\"\n[[accounts]]\nid = \"b\"\nlegacy_dir = \"x\"\n",
        &[],
    )
    .unwrap_err();
    assert!(err.to_string().contains("used by two accounts"), "{err}");
}

#[test]
fn relative_directories_are_relative_to_the_file() {
    let c = parse("[[accounts]]\nid = \"a\"\nlegacy_dir = \"_cache/a\"\n[[accounts]]\nid = \"b\"\nlegacy_dir = \"/abs/b\"\n", &[])
        .unwrap();
    let legacy = c.legacy_config().unwrap();
    assert_eq!(legacy.accounts[&AccountId::new("a").unwrap()], Path::new("/etc/ts/_cache/a"));
    assert_eq!(legacy.accounts[&AccountId::new("b").unwrap()], Path::new("/abs/b"));
}

#[test]
fn value_errors_name_the_key_path() {
    let err = parse("[legacy]\nplatform = \"macos\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("legacy.platform: unknown variant `macos`"), "{err}");
    let err = parse("[clickhouse]\nurl = \"http://h\"\ntimeout_ms = \"x\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("clickhouse.timeout_ms"), "{err}");
}

#[test]
fn login_rules_come_from_the_warm_section_or_the_environment() {
    let c = parse("[warm]\nurl = \"sqlite://x.db\"\n", &[]).unwrap();
    let p = c.warm.as_ref().unwrap().login_policy();
    assert_eq!((p.max_failed_logins, p.lockout.num_minutes(), p.session_ttl.num_minutes()), (5, 15, 720));
    let c = parse(
        "[warm]\nurl = \"sqlite://x.db\"\nlockout_minutes = 30\n",
        &[("TIERSTORE_WARM_MAX_FAILED_LOGINS", "3"), ("TIERSTORE_WARM_SESSION_MINUTES", "60")],
    )
    .unwrap();
    let p = c.warm.as_ref().unwrap().login_policy();
    assert_eq!((p.max_failed_logins, p.lockout.num_minutes(), p.session_ttl.num_minutes()), (3, 30, 60));
    let err =
        parse("[warm]\nurl = \"sqlite://x.db\"\n", &[("TIERSTORE_WARM_MAX_FAILED_LOGINS", "0")]).unwrap_err();
    assert!(err.to_string().contains("warm.max_failed_logins"), "{err}");
}

#[test]
fn the_warm_tier_is_sqlite_without_a_file_and_absent_from_a_file_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let c = Config::load_with(None, env(&[]), dir.path()).unwrap();
    assert_eq!(c.warm.as_ref().unwrap().url.expose().as_str(), "sqlite://tierstore.db?mode=rwc");
    assert!(crate::warm::warm_config(&c).is_ok());
    let c = parse("[redis]\nurl = \"redis://127.0.0.1:6379\"\n", &[]).unwrap();
    let err = crate::warm::warm_config(&c).unwrap_err();
    assert!(err.to_string().contains("no [warm] section"), "{err}");
    let c = parse("", &[("TIERSTORE_WARM_URL", "postgres://127.0.0.1/tierstore")]).unwrap();
    assert_eq!(
        crate::warm::warm_config(&c).unwrap().backend().unwrap(),
        tierstore_warm::WarmBackend::Postgres
    );
}

#[test]
fn the_store_section_has_defaults_overrides_and_limits() {
    let c = parse("", &[]).unwrap();
    assert_eq!(c.store.outbox_dir.as_deref(), Some(Path::new("/etc/ts/tierstore-outbox")));
    assert_eq!(
        (
            c.store.read_deadline_ms,
            c.store.write_deadline_ms,
            c.store.mode_poll_ms,
            c.store.probe_max_backoff_ms
        ),
        (300, 2000, 2000, 5000)
    );
    let c = parse("[store]\noutbox_dir = \"box\"\nread_deadline_ms = 900\n", &[]).unwrap();
    assert_eq!(c.store.outbox_dir.as_deref(), Some(Path::new("/etc/ts/box")), "relative to the file");
    assert_eq!(c.store.read_deadline_ms, 900);
    let c = parse("", &[("TIERSTORE_OUTBOX_DIR", "run/box"), ("TIERSTORE_READ_DEADLINE_MS", "150")]).unwrap();
    assert_eq!(
        c.store.outbox_dir.as_deref(),
        Some(Path::new("/work/run/box")),
        "relative to the working directory"
    );
    assert_eq!(c.store.read_deadline_ms, 150);
    // A read and its file fallback must fit in a second.
    let err = parse("[store]\nread_deadline_ms = 901\n", &[]).unwrap_err();
    assert!(err.to_string().contains("store.read_deadline_ms"), "{err}");
    assert!(err.to_string().contains("between 10 and 900"), "{err}");
    let err = parse("[store]\nwrite_deadline_ms = 0\n", &[]).unwrap_err();
    assert!(err.to_string().contains("store.write_deadline_ms"), "{err}");
    let err = parse("[store]\nflush = 1\n", &[]).unwrap_err();
    assert!(err.to_string().contains("flush"), "{err}");
}

#[test]
fn alerts_name_a_webhook_whose_token_is_a_secret() {
    let c = parse(
        "[alerts]\nurl = \"https://oapi.dingtalk.com/robot/send?access_token=d1ng-t0ken\"\nformat = \"dingtalk\"\n",
        &[],
    )
    .unwrap();
    let a = c.alerts.as_ref().unwrap();
    assert_eq!(a.format, crate::alerts::AlertFormat::Dingtalk);
    assert_eq!(a.min_interval_ms, 60_000);
    assert!(c.secrets().contains(&"d1ng-t0ken".to_owned()), "{:?}", c.secrets());
    assert!(!format!("{c:?}").contains("d1ng-t0ken"), "token printed in Debug");
    let c = parse(
        "",
        &[
            ("TIERSTORE_ALERT_URL", "https://open.feishu.cn/open-apis/bot/v2/hook/f3i-shu-token"),
            ("TIERSTORE_ALERT_FORMAT", "feishu"),
        ],
    )
    .unwrap();
    let a = c.alerts.as_ref().unwrap();
    assert_eq!(a.format, crate::alerts::AlertFormat::Feishu);
    assert!(c.secrets().contains(&"f3i-shu-token".to_owned()), "{:?}", c.secrets());
    assert!(!format!("{c:?}").contains("f3i-shu-token"), "token printed in Debug");
    let err = parse("[alerts]\nurl = \"http://127.0.0.1:9/x\"\nformat = \"slack\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("slack"), "{err}");
    let err = parse("[alerts]\nurl = \"ftp://127.0.0.1/hook/abcdefgh\"\n", &[]).unwrap_err();
    assert!(err.to_string().contains("http or https"), "{err}");
    assert!(!err.to_string().contains("abcdefgh"), "{err}");
}
