"""Does certledger stay as fast on a ledger of a million attendee rows as on one of a thousand? (issue 6,
target 3: Scale)

It seeds two ledgers through the real write path (service/ledger/seeding.py: the same functions the API
uses, batched, events chained), a small one (100 sessions, 1,000 rows by default) and a large one
(100,000 sessions, 1,000,000 rows), or reuses files given with --small-db / --large-db. It starts the real
server (`python -m service serve`, scripts/bench.py's Server) on each, both at once, and measures with one
sequential keep-alive client, alternating request by request between the two servers, so that whatever
else this shared machine does falls on both alike:

1. certificate requests: POST /api/v1/certificate-requests for eligible attendees spread over each
   ledger's whole date range, each a new certificate (decision, PDF render, write);
2. verification: GET /v/{token} as JSON for the certificates just issued;

then reports the median and p95 of each, the ratio large / small (target: medians <= 1.2 x), the
database's bytes per attendance row (main file plus WAL after a TRUNCATE checkpoint, divided by the rows
of the attendees table; target < 400), and each server's memory: VmRSS and VmHWM (peak) of the server
process and of its PDF render process (target < 150 MB).

    .venv/bin/python scripts/bench_scale.py                                  # seeds both, ~4 minutes
    .venv/bin/python scripts/bench_scale.py --large-db /tmp/scale.sqlite3   # reuse a seeded ledger
    .venv/bin/python scripts/bench_scale.py --large-sessions 20000 --json scale.json

A reused ledger needs its ledger key: CERTLEDGER_LEDGER_KEY in the environment, or the key file beside the
database (as every certledger command reads it). Seeded files go under --workdir (default: a new
directory in /tmp) and are kept, so that a second run can reuse them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import ApiClient, Attendee, Server, _issue, _summary, machine_facts
from load import percentile

from service.ledger.seeding import EligibleAttendee, SeedPlan, sample_attendees, seed_path
from service.settings import load_settings

LATENCY_RATIO_TARGET = 1.2
BYTES_PER_ROW_TARGET = 400
RSS_TARGET_MB = 150


@dataclass
class Ledger:
    label: str
    db: Path
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    seeded: dict[str, Any] | None = None
    server: Server | None = None
    intake_token: str = ""
    people: list[EligibleAttendee] = field(default_factory=list)
    hub_people: list[EligibleAttendee] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    verify_ms: list[float] = field(default_factory=list)
    refused_ms: list[float] = field(default_factory=list)
    verify_paths: list[str] = field(default_factory=list)
    memory: dict[str, Any] = field(default_factory=dict)
    storage_before: dict[str, Any] = field(default_factory=dict)  # as seeded (or found), no server yet
    storage: dict[str, Any] = field(default_factory=dict)  # after the bench's certificates


# --- set-up ---------------------------------------------------------------------------------------


def ledger_settings(db: Path) -> dict[str, str]:
    """The CERTLEDGER_ variables that open `db` with its own keys (environment, else its key file)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}
    for name in ("CERTLEDGER_LEDGER_KEY", "CERTLEDGER_SECRET_KEYS"):
        if name in os.environ:
            env[name] = os.environ[name]
    settings = load_settings({**env, "CERTLEDGER_DB": str(db)})
    return {
        "CERTLEDGER_DB": str(db),
        "CERTLEDGER_LEDGER_KEY": settings.ledger_key,
        "CERTLEDGER_SECRET_KEYS": ",".join(settings.secret_keys),
    }


def seed(ledger: Ledger, sessions: int, rows_per_session: int) -> None:
    print(f"seeding the {ledger.label} ledger: {sessions:,} sessions into {ledger.db} …", file=sys.stderr)
    result = asyncio.run(
        seed_path(
            ledger.db,
            ledger.env["CERTLEDGER_LEDGER_KEY"],
            SeedPlan(sessions=sessions, rows_per_session=rows_per_session),
        )
    )
    ledger.seeded = {
        "sessions": result.sessions,
        "attendee_rows": result.attendee_rows,
        "events": result.events,
        "first_date": result.first_date.isoformat(),
        "last_date": result.last_date.isoformat(),
        "seconds": round(result.seconds, 1),
    }


