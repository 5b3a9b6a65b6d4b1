"""A scripted MCP server for the guard's tests: it answers on stdout and appends every line
it receives to the file named by its first argument (so tests see what reached it).

initialize -> capabilities; tools/list -> the tools of the example; tools/call -> a text
result echoing the params; the tool `exit` ends the server with the code in its
`arguments.code`; `say` writes `arguments.text` to stderr; `pid` answers the server's process id;
`ignore_term` makes it ignore SIGTERM (then only a kill ends it); anything else with an id is
echoed back as the result. Ends at the end of its input."""
import json
import os
import signal
import sys

log = open(sys.argv[1], "ab", buffering=0)
TOOLS = ["read_ticket", "comment_ticket", "delete_ticket", "get_secret", "unknown_tool", "exec"]


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for raw in sys.stdin.buffer:
    log.write(raw)
    try:
        msg = json.loads(raw)
    except ValueError:
        send({"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "parse error"}})
        continue
    if not isinstance(msg, dict) or "id" not in msg or "method" not in msg:
        continue
    mid, method, params = msg["id"], msg["method"], msg.get("params") or {}
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": mid, "result": {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                                                        "serverInfo": {"name": "echo", "version": "1"}}})
    elif method == "tools/list":
        send({"jsonrpc": "2.0", "id": mid, "result": {"tools": [
            {"name": n, "inputSchema": {"type": "object"}} for n in TOOLS]}})
    elif method == "tools/call":
        args = params.get("arguments") or {}
        if params.get("name") == "exit":
            sys.exit(int(args.get("code", 0)))
        if params.get("name") == "pid":
            params = {"pid": os.getpid()}
        if params.get("name") == "ignore_term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if params.get("name") == "say":
            sys.stderr.write(args.get("text", "") + "\n")
            sys.stderr.flush()
        send({"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": json.dumps(params)}]}})
    else:
        send({"jsonrpc": "2.0", "id": mid, "result": {"echo": method}})
