//! A seeded generator of well-typed Writ policy sets with matching host data, for the
//! differential tests (`tests/differential.rs`: interpreter vs `Engine::compile`) and the
//! `differential` fuzz target (`fuzz/`).
//!
//! [`generate`] turns a seed into a [`Case`]: a random schema (entity types with parent
//! chains, attributes of every type, enums, records, optional attributes, a context, actions,
//! action groups, intents, sometimes `@max_delegation`), helper `fn`s, 1–25 rules using every
//! expression form of docs/language.md, an entity store and requests (JSON, some deliberately
//! malformed). Everything is drawn from one splitmix64 stream, so a seed always yields the
//! same bytes.
//!
//! How the output stays well-typed (every generated set must pass the checker; a set that
//! does not is a generator bug):
//! * An attribute or context-field name has one type wherever it is declared (a dictionary
//!   drawn per seed), so `x has a and x.a …` means the same in every request shape a rule is
//!   checked in; where a shape lacks `a`, the `has` folds to false and the rest of the `and`
//!   chain is not checked.
//! * Every read of a value that is optional, or missing in some shape, sits behind its
//!   guards: `(g1 and g2 and atom)` around the boolean atom that reads it, one nested
//!   `(if g then v else literal)` per guard where no boolean surrounds it, or one `when`
//!   clause per guard before the clause that reads it. A quantifier variable that may be of
//!   several entity types is narrowed with `x is T` first.
//! * Constants are folded by the checker and a constant overflow is a compile error, so
//!   every arithmetic node has at least one operand that is only known at decision time
//!   (tracked as `rt`); function arguments for numeric parameters are such values too.
//!   Conditions on constants only are mostly thrown away (they test neither back end).
//! * `in` between entities is only generated where the membership is possible for every type
//!   the left side may have where the test is reached (narrowed with `is` otherwise), since
//!   the checker rejects an `in` that cannot hold in any shape that reaches it (E0104).
//! * Entity arguments of user functions are never literals, and guards are never combined
//!   in one `if` condition: see "Checker limitations the generator works around" in
//!   `tests/differential/regressions/README.md`.
#![allow(dead_code)]

use serde_json::{Map, Value as Json, json};
use std::rc::Rc;

// ------------------------------------------------------------------------------ random

#[path = "../common/rng.rs"]
mod rng;
pub use rng::Rng;

impl Rng {
    /// The generator's stream for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5752_4954_4449_4646)
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    pub fn pick_str(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }

    /// Between `lo` and `hi` distinct items, in their original order.
    pub fn some<T: Clone>(&mut self, items: &[T], lo: usize, hi: usize) -> Vec<T> {
        let k = self.range(lo, hi);
        self.subset(items, k)
    }

    /// An index drawn by weight.
    pub fn weighted(&mut self, weights: &[usize]) -> usize {
        let total: usize = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        0
    }
}

// ------------------------------------------------------------------------------ output

/// One generated test case: policy files, an entity store and requests (JSON text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub seed: u64,
    /// (file name, text)
    pub files: Vec<(String, String)>,
    pub entities: String,
    pub requests: Vec<String>,
    /// The evaluation budget both engines decide with (`Engine::with_fuel`), when it is not
    /// the default: small, so that running out is compared between the back ends.
    pub fuel: Option<u64>,
}

impl Case {
    /// The policy files as `PolicySet::from_sources` wants them.
    pub fn sources(&self) -> Vec<(&str, &str)> {
        self.files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect()
    }

    /// All policy files, each under a `// ---- NAME` header, for failure reports.
    pub fn policy_text(&self) -> String {
        let mut s = String::new();
        for (n, t) in &self.files {
            s.push_str(&format!("// ---- {n}\n{t}\n"));
        }
        s
    }
}

/// Sizes of what [`generate_with`] produces.
#[derive(Clone, Debug)]
pub struct Config {
    /// Requests per case.
    pub requests: usize,
    pub min_rules: usize,
    pub max_rules: usize,
    /// Share of requests that are deliberately malformed, in percent.
    pub malformed_percent: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config { requests: 25, min_rules: 1, max_rules: 25, malformed_percent: 6 }
    }
}

/// The case for `seed`, with the default sizes.
pub fn generate(seed: u64) -> Case {
    generate_with(seed, &Config::default())
}

/// The case for `seed`.
pub fn generate_with(seed: u64, cfg: &Config) -> Case {
    let mut r = Rng::new(seed);
    let model = Rc::new(build_model(&mut r));
    let mut g = Gen { r, m: model, next_local: 0, nest: 0, positive_durs: false };
    let schema = g.schema_text();
    let fns = g.functions();
    let n_rules = g.rules_count(cfg);
    let mut rules = Vec::new();
    for i in 0..n_rules {
        rules.push(g.rule(i));
    }
    // Rules go into one or two files; each file imports the standard library.
    let mut files = vec![("schema.writ".to_string(), schema)];
    let header = "import std.time\nimport std.net\nimport std.identity\n\n";
    let split = if rules.len() > 3 && g.r.chance(30) { g.r.range(1, rules.len() - 1) } else { rules.len() };
    let mut main = format!("{header}{fns}");
    for r in rules.iter().take(split) {
        main.push_str(r);
        main.push('\n');
    }
    files.push(("rules.writ".to_string(), main));
    if split < rules.len() {
        let mut more = header.to_string();
        for r in rules.iter().skip(split) {
            more.push_str(r);
            more.push('\n');
        }
        files.push(("more/rules2.writ".to_string(), more));
    }
    let store = g.store();
    let entities = serde_json::to_string_pretty(&Json::Array(store.clone())).unwrap_or_default();
    let mut requests = Vec::new();
    for _ in 0..cfg.requests {
        let req = g.request(&store);
        if g.r.chance(cfg.malformed_percent) {
            requests.push(g.malform(req));
        } else {
            requests.push(serde_json::to_string(&req).unwrap_or_default());
        }
    }
    Case { seed, files, entities, requests, fuel: small_fuel(seed) }
}

/// One case in four decides with a small evaluation budget: half of them 0 to 3 units (any
/// quantifier or set scan of more elements runs out), half 4 to 40. Drawn from a stream of
/// its own, so the rest of the case is what it was before budgets existed.
fn small_fuel(seed: u64) -> Option<u64> {
    let mut r = Rng::new(seed ^ 0xF0E1_F0E1_F0E1_F0E1);
    if !r.chance(25) {
        return None;
    }
    Some(if r.chance(50) { r.below(4) } else { 4 + r.below(37) } as u64)
}

// ------------------------------------------------------------------------------ pools

const ENTITY_NAMES: &[&str] =
    &["Human", "Agent", "Team", "Org", "Tool", "ToolGroup", "Secret", "Document", "Folder", "Service"];
const IDS: &[&str] = &["alice", "bob", "carol", "bot", "ci", "ops", "support", "root", "ünï", "x y", ""];
const ENUMS: &[(&str, &[&str])] = &[
    ("Level", &["public", "internal", "confidential", "secret"]),
    ("Tier", &["bronze", "silver", "gold"]),
    ("Stage", &["dev", "staging", "prod"]),
];
const ACTION_NAMES: &[&str] = &["read", "write", "call_tool", "deploy", "delete", "share", "rotate", "approve"];
const GROUP_NAMES: &[&str] = &["writes", "risky", "everyday"];
const INTENT_NAMES: &[&str] = &["triage", "rotate_keys", "ship", "audit", "cleanup"];
const ATTR_NAMES: &[&str] = &[
    "env",
    "level",
    "risk",
    "owner",
    "tags",
    "count",
    "limit",
    "region",
    "workload",
    "created",
    "expires",
    "ttl",
    "addr",
    "nets",
    "labels",
    "meta",
    "score",
    "quota",
    "active",
    "email",
    "ports",
    "window",
    "args",
    "budget",
    "team",
    "peers",
    "tier",
    "mode",
    "since",
    "clearance",
];
const FIELD_NAMES: &[&str] = &["query", "depth", "note", "flag", "inner", "rows"];
const LIT_FIELDS: &[&str] = &["a", "b", "value", "on", "to"];
const GRANT_KEYS: &[&str] = &["audit", "scope", "max_rows", "tags", "level", "notify", "probe", "seen"];

const STRS: &[&str] = &[
    "prod",
    "dev",
    "staging",
    "",
    "alice",
    "support",
    "spiffe://prod.acme/ns/support/sa/bot",
    "spiffe://dev.acme/ns/ci/sa/deployer",
    "spiffe://prod.acme/ns/ci/sa/deployer",
    "alice@acme.com",
    "mallory@evil.com",
    "ünïcödé",
    "日本語",
    "🚀",
    "Straße",
    "ǅemal",
    "İstanbul",
    "a*b",
    "a/b/c",
    "x y",
    "PROD",
    "Alice@ACME.com",
    "ÜNÏ",
    "ΣΊΣΥΦΟΣ",
    "straße",
];
/// Glob patterns (values; `\*` is a literal star).
const GLOBS: &[&str] = &[
    "*",
    "",
    "prod",
    "spiffe://prod.acme/*",
    "spiffe://*/ns/ci/*",
    "*@acme.com",
    "*.com",
    "a\\*b",
    "*日本*",
    "al*e",
    "*o*",
    "Stra*e",
    "**",
    "*/b/*",
];
const SEPS: &[&str] = &["/", "@", ".", "://", "", "ns/", "a"];
const INTS_SMALL: &[i64] = &[0, 1, 2, 3, 5, 7, 10, 42, 100, -1];
const INTS_EDGE: &[i64] = &[
    i64::MAX,
    i64::MAX - 1,
    i64::MIN,
    i64::MIN + 1,
    1 << 62,
    3_037_000_500,
    -3_037_000_500,
    86_400_000,
    1_000_000_007,
];
const DURS: &[&str] = &[
    "0s",
    "500ms",
    "1500ms",
    "30s",
    "59s",
    "90s",
    "5m",
    "1m30s",
    "10m",
    "15m",
    "1h",
    "1h30m",
    "2h",
    "1d",
    "7d",
    "106751991167d",
];
const TIMESTAMPS: &[&str] = &[
    "2026-11-23T10:15:00Z",
    "2026-11-23T23:59:59.999Z",
    "2026-11-24T00:00:00Z",
    "2026-11-28T12:00:00Z",
    "2026-11-29T23:30:00+01:00",
    "2026-11-23T08:59:60Z",
    "1969-12-31T23:59:59Z",
    "1970-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "2024-02-29T09:00:00-05:30",
    "2026-11-23T17:00:00Z",
];
/// Host data holds addresses (a range in a request is bad input), IPv4-mapped IPv6 among them.
const HOST_IPS: &[&str] = &[
    "10.1.2.3",
    "10.200.0.1",
    "192.168.1.10",
    "172.16.5.4",
    "8.8.8.8",
    "127.0.0.1",
    "::1",
    "fd00::1",
    "2001:db8::1",
    "::ffff:10.1.2.3",
    "::ffff:7f00:1",
    "::ffff:808:808",
];
const IPS: &[&str] = &[
    "10.1.2.3",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "192.168.1.10",
    "172.16.5.4",
    "8.8.8.8",
    "127.0.0.1",
    "0.0.0.0/0",
    "::1",
    "fd00::1",
    "fc00::/7",
    "2001:db8::1",
    "2001:db8::/32",
    "::/0",
    "::ffff:10.1.2.3",
    "255.255.255.255",
];
const DOCS: &[&str] = &[
    "Agents may do this while nothing looks wrong.",
    "Generated rule: ünïcödé in a doc comment.",
    "Stops everything when the host says so.",
];
const MESSAGES: &[&str] = &[
    "risk too high",
    "needs a human: \\\"approve\\\" first",
    "outside the window \\u{1F680}",
    "tab\\tand\\nnewline",
    "ünïcödé reason",
];

// ------------------------------------------------------------------------------ model

#[derive(Clone, Debug, PartialEq)]
enum Ty {
    Bool,
    Int,
    Str,
    Dur,
    Ts,
    Ip,
    Enum(usize),
    Set(Box<Ty>),
    Rec(usize),
    Ent(usize),
    Intent,
}

