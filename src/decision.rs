//! Decisions (docs/decisions.md): the answer, its reasons, obligations and errors, and their JSON form.

use crate::ir::schema::Schema;
use crate::ir::value::{self, Value};
use serde::Serialize;
use serde::ser::SerializeMap;
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::ops::Deref;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
/// What was decided.
pub enum Verdict {
    /// The action may go ahead (under the decision's obligations).
    Allow,
    /// A human must approve first; after approval the host asks again.
    Escalate,
    /// The action may not go ahead.
    Deny,
}

impl Verdict {
    /// The verdict as the decision JSON writes it.
    ///
    /// ```
    /// assert_eq!(writ::Verdict::Escalate.as_str(), "escalate");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Escalate => "escalate",
            Verdict::Deny => "deny",
        }
    }
}

/// An entity as the decision names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EntityRef {
    #[serde(rename = "type")]
    /// The entity type.
    pub ty: String,
    /// The entity id.
    pub id: String,
}

/// What a [`Reason`] did: the effect of its rule, or [`Effect::Deny`] for a built-in step
/// of the decision (`no-permit`, `bad-request`, …). The decision JSON writes it as
/// [`Effect::as_str`] does.
///
/// ```
/// use writ::{Effect, Reason};
/// assert_eq!(Reason::no_permit().effect, Effect::Deny);
/// assert_eq!(Effect::Escalate.as_str(), "escalate");
/// assert_eq!(serde_json::to_string(&Effect::Forbid).unwrap(), r#""forbid""#);
/// assert!(Effect::Permit == "permit"); // compares with the JSON string too
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// A `permit` rule that applied.
    Permit,
    /// A `forbid` rule that applied.
    Forbid,
    /// An `escalate` rule that applied.
    Escalate,
    /// A built-in step of the decision (docs/decisions.md) that denied.
    Deny,
}

impl Effect {
    /// The effect as the decision JSON writes it: `permit`, `forbid`, `escalate`, `deny`.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Permit => "permit",
            Effect::Forbid => "forbid",
            Effect::Escalate => "escalate",
            Effect::Deny => "deny",
        }
    }
}

impl From<crate::ir::Effect> for Effect {
    fn from(e: crate::ir::Effect) -> Effect {
        match e {
            crate::ir::Effect::Permit => Effect::Permit,
            crate::ir::Effect::Forbid => Effect::Forbid,
            crate::ir::Effect::Escalate => Effect::Escalate,
        }
    }
}

