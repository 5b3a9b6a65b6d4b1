//! Every endpoint and every error of `writ serve`, over real HTTP on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

fn spec_request() -> String {
    std::fs::read_to_string(repo_root().join("examples/spec/request.json")).unwrap()
}

fn spec_evaluation() -> Value {
    json!({
        "subject": {"type": "agent", "id": "support-bot"},
        "action": {"name": "call_tool"},
        "resource": {"type": "tool", "id": "jira.comment"},
        "context": {"now": "2026-11-23T10:15:00Z", "risk": 12, "source_ip": "10.1.2.3", "args": {"query": "q"}},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authzen_transport_rules() {
    let server = start(example_config("spec")).await;
    let addr = server.addr();

    // Allow, with the decision context; unknown fields anywhere are ignored.
    let mut body = spec_evaluation();
    body["extra"] = json!({"x": 1});
    body["subject"]["identity"] = json!("ignored");
    let r = raw(
        addr,
        &request(
            "POST",
            "/access/v1/evaluation",
            &[("Content-Type", "application/json; charset=utf-8"), ("X-Request-ID", "req-42")],
            body.to_string().as_bytes(),
        ),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-request-id"), Some("req-42"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["decision"], true, "{v}");
    assert_eq!(v["context"]["obligations"], json!({"ttl": "15m"}));
    assert_eq!(v["context"]["policy_version"], server.version());
    assert!(v["context"]["reason_admin"]["en"].as_str().unwrap().contains("permit `agent-tools`"), "{v}");

    // Deny is 200 too, with the rule's message for the user.
    let mut high = spec_evaluation();
    high["context"]["risk"] = json!(90);
    let v = post_json(addr, "/access/v1/evaluation", &high).await.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["reason_user"]["en"], "risk score too high");

    // Escalate: false, with the reason a human must approve. The tool is not in the store:
    // its properties make an inline entity.
    let mut destructive = spec_evaluation();
    destructive["resource"] =
        json!({"type": "Tool", "id": "jira.delete", "properties": {"sensitivity": "internal", "destructive": true}});
    let v = post_json(addr, "/access/v1/evaluation", &destructive).await.json();
    assert_eq!(v["decision"], false, "{v}");
    assert_eq!(v["context"]["escalate"]["rules"], json!(["destructive-needs-human"]), "{v}");
    assert!(v["context"]["reason_user"]["en"].as_str().unwrap().starts_with("a human must approve"));
    // Properties over a stored entity replace its attributes for this request only.
    let mut risky = spec_evaluation();
    risky["resource"]["properties"] = json!({"destructive": true});
    let v = post_json(addr, "/access/v1/evaluation", &risky).await.json();
    assert!(v["context"]["escalate"].is_object(), "{v}");
    assert_eq!(post_json(addr, "/access/v1/evaluation", &spec_evaluation()).await.json()["decision"], true);
    // A property the schema does not declare is bad input: a deny naming it.
    let mut extra = spec_evaluation();
    extra["resource"]["properties"] = json!({"colour": "red"});
    let v = post_json(addr, "/access/v1/evaluation", &extra).await.json();
    assert_eq!(v["decision"], false);
    assert!(v["context"]["error"]["message"].as_str().unwrap().starts_with("resource.properties.colour: "), "{v}");
    // An unknown subject is named as the subject.
    let mut ghost = spec_evaluation();
    ghost["subject"]["id"] = json!("ghost");
    let v = post_json(addr, "/access/v1/evaluation", &ghost).await.json();
    assert_eq!(v["context"]["error"]["message"], "subject: unknown entity Agent::\"ghost\"", "{v}");

    // Bad input inside a well-formed request: a deny naming the path.
    let mut bad = spec_evaluation();
    bad["context"]["risk"] = json!("high");
    let v = post_json(addr, "/access/v1/evaluation", &bad).await.json();
    assert_eq!(v["decision"], false);
    assert!(v["context"]["error"]["message"].as_str().unwrap().starts_with("context.risk: "), "{v}");
    // An unknown type is a deny naming the field.
    let mut unknown = spec_evaluation();
    unknown["resource"]["type"] = json!("printer");
    let v = post_json(addr, "/access/v1/evaluation", &unknown).await.json();
    assert_eq!(v["decision"], false);
    assert_eq!(v["context"]["error"]["message"], "resource.type: no entity type maps to `printer`");

    // 400s name the field.
    for (field, want) in [("subject", "subject"), ("action", "action"), ("resource", "resource")] {
        let mut b = spec_evaluation();
        b.as_object_mut().unwrap().remove(field);
        let r = post_json(addr, "/access/v1/evaluation", &b).await;
        assert_eq!(r.status, 400);
        let v = r.json();
        assert_eq!(v["field"], want, "{v}");
        assert!(v["error"].as_str().unwrap().starts_with(&format!("{want}: missing")));
    }
    let r = post(addr, "/access/v1/evaluation", "{\"subject\": ").await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error"].as_str().unwrap().starts_with("the body is not valid JSON"));
    for ct in [Some("text/plain"), None] {
        let headers: Vec<(&str, &str)> = ct.map(|c| ("Content-Type", c)).into_iter().collect();
        let r =
            raw(addr, &request("POST", "/access/v1/evaluation", &headers, spec_evaluation().to_string().as_bytes()))
                .await
                .unwrap();
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["field"], "content-type");
    }

    // The well-known configuration.
    let v = get(addr, "/.well-known/authzen-configuration").await.json();
    assert_eq!(v["policy_decision_point"], "http://pdp.test");
    assert_eq!(v["access_evaluation_endpoint"], "http://pdp.test/access/v1/evaluation");
    assert_eq!(v["access_evaluations_endpoint"], "http://pdp.test/access/v1/evaluations");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authzen_batches() {
    let mut config = example_config("spec");
    config.limits.max_batch = 3;
    let server = start(config).await;
    let addr = server.addr();
    let allowed = json!({"resource": {"type": "tool", "id": "jira.comment"}});
    let missing = json!({"action": null, "resource": {"type": "tool", "id": "jira.comment"}});
    let mut base = spec_evaluation();
    base.as_object_mut().unwrap().remove("resource");
    let mut denied_context = spec_evaluation()["context"].clone();
    denied_context["risk"] = json!(95);
    let denied = json!({"resource": {"type": "tool", "id": "jira.comment"}, "context": denied_context});

    // execute_all: every entry, an entry's error stays in that entry.
    let mut b = base.clone();
    b["evaluations"] = json!([allowed, json!({"subject": 7}), denied]);
    let v = post_json(addr, "/access/v1/evaluations", &b).await.json();
    let e = v["evaluations"].as_array().unwrap();
    assert_eq!(e.len(), 3);
    assert_eq!(
        (e[0]["decision"].clone(), e[1]["decision"].clone(), e[2]["decision"].clone()),
        (json!(true), json!(false), json!(false))
    );
    assert_eq!(e[1]["context"]["error"]["message"], "evaluations[1].subject: expected an object, got 7");
    // A null entry field takes the default; a default that is missing is that entry's error.
    let mut b = base.clone();
    b.as_object_mut().unwrap().remove("action");
    b["evaluations"] =
        json!([missing, {"action": {"name": "call_tool"}, "resource": {"type": "tool", "id": "jira.comment"}}]);
    let v = post_json(addr, "/access/v1/evaluations", &b).await.json();
    assert_eq!(
        v["evaluations"][0]["context"]["error"]["message"],
        "evaluations[0].action: missing (an object with `name`)"
    );
    assert_eq!(v["evaluations"][1]["decision"], true);

    // deny_on_first_deny stops after the first deny; permit_on_first_permit after the first permit.
    let mut b = base.clone();
    b["options"] = json!({"evaluations_semantic": "deny_on_first_deny"});
    b["evaluations"] = json!([allowed, denied, allowed]);
    let v = post_json(addr, "/access/v1/evaluations", &b).await.json();
    assert_eq!(v["evaluations"].as_array().unwrap().len(), 2);
    b["options"] = json!({"evaluations_semantic": "permit_on_first_permit"});
    b["evaluations"] = json!([denied, allowed, denied]);
    let v = post_json(addr, "/access/v1/evaluations", &b).await.json();
    let e = v["evaluations"].as_array().unwrap();
    assert_eq!((e.len(), e[1]["decision"].clone()), (2, json!(true)));
    b["options"] = json!({"evaluations_semantic": "sometimes"});
    let r = post_json(addr, "/access/v1/evaluations", &b).await;
    assert_eq!((r.status, r.json()["field"].clone()), (400, json!("options.evaluations_semantic")));

    // No evaluations: answered as one evaluation.
    let v = post_json(addr, "/access/v1/evaluations", &spec_evaluation()).await.json();
    assert_eq!(v["decision"], true);
    // Too many entries: 413.
    b["options"] = json!({});
    b["evaluations"] = json!([allowed, allowed, allowed, allowed]);
    let r = post_json(addr, "/access/v1/evaluations", &b).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.json()["field"], "evaluations");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn native_api_and_policies() {
    let server = start(example_config("spec")).await;
    let addr = server.addr();
    let r = raw(
        addr,
        &request(
            "POST",
            "/v1/decide",
            &[("Content-Type", "application/json"), ("X-Request-ID", "n-1")],
            spec_request().as_bytes(),
        ),
    )
    .await
    .unwrap();
    assert_eq!((r.status, r.header("x-request-id")), (200, Some("n-1")));
    let v = r.json();
    assert_eq!(v["decision"], "allow");
    assert_eq!(v["reasons"][0]["rule"], "agent-tools");
    assert_eq!(v["obligations"], json!({"ttl": "15m"}));
    assert_eq!(v["errors"], json!([]));
    assert_eq!(v["policy_version"], server.version());
    assert!(v["id"].is_string());
    // Bad input is a deny whose error names the path; JSON that is not JSON is a 400.
    let v = post(addr, "/v1/decide", &spec_request().replace("12", "\"twelve\"")).await.json();
    assert_eq!(v["decision"], "deny");
    assert!(v["errors"][0]["message"].as_str().unwrap().starts_with("context.risk: "), "{v}");
    assert_eq!(post(addr, "/v1/decide", "{oops").await.status, 400);
    let r = raw(addr, &request("POST", "/v1/decide", &[("Content-Type", "text/json")], b"{}")).await.unwrap();
    assert_eq!(r.status, 400);

    // A batch: one decision per request, in order, on one policy version.
    let body = format!(
        "{{\"requests\": [{}, {}, {{\"principal\": 1}}]}}",
        spec_request(),
        spec_request().replace("10:15", "23:15")
    );
    let v = post(addr, "/v1/decide/batch", &body).await.json();
    let d: Vec<&str> = v["decisions"].as_array().unwrap().iter().map(|d| d["decision"].as_str().unwrap()).collect();
    assert_eq!(d, ["allow", "deny", "deny"]);
    assert_eq!(v["policy_version"], server.version());
    let r = post(addr, "/v1/decide/batch", "{\"reqs\": []}").await;
    assert_eq!((r.status, r.json()["field"].clone()), (400, json!("requests")));
    assert_eq!(post(addr, "/v1/decide/batch", "[1, 2]").await.status, 400);

    let v = get(addr, "/v1/policies").await.json();
    assert_eq!(v["version"], server.version());
    assert!(v["rules"].as_array().unwrap().contains(&json!("agent-tools")));
    assert!(v["files"].as_array().unwrap().iter().any(|f| f.as_str().unwrap().ends_with("agents.writ")));
    assert_eq!(v["failed_reload"], Value::Null);
    assert!(v["loaded_at"].as_str().unwrap().ends_with('Z'));

    // Reload with nothing changed.
    let v = post(addr, "/v1/admin/reload", "").await.json();
    assert_eq!((v["reloaded"].clone(), v["changed"].clone()), (json!(true), json!(false)));

    // Operations.
    assert_eq!(get(addr, "/healthz").await.json()["status"], "ok");
    assert_eq!(get(addr, "/readyz").await.json()["version"], server.version());
    let m = get(addr, "/metrics").await;
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let text = m.text();
    assert!(text.contains("writ_decisions_total{verdict=\"allow\"} 2"), "{text}");
    assert!(text.contains("writ_decisions_total{verdict=\"deny\"} 3"), "{text}");
    assert!(text.contains("writ_request_duration_seconds_count 3"), "{text}");
    assert!(text.contains("writ_reloads_total{result=\"failed\"} 0"), "{text}");
    let r = get(addr, "/nope").await;
    assert_eq!(r.status, 404);
    assert_eq!(get(addr, "/v1/decide").await.status, 405);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_edit_keeps_the_old_set_serving() {
    let dir = std::env::temp_dir().join(format!("writ-serve-broken-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let spec = repo_root().join("examples/spec");
    for f in ["schema.writ", "agents.writ", "humans.writ", "entities.json"] {
        std::fs::copy(spec.join(f), dir.join(f)).unwrap();
    }
    let mut config = example_config("spec");
    config.policies = vec![dir.clone()];
    config.entities = Some(dir.join("entities.json"));
    let server = start(config).await;
    let addr = server.addr();
    let before = server.version();

    std::fs::write(dir.join("agents.writ"), "permit Agent to call_tool on Tool when resource.nope;").unwrap();
    let r = post(addr, "/v1/admin/reload", "").await;
    assert_eq!(r.status, 422);
    let v = r.json();
    assert_eq!(v["version"], before);
    assert!(v["diagnostics"][0]["message"].as_str().unwrap().contains("nope"), "{v}");
    // Still serving the old set, and saying why the new one is not.
    let d = post(addr, "/v1/decide", &spec_request()).await.json();
    assert_eq!((d["decision"].clone(), d["policy_version"].clone()), (json!("allow"), json!(before)));
    let p = get(addr, "/v1/policies").await.json();
    assert_eq!(p["version"], before);
    assert!(p["failed_reload"]["diagnostics"][0]["file"].as_str().unwrap().ends_with("agents.writ"), "{p}");
    assert!(get(addr, "/metrics").await.text().contains("writ_reloads_total{result=\"failed\"} 1"));
    // A broken entities file is refused the same way.
    std::fs::copy(spec.join("agents.writ"), dir.join("agents.writ")).unwrap();
    std::fs::write(dir.join("entities.json"), "[{\"type\": \"Human\", \"id\": \"x\"}]").unwrap();
    let v = post(addr, "/v1/admin/reload", "").await.json();
    assert!(v["error"].as_str().unwrap().contains("[0].attrs.clearance"), "{v}");
    // Fixed: the new set serves and the failure is gone.
    std::fs::copy(spec.join("entities.json"), dir.join("entities.json")).unwrap();
    std::fs::write(dir.join("extra.writ"), "@id(\"extra\") forbid Agent to deploy on Tool;").ok();
    let v = post(addr, "/v1/admin/reload", "").await.json();
    assert_eq!(v["changed"], true, "{v}");
    let p = get(addr, "/v1/policies").await.json();
    assert_ne!(p["version"], before);
    assert_eq!(p["failed_reload"], Value::Null);
    assert!(p["rules"].as_array().unwrap().contains(&json!("extra")));
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_answer_413_429_503() {
    let mut config = example_config("spec");
    config.limits.max_body_bytes = 2048;
    config.limits.max_concurrent = 1;
    config.limits.request_timeout_ms = 400;
    let server = start(config).await;
    let addr = server.addr();
    // 413: a declared length over the limit, and a chunked body that grows past it.
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(4096));
    let r = post(addr, "/access/v1/evaluation", &big).await;
    assert_eq!(r.status, 413);
    let chunk = format!("{:x}\r\n{big}\r\n0\r\n\r\n", big.len());
    let head = "POST /v1/decide HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    let r = raw(addr, format!("{head}{chunk}").as_bytes()).await.unwrap();
    assert_eq!(r.status, 413);

    // A client that sends half a body holds the only slot: the next request gets 429, and
    // the stalled one 503 when the time limit passes.
    let mut stalled = tokio::net::TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"principal\"")
        .await
        .unwrap();
    let mut busy = None;
    for _ in 0..50 {
        let r = post(addr, "/v1/decide", &spec_request()).await;
        if r.status == 429 {
            busy = Some(r);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    let busy = busy.expect("a second request while the slot is held gets 429");
    assert_eq!(busy.header("retry-after"), Some("1"));
    let r = read_response(&mut stalled).await.unwrap();
    assert_eq!(r.status, 503);
    assert!(r.json()["error"].as_str().unwrap().contains("time limit"));
    // Health is never limited.
    assert_eq!(get(addr, "/healthz").await.status, 200);
    let text = get(addr, "/metrics").await.text();
    assert!(text.contains("writ_rejected_requests_total{reason=\"busy\"}"));
    assert!(!text.contains("writ_rejected_requests_total{reason=\"timeout\"} 0"), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens() {
    let file = std::env::temp_dir().join(format!("writ-serve-tokens-{}", std::process::id()));
    std::fs::write(&file, "# PEP tokens\nalpha-token\n\nbeta-token\n").unwrap();
    let mut config = example_config("spec");
    config.auth.tokens_file = Some(file.clone());
    let server = start(config).await;
    let addr = server.addr();
    let body = spec_request();
    let send = |auth: Option<&'static str>| {
        let mut h = vec![("Content-Type", "application/json")];
        if let Some(a) = auth {
            h.push(("Authorization", a));
        }
        request("POST", "/v1/decide", &h, body.as_bytes())
    };
    for bad in [None, Some("Bearer wrong"), Some("Bearer alpha-toke"), Some("Basic alpha-token"), Some("Bearer ")] {
        let r = raw(addr, &send(bad)).await.unwrap();
        assert_eq!(r.status, 401, "{bad:?}");
        assert_eq!(r.header("www-authenticate"), Some("Bearer"));
        assert!(!r.text().contains("alpha"));
    }
    for good in ["Bearer alpha-token", "Bearer beta-token"] {
        assert_eq!(raw(addr, &send(Some(good))).await.unwrap().status, 200);
    }
    assert_eq!(get(addr, "/healthz").await.status, 200);
    assert_eq!(get(addr, "/readyz").await.status, 200);
    assert_eq!(get(addr, "/metrics").await.status, 401);
    server.shutdown().await;
    let _ = std::fs::remove_file(&file);
}

/// A ConfigMap volume holds its files twice (`name` → `..data/name` → `..TIMESTAMP/name`):
/// hidden directories are not part of the policy set, so serving the mount works.
#[test]
fn hidden_directories_are_not_policies() {
    let dir = std::env::temp_dir().join(format!("writ-serve-hidden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("..2026_12_01_10_00_00.123")).unwrap();
    let schema = "schema { entity A  entity T  action go: A -> T }";
    std::fs::write(dir.join("..2026_12_01_10_00_00.123/schema.writ"), schema).unwrap();
    std::fs::write(dir.join("schema.writ"), schema).unwrap();
    let p = writ::PolicySet::load(&dir).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(p.sources().files().count(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shipped OpenAPI document describes every route the server has.
#[test]
fn the_openapi_document_lists_every_route() {
    let doc = std::fs::read_to_string(repo_root().join("docs/openapi/serve.yaml")).unwrap();
    let server = std::fs::read_to_string(repo_root().join("crates/writ-serve/src/server.rs")).unwrap();
    let routes: Vec<&str> =
        server.lines().filter_map(|l| l.trim().strip_prefix(".route(\"")).filter_map(|l| l.split('"').next()).collect();
    assert!(routes.len() >= 10, "{routes:?}");
    for r in routes {
        assert!(doc.contains(&format!("\n  {r}:\n")), "docs/openapi/serve.yaml does not describe `{r}`");
    }
}

/// A config file: relative paths from its folder, flags on top, every table read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_file_configures_the_server() {
    let dir = std::env::temp_dir().join(format!("writ-serve-config-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("p")).unwrap();
    let todo = repo_root().join("examples/authzen-todo");
    for f in ["schema.writ", "todo.writ", "entities.json"] {
        std::fs::copy(todo.join(f), dir.join("p").join(f)).unwrap();
    }
    std::fs::write(
        dir.join("serve.toml"),
        "policies = [\"p\"]\nentities = \"p/entities.json\"\nwatch = false\n\
         [limits]\nmax_batch = 2\n[authzen]\nstrict = true\n[authzen.types]\nperson = \"User\"\n\
         [authzen.actions]\ndelete = \"can_delete_todo\"\n[log]\npath = \"logs/d.jsonl\"\n",
    )
    .unwrap();
    let args = writ_serve::ServeArgs {
        config: Some(dir.join("serve.toml")),
        addr: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let config = args.to_config().unwrap();
    assert_eq!(config.policies, vec![dir.join("p")]);
    assert_eq!(config.log.as_ref().unwrap().path, dir.join("logs/d.jsonl"));
    let server = start(config).await;
    let addr = server.addr();
    let body = json!({"subject": {"type": "person", "id": "rick@the-citadel.com"}, "action": {"name": "delete"},
                      "resource": {"type": "todo", "id": "t", "properties": {"ownerID": "x@y"}}});
    assert_eq!(post_json(addr, "/access/v1/evaluation", &body).await.json(), json!({"decision": true}));
    let mut many = body.clone();
    many["evaluations"] = json!([{}, {}, {}]);
    assert_eq!(post_json(addr, "/access/v1/evaluations", &many).await.status, 413);
    server.shutdown().await;
    assert_eq!(std::fs::read_to_string(dir.join("logs/d.jsonl")).unwrap().lines().count(), 1);
    // A misspelt key is an error, not a silent default.
    std::fs::write(dir.join("bad.toml"), "[limits]\nmax_bodybytes = 5\n").unwrap();
    let bad =
        writ_serve::ServeArgs { config: Some(dir.join("bad.toml")), paths: vec![dir.join("p")], ..Default::default() };
    assert!(bad.to_config().unwrap_err().contains("max_bodybytes"));
    let _ = std::fs::remove_dir_all(&dir);
}
