//! The example policy set of `examples/spec`, compiled for both back ends: the fixture the
//! `decode` and `entities` targets share.

use writ::{Engine, PolicySet};

/// The interpreter and the compiled engine for `examples/spec`.
pub fn engines() -> (Engine, Engine) {
    let policies = PolicySet::from_sources(&[
        ("schema.writ", include_str!("../../../examples/spec/schema.writ")),
        ("agents.writ", include_str!("../../../examples/spec/agents.writ")),
        ("humans.writ", include_str!("../../../examples/spec/humans.writ")),
    ])
    .unwrap_or_else(|e| panic!("the example does not check: {e}"));
    let compiled = Engine::compile(&policies).unwrap_or_else(|e| panic!("Engine::compile: {e}"));
    (Engine::interpreted(&policies), compiled)
}
