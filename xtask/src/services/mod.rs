//! `cargo xtask services up|status|down`.
//!
//! For each of Redis, a MySQL-compatible server, PostgreSQL and ClickHouse: reuse a server that already
//! answers at the configured address; otherwise start a private instance with its data under
//! the state directory (`target/services/` by default) on the configured port if it is free,
//! else on a free one. `down` stops only instances that `up` started, identified by the state
//! file each start leaves behind.

mod clickhouse;
mod install;
mod mysql;
mod postgres;
pub mod probe;
mod redis;

use std::fmt;
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

/// A service the tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    /// Redis (hot tier).
    Redis,
    /// MySQL or MariaDB (warm tier).
    Mysql,
    /// PostgreSQL (warm tier, the other server engine).
    Postgres,
    /// ClickHouse (cool tier), HTTP interface.
    Clickhouse,
}

impl Service {
    /// Every service, in start order.
    pub const ALL: [Service; 4] = [Service::Redis, Service::Mysql, Service::Postgres, Service::Clickhouse];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Service::Redis => "redis",
            Service::Mysql => "mysql",
            Service::Postgres => "postgres",
            Service::Clickhouse => "clickhouse",
        }
    }

    /// The environment variable through which tests (and this command) get the service's URL.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::Redis => "TIERSTORE_TEST_REDIS_URL",
            Service::Mysql => "TIERSTORE_TEST_MYSQL_URL",
            Service::Postgres => "TIERSTORE_TEST_POSTGRES_URL",
            Service::Clickhouse => "TIERSTORE_TEST_CLICKHOUSE_URL",
        }
    }

    /// Where the service is expected when nothing is configured.
    pub fn default_url(self) -> &'static str {
        match self {
            Service::Redis => "redis://127.0.0.1:6379",
            Service::Mysql => "mysql://root@127.0.0.1:3306",
            Service::Postgres => "postgres://postgres@127.0.0.1:5432/postgres",
            Service::Clickhouse => "http://127.0.0.1:8123",
        }
    }

    /// The configured URL: the environment variable, else the default.
    pub fn configured_url(self) -> String {
        std::env::var(self.env_var())
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| self.default_url().into())
    }

    fn probe(self, addr: &Address) -> Result<String> {
        match self {
            Service::Redis => probe::redis(addr),
            Service::Mysql => probe::mysql(addr),
            Service::Postgres => probe::postgres(addr),
            Service::Clickhouse => probe::clickhouse(addr),
        }
    }

    fn start(self, dir: &Path, port: u16) -> Result<Started> {
        match self {
            Service::Redis => redis::start(dir, port),
            Service::Mysql => mysql::start(dir, port),
            Service::Postgres => postgres::start(dir, port),
            Service::Clickhouse => clickhouse::start(dir, port),
        }
    }

    /// How long a fresh instance may take to answer.
    fn start_timeout(self) -> Duration {
        match self {
            Service::Redis => Duration::from_secs(20),
            Service::Mysql | Service::Postgres | Service::Clickhouse => Duration::from_secs(90),
        }
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Host, port and credentials taken from a service URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Scheme, e.g. `redis`.
    pub scheme: String,
    /// Host name or IP.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// User, if any.
    pub user: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
}

impl Address {
    /// Parses `scheme://[user[:password]@]host[:port][/...]`.
    pub fn parse(url: &str, default_port: u16) -> Result<Self> {
        let (scheme, rest) =
            url.split_once("://").with_context(|| format!("`{}` is not a URL", redact(url)))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(user.to_owned()), Some(pass.to_owned())),
                None => (Some(u.to_owned()), None),
            },
            None => (None, None),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().with_context(|| format!("bad port in `{}`", redact(url)))?),
            None => (hostport, default_port),
        };
        if host.is_empty() {
            bail!("no host in `{}`", redact(url));
        }
        Ok(Address {
            scheme: scheme.to_owned(),
            host: host.to_owned(),
            port,
            user: user.filter(|u| !u.is_empty()),
            password: password.filter(|p| !p.is_empty()),
        })
    }
}

