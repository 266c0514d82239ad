#!/usr/bin/env node
// Warden interop client built on the official A2A JS SDK (@a2a-js/sdk 1.3.0,
// which speaks A2A v1.0 on the wire). Only the SDK's public client API is used:
// ClientFactory + JsonRpcTransportFactory / RestTransportFactory +
// DefaultAgentCardResolver, Client.sendMessage / Client.sendMessageStream.
//
//   node client.mjs --agent-url URL --op send|stream [--text T]
//                   [--binding jsonrpc|rest] [--timeout-ms MS]
//                   [--header 'Name: value']... [--trace] [--allow-stream-fallback]
//
// URL is the agent base; its card is fetched from {URL}/.well-known/agent-card.json.
// Output (stdout, one JSON object per line):
//   send:   {"ok","kind":"task"|"message","taskId","state","artifactTexts":[...],...}
//   stream: one {"event":"task"|"message"|"statusUpdate"|"artifactUpdate","state"?,...}
//           per event, then {"ok","events":N,"finalState",...}
//   error:  {"ok":false,"error":...,"errorName","reason"?,"code"?,"httpStatus"?}
// States are printed as ProtoJSON enum names (e.g. "TASK_STATE_COMPLETED").
// Exit status: 0 = ok; 1 = request/protocol error, or the task did not end
// COMPLETED (or in an interrupted state); 2 = bad command line.

import { randomUUID } from 'node:crypto';
import { Role, TaskState, taskStateToJSON } from '@a2a-js/sdk';
import {
  ClientFactory,
  DefaultAgentCardResolver,
  JsonRpcTransportFactory,
  RestTransportFactory,
} from '@a2a-js/sdk/client';

const USAGE =
  'usage: node client.mjs --agent-url URL --op send|stream [--text T] ' +
  "[--binding jsonrpc|rest] [--timeout-ms MS] [--header 'Name: value']... [--trace] " +
  '[--allow-stream-fallback]';

class UsageError extends Error {}

function parseArgs(argv) {
  const o = { binding: 'jsonrpc', timeoutMs: 60000, headers: [], trace: false, text: undefined, allowStreamFallback: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new UsageError(`missing value for ${a}`);
      return argv[++i];
    };
    switch (a) {
      case '--agent-url': o.agentUrl = next(); break;
      case '--op': o.op = next(); break;
      case '--text': o.text = next(); break;
      case '--binding': o.binding = next().toLowerCase(); break;
      case '--timeout-ms': o.timeoutMs = Number(next()); break;
      case '--header': {
        const h = next();
        const idx = h.indexOf(':');
        if (idx <= 0) throw new UsageError(`bad --header (want 'Name: value'): ${h}`);
        o.headers.push([h.slice(0, idx).trim(), h.slice(idx + 1).trim()]);
        break;
      }
      case '--trace': o.trace = true; break;
      case '--allow-stream-fallback': o.allowStreamFallback = true; break;
      case '-h': case '--help': throw new UsageError('');
      default: throw new UsageError(`unknown argument: ${a}`);
    }
  }
  if (!o.agentUrl) throw new UsageError('--agent-url is required');
  if (o.op !== 'send' && o.op !== 'stream') throw new UsageError('--op must be send or stream');
  if (o.binding !== 'jsonrpc' && o.binding !== 'rest') throw new UsageError('--binding must be jsonrpc or rest');
  if (!Number.isFinite(o.timeoutMs) || o.timeoutMs <= 0) throw new UsageError('--timeout-ms must be > 0');
  try { new URL(o.agentUrl); } catch { throw new UsageError(`--agent-url is not a URL: ${o.agentUrl}`); }
  return o;
}

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

// fetch wrapper: adds --header values (they win over the SDK's own headers,
// so tests can deliberately send e.g. a wrong A2A-Version) and, with --trace,
// logs every outgoing request to stderr.
function makeFetch(opts) {
  return async (input, init = {}) => {
    const headers = new Headers(init.headers ?? {});
    for (const [k, v] of opts.headers) headers.set(k, v);
    const req = { ...init, headers };
    if (opts.trace) {
      process.stderr.write(
        JSON.stringify({
          trace: 'request',
          method: req.method ?? 'GET',
          url: String(input instanceof Request ? input.url : input),
          headers: Object.fromEntries(headers.entries()),
          body: typeof req.body === 'string' ? req.body : undefined,
        }) + '\n',
      );
    }
    const res = await fetch(input, req);
    if (opts.trace) {
      process.stderr.write(
        JSON.stringify({
          trace: 'response',
          status: res.status,
          contentType: res.headers.get('content-type'),
        }) + '\n',
      );
    }
    return res;
  };
}

// Card resolver that remembers the card it resolved (public AgentCardResolver API).
class RecordingResolver extends DefaultAgentCardResolver {
  card = undefined;
  async resolve(baseUrl, path) {
    this.card = await super.resolve(baseUrl, path);
    return this.card;
  }
}

const stateName = (s) => (s === undefined || s === null ? null : taskStateToJSON(s));

const partTexts = (parts) =>
  (parts ?? []).filter((p) => p?.content?.$case === 'text').map((p) => p.content.value);

// Terminal success, or an interrupted state (the task is waiting on the client).
const OK_STATES = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_INPUT_REQUIRED,
  TaskState.TASK_STATE_AUTH_REQUIRED,
]);

