//! The decision log: one JSON line per decision, written by a thread of its own.
//!
//! A crate of its own without an async runtime: `writ serve` and `writ guard` (whose stdio
//! relay has no runtime) both log through it. A host calls
//! [`DecisionLog::record`] on its decision path; that only moves the record into a bounded
//! queue. The writer thread masks the configured request fields, serializes, and appends
//! whole lines: every write is a buffer of complete lines from the one writer, so lines are
//! never torn or interleaved. The file is rotated by size (`decisions.jsonl` →
//! `decisions.jsonl.1` → …). When the disk is slower than the decisions and the queue is
//! full, [`OnFull`] says whether `record` waits (`block`) or drops the record and counts it
//! (`drop`).
//!
//! ```
//! use writ_decision_log::{DecisionLog, LogConfig, Record, RequestData};
//! let dir = std::env::temp_dir().join(format!("writ-log-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let mut config = LogConfig::new(dir.join("decisions.jsonl"));
//! config.mask = vec!["context.token".into()];
//! let log = DecisionLog::open(config.clone())?;
//! log.record(Record::new(
//!     "d-1",
//!     "native",
//!     RequestData::Json(serde_json::json!({"action": "read", "context": {"token": "s3cret"}})),
//!     writ::Decision::bad_request("no principal"),
//!     std::time::Duration::from_micros(42),
//! ));
//! log.close();
//! let text = std::fs::read_to_string(&config.path)?;
//! let line: serde_json::Value = serde_json::from_str(text.trim_end())?;
//! assert_eq!(line["decision"], "deny");
//! assert_eq!(line["request"]["context"]["token"], "***");
//! assert_eq!(line["latency_us"], 42);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What [`DecisionLog::record`] does when the queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnFull {
    /// Wait for room: no decision goes unlogged, and a slow disk slows decisions down.
    #[default]
    Block,
    /// Drop the record and count it ([`DecisionLog::dropped`]): decisions never wait.
    Drop,
}

/// Where and how to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogConfig {
    /// The log file (created if missing, appended to).
    pub path: PathBuf,
    /// Rotate before a write would make the file larger than this many bytes.
    pub max_bytes: u64,
    /// How many rotated files to keep (`path.1` is the newest).
    pub keep: usize,
    /// How many records may wait for the writer.
    pub queue: usize,
    pub on_full: OnFull,
    /// Request fields to replace by `"***"`: dotted paths into the request JSON, `*` for
    /// any key or array element (`context.args.*`, `subject.properties.email`).
    pub mask: Vec<String>,
}

impl LogConfig {
    /// The defaults: 100 MiB files, 5 kept, a queue of 65,536 records, `block`, no mask.
    pub fn new(path: PathBuf) -> LogConfig {
        LogConfig { path, max_bytes: 100 << 20, keep: 5, queue: 65_536, on_full: OnFull::Block, mask: Vec::new() }
    }
}

/// The configuration table of a decision log (`[log]` of `writ serve`, `[decision_log]` of
/// `writ guard`): [`LogConfig`] with defaults for every key and unknown keys refused.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSection {
    /// The log file.
    pub path: PathBuf,
    /// Rotate before a write would make the file larger than this many bytes.
    pub max_bytes: u64,
    /// How many rotated files to keep.
    pub keep: usize,
    /// How many records may wait for the writer.
    pub queue: usize,
    /// What a full queue does.
    pub on_full: OnFull,
    /// Request fields to replace by `"***"`.
    pub mask: Vec<String>,
}

impl Default for LogSection {
    fn default() -> LogSection {
        let d = LogConfig::new(PathBuf::from("decisions.jsonl"));
        LogSection {
            path: d.path,
            max_bytes: d.max_bytes,
            keep: d.keep,
            queue: d.queue,
            on_full: d.on_full,
            mask: d.mask,
        }
    }
}

impl LogSection {
    /// The log's configuration.
    pub fn to_log_config(&self) -> LogConfig {
        LogConfig {
            path: self.path.clone(),
            max_bytes: self.max_bytes,
            keep: self.keep,
            queue: self.queue,
            on_full: self.on_full,
            mask: self.mask.clone(),
        }
    }
}

/// The request as the host received it.
#[derive(Clone, Debug)]
pub enum RequestData {
    /// Already parsed.
    Json(serde_json::Value),
    /// JSON text (parsed by the writer thread, off the decision path).
    Text(String),
}

/// One decision to log.
#[derive(Clone, Debug)]
pub struct Record {
    pub id: String,
    pub time: SystemTime,
    /// Which front end decided (`authzen`, `native`, `guard`, …).
    pub source: &'static str,
    pub request: RequestData,
    pub decision: writ::Decision,
    pub latency: Duration,
    /// The MCP request the guard decided (`{"id", "method", "name"}`), logged as `mcp`.
    pub mcp: Option<serde_json::Value>,
}

