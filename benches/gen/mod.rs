//! A deterministic generator of realistic Writ policy sets, shared by the benchmarks.
//!
//! The output looks like what a platform team would write (like the running example,
//! `examples/spec`): one schema with 50 actions over agents, service accounts, humans,
//! tools and secrets; a few dozen task intents; helper `fn`s; and rules that mix
//! permit/forbid/escalate, doc comments, annotations, every target form and most of the
//! expression language.
//!
//! Everything is seeded (a splitmix64, no RNG crate), so a given `(n, seed)` always yields
//! the same bytes and benchmark numbers stay comparable across commits.
//!
//! The rules aim to be well-typed against [`schema`]: attributes are only read on a type
//! the target pins down, optional attributes only under a `has` guard, enum values are
//! compared with enum-typed attributes, context fields that belong to one action are only
//! read when the target names actions that all declare them, and intent names come from
//! [`intents`]`(INTENTS)`. (This is not verified by a checker yet.)

// Each bench uses a different part of this module.
#![allow(dead_code)]

/// Number of actions declared by [`schema`]: `act_00` … `act_49`.
pub const ACTIONS: usize = 50;
/// Number of intents [`policy_set`] declares; rules only name these.
pub const INTENTS: usize = 40;
/// Rules per file in [`policy_set`].
pub const RULES_PER_FILE: usize = 100;
/// The seed [`policy_set`] uses for its rules.
pub const SEED: u64 = 0x5752_4954_0001;

// ------------------------------------------------------------------------------ random

#[path = "../../tests/common/rng.rs"]
mod rng;
pub use rng::Rng;

// ------------------------------------------------------------------------------ model

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ety {
    Human,
    Team,
    Agent,
    ServiceAccount,
    ToolGroup,
    Tool,
    Secret,
}

impl Ety {
    fn name(self) -> &'static str {
        match self {
            Ety::Human => "Human",
            Ety::Team => "Team",
            Ety::Agent => "Agent",
            Ety::ServiceAccount => "ServiceAccount",
            Ety::ToolGroup => "ToolGroup",
            Ety::Tool => "Tool",
            Ety::Secret => "Secret",
        }
    }

    /// The (single) parent type, for `Type in Parent::"id"` scopes.
    fn parent(self) -> Option<Ety> {
        match self {
            Ety::Agent | Ety::ServiceAccount => Some(Ety::Team),
            Ety::Tool => Some(Ety::ToolGroup),
            _ => None,
        }
    }

    fn ids(self) -> &'static [&'static str] {
        match self {
            Ety::Human => &["alice", "bob", "carol", "dave", "erin", "frank", "grace"],
            Ety::Team => &["support", "platform", "payments", "data", "security", "sre", "ml", "growth"],
            Ety::Agent => {
                &["support-bot", "deploy-agent", "triage-agent", "sql-copilot", "billing-agent", "oncall-agent"]
            }
            Ety::ServiceAccount => &["ci-deployer", "backup-job", "etl-loader", "metrics-exporter", "cert-renewer"],
            Ety::ToolGroup => {
                &["ticketing", "ci", "observability", "billing", "crm", "warehouse", "k8s", "vcs", "chat", "docs"]
            }
            Ety::Tool => &[
                "jira.comment",
                "jira.search",
                "github.merge",
                "github.comment",
                "k8s.delete_pod",
                "k8s.scale",
                "grafana.query",
                "stripe.refund",
                "salesforce.update",
                "snowflake.query",
                "slack.post",
                "confluence.read",
            ],
            Ety::Secret => &[
                "db/prod/password",
                "stripe/api-key",
                "github/deploy-key",
                "snowflake/etl",
                "vault/transit",
                "tls/wildcard",
            ],
        }
    }
}

/// What an action is about; decides its principal and resource types and its context.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    ToolCall,
    ToolWrite,
    SecretRead,
    Deploy,
    Browse,
    Admin,
    SecretWrite,
    Delegate,
}

const KIND_PATTERN: [Kind; 10] = [
    Kind::ToolCall,
    Kind::SecretRead,
    Kind::ToolCall,
    Kind::Deploy,
    Kind::Browse,
    Kind::ToolWrite,
    Kind::Admin,
    Kind::ToolCall,
    Kind::SecretWrite,
    Kind::Delegate,
];

const ALL_KINDS: [Kind; 8] = [
    Kind::ToolCall,
    Kind::ToolWrite,
    Kind::SecretRead,
    Kind::Deploy,
    Kind::Browse,
    Kind::Admin,
    Kind::SecretWrite,
    Kind::Delegate,
];

impl Kind {
    fn of(action: usize) -> Kind {
        KIND_PATTERN[action % KIND_PATTERN.len()]
    }

    fn actions(self) -> Vec<usize> {
        (0..ACTIONS).filter(|&a| Kind::of(a) == self).collect()
    }

