//! The formatter behind `writ fmt`: one canonical layout for policy text, 100 columns wide
//! (docs/formatting.md describes it). Pure functions over text: no I/O.
//!
//! How it works: the file is parsed (a file with syntax errors is never formatted), the
//! tree is laid out as a [`doc::Doc`] — groups printed flat when they fit, broken otherwise
//! — and every comment is carried along by matching the printed tokens with the source's
//! (`layout`). What it guarantees, and what `tests/fmt.rs` checks over every shipped policy
//! file and thousands of generated ones with random comments:
//! * the output parses to the same tree (spans aside) — [`verify`] checks it;
//! * every comment is kept, in order (trailing whitespace aside);
//! * formatting the output again changes nothing;
//! * runs of blank lines become one; blank lines at the start and end of a block go.

mod doc;
mod layout;
mod same;
pub mod trivia;

pub use doc::WIDTH;
pub use same::same_tree;

use crate::diag::{self, Diagnostic, Severity, codes};
use crate::syntax::ast::File;
use crate::syntax::parse_file;
use crate::syntax::span::{FileId, Span};
use layout::{Layout, Refusal};
use std::fmt;
use std::ops::Range;

/// Why a text was not formatted.
#[derive(Clone, Debug, PartialEq)]
pub enum FormatError {
    /// The text has syntax errors (or a doc comment the formatter cannot move): the
    /// diagnostics say where, spans in [`FileId`] 0. Nothing is formatted.
    Syntax(Vec<Diagnostic>),
    /// A bug of the formatter: its output would not mean what the input means. The text
    /// must be left as it is.
    Internal(String),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::Syntax(diags) => {
                let n = diags.iter().filter(|d| d.is_error()).count();
                write!(f, "not formatted: {n} error{}", if n == 1 { "" } else { "s" })
            }
            FormatError::Internal(why) => write!(f, "formatter bug, nothing changed: {why}"),
        }
    }
}

impl std::error::Error for FormatError {}

/// A replacement of the bytes `range` of the original text by `new_text`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextEdit {
    pub range: Range<usize>,
    pub new_text: String,
}

/// Formats a whole file. Diagnostics of the error carry spans in [`FileId`] 0.
///
/// ```
/// let out = writ::unstable::fmt::format_source("permit Agent to  read on Doc when  principal.level>3;").unwrap();
/// assert_eq!(out, "permit Agent to read on Doc\n  when principal.level > 3;\n");
/// ```
pub fn format_source(text: &str) -> Result<String, FormatError> {
    format_with_marks(text).map(|(out, _, _)| out)
}

/// Whether the layout matched every token of `text` with the source's (when it does not,
/// comments may land further from their place than they should); else the offset of the
/// first token it missed. For tests.
#[doc(hidden)]
pub fn tokens_in_sync(text: &str) -> Result<(), usize> {
    let parsed = parse_file(FileId(0), text);
    let trivia = trivia::scan(text);
    let mut layout = Layout::new(text, &trivia.tokens, &trivia.comments);
    let _ = layout.file(&parsed.file);
    layout.in_sync()
}

/// The output, the line each item ended on in it, and the parsed tree.
fn format_with_marks(text: &str) -> Result<(String, Vec<usize>, File), FormatError> {
    let parsed = parse_file(FileId(0), text);
    if diag::has_errors(&parsed.diagnostics) {
        return Err(FormatError::Syntax(parsed.diagnostics));
    }
    let trivia = trivia::scan(text);
    let mut layout = Layout::new(text, &trivia.tokens, &trivia.comments);
    let doc = layout.file(&parsed.file);
    match layout.refusal {
        None => {}
        Some(Refusal::Broken(span)) => {
            return Err(FormatError::Internal(format!("a node at bytes {}..{} did not parse", span.start, span.end)));
        }
        Some(Refusal::StrayDoc(range)) => {
            let mut d = Diagnostic::new(
                codes::MISPLACED_DOC,
                Span::new(FileId(0), range.start, range.end),
                "doc comment documents nothing, and the formatter cannot move it",
            )
            .with_label_message("the token after it is one the formatter leaves out")
            .with_help("use `//` for an ordinary comment");
            d.severity = Severity::Error;
            return Err(FormatError::Syntax(vec![d]));
        }
    }
    let printed = doc::print(&doc);
    Ok((printed.text, printed.marks, parsed.file))
}