impl std::fmt::Display for Effect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Effect {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Effect {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Why the decision is what it is: a rule (or a built-in step, like `no-permit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule's `@id` (or `FILE:LINE`), or the name of a built-in step like `no-permit`.
    pub rule: Arc<str>,
    /// `permit`, `forbid`, `escalate`, or `deny` for the built-in steps.
    pub effect: Effect,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's `because` message, if it has one.
    pub message: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The policy file of the rule (`None` for a built-in reason).
    pub file: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's line in that file, 1-based.
    pub line: Option<u32>,
    /// Set when the reason comes from authorizing a principal of the delegation chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<EntityRef>,
}

impl Reason {
    /// A reason given by a built-in step of the decision (docs/decisions.md): its effect is `deny`.
    pub fn builtin(rule: impl Into<Arc<str>>, message: impl Into<Arc<str>>) -> Reason {
        Reason {
            rule: rule.into(),
            effect: Effect::Deny,
            message: Some(message.into()),
            file: None,
            line: None,
            on_behalf_of: None,
        }
    }

    /// The reason of the default deny (docs/decisions.md, step 7): `no-permit`, "no permit applies".
    /// Its strings are made once per process, so giving it does not allocate.
    ///
    /// ```
    /// let r = writ::Reason::no_permit();
    /// assert_eq!((&*r.rule, r.effect.as_str(), r.message.as_deref()), ("no-permit", "deny", Some("no permit applies")));
    /// ```
    pub fn no_permit() -> Reason {
        static STRINGS: std::sync::OnceLock<(Arc<str>, Arc<str>)> = std::sync::OnceLock::new();
        let (rule, message) = STRINGS.get_or_init(|| ("no-permit".into(), "no permit applies".into()));
        Reason::builtin(rule.clone(), message.clone())
    }
}

/// A rule whose evaluation failed (fail closed), or a request that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionError {
    /// The rule whose evaluation failed, or `bad-request`.
    pub rule: Arc<str>,
    /// What went wrong, for people (an evaluation error, or a decoding error with its JSON path).
    pub message: String,
}

/// What `--explain` adds: the permits that came closest, and what stopped each.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// Whose permits are explained: the request's principal, or the principal of the
    /// delegation chain that was refused.
    pub principal: EntityRef,
    /// The permits that came closest to applying, closest first.
    pub closest_permits: Vec<NearMiss>,
    /// For an escalate: each escalating rule and the `unless` conditions that would lift it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// An escalate rule that applied, and what would lift it.
pub struct Escalation {
    /// The rule id.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's file.
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's line in that file, 1-based.
    pub line: Option<u32>,
    /// The context facts whose change would lift the escalation (e.g. `context.approved`).
    pub lifted_by: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
/// A permit that did not apply: the first clause that failed and the values it saw.
pub struct NearMiss {
    /// The rule id.
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's file.
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The rule's line in that file, 1-based.
    pub line: Option<u32>,
    /// What failed, in words: the condition's source text, or the target part.
    pub failed: String,
    /// The values the failing condition saw, by the source text of each operand.
    pub saw: BTreeMap<String, serde_json::Value>,
    /// How many of the rule's `when`/`unless` clauses held before the failing one.
    pub clauses_passed: usize,
    /// The parts of the failing condition that held before it failed: the conjuncts of an
    /// `and` before its false one, by source text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub passed: Vec<String>,
}

/// Which back end an engine runs ([`crate::Engine::backend`]), and which one made a decision
/// ([`Decision::backend`]).
///
/// ```
/// # let policies = writ::PolicySet::load("examples/spec")?;
/// # let engine = writ::Engine::compile(&policies)?;
/// # let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
/// # let json = std::fs::read_to_string("examples/spec/request.json")?;
/// let interp = writ::Engine::interpreted(&policies);
/// assert_eq!(interp.backend(), writ::Backend::Interpreter);
/// // `compile` gives the JIT wherever Cranelift supports the machine.
/// assert!(matches!(engine.backend(), writ::Backend::Jit | writ::Backend::Interpreter));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// The reference interpreter over the typed IR.
    Interpreter,
    /// Native code generated by Cranelift.
    Jit,
}

/// The decision the host gets back.
///
/// Building one allocates nothing in the common cases (docs/embedding.md): up to one reason is held
/// inline, a `ttl` obligation is a number, and `errors` stays empty unless a rule failed.
#[derive(Clone, Debug, Serialize)]
pub struct Decision {
    /// Allow, deny or escalate.
    pub decision: Verdict,
    /// Why: the rules (or built-in steps) that decided, principal first, then each hop.
    pub reasons: Reasons,
    /// What the host must enforce with an allow (`ttl`, and the keys of `grant`s).
    pub obligations: Obligations,
    /// Rules that failed while evaluating (each failed closed), or why the request could not be decoded.
    pub errors: Vec<DecisionError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// For `decide_explained`: the closest permits and what stopped them.
    pub explain: Option<Box<Explanation>>,
    /// The version of the policy set that decided ([`crate::PolicySet::version`]); set by
    /// every [`crate::Engine`] method that returns a decision, bad requests included. Not
    /// part of the decision JSON (docs/decisions.md) ([`Decision::to_json`]); see
    /// [`Decision::to_json_versioned`].
    #[serde(skip)]
    pub policy_version: Option<Arc<str>>,
    /// The back end that decided: set by every [`crate::Engine`] method that evaluated
    /// rules (`None` for a request that could not be decoded). Not part of the decision
    /// JSON, and not of equality: the back ends decide alike.
    #[serde(skip)]
    pub backend: Option<Backend>,
}

impl PartialEq for Decision {
    fn eq(&self, other: &Decision) -> bool {
        let Decision { decision, reasons, obligations, errors, explain, policy_version, backend: _ } = self;
        *decision == other.decision
            && *reasons == other.reasons
            && *obligations == other.obligations
            && *errors == other.errors
            && *explain == other.explain
            && *policy_version == other.policy_version
    }
}

/// The reasons of a decision, in order; a slice to read (two are held without allocating: the principal's and one hop's).
///
/// ```
/// let d = writ::Decision::bad_request("bad");
/// assert_eq!(d.reasons.len(), 1);
/// assert_eq!(&*d.reasons[0].rule, "bad-request");
/// assert!(d.reasons.iter().all(|r| r.effect == "deny"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reasons(SmallVec<[Reason; 2]>);

impl Reasons {
    /// Adds a reason at the end.
    ///
    /// ```
    /// let mut r = writ::Reasons::default();
    /// r.push(writ::Reason::no_permit());
    /// assert_eq!(r.len(), 1);
    /// ```
    pub fn push(&mut self, reason: Reason) {
        self.0.push(reason);
    }

