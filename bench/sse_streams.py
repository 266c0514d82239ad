#!/usr/bin/env python3
"""Holds many SSE streams open at once through one URL, and checks each.

bench/run.sh's sse-10k scenario: N concurrent `SendStreamingMessage` calls
(JSON-RPC, one HTTP/1.1 connection each), each read to its end. A stream
counts as complete when the answer is HTTP 200 and its body is exactly the
expected number of SSE events, each a JSON-RPC result without an error, the
last one completing the task. Python standard library only (asyncio, raw
sockets), so it runs wherever run.sh does.

    bench/sse_streams.py --url http://127.0.0.1:8080/agents/null --streams 10000 \\
        --body bench/wrk/stream.json --pid <gateway pid>

Opening is paced: at most --open-concurrency streams wait for their response
headers at a time (a burst of 10,000 SYNs would overflow the listener's
backlog and turn into 1 s retransmits). Once a stream has its headers it
is "open" and no longer counts against that limit, so with an upstream
that spaces its events (`warden agent null --stream-event-interval-ms`)
all N can be open at once. With --pid, the process's VmRSS is sampled
every --sample-ms and its VmHWM read at the end.

Prints one line `SSE-STREAMS key=value ...` (and --json-out FILE, the same as
JSON). Exits 0 if every stream completed, 1 otherwise, 2 on bad usage.
"""

import argparse
import asyncio
import json
import resource
import sys
import time
import urllib.parse
from collections import Counter


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--url", required=True, help="http://host:port/path to POST to")
    p.add_argument("--streams", type=int, default=10000)
    p.add_argument("--body", required=True, help="the JSON-RPC request body (a file)")
    p.add_argument("--events", type=int, default=5, help="events per complete stream")
    p.add_argument("--api-key", default="", help="sent as X-API-Key")
    p.add_argument("--open-concurrency", type=int, default=256)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds, per stream, from its start")
    p.add_argument("--pid", type=int, default=0, help="sample this process's memory")
    p.add_argument("--sample-ms", type=int, default=100)
    p.add_argument("--json-out", default="")
    return p.parse_args()


