"""The tool-call guard: a tool function runs only when the policies allow the call."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any, List, Tuple

import pytest

import writ
from agent_loop import PLAN, build, run_agent
from toolguard import ApprovalRequired, ToolCallRefused, ToolGuard


def test_allowed_calls_run() -> None:
    _, tools, done = build()
    assert tools["docs_search"]("refund policy") == "3 articles about refund policy"
    assert tools["send_email"]("sam@acme.example", "hi", "...") == "sent"
    assert tools["refund"]("A-1", 100) == "refunded"
    assert done == ["searched 'refund policy'", "mailed sam@acme.example", "refunded 100 on A-1"]
    assert tools["refund"].tool_name == "payments.refund"
    assert tools["refund"].__name__ == "refund"


def test_escalation_waits_for_a_person() -> None:
    _, tools, done = build()
    with pytest.raises(ApprovalRequired) as e:
        tools["send_email"](to="customer@example.com", subject="hi", body="...")
    assert done == []  # nothing ran
    assert e.value.tool == "email.send"
    assert e.value.decision.verdict is writ.Verdict.ESCALATE
    assert e.value.reason == "email to outside acme.example needs a human approval"
    assert "email.send(to='customer@example.com', subject='hi', body='...')" in e.value.prompt()
    assert e.value.approve(by="dana") == "sent"
    assert done == ["mailed customer@example.com"]


def test_an_approval_has_limits() -> None:
    _, tools, done = build()
    with pytest.raises(ApprovalRequired) as e:
        tools["refund"]("A-2", 450)
    # The intern is not cleared for the billing tool: the approval does not count.
    with pytest.raises(ToolCallRefused) as refused:
        e.value.approve(by="intern")
    assert refused.value.reason == "an approval must come from a person cleared for the tool"
    # An approver the store does not know is bad input: refused, naming the path.
    with pytest.raises(ToolCallRefused) as refused:
        e.value.approve(by="mallory")
    assert refused.value.decision.errors[0].message.startswith("context.approved_by: ")
    assert done == []
    assert e.value.approve(by="dana") == "refunded"
    # Above the ceiling no approval helps: a plain refusal, no escalation.
    with pytest.raises(ToolCallRefused) as refused:
        tools["refund"]("A-3", 25000)
    assert not isinstance(refused.value, ApprovalRequired)
    assert [r.rule for r in refused.value.decision.reasons] == ["refund-ceiling"]
    assert done == ["refunded 450 on A-2"]


def test_high_risk_refuses_everything() -> None:
    _, tools, done = build(risk=lambda: 85)
    for name, kwargs in PLAN:
        with pytest.raises(ToolCallRefused):
            tools[name](**kwargs)
    assert done == []


def test_the_intent_keeps_the_agent_on_its_task() -> None:
    # Deleting a repository is no part of answering a ticket: refused outright, nobody asked.
    _, tools, done = build(intent="answer_ticket")
    with pytest.raises(ToolCallRefused) as e:
        tools["delete_repo"]("acme/legacy")
    assert e.value.decision.reasons[0].rule == "outside-intent:answer_ticket"
    assert tools["docs_search"]("x") == "3 articles about x"
    # Without an intent the same call escalates.
    _, tools, _ = build()
    with pytest.raises(ApprovalRequired):
        tools["delete_repo"]("acme/legacy")


def test_unknown_tools_are_refused() -> None:
    guard, _, _ = build()

    @guard.tool("shell.exec")
    def run(cmd: str) -> str:
        raise AssertionError("must not run")

    with pytest.raises(ToolCallRefused) as e:
        run("rm -rf /")
    assert "shell.exec" in e.value.reason
    assert e.value.decision.errors[0].rule == "bad-request"


def test_async_tools() -> None:
    guard, _, _ = build()
    ran: List[int] = []

    @guard.tool("payments.refund", context=lambda order_id, amount: {"amount": amount})
    async def refund(order_id: str, amount: int) -> str:
        ran.append(amount)
        return "refunded"

    async def main() -> Tuple[str, str]:
        first = await refund("A", 10)
        try:
            await refund("B", 500)
        except ApprovalRequired as e:
            return first, await e.approve(by="dana")
        raise AssertionError("no escalation")

    assert asyncio.run(main()) == ("refunded", "refunded")
    assert ran == [10, 500]


def test_every_decision_is_audited() -> None:
    log: List[Tuple[str, Any]] = []
    _, tools, _ = build(on_decision=lambda tool, d: log.append((tool, d.verdict, d.obligations.get("ttl"))))
    tools["docs_search"]("x")
    with pytest.raises(ApprovalRequired):
        tools["delete_repo"]("acme/x")
    assert log == [
        ("docs.search", writ.Verdict.ALLOW, datetime.timedelta(minutes=5)),
        ("repo.delete", writ.Verdict.ESCALATE, None),
    ]


def test_the_agent_loop() -> None:
    asked: List[str] = []

    def ask(e: ApprovalRequired) -> Any:
        asked.append(e.tool)
        return None if e.tool == "repo.delete" else "dana"

    _, tools, done = build()
    transcript = run_agent(PLAN, tools, ask)
    assert [(tool, outcome) for tool, outcome, _ in transcript] == [
        ("docs_search", "ok"),
        ("send_email", "ok"),
        ("refund", "ok"),
        ("refund", "approved by dana"),
        ("send_email", "approved by dana"),
        ("refund", "refused"),
        ("delete_repo", "declined"),
    ]
    assert asked == ["payments.refund", "email.send", "repo.delete"]
    assert transcript[5][2] == "refunds over 10000 are not made by agents"
    assert done == [
        "searched 'refund policy'",
        "mailed sam@acme.example",
        "refunded 40 on A-1001",
        "refunded 450 on A-1002",
        "mailed customer@example.com",
    ]


def test_a_guard_takes_a_fixed_context_and_delegation() -> None:
    engine = writ.Engine(writ.PolicySet.from_sources({"p.writ": POLICY}))
    entities = engine.entities(
        [{"type": "Agent", "id": "a"}, {"type": "Human", "id": "h"}, {"type": "Tool", "id": "t"}]
    )
    guard = ToolGuard(engine, entities, {"type": "Agent", "id": "a"}, context={"risk": 1}, on_behalf_of=(("Human", "h"),))

    @guard.tool("t")
    def t() -> int:
        return 1

    assert t() == 1
    assert guard.request("t", {})["on_behalf_of"] == [{"type": "Human", "id": "h"}]


POLICY = """
schema {
  entity Agent  entity Human  entity Tool
  context { now: Timestamp, risk: Int }
  action call_tool: Agent | Human -> Tool
}
@id("all") permit * to call_tool on Tool when context.risk < 5;
"""
