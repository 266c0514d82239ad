#!/usr/bin/env python3
"""Warden's authorisation refusals as the OFFICIAL a2a-sdk 1.3.0 client sees them.

The SDK client (A2ACardResolver + ClientFactory + BaseClient, as in
client_scenarios.py) calls agents through the gateway and is refused; each
check asserts what the SDK raises (exception class, message, HTTP status) and,
from an httpx event hook, the bytes on the wire (JSON-RPC code and id,
`ErrorInfo.reason`, REST `google.rpc.Status`, headers). The Rust end-to-end
test (crates/warden/tests/e2e/interop_refusals.rs) sets the scene first:
callers, grants, revocations, quarantines, rate limits.

Cases (--case):
  scope               a skill the grant allows but the token's scope does not:
                      Forbidden (JSON-RPC -32600 on HTTP 200, REST 403).
  no-grant            pre-minted tokens (--token AGENT=TOKEN) for an unknown
                      agent (--ghost) and for --agent after the grant was
                      revoked: the very same not-found answer (JSON-RPC -32601
                      with id null, REST 404).
  api-key-no-grant    an API key (--x-api-key) for --agent, never granted, and
                      for --ghost: the very same 401.
  task                --other-api-key's caller against the task --api-key's
                      caller created: TaskNotFound, the answer for a missing task.
  quarantined-agent   --agent is quarantined: Forbidden; --control still works.
  quarantined-caller  pre-minted tokens of a quarantined caller: Forbidden.
  rate-limit          calls until HTTP 429 (both bindings), with Retry-After;
                      after waiting that long a call goes through.

Messages name their skill with Warden's skill extension: the skill id in
message.metadata["urn:warden:a2a:skill:v1"], the URI in message.extensions.

Output: one JSON line per check {"check":..,"ok":..,"detail":..}; exit status 1
if any check failed, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from a2a.client import A2ACardResolver, Client, ClientConfig, ClientFactory
from a2a.client.errors import A2AClientError
from a2a.types.a2a_pb2 import (
    AgentCard,
    CancelTaskRequest,
    GetTaskRequest,
    ListTasksRequest,
    Message,
    Part,
    Role,
    SendMessageConfiguration,
    SendMessageRequest,
    SubscribeToTaskRequest,
    TaskState,
)
from a2a.utils.constants import TransportProtocol
from a2a.utils.errors import InvalidRequestError, MethodNotFoundError, TaskNotFoundError


BINDINGS = {'jsonrpc': TransportProtocol.JSONRPC.value, 'rest': TransportProtocol.HTTP_JSON.value}
SKILL_EXTENSION = 'urn:warden:a2a:skill:v1'
ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo'


class CheckFailure(Exception):
    def __init__(self, message: str, **detail: Any):
        super().__init__(message)
        self.detail = {'error': message, **detail}


def check(cond: bool, message: str, **detail: Any) -> None:
    if not cond:
        raise CheckFailure(message, **detail)


# --------------------------------------------------------------------------
# The wire, as the SDK put it there and got it back.
# --------------------------------------------------------------------------


@dataclass
class Exchange:
    method: str
    url: str
    request_json: Any = None
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


class Recorder:
    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    async def on_request(self, request: httpx.Request) -> None:
        ex = Exchange(request.method, str(request.url))
        try:
            ex.request_json = json.loads(request.content) if request.content else None
        except (ValueError, httpx.RequestNotRead):
            pass
        request.extensions['refusals_exchange'] = ex
        self.exchanges.append(ex)

    async def on_response(self, response: httpx.Response) -> None:
        ex: Exchange | None = response.request.extensions.get('refusals_exchange')
        if ex is None:
            return
        ex.status = response.status_code
        ex.headers = {k.lower(): v for k, v in response.headers.items()}
        # Error answers are JSON even for streaming calls; never read an SSE body.
        if 'json' in response.headers.get('content-type', ''):
            await response.aread()
            try:
                ex.body = response.json()
            except ValueError:
                pass

    def last_a2a(self) -> Exchange:
        """The last exchange that was not a card or token fetch."""
        for ex in reversed(self.exchanges):
            if '/.well-known/' not in ex.url and '/oauth2/token' not in ex.url:
                return ex
        raise CheckFailure('no A2A exchange was recorded')


# --------------------------------------------------------------------------
# Credentials: a fresh token per call from the token endpoint (API key), a
# batch of pre-minted single-use tokens, or an API key sent as is.
# --------------------------------------------------------------------------


def audience_of(request: httpx.Request) -> str | None:
    path = request.url.path
    if '/.well-known/' in path:
        return None  # cards are public
    parts = [p for p in path.split('/') if p]
    return parts[parts.index('agents') + 1] if 'agents' in parts else None


class TokenEndpointAuth(httpx.Auth):
    """A fresh token per A2A request (Warden's tokens are single-use) from the
    token endpoint, the client authenticated by an API key; `scope` narrows it."""

    def __init__(self, token_url: str, api_key: str, scope: str | None):
        self.token_url, self.api_key, self.scope = token_url, api_key, scope

    async def async_auth_flow(self, request: httpx.Request):
        audience = audience_of(request)
        if audience is not None:
            data = {'grant_type': 'client_credentials', 'audience': audience}
            if self.scope is not None:
                data['scope'] = self.scope
            async with httpx.AsyncClient(timeout=10.0) as c:
                r = await c.post(self.token_url, data=data, headers={'X-API-Key': self.api_key})
                if r.status_code != 200:
                    raise CheckFailure('the token endpoint refused', status=r.status_code, body=r.text)
                request.headers['Authorization'] = f"Bearer {r.json()['access_token']}"
        yield request


class TokenBatchAuth(httpx.Auth):
    """Pre-minted tokens, used once each, per audience in the order given."""

    def __init__(self, tokens: dict[str, list[str]]):
        self.tokens = tokens

    async def async_auth_flow(self, request: httpx.Request):
        audience = audience_of(request)
        if audience is not None:
            batch = self.tokens.get(audience) or []
            if not batch:
                raise CheckFailure(f'no token left for audience {audience!r}')
            request.headers['Authorization'] = f'Bearer {batch.pop(0)}'
        yield request


class ApiKeyAuth(httpx.Auth):
    def __init__(self, key: str):
        self.key = key

    async def async_auth_flow(self, request: httpx.Request):
        if audience_of(request) is not None:
            request.headers['X-API-Key'] = self.key
        yield request


class Caller:
    """One caller: its httpx client (credential + recorder) and SDK clients."""

    def __init__(self, base: str, binding: str, auth: httpx.Auth):
        self.base = base.rstrip('/')
        self.binding = BINDINGS[binding]
        self.recorder = Recorder()
        self.http = httpx.AsyncClient(
            auth=auth,
            timeout=httpx.Timeout(30.0, connect=5.0),
            event_hooks={'request': [self.recorder.on_request], 'response': [self.recorder.on_response]},
        )
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
        self.cards: dict[str, AgentCard] = {}

    async def card(self, agent: str) -> AgentCard:
        if agent not in self.cards:
            resolver = A2ACardResolver(self.http, f'{self.base}/agents/{agent}')
            self.cards[agent] = await resolver.get_agent_card()
        return self.cards[agent]

    async def client(self, agent: str, *, streaming: bool = False, card_of: str | None = None) -> Client:
        """An SDK client for `agent`. With `card_of`, built from that agent's
        card with its interface URLs moved to `agent` (an agent that has no
        card, because it does not exist)."""
        card = AgentCard()
        card.CopyFrom(await self.card(card_of or agent))
        if card_of:
            for iface in card.supported_interfaces:
                iface.url = iface.url.replace(f'/agents/{card_of}', f'/agents/{agent}')
        return self.factories[streaming].create(card)

    async def aclose(self) -> None:
        await self.http.aclose()


def message(text: str, skill: str | None, *, task_id: str = '') -> Message:
    m = Message(role=Role.ROLE_USER, message_id=str(uuid.uuid4()), parts=[Part(text=text)], task_id=task_id)
    if skill is not None:
        m.metadata.update({SKILL_EXTENSION: skill})
        m.extensions.append(SKILL_EXTENSION)
    return m


async def send(client: Client, msg: Message, *, return_immediately: bool = False) -> list[Any]:
    request = SendMessageRequest(
        message=msg, configuration=SendMessageConfiguration(return_immediately=return_immediately)
    )
    return [r async for r in client.send_message(request)]


async def refused(call: Callable[[], Awaitable[Any]]) -> Exception:
    try:
        result = await call()
    except Exception as e:  # noqa: BLE001 - the refusal is the point
        return e
    raise CheckFailure('the call was not refused', result=str(result)[:300])


def error_info(details: Any) -> dict[str, Any]:
    for d in details if isinstance(details, list) else []:
        if isinstance(d, dict) and d.get('@type') == ERROR_INFO:
            return d
    return {}


def http_cause(e: Exception) -> httpx.Response | None:
    cause = e.__cause__
    return cause.response if isinstance(cause, httpx.HTTPStatusError) else None


def describe(e: Exception, ex: Exchange) -> dict[str, Any]:
    return {'exception': type(e).__name__, 'sdk_message': str(e)[:300], 'status': ex.status, 'body': ex.body}


# --------------------------------------------------------------------------
# What each refusal looks like
# --------------------------------------------------------------------------


def expect_forbidden(binding: str, e: Exception, ex: Exchange, message_part: str) -> dict[str, Any]:
    """JSON-RPC: InvalidRequestError (-32600) on HTTP 200, ErrorInfo reason
    PERMISSION_DENIED, the request's id. REST: HTTP 403, google.rpc.Status
    PERMISSION_DENIED; the SDK knows no such reason and raises A2AClientError."""
    d = describe(e, ex)
    if binding == 'jsonrpc':
        check(type(e) is InvalidRequestError, 'SDK did not raise InvalidRequestError', **d)
        check(message_part in e.message, f'message lacks {message_part!r}', **d)
        check(ex.status == 200, 'JSON-RPC error not on HTTP 200', **d)
        err = (ex.body or {}).get('error', {})
        check(err.get('code') == -32600, 'code is not -32600', **d)
        check(ex.body.get('id') == (ex.request_json or {}).get('id'), 'id is not the request id', **d)
        info = error_info(err.get('data'))
    else:
        check(type(e) is A2AClientError, 'SDK did not raise A2AClientError', **d)
        resp = http_cause(e)
        check(resp is not None and resp.status_code == 403, 'SDK error does not carry the HTTP 403', **d)
        check('403' in str(e), 'SDK message does not name 403', **d)
        err = (ex.body or {}).get('error', {})
        check(err.get('code') == 403 and err.get('status') == 'PERMISSION_DENIED',
              'REST body is not a 403 PERMISSION_DENIED google.rpc.Status', **d)
        check(message_part in err.get('message', ''), f'message lacks {message_part!r}', **d)
        info = error_info(err.get('details'))
    check(info.get('reason') == 'PERMISSION_DENIED' and info.get('domain') == 'warden.a2a',
          'ErrorInfo is not PERMISSION_DENIED in warden.a2a', **d)
    return d


def expect_not_found(binding: str, e: Exception, ex: Exchange) -> dict[str, Any]:
    """An unknown agent: JSON-RPC -32601 with id null; REST 404. The SDK
    raises MethodNotFoundError for both (REST: from the status, as the
    ErrorInfo reason NOT_FOUND is Warden's, not A2A's)."""
    d = describe(e, ex)
    check(type(e) is MethodNotFoundError, 'SDK did not raise MethodNotFoundError', **d)
    err = (ex.body or {}).get('error', {})
    if binding == 'jsonrpc':
        check(ex.status == 200, 'JSON-RPC error not on HTTP 200', **d)
        check(err.get('code') == -32601, 'code is not -32601', **d)
        check('id' in ex.body and ex.body['id'] is None, 'id is not null', **d)
        info = error_info(err.get('data'))
    else:
        check(ex.status == 404 and err.get('code') == 404 and err.get('status') == 'NOT_FOUND',
              'REST answer is not a 404 NOT_FOUND', **d)
        check(http_cause(e) is not None, 'SDK error does not carry the HTTP response', **d)
        info = error_info(err.get('details'))
    check(info.get('reason') == 'NOT_FOUND', 'ErrorInfo reason is not NOT_FOUND', **d)
    return d


def expect_task_not_found(binding: str, e: Exception, ex: Exchange, task_id: str) -> dict[str, Any]:
    """TaskNotFoundError in both bindings: -32001 (request id kept) or 404
    TASK_NOT_FOUND, message `task ID not found`."""
    d = describe(e, ex)
    check(type(e) is TaskNotFoundError, 'SDK did not raise TaskNotFoundError', **d)
    check(e.message == f'task {task_id} not found', 'unexpected message', **d)
    err = (ex.body or {}).get('error', {})
    if binding == 'jsonrpc':
        check(ex.status == 200 and err.get('code') == -32001, 'not -32001 on HTTP 200', **d)
        check(ex.body.get('id') == (ex.request_json or {}).get('id'), 'id is not the request id', **d)
        info = error_info(err.get('data'))
    else:
        check(ex.status == 404 and err.get('status') == 'NOT_FOUND', 'REST answer is not a 404', **d)
        info = error_info(err.get('details'))
    check(info.get('reason') == 'TASK_NOT_FOUND', 'ErrorInfo reason is not TASK_NOT_FOUND', **d)
    return d


def without_id(ex: Exchange, task_id: str) -> str:
    """The answer with the task id and the JSON-RPC id blanked, for comparing."""
    body = dict(ex.body or {})
    body.pop('id', None)
    return json.dumps({'status': ex.status, 'body': body}, sort_keys=True).replace(task_id, 'TASK')


# --------------------------------------------------------------------------
# Cases: each yields (check name, coroutine returning detail)
# --------------------------------------------------------------------------


async def case_scope(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    out = []
    narrow = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.api_key, a.scope))
    wide = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.api_key, a.skill))
    try:
        for streaming in (False, True):
            client = await narrow.client(a.agent, streaming=streaming)
            e = await refused(lambda: send(client, message('out of scope', a.skill)))
            d = expect_forbidden(a.binding, e, narrow.recorder.last_a2a(), f'skill "{a.skill}" is not allowed')
            out.append((f'scope:{"stream" if streaming else "send"}', d))
        # The same caller, the same skill, a token scoped to it: allowed.
        client = await wide.client(a.agent)
        got = await send(client, message('in scope', a.skill))
        state = got[0].task.status.state
        check(state == TaskState.TASK_STATE_COMPLETED, 'in-scope call did not complete',
              state=TaskState.Name(state))
        out.append(('scope:control', {'state': TaskState.Name(state)}))
    finally:
        await narrow.aclose()
        await wide.aclose()
    return out


async def case_no_grant(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    tokens: dict[str, list[str]] = {}
    for spec in a.token:
        aud, _, token = spec.partition('=')
        tokens.setdefault(aud, []).append(token)
    caller = Caller(a.base, a.binding, TokenBatchAuth(tokens))
    out = []
    try:
        seen: dict[str, dict[str, str]] = {}
        for target in (a.ghost, a.agent):
            client = await caller.client(target, card_of=a.agent)
            answers: dict[str, str] = {}
            e = await refused(lambda: send(client, message('anyone there?', a.skill)))
            ex = caller.recorder.last_a2a()
            out.append((f'no-grant:{target}:send', expect_not_found(a.binding, e, ex)))
            answers['send'] = json.dumps([ex.status, ex.body], sort_keys=True)
            missing = str(uuid.uuid4())
            e = await refused(lambda: client.get_task(GetTaskRequest(id=missing)))
            ex = caller.recorder.last_a2a()
            out.append((f'no-grant:{target}:get', expect_not_found(a.binding, e, ex)))
            answers['get'] = json.dumps([ex.status, ex.body], sort_keys=True)
            seen[target] = answers
        check(seen[a.ghost] == seen[a.agent], 'the revoked grant is told apart from an unknown agent', seen=seen)
        out.append(('no-grant:same-answer', {'answers': seen[a.agent]}))
    finally:
        await caller.aclose()
    return out


async def case_api_key_no_grant(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    caller = Caller(a.base, a.binding, ApiKeyAuth(a.x_api_key))
    out = []
    try:
        seen = {}
        for target in (a.ghost, a.agent):
            client = await caller.client(target, card_of=a.agent)
            e = await refused(lambda: send(client, message('anyone there?', a.skill)))
            ex = caller.recorder.last_a2a()
            d = describe(e, ex) | {'www_authenticate': ex.headers.get('www-authenticate')}
            check(type(e) is A2AClientError and ex.status == 401, 'not an HTTP 401', **d)
            resp = http_cause(e)
            check(resp is not None and resp.status_code == 401, 'SDK error does not carry the 401', **d)
            check(ex.headers.get('www-authenticate', '').startswith('Bearer'), 'no Bearer challenge', **d)
            body = dict(ex.body or {})
            body.pop('id', None)  # the SDK's request id
            seen[target] = json.dumps([ex.status, body, ex.headers.get('www-authenticate')], sort_keys=True)
            out.append((f'api-key-no-grant:{target}', d))
        check(seen[a.ghost] == seen[a.agent], 'an ungranted agent is told apart from an unknown one', seen=seen)
        out.append(('api-key-no-grant:same-answer', {'answer': seen[a.agent]}))
    finally:
        await caller.aclose()
    return out


async def case_task(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    owner = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.api_key, None))
    other = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.other_api_key, None))
    out = []
    try:
        mine = await owner.client(a.agent)
        sent = await send(mine, message('50', a.skill), return_immediately=True)
        task_id = sent[0].task.id
        check(bool(task_id), 'no task created', sent=str(sent)[:300])
        theirs = await other.client(a.agent)
        theirs_streaming = await other.client(a.agent, streaming=True)
        missing = str(uuid.uuid4())
        calls: dict[str, Callable[[str], Callable[[], Awaitable[Any]]]] = {
            'get': lambda t: lambda: theirs.get_task(GetTaskRequest(id=t)),
            'cancel': lambda t: lambda: theirs.cancel_task(CancelTaskRequest(id=t)),
            'subscribe': lambda t: lambda: drain(theirs_streaming.subscribe(SubscribeToTaskRequest(id=t))),
            'send': lambda t: lambda: send(theirs, message('let me in', a.skill, task_id=t)),
        }
        for name, call in calls.items():
            e = await refused(call(task_id))
            foreign = other.recorder.last_a2a()
            d = expect_task_not_found(a.binding, e, foreign, task_id)
            e = await refused(call(missing))
            absent = other.recorder.last_a2a()
            expect_task_not_found(a.binding, e, absent, missing)
            check(without_id(foreign, task_id) == without_id(absent, missing),
                  'a foreign task is told apart from a missing one',
                  foreign=foreign.body, missing=absent.body)
            out.append((f'task:{name}', d))
        listed = await theirs.list_tasks(ListTasksRequest(page_size=50))
        ids = [t.id for t in listed.tasks]
        check(task_id not in ids and listed.total_size == 0, "ListTasks shows another caller's task",
              ids=ids, total_size=listed.total_size)
        out.append(('task:list', {'ids': ids, 'total_size': listed.total_size}))
        # The owner still has it, and cancels it.
        got = await mine.get_task(GetTaskRequest(id=task_id))
        check(got.id == task_id, 'the owner lost the task')
        canceled = await mine.cancel_task(CancelTaskRequest(id=task_id))
        check(canceled.status.state == TaskState.TASK_STATE_CANCELED, 'the owner could not cancel')
        out.append(('task:owner-control', {'task_id': task_id}))
    finally:
        await owner.aclose()
        await other.aclose()
    return out


async def drain(events: Any) -> list[Any]:
    return [ev async for ev in events]


async def case_quarantined_agent(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    caller = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.api_key, None))
    out = []
    try:
        client = await caller.client(a.agent)
        e = await refused(lambda: send(client, message('hello?', a.skill)))
        d = expect_forbidden(a.binding, e, caller.recorder.last_a2a(), f'agent "{a.agent}" is quarantined')
        out.append(('quarantined-agent:send', d))
        client = await caller.client(a.agent, streaming=True)
        e = await refused(lambda: send(client, message('hello?', a.skill)))
        d = expect_forbidden(a.binding, e, caller.recorder.last_a2a(), f'agent "{a.agent}" is quarantined')
        out.append(('quarantined-agent:stream', d))
        # The caller itself is not quarantined: another agent still answers.
        control = await caller.client(a.control)
        got = await send(control, message('1', a.control_skill))
        check(bool(got) and got[0].HasField('task'), 'the control call failed', got=str(got)[:300])
        out.append(('quarantined-agent:control', {'agent': a.control}))
    finally:
        await caller.aclose()
    return out


async def case_quarantined_caller(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    tokens: dict[str, list[str]] = {}
    for spec in a.token:
        aud, _, token = spec.partition('=')
        tokens.setdefault(aud, []).append(token)
    caller = Caller(a.base, a.binding, TokenBatchAuth(tokens))
    out = []
    try:
        client = await caller.client(a.agent)
        e = await refused(lambda: send(client, message('hello?', a.skill)))
        d = expect_forbidden(a.binding, e, caller.recorder.last_a2a(), 'the calling agent is quarantined')
        out.append(('quarantined-caller:send', d))
    finally:
        await caller.aclose()
    return out


async def case_rate_limit(a: argparse.Namespace) -> list[tuple[str, dict[str, Any]]]:
    caller = Caller(a.base, a.binding, TokenEndpointAuth(a.token_url, a.api_key, None))
    out = []
    try:
        client = await caller.client(a.agent)
        allowed, e = 0, None
        for _ in range(20):
            try:
                await send(client, message('again', a.skill))
                allowed += 1
            except A2AClientError as err:
                e = err
                break
        check(e is not None, 'never rate limited', allowed=allowed)
        ex = caller.recorder.last_a2a()
        d = describe(e, ex) | {'allowed_before': allowed,
                               'headers': {k: v for k, v in ex.headers.items()
                                           if k.startswith('ratelimit') or k == 'retry-after'}}
        # The SDK does not map 429: a plain A2AClientError carrying the response.
        check(type(e) is A2AClientError and '429' in str(e), 'SDK error does not name HTTP 429', **d)
        resp = http_cause(e)
        check(resp is not None and resp.status_code == 429, 'SDK error does not carry the 429', **d)
        retry = resp.headers.get('retry-after', '')
        check(retry.isdigit() and int(retry) >= 1, 'no Retry-After of at least 1 s', **d)
        check(resp.headers.get('ratelimit-remaining') == '0', 'RateLimit-Remaining is not 0', **d)
        check(resp.headers.get('ratelimit-limit') == str(a.burst), 'RateLimit-Limit is not the burst', **d)
        err = (ex.body or {}).get('error', {})
        if a.binding == 'jsonrpc':
            check(err.get('code') == -32600, 'JSON-RPC code is not -32600', **d)
            check(ex.body.get('id') == (ex.request_json or {}).get('id'), 'id is not the request id', **d)
            info = error_info(err.get('data'))
        else:
            check(err.get('code') == 429 and err.get('status') == 'RESOURCE_EXHAUSTED',
                  'REST body is not a 429 RESOURCE_EXHAUSTED google.rpc.Status', **d)
            info = error_info(err.get('details'))
        check(info.get('reason') == 'RATE_LIMITED', 'ErrorInfo reason is not RATE_LIMITED', **d)
        out.append(('rate-limit:429', d))
        # Waiting as told is enough.
        await asyncio.sleep(int(retry))
        got = await send(client, message('after waiting', a.skill))
        check(bool(got), 'the call after Retry-After failed')
        after = caller.recorder.last_a2a()
        out.append(('rate-limit:after-retry-after', {'waited_s': int(retry), 'status': after.status,
                                                     'remaining': after.headers.get('ratelimit-remaining')}))
    finally:
        await caller.aclose()
    return out


CASES: dict[str, Callable[[argparse.Namespace], Awaitable[list[tuple[str, dict[str, Any]]]]]] = {
    'scope': case_scope,
    'no-grant': case_no_grant,
    'api-key-no-grant': case_api_key_no_grant,
    'task': case_task,
    'quarantined-agent': case_quarantined_agent,
    'quarantined-caller': case_quarantined_caller,
    'rate-limit': case_rate_limit,
}


async def run(a: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        results = await asyncio.wait_for(CASES[a.case](a), timeout=a.timeout)
        for name, detail in results:
            print(json.dumps({'check': name, 'ok': True, 'binding': a.binding, 'detail': detail}, default=str))
        return 0
    except CheckFailure as e:
        detail = e.detail
    except asyncio.TimeoutError:
        detail = {'error': f'timed out after {a.timeout}s'}
    except Exception as e:  # noqa: BLE001 - any SDK surprise is a failure
        detail = {'error': f'{type(e).__name__}: {e!r}'}
    detail['elapsed_ms'] = int((time.monotonic() - started) * 1000)
    print(json.dumps({'check': a.case, 'ok': False, 'binding': a.binding, 'detail': detail}, default=str))
    return 1


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description="Warden's authorisation refusals through the a2a-sdk 1.3.0 client.")
    ap.add_argument('--base', required=True, help='gateway base URL; agents at {base}/agents/{name}')
    ap.add_argument('--binding', required=True, choices=sorted(BINDINGS))
    ap.add_argument('--case', required=True, choices=sorted(CASES))
    ap.add_argument('--agent', default='echo', help='the agent the refused calls go to')
    ap.add_argument('--skill', default='echo', help="the skill messages to --agent name")
    ap.add_argument('--ghost', default='ghost', help='an agent name the gateway does not have')
    ap.add_argument('--control', default='slow', help='an agent the caller may still call')
    ap.add_argument('--control-skill', default='count')
    ap.add_argument('--api-key', help="the caller's API key, for the token endpoint")
    ap.add_argument('--other-api-key', help="the second caller's API key (task)")
    ap.add_argument('--x-api-key', help='an API key sent to the gateway as X-API-Key (api-key-no-grant)')
    ap.add_argument('--scope', default='none', help='the scope to ask the token endpoint for (scope)')
    ap.add_argument('--token', action='append', default=[], metavar='AUDIENCE=TOKEN',
                    help='a pre-minted single-use token (repeatable)')
    ap.add_argument('--burst', type=int, default=2, help='the burst of the rate limit in force (rate-limit)')
    ap.add_argument('--timeout', type=float, default=90.0)
    a = ap.parse_args(argv)
    a.token_url = a.base.rstrip('/') + '/oauth2/token'
    needs = {'scope': 'api_key', 'task': 'other_api_key', 'quarantined-agent': 'api_key',
             'rate-limit': 'api_key', 'api-key-no-grant': 'x_api_key'}
    if a.case in needs and not getattr(a, needs[a.case]):
        ap.error(f'--case {a.case} needs --{needs[a.case].replace("_", "-")}')
    if a.case == 'task' and not a.api_key:
        ap.error('--case task needs --api-key too')
    if a.case in ('no-grant', 'quarantined-caller') and not a.token:
        ap.error(f'--case {a.case} needs --token')
    return a


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == '__main__':
    main()