impl Ty {
    fn set(t: Ty) -> Ty {
        Ty::Set(Box::new(t))
    }

    fn ordered(&self) -> bool {
        matches!(self, Ty::Int | Ty::Dur | Ty::Ts | Ty::Enum(_))
    }

    fn numeric(&self) -> bool {
        matches!(self, Ty::Int | Ty::Dur | Ty::Ts)
    }
}

#[derive(Clone, Debug)]
struct Field {
    name: String,
    ty: Ty,
    opt: bool,
}

#[derive(Clone, Debug)]
struct Ent {
    name: &'static str,
    parents: Vec<usize>,
    attrs: Vec<Field>,
    ids: Vec<&'static str>,
    /// Types an entity of this type may be in (itself included), as the checker computes.
    anc: Vec<usize>,
}

#[derive(Clone, Debug)]
struct Act {
    name: &'static str,
    ps: Vec<usize>,
    rs: Vec<usize>,
    /// Extra context fields (besides the common ones).
    ctx: Vec<Field>,
}

#[derive(Clone, Debug)]
struct Intent {
    name: &'static str,
    /// (actions covered, resource scope text)
    entries: Vec<(Vec<usize>, String)>,
    text: String,
}

#[derive(Clone, Debug)]
struct FnSig {
    name: String,
    params: Vec<(String, Ty)>,
    ret: Ty,
}

