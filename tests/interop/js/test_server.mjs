#!/usr/bin/env node
// Reference A2A v1.0 server built ONLY from @a2a-js/sdk's own server pieces
// (DefaultRequestHandler + express jsonRpcHandler/restHandler/agentCardHandler).
// Used to validate client.mjs against an implementation we did not write.
// It mimics the Warden demo agents' contract:
//   {base}/agents/echo  - completes with one artifact whose text == input text
//   {base}/agents/slow  - N steps (text = N, default 5): WORKING status + artifact
//                         update per step, ~200 ms apart, then COMPLETED
//
// Usage: node test_server.mjs [--port 0] [--host 127.0.0.1] [--capture FILE]
// Prints one JSON line {"listening": "http://host:port"} on stdout once ready.
// With --capture, every inbound request (method, path, A2A-Version header,
// Content-Type, Accept, raw body) is appended to FILE as JSON lines.

import { randomUUID } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import express from 'express';
import { AGENT_CARD_PATH, TaskState, Role } from '@a2a-js/sdk';
import {
  AgentEvent,
  DefaultRequestHandler,
  InMemoryTaskStore,
} from '@a2a-js/sdk/server';
import {
  agentCardHandler,
  jsonRpcHandler,
  restHandler,
  UserBuilder,
} from '@a2a-js/sdk/server/express';

function parseArgs(argv) {
  const out = { port: 0, host: '127.0.0.1', capture: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`missing value for ${a}`);
      return argv[++i];
    };
    if (a === '--port') out.port = Number(next());
    else if (a === '--host') out.host = next();
    else if (a === '--capture') out.capture = next();
    else throw new Error(`unknown argument: ${a}`);
  }
  return out;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const textPart = (text) => ({
  content: { $case: 'text', value: text },
  metadata: undefined,
  filename: '',
  mediaType: 'text/plain',
});

function inputText(ctx) {
  for (const p of ctx.userMessage?.parts ?? []) {
    if (p.content?.$case === 'text') return p.content.value;
  }
  return '';
}

function status(taskId, contextId, state, text) {
  return AgentEvent.statusUpdate({
    taskId,
    contextId,
    status: {
      state,
      message: text
        ? {
            messageId: randomUUID(),
            contextId,
            taskId,
            role: Role.ROLE_AGENT,
            parts: [textPart(text)],
            metadata: undefined,
            extensions: [],
            referenceTaskIds: [],
          }
        : undefined,
      timestamp: new Date().toISOString(),
    },
    metadata: undefined,
  });
}

function artifact(taskId, contextId, artifactId, text, lastChunk = true) {
  return AgentEvent.artifactUpdate({
    taskId,
    contextId,
    artifact: {
      artifactId,
      name: 'result',
      description: '',
      parts: [textPart(text)],
      metadata: undefined,
      extensions: [],
    },
    append: false,
    lastChunk,
    metadata: undefined,
  });
}

function submitted(ctx) {
  return AgentEvent.task({
    id: ctx.taskId,
    contextId: ctx.contextId,
    status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: new Date().toISOString() },
    artifacts: [],
    history: [ctx.userMessage],
    metadata: undefined,
  });
}

class EchoExecutor {
  async execute(ctx, bus) {
    const text = inputText(ctx);
    bus.publish(submitted(ctx));
    bus.publish(artifact(ctx.taskId, ctx.contextId, randomUUID(), text));
    bus.publish(status(ctx.taskId, ctx.contextId, TaskState.TASK_STATE_COMPLETED));
    bus.finished();
  }
  async cancelTask(taskId, bus) {
    bus.publish(status(taskId, '', TaskState.TASK_STATE_CANCELED));
    bus.finished();
  }
}

class SlowExecutor {
  canceled = new Set();
  async execute(ctx, bus) {
    const raw = inputText(ctx).trim();
    const n = raw === '' || !Number.isFinite(Number(raw)) ? 5 : Math.max(0, Math.floor(Number(raw)));
    bus.publish(submitted(ctx));
    for (let i = 1; i <= n; i++) {
      if (this.canceled.has(ctx.taskId)) return;
      bus.publish(status(ctx.taskId, ctx.contextId, TaskState.TASK_STATE_WORKING, `step ${i}/${n}`));
      bus.publish(artifact(ctx.taskId, ctx.contextId, `step-${i}`, `step ${i}`));
      await sleep(200);
    }
    bus.publish(status(ctx.taskId, ctx.contextId, TaskState.TASK_STATE_COMPLETED));
    bus.finished();
  }
  async cancelTask(taskId, bus) {
    this.canceled.add(taskId);
    bus.publish(status(taskId, '', TaskState.TASK_STATE_CANCELED));
    bus.finished();
  }
}

function card(base, name, description) {
  const url = `${base}/agents/${name}`;
  // Plain v1.0 ProtoJSON card (camelCase, supportedInterfaces).
  return {
    name,
    description,
    supportedInterfaces: [
      { url: `${url}/jsonrpc`, protocolBinding: 'JSONRPC', protocolVersion: '1.0', tenant: '' },
      { url: `${url}/rest`, protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', tenant: '' },
    ],
    provider: { url: 'https://example.invalid', organization: 'warden-interop' },
    version: '0.0.1',
    capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
    securitySchemes: {},
    securityRequirements: [],
    defaultInputModes: ['text/plain'],
    defaultOutputModes: ['text/plain'],
    skills: [{ id: name, name, description, tags: ['test'], examples: [], inputModes: [], outputModes: [], securityRequirements: [] }],
    signatures: [],
  };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const app = express();

  if (args.capture) {
    // Capture raw inbound requests before the SDK's body parsers run.
    app.use((req, _res, next) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        appendFileSync(
          args.capture,
          JSON.stringify({
            method: req.method,
            path: req.originalUrl,
            a2aVersion: req.headers['a2a-version'] ?? null,
            contentType: req.headers['content-type'] ?? null,
            accept: req.headers['accept'] ?? null,
            body: Buffer.concat(chunks).toString('utf8'),
          }) + '\n',
        );
      });
      next();
    });
  }

  const server = app.listen(args.port, args.host);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address();
  const base = `http://${args.host}:${port}`;

  const agents = [
    ['echo', 'Echoes the input text as an artifact', new EchoExecutor()],
    ['slow', 'Streams N working steps then completes', new SlowExecutor()],
  ];
  for (const [name, desc, executor] of agents) {
    const agentCard = card(base, name, desc);
    const handler = new DefaultRequestHandler(agentCard, new InMemoryTaskStore(), executor);
    const prefix = `/agents/${name}`;
    app.use(`${prefix}/${AGENT_CARD_PATH}`, agentCardHandler({ agentCardProvider: handler }));
    app.use(`${prefix}/jsonrpc`, jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
    app.use(`${prefix}/rest`, restHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
  }

  process.stdout.write(JSON.stringify({ listening: base }) + '\n');
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err) => {
  process.stderr.write(`test_server: ${err?.stack ?? err}\n`);
  process.exit(1);
});
