//! `writ guard` end to end with the real binary and a scripted server
//! (`tests/guard/echo_server.py`, which logs every line it receives): what the client sees,
//! what reaches the server, exit codes, stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/guard")
}

struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
    _tmp: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp(name: &str) -> TempDir {
    let p = std::env::temp_dir().join(format!("writ-guard-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    TempDir(p)
}

/// Starts `writ guard` over the echo server with the test policy and `config` (TOML).
fn start(name: &str, config: &str) -> Session {
    start_with(name, config, &[])
}

/// [`start`] with more arguments of the guard (before `--`); the configuration file and the
/// server's log are in the session's folder.
fn start_with(name: &str, config: &str, extra: &[&str]) -> Session {
    let tmp = temp(name);
    let log = tmp.0.join("server.log");
    let cfg = tmp.0.join("guard.toml");
    std::fs::write(&cfg, config).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_writ"))
        .arg("guard")
        .arg("--policies")
        .arg(dir().join("policy.writ"))
        .arg("--entities")
        .arg(dir().join("entities.json"))
        .arg("--config")
        .arg(&cfg)
        .args(extra)
        .arg("--")
        .arg("python3")
        .arg(dir().join("echo_server.py"))
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let stdin = child.stdin.take();
    Session { child, stdin, lines, log, _tmp: tmp }
}

const CONFIG: &str =
    "principal = { type = \"Agent\", id = \"bot\" }\non_behalf_of = [{ type = \"Human\", id = \"alice\" }]\n";

impl Session {
    fn send(&mut self, line: &str) {
        let w = self.stdin.as_mut().unwrap();
        w.write_all(line.as_bytes()).unwrap();
        w.write_all(b"\n").unwrap();
        w.flush().unwrap();
    }

    /// The next line the client receives (a hang fails the test instead of blocking it).
    fn recv(&mut self) -> Value {
        let line = self.lines.recv_timeout(Duration::from_secs(60)).expect("no answer from the guard");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON: {line}: {e}"))
    }

    fn call(&mut self, id: u64, tool: &str, args: Value) -> Value {
        let m =
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": args}});
        self.send(&m.to_string());
        self.recv()
    }

    fn init(&mut self, elicitation: bool) {
        let caps = if elicitation { json!({"elicitation": {}}) } else { json!({}) };
        let m = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": caps, "clientInfo": {"name": "t", "version": "1"}}});
        self.send(&m.to_string());
        assert_eq!(self.recv()["result"]["serverInfo"]["name"], "echo");
    }

    /// The session's folder (where the configuration is).
    fn dir(&self) -> PathBuf {
        self._tmp.0.clone()
    }

    /// Closes the client's input, waits for the guard, and returns its exit code, its
    /// stderr and the lines the server received.
    fn finish(mut self) -> (Option<i32>, String, Vec<String>) {
        self.stdin = None;
        let status = self.child.wait().unwrap();
        let mut err = String::new();
        self.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        (status.code(), err, log.lines().map(str::to_string).collect())
    }
}

fn text(answer: &Value) -> String {
    answer["result"]["content"][0]["text"].as_str().unwrap_or_default().to_string()
}

#[test]
fn allowed_calls_reach_the_server_with_the_decision_in_meta() {
    let mut s = start("allow", CONFIG);
    s.init(false);
    let a = s.call(1, "read_ticket", json!({"ticket_id": "T-1"}));
    assert_eq!(a["id"], 1);
    assert!(a["result"].get("isError").is_none(), "{a}");
    let echoed: Value = serde_json::from_str(&text(&a)).unwrap();
    assert_eq!(echoed["arguments"], json!({"ticket_id": "T-1"}));
    assert_eq!(echoed["_meta"]["writ"]["obligations"], json!({"ttl": "5m"}));
    assert_eq!(echoed["_meta"]["writ"]["policy_version"].as_str().unwrap().len(), 32);
    assert!(echoed["_meta"]["writ"]["decision_id"].is_string());
    let (code, _, log) = s.finish();
    assert_eq!(code, Some(0));
    assert_eq!(log.iter().filter(|l| l.contains("tools/call")).count(), 1);
}

#[test]
fn a_client_cannot_forge_the_decision_in_meta() {
    let mut s = start("forge", CONFIG);
    s.init(false);
    let m = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                   "params": {"name": "read_ticket", "arguments": {}, "_meta": {"writ": {"obligations": {"ttl": "99d"}}, "progressToken": 4}}});
    s.send(&m.to_string());
    let echoed: Value = serde_json::from_str(&text(&s.recv())).unwrap();
    assert_eq!(echoed["_meta"]["writ"]["obligations"], json!({"ttl": "5m"}));
    assert_eq!(echoed["_meta"]["progressToken"], 4);
    s.finish();
}

