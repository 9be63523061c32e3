"""Benchmark certledger through the real server: issuance latency and verification throughput.

It starts `python -m service serve --port P` as a subprocess (one worker process; a fresh temporary
database; the public rate limit off), seeds it through the real API (an intake token from the real CLI,
sessions and attendee lists over HTTP), then measures

1. issuance: one client, sequentially, for distinct eligible attendees (each a new certificate):
   POST /api/v1/certificate-requests, then GET its pdf_url; median and p95 of the pair and of each part;
2. verification: GET /v/{token} as JSON and as the HTML page, next to GET /healthz of the same server in
   the same run, with a closed-loop keep-alive load generator (wrk when installed, else the built-in
   asyncio client in scripts/load.py), each for a fixed duration after a warm-up.

    .venv/bin/python scripts/bench.py            # default, under 3 minutes
    .venv/bin/python scripts/bench.py --quick    # under 1 minute
    .venv/bin/python scripts/bench.py --json bench.json
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import email.message
import email.utils
import http.client
import importlib.util
import itertools
import json
import mailbox
import os
import platform
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import LoadResult, machine_cpu_seconds, percentile, process_cpu_seconds, run_load, wrk_path

ROOT = Path(__file__).resolve().parent.parent
ISSUANCE_MEDIAN_TARGET_MS = 8.0
ISSUANCE_P95_TARGET_MS = 20.0
VERIFY_RATIO_TARGET = 0.8
BUSY_P99_TARGET = 3.0  # verification p99 under steady issuance, at most this times its idle p99
ISSUERS = 4  # clients issuing at once while verification is measured under issuance
INTAKE_TARGET = 50.0  # messages per second
NOISE_PCT = 15.0  # other processes' CPU, % of one core, above which a measurement is flagged
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"

# Names from the scripts the certificates must render (Latin with diacritics, Greek, Cyrillic, Vietnamese).
GIVEN = ["Minh", "Έλενα", "Анна", "José", "Zoë", "Siobhán", "Łukasz", "Ngọc", "Dmitri", "Ana", "Ólafur"]
FAMILY = ["Nguyễn Thị", "Παπαδοπούλου", "Иванова", "García", "O'Brien", "Müller", "Wójcik", "Trần", "Okafor"]
FACILITATORS = [["Jane Doe"], ["Sam Lee", "Priya Raman"], ["Tomás Ortega"], ["Chloé Martin", "Ben Adeyemi"]]


@dataclass
class Options:
    certificates: int
    warmup_certificates: int
    list_size: int
    duration: float
    warmup: float
    concurrency: int
    slices: int
    engine: str
    json_path: Path | None
    keep: bool
    intake_messages: int
    issue_rate: float
    workers_certificates: int


# --- the server -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """`python -m service serve` on a fresh database, as the README runs it."""

    def __init__(self, workdir: Path, workers: int = 1) -> None:
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_token = secrets.token_urlsafe(24)
        self.log_path = workdir / f"server-{self.port}.log"
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
        self.env = {
            **clean,
            "CERTLEDGER_DB": str(workdir / f"ledger-{self.port}.sqlite3"),
            "CERTLEDGER_BASE_URL": self.url,
            "CERTLEDGER_SECRET_KEYS": secrets.token_urlsafe(32),
            "CERTLEDGER_LEDGER_KEY": secrets.token_urlsafe(32),
            "CERTLEDGER_ADMIN_TOKEN": self.admin_token,
            "CERTLEDGER_PUBLIC_RATE_LIMIT": "0",
        }
        self.process: subprocess.Popen[bytes] | None = None
        self.intake_token = ""

    def cli(self, *args: str) -> str:
        """Run the real `certledger` CLI against the same database; its stdout."""
        done = subprocess.run(
            [sys.executable, "-m", "service", *args],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"certledger {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "service",
                    "serve",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited at start:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the server did not answer /healthz within 60 s:\n{self.log_path.read_text()}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def children(self) -> list[int]:
        """The server's child processes (the PDF render process)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                found.append(int(entry.name))
        return found

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- seeding --------------------------------------------------------------------------------------


@dataclass
class Attendee:
    name: str
    email: str
    date: str
    facilitator: str


