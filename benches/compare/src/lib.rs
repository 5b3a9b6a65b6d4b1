//! Side-by-side benchmarks of Writ against Cedar (`cedar-policy`) and Rego (`regorus`).
//!
//! A [`Scenario`](scenario::Scenario) is one policy set written three times, in Writ, in
//! Cedar (policies, schema, entities) and in Rego (policy, data), with requests whose
//! decisions all three must agree on. The hand-written scenarios live under
//! `scenarios/<name>/`; the generated ones come from [`generate`] (one abstract rule list
//! printed in all three languages). [`engines`] wraps each engine the way a host would use
//! it: prepared requests, and end to end from the request JSON.
//!
//! See `RESULTS.md` for the figures and `run.sh` for how to regenerate them.

pub mod agree;
pub mod engines;
pub mod generate;
pub mod scenario;

use std::fmt;

/// Anything that went wrong while loading a scenario or building a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl Error {
    pub fn new(context: &str, e: impl fmt::Display) -> Error {
        Error(format!("{context}: {e}"))
    }
}

/// ISO weekday (Monday 1 … Sunday 7, UTC) of an RFC 3339 timestamp, as Writ computes it.
/// Cedar has no calendar functions, so a Cedar host computes this and passes it in the
/// context; Writ (`t.weekday()`) and Rego (`time.weekday`) compute it themselves.
pub fn iso_weekday(rfc3339: &str) -> Option<i64> {
    writ::unstable::ir::value::parse_timestamp(rfc3339).ok().map(writ::unstable::ir::value::ts_weekday)
}

#[cfg(test)]
mod tests {
    use super::iso_weekday;

    #[test]
    fn weekdays() {
        assert_eq!(iso_weekday("1970-01-01T00:00:00Z"), Some(4));
        assert_eq!(iso_weekday("2026-11-23T10:15:00Z"), Some(1)); // a Monday
        assert_eq!(iso_weekday("2026-11-28T10:15:00Z"), Some(6)); // a Saturday
        assert_eq!(iso_weekday("2026-11-29T10:15:00Z"), Some(7));
        assert_eq!(iso_weekday("2000-02-29T00:00:00Z"), Some(2));
        assert_eq!(iso_weekday("nonsense"), None);
    }
}
