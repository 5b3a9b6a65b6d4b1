use super::*;

fn fmt(src: &str) -> String {
    format_source(src).unwrap()
}

#[test]
fn tokens_and_comments_are_matched() {
    let src = "permit A to x on B // t\n  when ((a and b) and (c)) /* x */;\n";
    assert_eq!(tokens_in_sync(src), Ok(()));
    assert_eq!(fmt(src), "permit A to x on B // t\n  when a\n   and b\n   and c /* x */;\n");
}

#[test]
fn trailing_comments_of_consecutive_lines_align() {
    let src = "schema { context { now: Timestamp, // a\n risk: Int, // b\n approved: Bool? } }";
    assert_eq!(
        fmt(src),
        "schema {\n  context {\n    now: Timestamp, // a\n    risk: Int,      // b\n    approved: Bool?,\n  }\n}\n"
    );
}

#[test]
fn nothing_follows_a_line_comment() {
    // A token after a trailing comment of a token that the layout joins to it moves down.
    assert_eq!(fmt("permit A to x on B when // c\n a;"), "permit A to x on B\n  when // c\n  a;\n");
    assert_eq!(fmt("import std.time // c\n;"), "import std.time // c\n");
}

#[test]
fn blank_lines_collapse_and_go_at_block_edges() {
    assert_eq!(
        fmt("\n\n\nschema {\n\n\n  entity A\n\n\n\n  entity B\n\n}\n\n\n"),
        "schema {\n  entity A\n\n  entity B\n}\n"
    );
}

#[test]
fn doc_comments_stay_with_what_they_document() {
    let src = "schema { entity A { /// the x\n x: Int, y: Int } }";
    let out = fmt(src);
    assert_eq!(out, "schema {\n  entity A {\n    /// the x\n    x: Int,\n    y: Int,\n  }\n}\n");
    verify(src, &out).unwrap();
}

#[test]
fn verify_finds_a_changed_tree_or_lost_comment() {
    assert!(verify("permit A to x on B;", "permit A to x on B;\n").is_ok());
    assert!(matches!(verify("permit A to x on B;", "forbid A to x on B;"), Err(FormatError::Internal(_))));
    assert!(matches!(verify("permit A to x on B; // c", "permit A to x on B;"), Err(FormatError::Internal(_))));
    assert!(matches!(verify("permit A to x on B;", "permit A to"), Err(FormatError::Internal(_))));
    assert!(matches!(verify("permit", "permit A to x on B;"), Err(FormatError::Syntax(_))));
}

#[test]
fn range_on_an_unformatted_neighbour_touches_only_its_item() {
    let src = "permit A to x on B;\npermit   A to y on B;\n";
    let edits = format_range(src, 0..3).unwrap();
    assert_eq!(edits, vec![]);
    let edits = format_range(src, 25..26).unwrap();
    assert_eq!(edits, vec![TextEdit { range: 20..src.len(), new_text: "permit A to y on B;\n".into() }]);
}

/// `WRIT_FMT_DUMP=FILE cargo test --lib fmt::tests::dump -- --ignored --nocapture` prints the
/// formatted file and whether the layout matched its tokens: a debugging aid.
#[test]
#[ignore]
fn dump() {
    let path = std::env::var("WRIT_FMT_DUMP").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    println!("tokens in sync: {:?}", tokens_in_sync(&text));
    let out = format_source(&text).unwrap();
    print!("{out}");
    if let Err(e) = verify(&text, &out) {
        println!("VERIFY: {e}");
    }
}
