//! Policy coverage (`writ test --coverage`): which rules applied to some request, and which
//! `when`/`unless` clauses were evaluated both ways — true and false. Measured by the
//! reference interpreter, which walks the same candidate rules a decision walks (for the
//! request's principal and each hop of its delegation chain) and evaluates each clause of a
//! rule whose target matches, in order, until one stops the rule: the clauses after it are
//! not exercised by that request.

use super::{BodyResult, Eval, Interpreter, as_bool};
use crate::host::{EntityStore, Request};
use crate::ir::PolicySet;
use crate::ir::value::EntityUid;
use crate::syntax::span::{SourceMap, Span};
use serde::Serialize;
use std::fmt::Write as _;

/// What a set of requests exercised of a policy set: one entry per rule, in rule order.
/// Made by [`crate::Engine::coverage`], filled by [`crate::Engine::cover`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// The rules, in the order of the policy files.
    pub rules: Vec<RuleCoverage>,
}

/// One rule's coverage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleCoverage {
    /// The rule id.
    pub id: String,
    /// The policy file.
    pub file: String,
    /// The rule's line, 1-based.
    pub line: u32,
    /// How many times the rule applied (its target matched and every clause let it).
    pub applied: u64,
    /// Its `when` and `unless` clauses, in source order.
    pub clauses: Vec<ClauseCoverage>,
}

/// One clause's coverage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClauseCoverage {
    /// `when` or `unless`.
    pub kind: &'static str,
    /// The clause's condition, as written (on one line).
    pub text: String,
    /// Where the condition starts: 1-based line and column.
    pub line: u32,
    /// See `line`.
    pub column: u32,
    /// How many times the condition was true.
    pub true_count: u64,
    /// How many times it was false.
    pub false_count: u64,
    /// The span of the condition, to match the clauses of a rule's bodies.
    #[serde(skip)]
    span: Span,
}

impl ClauseCoverage {
    /// Whether the condition was seen both true and false.
    pub fn both_ways(&self) -> bool {
        self.true_count > 0 && self.false_count > 0
    }
}

impl Coverage {
    /// Nothing exercised yet: every rule and clause of the policy set at zero.
    pub(crate) fn new(policy: &PolicySet, sources: &SourceMap) -> Coverage {
        let rules = policy
            .rules
            .iter()
            .map(|r| {
                let mut clauses: Vec<ClauseCoverage> = Vec::new();
                for b in &r.bodies {
                    for c in &b.clauses {
                        if clauses.iter().any(|x| x.span == c.expr.span) {
                            continue;
                        }
                        let at = sources.get(c.expr.span.file).map(|f| f.line_col(c.expr.span.start));
                        clauses.push(ClauseCoverage {
                            kind: if c.when { "when" } else { "unless" },
                            text: sources.snippet(c.expr.span).split_whitespace().collect::<Vec<_>>().join(" "),
                            line: at.map_or(0, |lc| lc.line + 1),
                            column: at.map_or(0, |lc| lc.chars + 1),
                            true_count: 0,
                            false_count: 0,
                            span: c.expr.span,
                        });
                    }
                }
                clauses.sort_by_key(|c| (c.span.file, c.span.start));
                RuleCoverage { id: r.id.to_string(), file: r.file.to_string(), line: r.line, applied: 0, clauses }
            })
            .collect();
        Coverage { rules }
    }

    /// Adds another coverage of the same policy set to this one.
    pub fn merge(&mut self, other: &Coverage) {
        for (a, b) in self.rules.iter_mut().zip(&other.rules) {
            a.applied += b.applied;
            for (x, y) in a.clauses.iter_mut().zip(&b.clauses) {
                x.true_count += y.true_count;
                x.false_count += y.false_count;
            }
        }
    }

    /// The rules that never applied.
    pub fn never_applied(&self) -> impl Iterator<Item = &RuleCoverage> {
        self.rules.iter().filter(|r| r.applied == 0)
    }

    /// A report for people: a summary line, each rule with how often it applied and each
    /// clause with how often it was true and false (`!` marks what was not seen both
    /// ways), then the rules never applied.
    pub fn to_text(&self) -> String {
        let applied = self.rules.iter().filter(|r| r.applied > 0).count();
        let clauses: Vec<&ClauseCoverage> = self.rules.iter().flat_map(|r| &r.clauses).collect();
        let both = clauses.iter().filter(|c| c.both_ways()).count();
        let mut s = format!(
            "coverage: {applied} of {} rules applied; {both} of {} clauses seen both true and false\n",
            self.rules.len(),
            clauses.len()
        );
        for r in &self.rules {
            let _ = writeln!(s, "  {} ({}:{}): applied {}", r.id, r.file, r.line, r.applied);
            for c in &r.clauses {
                let mark = if c.both_ways() { " " } else { "!" };
                let _ = writeln!(
                    s,
                    "  {mark}   {} {} (line {}): true {}, false {}",
                    c.kind, c.text, c.line, c.true_count, c.false_count
                );
            }
        }
        let never: Vec<String> = self.never_applied().map(|r| format!("{} ({}:{})", r.id, r.file, r.line)).collect();
        if never.is_empty() {
            s.push_str("every rule applied to some case\n");
        } else {
            let _ = writeln!(s, "never applied: {}", never.join(", "));
        }
        s
    }

