"""`certledger audit`: does the ledger prove itself?

Three checks, in the order a certification board would care about them:
1. the keyed hash chain: every event's HMAC (under the ledger key, which is not in the database) over its
   content and the previous hash holds, so no event was edited, inserted, dropped or reordered;
2. the state agrees with its events: every session, list version, attendee row, certificate, stored PDF,
   revocation, request and token is exactly what its events say, and no row exists without its event;
3. every stored PDF's SHA-256 is the one recorded when it was issued.

It reads the database file directly (a batch job, not the server) and reports the first problem found.
"""

import datetime as dt
import hashlib
import hmac
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from service.ledger.chain import GENESIS, event_hash
from service.ledger.sessions import rows_of_list_payload


class Problem(msgspec.Struct, frozen=True):
    where: str  # "event 17 (list.submitted, session:ses_…)" or "table sessions"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


class AuditReport(msgspec.Struct, kw_only=True):
    events: int = 0
    sessions: int = 0
    list_versions: int = 0
    certificates: int = 0
    revocations: int = 0
    requests: int = 0


def audit(db_path: Path, ledger_key: str, report: AuditReport | None = None) -> Iterator[Problem]:
    """Every problem, in the order found: the chain first, then each event's state, then orphan rows."""
    report = report if report is not None else AuditReport()
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    db.row_factory = sqlite3.Row
    try:
        yield from _Auditor(db, ledger_key.encode(), report).run()
    except (sqlite3.Error, ValueError, TypeError, KeyError) as exc:
        # Edited beyond what the schema allows (text where bytes belong, broken JSON): that is a finding.
        yield Problem("the database", f"cannot be read as a ledger ({type(exc).__name__}: {exc})")
    finally:
        db.close()


