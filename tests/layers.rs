//! The layers of ARCHITECTURE.md are true: every `crate::…` path in a module of `src/` names
//! the module itself or something its row of the "Layers" table allows. A new import that
//! crosses a layer fails here, not in review. (Between crates, Cargo enforces the same: the
//! core library does not depend on the CLI or the servers.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// module → allowed paths (each `a` or `a::b`), from the table under `## Layers`.
fn table() -> BTreeMap<String, Vec<Vec<String>>> {
    let doc = std::fs::read_to_string(Path::new(ROOT).join("ARCHITECTURE.md")).unwrap();
    let section = doc.split("\n## Layers\n").nth(1).expect("ARCHITECTURE.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let module = cells[1].trim_matches('`').to_string();
        let allowed = cells[2]
            .split(',')
            .map(|c| c.trim().trim_matches('`'))
            .filter(|c| !c.is_empty() && *c != "—")
            .map(|c| c.split("::").map(String::from).collect())
            .collect();
        rows.insert(module, allowed);
    }
    rows
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root files).
fn module_of(file: &Path) -> Option<String> {
    let rel = file.strip_prefix(Path::new(ROOT).join("src")).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.strip_suffix(".rs") {
        Some("lib" | "unstable") => None,
        Some(stem) => Some(stem.to_string()),
        None => Some(first),
    }
}

/// Every `crate::a::b…` path in the code (comments and `#[cfg(test)]` code left out), as
/// segments, with its line.
fn crate_paths(text: &str) -> Vec<(usize, Vec<String>)> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let tail = &rest[i + "crate::".len()..];
            let path: String = tail.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let segs: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(String::from).collect();
            if !segs.is_empty() {
                out.push((n + 1, segs));
            }
            rest = tail;
        }
    }
    out
}

#[test]
fn every_import_follows_the_layers_table() {
    let table = table();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for file in &files {
        let Some(module) = module_of(file) else { continue };
        if file.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        seen.insert(module.clone());
        let Some(allowed) = table.get(&module) else {
            problems
                .push(format!("{}: module `{module}` has no row in ARCHITECTURE.md's Layers table", file.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for (line, path) in crate_paths(&text) {
            let ok = path[0] == module || allowed.iter().any(|a| a.len() <= path.len() && a[..] == path[..a.len()]);
            if !ok {
                problems.push(format!(
                    "{}:{line}: `{module}` uses `crate::{}`, which its row does not allow",
                    file.strip_prefix(ROOT).unwrap().display(),
                    path.join("::")
                ));
            }
        }
    }
    for module in table.keys() {
        if !seen.contains(module) {
            problems.push(format!("ARCHITECTURE.md's Layers table lists `{module}`, which is not a module of src/"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The check itself works: a path outside a row is found.
#[test]
fn the_check_finds_a_crossing() {
    let paths = crate_paths(
        "use crate::jit::Frame; // crate::cli\nfn f() { crate::ir::value::Value::Int(1); }\n#[cfg(test)]\nuse crate::cli;",
    );
    assert_eq!(
        paths,
        [
            (1, vec!["jit".to_string(), "Frame".into()]),
            (2, vec!["ir".into(), "value".into(), "Value".into(), "Int".into()])
        ]
    );
}
