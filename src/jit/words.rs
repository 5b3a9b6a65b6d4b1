//! The flat, schema-derived data layout the native code reads, and the conversions between
//! interpreter [`Value`]s and machine words.
//!
//! Every value is one 64-bit word:
//!
//! * `Bool` 0/1; `Int`, `Duration` (ms), `Timestamp` (ms) as `i64`; enum values as their
//!   variant index; intents as their id, `none` as `u64::MAX`; actions as their id.
//! * `String`: an interned id. Ids are layered — the policy set's constants first, then
//!   strings of the entity store, then of the request, then strings made while deciding —
//!   and a lookup always searches the lower layers first, so equal strings always have equal
//!   ids and string equality is an integer comparison.
//! * Entity: `type << 40 | number`; numbers are given by the entity store (and, for inline
//!   entities, by the request), so `is` is a shift and equality an integer comparison.
//! * `Ip`: a pointer to an [`IpNet`]. `Set`: a pointer to `[len, w0, w1, …]`, elements in the
//!   order of [`Value`]'s `Ord` (the order the interpreter iterates). Record: a pointer to
//!   `[present0, w0, present1, w1, …]` in field order. Entity attributes use the record
//!   layout too.
//!
//! Storage for pointed-to words lives in arenas of boxed slices owned by the compiled policy
//! (constants), the [`JitStore`] (entities) or the [`Frame`] (one request), so addresses stay
//! valid as the arenas grow.
//!
//! `unsafe` here: reading the words a pointer word points at (`set_words`, `ip_ref`,
//! `Layers::decode`), `unsafe fn`s whose callers vouch that a word is of the type they say.
#![allow(unsafe_code)]

use crate::host::{Changes, EntityStore, Request};
use crate::ir::Ty;
use crate::ir::schema::{ActionId, EntityTypeId, IntentId};
use crate::ir::value::{EntityUid, IpNet, Value};
use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const TYPE_SHIFT: u32 = 40;
pub(crate) const NUMBER_MASK: u64 = (1 << TYPE_SHIFT) - 1;
pub(crate) const NONE_INTENT: u64 = u64::MAX;

/// Hash maps of the layout: keyed by strings and entities of the policy set, the store and
/// the request; foldhash is seeded per process, so request data cannot aim at collisions.
pub(crate) type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Storage that hands out stable addresses: items go into chunks whose capacity is fixed
/// when they are made, so a chunk never reallocates and nothing it holds ever moves. A reset
/// empties the chunks but keeps them, so a reused frame decodes without allocating.
#[derive(Debug)]
pub(crate) struct Arena<T> {
    chunks: Vec<Vec<T>>,
    /// The chunk being filled.
    cur: usize,
}

impl<T> Default for Arena<T> {
    fn default() -> Arena<T> {
        Arena { chunks: Vec::new(), cur: 0 }
    }
}

impl<T: Copy> Arena<T> {
    const FIRST_CHUNK: usize = 64;
    const MAX_CHUNK: usize = 1 << 16;

    /// Copies `items` in and returns the address of the first.
    pub fn push_slice(&mut self, items: &[T]) -> *const T {
        let n = items.len();
        while self.chunks.get(self.cur).is_some_and(|c| c.capacity() - c.len() < n) {
            self.cur += 1;
        }
        if self.cur >= self.chunks.len() {
            let grown = self.chunks.last().map_or(Self::FIRST_CHUNK, |c| (2 * c.capacity()).min(Self::MAX_CHUNK));
            self.chunks.push(Vec::with_capacity(n.max(grown)));
            self.cur = self.chunks.len() - 1;
        }
        let Some(c) = self.chunks.get_mut(self.cur) else { return std::ptr::null() };
        let start = c.len();
        // Within the capacity checked above: the chunk does not reallocate.
        c.extend_from_slice(items);
        c.as_ptr().wrapping_add(start)
    }

