//! The resolved schema: entity types with their parents and attributes, enums, actions with
//! their principal/resource types and context shape, action groups, intents. Built by the
//! checker, read by the back ends and the host-data decoder.

use super::types::{RecordTy, Ty};
use std::collections::HashMap;
use std::sync::Arc;

macro_rules! id {
    ($($name:ident),*) => {$(
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);
        impl $name {
            pub fn index(self) -> usize { self.0 as usize }
        }
    )*};
}
id!(EntityTypeId, EnumId, ActionId, IntentId, GroupId);

#[derive(Clone, Debug)]
pub struct EntityType {
    pub name: String,
    pub doc: Option<String>,
    pub parents: Vec<EntityTypeId>,
    pub attrs: Arc<RecordTy>,
    /// Every type this one may be a (transitive) member of, itself included. Sorted.
    pub ancestor_types: Vec<EntityTypeId>,
}

#[derive(Clone, Debug)]
pub struct EnumType {
    pub name: String,
    pub doc: Option<String>,
    pub variants: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Action {
    pub name: String,
    pub doc: Option<String>,
    pub principals: Vec<EntityTypeId>,
    pub resources: Vec<EntityTypeId>,
    /// The common context fields merged with this action's own, sorted by name.
    pub context: Arc<RecordTy>,
}

#[derive(Clone, Debug)]
pub struct ActionGroup {
    pub name: String,
    pub actions: Vec<ActionId>,
}

/// A constraint on the entity a target or intent entry names, beyond its type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum EntityConstraint {
    /// Any entity of the admitted types.
    Any,
    /// Exactly this entity.
    Is(super::value::EntityUid),
    /// A member (transitively, or equal) of this entity.
    In(super::value::EntityUid),
    /// Exactly this entity, which must also be a member of the second.
    IsIn(super::value::EntityUid, super::value::EntityUid),
}

/// `ACTIONS on RESOURCE` in an intent envelope.
#[derive(Clone, Debug)]
pub struct IntentEntry {
    pub actions: Vec<ActionId>,
    /// `None` = any resource type.
    pub resource_types: Option<Vec<EntityTypeId>>,
    pub resource: EntityConstraint,
}

#[derive(Clone, Debug)]
pub struct Intent {
    pub name: String,
    pub description: String,
    pub doc: Option<String>,
    pub entries: Vec<IntentEntry>,
}

/// The whole resolved schema of a policy set.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    pub entities: Vec<EntityType>,
    pub enums: Vec<EnumType>,
    pub actions: Vec<Action>,
    pub groups: Vec<ActionGroup>,
    pub intents: Vec<Intent>,
    /// The longest `on_behalf_of` chain a request may carry.
    pub max_delegation: usize,
    entity_names: Names<EntityTypeId>,
    enum_names: Names<EnumId>,
    action_names: Names<ActionId>,
    group_names: Names<GroupId>,
    intent_names: Names<IntentId>,
}

/// Name → id. Requests look names up on every decision, so a fast (seeded) hasher.
type Names<T> = HashMap<String, T, foldhash::fast::RandomState>;

/// The default limit on `on_behalf_of` chains (docs/decisions.md).
pub const DEFAULT_MAX_DELEGATION: usize = 4;

