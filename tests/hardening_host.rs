//! Issue 13, host data: IP addresses cannot slip past range checks, inline entities cannot
//! rewrite stored facts (and membership does not depend on unrelated inline entities),
//! host data decoded for one schema is never read with another's slots, and the hierarchy
//! costs linear time within documented limits. Every check runs on both back ends, and
//! requests go through both JSON decoders (the JIT's fast one and the ordinary one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::{BTreeSet, HashMap};
use writ::unstable::ir::value::EntityUid;
use writ::{Engine, EngineOptions, Entities, Limits, PolicySet, Verdict};

fn policies(src: &str) -> PolicySet {
    PolicySet::from_sources(&[("p.writ", src)]).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// The JIT and the interpreter, with these options.
fn engines(p: &PolicySet, options: EngineOptions) -> [Engine; 2] {
    let jit = Engine::compile_with(p, options).unwrap();
    assert_eq!(jit.backend(), writ::Backend::Jit);
    [jit, Engine::interpreted_with(p, options)]
}

/// `verdict [reasons] !errors` of a request, the same on both back ends and through both
/// decoders (`decide_json`, and `request_from_json` + `decide`).
fn decide(engines: &[Engine; 2], entities: &str, request: &str) -> String {
    let mut seen: Vec<String> = Vec::new();
    for e in engines {
        let ents = e.entities_from_json(entities).unwrap();
        let one = |d: writ::Decision| {
            let reasons: Vec<&str> = d.reasons.iter().map(|r| &*r.rule).collect();
            let errors: Vec<&str> = d.errors.iter().map(|e| &*e.message).collect();
            format!("{} [{}] !{}", d.decision.as_str(), reasons.join(", "), errors.join("; "))
        };
        seen.push(one(e.decide_json(request, &ents)));
        seen.push(match e.request_from_json(request, &ents) {
            Ok(r) => one(e.decide(&r)),
            Err(err) => one(writ::Decision::bad_request(err.to_string())),
        });
    }
    assert!(seen.iter().all(|s| *s == seen[0]), "back ends or decoders disagree on {request}:\n{seen:#?}");
    seen.swap_remove(0)
}

// ------------------------------------------------------------------------------ 1. IPs

const IP_POLICY: &str = r#"
schema { entity Agent  entity Tool  context { ip: Ip }  action call: Agent -> Tool }
@id("internal") permit Agent to call on Tool when context.ip.in_range(ip("10.0.0.0/8"));
@id("local") permit Agent to call on Tool when context.ip.is_loopback();
@id("loopback") escalate Agent to call on Tool when context.ip.is_loopback();
@id("private") escalate Agent to call on Tool when context.ip.is_private();
@id("blocked") forbid Agent to call on Tool when context.ip == ip("203.0.113.5");
"#;

const IP_ENTITIES: &str = r#"[{"type": "Agent", "id": "a"}, {"type": "Tool", "id": "t"}]"#;

fn ip_request(ip: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", "resource": {{"type": "Tool", "id": "t"}},
            "context": {{"ip": "{ip}"}}}}"#
    )
}

