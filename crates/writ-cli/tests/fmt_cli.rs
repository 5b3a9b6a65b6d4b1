//! `writ fmt`'s file handling (`--check`, `-`, syntax errors, atomic rewrite), through
//! `writ_cli::fmt::run` on temporary directories. The formatter itself: `tests/fmt.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

// ------------------------------------------------------------------------------ command

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("writ-fmt-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(paths: &[PathBuf], check: bool, stdin: &str) -> writ_cli::fmt::Outcome {
    writ_cli::fmt::run(paths, check, &mut stdin.as_bytes(), false)
}

const MESSY: &str = "permit A to x on B when a  and b;\n";
const TIDY: &str = "permit A to x on B\n  when a\n   and b;\n";

#[test]
fn command_rewrites_files_and_directories() {
    let dir = TempDir::new("rewrite");
    let a = dir.write("a.writ", MESSY);
    let b = dir.write("sub/b.writ", MESSY);
    let tidy = dir.write("sub/tidy.writ", TIDY);
    let other = dir.write("notes.txt", MESSY);
    let o = run(std::slice::from_ref(&dir.0), false, "");
    assert_eq!((o.code, o.stdout.as_str(), o.stderr.as_str()), (0, "", ""));
    assert_eq!(std::fs::read_to_string(&a).unwrap(), TIDY);
    assert_eq!(std::fs::read_to_string(&b).unwrap(), TIDY);
    assert_eq!(std::fs::read_to_string(&tidy).unwrap(), TIDY);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), MESSY, "only *.writ files below a directory");
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(dir.0.join("sub"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    // A file named explicitly is formatted whatever its extension.
    let o = run(std::slice::from_ref(&other), false, "");
    assert_eq!(o.code, 0);
    assert_eq!(std::fs::read_to_string(&other).unwrap(), TIDY);
}

#[cfg(unix)]
#[test]
fn command_keeps_permissions_and_replaces_the_file_atomically() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = TempDir::new("atomic");
    let a = dir.write("a.writ", MESSY);
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o640)).unwrap();
    let inode = std::fs::metadata(&a).unwrap().ino();
    let o = run(std::slice::from_ref(&a), false, "");
    assert_eq!(o.code, 0, "{}", o.stderr);
    let meta = std::fs::metadata(&a).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    // Renamed over, not written in place: a new inode.
    assert_ne!(meta.ino(), inode);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), TIDY);
    // An unchanged file is not touched at all.
    let o = run(std::slice::from_ref(&a), false, "");
    assert_eq!(o.code, 0);
    assert_eq!(std::fs::metadata(&a).unwrap().ino(), meta.ino());
}

#[test]
fn command_check_names_files_and_writes_nothing() {
    let dir = TempDir::new("check");
    let a = dir.write("a.writ", MESSY);
    let t = dir.write("t.writ", TIDY);
    let o = run(&[a.clone(), t.clone()], true, "");
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout, format!("{}\n", a.display()));
    assert!(o.stderr.contains("1 file would be reformatted"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&a).unwrap(), MESSY);
    let o = run(&[t], true, "");
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
}

#[test]
fn command_reads_stdin_and_writes_stdout() {
    let o = run(&[PathBuf::from("-")], false, MESSY);
    assert_eq!((o.code, o.stdout.as_str(), o.stderr.as_str()), (0, TIDY, ""));
    let o = run(&[PathBuf::from("-")], true, MESSY);
    assert_eq!((o.code, o.stdout.as_str()), (1, "<stdin>\n"));
    let o = run(&[PathBuf::from("-")], true, TIDY);
    assert_eq!((o.code, o.stdout.as_str()), (0, ""));
    let o = run(&[PathBuf::from("-")], false, "permit A to;");
    assert_eq!((o.code, o.stdout.as_str()), (1, ""));
    assert!(o.stderr.contains("<stdin>") && o.stderr.contains("error"), "{}", o.stderr);
}

#[test]
fn command_leaves_files_with_syntax_errors_untouched() {
    let dir = TempDir::new("syntax");
    let bad = "permit A to x on B when a and;\n\npermit   A to y on B;\n";
    let p = dir.write("bad.writ", bad);
    let good = dir.write("good.writ", MESSY);
    let o = run(std::slice::from_ref(&dir.0), false, "");
    assert_eq!(o.code, 1);
    assert_eq!(std::fs::read_to_string(&p).unwrap(), bad);
    assert_eq!(std::fs::read_to_string(&good).unwrap(), TIDY, "the other files are still formatted");
    assert!(o.stderr.contains("bad.writ") && o.stderr.contains("unexpected"), "{}", o.stderr);
    assert!(o.stderr.contains("not formatted"), "{}", o.stderr);
}

#[test]
fn command_exits_2_for_unreadable_paths() {
    let dir = TempDir::new("missing");
    let good = dir.write("good.writ", MESSY);
    let o = run(&[dir.0.join("nope.writ"), good.clone()], false, "");
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("nope.writ") && o.stderr.contains("cannot read"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&good).unwrap(), TIDY);
    let bytes = dir.0.join("latin1.writ");
    std::fs::write(&bytes, b"permit A to x on B when a == \"\xe9\";").unwrap();
    let o = run(&[bytes], false, "");
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("not valid UTF-8"), "{}", o.stderr);
}
