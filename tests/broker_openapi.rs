//! The OpenAPI description (`nanostream-net/src/http/openapi.json`) against the server that
//! serves it: `/openapi.json` answers the checked-in file; its (method, path) set is exactly
//! `nanostream_net::http::ROUTES`, both ways; every route it lists is served by a running broker
//! (a request to each, with a real topic and group, gets something other than the fallback's
//! `404 no such route` or a `405`); every `$ref` resolves and the schemas the contract names
//! (entry, group, error, stats sample) and the bearer scheme are there.

mod broker;
mod common;
mod http_support;
mod streams_support;

use std::collections::BTreeSet;

use serde_json::{json, Value};

use http_support::HttpBroker;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The checked-in description.
fn checked_in() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("nanostream-net/src/http/openapi.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every (METHOD, path) the description lists.
fn operations(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_object().expect("a paths object");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn served_description_is_the_checked_in_file() {
    let b = HttpBroker::start("openapi-served", &[]);
    let reply = b.get("/openapi.json");
    let served = reply.expect(200, "GET /openapi.json");
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        reply.header("content-type")
    );
    assert_eq!(served, checked_in(), "/openapi.json serves the checked-in file");
    assert_eq!(served["openapi"], json!("3.0.3"));
}

#[test]
fn description_lists_exactly_the_server_routes() {
    let spec = operations(&checked_in());
    let routes: BTreeSet<(String, String)> = nanostream_net::http::ROUTES
        .iter()
        .map(|(method, path)| (method.to_string(), path.to_string()))
        .collect();
    assert_eq!(
        routes.len(),
        nanostream_net::http::ROUTES.len(),
        "ROUTES lists each route once"
    );
    let undocumented: Vec<_> = routes.difference(&spec).collect();
    let unserved: Vec<_> = spec.difference(&routes).collect();
    assert!(
        undocumented.is_empty() && unserved.is_empty(),
        "routes the server has and openapi.json does not describe: {undocumented:?}; \
         routes openapi.json describes and ROUTES does not list: {unserved:?}"
    );
}

/// Whether `reply` is the router's fallback: a 405, or a 404 naming no route.
fn is_fallback(reply: &http_support::Response) -> bool {
    reply.status == 405
        || (reply.status == 404
            && serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(|e| e.starts_with("no such route")))
                .unwrap_or(false))
}

#[test]
fn every_described_route_is_served() {
    let b = HttpBroker::start("openapi-routes", &[]);
    b.post_json("/topics/t/messages", &json!({"a": "b"}))
        .expect(201, "a topic to ask about");
    b.post_json("/topics/t/groups", &json!({"name": "g", "from": "0"}))
        .expect(201, "a group to ask about");
    // The check can tell: a path nobody serves is the fallback.
    assert!(
        is_fallback(&b.get("/topics/t/nosuch")),
        "the fallback is recognised"
    );
    assert!(
        is_fallback(&b.call("PUT", "/topics/t/messages", &[], b"")),
        "a 405 too"
    );

    let mut ops: Vec<(String, String)> = operations(&checked_in()).into_iter().collect();
    // Deletions last, so the topic is there for everything else.
    ops.sort_by_key(|(method, _)| method == "DELETE");
    let mut failures = Vec::new();
    for (method, template) in &ops {
        let mut path = template
            .replace("{topic}", "t")
            .replace("{group}", "g")
            .replace("{channel}", "c")
            .replace("{pattern}", "c%2A");
        assert!(
            !path.contains('{'),
            "a parameter this test does not know: {template}"
        );
        let (content_type, body): (&str, &[u8]) = if template.ends_with("/ack") {
            ("application/json", br#"{"ids": ["0-1"]}"#)
        } else if template.ends_with("/groups") {
            ("application/json", br#"{"name": "h"}"#)
        } else if template.ends_with("/read") {
            path.push_str("?consumer=x");
            ("application/json", b"")
        } else {
            ("text/plain", b"x")
        };
        let reply = if method == "POST" {
            b.post(&path, content_type, body)
        } else {
            b.call(method, &path, &[], b"")
        };
        if is_fallback(&reply) {
            failures.push(format!("{method} {path}: {} {}", reply.status, reply.text()));
        } else if !template.starts_with("/ws/") && reply.status >= 400 {
            failures.push(format!(
                "{method} {path}: an error {} {}",
                reply.status,
                reply.text()
            ));
        }
    }
    assert!(failures.is_empty(), "described routes not served: {failures:#?}");
}

/// Every `$ref` under `value`.
fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                if key == "$ref" {
                    out.push(v.as_str().expect("a $ref is a string"));
                } else {
                    refs(v, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[test]
fn description_is_complete_and_consistent() {
    let spec = checked_in();
    assert_eq!(spec["openapi"], json!("3.0.3"));
    let mut all = Vec::new();
    refs(&spec, &mut all);
    for reference in &all {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("a local $ref: {reference}"));
        assert!(spec.pointer(pointer).is_some(), "{reference} resolves");
    }
    for schema in ["Entry", "Group", "Error", "StatsSample"] {
        assert!(
            spec["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"],
        json!({"type": "http", "scheme": "bearer", "description": spec["components"]["securitySchemes"]["bearer"]["description"]})
    );
    // Each operation names its answers, and every path parameter is declared.
    for (method, path) in operations(&spec) {
        let item = &spec["paths"][&path];
        let op = &item[method.to_ascii_lowercase()];
        assert!(
            op["responses"].as_object().is_some_and(|r| !r.is_empty()),
            "{method} {path} has responses"
        );
        let mut declared = Vec::new();
        for p in item["parameters"]
            .as_array()
            .into_iter()
            .chain(op["parameters"].as_array())
            .flatten()
        {
            let p = match p.get("$ref").and_then(Value::as_str) {
                Some(r) => spec.pointer(&r[1..]).unwrap(),
                None => p,
            };
            if p["in"] == json!("path") {
                declared.push(p["name"].as_str().unwrap().to_string());
            }
        }
        for segment in path.split('/') {
            if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    declared.iter().any(|d| d == name),
                    "{method} {path}: {{{name}}} declared"
                );
            }
        }
    }
    // The routes that need no password say so.
    for open in http_support::OPEN_ROUTES {
        assert_eq!(
            spec["paths"][open]["get"]["security"],
            json!([]),
            "{open} is open"
        );
    }
}
