//! The JIT's fast JSON path (`Engine::decide_json` decoding request text straight into machine
//! words, `src/jit/decode.rs`) against the ordinary decoder, on mutated request texts.
//!
//! Every request shipped under `examples/` (and the requests of a small policy set below whose
//! context has a field of every type, sets included) is mutated in several hundred ways — key
//! orders, whitespace, escapes, numbers, duplicate and unknown keys, nulls, inline entities,
//! wrong types, delegation chains, odd strings, timestamps, durations and IPs, trailing commas,
//! deep nesting, truncation, trailing garbage — plus seeded random byte edits. For every text:
//!
//! * the JIT engine and the reference interpreter (which always decodes the ordinary way)
//!   decide identically;
//! * the fast path never takes a text the ordinary decoder rejects;
//! * where the mutation keeps the request in the fast path's shape (no escapes, duplicate keys,
//!   inline entities or `context` before `action`), the fast path takes it whenever the
//!   ordinary decoder accepts it; where it adds an escape, a duplicate key or an unusual
//!   number, the fast path gives up;
//! * where the fast path takes a text, the JIT engine decides it as it decides the request
//!   `Engine::request_from_json` decodes from the same text.
//!
//! Each test prints how many texts it compared and how many took the fast path;
//! `WRIT_FAST_JSON_REPORTS=N` prints up to N failure reports (default 8).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "common/mod.rs"]
mod common;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;
use writ::{Backend, Engine, Entities, PolicySet};

/// Detailed reports printed at most per test (every failure is counted);
/// `WRIT_FAST_JSON_REPORTS=N` prints up to N instead.
const MAX_REPORTS: usize = 8;
/// Random byte mutations per request (a few thousand per example).
const RANDOM_PER_REQUEST: usize = 200;
/// Mixed with the example's and request's names into each request's seed.
const RANDOM_SEED: u64 = 0x5752_4954_4a53_4f4e;
/// The requests of an example after its first take every `THIN`th structural mutation.
const THIN: usize = 3;

fn max_reports() -> usize {
    std::env::var("WRIT_FAST_JSON_REPORTS").ok().and_then(|v| v.parse().ok()).unwrap_or(MAX_REPORTS)
}

// ---------------------------------------------------------------------------------------------
// An order-preserving JSON tree (serde_json's `Value` sorts keys), parsed by serde_json.

/// An object's members.
type Members = Vec<(String, J)>;

