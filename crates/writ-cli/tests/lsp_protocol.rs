//! `writ lsp` through the real binary, spoken to as an editor speaks: initialize with a
//! client's capabilities, open and edit documents, every feature, shutdown and exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod lsp_client;

use lsp_client::{Client, HELPERS, RULES, SCHEMA, pos, standard_workspace, uri_of, workspace};
use serde_json::{Value, json};

fn labels(v: &Value) -> Vec<String> {
    let items = v.get("items").unwrap_or(v);
    items.as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
}

fn at(uri: &str, p: Value) -> Value {
    json!({ "textDocument": { "uri": uri }, "position": p })
}

fn hover_text(v: &Value) -> String {
    v["contents"]["value"].as_str().unwrap_or("").to_string()
}

#[test]
fn initialize_advertises_what_the_server_does_and_negotiates_the_encoding() {
    let dir = standard_workspace("init");
    let (c, init) = Client::start(&dir, false);
    let caps = &init["capabilities"];
    assert_eq!(caps["positionEncoding"], "utf-16");
    assert_eq!(caps["textDocumentSync"]["change"], 2, "incremental sync");
    assert_eq!(caps["textDocumentSync"]["openClose"], true);
    for p in [
        "hoverProvider",
        "definitionProvider",
        "referencesProvider",
        "documentSymbolProvider",
        "workspaceSymbolProvider",
    ] {
        assert_eq!(caps[p], true, "{p}");
    }
    assert!(caps["completionProvider"]["triggerCharacters"].as_array().unwrap().contains(&json!(".")));
    assert!(caps["signatureHelpProvider"].is_object());
    assert_eq!(caps["renameProvider"]["prepareProvider"], true);
    assert_eq!(caps["codeActionProvider"]["codeActionKinds"], json!(["quickfix"]));
    assert_eq!(caps["documentFormattingProvider"], true);
    assert_eq!(caps["documentRangeFormattingProvider"], true);
    assert_eq!(init["serverInfo"]["name"], "writ-lsp");
    assert_eq!(c.finish(), Some(0));

    let (c, init) = Client::start(&dir, true);
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-8");
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn exit_without_shutdown_exits_1_and_requests_after_shutdown_are_refused() {
    let dir = standard_workspace("exit");
    let (mut c, _) = Client::start(&dir, false);
    c.notify("exit", Value::Null);
    assert_eq!(c.wait(), Some(1));

    let (mut c, _) = Client::start(&dir, false);
    assert_eq!(c.request("shutdown", Value::Null), Value::Null);
    let id =
        c.send_request("textDocument/hover", at(&uri_of(&dir.join("rules.writ")), json!({"line": 0, "character": 0})));
    let r = c.response(id);
    assert_eq!(r["error"]["code"], -32600, "{r}");
    c.notify("exit", Value::Null);
    assert_eq!(c.wait(), Some(0));
}

#[test]
fn diagnostics_are_pushed_across_files_and_an_edit_to_the_schema_rechecks_the_rules() {
    let dir = standard_workspace("across");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    let schema = uri_of(&dir.join("schema.writ"));
    // The workspace is checked on start: no problems anywhere (none are pushed, or empty).
    c.open(&schema, SCHEMA);
    // Rename `sensitivity` in the schema: the rules (not open) read it.
    let p = pos(SCHEMA, "sensitivity", 0, 0);
    let end = json!({ "line": p["line"], "character": p["character"].as_u64().unwrap() + 11 });
    c.change(&schema, 2, json!([{ "range": { "start": p, "end": end }, "text": "sensitivty" }]));
    let ds = c.diagnostics_until(&rules, |ds| ds.len() >= 2);
    assert!(ds.iter().all(|d| d["code"] == "E0002" && d["source"] == "writ"), "{ds:?}");
    assert!(ds[0]["message"].as_str().unwrap().contains("has no attribute `sensitivity`"), "{ds:?}");
    assert!(ds[0]["message"].as_str().unwrap().contains("did you mean `sensitivty`?"), "{ds:?}");
    assert_eq!(ds[0]["range"]["start"], pos(RULES, "sensitivity", 0, 0));
    assert_eq!(ds[0]["severity"], 1);
    // The code links to its explanation, which is there to read.
    let href = ds[0]["codeDescription"]["href"].as_str().unwrap();
    let path = href.strip_prefix("file://").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.starts_with("# E0002"), "{text}");
    // Undo: the rules' diagnostics go away.
    c.change(&schema, 3, json!([{ "text": SCHEMA }]));
    c.diagnostics_until(&rules, |ds| ds.is_empty());
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn secondary_labels_are_related_information_and_versions_are_reported() {
    let dir = standard_workspace("related");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    let schema = uri_of(&dir.join("schema.writ"));
    // A second `Tool` entity in another file: "declared twice". Files are read in name
    // order, so the one in schema.writ is the second, with the first (in rules.writ) as
    // related information.
    let text = format!("{RULES}\nschema {{ entity Tool }}\n");
    c.open(&rules, &text);
    let ds = c.diagnostics_until(&schema, |ds| ds.iter().any(|d| d["code"] == "E0201"));
    let d = ds.iter().find(|d| d["code"] == "E0201").unwrap();
    assert_eq!(d["range"]["start"], pos(SCHEMA, "Tool", 0, 0));
    let rel = &d["relatedInformation"][0];
    assert_eq!(rel["location"]["uri"], rules);
    assert_eq!(rel["location"]["range"]["start"], pos(&text, "Tool", 2, 0));
    assert_eq!(rel["message"], "first declared here");
    // The diagnostics of an open document carry its version; a closed one's carry none.
    assert!(c.last.get("version").is_none_or(Value::is_null), "{}", c.last);
    c.change(
        &rules,
        7,
        json!([{ "text": format!("{RULES}\nschema {{ entity Tool2 }}\nforbid * to * on * when 1;\n") }]),
    );
    let ds = c.diagnostics_until(&rules, |ds| ds.iter().any(|d| d["code"] == "E0101"));
    assert!(!ds.is_empty());
    assert_eq!(c.last["version"], 7);
    assert_eq!(c.finish(), Some(0));
}

/// Formatting and range formatting give the layout of `writ fmt`; a document that does not
/// parse is left as it is (`null`).
#[test]
fn formatting_gives_the_canonical_layout() {
    let dir = standard_workspace("format");
    let (mut c, _) = Client::start(&dir, false);
    let uri = uri_of(&dir.join("messy.writ"));
    let messy = "@id(\"x\")   permit Agent to call_tool on Tool   when context.risk<50;\n";
    c.open(&uri, messy);
    let edits = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let edits = edits.as_array().expect("edits");
    assert_eq!(edits.len(), 1);
    let want = writ::unstable::fmt::format_source(messy).unwrap();
    assert_eq!(edits[0]["newText"], want.as_str());
    assert_ne!(want, messy);
    let ranged = c.request(
        "textDocument/rangeFormatting",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 5}},
               "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert!(!ranged.as_array().expect("edits").is_empty());
    let broken = uri_of(&dir.join("broken.writ"));
    c.open(&broken, "permit Agent to call_tool on Tool when ;\n");
    let none = c.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": broken}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert!(none.is_null(), "{none}");
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn hover_shows_types_docs_and_rules() {
    let dir = standard_workspace("hover");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    let schema = uri_of(&dir.join("schema.writ"));
    c.open(&rules, RULES);
    let h = |c: &mut Client, uri: &str, p: Value| hover_text(&c.request("textDocument/hover", at(uri, p)));
    // An attribute: its owner, type and doc.
    let t = h(&mut c, &rules, pos(RULES, "sensitivity", 0, 3));
    assert!(t.contains("Tool.sensitivity: Level"), "{t}");
    // A context field with its doc.
    let t = h(&mut c, &rules, pos(RULES, "risk", 0, 1));
    assert!(t.contains("context.risk: Int") && t.contains("The risk score"), "{t}");
    // The type of an expression.
    let t = h(&mut c, &rules, pos(RULES, "context.now", 0, 2));
    assert!(t.contains("Record") || t.contains("{ "), "context is a record: {t}");
    let t = h(&mut c, &rules, pos(RULES, "resource.sensitivity", 0, 2));
    assert!(t.contains("resource: Tool"), "{t}");
    // A fn of the workspace and one of the standard library, with their docs.
    let t = h(&mut c, &rules, pos(RULES, "low(", 0, 1));
    assert!(t.contains("fn low(l: Level) -> Bool") && t.contains("at most internal"), "{t}");
    let t = h(&mut c, &rules, pos(RULES, "business_hours", 0, 2));
    assert!(t.contains("fn business_hours(t: Timestamp) -> Bool") && t.contains("09:00"), "{t}");
    // An intent, an enum value, an action and an entity type.
    let t = h(&mut c, &rules, pos(RULES, "triage", 0, 1));
    assert!(t.contains("intent triage") && t.contains("Triage support tickets"), "{t}");
    let t = h(&mut c, &rules, pos(RULES, "== secret", 0, 4));
    assert!(t.contains("Level.secret"), "{t}");
    let t = h(&mut c, &rules, pos(RULES, "call_tool", 0, 1));
    assert!(t.contains("action call_tool: Agent | Human -> Tool") && t.contains("Calls a tool"), "{t}");
    let t = h(&mut c, &rules, pos(RULES, "Agent to", 0, 1));
    assert!(t.contains("entity Agent in Team") && t.contains("A workload"), "{t}");
    // A rule: id, effect and target.
    let t = h(&mut c, &rules, pos(RULES, "permit", 0, 1));
    assert!(t.contains("@id(\"agent-tools\") permit Agent to call_tool on Tool") && t.contains("permit rule"), "{t}");
    // A doc on an attribute, hovered at its declaration.
    c.open(&schema, SCHEMA);
    let t = h(&mut c, &schema, pos(SCHEMA, "owner", 0, 1));
    assert!(t.contains("Agent.owner: Human") && t.contains("Who answers"), "{t}");
    // Nothing under a comment's blank.
    let r = c.request("textDocument/hover", at(&rules, json!({"line": 1, "character": 0})));
    assert!(r.is_null(), "{r}");
    assert_eq!(c.finish(), Some(0));
}

fn locations(v: &Value) -> Vec<(String, Value)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|l| (l["uri"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), l["range"]["start"].clone()))
        .collect()
}

