//! The front end never panics, never overflows the stack, and reports every problem with a
//! span that lies inside the text. Seeded generators run inside `cargo test` (random bytes,
//! token soups, mutations of the running example, `examples/spec`); hostile nesting runs on a thread with a
//! normal 2 MiB stack. (STYLE.md puts the long-running fuzz targets in a `fuzz/` crate.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/mod.rs"]
mod common;
#[path = "common/fuzz_input.rs"]
mod fuzz_input;

use writ::diag::{self, Diagnostic, Severity, codes};
use writ::unstable::syntax::ast::{Clause, Expr, ExprKind, File, Item, SchemaMember, Type, TypeKind};
use writ::unstable::syntax::lexer::{self, Tok};
use writ::unstable::syntax::{FileId, SourceMap, parse_expr, parse_file};

const FILE: FileId = FileId(0);

/// The running example (`examples/spec`), both files, as one text.
fn spec_example() -> String {
    format!("{}\n{}", include_str!("../examples/spec/schema.writ"), include_str!("../examples/spec/agents.writ"))
}

// ------------------------------------------------------------------------------ checks

/// Lexes and parses `src`, checks every invariant that must hold for any input, and returns
/// the diagnostics. `case` names the input in failure messages.
fn check_front_end(src: &str, case: &dyn Fn() -> String) -> Vec<Diagnostic> {
    let lexed = lexer::lex(FILE, src);
    check_tokens(src, &lexed.tokens, case);
    let lexer_errors = lexed.diagnostics.iter().filter(|d| d.is_error()).count();
    if lexed.tokens.iter().any(|t| t.1 == Tok::Error) {
        assert!(lexer_errors > 0, "an Error token without a lexer diagnostic\n{}", case());
    }
    check_spans(src, &lexed.diagnostics, case);

    let parsed = parse_file(FILE, src);
    let diags = parsed.diagnostics;
    check_spans(src, &diags, case);
    for d in &lexed.diagnostics {
        assert!(diags.contains(d), "parse_file dropped the lexer diagnostic {d:?}\n{}", case());
    }
    check_positions(src, &lexed.tokens, &diags, case);
    let errors = count_error_nodes(&parsed.file);
    if errors > 0 {
        assert!(
            diag::has_errors(&diags),
            "the tree holds {errors} error node(s) but no error was reported\n{}",
            case()
        );
    }
    diags
}

