//! `writ serve examples/authzen-todo` answers the AuthZEN Todo interop scenario as written:
//! every user, every action, single and batch requests, with and without strict answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use common::*;
use serde_json::{Value, json};

struct User {
    pid: &'static str,
    email: &'static str,
    roles: &'static [&'static str],
}

const USERS: [User; 5] = [
    User {
        pid: "CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
        email: "rick@the-citadel.com",
        roles: &["admin", "evil_genius"],
    },
    User {
        pid: "CiRmZDE2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
        email: "morty@the-citadel.com",
        roles: &["editor"],
    },
    User {
        pid: "CiRmZDI2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
        email: "summer@the-smiths.com",
        roles: &["editor"],
    },
    User {
        pid: "CiRmZDM2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
        email: "beth@the-smiths.com",
        roles: &["viewer"],
    },
    User {
        pid: "CiRmZDQ2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs",
        email: "jerry@the-smiths.com",
        roles: &["viewer"],
    },
];

const TODO: &str = "7240d0db-8ff0-41ec-98b2-34a096273b9f";

/// (subject id, action, resource, expected) straight from the scenario's table.
fn cases() -> Vec<(String, &'static str, Value, bool)> {
    let mut out = Vec::new();
    for u in &USERS {
        let has = |r: &str| u.roles.contains(&r);
        let todo = |owner: &str| json!({"type": "todo", "id": TODO, "properties": {"ownerID": owner}});
        let rick = USERS[0].email;
        let mut add = |action, resource, expected| out.push((u.pid.to_string(), action, resource, expected));
        add("can_read_user", json!({"type": "user", "id": "beth@the-smiths.com"}), true);
        add("can_read_user", json!({"type": "user", "id": u.email}), true);
        add("can_read_user", json!({"type": "user", "id": u.pid}), true);
        add("can_read_todos", json!({"type": "todo", "id": "todo-1"}), true);
        add("can_create_todo", json!({"type": "todo", "id": "todo-1"}), has("admin") || has("editor"));
        add("can_update_todo", todo(u.email), has("evil_genius") || has("editor"));
        add("can_update_todo", todo(rick), has("evil_genius") || (has("editor") && u.email == rick));
        add("can_update_todo", todo("someone@else.example"), has("evil_genius"));
        add("can_delete_todo", todo(u.email), has("admin") || has("editor"));
        add("can_delete_todo", todo(rick), has("admin") || (has("editor") && u.email == rick));
        add("can_delete_todo", todo("someone@else.example"), has("admin"));
    }
    out
}

fn evaluation(subject: &str, action: &str, resource: &Value) -> Value {
    json!({"subject": {"type": "user", "id": subject}, "action": {"name": action}, "resource": resource, "context": {}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_single_evaluation_decides_as_the_scenario_says() {
    let server = start(example_config("authzen-todo")).await;
    let addr = server.addr();
    let mut wrong = Vec::new();
    for (subject, action, resource, expected) in cases() {
        let r = post_json(addr, "/access/v1/evaluation", &evaluation(&subject, action, &resource)).await;
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        if v["decision"] != json!(expected) {
            wrong.push(format!("{subject} {action} {resource}: expected {expected}, got {v}"));
        }
        // Not strict: the context explains.
        assert!(v["context"]["id"].is_string() && v["context"]["reason_admin"]["en"].is_string(), "{v}");
        assert!(v["context"]["error"].is_null(), "{v}");
    }
    assert!(wrong.is_empty(), "{} wrong decision(s):\n{}", wrong.len(), wrong.join("\n"));
    // An absent context is the same as an empty one.
    let v = post_json(
        addr,
        "/access/v1/evaluation",
        &json!({"subject": {"type": "user", "id": USERS[3].pid}, "action": {"name": "can_read_todos"}, "resource": {"type": "todo", "id": "todo-1"}}),
    )
    .await
    .json();
    assert_eq!(v["decision"], true);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_answer_in_order_and_strict_answers_are_exactly_the_decision() {
    let mut config = example_config("authzen-todo");
    config.authzen.strict = true;
    let server = start(config).await;
    let addr = server.addr();
    for (subject, action, resource, expected) in cases() {
        let v = post_json(addr, "/access/v1/evaluation", &evaluation(&subject, action, &resource)).await.json();
        assert_eq!(v, json!({"decision": expected}), "{subject} {action} {resource}");
    }
    // The Todo page: subject and action once, one resource per todo.
    for u in &USERS {
        let owners = ["rick@the-citadel.com", "morty@the-citadel.com", u.email, "beth@the-smiths.com"];
        let body = json!({
            "subject": {"type": "user", "id": u.pid},
            "action": {"name": "can_update_todo"},
            "evaluations": owners.iter().enumerate().map(|(i, o)| json!({"resource": {"type": "todo", "id": format!("todo-{i}"), "properties": {"ownerID": o}}})).collect::<Vec<_>>(),
        });
        let v = post_json(addr, "/access/v1/evaluations", &body).await.json();
        let expect: Vec<Value> = owners
            .iter()
            .map(|o| {
                let ok = u.roles.contains(&"evil_genius") || (u.roles.contains(&"editor") && *o == u.email);
                json!({"decision": ok})
            })
            .collect();
        assert_eq!(v, json!({"evaluations": expect}), "{}", u.email);
    }
    server.shutdown().await;
}