fn default_port(service: Service) -> u16 {
    match service {
        Service::Redis => 6379,
        Service::Mysql => 3306,
        Service::Postgres => 5432,
        Service::Clickhouse => 8123,
    }
}

/// A URL with its credentials replaced by `***`: the user-info password and the values of
/// credential query parameters (`?password=`, `token`, `secret`, `key`, ...).
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, format!("#{f}")),
                None => (query, String::new()),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((name, _)) if is_credential(name) => format!("{name}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}{fragment}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Whether a query parameter carries a credential: the names `tierstore_model::secret` knows
/// (xtask links no tierstore crate, so the list is repeated here).
fn is_credential(name: &str) -> bool {
    const NAMES: [&str; 18] = [
        "password",
        "passwd",
        "pwd",
        "pass",
        "token",
        "access_token",
        "auth_token",
        "refresh_token",
        "secret",
        "client_secret",
        "key",
        "api_key",
        "apikey",
        "access_key",
        "secret_key",
        "auth",
        "signature",
        "sig",
    ];
    NAMES.contains(&name.to_ascii_lowercase().as_str())
}

/// Whether a URL carries any credential (`redact` changes it).
pub fn has_credentials(url: &str) -> bool {
    redact(url) != url
}

/// Where `up` keeps the data, logs and state files of instances it starts.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The state directory.
    pub root: PathBuf,
    /// How long a fresh instance may take to answer (default: per service).
    pub start_timeout: Option<Duration>,
}

impl Layout {
    /// `target/services` of the workspace (or of `CARGO_TARGET_DIR`).
    pub fn default_for_workspace() -> Self {
        Layout { root: crate::target_dir().join("services"), start_timeout: None }
    }

    /// A layout under `root` with the default start timeouts.
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into(), start_timeout: None }
    }

    fn dir(&self, s: Service) -> PathBuf {
        self.root.join(s.name())
    }

    fn state_path(&self, s: Service) -> PathBuf {
        self.dir(s).join("state.json")
    }

    fn read_state(&self, s: Service) -> Option<State> {
        let text = fs::read_to_string(self.state_path(s)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// What `up` records about an instance it started.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    pid: u32,
    url: String,
    program: String,
}

/// What a just-started instance reports back to `up`.
struct Started {
    child: Child,
    url: String,
    program: String,
}

/// Who runs a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// Something else started it; `down` leaves it alone.
    External,
    /// `up` started it in this call.
    StartedNow,
    /// An earlier `up` started it and it is still running.
    StartedEarlier,
}

/// A service that answers.
#[derive(Debug, Clone, Serialize)]
pub struct Running {
    /// Which service.
    pub service: Service,
    /// Its URL (credentials included: tests need them; print with [`redact`], as `Serialize`
    /// does).
    #[serde(serialize_with = "serialize_redacted")]
    pub url: String,
    /// Who runs it.
    pub origin: Origin,
    /// Its process id, if we started it.
    pub pid: Option<u32>,
    /// The server's version.
    pub version: String,
}

fn serialize_redacted<S: serde::Serializer>(url: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&redact(url))
}

/// Makes each `(service, configured URL)` reachable; see the module doc. If one cannot be
/// made reachable, the instances this call started are stopped again before the error is
/// returned, so a failed `up` leaves nothing behind.
pub fn up(layout: &Layout, wanted: &[(Service, String)]) -> Result<Vec<Running>> {
    up_with(layout, wanted, &mut |_| {})
}

/// [`up`], calling `on_start` the moment a server has been spawned (before it answers), so a
/// caller can stop it even if interrupted while waiting.
pub fn up_with(
    layout: &Layout,
    wanted: &[(Service, String)],
    on_start: &mut dyn FnMut(Service),
) -> Result<Vec<Running>> {
    let mut running = Vec::new();
    for (s, url) in wanted {
        match up_one(layout, *s, url, on_start) {
            Ok(r) => running.push(r),
            Err(e) => {
                let started: Vec<Service> = running
                    .iter()
                    .filter(|r: &&Running| r.origin == Origin::StartedNow)
                    .map(|r| r.service)
                    .collect();
                if let Err(stop) = down(layout, &started) {
                    eprintln!("xtask: stopping what was started failed too: {stop:#}");
                }
                return Err(e.context(format!("bringing {s} up")));
            }
        }
    }
    Ok(running)
}

