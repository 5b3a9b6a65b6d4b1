"""Shared fixtures: the repository's examples, and the `writ` command for agreement tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import writ
from writ_pytest_support import AGENT_EXAMPLE, REPO, read


@pytest.fixture(scope="session")
def spec_policies() -> writ.PolicySet:
    return writ.PolicySet.load(AGENT_EXAMPLE)


@pytest.fixture(scope="session", params=["auto", "interpreter"])
def engine(request: pytest.FixtureRequest, spec_policies: writ.PolicySet) -> writ.Engine:
    """The example's engine, on each back end."""
    return writ.Engine(spec_policies, backend=request.param)


@pytest.fixture()
def entities(engine: writ.Engine) -> writ.Entities:
    """A fresh store per test (tests update it)."""
    return engine.entities(read(AGENT_EXAMPLE / "entities.json"))


@pytest.fixture()
def spec_request() -> dict:
    return json.loads(read(AGENT_EXAMPLE / "request.json"))


@pytest.fixture(scope="session")
def writ_cli() -> str:
    """The `writ` command: `$WRIT_CLI`, else `writ` on the PATH, else built with cargo."""
    given = os.environ.get("WRIT_CLI")
    if given:
        return given
    found = shutil.which("writ")
    if found:
        return found
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    subprocess.run(["cargo", "build", "-q", "-p", "writ-cli"], cwd=REPO, check=True)
    return str(target / "debug" / "writ")
