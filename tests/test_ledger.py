"""The SQLite ledger: WAL, migrations, one event per change in the same transaction, the keyed chain."""

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from service.ledger.chain import first_broken_link
from service.ledger.database import Ledger
from tests.support import Service, attendee


def events(db_path: Path) -> list[tuple]:
    with sqlite3.connect(db_path) as db:
        return db.execute(
            "SELECT seq, at, actor, kind, subject, payload, prev_hash, hash FROM events ORDER BY seq"
        ).fetchall()


def test_wal_busy_timeout_and_migrations(settings):
    async def check() -> tuple[str, int, list]:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        async with ledger.write("test") as tx:
            mode = (await tx.conn.execute_fetchall("PRAGMA journal_mode"))[0][0]
            timeout = (await tx.conn.execute_fetchall("PRAGMA busy_timeout"))[0][0]
        await ledger.close()
        again = Ledger(settings.db_path, settings.ledger_key)
        await again.open()
        async with again.read() as db:
            versions = [r[0] for r in await db.execute_fetchall("SELECT version FROM schema_migrations")]
        await again.close()
        return mode, timeout, versions

    mode, timeout, versions = asyncio.run(check())
    assert mode == "wal"
    assert timeout >= 5000
    assert versions == [1, 2, 3]


def test_every_change_is_a_chained_event_with_time_and_actor(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
    certificate = service.ask(email="minh@example.org")["certificate"]
    service.admin.post(f"/api/v1/certificates/{certificate['serial']}/revoke", json={"reason": "test"})

    rows = events(service.settings.db_path)
    kinds = [row[3] for row in rows]
    assert kinds[-5:] == [
        "session.created",
        "list.submitted",
        "certificate.issued",
        "request.decided",
        "certificate.revoked",
    ]
    for _seq, at, actor, _kind, _subject, payload, _prev, _hash in rows[-5:]:
        assert at.endswith("+00:00")
        assert actor
        json.loads(payload)
    issued = json.loads(rows[-3][5])
    assert issued["content"]["serial"] == certificate["serial"] and issued["pdf_sha256"]
    assert first_broken_link(service.settings.ledger_key.encode(), rows) is None
    assert first_broken_link(b"another key", rows) == 1


def test_an_edited_event_breaks_the_chain_there(service: Service):
    session = service.session()
    service.attendees(session["id"], [attendee("Minh", "minh@example.org")])
    rows = events(service.settings.db_path)
    target = next(r for r in rows if r[3] == "list.submitted")
    edited = [r if r[0] != target[0] else (*r[:5], r[5].replace("Minh", "Mallory"), *r[6:]) for r in rows]
    assert first_broken_link(service.settings.ledger_key.encode(), edited) == target[0]
    created = next(r for r in rows if r[3] == "session.created")
    dropped = [r for r in rows if r[0] != created[0]]
    assert first_broken_link(service.settings.ledger_key.encode(), dropped) == created[0] + 1


def test_events_are_append_only(service: Service):
    service.session()
    with sqlite3.connect(service.settings.db_path) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE events SET actor = 'mallory'")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM events")


def test_a_failed_change_leaves_no_event_and_no_state(settings):
    async def attempt() -> None:
        ledger = Ledger(settings.db_path, settings.ledger_key)
        await ledger.open()
        try:
            async with ledger.write("test") as tx:
                await tx.record("session.created", "session:x", {"x": 1})
                raise RuntimeError("crash between the event and its state")
        except RuntimeError:
            pass
        finally:
            await ledger.close()

    asyncio.run(attempt())
    assert events(settings.db_path) == []


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from service.ledger.database import Ledger

    async def main(path, key, name, count):
        ledger = Ledger(Path(path), key)
        await ledger.open()
        for i in range(count):
            async with ledger.write(name) as tx:
                await tx.record("test.write", f"{name}:{i}", {"i": i})
        await ledger.close()

    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
    """
)


def test_writers_in_several_processes_never_see_database_is_locked(settings):
    asyncio.run(_open_once(settings))
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(settings.db_path), settings.ledger_key, f"w{n}", "150"],
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    for process in processes:
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
    rows = events(settings.db_path)
    assert len(rows) == 600
    assert first_broken_link(settings.ledger_key.encode(), rows) is None


async def _open_once(settings) -> None:
    ledger = Ledger(settings.db_path, settings.ledger_key)
    await ledger.open()
    await ledger.close()
