#!/usr/bin/env python3
"""Fidelity test: the same A2A conversations straight at an agent and through Warden.

A fixed script of conversations (send, stream, get with historyLength, a
multi-turn conversation and its history, cancel, ListTasks with filters and
paging, push-config create/get/list/delete, two refusals) is run twice per
binding: once straight at the agent (--straight) and once at the same agent
through Warden (--through). Every answer of the second run is then compared
with the answer to the same step of the first, field by field: the HTTP
status, the media type, and the whole JSON body (each SSE event of a stream).

The two runs create different tasks, so generated values are normalised
first: every id (task, context, message, artifact, push config, page token)
becomes a placeholder numbered in order of first appearance within its run
(`<id1>`, `<id2>`, ...), and RFC 3339 timestamps become `<timestamp>`. Equal
ids stay equal and different ids stay different, so the structure (which
task an event names, which context a task is in) is still compared.

The requests are written by hand with httpx, not through an SDK client, so
that the exact field spellings are under our control:

  --spelling camel   lowerCamelCase JSON names (what SDK clients send)
  --spelling snake   every field name of a JSON body as its proto field name
                     (task_id, page_size, history_length, ...), as ProtoJSON
                     parsers must accept and the A2A TCK sends. Keys inside
                     free-form maps (`metadata`, a data part's `data`) are the
                     sender's own and stay as written. REST query parameters
                     stay camelCase (spec 11.5; the SDK's REST server ignores
                     a snake_case query parameter, which would turn a filtered
                     listing into an unfiltered one rather than test anything).
  --extra-fields     an unknown member in every request object (not inside
                     free-form maps): receivers SHOULD ignore unknown fields
                     (spec 5.7), and Warden's `[protocol] unknown_fields =
                     "drop"` removes them.

The script assumes the agent behaves like sdk_agent.py (echo, "slow:N",
"ask:...", "hold:N"). Against another agent the comparison still works, but
pass --no-expect, since the checks that a step succeeded or failed as the
script expects are written for sdk_agent.py.

Output: one JSON line per step, {"binding", "step", "method", "ok", ...}, with
"diff" (path, straight, through) when the answers differ, then one summary
line. Exit status 0 when every step matched, 1 otherwise, 2 on usage errors.

  python fidelity.py --straight http://127.0.0.1:9000 \\
      --through http://127.0.0.1:8080/agents/sdk --api-key "$KEY"
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import re
import sys
import time
import uuid

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx


BINDINGS = {'jsonrpc': 'JSONRPC', 'rest': 'HTTP+JSON'}

# Members whose value is a google.protobuf.Struct or Value: their keys are
# the sender's data, not proto field names, so neither --spelling nor
# --extra-fields may touch what is inside them.
FREE_FORM = frozenset({'metadata', 'data'})

UNKNOWN_FIELD = 'wardenFidelityUnknown'
UNKNOWN_VALUE = {'note': 'a member A2A v1.0 does not define', 'depth': [1, 2]}

# Members of A2A answers whose string values are generated per run.
ID_KEYS = frozenset(
    {'id', 'taskId', 'contextId', 'messageId', 'artifactId', 'nextPageToken', 'pageToken'}
)
ID_LIST_KEYS = frozenset({'referenceTaskIds'})
TIMESTAMP_KEYS = frozenset({'timestamp'})
RFC3339 = re.compile(r'^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$')

MAX_DIFFS = 20  # per step, to keep a line readable


# --------------------------------------------------------------------------
# Spelling of requests
# --------------------------------------------------------------------------


def snake(name: str) -> str:
    """lowerCamelCase JSON name -> proto field name (taskId -> task_id)."""
    return re.sub(r'(?<!^)([A-Z])', r'_\1', name).lower()


@dataclass(frozen=True)
class Spelling:
    snake_case: bool = False
    extra_fields: bool = False

    def name(self, camel: str) -> str:
        return snake(camel) if self.snake_case else camel

    def body(self, value: Any) -> Any:
        """A request message written in camelCase, rewritten in this spelling.

        Every JSON object reached is a proto message (the script writes no
        other objects outside free-form maps), so each gets the unknown member
        with --extra-fields."""
        if isinstance(value, list):
            return [self.body(v) for v in value]
        if not isinstance(value, dict):
            return value
        out = {
            self.name(k): (v if k in FREE_FORM else self.body(v)) for k, v in value.items()
        }
        if self.extra_fields:
            out[self.name(UNKNOWN_FIELD)] = UNKNOWN_VALUE
        return out


# --------------------------------------------------------------------------
# Normalising and comparing answers
# --------------------------------------------------------------------------


class Normaliser:
    """Maps each generated value of one run to a stable placeholder."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}

    def placeholder(self, value: str) -> str:
        if value == '':
            return ''  # e.g. nextPageToken "" on the last page: compare as is
        if value not in self.ids:
            self.ids[value] = f'<id{len(self.ids) + 1}>'
        return self.ids[value]

    def known(self, value: str) -> str:
        """Registers a value this run generated itself (a message id sent, an
        id that names nothing), so that it maps to the same placeholder in
        both runs however the answer spells it, even inside a text."""
        self.placeholder(value)
        return value

    def text(self, value: str) -> str:
        # Error messages may quote an id ("Task <id> is in terminal state").
        for raw in sorted(self.ids, key=len, reverse=True):
            if raw in value:
                value = value.replace(raw, self.ids[raw])
        return value

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            # Sorted keys: placeholders are numbered the same way whatever
            # order the members were serialised in (JSON objects have none).
            return {k: self(value[k], k) for k in sorted(value)}
        if isinstance(value, list):
            inner = key if key in ID_LIST_KEYS else None
            return [self(v, inner) for v in value]
        if isinstance(value, str):
            if key in ID_KEYS or key in ID_LIST_KEYS:
                return self.placeholder(value)
            if key in TIMESTAMP_KEYS and RFC3339.match(value):
                return '<timestamp>'
            return self.text(value)
        return value