def start(ledger: Ledger) -> None:
    """The real server on the ledger, with an intake token made by the real CLI."""
    ledger.workdir.mkdir(parents=True, exist_ok=True)
    server = Server(ledger.workdir)
    server.env.update(ledger.env)
    ledger.server = server
    ledger.intake_token = server.cli(
        "token", "create", "--role", "intake", "--name", f"scale bench {ledger.label}"
    ).split()[0]
    print(f"starting the server on the {ledger.label} ledger ({server.url}) …", file=sys.stderr)
    started = time.perf_counter()
    server.start()
    ledger.memory["start_seconds"] = round(time.perf_counter() - started, 2)


# --- measurements ---------------------------------------------------------------------------------


def _as_attendee(person: EligibleAttendee) -> Attendee:
    return Attendee(person.name, person.email, person.date.isoformat(), person.facilitator)


def _verify(client: ApiClient, path: str) -> float:
    started = time.perf_counter()
    answer = client.get(path, headers={"Accept": "application/json"})
    elapsed = (time.perf_counter() - started) * 1e3
    if answer.status_code != 200 or answer.json().get("status") != "valid":
        raise RuntimeError(f"verification of {path} answered {answer.status_code} {answer.content[:300]!r}")
    return elapsed


def _refused(client: ApiClient, person: EligibleAttendee) -> float:
    started = time.perf_counter()
    answer = client.post(
        "/api/v1/certificate-requests",
        {"email": person.email, "date": person.date.isoformat(), "facilitator": person.facilitator},
    )
    elapsed = (time.perf_counter() - started) * 1e3
    body = answer.json()
    if answer.status_code != 200 or body.get("reason") != "hub_session":
        raise RuntimeError(f"expected a hub_session refusal for {person.email}, got {body}")
    return elapsed


def measure(ledgers: list[Ledger], requests: int, warmup: int, verifications: int, refusals: int) -> None:
    """Alternating between the ledgers request by request (the order swapped every round)."""
    clients = []
    for ledger in ledgers:
        assert ledger.server is not None, "start() each ledger's server first"
        clients.append(ApiClient(ledger.server, ledger.intake_token))
    try:
        seen: list[set[str]] = [set() for _ in ledgers]
        for round_ in range(warmup + requests):
            order = list(range(len(ledgers)))[:: -1 if round_ % 2 else 1]
            for i in order:
                post_ms, _pdf_ms, path = _issue(clients[i], _as_attendee(ledgers[i].people[round_]), seen[i])
                ledgers[i].verify_paths.append(path)
                if round_ >= warmup:
                    ledgers[i].request_ms.append(post_ms)
        for round_ in range(warmup + verifications):
            order = list(range(len(ledgers)))[:: -1 if round_ % 2 else 1]
            for i in order:
                paths = ledgers[i].verify_paths
                elapsed = _verify(clients[i], paths[round_ % len(paths)])
                if round_ >= warmup:
                    ledgers[i].verify_ms.append(elapsed)
        for round_ in range(refusals):
            order = list(range(len(ledgers)))[:: -1 if round_ % 2 else 1]
            for i in order:
                ledgers[i].refused_ms.append(_refused(clients[i], ledgers[i].hub_people[round_]))
    finally:
        for client in clients:
            client.close()


def _status_kb(pid: int) -> dict[str, int]:
    found = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    except OSError:
        pass
    return found