/// Tokens are in order, inside the text, on char boundaries, and end with one `Eof`.
fn check_tokens(src: &str, tokens: &[(usize, Tok<'_>, usize)], case: &dyn Fn() -> String) {
    let mut last_end = 0;
    for (l, tok, r) in tokens {
        assert!(l <= r && *r <= src.len(), "token {tok:?} at {l}..{r} outside 0..{}\n{}", src.len(), case());
        assert!(*l >= last_end, "token {tok:?} at {l}..{r} overlaps the previous one\n{}", case());
        assert!(
            src.is_char_boundary(*l) && src.is_char_boundary(*r),
            "token {tok:?} at {l}..{r} splits a char\n{}",
            case()
        );
        last_end = *r;
    }
    // The final Eof sits right after the last real token (so "unexpected end of file"
    // points where something is missing), or at 0 for a file with no tokens.
    let real_end = tokens.iter().rev().nth(1).map_or(0, |t| t.2);
    assert_eq!(tokens.last().map(|t| (t.0, &t.1)), Some((real_end, &Tok::Eof)), "no final Eof\n{}", case());
}

/// Every span of every diagnostic lies inside the text, on char boundaries; diagnostics are
/// sorted, and their messages are non-empty and lowercase (STYLE.md).
fn check_spans(src: &str, diags: &[Diagnostic], case: &dyn Fn() -> String) {
    check_labels(src, diags, case);
    let keys: Vec<(u32, u32)> = diags.iter().map(|d| (d.primary.span.start, d.primary.span.end)).collect();
    assert!(keys.windows(2).all(|w| w[0] <= w[1]), "diagnostics out of order: {keys:?}\n{}", case());
}

/// [`check_spans`] without the order (`parse_expr` does not sort its diagnostics).
fn check_labels(src: &str, diags: &[Diagnostic], case: &dyn Fn() -> String) {
    for d in diags {
        let labels = std::iter::once(&d.primary).chain(&d.labels);
        for l in labels {
            let (s, e) = (l.span.start as usize, l.span.end as usize);
            assert_eq!(l.span.file, FILE, "{d:?}\n{}", case());
            assert!(s <= e && e <= src.len(), "span {s}..{e} outside 0..{}: {d:?}\n{}", src.len(), case());
            assert!(
                src.is_char_boundary(s) && src.is_char_boundary(e),
                "span {s}..{e} splits a char: {d:?}\n{}",
                case()
            );
        }
        let first = d.message.chars().next();
        assert!(first.is_some_and(|c| !c.is_uppercase()), "message not lowercase: {d:?}\n{}", case());
        assert_eq!(d.severity, d.code.severity(), "{d:?}\n{}", case());
    }
}

/// "Unexpected token" points at exactly one token; "unexpected end of file" is an empty span.
fn check_positions(src: &str, tokens: &[(usize, Tok<'_>, usize)], diags: &[Diagnostic], case: &dyn Fn() -> String) {
    for d in diags {
        let (s, e) = (d.primary.span.start as usize, d.primary.span.end as usize);
        if d.code == codes::UNEXPECTED_TOKEN {
            let at = tokens.partition_point(|t| t.0 < s);
            let token = tokens.get(at).filter(|t| t.0 == s && t.2 == e);
            assert!(token.is_some(), "P0001 at {s}..{e} is not a token: {d:?}\n{}", case());
        } else if d.code == codes::UNEXPECTED_EOF {
            assert_eq!(s, e, "P0002 span is not empty: {d:?}\n{}", case());
            assert!(
                src.get(s..).is_some_and(|rest| rest.trim().is_empty())
                    || tokens.iter().any(|t| t.1 == Tok::Eof && t.0 == s),
                "P0002 not at an end of input: {d:?}\n{}",
                case()
            );
        }
    }
}

fn count_error_nodes(file: &File) -> usize {
    file.items
        .iter()
        .map(|item| match item {
            Item::Error(_) => 1,
            Item::Import(_) => 0,
            Item::Schema(s) => s
                .members
                .iter()
                .map(|m| match m {
                    SchemaMember::Error(_) => 1,
                    SchemaMember::Entity(e) => e.attrs.iter().map(|a| type_errors(&a.ty)).sum(),
                    SchemaMember::Context(c) => c.fields.iter().map(|a| type_errors(&a.ty)).sum(),
                    SchemaMember::Action(a) => a.context.iter().map(|a| type_errors(&a.ty)).sum(),
                    SchemaMember::Enum(_) | SchemaMember::ActionGroup(_) | SchemaMember::Setting(_) => 0,
                })
                .sum(),
            Item::Intent(_) => 0,
            Item::Fn(f) => {
                f.params.iter().map(|p| type_errors(&p.ty)).sum::<usize>() + type_errors(&f.ret) + expr_errors(&f.body)
            }
            Item::Rule(r) => r
                .clauses
                .iter()
                .map(|c| match c {
                    Clause::When(e) | Clause::Unless(e) | Clause::Grant(e) => expr_errors(e),
                    Clause::Because(_) => 0,
                })
                .sum(),
        })
        .sum()
}

/// Recursion is fine here: the parser bounds the depth of every tree it builds.
fn expr_errors(e: &Expr) -> usize {
    if matches!(e.kind, ExprKind::Error) {
        return 1;
    }
    let mut n = 0;
    e.kind.for_each_child(|c| n += expr_errors(c));
    n
}

fn type_errors(t: &Type) -> usize {
    match &t.kind {
        TypeKind::Error => 1,
        TypeKind::Named(_) => 0,
        TypeKind::Generic(_, args) => args.iter().map(type_errors).sum(),
        TypeKind::Record(attrs) => attrs.iter().map(|a| type_errors(&a.ty)).sum(),
    }
}

/// Both renderers accept whatever the front end produced (the first few diagnostics: the
/// human renderer costs about a millisecond each in a debug build).
fn render_both(src: &str, diags: &[Diagnostic]) {
    let diags = &diags[..diags.len().min(4)];
    let mut sources = SourceMap::new();
    sources.add("fuzz.writ", src);
    let human = diag::render::render(diags, &sources, false);
    let json = diag::json::render(diags, &sources);
    assert!(human.matches("fuzz.writ").count() >= diags.len(), "{human}");
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("the JSON renderer prints JSON");
    assert_eq!(parsed.as_array().map(Vec::len), Some(diags.len()));
}

// ------------------------------------------------------------------------------ (a) bytes

#[test]
fn random_bytes_never_panic() {
    const ALPHABET: &[&str] = &[
        "a", "Z", "_", "0", "9", " ", "\n", "\t", "\r", "\"", "\\", "/", "*", "(", ")", "[", "]", "{", "}", "<", ">",
        "=", "!", ":", ";", ",", ".", "@", "-", "+", "?", "|", "&", "$", "#", "'", "u", "m", "s", "h", "d", "é", "😀",
        "\u{FEFF}", "\u{0}", "\u{2028}",
    ];
    let mut rng = common::rng::Rng(0x5EED_0001);
    let mut with_errors = 0;
    for i in 0..2000 {
        let len = rng.below(300);
        let src = if i % 2 == 0 {
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            (0..len).map(|_| *rng.pick(ALPHABET)).collect()
        };
        let case = || format!("random bytes case {i}: {src:?}");
        let diags = check_front_end(&src, &case);
        if lexer::lex(FILE, &src).tokens.iter().any(|t| t.1 == Tok::Error) {
            assert!(!diags.is_empty(), "garbage with an Error token gave no diagnostic\n{}", case());
        }
        with_errors += usize::from(diag::has_errors(&diags));
        if i % 50 == 0 {
            render_both(&src, &diags);
        }
    }
    // Random text is almost never a valid policy; an all-clean run means nothing was tested.
    assert!(with_errors > 1500, "only {with_errors} of 2000 random inputs had errors");
}

// ------------------------------------------------------------------------------ (b) soups

const KEYWORDS: &[&str] = &[
    "schema", "entity", "enum", "action", "context", "intent", "import", "fn", "permit", "forbid", "escalate", "to",
    "on", "in", "is", "has", "like", "when", "unless", "because", "grant", "and", "or", "not", "if", "then", "else",
    "all", "any", "true", "false",
];

const PUNCTUATION: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ",", ";", ":", "::", ".", "@", "*", "+", "-", "==", "!=", "<", "<=", ">", ">=", "=",
    "->", "|", "?",
];

const OTHER_TOKENS: &[&str] = &[
    "Agent",
    "Tool",
    "principal",
    "resource",
    "x",
    "_",
    "call_tool",
    "group",
    "as",
    "std",
    "time",
    "Set",
    "String",
    "0",
    "42",
    "9223372036854775807",
    "9223372036854775808",
    "15m",
    "500ms",
    "1h30m",
    "30m1h",
    "15min",
    "1h30",
    "\"x\"",
    "\"spiffe://prod/*\"",
    "\"a\\\"b\"",
    "\"\\q\"",
    "\"\\u{1F600}\"",
    "\"\\u{110000}\"",
    "\"open",
    "\"é😀\"",
    "/// doc\n",
    "//// four\n",
    "// comment\n",
    "/* block */",
    "/* open",
    "$",
    "&&",
    "!",
    "#",
    "é",
    "😀",
];

fn soup(rng: &mut common::rng::Rng) -> String {
    let mut s = String::new();
    for _ in 0..1 + rng.below(80) {
        let tok = match rng.below(10) {
            0..=3 => rng.pick(KEYWORDS),
            4..=6 => rng.pick(PUNCTUATION),
            _ => rng.pick(OTHER_TOKENS),
        };
        s.push_str(tok);
        s.push_str(match rng.below(10) {
            0 => "",
            1 => "\n",
            _ => " ",
        });
    }
    s
}

#[test]
fn token_soups_never_panic() {
    let mut rng = common::rng::Rng(0x5EED_0002);
    let mut clean = 0;
    for i in 0..2000 {
        let src = soup(&mut rng);
        let case = || format!("token soup case {i}: {src:?}");
        let diags = check_front_end(&src, &case);
        clean += usize::from(diags.is_empty());
        let (expr, expr_diags) = parse_expr(FILE, &src);
        check_labels(&src, &expr_diags, &case);
        assert!(
            expr.is_some() || diag::has_errors(&expr_diags),
            "parse_expr gave neither a tree nor an error\n{}",
            case()
        );
        if i % 50 == 0 {
            render_both(&src, &diags);
        }
    }
    assert!(clean < 2000, "every soup parsed cleanly: the generator is broken");
}

// ------------------------------------------------------------------------------ (c) mutations

#[test]
fn spec_example_parses_cleanly() {
    let src = spec_example();
    let parsed = parse_file(FILE, &src);
    assert_eq!(parsed.diagnostics, Vec::new());
    let rules = parsed.file.items.iter().filter(|i| matches!(i, Item::Rule(_))).count();
    assert_eq!(rules, 4);
    assert_eq!(parsed.file.items.len(), 8, "schema, two intents, the import and four rules");
}

#[test]
fn mutations_of_the_spec_example_never_panic() {
    let original = spec_example();
    let tokens: Vec<(usize, usize)> = lexer::lex(FILE, &original).tokens.iter().map(|t| (t.0, t.2)).collect();
    let vocabulary: Vec<&str> = KEYWORDS.iter().chain(PUNCTUATION).chain(OTHER_TOKENS).copied().collect();
    let mut rng = common::rng::Rng(0x5EED_0003);
    let mut broken = 0;
    for i in 0..1000 {
        let mut ops = Vec::new();
        let src = if i % 2 == 0 {
            // Token edits on the original token boundaries, applied from the back.
            let mut text = original.clone();
            let mut picks: Vec<usize> = (0..1 + rng.below(3)).map(|_| rng.below(tokens.len() - 1)).collect();
            picks.sort_unstable();
            // Two edits never touch neighbouring tokens, so each sees its tokens intact.
            picks.dedup_by(|b, a| *b <= *a + 1);
            for &t in picks.iter().rev() {
                let (l, r) = tokens[t];
                let (nl, nr) = tokens[t + 1];
                let op = rng.below(4);
                ops.push((op, t));
                match op {
                    0 => text.replace_range(l..r, ""),
                    1 => {
                        let tok = text[l..r].to_string();
                        text.insert_str(r, &format!(" {tok}"));
                    }
                    2 => {
                        let (a, b) = (text[l..r].to_string(), text[nl..nr].to_string());
                        let gap = text[r..nl].to_string();
                        text.replace_range(l..nr, &format!("{b}{gap}{a}"));
                    }
                    _ => {
                        let with: &&str = rng.pick(&vocabulary);
                        text.replace_range(l..r, with);
                    }
                }
            }
            text
        } else {
            // Byte edits: may cut a char in half; the result goes through lossy decoding.
            let mut bytes = original.clone().into_bytes();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(bytes.len());
                let op = rng.below(4);
                ops.push((op, at));
                match op {
                    0 => {
                        let end = (at + 1 + rng.below(8)).min(bytes.len());
                        bytes.drain(at..end);
                    }
                    1 => bytes.insert(at, rng.next_u64() as u8),
                    2 => {
                        let end = (at + 1 + rng.below(16)).min(bytes.len());
                        let slice = bytes[at..end].to_vec();
                        bytes.splice(at..at, slice);
                    }
                    _ => {
                        let other = rng.below(bytes.len());
                        bytes.swap(at, other);
                    }
                }
            }
            String::from_utf8_lossy(&bytes).into_owned()
        };
        let case = || format!("mutation case {i} (ops {ops:?}):\n{src}");
        let diags = check_front_end(&src, &case);
        broken += usize::from(!diags.is_empty());
        if i % 50 == 0 {
            render_both(&src, &diags);
        }
    }
    assert!(broken > 500, "only {broken} of 1000 mutations produced a diagnostic");
}

// ------------------------------------------------------------------------------ (d) depth

const DEEP: usize = 100_000;

/// Runs `f` on a fresh thread with the default 2 MiB stack of a test thread, whatever the
/// harness does (`--test-threads=1` would run it on the 8 MiB main thread).
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    let handle = std::thread::Builder::new().stack_size(2 << 20).spawn(f).expect("cannot spawn a thread");
    if let Err(panic) = handle.join() {
        std::panic::resume_unwind(panic);
    }
}

fn rule_when(expr: &str) -> String {
    format!("permit Agent to call_tool on Tool when {expr};\n")
}

/// Exactly one diagnostic, P0008, and nothing else.
fn assert_one_too_deep(what: &str, src: &str) {
    let case = || format!("{what} ({} bytes)", src.len());
    let diags = check_front_end(src, &case);
    let codes: Vec<&str> = diags.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["P0008"], "{}: {:?}", case(), diags.iter().map(|d| &d.message).collect::<Vec<_>>());
}

