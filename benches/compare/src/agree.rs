//! The decision equality check: before anything is timed, every engine must give every case
//! of a scenario the expected decision (a benchmark of engines that disagree is worthless).

use crate::Error;
use crate::engines::{CedarSide, RegoSide, WritKind, WritSide};
use crate::scenario::Scenario;

/// The engines of one scenario, built once.
pub struct Engines {
    pub writ: Vec<WritSide>,
    pub cedar: CedarSide,
    pub rego: RegoSide,
}

impl Engines {
    /// Builds Writ (`compile` and `interpreted`), Cedar and Rego for a scenario.
    pub fn new(sc: &Scenario) -> Result<Engines, Error> {
        let ps = crate::engines::writ_policy_set(sc)?;
        let writ = vec![
            WritSide::from_policy_set(sc, &ps, WritKind::Compile)?,
            WritSide::from_policy_set(sc, &ps, WritKind::Interpreted)?,
        ];
        Ok(Engines { writ, cedar: CedarSide::new(sc)?, rego: RegoSide::new(sc)? })
    }
}

/// Checks every case of the scenario on every engine, prepared and end to end from JSON.
/// Returns how many (case, engine, path) decisions were compared.
pub fn check(sc: &Scenario, engines: &mut Engines) -> Result<usize, Error> {
    let mut problems = Vec::new();
    let mut compared = 0;
    for case in &sc.cases {
        let want = case.expect;
        for w in &engines.writ {
            let label = w.label();
            match w.prepare(&case.request) {
                Ok(r) => {
                    let got = w.decide(&r);
                    compared += 1;
                    if got.as_str() != want.as_str() {
                        let d = w.engine.decide(&r);
                        let reasons: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
                        problems.push(format!(
                            "{}: {label}: got {} ({reasons:?}), want {}",
                            case.name,
                            got.as_str(),
                            want.as_str()
                        ));
                    }
                }
                Err(e) => problems.push(format!("{}: {label}: request does not decode: {e}", case.name)),
            }
            let got = w.decide_json(&case.request);
            compared += 1;
            if got.as_str() != want.as_str() {
                problems.push(format!(
                    "{}: {label} from JSON: got {}, want {}",
                    case.name,
                    got.as_str(),
                    want.as_str()
                ));
            }
        }
        match engines.cedar.prepare(&case.request) {
            Ok(r) => {
                let got = engines.cedar.decide(&r);
                compared += 1;
                if got != want.allows() {
                    let reasons = engines.cedar.reasons(&r);
                    problems.push(format!("{}: cedar: allow={got} ({reasons:?}), want {}", case.name, want.as_str()));
                }
            }
            Err(e) => problems.push(format!("{}: cedar: request does not build: {e}", case.name)),
        }
        let got = engines.cedar.decide_json(&case.request);
        compared += 1;
        if got != want.allows() {
            problems.push(format!("{}: cedar from JSON: allow={got}, want {}", case.name, want.as_str()));
        }
        match RegoSide::parse_input(&case.request) {
            Ok(input) => {
                engines.rego.set_input(input);
                let got = engines.rego.eval();
                compared += 1;
                let allows = matches!(&got, Ok(v) if *v == regorus::Value::from(true));
                if allows != want.allows() {
                    problems.push(format!("{}: rego: {got:?}, want {}", case.name, want.as_str()));
                }
            }
            Err(e) => problems.push(format!("{}: rego: input does not parse: {e}", case.name)),
        }
        let got = engines.rego.decide_json(&case.request);
        compared += 1;
        if got != want.allows() {
            problems.push(format!("{}: rego from JSON: allow={got}, want {}", case.name, want.as_str()));
        }
    }
    if problems.is_empty() {
        Ok(compared)
    } else {
        Err(Error(format!("{}: the engines disagree:\n  {}", sc.name, problems.join("\n  "))))
    }
}
