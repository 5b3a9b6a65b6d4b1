//! The three engines, each used the way its own host would use it.
//!
//! * **Writ**: `Engine::compile` (or `Engine::interpreted`), the entity store decoded once;
//!   prepared: `engine.decide(&request)`; end to end: `engine.decide_json(json, &entities)`.
//! * **Cedar**: `PolicySet`, `Schema` and `Entities` built once (entities validated against
//!   the schema); prepared: `Authorizer::is_authorized` on `Request`s built beforehand; end to
//!   end: the host parses the request JSON, builds the `EntityUid`s and the `Context`
//!   (checked against the schema, as Writ checks its context), the `Request`s, and decides.
//! * **Rego** (regorus): policy and data loaded once; prepared: `eval_rule` with the input
//!   already set; end to end: `set_input_json` + `eval_rule`.
//!
//! Writ authorizes every principal of the request's `on_behalf_of` chain afresh (docs/decisions.md)
//! and checks the declared intent. The Cedar host does the same by asking once per
//! principal of the chain, with the intent passed in the context (the Cedar policies hold a
//! `forbid` per intent envelope). The Rego policy walks the chain itself (`every`).

use crate::Error;
use crate::scenario::Scenario;
use cedar_policy::{Authorizer, Context, Decision, Entities, EntityId, EntityTypeName, EntityUid, PolicySet, Schema};
use serde_json::{Map, Value};
use std::str::FromStr;

/// Which Writ constructor to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritKind {
    /// `writ::Engine::compile` (the JIT entry point; see [`WritSide::label`] for what it ran).
    Compile,
    /// `writ::Engine::interpreted`.
    Interpreted,
}

/// Writ with a policy set and an entity store.
pub struct WritSide {
    pub engine: writ::Engine,
    pub entities: writ::Entities,
    kind: WritKind,
}

/// The checked Writ policy set of a scenario.
pub fn writ_policy_set(sc: &Scenario) -> Result<writ::PolicySet, Error> {
    let files: Vec<(&str, &str)> = sc.writ_files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    writ::PolicySet::from_sources(&files).map_err(|e| Error(format!("{}: writ: {}", sc.name, e.render())))
}

impl WritSide {
    pub fn new(sc: &Scenario, kind: WritKind) -> Result<WritSide, Error> {
        let ps = writ_policy_set(sc)?;
        WritSide::from_policy_set(sc, &ps, kind)
    }

    /// With a policy set already checked (checking 10,000 rules takes a while).
    pub fn from_policy_set(sc: &Scenario, ps: &writ::PolicySet, kind: WritKind) -> Result<WritSide, Error> {
        let engine = match kind {
            WritKind::Compile => {
                writ::Engine::compile(ps).map_err(|e| Error(format!("{}: writ compile: {}", sc.name, e)))?
            }
            WritKind::Interpreted => writ::Engine::interpreted(ps),
        };
        let entities = engine
            .entities_from_json(&sc.writ_entities)
            .map_err(|e| Error::new(&format!("{}: writ entities", sc.name), e))?;
        Ok(WritSide { engine, entities, kind })
    }

    /// `writ-compile-interpreter`, `writ-compile-jit` or `writ-interpreted`: the constructor,
    /// and for `compile` the back end it actually returned.
    pub fn label(&self) -> String {
        match self.kind {
            WritKind::Interpreted => "writ-interpreted".into(),
            WritKind::Compile => match self.engine.backend() {
                writ::Backend::Interpreter => "writ-compile-interpreter".into(),
                writ::Backend::Jit => "writ-compile-jit".into(),
            },
        }
    }

    pub fn prepare(&self, json: &str) -> Result<writ::Request, Error> {
        self.engine.request_from_json(json, &self.entities).map_err(|e| Error::new("writ request", e))
    }

    pub fn decide(&self, request: &writ::Request) -> writ::Verdict {
        self.engine.decide(request).decision
    }

    pub fn decide_json(&self, json: &str) -> writ::Verdict {
        self.engine.decide_json(json, &self.entities).decision
    }
}