def diff(a: Any, b: Any, path: str = '$') -> list[dict[str, Any]]:
    """Field-by-field differences between two normalised answers. Types are
    compared strictly: 1 and 1.0, or true and 1, are different answers."""
    if type(a) is not type(b):
        return [{'path': path, 'straight': a, 'through': b}]
    if isinstance(a, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append({'path': f'{path}.{k}', 'straight': a[k], 'through': '<absent>'})
            elif k not in a:
                out.append({'path': f'{path}.{k}', 'straight': '<absent>', 'through': b[k]})
            else:
                out.extend(diff(a[k], b[k], f'{path}.{k}'))
        return out
    if isinstance(a, list):
        out = []
        if len(a) != len(b):
            out.append({'path': f'{path}.length', 'straight': len(a), 'through': len(b)})
        for i, (x, y) in enumerate(zip(a, b)):
            out.extend(diff(x, y, f'{path}[{i}]'))
        return out
    return [] if a == b else [{'path': path, 'straight': a, 'through': b}]


# --------------------------------------------------------------------------
# Talking to one target in one binding
# --------------------------------------------------------------------------


class WardenTokenAuth(httpx.Auth):
    """A fresh single-use access token from Warden's token endpoint for every
    request, the client authenticated with an API key (as client_scenarios.py
    does). Card fetches go without one."""

    def __init__(self, token_url: str, api_key: str, audience: str):
        self.token_url = token_url
        self.api_key = api_key
        self.audience = audience

    async def async_auth_flow(self, request: httpx.Request):
        if '/.well-known/' not in request.url.path:
            async with httpx.AsyncClient(timeout=10.0) as c:
                r = await c.post(
                    self.token_url,
                    data={'grant_type': 'client_credentials', 'audience': self.audience},
                    headers={'X-API-Key': self.api_key},
                )
                r.raise_for_status()
                request.headers['Authorization'] = f"Bearer {r.json()['access_token']}"
        yield request


@dataclass
class Target:
    label: str  # 'straight' or 'through'
    card_base: str  # the card is at {card_base}/.well-known/agent-card.json
    auth: httpx.Auth | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Headers an answer may set that go back on every later call of the run
    # (Warden-Capability: how an anonymous caller of a public agent stays
    # the owner of the tasks it created).
    carry: tuple[str, ...] = ()


@dataclass
class Answer:
    status: int
    media_type: str
    body: Any  # parsed JSON; for a stream, a list of {"event"?, "data"}

    def comparable(self) -> dict[str, Any]:
        return {'status': self.status, 'mediaType': self.media_type, 'body': self.body}

    def result(self, binding: str) -> Any:
        """The A2A result of a successful answer (JSON-RPC `result`, REST body)."""
        if not isinstance(self.body, dict) or self.status // 100 != 2:
            return None
        return self.body.get('result') if binding == 'jsonrpc' else self.body

    def is_error(self) -> bool:
        if self.status // 100 != 2:
            return True
        if isinstance(self.body, dict) and 'error' in self.body:
            return True
        # A stream whose events carry an error (JSON-RPC error, or REST `event: error`).
        if isinstance(self.body, list):
            return any(
                e.get('event') == 'error' or (isinstance(e.get('data'), dict) and 'error' in e['data'])
                for e in self.body
            )
        return False

    def summary(self, binding: str) -> str:
        if self.is_error():
            err = self.body.get('error') if isinstance(self.body, dict) else None
            if not isinstance(err, dict):
                return f'error {self.status}'
            # JSON-RPC error `data` or REST google.rpc.Status `details`.
            details = err.get('data') if binding == 'jsonrpc' else err.get('details')
            reasons = [d.get('reason') for d in details if isinstance(d, dict) and d.get('reason')] \
                if isinstance(details, list) else []
            return ' '.join(['error', str(self.status), str(err.get('code')), *reasons])
        if isinstance(self.body, list):
            return f'stream of {len(self.body)} events'
        r = self.result(binding)
        if isinstance(r, dict):
            task = r.get('task', r)
            state = task.get('status', {}).get('state') if isinstance(task, dict) else None
            if state:
                return f'{self.status} {state}'
            return f'{self.status} {",".join(sorted(r)) or "{}"}'
        return f'{self.status} {json.dumps(r)}'


def rest_route(method: str, params: dict[str, Any]) -> tuple[str, str, dict[str, Any], dict[str, Any] | None]:
    """The HTTP+JSON form of a request message: verb, path, query fields and
    body (spec 11.3; path parameters taken out of the message)."""
    p = dict(params)
    seg = lambda v: quote(str(v), safe='')  # noqa: E731
    if method == 'SendMessage':
        return 'POST', '/message:send', {}, p
    if method == 'SendStreamingMessage':
        return 'POST', '/message:stream', {}, p
    if method == 'GetTask':
        return 'GET', f'/tasks/{seg(p.pop("id"))}', p, None
    if method == 'ListTasks':
        return 'GET', '/tasks', p, None
    if method == 'CancelTask':
        return 'POST', f'/tasks/{seg(p.pop("id"))}:cancel', {}, p
    task = seg(p.pop('taskId'))
    if method == 'CreateTaskPushNotificationConfig':
        return 'POST', f'/tasks/{task}/pushNotificationConfigs', {}, p
    if method == 'ListTaskPushNotificationConfigs':
        return 'GET', f'/tasks/{task}/pushNotificationConfigs', p, None
    config = seg(p.pop('id'))
    if method == 'GetTaskPushNotificationConfig':
        return 'GET', f'/tasks/{task}/pushNotificationConfigs/{config}', p, None
    if method == 'DeleteTaskPushNotificationConfig':
        return 'DELETE', f'/tasks/{task}/pushNotificationConfigs/{config}', p, None
    raise ValueError(f'no REST route for {method}')


def query_value(v: Any) -> str:
    if isinstance(v, bool):
        return 'true' if v else 'false'
    return str(v)


def parse_json(raw: str | bytes) -> Any:
    """A JSON body or event payload; what is not JSON is kept as text, so that
    it is compared (and shown) rather than crashing the run."""
    try:
        return json.loads(raw)
    except ValueError:
        return {'unparsed': raw.decode(errors='replace') if isinstance(raw, bytes) else raw}


async def read_sse(response: httpx.Response) -> list[dict[str, Any]]:
    """The events of an SSE response: each `data:` payload parsed as JSON, with
    the `event:` name when there is one. Comments (keep-alives) are skipped."""
    events: list[dict[str, Any]] = []
    data: list[str] = []
    name: str | None = None

    def flush() -> None:
        if data:
            events.append({'data': parse_json('\n'.join(data))} | ({'event': name} if name else {}))

    async for line in response.aiter_lines():
        if line == '':
            flush()
            data, name = [], None
        elif line.startswith(':'):
            continue
        elif line.startswith('data:'):
            data.append(line[5:].removeprefix(' '))
        elif line.startswith('event:'):
            name = line[6:].strip()
    flush()  # a last event without its blank line
    return events


class Conversation:
    """One run of the script against one target in one binding."""

    def __init__(self, target: Target, binding: str, spelling: Spelling, http: httpx.AsyncClient):
        self.target = target
        self.binding = binding
        self.spelling = spelling
        self.http = http
        self.url = ''
        self.steps_run = 0
        self.norm = Normaliser()
        self.answers: dict[str, Answer] = {}
        self.normalised: dict[str, Any] = {}
        self.carried: dict[str, str] = {}

    async def discover(self) -> None:
        """The interface URL for this binding, from the target's card."""
        r = await self.http.get(
            f'{self.target.card_base}/.well-known/agent-card.json',
            headers={'A2A-Version': '1.0', **self.target.headers},
        )
        r.raise_for_status()
        card = r.json()
        for iface in card.get('supportedInterfaces', []):
            if iface.get('protocolBinding', '').upper() == BINDINGS[self.binding] and str(
                iface.get('protocolVersion', '')
            ).startswith('1.'):
                self.url = iface['url'].rstrip('/')
                return
        raise RuntimeError(f'{self.target.label}: the card offers no v1.0 {BINDINGS[self.binding]} interface')

    async def call(
        self, method: str, params: dict[str, Any], *, stream: bool = False, rpc_id: int | str = 'poll'
    ) -> Answer:
        headers = {'A2A-Version': '1.0', **self.target.headers, **self.carried}
        if stream:
            headers['Accept'] = 'text/event-stream'
        if self.binding == 'jsonrpc':
            body: Any = {
                'jsonrpc': '2.0',
                'id': rpc_id,
                'method': method,
                'params': self.spelling.body(params),
            }
            verb, url, content_type = 'POST', self.url, 'application/json'
        else:
            verb, path, query, raw = rest_route(method, params)
            url = self.url + path
            if raw is None and self.spelling.extra_fields:
                # GET and DELETE carry their fields in the query: an unknown
                # parameter there (the SDK ignores it; Warden refuses or drops it).
                query[UNKNOWN_FIELD] = 'x'
            if query:
                # camelCase always: see the module docstring.
                url += '?' + urlencode({k: query_value(v) for k, v in query.items()})
            body = None if raw is None else self.spelling.body(raw)
            content_type = 'application/a2a+json'
        if body is not None:
            headers['Content-Type'] = content_type
        request = self.http.build_request(
            verb, url, headers=headers, content=None if body is None else json.dumps(body).encode()
        )
        response = await self.http.send(request, auth=self.target.auth, stream=True)
        for name in self.target.carry:
            if name in response.headers and name not in self.carried:
                self.carried[name] = response.headers[name]
        try:
            media_type = response.headers.get('content-type', '').split(';')[0].strip().lower()
            if media_type == 'text/event-stream':
                parsed: Any = await read_sse(response)
            else:
                raw_body = await response.aread()
                parsed = parse_json(raw_body) if raw_body else None
        finally:
            await response.aclose()
        return Answer(response.status_code, media_type, parsed)

    async def step(self, name: str, method: str, params: dict[str, Any], *, stream: bool = False) -> Answer:
        # The JSON-RPC id counts recorded steps only, so that it is the same
        # in both runs however many unrecorded polls one of them needed.
        self.steps_run += 1
        answer = await self.call(method, params, stream=stream, rpc_id=self.steps_run)
        self.answers[name] = answer
        self.normalised[name] = self.norm(answer.comparable())
        return answer

    # Helpers the script uses to carry this run's ids from step to step.

    def task_of(self, answer: Answer) -> dict[str, Any]:
        r = answer.result(self.binding)
        if isinstance(r, dict) and isinstance(r.get('task'), dict):
            return r['task']
        if isinstance(r, dict) and 'status' in r:
            return r
        if isinstance(answer.body, list) and answer.body:
            first = answer.body[0].get('data', {})
            first = first.get('result', first) if self.binding == 'jsonrpc' else first
            if isinstance(first, dict) and isinstance(first.get('task'), dict):
                return first['task']
        return {}

    def result(self, answer: Answer) -> dict[str, Any]:
        r = answer.result(self.binding)
        return r if isinstance(r, dict) else {}

    def message_id(self) -> str:
        return self.norm.known(f'fid-{uuid.uuid4()}')

    def user_message(self, text: str, **ids: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            'role': 'ROLE_USER',
            'messageId': self.message_id(),
            'parts': [{'text': text}],
        }
        message.update({k: v for k, v in ids.items() if v})
        return message

    async def wait_for_state(self, task_id: str, state: str, timeout: float) -> None:
        """Polls GetTask (not recorded) until the task is in `state`: the next
        step needs the agent to have got there, whatever the machine's speed."""
        deadline = time.monotonic() + timeout
        while True:
            answer = await self.call('GetTask', {'id': task_id, 'historyLength': 0})
            if self.task_of(answer).get('status', {}).get('state') == state or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.02)