#[test]
fn deep_parentheses_hit_the_depth_limit() {
    on_small_stack(|| {
        let src = rule_when(&format!("{}x{}", "(".repeat(DEEP), ")".repeat(DEEP)));
        assert_one_too_deep("100,000 nested parentheses", &src);
    });
}

#[test]
fn deep_not_hits_the_depth_limit() {
    on_small_stack(|| assert_one_too_deep("100,000 `not`", &rule_when(&format!("{}x", "not ".repeat(DEEP)))));
}

#[test]
fn deep_unary_minus_hits_the_depth_limit() {
    on_small_stack(|| assert_one_too_deep("100,000 unary `-`", &rule_when(&format!("{}1 < 2", "-".repeat(DEEP)))));
}

#[test]
fn long_field_chain_hits_the_depth_limit() {
    on_small_stack(|| assert_one_too_deep("a 100,000-long `.f` chain", &rule_when(&format!("x{}", ".f".repeat(DEEP)))));
}

#[test]
fn deep_sets_hit_the_depth_limit() {
    on_small_stack(|| {
        let src = rule_when(&format!("x in {}x{}", "[".repeat(DEEP), "]".repeat(DEEP)));
        assert_one_too_deep("100,000 nested `[`", &src);
    });
}

#[test]
fn deep_set_type_hits_the_depth_limit() {
    on_small_stack(|| {
        let src = format!("schema {{ entity Agent {{ tags: {}String{} }} }}\n", "Set<".repeat(DEEP), ">".repeat(DEEP));
        assert_one_too_deep("`Set<…>` nested 100,000 deep", &src);
    });
}

