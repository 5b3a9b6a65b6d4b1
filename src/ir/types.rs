//! Types of Writ (docs/language.md).

use super::schema::{EntityTypeId, EnumId};
use std::sync::Arc;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Bool,
    Int,
    String,
    Duration,
    Timestamp,
    Ip,
    Set(Box<Ty>),
    Record(Arc<RecordTy>),
    /// An entity of one of these types (sorted, non-empty; usually one).
    Entity(Vec<EntityTypeId>),
    Enum(EnumId),
    Intent,
    Action,
    /// The element type of `[]`: fits any set.
    Never,
    /// The type of an expression that already has an error: fits anything, so one mistake
    /// gives one diagnostic.
    Error,
}

/// A record type: fields sorted by name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct RecordTy {
    pub fields: Vec<FieldTy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldTy {
    pub name: String,
    pub ty: Ty,
    pub optional: bool,
    pub doc: Option<String>,
}

impl RecordTy {
    /// Builds a record type, sorting the fields by name.
    pub fn new(mut fields: Vec<FieldTy>) -> RecordTy {
        fields.sort_by(|a, b| a.name.cmp(&b.name));
        RecordTy { fields }
    }

    pub fn field(&self, name: &str) -> Option<(u32, &FieldTy)> {
        // Few fields: comparing lengths first beats a binary search of string comparisons.
        let i = if self.fields.len() <= 8 {
            let first = name.as_bytes().first();
            self.fields
                .iter()
                .position(|f| f.name.len() == name.len() && f.name.as_bytes().first() == first && f.name == name)?
        } else {
            self.fields.binary_search_by(|f| f.name.as_str().cmp(name)).ok()?
        };
        self.fields.get(i).map(|f| (u32::try_from(i).unwrap_or(u32::MAX), f))
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str())
    }
}

impl Ty {
    pub fn entity(t: EntityTypeId) -> Ty {
        Ty::Entity(vec![t])
    }

    /// The built-in type of this name without type arguments (`Int`, `Ip`, …; not `Set`).
    pub fn builtin(name: &str) -> Option<Ty> {
        Some(match name {
            "Bool" => Ty::Bool,
            "Int" => Ty::Int,
            "String" => Ty::String,
            "Duration" => Ty::Duration,
            "Timestamp" => Ty::Timestamp,
            "Ip" => Ty::Ip,
            "Intent" => Ty::Intent,
            _ => return None,
        })
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Ty::Error)
    }

    /// Types that `<`, `<=`, `>`, `>=` order.
    pub fn is_ordered(&self) -> bool {
        matches!(self, Ty::Int | Ty::Duration | Ty::Timestamp | Ty::Enum(_) | Ty::Error)
    }

    /// The least type both fit in, if any: equal types; `Error`/`Never` fit anything;
    /// entities of different types join into a union; sets join element-wise.
    pub fn join(&self, other: &Ty) -> Option<Ty> {
        match (self, other) {
            (Ty::Error, _) | (_, Ty::Error) => Some(Ty::Error),
            (Ty::Never, t) | (t, Ty::Never) => Some(t.clone()),
            (Ty::Set(a), Ty::Set(b)) => a.join(b).map(|t| Ty::Set(Box::new(t))),
            (Ty::Entity(a), Ty::Entity(b)) => {
                let mut all: Vec<EntityTypeId> = a.iter().chain(b.iter()).copied().collect();
                all.sort();
                all.dedup();
                Some(Ty::Entity(all))
            }
            (a, b) if a == b => Some(a.clone()),
            _ => None,
        }
    }

    /// Does a value of type `self` fit where `expected` is wanted?
    pub fn fits(&self, expected: &Ty) -> bool {
        match (self, expected) {
            (Ty::Error, _) | (_, Ty::Error) | (Ty::Never, _) => true,
            (Ty::Set(a), Ty::Set(b)) => a.fits(b),
            (Ty::Entity(a), Ty::Entity(b)) => a.iter().all(|t| b.contains(t)),
            (a, b) => a == b,
        }
    }
}
