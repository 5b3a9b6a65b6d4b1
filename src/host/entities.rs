//! The entity store: entities with typed attributes and parents, their transitive
//! ancestors precomputed so `in` is a binary search. The ancestors are computed once per
//! strongly connected component of the parent graph, in topological order (Tarjan), so the
//! work is linear in the size of the result; the hierarchy's depth is bounded
//! ([`Limits::max_hierarchy_depth`]), which bounds that result.

use super::Json;
use super::json::Object;
use super::{DecodeError, DecodeErrorKind as K, Limits, decode_record, decode_uid, got, join};
use crate::ir::schema::Schema;
use crate::ir::value::{EntityUid, Value};
use std::collections::{HashMap, HashSet};
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
    /// Parent steps along its longest chain of parents (see [`Limits::max_hierarchy_depth`]).
    pub depth: usize,
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
    /// The entities that name each uid as a parent (whether or not the parent is an entity
    /// here: a parent without an entity is a label of the hierarchy). Never an empty set.
    children: HashMap<EntityUid, HashSet<EntityUid>>,
    /// How many attribute values of the entities here refer to each uid (an entity so
    /// referred to may not be removed).
    referenced: HashMap<EntityUid, u32>,
}

/// What an update changed: the entities whose record (attributes or ancestors) is new, and
/// the ones removed. The JIT's layout of the store is updated from it.
#[derive(Debug, Default)]
pub struct Changes {
    pub changed: Vec<EntityUid>,
    pub removed: Vec<EntityUid>,
}

/// Calls `f` on every entity reference in a value.
fn each_ref(v: &Value, f: &mut impl FnMut(&EntityUid)) {
    match v {
        Value::Entity(u) => f(u),
        Value::Set(items) => items.iter().for_each(|i| each_ref(i, f)),
        Value::Record(fs) => fs.iter().flatten().for_each(|i| each_ref(i, f)),
        _ => {}
    }
}

impl EntityStore {
    pub fn new() -> EntityStore {
        EntityStore::default()
    }

    pub fn get(&self, uid: &EntityUid) -> Option<&Entity> {
        self.map.get(uid)
    }