    /// How many items the arena holds.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }

    /// Empties every chunk, keeping the first few for the next request.
    pub fn reset(&mut self) {
        self.chunks.truncate(4);
        self.chunks.iter_mut().for_each(Vec::clear);
        self.cur = 0;
    }
}

/// The hash of a string, the same for every layer (one process-wide random seed), so a
/// lookup through several layers hashes once.
pub(crate) fn hash_str(s: &str) -> u64 {
    static STATE: std::sync::OnceLock<foldhash::fast::RandomState> = std::sync::OnceLock::new();
    std::hash::BuildHasher::hash_one(STATE.get_or_init(foldhash::fast::RandomState::default), s)
}

/// The strings of a layer, end to end in one buffer, numbered in order, with a hash index.
/// A reset keeps the buffers, so a reused frame interns a request's strings without
/// allocating.
#[derive(Debug, Default)]
pub(crate) struct Strings {
    text: String,
    /// Where each string ends in `text` (it starts where the previous one ends).
    ends: Vec<usize>,
    index: hashbrown::HashTable<usize>,
}

fn nth<'t>(text: &'t str, ends: &[usize], n: usize) -> Option<&'t str> {
    let start = match n.checked_sub(1) {
        Some(p) => *ends.get(p)?,
        None => 0,
    };
    text.get(start..*ends.get(n)?)
}

impl Strings {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn get(&self, n: usize) -> Option<&str> {
        nth(&self.text, &self.ends, n)
    }

    /// The number of `s`, whose [`hash_str`] is `hash`.
    pub fn find(&self, hash: u64, s: &str) -> Option<usize> {
        self.index.find(hash, |&n| self.get(n) == Some(s)).copied()
    }

    /// Adds `s` (the caller checked it is not here) and returns its number.
    pub fn push(&mut self, hash: u64, s: &str) -> usize {
        let n = self.ends.len();
        self.text.push_str(s);
        self.ends.push(self.text.len());
        let (text, ends) = (&self.text, &self.ends);
        self.index.insert_unique(hash, n, |&m| nth(text, ends, m).map_or(0, hash_str));
        n
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.index.clear();
    }
}

/// One layer of interned strings and entity numbers, with the arenas its words point into.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    /// The first string id of this layer.
    pub str_base: u64,
    pub strs: Strings,
    /// The first entity number of this layer.
    pub num_base: u64,
    pub uids: Vec<EntityUid>,
    pub nums: Map<EntityUid, u64>,
    pub words: Arena<u64>,
    pub ips: Arena<IpNet>,
}

impl Layer {
    pub fn new(str_base: u64, num_base: u64) -> Layer {
        Layer { str_base, num_base, ..Layer::default() }
    }

    /// Empties the layer for another request, keeping its storage.
    pub fn reset(&mut self, str_base: u64, num_base: u64) {
        self.str_base = str_base;
        self.num_base = num_base;
        self.strs.clear();
        if !self.uids.is_empty() {
            self.uids.clear();
            self.nums.clear();
        }
        self.words.reset();
        self.ips.reset();
    }

    pub fn str_end(&self) -> u64 {
        self.str_base + self.strs.len() as u64
    }

    pub fn num_end(&self) -> u64 {
        self.num_base + self.uids.len() as u64
    }

    /// The string of an id of this layer.
    pub fn str_of(&self, id: u64) -> Option<&str> {
        let i = id.checked_sub(self.str_base)?;
        self.strs.get(usize::try_from(i).ok()?)
    }

    /// The id of `s` (whose [`hash_str`] is `hash`) if this layer has it.
    pub fn find_str(&self, hash: u64, s: &str) -> Option<u64> {
        self.strs.find(hash, s).map(|n| self.str_base + n as u64)
    }

    /// A new string id in this layer (the caller checked no lower layer has the string).
    pub fn add_str(&mut self, hash: u64, s: &str) -> u64 {
        self.str_base + self.strs.push(hash, s) as u64
    }

