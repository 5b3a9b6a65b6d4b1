//! A seeded generator of rule sets with the same meaning in Writ, Cedar and Rego.
//!
//! One abstract rule list is printed in the three languages. It keeps to what all three
//! can say: entity types with parents (`User in Team in Org`, `Doc in Folder in Project`),
//! attribute equality and comparisons, `in` on the hierarchy, context fields, action
//! lists, set `contains`, entity equality; permits and forbids only (forbid wins, default
//! deny). The rules are spread over 50 actions, so a request touches only the few that
//! name its action. The generator also evaluates its rules itself (the fourth opinion) to
//! pick the timed requests: one allowed, one denied by a forbid that overrides a permit.
//!
//! The random numbers come from a splitmix64 with fixed seeds, so the output is the same,
//! byte for byte, everywhere. The world (entities) and the rules have their own streams,
//! so a smaller rule set is a prefix of every larger one.

use crate::scenario::{Case, Expect, Scenario};
use serde_json::{Value, json};
use std::fmt::Write as _;

const N_ACTIONS: usize = 50;
const DEPTS: [&str; 6] = ["eng", "sales", "ops", "legal", "finance", "support"];
const TAGS: [&str; 8] = ["oncall", "admin", "contractor", "beta", "pci", "sre", "intern", "lead"];
const LABELS: [&str; 8] = ["pii", "public", "draft", "legal-hold", "export", "finance", "hr", "internal"];
const ENVS: [&str; 3] = ["prod", "staging", "dev"];
const ORGS: usize = 3;
const TEAMS: usize = 12;
const USERS: usize = 60;
const AGENTS: usize = 20;
const PROJECTS: usize = 5;
const FOLDERS: usize = 25;
const DOCS: usize = 200;
/// Sampled requests per scenario, checked on every engine (besides the timed ones).
const SAMPLED_CASES: usize = 40;

const WORLD_SEED: u64 = 0x5752_4954_574f_524c; // "WRITWORL"
const RULE_SEED: u64 = 0x5752_4954_5255_4c45; // "WRITRULE"
const REQUEST_SEED: u64 = 0x5752_4954_5245_5153; // "WRITREQS"

#[path = "../../../tests/common/rng.rs"]
#[allow(dead_code)]
mod rng;
use rng::Rng;

impl Rng {
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1).max(1) as u64)) as i64
    }

    /// `k` distinct values in `0..n`, sorted.
    fn distinct(&mut self, k: usize, n: usize) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::with_capacity(k);
        while out.len() < k.min(n) {
            let x = self.below(n);
            if !out.contains(&x) {
                out.push(x);
            }
        }
        out.sort_unstable();
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PType {
    User,
    Agent,
}

impl PType {
    fn name(self) -> &'static str {
        match self {
            PType::User => "User",
            PType::Agent => "Agent",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            PType::User => "u",
            PType::Agent => "a",
        }
    }
}

struct Principal {
    level: i64,
    dept: usize,
    tags: Vec<usize>,
    teams: Vec<usize>,
}

struct Doc {
    sensitivity: i64,
    owner: usize,
    labels: Vec<usize>,
    dept: usize,
    folder: usize,
}

/// The entities every generated scenario shares.
struct World {
    team_org: Vec<usize>,
    folder_project: Vec<usize>,
    users: Vec<Principal>,
    agents: Vec<Principal>,
    docs: Vec<Doc>,
}

impl World {
    fn new() -> World {
        let mut r = Rng(WORLD_SEED);
        let team_org = (0..TEAMS).map(|t| t % ORGS).collect();
        let folder_project = (0..FOLDERS).map(|f| f % PROJECTS).collect();
        let principal = |r: &mut Rng| {
            let n_teams = if r.chance(25) { 2 } else { 1 };
            Principal {
                level: r.range(0, 5),
                dept: r.below(DEPTS.len()),
                tags: {
                    let k = r.below(4);
                    r.distinct(k, TAGS.len())
                },
                teams: r.distinct(n_teams, TEAMS),
            }
        };
        let users = (0..USERS).map(|_| principal(&mut r)).collect();
        let agents = (0..AGENTS).map(|_| principal(&mut r)).collect();
        let docs = (0..DOCS)
            .map(|_| Doc {
                sensitivity: r.range(0, 5),
                owner: r.below(USERS),
                labels: {
                    let k = r.below(4);
                    r.distinct(k, LABELS.len())
                },
                dept: r.below(DEPTS.len()),
                folder: r.below(FOLDERS),
            })
            .collect();
        World { team_org, folder_project, users, agents, docs }
    }

