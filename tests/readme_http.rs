//! The README's "HTTP and WebSocket API" examples, run as written with bash and curl against a
//! broker with `--http-port` (the text's `127.0.0.1:8080` and `6380` pointed at the test's
//! ports, the example ID replaced by the one the broker gave, `wait=5000` shortened): produce
//! (JSON, NDJSON, raw bytes), consume (paging, a long-poll that expires, base64 and raw reads,
//! the topic list), a consumer group (create, read, pending, ack), a channel reaching a RESP
//! subscriber, and auth against a broker with `--requirepass s3cret`. The section's one ```js
//! block is run in a browser by `broker_dashboard`; here it is only checked to be there.

mod broker;
mod common;
mod http_support;
mod streams_support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use broker::{run_bounded, Conn};
use http_support::{id_in, HttpBroker};

const DEADLINE: Duration = Duration::from_secs(60);
/// The ID the README shows for the first entry.
const EXAMPLE_ID: &str = "1764672000000-0";
const SECTION: &str = "## HTTP and WebSocket API";

/// The code blocks of the README's HTTP section, with their language.
fn section_blocks() -> Vec<(String, String)> {
    common::readme_blocks(SECTION)
}

/// The section's `sh` blocks, in order.
fn sh_blocks() -> Vec<String> {
    section_blocks()
        .into_iter()
        .filter(|(lang, _)| lang == "sh")
        .map(|(_, body)| body)
        .collect()
}

/// The `sh` block that contains `marker` (exactly one does).
fn block_with(blocks: &[String], marker: &str) -> String {
    let found: Vec<&String> = blocks.iter().filter(|b| b.contains(marker)).collect();
    assert_eq!(found.len(), 1, "one sh block contains {marker:?}: {blocks:#?}");
    found[0].clone()
}

/// Runs a block with bash (`-e -o pipefail`) against `b`'s ports; returns its standard output.
fn run(b: &HttpBroker, block: &str) -> String {
    let script = block
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", b.http))
        .replace("localhost:8080", &format!("localhost:{}", b.http))
        .replace("6380", &b.server.port.to_string());
    let out = run_bounded(
        Command::new("bash")
            .args(["-e", "-o", "pipefail", "-c"])
            .arg(&script),
        None,
        DEADLINE,
    );
    assert!(
        out.status.success(),
        "the README block failed:\n{script}\n{out:?}"
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// The output's lines that are JSON, parsed.
fn json_lines(output: &str) -> Vec<Value> {
    output
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn readme_http_examples_run_as_shown() {
    let b = HttpBroker::start("readme-http", &[]);
    let blocks = sh_blocks();
    assert_eq!(blocks.len(), 5, "produce, consume, groups, channels, auth");
    for block in &blocks {
        assert!(
            block.contains("127.0.0.1:8080"),
            "every example talks to 127.0.0.1:8080: {block}"
        );
    }

    // Produce.
    let out = json_lines(&run(&b, &block_with(&blocks, "x-ndjson")));
    assert_eq!(out.len(), 3, "three answers: {out:?}");
    let first = id_in(&out[0]);
    let batch = out[1]["ids"].as_array().expect("ids").len();
    assert_eq!(batch, 2, "two NDJSON lines, two IDs: {}", out[1]);
    id_in(&out[2]);

    // Consume (the long-poll shortened).
    let consume = block_with(&blocks, "od -c");
    assert!(consume.contains("wait=5000"), "the example as documented");
    let text = run(&b, &consume.replace("wait=5000", "wait=300"));
    let out = json_lines(&text);
    assert_eq!(out.len(), 4, "four JSON answers: {text}");
    let page = &out[0];
    assert_eq!(
        page["messages"].as_array().map(Vec::len),
        Some(2),
        "limit=2: {page}"
    );
    assert_eq!(
        page["messages"][0],
        json!({"id": first, "fields": {"symbol": "AAPL", "qty": "100"}})
    );
    assert_eq!(
        page["messages"][1]["fields"],
        json!({"symbol": "MSFT", "qty": "5"})
    );
    assert!(page["next"].is_string());
    assert_eq!(out[1]["messages"], json!([]), "the long-poll expired: {}", out[1]);
    assert_eq!(
        out[2]["messages"][0]["fields"]["data"],
        json!({"base64": "cmF3IAD/IGJ5dGVz"}),
        "raw bytes as base64"
    );
    assert!(
        text.contains("r   a   w") && text.contains("\\0") && text.contains("377"),
        "od -c shows the raw bytes: {text}"
    );
    let names: Vec<&str> = out[3]["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["blobs", "orders"]);

    // Consumer groups, acknowledging the first entry by the ID it really got.
    let groups = block_with(&blocks, "/groups");
    assert!(groups.contains(EXAMPLE_ID), "the example ID is in the ack");
    let out = json_lines(&run(&b, &groups.replace(EXAMPLE_ID, &first)));
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(out[0], json!({"name": "billing"}));
    assert_eq!(out[1]["messages"].as_array().map(Vec::len), Some(3), "{}", out[1]);
    assert_eq!(out[2]["pending"], json!(3));
    assert_eq!(out[2]["consumers"], json!([{"name": "worker-1", "pending": 3}]));
    assert_eq!(out[3], json!({"acknowledged": 1}));

    // Channels: a RESP subscriber receives it.
    let mut sub = Conn::open(&b.server);
    sub.call(&[b"SUBSCRIBE", b"news"]);
    let out = json_lines(&run(&b, &block_with(&blocks, "/channels/")));
    assert_eq!(out, [json!({"receivers": 1})]);
    assert_eq!(sub.read_raw(), broker::message(b"news", b"market open"));
}

#[test]
fn readme_http_auth_example_runs_as_shown() {
    let b = HttpBroker::start("readme-http-auth", &["--requirepass", "s3cret"]);
    let block = block_with(&sh_blocks(), "Bearer");
    let out = run(&b, &block);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[0], "401", "without the password");
    assert_eq!(
        serde_json::from_str::<Value>(lines[1]).unwrap(),
        json!({"topics": []})
    );
    assert_eq!(lines[2], "200", "/health is open");
}

#[test]
fn readme_http_section_has_one_browser_example() {
    let blocks = section_blocks();
    let js: Vec<&String> = blocks.iter().filter(|(l, _)| l == "js").map(|(_, b)| b).collect();
    assert_eq!(
        js.len(),
        1,
        "one ```js block (broker_dashboard runs it in a browser)"
    );
    assert!(
        js[0].contains("ws://127.0.0.1:8080/ws/topics/orders?from=-"),
        "{}",
        js[0]
    );
    for (lang, _) in &blocks {
        assert!(["sh", "js"].contains(&lang.as_str()), "a block fenced {lang}");
    }
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    assert!(readme.contains("![The dashboard](docs/dashboard.png)"));
}