#[test]
fn definition_and_references_follow_every_kind_of_name() {
    let dir = standard_workspace("defs");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&rules, RULES);
    let def = |c: &mut Client, p: Value| locations(&c.request("textDocument/definition", at(&rules, p)));
    let s = |n: &str, i: usize| ("schema.writ".to_string(), pos(SCHEMA, n, i, 0));
    assert_eq!(def(&mut c, pos(RULES, "Agent to", 0, 0)), vec![s("Agent", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "sensitivity", 0, 0)), vec![s("sensitivity", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "risk", 0, 0)), vec![s("risk:", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "call_tool", 0, 0)), vec![s("call_tool", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "tools on", 0, 0)), vec![s("tools", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "triage", 0, 0)), vec![s("triage", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "== secret", 0, 3)), vec![s("secret", 0)]);
    assert_eq!(def(&mut c, pos(RULES, "low(", 0, 0)), vec![("helpers.writ".to_string(), pos(HELPERS, "low", 0, 0))]);
    // The module alias goes to its import; the library function to the library's source.
    assert_eq!(
        def(&mut c, pos(RULES, "time.", 0, 0)),
        vec![("rules.writ".to_string(), json!({"line": 0, "character": 11}))]
    );
    let std = def(&mut c, pos(RULES, "business_hours", 0, 0));
    assert_eq!(std.len(), 1);
    assert_eq!(std[0].0, "time.writ");

    // References of an attribute: the declaration and both reads.
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "sensitivity", 1, 0), "context": { "includeDeclaration": true } }),
    );
    let refs = locations(&refs);
    assert_eq!(refs.len(), 3, "{refs:?}");
    assert!(refs.contains(&s("sensitivity", 0)));
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "Agent to", 0, 0), "context": { "includeDeclaration": false } }),
    );
    // `Agent` in the rule, and in the schema's action (not the declaration).
    let refs = locations(&refs);
    assert!(refs.contains(&("rules.writ".to_string(), pos(RULES, "Agent to", 0, 0))), "{refs:?}");
    assert!(refs.contains(&s("Agent", 1)), "{refs:?}");
    assert!(!refs.contains(&s("Agent", 0)), "{refs:?}");
    // Enum values used in the helper and the rules.
    let refs = c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "== secret", 0, 3), "context": { "includeDeclaration": true } }),
    );
    assert_eq!(locations(&refs).len(), 2);
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn completion_fits_where_the_cursor_is_even_in_broken_text() {
    let dir = standard_workspace("complete");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    // A half-typed rule at the end of the file, edited step by step.
    let mut text = RULES.to_string();
    c.open(&rules, &text);
    let mut version = 1;
    let mut complete_after = |c: &mut Client, text: &mut String, typed: &str| -> Vec<String> {
        let last = text.rsplit('\n').next().unwrap_or("");
        let p = json!({ "line": text.matches('\n').count(), "character": last.encode_utf16().count() });
        text.push_str(typed);
        version += 1;
        c.change(&rules, version, json!([{ "range": { "start": p, "end": p }, "text": typed }]));
        let end = pos(text, typed, text.matches(typed).count() - 1, typed.encode_utf16().count());
        labels(&c.request("textDocument/completion", json!({ "textDocument": { "uri": rules }, "position": end })))
    };
    let top = complete_after(&mut c, &mut text, "");
    assert!(top.contains(&"permit".to_string()) && top.contains(&"intent".to_string()), "{top:?}");
    let l = complete_after(&mut c, &mut text, "permit ");
    assert!(
        l.contains(&"Agent".to_string()) && l.contains(&"Tool".to_string()) && l.contains(&"*".to_string()),
        "{l:?}"
    );
    let l = complete_after(&mut c, &mut text, "Agent to ");
    assert!(l.contains(&"call_tool".to_string()) && l.contains(&"tools".to_string()), "{l:?}");
    let l = complete_after(&mut c, &mut text, "call_tool on Tool ");
    assert!(l.contains(&"when".to_string()) && l.contains(&"grant".to_string()), "{l:?}");
    let l = complete_after(&mut c, &mut text, "when resource.");
    assert_eq!(l, vec!["destructive", "sensitivity"]);
    let l = complete_after(&mut c, &mut text, "sensitivity <= ");
    assert_eq!(&l[..3], &["public", "internal", "secret"], "enum values first: {l:?}");
    let l = complete_after(&mut c, &mut text, "internal and principal.");
    assert!(l.contains(&"owner".to_string()) && l.contains(&"max_hops".to_string()), "{l:?}");
    let l = complete_after(&mut c, &mut text, "owner.");
    assert_eq!(l, vec!["clearance"]);
    let l = complete_after(&mut c, &mut text, "clearance == public and context.");
    assert!(["args", "now", "risk"].iter().all(|f| l.contains(&f.to_string())), "{l:?}");
    let l = complete_after(&mut c, &mut text, "args.");
    assert_eq!(l, vec!["query"]);
    let l = complete_after(&mut c, &mut text, "query == \"x\" and principal.env.");
    assert!(l.contains(&"starts_with".to_string()) && l.contains(&"lower".to_string()), "string methods: {l:?}");
    let l = complete_after(&mut c, &mut text, "len() > 0 and time.");
    assert!(l.contains(&"business_hours".to_string()) && l.contains(&"within".to_string()), "{l:?}");
    let r = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": rules }, "position": pos(&text, "time.", 1, 5) }),
    );
    let item = r.as_array().unwrap().iter().find(|i| i["label"] == "business_hours").unwrap().clone();
    assert_eq!(item["detail"], "fn business_hours(t: Timestamp) -> Bool");
    assert!(item["documentation"]["value"].as_str().unwrap().contains("09:00"));
    let l = complete_after(&mut c, &mut text, "is_weekday(context.now) and intent == ");
    assert!(l.contains(&"triage".to_string()) && l.contains(&"none".to_string()), "{l:?}");
    let l = complete_after(&mut c, &mut text, "triage and principal in ");
    assert_eq!(&l[..4], &["Human", "Team", "Agent", "Tool"], "entity types for `T::\"id\"`: {l:?}");
    let l = complete_after(&mut c, &mut text, "Team::\"ops\" and ");
    assert!(
        l.contains(&"principal".to_string()) && l.contains(&"low".to_string()) && l.contains(&"not".to_string()),
        "{l:?}"
    );
    // The other rules' diagnostics are still there while this one is half-typed.
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn a_half_typed_rule_does_not_hide_the_other_rules_diagnostics() {
    let dir = standard_workspace("halftyped");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    // A broken rule in the middle, and a type error in the last rule.
    let text = RULES
        .replace("@id(\"no-secrets\")", "permit Agent to call_tool on Tool when resource.\n\n@id(\"no-secrets\")")
        .replace("== secret;", "== 3;");
    c.open(&rules, &text);
    let ds = c.diagnostics_until(&rules, |ds| !ds.is_empty());
    let codes: Vec<&str> = ds.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(codes.iter().any(|c| c.starts_with('P')), "the syntax error: {codes:?}");
    assert!(codes.contains(&"E0102"), "the type error of the next rule: {codes:?}");
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn signature_help_symbols_quick_fixes_and_rename() {
    let dir = standard_workspace("misc");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&rules, RULES);
    // Signature help inside a library call and a workspace fn call.
    let sh = c.request("textDocument/signatureHelp", at(&rules, pos(RULES, "context.now)", 0, 2)));
    assert_eq!(sh["signatures"][0]["label"], "business_hours(t: Timestamp) -> Bool");
    assert_eq!(sh["activeParameter"], 0);
    assert_eq!(sh["signatures"][0]["parameters"][0]["label"], "t: Timestamp");
    let sh = c.request("textDocument/signatureHelp", at(&rules, pos(RULES, "resource.sensitivity)", 0, 0)));
    assert_eq!(sh["signatures"][0]["label"], "low(l: Level) -> Bool");

    // Document symbols: the import and both rules, by id.
    let syms = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": rules } }));
    let names: Vec<&str> = syms.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["time", "agent-tools", "no-secrets"]);
    let schema_syms = c
        .request("textDocument/documentSymbol", json!({ "textDocument": { "uri": uri_of(&dir.join("schema.writ")) } }));
    let agent = schema_syms.as_array().unwrap().iter().find(|s| s["name"] == "Agent").unwrap();
    let children: Vec<&str> =
        agent["children"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(children, vec!["owner", "env", "tags", "max_hops"]);
    // Workspace symbols across files.
    let ws = c.request("workspace/symbol", json!({ "query": "agent" }));
    let names: Vec<&str> = ws.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"Agent") && names.contains(&"agent-tools"), "{names:?}");

    // A quick fix applies the did-you-mean.
    let broken = RULES.replace("context.risk", "context.rsk");
    c.change(&rules, 2, json!([{ "text": broken }]));
    let ds = c.diagnostics_until(&rules, |ds| !ds.is_empty());
    let range = ds[0]["range"].clone();
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": rules }, "range": range, "context": { "diagnostics": ds } }),
    );
    let a = &actions[0];
    assert_eq!(a["kind"], "quickfix");
    let edit = &a["edit"]["changes"][&rules][0];
    assert_eq!(edit["newText"], "risk");
    assert_eq!(edit["range"]["start"], pos(&broken, "rsk", 0, 0));
    c.change(&rules, 3, json!([{ "text": RULES }]));

    // Rename a fn (declaration in one file, call in another), an intent, a rule id.
    let prep = c.request("textDocument/prepareRename", at(&rules, pos(RULES, "low(", 0, 1)));
    assert_eq!(prep["placeholder"], "low");
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "low(", 0, 1), "newName": "is_low" }),
    );
    let changes = edit["changes"].as_object().unwrap();
    assert_eq!(changes.len(), 2, "{edit}");
    assert_eq!(changes[&uri_of(&dir.join("helpers.writ"))][0]["newText"], "is_low");
    let edit = c.request("textDocument/rename", json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "triage", 0, 1), "newName": "triage_tickets" }));
    let n: usize = edit["changes"].as_object().unwrap().values().map(|v| v.as_array().unwrap().len()).sum();
    assert_eq!(n, 2, "declaration and use: {edit}");
    let edit = c.request("textDocument/rename", json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "agent-tools", 0, 2), "newName": "agents-use-tools" }));
    let e = &edit["changes"][&rules][0];
    assert_eq!(e["newText"], "agents-use-tools");
    assert_eq!(e["range"]["start"], pos(RULES, "agent-tools", 0, 0), "inside the quotes");
    // Attributes are not renamed (the request fails), keywords give nothing to rename.
    let id = c.send_request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "risk", 0, 1), "newName": "x" }),
    );
    assert!(c.response(id)["error"].is_object());
    let prep = c.request("textDocument/prepareRename", at(&rules, pos(RULES, "permit", 0, 1)));
    assert!(prep.is_null());
    assert_eq!(c.finish(), Some(0));
}

