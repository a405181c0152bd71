//! A two-shard ClickHouse cluster of private `clickhouse-server` processes on spare loopback
//! ports, for the cool tier's cluster mode, and optionally a third server that is no shard
//! (a query node: it knows the cluster but holds no data). Each server knows the cluster as
//! `tierstore_two` (one replica per shard, the two shards' native ports); no ZooKeeper: the
//! store creates its local tables on each shard itself. Killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port_pair;

/// The cluster's name in the servers' `<remote_servers>`.
pub const CLUSTER: &str = "tierstore_two";

/// The running servers: the two shards, then the query node if one was asked for.
#[derive(Debug)]
pub struct ClickhouseCluster {
    servers: Vec<Child>,
    http: Vec<u16>,
    query_node: bool,
    _dir: tempfile::TempDir,
}

fn binary() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    for dir in dirs {
        let p = dir.join("clickhouse-server");
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "clickhouse-server is not installed; the cluster tests start two of their own. \
         Install it with `apt-get install clickhouse-server` (or run `cargo xtask ci`, which does)."
    )
}

impl ClickhouseCluster {
    /// Starts two shards and waits until both answer.
    pub fn start() -> Self {
        Self::launch(false)
    }

    /// Starts two shards and a query node that is none of them; waits until all answer.
    pub fn start_with_query_node() -> Self {
        Self::launch(true)
    }

    fn launch(query_node: bool) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        // Each server: HTTP on p, native on p + 1, interserver on p + 2 (all checked free).
        let ports: Vec<u16> = (0..2 + usize::from(query_node)).map(|_| free_port_pair(2)).collect();
        let shards: String = ports[..2]
            .iter()
            .map(|p| {
                format!("<shard><replica><host>127.0.0.1</host><port>{}</port></replica></shard>", p + 1)
            })
            .collect();
        let servers = ports
            .iter()
            .enumerate()
            .map(|(i, p)| spawn_server(&dir.path().join(format!("shard{i}")), *p, &shards))
            .collect();
        let mut cluster = ClickhouseCluster { servers, http: ports, query_node, _dir: dir };
        cluster.wait_until_up();
        cluster
    }

    fn wait_until_up(&mut self) {
        for (i, port) in self.http.clone().iter().enumerate() {
            wait_until_up(&mut self.servers[i], *port);
        }
    }

    /// Each shard's HTTP URL.
    pub fn urls(&self) -> Vec<String> {
        self.http[..2].iter().map(|p| format!("http://127.0.0.1:{p}")).collect()
    }

    /// The query node's HTTP URL, when it was started.
    pub fn query_node_url(&self) -> Option<String> {
        self.query_node.then(|| format!("http://127.0.0.1:{}", self.http[2]))
    }

    /// The single number a query returns on server `i` alone (0 and 1 the shards, 2 the query
    /// node).
    pub async fn number_on(&self, i: usize, sql: &str) -> u64 {
        let url = format!("http://127.0.0.1:{}", self.http[i]);
        let client = clickhouse::Client::default().with_url(&url).with_validation(false);
        match client.query(sql).fetch_one::<u64>().await {
            Ok(n) => n,
            Err(e) => panic!("query on server {i} failed: {e}\n{sql}"),
        }
    }
}

/// Starts a server with its files under `home` (created), HTTP on `http`, native on
/// `http + 1`, interserver on `http + 2`; does not wait for it.
fn spawn_server(home: &Path, http: u16, shards: &str) -> Child {
    for sub in ["data", "tmp", "user_files", "format_schemas", "log"] {
        std::fs::create_dir_all(home.join(sub)).unwrap_or_else(|e| panic!("{sub}: {e}"));
    }
    std::fs::write(home.join("config.xml"), config_xml(home, http, shards))
        .unwrap_or_else(|e| panic!("config: {e}"));
    std::fs::write(home.join("users.xml"), USERS_XML).unwrap_or_else(|e| panic!("users: {e}"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(home.join("log/stdout.log"))
        .unwrap_or_else(|e| panic!("log: {e}"));
    Command::new(binary())
        .arg(format!("--config-file={}", home.join("config.xml").display()))
        .current_dir(home)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("log: {e}")))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("starting clickhouse-server: {e}"))
}

/// Waits (up to 60 s) until the server on `port` answers; panics if it exits.
fn wait_until_up(server: &mut Child, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.try_wait().ok().flatten() {
            panic!("clickhouse-server (HTTP port {port}) exited at start: {status}");
        }
        if ping(port) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "clickhouse-server on HTTP port {port} did not answer within 60 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One private `clickhouse-server` on spare loopback ports, for outage tests: killed with
/// SIGKILL and started again on the same ports with its data, as after a crash. Killed on drop.
#[derive(Debug)]
pub struct ClickhouseServer {
    server: Option<Child>,
    http: u16,
    home: PathBuf,
    _dir: tempfile::TempDir,
}

impl ClickhouseServer {
    /// Starts the server and waits until it answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let http = free_port_pair(2);
        let home = dir.path().join("server");
        let mut server = spawn_server(&home, http, "");
        wait_until_up(&mut server, http);
        ClickhouseServer { server: Some(server), http, home, _dir: dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// SIGKILL, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same ports with the data it had; waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let mut server = spawn_server(&self.home, self.http, "");
        wait_until_up(&mut server, self.http);
        self.server = Some(server);
    }
}

impl Drop for ClickhouseServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Whether `GET /ping` answers `Ok.`.
fn ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /ping HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out.ends_with("Ok.\n")
}

impl Drop for ClickhouseCluster {
    fn drop(&mut self) {
        for c in &mut self.servers {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn config_xml(home: &Path, http: u16, shards: &str) -> String {
    let d = home.display();
    let (tcp, interserver) = (http + 1, http + 2);
    let remote = if shards.is_empty() {
        String::new()
    } else {
        format!("<remote_servers><{CLUSTER}>{shards}</{CLUSTER}></remote_servers>")
    };
    format!(
        r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><log>{d}/log/server.log</log><errorlog>{d}/log/server.err.log</errorlog></logger>
    <listen_host>127.0.0.1</listen_host>
    <http_port>{http}</http_port>
    <tcp_port>{tcp}</tcp_port>
    <interserver_http_port>{interserver}</interserver_http_port>
    <interserver_http_host>127.0.0.1</interserver_http_host>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>67108864</uncompressed_cache_size>
    <path>{d}/data/</path>
    <tmp_path>{d}/tmp/</tmp_path>
    <user_files_path>{d}/user_files/</user_files_path>
    <format_schema_path>{d}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>Asia/Shanghai</timezone>
    <mlock_executable>false</mlock_executable>
    {remote}
</yandex>
"#
    )
}

const USERS_XML: &str = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default><max_memory_usage>2000000000</max_memory_usage></default></profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
        <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
    </interval></default></quotas>
</yandex>
"#;