impl Record {
    /// A record stamped with the current time.
    pub fn new(
        id: impl Into<String>,
        source: &'static str,
        request: RequestData,
        decision: writ::Decision,
        latency: Duration,
    ) -> Record {
        Record { id: id.into(), time: SystemTime::now(), source, request, decision, latency, mcp: None }
    }
}

#[derive(Debug, Default)]
struct Counters {
    written: AtomicU64,
    dropped: AtomicU64,
    rotations: AtomicU64,
}

/// A running decision log. Dropping it (or [`DecisionLog::close`]) writes what is queued
/// and stops the writer.
/// What the writer thread receives.
#[derive(Debug)]
enum Msg {
    Record(Box<Record>),
    /// Answer once everything sent before has been written.
    Flush(SyncSender<()>),
}

#[derive(Debug)]
pub struct DecisionLog {
    tx: Option<SyncSender<Msg>>,
    on_full: OnFull,
    counters: Arc<Counters>,
    writer: Option<JoinHandle<()>>,
}

impl DecisionLog {
    /// Opens (or creates) the log file and starts the writer thread.
    pub fn open(config: LogConfig) -> io::Result<DecisionLog> {
        if let Some(dir) = config.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = open_append(&config.path)?;
        let size = file.metadata()?.len();
        let (tx, rx) = sync_channel(config.queue.max(1));
        let counters = Arc::new(Counters::default());
        let on_full = config.on_full;
        let writer = Writer { config, file, size, counters: counters.clone() };
        let handle = std::thread::Builder::new().name("writ-decision-log".into()).spawn(move || writer.run(rx))?;
        Ok(DecisionLog { tx: Some(tx), on_full, counters, writer: Some(handle) })
    }

