//! Decisions (docs/decisions.md), through the embedding API, table-driven: each step of the decision
//! algorithm, every fail-closed path, reasons, `--explain`, the decision JSON, and the
//! evaluation of every expression form on values only known at decision time (constants
//! are folded by the checker, so every table row reads the request).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value as Json, json};
use std::collections::HashMap;
use writ::{Decision, Engine, PolicySet, Verdict};

// ------------------------------------------------------------------------------ fixtures

const SCHEMA: &str = r#"
schema {
  enum Level { public, internal, confidential, secret }

  entity Org
  entity Team in Org
  entity Human in Team { clearance: Level }
  entity Agent in Team {
    owner: Human,
    env: String,
    workload: String,
    max_delegation: Int?,
  }
  entity ServiceAccount { env: String }
  entity ToolGroup in ToolGroup
  entity Tool in ToolGroup { sensitivity: Level, destructive: Bool }
  entity Secret { env: String, sensitivity: Level }

  context {
    now: Timestamp,
    risk: Int,
    source_ip: Ip,
    approved: Bool?,
  }

  action call_tool:   Agent | Human -> Tool { args: { query: String? } }
  action read_secret: Agent | Human | ServiceAccount -> Secret { credential_age: Duration }
  action deploy:      ServiceAccount -> Tool
  action probe:       Agent | Human -> Tool {
    i: Int,
    n: Int?,
    s: String,
    d: Duration,
    t: Timestamp,
    lvl: Level,
    tags: Set<String>,
    nets: Set<Ip>,
    teams: Set<Team>,
  }
  action group secrets = [read_secret]
}

intent triage_ticket "Read and comment on support tickets" {
  call_tool on ToolGroup::"ticketing"
}
intent rotate_keys "Rotate production database keys" {
  read_secret on Secret
}
intent probing "Evaluate expressions" {
  probe on *
}
"#;

const ENTITIES: &str = r#"[
  {"type": "Org", "id": "acme"},
  {"type": "Team", "id": "support", "parents": [{"type": "Org", "id": "acme"}]},
  {"type": "Team", "id": "ops", "parents": [{"type": "Org", "id": "acme"}]},
  {"type": "Human", "id": "alice", "attrs": {"clearance": "secret"}, "parents": [{"type": "Team", "id": "support"}]},
  {"type": "Human", "id": "bob", "attrs": {"clearance": "public"}},
  {"type": "Human", "id": "carol", "attrs": {"clearance": "internal"}},
  {"type": "Human", "id": "dave", "attrs": {"clearance": "confidential"}},
  {"type": "Human", "id": "erin", "attrs": {"clearance": "secret"}},
  {"type": "Human", "id": "frank", "attrs": {"clearance": "confidential"}},
  {"type": "Agent", "id": "bot", "parents": [{"type": "Team", "id": "support"}],
   "attrs": {"owner": {"type": "Human", "id": "alice"}, "env": "prod",
             "workload": "spiffe://prod.acme/ns/support/sa/bot"}},
  {"type": "Agent", "id": "helper", "parents": [{"type": "Team", "id": "ops"}],
   "attrs": {"owner": {"type": "Human", "id": "bob"}, "env": "dev",
             "workload": "spiffe://dev.acme/ns/ci/sa/helper", "max_delegation": 2}},
  {"type": "ServiceAccount", "id": "ci", "attrs": {"env": "prod"}},
  {"type": "ToolGroup", "id": "all"},
  {"type": "ToolGroup", "id": "ticketing", "parents": [{"type": "ToolGroup", "id": "all"}]},
  {"type": "ToolGroup", "id": "jira", "parents": [{"type": "ToolGroup", "id": "ticketing"}]},
  {"type": "Tool", "id": "jira.comment", "attrs": {"sensitivity": "internal", "destructive": false},
   "parents": [{"type": "ToolGroup", "id": "jira"}]},
  {"type": "Tool", "id": "jira.delete", "attrs": {"sensitivity": "internal", "destructive": true},
   "parents": [{"type": "ToolGroup", "id": "jira"}]},
  {"type": "Tool", "id": "ticket.view", "attrs": {"sensitivity": "public", "destructive": false},
   "parents": [{"type": "ToolGroup", "id": "ticketing"}]},
  {"type": "Tool", "id": "prod.db", "attrs": {"sensitivity": "secret", "destructive": true},
   "parents": [{"type": "ToolGroup", "id": "all"}]},
  {"type": "Tool", "id": "loose", "attrs": {"sensitivity": "public", "destructive": false}},
  {"type": "Secret", "id": "db-prod", "attrs": {"env": "prod", "sensitivity": "secret"}}
]"#;

/// The request every decision row starts from (the running example, `examples/spec`, a
/// Monday at 10:15 UTC); rows patch it.
fn call_tool_request() -> Json {
    json!({
        "principal": {"type": "Agent", "id": "bot"},
        "action": "call_tool",
        "resource": {"type": "Tool", "id": "jira.comment"},
        "context": {"now": "2026-11-23T10:15:00Z", "risk": 12, "source_ip": "10.1.2.3", "args": {}}
    })
}

/// The request every expression row starts from; rows patch it.
fn probe_request() -> Json {
    json!({
        "principal": {"type": "Agent", "id": "bot"},
        "action": "probe",
        "resource": {"type": "Tool", "id": "jira.comment"},
        "context": {
            "now": "2026-11-23T10:15:00Z", "risk": 12, "source_ip": "10.1.2.3",
            "i": 7, "s": "hello", "d": "15m", "t": "2026-11-23T10:15:00Z", "lvl": "confidential",
            "tags": ["t1", "t2"], "nets": ["10.0.0.0/8", "192.168.0.0/16"],
            "teams": [{"type": "Team", "id": "ops"}]
        }
    })
}

/// Patches `base` with `patch`: objects merge key by key, `null` removes a key, anything
/// else replaces.
fn merge(base: &mut Json, patch: Json) {
    match (base, patch) {
        (Json::Object(b), Json::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(&k);
                } else {
                    merge(b.entry(k).or_insert(Json::Null), v);
                }
            }
        }
        (b, p) => *b = p,
    }
}

/// The policy set of the shared schema and `rules` (in `rules.writ`).
/// The probe action's context carries network ranges (`nets`): requests may hold IP ranges.
const OPTIONS: writ::EngineOptions =
    writ::EngineOptions { allow_request_ip_ranges: true, ..writ::EngineOptions::DEFAULT };

fn engine(rules: &str) -> Engine {
    match PolicySet::from_sources(&[("schema.writ", SCHEMA), ("rules.writ", rules)]) {
        Ok(p) => Engine::interpreted_with(&p, OPTIONS),
        Err(e) => panic!("the rules do not check:\n{rules}\n{}", e.render()),
    }
}

/// Per rule text, the interpreter and the JIT with their entity stores (each engine lays
/// out its own). Every decision is made by both, and they must agree.
struct Bench {
    engines: HashMap<String, [(Engine, writ::Entities); 2]>,
}

impl Bench {
    fn new() -> Bench {
        Bench { engines: HashMap::new() }
    }

    fn decide(&mut self, rules: &str, base: Json, patch: &str, explain: bool) -> Decision {
        let pair = self.engines.entry(rules.to_string()).or_insert_with(|| {
            let interp = engine(rules);
            let jit = Engine::compile_with(interp.policy(), OPTIONS).unwrap();
            let (ie, je) = (interp.entities_from_json(ENTITIES).unwrap(), jit.entities_from_json(ENTITIES).unwrap());
            [(interp, ie), (jit, je)]
        });
        let mut request = base;
        let patch: Json = serde_json::from_str(patch).unwrap_or_else(|e| panic!("bad patch {patch}: {e}"));
        merge(&mut request, patch);
        let text = request.to_string();
        let [(engine, entities), (jit, jit_entities)] = &*pair;
        let request = engine.request_from_json(&text, entities).unwrap_or_else(|e| panic!("{text}\n{e}"));
        let jit_request = jit.request_from_json(&text, jit_entities).unwrap_or_else(|e| panic!("{text}\n{e}"));
        let native = jit.decide(&jit_request);
        let reference = engine.decide(&request);
        assert_eq!(native, reference, "the JIT and the interpreter disagree on\n{rules}\n{text}");
        if explain { engine.decide_explained(&request) } else { reference }
    }
}

/// A decision in one line: `verdict [rule, rule@Type::id] {obligations} !rule: error`.
fn summary(d: &Decision) -> String {
    let reasons: Vec<String> = d
        .reasons
        .iter()
        .map(|r| match &r.on_behalf_of {
            Some(e) => format!("{}@{}::{}", r.rule, e.ty, e.id),
            None => r.rule.to_string(),
        })
        .collect();
    let mut s = format!("{} [{}]", d.decision.as_str(), reasons.join(", "));
    if !d.obligations.is_empty() {
        s.push(' ');
        s.push_str(&serde_json::to_string(&d.obligations).unwrap());
    }
    for e in &d.errors {
        s.push_str(&format!(" !{}: {}", e.rule, e.message));
    }
    s
}

/// One decision row: rules, a patch of the `call_tool` request, the expected summary.
type Row<'a> = (&'a str, &'a str, &'a str);