#[test]
fn utf8_positions_when_the_client_offers_them() {
    let text = RULES.replace("/// Agents use", "/// Agénts 😀 use").replace("when low(", "when /* é */ low(");
    let dir = workspace("utf8", &[("schema.writ", SCHEMA), ("helpers.writ", HELPERS), ("rules.writ", &text)]);
    for utf8 in [false, true] {
        let (mut c, _) = Client::start(&dir, utf8);
        let rules = uri_of(&dir.join("rules.writ"));
        c.open(&rules, &text);
        let line_of = |n: &str| text[..text.find(n).unwrap()].matches('\n').count();
        let l = line_of("low(");
        let line = text.lines().nth(l).unwrap();
        let byte = line.find("low(").unwrap();
        let col = if utf8 { byte } else { line[..byte].encode_utf16().count() };
        let p = json!({ "line": l, "character": col });
        let r = c.request("textDocument/hover", at(&rules, p.clone()));
        assert_eq!(r["range"]["start"], p, "utf8 = {utf8}");
        assert!(hover_text(&r).contains("fn low"));
        assert_eq!(c.finish(), Some(0));
    }
}

#[test]
fn unreadable_and_vanished_files_are_diagnostics() {
    let dir = standard_workspace("badfiles");
    std::fs::write(dir.join("latin1.writ"), b"// caf\xe9\n").unwrap();
    let (mut c, _) = Client::start(&dir, false);
    let bad = uri_of(&dir.join("latin1.writ"));
    let ds = c.diagnostics_until(&bad, |ds| !ds.is_empty());
    assert_eq!(ds[0]["code"], "P0009", "{ds:?}");
    // The file vanishes (the client reports it): its diagnostics go away, nothing else.
    std::fs::remove_file(dir.join("latin1.writ")).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": bad, "type": 3 }] }));
    c.diagnostics_until(&bad, |ds| ds.is_empty());
    assert!(c.alive());
    // A module imported by path vanishes: the import is a diagnostic.
    let rules = uri_of(&dir.join("rules.writ"));
    std::fs::write(dir.join("extra.writ"), "fn one() -> Int = 1;\n").unwrap();
    let text = format!("import \"./lib/mod.writ\" as m\n{RULES}");
    std::fs::create_dir_all(dir.join("lib")).unwrap();
    std::fs::write(dir.join("lib/mod.writ"), "fn two() -> Int = 2;\n").unwrap();
    c.open(&rules, &text);
    std::fs::remove_dir_all(dir.join("lib")).unwrap();
    c.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri_of(&dir.join("lib/mod.writ")), "type": 3 }] }),
    );
    let ds =
        c.diagnostics_until(&rules, |ds| ds.iter().any(|d| d["message"].as_str().unwrap().contains("cannot import")));
    assert!(!ds.is_empty());
    assert!(c.alive());
    assert_eq!(c.finish(), Some(0));
}