    /// The entity of a word numbered in this layer.
    pub fn uid_of(&self, word: u64) -> Option<&EntityUid> {
        let i = (word & NUMBER_MASK).checked_sub(self.num_base)?;
        self.uids.get(usize::try_from(i).ok()?)
    }

    pub fn push_words(&mut self, w: &[u64]) -> u64 {
        self.words.push_slice(w) as u64
    }

    pub fn push_ip(&mut self, ip: IpNet) -> u64 {
        self.ips.push_slice(&[ip]) as u64
    }
}

/// A stack of layers, lowest first; new strings and entities go into the top one.
pub(crate) struct Layers<'a> {
    pub lower: [Option<&'a Layer>; 3],
    pub top: &'a mut Layer,
}

impl Layers<'_> {
    fn all(&self) -> impl Iterator<Item = &Layer> {
        self.lower.iter().flatten().copied().chain(std::iter::once(&*self.top))
    }

    pub fn intern_str(&mut self, s: &str) -> u64 {
        let h = hash_str(s);
        let found = self.all().find_map(|l| l.find_str(h, s));
        match found {
            Some(id) => id,
            None => self.top.add_str(h, s),
        }
    }

    pub fn str_of(&self, id: u64) -> Option<&str> {
        self.all().find_map(|l| l.str_of(id))
    }

    pub fn find_uid(&self, uid: &EntityUid) -> Option<u64> {
        self.all().find_map(|l| l.nums.get(uid).copied())
    }

    /// The word of an entity: its number, given a new one if no layer knows it.
    pub fn intern_uid(&mut self, uid: &EntityUid) -> u64 {
        if let Some(w) = self.find_uid(uid) {
            return w;
        }
        let n = self.top.num_end();
        let w = (u64::from(uid.ty.0) << TYPE_SHIFT) | (n & NUMBER_MASK);
        self.top.uids.push(uid.clone());
        self.top.nums.insert(uid.clone(), w);
        w
    }

    pub fn uid_of(&self, word: u64) -> Option<&EntityUid> {
        self.all().find_map(|l| l.uid_of(word))
    }

    /// The word of a value (of the type the checker gave it).
    pub fn encode(&mut self, v: &Value) -> u64 {
        match v {
            Value::Bool(b) => u64::from(*b),
            Value::Int(n) | Value::Duration(n) | Value::Timestamp(n) => *n as u64,
            Value::Str(s) => self.intern_str(s),
            Value::Ip(ip) => self.top.push_ip(*ip),
            Value::Set(items) => {
                let mut w = Vec::with_capacity(items.len() + 1);
                w.push(items.len() as u64);
                for i in items.iter() {
                    w.push(self.encode(i));
                }
                self.top.push_words(&w)
            }
            Value::Record(fields) => {
                let mut w = Vec::with_capacity(2 * fields.len());
                for f in fields.iter() {
                    match f {
                        Some(v) => {
                            w.push(1);
                            w.push(self.encode(v));
                        }
                        None => {
                            w.push(0);
                            w.push(0);
                        }
                    }
                }
                self.top.push_words(&w)
            }
            Value::Entity(uid) => self.intern_uid(uid),
            Value::Enum(_, i) => u64::from(*i),
            Value::Intent(i) => i.map_or(NONE_INTENT, |i| u64::from(i.0)),
            Value::Action(a) => u64::from(a.0),
        }
    }

    /// Stores words (a set or record built while deciding) in the top layer.
    pub fn alloc(&mut self, w: &[u64]) -> u64 {
        self.top.push_words(w)
    }

    /// The value of a word of type `ty`.
    ///
    /// # Safety
    /// `w` is a word of type `ty` laid out in these layers (or the constants, the store and
    /// the frame they sit on): a set, record or Ip word points into one of their arenas.
    pub unsafe fn decode(&self, w: u64, ty: &Ty) -> Option<Value> {
        Some(match ty {
            Ty::Bool => Value::Bool(w != 0),
            Ty::Int => Value::Int(w as i64),
            Ty::Duration => Value::Duration(w as i64),
            Ty::Timestamp => Value::Timestamp(w as i64),
            Ty::String => Value::Str(Arc::from(self.str_of(w)?)),
            // SAFETY: an Ip word (this function's contract).
            Ty::Ip => Value::Ip(*unsafe { ip_ref(w) }?),
            Ty::Set(elem) => {
                // SAFETY: a set word (this function's contract).
                let items = unsafe { set_words(w) }?;
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    // SAFETY: the items of a set of `elem` are words of type `elem`.
                    out.push(unsafe { self.decode(*i, elem) }?);
                }
                // Already in order: the words were stored sorted.
                Value::Set(out.into())
            }
            Ty::Record(r) => {
                let n = r.fields.len();
                // SAFETY: a record word (this function's contract) points at two words per
                // field of its type.
                let ws = unsafe { words_at(w, 2 * n) }?;
                let mut out = Vec::with_capacity(n);
                for (i, f) in r.fields.iter().enumerate() {
                    let present = *ws.get(2 * i)? != 0;
                    // SAFETY: a present field holds a word of the field's type.
                    let field = || unsafe { self.decode(*ws.get(2 * i + 1)?, &f.ty) };
                    out.push(if present { Some(field()?) } else { None });
                }
                Value::Record(out.into())
            }
            Ty::Entity(_) => Value::Entity(self.uid_of(w)?.clone()),
            Ty::Enum(e) => Value::Enum(*e, u32::try_from(w).ok()?),
            Ty::Intent => Value::Intent(if w == NONE_INTENT {
                None
            } else {
                Some(crate::ir::schema::IntentId(u32::try_from(w).ok()?))
            }),
            Ty::Action => Value::Action(crate::ir::schema::ActionId(u32::try_from(w).ok()?)),
            Ty::Never | Ty::Error => return None,
        })
    }
}

