"""One engine shared by threads: decisions agree with the single-threaded ones, and
entity updates from another thread are seen whole (before or after, never half)."""

from __future__ import annotations

import copy
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import writ
from writ_pytest_support import AGENT_EXAMPLE, read


def requests(base: dict) -> list:
    out = []
    for day, risk in [("23", 12), ("28", 12), ("23", 60), ("23", 90), ("24", 49)]:
        r = copy.deepcopy(base)
        r["context"]["now"] = f"2026-11-{day}T10:15:00Z"
        r["context"]["risk"] = risk
        out.append(r)
    out.append("{not json")
    return out


def test_threads_share_an_engine(engine: writ.Engine, entities: writ.Entities, spec_request: dict) -> None:
    reqs = requests(spec_request)
    expected = [engine.decide(r, entities).to_dict() for r in reqs]
    assert [e["decision"] for e in expected] == ["allow", "deny", "deny", "deny", "allow", "deny"]

    def work(seed: int) -> int:
        n = 0
        for i in range(300):
            k = (seed + i) % len(reqs)
            form = reqs[k] if i % 2 else (json.dumps(reqs[k]) if isinstance(reqs[k], dict) else reqs[k])
            assert engine.decide(form, entities).to_dict() == expected[k]
            n += 1
        many = engine.decide_many(reqs, entities)
        assert [d.to_dict() for d in many] == expected
        return n

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(work, range(16))) == 16 * 300


def test_updates_while_deciding(engine: writ.Engine, spec_request: dict) -> None:
    """A writer flips the tool between harmless and destructive while readers decide: each
    decision is the allow of one state or the escalate of the other."""
    entities = engine.entities(read(AGENT_EXAMPLE / "entities.json"))
    tool = {
        "type": "Tool",
        "id": "jira.comment",
        "attrs": {"sensitivity": "public", "destructive": False},
        "parents": [{"type": "ToolGroup", "id": "ticketing"}],
    }
    destructive = copy.deepcopy(tool)
    destructive["attrs"]["destructive"] = True
    stop = threading.Event()
    seen: set = set()
    errors: list = []

    def writer() -> None:
        for i in range(400):
            entities.upsert(destructive if i % 2 else tool)
        entities.upsert(tool)
        stop.set()

    def reader() -> None:
        try:
            n = 0
            while not stop.is_set() or n < 50:
                d = engine.decide(spec_request, entities)
                seen.add(d.verdict)
                assert d.verdict in (writ.Verdict.ALLOW, writ.Verdict.ESCALATE), d.to_dict()
                assert d.errors == []
                n += 1
                if n > 100_000:
                    break
        except AssertionError as e:  # reported to the main thread
            errors.append(e)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert writ.Verdict.ALLOW in seen
    assert len(entities) == 5
    assert engine.decide(spec_request, entities).allowed


def test_an_engine_is_usable_from_a_thread_that_did_not_make_it(spec_policies: writ.PolicySet, spec_request: dict) -> None:
    made: dict = {}

    def build() -> None:
        engine = writ.Engine(spec_policies)
        made["engine"] = engine
        made["entities"] = engine.entities(read(AGENT_EXAMPLE / "entities.json"))

    t = threading.Thread(target=build)
    t.start()
    t.join()
    assert made["engine"].decide(spec_request, made["entities"]).allowed
