//! Counters for `/metrics` (Prometheus text format 0.0.4). Lock-free: atomics only.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;
use writ::Verdict;

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5];

#[derive(Debug, Default)]
pub struct Metrics {
    allow: AtomicU64,
    deny: AtomicU64,
    escalate: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    latency_count: AtomicU64,
    latency_sum_ns: AtomicU64,
    pub reloads_ok: AtomicU64,
    pub reloads_failed: AtomicU64,
    pub rejected_body: AtomicU64,
    pub rejected_busy: AtomicU64,
    pub rejected_timeout: AtomicU64,
    pub rejected_auth: AtomicU64,
    pub bad_requests: AtomicU64,
    pub in_flight: AtomicU64,
}

impl Metrics {
    pub fn decision(&self, v: Verdict) {
        match v {
            Verdict::Allow => &self.allow,
            Verdict::Deny => &self.deny,
            Verdict::Escalate => &self.escalate,
        }
        .fetch_add(1, Relaxed);
    }

    /// The time one decision request took (a batch counts once).
    pub fn latency(&self, d: Duration) {
        let s = d.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            if s <= le {
                b.fetch_add(1, Relaxed);
            }
        }
        self.latency_count.fetch_add(1, Relaxed);
        self.latency_sum_ns.fetch_add(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The Prometheus text; `extra` is (name, help, kind, value) of gauges and counters
    /// owned elsewhere (the decision log's lines).
    pub fn render(&self, version: &str, log: Option<(u64, u64)>) -> String {
        let mut s = String::with_capacity(2048);
        let _ = writeln!(s, "# HELP writ_decisions_total Decisions made, by verdict.");
        let _ = writeln!(s, "# TYPE writ_decisions_total counter");
        for (v, c) in [("allow", &self.allow), ("deny", &self.deny), ("escalate", &self.escalate)] {
            let _ = writeln!(s, "writ_decisions_total{{verdict=\"{v}\"}} {}", c.load(Relaxed));
        }
        let _ = writeln!(
            s,
            "# HELP writ_request_duration_seconds Time to answer a decision request (a batch counts once)."
        );
        let _ = writeln!(s, "# TYPE writ_request_duration_seconds histogram");
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(s, "writ_request_duration_seconds_bucket{{le=\"{le}\"}} {}", b.load(Relaxed));
        }
        let count = self.latency_count.load(Relaxed);
        let _ = writeln!(s, "writ_request_duration_seconds_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(s, "writ_request_duration_seconds_sum {}", self.latency_sum_ns.load(Relaxed) as f64 / 1e9);
        let _ = writeln!(s, "writ_request_duration_seconds_count {count}");
        let _ = writeln!(s, "# HELP writ_reloads_total Policy reloads, by result.");
        let _ = writeln!(s, "# TYPE writ_reloads_total counter");
        let _ = writeln!(s, "writ_reloads_total{{result=\"ok\"}} {}", self.reloads_ok.load(Relaxed));
        let _ = writeln!(s, "writ_reloads_total{{result=\"failed\"}} {}", self.reloads_failed.load(Relaxed));
        let _ = writeln!(s, "# HELP writ_rejected_requests_total Requests refused before a decision, by reason.");
        let _ = writeln!(s, "# TYPE writ_rejected_requests_total counter");
        for (r, c) in [
            ("body_too_large", &self.rejected_body),
            ("busy", &self.rejected_busy),
            ("timeout", &self.rejected_timeout),
            ("unauthorized", &self.rejected_auth),
            ("bad_request", &self.bad_requests),
        ] {
            let _ = writeln!(s, "writ_rejected_requests_total{{reason=\"{r}\"}} {}", c.load(Relaxed));
        }
        let _ = writeln!(s, "# HELP writ_requests_in_flight Requests being handled.");
        let _ = writeln!(s, "# TYPE writ_requests_in_flight gauge");
        let _ = writeln!(s, "writ_requests_in_flight {}", self.in_flight.load(Relaxed));
        let (written, dropped) = log.unwrap_or((0, 0));
        let _ = writeln!(s, "# HELP writ_decision_log_lines_total Decision log lines, by outcome.");
        let _ = writeln!(s, "# TYPE writ_decision_log_lines_total counter");
        let _ = writeln!(s, "writ_decision_log_lines_total{{result=\"written\"}} {written}");
        let _ = writeln!(s, "writ_decision_log_lines_total{{result=\"dropped\"}} {dropped}");
        let _ = writeln!(s, "# HELP writ_policy_info The policy set being served.");
        let _ = writeln!(s, "# TYPE writ_policy_info gauge");
        let _ = writeln!(s, "writ_policy_info{{version=\"{version}\"}} 1");
        s
    }
}