fn up_one(
    layout: &Layout,
    service: Service,
    url: &str,
    on_start: &mut dyn FnMut(Service),
) -> Result<Running> {
    if let Some(r) = ours_running(layout, service) {
        return Ok(r);
    }
    let addr = Address::parse(url, default_port(service))?;
    match service.probe(&addr) {
        Ok(version) => {
            return Ok(Running {
                service,
                url: url.to_owned(),
                origin: Origin::External,
                pid: None,
                version,
            });
        }
        Err(e) if probe::listening(&addr) => {
            eprintln!(
                "xtask: {service}: something listens at {}:{} but is not usable ({e:#}); starting our own on a free port",
                addr.host, addr.port
            );
        }
        Err(_) => {}
    }
    let local = matches!(addr.host.as_str(), "127.0.0.1" | "localhost" | "::1");
    let port = if local && port_free(addr.port) { addr.port } else { free_port()? };
    let dir = layout.dir(service);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    eprintln!("xtask: starting {service} on 127.0.0.1:{port} (data in {})", dir.display());
    let mut started = service.start(&dir, port)?;
    let result = wait_for(layout, service, &dir, &mut started, on_start);
    if result.is_err() {
        // Whatever went wrong after the spawn, the server does not outlive it.
        if started.child.try_wait().ok().flatten().is_none() {
            let _ = stop_process(started.child.id(), &started.program);
            let _ = started.child.kill();
        }
        let _ = started.child.wait();
        let _ = fs::remove_file(layout.state_path(service));
    }
    result
}

/// Records a just-spawned server and waits until it answers, within the start timeout.
fn wait_for(
    layout: &Layout,
    service: Service,
    dir: &Path,
    started: &mut Started,
    on_start: &mut dyn FnMut(Service),
) -> Result<Running> {
    let pid = started.child.id();
    let state = State { pid, url: started.url.clone(), program: started.program.clone() };
    fs::write(layout.state_path(service), serde_json::to_string_pretty(&state)?)?;
    on_start(service);
    let addr = Address::parse(&started.url, default_port(service))?;
    let timeout = layout.start_timeout.unwrap_or_else(|| service.start_timeout());
    let deadline = Instant::now() + timeout;
    // Poll quickly at first (Redis answers in milliseconds), then every 200 ms.
    let mut pause = Duration::from_millis(10);
    loop {
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(200));
        if let Some(status) = started.child.try_wait()? {
            bail!("{service} exited with {status} before answering; see the log in {}", dir.display());
        }
        if Instant::now() > deadline {
            // Not answering is not "not running": the caller stops it.
            bail!(
                "{service} did not answer within {timeout:?}; stopped it; see the log in {}",
                dir.display()
            );
        }
        if let Ok(version) = service.probe(&addr) {
            return Ok(Running {
                service,
                url: started.url.clone(),
                origin: Origin::StartedNow,
                pid: Some(pid),
                version,
            });
        }
    }
}

/// An instance an earlier `up` started, if it still runs and answers.
fn ours_running(layout: &Layout, service: Service) -> Option<Running> {
    let state = layout.read_state(service)?;
    if !process_is(state.pid, &state.program) {
        let _ = fs::remove_file(layout.state_path(service));
        return None;
    }
    let addr = Address::parse(&state.url, default_port(service)).ok()?;
    let version = service.probe(&addr).ok()?;
    Some(Running { service, url: state.url, origin: Origin::StartedEarlier, pid: Some(state.pid), version })
}

