#!/usr/bin/env python3
"""A2A v1.0 client scenarios driven by the OFFICIAL a2a-sdk 1.3.0 client.

Everything goes through the SDK's real client stack: A2ACardResolver fetches
the card, ClientFactory picks the interface for the requested binding from
`supportedInterfaces` and builds JsonRpcTransport / RestTransport, and the
scenarios call BaseClient methods (send_message, get_task, ...). Nothing here
hand-crafts A2A requests, so a pass means "the Python SDK interoperates".

Targets (where each logical agent role lives):
  default              --base URL: agents at {URL}/agents/{echo|slow|input},
                       cards at {URL}/agents/{name}/.well-known/agent-card.json
                       (Warden's Rust demo agents behind the gateway).
  --sdk-agent NAME     --base URL: every role is {URL}/agents/{NAME}, an
                       sdk_agent.py registered in the gateway under NAME.
  --direct-agent-url U no gateway: every role is sdk_agent.py at U. Used to
                       validate this harness against real SDK server code.
For sdk_agent.py targets the message text selects the behaviour ("slow:N",
"ask:..."), see sdk_agent.py.

Output: one JSON line per scenario {"scenario":..,"ok":..,"detail":..} on
stdout; exit status 1 if any scenario failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

from collections.abc import Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.types.a2a_pb2 import (
    AgentCard,
    AgentInterface,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    StreamResponse,
    SubscribeToTaskRequest,
    Task,
    TaskState,
)
from a2a.utils.constants import AGENT_CARD_WELL_KNOWN_PATH, TransportProtocol


BINDINGS = {'jsonrpc': TransportProtocol.JSONRPC.value, 'rest': TransportProtocol.HTTP_JSON.value}
DEFAULT_SCENARIOS = ['send', 'stream', 'get', 'cancel', 'list', 'subscribe', 'input']
EXTRA_SCENARIOS = ['card', 'disconnect']  # run only when asked for by name

TERMINAL = {
    TaskState.TASK_STATE_COMPLETED,
    TaskState.TASK_STATE_CANCELED,
    TaskState.TASK_STATE_FAILED,
    TaskState.TASK_STATE_REJECTED,
}


class ScenarioFailure(Exception):
    """A check failed; `detail` is reported in the JSON line."""

    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.detail = {'error': message, **detail}


def check(cond: bool, message: str, **detail: Any) -> None:
    if not cond:
        raise ScenarioFailure(message, **detail)


def state_name(state: int) -> str:
    return TaskState.Name(state)


# --------------------------------------------------------------------------
# Wire recorder: httpx event hooks so scenarios (and --wire) can see what the
# SDK actually put on the wire without patching the SDK.
# --------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict[str, str]
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    json_body: Any = None  # only for non-streaming JSON responses


class WireRecorder:
    INTERESTING = ('a2a-version', 'a2a-extensions', 'content-type', 'accept', 'cache-control')

    def __init__(self, echo: bool):
        self.exchanges: list[Exchange] = []
        self.echo = echo

    async def on_request(self, request: httpx.Request) -> None:
        hdrs = {k: v for k, v in request.headers.items() if k.lower() in self.INTERESTING}
        request.extensions['warden_exchange'] = ex = Exchange(request.method, str(request.url), hdrs)
        self.exchanges.append(ex)

    async def on_response(self, response: httpx.Response) -> None:
        ex: Exchange | None = response.request.extensions.get('warden_exchange')
        if ex is None:
            return
        ex.status = response.status_code
        ex.response_headers = dict(response.headers)
        ctype = response.headers.get('content-type', '')
        # Never read SSE bodies here: that would buffer the whole stream.
        if 'json' in ctype:
            await response.aread()
            try:
                ex.json_body = response.json()
            except ValueError:
                pass
        if self.echo:
            print(
                f'[wire] {ex.method} {ex.url} req={ex.request_headers} -> {ex.status} '
                f'content-type={ctype!r}',
                file=sys.stderr,
            )

    def last_json(self) -> Any:
        for ex in reversed(self.exchanges):
            if ex.json_body is not None:
                return ex.json_body
        return None


# --------------------------------------------------------------------------
# Targets and SDK client construction
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentRef:
    card_base: str  # card lives at card_base + /.well-known/agent-card.json
    prefix: str  # text prefix selecting the behaviour on sdk_agent.py ('' for demo agents)


def build_targets(args: argparse.Namespace) -> dict[str, AgentRef]:
    if args.direct_agent_url:
        base = args.direct_agent_url.rstrip('/')
        return {'echo': AgentRef(base, ''), 'slow': AgentRef(base, 'slow:'), 'input': AgentRef(base, 'ask:')}
    base = args.base.rstrip('/')
    if args.sdk_agent:
        url = f'{base}/agents/{args.sdk_agent}'
        return {'echo': AgentRef(url, ''), 'slow': AgentRef(url, 'slow:'), 'input': AgentRef(url, 'ask:')}
    return {role: AgentRef(f'{base}/agents/{role}', '') for role in ('echo', 'slow', 'input')}


def origin(url: str) -> tuple[str, str, int | None]:
    u = urlsplit(url)
    return (u.scheme, u.hostname or '', u.port or {'http': 80, 'https': 443}.get(u.scheme))


class WardenTokenAuth(httpx.Auth):
    """Fetches a fresh access token from Warden's token endpoint for every A2A
    request (Warden's bearer tokens are single-use), authenticating the client
    with an API key. The audience is the agent named in the request path
    (`/agents/{name}/...`). Public card fetches go without a token."""

    def __init__(self, token_url: str, api_key: str):
        self.token_url = token_url
        self.api_key = api_key

    async def async_auth_flow(self, request: httpx.Request):
        path = request.url.path
        if '/.well-known/' not in path:
            parts = [p for p in path.split('/') if p]
            audience = parts[parts.index('agents') + 1] if 'agents' in parts else ''
            async with httpx.AsyncClient(timeout=10.0) as c:
                r = await c.post(
                    self.token_url,
                    data={'grant_type': 'client_credentials', 'audience': audience},
                    headers={'X-API-Key': self.api_key},
                )
                r.raise_for_status()
                request.headers['Authorization'] = f"Bearer {r.json()['access_token']}"
        yield request


class WardenDpopAuth(httpx.Auth):
    """DPoP (RFC 9449) with Warden: one key pair for the session; for each
    agent a DPoP-bound token from Warden's token endpoint (the token request
    carries a proof too), reused for every call to that agent, each call with
    a fresh proof naming its method, URL and the token's hash."""

    def __init__(self, token_url: str, api_key: str):
        import pyjwt_tool  # same folder: key and JWK helpers

        self.tool = pyjwt_tool
        self.token_url = token_url
        self.api_key = api_key
        self.key = pyjwt_tool.new_key('ES256')
        self.jwk = pyjwt_tool.public_jwk('ES256', self.key)
        self.tokens: dict[str, str] = {}

    def proof(self, method: str, url: str, access_token: str | None = None) -> str:
        import hashlib
        import time
        import uuid

        claims = {'jti': str(uuid.uuid4()), 'htm': method, 'htu': url, 'iat': int(time.time())}
        if access_token is not None:
            claims['ath'] = self.tool.b64url(hashlib.sha256(access_token.encode('ascii')).digest())
        return jwt.encode(claims, self.key, algorithm='ES256', headers={'typ': 'dpop+jwt', 'jwk': self.jwk})

    async def async_auth_flow(self, request: httpx.Request):
        path = request.url.path
        if '/.well-known/' not in path:
            parts = [p for p in path.split('/') if p]
            audience = parts[parts.index('agents') + 1] if 'agents' in parts else ''
            if audience not in self.tokens:
                async with httpx.AsyncClient(timeout=10.0) as c:
                    r = await c.post(
                        self.token_url,
                        data={'grant_type': 'client_credentials', 'audience': audience},
                        headers={'X-API-Key': self.api_key, 'DPoP': self.proof('POST', self.token_url)},
                    )
                    r.raise_for_status()
                    body = r.json()
                    if body.get('token_type') != 'DPoP':
                        raise RuntimeError(f'expected a DPoP-bound token, got {body.get("token_type")}')
                    self.tokens[audience] = body['access_token']
            token = self.tokens[audience]
            url = str(request.url.copy_with(query=None, fragment=None))
            request.headers['Authorization'] = f'DPoP {token}'
            request.headers['DPoP'] = self.proof(request.method, url, token)
        yield request


