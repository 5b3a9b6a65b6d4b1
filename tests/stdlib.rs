//! The standard library (`stdlib/*.writ`) against its own documentation.
//!
//! Every `fn` is found by parsing the files, so a new function without a test fails here:
//! it must type-check when a policy imports its module and calls it, and its `///` doc
//! comment must carry an `Example:` line. An example of the form `` `EXPR` is VALUE `` whose
//! `EXPR` uses only constants is evaluated at compile time (`writ::unstable::sema::lower_function`
//! folds a call with constant arguments to its value) and must hold. Hand-written edge
//! cases per module follow.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use writ::diag::Diagnostic;
use writ::unstable::ir::{self, Value};
use writ::unstable::syntax::ast::{self, ExprKind, Item, TypeKind};
use writ::unstable::syntax::{FileId, SourceMap};

/// One `fn` of the standard library.
struct StdFn {
    /// The module: `time` for `stdlib/time.writ`.
    module: String,
    decl: ast::FnDecl,
}

impl StdFn {
    fn qualified(&self) -> String {
        format!("{}.{}", self.module, self.decl.name.node)
    }
}

fn stdlib_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("stdlib")
}

/// Every `fn` of every `stdlib/*.writ`, in file order.
fn stdlib_fns() -> Vec<StdFn> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(stdlib_dir())
        .expect("cannot list stdlib/")
        .map(|e| e.expect("cannot read a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "writ"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no stdlib/*.writ files");
    let mut fns = Vec::new();
    for path in paths {
        let module = path.file_stem().and_then(|s| s.to_str()).expect("a UTF-8 file name").to_string();
        let text = std::fs::read_to_string(&path).expect("cannot read a stdlib file");
        let parsed = writ::unstable::syntax::parse_file(FileId(0), &text);
        assert!(parsed.diagnostics.is_empty(), "stdlib/{module}.writ does not parse cleanly: {:?}", parsed.diagnostics);
        for item in parsed.file.items {
            if let Item::Fn(f) = item {
                fns.push(StdFn { module: module.clone(), decl: *f });
            }
        }
    }
    fns
}

/// Checks a policy set given as (name, text) files with the real checker.
fn check_files(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let mut sources = SourceMap::new();
    let ids: Vec<FileId> = files.iter().map(|(name, text)| sources.add(*name, *text)).collect();
    writ::unstable::sema::check(&mut sources, &ids, &mut writ::unstable::sema::NoFiles).diagnostics
}

/// The lowered body of `fn main() -> Bool = BODY;` in a file that imports `std.MODULE`.
fn lower_main(module: &str, body: &str) -> (Option<ir::Expr>, Vec<Diagnostic>) {
    let text = format!("import std.{module}\nfn main() -> Bool = {body};\n");
    let mut sources = SourceMap::new();
    let file = sources.add("example.writ", text);
    writ::unstable::sema::lower_function(&mut sources, &[file], &mut writ::unstable::sema::NoFiles, "main")
}

/// Asserts that a constant condition about `std.MODULE` folds to `expected`.
#[track_caller]
fn assert_folds(module: &str, condition: &str, expected: bool) {
    let (body, diags) = lower_main(module, condition);
    assert!(diags.is_empty(), "`{condition}` does not check: {diags:#?}");
    let body = body.unwrap_or_else(|| panic!("`{condition}`: no lowered body"));
    assert_eq!(
        body.kind,
        ir::ExprKind::Lit(Value::Bool(expected)),
        "`{condition}` does not fold to `{expected}`: {body:#?}"
    );
}

/// Asserts that a constant condition about `std.MODULE` folds to `true`.
#[track_caller]
fn assert_holds(module: &str, condition: &str) {
    assert_folds(module, condition, true);
}

