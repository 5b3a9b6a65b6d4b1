//! The logos lexer. A lexer error never stops lexing: it becomes a diagnostic and, where the
//! token's shape is still clear (a too-large integer, a bad escape), a placeholder token so
//! the parser carries on undisturbed; otherwise an [`Tok::Error`] token the parser skips
//! over in its error recovery. Doc comments are taken out of the token stream and handed
//! to the parser as a side table keyed by the start of the token they precede.

use crate::diag::{Diagnostic, codes};
use crate::literal::parse_duration;
use crate::syntax::span::{FileId, Span};
use logos::{FilterResult, Logos};
use std::collections::BTreeMap;
use std::fmt;

/// Why a piece of text is not a token.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum LexError {
    #[default]
    UnknownChar,
    UnterminatedString,
    /// A bad escape: byte offset of the backslash inside the token, and the escape text.
    InvalidEscape {
        offset: usize,
        len: usize,
    },
    IntOverflow,
    UnterminatedComment,
    InvalidDuration(&'static str),
}

#[derive(Logos, Clone, Debug, PartialEq)]
#[logos(error = LexError)]
#[logos(skip r"[ \t\r\n\f\u{FEFF}]+")]
#[logos(skip(r"//[^\n]*", priority = 3, allow_greedy = true))]
pub enum Tok<'a> {
    // keywords
    #[token("schema")]
    Schema,
    #[token("entity")]
    Entity,
    #[token("enum")]
    Enum,
    #[token("action")]
    Action,
    #[token("context")]
    Context,
    #[token("intent")]
    Intent,
    #[token("import")]
    Import,
    #[token("fn")]
    Fn,
    #[token("permit")]
    Permit,
    #[token("forbid")]
    Forbid,
    #[token("escalate")]
    Escalate,
    #[token("to")]
    To,
    #[token("on")]
    On,
    #[token("in")]
    In,
    #[token("is")]
    Is,
    #[token("has")]
    Has,
    #[token("like")]
    Like,
    #[token("when")]
    When,
    #[token("unless")]
    Unless,
    #[token("because")]
    Because,
    #[token("grant")]
    Grant,
    #[token("and")]
    And,
    #[token("or")]
    Or,
    #[token("not")]
    Not,
    #[token("if")]
    If,
    #[token("then")]
    Then,
    #[token("else")]
    Else,
    #[token("all")]
    All,
    #[token("any")]
    Any,
    #[token("true")]
    True,
    #[token("false")]
    False,

    // punctuation
    #[token("{")]
    LBrace,
    #[token("}")]
    RBrace,
    #[token("(")]
    LParen,
    #[token(")")]
    RParen,
    #[token("[")]
    LBracket,
    #[token("]")]
    RBracket,
    #[token(",")]
    Comma,
    #[token(";")]
    Semi,
    #[token(":")]
    Colon,
    #[token("::")]
    ColonColon,
    #[token(".")]
    Dot,
    #[token("@")]
    At,
    #[token("*")]
    Star,
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("==")]
    EqEq,
    #[token("!=")]
    NotEq,
    #[token("<")]
    Lt,
    #[token("<=")]
    Le,
    #[token(">")]
    Gt,
    #[token(">=")]
    Ge,
    #[token("=")]
    Eq,
    #[token("->")]
    Arrow,
    #[token("|")]
    Pipe,
    #[token("?")]
    Question,

    // values
    #[regex("[A-Za-z_][A-Za-z0-9_]*")]
    Ident(&'a str),
    #[regex("[0-9]+", int_literal)]
    Int(i64),
    #[regex("([0-9]+(ms|s|m|h|d))+", duration_literal, priority = 10)]
    #[regex("[0-9]+[A-Za-z_][A-Za-z0-9_]*", bad_number, priority = 1)]
    Duration(i64),
    #[regex(r#""([^"\\\n]|\\[^\n])*""#, string_literal)]
    #[regex(r#""([^"\\\n]|\\[^\n])*"#, unterminated_string)]
    Str(String),

    /// `/// text` — taken out of the stream by [`lex`].
    #[regex(r"///([^/\n][^\n]*)?", |lex| lex.slice().get(3..).unwrap_or("").to_string(), priority = 5, allow_greedy = true)]
    Doc(String),
    #[token("/*", block_comment)]
    BlockComment,

    /// Stands for text the lexer could not read; its diagnostic is already reported.
    Error,
    /// Appended after the last token so the grammar can recover at the end of a file.
    Eof,
}

fn int_literal<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<i64, LexError> {
    lex.slice().parse::<i64>().map_err(|_| LexError::IntOverflow)
}

fn bad_number<'a>(_lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<i64, LexError> {
    Err(LexError::InvalidDuration(
        "a number must be followed by a duration unit (`ms`, `s`, `m`, `h`, `d`) or by a space",
    ))
}

