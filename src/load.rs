//! Reading policy files from disk: the only I/O of the compiler. A path is a file or a
//! directory (every `*.writ` below it, recursively, in sorted order). Problems are
//! diagnostics, never panics: a missing path, an unreadable file, invalid UTF-8.

use crate::diag::{Diagnostic, codes};
use crate::syntax::span::{SourceMap, Span};
use std::path::{Path, PathBuf};

/// How deep directory walking goes (guards against pathological trees).
const MAX_DIR_DEPTH: usize = 64;

/// Source files read from disk, plus problems met while reading them.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads every path (files, or directories searched recursively for `*.writ`).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            let before = files.len();
            walk(p, 0, &mut files);
            if files.len() == before {
                loaded.fail(p, "directory contains no `.writ` files".into());
            }
        } else if p.exists() {
            files.push(normalize(p));
        } else {
            loaded.fail(p, "no such file or directory".into());
        }
    }
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.clone()));
    for f in files {
        loaded.read(&f);
    }
    loaded
}

impl Loaded {
    fn fail(&mut self, path: &Path, why: String) {
        let file = self.sources.add(display(path), String::new());
        self.diagnostics.push(Diagnostic::new(
            codes::CANNOT_READ,
            Span::new(file, 0, 0),
            format!("cannot read `{}`: {why}", display(path)),
        ));
    }

    /// Reads one file into the source map.
    pub fn read(&mut self, path: &Path) {
        match std::fs::read(path) {
            Ok(bytes) => {
                self.add_bytes(display(path), bytes);
            }
            Err(e) => self.fail(path, e.to_string()),
        }
    }

    /// Adds a file's bytes (see [`crate::syntax::add_source`]).
    pub fn add_bytes(&mut self, name: String, bytes: Vec<u8>) -> crate::syntax::span::FileId {
        let (id, diag) = crate::syntax::add_source(&mut self.sources, name, bytes);
        self.diagnostics.extend(diag);
        id
    }

    /// True when the file could be read as text (it may still have syntax errors).
    pub fn is_readable(&self, file: crate::syntax::span::FileId) -> bool {
        !self
            .diagnostics
            .iter()
            .any(|d| d.primary.span.file == file && (d.code == codes::INVALID_UTF8 || d.code == codes::CANNOT_READ))
    }
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DIR_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ty) = e.file_type() else { continue };
        if ty.is_dir() {
            walk(&path, depth + 1, out);
        } else if path.extension().is_some_and(|x| x == "writ") && path.is_file() {
            out.push(normalize(&path));
        }
    }
}

/// Resolves `.` and `..` lexically, so one file has one name however it is reached.
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

/// Resolves `import "./x.writ" as m` relative to the importing file's directory.
pub struct FsResolver;

impl crate::sema::Resolver for FsResolver {
    fn read(&mut self, from: &str, path: &str) -> Result<(String, Vec<u8>), String> {
        let base = Path::new(from).parent().unwrap_or_else(|| Path::new(""));
        let full = normalize(&base.join(path));
        let name = display(&full);
        std::fs::read(&full).map(|bytes| (name, bytes)).map_err(|e| format!("cannot read `{}`: {e}", display(&full)))
    }
}
