//! Decision equality: every engine gives every case of every scenario the expected decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use writ_compare::agree::{Engines, check};
use writ_compare::scenario::Scenario;

fn agree(sc: &Scenario) {
    let mut engines = Engines::new(sc).unwrap_or_else(|e| panic!("{e}"));
    let n = check(sc, &mut engines).unwrap_or_else(|e| panic!("{e}"));
    assert!(n >= sc.cases.len() * 8, "{}: only {n} decisions compared", sc.name);
}

#[test]
fn agent_tool_call() {
    agree(&Scenario::hand_written("agent-tool-call").unwrap());
}

#[test]
fn ci_secret_read() {
    agree(&Scenario::hand_written("ci-secret-read").unwrap());
}
