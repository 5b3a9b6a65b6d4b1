//! Scenarios: one policy set in three languages, requests, and the expected decisions.
//!
//! On disk (`scenarios/<name>/`):
//!
//! ```text
//! scenario.json            manifest: Rego rule to query, cases and their expected decisions,
//!                          which cases are timed, notes
//! writ/*.writ              the Writ policy set (`writ check scenarios/<name>/writ`)
//! writ/entities.json       the Writ entity store
//! cedar/schema.cedarschema the Cedar schema (Cedar schema syntax)
//! cedar/policies.cedar     the Cedar policies
//! cedar/entities.json      the Cedar entities (Cedar's JSON entity format)
//! rego/*.rego              the Rego policy (modules of one package; regorus takes at most
//!                          1 MiB a file, so large sets are split like the Writ files)
//! rego/data.json           the Rego data document (entities, with their ancestors)
//! requests/<case>.json     one request per case, in Writ's request JSON: the one string all
//!                          three hosts are given end to end
//! ```

use crate::Error;
use serde_json::{Value, json};
use std::fs;
use std::path::{Path, PathBuf};

/// The decision a case expects, as Writ gives it. Cedar and Rego have no `escalate`: there
/// an escalating rule withholds the allow, so they must answer "not allow" (deny).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    Allow,
    Deny,
    Escalate,
}

impl Expect {
    pub fn as_str(self) -> &'static str {
        match self {
            Expect::Allow => "allow",
            Expect::Deny => "deny",
            Expect::Escalate => "escalate",
        }
    }

    pub fn parse(s: &str) -> Option<Expect> {
        match s {
            "allow" => Some(Expect::Allow),
            "deny" => Some(Expect::Deny),
            "escalate" => Some(Expect::Escalate),
            _ => None,
        }
    }

    /// Whether the request is allowed (the only thing Cedar and Rego can be compared on).
    pub fn allows(self) -> bool {
        self == Expect::Allow
    }
}

/// One request and the decision it must get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    pub name: String,
    /// The request in Writ's JSON form (docs/host-data.md).
    pub request: String,
    pub expect: Expect,
}

/// One policy set in Writ, Cedar and Rego, with its cases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    /// (file name, text) of every Writ file.
    pub writ_files: Vec<(String, String)>,
    pub writ_entities: String,
    pub cedar_schema: String,
    pub cedar_policies: String,
    pub cedar_entities: String,
    /// (file name, text) of every Rego module.
    pub rego_files: Vec<(String, String)>,
    pub rego_data: String,
    /// The Rego rule that says allow, e.g. `data.writ_compare.agent.allow`.
    pub rego_rule: String,
    /// Whether the Cedar host adds `weekday` (ISO, from `context.now`) to the context.
    pub cedar_weekday: bool,
    pub cases: Vec<Case>,
    /// (label, case name) of the cases that are timed, e.g. ("allow", "spec_request").
    pub bench: Vec<(String, String)>,
    /// Free-form facts shown in the report (e.g. how many rules a timed request touches).
    pub notes: Vec<String>,
}

/// `benches/compare/scenarios`.
pub fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The hand-written scenarios, kept under `scenarios/`.
pub const HAND_WRITTEN: &[&str] = &["agent-tool-call", "ci-secret-read"];

/// Sizes of the generated rule sets.
pub const GENERATED_SIZES: &[usize] = &[10, 100, 1_000, 10_000];

/// Sizes whose generated files are kept in the repository (the largest is generated on
/// the fly: the same bytes every time, but 5 MB of text nobody needs to read).
pub const KEPT_SIZES: &[usize] = &[10, 100, 1_000];

fn read(path: &Path) -> Result<String, Error> {
    fs::read_to_string(path).map_err(|e| Error::new(&path.display().to_string(), e))
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(|e| Error::new(&parent.display().to_string(), e))?;
    }
    fs::write(path, text).map_err(|e| Error::new(&path.display().to_string(), e))
}

/// (file name, text) of the files of `dir` with extension `ext`, in name order.
fn read_dir_files(dir: &Path, ext: &str) -> Result<Vec<(String, String)>, Error> {
    let entries = fs::read_dir(dir).map_err(|e| Error::new(&dir.display().to_string(), e))?;
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        if p.extension().is_some_and(|x| x == ext) {
            let file = p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((file, read(&p)?));
        }
    }
    Ok(out)
}

fn str_field<'a>(v: &'a Value, key: &str, ctx: &str) -> Result<&'a str, Error> {
    v.get(key).and_then(Value::as_str).ok_or_else(|| Error(format!("{ctx}: `{key}` must be a string")))
}