#[test]
fn other_deep_nestings_hit_the_depth_limit() {
    const N: usize = 5_000;
    on_small_stack(|| {
        let cases = [
            ("nested calls", rule_when(&format!("{}x{}", "f(".repeat(N), ")".repeat(N)))),
            ("nested method arguments", rule_when(&format!("{}x{}", "x.m(".repeat(N), ")".repeat(N)))),
            ("nested records", rule_when(&format!("{}1{}", "{a: ".repeat(N), "}".repeat(N)))),
            ("an `else if` ladder", rule_when(&format!("{}x", "if x then x else ".repeat(N)))),
            ("nested quantifiers", rule_when(&format!("{}x", "all x in s: ".repeat(N)))),
            ("nested comparisons in parentheses", rule_when(&format!("{}x{}", "(x == ".repeat(N), ")".repeat(N)))),
            (
                "nested record types",
                format!("schema {{ entity Agent {{ a: {}Int{} }} }}\n", "{ a: ".repeat(N), " }".repeat(N)),
            ),
            ("nested fn return type", format!("fn f() -> {}Int{} = 1;\n", "Set<".repeat(N), ">".repeat(N))),
        ];
        for (what, src) in &cases {
            assert_one_too_deep(what, src);
        }
    });
}

#[test]
fn deep_unclosed_input_is_an_error_not_a_crash() {
    on_small_stack(|| {
        const N: usize = 20_000;
        for (what, src, most) in [
            ("unclosed parentheses", rule_when(&"(".repeat(N)), 1),
            ("unclosed sets", rule_when(&"[".repeat(N)), 1),
            ("unclosed types", format!("schema {{ entity A {{ a: {}", "Set<".repeat(N)), 1),
            ("a flood of `)`", rule_when(&format!("x{}", ")".repeat(N))), 1),
            // Each stray `;` is an empty item, reported on its own.
            ("a flood of `;`", ";".repeat(2_000), 2_000),
        ] {
            let case = || what.to_string();
            let diags = check_front_end(&src, &case);
            assert!(diag::has_errors(&diags), "{what}: no error");
            assert!(diags.len() <= most, "{what}: {} diagnostics", diags.len());
        }
    });
}