/// Cedar with a policy set, a schema and an entity store.
pub struct CedarSide {
    pub policies: PolicySet,
    pub schema: Schema,
    pub entities: Entities,
    authorizer: Authorizer,
    weekday: bool,
    action_type: EntityTypeName,
}

/// The Cedar requests for one Writ request: its principal, then each principal it acts for.
pub struct CedarRequest(pub Vec<cedar_policy::Request>);

fn entity_uid(v: Option<&Value>, what: &str) -> Result<EntityUid, Error> {
    let v = v.ok_or_else(|| Error(format!("cedar request: no `{what}`")))?;
    let ty = v.get("type").and_then(Value::as_str).ok_or_else(|| Error(format!("cedar request: `{what}.type`")))?;
    let id = v.get("id").and_then(Value::as_str).ok_or_else(|| Error(format!("cedar request: `{what}.id`")))?;
    let ty = EntityTypeName::from_str(ty).map_err(|e| Error::new(&format!("cedar request: `{what}.type`"), e))?;
    Ok(EntityUid::from_type_name_and_id(ty, EntityId::new(id)))
}

impl CedarSide {
    pub fn new(sc: &Scenario) -> Result<CedarSide, Error> {
        let ctx = |what: &str| format!("{}: cedar {what}", sc.name);
        let (schema, _warnings) =
            Schema::from_cedarschema_str(&sc.cedar_schema).map_err(|e| Error::new(&ctx("schema"), e))?;
        let policies = PolicySet::from_str(&sc.cedar_policies).map_err(|e| Error::new(&ctx("policies"), e))?;
        let validation =
            cedar_policy::Validator::new(schema.clone()).validate(&policies, cedar_policy::ValidationMode::Strict);
        if !validation.validation_passed() {
            let errs: Vec<String> = validation.validation_errors().map(|e| e.to_string()).collect();
            return Err(Error(format!("{}: {}", ctx("validation"), errs.join("; "))));
        }
        let entities =
            Entities::from_json_str(&sc.cedar_entities, Some(&schema)).map_err(|e| Error::new(&ctx("entities"), e))?;
        let action_type = EntityTypeName::from_str("Action").map_err(|e| Error::new(&ctx("action type"), e))?;
        Ok(CedarSide {
            policies,
            schema,
            entities,
            authorizer: Authorizer::new(),
            weekday: sc.cedar_weekday,
            action_type,
        })
    }

    /// Builds the Cedar requests from a request in Writ's JSON form, as a Cedar host would:
    /// parse, build the entity UIDs, add the host-computed context fields (`intent`, and
    /// `weekday` where the policies need it), parse the context against the schema.
    pub fn prepare(&self, json: &str) -> Result<CedarRequest, Error> {
        let mut v: Value = serde_json::from_str(json).map_err(|e| Error::new("cedar request", e))?;
        let obj = v.as_object_mut().ok_or_else(|| Error("cedar request: not an object".into()))?;
        let principal = entity_uid(obj.get("principal"), "principal")?;
        let resource = entity_uid(obj.get("resource"), "resource")?;
        let action =
            obj.get("action").and_then(Value::as_str).ok_or_else(|| Error("cedar request: `action`".into()))?;
        let action = EntityUid::from_type_name_and_id(self.action_type.clone(), EntityId::new(action));
        let mut context = match obj.remove("context") {
            Some(Value::Object(m)) => m,
            None => Map::new(),
            Some(_) => return Err(Error("cedar request: `context` is not an object".into())),
        };
        if self.weekday {
            let now = context.get("now").and_then(Value::as_str).ok_or_else(|| Error("cedar request: `now`".into()))?;
            let day = crate::iso_weekday(now).ok_or_else(|| Error("cedar request: bad `now`".into()))?;
            context.insert("weekday".into(), Value::from(day));
        }
        if let Some(intent) = obj.remove("intent") {
            context.insert("intent".into(), intent);
        }
        let context = Context::from_json_value(Value::Object(context), Some((&self.schema, &action)))
            .map_err(|e| Error::new("cedar context", e))?;
        let chain = match obj.get("on_behalf_of") {
            Some(Value::Array(a)) => a.as_slice(),
            _ => &[],
        };
        let mut requests = Vec::with_capacity(1 + chain.len());
        for hop in chain {
            let hop = entity_uid(Some(hop), "on_behalf_of")?;
            let r =
                cedar_policy::Request::new(hop, action.clone(), resource.clone(), context.clone(), Some(&self.schema))
                    .map_err(|e| Error::new("cedar request", e))?;
            requests.push(r);
        }
        let r = cedar_policy::Request::new(principal, action, resource, context, Some(&self.schema))
            .map_err(|e| Error::new("cedar request", e))?;
        requests.insert(0, r);
        Ok(CedarRequest(requests))
    }

