"""`certledger backup PATH`: an online, consistent copy of the ledger, checked before it is kept.

SQLite's backup API copies the database in one step under one read transaction, so the copy is one
moment of the ledger even while the service keeps writing (WAL lets the writer go on meanwhile). The copy
is written beside the target, integrity-checked, turned into a self-contained file (no WAL beside it),
flushed to disk, and only then renamed into place: a half-written backup never carries the name.

Keys are configuration, not data: they are not in the copy (README: back them up apart).
"""

import contextlib
import os
import sqlite3
from pathlib import Path

import msgspec


class BackupError(Exception):
    """The backup could not be made; the sentence says why. Nothing was left at the target path."""


class BackupReport(msgspec.Struct, frozen=True, kw_only=True):
    path: Path
    bytes: int
    events: int
    certificates: int


def backup(db_path: Path, target: Path) -> BackupReport:
    if target.exists():
        raise BackupError(f"{target} already exists; give a new path (a backup never overwrites)")
    if not db_path.exists():
        raise BackupError(f"there is no database at {db_path} (CERTLEDGER_DB)")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        source = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            source.backup(copy)
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
            if verdict != "ok":
                raise BackupError(f"the copy failed its integrity check ({verdict}); nothing was kept")
            copy.execute("PRAGMA journal_mode = DELETE")
            (events,) = copy.execute("SELECT COUNT(*) FROM events").fetchone()
            (certificates,) = copy.execute("SELECT COUNT(*) FROM certificates").fetchone()
        finally:
            copy.close()
            source.close()
        with partial.open("rb") as handle:
            os.fsync(handle.fileno())
        os.rename(partial, target)
    except (sqlite3.Error, OSError) as exc:
        raise BackupError(f"the backup failed: {exc}; nothing was kept at {target}") from None
    finally:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
    return BackupReport(path=target, bytes=target.stat().st_size, events=events, certificates=certificates)