/// Milliseconds of `500ms`, `1h30m`, …: units from largest to smallest, each once.
fn duration_literal<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<i64, LexError> {
    parse_duration(lex.slice()).map_err(LexError::InvalidDuration)
}

fn string_literal<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<String, LexError> {
    let slice = lex.slice();
    let inner = slice.get(1..slice.len().saturating_sub(1)).unwrap_or("");
    unescape(inner).map_err(|(offset, len)| LexError::InvalidEscape { offset: offset + 1, len })
}

fn unterminated_string<'a>(_lex: &mut logos::Lexer<'a, Tok<'a>>) -> Result<String, LexError> {
    Err(LexError::UnterminatedString)
}

/// Resolves `\" \\ \n \t \u{…}`. On error, the byte offset and length of the bad escape.
pub fn unescape(s: &str) -> Result<String, (usize, usize)> {
    if !s.contains('\\') {
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '"')) => out.push('"'),
            Some((_, '\\')) => out.push('\\'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'u')) => {
                let rest = s.get(i + 2..).unwrap_or("");
                let close = rest.find('}');
                let hex = match (rest.strip_prefix('{'), close) {
                    (Some(_), Some(close)) => rest.get(1..close).unwrap_or(""),
                    _ => return Err((i, 2)),
                };
                let len = 2 + close.unwrap_or(0) + 1;
                let ch = (1..=6)
                    .contains(&hex.len())
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32)
                    .ok_or((i, len))?;
                out.push(ch);
                for _ in 0..hex.len() + 2 {
                    chars.next();
                }
            }
            Some((_, other)) => return Err((i, 1 + other.len_utf8())),
            None => return Err((i, 1)),
        }
    }
    Ok(out)
}

fn block_comment<'a>(lex: &mut logos::Lexer<'a, Tok<'a>>) -> FilterResult<(), LexError> {
    match lex.remainder().find("*/") {
        Some(end) => {
            lex.bump(end + 2);
            FilterResult::Skip
        }
        None => {
            lex.bump(lex.remainder().len());
            FilterResult::Error(LexError::UnterminatedComment)
        }
    }
}

/// A token with its byte offsets, as lalrpop wants it.
pub type Spanned<'a> = (usize, Tok<'a>, usize);

/// The output of [`lex`].
#[derive(Debug, Default)]
pub struct Lexed<'a> {
    pub tokens: Vec<Spanned<'a>>,
    /// Doc comments, keyed by the byte offset of the token they precede (merged when they
    /// span several lines). The value holds the doc span and text.
    pub docs: BTreeMap<usize, (Span, String)>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Lexes one file. Never fails: problems are diagnostics. The last token is [`Tok::Eof`].
pub fn lex(file: FileId, src: &str) -> Lexed<'_> {
    let mut out = Lexed::default();
    // Policy text has about one token per six bytes: reserving that once saves the copies
    // of growing the vector token by token. Capped, so that a large file of comments or
    // blanks does not reserve ten times its size.
    out.tokens.reserve((src.len() / 5 + 1).min(1 << 16));
    let mut pending_doc: Option<(Span, String)> = None;
    let mut lexer = Tok::lexer(src);
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(file, range.start, range.end);
        let tok = match result {
            Ok(Tok::Doc(text)) => {
                // Trailing whitespace (a carriage return included) is not part of the doc.
                let text = text.strip_prefix(' ').unwrap_or(&text).trim_end().to_string();
                pending_doc = Some(match pending_doc.take() {
                    Some((s, mut acc)) => {
                        acc.push('\n');
                        acc.push_str(&text);
                        (s.to(span), acc)
                    }
                    None => (span, text),
                });
                continue;
            }
            Ok(Tok::BlockComment) => continue,
            Err(LexError::UnterminatedComment) => {
                // The comment ran to the end of the file: report it, emit no token.
                let (diag, _) = lex_error(LexError::UnterminatedComment, span, lexer.slice());
                out.diagnostics.push(diag);
                continue;
            }
            Ok(tok) => tok,
            Err(err) => {
                let (diag, tok) = lex_error(err, span, lexer.slice());
                out.diagnostics.push(diag);
                tok
            }
        };
        if let Some(doc) = pending_doc.take() {
            out.docs.insert(range.start, doc);
        }
        out.tokens.push((range.start, tok, range.end));
    }
    if let Some((span, _)) = pending_doc {
        out.diagnostics.push(
            Diagnostic::new(codes::MISPLACED_DOC, span, "doc comment at the end of the file documents nothing")
                .with_label_message("nothing follows it")
                .with_help("use `//` for an ordinary comment"),
        );
    }
    // The end-of-file token sits right after the last real token, so "unexpected end of
    // file" points at the place where something is missing, not past trailing blank lines.
    let end = out.tokens.last().map_or(0, |t| t.2);
    out.tokens.push((end, Tok::Eof, end));
    crate::diag::sort(&mut out.diagnostics);
    out
}

