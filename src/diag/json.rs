//! The JSON form of diagnostics (SPEC §10), shaped like LSP's: zero-based lines, characters
//! in UTF-16 code units.

use super::Diagnostic;
use crate::syntax::span::{SourceMap, Span};
use serde::Serialize;

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub character: u32,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

#[derive(Serialize, Debug, Clone)]
pub struct JsonLabel {
    pub file: String,
    pub range: Range,
    pub message: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct JsonDiagnostic {
    pub code: String,
    pub severity: &'static str,
    pub message: String,
    pub file: String,
    pub range: Range,
    /// The primary label first (when it has a message), then the secondary ones.
    pub labels: Vec<JsonLabel>,
    pub notes: Vec<String>,
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
