//! The tokens and comments of a file, by byte offset. The lexer leaves comments out of its
//! token stream (doc comments go to a side table), so they are recovered here: every gap
//! between two tokens holds only whitespace and comments, and is scanned for them.

use crate::syntax::lexer::Tok;
use logos::Logos;
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommentKind {
    /// `// …`
    Line,
    /// `/// …`
    Doc,
    /// `/* … */`
    Block,
}

/// A comment as written, with its byte range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub kind: CommentKind,
    pub range: Range<usize>,
}

impl Comment {
    /// The comment's text, trailing whitespace of each line removed (what the formatter
    /// writes; carriage returns go too).
    pub fn normalized<'a>(&self, src: &'a str) -> std::borrow::Cow<'a, str> {
        let raw = src.get(self.range.clone()).unwrap_or("");
        if !raw.contains('\n') {
            return std::borrow::Cow::Borrowed(raw.trim_end());
        }
        let lines: Vec<&str> = raw.split('\n').map(str::trim_end).collect();
        std::borrow::Cow::Owned(lines.join("\n"))
    }
}

/// A significant token (comments aside): its byte range (its text is `src[range]`).
pub type Token = Range<usize>;

#[derive(Debug, Default)]
pub struct Trivia {
    pub tokens: Vec<Token>,
    pub comments: Vec<Comment>,
}

/// Splits `src` into tokens and comments. Lexer errors are kept as tokens (files with
/// errors are never formatted, but this never fails).
pub fn scan(src: &str) -> Trivia {
    let mut out = Trivia { tokens: Vec::with_capacity(src.len() / 5 + 1), comments: Vec::new() };
    let mut lexer = Tok::lexer(src);
    let mut prev = 0;
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        scan_gap(src, prev..range.start, &mut out.comments);
        prev = range.end;
        if matches!(result, Ok(Tok::Doc(_))) {
            out.comments.push(Comment { kind: CommentKind::Doc, range });
        } else {
            out.tokens.push(range);
        }
    }
    scan_gap(src, prev..src.len(), &mut out.comments);
    out
}

/// Comments in a gap between tokens (whitespace and comments only, as the lexer skipped it).
fn scan_gap(src: &str, gap: Range<usize>, out: &mut Vec<Comment>) {
    let Some(text) = src.get(gap.clone()) else { return };
    let mut i = 0;
    while let Some(rest) = text.get(i..) {
        let Some(at) = rest.find('/') else { return };
        let start = i + at;
        let tail = text.get(start..).unwrap_or("");
        if tail.starts_with("/*") {
            let len = tail.get(2..).and_then(|t| t.find("*/")).map_or(tail.len(), |e| e + 4);
            out.push(Comment { kind: CommentKind::Block, range: gap.start + start..gap.start + start + len });
            i = start + len;
        } else if tail.starts_with("//") {
            let len = tail.find('\n').unwrap_or(tail.len());
            out.push(Comment { kind: CommentKind::Line, range: gap.start + start..gap.start + start + len });
            i = start + len;
        } else {
            i = start + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_comment_kind() {
        let src = "// a\n/// b\npermit /* c */ x // d\n/* e\n f */";
        let t = scan(src);
        let kinds: Vec<_> = t.comments.iter().map(|c| (c.kind, &src[c.range.clone()])).collect();
        assert_eq!(
            kinds,
            vec![
                (CommentKind::Line, "// a"),
                (CommentKind::Doc, "/// b"),
                (CommentKind::Block, "/* c */"),
                (CommentKind::Line, "// d"),
                (CommentKind::Block, "/* e\n f */"),
            ]
        );
        assert_eq!(t.tokens.len(), 2);
    }
}
