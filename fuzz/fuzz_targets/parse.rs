//! Any bytes, as one or more policy files: the lexer, parser and checker never panic (and
//! never overflow the stack), and a policy set that checks can always be turned into both
//! engines.
#![no_main]

#[path = "../../tests/common/fuzz_input.rs"]
mod fuzz_input;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let files = fuzz_input::policy_files(&text);
    match writ::PolicySet::from_sources(&files) {
        Ok(policies) => {
            let _ = writ::Engine::interpreted(&policies);
            let _ = writ::Engine::compile(&policies);
        }
        Err(e) => {
            // Rendering the diagnostics must not panic either (spans lie inside the text).
            let _ = e.render();
            let _ = e.to_string();
        }
    }
});
