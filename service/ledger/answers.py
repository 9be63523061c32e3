"""Values about certificates (the verification answers), kept until their certificate changes.

A verification answer depends only on its certificate's row, its revocation and the certificate that
supersedes it, and each of those is written with its event (certificate.issued, certificate.revoked) in
the same transaction. Events are append-only and numbered in commit order (writers take turns), so after
any commit the events since the last look name every certificate whose answer may have changed: a new
certificate and the one it supersedes, a revoked one. Only those answers are dropped; a steady stream of
new certificates leaves the others cached.

Whether anything was committed, by this process or another worker, is asked of a CommitWatch (SQLite's
data_version, behind a cheaper look at the wal-index header) at most once per turn of the event loop: call_soon runs callbacks first in, first out, and a server starts each
request's task (call_soon) only after reading the request, so no request that arrived after a check is
answered from it. Each answer is as new as the last commit before its request arrived: a revocation is
seen at the very next request. Called outside an event loop, or from another loop, it checks every time.
"""

import asyncio
import sqlite3
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from service.ledger.commits import CommitWatch

T = TypeVar("T")

_MOST_EVENTS_READ = 1000
_CHANGED_SINCE = """
SELECT substr(subject, 13) FROM events
WHERE seq > ? AND seq <= ? AND kind IN ('certificate.issued', 'certificate.revoked')
UNION
SELECT json_extract(payload, '$.supersedes') FROM events
WHERE seq > ? AND seq <= ? AND kind = 'certificate.issued'
"""


class CertificateAnswers(Generic[T]):
    def __init__(self, db: sqlite3.Connection, commits: CommitWatch, max_entries: int = 10_000) -> None:
        self._db = db
        self._max_entries = max_entries
        self._commits = commits
        self._seen_seq: int | None = None  # the last event looked at
        self._checked_in: asyncio.AbstractEventLoop | None = None  # the loop whose current turn checked
        self._values: dict[Hashable, T] = {}
        self._keys_of: dict[str, set[Hashable]] = {}  # serial -> keys whose values depend on it

    def get(self, key: Hashable, compute: Callable[[sqlite3.Connection], tuple[T, str | None]]) -> T:
        """The value for `key`; `compute` gives it with the serial it depends on (None: on no row)."""
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None or loop is not self._checked_in:
            self._check(loop)
        if key in self._values:
            return self._values[key]
        value, serial = compute(self._db)
        if len(self._values) < self._max_entries:
            self._values[key] = value
            if serial is not None:
                self._keys_of.setdefault(serial, set()).add(key)
        return value

    def _check(self, loop: asyncio.AbstractEventLoop | None) -> None:
        try:
            if self._commits.changed():
                self._forget_changed()
        except BaseException:
            # The watch has reported the change; not acted on, it would be lost: trust nothing kept.
            self._seen_seq = None
            self._values.clear()
            self._keys_of.clear()
            raise
        if loop is not None:
            self._checked_in = loop
            loop.call_soon(self._next_turn)

    def _next_turn(self) -> None:
        self._checked_in = None

    def _forget_changed(self) -> None:
        last = self._db.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        seen = self._seen_seq
        if seen is None or last < seen or last - seen > _MOST_EVENTS_READ:
            # First look; events deleted (a restored backup, a hand edit): trust nothing kept; or so
            # many new events that reading them on the event loop would cost more than starting over.
            self._values.clear()
            self._keys_of.clear()
            self._seen_seq = last
            return
        for (serial,) in self._db.execute(_CHANGED_SINCE, (seen, last, seen, last)):
            for key in self._keys_of.pop(serial, ()) if serial else ():
                self._values.pop(key, None)
        self._seen_seq = last