    fn principals(self) -> &'static [Ety] {
        match self {
            Kind::ToolCall | Kind::Browse => &[Ety::Agent, Ety::Human],
            Kind::ToolWrite | Kind::Delegate => &[Ety::Agent],
            Kind::SecretRead => &[Ety::Agent, Ety::ServiceAccount],
            Kind::Deploy | Kind::SecretWrite => &[Ety::ServiceAccount],
            Kind::Admin => &[Ety::Human],
        }
    }

    fn resources(self) -> &'static [Ety] {
        match self {
            Kind::ToolCall | Kind::ToolWrite | Kind::Deploy => &[Ety::Tool],
            Kind::SecretRead | Kind::SecretWrite => &[Ety::Secret],
            Kind::Browse => &[Ety::ToolGroup],
            Kind::Admin => &[Ety::Agent, Ety::ServiceAccount],
            Kind::Delegate => &[Ety::Agent],
        }
    }

    /// The action's extra context fields, as schema text.
    fn context(self) -> &'static str {
        match self {
            Kind::ToolCall => " { args: { query: String?, limit: Int } }",
            Kind::ToolWrite => " { dry_run: Bool, change_size: Int }",
            Kind::SecretRead => " { credential_age: Duration }",
            Kind::Deploy => " { target_env: String, change_ticket: String?, replicas: Int }",
            Kind::Browse => "",
            Kind::Admin => " { reason: String }",
            Kind::SecretWrite => " { credential_age: Duration, rotation_due: Timestamp }",
            Kind::Delegate => " { depth: Int, scopes: Set<String> }",
        }
    }

    fn doc(self) -> &'static str {
        match self {
            Kind::ToolCall => "Calls a read-mostly tool (search, list, query).",
            Kind::ToolWrite => "Changes something through a tool.",
            Kind::SecretRead => "Reads a secret's current value.",
            Kind::Deploy => "Rolls out a new version through a deployment tool.",
            Kind::Browse => "Lists the tools of a group.",
            Kind::Admin => "Administers a workload identity.",
            Kind::SecretWrite => "Rotates or overwrites a secret.",
            Kind::Delegate => "Hands part of a task to another agent.",
        }
    }

    /// The `action group` this kind's actions form, if any.
    fn group(self) -> Option<&'static str> {
        match self {
            Kind::ToolCall => Some("tool_calls"),
            Kind::ToolWrite => Some("tool_writes"),
            Kind::SecretRead => Some("secret_reads"),
            Kind::Deploy => Some("deploys"),
            Kind::Admin => Some("admin_ops"),
            _ => None,
        }
    }
}

fn act(a: usize) -> String {
    format!("act_{a:02}")
}

const LEVELS: [&str; 4] = ["public", "internal", "confidential", "secret"];
const ENVS: [&str; 3] = ["dev", "staging", "prod"];
const RISKS: [i64; 8] = [20, 25, 30, 40, 50, 60, 70, 80];
const DURATIONS: [&str; 8] = ["30s", "2m", "5m", "10m", "15m", "30m", "1h", "1h30m"];
const TTLS: [&str; 6] = ["30s", "2m", "5m", "10m", "15m", "1h"];
const TAGS: [&str; 6] = ["pii", "payments", "prod", "customer-data", "internal-only", "export"];
const MODELS: [&str; 4] = ["claude-sonnet", "claude-haiku", "gpt-4o", "llama-3"];
const DEPTS: [&str; 5] = ["support", "sre", "finance", "security", "data"];

// ------------------------------------------------------------------------------ schema

