//! The server's settings: a TOML file (`--config FILE`), with command-line flags on top.
//! `docs/serve.md` lists every key.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything `writ serve` runs with. `Config::default()` serves nothing until `policies`
/// is set; the defaults of the other fields are those of `docs/serve.md`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Policy files or directories.
    pub policies: Vec<PathBuf>,
    /// The entity store (a JSON array of entities), reloaded with the policies.
    pub entities: Option<PathBuf>,
    /// Where to listen.
    pub addr: SocketAddr,
    /// Reload when a policy file or the entities file changes.
    pub watch: bool,
    /// `jit` (native code) or `interp` (the reference interpreter).
    pub engine: EngineKind,
    /// Whether a native request's inline entities may replace stored ones.
    pub allow_inline_override: bool,
    pub limits: LimitsConfig,
    pub auth: AuthConfig,
    pub authzen: AuthzenConfig,
    pub log: Option<LogSection>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            policies: Vec::new(),
            entities: None,
            addr: SocketAddr::from(([127, 0, 0, 1], 8181)),
            watch: true,
            engine: EngineKind::Jit,
            allow_inline_override: false,
            limits: LimitsConfig::default(),
            auth: AuthConfig::default(),
            authzen: AuthzenConfig::default(),
            log: None,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    /// Native code (Cranelift); the interpreter where the machine is not supported.
    #[default]
    Jit,
    /// The reference interpreter.
    Interp,
}

/// Bounds on what one request may cost.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Largest request body, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Most entries in one batch (`evaluations`, `requests`); 413 above it.
    pub max_batch: usize,
    /// Longest time a request may take, in milliseconds (503 after it).
    pub request_timeout_ms: u64,
    /// Most requests handled at once (429 above it).
    pub max_concurrent: usize,
    /// How long shutdown waits for requests in flight, in milliseconds.
    pub shutdown_grace_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> LimitsConfig {
        LimitsConfig {
            max_body_bytes: 1 << 20,
            max_batch: 1000,
            request_timeout_ms: 5_000,
            max_concurrent: 1024,
            shutdown_grace_ms: 30_000,
        }
    }
}

impl LimitsConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms.max(1))
    }
}

/// Bearer tokens for PEPs. With no token configured, every request is served.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// A file with one token per line (blank lines and `#` comments skipped).
    pub tokens_file: Option<PathBuf>,
    /// The name of an environment variable holding tokens separated by commas or spaces.
    pub tokens_env: Option<String>,
}

/// What to do with a subject or resource the entity store does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unknown {
    /// Build an inline entity from the `properties` (possibly none).
    Inline,
    /// Refer to it anyway: the decision is a deny naming the unknown entity.
    Deny,
}

/// How AuthZEN requests map onto Writ requests, and how answers look.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthzenConfig {
    /// Answer `{"decision": bool}` only (no `context`).
    pub strict: bool,
    /// The PDP identifier published at `/.well-known/authzen-configuration`; by default
    /// `http://` + the request's `Host` header.
    pub base_url: Option<String>,
    /// AuthZEN `type` → Writ entity type. Types not listed map to the entity type whose
    /// name is the same ignoring case.
    pub types: BTreeMap<String, String>,
    /// AuthZEN `action.name` → Writ action. Names not listed map to themselves.
    pub actions: BTreeMap<String, String>,
    /// A subject the store does not hold.
    pub unknown_subjects: Unknown,
    /// A resource the store does not hold.
    pub unknown_resources: Unknown,
    /// Whether `subject.properties` apply over a stored subject (`false`: they are ignored
    /// for stored subjects).
    pub subject_properties: bool,
}

impl Default for AuthzenConfig {
    fn default() -> AuthzenConfig {
        AuthzenConfig {
            strict: false,
            base_url: None,
            types: BTreeMap::new(),
            actions: BTreeMap::new(),
            unknown_subjects: Unknown::Deny,
            unknown_resources: Unknown::Inline,
            subject_properties: true,
        }
    }
}

/// The `[log]` table: the decision log (the same table as the guard's `[decision_log]`).
pub use crate::decision_log::LogSection;

impl Config {
    /// Reads a config file. Relative paths in it are taken from the file's folder.
    pub fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut config = Config::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let rebase = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        config.policies.iter_mut().for_each(rebase);
        if let Some(e) = config.entities.as_mut() {
            rebase(e);
        }
        if let Some(f) = config.auth.tokens_file.as_mut() {
            rebase(f);
        }
        if let Some(l) = config.log.as_mut() {
            rebase(&mut l.path);
        }
        Ok(config)
    }

    /// Parses config text (no paths are rebased).
    ///
    /// ```
    /// let c = writ_serve::config::Config::from_toml("addr = \"127.0.0.1:9000\"\n[authzen]\nstrict = true\n")?;
    /// assert!(c.authzen.strict && c.addr.port() == 9000);
    /// assert!(writ_serve::config::Config::from_toml("adr = 1").is_err());
    /// # Ok::<(), String>(())
    /// ```
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }
}