/// A fn with parameters and a quantifier, and a rule with a quantifier over constants.
const BOUND: &str = r#"/// True when every tag of the agent starts with the prefix.
fn tagged(a: Agent, prefix: String) -> Bool = all t in a.tags: t.starts_with(prefix);

@id("bound")
permit Agent to call_tool on Tool
  when tagged(principal, "x")
   and (any l in [public, internal]: l == resource.sensitivity);
"#;

fn refs(c: &mut Client, uri: &str, p: Value, with_decl: bool) -> Vec<(String, Value)> {
    let mut v = locations(&c.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri }, "position": p, "context": { "includeDeclaration": with_decl } }),
    ));
    v.sort_by_key(|(f, p)| (f.clone(), p["line"].as_u64(), p["character"].as_u64()));
    v
}

#[test]
fn fn_parameters_and_quantifier_variables_go_to_their_binders() {
    let dir = workspace(
        "bound",
        &[("schema.writ", SCHEMA), ("helpers.writ", HELPERS), ("rules.writ", RULES), ("bound.writ", BOUND)],
    );
    let (mut c, _) = Client::start(&dir, false);
    let uri = uri_of(&dir.join("bound.writ"));
    c.open(&uri, BOUND);
    let here = |n: &str, i: usize, d: usize| ("bound.writ".to_string(), pos(BOUND, n, i, d));
    let def = |c: &mut Client, p: Value| locations(&c.request("textDocument/definition", at(&uri, p)));
    // A parameter read in the body: its declaration; its references: the declaration and
    // every read.
    assert_eq!(def(&mut c, pos(BOUND, "prefix)", 0, 1)), vec![here("prefix: String", 0, 0)]);
    assert_eq!(def(&mut c, pos(BOUND, "a.tags", 0, 0)), vec![here("a: Agent", 0, 0)]);
    assert_eq!(
        refs(&mut c, &uri, pos(BOUND, "prefix: String", 0, 0), true),
        vec![here("prefix: String", 0, 0), here("prefix)", 0, 0)]
    );
    // The quantifier's variable: bound by `all t in`, read in the body.
    assert_eq!(def(&mut c, pos(BOUND, "t.starts_with", 0, 0)), vec![here("t in", 0, 0)]);
    assert_eq!(refs(&mut c, &uri, pos(BOUND, "t in", 0, 0), false), vec![here("t.starts_with", 0, 0)]);
    // Hover: the parameter's type, the element type of the set.
    let h = |c: &mut Client, p: Value| hover_text(&c.request("textDocument/hover", at(&uri, p)));
    let t = h(&mut c, pos(BOUND, "a.tags", 0, 0));
    assert!(t.contains("a: Agent") && t.contains("parameter of `tagged`"), "{t}");
    let t = h(&mut c, pos(BOUND, "t in", 0, 0));
    assert!(t.contains("t: String") && t.contains("all t in"), "{t}");
    // Over constants: `l` is the variable (of type Level), not an enum value.
    let t = h(&mut c, pos(BOUND, "l ==", 0, 0));
    assert!(t.contains("l: Level") && t.contains("any l in"), "{t}");
    assert_eq!(def(&mut c, pos(BOUND, "l ==", 0, 0)), vec![here("l in", 0, 0)]);
    assert_eq!(c.finish(), Some(0));
}