#[test]
fn ipv4_mapped_ipv6_is_the_ipv4_address() {
    let p = policies(IP_POLICY);
    let e = engines(&p, EngineOptions::default());
    let rows = [
        // the same address, however written
        ("10.1.2.3", "escalate [private] !"),
        ("::ffff:10.1.2.3", "escalate [private] !"),
        ("::ffff:a01:203", "escalate [private] !"),
        ("::FFFF:10.1.2.3", "escalate [private] !"),
        ("127.0.0.1", "escalate [loopback] !"),
        ("::ffff:127.0.0.1", "escalate [loopback] !"),
        ("::ffff:7f00:1", "escalate [loopback] !"),
        ("203.0.113.5", "deny [blocked] !"),
        ("::ffff:203.0.113.5", "deny [blocked] !"),
        ("::ffff:cb00:7105", "deny [blocked] !"),
        // not mapped: other IPv6 addresses stay IPv6
        ("::10.1.2.3", "deny [no-permit] !"),
        ("64:ff9b::cb00:7105", "deny [no-permit] !"),
        ("8.8.8.8", "deny [no-permit] !"),
    ];
    let failures: Vec<String> = rows
        .iter()
        .filter_map(|(ip, want)| {
            let got = decide(&e, IP_ENTITIES, &ip_request(ip));
            (got != *want).then(|| format!("{ip}: expect {want}, got {got}"))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_request_ip_is_an_address_never_a_range() {
    let p = policies(IP_POLICY);
    let e = engines(&p, EngineOptions::default());
    // `10.0.0.0/8` would be in 10.0.0.0/8 and `203.0.113.5/0` is 0.0.0.0/0: neither is an
    // address, and neither passes a check (they are bad input on both decoders).
    for (ip, why) in [
        ("10.0.0.0/8", "is a range; expected one IP address (no `/prefix`)"),
        ("203.0.113.5/0", "is a range; expected one IP address (no `/prefix`)"),
        ("10.1.2.3/32", "is a range; expected one IP address (no `/prefix`)"),
        ("::ffff:10.1.2.3/128", "is a range; expected one IP address (no `/prefix`)"),
        ("10.1.2.3/+8", "is a range; expected one IP address (no `/prefix`)"),
        (" 10.1.2.3", "is not an IP address"),
        ("10.1.2.3\\n", "is not an IP address"),
        ("::1 ", "is not an IP address"),
        ("010.1.2.3", "is not an IP address"),
    ] {
        let shown = ip.replace("\\n", "\n");
        let want = format!("deny [bad-request] !context.ip: `{shown}` {why}");
        assert_eq!(decide(&e, IP_ENTITIES, &ip_request(ip)), want, "{ip}");
    }
    // A host whose requests carry networks on purpose may allow ranges (then a `/0`
    // is all addresses, and not in 10.0.0.0/8).
    let lenient = engines(&p, EngineOptions { allow_request_ip_ranges: true, ..Default::default() });
    assert_eq!(decide(&lenient, IP_ENTITIES, &ip_request("10.0.0.0/8")), "escalate [private] !");
    assert_eq!(decide(&lenient, IP_ENTITIES, &ip_request("203.0.113.5/0")), "deny [no-permit] !");
    assert_eq!(
        decide(&lenient, IP_ENTITIES, &ip_request("10.0.0.0/+8")).split('`').next(),
        Some("deny [bad-request] !context.ip: ")
    );
}

#[test]
fn policy_ranges_are_parsed_strictly() {
    for bad in ["10.0.0.0/+8", "10.0.0.0/08", " 10.0.0.0/8", "10.0.0.0/8 ", "10.0.0.0/", "10.0.0.0/-1"] {
        let src = format!(
            r#"schema {{ entity Agent  entity Tool  context {{ ip: Ip }}  action call: Agent -> Tool }}
               permit Agent to call on Tool when context.ip.in_range(ip("{bad}"));"#
        );
        assert!(PolicySet::from_sources(&[("p.writ", &src)]).is_err(), "`{bad}` should not check");
    }
    // A mapped range is the IPv4 range; an IPv4 address, however written, is in no IPv6 range.
    let src = r#"schema { entity Agent  entity Tool  context { ip: Ip }  action call: Agent -> Tool }
        @id("mapped") permit Agent to call on Tool when context.ip.in_range(ip("::ffff:10.0.0.0/104"));
        @id("all-v6") forbid Agent to call on Tool when context.ip.in_range(ip("::/0"));"#;
    let e = engines(&policies(src), EngineOptions::default());
    assert_eq!(decide(&e, IP_ENTITIES, &ip_request("10.9.9.9")), "allow [mapped] !");
    assert_eq!(decide(&e, IP_ENTITIES, &ip_request("::ffff:10.9.9.9")), "allow [mapped] !");
    assert_eq!(decide(&e, IP_ENTITIES, &ip_request("11.9.9.9")), "deny [no-permit] !");
    assert_eq!(decide(&e, IP_ENTITIES, &ip_request("2001:db8::1")), "deny [all-v6] !");
}

/// The entity store is the host's own data: an attribute may hold a range there (a
/// principal's home network); a request's inline entities hold addresses only.
#[test]
fn stored_attributes_may_hold_ranges_inline_ones_may_not() {
    let src = r#"schema { entity Agent { home: Set<Ip> }  entity Tool  context { ip: Ip }  action call: Agent -> Tool }
        @id("home") permit Agent to call on Tool when any r in principal.home: context.ip.in_range(r);"#;
    let e = engines(&policies(src), EngineOptions::default());
    let ents = r#"[{"type": "Agent", "id": "a", "attrs": {"home": ["10.20.0.0/16", "::ffff:192.168.0.0/112"]}},
                   {"type": "Tool", "id": "t"}]"#;
    assert_eq!(decide(&e, ents, &ip_request("10.20.3.4")), "allow [home] !");
    assert_eq!(decide(&e, ents, &ip_request("::ffff:192.168.9.9")), "allow [home] !");
    assert_eq!(decide(&e, ents, &ip_request("10.21.3.4")), "deny [no-permit] !");
    let inline = r#"{"principal": {"type": "Agent", "id": "b"}, "action": "call", "resource": {"type": "Tool", "id": "t"},
        "context": {"ip": "10.20.3.4"}, "entities": [{"type": "Agent", "id": "b", "attrs": {"home": ["0.0.0.0/0"]}}]}"#;
    assert_eq!(
        decide(&e, ents, inline),
        "deny [bad-request] !entities[0].attrs.home[0]: `0.0.0.0/0` is a range; expected one IP address (no `/prefix`)"
    );
}

// ------------------------------------------------------------------------------ 6. inline entities

const HIER_POLICY: &str = r#"
schema { entity Team  entity Group in Group  entity Agent in Team  entity Tool in Group  action call: Agent -> Tool }
@id("in-q") escalate Agent to call on Tool in Group::"q";
@id("any") permit Agent to call on Tool;
"#;

/// Tool `t` is in Group `n`, which the store names as a parent but does not hold.
const HIER_ENTITIES: &str = r#"[
  {"type": "Team", "id": "support"},
  {"type": "Agent", "id": "a", "parents": [{"type": "Team", "id": "support"}]},
  {"type": "Tool", "id": "t", "parents": [{"type": "Group", "id": "n"}]},
  {"type": "Tool", "id": "u", "parents": [{"type": "Group", "id": "m"}]},
  {"type": "Group", "id": "m", "parents": [{"type": "Group", "id": "q"}]}
]"#;

