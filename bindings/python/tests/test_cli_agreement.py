"""The binding decides every example request exactly as the `writ eval` command does:
every `request.json` and `requests/*.json` under `examples/*/` with the directory's
`entities.json`, on both back ends, as a dict and as text, with and without `--explain`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import writ
from writ_pytest_support import EXAMPLES, read


def example_requests() -> List[Tuple[Path, Path]]:
    out = []
    for d in sorted(p for p in EXAMPLES.iterdir() if p.is_dir()):
        if not (d / "entities.json").exists():
            continue
        files = ([d / "request.json"] if (d / "request.json").exists() else []) + sorted((d / "requests").glob("*.json"))
        out += [(d, f) for f in files]
    return out


REQUESTS = example_requests()


def no_duplicates(pairs: List[Tuple[str, Any]]) -> Dict[str, Any]:
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key")
    return dict(pairs)


def as_dict(text: str) -> Optional[Any]:
    """The request as Python data, when JSON text and data mean the same (no duplicate keys)."""
    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except ValueError:
        return None


@pytest.fixture(scope="module")
def engines() -> Dict[Tuple[Path, str], Tuple[writ.Engine, writ.Entities]]:
    out = {}
    for d in {d for d, _ in REQUESTS}:
        policies = writ.PolicySet.load(d)
        for backend in ("jit", "interpreter"):
            engine = writ.Engine(policies, backend="auto" if backend == "jit" else backend)
            out[(d, backend)] = (engine, engine.entities(read(d / "entities.json")))
    return out


def test_every_example_has_requests() -> None:
    dirs = {d.name for d, _ in REQUESTS}
    assert {"spec", "support-agent", "delegation", "human-approval", "ci-secrets", "anomaly"} <= dirs
    assert len(REQUESTS) >= 90


@pytest.mark.parametrize("backend", ["jit", "interpreter"])
@pytest.mark.parametrize("explain", [False, True], ids=["plain", "explain"])
@pytest.mark.parametrize("directory,request_file", REQUESTS, ids=[f"{d.name}/{f.name}" for d, f in REQUESTS])
def test_agrees_with_the_cli(
    writ_cli: str,
    engines: Dict[Tuple[Path, str], Tuple[writ.Engine, writ.Entities]],
    directory: Path,
    request_file: Path,
    backend: str,
    explain: bool,
) -> None:
    cmd = [
        writ_cli,
        "eval",
        str(directory),
        "--request",
        str(request_file),
        "--entities",
        str(directory / "entities.json"),
        "--engine",
        "jit" if backend == "jit" else "interp",
    ] + (["--explain"] if explain else [])
    cli = subprocess.run(cmd, capture_output=True, text=True, check=True)
    expected = json.loads(cli.stdout)
    engine, entities = engines[(directory, backend)]
    text = read(request_file)
    got = engine.decide(text, entities, explain=explain)
    assert got.to_dict() == expected
    assert got.to_json() == cli.stdout.rstrip("\n")
    assert got.verdict == expected["decision"]
    data = as_dict(text)
    if data is not None:
        assert engine.decide(data, entities, explain=explain).to_dict() == expected