    /// Moves `other`'s reasons to the end of these.
    ///
    /// ```
    /// use writ::{Reason, Reasons};
    /// let mut r = Reasons::from_iter([Reason::builtin("a", "first")]);
    /// r.append(Reasons::from_iter([Reason::builtin("b", "second")]));
    /// assert_eq!(r.iter().map(|x| &*x.rule).collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn append(&mut self, other: Reasons) {
        self.0.extend(other.0);
    }
}

impl Deref for Reasons {
    type Target = [Reason];
    fn deref(&self) -> &[Reason] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a Reasons {
    type Item = &'a Reason;
    type IntoIter = std::slice::Iter<'a, Reason>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl FromIterator<Reason> for Reasons {
    fn from_iter<I: IntoIterator<Item = Reason>>(iter: I) -> Reasons {
        Reasons(iter.into_iter().collect())
    }
}

impl Extend<Reason> for Reasons {
    fn extend<I: IntoIterator<Item = Reason>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl From<Vec<Reason>> for Reasons {
    fn from(v: Vec<Reason>) -> Reasons {
        Reasons(SmallVec::from_vec(v))
    }
}

impl Serialize for Reasons {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.as_slice().serialize(s)
    }
}

/// The obligations of an allow (docs/decisions.md): the merge of the applying permits' grants. `ttl`
/// (the smallest granted) is kept as a number of milliseconds; every other key holds the
/// distinct values granted for it, in the order of values. The decision JSON writes them
/// as one object, keys sorted: `{"audit": ["secret read"], "ttl": "5m"}`.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/spec");
/// let engine = writ::Engine::compile(&writ::PolicySet::load(&dir)?)?;
/// let entities = engine.entities_from_json(&std::fs::read_to_string(dir.join("entities.json"))?)?;
/// let d = engine.decide_json(&std::fs::read_to_string(dir.join("request.json"))?, &entities);
/// assert_eq!(d.obligations.ttl_ms(), Some(15 * 60_000));
/// assert_eq!(d.obligations.get("ttl"), Some(serde_json::json!("15m")));
/// assert_eq!(d.obligations.get("audit"), None);
/// assert_eq!(d.obligations.len(), 1);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Obligations {
    ttl: Option<i64>,
    /// Sorted by key; never `ttl`.
    others: Vec<(String, Vec<serde_json::Value>)>,
}

impl Obligations {
    /// A `ttl` of `ms` milliseconds and nothing else.
    ///
    /// ```
    /// let o = writ::Obligations::with_ttl(90_000);
    /// assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"ttl":"1m30s"}"#);
    /// ```
    pub fn with_ttl(ms: i64) -> Obligations {
        Obligations { ttl: Some(ms), others: Vec::new() }
    }

