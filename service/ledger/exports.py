"""The queries behind the portal's listings and the attendance export (`certledger export`).

They read what the other ledger modules write and change nothing. The export reads one consistent
snapshot in a single statement: a certificate issued while it runs is either in every row it belongs to
or in none.
"""

import datetime as dt
import json

import aiosqlite
import msgspec

from service.ledger.requests import RequestRecord, request_from_row
from service.ledger.sessions import SELECT_SESSIONS, SessionRecord, session_from_row
from service.rules.attendee_lists import email_key

DEFAULT_LIMIT = 500


async def sessions_newest_first(
    db: aiosqlite.Connection,
    *,
    owner_token_id: int | None,
    only_owner: bool,
    first: dt.date | None = None,
    last: dt.date | None = None,
    organization: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[SessionRecord]:
    """Sessions, newest first, within an optional date range and organization (compared without case);
    `only_owner` keeps those the token created (a facilitator's own)."""
    clauses: list[str] = []
    params: list[object] = []
    if first is not None:
        clauses.append("s.date >= ?")
        params.append(first.isoformat())
    if last is not None:
        clauses.append("s.date <= ?")
        params.append(last.isoformat())
    if organization is not None:
        clauses.append("s.organization = ? COLLATE NOCASE")
        params.append(organization)
    if only_owner:
        clauses.append("s.owner_token_id IS ?")
        params.append(owner_token_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.execute_fetchall(
        f"{SELECT_SESSIONS} {where} ORDER BY s.date DESC, s.start_time DESC, s.created_at DESC LIMIT ?",
        [*params, limit],
    )
    return [session_from_row(r) for r in rows]


async def organizations(db: aiosqlite.Connection) -> list[str]:
    """Every contracting organization a session names, for the export form's suggestions."""
    rows = await db.execute_fetchall(
        "SELECT DISTINCT organization FROM sessions WHERE organization IS NOT NULL"
        " ORDER BY organization COLLATE NOCASE"
    )
    return [r["organization"] for r in rows]


class VersionSummary(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    submitted_at: str
    submitted_by: str
    attendees: int
    eligible: int


async def list_versions_of(db: aiosqlite.Connection, session_id: str) -> list[VersionSummary]:
    """Every attendee-list version of a session, newest first, with its counts."""
    rows = await db.execute_fetchall(
        "SELECT v.version, v.submitted_at, v.submitted_by,"
        " COUNT(a.email_key) AS attendees,"
        " COALESCE(SUM(a.core_trained AND a.full_participation), 0) AS eligible"
        " FROM list_versions v LEFT JOIN attendees a ON a.session_id = v.session_id AND a.version = v.version"
        " WHERE v.session_id = ? GROUP BY v.version ORDER BY v.version DESC",
        (session_id,),
    )
    return [
        VersionSummary(
            version=r["version"],
            submitted_at=r["submitted_at"],
            submitted_by=r["submitted_by"],
            attendees=r["attendees"],
            eligible=r["eligible"],
        )
        for r in rows
    ]


async def requests_with_outcome(
    db: aiosqlite.Connection, outcome: str, limit: int = DEFAULT_LIMIT
) -> list[RequestRecord]:
    """Pending or refused requests, most recently decided first (what staff look at is the newest)."""
    rows = await db.execute_fetchall(
        "SELECT * FROM certificate_requests WHERE outcome = ? ORDER BY decided_at DESC, id LIMIT ?",
        (outcome, limit),
    )
    return [request_from_row(r) for r in rows]


class AttendanceRow(msgspec.Struct, frozen=True, kw_only=True):
    """One attendee of one session, with their current certificate for it when they hold one."""

    session_id: str
    session_date: dt.date
    start_time: str | None
    timezone: str
    title: str
    organization: str | None
    level: str
    duration_minutes: int
    facilitators: tuple[str, ...]
    name: str
    email: str
    core_trained: bool | None
    full_participation: bool | None
    list_version: int | None
    serial: str | None
    certificate_status: str | None
    issued_at: str | None
    verify_url: str | None
    revoked_at: str | None


# The attendees of each chosen session's latest list, and, after them, holders of a certificate for the
# session whom that list no longer names (their entry as on the list version the certificate came from):
# the export must account for every certificate, not only for the attendees who still earn one.
_ATTENDANCE = """
WITH chosen AS (
    SELECT s.*, (SELECT MAX(v.version) FROM list_versions v WHERE v.session_id = s.id) AS latest
    FROM sessions s
    WHERE s.date BETWEEN :first AND :last AND s.organization = :organization COLLATE NOCASE
),
current_certificates AS (
    SELECT c.*, r.revoked_at
    FROM certificates c
    LEFT JOIN revocations r ON r.serial = c.serial
    WHERE c.session_id IN (SELECT id FROM chosen)
      AND NOT EXISTS (SELECT 1 FROM certificates n WHERE n.supersedes = c.serial)
),
listed AS (
    SELECT chosen.id AS session_id, a.position, a.name, a.email, a.email_key,
           a.core_trained, a.full_participation, a.version AS list_version
    FROM chosen JOIN attendees a ON a.session_id = chosen.id AND a.version = chosen.latest
),
entries AS (
    SELECT listed.session_id, listed.position, listed.name, listed.email, listed.core_trained,
           listed.full_participation, listed.list_version,
           cc.serial, cc.issued_at, cc.verify_url, cc.revoked_at
    FROM listed
    LEFT JOIN current_certificates cc
           ON cc.session_id = listed.session_id AND cc.email_key = listed.email_key
    UNION ALL
    SELECT cc.session_id, NULL, cc.holder_name, cc.email, a.core_trained, a.full_participation,
           cc.list_version, cc.serial, cc.issued_at, cc.verify_url, cc.revoked_at
    FROM current_certificates cc
    LEFT JOIN attendees a
           ON a.session_id = cc.session_id AND a.version = cc.list_version AND a.email_key = cc.email_key
    WHERE NOT EXISTS (
        SELECT 1 FROM listed WHERE listed.session_id = cc.session_id AND listed.email_key = cc.email_key
    )
)
SELECT chosen.id AS session_id, chosen.date, chosen.start_time, chosen.timezone, chosen.title,
       chosen.organization, chosen.level, chosen.duration_minutes, chosen.facilitators,
       e.name, e.email, e.core_trained, e.full_participation, e.list_version,
       e.serial, e.issued_at, e.verify_url, e.revoked_at
FROM entries e JOIN chosen ON chosen.id = e.session_id
ORDER BY chosen.date, chosen.start_time, chosen.id, e.position IS NULL, e.position, e.email
"""


def _flag(value: int | None) -> bool | None:
    return None if value is None else bool(value)


async def attendance(
    db: aiosqlite.Connection, organization: str, first: dt.date, last: dt.date
) -> list[AttendanceRow]:
    """Attendance and certificates of an organization's sessions dated `first` to `last` (inclusive)."""
    rows = await db.execute_fetchall(
        _ATTENDANCE,
        {"organization": organization, "first": first.isoformat(), "last": last.isoformat()},
    )
    return [
        AttendanceRow(
            session_id=r["session_id"],
            session_date=dt.date.fromisoformat(r["date"]),
            start_time=r["start_time"],
            timezone=r["timezone"],
            title=r["title"],
            organization=r["organization"],
            level=r["level"],
            duration_minutes=r["duration_minutes"],
            facilitators=tuple(json.loads(r["facilitators"])),
            name=r["name"],
            email=r["email"],
            core_trained=_flag(r["core_trained"]),
            full_participation=_flag(r["full_participation"]),
            list_version=r["list_version"],
            serial=r["serial"],
            certificate_status=None
            if r["serial"] is None
            else ("revoked" if r["revoked_at"] is not None else "valid"),
            issued_at=r["issued_at"],
            verify_url=r["verify_url"],
            revoked_at=r["revoked_at"],
        )
        for r in rows
    ]


class Appearance(msgspec.Struct, frozen=True, kw_only=True):
    """A session whose latest attendee list names a person, and how it lists them."""

    session: SessionRecord
    name: str
    core_trained: bool
    full_participation: bool


async def appearances(db: aiosqlite.Connection, email: str, limit: int = DEFAULT_LIMIT) -> list[Appearance]:
    """Every session whose current list names `email`, newest first: "where is my certificate?" often
    means "I was listed but never asked", or "listed without full participation"."""
    rows = await db.execute_fetchall(
        "SELECT s.*, a.version AS list_version, a.name AS entry_name, a.core_trained, a.full_participation"
        " FROM attendees a JOIN sessions s ON s.id = a.session_id"
        " WHERE a.email_key = ?"
        " AND a.version = (SELECT MAX(v.version) FROM list_versions v WHERE v.session_id = a.session_id)"
        " ORDER BY s.date DESC, s.start_time DESC LIMIT ?",
        (email_key(email), limit),
    )
    return [
        Appearance(
            session=session_from_row(r),
            name=r["entry_name"],
            core_trained=bool(r["core_trained"]),
            full_participation=bool(r["full_participation"]),
        )
        for r in rows
    ]