/// Words of a set: `[len, items…]`.
///
/// # Safety
/// `w` is 0 or a set word: it points at its length and that many items in an arena that
/// outlives `'a`.
pub(crate) unsafe fn set_words<'a>(w: u64) -> Option<&'a [u64]> {
    if w == 0 {
        return None;
    }
    // SAFETY: the function's contract: the length comes first.
    let len = unsafe { words_at(w, 1) }?.first().copied()?;
    // SAFETY: the function's contract: `len` items follow it.
    let all = unsafe { words_at(w, usize::try_from(len).ok()?.checked_add(1)?) }?;
    all.get(1..)
}

/// # Safety
/// `w` is 0 or points at `n` words in an arena that outlives `'a`.
unsafe fn words_at<'a>(w: u64, n: usize) -> Option<&'a [u64]> {
    if w == 0 {
        return None;
    }
    // SAFETY: the function's contract.
    Some(unsafe { std::slice::from_raw_parts(w as *const u64, n) })
}

/// # Safety
/// `w` is 0 or an Ip word: it points at a boxed `IpNet` in an arena that outlives `'a`.
pub(crate) unsafe fn ip_ref<'a>(w: u64) -> Option<&'a IpNet> {
    if w == 0 {
        return None;
    }
    // SAFETY: the function's contract.
    Some(unsafe { &*(w as *const IpNet) })
}

/// An entity as the native code sees it.
#[derive(Debug)]
pub(crate) struct EntRec {
    /// Record layout, two words per attribute.
    pub attrs: Box<[u64]>,
    /// Numbers (words) of the ancestors, sorted.
    pub ancestors: Box<[u64]>,
}