/// The schema: enum `Level`, the entity types of the running example (`examples/spec`) (with a few more attributes),
/// a `context`, 50 actions `act_00` … `act_49` and five action groups.
pub fn schema() -> String {
    let mut s = String::from(
        r#"// Generated by benches/gen/mod.rs: the schema of a fictional company's agent platform.
schema {
  /// Data sensitivity, ordered from least to most sensitive.
  enum Level { public, internal, confidential, secret }

  /// A person; may approve escalations and act as the root of a delegation chain.
  entity Human { clearance: Level, email: String, department: String, mfa: Bool }
  entity Team { cost_center: String }
  /// An AI agent, owned by a human and run by a team.
  entity Agent in Team {
    owner: Human,
    env: String,
    /// SPIFFE ID, e.g. "spiffe://prod.acme/ns/support/sa/bot"
    workload: String,
    max_delegation: Int?,        // optional attribute: read it only under `has`
    model: String,
    trust: Int,
    labels: Set<String>,
  }
  entity ServiceAccount in Team { env: String, workload: String, rotation: Duration? }
  entity ToolGroup { tier: Level, owner: Team? }
  entity Tool in ToolGroup {
    name: String,
    sensitivity: Level,
    destructive: Bool,
    tags: Set<String>,
    rate_limit: Int?,
  }
  entity Secret { env: String, sensitivity: Level, path: String, rotated_at: Timestamp? }

  context {                      // fields every request carries
    now: Timestamp,
    risk: Int,                   // 0..100, from the host's risk engine
    source_ip: Ip,
    approved: Bool?,             // set by the host after a human approved
    session: String,
    mfa_age: Duration?,
  }

"#,
    );
    for a in 0..ACTIONS {
        let k = Kind::of(a);
        if a % 10 < 8 {
            s.push_str(&format!("  /// {}\n", k.doc()));
        }
        let ps: Vec<&str> = k.principals().iter().map(|e| e.name()).collect();
        let rs: Vec<&str> = k.resources().iter().map(|e| e.name()).collect();
        s.push_str(&format!("  action {}: {} -> {}{}\n", act(a), ps.join(" | "), rs.join(" | "), k.context()));
    }
    s.push('\n');
    for k in ALL_KINDS {
        if let Some(g) = k.group() {
            let members: Vec<String> = k.actions().into_iter().map(act).collect();
            s.push_str(&format!("  action group {g} = [{}]\n", members.join(", ")));
        }
    }
    s.push_str("}\n");
    s
}

/// Helper functions the rules call (top-level `fn`s).
pub fn functions() -> String {
    String::from(
        r#"// Generated by benches/gen/mod.rs: helpers shared by the rules.

/// Office hours, UTC, Monday to Friday.
fn business_hours(t: Timestamp) -> Bool = t.hour() >= 8 and t.hour() < 18 and t.weekday() < 5;

/// The corporate network, or a private range of the cluster.
fn trusted_network(addr: Ip) -> Bool = addr.in_range(ip("10.0.0.0/8")) or addr.is_private();

/// A production workload identity.
fn prod_workload(id: String) -> Bool = id like "spiffe://prod.acme/*";

fn low_risk(risk: Int, ceiling: Int) -> Bool = risk < ceiling;
"#,
    )
}

// ------------------------------------------------------------------------------ intents

const INTENT_NAMES: [(&str, &str); 24] = [
    ("triage_ticket", "Read and comment on support tickets"),
    ("rotate_keys", "Rotate production database keys"),
    ("deploy_release", "Roll out a tagged release"),
    ("investigate_incident", "Read dashboards and logs during an incident"),
    ("summarize_logs", "Summarise service logs for a report"),
    ("answer_customer", "Answer a customer question from the knowledge base"),
    ("refund_order", "Refund a disputed order"),
    ("sync_crm", "Synchronise CRM records with billing"),
    ("build_report", "Build the weekly business report"),
    ("train_model", "Train a model on the warehouse snapshot"),
    ("review_pr", "Review a pull request"),
    ("merge_pr", "Merge an approved pull request"),
    ("scale_service", "Scale a service up or down"),
    ("restart_pod", "Restart a crashing pod"),
    ("backup_db", "Take a database backup"),
    ("restore_db", "Restore a database from backup"),
    ("audit_access", "Audit who accessed what"),
    ("onboard_agent", "Provision a new agent identity"),
    ("offboard_agent", "Retire an agent identity"),
    ("renew_certs", "Renew TLS certificates"),
    ("label_data", "Label a data set for training"),
    ("post_update", "Post a status update to chat"),
    ("delegate_research", "Delegate a research subtask to another agent"),
    ("export_metrics", "Export metrics to the warehouse"),
];

/// The name of intent `i` (`triage_ticket`, …, then `triage_ticket_2`, …).
pub fn intent_name(i: usize) -> String {
    let (base, _) = INTENT_NAMES[i % INTENT_NAMES.len()];
    match i / INTENT_NAMES.len() {
        0 => base.to_string(),
        round => format!("{base}_{}", round + 1),
    }
}

fn entity_ref(rng: &mut Rng, ty: Ety) -> String {
    format!("{}::\"{}\"", ty.name(), rng.pick(ty.ids()))
}

/// A resource scope of type `ty` for an intent envelope.
fn intent_scope(rng: &mut Rng, ty: Ety) -> String {
    match (ty.parent(), rng.below(4)) {
        (Some(p), 0) if ty == Ety::Tool => entity_ref(rng, p), // tools of a group, as in `examples/spec`
        (Some(p), 0 | 1) => format!("{} in {}", ty.name(), entity_ref(rng, p)),
        (_, 2) => entity_ref(rng, ty),
        _ => ty.name().to_string(),
    }
}

/// `n` top-level intent declarations, as in the running example (`examples/spec`).
pub fn intents(n: usize) -> String {
    let mut rng = Rng(0x1A7E_5700);
    let mut s = String::from("// Generated by benches/gen/mod.rs: the task intents agents declare.\n\n");
    for i in 0..n {
        let (_, desc) = INTENT_NAMES[i % INTENT_NAMES.len()];
        if rng.chance(30) {
            s.push_str(&format!("/// {desc}.\n"));
        }
        s.push_str(&format!("intent {} \"{desc}\" {{\n", intent_name(i)));
        let entries = 1 + rng.below(4);
        for e in 0..entries {
            let kind = *rng.pick(&ALL_KINDS);
            let members = kind.actions();
            let actions = match (rng.below(5), kind.group()) {
                (0, Some(g)) => g.to_string(),
                (1, _) => {
                    let k = 2 + rng.below(2);
                    let picked = rng.subset(&members, k);
                    format!("[{}]", picked.into_iter().map(act).collect::<Vec<_>>().join(", "))
                }
                _ => act(*rng.pick(&members)),
            };
            let ty = *rng.pick(kind.resources());
            let resource = if kind.resources().len() > 1 { ty.name().to_string() } else { intent_scope(&mut rng, ty) };
            let sep = if e + 1 < entries || rng.chance(50) { "," } else { "" };
            s.push_str(&format!("  {actions} on {resource}{sep}\n"));
        }
        s.push_str("}\n\n");
    }
    s.pop();
    s
}

// ------------------------------------------------------------------------------ expressions

/// Precedence classes of a generated condition, to parenthesise only where needed.
const LOOSE: u8 = 0; // if / all / any: extend to the right
const OR: u8 = 1;
const AND: u8 = 2;
const TIGHT: u8 = 3; // not, comparisons, calls, …

#[derive(Clone, PartialEq)]
struct Atom {
    text: String,
    prec: u8,
}

fn tight(text: String) -> Atom {
    Atom { text, prec: TIGHT }
}

fn and_atom(text: String) -> Atom {
    Atom { text, prec: AND }
}

fn loose(text: String) -> Atom {
    Atom { text, prec: LOOSE }
}

impl Atom {
    /// The text, parenthesised if it binds looser than `min`.
    fn at(&self, min: u8) -> String {
        if self.prec < min { format!("({})", self.text) } else { self.text.clone() }
    }
}

fn or2(a: &Atom, b: &Atom) -> Atom {
    Atom { text: format!("{} or {}", a.at(OR), b.at(AND)), prec: OR }
}

fn not(a: &Atom) -> Atom {
    tight(format!("not {}", a.at(TIGHT)))
}

fn level(rng: &mut Rng) -> String {
    let l = *rng.pick(&LEVELS);
    if rng.chance(20) { format!("Level.{l}") } else { l.to_string() }
}

const CMP_OPS: [&str; 6] = ["<", "<=", ">", ">=", "==", "!="];

fn cmp(rng: &mut Rng) -> &'static str {
    CMP_OPS[rng.below(CMP_OPS.len())]
}