#[derive(Clone, Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
    Arr(Vec<J>),
    /// Members in order; a key may repeat. A key starting with `\0` is written as is (the
    /// rest of it, quotes included).
    Obj(Vec<(String, J)>),
    /// Text written as is: a malformed number, an escaped string, …
    Raw(String),
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<J, E> {
        Ok(J::Bool(b))
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<J, E> {
        Ok(J::Num(n.to_string()))
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<J, E> {
        Ok(J::Num(n.to_string()))
    }
    fn visit_f64<E: de::Error>(self, n: f64) -> Result<J, E> {
        Ok(J::Num(serde_json::Number::from_f64(n).map_or_else(|| "null".to_string(), |n| n.to_string())))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<J, E> {
        Ok(J::Str(s.to_owned()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<J, E> {
        Ok(J::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(J::Arr(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<J, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = a.next_entry::<String, J>()? {
            v.push((k, x));
        }
        Ok(J::Obj(v))
    }
}

fn parse(text: &str) -> J {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"))
}

fn s(x: &str) -> J {
    J::Str(x.to_owned())
}

fn raw(x: impl Into<String>) -> J {
    J::Raw(x.into())
}

fn obj(members: &[(&str, J)]) -> J {
    J::Obj(members.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect())
}

fn eref(ty: &str, id: &str) -> J {
    obj(&[("type", s(ty)), ("id", s(id))])
}

impl J {
    fn members(&self) -> &[(String, J)] {
        match self {
            J::Obj(m) => m,
            _ => &[],
        }
    }
    fn members_mut(&mut self) -> &mut Vec<(String, J)> {
        match self {
            J::Obj(m) => m,
            other => panic!("not an object: {other:?}"),
        }
    }
    /// The last member `k`, as the ordinary decoder reads it.
    fn get(&self, k: &str) -> Option<&J> {
        self.members().iter().rev().find(|(x, _)| x == k).map(|(_, v)| v)
    }
    fn pos(&self, k: &str) -> Option<usize> {
        self.members().iter().position(|(x, _)| x == k)
    }
    fn str(&self) -> Option<&str> {
        match self {
            J::Str(x) => Some(x),
            _ => None,
        }
    }
    /// A copy with member `k` set to `v` (in place if present, else appended).
    fn with(&self, k: &str, v: J) -> J {
        let mut c = self.clone();
        let m = c.members_mut();
        match m.iter_mut().find(|(x, _)| x == k) {
            Some(e) => e.1 = v,
            None => m.push((k.to_owned(), v)),
        }
        c
    }
    fn without(&self, k: &str) -> J {
        let mut c = self.clone();
        c.members_mut().retain(|(x, _)| x != k);
        c
    }
    /// A copy with member `k` (and a value) pushed at the end, even if `k` is already there.
    fn pushed(&self, k: &str, v: J) -> J {
        let mut c = self.clone();
        c.members_mut().push((k.to_owned(), v));
        c
    }
    fn inserted(&self, at: usize, k: &str, v: J) -> J {
        let mut c = self.clone();
        let m = c.members_mut();
        m.insert(at.min(m.len()), (k.to_owned(), v));
        c
    }
    fn is_ref(&self) -> bool {
        let m = self.members();
        m.len() == 2 && self.get("type").and_then(J::str).is_some() && self.get("id").and_then(J::str).is_some()
    }
}

/// Every node's path (member or element positions), in pre-order, the root first.
fn paths(j: &J) -> Vec<Vec<usize>> {
    fn walk(j: &J, here: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        out.push(here.clone());
        let kids: Vec<&J> = match j {
            J::Arr(v) => v.iter().collect(),
            J::Obj(m) => m.iter().map(|(_, v)| v).collect(),
            _ => Vec::new(),
        };
        for (i, k) in kids.into_iter().enumerate() {
            here.push(i);
            walk(k, here, out);
            here.pop();
        }
    }
    let mut out = Vec::new();
    walk(j, &mut Vec::new(), &mut out);
    out
}

fn node<'a>(j: &'a J, path: &[usize]) -> &'a J {
    path.iter().fold(j, |j, &i| match j {
        J::Arr(v) => &v[i],
        J::Obj(m) => &m[i].1,
        _ => panic!("no node at {path:?}"),
    })
}

fn node_mut<'a>(j: &'a mut J, path: &[usize]) -> &'a mut J {
    path.iter().fold(j, |j, &i| match j {
        J::Arr(v) => &mut v[i],
        J::Obj(m) => &mut m[i].1,
        _ => panic!("no node"),
    })
}

fn replaced(j: &J, path: &[usize], v: J) -> J {
    let mut c = j.clone();
    *node_mut(&mut c, path) = v;
    c
}

/// Applies `f` to every object of the tree, bottom-up.
fn map_objects(j: &J, f: &dyn Fn(Members) -> Members) -> J {
    match j {
        J::Arr(v) => J::Arr(v.iter().map(|x| map_objects(x, f)).collect()),
        J::Obj(m) => J::Obj(f(m.iter().map(|(k, v)| (k.clone(), map_objects(v, f))).collect())),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Writing JSON text.

#[derive(Clone, Copy, Debug)]
enum Style {
    Compact,
    Pretty,
    /// This text before every token and after the last.
    Ws(&'static str),
}

const STYLES: [Style; 4] = [Style::Compact, Style::Pretty, Style::Ws(" "), Style::Ws("\n\t")];

/// The inside of a string literal, escaping only what JSON requires.
fn lit_inner(x: &str) -> String {
    let mut o = String::with_capacity(x.len());
    for c in x.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o
}

fn lit(x: &str) -> String {
    format!("\"{}\"", lit_inner(x))
}

fn render(j: &J, st: Style) -> String {
    let mut o = String::new();
    if let Style::Ws(w) = st {
        o.push_str(w);
    }
    write(j, st, 0, &mut o);
    o
}

fn tok(o: &mut String, st: Style, t: &str) {
    o.push_str(t);
    if let Style::Ws(w) = st {
        o.push_str(w);
    }
}

fn newline(o: &mut String, st: Style, indent: usize) {
    if let Style::Pretty = st {
        o.push('\n');
        o.push_str(&"  ".repeat(indent));
    }
}

fn write(j: &J, st: Style, indent: usize, o: &mut String) {
    match j {
        J::Null => tok(o, st, "null"),
        J::Bool(b) => tok(o, st, if *b { "true" } else { "false" }),
        J::Num(n) | J::Raw(n) => tok(o, st, n),
        J::Str(x) => tok(o, st, &lit(x)),
        J::Arr(v) => {
            tok(o, st, "[");
            for (i, x) in v.iter().enumerate() {
                if i > 0 {
                    tok(o, st, ",");
                }
                newline(o, st, indent + 1);
                write(x, st, indent + 1, o);
            }
            if !v.is_empty() {
                newline(o, st, indent);
            }
            tok(o, st, "]");
        }
        J::Obj(m) => {
            tok(o, st, "{");
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    tok(o, st, ",");
                }
                newline(o, st, indent + 1);
                match k.strip_prefix('\0') {
                    Some(r) => tok(o, st, r),
                    None => tok(o, st, &lit(k)),
                }
                tok(o, st, if matches!(st, Style::Pretty) { ": " } else { ":" });
                write(x, st, indent + 1, o);
            }
            if !m.is_empty() {
                newline(o, st, indent);
            }
            tok(o, st, "}");
        }
    }
}

fn compact(j: &J) -> String {
    render(j, Style::Compact)
}

// ---------------------------------------------------------------------------------------------
// What the fast path should do with a text.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Only that the back ends agree (and no fast path for a text the ordinary decoder rejects).
    Any,
    /// The fast path takes the text exactly when the ordinary decoder accepts it.
    NativeIfOk,
    /// The fast path gives up.
    Fallback,
}

/// Whether a string needs an escape in JSON.
fn needs_escape(x: &str) -> bool {
    x.chars().any(|c| c == '"' || c == '\\' || (c as u32) < 0x20)
}

/// The expectation for a tree: the fast path's shape (`NativeIfOk`) unless it has escapes,
/// duplicate keys, inline entities or a `context` before the `action`; `Any` with raw text.
fn auto_expect(j: &J) -> Expect {
    fn walk(j: &J, fallback: &mut bool, raw: &mut bool) {
        match j {
            J::Raw(_) => *raw = true,
            J::Str(x) => *fallback |= needs_escape(x),
            J::Arr(v) => v.iter().for_each(|x| walk(x, fallback, raw)),
            J::Obj(m) => {
                for (i, (k, v)) in m.iter().enumerate() {
                    *raw |= k.starts_with('\0');
                    *fallback |= needs_escape(k) || m[..i].iter().any(|(k2, _)| k2 == k);
                    walk(v, fallback, raw);
                }
            }
            _ => {}
        }
    }
    let (mut fallback, mut raw) = (false, false);
    walk(j, &mut fallback, &mut raw);
    if raw {
        return Expect::Any;
    }
    if fallback {
        return Expect::Fallback;
    }
    if let J::Obj(_) = j {
        match j.get("entities") {
            None | Some(J::Null) => {}
            Some(J::Arr(v)) if v.is_empty() => {}
            Some(_) => return Expect::Fallback,
        }
        if let Some(c) = j.pos("context") {
            if j.pos("action").is_none_or(|a| c < a) {
                return Expect::Fallback;
            }
        }
    }
    Expect::NativeIfOk
}

// ---------------------------------------------------------------------------------------------
// Examples and checking.

struct Req {
    name: String,
    text: String,
    j: J,
}

impl Req {
    /// The expectation for the text as written (`auto_expect` sees no escapes in the tree).
    fn expect(&self) -> Expect {
        if self.text.contains('\\') { Expect::Fallback } else { auto_expect(&self.j) }
    }
}

struct Example {
    name: String,
    jit: Engine,
    interp: Engine,
    ej: Entities,
    ei: Entities,
    requests: Vec<Req>,
    /// Every stored entity, as written in the entities file.
    stored: Vec<J>,
    actions: Vec<String>,
    intents: Vec<String>,
    entity_types: Vec<String>,
    /// Entity types that are a principal of some action.
    principal_types: Vec<String>,
}

impl Example {
    fn new(name: &str, policies: &PolicySet, ents: &str, requests: Vec<(String, String)>) -> Example {
        let jit = Engine::compile(policies).unwrap();
        assert_eq!(jit.backend(), Backend::Jit, "this machine is supported by Cranelift");
        let interp = Engine::interpreted(policies);
        let ej = jit.entities_from_json(ents).unwrap();
        let ei = interp.entities_from_json(ents).unwrap();
        // `check` tells a rejected request by this rule name in the decision's errors.
        assert!(policies.ir().rules.iter().all(|r| &*r.id != "bad-request"), "{name}: a rule named `bad-request`");
        let schema = &policies.ir().schema;
        let actions = schema.actions.iter().map(|a| a.name.clone()).collect();
        let intents = schema.intents.iter().map(|i| i.name.clone()).collect();
        let entity_types = schema.entities.iter().map(|e| e.name.clone()).collect();
        let mut principal_types: Vec<String> =
            schema.actions.iter().flat_map(|a| &a.principals).map(|t| schema.entity_name(*t).to_owned()).collect();
        principal_types.sort();
        principal_types.dedup();
        let stored = match parse(ents) {
            J::Arr(v) => v,
            other => panic!("entities are an array: {other:?}"),
        };
        let requests = requests.into_iter().map(|(name, text)| Req { name, j: parse(&text), text }).collect();
        Example {
            name: name.to_owned(),
            jit,
            interp,
            ej,
            ei,
            requests,
            stored,
            actions,
            intents,
            entity_types,
            principal_types,
        }
    }

    /// Stored entities as references, of the given types (all if `None`).
    fn refs(&self, types: Option<&[String]>) -> Vec<J> {
        self.stored
            .iter()
            .filter(|e| types.is_none_or(|ts| ts.iter().any(|t| e.get("type").and_then(J::str) == Some(t))))
            .map(|e| obj(&[("type", e.get("type").unwrap().clone()), ("id", e.get("id").unwrap().clone())]))
            .collect()
    }
}

/// The shipped examples, then the set-typed policy set of this file; built once.
fn examples() -> &'static [Example] {
    static EXAMPLES: OnceLock<Vec<Example>> = OnceLock::new();
    EXAMPLES.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let mut dirs: Vec<_> =
            std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
        dirs.sort();
        let mut out: Vec<Example> = dirs
            .iter()
            .map(|dir| {
                let policies = PolicySet::load(dir).unwrap();
                let ents = std::fs::read_to_string(dir.join("entities.json")).unwrap_or_else(|_| "[]".into());
                let reqs = common::example_requests(dir)
                    .into_iter()
                    .map(|p| {
                        (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
                    })
                    .collect();
                Example::new(&dir.file_name().unwrap().to_string_lossy(), &policies, &ents, reqs)
            })
            .collect();
        assert!(out.len() >= 6, "only {} examples", out.len());
        out.push(typed_example());
        out.push(many_names_example());
        out
    })
}

#[derive(Default)]
struct Tally {
    compared: usize,
    native: usize,
    failures: usize,
    reports: Vec<String>,
}

impl Tally {
    fn add(&mut self, o: Tally) {
        self.compared += o.compared;
        self.native += o.native;
        self.failures += o.failures;
        self.reports.extend(o.reports);
    }

    /// Reports the counts; fails on any failure, or if fewer than `min_native` texts took the
    /// fast path.
    fn finish(self, test: &str, started: Instant, min_native: usize) {
        eprintln!(
            "{test}: {} texts compared, {} on the fast path, {} failures, {:.2?}",
            self.compared,
            self.native,
            self.failures,
            started.elapsed()
        );
        assert!(
            self.failures == 0,
            "{} failure(s) in {} texts; the first ones:\n\n{}",
            self.failures,
            self.compared,
            self.reports.join("\n\n")
        );
        assert!(self.compared > 500, "{test}: only {} texts compared", self.compared);
        assert!(self.native >= min_native, "{test}: only {} texts on the fast path", self.native);
    }
}

fn shorten(text: &str) -> String {
    if text.len() <= 1500 {
        return text.to_owned();
    }
    let mut end = 1500;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &text[..end], text.len())
}

/// Decides `text` on both back ends and checks the decisions agree and the fast path did
/// what `expect` says; returns whether the fast path took the text.
fn check(ex: &Example, t: &mut Tally, what: &str, text: &str, expect: Expect) -> bool {
    let a = ex.jit.decide_json(text, &ex.ej);
    let b = ex.interp.decide_json(text, &ex.ei);
    let native = ex.jit.decides_json_natively(text, &ex.ej);
    t.compared += 1;
    t.native += usize::from(native);
    let mut problems = Vec::new();
    if a != b {
        problems.push("the back ends disagree");
    }
    if native || expect == Expect::NativeIfOk {
        // Whether the ordinary decoder accepts the text (no rule is named `bad-request`).
        let ok = !b.errors.iter().any(|e| &*e.rule == "bad-request");
        if native && !ok {
            problems.push("the fast path took a text the ordinary decoder rejects");
        }
        if expect == Expect::NativeIfOk && ok && !native {
            problems.push("the fast path gave up on a text of its shape");
        }
    }
    if expect == Expect::Fallback && native {
        problems.push("the fast path took a text it should give up on");
    }
    if native {
        // The JIT engine's own ordinary decoding of the same text (a `Frame` built from the
        // decoded request): the fast path must lay the request out the same way.
        match ex.jit.request_from_json(text, &ex.ej) {
            Ok(r) if ex.jit.decide(&r) == a => {}
            Ok(_) => problems.push("the fast path and the JIT's ordinary decoding decide differently"),
            Err(_) => problems.push("the fast path took a text the JIT's ordinary decoder rejects"),
        }
    }
    if !problems.is_empty() {
        t.failures += 1;
        if t.reports.len() < max_reports() {
            t.reports.push(format!(
                "{} / {what}: {} (fast path: {native})\ntext: {}\nJIT: {}\ninterpreter: {}",
                ex.name,
                problems.join("; "),
                shorten(text),
                serde_json::to_string_pretty(&a).unwrap(),
                serde_json::to_string_pretty(&b).unwrap()
            ));
        }
    }
    native
}

struct Case {
    what: String,
    text: String,
    expect: Expect,
}

/// Collects cases; trees are written in the styles of `STYLES` in turn.
#[derive(Default)]
struct Cases {
    v: Vec<Case>,
    turn: usize,
    /// `Some(k)`: keep only the cases whose number is `k` modulo `THIN` (the light requests of
    /// an example take every third case, in turn: together they still take each kind).
    thin: Option<usize>,
    offered: usize,
}

impl Cases {
    fn keep(&mut self) -> bool {
        self.offered += 1;
        self.thin.is_none_or(|k| self.offered % THIN == k)
    }
    fn text(&mut self, what: impl Into<String>, text: impl Into<String>, expect: Expect) {
        if self.keep() {
            self.v.push(Case { what: what.into(), text: text.into(), expect });
        }
    }
    /// A tree, with the expectation of `auto_expect`.
    fn j(&mut self, what: impl Into<String>, j: &J) {
        self.j_as(what, j, auto_expect(j));
    }
    fn j_as(&mut self, what: impl Into<String>, j: &J, expect: Expect) {
        let st = STYLES[self.turn % STYLES.len()];
        self.turn += 1;
        if self.keep() {
            self.v.push(Case { what: what.into(), text: render(j, st), expect });
        }
    }
}

fn run_cases(ex: &Example, cases: Vec<Case>, t: &mut Tally) {
    for c in cases {
        check(ex, t, &c.what, &c.text, c.expect);
    }
}

/// Runs `f` on every request of every example (its index among the example's requests), on
/// two threads taking the next request as they go.
fn each_request(f: impl Fn(&Example, usize, &mut Tally) + Sync) -> Tally {
    let work: Vec<(&Example, usize)> =
        examples().iter().flat_map(|ex| (0..ex.requests.len()).map(move |i| (ex, i))).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut total = Tally::default();
    let tallies: Vec<Tally> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| {
                    let mut t = Tally::default();
                    while let Some(&(ex, i)) = work.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed)) {
                        f(ex, i, &mut t);
                    }
                    t
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for t in tallies {
        total.add(t);
    }
    total
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// `\uXXXX` for a character (a surrogate pair beyond the BMP).
fn esc_char(c: char, upper: bool) -> String {
    let mut buf = [0u16; 2];
    c.encode_utf16(&mut buf).iter().map(|u| if upper { format!("\\u{u:04X}") } else { format!("\\u{u:04x}") }).collect()
}

/// String literals for `x` with escapes in them; each is `x` or decodes to something else.
fn escaped_literals(x: &str) -> Vec<(String, String)> {
    let chars: Vec<char> = x.chars().collect();
    let mut out = Vec::new();
    let at = |i: usize, upper: bool| -> String {
        let (pre, post): (String, String) = (chars[..i].iter().collect(), chars[i + 1..].iter().collect());
        format!("\"{}{}{}\"", lit_inner(&pre), esc_char(chars[i], upper), lit_inner(&post))
    };
    if !chars.is_empty() {
        out.push(("first character escaped".into(), at(0, false)));
        out.push(("last character escaped".into(), at(chars.len() - 1, true)));
        out.push(("middle character escaped".into(), at(chars.len() / 2, false)));
        let all: String = chars.iter().map(|c| esc_char(*c, false)).collect();
        out.push(("every character escaped".into(), format!("\"{all}\"")));
    }
    if x.contains('/') {
        out.push(("`\\/` for `/`".into(), format!("\"{}\"", lit_inner(x).replace('/', "\\/"))));
    }
    let mid = chars.len() / 2;
    let (pre, post): (String, String) = (chars[..mid].iter().collect(), chars[mid..].iter().collect());
    for (name, e) in [
        ("`\\/` inserted", "\\/"),
        ("`\\\"` inserted", "\\\""),
        ("`\\\\` inserted", "\\\\"),
        ("`\\n` inserted", "\\n"),
        ("`\\t\\b\\f\\r` inserted", "\\t\\b\\f\\r"),
        ("`\\u0000` inserted", "\\u0000"),
        ("`\\u00e9` inserted", "\\u00e9"),
        ("surrogate pair inserted", "\\ud83d\\ude00"),
        ("lone surrogate inserted", "\\ud800"),
        ("lone low surrogate inserted", "\\udc00"),
        ("invalid escape `\\x41`", "\\x41"),
        ("truncated escape `\\u12`", "\\u12"),
    ] {
        out.push((name.into(), format!("\"{}{e}{}\"", lit_inner(&pre), lit_inner(&post))));
    }
    out
}

/// Whether `n` is written as the fast path reads integers.
fn plain_int(n: &str) -> bool {
    let digits = n.strip_prefix('-').unwrap_or(n);
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && n != "-0";
    plain && n.parse::<i64>().is_ok()
}

fn number_spellings(n: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "12.0",
        "1.2e1",
        "1.2E+1",
        "120e-1",
        "1e2",
        "-0",
        "-0.0",
        "0",
        "-1",
        "1",
        "012",
        "00",
        "-01",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "99999999999999999999999999",
        "\"12\"",
        "+1",
        "0x10",
        ".5",
        "1.",
        "-",
        "1e",
        "- 1",
        "true",
        "null",
        "[12]",
        "{}",
        "1_0",
        "NaN",
        "Infinity",
        "\u{661}\u{662}",
    ]
    .iter()
    .map(|x| (*x).to_owned())
    .collect();
    v.extend([
        format!("{n}.0"),
        format!("{n}e0"),
        format!("{n}E0"),
        format!("{n}.5"),
        format!("{n}0"),
        format!("0{n}"),
    ]);
    v
}

