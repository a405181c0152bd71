//! No password ever reaches `storectl`'s output: with credentials in every service URL — in
//! the user-info, percent-encoded, in ClickHouse's query string, and as a separate key — and
//! logging at its most verbose (`-vvv`, `TIERSTORE_LOG=trace`, drivers included), neither
//! stdout nor stderr of any command holds one, in any spelling.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::storectl;
use tierstore_testkit::{MysqlDatabase, RedisServer, clickhouse_url};

/// Each secret as written in a URL, and the spellings it may be printed in.
const SECRETS: [(&str, &[&str]); 4] = [
    ("R3dis%40pw-91", &["R3dis%40pw-91", "R3dis@pw-91", "R3dis"]),
    ("W4rm%2Fpw-92", &["W4rm%2Fpw-92", "W4rm/pw-92", "W4rm"]),
    ("Cl1ck-user-pw-93", &["Cl1ck-user-pw-93"]),
    ("Qu3ry%2Bpw-94", &["Qu3ry%2Bpw-94", "Qu3ry+pw-94", "Qu3ry pw-94", "Qu3ry"]),
];
const KEY_SECRET: &str = "K3y-pw-95";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_password_in_any_output_at_the_highest_verbosity() {
    let dir = tempfile::tempdir().unwrap();
    // Servers that accept these passwords, so the logs of a successful, authenticated session
    // are checked as well as those of refusals: a Redis of our own with `requirepass` and a
    // MariaDB user. ClickHouse's `default` user has no password here, so its connection is
    // refused — the failure path.
    let redis_server = RedisServer::start(&dir.path().join("redis"), &["--requirepass", "R3dis@pw-91"]);
    let redis = redis_server.url().replacen("redis://", &format!("redis://:{}@", SECRETS[0].0), 1);
    let db = MysqlDatabase::create().await;
    let warm = db.user_with_password(SECRETS[1].0).await;
    let ch_userinfo = clickhouse_url().replacen("http://", &format!("http://default:{}@", SECRETS[2].0), 1);
    let ch_query = format!("{}/?password={}", clickhouse_url().trim_end_matches('/'), SECRETS[3].0);

    // A small legacy layout for `inspect` to read.
    let cache = dir.path().join("cache");
    let o = storectl(
        &["gen-legacy", "--out", cache.to_str().unwrap(), "--accounts", "1", "--stocks", "3", "--days", "5"],
        &[],
    );
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let config = dir.path().join("tierstore.toml");
    std::fs::write(
        &config,
        "[redis]\nnamespace = \"secrets\"\n[legacy]\ndaily_dir = \"cache/_daily\"\n\
         [[accounts]]\nid = \"prod_pwc\"\nlegacy_dir = \"cache/prod_pwc\"\nbroker = \"qmt\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();

    for (clickhouse, extra) in [(&ch_userinfo, None), (&ch_query, Some(KEY_SECRET))] {
        let mut env = vec![
            ("TIERSTORE_REDIS_URL", redis.as_str()),
            ("TIERSTORE_WARM_URL", warm.as_str()),
            ("TIERSTORE_CLICKHOUSE_URL", clickhouse.as_str()),
            ("TIERSTORE_LOG", "trace"),
        ];
        if let Some(k) = extra {
            env.push(("TIERSTORE_CLICKHOUSE_PASSWORD", k));
        }
        for args in [
            vec!["-vvv", "--config", config, "health"],
            vec!["-vvv", "--config", config, "health", "--json"],
            vec!["-vvv", "--config", config, "inspect"],
        ] {
            let out = storectl(&args, &env);
            let stdout = String::from_utf8_lossy(&out.stdout);
            let all = format!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            for (_, spellings) in SECRETS {
                for s in spellings.iter() {
                    assert!(!all.contains(s), "{s:?} printed by `storectl {}`:\n{all}", args.join(" "));
                }
            }
            assert!(!all.contains(KEY_SECRET), "the ClickHouse password key printed:\n{all}");
            match args[3] {
                "health" if args.len() == 4 => {
                    let up: Vec<&str> = stdout.lines().filter(|l| l.contains(" up ")).collect();
                    assert_eq!(up.len(), 3, "redis, mysql and the legacy files answered: {stdout}");
                    assert!(stdout.contains("redis://:***@127.0.0.1:"), "{stdout}");
                }
                "inspect" => {
                    assert_eq!(out.status.code(), Some(0), "{all}");
                    assert!(stdout.contains("totals: positions"), "{stdout}");
                }
                _ => {}
            }
            if args[3] == "health" {
                assert!(all.lines().count() > 20, "trace logging printed plenty to check:\n{all}");
            }
        }
    }
}