    /// Adds `key`'s values (sorted, distinct); `key` is not `ttl`.
    pub(crate) fn insert(&mut self, key: &str, values: Vec<serde_json::Value>) {
        let at = self.others.partition_point(|(k, _)| k.as_str() < key);
        match self.others.get_mut(at) {
            Some((k, vs)) if k == key => *vs = values,
            _ => self.others.insert(at, (key.to_string(), values)),
        }
    }

    /// The `ttl` obligation in milliseconds, if a permit granted one.
    pub fn ttl_ms(&self) -> Option<i64> {
        self.ttl
    }

    /// One obligation as the decision JSON writes it.
    pub fn get(&self, key: &str) -> Option<serde_json::Value> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every obligation, keys sorted, values as the decision JSON writes them.
    ///
    /// ```
    /// let o = writ::Obligations::with_ttl(300_000);
    /// assert_eq!(o.iter().collect::<Vec<_>>(), [("ttl", serde_json::json!("5m"))]);
    /// assert!(!o.is_empty() && writ::Obligations::default().is_empty());
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, serde_json::Value)> + '_ {
        let (before, after) = self.others.split_at(self.others.partition_point(|(k, _)| k.as_str() < "ttl"));
        fn json((k, vs): &(String, Vec<serde_json::Value>)) -> (&str, serde_json::Value) {
            (k.as_str(), serde_json::Value::Array(vs.clone()))
        }
        let ttl = self.ttl.map(|t| ("ttl", serde_json::Value::String(value::format_duration(t))));
        before.iter().map(json).chain(ttl).chain(after.iter().map(json))
    }

    /// How many obligations there are.
    pub fn len(&self) -> usize {
        self.others.len() + usize::from(self.ttl.is_some())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Serialize for Obligations {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, &v)?;
        }
        map.end()
    }
}

impl Decision {
    /// A deny for a request that could not be decoded.
    ///
    /// ```
    /// let d = writ::Decision::bad_request("context.risk: expected Int");
    /// assert_eq!(d.decision, writ::Verdict::Deny);
    /// assert_eq!(d.errors[0].message, "context.risk: expected Int");
    /// ```
    pub fn bad_request(message: impl Into<String>) -> Decision {
        let message = message.into();
        Decision {
            decision: Verdict::Deny,
            reasons: Reasons::from_iter([Reason::builtin("bad-request", "the request could not be decoded")]),
            obligations: Obligations::default(),
            errors: vec![DecisionError { rule: "bad-request".into(), message }],
            explain: None,
            policy_version: None,
            backend: None,
        }
    }