const TIMESTAMPS: &[&str] = &[
    "2026-11-24T09:30:00Z",
    "2026-11-24T09:30:00.5Z",
    "2026-11-24T09:30:00.123456Z",
    "2026-11-24T09:30:00.123456789Z",
    "2026-11-24T09:30:00.1234567891Z",
    "2026-11-24T11:30:00+02:00",
    "2026-11-24T04:00:00-05:30",
    "2026-11-24T09:30:00+00:00",
    "2026-11-24T09:30:00-00:00",
    "2026-11-24t09:30:00z",
    "2026-11-24 09:30:00Z",
    "2026-11-24T09:30:00",
    "2026-11-24T09:30Z",
    "2026-11-24",
    "2026-02-30T10:00:00Z",
    "2026-02-29T10:00:00Z",
    "2024-02-29T10:00:00Z",
    "2026-13-01T10:00:00Z",
    "2026-11-24T24:00:00Z",
    "2026-11-24T23:59:60Z",
    "2026-11-24T09:60:00Z",
    "0000-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "1969-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59Z",
    "2026-11-24T09:30:00+24:00",
    "2026-11-24T09:30:00+0200",
    "2026-11-24T09:30:00.Z",
    "+2026-11-24T09:30:00Z",
    "2026-11-28T10:30:00Z",
    "2026-11-24T02:00:00Z",
    "",
];

const DURATIONS: &[&str] = &[
    "15m",
    "1h30m",
    "0s",
    "0ms",
    "1d",
    "2m",
    "3m",
    "59s",
    "1h",
    "30m1h",
    "15min",
    "1h 30m",
    "-5m",
    "5",
    "m",
    "1.5h",
    "500ms",
    "1d2h3m4s5ms",
    "9999999999999999999h",
    "106751991167d",
    "106751991168d",
    "",
    " 2m",
    "2M",
];

const IPS: &[&str] = &[
    "10.1.2.3",
    "10.20.4.17",
    "10.99.1.1",
    "203.0.113.7",
    "10.01.2.3",
    "256.1.1.1",
    " 10.1.2.3",
    "10.1.2.3 ",
    "10.0.0.0/8",
    "10.0.0.0/33",
    "10.0.0.1/32",
    "10.1.2",
    "::1",
    "fd00::/8",
    "fd00:30::12",
    "FD00:30::12",
    "::ffff:10.1.2.3",
    "fe80::1%eth0",
    "0.0.0.0",
    "255.255.255.255",
    "1::2::3",
    "",
];

/// Deeply nested JSON.
fn deep(n: usize) -> Vec<(String, String)> {
    vec![
        ("closed arrays".into(), format!("{}{}", "[".repeat(n), "]".repeat(n))),
        ("open arrays".into(), "[".repeat(n)),
        ("objects".into(), format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n))),
        ("mixed".into(), format!("{}{}", "[{\"a\":".repeat(n / 2), "}]".repeat(n / 2))),
    ]
}

