//! Reading policy files from disk: the only I/O of the compiler. A path is a file or a
//! directory (every `*.writ` below it, recursively, in sorted order). Problems are
//! diagnostics, never panics: a missing path, an unreadable file, invalid UTF-8.
//!
//! Every file read belongs to a **policy root**: the directory given, when loading a
//! directory; the directory of the file, when loading a file given by name. Nothing outside
//! the roots is read: a `*.writ` symbolic link in a directory that leads out of it is not
//! followed, and path imports ([`FsResolver`]) may not be absolute nor leave the importing
//! file's root, symbolic links resolved (E0217). So a host checking a policy set it does not
//! trust never shows another file of its machine in diagnostics.

use crate::diag::{Diagnostic, codes};
use crate::sema::ImportError;
use crate::syntax::span::{SourceMap, Span};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

/// How deep directory walking goes (guards against pathological trees).
const MAX_DIR_DEPTH: usize = 64;

/// A policy root: the directory as given (for messages) and resolved (for the tests).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Root {
    shown: String,
    real: PathBuf,
}

/// Source files read from disk, plus problems met while reading them.
#[derive(Debug, Default)]
pub struct Loaded {
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    /// The roots of each file read, by its name in `sources` (several when two paths given
    /// reach the same file).
    roots: HashMap<String, Vec<Root>>,
}

/// [`compile_paths`], with the files that were given (not imported): the roots of the set.
pub fn compile_paths_rooted<P: AsRef<Path>>(
    paths: &[P],
) -> (SourceMap, Option<crate::ir::PolicySet>, Vec<Diagnostic>, Vec<crate::syntax::span::FileId>) {
    let loaded = load_paths(paths);
    let files: Vec<_> = loaded.sources.files().map(|(id, _)| id).filter(|id| loaded.is_readable(*id)).collect();
    let mut resolver = loaded.resolver();
    let mut diags = loaded.diagnostics;
    let mut sources = loaded.sources;
    let checked = crate::sema::check(&mut sources, &files, &mut resolver);
    diags.extend(checked.diagnostics);
    crate::diag::sort(&mut diags);
    let policy = if crate::diag::has_errors(&diags) { None } else { checked.policy };
    (sources, policy, diags, files)
}

/// Path imports resolved against files already loaded (by the names loading gave them):
/// for checking again, in memory, a policy set that was read from disk (`writ eval --expr`).
/// Nothing is read from the file system.
pub struct MapResolver<'a>(pub &'a SourceMap);

impl crate::sema::Resolver for MapResolver<'_> {
    fn read(&mut self, from: &str, path: &str) -> Result<(String, Vec<u8>), ImportError> {
        let rel = Path::new(path);
        if rel.has_root() {
            return Err(ImportError::OutsideRoot("an absolute path".into()));
        }
        let base = Path::new(from).parent().unwrap_or_else(|| Path::new(""));
        let name = display(&normalize(&base.join(rel)));
        match self.0.files().find(|(_, f)| f.name == name) {
            Some((_, f)) => Ok((name, f.text.as_bytes().to_vec())),
            None => Err(ImportError::Unreadable(format!("`{name}` was not loaded"))),
        }
    }
}

/// Reads and checks a policy set; the IR is there when there are no errors.
pub fn compile_paths<P: AsRef<Path>>(paths: &[P]) -> (SourceMap, Option<crate::ir::PolicySet>, Vec<Diagnostic>) {
    let (sources, policy, diags, _) = compile_paths_rooted(paths);
    (sources, policy, diags)
}

