//! A loopback HTTP listener that stands in for a ClickHouse server the tests cannot run: it
//! answers `SELECT version()` with the version it is given, a `SELECT count()` with 0 (so a
//! schema is created), a kline stream's listing of codes with one code (so the stream's read
//! is sent too), and every other request either with an empty result or — to play a server
//! that stalls in the middle of a response — with headers and then silence. It records every
//! request it answers.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// One request: its URL's query string and its body.
#[derive(Debug, Clone)]
pub struct StandInRequest {
    /// The URL's query string, as sent.
    pub query: String,
    /// The body.
    pub body: Vec<u8>,
}

impl StandInRequest {
    /// The SQL: the `query` parameter, else the body.
    pub fn sql(&self) -> String {
        param(&self.query, "query").unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned())
    }
}

/// What the stand-in does with requests other than the version and count probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StandInMode {
    /// Answers 200 with an empty body.
    Empty,
    /// Sends 200 headers, then nothing, keeping the connection open.
    StallAfterHeaders,
    /// Answers a kline stream's listing of codes (one code), then stalls as
    /// [`StandInMode::StallAfterHeaders`] on everything else: a stall in the middle of a stream.
    StallAfterListing,
}

/// The running stand-in; stops when dropped.
#[derive(Debug)]
pub struct ClickhouseStandIn {
    url: String,
    log: Arc<Mutex<Vec<StandInRequest>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ClickhouseStandIn {
    /// Listens on a free loopback port.
    pub async fn start(version: &'static str, mode: StandInMode) -> Self {
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("address: {e}"));
        let log: Arc<Mutex<Vec<StandInRequest>>> = Arc::default();
        let server_log = log.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, server_log.clone(), version, mode));
            }
        });
        ClickhouseStandIn { url: format!("http://{addr}"), log, task }
    }

    /// Its URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<StandInRequest> {
        self.log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

impl Drop for ClickhouseStandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Percent-decodes a query-string value (`+` is a space).
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("3f");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded value of query-string parameter `name`.
pub fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(url_decode))
}

/// Reads HTTP/1.1 requests off one connection and answers each.
async fn serve(
    stream: tokio::net::TcpStream,
    log: Arc<Mutex<Vec<StandInRequest>>>,
    version: &'static str,
    mode: StandInMode,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let Some((name, value)) = h.split_once(':') else { return };
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.trim().parse().unwrap_or(0),
                "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
                _ => {}
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                if reader.read_line(&mut size).await.unwrap_or(0) == 0 {
                    return;
                }
                let Ok(n) = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16) else {
                    return;
                };
                let mut chunk = vec![0; n + 2];
                if reader.read_exact(&mut chunk).await.is_err() {
                    return;
                }
                body.extend_from_slice(&chunk[..n]);
                if n == 0 {
                    break;
                }
            }
        } else {
            body.resize(length, 0);
            if reader.read_exact(&mut body).await.is_err() {
                return;
            }
        }
        let query = target.split_once('?').map_or(String::new(), |(_, q)| q.to_owned());
        let request = StandInRequest { query, body };
        let sql = request.sql();
        log.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(request);
        let answer: Vec<u8> = if sql.contains("version()") {
            // RowBinary String: a varint length, then the bytes.
            let mut a = vec![u8::try_from(version.len()).unwrap_or(0)];
            a.extend_from_slice(version.as_bytes());
            a
        } else if sql.starts_with("SELECT count()") {
            // A UInt64 zero: "no such table yet", so the schema is created.
            vec![0; 8]
        } else if sql.starts_with("SELECT code, count() AS bars") && mode != StandInMode::StallAfterHeaders {
            // A kline stream's listing of codes: one code with one bar, so the stream goes on
            // to read it and its query is sent too.
            let mut a = vec![9];
            a.extend_from_slice(b"600000.SH");
            a.extend_from_slice(&1u64.to_le_bytes());
            a
        } else if mode != StandInMode::Empty {
            let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
            if write.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            // Silence, with the connection held open, until the client gives up.
            let mut rest = Vec::new();
            let _ = reader.read_to_end(&mut rest).await;
            return;
        } else {
            Vec::new()
        };
        let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", answer.len());
        if write.write_all(head.as_bytes()).await.is_err() || write.write_all(&answer).await.is_err() {
            return;
        }
    }
}
