//! The broker's live dashboard in a real browser: `tests/browser/dashboard.py` drives Debian's
//! headless Chromium through Selenium against a broker started with `--http-port`. The page must
//! go live on the `/ws/stats` feed, show a burst of PUBLISH and a topic with a consumer group
//! made over RESP, and leave the browser console free of errors and warnings; with
//! `--requirepass` it must ask for the password, refuse a wrong one and go live with the right
//! one; when the broker stops under the live page, it must say "disconnected" and go live again
//! by itself once the broker is back on the same ports. When the README has its ```js WebSocket
//! example, the script runs it in the page too. Each broker keeps its streams in a temporary
//! `--data-dir`; the screenshots are saved under `target/artifacts/` (`dashboard.png`).

mod broker;
mod common;
mod streams_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broker::run_bounded;
use common::{broker_binary, free_port, wait_for, Server};
use streams_support::TempDir;

/// Debian's interpreter, which has python3-selenium and python3-redis.
const PYTHON: &str = "/usr/bin/python3";
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long one run of the script may take: each of its waits has a 20 s deadline.
const SCRIPT_DEADLINE: Duration = Duration::from_secs(180);

/// Fails the test, saying how to install them, unless the browser and its drivers are here.
fn require_browser() {
    let install = "install them with `apt-get install chromium chromium-driver python3-selenium \
                   python3-redis` (`.ci/run` does)";
    for path in [CHROMIUM, CHROMEDRIVER, PYTHON] {
        assert!(Path::new(path).exists(), "{path} is missing: {install}");
    }
    let output = Command::new(PYTHON)
        .args(["-c", "import selenium, redis"])
        .output()
        .unwrap_or_else(|e| panic!("run {PYTHON}: {e}"));
    assert!(
        output.status.success(),
        "{PYTHON} cannot import selenium and redis ({}): {install}",
        String::from_utf8_lossy(&output.stderr).trim()
    );
}

/// `target/artifacts/`, beside the `debug` directory this test runs from.
fn artifacts_dir() -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test's own path");
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.pop(); // debug or release
    let dir = dir.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    dir
}

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Starts the broker with its HTTP listener on a free port and its data in `data`, and waits
/// until the HTTP port accepts.
fn broker_with_http(data: &TempDir, extra: &[&str]) -> (Server, u16) {
    let http = free_port();
    let http_arg = http.to_string();
    let data = data.path().to_str().expect("a UTF-8 temporary path");
    let mut args = vec!["--http-port", http_arg.as_str(), "--data-dir", data];
    args.extend_from_slice(extra);
    let server = Server::broker(&args);
    assert!(
        wait_for(Duration::from_secs(10), || TcpStream::connect((
            "127.0.0.1",
            http
        ))
        .is_ok()),
        "the broker's HTTP listener on port {http} did not accept within 10 s"
    );
    (server, http)
}

/// Runs the script against the broker on these ports and fails the test with its output unless
/// it exits 0.
fn run_dashboard(resp: u16, http: u16, screenshot: &Path, extra: &[&str]) {
    let mut command = Command::new(PYTHON);
    command
        .arg(repo_file("tests/browser/dashboard.py"))
        .args(["--url", &format!("http://127.0.0.1:{http}")])
        .args(["--resp-port", &resp.to_string()])
        .arg("--screenshot")
        .arg(screenshot)
        .args(extra)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let output = run_bounded(&mut command, None, SCRIPT_DEADLINE);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{report}");
    assert!(
        output.status.success(),
        "tests/browser/dashboard.py {extra:?} failed ({}):\n{report}",
        output.status
    );
    assert!(screenshot.exists(), "no screenshot at {}", screenshot.display());
}

/// Whether the README has its fenced ```js block yet.
fn readme_has_js_block() -> bool {
    std::fs::read_to_string(repo_file("README.md"))
        .map(|readme| readme.lines().any(|l| l.trim_end() == "```js"))
        .unwrap_or(false)
}

#[test]
fn dashboard_shows_the_traffic_on_broker() {
    require_browser();
    let data = TempDir::new("dashboard");
    let (server, http) = broker_with_http(&data, &[]);
    let screenshot = artifacts_dir().join("dashboard.png");
    let readme = repo_file("README.md");
    let readme = readme.to_str().expect("a UTF-8 path");
    let extra: &[&str] = if readme_has_js_block() {
        &["--readme", readme]
    } else {
        println!("README.md has no ```js block: its WebSocket example is not run");
        &[]
    };
    run_dashboard(server.port, http, &screenshot, extra);
    println!("screenshot: {}", screenshot.display());
}

#[test]
fn dashboard_asks_for_the_password_on_broker() {
    require_browser();
    let data = TempDir::new("dashboard-password");
    let (server, http) = broker_with_http(&data, &["--requirepass", "dash-secret"]);
    let screenshot = artifacts_dir().join("dashboard-password.png");
    run_dashboard(server.port, http, &screenshot, &["--password", "dash-secret"]);
}

#[test]
fn dashboard_reconnects_when_the_broker_comes_back_on_broker() {
    require_browser();
    // The script starts the broker itself, on these ports, so that it can restart it on them.
    let data = TempDir::new("dashboard-restart");
    let binary = broker_binary();
    let data_dir = data.path().to_str().expect("a UTF-8 temporary path");
    let screenshot = artifacts_dir().join("dashboard-reconnect.png");
    let resp = free_port();
    let http = std::iter::repeat_with(free_port).find(|&p| p != resp).unwrap();
    run_dashboard(
        resp,
        http,
        &screenshot,
        &[
            "--broker",
            binary.to_str().expect("a UTF-8 path"),
            "--data-dir",
            data_dir,
        ],
    );
}
