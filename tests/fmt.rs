//! The formatter (`writ fmt`, `writ::unstable::fmt`).
//!
//! Properties, over every shipped `.writ` file (examples/, stdlib/), the 1,000-rule
//! benchmark set (benches/data/gen-1000) and generated policy sets (tests/gen), each as it
//! is and with random comments (line, block, multi-line block, doc where a doc belongs) and
//! blank lines inserted between tokens:
//! * the output parses to the same tree, spans aside (`writ::unstable::fmt::verify`, and
//!   `same_tree` directly);
//! * the comments are the same, in the same order (so the same multiset);
//! * formatting the output again changes nothing;
//! * whether a blank line separates two top-level items is kept;
//! * lines are at most 100 columns unless they hold a comment or a string.
//!
//! `WRIT_FMT_CASES=N` (default 150) and `WRIT_FMT_FIRST=S` choose the generated cases.
//!
//! Then the layout of each construct, the range entry point, and the command's behaviours
//! (`--check`, `-`, syntax errors, atomic rewrite) through `writ_cli::fmt::run` (crates/writ-cli/tests/fmt_cli.rs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "gen/mod.rs"]
mod generator;

use generator::Rng;
use std::path::{Path, PathBuf};
use writ::unstable::fmt::{FormatError, TextEdit, comments, format_range, format_source, same_tree, verify};
use writ::unstable::syntax::ast::{Item, SchemaMember};
use writ::unstable::syntax::{FileId, parse_file};

// ------------------------------------------------------------------------------ corpus

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn writ_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            writ_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "writ") {
            out.push(p);
        }
    }
}

/// Every shipped policy file: examples and the standard library.
fn shipped() -> Vec<PathBuf> {
    let mut v = Vec::new();
    writ_files(&root().join("examples"), &mut v);
    writ_files(&root().join("stdlib"), &mut v);
    assert!(v.len() >= 20, "expected the shipped .writ files, found {}", v.len());
    v
}

fn bench_set() -> Vec<PathBuf> {
    let mut v = Vec::new();
    writ_files(&root().join("benches/data/gen-1000"), &mut v);
    assert!(v.len() >= 10);
    v
}

// ------------------------------------------------------------------------------ properties

/// Byte offsets where a doc comment documents something: the start of every item that takes
/// one, of schema members that take one, and of attributes.
fn doc_places(src: &str) -> Vec<usize> {
    let parsed = parse_file(FileId(0), src);
    let mut v = Vec::new();
    for item in &parsed.file.items {
        match item {
            Item::Import(_) | Item::Error(_) => {}
            Item::Schema(s) => {
                v.push(s.span.start as usize);
                for m in &s.members {
                    match m {
                        SchemaMember::Enum(e) => v.push(e.span.start as usize),
                        SchemaMember::Entity(e) => {
                            v.push(e.span.start as usize);
                            v.extend(e.attrs.iter().map(|a| a.span.start as usize));
                        }
                        SchemaMember::Action(a) => {
                            v.push(a.span.start as usize);
                            v.extend(a.context.iter().map(|a| a.span.start as usize));
                        }
                        SchemaMember::ActionGroup(g) => v.push(g.span.start as usize),
                        SchemaMember::Context(c) => v.extend(c.fields.iter().map(|a| a.span.start as usize)),
                        SchemaMember::Setting(_) | SchemaMember::Error(_) => {}
                    }
                }
            }
            other => v.push(other.span().start as usize),
        }
    }
    v
}

