"""Pure-Python parts of the ``writ`` package: the verdict enum, diagnostics and exceptions.

The native module (``writ._writ``) creates these when it reports a decision or an error;
this module imports nothing from it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

__all__ = ["Verdict", "Diagnostic", "Error", "CompileError", "EntityError", "BackendError"]


class Verdict(str, enum.Enum):
    """The answer of a decision. A ``str`` enum: ``Verdict.ALLOW == "allow"``."""

    ALLOW = "allow"
    DENY = "deny"
    ESCALATE = "escalate"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Diagnostic:
    """A problem found in a policy set.

    ``line`` and ``column`` (and ``end_line``, ``end_column``) are **1-based**, and columns
    count characters, as Python indexes a ``str``. ``lsp`` is the same diagnostic in the
    language server's shape (zero-based lines, UTF-16 columns, labels), as
    ``writ check --format json`` prints it.
    """

    code: str
    severity: str
    message: str
    file: str
    line: int
    column: int
    end_line: int
    end_column: int
    label: str = ""
    notes: List[str] = field(default_factory=list)
    help: Optional[str] = None
    lsp: Dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.severity}[{self.code}]: {self.message}"


class Error(Exception):
    """The base of the exceptions ``writ`` raises."""


class CompileError(Error):
    """A policy set that does not load or check.

    ``diagnostics`` holds every ``Diagnostic`` (errors and warnings); ``str()`` is the
    report ``writ check`` prints, without colour; ``summary`` is one line naming the first
    error.
    """

    def __init__(self, rendered: str, diagnostics: List[Diagnostic], summary: str) -> None:
        super().__init__(rendered)
        self.rendered = rendered
        self.diagnostics = diagnostics
        self.summary = summary

    def __str__(self) -> str:
        return self.rendered

    @property
    def errors(self) -> List[Diagnostic]:
        """The diagnostics of severity ``error``."""
        return [d for d in self.diagnostics if d.severity == "error"]

    def __reduce__(self) -> Any:
        return (type(self), (self.rendered, self.diagnostics, self.summary))


class EntityError(Error, ValueError):
    """Entity data the schema does not take (``Engine.entities``, ``Entities.upsert``,
    ``Entities.remove``): ``path`` is the JSON path (``[0].attrs.clearance``, empty for the
    data as a whole), ``kind`` a stable name (``missing-field``, ``wrong-type``,
    ``unknown-entity``, ``malformed-json``, …), ``message`` the whole text.
    """

    def __init__(self, message: str, path: str, kind: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.kind = kind

    def __reduce__(self) -> Any:
        return (type(self), (self.message, self.path, self.kind))


class BackendError(Error, RuntimeError):
    """``Engine(..., backend="jit")`` on a policy set or machine the JIT cannot compile for."""
