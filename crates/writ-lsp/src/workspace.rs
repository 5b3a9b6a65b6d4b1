//! The workspace: the folders the client opened, the open documents (which take the place
//! of the files on disk), and the policy sets found in them, each checked as a whole.
//!
//! A workspace folder may hold several policy sets (`examples/` holds one per example):
//! every directory with a file that declares a `schema { … }` block is the root of a set,
//! which holds the `*.writ` files below it up to the next such directory. Files under no
//! such directory form one set rooted at the workspace folder. A document outside every
//! workspace folder belongs to the sets of its own directory (handled as a folder of its
//! own); a document that is not a file (`untitled:`) is checked alone.

use crate::index::Index;
use crate::text::{Encoding, LineIndex, path_to_uri, uri_to_path};
use lsp_types::Uri;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, OnceLock};
use writ::diag::{Diagnostic, codes};
use writ::unstable::load::{self, normalize};
use writ::unstable::sema::analysis::Analysis;
use writ::unstable::sema::{self, ImportError, Resolver};
use writ::unstable::syntax::lexer::{self, Tok};
use writ::unstable::syntax::{self, FileId, SourceMap, Span};

/// How a workspace folder is searched for `*.writ` files: 32 directories deep, 20,000
/// files at the most, not into hidden directories, `target` or `node_modules`, symbolic
/// links not followed.
const WALK: load::Walk = load::Walk {
    max_depth: 32,
    max_files: 20_000,
    skip_dir: |name| name.to_str().is_some_and(|n| n.starts_with('.') || n == "target" || n == "node_modules"),
    file_links: false,
};

/// An open document.
#[derive(Debug)]
pub struct Doc {
    pub uri: Uri,
    pub text: String,
    pub version: i32,
    pub lines: LineIndex,
}

/// The checked state of one policy set.
pub struct Checked {
    pub root: PathBuf,
    pub sources: SourceMap,
    pub diagnostics: Vec<Diagnostic>,
    pub analysis: Analysis,
    /// The URI of each source file that has one.
    pub uris: HashMap<FileId, Uri>,
    pub files: HashMap<String, FileId>,
    lines: HashMap<FileId, LineIndex>,
    index: OnceLock<Index>,
    /// The hash of the inputs, to skip checking a set that did not change.
    hash: u64,
}

impl Checked {
    pub fn lines(&self, file: FileId) -> Option<(&str, &LineIndex)> {
        Some((self.sources.get(file)?.text.as_str(), self.lines.get(&file)?))
    }

    /// The syntactic index of the set (parsed on first use).
    pub fn index(&self) -> &Index {
        self.index.get_or_init(|| Index::build(&self.sources, &self.analysis))
    }

    pub fn file_of(&self, uri: &Uri) -> Option<FileId> {
        self.files.get(&uri_key(uri)).copied()
    }

    /// The LSP range of a span.
    pub fn range(&self, span: Span, enc: Encoding) -> Option<lsp_types::Range> {
        let (text, lines) = self.lines(span.file)?;
        Some(lines.range(text, span.start as usize, span.end as usize, enc))
    }

    pub fn location(&self, span: Span, enc: Encoding) -> Option<lsp_types::Location> {
        Some(lsp_types::Location { uri: self.uris.get(&span.file)?.clone(), range: self.range(span, enc)? })
    }
}

/// The key a document is known by (its URI's text).
pub fn uri_key(uri: &Uri) -> String {
    uri.as_str().to_string()
}

/// A folder and the policy sets found in it.
#[derive(Default)]
struct Folder {
    sets: Vec<Arc<Checked>>,
    /// URIs that were given diagnostics last time (to clear the ones that have none now).
    published: HashSet<String>,
    /// What `close_broken_items` made of each file's text last time, by file name: the
    /// files an edit did not touch are not parsed again for it.
    closed: Closed,
}

/// File name → (its text, what `close_broken_items` made of it).
type Closed = HashMap<String, (String, Option<String>)>;

/// Diagnostics to push for one file.
pub struct Publish {
    pub uri: Uri,
    pub version: Option<i32>,
    pub diagnostics: Vec<(Arc<Checked>, usize)>,
}

#[derive(Default)]
pub struct Workspace {
    pub folders: Vec<PathBuf>,
    pub docs: HashMap<String, Doc>,
    state: BTreeMap<String, Folder>,
    /// Folders whose sets must be checked again.
    dirty: HashSet<String>,
}

