"""CommitWatch (service/ledger/commits.py) over real SQLite files, written by another process as another
worker or `certledger revoke` would: every commit is seen by the next look, also across checkpoints that
start the WAL over, and an unchanged ledger is known without asking SQLite."""

import asyncio
import contextlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from service.ledger import commits
from service.ledger.commits import CommitWatch
from service.ledger.database import Ledger
from tests.support import Unreliable

# Another process on the same database, doing what it is told line by line and answering "ok" once done.
_WRITER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
for command in sys.stdin:
    if command.startswith("commit"):
        db.execute("INSERT INTO t VALUES (1)")
    else:
        db.execute(f"PRAGMA wal_checkpoint({command.split()[1]})").fetchall()
    print("ok", flush=True)
"""


class Writer:
    def __init__(self, path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def do(self, command: str) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self.process.stdout.readline() == "ok\n"

    def close(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)
        self.process.stdout.close()


def make_db(path: Path, journal_mode: str) -> None:
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA journal_mode = {journal_mode}")
        db.execute("CREATE TABLE t (x)")


class Watched(NamedTuple):
    path: Path
    db: Unreliable  # the connection, made to fail on demand
    watch: CommitWatch
    statements: list[str]  # what the watch asked SQLite, after opening


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[Callable[[str], Watched]]:
    """Opens a database in the given journal mode with a watch on one connection; closes the connection,
    then the watch, as the Ledger does (service/ledger/commits.py)."""
    opened: list[Watched] = []

    def open_(journal_mode: str) -> Watched:
        path = tmp_path / f"ledger-{len(opened)}.sqlite3"
        make_db(path, journal_mode)
        db = Unreliable(sqlite3.connect(path, isolation_level=None))
        watch = CommitWatch(db)  # type: ignore[arg-type]
        statements: list[str] = []
        db.db.set_trace_callback(statements.append)
        opened.append(Watched(path, db, watch, statements))
        return opened[-1]

    yield open_
    for each in opened:
        each.db.db.close()
        each.watch.close()


def commit_elsewhere(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as other:
        other.execute("INSERT INTO t VALUES (1)")


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_every_commit_elsewhere_is_seen_by_the_next_look_and_only_once(watched, journal_mode):
    path, _, watch, _ = watched(journal_mode)
    writer = Writer(path)
    try:
        assert watch.changed()
        assert not watch.changed()
        for round_ in range(300):
            writer.do("commit")
            assert watch.changed(), f"commit {round_} was not seen"
            assert not watch.changed()
            if round_ % 7 == 0:
                # A checkpoint moves the WAL's pages into the database, and the next commit starts the WAL
                # over: the wal-index header changes without a commit. SQLite's own data_version may count
                # a truncated WAL as a change (harmless: the cache then finds no new events); the next
                # commit must be seen all the same.
                writer.do(f"checkpoint {('PASSIVE', 'RESTART', 'TRUNCATE')[round_ % 3]}")
                watch.changed()
                assert not watch.changed()
    finally:
        writer.close()


def test_in_wal_mode_an_unchanged_ledger_is_known_without_asking_sqlite(watched):
    path, _, watch, statements = watched("wal")

    assert watch.changed()
    for _ in range(100):
        assert not watch.changed()
    assert statements == ["PRAGMA data_version"]

    commit_elsewhere(path)
    assert watch.changed()
    assert statements == ["PRAGMA data_version"] * 2


def test_without_wal_every_look_asks_sqlite(watched):
    _, _, watch, statements = watched("delete")

    for _ in range(3):
        watch.changed()

    assert statements == ["PRAGMA data_version"] * 3


def test_a_header_read_mid_write_is_never_taken_for_the_state_seen(watched, monkeypatch):
    _, _, watch, statements = watched("wal")
    watch.changed()
    complete = commits.os.pread(watch._shm, 96, 0)  # type: ignore[arg-type]
    # The writer puts the second copy of the header first: between the two writes the copies differ.
    change = int.from_bytes(complete[8:12], sys.byteorder) + 1
    torn = complete[:8] + change.to_bytes(4, sys.byteorder) + complete[12:]
    monkeypatch.setattr(commits.os, "pread", lambda *_args: torn)

    watch.changed()
    watch.changed()

    assert statements == ["PRAGMA data_version"] * 3, "a torn header was kept as the state seen"


def test_a_commit_seen_when_sqlite_failed_to_answer_is_reported_at_the_next_look(watched):
    path, db, watch, _ = watched("wal")
    assert watch.changed()
    commit_elsewhere(path)
    db.fails_on = "data_version"
    with pytest.raises(sqlite3.OperationalError):
        watch.changed()

    assert watch.changed()


async def _open_and_close(path: Path, shm_descriptors_at_close: list[int]) -> None:
    ledger = Ledger(path, "key")
    await ledger.open()
    assert ledger.commits.changed()
    close = commits.os.close

    def closing(fd: int) -> None:
        shm_descriptors_at_close.append(len(shm_descriptors(path)))
        close(fd)

    commits.os.close = closing  # type: ignore[assignment]
    try:
        await ledger.close()
    finally:
        commits.os.close = close  # type: ignore[assignment]


def shm_descriptors(path: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            # After the last connection SQLite deletes the file: the link then ends in " (deleted)".
            if os.readlink(f"/proc/self/fd/{fd}").startswith(f"{path}-shm"):
                found.append(fd)
    return found


def test_the_ledger_closes_its_watch_after_every_connection_and_leaves_no_descriptor(tmp_path):
    # Closing a descriptor of the -shm file while SQLite still has it open would drop SQLite's locks.
    path = tmp_path / "ledger.sqlite3"
    at_close: list[int] = []

    asyncio.run(_open_and_close(path, at_close))

    assert at_close == [1], "SQLite still had the -shm file open when the watch closed its descriptor"
    assert shm_descriptors(path) == []
