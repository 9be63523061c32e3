"""Connections, transactions and migrations for the SQLite ledger.

One writer connection per process; every write transaction starts with BEGIN IMMEDIATE so that it takes
the database's write lock before it reads (in WAL mode a deferred transaction that reads then writes
fails at once with SQLITE_BUSY when another writer got in between: aiosqlite #251), and busy_timeout
lets writers in other processes queue instead of failing. Readers get their own connections: WAL lets
them read a consistent snapshot while a write is in progress.
"""

import asyncio
import contextlib
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable
from importlib import resources
from pathlib import Path
from typing import TypeVar

import aiosqlite

from service.ledger.chain import GENESIS, canonical_json, event_hash
from service.ledger.commits import CommitWatch

T = TypeVar("T")
BUSY_TIMEOUT_MS = 10_000
READERS = 2
LOOKUP_BUSY_TIMEOUT_MS = 200
# Pages of 16 KiB for a new database (an existing file keeps its size; in WAL mode only a VACUUM outside
# WAL can change it). With 4 KiB pages a list's event (one to two KiB) left a quarter of each events
# page unused, and random inserts into the attendee b-trees waste more of a small page: a ledger of a
# million attendee rows took 405 bytes a row at 4 KiB, 387 at 16 KiB (issue 6, scripts/bench_scale.py).
PAGE_SIZE = 16_384
# The WAL is checkpointed at about this many bytes (SQLite's default of 1000 pages, at 4 KiB pages),
# whatever the page size, so a larger page does not make the WAL file four times larger.
WAL_CHECKPOINT_BYTES = 4 * 1024 * 1024


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


class LedgerUnavailable(Exception):
    """The ledger cannot take a write (disk full, read-only file system, locked too long)."""


