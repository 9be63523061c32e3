"""Certificate requests and the decisions made about them.

A request's row holds its current decision; every decision is also an event. `told_outcome` is the
outcome the attendee was last told (in the answer to their request, or marked notified since), so
"decided but not yet told" is `outcome <> told_outcome`, served by a partial index.
"""

import datetime as dt
import sqlite3

import aiosqlite
import msgspec

from service.ledger.database import Transaction
from service.ledger.sessions import new_id
from service.rules.attendee_lists import email_key


class RequestRecord(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    email: str
    date: dt.date
    facilitator: str | None
    start_time: str | None
    message_id: str | None
    created_at: str
    outcome: str
    reason: str | None
    message: str
    session_id: str | None
    serial: str | None
    decided_at: str
    told_outcome: str


class NewRequest(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    date: dt.date
    facilitator: str | None
    start_time: str | None
    message_id: str | None


class DecisionRecord(msgspec.Struct, frozen=True, kw_only=True):
    outcome: str
    reason: str | None
    message: str
    session_id: str | None
    serial: str | None


def request_from_row(row: aiosqlite.Row | sqlite3.Row) -> RequestRecord:
    return RequestRecord(
        id=row["id"],
        email=row["email"],
        date=dt.date.fromisoformat(row["date"]),
        facilitator=row["facilitator"],
        start_time=row["start_time"],
        message_id=row["message_id"],
        created_at=row["created_at"],
        outcome=row["outcome"],
        reason=row["reason"],
        message=row["message"],
        session_id=row["session_id"],
        serial=row["serial"],
        decided_at=row["decided_at"],
        told_outcome=row["told_outcome"],
    )


def find_by_message_id(db: sqlite3.Connection, message_id: str) -> RequestRecord | None:
    """On the lookup connection: a single-row read by a unique key."""
    row = db.execute("SELECT * FROM certificate_requests WHERE message_id = ?", (message_id,)).fetchone()
    return request_from_row(row) if row else None


async def get_request(db: aiosqlite.Connection, request_id: str) -> RequestRecord | None:
    rows = await db.execute_fetchall("SELECT * FROM certificate_requests WHERE id = ?", (request_id,))
    return request_from_row(rows[0]) if rows else None


async def insert_request(tx: Transaction, new: NewRequest, decision: DecisionRecord) -> RequestRecord:
    """A new request with its first decision, which its answer tells the attendee."""
    request_id = new_id("req")
    await tx.conn.execute(
        "INSERT INTO certificate_requests (id, email_key, email, date, facilitator, start_time,"
        " message_id, created_at, created_by, outcome, reason, message, session_id, serial,"
        " decided_at, told_outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            request_id,
            email_key(new.email),
            new.email.strip(),
            new.date.isoformat(),
            new.facilitator,
            new.start_time,
            new.message_id,
            tx.now,
            tx.actor,
            decision.outcome,
            decision.reason,
            decision.message,
            decision.session_id,
            decision.serial,
            tx.now,
            decision.outcome,
        ),
    )
    await tx.record(
        "request.decided",
        f"request:{request_id}",
        {"request": msgspec.to_builtins(new), "decision": msgspec.to_builtins(decision)},
    )
    record = await get_request(tx.conn, request_id)
    assert record is not None
    return record


async def redecide_request(tx: Transaction, request_id: str, decision: DecisionRecord) -> bool:
    """Record a new decision; False (nothing written) when it changes nothing or the request was issued."""
    rows = await tx.conn.execute_fetchall(
        "SELECT outcome, reason, message, session_id, serial FROM certificate_requests WHERE id = ?",
        (request_id,),
    )
    before = DecisionRecord(**dict(rows[0]))
    # Issued is final; an attendee told "no" is never told "wait" after it (nothing would end the wait).
    if before.outcome == "issued" or before == decision:
        return False
    if before.outcome == "rejected" and decision.outcome == "pending":
        return False
    await tx.conn.execute(
        "UPDATE certificate_requests SET outcome = ?, reason = ?, message = ?, session_id = ?,"
        " serial = ?, decided_at = ? WHERE id = ?",
        (
            decision.outcome,
            decision.reason,
            decision.message,
            decision.session_id,
            decision.serial,
            tx.now,
            request_id,
        ),
    )
    await tx.record("request.decided", f"request:{request_id}", {"decision": msgspec.to_builtins(decision)})
    return True


async def mark_told(tx: Transaction, request_id: str, outcome: str | None = None) -> RequestRecord | None:
    """The attendee was told `outcome` (by default the current one). Told an outcome that has changed
    since, the request stays among the untold: the newer outcome still has to reach them."""
    record = await get_request(tx.conn, request_id)
    if record is None:
        return None
    told = outcome or record.outcome
    if record.told_outcome != told:
        await tx.conn.execute(
            "UPDATE certificate_requests SET told_outcome = ?, notified_at = ? WHERE id = ?",
            (told, tx.now, request_id),
        )
        await tx.record("request.notified", f"request:{request_id}", {"outcome": told})
    return await get_request(tx.conn, request_id)


async def list_requests(
    db: aiosqlite.Connection,
    *,
    status: str | None,
    notified: bool | None,
    email: str | None = None,
    limit: int = 500,
) -> list[RequestRecord]:
    clauses: list[str] = []
    params: list[object] = []
    if status == "decided":
        clauses.append("outcome <> 'pending'")
    elif status is not None:
        clauses.append("outcome = ?")
        params.append(status)
    if notified is False:
        clauses.append("outcome <> told_outcome")
    elif notified is True:
        clauses.append("outcome = told_outcome")
    if email is not None:
        clauses.append("email_key = ?")
        params.append(email_key(email))
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = await db.execute_fetchall(
        f"SELECT * FROM certificate_requests {where} ORDER BY decided_at, id LIMIT ?",  # noqa: S608
        [*params, limit],
    )
    return [request_from_row(r) for r in rows]


async def open_requests_near(
    db: aiosqlite.Connection, date: dt.date, rejected_since: str | None = None
) -> list[RequestRecord]:
    """Requests a new session or list on `date` may change: pending ones dated within a day of it,
    and, for a new list, ones rejected since `rejected_since` (a corrected list can turn a refusal
    into a certificate)."""
    first, last = (date - dt.timedelta(days=1)).isoformat(), (date + dt.timedelta(days=1)).isoformat()
    rows = await db.execute_fetchall(
        "SELECT * FROM certificate_requests WHERE outcome = 'pending' AND date BETWEEN ? AND ?"
        " UNION SELECT * FROM certificate_requests WHERE outcome = 'rejected' AND date BETWEEN ? AND ?"
        " AND decided_at >= ? ORDER BY created_at",
        (first, last, first, last, rejected_since or "9999"),
    )
    return [request_from_row(r) for r in rows]


async def stale_pending(db: aiosqlite.Connection, before: dt.date) -> list[RequestRecord]:
    """Pending requests for sessions nobody registered within the window: now refused."""
    rows = await db.execute_fetchall(
        "SELECT * FROM certificate_requests WHERE outcome = 'pending' AND reason = 'no_session' AND date < ?",
        (before.isoformat(),),
    )
    return [request_from_row(r) for r in rows]


async def requests_for_session(db: aiosqlite.Connection, session_id: str) -> list[RequestRecord]:
    rows = await db.execute_fetchall(
        "SELECT * FROM certificate_requests WHERE session_id = ? ORDER BY created_at", (session_id,)
    )
    return [request_from_row(r) for r in rows]
