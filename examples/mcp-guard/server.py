"""A small ticketing MCP server to put behind `writ guard`: on stdio, or with
`--http PORT` on the streamable-HTTP transport at `http://127.0.0.1:PORT/mcp`
(`MCP_JSON_RESPONSE=1`: answers as JSON instead of event streams).

It knows nothing of policies: the guard decides which calls reach it. Every call that does
reach it is appended, one JSON line per call, to the file named by `MCP_GUARD_LOG` (if set),
so tests can check that a denied call never arrived.

Runs with the official `mcp` Python SDK, 1.x (`FastMCP`) or 2.x (`MCPServer`).
"""

import json
import os
import sys

try:
    from mcp.server.mcpserver import MCPServer as Server
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as Server

server = Server("tickets")
TICKETS = {"T-1": "printer on fire", "T-2": "vpn is slow", "T-3": "reset my password"}
COMMENTS: dict[str, list[str]] = {}


def received(tool: str, **args: str) -> None:
    path = os.environ.get("MCP_GUARD_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"tool": tool, "args": args}) + "\n")


@server.tool()
def read_ticket(ticket_id: str) -> str:
    """Read a support ticket."""
    received("read_ticket", ticket_id=ticket_id)
    return TICKETS.get(ticket_id, "no such ticket")


@server.tool()
def comment_ticket(ticket_id: str, text: str) -> str:
    """Add a comment to a support ticket."""
    received("comment_ticket", ticket_id=ticket_id, text=text)
    COMMENTS.setdefault(ticket_id, []).append(text)
    return f"commented on {ticket_id}"


@server.tool()
def delete_ticket(ticket_id: str) -> str:
    """Delete a support ticket (destructive)."""
    received("delete_ticket", ticket_id=ticket_id)
    TICKETS.pop(ticket_id, None)
    return f"deleted {ticket_id}"


@server.tool()
def get_secret(name: str) -> str:
    """Read a secret from the vault."""
    received("get_secret", name=name)
    return "hunter2"


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        port, as_json = int(sys.argv[2]), os.environ.get("MCP_JSON_RESPONSE") == "1"
        try:
            server.run("streamable-http", host="127.0.0.1", port=port, json_response=as_json)
        except TypeError:  # mcp 1.x: the settings are the server's
            server.settings.host, server.settings.port, server.settings.json_response = "127.0.0.1", port, as_json
            server.run(transport="streamable-http")
    else:
        server.run()
