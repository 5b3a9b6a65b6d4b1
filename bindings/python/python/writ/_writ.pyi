"""Type stubs of the native module ``writ._writ`` (re-exported by ``writ``)."""

import datetime
import os
from typing import Any, Dict, Iterable, List, Literal, Mapping, Optional, Union

from ._types import Diagnostic, Verdict

__version__: str

JsonValue = Any
"""A value as ``json.loads`` gives it (``dict``, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``); in requests and entities also a timezone-aware ``datetime``, a
``timedelta`` and ``ipaddress`` objects."""

Request = Union[Mapping[str, JsonValue], str, bytes]
"""A request: a dict, or its JSON text."""

EntityData = Union[Mapping[str, JsonValue], List[Mapping[str, JsonValue]], str, bytes]
"""Entities: one entity dict, a list of them, or JSON text."""

class PolicySet:
    """A checked policy set."""

    @staticmethod
    def load(path: Union[str, "os.PathLike[str]"]) -> "PolicySet":
        """Loads and checks every ``*.writ`` file under a directory (or one file).

        Raises ``writ.CompileError``."""
    @staticmethod
    def from_sources(sources: Mapping[str, str]) -> "PolicySet":
        """Checks a policy set given as ``{file name: text}``. Raises ``writ.CompileError``."""
    @property
    def version(self) -> str:
        """A content hash of the sources (32 hex digits)."""
    @property
    def rule_ids(self) -> List[str]:
        """The rule ids, in rule order."""
    @property
    def warnings(self) -> List[Diagnostic]:
        """The warnings of the set."""

class Engine:
    """A decision engine for one policy set; safe to share between threads."""

    def __init__(
        self,
        policies: PolicySet,
        backend: Literal["auto", "jit", "interpreter"] = "auto",
        *,
        allow_inline_override: bool = False,
        allow_request_ip_ranges: bool = False,
        compile_threads: int = 0,
    ) -> None: ...
    def entities(self, data: Optional[EntityData] = None) -> "Entities":
        """Decodes an entity store. Raises ``writ.EntityError``."""
    def decide(self, request: Request, entities: Optional["Entities"] = None, *, explain: bool = False) -> "Decision":
        """Decides one request; bad input is a deny naming the JSON path, never an exception."""
    def decide_many(
        self, requests: Iterable[Request], entities: Optional["Entities"] = None, *, explain: bool = False
    ) -> List["Decision"]:
        """Decides many requests, releasing the GIL once."""
    @property
    def backend(self) -> Literal["jit", "interpreter"]: ...
    @property
    def fallback(self) -> Optional[str]: ...
    @property
    def policy_version(self) -> str: ...
    @property
    def policies(self) -> PolicySet: ...

class Entities:
    """The entity store of one engine, updated in place."""

    def upsert(self, data: EntityData) -> None:
        """Adds or replaces entities, all or nothing. Raises ``writ.EntityError``."""
    def remove(self, type: str, id: str) -> bool:
        """Removes ``type::id``; ``False`` if absent. Raises ``writ.EntityError``."""
    def __len__(self) -> int: ...

class Reason:
    """A rule (or built-in step) that decided."""

    @property
    def rule(self) -> str: ...
    @property
    def effect(self) -> Literal["permit", "forbid", "escalate", "deny"]: ...
    @property
    def message(self) -> Optional[str]: ...
    @property
    def file(self) -> Optional[str]: ...
    @property
    def line(self) -> Optional[int]: ...
    @property
    def on_behalf_of(self) -> Optional[Dict[str, str]]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class RuleError:
    """A rule that failed closed, or ``bad-request``."""

    @property
    def rule(self) -> str: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> Dict[str, str]: ...

class Decision:
    """The answer to one request."""

    @property
    def verdict(self) -> Verdict: ...
    @property
    def allowed(self) -> bool: ...
    @property
    def reasons(self) -> List[Reason]: ...
    @property
    def obligations(self) -> Dict[str, Union[datetime.timedelta, List[JsonValue]]]: ...
    @property
    def errors(self) -> List[RuleError]: ...
    @property
    def explain(self) -> Optional[Dict[str, Any]]: ...
    @property
    def policy_version(self) -> Optional[str]: ...
    @property
    def backend(self) -> Optional[Literal["jit", "interpreter"]]: ...
    def to_dict(self) -> Dict[str, Any]:
        """The decision JSON (as ``writ eval`` prints it) as a dict."""
    def to_json(self) -> str:
        """The decision JSON as text."""
