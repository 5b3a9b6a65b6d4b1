"""End to end: a real MCP client session (the official `mcp` SDK) talks through `writ guard`
to the example ticketing server (examples/mcp-guard/server.py, also on the SDK). Checks what
the client saw and, in the server's call log, what reached the server.

`WRIT_BIN` names the `writ` binary (default: target/debug/writ of the workspace)."""

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, types
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parents[4]
EXAMPLE = ROOT / "examples" / "mcp-guard"


def writ_bin() -> str:
    if os.environ.get("WRIT_BIN"):
        return os.environ["WRIT_BIN"]
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return str(target / "debug" / "writ")


def decisions_path(log: Path) -> Path:
    """The guard's decision log next to the server's call log."""
    return log.with_name(log.name + ".decisions.jsonl")


def guard_params(log: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=writ_bin(),
        args=[
            "guard",
            "--policies", str(EXAMPLE / "policies"),
            "--entities", str(EXAMPLE / "entities.json"),
            "--config", str(EXAMPLE / "guard.toml"),
            "--decision-log", str(decisions_path(log)),
            "--", sys.executable, str(EXAMPLE / "server.py"),
        ],
        env={"MCP_GUARD_LOG": str(log)},
    )


def decisions(log: Path) -> list[tuple[str, str]]:
    """(tool, decision) of every line of the guard's decision log, after checking each line."""
    path = decisions_path(log)
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        d = json.loads(line)
        assert d["source"] == "guard" and d["mcp"]["method"] == "tools/call", d
        assert d["request"]["principal"] == {"type": "Agent", "id": "support-bot"}, d
        assert len(d["policy_version"]) == 32 and d["id"], d
        out.append((d["mcp"]["name"], d["decision"]))
    return out


def received(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines()]


def is_error(result) -> bool:
    return bool(getattr(result, "is_error", None) or getattr(result, "isError", None))


def text(result) -> str:
    return result.content[0].text


async def session_run(log: Path, body, answers: list[str] | None = None):
    """Runs `body(session, asked)` in a session through the guard. With `answers`, the
    client declares elicitation and answers each request with the next action."""
    asked: list[str] = []

    async def elicit(context, params):
        asked.append(params.message)
        action = answers.pop(0)
        return types.ElicitResult(action=action, content={} if action == "accept" else None)

    kwargs = {"elicitation_callback": elicit} if answers is not None else {}
    async with stdio_client(guard_params(log)) as (read, write):
        async with ClientSession(read, write, **kwargs) as session:
            await session.initialize()
            await body(session, asked)


def run(log: Path, body, answers=None):
    anyio.run(session_run, log, body, answers)


def test_lists_only_the_tools_the_policy_could_allow(tmp_path):
    async def body(session, _):
        tools = await session.list_tools()
        names = sorted(t.name for t in tools.tools)
        # `get_secret` is outside the `triage_ticket` intent: no permit could allow it.
        assert names == ["comment_ticket", "delete_ticket", "read_ticket"]

    run(tmp_path / "log", body)
    # Listing decides nothing.
    assert decisions(tmp_path / "log") == []


def test_allowed_calls_reach_the_server(tmp_path):
    log = tmp_path / "log"

    async def body(session, _):
        r = await session.call_tool("read_ticket", {"ticket_id": "T-1"})
        assert not is_error(r) and text(r) == "printer on fire"
        r = await session.call_tool("comment_ticket", {"ticket_id": "T-1", "text": "on it"})
        assert not is_error(r) and text(r) == "commented on T-1"

    run(log, body)
    assert received(log) == [
        {"tool": "read_ticket", "args": {"ticket_id": "T-1"}},
        {"tool": "comment_ticket", "args": {"ticket_id": "T-1", "text": "on it"}},
    ]
    assert decisions(log) == [("read_ticket", "allow"), ("comment_ticket", "allow")]


def test_denied_calls_never_reach_the_server(tmp_path):
    log = tmp_path / "log"

    async def body(session, _):
        # Hidden from the list, called anyway: denied by the guard.
        r = await session.call_tool("get_secret", {"name": "db"})
        assert is_error(r) and "no-secrets" in text(r) and "secrets are not for agents" in text(r)
        r = await session.call_tool("comment_ticket", {"ticket_id": "T-1", "text": "the Password is 123"})
        assert is_error(r) and "a comment must not carry credentials" in text(r)
        # Arguments that do not fit the schema: denied with the JSON path.
        r = await session.call_tool("read_ticket", {"ticket_id": "T-1", "force": True})
        assert is_error(r) and "context.args.force" in text(r)
        # Still serving.
        r = await session.call_tool("read_ticket", {"ticket_id": "T-2"})
        assert not is_error(r)

    run(log, body)
    assert received(log) == [{"tool": "read_ticket", "args": {"ticket_id": "T-2"}}]
    assert decisions(log) == [
        ("get_secret", "deny"), ("comment_ticket", "deny"), ("read_ticket", "deny"), ("read_ticket", "allow"),
    ]


def test_escalations_ask_the_human(tmp_path):
    log = tmp_path / "log"

    async def body(session, asked):
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-2"})
        assert not is_error(r) and text(r) == "deleted T-2"
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-3"})
        assert is_error(r) and "declined" in text(r)
        assert len(asked) == 2
        assert "delete_ticket" in asked[0] and "destructive tools need a human approval" in asked[0]

    run(log, body, answers=["accept", "decline"])
    assert received(log) == [{"tool": "delete_ticket", "args": {"ticket_id": "T-2"}}]
    # The escalation, then the decision with the human's approval; a declined one is decided once.
    assert decisions(log) == [("delete_ticket", "escalate"), ("delete_ticket", "allow"), ("delete_ticket", "escalate")]


def test_escalations_without_elicitation_are_denied(tmp_path):
    log = tmp_path / "log"

    async def body(session, _):
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-1"})
        assert is_error(r) and "elicitation" in text(r)

    run(log, body)
    assert received(log) == []
    assert decisions(log) == [("delete_ticket", "escalate")]


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