fn hier_request(resource: &str, inline: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "a"}}, "action": "call", "resource": {{"type": "Tool", "id": "{resource}"}},
            "entities": [{inline}]}}"#
    )
}

/// Whether `X in Q` holds must not depend on inline entities that have nothing to do with
/// it. Before: an unrelated override (here the team `support`) switched membership from
/// the precomputed ancestors to a walk of the overlay, and the walk saw the inline parents
/// of the label `n` while the precomputed ancestors did not.
#[test]
fn membership_does_not_depend_on_unrelated_inline_entities() {
    let p = policies(HIER_POLICY);
    let e = engines(&p, EngineOptions { allow_inline_override: true, ..Default::default() });
    let n_in_q = r#"{"type": "Group", "id": "n", "parents": [{"type": "Group", "id": "q"}]}"#;
    let unrelated = r#"{"type": "Team", "id": "support"}"#;
    let new_team = r#"{"type": "Team", "id": "other"}"#;
    let alone = decide(&e, HIER_ENTITIES, &hier_request("t", n_in_q));
    for extra in [unrelated, new_team] {
        let with = decide(&e, HIER_ENTITIES, &hier_request("t", &format!("{n_in_q}, {extra}")));
        assert_eq!(with, alone, "adding {extra}");
    }
    assert_eq!(alone, "escalate [in-q] !");
    // And the stored hierarchy answers the same with or without unrelated inline entities.
    for inline in ["", unrelated, new_team] {
        assert_eq!(decide(&e, HIER_ENTITIES, &hier_request("u", inline)), "escalate [in-q] !", "{inline}");
        assert_eq!(decide(&e, HIER_ENTITIES, &hier_request("t", inline)), "allow [any] !", "{inline}");
    }
}