def seed(server: Server, client: httpx.Client, count: int, list_size: int, first: int = 0) -> list[Attendee]:
    """Sessions (central, on the last days) with lists of eligible attendees, all through the API;
    `first` numbers the attendees (and the sessions' days) on from an earlier seeding."""
    admin = {"Authorization": f"Bearer {server.admin_token}"}
    today = dt.datetime.now(dt.UTC).date()
    attendees: list[Attendee] = []
    session_index = -(-first // list_size)
    while len(attendees) < count:
        date = (today - dt.timedelta(days=2 + session_index)).isoformat()
        facilitators = FACILITATORS[session_index % len(FACILITATORS)]
        created = client.post(
            "/api/v1/sessions",
            headers=admin,
            json={
                "date": date,
                "start_time": "18:00",
                "timezone": "America/New_York",
                "duration_minutes": 90,
                "facilitators": facilitators,
                "level": "central",
                "delivery": "online",
            },
        )
        _expect(created, 201, "create a session")
        rows = []
        for _ in range(min(list_size, count - len(attendees))):
            i = first + len(attendees)
            name = f"{GIVEN[i % len(GIVEN)]} {FAMILY[(i // len(GIVEN)) % len(FAMILY)]} {i:04d}"
            email = f"attendee.{i:05d}@example.org"
            rows.append({"name": name, "email": email, "core_trained": True, "full_participation": True})
            attendees.append(Attendee(name, email, date, facilitators[0]))
        listed = client.put(
            f"/api/v1/sessions/{created.json()['id']}/attendees", headers=admin, json={"attendees": rows}
        )
        _expect(listed, 200, "submit an attendee list")
        if listed.json()["eligible"] != len(rows):
            raise RuntimeError(f"list answered {listed.json()}, expected {len(rows)} eligible")
        session_index += 1
    return attendees


def _expect(response: httpx.Response | Reply, status: int, what: str) -> None:
    if response.status_code != status:
        text = response.content[:500].decode(errors="replace")
        raise RuntimeError(f"could not {what}: {response.status_code} {text}")


# --- issuance -------------------------------------------------------------------------------------


class Reply:
    def __init__(self, status: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code, self.headers, self.content = status, headers, content

    def json(self) -> Any:
        return json.loads(self.content)


class ApiClient:
    """One keep-alive HTTP/1.1 connection (the standard library's http.client) with a bearer token.

    The issuance figures are the server's latency seen from a client; httpx spends about 0.3 ms more
    of its own per request on this machine (GET /healthz round trip 0.58 against 0.31 ms), so the
    lighter client adds less of itself to what is measured. Its floor is reported next to them."""

    def __init__(self, server: Server, token: str) -> None:
        self._connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        self._headers = {"Authorization": f"Bearer {token}"}

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._connection.close()

    def _send(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> Reply:
        headers = {**self._headers, **(headers or {})}
        try:
            self._connection.request(method, path, body=body, headers=headers)
            response = self._connection.getresponse()
        except ConnectionError:
            # The server closed the connection after 5 s idle (uvicorn's keep-alive timeout): reconnect.
            # Safe to send again: the bench's requests carry a message_id or change nothing.
            self._connection.close()
            self._connection.request(method, path, body=body, headers=headers)
            response = self._connection.getresponse()
        content = response.read()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, content)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self._send("GET", path, headers=headers)

    def post(self, path: str, document: object) -> Reply:
        return self._send("POST", path, json.dumps(document).encode(), {"Content-Type": "application/json"})


def _issue(client: ApiClient, person: Attendee, seen: set[str]) -> tuple[float, float, str]:
    """POST the request, GET the PDF; (post ms, pdf ms, verify path). Fails loudly on anything but a
    new certificate."""
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/certificate-requests",
        {
            "email": person.email,
            "date": person.date,
            "facilitator": person.facilitator,
            "message_id": f"<{secrets.token_hex(8)}@bench.example.org>",
        },
    )
    posted = time.perf_counter()
    _expect(answer, 200, f"request a certificate for {person.email}")
    body = answer.json()
    certificate = body.get("certificate")
    if body.get("outcome") != "issued" or certificate is None:
        raise RuntimeError(f"expected a certificate for {person.email}, got {body}")
    if certificate["serial"] in seen:
        raise RuntimeError(f"serial {certificate['serial']} was issued twice")
    seen.add(certificate["serial"])
    fetching = time.perf_counter()
    pdf = client.get(certificate["pdf_url"])
    done = time.perf_counter()
    _expect(pdf, 200, f"fetch {certificate['pdf_url']}")
    if not pdf.content.startswith(b"%PDF-") or pdf.headers.get("content-type") != "application/pdf":
        raise RuntimeError(f"{certificate['pdf_url']} did not answer a PDF")
    return (posted - started) * 1e3, (done - fetching) * 1e3, urlsplit(certificate["verify_url"]).path


def _summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(values),
        "p95_ms": percentile(values, 95),
        "mean_ms": statistics.fmean(values),
        "min_ms": min(values),
        "max_ms": max(values),
    }


def _process_group_cpu(server: Server) -> dict[str, float]:
    render = sum(process_cpu_seconds(pid) or 0.0 for pid in server.children())
    machine = machine_cpu_seconds()
    return {
        "server": process_cpu_seconds(server.pid) or 0.0,
        "render": render,
        "client": time.process_time(),
        "machine": machine[0] if machine else 0.0,
    }