    /// Queues a record. Returns `false` when it was dropped (queue full under
    /// [`OnFull::Drop`], or the writer stopped).
    pub fn record(&self, record: Record) -> bool {
        let Some(tx) = &self.tx else { return false };
        let msg = Msg::Record(Box::new(record));
        let sent = match self.on_full {
            OnFull::Block => tx.send(msg).is_ok(),
            OnFull::Drop => match tx.try_send(msg) {
                Ok(()) => true,
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => false,
            },
        };
        if !sent {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Lines written so far.
    pub fn written(&self) -> u64 {
        self.counters.written.load(Ordering::Relaxed)
    }

    /// Records dropped so far (a full queue under `drop`, or a failed write).
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Times the file was rotated.
    pub fn rotations(&self) -> u64 {
        self.counters.rotations.load(Ordering::Relaxed)
    }

    /// Waits until every record queued before the call is written (or dropped).
    pub fn flush(&self) {
        let Some(tx) = &self.tx else { return };
        let (ack, done) = sync_channel(1);
        if tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// Writes what is queued and stops the writer.
    pub fn close(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.tx = None;
        if let Some(h) = self.writer.take() {
            let _ = h.join();
        }
    }
}

impl Drop for DecisionLog {
    fn drop(&mut self) {
        self.stop();
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

struct Writer {
    config: LogConfig,
    file: File,
    size: u64,
    counters: Arc<Counters>,
}

/// Lines gathered into one write at most (more when one line is longer).
const BATCH_BYTES: usize = 256 << 10;

impl Writer {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut buf = Vec::with_capacity(BATCH_BYTES);
        let mut line = Vec::new();
        let mut next = rx.recv().ok();
        while let Some(msg) = next.take() {
            let mut lines = 0u64;
            let mut acks = Vec::new();
            let mut msg = Some(msg);
            while let Some(m) = msg.take() {
                match m {
                    Msg::Record(r) => {
                        self.line(&mut line, &r);
                        // A line that would take the file past its size goes to the next file.
                        let pending = self.size.saturating_add(buf.len() as u64);
                        if pending > 0 && pending.saturating_add(line.len() as u64) > self.config.max_bytes {
                            self.write(&buf, lines);
                            buf.clear();
                            lines = 0;
                            if self.rotate().is_err() {
                                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                                msg = rx.try_recv().ok();
                                continue;
                            }
                        }
                        buf.extend_from_slice(&line);
                        lines += 1;
                    }
                    Msg::Flush(ack) => acks.push(ack),
                }
                if buf.len() < BATCH_BYTES {
                    msg = rx.try_recv().ok();
                }
            }
            self.write(&buf, lines);
            buf.clear();
            let _ = self.file.flush();
            for a in acks {
                let _ = a.send(());
            }
            next = rx.recv().ok();
        }
    }

    /// One record as a whole line, newline included.
    fn line(&self, out: &mut Vec<u8>, record: &Record) {
        out.clear();
        let v = line_json(record, &self.config.mask);
        if serde_json::to_writer(&mut *out, &v).is_err() {
            out.clear();
            out.extend_from_slice(b"{\"error\":\"unserializable record\"}");
        }
        out.push(b'\n');
    }

    /// Appends complete lines with one write.
    fn write(&mut self, buf: &[u8], lines: u64) {
        if buf.is_empty() {
            return;
        }
        match self.file.write_all(buf) {
            Ok(()) => {
                self.size = self.size.saturating_add(buf.len() as u64);
                self.counters.written.fetch_add(lines, Ordering::Relaxed);
            }
            Err(_) => {
                self.counters.dropped.fetch_add(lines, Ordering::Relaxed);
            }
        }
    }

    /// `path.(keep-1)` → `path.keep` … `path` → `path.1`, then a fresh `path`.
    fn rotate(&mut self) -> io::Result<()> {
        let _ = self.file.flush();
        let name = |i: usize| {
            let mut s = self.config.path.clone().into_os_string();
            s.push(format!(".{i}"));
            PathBuf::from(s)
        };
        if self.config.keep == 0 {
            let _ = std::fs::remove_file(&self.config.path);
        } else {
            let _ = std::fs::remove_file(name(self.config.keep));
            for i in (1..self.config.keep).rev() {
                let _ = std::fs::rename(name(i), name(i + 1));
            }
            std::fs::rename(&self.config.path, name(1))?;
        }
        self.file = open_append(&self.config.path)?;
        self.size = 0;
        self.counters.rotations.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The JSON of one log line.
fn line_json(r: &Record, mask: &[String]) -> serde_json::Value {
    let mut request = match &r.request {
        RequestData::Json(v) => v.clone(),
        RequestData::Text(t) => serde_json::from_str(t).unwrap_or_else(|_| {
            let cut: String = t.chars().take(4096).collect();
            serde_json::json!({ "unparsed": cut })
        }),
    };
    for m in mask {
        let parts: Vec<&str> = m.split('.').filter(|p| !p.is_empty()).collect();
        mask_path(&mut request, &parts);
    }
    let d = &r.decision;
    let mut line = serde_json::json!({
        "id": r.id,
        "time": rfc3339(r.time),
        "policy_version": d.policy_version(),
        "source": r.source,
        "latency_us": u64::try_from(r.latency.as_micros()).unwrap_or(u64::MAX),
        "request": request,
        "decision": d.decision.as_str(),
        "reasons": d.reasons,
        "obligations": d.obligations,
        "errors": d.errors,
    });
    if let (Some(m), serde_json::Value::Object(o)) = (&r.mcp, &mut line) {
        o.insert("mcp".into(), m.clone());
    }
    line
}

/// Replaces the values at a dotted path by `"***"` (`*` matches every key or element).
fn mask_path(v: &mut serde_json::Value, path: &[&str]) {
    let Some((first, rest)) = path.split_first() else {
        *v = serde_json::Value::String("***".into());
        return;
    };
    match v {
        serde_json::Value::Object(o) => {
            if *first == "*" {
                o.values_mut().for_each(|c| mask_path(c, rest));
            } else if let Some(c) = o.get_mut(*first) {
                mask_path(c, rest);
            }
        }
        serde_json::Value::Array(a) => {
            if *first == "*" {
                a.iter_mut().for_each(|c| mask_path(c, rest));
            } else if let Some(c) = first.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                mask_path(c, rest);
            }
        }
        _ => {}
    }
}

/// A time as RFC 3339 text in UTC with milliseconds (`2026-11-23T10:15:00.123Z`).
///
/// ```
/// let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_428_900_123);
/// assert_eq!(writ_decision_log::rfc3339(t), "2026-11-23T10:15:00.123Z");
/// ```
pub fn rfc3339(t: SystemTime) -> String {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:03}Z", civil(since.as_secs()), since.subsec_millis())
}

/// A time as RFC 3339 text in UTC to the second (`2026-11-23T10:15:00Z`): a request's
/// `context.now` (`writ guard`).
///
/// ```
/// let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(1_795_428_900_123);
/// assert_eq!(writ_decision_log::rfc3339_seconds(t), "2026-11-23T10:15:00Z");
/// ```
pub fn rfc3339_seconds(t: SystemTime) -> String {
    format!("{}Z", civil(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())))
}

/// `YYYY-MM-DDTHH:MM:SS` of a count of seconds since the Unix epoch, in UTC.
fn civil(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_nested_and_wildcard_paths() {
        let mut v = serde_json::json!({"context": {"args": {"a": 1, "b": [1, 2]}}, "x": [{"k": 1}, {"k": 2}]});
        mask_path(&mut v, &["context", "args", "*"]);
        mask_path(&mut v, &["x", "*", "k"]);
        mask_path(&mut v, &["missing", "path"]);
        assert_eq!(
            v,
            serde_json::json!({"context": {"args": {"a": "***", "b": "***"}}, "x": [{"k": "***"}, {"k": "***"}]})
        );
    }

    #[test]
    fn rfc3339_handles_leap_years() {
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(t), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }
}
