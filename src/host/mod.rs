//! Host data: the entity store and requests, decoded from JSON by the schema (docs/host-data.md).
//!
//! Every problem is a [`DecodeError`] naming the JSON path and what was expected
//! (`context.risk: expected Int, got "high"`). Nothing is half-decoded: a request either
//! decodes completely, with every entity it reaches known, or not at all.

pub mod entities;
pub mod json;
pub mod request;

use crate::ir::schema::Schema;
use crate::ir::value::{self, EntityUid, IpNet, Value};
use crate::ir::{RecordTy, Ty};
use DecodeErrorKind as K;
pub use json::Json;
use std::fmt;
use std::sync::Arc;

pub use entities::{Changes, Entity, EntityStore};
pub use request::{DecodeOptions, Request};

/// Bad host data: where (a JSON path), what kind of problem, and what is wrong.
///
/// ```
/// let policies = writ::PolicySet::from_sources(&[(
///     "p.writ",
///     "schema { entity Agent { level: Int }  entity Tool  action call: Agent -> Tool }",
/// )]).map_err(|e| e.to_string())?;
/// let engine = writ::Engine::interpreted(&policies);
/// let err = engine.entities_from_json(r#"[{"type": "Agent", "id": "a", "attrs": {"level": "high"}}]"#).unwrap_err();
/// assert_eq!(err.kind(), writ::DecodeErrorKind::WrongType);
/// assert_eq!(err.path(), "[0].attrs.level");
/// assert_eq!(err.to_string(), r#"[0].attrs.level: expected Int, got "high""#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub path: String,
    pub message: String,
    kind: DecodeErrorKind,
}

/// What kind of problem a [`DecodeError`] reports (its message says more).
///
/// ```
/// assert_eq!(writ::DecodeErrorKind::MissingField.as_str(), "missing-field");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The text is not JSON (or nests deeper than the JSON parser allows).
    MalformedJson,
    /// A required member is absent.
    MissingField,
    /// A member the schema (or the request format) does not have.
    UnknownField,
    /// A value of the wrong JSON type or schema type (an entity of a type the action or
    /// attribute does not take, too).
    WrongType,
    /// A value of the right JSON type that is not a valid value of its schema type: a bad
    /// Duration, Timestamp or Ip, an enum variant the enum lacks, an integer beyond 64 bits.
    InvalidValue,
    /// An object key written twice.
    DuplicateKey,
    /// An entity listed twice in one array of entities.
    DuplicateEntity,
    /// A reference to an entity that neither the store nor the request has.
    UnknownEntity,
    /// An entity type the schema does not declare.
    UnknownType,
    /// An action the schema does not declare.
    UnknownAction,
    /// An intent the policy set does not declare.
    UnknownIntent,
    /// An inline entity that replaces a stored one, which the engine does not allow.
    InlineOverride,
    /// A [`Limits`] bound (or the nesting bound) exceeded.
    Limit,
    /// Entities decoded by an engine of another schema.
    StaleSchema,
    /// Anything else.
    Other,
}

impl DecodeErrorKind {
    /// A stable kebab-case name, for logs and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            DecodeErrorKind::MalformedJson => "malformed-json",
            DecodeErrorKind::MissingField => "missing-field",
            DecodeErrorKind::UnknownField => "unknown-field",
            DecodeErrorKind::WrongType => "wrong-type",
            DecodeErrorKind::InvalidValue => "invalid-value",
            DecodeErrorKind::DuplicateKey => "duplicate-key",
            DecodeErrorKind::DuplicateEntity => "duplicate-entity",
            DecodeErrorKind::UnknownEntity => "unknown-entity",
            DecodeErrorKind::UnknownType => "unknown-type",
            DecodeErrorKind::UnknownAction => "unknown-action",
            DecodeErrorKind::UnknownIntent => "unknown-intent",
            DecodeErrorKind::InlineOverride => "inline-override",
            DecodeErrorKind::Limit => "limit",
            DecodeErrorKind::StaleSchema => "stale-schema",
            DecodeErrorKind::Other => "other",
        }
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DecodeError {
    /// An error of kind [`DecodeErrorKind::Other`].
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> DecodeError {
        DecodeError::of(DecodeErrorKind::Other, path, message)
    }

    /// An error of the given kind.
    ///
    /// ```
    /// let e = writ::DecodeError::of(writ::DecodeErrorKind::MissingField, "action", "missing");
    /// assert_eq!((e.kind(), e.path(), e.to_string().as_str()), (writ::DecodeErrorKind::MissingField, "action", "action: missing"));
    /// ```
    pub fn of(kind: DecodeErrorKind, path: impl Into<String>, message: impl Into<String>) -> DecodeError {
        DecodeError { path: path.into(), message: message.into(), kind }
    }

    /// What kind of problem this is (see the type's example).
    pub fn kind(&self) -> DecodeErrorKind {
        self.kind
    }

    /// Where: the JSON path (`context.risk`, `entities[0].attrs.owner`), empty for the
    /// document as a whole (see the type's example).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() { f.write_str(&self.message) } else { write!(f, "{}: {}", self.path, self.message) }
    }
}