# --------------------------------------------------------------------------
# The script
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    name: str
    method: str
    expect_error: bool = False  # what sdk_agent.py answers straight


STEPS: list[Step] = [
    Step('send', 'SendMessage'),
    Step('send_configured', 'SendMessage'),
    Step('stream', 'SendStreamingMessage'),
    Step('get', 'GetTask'),
    Step('get_history_0', 'GetTask'),
    Step('get_history_1', 'GetTask'),
    Step('ask', 'SendMessage'),
    Step('ask_follow_up', 'SendMessage'),
    Step('history', 'GetTask'),
    Step('hold', 'SendMessage'),
    Step('cancel', 'CancelTask'),
    Step('cancel_again', 'CancelTask', expect_error=True),
    Step('list_context', 'ListTasks'),
    Step('list_page_1', 'ListTasks'),
    Step('list_page_2', 'ListTasks'),
    Step('list_page_3', 'ListTasks'),
    Step('list_completed', 'ListTasks'),
    Step('list_canceled', 'ListTasks'),
    Step('push_create', 'CreateTaskPushNotificationConfig'),
    Step('push_create_default_id', 'CreateTaskPushNotificationConfig'),
    Step('push_get', 'GetTaskPushNotificationConfig'),
    Step('push_list', 'ListTaskPushNotificationConfigs'),
    Step('push_delete', 'DeleteTaskPushNotificationConfig'),
    Step('push_list_after_delete', 'ListTaskPushNotificationConfigs'),
    Step('push_get_deleted', 'GetTaskPushNotificationConfig', expect_error=True),
    Step('get_missing', 'GetTask', expect_error=True),
]
STEP_BY_NAME = {s.name: s for s in STEPS}