/// The folder key of a document: a workspace folder, its own directory, or its URI.
enum Home {
    Dir(PathBuf),
    Alone(String),
}

impl Workspace {
    pub fn add_folder(&mut self, path: PathBuf) {
        let path = normalize(&path);
        if !self.folders.contains(&path) {
            self.folders.push(path.clone());
        }
        self.dirty.insert(path.display().to_string());
    }

    pub fn remove_folder(&mut self, path: &Path) -> Vec<Uri> {
        let path = normalize(path);
        self.folders.retain(|f| *f != path);
        let key = path.display().to_string();
        self.dirty.remove(&key);
        self.clear_folder(&key)
    }

    fn clear_folder(&mut self, key: &str) -> Vec<Uri> {
        let Some(f) = self.state.remove(key) else { return Vec::new() };
        f.published.iter().filter_map(|u| u.parse().ok()).collect()
    }

    fn home(&self, uri: &Uri) -> Home {
        match uri_to_path(uri) {
            Some(p) => {
                let p = normalize(&p);
                let folder = self.folders.iter().filter(|f| p.starts_with(f)).max_by_key(|f| f.components().count());
                match folder {
                    Some(f) => Home::Dir(f.clone()),
                    None => Home::Dir(p.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf)),
                }
            }
            None => Home::Alone(uri_key(uri)),
        }
    }

    fn home_key(&self, uri: &Uri) -> String {
        match self.home(uri) {
            Home::Dir(d) => d.display().to_string(),
            Home::Alone(k) => k,
        }
    }

    /// Marks the folder of a document as changed.
    pub fn touch(&mut self, uri: &Uri) {
        let key = self.home_key(uri);
        self.dirty.insert(key);
    }

    /// Marks every folder as changed (files changed on disk).
    pub fn touch_all(&mut self) {
        let keys: Vec<String> = self.state.keys().cloned().collect();
        self.dirty.extend(keys);
        self.dirty.extend(self.folders.iter().map(|f| f.display().to_string()));
    }

    pub fn is_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Checks the folders that changed; returns the diagnostics to push (every file that
    /// has diagnostics, and the files whose diagnostics went away).
    pub fn refresh(&mut self) -> Vec<Publish> {
        let dirty: Vec<String> = std::mem::take(&mut self.dirty).into_iter().collect();
        let mut out = Vec::new();
        for key in dirty {
            out.extend(self.refresh_folder(&key));
        }
        out
    }

    fn refresh_folder(&mut self, key: &str) -> Vec<Publish> {
        let alone = self.docs.get(key).filter(|d| uri_to_path(&d.uri).is_none());
        let is_folder = self.folders.iter().any(|f| f.display().to_string() == key);
        let inputs: Vec<SetInput> = if let Some(doc) = alone {
            vec![SetInput {
                root: PathBuf::new(),
                files: vec![(key.to_string(), Some(doc.uri.clone()), Content::Text(doc.text.clone()))],
            }]
        } else {
            let dir = PathBuf::from(key);
            // A folder of its own (a document outside the workspace folders) lives while one
            // of its documents is open.
            let open_here = self.docs.values().any(|d| self.home_key(&d.uri) == key);
            if !is_folder && !open_here {
                return self
                    .clear_folder(key)
                    .into_iter()
                    .map(|uri| Publish { uri, version: None, diagnostics: vec![] })
                    .collect();
            }
            self.collect(&dir, key, is_folder)
        };
        let mut old = self.state.remove(key).unwrap_or_default();
        let mut sets = Vec::new();
        let mut closed = Closed::new();
        for input in inputs {
            let hash = input.hash();
            match old.sets.iter().find(|s| s.hash == hash && s.root == input.root) {
                Some(set) => {
                    for (name, _, _) in &input.files {
                        if let Some(entry) = old.closed.remove(name) {
                            closed.insert(name.clone(), entry);
                        }
                    }
                    sets.push(set.clone());
                }
                None => sets.push(Arc::new(check_set(input, hash, &old.sets, &old.closed, &mut closed))),
            }
        }
        let mut per_uri: BTreeMap<String, Publish> = BTreeMap::new();
        for set in &sets {
            for uri in set.uris.values() {
                per_uri.entry(uri_key(uri)).or_insert_with(|| Publish {
                    uri: uri.clone(),
                    version: None,
                    diagnostics: vec![],
                });
            }
            for (i, d) in set.diagnostics.iter().enumerate() {
                let Some(uri) = set.uris.get(&d.primary.span.file) else { continue };
                if let Some(p) = per_uri.get_mut(&uri_key(uri)) {
                    p.diagnostics.push((set.clone(), i));
                }
            }
        }
        let mut published = HashSet::new();
        let mut out = Vec::new();
        for (k, mut p) in per_uri {
            p.version = self.docs.get(&k).map(|d| d.version);
            let had = old.published.contains(&k);
            if !p.diagnostics.is_empty() || had {
                if !p.diagnostics.is_empty() {
                    published.insert(k);
                }
                out.push(p);
            }
        }
        for k in old.published.difference(&published) {
            if !out.iter().any(|p| uri_key(&p.uri) == *k) {
                if let Ok(uri) = k.parse() {
                    out.push(Publish { uri, version: self.docs.get(k).map(|d| d.version), diagnostics: vec![] });
                }
            }
        }
        // The sets replaced are freed on another thread: dropping a checked set of a
        // thousand rules (its trees, types and names) takes a while, and the diagnostics
        // should not wait for it.
        let replaced = self.state.insert(key.to_string(), Folder { sets, published, closed });
        let stale: Vec<Arc<Checked>> = old.sets.into_iter().chain(replaced.into_iter().flat_map(|f| f.sets)).collect();
        if !stale.is_empty() {
            let _ = std::thread::Builder::new().name("writ-lsp-drop".into()).spawn(move || drop(stale));
        }
        out
    }

    /// The files of a folder (on disk and open), grouped into policy sets.
    fn collect(&self, dir: &Path, key: &str, recursive: bool) -> Vec<SetInput> {
        let mut paths: Vec<PathBuf> = Vec::new();
        if recursive {
            paths = load::writ_files(dir, &WALK);
        } else if let Ok(entries) = std::fs::read_dir(dir) {
            let mut v: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "writ") && p.is_file())
                .collect();
            v.sort();
            paths.extend(v);
        }
        let mut files: BTreeMap<PathBuf, (Option<Uri>, Content)> = BTreeMap::new();
        for p in paths {
            let p = normalize(&p);
            let content = match std::fs::read(&p) {
                Ok(bytes) => Content::Bytes(bytes),
                Err(e) => Content::Unreadable(e.to_string()),
            };
            files.insert(p, (None, content));
        }
        for d in self.docs.values() {
            if self.home_key(&d.uri) != key {
                continue;
            }
            if let Some(p) = uri_to_path(&d.uri) {
                files.insert(normalize(&p), (Some(d.uri.clone()), Content::Text(d.text.clone())));
            }
        }
        // Policy-set roots: directories holding a file that declares a schema.
        let roots: HashSet<PathBuf> = files
            .iter()
            .filter(|(_, (_, c))| declares_schema(c))
            .filter_map(|(p, _)| p.parent().map(Path::to_path_buf))
            .collect();
        let mut groups: BTreeMap<PathBuf, Vec<(String, Option<Uri>, Content)>> = BTreeMap::new();
        for (p, (uri, content)) in files {
            let root = p.ancestors().skip(1).take_while(|a| a.starts_with(dir)).find(|a| roots.contains(*a));
            let root = root.map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
            let uri = uri.or_else(|| path_to_uri(&p));
            groups.entry(root).or_default().push((p.display().to_string(), uri, content));
        }
        groups.into_iter().map(|(root, files)| SetInput { root, files }).collect()
    }

    /// The checked set holding a document.
    pub fn set_of(&self, uri: &Uri) -> Option<(Arc<Checked>, FileId)> {
        let folder = self.state.get(&self.home_key(uri))?;
        folder.sets.iter().find_map(|s| s.file_of(uri).map(|f| (s.clone(), f)))
    }

    /// Every checked set.
    pub fn sets(&self) -> impl Iterator<Item = &Arc<Checked>> {
        self.state.values().flat_map(|f| f.sets.iter())
    }
}

