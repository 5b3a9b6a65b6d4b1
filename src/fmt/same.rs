//! Tree equality with spans aside. Expressions, types and `Spanned` values already compare
//! without their spans; declarations keep a `span` field that the derived equality reads,
//! so those are cleared on copies before comparing.

use crate::syntax::ast::*;
use crate::syntax::span::Span;

/// True when the two trees are equal once every span is ignored.
pub fn same_tree(a: &File, b: &File) -> bool {
    if a.items.len() != b.items.len() {
        return false;
    }
    a.items.iter().zip(&b.items).all(|(x, y)| {
        let (mut x, mut y) = (x.clone(), y.clone());
        erase_item(&mut x);
        erase_item(&mut y);
        x == y
    })
}

fn erase_item(item: &mut Item) {
    match item {
        Item::Import(i) => i.span = Span::default(),
        Item::Schema(s) => {
            s.span = Span::default();
            s.members.iter_mut().for_each(erase_member);
        }
        Item::Intent(i) => {
            i.span = Span::default();
            i.entries.iter_mut().for_each(|e| e.span = Span::default());
        }
        Item::Fn(f) => {
            f.span = Span::default();
            f.params.iter_mut().for_each(|p| erase_type(&mut p.ty));
            erase_type(&mut f.ret);
        }
        Item::Rule(r) => {
            r.span = Span::default();
            r.annotations.iter_mut().for_each(|a| a.span = Span::default());
        }
        Item::Error(s) => *s = Span::default(),
    }
}

fn erase_member(m: &mut SchemaMember) {
    match m {
        SchemaMember::Enum(e) => e.span = Span::default(),
        SchemaMember::Entity(e) => {
            e.span = Span::default();
            e.attrs.iter_mut().for_each(erase_attr);
        }
        SchemaMember::Context(c) => {
            c.span = Span::default();
            c.fields.iter_mut().for_each(erase_attr);
        }
        SchemaMember::Action(a) => {
            a.span = Span::default();
            a.context.iter_mut().for_each(erase_attr);
        }
        SchemaMember::ActionGroup(g) => g.span = Span::default(),
        SchemaMember::Setting(s) => s.span = Span::default(),
        SchemaMember::Error(s) => *s = Span::default(),
    }
}

fn erase_attr(a: &mut AttrDecl) {
    a.span = Span::default();
    erase_type(&mut a.ty);
}

/// Types nest (records of records), but no deeper than the parser's depth limit.
fn erase_type(t: &mut Type) {
    match &mut t.kind {
        TypeKind::Generic(_, args) => args.iter_mut().for_each(erase_type),
        TypeKind::Record(attrs) => attrs.iter_mut().for_each(erase_attr),
        TypeKind::Named(_) | TypeKind::Error => {}
    }
}
