//! Requests: principal, action, resource, intent, context, `on_behalf_of`, inline entities.

use super::Json;
use super::entities::unknown_entity;
use super::json::Object;
use super::{DecodeError, DecodeErrorKind as K, EntityStore, Limits, decode_record, decode_uid, got, join};
use crate::ir::schema::{ActionId, EntityTypeId, IntentId, Schema};
use crate::ir::value::{EntityUid, Value};

/// A decoded request. Every entity it reaches exists in `entities` or in the store it was
/// decoded against.
#[derive(Clone, Debug)]
pub struct Request {
    pub principal: EntityUid,
    pub action: ActionId,
    pub resource: EntityUid,
    pub intent: Option<IntentId>,
    /// A record of the action's context shape.
    pub context: Value,
    pub on_behalf_of: Vec<EntityUid>,
    /// Inline entities; they win over the store's.
    pub entities: EntityStore,
    /// Some inline entity is one the store knows (an entity, or a parent it names), which
    /// only an engine that allows inline overrides accepts: the store's precomputed ancestors
    /// may be stale for this request, so membership is walked through the overlay instead.
    /// Otherwise every inline entity is new to the store, so no stored entity's ancestors
    /// change and the precomputed ones answer.
    pub overrides_store: bool,
}

/// How a request is decoded: the host's limits, and whether its inline entities may
/// replace what the store knows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    pub allow_inline_override: bool,
    /// Whether an `Ip` in the request may be a range (by default only an address).
    pub allow_ip_ranges: bool,
    pub limits: Limits,
}

const FIELDS: &[&str] = &["principal", "action", "resource", "intent", "context", "on_behalf_of", "entities"];

impl Request {
    /// Decodes request JSON text against the schema and the entity store, with the default
    /// options (no inline overrides, the default [`Limits`]).
    pub fn from_json(schema: &Schema, text: &str, store: &EntityStore) -> Result<Request, DecodeError> {
        Request::from_json_with(schema, text, store, &DecodeOptions::default())
    }

    /// Decodes request JSON text against the schema and the entity store.
    pub fn from_json_with(
        schema: &Schema,
        text: &str,
        store: &EntityStore,
        opts: &DecodeOptions,
    ) -> Result<Request, DecodeError> {
        if text.len() > opts.limits.max_request_bytes {
            return Err(too_long(text.len(), &opts.limits));
        }
        let v = super::parse_json(text, "the request")?;
        Request::from_value(schema, &v, store, opts)
    }

