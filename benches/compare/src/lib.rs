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

/// ISO weekday (Monday 1 … Sunday 7, UTC) of an RFC 3339 timestamp, from its date part.
/// Cedar has no calendar functions, so a Cedar host computes this and passes it in the
/// context; Writ (`t.weekday()`) and Rego (`time.weekday`) compute it themselves.
pub fn iso_weekday(rfc3339: &str) -> Option<i64> {
    let y: i64 = rfc3339.get(0..4)?.parse().ok()?;
    let m: i64 = rfc3339.get(5..7)?.parse().ok()?;
    let d: i64 = rfc3339.get(8..10)?.parse().ok()?;
    if rfc3339.get(4..5)? != "-" || rfc3339.get(7..8)? != "-" || !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    // Days since 1970-01-01 (H. Hinnant's days_from_civil).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    // 1970-01-01 was a Thursday (4).
    Some((days + 3).rem_euclid(7) + 1)
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