async def script(c: Conversation, push_url: str, skip: frozenset[str]) -> None:
    """The conversations, in one context of their own (the agent names it on
    the first answer), so that ListTasks filtered by it sees only this run's
    tasks even when both runs reach the same agent."""

    async def step(name: str, params: dict[str, Any], *, stream: bool = False) -> Answer | None:
        if name in skip:
            return None
        return await c.step(name, STEP_BY_NAME[name].method, params, stream=stream)

    def task(answer: Answer | None) -> dict[str, Any]:
        return c.task_of(answer) if answer else {}

    # 1. A first message: a text part, a data part and metadata whose keys are
    # the sender's own (a camelCase, a snake_case and a nested one), which no
    # spelling may change. The task's history shows them back.
    first = c.user_message('hello fidelity')
    first['parts'].append({'data': {'camelKey': 1, 'snake_key': 'two', 'nestedMap': {'innerKey': True}}})
    first['metadata'] = {'traceTag': 'fidelity', 'snake_tag': ['a', 'b'], 'nestedMap': {'someKey': 1}}
    sent = await step('send', {'message': first, 'metadata': {'requestTag': 'send'}})
    t1 = task(sent)
    context = t1.get('contextId', 'no-context')
    t1_id = t1.get('id', 'no-task')

    # 2. Same context, with a configuration: output modes, no history back.
    await step(
        'send_configured',
        {
            'message': c.user_message('second in context', contextId=context),
            'configuration': {
                'acceptedOutputModes': ['text/plain'],
                'historyLength': 0,
                'returnImmediately': False,
            },
        },
    )

    # 3. A stream: the Task, two WORKING updates, the artifact, COMPLETED.
    streamed = await step(
        'stream', {'message': c.user_message('slow:2', contextId=context)}, stream=True
    )
    t3_id = task(streamed).get('id', 'no-task')

    # 4. GetTask: whole, with no history, with the last message only.
    await step('get', {'id': t1_id})
    await step('get_history_0', {'id': t3_id, 'historyLength': 0})
    await step('get_history_1', {'id': t3_id, 'historyLength': 1})

    # 5. A multi-turn conversation and its history.
    asked = await step('ask', {'message': c.user_message('ask:who?', contextId=context)})
    t4_id = task(asked).get('id', 'no-task')
    await step('ask_follow_up', {'message': c.user_message('Ada', taskId=t4_id, contextId=context)})
    await step('history', {'id': t4_id, 'historyLength': 10})

    # 6. Cancel a task that holds in WORKING; cancelling it again is refused.
    held = await step(
        'hold',
        {
            'message': c.user_message('hold:60', contextId=context),
            'configuration': {'returnImmediately': True},
        },
    )
    t5_id = task(held).get('id')
    if t5_id:
        await c.wait_for_state(t5_id, 'TASK_STATE_WORKING', timeout=20)
    t5_id = t5_id or 'no-task'
    await step('cancel', {'id': t5_id})
    await step('cancel_again', {'id': t5_id, 'metadata': {'why': 'twice'}})

    # 7. ListTasks in this context (five tasks, newest status first): all of
    # them; three pages of two with artifacts; filtered by state.
    await step('list_context', {'contextId': context})
    page = await step('list_page_1', {'contextId': context, 'pageSize': 2, 'includeArtifacts': True})
    token = c.result(page).get('nextPageToken', '') if page else ''
    page = await step(
        'list_page_2', {'contextId': context, 'pageSize': 2, 'includeArtifacts': True, 'pageToken': token}
    )
    token = c.result(page).get('nextPageToken', '') if page else ''
    await step('list_page_3', {'contextId': context, 'pageSize': 2, 'includeArtifacts': True, 'pageToken': token})
    await step('list_completed', {'contextId': context, 'status': 'TASK_STATE_COMPLETED', 'historyLength': 1})
    await step('list_canceled', {'contextId': context, 'status': 'TASK_STATE_CANCELED'})

    # 8. Push-notification configs on the first (completed) task, so that the
    # agent has nothing to deliver: create with an id and without one (the
    # SDK then uses the task id), get, list, delete, list, get the deleted one.
    config_id = c.norm.known(f'cfg-{uuid.uuid4()}')
    await step(
        'push_create',
        {
            'taskId': t1_id,
            'id': config_id,
            'url': push_url,
            'token': 'fidelity-token',
            'authentication': {'scheme': 'Bearer', 'credentials': 'fidelity-secret'},
        },
    )
    await step('push_create_default_id', {'taskId': t1_id, 'url': push_url})
    await step('push_get', {'taskId': t1_id, 'id': config_id})
    await step('push_list', {'taskId': t1_id})
    await step('push_delete', {'taskId': t1_id, 'id': config_id})
    await step('push_list_after_delete', {'taskId': t1_id})
    await step('push_get_deleted', {'taskId': t1_id, 'id': config_id})

    # 9. A task that does not exist.
    await step('get_missing', {'id': c.norm.known(f'missing-{uuid.uuid4()}')})