    /// Whether the store holds facts about `uid`: it is an entity here, or a parent that
    /// some entity here names (a label without attributes or parents of its own).
    pub fn knows(&self, uid: &EntityUid) -> bool {
        self.map.contains_key(uid) || self.children.contains_key(uid)
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

    /// Decodes a JSON array of entities with the default [`Limits`].
    pub fn from_json(schema: &Schema, text: &str) -> Result<EntityStore, DecodeError> {
        EntityStore::from_json_with(schema, text, &Limits::DEFAULT)
    }

    /// Decodes a JSON array of entities. Entity references in attributes must name
    /// entities of this store.
    pub fn from_json_with(schema: &Schema, text: &str, limits: &Limits) -> Result<EntityStore, DecodeError> {
        let v = super::parse_json(text, "the entities file")?;
        EntityStore::from_value(schema, &v, "", None, limits, true)
    }

    /// Decodes entities from a JSON array at `path`; `base` is the store they overlay
    /// (for the inline entities of a request: references may also name its entities).
    /// `ip_ranges`: whether an `Ip` attribute may hold a range (the store's, written by the
    /// host) or only an address (a request's, unless the host allows ranges there).
    pub fn from_value(
        schema: &Schema,
        v: &Json,
        path: &str,
        base: Option<&EntityStore>,
        limits: &Limits,
        ip_ranges: bool,
    ) -> Result<EntityStore, DecodeError> {
        let Json::Array(items) = v else {
            let p = if path.is_empty() { "(entities)" } else { path };
            return Err(DecodeError::of(K::WrongType, p, format!("expected an array of entities, got {}", got(v))));
        };
        let mut store = EntityStore::new();
        let mut refs = Vec::new();
        let mut order = Vec::with_capacity(items.len());
        let rules = super::Rules { limits, ip_ranges };
        for (i, item) in items.iter().enumerate() {
            let ipath = format!("{path}[{i}]");
            let e = decode_entity(schema, item, &ipath, &mut refs, &rules)?;
            if store.map.contains_key(&e.uid) {
                return Err(DecodeError::of(
                    K::DuplicateEntity,
                    ipath,
                    format!("entity {}::{:?} appears twice", schema.entity_name(e.uid.ty), &*e.uid.id),
                ));
            }
            order.push(e.uid.clone());
            store.map.insert(e.uid.clone(), e);
        }
        for (uid, p) in &refs {
            if store.get(uid).is_none() && base.is_none_or(|b| b.get(uid).is_none()) {
                return Err(unknown_entity(schema, p, uid));
            }
        }
        for e in store.map.values() {
            for p in &e.parents {
                store.children.entry(p.clone()).or_default().insert(e.uid.clone());
            }
        }
        for (uid, _) in &refs {
            *store.referenced.entry(uid.clone()).or_default() += 1;
        }
        if let Err((uid, depth)) = store.compute_ancestors(base, limits.max_hierarchy_depth) {
            let i = order.iter().position(|u| *u == uid).unwrap_or(0);
            return Err(DecodeError::of(
                K::Limit,
                format!("{path}[{i}]"),
                format!(
                    "entity {}::{:?} is {depth} parent steps deep; the hierarchy depth limit is {}",
                    schema.entity_name(uid.ty),
                    &*uid.id,
                    limits.max_hierarchy_depth
                ),
            ));
        }
        Ok(store)
    }

    /// Computes every entity's transitive ancestors and depth (cycle-safe), following parents
    /// through this store first and then `base` (whose ancestors are taken as computed: the
    /// caller walks the hierarchy instead when this store changes what `base` knows). Each
    /// strongly connected component is done once, after every component above it, from its
    /// parents' results. An entity deeper than `max_depth`: its uid and depth.
    #[expect(clippy::indexing_slicing, reason = "every index is below the node count it indexes, by construction")]
    fn compute_ancestors(&mut self, base: Option<&EntityStore>, max_depth: usize) -> Result<(), (EntityUid, usize)> {
        let uids: Vec<EntityUid> = self.map.keys().cloned().collect();
        let n = uids.len();
        let index: HashMap<&EntityUid, usize> = uids.iter().zip(0..).collect();
        let parents: Vec<&[EntityUid]> =
            uids.iter().map(|u| self.map.get(u).map_or(&[][..], |e| e.parents.as_slice())).collect();
        let edges: Vec<Vec<usize>> =
            parents.iter().map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect()).collect();

        // Tarjan's algorithm, iteratively: components come out after every component they
        // reach, so parents before children.
        const NEW: usize = usize::MAX;
        let (mut num, mut low, mut on_stack) = (vec![NEW; n], vec![0; n], vec![false; n]);
        // The search stack, the call stack (node, next edge), the components found.
        let mut stack: Vec<usize> = Vec::new();
        let mut calls: Vec<(usize, usize)> = Vec::new();
        let mut comps: Vec<Vec<usize>> = Vec::new();
        let mut next = 0;
        for root in 0..n {
            if num[root] != NEW {
                continue;
            }
            num[root] = next;
            low[root] = next;
            next += 1;
            stack.push(root);
            on_stack[root] = true;
            calls.push((root, 0));
            while let Some((v, e)) = calls.last().copied() {
                if let Some(&w) = edges[v].get(e) {
                    if let Some(c) = calls.last_mut() {
                        c.1 += 1;
                    }
                    if num[w] == NEW {
                        num[w] = next;
                        low[w] = next;
                        next += 1;
                        stack.push(w);
                        on_stack[w] = true;
                        calls.push((w, 0));
                    } else if on_stack[w] {
                        low[v] = low[v].min(num[w]);
                    }
                    continue;
                }
                calls.pop();
                if let Some(&(u, _)) = calls.last() {
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == num[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    comps.push(comp);
                }
            }
        }

        let mut comp_of = vec![0; n];
        for (c, members) in comps.iter().enumerate() {
            for &m in members {
                comp_of[m] = c;
            }
        }
        let mut comp_anc: Vec<Vec<EntityUid>> = Vec::with_capacity(comps.len());
        let mut comp_depth: Vec<usize> = Vec::with_capacity(comps.len());
        for (c, members) in comps.iter().enumerate() {
            let mut anc: Vec<EntityUid> = Vec::new();
            let mut depth = 0;
            for &m in members {
                for p in parents[m] {
                    anc.push(p.clone());
                    match index.get(p) {
                        Some(&pi) if comp_of[pi] == c => {}
                        Some(&pi) => {
                            let pc = comp_of[pi];
                            anc.extend(comp_anc[pc].iter().cloned());
                            depth = depth.max(comp_depth[pc] + 1);
                        }
                        None => match base.and_then(|b| b.get(p)) {
                            Some(e) => {
                                anc.extend(e.ancestors.iter().cloned());
                                depth = depth.max(e.depth + 1);
                            }
                            None => depth = depth.max(1),
                        },
                    }
                }
            }
            depth += members.len().saturating_sub(1);
            if depth > max_depth {
                if let Some(first) = members.iter().map(|&m| &uids[m]).min() {
                    return Err((first.clone(), depth));
                }
            }
            anc.sort_unstable();
            anc.dedup();
            comp_anc.push(anc);
            comp_depth.push(depth);
        }
        for (c, members) in comps.iter().enumerate() {
            let mut anc = std::mem::take(&mut comp_anc[c]);
            let (depth, last) = (comp_depth[c], members.len().saturating_sub(1));
            for (k, &m) in members.iter().enumerate() {
                if let Some(e) = self.map.get_mut(&uids[m]) {
                    // The last member takes the list; the others of a cycle copy it.
                    e.ancestors = if k == last { std::mem::take(&mut anc) } else { anc.clone() };
                    e.ancestors.retain(|a| *a != e.uid);
                    e.depth = depth;
                }
            }
        }
        Ok(())
    }

    /// Adds or replaces entities — a JSON array of them, or one entity object — all or
    /// nothing. A replaced entity takes its new attributes and parents whole. Entity
    /// references in attributes must name entities of the store or of the update. The
    /// ancestors of the updated entities and of their descendants are recomputed (only
    /// theirs: an attribute change recomputes none), within the hierarchy depth limit.
    pub fn upsert(&mut self, schema: &Schema, v: &Json, limits: &Limits) -> Result<Changes, DecodeError> {
        let items: Vec<(String, &Json)> = match v {
            Json::Array(items) => items.iter().enumerate().map(|(i, item)| (format!("[{i}]"), item)).collect(),
            Json::Object(_) => vec![(String::new(), v)],
            other => {
                return Err(DecodeError::of(
                    K::WrongType,
                    "(entities)",
                    format!("expected an entity object or an array of entities, got {}", got(other)),
                ));
            }
        };
        let rules = super::Rules { limits, ip_ranges: true };
        let mut refs = Vec::new();
        let mut batch: HashMap<EntityUid, Entity> = HashMap::with_capacity(items.len());
        let mut order = Vec::with_capacity(items.len());
        for (path, item) in &items {
            let shown = if path.is_empty() { "(entity)" } else { path.as_str() };
            let e = decode_entity(schema, item, path, &mut refs, &rules)?;
            if batch.contains_key(&e.uid) {
                return Err(DecodeError::of(
                    K::DuplicateEntity,
                    shown,
                    format!("entity {}::{:?} appears twice", schema.entity_name(e.uid.ty), &*e.uid.id),
                ));
            }
            order.push((e.uid.clone(), shown.to_string()));
            batch.insert(e.uid.clone(), e);
        }
        for (uid, p) in &refs {
            if !batch.contains_key(uid) && !self.map.contains_key(uid) {
                return Err(unknown_entity(schema, p, uid));
            }
        }
        // The entities whose ancestors may change: each updated entity whose parents change
        // (a new one too: stored entities may name it as a parent), and everything below.
        // The others of the update keep their ancestors: an attribute change recomputes none.
        let mut seen: HashSet<EntityUid> = HashSet::new();
        let mut below: Vec<EntityUid> = Vec::new();
        for (uid, e) in &batch {
            if self.map.get(uid).is_none_or(|old| old.parents != e.parents) {
                if seen.insert(uid.clone()) {
                    below.push(uid.clone());
                }
                self.descendants(uid, &mut seen, &mut below);
            }
        }
        let mut sub = EntityStore::new();
        for uid in &below {
            if let Some(e) = batch.get(uid).cloned().or_else(|| self.map.get(uid).cloned()) {
                sub.map.insert(uid.clone(), e);
            }
        }
        if let Err((uid, depth)) = sub.compute_ancestors(Some(&*self), limits.max_hierarchy_depth) {
            let at = order.iter().find(|(u, _)| *u == uid).map_or("(entities)", |(_, p)| p.as_str());
            return Err(DecodeError::of(
                K::Limit,
                at,
                format!(
                    "entity {}::{:?} would be {depth} parent steps deep; the hierarchy depth limit is {}",
                    schema.entity_name(uid.ty),
                    &*uid.id,
                    limits.max_hierarchy_depth
                ),
            ));
        }
        for (uid, e) in &batch {
            if !sub.map.contains_key(uid) {
                let mut e = e.clone();
                if let Some(old) = self.map.get(uid) {
                    e.ancestors = old.ancestors.clone();
                    e.depth = old.depth;
                }
                sub.map.insert(uid.clone(), e);
            }
        }
        // Commit: indexes first (they need the old entities), then the entities.
        for uid in batch.keys() {
            if let Some(old) = self.map.get(uid) {
                let (parents, attrs) = (old.parents.clone(), old.attrs.clone());
                self.unlink(uid, &parents, &attrs);
            }
        }
        for e in batch.values() {
            for p in &e.parents {
                self.children.entry(p.clone()).or_default().insert(e.uid.clone());
            }
            for a in e.attrs.iter().flatten() {
                each_ref(a, &mut |u| *self.referenced.entry(u.clone()).or_default() += 1);
            }
        }
        let changed: Vec<EntityUid> = sub.map.keys().cloned().collect();
        self.map.extend(sub.map);
        Ok(Changes { changed, removed: Vec::new() })
    }

    /// Removes an entity. Entities that name it as a parent keep it as a label of the
    /// hierarchy (it stays in their ancestors, its own ancestors leave them); one that an
    /// attribute of another entity refers to cannot be removed. `Ok` with no changes when
    /// the store does not hold it.
    pub fn remove(&mut self, schema: &Schema, uid: &EntityUid, limits: &Limits) -> Result<Changes, DecodeError> {
        let Some(old) = self.map.get(uid) else { return Ok(Changes::default()) };
        if self.referenced.get(uid).is_some_and(|n| *n > 0) {
            return Err(DecodeError::of(
                K::Other,
                "(entity)",
                format!(
                    "entity {}::{:?} is referred to by an attribute of another entity; update that entity first",
                    schema.entity_name(uid.ty),
                    &*uid.id
                ),
            ));
        }
        let (parents, attrs) = (old.parents.clone(), old.attrs.clone());
        let mut seen = HashSet::from([uid.clone()]);
        let mut below = Vec::new();
        self.descendants(uid, &mut seen, &mut below);
        self.unlink(uid, &parents, &attrs);
        self.map.remove(uid);
        let mut part = EntityStore::new();
        for u in &below {
            if let Some(e) = self.map.remove(u) {
                part.map.insert(u.clone(), e);
            }
        }
        // Removing an entity only shortens chains, so the depth limit cannot be exceeded.
        let _ = part.compute_ancestors(Some(&*self), limits.max_hierarchy_depth.max(usize::MAX / 2));
        let changed: Vec<EntityUid> = part.map.keys().cloned().collect();
        self.map.extend(part.map);
        Ok(Changes { changed, removed: vec![uid.clone()] })
    }

    /// Every entity below `uid` (children, their children, …) not yet in `seen`, appended.
    fn descendants(&self, uid: &EntityUid, seen: &mut HashSet<EntityUid>, out: &mut Vec<EntityUid>) {
        let mut stack = vec![uid.clone()];
        while let Some(u) = stack.pop() {
            for c in self.children.get(&u).into_iter().flatten() {
                if seen.insert(c.clone()) {
                    out.push(c.clone());
                    stack.push(c.clone());
                }
            }
        }
    }

    /// Takes an entity's parents and attribute references out of the indexes.
    fn unlink(&mut self, uid: &EntityUid, parents: &[EntityUid], attrs: &[Option<Value>]) {
        for p in parents {
            if let Some(list) = self.children.get_mut(p) {
                list.remove(uid);
                if list.is_empty() {
                    self.children.remove(p);
                }
            }
        }
        for a in attrs.iter().flatten() {
            each_ref(a, &mut |u| {
                if let Some(n) = self.referenced.get_mut(u) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        self.referenced.remove(u);
                    }
                }
            });
        }
    }
}

