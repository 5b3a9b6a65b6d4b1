//! Memory of one engine holding a policy set, measured in a process of its own:
//!
//! ```sh
//! cargo run --release -p writ-compare --bin gen -- --all      # writes scenarios/gen-10000
//! cargo run --release -p writ-compare --bin rss -- writ|writ-interpreted|cedar|rego [SCENARIO_DIR]
//! ```
//!
//! The process reads only the files its engine needs, builds the engine, decides the
//! scenario's `allow` case once (so nothing lazy is left to build), drops the source
//! text it owns, then reads `/proc/self/status`: `VmHWM` (the peak resident set, loading
//! and parsing included) and `VmRSS` (resident now, the engine holding the set; memory the
//! allocator freed but kept counts too). Also the time to load: read the files, parse,
//! check or validate, build the engine and its entity store. Prints one JSON line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;
use writ_compare::engines::{CedarSide, RegoSide, WritKind, WritSide};
use writ_compare::scenario::{Case, Expect, Scenario, scenarios_dir};

fn status_kib(field: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field).and_then(|r| r.trim().trim_end_matches("kB").trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"))
}

fn files(dir: &Path, ext: &str) -> Vec<(String, String)> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), fs::read_to_string(&p).unwrap()))
        .collect()
}

fn text(path: PathBuf) -> String {
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let engine = args.get(1).cloned().unwrap_or_else(|| {
        eprintln!("usage: rss writ|writ-interpreted|cedar|rego [SCENARIO_DIR]");
        std::process::exit(2)
    });
    let dir = args.get(2).map(PathBuf::from).unwrap_or_else(|| scenarios_dir().join("gen-10000"));
    if !dir.join("scenario.json").exists() {
        eprintln!("{}: no scenario (run `cargo run --release -p writ-compare --bin gen -- --all`)", dir.display());
        std::process::exit(2);
    }
    let baseline = status_kib("VmRSS:");
    let t0 = std::time::Instant::now();

    let manifest: serde_json::Value = serde_json::from_str(&text(dir.join("scenario.json"))).unwrap();
    let allow = manifest["bench"].as_array().unwrap().iter().find(|b| b["label"] == "allow").unwrap()["case"]
        .as_str()
        .unwrap()
        .to_string();
    let request = text(dir.join("requests").join(format!("{allow}.json")));
    let mut sc = Scenario {
        name: manifest["name"].as_str().unwrap().to_string(),
        writ_files: vec![],
        writ_entities: String::new(),
        cedar_schema: String::new(),
        cedar_policies: String::new(),
        cedar_entities: String::new(),
        rego_files: vec![],
        rego_data: String::new(),
        rego_rule: manifest["rego_rule"].as_str().unwrap().to_string(),
        cedar_weekday: manifest["cedar_weekday"].as_bool().unwrap_or(false),
        cases: vec![Case { name: allow, request: request.clone(), expect: Expect::Allow }],
        bench: vec![],
        notes: vec![],
    };
    match engine.as_str() {
        "writ" | "writ-interpreted" => {
            sc.writ_files = files(&dir.join("writ"), "writ");
            sc.writ_entities = text(dir.join("writ/entities.json"));
            let rules = sc.rule_count();
            let kind = if engine == "writ" { WritKind::Compile } else { WritKind::Interpreted };
            let w = WritSide::new(&sc, kind).unwrap_or_else(|e| panic!("{e}"));
            let load = t0.elapsed();
            drop(sc);
            let r = w.prepare(&request).unwrap_or_else(|e| panic!("{e}"));
            let allowed = w.decide(&r) == writ::Verdict::Allow;
            drop(request);
            report(&engine, &w.label(), &dir, rules, baseline, load, allowed);
        }
        "cedar" => {
            sc.cedar_schema = text(dir.join("cedar/schema.cedarschema"));
            sc.cedar_policies = text(dir.join("cedar/policies.cedar"));
            sc.cedar_entities = text(dir.join("cedar/entities.json"));
            let rules = sc.cedar_policies.matches("@id(").count();
            let c = CedarSide::new(&sc).unwrap_or_else(|e| panic!("{e}"));
            let load = t0.elapsed();
            drop(sc);
            let allowed = c.decide_json(&request);
            drop(request);
            report(&engine, "cedar", &dir, rules, baseline, load, allowed);
        }
        "rego" => {
            sc.rego_files = files(&dir.join("rego"), "rego");
            sc.rego_data = text(dir.join("rego/data.json"));
            let rules = sc
                .rego_files
                .iter()
                .map(|(_, t)| t.matches("\npermit if").count() + t.matches("\nforbid if").count())
                .sum();
            let mut r = RegoSide::new(&sc).unwrap_or_else(|e| panic!("{e}"));
            let load = t0.elapsed();
            drop(sc);
            let allowed = r.decide_json(&request);
            drop(request);
            report(&engine, "regorus", &dir, rules, baseline, load, allowed);
        }
        other => {
            eprintln!("unknown engine `{other}`: writ, writ-interpreted, cedar or rego");
            std::process::exit(2)
        }
    }
}

fn report(engine: &str, label: &str, dir: &Path, rules: usize, baseline: u64, load: Duration, allowed: bool) {
    assert!(allowed, "{engine}: the allow case was not allowed");
    let rss = status_kib("VmRSS:");
    let hwm = status_kib("VmHWM:");
    let scenario = dir.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    println!(
        "{}",
        serde_json::json!({
            "engine": engine, "label": label, "scenario": scenario, "rules": rules,
            "baseline_kib": baseline, "rss_kib": rss, "hwm_kib": hwm,
            "load_ms": load.as_secs_f64() * 1e3,
        })
    );
}