/// Runs every row and reports every mismatch at once.
fn check(rows: &[Row<'_>]) {
    let mut bench = Bench::new();
    let mut failures = Vec::new();
    for (i, (rules, patch, expect)) in rows.iter().enumerate() {
        let got = summary(&bench.decide(rules, call_tool_request(), patch, false));
        if got != *expect {
            failures.push(format!("row {i}: rules\n{rules}\n  patch  {patch}\n  expect {expect}\n  got    {got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

const MAX: &str = "9223372036854775807";

// ------------------------------------------------------------------ step 1: targets, clauses

#[test]
fn a_rule_applies_only_when_its_target_matches() {
    check(&[
        // principal: a type, an entity, `Type in Type::"id"` (transitively), `*`
        (r#"@id("p") permit Agent to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Human to call_tool on Tool;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit Agent::"bot" to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Agent::"helper" to call_tool on Tool;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit Agent in Team::"support" to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Agent in Org::"acme" to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Agent in Team::"ops" to call_tool on Tool;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit Agent::"bot" in Org::"acme" to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Agent::"bot" in Team::"ops" to call_tool on Tool;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to call_tool on Tool;"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on *;"#, "{}", "allow [p]"),
        // actions: one, a list, a group, `*`
        (r#"@id("p") permit * to read_secret on *;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to [read_secret, call_tool] on *;"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to [read_secret, deploy] on *;"#, "{}", "deny [no-permit]"),
        (
            r#"@id("p") permit * to secrets on *;"#,
            r#"{"action": "read_secret", "resource": {"type": "Secret", "id": "db-prod"},
                "context": {"args": null, "credential_age": "5m"}}"#,
            "allow [p]",
        ),
        (r#"@id("p") permit * to secrets on *;"#, "{}", "deny [no-permit]"),
        // resource: a type, an entity, `Type in Type::"id"` through three levels
        (r#"@id("p") permit * to * on Secret;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to * on Tool::"jira.comment";"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on Tool::"jira.delete";"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to * on Tool in ToolGroup::"jira";"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on Tool in ToolGroup::"all";"#, "{}", "allow [p]"),
        (
            r#"@id("p") permit * to * on Tool in ToolGroup::"ticketing";"#,
            r#"{"resource": {"id": "prod.db"}}"#,
            "deny [no-permit]",
        ),
        (
            r#"@id("p") permit * to * on Tool in ToolGroup::"all";"#,
            r#"{"resource": {"id": "loose"}}"#,
            "deny [no-permit]",
        ),
        (r#"@id("p") permit * to * on Tool::"jira.comment" in ToolGroup::"all";"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on Tool::"prod.db" in ToolGroup::"all";"#, "{}", "deny [no-permit]"),
        // a forbid or escalate whose target does not match does not apply either
        (r#"@id("p") permit * to * on *; @id("f") forbid Human to * on *;"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on *; @id("e") escalate * to * on Tool::"prod.db";"#, "{}", "allow [p]"),
    ]);
}

#[test]
fn a_rule_applies_only_when_every_when_holds_and_no_unless_holds() {
    check(&[
        (r#"@id("p") permit * to * on * when context.risk < 50;"#, "{}", "allow [p]"),
        (r#"@id("p") permit * to * on * when context.risk < 10;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to * on * unless context.risk < 50;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to * on * unless context.risk > 50;"#, "{}", "allow [p]"),
        (r#"@id("p") permit Agent to * on * when context.risk < 50 when principal.env == "prod";"#, "{}", "allow [p]"),
        (
            r#"@id("p") permit Agent to * on * when context.risk < 50 when principal.env == "dev";"#,
            "{}",
            "deny [no-permit]",
        ),
        (
            r#"@id("p") permit Agent to * on * when context.risk > 50 when principal.env == "prod";"#,
            "{}",
            "deny [no-permit]",
        ),
        (
            r#"@id("p") permit * to * on * when context.risk < 50 unless context has approved;"#,
            r#"{"context": {"approved": false}}"#,
            "deny [no-permit]",
        ),
        (r#"@id("p") permit * to * on * when context.risk < 50 unless context has approved;"#, "{}", "allow [p]"),
        (
            r#"@id("p") permit Agent to * on * unless context.risk > 50 unless principal.env == "dev";"#,
            "{}",
            "allow [p]",
        ),
        (
            r#"@id("p") permit Agent to * on * unless context.risk > 50 unless principal.env == "prod";"#,
            "{}",
            "deny [no-permit]",
        ),
        // the same clauses on a forbid
        (r#"@id("p") permit * to * on *; @id("f") forbid * to * on * when context.risk >= 80;"#, "{}", "allow [p]"),
        (
            r#"@id("p") permit * to * on *; @id("f") forbid * to * on * when context.risk >= 80;"#,
            r#"{"context": {"risk": 80}}"#,
            "deny [f]",
        ),
        (
            r#"@id("p") permit * to * on *; @id("f") forbid * to * on * unless context.risk < 80;"#,
            r#"{"context": {"risk": 80}}"#,
            "deny [f]",
        ),
    ]);
}

// ------------------------------------------------------------------ step 2: forbid

const FORBID_RULES: &str = r#"
@id("p") permit * to * on *;
@id("e") escalate * to * on Tool when resource.destructive;
@id("risk") forbid * to * on * when context.risk >= 80 because "risk score too high";
@id("secret-tools") forbid * to * on * when resource.sensitivity == secret;
"#;

#[test]
fn forbid_beats_permit_and_escalate() {
    check(&[
        (FORBID_RULES, "{}", "allow [p]"),
        (FORBID_RULES, r#"{"resource": {"id": "jira.delete"}}"#, "escalate [e]"),
        (FORBID_RULES, r#"{"context": {"risk": 90}}"#, "deny [risk]"),
        (FORBID_RULES, r#"{"context": {"risk": 90}, "resource": {"id": "jira.delete"}}"#, "deny [risk]"),
        // every applying forbid is a reason
        (FORBID_RULES, r#"{"context": {"risk": 90}, "resource": {"id": "prod.db"}}"#, "deny [risk, secret-tools]"),
        (FORBID_RULES, r#"{"resource": {"id": "prod.db"}}"#, "deny [secret-tools]"),
    ]);
}

// ------------------------------------------------------------------ step 3: intent

const INTENT_RULES: &str = r#"
@id("p") permit * to * on *;
@id("risk") forbid * to * on * when context.risk >= 80;
@id("e") escalate * to * on Tool when resource.destructive;
"#;

#[test]
fn a_request_outside_its_intent_is_denied() {
    check(&[
        // `call_tool on ToolGroup::"ticketing"` covers what is in the group, transitively
        (INTENT_RULES, r#"{"intent": "triage_ticket"}"#, "allow [p]"),
        (INTENT_RULES, r#"{"intent": "triage_ticket", "resource": {"id": "ticket.view"}}"#, "allow [p]"),
        (
            INTENT_RULES,
            r#"{"intent": "triage_ticket", "resource": {"id": "loose"}}"#,
            "deny [outside-intent:triage_ticket]",
        ),
        // outside the envelope beats escalate and permit
        (
            INTENT_RULES,
            r#"{"intent": "triage_ticket", "resource": {"id": "prod.db"}}"#,
            "deny [outside-intent:triage_ticket]",
        ),
        // the action must be covered too
        (INTENT_RULES, r#"{"intent": "rotate_keys"}"#, "deny [outside-intent:rotate_keys]"),
        (
            INTENT_RULES,
            r#"{"intent": "rotate_keys", "action": "read_secret", "resource": {"type": "Secret", "id": "db-prod"},
                "context": {"args": null, "credential_age": "5m"}}"#,
            "allow [p]",
        ),
        // forbid comes first
        (
            INTENT_RULES,
            r#"{"intent": "triage_ticket", "resource": {"id": "loose"}, "context": {"risk": 90}}"#,
            "deny [risk]",
        ),
        // inside the envelope the rules decide
        (INTENT_RULES, r#"{"intent": "triage_ticket", "resource": {"id": "jira.delete"}}"#, "escalate [e]"),
        (r#"@id("h") permit Human to * on *;"#, r#"{"intent": "triage_ticket"}"#, "deny [no-permit]"),
        // no intent: the rules alone (even on resources no intent covers)
        (INTENT_RULES, "{}", "allow [p]"),
        (INTENT_RULES, r#"{"resource": {"id": "loose"}}"#, "allow [p]"),
        (INTENT_RULES, r#"{"intent": "none", "resource": {"id": "loose"}}"#, "allow [p]"),
        // the envelope is checked before the delegation chain
        (
            INTENT_RULES,
            r#"{"intent": "triage_ticket", "resource": {"id": "loose"},
                "on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "deny [outside-intent:triage_ticket]",
        ),
    ]);
}

const DEMAND_INTENT: &str = r#"
@id("p") permit * to * on *;
@id("needs-intent") forbid Agent to * on * when intent == none because "agents must declare a task";
"#;

#[test]
fn a_rule_may_demand_an_intent() {
    check(&[
        (DEMAND_INTENT, "{}", "deny [needs-intent]"),
        (DEMAND_INTENT, r#"{"intent": "none"}"#, "deny [needs-intent]"),
        (DEMAND_INTENT, r#"{"intent": "triage_ticket"}"#, "allow [p]"),
        (DEMAND_INTENT, r#"{"principal": {"type": "Human", "id": "alice"}}"#, "allow [p]"),
        (
            r#"@id("p") permit * to * on * when intent in [triage_ticket, rotate_keys];"#,
            r#"{"intent": "triage_ticket"}"#,
            "allow [p]",
        ),
        (r#"@id("p") permit * to * on * when intent in [triage_ticket, rotate_keys];"#, "{}", "deny [no-permit]"),
    ]);
}

// ------------------------------------------------------------------ step 4: delegation

const DELEGATION: &str = r#"
@id("agents") permit Agent to call_tool on Tool when principal.env == "prod" grant { ttl: 15m };
@id("cleared") permit Human to call_tool on Tool when principal.clearance >= confidential;
@id("no-public") forbid Human to * on * when principal.clearance == public;
@id("internal-asks") escalate Human to * on * when principal.clearance == internal;
@id("risk") forbid * to * on * when context.risk >= 80;
"#;

#[test]
fn each_principal_of_the_chain_is_authorized_afresh() {
    check(&[
        (DELEGATION, r#"{"on_behalf_of": []}"#, r#"allow [agents] {"ttl":"15m"}"#),
        // the permits that allowed each hop are reasons too, after the principal's
        (
            DELEGATION,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            r#"allow [agents, cleared@Human::alice] {"ttl":"15m"}"#,
        ),
        (
            DELEGATION,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Human", "id": "dave"}]}"#,
            r#"allow [agents, cleared@Human::alice, cleared@Human::dave] {"ttl":"15m"}"#,
        ),
        // a hop that nothing permits is denied, whatever permits the principal
        (
            r#"@id("agents") permit Agent to call_tool on Tool;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            r#"deny [no-permit@Human::alice]"#,
        ),
        // a forbidden hop denies the request; the reason names the hop
        (DELEGATION, r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}]}"#, "deny [no-public@Human::bob]"),
        (
            DELEGATION,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Human", "id": "bob"}]}"#,
            "deny [no-public@Human::bob]",
        ),
        // an agent in the chain is authorized as an agent
        (
            DELEGATION,
            r#"{"on_behalf_of": [{"type": "Agent", "id": "bot"}]}"#,
            r#"allow [agents, agents@Agent::bot] {"ttl":"15m"}"#,
        ),
        (DELEGATION, r#"{"on_behalf_of": [{"type": "Agent", "id": "helper"}]}"#, "deny [no-permit@Agent::helper]"),
        // the same context: the hop sees the request's risk
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("calm-humans") permit Human to call_tool on Tool when context.risk < 10;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "deny [no-permit@Human::alice]",
        ),
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("calm-humans") permit Human to call_tool on Tool when context.risk < 20;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "allow [agents, calm-humans@Human::alice]",
        ),
        // the same resource: the hop's rules see it
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("h") permit Human to call_tool on Tool::"jira.delete";"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "deny [no-permit@Human::alice]",
        ),
    ]);
}

#[test]
fn trust_is_never_inherited_along_the_chain() {
    check(&[
        // the agent is permitted for its own attributes; bob (public) is not, for his own
        (
            r#"@id("agents") permit Agent to call_tool on Tool when principal.env == "prod";
               @id("cleared") permit Human to call_tool on Tool when principal.clearance >= confidential;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}]}"#,
            "deny [no-permit@Human::bob]",
        ),
        // the other way round: alice is cleared, the dev agent acting for her is not
        (
            r#"@id("agents") permit Agent to call_tool on Tool when principal.env == "prod";
               @id("cleared") permit Human to call_tool on Tool when principal.clearance >= confidential;"#,
            r#"{"principal": {"id": "helper"}, "on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "deny [no-permit]",
        ),
        // a rule about the agent's owner does not extend to the hop
        (
            r#"@id("owned") permit Agent to call_tool on Tool when principal.owner == Human::"alice";"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "deny [no-permit@Human::alice]",
        ),
        // a rule naming one principal does not extend to whoever it acts for
        (
            r#"@id("bot") permit Agent::"bot" to call_tool on Tool;"#,
            r#"{"on_behalf_of": [{"type": "Agent", "id": "helper"}]}"#,
            "deny [no-permit@Agent::helper]",
        ),
    ]);
}

#[test]
fn obligations_merge_over_the_principal_and_its_chain() {
    check(&[(
        r#"@id("agents") permit Agent to call_tool on Tool grant { ttl: 15m, audit: "agent" };
           @id("humans") permit Human to call_tool on Tool grant { ttl: 5m, audit: "human" };"#,
        r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
        r#"allow [agents, humans@Human::alice] {"audit":["agent","human"],"ttl":"5m"}"#,
    )]);
}

/// Step 5 of docs/decisions.md, for the principal and for each hop: an escalate asks a human only where
/// the approval could lead to allow, that is where a permit applies too. Humans: alice
/// (`secret`, permitted), carol (`internal`, permitted and asks), bob (`public`, asks, not
/// permitted), dave (`confidential`, permitted); agents: bot (permitted, asks on
/// destructive tools), helper (not permitted, asks on destructive tools).
const ASK: &str = r#"
@id("agents") permit Agent to call_tool on Tool when principal.env == "prod" grant { ttl: 15m };
@id("cleared") permit Human to call_tool on Tool when principal.clearance >= internal grant { ttl: 5m };
@id("agents-ask") escalate Agent to call_tool on Tool when resource.destructive;
@id("humans-ask") escalate Human to call_tool on Tool when principal.clearance <= internal;
@id("risk") forbid * to * on * when context.risk >= 80;
"#;

#[test]
fn escalate_only_where_an_approval_can_lead_to_allow() {
    let delete = r#""resource": {"id": "jira.delete"}"#;
    let helper = r#""principal": {"id": "helper"}"#;
    let rows: Vec<(String, &str)> = vec![
        // the principal: escalate and permit → escalate; escalate alone → deny
        (format!("{{{delete}}}"), "escalate [agents-ask]"),
        (format!("{{{delete}, {helper}}}"), "deny [no-permit]"),
        // a hop: escalate and permit → escalate (the principal is permitted)
        (r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}]}"#.into(), "escalate [humans-ask@Human::carol]"),
        // a hop: escalate without a permit → that hop is denied
        (r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}]}"#.into(), "deny [no-permit@Human::bob]"),
        // the principal and a hop escalate: both are reasons, the principal's first
        (
            format!(r#"{{{delete}, "on_behalf_of": [{{"type": "Human", "id": "carol"}}]}}"#),
            "escalate [agents-ask, humans-ask@Human::carol]",
        ),
        // the principal escalates, a hop is allowed
        (format!(r#"{{{delete}, "on_behalf_of": [{{"type": "Human", "id": "alice"}}]}}"#), "escalate [agents-ask]"),
        // the principal escalates, a hop escalates without a permit: the hop denies
        (format!(r#"{{{delete}, "on_behalf_of": [{{"type": "Human", "id": "bob"}}]}}"#), "deny [no-permit@Human::bob]"),
        // an escalating hop does not turn the principal's deny into escalate
        (format!(r#"{{{helper}, "on_behalf_of": [{{"type": "Human", "id": "carol"}}]}}"#), "deny [no-permit]"),
        (
            format!(r#"{{{delete}, {helper}, "on_behalf_of": [{{"type": "Human", "id": "carol"}}]}}"#),
            "deny [no-permit]",
        ),
        // nor the principal's escalate without a permit, whatever the hops
        (
            format!(r#"{{{delete}, {helper}, "on_behalf_of": [{{"type": "Human", "id": "alice"}}]}}"#),
            "deny [no-permit]",
        ),
        // an escalated hop, then a denied one (and the other way round): deny
        (
            r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}, {"type": "Human", "id": "bob"}]}"#.into(),
            "deny [no-permit@Human::bob]",
        ),
        (
            r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}, {"type": "Human", "id": "carol"}]}"#.into(),
            "deny [no-permit@Human::bob]",
        ),
        // an escalated hop among allowed ones: escalate, the escalating hop the reason
        (
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Human", "id": "carol"}]}"#.into(),
            "escalate [humans-ask@Human::carol]",
        ),
        // every hop allowed: allow, the principal's permits first, then each hop's in order
        (
            r#"{"on_behalf_of": [{"type": "Human", "id": "dave"}, {"type": "Human", "id": "alice"}]}"#.into(),
            r#"allow [agents, cleared@Human::dave, cleared@Human::alice] {"ttl":"5m"}"#,
        ),
        // forbid beats all of it
        (r#"{"context": {"risk": 90}, "on_behalf_of": [{"type": "Human", "id": "carol"}]}"#.into(), "deny [risk]"),
    ];
    let rows: Vec<Row<'_>> = rows.iter().map(|(p, e)| (ASK, p.as_str(), *e)).collect();
    check(&rows);
}

#[test]
fn an_escalating_hop_caps_the_answer_at_escalate() {
    // DELEGATION: carol (internal) asks, but no permit applies to her
    check(&[
        (DELEGATION, r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}]}"#, "deny [no-permit@Human::carol]"),
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("h") permit Human to call_tool on Tool;
               @id("internal-asks") escalate Human to * on * when principal.clearance == internal;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}, {"type": "Human", "id": "alice"}]}"#,
            "escalate [internal-asks@Human::carol]",
        ),
        // a denied hop after an escalating one still denies
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("h") permit Human to call_tool on Tool;
               @id("no-public") forbid Human to * on * when principal.clearance == public;
               @id("internal-asks") escalate Human to * on * when principal.clearance == internal;"#,
            r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}, {"type": "Human", "id": "bob"}]}"#,
            "deny [no-public@Human::bob]",
        ),
        (DELEGATION, r#"{"context": {"risk": 90}, "on_behalf_of": [{"type": "Human", "id": "carol"}]}"#, "deny [risk]"),
        // both the principal and a hop escalate: both are reasons
        (
            r#"@id("agents") permit Agent to call_tool on Tool;
               @id("h") permit Human to call_tool on Tool;
               @id("agents-ask") escalate Agent to * on Tool when resource.destructive;
               @id("internal-asks") escalate Human to * on * when principal.clearance == internal;"#,
            r#"{"resource": {"id": "jira.delete"}, "on_behalf_of": [{"type": "Human", "id": "carol"}]}"#,
            "escalate [agents-ask, internal-asks@Human::carol]",
        ),
    ]);
}

#[test]
fn a_chain_longer_than_four_is_denied() {
    let humans = ["alice", "dave", "erin", "frank", "alice"];
    let chain = |n: usize| {
        let hops: Vec<Json> = humans[..n].iter().map(|h| json!({"type": "Human", "id": h})).collect();
        json!({ "on_behalf_of": hops }).to_string()
    };
    let rows: Vec<(String, &str)> = vec![
        (chain(3), r#"allow [agents, cleared@Human::alice, cleared@Human::dave, cleared@Human::erin] {"ttl":"15m"}"#),
        (
            chain(4),
            r#"allow [agents, cleared@Human::alice, cleared@Human::dave, cleared@Human::erin, cleared@Human::frank] {"ttl":"15m"}"#,
        ),
        (chain(5), "deny [delegation-too-long]"),
    ];
    let rows: Vec<Row<'_>> = rows.iter().map(|(p, e)| (DELEGATION, p.as_str(), *e)).collect();
    check(&rows);
}

// ------------------------------------------------------------------ steps 5-7

const ESCALATE_RULES: &str = r#"
@id("p") permit * to * on * grant { ttl: 15m };
@id("destructive-needs-human") escalate Agent to call_tool on Tool
  when resource.destructive
  unless context has approved and context.approved
  because "destructive tools need a human approval";
"#;

#[test]
fn escalate_beats_permit() {
    check(&[
        (ESCALATE_RULES, "{}", r#"allow [p] {"ttl":"15m"}"#),
        (ESCALATE_RULES, r#"{"resource": {"id": "jira.delete"}}"#, "escalate [destructive-needs-human]"),
        (
            ESCALATE_RULES,
            r#"{"resource": {"id": "jira.delete"}, "context": {"approved": false}}"#,
            "escalate [destructive-needs-human]",
        ),
        (
            ESCALATE_RULES,
            r#"{"resource": {"id": "jira.delete"}, "context": {"approved": true}}"#,
            r#"allow [p] {"ttl":"15m"}"#,
        ),
        // every applying escalate is a reason
        (
            r#"@id("p") permit * to * on *;
               @id("e1") escalate * to * on *; @id("e2") escalate * to * on Tool when resource.destructive;"#,
            r#"{"resource": {"id": "jira.delete"}}"#,
            "escalate [e1, e2]",
        ),
        // an escalate without an applying permit does not escalate: no approval could lead
        // to allow, so the default deny answers
        (
            r#"@id("e") escalate * to * on Tool when resource.destructive;"#,
            r#"{"resource": {"id": "jira.delete"}}"#,
            "deny [no-permit]",
        ),
        (
            r#"@id("e1") escalate * to * on *; @id("e2") escalate * to * on Tool when resource.destructive;"#,
            r#"{"resource": {"id": "jira.delete"}}"#,
            "deny [no-permit]",
        ),
        (
            r#"@id("p") permit * to * on * when context.risk < 10;
               @id("e") escalate * to * on Tool when resource.destructive;"#,
            r#"{"resource": {"id": "jira.delete"}}"#,
            "deny [no-permit]",
        ),
        (
            r#"@id("p") permit * to * on * when context.risk < 10;
               @id("e") escalate * to * on Tool when resource.destructive;"#,
            r#"{"resource": {"id": "jira.delete"}, "context": {"risk": 3}}"#,
            "escalate [e]",
        ),
    ]);
}

const GRANTS: &str = r#"
@id("long") permit * to * on * grant { ttl: 15m, audit: "tools", level: resource.sensitivity };
@id("short") permit * to * on * when context.risk > 10 grant { ttl: 5m, audit: "risky", risk: context.risk };
@id("again") permit * to * on * grant { audit: "tools" };
@id("odd") permit * to * on Tool when resource.destructive grant { ttl: 1h30m, audit: "destructive" };
@id("skipped") permit * to * on * when context.risk > 50 grant { ttl: 1m, audit: "never" };
@id("plain") permit * to * on *;
"#;

#[test]
fn permits_merge_their_obligations() {
    check(&[
        // ttl: the smallest; other keys: every value, sorted, without duplicates
        (
            GRANTS,
            "{}",
            r#"allow [long, short, again, plain] {"audit":["risky","tools"],"level":["internal"],"risk":[12],"ttl":"5m"}"#,
        ),
        (
            GRANTS,
            r#"{"context": {"risk": 3}}"#,
            r#"allow [long, again, plain] {"audit":["tools"],"level":["internal"],"ttl":"15m"}"#,
        ),
        (
            GRANTS,
            r#"{"context": {"risk": 3}, "resource": {"id": "prod.db"}}"#,
            r#"allow [long, again, odd, plain] {"audit":["destructive","tools"],"level":["secret"],"ttl":"15m"}"#,
        ),
        // ttl rendered as a compound duration
        (r#"@id("p") permit * to * on * grant { ttl: 90m };"#, "{}", r#"allow [p] {"ttl":"1h30m"}"#),
        (
            r#"@id("p") permit * to * on * grant { ttl: 5m }; @id("q") permit * to * on * grant { ttl: 300s };"#,
            "{}",
            r#"allow [p, q] {"ttl":"5m"}"#,
        ),
        // grant values computed at decision time, through functions too
        (
            r#"import std.identity
               @id("p") permit Agent to * on * grant { domain: identity.trust_domain(principal.workload) };"#,
            "{}",
            r#"allow [p] {"domain":["prod.acme"]}"#,
        ),
        (
            r#"import std.time
               @id("p") permit * to * on *
                 grant { age: time.age(context.now, context.now + 1h), ok: time.business_hours(context.now) };"#,
            "{}",
            r#"allow [p] {"age":["1h"],"ok":[true]}"#,
        ),
        (
            r#"@id("p") permit * to * on * when context.risk < 50 grant { big: any x in [1, 2]: x == context.risk };"#,
            "{}",
            r#"allow [p] {"big":[false]}"#,
        ),
        // no grant, no obligations; obligations come from permits only
        (r#"@id("p") permit * to * on *;"#, "{}", "allow [p]"),
        (
            r#"@id("p") permit * to * on *; @id("e") escalate * to * on Tool when resource.destructive grant { ttl: 1m };"#,
            r#"{"resource": {"id": "jira.delete"}}"#,
            "escalate [e]",
        ),
    ]);
}

/// A `ttl` computed at decision time that is not positive makes its permit fail closed (a
/// constant one is a compile error, E0110): the same in both back ends, on a hop too.
#[test]
fn a_computed_ttl_must_be_positive() {
    let ttl = r#"@id("p") permit * to * on * grant { ttl: 1m * (context.risk - 10), audit: "p" };"#;
    let two = r#"@id("p") permit * to * on * grant { ttl: 1m * (context.risk - 10), audit: "p" };
                 @id("q") permit * to * on * grant { ttl: 5m, audit: "q" };"#;
    let hop = r#"@id("agents") permit Agent to * on *;
                 @id("h") permit Human to * on * grant { ttl: 1m * (context.risk - 10) };"#;
    let asks = r#"@id("p") permit * to * on * grant { ttl: 1m * (context.risk - 10) };
                  @id("e") escalate * to * on Tool when resource.destructive;"#;
    let zero = "!p: the granted `ttl` is `0s`; it must be positive";
    let negative = "!p: the granted `ttl` is `-7m`; it must be positive";
    let alice = r#""on_behalf_of": [{"type": "Human", "id": "alice"}]"#;
    let rows: Vec<(&str, String, String)> = vec![
        (ttl, "{}".into(), r#"allow [p] {"audit":["p"],"ttl":"2m"}"#.into()),
        (ttl, r#"{"context": {"risk": 11}}"#.into(), r#"allow [p] {"audit":["p"],"ttl":"1m"}"#.into()),
        (ttl, r#"{"context": {"risk": 10}}"#.into(), format!("deny [no-permit] {zero}")),
        (ttl, r#"{"context": {"risk": 3}}"#.into(), format!("deny [no-permit] {negative}")),
        // the other permits still apply, and only theirs are merged
        (two, "{}".into(), r#"allow [p, q] {"audit":["p","q"],"ttl":"2m"}"#.into()),
        (two, r#"{"context": {"risk": 3}}"#.into(), format!(r#"allow [q] {{"audit":["q"],"ttl":"5m"}} {negative}"#)),
        // on a hop of the chain
        (hop, format!("{{{alice}}}"), r#"allow [agents, h@Human::alice] {"ttl":"2m"}"#.into()),
        (
            hop,
            format!(r#"{{{alice}, "context": {{"risk": 3}}}}"#),
            "deny [no-permit@Human::alice] !h: the granted `ttl` is `-7m`; it must be positive".into(),
        ),
        // a permit that failed cannot make an escalate ask
        (asks, r#"{"resource": {"id": "jira.delete"}}"#.into(), "escalate [e]".into()),
        (
            asks,
            r#"{"resource": {"id": "jira.delete"}, "context": {"risk": 3}}"#.into(),
            format!("deny [no-permit] {negative}"),
        ),
    ];
    let rows: Vec<Row<'_>> = rows.iter().map(|(r, p, e)| (*r, p.as_str(), e.as_str())).collect();
    check(&rows);
}

#[test]
fn nothing_permits_then_deny() {
    check(&[
        ("", "{}", "deny [no-permit]"),
        (r#"@id("p") permit * to * on * when context.risk > 50;"#, "{}", "deny [no-permit]"),
        (r#"@id("p") permit Human to * on *; @id("s") permit * to read_secret on *;"#, "{}", "deny [no-permit]"),
    ]);
    let d = Bench::new().decide("", call_tool_request(), "{}", false);
    assert_eq!(d.reasons.len(), 1);
    assert_eq!(d.reasons[0].effect, "deny");
    assert!(d.reasons[0].message.is_some());
    assert!(d.obligations.is_empty() && d.errors.is_empty() && d.explain.is_none());
}

// ------------------------------------------------------------------ errors fail closed

#[test]
fn errors_fail_closed() {
    let forbid = format!(
        r#"@id("p") permit * to * on *;
           @id("f") forbid * to * on * when context.risk * {MAX} > 0;"#
    );
    let forbid_unless = format!(
        r#"@id("p") permit * to * on *;
           @id("f") forbid * to * on * unless context.risk * {MAX} > 0;"#
    );
    let escalate = format!(
        r#"@id("p") permit * to * on *;
           @id("e") escalate * to * on * when context.risk * {MAX} > 0;"#
    );
    let escalate_unpermitted = format!(
        r#"@id("p") permit * to * on * when context.risk * {MAX} > 0;
           @id("e") escalate * to * on *;"#
    );
    let permit = format!(r#"@id("p") permit * to * on * when context.risk * {MAX} > 0;"#);
    let permits = format!(
        r#"@id("p") permit * to * on * when context.risk * {MAX} > 0 grant {{ ttl: 1m }};
           @id("q") permit * to * on * grant {{ ttl: 5m }};"#
    );
    let grant = format!(r#"@id("p") permit * to * on * grant {{ ttl: 1m, n: context.risk * {MAX} }};"#);
    let grants = format!(
        r#"@id("p") permit * to * on * grant {{ ttl: 1m, n: context.risk * {MAX} }};
           @id("q") permit * to * on * grant {{ ttl: 5m }};"#
    );
    let hop = format!(
        r#"@id("p") permit Agent to * on *;
           @id("h") permit Human to * on * when context.risk * {MAX} > 0;"#
    );
    let hop_forbid = format!(
        r#"@id("p") permit * to * on *;
           @id("f") forbid Human to * on * when context.risk * {MAX} > 0;"#
    );
    let hop_escalate = format!(
        r#"@id("p") permit * to * on *;
           @id("e") escalate Human to * on * when context.risk * {MAX} > 0;"#
    );
    let untargeted = format!(
        r#"@id("p") permit * to * on *;
           @id("f") forbid Human to * on * when context.risk * {MAX} > 0;"#
    );
    let overflow = "integer overflow in `*`";
    let short = r#"{"context": {"risk": 0}}"#;
    let alice = r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#;
    check(&[
        // a forbid that errors applies
        (&forbid, "{}", &format!("deny [f] !f: {overflow}")),
        (&forbid_unless, "{}", &format!("deny [f] !f: {overflow}")),
        (&forbid, short, "allow [p]"),
        // an escalate that errors applies (where a permit applies too)
        (&escalate, "{}", &format!("escalate [e] !e: {overflow}")),
        (&escalate, short, "allow [p]"),
        (&escalate_unpermitted, "{}", &format!("deny [no-permit] !p: {overflow}")),
        // a permit that errors does not apply
        (&permit, "{}", &format!("deny [no-permit] !p: {overflow}")),
        (&permits, "{}", &format!(r#"allow [q] {{"ttl":"5m"}} !p: {overflow}"#)),
        // nor does one whose grant errors
        (&grant, "{}", &format!("deny [no-permit] !p: {overflow}")),
        (&grants, "{}", &format!(r#"allow [q] {{"ttl":"5m"}} !p: {overflow}"#)),
        (&grants, short, r#"allow [p, q] {"n":[0],"ttl":"1m"}"#),
        // in the delegation chain too
        (&hop, alice, &format!("deny [no-permit@Human::alice] !h: {overflow}")),
        (&hop_forbid, alice, &format!("deny [f@Human::alice] !f: {overflow}")),
        (&hop_escalate, alice, &format!("escalate [e@Human::alice] !e: {overflow}")),
        // a rule whose target does not match is not evaluated
        (&untargeted, "{}", "allow [p]"),
    ]);
}

#[test]
fn every_overflowing_operator_fails_closed() {
    let rows: Vec<(String, &str, String)> = [
        ("context.risk * 9223372036854775807 > 0", "{}", "*"),
        ("context.risk + 9223372036854775807 > 0", "{}", "+"),
        ("-9223372036854775807 - context.risk < 0", "{}", "-"),
        ("-context.risk > 0", r#"{"context": {"risk": -9223372036854775808}}"#, "-"),
        ("context.credential_age * 9223372036854775807 > 0s", "{}", "*"),
        (
            "context.now + context.credential_age + context.credential_age > context.now",
            r#"{"context": {"credential_age": "106000000000d"}}"#,
            "+",
        ),
    ]
    .into_iter()
    .map(|(cond, patch, op)| {
        (
            format!(r#"@id("p") permit * to * on *; @id("f") forbid * to read_secret on * when {cond};"#),
            patch,
            format!("deny [f] !f: integer overflow in `{op}`"),
        )
    })
    .collect();
    let secret = r#"{"action": "read_secret", "resource": {"type": "Secret", "id": "db-prod"},
                     "context": {"args": null, "credential_age": "5m"}}"#;
    let mut bench = Bench::new();
    let mut failures = Vec::new();
    for (rules, patch, expect) in &rows {
        let mut base = call_tool_request();
        merge(&mut base, serde_json::from_str(secret).unwrap());
        let got = summary(&bench.decide(rules, base, patch, false));
        if got != *expect {
            failures.push(format!("{rules}\n  expect {expect}\n  got    {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ------------------------------------------------------------------ reasons, explain, JSON

const LOCATED: &str = r#"// line 1
@id("risk-ceiling")
forbid * to * on *
  when context.risk >= 80
  because "risk score too high";
permit Agent to call_tool on Tool when context.risk < 50;
escalate * to * on Tool when resource.destructive because "ask a human";
"#;

#[test]
fn reasons_carry_rule_effect_message_file_and_line() {
    let mut bench = Bench::new();
    let reason = |bench: &mut Bench, patch: &str| {
        let d = bench.decide(LOCATED, call_tool_request(), patch, false);
        assert_eq!(d.reasons.len(), 1, "{d:?}");
        let r = &d.reasons[0];
        json!([d.decision.as_str(), r.rule, r.effect, r.message, r.file, r.line])
    };
    assert_eq!(
        reason(&mut bench, r#"{"context": {"risk": 90}}"#),
        json!(["deny", "risk-ceiling", "forbid", "risk score too high", "rules.writ", 2])
    );
    // no @id: named FILE:LINE
    assert_eq!(reason(&mut bench, "{}"), json!(["allow", "rules.writ:6", "permit", null, "rules.writ", 6]));
    assert_eq!(
        reason(&mut bench, r#"{"resource": {"id": "jira.delete"}}"#),
        json!(["escalate", "rules.writ:7", "escalate", "ask a human", "rules.writ", 7])
    );
    // built-in reasons have no location
    assert_eq!(
        reason(&mut bench, r#"{"context": {"risk": 60}}"#),
        json!(["deny", "no-permit", "deny", "no permit applies", null, null])
    );
}

const EXPLAINED: &str = r#"
@id("low-risk") permit Agent to call_tool on Tool when context.risk < 50 and principal.env == "prod";
@id("prod-calm") permit Agent to call_tool on Tool when principal.env == "prod" when context.risk < 20;
@id("public-only") permit Agent to call_tool on Tool when resource.sensitivity <= public;
@id("not-approved") permit Agent to call_tool on Tool unless context.risk > 10 or principal.env == "prod";
@id("humans") permit Human to call_tool on Tool;
@id("bot-only") permit Agent::"nobody" to call_tool on Tool;
"#;

#[test]
fn explain_lists_the_closest_permits_and_what_failed() {
    let mut bench = Bench::new();
    let d = bench.decide(EXPLAINED, call_tool_request(), r#"{"context": {"risk": 90}}"#, true);
    assert_eq!(summary(&d), "deny [no-permit]");
    let explain = serde_json::to_value(d.explain.as_ref().expect("a deny is explained")).unwrap();
    assert_eq!(
        explain["closest_permits"],
        json!([
            {"rule": "prod-calm", "file": "rules.writ", "line": 3, "failed": "when context.risk < 20",
             "saw": {"context.risk": 90}, "clauses_passed": 1},
            {"rule": "bot-only", "file": "rules.writ", "line": 7,
             "failed": "the principal is not the one the rule's target names", "saw": {}, "clauses_passed": 0},
            {"rule": "low-risk", "file": "rules.writ", "line": 2, "failed": "when context.risk < 50",
             "saw": {"context.risk": 90}, "clauses_passed": 0},
        ])
    );
    // an allow is not explained
    let d = bench.decide(EXPLAINED, call_tool_request(), r#"{"context": {"risk": 30}}"#, true);
    assert_eq!(summary(&d), "allow [low-risk]");
    assert_eq!(d.explain, None);
    // the failing operand of an `and`; the operand of an `or` that made an `unless` hold;
    // at most three, closest first, then by rule id
    let d = bench.decide(
        EXPLAINED,
        call_tool_request(),
        r#"{"principal": {"id": "helper"}, "context": {"risk": 30}}"#,
        true,
    );
    assert_eq!(summary(&d), "deny [no-permit]");
    let misses: Vec<(String, String, Json)> = d
        .explain
        .expect("a deny is explained")
        .closest_permits
        .into_iter()
        .map(|m| (m.rule, m.failed, json!(m.saw)))
        .collect();
    assert_eq!(
        misses,
        vec![
            ("bot-only".into(), "the principal is not the one the rule's target names".into(), json!({})),
            ("low-risk".into(), "when principal.env == \"prod\"".into(), json!({"principal.env": "dev"})),
            ("not-approved".into(), "unless context.risk > 10".into(), json!({"context.risk": 30})),
        ]
    );
}

/// A deny caused by a hop of the chain is explained with that hop's permits: they are
/// what would have to change (docs/decisions.md).
#[test]
fn explain_covers_a_hop_of_the_chain() {
    let rules = r#"
@id("agents") permit Agent to call_tool on Tool;
@id("cleared") permit Human to call_tool on Tool when principal.clearance >= confidential;
"#;
    let d = Bench::new().decide(
        rules,
        call_tool_request(),
        r#"{"on_behalf_of": [{"type": "Human", "id": "carol"}]}"#,
        true,
    );
    assert_eq!(summary(&d), "deny [no-permit@Human::carol]");
    let misses: Vec<(String, String, Json)> = d
        .explain
        .expect("a deny is explained")
        .closest_permits
        .into_iter()
        .map(|m| (m.rule, m.failed, json!(m.saw)))
        .collect();
    assert_eq!(
        misses,
        vec![(
            "cleared".to_string(),
            "when principal.clearance >= confidential".to_string(),
            json!({"principal.clearance": "internal"})
        )]
    );
}

/// An escalate that applied where no permit did leaves a deny (`no-permit`): its
/// explanation is about the permits, what would have to change for an allow (or for the
/// escalate to ask a human); it lists no escalations.
#[test]
fn explain_a_deny_where_escalates_applied_without_a_permit() {
    let mut bench = Bench::new();
    let explained = |bench: &mut Bench, patch: &str| {
        let d = bench.decide(ASK, call_tool_request(), patch, true);
        let e = d.explain.clone().expect("a deny or escalate is explained");
        let misses: Vec<(String, String, Json)> =
            e.closest_permits.into_iter().map(|m| (m.rule, m.failed, json!(m.saw))).collect();
        let escalations: Vec<String> = e.escalations.into_iter().map(|x| x.rule).collect();
        (summary(&d), format!("{}::{}", e.principal.ty, e.principal.id), misses, escalations)
    };
    // the principal escalates, no permit applies to it
    assert_eq!(
        explained(&mut bench, r#"{"principal": {"id": "helper"}, "resource": {"id": "jira.delete"}}"#),
        (
            "deny [no-permit]".to_string(),
            "Agent::helper".to_string(),
            vec![("agents".to_string(), "when principal.env == \"prod\"".to_string(), json!({"principal.env": "dev"}))],
            vec![],
        )
    );
    // a hop escalates, no permit applies to it: the hop's permits are explained
    assert_eq!(
        explained(&mut bench, r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}]}"#),
        (
            "deny [no-permit@Human::bob]".to_string(),
            "Human::bob".to_string(),
            vec![(
                "cleared".to_string(),
                "when principal.clearance >= internal".to_string(),
                json!({"principal.clearance": "public"})
            )],
            vec![],
        )
    );
    // with a permit, the same escalate asks a human, and the explanation lists it
    let (verdict, who, misses, escalations) = explained(&mut bench, r#"{"resource": {"id": "jira.delete"}}"#);
    assert_eq!((verdict.as_str(), who.as_str()), ("escalate [agents-ask]", "Agent::bot"));
    assert!(misses.is_empty(), "{misses:?}");
    assert_eq!(escalations, ["agents-ask"]);
}

#[test]
fn explain_shows_the_values_of_enum_and_entity_operands() {
    let rules = r#"
@id("public-only") permit Agent to call_tool on Tool when resource.sensitivity <= public;
@id("owned") permit Agent to call_tool on Tool when principal.owner == Human::"bob";
"#;
    let d = Bench::new().decide(rules, call_tool_request(), "{}", true);
    let misses = &d.explain.as_ref().unwrap().closest_permits;
    let saw: Vec<(String, Json)> = misses.iter().map(|m| (m.failed.clone(), json!(m.saw))).collect();
    assert_eq!(
        saw,
        vec![
            (
                "when principal.owner == Human::\"bob\"".to_string(),
                json!({"principal.owner": {"type": "Human", "id": "alice"}})
            ),
            ("when resource.sensitivity <= public".to_string(), json!({"resource.sensitivity": "internal"})),
        ]
    );
}

#[test]
fn the_decision_json_has_exactly_the_specified_keys() {
    let mut bench = Bench::new();
    let keys = |d: &Decision| -> Vec<String> {
        let v: Json = serde_json::from_str(&d.to_json()).unwrap();
        v.as_object().unwrap().keys().cloned().collect()
    };
    let plain = ["decision", "errors", "obligations", "reasons"].map(String::from).to_vec();
    let explained = ["decision", "errors", "explain", "obligations", "reasons"].map(String::from).to_vec();
    for (rules, patch) in [
        (GRANTS, "{}"),
        (FORBID_RULES, r#"{"context": {"risk": 90}}"#),
        (ESCALATE_RULES, r#"{"resource": {"id": "jira.delete"}}"#),
        ("", "{}"),
    ] {
        let d = bench.decide(rules, call_tool_request(), patch, false);
        assert_eq!(keys(&d), plain, "{}", d.to_json());
    }
    let d = bench.decide(EXPLAINED, call_tool_request(), r#"{"context": {"risk": 90}}"#, true);
    assert_eq!(keys(&d), explained, "{}", d.to_json());
    let d = bench.decide(GRANTS, call_tool_request(), "{}", true);
    assert_eq!(keys(&d), plain, "an allow carries no explanation: {}", d.to_json());

    // the shape of the running example (`examples/spec`)
    let d = bench.decide(
        r#"@id("agent-tools") permit Agent to call_tool on Tool grant { ttl: 15m };"#,
        call_tool_request(),
        "{}",
        false,
    );
    assert_eq!(
        serde_json::from_str::<Json>(&d.to_json()).unwrap(),
        json!({"decision": "allow",
               "reasons": [{"rule": "agent-tools", "effect": "permit", "file": "rules.writ", "line": 1}],
               "obligations": {"ttl": "15m"}, "errors": []})
    );
    let d = bench.decide(
        &format!(r#"@id("f") forbid * to * on * when context.risk * {MAX} > 0;"#),
        call_tool_request(),
        "{}",
        false,
    );
    assert_eq!(
        serde_json::from_str::<Json>(&d.to_json()).unwrap(),
        json!({"decision": "deny",
               "reasons": [{"rule": "f", "effect": "forbid", "file": "rules.writ", "line": 1}],
               "obligations": {}, "errors": [{"rule": "f", "message": "integer overflow in `*`"}]})
    );
    assert_eq!(d.decision, Verdict::Deny);
}

// ------------------------------------------------------------------ expressions

/// What one expression evaluates to: `true`, `false`, or `error: MESSAGE`.
fn evaluate(bench: &mut Bench, expr: &str, patch: &str) -> String {
    let rules = format!(
        "import std.time\nimport std.net\nimport std.identity\n\
         @id(\"e\") permit Agent to probe on Tool when {expr};\n\
         @id(\"hops\") permit Human to probe on Tool;\n"
    );
    let d = bench.decide(&rules, probe_request(), patch, false);
    match (d.decision, d.errors.as_slice()) {
        (_, [e, ..]) => format!("error: {}", e.message),
        (Verdict::Allow, []) => "true".into(),
        (Verdict::Deny, []) if d.reasons.iter().all(|r| &*r.rule == "no-permit") => "false".into(),
        _ => format!("unexpected: {}", summary(&d)),
    }
}

/// (expression, request patch, expected)
type ExprRow<'a> = (&'a str, &'a str, &'a str);

fn check_exprs(rows: &[ExprRow<'_>]) {
    let mut bench = Bench::new();
    let mut failures = Vec::new();
    for (expr, patch, expect) in rows {
        let got = evaluate(&mut bench, expr, patch);
        if got != *expect {
            failures.push(format!("{expr}   with {patch}\n  expect {expect}\n  got    {got}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
}

const OVERFLOW_MUL: &str = "error: integer overflow in `*`";
const OVERFLOW_ADD: &str = "error: integer overflow in `+`";
const OVERFLOW_SUB: &str = "error: integer overflow in `-`";

#[test]
fn arithmetic_on_int_duration_and_timestamp() {
    check_exprs(&[
        ("context.i + 1 == 8", "{}", "true"),
        ("context.i - 10 == -3", "{}", "true"),
        ("context.i * 3 == 21", "{}", "true"),
        ("-context.i == -7", "{}", "true"),
        ("context.i + 2 * 3 == 13", "{}", "true"),
        ("(context.i + 2) * 3 == 27", "{}", "true"),
        ("context.i - 3 - 2 == 2", "{}", "true"),
        ("context.i * 9223372036854775807 > 0", "{}", OVERFLOW_MUL),
        ("context.i * 9223372036854775807 > 0", r#"{"context": {"i": 1}}"#, "true"),
        ("context.i + 9223372036854775807 > 0", "{}", OVERFLOW_ADD),
        ("context.i + 9223372036854775807 > 0", r#"{"context": {"i": -1}}"#, "true"),
        ("-9223372036854775807 - context.i < 0", "{}", OVERFLOW_SUB),
        ("-context.i > 0", r#"{"context": {"i": -9223372036854775808}}"#, "error: integer overflow in `-`"),
        ("context.i - 1 < 0", r#"{"context": {"i": -9223372036854775808}}"#, OVERFLOW_SUB),
        // Duration ± Duration, Duration * Int, comparisons
        ("context.d + 5m == 20m", "{}", "true"),
        ("context.d - 20m == -5m", "{}", "true"),
        ("context.d - 20m < 0s", "{}", "true"),
        ("context.d * 2 == 30m", "{}", "true"),
        ("context.d == 900s", "{}", "true"),
        ("context.d + 1h15m == 1h30m", "{}", "true"),
        ("context.d > 10m and context.d <= 15m", "{}", "true"),
        ("context.d < 15m", "{}", "false"),
        ("context.d + 500ms > 15m", "{}", "true"),
        ("context.d * 9223372036854775807 > 0s", "{}", OVERFLOW_MUL),
        // Timestamp ± Duration, Timestamp - Timestamp
        ("context.t + 1h == timestamp(\"2026-11-23T11:15:00Z\")", "{}", "true"),
        ("context.t - 15m == timestamp(\"2026-11-23T10:00:00Z\")", "{}", "true"),
        ("context.t - timestamp(\"2026-11-23T09:00:00Z\") == 75m", "{}", "true"),
        ("context.t - context.now == 0s", "{}", "true"),
        ("context.t > timestamp(\"2026-01-01T00:00:00Z\")", "{}", "true"),
        ("context.t < timestamp(\"2026-11-23T10:15:00Z\")", "{}", "false"),
        ("context.t + 1d - 1d == context.now", "{}", "true"),
        ("context.t + context.d > context.t", r#"{"context": {"d": "106000000000d"}}"#, "true"),
        ("context.t + context.d + context.d > context.t", r#"{"context": {"d": "106000000000d"}}"#, OVERFLOW_ADD),
    ]);
}

#[test]
fn comparisons_and_enums_by_declaration_order() {
    check_exprs(&[
        ("context.i == 7 and context.i != 8", "{}", "true"),
        ("context.i < 8 and context.i <= 7 and context.i > 6 and context.i >= 7", "{}", "true"),
        ("context.i > 7", "{}", "false"),
        ("context.s == \"hello\"", "{}", "true"),
        ("context.s != \"hello\"", "{}", "false"),
        ("context.lvl < secret", "{}", "true"),
        ("context.lvl <= confidential and context.lvl >= confidential", "{}", "true"),
        ("context.lvl > confidential", "{}", "false"),
        ("context.lvl == Level.confidential", "{}", "true"),
        ("public < context.lvl", "{}", "true"),
        ("context.lvl < internal", r#"{"context": {"lvl": "public"}}"#, "true"),
        ("context.lvl > confidential", r#"{"context": {"lvl": "secret"}}"#, "true"),
        ("resource.sensitivity < context.lvl", "{}", "true"),
        ("resource.sensitivity >= context.lvl", "{}", "false"),
        ("principal.owner.clearance > context.lvl", "{}", "true"),
        ("principal == Agent::\"bot\"", "{}", "true"),
        ("principal == Agent::\"helper\"", "{}", "false"),
        ("principal.owner == Human::\"alice\"", "{}", "true"),
        ("principal.owner != Human::\"bob\"", "{}", "true"),
        ("context.tags == [\"t2\", \"t1\"]", "{}", "true"),
        ("context.tags == [\"t1\"]", "{}", "false"),
        ("context.source_ip == ip(\"10.1.2.3\")", "{}", "true"),
        ("action == probe", "{}", "true"),
        ("action == call_tool", "{}", "false"),
    ]);
}

#[test]
fn boolean_operators_and_if() {
    check_exprs(&[
        ("context.i > 5 and context.s == \"hello\"", "{}", "true"),
        ("context.i > 5 and context.s == \"bye\"", "{}", "false"),
        ("context.i > 50 or context.s == \"hello\"", "{}", "true"),
        ("context.i > 50 or context.s == \"bye\"", "{}", "false"),
        ("not (context.i > 50)", "{}", "true"),
        ("not context.tags.is_empty()", "{}", "true"),
        // `and` / `or` stop at the first operand that decides them
        ("context.i > 50 and context.i * 9223372036854775807 > 0", "{}", "false"),
        ("context.i < 50 or context.i * 9223372036854775807 > 0", "{}", "true"),
        ("context.i < 50 and context.i * 9223372036854775807 > 0", "{}", OVERFLOW_MUL),
        ("if context.i > 5 then context.s == \"hello\" else false", "{}", "true"),
        ("if context.i > 50 then true else context.s == \"bye\"", "{}", "false"),
        ("(if context.i > 5 then context.i else 0) == 7", "{}", "true"),
        ("(if context.i > 50 then 1m else context.d) == 15m", "{}", "true"),
        // only the branch taken is evaluated
        ("if context.i > 5 then true else context.i * 9223372036854775807 > 0", "{}", "true"),
        ("if context.i > 50 then true else context.i * 9223372036854775807 > 0", "{}", OVERFLOW_MUL),
    ]);
}

#[test]
fn in_on_the_hierarchy_and_on_sets() {
    check_exprs(&[
        ("principal in Team::\"support\"", "{}", "true"),
        ("principal in Org::\"acme\"", "{}", "true"),
        ("principal in Team::\"ops\"", "{}", "false"),
        ("principal in Agent::\"bot\"", "{}", "true"),
        ("principal in Team::\"ops\"", r#"{"principal": {"id": "helper"}}"#, "true"),
        ("resource in ToolGroup::\"jira\"", "{}", "true"),
        ("resource in ToolGroup::\"all\"", "{}", "true"),
        ("resource in ToolGroup::\"all\"", r#"{"resource": {"id": "loose"}}"#, "false"),
        ("resource in Tool::\"jira.comment\"", "{}", "true"),
        ("principal.owner in Team::\"support\"", "{}", "true"),
        ("principal.owner in Org::\"acme\"", "{}", "true"),
        ("principal.owner in Org::\"acme\"", r#"{"principal": {"id": "helper"}}"#, "false"),
        // an entity in a set of entities: member of any of them
        ("principal in [Team::\"ops\", Org::\"acme\"]", "{}", "true"),
        ("principal in [Team::\"ops\"]", "{}", "false"),
        ("principal in context.teams", "{}", "false"),
        ("principal in context.teams", r#"{"principal": {"id": "helper"}}"#, "true"),
        ("principal in context.teams", r#"{"context": {"teams": []}}"#, "false"),
        // set membership
        ("context.s in [\"x\", \"hello\"]", "{}", "true"),
        ("context.s in [\"x\", \"y\"]", "{}", "false"),
        ("\"t1\" in context.tags", "{}", "true"),
        ("\"t3\" in context.tags", "{}", "false"),
        ("context.lvl in [public, confidential]", "{}", "true"),
        ("context.lvl in [public, secret]", "{}", "false"),
        ("context.i in [1, 7, 9]", "{}", "true"),
        ("context.d in [15m, 1h]", "{}", "true"),
        ("intent == none", "{}", "true"),
        ("intent == probing", r#"{"intent": "probing"}"#, "true"),
        ("intent in [probing, triage_ticket]", r#"{"intent": "probing"}"#, "true"),
        ("intent in [rotate_keys, triage_ticket]", r#"{"intent": "probing"}"#, "false"),
        ("action in secrets", "{}", "false"),
    ]);
}

#[test]
fn is_has_and_optional_attributes() {
    let hops = |ids: &[(&str, &str)]| {
        let v: Vec<Json> = ids.iter().map(|(t, i)| json!({"type": t, "id": i})).collect();
        json!({ "on_behalf_of": v }).to_string()
    };
    let alice = hops(&[("Human", "alice")]);
    let alice_bot = hops(&[("Human", "alice"), ("Agent", "bot")]);
    check_exprs(&[
        ("principal is Agent", "{}", "true"),
        ("principal is Agent in Team::\"support\"", "{}", "true"),
        ("principal is Agent in Org::\"acme\"", "{}", "true"),
        ("principal is Agent in Team::\"ops\"", "{}", "false"),
        ("all d in on_behalf_of: d is Human", &alice, "true"),
        ("all d in on_behalf_of: d is Human", &alice_bot, "false"),
        ("any d in on_behalf_of: d is Agent in Team::\"support\"", &alice_bot, "true"),
        ("any d in on_behalf_of: d is Agent in Team::\"ops\"", &alice_bot, "false"),
        // has on context, on entities, on records; a read guarded by has
        ("context has n", "{}", "false"),
        ("context has n", r#"{"context": {"n": 5}}"#, "true"),
        ("context has n and context.n > 3", "{}", "false"),
        ("context has n and context.n > 3", r#"{"context": {"n": 5}}"#, "true"),
        ("context has n and context.n > 3", r#"{"context": {"n": 1}}"#, "false"),
        ("not (context has n) or context.n > 3", "{}", "true"),
        ("not (context has n) or context.n > 3", r#"{"context": {"n": 1}}"#, "false"),
        ("if context has n then context.n > 3 else true", "{}", "true"),
        ("if context has n then context.n > 3 else true", r#"{"context": {"n": 1}}"#, "false"),
        ("context has n and context.n * 9223372036854775807 > 0", "{}", "false"),
        ("context has n and context.n * 9223372036854775807 > 0", r#"{"context": {"n": 2}}"#, OVERFLOW_MUL),
        ("principal has max_delegation", "{}", "false"),
        ("principal has max_delegation and principal.max_delegation >= 2", "{}", "false"),
        (
            "principal has max_delegation and principal.max_delegation >= 2",
            r#"{"principal": {"id": "helper"}}"#,
            "true",
        ),
        ("context has approved and context.approved", "{}", "false"),
        ("context has approved and context.approved", r#"{"context": {"approved": true}}"#, "true"),
        ("context has approved and context.approved", r#"{"context": {"approved": false}}"#, "false"),
        ("any d in on_behalf_of: d is Human and d.clearance >= secret", &alice, "true"),
        ("any d in on_behalf_of: d is Human and d.clearance >= secret", &hops(&[("Human", "dave")]), "false"),
    ]);
}

#[test]
fn like_globs() {
    check_exprs(&[
        ("context.s like \"hel*\"", "{}", "true"),
        ("context.s like \"*llo\"", "{}", "true"),
        ("context.s like \"h*l*o\"", "{}", "true"),
        ("context.s like \"*ell*\"", "{}", "true"),
        ("context.s like \"hello*\"", "{}", "true"),
        ("context.s like \"*\"", "{}", "true"),
        ("context.s like \"hello\"", "{}", "true"),
        ("context.s like \"hel\"", "{}", "false"),
        ("context.s like \"HELLO\"", "{}", "false"),
        ("context.s like \"*x*\"", "{}", "false"),
        ("context.s like \"h*l*l*l*o\"", "{}", "false"),
        ("context.s like \"lo*lo\"", r#"{"context": {"s": "lolo"}}"#, "true"),
        ("context.s like \"lo*lo\"", r#"{"context": {"s": "lo"}}"#, "false"),
        ("context.s like \"*lol*lol*\"", r#"{"context": {"s": "lolol"}}"#, "false"),
        ("context.s like \"*lol*lol*\"", r#"{"context": {"s": "lollol"}}"#, "true"),
        ("context.s like \"\"", r#"{"context": {"s": ""}}"#, "true"),
        ("context.s like \"*\"", r#"{"context": {"s": ""}}"#, "true"),
        // `\*` is a literal star (written `\\*` inside a Writ string)
        ("context.s like \"a\\\\*b\"", r#"{"context": {"s": "a*b"}}"#, "true"),
        ("context.s like \"a\\\\*b\"", r#"{"context": {"s": "axb"}}"#, "false"),
        ("context.s like \"a\\\\**\"", r#"{"context": {"s": "a*bc"}}"#, "true"),
        ("context.s like \"a\\\\**\"", r#"{"context": {"s": "abc"}}"#, "false"),
        ("context.s like \"*\\\\\\\\\"", r#"{"context": {"s": "ends in \\"}}"#, "true"),
        ("principal.workload like \"spiffe://prod.acme/*\"", "{}", "true"),
        ("principal.workload like \"spiffe://prod.acme/*\"", r#"{"principal": {"id": "helper"}}"#, "false"),
        ("context.s like \"h\u{e9}*\"", r#"{"context": {"s": "h\u00e9llo"}}"#, "true"),
    ]);
}

#[test]
fn quantifiers_over_sets_and_the_delegation_chain() {
    check_exprs(&[
        ("all x in context.tags: x like \"t*\"", "{}", "true"),
        ("all x in context.tags: x == \"t1\"", "{}", "false"),
        ("any x in context.tags: x == \"t2\"", "{}", "true"),
        ("any x in context.tags: x == \"t3\"", "{}", "false"),
        ("all x in context.tags: false", r#"{"context": {"tags": []}}"#, "true"),
        ("any x in context.tags: true", r#"{"context": {"tags": []}}"#, "false"),
        ("all r in context.nets: context.source_ip.in_range(r)", "{}", "false"),
        ("any r in context.nets: context.source_ip.in_range(r)", "{}", "true"),
        ("any x in context.tags: any y in context.tags: x != y", "{}", "true"),
        ("all x in context.tags: all y in context.tags: x == y", "{}", "false"),
        ("all x in context.tags: all y in context.tags: x == y", r#"{"context": {"tags": ["z"]}}"#, "true"),
        // a function with its own quantifier, inside a quantifier
        ("all n in context.nets: net.in_any_range(context.source_ip, context.nets)", "{}", "true"),
        ("all n in context.nets: net.in_any_range(context.source_ip, [n])", "{}", "false"),
        ("any n in context.nets: not net.in_any_range(context.source_ip, [n])", "{}", "true"),
        ("any n in context.nets: net.in_any_range(context.source_ip, [n]) and n == ip(\"10.0.0.0/8\")", "{}", "true"),
        ("all x in context.tags: x.len() * 9223372036854775807 > 0", "{}", OVERFLOW_MUL),
        ("any x in context.tags: x == \"t1\" or x.len() * 9223372036854775807 > 0", "{}", "true"),
        // over on_behalf_of: empty → all true, any false
        ("all d in on_behalf_of: d in Team::\"support\"", "{}", "true"),
        ("any d in on_behalf_of: d in Team::\"support\"", "{}", "false"),
        ("on_behalf_of.is_empty() and on_behalf_of.len() == 0", "{}", "true"),
        (
            "all d in on_behalf_of: d in Team::\"support\"",
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}]}"#,
            "true",
        ),
        (
            "all d in on_behalf_of: d in Team::\"support\"",
            r#"{"on_behalf_of": [{"type": "Human", "id": "alice"}, {"type": "Human", "id": "bob"}]}"#,
            "false",
        ),
        (
            "any d in on_behalf_of: d in Team::\"support\"",
            r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}, {"type": "Human", "id": "alice"}]}"#,
            "true",
        ),
        ("on_behalf_of.contains(Human::\"bob\")", r#"{"on_behalf_of": [{"type": "Human", "id": "bob"}]}"#, "true"),
    ]);
}

#[test]
fn string_set_timestamp_ip_and_duration_methods() {
    check_exprs(&[
        ("context.s.starts_with(\"he\")", "{}", "true"),
        ("context.s.starts_with(\"lo\")", "{}", "false"),
        ("context.s.ends_with(\"lo\")", "{}", "true"),
        ("context.s.contains(\"ell\")", "{}", "true"),
        ("context.s.contains(\"elo\")", "{}", "false"),
        ("context.s.len() == 5", "{}", "true"),
        ("context.s.len() == 5", r#"{"context": {"s": "h\u00e9llo"}}"#, "true"),
        ("context.s.lower() == \"hello\"", r#"{"context": {"s": "HeLLo"}}"#, "true"),
        ("context.s.upper() == \"HELLO\"", "{}", "true"),
        ("context.s.strip_prefix(\"he\") == \"llo\"", "{}", "true"),
        ("context.s.strip_prefix(\"x\") == \"hello\"", "{}", "true"),
        ("context.s.strip_suffix(\"lo\") == \"hel\"", "{}", "true"),
        ("context.s.before(\"/\") == \"a\"", r#"{"context": {"s": "a/b/c"}}"#, "true"),
        ("context.s.after(\"/\") == \"b/c\"", r#"{"context": {"s": "a/b/c"}}"#, "true"),
        ("context.s.segment(\"/\", 1) == \"b\"", r#"{"context": {"s": "a/b/c"}}"#, "true"),
        ("context.s.segment(\"/\", 7) == \"\"", r#"{"context": {"s": "a/b/c"}}"#, "true"),
        // sets
        ("context.tags.contains(\"t1\")", "{}", "true"),
        ("context.tags.contains(\"t9\")", "{}", "false"),
        ("context.tags.contains_any([\"t9\", \"t2\"])", "{}", "true"),
        ("context.tags.contains_any([\"t9\"])", "{}", "false"),
        ("context.tags.contains_any([])", "{}", "false"),
        ("context.tags.contains_all([\"t1\", \"t2\"])", "{}", "true"),
        ("context.tags.contains_all([\"t1\", \"t9\"])", "{}", "false"),
        ("context.tags.contains_all([])", "{}", "true"),
        ("context.tags.len() == 2", "{}", "true"),
        ("context.tags.len() == 1", r#"{"context": {"tags": ["a", "a"]}}"#, "true"),
        ("context.tags.is_empty()", "{}", "false"),
        ("context.tags.is_empty()", r#"{"context": {"tags": []}}"#, "true"),
        // timestamps (UTC): 2026-11-23 is a Monday
        ("context.t.hour() == 10 and context.t.minute() == 15", "{}", "true"),
        ("context.t.weekday() == 1", "{}", "true"),
        ("context.t.weekday() == 7", r#"{"context": {"t": "2026-11-29T23:59:59Z"}}"#, "true"),
        ("context.t.date() == timestamp(\"2026-11-23T00:00:00Z\")", "{}", "true"),
        ("context.t.hour() == 8", r#"{"context": {"t": "2026-11-23T10:15:00+02:00"}}"#, "true"),
        (
            "context.t.date() == timestamp(\"1969-12-31T00:00:00Z\")",
            r#"{"context": {"t": "1969-12-31T23:00:00Z"}}"#,
            "true",
        ),
        ("context.t.weekday() == 3", r#"{"context": {"t": "1969-12-31T23:00:00Z"}}"#, "true"),
        // IPs
        ("context.source_ip.in_range(ip(\"10.0.0.0/8\"))", "{}", "true"),
        ("context.source_ip.in_range(ip(\"192.168.0.0/16\"))", "{}", "false"),
        ("context.source_ip.in_range(ip(\"10.1.2.3\"))", "{}", "true"),
        ("context.source_ip.is_private()", "{}", "true"),
        ("context.source_ip.is_private()", r#"{"context": {"source_ip": "172.31.255.255"}}"#, "true"),
        ("context.source_ip.is_private()", r#"{"context": {"source_ip": "172.32.0.1"}}"#, "false"),
        ("context.source_ip.is_private()", r#"{"context": {"source_ip": "fd00::1"}}"#, "true"),
        ("context.source_ip.is_private()", r#"{"context": {"source_ip": "8.8.8.8"}}"#, "false"),
        ("context.source_ip.is_loopback()", r#"{"context": {"source_ip": "127.0.0.2"}}"#, "true"),
        ("context.source_ip.is_loopback()", r#"{"context": {"source_ip": "::1"}}"#, "true"),
        ("context.source_ip.is_loopback()", "{}", "false"),
        ("context.source_ip.is_v4()", "{}", "true"),
        ("context.source_ip.is_v4()", r#"{"context": {"source_ip": "2001:db8::1"}}"#, "false"),
        ("context.source_ip.in_range(ip(\"2001:db8::/32\"))", r#"{"context": {"source_ip": "2001:db8::1"}}"#, "true"),
        ("context.source_ip.in_range(ip(\"10.0.0.0/8\"))", r#"{"context": {"source_ip": "2001:db8::1"}}"#, "false"),
        // durations
        ("context.d.minutes() == 15 and context.d.seconds() == 900", "{}", "true"),
        ("context.d.millis() == 900000 and context.d.hours() == 0", "{}", "true"),
        ("context.d.hours() == 1", r#"{"context": {"d": "1h59m"}}"#, "true"),
    ]);
}

#[test]
fn stdlib_functions_on_runtime_values() {
    let at = |t: &str| json!({"context": {"t": t}}).to_string();
    let business = "time.business_hours(context.t)";
    check_exprs(&[
        // Monday 2026-11-23
        (business, &at("2026-11-23T08:59:00Z"), "false"),
        (business, &at("2026-11-23T08:59:59Z"), "false"),
        (business, &at("2026-11-23T09:00:00Z"), "true"),
        (business, &at("2026-11-23T16:59:00Z"), "true"),
        (business, &at("2026-11-23T16:59:59Z"), "true"),
        (business, &at("2026-11-23T17:00:00Z"), "false"),
        // Friday, Saturday, Sunday
        (business, &at("2026-11-27T16:59:00Z"), "true"),
        (business, &at("2026-11-28T08:59:00Z"), "false"),
        (business, &at("2026-11-28T09:00:00Z"), "false"),
        (business, &at("2026-11-28T16:59:00Z"), "false"),
        (business, &at("2026-11-28T17:00:00Z"), "false"),
        (business, &at("2026-11-29T12:00:00Z"), "false"),
        ("time.hours_between(context.t, 22, 6)", &at("2026-11-23T23:30:00Z"), "true"),
        ("time.hours_between(context.t, 22, 6)", &at("2026-11-23T06:00:00Z"), "false"),
        ("time.is_weekend(context.t)", &at("2026-11-28T09:00:00Z"), "true"),
        ("time.within(context.t, context.now, context.now + 1h)", "{}", "true"),
        ("time.within(context.t, context.now - 1h, context.now)", "{}", "false"),
        ("time.age(context.t, context.now + 15m) == 15m", "{}", "true"),
        ("time.fresh(context.t, context.now, 10m)", &at("2026-11-23T10:00:00Z"), "false"),
        ("time.fresh(context.t, context.now, 10m)", &at("2026-11-23T10:06:00Z"), "true"),
        // net
        ("net.in_any_range(context.source_ip, context.nets)", "{}", "true"),
        ("net.in_any_range(context.source_ip, context.nets)", r#"{"context": {"source_ip": "192.168.5.5"}}"#, "true"),
        ("net.in_any_range(context.source_ip, context.nets)", r#"{"context": {"source_ip": "8.8.8.8"}}"#, "false"),
        ("net.in_any_range(context.source_ip, context.nets)", r#"{"context": {"nets": []}}"#, "false"),
        ("net.outside_ranges(context.source_ip, context.nets)", r#"{"context": {"source_ip": "8.8.8.8"}}"#, "true"),
        ("net.is_internal(context.source_ip)", r#"{"context": {"source_ip": "127.0.0.1"}}"#, "true"),
        // identity
        ("identity.trust_domain(principal.workload) == \"prod.acme\"", "{}", "true"),
        ("identity.trust_domain(principal.workload) == \"prod.acme\"", r#"{"principal": {"id": "helper"}}"#, "false"),
        ("identity.trust_domain(context.s) == \"\"", "{}", "true"),
        ("identity.trust_domain(context.s) == \"x.y\"", r#"{"context": {"s": "spiffe://x.y"}}"#, "true"),
        ("identity.namespace(principal.workload) == \"support\"", "{}", "true"),
        ("identity.service_account(principal.workload) == \"helper\"", r#"{"principal": {"id": "helper"}}"#, "true"),
        ("identity.matches(principal.workload, context.s)", r#"{"context": {"s": "spiffe://prod.acme/*"}}"#, "true"),
        ("identity.matches(principal.workload, context.s)", r#"{"context": {"s": "spiffe://dev.acme/*"}}"#, "false"),
        ("identity.is_spiffe(context.s)", r#"{"context": {"s": "spiffe:///x"}}"#, "false"),
    ]);
}

#[test]
fn records_and_attribute_chains() {
    // `args` lives on call_tool; the other rows read entity attributes through entities.
    let rules =
        r#"@id("q") permit * to call_tool on * when context.args has query and context.args.query like "open *";"#;
    check(&[
        (rules, r#"{"context": {"args": {"query": "open P1 tickets"}}}"#, "allow [q]"),
        (rules, r#"{"context": {"args": {"query": "close all"}}}"#, "deny [no-permit]"),
        (rules, "{}", "deny [no-permit]"),
        (r#"@id("o") permit Agent to call_tool on * when principal.owner.clearance >= secret;"#, "{}", "allow [o]"),
        (
            r#"@id("o") permit Agent to call_tool on * when principal.owner.clearance >= secret;"#,
            r#"{"principal": {"id": "helper"}}"#,
            "deny [no-permit]",
        ),
    ]);
}