fn lex_error<'a>(err: LexError, span: Span, text: &str) -> (Diagnostic, Tok<'a>) {
    match err {
        LexError::UnknownChar => {
            let ch = text.chars().next().unwrap_or('?');
            let hint = match ch {
                '&' => Some("write `and` for a conjunction"),
                '|' => Some("write `or` for a disjunction"),
                '!' => Some("write `not` for a negation, or `!=` for inequality"),
                '\'' => Some("strings use double quotes: \"…\""),
                _ => None,
            };
            let shown = if ch.is_control() { ch.escape_default().to_string() } else { ch.to_string() };
            let mut d = Diagnostic::new(codes::UNKNOWN_CHARACTER, span, format!("unrecognised character `{shown}`"))
                .with_label_message("not part of any token");
            if let Some(h) = hint {
                d = d.with_help(h);
            }
            (d, Tok::Error)
        }
        LexError::UnterminatedString => (
            Diagnostic::new(codes::UNTERMINATED_STRING, span, "unterminated string")
                .with_label_message("this string has no closing `\"` on its line"),
            Tok::Error,
        ),
        LexError::InvalidEscape { offset, len } => {
            let start = span.start as usize + offset;
            let esc_span = Span::new(span.file, start, start + len);
            let esc = text.get(offset..offset + len).unwrap_or("\\");
            (
                Diagnostic::new(codes::INVALID_ESCAPE, esc_span, format!("invalid escape `{esc}` in string"))
                    .with_label_message("not a valid escape")
                    .with_help("valid escapes are `\\\"`, `\\\\`, `\\n`, `\\t` and `\\u{…}`"),
                Tok::Str(String::new()),
            )
        }
        LexError::IntOverflow => (
            Diagnostic::new(codes::INTEGER_OVERFLOW, span, format!("integer literal `{text}` does not fit in 64 bits"))
                .with_label_message("larger than 9223372036854775807"),
            Tok::Int(0),
        ),
        LexError::UnterminatedComment => (
            Diagnostic::new(
                codes::UNTERMINATED_COMMENT,
                Span { end: span.start + 2, ..span },
                "unterminated block comment",
            )
            .with_label_message("this `/*` is never closed by `*/`"),
            Tok::Eof,
        ),
        LexError::InvalidDuration(why) => (
            Diagnostic::new(codes::INVALID_DURATION, span, format!("invalid duration literal `{text}`"))
                .with_label_message(why),
            Tok::Duration(0),
        ),
    }
}

impl fmt::Display for Tok<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Tok::Ident(s) => return write!(f, "identifier `{s}`"),
            Tok::Int(n) => return write!(f, "integer `{n}`"),
            Tok::Duration(_) => "a duration",
            Tok::Str(_) => "a string",
            Tok::Doc(_) => "a doc comment",
            Tok::BlockComment => "a comment",
            Tok::Error => "an invalid token",
            Tok::Eof => "end of file",
            other => return write!(f, "`{}`", other.text()),
        };
        f.write_str(s)
    }
}

impl Tok<'_> {
    /// The source text of a fixed token (keywords and punctuation).
    pub fn text(&self) -> &'static str {
        match self {
            Tok::Schema => "schema",
            Tok::Entity => "entity",
            Tok::Enum => "enum",
            Tok::Action => "action",
            Tok::Context => "context",
            Tok::Intent => "intent",
            Tok::Import => "import",
            Tok::Fn => "fn",
            Tok::Permit => "permit",
            Tok::Forbid => "forbid",
            Tok::Escalate => "escalate",
            Tok::To => "to",
            Tok::On => "on",
            Tok::In => "in",
            Tok::Is => "is",
            Tok::Has => "has",
            Tok::Like => "like",
            Tok::When => "when",
            Tok::Unless => "unless",
            Tok::Because => "because",
            Tok::Grant => "grant",
            Tok::And => "and",
            Tok::Or => "or",
            Tok::Not => "not",
            Tok::If => "if",
            Tok::Then => "then",
            Tok::Else => "else",
            Tok::All => "all",
            Tok::Any => "any",
            Tok::True => "true",
            Tok::False => "false",
            Tok::LBrace => "{",
            Tok::RBrace => "}",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Semi => ";",
            Tok::Colon => ":",
            Tok::ColonColon => "::",
            Tok::Dot => ".",
            Tok::At => "@",
            Tok::Star => "*",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::EqEq => "==",
            Tok::NotEq => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::Eq => "=",
            Tok::Arrow => "->",
            Tok::Pipe => "|",
            Tok::Question => "?",
            Tok::Ident(_)
            | Tok::Int(_)
            | Tok::Duration(_)
            | Tok::Str(_)
            | Tok::Doc(_)
            | Tok::BlockComment
            | Tok::Error
            | Tok::Eof => "",
        }
    }

    pub fn is_keyword(&self) -> bool {
        !self.text().is_empty() && self.text().chars().all(|c| c.is_ascii_alphabetic())
    }
}