/// The entity store, laid out for one compiled policy set.
#[derive(Debug)]
pub struct JitStore {
    pub(crate) policy_id: u64,
    pub(crate) layer: Layer,
    /// Entity records by number (`None`: the uid is known — a parent, a constant — but has no
    /// entity in the store).
    pub(crate) recs: Vec<Option<EntRec>>,
    /// The words of the constants that mention entities, in the compiled policy's order.
    pub(crate) dep_consts: Box<[u64]>,
    /// The words of the entities intent envelopes name, in the order of
    /// [`ConstTables::env_uids`].
    pub(crate) env_words: Box<[u64]>,
    /// The stored entities by id, for decoding requests straight from JSON text: the words
    /// of the entities with that id (one per type that has it).
    pub(crate) by_id: Map<Arc<str>, Box<[u64]>>,
    /// The words and IPs in the arenas when the store was built: updates add to them (the
    /// old words of a changed set, record or IP attribute stay) until the store is laid out
    /// anew (see [`JitStore::worn`]).
    pub(crate) built: usize,
}

/// One request, laid out for one compiled policy set and store.
#[derive(Debug)]
pub struct Frame {
    pub(crate) policy_id: u64,
    pub(crate) store_ptr: usize,
    pub(crate) layer: Layer,
    pub(crate) principal: u64,
    pub(crate) resource: u64,
    pub(crate) action: u64,
    pub(crate) intent: u64,
    pub(crate) action_id: ActionId,
    pub(crate) intent_id: Option<IntentId>,
    pub(crate) context: u64,
    pub(crate) obo_set: u64,
    pub(crate) obo: Vec<u64>,
    /// Inline entities of the request, by word; they win over the store's.
    pub(crate) inline: HashMap<u64, EntRec>,
}

/// The policy set's constant layer and its constant values that mention entities.
#[derive(Debug)]
pub(crate) struct ConstTables {
    pub layer: Layer,
    /// Constants whose words depend on the entity store (they mention entities).
    pub dep_values: Vec<Value>,
    /// Every entity uid the constants and the intent envelopes mention.
    pub const_uids: Vec<EntityUid>,
    /// The entities intent envelopes name.
    pub env_uids: Vec<EntityUid>,
}

fn mentions_entity(v: &Value) -> bool {
    match v {
        Value::Entity(_) => true,
        Value::Set(items) => items.iter().any(mentions_entity),
        Value::Record(fs) => fs.iter().flatten().any(mentions_entity),
        _ => false,
    }
}

impl ConstTables {
    pub fn new() -> ConstTables {
        ConstTables { layer: Layer::new(0, 0), dep_values: Vec::new(), const_uids: Vec::new(), env_uids: Vec::new() }
    }

    /// How the native code gets a constant: a word, or an index into the store's
    /// store-dependent constants.
    pub fn constant(&mut self, v: &Value) -> ConstWord {
        if mentions_entity(v) {
            collect_uids(v, &mut self.const_uids);
            if let Some(i) = self.dep_values.iter().position(|x| x == v) {
                return ConstWord::Dep(i);
            }
            self.dep_values.push(v.clone());
            return ConstWord::Dep(self.dep_values.len() - 1);
        }
        let mut layers = Layers { lower: [None, None, None], top: &mut self.layer };
        ConstWord::Word(layers.encode(v))
    }

    pub fn intern(&mut self, s: &str) -> u64 {
        let mut layers = Layers { lower: [None, None, None], top: &mut self.layer };
        layers.intern_str(s)
    }

    /// An entity an intent envelope names: its index in `env_uids` (and `JitStore::env_words`).
    pub fn envelope_uid(&mut self, uid: &EntityUid) -> usize {
        collect_uids(&Value::Entity(uid.clone()), &mut self.const_uids);
        match self.env_uids.iter().position(|u| u == uid) {
            Some(i) => i,
            None => {
                self.env_uids.push(uid.clone());
                self.env_uids.len() - 1
            }
        }
    }
}