class StreamError(Exception):
    def __init__(self, kind, detail=""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class Run:
    def __init__(self, args):
        self.args = args
        url = urllib.parse.urlsplit(args.url)
        if url.scheme != "http" or not url.hostname:
            raise SystemExit(f"--url must be http://host:port/path, not {args.url!r}")
        self.host = url.hostname
        self.port = url.port or 80
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        with open(args.body, "rb") as f:
            body = f.read()
        head = [
            f"POST {path} HTTP/1.1",
            f"Host: {url.netloc}",
            "Content-Type: application/json",
            "Accept: text/event-stream",
            "A2A-Version: 1.0",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        if args.api_key:
            head.append(f"X-API-Key: {args.api_key}")
        self.request = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        self.open_now = 0
        self.peak_open = 0
        self.opened = 0
        self.completed = 0
        self.failures = Counter()
        self.examples = {}
        self.t0 = 0.0
        self.all_open_at = None
        self.peak_rss_kb = 0
        self.samples = []  # (streams open, VmRSS kB)
        self.done = False

    async def one(self, gate):
        writer = None
        opened = False
        try:
            async with gate:
                try:
                    reader, writer = await asyncio.open_connection(self.host, self.port)
                except OSError as e:
                    raise StreamError("connect", str(e))
                writer.write(self.request)
                await writer.drain()
                status, headers = await read_head(reader)
                if status != 200:
                    raise StreamError(f"http-{status}", (await reader.read(300)).decode("utf-8", "replace"))
                opened = True
                self.open_now += 1
                self.opened += 1
                if self.open_now > self.peak_open:
                    self.peak_open = self.open_now
                if self.opened == self.args.streams:
                    self.all_open_at = time.monotonic() - self.t0
            await read_events(reader, headers, self.args.events)
            self.completed += 1
        except StreamError as e:
            self.fail(e.kind, e.detail)
        except (asyncio.IncompleteReadError, ConnectionError, OSError) as e:
            self.fail("connection", repr(e))
        finally:
            if opened:
                self.open_now -= 1
            if writer is not None:
                writer.close()

    def fail(self, kind, detail):
        self.failures[kind] += 1
        self.examples.setdefault(kind, detail[:300])

    async def bounded(self, gate):
        try:
            await asyncio.wait_for(self.one(gate), self.args.timeout)
        except asyncio.TimeoutError:
            self.fail("timeout", f"not complete after {self.args.timeout} s")

    async def sample(self):
        path = f"/proc/{self.args.pid}/status"
        while not self.done:
            rss = read_status_kb(path, "VmRSS")
            if rss is not None:
                self.peak_rss_kb = max(self.peak_rss_kb, rss)
                self.samples.append((self.open_now, rss))
            await asyncio.sleep(self.args.sample_ms / 1000)

    async def main(self):
        gate = asyncio.Semaphore(self.args.open_concurrency)
        self.t0 = time.monotonic()
        sampler = asyncio.create_task(self.sample()) if self.args.pid else None
        await asyncio.gather(*(self.bounded(gate) for _ in range(self.args.streams)))
        elapsed = time.monotonic() - self.t0
        self.done = True
        if sampler:
            await sampler
        # VmRSS while the most streams were open.
        at_peak = [rss for n, rss in self.samples if n == self.peak_open]
        self.rss_at_peak_open_kb = max(at_peak) if at_peak else 0
        return elapsed


async def read_head(reader):
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
        raise StreamError("protocol", f"status line {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return int(parts[1]), headers


async def body_chunks(reader, headers):
    """The response body as it arrives (chunked, sized or to EOF)."""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        while True:
            size_line = await reader.readuntil(b"\r\n")
            size = int(size_line.split(b";", 1)[0].strip(), 16)
            if size == 0:
                await reader.readuntil(b"\r\n")  # no trailers expected
                return
            data = await reader.readexactly(size)
            await reader.readexactly(2)
            yield data
    elif "content-length" in headers:
        left = int(headers["content-length"])
        while left > 0:
            data = await reader.read(min(left, 65536))
            if not data:
                raise StreamError("truncated", f"{left} bytes short")
            left -= len(data)
            yield data
    else:
        while True:
            data = await reader.read(65536)
            if not data:
                return
            yield data


async def read_events(reader, headers, want):
    buf = b""
    events = []
    async for data in body_chunks(reader, headers):
        buf += data.replace(b"\r\n", b"\n")
        while b"\n\n" in buf:
            frame, buf = buf.split(b"\n\n", 1)
            lines = [ln[5:].lstrip(b" ") for ln in frame.split(b"\n") if ln.startswith(b"data:")]
            if not lines:
                continue  # a comment (keep-alive) or an event without data
            try:
                events.append(json.loads(b"\n".join(lines)))
            except ValueError:
                raise StreamError("bad-event", frame[:200].decode("utf-8", "replace"))
    if buf.strip():
        raise StreamError("bad-event", f"unterminated {buf[:200]!r}")
    if len(events) != want:
        raise StreamError("event-count", f"{len(events)} events, not {want}")
    for ev in events:
        if "error" in ev or "result" not in ev:
            raise StreamError("error-event", json.dumps(ev)[:300])
    last = events[-1]["result"]
    state = ((last.get("statusUpdate") or {}).get("status") or {}).get("state")
    if state != "TASK_STATE_COMPLETED":
        raise StreamError("not-completed", f"last event's state {state!r}")


def read_status_kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def main():
    args = parse_args()
    if args.streams < 1 or args.open_concurrency < 1:
        print("--streams and --open-concurrency must be at least 1", file=sys.stderr)
        return 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.streams + 64
    if soft < need:
        if hard != resource.RLIM_INFINITY and hard < need:
            print(f"open-file limit {hard} < {need} needed for {args.streams} streams", file=sys.stderr)
            return 2
        resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    run = Run(args)
    elapsed = asyncio.run(run.main())
    hwm = read_status_kb(f"/proc/{args.pid}/status", "VmHWM") if args.pid else None
    result = {
        "streams": args.streams,
        "completed": run.completed,
        "failed": sum(run.failures.values()),
        "peak_open": run.peak_open,
        "all_open_s": round(run.all_open_at, 3) if run.all_open_at is not None else None,
        "elapsed_s": round(elapsed, 3),
        "peak_rss_kb": run.peak_rss_kb or None,
        "rss_at_peak_open_kb": run.rss_at_peak_open_kb or None,
        "hwm_kb": hwm,
        "failures": dict(run.failures),
        "examples": run.examples,
    }
    flat = {k: v for k, v in result.items() if k not in ("failures", "examples")}
    flat["failure_kinds"] = ",".join(f"{k}:{v}" for k, v in sorted(run.failures.items())) or "none"
    print("SSE-STREAMS " + " ".join(f"{k}={'-' if v is None else v}" for k, v in flat.items()))
    for kind, example in run.examples.items():
        print(f"example {kind}: {example}", file=sys.stderr)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(result, f, indent=2)
    return 0 if run.completed == args.streams else 1


if __name__ == "__main__":
    sys.exit(main())
