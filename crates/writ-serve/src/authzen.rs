//! The OpenID AuthZEN 1.0 mapping, as pure functions: an AuthZEN request body → Writ
//! requests (as JSON, for [`writ::Engine::request_from_value`]), a Writ [`Decision`] → an
//! AuthZEN decision. No I/O, no HTTP: the server's handlers call these.
//!
//! * `subject` and `resource` (`{type, id, properties?}`) become entity references; the
//!   type maps to a Writ entity type through [`Mapping`]. `properties` become the
//!   attributes of an inline entity: over the stored entity of that id (its attributes
//!   with the properties on top, its parents kept) or, for an entity the store does not
//!   hold, on their own ([`Unknown::Inline`]).
//! * `action.name` maps to a Writ action; `context` is the Writ context.
//! * A decision maps to `{"decision": bool, "context": {"id", "reason_admin",
//!   "reason_user", "obligations", "escalate"?}}`; escalate is `false` with the reason
//!   that a human must approve.

use serde_json::{Map, Value, json};
use std::collections::HashMap;
use writ::{Decision, Verdict};

use crate::config::AuthzenConfig;
pub use crate::config::Unknown;

/// A request problem that names the field (`subject.type: expected a string`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.field, self.message) }
    }
}

/// What the entity store holds about one entity, as JSON (its `attrs` and `parents`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StoredEntity {
    pub attrs: Map<String, Value>,
    pub parents: Value,
}

/// The entities of the store by Writ type, then id.
#[derive(Clone, Debug, Default)]
pub struct Store {
    by_type: HashMap<String, HashMap<String, StoredEntity>>,
}

impl Store {
    /// Indexes an entities file's JSON (an array of `{type, id, attrs?, parents?}`);
    /// entries of other shapes are skipped (the engine has already refused such a file).
    pub fn from_json(entities: &Value) -> Store {
        let mut by_type: HashMap<String, HashMap<String, StoredEntity>> = HashMap::new();
        for e in entities.as_array().map(Vec::as_slice).unwrap_or_default() {
            let (Some(ty), Some(id)) = (e.get("type").and_then(Value::as_str), e.get("id").and_then(Value::as_str))
            else {
                continue;
            };
            let attrs = e.get("attrs").and_then(Value::as_object).cloned().unwrap_or_default();
            let parents = e.get("parents").cloned().unwrap_or_else(|| json!([]));
            by_type.entry(ty.to_string()).or_default().insert(id.to_string(), StoredEntity { attrs, parents });
        }
        Store { by_type }
    }

    pub fn get(&self, ty: &str, id: &str) -> Option<&StoredEntity> {
        self.by_type.get(ty)?.get(id)
    }
}

/// AuthZEN names → Writ names, and what to do with entities the store does not hold.
#[derive(Clone, Debug)]
pub struct Mapping {
    types: HashMap<String, String>,
    lower: HashMap<String, String>,
    actions: HashMap<String, String>,
    unknown_subjects: Unknown,
    unknown_resources: Unknown,
    subject_properties: bool,
}

impl Mapping {
    /// The mapping of a config for a schema with these entity types.
    pub fn new<'a>(config: &AuthzenConfig, entity_types: impl IntoIterator<Item = &'a str>) -> Mapping {
        let lower = entity_types.into_iter().map(|t| (t.to_lowercase(), t.to_string())).collect();
        Mapping {
            types: config.types.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            lower,
            actions: config.actions.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            unknown_subjects: config.unknown_subjects,
            unknown_resources: config.unknown_resources,
            subject_properties: config.subject_properties,
        }
    }

    /// The Writ entity type of an AuthZEN type: the configured one, else the entity type
    /// whose name is the same ignoring case.
    pub fn entity_type(&self, authzen: &str) -> Option<&str> {
        self.types.get(authzen).or_else(|| self.lower.get(&authzen.to_lowercase())).map(String::as_str)
    }

    /// The Writ action of an AuthZEN action name.
    pub fn action<'a>(&'a self, authzen: &'a str) -> &'a str {
        self.actions.get(authzen).map_or(authzen, String::as_str)
    }
}