#[test]
fn denied_calls_are_answered_by_the_guard_and_never_reach_the_server() {
    let mut s = start("deny", CONFIG);
    s.init(false);
    let a = s.call(1, "get_secret", json!({}));
    assert_eq!(a["id"], 1);
    assert_eq!(a["result"]["isError"], true);
    let t = text(&a);
    assert!(t.contains("`get_secret`") && t.contains("no-secrets") && t.contains("secrets are not for agents"), "{t}");
    assert_eq!(a["result"]["_meta"]["writ"]["decision"], "deny");
    assert_eq!(a["result"]["_meta"]["writ"]["reasons"][0]["rule"], "no-secrets");
    // Arguments that do not fit the schema: denied, naming the JSON path.
    let b = s.call(2, "read_ticket", json!({"ticket_id": 7}));
    assert_eq!(b["result"]["isError"], true);
    assert!(text(&b).contains("context.args.ticket_id"), "{}", text(&b));
    let c = s.call(3, "read_ticket", json!({"bogus": "x"}));
    assert!(text(&c).contains("context.args.bogus"), "{}", text(&c));
    // A tool the entity store does not know.
    let d = s.call(4, "unknown_tool", json!({}));
    assert_eq!(d["result"]["isError"], true);
    // A call without a tool name.
    s.send(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"arguments":{}}}"#);
    assert_eq!(s.recv()["error"]["code"], -32602);
    let (code, _, log) = s.finish();
    assert_eq!(code, Some(0));
    assert!(log.iter().all(|l| !l.contains("tools/call")), "{log:?}");
}

#[test]
fn escalations_ask_the_human_through_elicitation() {
    let mut s = start("escalate", CONFIG);
    s.init(true);
    // Accepted: re-decided with the approval, forwarded.
    s.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "delete_ticket", "arguments": {"ticket_id": "T-1"}}}).to_string());
    let ask = s.recv();
    assert_eq!(ask["method"], "elicitation/create");
    assert!(ask["params"]["message"].as_str().unwrap().contains("destructive tools need a human approval"));
    // Other traffic flows while the human thinks.
    s.send(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#);
    assert_eq!(s.recv()["id"], 2);
    s.send(&json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {}}}).to_string());
    let a = s.recv();
    assert_eq!(a["id"], 1);
    assert!(a["result"].get("isError").is_none(), "{a}");
    // Declined: denied, never forwarded.
    s.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "delete_ticket", "arguments": {"ticket_id": "T-2"}}}).to_string());
    let ask = s.recv();
    s.send(&json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "decline"}}).to_string());
    let b = s.recv();
    assert_eq!((b["id"].clone(), b["result"]["isError"].clone()), (json!(3), json!(true)));
    assert!(text(&b).contains("declined"), "{}", text(&b));
    // Cancelled, and an error answer: denied.
    for (id, answer) in
        [(4, json!({"result": {"action": "cancel"}})), (5, json!({"error": {"code": -1, "message": "no"}}))]
    {
        s.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": "delete_ticket", "arguments": {"ticket_id": "T-3"}}}).to_string());
        let ask = s.recv();
        let mut m = answer.clone();
        m["jsonrpc"] = json!("2.0");
        m["id"] = ask["id"].clone();
        s.send(&m.to_string());
        assert_eq!(s.recv()["result"]["isError"], true);
    }
    let (_, _, log) = s.finish();
    let calls: Vec<&String> = log.iter().filter(|l| l.contains("tools/call")).collect();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert!(calls[0].contains("T-1"));
    // The guard's elicitation answers never reach the server.
    assert!(log.iter().all(|l| !l.contains("accept") && !l.contains("decline")), "{log:?}");
}

#[test]
fn escalations_without_elicitation_are_denied() {
    let mut s = start("no-elicitation", CONFIG);
    s.init(false);
    let a = s.call(1, "delete_ticket", json!({"ticket_id": "T-1"}));
    assert_eq!(a["result"]["isError"], true);
    assert!(text(&a).contains("`elicitation` capability"), "{}", text(&a));
    let (_, _, log) = s.finish();
    assert!(log.iter().all(|l| !l.contains("tools/call")));
}

