//! The relay: newline-delimited JSON-RPC between the client and the server, with every
//! request the guard authorizes decided on the way. Everything else goes through as the
//! peers wrote it, byte for byte.
//!
//! Fail closed: a client line that is not one JSON-RPC message (not JSON, a duplicate key,
//! a batch) is answered with a JSON-RPC error and never reaches the server, so no server
//! parser can read a call out of something the guard could not read.

use crate::config::Unknown;
use crate::decide::{Decided, Decider, Kind};
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use writ::Verdict;

/// A writer shared between threads; each message is written whole under its lock.
pub type Sink = Mutex<Option<Box<dyn Write + Send>>>;

/// The methods of the protocol the guard knows (requests; notifications always pass).
pub const KNOWN: &[&str] = &[
    "initialize",
    "ping",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
    "logging/setLevel",
];

/// JSON-RPC error codes.
pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;
/// The guard refused a `resources/read` or `prompts/get` (no tool-result shape there).
pub const DENIED: i64 = -32003;

/// A call waiting for a human's answer to an elicitation.
pub struct Pending {
    message: Value,
    kind: Kind,
    name: String,
    first: Decided,
}

impl Pending {
    /// The JSON-RPC id of the waiting call.
    pub fn call_id(&self) -> Option<&Value> {
        self.message.get("id")
    }
}

#[derive(Default)]
struct State {
    /// The client declared the `elicitation` capability in `initialize`.
    elicitation: bool,
    /// Ids (as JSON text) of the client's `tools/list` requests awaiting the server's answer.
    tool_lists: HashSet<String>,
    /// Elicitations sent to the client, by id.
    pending: HashMap<String, Pending>,
    next: u64,
}

/// The relay between one client and one server.
pub struct Relay {
    decider: Decider,
    to_client: Sink,
    to_server: Sink,
    state: Mutex<State>,
    client_gone: AtomicBool,
}

impl Relay {
    /// A relay writing to these two peers.
    pub fn new(decider: Decider, to_client: Box<dyn Write + Send>, to_server: Box<dyn Write + Send>) -> Relay {
        Relay {
            decider,
            to_client: Mutex::new(Some(to_client)),
            to_server: Mutex::new(Some(to_server)),
            state: Mutex::new(State::default()),
            client_gone: AtomicBool::new(false),
        }
    }

    /// Whether writing to the client failed (it went away).
    pub fn client_gone(&self) -> bool {
        self.client_gone.load(Ordering::Relaxed)
    }

