//! Byte spans and the source map that turns them into lines and columns on demand.

use std::fmt;

/// Identifies one source file inside a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct FileId(pub u32);

/// A half-open byte range `[start, end)` in one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Span {
        Span { file, start: clamp_u32(start), end: clamp_u32(end.max(start)) }
    }

    /// The smallest span covering both (they must be in the same file).
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    pub fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

fn clamp_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A value with the span it came from. Equality ignores the span, so two trees parsed from
/// differently formatted text compare equal (Cedar's `Node<T>`).
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    pub node: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(node: T, span: Span) -> Self {
        Spanned { node, span }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T: fmt::Display> fmt::Display for Spanned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.node.fmt(f)
    }
}

/// One file's text, with its line starts computed once.
#[derive(Clone, Debug)]
pub struct SourceFile {
    pub name: String,
    pub text: String,
    line_starts: Vec<u32>,
    /// Per line, whether it is all ASCII: then columns are byte counts, found without
    /// reading the line (so many positions on one long line cost no more than on short ones).
    ascii_lines: Vec<bool>,
}

/// A line/column position. `line` and both columns are zero-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    /// Column in UTF-16 code units (what LSP expects).
    pub utf16: u32,
    /// Column in Unicode scalar values (what a terminal user counts).
    pub chars: u32,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> SourceFile {
        let text = text.into();
        let mut line_starts = vec![0u32];
        let mut ascii_lines = Vec::new();
        let mut ascii = true;
        for (i, b) in text.bytes().enumerate() {
            ascii &= b.is_ascii();
            if b == b'\n' {
                line_starts.push(clamp_u32(i + 1));
                ascii_lines.push(ascii);
                ascii = true;
            }
        }
        ascii_lines.push(ascii);
        SourceFile { name: name.into(), text, line_starts, ascii_lines }
    }

    /// The zero-based line of a byte offset: `line_col(offset).line`, without counting
    /// columns.
    pub fn line(&self, offset: u32) -> u32 {
        let offset = clamp_u32((offset as usize).min(self.text.len()));
        match self.line_starts.binary_search(&offset) {
            Ok(l) => clamp_u32(l),
            Err(l) => clamp_u32(l.saturating_sub(1)),
        }
    }

    /// Line and columns of a byte offset (clamped to the text and to a char boundary).
    pub fn line_col(&self, offset: u32) -> LineCol {
        let mut offset = (offset as usize).min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.line_starts.binary_search(&clamp_u32(offset)) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        };
        let start = self.line_starts.get(line).copied().unwrap_or(0) as usize;
        if self.ascii_lines.get(line).copied().unwrap_or(false) {
            let col = clamp_u32(offset.saturating_sub(start));
            return LineCol { line: clamp_u32(line), utf16: col, chars: col };
        }
        let prefix = self.text.get(start..offset).unwrap_or("");
        LineCol {
            line: clamp_u32(line),
            utf16: clamp_u32(prefix.encode_utf16().count()),
            chars: clamp_u32(prefix.chars().count()),
        }
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }
}

/// All files of one compilation. Spans point into it by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn new() -> SourceMap {
        SourceMap::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        self.files.push(SourceFile::new(name, text));
        FileId(clamp_u32(self.files.len() - 1))
    }

    pub fn get(&self, id: FileId) -> Option<&SourceFile> {
        self.files.get(id.0 as usize)
    }

    pub fn files(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate().map(|(i, f)| (FileId(clamp_u32(i)), f))
    }

    pub fn name(&self, id: FileId) -> &str {
        self.get(id).map(|f| f.name.as_str()).unwrap_or("<unknown>")
    }

    /// The text a span covers ("" if it is out of range).
    pub fn snippet(&self, span: Span) -> &str {
        self.get(span.file).and_then(|f| f.text.get(span.range())).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_utf16_and_chars() {
        let f = SourceFile::new("a", "ab\n\u{1F600}x\ny");
        assert_eq!(f.line_col(0), LineCol { line: 0, utf16: 0, chars: 0 });
        assert_eq!(f.line_col(3), LineCol { line: 1, utf16: 0, chars: 0 });
        // after the emoji (4 bytes, 2 UTF-16 units, 1 char)
        assert_eq!(f.line_col(7), LineCol { line: 1, utf16: 2, chars: 1 });
        // inside the emoji: clamped back to its start
        assert_eq!(f.line_col(5), LineCol { line: 1, utf16: 0, chars: 0 });
        assert_eq!(f.line_col(9), LineCol { line: 2, utf16: 0, chars: 0 });
        assert_eq!(f.line_col(999), LineCol { line: 2, utf16: 1, chars: 1 });
        // An ASCII line after a non-ASCII one, and a non-ASCII last line.
        let f = SourceFile::new("b", "\u{e9}\nabc\nx\u{e9}y");
        assert_eq!(f.line_col(5), LineCol { line: 1, utf16: 2, chars: 2 });
        assert_eq!(f.line_col(10), LineCol { line: 2, utf16: 2, chars: 2 });
    }

    #[test]
    fn spanned_equality_ignores_spans() {
        let a = Spanned::new(1, Span::new(FileId(0), 0, 1));
        let b = Spanned::new(1, Span::new(FileId(3), 7, 9));
        assert_eq!(a, b);
    }
}