class Harness:
    def __init__(self, args: argparse.Namespace):
        self.binding = BINDINGS[args.binding]
        self.targets = build_targets(args)
        self.recorder = WireRecorder(echo=args.wire)
        # One shared httpx client. The SDK's default httpx.AsyncClient() has a
        # 5 s timeout, too tight for the slow agent / a busy CI box.
        if args.api_key and args.dpop:
            auth = WardenDpopAuth(args.token_url, args.api_key)
        elif args.api_key:
            auth = WardenTokenAuth(args.token_url, args.api_key)
        else:
            auth = None
        self.http = httpx.AsyncClient(
            auth=auth,
            timeout=httpx.Timeout(args.http_timeout, connect=5.0),
            event_hooks={'request': [self.recorder.on_request], 'response': [self.recorder.on_response]},
        )
        # Two factories: BaseClient.send_message uses SendMessage (blocking,
        # single response) when ClientConfig.streaming is False and
        # SendStreamingMessage when True. supported_protocol_bindings=[binding]
        # + use_client_preference makes ClientFactory.create() pick the card's
        # interface for exactly that binding (ValueError if the card lacks it).
        # Creating the factories first also makes them set the SDK's default
        # `A2A-Version: 1.0` header on the shared httpx client, so card fetches
        # carry it too (same as ClientFactory.create_from_url would).
        self.factories = {
            streaming: ClientFactory(
                ClientConfig(
                    streaming=streaming,
                    httpx_client=self.http,
                    supported_protocol_bindings=[self.binding],
                    use_client_preference=True,
                )
            )
            for streaming in (False, True)
        }
        self._cards: dict[str, AgentCard] = {}

    async def card(self, role: str) -> AgentCard:
        ref = self.targets[role]
        if ref.card_base not in self._cards:
            resolver = A2ACardResolver(self.http, ref.card_base)  # default path: /.well-known/agent-card.json
            self._cards[ref.card_base] = await resolver.get_agent_card()
        return self._cards[ref.card_base]

    def interface_for(self, card: AgentCard, card_base: str) -> AgentInterface:
        """The interface the SDK will use, re-derived so we can assert on it."""
        matches = [i for i in card.supported_interfaces if i.protocol_binding == self.binding]
        check(bool(matches), f'card has no {self.binding} interface',
              interfaces=[(i.protocol_binding, i.url) for i in card.supported_interfaces])
        iface = next((i for i in matches if i.protocol_version in ('1.0', '1.0.0')), matches[0])
        check(iface.protocol_version.startswith('1.0'), 'interface is not protocolVersion 1.0',
              protocol_version=iface.protocol_version)
        # A gateway that forgets to rewrite the card would send the client
        # straight to the upstream, silently bypassing itself: insist that the
        # RPC endpoint is on the origin the card was fetched from.
        check(origin(iface.url) == origin(card_base), 'interface URL is not on the card origin',
              interface_url=iface.url, card_base=card_base)
        return iface

    async def client(self, role: str, *, streaming: bool) -> tuple[Client, AgentInterface]:
        ref = self.targets[role]
        card = await self.card(role)
        iface = self.interface_for(card, ref.card_base)
        return self.factories[streaming].create(card), iface

    def text(self, role: str, text: str) -> str:
        return self.targets[role].prefix + text

    async def aclose(self) -> None:
        await self.http.aclose()