/// One evaluation, checked for shape: `subject`, `action`, `resource` are objects with the
/// required string members.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub subject: Value,
    pub action: Value,
    pub resource: Value,
    pub context: Option<Value>,
}

/// `options.evaluations_semantic`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantic {
    #[default]
    ExecuteAll,
    DenyOnFirstDeny,
    PermitOnFirstPermit,
}

impl Semantic {
    /// Whether the evaluations stop after an entry with this outcome.
    pub fn stops_after(self, allowed: bool) -> bool {
        match self {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !allowed,
            Semantic::PermitOnFirstPermit => allowed,
        }
    }
}

/// A body of `POST /access/v1/evaluations`.
#[derive(Clone, Debug, PartialEq)]
pub enum Batch {
    /// No `evaluations` (or an empty array): a single evaluation, answered as one.
    Single(Evaluation),
    /// One result per entry: an entry's error stays in that entry.
    Many { entries: Vec<Result<Evaluation, FieldError>>, semantic: Semantic },
}

/// Why a body was refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BodyError {
    /// 400: the field is missing or has the wrong shape.
    Field(FieldError),
    /// 413: more entries than the limit.
    TooMany { count: usize, max: usize },
}

/// Checks the body of `POST /access/v1/evaluation`.
///
/// ```
/// use serde_json::json;
/// let ok = json!({"subject": {"type": "user", "id": "u"}, "action": {"name": "read"}, "resource": {"type": "doc", "id": "d"}, "extra": 1});
/// assert!(writ_serve::authzen::parse_evaluation(&ok).is_ok());
/// let err = writ_serve::authzen::parse_evaluation(&json!({"subject": {"type": "user", "id": "u"}, "resource": {"type": "doc", "id": "d"}})).unwrap_err();
/// assert_eq!(err.to_string(), "action: missing (an object with `name`)");
/// ```
pub fn parse_evaluation(body: &Value) -> Result<Evaluation, FieldError> {
    let Some(obj) = body.as_object() else { return Err(FieldError::new("", "the body must be a JSON object")) };
    evaluation("", obj.get("subject"), obj.get("action"), obj.get("resource"), obj.get("context"))
}

/// Checks the body of `POST /access/v1/evaluations`: top-level `subject`, `action`,
/// `resource` and `context` are defaults that each entry's own replace.
///
/// ```
/// use serde_json::json;
/// use writ_serve::authzen::{parse_evaluations, Batch};
/// let body = json!({"subject": {"type": "user", "id": "u"}, "action": {"name": "read"},
///                   "evaluations": [{"resource": {"type": "doc", "id": "1"}}, {"action": {"name": "edit"}}]});
/// let Ok(Batch::Many { entries, .. }) = parse_evaluations(&body, 10) else { panic!() };
/// assert_eq!(entries[0].as_ref().unwrap().subject["id"], "u");
/// assert_eq!(entries[1].as_ref().unwrap_err().to_string(), "evaluations[1].resource: missing (an object with `type` and `id`)");
/// ```
pub fn parse_evaluations(body: &Value, max: usize) -> Result<Batch, BodyError> {
    let Some(obj) = body.as_object() else {
        return Err(BodyError::Field(FieldError::new("", "the body must be a JSON object")));
    };
    let semantic = match obj.get("options").and_then(|o| o.get("evaluations_semantic")) {
        None | Some(Value::Null) => Semantic::ExecuteAll,
        Some(Value::String(s)) if s == "execute_all" => Semantic::ExecuteAll,
        Some(Value::String(s)) if s == "deny_on_first_deny" => Semantic::DenyOnFirstDeny,
        Some(Value::String(s)) if s == "permit_on_first_permit" => Semantic::PermitOnFirstPermit,
        Some(other) => {
            return Err(BodyError::Field(FieldError::new(
                "options.evaluations_semantic",
                format!(
                    "expected `execute_all`, `deny_on_first_deny` or `permit_on_first_permit`, got {}",
                    short(other)
                ),
            )));
        }
    };
    let items = match obj.get("evaluations") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(other) => {
            return Err(BodyError::Field(FieldError::new(
                "evaluations",
                format!("expected an array, got {}", short(other)),
            )));
        }
    };
    if items.is_empty() {
        return evaluation("", obj.get("subject"), obj.get("action"), obj.get("resource"), obj.get("context"))
            .map(Batch::Single)
            .map_err(BodyError::Field);
    }
    if items.len() > max {
        return Err(BodyError::TooMany { count: items.len(), max });
    }
    let entries = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let at = format!("evaluations[{i}]");
            let Some(e) = item.as_object() else { return Err(FieldError::new(at, "expected an object")) };
            let pick = |k: &str| e.get(k).filter(|v| !v.is_null()).or_else(|| obj.get(k));
            evaluation(&at, pick("subject"), pick("action"), pick("resource"), pick("context"))
        })
        .collect();
    Ok(Batch::Many { entries, semantic })
}

