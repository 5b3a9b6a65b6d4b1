//! Terminal rendering with ariadne. Spans are byte offsets, so ariadne is told to index by
//! byte (its default counts chars, which misplaces underlines after non-ASCII text).

use super::{Diagnostic, Severity};
use crate::syntax::span::SourceMap;
use ariadne::{Config, IndexType, Label, Report, ReportKind};
use std::fmt::Write as _;

/// Renders diagnostics as ariadne reports, one after another.
pub fn render(diags: &[Diagnostic], sources: &SourceMap, color: bool) -> String {
    let mut out = String::new();
    for d in diags {
        out.push_str(&render_one(d, sources, color));
    }
    out
}

/// Renders one diagnostic. Diagnostics about a file that has no text (it could not be read)
/// are rendered as a plain line naming the file.
pub fn render_one(d: &Diagnostic, sources: &SourceMap, color: bool) -> String {
    let file = sources.get(d.primary.span.file);
    let Some(file) = file.filter(|f| !f.text.is_empty()) else {
        return plain(d, sources);
    };
    let kind = match d.severity {
        Severity::Error => ReportKind::Error,
        Severity::Warning => ReportKind::Warning,
        Severity::Info => ReportKind::Advice,
    };
    let name = file.name.clone();
    let clamp = |span: crate::syntax::span::Span| {
        let len = sources.get(span.file).map_or(0, |f| f.text.len());
        let start = (span.start as usize).min(len);
        start..(span.end as usize).clamp(start, len)
    };
    let config = Config::default().with_index_type(IndexType::Byte).with_color(color);
    let mut report = Report::build(kind, (name.clone(), clamp(d.primary.span)))
        .with_config(config)
        .with_code(d.code)
        .with_message(&d.message);
    let mut primary = Label::new((name.clone(), clamp(d.primary.span)));
    if !d.primary.message.is_empty() {
        primary = primary.with_message(&d.primary.message);
    }
    report = report.with_label(primary);
    for l in &d.labels {
        let lname = sources.name(l.span.file).to_string();
        report = report.with_label(Label::new((lname, clamp(l.span))).with_message(&l.message));
    }
    for n in &d.notes {
        report = report.with_note(n);
    }
    if let Some(h) = &d.help {
        report = report.with_help(h);
    }
    let cache = ariadne::sources(sources.files().map(|(_, f)| (f.name.clone(), f.text.clone())));
    let mut buf = Vec::new();
    if report.finish().write(cache, &mut buf).is_err() {
        return plain(d, sources);
    }
    String::from_utf8_lossy(&buf).into_owned()
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
