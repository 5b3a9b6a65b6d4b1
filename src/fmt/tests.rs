use super::*;

#[test]
fn smoke() {
    let out = format_source("permit Agent to  read on Doc when  principal.level>3;").unwrap();
    assert_eq!(out, "permit Agent to read on Doc\n  when principal.level > 3;\n");
}

/// `WRIT_FMT_DUMP=file cargo test --lib fmt::tests::dump -- --ignored --nocapture`
#[test]
#[ignore]
fn dump() {
    let path = std::env::var("WRIT_FMT_DUMP").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let out = format_source(&text).unwrap();
    print!("{out}");
    if let Err(e) = verify(&text, &out) {
        println!("VERIFY: {e}");
    }
}

#[test]
#[ignore]
fn dump_sync() {
    let path = std::env::var("WRIT_FMT_DUMP").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    println!("{:?}", tokens_in_sync(&text));
}
