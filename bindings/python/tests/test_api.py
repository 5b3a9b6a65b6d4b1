"""The API: policy sets, engines, entities, decisions and their attributes."""

from __future__ import annotations

import copy
import datetime
import ipaddress
import json
import pickle

import pytest

import writ
from writ_pytest_support import AGENT_EXAMPLE, read


def test_policy_set_load_and_from_sources_agree(spec_policies: writ.PolicySet) -> None:
    assert len(spec_policies.version) == 32
    assert spec_policies.rule_ids == [
        "agent-tools",
        "risk-ceiling",
        "destructive-needs-human",
        "secrets-same-env",
        "humans-within-clearance",
    ]
    sources = {p.name: read(p) for p in sorted(AGENT_EXAMPLE.glob("*.writ"))}
    again = writ.PolicySet.from_sources(sources)
    assert again.rule_ids == spec_policies.rule_ids
    assert spec_policies.warnings == []
    assert "PolicySet(" in repr(spec_policies)


def test_load_takes_path_objects(spec_policies: writ.PolicySet) -> None:
    assert writ.PolicySet.load(str(AGENT_EXAMPLE)).version == writ.PolicySet.load(AGENT_EXAMPLE).version == spec_policies.version


def test_the_example_request_is_allowed(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    d = engine.decide(spec_request, entities)
    assert d.verdict is writ.Verdict.ALLOW
    assert d.verdict == "allow" and str(d.verdict) == "allow"
    assert d.allowed
    assert [r.rule for r in d.reasons] == ["agent-tools", "humans-within-clearance"]
    first, hop = d.reasons
    assert (first.effect, first.file, first.line, first.on_behalf_of) == ("permit", str(AGENT_EXAMPLE / "agents.writ"), 4, None)
    assert hop.on_behalf_of == {"type": "Human", "id": "alice"}
    assert d.obligations == {"ttl": datetime.timedelta(minutes=15)}
    assert d.errors == []
    assert d.explain is None
    assert d.policy_version == engine.policy_version == engine.policies.version
    assert d.backend == engine.backend


def test_dict_and_text_decide_alike(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    text = json.dumps(spec_request)
    as_dict = engine.decide(spec_request, entities)
    assert engine.decide(text, entities).to_dict() == as_dict.to_dict()
    assert engine.decide(text.encode(), entities).to_dict() == as_dict.to_dict()
    # Keys in another order, a tuple for a list: the same request.
    shuffled = dict(reversed(list(spec_request.items())))
    shuffled["on_behalf_of"] = tuple(shuffled["on_behalf_of"])
    assert engine.decide(shuffled, entities).to_dict() == as_dict.to_dict()


def test_to_dict_is_the_decision_json(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    d = engine.decide(spec_request, entities)
    assert d.to_dict() == json.loads(d.to_json())
    assert d.to_dict()["obligations"] == {"ttl": "15m"}
    assert d.to_dict()["reasons"][1] == d.reasons[1].to_dict()
    assert d.to_dict()["reasons"][1]["on_behalf_of"] == {"type": "Human", "id": "alice"}
    assert repr(d) == "Decision(verdict='allow', reasons=['agent-tools', 'humans-within-clearance'])"


def test_deny_and_escalate(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    saturday = copy.deepcopy(spec_request)
    saturday["context"]["now"] = "2026-11-28T10:15:00Z"
    d = engine.decide(saturday, entities)
    assert d.verdict is writ.Verdict.DENY and not d.allowed
    assert [(r.rule, r.effect, r.message) for r in d.reasons] == [("no-permit", "deny", "no permit applies")]
    assert d.obligations == {}

    risky = copy.deepcopy(spec_request)
    risky["context"]["risk"] = 90
    d = engine.decide(risky, entities)
    assert d.verdict is writ.Verdict.DENY
    assert d.reasons[0].rule == "risk-ceiling" and d.reasons[0].message == "risk score too high"

    entities.upsert(
        {
            "type": "Tool",
            "id": "jira.comment",
            "attrs": {"sensitivity": "public", "destructive": True},
            "parents": [{"type": "ToolGroup", "id": "ticketing"}],
        }
    )
    d = engine.decide(spec_request, entities)
    assert d.verdict is writ.Verdict.ESCALATE and d.verdict == "escalate"
    assert any(r.rule == "destructive-needs-human" and r.effect == "escalate" for r in d.reasons)
    approved = copy.deepcopy(spec_request)
    approved["context"]["approved"] = True
    assert engine.decide(approved, entities).allowed


def test_explain(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    saturday = copy.deepcopy(spec_request)
    saturday["context"]["now"] = datetime.datetime(2026, 11, 28, 10, 15, tzinfo=datetime.timezone.utc)
    d = engine.decide(saturday, entities, explain=True)
    assert d.verdict is writ.Verdict.DENY
    assert d.explain is not None
    assert d.explain["principal"] == {"type": "Agent", "id": "support-bot"}
    closest = d.explain["closest_permits"][0]
    assert closest["rule"] == "agent-tools"
    # The failed condition inside the fn it calls, with the argument it was given.
    assert closest["failed"] == "when t.weekday() <= 5"
    assert closest["saw"] == {"context.now": "2026-11-28T10:15:00Z", "t.weekday()": 6}
    assert closest["passed"] == ["resource.sensitivity <= internal", "context.risk < 50"]
    assert d.to_dict()["explain"] == d.explain
    # Not asked: none.
    assert engine.decide(saturday, entities).explain is None


def test_python_values_in_requests(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    r = copy.deepcopy(spec_request)
    r["context"]["now"] = datetime.datetime(2026, 11, 23, 11, 15, tzinfo=datetime.timezone(datetime.timedelta(hours=1)))
    r["context"]["source_ip"] = ipaddress.ip_address("10.1.2.3")
    assert engine.decide(r, entities).allowed
    secret = {
        "principal": {"type": "Agent", "id": "support-bot"},
        "action": "read_secret",
        "resource": {"type": "Secret", "id": "prod/db-password"},
        "context": {
            "now": "2026-11-23T10:15:00Z",
            "risk": 12,
            "source_ip": ipaddress.IPv6Address("::1"),
            "credential_age": datetime.timedelta(minutes=3),
        },
    }
    entities.upsert({"type": "Secret", "id": "prod/db-password", "attrs": {"env": "prod", "sensitivity": "secret"}})
    d = engine.decide(secret, entities)
    assert d.allowed, d.to_dict()
    assert d.obligations == {"audit": ["secret read"], "ttl": datetime.timedelta(minutes=5)}
    secret["context"]["credential_age"] = datetime.timedelta(minutes=11)
    assert not engine.decide(secret, entities).allowed


def test_entities_from_every_form(engine: writ.Engine, spec_request: dict) -> None:
    text = read(AGENT_EXAMPLE / "entities.json")
    as_list = json.loads(text)
    for data in (text, text.encode(), as_list, tuple(as_list)):
        store = engine.entities(data)
        assert len(store) == 5
        assert engine.decide(spec_request, store).allowed
    assert len(engine.entities()) == 0
    assert len(engine.entities(as_list[0])) == 1
    assert repr(engine.entities(as_list)) == "Entities(len=5)"


def test_upsert_and_remove_update_in_place(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    assert engine.decide(spec_request, entities).allowed
    entities.upsert(
        json.dumps(
            [
                {"type": "Human", "id": "bob", "attrs": {"clearance": "secret"}},
                {
                    "type": "Agent",
                    "id": "bob-bot",
                    "attrs": {"owner": {"type": "Human", "id": "bob"}, "env": "prod", "workload": "w"},
                    "parents": [{"type": "Team", "id": "support"}],
                },
            ]
        )
    )
    assert len(entities) == 7
    as_bob = dict(spec_request, principal={"type": "Agent", "id": "bob-bot"}, on_behalf_of=[{"type": "Human", "id": "bob"}])
    assert engine.decide(as_bob, entities).allowed
    assert entities.remove("Tool", "jira.comment") is True
    assert entities.remove("Tool", "jira.comment") is False
    assert len(entities) == 6
    d = engine.decide(spec_request, entities)
    assert d.verdict is writ.Verdict.DENY and d.errors[0].rule == "bad-request"
    assert "jira.comment" in d.errors[0].message


def test_entity_errors_name_the_path(engine: writ.Engine, entities: writ.Entities) -> None:
    with pytest.raises(writ.EntityError) as e:
        engine.entities([{"type": "Human", "id": "bob", "attrs": {"clearance": "top"}}])
    assert e.value.path == "[0].attrs.clearance"
    assert e.value.kind == "invalid-value"
    assert str(e.value).startswith("[0].attrs.clearance: ")
    assert isinstance(e.value, ValueError) and isinstance(e.value, writ.Error)

    before = len(entities)
    with pytest.raises(writ.EntityError) as e:
        entities.upsert([{"type": "Human", "id": "eve", "attrs": {"clearance": "public"}}, {"type": "Human", "id": "x"}])
    assert (e.value.path, e.value.kind) == ("[1].attrs.clearance", "missing-field")
    assert len(entities) == before  # all or nothing

    with pytest.raises(writ.EntityError) as e:
        entities.upsert({"type": "Human", "id": "eve", "attrs": {"clearance": object()}})
    assert (e.value.path, e.value.kind) == ("attrs.clearance", "wrong-type")
    with pytest.raises(writ.EntityError) as e:
        entities.remove("Robot", "r2")
    assert e.value.kind == "unknown-type"
    with pytest.raises(writ.EntityError) as e:
        entities.remove("Human", "alice")  # support-bot's owner
    with pytest.raises(writ.EntityError) as e:
        engine.entities("[{not json")
    assert e.value.kind == "malformed-json"
    with pytest.raises(writ.EntityError) as e:
        engine.entities(b"\xff")
    assert e.value.kind == "malformed-json"
    err = pickle.loads(pickle.dumps(e.value))
    assert (err.path, err.kind, str(err)) == (e.value.path, e.value.kind, str(e.value))


def test_decide_many(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    saturday = copy.deepcopy(spec_request)
    saturday["context"]["now"] = "2026-11-28T10:15:00Z"
    requests = [spec_request, json.dumps(saturday), "{not json", {"action": "call_tool"}]
    got = engine.decide_many(requests, entities)
    assert [d.verdict for d in got] == [writ.Verdict.ALLOW, writ.Verdict.DENY, writ.Verdict.DENY, writ.Verdict.DENY]
    assert [d.to_dict() for d in got] == [engine.decide(r, entities).to_dict() for r in requests]
    assert engine.decide_many(iter([]), entities) == []
    assert engine.decide_many((r for r in requests[:1]), entities)[0].allowed
    explained = engine.decide_many([saturday], entities, explain=True)
    assert explained[0].explain is not None
    with pytest.raises(TypeError):
        engine.decide_many(5, entities)  # not iterable


def test_backends(spec_policies: writ.PolicySet) -> None:
    interp = writ.Engine(spec_policies, backend="interpreter")
    assert interp.backend == "interpreter" and interp.fallback is None
    auto = writ.Engine(spec_policies)
    assert auto.backend in ("jit", "interpreter")
    assert (auto.fallback is None) == (auto.backend == "jit")
    if auto.backend == "jit":
        assert writ.Engine(spec_policies, backend="jit", compile_threads=1).backend == "jit"
    with pytest.raises(ValueError, match="unknown backend `llvm`"):
        writ.Engine(spec_policies, backend="llvm")
    with pytest.raises(TypeError):
        writ.Engine("examples/spec")  # type: ignore[arg-type]
    assert "Engine(backend=" in repr(auto)


def test_no_entities_and_inline_entities(spec_policies: writ.PolicySet, spec_request: dict) -> None:
    stored = json.loads(read(AGENT_EXAMPLE / "entities.json"))
    inline = dict(spec_request, entities=stored)
    for backend in ("auto", "interpreter"):
        engine = writ.Engine(spec_policies, backend=backend)
        assert engine.decide(inline).allowed
        d = engine.decide(spec_request)  # no store: support-bot is unknown
        assert d.verdict is writ.Verdict.DENY and d.errors[0].rule == "bad-request"
        # Overriding a stored entity inline is refused unless the engine allows it.
        store = engine.entities(stored)
        assert not engine.decide(inline, store).allowed
        lenient = writ.Engine(spec_policies, backend=backend, allow_inline_override=True)
        assert lenient.decide(inline, lenient.entities(stored)).allowed


def test_verdict_enum() -> None:
    assert [v.value for v in writ.Verdict] == ["allow", "deny", "escalate"]
    assert writ.Verdict("deny") is writ.Verdict.DENY
    assert isinstance(writ.Verdict.ALLOW, str)


def test_module_surface() -> None:
    assert set(writ.__all__) <= set(dir(writ))
    assert writ.__version__
    for cls in (writ.PolicySet, writ.Engine, writ.Entities, writ.Decision, writ.Reason, writ.RuleError):
        assert cls.__module__ == "writ"
        assert cls.__doc__
    assert writ.Engine.decide.__doc__ and "JSON path" in writ.Engine.decide.__doc__
