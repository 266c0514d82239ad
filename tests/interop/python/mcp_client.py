#!/usr/bin/env python3
"""The official MCP Python SDK (mcp==2.3.0) as a client of Warden's /mcp.

Two agents, each with its own API key, go through the mailbox's whole
first conversation with the SDK's own Client over Streamable HTTP:

  sender:    whoami; tools/list; send (refused: not granted); request_access
  recipient: inbox (the access request); grant (accepting it by requestId)
  sender:    send with an idempotency key, then the same send again
  recipient: inbox (exactly one message); read; ack; inbox unacked (empty)

--mode auto lets the SDK probe server/discover (protocol 2026-07-28,
stateless); --mode legacy forces the initialize handshake (2025-11-25, a
session per client). Every check is asserted here; the last stdout line is
a JSON summary the Rust test reads. Exit status 0 only if all passed.
"""

import argparse
import asyncio
import json
import sys
import uuid

import httpx2
from mcp.client import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

TOOLS = {"send", "inbox", "read", "ack", "delete", "request_access", "grant", "revoke", "whoami"}


def connect(url: str, key: str, mode: str) -> Client:
    http = create_mcp_http_client(headers={"X-API-Key": key}, timeout=httpx2.Timeout(30.0))
    return Client(streamable_http_client(url, http_client=http), mode=mode)


async def call(client: Client, tool: str, args: dict) -> dict:
    """A tool call that must succeed: its structured answer."""
    r = await client.call_tool(tool, args)
    text = r.content[0].text if r.content else ""
    assert not r.is_error, f"{tool} failed: {text}"
    assert isinstance(r.structured_content, dict), f"{tool}: structured content"
    # The text block carries the same answer, for clients that show text only.
    assert json.loads(text) == r.structured_content, f"{tool}: text and structured agree"
    return r.structured_content


async def failing(client: Client, tool: str, args: dict) -> dict:
    """A tool call that must fail as a tool result (isError), not a protocol error."""
    r = await client.call_tool(tool, args)
    assert r.is_error, f"{tool} should have failed: {r}"
    return r.structured_content["error"]


async def run(url: str, sender: tuple[str, str], recipient: tuple[str, str], mode: str) -> dict:
    (s_addr, s_key), (r_addr, r_key) = sender, recipient
    out: dict = {"mode": mode}
    async with connect(url, s_key, mode) as alice, connect(url, r_key, mode) as bob:
        out["protocol"] = alice.protocol_version
        me = await call(alice, "whoami", {})
        assert me["address"] == s_addr, me
        listed = await alice.list_tools()
        names = {t.name for t in listed.tools}
        assert TOOLS <= names, names
        out["tools"] = sorted(names)
        for t in listed.tools:
            assert t.description and len(t.description) > 80, t.name
            assert t.input_schema["type"] == "object", t.name

        # Not granted yet: the one answer for unknown and ungranted.
        err = await failing(alice, "send", {"to": r_addr, "text": "hi", "idempotencyKey": str(uuid.uuid4())})
        assert err["code"] == "not_found", err
        ghost = await failing(alice, "send", {"to": "no-such-agent", "text": "hi", "idempotencyKey": str(uuid.uuid4())})
        assert ghost == err, (ghost, err)

        asked = await call(alice, "request_access", {"to": r_addr, "note": "I have build results for you"})
        request_id = asked["requestId"]

        page = await call(bob, "inbox", {"kind": "access_request"})
        requests = [m for m in page["messages"] if m["from"] == s_addr]
        assert [m["id"] for m in requests] == [request_id], page
        grant = await call(bob, "grant", {"requestId": request_id})
        assert grant["sender"] == s_addr and grant["recipient"] == r_addr, grant

        key = str(uuid.uuid4())
        send = {"to": r_addr, "text": "build 42 is green", "topic": "ci", "idempotencyKey": key}
        first = await call(alice, "send", send)
        again = await call(alice, "send", send)
        assert first["duplicate"] is False and again["duplicate"] is True, (first, again)
        assert first["message"]["id"] == again["message"]["id"], (first, again)
        msg_id = first["message"]["id"]
        assert first["message"]["signature"], first
        conflict = await failing(alice, "send", {**send, "text": "something else"})
        assert conflict["code"] == "idempotency_conflict", conflict

        page = await call(bob, "inbox", {"kind": "message", "from": s_addr})
        assert [m["id"] for m in page["messages"]] == [msg_id], page
        read = await call(bob, "read", {"id": msg_id})
        assert read["parts"] == [{"text": "build 42 is green"}], read
        assert read["from"] == s_addr and read.get("readAt"), read
        acked = await call(bob, "ack", {"id": msg_id})
        assert acked.get("ackedAt"), acked
        left = await call(bob, "inbox", {"kind": "message", "state": "unacked"})
        assert left["messages"] == [], left

        bad = await failing(bob, "read", {"id": msg_id, "extra": 1})
        assert bad["code"] == "invalid", bad
        out.update(message=msg_id, request=request_id, ok=True)
    return out


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True)
    p.add_argument("--sender", required=True, help="ADDRESS=API_KEY")
    p.add_argument("--recipient", required=True, help="ADDRESS=API_KEY")
    p.add_argument("--mode", choices=["auto", "legacy"], default="auto")
    a = p.parse_args()
    sender = tuple(a.sender.split("=", 1))
    recipient = tuple(a.recipient.split("=", 1))
    try:
        out = asyncio.run(run(a.url, sender, recipient, a.mode))
    except Exception as e:  # report any failure as the summary line
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
        return 1
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
