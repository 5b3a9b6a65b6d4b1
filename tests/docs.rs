//! The documentation stays true.
//!
//! * `docs/errors.md` is generated from the diagnostic codes (`writ::diag::codes::ALL`, the
//!   texts `writ explain` prints); the test fails when the page differs and says how to
//!   regenerate it: `WRIT_BLESS=1 cargo test --test docs`.
//! * Every fenced example in `docs/*.md` and `README.md` is checked, by the conventions that
//!   `docs/README.md` describes: ```` ```writ ```` blocks check (alone, with a named policy
//!   set, or failing with a given code), ```` ```writ true ```` lines hold, ```` ```json
//!   request ```` / ```` ```json entities ```` blocks decode (and decide as they say),
//!   `file=PATH` blocks are that file, and the paths that ```` ```sh ```` commands name exist.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use writ::diag::codes;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ------------------------------------------------------------------------ docs/errors.md

/// The page, rendered from the codes.
fn render_errors_page() -> String {
    let mut s = String::new();
    s.push_str("# Diagnostic codes\n\n");
    s.push_str(
        "<!-- Generated from src/diag/codes.rs by tests/docs.rs. Do not edit: change the explanation\n\
         there and run `WRIT_BLESS=1 cargo test --test docs`. -->\n\n",
    );
    s.push_str(
        "Every diagnostic Writ reports has a stable code. `P` codes come from reading and parsing\n\
         files, `E` codes are errors of the checker, `W` codes are warnings: a policy set with\n\
         warnings still loads. `writ explain CODE` prints the same text as this page, and\n\
         `writ check --format json` gives the code of each diagnostic.\n\n",
    );
    s.push_str("| code | severity | summary |\n|---|---|---|\n");
    for c in codes::ALL {
        let _ = writeln!(
            s,
            "| [{0}](#{1}) | {2} | {3} |",
            c.as_str(),
            c.as_str().to_lowercase(),
            c.severity().as_str(),
            c.title().replace('|', "\\|")
        );
    }
    for c in codes::ALL {
        let _ = write!(
            s,
            "\n## {}\n\n**{}** ({})\n\n{}\n",
            c.as_str(),
            c.title(),
            c.severity().as_str(),
            c.explanation().trim_end()
        );
    }
    s
}

#[test]
fn the_errors_page_is_generated_from_the_codes() {
    let path = root().join("docs/errors.md");
    let want = render_errors_page();
    if std::env::var_os("WRIT_BLESS").is_some() {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have != want {
        let line = have
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .map_or_else(|| have.lines().count().min(want.lines().count()) + 1, |i| i + 1);
        panic!(
            "docs/errors.md is out of date with src/diag/codes.rs (first difference at line {line}).\n\
             Regenerate it: WRIT_BLESS=1 cargo test --test docs"
        );
    }
}

#[test]
fn the_errors_page_has_every_code_once() {
    let page = render_errors_page();
    for c in codes::ALL {
        assert_eq!(page.matches(&format!("\n## {}\n", c.as_str())).count(), 1, "{c}");
    }
}

// ------------------------------------------------------------------------ fenced blocks

/// One fenced block of a page.
#[derive(Debug)]
struct Block {
    page: String,
    /// 1-based line of the opening fence.
    line: usize,
    lang: String,
    /// The rest of the info string: `key=value` pairs and flags.
    attrs: HashMap<String, String>,
    text: String,
}

impl Block {
    fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.get(key).map(String::as_str)
    }
    fn at(&self) -> String {
        format!("{}:{}", self.page, self.line)
    }
}

/// The fenced blocks of a markdown page (fences at the start of a line).
fn blocks(page: &str, text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<(usize, String, Vec<&str>)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut open {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    open = Some((i + 1, info.trim().to_string(), Vec::new()));
                }
            }
            Some((start, info, body)) => {
                if line.trim_end() == "```" {
                    let mut words = info.split_whitespace();
                    let lang = words.next().unwrap_or("").to_string();
                    let attrs = words
                        .map(|w| match w.split_once('=') {
                            Some((k, v)) => (k.to_string(), v.to_string()),
                            None => (w.to_string(), String::new()),
                        })
                        .collect();
                    let mut text = body.join("\n");
                    text.push('\n');
                    out.push(Block { page: page.to_string(), line: *start, lang, attrs, text });
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    assert!(open.is_none(), "{page}: a fence is never closed");
    out
}

/// The pages whose examples are checked.
fn pages() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    out.sort();
    out.push(root().join("README.md"));
    out
}