def user_message(text: str, *, task_id: str = '', context_id: str = '') -> Message:
    return Message(
        role=Role.ROLE_USER,
        message_id=str(uuid.uuid4()),
        parts=[Part(text=text)],
        task_id=task_id,
        context_id=context_id,
    )


async def send_for_task(client: Client, message: Message, *, return_immediately: bool = False) -> Task:
    """Non-streaming SendMessage; the SDK yields exactly one StreamResponse."""
    request = SendMessageRequest(
        message=message,
        configuration=SendMessageConfiguration(return_immediately=return_immediately),
    )
    responses = [r async for r in client.send_message(request)]
    check(len(responses) == 1, 'expected exactly one SendMessage response', count=len(responses))
    check(responses[0].HasField('task'), 'SendMessage returned a Message, expected a Task',
          kind=responses[0].WhichOneof('payload'))
    return responses[0].task


def artifact_texts(task: Task) -> list[str]:
    return [p.text for a in task.artifacts for p in a.parts if p.HasField('text')]


def event_kind(ev: StreamResponse) -> str:
    return ev.WhichOneof('payload') or 'empty'


def event_task_id(ev: StreamResponse) -> str:
    kind = event_kind(ev)
    if kind == 'task':
        return ev.task.id
    if kind in ('status_update', 'artifact_update'):
        return getattr(ev, kind).task_id
    return ev.message.task_id