fn str_set(rng: &mut Rng, items: &[&str], max: usize) -> String {
    let k = 1 + rng.below(max);
    let picked = rng.subset(items, k);
    let quoted: Vec<String> = picked.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// Conditions on a principal of type `p` (and the resource, when its type `r` is known).
fn principal_atoms(rng: &mut Rng, p: Ety, r: Option<Ety>) -> Vec<Atom> {
    let team = entity_ref(rng, Ety::Team);
    let env = *rng.pick(&ENVS);
    let lvl = level(rng);
    let ns = *rng.pick(Ety::Team.ids());
    let mut v = match p {
        Ety::Agent => vec![
            tight(format!("principal.env == \"{env}\"")),
            tight(format!("principal.workload like \"spiffe://prod.acme/ns/{ns}/*\"")),
            and_atom("principal has max_delegation and on_behalf_of.len() <= principal.max_delegation".into()),
            and_atom(format!(
                "principal has max_delegation and principal.max_delegation {} {}",
                cmp(rng),
                rng.below(5)
            )),
            tight(format!("principal.owner.clearance >= {lvl}")),
            tight(format!("principal in {team}")),
            tight(format!("principal.trust > {}", 40 + rng.below(50))),
            tight(format!("principal.labels.contains(\"{}\")", rng.pick(&["pci", "sox", "beta", "gdpr"]))),
            tight(format!("principal.model in {}", str_set(rng, &MODELS, 3))),
            tight(format!("principal.model.starts_with(\"{}\")", rng.pick(&["claude-", "gpt-"]))),
            tight("prod_workload(principal.workload)".into()),
            tight(format!("principal.owner.department == \"{}\"", rng.pick(&DEPTS))),
        ],
        Ety::Human => vec![
            tight(format!("principal.clearance >= {lvl}")),
            tight("principal.mfa".into()),
            tight(format!("principal.department == \"{}\"", rng.pick(&DEPTS))),
            tight("principal.email.ends_with(\"@acme.com\")".into()),
            tight(format!("principal.department in {}", str_set(rng, &DEPTS, 3))),
        ],
        Ety::ServiceAccount => vec![
            tight(format!("principal.env == \"{env}\"")),
            tight(format!("principal.workload like \"spiffe://{env}.acme/ns/{ns}/sa/*\"")),
            and_atom(format!("principal has rotation and principal.rotation <= {}", rng.pick(&["7d", "30d", "90d"]))),
            tight(format!("principal in {team}")),
            tight("prod_workload(principal.workload)".into()),
        ],
        _ => Vec::new(),
    };
    match (p, r) {
        (Ety::Human, Some(Ety::Tool)) => v.push(tight("principal.clearance >= resource.sensitivity".into())),
        (Ety::Agent, Some(Ety::Tool)) => v.push(tight("principal.owner.clearance >= resource.sensitivity".into())),
        (Ety::Agent | Ety::ServiceAccount, Some(Ety::Secret)) => {
            v.push(tight("principal.env == resource.env".into()));
        }
        (Ety::Agent | Ety::ServiceAccount, Some(Ety::ToolGroup)) => {
            v.push(and_atom("resource has owner and principal in resource.owner".into()));
        }
        (Ety::Human, Some(Ety::Agent)) => v.push(tight("resource.owner == principal".into())),
        (Ety::Agent, Some(Ety::Agent)) => {
            v.push(tight("resource.trust <= principal.trust".into()));
            v.push(tight("resource.owner == principal.owner".into()));
        }
        _ => {}
    }
    v
}

/// Conditions on a resource of type `r`.
fn resource_atoms(rng: &mut Rng, r: Ety) -> Vec<Atom> {
    let lvl = level(rng);
    let env = *rng.pick(&ENVS);
    match r {
        Ety::Tool => vec![
            tight(format!("resource.sensitivity <= {lvl}")),
            tight(format!("resource.sensitivity {} {lvl}", cmp(rng))),
            tight("resource.destructive".into()),
            not(&tight("resource.destructive".into())),
            tight(format!("resource.tags.contains_any({})", str_set(rng, &TAGS, 3))),
            tight(format!("resource in {}", entity_ref(rng, Ety::ToolGroup))),
            and_atom(format!("resource has rate_limit and resource.rate_limit > {}", 10 * (1 + rng.below(50)))),
            tight(format!("resource.name.starts_with(\"{}.\")", rng.pick(&["k8s", "github", "jira", "stripe"]))),
            tight("resource.name.lower().contains(\"delete\")".into()),
            tight("resource.tags.is_empty()".into()),
        ],
        Ety::Secret => vec![
            tight(format!("resource.sensitivity < {lvl}")),
            tight(format!("resource.env == \"{env}\"")),
            tight(format!("resource.path like \"{}/*\"", rng.pick(&["db", "stripe", "tls", "vault"]))),
            and_atom(format!(
                "resource has rotated_at and context.now - resource.rotated_at < {}",
                rng.pick(&["30d", "90d", "180d"])
            )),
            tight(format!("resource in [{}, {}]", entity_ref(rng, Ety::Secret), entity_ref(rng, Ety::Secret))),
        ],
        Ety::ToolGroup => vec![
            tight(format!("resource.tier <= {lvl}")),
            and_atom(format!("resource has owner and resource.owner == {}", entity_ref(rng, Ety::Team))),
            tight(format!("resource == {}", entity_ref(rng, Ety::ToolGroup))),
        ],
        Ety::Agent => vec![
            tight(format!("resource.env == \"{env}\"")),
            tight(format!("resource in {}", entity_ref(rng, Ety::Team))),
            tight(format!("resource.trust < {}", 30 + rng.below(60))),
            not(&tight("resource.labels.contains(\"protected\")".into())),
        ],
        Ety::ServiceAccount => vec![
            tight(format!("resource.env != \"{env}\"")),
            tight(format!("resource in {}", entity_ref(rng, Ety::Team))),
        ],
        _ => Vec::new(),
    }
}

/// Conditions on the context fields of one action kind (`p`: the principal type, if known).
fn kind_atoms(rng: &mut Rng, kind: Kind, p: Option<Ety>) -> Vec<Atom> {
    let d = *rng.pick(&DURATIONS);
    match kind {
        Kind::ToolCall => vec![
            and_atom(format!("context.args has query and context.args.query.len() < {}", 64 * (1 + rng.below(8)))),
            tight(format!("context.args.limit <= {}", 10 * (1 + rng.below(20)))),
            and_atom("context.args has query and context.args.query.contains(\"password\")".into()),
            tight("context.args.limit * 10 < 5000".into()),
        ],
        Kind::ToolWrite => vec![
            not(&tight("context.dry_run".into())),
            tight("context.dry_run".into()),
            tight(format!("context.change_size < {}", 100 * (1 + rng.below(10)))),
        ],
        Kind::SecretRead => vec![
            tight(format!("context.credential_age < {d}")),
            tight(format!("context.credential_age + 5m <= {}", rng.pick(&["15m", "1h", "1h30m"]))),
        ],
        Kind::Deploy => {
            let mut v = vec![
                and_atom("context has change_ticket and context.change_ticket like \"CHG-*\"".into()),
                tight(format!("context.replicas <= {}", 2 + rng.below(20))),
                tight(format!("context.target_env in {}", str_set(rng, &ENVS, 2))),
            ];
            if p == Some(Ety::ServiceAccount) {
                v.push(tight("context.target_env == principal.env".into()));
            }
            v
        }
        Kind::Browse => Vec::new(),
        Kind::Admin => vec![
            tight(format!("context.reason.len() > {}", 5 + rng.below(30))),
            tight("context.reason.starts_with(\"INC-\")".into()),
        ],
        Kind::SecretWrite => vec![
            tight(format!("context.credential_age < {d}")),
            tight(format!("context.rotation_due - context.now < {}", rng.pick(&["1d", "7d", "14d"]))),
            tight("context.now < context.rotation_due".into()),
        ],
        Kind::Delegate => vec![
            tight(format!("context.depth < {}", 1 + rng.below(4))),
            tight("context.scopes.contains_all([\"read\"])".into()),
            not(&tight("context.scopes.contains_any([\"admin\", \"root\"])".into())),
            tight(format!("context.scopes.len() <= {}", 1 + rng.below(5))),
        ],
    }
}

/// Conditions that fit any target: context, intent, delegation chain, type tests.
fn common_atoms(rng: &mut Rng, t: &Target) -> Vec<Atom> {
    let (p, r) = (t.p, t.r);
    let risk = *rng.pick(&RISKS);
    let i1 = intent_name(rng.below(INTENTS));
    let i2 = intent_name(rng.below(INTENTS));
    let i3 = intent_name(rng.below(INTENTS));
    let team = entity_ref(rng, Ety::Team);
    let mut v = vec![
        tight(format!("context.risk < {risk}")),
        tight(format!("context.risk {} {risk}", cmp(rng))),
        and_atom("context has approved and context.approved".into()),
        tight("business_hours(context.now)".into()),
        and_atom("context.now.hour() >= 7 and context.now.hour() < 19".into()),
        tight(format!(
            "context.source_ip.in_range(ip(\"{}\"))",
            rng.pick(&["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"])
        )),
        tight("context.source_ip.is_private()".into()),
        tight("trusted_network(context.source_ip)".into()),
        tight(format!("context.now < timestamp(\"{}-01-01T00:00:00Z\")", 2027 + rng.below(3))),
        and_atom(format!("context has mfa_age and context.mfa_age < {}", rng.pick(&DURATIONS))),
        tight("context.session.starts_with(\"sess-\")".into()),
        tight("intent == none".into()),
        tight("intent != none".into()),
        tight(format!("intent in [{i1}, {i2}, {i3}]")),
        tight(format!("intent == {i1}")),
        loose("all d in on_behalf_of: d is Human".into()),
        tight(format!("on_behalf_of.len() <= {}", 1 + rng.below(4))),
        tight("on_behalf_of.is_empty()".into()),
        loose(format!(
            "if context.source_ip.is_private() then context.risk < {} else context.risk < {}",
            risk,
            risk / 2
        )),
        tight(format!("context.risk * 2 + on_behalf_of.len() * 10 < {}", 100 + rng.below(80))),
        tight(format!("-context.risk > -{risk}")),
        tight(format!("low_risk(context.risk, {risk})")),
    ];
    // Only Agents and ServiceAccounts are in Teams: a chain that can hold
    // nothing but Humans has no member of a team (the checker says so).
    if t.kind != Some(Kind::Admin) {
        v.push(loose(format!("any d in on_behalf_of: d in {team}")));
    }
    if p.is_none() {
        v.push(tight(format!("principal is Agent in {team}")));
        v.push(tight(format!("principal is {}", rng.pick(&["Agent", "Human", "ServiceAccount"]))));
    }
    if r.is_none() {
        v.push(tight(format!("resource is Tool in {}", entity_ref(rng, Ety::ToolGroup))));
        v.push(tight("resource is Secret".into()));
    }
    if p == Some(Ety::Agent) {
        v.push(loose(format!(
            "if principal has max_delegation then on_behalf_of.len() <= principal.max_delegation else on_behalf_of.len() <= {}",
            1 + rng.below(3)
        )));
    }
    v
}

// ------------------------------------------------------------------------------ rules

#[derive(Clone, Copy, PartialEq)]
enum Effect {
    Permit,
    Forbid,
    Escalate,
}

struct Target {
    text: String,
    p: Option<Ety>,
    r: Option<Ety>,
    /// The kind shared by every named action; `None` for `*`.
    kind: Option<Kind>,
}

fn scope(rng: &mut Rng, ty: Ety, any_percent: usize) -> (String, Option<Ety>) {
    if rng.chance(any_percent) {
        return ("*".into(), None);
    }
    let text = match (rng.below(20), ty.parent()) {
        (0..=3, Some(parent)) => format!("{} in {}", ty.name(), entity_ref(rng, parent)),
        (4, Some(parent)) => format!("{} in {}", entity_ref(rng, ty), entity_ref(rng, parent)),
        (5 | 6, _) => entity_ref(rng, ty),
        _ => ty.name().to_string(),
    };
    (text, Some(ty))
}

fn target(rng: &mut Rng) -> Target {
    let roll = rng.below(100);
    if roll < 7 {
        // Broad guard rails: `forbid * to * on *`, `forbid Agent to * on Secret`, …
        let (principal, p) = match rng.below(4) {
            0 | 1 => ("*".to_string(), None),
            _ => {
                let ty = *rng.pick(&[Ety::Agent, Ety::ServiceAccount, Ety::Human]);
                scope(rng, ty, 0)
            }
        };
        // Humans have no action on secrets: keep the target satisfiable.
        let resource_types: &[Ety] = if p == Some(Ety::Human) { &[Ety::Tool] } else { &[Ety::Tool, Ety::Secret] };
        let (resource, r) = match rng.below(3) {
            0 | 1 => ("*".to_string(), None),
            _ => {
                let ty = *rng.pick(resource_types);
                scope(rng, ty, 0)
            }
        };
        return Target { text: format!("{principal} to * on {resource}"), p, r, kind: None };
    }
    let a = rng.below(ACTIONS);
    let kind = Kind::of(a);
    let actions = match (roll, kind.group()) {
        (7..=16, Some(g)) => g.to_string(),
        (17..=28, _) => {
            let k = 2 + rng.below(2);
            let picked = rng.subset(&kind.actions(), k);
            format!("[{}]", picked.into_iter().map(act).collect::<Vec<_>>().join(", "))
        }
        _ => act(a),
    };
    let p_ty = *rng.pick(kind.principals());
    let (principal, p) = scope(rng, p_ty, 10);
    let r_ty = *rng.pick(kind.resources());
    let (resource, r) = scope(rng, r_ty, 8);
    Target { text: format!("{principal} to {actions} on {resource}"), p, r, kind: Some(kind) }
}

/// `count` distinct-ish conditions for the target.
fn conditions(rng: &mut Rng, t: &Target, count: usize) -> Vec<Atom> {
    let mut out: Vec<Atom> = Vec::new();
    let mut tries = 0;
    while out.len() < count && tries < 4 * count + 8 {
        tries += 1;
        let pool = match rng.below(10) {
            0..=2 => match t.p {
                Some(p) => principal_atoms(rng, p, t.r),
                None => common_atoms(rng, t),
            },
            3..=4 => match t.r {
                Some(r) => resource_atoms(rng, r),
                None => common_atoms(rng, t),
            },
            5..=6 => match t.kind {
                Some(k) => kind_atoms(rng, k, t.p),
                None => common_atoms(rng, t),
            },
            _ => common_atoms(rng, t),
        };
        if pool.is_empty() {
            continue;
        }
        let atom = rng.pick(&pool).clone();
        if !out.contains(&atom) {
            out.push(atom);
        }
    }
    // Occasionally fold two conditions into a disjunction, or negate one.
    if out.len() >= 3 && rng.chance(20) {
        let b = out.remove(2);
        let a = out.remove(1);
        out.insert(1, or2(&a, &b));
    }
    if out.len() >= 2 && rng.chance(10) {
        let a = out.remove(1);
        out.insert(1, not(&a));
    }
    out
}

fn conjunction(atoms: &[Atom], first_prefix: &str) -> String {
    let mut s = String::new();
    for (i, a) in atoms.iter().enumerate() {
        if i == 0 {
            s.push_str(&format!("  {first_prefix} {}", a.at(AND)));
        } else {
            s.push_str(&format!("\n   and {}", a.at(AND)));
        }
    }
    s.push('\n');
    s
}

const PERMIT_DOCS: [&str; 6] = [
    "Agents may use the tools of their task, up to internal data, while risk is low.",
    "Day-to-day access for the owning team.",
    "Read access for automation, bounded by a short-lived credential.",
    "Lets the on-call rotation act during an incident.",
    "Service accounts deploy only to their own environment.",
    "Granted for the quarterly access review; revisit by the end of the quarter.",
];
const FORBID_DOCS: [&str; 5] = [
    "Nothing happens while the host's risk engine says the session is hijacked.",
    "Production secrets never leave production workloads.",
    "Hard stop: compliance requirement.",
    "Blocks delegation chains we cannot audit.",
    "Destructive operations are off limits outside office hours.",
];
const ESCALATE_DOCS: [&str; 4] = [
    "Destructive tools need a human in the loop.",
    "Unusual access is allowed only after a human approves it.",
    "High-sensitivity data needs a second pair of eyes.",
    "Large changes go through change management.",
];
const REASONS: [&str; 10] = [
    "risk score too high",
    "destructive tools need a human approval",
    "outside business hours",
    "secret belongs to another environment",
    "delegation chain too long",
    "untrusted network",
    "credential too old",
    "data sensitivity above the agent's clearance",
    "change ticket required",
    "request declared no intent",
];
const AUDITS: [&str; 6] = ["secret read", "tool call", "deploy", "admin action", "delegation", "data export"];
const OWNERS: [&str; 5] = ["secops", "platform", "support-eng", "data-eng", "sre"];

fn grant(rng: &mut Rng) -> String {
    let ttl = *rng.pick(&TTLS);
    match rng.below(5) {
        0 | 1 => format!("{{ ttl: {ttl} }}"),
        2 => format!("{{ ttl: {ttl}, audit: \"{}\" }}", rng.pick(&AUDITS)),
        3 => format!(
            "{{ ttl: {ttl}, audit: \"{}\", notify: [\"#{}\"] }}",
            rng.pick(&AUDITS),
            rng.pick(&["sec-ops", "deploys", "oncall"])
        ),
        _ => format!("{{ ttl: {ttl}, max_calls: {} }}", 5 * (1 + rng.below(20))),
    }
}

/// One rule, numbered `id`.
fn rule(rng: &mut Rng, id: usize) -> String {
    let effect = match rng.below(100) {
        0..=59 => Effect::Permit,
        60..=84 => Effect::Forbid,
        _ => Effect::Escalate,
    };
    let t = target(rng);
    let mut s = String::new();
    let owner = *rng.pick(&OWNERS);
    if rng.chance(35) {
        let doc = match effect {
            Effect::Permit => rng.pick(&PERMIT_DOCS),
            Effect::Forbid => rng.pick(&FORBID_DOCS),
            Effect::Escalate => rng.pick(&ESCALATE_DOCS),
        };
        s.push_str(&format!("/// {doc}\n"));
        if rng.chance(25) {
            s.push_str(&format!("/// Owner: {owner}.\n"));
        }
    }
    s.push_str(&format!("@id(\"r-{id:05}\")\n"));
    if rng.chance(15) {
        s.push_str(&format!("@owner(\"{owner}\")\n"));
    }
    let kw = match effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
        Effect::Escalate => "escalate",
    };
    s.push_str(&format!("{kw} {}\n", t.text));

    let (when_p, unless_p, because_p, grant_p) = match effect {
        Effect::Permit => (92, 20, 20, 75),
        // A forbid on whole types (`forbid Agent to * on *`, `forbid Human to tool_calls on
        // Tool`) always has a condition: an unconditional one would override every permit
        // under it, which no real policy set does. Unconditional forbids name entities.
        Effect::Forbid if !t.text.contains("::\"") => (100, 25, 90, 0),
        Effect::Forbid => (90, 25, 90, 0),
        Effect::Escalate => (100, 50, 95, 0),
    };
    if rng.chance(when_p) {
        let n = 1 + rng.below(4);
        let mut atoms = conditions(rng, &t, n);
        if atoms.is_empty() {
            atoms.push(tight("context.risk > 90".into()));
        }
        s.push_str(&conjunction(&atoms, "when"));
        if rng.chance(8) {
            let extra = conditions(rng, &t, 1);
            s.push_str(&conjunction(&extra, "when"));
        }
    }
    if rng.chance(unless_p) {
        let atoms = if effect == Effect::Escalate || rng.chance(40) {
            vec![and_atom("context has approved and context.approved".into())]
        } else {
            conditions(rng, &t, 1)
        };
        s.push_str(&conjunction(&atoms, "unless"));
    }
    if rng.chance(because_p) {
        s.push_str(&format!("  because \"{}\"\n", rng.pick(&REASONS)));
    }
    if rng.chance(grant_p) {
        s.push_str(&format!("  grant {}\n", grant(rng)));
    }
    // `;` on the last clause's line.
    if s.ends_with('\n') {
        s.pop();
    }
    s.push_str(";\n");
    s
}

