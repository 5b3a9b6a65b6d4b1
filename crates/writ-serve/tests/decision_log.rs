//! The decision log: one whole JSON line per decision (masked, versioned), rotation by
//! size, drops counted — through the server and through the public module alone.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use writ_serve::config::LogSection;
use writ_serve::decision_log::{DecisionLog, LogConfig, OnFull, Record, RequestData};

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("writ-serve-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("a torn or bad line ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_decision_is_one_masked_line() {
    let dir = temp_dir("log");
    let mut config = example_config("authzen-todo");
    config.log = Some(LogSection {
        path: dir.join("decisions.jsonl"),
        mask: vec!["resource.properties.ownerID".into(), "subject.*".into()],
        ..LogSection::default()
    });
    let server = start(config).await;
    let addr = server.addr();
    let version = server.version();
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            tokio::spawn(async move {
                for i in 0..25 {
                    let body = json!({
                        "subject": {"type": "user", "id": "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},
                        "action": {"name": "can_update_todo"},
                        "resource": {"type": "todo", "id": format!("t-{t}-{i}"), "properties": {"ownerID": "morty@the-citadel.com"}}
                    });
                    let r = post_json(addr, "/access/v1/evaluation", &body).await;
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let metrics = get(addr, "/metrics").await.text();
    server.shutdown().await;
    let all = lines(&dir.join("decisions.jsonl"));
    assert_eq!(all.len(), 200);
    let mut ids: Vec<&str> = all.iter().map(|l| l["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200, "decision ids are unique");
    for l in &all {
        assert_eq!(l["policy_version"], version.as_str());
        assert_eq!(l["source"], "authzen");
        assert_eq!(l["decision"], "allow");
        assert_eq!(l["reasons"][0]["rule"], "editor-own-todo");
        assert_eq!(l["request"]["resource"]["properties"]["ownerID"], "***");
        assert_eq!(l["request"]["subject"], json!({"type": "***", "id": "***"}));
        assert!(l["time"].as_str().unwrap().ends_with('Z') && l["latency_us"].is_u64());
    }
    // The metrics counted what was written by the time they were read (at most 200).
    let written: u64 = metrics
        .lines()
        .find(|l| l.starts_with("writ_decision_log_lines_total{result=\"written\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(written <= 200);
    assert!(metrics.contains("writ_decision_log_lines_total{result=\"dropped\"} 0"));
    let _ = std::fs::remove_dir_all(&dir);
}

fn record(i: usize) -> Record {
    Record::new(
        format!("d-{i}"),
        "test",
        RequestData::Text(format!("{{\"n\": {i}, \"pad\": \"{}\"}}", "p".repeat(100))),
        writ::Decision::bad_request("x"),
        std::time::Duration::from_micros(3),
    )
}

#[test]
fn rotates_by_size_and_keeps_whole_lines() {
    let dir = temp_dir("rotate");
    let path = dir.join("d.jsonl");
    let mut config = LogConfig::new(path.clone());
    config.max_bytes = 2_000;
    config.keep = 2;
    let log = DecisionLog::open(config).unwrap();
    for i in 0..100 {
        log.record(record(i));
    }
    log.flush();
    assert_eq!(log.written(), 100);
    assert!(log.rotations() >= 2);
    log.close();
    let name = |i: usize| PathBuf::from(format!("{}.{i}", path.display()));
    assert!(name(1).exists() && name(2).exists() && !name(3).exists());
    let mut kept = 0;
    for p in [path.clone(), name(1), name(2)] {
        assert!(std::fs::metadata(&p).unwrap().len() <= 2_000 + 400, "{} is too large", p.display());
        kept += lines(&p).len();
    }
    // The newest lines are kept, in order, up to the last one.
    let newest = lines(&path);
    assert_eq!(newest.last().unwrap()["request"]["n"], 99);
    assert!(kept < 100);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn drops_are_counted_never_lost_track_of() {
    let dir = temp_dir("drop");
    let path = dir.join("d.jsonl");
    let mut config = LogConfig::new(path.clone());
    config.queue = 1;
    config.on_full = OnFull::Drop;
    let log = DecisionLog::open(config).unwrap();
    let mut refused = 0;
    for i in 0..5_000 {
        if !log.record(record(i)) {
            refused += 1;
        }
    }
    log.flush();
    assert_eq!(log.dropped(), refused);
    assert_eq!(log.written() + log.dropped(), 5_000);
    let written = log.written();
    log.close();
    assert_eq!(lines(&path).len() as u64, written);
    // A disk that refuses writes: every record counted as dropped.
    if Path::new("/dev/full").exists() {
        let log = DecisionLog::open(LogConfig::new(PathBuf::from("/dev/full"))).unwrap();
        for i in 0..10 {
            log.record(record(i));
        }
        log.flush();
        assert_eq!((log.written(), log.dropped()), (0, 10));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
