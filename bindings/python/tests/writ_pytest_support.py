"""Paths and helpers shared by the test modules (a module of its own, not `conftest`, so
that it does not clash with another directory's `conftest` when pytest runs both)."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
EXAMPLES = REPO / "examples"
AGENT_EXAMPLE = EXAMPLES / "spec"


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")
