//! The layout language and its printer: a Wadler/Lindig pretty printer with a few additions
//! for comments (deferred trailing comments, "start a line unless already at one", blank-line
//! requests).
//!
//! Rules of the printer that the layout relies on:
//! * A newline asked for at the start of a line is not written again (only the indentation of
//!   the line to come changes): so a comment that ends its own line and a line break of the
//!   layout never make an empty line. Empty lines come only from [`Doc::Blank`].
//! * [`Doc::Blank`] asks for one empty line before the next text, honoured only if that text
//!   starts a line, is not the first of the output, does not follow a line ending in an
//!   opening bracket and is not a closing bracket.
//! * Spaces written at the start of a line are dropped; trailing spaces are trimmed.
//! * [`Doc::LineSuffix`] (a trailing comment) is held back and written, after one space,
//!   right before the next newline; text other than spaces and closing punctuation starts a
//!   new line first (so comments never change order, and nothing follows a `//` comment).
//!   Groups break where that keeps the comment at the end of its token's line. Trailing
//!   comments of consecutive lines are aligned on one column afterwards.

use std::borrow::Cow;

/// The line width the layout aims at.
pub const WIDTH: usize = 100;

#[derive(Clone, Debug)]
pub(crate) enum Doc<'a> {
    Nil,
    /// Text without newlines.
    Text(Cow<'a, str>),
    /// A space when flat, a newline when broken.
    Line,
    /// Nothing when flat, a newline when broken.
    SoftLine,
    /// Always a newline (the enclosing groups break).
    HardLine,
    /// A newline unless the output is at the start of a line (the enclosing groups break).
    EnsureLine,
    /// Asks for an empty line before the next text (see the module doc).
    Blank,
    Concat(Vec<Doc<'a>>),
    /// Printed flat if it fits in the rest of the line; `forced` when it holds a hard break.
    Group(Box<Doc<'a>>, bool),
    /// Indents the lines broken inside by this many more columns.
    Nest(usize, Box<Doc<'a>>),
    /// Indents the lines broken inside to the column where it starts.
    Align(Box<Doc<'a>>),
    /// The first text when the enclosing group is broken, the second when flat.
    IfBreak(&'static str, &'static str),
    /// A trailing comment: written before the next newline.
    LineSuffix(Cow<'a, str>),
    /// A comment of one line between tokens: like text, but aligned with the trailing
    /// comments of the lines around when it ends its line.
    Comment(Cow<'a, str>),
    /// Text that may hold newlines (a block comment), written as is.
    Verbatim(Cow<'a, str>),
    /// Records the line of the output it is printed on (see [`Printed::marks`]).
    Mark,
}

impl<'a> Doc<'a> {
    pub(crate) fn text(s: impl Into<Cow<'a, str>>) -> Doc<'a> {
        Doc::Text(s.into())
    }

    /// A group. Comments at its very start and trailing comments at its very end are moved
    /// out of it (they print the same there); any other comment inside breaks it, so that
    /// whether a group breaks never depends on how a comment is printed.
    pub(crate) fn group(mut d: Doc<'a>) -> Doc<'a> {
        let mut front = Vec::new();
        peel_front(&mut d, &mut front);
        let mut back = Vec::new();
        peel_back(&mut d, &mut back);
        let forced = d.forces_break();
        let g = Doc::Group(Box::new(d), forced);
        if front.is_empty() && back.is_empty() {
            return g;
        }
        back.reverse();
        front.push(g);
        front.extend(back);
        Doc::Concat(front)
    }

    pub(crate) fn nest(n: usize, d: Doc<'a>) -> Doc<'a> {
        Doc::Nest(n, Box::new(d))
    }

    /// Aligned on the column of its first text: comments at its start are moved out of it.
    pub(crate) fn align(mut d: Doc<'a>) -> Doc<'a> {
        let mut front = Vec::new();
        peel_front(&mut d, &mut front);
        if front.is_empty() {
            return Doc::Align(Box::new(d));
        }
        front.push(Doc::Align(Box::new(d)));
        Doc::Concat(front)
    }

    /// Whether printing this breaks the group around it. Does not look inside groups (their
    /// flag already says).
    pub(crate) fn forces_break(&self) -> bool {
        match self {
            Doc::HardLine | Doc::EnsureLine | Doc::Comment(_) | Doc::LineSuffix(_) | Doc::Verbatim(_) => true,
            Doc::Group(_, forced) => *forced,
            Doc::Concat(v) => v.iter().any(Doc::forces_break),
            Doc::Nest(_, d) | Doc::Align(d) => d.forces_break(),
            Doc::Nil | Doc::Mark | Doc::Text(_) | Doc::Line | Doc::SoftLine | Doc::Blank | Doc::IfBreak(..) => false,
        }
    }
}

/// Moves the comments (and the line breaks and spaces around them) at the start of `d` to
/// `out`. False when `d` starts with something else.
fn peel_front<'a>(d: &mut Doc<'a>, out: &mut Vec<Doc<'a>>) -> bool {
    match d {
        Doc::Concat(v) => {
            let mut taken = 0;
            let mut go_on = true;
            for child in v.iter_mut() {
                if !peel_front(child, out) {
                    go_on = false;
                    break;
                }
                taken += 1;
            }
            v.drain(..taken);
            go_on
        }
        Doc::Nil
        | Doc::Blank
        | Doc::EnsureLine
        | Doc::HardLine
        | Doc::Comment(_)
        | Doc::Verbatim(_)
        | Doc::LineSuffix(_) => {
            out.push(std::mem::replace(d, Doc::Nil));
            true
        }
        Doc::Text(s) if s.bytes().all(|b| b == b' ') => {
            out.push(std::mem::replace(d, Doc::Nil));
            true
        }
        _ => false,
    }
}

/// Moves the trailing comments at the end of `d` to `out`, last first. Closing punctuation
/// after them stays (the printer writes it before a pending trailing comment anyway). False
/// when something else comes before the end.
fn peel_back<'a>(d: &mut Doc<'a>, out: &mut Vec<Doc<'a>>) -> bool {
    match d {
        Doc::Concat(v) => v.iter_mut().rev().all(|c| peel_back(c, out)),
        Doc::Nest(_, inner) | Doc::Align(inner) => peel_back(inner, out),
        Doc::Nil | Doc::Blank | Doc::Mark => true,
        Doc::Text(s) => may_follow_comment(s),
        Doc::IfBreak(a, b) => may_follow_comment(a) && may_follow_comment(b),
        Doc::LineSuffix(_) => {
            out.push(std::mem::replace(d, Doc::Nil));
            true
        }
        _ => false,
    }
}

/// Text that may sit between a token and its trailing comment: spaces and closing
/// punctuation (`a, // c` for `a // c` followed by `,`).
fn may_follow_comment(s: &str) -> bool {
    s.bytes().all(|b| b == b' ') || matches!(s, "," | ";" | ")" | "]" | "}" | "?" | ">")
}

fn width(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// What [`print`] made.
pub(crate) struct Printed {
    pub(crate) text: String,
    /// Per [`Doc::Mark`], in order: the zero-based line it was printed on (the line before,
    /// when it was printed at the start of a line).
    pub(crate) marks: Vec<usize>,
}

/// Prints a document at [`WIDTH`] columns. The output ends with one newline unless empty.
pub(crate) fn print(doc: &Doc<'_>) -> Printed {
    let mut p = Printer::default();
    p.run(doc);
    let marks = std::mem::take(&mut p.marks);
    Printed { text: p.finish(), marks }
}

#[derive(Default)]
struct Printer {
    out: String,
    /// The column the next character goes to.
    col: usize,
    /// Nothing written on the current line yet (the indentation is written with its first text).
    line_start: bool,
    pending_blank: bool,
    /// Trailing comments waiting for the end of the line.
    suffixes: Vec<String>,
    /// Zero-based line number of the current line.
    line: usize,
    /// Lines that ended with trailing comments: (line, width of the code, comments).
    trailing: Vec<(usize, usize, String)>,
    marks: Vec<usize>,
    /// Where the last comment written on the current line starts, if only spaces follow it.
    comment_at: Option<usize>,
    /// Trailing comments that could not trail (they came after a `//` comment): written on
    /// lines of their own before the next text, indented like it.
    own_lines: Vec<String>,
}

impl Printer {
    fn run<'d, 'a>(&mut self, doc: &'d Doc<'a>) {
        self.line_start = true;
        let mut stack: Vec<(usize, Mode, &'d Doc<'a>)> = vec![(0, Mode::Break, doc)];
        let mut scratch: Vec<(Mode, &'d Doc<'a>)> = Vec::new();
        while let Some((indent, mode, d)) = stack.pop() {
            match d {
                Doc::Nil => {}
                Doc::Mark => self.marks.push(if self.line_start { self.line.saturating_sub(1) } else { self.line }),
                Doc::Text(s) => self.write(s, indent),
                Doc::Comment(s) => {
                    self.write(s, indent);
                    self.comment_at = Some(self.out.len() - s.len());
                }
                Doc::Verbatim(s) => self.write_verbatim(s, indent),
                Doc::Line => match mode {
                    Mode::Flat => self.write(" ", indent),
                    Mode::Break => self.newline(indent),
                },
                Doc::SoftLine => {
                    if mode == Mode::Break {
                        self.newline(indent);
                    }
                }
                Doc::HardLine | Doc::EnsureLine => self.newline(indent),
                Doc::Blank => self.pending_blank = true,
                Doc::IfBreak(broken, flat) => {
                    self.write(if mode == Mode::Break { broken } else { flat }, indent);
                }
                Doc::LineSuffix(s) if self.line_start && self.own_lines.is_empty() => {
                    // Nothing on this line to trail (its token's line has ended): a comment
                    // line of its own.
                    self.write(s, indent);
                    self.newline(indent);
                }
                Doc::LineSuffix(s) => {
                    if !self.own_lines.is_empty() || self.suffixes.last().is_some_and(|c| c.starts_with("//")) {
                        // Nothing may follow a `//` comment on its line: this one gets a
                        // line of its own, before the next text.
                        self.own_lines.push(s.to_string());
                    } else {
                        self.suffixes.push(s.to_string());
                    }
                }
                Doc::Concat(v) => stack.extend(v.iter().rev().map(|c| (indent, mode, c))),
                Doc::Nest(n, inner) => stack.push((indent + n, mode, inner)),
                Doc::Align(inner) => {
                    // Pending trailing comments end the line before the next text.
                    let fresh = self.line_start || !self.suffixes.is_empty() || !self.own_lines.is_empty();
                    let col = if fresh { indent } else { self.col };
                    stack.push((col, mode, inner));
                }
                Doc::Group(inner, forced) => {
                    let flat = mode == Mode::Flat || (!*forced && self.fits(inner, indent, &stack, &mut scratch));
                    stack.push((indent, if flat { Mode::Flat } else { Mode::Break }, inner));
                }
            }
        }
    }

    /// Whether `doc`, printed flat from here, and what follows it up to the next line break
    /// fit in the line.
    fn fits<'d, 'a>(
        &self,
        doc: &'d Doc<'a>,
        indent: usize,
        rest: &[(usize, Mode, &'d Doc<'a>)],
        stack: &mut Vec<(Mode, &'d Doc<'a>)>,
    ) -> bool {
        // Pending trailing comments end the line before the next text.
        let fresh = self.line_start || !self.suffixes.is_empty() || !self.own_lines.is_empty();
        let start = if fresh { indent } else { self.col };
        let mut left = WIDTH as isize - start as isize;
        stack.clear();
        stack.push((Mode::Flat, doc));
        let mut rest = rest.iter().rev();
        let mut suffix = false;
        loop {
            let Some((mode, d)) = stack.pop() else {
                match rest.next() {
                    Some((_, mode, d)) => {
                        stack.push((*mode, d));
                        continue;
                    }
                    None => return true,
                }
            };
            match d {
                Doc::Nil | Doc::Mark | Doc::Blank => {}
                // A trailing comment ends the line: the printer starts a new one before the
                // next text but closing punctuation (a group holding one breaks anyway).
                Doc::LineSuffix(_) => suffix = true,
                Doc::Text(s) if suffix => {
                    if !may_follow_comment(s) {
                        return left >= 0;
                    }
                    if !s.bytes().all(|b| b == b' ') {
                        left -= width(s) as isize;
                    }
                }
                Doc::Text(s) => left -= width(s) as isize,
                // Comments do not count: whether they fit never decides a layout (a comment
                // may move from between two tokens to the end of a line).
                Doc::Comment(_) if suffix => return left >= 0,
                Doc::Comment(_) => {}
                Doc::Verbatim(s) => {
                    if suffix || s.contains('\n') {
                        return left >= 0;
                    }
                }
                Doc::Line | Doc::SoftLine => {
                    if mode == Mode::Break {
                        return left >= 0;
                    }
                    if matches!(d, Doc::Line) && !suffix {
                        left -= 1;
                    }
                }
                Doc::HardLine | Doc::EnsureLine => return left >= 0,
                Doc::IfBreak(broken, flat) => {
                    let s = if mode == Mode::Break { broken } else { flat };
                    if suffix && !may_follow_comment(s) {
                        return left >= 0;
                    }
                    left -= width(s) as isize;
                }
                Doc::Concat(v) => stack.extend(v.iter().rev().map(|c| (mode, c))),
                Doc::Nest(_, inner) | Doc::Align(inner) => stack.push((mode, inner)),
                Doc::Group(inner, forced) => {
                    stack.push((if *forced { Mode::Break } else { mode }, inner));
                }
            }
            if left < 0 {
                return false;
            }
        }
    }

    fn write(&mut self, s: &str, indent: usize) {
        if s.is_empty() {
            return;
        }
        let spaces = s.bytes().all(|b| b == b' ');
        if !self.suffixes.is_empty() && !may_follow_comment(s) {
            // A trailing comment ends its line: what follows goes to the next.
            self.newline(indent);
        }
        if !spaces && !self.own_lines.is_empty() {
            self.newline(indent);
            for c in std::mem::take(&mut self.own_lines) {
                self.write(&c, indent);
                self.newline(indent);
            }
        }
        if spaces && self.out.ends_with(' ') {
            return;
        }
        if self.line_start {
            if spaces {
                return;
            }
            if self.pending_blank && self.blank_allowed(s) {
                self.out.push('\n');
                self.line += 1;
            }
            self.out.extend(std::iter::repeat_n(' ', indent));
            self.col = indent;
            self.line_start = false;
        }
        self.pending_blank = false;
        if !spaces {
            self.comment_at = None;
        }
        self.out.push_str(s);
        self.col += width(s);
    }

    fn blank_allowed(&self, next: &str) -> bool {
        let prev = self.out.trim_end_matches('\n');
        !prev.is_empty()
            && !prev.ends_with(['{', '[', '('])
            && !next.starts_with(['}', ']', ')'])
            && self.out.ends_with('\n')
    }

    fn write_verbatim(&mut self, s: &str, indent: usize) {
        let mut lines = s.split('\n');
        if let Some(first) = lines.next() {
            self.write(first, indent);
        }
        for l in lines {
            self.end_line();
            self.out.push_str(l);
            self.col = width(l);
            self.line_start = false;
        }
    }

    /// Writes the pending trailing comments and a newline.
    fn end_line(&mut self) {
        let trimmed = self.out.trim_end_matches(' ').len();
        self.out.truncate(trimmed);
        let line_start = self.out.rfind('\n').map_or(0, |i| i + 1);
        // A comment that ends a line after code joins the trailing comments.
        let mut comments = Vec::new();
        if let Some(at) = self.comment_at.take()
            && self.out.get(line_start..at).is_some_and(|code| !code.trim().is_empty())
        {
            comments.push(self.out.split_off(at));
            let code_end = self.out.trim_end_matches(' ').len();
            self.out.truncate(code_end);
        }
        comments.append(&mut self.suffixes);
        if !comments.is_empty() {
            let code = self.out.get(line_start..).map_or(0, width);
            self.trailing.push((self.line, code, comments.join(" ")));
        }
        self.out.push('\n');
        self.line += 1;
    }

    fn newline(&mut self, indent: usize) {
        if !self.line_start {
            self.end_line();
            self.line_start = true;
        }
        self.col = indent;
    }

    fn finish(mut self) -> String {
        if !self.line_start || !self.suffixes.is_empty() {
            self.end_line();
        }
        for c in std::mem::take(&mut self.own_lines) {
            self.out.push_str(&c);
            self.end_line();
        }
        if self.trailing.is_empty() {
            return self.out;
        }
        // Trailing comments of consecutive lines share one column: one space after the
        // longest code line of the run.
        let mut column = vec![0usize; self.trailing.len()];
        let mut i = 0;
        while i < self.trailing.len() {
            let mut j = i + 1;
            while self.trailing.get(j).zip(self.trailing.get(j - 1)).is_some_and(|(b, a)| b.0 == a.0 + 1) {
                j += 1;
            }
            let widest = self.trailing.get(i..j).map_or(0, |run| run.iter().map(|t| t.1).max().unwrap_or(0));
            for c in column.get_mut(i..j).into_iter().flatten() {
                *c = widest;
            }
            i = j;
        }
        let mut out = String::with_capacity(self.out.len() + self.trailing.len() * 40);
        let mut next = self.trailing.iter().zip(column).peekable();
        for (n, line) in self.out.split_inclusive('\n').enumerate() {
            match next.peek() {
                Some(((at, code, comments), col)) if *at == n => {
                    let body = line.strip_suffix('\n').unwrap_or(line);
                    out.push_str(body);
                    let pad = if *code == 0 { 0 } else { col - code + 1 };
                    out.extend(std::iter::repeat_n(' ', pad));
                    out.push_str(comments);
                    out.push('\n');
                    next.next();
                }
                _ => out.push_str(line),
            }
        }
        out
    }
}
