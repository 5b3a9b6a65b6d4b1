//! The syntax layer: spans and source map, the logos lexer, the lalrpop grammar glue and the
//! AST. It knows nothing of types, evaluation, the JIT or editors.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod span;

pub use parser::{Parsed, parse_expr, parse_file};
pub use span::{FileId, SourceFile, SourceMap, Span, Spanned};

use crate::diag::{Diagnostic, codes};

/// Adds a file's bytes to the source map. Invalid UTF-8 gives a diagnostic at the first bad
/// byte, and the text is kept (lossily decoded) so the report can show it.
pub fn add_source(map: &mut SourceMap, name: String, bytes: Vec<u8>) -> (FileId, Option<Diagnostic>) {
    match String::from_utf8(bytes) {
        Ok(text) => (map.add(name, text), None),
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let id = map.add(name.clone(), text);
            let d = Diagnostic::new(
                codes::INVALID_UTF8,
                Span::new(id, offset, offset + '\u{FFFD}'.len_utf8()),
                format!("`{name}` is not valid UTF-8 (first invalid byte at offset {offset})"),
            )
            .with_label_message("invalid UTF-8 here");
            (id, Some(d))
        }
    }
}