/// Whether a file declares a `schema { … }` block.
fn declares_schema(c: &Content) -> bool {
    let text = match c {
        Content::Text(t) => std::borrow::Cow::Borrowed(t.as_str()),
        Content::Bytes(b) => String::from_utf8_lossy(b),
        Content::Unreadable(_) => return false,
    };
    if !text.contains("schema") {
        return false;
    }
    let lexed = lexer::lex(FileId(0), &text);
    lexed.tokens.windows(2).any(|w| matches!(w, [(_, Tok::Schema, _), (_, Tok::LBrace, _)]))
}

#[derive(Clone, Debug)]
enum Content {
    Text(String),
    Bytes(Vec<u8>),
    Unreadable(String),
}

struct SetInput {
    root: PathBuf,
    /// Name (the path, or the URI of a document that is not a file), URI, content.
    files: Vec<(String, Option<Uri>, Content)>,
}

impl SetInput {
    fn hash(&self) -> u64 {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.root.hash(&mut h);
        for (name, _, c) in &self.files {
            name.hash(&mut h);
            match c {
                Content::Text(t) => t.as_bytes().hash(&mut h),
                Content::Bytes(b) => b.hash(&mut h),
                Content::Unreadable(e) => e.hash(&mut h),
            }
        }
        h.finish()
    }
}

