"""Sessions and their attendee list versions."""

import datetime as dt
import json
import secrets
import sqlite3

import aiosqlite
import msgspec

from service.ledger.database import Transaction
from service.rules.attendee_lists import email_key
from service.rules.requests import Entry, HeldCertificate, SessionFacts


class NewSession(msgspec.Struct, frozen=True, kw_only=True):
    date: dt.date
    start_time: str | None
    timezone: str
    duration_minutes: int
    facilitators: tuple[str, ...]
    level: str
    organization: str | None
    title: str
    delivery: str


class SessionRecord(NewSession, frozen=True, kw_only=True):
    id: str
    owner_token_id: int | None
    created_at: str
    list_version: int | None = None  # the latest attendee list's version, None before the first


class ListRow(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str
    core_trained: bool
    full_participation: bool
    pronouns: str | None = None


class ListVersion(msgspec.Struct, frozen=True, kw_only=True):
    session_id: str
    version: int
    submitted_at: str
    submitted_by: str
    rows: tuple[ListRow, ...]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


_FIRST_DAY = dt.date(1900, 1, 1)


def new_session_id(date: dt.date) -> str:
    """An id that sorts by the session's date: its day number (since 1900, five hex digits) then 44
    random bits, 16 hex digits like every id.

    Attendee rows and list versions are keyed by session id: with random ids, the sessions around one
    date sit on as many pages as there are sessions, and deciding a request (every session within a day
    of its date) read a page of each table per session; on a large ledger those are cache misses. Keyed
    by date, they are a few neighbouring pages, and new lists are written near the end of the b-tree
    instead of anywhere in it (issue 6, target 3). The date is no secret: whoever can see the id can see
    the session.
    """
    day = min(max((date - _FIRST_DAY).days, 0), 0xFFFFF)
    return f"ses_{day:05x}{secrets.token_hex(6)[:11]}"


SELECT_SESSIONS = """
SELECT s.*, (SELECT MAX(v.version) FROM list_versions v WHERE v.session_id = s.id) AS list_version
FROM sessions s
"""


def session_from_row(row: aiosqlite.Row) -> SessionRecord:
    return SessionRecord(
        id=row["id"],
        date=dt.date.fromisoformat(row["date"]),
        start_time=row["start_time"],
        timezone=row["timezone"],
        duration_minutes=row["duration_minutes"],
        facilitators=tuple(json.loads(row["facilitators"])),
        level=row["level"],
        organization=row["organization"],
        title=row["title"],
        delivery=row["delivery"],
        owner_token_id=row["owner_token_id"],
        created_at=row["created_at"],
        list_version=row["list_version"],
    )


async def create_session(tx: Transaction, new: NewSession, owner_token_id: int | None) -> SessionRecord:
    record = SessionRecord(
        id=new_session_id(new.date),
        owner_token_id=owner_token_id,
        created_at=tx.now,
        **msgspec.structs.asdict(new),
    )
    await tx.conn.execute(
        "INSERT INTO sessions (id, date, start_time, timezone, duration_minutes, facilitators,"
        " level, organization, title, delivery, owner_token_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            record.id,
            record.date.isoformat(),
            record.start_time,
            record.timezone,
            record.duration_minutes,
            json.dumps(list(record.facilitators), ensure_ascii=False),
            record.level,
            record.organization,
            record.title,
            record.delivery,
            record.owner_token_id,
            record.created_at,
        ),
    )
    payload = {**msgspec.to_builtins(new), "id": record.id, "owner_token_id": owner_token_id}
    await tx.record("session.created", f"session:{record.id}", payload)
    return record


def get_session(db: sqlite3.Connection, session_id: str) -> SessionRecord | None:
    """By its id: a single-row read for the event loop's lookup connection (Ledger.look)."""
    row = db.execute(f"{SELECT_SESSIONS} WHERE s.id = ?", (session_id,)).fetchone()
    return session_from_row(row) if row else None


async def sessions_on(
    db: aiosqlite.Connection,
    date: dt.date | None,
    owner_token_id: int | None = None,
    *,
    only_owner: bool = False,
) -> list[SessionRecord]:
    clauses, params = [], []
    if date is not None:
        clauses.append("s.date = ?")
        params.append(date.isoformat())
    if only_owner:
        clauses.append("s.owner_token_id IS ?")
        params.append(owner_token_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.execute_fetchall(
        f"{SELECT_SESSIONS} {where} ORDER BY s.date, s.start_time, s.id",
        params,
    )
    return [session_from_row(r) for r in rows]


async def latest_version(db: aiosqlite.Connection, session_id: str) -> int | None:
    rows = await db.execute_fetchall(
        "SELECT MAX(version) AS v FROM list_versions WHERE session_id = ?", (session_id,)
    )
    return rows[0]["v"]


async def submit_list(tx: Transaction, session_id: str, rows: list[ListRow]) -> int:
    """Store a new list version (earlier versions stay) and record it; returns the version."""
    version = (await latest_version(tx.conn, session_id) or 0) + 1
    await tx.conn.execute(
        "INSERT INTO list_versions (session_id, version, submitted_at, submitted_by) VALUES (?, ?, ?, ?)",
        (session_id, version, tx.now, tx.actor),
    )
    await tx.conn.executemany(
        "INSERT INTO attendees (session_id, version, position, email_key, email, name, core_trained,"
        " full_participation, pronouns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                session_id,
                version,
                position,
                email_key(r.email),
                r.email,
                r.name,
                int(r.core_trained),
                int(r.full_participation),
                r.pronouns,
            )
            for position, r in enumerate(rows)
        ],
    )
    await tx.record("list.submitted", f"session:{session_id}", list_payload(version, rows))
    return version