    /// Allowed when every principal of the chain is allowed.
    pub fn decide(&self, request: &CedarRequest) -> bool {
        request
            .0
            .iter()
            .all(|r| self.authorizer.is_authorized(r, &self.policies, &self.entities).decision() == Decision::Allow)
    }

    /// Parse, build, decide; a request that cannot be built is denied.
    pub fn decide_json(&self, json: &str) -> bool {
        match self.prepare(json) {
            Ok(r) => self.decide(&r),
            Err(_) => false,
        }
    }

    /// The ids of the policies that decided each request of the chain (for diagnostics).
    pub fn reasons(&self, request: &CedarRequest) -> Vec<Vec<String>> {
        request
            .0
            .iter()
            .map(|r| {
                let resp = self.authorizer.is_authorized(r, &self.policies, &self.entities);
                let mut ids: Vec<String> = resp
                    .diagnostics()
                    .reason()
                    .map(|p| {
                        self.policies
                            .policy(p)
                            .and_then(|pol| pol.annotation("id").map(str::to_string))
                            .unwrap_or_else(|| p.to_string())
                    })
                    .collect();
                ids.extend(resp.diagnostics().errors().map(|e| format!("error: {e}")));
                ids
            })
            .collect()
    }
}

/// regorus with the policy and the data document loaded.
pub struct RegoSide {
    pub engine: regorus::Engine,
    rule: String,
}

impl RegoSide {
    pub fn new(sc: &Scenario) -> Result<RegoSide, Error> {
        let mut engine = regorus::Engine::new();
        for (file, text) in &sc.rego_files {
            engine
                .add_policy(file.clone(), text.clone())
                .map_err(|e| Error::new(&format!("{}: rego {file}", sc.name), e))?;
        }
        engine.add_data_json(&sc.rego_data).map_err(|e| Error::new(&format!("{}: rego data", sc.name), e))?;
        Ok(RegoSide { engine, rule: sc.rego_rule.clone() })
    }

    /// Parses the request JSON into a regorus value (done once for prepared requests).
    pub fn parse_input(json: &str) -> Result<regorus::Value, Error> {
        regorus::Value::from_json_str(json).map_err(|e| Error::new("rego input", e))
    }

    pub fn set_input(&mut self, input: regorus::Value) {
        self.engine.set_input(input);
    }

    /// Evaluates the allow rule on the input already set. An evaluation error is a deny.
    pub fn decide(&mut self) -> bool {
        matches!(self.engine.eval_rule(self.rule.clone()), Ok(v) if v == regorus::Value::from(true))
    }

    /// The raw result of the allow rule (for diagnostics).
    pub fn eval(&mut self) -> Result<regorus::Value, Error> {
        self.engine.eval_rule(self.rule.clone()).map_err(|e| Error::new("rego eval", e))
    }

    /// `set_input_json` + `eval_rule`; bad JSON is a deny.
    pub fn decide_json(&mut self, json: &str) -> bool {
        match self.engine.set_input_json(json) {
            Ok(()) => self.decide(),
            Err(_) => false,
        }
    }
}