def measure_issuance(
    server: Server, intake_token: str, people: list[Attendee], warmup: int
) -> tuple[dict[str, Any], list[str]]:
    seen: set[str] = set()
    paths: list[str] = []
    with ApiClient(server, intake_token) as client:
        # The round-trip floor of this client and server: a sequential GET /healthz.
        for _ in range(50):
            client.get("/healthz")
        floor = []
        for _ in range(200):
            started = time.perf_counter()
            client.get("/healthz")
            floor.append((time.perf_counter() - started) * 1e3)
        for person in people[:warmup]:
            paths.append(_issue(client, person, seen)[2])
        cpu0 = _process_group_cpu(server)
        started = time.perf_counter()
        posts, pdfs = [], []
        for person in people[warmup:]:
            post_ms, pdf_ms, path = _issue(client, person, seen)
            posts.append(post_ms)
            pdfs.append(pdf_ms)
            paths.append(path)
        wall = time.perf_counter() - started
        cpu1 = _process_group_cpu(server)
    n = len(posts)
    per_cert = {k: (cpu1[k] - cpu0[k]) * 1e3 / n for k in cpu0}
    machine = per_cert.pop("machine")
    per_cert["others"] = max(0.0, machine - sum(per_cert.values()))
    result = {
        "certificates": n,
        "warmup_certificates": warmup,
        "post_plus_pdf": _summary([a + b for a, b in zip(posts, pdfs, strict=True)]),
        "post": _summary(posts),
        "pdf_get": _summary(pdfs),
        "healthz_round_trip": _summary(floor),
        "wall_ms_per_certificate": wall * 1e3 / n,
        "cpu_ms_per_certificate": per_cert,
        "target_median_ms": ISSUANCE_MEDIAN_TARGET_MS,
        "target_p95_ms": ISSUANCE_P95_TARGET_MS,
        "samples_ms": {"post": [round(x, 3) for x in posts], "pdf_get": [round(x, 3) for x in pdfs]},
    }
    result["meets_target"] = (
        result["post_plus_pdf"]["median_ms"] <= ISSUANCE_MEDIAN_TARGET_MS
        and result["post_plus_pdf"]["p95_ms"] <= ISSUANCE_P95_TARGET_MS
    )
    return result, paths


# --- the PDF alone ----------------------------------------------------------------------------------


