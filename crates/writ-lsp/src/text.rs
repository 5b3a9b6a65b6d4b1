//! Positions and text: LSP positions (line, character in the negotiated encoding) to byte
//! offsets and back, incremental edits, and `file:` URIs to paths and back.

use lsp_types::{Position, Range, Uri};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// How `Position::character` counts: UTF-16 code units (the default of LSP) or bytes (when
/// the client offers `utf-8` in `general.positionEncodings`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
}

/// A text with its line starts, for position conversions.
#[derive(Clone, Debug, Default)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(text.bytes().enumerate().filter(|(_, b)| *b == b'\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The byte offset of an LSP position, clamped to the text: a line past the end is the
    /// end of the text, a character past the end of its line is the end of the line, and an
    /// offset inside a character moves back to its start.
    pub fn offset(&self, text: &str, pos: Position, enc: Encoding) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else { return text.len() };
        let end = self.starts.get(pos.line as usize + 1).map_or(text.len(), |e| e.saturating_sub(1));
        let line = text.get(start..end.max(start)).unwrap_or("");
        let want = pos.character as usize;
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= want {
                return start + i;
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
            };
            if units > want {
                // Inside a character: its start.
                return start + i;
            }
        }
        start + line.len()
    }

    /// The LSP position of a byte offset (clamped to the text and to a character boundary).
    pub fn position(&self, text: &str, offset: usize, enc: Encoding) -> Position {
        let mut offset = offset.min(text.len());
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&offset) {
            Ok(l) => l,
            Err(l) => l.saturating_sub(1),
        };
        let start = self.starts.get(line).copied().unwrap_or(0).min(offset);
        let prefix = text.get(start..offset).unwrap_or("");
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.encode_utf16().count(),
        };
        Position { line: clamp(line), character: clamp(character) }
    }

    pub fn range(&self, text: &str, start: usize, end: usize, enc: Encoding) -> Range {
        Range { start: self.position(text, start, enc), end: self.position(text, end.max(start), enc) }
    }
}

fn clamp(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Applies one change of `textDocument/didChange`: a range replaced, or (no range) the
/// whole text.
pub fn apply_change(text: &mut String, range: Option<Range>, new: &str, enc: Encoding) {
    match range {
        None => *text = new.to_string(),
        Some(r) => {
            let idx = LineIndex::new(text);
            let a = idx.offset(text, r.start, enc);
            let b = idx.offset(text, r.end, enc).max(a);
            text.replace_range(a..b, new);
        }
    }
}

/// The path of a `file:` URI (percent-decoded), or `None` for other schemes.
pub fn uri_to_path(uri: &Uri) -> Option<PathBuf> {
    let s = uri.as_str();
    let rest = s.strip_prefix("file://")?;
    // `file:///p` (empty authority) or `file://localhost/p`.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    if !rest.starts_with('/') {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let bytes = percent_decode(rest)?;
    let decoded = String::from_utf8(bytes).ok()?;
    Some(PathBuf::from(decoded))
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

/// The `file:` URI of an absolute path.
pub fn path_to_uri(path: &Path) -> Option<Uri> {
    let s = path.to_str()?;
    let mut out = String::from("file://");
    if !s.starts_with('/') {
        out.push('/');
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_both_encodings() {
        let text = "ab\n\u{1F600}x\u{e9}y\nz";
        let idx = LineIndex::new(text);
        // after the emoji: 2 UTF-16 units, 4 bytes
        assert_eq!(idx.position(text, 7, Encoding::Utf16), Position { line: 1, character: 2 });
        assert_eq!(idx.position(text, 7, Encoding::Utf8), Position { line: 1, character: 4 });
        assert_eq!(idx.offset(text, Position { line: 1, character: 2 }, Encoding::Utf16), 7);
        assert_eq!(idx.offset(text, Position { line: 1, character: 4 }, Encoding::Utf8), 7);
        // inside the emoji: its start
        assert_eq!(idx.offset(text, Position { line: 1, character: 1 }, Encoding::Utf16), 3);
        // past the line's end: the end of the line; past the last line: the end of the text
        assert_eq!(idx.offset(text, Position { line: 0, character: 99 }, Encoding::Utf16), 2);
        assert_eq!(idx.offset(text, Position { line: 9, character: 0 }, Encoding::Utf16), text.len());
        assert_eq!(idx.position(text, text.len(), Encoding::Utf16), Position { line: 2, character: 1 });
    }

    #[test]
    fn incremental_changes_apply() {
        let mut t = String::from("permit a;\nforbid b;");
        let r = Range { start: Position { line: 1, character: 7 }, end: Position { line: 1, character: 8 } };
        apply_change(&mut t, Some(r), "cc", Encoding::Utf16);
        assert_eq!(t, "permit a;\nforbid cc;");
        apply_change(&mut t, None, "x", Encoding::Utf16);
        assert_eq!(t, "x");
    }

    #[test]
    fn file_uris_round_trip() {
        let p = PathBuf::from("/tmp/a b/ü.writ");
        let u = path_to_uri(&p).unwrap();
        assert_eq!(u.as_str(), "file:///tmp/a%20b/%C3%BC.writ");
        assert_eq!(uri_to_path(&u).unwrap(), p);
        assert_eq!(uri_to_path(&Uri::from_str("untitled:Untitled-1").unwrap()), None);
    }
}