/// `$/cancelRequest` over the wire: a hover sent in one write with its cancellation (and a
/// change before it, which the server checks first) is answered `RequestCancelled`; every
/// other answer is a result, and the server goes on.
#[test]
fn a_cancelled_request_is_answered_request_cancelled() {
    let dir = standard_workspace("cancel");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&rules, RULES);
    let mut cancelled = 0;
    // Each round has its cancellation arrive with its request. The server may read the
    // request and answer it before it has read the cancellation (on a loaded machine): then
    // another round, up to a bound.
    for round in 0..40 {
        if cancelled > 0 {
            break;
        }
        let text = format!("{RULES}// round {round}\n");
        let change = json!({ "jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": { "uri": rules, "version": round + 2 }, "contentChanges": [{ "text": text }] } });
        let id = 1000 + round;
        let hover = json!({ "jsonrpc": "2.0", "id": id, "method": "textDocument/hover",
            "params": at(&rules, pos(RULES, "risk", 0, 1)) });
        let cancel = json!({ "jsonrpc": "2.0", "method": "$/cancelRequest", "params": { "id": id } });
        c.send_all(&[change, hover, cancel]);
        let r = c.response(id);
        match r.get("error") {
            Some(e) => {
                assert_eq!(e["code"], -32800, "{r}");
                cancelled += 1;
            }
            None => assert!(hover_text(&r["result"]).contains("context.risk"), "{r}"),
        }
    }
    assert!(cancelled > 0, "no request was cancelled");
    // The server still answers.
    assert!(hover_text(&c.request("textDocument/hover", at(&rules, pos(RULES, "risk", 0, 1)))).contains("risk"));
    assert_eq!(c.finish(), Some(0));
}

