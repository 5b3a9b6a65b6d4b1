//! `writ fmt [--check] PATHS…|-`: the file handling around [`writ::unstable::fmt::format_source`].
//!
//! * A path is a file, or a directory: every `*.writ` below it (sorted, symbolic links not
//!   followed). `-` reads standard input and writes the formatted text to standard output.
//! * A file is rewritten only when its text changes, atomically: the new text goes to a
//!   temporary file in the same directory, which takes the old file's permissions and is
//!   renamed over it. Before anything is written, the output is checked to parse to the same
//!   tree with the same comments ([`writ::unstable::fmt::verify`]).
//! * A file with syntax errors is left untouched; its diagnostics go to standard error.
//! * `--check` writes nothing and names each file that would change on standard output.
//!
//! Exit code: 0 when all is well (with `--check`: nothing would change); 1 when a file has
//! syntax errors, or would change under `--check`; 2 when a path cannot be read or written.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use writ::SourceMap;
use writ::diag::render;
use writ::unstable::fmt::{FormatError, format_source, verify};
use writ::unstable::load::{Walk, writ_files};

/// How directories are searched for `*.writ` files: every directory (up to 64 deep),
/// symbolic links not followed (the formatter writes the files it finds).
const WALK: Walk = Walk { max_depth: 64, max_files: usize::MAX, skip_dir: |_| false, file_links: false };

/// What a run printed and its exit code, for the caller to write out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Outcome {
    fn fail(&mut self, code: u8, message: String) {
        self.stderr.push_str(&message);
        self.code = self.code.max(code);
    }
}

/// Runs `writ fmt`. `stdin` is read only for the path `-`; `color` colours diagnostics.
pub fn run(paths: &[PathBuf], check: bool, stdin: &mut dyn Read, color: bool) -> Outcome {
    let mut out = Outcome::default();
    let mut changed = 0usize;
    for path in paths {
        if path.as_os_str() == "-" {
            let mut text = String::new();
            if let Err(e) = stdin.read_to_string(&mut text) {
                out.fail(2, format!("cannot read standard input: {e}\n"));
                continue;
            }
            if let Some(formatted) = format_checked("<stdin>", &text, color, &mut out) {
                if !check {
                    out.stdout.push_str(&formatted);
                } else if formatted != text {
                    out.stdout.push_str("<stdin>\n");
                    changed += 1;
                    out.code = out.code.max(1);
                }
            }
            continue;
        }
        let files = if path.is_dir() {
            if let Err(e) = std::fs::read_dir(path) {
                out.fail(2, format!("cannot read `{}`: {e}\n", path.display()));
                continue;
            }
            writ_files(path, &WALK)
        } else if path.exists() {
            vec![path.clone()]
        } else {
            out.fail(2, format!("cannot read `{}`: no such file or directory\n", path.display()));
            continue;
        };
        for file in files {
            if format_file(&file, check, color, &mut out) {
                changed += 1;
            }
        }
    }
    if check && changed > 0 {
        let noun = if changed == 1 { "file" } else { "files" };
        out.stderr.push_str(&format!("{changed} {noun} would be reformatted\n"));
    }
    out
}

/// Formats one file in place (or, with `check`, names it). True when it changed or would.
fn format_file(path: &Path, check: bool, color: bool, out: &mut Outcome) -> bool {
    let shown = path.display().to_string();
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            out.fail(2, format!("cannot read `{shown}`: {e}\n"));
            return false;
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let offset = e.utf8_error().valid_up_to();
            out.fail(
                1,
                format!("`{shown}` is not valid UTF-8 (first invalid byte at offset {offset}); not formatted\n"),
            );
            return false;
        }
    };
    let Some(formatted) = format_checked(&shown, &text, color, out) else { return false };
    if formatted == text {
        return false;
    }
    if check {
        out.stdout.push_str(&format!("{shown}\n"));
        out.code = out.code.max(1);
    } else if let Err(e) = write_atomically(path, &formatted) {
        out.fail(2, format!("cannot write `{shown}`: {e}\n"));
    }
    true
}

/// The formatted text, checked; `None` (reported) when the text is not formatted.
fn format_checked(name: &str, text: &str, color: bool, out: &mut Outcome) -> Option<String> {
    let result = format_source(text).and_then(|formatted| verify(text, &formatted).map(|()| formatted));
    match result {
        Ok(formatted) => Some(formatted),
        Err(FormatError::Syntax(diags)) => {
            let mut sources = SourceMap::new();
            sources.add(name, text);
            let mut s = render::render(&diags, &sources, color);
            s.push_str(&format!("`{name}` not formatted: {}\n", render::summary(&diags)));
            out.fail(1, s);
            None
        }
        Err(e @ FormatError::Internal(_)) => {
            out.fail(1, format!("`{name}`: {e}\n"));
            None
        }
    }
}

/// Replaces `path`'s contents by `text` through a temporary file in the same directory that
/// takes the file's permissions and is renamed over it.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or_else(|| Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let permissions = std::fs::metadata(path)?.permissions();
    let mut attempt = 0u32;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.fmt-{}-{attempt}.tmp", std::process::id()));
        match std::fs::File::create_new(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::set_permissions(&tmp, permissions))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}