def measure_render(rounds: int = 300) -> dict[str, Any]:
    """CPU per certificate in this process, next to a bare one-page reportlab document (one line of
    a standard font): the floor any reportlab PDF pays. Importing the certificate module sets zlib
    level 1 for every ReportLab stream in this process, the bare document's page included."""
    import io

    from reportlab.pdfgen.canvas import Canvas

    sys.path.insert(0, str(ROOT))
    from service.certificates.content import sample_certificate
    from service.certificates.pdf import render_certificate

    content = sample_certificate()

    def bare() -> bytes:
        buffer = io.BytesIO()
        canvas = Canvas(buffer, invariant=1)
        canvas.drawString(72, 720, "Certificate of Attendance")
        canvas.showPage()
        canvas.save()
        return buffer.getvalue()

    def cpu_ms(make: Any) -> float:
        for _ in range(20):
            make()
        means = []
        for _ in range(5):
            started = time.process_time()
            for _ in range(rounds // 5):
                make()
            means.append((time.process_time() - started) * 1e3 / (rounds // 5))
        return min(means)  # the least disturbed fifth

    certificate = cpu_ms(lambda: render_certificate(content))
    floor = cpu_ms(bare)
    return {
        "certificate_ms": certificate,
        "certificate_bytes": len(render_certificate(content)),
        "bare_ms": floor,
        "bare_bytes": len(bare()),
        "ratio": certificate / floor,
    }


# --- verification while certificates are issued ---------------------------------------------------


class SteadyIssuer(threading.Thread):
    """Issues certificates at a fixed rate (a new attendee each tick) until stopped."""

    def __init__(self, server: Server, intake_token: str, people: list[Attendee], rate: float) -> None:
        super().__init__(daemon=True)
        self.server, self.token, self.people, self.rate = server, intake_token, people, rate
        self.stop = threading.Event()
        self.latencies: list[float] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        seen: set[str] = set()
        try:
            with ApiClient(self.server, self.token) as client:
                next_at = time.perf_counter()
                for person in self.people:
                    if self.stop.is_set():
                        return
                    post_ms, pdf_ms, _ = _issue(client, person, seen)
                    self.latencies.append(post_ms + pdf_ms)
                    next_at += 1 / self.rate
                    self.stop.wait(max(0.0, next_at - time.perf_counter()))
                raise RuntimeError("the steady issuer ran out of attendees; seed more")
        except BaseException as exc:  # reported by the measuring thread
            self.failure = exc


def measure_verification_busy(
    server: Server, intake_token: str, paths: list[str], people: list[Attendee], options: Options
) -> dict[str, Any]:
    """Verification (JSON) idle and while certificates are issued at a steady rate, in alternating
    slices; p99 under issuance against p99 idle."""
    headers = {"Accept": "application/json"}
    seconds = options.duration / options.slices
    idle: list[LoadResult] = []
    busy: list[LoadResult] = []
    issued: list[float] = []
    latencies: list[float] = []
    remaining = iter(people)
    for turn in range(options.slices):
        warmup = options.warmup if turn == 0 else 0.0
        print(f"  verification idle for {seconds:g} s, then while issuing …", file=sys.stderr)
        idle.append(
            run_load(
                options.engine, "verify_json_idle", server.url, paths, headers=headers,
                concurrency=options.concurrency, duration=seconds, warmup=warmup, server_pid=server.pid,
            )
        )  # fmt: skip
        # Several issuers at rate / ISSUERS each: the rate holds even when one issuance waits behind the
        # verification load (a single sequential client would slow down with the server).
        issuers = [
            SteadyIssuer(
                server,
                intake_token,
                list(itertools.islice(remaining, int(options.issue_rate / ISSUERS * (seconds + 2)) + 5)),
                options.issue_rate / ISSUERS,
            )
            for _ in range(ISSUERS)
        ]
        for issuer in issuers:
            issuer.start()
        time.sleep(0.5)  # the issuers reach their pace before the measured window
        started = time.perf_counter()
        done_before = sum(len(issuer.latencies) for issuer in issuers)
        busy.append(
            run_load(
                options.engine, "verify_json_busy", server.url, paths, headers=headers,
                concurrency=options.concurrency, duration=seconds, warmup=0.0, server_pid=server.pid,
            )
        )  # fmt: skip
        window = time.perf_counter() - started
        done = sum(len(issuer.latencies) for issuer in issuers)
        for issuer in issuers:
            issuer.stop.set()
            issuer.join()
            if issuer.failure is not None:
                raise RuntimeError(f"a steady issuer failed: {issuer.failure}")
            latencies += issuer.latencies
        issued.append((done - done_before) / window)
    quiet, loaded = _combine("verify_json_idle", idle), _combine("verify_json_busy", busy)
    return {
        "issue_rate_target": options.issue_rate,
        "issue_rate_achieved": statistics.mean(issued),
        "issuance_during_load": _summary(latencies),
        "idle": quiet.as_dict(),
        "busy": loaded.as_dict(),
        "p99_ratio": loaded.p99_ms / quiet.p99_ms if quiet.p99_ms else 0.0,
        "target_p99_ratio": BUSY_P99_TARGET,
    }


# --- worker processes -----------------------------------------------------------------------------


def issue_concurrently(server: Server, intake_token: str, people: list[Attendee], clients: int) -> float:
    """New certificates per second with `clients` sequential clients at once."""
    seen: set[str] = set()
    lock = threading.Lock()

    def client_work(share: list[Attendee]) -> None:
        with ApiClient(server, intake_token) as client:
            for person in share:
                local: set[str] = set()
                _issue(client, person, local)
                with lock:
                    if local & seen:
                        raise RuntimeError(f"serial {local} was issued twice")
                    seen.update(local)

    shares = [people[k::clients] for k in range(clients)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_work, shares))
    return len(people) / (time.perf_counter() - started)


def measure_workers(server: Server, intake_token: str, paths: list[str], people: list[Attendee],
                    options: Options) -> dict[str, Any]:  # fmt: skip
    """Throughput of one server: healthz and verification (JSON) req/s, and certificates per second
    with four clients issuing at once."""
    loads = {}
    for label, target, headers in (
        ("healthz", ["/healthz"], {}),
        ("verify_json", paths, {"Accept": "application/json"}),
    ):
        print(f"  workers={server.workers}: loading {label} …", file=sys.stderr)
        loads[label] = run_load(
            options.engine, label, server.url, target, headers=headers,
            concurrency=options.concurrency, duration=options.duration / 2, warmup=options.warmup,
            server_pid=server.pid,
        ).as_dict()  # fmt: skip
    print(f"  workers={server.workers}: issuing {len(people)} certificates with 4 clients …", file=sys.stderr)
    return {
        "workers": server.workers,
        "healthz_rps": loads["healthz"]["rps"],
        "verify_json_rps": loads["verify_json"]["rps"],
        "verify_json_p99_ms": loads["verify_json"]["p99_ms"],
        "certificates_per_second": issue_concurrently(server, intake_token, people, clients=4),
    }


# --- verification ---------------------------------------------------------------------------------


def check_verification(server: Server, path: str) -> None:
    """One valid answer of each kind before loading them, so the load measures the right thing."""
    as_json = httpx.get(server.url + path, headers={"Accept": "application/json"})
    _expect(as_json, 200, f"verify {path} as JSON")
    if as_json.json().get("status") != "valid":
        raise RuntimeError(f"verification of {path} answered {as_json.text[:300]}")
    page = httpx.get(server.url + path, headers={"Accept": BROWSER_ACCEPT})
    _expect(page, 200, f"verify {path} as HTML")
    if not page.headers.get("content-type", "").startswith("text/html"):
        raise RuntimeError(f"the verification page answered {page.headers.get('content-type')}")


def _combine(label: str, parts: list[LoadResult]) -> LoadResult:
    """Slices of one target as one result: rates over the summed time, percentiles as slice medians."""
    if len(parts) == 1:
        return parts[0]
    duration = sum(p.duration_s for p in parts)
    requests = sum(p.requests for p in parts)

    def share(attr: str) -> float | None:
        values = [getattr(p, attr) for p in parts]
        if any(v is None for v in values):
            return None
        return sum(v * p.duration_s for v, p in zip(values, parts, strict=True)) / duration

    statuses: dict[str, int] = {}
    for part in parts:
        for status, n in part.statuses.items():
            statuses[status] = statuses.get(status, 0) + n
    return LoadResult(
        engine=parts[0].engine,
        label=label,
        concurrency=parts[0].concurrency,
        duration_s=round(duration, 3),
        requests=requests,
        rps=requests / duration if duration else 0.0,
        p50_ms=statistics.median(p.p50_ms for p in parts),
        p99_ms=statistics.median(p.p99_ms for p in parts),
        non_2xx=sum(p.non_2xx for p in parts),
        socket_errors=sum(p.socket_errors for p in parts),
        server_cpu_pct=share("server_cpu_pct"),
        client_cpu_pct=share("client_cpu_pct"),
        machine_busy_pct=share("machine_busy_pct"),
        others_cpu_pct=share("others_cpu_pct"),
        steal_pct=share("steal_pct"),
        statuses=statuses,
        slice_rps=[round(p.rps, 1) for p in parts],
    )


def measure_verification(server: Server, paths: list[str], options: Options) -> dict[str, Any]:
    """Each target for `duration` seconds after a warm-up; with slices > 1 the targets take turns in
    equal slices, so that whatever else the machine does meanwhile falls on all of them alike."""
    check_verification(server, paths[0])
    targets = [
        ("healthz", ["/healthz"], {}),
        ("verify_json", paths, {"Accept": "application/json"}),
        ("verify_html", paths, {"Accept": BROWSER_ACCEPT}),
    ]
    parts: dict[str, list[LoadResult]] = {label: [] for label, _, _ in targets}
    for turn in range(options.slices):
        for label, target_paths, headers in targets:
            # A warm-up before a target's first slice; later slices only open their connections.
            warmup = options.warmup if turn == 0 else (0.0 if options.engine == "wrk" else 0.2)
            seconds = options.duration / options.slices
            print(f"  loading {label} for {warmup:g} s + {seconds:g} s …", file=sys.stderr)
            parts[label].append(
                run_load(
                    options.engine,
                    label,
                    server.url,
                    target_paths,
                    headers=headers,
                    concurrency=options.concurrency,
                    duration=seconds,
                    warmup=warmup,
                    server_pid=server.pid,
                )
            )
    results = {label: _combine(label, found) for label, found in parts.items()}
    healthz = results["healthz"].rps
    return {
        "engine": options.engine,
        "slices": options.slices,
        "results": {k: v.as_dict() for k, v in results.items()},
        "ratio_json": results["verify_json"].rps / healthz if healthz else 0.0,
        "ratio_html": results["verify_html"].rps / healthz if healthz else 0.0,
        "target_ratio": VERIFY_RATIO_TARGET,
    }


# --- facts and report -----------------------------------------------------------------------------


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}{' (with uncommitted changes to tracked files)' if dirty else ''}"


def machine_facts() -> dict[str, Any]:
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return {
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "commit": git_commit(),
        "uvicorn_http": http,
        "uvicorn_loop": loop,
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


# --- intake ---------------------------------------------------------------------------------------

_REQUESTS = (
    "Hello,\n\nCould I please have my certificate of attendance for the co-reflection on {day} with "
    "{facilitator}?\n\nThank you,\n{name}\n",
    "Hi there! I attended {facilitator}'s session on {day}. Please send me the certificate for my "
    "state certification.\n\nBest,\n{name}\n",
)


def _request_email(person: Attendee, number: int) -> bytes:
    day = dt.date.fromisoformat(person.date)
    message = email.message.EmailMessage()
    message["From"] = email.utils.formataddr((person.name, person.email))
    message["To"] = "info@ipscentral.test"
    message["Subject"] = "Certificate of attendance"
    message["Date"] = email.utils.format_datetime(dt.datetime.combine(day, dt.time(21), dt.UTC))
    message["Message-ID"] = f"<bench-{number}@mail.example.org>"
    text = _REQUESTS[number % len(_REQUESTS)].format(
        day=f"{day.day} {day:%B}", facilitator=person.facilitator, name=person.name
    )
    message.set_content(text)
    if number % 3 == 0:
        message.add_alternative(f"<div dir=ltr><p>{text}</p></div>", subtype="html")
    return message.as_bytes()


def measure_intake(
    server: Server, intake_token: str, people: list[Attendee], workdir: Path
) -> dict[str, Any]:
    """The intake over a Maildir of request emails, each from an eligible attendee, into an outbox."""
    maildir, outbox = mailbox.Maildir(workdir / "inbox", create=True), workdir / "outbox"
    for number, person in enumerate(people):
        maildir.add(mailbox.MaildirMessage(_request_email(person, number)))
    command = [
        sys.executable, str(ROOT / "scripts" / "intake.py"), "--api", server.url, "--token", intake_token,
        "--maildir", str(workdir / "inbox"), "--outbox", str(outbox), "--from", "info@ipscentral.test",
        "--state", str(workdir / "intake-state.sqlite3"), "--once",
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, env=server.env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"the intake failed:\n{done.stderr[-2000:]}")
    replies = list((outbox / "new").iterdir())
    with_pdf = sum(b"certificate-CL-" in path.read_bytes() for path in replies)
    if len(replies) != len(people) or with_pdf != len(people):
        raise RuntimeError(
            f"{len(replies)} replies, {with_pdf} with a certificate, for {len(people)} requests"
        )
    return {"messages": len(people), "seconds": seconds, "per_second": len(people) / seconds}


def report(facts: dict[str, Any], options: Options, issuance: dict[str, Any], verify: dict[str, Any]) -> None:
    engine = verify["engine"]
    engine_text = (
        "wrk (Debian package), 1 thread"
        if engine == "wrk"
        else "built-in asyncio HTTP/1.1 client (scripts/load.py), 1 process"
        + ("" if wrk_path() else "; wrk is not installed")
    )
    line = "-" * 86
    print(line)
    print(f"certledger benchmark   commit {facts['commit']}   {facts['date']}")
    print(
        f"machine: {facts['cores']} cores (os.cpu_count()), {facts['python']}, {facts['platform']}, "
        f"load average at start {' '.join(map(str, facts['load_average_at_start']))}"
    )
    print(
        "server:  python -m service serve: ONE worker process (uvicorn, "
        f"{facts['uvicorn_loop']} loop, {facts['uvicorn_http']}) plus its PDF render process;"
    )
    print("         fresh temporary SQLite database; public rate limit OFF (CERTLEDGER_PUBLIC_RATE_LIMIT=0)")
    print(line)
    i = issuance
    print(
        f"1. Issuance: {i['certificates']} new certificates after {i['warmup_certificates']} warm-up, "
        "one client (http.client, keep-alive), sequential"
    )
    print(f"   {'':34}{'median':>9}{'p95':>9}{'mean':>9}{'min':>9}{'max':>9}   (ms)")
    for key, label in (
        ("post_plus_pdf", "POST request + GET pdf_url"),
        ("post", "POST /certificate-requests alone"),
        ("pdf_get", "GET pdf_url alone"),
        ("healthz_round_trip", "GET /healthz (round-trip floor)"),
    ):
        s = i[key]
        print(
            f"   {label:34}{s['median_ms']:9.2f}{s['p95_ms']:9.2f}{s['mean_ms']:9.2f}"
            f"{s['min_ms']:9.2f}{s['max_ms']:9.2f}"
        )
    cpu = i["cpu_ms_per_certificate"]
    print(
        f"   CPU per certificate: server process {cpu['server']:.1f} ms, render process {cpu['render']:.1f} ms, "
        f"this client {cpu['client']:.1f} ms, other processes {cpu['others']:.1f} ms; "
        f"wall {i['wall_ms_per_certificate']:.1f} ms"
    )
    r = i["render"]
    print(
        f"   the PDF alone, in this process: {r['certificate_ms']:.2f} ms CPU and {r['certificate_bytes']:,} "
        f"bytes; a bare one-page reportlab document {r['bare_ms']:.2f} ms ({r['ratio']:.1f} x)"
    )
    verdict = "MET" if i["meets_target"] else "MISSED"
    print(
        f"   target: POST + PDF median <= {ISSUANCE_MEDIAN_TARGET_MS:g} ms and p95 <= "
        f"{ISSUANCE_P95_TARGET_MS:g} ms: {verdict} ({i['post_plus_pdf']['median_ms']:.2f} / "
        f"{i['post_plus_pdf']['p95_ms']:.2f} ms)"
    )
    print(line)
    first = next(iter(verify["results"].values()))
    sliced = (
        f" in {options.slices} alternating slices of {options.duration / options.slices:g} s"
        if options.slices > 1
        else ""
    )
    print(
        f"2. Verification: {first['concurrency']} keep-alive connections, {options.duration:g} s each"
        f"{sliced} after {options.warmup:g} s warm-up"
    )
    print(f"   load generator: {engine_text}")
    print(
        f"   {'':28}{'req/s':>9}{'x healthz':>10}{'p50 ms':>9}{'p99 ms':>9}{'requests':>10}{'errors':>8}"
        f"{'server':>8}{'client':>8}{'others':>8}"
    )
    healthz = verify["results"]["healthz"]["rps"]
    for key, label in (
        ("healthz", "GET /healthz"),
        ("verify_json", "GET /v/{token} (JSON)"),
        ("verify_html", "GET /v/{token} (HTML page)"),
    ):
        r = verify["results"][key]
        errors = r["non_2xx"] + r["socket_errors"]
        print(
            f"   {label:28}{r['rps']:9.0f}{r['rps'] / healthz if healthz else 0:10.2f}{r['p50_ms']:9.2f}"
            f"{r['p99_ms']:9.2f}{r['requests']:10d}{errors:8d}{_pct(r['server_cpu_pct']):>8}"
            f"{_pct(r['client_cpu_pct']):>8}{_pct(r['others_cpu_pct']):>8}"
        )
    if options.slices > 1:
        print("   p50 / p99: median over the slices; req/s of each slice:")
        for key, r in verify["results"].items():
            print(f"     {key:12} {' '.join(f'{x:.0f}' for x in r['slice_rps'])}")
    for key, label in (("ratio_json", "JSON"), ("ratio_html", "HTML")):
        met = "MET" if verify[key] >= VERIFY_RATIO_TARGET else "MISSED"
        print(f"   target: verify {label} >= {VERIFY_RATIO_TARGET:g} x healthz: {met} ({verify[key]:.2f})")
    print(
        "   server / client / others: CPU in % of one core over each measured window: the server process,\n"
        "   the load generator, everything else on the machine. The server's event loop is one thread, so\n"
        "   about 100% is its limit; aiosqlite's connection threads can add a little beyond it."
    )
    print(line)
    noisy = [r["label"] for r in verify["results"].values() if (r["others_cpu_pct"] or 0) > NOISE_PCT]
    if cpu["others"] > NOISE_PCT / 100 * i["wall_ms_per_certificate"]:
        noisy.insert(0, "issuance")
    if noisy:
        print(
            f"WARNING: other processes used more than {NOISE_PCT:g}% of a core during {', '.join(noisy)}: "
            "those figures are disturbed; rerun on a quiet machine."
        )
        print(line)


# --- main -----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(
        description="Benchmark certledger through the real server (a subprocess on a fresh database): "
        "issuance latency and verification throughput next to /healthz.",
        epilog="On 2 cores the defaults take about 70 s, --quick about 15 s.",
    )
    parser.add_argument("-n", "--certificates", type=int, help="certificates measured (default 300)")
    parser.add_argument("--warmup-certificates", type=int, help="certificates issued first, unmeasured (20)")
    parser.add_argument("--list-size", type=int, default=25, help="attendees per seeded session (25)")
    parser.add_argument("-d", "--duration", type=float, help="seconds measured per verification load (15)")
    parser.add_argument("-w", "--warmup", type=float, help="seconds of load before each measurement (2)")
    parser.add_argument("-c", "--concurrency", type=int, default=16, help="load connections (16)")
    parser.add_argument(
        "--slices",
        type=int,
        help="split each verification load into this many slices, taking turns with the other targets, "
        "so that other work on a shared machine disturbs all targets alike (default 10; --quick 3)",
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator: wrk when installed (auto), or the built-in asyncio client",
    )
    parser.add_argument(
        "--intake-messages", type=int, help="request emails the intake handles, Maildir to outbox (1000)"
    )
    parser.add_argument(
        "--issue-rate",
        type=float,
        default=20.0,
        help="certificates per second issued while verification is measured under issuance (20)",
    )
    parser.add_argument(
        "--workers-certificates", type=int, help="certificates issued by 4 clients per worker count (400)"
    )
    parser.add_argument("--quick", action="store_true", help="60 certificates, 3 s loads: under a minute")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and server log")
    args = parser.parse_args(argv)
    quick = args.quick

    def pick(value: Any, default: Any, fast: Any) -> Any:
        return value if value is not None else (fast if quick else default)

    engine = args.engine
    if engine == "auto":
        engine = "wrk" if wrk_path() else "python"
    elif engine == "wrk" and not wrk_path():
        parser.error("wrk is not installed (apt-get install wrk), use --engine python")
    options = Options(
        certificates=pick(args.certificates, 300, 60),
        warmup_certificates=pick(args.warmup_certificates, 20, 10),
        list_size=args.list_size,
        duration=pick(args.duration, 15.0, 3.0),
        warmup=pick(args.warmup, 2.0, 1.0),
        concurrency=args.concurrency,
        slices=pick(args.slices, 10, 3),
        engine=engine,
        json_path=args.json,
        keep=args.keep,
        intake_messages=pick(args.intake_messages, 1000, 200),
        issue_rate=args.issue_rate,
        workers_certificates=pick(args.workers_certificates, 400, 100),
    )
    if options.certificates < 1 or options.warmup_certificates < 0 or options.list_size < 1:
        parser.error("--certificates must be at least 1, --warmup-certificates at least 0")
    if options.slices < 1 or (engine == "wrk" and options.duration / options.slices < 1):
        parser.error("--slices must be at least 1 (and with wrk, each slice at least 1 s)")
    return options


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    facts = machine_facts()
    workdir = Path(tempfile.mkdtemp(prefix="certledger-bench-"))
    servers: list[Server] = []
    try:
        server = _started(Server(workdir), servers)
        intake_token = server.intake_token
        total = options.certificates + options.warmup_certificates
        busy_people = (
            int(options.issue_rate * (options.duration + 2 * options.slices)) + 5 * ISSUERS * options.slices
        )
        print(f"seeding {total + busy_people} eligible attendees through the API …", file=sys.stderr)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            people = seed(server, client, total + busy_people, options.list_size)
        print(f"issuing {total} certificates …", file=sys.stderr)
        issuance, paths = measure_issuance(server, intake_token, people[:total], options.warmup_certificates)
        issuance["render"] = measure_render()
        verify = measure_verification(server, paths, options)
        busy = measure_verification_busy(server, intake_token, paths, people[total:], options)
        print(f"seeding {options.intake_messages} more attendees, then the intake …", file=sys.stderr)
        with httpx.Client(base_url=server.url, timeout=30) as client:
            writers = seed(server, client, options.intake_messages, options.list_size, first=len(people))
        intake = measure_intake(server, intake_token, writers, workdir)
        server.stop()
        workers = []
        for count in (1, 2):
            print(f"a fresh server with --workers {count} …", file=sys.stderr)
            fresh = _started(Server(workdir, workers=count), servers)
            with httpx.Client(base_url=fresh.url, timeout=30) as client:
                crowd = seed(fresh, client, options.workers_certificates + 20, options.list_size)
            _, fresh_paths = measure_issuance(fresh, fresh.intake_token, crowd[:20], 0)
            workers.append(measure_workers(fresh, fresh.intake_token, fresh_paths, crowd[20:], options))
            fresh.stop()
    finally:
        for running in servers:
            running.stop()
        if options.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            for path in sorted(workdir.rglob("*"), reverse=True):
                path.unlink() if path.is_file() else path.rmdir()
            workdir.rmdir()
    report(facts, options, issuance, verify)
    report_more(options, busy, intake, workers)
    if options.json_path is not None:
        document = {
            "machine": facts,
            "server": {
                "command": "python -m service serve --port P [--workers N]",
                "worker_processes": 1,
                "public_rate_limit": "off (CERTLEDGER_PUBLIC_RATE_LIMIT=0)",
            },
            "options": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items() if k != "keep"
            },
            "issuance": issuance,
            "verification": verify,
            "verification_under_issuance": busy,
            "intake": intake,
            "workers": workers,
        }
        options.json_path.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {options.json_path}", file=sys.stderr)
    return 0


