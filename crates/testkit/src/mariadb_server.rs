//! A private MariaDB server (`mariadbd` on a spare loopback port with a data directory of its
//! own), for outage tests: killed with SIGKILL and started again with its data. Root connects
//! without a password (grant tables skipped). Killed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

fn binary(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs = std::env::split_paths(&path).chain(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    for dir in dirs {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{name} is not installed; the outage tests start a MariaDB server of their own. \
         Install it with `apt-get install mariadb-server` (or run `cargo xtask ci`, which does)."
    )
}

/// The running server.
#[derive(Debug)]
pub struct MariadbServer {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl MariadbServer {
    /// Creates a data directory, starts the server and waits until it answers.
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let data = dir.path().join("data");
        let out = Command::new(binary("mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--user=root", "--skip-test-db", "--auth-root-authentication-method=normal"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running mariadb-install-db: {e}"));
        assert!(
            out.status.success(),
            "mariadb-install-db failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut s = MariadbServer { child: None, port: free_port(), dir };
        s.launch();
        let out = Command::new(binary("mariadb"))
            .args(["--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-u", "root"])
            .arg(format!("--port={}", s.port))
            .args(["-e", "CREATE DATABASE IF NOT EXISTS tierstore"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running the mariadb client: {e}"));
        assert!(
            out.status.success(),
            "creating the database failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        s
    }

    /// `mysql://root@127.0.0.1:<port>/tierstore` (the database `start` created).
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:{}/tierstore", self.port)
    }

    /// SIGKILL, as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with its data; waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn launch(&mut self) {
        let d: &Path = self.dir.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("server.log"))
            .unwrap_or_else(|e| panic!("log: {e}"));
        let child = Command::new(binary("mariadbd"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--socket={}", d.join("mysqld.sock").display()))
            .arg(format!("--pid-file={}", d.join("mysqld.pid").display()))
            .arg(format!("--port={}", self.port))
            .args(["--bind-address=127.0.0.1", "--user=root", "--skip-grant-tables", "--skip-log-bin"])
            .args(["--innodb-buffer-pool-size=32M", "--innodb-log-file-size=16M"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap_or_else(|e| panic!("log: {e}")))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting mariadbd: {e}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("mariadbd exited at start ({status}); see {}", d.join("server.log").display());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(Instant::now() < deadline, "mariadbd on port {} did not answer within 60 s", self.port);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for MariadbServer {
    fn drop(&mut self) {
        self.kill();
    }
}
