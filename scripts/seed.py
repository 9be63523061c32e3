"""Seed a certledger ledger with many sessions and attendee lists, through the ledger's real write path.

    .venv/bin/python scripts/seed.py --sessions 100000 --rows-per-session 10 --db /tmp/scale.sqlite3

The ledger key comes from the environment like every certledger command (CERTLEDGER_LEDGER_KEY, else the
key file beside the database, generated when missing), so `certledger audit` with the same environment
checks the result. See service/ledger/seeding.py for the world it makes.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from service.ledger.seeding import SeedPlan, SeedResult, holds_sessions, seed_path
from service.settings import SettingsError, load_settings


def describe(result: SeedResult, db_path: Path) -> str:
    return (
        f"Seeded {db_path} with {result.sessions:,} sessions ({result.central_sessions:,} central, "
        f"{result.hub_sessions:,} hub) from {result.first_date} to {result.last_date}, "
        f"{result.list_versions:,} list versions holding {result.attendee_rows:,} attendee rows "
        f"({result.people:,} people), {result.tokens} facilitator tokens and {result.events:,} chained "
        f"events in all, in {result.transactions} write transactions taking {result.seconds:.1f} s "
        f"({result.attendee_rows / result.seconds:,.0f} attendee rows per second)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, required=True, help="sessions to add")
    parser.add_argument("--rows-per-session", type=int, default=10, help="attendees per list (10)")
    parser.add_argument("--per-day", type=int, default=20, help="sessions per day on average (20)")
    parser.add_argument("--last-date", type=dt.date.fromisoformat, help="newest date (default yesterday)")
    parser.add_argument("--hub-every", type=int, default=5, help="one session in N is a hub's (5)")
    parser.add_argument(
        "--correction-every", type=int, default=50, help="one list in N gets a corrected version (50; 0 none)"
    )
    parser.add_argument("--batch", type=int, default=2000, help="sessions per write transaction (2000)")
    parser.add_argument("--seed", type=int, default=6, help="random seed (6)")
    parser.add_argument("--db", type=Path, help="database file (default: CERTLEDGER_DB)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--append", action="store_true", help="add to a ledger that already holds sessions (never a real one)"
    )
    args = parser.parse_args(argv)

    try:
        plan = SeedPlan(
            sessions=args.sessions,
            rows_per_session=args.rows_per_session,
            sessions_per_day=args.per_day,
            last_date=args.last_date,
            hub_every=args.hub_every,
            correction_every=args.correction_every,
            batch=args.batch,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    env = dict(os.environ)
    if args.db is not None:
        env["CERTLEDGER_DB"] = str(args.db)
    try:
        settings = load_settings(env)
    except SettingsError as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            elapsed = time.perf_counter() - started
            print(f"  {done:,} / {total:,} sessions, {elapsed:.0f} s", file=sys.stderr)

    if holds_sessions(settings.db_path) and not args.append:
        print(
            f"seed: {settings.db_path} already holds sessions; seeding adds chained events that cannot be "
            "taken back, so it only fills a new ledger (--append to add to this one anyway)",
            file=sys.stderr,
        )
        return 2
    result = asyncio.run(seed_path(settings.db_path, settings.ledger_key, plan, progress))
    print(describe(result, settings.db_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