/// Saving and closing: a change saved to disk and closed is what the server reads from
/// then on; a change on disk that the client reports (watched files) is read again.
#[test]
fn saved_and_closed_documents_are_read_from_disk() {
    let dir = standard_workspace("save");
    let (mut c, _) = Client::start(&dir, false);
    let schema = uri_of(&dir.join("schema.writ"));
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&schema, SCHEMA);
    let broken = SCHEMA.replace("risk: Int", "risky: Int");
    c.change(&schema, 2, json!([{ "text": broken }]));
    let ds = c.diagnostics_until(&rules, |ds| !ds.is_empty());
    assert!(ds[0]["message"].as_str().unwrap().contains("`risk`"), "{ds:?}");
    std::fs::write(dir.join("schema.writ"), &broken).unwrap();
    c.notify("textDocument/didSave", json!({ "textDocument": { "uri": schema } }));
    c.notify("textDocument/didClose", json!({ "textDocument": { "uri": schema } }));
    // Closed, the schema is read from disk: still broken, the rules still say so.
    let h = c.request("textDocument/hover", at(&rules, pos(RULES, "risk", 0, 1)));
    assert!(!hover_text(&h).contains("risk: Int"), "{h}");
    // Fixed on disk by another program: the client reports it, the diagnostics go away.
    std::fs::write(dir.join("schema.writ"), SCHEMA).unwrap();
    c.notify("workspace/didChangeWatchedFiles", json!({ "changes": [{ "uri": schema, "type": 2 }] }));
    c.diagnostics_until(&rules, |ds| ds.is_empty());
    assert!(hover_text(&c.request("textDocument/hover", at(&rules, pos(RULES, "risk", 0, 1)))).contains("risk: Int"));
    assert_eq!(c.finish(), Some(0));
}