fn collect_uids(v: &Value, out: &mut Vec<EntityUid>) {
    match v {
        Value::Entity(u) if !out.contains(u) => out.push(u.clone()),
        Value::Entity(_) => {}
        Value::Set(items) => items.iter().for_each(|i| collect_uids(i, out)),
        Value::Record(fs) => fs.iter().flatten().for_each(|i| collect_uids(i, out)),
        _ => {}
    }
}

pub(crate) enum ConstWord {
    Word(u64),
    Dep(usize),
}

fn ent_rec(layers: &mut Layers<'_>, e: &crate::host::Entity) -> EntRec {
    let mut attrs = Vec::with_capacity(2 * e.attrs.len());
    for a in e.attrs.iter() {
        match a {
            Some(v) => {
                attrs.push(1);
                attrs.push(layers.encode(v));
            }
            None => {
                attrs.push(0);
                attrs.push(0);
            }
        }
    }
    let mut ancestors: Vec<u64> = e.ancestors.iter().map(|u| layers.intern_uid(u)).collect();
    ancestors.sort_unstable();
    EntRec { attrs: attrs.into(), ancestors: ancestors.into() }
}

impl JitStore {
    pub(crate) fn build(policy_id: u64, consts: &ConstTables, store: &EntityStore) -> JitStore {
        let mut layer = Layer::new(consts.layer.str_end(), 0);
        let mut layers = Layers { lower: [Some(&consts.layer), None, None], top: &mut layer };
        // Number every stored entity first, so records can be indexed by number.
        for e in store.iter() {
            layers.intern_uid(&e.uid);
        }
        let mut recs: Vec<Option<EntRec>> = Vec::new();
        let mut by_id: Map<Arc<str>, Vec<u64>> = Map::default();
        for e in store.iter() {
            let w = layers.intern_uid(&e.uid);
            let rec = ent_rec(&mut layers, e);
            let n = usize::try_from(w & NUMBER_MASK).unwrap_or(usize::MAX);
            if recs.len() <= n {
                recs.resize_with(n + 1, || None);
            }
            if let Some(slot) = recs.get_mut(n) {
                *slot = Some(rec);
                by_id.entry(e.uid.id.clone()).or_default().push(w);
            }
        }
        for u in &consts.const_uids {
            layers.intern_uid(u);
        }
        let dep: Vec<u64> = consts.dep_values.iter().map(|v| layers.encode(v)).collect();
        let env: Vec<u64> = consts.env_uids.iter().map(|u| layers.intern_uid(u)).collect();
        let by_id = by_id.into_iter().map(|(k, v)| (k, v.into_boxed_slice())).collect();
        let built = layer.words.len() + layer.ips.len();
        JitStore { policy_id, layer, recs, dep_consts: dep.into(), env_words: env.into(), by_id, built }
    }

    /// Lays out what an update of the entity store changed: the records of the changed
    /// entities anew (a new entity gets a number; a known uid keeps its number, so the
    /// constants' words stay valid), and the removed ones forgotten (their number stays a
    /// known uid without a record, like a parent the store does not hold).
    pub(crate) fn update(&mut self, consts: &ConstTables, store: &EntityStore, changes: &Changes) {
        let JitStore { layer, recs, by_id, .. } = self;
        let mut layers = Layers { lower: [Some(&consts.layer), None, None], top: layer };
        for uid in &changes.removed {
            let Some(w) = layers.find_uid(uid) else { continue };
            if let Some(slot) = usize::try_from(w & NUMBER_MASK).ok().and_then(|n| recs.get_mut(n)) {
                *slot = None;
            }
            if let Some(words) = by_id.get(&uid.id) {
                let rest: Box<[u64]> = words.iter().copied().filter(|x| *x != w).collect();
                if rest.is_empty() {
                    by_id.remove(&uid.id);
                } else {
                    by_id.insert(uid.id.clone(), rest);
                }
            }
        }
        for uid in &changes.changed {
            let Some(e) = store.get(uid) else { continue };
            let w = layers.intern_uid(uid);
            let rec = ent_rec(&mut layers, e);
            let n = usize::try_from(w & NUMBER_MASK).unwrap_or(usize::MAX);
            if recs.len() <= n {
                recs.resize_with(n.saturating_add(1), || None);
            }
            if let Some(slot) = recs.get_mut(n) {
                *slot = Some(rec);
            }
            let words = by_id.entry(uid.id.clone()).or_default();
            if !words.contains(&w) {
                let mut v = words.to_vec();
                v.push(w);
                *words = v.into();
            }
        }
    }

