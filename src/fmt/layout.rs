//! From a syntax tree and the file's tokens and comments to a [`Doc`].
//!
//! The tree says what to print; the token stream says where the comments go. Every token
//! the layout prints goes through [`Layout::tok`], which matches it with the next token of
//! the source and, when they match, brings along the comments around it:
//! * a comment that starts a line in the source (or is a doc comment) is *leading*: it is
//!   printed on a line of its own before the token, indented like it;
//! * comments after a token on its line, when nothing but comments follows up to the end of
//!   the line, are *trailing*: they stay at the end of the token's output line;
//! * a block comment between two tokens of one line stays between them.
//!
//! Tokens the layout leaves out (redundant parentheses, a trailing comma of a flat list, the
//! separators of intent entries, an import's `;`, empty `{}`) are consumed with
//! [`Layout::drop_tok`], which keeps their comments. A blank line before a token or a comment
//! in the source asks for one in the output ([`Doc::Blank`]).
//!
//! Stability (formatting the output again changes nothing) is the hard part: a comment can
//! be classified differently in the output than in the input (a trailing comment of a
//! dropped `)` trails the token before it next time; an inline comment can end up at the
//! end of a line). So no layout decision may depend on how a comment is printed: comments at
//! the very start or end of a group are moved out of it, any other comment breaks it
//! ([`Doc::group`]); comments do not count towards widths; the comments of a dropped token
//! with comments before it go, on lines of their own, before the next token, where they
//! will be found next time; a `//` comment after closing punctuation that was printed
//! before an earlier trailing comment is left to the next token. `tests/fmt.rs` checks
//! stability on thousands of generated files with comments at random places.

use super::doc::Doc;
use super::trivia::{Comment, CommentKind, Token};
use crate::syntax::ast::*;
use crate::syntax::span::{Span, Spanned};
use std::ops::Range;

/// Why a tree cannot be laid out.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A node that did not parse (the file had syntax errors).
    Broken(Span),
    /// A doc comment that documents nothing sits right before a token the layout drops:
    /// moving it would attach it to the next declaration.
    StrayDoc(Range<usize>),
}

pub(crate) struct Layout<'a> {
    src: &'a str,
    tokens: &'a [Token],
    comments: &'a [Comment],
    tok_i: usize,
    com_i: usize,
    /// End of the last token or comment consumed.
    prev_end: usize,
    pub(crate) refusal: Option<Refusal>,
    /// The last token with text had a trailing `//` comment, and only closing punctuation
    /// was consumed since: the printer writes such punctuation before the comment, so a
    /// comment after it cannot trail (it goes before the next token, on a line of its own).
    after_line_comment: bool,
    /// Comments of a dropped token, for the next token.
    deferred: Vec<Doc<'a>>,
    /// Print every leading comment on a line of its own (for those of a dropped token).
    own_lines: bool,
    /// Opening parentheses dropped whose `)` has not been met yet: `(a and b) and c` is one
    /// chain, so the `)` comes after `b`, not after the operand the `(` preceded.
    paren_debt: usize,
}

const PREC_OR: u8 = 1;
const PREC_AND: u8 = 2;
const PREC_NOT: u8 = 3;
const PREC_CMP: u8 = 4;
const PREC_ADD: u8 = 5;
const PREC_MUL: u8 = 6;
const PREC_NEG: u8 = 7;
const PREC_POSTFIX: u8 = 8;

/// How tightly an expression binds (the grammar's levels, loosest first).
fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::If(..) | ExprKind::Quant(..) => 0,
        ExprKind::Or(_) => PREC_OR,
        ExprKind::And(_) => PREC_AND,
        ExprKind::Unary(UnOp::Not, _) => PREC_NOT,
        ExprKind::Binary(BinOp::Add | BinOp::Sub, ..) => PREC_ADD,
        ExprKind::Binary(BinOp::Mul, ..) => PREC_MUL,
        ExprKind::Binary(..) | ExprKind::Is(..) | ExprKind::Has(..) | ExprKind::Like(..) => PREC_CMP,
        ExprKind::Unary(UnOp::Neg, _) => PREC_NEG,
        ExprKind::Field(..) | ExprKind::Method(..) => PREC_POSTFIX,
        _ => 9,
    }
}

fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|b| *b == b'\n').take(2).count()
}

