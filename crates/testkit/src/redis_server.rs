//! Private `redis-server` processes for tests that stop, restart or cluster a server.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("cannot find a free port: {e}"))
}

/// A port `p` such that both `p` and `p + offset` are free and at most 65535 — what a Redis
/// Cluster node needs (its bus listens on port + 10000, so Redis refuses ports above 55535).
/// `p` is drawn from 20000..32768, below Linux's default ephemeral range (32768..61000) where
/// `free_port` and outgoing connections pick theirs; the pair is checked free when drawn, and
/// a node that cannot bind is restarted on another pair.
pub fn free_port_pair(offset: u16) -> u16 {
    for _ in 0..200 {
        let p = 20_000 + rand::random::<u16>() % 12_768;
        let Some(q) = p.checked_add(offset) else { continue };
        if TcpListener::bind(("127.0.0.1", p)).is_ok() && TcpListener::bind(("127.0.0.1", q)).is_ok() {
            return p;
        }
    }
    panic!("no two free ports {offset} apart (the first in 20000..32768) after 200 tries")
}

fn redis_binary(name: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(name)).find(|p| p.is_file()))
        .unwrap_or_default()
        .or_else(|| Some(PathBuf::from("/usr/bin").join(name)).filter(|p| p.is_file()));
    found.unwrap_or_else(|| {
        panic!(
            "`{name}` is not installed; these tests start their own Redis servers. \
             Install it with `apt-get install redis-server` (or run `cargo xtask ci`, which does)."
        )
    })
}

/// One `redis-server` without persistence on a free port, killed on drop.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    extra: Vec<String>,
}

impl RedisServer {
    /// Starts a server with its files in `dir` and waits until it answers.
    pub fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::start_on(dir, extra, free_port)
    }

    /// Starts a cluster-enabled node, on a port whose bus port (+10000) is free too.
    pub fn start_cluster_node(dir: &Path) -> Self {
        Self::start_on(dir, &["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"], || {
            free_port_pair(10_000)
        })
    }

    /// Starts on a port from `pick`; if the server exits at once (another process took the
    /// port between the pick and the bind), tries another.
    fn start_on(dir: &Path, extra: &[&str], pick: impl Fn() -> u16) -> Self {
        let mut s = RedisServer {
            port: pick(),
            dir: dir.to_path_buf(),
            child: None,
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        for _ in 0..5 {
            if s.try_start() {
                return s;
            }
            s.port = pick();
        }
        panic!("redis-server would not start in {} (see the redis-*.log files there)", s.dir.display());
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL: the server vanishes as in a crash, with nothing saved.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the server again on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        assert!(self.try_start(), "redis-server on port {} did not start again", self.port);
    }

    /// Starts the server on its port and waits until it answers; false if it exited instead.
    fn try_start(&mut self) -> bool {
        self.kill();
        std::fs::create_dir_all(&self.dir).unwrap_or_else(|e| panic!("creating {}: {e}", self.dir.display()));
        let log = std::fs::File::create(self.dir.join(format!("redis-{}.log", self.port)))
            .unwrap_or_else(|e| panic!("creating the redis log: {e}"));
        let child = Command::new(redis_binary("redis-server"))
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("log: {e}")))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting redis-server: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let exited = self.child.as_mut().is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if exited {
                // It could not bind (another process took the port): the caller picks another.
                self.child = None;
                return false;
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                // Answering, and still ours: a server that lost the port exits at once.
                std::thread::sleep(Duration::from_millis(20));
                if self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none()) {
                    return true;
                }
            }
            assert!(Instant::now() < deadline, "redis-server on port {} did not start", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A local Redis Cluster of `n` masters (no replicas), torn down on drop.
#[derive(Debug)]
pub struct RedisCluster {
    servers: Vec<RedisServer>,
    _dir: PathBuf,
}

impl RedisCluster {
    /// Starts `n` cluster-enabled servers under `dir`, joins them with
    /// `redis-cli --cluster create`, and waits until every node reports `cluster_state:ok`.
    pub fn start(dir: &Path, n: usize) -> Self {
        let servers: Vec<RedisServer> =
            (0..n).map(|i| RedisServer::start_cluster_node(&dir.join(format!("node{i}")))).collect();
        let mut create = Command::new(redis_binary("redis-cli"));
        create.arg("--cluster").arg("create");
        for s in &servers {
            create.arg(format!("127.0.0.1:{}", s.port()));
        }
        let out = create
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .unwrap_or_else(|e| panic!("running redis-cli --cluster create: {e}"));
        assert!(
            out.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        for s in &servers {
            loop {
                let info = Command::new(redis_binary("redis-cli"))
                    .args(["-p", &s.port().to_string(), "cluster", "info"])
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster node {} never reached cluster_state:ok",
                    s.port()
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        RedisCluster { servers, _dir: dir.to_path_buf() }
    }

    /// A seed node's URL.
    pub fn url(&self) -> String {
        self.servers[0].url()
    }

    /// Every node's port.
    pub fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(RedisServer::port).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_ports_leave_room_for_the_bus_port() {
        for _ in 0..50 {
            let p = free_port_pair(10_000);
            assert!(p <= 55_535, "Redis refuses cluster ports above 55535: {p}");
            // Both really are free: we can take them.
            let a = TcpListener::bind(("127.0.0.1", p));
            let b = TcpListener::bind(("127.0.0.1", p + 10_000));
            assert!(a.is_ok() && b.is_ok(), "{p} and {} are free", p + 10_000);
        }
    }
}
