#!/usr/bin/env python3
"""Push through Warden with the OFFICIAL a2a-sdk 1.3.0 client (issue 15).

Sends one message carrying a push config (--push-url, a token and Bearer
credentials) to an sdk_agent.py behind the gateway ("slow:2": two working
updates, an artifact, completed), blocking until the task ends, then reads
the config back with the SDK's get and list, all through the SDK's client
stack (client_scenarios.Harness: card, ClientFactory, a fresh Warden token
per request). Prints one JSON line: the task id, the Warden-Push-Secret
header of the send's answer (the subscription secret, shown once), and
what get and list returned. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from google.protobuf.json_format import MessageToDict

import client_scenarios as cs
from a2a.types.a2a_pb2 import (
    AuthenticationInfo,
    GetTaskPushNotificationConfigRequest,
    ListTaskPushNotificationConfigsRequest,
    SendMessageConfiguration,
    SendMessageRequest,
    TaskPushNotificationConfig,
)

CONFIG_ID = 'cfg-sdk-client'


async def run(a: argparse.Namespace) -> int:
    args = cs.parse_args(
        ['--base', a.base, '--binding', a.binding, '--sdk-agent', a.agent, '--api-key', a.api_key]
    )
    h = cs.Harness(args)
    try:
        client, _ = await h.client('slow', streaming=False)
        config = TaskPushNotificationConfig(
            id=CONFIG_ID,
            url=a.push_url,
            token='sdk-client-token',
            authentication=AuthenticationInfo(scheme='Bearer', credentials='sdk-client-credentials'),
        )
        request = SendMessageRequest(
            message=cs.user_message(h.text('slow', '2')),
            configuration=SendMessageConfiguration(task_push_notification_config=config),
        )
        responses = [r async for r in client.send_message(request)]
        cs.check(len(responses) == 1 and responses[0].HasField('task'), 'expected one task answer')
        task = responses[0].task
        secret = next(
            (
                ex.response_headers['warden-push-secret']
                for ex in h.recorder.exchanges
                if 'warden-push-secret' in ex.response_headers
            ),
            None,
        )
        got = await client.get_task_push_notification_config(
            GetTaskPushNotificationConfigRequest(task_id=task.id, id=CONFIG_ID)
        )
        listed = await client.list_task_push_notification_configs(
            ListTaskPushNotificationConfigsRequest(task_id=task.id)
        )
        print(
            json.dumps(
                {
                    'ok': True,
                    'task': task.id,
                    'state': cs.state_name(task.status.state),
                    'secret': secret,
                    'get': MessageToDict(got),
                    'list': MessageToDict(listed),
                }
            )
        )
        return 0
    except Exception as e:  # one line for the test to show
        print(json.dumps({'ok': False, 'error': f'{type(e).__name__}: {e}'}))
        return 1
    finally:
        await h.aclose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--base', required=True, help='the gateway base URL')
    ap.add_argument('--agent', required=True, help='the sdk_agent.py name at the gateway')
    ap.add_argument('--binding', required=True, choices=sorted(cs.BINDINGS))
    ap.add_argument('--api-key', required=True)
    ap.add_argument('--push-url', required=True, help="the receiver's webhook URL")
    sys.exit(asyncio.run(run(ap.parse_args())))


if __name__ == '__main__':
    main()