/// The structural mutations of one request. `heavy` (the first request of each example): every
/// variant of each family, long strings and large sets too; `thin`: see `Cases::thin`.
fn mutations(ex: &Example, r: &Req, heavy: bool, thin: Option<usize>) -> Vec<Case> {
    let mut c = Cases::default();
    let b = &r.j;
    let J::Obj(top) = b else { panic!("{}: not an object", r.name) };
    let base_expect = auto_expect(b);

    // Layouts: the same request written differently.
    c.text("as shipped", &r.text, r.expect());
    for (name, st) in [
        ("compact", Style::Compact),
        ("pretty", Style::Pretty),
        ("spaces", Style::Ws(" ")),
        ("newlines", Style::Ws("\n")),
        ("tabs", Style::Ws("\t")),
        ("CRLF", Style::Ws("\r\n")),
        ("mixed whitespace", Style::Ws(" \t\n\r  ")),
        ("form feeds (not JSON whitespace)", Style::Ws("\x0c")),
        ("vertical tabs (not JSON whitespace)", Style::Ws("\x0b")),
        ("no-break spaces (not JSON whitespace)", Style::Ws("\u{a0}")),
    ] {
        c.text(name, render(b, st), base_expect);
    }
    c.text("leading whitespace", format!(" \n\t\r {}", r.text), r.expect());
    c.text("trailing whitespace", format!("{} \n\t\r ", r.text), r.expect());
    c.text("leading and trailing newlines", format!("\n\n{}\n\n", compact(b)), base_expect);
    c.text("byte order mark", format!("\u{feff}{}", r.text), Expect::Any);
    let sorted: serde_json::Value = serde_json::from_str(&r.text).unwrap();
    let sorted = serde_json::to_string(&sorted).unwrap();
    c.text("keys sorted (serde_json::Value)", &sorted, auto_expect(&parse(&sorted)));

    // Key orders.
    c.j("top-level keys reversed", &J::Obj(top.iter().rev().cloned().collect()));
    for k in 1..top.len() {
        let mut m = top.clone();
        m.rotate_left(k);
        c.j(format!("top-level keys rotated by {k}"), &J::Obj(m));
    }
    for i in 0..top.len().saturating_sub(1) {
        let mut m = top.clone();
        m.swap(i, i + 1);
        c.j(format!("top-level keys {i} and {} swapped", i + 1), &J::Obj(m));
    }
    for key in ["context", "action", "principal", "resource", "intent", "on_behalf_of", "entities"] {
        if let Some(p) = b.pos(key) {
            let mut m = top.clone();
            let e = m.remove(p);
            m.insert(0, e.clone());
            c.j(format!("`{key}` first"), &J::Obj(m.clone()));
            m.remove(0);
            m.push(e);
            c.j(format!("`{key}` last"), &J::Obj(m));
        }
    }
    let rev = |m: Vec<(String, J)>| m.into_iter().rev().collect();
    c.j("every object's keys reversed", &map_objects(b, &rev));
    if let Some(ctx) = b.get("context") {
        c.j("context keys reversed (nested too)", &b.with("context", map_objects(ctx, &rev)));
    }
    let ref_rev = |m: Vec<(String, J)>| {
        let r = J::Obj(m.clone());
        if r.is_ref() { m.into_iter().rev().collect() } else { m }
    };
    c.j("entity references as {id, type}", &map_objects(b, &ref_rev));

    // The rest only every `THIN`th case on light requests.
    c.thin = thin;

    // Escapes: in every string and every key.
    let all = paths(b);
    for p in &all {
        if let J::Str(x) = node(b, p) {
            let lits = escaped_literals(x);
            // Light: an ordinary character escaped, `\/`, `\"`.
            let keep = |name: &str| heavy || ["first", "`\\/`", "`\\\"`"].iter().any(|k| name.starts_with(k));
            for (name, l) in lits.into_iter().filter(|(n, _)| keep(n)) {
                c.j_as(format!("{p:?} {x:?}: {name}"), &replaced(b, p, raw(l)), Expect::Fallback);
            }
        }
        let top_or_context = p.is_empty() || (p.len() == 1 && Some(p[0]) == b.pos("context"));
        if let (J::Obj(m), true) = (node(b, p), heavy || top_or_context) {
            for (i, (k, _)) in m.iter().enumerate() {
                let ek = escaped_literals(k);
                for (name, l) in ek.iter().take(if heavy { 4 } else { 1 }) {
                    let mut t = b.clone();
                    node_mut(&mut t, p).members_mut()[i].0 = format!("\0{l}");
                    c.j_as(format!("{p:?} key {k:?}: {name}"), &t, Expect::Fallback);
                }
            }
        }
    }

    // Numbers, booleans and other scalars under the context.
    let ctx_pos = b.pos("context");
    let ctx_paths: Vec<&Vec<usize>> = all.iter().filter(|p| p.len() > 1 && Some(p[0]) == ctx_pos).collect();
    for p in &ctx_paths {
        match node(b, p) {
            J::Num(n) => {
                for sp in number_spellings(n).into_iter().step_by(if heavy { 1 } else { 4 }) {
                    let e = if plain_int(sp.trim()) || sp == "null" { base_expect } else { Expect::Fallback };
                    let what = format!("{p:?} {n} as {sp}");
                    c.j_as(&what, &replaced(b, p, raw(format!(" {sp} "))), e);
                }
            }
            J::Bool(x) => {
                c.j(format!("{p:?} negated"), &replaced(b, p, J::Bool(!x)));
                for sp in ["\"true\"", "1", "0", "True", "tru", "falsey", "[true]"] {
                    c.j_as(format!("{p:?} as {sp}"), &replaced(b, p, raw(sp)), Expect::Any);
                }
            }
            J::Str(x) => {
                for sp in ["1", "-0", "1.0", "true", "[]", "{}"] {
                    c.j_as(format!("{p:?} {x:?} as {sp}"), &replaced(b, p, raw(sp)), Expect::Any);
                }
                for v in ["é", "日本", "", " ", "\u{7f}", "€uro", "😀", "e\u{301}", "a\u{1}b"] {
                    c.j(format!("{p:?} {x:?} as {v:?}"), &replaced(b, p, s(v)));
                }
                c.j_as(format!("{p:?} with a raw tab"), &replaced(b, p, raw(format!("\"{x}\t\""))), Expect::Any);
                c.j_as(format!("{p:?} with a raw newline"), &replaced(b, p, raw(format!("\"\n{x}\""))), Expect::Any);
                let looks_ts = x.len() >= 10 && x.as_bytes()[4] == b'-';
                let looks_ip = x.parse::<std::net::IpAddr>().is_ok();
                let looks_dur = x.len() < 8 && x.starts_with(|ch: char| ch.is_ascii_digit());
                let family: &[&str] = if looks_ts {
                    TIMESTAMPS
                } else if looks_ip {
                    IPS
                } else if looks_dur {
                    DURATIONS
                } else {
                    &[]
                };
                for v in family.iter().step_by(if heavy { 1 } else { 3 }) {
                    c.j(format!("{p:?} {x:?} as {v:?}"), &replaced(b, p, s(v)));
                }
                if heavy && family.is_empty() {
                    // Other families on a string of another type: decoding errors.
                    for v in TIMESTAMPS.iter().chain(DURATIONS).chain(IPS).step_by(5) {
                        c.j(format!("{p:?} {x:?} as {v:?}"), &replaced(b, p, s(v)));
                    }
                }
            }
            J::Arr(v) => {
                // Set-valued fields: reorder and duplicate elements.
                let mut r = v.clone();
                r.reverse();
                c.j(format!("{p:?} reversed"), &replaced(b, p, J::Arr(r)));
                for k in 1..v.len() {
                    let mut r = v.clone();
                    r.rotate_left(k);
                    c.j(format!("{p:?} rotated by {k}"), &replaced(b, p, J::Arr(r)));
                }
                for (i, x) in v.iter().enumerate() {
                    let mut r = v.clone();
                    r.insert(i, x.clone());
                    c.j(format!("{p:?} element {i} twice"), &replaced(b, p, J::Arr(r.clone())));
                    r.push(x.clone());
                    c.j(format!("{p:?} element {i} three times"), &replaced(b, p, J::Arr(r)));
                    let mut r = v.clone();
                    r.remove(i);
                    c.j(format!("{p:?} element {i} removed"), &replaced(b, p, J::Arr(r)));
                }
                if v.len() <= 4 {
                    for perm in common::permutations(v.len()) {
                        let r = perm.iter().map(|&i| v[i].clone()).collect();
                        c.j(format!("{p:?} permuted {perm:?}"), &replaced(b, p, J::Arr(r)));
                    }
                }
                c.j(format!("{p:?} empty"), &replaced(b, p, J::Arr(Vec::new())));
                let doubled = v.iter().chain(v).cloned().collect();
                c.j(format!("{p:?} doubled"), &replaced(b, p, J::Arr(doubled)));
                if heavy {
                    let mut big: Vec<J> = (0..300).flat_map(|_| v.iter().cloned()).collect();
                    c.j(format!("{p:?} 300 times"), &replaced(b, p, J::Arr(big.clone())));
                    big.reverse();
                    c.j(format!("{p:?} 300 times, reversed"), &replaced(b, p, J::Arr(big)));
                }
                for extra in [J::Null, J::Num("1".into()), s("x"), J::Arr(Vec::new()), J::Bool(true)] {
                    let mut r = v.clone();
                    r.push(extra.clone());
                    c.j(format!("{p:?} with {extra:?}"), &replaced(b, p, J::Arr(r)));
                }
                c.j(format!("{p:?} as an object"), &replaced(b, p, obj(&[("a", J::Arr(v.clone()))])));
                if let Some(first) = v.first() {
                    c.j(format!("{p:?} as its first element"), &replaced(b, p, first.clone()));
                }
            }
            _ => {}
        }
    }

    // Entity references anywhere: unknown ids, other types, extra, duplicate, missing keys.
    let pool = ex.refs(None);
    for p in all.iter().filter(|p| node(b, p).is_ref()) {
        let er = node(b, p);
        let (ty, id) = (er.get("type").and_then(J::str).unwrap(), er.get("id").and_then(J::str).unwrap());
        let mut alts = vec![
            ("unknown id", eref(ty, "ghost")),
            ("empty id", eref(ty, "")),
            ("unknown type", eref("Nope", id)),
            ("extra key", er.pushed("name", s("x"))),
            ("duplicate id, same", er.pushed("id", s(id))),
            ("duplicate id, other", er.pushed("id", s("ghost"))),
            ("duplicate type", er.pushed("type", s(ty))),
            ("no id", er.without("id")),
            ("no type", er.without("type")),
            ("id a number", er.with("id", J::Num("1".into()))),
            ("id null", er.with("id", J::Null)),
            ("type null", er.with("type", J::Null)),
            ("empty object", obj(&[])),
            ("a string", s(&format!("{ty}::{id}"))),
            ("an array", J::Arr(vec![er.clone()])),
            ("null", J::Null),
            ("entity wrapper", obj(&[("__entity", er.clone())])),
        ];
        for t in ex.entity_types.iter().filter(|t| *t != ty) {
            alts.push(("other type, same id", eref(t, id)));
        }
        if heavy {
            alts.extend(pool.iter().map(|o| ("another stored entity", o.clone())));
        } else if p.len() > 1 {
            // Light, for references below the top level: a few of each kind.
            alts = alts.into_iter().step_by(3).collect();
        }
        for (name, v) in alts {
            c.j(format!("{p:?} {ty}::{id:?}: {name}"), &replaced(b, p, v));
        }
    }

    // Duplicate keys (the ordinary decoder keeps the last).
    for (i, (k, v)) in top.iter().enumerate() {
        c.j(format!("`{k}` twice, same value, at the end"), &b.pushed(k, v.clone()));
        c.j(format!("`{k}` twice, same value, adjacent"), &b.inserted(i + 1, k, v.clone()));
        c.j(format!("`{k}` twice, null last"), &b.pushed(k, J::Null));
        c.j(format!("`{k}` twice, null first"), &b.inserted(0, k, J::Null));
    }
    for a in &ex.actions {
        c.j(format!("`action` twice, then {a:?}"), &b.pushed("action", s(a)));
        if let Some(p) = b.pos("action") {
            c.j(format!("`action` twice, {a:?} first"), &b.inserted(p, "action", s(a)));
        }
    }
    for i in &ex.intents {
        c.j(format!("`intent` twice, then {i:?}"), &b.pushed("intent", s(i)));
    }
    c.j("`principal` twice, then unknown", &b.pushed("principal", eref("Nope", "x")));
    if let Some(ctx @ J::Obj(cm)) = b.get("context") {
        for (k, v) in cm {
            let other = match v {
                J::Num(n) => J::Num(if n == "99" { "1".into() } else { "99".into() }),
                J::Str(x) => s(&format!("{x}x")),
                J::Bool(x) => J::Bool(!x),
                _ => J::Null,
            };
            c.j(format!("context `{k}` twice, same"), &b.with("context", ctx.pushed(k, v.clone())));
            c.j(format!("context `{k}` twice, other last"), &b.with("context", ctx.pushed(k, other.clone())));
            c.j(format!("context `{k}` twice, other first"), &b.with("context", ctx.inserted(0, k, other)));
        }
        c.j(
            "context `approved` twice",
            &b.with("context", ctx.pushed("approved", J::Bool(true)).pushed("approved", J::Bool(false))),
        );
    }

    // Unknown keys.
    for (k, v) in [
        ("extra", J::Num("1".into())),
        ("Principal", J::Null),
        ("", J::Null),
        ("context ", obj(&[])),
        ("entity", J::Arr(Vec::new())),
        ("intents", J::Null),
    ] {
        c.j(format!("unknown key {k:?} at the end"), &b.pushed(k, v.clone()));
        c.j(format!("unknown key {k:?} first"), &b.inserted(0, k, v));
    }
    if let Some(ctx @ J::Obj(_)) = b.get("context") {
        c.j("unknown context field", &b.with("context", ctx.pushed("bogus", J::Bool(true))));
        c.j("unknown context field first", &b.with("context", ctx.inserted(0, "bogus", J::Null)));
        c.j("unknown context field `Approved`", &b.with("context", ctx.pushed("Approved", J::Bool(true))));
    }

    // Nulls, absences and wrong shapes of every top-level member.
    for k in ["principal", "action", "resource", "intent", "context", "on_behalf_of", "entities"] {
        c.j(format!("`{k}` null"), &b.with(k, J::Null));
        c.j(format!("`{k}` missing"), &b.without(k));
        for (name, v) in [
            ("a number", J::Num("0".into())),
            ("a string", s("x")),
            ("true", J::Bool(true)),
            ("an empty array", J::Arr(Vec::new())),
            ("an empty object", obj(&[])),
        ] {
            c.j(format!("`{k}` {name}"), &b.with(k, v));
        }
        if let Some(v) = b.get(k) {
            c.j(format!("`{k}` in an array"), &b.with(k, J::Arr(vec![v.clone()])));
        }
    }
    if let Some(ctx @ J::Obj(cm)) = b.get("context") {
        for k in cm.iter().map(|(k, _)| k) {
            c.j(format!("context `{k}` null"), &b.with("context", ctx.with(k, J::Null)));
            c.j(format!("context `{k}` missing"), &b.with("context", ctx.without(k)));
        }
        for k in ["approved", "approved_by", "args", "window", "method"] {
            c.j(format!("context `{k}` null (added)"), &b.with("context", ctx.with(k, J::Null)));
        }
        c.j("context empty", &b.with("context", obj(&[])));
        // Optional fields written in the context: approved, approved_by, nested records.
        c.j("context `approved`: true", &b.with("context", ctx.with("approved", J::Bool(true))));
        for h in ex.refs(None).iter().step_by(2) {
            c.j("context `approved_by` a stored entity", &b.with("context", ctx.with("approved_by", h.clone())));
        }
        for (name, v) in [
            ("{}", obj(&[])),
            ("{query: \"x\"}", obj(&[("query", s("x"))])),
            ("{query: null, ticket: \"T-1\"}", obj(&[("query", J::Null), ("ticket", s("T-1"))])),
            ("{ticket: 1}", obj(&[("ticket", J::Num("1".into()))])),
            ("{query: \"x\", query: \"y\"}", obj(&[("query", s("x")), ("query", s("y"))])),
            ("{nope: 1}", obj(&[("nope", J::Num("1".into()))])),
        ] {
            c.j(format!("context `args` {name}"), &b.with("context", ctx.with("args", v)));
        }
    }
    c.text("the request in an array", format!("[{}]", compact(b)), Expect::Any);
    for t in
        ["", " ", "null", "{}", "[]", "\"\"", "0", "true", "{\"principal\":null}", "{\"action\":\"x\"}", "{\"\":1}"]
    {
        c.text(format!("whole text {t:?}"), t, Expect::NativeIfOk);
    }

    // The intent.
    for i in ex.intents.iter().map(String::as_str).chain(["none", "None", "", "unknown_intent", "triage"]) {
        c.j(format!("intent {i:?}"), &b.with("intent", s(i)));
    }

    // The action.
    for a in ex.actions.iter().map(String::as_str).chain(["nope", "", "Call_tool", "read_secret "]) {
        c.j(format!("action {a:?}"), &b.with("action", s(a)));
    }

    // Principal and resource: swapped, other stored entities of every type.
    if let (Some(p), Some(rs)) = (b.get("principal"), b.get("resource")) {
        c.j("principal and resource swapped", &b.with("principal", rs.clone()).with("resource", p.clone()));
        c.j("principal as resource", &b.with("resource", p.clone()));
        c.j("resource as principal", &b.with("principal", rs.clone()));
    }
    for e in pool.iter().step_by(if heavy { 1 } else { 5 }) {
        c.j("principal another stored entity", &b.with("principal", e.clone()));
        c.j("resource another stored entity", &b.with("resource", e.clone()));
    }

    // Inline entities.
    c.j("entities []", &b.with("entities", J::Arr(Vec::new())));
    c.j("entities [] first", &b.without("entities").inserted(0, "entities", J::Arr(Vec::new())));
    c.j("entities [] in a pretty text", &b.with("entities", J::Arr(Vec::new())));
    c.j("entities [[]]", &b.with("entities", J::Arr(vec![J::Arr(Vec::new())])));
    c.j("entities [null]", &b.with("entities", J::Arr(vec![J::Null])));
    c.j("entities [{}]", &b.with("entities", J::Arr(vec![obj(&[])])));
    let find = |er: Option<&J>| {
        er.and_then(|er| ex.stored.iter().find(|e| e.get("type") == er.get("type") && e.get("id") == er.get("id")))
    };
    if let Some(pe) = find(b.get("principal")) {
        c.j("entities: the principal, as stored", &b.with("entities", J::Arr(vec![pe.clone()])));
        let new = pe.with("id", s("inline-new"));
        let pr = b.get("principal").unwrap().with("id", s("inline-new"));
        c.j("entities: a new principal", &b.with("entities", J::Arr(vec![new.clone()])).with("principal", pr.clone()));
        c.j("a new principal, not inline", &b.with("principal", pr));
        c.j("entities: the principal twice", &b.with("entities", J::Arr(vec![pe.clone(), pe.clone()])));
    }
    if let Some(re) = find(b.get("resource")) {
        c.j("entities: the resource, as stored", &b.with("entities", J::Arr(vec![re.clone()])));
        c.j("entities: the resource, no attrs", &b.with("entities", J::Arr(vec![re.without("attrs")])));
    }

    // Delegation chains.
    let mut ptypes: Vec<String> = ex.principal_types.clone();
    if let Some(t) = b.get("principal").and_then(|p| p.get("type")).and_then(J::str) {
        ptypes.retain(|x| x != t);
        ptypes.insert(0, t.to_owned());
    }
    let ok_pool = ex.refs(Some(&ptypes));
    let chain = |n: usize, skip: usize| -> J {
        J::Arr((0..n).map(|i| ok_pool[(i + skip) % ok_pool.len().max(1)].clone()).collect())
    };
    if !ok_pool.is_empty() {
        for n in [0, 1, 2, 3, 4, 5, 6, 10, 64, 65, 70] {
            for skip in [0, 1, 3].into_iter().take(if heavy { 3 } else { 1 }) {
                c.j(format!("on_behalf_of {n} entries (from {skip})"), &b.with("on_behalf_of", chain(n, skip)));
            }
        }
        let a = ok_pool[0].clone();
        let z = ok_pool[ok_pool.len() - 1].clone();
        for (name, v) in [
            ("[a, a]", vec![a.clone(), a.clone()]),
            ("[a, z, a]", vec![a.clone(), z.clone(), a.clone()]),
            ("[z, a]", vec![z.clone(), a.clone()]),
            ("[a, z]", vec![a.clone(), z.clone()]),
            ("[z, z, z, a]", vec![z.clone(), z.clone(), z.clone(), a.clone()]),
            ("[a, unknown]", vec![a.clone(), eref(&ptypes[0], "ghost")]),
            ("[a, resource]", vec![a.clone(), b.get("resource").cloned().unwrap_or(J::Null)]),
            ("[null]", vec![J::Null]),
            ("[[a]]", vec![J::Arr(vec![a.clone()])]),
            ("[a, {}]", vec![a.clone(), obj(&[])]),
            ("[a with extra key]", vec![a.pushed("x", J::Null)]),
            ("[a with duplicate id]", vec![a.pushed("id", s("ghost"))]),
        ] {
            c.j(format!("on_behalf_of {name}"), &b.with("on_behalf_of", J::Arr(v)));
        }
        c.j("on_behalf_of an object", &b.with("on_behalf_of", a.clone()));
        c.j("on_behalf_of first", &b.without("on_behalf_of").inserted(0, "on_behalf_of", chain(2, 0)));
    }
    for t in pool.iter().step_by(if heavy { 1 } else { 4 }) {
        c.j("on_behalf_of [a stored entity]", &b.with("on_behalf_of", J::Arr(vec![t.clone()])));
    }

    // Trailing commas.
    let cb = compact(b);
    c.text("trailing comma at the top level", format!("{},}}", &cb[..cb.len() - 1]), Expect::Any);
    c.text("leading comma at the top level", format!("{{,{}", &cb[1..]), Expect::Any);
    c.text("double comma at the top level", cb.replacen(",", ",,", 1), Expect::Any);
    c.text("colon doubled", cb.replacen(":", "::", 1), Expect::Any);
    c.text("missing colon", cb.replacen(":", " ", 1), Expect::Any);
    c.text("missing comma", cb.replacen(",", " ", 1), Expect::Any);
    for p in all.iter().filter(|p| !p.is_empty()) {
        let v = node(b, p);
        let inner = compact(v);
        match v {
            J::Obj(m) if !m.is_empty() => {
                let tc = format!("{},}}", &inner[..inner.len() - 1]);
                c.j(format!("{p:?} trailing comma in an object"), &replaced(b, p, raw(tc)));
            }
            J::Arr(a) if !a.is_empty() => {
                let tc = format!("{},]", &inner[..inner.len() - 1]);
                c.j(format!("{p:?} trailing comma in an array"), &replaced(b, p, raw(tc)));
                c.j(
                    format!("{p:?} array closed by `}}`"),
                    &replaced(b, p, raw(format!("{}}}", &inner[..inner.len() - 1]))),
                );
            }
            J::Arr(_) => c.j(format!("{p:?} `[,]`"), &replaced(b, p, raw("[,]"))),
            _ => {}
        }
    }

    // Trailing garbage.
    for g in ["}", "}}", "]", "x", ",", " ,", " null", "{}", "\0", "//", "/* */", " 1", "\"", "\u{feff}"] {
        c.text(format!("trailing {g:?}"), format!("{}{g}", r.text), Expect::Any);
    }

    // Deep nesting, as a context value, a chain, the entities, the whole text.
    let depths: &[usize] = if heavy { &[64, 65, 127, 128, 129, 10_000] } else { &[10_000] };
    for &n in depths {
        for (name, d) in deep(n) {
            if let Some(J::Obj(cm)) = b.get("context") {
                if let Some((k, _)) = cm.first() {
                    let ctx = b.get("context").unwrap().with(k, raw(d.clone()));
                    c.j(format!("context `{k}`: {n} {name}"), &b.with("context", ctx));
                }
                let ctx = b.get("context").unwrap().pushed("deep", raw(d.clone()));
                c.j(format!("context `deep`: {n} {name}"), &b.with("context", ctx));
            }
            c.j(format!("on_behalf_of: {n} {name}"), &b.with("on_behalf_of", raw(d.clone())));
            c.j(format!("entities: {n} {name}"), &b.with("entities", raw(d.clone())));
            c.j(format!("unknown key: {n} {name}"), &b.pushed("zz", raw(d.clone())));
            c.text(format!("whole text: {n} {name}"), d, Expect::Any);
        }
    }

    // Long strings: every length across the 8-byte blocks, special bytes at every offset.
    if heavy {
        let targets: Vec<&Vec<usize>> = ctx_paths
            .iter()
            .copied()
            .filter(|p| matches!(node(b, p), J::Str(_)))
            .take(1)
            .chain(all.iter().filter(|p| p.len() == 2 && Some(p[0]) == b.pos("principal") && p[1] == 1))
            .collect();
        for p in targets {
            let J::Str(x) = node(b, p) else { continue };
            for len in (0..=72).chain([1000, 100_000]) {
                c.j(format!("{p:?} {len} x's"), &replaced(b, p, s(&"x".repeat(len))));
            }
            for len in 0..=24 {
                c.j(format!("{p:?} {x:?} padded by {len}"), &replaced(b, p, s(&format!("{x}{}", "-".repeat(len)))));
            }
            for k in 0..=40 {
                let (pre, post) = ("a".repeat(k), "b".repeat(40 - k));
                c.j(format!("{p:?} é at {k}"), &replaced(b, p, s(&format!("{pre}é{post}"))));
                c.j(format!("{p:?} 日本 at {k}"), &replaced(b, p, s(&format!("{pre}日本{post}"))));
                c.j(format!("{p:?} DEL at {k}"), &replaced(b, p, s(&format!("{pre}\u{7f}{post}"))));
                c.j(format!("{p:?} escaped quote at {k}"), &replaced(b, p, s(&format!("{pre}\"{post}"))));
                c.j(format!("{p:?} escaped \\u0001 at {k}"), &replaced(b, p, s(&format!("{pre}\u{1}{post}"))));
                c.j_as(
                    format!("{p:?} raw \\u0001 at {k}"),
                    &replaced(b, p, raw(format!("\"{pre}\u{1}{post}\""))),
                    Expect::Any,
                );
                c.j_as(
                    format!("{p:?} \\/ at {k}"),
                    &replaced(b, p, raw(format!("\"{pre}\\/{post}\""))),
                    Expect::Fallback,
                );
                c.j_as(
                    format!("{p:?} \\u0061 at {k}"),
                    &replaced(b, p, raw(format!("\"{pre}\\u0061{post}\""))),
                    Expect::Fallback,
                );
            }
        }
    }
    c.v
}

