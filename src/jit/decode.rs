//! Requests decoded straight from JSON text into a [`Frame`]: the fast path of
//! `Engine::decide_json`, with no JSON tree and no [`crate::host::Request`] in between.
//!
//! The decoder only takes the common shape of a well-formed request and gives up (`None`)
//! on everything else: any error at all, escapes in strings, numbers that are not plain
//! integers, duplicate keys, inline entities, a `context` before the `action`, sets of more
//! than [`FAST_MAX_SET`] items, IP ranges where host data holds addresses. The caller
//! then decodes the ordinary way (`host::Request`), which names the JSON path of an error and
//! handles the rest. So this decoder never decides what is an error: it must only accept no
//! request that the ordinary decoder rejects, and lay out the ones it accepts exactly as
//! [`Frame::build`] does — `tests/differential.rs` checks both on every generated request.

use super::Compiled;
use super::words::{Frame, JitStore, Layer, Layers, NONE_INTENT, TYPE_SHIFT};
use crate::host::{FAST_MAX_SET, MAX_JSON_DEPTH};
use crate::ir::schema::{ActionId, EntityTypeId, IntentId, Schema};
use crate::ir::value::{IpNet, parse_timestamp};
use crate::ir::{RecordTy, Ty};
use crate::literal::parse_duration;
use std::cmp::Ordering;

/// Lays out `text` in `frame` (reset for `store`), or `None` to leave it to the ordinary
/// decoder.
pub(crate) fn request(c: &Compiled, store: &JitStore, text: &str, frame: &mut Frame) -> Option<()> {
    let mut d = Decoder { schema: &c.policy.schema, consts: &c.consts.layer, store, frame };
    let mut sc = Scan { text, b: text.as_bytes(), i: 0 };
    let mut seen = 0u8;
    let (mut principal, mut resource, mut action, mut intent, mut context) = (None, None, None, None, None);
    const KEYS: [&[u8]; 7] =
        [b"principal", b"action", b"resource", b"intent", b"context", b"on_behalf_of", b"entities"];
    sc.object(
        |sc| sc.key_of(&KEYS),
        |sc, k| {
            let bit = 1u8 << k;
            if seen & bit != 0 {
                return None;
            }
            seen |= bit;
            match bit {
                1 => principal = Some(d.entity(sc)?),
                2 => action = Some(action_name(d.schema, sc)?),
                4 => resource = Some(d.entity(sc)?),
                8 => intent = Some(if sc.null() { None } else { intent_name(d.schema, sc)? }),
                16 => {
                    let act = d.schema.action(action?)?;
                    context = Some(d.record(sc, &act.context, 1)?);
                }
                32 => {
                    if !sc.null() {
                        sc.array(|sc| {
                            let (_, _, w) = d.entity(sc)?;
                            d.frame.obo.push(w);
                            Some(())
                        })?;
                    }
                }
                _ => {
                    // Inline entities: only none at all is taken here.
                    if !sc.null() {
                        sc.array(|_| None)?;
                    }
                }
            }
            Some(())
        },
    )?;
    sc.end()?;
    let action: ActionId = action?;
    let act = d.schema.action(action)?;
    let ((pt, _, principal), (rt, _, resource)) = (principal?, resource?);
    if !act.principals.contains(&pt) || !act.resources.contains(&rt) {
        return None;
    }
    if d.frame.obo.iter().any(|w| !act.principals.iter().any(|t| u64::from(t.0) == w >> TYPE_SHIFT)) {
        return None;
    }
    let context = match context {
        Some(w) => w,
        // No context: the same as `{}`, which needs every field to be optional.
        None if act.context.fields.iter().all(|f| f.optional) => {
            d.frame.layer.push_words(&vec![0; 2 * act.context.fields.len()])
        }
        None => return None,
    };
    let intent: Option<IntentId> = intent.flatten();
    let frame = &mut *d.frame;
    frame.principal = principal;
    frame.resource = resource;
    frame.action = u64::from(action.0);
    frame.action_id = action;
    frame.intent = intent.map_or(NONE_INTENT, |i| u64::from(i.0));
    frame.intent_id = intent;
    frame.context = context;
    // The chain as a set: sorted and deduplicated as entity values are (type, then id).
    frame.obo_set = match frame.obo.as_slice() {
        [] => frame.layer.push_words(&[0]),
        [w] => frame.layer.push_words(&[1, *w]),
        chain => {
            let mut sorted: Vec<(&crate::ir::value::EntityUid, u64)> =
                chain.iter().map(|w| Some((store.layer.uid_of(*w)?, *w))).collect::<Option<_>>()?;
            sorted.sort();
            sorted.dedup();
            let mut set = Vec::with_capacity(sorted.len() + 1);
            set.push(sorted.len() as u64);
            set.extend(sorted.iter().map(|(_, w)| *w));
            frame.layer.push_words(&set)
        }
    };
    Some(())
}

