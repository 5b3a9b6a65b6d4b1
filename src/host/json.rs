//! The JSON tree host data is decoded from. It borrows its strings from the text (a string
//! with escapes is the only copy) and keeps an object's members in a vector, so parsing a
//! request allocates one vector per object or array instead of a `String` per key and value
//! and a map node per member, as `serde_json::Value` would. Parsing is serde_json's
//! (the same syntax errors, line and column, and recursion limit).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A JSON value; the variants are named as `serde_json::Value`'s.
#[derive(Clone, Debug, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its members in document order.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Object<'a> {
    /// The value of member `key`; of the last one if the key is repeated (as serde_json).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The first key (in sorted order, as a `serde_json::Map` iterates) that `known` refuses.
    pub fn first_unknown(&self, known: impl Fn(&str) -> bool) -> Option<&str> {
        self.0.iter().map(|(k, _)| k.as_ref()).filter(|k| !known(k)).min()
    }

    /// A key written more than once (its second occurrence, in document order), if any.
    /// Host data never has one: if the last member won, as in serde_json, a host that reads
    /// the first and Writ would disagree about what was asked.
    pub fn duplicate_key(&self) -> Option<&str> {
        let keys = || self.0.iter().map(|(k, _)| k.as_ref());
        if self.0.len() <= 16 {
            return keys().enumerate().find(|(i, k)| keys().take(*i).any(|x| x == *k)).map(|(_, k)| k);
        }
        let mut sorted: Vec<(&str, usize)> = keys().zip(0..).collect();
        sorted.sort_unstable();
        sorted
            .windows(2)
            .filter_map(|w| match w {
                [(a, _), (b, i)] if a == b => Some((*i, *b)),
                _ => None,
            })
            .min()
            .map(|(_, k)| k)
    }

    /// The members whose key is one of `keys` (the last of each repeated key).
    pub fn only(&self, keys: &[&str]) -> Object<'a> {
        Object(keys.iter().filter_map(|k| Some((Cow::Owned(k.to_string()), self.get(k)?.clone()))).collect())
    }
}

/// Parses JSON text into a tree that borrows from it.
pub fn from_str(text: &str) -> Result<Json<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

impl<'de: 'a, 'a> Deserialize<'de> for Json<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor(PhantomData))
    }
}

struct ValueVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ValueVisitor<'a> {
    type Value = Json<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Json<'a>, E> {
        Ok(Json::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Json<'a>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Json<'a>, E> {
        Ok(Json::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, n: f64) -> Result<Json<'a>, E> {
        Ok(serde_json::Number::from_f64(n).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Json<'a>, E> {
        Ok(Json::String(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Json<'a>, E> {
        Ok(Json::String(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Json<'a>, E> {
        Ok(Json::String(Cow::Owned(s)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Json<'a>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'a>, D::Error> {
        Json::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'a>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(x) = seq.next_element()? {
            items.push(x);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'a>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some(Key(k)) = map.next_key()? {
            members.push((k, map.next_value()?));
        }
        Ok(Json::Object(Object(members)))
    }
}

/// A `serde_json::Value` as a tree that borrows its strings, if it nests at most
/// `max_depth` arrays and objects deep (the bound keeps the conversion's recursion bounded:
/// a value built in memory has no parser's recursion limit).
pub fn from_serde(v: &serde_json::Value, max_depth: usize) -> Option<Json<'_>> {
    use serde_json::Value as V;
    Some(match v {
        V::Null => Json::Null,
        V::Bool(b) => Json::Bool(*b),
        V::Number(n) => Json::Number(n.clone()),
        V::String(s) => Json::String(Cow::Borrowed(s)),
        V::Array(items) => {
            let depth = max_depth.checked_sub(1)?;
            Json::Array(items.iter().map(|x| from_serde(x, depth)).collect::<Option<_>>()?)
        }
        V::Object(map) => {
            let depth = max_depth.checked_sub(1)?;
            Json::Object(Object(
                map.iter()
                    .map(|(k, x)| Some((Cow::Borrowed(k.as_str()), from_serde(x, depth)?)))
                    .collect::<Option<_>>()?,
            ))
        }
    })
}

/// An object key, borrowed from the text when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor(PhantomData))
    }
}

struct KeyVisitor<'a>(PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for KeyVisitor<'a> {
    type Value = Key<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Key<'a>, E> {
        Ok(Key(Cow::Borrowed(s)))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Key<'a>, E> {
        Ok(Key(Cow::Owned(s.to_owned())))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Key<'a>, E> {
        Ok(Key(Cow::Owned(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"b": [1, -2, 3.5, 18446744073709551615], "a": "x\ny", "a": null, "c": {"d": true}}"#;
        let j = from_str(text).unwrap();
        let Json::Object(o) = &j else { panic!("{j:?}") };
        assert_eq!(o.get("a"), Some(&Json::Null)); // the last of a repeated key
        assert_eq!(o.first_unknown(|k| k == "c"), Some("a"));
        let Some(Json::Array(items)) = o.get("b") else { panic!() };
        let nums: Vec<String> = items.iter().map(|x| format!("{x:?}")).collect();
        assert_eq!(nums.len(), 4);
        assert!(matches!(&items[3], Json::Number(n) if n.as_u64() == Some(u64::MAX)));
        assert!(matches!(&items[2], Json::Number(n) if n.as_i64().is_none()));
        let e = from_str("{\"a\": }").unwrap_err();
        assert_eq!((e.line(), e.column()), (1, 7));
    }

    #[test]
    fn keys_and_strings_borrow_unless_escaped() {
        let j = from_str(r#"{"k": "v", "e\u0041": "w\"x"}"#).unwrap();
        let Json::Object(o) = &j else { panic!() };
        assert!(matches!(o.get("k"), Some(Json::String(Cow::Borrowed("v")))));
        assert!(matches!(o.get("eA"), Some(Json::String(Cow::Owned(s))) if s == "w\"x"));
    }
}
