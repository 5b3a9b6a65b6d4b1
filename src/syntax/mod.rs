//! The syntax layer: spans and source map, the logos lexer, the lalrpop grammar glue and the
//! AST. It knows nothing of types, evaluation, the JIT or editors.

pub mod ast;
pub mod lexer;
pub mod parser;
pub mod span;

pub use parser::{Parsed, parse_expr, parse_file};
pub use span::{FileId, SourceFile, SourceMap, Span, Spanned};