    fn principal(&self, t: PType, i: usize) -> Option<&Principal> {
        match t {
            PType::User => self.users.get(i),
            PType::Agent => self.agents.get(i),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    Permit,
    Forbid,
}

#[derive(Clone, Copy, Debug)]
enum PTarget {
    Any,
    Type(PType),
    TypeInTeam(PType, usize),
    Entity(PType, usize),
}

impl PTarget {
    fn ptype(self) -> Option<PType> {
        match self {
            PTarget::Any => None,
            PTarget::Type(t) | PTarget::TypeInTeam(t, _) | PTarget::Entity(t, _) => Some(t),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum RTarget {
    Any,
    Doc,
    InFolder(usize),
    InProject(usize),
    Entity(usize),
}

#[derive(Clone, Copy, Debug)]
enum Cond {
    LevelGe(i64),
    LevelLt(i64),
    SensLe(i64),
    SensGt(i64),
    LevelGeSens,
    DeptEq(usize),
    SameDept,
    InTeam(usize),
    InOrg(usize),
    InFolder(usize),
    InProject(usize),
    RiskLt(i64),
    RiskGe(i64),
    EnvEq(usize),
    Mfa,
    HasTag(usize),
    HasLabel(usize),
    OwnedByPrincipal,
}

struct Rule {
    effect: Effect,
    principal: PTarget,
    actions: Vec<usize>,
    resource: RTarget,
    when: Vec<Cond>,
    unless: Option<Cond>,
}

fn gen_cond(r: &mut Rng, ptype: Option<PType>, effect: Effect) -> Cond {
    loop {
        let c = match r.below(18) {
            0 => Cond::LevelGe(r.range(1, 4)),
            1 => Cond::LevelLt(r.range(2, 5)),
            2 => Cond::SensLe(r.range(1, 4)),
            3 => Cond::SensGt(r.range(1, 4)),
            4 => Cond::LevelGeSens,
            5 => Cond::DeptEq(r.below(DEPTS.len())),
            6 => Cond::SameDept,
            7 => Cond::InTeam(r.below(TEAMS)),
            8 => Cond::InOrg(r.below(ORGS)),
            9 => Cond::InFolder(r.below(FOLDERS)),
            10 => Cond::InProject(r.below(PROJECTS)),
            11 => Cond::RiskLt(10 * r.range(3, 9)),
            12 => Cond::RiskGe(10 * r.range(if effect == Effect::Forbid { 5 } else { 2 }, 9)),
            13 => Cond::EnvEq(r.below(ENVS.len())),
            14 => Cond::Mfa,
            15 => Cond::HasTag(r.below(TAGS.len())),
            16 => Cond::HasLabel(r.below(LABELS.len())),
            _ => Cond::OwnedByPrincipal,
        };
        // Principal attributes only where the rule fixes the principal's type (both types
        // have them, but a type-checker may ask for one); `owner` is a User.
        let ok = match c {
            Cond::LevelGe(_)
            | Cond::LevelLt(_)
            | Cond::LevelGeSens
            | Cond::DeptEq(_)
            | Cond::SameDept
            | Cond::HasTag(_) => ptype.is_some(),
            Cond::OwnedByPrincipal => ptype == Some(PType::User),
            _ => true,
        };
        if ok {
            return c;
        }
    }
}

fn gen_rule(r: &mut Rng) -> Rule {
    let effect = if r.chance(70) { Effect::Permit } else { Effect::Forbid };
    let ty = |r: &mut Rng| if r.chance(70) { PType::User } else { PType::Agent };
    let principal = match r.below(100) {
        0..15 => PTarget::Any,
        15..55 => PTarget::Type(ty(r)),
        55..90 => {
            let t = ty(r);
            PTarget::TypeInTeam(t, r.below(TEAMS))
        }
        _ => {
            let t = ty(r);
            let n = if t == PType::User { USERS } else { AGENTS };
            PTarget::Entity(t, r.below(n))
        }
    };
    let n_actions = match r.below(10) {
        0..7 => 1,
        7..9 => 2,
        _ => 3,
    };
    let actions = r.distinct(n_actions, N_ACTIONS);
    let resource = match r.below(100) {
        0..20 => RTarget::Any,
        20..50 => RTarget::Doc,
        50..75 => RTarget::InFolder(r.below(FOLDERS)),
        75..90 => RTarget::InProject(r.below(PROJECTS)),
        _ => RTarget::Entity(r.below(DOCS)),
    };
    let n_when = match effect {
        Effect::Permit => 1 + r.below(3),
        Effect::Forbid => 1 + r.below(2),
    };
    let when = (0..n_when).map(|_| gen_cond(r, principal.ptype(), effect)).collect();
    let unless = if r.chance(25) { Some(gen_cond(r, principal.ptype(), effect)) } else { None };
    Rule { effect, principal, actions, resource, when, unless }
}

/// A request of the generated world.
#[derive(Clone, Copy, Debug)]
struct Req {
    ptype: PType,
    p: usize,
    action: usize,
    doc: usize,
    risk: i64,
    env: usize,
    mfa: bool,
}

/// How one request fares against the rules (the generator's own evaluation).
#[derive(Clone, Copy, Debug, Default)]
struct Outcome {
    /// Rules that name the request's action.
    by_action: usize,
    /// … whose principal and resource also match.
    by_target: usize,
    permits: usize,
    forbids: usize,
}

impl Outcome {
    fn allows(self) -> bool {
        self.forbids == 0 && self.permits > 0
    }
}

fn holds(c: Cond, w: &World, q: &Req) -> bool {
    let (Some(p), Some(d)) = (w.principal(q.ptype, q.p), w.docs.get(q.doc)) else { return false };
    match c {
        Cond::LevelGe(k) => p.level >= k,
        Cond::LevelLt(k) => p.level < k,
        Cond::SensLe(k) => d.sensitivity <= k,
        Cond::SensGt(k) => d.sensitivity > k,
        Cond::LevelGeSens => p.level >= d.sensitivity,
        Cond::DeptEq(x) => p.dept == x,
        Cond::SameDept => p.dept == d.dept,
        Cond::InTeam(t) => p.teams.contains(&t),
        Cond::InOrg(o) => p.teams.iter().any(|t| w.team_org.get(*t) == Some(&o)),
        Cond::InFolder(f) => d.folder == f,
        Cond::InProject(x) => w.folder_project.get(d.folder) == Some(&x),
        Cond::RiskLt(k) => q.risk < k,
        Cond::RiskGe(k) => q.risk >= k,
        Cond::EnvEq(e) => q.env == e,
        Cond::Mfa => q.mfa,
        Cond::HasTag(t) => p.tags.contains(&t),
        Cond::HasLabel(l) => d.labels.contains(&l),
        Cond::OwnedByPrincipal => q.ptype == PType::User && d.owner == q.p,
    }
}

fn target_matches(rule: &Rule, w: &World, q: &Req) -> bool {
    let principal = match rule.principal {
        PTarget::Any => true,
        PTarget::Type(t) => q.ptype == t,
        PTarget::TypeInTeam(t, team) => q.ptype == t && holds(Cond::InTeam(team), w, q),
        PTarget::Entity(t, i) => q.ptype == t && q.p == i,
    };
    let resource = match rule.resource {
        RTarget::Any | RTarget::Doc => true,
        RTarget::InFolder(f) => holds(Cond::InFolder(f), w, q),
        RTarget::InProject(p) => holds(Cond::InProject(p), w, q),
        RTarget::Entity(d) => q.doc == d,
    };
    principal && resource
}

fn evaluate(rules: &[Rule], w: &World, q: &Req) -> Outcome {
    let mut o = Outcome::default();
    for rule in rules.iter().filter(|r| r.actions.contains(&q.action)) {
        o.by_action += 1;
        if !target_matches(rule, w, q) {
            continue;
        }
        o.by_target += 1;
        let applies = rule.when.iter().all(|c| holds(*c, w, q)) && !rule.unless.is_some_and(|c| holds(c, w, q));
        if applies {
            match rule.effect {
                Effect::Permit => o.permits += 1,
                Effect::Forbid => o.forbids += 1,
            }
        }
    }
    o
}

fn sample_request(r: &mut Rng, rules: &[Rule]) -> Req {
    let ptype = if r.chance(75) { PType::User } else { PType::Agent };
    let p = r.below(if ptype == PType::User { USERS } else { AGENTS });
    // An action some rule names (with 10 rules most of the 50 actions have none).
    let action = match rules.get(r.below(rules.len())) {
        Some(rule) => rule.actions.get(r.below(rule.actions.len())).copied().unwrap_or(0),
        None => r.below(N_ACTIONS),
    };
    Req { ptype, p, action, doc: r.below(DOCS), risk: r.range(0, 99), env: r.below(ENVS.len()), mfa: r.chance(60) }
}

// ---------------------------------------------------------------------------------------
// Printing

fn action_name(a: usize) -> String {
    format!("act_{a:02}")
}

fn writ_cond(c: Cond) -> String {
    match c {
        Cond::LevelGe(k) => format!("principal.level >= {k}"),
        Cond::LevelLt(k) => format!("principal.level < {k}"),
        Cond::SensLe(k) => format!("resource.sensitivity <= {k}"),
        Cond::SensGt(k) => format!("resource.sensitivity > {k}"),
        Cond::LevelGeSens => "principal.level >= resource.sensitivity".into(),
        Cond::DeptEq(d) => format!("principal.dept == {:?}", DEPTS.get(d).unwrap_or(&"")),
        Cond::SameDept => "principal.dept == resource.dept".into(),
        Cond::InTeam(t) => format!("principal in Team::\"t{t}\""),
        Cond::InOrg(o) => format!("principal in Org::\"o{o}\""),
        Cond::InFolder(f) => format!("resource in Folder::\"f{f}\""),
        Cond::InProject(p) => format!("resource in Project::\"p{p}\""),
        Cond::RiskLt(k) => format!("context.risk < {k}"),
        Cond::RiskGe(k) => format!("context.risk >= {k}"),
        Cond::EnvEq(e) => format!("context.env == {:?}", ENVS.get(e).unwrap_or(&"")),
        Cond::Mfa => "context.mfa".into(),
        Cond::HasTag(t) => format!("principal.tags.contains({:?})", TAGS.get(t).unwrap_or(&"")),
        Cond::HasLabel(l) => format!("resource.labels.contains({:?})", LABELS.get(l).unwrap_or(&"")),
        Cond::OwnedByPrincipal => "resource.owner == principal".into(),
    }
}

/// Cedar spells every generated condition as Writ does.
fn cedar_cond(c: Cond) -> String {
    writ_cond(c)
}

fn rego_cond(c: Cond) -> String {
    match c {
        Cond::LevelGe(k) => format!("principal.attrs.level >= {k}"),
        Cond::LevelLt(k) => format!("principal.attrs.level < {k}"),
        Cond::SensLe(k) => format!("resource.attrs.sensitivity <= {k}"),
        Cond::SensGt(k) => format!("resource.attrs.sensitivity > {k}"),
        Cond::LevelGeSens => "principal.attrs.level >= resource.attrs.sensitivity".into(),
        Cond::DeptEq(d) => format!("principal.attrs.dept == {:?}", DEPTS.get(d).unwrap_or(&"")),
        Cond::SameDept => "principal.attrs.dept == resource.attrs.dept".into(),
        Cond::InTeam(t) => format!("principal.ancestors.Team[\"t{t}\"]"),
        Cond::InOrg(o) => format!("principal.ancestors.Org[\"o{o}\"]"),
        Cond::InFolder(f) => format!("resource.ancestors.Folder[\"f{f}\"]"),
        Cond::InProject(p) => format!("resource.ancestors.Project[\"p{p}\"]"),
        Cond::RiskLt(k) => format!("input.context.risk < {k}"),
        Cond::RiskGe(k) => format!("input.context.risk >= {k}"),
        Cond::EnvEq(e) => format!("input.context.env == {:?}", ENVS.get(e).unwrap_or(&"")),
        Cond::Mfa => "input.context.mfa == true".into(),
        Cond::HasTag(t) => format!("{:?} in principal.attrs.tags", TAGS.get(t).unwrap_or(&"")),
        Cond::HasLabel(l) => format!("{:?} in resource.attrs.labels", LABELS.get(l).unwrap_or(&"")),
        Cond::OwnedByPrincipal => "resource.attrs.owner == input.principal".into(),
    }
}

fn rule_id(i: usize) -> String {
    format!("r{:05}", i + 1)
}

fn writ_rule(out: &mut String, i: usize, rule: &Rule) {
    let effect = match rule.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    let principal = match rule.principal {
        PTarget::Any => "*".to_string(),
        PTarget::Type(t) => t.name().to_string(),
        PTarget::TypeInTeam(t, team) => format!("{} in Team::\"t{team}\"", t.name()),
        PTarget::Entity(t, n) => format!("{}::\"{}{n}\"", t.name(), t.prefix()),
    };
    let actions = match rule.actions.as_slice() {
        [a] => action_name(*a),
        many => format!("[{}]", many.iter().map(|a| action_name(*a)).collect::<Vec<_>>().join(", ")),
    };
    let resource = match rule.resource {
        RTarget::Any => "*".to_string(),
        RTarget::Doc => "Doc".to_string(),
        RTarget::InFolder(f) => format!("Doc in Folder::\"f{f}\""),
        RTarget::InProject(p) => format!("Doc in Project::\"p{p}\""),
        RTarget::Entity(d) => format!("Doc::\"d{d}\""),
    };
    let _ = writeln!(out, "@id({:?})", rule_id(i));
    let _ = write!(out, "{effect} {principal} to {actions} on {resource}");
    let when: Vec<String> = rule.when.iter().map(|c| writ_cond(*c)).collect();
    let _ = write!(out, "\n  when {}", when.join(" and "));
    if let Some(c) = rule.unless {
        let _ = write!(out, "\n  unless {}", writ_cond(c));
    }
    out.push_str(";\n\n");
}

fn cedar_rule(out: &mut String, i: usize, rule: &Rule) {
    let effect = match rule.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    let principal = match rule.principal {
        PTarget::Any => "principal".to_string(),
        PTarget::Type(t) => format!("principal is {}", t.name()),
        PTarget::TypeInTeam(t, team) => format!("principal is {} in Team::\"t{team}\"", t.name()),
        PTarget::Entity(t, n) => format!("principal == {}::\"{}{n}\"", t.name(), t.prefix()),
    };
    let actions = match rule.actions.as_slice() {
        [a] => format!("action == Action::\"{}\"", action_name(*a)),
        many => format!(
            "action in [{}]",
            many.iter().map(|a| format!("Action::\"{}\"", action_name(*a))).collect::<Vec<_>>().join(", ")
        ),
    };
    let resource = match rule.resource {
        RTarget::Any => "resource".to_string(),
        RTarget::Doc => "resource is Doc".to_string(),
        RTarget::InFolder(f) => format!("resource is Doc in Folder::\"f{f}\""),
        RTarget::InProject(p) => format!("resource is Doc in Project::\"p{p}\""),
        RTarget::Entity(d) => format!("resource == Doc::\"d{d}\""),
    };
    let _ = writeln!(out, "@id({:?})", rule_id(i));
    let _ = write!(out, "{effect} ({principal}, {actions}, {resource})");
    let when: Vec<String> = rule.when.iter().map(|c| cedar_cond(*c)).collect();
    let _ = write!(out, "\nwhen {{ {} }}", when.join(" && "));
    if let Some(c) = rule.unless {
        let _ = write!(out, "\nunless {{ {} }}", cedar_cond(c));
    }
    out.push_str(";\n\n");
}

fn rego_rule(out: &mut String, i: usize, rule: &Rule) {
    let head = match rule.effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    };
    let mut body = Vec::new();
    match rule.actions.as_slice() {
        [a] => body.push(format!("input.action == \"{}\"", action_name(*a))),
        many => body.push(format!(
            "input.action in {{{}}}",
            many.iter().map(|a| format!("\"{}\"", action_name(*a))).collect::<Vec<_>>().join(", ")
        )),
    }
    match rule.principal {
        PTarget::Any => {}
        PTarget::Type(t) => body.push(format!("input.principal.type == \"{}\"", t.name())),
        PTarget::TypeInTeam(t, team) => {
            body.push(format!("input.principal.type == \"{}\"", t.name()));
            body.push(rego_cond(Cond::InTeam(team)));
        }
        PTarget::Entity(t, n) => {
            body.push(format!("input.principal == {{\"type\": \"{}\", \"id\": \"{}{n}\"}}", t.name(), t.prefix()));
        }
    }
    match rule.resource {
        RTarget::Any => {}
        RTarget::Doc => body.push("input.resource.type == \"Doc\"".into()),
        RTarget::InFolder(f) => {
            body.push("input.resource.type == \"Doc\"".into());
            body.push(rego_cond(Cond::InFolder(f)));
        }
        RTarget::InProject(p) => {
            body.push("input.resource.type == \"Doc\"".into());
            body.push(rego_cond(Cond::InProject(p)));
        }
        RTarget::Entity(d) => body.push(format!("input.resource == {{\"type\": \"Doc\", \"id\": \"d{d}\"}}")),
    }
    body.extend(rule.when.iter().map(|c| rego_cond(*c)));
    if let Some(c) = rule.unless {
        body.push(format!("not {}", rego_cond(c)));
    }
    let _ = writeln!(out, "# {}", rule_id(i));
    let _ = writeln!(out, "{head} if {{");
    for line in body {
        let _ = writeln!(out, "\t{line}");
    }
    out.push_str("}\n\n");
}

const WRIT_SCHEMA_HEAD: &str = "\
// Generated by benches/compare/src/generate.rs: the schema shared by every generated set.

schema {
  entity Org
  entity Team in Org
  entity User in Team { level: Int, dept: String, tags: Set<String> }
  entity Agent in Team { level: Int, dept: String, tags: Set<String> }
  entity Project
  entity Folder in Project
  entity Doc in Folder { sensitivity: Int, owner: User, labels: Set<String>, dept: String }

  context { risk: Int, env: String, mfa: Bool }

";

const CEDAR_SCHEMA_HEAD: &str = "\
// Generated by benches/compare/src/generate.rs: the schema shared by every generated set.

type Ctx = { risk: Long, env: String, mfa: Bool };

entity Org;
entity Team in [Org];
entity User in [Team] = { level: Long, dept: String, tags: Set<String> };
entity Agent in [Team] = { level: Long, dept: String, tags: Set<String> };
entity Project;
entity Folder in [Project];
entity Doc in [Folder] = { sensitivity: Long, owner: User, labels: Set<String>, dept: String };

";

const REGO_HEAD: &str = "\
# Generated by benches/compare/src/generate.rs.
#
# input: the request in Writ's JSON form. data.entities[type][id] = {attrs, ancestors},
# ancestors as {type: {id: true}} (transitive), so `in` is a lookup.
package writ_compare.gen

import rego.v1

principal := data.entities[input.principal.type][input.principal.id]

resource := data.entities[input.resource.type][input.resource.id]

default allow := false

allow if {
\tpermit
\tnot forbid
}

# The rules (`permit if …`, `forbid if …`) are in rules_NN.rego, 1,000 a file.
";

fn names(ix: &[usize], table: &[&str]) -> Vec<String> {
    ix.iter().filter_map(|i| table.get(*i).map(|s| s.to_string())).collect()
}

/// (Writ entities, Cedar entities, Rego data), one entity a line.
fn entities(w: &World) -> (String, String, String) {
    struct E {
        ty: &'static str,
        id: String,
        attrs: Value,
        parents: Vec<(&'static str, String)>,
        /// Transitive ancestors, for Rego.
        ancestors: Vec<(&'static str, String)>,
    }
    let mut all = Vec::new();
    for o in 0..ORGS {
        all.push(E { ty: "Org", id: format!("o{o}"), attrs: json!({}), parents: vec![], ancestors: vec![] });
    }
    for (t, o) in w.team_org.iter().enumerate() {
        let org = ("Org", format!("o{o}"));
        all.push(E {
            ty: "Team",
            id: format!("t{t}"),
            attrs: json!({}),
            parents: vec![org.clone()],
            ancestors: vec![org],
        });
    }
    let principals = [(PType::User, &w.users), (PType::Agent, &w.agents)];
    for (ty, list) in principals {
        for (i, p) in list.iter().enumerate() {
            let parents: Vec<_> = p.teams.iter().map(|t| ("Team", format!("t{t}"))).collect();
            let mut ancestors = parents.clone();
            for t in &p.teams {
                if let Some(o) = w.team_org.get(*t) {
                    let org = ("Org", format!("o{o}"));
                    if !ancestors.contains(&org) {
                        ancestors.push(org);
                    }
                }
            }
            let attrs = json!({
                "level": p.level,
                "dept": DEPTS.get(p.dept).unwrap_or(&""),
                "tags": names(&p.tags, &TAGS),
            });
            all.push(E { ty: ty.name(), id: format!("{}{i}", ty.prefix()), attrs, parents, ancestors });
        }
    }
    for p in 0..PROJECTS {
        all.push(E { ty: "Project", id: format!("p{p}"), attrs: json!({}), parents: vec![], ancestors: vec![] });
    }
    for (f, p) in w.folder_project.iter().enumerate() {
        let proj = ("Project", format!("p{p}"));
        all.push(E {
            ty: "Folder",
            id: format!("f{f}"),
            attrs: json!({}),
            parents: vec![proj.clone()],
            ancestors: vec![proj],
        });
    }
    for (i, d) in w.docs.iter().enumerate() {
        let folder = ("Folder", format!("f{}", d.folder));
        let project = ("Project", format!("p{}", w.folder_project.get(d.folder).copied().unwrap_or(0)));
        let attrs = json!({
            "sensitivity": d.sensitivity,
            "owner": {"type": "User", "id": format!("u{}", d.owner)},
            "labels": names(&d.labels, &LABELS),
            "dept": DEPTS.get(d.dept).unwrap_or(&""),
        });
        all.push(E {
            ty: "Doc",
            id: format!("d{i}"),
            attrs,
            parents: vec![folder.clone()],
            ancestors: vec![folder, project],
        });
    }

    let refs = |ps: &[(&str, String)]| -> Vec<Value> { ps.iter().map(|(t, i)| json!({"type": t, "id": i})).collect() };
    let mut writ = Vec::new();
    let mut cedar = Vec::new();
    let mut rego: Vec<(&str, Vec<String>)> = Vec::new();
    for e in &all {
        let mut wj = serde_json::Map::new();
        wj.insert("type".into(), Value::from(e.ty));
        wj.insert("id".into(), Value::from(e.id.clone()));
        if e.attrs.as_object().is_some_and(|m| !m.is_empty()) {
            wj.insert("attrs".into(), e.attrs.clone());
        }
        if !e.parents.is_empty() {
            wj.insert("parents".into(), Value::from(refs(&e.parents)));
        }
        writ.push(Value::Object(wj).to_string());

        let mut cattrs = e.attrs.clone();
        if let Some(owner) = cattrs.get_mut("owner") {
            *owner = json!({"__entity": owner.clone()});
        }
        cedar
            .push(json!({"uid": {"type": e.ty, "id": e.id}, "attrs": cattrs, "parents": refs(&e.parents)}).to_string());

        let mut anc = serde_json::Map::new();
        for (t, i) in &e.ancestors {
            if let Some(m) = anc.entry(t.to_string()).or_insert_with(|| json!({})).as_object_mut() {
                m.insert(i.clone(), Value::Bool(true));
            }
        }
        let line = format!("{}: {}", Value::from(e.id.clone()), json!({"attrs": e.attrs, "ancestors": anc}));
        match rego.iter_mut().find(|(t, _)| *t == e.ty) {
            Some((_, lines)) => lines.push(line),
            None => rego.push((e.ty, vec![line])),
        }
    }
    let list = |lines: Vec<String>| format!("[\n  {}\n]\n", lines.join(",\n  "));
    let rego_text = format!(
        "{{\"entities\": {{\n{}\n}}}}\n",
        rego.into_iter()
            .map(|(t, lines)| format!("  \"{t}\": {{\n    {}\n  }}", lines.join(",\n    ")))
            .collect::<Vec<_>>()
            .join(",\n")
    );
    (list(writ), list(cedar), rego_text)
}

fn request_json(q: &Req) -> String {
    format!(
        "{{\"principal\": {{\"type\": \"{}\", \"id\": \"{}{}\"}}, \"action\": \"{}\", \"resource\": {{\"type\": \"Doc\", \"id\": \"d{}\"}},\n \"context\": {{\"risk\": {}, \"env\": {:?}, \"mfa\": {}}}}}\n",
        q.ptype.name(),
        q.ptype.prefix(),
        q.p,
        action_name(q.action),
        q.doc,
        q.risk,
        ENVS.get(q.env).unwrap_or(&""),
        q.mfa
    )
}

fn describe(q: &Req, o: Outcome) -> String {
    format!(
        "{}::{}{} {} Doc::d{}: {} rules name the action, {} of them match principal and resource, {} permit(s) and {} forbid(s) apply",
        q.ptype.name(),
        q.ptype.prefix(),
        q.p,
        action_name(q.action),
        q.doc,
        o.by_action,
        o.by_target,
        o.permits,
        o.forbids
    )
}

/// The name of the generated scenario with `n` rules.
pub fn name(n: usize) -> String {
    format!("gen-{n}")
}

/// The generated scenario with `n` rules.
pub fn scenario(n: usize) -> Scenario {
    let world = World::new();
    let mut rr = Rng(RULE_SEED);
    let rules: Vec<Rule> = (0..n).map(|_| gen_rule(&mut rr)).collect();

    // Writ: the schema, then the rules, 1,000 a file.
    let mut schema = WRIT_SCHEMA_HEAD.to_string();
    for a in 0..N_ACTIONS {
        let _ = writeln!(schema, "  action {}: User | Agent -> Doc", action_name(a));
    }
    schema.push_str("}\n");
    let mut writ_files = vec![("schema.writ".to_string(), schema)];
    for (chunk_ix, chunk) in rules.chunks(1000).enumerate() {
        let first = chunk_ix * 1000;
        let mut text = format!(
            "// Generated by benches/compare/src/generate.rs: rules {} to {}.\n\n",
            rule_id(first),
            rule_id(first + chunk.len() - 1)
        );
        for (k, rule) in chunk.iter().enumerate() {
            writ_rule(&mut text, first + k, rule);
        }
        writ_files.push((format!("rules_{chunk_ix:02}.writ"), text));
    }

    // In file-name order, as `Scenario::load` reads them.
    writ_files.sort();

    let mut cedar_schema = CEDAR_SCHEMA_HEAD.to_string();
    for a in 0..N_ACTIONS {
        let _ = writeln!(
            cedar_schema,
            "action {} appliesTo {{ principal: [User, Agent], resource: [Doc], context: Ctx }};",
            action_name(a)
        );
    }
    let mut cedar_policies = "// Generated by benches/compare/src/generate.rs.\n\n".to_string();
    for (i, rule) in rules.iter().enumerate() {
        cedar_rule(&mut cedar_policies, i, rule);
    }
    // Rego: the helpers, then the rules, 1,000 a module of the same package.
    let mut rego_files = vec![("policy.rego".to_string(), REGO_HEAD.to_string())];
    for (chunk_ix, chunk) in rules.chunks(1000).enumerate() {
        let first = chunk_ix * 1000;
        let mut text = format!(
            "# Generated by benches/compare/src/generate.rs: rules {} to {}.\npackage writ_compare.gen\n\nimport rego.v1\n\n",
            rule_id(first),
            rule_id(first + chunk.len() - 1)
        );
        for (k, rule) in chunk.iter().enumerate() {
            rego_rule(&mut text, first + k, rule);
        }
        rego_files.push((format!("rules_{chunk_ix:02}.rego"), text));
    }
    rego_files.sort();
    let (writ_entities, cedar_entities, rego_data) = entities(&world);

    // Requests: one allowed, one denied by a forbid that overrides a permit (or failing
    // that, by any forbid, or by no permit), then a sample of whatever comes.
    let mut qr = Rng(REQUEST_SEED ^ n as u64);
    let mut allow = None;
    let mut deny: Option<(Req, Outcome, u8)> = None;
    let mut sampled = Vec::new();
    for _ in 0..50_000 {
        let q = sample_request(&mut qr, &rules);
        let o = evaluate(&rules, &world, &q);
        if sampled.len() < SAMPLED_CASES {
            sampled.push((q, o));
        }
        if allow.is_none() && o.allows() {
            allow = Some((q, o));
        }
        let rank = match (o.forbids > 0, o.permits > 0) {
            (true, true) => 3,
            (true, false) => 2,
            _ if !o.allows() && o.by_target > 0 => 1,
            _ => 0,
        };
        if rank > deny.map_or(0, |d| d.2) {
            deny = Some((q, o, rank));
        }
        if allow.is_some() && deny.is_some_and(|d| d.2 == 3) && sampled.len() == SAMPLED_CASES {
            break;
        }
    }
    let expect = |o: Outcome| if o.allows() { Expect::Allow } else { Expect::Deny };
    let mut cases = Vec::new();
    let mut bench = Vec::new();
    let mut notes = vec![format!(
        "{n} generated rules ({} permits, {} forbids) over 50 actions; {} entities.",
        rules.iter().filter(|r| r.effect == Effect::Permit).count(),
        rules.iter().filter(|r| r.effect == Effect::Forbid).count(),
        ORGS + TEAMS + USERS + AGENTS + PROJECTS + FOLDERS + DOCS
    )];
    if let Some((q, o)) = allow {
        cases.push(Case { name: "allow".into(), request: request_json(&q), expect: expect(o) });
        bench.push(("allow".to_string(), "allow".to_string()));
        notes.push(format!("allow: {}", describe(&q, o)));
    }
    if let Some((q, o, _)) = deny {
        cases.push(Case { name: "deny".into(), request: request_json(&q), expect: expect(o) });
        bench.push(("deny".to_string(), "deny".to_string()));
        notes.push(format!("deny: {}", describe(&q, o)));
    }
    for (i, (q, o)) in sampled.into_iter().enumerate() {
        cases.push(Case { name: format!("sample_{i:02}"), request: request_json(&q), expect: expect(o) });
    }

    Scenario {
        name: name(n),
        writ_files,
        writ_entities,
        cedar_schema,
        cedar_policies,
        cedar_entities,
        rego_files,
        rego_data,
        rego_rule: "data.writ_compare.gen.allow".into(),
        cedar_weekday: false,
        cases,
        bench,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_prefix() {
        let a = scenario(10);
        let b = scenario(10);
        assert_eq!(a, b);
        let big = scenario(100);
        let rules = |sc: &Scenario| sc.writ_files.iter().find(|f| f.0 == "rules_00.writ").map(|f| f.1.clone());
        let small_rules = rules(&a).unwrap_or_default();
        let big_rules = rules(&big).unwrap_or_default();
        let body = small_rules.split_once("\n\n").map(|x| x.1).unwrap_or_default();
        assert!(big_rules.contains(body), "the 10-rule set is a prefix of the 100-rule set");
    }

    #[test]
    fn timed_cases_exist() {
        for n in [10, 100, 1000] {
            let sc = scenario(n);
            assert_eq!(sc.case("allow").map(|c| c.expect), Some(Expect::Allow), "{n}");
            assert_eq!(sc.case("deny").map(|c| c.expect), Some(Expect::Deny), "{n}");
        }
    }
}