/// Every `*.writ` file under a directory (or the file itself), as (name, text).
fn writ_sources(path: &Path) -> Vec<(String, String)> {
    fn walk(p: &Path, out: &mut Vec<(String, String)>) {
        if p.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(p).unwrap().flatten().map(|e| e.path()).collect();
            entries.sort();
            for e in entries {
                walk(&e, out);
            }
        } else if p.extension().is_some_and(|x| x == "writ") {
            let name = p.strip_prefix(root()).unwrap_or(p).display().to_string();
            out.push((name, std::fs::read_to_string(p).unwrap()));
        }
    }
    let mut out = Vec::new();
    walk(path, &mut out);
    out
}

/// Checks the fenced examples of one page; returns the problems found.
struct PageChecker {
    problems: Vec<String>,
    /// Policy sets (their sources) by name: `name=` blocks of this page, and `above`.
    named: HashMap<String, Vec<(String, String)>>,
    /// Entities blocks of this page, by the name of their policy set.
    entities: HashMap<String, String>,
}

impl PageChecker {
    fn problem(&mut self, b: &Block, what: impl std::fmt::Display) {
        self.problems.push(format!("{}: {what}", b.at()));
    }

    /// The sources `with=` names: a policy set of this page or a repository path.
    fn with_sources(&mut self, b: &Block) -> Option<Vec<(String, String)>> {
        let with = b.attr("with")?;
        if let Some(s) = self.named.get(with) {
            return Some(s.clone());
        }
        let path = root().join(with);
        if with.contains('/') || with.ends_with(".writ") {
            if path.exists() {
                return Some(writ_sources(&path));
            }
            self.problem(b, format!("`with={with}`: no such file or directory"));
        } else {
            self.problem(b, format!("`with={with}`: no policy set of that name above on this page"));
        }
        Some(Vec::new())
    }

    fn file_matches(&mut self, b: &Block) {
        let Some(file) = b.attr("file") else { return };
        match std::fs::read_to_string(root().join(file)) {
            Ok(t) if t == b.text => {}
            Ok(_) => self.problem(b, format!("the block differs from `{file}`: copy the file into the page")),
            Err(e) => self.problem(b, format!("`file={file}`: {e}")),
        }
    }

    fn writ(&mut self, b: &Block) {
        if b.attrs.contains_key("file") {
            self.file_matches(b);
            let file = b.attr("file").unwrap_or_default();
            let dir = root().join(file);
            let dir = dir.parent().unwrap_or(&dir);
            if let Err(e) = writ::PolicySet::load(dir) {
                self.problem(b, format!("the policy set of `{file}` does not check:\n{}", e.render()));
            }
            return;
        }
        if b.attrs.contains_key("fragment") {
            let parsed = writ::unstable::syntax::parse_file(writ::FileId(0), &b.text);
            if parsed.diagnostics.iter().any(|d| d.is_error()) {
                let codes: Vec<&str> = parsed.diagnostics.iter().map(|d| d.code.as_str()).collect();
                self.problem(b, format!("the fragment does not parse: {codes:?}"));
            }
            return;
        }
        if b.attrs.contains_key("true") {
            return self.holds(b);
        }
        let mut sources = self.with_sources(b).unwrap_or_default();
        let name = format!("{}:{}.writ", b.page, b.line);
        sources.push((name, b.text.clone()));
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let result = writ::PolicySet::from_sources(&refs);
        let all: Vec<&writ::Diagnostic> = match &result {
            Ok(p) => p.warnings().iter().collect(),
            Err(e) => e.diagnostics.iter().collect(),
        };
        let found = |code: &str| all.iter().any(|d| d.code.as_str() == code);
        match (b.attr("error"), b.attr("warning"), &result) {
            (Some(code), _, Err(_)) if found(code) => {}
            (Some(code), _, _) => self.problem(b, format!("expected error {code}, got {:?}", codes_of(&all))),
            (None, Some(code), Ok(_)) if found(code) => {}
            (None, Some(code), _) => self.problem(b, format!("expected warning {code}, got {:?}", codes_of(&all))),
            (None, None, Err(e)) => self.problem(b, format!("the example does not check:\n{}", e.render())),
            (None, None, Ok(p)) if !p.warnings().is_empty() => {
                self.problem(
                    b,
                    format!("the example has warnings (mark them with `warning=CODE`): {:?}", codes_of(&all)),
                );
            }
            (None, None, Ok(_)) => {
                let key = b.attr("name").unwrap_or("above").to_string();
                self.named.insert(key.clone(), sources.clone());
                self.named.insert("above".into(), sources);
            }
        }
    }