#[test]
fn long_and_or_chains_are_flat() {
    on_small_stack(|| {
        for op in ["or", "and"] {
            let terms: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
            let src = rule_when(&terms.join(&format!(" {op} ")));
            let parsed = parse_file(FILE, &src);
            assert_eq!(parsed.diagnostics, Vec::new(), "a 10,000-term `{op}` chain");
            let Some(Item::Rule(rule)) = parsed.file.items.first() else { panic!("no rule") };
            let Some(Clause::When(e)) = rule.clauses.first() else { panic!("no `when`") };
            match &e.kind {
                ExprKind::Or(es) | ExprKind::And(es) => assert_eq!(es.len(), 10_000),
                other => panic!("not flattened: {:?}", std::mem::discriminant(other)),
            }
            assert!(e.depth <= 3, "a flat chain is shallow, got depth {}", e.depth);
        }
        // Mixed chains: `or` of `and`s, and a long chain inside parentheses.
        let src = rule_when(&(0..5_000).map(|i| format!("a{i} and b{i}")).collect::<Vec<_>>().join(" or "));
        assert_eq!(parse_file(FILE, &src).diagnostics, Vec::new());
        let inner: Vec<String> = (0..10_000).map(|i| format!("t{i}")).collect();
        let src = rule_when(&format!("not ({})", inner.join(" or ")));
        assert_eq!(parse_file(FILE, &src).diagnostics, Vec::new());
    });
}