/// Reads every path (files, or directories searched recursively for `*.writ`).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    let mut loaded = Loaded::default();
    let mut files: Vec<(PathBuf, Root)> = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            let Some(root) = root_of(p) else {
                loaded.fail(p, "cannot resolve the directory".into());
                continue;
            };
            let found = writ_files(p, &Walk::POLICIES);
            if found.is_empty() {
                loaded.fail(p, "directory contains no `.writ` files".into());
            }
            for f in found {
                if within(&f, &root) {
                    files.push((normalize(&f), root.clone()));
                } else {
                    loaded.outside(&f, &root);
                }
            }
        } else if p.exists() {
            let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
            match root_of(dir) {
                Some(root) => files.push((normalize(p), root)),
                None => loaded.fail(p, "cannot resolve the file's directory".into()),
            }
        } else {
            loaded.fail(p, "no such file or directory".into());
        }
    }
    let mut order: Vec<PathBuf> = Vec::new();
    for (f, root) in files {
        let roots = loaded.roots.entry(display(&f)).or_default();
        if roots.is_empty() {
            order.push(f);
        }
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    for f in order {
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

    /// E0217 for a file found in a directory that leads outside it (a symbolic link).
    fn outside(&mut self, path: &Path, root: &Root) {
        let file = self.sources.add(display(path), String::new());
        self.diagnostics.push(
            Diagnostic::new(
                codes::IMPORT_OUTSIDE_ROOT,
                Span::new(file, 0, 0),
                format!("`{}` leads outside the policy root `{}`; it was not read", display(path), root.shown),
            )
            .with_help("a symbolic link in a policy directory must point inside it"),
        );
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
        !self.diagnostics.iter().any(|d| {
            d.primary.span.file == file
                && (d.code == codes::INVALID_UTF8
                    || d.code == codes::CANNOT_READ
                    || d.code == codes::IMPORT_OUTSIDE_ROOT)
        })
    }

    /// The resolver for the path imports of these files: each file may import only inside
    /// its own roots.
    pub fn resolver(&self) -> FsResolver {
        FsResolver { roots: self.roots.clone() }
    }
}

/// The root for directory `dir`, or `None` if it cannot be resolved.
fn root_of(dir: &Path) -> Option<Root> {
    let real = std::fs::canonicalize(dir).ok()?;
    Some(Root { shown: display(&normalize(dir)), real })
}

/// Whether `path` (symbolic links resolved) lies inside the root.
fn within(path: &Path, root: &Root) -> bool {
    std::fs::canonicalize(path).is_ok_and(|real| real.starts_with(&root.real))
}

/// How [`writ_files`] walks a directory.
#[derive(Clone, Copy, Debug)]
pub struct Walk {
    /// How deep it goes (guards against pathological trees).
    pub max_depth: usize,
    /// How many files it returns at the most.
    pub max_files: usize,
    /// Directories it does not enter, by name.
    pub skip_dir: fn(&std::ffi::OsStr) -> bool,
    /// Whether a symbolic link to a file counts (a link to a directory is never followed).
    pub file_links: bool,
}

impl Walk {
    /// How a policy set is loaded: hidden directories (`.git`, editors' backups, the
    /// timestamped copies of a Kubernetes ConfigMap volume) hold no policies of the set;
    /// links to files count.
    pub const POLICIES: Walk = Walk {
        max_depth: MAX_DIR_DEPTH,
        max_files: usize::MAX,
        skip_dir: |name| name.to_string_lossy().starts_with('.'),
        file_links: true,
    };
}

/// Every `*.writ` file below `dir`, sorted by name within each directory.
pub fn writ_files(dir: &Path, how: &Walk) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, how, 0, &mut out);
    out
}

fn walk(dir: &Path, how: &Walk, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > how.max_depth || out.len() >= how.max_files {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let Ok(ty) = e.file_type() else { continue };
        if ty.is_dir() {
            if !(how.skip_dir)(&e.file_name()) {
                walk(&path, how, depth + 1, out);
            }
        } else if path.extension().is_some_and(|x| x == "writ")
            && (ty.is_file() || (how.file_links && ty.is_symlink() && path.is_file()))
            && out.len() < how.max_files
        {
            out.push(path);
        }
    }
}

/// Resolves `.` and `..` lexically, so one file has one name however it is reached.
pub fn normalize(path: &Path) -> PathBuf {
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

/// Resolves `import "./x.writ" as m` relative to the importing file's directory, inside the
/// importing file's policy roots (see the module documentation); a module read this way
/// imports inside the roots of the file that imported it.
#[derive(Debug, Default)]
pub struct FsResolver {
    roots: HashMap<String, Vec<Root>>,
}

impl crate::sema::Resolver for FsResolver {
    fn read(&mut self, from: &str, path: &str) -> Result<(String, Vec<u8>), ImportError> {
        let rel = Path::new(path);
        if rel.has_root() || rel.components().any(|c| matches!(c, Component::Prefix(_) | Component::RootDir)) {
            return Err(ImportError::OutsideRoot(
                "an absolute path; write the path relative to the importing file".into(),
            ));
        }
        let roots = self.roots.get(from).cloned().unwrap_or_default();
        let Some(first) = roots.first() else {
            return Err(ImportError::OutsideRoot(format!("`{from}` has no policy root to import from")));
        };
        let outside = || ImportError::OutsideRoot(format!("`{path}` leads outside the policy root `{}`", first.shown));
        let base = Path::new(from).parent().unwrap_or_else(|| Path::new(""));
        let full = normalize(&base.join(rel));
        let name = display(&full);
        let unreadable = |e: std::io::Error| ImportError::Unreadable(format!("cannot read `{name}`: {e}"));
        // The importing file's directory, resolved; then the path joined to it, `..` taken
        // lexically: outside every root, nothing is looked at.
        let dir = if base.as_os_str().is_empty() { Path::new(".") } else { base };
        let real_dir = std::fs::canonicalize(dir).map_err(unreadable)?;
        let lexical = normalize(&real_dir.join(rel));
        if !roots.iter().any(|r| lexical.starts_with(&r.real)) {
            return Err(outside());
        }
        // Inside lexically; symbolic links resolved, it must still be inside.
        let real = std::fs::canonicalize(&lexical).map_err(unreadable)?;
        let inside: Vec<Root> = roots.iter().filter(|r| real.starts_with(&r.real)).cloned().collect();
        if inside.is_empty() {
            return Err(outside());
        }
        let bytes = std::fs::read(&real).map_err(unreadable)?;
        let entry = self.roots.entry(name.clone()).or_default();
        for r in inside {
            if !entry.contains(&r) {
                entry.push(r);
            }
        }
        Ok((name, bytes))
    }
}
