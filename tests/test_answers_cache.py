"""The verification answers' cache (service/ledger/answers.py) over a real SQLite file, changed by another
connection as another worker or `certledger revoke` would: never an answer older than the last commit
before the request, and only the changed certificates' answers computed again."""

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from service.ledger.answers import CertificateAnswers
from service.ledger.commits import CommitWatch
from tests.support import Unreliable


@pytest.fixture
def path(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("CREATE TABLE certificates (serial TEXT PRIMARY KEY, supersedes TEXT)")
        db.execute("CREATE TABLE revocations (serial TEXT PRIMARY KEY) WITHOUT ROWID")
        db.execute("CREATE TABLE events (seq INTEGER PRIMARY KEY, kind TEXT, subject TEXT, payload TEXT)")
    issue(path, "A")
    issue(path, "B")
    return path


class View(NamedTuple):
    """The server's side: its lookup connection, and the cache on it as the app builds it."""

    lookup: sqlite3.Connection
    cache: CertificateAnswers[str | None]


@pytest.fixture
def view(path: Path) -> Iterator[View]:
    db = sqlite3.connect(path, check_same_thread=False)
    commits = CommitWatch(db)
    yield View(db, CertificateAnswers(db, commits))
    db.close()
    commits.close()  # after the connection, as the Ledger does (service/ledger/commits.py)


# Another worker's (or `certledger revoke`'s) transactions: the row and its event together, as the ledger
# writes them.
def issue(path: Path, serial: str, supersedes: str | None = None) -> None:
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO certificates VALUES (?, ?)", (serial, supersedes))
        db.execute(
            "INSERT INTO events (kind, subject, payload) VALUES ('certificate.issued', ?, ?)",
            (f"certificate:{serial}", json.dumps({"supersedes": supersedes})),
        )


def revoke(path: Path, serial: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO revocations VALUES (?)", (serial,))
        db.execute(
            "INSERT INTO events (kind, subject, payload) VALUES ('certificate.revoked', ?, '{}')",
            (f"certificate:{serial}",),
        )


computed: Counter[str] = Counter()


def status_of(serial: str) -> Callable[[sqlite3.Connection], tuple[str | None, str]]:
    def compute(db: sqlite3.Connection) -> tuple[str | None, str]:
        computed[serial] += 1
        if not db.execute("SELECT 1 FROM certificates WHERE serial = ?", (serial,)).fetchone():
            return None, serial
        if db.execute("SELECT 1 FROM certificates WHERE supersedes = ?", (serial,)).fetchone():
            return "superseded", serial
        if db.execute("SELECT 1 FROM revocations WHERE serial = ?", (serial,)).fetchone():
            return "revoked", serial
        return "valid", serial

    return compute


def test_one_check_a_loop_turn_and_a_commit_elsewhere_seen_by_the_next(path, view):
    lookup, cache = view
    statements: list[str] = []
    lookup.set_trace_callback(statements.append)

    async def turns() -> list[str | None]:
        seen = [cache.get("token-a", status_of("A")), cache.get("token-a", status_of("A"))]
        checks = sum("data_version" in s for s in statements)
        revoke(path, "A")
        await asyncio.sleep(0)  # the next turn
        seen.append(cache.get("token-a", status_of("A")))
        return [*seen, str(checks)]

    assert asyncio.run(turns()) == ["valid", "valid", "revoked", "1"]
    issue(path, "A2", supersedes="A")
    assert cache.get("token-a", status_of("A")) == "superseded"  # outside a loop: checked every call


def test_only_the_changed_certificates_are_computed_again(path, view):
    computed.clear()
    cache = view.cache
    tokens = {"token-a": "A", "token-b": "B", "token-c": "C"}  # C is not issued yet

    def answers() -> dict[str, str | None]:
        return {token: cache.get(token, status_of(serial)) for token, serial in tokens.items()}

    assert answers() == {"token-a": "valid", "token-b": "valid", "token-c": None}
    assert answers() == {"token-a": "valid", "token-b": "valid", "token-c": None}
    assert computed == Counter(A=1, B=1, C=1)

    issue(path, "D")  # someone else's certificate
    assert answers()["token-a"] == "valid" and computed == Counter(A=1, B=1, C=1)

    revoke(path, "B")
    assert answers()["token-b"] == "revoked" and computed == Counter(A=1, B=2, C=1)

    issue(path, "C", supersedes="A")
    assert answers() == {"token-a": "superseded", "token-b": "revoked", "token-c": "valid"}
    assert computed == Counter(A=2, B=2, C=2)


def test_deleted_rows_forget_everything(path, view):
    computed.clear()
    cache = view.cache
    revoke(path, "A")
    assert cache.get("token-a", status_of("A")) == "revoked"
    with sqlite3.connect(path) as db:  # an older backup restored under the running server
        db.execute("DELETE FROM revocations")
        db.execute("DELETE FROM events WHERE kind = 'certificate.revoked'")
    assert cache.get("token-a", status_of("A")) == "valid"
    assert computed["A"] == 2


def test_a_flood_of_events_forgets_everything_instead_of_reading_them_all(path, view):
    computed.clear()
    lookup, cache = view
    assert cache.get("token-a", status_of("A")) == "valid"
    with sqlite3.connect(path) as db:  # another process seeding or importing
        db.executemany(
            "INSERT INTO events (kind, subject, payload) VALUES ('list.submitted', 'session:s', '{}')",
            [()] * 1001,
        )
    statements: list[str] = []
    lookup.set_trace_callback(statements.append)
    assert cache.get("token-a", status_of("A")) == "valid"
    assert computed["A"] == 2 and not any("json_extract" in s for s in statements)


def test_a_change_seen_but_not_acted_on_is_acted_on_at_the_next_look(path):
    db = sqlite3.connect(path, check_same_thread=False)
    unreliable = Unreliable(db)
    commits = CommitWatch(unreliable)  # type: ignore[arg-type]
    cache: CertificateAnswers[str | None] = CertificateAnswers(unreliable, commits)  # type: ignore[arg-type]
    try:
        assert cache.get("token-a", status_of("A")) == "valid"
        revoke(path, "A")
        unreliable.fails_on = "max(seq)"  # reading the new events fails (SQLite busy)

        with pytest.raises(sqlite3.OperationalError):
            cache.get("token-a", status_of("A"))

        assert cache.get("token-a", status_of("A")) == "revoked"
    finally:
        db.close()
        commits.close()
