//! `services up` starts what does not answer, reuses what does, and `down` stops only what
//! `up` started — and whatever a run starts is stopped on every way out: a failed `up`, a
//! start that times out, a panic, SIGTERM and SIGINT. Runs real servers: the configured Redis
//! must be up (as under `cargo xtask ci`), and private Redis, MariaDB, PostgreSQL and ClickHouse
//! instances
//! are started on free ports.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use xtask::services::{self, Address, Layout, Origin, Service, free_port, probe};
use xtask::session::Session;

fn answers(service: Service, url: &str) -> bool {
    let Ok(addr) = Address::parse(url, 0) else { return false };
    match service {
        Service::Redis => probe::redis(&addr).is_ok(),
        Service::Mysql => probe::mysql(&addr).is_ok(),
        Service::Postgres => probe::postgres(&addr).is_ok(),
        Service::Clickhouse => probe::clickhouse(&addr).is_ok(),
    }
}

/// Stops whatever `up` started under a layout when the test ends, passed or failed — before
/// the temporary directory holding the servers' data is removed (declare it after the
/// directory).
struct StopOnDrop(Layout);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let _ = services::down(&self.0, &Service::ALL);
    }
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let status = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        let zombie = status.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
        if !zombie && String::from_utf8_lossy(&cmdline).replace('\0', " ").contains(needle) {
            out.push(pid);
        }
    }
    out
}

/// Whether a process runs exactly `argv`.
fn running_exactly(argv: &[&str]) -> bool {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain(std::iter::once(0))).collect();
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z'));
        !zombie && std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want)
    })
}

fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn up_starts_missing_servers_reuses_running_ones_and_down_stops_only_its_own() {
    let state = tempfile::tempdir().unwrap();
    let layout = Layout::at(state.path());
    let _stop = StopOnDrop(layout.clone());

    let external = Service::Redis.configured_url();
    assert!(
        answers(Service::Redis, &external),
        "this test needs the configured Redis at {} (run `cargo xtask services up`, or `cargo xtask ci`)",
        services::redact(&external)
    );

    // Addresses where nothing listens: `up` must start private instances there.
    let mine = [
        (Service::Redis, format!("redis://127.0.0.1:{}", free_port().unwrap())),
        (Service::Mysql, format!("mysql://root@127.0.0.1:{}", free_port().unwrap())),
        (Service::Postgres, format!("postgres://postgres@127.0.0.1:{}/postgres", free_port().unwrap())),
        (Service::Clickhouse, format!("http://127.0.0.1:{}", free_port().unwrap())),
    ];
    for (s, url) in &mine {
        assert!(!answers(*s, url), "{url} should be free");
    }

    let running = services::up(&layout, &mine).unwrap();
    for (r, (s, url)) in running.iter().zip(&mine) {
        assert_eq!(r.service, *s);
        assert_eq!(r.origin, Origin::StartedNow, "{s}");
        assert_eq!(&r.url, url, "{s} started on the configured (free) port");
        assert!(answers(*s, &r.url), "{s} answers at {}", r.url);
        assert!(state.path().join(s.name()).join("state.json").exists());
    }

    // The already-running external server is reused, not replaced.
    let reused =
        services::up(&Layout::at(state.path().join("other")), &[(Service::Redis, external.clone())]).unwrap();
    assert_eq!(reused[0].origin, Origin::External);
    assert_eq!(reused[0].url, external);

    // A second `up` recognises its own instances.
    let again = services::up(&layout, &mine).unwrap();
    assert!(again.iter().all(|r| r.origin == Origin::StartedEarlier), "{again:?}");

    let stopped = services::down(&layout, &Service::ALL).unwrap();
    assert_eq!(stopped, Service::ALL.to_vec());
    for (s, url) in &mine {
        assert!(!answers(*s, url), "{s} at {url} still answers after down");
    }
    assert!(answers(Service::Redis, &external), "down must leave the external Redis running");

    // Nothing left to stop; the external server is still not ours.
    assert!(services::down(&layout, &Service::ALL).unwrap().is_empty());
    assert!(answers(Service::Redis, &external));
}

#[test]
fn a_failed_up_stops_what_it_had_started() {
    let state = tempfile::tempdir().unwrap();
    let layout = Layout::at(state.path());
    let _stop = StopOnDrop(layout.clone());
    let redis = format!("redis://127.0.0.1:{}", free_port().unwrap());
    let err = services::up(&layout, &[(Service::Redis, redis.clone()), (Service::Mysql, "not a url".into())])
        .unwrap_err();
    assert!(format!("{err:#}").contains("not a URL"), "{err:#}");
    assert!(!answers(Service::Redis, &redis), "the Redis started before the failure was stopped");
    assert!(!state.path().join("redis/state.json").exists());
    assert!(processes_with(&state.path().display().to_string()).is_empty());
}

