//! Any bytes, as one or more policy files: the lexer, parser and checker never panic (and
//! never overflow the stack), and a policy set that checks can always be turned into both
//! engines.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // A NUL byte separates files, so schemas and rules split over files are exercised too.
    let names = ["a.writ", "b.writ", "c/d.writ", "e.writ"];
    let parts: Vec<&str> = text.splitn(names.len(), '\0').collect();
    let files: Vec<(&str, &str)> = names.iter().copied().zip(parts.iter().copied()).collect();
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