# --------------------------------------------------------------------------
# Running and reporting
# --------------------------------------------------------------------------


async def run_binding(args: argparse.Namespace, binding: str, targets: list[Target]) -> int:
    spelling = Spelling(snake_case=args.spelling == 'snake', extra_fields=args.extra_fields)
    skip = frozenset(args.skip or ())
    runs: list[Conversation] = []
    failed = 0
    timeout = httpx.Timeout(args.http_timeout, connect=5.0)
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as http:
        for target in targets:
            c = Conversation(target, binding, spelling, http)
            try:
                await c.discover()
                await asyncio.wait_for(script(c, args.push_url, skip), timeout=args.timeout)
            except Exception as e:  # noqa: BLE001 - reported; the steps it missed fail below
                error = 'timed out' if isinstance(e, asyncio.TimeoutError) else f'{type(e).__name__}: {e}'
                print(json.dumps({'binding': binding, 'run': target.label, 'ok': False, 'error': error}), flush=True)
                failed += 1
            runs.append(c)
    straight, through = runs
    for s in STEPS:
        if s.name in skip:
            continue
        line: dict[str, Any] = {'binding': binding, 'step': s.name, 'method': s.method}
        a, b = straight.answers.get(s.name), through.answers.get(s.name)
        if a is None or b is None:
            line.update(ok=False, error='the step did not run', straight=a is not None, through=b is not None)
        else:
            d = diff(straight.normalised[s.name], through.normalised[s.name])
            d, known, unseen = sort_known(d, s.name, args.known or ())
            line.update(ok=not d and not unseen, straight=a.summary(binding), through=b.summary(binding))
            if known:
                line['known'] = known
            if unseen:
                line['known_not_seen'] = unseen
            if d:
                line['diff'] = d[:MAX_DIFFS]
                if len(d) > MAX_DIFFS:
                    line['more_diffs'] = len(d) - MAX_DIFFS
            # Without this check, a script that failed identically on both
            # sides (a bad URL, a missing credential) would pass.
            if not args.no_expect and a.is_error() != s.expect_error:
                line['ok'] = False
                line['unexpected'] = (
                    'the agent refused a step the script expects it to accept'
                    if a.is_error()
                    else 'the agent accepted a step the script expects it to refuse'
                )
        if args.show and a is not None and b is not None:
            line['answers'] = {'straight': straight.normalised[s.name], 'through': through.normalised[s.name]}
        failed += not line['ok']
        print(json.dumps(line), flush=True)
    return failed


