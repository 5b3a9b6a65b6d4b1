"""Bad input: every malformed request is a deny naming the JSON path, never an exception."""

from __future__ import annotations

import copy
import datetime
import json
import math
import random
from typing import Any, Callable, List, Tuple, Union

import pytest

import writ
from writ_pytest_support import AGENT_EXAMPLE, read

Path = Tuple[Union[str, int], ...]


def assert_bad_request(d: writ.Decision, message_start: str) -> None:
    assert isinstance(d, writ.Decision)
    assert d.verdict is writ.Verdict.DENY and not d.allowed
    assert [r.rule for r in d.reasons] == ["bad-request"]
    assert len(d.errors) == 1 and d.errors[0].rule == "bad-request"
    assert d.errors[0].message.startswith(message_start), d.errors[0].message
    assert d.obligations == {}
    assert d.backend is None
    assert d.policy_version


def mutated(base: dict, change: Callable[[dict], Any]) -> dict:
    r = copy.deepcopy(base)
    change(r)
    return r


def cases(base: dict) -> List[Tuple[str, Any, str]]:
    """(name, request, what the error message starts with)."""
    deep: dict = {}
    cur = deep
    for _ in range(300):
        cur["a"] = {}
        cur = cur["a"]
    cyclic = copy.deepcopy(base)
    cyclic["context"]["args"] = cyclic
    ctx = lambda k, v: mutated(base, lambda r: r["context"].__setitem__(k, v))  # noqa: E731
    return [
        ("empty dict", {}, "action: missing"),
        ("a list", [], "a request is a JSON object"),
        ("a number", 5, "a request is a JSON object"),
        ("None", None, "a request is a JSON object"),
        ("no action", mutated(base, lambda r: r.pop("action")), "action: missing"),
        ("no principal", mutated(base, lambda r: r.pop("principal")), "principal: missing"),
        ("risk as text", ctx("risk", "high"), 'context.risk: expected Int, got "high"'),
        ("risk as float", ctx("risk", 12.0), "context.risk: expected Int"),
        ("risk beyond 64 bits", ctx("risk", 10**30), "context.risk: "),
        ("risk NaN", ctx("risk", math.nan), "context.risk: `NaN` has no JSON form"),
        ("risk infinite", ctx("risk", math.inf), "context.risk: `inf` has no JSON form"),
        ("unknown member", mutated(base, lambda r: r.__setitem__("colour", 1)), "colour: unknown field"),
        ("unknown type", mutated(base, lambda r: r["principal"].__setitem__("type", "Robot")), "principal.type: "),
        ("unknown entity", mutated(base, lambda r: r["principal"].__setitem__("id", "nobody")), "principal: unknown entity"),
        ("unknown action", mutated(base, lambda r: r.__setitem__("action", "fly")), "action: unknown action"),
        ("unknown intent", mutated(base, lambda r: r.__setitem__("intent", "nap")), "intent: unknown intent"),
        ("bad timestamp", ctx("now", "yesterday"), "context.now: `yesterday` is not an RFC 3339 timestamp"),
        ("naive datetime", ctx("now", datetime.datetime(2026, 11, 23, 10)), "context.now: a `datetime` without a time zone"),
        ("negative timedelta", ctx("now", datetime.timedelta(-1)), "context.now: a negative `timedelta`"),
        ("an IP range", ctx("source_ip", "10.0.0.0/8"), "context.source_ip: "),
        ("hop id not text", mutated(base, lambda r: r["on_behalf_of"][0].__setitem__("id", 3)), "on_behalf_of[0].id: "),
        ("a set", mutated(base, lambda r: r["context"]["args"].__setitem__("query", {1})), "context.args.query: a value of type `set`"),
        ("an object", ctx("risk", object()), "context.risk: a value of type `object` has no JSON form"),
        ("bytes inside", ctx("risk", b"12"), "context.risk: a value of type `bytes`"),
        ("int key", ctx(5, 1), "context: a dict key must be a `str`"),
        ("lone surrogate", mutated(base, lambda r: r["principal"].__setitem__("id", "\ud800")), "principal.id: "),
        ("lone surrogate key", ctx("\udfff", 1), "context: a key that is not valid Unicode"),
        ("unknown args field", mutated(base, lambda r: r["context"]["args"].__setitem__("x", 1)), "context.args.x: unknown field"),
        ("too deep", ctx("args", deep), "context.args.a.a.a"),
        ("contains itself", cyclic, "context.args.context.args"),
        ("inline entity overrides", mutated(base, lambda r: r.__setitem__("entities", [{"type": "ToolGroup", "id": "ticketing"}])), "entities[0]: "),
        # As text.
        ("empty text", "", "the request is not valid JSON"),
        ("cut text", '{"principal":', "the request is not valid JSON"),
        ("text array", "[]", "a request is a JSON object"),
        ("text null", "null", "a request is a JSON object"),
        ("duplicate key", '{"action": "call_tool", "action": "call_tool"}', "action: "),
        ("text with surrogate", "\ud800", "the text is not valid Unicode"),
        ("bytes not UTF-8", b"\xff\xfe", "the JSON text is not UTF-8"),
        ("too long", "{" + " " * (2 << 20) + "}", ""),
    ]