// ---------------------------------------------------------------------------------------------
// A policy set whose context has a field of every type, sets of every element type included.

const TYPED_SCHEMA: &str = r#"
schema {
  enum Level { public, internal, confidential, secret }
  entity Team
  entity Agent in Team { level: Level }
  entity Tool
  context {
    tags: Set<String>?,
    ips: Set<Ip>?,
    levels: Set<Level>?,
    nums: Set<Int>?,
    flags: Set<Bool>?,
    agents: Set<Agent>?,
    whens: Set<Timestamp>?,
    ages: Set<Duration>?,
    intents: Set<Intent>?,
    who: Agent?,
    lvl: Level?,
    goal: Intent?,
    n: Int?,
    at: Timestamp?,
    src: Ip?,
    age: Duration?,
    meta: { a: Int, b: { c: String? }? }?,
  }
  action call: Agent -> Tool
  action read: Agent -> Tool { s: String }
}
intent triage "Triage" { call on Tool }
intent deploy "Deploy" { call on Tool  read on Tool }
"#;

const TYPED_POLICIES: &str = r#"
@id("tags-red") permit Agent to call on Tool when context has tags and context.tags.contains("red");
@id("tags-eq") permit Agent to call on Tool when context has tags and context.tags == ["red", "blue"];
@id("tags-len") permit Agent to call on Tool when context has tags and context.tags.len() == 2;
@id("tags-any") permit Agent to call on Tool when context has tags and context.tags.contains_any(["é", "日本"]);
@id("tags-all") permit Agent to call on Tool when context has tags and context.tags.contains_all(["blue", "red"]);
@id("tags-empty") permit Agent to call on Tool when context has tags and context.tags.is_empty();
@id("ips-in") permit Agent to call on Tool when context has ips and context.ips.contains(ip("10.0.0.1"));
@id("ips-eq") permit Agent to call on Tool when context has ips and context.ips == [ip("10.0.0.0/8"), ip("::1")];
@id("ips-len") permit Agent to call on Tool when context has ips and context.ips.len() == 1;
@id("levels-eq") permit Agent to call on Tool
  when context has levels and context.levels == [Level.internal, Level.secret];
