"""A closed-loop HTTP/1.1 load generator for the benchmark: fixed concurrency, keep-alive, fixed duration.

Two engines, same result shape:

- `wrk` (Debian's package) when it is installed: C, so it leaves the server nearly all of the CPU;
- a built-in asyncio client otherwise: raw HTTP/1.1 over `asyncio.Protocol` with pre-encoded requests,
  one request in flight per connection (like wrk), no pipelining. It costs roughly a tenth of what an
  httpx client costs per request, so on a 2-core machine the server and not the client is what saturates;
  the CPU each side used is measured so the report can show which one was the bottleneck.

Usable on its own: `.venv/bin/python scripts/load.py http://127.0.0.1:8000/healthz -d 5 -c 16`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass
class LoadResult:
    engine: str
    label: str
    concurrency: int
    duration_s: float
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int
    server_cpu_pct: float | None  # % of one core, over the measured window
    client_cpu_pct: float | None  # % of one core (the load generator itself)
    machine_busy_pct: float | None  # % of one core, all processes: up to 100 x cores
    others_cpu_pct: float | None  # machine busy minus server and client: what else ran meanwhile
    steal_pct: float | None  # % of one core that the hypervisor gave to other guests
    statuses: dict[str, int] = field(default_factory=dict)
    slice_rps: list[float] = field(default_factory=list)  # when combined from slices

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of unsorted values (NaN when empty)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), None when it cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state is field 3, utime field 14, stime field 15 (1-based, man proc).
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS


def machine_cpu_seconds() -> tuple[float, float] | None:
    """(busy, steal) CPU seconds of the whole machine since boot (Linux /proc/stat), None elsewhere."""
    try:
        first = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in first[1:9])
    return (user + nice + system + irq + softirq) / _CLOCK_TICKS, steal / _CLOCK_TICKS


class CpuWindow:
    """CPU used by the server, the load generator and the whole machine between start() and stop()."""

    def __init__(self, server_pid: int | None, client: Callable[[], float]) -> None:
        self.server_pid = server_pid
        self.client = client
        self.server0: float | None = None
        self.client0 = 0.0
        self.machine0: tuple[float, float] | None = None
        self.wall0 = 0.0

    def start(self) -> None:
        self.server0 = process_cpu_seconds(self.server_pid) if self.server_pid else None
        self.client0 = self.client()
        self.machine0 = machine_cpu_seconds()
        self.wall0 = time.perf_counter()

    def stop(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self.wall0
        server1 = process_cpu_seconds(self.server_pid) if self.server_pid else None
        client = self.client() - self.client0
        machine1 = machine_cpu_seconds()

        def pct(seconds: float | None) -> float | None:
            return None if seconds is None else 100 * seconds / wall

        server = None if self.server0 is None or server1 is None else server1 - self.server0
        busy = steal = others = None
        if self.machine0 is not None and machine1 is not None:
            busy, steal = machine1[0] - self.machine0[0], machine1[1] - self.machine0[1]
            others = max(0.0, busy - (server or 0.0) - client)
        return {
            "server_cpu_pct": pct(server),
            "client_cpu_pct": pct(client),
            "machine_busy_pct": pct(busy),
            "others_cpu_pct": pct(others),
            "steal_pct": pct(steal),
        }


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def wrk_path() -> str | None:
    return shutil.which("wrk")


# --- the built-in asyncio engine -------------------------------------------------------------------


class _Run:
    """Shared state of one load run: the requests to cycle through and what was measured."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.next_index = 0
        self.measuring = False
        self.stopping = False
        self.window_start_ns = 0
        self.latencies_ns: list[int] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0

    def next_request(self) -> bytes:
        request = self.requests[self.next_index]
        self.next_index = (self.next_index + 1) % len(self.requests)
        return request


