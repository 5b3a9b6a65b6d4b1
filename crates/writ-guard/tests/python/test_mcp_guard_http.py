"""End to end over the streamable-HTTP transport: the example ticketing server
(examples/mcp-guard/server.py --http PORT, official `mcp` SDK) behind
`writ guard --listen … --upstream …`, and a client session of the SDK
(`streamable_http_client`) talking to the guard. Every test runs twice: the server
answering with event streams (the SDK's default) and with JSON (`json_response`). Checks
what the client saw, what reached the server (its call log), and the guard's decision log.

`WRIT_BIN` names the `writ` binary (default: target/debug/writ of the workspace)."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp import ClientSession, types

try:  # mcp 2.x
    from mcp.client.streamable_http import streamable_http_client as http_client
except ImportError:  # mcp 1.x
    from mcp.client.streamable_http import streamablehttp_client as http_client

from test_mcp_guard import EXAMPLE, is_error, received, text, writ_bin


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the MCP server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port}")


class Setup:
    """The server and the guard in front of it."""

    def __init__(self, tmp: Path, json_response: bool):
        self.calls = tmp / "calls.jsonl"
        self.decisions = tmp / "decisions.jsonl"
        port = free_port()
        env = dict(os.environ, MCP_GUARD_LOG=str(self.calls), MCP_JSON_RESPONSE="1" if json_response else "0")
        self.server = subprocess.Popen(
            [sys.executable, str(EXAMPLE / "server.py"), "--http", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(port, self.server)
        self.guard = subprocess.Popen(
            [
                writ_bin(), "guard",
                "--policies", str(EXAMPLE / "policies"),
                "--entities", str(EXAMPLE / "entities.json"),
                "--config", str(EXAMPLE / "guard.toml"),
                "--decision-log", str(self.decisions),
                "--listen", "127.0.0.1:0",
                "--upstream", f"http://127.0.0.1:{port}/mcp",
            ],
            stderr=subprocess.PIPE, text=True,
        )
        line = self.guard.stderr.readline()
        m = re.search(r"listening on (http://\S+), guarding", line)
        assert m, line
        self.url = m.group(1)

    def stop(self) -> int:
        """Stops the guard with SIGTERM (its exit code) and the server."""
        self.guard.send_signal(signal.SIGTERM)
        code = self.guard.wait(timeout=30)
        self.server.terminate()
        self.server.wait(timeout=30)
        return code

    def decided(self) -> list[tuple[str, str, object]]:
        """(tool, decision, MCP id) of every line of the decision log."""
        out = []
        for line in self.decisions.read_text().splitlines():
            d = json.loads(line)
            assert d["source"] == "guard" and d["mcp"]["method"] == "tools/call", d
            assert len(d["policy_version"]) == 32, d
            out.append((d["mcp"]["name"], d["decision"], d["mcp"]["id"]))
        return out


@pytest.fixture(params=["event-stream", "json"])
def setup(request, tmp_path):
    s = Setup(tmp_path, request.param == "json")
    yield s
    if s.guard.poll() is None:
        s.stop()
    if s.server.poll() is None:
        s.server.kill()


def run(url: str, body, answers: list[str] | None = None) -> list[str]:
    asked: list[str] = []

    async def elicit(context, params):
        asked.append(params.message)
        action = answers.pop(0)
        return types.ElicitResult(action=action, content={} if action == "accept" else None)

    async def session_run():
        kwargs = {"elicitation_callback": elicit} if answers is not None else {}
        async with http_client(url) as streams:
            async with ClientSession(streams[0], streams[1], **kwargs) as session:
                await session.initialize()
                await body(session)

    anyio.run(session_run)
    return asked


def test_http_lists_only_the_tools_the_policy_could_allow(setup):
    async def body(session):
        tools = await session.list_tools()
        assert sorted(t.name for t in tools.tools) == ["comment_ticket", "delete_ticket", "read_ticket"]

    run(setup.url, body)
    assert setup.stop() == 128 + signal.SIGTERM
    assert setup.decided() == []


def test_http_allowed_and_denied_calls(setup):
    async def body(session):
        r = await session.call_tool("read_ticket", {"ticket_id": "T-1"})
        assert not is_error(r) and text(r) == "printer on fire"
        r = await session.call_tool("get_secret", {"name": "db"})
        assert is_error(r) and "no-secrets" in text(r) and "secrets are not for agents" in text(r)
        r = await session.call_tool("comment_ticket", {"ticket_id": "T-1", "text": "the Password is 123"})
        assert is_error(r) and "a comment must not carry credentials" in text(r)
        r = await session.call_tool("read_ticket", {"ticket_id": "T-1", "force": True})
        assert is_error(r) and "context.args.force" in text(r)
        r = await session.call_tool("comment_ticket", {"ticket_id": "T-2", "text": "on it"})
        assert not is_error(r) and text(r) == "commented on T-2"

    run(setup.url, body)
    assert received(setup.calls) == [
        {"tool": "read_ticket", "args": {"ticket_id": "T-1"}},
        {"tool": "comment_ticket", "args": {"ticket_id": "T-2", "text": "on it"}},
    ]
    assert setup.stop() == 128 + signal.SIGTERM
    assert [(t, d) for t, d, _ in setup.decided()] == [
        ("read_ticket", "allow"), ("get_secret", "deny"), ("comment_ticket", "deny"),
        ("read_ticket", "deny"), ("comment_ticket", "allow"),
    ]
    # One line per call, each with its own MCP id.
    ids = [i for _, _, i in setup.decided()]
    assert len(set(ids)) == 5 and None not in ids


def test_http_escalations_ask_the_human(setup):
    async def body(session):
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-2"})
        assert not is_error(r) and text(r) == "deleted T-2"
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-3"})
        assert is_error(r) and "declined" in text(r)
        # Still serving after both.
        r = await session.call_tool("read_ticket", {"ticket_id": "T-1"})
        assert not is_error(r)

    asked = run(setup.url, body, answers=["accept", "decline"])
    assert len(asked) == 2
    assert "delete_ticket" in asked[0] and "destructive tools need a human approval" in asked[0]
    assert received(setup.calls) == [
        {"tool": "delete_ticket", "args": {"ticket_id": "T-2"}},
        {"tool": "read_ticket", "args": {"ticket_id": "T-1"}},
    ]
    assert setup.stop() == 128 + signal.SIGTERM
    decided = setup.decided()
    assert [(t, d) for t, d, _ in decided] == [
        ("delete_ticket", "escalate"), ("delete_ticket", "allow"), ("delete_ticket", "escalate"), ("read_ticket", "allow"),
    ]
    # The approval re-decides the same call.
    assert decided[0][2] == decided[1][2]


def test_http_escalations_without_elicitation_are_denied(setup):
    async def body(session):
        r = await session.call_tool("delete_ticket", {"ticket_id": "T-1"})
        assert is_error(r) and "elicitation" in text(r)

    run(setup.url, body)
    assert received(setup.calls) == []
    assert setup.stop() == 128 + signal.SIGTERM


def test_http_refuses_what_it_cannot_read(setup):
    import urllib.request

    def post(body: bytes, headers=None):
        req = urllib.request.Request(setup.url, data=body, method="POST", headers={
            "content-type": "application/json", "accept": "application/json, text/event-stream", **(headers or {})})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    call = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "get_secret", "arguments": {}}}
    for bad in [b"not json", json.dumps([call]).encode(),
                b'{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"get_secret"}}']:
        status, answer = post(bad)
        assert status == 400 and json.loads(answer)["error"]["code"] < -32000, answer
    status, _ = post(json.dumps(call).encode(), {"origin": "https://evil.example"})
    assert status == 403
    assert received(setup.calls) == []
    assert setup.stop() == 128 + signal.SIGTERM


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