@id("levels-has") permit Agent to call on Tool when context has levels and context.levels.contains(Level.secret);
@id("nums-eq") permit Agent to call on Tool when context has nums and context.nums == [1, 2, 3];
@id("nums-len") permit Agent to call on Tool when context has nums and context.nums.len() == 3;
@id("nums-neg") permit Agent to call on Tool when context has nums and context.nums.contains(-5);
@id("flags-eq") permit Agent to call on Tool when context has flags and context.flags == [true, false];
@id("flags-len") permit Agent to call on Tool when context has flags and context.flags.len() == 1;
@id("agents-me") permit Agent to call on Tool when context has agents and context.agents.contains(principal);
@id("agents-len") permit Agent to call on Tool when context has agents and context.agents.len() == 2;
@id("whens-len") permit Agent to call on Tool when context has whens and context.whens.len() == 1;
@id("whens-has") permit Agent to call on Tool
  when context has whens and context.whens.contains(timestamp("2026-01-01T00:00:00Z"));
@id("ages-has") permit Agent to call on Tool when context has ages and context.ages.contains(duration("1m"));
@id("ages-len") permit Agent to call on Tool when context has ages and context.ages.len() == 1;
@id("intents-triage") permit Agent to call on Tool when context has intents and context.intents.contains(triage);
@id("intents-none") permit Agent to call on Tool when context has intents and context.intents.contains(none);
@id("intents-len") permit Agent to call on Tool when context has intents and context.intents.len() == 2;
@id("intents-eq") permit Agent to call on Tool when context has intents and context.intents == [none, triage];
@id("agents-eq") permit Agent to call on Tool
  when context has agents and context.agents == [Agent::"b", Agent::"a"];
@id("agents-obo") permit Agent to call on Tool when context has agents and context.agents.contains_all(on_behalf_of);
@id("agents-any") permit Agent to call on Tool when context has agents and context.agents.contains_any(on_behalf_of);
@id("whens-eq") permit Agent to call on Tool
  when context has whens and context.whens == [timestamp("2026-01-01T00:00:00Z")];
@id("ages-eq") permit Agent to call on Tool when context has ages and context.ages == [duration("0s"), duration("1m")];
@id("ips-v6") permit Agent to call on Tool when context has ips and context.ips.contains(ip("::1"));
@id("levels-any") permit Agent to call on Tool
  when context has levels and context.levels.contains_any([Level.public, Level.internal]);
@id("flags-has") permit Agent to call on Tool when context has flags and context.flags.contains(false);
@id("nums-all") permit Agent to call on Tool when context has nums and context.nums.contains_all([-5, 0]);
@id("who") permit Agent to call on Tool when context has who and context.who == principal;
@id("who-level") permit Agent to call on Tool when context has who and context.who.level >= Level.internal;
@id("lvl") permit Agent to call on Tool when context has lvl and context.lvl > Level.internal;
@id("goal") permit Agent to call on Tool when context has goal and context.goal == intent;
@id("n") permit Agent to call on Tool when context has n and context.n > 5;
@id("n-overflow") forbid Agent to call on Tool when context has n and context.n * 1000000000000 == 5;
@id("at") permit Agent to call on Tool when context has at and context.at.hour() == 10;
@id("src") permit Agent to call on Tool when context has src and context.src.in_range(ip("10.0.0.0/8"));
@id("age") permit Agent to call on Tool when context has age and context.age > duration("1m");
@id("meta") permit Agent to call on Tool
  when context has meta and context.meta.a == 1 and context.meta has b and context.meta.b has c
   and context.meta.b.c == "x";