/// An `and`/`or` chain counts one level above its deepest operand. A chain whose third (or
/// later) operand sits right at the limit must either be reported (P0008) or stay a valid
/// node. `State::chain` gives the chain depth 257 without a diagnostic (only `State::limit`
/// reports, and only when a child is exactly at 256), so the enclosing node silently becomes
/// an error node: the rule is dropped with no error at all.
#[test]

fn chain_operand_at_the_depth_limit_is_reported() {
    // `x` is depth 1; each pair of parentheses adds one: 255 pairs give depth 256, the most
    // the limit allows.
    let at_limit = format!("{}x{}", "(".repeat(255), ")".repeat(255));
    let ok = parse_file(FILE, &rule_when(&at_limit));
    assert_eq!(ok.diagnostics, Vec::new(), "depth 256 is allowed");
    for wrapped in [format!("(x and y and {at_limit})"), format!("not (x or y or {at_limit})")] {
        let src = rule_when(&wrapped);
        let case = || format!("{} ({} bytes)", &wrapped[..20], src.len());
        check_front_end(&src, &case);
    }
}

// ------------------------------------------------------------------------------ (e) bytes on disk

#[test]
fn invalid_utf8_is_one_p0009_at_the_first_bad_byte() {
    let cases: [(&[u8], usize); 4] = [
        (b"permit \xff\xfe Agent to call_tool on Tool;", 7),
        (b"\xc3", 0),
        (b"// caf\xc3\xa9 \xe2\x82 truncated euro sign", 9),
        (b"\"ok\" \xed\xa0\x80 surrogate", 5),
    ];
    for (bytes, offset) in cases {
        let mut loaded = writ::unstable::load::Loaded::default();
        let id = loaded.add_bytes("bad.writ".into(), bytes.to_vec());
        let d: Vec<&Diagnostic> = loaded.diagnostics.iter().collect();
        assert_eq!(d.len(), 1, "{bytes:?}: {d:?}");
        assert_eq!(d[0].code, codes::INVALID_UTF8);
        assert_eq!(d[0].severity, Severity::Error);
        assert!(d[0].message.contains(&format!("offset {offset}")), "{}", d[0].message);
        assert!(d[0].message.contains("`bad.writ`"), "{}", d[0].message);
        assert_eq!(d[0].primary.span.start as usize, offset);
        assert!(!loaded.is_readable(id));
        let text = &loaded.sources.get(id).expect("the file is kept").text;
        let (s, e) = (d[0].primary.span.start as usize, d[0].primary.span.end as usize);
        assert_eq!(text.get(s..e), Some("\u{FFFD}"), "the span covers the replacement character");
        let human = diag::render::render(&loaded.diagnostics, &loaded.sources, false);
        assert!(human.contains("P0009"), "{human}");
        let json = diag::json::render(&loaded.diagnostics, &loaded.sources);
        assert!(json.contains("\"P0009\""), "{json}");
    }
    let mut loaded = writ::unstable::load::Loaded::default();
    let id = loaded.add_bytes("good.writ".into(), "permit é;".as_bytes().to_vec());
    assert!(loaded.diagnostics.is_empty());
    assert!(loaded.is_readable(id));
}