@pytest.fixture()
def base() -> dict:
    return json.loads(read(AGENT_EXAMPLE / "request.json"))


def test_every_malformed_request_denies_with_its_path(engine: writ.Engine, entities: writ.Entities, base: dict) -> None:
    for name, request, start in cases(base):
        d = engine.decide(request, entities)
        assert_bad_request(d, start)
        if isinstance(request, (dict, str)):
            # The same through decide_many, and with an explanation asked for.
            assert engine.decide_many([request], entities)[0].to_dict() == d.to_dict(), name
            assert engine.decide(request, entities, explain=True).to_dict() == d.to_dict(), name


def test_bad_entities_argument_is_a_type_error(engine: writ.Engine, base: dict) -> None:
    with pytest.raises(TypeError):
        engine.decide(base, entities=[])  # type: ignore[arg-type]


# Values of one JSON type, to put where a value of another was (never valid there).
OTHER = {
    str: [7, [], {}, True],  # (`None` is no intent, or an absent optional field)
    int: ["7", [7], {}, 7.5],
    bool: ["true", 1, []],
    list: [{}, "x", 0],
    dict: [[], "x", 0, False],
}


def leaves(value: Any, path: Path = ()) -> List[Path]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += leaves(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += leaves(v, path + (i,))
    return out


def json_path(path: Path) -> str:
    s = ""
    for step in path:
        s += f"[{step}]" if isinstance(step, int) else (f".{step}" if s else step)
    return s


def get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def test_mutated_requests(spec_policies: writ.PolicySet, base: dict) -> None:
    """A seeded stream of mutations of the example request: each is decided by both back
    ends, as a dict and as text, alike; a value of the wrong JSON type denies naming its
    path; a removed member is either optional or denied."""
    text_entities = read(AGENT_EXAMPLE / "entities.json")
    engines = [writ.Engine(spec_policies), writ.Engine(spec_policies, backend="interpreter")]
    stores = [e.entities(text_entities) for e in engines]
    rng = random.Random(19)
    paths = leaves(base)
    retyped = removed = 0
    for _ in range(600):
        path = rng.choice(paths)
        r = copy.deepcopy(base)
        parent, last = get(r, path[:-1]), path[-1]
        old = parent[last]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[last]
            kind = "removed"
        else:
            parent[last] = rng.choice(OTHER[type(old)])
            kind = "retyped"
        decisions = []
        for engine, store in zip(engines, stores):
            for form in (r, json.dumps(r)):
                decisions.append(engine.decide(form, store).to_dict())
        assert all(d == decisions[0] for d in decisions), (path, kind, decisions)
        d = engines[0].decide(r, stores[0])
        if kind == "retyped":
            retyped += 1
            at = json_path(path)
            assert_bad_request(d, "")
            message = d.errors[0].message
            # The error names the changed value, or the object holding it.
            assert any(message.startswith(json_path(path[:n]) + ":") for n in range(1, len(path) + 1)) or (
                message.startswith(at)
            ), (at, message)
        else:
            removed += 1
            if d.errors:
                assert_bad_request(d, "")
    assert retyped > 300 and removed > 100


@pytest.mark.parametrize("ident", ["bøt", "robot-🤖", "\u00e9" * 40, 'quote"and\\slash\n'])
def test_non_ascii_text_reads_alike_from_dicts_and_text(engine: writ.Engine, entities: writ.Entities, base: dict, ident: str) -> None:
    # Strings are read without a copy (their UTF-8 form, borrowed from the `str`): an
    # identifier with non-ASCII characters or characters JSON escapes reaches the decoder
    # intact, the same from a dict, from `str` JSON and from `bytes` JSON.
    request = mutated(base, lambda r: r["principal"].__setitem__("id", ident))
    text = json.dumps(request, ensure_ascii=False)
    decisions = [engine.decide(request, entities), engine.decide(text, entities), engine.decide(text.encode(), entities)]
    for d in decisions:
        assert_bad_request(d, "principal: unknown entity")
        assert ident.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") in d.errors[0].message or ident in d.errors[0].message
    assert decisions[0].to_dict() == decisions[1].to_dict() == decisions[2].to_dict()