fn id32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Schema {
    pub fn new() -> Schema {
        Schema { max_delegation: DEFAULT_MAX_DELEGATION, ..Schema::default() }
    }

    pub fn add_entity(&mut self, e: EntityType) -> EntityTypeId {
        let id = EntityTypeId(id32(self.entities.len()));
        self.entity_names.insert(e.name.clone(), id);
        self.entities.push(e);
        id
    }
    pub fn add_enum(&mut self, e: EnumType) -> EnumId {
        let id = EnumId(id32(self.enums.len()));
        self.enum_names.insert(e.name.clone(), id);
        self.enums.push(e);
        id
    }
    pub fn add_action(&mut self, a: Action) -> ActionId {
        let id = ActionId(id32(self.actions.len()));
        self.action_names.insert(a.name.clone(), id);
        self.actions.push(a);
        id
    }
    pub fn add_group(&mut self, g: ActionGroup) -> GroupId {
        let id = GroupId(id32(self.groups.len()));
        self.group_names.insert(g.name.clone(), id);
        self.groups.push(g);
        id
    }
    pub fn add_intent(&mut self, i: Intent) -> IntentId {
        let id = IntentId(id32(self.intents.len()));
        self.intent_names.insert(i.name.clone(), id);
        self.intents.push(i);
        id
    }

    pub fn entity_id(&self, name: &str) -> Option<EntityTypeId> {
        self.entity_names.get(name).copied()
    }
    pub fn enum_id(&self, name: &str) -> Option<EnumId> {
        self.enum_names.get(name).copied()
    }
    pub fn action_id(&self, name: &str) -> Option<ActionId> {
        self.action_names.get(name).copied()
    }
    pub fn group_id(&self, name: &str) -> Option<GroupId> {
        self.group_names.get(name).copied()
    }
    pub fn intent_id(&self, name: &str) -> Option<IntentId> {
        self.intent_names.get(name).copied()
    }

    pub fn entity(&self, id: EntityTypeId) -> Option<&EntityType> {
        self.entities.get(id.index())
    }
    pub fn enum_(&self, id: EnumId) -> Option<&EnumType> {
        self.enums.get(id.index())
    }
    pub fn action(&self, id: ActionId) -> Option<&Action> {
        self.actions.get(id.index())
    }
    pub fn group(&self, id: GroupId) -> Option<&ActionGroup> {
        self.groups.get(id.index())
    }
    pub fn intent(&self, id: IntentId) -> Option<&Intent> {
        self.intents.get(id.index())
    }

    pub fn entity_name(&self, id: EntityTypeId) -> &str {
        self.entity(id).map_or("?", |e| e.name.as_str())
    }
    pub fn enum_name(&self, id: EnumId) -> &str {
        self.enum_(id).map_or("?", |e| e.name.as_str())
    }
    pub fn action_name(&self, id: ActionId) -> &str {
        self.action(id).map_or("?", |a| a.name.as_str())
    }
    pub fn intent_name(&self, id: IntentId) -> &str {
        self.intent(id).map_or("?", |i| i.name.as_str())
    }

    pub fn action_ids(&self) -> impl Iterator<Item = ActionId> + '_ {
        (0..self.actions.len()).map(|i| ActionId(id32(i)))
    }
    pub fn entity_ids(&self) -> impl Iterator<Item = EntityTypeId> + '_ {
        (0..self.entities.len()).map(|i| EntityTypeId(id32(i)))
    }

    /// Can an entity of type `child` be a member (transitively, or equal) of one of type
    /// `ancestor`?
    pub fn may_descend(&self, child: EntityTypeId, ancestor: EntityTypeId) -> bool {
        self.entity(child).is_some_and(|e| e.ancestor_types.binary_search(&ancestor).is_ok())
    }

    /// Computes `ancestor_types` of every entity type from the `parents` lists.
    pub fn compute_ancestor_types(&mut self) {
        let n = self.entities.len();
        for i in 0..n {
            let mut seen = vec![false; n];
            let mut stack = vec![i];
            while let Some(t) = stack.pop() {
                if seen.get(t).copied().unwrap_or(true) {
                    continue;
                }
                if let Some(s) = seen.get_mut(t) {
                    *s = true;
                }
                if let Some(e) = self.entities.get(t) {
                    stack.extend(e.parents.iter().map(|p| p.index()));
                }
            }
            let anc: Vec<EntityTypeId> =
                seen.iter().enumerate().filter(|(_, s)| **s).map(|(j, _)| EntityTypeId(id32(j))).collect();
            if let Some(e) = self.entities.get_mut(i) {
                e.ancestor_types = anc;
            }
        }
    }

    /// A human-readable type name.
    pub fn ty_name(&self, ty: &Ty) -> String {
        match ty {
            Ty::Bool => "Bool".into(),
            Ty::Int => "Int".into(),
            Ty::String => "String".into(),
            Ty::Duration => "Duration".into(),
            Ty::Timestamp => "Timestamp".into(),
            Ty::Ip => "Ip".into(),
            Ty::Intent => "Intent".into(),
            Ty::Action => "Action".into(),
            Ty::Set(t) => format!("Set<{}>", self.ty_name(t)),
            Ty::Record(r) => {
                let fields: Vec<String> = r
                    .fields
                    .iter()
                    .map(|f| format!("{}: {}{}", f.name, self.ty_name(&f.ty), if f.optional { "?" } else { "" }))
                    .collect();
                format!("{{ {} }}", fields.join(", "))
            }
            Ty::Entity(ts) => ts.iter().map(|t| self.entity_name(*t)).collect::<Vec<_>>().join(" | "),
            Ty::Enum(e) => self.enum_name(*e).to_string(),
            Ty::Never => "empty".into(),
            Ty::Error => "{error}".into(),
        }
    }
}
