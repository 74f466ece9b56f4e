//! What the HTTP API tests (`broker_http`, `broker_openapi`, `readme_http`) share: a broker
//! started with `--http-port` on a fresh data directory and waited for through `GET /health`, a
//! small blocking HTTP/1.1 client (Content-Length and chunked bodies, read timeouts), a
//! WebSocket client over a plain `TcpStream` (tungstenite), and stream IDs as numbers.

#![allow(dead_code)] // each test binary uses a different part of these helpers

use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// The routes that answer without the password when the broker has one.
pub const OPEN_ROUTES: [&str; 6] = [
    "/health",
    "/metrics",
    "/",
    "/dashboard/dashboard.js",
    "/dashboard/dashboard.css",
    "/openapi.json",
];

use serde_json::Value;
use tungstenite::handshake::HandshakeError;
use tungstenite::{Message, WebSocket};

use crate::broker::show;
use crate::common::{free_port, Server, START_DEADLINE};
use crate::streams_support::TempDir;

/// How long one HTTP exchange may take before the test fails: longer than any `wait` a test
/// asks for, so only a hang reaches it.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest response body a test reads.
const MAX_BODY: usize = 256 << 20;

/// A broker with its RESP and HTTP ports, on a data directory removed after it stops.
#[derive(Debug)]
pub struct HttpBroker {
    /// The running broker (RESP on `server.port`).
    pub server: Server,
    /// Its HTTP port.
    pub http: u16,
    /// The password given with `--requirepass`, sent as a Bearer token by [`HttpBroker::call`].
    pub password: Option<String>,
    data: std::path::PathBuf,
    // Declared last: dropped after the server is killed.
    dir: Option<TempDir>,
}

impl HttpBroker {
    /// Starts a broker with `--http-port` and `--data-dir` plus `extra` flags, and waits until
    /// `GET /health` answers 200.
    pub fn start(label: &str, extra: &[&str]) -> HttpBroker {
        let dir = TempDir::new(label);
        let mut broker = Self::start_at(dir.path(), extra);
        broker.dir = Some(dir);
        broker
    }

    /// As [`HttpBroker::start`], storing streams in `data` (which the caller owns).
    pub fn start_at(data_dir: &std::path::Path, extra: &[&str]) -> HttpBroker {
        let http = free_port();
        let http_text = http.to_string();
        let data = data_dir.to_str().expect("a UTF-8 data path").to_string();
        let mut args: Vec<&str> = vec!["--http-port", &http_text, "--data-dir", &data];
        args.extend_from_slice(extra);
        let password = extra
            .iter()
            .position(|a| *a == "--requirepass")
            .map(|i| extra[i + 1].to_string());
        let server = Server::broker(&args);
        let mut last = String::from("no answer");
        let ready = crate::common::wait_for(START_DEADLINE, || {
            match try_request(http, "GET", "/health", &[], b"", Duration::from_secs(5)) {
                Ok(r) if r.status == 200 => true,
                Ok(r) => {
                    last = format!("{} {}", r.status, r.text());
                    false
                }
                Err(e) => {
                    last = e.to_string();
                    false
                }
            }
        });
        assert!(
            ready,
            "GET /health on port {http} did not answer 200 within {START_DEADLINE:?}: {last}"
        );
        HttpBroker {
            server,
            http,
            password,
            data: data_dir.to_path_buf(),
            dir: None,
        }
    }

    /// The data directory.
    pub fn data_dir(&self) -> &std::path::Path {
        &self.data
    }

