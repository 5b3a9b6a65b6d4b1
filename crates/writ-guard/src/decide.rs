//! From MCP requests to Writ decisions: the request mapping, and the hook that sees every
//! decision (the audit log).

use crate::config::{Config, Mapping};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use writ::{Decision, Engine, Entities};

/// The MCP request kinds the guard decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `tools/call`: the name is the tool's.
    Tool,
    /// `resources/read`: the name is the URI.
    Resource,
    /// `prompts/get`: the name is the prompt's.
    Prompt,
}

impl Kind {
    /// The MCP method.
    pub fn method(self) -> &'static str {
        match self {
            Kind::Tool => "tools/call",
            Kind::Resource => "resources/read",
            Kind::Prompt => "prompts/get",
        }
    }
}

/// One decision the guard made, for the decision log.
#[derive(Debug)]
pub struct GuardDecision<'a> {
    /// A unique id of the decision (also sent to the server in `_meta.writ.decision_id`).
    pub decision_id: &'a str,
    /// The JSON-RPC id of the MCP request.
    pub mcp_id: Option<&'a serde_json::Value>,
    /// The MCP method.
    pub method: &'static str,
    /// The tool or prompt name, or the resource URI.
    pub name: &'a str,
    /// The Writ request, as JSON.
    pub request: &'a serde_json::Value,
    /// The decision.
    pub decision: &'a Decision,
    /// How long deciding took (decoding included).
    pub latency: Duration,
}

/// Where the guard reports every decision. The decision log of `writ serve` implements it;
/// a host embedding the guard may give its own.
pub trait DecisionSink: Send + Sync {
    /// Called once per decision, after it is made and before it is enforced.
    fn record(&self, decision: &GuardDecision<'_>);

    /// Waits until every decision recorded so far is stored (called before the guard exits).
    fn flush(&self) {}
}

/// A sink that drops every decision.
pub struct NoLog;

impl DecisionSink for NoLog {
    fn record(&self, _: &GuardDecision<'_>) {}
}

/// The decision log of `writ serve` as a sink: one JSON line per decision, with the MCP
/// request in `mcp` (`{"id", "method", "name"}`) and `source` `guard`.
pub struct LogSink(pub writ_decision_log::DecisionLog);

impl DecisionSink for LogSink {
    fn record(&self, d: &GuardDecision<'_>) {
        use writ_decision_log::{Record, RequestData};
        let mut r =
            Record::new(d.decision_id, "guard", RequestData::Json(d.request.clone()), d.decision.clone(), d.latency);
        r.mcp = Some(serde_json::json!({
            "id": d.mcp_id.cloned().unwrap_or(serde_json::Value::Null),
            "method": d.method,
            "name": d.name,
        }));
        self.0.record(r);
    }

    fn flush(&self) {
        self.0.flush();
    }
}

/// The policies, entities and mapping of one guard.
pub struct Decider {
    /// The engine.
    pub engine: Engine,
    /// The entity store.
    pub entities: Entities,
    /// The configuration.
    pub config: Config,
    /// The decision log.
    pub sink: Arc<dyn DecisionSink>,
    /// The current time for `context.now` (a fixed clock in tests).
    pub clock: fn() -> SystemTime,
    counter: AtomicU64,
}

/// A decision with its id and the request that made it.
pub struct Decided {
    /// The decision.
    pub decision: Decision,
    /// Its id.
    pub id: String,
    /// The request.
    pub request: serde_json::Value,
}

impl Decider {
    /// A decider.
    pub fn new(engine: Engine, entities: Entities, config: Config, sink: Arc<dyn DecisionSink>) -> Decider {
        Decider { engine, entities, config, sink, clock: SystemTime::now, counter: AtomicU64::new(0) }
    }

    /// The mapping of a kind.
    pub fn mapping(&self, kind: Kind) -> &Mapping {
        match kind {
            Kind::Tool => &self.config.tools,
            Kind::Resource => &self.config.resources,
            Kind::Prompt => &self.config.prompts,
        }
    }

    /// The Writ request for an MCP request of `kind` on `name` with these arguments.
    pub fn request(
        &self,
        kind: Kind,
        name: &str,
        args: Option<&serde_json::Value>,
        approved: bool,
    ) -> serde_json::Value {
        let c = &self.config;
        let m = self.mapping(kind);
        let mut context = c.context_json();
        if !c.args_field.is_empty() && kind != Kind::Resource {
            let args = args.cloned().unwrap_or_else(|| serde_json::Value::Object(Default::default()));
            context.insert(c.args_field.clone(), args);
        }
        if !c.now_field.is_empty() {
            context.insert(c.now_field.clone(), serde_json::Value::String(rfc3339((self.clock)())));
        }
        if approved {
            context.insert(c.approved_field.clone(), serde_json::Value::Bool(true));
        }
        let mut r = serde_json::json!({
            "principal": c.principal.to_json(),
            "action": m.action,
            "resource": {"type": m.resource_type, "id": m.resource_id(name)},
            "context": context,
        });
        if let serde_json::Value::Object(o) = &mut r {
            if let Some(i) = &c.intent {
                o.insert("intent".into(), serde_json::Value::String(i.clone()));
            }
            if !c.on_behalf_of.is_empty() {
                o.insert("on_behalf_of".into(), c.on_behalf_of.iter().map(|e| e.to_json()).collect());
            }
        }
        r
    }

    /// Decides an MCP request and reports the decision to the sink. A request that cannot be
    /// decoded (arguments that do not fit the schema) is a deny naming the JSON path.
    pub fn decide(
        &self,
        kind: Kind,
        mcp_id: Option<&serde_json::Value>,
        name: &str,
        args: Option<&serde_json::Value>,
        approved: bool,
    ) -> Decided {
        let start = Instant::now();
        let request = self.request(kind, name, args, approved);
        let decision = match self.engine.request_from_value(&request, &self.entities) {
            Ok(r) => self.engine.decide(&r),
            Err(e) => {
                let mut d = Decision::bad_request(e.to_string());
                d.policy_version = Some(self.engine.policy().version().into());
                d
            }
        };
        let id = self.next_id();
        self.sink.record(&GuardDecision {
            decision_id: &id,
            mcp_id,
            method: kind.method(),
            name,
            request: &request,
            decision: &decision,
            latency: start.elapsed(),
        });
        Decided { decision, id, request }
    }

    /// Whether `tools/list` offers the tool: whether some permit could allow calling it for
    /// this principal, intent and delegation chain, whatever the arguments and the time
    /// ([`writ::Engine::could_permit`]). A tool it leaves out is one every call of would be
    /// denied; a tool it offers is still decided call by call.
    pub fn may_offer(&self, tool: &str) -> bool {
        let c = &self.config;
        let m = &c.tools;
        let chain: Vec<(&str, &str)> = c.on_behalf_of.iter().map(|e| (e.ty.as_str(), e.id.as_str())).collect();
        self.engine.could_permit(
            (&c.principal.ty, &c.principal.id),
            &m.action,
            (&m.resource_type, m.resource_id(tool)),
            c.intent.as_deref(),
            &chain,
            &self.entities,
        )
    }

    fn next_id(&self) -> String {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        format!("{:x}-{}-{n}", t, std::process::id())
    }
}

/// The time as RFC 3339 in UTC, to the second (`2026-11-23T10:15:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    writ_decision_log::rfc3339_seconds(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        let at = |s: u64| rfc3339(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_429_500), "2026-11-23T10:25:00Z");
        assert_eq!(at(4_107_542_399), "2100-02-28T23:59:59Z");
    }
}