// ------------------------------------------------------------------------------ (f) size limits

/// Checks one file with the running example's (`examples/spec`) schema, and the rules given.
fn check_with_schema(rules: &str) -> (SourceMap, writ::unstable::sema::Checked) {
    let mut sources = SourceMap::new();
    let text = format!("{}\n{rules}", include_str!("../examples/spec/schema.writ"));
    let id = sources.add("big.writ", text);
    let checked = writ::unstable::sema::check(&mut sources, &[id], &mut writ::unstable::sema::NoFiles);
    (sources, checked)
}

#[test]
fn a_100000_term_chain_is_rejected_at_the_chain_limit() {
    on_small_stack(|| {
        for op in ["and", "or"] {
            let terms: Vec<String> = (0..100_000).map(|i| format!("context.risk != {i}")).collect();
            let (sources, checked) = check_with_schema(&format!(
                "@id(\"big\") permit Agent to call_tool on Tool when {};",
                terms.join(&format!(" {op} "))
            ));
            let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
            // The specific limit, not E0209's message about inlining functions.
            assert_eq!(codes, ["E0218"], "{op}: {:?}", checked.diagnostics);
            let d = &checked.diagnostics[0];
            assert_eq!(d.message, format!("this `{op}` chain has 100000 terms; at most 10000 are allowed"));
            assert_eq!(sources.snippet(d.primary.span), "context.risk != 10000", "the first term past the limit");
            assert!(checked.policy.is_none());
            // Both renderings name the place.
            let human = diag::render::render(&checked.diagnostics, &sources, false);
            assert!(human.contains("[E0218] Error") && human.contains("big.writ:"), "{}", &human[..200]);
            let json = diag::json::render(&checked.diagnostics, &sources);
            assert!(json.contains("\"E0218\""));
        }
    });
}

#[test]
fn a_chain_at_the_limit_is_accepted() {
    on_small_stack(|| {
        let terms: Vec<String> = (0..10_000).map(|i| format!("context.risk != {i}")).collect();
        let (_, checked) =
            check_with_schema(&format!("@id(\"big\") permit Agent to call_tool on Tool when {};", terms.join(" and ")));
        assert_eq!(checked.diagnostics, Vec::new());
        let policy = checked.policy.expect("a 10,000-term chain checks");
        let clause = &policy.rules[0].bodies[0].clauses[0].expr;
        assert!(matches!(&clause.kind, writ::unstable::ir::ExprKind::And(es) if es.len() == 10_000));
    });
}