impl std::error::Error for DecodeError {}

/// Bounds on host data, so that decoding and deciding cost time and memory linear in the
/// size of the data, and a host can cap that size. Every bound is checked while decoding;
/// data beyond one is bad input (a [`DecodeError`] naming the JSON path), never truncated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of one request's JSON text. Default 1 MiB.
    pub max_request_bytes: usize,
    /// Items of one JSON array decoded as a set, in requests and in entity attributes.
    /// Default 10,000.
    pub max_set_len: usize,
    /// Parent steps from an entity to the top of the hierarchy along its longest chain of
    /// parents (an entity without parents is at depth 0; a cycle counts as a chain through
    /// all its members). Checked for the entity store, and for a request's inline entities
    /// over it. Default 256.
    pub max_hierarchy_depth: usize,
    /// Inline entities in one request. Default 1,000.
    pub max_inline_entities: usize,
    /// The evaluation budget of one decision, in the units [`crate::ir::DEFAULT_FUEL`]
    /// defines (quantifier steps and set elements scanned). A rule that runs out fails
    /// closed. Default [`crate::ir::DEFAULT_FUEL`].
    pub max_fuel: u64,
}

impl Limits {
    /// The default limits (see each field).
    pub const DEFAULT: Limits = Limits {
        max_request_bytes: 1 << 20,
        max_set_len: 10_000,
        max_hierarchy_depth: 256,
        max_inline_entities: 1_000,
        max_fuel: crate::ir::DEFAULT_FUEL,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// What the value decoders check besides types: the host's limits, and whether an `Ip` may
/// be a range (in the entity store, written by the host) or only an address (in requests
/// and their inline entities, written by the caller).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules<'l> {
    pub limits: &'l Limits,
    pub ip_ranges: bool,
}

/// The JIT's fast JSON decoder takes sets of up to this many items and leaves longer ones
/// to the ordinary decoder, which applies [`Limits::max_set_len`]; an engine whose limit is
/// lower does not use the fast decoder at all.
pub(crate) const FAST_MAX_SET: usize = 1_000;

/// How deeply host JSON may nest (serde_json's own limit is 128; values deeper than the
/// schema's types are rejected anyway).
pub(crate) const MAX_JSON_DEPTH: usize = 64;

/// Parses JSON text; a syntax error names line and column.
pub fn parse_json<'a>(text: &'a str, what: &str) -> Result<Json<'a>, DecodeError> {
    json::from_str(text).map_err(|e| {
        DecodeError::of(
            K::MalformedJson,
            "",
            format!("{what} is not valid JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })
}

/// Borrows a `serde_json::Value` for decoding; one nested deeper than serde_json's parser
/// allows text to nest (128) is an error, as it would be as text.
pub fn from_serde_value(v: &serde_json::Value) -> Result<Json<'_>, DecodeError> {
    json::from_serde(v, 128).ok_or_else(|| DecodeError::of(K::Limit, "", "the value nests too deeply"))
}

/// A short rendering of a JSON value for error messages.
pub(crate) fn got(v: &Json) -> String {
    let s = match v {
        Json::Null => "null".to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Number(n) => n.to_string(),
        Json::String(s) => format!("{s:?}"),
        Json::Array(_) => "an array".to_string(),
        Json::Object(_) => "an object".to_string(),
    };
    if s.chars().count() > 60 { format!("{}…", s.chars().take(60).collect::<String>()) } else { s }
}

pub(crate) fn join(path: &(impl fmt::Display + ?Sized), key: &str) -> String {
    let path = path.to_string();
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// Where a value sits in the JSON document, rendered only when there is an error to report.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Path<'a> {
    /// A path given as text (`""` for the document itself).
    At(&'a str),
    /// Member `key` of the object at the path.
    Key(&'a Path<'a>, &'a str),
    /// Item `i` of the array at the path.
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::At(s) => f.write_str(s),
            Path::Key(p, k) => {
                let parent = p.to_string();
                if parent.is_empty() { f.write_str(k) } else { write!(f, "{parent}.{k}") }
            }
            Path::Index(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

/// Rejects an object with a key written twice, naming the key's path.
pub(crate) fn no_duplicate(o: &json::Object<'_>, path: &(impl fmt::Display + ?Sized)) -> Result<(), DecodeError> {
    match o.duplicate_key() {
        Some(k) => Err(DecodeError::of(K::DuplicateKey, join(path, k), "duplicate key (a key may appear only once)")),
        None => Ok(()),
    }
}

/// Decodes `{"type": "Agent", "id": "bot"}` into an entity reference.
pub(crate) fn decode_uid(
    schema: &Schema,
    v: &Json,
    path: &(impl fmt::Display + ?Sized),
) -> Result<EntityUid, DecodeError> {
    let Json::Object(o) = v else {
        return Err(DecodeError::of(
            K::WrongType,
            path.to_string(),
            format!("expected an entity reference {{\"type\", \"id\"}}, got {}", got(v)),
        ));
    };
    no_duplicate(o, path)?;
    if let Some(k) = o.first_unknown(|k| k == "type" || k == "id") {
        return Err(DecodeError::of(
            K::UnknownField,
            join(path, k),
            "unknown field in an entity reference (it has `type` and `id`)",
        ));
    }
    let ty = match o.get("type") {
        Some(Json::String(t)) => t,
        Some(other) => {
            return Err(DecodeError::of(
                K::WrongType,
                join(path, "type"),
                format!("expected a string, got {}", got(other)),
            ));
        }
        None => return Err(DecodeError::of(K::MissingField, path.to_string(), "missing `type`")),
    };
    let id = match o.get("id") {
        Some(Json::String(i)) => i,
        Some(other) => {
            return Err(DecodeError::of(
                K::WrongType,
                join(path, "id"),
                format!("expected a string, got {}", got(other)),
            ));
        }
        None => return Err(DecodeError::of(K::MissingField, path.to_string(), "missing `id`")),
    };
    let Some(t) = schema.entity_id(ty) else {
        let names: Vec<&str> = schema.entities.iter().map(|e| e.name.as_str()).collect();
        let hint = crate::names::did_you_mean(ty, names).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        return Err(DecodeError::of(K::UnknownType, join(path, "type"), format!("unknown entity type `{ty}`{hint}")));
    };
    Ok(EntityUid { ty: t, id: Arc::from(id.as_ref()) })
}

/// Decodes a JSON value by its schema type. Entity references met on the way are pushed
/// onto `refs` (with their paths) so the caller can check they exist.
pub(crate) fn decode_value(
    schema: &Schema,
    v: &Json,
    ty: &Ty,
    path: &Path<'_>,
    refs: &mut Vec<(EntityUid, String)>,
    depth: usize,
    rules: &Rules<'_>,
) -> Result<Value, DecodeError> {
    if depth > MAX_JSON_DEPTH {
        return Err(DecodeError::of(K::Limit, path.to_string(), "value nests too deeply"));
    }
    let expected =
        |what: &str| DecodeError::of(K::WrongType, path.to_string(), format!("expected {what}, got {}", got(v)));
    Ok(match (ty, v) {
        (Ty::Bool, Json::Bool(b)) => Value::Bool(*b),
        (Ty::Int, Json::Number(n)) => Value::Int(n.as_i64().ok_or_else(|| expected("Int (a 64-bit integer)"))?),
        (Ty::String, Json::String(s)) => Value::Str(Arc::from(s.as_ref())),
        (Ty::Duration, Json::String(s)) => Value::Duration(crate::literal::parse_duration(s).map_err(|e| {
            DecodeError::of(
                K::InvalidValue,
                path.to_string(),
                format!("expected a Duration like \"15m\", got {}: {e}", got(v)),
            )
        })?),
        (Ty::Timestamp, Json::String(s)) => Value::Timestamp(
            value::parse_timestamp(s).map_err(|e| DecodeError::of(K::InvalidValue, path.to_string(), e))?,
        ),
        (Ty::Ip, Json::String(s)) => {
            let ip = if rules.ip_ranges { IpNet::parse(s) } else { IpNet::parse_addr(s) };
            Value::Ip(ip.map_err(|e| DecodeError::of(K::InvalidValue, path.to_string(), e))?)
        }
        (Ty::Set(elem), Json::Array(items)) => {
            if items.len() > rules.limits.max_set_len {
                return Err(DecodeError::of(
                    K::Limit,
                    path.to_string(),
                    format!("a set of {} items; the limit is {}", items.len(), rules.limits.max_set_len),
                ));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                out.push(decode_value(schema, item, elem, &Path::Index(path, i), refs, depth + 1, rules)?);
            }
            Value::set(out)
        }
        (Ty::Record(r), Json::Object(_)) => decode_record(schema, v, r, path, refs, depth + 1, rules)?,
        (Ty::Entity(types), Json::Object(_)) => {
            let uid = decode_uid(schema, v, path)?;
            if !types.contains(&uid.ty) {
                let want: Vec<&str> = types.iter().map(|t| schema.entity_name(*t)).collect();
                return Err(DecodeError::of(
                    K::WrongType,
                    join(path, "type"),
                    format!("expected an entity of type {}, got `{}`", want.join(" | "), schema.entity_name(uid.ty)),
                ));
            }
            refs.push((uid.clone(), path.to_string()));
            Value::Entity(uid)
        }
        (Ty::Enum(e), Json::String(s)) => {
            let en = schema.enum_(*e);
            match en.and_then(|en| en.variants.iter().position(|x| x == s)) {
                Some(i) => Value::Enum(*e, u32::try_from(i).unwrap_or(0)),
                None => {
                    let vals = en.map(|en| en.variants.join(", ")).unwrap_or_default();
                    return Err(DecodeError::of(
                        K::InvalidValue,
                        path.to_string(),
                        format!("expected a `{}` ({vals}), got {}", schema.enum_name(*e), got(v)),
                    ));
                }
            }
        }
        (Ty::Intent, Json::String(s)) => match schema.intent_id(s) {
            Some(i) => Value::Intent(Some(i)),
            None if s == "none" => Value::Intent(None),
            None => {
                return Err(DecodeError::of(K::UnknownIntent, path.to_string(), format!("unknown intent {}", got(v))));
            }
        },
        (Ty::Action, Json::String(s)) => match schema.action_id(s) {
            Some(a) => Value::Action(a),
            None => {
                return Err(DecodeError::of(K::UnknownAction, path.to_string(), format!("unknown action {}", got(v))));
            }
        },
        _ => {
            let name = match ty {
                Ty::Duration => "a Duration like \"15m\"".to_string(),
                Ty::Timestamp => "a Timestamp like \"2026-11-23T10:15:00Z\"".to_string(),
                Ty::Ip => "an Ip like \"10.1.2.3\"".to_string(),
                Ty::Set(_) => format!("{} (an array)", schema.ty_name(ty)),
                Ty::Record(_) => "an object".to_string(),
                Ty::Entity(_) => format!("an entity reference of type {}", schema.ty_name(ty)),
                other => schema.ty_name(other),
            };
            return Err(expected(&name));
        }
    })
}

/// Decodes an object by a record type: unknown fields and missing required ones are errors;
/// an optional field may be absent or `null`.
pub(crate) fn decode_record(
    schema: &Schema,
    v: &Json,
    r: &RecordTy,
    path: &Path<'_>,
    refs: &mut Vec<(EntityUid, String)>,
    depth: usize,
    rules: &Rules<'_>,
) -> Result<Value, DecodeError> {
    let Json::Object(o) = v else {
        return Err(DecodeError::of(K::WrongType, path.to_string(), format!("expected an object, got {}", got(v))));
    };
    no_duplicate(o, path)?;
    if let Some(k) = o.first_unknown(|k| r.field(k).is_some()) {
        let hint =
            crate::names::did_you_mean(k, r.names()).map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default();
        return Err(DecodeError::of(K::UnknownField, join(path, k), format!("unknown field{hint}")));
    }
    let mut fields = Vec::with_capacity(r.fields.len());
    for f in &r.fields {
        let fpath = Path::Key(path, &f.name);
        match o.get(&f.name) {
            None | Some(Json::Null) if f.optional => fields.push(None),
            None => {
                return Err(DecodeError::of(
                    K::MissingField,
                    fpath.to_string(),
                    format!("missing required field ({})", schema.ty_name(&f.ty)),
                ));
            }
            Some(x) => fields.push(Some(decode_value(schema, x, &f.ty, &fpath, refs, depth, rules)?)),
        }
    }
    Ok(Value::Record(fields.into()))
}