    /// Closes the server's input (the client ended its input): an MCP server on stdio exits.
    pub fn close_server(&self) {
        if let Ok(mut w) = self.to_server.lock() {
            *w = None;
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(sink: &Sink, bytes: &[u8], newline: bool) -> bool {
        let mut w = sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(w) = w.as_mut() else { return false };
        let mut r = w.write_all(bytes);
        if newline && r.is_ok() {
            r = w.write_all(b"\n");
        }
        r.and_then(|()| w.flush()).is_ok()
    }

    fn client_bytes(&self, bytes: &[u8], newline: bool) {
        if !Relay::write(&self.to_client, bytes, newline) {
            self.client_gone.store(true, Ordering::Relaxed);
        }
    }

    fn to_client(&self, v: &Value) {
        self.client_bytes(v.to_string().as_bytes(), true);
    }

    fn server_bytes(&self, bytes: &[u8], newline: bool) {
        // A server that went away ends the guard through its exit; nothing to do here.
        let _ = Relay::write(&self.to_server, bytes, newline);
    }

    fn error(&self, id: &Value, code: i64, message: &str, data: Option<Value>) {
        self.to_client(&error_answer(id, code, message, data));
    }

    /// One line from the client (with its newline, if it had one).
    pub fn from_client(&self, line: &[u8]) {
        if line.iter().all(u8::is_ascii_whitespace) {
            self.server_bytes(line, false);
            return;
        }
        let msg = match strict_parse(line) {
            Ok(v) => v,
            Err(e) => {
                self.error(&Value::Null, PARSE_ERROR, &format!("writ guard: not one JSON-RPC message: {e}"), None);
                return;
            }
        };
        let Value::Object(o) = &msg else {
            let what = if msg.is_array() { "a batch (the guard relays one message per line)" } else { "not an object" };
            self.error(&Value::Null, INVALID_REQUEST, &format!("writ guard: invalid request: {what}"), None);
            return;
        };
        let id = o.get("id").cloned();
        let method = match o.get("method") {
            Some(Value::String(m)) => Some(m.as_str()),
            None => None,
            Some(_) => {
                self.error(&id.unwrap_or(Value::Null), INVALID_REQUEST, "writ guard: `method` is not a string", None);
                return;
            }
        };
        let Some(method) = method else {
            // A response: to the guard's elicitation, or to the server's request.
            if let Some(p) = id.as_ref().and_then(|id| self.state().pending.remove(&id.to_string())) {
                self.answered(p, &msg);
            } else {
                self.server_bytes(line, false);
            }
            return;
        };
        if let Some(kind) = kind_of(&self.decider, method) {
            self.authorize(kind, msg);
            return;
        }
        match (method, &id) {
            ("notifications/cancelled", None) => {
                // The client gave up on a call that waits for a human: forget it (the
                // notification goes on; the server ignores an id it never saw).
                if let Some(rid) = msg.pointer("/params/requestId") {
                    self.state().pending.retain(|_, p| p.message.get("id") != Some(rid));
                }
            }
            ("initialize", _) => {
                let declared = msg.pointer("/params/capabilities/elicitation").is_some_and(Value::is_object);
                self.state().elicitation = declared;
            }
            ("tools/list", Some(id)) if self.decider.config.filter_tools_list => {
                self.state().tool_lists.insert(id.to_string());
            }
            (m, Some(id)) if !KNOWN.contains(&m) && self.decider.config.unknown_methods == Unknown::Refuse => {
                self.error(
                    id,
                    METHOD_NOT_FOUND,
                    &format!("writ guard: the method `{m}` is refused by configuration"),
                    None,
                );
                return;
            }
            _ => {}
        }
        self.server_bytes(line, false);
    }

    /// One line from the server.
    pub fn from_server(&self, line: &[u8]) {
        let filtering = !self.state().tool_lists.is_empty();
        if filtering {
            if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(line) {
                let key = o.get("id").map(Value::to_string);
                let is_response = !o.contains_key("method");
                if key.is_some_and(|k| is_response && self.state().tool_lists.remove(&k)) {
                    let mut v = Value::Object(o);
                    if filter_tools(&self.decider, &mut v) {
                        self.to_client(&v);
                        return;
                    }
                }
            }
        }
        self.client_bytes(line, false);
    }

    /// Does what a step says.
    fn run(&self, step: Step) {
        match step {
            Step::Forward(m) => self.server_bytes(m.to_string().as_bytes(), true),
            Step::Answer(v) => self.to_client(&v),
            Step::Drop => {}
            Step::Ask(request, p) => {
                let key = request.get("id").map(Value::to_string).unwrap_or_default();
                self.state().pending.insert(key, *p);
                self.to_client(&request);
            }
        }
    }

    /// Decides a request of the client, then forwards it, answers it, or asks the human.
    fn authorize(&self, kind: Kind, msg: Value) {
        let elicitation = self.state().elicitation;
        let step = authorize(&self.decider, kind, msg, elicitation, || {
            let mut s = self.state();
            s.next += 1;
            guard_request_id(s.next)
        });
        self.run(step);
    }

    /// The client answered an elicitation: accept re-decides with the approval.
    fn answered(&self, p: Pending, response: &Value) {
        self.run(answered(&self.decider, p, response));
    }
}

/// What the guard does with a client request it authorizes.
pub enum Step {
    /// Send this message to the server: the allowed call with the decision in `_meta.writ`.
    Forward(Value),
    /// Answer the client with this message; the server never sees the request.
    Answer(Value),
    /// Nothing to send (a denied call sent as a notification).
    Drop,
    /// Ask the human: the `elicitation/create` request for the client, and the call that
    /// waits for the answer ([`answered`]).
    Ask(Value, Box<Pending>),
}

/// The id of the guard's `n`th request to the client (unlikely to be an id of the server's
/// own requests to the client).
pub fn guard_request_id(n: u64) -> String {
    format!("writ-guard-{}-{n}", std::process::id())
}

/// The kind of a client method, when the configuration has the guard decide it.
pub fn kind_of(decider: &Decider, method: &str) -> Option<Kind> {
    match method {
        "tools/call" => Some(Kind::Tool),
        "resources/read" if decider.config.resources.authorize => Some(Kind::Resource),
        "prompts/get" if decider.config.prompts.authorize => Some(Kind::Prompt),
        _ => None,
    }
}

/// A JSON-RPC error answer.
pub fn error_answer(id: &Value, code: i64, message: &str, data: Option<Value>) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let (Some(d), Value::Object(o)) = (data, &mut e) {
        o.insert("data".into(), d);
    }
    json!({"jsonrpc": "2.0", "id": id, "error": e})
}

/// In an answer to `tools/list`, leaves out the tools no permit could allow; whether the
/// message was such an answer.
pub fn filter_tools(decider: &Decider, answer: &mut Value) -> bool {
    let Some(Value::Array(tools)) = answer.get_mut("result").and_then(|r| r.get_mut("tools")) else {
        return false;
    };
    tools.retain(|t| t.get("name").and_then(Value::as_str).is_some_and(|n| decider.may_offer(n)));
    true
}

/// Decides a request of the client (`msg`, of `kind`): forward it, answer it, or ask the
/// human (when the client declared `elicitation`; `next_id` names the guard's request).
pub fn authorize(
    decider: &Decider,
    kind: Kind,
    msg: Value,
    elicitation: bool,
    next_id: impl FnOnce() -> String,
) -> Step {
    let id = msg.get("id").cloned();
    let params = msg.get("params");
    let field = if kind == Kind::Resource { "uri" } else { "name" };
    let refuse = |m: &str| id.as_ref().map_or(Step::Drop, |id| Step::Answer(error_answer(id, INVALID_PARAMS, m, None)));
    let Some(name) = params.and_then(|p| p.get(field)).and_then(Value::as_str).map(str::to_string) else {
        return refuse(&format!("writ guard: `params.{field}` of `{}` must be a string", kind.method()));
    };
    if params.and_then(|p| p.get("_meta")).is_some_and(|m| !m.is_object()) {
        return refuse("writ guard: `params._meta` must be an object");
    }
    let args = params.and_then(|p| p.get("arguments"));
    let d = decider.decide(kind, id.as_ref(), &name, args, false);
    match d.decision.decision {
        Verdict::Allow => forward(msg, &d),
        Verdict::Deny => deny(&msg, kind, &name, &d, None),
        Verdict::Escalate => {
            if !elicitation || id.is_none() {
                let why = "a human must approve this call, and the client did not declare the `elicitation` capability to ask one";
                return deny(&msg, kind, &name, &d, Some(why));
            }
            let request = json!({
                "jsonrpc": "2.0",
                "id": next_id(),
                "method": "elicitation/create",
                "params": {
                    "mode": "form",
                    "message": approval_message(kind, &name, args, &d),
                    "requestedSchema": {"type": "object", "properties": {}},
                },
            });
            Step::Ask(request, Box::new(Pending { message: msg, kind, name, first: d }))
        }
    }
}

/// The client answered the guard's elicitation for a waiting call: accept re-decides with
/// the approval; anything else denies.
pub fn answered(decider: &Decider, p: Pending, response: &Value) -> Step {
    let action = response.pointer("/result/action").and_then(Value::as_str);
    if action != Some("accept") {
        let why = match action {
            Some("decline") => "the human declined the approval",
            Some("cancel") => "the human cancelled the approval",
            _ => "the approval request failed",
        };
        return deny(&p.message, p.kind, &p.name, &p.first, Some(why));
    }
    let id = p.message.get("id");
    let args = p.message.get("params").and_then(|x| x.get("arguments"));
    let d = decider.decide(p.kind, id, &p.name, args, true);
    match d.decision.decision {
        Verdict::Allow => forward(p.message, &d),
        Verdict::Deny => deny(&p.message, p.kind, &p.name, &d, None),
        Verdict::Escalate => {
            deny(&p.message, p.kind, &p.name, &d, Some("the call still needs an approval after the human approved it"))
        }
    }
}

/// A waiting call whose human did not answer (the client went away, cancelled the call, or
/// took too long): the deny to answer it with.
pub fn unanswered(p: &Pending, why: &str) -> Step {
    deny(&p.message, p.kind, &p.name, &p.first, Some(why))
}

/// An allowed request with the decision in `params._meta.writ`.
fn forward(mut msg: Value, d: &Decided) -> Step {
    let writ = json!({
        "decision_id": d.id,
        "policy_version": d.decision.policy_version(),
        "obligations": serde_json::to_value(&d.decision.obligations).unwrap_or(Value::Null),
    });
    let inserted = msg
        .as_object_mut()
        .and_then(|o| o.entry("params").or_insert_with(|| json!({})).as_object_mut())
        .and_then(|p| p.entry("_meta").or_insert_with(|| json!({})).as_object_mut())
        .map(|m| m.insert("writ".into(), writ))
        .is_some();
    if inserted {
        Step::Forward(msg)
    } else {
        match msg.get("id") {
            Some(id) => Step::Answer(error_answer(id, INVALID_PARAMS, "writ guard: `params` must be an object", None)),
            None => Step::Drop,
        }
    }
}

/// The guard's answer to a denied request; the server never sees the request.
fn deny(msg: &Value, kind: Kind, name: &str, d: &Decided, why: Option<&str>) -> Step {
    let Some(id) = msg.get("id") else { return Step::Drop };
    let text = deny_message(kind, name, d, why);
    let mut meta = serde_json::from_str::<Value>(&d.decision.to_json()).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut meta {
        o.insert("decision".into(), json!("deny"));
        o.insert("decision_id".into(), json!(d.id));
        o.insert("policy_version".into(), json!(d.decision.policy_version()));
        if let Some(w) = why {
            o.insert("guard".into(), json!(w));
        }
    }
    Step::Answer(if kind == Kind::Tool {
        json!({
            "jsonrpc": "2.0",
            "id": id,
            "result": {"content": [{"type": "text", "text": text}], "isError": true, "_meta": {"writ": meta}},
        })
    } else {
        error_answer(id, DENIED, &text, Some(json!({"writ": meta})))
    })
}

fn what(kind: Kind, name: &str) -> String {
    match kind {
        Kind::Tool => format!("the call to the tool `{name}`"),
        Kind::Resource => format!("reading the resource `{name}`"),
        Kind::Prompt => format!("getting the prompt `{name}`"),
    }
}

/// Why: the guard's own reason first, then the decision's reasons and errors.
fn deny_message(kind: Kind, name: &str, d: &Decided, why: Option<&str>) -> String {
    let mut parts: Vec<String> = why.map(str::to_string).into_iter().collect();
    for r in d.decision.reasons.iter() {
        let mut s = format!("rule `{}` ({})", r.rule, r.effect);
        if let Some(m) = &r.message {
            s.push_str(&format!(": {m}"));
        }
        parts.push(s);
    }
    for e in &d.decision.errors {
        parts.push(e.message.clone());
    }
    format!("writ guard denied {}: {}", what(kind, name), parts.join("; "))
}

/// What the human is asked.
fn approval_message(kind: Kind, name: &str, args: Option<&Value>, d: &Decided) -> String {
    let reasons: Vec<String> = d
        .decision
        .reasons
        .iter()
        .filter(|r| r.effect == "escalate")
        .map(|r| r.message.as_deref().map_or_else(|| format!("rule `{}`", r.rule), str::to_string))
        .collect();
    let args = args.map_or(String::new(), |a| format!(" with arguments {a}"));
    format!(
        "The agent asks to approve {}{args}. The policy requires a human approval: {}.",
        what(kind, name),
        reasons.join("; ")
    )
}

/// Parses one JSON value, refusing duplicate object keys at any depth (two parsers could
/// read different values from them).
pub fn strict_parse(bytes: &[u8]) -> Result<Value, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = <Strict as serde::Deserialize>::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    Ok(v.0)
}