#[test]
fn a_large_condition_without_functions_is_not_blamed_on_inlining() {
    on_small_stack(|| {
        // 9,000 terms of 24 nodes: past the 200,000 IR nodes a body may have, within the chain limit.
        let sum: String = (1..=10).map(|i| format!(" + {i}")).collect();
        let terms: Vec<String> = (0..9_000).map(|i| format!("context.risk{sum} != {i}")).collect();
        let (_, checked) =
            check_with_schema(&format!("@id(\"big\") permit Agent to call_tool on Tool when {};", terms.join(" and ")));
        let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.as_str()).collect();
        assert_eq!(codes, ["E0209"], "{:?}", checked.diagnostics);
        let d = &checked.diagnostics[0];
        assert_eq!(d.message, "this condition is too large");
        assert!(!d.primary.message.contains("inlin"), "{}", d.primary.message);
    });
}

#[test]
fn eight_thousand_errors_render_in_both_formats() {
    let rules: String = (0..8_000)
        .map(|i| format!("@id(\"r{i}\") permit Agent to call_tool on Tool when resource.nope{i} == 1;\n"))
        .collect();
    let (sources, checked) = check_with_schema(&rules);
    let diags = &checked.diagnostics;
    assert_eq!(diags.len(), 8_000);
    assert!(diags.iter().all(|d| d.code == codes::UNKNOWN_ATTRIBUTE));
    let human = diag::render::render(diags, &sources, false);
    assert_eq!(human.matches("[E0002] Error: ").count(), 8_000);
    // Each report shows its own line: the last rule's, near the end of the file.
    let last_line = sources.get(FILE).map(|f| f.line_col(diags[7_999].primary.span.start).line + 1).unwrap_or(0);
    assert!(human.contains(&format!("big.writ:{last_line}:")), "line {last_line}");
    assert!(human.trim_end().ends_with("───╯"));
    let json: serde_json::Value = serde_json::from_str(&diag::json::render(diags, &sources)).unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 8_000);
    assert_eq!(items[7_999]["range"]["start"]["line"].as_u64(), Some(u64::from(last_line) - 1));
}

// ------------------------------------------------------------------- fuzz reproducers

/// Inputs the `fuzz/` targets found (docs/fuzzing.md), replayed as the `parse` target does:
/// the bytes as text (invalid UTF-8 replaced), split at NUL bytes into up to four files,
/// checked, and the diagnostics rendered both ways. None may panic.
#[test]
fn parse_fuzz_reproducers_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions/parse");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        let files = fuzz_input::policy_files(&text);
        match writ::PolicySet::from_sources(&files) {
            Ok(policies) => {
                let _ = writ::Engine::interpreted(&policies);
                let _ = writ::Engine::compile(&policies);
            }
            Err(e) => {
                assert!(!e.render().is_empty(), "{}", path.display());
                let _ = e.to_string();
            }
        }
        seen += 1;
    }
    assert!(seen > 0, "no reproducers in {}", dir.display());
}

/// The minimized shape of the `parse` reproducer: a label in another file than the primary
/// one, after non-ASCII text. ariadne 0.6 located it by a character offset used as a byte
/// offset and sliced inside a character; now such a label is a note naming its position.
#[test]
fn a_label_in_another_file_after_non_ascii_text_renders() {
    for n in 1..12 {
        let first = format!("// {}\nschema {{ entity A }}\n", "€".repeat(n));
        let files = [("a.writ", first.as_str()), ("b.writ", "schema { entity A }\n")];
        let err = writ::PolicySet::from_sources(&files).unwrap_err();
        let text = err.render();
        assert!(text.contains("a.writ:2:17"), "n = {n}: the first declaration is named by position\n{text}");
    }
}
