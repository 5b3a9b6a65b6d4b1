"""A toy agent loop whose tool calls go through the Writ guard.

The "model" here is a scripted plan (a real loop would get the next tool call from an
LLM); the loop runs each call through the guarded tool functions, asks a person when the
policies escalate, and feeds refusals back to the model as the tool's result.

    python examples/python/agent_loop.py            # asks you on each escalation
    python examples/python/agent_loop.py --yes dana # approves everything as dana
    python examples/python/agent_loop.py --no       # declines everything
"""

from __future__ import annotations

import argparse
import datetime
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import writ
from toolguard import ApprovalRequired, ToolCallRefused, ToolGuard

HERE = Path(__file__).resolve().parent
POLICIES = HERE / "policies"

# What the "model" asks for, in order.
PLAN: List[Tuple[str, Dict[str, Any]]] = [
    ("docs_search", {"query": "refund policy"}),
    ("send_email", {"to": "sam@acme.example", "subject": "Ticket 4411", "body": "Looking into it."}),
    ("refund", {"order_id": "A-1001", "amount": 40}),
    ("refund", {"order_id": "A-1002", "amount": 450}),
    ("send_email", {"to": "customer@example.com", "subject": "Your refund", "body": "Done."}),
    ("refund", {"order_id": "A-1003", "amount": 25000}),
    ("delete_repo", {"name": "acme/legacy"}),
]


def build(
    risk: Callable[[], int] = lambda: 10,
    intent: Optional[str] = None,
    now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.timezone.utc),
    on_decision: Optional[Callable[[str, writ.Decision], None]] = None,
) -> Tuple[ToolGuard, Dict[str, Callable[..., Any]], List[str]]:
    """The guard, the guarded tools by name, and the log of what the tools really did."""
    engine = writ.Engine(writ.PolicySet.load(POLICIES))
    entities = engine.entities((POLICIES / "entities.json").read_text())
    guard = ToolGuard(
        engine,
        entities,
        principal=("Agent", "helpdesk-bot"),
        context=lambda: {"now": now(), "risk": risk()},
        intent=intent,
        on_decision=on_decision,
    )
    done: List[str] = []

    @guard.tool("docs.search")
    def docs_search(query: str) -> str:
        done.append(f"searched {query!r}")
        return f"3 articles about {query}"

    @guard.tool("email.send", context=lambda to, subject, body: {"recipient": to})
    def send_email(to: str, subject: str, body: str) -> str:
        done.append(f"mailed {to}")
        return "sent"

    @guard.tool("payments.refund", context=lambda order_id, amount: {"amount": amount})
    def refund(order_id: str, amount: int) -> str:
        done.append(f"refunded {amount} on {order_id}")
        return "refunded"

    @guard.tool("repo.delete")
    def delete_repo(name: str) -> str:
        done.append(f"deleted {name}")
        return "deleted"

    tools = {"docs_search": docs_search, "send_email": send_email, "refund": refund, "delete_repo": delete_repo}
    return guard, tools, done


def run_agent(
    plan: List[Tuple[str, Dict[str, Any]]],
    tools: Dict[str, Callable[..., Any]],
    ask_human: Callable[[ApprovalRequired], Optional[str]],
) -> List[Tuple[str, str, str]]:
    """Runs the plan; returns the transcript: (tool, outcome, what the model is told)."""
    transcript = []
    for name, kwargs in plan:
        try:
            transcript.append((name, "ok", str(tools[name](**kwargs))))
        except ApprovalRequired as e:
            approver = ask_human(e)
            if approver is None:
                transcript.append((name, "declined", "a person declined this call"))
                continue
            try:
                transcript.append((name, f"approved by {approver}", str(e.approve(by=approver))))
            except ToolCallRefused as refused:
                transcript.append((name, "refused after approval", refused.reason))
        except ToolCallRefused as e:
            transcript.append((name, "refused", e.reason))
    return transcript


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--yes", metavar="APPROVER", help="approve every escalation as this person")
    parser.add_argument("--no", action="store_true", help="decline every escalation")
    args = parser.parse_args()

    def ask(e: ApprovalRequired) -> Optional[str]:
        if args.no:
            return None
        if args.yes:
            return args.yes
        answer = input(f"{e.prompt()} [name of approver / empty to decline] ").strip()
        return answer or None

    # A weekday morning, so the example runs the same on any day.
    _, tools, done = build(now=lambda: datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.timezone.utc))
    for tool, outcome, told in run_agent(PLAN, tools, ask):
        print(f"{tool:12} {outcome:24} {told}")
    print("\nwhat the tools did:", *done, sep="\n  ")


if __name__ == "__main__":
    main()
