#!/usr/bin/env python3
"""Upstream A2A v1.0 agent built ONLY from the official a2a-sdk (1.3.0) server side.

Warden's interop tests put this process behind the gateway so that a real SDK
server (not our own Rust demo agents) sits upstream. It serves, on one port:

  GET  /.well-known/agent-card.json   the card (SDK's create_agent_card_routes)
  POST /jsonrpc                        JSON-RPC binding (SDK's create_jsonrpc_routes)
  *    /rest/...                       HTTP+JSON binding (SDK's create_rest_routes)

Behaviour (by the text of the user message):
  "slow:N"   N WORKING status updates 300 ms apart, then one artifact and
             COMPLETED. Cancelable. Used to prove that a client disconnecting
             through the gateway does NOT cancel the upstream task.
  "ask:..."  TASK_STATE_INPUT_REQUIRED; the follow-up message on the same task
             completes with an artifact "Hello, <follow-up text>!". (Test-only
             extra so the client's multi-turn scenario can be validated against
             real SDK server code, mirroring Warden's `input` demo agent.)
  "hold:N"   one WORKING status update, then nothing for N seconds (default
             60), then one artifact and COMPLETED. Cancelable. Unlike "slow:",
             a task cancelled while it holds has the same history whenever the
             cancel arrives, which the fidelity test (fidelity.py) relies on.
  anything   echo: COMPLETED task with one artifact whose single text part is
             exactly the input text (same contract as Warden's `echo` agent).

Usage:  python sdk_agent.py --port 0      # prints "LISTENING <port>" when ready
        python sdk_agent.py --no-push # a card without push (Warden follows its tasks)
"""

from __future__ import annotations

import argparse
import contextvars
import json
import asyncio
import logging
import signal
import socket
import sys
import threading

import httpx
import jwt
import uvicorn

from starlette.applications import Starlette

from a2a.helpers import new_task_from_user_message, new_text_message, new_text_part
from a2a.server.agent_execution import AgentExecutor, RequestContext
from a2a.server.events import EventQueue
from a2a.server.request_handlers import DefaultRequestHandler
from a2a.server.routes import (
    create_agent_card_routes,
    create_jsonrpc_routes,
    create_rest_routes,
)
from a2a.server.tasks import (
    BasePushNotificationSender,
    InMemoryPushNotificationConfigStore,
    InMemoryTaskStore,
    TaskUpdater,
)
from a2a.types.a2a_pb2 import (
    AgentCapabilities,
    AgentCard,
    AgentInterface,
    AgentSkill,
    Role,
    TaskState,
)
from a2a.utils.constants import PROTOCOL_VERSION_CURRENT, TransportProtocol


log = logging.getLogger('sdk_agent')

JSONRPC_PATH = '/jsonrpc'
REST_PREFIX = '/rest'
SLOW_INTERVAL_S = 0.3


# The caller Warden vouched for, per request (set by WardenTokenMiddleware).
CALLER: contextvars.ContextVar[str] = contextvars.ContextVar('warden_caller', default='')


class WardenTokenMiddleware:
    """How an agent behind Warden checks that a call came through Warden and
    from whom: Warden presents its own token (issuer = the gateway, audience =
    this agent's name at the gateway, subject `warden`) with the caller in the
    RFC 8693 `act` claim. Verified with PyJWT against Warden's JWKS, read from
    a file the operator provides (fetched from {gateway}/.well-known/jwks.json).
    Card fetches stay public."""

    def __init__(self, app, jwks_file: str, audience: str):
        self.app = app
        self.jwks_file = jwks_file
        self.audience = audience

    async def __call__(self, scope, receive, send):
        if scope['type'] != 'http' or scope['path'].startswith('/.well-known/'):
            return await self.app(scope, receive, send)
        headers = dict(scope['headers'])
        auth = headers.get(b'authorization', b'').decode()
        try:
            if not auth.startswith('Bearer '):
                raise jwt.InvalidTokenError('no Warden token')
            with open(self.jwks_file, encoding='utf-8') as f:
                jwks = jwt.PyJWKSet.from_json(f.read())
            token = auth.removeprefix('Bearer ')
            kid = jwt.get_unverified_header(token)['kid']
            key = next(k for k in jwks.keys if k.key_id == kid)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=['EdDSA', 'ES256'],
                audience=self.audience,
                options={'require': ['exp', 'iat', 'iss', 'aud', 'sub']},
            )
            if claims.get('sub') != 'warden' or 'sub' not in claims.get('act', {}):
                raise jwt.InvalidTokenError('not a Warden upstream token')
        except (jwt.PyJWTError, StopIteration, KeyError, OSError) as e:
            body = json.dumps({'error': f'Warden token refused: {e}'}).encode()
            await send({'type': 'http.response.start', 'status': 401,
                        'headers': [(b'content-type', b'application/json')]})
            await send({'type': 'http.response.body', 'body': body})
            return
        token_var = CALLER.set(claims['act']['sub'])
        try:
            return await self.app(scope, receive, send)
        finally:
            CALLER.reset(token_var)