    pub fn from_value(
        schema: &Schema,
        v: &Json,
        store: &EntityStore,
        opts: &DecodeOptions,
    ) -> Result<Request, DecodeError> {
        let limits = &opts.limits;
        let Json::Object(o) = v else {
            return Err(DecodeError::of(K::WrongType, "", format!("a request is a JSON object, got {}", got(v))));
        };
        super::no_duplicate(o, "")?;
        if let Some(k) = o.first_unknown(|k| FIELDS.contains(&k)) {
            let hint = crate::names::did_you_mean(k, FIELDS.iter().copied())
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(DecodeError::of(K::UnknownField, k, format!("unknown field{hint}")));
        }
        let action = match o.get("action") {
            Some(Json::String(a)) => schema.action_id(a).ok_or_else(|| {
                let names: Vec<&str> = schema.actions.iter().map(|x| x.name.as_str()).collect();
                let hint =
                    crate::names::did_you_mean(a, names).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
                DecodeError::of(K::UnknownAction, "action", format!("unknown action {:?}{hint}", a))
            })?,
            Some(other) => {
                return Err(DecodeError::of(
                    K::WrongType,
                    "action",
                    format!("expected an action name, got {}", got(other)),
                ));
            }
            None => return Err(DecodeError::of(K::MissingField, "action", "missing")),
        };
        let Some(act) = schema.action(action) else {
            return Err(DecodeError::of(K::UnknownAction, "action", "unknown action"));
        };
        let entities = match o.get("entities") {
            None | Some(Json::Null) => EntityStore::new(),
            Some(Json::Array(items)) if items.len() > limits.max_inline_entities => {
                return Err(DecodeError::of(
                    K::Limit,
                    "entities",
                    format!("{} inline entities; the limit is {}", items.len(), limits.max_inline_entities),
                ));
            }
            Some(e) => EntityStore::from_value(schema, e, "entities", Some(store), limits, opts.allow_ip_ranges)?,
        };
        // Whether an inline entity replaces one the store knows: read off the decoded entities;
        // only a refusal goes back to the array, to name the first such entry by its position.
        let overrides_store = entities.iter().any(|e| store.knows(&e.uid));
        if overrides_store && !opts.allow_inline_override {
            if let Some(Json::Array(items)) = o.get("entities") {
                for (i, item) in items.iter().enumerate() {
                    // Decoded above, so each item is an entity with a known type and id.
                    let Ok(uid) = decode_uid(schema, &only_uid(item), "") else { continue };
                    if store.knows(&uid) {
                        return Err(DecodeError::of(
                            K::InlineOverride,
                            format!("entities[{i}]"),
                            format!(
                                "entity {}::{:?} is in the entity store; a request may add entities but not \
                                 replace stored ones (this engine does not allow inline overrides)",
                                schema.entity_name(uid.ty),
                                &*uid.id
                            ),
                        ));
                    }
                }
            }
        }
        let exists = |uid: &EntityUid| entities.get(uid).is_some() || store.get(uid).is_some();
        let role = |name: &str, allowed: &[EntityTypeId]| -> Result<EntityUid, DecodeError> {
            let Some(x) = o.get(name) else { return Err(DecodeError::of(K::MissingField, name, "missing")) };
            let uid = decode_uid(schema, x, name)?;
            if !allowed.contains(&uid.ty) {
                let want: Vec<&str> = allowed.iter().map(|t| schema.entity_name(*t)).collect();
                return Err(DecodeError::of(
                    K::WrongType,
                    name,
                    format!(
                        "`{}` is not a {name} type of action `{}` (expected {})",
                        schema.entity_name(uid.ty),
                        act.name,
                        want.join(" | ")
                    ),
                ));
            }
            if !exists(&uid) {
                return Err(unknown_entity(schema, name, &uid));
            }
            Ok(uid)
        };
        let principal = role("principal", &act.principals)?;
        let resource = role("resource", &act.resources)?;
        let intent = match o.get("intent") {
            None | Some(Json::Null) => None,
            Some(Json::String(s)) if s == "none" => None,
            Some(Json::String(s)) => Some(schema.intent_id(s).ok_or_else(|| {
                let names: Vec<&str> = schema.intents.iter().map(|i| i.name.as_str()).collect();
                let hint =
                    crate::names::did_you_mean(s, names).map(|x| format!(" (did you mean `{x}`?)")).unwrap_or_default();
                DecodeError::of(K::UnknownIntent, "intent", format!("unknown intent {s:?}{hint}"))
            })?),
            Some(other) => {
                return Err(DecodeError::of(
                    K::WrongType,
                    "intent",
                    format!("expected an intent name, got {}", got(other)),
                ));
            }
        };
        let mut refs = Vec::new();
        let empty = Json::Object(Object::default());
        let context = decode_record(
            schema,
            o.get("context").unwrap_or(&empty),
            &act.context,
            &super::Path::At("context"),
            &mut refs,
            1,
            &super::Rules { limits, ip_ranges: opts.allow_ip_ranges },
        )?;
        for (uid, p) in &refs {
            if !exists(uid) {
                return Err(unknown_entity(schema, p, uid));
            }
        }
        let mut on_behalf_of = Vec::new();
        match o.get("on_behalf_of") {
            None | Some(Json::Null) => {}
            Some(Json::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let p = format!("on_behalf_of[{i}]");
                    let uid = decode_uid(schema, item, &p)?;
                    if !act.principals.contains(&uid.ty) {
                        let want: Vec<&str> = act.principals.iter().map(|t| schema.entity_name(*t)).collect();
                        return Err(DecodeError::of(
                            K::WrongType,
                            join(&p, "type"),
                            format!(
                                "`{}` cannot act for `{}` (expected {})",
                                schema.entity_name(uid.ty),
                                act.name,
                                want.join(" | ")
                            ),
                        ));
                    }
                    if !exists(&uid) {
                        return Err(unknown_entity(schema, &p, &uid));
                    }
                    on_behalf_of.push(uid);
                }
            }
            Some(other) => {
                return Err(DecodeError::of(
                    K::WrongType,
                    "on_behalf_of",
                    format!("expected an array of entities, got {}", got(other)),
                ));
            }
        }
        Ok(Request { principal, action, resource, intent, context, on_behalf_of, entities, overrides_store })
    }

    /// `a in b` for this request: equal, or `b` is an ancestor of `a` (inline entities win).
    pub fn is_in(&self, store: &EntityStore, a: &EntityUid, b: &EntityUid) -> bool {
        if a == b {
            return true;
        }
        if !self.overrides_store {
            return self.entity(store, a).is_some_and(|e| e.is_in(b));
        }
        let mut seen = std::collections::HashSet::new();
        let mut stack = vec![a];
        while let Some(x) = stack.pop() {
            for p in self.entity(store, x).map_or(&[][..], |e| e.parents.as_slice()) {
                if p == b {
                    return true;
                }
                if seen.insert(p) {
                    stack.push(p);
                }
            }
        }
        false
    }

    /// Looks an entity up: inline entities first, then the store.
    pub fn entity<'a>(&'a self, store: &'a EntityStore, uid: &EntityUid) -> Option<&'a super::Entity> {
        self.entities.get(uid).or_else(|| store.get(uid))
    }
}

/// The `type` and `id` members of an entity object (an empty object for anything else).
fn only_uid<'a>(item: &Json<'a>) -> Json<'a> {
    match item {
        Json::Object(o) => Json::Object(o.only(&["type", "id"])),
        _ => Json::Object(Object::default()),
    }
}

pub(crate) fn too_long(len: usize, limits: &Limits) -> DecodeError {
    DecodeError::of(K::Limit, "", format!("the request is {len} bytes; the limit is {}", limits.max_request_bytes))
}