class _Auditor:
    def __init__(self, db: sqlite3.Connection, key: bytes, report: AuditReport) -> None:
        self.db = db
        self.key = key
        self.report = report
        self.seen: dict[str, set[str]] = {k: set() for k in ("session", "certificate", "revocation", "token")}
        self.list_versions: set[tuple[str, int]] = set()
        self.attendee_rows = 0
        self.requests: dict[str, dict[str, Any]] = {}
        self.tokens: dict[int, dict[str, Any]] = {}

    def run(self) -> Iterator[Problem]:
        previous, expected_seq = GENESIS, 1
        for event in self.db.execute("SELECT * FROM events ORDER BY seq"):
            self.report.events += 1
            where = f"event {event['seq']} ({event['kind']}, {event['subject']})"
            if event["seq"] != expected_seq or event["prev_hash"] != previous:
                yield Problem(where, "the chain is broken here: an event before it was removed or reordered")
                return
            digest = event_hash(
                self.key,
                event["prev_hash"],
                event["seq"],
                event["at"],
                event["actor"],
                event["kind"],
                event["subject"],
                event["payload"],
            )
            if not hmac.compare_digest(digest, event["hash"]):
                yield Problem(where, "its hash does not match its content: the event was edited")
                return
            previous, expected_seq = event["hash"], event["seq"] + 1
            try:
                payload = json.loads(event["payload"])
            except ValueError:
                yield Problem(where, "its payload is not JSON")
                return
            for what in self._agrees(event, payload):
                yield Problem(where, what)
                return
        yield from self._mutable_state()
        yield from self._orphans()

    # -- each event against the state it recorded ----------------------------------------------------

    def _agrees(self, event: sqlite3.Row, payload: dict[str, Any]) -> Iterator[str]:
        kind, subject = event["kind"], event["subject"].partition(":")[2]
        check = {
            "session.created": self._session,
            "list.submitted": self._list,
            "certificate.issued": self._certificate,
            "certificate.revoked": self._revocation,
            "request.decided": self._request_decided,
            "request.notified": self._request_notified,
            "token.created": self._token_created,
            "token.revoked": self._token_revoked,
        }.get(kind)
        if check is None:
            yield f"unknown kind of event {kind!r}"
            return
        yield from check(event, subject, payload)

    def _session(self, event: sqlite3.Row, session_id: str, payload: dict[str, Any]) -> Iterator[str]:
        self.seen["session"].add(session_id)
        self.report.sessions += 1
        row = self._row("SELECT * FROM sessions WHERE id = ?", session_id)
        if row is None:
            yield f"session {session_id} is missing"
            return
        stored = {
            **{k: row[k] for k in ("date", "start_time", "timezone", "duration_minutes", "level")},
            **{k: row[k] for k in ("organization", "title", "delivery", "owner_token_id")},
            "facilitators": json.loads(row["facilitators"]),
            "id": row["id"],
        }
        yield from _differences(f"session {session_id}", stored, payload)
        if row["created_at"] != event["at"]:
            yield f"session {session_id}: created_at differs from its event"

    def _list(self, event: sqlite3.Row, session_id: str, payload: dict[str, Any]) -> Iterator[str]:
        version = payload.get("version")
        self.list_versions.add((session_id, version))
        self.report.list_versions += 1
        head = self._row(
            "SELECT * FROM list_versions WHERE session_id = ? AND version = ?", session_id, version
        )
        if head is None:
            yield f"list version {version} of session {session_id} is missing"
            return
        if head["submitted_at"] != event["at"] or head["submitted_by"] != event["actor"]:
            yield f"list version {version} of session {session_id}: its time or submitter differs from its event"
        rows = self.db.execute(
            "SELECT name, email, core_trained, full_participation, pronouns FROM attendees"
            " WHERE session_id = ? AND version = ? ORDER BY position",
            (session_id, version),
        ).fetchall()
        self.attendee_rows += len(rows)
        stored = [
            {
                "name": r["name"],
                "email": r["email"],
                "core_trained": bool(r["core_trained"]),
                "full_participation": bool(r["full_participation"]),
                "pronouns": r["pronouns"],
            }
            for r in rows
        ]
        try:
            recorded = rows_of_list_payload(payload)
        except (ValueError, TypeError) as exc:
            yield f"list version {version} of session {session_id}: its event's rows cannot be read ({exc})"
            return
        if not all(isinstance(row, dict) for row in recorded):
            yield f"list version {version} of session {session_id}: its event's rows are not attendee records"
            return
        if len(stored) != len(recorded):
            yield f"list version {version} of session {session_id} has {len(stored)} attendees, its event {len(recorded)}"
            return
        for position, (have, want) in enumerate(zip(stored, recorded, strict=True), 1):
            yield from _differences(
                f"list version {version} of session {session_id}, row {position}", have, want
            )

    def _certificate(self, event: sqlite3.Row, serial: str, payload: dict[str, Any]) -> Iterator[str]:
        self.seen["certificate"].add(serial)
        self.report.certificates += 1
        row = self._row("SELECT * FROM certificates WHERE serial = ?", serial)
        if row is None:
            yield f"certificate {serial} is missing"
            return
        stored = {
            "session_id": row["session_id"],
            "email": row["email"],
            "issued_at": row["issued_at"],
            "list_version": row["list_version"],
            "supersedes": row["supersedes"],
            "content": json.loads(row["content"]),
            "pdf_sha256": row["pdf_sha256"],
        }
        yield from _differences(f"certificate {serial}", stored, payload)
        if row["holder_name"] != payload.get("content", {}).get("holder_name"):
            yield f"certificate {serial}: holder_name differs from its event"
        pdf = self._row("SELECT CAST(pdf AS BLOB) AS pdf FROM certificate_pdfs WHERE serial = ?", serial)
        if pdf is None:
            yield f"certificate {serial}: its PDF is missing"
        elif hashlib.sha256(pdf["pdf"]).hexdigest() != payload.get("pdf_sha256"):
            yield f"certificate {serial}: the stored PDF is not the one issued (its SHA-256 differs)"

    def _revocation(self, event: sqlite3.Row, serial: str, payload: dict[str, Any]) -> Iterator[str]:
        self.seen["revocation"].add(serial)
        self.report.revocations += 1
        row = self._row("SELECT * FROM revocations WHERE serial = ?", serial)
        if row is None:
            yield f"the revocation of {serial} is missing"
            return
        stored = {"reason": row["reason"], "list_version_at_revocation": row["list_version_at_revocation"]}
        yield from _differences(f"revocation of {serial}", stored, payload)
        if row["revoked_at"] != event["at"] or row["revoked_by"] != event["actor"]:
            yield f"revocation of {serial}: its time or author differs from its event"

    def _request_decided(self, event: sqlite3.Row, request_id: str, payload: dict[str, Any]) -> Iterator[str]:
        known = self.requests.setdefault(request_id, {})
        if "request" in payload:
            known["request"] = payload["request"]
            known["told"] = payload["decision"]["outcome"]
        known["decision"] = payload["decision"]
        return iter(())

    def _request_notified(
        self, event: sqlite3.Row, request_id: str, payload: dict[str, Any]
    ) -> Iterator[str]:
        self.requests.setdefault(request_id, {})["told"] = payload.get("outcome")
        return iter(())

    def _token_created(self, event: sqlite3.Row, token_id: str, payload: dict[str, Any]) -> Iterator[str]:
        self.seen["token"].add(token_id)
        self.tokens[int(token_id)] = {**payload, "created_at": event["at"], "revoked_at": None}
        return iter(())

    def _token_revoked(self, event: sqlite3.Row, token_id: str, payload: dict[str, Any]) -> Iterator[str]:
        if int(token_id) in self.tokens:
            self.tokens[int(token_id)]["revoked_at"] = event["at"]
        return iter(())

    # -- state that changes: its latest event ---------------------------------------------------------

    def _mutable_state(self) -> Iterator[Problem]:
        for row in self.db.execute("SELECT * FROM certificate_requests ORDER BY created_at"):
            self.report.requests += 1
            where = f"request {row['id']}"
            known = self.requests.get(row["id"])
            if known is None or "request" not in known:
                yield Problem(where, "it has no event: it was added to the database directly")
                return
            request = {
                "email": row["email"],
                "date": row["date"],
                "facilitator": row["facilitator"],
                "start_time": row["start_time"],
                "message_id": row["message_id"],
            }
            decision = {k: row[k] for k in ("outcome", "reason", "message", "session_id", "serial")}
            for what in (
                *_differences("its request", request, known["request"]),
                *_differences("its decision", decision, known["decision"]),
            ):
                yield Problem(where, what)
                return
            if row["told_outcome"] != known.get("told"):
                yield Problem(where, "what the attendee was told differs from its events")
                return
        for row in self.db.execute("SELECT * FROM tokens ORDER BY id"):
            known = self.tokens.get(row["id"])
            where = f"token {row['id']}"
            if known is None:
                yield Problem(where, "it has no event: it was added to the database directly")
                return
            stored = {
                "role": row["role"],
                "name": row["name"],
                "email": row["email"],
                "levels": json.loads(row["levels"]),
                "created_at": row["created_at"],
                "revoked_at": row["revoked_at"],
            }
            for what in _differences("it", stored, known):
                yield Problem(where, what)
                return

    def _orphans(self) -> Iterator[Problem]:
        """Rows no event accounts for: added to the database directly."""
        for table, key, seen in (
            ("sessions", "id", self.seen["session"]),
            ("certificates", "serial", self.seen["certificate"]),
            ("revocations", "serial", self.seen["revocation"]),
        ):
            for (value,) in self.db.execute(f"SELECT {key} FROM {table}"):  # noqa: S608 (fixed names)
                if value not in seen:
                    yield Problem(f"table {table}", f"{key} {value} has no event: it was added directly")
                    return
        for row in self.db.execute("SELECT session_id, version FROM list_versions"):
            if (row["session_id"], row["version"]) not in self.list_versions:
                yield Problem(
                    "table list_versions", f"version {row['version']} of {row['session_id']} has no event"
                )
                return
        (attendees,) = self.db.execute("SELECT COUNT(*) FROM attendees").fetchone()
        if attendees != self.attendee_rows:
            yield Problem("table attendees", f"{attendees - self.attendee_rows} rows have no event")
        (pdfs,) = self.db.execute("SELECT COUNT(*) FROM certificate_pdfs").fetchone()
        if pdfs != len(self.seen["certificate"]):
            yield Problem("table certificate_pdfs", "it holds PDFs of no issued certificate")

    def _row(self, sql: str, *params: object) -> sqlite3.Row | None:
        return self.db.execute(sql, params).fetchone()


def _differences(where: str, stored: dict[str, Any], recorded: dict[str, Any]) -> Iterator[str]:
    for field, value in stored.items():
        if _normal(value) != _normal(recorded.get(field)):
            yield f"{where}: {field} is {value!r} in the database but {recorded.get(field)!r} in its event"
            return


def _normal(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value