class InteropExecutor(AgentExecutor):
    """AgentExecutor implementing the echo / slow / ask behaviours above."""

    async def execute(self, context: RequestContext, event_queue: EventQueue) -> None:
        text = context.get_user_input()
        task = context.current_task
        if task is None:
            # The v2 request handler requires the executor to publish the Task
            # before any status/artifact update for a new task.
            assert context.message is not None
            task = new_task_from_user_message(context.message)
            await event_queue.enqueue_event(task)
        updater = TaskUpdater(event_queue, task.id, task.context_id)

        if task.status.state == TaskState.TASK_STATE_INPUT_REQUIRED:
            # Follow-up turn of an "ask:" conversation.
            await updater.add_artifact(
                [new_text_part(f'Hello, {text}!')], name='greeting'
            )
            await updater.complete()
        elif text.startswith('slow:'):
            await self._slow(updater, task, text)
        elif text.startswith('hold:'):
            await self._hold(updater, task, text)
        elif text.startswith('ask:'):
            await updater.requires_input(
                new_text_message(
                    'What is your name?',
                    context_id=task.context_id,
                    task_id=task.id,
                    role=Role.ROLE_AGENT,
                )
            )
        else:
            await updater.add_artifact([new_text_part(text)], name='echo')
            if CALLER.get():
                # Show the caller Warden vouched for (second artifact).
                await updater.add_artifact([new_text_part(f'caller={CALLER.get()}')], name='caller')
            await updater.complete()

    async def _slow(self, updater: TaskUpdater, task, text: str) -> None:
        try:
            steps = int(text.removeprefix('slow:').strip() or '5')
        except ValueError:
            steps = 5
        steps = max(1, min(steps, 1000))
        for i in range(1, steps + 1):
            await updater.update_status(
                TaskState.TASK_STATE_WORKING,
                new_text_message(
                    f'step {i}/{steps}', context_id=task.context_id, task_id=task.id
                ),
            )
            # asyncio.CancelledError lands here when CancelTask is called.
            await asyncio.sleep(SLOW_INTERVAL_S)
        await updater.add_artifact([new_text_part(f'done {steps} steps')], name='result')
        await updater.complete()

    async def _hold(self, updater: TaskUpdater, task, text: str) -> None:
        try:
            seconds = float(text.removeprefix('hold:').strip() or '60')
        except ValueError:
            seconds = 60.0
        seconds = max(0.0, min(seconds, 600.0))
        await updater.update_status(
            TaskState.TASK_STATE_WORKING,
            new_text_message('holding', context_id=task.context_id, task_id=task.id),
        )
        # asyncio.CancelledError lands here when CancelTask is called.
        await asyncio.sleep(seconds)
        await updater.add_artifact([new_text_part(f'held {seconds:g} s')], name='result')
        await updater.complete()

    async def cancel(self, context: RequestContext, event_queue: EventQueue) -> None:
        # The SDK calls this before cancelling the execute() coroutine; our job
        # is just to publish the terminal CANCELED status.
        assert context.task_id and context.context_id
        await TaskUpdater(event_queue, context.task_id, context.context_id).cancel()


def build_card(port: int, push: bool = True) -> AgentCard:
    base = f'http://127.0.0.1:{port}'
    return AgentCard(
        name='warden-interop-sdk-agent',
        description='a2a-sdk 1.3.0 reference agent used by Warden interop tests',
        version='1.0.0',
        # Order = preference (spec 8.3.1): JSON-RPC first, then HTTP+JSON.
        supported_interfaces=[
            AgentInterface(
                url=f'{base}{JSONRPC_PATH}',
                protocol_binding=TransportProtocol.JSONRPC.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            ),
            AgentInterface(
                url=f'{base}{REST_PREFIX}',
                protocol_binding=TransportProtocol.HTTP_JSON.value,
                protocol_version=PROTOCOL_VERSION_CURRENT,
            ),
        ],
        capabilities=AgentCapabilities(streaming=True, push_notifications=push),
        default_input_modes=['text/plain'],
        default_output_modes=['text/plain'],
        skills=[
            AgentSkill(
                id='echo',
                name='Echo',
                description='Completes with an artifact equal to the input text.',
                tags=['test', 'echo'],
                examples=['hello warden'],
            ),
            AgentSkill(
                id='slow',
                name='Slow stream',
                description='"slow:N" streams N working updates 300 ms apart, then completes.',
                tags=['test', 'streaming'],
                examples=['slow:5'],
            ),
            AgentSkill(
                id='hold',
                name='Hold',
                description='"hold:N" works for N seconds after one working update, then completes.',
                tags=['test', 'cancel'],
                examples=['hold:60'],
            ),
            AgentSkill(
                id='ask',
                name='Ask for input',
                description='"ask:..." requires input, then greets the follow-up text.',
                tags=['test', 'multi-turn'],
                examples=['ask:hi'],
            ),
        ],
    )


