//! No password ever reaches `storectl`'s output: with credentials in every service URL — in
//! the user-info, percent-encoded, in ClickHouse's query string, and as a separate key — and
//! logging at its most verbose (`-vvv`, `TIERSTORE_LOG=trace`, drivers included), neither
//! stdout nor stderr of any command holds one, in any spelling.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::storectl;
use tierstore_testkit::{MysqlDatabase, RedisNamespace, clickhouse_url};

/// Each secret as written in a URL, and the spellings it may be printed in.
const SECRETS: [(&str, &[&str]); 4] = [
    ("R3dis%40pw-91", &["R3dis%40pw-91", "R3dis@pw-91", "R3dis"]),
    ("W4rm%2Fpw-92", &["W4rm%2Fpw-92", "W4rm/pw-92", "W4rm"]),
    ("Cl1ck-user-pw-93", &["Cl1ck-user-pw-93"]),
    ("Qu3ry%2Bpw-94", &["Qu3ry%2Bpw-94", "Qu3ry+pw-94", "Qu3ry pw-94", "Qu3ry"]),
];
const KEY_SECRET: &str = "K3y-pw-95";

#[tokio::test]
async fn no_password_in_any_output_at_the_highest_verbosity() {
    let ns = RedisNamespace::new().await;
    let db = MysqlDatabase::create().await;
    let redis = ns.url().replacen("redis://", &format!("redis://:{}@", SECRETS[0].0), 1);
    let warm = db.url().replacen("mysql://root@", &format!("mysql://root:{}@", SECRETS[1].0), 1);
    let ch_userinfo = clickhouse_url().replacen("http://", &format!("http://default:{}@", SECRETS[2].0), 1);
    let ch_query = format!("{}/?password={}", clickhouse_url().trim_end_matches('/'), SECRETS[3].0);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tierstore.toml");
    std::fs::write(&config, format!("[redis]\nnamespace = \"{}\"\n", ns.prefix())).unwrap();
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
            let all =
                format!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
            assert!(all.len() > 200, "the run printed something to check: {all}");
            for (_, spellings) in SECRETS {
                for s in spellings.iter() {
                    assert!(!all.contains(s), "{s:?} printed by `storectl {}`:\n{all}", args.join(" "));
                }
            }
            assert!(!all.contains(KEY_SECRET), "the ClickHouse password key printed:\n{all}");
            if args.contains(&"health") {
                assert!(all.contains("***"), "the addresses are shown, redacted:\n{all}");
            }
        }
    }
}