/// `src` with comments and blank lines inserted at random token boundaries.
fn with_comments(src: &str, rng: &mut Rng) -> String {
    let tokens = writ::unstable::fmt::trivia::scan(src).tokens;
    let mut inserts: Vec<(usize, String)> = Vec::new();
    let mut id = 0;
    for t in &tokens {
        if !rng.chance(12) {
            continue;
        }
        id += 1;
        let text = match rng.below(6) {
            0 | 1 => format!(" // c{id}\n"),
            2 => format!(" /* b{id} */ "),
            3 => format!("\n// own{id}\n"),
            4 => format!("\n/* m{id}\n   second line */\n"),
            _ => "\n\n\n".to_string(),
        };
        inserts.push((t.end, text));
    }
    for p in doc_places(src) {
        if rng.chance(30) {
            id += 1;
            inserts.push((p, format!("/// d{id}\n")));
        }
    }
    if rng.chance(50) {
        inserts.push((src.len(), format!("\n// end{id}\n")));
    }
    if rng.chance(30) {
        inserts.push((0, "// top\n\n".into()));
    }
    inserts.sort_by_key(|(at, _)| *at);
    let mut out = String::with_capacity(src.len() + inserts.len() * 12);
    let mut last = 0;
    for (at, text) in inserts {
        out.push_str(&src[last..at]);
        out.push_str(&text);
        last = at;
    }
    out.push_str(&src[last..]);
    out
}

/// Whether a blank line separates each pair of consecutive top-level items that have only
/// whitespace between them.
fn item_blanks(src: &str) -> Vec<Option<bool>> {
    let parsed = parse_file(FileId(0), src);
    parsed
        .file
        .items
        .windows(2)
        .map(|w| {
            let gap = &src[w[0].span().end as usize..w[1].span().start as usize];
            (gap.trim().is_empty()).then(|| gap.matches('\n').count() >= 2)
        })
        .collect()
}

/// Checks every property on one text; `name` is for messages.
fn check_properties(name: &str, src: &str) {
    if let Err(at) = writ::unstable::fmt::tokens_in_sync(src) {
        let from = (0..=at.saturating_sub(200)).rev().find(|i| src.is_char_boundary(*i)).unwrap_or(0);
        panic!(
            "{name}: the layout lost track of the source's tokens at {at}:\n{}<<<HERE>>>{}",
            &src[from..at],
            &src[at..]
        );
    }
    let out = match format_source(src) {
        Ok(o) => o,
        Err(e) => panic!("{name}: not formatted: {e:?}\n--- input\n{src}"),
    };
    if let Err(e) = verify(src, &out) {
        panic!("{name}: {e}\n--- input\n{src}\n--- output\n{out}");
    }
    let before = parse_file(FileId(0), src);
    let after = parse_file(FileId(0), &out);
    assert!(same_tree(&before.file, &after.file), "{name}: the tree changed\n--- output\n{out}");
    let mut c1 = comments(src);
    let mut c2 = comments(&out);
    assert_eq!(c1, c2, "{name}: the comments changed\n--- output\n{out}");
    c1.sort();
    c2.sort();
    assert_eq!(c1, c2);
    let again = format_source(&out).unwrap();
    if again != out {
        panic!("{name}: not idempotent\n--- input\n{src}\n--- first\n{out}\n--- second\n{again}");
    }
    // Blank lines between items: kept where the output still has only whitespace between
    // the two items (a comment between them in the input stays between them).
    let (b1, b2) = (item_blanks(src), item_blanks(&out));
    assert_eq!(b1.len(), b2.len());
    for (i, (x, y)) in b1.iter().zip(&b2).enumerate() {
        if let (Some(x), Some(y)) = (x, y) {
            assert_eq!(
                x,
                y,
                "{name}: blank line between items {i} and {} not kept\n--- input\n{src}\n--- output\n{out}",
                i + 1
            );
        }
    }
    for line in out.lines() {
        if line.chars().count() > writ::unstable::fmt::WIDTH {
            assert!(
                line.contains("//") || line.contains("/*") || line.contains('"'),
                "{name}: line longer than {} columns: {line}",
                writ::unstable::fmt::WIDTH
            );
        }
    }
    assert!(!out.contains(" \n") && !out.contains("\n\n\n"), "{name}: trailing spaces or double blank lines");
}