/// True when `name` is a reserved word (it cannot be an identifier).
pub fn is_keyword(name: &str) -> bool {
    matches!(Tok::lexer(name).next(), Some(Ok(t)) if t.is_keyword()) && Tok::lexer(name).count() == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok<'_>> {
        lex(FileId(0), src).tokens.into_iter().map(|t| t.1).collect()
    }

    #[test]
    fn keywords_idents_and_punctuation() {
        assert_eq!(
            toks("permit Agent to call_tool on Tool::\"x\";"),
            vec![
                Tok::Permit,
                Tok::Ident("Agent"),
                Tok::To,
                Tok::Ident("call_tool"),
                Tok::On,
                Tok::Ident("Tool"),
                Tok::ColonColon,
                Tok::Str("x".into()),
                Tok::Semi,
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("a<=b>=c!=d->e"),
            vec![
                Tok::Ident("a"),
                Tok::Le,
                Tok::Ident("b"),
                Tok::Ge,
                Tok::Ident("c"),
                Tok::NotEq,
                Tok::Ident("d"),
                Tok::Arrow,
                Tok::Ident("e"),
                Tok::Eof
            ]
        );
        assert_eq!(toks("intents"), vec![Tok::Ident("intents"), Tok::Eof]);
    }

    #[test]
    fn durations() {
        assert_eq!(
            toks("500ms 30s 15m 2h 7d 1h30m"),
            vec![
                Tok::Duration(500),
                Tok::Duration(30_000),
                Tok::Duration(900_000),
                Tok::Duration(7_200_000),
                Tok::Duration(604_800_000),
                Tok::Duration(5_400_000),
                Tok::Eof
            ]
        );
        let l = lex(FileId(0), "30m1h 15min 1h30");
        assert_eq!(l.diagnostics.len(), 3);
        assert!(l.diagnostics.iter().all(|d| d.code == codes::INVALID_DURATION));
        assert_eq!(parse_duration("1d2h3m4s5ms"), Ok(93_784_005));
        assert!(parse_duration("99999999999999999d").is_err());
    }

    #[test]
    fn strings_and_escapes() {
        assert_eq!(toks(r#""a\"b\\c\n\t\u{1F600}""#), vec![Tok::Str("a\"b\\c\n\t\u{1F600}".into()), Tok::Eof]);
        let l = lex(FileId(0), r#""bad \q here""#);
        assert_eq!(l.diagnostics.len(), 1);
        assert_eq!(l.diagnostics[0].code, codes::INVALID_ESCAPE);
        assert_eq!((l.diagnostics[0].primary.span.start, l.diagnostics[0].primary.span.end), (5, 7));
        let l = lex(FileId(0), "\"open\nx");
        assert_eq!(l.diagnostics[0].code, codes::UNTERMINATED_STRING);
        assert_eq!(l.tokens[1].1, Tok::Ident("x"));
        assert!(unescape(r"\u{110000}").is_err());
        assert!(unescape(r"\u{}").is_err());
        assert!(unescape(r"\u12").is_err());
    }

    #[test]
    fn integers_and_overflow() {
        assert_eq!(toks("9223372036854775807"), vec![Tok::Int(i64::MAX), Tok::Eof]);
        let l = lex(FileId(0), "9223372036854775808");
        assert_eq!(l.diagnostics[0].code, codes::INTEGER_OVERFLOW);
    }

    #[test]
    fn comments_and_docs() {
        let l = lex(FileId(0), "// c\n/// one\n/// two\n/* block\n */ permit //// not doc\n x");
        assert_eq!(
            l.tokens.iter().map(|t| t.1.clone()).collect::<Vec<_>>(),
            vec![Tok::Permit, Tok::Ident("x"), Tok::Eof]
        );
        let (start, (_, doc)) = l.docs.iter().next().map(|(k, v)| (*k, v.clone())).unwrap_or_default();
        assert_eq!(doc, "one\ntwo");
        assert_eq!(start, l.tokens[0].0);
        assert_eq!(lex(FileId(0), "/* open").diagnostics[0].code, codes::UNTERMINATED_COMMENT);
        assert_eq!(lex(FileId(0), "x /// trailing").diagnostics[0].code, codes::MISPLACED_DOC);
    }

    #[test]
    fn unknown_characters_become_error_tokens() {
        let l = lex(FileId(0), "a && b # c");
        assert_eq!(l.diagnostics.len(), 3);
        assert!(l.tokens.iter().any(|t| t.1 == Tok::Error));
        assert!(is_keyword("when"));
        assert!(!is_keyword("whenever"));
    }
}