# A list's event names its columns once and gives each row as an array: the same facts as an object per
# row, without repeating five keys on every row. A list of ten took 1,342 bytes, now 795; the events
# table is the largest part of a large ledger (issue 6: 511 bytes an attendee row before, 387 after).
LIST_FIELDS = ("name", "email", "core_trained", "full_participation", "pronouns")


def list_payload(version: int, rows: list[ListRow]) -> dict[str, object]:
    return {
        "version": version,
        "fields": list(LIST_FIELDS),
        "rows": [[getattr(r, field) for field in LIST_FIELDS] for r in rows],
    }


def rows_of_list_payload(payload: dict[str, object]) -> list[dict[str, object]]:
    """A list event's rows as objects by field name, in either spelling: "fields" and "rows" (from
    issue 6 on), or the earlier "attendees", one object per row."""
    if "rows" not in payload:
        attendees = payload.get("attendees", [])
        if not isinstance(attendees, list):
            raise ValueError("attendees is not a list")
        return attendees
    fields, rows = payload.get("fields"), payload["rows"]
    if not isinstance(fields, list) or not isinstance(rows, list):
        raise ValueError("fields and rows must be lists")
    return [dict(zip(fields, row, strict=True)) for row in rows]


async def lists_awaiting_redecision(db: aiosqlite.Connection) -> list[tuple[str, int, dt.date]]:
    """(session id, version, session date) of list versions whose re-decisions have not finished."""
    rows = await db.execute_fetchall(
        "SELECT v.session_id, v.version, s.date FROM list_versions v JOIN sessions s ON s.id = v.session_id"
        " WHERE v.redecided_at IS NULL ORDER BY v.submitted_at"
    )
    return [(r["session_id"], r["version"], dt.date.fromisoformat(r["date"])) for r in rows]


async def mark_list_redecided(tx: Transaction, session_id: str, version: int) -> None:
    await tx.conn.execute(
        "UPDATE list_versions SET redecided_at = ? WHERE session_id = ? AND version = ?",
        (tx.now, session_id, version),
    )


async def list_version(db: aiosqlite.Connection, session_id: str, version: int) -> ListVersion | None:
    head = await db.execute_fetchall(
        "SELECT * FROM list_versions WHERE session_id = ? AND version = ?", (session_id, version)
    )
    if not head:
        return None
    rows = await db.execute_fetchall(
        "SELECT * FROM attendees WHERE session_id = ? AND version = ? ORDER BY position",
        (session_id, version),
    )
    return ListVersion(
        session_id=session_id,
        version=version,
        submitted_at=head[0]["submitted_at"],
        submitted_by=head[0]["submitted_by"],
        rows=tuple(
            ListRow(
                name=r["name"],
                email=r["email"],
                core_trained=bool(r["core_trained"]),
                full_participation=bool(r["full_participation"]),
                pronouns=r["pronouns"],
            )
            for r in rows
        ),
    )


_FACTS_QUERY = """
WITH near AS (
    SELECT s.*, (SELECT MAX(v.version) FROM list_versions v WHERE v.session_id = s.id) AS list_version
    FROM sessions s
    WHERE s.date BETWEEN :first AND :last
)
SELECT near.*,
       a.name AS entry_name, a.email AS entry_email,
       a.core_trained, a.full_participation,
       c.serial, c.holder_name, r.revoked_at, r.list_version_at_revocation
FROM near
LEFT JOIN attendees a
       ON a.session_id = near.id AND a.version = near.list_version AND a.email_key = :email
LEFT JOIN certificates c
       ON c.session_id = near.id AND c.email_key = :email
      AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.supersedes = c.serial)
LEFT JOIN revocations r ON r.serial = c.serial
ORDER BY near.date, near.start_time, near.id
"""


async def session_facts_near(db: aiosqlite.Connection, email: str, date: dt.date) -> list[SessionFacts]:
    """Every session within a day of `date`, as the attendee with `email` stands in it."""
    rows = await db.execute_fetchall(
        _FACTS_QUERY,
        {
            "first": (date - dt.timedelta(days=1)).isoformat(),
            "last": (date + dt.timedelta(days=1)).isoformat(),
            "email": email_key(email),
        },
    )
    return [
        SessionFacts(
            id=r["id"],
            date=dt.date.fromisoformat(r["date"]),
            start_time=r["start_time"],
            facilitators=tuple(json.loads(r["facilitators"])),
            level=r["level"],
            delivery=r["delivery"],
            list_version=r["list_version"],
            entry=None
            if r["entry_name"] is None
            else Entry(
                name=r["entry_name"],
                email=r["entry_email"],
                core_trained=bool(r["core_trained"]),
                full_participation=bool(r["full_participation"]),
            ),
            certificate=None
            if r["serial"] is None
            else HeldCertificate(
                serial=r["serial"],
                holder_name=r["holder_name"],
                revoked=r["revoked_at"] is not None,
                list_version_at_revocation=r["list_version_at_revocation"],
            ),
        )
        for r in rows
    ]