def sort_known(
    d: list[dict[str, Any]], step: str, known: Iterable[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Splits a step's differences into unexpected ones and those declared with
    --known STEP:PATH (fnmatch patterns). A declared difference that does not
    occur is returned too: it fails the step, so that a fix is noticed and the
    declaration removed."""
    patterns = []
    for k in known:
        step_pat, _, path_pat = k.partition(':')
        if fnmatch.fnmatchcase(step, step_pat):
            patterns.append((k, path_pat))
    if not patterns:
        return d, [], []
    rest, seen_known, used = [], [], set()
    for entry in d:
        match = next((k for k, p in patterns if fnmatch.fnmatchcase(entry['path'], p)), None)
        if match is None:
            rest.append(entry)
        else:
            seen_known.append(entry)
            used.add(match)
    return rest, seen_known, [k for k, _ in patterns if k not in used]


def header_pairs(values: list[str] | None) -> dict[str, str]:
    out = {}
    for v in values or ():
        name, sep, value = v.partition(':')
        if not sep:
            raise SystemExit(f'header {v!r} is not "Name: value"')
        out[name.strip()] = value.strip()
    return out


async def run(args: argparse.Namespace) -> int:
    auth = None
    if args.api_key:
        auth = WardenTokenAuth(args.token_url, args.api_key, args.audience)
    targets = [
        Target('straight', args.straight.rstrip('/'), None, header_pairs(args.straight_header)),
        Target(
            'through',
            args.through.rstrip('/'),
            auth,
            header_pairs(args.through_header),
            tuple(args.carry_header or ('Warden-Capability',)),
        ),
    ]
    started = time.monotonic()
    failed = steps = 0
    for binding in args.binding or list(BINDINGS):
        failed += await run_binding(args, binding, targets)
        steps += len([s for s in STEPS if s.name not in set(args.skip or ())])
    print(
        json.dumps(
            {
                'summary': True,
                'spelling': args.spelling,
                'extra_fields': args.extra_fields,
                'steps': steps,
                'failed': failed,
                'elapsed_ms': int((time.monotonic() - started) * 1000),
            }
        ),
        flush=True,
    )
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(
        description='A2A fidelity: the same conversations straight at an agent and through Warden, compared.',
    )
    ap.add_argument('--straight', required=True, metavar='URL',
                    help="the agent's own base URL (its card at URL/.well-known/agent-card.json)")
    ap.add_argument('--through', required=True, metavar='URL',
                    help="the same agent at the gateway, e.g. http://127.0.0.1:8080/agents/NAME")
    ap.add_argument('--binding', action='append', choices=sorted(BINDINGS),
                    help='repeatable; default: both')
    ap.add_argument('--spelling', choices=['camel', 'snake'], default='camel',
                    help='field names of JSON request bodies (default camel)')
    ap.add_argument('--extra-fields', action='store_true',
                    help='add an unknown member to every request object')
    ap.add_argument('--api-key', help="a Warden API key: a fresh token from --token-url for every --through call")
    ap.add_argument('--token-url', help="Warden's token endpoint (default: {origin of --through}/oauth2/token)")
    ap.add_argument('--audience', help='the token audience (default: NAME in --through .../agents/NAME)')
    ap.add_argument('--straight-header', action='append', metavar='"NAME: VALUE"',
                    help='a header for every straight call (repeatable), e.g. the agent\'s own credential')
    ap.add_argument('--through-header', action='append', metavar='"NAME: VALUE"',
                    help='a header for every call through Warden (repeatable), e.g. "X-API-Key: KEY"')
    ap.add_argument('--carry-header', action='append', metavar='NAME',
                    help='a header an answer through Warden may set, sent back on every later call of the run '
                         '(repeatable; default: Warden-Capability, which an anonymous caller of a public agent '
                         'needs to stay the owner of its tasks)')
    ap.add_argument('--push-url', default='https://hooks.example.com/warden-fidelity',
                    help='the webhook URL of the push configs (never called: they are set on a completed task)')
    ap.add_argument('--skip', action='append', choices=[s.name for s in STEPS], metavar='STEP',
                    help='leave a step out (repeatable)')
    ap.add_argument('--known', action='append', metavar='STEP:PATH',
                    help='a difference to expect (fnmatch patterns, e.g. "get_missing:$.body.error.message"): '
                         'listed under "known" instead of failing the step; one that does not occur fails it')
    ap.add_argument('--no-expect', action='store_true',
                    help='do not check that the straight answers succeed or fail as sdk_agent.py does')
    ap.add_argument('--show', action='store_true', help='add both normalised answers to every line')
    ap.add_argument('--timeout', type=float, default=120.0, help='per binding and target (s)')
    ap.add_argument('--http-timeout', type=float, default=30.0, help='per request (s)')
    args = ap.parse_args(argv)
    if args.api_key:
        parts = urlsplit(args.through)
        if not args.token_url:
            args.token_url = f'{parts.scheme}://{parts.netloc}/oauth2/token'
        if not args.audience:
            segs = [s for s in parts.path.split('/') if s]
            if 'agents' not in segs or segs.index('agents') + 1 >= len(segs):
                ap.error('--api-key: give --audience, or a --through URL ending in /agents/NAME')
            args.audience = segs[segs.index('agents') + 1]
    return args


def main() -> None:
    sys.exit(asyncio.run(run(parse_args())))


if __name__ == '__main__':
    main()
