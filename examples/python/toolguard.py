"""A tool-call guard for a Python agent loop.

Every tool function an agent may call is wrapped by ``ToolGuard.tool``: before the function
runs, the call is authorized against the Writ policies (principal: the agent; action:
``call_tool``; resource: the tool; context: the host's facts plus what the tool's arguments
say). The function runs only on an allow. A deny raises ``ToolCallRefused`` (a
``PermissionError``: tell the model, do not retry). An escalate raises ``ApprovalRequired``:
show ``exc.prompt()`` to a person, and on their yes call ``exc.approve(by="their id")``,
which decides the same call again with the approval in its context and, if it is now
allowed, runs the tool and returns its result.

    guard = ToolGuard(engine, entities, principal=("Agent", "helpdesk-bot"),
                      context=lambda: {"now": now_utc(), "risk": risk_engine.score()})

    @guard.tool("email.send", context=lambda to, subject, body: {"recipient": to})
    def send_email(to: str, subject: str, body: str) -> str: ...

Async tool functions work the same way (``await exc.approve(...)`` for them).
"""

from __future__ import annotations

import datetime
import functools
import inspect
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar, Union

import writ

F = TypeVar("F", bound=Callable[..., Any])
EntityRef = Union[Tuple[str, str], Mapping[str, str]]


def _ref(entity: EntityRef) -> Dict[str, str]:
    if isinstance(entity, tuple):
        return {"type": entity[0], "id": entity[1]}
    return {"type": entity["type"], "id": entity["id"]}


class ToolCallRefused(PermissionError):
    """The policies deny this tool call. ``decision`` says why (``decision.reasons``,
    ``decision.errors`` for a call the engine could not decode)."""

    def __init__(self, tool: str, decision: writ.Decision) -> None:
        self.tool = tool
        self.decision = decision
        super().__init__(f"tool `{tool}` refused: {self.reason}")

    @property
    def reason(self) -> str:
        """The deciding rules' messages (or ids), or the decoding error."""
        if self.decision.errors:
            return "; ".join(e.message for e in self.decision.errors)
        return "; ".join(r.message or r.rule for r in self.decision.reasons)


class ApprovalRequired(Exception):
    """The policies escalate this tool call: a person's approval may allow it.

    ``prompt()`` is a question to show a person; ``approve(by=...)`` decides the call again
    with ``approved`` and ``approved_by`` in its context and runs the tool if allowed (it
    raises ``ToolCallRefused`` if the policies still refuse, e.g. the approver is not
    cleared for the tool)."""

    def __init__(self, tool: str, call: str, decision: writ.Decision, resume: Callable[[str], Any]) -> None:
        self.tool = tool
        self.call = call
        self.decision = decision
        self._resume = resume
        super().__init__(f"tool `{tool}` needs a human approval: {self.reason}")

    @property
    def reason(self) -> str:
        """The escalating rules' messages."""
        return "; ".join(r.message or r.rule for r in self.decision.reasons if r.effect == "escalate")

    def prompt(self) -> str:
        return f"The agent wants to run {self.call}.\n{self.reason}.\nApprove?"

    def approve(self, by: str) -> Any:
        """Runs the call as approved by the person ``by`` (an id of the approver type)."""
        return self._resume(by)


