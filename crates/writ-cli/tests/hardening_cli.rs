//! The CLI's side of the hardening: test files with duplicate keys are refused, and
//! `writ eval --allow-inline-override`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ::{Engine, EngineOptions, PolicySet};

fn policies(src: &str) -> PolicySet {
    PolicySet::from_sources(&[("p.writ", src)]).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// The JIT and the interpreter, with these options.
fn engines(p: &PolicySet, options: EngineOptions) -> [Engine; 2] {
    let jit = Engine::compile_with(p, options).unwrap();
    assert_eq!(jit.backend(), writ::Backend::Jit);
    [jit, Engine::interpreted_with(p, options)]
}

const IP_POLICY: &str = r#"
schema { entity Agent  entity Tool  context { ip: Ip }  action call: Agent -> Tool }
@id("internal") permit Agent to call on Tool when context.ip.in_range(ip("10.0.0.0/8"));
@id("local") permit Agent to call on Tool when context.ip.is_loopback();
@id("loopback") escalate Agent to call on Tool when context.ip.is_loopback();
@id("private") escalate Agent to call on Tool when context.ip.is_private();
@id("blocked") forbid Agent to call on Tool when context.ip == ip("203.0.113.5");
"#;

const HIER_POLICY: &str = r#"
schema { entity Team  entity Group in Group  entity Agent in Team  entity Tool in Group  action call: Agent -> Tool }
@id("in-q") escalate Agent to call on Tool in Group::"q";
@id("any") permit Agent to call on Tool;
"#;

/// Tool `t` is in Group `n`, which the store names as a parent but does not hold.
const HIER_ENTITIES: &str = r#"[
  {"type": "Team", "id": "support"},
  {"type": "Agent", "id": "a", "parents": [{"type": "Team", "id": "support"}]},
  {"type": "Tool", "id": "t", "parents": [{"type": "Group", "id": "n"}]},
  {"type": "Tool", "id": "u", "parents": [{"type": "Group", "id": "m"}]},
  {"type": "Group", "id": "m", "parents": [{"type": "Group", "id": "q"}]}
]"#;

fn hier_request(resource: &str, inline: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", "resource": {{"type": "Tool", "id": "{resource}"}},
            "entities": [{inline}]}}"#
    )
}

// ------------------------------------------------------------------------------ 2. test files

/// `*.test.toml` files are TOML, whose parser rejects a key written twice; the JSON files
/// they name are decoded as any request or entities file (duplicates rejected there).
#[test]
fn test_files_with_duplicate_keys_are_rejected() {
    let dir = std::env::temp_dir().join(format!("writ-dup-toml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dup.test.toml");
    std::fs::write(
        &file,
        r#"[[case]]
name = "x"
expect = "allow"
expect = "deny"
request = { principal = { type = "Agent", id = "a" }, action = "call", resource = { type = "Tool", id = "t" } }
"#,
    )
    .unwrap();
    let p = policies(IP_POLICY);
    let results = writ_cli::testrun::run(&engines(&p, EngineOptions::default()), &[file]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(results.len(), 1);
    assert!(!results[0].passed);
    assert!(results[0].detail.starts_with("not a valid test file"), "{}", results[0].detail);
    assert!(results[0].detail.contains("duplicate key"), "{}", results[0].detail);
}

// ------------------------------------------------------------------------------ the CLI flag

/// `writ eval --allow-inline-override` lets a request replace a stored entity; without the
/// flag the request is a bad request.
#[test]
fn writ_eval_takes_allow_inline_override() {
    use clap::Parser;
    let dir = std::env::temp_dir().join(format!("writ-inline-override-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("p.writ"), HIER_POLICY).unwrap();
    std::fs::write(dir.join("entities.json"), HIER_ENTITIES).unwrap();
    std::fs::write(dir.join("request.json"), hier_request("u", r#"{"type": "Tool", "id": "u"}"#)).unwrap();
    let eval = |flag: Option<&str>| {
        let (p, e, r) = (dir.join("p.writ"), dir.join("entities.json"), dir.join("request.json"));
        let mut args: Vec<String> = ["writ", "eval", "--engine", "interp"].map(String::from).to_vec();
        args.extend([p, "--entities".into(), e, "--request".into(), r].map(|x| x.display().to_string()));
        args.extend(flag.map(String::from));
        let cli = writ_cli::Cli::try_parse_from(&args).unwrap();
        let out = writ_cli::run(cli.command, false);
        let d: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        d["decision"].as_str().unwrap().to_string()
    };
    let (strict, lenient) = (eval(None), eval(Some("--allow-inline-override")));
    std::fs::remove_dir_all(&dir).ok();
    // The replaced `u` has no parents: not in `q`, so the permit applies.
    assert_eq!((strict.as_str(), lenient.as_str()), ("deny", "allow"));
}