async def _connect(path: Path, *, read_only: bool = False) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    await conn.execute_fetchall(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL" if not read_only else "PRAGMA query_only = ON")
    return conn


class Transaction:
    """A write transaction: state changes and the events that record them commit together."""

    def __init__(self, conn: aiosqlite.Connection, ledger_key: bytes, actor: str) -> None:
        self.conn = conn
        self.actor = actor
        self.now = utc_now()
        self._key = ledger_key
        # The chain's head once this transaction has read or moved it: the write lock keeps it ours.
        self._head: tuple[int, str] | None = None
        # Events recorded but not yet inserted: all of them go in with one statement before COMMIT (one
        # thread hop instead of one per event; nothing reads the events inside a write transaction).
        self._events: list[tuple[int, str, str, str, str, str, str, str]] = []

    async def record(self, kind: str, subject: str, payload: object) -> int:
        """Append an event to the chain; returns its sequence number."""
        if self._head is None:
            last = await self.conn.execute_fetchall("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
            self._head = (last[0]["seq"], last[0]["hash"]) if last else (0, GENESIS)
        seq, prev = self._head[0] + 1, self._head[1]
        body = canonical_json(payload)
        digest = event_hash(self._key, prev, seq, self.now, self.actor, kind, subject, body)
        self._events.append((seq, self.now, self.actor, kind, subject, body, prev, digest))
        self._head = (seq, digest)
        return seq

    async def flush(self) -> None:
        """Insert the events recorded so far (Ledger.write does, before COMMIT)."""
        if self._events:
            await self.conn.executemany(
                "INSERT INTO events (seq, at, actor, kind, subject, payload, prev_hash, hash)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                self._events,
            )
            self._events = []


class Ledger:
    def __init__(self, path: Path, ledger_key: str, max_page_count: int | None = None) -> None:
        self.path = path
        self._key = ledger_key.encode()
        self._max_page_count = max_page_count
        self._writer: aiosqlite.Connection | None = None
        self._readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._all_readers: list[aiosqlite.Connection] = []
        self._write_lock = asyncio.Lock()
        self._lookup: sqlite3.Connection | None = None
        self._commits: CommitWatch | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await _connect(self.path)
        # Before WAL: switching an empty file to WAL writes its header, which fixes the page size.
        await self._writer.execute_fetchall(f"PRAGMA page_size = {PAGE_SIZE}")
        await self._writer.execute_fetchall("PRAGMA journal_mode = WAL")
        ((page_size,),) = await self._writer.execute_fetchall("PRAGMA page_size")
        await self._writer.execute_fetchall(
            f"PRAGMA wal_autocheckpoint = {max(1, WAL_CHECKPOINT_BYTES // page_size)}"
        )
        await migrate(self._writer)
        if self._max_page_count is not None:
            await self._writer.execute_fetchall(f"PRAGMA max_page_count = {int(self._max_page_count)}")
        for _ in range(READERS):
            reader = await _connect(self.path, read_only=True)
            self._all_readers.append(reader)
            self._readers.put_nowait(reader)
        self._lookup = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._lookup.row_factory = sqlite3.Row
        self._lookup.execute(f"PRAGMA busy_timeout = {LOOKUP_BUSY_TIMEOUT_MS}")
        self._lookup.execute("PRAGMA query_only = ON")
        self._commits = CommitWatch(self._lookup)

    @property
    def lookup(self) -> sqlite3.Connection:
        """A read-only connection used on the event loop itself, for single-row reads by a unique key.

        Such a read takes tens of microseconds, less than handing it to a reader thread and back
        (aiosqlite: two thread hops); in WAL mode readers never wait for the writer. Everything else
        reads through read().
        """
        assert self._lookup is not None, "ledger is not open"
        return self._lookup

    @property
    def commits(self) -> CommitWatch:
        """Whether anything was committed since the last look, by this process or another."""
        assert self._commits is not None, "ledger is not open"
        return self._commits

    def look(self, read: Callable[[sqlite3.Connection], T]) -> T:
        """`read` on the lookup connection; a locked or failing database is LedgerUnavailable (a 503)."""
        try:
            return read(self.lookup)
        except sqlite3.OperationalError as exc:
            raise LedgerUnavailable(str(exc)) from exc

    async def close(self) -> None:
        if self._lookup is not None:
            self._lookup.close()
            self._lookup = None
        for conn in [*self._all_readers, *([self._writer] if self._writer else [])]:
            await conn.close()
        self._all_readers.clear()
        self._writer = None
        if self._commits is not None:
            # Last: closing its descriptor of the -shm file drops SQLite's locks on it (commits.py).
            self._commits.close()
            self._commits = None

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[aiosqlite.Connection]:
        """A read-only connection. Each statement reads a consistent snapshot on its own; no explicit
        transaction (two thread hops per read): what must be consistent across statements is decided
        again inside the write transaction."""
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @contextlib.asynccontextmanager
    async def write(self, actor: str) -> AsyncIterator[Transaction]:
        assert self._writer is not None, "ledger is not open"
        async with self._write_lock:
            conn = self._writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise LedgerUnavailable(str(exc)) from exc
            try:
                tx = Transaction(conn, self._key, actor)
                yield tx
                await tx.flush()
                await conn.execute("COMMIT")
            except BaseException as exc:
                with contextlib.suppress(sqlite3.Error):
                    await conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and _is_storage_failure(exc):
                    raise LedgerUnavailable(str(exc)) from exc
                raise


def _is_storage_failure(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return any(s in text for s in ("full", "disk i/o", "readonly", "locked", "busy"))


async def migrate(conn: aiosqlite.Connection) -> None:
    """Apply the numbered scripts in schema/ that this database has not seen, each atomically."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT)"
    )
    scripts = sorted(
        (int(f.name.split("_", 1)[0]), f)
        for f in resources.files("service.ledger").joinpath("schema").iterdir()
        if f.name.endswith(".sql")
    )
    for version, script in scripts:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            done = await conn.execute_fetchall(
                "SELECT 1 FROM schema_migrations WHERE version = ?", (version,)
            )
            if not done:
                for statement in _statements(script.read_text()):
                    await conn.execute(statement)
                await conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, utc_now()))
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise


def _statements(script: str) -> list[str]:
    """Split a migration into statements (executescript would commit our transaction)."""
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    return statements