/// The bytes of a JSON text and a position in them.
struct Scan<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
}

impl<'a> Scan<'a> {
    /// The next byte that is not JSON whitespace.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        match self.b.get(self.i) {
            Some(&c) if c > b' ' => Some(c),
            // One space (after `:` and `,`), without a call.
            Some(b' ') => match self.b.get(self.i + 1) {
                Some(&c) if c > b' ' => {
                    self.i += 1;
                    Some(c)
                }
                _ => self.skip_space(),
            },
            _ => self.skip_space(),
        }
    }

    /// Skips whitespace.
    #[inline(never)]
    fn skip_space(&mut self) -> Option<u8> {
        let mut i = self.i;
        while let Some(&c) = self.b.get(i) {
            if !matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i = i;
                return Some(c);
            }
            i += 1;
        }
        self.i = i;
        None
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.i += 1;
        }
        hit
    }

    /// Only whitespace is left.
    fn end(&mut self) -> Option<()> {
        (self.peek().is_none()).then_some(())
    }

    fn word(&mut self, w: &str) -> bool {
        self.peek();
        let hit = self.b.get(self.i..self.i + w.len()) == Some(w.as_bytes());
        if hit {
            self.i += w.len();
        }
        hit
    }

    fn null(&mut self) -> bool {
        self.word("null")
    }

    fn bool(&mut self) -> Option<bool> {
        if self.word("true") {
            Some(true)
        } else if self.word("false") {
            Some(false)
        } else {
            None
        }
    }

    /// A string without escapes or control characters.
    fn string(&mut self) -> Option<&'a str> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        let mut i = start;
        // To the first quote, backslash or control character: eight bytes at a time, then
        // byte by byte near the end of the text.
        loop {
            match self.b.get(i..i + 8) {
                Some(chunk) => {
                    let stop = special(u64::from_le_bytes(chunk.try_into().ok()?));
                    if stop != 0 {
                        i += (stop.trailing_zeros() / 8) as usize;
                        break;
                    }
                    i += 8;
                }
                None => {
                    while !matches!(self.b.get(i), Some(b'"' | b'\\' | 0..0x20) | None) {
                        i += 1;
                    }
                    break;
                }
            }
        }
        if self.b.get(i) != Some(&b'"') {
            return None;
        }
        let s = self.text.get(start..i)?;
        self.i = i + 1;
        Some(s)
    }

    /// An integer written as JSON writes integers (no fraction, exponent or `-0`) that fits
    /// in an `i64`.
    fn int(&mut self) -> Option<i64> {
        let neg = self.eat(b'-');
        let start = self.i;
        let mut n: i64 = 0;
        while let Some(d @ b'0'..=b'9') = self.b.get(self.i).copied() {
            let d = i64::from(d - b'0');
            n = n.checked_mul(10)?;
            n = if neg { n.checked_sub(d)? } else { n.checked_add(d)? };
            self.i += 1;
        }
        let digits = self.i - start;
        let leading_zero = digits > 1 && self.b.get(start) == Some(&b'0');
        if digits == 0 || leading_zero || (neg && n == 0) {
            return None;
        }
        if matches!(self.b.get(self.i), Some(b'.' | b'e' | b'E')) {
            return None;
        }
        Some(n)
    }

    /// `{ "key": value, … }`: `key` reads each key, `member` the value after it.
    fn object<K>(
        &mut self,
        mut key: impl FnMut(&mut Self) -> Option<K>,
        mut member: impl FnMut(&mut Self, K) -> Option<()>,
    ) -> Option<()> {
        if !self.eat(b'{') {
            return None;
        }
        if self.eat(b'}') {
            return Some(());
        }
        loop {
            let k = key(self)?;
            if !self.eat(b':') {
                return None;
            }
            member(self, k)?;
            if self.eat(b',') {
                continue;
            }
            return self.eat(b'}').then_some(());
        }
    }

    /// One of `keys`, written as a plain string: its index. Compares the bytes in place
    /// (no scan for the closing quote): any other key is not taken here anyway.
    #[inline(always)]
    fn key_of(&mut self, keys: &[&[u8]]) -> Option<usize> {
        if self.peek()? != b'"' {
            return None;
        }
        let rest = self.b.get(self.i + 1..)?;
        let k = keys.iter().position(|k| rest.get(k.len()) == Some(&b'"') && rest.starts_with(k))?;
        self.i += keys.get(k)?.len() + 2;
        Some(k)
    }

    /// The index of the name among `names` that is written next, as a plain string: its
    /// bytes compared in place, so only names whose first byte and length fit are compared
    /// at all. (A name written with escapes is not found: the ordinary decoder takes it.)
    #[inline]
    fn name_of<'n>(&mut self, names: impl Iterator<Item = &'n str>) -> Option<usize> {
        if self.peek()? != b'"' {
            return None;
        }
        let rest = self.b.get(self.i + 1..)?;
        let first = rest.first()?;
        let mut len = 0;
        let k = names.map(str::as_bytes).position(|n| {
            len = n.len();
            n.first() == Some(first) && rest.get(len) == Some(&b'"') && rest.get(..len) == Some(n)
        })?;
        self.i += len + 2;
        Some(k)
    }

    /// `[ item, … ]`.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        if !self.eat(b'[') {
            return None;
        }
        if self.eat(b']') {
            return Some(());
        }
        loop {
            item(self)?;
            if self.eat(b',') {
                continue;
            }
            return self.eat(b']').then_some(());
        }
    }
}