#[test]
fn inline_overrides_are_denied_by_default_on_both_back_ends() {
    let p = policies(HIER_POLICY);
    let strict = engines(&p, EngineOptions::default());
    let n_in_q = r#"{"type": "Group", "id": "n", "parents": [{"type": "Group", "id": "q"}]}"#;
    let msg = |i: usize, e: &str| {
        format!(
            "deny [bad-request] !entities[{i}]: entity {e} is in the entity store; a request may add entities but not \
             replace stored ones (this engine does not allow inline overrides)"
        )
    };
    // The label `n` is a stored fact (a group without parents): giving it parents rewrites it.
    assert_eq!(decide(&strict, HIER_ENTITIES, &hier_request("t", n_in_q)), msg(0, r#"Group::"n""#));
    let moved = r#"{"type": "Tool", "id": "u"}"#;
    assert_eq!(decide(&strict, HIER_ENTITIES, &hier_request("u", moved)), msg(0, r#"Tool::"u""#));
    // New entities may be added, with parents in the store.
    let new_tool = r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "v"},
        "entities": [{"type": "Tool", "id": "v", "parents": [{"type": "Group", "id": "m"}]}]}"#;
    assert_eq!(decide(&strict, HIER_ENTITIES, new_tool), "escalate [in-q] !");
}

// ------------------------------------------------------------------------------ 10. stale data

/// Two schemas whose `Agent` attributes sit in different slots: `admin` is slot 0 in the
/// first and slot 1 in the second (attributes are sorted by name).
const OLD_SCHEMA: &str = r#"schema { entity Agent { admin: Bool, zone: Bool }  entity Tool  action call: Agent -> Tool }
@id("admins") permit Agent to call on Tool when principal.admin;"#;
const NEW_SCHEMA: &str = r#"schema { entity Agent { active: Bool, admin: Bool }  entity Tool  action call: Agent -> Tool }
@id("admins") permit Agent to call on Tool when principal.admin;"#;
const STALE_ENTITIES: &str =
    r#"[{"type": "Agent", "id": "a", "attrs": {"admin": false, "zone": true}}, {"type": "Tool", "id": "t"}]"#;
const STALE_REQUEST: &str =
    r#"{"principal": {"type": "Agent", "id": "a"}, "action": "call", "resource": {"type": "Tool", "id": "t"}}"#;

/// A host swaps engines on a policy reload and keeps its entities: `a` is no admin, but
/// read with the new schema's slots its `zone: true` is `admin`. Before, this allowed.
#[test]
fn entities_of_another_schema_are_never_read_with_the_wrong_slots() {
    let (old_p, new_p) = (policies(OLD_SCHEMA), policies(NEW_SCHEMA));
    let old_engines = engines(&old_p, EngineOptions::default());
    let new_engines = engines(&new_p, EngineOptions::default());
    for old in &old_engines {
        let ents = old.entities_from_json(STALE_ENTITIES).unwrap();
        assert_eq!(old.decide_json(STALE_REQUEST, &ents).decision, Verdict::Deny);
        let old_request = old.request_from_json(STALE_REQUEST, &ents).unwrap();
        for new in &new_engines {
            let d = new.decide_json(STALE_REQUEST, &ents);
            assert_eq!(d.decision, Verdict::Deny, "{:?} → {:?}: {}", old.backend(), new.backend(), d.to_json());
            assert_eq!(
                d.errors[0].message,
                "the entities were decoded by an engine with another schema; decode them again with this engine"
            );
            let err = new.request_from_json(STALE_REQUEST, &ents).map(|_| ()).unwrap_err();
            assert!(err.to_string().starts_with("the entities were decoded by an engine with another schema"));
            // A request decoded by the old engine is not decided by the new one either.
            for d in [new.decide(&old_request), new.decide_explained(&old_request)] {
                assert_eq!(d.decision, Verdict::Deny);
                assert!(d.errors[0].message.starts_with("the request was decoded by an engine with another schema"));
            }
            assert!(new.candidate_rules(&old_request).is_empty());
            // Decoded again, the data is read right.
            let fresh = new.entities_from_json(&STALE_ENTITIES.replace("zone", "active")).unwrap();
            assert_eq!(new.decide_json(STALE_REQUEST, &fresh).decision, Verdict::Deny);
        }
    }
}

/// The same schema (rules changed, or the same text loaded twice): data is shared freely.
#[test]
fn entities_move_between_engines_of_the_same_schema() {
    let a = policies(OLD_SCHEMA);
    let b = policies(&OLD_SCHEMA.replace("when principal.admin", "when principal.zone"));
    let ea = Engine::interpreted(&a);
    let ents = ea.entities_from_json(STALE_ENTITIES).unwrap();
    for eb in engines(&b, EngineOptions::default()) {
        assert_eq!(eb.decide_json(STALE_REQUEST, &ents).decision, Verdict::Allow);
        assert_eq!(eb.decide(&ea.request_from_json(STALE_REQUEST, &ents).unwrap()).decision, Verdict::Allow);
    }
    // `Entities::default()` holds nothing to misread.
    let empty = Entities::default();
    assert!(ea.request_from_json(STALE_REQUEST, &empty).is_err_and(|e| e.to_string().contains("unknown entity")));
}

// ------------------------------------------------------------------------------ 8. bounded cost

const CHAIN_POLICY: &str = r#"
schema { entity G in G  entity Agent in G  entity Tool  action call: Agent -> Tool }
@id("top") permit Agent to call on Tool when principal in G::"g0";
"#;

/// `n` groups `g{n-1}` ⊂ … ⊂ `g0` (listed child first) and an agent in `g{n-1}`: the agent
/// is `n` parent steps deep.
fn chain(prefix: &str, agent: &str, n: usize) -> String {
    let mut items: Vec<String> = (0..n)
        .rev()
        .map(|i| {
            let parents = if i == 0 { String::new() } else { format!(r#"{{"type": "G", "id": "{prefix}{}"}}"#, i - 1) };
            format!(r#"{{"type": "G", "id": "{prefix}{i}", "parents": [{parents}]}}"#)
        })
        .collect();
    items.push(format!(
        r#"{{"type": "Agent", "id": "{agent}", "parents": [{{"type": "G", "id": "{prefix}{}"}}]}}"#,
        n - 1
    ));
    items.join(",\n")
}

fn chain_request(agent: &str, inline: &str) -> String {
    format!(
        r#"{{"principal": {{"type": "Agent", "id": "{agent}"}}, "action": "call", "resource": {{"type": "Tool", "id": "t"}},
            "entities": [{inline}]}}"#
    )
}

#[test]
fn a_chain_at_the_depth_limit_loads_and_one_deeper_is_rejected() {
    let p = policies(CHAIN_POLICY);
    let depth = Limits::default().max_hierarchy_depth;
    for e in engines(&p, EngineOptions::default()) {
        let ok = format!(r#"[{}, {{"type": "Tool", "id": "t"}}]"#, chain("g", "a", depth));
        let ents = e.entities_from_json(&ok).unwrap();
        assert_eq!(e.decide_json(&chain_request("a", ""), &ents).decision, Verdict::Allow);
        let too_deep = format!(r#"[{}, {{"type": "Tool", "id": "t"}}]"#, chain("g", "a", depth + 1));
        let err = e.entities_from_json(&too_deep).map(|_| ()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "[{}]: entity Agent::\"a\" is {} parent steps deep; the hierarchy depth limit is {depth}",
                depth + 1,
                depth + 1
            )
        );
    }
}

/// The issue's shape: a 10,000-deep chain. Rejected at once with the limit (before: 37 s
/// and 1.4 GB to load), or loaded when the host raises the limit.
#[test]
fn a_ten_thousand_deep_chain_is_rejected_clearly_or_loaded_when_allowed() {
    let p = policies(CHAIN_POLICY);
    let text = format!(r#"[{}, {{"type": "Tool", "id": "t"}}]"#, chain("g", "a", 10_000));
    let e = Engine::interpreted(&p);
    let err = e.entities_from_json(&text).map(|_| ()).unwrap_err().to_string();
    assert!(err.ends_with("parent steps deep; the hierarchy depth limit is 256"), "{err}");
    // Within a raised limit a shorter deep chain loads and decides (the ancestors of a chain
    // are quadratic in its length by nature, so the test keeps it at 2,000).
    let limits = Limits { max_hierarchy_depth: 2_000, ..Default::default() };
    let text = format!(r#"[{}, {{"type": "Tool", "id": "t"}}]"#, chain("g", "a", 2_000));
    for e in engines(&p, EngineOptions { limits, ..Default::default() }) {
        let ents = e.entities_from_json(&text).unwrap();
        assert_eq!(e.decide_json(&chain_request("a", ""), &ents).decision, Verdict::Allow);
    }
}

#[test]
fn inline_chains_are_bounded_by_depth_and_count() {
    let p = policies(CHAIN_POLICY);
    let limits = Limits::default();
    let stored = r#"[{"type": "G", "id": "g0"}, {"type": "Tool", "id": "t"}]"#;
    let e = engines(&p, EngineOptions::default());
    // Hanging under the stored `g0`, an inline chain of depth - 1 groups puts the agent at
    // the limit exactly.
    let mut inline = chain("h", "b", limits.max_hierarchy_depth - 1);
    inline = inline.replace(r#""id": "h0", "parents": []"#, r#""id": "h0", "parents": [{"type": "G", "id": "g0"}]"#);
    assert_eq!(decide(&e, stored, &chain_request("b", &inline)), "allow [top] !");
    // One more is too deep.
    let mut deeper = chain("h", "b", limits.max_hierarchy_depth);
    deeper = deeper.replace(r#""id": "h0", "parents": []"#, r#""id": "h0", "parents": [{"type": "G", "id": "g0"}]"#);
    let got = decide(&e, stored, &chain_request("b", &deeper));
    assert!(got.starts_with("deny [bad-request] !entities["), "{got}");
    assert!(got.ends_with("is 257 parent steps deep; the hierarchy depth limit is 256"), "{got}");
    // More inline entities than allowed: rejected before they are decoded.
    let many: Vec<String> =
        (0..=limits.max_inline_entities).map(|i| format!(r#"{{"type": "G", "id": "x{i}"}}"#)).collect();
    let got = decide(&e, stored, &chain_request("a", &many.join(",")));
    assert_eq!(got, "deny [bad-request] !entities: 1001 inline entities; the limit is 1000");
}

#[test]
fn cycles_count_all_their_members_toward_the_depth() {
    let p = policies(CHAIN_POLICY);
    let limits = Limits { max_hierarchy_depth: 3, ..Default::default() };
    let e = Engine::interpreted_with(&p, EngineOptions { limits, ..Default::default() });
    let cycle = |n: usize| {
        let items: Vec<String> = (0..n)
            .map(|i| {
                format!(r#"{{"type": "G", "id": "c{i}", "parents": [{{"type": "G", "id": "c{}"}}]}}"#, (i + 1) % n)
            })
            .collect();
        format!("[{}]", items.join(","))
    };
    assert!(e.entities_from_json(&cycle(4)).is_ok());
    let err = e.entities_from_json(&cycle(5)).map(|_| ()).unwrap_err().to_string();
    assert_eq!(err, "[0]: entity G::\"c0\" is 4 parent steps deep; the hierarchy depth limit is 3");
}

/// The ancestors computed per strongly connected component agree with a plain search from
/// every entity, on random graphs with cycles, self-loops, shared ancestors and parents
/// that are only labels.
#[test]
fn ancestors_agree_with_a_plain_search_on_random_graphs() {
    let p = policies(CHAIN_POLICY);
    let e = Engine::interpreted(&p);
    let g = p.ir().schema.entity_id("G").unwrap();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for round in 0..40 {
        let n = 2 + next(30);
        let parents: Vec<Vec<u64>> = (0..n)
            .map(|_| (0..next(4)).map(|_| next(n + 3)).collect::<BTreeSet<u64>>().into_iter().collect())
            .collect();
        let items: Vec<String> = parents
            .iter()
            .enumerate()
            .map(|(i, ps)| {
                let ps: Vec<String> = ps.iter().map(|p| format!(r#"{{"type": "G", "id": "g{p}"}}"#)).collect();
                format!(r#"{{"type": "G", "id": "g{i}", "parents": [{}]}}"#, ps.join(","))
            })
            .collect();
        let ents = e.entities_from_json(&format!("[{}]", items.join(","))).unwrap();
        let edges: HashMap<u64, &Vec<u64>> = (0..n).zip(parents.iter()).collect();
        for i in 0..n {
            let mut seen = BTreeSet::new();
            let mut stack = vec![i];
            while let Some(x) = stack.pop() {
                for p in edges.get(&x).map_or(&[][..], |v| v.as_slice()) {
                    if seen.insert(*p) {
                        stack.push(*p);
                    }
                }
            }
            seen.remove(&i);
            let want: BTreeSet<String> = seen.iter().map(|x| format!("g{x}")).collect();
            let uid = EntityUid { ty: g, id: format!("g{i}").into() };
            let have: BTreeSet<String> =
                ents.store().get(&uid).unwrap().ancestors.iter().map(|a| a.id.to_string()).collect();
            assert_eq!(have, want, "round {round}, g{i}, parents {parents:?}");
        }
    }
}