    /// `method path` with `headers` and `body`, with the broker's password as a Bearer token
    /// when it has one.
    pub fn call(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let auth = self.password.as_ref().map(|p| format!("Bearer {p}"));
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        if let Some(auth) = &auth {
            all.push(("Authorization", auth));
        }
        request(self.http, method, path, &all, body)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Response {
        self.call("GET", path, &[], b"")
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &Value) -> Response {
        self.call(
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    /// `POST path` with `body` of type `content_type`.
    pub fn post(&self, path: &str, content_type: &str, body: &[u8]) -> Response {
        self.call("POST", path, &[("Content-Type", content_type)], body)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Response {
        self.call("DELETE", path, &[], b"")
    }

    /// Opens a WebSocket on `path_and_query`, the password (if any) as a Bearer header.
    pub fn ws(&self, path_and_query: &str) -> Ws {
        let auth = self.password.as_ref().map(|p| format!("Bearer {p}"));
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", a.as_str())).collect();
        ws_connect(self.http, path_and_query, &headers).unwrap_or_else(|(status, body)| {
            panic!("WebSocket {path_and_query}: the upgrade was refused with {status}: {body}")
        })
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names lowercased, in the order they came.
    pub headers: Vec<(String, String)>,
    /// The body (chunked encoding undone).
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON, or a test failure showing it.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("a JSON body expected ({e}): {} {}", self.status, show(&self.body)))
    }

    /// Fails the test unless the status is `status`, showing the body.
    fn assert_status(&self, status: u16, what: &str) {
        assert_eq!(
            self.status,
            status,
            "{what}: expected {status}, got {} {}",
            self.status,
            show(&self.body)
        );
    }

    /// Fails the test unless the status is `status`; returns the body as JSON.
    pub fn expect(&self, status: u16, what: &str) -> Value {
        self.assert_status(status, what);
        if self.body.is_empty() {
            Value::Null
        } else {
            self.json()
        }
    }

    /// Fails the test unless this is an error reply of the contract's shape with `status`: a
    /// JSON body `{"error": "<message>"}` served as `application/json`. Returns the message.
    pub fn expect_error(&self, status: u16, what: &str) -> String {
        self.assert_status(status, what);
        let content_type = self.header("content-type").unwrap_or("");
        assert!(
            content_type.starts_with("application/json"),
            "{what}: an error is served as application/json, got {content_type:?} ({})",
            show(&self.body)
        );
        let body = self.json();
        body.get("error")
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("{what}: an error body is {{\"error\": \"...\"}}, got {body}"))
            .to_string()
    }
}

/// Sends one request on a new connection (`Connection: close`) and reads the response; fails
/// the test on any I/O error or after [`HTTP_TIMEOUT`].
pub fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    try_request(port, method, path, headers, body, HTTP_TIMEOUT)
        .unwrap_or_else(|e| panic!("{method} {path} on port {port}: {e}"))
}

/// Sends one request on a new connection and reads the response, or says why it could not.
pub fn try_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.set_nodelay(true)?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    // A server may answer (413) and close before taking the whole body: read what it said.
    let written = stream.write_all(&out);
    let deadline = Instant::now() + timeout;
    match read_response(&mut BufReader::new(&stream), method == "HEAD", deadline) {
        Ok(response) => Ok(response),
        Err(e) => written.and(Err(e)),
    }
}

fn invalid(message: String) -> std::io::Error {
    std::io::Error::new(ErrorKind::InvalidData, message)
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = Vec::new();
    reader.by_ref().take(64 << 10).read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(invalid(format!("an unterminated line: {}", show(&line))));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    String::from_utf8(line).map_err(|e| invalid(format!("a header line that is not UTF-8: {e}")))
}

