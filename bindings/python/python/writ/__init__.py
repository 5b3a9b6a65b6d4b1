"""Writ: runtime authorization policies for AI agents, service accounts and CI jobs.

Load and check a policy set once, build an engine (native code by default), decode the
entity store, and decide requests, from dicts or JSON text::

    import writ

    policies = writ.PolicySet.load("examples/spec")
    engine = writ.Engine(policies)
    entities = engine.entities(open("examples/spec/entities.json").read())
    decision = engine.decide(request_dict, entities)
    if decision.verdict is writ.Verdict.ALLOW:
        ...

Bad requests never raise: they are denied, with the JSON path in ``decision.errors``.
``writ.CompileError`` carries the diagnostics of a policy set that does not check.
"""

from ._types import BackendError, CompileError, Diagnostic, EntityError, Error, Verdict
from ._writ import Decision, Engine, Entities, PolicySet, Reason, RuleError, __version__

__all__ = [
    "BackendError",
    "CompileError",
    "Decision",
    "Diagnostic",
    "Engine",
    "Entities",
    "EntityError",
    "Error",
    "PolicySet",
    "Reason",
    "RuleError",
    "Verdict",
    "__version__",
]