    /// Whether updates have more than doubled the arenas (past a floor of 64 Ki items): the
    /// old words of replaced attributes may then be most of them, and the store is worth
    /// laying out anew. Attributes that are numbers, booleans, strings (interned once),
    /// enums or entities add nothing, so most updates never wear the store.
    pub(crate) fn worn(&self) -> bool {
        self.layer.words.len() + self.layer.ips.len() > 2 * self.built + 65_536
    }

    pub(crate) fn rec(&self, word: u64) -> Option<&EntRec> {
        let n = usize::try_from(word & NUMBER_MASK).ok()?;
        self.recs.get(n)?.as_ref()
    }

    /// The word of the stored entity `ty::id`.
    pub(crate) fn stored(&self, ty: EntityTypeId, id: &str) -> Option<u64> {
        self.by_id.get(id)?.iter().copied().find(|w| w >> TYPE_SHIFT == u64::from(ty.0))
    }
}

impl Frame {
    /// An empty frame, for [`Frame::reset`] and a decoder to fill.
    pub(crate) fn empty() -> Frame {
        Frame {
            policy_id: 0,
            store_ptr: 0,
            layer: Layer::default(),
            principal: 0,
            resource: 0,
            action: 0,
            intent: NONE_INTENT,
            action_id: ActionId(0),
            intent_id: None,
            context: 0,
            obo_set: 0,
            obo: Vec::new(),
            inline: HashMap::new(),
        }
    }

    /// Empties the frame for a request laid out against `store` (keeping its storage).
    pub(crate) fn reset(&mut self, policy_id: u64, store: &JitStore) {
        self.policy_id = policy_id;
        self.store_ptr = store as *const JitStore as usize;
        self.layer.reset(store.layer.str_end(), store.layer.num_end());
        self.obo.clear();
        self.inline.clear();
    }

    pub(crate) fn build(policy_id: u64, consts: &ConstTables, store: &JitStore, req: &Request) -> Frame {
        let mut layer = Layer::new(store.layer.str_end(), store.layer.num_end());
        let mut layers = Layers { lower: [Some(&consts.layer), Some(&store.layer), None], top: &mut layer };
        // The store numbered every entity the constants mention, so an inline entity that a
        // constant names gets the constant's number and the constants stay valid.
        let mut inline = HashMap::new();
        for e in req.entities.iter() {
            let w = layers.intern_uid(&e.uid);
            let rec = ent_rec(&mut layers, e);
            inline.insert(w, rec);
        }
        let principal = layers.intern_uid(&req.principal);
        let resource = layers.intern_uid(&req.resource);
        let context = layers.encode(&req.context);
        let obo: Vec<u64> = req.on_behalf_of.iter().map(|u| layers.intern_uid(u)).collect();
        let obo_set = layers.encode(&Value::set(req.on_behalf_of.iter().cloned().map(Value::Entity).collect()));
        Frame {
            policy_id,
            store_ptr: store as *const JitStore as usize,
            layer,
            principal,
            resource,
            action: u64::from(req.action.0),
            intent: req.intent.map_or(NONE_INTENT, |i| u64::from(i.0)),
            action_id: req.action,
            intent_id: req.intent,
            context,
            obo_set,
            obo,
            inline,
        }
    }
}