/// The text of each of `n` rules, numbered from 1.
fn rule_texts(n: usize, seed: u64) -> Vec<String> {
    let mut rng = Rng(seed);
    (1..=n).map(|id| rule(&mut rng, id)).collect()
}

/// `n` rules over the 50 actions of [`schema`] and the intents of [`intents`]`(INTENTS)`,
/// ids `r-00001` … in order, separated by blank lines.
pub fn rules(n: usize, seed: u64) -> String {
    rule_texts(n, seed).join("\n")
}

/// A whole policy set: `schema.writ`, `intents.writ`, `functions.writ` and the rules in
/// files of [`RULES_PER_FILE`] rules (`rules_000.writ`, …). The rules are exactly
/// `rules(n_rules, SEED)`, split.
pub fn policy_set(n_rules: usize) -> Vec<(String, String)> {
    let mut files = vec![
        ("schema.writ".to_string(), schema()),
        ("intents.writ".to_string(), intents(INTENTS)),
        ("functions.writ".to_string(), functions()),
    ];
    let texts = rule_texts(n_rules, SEED);
    for (i, chunk) in texts.chunks(RULES_PER_FILE).enumerate() {
        let mut text = format!(
            "// Generated by benches/gen/mod.rs: rules r-{:05} to r-{:05}.\n\n",
            i * RULES_PER_FILE + 1,
            i * RULES_PER_FILE + chunk.len()
        );
        text.push_str(&chunk.join("\n"));
        files.push((format!("rules_{i:03}.writ"), text));
    }
    files
}