def memory(ledger: Ledger) -> None:
    """VmRSS (now) and VmHWM (peak since start) of the server and of each child (the render process)."""
    assert ledger.server is not None
    server = _status_kb(ledger.server.pid)
    children = [_status_kb(pid) for pid in ledger.server.children()]
    mb = 1024
    ledger.memory.update(
        {
            "server_rss_mb": round(server.get("VmRSS", 0) / mb, 1),
            "server_hwm_mb": round(server.get("VmHWM", 0) / mb, 1),
            "children": len(children),
            "children_rss_mb": round(sum(c.get("VmRSS", 0) for c in children) / mb, 1),
            "children_hwm_mb": round(sum(c.get("VmHWM", 0) for c in children) / mb, 1),
        }
    )
    ledger.memory["total_rss_mb"] = round(
        ledger.memory["server_rss_mb"] + ledger.memory["children_rss_mb"], 1
    )
    ledger.memory["total_hwm_mb"] = round(
        ledger.memory["server_hwm_mb"] + ledger.memory["children_hwm_mb"], 1
    )


def storage(ledger: Ledger) -> dict[str, Any]:
    """With no server running: a TRUNCATE checkpoint, then the files' sizes over the attendee rows."""
    with sqlite3.connect(ledger.db) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (rows,) = db.execute("SELECT COUNT(*) FROM attendees").fetchone()
        (page_size,) = db.execute("PRAGMA page_size").fetchone()
        try:
            tables = db.execute(
                "SELECT name, SUM(pgsize), SUM(unused) FROM dbstat GROUP BY name ORDER BY SUM(pgsize) DESC"
            ).fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            tables = []
    files = {suffix: ledger.db.with_name(ledger.db.name + suffix) for suffix in ("", "-wal", "-shm")}
    sizes = {suffix or "main": p.stat().st_size if p.exists() else 0 for suffix, p in files.items()}
    total = sizes["main"] + sizes["-wal"]
    return {
        "attendee_rows": rows,
        "page_size": page_size,
        "main_bytes": sizes["main"],
        "wal_bytes": sizes["-wal"],
        "bytes_per_row": total / rows if rows else 0.0,
        "by_table_bytes_per_row": {name: round(size / rows, 1) for name, size, _unused in tables[:8] if rows},
        "by_table_unused_pct": {
            name: round(100 * unused / size, 1) for name, size, unused in tables[:8] if size
        },
    }


def audit(ledger: Ledger) -> dict[str, Any]:
    print(f"auditing the {ledger.label} ledger …", file=sys.stderr)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "service", "audit"],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("CERTLEDGER_")}, **ledger.env},
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "passed": done.returncode == 0,
        "output": (done.stdout or done.stderr).strip(),
        "seconds": round(time.perf_counter() - started, 1),
    }


# --- report ---------------------------------------------------------------------------------------


def _stats(values: list[float]) -> dict[str, float]:
    summary = _summary(values)
    summary["p95_ms"] = percentile(values, 95)
    return {k: round(v, 3) for k, v in summary.items()}