#[test]
fn malformed_client_messages_never_reach_the_server() {
    let mut s = start("malformed", CONFIG);
    s.init(false);
    for bad in [
        r#"not json"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_secret"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"ping","method":"tools/call","params":{"name":"get_secret"}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"read_ticket","name":"get_secret"}}"#,
        r#"[{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"get_secret"}}]"#,
        r#"{"jsonrpc":"2.0","id":5,"method":7,"params":{"name":"get_secret"}}"#,
        r#""tools/call""#,
    ] {
        s.send(bad);
        let a = s.recv();
        assert!(a["error"]["code"].as_i64().unwrap() < -32000, "{bad}: {a}");
    }
    // Still relaying.
    let a = s.call(9, "read_ticket", json!({}));
    assert!(a["result"].get("isError").is_none());
    let (code, _, log) = s.finish();
    assert_eq!(code, Some(0));
    assert!(log.iter().all(|l| !l.contains("get_secret")), "{log:?}");
}

#[test]
fn everything_else_passes_byte_for_byte() {
    let mut s = start("bytes", CONFIG);
    let odd = r#"{ "jsonrpc" : "2.0",   "id":"x-1", "method":"ping" ,"params":{"b":1,"a":[1.50,2]} }"#;
    s.send(odd);
    assert_eq!(s.recv()["result"]["echo"], "ping");
    s.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    s.send(r#"{"jsonrpc":"2.0","id":7,"method":"vendor/custom"}"#);
    assert_eq!(s.recv()["result"]["echo"], "vendor/custom");
    let (_, _, log) = s.finish();
    assert_eq!(log[0], odd);
    assert!(log.iter().any(|l| l == r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#));
}

#[test]
fn unknown_methods_can_be_refused() {
    let mut s = start("refuse", &format!("{CONFIG}unknown_methods = \"refuse\"\n"));
    s.send(r#"{"jsonrpc":"2.0","id":7,"method":"vendor/custom"}"#);
    let a = s.recv();
    assert_eq!(a["error"]["code"], -32601);
    assert!(a["error"]["message"].as_str().unwrap().contains("`vendor/custom`"));
    s.send(r#"{"jsonrpc":"2.0","id":8,"method":"ping"}"#);
    assert_eq!(s.recv()["id"], 8);
    let (_, _, log) = s.finish();
    assert!(log.iter().all(|l| !l.contains("vendor/custom")));
}

#[test]
fn the_servers_exit_ends_the_guard_with_its_code_and_stderr_passes_through() {
    let mut s = start("exit", CONFIG);
    let a = s.call(1, "say", json!({"text": "hello from the server"}));
    assert!(a["result"].get("isError").is_none());
    s.send(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "exit", "arguments": {"code": 3}}}).to_string());
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(3));
    let mut err = String::new();
    s.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(err.contains("hello from the server"), "{err}");
}

#[test]
fn bad_setup_is_an_input_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["guard", "--policies"])
        .arg(dir().join("policy.writ"))
        .args(["--", "python3", "-c", "pass"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--config"));
    let tmp = temp("badcfg");
    let cfg = tmp.0.join("g.toml");
    std::fs::write(&cfg, "principal = { type = \"Agent\", id = \"bot\" }\nintnet = 1\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["guard", "--policies"])
        .arg(dir().join("policy.writ"))
        .arg("--config")
        .arg(&cfg)
        .args(["--", "definitely-not-a-command-writ"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("intnet"));
    std::fs::write(&cfg, CONFIG).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["guard", "--policies"])
        .arg(dir().join("policy.writ"))
        .arg("--config")
        .arg(&cfg)
        .args(["--", "definitely-not-a-command-writ"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot start"));
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
}

#[test]
fn tools_list_leaves_out_what_no_permit_could_allow() {
    // `comment_ticket` and `unknown_tool` are no entities of the store, `exec` is forbidden
    // without conditions; `get_secret` is forbidden only by a condition, so it is listed
    // (and its calls denied).
    let mut s = start("list", CONFIG);
    s.send(r#"{"jsonrpc":"2.0","id":"l1","method":"tools/list","params":{}}"#);
    assert_eq!(tool_names(&s.recv()), ["read_ticket", "delete_ticket", "get_secret"]);
    s.finish();
    let mut s = start("list-off", &format!("{CONFIG}filter_tools_list = false\n"));
    s.send(r#"{"jsonrpc":"2.0","id":"l1","method":"tools/list","params":{}}"#);
    assert_eq!(tool_names(&s.recv()).len(), 6);
    s.finish();
}

#[test]
fn resources_and_prompts_are_decided_when_configured() {
    let config = format!(
        "{CONFIG}[resources]\nauthorize = true\naction = \"read_resource\"\nresource_type = \"Doc\"\n\
         [prompts]\nauthorize = true\naction = \"get_prompt\"\nresource_type = \"Prompt\"\n"
    );
    let mut s = start("resources", &config);
    s.send(r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///ok"}}"#);
    assert_eq!(s.recv()["result"]["echo"], "resources/read");
    s.send(r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///secret"}}"#);
    let a = s.recv();
    assert_eq!(a["error"]["code"], -32003);
    assert!(a["error"]["message"].as_str().unwrap().contains("`file:///secret`"), "{a}");
    assert_eq!(a["error"]["data"]["writ"]["reasons"][0]["rule"], "no-permit");
    s.send(r#"{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"summary","arguments":{"topic":"tickets"}}}"#);
    assert_eq!(s.recv()["result"]["echo"], "prompts/get");
    s.send(r#"{"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"summary","arguments":{"topic":"secrets"}}}"#);
    assert_eq!(s.recv()["error"]["code"], -32003);
    let (_, _, log) = s.finish();
    assert!(log.iter().all(|l| !l.contains("file:///secret") && !l.contains("\"secrets\"")), "{log:?}");
    assert_eq!(log.len(), 2, "{log:?}");
    // By default they pass through undecided.
    let mut s = start("resources-off", CONFIG);
    s.send(r#"{"jsonrpc":"2.0","id":2,"method":"resources/read","params":{"uri":"file:///secret"}}"#);
    assert_eq!(s.recv()["result"]["echo"], "resources/read");
    s.finish();
}

/// The lines of a decision log, parsed.
fn log_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    assert!(text.ends_with('\n'), "{text}");
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn every_decision_goes_to_the_decision_log() {
    // The log outlives the session's folder (`finish` removes it).
    let tmp = temp("log-file");
    let path = tmp.0.join("decisions.jsonl");
    let config = format!(
        "{CONFIG}[decision_log]\npath = {:?}\nmask = [\"context.args.text\", \"on_behalf_of\"]\n",
        path.to_str().unwrap()
    );
    let mut s = start("log", &config);
    s.init(true);
    let a = s.call(1, "read_ticket", json!({"ticket_id": "T-1"}));
    let echoed: Value = serde_json::from_str(&text(&a)).unwrap();
    let b = s.call(2, "get_secret", json!({}));
    let c = s.call(3, "read_ticket", json!({"ticket_id": "T-1", "text": "password 123", "code": "x"}));
    assert_eq!(c["result"]["isError"], true);
    // An escalation the human approves: two decisions for one call.
    s.send(&json!({"jsonrpc": "2.0", "id": "e", "method": "tools/call", "params": {"name": "delete_ticket", "arguments": {"ticket_id": "T-9"}}}).to_string());
    let ask = s.recv();
    s.send(&json!({"jsonrpc": "2.0", "id": ask["id"], "result": {"action": "accept", "content": {}}}).to_string());
    assert_eq!(s.recv()["id"], "e");
    // Not decided, not logged.
    s.send(r#"{"jsonrpc":"2.0","id":9,"method":"ping"}"#);
    s.recv();
    let (code, _, _) = s.finish();
    assert_eq!(code, Some(0));
    let lines = log_lines(&path);
    assert_eq!(lines.len(), 5, "{lines:?}");
    let version = echoed["_meta"]["writ"]["policy_version"].clone();
    for l in &lines {
        assert_eq!((&l["source"], &l["policy_version"]), (&json!("guard"), &version), "{l}");
        assert_eq!(l["mcp"]["method"], "tools/call");
        assert_eq!(l["request"]["principal"], json!({"type": "Agent", "id": "bot"}));
        assert_eq!(l["request"]["on_behalf_of"], "***");
        assert!(l["time"].as_str().unwrap().ends_with('Z') && l["latency_us"].is_u64(), "{l}");
    }
    // The allowed call: its decision id is the one the server received.
    assert_eq!(lines[0]["id"], echoed["_meta"]["writ"]["decision_id"]);
    assert_eq!((&lines[0]["mcp"]["id"], &lines[0]["mcp"]["name"]), (&json!(1), &json!("read_ticket")));
    assert_eq!(lines[0]["decision"], "allow");
    assert_eq!(lines[0]["obligations"], json!({"ttl": "5m"}));
    assert_eq!(lines[0]["request"]["context"]["args"], json!({"ticket_id": "T-1"}));
    // The denied call: its reasons, and its id is the one the client was told.
    assert_eq!(lines[1]["id"], b["result"]["_meta"]["writ"]["decision_id"]);
    assert_eq!((&lines[1]["mcp"]["id"], &lines[1]["mcp"]["name"]), (&json!(2), &json!("get_secret")));
    assert_eq!(lines[1]["decision"], "deny");
    assert_eq!(lines[1]["reasons"][0]["rule"], "no-secrets");
    assert_eq!(lines[1]["reasons"][0]["message"], "secrets are not for agents");
    // Bad input: the error, and the masked argument.
    assert_eq!(lines[2]["decision"], "deny");
    assert_eq!(lines[2]["request"]["context"]["args"], json!({"ticket_id": "T-1", "text": "***", "code": "x"}));
    assert!(lines[2]["errors"][0]["message"].as_str().unwrap().contains("context.args.code"), "{}", lines[2]);
    // The escalation, then the decision with the approval.
    assert_eq!((&lines[3]["decision"], &lines[3]["mcp"]["id"]), (&json!("escalate"), &json!("e")));
    assert_eq!((&lines[4]["decision"], &lines[4]["request"]["context"]["approved"]), (&json!("allow"), &json!(true)));
    let ids: std::collections::HashSet<&str> = lines.iter().map(|l| l["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5);
}

#[test]
fn the_decision_log_flag_overrides_the_configured_path() {
    let tmp = temp("log-flag");
    let path = tmp.0.join("flag.jsonl");
    let config = format!("{CONFIG}[decision_log]\npath = \"table.jsonl\"\nmask = [\"context.args\"]\n");
    let mut s = start_with("log-flag-session", &config, &["--decision-log", path.to_str().unwrap()]);
    let table = s.dir().join("table.jsonl");
    s.call(1, "read_ticket", json!({"ticket_id": "T-1"}));
    s.stdin = None;
    assert_eq!(s.child.wait().unwrap().code(), Some(0));
    // The relative path of the table would be next to the configuration: not used.
    assert!(!table.exists());
    s.finish();
    let lines = log_lines(&path);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["request"]["context"]["args"], "***");
    // Without the flag: the table's path, relative to the configuration's folder.
    let mut s = start("log-relative", &config);
    s.call(1, "read_ticket", json!({"ticket_id": "T-1"}));
    s.stdin = None;
    assert_eq!(s.child.wait().unwrap().code(), Some(0));
    assert_eq!(log_lines(&s.dir().join("table.jsonl")).len(), 1);
    s.finish();
    // Without a table: the defaults.
    let path = tmp.0.join("plain.jsonl");
    let mut s = start_with("log-flag-plain", CONFIG, &["--decision-log", path.to_str().unwrap()]);
    s.call(1, "get_secret", json!({}));
    s.finish();
    let lines = log_lines(&path);
    assert_eq!((&lines[0]["decision"], &lines[0]["mcp"]["name"]), (&json!("deny"), &json!("get_secret")));
    // A log that cannot be opened: an input error before the server starts.
    let out = Command::new(env!("CARGO_BIN_EXE_writ"))
        .args(["guard", "--policies"])
        .arg(dir().join("policy.writ"))
        .arg("--config")
        .arg(dir().join("guard.toml"))
        .arg("--decision-log")
        .arg(dir().join("policy.writ").join("x.jsonl"))
        .args(["--", "python3", "-c", "pass"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open the decision log"));
}

fn alive(pid: u64) -> bool {
    // A reaped process is gone from /proc; a zombie would still show (it is not reaped).
    PathBuf::from(format!("/proc/{pid}")).exists()
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().unwrap();
    assert!(ok.success());
}

#[test]
fn sigterm_terminates_the_server_flushes_the_log_and_exits_143() {
    let tmp = temp("sigterm-log");
    let path = tmp.0.join("d.jsonl");
    let mut s = start_with("sigterm", CONFIG, &["--decision-log", path.to_str().unwrap()]);
    let pid =
        serde_json::from_str::<Value>(&text(&s.call(1, "pid", json!({})))).map(|v| v["pid"].as_u64().unwrap()).unwrap();
    assert!(alive(pid));
    s.call(2, "get_secret", json!({}));
    signal(&s.child, "TERM");
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert!(!alive(pid), "the server {pid} is still running");
    // Both decisions are in the log (the stdin of the guard is still open).
    let lines = log_lines(&path);
    assert_eq!(lines.iter().map(|l| l["mcp"]["id"].clone()).collect::<Vec<_>>(), [json!(1), json!(2)]);
}

#[test]
fn sigint_kills_a_server_that_ignores_sigterm_and_exits_130() {
    let mut s = start("sigint", CONFIG);
    let pid =
        serde_json::from_str::<Value>(&text(&s.call(1, "pid", json!({})))).map(|v| v["pid"].as_u64().unwrap()).unwrap();
    s.call(2, "ignore_term", json!({}));
    signal(&s.child, "INT");
    let status = s.child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(!alive(pid), "the server {pid} is still running");
}