#[test]
fn shipped_files_keep_their_meaning_and_comments() {
    let mut rng = Rng::new(1);
    for path in shipped().into_iter().chain(bench_set()) {
        let name = path.strip_prefix(root()).unwrap().display().to_string();
        let src = std::fs::read_to_string(&path).unwrap();
        check_properties(&name, &src);
        for round in 0..3 {
            check_properties(&format!("{name} with comments ({round})"), &with_comments(&src, &mut rng));
        }
    }
}

#[test]
fn generated_policies_keep_their_meaning_and_comments() {
    let cases: u64 = std::env::var("WRIT_FMT_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(150);
    let first: u64 = std::env::var("WRIT_FMT_FIRST").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut files = 0;
    for seed in first..first + cases {
        let mut rng = Rng::new(seed);
        let case = generator::generate(0x464d_5400 + seed);
        for (name, text) in &case.files {
            check_properties(&format!("seed {seed} {name}"), text);
            check_properties(&format!("seed {seed} {name} with comments"), &with_comments(text, &mut rng));
            files += 1;
        }
    }
    assert!(files as u64 >= cases);
}

/// Every shipped file is formatted already (`writ fmt --check examples stdlib` passes).
#[test]
fn shipped_files_are_formatted() {
    let mut unformatted = Vec::new();
    for path in shipped() {
        let src = std::fs::read_to_string(&path).unwrap();
        if format_source(&src).unwrap() != src {
            unformatted.push(path.display().to_string());
        }
    }
    assert!(unformatted.is_empty(), "run `writ fmt examples stdlib`: {unformatted:#?}");
}

/// The examples of docs/formatting.md are formatted: the page shows what `writ fmt` does.
#[test]
fn the_documented_examples_are_formatted() {
    let doc = std::fs::read_to_string(root().join("docs/formatting.md")).unwrap();
    let blocks: Vec<&str> = doc.split("```writ fragment\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(blocks.len() >= 8, "expected the examples of docs/formatting.md, found {}", blocks.len());
    for block in blocks {
        let out = format_source(block).unwrap_or_else(|e| panic!("{e:?}\n{block}"));
        assert_eq!(out, block, "docs/formatting.md shows a block that `writ fmt` changes:\n{out}");
    }
}

// ------------------------------------------------------------------------------ layout

/// Formats `input` and compares with `expected`; then checks that `expected` is stable.
#[track_caller]
fn check(input: &str, expected: &str) {
    let out = format_source(input).unwrap_or_else(|e| panic!("not formatted: {e:?}"));
    assert_eq!(out, expected, "\n--- got\n{out}\n--- expected\n{expected}");
    assert_eq!(format_source(expected).unwrap(), expected, "the expected text is not stable");
    verify(input, &out).unwrap();
}

#[test]
fn rules() {
    check(
        "@id(\"r1\")   @owner( \"x\" )\npermit A in B::\"g\" to [ read,write ] on B::\"x\" in B::\"y\";",
        "@id(\"r1\")\n@owner(\"x\")\npermit A in B::\"g\" to [read, write] on B::\"x\" in B::\"y\";\n",
    );
    check(
        "forbid * to * on * when context.risk>=80 because \"risk\";",
        "forbid * to * on *\n  when context.risk >= 80\n  because \"risk\";\n",
    );
    check(
        "escalate A to x on B when a and b or c unless d and (e or f) grant {ttl:5m,audit:\"x\"};",
        "escalate A to x on B\n  when a and b\n    or c\n  unless d\n     and (e or f)\n  grant { ttl: 5m, audit: \"x\" };\n",
    );
    // A head longer than the width breaks before `to` and `on`.
    let long = "permit Agent::\"a-very-long-agent-name-number-one\" in Team::\"platform-engineering\" to [read_record, call_tool] on Dataset::\"x\";";
    check(
        long,
        "permit Agent::\"a-very-long-agent-name-number-one\" in Team::\"platform-engineering\"\n    to [read_record, call_tool]\n    on Dataset::\"x\";\n",
    );
}

#[test]
fn long_expressions_break() {
    check(
        "permit A to x on B when (context.args.query.lower().contains(\"password\") or context.args.query.lower().contains(\"api key\"));",
        "permit A to x on B\n  when context.args.query.lower().contains(\"password\")\n    or context.args.query.lower().contains(\"api key\");\n",
    );
    check(
        "permit A to x on B when x and (context.args.query.lower().contains(\"password\") or context.args.query.lower().contains(\"api key\"));",
        "permit A to x on B\n  when x\n   and (context.args.query.lower().contains(\"password\")\n        or context.args.query.lower().contains(\"api key\"));\n",
    );
    check(
        "permit A to x on B when resource.name in [\"alpha-one\", \"bravo-two\", \"charlie-three\", \"delta-four\", \"echo-five\", \"foxtrot\"];",
        "permit A to x on B\n  when resource.name in [\n         \"alpha-one\",\n         \"bravo-two\",\n         \"charlie-three\",\n         \"delta-four\",\n         \"echo-five\",\n         \"foxtrot\",\n       ];\n",
    );
    check(
        "permit A to x on B grant { ttl: 5m, audit: \"a rather long audit message\", notify: [\"#sec-ops\", \"#platform-engineering\"] };",
        "permit A to x on B\n  grant {\n    ttl: 5m,\n    audit: \"a rather long audit message\",\n    notify: [\"#sec-ops\", \"#platform-engineering\"],\n  };\n",
    );
}

#[test]
fn expressions_keep_their_meaning_with_the_fewest_parentheses() {
    check("permit A to x on B when ((a));", "permit A to x on B\n  when a;\n");
    check("permit A to x on B when (a or b) and c;", "permit A to x on B\n  when (a or b)\n   and c;\n");
    check("permit A to x on B when a and (b and c);", "permit A to x on B\n  when a\n   and (b and c);\n");
    // `not` of a comparison keeps (or gets) its parentheses, for the reader.
    check("permit A to x on B when not (a == b);", "permit A to x on B\n  when not (a == b);\n");
    check(
        "permit A to x on B when not a like \"x\" and not (not b);",
        "permit A to x on B\n  when not (a like \"x\")\n   and not not b;\n",
    );
    check("permit A to x on B when (not a) == b;", "permit A to x on B\n  when (not a) == b;\n");
    check(
        "permit A to x on B when a - (b - c) == (a - b) - c;",
        "permit A to x on B\n  when a - (b - c) == a - b - c;\n",
    );
    check("permit A to x on B when (a + b) * -(c) > - 2;", "permit A to x on B\n  when (a + b) * -c > -2;\n");
    check(
        "permit A to x on B when (-a).abs() > (a+b).len();",
        "permit A to x on B\n  when (-a).abs() > (a + b).len();\n",
    );
    check("permit A to x on B when (a is T) == (b has c);", "permit A to x on B\n  when (a is T) == (b has c);\n");
    check(
        "permit A to x on B when a is T in (b.c) and d like \"x*\";",
        "permit A to x on B\n  when a is T in b.c\n   and d like \"x*\";\n",
    );
    check(
        "permit A to x on B when a and (all d in on_behalf_of: d is Human) and (if p then q else r);",
        "permit A to x on B\n  when a\n   and (all d in on_behalf_of: d is Human)\n   and (if p then q else r);\n",
    );
    check("permit A to x on B when any x in [1,2,]: x > 1;", "permit A to x on B\n  when any x in [1, 2]: x > 1;\n");
    check(
        "permit A to x on B when f(a,b) and T::\"x\" in principal.set and context.action == action;",
        "permit A to x on B\n  when f(a, b)\n   and T::\"x\" in principal.set\n   and context.action == action;\n",
    );
    check(
        "permit A to x on B when intent in [a, b] and {a: 1}.a == 1;",
        "permit A to x on B\n  when intent in [a, b]\n   and { a: 1 }.a == 1;\n",
    );
}

#[test]
fn functions() {
    check("fn f ( x : Int , ) -> Bool = x > 1 ;", "fn f(x: Int) -> Bool = x > 1;\n");
    check(
        "fn hours_between(t: Timestamp, start_hour: Int, end_hour: Int) -> Bool = if start_hour <= end_hour then t.hour() >= start_hour and t.hour() < end_hour else t.hour() >= start_hour or t.hour() < end_hour;",
        "fn hours_between(t: Timestamp, start_hour: Int, end_hour: Int) -> Bool =\n  if start_hour <= end_hour\n  then t.hour() >= start_hour and t.hour() < end_hour\n  else t.hour() >= start_hour or t.hour() < end_hour;\n",
    );
    check("fn g() -> Set<String> = [];", "fn g() -> Set<String> = [];\n");
}

#[test]
fn schemas_and_intents() {
    check(
        "schema { @max_delegation( 4 ) enum Level{a,b,} entity Team {} entity Human in Team|Org { clearance : Level , tags: Set<String>, nick: String? }\n context { now: Timestamp }\n action call_tool :  Agent|Human->Tool{args:{query:String?}} action group reads = [ a , b ] }",
        "schema {\n  @max_delegation(4)\n  enum Level { a, b }\n  entity Team\n  entity Human in Team | Org { clearance: Level, tags: Set<String>, nick: String? }\n  context { now: Timestamp }\n  action call_tool: Agent | Human -> Tool { args: { query: String? } }\n  action group reads = [a, b]\n}\n",
    );
    check("schema {}", "schema {}\n");
    check(
        "schema { entity Agent { owner: Human, env: String, workload: String, max_delegation: Int?, model: String, trust: Int } }",
        "schema {\n  entity Agent {\n    owner: Human,\n    env: String,\n    workload: String,\n    max_delegation: Int?,\n    model: String,\n    trust: Int,\n  }\n}\n",
    );
    check(
        "intent triage \"Read tickets\" { call_tool on ToolGroup::\"t\", [a, b] on *; read on R in D::\"x\" }\nintent empty {}",
        "intent triage \"Read tickets\" {\n  call_tool on ToolGroup::\"t\"\n  [a, b] on *\n  read on R in D::\"x\"\n}\nintent empty {}\n",
    );
    check("import std.time;\nimport \"./h.writ\" as h", "import std.time\nimport \"./h.writ\" as h\n");
}

#[test]
fn comments_and_blank_lines() {
    // Leading, trailing (aligned), inline, doc and end-of-file comments; blank-line runs
    // become one; blank lines at the start and end of a block go.
    check(
        "// head\n\n\n/// doc\n@id(\"a\") // trailing\npermit A to x on B // after head\n  when a // first\n   and bb // second\n  /* inline */ unless c;\n\n\n\n// between\n\npermit A to y on B;\n// end",
        "// head\n\n/// doc\n@id(\"a\")           // trailing\npermit A to x on B // after head\n  when a           // first\n   and bb          // second\n  /* inline */ unless c;\n\n// between\n\npermit A to y on B;\n// end\n",
    );
    check(
        "schema {\n\n  entity A { x: Int, // the x\n  /// the y\n  y: Int }\n\n  // closing\n\n}",
        "schema {\n  entity A {\n    x: Int, // the x\n    /// the y\n    y: Int,\n  }\n\n  // closing\n}\n",
    );
    // A comment inside a bracket breaks it.
    check(
        "permit A to x on B when f(a /* one */, b);",
        "permit A to x on B\n  when f(\n         a /* one */,\n         b,\n       );\n",
    );
    check(
        "permit A to x on B when f(a, // one\n b);",
        "permit A to x on B\n  when f(\n         a, // one\n         b,\n       );\n",
    );
    check("/* a\n   block */\npermit A to x on B;", "/* a\n   block */\npermit A to x on B;\n");
    check("", "");
    check("\n\n// only a comment\n\n", "// only a comment\n");
}

#[test]
fn crlf_and_trailing_whitespace_go() {
    check(
        "/// doc   \r\npermit A to x on B  \r\n  when a; // c  \r\n",
        "/// doc\npermit A to x on B\n  when a; // c\n",
    );
}

#[test]
fn syntax_errors_are_not_formatted() {
    let Err(FormatError::Syntax(diags)) = format_source("permit A to x on B when ;") else { panic!("formatted") };
    assert!(diags.iter().any(|d| d.is_error()));
    assert!(matches!(format_source("schema { entity }"), Err(FormatError::Syntax(_))));
    // A doc comment that documents nothing right before a token the formatter drops.
    let Err(FormatError::Syntax(diags)) = format_source("import std.time /// stray\n;\npermit A to x on B;") else {
        panic!("formatted")
    };
    assert_eq!(diags[0].code.as_str(), "P0012");
}

#[test]
fn format_range_formats_whole_items() {
    let src = "permit A to x on B when a  and b;\n\npermit   A to y on B;\n// c\npermit A to z on   B; // t\n";
    // Only the second rule.
    let at = src.find("permit   A").unwrap();
    let edits = format_range(src, at..at + 3).unwrap();
    assert_eq!(
        edits,
        vec![TextEdit { range: at - 1..src.find("// c").unwrap(), new_text: "\npermit A to y on B;\n".into() }]
    );
    // The third, with its leading and trailing comments.
    let at = src.find("on   B").unwrap();
    let edits = format_range(src, at..at).unwrap();
    assert_eq!(
        edits,
        vec![TextEdit {
            range: src.find("// c").unwrap()..src.len(),
            new_text: "// c\npermit A to z on B; // t\n".into()
        }]
    );
    // All of it: applying the edits gives the formatted file.
    let edits = format_range(src, 0..src.len()).unwrap();
    assert_eq!(apply(src, &edits), format_source(src).unwrap());
    // Formatted items: nothing to do.
    let done = format_source(src).unwrap();
    assert_eq!(format_range(&done, 0..done.len()).unwrap(), vec![]);
    // Items on one line go together.
    let src = "permit A to x on B;  permit A to y on B;\npermit  A to z on B;\n";
    let edits = format_range(src, 0..1).unwrap();
    assert_eq!(apply(src, &edits), "permit A to x on B;\npermit A to y on B;\npermit  A to z on B;\n");
    assert!(matches!(format_range("permit", 0..1), Err(FormatError::Syntax(_))));
}

#[test]
fn format_range_agrees_with_whole_file_formatting() {
    let mut rng = Rng::new(3);
    for path in shipped() {
        let src = with_comments(&std::fs::read_to_string(&path).unwrap(), &mut rng);
        let whole = format_source(&src).unwrap();
        // Any single range, applied, gives text that formats to the same file; all ranges
        // one after another give the formatted file.
        for _ in 0..5 {
            let a = rng.below(src.len());
            let b = a + rng.below(src.len() - a);
            let edits = format_range(&src, a..b).unwrap();
            let partly = apply(&src, &edits);
            assert_eq!(format_source(&partly).unwrap(), whole, "{}: range {a}..{b}", path.display());
            verify(&src, &partly).unwrap();
        }
    }
}

fn apply(src: &str, edits: &[TextEdit]) -> String {
    let mut out = src.to_string();
    for e in edits.iter().rev() {
        out.replace_range(e.range.clone(), &e.new_text);
    }
    out
}

/// `WRIT_FMT_SEED=N cargo test --test fmt dump_generated -- --ignored` writes generated case
/// N (as numbered by `generated_policies_keep_their_meaning_and_comments`) to the temporary
/// directory, to reproduce a failure.
#[test]
#[ignore]
fn dump_generated() {
    let seed: u64 = std::env::var("WRIT_FMT_SEED").unwrap().parse().unwrap();
    let case = generator::generate(0x464d_5400 + seed);
    for (name, text) in &case.files {
        let path = std::env::temp_dir().join(format!("writ-fmt-seed-{seed}-{name}"));
        std::fs::write(&path, text).unwrap();
        println!("{}", path.display());
    }
}
