//! Runtime values. Shared by the checker (constant folding and validation), the back ends
//! and the host-data decoder; the parsers of typed literals they hold (timestamps, IP
//! ranges, globs, durations) are in `crate::literal`, re-exported here.

use std::sync::Arc;

use super::schema::{ActionId, EntityTypeId, EnumId, IntentId};

/// An entity reference: type and id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityUid {
    pub ty: EntityTypeId,
    pub id: Arc<str>,
}

/// A value of Writ. Sets are kept sorted and deduplicated, so equality is structural.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Str(Arc<str>),
    /// Milliseconds.
    Duration(i64),
    /// Milliseconds since the Unix epoch, UTC.
    Timestamp(i64),
    Ip(IpNet),
    Set(Arc<[Value]>),
    /// Fields in the order of the record type (sorted by name); `None` for an absent
    /// optional field.
    Record(Arc<[Option<Value>]>),
    Entity(EntityUid),
    Enum(EnumId, u32),
    /// `None` is the intent value `none`.
    Intent(Option<IntentId>),
    Action(ActionId),
}

impl Value {
    /// Builds a set value: sorts and deduplicates.
    pub fn set(mut items: Vec<Value>) -> Value {
        items.sort();
        items.dedup();
        Value::Set(items.into())
    }
}

pub use crate::literal::*;
