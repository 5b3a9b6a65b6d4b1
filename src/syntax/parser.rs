//! Glue between the lalrpop grammar and the rest: the parse state the grammar actions build
//! nodes through (spans, doc comments, depth limits, error recovery), and [`parse_file`].

use crate::diag::{Diagnostic, codes};
use crate::syntax::ast::{
    Expr, ExprKind, File, FnDecl, Import, IntentDecl, Item, MAX_DEPTH, Name, Rule, Schema, Type, TypeKind,
};
use crate::syntax::lexer::{self, LexError, Tok};
use crate::syntax::span::{FileId, Span};
use lalrpop_util::{ErrorRecovery, ParseError};
use std::collections::BTreeMap;

lalrpop_util::lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        unused_qualifications,
        unreachable_pub,
        missing_docs
    )]
    grammar,
    "/writ.rs"
);

/// An item as the grammar builds it: an [`Item`] with its one large variant boxed, so that
/// the parser's symbols stay small (see the grammar's header). [`File`] holds `Item`s.
pub(crate) enum ParsedItem {
    Import(Import),
    Schema(Schema),
    Intent(Box<IntentDecl>),
    Fn(Box<FnDecl>),
    Rule(Box<Rule>),
    Error(Span),
}

impl From<ParsedItem> for Item {
    fn from(item: ParsedItem) -> Item {
        match item {
            ParsedItem::Import(i) => Item::Import(i),
            ParsedItem::Schema(s) => Item::Schema(s),
            ParsedItem::Intent(i) => Item::Intent(*i),
            ParsedItem::Fn(f) => Item::Fn(f),
            ParsedItem::Rule(r) => Item::Rule(r),
            ParsedItem::Error(span) => Item::Error(span),
        }
    }
}

/// What the grammar actions build nodes through.
pub struct State {
    file: FileId,
    docs: BTreeMap<usize, (Span, String)>,
    diags: Vec<Diagnostic>,
}

impl State {
    pub(crate) fn span(&self, l: usize, r: usize) -> Span {
        Span::new(self.file, l, r)
    }

    /// Takes the doc comment that precedes the token starting at `at`.
    pub(crate) fn doc(&mut self, at: usize) -> Option<String> {
        self.docs.remove(&at).map(|(_, text)| text)
    }

    /// Contextual keywords (`as`, `group`) are identifiers to the lexer; check them here.
    pub(crate) fn expect_word(&mut self, found: &Name, word: &str) {
        if found.node != word {
            self.diags.push(
                Diagnostic::new(
                    codes::UNEXPECTED_TOKEN,
                    found.span,
                    format!("expected `{word}`, found `{}`", found.node),
                )
                .with_label_message(format!("expected `{word}` here")),
            );
        }
    }

    pub(crate) fn recover(&mut self, e: ErrorRecovery<usize, Tok<'_>, LexError>) {
        self.error(e.error);
    }

    fn error(&mut self, e: ParseError<usize, Tok<'_>, LexError>) {
        if let Some(d) = syntax_diagnostic(self.file, e) {
            self.diags.push(d);
        }
    }

    pub(crate) fn expr(&mut self, kind: ExprKind, l: usize, r: usize) -> Expr {
        let mut max = 0;
        kind.for_each_child(|c| max = max.max(c.depth));
        self.limit(kind, self.span(l, r), max)
    }

    /// A parenthesised expression keeps its inner node but counts one level deeper, so a
    /// flood of parentheses hits the depth limit like any other nesting.
    pub(crate) fn paren(&mut self, e: Expr, _l: usize, _r: usize) -> Expr {
        let depth = e.depth;
        let span = e.span;
        let mut e = self.limit(e.kind, span, depth);
        if !matches!(e.kind, ExprKind::Error) {
            e.depth = depth + 1;
        }
        e
    }

    /// `a and b` / `a or b`, flattened into one n-ary node. The chain's depth is that of its
    /// deepest operand plus one; the operands count, the chain's length does not. The depth
    /// of the chain so far stands for its operands' (it is their maximum plus one, or more
    /// when the chain was parenthesised), so appending an operand costs the same however
    /// long the chain is.
    pub(crate) fn chain(&mut self, is_and: bool, a: Expr, b: Expr, l: usize, r: usize) -> Expr {
        let span = self.span(l, r);
        let max = a.depth.saturating_sub(1).max(b.depth);
        match (is_and, a.kind) {
            (true, ExprKind::And(mut es)) => {
                es.push(b);
                self.limit(ExprKind::And(es), span, max)
            }
            (false, ExprKind::Or(mut es)) => {
                es.push(b);
                self.limit(ExprKind::Or(es), span, max)
            }
            (_, kind) => {
                let a = Expr { kind, span: a.span, depth: a.depth };
                let kind = if is_and { ExprKind::And(vec![a, b]) } else { ExprKind::Or(vec![a, b]) };
                self.expr(kind, l, r)
            }
        }
    }