@id("intent-triage") permit Agent to call on Tool when intent == triage;
@id("no-intent") escalate Agent to call on Tool when intent == none because "say why";
@id("obo-me") permit Agent to call on Tool when on_behalf_of.contains(principal);
@id("obo-len") permit Agent to call on Tool when on_behalf_of.len() == 2;
@id("in-team") permit Agent to call on Tool when principal in Team::"t1";
@id("read-s") permit Agent to read on Tool when context.s.starts_with("a") and context.s.len() > 40;
@id("read-eq") permit Agent to read on Tool when context.s == "é日本";
@id("read-tags") permit Agent to read on Tool when context has tags and context.tags.contains(context.s);
"#;

const TYPED_ENTITIES: &str = r#"[
  {"type": "Team", "id": "t1"},
  {"type": "Agent", "id": "a", "attrs": {"level": "secret"}, "parents": [{"type": "Team", "id": "t1"}]},
  {"type": "Agent", "id": "b", "attrs": {"level": "public"}},
  {"type": "Agent", "id": "日本", "attrs": {"level": "internal"}},
  {"type": "Tool", "id": "t"}
]"#;

const TYPED_REQUESTS: &[(&str, &str)] = &[
    (
        "full",
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
  "intent": "triage",
  "context": {"tags": ["red", "blue"], "ips": ["10.0.0.0/8", "::1"], "levels": ["secret", "internal"],
    "nums": [3, 1, 2], "flags": [true, false], "agents": [{"type": "Agent", "id": "a"}, {"type": "Agent", "id": "b"}],
    "whens": ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00"], "ages": ["1m", "60s"],
    "intents": ["triage", "none"], "who": {"type": "Agent", "id": "a"}, "lvl": "secret", "goal": "triage", "n": 7,
    "at": "2026-01-01T10:00:00Z", "src": "10.1.2.3", "age": "2m", "meta": {"a": 1, "b": {"c": "x"}}},
  "on_behalf_of": [{"type": "Agent", "id": "b"}, {"type": "Agent", "id": "a"}]}"#,
    ),
    (
        "equal spellings",
        r#"{"principal": {"type": "Agent", "id": "b"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
  "intent": "deploy",
  "context": {"tags": ["é", "日本", "e\u0301"], "ips": ["10.0.0.1", "10.0.0.1/32", "::ffff:10.0.0.1"],
    "levels": [], "nums": [-5, 9223372036854775807, -9223372036854775808, -5],
    "flags": [true, true], "agents": [{"type": "Agent", "id": "b"}, {"type": "Agent", "id": "日本"},
    {"type": "Agent", "id": "b"}], "whens": ["2026-01-01T00:00:00.000Z", "2026-01-01T00:00:00Z"],
    "ages": ["0s", "0ms", "1m"], "intents": ["deploy", "triage", "deploy"], "who": {"type": "Agent", "id": "日本"},
    "lvl": "public", "goal": "deploy", "n": -5, "meta": {"a": 1, "b": null}},
  "on_behalf_of": [{"type": "Agent", "id": "a"}, {"type": "Agent", "id": "a"}, {"type": "Agent", "id": "b"}]}"#,
    ),
    (
        "v6 and empties",
        r#"{"principal": {"type": "Agent", "id": "日本"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
  "context": {"tags": [], "ips": ["fd00::/8", "::1", "::1", "::0.0.0.1"], "nums": [0, -1, 1],
    "flags": [], "agents": [], "whens": [], "ages": ["1h", "60m", "3600s"], "intents": [], "who": null,
    "src": "fd00:30::12", "age": "1h30m", "meta": {"a": 2}},
  "intent": "deploy", "on_behalf_of": null, "entities": []}"#,
    ),
    (
        "overflow",
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
  "intent": "triage", "context": {"n": 9223372036854775807, "tags": ["red"]}}"#,
    ),
    (
        "empty context",
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
  "context": {}}"#,
    ),
    (
        "no context",
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#,
    ),
    (
        "read",
        r#"{"principal": {"type": "Agent", "id": "a"}, "action": "read", "resource": {"type": "Tool", "id": "t"},
  "intent": "deploy", "context": {"s": "a-string-that-is-longer-than-forty-bytes-for-sure", "tags": ["x"]}}"#,
    ),
    (
        "read non-ASCII",
        r#"{"principal": {"type": "Agent", "id": "b"}, "action": "read", "resource": {"type": "Tool", "id": "t"},
  "context": {"s": "é日本", "tags": ["é日本", "x"], "n": -9223372036854775808}}"#,
    ),
];

fn typed_example() -> Example {
    let ps = PolicySet::from_sources(&[("schema.writ", TYPED_SCHEMA), ("policies.writ", TYPED_POLICIES)])
        .unwrap_or_else(|e| panic!("the typed policy set does not check:\n{}", e.render()));
    // No escapes in the texts, so that they all take the fast path.
    let reqs = TYPED_REQUESTS.iter().map(|(n, t)| ((*n).to_owned(), t.replace("\\u0301", "\u{301}"))).collect();
    Example::new("typed (this file)", &ps, TYPED_ENTITIES, reqs)
}

/// More entity types, actions and intents than the fast path matches in place (16 of each):
/// their names are then looked up by hash, as here.
fn many_names_example() -> Example {
    let n = 20;
    let mut schema = String::from("schema {\n  context { risk: Int? }\n");
    for i in 0..n {
        schema.push_str(&format!("  entity E{i}\n"));
    }
    for i in 0..n {
        schema.push_str(&format!("  action a{i}: E{i} | E{} -> E{}\n", (i + 1) % n, (i + 2) % n));
    }
    schema.push_str("}\n");
    for i in 0..n {
        schema.push_str(&format!(
            "intent i{i} \"Intent {i}\" {{ a{i} on E{}  a{} on E{} }}\n",
            (i + 2) % n,
            (i + 1) % n,
            (i + 3) % n
        ));
    }
    let mut rules = String::new();
    for i in 0..n {
        rules.push_str(&format!(
            "@id(\"p{i}\") permit E{i} to a{i} on E{} when intent == i{i} or context has risk and context.risk < {i};\n",
            (i + 2) % n
        ));
        rules.push_str(&format!("@id(\"q{i}\") permit E{} to a{i} on E{};\n", (i + 1) % n, (i + 2) % n));
    }
    let ps = PolicySet::from_sources(&[("schema.writ", &schema), ("policies.writ", &rules)])
        .unwrap_or_else(|e| panic!("the many-names policy set does not check:\n{}", e.render()));
    let ents: Vec<String> = (0..n).map(|i| format!(r#"{{"type": "E{i}", "id": "x"}}"#)).collect();
    let ents = format!("[{}]", ents.join(",\n"));
    let req = |name: &str, i: usize, who: usize, intent: &str, ctx: &str| {
        let (p, r) = (format!("E{who}"), format!("E{}", (i + 2) % n));
        let text = format!(
            r#"{{"principal": {{"type": "{p}", "id": "x"}}, "action": "a{i}", "resource": {{"type": "{r}", "id": "x"}},
  "intent": {intent}, "context": {ctx}}}"#
        );
        (name.to_owned(), text)
    };
    let reqs = vec![
        req("last action, own intent", 19, 19, "\"i19\"", "{}"),
        req("first action, other principal", 0, 1, "null", "{\"risk\": -1}"),
        req("middle, intent none", 9, 9, "\"none\"", "{\"risk\": 3}"),
        req("outside the intent", 17, 17, "\"i2\"", "{}"),
        req("principal type not allowed", 5, 12, "\"i5\"", "{}"),
    ];
    Example::new("many names (this file)", &ps, &ents, reqs)
}

// ---------------------------------------------------------------------------------------------
// The tests.

/// Every shipped request the ordinary decoder accepts, with no inline entities, takes the fast
/// path, as shipped and in every whitespace and key-order variant where `action` comes before
/// `context`; the others fall back. All decide as the interpreter does.
#[test]
fn shipped_requests_take_the_fast_path() {
    let started = Instant::now();
    let mut t = Tally::default();
    let (mut shipped, mut shipped_native) = (0, 0);
    for ex in examples() {
        for r in &ex.requests {
            let native = check(ex, &mut t, &format!("{} as shipped", r.name), &r.text, r.expect());
            let expect = auto_expect(&r.j);
            shipped += 1;
            shipped_native += usize::from(native);
            if !native {
                eprintln!("{} / {}: not on the fast path ({expect:?})", ex.name, r.name);
            }
            for st in [Style::Compact, Style::Pretty, Style::Ws("  \n\t\r")] {
                check(ex, &mut t, &format!("{} {st:?}", r.name), &render(&r.j, st), expect);
                let m = r.j.members();
                let ordered = |keys: &[&str]| {
                    let mut v: Vec<(String, J)> = m.to_vec();
                    v.sort_by_key(|(k, _)| keys.iter().position(|x| x == k).unwrap_or(keys.len()));
                    J::Obj(v)
                };
                for keys in [
                    &["action", "context", "resource", "principal"][..],
                    &["on_behalf_of", "intent", "action", "resource", "principal", "context"],
                    &["intent", "action", "entities", "context", "on_behalf_of"],
                ] {
                    let j = ordered(keys);
                    let e = auto_expect(&j);
                    assert!(e == expect || e == Expect::Fallback);
                    check(ex, &mut t, &format!("{} {st:?} keys {keys:?}", r.name), &render(&j, st), expect);
                }
                if let Some(ctx) = r.j.get("context") {
                    let rev = map_objects(ctx, &|m| m.into_iter().rev().collect());
                    check(
                        ex,
                        &mut t,
                        &format!("{} {st:?} context reversed", r.name),
                        &render(&r.j.with("context", rev), st),
                        expect,
                    );
                }
            }
        }
    }
    eprintln!("{shipped_native} of {shipped} shipped requests on the fast path");
    assert!(shipped >= 90, "only {shipped} requests");
    assert!(shipped_native * 10 >= shipped * 7, "only {shipped_native} of {shipped} requests on the fast path");
    t.finish("shipped_requests_take_the_fast_path", started, 1000);
}