pub(crate) fn unknown_entity(schema: &Schema, path: &str, uid: &EntityUid) -> DecodeError {
    DecodeError::of(K::UnknownEntity, path, format!("unknown entity {}::{:?}", schema.entity_name(uid.ty), &*uid.id))
}

fn decode_entity(
    schema: &Schema,
    v: &Json,
    path: &str,
    refs: &mut Vec<(EntityUid, String)>,
    rules: &super::Rules<'_>,
) -> Result<Entity, DecodeError> {
    let Json::Object(o) = v else {
        return Err(DecodeError::of(K::WrongType, path, format!("expected an entity object, got {}", got(v))));
    };
    super::no_duplicate(o, path)?;
    if let Some(k) = o.first_unknown(|k| matches!(k, "type" | "id" | "attrs" | "parents")) {
        return Err(DecodeError::of(
            K::UnknownField,
            join(path, k),
            "unknown field in an entity (it has `type`, `id`, `attrs`, `parents`)",
        ));
    }
    let uid = decode_uid(schema, &Json::Object(o.only(&["type", "id"])), path)?;
    let Some(ety) = schema.entity(uid.ty) else {
        return Err(DecodeError::of(K::UnknownType, join(path, "type"), "unknown entity type"));
    };
    let empty = Json::Object(Object::default());
    let attrs_json = o.get("attrs").unwrap_or(&empty);
    let apath = join(path, "attrs");
    let attrs = match decode_record(schema, attrs_json, &ety.attrs, &super::Path::At(&apath), refs, 1, rules)? {
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
                    return Err(DecodeError::of(
                        K::WrongType,
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
            return Err(DecodeError::of(
                K::WrongType,
                join(path, "parents"),
                format!("expected an array, got {}", got(other)),
            ));
        }
    }
    Ok(Entity { uid, attrs, parents, ancestors: Vec::new(), depth: 0 })
}
