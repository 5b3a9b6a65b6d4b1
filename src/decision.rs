//! Decisions (SPEC §7): the answer, its reasons, obligations and errors, and their JSON form.

use crate::ir::schema::Schema;
use crate::ir::value::{self, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Allow,
    Escalate,
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
    pub ty: String,
    pub id: String,
}

/// Why the decision is what it is: a rule (or a built-in step, like `no-permit`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The rule's `@id` (or `FILE:LINE`), or the name of a built-in step like `no-permit`.
    pub rule: Arc<str>,
    /// `permit`, `forbid`, `escalate`, or `deny` for the built-in steps.
    pub effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<Arc<str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// Set when the reason comes from authorizing a principal of the delegation chain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<EntityRef>,
}

impl Reason {
    /// A reason given by a built-in step of the decision (SPEC §7): its effect is `deny`.
    pub fn builtin(rule: impl Into<Arc<str>>, message: impl Into<Arc<str>>) -> Reason {
        Reason {
            rule: rule.into(),
            effect: "deny",
            message: Some(message.into()),
            file: None,
            line: None,
            on_behalf_of: None,
        }
    }
}

/// A rule whose evaluation failed (fail closed), or a request that could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DecisionError {
    /// The rule whose evaluation failed, or `bad-request`.
    pub rule: Arc<str>,
    pub message: String,
}

/// What `--explain` adds: the permits that came closest, and what stopped each.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Explanation {
    /// Whose permits are explained: the request's principal, or the principal of the
    /// delegation chain that was refused.
    pub principal: EntityRef,
    pub closest_permits: Vec<NearMiss>,
    /// For an escalate: each escalating rule and the `unless` conditions that would lift it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub escalations: Vec<Escalation>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Escalation {
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub lifted_by: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NearMiss {
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// What failed, in words: the condition's source text, or the target part.
    pub failed: String,
    /// The values the failing condition saw, by the source text of each operand.
    pub saw: BTreeMap<String, serde_json::Value>,
    /// How many of the rule's `when`/`unless` clauses held before the failing one.
    pub clauses_passed: usize,
}

/// The decision the host gets back.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    pub decision: Verdict,
    pub reasons: Vec<Reason>,
    pub obligations: BTreeMap<String, serde_json::Value>,
    pub errors: Vec<DecisionError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explain: Option<Explanation>,
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
            reasons: vec![Reason::builtin("bad-request", "the request could not be decoded")],
            obligations: BTreeMap::new(),
            errors: vec![DecisionError { rule: "bad-request".into(), message }],
            explain: None,
        }
    }

    /// The decision JSON of SPEC §8, pretty-printed.
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
}

/// A value as JSON, the way host data would write it.
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