/// Checks one policy set. `before` are the folder's sets of the last check: a file whose
/// text is what it was there keeps its syntax tree. `was` is what `close_broken_items`
/// made of file texts last time; `now` receives it for this set's files.
fn check_set(input: SetInput, hash: u64, before: &[Arc<Checked>], was: &Closed, now: &mut Closed) -> Checked {
    let mut sources = SourceMap::new();
    let mut ids = Vec::new();
    let mut diagnostics = Vec::new();
    let mut uris = HashMap::new();
    let mut files = HashMap::new();
    let mut overlays: HashMap<String, String> = HashMap::new();
    // The texts of files checked with a half-typed item closed (see `close_broken_items`):
    // positions are computed on the text as written.
    let mut written: HashMap<FileId, String> = HashMap::new();
    for (name, uri, content) in input.files {
        let id = match content {
            Content::Text(t) => {
                overlays.insert(name.clone(), t.clone());
                let closed = match was.get(&name) {
                    Some((text, closed)) if *text == t => closed.clone(),
                    _ => close_broken_items(&t),
                };
                now.insert(name.clone(), (t.clone(), closed.clone()));
                let id = match closed {
                    Some(c) => {
                        let id = sources.add(name, c);
                        written.insert(id, t);
                        id
                    }
                    None => sources.add(name, t),
                };
                ids.push(id);
                id
            }
            Content::Bytes(b) => {
                let (id, bad) = syntax::add_source(&mut sources, name, b);
                match bad {
                    Some(d) => diagnostics.push(d),
                    None => ids.push(id),
                }
                id
            }
            Content::Unreadable(why) => {
                let id = sources.add(name.clone(), String::new());
                diagnostics.push(Diagnostic::new(
                    codes::CANNOT_READ,
                    Span::new(id, 0, 0),
                    format!("cannot read `{name}`: {why}"),
                ));
                id
            }
        };
        if let Some(uri) = uri {
            files.insert(uri_key(&uri), id);
            uris.insert(id, uri);
        }
    }
    let mut resolver = BufferResolver { root: input.root.clone(), overlays };
    // A tree of the last check is the parse of the same text under the same file id.
    let reuse = |id: FileId, name: &str, text: &str| {
        before.iter().find_map(|set| {
            set.sources.get(id).filter(|f| f.name == name && f.text == text)?;
            set.analysis.trees.get(&id).cloned()
        })
    };
    let (checked, analysis) = sema::check_with_analysis_reusing(&mut sources, &ids, &mut resolver, &reuse);
    diagnostics.extend(checked.diagnostics);
    writ::diag::sort(&mut diagnostics);
    // Files the checker added (modules imported by path, the standard library).
    let mut lines = HashMap::new();
    for (id, f) in sources.files() {
        lines.insert(id, LineIndex::new(written.get(&id).unwrap_or(&f.text)));
        if uris.contains_key(&id) {
            continue;
        }
        let uri = if let Some(std) = f.name.strip_prefix("<std>/") {
            crate::assets::std_uri(std)
        } else if Path::new(&f.name).is_absolute() {
            path_to_uri(Path::new(&f.name))
        } else {
            None
        };
        if let Some(uri) = uri {
            files.entry(uri_key(&uri)).or_insert(id);
            uris.insert(id, uri);
        }
    }
    Checked { root: input.root, sources, diagnostics, analysis, uris, files, lines, index: OnceLock::new(), hash }
}

