"""Where each attendee's certificate stands, in words: issued, revoked, pending or refused, and why.

Pure: it reads a session's list, its certificates and its requests, as the ledger gives them. A
certificate outranks requests (asking again returns the same one); without one, the most recently decided
request tells; with neither, whether the list makes the attendee eligible.
"""

from collections.abc import Sequence

import msgspec

from service.ledger.certificates import ListedCertificate
from service.ledger.requests import RequestRecord
from service.ledger.sessions import ListRow
from service.rules.attendee_lists import email_key

REASON_WORDS = {
    "no_session": "no registered session matched the request",
    "hub_session": "hub / local-level sessions are not issued IPS Central certificates",
    "list_not_submitted": "waiting for the attendee list",
    "not_on_list": "not on the attendee list",
    "not_core_trained": "not marked as core-trained",
    "incomplete_participation": "not marked as taking part in full",
    "revoked": "their certificate for this session was revoked",
    "ambiguous": "eligible in more than one session that day; they need to say which",
}


def reason_words(reason: str | None) -> str:
    return REASON_WORDS.get(reason or "", reason or "")


class AttendeeStatus(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # issued, revoked, pending, refused, eligible, not_eligible
    label: str  # "Refused"
    detail: str = ""  # what follows the label: "(not marked as core-trained)", "on 2026-03-05"
    serial: str | None = None
    verify_url: str | None = None
    needs_review: bool = False


def _eligibility(row: ListRow) -> AttendeeStatus:
    if row.core_trained and row.full_participation:
        return AttendeeStatus(kind="eligible", label="Eligible", detail="(not asked yet)")
    why = reason_words("not_core_trained" if not row.core_trained else "incomplete_participation")
    return AttendeeStatus(kind="not_eligible", label="Not eligible", detail=f"({why})")


def _from_certificate(listed: ListedCertificate) -> AttendeeStatus:
    record = listed.record
    if record.status == "revoked":
        return AttendeeStatus(
            kind="revoked",
            label="Revoked",
            detail=f"({record.revocation_reason})" if record.revocation_reason else "",
            serial=record.serial,
            verify_url=record.verify_url,
        )
    return AttendeeStatus(
        kind="issued",
        label="Issued",
        detail=f"on {record.issued_at[:10]}",  # "Issued on 2026-03-05"
        serial=record.serial,
        verify_url=record.verify_url,
        needs_review=listed.needs_review,
    )


def _from_request(request: RequestRecord) -> AttendeeStatus:
    kind, label = ("pending", "Pending") if request.outcome == "pending" else ("refused", "Refused")
    return AttendeeStatus(kind=kind, label=label, detail=f"({reason_words(request.reason)})")


def current_certificates(certificates: Sequence[ListedCertificate]) -> dict[str, ListedCertificate]:
    """Each email's current certificate (the one no other supersedes)."""
    return {email_key(c.record.email): c for c in certificates if c.record.superseded_by is None}


def latest_requests(requests: Sequence[RequestRecord]) -> dict[str, RequestRecord]:
    latest: dict[str, RequestRecord] = {}
    for request in sorted(requests, key=lambda r: (r.decided_at, r.id)):
        latest[email_key(request.email)] = request
    return latest


def attendee_statuses(
    rows: Sequence[ListRow],
    certificates: Sequence[ListedCertificate],
    requests: Sequence[RequestRecord],
) -> dict[str, AttendeeStatus]:
    """Keyed by email_key: every row of the list gets a status."""
    held = current_certificates(certificates)
    asked = latest_requests(requests)
    statuses = {}
    for row in rows:
        key = email_key(row.email)
        if key in held:
            statuses[key] = _from_certificate(held[key])
        elif key in asked and asked[key].outcome != "issued":
            statuses[key] = _from_request(asked[key])
        else:
            statuses[key] = _eligibility(row)
    return statuses


def requests_off_list(rows: Sequence[ListRow], requests: Sequence[RequestRecord]) -> list[RequestRecord]:
    """Requests decided against this session from people its list does not name (newest first)."""
    on_list = {email_key(row.email) for row in rows}
    off = [r for r in latest_requests(requests).values() if email_key(r.email) not in on_list]
    return sorted(off, key=lambda r: r.decided_at, reverse=True)
