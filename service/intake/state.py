"""What the intake remembers between runs, in its own small SQLite file.

The mailbox is a shared human inbox, so the Seen flag says nothing about what the intake did: staff
reading mail set it. The intake remembers every message it decided about by Message-ID (and whether it
has marked it in the mailbox yet), the explanations it sent (at most one a day per sender and request),
and the thread of each request so that a follow-up reply (a pending request decided later) lands in the
same conversation. A lock file keeps two intakes from working the same mailbox at once.

Writing is one commit (one sync to disk) per message, not one per fact: a write joins the transaction
under way and `remember` commits it, as do `note_explained` and `commit`. What waits is only what a
crash may lose without harm: a thread kept for a reply that was not yet sent (the next run asks again
and keeps it then) and a message marked seen in the mailbox but not yet here (the next run marks it
again, which changes nothing). Reads on this connection see the writes not yet committed.
"""

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import msgspec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    message_id TEXT PRIMARY KEY,
    handled_at TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    marked     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS explained (
    sender TEXT NOT NULL,
    kind   TEXT NOT NULL,
    day    TEXT NOT NULL,
    PRIMARY KEY (sender, kind, day)
);
CREATE TABLE IF NOT EXISTS threads (
    request_id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL,
    sender     TEXT NOT NULL,
    reply_to   TEXT NOT NULL,
    subject    TEXT NOT NULL,
    refs       TEXT NOT NULL
);
"""


class StateError(Exception):
    """The state file cannot be used (corrupt, unwritable, or another intake holds it)."""


class Thread(msgspec.Struct, frozen=True, kw_only=True):
    """The conversation a request came from, for replying in it later."""

    message_id: str
    sender: str  # From: where a certificate goes (the address the list has)
    reply_to: str  # where explanations go (Reply-To when there is one)
    subject: str
    references: tuple[str, ...]


class Handled(msgspec.Struct, frozen=True):
    outcome: str
    marked: bool


class IntakeState:
    def __init__(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # DEFERRED: sqlite3 opens a transaction before a write, and it lasts until a commit.
            self._db = sqlite3.connect(path, isolation_level="DEFERRED")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise StateError(f"the intake's state file {path} cannot be used ({exc})") from None
        self._lock_path = path.with_name(path.name + ".lock")

    def close(self) -> None:
        self._db.close()

    def commit(self) -> None:
        self._db.commit()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One intake at a time per state file: two would answer the same messages twice."""
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StateError(
                    f"another intake is working with {self._lock_path.with_suffix('')}"
                ) from None
            yield
        finally:
            os.close(fd)

    def handled(self, message_id: str) -> Handled | None:
        row = self._db.execute(
            "SELECT outcome, marked FROM handled WHERE message_id = ?", (message_id,)
        ).fetchone()
        return Handled(row[0], bool(row[1])) if row else None

    def remember(self, message_id: str, outcome: str) -> None:
        """Committed with whatever was written before it."""
        self._db.execute(
            "INSERT OR REPLACE INTO handled (message_id, handled_at, outcome, marked) VALUES (?, ?, ?, 0)",
            (message_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), outcome),
        )
        self._db.commit()

    def note_marked(self, message_id: str) -> None:
        self._db.execute("UPDATE handled SET marked = 1 WHERE message_id = ?", (message_id,))

    def explained_today(self, sender: str, kind: str, day: dt.date) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM explained WHERE sender = ? AND kind = ? AND day = ?",
            (sender, kind, day.isoformat()),
        ).fetchone()
        return row is not None

    def note_explained(self, sender: str, kind: str, day: dt.date) -> None:
        """Committed at once: an explanation sent is not sent again that day, even after a crash."""
        self._db.execute(
            "INSERT OR IGNORE INTO explained (sender, kind, day) VALUES (?, ?, ?)",
            (sender, kind, day.isoformat()),
        )
        self._db.commit()

    def keep_thread(self, request_id: str, thread: Thread) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO threads (request_id, message_id, sender, reply_to, subject, refs)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                request_id,
                thread.message_id,
                thread.sender,
                thread.reply_to,
                thread.subject,
                " ".join(thread.references),
            ),
        )

    def thread_of(self, request_id: str) -> Thread | None:
        row = self._db.execute(
            "SELECT message_id, sender, reply_to, subject, refs FROM threads WHERE request_id = ?",
            (request_id,),
        ).fetchone()
        if row is None:
            return None
        return Thread(
            message_id=row[0],
            sender=row[1],
            reply_to=row[2],
            subject=row[3],
            references=tuple(row[4].split()),
        )
