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
    let l = complete_after(&mut c, &mut text, "triage and ");
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