impl Scenario {
    /// Loads `scenarios/<name>/` (or any directory of that layout).
    pub fn load(dir: &Path) -> Result<Scenario, Error> {
        let ctx = dir.display().to_string();
        let manifest: Value =
            serde_json::from_str(&read(&dir.join("scenario.json"))?).map_err(|e| Error::new(&ctx, e))?;
        let name = str_field(&manifest, "name", &ctx)?.to_string();

        let writ_dir = dir.join("writ");
        let writ_files = read_dir_files(&writ_dir, "writ")?;
        let rego_files = read_dir_files(&dir.join("rego"), "rego")?;

        let mut cases = Vec::new();
        for c in manifest.get("cases").and_then(Value::as_array).into_iter().flatten() {
            let cname = str_field(c, "name", &ctx)?.to_string();
            let expect = str_field(c, "expect", &ctx)?;
            let expect = Expect::parse(expect).ok_or_else(|| Error(format!("{ctx}: bad expectation `{expect}`")))?;
            let request = read(&dir.join("requests").join(format!("{cname}.json")))?;
            cases.push(Case { name: cname, request, expect });
        }
        let mut bench = Vec::new();
        for b in manifest.get("bench").and_then(Value::as_array).into_iter().flatten() {
            let label = str_field(b, "label", &ctx)?.to_string();
            let case = str_field(b, "case", &ctx)?.to_string();
            bench.push((label, case));
        }
        let notes = manifest
            .get("notes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|n| n.as_str().map(str::to_string))
            .collect();

        let sc = Scenario {
            name,
            writ_files,
            writ_entities: read(&writ_dir.join("entities.json"))?,
            cedar_schema: read(&dir.join("cedar/schema.cedarschema"))?,
            cedar_policies: read(&dir.join("cedar/policies.cedar"))?,
            cedar_entities: read(&dir.join("cedar/entities.json"))?,
            rego_files,
            rego_data: read(&dir.join("rego/data.json"))?,
            rego_rule: str_field(&manifest, "rego_rule", &ctx)?.to_string(),
            cedar_weekday: manifest.get("cedar_weekday").and_then(Value::as_bool).unwrap_or(false),
            cases,
            bench,
            notes,
        };
        sc.check_bench_cases()?;
        Ok(sc)
    }

    /// Loads one of the hand-written scenarios by name.
    pub fn hand_written(name: &str) -> Result<Scenario, Error> {
        Scenario::load(&scenarios_dir().join(name))
    }

    fn check_bench_cases(&self) -> Result<(), Error> {
        for (label, case) in &self.bench {
            if self.case(case).is_none() {
                return Err(Error(format!("{}: timed case `{label}` names unknown case `{case}`", self.name)));
            }
        }
        Ok(())
    }

    pub fn case(&self, name: &str) -> Option<&Case> {
        self.cases.iter().find(|c| c.name == name)
    }

    /// The manifest, as written to `scenario.json`.
    pub fn manifest(&self) -> String {
        let v = json!({
            "name": self.name,
            "rego_rule": self.rego_rule,
            "cedar_weekday": self.cedar_weekday,
            "bench": self.bench.iter().map(|(l, c)| json!({"label": l, "case": c})).collect::<Vec<_>>(),
            "cases": self.cases.iter().map(|c| json!({"name": c.name, "expect": c.expect.as_str()})).collect::<Vec<_>>(),
            "notes": self.notes,
        });
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Every file of the scenario, as (path relative to the scenario directory, text).
    pub fn files(&self) -> Vec<(String, String)> {
        let mut out = vec![("scenario.json".to_string(), self.manifest())];
        for (n, t) in &self.writ_files {
            out.push((format!("writ/{n}"), t.clone()));
        }
        out.push(("writ/entities.json".into(), self.writ_entities.clone()));
        out.push(("cedar/schema.cedarschema".into(), self.cedar_schema.clone()));
        out.push(("cedar/policies.cedar".into(), self.cedar_policies.clone()));
        out.push(("cedar/entities.json".into(), self.cedar_entities.clone()));
        for (n, t) in &self.rego_files {
            out.push((format!("rego/{n}"), t.clone()));
        }
        out.push(("rego/data.json".into(), self.rego_data.clone()));
        for c in &self.cases {
            out.push((format!("requests/{}.json", c.name), c.request.clone()));
        }
        out
    }

    /// Writes the scenario under `dir` (which is emptied first).
    pub fn write(&self, dir: &Path) -> Result<(), Error> {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(|e| Error::new(&dir.display().to_string(), e))?;
        }
        for (rel, text) in self.files() {
            write(&dir.join(rel), &text)?;
        }
        Ok(())
    }

    /// Number of rules in the Writ policy set (`@id` annotations).
    pub fn rule_count(&self) -> usize {
        self.writ_files.iter().map(|(_, t)| t.matches("@id(").count()).sum()
    }
}