class ToolGuard:
    """Authorizes tool calls of one agent against a Writ engine.

    ``principal``: the agent, ``(type, id)`` or ``{"type", "id"}``. ``context``: the host's
    facts for every call (a dict, or a function returning one, called per call: the time,
    the risk score). ``intent``: the task the agent declared, if the policies use intents.
    ``on_behalf_of``: the people the agent acts for. ``on_decision(tool, decision)``: called
    with every decision (an audit log). Tools are entities of type ``tool_type``, the
    action is ``action``, approvers are entities of type ``approver_type``.
    """

    def __init__(
        self,
        engine: writ.Engine,
        entities: writ.Entities,
        principal: EntityRef,
        *,
        context: Union[Mapping[str, Any], Callable[[], Mapping[str, Any]], None] = None,
        intent: Optional[str] = None,
        on_behalf_of: Tuple[EntityRef, ...] = (),
        on_decision: Optional[Callable[[str, writ.Decision], None]] = None,
        action: str = "call_tool",
        tool_type: str = "Tool",
        approver_type: str = "Human",
    ) -> None:
        self.engine = engine
        self.entities = entities
        self.principal = _ref(principal)
        self.context = context
        self.intent = intent
        self.on_behalf_of = [_ref(p) for p in on_behalf_of]
        self.on_decision = on_decision
        self.action = action
        self.tool_type = tool_type
        self.approver_type = approver_type

    def request(self, tool: str, extra: Mapping[str, Any], approver: Optional[str] = None) -> Dict[str, Any]:
        """The request for one call of ``tool``; ``extra`` is what its arguments add to the
        context."""
        base = self.context() if callable(self.context) else (self.context or {})
        context: Dict[str, Any] = {"now": datetime.datetime.now(datetime.timezone.utc), **base, **extra}
        if approver is not None:
            context["approved"] = True
            context["approved_by"] = {"type": self.approver_type, "id": approver}
        request: Dict[str, Any] = {
            "principal": self.principal,
            "action": self.action,
            "resource": {"type": self.tool_type, "id": tool},
            "context": context,
        }
        if self.intent is not None:
            request["intent"] = self.intent
        if self.on_behalf_of:
            request["on_behalf_of"] = self.on_behalf_of
        return request

    def authorize(
        self, tool: str, extra: Mapping[str, Any], approver: Optional[str] = None, *, call: str = "", resume: Any = None
    ) -> writ.Decision:
        """Decides one call; returns the allow, raises ``ApprovalRequired`` or
        ``ToolCallRefused`` otherwise."""
        decision = self.engine.decide(self.request(tool, extra, approver), self.entities)
        if self.on_decision is not None:
            self.on_decision(tool, decision)
        if decision.verdict is writ.Verdict.ALLOW:
            return decision
        if decision.verdict is writ.Verdict.ESCALATE and approver is None and resume is not None:
            raise ApprovalRequired(tool, call or tool, decision, resume)
        raise ToolCallRefused(tool, decision)

    def tool(self, name: str, *, context: Optional[Callable[..., Mapping[str, Any]]] = None) -> Callable[[F], F]:
        """Decorates a tool function: each call is authorized as tool ``name`` before it
        runs. ``context`` maps the call's arguments to the context fields the policies
        read (it takes the function's arguments)."""

        def decorate(fn: F) -> F:
            def extra(args: tuple, kwargs: dict) -> Mapping[str, Any]:
                return context(*args, **kwargs) if context is not None else {}

            def describe(args: tuple, kwargs: dict) -> str:
                shown = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
                return f"{name}({', '.join(shown)})"

            if inspect.iscoroutinefunction(fn):

                @functools.wraps(fn)
                async def guarded_async(*args: Any, **kwargs: Any) -> Any:
                    async def resume(by: str) -> Any:
                        self.authorize(name, extra(args, kwargs), by)
                        return await fn(*args, **kwargs)

                    self.authorize(name, extra(args, kwargs), call=describe(args, kwargs), resume=resume)
                    return await fn(*args, **kwargs)

                guarded_async.tool_name = name  # type: ignore[attr-defined]
                return guarded_async  # type: ignore[return-value]

            @functools.wraps(fn)
            def guarded(*args: Any, **kwargs: Any) -> Any:
                def resume(by: str) -> Any:
                    self.authorize(name, extra(args, kwargs), by)
                    return fn(*args, **kwargs)

                self.authorize(name, extra(args, kwargs), call=describe(args, kwargs), resume=resume)
                return fn(*args, **kwargs)

            guarded.tool_name = name  # type: ignore[attr-defined]
            return guarded  # type: ignore[return-value]

        return decorate


__all__ = ["ApprovalRequired", "ToolCallRefused", "ToolGuard"]
