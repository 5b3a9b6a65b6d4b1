//! Files the server shows the editor that are not in the workspace: the long explanation of
//! each diagnostic code (the target of `codeDescription.href`) and the standard library's
//! source (the target of "go to definition" on `time.business_hours`). They are written
//! once per server version into `$TMPDIR/writ-lsp-VERSION/` (`explain/E0203.md`,
//! `std/time.writ`) and linked as `file:` URIs, so any editor opens them, offline. When the
//! directory cannot be written, diagnostics carry no link (the code is still shown, and
//! `writ explain CODE` prints the same text).

use crate::text::path_to_uri;
use lsp_types::Uri;
use std::path::PathBuf;
use std::sync::OnceLock;
use writ::unstable::sema::stdlib;

fn dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("writ-lsp-{}", env!("CARGO_PKG_VERSION")));
        write_all(&dir).ok().map(|()| dir)
    })
    .as_ref()
}

fn write_all(dir: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir.join("explain"))?;
    std::fs::create_dir_all(dir.join("std"))?;
    for c in writ::diag::codes::ALL {
        let text = format!("# {} ({}): {}\n\n{}\n", c.as_str(), c.severity().as_str(), c.title(), c.explanation());
        write_if_changed(&dir.join("explain").join(format!("{}.md", c.as_str())), &text)?;
    }
    for name in stdlib::names() {
        if let Some(src) = stdlib::source(name) {
            write_if_changed(&dir.join("std").join(format!("{name}.writ")), src)?;
        }
    }
    Ok(())
}

fn write_if_changed(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(());
    }
    // Written whole under another name and renamed, so a reader never sees half a file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// The URI of the explanation of a diagnostic code.
pub fn explain_uri(code: &str) -> Option<Uri> {
    path_to_uri(&dir()?.join("explain").join(format!("{code}.md")))
}

/// The URI of a standard library module's source (`time.writ`).
pub fn std_uri(file: &str) -> Option<Uri> {
    path_to_uri(&dir()?.join("std").join(file))
}