    /// The coverage as JSON: `{"rules": [{"id", "file", "line", "applied", "clauses": [{"kind",
    /// "text", "line", "column", "true_count", "false_count"}]}], "never_applied": [ids]}`.
    pub fn to_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        let never: Vec<serde_json::Value> =
            self.never_applied().map(|r| serde_json::Value::from(r.id.clone())).collect();
        if let serde_json::Value::Object(o) = &mut v {
            o.insert("never_applied".into(), serde_json::Value::Array(never));
        }
        v
    }

    /// The coverage in the LCOV format editors and CI tools read: per file, each rule as a
    /// function (`FN`/`FNDA`: how often it applied), each clause as a branch with two
    /// outcomes (`BRDA`: true, false) and a line (`DA`: how often it was evaluated).
    pub fn to_lcov(&self) -> String {
        let mut files: Vec<&str> = Vec::new();
        for r in &self.rules {
            if !files.contains(&r.file.as_str()) {
                files.push(&r.file);
            }
        }
        let mut s = String::new();
        for f in files {
            let rules: Vec<&RuleCoverage> = self.rules.iter().filter(|r| r.file == f).collect();
            let _ = writeln!(s, "TN:writ\nSF:{f}");
            for r in &rules {
                let _ = writeln!(s, "FN:{},{}", r.line, r.id);
            }
            for r in &rules {
                let _ = writeln!(s, "FNDA:{},{}", r.applied, r.id);
            }
            let _ = writeln!(s, "FNF:{}\nFNH:{}", rules.len(), rules.iter().filter(|r| r.applied > 0).count());
            let (mut found, mut hit, mut block) = (0, 0, 0);
            let mut lines: Vec<(u32, u64)> = Vec::new();
            for r in &rules {
                for c in &r.clauses {
                    for (branch, n) in [(0, c.true_count), (1, c.false_count)] {
                        let taken = if c.true_count + c.false_count == 0 { "-".to_string() } else { n.to_string() };
                        let _ = writeln!(s, "BRDA:{},{block},{branch},{taken}", c.line);
                        found += 1;
                        hit += usize::from(n > 0);
                    }
                    block += 1;
                    lines.push((c.line, c.true_count + c.false_count));
                }
                lines.push((r.line, r.applied));
            }
            let _ = writeln!(s, "BRF:{found}\nBRH:{hit}");
            lines.sort_unstable();
            let mut merged: Vec<(u32, u64)> = Vec::new();
            for (l, n) in lines {
                match merged.last_mut() {
                    Some(last) if last.0 == l => last.1 = last.1.max(n),
                    _ => merged.push((l, n)),
                }
            }
            for (l, n) in &merged {
                let _ = writeln!(s, "DA:{l},{n}");
            }
            let _ =
                writeln!(s, "LF:{}\nLH:{}\nend_of_record", merged.len(), merged.iter().filter(|(_, n)| *n > 0).count());
        }
        s
    }
}

impl Interpreter<'_> {
    /// Records what a request exercises: for its principal and each hop of its chain, each
    /// candidate rule whose target matches, its clauses in order until one stops it.
    pub(crate) fn cover(&self, req: &Request, store: &EntityStore, cov: &mut Coverage) {
        let mut fuel = self.fuel;
        let mut who: Vec<&EntityUid> = vec![&req.principal];
        who.extend(req.on_behalf_of.iter());
        for principal in who {
            let mut ev = Eval { schema: &self.policy.schema, store, req, principal, locals: Vec::new(), fuel };
            for &(ri, bi) in self.policy.candidates(req.action, principal.ty, req.resource.ty) {
                let Some(rule) = self.policy.rules.get(ri as usize) else { continue };
                let Some(body) = rule.bodies.get(bi as usize) else { continue };
                let Some(rc) = cov.rules.get_mut(ri as usize) else { continue };
                if !self.matches(&rule.principal, principal, req, store)
                    || !self.matches(&rule.resource, &req.resource, req, store)
                {
                    continue;
                }
                ev.locals.clear();
                ev.locals.resize(body.locals as usize, crate::ir::value::Value::Bool(false));
                let mut result = BodyResult::Applies;
                for (i, c) in body.clauses.iter().enumerate() {
                    let v = match ev.eval(&c.expr).and_then(as_bool) {
                        Ok(v) => v,
                        Err(e) => {
                            result = BodyResult::Error(e);
                            break;
                        }
                    };
                    if let Some(cc) = rc.clauses.iter_mut().find(|x| x.span == c.expr.span) {
                        if v {
                            cc.true_count += 1;
                        } else {
                            cc.false_count += 1;
                        }
                    }
                    if v != c.when {
                        result = BodyResult::Fails(i);
                        break;
                    }
                }
                if matches!(result, BodyResult::Applies) {
                    rc.applied += 1;
                }
            }
            fuel = ev.fuel;
        }
    }
}