    fn limit(&mut self, kind: ExprKind, span: Span, max_child: u32) -> Expr {
        if max_child >= MAX_DEPTH {
            if max_child == MAX_DEPTH {
                self.diags.push(too_deep(span, "expression"));
            }
            return Expr { kind: ExprKind::Error, span, depth: MAX_DEPTH + 1 };
        }
        Expr { kind, span, depth: max_child + 1 }
    }

    pub(crate) fn ty(&mut self, kind: TypeKind, l: usize, r: usize) -> Type {
        let span = self.span(l, r);
        let max = match &kind {
            TypeKind::Named(_) | TypeKind::Error => 0,
            TypeKind::Generic(_, args) => args.iter().map(|t| t.depth).max().unwrap_or(0),
            TypeKind::Record(attrs) => attrs.iter().map(|a| a.ty.depth).max().unwrap_or(0),
        };
        if max >= MAX_DEPTH {
            if max == MAX_DEPTH {
                self.diags.push(too_deep(span, "type"));
            }
            return Type { kind: TypeKind::Error, span, depth: MAX_DEPTH + 1 };
        }
        Type { kind, span, depth: max + 1 }
    }
}

fn too_deep(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(codes::TOO_DEEP, span, format!("{what} nests deeper than {MAX_DEPTH} levels"))
        .with_label_message("nesting limit reached inside here")
        .with_help("split it into smaller functions (`fn`) or flatten it")
}

