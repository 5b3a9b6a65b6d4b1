//! Malformed HTTP and JSON never crash the server and never allow: generated bodies
//! (prefixes and byte flips of an allowed request, arbitrary JSON, raw bytes) against every
//! decision endpoint; the server answers health checks after each case.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::net::SocketAddr;

const ENDPOINTS: [&str; 4] = ["/access/v1/evaluation", "/access/v1/evaluations", "/v1/decide", "/v1/decide/batch"];

fn allowed_evaluation() -> String {
    json!({"subject": {"type": "user", "id": "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},
           "action": {"name": "can_delete_todo"},
           "resource": {"type": "todo", "id": "t", "properties": {"ownerID": "x@y"}}})
    .to_string()
}

fn allowed_native() -> String {
    json!({"principal": {"type": "User", "id": "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs"},
           "action": "can_read_todos", "resource": {"type": "Todo", "id": "t"},
           "entities": [{"type": "Todo", "id": "t", "attrs": {}}]})
    .to_string()
}

/// Whether an answer allows anything.
fn allows(v: &Value) -> bool {
    v["decision"] == json!(true)
        || v["decision"] == json!("allow")
        || v["evaluations"].as_array().is_some_and(|a| a.iter().any(|e| e["decision"] == json!(true)))
        || v["decisions"].as_array().is_some_and(|a| a.iter().any(|e| e["decision"] == json!("allow")))
}

struct Harness {
    rt: tokio::runtime::Runtime,
    addr: SocketAddr,
    _server: writ_serve::Server,
}

fn harness() -> &'static Harness {
    static H: std::sync::OnceLock<Harness> = std::sync::OnceLock::new();
    H.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut config = example_config("authzen-todo");
        config.limits.max_body_bytes = 64 * 1024;
        let server = rt.block_on(start(config));
        Harness { addr: server.addr(), _server: server, rt }
    })
}

/// Posts a body; the answer must be a complete HTTP answer below 500, JSON when 200.
fn post_checked(path: &str, body: &[u8]) -> (u16, Value) {
    let h = harness();
    let r = h.rt.block_on(raw(h.addr, &request("POST", path, &[("Content-Type", "application/json")], body))).unwrap();
    assert!(r.status < 500, "{path}: {} {}", r.status, r.text());
    let v = if r.status == 200 { r.json() } else { Value::Null };
    (r.status, v)
}

fn still_healthy() {
    let h = harness();
    assert_eq!(h.rt.block_on(get(h.addr, "/healthz")).status, 200);
}

#[test]
fn the_unmutated_requests_are_allowed() {
    assert!(allows(&post_checked("/access/v1/evaluation", allowed_evaluation().as_bytes()).1));
    assert!(allows(&post_checked("/v1/decide", allowed_native().as_bytes()).1));
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-z_]{0,8}".prop_map(Value::from),
        prop::sample::select(vec!["user", "todo", "User", "Todo", "can_read_todos", "id", "type"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "subject",
                    "action",
                    "resource",
                    "context",
                    "evaluations",
                    "options",
                    "principal",
                    "type",
                    "id",
                    "name",
                    "properties",
                    "requests",
                    "entities",
                    "attrs",
                    "x"
                ])
                .prop_map(String::from),
                inner,
                0..5
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// A strict prefix of a JSON object is never JSON: never allowed.
    #[test]
    fn prefixes_never_allow(cut in 0usize..1000, which in 0usize..4) {
        let (path, full) = if which % 2 == 0 { (ENDPOINTS[0], allowed_evaluation()) } else { (ENDPOINTS[2], allowed_native()) };
        let cut = cut % full.len();
        let (_, v) = post_checked(path, &full.as_bytes()[..cut]);
        prop_assert!(!allows(&v), "{path} allowed a prefix: {}", &full[..cut]);
        still_healthy();
    }

    /// A flipped byte either still reads as the same kind of request, or it is refused;
    /// an allow must come from a body that parses to an allowed request.
    #[test]
    fn byte_flips_never_allow_garbage(at in 0usize..1000, byte in any::<u8>(), which in 0usize..2) {
        let (path, full) = if which == 0 { (ENDPOINTS[0], allowed_evaluation()) } else { (ENDPOINTS[2], allowed_native()) };
        let mut body = full.into_bytes();
        let at = at % body.len();
        body[at] = byte;
        let (_, v) = post_checked(path, &body);
        if allows(&v) {
            let parsed: Value = serde_json::from_slice(&body).expect("an allowed body is JSON");
            prop_assert!(parsed.is_object());
        }
        still_healthy();
    }

    /// Arbitrary JSON (of the right vocabulary) on every endpoint: no 5xx, no allow.
    #[test]
    fn arbitrary_json_never_allows(v in arb_json(), e in 0usize..4) {
        let (_, answer) = post_checked(ENDPOINTS[e], v.to_string().as_bytes());
        prop_assert!(!allows(&answer), "{} allowed {v}", ENDPOINTS[e]);
        still_healthy();
    }

    /// Raw bytes as an HTTP request: the server answers or closes; it keeps serving.
    #[test]
    fn malformed_http_never_crashes(bytes in prop::collection::vec(any::<u8>(), 0..300), prefix in prop::sample::select(vec!["", "POST /v1/decide HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n"])) {
        let h = harness();
        let mut msg = prefix.as_bytes().to_vec();
        msg.extend_from_slice(&bytes);
        msg.extend_from_slice(b"\r\n\r\n");
        let r = h.rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(5), raw(h.addr, &msg)).await
        });
        if let Ok(Ok(r)) = r {
            prop_assert!(r.status < 500 || r.status == 503, "{}", r.status);
        }
        still_healthy();
    }
}