struct Strict(Value);

impl<'de> serde::Deserialize<'de> for Strict {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let Strict(v) = map.next_value()?;
            if out.insert(k.clone(), v).is_some() {
                return Err(serde::de::Error::custom(format!("duplicate key `{k}`")));
            }
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::decide::{Decider, NoLog};
    use std::sync::Arc;

    /// A writer whose bytes the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn lines(&self) -> Vec<String> {
            String::from_utf8_lossy(&self.0.lock().unwrap()).lines().map(str::to_string).collect()
        }
    }

    fn relay() -> (Relay, Shared, Shared) {
        let policies = writ::PolicySet::from_sources(&[(
            "p.writ",
            r#"schema { entity Agent  entity Tool { secret: Bool }  context { now: Timestamp }
                        action call_tool: Agent -> Tool { args: { q: String? } } }
               @id("tools") permit Agent to call_tool on Tool when not resource.secret;"#,
        )])
        .unwrap();
        let engine = writ::Engine::interpreted(&policies);
        let entities = engine
            .entities_from_json(
                r#"[{"type": "Agent", "id": "bot"}, {"type": "Tool", "id": "read", "attrs": {"secret": false}},
                    {"type": "Tool", "id": "get_secret", "attrs": {"secret": true}}]"#,
            )
            .unwrap();
        let config = Config::from_toml("principal = { type = \"Agent\", id = \"bot\" }").unwrap();
        let (client, server) = (Shared::default(), Shared::default());
        let r = Relay::new(
            Decider::new(engine, entities, config, Arc::new(NoLog)),
            Box::new(client.clone()),
            Box::new(server.clone()),
        );
        (r, client, server)
    }

    /// Whether a server-side parser could read a call of `get_secret` from the line.
    fn calls_secret(line: &str) -> bool {
        serde_json::from_str::<Value>(line)
            .ok()
            .is_some_and(|v| v.to_string().contains("get_secret") && v.to_string().contains("tools/call"))
    }

    #[test]
    fn mangled_calls_never_forward_a_denied_call() {
        let denied =
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_secret","arguments":{"q":"x"}}}"#;
        let (r, client, server) = relay();
        let mut sent = 0;
        // Every prefix, every single-byte deletion and a few substitutions at every position.
        for i in 0..denied.len() {
            let mut variants = vec![denied.as_bytes()[..i].to_vec()];
            let mut del = denied.as_bytes().to_vec();
            del.remove(i);
            variants.push(del);
            for b in [b'"', b'{', b'}', b',', b'\\', b' ', 0xff, b'\n'] {
                let mut sub = denied.as_bytes().to_vec();
                sub[i] = b;
                variants.push(sub);
            }
            for v in variants {
                r.from_client(&v);
                sent += 1;
            }
        }
        assert!(sent >= 10 * denied.len());
        let forwarded = server.lines();
        assert!(forwarded.iter().all(|l| !calls_secret(l)), "{:?}", forwarded.iter().find(|l| calls_secret(l)));
        // The guard answered: denials and errors, never a crash.
        assert!(!client.lines().is_empty());
        // And it still relays.
        r.from_client(br#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"read","arguments":{}}}"#);
        assert!(server.lines().last().unwrap().contains("\"read\""));
    }

    #[test]
    fn malformed_server_lines_pass_and_lists_are_filtered() {
        let (r, client, _) = relay();
        for line in [&b"not json\n"[..], b"{\"id\": 1, \"result\": \n", b"\xff\xfe\n", b"[1,2]\n", b"\n"] {
            r.from_server(line);
        }
        assert_eq!(client.lines().len(), 5);
        r.from_client(br#"{"jsonrpc":"2.0","id":"l","method":"tools/list"}"#);
        // A server's request with the same id is not the answer.
        r.from_server(b"{\"jsonrpc\":\"2.0\",\"id\":\"l\",\"method\":\"ping\"}\n");
        // `get_secret` stays: the permit's condition reads an attribute, which the static
        // question does not evaluate. `gone` is no entity; a tool without a name is dropped.
        r.from_server(br#"{"jsonrpc":"2.0","id":"l","result":{"tools":[{"name":"read"},{"name":"get_secret"},{"name":"gone"},{"x":1}]}}"#);
        let lines = client.lines();
        assert_eq!(lines.len(), 7, "{lines:?}");
        assert!(lines[5].contains("ping"));
        let list: Value = serde_json::from_str(&lines[6]).unwrap();
        assert_eq!(list["result"]["tools"], json!([{"name": "read"}, {"name": "get_secret"}]));
        // Answered once: a second answer with that id passes unchanged.
        let again = "{\"jsonrpc\":\"2.0\",\"id\":\"l\",\"result\":{\"tools\":[{\"name\":\"gone\"}]}}\n";
        r.from_server(again.as_bytes());
        assert_eq!(format!("{}\n", client.lines()[7]), again);
    }

    #[test]
    fn a_cancelled_call_waiting_for_a_human_is_forgotten() {
        let (r, client, server) = relay();
        r.from_client(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"capabilities":{"elicitation":{}}}}"#,
        );
        let p = json!({"name": "read", "arguments": {}});
        // Escalate needs a rule: none here, so fake a pending call directly.
        let d = r.decider.decide(Kind::Tool, Some(&json!(7)), "read", None, false);
        let message = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": p});
        r.state().pending.insert("\"g\"".into(), Pending { message, kind: Kind::Tool, name: "read".into(), first: d });
        r.from_client(br#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":7}}"#);
        assert!(r.state().pending.is_empty());
        // A late accept is an answer to nothing of the guard's: it goes to the server, and
        // the call is not forwarded.
        r.from_client(br#"{"jsonrpc":"2.0","id":"g","result":{"action":"accept"}}"#);
        assert!(server.lines().iter().all(|l| !l.contains("tools/call")), "{:?}", server.lines());
        assert!(client.lines().is_empty());
    }

    #[test]
    fn strict_parse_refuses_duplicates_at_any_depth() {
        assert!(strict_parse(br#"{"a":{"b":1,"b":2}}"#).unwrap_err().contains("duplicate key `b`"));
        assert!(strict_parse(br#"[{"a":1,"a":1}]"#).is_err());
        assert!(strict_parse(br#"{"a":1} {"b":2}"#).is_err());
        assert_eq!(
            strict_parse(b" {\"a\":[1,2.5,null,true,\"x\"]}\n").unwrap(),
            json!({"a": [1, 2.5, null, true, "x"]})
        );
    }
}