/// Completion of the standard library's modules, of the words that may follow an
/// annotation, of enum values for a parameter of enum type; signature help of a built-in
/// method.
#[test]
fn completion_of_modules_keywords_and_typed_arguments() {
    let dir = standard_workspace("complete2");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&rules, RULES);
    let mut version = 1;
    let mut at_end = |c: &mut Client, text: &str, method: &str| -> Value {
        version += 1;
        c.change(&rules, version, json!([{ "text": text }]));
        let last = text.rsplit('\n').next().unwrap();
        let p = json!({ "line": text.matches('\n').count(), "character": last.encode_utf16().count() });
        c.request(method, at(&rules, p))
    };
    let items = at_end(&mut c, &format!("{RULES}import std."), "textDocument/completion");
    let l = labels(&items);
    assert!(["time", "net", "identity"].iter().all(|m| l.contains(&m.to_string())), "{l:?}");
    assert!(items.as_array().unwrap().iter().all(|i| i["kind"] == 9), "modules: {items}");
    let l = labels(&at_end(&mut c, &format!("{RULES}@id(\"new\")\n"), "textDocument/completion"));
    assert_eq!(l, vec!["permit", "forbid", "escalate"]);
    let l = labels(&at_end(
        &mut c,
        &format!("{RULES}permit Agent to call_tool on Tool\n  when low("),
        "textDocument/completion",
    ));
    assert_eq!(&l[..3], &["public", "internal", "secret"], "enum values first: {l:?}");
    assert!(l.contains(&"principal".to_string()), "{l:?}");
    let l = labels(&at_end(
        &mut c,
        &format!("{RULES}permit Agent to call_tool on Tool\n  when principal.env."),
        "textDocument/completion",
    ));
    assert!(l.contains(&"starts_with".to_string()), "{l:?}");
    let sh = at_end(
        &mut c,
        &format!("{RULES}permit Agent to call_tool on Tool\n  when principal.env.starts_with("),
        "textDocument/signatureHelp",
    );
    assert_eq!(sh["signatures"][0]["label"], "starts_with(prefix: String) -> Bool", "{sh}");
    assert_eq!(sh["signatures"][0]["parameters"][0]["label"], "prefix: String");
    assert_eq!(c.finish(), Some(0));
}

/// Every kind of did-you-mean has a quick fix that edits the misspelt name only.
#[test]
fn quick_fixes_apply_each_kind_of_did_you_mean() {
    let dir = standard_workspace("fixes");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    c.open(&rules, RULES);
    let cases = [
        ("call_tool on Tool\n", "cal_tool", "call_tool"),
        ("permit Agent", "Agnt", "Agent"),
        ("== secret", "secrte", "secret"),
        ("low(resource", "lwo", "low"),
        ("== triage", "triag", "triage"),
        ("time.business_hours", "busines_hours", "business_hours"),
        ("import std.time", "std.tme", "std.time"),
        ("to tools", "tols", "tools"),
    ];
    for (version, (context, wrong, right)) in cases.into_iter().enumerate() {
        let fixed_context = context.replacen(right, wrong, 1);
        let broken = RULES.replacen(context, &fixed_context, 1);
        assert_ne!(broken, RULES, "{context}");
        c.change(&rules, version as i64 + 2, json!([{ "text": broken }]));
        let fixable = |d: &Value| {
            let m = d["message"].as_str().unwrap();
            m.contains("did you mean") && m.contains(&format!("`{wrong}`"))
        };
        let ds = c.diagnostics_until(&rules, |ds| ds.iter().any(fixable));
        let d = ds.iter().find(|d| fixable(d)).unwrap();
        let actions = c.request(
            "textDocument/codeAction",
            json!({ "textDocument": { "uri": rules }, "range": d["range"], "context": { "diagnostics": [d] } }),
        );
        let a = &actions[0];
        assert_eq!(a["kind"], "quickfix", "{wrong}: {actions}");
        let edit = &a["edit"]["changes"][&rules][0];
        assert_eq!(edit["newText"], right, "{wrong}: {actions}");
        let start = pos(&broken, wrong, 0, 0);
        assert_eq!(edit["range"]["start"], start, "{wrong}: {actions}");
        let end =
            json!({ "line": start["line"], "character": start["character"].as_u64().unwrap() + wrong.len() as u64 });
        assert_eq!(edit["range"]["end"], end, "{wrong}: {actions}");
    }
    assert_eq!(c.finish(), Some(0));
}