    /// The decision JSON (docs/decisions.md), pretty-printed.
    ///
    /// ```
    /// let json = writ::Decision::bad_request("bad").to_json();
    /// let v: serde_json::Value = serde_json::from_str(&json)?;
    /// assert_eq!(v["decision"], "deny");
    /// assert_eq!(v["reasons"][0]["rule"], "bad-request");
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"decision\": \"deny\"}".into())
    }

    /// Whether the verdict is allow (deny and escalate are not).
    ///
    /// ```
    /// assert!(!writ::Decision::bad_request("no").is_allowed());
    /// ```
    pub fn is_allowed(&self) -> bool {
        self.decision == Verdict::Allow
    }

    /// The version of the policy set that made this decision, if an engine made it.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[("p.writ", "schema { entity A  entity T  action go: A -> T }")])
    ///     .map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::interpreted(&policies);
    /// let d = engine.decide_json("{not json", &engine.empty_entities());
    /// assert_eq!(d.policy_version(), Some(policies.version()));
    /// assert_eq!(writ::Decision::bad_request("x").policy_version(), None);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn policy_version(&self) -> Option<&str> {
        self.policy_version.as_deref()
    }

    /// The back end that made this decision (see [`Decision::backend`](field@Decision::backend)).
    ///
    /// ```
    /// let policies = writ::PolicySet::load("examples/spec")?;
    /// let engine = writ::Engine::compile(&policies)?;
    /// let entities = engine.entities_from_json(&std::fs::read_to_string("examples/spec/entities.json")?)?;
    /// let d = engine.decide_json(&std::fs::read_to_string("examples/spec/request.json")?, &entities);
    /// assert_eq!(d.ran_on(), Some(engine.backend()));
    /// assert_eq!(writ::Engine::interpreted(&policies).decide_json("{}", &entities).ran_on(), None); // not decoded
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn ran_on(&self) -> Option<Backend> {
        self.backend
    }

    /// The decision JSON of [`Decision::to_json`] with a `"policy_version"` member (when
    /// the decision has one), pretty-printed: what a server or a log shows.
    ///
    /// ```
    /// let policies = writ::PolicySet::from_sources(&[("p.writ", "schema { entity A  entity T  action go: A -> T }")])
    ///     .map_err(|e| e.to_string())?;
    /// let engine = writ::Engine::interpreted(&policies);
    /// let d = engine.decide_json("{}", &engine.empty_entities());
    /// let v: serde_json::Value = serde_json::from_str(&d.to_json_versioned())?;
    /// assert_eq!(v["policy_version"], policies.version());
    /// assert_eq!(v["decision"], "deny");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_json_versioned(&self) -> String {
        let mut v = serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({"decision": "deny"}));
        if let (serde_json::Value::Object(o), Some(ver)) = (&mut v, &self.policy_version) {
            o.insert("policy_version".into(), serde_json::Value::String(ver.to_string()));
        }
        serde_json::to_string_pretty(&v).unwrap_or_else(|_| "{\"decision\": \"deny\"}".into())
    }

    /// This decision, stamped with a policy set's version.
    pub(crate) fn versioned(mut self, version: &Arc<str>) -> Decision {
        self.policy_version = Some(version.clone());
        self
    }

    /// This decision, stamped with the back end that made it.
    pub(crate) fn made_by(mut self, backend: Backend) -> Decision {
        self.backend = Some(backend);
        self
    }
}

/// A value of type `ty` as JSON, the way host data would write it: records as objects with
/// their field names (absent optional fields left out).
pub fn typed_value_to_json(schema: &Schema, v: &Value, ty: &crate::ir::Ty) -> serde_json::Value {
    use crate::ir::Ty;
    match (v, ty) {
        (Value::Record(fields), Ty::Record(r)) => serde_json::Value::Object(
            r.fields
                .iter()
                .zip(fields.iter())
                .filter_map(|(f, x)| Some((f.name.clone(), typed_value_to_json(schema, x.as_ref()?, &f.ty))))
                .collect(),
        ),
        (Value::Set(items), Ty::Set(elem)) => {
            serde_json::Value::Array(items.iter().map(|x| typed_value_to_json(schema, x, elem)).collect())
        }
        _ => value_to_json(schema, v),
    }
}

/// A value as JSON, the way host data would write it (a record, whose field names the
/// value does not carry, as the array of its fields in name order).
pub fn value_to_json(schema: &Schema, v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Bool(b) => J::Bool(*b),
        Value::Int(n) => J::from(*n),
        Value::Str(s) => J::String(s.to_string()),
        Value::Duration(d) => J::String(value::format_duration(*d)),
        Value::Timestamp(t) => J::String(value::format_timestamp(*t)),
        Value::Ip(i) => J::String(i.to_string()),
        Value::Set(items) => J::Array(items.iter().map(|x| value_to_json(schema, x)).collect()),
        Value::Record(fields) => {
            J::Array(fields.iter().map(|f| f.as_ref().map_or(J::Null, |x| value_to_json(schema, x))).collect())
        }
        Value::Entity(u) => serde_json::json!({"type": schema.entity_name(u.ty), "id": &*u.id}),
        Value::Enum(e, i) => J::String(
            schema.enum_(*e).and_then(|en| en.variants.get(*i as usize)).cloned().unwrap_or_else(|| "?".into()),
        ),
        Value::Intent(None) => J::String("none".into()),
        Value::Intent(Some(i)) => J::String(schema.intent_name(*i).to_string()),
        Value::Action(a) => J::String(schema.action_name(*a).to_string()),
    }
}