/// Checks that `formatted` means what `original` means: both parse without errors to the
/// same tree (spans aside), with the same comments in the same order (trailing whitespace
/// aside). `writ fmt` runs it before it writes anything.
pub fn verify(original: &str, formatted: &str) -> Result<(), FormatError> {
    let before = parse_file(FileId(0), original);
    if diag::has_errors(&before.diagnostics) {
        return Err(FormatError::Syntax(before.diagnostics));
    }
    let after = parse_file(FileId(0), formatted);
    if let Some(d) = after.diagnostics.iter().find(|d| d.is_error()) {
        return Err(FormatError::Internal(format!("the output does not parse: {}", d.message)));
    }
    if !same_tree(&before.file, &after.file) {
        return Err(FormatError::Internal("the output parses to a different tree".into()));
    }
    if comments(original) != comments(formatted) {
        return Err(FormatError::Internal("the output does not keep the comments as they were".into()));
    }
    Ok(())
}

/// The comments of a text, in order, trailing whitespace of each line removed.
pub fn comments(text: &str) -> Vec<String> {
    trivia::scan(text).comments.iter().map(|c| c.normalized(text).into_owned()).collect()
}

/// Formats the top-level items that `range` (bytes of `text`) touches, for an editor's
/// "format selection". The unit is a whole item (a rule, a `fn`, a schema, an intent, an
/// import) with the comments and blank lines before it, up to the end of its last line
/// (trailing comments included); items that share a line are formatted together. Returns
/// the edits to make, none when the items are formatted already. The whole file must parse.
///
/// When the items cannot be cut out cleanly (a comment spanning the cut), the edit covers
/// the whole file.
pub fn format_range(text: &str, range: Range<usize>) -> Result<Vec<TextEdit>, FormatError> {
    let (out, marks, file) = format_with_marks(text)?;
    let whole = || {
        if out == text { Vec::new() } else { vec![TextEdit { range: 0..text.len(), new_text: out.clone() }] }
    };
    let n = file.items.len();
    if n == 0 || marks.len() != n {
        return Ok(whole());
    }
    let src_comments = trivia::scan(text).comments;
    let out_comments = trivia::scan(&out).comments;
    let out_lines = line_starts(&out);
    // Cut k (1 ≤ k < n) separates item k-1 from item k: in the source, after the first
    // newline after item k-1; in the output, at the start of the line after its mark.
    let mut cuts: Vec<Option<(usize, usize)>> = vec![Some((0, 0))];
    for k in 1..n {
        let (Some(prev), Some(next)) = (file.items.get(k - 1), file.items.get(k)) else { return Ok(whole()) };
        let end = prev.span().end as usize;
        let src_cut = text.get(end..).and_then(|t| t.find('\n')).map(|i| end + i + 1);
        let out_cut = marks.get(k - 1).and_then(|l| out_lines.get(l + 1)).copied();
        let cut = match (src_cut, out_cut) {
            (Some(s), Some(o))
                if s <= next.span().start as usize
                    && !inside_comment(&src_comments, s - 1)
                    && !inside_comment(&out_comments, o.saturating_sub(1)) =>
            {
                Some((s, o))
            }
            _ => None,
        };
        cuts.push(cut);
    }
    cuts.push(Some((text.len(), out.len())));
    // The items the range touches, widened to valid cuts.
    let region_of = |pos: usize| cuts.iter().rposition(|c| c.is_some_and(|(s, _)| s <= pos)).unwrap_or(0);
    let first = region_of(range.start);
    let last_pos = if range.end > range.start { range.end - 1 } else { range.start };
    let mut end = region_of(last_pos.min(text.len().saturating_sub(1))) + 1;
    while cuts.get(end).is_some_and(Option::is_none) {
        end += 1;
    }
    let (Some(Some((s0, o0))), Some(Some((s1, o1)))) = (cuts.get(first), cuts.get(end)) else { return Ok(whole()) };
    let (Some(old), Some(new)) = (text.get(*s0..*s1), out.get(*o0..*o1)) else { return Ok(whole()) };
    // The comments of the region must be the same on both sides, or the cut is wrong.
    let kept = |cs: &[trivia::Comment], from: usize, to: usize, t: &str| -> Vec<String> {
        cs.iter()
            .filter(|c| c.range.start >= from && c.range.start < to)
            .map(|c| c.normalized(t).into_owned())
            .collect()
    };
    if kept(&src_comments, *s0, *s1, text) != kept(&out_comments, *o0, *o1, &out) {
        return Ok(whole());
    }
    if old == new {
        return Ok(Vec::new());
    }
    Ok(vec![TextEdit { range: *s0..*s1, new_text: new.to_string() }])
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

fn inside_comment(comments: &[trivia::Comment], at: usize) -> bool {
    comments.iter().any(|c| c.range.start <= at && at < c.range.end)
}

#[cfg(test)]
mod tests;