    /// ```` ```writ true ````: every line is an expression that holds.
    fn holds(&mut self, b: &Block) {
        let mut src = String::from(
            "import std.time\nimport std.net\nimport std.identity\n\
             schema { entity P  entity R  action a: P -> R }\n",
        );
        let mut ids = Vec::new();
        for (i, line) in b.text.lines().enumerate() {
            let expr = line.trim();
            if expr.is_empty() || expr.starts_with("//") {
                continue;
            }
            let id = format!("line-{}", b.line + 1 + i);
            let _ = write!(src, "@id(\"{id}\")\npermit P to a on R when {expr}\n;\n");
            ids.push(id);
        }
        let policies = match writ::PolicySet::from_sources(&[("example.writ", &src)]) {
            Ok(p) => p,
            Err(e) => return self.problem(b, format!("the expressions do not check:\n{}", e.render())),
        };
        let engine = writ::Engine::interpreted(&policies);
        let entities = engine.entities_from_json(r#"[{"type": "P", "id": "p"}, {"type": "R", "id": "r"}]"#).unwrap();
        let request = r#"{"principal": {"type": "P", "id": "p"}, "action": "a", "resource": {"type": "R", "id": "r"}}"#;
        let decision = engine.decide_json(request, &entities);
        for id in ids {
            if !decision.reasons.iter().any(|r| *r.rule == *id) {
                let line: usize = id.trim_start_matches("line-").parse().unwrap_or(0);
                self.problems.push(format!("{}:{line}: the expression does not hold {:?}", b.page, decision.errors));
            }
        }
    }

    fn json(&mut self, b: &Block) {
        if b.attrs.contains_key("file") {
            self.file_matches(b);
        }
        let kind = if b.attrs.contains_key("request") {
            "request"
        } else if b.attrs.contains_key("entities") {
            "entities"
        } else {
            return;
        };
        let Some(sources) = self.with_sources(b) else {
            return self.problem(b, format!("a `json {kind}` block needs `with=` (the policy set it is for)"));
        };
        let refs: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let policies = match writ::PolicySet::from_sources(&refs) {
            Ok(p) => p,
            Err(e) => return self.problem(b, format!("the policy set does not check:\n{}", e.render())),
        };
        let engine = writ::Engine::interpreted(&policies);
        let with = b.attr("with").unwrap_or_default().to_string();
        if kind == "entities" {
            match engine.entities_from_json(&b.text) {
                Ok(_) => {
                    self.entities.insert(with, b.text.clone());
                }
                Err(e) => self.problem(b, format!("the entities do not decode: {e}")),
            }
            return;
        }
        let entities_text = match self.entities.get(&with) {
            Some(t) => Some(t.clone()),
            None => std::fs::read_to_string(root().join(&with).join("entities.json")).ok(),
        };
        let entities = match entities_text.map(|t| engine.entities_from_json(&t)) {
            None => engine.empty_entities(),
            Some(Ok(e)) => e,
            Some(Err(e)) => return self.problem(b, format!("the entities for `{with}` do not decode: {e}")),
        };
        let request = match engine.request_from_json(&b.text, &entities) {
            Ok(r) => r,
            Err(e) => return self.problem(b, format!("the request does not decode: {e}")),
        };
        if let Some(want) = b.attr("expect") {
            let got = engine.decide(&request);
            if got.decision.as_str() != want {
                self.problem(b, format!("expected {want}, the engine says {}", got.to_json()));
            }
        }
    }

    fn toml(&mut self, b: &Block) {
        self.file_matches(b);
    }

    /// The paths that a shell block names exist (relative to the repository root).
    fn sh(&mut self, b: &Block) {
        let text = b.text.replace("\\\n", " ");
        // `cd DIR` moves where later paths are looked up; `mkdir` creates paths.
        let mut cwd = root();
        let mut created: Vec<PathBuf> = Vec::new();
        for line in text.lines() {
            let words = shell_words(line);
            match words.first().map(String::as_str) {
                Some("cd") => {
                    cwd = cwd.join(words.get(1).map_or("", String::as_str));
                    continue;
                }
                Some("mkdir") => {
                    created.extend(words.iter().skip(1).filter(|w| !w.starts_with('-')).map(|w| cwd.join(w)));
                    continue;
                }
                _ => {}
            }
            let mut skip_next = false;
            for word in words {
                if skip_next {
                    skip_next = false;
                    continue;
                }
                if word.starts_with('>') || word == "2>" {
                    skip_next = word.len() <= 2;
                    continue;
                }
                if !looks_like_path(&word) {
                    continue;
                }
                let path = cwd.join(&word);
                let made = created.iter().any(|c| path.starts_with(c));
                if !made && !path.exists() {
                    self.problem(b, format!("the command names `{word}`, which does not exist"));
                }
            }
        }
    }
}

fn codes_of(diags: &[&writ::Diagnostic]) -> Vec<String> {
    diags.iter().map(|d| format!("{} {}", d.code.as_str(), d.message)).collect()
}

/// The words of a shell line up to a comment; quoted words come back as `'…'` (never paths).
fn shell_words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                word.push(c);
            }
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                word.push(c);
            }
            None if c == '#' && word.is_empty() => break,
            None if c.is_whitespace() || c == ';' || c == '&' || c == '|' => {
                if !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
            }
            None => word.push(c),
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn looks_like_path(word: &str) -> bool {
    let special = ['\'', '"', '$', '*', '<', '>', '=', '{', '…', '~', '(', '`'];
    if word.starts_with('-') || word.starts_with('/') || word.contains("://") || word.contains(special) {
        return false;
    }
    word.contains('/') || [".writ", ".json", ".toml", ".md", ".rs", ".sh"].iter().any(|x| word.ends_with(x))
}