fn cat(v: Vec<Doc<'_>>) -> Doc<'_> {
    Doc::Concat(v)
}

fn sp<'a>() -> Doc<'a> {
    Doc::text(" ")
}

impl<'a> Layout<'a> {
    pub(crate) fn new(src: &'a str, tokens: &'a [Token], comments: &'a [Comment]) -> Layout<'a> {
        Layout {
            src,
            tokens,
            comments,
            tok_i: 0,
            com_i: 0,
            prev_end: 0,
            refusal: None,
            after_line_comment: false,
            deferred: Vec::new(),
            own_lines: false,
            paren_debt: 0,
        }
    }

    fn slice(&self, r: Range<usize>) -> &'a str {
        self.src.get(r).unwrap_or("")
    }

    fn span_text(&self, span: Span) -> &'a str {
        self.slice(span.range())
    }

    fn next_is(&self, text: &str) -> bool {
        self.tokens.get(self.tok_i).is_some_and(|t| self.slice(t.clone()) == text)
    }

    fn next_start(&self) -> usize {
        self.tokens.get(self.tok_i).map_or(usize::MAX, |t| t.start)
    }

    fn refuse(&mut self, r: Refusal) {
        if self.refusal.is_none() {
            self.refusal = Some(r);
        }
    }

    // ------------------------------------------------------------------ tokens and comments

    /// Prints `text`, a token; when it is the next token of the source, with its comments.
    fn tok(&mut self, text: &'a str) -> Doc<'a> {
        if !self.next_is(text) {
            return Doc::text(text);
        }
        if self.plain_next() {
            // The common case: no comment, no blank line around the token.
            if let Some(t) = self.tokens.get(self.tok_i) {
                self.prev_end = t.end;
            }
            self.tok_i += 1;
            self.after_line_comment &= matches!(text, "," | ";" | ")" | "]" | "}" | "?" | ">");
            return Doc::text(text);
        }
        let mut parts = Vec::new();
        self.take_token(&mut parts, Some(text));
        if parts.len() == 1 { parts.pop().unwrap_or(Doc::Nil) } else { cat(parts) }
    }

    /// Consumes `text` if it is the next token of the source, without printing it. Its
    /// trailing comments stay where they are; when comments precede it, they and its trailing
    /// comments go before the next token, on lines of their own (as they will when the
    /// output is formatted again, the token gone).
    fn drop_tok(&mut self, text: &str) -> Doc<'a> {
        if !self.next_is(text) {
            return Doc::Nil;
        }
        let start = self.next_start();
        let mut lead = Vec::new();
        self.own_lines =
            !self.deferred.is_empty() || self.comments.get(self.com_i).is_some_and(|c| c.range.start < start);
        self.leading(start, &mut lead);
        self.own_lines = false;
        // A doc comment right before a dropped token documents that token's place (nothing);
        // printed before the next token instead, it might document a declaration.
        if let Some(c) = self.comments.get(..self.com_i).and_then(|cs| cs.last())
            && c.kind == CommentKind::Doc
            && c.range.end <= start
            && self.slice(c.range.end..start).trim().is_empty()
        {
            self.refuse(Refusal::StrayDoc(c.range.clone()));
        }
        let mut trail = Vec::new();
        self.take_token(&mut trail, None);
        let has_comments = lead.iter().any(|d| matches!(d, Doc::Comment(_) | Doc::Verbatim(_)));
        if !has_comments {
            return cat(trail);
        }
        for d in trail {
            match d {
                Doc::LineSuffix(c) => lead.extend([Doc::EnsureLine, Doc::Comment(c), Doc::HardLine]),
                other => lead.push(other),
            }
        }
        self.deferred.extend(lead);
        Doc::Nil
    }

    /// True when the next token has no comment before or after it up to the token after it,
    /// no blank line before it, and nothing is deferred.
    fn plain_next(&self) -> bool {
        let Some(t) = self.tokens.get(self.tok_i) else { return false };
        let next_start = self.tokens.get(self.tok_i + 1).map_or(usize::MAX, |n| n.start);
        self.deferred.is_empty()
            && self.comments.get(self.com_i).is_none_or(|c| c.range.start >= next_start)
            && count_newlines(self.slice(self.prev_end..t.start)) < 2
    }

    /// Drops the `)`s of dropped `(`s that close before the next operator of a chain (down
    /// to `floor` outstanding, the debt of enclosing chains).
    fn pay_debt(&mut self, floor: usize, parts: &mut Vec<Doc<'a>>) {
        while self.paren_debt > floor && self.next_is(")") {
            self.paren_debt -= 1;
            parts.push(self.drop_tok(")"));
        }
    }

    /// Whether every token of the source was matched (else some comments may have moved
    /// further than they should).
    pub(crate) fn in_sync(&self) -> Result<(), usize> {
        match self.tokens.get(self.tok_i) {
            None => Ok(()),
            Some(t) => Err(t.start),
        }
    }

    /// A comma after the last element of a list: printed only when the list is broken.
    fn trailing_comma(&mut self) -> Doc<'a> {
        if !self.next_is(",") {
            return Doc::IfBreak(",", "");
        }
        let mut parts = Vec::new();
        self.take_token(&mut parts, None);
        // The comma's own comments come before it in `parts` only if they were leading.
        let split = parts.iter().position(|d| matches!(d, Doc::LineSuffix(_)));
        match split {
            Some(i) => parts.insert(i, Doc::IfBreak(",", "")),
            None => parts.push(Doc::IfBreak(",", "")),
        }
        cat(parts)
    }

    /// The comments before the next source token, if it is `text`, without consuming it:
    /// for comments before a closing bracket, printed inside the block.
    fn leading_of(&mut self, text: &str) -> Doc<'a> {
        if !self.next_is(text) {
            return Doc::Nil;
        }
        let mut parts = Vec::new();
        self.leading(self.next_start(), &mut parts);
        if parts.is_empty() { Doc::Nil } else { cat(parts) }
    }

    /// The comments left at the end of the file.
    pub(crate) fn rest(&mut self) -> Doc<'a> {
        let mut parts = Vec::new();
        self.leading(usize::MAX, &mut parts);
        cat(parts)
    }

    fn take_token(&mut self, parts: &mut Vec<Doc<'a>>, text: Option<&'a str>) {
        let Some(t) = self.tokens.get(self.tok_i).cloned() else { return };
        self.leading(t.start, parts);
        if count_newlines(self.slice(self.prev_end..t.start)) >= 2 {
            parts.push(Doc::Blank);
        }
        if let Some(text) = text {
            parts.push(Doc::text(text));
        }
        self.tok_i += 1;
        self.prev_end = t.end;
        self.trailing(parts, text.is_none());
    }

    /// Comments that start before `upto`, each on a line of its own unless it sat between
    /// two tokens of one line (then with the spaces it had around it).
    fn leading(&mut self, upto: usize, parts: &mut Vec<Doc<'a>>) {
        parts.append(&mut self.deferred);
        let mut after_comment = false;
        while let Some(c) = self.comments.get(self.com_i).filter(|c| c.range.start < upto) {
            let gap = self.slice(self.prev_end..c.range.start);
            let newlines = count_newlines(gap);
            // A `//` comment after a token goes to a line of its own (it cannot trail a
            // token that is not the last of its line); after a comment it may stay.
            let own_line = self.own_lines
                || newlines > 0
                || self.prev_end == 0
                || c.kind == CommentKind::Doc
                || (c.kind == CommentKind::Line && !after_comment);
            after_comment = true;
            if own_line {
                if newlines >= 2 {
                    parts.push(Doc::Blank);
                }
                parts.push(Doc::EnsureLine);
            } else if !gap.is_empty() {
                parts.push(sp());
            }
            let text = c.normalized(self.src);
            parts.push(if text.contains('\n') { Doc::Verbatim(text) } else { Doc::Comment(text) });
            self.com_i += 1;
            self.prev_end = c.range.end;
            let next = self.comments.get(self.com_i).map_or(upto, |n| n.range.start.min(upto)).min(self.src.len());
            let after = self.slice(c.range.end..next.max(c.range.end));
            if c.kind != CommentKind::Block || next == self.src.len() || after.contains('\n') {
                parts.push(Doc::HardLine);
            } else if !after.is_empty() {
                parts.push(sp());
            }
        }
    }

    /// Comments after the token just consumed that end its line.
    /// `silent`: the token is not printed (dropped), or is a comma printed only when its
    /// list breaks.
    fn trailing(&mut self, parts: &mut Vec<Doc<'a>>, silent: bool) {
        let just = self.tokens.get(self.tok_i.wrapping_sub(1)).map_or("", |t| self.slice(t.clone()));
        let punct = silent || matches!(just, "," | ";" | ")" | "]" | "}" | "?" | ">");
        if !punct {
            self.after_line_comment = false;
        } else if self.after_line_comment {
            return;
        }
        let next_tok = self.next_start();
        let mut j = self.com_i;
        let mut pos = self.prev_end;
        let mut last_line_comment = false;
        while let Some(c) = self.comments.get(j) {
            if c.range.start >= next_tok
                || c.kind == CommentKind::Doc
                || self.slice(pos..c.range.start).contains('\n')
                || self.slice(c.range.clone()).contains('\n')
            {
                break;
            }
            j += 1;
            pos = c.range.end;
            if c.kind == CommentKind::Line {
                last_line_comment = true;
                break;
            }
        }
        if j == self.com_i {
            return;
        }
        let ends_line = last_line_comment || {
            let next = self.comments.get(j).map_or(next_tok, |c| c.range.start.min(next_tok));
            next >= self.src.len() || self.slice(pos..next).contains('\n')
        };
        if !ends_line {
            return;
        }
        for c in self.comments.get(self.com_i..j).unwrap_or(&[]) {
            parts.push(Doc::LineSuffix(c.normalized(self.src)));
        }
        self.after_line_comment = last_line_comment;
        self.com_i = j;
        self.prev_end = pos;
    }

    // ------------------------------------------------------------------ lists and blocks

    /// `open a, b close`: flat when it fits (`spaced`: with spaces inside the brackets),
    /// else one element a line with a trailing comma.
    fn list<T>(
        &mut self,
        open: &'a str,
        items: &'a [T],
        close: &'a str,
        spaced: bool,
        mut f: impl FnMut(&mut Self, &'a T) -> Doc<'a>,
    ) -> Doc<'a> {
        // Comments before the list go before its group.
        let lead = self.leading_of(open);
        let open_doc = self.tok(open);
        if items.is_empty() {
            let inside = self.leading_of(close);
            let close_doc = self.tok(close);
            return cat(vec![lead, Doc::group(cat(vec![open_doc, Doc::nest(2, inside), Doc::SoftLine, close_doc]))]);
        }
        let line = || if spaced { Doc::Line } else { Doc::SoftLine };
        let mut inner = vec![line()];
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                inner.push(self.tok(","));
                inner.push(Doc::Line);
            }
            inner.push(f(self, item));
        }
        inner.push(self.trailing_comma());
        inner.push(self.leading_of(close));
        let close_doc = self.tok(close);
        cat(vec![lead, Doc::group(cat(vec![open_doc, Doc::nest(2, cat(inner)), line(), close_doc]))])
    }

    /// `{` elements, one a line `}`; `{}` when empty.
    fn block<T>(&mut self, items: &'a [T], mut f: impl FnMut(&mut Self, &'a T) -> Doc<'a>) -> Doc<'a> {
        let open = self.tok("{");
        let mut inner = Vec::new();
        for item in items {
            inner.push(Doc::HardLine);
            inner.push(f(self, item));
        }
        let lead = self.leading_of("}");
        let empty = inner.is_empty() && matches!(lead, Doc::Nil);
        inner.push(lead);
        let close = self.tok("}");
        if empty { cat(vec![open, close]) } else { cat(vec![open, Doc::nest(2, cat(inner)), Doc::HardLine, close]) }
    }

    /// `a | b | c`
    fn union(&mut self, names: &'a [Name]) -> Doc<'a> {
        let mut v = Vec::new();
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                v.push(sp());
                v.push(self.tok("|"));
                v.push(sp());
            }
            v.push(self.tok(&n.node));
        }
        cat(v)
    }

    fn name(&mut self, n: &'a Name) -> Doc<'a> {
        self.tok(&n.node)
    }

    fn string(&mut self, s: &'a Spanned<String>) -> Doc<'a> {
        self.tok(self.span_text(s.span))
    }

    // ------------------------------------------------------------------ items

    /// The whole file; a [`Doc::Mark`] after each item.
    pub(crate) fn file(&mut self, file: &'a File) -> Doc<'a> {
        let mut v = Vec::new();
        for (i, item) in file.items.iter().enumerate() {
            if i > 0 {
                v.push(Doc::HardLine);
            }
            v.push(self.item(item));
            v.push(Doc::Mark);
        }
        v.push(self.rest());
        cat(v)
    }

    fn item(&mut self, item: &'a Item) -> Doc<'a> {
        match item {
            Item::Import(i) => self.import(i),
            Item::Schema(s) => self.schema(s),
            Item::Intent(i) => self.intent(i),
            Item::Fn(f) => self.fn_decl(f),
            Item::Rule(r) => self.rule(r),
            Item::Error(span) => {
                self.refuse(Refusal::Broken(*span));
                Doc::Nil
            }
        }
    }

    fn import(&mut self, i: &'a Import) -> Doc<'a> {
        let mut v = vec![self.tok("import"), sp()];
        match &i.kind {
            ImportKind::Module(path) => {
                for (k, n) in path.iter().enumerate() {
                    if k > 0 {
                        v.push(self.tok("."));
                    }
                    v.push(self.name(n));
                }
            }
            ImportKind::File { path, alias } => {
                v.push(self.string(path));
                v.push(sp());
                v.push(self.tok("as"));
                v.push(sp());
                v.push(self.name(alias));
            }
        }
        v.push(self.drop_tok(";"));
        cat(v)
    }

    fn schema(&mut self, s: &'a Schema) -> Doc<'a> {
        let head = self.tok("schema");
        let body = self.block(&s.members, |l, m| l.member(m));
        cat(vec![head, sp(), body])
    }

    fn member(&mut self, m: &'a SchemaMember) -> Doc<'a> {
        match m {
            SchemaMember::Setting(s) => cat(vec![
                self.tok("@"),
                self.name(&s.name),
                self.tok("("),
                self.tok(self.span_text(s.value.span)),
                self.tok(")"),
            ]),
            SchemaMember::Enum(e) => {
                let head = vec![self.tok("enum"), sp(), self.name(&e.name), sp()];
                let body = self.list("{", &e.variants, "}", true, |l, n| l.name(n));
                cat(head.into_iter().chain([body]).collect())
            }
            SchemaMember::Entity(e) => {
                let mut v = vec![self.tok("entity"), sp(), self.name(&e.name)];
                if !e.parents.is_empty() {
                    v.extend([sp(), self.tok("in"), sp()]);
                    v.push(self.union(&e.parents));
                }
                v.push(self.optional_attrs(&e.attrs));
                cat(v)
            }
            SchemaMember::Context(c) => {
                let head = self.tok("context");
                let body = self.attr_block(&c.fields);
                cat(vec![head, sp(), body])
            }
            SchemaMember::Action(a) => {
                let mut v = vec![self.tok("action"), sp(), self.name(&a.name), self.tok(":"), sp()];
                v.push(self.union(&a.principals));
                v.extend([sp(), self.tok("->"), sp()]);
                v.push(self.union(&a.resources));
                v.push(self.optional_attrs(&a.context));
                cat(v)
            }
            SchemaMember::ActionGroup(g) => {
                let mut v = vec![self.tok("action"), sp(), self.tok("group"), sp(), self.name(&g.name), sp()];
                v.extend([self.tok("="), sp()]);
                v.push(self.list("[", &g.actions, "]", false, |l, n| l.name(n)));
                cat(v)
            }
            SchemaMember::Error(span) => {
                self.refuse(Refusal::Broken(*span));
                Doc::Nil
            }
        }
    }

    /// ` { attrs }`, or nothing (an empty `{}` is dropped).
    fn optional_attrs(&mut self, attrs: &'a [AttrDecl]) -> Doc<'a> {
        if attrs.is_empty() {
            let open = self.drop_tok("{");
            let close = self.drop_tok("}");
            return cat(vec![open, close]);
        }
        let block = self.attr_block(attrs);
        cat(vec![sp(), block])
    }

    fn attr_block(&mut self, attrs: &'a [AttrDecl]) -> Doc<'a> {
        self.list("{", attrs, "}", true, |l, a| l.attr(a))
    }

    fn attr(&mut self, a: &'a AttrDecl) -> Doc<'a> {
        let mut v = vec![self.name(&a.name), self.tok(":"), sp(), self.ty(&a.ty)];
        if a.optional {
            v.push(self.tok("?"));
        }
        cat(v)
    }

    fn ty(&mut self, t: &'a Type) -> Doc<'a> {
        match &t.kind {
            TypeKind::Named(n) => self.name(n),
            TypeKind::Generic(n, args) => {
                let mut v = vec![self.name(n), self.tok("<")];
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        v.push(self.tok(","));
                        v.push(sp());
                    }
                    v.push(self.ty(a));
                }
                v.push(self.drop_tok(","));
                v.push(self.tok(">"));
                cat(v)
            }
            TypeKind::Record(attrs) => self.attr_block(attrs),
            TypeKind::Error => {
                self.refuse(Refusal::Broken(t.span));
                Doc::Nil
            }
        }
    }

    fn intent(&mut self, i: &'a IntentDecl) -> Doc<'a> {
        let mut v = vec![self.tok("intent"), sp(), self.name(&i.name), sp()];
        if i.description.span != i.span {
            v.push(self.string(&i.description));
            v.push(sp());
        }
        v.push(self.block(&i.entries, |l, e| {
            let entry = cat(vec![l.action_scope(&e.actions), sp(), l.tok("on"), sp(), l.scope(&e.resource)]);
            let sep = if l.next_is(",") { l.drop_tok(",") } else { l.drop_tok(";") };
            cat(vec![entry, sep])
        }));
        cat(v)
    }

    fn fn_decl(&mut self, f: &'a FnDecl) -> Doc<'a> {
        let mut v = vec![self.tok("fn"), sp(), self.name(&f.name)];
        v.push(self.list("(", &f.params, ")", false, |l, p| cat(vec![l.name(&p.name), l.tok(":"), sp(), l.ty(&p.ty)])));
        v.extend([sp(), self.tok("->"), sp()]);
        v.push(self.ty(&f.ret));
        v.extend([sp(), self.tok("=")]);
        let body = self.expr(&f.body, 0);
        v.push(Doc::group(Doc::nest(2, cat(vec![Doc::Line, body]))));
        v.push(self.tok(";"));
        cat(v)
    }

    fn rule(&mut self, r: &'a Rule) -> Doc<'a> {
        let mut v = Vec::new();
        for a in &r.annotations {
            v.extend([self.tok("@"), self.name(&a.name), self.tok("("), self.string(&a.value), self.tok(")")]);
            v.push(Doc::HardLine);
        }
        v.push(self.tok(r.effect.node.as_str()));
        v.push(sp());
        v.push(self.scope(&r.principal.node));
        let to = self.tok("to");
        let actions = self.action_scope(&r.actions.node);
        let on = self.tok("on");
        let resource = self.scope(&r.resource.node);
        v.push(Doc::group(Doc::nest(4, cat(vec![Doc::Line, to, sp(), actions, Doc::Line, on, sp(), resource]))));
        let mut clauses = Vec::new();
        for c in &r.clauses {
            clauses.push(Doc::HardLine);
            clauses.push(self.clause(c));
        }
        clauses.push(self.tok(";"));
        v.push(Doc::nest(2, cat(clauses)));
        cat(v)
    }

    fn scope(&mut self, s: &'a Scope) -> Doc<'a> {
        match s {
            Scope::Any => self.tok("*"),
            Scope::Type(n) => self.name(n),
            Scope::Entity(e) => self.entity_ref(e),
            Scope::TypeIn(n, e) => cat(vec![self.name(n), sp(), self.tok("in"), sp(), self.entity_ref(e)]),
            Scope::EntityIn(a, e) => cat(vec![self.entity_ref(a), sp(), self.tok("in"), sp(), self.entity_ref(e)]),
        }
    }

    fn action_scope(&mut self, s: &'a ActionScope) -> Doc<'a> {
        match s {
            ActionScope::Any => self.tok("*"),
            ActionScope::One(n) => self.name(n),
            ActionScope::List(ns) => self.list("[", ns, "]", false, |l, n| l.name(n)),
        }
    }

    fn entity_ref(&mut self, e: &'a EntityRef) -> Doc<'a> {
        cat(vec![self.name(&e.ty), self.tok("::"), self.string(&e.id)])
    }

    fn clause(&mut self, c: &'a Clause) -> Doc<'a> {
        match c {
            Clause::When(e) => {
                let kw = self.tok("when");
                cat(vec![kw, sp(), self.condition(e, "when".len())])
            }
            Clause::Unless(e) => {
                let kw = self.tok("unless");
                cat(vec![kw, sp(), self.condition(e, "unless".len())])
            }
            Clause::Because(s) => {
                let kw = self.tok("because");
                cat(vec![kw, sp(), self.string(s)])
            }
            Clause::Grant(e) => {
                let kw = self.tok("grant");
                cat(vec![kw, sp(), self.expr(e, 0)])
            }
        }
    }

    /// The condition of a `when`/`unless` clause. A top-level `and` (`or`) chain is printed
    /// one operand a line, the operator right-aligned under the clause keyword.
    fn condition(&mut self, e: &'a Expr, kw_len: usize) -> Doc<'a> {
        let (word, ops, min) = match &e.kind {
            ExprKind::And(ops) => ("and", ops, PREC_NOT),
            ExprKind::Or(ops) => ("or", ops, PREC_AND),
            _ => return Doc::align(self.expr(e, 0)),
        };
        let parens = self.wrapping_parens(e);
        let mut v = Vec::new();
        for _ in 0..parens {
            v.push(self.drop_tok("("));
        }
        let floor = self.paren_debt;
        for (i, op) in ops.iter().enumerate() {
            if i == 0 {
                v.push(Doc::align(self.expr(op, min)));
            } else {
                self.pay_debt(floor, &mut v);
                let kw = self.tok(word);
                let operand = Doc::align(self.expr(op, min));
                v.push(Doc::nest(kw_len.saturating_sub(word.len()), cat(vec![Doc::HardLine, kw, sp(), operand])));
            }
        }
        self.pay_debt(floor, &mut v);
        for _ in 0..parens {
            if self.next_is(")") {
                v.push(self.drop_tok(")"));
            } else {
                self.paren_debt += 1;
            }
        }
        cat(v)
    }

    // ------------------------------------------------------------------ expressions

    /// How many parentheses of the source enclose `e` itself (not only its first operand).
    fn wrapping_parens(&self, e: &Expr) -> usize {
        let start = e.span.start as usize;
        self.tokens
            .get(self.tok_i..)
            .unwrap_or(&[])
            .iter()
            .take_while(|t| t.start < start && self.slice((*t).clone()) == "(")
            .count()
    }

    /// `e` in a place that needs at least precedence `min`; parenthesised if it binds less
    /// tightly, the source's other parentheses dropped.
    fn expr(&mut self, e: &'a Expr, min: u8) -> Doc<'a> {
        let parens = self.wrapping_parens(e);
        let need = prec(e) < min;
        let no_comment = self.comments.get(self.com_i).is_none_or(|c| c.range.start >= self.next_start());
        if parens == 0 && !need && no_comment && self.deferred.is_empty() {
            return self.expr_kind(e);
        }
        let mut v = Vec::new();
        for k in 0..parens {
            v.push(if need && k == 0 { self.tok("(") } else { self.drop_tok("(") });
        }
        if need && parens == 0 {
            v.push(Doc::text("("));
        }
        // The comments before the expression's first token go before its group, as they do
        // when they sat before a parenthesis the layout dropped.
        let mut lead = Vec::new();
        self.leading(self.next_start(), &mut lead);
        v.extend(lead);
        let inner = self.expr_kind(e);
        v.push(if need { Doc::align(inner) } else { inner });
        for k in 0..parens {
            if need && k + 1 == parens {
                if !self.next_is(")") {
                    self.paren_debt += 1;
                }
                v.push(self.tok(")"));
            } else if self.next_is(")") {
                v.push(self.drop_tok(")"));
            } else {
                self.paren_debt += 1;
            }
        }
        if need && parens == 0 {
            v.push(Doc::text(")"));
        }
        if v.len() == 1 { v.pop().unwrap_or(Doc::Nil) } else { cat(v) }
    }

    fn args(&mut self, open: &'a str, args: &'a [Expr], close: &'a str) -> Doc<'a> {
        self.list(open, args, close, false, |l, a| l.expr(a, 0))
    }

    fn expr_kind(&mut self, e: &'a Expr) -> Doc<'a> {
        match &e.kind {
            ExprKind::Bool(_) | ExprKind::Int(_) | ExprKind::Str(_) | ExprKind::Duration(_) => {
                self.tok(self.span_text(e.span))
            }
            ExprKind::Var(name) => self.tok(name),
            ExprKind::Action => self.tok("action"),
            ExprKind::Context => self.tok("context"),
            ExprKind::Intent => self.tok("intent"),
            ExprKind::EntityRef(r) => self.entity_ref(r),
            ExprKind::Set(es) => self.args("[", es, "]"),
            ExprKind::Record(fields) => {
                self.list("{", fields, "}", true, |l, (n, v)| cat(vec![l.name(n), l.tok(":"), sp(), l.expr(v, 0)]))
            }
            ExprKind::Field(base, f) => cat(vec![self.expr(base, PREC_POSTFIX), self.tok("."), self.name(f)]),
            ExprKind::Method(base, m, args) => {
                let b = self.expr(base, PREC_POSTFIX);
                let dot = self.tok(".");
                let name = self.name(m);
                cat(vec![b, dot, name, self.args("(", args, ")")])
            }
            ExprKind::Call(f, args) => {
                let name = self.name(f);
                cat(vec![name, self.args("(", args, ")")])
            }
            ExprKind::Unary(UnOp::Not, inner) => {
                let kw = self.tok("not");
                // `not (a like b)`, not `not a like b`: the parentheses are not needed, but
                // without them the `not` reads as applying to `a`.
                let min = if prec(inner) == PREC_CMP { PREC_ADD } else { PREC_NOT };
                cat(vec![kw, sp(), self.expr(inner, min)])
            }
            ExprKind::Unary(UnOp::Neg, inner) => {
                let minus = self.tok("-");
                cat(vec![minus, self.expr(inner, PREC_NEG)])
            }
            ExprKind::Binary(op, a, b) => {
                let (lmin, rmin) = match op {
                    BinOp::Add | BinOp::Sub => (PREC_ADD, PREC_MUL),
                    BinOp::Mul => (PREC_MUL, PREC_NEG),
                    _ => (PREC_ADD, PREC_ADD),
                };
                let l = self.expr(a, lmin);
                let o = self.tok(op.as_str());
                let r = self.expr(b, rmin);
                if matches!(b.kind, ExprKind::Set(_) | ExprKind::Record(_)) {
                    // `x in [` … `]`: the brackets break, not the line before them.
                    return cat(vec![l, sp(), o, sp(), r]);
                }
                Doc::group(cat(vec![l, sp(), o, Doc::nest(4, cat(vec![Doc::Line, r]))]))
            }
            ExprKind::And(ops) => self.chain("and", ops, PREC_NOT),
            ExprKind::Or(ops) => self.chain("or", ops, PREC_AND),
            ExprKind::Is(a, t, parent) => {
                let mut v = vec![self.expr(a, PREC_ADD), sp(), self.tok("is"), sp(), self.name(t)];
                if let Some(p) = parent {
                    v.extend([sp(), self.tok("in"), sp()]);
                    v.push(self.expr(p, PREC_ADD));
                }
                cat(v)
            }
            ExprKind::Has(a, f) => cat(vec![self.expr(a, PREC_ADD), sp(), self.tok("has"), sp(), self.name(f)]),
            ExprKind::Like(a, b) => {
                cat(vec![self.expr(a, PREC_ADD), sp(), self.tok("like"), sp(), self.expr(b, PREC_ADD)])
            }
            ExprKind::If(c, a, b) => {
                let v = vec![
                    self.tok("if"),
                    sp(),
                    self.expr(c, 0),
                    Doc::Line,
                    self.tok("then"),
                    sp(),
                    self.expr(a, 0),
                    Doc::Line,
                    self.tok("else"),
                    sp(),
                    self.expr(b, 0),
                ];
                Doc::group(Doc::align(cat(v)))
            }
            ExprKind::Quant(q, x, set, body) => {
                let kw = self.tok(match q {
                    Quantifier::All => "all",
                    Quantifier::Any => "any",
                });
                let v = vec![kw, sp(), self.name(x), sp(), self.tok("in"), sp(), self.expr(set, 0), self.tok(":")];
                let body = self.expr(body, 0);
                Doc::group(Doc::align(cat(v.into_iter().chain([Doc::nest(2, cat(vec![Doc::Line, body]))]).collect())))
            }
            ExprKind::Error => {
                self.refuse(Refusal::Broken(e.span));
                Doc::Nil
            }
        }
    }

    /// `a and b and c` (or `or`): flat when it fits, else one operand a line, aligned.
    fn chain(&mut self, word: &'a str, ops: &'a [Expr], min: u8) -> Doc<'a> {
        let mut v = Vec::new();
        let floor = self.paren_debt;
        for (i, op) in ops.iter().enumerate() {
            if i > 0 {
                self.pay_debt(floor, &mut v);
                v.push(Doc::Line);
                v.push(self.tok(word));
                v.push(sp());
            }
            v.push(self.expr(op, min));
        }
        self.pay_debt(floor, &mut v);
        Doc::group(Doc::align(cat(v)))
    }
}
