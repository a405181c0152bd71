//! `services up` starts what does not answer, reuses what does, and `down` stops only what
//! `up` started. Runs real servers: the configured Redis must be up (as under `cargo xtask ci`),
//! and private Redis, MariaDB and ClickHouse instances are started on free ports.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

use xtask::services::{self, Address, Layout, Origin, Service, free_port, probe};

fn answers(service: Service, url: &str) -> bool {
    let Ok(addr) = Address::parse(url, 0) else { return false };
    match service {
        Service::Redis => probe::redis(&addr).is_ok(),
        Service::Mysql => probe::mysql(&addr).is_ok(),
        Service::Clickhouse => probe::clickhouse(&addr).is_ok(),
    }
}

#[test]
fn up_starts_missing_servers_reuses_running_ones_and_down_stops_only_its_own() {
    let state = tempfile::tempdir().unwrap();
    let layout = Layout { root: state.path().to_path_buf() };

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
        (Service::Clickhouse, format!("http://127.0.0.1:{}", free_port().unwrap())),
    ];
    for (s, url) in &mine {
        assert!(!answers(*s, url), "{url} should be free");
    }

    let result = services::up(&layout, &mine);
    let running = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = services::down(&layout, &Service::ALL);
            panic!("services up failed: {e:#}");
        }
    };
    for (r, (s, url)) in running.iter().zip(&mine) {
        assert_eq!(r.service, *s);
        assert_eq!(r.origin, Origin::StartedNow, "{s}");
        assert_eq!(&r.url, url, "{s} started on the configured (free) port");
        assert!(answers(*s, &r.url), "{s} answers at {}", r.url);
        assert!(state.path().join(s.name()).join("state.json").exists());
    }

    // The already-running external server is reused, not replaced.
    let reused =
        services::up(&Layout { root: state.path().join("other") }, &[(Service::Redis, external.clone())])
            .unwrap();
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