#[test]
fn every_example_in_the_docs_is_true() {
    let mut problems = Vec::new();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for path in pages() {
        let page = path.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut checker = PageChecker { problems: Vec::new(), named: HashMap::new(), entities: HashMap::new() };
        for b in blocks(&page, &text) {
            *counts.entry(b.lang.clone()).or_default() += 1;
            match b.lang.as_str() {
                "writ" => checker.writ(&b),
                "json" => checker.json(&b),
                "toml" => checker.toml(&b),
                "sh" | "bash" | "shell" => checker.sh(&b),
                _ => {}
            }
        }
        problems.extend(checker.problems);
    }
    // The checker must have had something to check.
    assert!(counts.get("writ").copied().unwrap_or(0) >= 20, "{counts:?}");
    assert!(problems.is_empty(), "{} problem(s) in the docs' examples:\n{}", problems.len(), problems.join("\n\n"));
}

/// The conventions catch what they promise to catch.
#[test]
fn the_example_checker_catches_broken_examples() {
    let page = "```writ\nschema { entity A action go: A -> A }\npermit A to go on A when principal.nope;\n```\n\
                ```writ true\n1 + 1 == 3\n\"a\".len() == 1\n```\n\
                ```writ error=E0203\nschema { entity A action go: A -> A }\n```\n\
                ```sh\nwrit check examples/no-such-dir\n```\n\
                ```json request with=examples/tutorial\n{\"principal\": {\"type\": \"Agent\", \"id\": \"nobody\"}}\n```\n";
    let mut checker = PageChecker { problems: Vec::new(), named: HashMap::new(), entities: HashMap::new() };
    for b in blocks("test.md", page) {
        match b.lang.as_str() {
            "writ" => checker.writ(&b),
            "json" => checker.json(&b),
            "sh" => checker.sh(&b),
            _ => {}
        }
    }
    let p = checker.problems;
    assert_eq!(p.len(), 5, "{p:#?}");
    assert!(p[0].starts_with("test.md:1: the example does not check"), "{}", p[0]);
    assert!(p[1].starts_with("test.md:6: the expression does not hold"), "{}", p[1]);
    assert!(p[2].starts_with("test.md:9: expected error E0203"), "{}", p[2]);
    assert!(p[3].contains("examples/no-such-dir"), "{}", p[3]);
    assert!(p[4].starts_with("test.md:15: the request does not decode"), "{}", p[4]);
}

/// Every diagnostic code the pages mention exists.
#[test]
fn the_docs_name_only_real_codes() {
    let mut unknown = Vec::new();
    for path in pages() {
        let text = std::fs::read_to_string(&path).unwrap();
        let b = text.as_bytes();
        for (i, w) in b.windows(5).enumerate() {
            let starts = i == 0 || !b[i - 1].is_ascii_alphanumeric();
            let ends = b.get(i + 5).is_none_or(|c| !c.is_ascii_alphanumeric());
            if starts && ends && matches!(w[0], b'P' | b'E' | b'W') && w[1..].iter().all(u8::is_ascii_digit) {
                let code = std::str::from_utf8(w).unwrap();
                if codes::lookup(code).is_none() {
                    unknown.push(format!("{}: {code}", path.strip_prefix(root()).unwrap().display()));
                }
            }
        }
    }
    assert!(unknown.is_empty(), "unknown diagnostic codes in the docs: {unknown:?}");
}