fn evaluation(
    at: &str,
    subject: Option<&Value>,
    action: Option<&Value>,
    resource: Option<&Value>,
    context: Option<&Value>,
) -> Result<Evaluation, FieldError> {
    let field = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    let subject = entity(&field("subject"), subject)?;
    let action = match action {
        None | Some(Value::Null) => return Err(FieldError::new(field("action"), "missing (an object with `name`)")),
        Some(a @ Value::Object(o)) => match o.get("name") {
            Some(Value::String(_)) => a.clone(),
            None | Some(Value::Null) => return Err(FieldError::new(field("action.name"), "missing")),
            Some(other) => {
                return Err(FieldError::new(field("action.name"), format!("expected a string, got {}", short(other))));
            }
        },
        Some(other) => {
            return Err(FieldError::new(field("action"), format!("expected an object, got {}", short(other))));
        }
    };
    let resource = entity(&field("resource"), resource)?;
    let context = match context {
        None | Some(Value::Null) => None,
        Some(c @ Value::Object(_)) => Some(c.clone()),
        Some(other) => {
            return Err(FieldError::new(field("context"), format!("expected an object, got {}", short(other))));
        }
    };
    Ok(Evaluation { subject, action, resource, context })
}

fn entity(at: &str, v: Option<&Value>) -> Result<Value, FieldError> {
    let o = match v {
        None | Some(Value::Null) => return Err(FieldError::new(at, "missing (an object with `type` and `id`)")),
        Some(Value::Object(o)) => o,
        Some(other) => return Err(FieldError::new(at, format!("expected an object, got {}", short(other)))),
    };
    for k in ["type", "id"] {
        match o.get(k) {
            Some(Value::String(_)) => {}
            None | Some(Value::Null) => return Err(FieldError::new(format!("{at}.{k}"), "missing")),
            Some(other) => {
                return Err(FieldError::new(format!("{at}.{k}"), format!("expected a string, got {}", short(other))));
            }
        }
    }
    match o.get("properties") {
        None | Some(Value::Null | Value::Object(_)) => Ok(Value::Object(o.clone())),
        Some(other) => {
            Err(FieldError::new(format!("{at}.properties"), format!("expected an object, got {}", short(other))))
        }
    }
}

/// A JSON value named briefly in an error (`a string`, `5`, …).
fn short(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(_) => "a string".into(),
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
    }
}

/// A Writ request built from an evaluation.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapped {
    /// The request JSON (§ "Requests" of docs/host-data.md).
    pub request: Value,
    /// Whether it carries an inline entity over a stored one (decode it with an engine
    /// that allows inline overrides).
    pub overrides: bool,
    /// Which AuthZEN field each inline entity came from (`subject`, `resource`), in order.
    pub inline_from: Vec<&'static str>,
}

