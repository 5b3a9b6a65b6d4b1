//! The entity store: entities with typed attributes and parents, their transitive
//! ancestors precomputed so `in` is a binary search.

use super::Json;
use super::json::Object;
use super::{DecodeError, decode_record, decode_uid, got, join};
use crate::ir::schema::Schema;
use crate::ir::value::{EntityUid, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One entity.
#[derive(Clone, Debug, PartialEq)]
pub struct Entity {
    pub uid: EntityUid,
    /// In the order of the entity type's attributes (sorted by name); `None` if absent.
    pub attrs: Arc<[Option<Value>]>,
    pub parents: Vec<EntityUid>,
    /// Every entity this one is (transitively) in, itself excluded. Sorted.
    pub ancestors: Vec<EntityUid>,
}

impl Entity {
    /// `self in other`: equal, or `other` is an ancestor.
    pub fn is_in(&self, other: &EntityUid) -> bool {
        self.uid == *other || self.ancestors.binary_search(other).is_ok()
    }
}

/// Entities by uid.
#[derive(Clone, Debug, Default)]
pub struct EntityStore {
    map: HashMap<EntityUid, Entity>,
}

impl EntityStore {
    pub fn new() -> EntityStore {
        EntityStore::default()
    }

    pub fn get(&self, uid: &EntityUid) -> Option<&Entity> {
        self.map.get(uid)
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entity> {
        self.map.values()
    }

    /// Decodes a JSON array of entities. Entity references in attributes must name
    /// entities of this store (or of `base`, for inline entities of a request).
    pub fn from_json(schema: &Schema, text: &str) -> Result<EntityStore, DecodeError> {
        let v = super::parse_json(text, "the entities file")?;
        EntityStore::from_value(schema, &v, "", None)
    }

    /// Decodes entities from a JSON array at `path`; `base` is the store they overlay.
    pub fn from_value(
        schema: &Schema,
        v: &Json,
        path: &str,
        base: Option<&EntityStore>,
    ) -> Result<EntityStore, DecodeError> {
        let Json::Array(items) = v else {
            let p = if path.is_empty() { "(entities)" } else { path };
            return Err(DecodeError::new(p, format!("expected an array of entities, got {}", got(v))));
        };
        let mut store = EntityStore::new();
        let mut refs = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let e = decode_entity(schema, item, &ipath, &mut refs)?;
            if store.map.contains_key(&e.uid) {
                return Err(DecodeError::new(
                    ipath,
                    format!("entity {}::{:?} appears twice", schema.entity_name(e.uid.ty), &*e.uid.id),
                ));
            }
            store.map.insert(e.uid.clone(), e);
        }
        for (uid, p) in refs {
            if store.get(&uid).is_none() && base.is_none_or(|b| b.get(&uid).is_none()) {
                return Err(unknown_entity(schema, &p, &uid));
            }
        }
        store.compute_ancestors(base);
        Ok(store)
    }

    /// Computes every entity's transitive ancestors (cycle-safe), following parents through
    /// this store first and then `base`.
    fn compute_ancestors(&mut self, base: Option<&EntityStore>) {
        let parents_of = |store: &EntityStore, uid: &EntityUid| -> Vec<EntityUid> {
            store
                .map
                .get(uid)
                .or_else(|| base.and_then(|b| b.map.get(uid)))
                .map(|e| e.parents.clone())
                .unwrap_or_default()
        };
        let uids: Vec<EntityUid> = self.map.keys().cloned().collect();
        let mut result = Vec::with_capacity(uids.len());
        for uid in uids {
            let mut seen: std::collections::HashSet<EntityUid> = std::collections::HashSet::new();
            let mut stack = parents_of(self, &uid);
            while let Some(p) = stack.pop() {
                if p == uid || !seen.insert(p.clone()) {
                    continue;
                }
                stack.extend(parents_of(self, &p));
            }
            let mut anc: Vec<EntityUid> = seen.into_iter().collect();
            anc.sort();
            result.push((uid, anc));
        }
        for (uid, anc) in result {
            if let Some(e) = self.map.get_mut(&uid) {
                e.ancestors = anc;
            }
        }
    }
}

pub(crate) fn unknown_entity(schema: &Schema, path: &str, uid: &EntityUid) -> DecodeError {
    DecodeError::new(path, format!("unknown entity {}::{:?}", schema.entity_name(uid.ty), &*uid.id))
}

fn decode_entity(
    schema: &Schema,
    v: &Json,
    path: &str,
    refs: &mut Vec<(EntityUid, String)>,
) -> Result<Entity, DecodeError> {
    let Json::Object(o) = v else {
        return Err(DecodeError::new(path, format!("expected an entity object, got {}", got(v))));
    };
    if let Some(k) = o.first_unknown(|k| matches!(k, "type" | "id" | "attrs" | "parents")) {
        return Err(DecodeError::new(
            join(path, k),
            "unknown field in an entity (it has `type`, `id`, `attrs`, `parents`)",
        ));
    }
    let uid = decode_uid(schema, &Json::Object(o.only(&["type", "id"])), path)?;
    let Some(ety) = schema.entity(uid.ty) else {
        return Err(DecodeError::new(join(path, "type"), "unknown entity type"));
    };
    let empty = Json::Object(Object::default());
    let attrs_json = o.get("attrs").unwrap_or(&empty);
    let apath = join(path, "attrs");
    let attrs = match decode_record(schema, attrs_json, &ety.attrs, &super::Path::At(&apath), refs, 1)? {
        Value::Record(fields) => fields,
        _ => Arc::from(Vec::new()),
    };
    let mut parents = Vec::new();
    match o.get("parents") {
        None | Some(Json::Null) => {}
        Some(Json::Array(ps)) => {
            for (i, p) in ps.iter().enumerate() {
                let ppath = format!("{}[{i}]", join(path, "parents"));
                let puid = decode_uid(schema, p, &ppath)?;
                if !ety.parents.contains(&puid.ty) {
                    let allowed: Vec<&str> = ety.parents.iter().map(|t| schema.entity_name(*t)).collect();
                    let allowed = if allowed.is_empty() { "none".to_string() } else { allowed.join(" | ") };
                    return Err(DecodeError::new(
                        ppath,
                        format!(
                            "a `{}` cannot be in a `{}` (the schema allows: {allowed})",
                            ety.name,
                            schema.entity_name(puid.ty)
                        ),
                    ));
                }
                parents.push(puid);
            }
        }
        Some(other) => {
            return Err(DecodeError::new(join(path, "parents"), format!("expected an array, got {}", got(other))));
        }
    }
    Ok(Entity { uid, attrs, parents, ancestors: Vec::new() })
}
