//! `writ serve` as a process: it drains requests in flight on SIGTERM, reloads on file
//! edits (100 of them while a client decides, with no failed request and every decision
//! consistent with the version it names) and on SIGHUP, and a broken edit never takes it
//! down.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod serve_support;

use serde_json::{Value, json};
use serve_support::*;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

const SCHEMA: &str = "schema { entity A  entity T  action go: A -> T }\n";

/// Edit `n`: a permit when even, a forbid when odd, named after the edit.
fn rules(n: usize) -> String {
    let effect = if n % 2 == 0 { "permit" } else { "forbid" };
    format!("@id(\"edit-{n}\")\n{effect} A to go on T;\n")
}

fn request() -> String {
    json!({"principal": {"type": "A", "id": "a"}, "action": "go", "resource": {"type": "T", "id": "t"},
           "entities": [{"type": "A", "id": "a"}, {"type": "T", "id": "t"}]})
    .to_string()
}

fn served_rules(addr: std::net::SocketAddr) -> Vec<String> {
    let (_, v) = http(addr, "GET", "/v1/policies", "").unwrap();
    v["rules"].as_array().map(|a| a.iter().filter_map(|r| r.as_str().map(String::from)).collect()).unwrap_or_default()
}

#[test]
fn a_hundred_edits_while_a_client_decides() {
    let dir = temp_dir("edits");
    std::fs::write(dir.join("schema.writ"), SCHEMA).unwrap();
    std::fs::write(dir.join("rules.writ"), rules(0)).unwrap();
    let serve = Serve::start(&[dir.to_str().unwrap()]);
    let addr = serve.addr;

    let stop = Arc::new(AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let (mut sent, mut failures) = (0u32, Vec::new());
            let mut version_of_edit: HashMap<String, String> = HashMap::new();
            let mut edit_of_version: HashMap<String, String> = HashMap::new();
            while !stop.load(Ordering::Relaxed) {
                sent += 1;
                let (status, v) = match http(addr, "POST", "/v1/decide", &request()) {
                    Ok(r) => r,
                    Err(e) => {
                        failures.push(format!("request failed: {e}"));
                        continue;
                    }
                };
                let rule = v["reasons"][0]["rule"].as_str().unwrap_or_default().to_string();
                let version = v["policy_version"].as_str().unwrap_or_default().to_string();
                let n: usize = rule.strip_prefix("edit-").and_then(|n| n.parse().ok()).unwrap_or(usize::MAX);
                let want = if n % 2 == 0 { "allow" } else { "deny" };
                if status != 200 || n == usize::MAX || v["decision"] != want || version.is_empty() {
                    failures.push(format!("{status} {v}"));
                    continue;
                }
                // One version per edit and one edit per version.
                if version_of_edit.entry(rule.clone()).or_insert_with(|| version.clone()) != &version
                    || edit_of_version.entry(version.clone()).or_insert_with(|| rule.clone()) != &rule
                {
                    failures.push(format!("edit {rule} and version {version} disagree with earlier answers"));
                }
            }
            (sent, failures, version_of_edit.len())
        })
    };

    for n in 1..=100 {
        replace(&dir.join("rules.writ"), &rules(n));
        let want = format!("edit-{n}");
        eventually(30, &format!("edit {n} to be served"), || served_rules(addr).contains(&want));
    }
    stop.store(true, Ordering::Relaxed);
    let (sent, failures, editions) = client.join().unwrap();
    assert!(failures.is_empty(), "{} of {sent} requests failed:\n{}", failures.len(), failures.join("\n"));
    assert!(sent > 100 && editions > 1, "{sent} requests saw {editions} editions");
    let (_, v) = http(addr, "POST", "/v1/decide", &request()).unwrap();
    assert_eq!((v["decision"].clone(), v["reasons"][0]["rule"].clone()), (json!("allow"), json!("edit-100")));
    let (_, metrics) = (0, metrics_text(addr));
    assert!(metrics.contains("writ_reloads_total{result=\"ok\"} 100"), "{metrics}");
    assert!(metrics.contains("writ_reloads_total{result=\"failed\"} 0"), "{metrics}");
    let _ = std::fs::remove_dir_all(&dir);
}

fn metrics_text(addr: std::net::SocketAddr) -> String {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut s, &mut out).unwrap();
    out
}

#[test]
fn a_broken_edit_keeps_serving_and_sighup_reloads() {
    let dir = temp_dir("broken");
    std::fs::write(dir.join("schema.writ"), SCHEMA).unwrap();
    std::fs::write(dir.join("rules.writ"), rules(0)).unwrap();
    let serve = Serve::start(&[dir.to_str().unwrap()]);
    let addr = serve.addr;
    let (_, first) = http(addr, "POST", "/v1/decide", &request()).unwrap();
    let version = first["policy_version"].clone();

    // A half-typed rule: reported, and the old set keeps deciding.
    replace(&dir.join("rules.writ"), "@id(\"edit-1\")\npermit A to go on T when resource.;\n");
    eventually(30, "the failed reload to be reported", || {
        http(addr, "GET", "/v1/policies", "").unwrap().1["failed_reload"].is_object()
    });
    let (_, p) = http(addr, "GET", "/v1/policies", "").unwrap();
    assert_eq!(p["version"], version);
    assert!(p["failed_reload"]["diagnostics"].as_array().is_some_and(|d| !d.is_empty()), "{p}");
    let (status, v) = http(addr, "POST", "/v1/decide", &request()).unwrap();
    assert_eq!((status, v["decision"].clone(), v["policy_version"].clone()), (200, json!("allow"), version.clone()));
    assert!(serve.stderr_text().contains("reload failed"), "{}", serve.stderr_text());
    // Fixed: served again.
    replace(&dir.join("rules.writ"), &rules(1));
    eventually(30, "the fixed edit to be served", || served_rules(addr).contains(&"edit-1".to_string()));
    drop(serve);

    // Without watching, SIGHUP reloads.
    let serve = Serve::start(&[dir.to_str().unwrap(), "--no-watch"]);
    let addr = serve.addr;
    replace(&dir.join("rules.writ"), &rules(2));
    assert!(served_rules(addr).contains(&"edit-1".to_string()));
    serve.signal("HUP");
    eventually(30, "SIGHUP to reload", || served_rules(addr).contains(&"edit-2".to_string()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigterm_drains_requests_in_flight() {
    let dir = temp_dir("drain");
    std::fs::write(dir.join("schema.writ"), SCHEMA).unwrap();
    std::fs::write(dir.join("rules.writ"), rules(0)).unwrap();
    let mut serve = Serve::start(&[dir.to_str().unwrap(), "--no-watch"]);
    let addr = serve.addr;
    // A request whose body is only half sent is in flight …
    let body = request();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "POST /v1/decide HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}", body.len())
        .unwrap();
    eventually(30, "the request to be in flight", || metrics_text(addr).contains("writ_requests_in_flight 1"));
    // … when SIGTERM comes: new connections are refused, the request still gets its answer.
    serve.signal("TERM");
    eventually(30, "the listener to close", || std::net::TcpStream::connect(addr).is_err());
    s.write_all(tail.as_bytes()).unwrap();
    let (status, v) = read(&mut s).unwrap();
    assert_eq!((status, v["decision"].clone()), (200, json!("allow")));
    let exit = serve.wait(60).expect("writ serve exits after draining");
    assert!(exit.success(), "{exit:?}\n{}", serve.stderr_text());
    assert!(serve.stderr_text().contains("shutting down"));
    let _ = std::fs::remove_dir_all(&dir);
    let _: Value = Value::Null;
}