/// Path imports for the language server: relative to the importing file, inside the policy
/// root, open documents in place of the files on disk.
struct BufferResolver {
    root: PathBuf,
    overlays: HashMap<String, String>,
}

impl Resolver for BufferResolver {
    fn read(&mut self, from: &str, path: &str) -> Result<(String, Vec<u8>), ImportError> {
        let rel = Path::new(path);
        if rel.has_root() || rel.components().any(|c| matches!(c, Component::Prefix(_) | Component::RootDir)) {
            return Err(ImportError::OutsideRoot(
                "an absolute path; write the path relative to the importing file".into(),
            ));
        }
        let base = Path::new(from).parent().unwrap_or_else(|| Path::new(""));
        let full = normalize(&base.join(rel));
        let name = full.display().to_string();
        if self.root.as_os_str().is_empty() || !full.starts_with(&self.root) {
            return Err(ImportError::OutsideRoot(format!(
                "`{path}` leads outside the policy root `{}`",
                self.root.display()
            )));
        }
        if let Some(text) = self.overlays.get(&name) {
            return Ok((name, text.clone().into_bytes()));
        }
        // Symbolic links resolved, it must still be inside the root.
        let real =
            std::fs::canonicalize(&full).map_err(|e| ImportError::Unreadable(format!("cannot read `{name}`: {e}")))?;
        let real_root = std::fs::canonicalize(&self.root).unwrap_or_else(|_| self.root.clone());
        if !real.starts_with(&real_root) {
            return Err(ImportError::OutsideRoot(format!(
                "`{path}` leads outside the policy root `{}`",
                self.root.display()
            )));
        }
        let bytes = std::fs::read(&real).map_err(|e| ImportError::Unreadable(format!("cannot read `{name}`: {e}")))?;
        Ok((name, bytes))
    }
}

/// Words that start an item when they begin a line.
const ITEM_STARTS: &[&str] = &["@", "permit", "forbid", "escalate", "schema", "intent", "fn", "import"];

/// A rule (or fn) being typed has no `;` yet, so the parser's recovery, which resumes at the
/// next `;`, would swallow the items after it and hide their diagnostics. For the check (not
/// the buffer), the line break before the next line that starts with an item (`@id`,
/// `permit`, …, at column 0) inside such a broken item becomes a `;`: one byte for one byte,
/// so every offset stays valid (lines are counted on the text as written). `None` when
/// nothing needed closing.
fn close_broken_items(text: &str) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    let mut changed = false;
    // One boundary per round; each round parses again (bounded).
    for _ in 0..16 {
        let current = String::from_utf8(bytes.clone()).ok()?;
        let parsed = syntax::parse_file(FileId(0), &current);
        if !parsed.diagnostics.iter().any(Diagnostic::is_error) {
            break;
        }
        let mut fixed = false;
        for item in &parsed.file.items {
            let syntax::ast::Item::Error(span) = item else { continue };
            if let Some(at) = boundary(&current, span.start as usize, span.end as usize) {
                if let Some(b) = bytes.get_mut(at) {
                    *b = b';';
                    fixed = true;
                    break;
                }
            }
        }
        if !fixed {
            break;
        }
        changed = true;
    }
    if !changed {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// The offset of the line break before the first line in `start..end` (after the first)
/// that begins with an item, if the line it ends holds no `//` comment.
fn boundary(text: &str, start: usize, end: usize) -> Option<usize> {
    let region = text.get(start..end.min(text.len()))?;
    let mut offset = start;
    for line in region.split_inclusive('\n') {
        let next = offset + line.len();
        let rest = text.get(next..).unwrap_or("");
        let starts_item = ITEM_STARTS.iter().any(|w| {
            rest.starts_with(w)
                && (*w == "@" || !rest.as_bytes().get(w.len()).is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_'))
        });
        if next < end && line.ends_with('\n') && starts_item && !line.contains("//") {
            return Some(next - 1);
        }
        offset = next;
    }
    None
}