impl Mapped {
    /// A decoding error of the Writ request, with its path named in AuthZEN terms
    /// (`entities[0].attrs.ownerID: …` → `resource.properties.ownerID: …`).
    ///
    /// ```
    /// let m = writ_serve::authzen::Mapped { request: serde_json::Value::Null, overrides: false, inline_from: vec!["resource"] };
    /// assert_eq!(m.authzen_error("entities[0].attrs.ownerID: expected String, got 5"), "resource.properties.ownerID: expected String, got 5");
    /// assert_eq!(m.authzen_error("principal: unknown entity User::\"x\""), "subject: unknown entity User::\"x\"");
    /// assert_eq!(m.authzen_error("action: unknown action `fly`"), "action.name: unknown action `fly`");
    /// ```
    pub fn authzen_error(&self, message: &str) -> String {
        let (path, rest) = message.split_once(": ").unwrap_or(("", message));
        let renamed = if let Some(tail) = path.strip_prefix("entities[") {
            let (index, after) = tail.split_once(']').unwrap_or(("", ""));
            let side = index.parse::<usize>().ok().and_then(|i| self.inline_from.get(i));
            match side {
                Some(side) => match after.strip_prefix(".attrs") {
                    Some(attr) => format!("{side}.properties{attr}"),
                    None => format!("{side}{after}"),
                },
                None => path.to_string(),
            }
        } else if let Some(after) = path.strip_prefix("principal") {
            format!("subject{after}")
        } else if path == "action" {
            "action.name".to_string()
        } else {
            path.to_string()
        };
        if renamed.is_empty() { rest.to_string() } else { format!("{renamed}: {rest}") }
    }
}

/// Maps an evaluation to a Writ request. An error names the AuthZEN field (an unknown
/// type); the host answers it as a deny.
///
/// ```
/// use serde_json::json;
/// use writ_serve::authzen::{parse_evaluation, to_writ, Mapping, Store};
/// let mapping = Mapping::new(&Default::default(), ["User", "Todo"]);
/// let store = Store::from_json(&json!([{"type": "User", "id": "u1", "attrs": {"email": "a@b"}}]));
/// let e = parse_evaluation(&json!({"subject": {"type": "user", "id": "u1"}, "action": {"name": "can_read_todos"},
///     "resource": {"type": "todo", "id": "t9", "properties": {"ownerID": "a@b"}}}))?;
/// let m = to_writ(&e, &mapping, &store)?;
/// assert_eq!(m.request["principal"], json!({"type": "User", "id": "u1"}));
/// assert_eq!(m.request["entities"], json!([{"type": "Todo", "id": "t9", "attrs": {"ownerID": "a@b"}}]));
/// assert!(!m.overrides);
/// # Ok::<(), writ_serve::authzen::FieldError>(())
/// ```
pub fn to_writ(e: &Evaluation, mapping: &Mapping, store: &Store) -> Result<Mapped, FieldError> {
    let mut inline: Vec<Value> = Vec::new();
    let mut inline_from = Vec::new();
    let mut overrides = false;
    let principal = side("subject", &e.subject, mapping, store, mapping.unknown_subjects, mapping.subject_properties)?;
    let resource = side("resource", &e.resource, mapping, store, mapping.unknown_resources, true)?;
    for ((reference, entity, over), side) in [(&principal, "subject"), (&resource, "resource")] {
        if let Some(ent) = entity {
            let dup =
                inline.iter().any(|i| i.get("type") == reference.get("type") && i.get("id") == reference.get("id"));
            if !dup {
                inline.push(ent.clone());
                inline_from.push(side);
                overrides |= *over;
            }
        }
    }
    let name = e.action.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut request = Map::new();
    request.insert("principal".into(), principal.0);
    request.insert("action".into(), Value::String(mapping.action(name).to_string()));
    request.insert("resource".into(), resource.0);
    if let Some(c) = &e.context {
        request.insert("context".into(), c.clone());
    }
    if !inline.is_empty() {
        request.insert("entities".into(), Value::Array(inline));
    }
    Ok(Mapped { request: Value::Object(request), overrides, inline_from })
}