/// Rename gives one workspace edit over every file: a fn's declaration and calls, an
/// intent's declaration (in the schema's file) and uses.
#[test]
fn rename_edits_every_file() {
    let dir = standard_workspace("rename");
    let (mut c, _) = Client::start(&dir, false);
    let rules = uri_of(&dir.join("rules.writ"));
    let helpers = uri_of(&dir.join("helpers.writ"));
    let schema = uri_of(&dir.join("schema.writ"));
    c.open(&rules, RULES);
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": helpers }, "position": pos(HELPERS, "low", 0, 1), "newName": "is_low" }),
    );
    let ch = &edit["changes"];
    assert_eq!(ch.as_object().unwrap().len(), 2, "{edit}");
    assert_eq!(ch[&helpers][0]["range"]["start"], pos(HELPERS, "low", 0, 0));
    assert_eq!(ch[&rules][0]["range"]["start"], pos(RULES, "low(", 0, 0));
    assert_eq!(ch[&rules][0]["newText"], "is_low");
    let edit = c.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "triage", 0, 2), "newName": "support" }),
    );
    let ch = &edit["changes"];
    assert_eq!(ch[&schema][0]["range"]["start"], pos(SCHEMA, "triage", 0, 0), "{edit}");
    assert_eq!(ch[&rules][0]["range"]["start"], pos(RULES, "triage", 0, 0), "{edit}");
    // An invalid name is refused.
    let id = c.send_request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": rules }, "position": pos(RULES, "triage", 0, 2), "newName": "not a name" }),
    );
    assert_eq!(c.response(id)["error"]["code"], -32803);
    assert_eq!(c.finish(), Some(0));
}

/// Workspace symbols: rules by id, schema members, intents and fns, each with its kind and
/// where it is declared.
#[test]
fn workspace_symbols_name_rules_members_intents_and_fns() {
    let dir = standard_workspace("wsym");
    let (mut c, _) = Client::start(&dir, false);
    let find = |c: &mut Client, q: &str| -> Vec<(String, u64, String, Value)> {
        c.request("workspace/symbol", json!({ "query": q }))
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let file = s["location"]["uri"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
                (
                    s["name"].as_str().unwrap().to_string(),
                    s["kind"].as_u64().unwrap(),
                    file,
                    s["location"]["range"]["start"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        find(&mut c, "no-sec"),
        vec![("no-secrets".into(), 20, "rules.writ".into(), pos(RULES, "\"no-secrets\"", 0, 0))]
    );
    assert_eq!(find(&mut c, "triage"), vec![("triage".into(), 11, "schema.writ".into(), pos(SCHEMA, "triage", 0, 0))]);
    assert_eq!(find(&mut c, "low"), vec![("low".into(), 12, "helpers.writ".into(), pos(HELPERS, "low", 0, 0))]);
    let all = find(&mut c, "");
    for (name, kind) in
        [("Agent", 5), ("Level", 10), ("secret", 22), ("call_tool", 24), ("tools", 18), ("risk", 7), ("owner", 8)]
    {
        assert!(all.iter().any(|(n, k, _, _)| n == name && *k == kind), "{name}: {all:?}");
    }
    assert_eq!(c.finish(), Some(0));
}

/// Range formatting, applied as an editor applies it, gives the layout of `writ fmt` for
/// the items in the range and leaves the others as they are.
#[test]
fn range_formatting_formats_the_items_in_the_range() {
    let dir = standard_workspace("rangefmt");
    let (mut c, _) = Client::start(&dir, false);
    let uri = uri_of(&dir.join("messy.writ"));
    let first = "@id(\"a\")   permit Agent to call_tool on Tool   when context.risk<50;\n";
    let second = "@id(\"b\")   forbid Agent to call_tool on Tool   when context.risk>90;\n";
    let text = format!("{first}\n{second}");
    c.open(&uri, &text);
    let edits = c.request(
        "textDocument/rangeFormatting",
        json!({"textDocument": {"uri": uri}, "range": {"start": {"line": 2, "character": 0}, "end": {"line": 2, "character": 3}},
               "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let applied = apply(&text, edits.as_array().unwrap());
    let want = format!("{first}\n{}", writ::unstable::fmt::format_source(second).unwrap());
    assert_eq!(applied, want);
    assert_eq!(c.finish(), Some(0));
}

/// Applies LSP text edits (UTF-16 positions, ASCII text here) as an editor does.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let line = p["line"].as_u64().unwrap() as usize;
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        start + p["character"].as_u64().unwrap() as usize
    };
    let mut spans: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|e| (offset(&e["range"]["start"]), offset(&e["range"]["end"]), e["newText"].as_str().unwrap()))
        .collect();
    spans.sort_by_key(|s| std::cmp::Reverse(s.0));
    let mut out = text.to_string();
    for (a, b, t) in spans {
        out.replace_range(a..b, t);
    }
    out
}
