//! The JSON form of diagnostics, shaped like LSP's: zero-based lines, characters
//! in UTF-16 code units.

use super::Diagnostic;
use crate::syntax::span::{SourceMap, Span};
use serde::Serialize;

/// A position as LSP counts it: zero-based line, and character in UTF-16 code units.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// Zero-based line.
    pub line: u32,
    /// Zero-based UTF-16 code unit within the line.
    pub character: u32,
}

/// A start and an end position (the end is exclusive).
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// Where it starts.
    pub start: Position,
    /// Where it ends (exclusive).
    pub end: Position,
}

/// A secondary label: where, and what it says.
#[derive(Serialize, Debug, Clone)]
pub struct JsonLabel {
    /// The file name, as loaded.
    pub file: String,
    /// The range in that file.
    pub range: Range,
    /// The message.
    pub message: String,
}

/// One diagnostic as JSON (`--format json` and the language server).
#[derive(Serialize, Debug, Clone)]
pub struct JsonDiagnostic {
    /// The stable code, e.g. `E0203`.
    pub code: String,
    /// `error`, `warning` or `info`.
    pub severity: &'static str,
    /// The message.
    pub message: String,
    /// The file name, as loaded.
    pub file: String,
    /// The range in that file.
    pub range: Range,
    /// The primary label first (when it has a message), then the secondary ones.
    pub labels: Vec<JsonLabel>,
    /// Further facts.
    pub notes: Vec<String>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
}

/// The LSP range of a span.
pub fn range(sources: &SourceMap, span: Span) -> Range {
    let pos = |offset: u32| match sources.get(span.file) {
        Some(f) => {
            let lc = f.line_col(offset);
            Position { line: lc.line, character: lc.utf16 }
        }
        None => Position { line: 0, character: 0 },
    };
    Range { start: pos(span.start), end: pos(span.end) }
}

/// One diagnostic as JSON, its positions computed from the sources.
pub fn to_json(d: &Diagnostic, sources: &SourceMap) -> JsonDiagnostic {
    let label = |span: Span, message: &str| JsonLabel {
        file: sources.name(span.file).to_string(),
        range: range(sources, span),
        message: message.to_string(),
    };
    let mut labels = Vec::new();
    if !d.primary.message.is_empty() {
        labels.push(label(d.primary.span, &d.primary.message));
    }
    labels.extend(d.labels.iter().map(|l| label(l.span, &l.message)));
    JsonDiagnostic {
        code: d.code.as_str().to_string(),
        severity: d.severity.as_str(),
        message: d.message.clone(),
        file: sources.name(d.primary.span.file).to_string(),
        range: range(sources, d.primary.span),
        labels,
        notes: d.notes.clone(),
        help: d.help.clone(),
    }
}

/// All diagnostics as a pretty JSON array.
pub fn render(diags: &[Diagnostic], sources: &SourceMap) -> String {
    let items: Vec<JsonDiagnostic> = diags.iter().map(|d| to_json(d, sources)).collect();
    serde_json::to_string_pretty(&items).unwrap_or_else(|_| "[]".into())
}