def _started(server: Server, servers: list[Server]) -> Server:
    print(f"starting a server on {server.url} (--workers {server.workers}) …", file=sys.stderr)
    server.intake_token = server.cli("token", "create", "--role", "intake", "--name", "bench intake").split()[
        0
    ]
    servers.append(server)
    server.start()
    return server


def report_more(
    options: Options, busy: dict[str, Any], intake: dict[str, Any], workers: list[dict[str, Any]]
) -> None:
    line = "-" * 86
    idle, loaded = busy["idle"], busy["busy"]
    print(
        f"2b. Verification (JSON) while certificates are issued at {busy['issue_rate_target']:g}/s "
        f"(achieved {busy['issue_rate_achieved']:.1f}/s), alternating with idle slices"
    )
    print(f"   {'':28}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'others':>8}")
    for label, r in (("idle", idle), ("during issuance", loaded)):
        print(
            f"   {label:28}{r['rps']:9.0f}{r['p50_ms']:9.2f}{r['p99_ms']:9.2f}{_pct(r['others_cpu_pct']):>8}"
        )
    met = "MET" if busy["p99_ratio"] <= BUSY_P99_TARGET else "MISSED"
    print(f"   target: p99 during issuance <= {BUSY_P99_TARGET:g} x idle: {met} ({busy['p99_ratio']:.2f} x)")
    during = busy["issuance_during_load"]
    print(
        f"   the certificates meanwhile (POST + GET PDF, {ISSUERS} clients): median {during['median_ms']:.1f} ms, "
        f"p95 {during['p95_ms']:.1f} ms"
    )
    print(line)
    print(
        f"3. Intake: {intake['messages']} request emails, Maildir -> live service -> outbox, one intake "
        f"process: {intake['seconds']:.1f} s, {intake['per_second']:.1f} messages per second"
    )
    met = "MET" if intake["per_second"] >= INTAKE_TARGET else "MISSED"
    print(f"   target: >= {INTAKE_TARGET:g} messages per second: {met}")
    print(line)
    print(
        "4. Worker processes (certledger serve --workers N), each on a fresh database; the load generator\n"
        "   and the 4 issuing clients run on the same 2 cores as the server"
    )
    print(
        f"   {'workers':>9}{'healthz req/s':>16}{'verify req/s':>15}{'verify p99 ms':>15}{'certificates/s':>16}"
    )
    for w in workers:
        print(
            f"   {w['workers']:9d}{w['healthz_rps']:16.0f}{w['verify_json_rps']:15.0f}"
            f"{w['verify_json_p99_ms']:15.2f}{w['certificates_per_second']:16.1f}"
        )
    print(line)


if __name__ == "__main__":
    sys.exit(main())