/// The bytes of `x` (little-endian) that are `"`, `\` or below 0x20 have their high bit
/// set in the result. Each of the three tests can also flag bytes above a true hit (a borrow
/// runs upwards), never below one, so the lowest flagged byte is always exact.
const fn special(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const fn zero_bytes(v: u64) -> u64 {
        v.wrapping_sub(ONES) & !v & HIGH
    }
    let quote = zero_bytes(x ^ (ONES * b'"' as u64));
    let backslash = zero_bytes(x ^ (ONES * b'\\' as u64));
    let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
    quote | backslash | control
}

/// Up to this many names (entity types, actions, intents) are matched in place; beyond, the
/// string is read and looked up by hash.
const IN_PLACE_NAMES: usize = 16;

/// The index of the name written next among `names`: matched in place when the schema
/// declares at most [`IN_PLACE_NAMES`] of them (`count`), else read and looked up with
/// `lookup`.
fn name_index<'n>(
    sc: &mut Scan<'_>,
    count: usize,
    names: impl Iterator<Item = &'n str>,
    lookup: impl FnOnce(&str) -> Option<usize>,
) -> Option<usize> {
    if count <= IN_PLACE_NAMES { sc.name_of(names) } else { lookup(sc.string()?) }
}

fn entity_type(schema: &Schema, sc: &mut Scan<'_>) -> Option<EntityTypeId> {
    let names = schema.entities.iter().map(|e| e.name.as_str());
    let i = name_index(sc, schema.entities.len(), names, |s| Some(schema.entity_id(s)?.index()))?;
    Some(EntityTypeId(u32::try_from(i).ok()?))
}

fn action_name(schema: &Schema, sc: &mut Scan<'_>) -> Option<ActionId> {
    let names = schema.actions.iter().map(|a| a.name.as_str());
    let i = name_index(sc, schema.actions.len(), names, |s| Some(schema.action_id(s)?.index()))?;
    Some(ActionId(u32::try_from(i).ok()?))
}

/// A declared intent's name, or `none`: `Some(None)` for `none`.
fn intent_name(schema: &Schema, sc: &mut Scan<'_>) -> Option<Option<IntentId>> {
    // `none` is index 0, first: it means no intent whatever the schema names.
    let names = std::iter::once("none").chain(schema.intents.iter().map(|i| i.name.as_str()));
    let lookup = |s: &str| if s == "none" { Some(0) } else { Some(schema.intent_id(s)?.index() + 1) };
    Some(match name_index(sc, schema.intents.len(), names, lookup)?.checked_sub(1) {
        None => None,
        Some(i) => Some(IntentId(u32::try_from(i).ok()?)),
    })
}

struct Decoder<'c, 'f> {
    schema: &'c Schema,
    consts: &'c Layer,
    store: &'c JitStore,
    frame: &'f mut Frame,
}

