//! Terminal rendering with ariadne. Spans are byte offsets, so ariadne is told to index by
//! byte (its default counts chars, which misplaces underlines after non-ASCII text).
//!
//! Rendering is linear in the number of diagnostics: ariadne's view of each file (its text
//! split into lines) is built once per [`render`] call, on first use, and shared by every
//! report, instead of being rebuilt from every file for every diagnostic.

use super::{Diagnostic, Severity};
use crate::syntax::span::{FileId, SourceMap, Span};
use ariadne::{Cache, Config, IndexType, Label, Report, ReportKind, Source};
use std::fmt::{self, Write as _};

/// Renders diagnostics as ariadne reports, one after another.
pub fn render(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut cache = Files::new(sources);
    let mut out = String::new();
    for d in diags {
        write_one(d, sources, color, &mut cache, &mut out);
    }
    out
}

/// Renders one diagnostic. Diagnostics about a file that has no text (it could not be read)
/// are rendered as a plain line naming the file.
pub fn render_one(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let mut out = String::new();
    write_one(d, sources, color, &mut Files::new(sources), &mut out);
    out
}

/// ariadne's sources, by file id, each built the first time a report needs it.
struct Files<'s> {
    map: &'s SourceMap,
    built: Vec<Option<Source<&'s str>>>,
    /// What `fetch` returns for an id outside the map (never reached: spans are clamped to
    /// files that exist).
    empty: Source<&'s str>,
}

impl<'s> Files<'s> {
    fn new(map: &'s SourceMap) -> Files<'s> {
        Files { map, built: Vec::new(), empty: Source::from("") }
    }
}

/// A file as ariadne names it: its id, displayed as the file's name.
#[derive(Clone, Copy)]
struct Id<'s>(FileId, &'s SourceMap);

impl PartialEq for Id<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for Id<'_> {}

impl std::hash::Hash for Id<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.0.hash(h);
    }
}

impl fmt::Debug for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1.name(self.0))
    }
}

impl fmt::Display for Id<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.1.name(self.0))
    }
}

impl<'s> Cache<Id<'s>> for Files<'s> {
    type Storage = &'s str;

    fn fetch(&mut self, id: &Id<'s>) -> Result<&Source<&'s str>, impl fmt::Debug> {
        let i = id.0.0 as usize;
        let Some(file) = self.map.get(id.0) else { return Ok::<_, fmt::Error>(&self.empty) };
        if self.built.len() <= i {
            self.built.resize_with(i + 1, || None);
        }
        Ok(match self.built.get_mut(i) {
            Some(slot) => slot.get_or_insert_with(|| Source::from(file.text.as_str())),
            None => &self.empty,
        })
    }

    fn display<'a>(&self, id: &'a Id<'s>) -> Option<impl fmt::Display + 'a> {
        Some(*id)
    }
}

fn write_one<'s>(d: &Diagnostic, sources: &'s SourceMap, color: bool, cache: &mut Files<'s>, out: &mut String) {
    let file = sources.get(d.primary.span.file);
    if file.is_none_or(|f| f.text.is_empty()) {
        out.push_str(&plain(d, sources));
        return;
    }
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
        Severity::Info => ReportKind::Advice,
    };
    // Spans are clamped to their file and widened to whole characters: ariadne slices the
    // text at them, and a span that ends inside a character must not panic it.
    let at = |span: Span| {
        let text = sources.get(span.file).map_or("", |f| f.text.as_str());
        let mut start = (span.start as usize).min(text.len());
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (span.end as usize).clamp(start, text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        (Id(span.file, sources), start..end)
    };
    let config = Config::default().with_index_type(IndexType::Byte).with_color(color);
    let mut report =
        Report::build(kind, at(d.primary.span)).with_config(config).with_code(d.code).with_message(&d.message);
    let mut primary = Label::new(at(d.primary.span));
    if !d.primary.message.is_empty() {
        primary = primary.with_message(&d.primary.message);
    }
    report = report.with_label(primary);
    // A label in another file than the primary one is a note unless the text before it is
    // ASCII: ariadne 0.6 locates such a group by a character offset used as a byte offset,
    // which misplaces it after non-ASCII text and can slice inside a character (found by the
    // `parse` fuzz target).
    let mut elsewhere = Vec::new();
    for l in &d.labels {
        let ascii_before =
            || sources.get(l.span.file).and_then(|f| f.text.get(..l.span.start as usize)).is_some_and(str::is_ascii);
        if l.span.file == d.primary.span.file || ascii_before() {
            report = report.with_label(Label::new(at(l.span)).with_message(&l.message));
        } else {
            let lc = sources.get(l.span.file).map(|f| f.line_col(l.span.start));
            let (line, col) = lc.map_or((0, 0), |lc| (lc.line + 1, lc.chars + 1));
            elsewhere.push(format!("{}:{line}:{col}: {}", sources.name(l.span.file), l.message));
        }
    }
    for n in elsewhere.iter().chain(&d.notes) {
        report = report.with_note(n);
    }
    if let Some(h) = &d.help {
        report = report.with_help(h);
    }
    let mut buf = Vec::new();
    // A renderer's bug must not take the host down: a panic inside ariadne falls back to the
    // plain rendering, like a write error.
    let written =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| report.finish().write(&mut *cache, &mut buf)));
    if !matches!(written, Ok(Ok(()))) {
        out.push_str(&plain(d, sources));
        return;
    }
    out.push_str(&String::from_utf8_lossy(&buf));
}

fn plain(d: &Diagnostic, sources: &SourceMap) -> String {
    let mut s =
        format!("[{}] {}: {}\n   --> {}\n", d.code, d.severity.as_str(), d.message, sources.name(d.primary.span.file));
    for n in &d.notes {
        let _ = writeln!(s, "   note: {n}");
    }
    if let Some(h) = &d.help {
        let _ = writeln!(s, "   help: {h}");
    }
    s
}

/// `3 errors, 1 warning` style summary.
pub fn summary(diags: &[Diagnostic]) -> String {
    let errors = diags.iter().filter(|d| d.severity == Severity::Error).count();
    let warnings = diags.iter().filter(|d| d.severity == Severity::Warning).count();
    let plural = |n: usize, w: &str| if n == 1 { format!("{n} {w}") } else { format!("{n} {w}s") };
    format!("{}, {}", plural(errors, "error"), plural(warnings, "warning"))
}