function userMessage(text) {
  return {
    messageId: randomUUID(),
    contextId: '',
    taskId: '',
    role: Role.ROLE_USER,
    parts: [{ content: { $case: 'text', value: text }, metadata: undefined, filename: '', mediaType: 'text/plain' }],
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

async function run(opts) {
  const fetchImpl = makeFetch(opts);
  const resolver = new RecordingResolver({ fetchImpl });
  // Only the requested binding is registered, so the factory fails loudly
  // ("No compatible transport found") if the card does not offer it,
  // instead of silently falling back to another binding.
  const transport =
    opts.binding === 'rest'
      ? new RestTransportFactory({ fetchImpl })
      : new JsonRpcTransportFactory({ fetchImpl });
  const factory = new ClientFactory({ transports: [transport], cardResolver: resolver });

  // The SDK resolves the card path *relative* to the base URL
  // (new URL('.well-known/agent-card.json', base)), so the base needs a
  // trailing slash or its last path segment is dropped.
  const base = opts.agentUrl.endsWith('/') ? opts.agentUrl : `${opts.agentUrl}/`;
  const client = await factory.createFromUrl(base);
  const card = resolver.card;
  const binding = client.transport.protocolName;
  const protocolVersion = client.protocolVersion;

  const params = {
    tenant: '',
    message: userMessage(opts.text ?? ''),
    configuration: undefined,
    metadata: undefined,
  };
  const reqOpts = { signal: AbortSignal.timeout(opts.timeoutMs) };

  if (opts.op === 'send') {
    const result = await client.sendMessage(params, reqOpts);
    if ('messageId' in result) {
      emit({
        ok: true,
        kind: 'message',
        taskId: result.taskId || null,
        state: null,
        artifactTexts: [],
        messageTexts: partTexts(result.parts),
        binding,
        protocolVersion,
      });
      return true;
    }
    const state = result.status?.state;
    const ok = OK_STATES.has(state);
    emit({
      ok,
      kind: 'task',
      taskId: result.id,
      contextId: result.contextId,
      state: stateName(state),
      artifactTexts: (result.artifacts ?? []).flatMap((a) => partTexts(a.parts)),
      binding,
      protocolVersion,
    });
    return ok;
  }

  // stream
  if (card?.capabilities?.streaming !== true && !opts.allowStreamFallback) {
    // Client.sendMessageStream() would silently degrade to a blocking
    // SendMessage here; refuse, so a "stream" test really streams.
    throw new Error(
      'agent card does not advertise capabilities.streaming=true; the SDK would silently ' +
        'fall back to SendMessage (pass --allow-stream-fallback to permit that)',
    );
  }
  let events = 0;
  let finalState = null;
  let finalStateEnum;
  let taskId = null;
  let sawMessage = false;
  for await (const ev of client.sendMessageStream(params, reqOpts)) {
    events++;
    const kind = ev.payload?.$case ?? 'unknown';
    const line = { event: kind };
    switch (kind) {
      case 'task':
        taskId = ev.payload.value.id;
        finalStateEnum = ev.payload.value.status?.state;
        line.state = stateName(finalStateEnum);
        line.taskId = taskId;
        break;
      case 'statusUpdate':
        taskId = ev.payload.value.taskId || taskId;
        finalStateEnum = ev.payload.value.status?.state;
        line.state = stateName(finalStateEnum);
        break;
      case 'artifactUpdate':
        line.artifactId = ev.payload.value.artifact?.artifactId;
        line.texts = partTexts(ev.payload.value.artifact?.parts);
        break;
      case 'message':
        sawMessage = true;
        line.texts = partTexts(ev.payload.value.parts);
        break;
      default:
        break;
    }
    emit(line);
  }
  finalState = stateName(finalStateEnum);
  const ok = events > 0 && (sawMessage || OK_STATES.has(finalStateEnum));
  emit({
    ok,
    events,
    finalState,
    taskId,
    binding,
    protocolVersion,
    // false = card did not advertise capabilities.streaming, and the SDK
    // silently fell back to a blocking SendMessage (a single "task" event).
    streamingAdvertised: card?.capabilities?.streaming === true,
  });
  return ok;
}

function describeError(err) {
  // JSON-RPC SSE error events are rethrown by the SDK as a plain Error whose
  // cause is the typed A2A error.
  const e = err?.cause && typeof err.cause === 'object' && 'reason' in err.cause ? err.cause : err;
  const out = { ok: false, error: String(err?.message ?? err), errorName: e?.name ?? 'Error' };
  if (typeof e?.reason === 'string') out.reason = e.reason;
  if (e?.envelopeCode !== undefined) out.code = e.envelopeCode;
  if (e?.statusCode !== undefined) out.httpStatus = e.statusCode;
  if (e?.transport) out.transport = e.transport;
  return out;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`client.mjs: ${err.message}\n`);
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    throw err;
  }
  // Hard stop in case something (e.g. the card fetch) hangs past the timeout.
  const guard = setTimeout(() => {
    emit({ ok: false, error: `timed out after ${opts.timeoutMs} ms`, errorName: 'TimeoutError' });
    process.exit(1);
  }, opts.timeoutMs + 1000);
  guard.unref();
  try {
    return (await run(opts)) ? 0 : 1;
  } catch (err) {
    emit(describeError(err));
    if (opts.trace) process.stderr.write(`${err?.stack ?? err}\n`);
    return 1;
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`client.mjs: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  },
);
