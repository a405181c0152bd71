//! Minimal protocol probes: is the thing listening at an address really Redis, MySQL or
//! ClickHouse, and which version? Hand-written over `TcpStream` so xtask needs no drivers.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::Address;

const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);
const IO_TIMEOUT: Duration = Duration::from_secs(3);

fn connect(addr: &Address) -> Result<TcpStream> {
    let sock = (addr.host.as_str(), addr.port)
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {}:{}", addr.host, addr.port))?
        .next()
        .with_context(|| format!("{}:{} resolves to nothing", addr.host, addr.port))?;
    let stream = TcpStream::connect_timeout(&sock, CONNECT_TIMEOUT)
        .with_context(|| format!("nothing answers at {}:{}", addr.host, addr.port))?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(stream)
}

/// Whether anything accepts TCP connections at the address.
pub fn listening(addr: &Address) -> bool {
    connect(addr).is_ok()
}

fn resp_command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// Redis: authenticates if the URL carries a password, then reads `redis_version` from INFO.
pub fn redis(addr: &Address) -> Result<String> {
    let mut s = connect(addr)?;
    if let Some(password) = &addr.password {
        let mut args = vec!["AUTH"];
        if let Some(user) = &addr.user {
            args.push(user);
        }
        args.push(password);
        s.write_all(&resp_command(&args))?;
        let reply = read_some(&mut s)?;
        if !reply.starts_with("+OK") {
            bail!("redis at {}:{} refused AUTH: {}", addr.host, addr.port, reply.trim());
        }
    }
    s.write_all(&resp_command(&["INFO", "server"]))?;
    let mut reply = String::new();
    // INFO's bulk reply may arrive in several reads; read until the version line is in.
    for _ in 0..20 {
        reply.push_str(&read_some(&mut s)?);
        if let Some(v) = reply.lines().find_map(|l| l.strip_prefix("redis_version:")) {
            return Ok(v.trim().to_owned());
        }
        if reply.starts_with('-') {
            bail!("not usable as Redis: {}", reply.trim());
        }
    }
    bail!("{}:{} does not answer like Redis", addr.host, addr.port)
}

/// MySQL/MariaDB: reads the server greeting (protocol 10), which carries the version.
pub fn mysql(addr: &Address) -> Result<String> {
    let mut s = connect(addr)?;
    let mut header = [0u8; 4];
    s.read_exact(&mut header).context("no MySQL greeting")?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], 0]) as usize;
    let mut payload = vec![0u8; len.min(1 << 16)];
    s.read_exact(&mut payload).context("truncated MySQL greeting")?;
    match payload.first() {
        Some(10) => {
            let end = payload[1..].iter().position(|b| *b == 0).map(|p| p + 1).unwrap_or(payload.len());
            let version = String::from_utf8_lossy(&payload[1..end]).into_owned();
            // MariaDB prefixes its version with "5.5.5-" for old clients' sake.
            Ok(version.strip_prefix("5.5.5-").map(str::to_owned).unwrap_or(version))
        }
        Some(0xff) => bail!("MySQL refuses connections: {}", String::from_utf8_lossy(&payload[3..])),
        _ => bail!("{}:{} does not answer like MySQL", addr.host, addr.port),
    }
}

/// PostgreSQL: a protocol-3 startup as the URL's user (default `postgres`) to its database
/// (default the user's); the server's `server_version` parameter arrives before it is ready.
/// Only trust authentication is supported: the tests' servers use it.
pub fn postgres(addr: &Address) -> Result<String> {
    let mut s = connect(addr)?;
    let user = addr.user.as_deref().unwrap_or("postgres");
    let mut body = 196_608_u32.to_be_bytes().to_vec();
    for part in ["user", user, "database", "postgres", ""] {
        body.extend_from_slice(part.as_bytes());
        body.push(0);
    }
    let mut packet = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    packet.extend_from_slice(&body);
    s.write_all(&packet)?;
    let mut version = None;
    loop {
        let mut head = [0u8; 5];
        s.read_exact(&mut head).context("no PostgreSQL answer")?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        let mut payload = vec![0u8; len.saturating_sub(4).min(1 << 16)];
        s.read_exact(&mut payload).context("truncated PostgreSQL message")?;
        match head[0] {
            b'R' if payload.get(..4) == Some(&[0, 0, 0, 0]) => {}
            b'R' => {
                bail!("PostgreSQL asks for a password; the tests expect trust authentication on loopback")
            }
            b'S' => {
                let mut parts = payload.split(|b| *b == 0);
                if parts.next() == Some(b"server_version") {
                    version = parts.next().map(|v| String::from_utf8_lossy(v).into_owned());
                }
            }
            b'E' => {
                bail!("PostgreSQL refuses: {}", String::from_utf8_lossy(&payload).replace('\0', " ").trim())
            }
            b'Z' => break,
            b'K' | b'N' => {}
            _ => bail!("{}:{} does not answer like PostgreSQL", addr.host, addr.port),
        }
    }
    let _ = s.write_all(&[b'X', 0, 0, 0, 4]);
    version.with_context(|| format!("{}:{} reported no server_version", addr.host, addr.port))
}

/// ClickHouse over HTTP: `SELECT version()`.
pub fn clickhouse(addr: &Address) -> Result<String> {
    let mut s = connect(addr)?;
    let mut req = format!(
        "GET /?query=SELECT%20version() HTTP/1.0\r\nHost: {}:{}\r\nConnection: close\r\n",
        addr.host, addr.port
    );
    if let Some(user) = &addr.user {
        req.push_str(&format!("X-ClickHouse-User: {user}\r\n"));
    }
    if let Some(password) = &addr.password {
        req.push_str(&format!("X-ClickHouse-Key: {password}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut resp = String::new();
    s.read_to_string(&mut resp).context("no HTTP answer")?;
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    let status = head.lines().next().unwrap_or_default();
    if !status.contains(" 200 ") {
        bail!("{}:{} answered `{status}`: {}", addr.host, addr.port, body.trim());
    }
    if !head.to_ascii_lowercase().contains("x-clickhouse")
        && !body.trim().starts_with(|c: char| c.is_ascii_digit())
    {
        bail!("{}:{} is an HTTP server but not ClickHouse", addr.host, addr.port);
    }
    Ok(body.trim().to_owned())
}

fn read_some(s: &mut TcpStream) -> Result<String> {
    let mut buf = [0u8; 8192];
    let n = s.read(&mut buf)?;
    if n == 0 {
        bail!("connection closed");
    }
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}
