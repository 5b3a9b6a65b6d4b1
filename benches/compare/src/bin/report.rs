//! Prints the comparison tables (markdown) from criterion's results under
//! `target/criterion/<scenario>/<path_engine>/<request>/new/{benchmark,estimates}.json`
//! and the memory figures in `target/compare/rss.jsonl` (written by `run.sh`).
//!
//! `cargo run --release -p writ-compare --bin report`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

const SCENARIOS: &[&str] = &["agent-tool-call", "ci-secret-read", "gen-10", "gen-100", "gen-1000", "gen-10000"];
const LABELS: &[&str] = &["allow", "deny"];

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// (scenario, "prepared"|"json", engine, request) → median ns.
type Medians = BTreeMap<(String, String, String, String), f64>;

fn collect(dir: &Path, out: &mut Medians) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n == "new") {
                let (Ok(b), Ok(est)) =
                    (fs::read_to_string(p.join("benchmark.json")), fs::read_to_string(p.join("estimates.json")))
                else {
                    continue;
                };
                let b: Value = serde_json::from_str(&b).unwrap();
                let est: Value = serde_json::from_str(&est).unwrap();
                let group = b["group_id"].as_str().unwrap_or_default().to_string();
                let function = b["function_id"].as_str().unwrap_or_default();
                let value = b["value_str"].as_str().unwrap_or_default().to_string();
                let Some((path, engine)) = function.split_once('/') else { continue };
                if let Some(m) = est["median"]["point_estimate"].as_f64() {
                    out.insert((group, path.to_string(), engine.to_string(), value), m);
                }
            } else {
                collect(&p, out);
            }
        }
    }
}

fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

fn fmt_ratio(r: f64) -> String {
    if r >= 100.0 { format!("{r:.0}×") } else { format!("{r:.1}×") }
}

fn main() {
    let mut m = Medians::new();
    collect(&target_dir().join("criterion"), &mut m);
    if m.is_empty() {
        eprintln!("no criterion results under {}", target_dir().join("criterion").display());
        std::process::exit(1);
    }
    let get = |sc: &str, path: &str, engine: &str, label: &str| {
        m.get(&(sc.to_string(), path.to_string(), engine.to_string(), label.to_string())).copied()
    };
    // The engine `Engine::compile` returned (its label names the back end).
    let compile_label = m
        .keys()
        .map(|k| k.2.as_str())
        .find(|e| e.starts_with("writ-compile-"))
        .unwrap_or("writ-compile-interpreter")
        .to_string();
    let writ_name = compile_label.trim_start_matches("writ-compile-");

    for (path, title) in [
        ("prepared", "Decision on a prepared request (medians)"),
        ("json", "End to end from the request JSON string (medians)"),
    ] {
        println!("### {title}\n");
        println!(
            "| scenario | request | Writ `compile` ({writ_name}) | Writ `interpreted` | Cedar | regorus | Cedar ÷ Writ | regorus ÷ Writ |"
        );
        println!("|---|---|---:|---:|---:|---:|---:|---:|");
        for sc in SCENARIOS {
            for label in LABELS {
                let w = get(sc, path, &compile_label, label);
                let wi = get(sc, path, "writ-interpreted", label);
                let c = get(sc, path, "cedar", label);
                let r = get(sc, path, "regorus", label);
                if w.is_none() && c.is_none() && r.is_none() {
                    continue;
                }
                let cell = |x: Option<f64>| x.map_or("—".to_string(), fmt_ns);
                let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
                    (Some(a), Some(b)) if b > 0.0 => fmt_ratio(a / b),
                    _ => "—".into(),
                };
                println!(
                    "| {sc} | {label} | {} | {} | {} | {} | {} | {} |",
                    cell(w),
                    cell(wi),
                    cell(c),
                    cell(r),
                    ratio(c, w),
                    ratio(r, w)
                );
            }
        }
        println!();
    }

    println!("### Targets (Writ `Engine::compile`, which ran the {writ_name})\n");
    println!("| target | measured | met? |");
    println!("|---|---:|---|");
    let target = |name: &str, sc: &str, path: &str, label: &str, want: f64| match (
        get(sc, path, "cedar", label),
        get(sc, path, &compile_label, label),
    ) {
        (Some(c), Some(w)) => {
            let r = c / w;
            let met = if r >= want { "**met**" } else { "**not met**" };
            println!("| {name} | {} | {met} |", fmt_ratio(r));
        }
        _ => println!("| {name} | — | not measured |"),
    };
    target(
        "≥ 200× faster than Cedar, prepared, agent-tool-call (allow)",
        "agent-tool-call",
        "prepared",
        "allow",
        200.0,
    );
    target("≥ 200× faster than Cedar, prepared, agent-tool-call (deny)", "agent-tool-call", "prepared", "deny", 200.0);
    target("≥ 1,000× faster than Cedar, prepared, 1,000 rules (allow)", "gen-1000", "prepared", "allow", 1000.0);
    target("≥ 1,000× faster than Cedar, prepared, 1,000 rules (deny)", "gen-1000", "prepared", "deny", 1000.0);
    for sc in SCENARIOS {
        for label in LABELS {
            target(&format!("≥ 5× faster than Cedar from JSON, {sc} ({label})"), sc, "json", label, 5.0);
        }
    }
    println!();

    let rss_path = target_dir().join("compare/rss.jsonl");
    if let Ok(text) = fs::read_to_string(&rss_path) {
        println!("### Memory: one engine holding the 10,000-rule set, each in its own process\n");
        println!("| engine | rules | load time | VmRSS after load | VmHWM (peak) | baseline VmRSS |");
        println!("|---|---:|---:|---:|---:|---:|");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let mib = |k: &str| format!("{:.1} MiB", v[k].as_f64().unwrap_or(0.0) / 1024.0);
            println!(
                "| {} | {} | {:.0} ms | {} | {} | {} |",
                v["label"].as_str().unwrap_or_default(),
                v["rules"],
                v["load_ms"].as_f64().unwrap_or(0.0),
                mib("rss_kib"),
                mib("hwm_kib"),
                mib("baseline_kib")
            );
        }
        println!();
    }
}
