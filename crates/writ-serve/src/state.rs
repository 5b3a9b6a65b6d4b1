//! What one policy set being served is made of (a [`Snapshot`]), and loading one.

use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;
use writ::{Engine, EngineOptions, Entities, PolicySet};

use crate::authzen::{Mapping, Store};
use crate::config::{Config, EngineKind};
use crate::decision_log::rfc3339;

/// A checked and compiled policy set with its entities: what requests decide against.
/// Swapped whole on reload; a request keeps the one it started with.
pub struct Snapshot {
    pub engine: Engine,
    /// The same engine allowing inline entities over stored ones (AuthZEN `properties`
    /// over a stored entity).
    pub override_engine: Engine,
    pub entities: Entities,
    pub store: Store,
    pub mapping: Mapping,
    pub version: Arc<str>,
    /// A hash of the entities file's text (0 without one).
    pub entities_digest: u64,
    pub entity_count: usize,
    pub loaded_at: String,
    pub files: Vec<String>,
    pub rules: Vec<String>,
    pub warnings: usize,
}

/// A load that failed: the old set keeps serving.
#[derive(Clone, Debug)]
pub struct Failure {
    pub at: String,
    /// One line for logs.
    pub message: String,
    /// The rendered report (terminal text, no colour).
    pub report: String,
    /// LSP-shaped JSON diagnostics, when the policies did not check.
    pub diagnostics: Value,
}

impl Failure {
    fn plain(message: String) -> Failure {
        Failure {
            at: rfc3339(SystemTime::now()),
            report: format!("{message}\n"),
            message,
            diagnostics: Value::Array(Vec::new()),
        }
    }
}

/// Loads, checks and compiles the policies and decodes the entities of a config.
pub fn load(config: &Config) -> Result<Snapshot, Failure> {
    if config.policies.is_empty() {
        return Err(Failure::plain("no policy files or directories given".into()));
    }
    let policies = PolicySet::load_paths(&config.policies).map_err(|e| {
        let diagnostics = serde_json::from_str(&writ::diag::json::render(&e.diagnostics, &e.sources))
            .unwrap_or_else(|_| Value::Array(Vec::new()));
        let mut report = writ::diag::render::render(&e.diagnostics, &e.sources, false);
        report.push_str(&format!("the policies do not check: {}\n", writ::diag::render::summary(&e.diagnostics)));
        Failure { at: rfc3339(SystemTime::now()), message: e.to_string(), report, diagnostics }
    })?;
    let options = EngineOptions { allow_inline_override: config.allow_inline_override, ..Default::default() };
    let engine = match config.engine {
        EngineKind::Interp => Engine::interpreted_with(&policies, options),
        EngineKind::Jit => Engine::compile_with(&policies, options)
            .map_err(|e| Failure::plain(format!("the policies could not be compiled: {e}")))?,
    };
    let (entities, store, digest, count) = match &config.entities {
        None => (engine.empty_entities(), Store::default(), 0, 0),
        Some(path) => load_entities(&engine, path)?,
    };
    let override_engine = engine.with_options(EngineOptions { allow_inline_override: true, ..*engine.options() });
    let mapping = Mapping::new(&config.authzen, policies.entity_types());
    let files = policies.sources().files().map(|(_, f)| f.name.clone()).filter(|n| !n.starts_with("<std>")).collect();
    Ok(Snapshot {
        rules: policies.rule_ids().map(str::to_string).collect(),
        warnings: policies.warnings().len(),
        version: Arc::from(policies.version()),
        engine,
        override_engine,
        entities,
        store,
        mapping,
        entities_digest: digest,
        entity_count: count,
        loaded_at: rfc3339(SystemTime::now()),
        files,
    })
}

fn load_entities(engine: &Engine, path: &Path) -> Result<(Entities, Store, u64, usize), Failure> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| Failure::plain(format!("{shown}: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Failure::plain(format!("{shown}: {e}")))?;
    // Decoded from the text, so that a duplicate key is refused as everywhere else.
    let entities = engine.entities_from_json(&text).map_err(|e| Failure::plain(format!("{shown}: {e}")))?;
    let count = value.as_array().map_or(0, Vec::len);
    Ok((entities, Store::from_json(&value), digest(&text), count))
}

/// FNV-1a (64 bits).
fn digest(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}
