//! The guard's configuration file (TOML, docs/guard.md): who the agent is, what it is doing,
//! and how MCP messages become Writ requests.

use serde::Deserialize;
use std::collections::BTreeMap;

/// An entity reference, `{ type = "Agent", id = "support-bot" }`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EntityRef {
    /// The entity type.
    #[serde(rename = "type")]
    pub ty: String,
    /// The entity id.
    pub id: String,
}

impl EntityRef {
    /// The request JSON of the reference.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({"type": self.ty, "id": self.id})
    }
}

/// What the guard does with requests of a method it does not authorize.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    /// Relay them unchanged (the default).
    #[default]
    Pass,
    /// Answer them with a JSON-RPC error; the server never sees them.
    Refuse,
}

/// How one kind of MCP request (`tools/call`, `resources/read`, `prompts/get`) becomes a
/// Writ request.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// Whether requests of this kind are decided (for tools always).
    #[serde(default)]
    pub authorize: bool,
    /// The Writ action.
    pub action: String,
    /// The entity type of the resource; its id is the tool or prompt name, or the resource URI.
    pub resource_type: String,
    /// Resource ids by MCP name, for names that differ (`delete_ticket = "tickets.delete"`).
    #[serde(default)]
    pub resource_ids: BTreeMap<String, String>,
}

impl Mapping {
    fn new(authorize: bool, action: &str, resource_type: &str) -> Mapping {
        Mapping { authorize, action: action.into(), resource_type: resource_type.into(), resource_ids: BTreeMap::new() }
    }

    /// The resource id for an MCP name.
    pub fn resource_id<'a>(&'a self, name: &'a str) -> &'a str {
        self.resource_ids.get(name).map_or(name, String::as_str)
    }
}

fn default_tools() -> Mapping {
    Mapping::new(true, "call_tool", "Tool")
}

fn default_resources() -> Mapping {
    Mapping::new(false, "read_resource", "Resource")
}

fn default_prompts() -> Mapping {
    Mapping::new(false, "get_prompt", "Prompt")
}

fn default_args() -> String {
    "args".into()
}

fn default_now() -> String {
    "now".into()
}

fn default_approved() -> String {
    "approved".into()
}

/// The configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The agent: the principal of every request.
    pub principal: EntityRef,
    /// The task intent every request declares (none when absent).
    #[serde(default)]
    pub intent: Option<String>,
    /// The delegation chain, in order.
    #[serde(default)]
    pub on_behalf_of: Vec<EntityRef>,
    /// Context fields every request carries, as written (decoded by the schema).
    #[serde(default)]
    pub context: BTreeMap<String, toml::Value>,
    /// The context field that receives the call's arguments (`""`: none).
    #[serde(default = "default_args")]
    pub args_field: String,
    /// The context field that receives the current time, RFC 3339 (`""`: none).
    #[serde(default = "default_now")]
    pub now_field: String,
    /// The context field set to `true` when a human approved an escalation.
    #[serde(default = "default_approved")]
    pub approved_field: String,
    /// `tools/call`.
    #[serde(default = "default_tools")]
    pub tools: Mapping,
    /// `resources/read` (not decided unless `authorize = true`).
    #[serde(default = "default_resources")]
    pub resources: Mapping,
    /// `prompts/get` (not decided unless `authorize = true`).
    #[serde(default = "default_prompts")]
    pub prompts: Mapping,
    /// Requests of methods the guard does not know: `pass` (default) or `refuse`.
    #[serde(default)]
    pub unknown_methods: Unknown,
    /// Whether `tools/list` leaves out the tools no permit could allow (default true).
    #[serde(default = "yes")]
    pub filter_tools_list: bool,
    /// The decision log: the same table as `[log]` of `writ serve` (none when absent).
    #[serde(default)]
    pub decision_log: Option<writ_decision_log::LogSection>,
}

fn yes() -> bool {
    true
}

impl Config {
    /// Reads the configuration from TOML text; errors name the line and column.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    /// Reads the configuration file; a relative log path is taken from the file's folder.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let mut c = Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        if let Some(l) = c.decision_log.as_mut().filter(|l| l.path.is_relative()) {
            l.path = path.parent().unwrap_or(std::path::Path::new(".")).join(&l.path);
        }
        Ok(c)
    }

    /// The static context fields as JSON.
    pub fn context_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.context.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()
    }
}

/// TOML values as JSON: datetimes become their RFC 3339 text.
fn toml_to_json(v: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(a) => J::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => J::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = Config::from_toml("principal = { type = \"Agent\", id = \"bot\" }").unwrap();
        assert_eq!(c.principal, EntityRef { ty: "Agent".into(), id: "bot".into() });
        assert_eq!((c.tools.action.as_str(), c.tools.resource_type.as_str()), ("call_tool", "Tool"));
        assert!(c.tools.authorize && !c.resources.authorize && !c.prompts.authorize);
        assert_eq!((c.args_field.as_str(), c.now_field.as_str()), ("args", "now"));
        assert_eq!(c.unknown_methods, Unknown::Pass);
        assert!(c.intent.is_none() && c.on_behalf_of.is_empty() && c.filter_tools_list);
        assert!(c.decision_log.is_none());
    }

    #[test]
    fn full() {
        let c = Config::from_toml(
            r#"
            principal = { type = "Agent", id = "bot" }
            intent = "triage_ticket"
            on_behalf_of = [{ type = "Human", id = "alice" }]
            unknown_methods = "refuse"
            [context]
            risk = 12
            when = 2026-11-23T10:15:00Z
            [tools]
            action = "use"
            resource_type = "Tool"
            resource_ids = { delete_ticket = "tickets.delete" }
            [resources]
            authorize = true
            action = "read"
            resource_type = "Doc"
            [decision_log]
            path = "guard.jsonl"
            max_bytes = 1000
            on_full = "drop"
            mask = ["context.args.password"]
            "#,
        )
        .unwrap();
        assert_eq!(c.intent.as_deref(), Some("triage_ticket"));
        assert_eq!(c.tools.resource_id("delete_ticket"), "tickets.delete");
        assert_eq!(c.tools.resource_id("read_ticket"), "read_ticket");
        assert_eq!(c.unknown_methods, Unknown::Refuse);
        assert!(c.resources.authorize);
        let ctx = c.context_json();
        assert_eq!(ctx["risk"], serde_json::json!(12));
        assert_eq!(ctx["when"], serde_json::json!("2026-11-23T10:15:00Z"));
        let log = c.decision_log.unwrap().to_log_config();
        assert_eq!((log.max_bytes, log.keep, log.on_full), (1000, 5, writ_decision_log::OnFull::Drop));
        assert_eq!(log.mask, ["context.args.password"]);
    }

    #[test]
    fn errors_name_the_line() {
        let e = Config::from_toml("principal = { type = \"Agent\", id = \"bot\" }\nintnet = \"x\"\n").unwrap_err();
        assert!(e.contains("intnet") && e.contains("line 2"), "{e}");
        assert!(Config::from_toml("intent = \"x\"").unwrap_err().contains("principal"));
    }
}