#[test]
fn a_start_that_times_out_is_stopped() {
    let state = tempfile::tempdir().unwrap();
    let mut layout = Layout::at(state.path());
    layout.start_timeout = Some(Duration::from_millis(1));
    let _stop = StopOnDrop(layout.clone());
    // MariaDB opens its port only after starting its storage engine: far more than 1 ms.
    let url = format!("mysql://root@127.0.0.1:{}", free_port().unwrap());
    let err = services::up(&layout, &[(Service::Mysql, url.clone())]).unwrap_err();
    assert!(format!("{err:#}").contains("did not answer within 1ms; stopped it"), "{err:#}");
    assert!(processes_with(&state.path().display().to_string()).is_empty(), "no server left running");
    assert!(!state.path().join("mysql/state.json").exists());
    std::thread::sleep(Duration::from_millis(500));
    assert!(!answers(Service::Mysql, &url));
}

#[test]
fn a_panic_stops_what_the_session_started() {
    let state = tempfile::tempdir().unwrap();
    let layout = Layout::at(state.path());
    let _stop = StopOnDrop(layout.clone());
    let redis = format!("redis://127.0.0.1:{}", free_port().unwrap());
    let (l, r) = (layout.clone(), redis.clone());
    let outcome = std::thread::spawn(move || {
        let _session = Session::up(&l, &[(Service::Redis, r.clone())], false).unwrap();
        assert!(answers(Service::Redis, &r));
        panic!("a check failed half way");
    })
    .join();
    assert!(outcome.is_err(), "the thread panicked");
    assert!(!answers(Service::Redis, &redis), "the session's Redis was stopped by the unwinding guard");
    assert!(processes_with(&state.path().display().to_string()).is_empty());
}

/// `cargo xtask services run -- sleep <n>` in a scratch target directory, Redis on a free
/// port; then `signal` to xtask: the command and the Redis it started are gone.
fn a_signal_stops_everything(signal: &str, marker: &str) {
    let target = tempfile::tempdir().unwrap();
    let _stop = StopOnDrop(Layout::at(target.path().join("services")));
    let port = free_port().unwrap();
    let url = format!("redis://127.0.0.1:{port}");
    let xtask = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["services", "run", "--only", "redis", "--", "sleep", marker])
        .env("CARGO_TARGET_DIR", target.path())
        .env("TIERSTORE_TEST_REDIS_URL", &url)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("Redis answers and the command runs", Duration::from_secs(30), || {
        answers(Service::Redis, &url) && running_exactly(&["sleep", marker])
    });
    let ok = Command::new("kill").args([signal, &xtask.id().to_string()]).status().unwrap();
    assert!(ok.success());
    let out = xtask.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "xtask reports the interruption: {}", out.status);
    assert!(stderr.contains("stopping the running command and the services"), "{stderr}");
    assert!(!answers(Service::Redis, &url), "Redis stopped after {signal}: {stderr}");
    assert!(!running_exactly(&["sleep", marker]), "the command stopped after {signal}");
    assert!(processes_with(&target.path().display().to_string()).is_empty(), "no server left");
    assert!(!Path::new(&target.path().join("services/redis/state.json")).exists());
}

#[test]
fn sigterm_stops_the_command_and_the_services_it_started() {
    a_signal_stops_everything("-TERM", "61.4242");
}

#[test]
fn sigint_stops_the_command_and_the_services_it_started() {
    a_signal_stops_everything("-INT", "62.4242");
}

#[test]
fn sighup_stops_the_command_and_the_services_it_started() {
    a_signal_stops_everything("-HUP", "63.4242");
}

#[test]
fn credentials_are_redacted_everywhere_xtask_prints_urls() {
    assert_eq!(services::redact("mysql://root:hunter2@h:1/db"), "mysql://root:***@h:1/db");
    assert_eq!(services::redact("redis://h:1"), "redis://h:1");
    assert_eq!(
        services::redact("http://u@h:8123/?database=x&password=s3cret&access_token=t0k&force_primary_key=1"),
        "http://u@h:8123/?database=x&password=***&access_token=***&force_primary_key=1"
    );
    assert!(services::has_credentials("redis://:pw@127.0.0.1:6379"));
    assert!(!services::has_credentials("redis://127.0.0.1:6379"));

    // The program itself, on services that are down (nothing listens on these ports), in text
    // and JSON: the addresses are shown, the passwords are not.
    let env = [
        ("TIERSTORE_TEST_REDIS_URL", format!("redis://:R3d-pw-71@127.0.0.1:{}", free_port().unwrap())),
        ("TIERSTORE_TEST_MYSQL_URL", format!("mysql://root:My-pw-72@127.0.0.1:{}", free_port().unwrap())),
        (
            "TIERSTORE_TEST_CLICKHOUSE_URL",
            format!("http://default@127.0.0.1:{}/?password=Ch-pw-73", free_port().unwrap()),
        ),
    ];
    let target = tempfile::tempdir().unwrap();
    for args in [["services", "status", "--json"], ["services", "status", "--only=redis,mysql,clickhouse"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(args)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .env("CARGO_TARGET_DIR", target.path())
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(1), "the services are down: {all}");
        for secret in ["R3d-pw-71", "My-pw-72", "Ch-pw-73"] {
            assert!(!all.contains(secret), "{secret} printed by xtask {args:?}:\n{all}");
        }
        assert!(all.contains("redis://:***@127.0.0.1:") && all.contains("password=***"), "{all}");
    }
}
