//! Diagnostics as data: one [`Diagnostic`] type for every phase, rendered only at the edge
//! (terminal via ariadne in [`render`], LSP-shaped JSON in [`json`]).

pub mod codes;
pub mod json;
pub mod render;

use crate::syntax::span::Span;

pub use crate::names::{did_you_mean, edit_distance};
pub use codes::Code;

/// How serious a diagnostic is: an error stops the policy set from loading; a warning does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The policy set does not check.
    Error,
    /// Probably a mistake; the policy set still loads.
    Warning,
    /// For information.
    Info,
}

impl Severity {
    /// `error`, `warning` or `info`, as in the JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// A span with something to say about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// Where, in bytes of one source file.
    pub span: Span,
    /// What the label says (may be empty).
    pub message: String,
}

/// A problem found in user input, with where it is and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The stable code (`E0203`); `writ explain CODE` prints its explanation.
    pub code: Code,
    /// Error, warning or info.
    pub severity: Severity,
    /// What the label says (may be empty).
    pub message: String,
    /// Where the problem is.
    pub primary: Label,
    /// Other places that explain it (e.g. the declaration a use disagrees with).
    pub labels: Vec<Label>,
    /// Further facts.
    pub notes: Vec<String>,
    /// What to do about it (e.g. "did you mean `sensitivity`?").
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic whose severity is the code's default.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            primary: Label { span, message: String::new() },
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the text under the primary span.
    pub fn with_label_message(mut self, message: impl Into<String>) -> Self {
        self.primary.message = message.into();
        self
    }

    /// Adds a secondary label.
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label { span, message: message.into() });
        self
    }

    /// Adds a note.
    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// Sets the help text.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Orders diagnostics by file, then position, then code, so output is stable whatever order
/// the phases found them in.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (a.primary.span.file, a.primary.span.start, a.primary.span.end, a.code.as_str()).cmp(&(
            b.primary.span.file,
            b.primary.span.start,
            b.primary.span.end,
            b.code.as_str(),
        ))
    });
}

/// Whether any of them is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
