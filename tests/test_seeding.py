"""The seeding command (scripts/seed.py, issue 6 target 3) makes a ledger like any other: the audit passes
on it, and the real app decides requests against it with the real rules. Also the two storage changes
that came with the scale work: lists' events in their compact spelling (the earlier one still audits),
and session ids that sort by date."""

import asyncio
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.ledger.database import Ledger
from service.ledger.seeding import sample_attendees
from service.ledger.sessions import (
    ListRow,
    NewSession,
    create_session,
    new_session_id,
    rows_of_list_payload,
    submit_list,
)
from service.settings import load_settings
from tests.support import ROOT, Service

SESSIONS = 200


def run(env: dict[str, str], *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *command],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def seeded(env: dict[str, str]) -> dict[str, str]:
    done = run(env, "scripts/seed.py", "--quiet", "--sessions", str(SESSIONS), "--per-day", "10")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Seeded {env['CERTLEDGER_DB']} with {SESSIONS} sessions"), done.stdout
    assert "2,040 attendee rows" in done.stdout  # 10 a list, and one list in 50 corrected
    return env


def test_a_seeded_ledger_passes_the_audit(seeded):
    audited = run(seeded, "-m", "service", "audit")
    assert audited.returncode == 0, audited.stderr
    assert f"{SESSIONS} sessions, 204 list versions" in audited.stdout


def test_the_real_app_issues_to_a_seeded_attendee_and_refuses_a_hub_session(seeded):
    settings = load_settings(seeded)
    db = settings.db_path
    eligible = sample_attendees(db, 3, seed=1)
    hub = sample_attendees(db, 1, level="hub", seed=1)[0]
    not_eligible = sample_attendees(db, 1, seed=1, eligible=False)[0]
    # The seeded dates run back from yesterday: some within the 30-day window, some years before.
    assert len({p.date for p in eligible}) > 1

    with TestClient(create_app(settings, render_processes=0)) as client:
        service = Service(client, settings)
        for person in eligible:
            answer = service.ask(
                email=person.email, date=person.date.isoformat(), facilitator=person.facilitator
            )
            assert answer["outcome"] == "issued", answer
            verified = service.verify(answer["certificate"]["verify_url"]).json()
            assert verified["status"] == "valid" and verified["holder_name"] == person.name

        refused = service.ask(email=hub.email, date=hub.date.isoformat(), facilitator=hub.facilitator)
        assert (refused["outcome"], refused["reason"]) == ("rejected", "hub_session")

        other = service.ask(
            email=not_eligible.email, date=not_eligible.date.isoformat(), facilitator=not_eligible.facilitator
        )
        assert other["outcome"] == "rejected"
        assert other["reason"] in ("not_core_trained", "incomplete_participation")

    # What the app added on top of the seeded events still chains and agrees.
    audited = run(seeded, "-m", "service", "audit")
    assert audited.returncode == 0, audited.stderr
    assert "3 certificates" in audited.stdout and "5 requests" in audited.stdout


def test_the_seeding_command_never_adds_to_a_ledger_in_use(env):
    first = run(env, "scripts/seed.py", "--quiet", "--sessions", "3")
    assert first.returncode == 0, first.stderr
    again = run(env, "scripts/seed.py", "--quiet", "--sessions", "3")
    assert again.returncode == 2 and "already holds sessions" in again.stderr
    assert "Traceback" not in again.stderr


def test_the_seeding_command_refuses_nonsense(env):
    done = run(env, "scripts/seed.py", "--quiet", "--sessions", "0")
    assert done.returncode == 2 and "at least 1" in done.stderr
    assert not Path(env["CERTLEDGER_DB"]).exists()  # refused before anything was created


def test_a_list_event_in_the_earlier_spelling_still_audits(settings):
    """Ledgers written before the compact spelling hold one object per row; both read the same."""
    rows = [ListRow(name="Minh", email="minh@example.org", core_trained=True, full_participation=False)]

    async def write_both() -> None:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        try:
            async with ledger.write("test") as tx:
                session = await create_session(
                    tx,
                    NewSession(
                        date=dt.date(2026, 3, 4),
                        start_time="18:00",
                        timezone="UTC",
                        duration_minutes=90,
                        facilitators=("Jane Doe",),
                        level="central",
                        organization=None,
                        title="IPS Co-reflection",
                        delivery="online",
                    ),
                    None,
                )
                await submit_list(tx, session.id, rows)
                # Version 2 as the code before issue 6 recorded it.
                await tx.conn.execute(
                    "INSERT INTO list_versions (session_id, version, submitted_at, submitted_by)"
                    " VALUES (?, 2, ?, ?)",
                    (session.id, tx.now, tx.actor),
                )
                await tx.conn.execute(
                    "INSERT INTO attendees (session_id, version, position, email_key, email, name,"
                    " core_trained, full_participation, pronouns)"
                    " VALUES (?, 2, 0, 'minh@example.org', 'minh@example.org', 'Minh', 1, 0, NULL)",
                    (session.id,),
                )
                await tx.record(
                    "list.submitted",
                    f"session:{session.id}",
                    {"version": 2, "attendees": [msgspec.to_builtins(r) for r in rows]},
                )
        finally:
            await ledger.close()

    asyncio.run(write_both())
    env = {"CERTLEDGER_DB": str(settings.db_path), "CERTLEDGER_LEDGER_KEY": settings.ledger_key}
    audited = run(env, "-m", "service", "audit")
    assert audited.returncode == 0, audited.stderr
    assert "2 list versions" in audited.stdout

    compact = {"version": 1, "fields": ["name", "email"], "rows": [["Minh", "minh@example.org"]]}
    assert rows_of_list_payload(compact) == [{"name": "Minh", "email": "minh@example.org"}]
    with pytest.raises(ValueError):
        rows_of_list_payload({"version": 1, "fields": ["name", "email"], "rows": [["Minh"]]})


def test_session_ids_sort_by_date_and_keep_their_shape():
    days = [dt.date(1900, 1, 1), dt.date(2013, 2, 19), dt.date(2026, 11, 26), dt.date(2999, 12, 31)]
    ids = [new_session_id(day) for day in days]
    assert ids == sorted(ids)
    assert all(len(i) == len("ses_0123456789abcdef") and i.startswith("ses_") for i in ids)
    assert len({new_session_id(days[1]) for _ in range(1000)}) == 1000