/// How a set element sorts among the others: the order of [`crate::ir::value::Value`].
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key<'a> {
    Int(i64),
    Str(&'a str),
    Entity(EntityTypeId, &'a str),
    Ip(IpNet),
    Word(u64),
}

impl<'a> Decoder<'_, '_> {
    /// `{"type": …, "id": …}` of a stored entity: its type, id and word.
    fn entity(&mut self, sc: &mut Scan<'a>) -> Option<(EntityTypeId, &'a str, u64)> {
        let (mut ty, mut id) = (None, None);
        let schema = self.schema;
        sc.object(
            |sc| sc.key_of(&[b"type", b"id"]),
            |sc, k| {
                if k == 0 && ty.is_none() {
                    ty = Some(entity_type(schema, sc)?);
                } else if k == 1 && id.is_none() {
                    id = Some(sc.string()?);
                } else {
                    return None;
                }
                Some(())
            },
        )?;
        let (ty, id) = (ty?, id?);
        Some((ty, id, self.store.stored(ty, id)?))
    }

    /// A string's id: the policy set's or the store's if they have it, else the request's.
    fn string(&mut self, s: &str) -> u64 {
        let mut layers =
            Layers { lower: [Some(self.consts), Some(&self.store.layer), None], top: &mut self.frame.layer };
        layers.intern_str(s)
    }

    fn record(&mut self, sc: &mut Scan<'a>, r: &RecordTy, depth: usize) -> Option<u64> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        // Two words a field: present (0 absent, 1 present, 2 written as null), value.
        let n = 2 * r.fields.len();
        let (mut small, mut large) = ([0u64; 32], Vec::new());
        let words: &mut [u64] = match small.get_mut(..n) {
            Some(w) => w,
            None => {
                large.resize(n, 0);
                &mut large
            }
        };
        sc.object(
            |sc| {
                let i = sc.name_of(r.fields.iter().map(|f| f.name.as_str()))?;
                Some((i, r.fields.get(i)?))
            },
            |sc, (i, f)| {
                let i = 2 * i;
                if words.get(i).copied()? != 0 {
                    return None;
                }
                if f.optional && sc.null() {
                    // Absent, as if not written; a second `key` is still a duplicate.
                    *words.get_mut(i)? = 2;
                    return Some(());
                }
                let w = self.value(sc, &f.ty, depth)?;
                *words.get_mut(i)? = 1;
                *words.get_mut(i + 1)? = w;
                Some(())
            },
        )?;
        for (i, f) in r.fields.iter().enumerate() {
            let present = words.get_mut(2 * i)?;
            match *present {
                0 if !f.optional => return None,
                2 => *present = 0,
                _ => {}
            }
        }
        Some(self.frame.layer.push_words(words))
    }

    fn value(&mut self, sc: &mut Scan<'a>, ty: &Ty, depth: usize) -> Option<u64> {
        Some(match ty {
            Ty::Bool => u64::from(sc.bool()?),
            Ty::Int => sc.int()? as u64,
            Ty::Record(r) => self.record(sc, r, depth + 1)?,
            Ty::Set(elem) => self.set(sc, elem, depth + 1)?,
            _ => self.scalar(sc, ty)?.1,
        })
    }

    /// A value written as a string or an entity reference: its sort key and word. (Inlined,
    /// so that the key costs nothing where it is not used.)
    #[inline(always)]
    fn scalar(&mut self, sc: &mut Scan<'a>, ty: &Ty) -> Option<(Key<'a>, u64)> {
        if let Ty::Entity(types) = ty {
            let (t, id, w) = self.entity(sc)?;
            return types.contains(&t).then_some((Key::Entity(t, id), w));
        }
        let s = sc.string()?;
        Some(match ty {
            Ty::String => (Key::Str(s), self.string(s)),
            Ty::Duration => {
                let ms = parse_duration(s).ok()?;
                (Key::Int(ms), ms as u64)
            }
            Ty::Timestamp => {
                let ms = parse_timestamp(s).ok()?;
                (Key::Int(ms), ms as u64)
            }
            Ty::Ip => {
                let ip = IpNet::parse_addr(s).ok()?;
                (Key::Ip(ip), self.frame.layer.push_ip(ip))
            }
            Ty::Enum(e) => {
                let i = self.schema.enum_(*e)?.variants.iter().position(|v| v == s)?;
                (Key::Word(i as u64), i as u64)
            }
            Ty::Intent => match self.schema.intent_id(s) {
                Some(i) => (Key::Word(u64::from(i.0) + 1), u64::from(i.0)),
                None if s == "none" => (Key::Word(0), NONE_INTENT),
                None => return None,
            },
            Ty::Action => {
                let a = self.schema.action_id(s)?;
                (Key::Word(u64::from(a.0)), u64::from(a.0))
            }
            _ => return None,
        })
    }

    /// A set: its words sorted and deduplicated in the order of values.
    fn set(&mut self, sc: &mut Scan<'a>, elem: &Ty, depth: usize) -> Option<u64> {
        if depth > MAX_JSON_DEPTH {
            return None;
        }
        let mut items: Vec<(Key<'a>, u64)> = Vec::new();
        sc.array(|sc| {
            let item = match elem {
                Ty::Bool => sc.bool().map(|b| (Key::Word(u64::from(b)), u64::from(b)))?,
                Ty::Int => sc.int().map(|n| (Key::Int(n), n as u64))?,
                _ => self.scalar(sc, elem)?,
            };
            if items.len() >= FAST_MAX_SET {
                return None;
            }
            items.push(item);
            Some(())
        })?;
        items.sort_by(|a, b| a.0.cmp(&b.0));
        items.dedup_by(|a, b| a.0.cmp(&b.0) == Ordering::Equal);
        let mut words = Vec::with_capacity(items.len() + 1);
        words.push(items.len() as u64);
        words.extend(items.iter().map(|(_, w)| *w));
        Some(self.frame.layer.push_words(&words))
    }
}