class _Connection(asyncio.Protocol):
    """One keep-alive connection with one request in flight at a time."""

    def __init__(self, run: _Run, finished: asyncio.Future[None]) -> None:
        self.run = run
        self.finished = finished
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.response_end: int | None = None
        self.status = 0
        self.closing = False
        self.sent_ns = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        if self.run.stopping:
            self.transport.close()
            return
        self.sent_ns = time.perf_counter_ns()
        self.transport.write(self.run.next_request())

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if self.response_end is None:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(self.buffer[:head_end]).lower()
            self.status = int(head[9:12])
            match = re.search(rb"\r\ncontent-length:\s*(\d+)", head)
            if match is None:
                # Every route measured here answers with a Content-Length; anything else is a failure.
                self.run.errors += 1
                self._fail()
                return
            self.response_end = head_end + 4 + int(match.group(1))
            self.closing = b"\r\nconnection: close" in head
        if len(self.buffer) < self.response_end:
            return
        done_ns = time.perf_counter_ns()
        del self.buffer[: self.response_end]
        self.response_end = None
        run = self.run
        if run.measuring and self.sent_ns >= run.window_start_ns:
            run.latencies_ns.append(done_ns - self.sent_ns)
            run.statuses[self.status] = run.statuses.get(self.status, 0) + 1
        if self.closing:
            self._fail()
            return
        self._send()

    def _fail(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


async def _connection_loop(run: _Run, host: str, port: int) -> None:
    """Keep one connection busy until the run stops, reconnecting when the server closes it."""
    loop = asyncio.get_running_loop()
    while not run.stopping:
        finished: asyncio.Future[None] = loop.create_future()
        try:
            await loop.create_connection(lambda f=finished: _Connection(run, f), host, port)
        except OSError:
            run.errors += 1
            await asyncio.sleep(0.05)
            continue
        await finished


async def _python_load(
    requests: list[bytes],
    host: str,
    port: int,
    concurrency: int,
    duration: float,
    warmup: float,
    server_pid: int | None,
) -> tuple[_Run, float, dict[str, float | None]]:
    run = _Run(requests)
    workers = [asyncio.create_task(_connection_loop(run, host, port)) for _ in range(concurrency)]
    await asyncio.sleep(warmup)
    cpu = CpuWindow(server_pid, time.process_time)
    cpu.start()
    run.window_start_ns = start_ns = time.perf_counter_ns()
    run.measuring = True
    await asyncio.sleep(duration)
    run.measuring = False
    elapsed = (time.perf_counter_ns() - start_ns) / 1e9
    usage = cpu.stop()
    run.stopping = True
    await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    return run, elapsed, usage


def _encode_requests(base_url: str, paths: list[str], headers: dict[str, str]) -> list[bytes]:
    netloc = urlsplit(base_url).netloc
    extra = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return [
        f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\nUser-Agent: certledger-bench\r\n{extra}\r\n".encode()
        for path in paths
    ]


def run_python(
    label: str,
    base_url: str,
    paths: list[str],
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 16,
    duration: float = 10.0,
    warmup: float = 2.0,
    server_pid: int | None = None,
) -> LoadResult:
    """Load `paths` (cycled) on `base_url` with the built-in asyncio engine."""
    parts = urlsplit(base_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = _encode_requests(base_url, paths, headers or {})
    run, elapsed, usage = asyncio.run(
        _python_load(requests, host, port, concurrency, duration, warmup, server_pid)
    )
    latencies_ms = [ns / 1e6 for ns in run.latencies_ns]
    count = len(latencies_ms)
    return LoadResult(
        engine="python-asyncio",
        label=label,
        concurrency=concurrency,
        duration_s=round(elapsed, 3),
        requests=count,
        rps=count / elapsed if elapsed else 0.0,
        p50_ms=percentile(latencies_ms, 50),
        p99_ms=percentile(latencies_ms, 99),
        non_2xx=sum(n for status, n in run.statuses.items() if not 200 <= status < 300),
        socket_errors=run.errors,
        **usage,  # type: ignore[arg-type]
        statuses={str(k): v for k, v in sorted(run.statuses.items())},
    )


# --- the wrk engine --------------------------------------------------------------------------------

_LUA = """
local paths = {%(paths)s}
local headers = {%(headers)s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i], headers)
end
"""


def _lua_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _wrk_duration_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected wrk duration {text!r}")
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}[match.group(2)]
    return float(match.group(1)) * scale


def run_wrk(
    label: str,
    base_url: str,
    paths: list[str],
    *,
    headers: dict[str, str] | None = None,
    concurrency: int = 16,
    duration: float = 10.0,
    warmup: float = 2.0,
    server_pid: int | None = None,
    threads: int = 1,
) -> LoadResult:
    """Load `paths` (cycled by a Lua script) on `base_url` with wrk; a separate wrk run warms up."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed")
    script = _LUA % {
        "paths": ", ".join(_lua_string(p) for p in paths),
        "headers": ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in (headers or {}).items()),
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        base = [wrk, f"-t{threads}", f"-c{concurrency}", "-s", script_path, "--latency"]
        if warmup > 0:
            subprocess.run([*base, f"-d{max(1, round(warmup))}s", base_url], capture_output=True, check=True)
        # The window includes wrk's own start and stop (a few ms): CPU shares are a slight underestimate.
        cpu = CpuWindow(server_pid, _children_cpu_seconds)
        cpu.start()
        out = subprocess.run(
            [*base, f"-d{max(1, round(duration))}s", base_url], capture_output=True, text=True, check=True
        ).stdout
        usage = cpu.stop()
    finally:
        os.unlink(script_path)
    requests = re.search(r"(\d+) requests in ([\d.]+\w+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (requests and rps and p50 and p99):
        raise RuntimeError(f"could not read wrk's output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    window = _wrk_duration_ms(requests.group(2)) / 1e3
    return LoadResult(
        engine="wrk",
        label=label,
        concurrency=concurrency,
        duration_s=round(window, 3),
        requests=int(requests.group(1)),
        rps=float(rps.group(1)),
        p50_ms=_wrk_duration_ms(p50.group(1)),
        p99_ms=_wrk_duration_ms(p99.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in socket.groups()) if socket else 0,
        **usage,  # type: ignore[arg-type]
    )


def run_load(engine: str, label: str, base_url: str, paths: list[str], **options: object) -> LoadResult:
    """`engine` is "wrk" or "python"."""
    runner = run_wrk if engine == "wrk" else run_python
    return runner(label, base_url, paths, **options)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Closed-loop HTTP/1.1 load on one URL (keep-alive).")
    parser.add_argument("url", help="e.g. http://127.0.0.1:8000/healthz")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="connections (default 16)")
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds measured (default 10)")
    parser.add_argument("-w", "--warmup", type=float, default=2.0, help="seconds before (default 2)")
    parser.add_argument("-H", "--header", action="append", default=[], help="'Name: value', repeatable")
    parser.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--server-pid", type=int, help="report this process's CPU use over the window")
    args = parser.parse_args(argv)
    parts = urlsplit(args.url)
    base_url = f"{parts.scheme}://{parts.netloc}"
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    headers = dict(h.split(":", 1) for h in args.header)
    engine = args.engine if args.engine != "auto" else ("wrk" if wrk_path() else "python")
    result = run_load(
        engine,
        path,
        base_url,
        [path],
        headers={k.strip(): v.strip() for k, v in headers.items()},
        concurrency=args.concurrency,
        duration=args.duration,
        warmup=args.warmup,
        server_pid=args.server_pid,
    )
    for key, value in result.as_dict().items():
        print(f"{key:>15}: {round(value, 3) if isinstance(value, float) else value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