#[test]
fn every_stdlib_file_is_a_registered_module() {
    let mut on_disk: Vec<String> = std::fs::read_dir(stdlib_dir())
        .expect("cannot list stdlib/")
        .filter_map(|e| {
            let p = e.expect("cannot read a directory entry").path();
            let is_writ = p.extension().is_some_and(|x| x == "writ");
            is_writ.then(|| p.file_stem().and_then(|s| s.to_str()).map(String::from)).flatten()
        })
        .collect();
    on_disk.sort();
    let mut registered: Vec<String> = writ::unstable::sema::stdlib::names().map(String::from).collect();
    registered.sort();
    assert_eq!(on_disk, registered, "stdlib/*.writ and the modules embedded by src/sema/stdlib.rs differ");
    for name in &registered {
        let disk = std::fs::read_to_string(stdlib_dir().join(format!("{name}.writ"))).expect("cannot read");
        assert_eq!(writ::unstable::sema::stdlib::source(name), Some(disk.as_str()), "the embedded std.{name} is stale");
    }
}

// ------------------------------------------------------------------------------ (a) typing

/// A schema whose context has a field of every scalar type, for arguments.
const ARG_SCHEMA: &str = "schema {
  entity Agent
  entity Tool
  context { b: Bool, i: Int, s: String, d: Duration, t: Timestamp, a: Ip }
  action call_tool: Agent -> Tool
}
";

/// A non-constant argument expression of type `ty`, built from the context fields.
fn argument(ty: &ast::Type) -> String {
    match &ty.kind {
        TypeKind::Named(n) => match n.node.as_str() {
            "Bool" => "context.b".into(),
            "Int" => "context.i".into(),
            "String" => "context.s".into(),
            "Duration" => "context.d".into(),
            "Timestamp" => "context.t".into(),
            "Ip" => "context.a".into(),
            other => panic!("no test argument for parameter type `{other}`; extend `argument` in tests/stdlib.rs"),
        },
        TypeKind::Generic(n, args) if n.node == "Set" && args.len() == 1 => format!("[{}]", argument(&args[0])),
        other => panic!("no test argument for parameter type {other:?}; extend `argument` in tests/stdlib.rs"),
    }
}

#[test]
fn every_stdlib_fn_type_checks_when_used() {
    let fns = stdlib_fns();
    assert!(!fns.is_empty(), "the standard library has no functions");
    for f in &fns {
        let args: Vec<String> = f.decl.params.iter().map(|p| argument(&p.ty)).collect();
        let call = format!("{}({})", f.qualified(), args.join(", "));
        let policy = format!(
            "import std.{module}\n\n@id(\"uses-{name}\")\npermit Agent to call_tool on Tool\n  when {call} == {call};\n",
            module = f.module,
            name = f.decl.name.node,
        );
        let diags = check_files(&[("schema.writ", ARG_SCHEMA), ("policy.writ", &policy)]);
        assert!(diags.is_empty(), "using `{}` gives diagnostics:\n{policy}\n{diags:#?}", f.qualified());
    }
}

// ------------------------------------------------------------------------------ (b) doc examples

/// What an `Example:` line says.
#[derive(Debug, PartialEq)]
enum Example {
    /// `` `EXPR` is VALUE ``, VALUE as Writ source (`true`, `"prod.acme"`, `15m`).
    Claim { expr: String, value: String },
    /// Only shows a call (`` `time.within(context.now, …)`. ``).
    Usage { expr: String },
}

/// Parses the text after `Example:`.
fn parse_example(text: &str) -> Result<Example, String> {
    let rest = text.trim_start().strip_prefix('`').ok_or("the example does not start with a backquoted expression")?;
    let (expr, rest) = rest.split_once('`').ok_or("the example's expression has no closing backquote")?;
    let expr = expr.trim().to_string();
    let Some(rest) = rest.trim_start().strip_prefix("is ") else {
        return Ok(Example::Usage { expr });
    };
    let rest = rest.trim_start();
    let value = if let Some(quoted) = rest.strip_prefix('`') {
        quoted.split_once('`').ok_or("the example's value has no closing backquote")?.0.trim().to_string()
    } else {
        let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if word != "true" && word != "false" {
            return Err(format!("after `is`, expected `true`, `false` or a backquoted literal, found `{word}`"));
        }
        word
    };
    Ok(Example::Claim { expr, value })
}