#[test]
fn structural_mutations_decide_the_same() {
    let started = Instant::now();
    let t = each_request(|ex, i, t| {
        let heavy = i == 0 || (i == 1 && ex.name.starts_with("typed"));
        let thin = (!heavy).then_some(i % THIN);
        run_cases(ex, mutations(ex, &ex.requests[i], heavy, thin), t);
    });
    t.finish("structural_mutations_decide_the_same", started, 3000);
}

/// Escapes anywhere make the fast path give up, and the decisions still agree: an escape of
/// an ordinary character decodes to the same request (and decision) as the shipped one.
#[test]
fn escapes_fall_back_and_decide_the_same() {
    let started = Instant::now();
    let mut t = Tally::default();
    let mut same = 0;
    for ex in examples() {
        for r in &ex.requests {
            let plain = ex.interp.decide_json(&r.text, &ex.ei);
            for p in paths(&r.j) {
                if let J::Str(x) = node(&r.j, &p) {
                    let Some(c) = x.chars().next() else { continue };
                    let l = format!("\"{}{}\"", esc_char(c, false), lit_inner(&x[c.len_utf8()..]));
                    let text = compact(&replaced(&r.j, &p, raw(l)));
                    check(
                        ex,
                        &mut t,
                        &format!("{} {p:?} {x:?} first character escaped", r.name),
                        &text,
                        Expect::Fallback,
                    );
                    if ex.jit.decide_json(&text, &ex.ej) == plain {
                        same += 1;
                    }
                }
            }
        }
    }
    eprintln!("{same} escaped texts decided as the plain ones");
    assert!(same > 100);
    t.finish("escapes_fall_back_and_decide_the_same", started, 0);
}

#[test]
fn truncations_and_deletions_decide_the_same() {
    let started = Instant::now();
    // The first request of each example, as shipped and compact.
    let t = each_request(|ex, i, t| {
        let Some(r) = ex.requests.get(i).filter(|_| i == 0) else { return };
        for text in [r.text.clone(), compact(&r.j)] {
            for i in 0..text.len() {
                if let Some(pre) = text.get(..i) {
                    check(ex, t, &format!("{} cut at {i}", r.name), pre, Expect::Any);
                }
            }
        }
        let text = compact(&r.j);
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let mut v = bytes.to_vec();
            v.remove(i);
            if let Ok(x) = String::from_utf8(v) {
                check(ex, t, &format!("{} byte {i} deleted", r.name), &x, Expect::Any);
            }
        }
    });
    t.finish("truncations_and_deletions_decide_the_same", started, 50);
}

const INTERESTING: &[u8] = b"{}[],:\"\\ \t\n0123456789-+.eEtrufalsnxAZ/u\x00\x01\x7f";

fn mutate_bytes(rng: &mut common::rng::Rng, v: &mut Vec<u8>) {
    let n = if rng.below(2) == 0 { 1 } else { 1 + rng.below(3) };
    for _ in 0..n {
        if v.is_empty() {
            v.push(b'{');
            continue;
        }
        let i = rng.below(v.len());
        let pick = INTERESTING[rng.below(INTERESTING.len())];
        match rng.below(10) {
            0 => v[i] ^= 1 << rng.below(7),
            1 | 2 => v[i] = pick,
            3 => v.insert(i, pick),
            4 => {
                v.remove(i);
            }
            5 => {
                let n = 1 + rng.below(16);
                let span: Vec<u8> = v[i..(i + n).min(v.len())].to_vec();
                let at = rng.below(v.len() + 1);
                v.splice(at..at, span);
            }
            6 => {
                let j = rng.below(v.len());
                v.swap(i, j);
            }
            7 | 8 => {
                // A letter or digit changed in place: the text stays JSON more often.
                if v[i].is_ascii_alphanumeric() {
                    v[i] = b"abcdehilmnoprstxyz0123456789-_."[rng.below(31)];
                }
            }
            _ => {
                // A digit changed or added: numbers stay numbers more often.
                if v[i].is_ascii_digit() {
                    v[i] = b'0' + rng.below(10) as u8;
                } else {
                    v.insert(i, b'0' + rng.below(10) as u8);
                }
            }
        }
    }
}

#[test]
fn random_byte_mutations_decide_the_same() {
    let started = Instant::now();
    let t = each_request(|ex, i, t| {
        let r = &ex.requests[i];
        let seed = format!("{}/{}", ex.name, r.name).bytes().fold(RANDOM_SEED, |h, b| h.rotate_left(5) ^ u64::from(b));
        let mut rng = common::rng::Rng(seed);
        let bases = [r.text.clone(), compact(&r.j)];
        let (mut done, mut tries) = (0, 0);
        while done < RANDOM_PER_REQUEST && tries < 10 * RANDOM_PER_REQUEST {
            tries += 1;
            let k = rng.below(bases.len());
            let mut v = bases[k].as_bytes().to_vec();
            mutate_bytes(&mut rng, &mut v);
            let Ok(text) = String::from_utf8(v) else { continue };
            check(ex, t, &format!("{} random mutation {tries} (seed {seed:#x})", r.name), &text, Expect::Any);
            done += 1;
        }
        assert_eq!(done, RANDOM_PER_REQUEST, "{} / {}: too many mutations were not UTF-8", ex.name, r.name);
    });
    t.finish("random_byte_mutations_decide_the_same", started, 1000);
}

// ---------------------------------------------------------------------------------------------
// Issue 13: what the fast path must leave to the ordinary decoder.

const HARD_SCHEMA: &str = r#"
schema { entity Agent  entity Tool  context { ip: Ip, tags: Set<String>?, args: { q: String? }? }  action call: Agent -> Tool }
@id("internal") permit Agent to call on Tool when context.ip.in_range(ip("10.0.0.0/8"));
"#;
const HARD_ENTITIES: &str = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#;

fn hard_request(ctx: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", "resource": {{"type": "Tool", "id": "t"}}, "context": {ctx}}}"#
    )
}

/// Duplicate keys, IP ranges and over-long sets are never taken by the fast path: the
/// ordinary decoder denies them with the JSON path. Mapped IPv4 addresses are taken, and
/// decided as the IPv4 address.
#[test]
fn duplicates_ranges_and_long_sets_are_left_to_the_ordinary_decoder() {
    let ps = PolicySet::from_sources(&[("p.writ", HARD_SCHEMA)]).unwrap_or_else(|e| panic!("{}", e.render()));
    let jit = Engine::compile(&ps).unwrap();
    let ents = jit.entities_from_json(HARD_ENTITIES).unwrap();
    let dup = "duplicate key (a key may appear only once)";
    let long_set: Vec<String> = (0..1_001).map(|i| format!("\"t{i}\"")).collect();
    let long_set = hard_request(&format!(r#"{{"ip": "10.1.2.3", "tags": [{}]}}"#, long_set.join(",")));
    let rows: Vec<(String, Option<String>)> = vec![
        (hard_request(r#"{"ip": "10.1.2.3", "ip": "8.8.8.8"}"#), Some(format!("context.ip: {dup}"))),
        (hard_request(r#"{"ip": "10.1.2.3", "args": {"q": null, "q": "x"}}"#), Some(format!("context.args.q: {dup}"))),
        (
            hard_request(r#"{"ip": "10.1.2.3"}"#).replacen(r#""id": "a""#, r#""id": "a", "id": "b""#, 1),
            Some(format!("principal.id: {dup}")),
        ),
        (
            hard_request(r#"{"ip": "10.1.2.3"}"#).replacen('{', r#"{"action": "call", "#, 1),
            Some(format!("action: {dup}")),
        ),
        (
            hard_request(r#"{"ip": "203.0.113.5/0"}"#),
            Some("context.ip: `203.0.113.5/0` is a range; expected one IP address (no `/prefix`)".into()),
        ),
        (
            hard_request(r#"{"ip": "10.0.0.0/8"}"#),
            Some("context.ip: `10.0.0.0/8` is a range; expected one IP address (no `/prefix`)".into()),
        ),
        (long_set, None),
    ];
    for (text, error) in &rows {
        assert!(!jit.decides_json_natively(text, &ents), "the fast path took {}", shorten(text));
        let d = jit.decide_json(text, &ents);
        match error {
            Some(e) => assert_eq!(d.errors.first().map(|x| x.message.as_str()), Some(e.as_str()), "{}", shorten(text)),
            None => assert_eq!(d.decision, writ::Verdict::Allow, "{}", d.to_json()),
        }
    }
    for ip in ["::ffff:10.1.2.3", "::ffff:a01:203"] {
        let text = hard_request(&format!(r#"{{"ip": "{ip}"}}"#));
        assert!(jit.decides_json_natively(&text, &ents), "{ip}");
        assert_eq!(jit.decide_json(&text, &ents).decision, writ::Verdict::Allow, "{ip}");
    }
    // A host limit on sets below what the fast path takes turns the fast path off.
    let limits = writ::Limits { max_set_len: 2, ..Default::default() };
    let strict = jit.with_options(writ::EngineOptions { limits, ..Default::default() });
    let three = hard_request(r#"{"ip": "10.1.2.3", "tags": ["a", "b", "c"]}"#);
    assert!(!strict.decides_json_natively(&three, &ents));
    let d = strict.decide_json(&three, &ents);
    assert_eq!(d.errors[0].message, "context.tags: a set of 3 items; the limit is 2");
}