def build_app(card: AgentCard, push_http: httpx.AsyncClient, warden_jwks: str | None = None, audience: str = '', push: bool = True) -> Starlette:
    if push:
        push_store = InMemoryPushNotificationConfigStore()
        handler = DefaultRequestHandler(
            agent_executor=InteropExecutor(),
            task_store=InMemoryTaskStore(),
            agent_card=card,
            push_config_store=push_store,
            push_sender=BasePushNotificationSender(push_http, push_store),
        )
    else:
        # --no-push: the card says so and the SDK refuses push configs.
        handler = DefaultRequestHandler(
            agent_executor=InteropExecutor(),
            task_store=InMemoryTaskStore(),
            agent_card=card,
        )
    routes = [
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, rpc_url=JSONRPC_PATH),
        # create_rest_routes also mounts '/{tenant}/...' copies; keep it last so
        # its catch-all mount never shadows the card or JSON-RPC routes.
        *create_rest_routes(handler, path_prefix=REST_PREFIX),
    ]
    app = Starlette(routes=routes)
    if warden_jwks:
        return WardenTokenMiddleware(app, warden_jwks, audience)
    return app


def _exit_on_stdin_eof(loop: asyncio.AbstractEventLoop, server: uvicorn.Server) -> None:
    """Stop the server once stdin hits EOF (the parent test process died).

    A daemon thread, not run_in_executor: a blocked executor thread would keep
    asyncio.run() from returning on a normal SIGTERM shutdown.
    """

    def watch() -> None:
        sys.stdin.buffer.read()
        loop.call_soon_threadsafe(setattr, server, 'should_exit', True)

    threading.Thread(target=watch, name='stdin-eof', daemon=True).start()


async def serve(port: int, host: str, exit_on_stdin_eof: bool, warden_jwks: str | None = None, audience: str = '', push: bool = True) -> None:
    # Bind first so that --port 0 yields a concrete port for the card URLs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]

    async with httpx.AsyncClient(timeout=10) as push_http:
        app = build_app(build_card(port, push), push_http, warden_jwks, audience, push)
        # Short graceful-shutdown so test teardown never waits on open SSE streams.
        config = uvicorn.Config(
            app, log_level='warning', lifespan='off', timeout_graceful_shutdown=2
        )
        server = uvicorn.Server(config)

        async def announce() -> None:
            while not server.started:
                await asyncio.sleep(0.02)
            # Harness contract: exactly this line, flushed, once ready.
            print(f'LISTENING {port}', flush=True)

        loop = asyncio.get_running_loop()
        # uvicorn captures SIGINT/SIGTERM during serve() and re-raises them
        # after its graceful shutdown; these loop handlers absorb that re-raise
        # so a normal stop exits 0 instead of with a KeyboardInterrupt trace.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, lambda: setattr(server, 'should_exit', True))
        if exit_on_stdin_eof:
            _exit_on_stdin_eof(loop, server)
        announcer = asyncio.create_task(announce())
        try:
            await server.serve(sockets=[sock])
        finally:
            announcer.cancel()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--port', type=int, default=0, help='0 = pick a free port')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument(
        '--exit-on-stdin-eof',
        action='store_true',
        help='exit when stdin closes (spawn with a piped stdin so the agent '
        'dies with its parent test process)',
    )
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('--warden-jwks-file', help="require Warden's upstream token, verified against this JWKS file")
    ap.add_argument('--audience', default='sdk', help="this agent's name at the gateway (the token audience)")
    ap.add_argument('--no-push', action='store_true', help='a card without push notifications, and no push sender')
    args = ap.parse_args()
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format='%(asctime)s %(levelname)s %(name)s: %(message)s',
    )
    asyncio.run(serve(args.port, args.host, args.exit_on_stdin_eof, args.warden_jwks_file, args.audience, not args.no_push))


if __name__ == '__main__':
    main()