/// The reference, the inline entity (if any), and whether that entity overrides a stored one.
fn side(
    at: &str,
    v: &Value,
    mapping: &Mapping,
    store: &Store,
    unknown: Unknown,
    use_properties: bool,
) -> Result<(Value, Option<Value>, bool), FieldError> {
    let ty = v.get("type").and_then(Value::as_str).unwrap_or_default();
    let id = v.get("id").and_then(Value::as_str).unwrap_or_default();
    let Some(writ_ty) = mapping.entity_type(ty) else {
        return Err(FieldError::new(format!("{at}.type"), format!("no entity type maps to `{ty}`")));
    };
    let reference = json!({"type": writ_ty, "id": id});
    let props = v.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty());
    match store.get(writ_ty, id) {
        Some(stored) => match props.filter(|_| use_properties) {
            Some(p) => {
                let mut attrs = stored.attrs.clone();
                attrs.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
                let entity = json!({"type": writ_ty, "id": id, "attrs": attrs, "parents": stored.parents});
                Ok((reference, Some(entity), true))
            }
            None => Ok((reference, None, false)),
        },
        None if unknown == Unknown::Inline => {
            let attrs = props.cloned().unwrap_or_default();
            Ok((reference, Some(json!({"type": writ_ty, "id": id, "attrs": attrs})), false))
        }
        None => Ok((reference, None, false)),
    }
}

/// The AuthZEN answer for a decision. `strict`: `{"decision": bool}` only.
///
/// ```
/// let d = writ::Decision::bad_request("context.risk: expected Int");
/// let a = writ_serve::authzen::answer(&d, "d-1", false);
/// assert_eq!(a["decision"], false);
/// assert_eq!(a["context"]["id"], "d-1");
/// assert_eq!(writ_serve::authzen::answer(&d, "d-1", true), serde_json::json!({"decision": false}));
/// ```
pub fn answer(d: &Decision, id: &str, strict: bool) -> Value {
    let allowed = d.decision == Verdict::Allow;
    if strict {
        return json!({ "decision": allowed });
    }
    let mut admin: Vec<String> = d
        .reasons
        .iter()
        .map(|r| {
            let mut s = format!("{} `{}`", r.effect.as_str(), r.rule);
            if let Some(m) = &r.message {
                s.push_str(&format!(": {m}"));
            }
            if let Some(h) = &r.on_behalf_of {
                s.push_str(&format!(" (for {}::\"{}\")", h.ty, h.id));
            }
            s
        })
        .collect();
    admin.extend(d.errors.iter().map(|e| format!("error in `{}`: {}", e.rule, e.message)));
    let message = d.reasons.iter().find_map(|r| r.message.as_deref());
    let user = match d.decision {
        Verdict::Allow => "allowed".to_string(),
        Verdict::Deny => message.unwrap_or("access denied").to_string(),
        Verdict::Escalate => {
            format!("a human must approve this request: {}", message.unwrap_or("an escalate rule applies"))
        }
    };
    let mut context = Map::new();
    context.insert("id".into(), Value::String(id.to_string()));
    context.insert("reason_admin".into(), json!({"en": format!("{}: {}", d.decision.as_str(), admin.join("; "))}));
    context.insert("reason_user".into(), json!({"en": user}));
    context.insert("obligations".into(), serde_json::to_value(&d.obligations).unwrap_or_else(|_| json!({})));
    if d.decision == Verdict::Escalate {
        let rules: Vec<&str> = d.reasons.iter().filter(|r| r.effect.as_str() == "escalate").map(|r| &*r.rule).collect();
        context.insert("escalate".into(), json!({"reason": user, "rules": rules}));
    }
    if let Some(v) = d.policy_version() {
        context.insert("policy_version".into(), Value::String(v.to_string()));
    }
    if !d.errors.is_empty() {
        let message: Vec<&str> = d.errors.iter().map(|e| e.message.as_str()).collect();
        context.insert("error".into(), json!({"status": 400, "message": message.join("; ")}));
    }
    json!({ "decision": allowed, "context": context })
}

