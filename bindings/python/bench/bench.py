"""Time per decision from Python: Writ's `engine.decide(dict)` and `decide(json_str)` on
the example agent request (examples/spec: an agent calls a tool on behalf of a person),
against cedarpy on the same scenario (benches/compare/scenarios/agent-tool-call/cedar), in
one process, plus the Rust decision alone (a loop inside the extension) to show what the
binding adds.

    python bindings/python/bench/bench.py [--seconds 1.0] [--json out.json]

Needs the binding (a release build: `maturin develop --release` or `pip install
./bindings/python`) and `pip install cedarpy`. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import json
import platform
import statistics
import sys
import timeit
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import writ

ROOT = Path(__file__).resolve().parents[3]
AGENT_EXAMPLE = ROOT / "examples" / "spec"
CEDAR = ROOT / "benches" / "compare" / "scenarios" / "agent-tool-call" / "cedar"


def measure(fn: Callable[[], Any], seconds: float, repeats: int = 7) -> Tuple[float, float]:
    """(median, best) nanoseconds per call over `repeats` runs of about `seconds`/`repeats` each."""
    timer = timeit.Timer(fn)
    n, t = timer.autorange()
    per_run = max(1, int(n * (seconds / repeats) / max(t, 1e-9)))
    runs = [timer.timeit(per_run) / per_run * 1e9 for _ in range(repeats)]
    return statistics.median(runs), min(runs)


def cedar_side(request: dict) -> Tuple[Any, Callable[[], bool], Callable[[], bool]]:
    """cedarpy's version, `prepared` (policies, schema, entities parsed once into handles,
    the requests built once) and `text` (everything passed as text, as cedarpy's first
    example does). One Writ request with an `on_behalf_of` chain is one Cedar request per
    principal (agent, then the person): allowed when all are."""
    import cedarpy

    schema_text = (CEDAR / "schema.cedarschema").read_text()
    policies_text = (CEDAR / "policies.cedar").read_text()
    entities_text = (CEDAR / "entities.json").read_text()
    schema = cedarpy.Schema.from_str(schema_text)
    policies = cedarpy.PolicySet.from_str(policies_text)
    entities = cedarpy.Entities.from_json_str(entities_text, schema)
    ctx = dict(request["context"])
    now = datetime.datetime.fromisoformat(ctx["now"].replace("Z", "+00:00"))
    ctx["weekday"] = now.isoweekday()  # Cedar has no calendar: the host adds it
    if "intent" in request:
        ctx["intent"] = request["intent"]  # Cedar has no intents
    uid = lambda e: f'{e["type"]}::"{e["id"]}"'  # noqa: E731
    principals = [request["principal"]] + list(request.get("on_behalf_of", []))
    reqs = [
        {
            "principal": uid(p),
            "action": f'Action::"{request["action"]}"',
            "resource": uid(request["resource"]),
            "context": ctx,
        }
        for p in principals
    ]

    def prepared() -> bool:
        return all(r.allowed for r in cedarpy.is_authorized_batch(reqs, policies, entities, schema))

    def text() -> bool:
        return all(r.allowed for r in cedarpy.is_authorized_batch(reqs, policies_text, entities_text, schema_text))

    return cedarpy, prepared, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement (default 1 s)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()

    policies = writ.PolicySet.load(AGENT_EXAMPLE)
    entities_text = (AGENT_EXAMPLE / "entities.json").read_text()
    jit = writ.Engine(policies)
    interp = writ.Engine(policies, backend="interpreter")
    stores = {e: e.entities(entities_text) for e in (jit, interp)}
    allow = json.loads((AGENT_EXAMPLE / "request.json").read_text())
    deny = copy.deepcopy(allow)
    deny["context"]["now"] = "2026-11-28T10:15:00Z"  # a Saturday: no permit

    try:
        cedar_cases = {label: cedar_side(req) for label, req in (("allow", allow), ("deny", deny))}
        cedar_version = getattr(cedar_cases["allow"][0], "__version__", None) or _dist_version("cedarpy")
    except ImportError:
        cedar_cases, cedar_version = {}, None
        print("cedarpy is not installed: `pip install cedarpy` for the comparison", file=sys.stderr)

    rows: List[Dict[str, Any]] = []
    for label, req in (("allow", allow), ("deny", deny)):
        text = json.dumps(req)
        expect = label == "allow"
        # Same answers everywhere before anything is timed.
        for engine in (jit, interp):
            assert engine.decide(req, stores[engine]).allowed == expect
            assert engine.decide(text, stores[engine]).allowed == expect
        if cedar_cases:
            _, prepared, as_text = cedar_cases[label]
            assert prepared() == expect and as_text() == expect

        def row(what: str, fn: Callable[[], Any]) -> None:
            median, best = measure(fn, args.seconds)
            rows.append({"request": label, "what": what, "median_ns": median, "best_ns": best})

        store = stores[jit]
        # The Rust loop times itself: 7 runs, each of as many decisions as `--seconds` / 7 allows.
        per_run = max(1000, int(args.seconds / 7 / max(jit._rust_ns_per_decision(text, store, 1000), 1) * 1e9))
        rust = [jit._rust_ns_per_decision(text, store, per_run) for _ in range(7)]
        rows.append({"request": label, "what": "writ jit: Rust decide_json alone",
                     "median_ns": statistics.median(rust), "best_ns": min(rust)})
        row("writ jit: engine.decide(json_str)", lambda: jit.decide(text, store))
        row("writ jit: engine.decide(dict)", lambda: jit.decide(req, store))
        row("writ interpreter: engine.decide(dict)", lambda: interp.decide(req, stores[interp]))
        if cedar_cases:
            _, prepared, as_text = cedar_cases[label]
            row("cedarpy: is_authorized_batch, parsed handles", prepared)
            row("cedarpy: is_authorized_batch, policies as text", as_text)

    print(f"python {platform.python_version()} ({platform.machine()}), writ {writ.__version__} backend "
          f"{jit.backend}, cedarpy {cedar_version}")
    print()
    print("| request | what | median | best |")
    print("|---|---|---:|---:|")
    for r in rows:
        print(f"| {r['request']} | {r['what']} | {fmt(r['median_ns'])} | {fmt(r['best_ns'])} |")
    print()
    for label in ("allow", "deny"):
        by = {r["what"]: r["median_ns"] for r in rows if r["request"] == label}
        rust = by["writ jit: Rust decide_json alone"]
        text_ns, dict_ns = by["writ jit: engine.decide(json_str)"], by["writ jit: engine.decide(dict)"]
        line = f"{label}: binding overhead decide(json_str) {fmt(text_ns - rust)}, decide(dict) {fmt(dict_ns - rust)}"
        if cedar_cases:
            cedar = by["cedarpy: is_authorized_batch, parsed handles"]
            line += f"; cedarpy (handles) / writ decide(dict) = {cedar / dict_ns:.1f}x, / decide(json_str) = {cedar / text_ns:.1f}x"
        print(line)
    # The binding's overhead, measured on a busy machine: short runs of the three,
    # interleaved, many times; the fastest run of each is the one least disturbed.
    print()
    print("binding overhead, fastest of 25 interleaved runs of 5,000 calls each:")
    store = stores[jit]
    overhead: Dict[str, Dict[str, float]] = {}
    for label, req in (("allow", allow), ("deny", deny)):
        text = json.dumps(req)
        best = {"rust": float("inf"), "str": float("inf"), "dict": float("inf")}
        for _ in range(25):
            best["rust"] = min(best["rust"], jit._rust_ns_per_decision(text, store, 5000))
            best["str"] = min(best["str"], timeit.timeit(lambda: jit.decide(text, store), number=5000) / 5000 * 1e9)
            best["dict"] = min(best["dict"], timeit.timeit(lambda: jit.decide(req, store), number=5000) / 5000 * 1e9)
        overhead[label] = best
        print(f"  {label}: Rust {fmt(best['rust'])}, decide(json_str) {fmt(best['str'])} "
              f"(+{fmt(best['str'] - best['rust'])}), decide(dict) {fmt(best['dict'])} (+{fmt(best['dict'] - best['rust'])})")
    if args.json:
        args.json.write_text(json.dumps({"cedarpy": cedar_version, "rows": rows, "overhead": overhead}, indent=2))


def _dist_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001
        return "?"


def fmt(ns: float) -> str:
    return f"{ns / 1000:.2f} µs" if abs(ns) >= 1000 else f"{ns:.0f} ns"


if __name__ == "__main__":
    main()