/// True when `expr` uses only constants: literals, constructors, methods, and the functions
/// of `module` (called as `module.f(…)`), with no request value and no free name.
fn is_constant(expr: &ast::Expr, module: &str, bound: &mut Vec<String>) -> bool {
    match &expr.kind {
        ExprKind::Var(name) => bound.contains(name),
        ExprKind::Action | ExprKind::Context | ExprKind::Intent | ExprKind::Error => false,
        ExprKind::Method(base, _, args) if matches!(&base.kind, ExprKind::Var(m) if m == module && !bound.contains(m)) => {
            args.iter().all(|a| is_constant(a, module, bound))
        }
        ExprKind::Call(name, args) => {
            ["timestamp", "ip", "duration"].contains(&name.node.as_str())
                && args.iter().all(|a| is_constant(a, module, bound))
        }
        ExprKind::Quant(_, var, set, body) => {
            if !is_constant(set, module, bound) {
                return false;
            }
            bound.push(var.node.clone());
            let ok = is_constant(body, module, bound);
            bound.pop();
            ok
        }
        kind => {
            let mut ok = true;
            kind.for_each_child(|c| ok &= is_constant(c, module, bound));
            ok
        }
    }
}

/// The text after `Example:` in a doc comment (joined with the lines after it).
fn example_text(doc: &str) -> Option<String> {
    let lines: Vec<&str> = doc.lines().collect();
    let at = lines.iter().position(|l| l.trim_start().starts_with("Example:"))?;
    let first = lines[at].trim_start().strip_prefix("Example:").unwrap_or_default();
    let mut text = first.to_string();
    for more in &lines[at + 1..] {
        text.push(' ');
        text.push_str(more.trim());
    }
    Some(text)
}

/// What became of the doc examples of the standard library.
#[derive(Default)]
struct ExampleReport {
    total: usize,
    /// Constant claims that fold to `true`.
    holds: Vec<String>,
    /// Not checkable: no `is VALUE`, or the expression uses request values.
    skipped: Vec<String>,
    /// Constant claims the checker did not fold to a literal.
    unfolded: Vec<String>,
    /// Missing or malformed examples, claims that are false or do not check.
    problems: Vec<String>,
}

fn check_examples() -> ExampleReport {
    let fns = stdlib_fns();
    let mut report = ExampleReport { total: fns.len(), ..ExampleReport::default() };
    for f in &fns {
        let name = f.qualified();
        let Some(text) = f.decl.doc.as_deref().and_then(example_text) else {
            report.problems.push(format!("`{name}`: its `///` doc comment has no `Example:` line"));
            continue;
        };
        let (expr, value) = match parse_example(&text) {
            Ok(Example::Claim { expr, value }) => (expr, value),
            Ok(Example::Usage { .. }) => {
                report.skipped.push(format!("{name} (no `is VALUE`)"));
                continue;
            }
            Err(why) => {
                report.problems.push(format!("`{name}`: malformed example `{text}`: {why}"));
                continue;
            }
        };
        if !expr.contains(&name) {
            report.problems.push(format!("`{name}`: the example does not call it: `{expr}`"));
            continue;
        }
        let (parsed, diags) = writ::unstable::syntax::parse_expr(FileId(0), &expr);
        let Some(parsed) = parsed.filter(|_| diags.is_empty()) else {
            report.problems.push(format!("`{name}`: the example `{expr}` does not parse: {diags:?}"));
            continue;
        };
        if !is_constant(&parsed, &f.module, &mut Vec::new()) {
            report.skipped.push(format!("{name} (not constant: `{expr}`)"));
            continue;
        }
        let (body, diags) = lower_main(&f.module, &format!("({expr}) == ({value})"));
        match body.map(|b| b.kind) {
            Some(ir::ExprKind::Lit(Value::Bool(true))) if diags.is_empty() => report.holds.push(name),
            Some(ir::ExprKind::Lit(Value::Bool(false))) if diags.is_empty() => {
                report.problems.push(format!("`{name}`: the example `{expr}` is {value} does not hold"));
            }
            Some(_) if diags.is_empty() => report.unfolded.push(format!("{name}: `{expr}`")),
            _ => report.problems.push(format!("`{name}`: the example `{expr}` is {value} does not check: {diags:#?}")),
        }
    }
    report
}