/// The answer for an entry that could not be mapped (a deny naming the field).
///
/// ```
/// let e = writ_serve::authzen::parse_evaluation(&serde_json::json!({})).unwrap_err();
/// let a = writ_serve::authzen::error_answer(&e, false);
/// assert_eq!(a["decision"], false);
/// assert_eq!(a["context"]["error"]["message"], "subject: missing (an object with `type` and `id`)");
/// ```
pub fn error_answer(e: &FieldError, strict: bool) -> Value {
    if strict {
        return json!({ "decision": false });
    }
    json!({ "decision": false, "context": { "error": { "status": 400, "message": e.to_string() } } })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping() -> Mapping {
        Mapping::new(&AuthzenConfig::default(), ["User", "Todo"])
    }

    #[test]
    fn types_map_ignoring_case_unless_configured() {
        let mut config = AuthzenConfig::default();
        config.types.insert("person".into(), "User".into());
        let m = Mapping::new(&config, ["User", "Todo"]);
        assert_eq!(m.entity_type("USER"), Some("User"));
        assert_eq!(m.entity_type("person"), Some("User"));
        assert_eq!(m.entity_type("document"), None);
    }

    #[test]
    fn properties_apply_over_the_stored_entity() {
        let store = Store::from_json(&json!([{"type": "User", "id": "u", "attrs": {"email": "a", "name": "n"},
            "parents": [{"type": "Role", "id": "editor"}]}]));
        let e = parse_evaluation(&json!({"subject": {"type": "user", "id": "u", "properties": {"name": "m"}},
            "action": {"name": "x"}, "resource": {"type": "user", "id": "u"}}))
        .unwrap();
        let m = to_writ(&e, &mapping(), &store).unwrap();
        assert!(m.overrides);
        assert_eq!(
            m.request["entities"],
            json!([{"type": "User", "id": "u", "attrs": {"email": "a", "name": "m"}, "parents": [{"type": "Role", "id": "editor"}]}])
        );
        // The same entity as resource is not repeated.
        assert_eq!(m.request["entities"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn unknown_subjects_are_not_made_up_by_default() {
        let e = parse_evaluation(&json!({"subject": {"type": "user", "id": "ghost", "properties": {"email": "a"}},
            "action": {"name": "x"}, "resource": {"type": "todo", "id": "t"}}))
        .unwrap();
        let m = to_writ(&e, &mapping(), &Store::default()).unwrap();
        // Only the resource is inline; the subject stays a reference the engine refuses.
        assert_eq!(m.request["entities"], json!([{"type": "Todo", "id": "t", "attrs": {}}]));
    }

    #[test]
    fn batch_defaults_and_semantics() {
        let body = json!({"subject": {"type": "user", "id": "u"}, "action": {"name": "a"}, "context": {"k": 1},
            "options": {"evaluations_semantic": "deny_on_first_deny"},
            "evaluations": [{"resource": {"type": "todo", "id": "1"}, "context": {"k": 2}}, 5]});
        let Ok(Batch::Many { entries, semantic }) = parse_evaluations(&body, 10) else { panic!() };
        assert_eq!(semantic, Semantic::DenyOnFirstDeny);
        assert_eq!(entries[0].as_ref().unwrap().context, Some(json!({"k": 2})));
        assert_eq!(entries[1].as_ref().unwrap_err().to_string(), "evaluations[1]: expected an object");
        assert_eq!(parse_evaluations(&body, 1), Err(BodyError::TooMany { count: 2, max: 1 }));
        let bad = json!({"options": {"evaluations_semantic": "all"}, "evaluations": []});
        assert!(
            matches!(parse_evaluations(&bad, 10), Err(BodyError::Field(f)) if f.field == "options.evaluations_semantic")
        );
        // No evaluations: a single evaluation.
        let single = json!({"subject": {"type": "user", "id": "u"}, "action": {"name": "a"}, "resource": {"type": "todo", "id": "1"}});
        assert!(matches!(parse_evaluations(&single, 10), Ok(Batch::Single(_))));
    }

    #[test]
    fn shapes_are_named() {
        let cases = [
            (json!({"subject": 1}), "subject: expected an object, got 1"),
            (json!({"subject": {"type": "user"}}), "subject.id: missing"),
            (
                json!({"subject": {"type": "u", "id": "i"}, "action": {"name": 3}}),
                "action.name: expected a string, got 3",
            ),
            (
                json!({"subject": {"type": "u", "id": "i"}, "action": {"name": "a"}, "resource": {"type": "t", "id": "1", "properties": []}}),
                "resource.properties: expected an object, got an array",
            ),
            (json!([]), "the body must be a JSON object"),
        ];
        for (body, want) in cases {
            assert_eq!(parse_evaluation(&body).unwrap_err().to_string(), want);
        }
    }
}