class StreamSummary:
    """Checks shared by `stream` and `subscribe`: Task first, same id, ends terminal."""

    def __init__(self) -> None:
        self.kinds: list[str] = []
        self.task_id = ''
        self.final_state: int | None = None
        self.updates = 0

    def add(self, ev: StreamResponse) -> None:
        kind = event_kind(ev)
        if not self.kinds:
            check(kind == 'task', 'first stream event is not a Task', first=kind)
            self.task_id = ev.task.id
        check(event_task_id(ev) == self.task_id, 'stream event for a different task',
              expected=self.task_id, got=event_task_id(ev))
        self.kinds.append(kind)
        if kind in ('status_update', 'artifact_update'):
            self.updates += 1
        if kind == 'task':
            self.final_state = ev.task.status.state
        elif kind == 'status_update':
            self.final_state = ev.status_update.status.state

    def detail(self) -> dict[str, Any]:
        return {
            'task_id': self.task_id,
            'events': len(self.kinds),
            'updates': self.updates,
            'kinds': compress(self.kinds),
            'final_state': state_name(self.final_state) if self.final_state is not None else None,
        }


def compress(kinds: list[str]) -> list[str]:
    """['task','status_update','status_update'] -> ['task', 'status_update x2']."""
    out: list[list[Any]] = []
    for k in kinds:
        if out and out[-1][0] == k:
            out[-1][1] += 1
        else:
            out.append([k, 1])
    return [k if n == 1 else f'{k} x{n}' for k, n in out]


# --------------------------------------------------------------------------
# Scenarios. Each returns a detail dict or raises ScenarioFailure.
# --------------------------------------------------------------------------