#[derive(Clone, Debug)]
struct Model {
    enums: Vec<(&'static str, &'static [&'static str])>,
    recs: Vec<Vec<Field>>,
    ents: Vec<Ent>,
    acts: Vec<Act>,
    common: Vec<Field>,
    groups: Vec<(&'static str, Vec<usize>)>,
    intents: Vec<Intent>,
    fns: Vec<FnSig>,
    max_delegation: Option<usize>,
}

impl Model {
    fn ty_text(&self, t: &Ty) -> String {
        match t {
            Ty::Bool => "Bool".into(),
            Ty::Int => "Int".into(),
            Ty::Str => "String".into(),
            Ty::Dur => "Duration".into(),
            Ty::Ts => "Timestamp".into(),
            Ty::Ip => "Ip".into(),
            Ty::Enum(e) => self.enums[*e].0.into(),
            Ty::Set(x) => format!("Set<{}>", self.ty_text(x)),
            Ty::Rec(r) => {
                let fs: Vec<String> = self.recs[*r]
                    .iter()
                    .map(|f| format!("{}: {}{}", f.name, self.ty_text(&f.ty), if f.opt { "?" } else { "" }))
                    .collect();
                format!("{{ {} }}", fs.join(", "))
            }
            Ty::Ent(k) => self.ents[*k].name.into(),
            Ty::Intent => "Intent".into(),
        }
    }

    fn attr(&self, t: usize, name: &str) -> Option<&Field> {
        self.ents[t].attrs.iter().find(|f| f.name == name)
    }

    /// The whole context of an action: common fields, then its own.
    fn ctx(&self, a: usize) -> Vec<Field> {
        let mut v = self.common.clone();
        v.extend(self.acts[a].ctx.iter().cloned());
        v
    }

    fn may_descend(&self, child: usize, ancestor: usize) -> bool {
        self.ents[child].anc.contains(&ancestor)
    }

    /// Types that may be in `t` (itself included).
    fn descendants(&self, t: usize) -> Vec<usize> {
        (0..self.ents.len()).filter(|c| self.may_descend(*c, t)).collect()
    }
}

fn build_model(r: &mut Rng) -> Model {
    // Enums.
    let n_enums = r.range(1, 2);
    let enums: Vec<(&'static str, &'static [&'static str])> = r.subset(ENUMS, n_enums);
    // Entity type names.
    let n_ents = r.range(2, 5);
    let mut names: Vec<&'static str> = r.subset(ENTITY_NAMES, n_ents);
    for i in 0..names.len() {
        let j = i + r.below(names.len() - i);
        names.swap(i, j);
    }
    // Records (field types may use earlier records and entity types).
    let mut recs: Vec<Vec<Field>> = Vec::new();
    for ri in 0..r.range(1, 2) {
        let nf = r.range(1, 3);
        let fnames = r.subset(FIELD_NAMES, nf);
        let mut fields = Vec::new();
        for name in fnames {
            let ty = if name == "inner" && ri > 0 {
                Ty::Rec(ri - 1)
            } else {
                match r.below(7) {
                    0 => Ty::Int,
                    1 => Ty::Str,
                    2 => Ty::Bool,
                    3 => Ty::set(Ty::Str),
                    4 => Ty::Dur,
                    5 => Ty::Enum(r.below(enums.len())),
                    _ => Ty::Ent(r.below(n_ents)),
                }
            };
            fields.push(Field { name: name.to_string(), ty, opt: r.chance(35) });
        }
        recs.push(fields);
    }
    // The attribute dictionary: one type per name. The first entries cover every type.
    let mut types = vec![
        Ty::Bool,
        Ty::Int,
        Ty::Int,
        Ty::Str,
        Ty::Str,
        Ty::Dur,
        Ty::Ts,
        Ty::Ip,
        Ty::Enum(r.below(enums.len())),
        Ty::set(Ty::Str),
        Ty::set(Ty::Int),
        Ty::set(Ty::Ip),
        Ty::set(Ty::Enum(r.below(enums.len()))),
        Ty::set(Ty::Ent(r.below(n_ents))),
        Ty::Rec(r.below(recs.len())),
        Ty::Ent(r.below(n_ents)),
    ];
    for _ in 0..r.range(2, 6) {
        types.push(match r.below(9) {
            7 => Ty::Intent,
            0 => Ty::Int,
            1 => Ty::Str,
            2 => Ty::Ent(r.below(n_ents)),
            3 => Ty::set(Ty::Dur),
            4 => Ty::set(Ty::Ts),
            5 => Ty::Rec(r.below(recs.len())),
            6 => Ty::Enum(r.below(enums.len())),
            _ => Ty::Bool,
        });
    }
    let dict_names = r.subset(ATTR_NAMES, types.len());
    let mut dict: Vec<(String, Ty)> = Vec::new();
    for (i, n) in dict_names.iter().enumerate() {
        // Shuffle which name gets which type.
        let j = r.below(types.len() - i) + i;
        types.swap(i, j);
        dict.push((n.to_string(), types[i].clone()));
    }
    // Entity types: parents, attributes, ids.
    let mut ents: Vec<Ent> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut parents = Vec::new();
        if r.chance(65) {
            for p in r.some(&(0..n_ents).collect::<Vec<_>>(), 1, 2) {
                if p != i || r.chance(30) {
                    parents.push(p);
                }
            }
        }
        let na = r.range(1, 6);
        let attrs = r.subset(&dict, na).into_iter().map(|(n, ty)| Field { name: n, ty, opt: r.chance(30) }).collect();
        let ids = r.some(IDS, 2, 4);
        ents.push(Ent { name, parents, attrs, ids, anc: Vec::new() });
    }
    for i in 0..ents.len() {
        let mut seen = vec![false; ents.len()];
        let mut stack = vec![i];
        while let Some(t) = stack.pop() {
            if seen[t] {
                continue;
            }
            seen[t] = true;
            stack.extend(ents[t].parents.iter().copied());
        }
        ents[i].anc = (0..ents.len()).filter(|t| seen[*t]).collect();
    }
    // The context: common fields, then per action fields from the rest of the dictionary.
    // Like `risk` and `now` of the running example (`examples/spec`), every request carries a
    // required Int and Timestamp.
    let nc = r.range(0, 3);
    let mut common: Vec<Field> = Vec::new();
    for want in [Ty::Int, Ty::Ts] {
        if let Some((n, ty)) = dict.iter().find(|(_, t)| *t == want) {
            common.push(Field { name: n.clone(), ty: ty.clone(), opt: false });
        }
    }
    for (n, ty) in r.subset(&dict, nc) {
        if !common.iter().any(|f| f.name == n) {
            common.push(Field { name: n, ty, opt: r.chance(25) });
        }
    }
    let rest: Vec<(String, Ty)> = dict.iter().filter(|(n, _)| !common.iter().any(|f| &f.name == n)).cloned().collect();
    let n_acts = r.range(2, 6);
    let act_names = r.subset(ACTION_NAMES, n_acts);
    let all_types: Vec<usize> = (0..n_ents).collect();
    let mut acts = Vec::new();
    for name in act_names {
        let ps = r.some(&all_types, 1, 2);
        let rs = r.some(&all_types, 1, 2);
        let ne = r.range(0, 3);
        let ctx = r.subset(&rest, ne).into_iter().map(|(n, ty)| Field { name: n, ty, opt: r.chance(30) }).collect();
        acts.push(Act { name, ps, rs, ctx });
    }
    // Action groups.
    let mut groups = Vec::new();
    let all_acts: Vec<usize> = (0..acts.len()).collect();
    for name in r.some(GROUP_NAMES, 0, 2) {
        let members = r.some(&all_acts, 1, 3);
        groups.push((name, members));
    }
    let mut m = Model {
        enums,
        recs,
        ents,
        acts,
        common,
        groups,
        intents: Vec::new(),
        fns: Vec::new(),
        max_delegation: if r.chance(25) { Some(r.range(0, 5)) } else { None },
    };
    // Intents.
    for name in r.some(INTENT_NAMES, 0, 3) {
        let mut entries = Vec::new();
        let mut parts = Vec::new();
        for _ in 0..r.range(1, 3) {
            let (acts_cov, acts_text) = action_scope_for_intent(r, &m);
            let scope = resource_scope_for_intent(r, &m, &acts_cov);
            parts.push(format!("{acts_text} on {scope}"));
            entries.push((acts_cov, scope));
        }
        let sep = *r.pick(&[",\n  ", ";\n  ", "\n  "]);
        let text = format!("intent {name} \"{} work\" {{\n  {}\n}}\n", name.replace('_', " "), parts.join(sep));
        m.intents.push(Intent { name, entries, text });
    }
    m
}

fn action_scope_for_intent(r: &mut Rng, m: &Model) -> (Vec<usize>, String) {
    match r.below(10) {
        0 => ((0..m.acts.len()).collect(), "*".into()),
        1 | 2 if !m.groups.is_empty() => {
            let (name, members) = r.pick(&m.groups).clone();
            (members, name.to_string())
        }
        3 | 4 => {
            let all: Vec<usize> = (0..m.acts.len()).collect();
            let acts = r.some(&all, 1, 3);
            let names: Vec<&str> = acts.iter().map(|a| m.acts[*a].name).collect();
            (acts, format!("[{}]", names.join(", ")))
        }
        _ => {
            let a = r.below(m.acts.len());
            (vec![a], m.acts[a].name.to_string())
        }
    }
}

fn resource_scope_for_intent(r: &mut Rng, m: &Model, acts: &[usize]) -> String {
    let rtypes: Vec<usize> = acts.iter().flat_map(|a| m.acts[*a].rs.iter().copied()).collect();
    let t = if rtypes.is_empty() { 0 } else { *r.pick(&rtypes) };
    match r.below(8) {
        0 => "*".into(),
        1 | 2 => {
            // `Group::"x"`: x or anything in it.
            let a = *r.pick(&m.ents[t].anc);
            ent_lit(m, a, r.pick_str(&m.ents[a].ids))
        }
        3 | 4 => {
            let a = *r.pick(&m.ents[t].anc);
            format!("{} in {}", m.ents[t].name, ent_lit(m, a, r.pick_str(&m.ents[a].ids)))
        }
        _ => m.ents[t].name.to_string(),
    }
}

// ------------------------------------------------------------------------------ text helpers

/// A Writ string literal for `s`.
fn q(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn ent_lit(m: &Model, t: usize, id: &str) -> String {
    format!("{}::{}", m.ents[t].name, q(id))
}

fn int_text(n: i64) -> String {
    if n == i64::MIN {
        "(-9223372036854775807 - 1)".into()
    } else if n < 0 {
        format!("(-{})", n.unsigned_abs())
    } else {
        n.to_string()
    }
}

/// Does this expression text read the request or a variable (so the checker cannot fold it)?
fn reads_request(t: &str) -> bool {
    ["principal", "resource", "context", "on_behalf_of", "intent", "action"].iter().any(|w| t.contains(w))
        || t.as_bytes().windows(2).any(|w| matches!(w[0], b'x' | b'p') && w[1].is_ascii_digit())
}

fn dedup(v: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn join_guards(a: &[String], b: &[String]) -> Vec<String> {
    dedup(a.iter().chain(b.iter()).cloned().collect())
}

// ------------------------------------------------------------------------------ expressions

/// The type of a value in scope: a plain type, or an entity of one of several types
/// (`varying`: the types differ between the request shapes a rule is checked in).
#[derive(Clone, Debug, PartialEq)]
enum LTy {
    V(Ty),
    E(Vec<usize>, bool),
}

#[derive(Clone, Debug)]
struct Local {
    name: String,
    ty: LTy,
    /// Known only at decision time (never a constant the checker could fold).
    rt: bool,
}

#[derive(Clone, Debug)]
struct CtxField {
    name: String,
    ty: Ty,
    /// Present and required in every request shape of the rule.
    always: bool,
}

#[derive(Clone, Debug)]
struct RuleCx {
    ptypes: Vec<usize>,
    rtypes: Vec<usize>,
    ctx: Vec<CtxField>,
    /// What `on_behalf_of` may hold: the principal types of the rule's actions.
    obo: Vec<usize>,
    acts: Vec<usize>,
}

struct Env {
    rule: Option<RuleCx>,
    locals: Vec<Local>,
    /// User functions callable here: `f0 … f{fns-1}`.
    fns: usize,
}

/// A generated expression: its text, the guards that must hold before it is evaluated
/// (outermost first), and whether it is known only at decision time.
#[derive(Clone, Debug)]
struct G {
    t: String,
    g: Vec<String>,
    rt: bool,
}

impl G {
    fn c(t: impl Into<String>) -> G {
        G { t: t.into(), g: Vec::new(), rt: false }
    }
}

/// An access path: `principal.owner.level`, `context.args.query`, `x0`, ….
#[derive(Clone, Debug)]
struct Path {
    t: String,
    g: Vec<String>,
    ty: LTy,
    rt: bool,
    /// Number of `.` steps from the root.
    steps: usize,
}

/// `(g1 and g2 and atom)`.
fn wrap(g: G) -> String {
    if g.g.is_empty() { g.t } else { format!("({} and {})", dedup(g.g).join(" and "), g.t) }
}

struct Gen {
    r: Rng,
    m: Rc<Model>,
    next_local: usize,
    /// How deeply `val`/`bool` calls are nested now.
    nest: u32,
    /// Set while a `ttl` is generated: a constant `ttl` must be positive (E0110), so
    /// Duration literals are then never `0s`.
    positive_durs: bool,
}

/// The deepest nesting of generated values and conditions.
const MAX_NEST: u32 = 9;

const STD_BOOL: &[(&str, &[Ty], &[bool])] = &[
    ("time.business_hours", &[Ty::Ts], &[false]),
    ("time.hours_between", &[Ty::Ts, Ty::Int, Ty::Int], &[false, false, false]),
    ("time.is_weekday", &[Ty::Ts], &[false]),
    ("time.is_weekend", &[Ty::Ts], &[false]),
    ("time.within", &[Ty::Ts, Ty::Ts, Ty::Ts], &[false, false, false]),
    ("time.fresh", &[Ty::Ts, Ty::Ts, Ty::Dur], &[true, false, false]),
    ("net.is_private", &[Ty::Ip], &[false]),
    ("net.is_loopback", &[Ty::Ip], &[false]),
    ("net.is_internal", &[Ty::Ip], &[false]),
    ("identity.is_spiffe", &[Ty::Str], &[false]),
    ("identity.matches", &[Ty::Str, Ty::Str], &[false, false]),
    ("identity.in_trust_domain", &[Ty::Str, Ty::Str], &[false, false]),
];

const STD_STR: &[&str] = &["identity.trust_domain", "identity.path", "identity.namespace", "identity.service_account"];

impl Gen {
    fn rules_count(&mut self, cfg: &Config) -> usize {
        // Mostly small sets, sometimes up to the maximum.
        if self.r.chance(20) {
            self.r.range(cfg.min_rules, cfg.max_rules)
        } else {
            self.r.range(cfg.min_rules, cfg.max_rules.min(12).max(cfg.min_rules))
        }
    }

    fn fresh(&mut self) -> String {
        self.next_local += 1;
        format!("x{}", self.next_local - 1)
    }

    // -------------------------------------------------------------- literals

    fn str_lit(&mut self) -> String {
        if self.r.chance(6) {
            // Escapes; the first two equal "🚀" and "ünïcödé" of the pool.
            return self
                .r
                .pick_str(&[
                    "\"\\u{1F680}\"",
                    "\"\\u{fc}n\\u{ef}c\\u{f6}d\\u{e9}\"",
                    "\"say \\\"hi\\\"\"",
                    "\"a\\\\b\"",
                    "\"tab\\tx\"",
                ])
                .to_string();
        }
        q(self.r.pick_str(STRS))
    }

    fn lit(&mut self, ty: &Ty, bare_ok: bool) -> G {
        let m = self.m.clone();
        let t = match ty {
            Ty::Bool => if self.r.chance(50) { "true" } else { "false" }.to_string(),
            Ty::Int => {
                if self.r.chance(20) {
                    int_text(*self.r.pick(INTS_EDGE))
                } else {
                    int_text(*self.r.pick(INTS_SMALL))
                }
            }
            Ty::Str => self.str_lit(),
            Ty::Dur => {
                let d = match *self.r.pick(DURS) {
                    "0s" if self.positive_durs => "1s".to_string(),
                    d => d.to_string(),
                };
                if self.r.chance(15) { format!("duration({})", q(&d)) } else { d }
            }
            Ty::Ts => format!("timestamp({})", q(self.r.pick_str(TIMESTAMPS))),
            Ty::Ip => format!("ip({})", q(self.r.pick_str(IPS))),
            Ty::Enum(e) => {
                let (name, vars) = m.enums[*e];
                let v = self.r.pick(vars);
                if bare_ok && self.r.chance(60) { v.to_string() } else { format!("{name}.{v}") }
            }
            Ty::Set(x) => {
                // Sometimes more elements than the checker unrolls quantifiers over (16).
                let n = if self.r.chance(4) { self.r.range(5, 20) } else { self.r.range(1, 3) };
                let mut items = Vec::new();
                for i in 0..n {
                    items.push(self.lit(x, bare_ok || i > 0).t);
                }
                format!("[{}]", items.join(", "))
            }
            Ty::Rec(r) => {
                let fs: Vec<String> = m.recs[*r]
                    .iter()
                    .filter(|f| !f.opt)
                    .map(|f| format!("{}: {}", f.name, self.lit(&f.ty, false).t))
                    .collect();
                format!("{{{}}}", fs.join(", "))
            }
            Ty::Ent(k) => {
                let id = *self.r.pick(&m.ents[*k].ids);
                ent_lit(&m, *k, id)
            }
            Ty::Intent => {
                let mut names: Vec<&str> = m.intents.iter().map(|i| i.name).collect();
                names.push("none");
                self.r.pick_str(&names).to_string()
            }
        };
        G::c(t)
    }

    // -------------------------------------------------------------- paths

    fn paths(&self, env: &Env) -> Vec<Path> {
        let mut roots = Vec::new();
        if let Some(rc) = &env.rule {
            roots.push(Path {
                t: "principal".into(),
                g: vec![],
                ty: LTy::E(rc.ptypes.clone(), true),
                rt: true,
                steps: 0,
            });
            roots.push(Path {
                t: "resource".into(),
                g: vec![],
                ty: LTy::E(rc.rtypes.clone(), true),
                rt: true,
                steps: 0,
            });
            for f in &rc.ctx {
                let g = if f.always { vec![] } else { vec![format!("context has {}", f.name)] };
                roots.push(Path { t: format!("context.{}", f.name), g, ty: LTy::V(f.ty.clone()), rt: true, steps: 1 });
            }
        }
        for l in &env.locals {
            roots.push(Path { t: l.name.clone(), g: vec![], ty: l.ty.clone(), rt: l.rt, steps: 0 });
        }
        let mut out = Vec::new();
        let mut frontier = roots;
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for p in &frontier {
                if p.steps < 3 {
                    next.extend(self.expand(p));
                }
            }
            out.extend(frontier);
            frontier = next;
        }
        out
    }

    fn expand(&self, p: &Path) -> Vec<Path> {
        let m = &self.m;
        let mut out = Vec::new();
        let step = |name: &str, ty: &Ty, guards: Vec<String>| Path {
            t: format!("{}.{name}", p.t),
            g: join_guards(&p.g, &guards),
            ty: LTy::V(ty.clone()),
            rt: true,
            steps: p.steps + 1,
        };
        match &p.ty {
            LTy::E(ts, varying) => {
                let root = p.t == "principal" || p.t == "resource";
                if root {
                    let mut names: Vec<&Field> = Vec::new();
                    for t in ts {
                        for f in &m.ents[*t].attrs {
                            if !names.iter().any(|x| x.name == f.name) {
                                names.push(f);
                            }
                        }
                    }
                    for f in names {
                        let required = ts.iter().all(|t| m.attr(*t, &f.name).is_some_and(|a| !a.opt));
                        let g = if required { vec![] } else { vec![format!("{} has {}", p.t, f.name)] };
                        out.push(step(&f.name, &f.ty, g));
                    }
                } else if ts.len() == 1 && !varying {
                    for f in &m.ents[ts[0]].attrs {
                        let g = if f.opt { vec![format!("{} has {}", p.t, f.name)] } else { vec![] };
                        out.push(step(&f.name, &f.ty, g));
                    }
                } else {
                    for t in ts {
                        for f in &m.ents[*t].attrs {
                            let mut g = vec![format!("{} is {}", p.t, m.ents[*t].name)];
                            if f.opt {
                                g.push(format!("{} has {}", p.t, f.name));
                            }
                            out.push(step(&f.name, &f.ty, g));
                        }
                    }
                }
            }
            LTy::V(Ty::Ent(k)) => {
                for f in &m.ents[*k].attrs {
                    let g = if f.opt { vec![format!("{} has {}", p.t, f.name)] } else { vec![] };
                    out.push(step(&f.name, &f.ty, g));
                }
            }
            LTy::V(Ty::Rec(r)) => {
                for f in &m.recs[*r] {
                    let g = if f.opt { vec![format!("{} has {}", p.t, f.name)] } else { vec![] };
                    out.push(step(&f.name, &f.ty, g));
                }
            }
            _ => {}
        }
        out
    }

    fn path_of(&mut self, env: &Env, ty: &Ty) -> Option<G> {
        let ps: Vec<Path> = self.paths(env).into_iter().filter(|p| p.ty == LTy::V(ty.clone())).collect();
        if ps.is_empty() {
            return None;
        }
        let p = self.r.pick(&ps).clone();
        Some(G { t: p.t, g: p.g, rt: p.rt })
    }

    /// An entity of exactly type `k` (for arguments and `.contains`): a path of that type,
    /// or `principal`/`resource`/a variable narrowed by `is`, or (if allowed) a literal.
    fn ent_of(&mut self, env: &Env, k: usize, literal_ok: bool) -> Option<G> {
        let m = self.m.clone();
        let mut cands: Vec<G> = Vec::new();
        for p in self.paths(env) {
            match &p.ty {
                LTy::V(Ty::Ent(x)) if *x == k => cands.push(G { t: p.t, g: p.g, rt: true }),
                LTy::E(ts, varying) if ts.contains(&k) => {
                    let mut g = p.g.clone();
                    if *varying || ts.len() > 1 {
                        g.push(format!("{} is {}", p.t, m.ents[k].name));
                    }
                    cands.push(G { t: p.t, g, rt: true });
                }
                _ => {}
            }
        }
        if literal_ok && (cands.is_empty() || self.r.chance(40)) {
            return Some(self.lit(&Ty::Ent(k), false));
        }
        if cands.is_empty() {
            return None;
        }
        Some(self.r.pick(&cands).clone())
    }

    // -------------------------------------------------------------- values

    /// A value of type `ty`. `bare_ok`: an enum literal may be written bare here.
    fn val(&mut self, env: &mut Env, ty: &Ty, d: u32, bare_ok: bool) -> G {
        // `d` bounds the size of what is asked for; methods and calls at depth 0 still
        // nest, so a hard limit keeps every expression small.
        if self.nest >= MAX_NEST {
            return self.lit(ty, bare_ok);
        }
        self.nest += 1;
        let g = self.val_inner(env, ty, d, bare_ok);
        self.nest -= 1;
        g
    }

    fn val_inner(&mut self, env: &mut Env, ty: &Ty, d: u32, bare_ok: bool) -> G {
        for _ in 0..6 {
            if let Some(g) = self.val_try(env, ty, d, bare_ok) {
                if !g.g.is_empty() && self.r.chance(8) {
                    // Move the guards into an `if` around the value.
                    return self.unguard(g, ty);
                }
                return g;
            }
        }
        self.lit(ty, bare_ok)
    }

    /// A value known only at decision time, if one can be made here.
    fn val_rt(&mut self, env: &mut Env, ty: &Ty, d: u32) -> Option<G> {
        if self.nest >= MAX_NEST {
            return self.path_of(env, ty);
        }
        self.nest += 1;
        let mut found = None;
        for _ in 0..8 {
            if let Some(g) = self.val_try(env, ty, d, false) {
                if g.rt {
                    found = Some(g);
                    break;
                }
            }
        }
        self.nest -= 1;
        found.or_else(|| self.path_of(env, ty))
    }

    /// `(if g1 and g2 then v else literal)`: a value without outer guards.
    fn unguard(&mut self, g: G, ty: &Ty) -> G {
        if g.g.is_empty() {
            return g;
        }
        // One `if` per guard: a guard that is false in some request shape folds its `if` to
        // the `else` branch there (`a and false` does not fold, so one `if` for all guards
        // would check the read in a shape that lacks the attribute).
        let mut t = g.t;
        for guard in dedup(g.g).iter().rev() {
            let fallback = self.lit(ty, false);
            t = format!("(if {guard} then {t} else {})", fallback.t);
        }
        G { t, g: vec![], rt: false }
    }

    fn val_try(&mut self, env: &mut Env, ty: &Ty, d: u32, bare_ok: bool) -> Option<G> {
        let d1 = d.saturating_sub(1);
        let deep = d > 0;
        match ty {
            Ty::Bool => Some(G { t: self.bool(env, d), g: vec![], rt: false }),
            Ty::Int => match self.r.weighted(&[24, 28, if deep { 24 } else { 0 }, 4, 18, 4, 3, 6]) {
                0 => Some(self.lit(ty, false)),
                1 => self.path_of(env, ty),
                2 => {
                    let a = self.val_rt(env, &Ty::Int, d1)?;
                    // Often a large constant, so that the sum or product overflows.
                    let b = if self.r.chance(35) {
                        G::c(int_text(*self.r.pick(INTS_EDGE)))
                    } else {
                        self.val(env, &Ty::Int, d1, false)
                    };
                    let op = *self.r.pick(&["+", "-", "*"]);
                    let (x, y) = if self.r.chance(50) { (a, b) } else { (b, a) };
                    Some(G { t: format!("({} {op} {})", x.t, y.t), g: join_guards(&x.g, &y.g), rt: true })
                }
                3 => {
                    let a = self.val_rt(env, &Ty::Int, d1)?;
                    Some(G { t: format!("(-{})", a.t), g: a.g, rt: true })
                }
                4 => self.int_method(env, d1),
                5 if deep => self.if_val(env, ty, d1),
                6 if deep => self.rec_field(env, ty, d1),
                7 => self.call_user(env, ty, d1),
                _ => None,
            },
            Ty::Str => match self.r.weighted(&[35, 30, 20, 7, 4, 4]) {
                0 => Some(self.lit(ty, false)),
                1 => self.path_of(env, ty),
                2 => self.str_method(env, d1),
                3 => {
                    let f = self.r.pick_str(STD_STR);
                    let a = self.val(env, &Ty::Str, d1, false);
                    Some(G { t: format!("{f}({})", a.t), g: a.g, rt: a.rt })
                }
                4 if deep => self.if_val(env, ty, d1),
                5 => self.call_user(env, ty, d1),
                _ => None,
            },
            Ty::Dur => match self.r.weighted(&[30, 25, if deep { 20 } else { 0 }, 8, 4, 4, 3]) {
                0 => Some(self.lit(ty, false)),
                1 => self.path_of(env, ty),
                2 => self.dur_arith(env, d1),
                3 => {
                    // time.age(t, now) = now - t
                    let a = self.val_rt(env, &Ty::Ts, d1)?;
                    let b = self.val(env, &Ty::Ts, d1, false);
                    let (x, y) = if self.r.chance(50) { (a, b) } else { (b, a) };
                    Some(G { t: format!("time.age({}, {})", x.t, y.t), g: join_guards(&x.g, &y.g), rt: true })
                }
                4 if deep => self.if_val(env, ty, d1),
                5 => self.call_user(env, ty, d1),
                6 if deep => self.rec_field(env, ty, d1),
                _ => None,
            },
            Ty::Ts => match self.r.weighted(&[30, 35, 10, if deep { 20 } else { 0 }, 5]) {
                0 => Some(self.lit(ty, false)),
                1 => self.path_of(env, ty),
                2 => {
                    // Only on host values and literals (years 1–9999). `.date()` of a computed
                    // timestamp near the earliest one used to panic; it is now an overflow
                    // error (`date_of_the_earliest_timestamps_fails_closed` covers it).
                    let a = match self.path_of(env, &Ty::Ts) {
                        Some(p) if self.r.chance(70) => p,
                        _ => self.lit(&Ty::Ts, false),
                    };
                    Some(G { t: format!("{}.date()", a.t), g: a.g, rt: a.rt })
                }
                3 => {
                    // t ± d, d + t
                    let (tt, dd) = if self.r.chance(50) {
                        let dd =
                            if self.r.chance(30) { G::c("106751991167d") } else { self.val(env, &Ty::Dur, d1, false) };
                        (self.val_rt(env, &Ty::Ts, d1)?, dd)
                    } else {
                        (self.val(env, &Ty::Ts, d1, false), self.val_rt(env, &Ty::Dur, d1)?)
                    };
                    let g = join_guards(&tt.g, &dd.g);
                    let t = match self.r.below(3) {
                        0 => format!("({} + {})", tt.t, dd.t),
                        1 => format!("({} - {})", tt.t, dd.t),
                        _ => format!("({} + {})", dd.t, tt.t),
                    };
                    Some(G { t, g, rt: true })
                }
                4 if deep => self.if_val(env, ty, d1),
                _ => None,
            },
            Ty::Ip => {
                if self.r.chance(45) {
                    Some(self.lit(ty, false))
                } else {
                    self.path_of(env, ty)
                }
            }
            Ty::Enum(_) => match self.r.weighted(&[45, 45, 10]) {
                0 => Some(self.lit(ty, bare_ok)),
                1 => self.path_of(env, ty),
                _ if deep => self.if_val(env, ty, d1),
                _ => None,
            },
            Ty::Set(x) => match self.r.weighted(&[40, 50, 10]) {
                0 => Some(self.set_lit(env, x, d1, bare_ok)),
                1 => self.path_of(env, ty),
                _ if deep => self.if_val(env, ty, d1),
                _ => None,
            },
            Ty::Rec(_) => self.path_of(env, ty),
            Ty::Ent(k) => self.ent_of(env, *k, true),
            Ty::Intent => match self.r.weighted(&[40, 40, if env.rule.is_some() { 20 } else { 0 }]) {
                0 => Some(self.lit(ty, false)),
                1 => self.path_of(env, ty),
                _ => Some(G { t: "intent".into(), g: vec![], rt: true }),
            },
        }
    }

    fn set_lit(&mut self, env: &mut Env, elem: &Ty, d: u32, bare_ok: bool) -> G {
        let n = self.r.range(1, 3);
        let mut items = Vec::new();
        let mut g = Vec::new();
        let mut rt = false;
        for i in 0..n {
            let x = if self.r.chance(75) {
                self.lit(elem, bare_ok || i > 0)
            } else {
                self.val(env, elem, d, bare_ok || i > 0)
            };
            g = join_guards(&g, &x.g);
            rt |= x.rt;
            items.push(x.t);
        }
        G { t: format!("[{}]", items.join(", ")), g, rt }
    }

    fn if_val(&mut self, env: &mut Env, ty: &Ty, d: u32) -> Option<G> {
        let c = self.bool(env, d);
        let a = self.val(env, ty, d, false);
        let b = self.val(env, ty, d, false);
        Some(G { t: format!("(if {c} then {} else {})", a.t, b.t), g: join_guards(&a.g, &b.g), rt: a.rt && b.rt })
    }

    /// `{a: v, b: w}.a`
    fn rec_field(&mut self, env: &mut Env, ty: &Ty, d: u32) -> Option<G> {
        let names = self.r.some(LIT_FIELDS, 1, 3);
        let pick = self.r.below(names.len());
        let mut fields = Vec::new();
        let mut g = Vec::new();
        let mut rt = false;
        for (i, n) in names.iter().enumerate() {
            let x = if i == pick {
                self.val(env, ty, d, false)
            } else {
                let other = self.simple_ty();
                self.val(env, &other, d, false)
            };
            g = join_guards(&g, &x.g);
            rt |= x.rt;
            fields.push(format!("{n}: {}", x.t));
        }
        Some(G { t: format!("({{{}}}.{})", fields.join(", "), names[pick]), g, rt })
    }

    fn simple_ty(&mut self) -> Ty {
        match self.r.below(7) {
            0 => Ty::Bool,
            1 => Ty::Int,
            2 => Ty::Str,
            3 => Ty::Dur,
            4 => Ty::Ts,
            5 => Ty::Ip,
            _ => Ty::set(Ty::Str),
        }
    }

    /// The type of a computed grant value.
    fn probe_ty(&mut self) -> Ty {
        let m = self.m.clone();
        match self.r.below(10) {
            0 | 1 => Ty::Int,
            2 | 3 => Ty::Str,
            4 => Ty::Dur,
            5 => Ty::Ts,
            6 => Ty::Ip,
            7 => Ty::Bool,
            8 => Ty::Enum(self.r.below(m.enums.len())),
            _ => {
                let e = self.elem_ty();
                Ty::set(e)
            }
        }
    }

    fn elem_ty(&mut self) -> Ty {
        let m = self.m.clone();
        match self.r.below(7) {
            0 | 1 => Ty::Str,
            2 => Ty::Int,
            3 => Ty::Ip,
            4 => Ty::Enum(self.r.below(m.enums.len())),
            5 => Ty::Ent(self.r.below(m.ents.len())),
            _ => Ty::Dur,
        }
    }

    fn int_method(&mut self, env: &mut Env, d: u32) -> Option<G> {
        match self.r.below(8) {
            0 => {
                let s = self.recv(env, &Ty::Str, d);
                Some(G { t: format!("{}.len()", s.t), g: s.g, rt: s.rt })
            }
            1 => {
                if env.rule.is_some() && self.r.chance(40) {
                    return Some(G { t: "on_behalf_of.len()".into(), g: vec![], rt: true });
                }
                let e = self.elem_ty();
                let s = self.val(env, &Ty::set(e), d, false);
                Some(G { t: format!("{}.len()", s.t), g: s.g, rt: s.rt })
            }
            2 | 3 => {
                let t = self.recv(env, &Ty::Ts, d);
                let m = *self.r.pick(&["hour", "minute", "weekday"]);
                Some(G { t: format!("{}.{m}()", t.t), g: t.g, rt: t.rt })
            }
            _ => {
                let x = self.recv(env, &Ty::Dur, d);
                let m = *self.r.pick(&["millis", "seconds", "minutes", "hours"]);
                Some(G { t: format!("{}.{m}()", x.t), g: x.g, rt: x.rt })
            }
        }
    }

    /// A value of type `ty`, usually one known only at decision time: a method called on a
    /// constant is folded by the checker and tests neither back end.
    fn recv(&mut self, env: &mut Env, ty: &Ty, d: u32) -> G {
        if self.r.chance(75) {
            if let Some(g) = self.val_rt(env, ty, d) {
                return g;
            }
        }
        self.val(env, ty, d, false)
    }

    fn str_method(&mut self, env: &mut Env, d: u32) -> Option<G> {
        let s = self.recv(env, &Ty::Str, d);
        match self.r.below(7) {
            0 => Some(G { t: format!("{}.lower()", s.t), g: s.g, rt: s.rt }),
            1 => Some(G { t: format!("{}.upper()", s.t), g: s.g, rt: s.rt }),
            2..=5 => {
                let m = *self.r.pick(&["strip_prefix", "strip_suffix", "before", "after"]);
                let arg =
                    if self.r.chance(75) { G::c(q(self.r.pick_str(SEPS))) } else { self.val(env, &Ty::Str, d, false) };
                Some(G { t: format!("{}.{m}({})", s.t, arg.t), g: join_guards(&s.g, &arg.g), rt: s.rt || arg.rt })
            }
            _ => {
                let sep = q(self.r.pick_str(SEPS));
                let n = if self.r.chance(70) {
                    G::c(self.r.range(0, 4).to_string())
                } else {
                    self.val(env, &Ty::Int, d, false)
                };
                Some(G { t: format!("{}.segment({sep}, {})", s.t, n.t), g: join_guards(&s.g, &n.g), rt: s.rt || n.rt })
            }
        }
    }

    fn dur_arith(&mut self, env: &mut Env, d: u32) -> Option<G> {
        match self.r.below(5) {
            0 | 1 => {
                let a = self.val_rt(env, &Ty::Dur, d)?;
                let b = self.val(env, &Ty::Dur, d, false);
                let op = *self.r.pick(&["+", "-"]);
                let (x, y) = if self.r.chance(50) { (a, b) } else { (b, a) };
                Some(G { t: format!("({} {op} {})", x.t, y.t), g: join_guards(&x.g, &y.g), rt: true })
            }
            2 => {
                let a = self.val_rt(env, &Ty::Ts, d)?;
                let b = self.val(env, &Ty::Ts, d, false);
                let (x, y) = if self.r.chance(50) { (a, b) } else { (b, a) };
                Some(G { t: format!("({} - {})", x.t, y.t), g: join_guards(&x.g, &y.g), rt: true })
            }
            3 => {
                // Duration * Int, Int * Duration
                let (dd, n) = if self.r.chance(50) {
                    let n = if self.r.chance(35) {
                        G::c(int_text(*self.r.pick(INTS_EDGE)))
                    } else {
                        self.val(env, &Ty::Int, d, false)
                    };
                    (self.val_rt(env, &Ty::Dur, d)?, n)
                } else {
                    (self.val(env, &Ty::Dur, d, false), self.val_rt(env, &Ty::Int, d)?)
                };
                let g = join_guards(&dd.g, &n.g);
                let t =
                    if self.r.chance(50) { format!("({} * {})", dd.t, n.t) } else { format!("({} * {})", n.t, dd.t) };
                Some(G { t, g, rt: true })
            }
            _ => {
                let a = self.val_rt(env, &Ty::Dur, d)?;
                Some(G { t: format!("(-{})", a.t), g: a.g, rt: true })
            }
        }
    }

    /// A call of a user function returning `ret`.
    fn call_user(&mut self, env: &mut Env, ret: &Ty, d: u32) -> Option<G> {
        let m = self.m.clone();
        let cands: Vec<usize> = (0..env.fns.min(m.fns.len())).filter(|i| m.fns[*i].ret == *ret).collect();
        if cands.is_empty() {
            return None;
        }
        let f = &m.fns[*self.r.pick(&cands)];
        let mut args = Vec::new();
        let mut g = Vec::new();
        let mut rt = false;
        for (_, pty) in &f.params {
            let a = self.arg(env, pty, d)?;
            g = join_guards(&g, &a.g);
            rt |= a.rt;
            args.push(a.t);
        }
        Some(G { t: format!("{}({})", f.name, args.join(", ")), g, rt })
    }

    /// An argument for a parameter of type `ty`: numeric ones are known only at decision
    /// time (so the inlined body never folds to an overflowing constant), entity ones are
    /// never literals.
    fn arg(&mut self, env: &mut Env, ty: &Ty, d: u32) -> Option<G> {
        match ty {
            t if t.numeric() => self.val_rt(env, t, d),
            Ty::Ent(k) => self.ent_of(env, *k, false),
            t => Some(self.val(env, t, d, true)),
        }
    }

    // -------------------------------------------------------------- conditions

    /// A condition with every guard applied.
    fn bool(&mut self, env: &mut Env, d: u32) -> String {
        let g = self.bool_g(env, d);
        wrap(g)
    }

    fn bool_g(&mut self, env: &mut Env, d: u32) -> G {
        if self.nest >= MAX_NEST {
            return self.lit(&Ty::Bool, false);
        }
        self.nest += 1;
        let g = self.bool_inner(env, d);
        self.nest -= 1;
        g
    }

    fn bool_inner(&mut self, env: &mut Env, d: u32) -> G {
        if d == 0 {
            return self.atom(env, 0);
        }
        match self.r.below(100) {
            0..=11 => {
                let n = self.r.range(2, 3);
                let word = if self.r.chance(50) { " and " } else { " or " };
                let parts: Vec<String> = (0..n).map(|_| self.bool(env, d - 1)).collect();
                G::c(format!("({})", parts.join(word)))
            }
            12..=16 => {
                let x = self.bool(env, d - 1);
                G::c(format!("(not {x})"))
            }
            17..=19 => {
                let c = self.bool(env, d - 1);
                let a = self.bool(env, d - 1);
                let b = self.bool(env, d - 1);
                G::c(format!("(if {c} then {a} else {b})"))
            }
            _ => self.atom(env, d),
        }
    }

    fn atom(&mut self, env: &mut Env, d: u32) -> G {
        let rule = env.rule.is_some();
        let has_ents = rule || env.locals.iter().any(|l| matches!(l.ty, LTy::E(..) | LTy::V(Ty::Ent(_))));
        for _ in 0..12 {
            let w = [
                26,
                8,
                if has_ents { 9 } else { 0 },
                if has_ents { 5 } else { 0 },
                5,
                6,
                if d > 0 { 8 } else { 0 },
                10,
                7,
                5,
                if rule { 6 } else { 0 },
                if rule { 4 } else { 0 },
                1,
                2,
            ];
            let got = match self.r.weighted(&w) {
                0 => self.cmp(env, d),
                1 => self.in_set(env, d),
                2 => self.ent_in(env),
                3 => self.is_test(env),
                4 => self.has_test(env),
                5 => {
                    let s = match self.val_rt(env, &Ty::Str, d.saturating_sub(1)) {
                        Some(s) => s,
                        None => self.val(env, &Ty::Str, d.saturating_sub(1), false),
                    };
                    Some(G { t: format!("({} like {})", s.t, q(self.r.pick_str(GLOBS))), g: s.g, rt: false })
                }
                6 => self.quant(env, d),
                7 => self.bool_method(env, d.saturating_sub(1)),
                8 => self.bool_call(env, d.saturating_sub(1)),
                9 => self.path_of(env, &Ty::Bool),
                10 => self.request_test(env),
                11 => self.obo_test(env),
                12 => Some(self.lit(&Ty::Bool, false)),
                _ => self.rec_cmp(env, d.saturating_sub(1)),
            };
            if let Some(g) = got {
                // Conditions on constants only are folded by the checker and test neither
                // back end: keep few of them.
                if !reads_request(&g.t) && !g.g.iter().any(|x| reads_request(x)) && self.r.chance(85) {
                    continue;
                }
                return g;
            }
        }
        self.lit(&Ty::Bool, false)
    }

    fn cmp(&mut self, env: &mut Env, d: u32) -> Option<G> {
        let m = self.m.clone();
        let d1 = d.saturating_sub(1);
        let ty = match self.r.weighted(&[25, 14, 10, 10, 12, 4, 5, 5, 6, 3]) {
            0 => Ty::Int,
            1 => Ty::Str,
            2 => Ty::Dur,
            3 => Ty::Ts,
            4 => Ty::Enum(self.r.below(m.enums.len())),
            5 => Ty::Bool,
            6 => Ty::Ip,
            7 => Ty::set(self.elem_ty()),
            8 => return self.ent_eq(env),
            _ => Ty::Intent,
        };
        let ops: &[&str] = if ty.ordered() { &["==", "!=", "<", "<=", ">", ">="] } else { &["==", "!="] };
        let op = *self.r.pick(ops);
        // One side usually reads the request, the other is often a literal.
        let a = match self.val_rt(env, &ty, d1) {
            Some(a) if self.r.chance(80) => a,
            _ => self.val(env, &ty, d1, false),
        };
        let b = if matches!(ty, Ty::Set(_)) && self.r.chance(15) {
            G::c("[]")
        } else if self.r.chance(50) {
            let bare = matches!(ty, Ty::Enum(_)) && !a.t.chars().all(|c| c.is_alphanumeric() || c == '_');
            self.lit(&ty, bare)
        } else {
            self.val(env, &ty, d1, false)
        };
        let (x, y) = if self.r.chance(30) { (b, a) } else { (a, b) };
        Some(G { t: format!("({} {op} {})", x.t, y.t), g: join_guards(&x.g, &y.g), rt: false })
    }

    /// `==`/`!=` between entities (of any types: different types are never equal).
    fn ent_eq(&mut self, env: &mut Env) -> Option<G> {
        let a = self.any_ent(env)?;
        let b = self.any_ent(env)?;
        let op = *self.r.pick(&["==", "!="]);
        Some(G { t: format!("({} {op} {})", a.t, b.t), g: join_guards(&a.g, &b.g), rt: false })
    }

    fn any_ent(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        if self.r.chance(30) {
            let k = self.r.below(m.ents.len());
            return Some(self.lit(&Ty::Ent(k), false));
        }
        let ps: Vec<Path> =
            self.paths(env).into_iter().filter(|p| matches!(p.ty, LTy::E(..) | LTy::V(Ty::Ent(_)))).collect();
        if ps.is_empty() {
            return None;
        }
        let p = self.r.pick(&ps).clone();
        Some(G { t: p.t, g: p.g, rt: true })
    }

    /// `x in [..]` / `x in S` on values.
    fn in_set(&mut self, env: &mut Env, d: u32) -> Option<G> {
        let m = self.m.clone();
        let d1 = d.saturating_sub(1);
        let ty = match self.r.below(6) {
            0 | 1 => Ty::Str,
            2 => Ty::Int,
            3 => Ty::Enum(self.r.below(m.enums.len())),
            4 => Ty::Ip,
            _ => Ty::Dur,
        };
        let x = self.val(env, &ty, d1, false);
        let s = match self.r.below(10) {
            0 => G::c("[]"),
            1..=5 => self.set_lit(env, &ty, d1, true),
            _ => self.val(env, &Ty::set(ty.clone()), d1, true),
        };
        Some(G { t: format!("({} in {})", x.t, s.t), g: join_guards(&x.g, &s.g), rt: false })
    }

    /// Entity membership, only where the schema lets it hold in some request shape.
    fn ent_in(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        let paths = self.paths(env);
        let varying: Vec<&Path> = paths.iter().filter(|p| matches!(p.ty, LTy::E(..))).collect();
        let fixed: Vec<(&Path, usize)> = paths
            .iter()
            .filter_map(|p| match p.ty {
                LTy::V(Ty::Ent(k)) => Some((p, k)),
                _ => None,
            })
            .collect();
        let lit_of = |g: &mut Gen, types: &[usize]| -> Option<(String, usize)> {
            if types.is_empty() {
                return None;
            }
            let a = *g.r.pick(types);
            let id = *g.r.pick(&m.ents[a].ids);
            Some((ent_lit(&m, a, id), a))
        };
        if (self.r.chance(50) || fixed.is_empty()) && !varying.is_empty() {
            // A root whose type may vary: the right side is a literal (or a set of them, or
            // on_behalf_of for the principal).
            // The membership must be possible wherever the test is checked: an earlier clause
            // that is false in some request shape stops the checker there, so "possible in
            // another shape" is not enough. Where the literal's type is not an ancestor of
            // every type the root may have, narrow the root with `is` first.
            let p = (*self.r.pick(&varying)).clone();
            let LTy::E(ts, _) = &p.ty else { return None };
            if p.t == "principal" && self.r.chance(20) {
                return Some(G { t: "(principal in on_behalf_of)".into(), g: p.g, rt: false });
            }
            let t = *self.r.pick(ts);
            let (a, at) = lit_of(self, &m.ents[t].anc)?;
            let rhs = if self.r.chance(25) {
                let ids = m.ents[at].ids.clone();
                let more = self.r.subset(&ids, 2);
                let mut items = vec![a];
                items.extend(more.iter().map(|id| ent_lit(&m, at, id)));
                format!("[{}]", items.join(", "))
            } else {
                a
            };
            let mut g = p.g.clone();
            if !ts.iter().all(|u| m.ents[*u].anc.contains(&at)) {
                g.push(format!("{} is {}", p.t, m.ents[t].name));
            }
            return Some(G { t: format!("({} in {rhs})", p.t), g, rt: false });
        }
        if fixed.is_empty() {
            return None;
        }
        let (p, k) = *self.r.pick(&fixed);
        let p = p.clone();
        let ancs = m.ents[k].anc.clone();
        // Right side: literal, fixed entity path, set path or set literal.
        let rhs_paths: Vec<&Path> = paths
            .iter()
            .filter(|q| match &q.ty {
                LTy::V(Ty::Ent(a)) => ancs.contains(a),
                LTy::V(Ty::Set(x)) => matches!(**x, Ty::Ent(a) if ancs.contains(&a)),
                _ => false,
            })
            .collect();
        let (rhs, rg) = if !rhs_paths.is_empty() && self.r.chance(45) {
            let q = (*self.r.pick(&rhs_paths)).clone();
            (q.t, q.g)
        } else {
            (lit_of(self, &ancs)?.0, vec![])
        };
        Some(G { t: format!("({} in {rhs})", p.t), g: join_guards(&p.g, &rg), rt: false })
    }

    fn is_test(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        let ps: Vec<Path> = self.paths(env).into_iter().filter(|p| matches!(p.ty, LTy::E(..))).collect();
        if ps.is_empty() {
            return None;
        }
        let p = self.r.pick(&ps).clone();
        let LTy::E(ts, _) = &p.ty else { return None };
        let t = if self.r.chance(80) { *self.r.pick(ts) } else { self.r.below(m.ents.len()) };
        let tname = m.ents[t].name;
        if self.r.chance(35) {
            let a = *self.r.pick(&m.ents[t].anc);
            let id = *self.r.pick(&m.ents[a].ids);
            return Some(G { t: format!("({} is {tname} in {})", p.t, ent_lit(&m, a, id)), g: p.g, rt: false });
        }
        Some(G { t: format!("({} is {tname})", p.t), g: p.g, rt: false })
    }

    fn has_test(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        let paths = self.paths(env);
        let mut cands: Vec<G> = Vec::new();
        if let Some(rc) = &env.rule {
            for f in &rc.ctx {
                cands.push(G::c(format!("(context has {})", f.name)));
            }
        }
        for p in &paths {
            match &p.ty {
                LTy::E(ts, varying) => {
                    let root = p.t == "principal" || p.t == "resource";
                    for t in ts {
                        for f in &m.ents[*t].attrs {
                            let mut g = p.g.clone();
                            if !root && (*varying || ts.len() > 1) {
                                g.push(format!("{} is {}", p.t, m.ents[*t].name));
                            }
                            cands.push(G { t: format!("({} has {})", p.t, f.name), g, rt: false });
                        }
                    }
                }
                LTy::V(Ty::Ent(k)) => {
                    for f in &m.ents[*k].attrs {
                        cands.push(G { t: format!("({} has {})", p.t, f.name), g: p.g.clone(), rt: false });
                    }
                }
                LTy::V(Ty::Rec(r)) => {
                    for f in &m.recs[*r] {
                        cands.push(G { t: format!("({} has {})", p.t, f.name), g: p.g.clone(), rt: false });
                    }
                }
                _ => {}
            }
        }
        if cands.is_empty() {
            return None;
        }
        Some(self.r.pick(&cands).clone())
    }

    fn quant(&mut self, env: &mut Env, d: u32) -> Option<G> {
        let q = if self.r.chance(50) { "all" } else { "any" };
        let name = self.fresh();
        let (set, lty) = match (&env.rule, self.r.below(10)) {
            (Some(rc), 0..=3) => (G::c("on_behalf_of"), LTy::E(rc.obo.clone(), true)),
            _ => {
                let e = self.elem_ty();
                let s = self.val(env, &Ty::set(e.clone()), d.saturating_sub(1), true);
                let lty = match e {
                    Ty::Ent(k) => LTy::E(vec![k], false),
                    other => LTy::V(other),
                };
                (s, lty)
            }
        };
        env.locals.push(Local { name: name.clone(), ty: lty, rt: true });
        let body = self.bool(env, d.saturating_sub(1));
        env.locals.pop();
        Some(G { t: format!("({q} {name} in {}: {body})", set.t), g: set.g, rt: false })
    }

    fn bool_method(&mut self, env: &mut Env, d: u32) -> Option<G> {
        match self.r.below(10) {
            0..=2 => {
                let s = self.recv(env, &Ty::Str, d);
                let m = *self.r.pick(&["starts_with", "ends_with", "contains"]);
                let a = if self.r.chance(70) { self.lit(&Ty::Str, false) } else { self.val(env, &Ty::Str, d, false) };
                Some(G { t: format!("{}.{m}({})", s.t, a.t), g: join_guards(&s.g, &a.g), rt: false })
            }
            3 => {
                // Entities of several types with the same ids: membership is by type and id.
                let m = self.m.clone();
                if m.ents.len() < 2 {
                    return None;
                }
                let k = self.r.below(m.ents.len());
                let x = self.ent_of(env, k, false)?;
                let mut items = Vec::new();
                for _ in 0..self.r.range(2, 4) {
                    let t = self.r.below(m.ents.len());
                    let id = *self.r.pick(&m.ents[k].ids);
                    items.push(ent_lit(&m, t, id));
                }
                items.push(ent_lit(&m, k, self.r.pick_str(&m.ents[k].ids)));
                let set = format!("[{}]", items.join(", "));
                let t =
                    if self.r.chance(50) { format!("{set}.contains({})", x.t) } else { format!("({} in {set})", x.t) };
                Some(G { t, g: x.g, rt: true })
            }
            4..=6 => {
                let e = self.elem_ty();
                let s = self.val(env, &Ty::set(e.clone()), d, true);
                match self.r.below(4) {
                    0 => Some(G { t: format!("{}.is_empty()", s.t), g: s.g, rt: false }),
                    1 => {
                        let x = match &e {
                            Ty::Ent(k) => self.ent_of(env, *k, true)?,
                            t => self.val(env, t, d, true),
                        };
                        Some(G { t: format!("{}.contains({})", s.t, x.t), g: join_guards(&s.g, &x.g), rt: false })
                    }
                    _ => {
                        let m = *self.r.pick(&["contains_any", "contains_all"]);
                        let o = if self.r.chance(60) {
                            self.set_lit(env, &e, d, true)
                        } else {
                            self.val(env, &Ty::set(e.clone()), d, true)
                        };
                        Some(G { t: format!("{}.{m}({})", s.t, o.t), g: join_guards(&s.g, &o.g), rt: false })
                    }
                }
            }
            _ => {
                let a = self.recv(env, &Ty::Ip, d);
                match self.r.below(4) {
                    0 => {
                        let b = self.val(env, &Ty::Ip, d, false);
                        Some(G { t: format!("{}.in_range({})", a.t, b.t), g: join_guards(&a.g, &b.g), rt: false })
                    }
                    1 => Some(G { t: format!("{}.is_loopback()", a.t), g: a.g, rt: false }),
                    2 => Some(G { t: format!("{}.is_private()", a.t), g: a.g, rt: false }),
                    _ => Some(G { t: format!("{}.is_v4()", a.t), g: a.g, rt: false }),
                }
            }
        }
    }

    fn bool_call(&mut self, env: &mut Env, d: u32) -> Option<G> {
        if self.r.chance(40) {
            if let Some(g) = self.call_user(env, &Ty::Bool, d) {
                return Some(g);
            }
        }
        match self.r.below(10) {
            0 => {
                let a = self.val(env, &Ty::Ip, d, false);
                let s = self.val(env, &Ty::set(Ty::Ip), d, false);
                let f = *self.r.pick(&["net.in_any_range", "net.outside_ranges"]);
                Some(G { t: format!("{f}({}, {})", a.t, s.t), g: join_guards(&a.g, &s.g), rt: false })
            }
            1 => {
                let a = self.val(env, &Ty::Str, d, false);
                let n = self.val(env, &Ty::Int, d, false);
                let s = self.lit(&Ty::Str, false);
                Some(G {
                    t: format!("(identity.segment({}, {}) == {})", a.t, n.t, s.t),
                    g: join_guards(&a.g, &n.g),
                    rt: false,
                })
            }
            _ => {
                let (name, params, need_rt) = *self.r.pick(STD_BOOL);
                let mut args = Vec::new();
                let mut g = Vec::new();
                // time.fresh(t, now, max) subtracts: one of t, now is a decision-time value.
                let rt_at = if need_rt.iter().any(|x| *x) { self.r.below(2) } else { usize::MAX };
                for (i, p) in params.iter().enumerate() {
                    let a = if i == rt_at {
                        self.val_rt(env, p, d)?
                    } else if name == "identity.matches" && i == 1 {
                        // The pattern: a constant one must be a valid glob (it is checked
                        // when the call is inlined); one read from the request is matched
                        // leniently.
                        match self.r.chance(60) {
                            true => G::c(q(self.r.pick_str(GLOBS))),
                            false => self.val_rt(env, p, d).unwrap_or_else(|| G::c(q(self.r.pick_str(GLOBS)))),
                        }
                    } else if p == &Ty::Int {
                        G::c(self.r.range(0, 23).to_string())
                    } else {
                        self.val(env, p, d, false)
                    };
                    g = join_guards(&g, &a.g);
                    args.push(a.t);
                }
                Some(G { t: format!("{name}({})", args.join(", ")), g, rt: false })
            }
        }
    }

    /// `intent …` and `action …` tests.
    fn request_test(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        let rc = env.rule.clone()?;
        if self.r.chance(50) {
            let mut names: Vec<&str> = m.intents.iter().map(|i| i.name).collect();
            names.push("none");
            let t = match self.r.below(4) {
                0 => format!("(intent {} none)", self.r.pick(&["==", "!="])),
                1 => {
                    let items = self.r.some(&names, 1, 3);
                    format!("(intent in [{}])", items.join(", "))
                }
                _ => format!("(intent {} {})", self.r.pick(&["==", "!="]), self.r.pick(&names)),
            };
            return Some(G::c(t));
        }
        let a = if self.r.chance(70) { *self.r.pick(&rc.acts) } else { self.r.below(m.acts.len()) };
        let t = match self.r.below(4) {
            0 if !m.groups.is_empty() => format!("(action in {})", self.r.pick(&m.groups).0),
            1 => {
                let all: Vec<&str> = m.acts.iter().map(|a| a.name).collect();
                let items = self.r.some(&all, 1, 3);
                format!("(action in [{}])", items.join(", "))
            }
            _ => format!("(action {} {})", self.r.pick(&["==", "!="]), m.acts[a].name),
        };
        Some(G::c(t))
    }

    fn obo_test(&mut self, env: &mut Env) -> Option<G> {
        let m = self.m.clone();
        let rc = env.rule.clone()?;
        let t = match self.r.below(6) {
            0 => "on_behalf_of.is_empty()".to_string(),
            1 => format!("(on_behalf_of.len() {} {})", self.r.pick(&["<", ">=", "==", ">"]), self.r.range(0, 3)),
            2 => "(principal in on_behalf_of)".into(),
            3 => "on_behalf_of.contains(principal)".into(),
            4 => {
                // A literal that may be in the chain of every action the rule is checked for.
                let ks: Vec<usize> = (0..m.ents.len())
                    .filter(|k| rc.acts.iter().all(|a| m.acts[*a].ps.iter().any(|p| m.may_descend(*k, *p))))
                    .collect();
                if ks.is_empty() {
                    return None;
                }
                let k = *self.r.pick(&ks);
                let id = *self.r.pick(&m.ents[k].ids);
                format!("({} in on_behalf_of)", ent_lit(&m, k, id))
            }
            // Elements must fit the set's element type in every shape: only `principal` does
            // (a literal of one principal type would not fit the sets of other actions).
            _ => "on_behalf_of.contains_any([principal])".into(),
        };
        Some(G::c(t))
    }

    /// `{a: x, b: y} == {a: z, b: w}`
    fn rec_cmp(&mut self, env: &mut Env, d: u32) -> Option<G> {
        let names = self.r.some(LIT_FIELDS, 1, 2);
        let tys: Vec<Ty> = names.iter().map(|_| self.simple_ty()).collect();
        let mut sides = Vec::new();
        let mut g = Vec::new();
        for _ in 0..2 {
            let mut fs = Vec::new();
            for (n, t) in names.iter().zip(tys.iter()) {
                let x = self.val(env, t, d, false);
                g = join_guards(&g, &x.g);
                fs.push(format!("{n}: {}", x.t));
            }
            sides.push(format!("{{{}}}", fs.join(", ")));
        }
        let op = *self.r.pick(&["==", "!="]);
        Some(G { t: format!("({} {op} {})", sides[0], sides[1]), g, rt: false })
    }

    // -------------------------------------------------------------- declarations

    fn schema_text(&mut self) -> String {
        let m = self.m.clone();
        let mut s = String::from("// Generated by tests/gen/mod.rs.\nschema {\n");
        if let Some(n) = m.max_delegation {
            s.push_str(&format!("  @max_delegation({n})\n"));
        }
        for (name, vars) in &m.enums {
            s.push_str(&format!("  enum {name} {{ {} }}\n", vars.join(", ")));
        }
        for e in &m.ents {
            if self.r.chance(20) {
                s.push_str(&format!("  /// The `{}` entity type.\n", e.name));
            }
            s.push_str(&format!("  entity {}", e.name));
            if !e.parents.is_empty() {
                let ps: Vec<&str> = e.parents.iter().map(|p| m.ents[*p].name).collect();
                s.push_str(&format!(" in {}", ps.join(" | ")));
            }
            if !e.attrs.is_empty() || self.r.chance(30) {
                let attrs: Vec<String> = e.attrs.iter().map(|f| field_text(&m, f)).collect();
                s.push_str(&format!(" {{ {} }}", attrs.join(", ")));
            }
            s.push('\n');
        }
        let common: Vec<String> = m.common.iter().map(|f| field_text(&m, f)).collect();
        s.push_str(&format!("  context {{ {} }}\n", common.join(", ")));
        for a in &m.acts {
            let ps: Vec<&str> = a.ps.iter().map(|p| m.ents[*p].name).collect();
            let rs: Vec<&str> = a.rs.iter().map(|p| m.ents[*p].name).collect();
            s.push_str(&format!("  action {}: {} -> {}", a.name, ps.join(" | "), rs.join(" | ")));
            if !a.ctx.is_empty() {
                let fs: Vec<String> = a.ctx.iter().map(|f| field_text(&m, f)).collect();
                s.push_str(&format!(" {{ {} }}", fs.join(", ")));
            }
            s.push('\n');
        }
        for (g, members) in &m.groups {
            let ns: Vec<&str> = members.iter().map(|a| m.acts[*a].name).collect();
            s.push_str(&format!("  action group {g} = [{}]\n", ns.join(", ")));
        }
        s.push_str("}\n\n");
        for i in &m.intents {
            s.push_str(&i.text);
        }
        s
    }

    /// Helper functions `f0 …`; each may call the ones before it.
    fn functions(&mut self) -> String {
        let mut model = (*self.m).clone();
        let n = self.r.range(0, 3);
        let mut out = String::new();
        for i in 0..n {
            let np = self.r.range(1, 3);
            let mut params = Vec::new();
            for j in 0..np {
                let ty = match self.r.below(10) {
                    0 => Ty::Bool,
                    1 | 2 => Ty::Int,
                    3 => Ty::Str,
                    4 => Ty::Dur,
                    5 => Ty::Ts,
                    6 => Ty::Ip,
                    7 => Ty::Enum(self.r.below(model.enums.len())),
                    8 => Ty::set(Ty::Str),
                    _ => Ty::Ent(self.r.below(model.ents.len())),
                };
                params.push((format!("p{j}"), ty));
            }
            let ret = match self.r.below(10) {
                0..=5 => Ty::Bool,
                6 | 7 => Ty::Int,
                8 => Ty::Str,
                _ => Ty::Dur,
            };
            let locals = params
                .iter()
                .map(|(n, t)| Local {
                    name: n.clone(),
                    ty: match t {
                        Ty::Ent(k) => LTy::E(vec![*k], false),
                        t => LTy::V(t.clone()),
                    },
                    rt: t.numeric(),
                })
                .collect();
            let mut env = Env { rule: None, locals, fns: i };
            let body = if ret == Ty::Bool {
                self.bool(&mut env, 3)
            } else {
                let v = self.val(&mut env, &ret, 3, false);
                self.unguard(v, &ret).t
            };
            let ps: Vec<String> = params.iter().map(|(n, t)| format!("{n}: {}", model.ty_text(t))).collect();
            if self.r.chance(50) {
                out.push_str(&format!("/// Helper number {i}.\n"));
            }
            out.push_str(&format!("fn f{i}({}) -> {} =\n  {body};\n\n", ps.join(", "), model.ty_text(&ret)));
            model.fns.push(FnSig { name: format!("f{i}"), params, ret });
            // Later functions and the rules see this one.
            self.m = Rc::new(model.clone());
        }
        out
    }

    fn rule(&mut self, idx: usize) -> String {
        let m = self.m.clone();
        let effect = ["permit", "forbid", "escalate"][self.r.weighted(&[54, 20, 26])];
        // Actions.
        let anchor = self.r.below(m.acts.len());
        let groups_with: Vec<&(&str, Vec<usize>)> = m.groups.iter().filter(|(_, ms)| ms.contains(&anchor)).collect();
        let (acts, acts_text): (Vec<usize>, String) = match self.r.below(20) {
            0 | 1 => ((0..m.acts.len()).collect(), "*".into()),
            2..=4 if !groups_with.is_empty() => {
                let (g, ms) = *self.r.pick(&groups_with);
                (ms.clone(), g.to_string())
            }
            5..=8 => {
                let all: Vec<usize> = (0..m.acts.len()).filter(|a| *a != anchor).collect();
                let mut acts = self.r.some(&all, 1, 2);
                acts.push(anchor);
                acts.sort_unstable();
                let names: Vec<&str> = acts.iter().map(|a| m.acts[*a].name).collect();
                (acts, format!("[{}]", names.join(", ")))
            }
            _ => (vec![anchor], m.acts[anchor].name.to_string()),
        };
        let pt = *self.r.pick(&m.acts[anchor].ps);
        let rt = *self.r.pick(&m.acts[anchor].rs);
        let (ptext, pfilter) = self.scope(pt);
        let (rtext, rfilter) = self.scope(rt);
        // Request shapes, as the checker forms them.
        let mut ptypes = Vec::new();
        let mut rtypes = Vec::new();
        let mut shape_acts = Vec::new();
        for &a in &acts {
            for &p in &m.acts[a].ps {
                if pfilter.is_some_and(|t| t != p) {
                    continue;
                }
                for &r in &m.acts[a].rs {
                    if rfilter.is_some_and(|t| t != r) {
                        continue;
                    }
                    if !ptypes.contains(&p) {
                        ptypes.push(p);
                    }
                    if !rtypes.contains(&r) {
                        rtypes.push(r);
                    }
                    if !shape_acts.contains(&a) {
                        shape_acts.push(a);
                    }
                }
            }
        }
        let mut ctx: Vec<CtxField> = Vec::new();
        for &a in &shape_acts {
            for f in m.ctx(a) {
                if ctx.iter().any(|c| c.name == f.name) {
                    continue;
                }
                let always = shape_acts.iter().all(|b| m.ctx(*b).iter().any(|g| g.name == f.name && !g.opt));
                ctx.push(CtxField { name: f.name.clone(), ty: f.ty.clone(), always });
            }
        }
        let mut obo: Vec<usize> = shape_acts.iter().flat_map(|a| m.acts[*a].ps.iter().copied()).collect();
        obo.sort_unstable();
        obo.dedup();
        let rc = RuleCx { ptypes, rtypes, ctx, obo, acts: shape_acts };
        let mut env = Env { rule: Some(rc), locals: Vec::new(), fns: m.fns.len() };
        self.next_local = 0;
        // Clauses.
        // Permits are the easiest to satisfy, forbids the hardest, so that every verdict
        // stays common.
        let clause_weights: &[usize] = match effect {
            "permit" => &[25, 50, 20, 5],
            "forbid" => &[4, 46, 38, 12],
            _ => &[10, 55, 30, 5],
        };
        let n_clauses = [0, 1, 2, 3][self.r.weighted(clause_weights)];
        let mut clauses = Vec::new();
        for _ in 0..n_clauses {
            let when = self.r.chance(72);
            let word = if when { "when" } else { "unless" };
            if self.r.chance(12) {
                // A guard clause, then a read it guards (facts flow between clauses).
                // One clause per guard, for the same reason as in `unguard`.
                let g = self.atom(&mut env, 2);
                if !g.g.is_empty() {
                    for guard in dedup(g.g) {
                        if self.r.chance(60) {
                            clauses.push(format!("when {guard}"));
                        } else {
                            clauses.push(format!("unless not ({guard})"));
                        }
                    }
                    clauses.push(format!("{word} {}", g.t));
                    continue;
                }
                clauses.push(format!("{word} {}", g.t));
                continue;
            }
            let d = self.r.range(1, 3) as u32;
            let b = self.bool(&mut env, d);
            clauses.push(format!("{word} {b}"));
        }
        if effect != "permit" && self.r.chance(60) || effect == "permit" && self.r.chance(10) {
            let msg = *self.r.pick(MESSAGES);
            clauses.push(format!("because \"{msg}\""));
        }
        if effect == "permit" && self.r.chance(55) || effect != "permit" && self.r.chance(4) {
            clauses.push(format!("grant {}", self.grant(&mut env)));
        }
        let mut s = String::new();
        match self.r.below(20) {
            0 => s.push_str("// A line comment before the rule.\n"),
            1 => s.push_str("/* A block comment,\n   over two lines. */\n"),
            _ => {}
        }
        if self.r.chance(15) {
            s.push_str(&format!("/// {}\n", self.r.pick(DOCS)));
        }
        if self.r.chance(85) {
            s.push_str(&format!("@id(\"r{idx}\")\n"));
        }
        s.push_str(&format!("{effect} {ptext} to {acts_text} on {rtext}"));
        for c in clauses {
            s.push_str("\n  ");
            s.push_str(&c);
        }
        s.push_str(";\n");
        if effect == "escalate" && self.r.chance(60) {
            // An escalate asks a human only where a permit applies too (docs/decisions.md, step 5):
            // often a plain permit of the same scope, so escalations stay common.
            s.push_str(&format!("permit {ptext} to {acts_text} on {rtext};\n"));
        }
        s
    }

    /// A principal or resource scope around type `t`; the type it pins down, if any.
    fn scope(&mut self, t: usize) -> (String, Option<usize>) {
        let m = self.m.clone();
        let name = m.ents[t].name;
        let id = *self.r.pick(&m.ents[t].ids);
        match self.r.weighted(&[18, 52, 10, 15, 5]) {
            0 => ("*".into(), None),
            1 => (name.to_string(), Some(t)),
            2 => (ent_lit(&m, t, id), Some(t)),
            3 => {
                let a = *self.r.pick(&m.ents[t].anc);
                let aid = *self.r.pick(&m.ents[a].ids);
                (format!("{name} in {}", ent_lit(&m, a, aid)), Some(t))
            }
            _ => {
                let a = *self.r.pick(&m.ents[t].anc);
                let aid = *self.r.pick(&m.ents[a].ids);
                (format!("{} in {}", ent_lit(&m, t, id), ent_lit(&m, a, aid)), Some(t))
            }
        }
    }

    fn grant(&mut self, env: &mut Env) -> String {
        let mut fields = Vec::new();
        if self.r.chance(75) {
            // A constant `ttl` must be positive (E0110); one computed from the request may
            // come out zero or negative, and its permit then fails closed.
            self.positive_durs = true;
            let v = if self.r.chance(75) {
                self.lit(&Ty::Dur, false)
            } else {
                let v = match self.val_rt(env, &Ty::Dur, 1) {
                    Some(v) => v,
                    None => self.lit(&Ty::Dur, false),
                };
                self.unguard(v, &Ty::Dur)
            };
            self.positive_durs = false;
            fields.push(format!("ttl: {}", v.t));
        }
        let keys = self.r.some(GRANT_KEYS, 0, 3);
        for k in keys {
            let ty = match k {
                "audit" | "scope" => Ty::Str,
                "max_rows" => Ty::Int,
                "tags" => Ty::set(Ty::Str),
                "level" => Ty::Enum(0),
                _ => self.probe_ty(),
            };
            // Values computed from the request end up in the decision's obligations, so a
            // back end that computes any value differently shows up there.
            let v = if self.r.chance(35) {
                self.lit(&ty, false)
            } else {
                let v = match self.val_rt(env, &ty, 2) {
                    Some(v) => v,
                    None => self.val(env, &ty, 2, false),
                };
                self.unguard(v, &ty)
            };
            fields.push(format!("{k}: {}", v.t));
        }
        format!("{{ {} }}", fields.join(", "))
    }

    // -------------------------------------------------------------- host data

    fn json_val(&mut self, ty: &Ty) -> Json {
        let m = self.m.clone();
        match ty {
            Ty::Bool => Json::Bool(self.r.chance(50)),
            Ty::Int => {
                if self.r.chance(30) {
                    json!(*self.r.pick(INTS_EDGE))
                } else {
                    json!(*self.r.pick(INTS_SMALL))
                }
            }
            Ty::Str => Json::String(self.r.pick(STRS).to_string()),
            Ty::Dur => Json::String(self.r.pick(DURS).to_string()),
            Ty::Ts => Json::String(self.r.pick(TIMESTAMPS).to_string()),
            Ty::Ip => Json::String(self.r.pick(HOST_IPS).to_string()),
            Ty::Enum(e) => Json::String(self.r.pick(m.enums[*e].1).to_string()),
            Ty::Set(x) => {
                let n = if self.r.chance(4) {
                    self.r.range(8, 40)
                } else {
                    [0, 1, 2, 3][self.r.weighted(&[20, 35, 30, 15])]
                };
                Json::Array((0..n).map(|_| self.json_val(x)).collect())
            }
            Ty::Rec(r) => {
                let mut o = Map::new();
                for f in &m.recs[*r] {
                    if f.opt && self.r.chance(35) {
                        if self.r.chance(30) {
                            o.insert(f.name.clone(), Json::Null);
                        }
                        continue;
                    }
                    o.insert(f.name.clone(), self.json_val(&f.ty));
                }
                Json::Object(o)
            }
            Ty::Ent(k) => self.ent_ref(*k),
            Ty::Intent => {
                let mut names: Vec<&str> = m.intents.iter().map(|i| i.name).collect();
                names.push("none");
                Json::String(self.r.pick_str(&names).to_string())
            }
        }
    }

    fn ent_ref(&mut self, k: usize) -> Json {
        let m = self.m.clone();
        json!({"type": m.ents[k].name, "id": *self.r.pick(&m.ents[k].ids)})
    }

    fn attrs_json(&mut self, fields: &[Field]) -> Json {
        let mut o = Map::new();
        for f in fields {
            if f.opt && self.r.chance(35) {
                if self.r.chance(25) {
                    o.insert(f.name.clone(), Json::Null);
                }
                continue;
            }
            o.insert(f.name.clone(), self.json_val(&f.ty));
        }
        Json::Object(o)
    }

    fn entity_json(&mut self, t: usize, id: &str) -> Json {
        let m = self.m.clone();
        let mut o = Map::new();
        o.insert("type".into(), Json::String(m.ents[t].name.into()));
        o.insert("id".into(), Json::String(id.into()));
        if !m.ents[t].attrs.is_empty() || self.r.chance(50) {
            let a = self.attrs_json(&m.ents[t].attrs);
            o.insert("attrs".into(), a);
        }
        if !m.ents[t].parents.is_empty() && self.r.chance(85) {
            let mut ps = Vec::new();
            for _ in 0..self.r.range(1, 2) {
                let pt = *self.r.pick(&m.ents[t].parents);
                let pid = *self.r.pick(&m.ents[pt].ids);
                // Mostly no entity in itself (cycles are allowed, but rare).
                if pt == t && pid == id && self.r.chance(90) {
                    continue;
                }
                // Parents need not be in the store.
                let pid = if self.r.chance(4) { "ghost-parent" } else { pid };
                let p = json!({"type": m.ents[pt].name, "id": pid});
                if !ps.contains(&p) {
                    ps.push(p);
                }
            }
            o.insert("parents".into(), Json::Array(ps));
        }
        Json::Object(o)
    }

    fn store(&mut self) -> Vec<Json> {
        let m = self.m.clone();
        let mut out = Vec::new();
        for (t, e) in m.ents.iter().enumerate() {
            for id in &e.ids {
                out.push(self.entity_json(t, id));
            }
        }
        out
    }

    fn request(&mut self, store: &[Json]) -> Json {
        let m = self.m.clone();
        let a = self.r.below(m.acts.len());
        let act = &m.acts[a];
        let mut o = Map::new();
        let mut inline: Vec<Json> = Vec::new();
        let mut inline_hop: Option<Json> = None;
        let pt = *self.r.pick(&act.ps);
        let rt = *self.r.pick(&act.rs);
        let mut principal = self.ent_ref(pt);
        if self.r.chance(10) {
            // Inline entities: override one of the store, or add a new one (and use it).
            let e = self.r.pick(store).clone();
            let t = m.ents.iter().position(|x| Some(x.name) == e["type"].as_str()).unwrap_or(0);
            let id = e["id"].as_str().unwrap_or("").to_string();
            inline.push(self.entity_json(t, &id));
            if self.r.chance(40) {
                let fresh = self.entity_json(pt, "inline-1");
                inline.push(fresh);
                let r = json!({"type": m.ents[pt].name, "id": "inline-1"});
                if self.r.chance(60) {
                    principal = r;
                } else {
                    inline_hop = Some(r);
                }
            }
        }
        o.insert("principal".into(), principal.clone());
        o.insert("action".into(), Json::String(act.name.into()));
        o.insert("resource".into(), self.ent_ref(rt));
        // Intent: mostly absent; when present, usually one whose envelope covers the action.
        let covering: Vec<&Intent> = m.intents.iter().filter(|i| i.entries.iter().any(|e| e.0.contains(&a))).collect();
        match self.r.below(100) {
            0..=19 if !covering.is_empty() => {
                o.insert("intent".into(), Json::String(self.r.pick(&covering).name.into()));
            }
            20..=24 if !m.intents.is_empty() => {
                o.insert("intent".into(), Json::String(self.r.pick(&m.intents).name.into()));
            }
            30..=33 => {
                o.insert("intent".into(), Json::String("none".into()));
            }
            34 => {
                o.insert("intent".into(), Json::Null);
            }
            _ => {}
        }
        let mut ctx = Map::new();
        for f in m.ctx(a) {
            if f.opt && self.r.chance(40) {
                if self.r.chance(25) {
                    ctx.insert(f.name.clone(), Json::Null);
                }
                continue;
            }
            ctx.insert(f.name.clone(), self.json_val(&f.ty));
        }
        if !ctx.is_empty() || self.r.chance(50) {
            o.insert("context".into(), Json::Object(ctx));
        }
        let n = [0, 1, 2, 3, 4, 5][self.r.weighted(&[60, 20, 9, 5, 3, 3])];
        if n > 0 || self.r.chance(10) {
            let pid = principal["id"].as_str().unwrap_or("").to_string();
            let mut chain: Vec<Json> = (0..n)
                .map(|_| {
                    let t = *self.r.pick(&act.ps);
                    match self.r.below(10) {
                        // The principal itself, or its id under another principal type.
                        0 => principal.clone(),
                        1 if m.ents[t].ids.contains(&pid.as_str()) => json!({"type": m.ents[t].name, "id": pid}),
                        _ => self.ent_ref(t),
                    }
                })
                .collect();
            if let Some(hop) = inline_hop.take() {
                let at = self.r.below(chain.len() + 1);
                chain.insert(at, hop);
            }
            o.insert("on_behalf_of".into(), Json::Array(chain));
        }
        if !inline.is_empty() {
            o.insert("entities".into(), Json::Array(inline));
        }
        Json::Object(o)
    }

    /// A request that must fail to decode (and so be denied identically by both engines).
    fn malform(&mut self, req: Json) -> String {
        let text = serde_json::to_string(&req).unwrap_or_default();
        let Json::Object(mut o) = req else { return text };
        match self.r.below(12) {
            0 => {
                let cut = self.r.range(1, text.len().saturating_sub(1).max(1));
                text.char_indices().take_while(|(i, _)| *i < cut).map(|(_, c)| c).collect()
            }
            1 => {
                o.insert("action".into(), json!("no_such_action"));
                Json::Object(o).to_string()
            }
            2 => {
                o.insert("principal".into(), json!({"type": "Nobody", "id": "x"}));
                Json::Object(o).to_string()
            }
            3 => {
                let ty = o["resource"]["type"].clone();
                o.insert("resource".into(), json!({"type": ty, "id": "ghost"}));
                Json::Object(o).to_string()
            }
            4 => {
                o.insert("intent".into(), json!("no_such_intent"));
                Json::Object(o).to_string()
            }
            5 => {
                o.insert("on_behalf_of".into(), json!({"type": "Human", "id": "alice"}));
                Json::Object(o).to_string()
            }
            6 => {
                o.insert("extra".into(), json!(1));
                Json::Object(o).to_string()
            }
            7 => {
                let mut ctx = match o.get("context") {
                    Some(Json::Object(c)) => c.clone(),
                    _ => Map::new(),
                };
                let bad =
                    [json!("high"), json!(1e30), json!(9_223_372_036_854_775_808u64), json!([1, [2]]), json!(null)];
                let key = ctx.keys().next().cloned().unwrap_or_else(|| "no_such_field".to_string());
                let v = self.r.pick(&bad).clone();
                // A null for an optional field is fine; use a type error there.
                ctx.insert(key, if v.is_null() { json!({"nested": true}) } else { v });
                o.insert("context".into(), Json::Object(ctx));
                Json::Object(o).to_string()
            }
            8 => {
                o.insert("context".into(), json!("not a record"));
                Json::Object(o).to_string()
            }
            9 => self.r.pick(&["null", "[]", "\"request\"", "{}", "", "{\"action\": 3}"]).to_string(),
            10 => {
                let p = o["principal"].clone();
                o.insert(
                    "entities".into(),
                    json!([{"type": p["type"], "id": "dup"}, {"type": p["type"], "id": "dup"}]),
                );
                Json::Object(o).to_string()
            }
            _ => {
                o.insert("on_behalf_of".into(), json!([{"type": "Nobody", "id": "x"}]));
                Json::Object(o).to_string()
            }
        }
    }
}

fn field_text(m: &Model, f: &Field) -> String {
    format!("{}: {}{}", f.name, m.ty_text(&f.ty), if f.opt { "?" } else { "" })
}
