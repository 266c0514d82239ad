// Self-test: client.mjs against the SDK's own reference server (test_server.mjs).
// Proves the client works against an A2A v1.0 implementation Warden did not
// write, before pointing it at Warden.  Run: `node --test` (or `npm test`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
let server;
let base;

before(async () => {
  server = spawn(process.execPath, [join(here, 'test_server.mjs'), '--port', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const rl = createInterface({ input: server.stdout });
  const [line] = await Promise.race([
    once(rl, 'line'),
    once(server, 'exit').then(() => {
      throw new Error('test_server exited early');
    }),
  ]);
  base = JSON.parse(line).listening;
});

after(() => {
  server?.kill('SIGTERM');
});

function runClient(args) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(here, 'client.mjs'), ...args],
      { timeout: 30000 },
      (err, stdout, stderr) => {
        const lines = stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l));
        resolve({ code: err ? (err.code ?? 1) : 0, lines, stderr });
      },
    );
  });
}

for (const binding of ['jsonrpc', 'rest']) {
  test(`send echo over ${binding}`, async () => {
    const r = await runClient(['--agent-url', `${base}/agents/echo`, '--op', 'send', '--text', 'hi there', '--binding', binding]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.lines.length, 1);
    const [out] = r.lines;
    assert.equal(out.ok, true);
    assert.equal(out.kind, 'task');
    assert.equal(out.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(out.artifactTexts, ['hi there']);
    assert.ok(out.taskId);
  });

  test(`stream slow over ${binding}`, async () => {
    const r = await runClient(['--agent-url', `${base}/agents/slow`, '--op', 'stream', '--text', '3', '--binding', binding]);
    assert.equal(r.code, 0, r.stderr);
    const summary = r.lines.at(-1);
    const events = r.lines.slice(0, -1);
    assert.equal(summary.ok, true);
    assert.equal(summary.finalState, 'TASK_STATE_COMPLETED');
    assert.equal(summary.events, events.length);
    assert.equal(events[0].event, 'task');
    assert.equal(events.filter((e) => e.event === 'artifactUpdate').length, 3);
    assert.equal(
      events.filter((e) => e.event === 'statusUpdate' && e.state === 'TASK_STATE_WORKING').length,
      3,
    );
    assert.equal(events.at(-1).state, 'TASK_STATE_COMPLETED');
  });

  test(`version mismatch is an error over ${binding}`, async () => {
    const r = await runClient([
      '--agent-url', `${base}/agents/echo`, '--op', 'send', '--text', 'x',
      '--binding', binding, '--header', 'A2A-Version: 0.3',
    ]);
    assert.equal(r.code, 1);
    assert.equal(r.lines[0].ok, false);
    assert.equal(r.lines[0].reason, 'VERSION_NOT_SUPPORTED');
  });
}

test('missing card is an error', async () => {
  const r = await runClient(['--agent-url', `${base}/agents/nope`, '--op', 'send']);
  assert.equal(r.code, 1);
  assert.equal(r.lines[0].ok, false);
});

test('bad command line exits 2', async () => {
  const r = await runClient(['--op', 'send']);
  assert.equal(r.code, 2);
});