async def sc_send(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('echo', streaming=False)
    task = await send_for_task(client, user_message(h.text('echo', 'hello warden')))
    detail = {'interface': iface.url, 'task_id': task.id, 'state': state_name(task.status.state),
              'artifact_texts': artifact_texts(task)}
    check(task.status.state == TaskState.TASK_STATE_COMPLETED, 'task not COMPLETED', **detail)
    check('hello warden' in artifact_texts(task), 'no artifact text part equal to "hello warden"', **detail)
    return detail


async def sc_stream(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('slow', streaming=True)
    request = SendMessageRequest(message=user_message(h.text('slow', '3')))
    summary = StreamSummary()
    async with aclosing(client.send_message(request)) as events:
        async for ev in events:
            summary.add(ev)
    detail = {'interface': iface.url, **summary.detail()}
    check(summary.updates >= 3, 'fewer than 3 status/artifact updates', **detail)
    check(summary.final_state == TaskState.TASK_STATE_COMPLETED, 'stream did not end COMPLETED', **detail)
    return detail


async def sc_get(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('echo', streaming=False)
    sent = await send_for_task(client, user_message(h.text('echo', 'get me')))
    got = await client.get_task(GetTaskRequest(id=sent.id, history_length=1))
    detail = {'interface': iface.url, 'task_id': sent.id, 'got_id': got.id,
              'state': state_name(got.status.state), 'history_len': len(got.history)}
    check(got.id == sent.id, 'GetTask returned a different task', **detail)
    check(got.status.state == TaskState.TASK_STATE_COMPLETED, 'task not COMPLETED', **detail)
    check(len(got.history) <= 1, 'historyLength=1 not honoured', **detail)
    return detail


async def sc_cancel(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('slow', streaming=False)
    sent = await send_for_task(client, user_message(h.text('slow', '50')), return_immediately=True)
    detail: dict[str, Any] = {'interface': iface.url, 'task_id': sent.id,
                              'initial_state': state_name(sent.status.state)}
    check(sent.status.state not in TERMINAL, 'returnImmediately gave an already-terminal task', **detail)
    canceled = await client.cancel_task(CancelTaskRequest(id=sent.id))
    detail['cancel_state'] = state_name(canceled.status.state)
    check(canceled.id == sent.id, 'CancelTask returned a different task', **detail)
    check(canceled.status.state == TaskState.TASK_STATE_CANCELED, 'task not CANCELED', **detail)
    # The cancel must stick: a later GetTask still sees CANCELED.
    after = await client.get_task(GetTaskRequest(id=sent.id))
    detail['get_state'] = state_name(after.status.state)
    check(after.status.state == TaskState.TASK_STATE_CANCELED, 'GetTask after cancel not CANCELED', **detail)
    return detail


async def sc_list(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('echo', streaming=False)
    sent = await send_for_task(client, user_message(h.text('echo', 'list me')))
    resp = await client.list_tasks(ListTasksRequest(page_size=10))
    ids = [t.id for t in resp.tasks]
    # Proto3 parsing can't tell a missing nextPageToken from "", so look at the
    # raw JSON the SDK received (JSON-RPC: under "result"; REST: top level).
    raw = h.recorder.last_json() or {}
    body = raw.get('result', raw) if isinstance(raw, dict) else {}
    detail = {'interface': iface.url, 'task_id': sent.id, 'listed': len(ids),
              'next_page_token_present': isinstance(body, dict) and 'nextPageToken' in body,
              'next_page_token': resp.next_page_token}
    check(sent.id in ids, 'ListTasks does not contain the new task', ids=ids, **detail)
    check(detail['next_page_token_present'], 'nextPageToken missing from ListTasks JSON', **detail)
    return detail


async def sc_subscribe(h: Harness) -> dict[str, Any]:
    sender, iface = await h.client('slow', streaming=False)
    sent = await send_for_task(sender, user_message(h.text('slow', '5')), return_immediately=True)
    subscriber, _ = await h.client('slow', streaming=True)
    summary = StreamSummary()
    async with aclosing(subscriber.subscribe(SubscribeToTaskRequest(id=sent.id))) as events:
        async for ev in events:
            summary.add(ev)
    detail = {'interface': iface.url, 'sent_task_id': sent.id, **summary.detail()}
    check(summary.task_id == sent.id, 'first SubscribeToTask event is a snapshot of another task', **detail)
    check(summary.final_state == TaskState.TASK_STATE_COMPLETED, 'subscription did not end COMPLETED', **detail)
    return detail


async def sc_input(h: Harness) -> dict[str, Any]:
    client, iface = await h.client('input', streaming=False)
    first = await send_for_task(client, user_message(h.text('input', 'hi')))
    detail: dict[str, Any] = {'interface': iface.url, 'task_id': first.id,
                              'first_state': state_name(first.status.state)}
    check(first.status.state == TaskState.TASK_STATE_INPUT_REQUIRED, 'first turn not INPUT_REQUIRED', **detail)
    # Follow-up goes to the same task/context; no prefix: it is plain input.
    second = await send_for_task(
        client, user_message('Ada', task_id=first.id, context_id=first.context_id)
    )
    detail.update(second_task_id=second.id, second_state=state_name(second.status.state),
                  artifact_texts=artifact_texts(second))
    check(second.id == first.id, 'follow-up landed on a different task', **detail)
    check(second.status.state == TaskState.TASK_STATE_COMPLETED, 'follow-up not COMPLETED', **detail)
    check(any('Ada' in t for t in artifact_texts(second)), 'no artifact text contains "Ada"', **detail)
    return detail


async def sc_card(h: Harness) -> dict[str, Any]:
    """Card sanity for every role: both 1.0 bindings, same origin, streaming."""
    detail: dict[str, Any] = {}
    for role, ref in h.targets.items():
        card = await h.card(role)
        ex = next(e for e in reversed(h.recorder.exchanges)
                  if e.url.endswith(AGENT_CARD_WELL_KNOWN_PATH) and e.url.startswith(ref.card_base))
        bindings = {i.protocol_binding: i for i in card.supported_interfaces}
        d = {
            'card_url': ex.url,
            'interfaces': [(i.protocol_binding, i.protocol_version, i.url) for i in card.supported_interfaces],
            'streaming': card.capabilities.streaming,
            'push_notifications': card.capabilities.push_notifications,
            'content_type': ex.response_headers.get('content-type'),
            'etag': ex.response_headers.get('etag'),
            'cache_control': ex.response_headers.get('cache-control'),
        }
        detail[role] = d
        for b in BINDINGS.values():
            check(b in bindings, f'{role}: card lacks {b}', **detail)
            check(bindings[b].protocol_version.startswith('1.0'), f'{role}: {b} not 1.0', **detail)
            check(origin(bindings[b].url) == origin(ref.card_base), f'{role}: {b} URL off-origin', **detail)
        check(card.capabilities.streaming, f'{role}: streaming not advertised', **detail)
    return detail


async def sc_disconnect(h: Harness) -> dict[str, Any]:
    """Drop a streaming client mid-task; the task must still COMPLETE (not be canceled)."""
    client, iface = await h.client('slow', streaming=True)
    request = SendMessageRequest(message=user_message(h.text('slow', '6')))
    task_id, seen = '', 0
    async with aclosing(client.send_message(request)) as events:
        async for ev in events:
            task_id = task_id or event_task_id(ev)
            seen += 1
            if seen >= 2:  # the Task plus one update, then hang up
                break
    # aclosing() closed the generator -> the SDK closed the HTTP response.
    poller, _ = await h.client('slow', streaming=False)
    deadline = time.monotonic() + 20
    task = await poller.get_task(GetTaskRequest(id=task_id))
    while task.status.state not in TERMINAL and time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        task = await poller.get_task(GetTaskRequest(id=task_id))
    detail = {'interface': iface.url, 'task_id': task_id, 'events_before_disconnect': seen,
              'final_state': state_name(task.status.state)}
    check(task.status.state == TaskState.TASK_STATE_COMPLETED,
          'task did not complete after client disconnect', **detail)
    return detail


SCENARIOS: dict[str, Callable[[Harness], Awaitable[dict[str, Any]]]] = {
    'send': sc_send,
    'stream': sc_stream,
    'get': sc_get,
    'cancel': sc_cancel,
    'list': sc_list,
    'subscribe': sc_subscribe,
    'input': sc_input,
    'card': sc_card,
    'disconnect': sc_disconnect,
}


async def run(args: argparse.Namespace) -> int:
    h = Harness(args)
    failed = 0
    try:
        for name in args.scenario or DEFAULT_SCENARIOS:
            started = time.monotonic()
            try:
                detail = await asyncio.wait_for(SCENARIOS[name](h), timeout=args.timeout)
                ok = True
            except ScenarioFailure as e:
                ok, detail = False, e.detail
            except asyncio.TimeoutError:
                ok, detail = False, {'error': f'timed out after {args.timeout}s'}
            except Exception as e:  # SDK errors (A2AClientError, ...) are failures too
                ok, detail = False, {'error': f'{type(e).__name__}: {e}'}
            detail = {'binding': h.binding, 'elapsed_ms': int((time.monotonic() - started) * 1000), **detail}
            print(json.dumps({'scenario': name, 'ok': ok, 'detail': detail}), flush=True)
            failed += not ok
    finally:
        await h.aclose()
    if args.wire:
        versions = sorted({e.request_headers.get('a2a-version', '<none>') for e in h.recorder.exchanges})
        print(f'[wire] A2A-Version values sent: {versions}', file=sys.stderr)
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description='A2A interop scenarios using the a2a-sdk 1.3.0 client.')
    ap.add_argument('--base', help='gateway base URL; agents live at {base}/agents/{name}')
    ap.add_argument('--binding', required=True, choices=sorted(BINDINGS))
    ap.add_argument('--scenario', action='append', choices=sorted(SCENARIOS),
                    help=f'repeatable; default: {" ".join(DEFAULT_SCENARIOS)} '
                         f'(extra, opt-in: {" ".join(EXTRA_SCENARIOS)})')
    ap.add_argument('--sdk-agent', metavar='NAME',
                    help='use {base}/agents/NAME (an sdk_agent.py) for every role')
    ap.add_argument('--direct-agent-url', metavar='URL',
                    help='talk to sdk_agent.py at URL directly (no gateway)')
    ap.add_argument('--timeout', type=float, default=60.0, help='per-scenario timeout (s)')
    ap.add_argument('--http-timeout', type=float, default=30.0, help='httpx read timeout (s)')
    ap.add_argument('--wire', action='store_true', help='log every HTTP exchange to stderr')
    ap.add_argument('--api-key', help="a Warden API key: fetch a fresh token per request from --token-url")
    ap.add_argument('--token-url', help="Warden's token endpoint (default {base}/oauth2/token)")
    ap.add_argument('--dpop', action='store_true', help='with --api-key: DPoP-bound tokens, reused with a fresh proof per call')
    args = ap.parse_args(argv)
    if bool(args.base) == bool(args.direct_agent_url):
        ap.error('give exactly one of --base or --direct-agent-url')
    if args.sdk_agent and not args.base:
        ap.error('--sdk-agent needs --base')
    if args.api_key and not args.token_url:
        if not args.base:
            ap.error('--api-key needs --token-url or --base')
        args.token_url = args.base.rstrip('/') + '/oauth2/token'
    return args


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == '__main__':
    main()