/// One line of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// Which service.
    pub service: Service,
    /// Where it is (ours if we started one, else the configured URL); serialised redacted.
    #[serde(serialize_with = "serialize_redacted")]
    pub url: String,
    /// Who runs it, when it answers.
    pub origin: Option<Origin>,
    /// Version, when it answers.
    pub version: Option<String>,
    /// Why not, when it does not.
    pub error: Option<String>,
}

/// Reports each service without changing anything.
pub fn status(layout: &Layout, wanted: &[(Service, String)]) -> Vec<Status> {
    wanted
        .iter()
        .map(|(service, url)| {
            if let Some(r) = ours_running(layout, *service) {
                return Status {
                    service: *service,
                    url: r.url,
                    origin: Some(r.origin),
                    version: Some(r.version),
                    error: None,
                };
            }
            let probed = Address::parse(url, default_port(*service)).and_then(|a| service.probe(&a));
            match probed {
                Ok(v) => Status {
                    service: *service,
                    url: url.clone(),
                    origin: Some(Origin::External),
                    version: Some(v),
                    error: None,
                },
                Err(e) => Status {
                    service: *service,
                    url: url.clone(),
                    origin: None,
                    version: None,
                    error: Some(format!("{e:#}")),
                },
            }
        })
        .collect()
}

/// Stops the instances `up` started (for the given services), and nothing else.
/// Returns the services it stopped.
pub fn down(layout: &Layout, services: &[Service]) -> Result<Vec<Service>> {
    let mut stopped = Vec::new();
    for &service in services {
        let Some(state) = layout.read_state(service) else { continue };
        if process_is(state.pid, &state.program) {
            eprintln!("xtask: stopping {service} (pid {})", state.pid);
            stop_process(state.pid, &state.program)?;
            stopped.push(service);
        }
        let _ = fs::remove_file(layout.state_path(service));
    }
    Ok(stopped)
}

/// Whether `pid` is alive (not a zombie) and runs `program` — guards against recycled pids.
fn process_is(pid: u32, program: &str) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { return false };
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    if matches!(state, Some('Z' | 'X') | None) {
        return false;
    }
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let name = Path::new(program).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    String::from_utf8_lossy(&cmdline).contains(&name)
}

fn stop_process(pid: u32, program: &str) -> Result<()> {
    let signal =
        |sig: &str| Command::new("kill").args([sig, &pid.to_string()]).stderr(Stdio::null()).status();
    signal("-TERM")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while process_is(pid, program) {
        if Instant::now() > deadline {
            eprintln!("xtask: pid {pid} ignored SIGTERM for 30 s, killing it");
            signal("-KILL")?;
            std::thread::sleep(Duration::from_millis(200));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn port_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// A port nothing listens on right now.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind(("127.0.0.1", 0)).context("cannot bind an ephemeral port")?;
    Ok(l.local_addr()?.port())
}

/// Spawns a server in its own process group (so a terminal's Ctrl-C or the end of xtask does
/// not take it down), with stdout and stderr appended to `log`.
fn spawn_server(cmd: &mut Command, log: &Path) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let out = fs::OpenOptions::new().create(true).append(true).open(log)?;
    let err = out.try_clone()?;
    let shown = crate::cmd::show(cmd);
    cmd.stdin(Stdio::null()).stdout(out).stderr(err).process_group(0);
    cmd.spawn().with_context(|| format!("could not start `{shown}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_service_urls() {
        let a = Address::parse("redis://:pw@192.0.2.1:6380/0", 6379).unwrap();
        assert_eq!(
            (a.host.as_str(), a.port, a.user, a.password.as_deref()),
            ("192.0.2.1", 6380, None, Some("pw"))
        );
        let a = Address::parse("mysql://root@127.0.0.1", 3306).unwrap();
        assert_eq!((a.port, a.user.as_deref(), a.password), (3306, Some("root"), None));
        assert!(Address::parse("127.0.0.1:6379", 1).is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("mysql://root:hunter2@h:1/db"), "mysql://root:***@h:1/db");
        assert_eq!(redact("redis://h:1"), "redis://h:1");
    }
}