/// Reads one response (status line, headers, body) from `reader`.
pub fn read_response(
    reader: &mut impl BufRead,
    head_only: bool,
    deadline: Instant,
) -> std::io::Result<Response> {
    let status_line = read_line(reader)?;
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| invalid(format!("a bad status line: {status_line:?}")))?;
    let mut headers = Vec::new();
    for _ in 0..1000 {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| invalid(format!("a bad header line: {line:?}")))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    let mut response = Response {
        status,
        headers,
        body: Vec::new(),
    };
    if head_only || status == 204 || status == 304 || (100..200).contains(&status) {
        return Ok(response);
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|t| t.to_ascii_lowercase().contains("chunked"));
    if chunked {
        loop {
            if Instant::now() > deadline {
                return Err(ErrorKind::TimedOut.into());
            }
            let size_line = read_line(reader)?;
            let size_text = size_line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(size_text, 16)
                .map_err(|_| invalid(format!("a bad chunk size: {size_line:?}")))?;
            if size == 0 {
                // Trailers, then the empty line.
                for _ in 0..1000 {
                    if read_line(reader)?.is_empty() {
                        break;
                    }
                }
                break;
            }
            if response.body.len() + size > MAX_BODY {
                return Err(invalid(format!("a body over {MAX_BODY} bytes")));
            }
            let at = response.body.len();
            response.body.resize(at + size, 0);
            reader.read_exact(&mut response.body[at..])?;
            let mut crlf = [0; 2];
            reader.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = response.header("content-length") {
        let length: usize = length
            .parse()
            .map_err(|_| invalid(format!("a bad Content-Length: {length:?}")))?;
        if length > MAX_BODY {
            return Err(invalid(format!("a body of {length} bytes")));
        }
        response.body.resize(length, 0);
        reader.read_exact(&mut response.body)?;
    } else {
        // Neither: the body runs to the close (we asked for `Connection: close`).
        reader.take(MAX_BODY as u64).read_to_end(&mut response.body)?;
    }
    Ok(response)
}

/// Percent-encodes `name` as one URL path segment (everything but unreserved characters).
pub fn segment(name: &[u8]) -> String {
    let mut out = String::new();
    for &b in name {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A stream ID as numbers, ordered as the broker orders them.
pub fn id_of(text: &str) -> (u64, u64) {
    let (ms, seq) = text
        .split_once('-')
        .unwrap_or_else(|| panic!("an ID is <ms>-<seq>: {text:?}"));
    (
        ms.parse().unwrap_or_else(|_| panic!("an ID's ms: {text:?}")),
        seq.parse().unwrap_or_else(|_| panic!("an ID's seq: {text:?}")),
    )
}

/// The `"id"` of a JSON entry (or of a `201 {"id": ...}` reply).
pub fn id_in(value: &Value) -> String {
    value["id"]
        .as_str()
        .unwrap_or_else(|| panic!("an \"id\" string in {value}"))
        .to_string()
}

/// A WebSocket client over a plain TCP stream.
pub type Ws = WebSocket<TcpStream>;

/// Opens a WebSocket on `ws://127.0.0.1:port{path_and_query}` with extra `headers`; a refused
/// upgrade comes back as its status and body. Reads time out after [`HTTP_TIMEOUT`].
pub fn ws_connect(port: u16, path_and_query: &str, headers: &[(&str, &str)]) -> Result<Ws, (u16, String)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP port");
    ws_over(stream, port, path_and_query, headers)
}

/// Opens a WebSocket over an already connected `stream` (a socket with a small receive buffer,
/// say).
pub fn ws_over(
    stream: TcpStream,
    port: u16,
    path_and_query: &str,
    headers: &[(&str, &str)],
) -> Result<Ws, (u16, String)> {
    use tungstenite::client::IntoClientRequest;
    stream.set_read_timeout(Some(HTTP_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(HTTP_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    let url = format!("ws://127.0.0.1:{port}{path_and_query}");
    let mut request = url
        .as_str()
        .into_client_request()
        .unwrap_or_else(|e| panic!("a WebSocket request for {url}: {e}"));
    for (name, value) in headers {
        request.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            value.parse().unwrap(),
        );
    }
    match tungstenite::client::client(request, stream) {
        Ok((ws, _response)) => Ok(ws),
        Err(HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((status, body))
        }
        Err(e) => panic!("WebSocket handshake on {url}: {e}"),
    }
}

/// What a WebSocket read gave.
#[derive(Debug)]
pub enum WsEvent {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
    /// A close frame: its code and reason (None for a close frame without a code).
    Close(Option<(u16, String)>),
    /// The connection ended without a close frame (EOF or reset).
    Ended(String),
    /// Nothing came within the read timeout.
    TimedOut,
}

/// The next data frame or close on `ws` (pings and pongs skipped).
pub fn ws_next(ws: &mut Ws) -> WsEvent {
    for _ in 0..1000 {
        match ws.read() {
            Ok(Message::Text(text)) => return WsEvent::Text(text.as_str().to_string()),
            Ok(Message::Binary(bytes)) => return WsEvent::Binary(bytes.to_vec()),
            Ok(Message::Close(frame)) => {
                return WsEvent::Close(frame.map(|f| (u16::from(f.code), f.reason.as_str().to_string())))
            }
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return WsEvent::TimedOut
            }
            Err(e) => return WsEvent::Ended(e.to_string()),
        }
    }
    panic!("1000 control frames in a row")
}

/// The next text frame on `ws` parsed as JSON, or a test failure naming what came instead.
pub fn ws_json(ws: &mut Ws, what: &str) -> Value {
    match ws_next(ws) {
        WsEvent::Text(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{what}: a JSON text frame expected ({e}): {text:?}")),
        other => panic!("{what}: a text frame expected, got {other:?}"),
    }
}

/// The next binary frame on `ws`, or a test failure naming what came instead.
pub fn ws_binary(ws: &mut Ws, what: &str) -> Vec<u8> {
    match ws_next(ws) {
        WsEvent::Binary(bytes) => bytes,
        other => panic!("{what}: a binary frame expected, got {other:?}"),
    }
}