#[test]
fn every_stdlib_fn_has_an_example_and_constant_examples_hold() {
    let r = check_examples();
    assert!(r.problems.is_empty(), "{} problem(s) with stdlib examples:\n{}", r.problems.len(), r.problems.join("\n"));
    // At least 80% of the functions must have an example that is actually checked.
    assert!(
        r.holds.len() * 5 >= r.total * 4,
        "only {} of {} stdlib functions have a checked example; skipped: {}; not folded: {}",
        r.holds.len(),
        r.total,
        r.skipped.join(", "),
        r.unfolded.join(", ")
    );
}

/// `lower_function` promises that a stdlib call with constant arguments folds to its value;
/// calls whose body has a quantifier do not (`any r in [ip(…)]: …` stays a `Quant` node).
#[test]
fn every_constant_example_folds() {
    let r = check_examples();
    assert!(r.unfolded.is_empty(), "constant examples that did not fold:\n{}", r.unfolded.join("\n"));
}

#[test]
fn example_parsing() {
    assert_eq!(
        parse_example(" `net.is_private(ip(\"10.1.2.3\"))` is true."),
        Ok(Example::Claim { expr: "net.is_private(ip(\"10.1.2.3\"))".into(), value: "true".into() })
    );
    assert_eq!(
        parse_example(" `time.age(a, b)` is `15m`."),
        Ok(Example::Claim { expr: "time.age(a, b)".into(), value: "15m".into() })
    );
    assert_eq!(
        parse_example(" `identity.trust_domain(x)` is `\"prod.acme\"`."),
        Ok(Example::Claim { expr: "identity.trust_domain(x)".into(), value: "\"prod.acme\"".into() })
    );
    assert_eq!(
        parse_example(" `time.fresh(issued, context.now, 10m)`."),
        Ok(Example::Usage { expr: "time.fresh(issued, context.now, 10m)".into() })
    );
    assert!(parse_example(" `x` is maybe").is_err());
    assert!(parse_example(" no backquotes").is_err());

    let constant = |src: &str| {
        let (e, d) = writ::unstable::syntax::parse_expr(FileId(0), src);
        assert!(d.is_empty(), "{d:?}");
        is_constant(&e.expect("parses"), "net", &mut Vec::new())
    };
    assert!(constant("net.in_any_range(ip(\"10.1.2.3\"), [ip(\"10.0.0.0/8\")])"));
    assert!(constant("any r in [ip(\"10.0.0.0/8\")]: ip(\"10.1.2.3\").in_range(r)"));
    assert!(!constant("net.is_private(context.source_ip)"));
    assert!(!constant("net.is_private(addr)"));
    assert!(!constant("helper(ip(\"10.1.2.3\"))"));
    assert!(!constant("other.is_private(ip(\"10.1.2.3\"))"));
}

