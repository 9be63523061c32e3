"""What the intake remembers between runs, in its own small SQLite file.

The mailbox is a shared human inbox, so the Seen flag says nothing about what the intake did: staff
reading mail set it. The intake remembers every message it decided about by Message-ID, the explanations
it sent (at most one a day per sender and kind), and the thread of each request so that a follow-up
reply (a pending request decided later) lands in the same conversation.
"""

import datetime as dt
import sqlite3
from pathlib import Path

import msgspec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    message_id TEXT PRIMARY KEY,
    handled_at TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    request_id TEXT
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
    subject    TEXT NOT NULL,
    refs       TEXT NOT NULL
);
"""


class Thread(msgspec.Struct, frozen=True):
    """The conversation a request came from, for replying in it later."""

    message_id: str
    sender: str
    subject: str
    references: tuple[str, ...]


class IntakeState:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA busy_timeout = 10000")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def outcome_of(self, message_id: str) -> str | None:
        row = self._db.execute("SELECT outcome FROM handled WHERE message_id = ?", (message_id,)).fetchone()
        return row[0] if row else None

    def remember(self, message_id: str, outcome: str, request_id: str | None = None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO handled (message_id, handled_at, outcome, request_id) VALUES (?, ?, ?, ?)",
            (message_id, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), outcome, request_id),
        )

    def explained_today(self, sender: str, kind: str, day: dt.date) -> bool:
        row = self._db.execute(
            "SELECT 1 FROM explained WHERE sender = ? AND kind = ? AND day = ?",
            (sender, kind, day.isoformat()),
        ).fetchone()
        return row is not None

    def note_explained(self, sender: str, kind: str, day: dt.date) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO explained (sender, kind, day) VALUES (?, ?, ?)",
            (sender, kind, day.isoformat()),
        )

    def keep_thread(self, request_id: str, thread: Thread) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO threads (request_id, message_id, sender, subject, refs) VALUES (?, ?, ?, ?, ?)",
            (request_id, thread.message_id, thread.sender, thread.subject, " ".join(thread.references)),
        )

    def thread_of(self, request_id: str) -> Thread | None:
        row = self._db.execute(
            "SELECT message_id, sender, subject, refs FROM threads WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None:
            return None
        return Thread(message_id=row[0], sender=row[1], subject=row[2], references=tuple(row[3].split()))