/// The result of parsing one file: always a tree, plus every problem found.
#[derive(Debug)]
pub struct Parsed {
    pub file: File,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parses one file. Never fails: syntax errors are diagnostics, and the tree holds every
/// declaration that parsed (broken ones become `Error` nodes).
pub fn parse_file(file: FileId, src: &str) -> Parsed {
    let lexed = lexer::lex(file, src);
    let mut st = State { file, docs: lexed.docs, diags: lexed.diagnostics };
    let result = grammar::FileParser::new().parse(&mut st, lexed.tokens.into_iter().map(Ok));
    let tree = match result {
        Ok(tree) => tree,
        Err(e) => {
            st.error(e);
            File::default()
        }
    };
    for (span, _) in std::mem::take(&mut st.docs).into_values() {
        st.diags.push(
            Diagnostic::new(codes::MISPLACED_DOC, span, "doc comment documents nothing")
                .with_label_message("no rule, intent, fn or declaration follows")
                .with_help("use `//` for an ordinary comment"),
        );
    }
    crate::diag::sort(&mut st.diags);
    Parsed { file: tree, diagnostics: st.diags }
}

/// Parses a single expression (for tools and tests).
pub fn parse_expr(file: FileId, src: &str) -> (Option<Expr>, Vec<Diagnostic>) {
    let lexed = lexer::lex(file, src);
    let mut st = State { file, docs: lexed.docs, diags: lexed.diagnostics };
    let tokens = lexed.tokens.into_iter().filter(|t| t.1 != Tok::Eof).map(Ok);
    let result = grammar::ExprParser::new().parse(&mut st, tokens);
    let expr = match result {
        Ok(e) => Some(e),
        Err(e) => {
            st.error(e);
            None
        }
    };
    crate::diag::sort(&mut st.diags);
    (expr, st.diags)
}

fn syntax_diagnostic(file: FileId, e: ParseError<usize, Tok<'_>, LexError>) -> Option<Diagnostic> {
    match e {
        ParseError::UnrecognizedToken { token: (_, Tok::Error, _), .. } | ParseError::User { .. } => None,
        ParseError::UnrecognizedToken { token: (l, Tok::Eof, _), expected }
        | ParseError::UnrecognizedEof { location: l, expected } => Some(
            Diagnostic::new(codes::UNEXPECTED_EOF, Span::new(file, l, l), "unexpected end of file")
                .with_label_message(format!("expected {}", friendly_expected(&expected))),
        ),
        ParseError::UnrecognizedToken { token: (l, tok, r), expected } => {
            let mut d = Diagnostic::new(codes::UNEXPECTED_TOKEN, Span::new(file, l, r), format!("unexpected {tok}"))
                .with_label_message(format!("expected {}", friendly_expected(&expected)));
            if let Some(help) = token_help(&tok, &expected) {
                d = d.with_help(help);
            }
            Some(d)
        }
        ParseError::ExtraToken { token: (l, tok, r) } => {
            Some(Diagnostic::new(codes::UNEXPECTED_TOKEN, Span::new(file, l, r), format!("unexpected {tok}")))
        }
        ParseError::InvalidToken { location } => {
            Some(Diagnostic::new(codes::UNKNOWN_CHARACTER, Span::new(file, location, location + 1), "invalid token"))
        }
    }
}

fn token_help(tok: &Tok<'_>, expected: &[String]) -> Option<String> {
    let expects = |t: &str| expected.iter().any(|e| e == &format!("\"{t}\""));
    let structural = matches!(
        tok,
        Tok::To
            | Tok::On
            | Tok::When
            | Tok::Unless
            | Tok::Because
            | Tok::Grant
            | Tok::Permit
            | Tok::Forbid
            | Tok::Escalate
            | Tok::Then
            | Tok::Else
            | Tok::And
            | Tok::Or
            | Tok::Not
            | Tok::In
            | Tok::Is
            | Tok::Has
            | Tok::Like
    );
    if matches!(tok, Tok::All | Tok::Any | Tok::If) && expects("(") {
        return Some(format!(
            "`{}` extends as far right as it can, so as an operand it needs parentheses: `a and ({} …)`",
            tok.text(),
            tok.text()
        ));
    }
    if tok.is_keyword() && !structural && expected.iter().any(|e| e == "Ident") {
        return Some(format!("`{}` is a reserved word and cannot be used as a name", tok.text()));
    }
    if expects(";") && matches!(tok, Tok::Permit | Tok::Forbid | Tok::Escalate | Tok::At) {
        return Some("the previous rule needs a `;` at its end".into());
    }
    None
}

const EXPRESSION_STARTS: &[&str] = &[
    "Int",
    "Str",
    "Duration",
    "Ident",
    "\"(\"",
    "\"[\"",
    "\"{\"",
    "\"not\"",
    "\"-\"",
    "\"true\"",
    "\"false\"",
    "\"if\"",
    "\"all\"",
    "\"any\"",
    "\"action\"",
    "\"context\"",
    "\"intent\"",
];

/// Keywords that may also be attribute names (the grammar's `SoftKeyword`): where a name is
/// expected they are names, so "a name" covers them.
const SOFT_KEYWORDS: &[&str] = &[
    "\"context\"",
    "\"action\"",
    "\"intent\"",
    "\"schema\"",
    "\"entity\"",
    "\"enum\"",
    "\"import\"",
    "\"fn\"",
    "\"to\"",
    "\"on\"",
    "\"permit\"",
    "\"forbid\"",
    "\"escalate\"",
    "\"grant\"",
    "\"because\"",
    "\"all\"",
    "\"any\"",
    "\"is\"",
    "\"like\"",
    "\"then\"",
    "\"else\"",
];

const OPERATORS: &[&str] = &[
    "\"==\"", "\"!=\"", "\"<\"", "\"<=\"", "\">\"", "\">=\"", "\"in\"", "\"is\"", "\"has\"", "\"like\"", "\"+\"",
    "\"-\"", "\"*\"", "\".\"", "\"and\"", "\"or\"",
];

/// Turns lalrpop's terminal names into words a policy author reads: `;` and `when` stay,
/// `Ident` becomes "a name", and the long lists of expression starters and operators
/// collapse into "an expression" and "an operator".
pub fn friendly_expected(expected: &[String]) -> String {
    let has = |t: &str| expected.iter().any(|e| e == t);
    let expr_group = has("Int") && has("Str") && has("\"(\"");
    let op_group = OPERATORS.iter().filter(|o| has(o)).count() >= 5;
    let names_only = has("Ident") && SOFT_KEYWORDS.iter().all(|k| has(k));
    let mut words: Vec<String> = Vec::new();
    let mut tail: Vec<&str> = Vec::new();
    for e in expected {
        if (expr_group && EXPRESSION_STARTS.contains(&e.as_str()))
            || (op_group && OPERATORS.contains(&e.as_str()))
            || (names_only && SOFT_KEYWORDS.contains(&e.as_str()))
        {
            continue;
        }
        match e.as_str() {
            "Ident" => tail.push("a name"),
            "Int" => tail.push("an integer"),
            "Str" => tail.push("a string"),
            "Duration" => tail.push("a duration"),
            "\"EOF\"" => tail.push("end of file"),
            "ERROR" => {}
            other => words.push(format!("`{}`", other.trim_matches('"'))),
        }
    }
    let mut all: Vec<String> = words;
    all.extend(tail.into_iter().map(String::from));
    if expr_group {
        all.push("an expression".into());
    }
    if op_group {
        all.push("an operator".into());
    }
    all.dedup();
    match all.len() {
        0 => "something else".into(),
        1 => all.concat(),
        n => {
            let (init, last) = all.split_at(n - 1);
            format!("{} or {}", init.join(", "), last.concat())
        }
    }
}