def report(facts: dict[str, Any], small: Ledger, large: Ledger, audits: dict[str, Any]) -> dict[str, Any]:
    line = "-" * 96
    print(line)
    print(f"certledger scale benchmark   commit {facts['commit']}   {facts['date']}")
    print(
        f"machine: {facts['cores']} cores, {facts['python']}, load average at start "
        f"{' '.join(map(str, facts['load_average_at_start']))} (other work shares these cores)"
    )
    print(
        "servers: python -m service serve, one worker each plus its PDF render process, both running; "
        "one sequential\n         http.client keep-alive client alternating between them request by request"
    )
    print(line)
    print(f"{'':44}{'small':>22}{'large':>22}")
    for lg_label, key in (("attendee rows", "attendee_rows"),):
        print(f"{lg_label:44}{small.storage[key]:>22,}{large.storage[key]:>22,}")
    sessions = [lg.seeded["sessions"] if lg.seeded else "(reused)" for lg in (small, large)]
    print(f"{'sessions seeded':44}{sessions[0]!s:>22}{sessions[1]!s:>22}")
    seeded_s = [f"{lg.seeded['seconds']:.1f} s" if lg.seeded else "-" for lg in (small, large)]
    print(f"{'seeding time':44}{seeded_s[0]:>22}{seeded_s[1]:>22}")
    results: dict[str, Any] = {}
    for key, label in (
        ("request_ms", "POST certificate-requests (new certificate)"),
        ("verify_ms", "GET /v/{token} (JSON)"),
        ("refused_ms", "POST certificate-requests (hub: refused)"),
    ):
        a, b = _stats(getattr(small, key)), _stats(getattr(large, key))
        ratio = b["median_ms"] / a["median_ms"] if a["median_ms"] else float("nan")
        results[key] = {
            "small": a,
            "large": b,
            "median_ratio": round(ratio, 3),
            "n": len(getattr(small, key)),
        }
        print(f"{label:44}{'median / p95 ms':>22}")
        print(
            f"{'':44}{a['median_ms']:>12.2f} / {a['p95_ms']:<7.2f}{b['median_ms']:>12.2f} / {b['p95_ms']:<7.2f}"
            f"  ratio {ratio:.2f} (n={len(getattr(small, key))})"
        )
    print(line)
    print(f"{'database bytes per attendance row, as seeded':44}", end="")
    print(f"{small.storage_before['bytes_per_row']:>22.1f}{large.storage_before['bytes_per_row']:>22.1f}")
    print(f"{'  after the certificates issued here':44}", end="")
    print(f"{small.storage['bytes_per_row']:>22.1f}{large.storage['bytes_per_row']:>22.1f}")
    print(
        f"{'  (main + WAL after TRUNCATE checkpoint)':44}"
        f"{small.storage['main_bytes'] + small.storage['wal_bytes']:>22,}"
        f"{large.storage['main_bytes'] + large.storage['wal_bytes']:>22,}"
    )
    print(f"{'  page size':44}{small.storage['page_size']:>22}{large.storage['page_size']:>22}")
    for name, per_row in large.storage["by_table_bytes_per_row"].items():
        unused = large.storage["by_table_unused_pct"].get(name, 0)
        print(f"{'    ' + name:44}{'':>22}{per_row:>14.1f} ({unused:4.1f}% unused)")
    for key, label in (
        ("server_rss_mb", "server VmRSS MB (at the end)"),
        ("server_hwm_mb", "server VmHWM MB (peak)"),
        ("children_rss_mb", "render process VmRSS MB"),
        ("children_hwm_mb", "render process VmHWM MB"),
        ("total_rss_mb", "server + render VmRSS MB"),
        ("total_hwm_mb", "server + render VmHWM MB"),
        ("start_seconds", "server start to first /healthz, s"),
    ):
        print(f"{label:44}{small.memory[key]:>22}{large.memory[key]:>22}")
    print(line)
    verdicts = {
        "request_median_ratio": results["request_ms"]["median_ratio"] <= LATENCY_RATIO_TARGET,
        "verify_median_ratio": results["verify_ms"]["median_ratio"] <= LATENCY_RATIO_TARGET,
        "bytes_per_row": large.storage_before["bytes_per_row"] < BYTES_PER_ROW_TARGET,
        # The stricter reading: the server and its render process together, at their peak.
        "server_rss": large.memory["total_hwm_mb"] < RSS_TARGET_MB,
    }
    print(
        f"targets: request median ratio <= {LATENCY_RATIO_TARGET}: "
        f"{'MET' if verdicts['request_median_ratio'] else 'MISSED'}; verification median ratio <= "
        f"{LATENCY_RATIO_TARGET}: {'MET' if verdicts['verify_median_ratio'] else 'MISSED'}; "
        f"bytes per row as seeded < {BYTES_PER_ROW_TARGET}: {'MET' if verdicts['bytes_per_row'] else 'MISSED'}; "
        f"server + render peak RSS < {RSS_TARGET_MB} MB: {'MET' if verdicts['server_rss'] else 'MISSED'}"
    )
    for label, result in audits.items():
        print(f"audit of the {label} ledger ({result['seconds']} s): {result['output']}")
    print(line)
    return {"latency": results, "targets_met": verdicts}


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small-sessions", type=int, default=100, help="sessions of the small ledger (100)")
    parser.add_argument("--large-sessions", type=int, default=100_000, help="of the large ledger (100,000)")
    parser.add_argument("--rows-per-session", type=int, default=10, help="attendees per list (10)")
    parser.add_argument("--small-db", type=Path, help="reuse this seeded ledger as the small one")
    parser.add_argument("--large-db", "--db", type=Path, help="reuse this seeded ledger as the large one")
    parser.add_argument("--workdir", type=Path, help="where seeded files and server logs go (new in /tmp)")
    parser.add_argument("-n", "--requests", type=int, default=200, help="certificate requests measured (200)")
    parser.add_argument("--warmup", type=int, default=20, help="requests and verifications first, unmeasured")
    parser.add_argument("--verifications", type=int, default=1000, help="verifications measured (1000)")
    parser.add_argument("--refusals", type=int, default=100, help="hub-session requests measured (100)")
    parser.add_argument("--audit", action="store_true", help="run certledger audit on both ledgers after")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    facts = machine_facts()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="certledger-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    small = Ledger("small", args.small_db or workdir / "small.sqlite3", workdir / "small")
    large = Ledger("large", args.large_db or workdir / "large.sqlite3", workdir / "large")
    for ledger, reused, sessions in (
        (small, args.small_db, args.small_sessions),
        (large, args.large_db, args.large_sessions),
    ):
        if reused is not None and not reused.exists():
            parser.error(f"{reused} does not exist")
        ledger.env = ledger_settings(ledger.db)
        if reused is None:
            if ledger.db.exists():
                parser.error(f"{ledger.db} exists already: reuse it with --{ledger.label}-db")
            seed(ledger, sessions, args.rows_per_session)
        wanted = args.warmup + args.requests
        ledger.people = sample_attendees(ledger.db, wanted, seed=int(time.time()))
        ledger.hub_people = sample_attendees(ledger.db, args.refusals, level="hub", seed=1)
        if len(ledger.people) < wanted or len(ledger.hub_people) < args.refusals:
            parser.error(
                f"the {ledger.label} ledger has {len(ledger.people)} eligible attendees for {wanted} "
                f"requests and {len(ledger.hub_people)} hub attendees for {args.refusals} refusals"
            )
    for ledger in (small, large):
        ledger.storage_before = storage(ledger)
    try:
        for ledger in (small, large):
            start(ledger)
        print("measuring …", file=sys.stderr)
        measure([small, large], args.requests, args.warmup, args.verifications, args.refusals)
        for ledger in (small, large):
            memory(ledger)
    finally:
        for ledger in (small, large):
            if ledger.server is not None:
                ledger.server.stop()
    for ledger in (small, large):
        ledger.storage = storage(ledger)
    audits = {lg.label: audit(lg) for lg in (small, large)} if args.audit else {}
    summary = report(facts, small, large, audits)
    print(f"ledgers kept in {workdir} (reuse: --small-db {small.db} --large-db {large.db})", file=sys.stderr)
    if args.json is not None:
        document = {
            "machine": facts,
            "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
            "ledgers": {
                lg.label: {
                    "db": str(lg.db),
                    "seeded": lg.seeded,
                    "storage_as_seeded": lg.storage_before,
                    "storage_after": lg.storage,
                    "memory": lg.memory,
                    "samples_ms": {
                        "request": [round(x, 3) for x in lg.request_ms],
                        "verify": [round(x, 3) for x in lg.verify_ms],
                        "refused": [round(x, 3) for x in lg.refused_ms],
                    },
                }
                for lg in (small, large)
            },
            "audits": audits,
            **summary,
            "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