/// The example check can fail: a wrong value folds to `false`, and so does a wrong claim.
#[test]
fn a_wrong_example_is_caught() {
    let age = r#"time.age(timestamp("2026-11-23T10:00:00Z"), timestamp("2026-11-23T10:15:00Z"))"#;
    assert_folds("time", &format!("({age}) == (15m)"), true);
    assert_folds("time", &format!("({age}) == (14m)"), false);
    let domain = r#"identity.trust_domain("spiffe://prod.acme/ns/support/sa/bot")"#;
    assert_folds("identity", &format!(r#"({domain}) == ("prod.acme")"#), true);
    assert_folds("identity", &format!(r#"({domain}) == ("prod")"#), false);
    assert_folds("net", r#"(net.is_private(ip("8.8.8.8"))) == (true)"#, false);
}

// ------------------------------------------------------------------------------ edge cases

#[test]
fn time_edge_cases() {
    let t = "time";
    // 2026-11-23 is a Monday; 2026-11-27 a Friday, 2026-11-28 a Saturday, 2026-11-29 a Sunday.
    assert_holds(t, r#"time.business_hours(timestamp("2026-11-23T09:00:00Z"))"#);
    assert_holds(t, r#"time.business_hours(timestamp("2026-11-27T16:59:59Z"))"#);
    assert_holds(t, r#"not time.business_hours(timestamp("2026-11-23T08:59:59Z"))"#);
    assert_holds(t, r#"not time.business_hours(timestamp("2026-11-23T17:00:00Z"))"#);
    assert_holds(t, r#"not time.business_hours(timestamp("2026-11-28T10:00:00Z"))"#);
    assert_holds(t, r#"not time.business_hours(timestamp("2026-11-29T10:00:00Z"))"#);
    // Times carry an offset: 10:15+02:00 is 08:15 UTC, before the window.
    assert_holds(t, r#"not time.business_hours(timestamp("2026-11-23T10:15:00+02:00"))"#);

    // A window that wraps midnight, and one that does not; start inclusive, end exclusive.
    assert_holds(t, r#"time.hours_between(timestamp("2026-11-23T22:00:00Z"), 22, 6)"#);
    assert_holds(t, r#"time.hours_between(timestamp("2026-11-24T03:00:00Z"), 22, 6)"#);
    assert_holds(t, r#"time.hours_between(timestamp("2026-11-24T00:00:00Z"), 22, 6)"#);
    assert_holds(t, r#"not time.hours_between(timestamp("2026-11-24T06:00:00Z"), 22, 6)"#);
    assert_holds(t, r#"not time.hours_between(timestamp("2026-11-24T12:00:00Z"), 22, 6)"#);
    assert_holds(t, r#"time.hours_between(timestamp("2026-11-24T09:00:00Z"), 9, 17)"#);
    assert_holds(t, r#"not time.hours_between(timestamp("2026-11-24T17:00:00Z"), 9, 17)"#);
    // An empty window never holds.
    assert_holds(t, r#"not time.hours_between(timestamp("2026-11-24T09:30:00Z"), 9, 9)"#);

    assert_holds(t, r#"time.is_weekend(timestamp("2026-11-29T23:59:59Z"))"#);
    assert_holds(t, r#"not time.is_weekend(timestamp("2026-11-27T23:59:59Z"))"#);
    assert_holds(t, r#"time.is_weekday(timestamp("2026-11-27T23:59:59Z"))"#);
    assert_holds(t, r#"not time.is_weekday(timestamp("2026-11-28T00:00:00Z"))"#);
    // The Unix epoch was a Thursday.
    assert_holds(t, r#"time.is_weekday(timestamp("1970-01-01T00:00:00Z"))"#);

    // `within` is [start, end).
    let (a, b) = (r#"timestamp("2026-11-23T08:00:00Z")"#, r#"timestamp("2026-11-23T18:00:00Z")"#);
    assert_holds(t, &format!("time.within({a}, {a}, {b})"));
    assert_holds(t, &format!("not time.within({b}, {a}, {b})"));
    assert_holds(t, &format!("not time.within({a}, {b}, {a})"));

    // `age` is negative for a time in the future; `fresh` rejects the future.
    let (t0, t1) = (r#"timestamp("2026-11-23T10:00:00Z")"#, r#"timestamp("2026-11-23T10:15:00Z")"#);
    assert_holds(t, &format!("time.age({t1}, {t0}) == -15m"));
    assert_holds(t, &format!("time.age({t0}, {t0}) == 0ms"));
    assert_holds(t, &format!("time.fresh({t0}, {t1}, 15m)"));
    assert_holds(t, &format!("not time.fresh({t0}, {t1}, 14m)"));
    assert_holds(t, &format!("not time.fresh({t1}, {t0}, 1h)"));
}

#[test]
fn net_edge_cases() {
    let n = "net";
    // The borders of 172.16.0.0/12.
    assert_holds(n, r#"net.is_private(ip("172.16.0.1"))"#);
    assert_holds(n, r#"net.is_private(ip("172.31.255.255"))"#);
    assert_holds(n, r#"not net.is_private(ip("172.32.0.1"))"#);
    assert_holds(n, r#"not net.is_private(ip("8.8.8.8"))"#);
    assert_holds(n, r#"net.is_private(ip("fd12:3456::1"))"#);
    assert_holds(n, r#"net.is_loopback(ip("127.255.255.254"))"#);
    assert_holds(n, r#"net.is_loopback(ip("::1"))"#);
    assert_holds(n, r#"not net.is_loopback(ip("10.0.0.1"))"#);
    assert_holds(n, r#"net.is_internal(ip("::1")) and net.is_internal(ip("10.0.0.1"))"#);
    assert_holds(n, r#"not net.is_internal(ip("203.0.113.7"))"#);
}

#[test]
fn net_range_edge_cases() {
    let n = "net";
    // Empty sets: no range contains the address, so it is outside all of them.
    assert_holds(n, r#"not net.in_any_range(ip("10.1.2.3"), [])"#);
    assert_holds(n, r#"net.outside_ranges(ip("10.1.2.3"), [])"#);
    assert_holds(n, r#"not net.outside_ranges(ip("10.1.2.3"), [ip("192.168.0.0/16"), ip("10.0.0.0/8")])"#);
    // IPv6 ranges, and no IPv4 address is in an IPv6 range.
    assert_holds(n, r#"net.in_any_range(ip("2001:db8::1"), [ip("2001:db8::/32")])"#);
    assert_holds(n, r#"not net.in_any_range(ip("10.1.2.3"), [ip("::/0")])"#);
}

#[test]
fn identity_edge_cases() {
    let i = "identity";
    let bot = r#""spiffe://prod.acme/ns/support/sa/bot""#;
    // `segment` counts from 0; out of range (or negative) gives "".
    assert_holds(i, &format!(r#"identity.segment({bot}, 0) == "ns""#));
    assert_holds(i, &format!(r#"identity.segment({bot}, 3) == "bot""#));
    assert_holds(i, &format!(r#"identity.segment({bot}, 4) == """#));
    assert_holds(i, &format!(r#"identity.segment({bot}, 100) == """#));
    assert_holds(i, &format!(r#"identity.segment({bot}, -1) == """#));
    assert_holds(i, r#"identity.segment("https://prod.acme/ns/support", 0) == """#);
    // Not SPIFFE IDs.
    assert_holds(i, r#"not identity.is_spiffe("https://prod.acme/ns/support")"#);
    assert_holds(i, r#"not identity.is_spiffe("spiffe://")"#);
    assert_holds(i, r#"not identity.is_spiffe("spiffe:///ns/support")"#);
    assert_holds(i, r#"identity.trust_domain("https://prod.acme/x") == """#);
    // A trust domain alone, with no path.
    assert_holds(i, r#"identity.is_spiffe("spiffe://prod.acme")"#);
    assert_holds(i, r#"identity.trust_domain("spiffe://prod.acme") == "prod.acme""#);
    assert_holds(i, r#"identity.path("spiffe://prod.acme") == """#);
    // A look-alike trust domain is another trust domain.
    assert_holds(i, r#"not identity.in_trust_domain("spiffe://prod.acme.evil/ns/x", "prod.acme")"#);
    assert_holds(i, r#"not identity.in_trust_domain("spiffe://evil/prod.acme", "prod.acme")"#);
    // Paths that are not `ns/NAMESPACE/sa/ACCOUNT`.
    assert_holds(i, r#"identity.namespace("spiffe://prod.acme/team/support/sa/bot") == """#);
    assert_holds(i, r#"identity.service_account("spiffe://prod.acme/ns/support/user/bot") == """#);
    assert_holds(i, r#"identity.service_account("spiffe://prod.acme/ns/support") == """#);
    // Globs: `*` spans `/`, and the pattern must match the whole ID.
    assert_holds(i, r#"identity.matches("spiffe://prod.acme/ns/ci/sa/deployer", "spiffe://prod.acme/*/deployer")"#);
    assert_holds(i, r#"not identity.matches("spiffe://prod.acme/ns/ci/sa/deployer", "spiffe://prod.acme/ns/ci")"#);
    assert_holds(i, r#"identity.matches("spiffe://prod.acme/a*b", "spiffe://prod.acme/a\\*b")"#);
    assert_holds(i, r#"not identity.matches("spiffe://prod.acme/aXb", "spiffe://prod.acme/a\\*b")"#);
}
