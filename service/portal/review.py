"""The review table: a proposed attendee list travelling in the form itself until it is submitted.

An uploaded report, a typed list or an earlier version becomes rows the facilitator edits (names, emails,
both ticks, leaving someone out); the report's numbers and notes ride along in hidden fields so that a
form sent back with an error shows them again. Nothing reaches the ledger before the submit button.
"""

from collections.abc import Iterable, Sequence
from typing import Any

import msgspec
from litestar.datastructures import FormMultiDict

from service.api.sessions import AttendeeIn, AttendeeListIn
from service.ledger.sessions import ListRow
from service.portal.forms import attendee_in, text
from service.portal.typed_list import TypedEntry
from service.reports.proposal import Proposed
from service.rules.attendee_lists import email_key

MAX_ROWS = 5000
BLANK_ROWS = 3
MORE_ROWS = 5
MAX_REPORT_NOTES = 10


class ReviewRow(msgspec.Struct, kw_only=True):
    name: str = ""
    email: str = ""
    core_trained: bool = False
    full_participation: bool = False
    minutes_present: int | None = None
    joined_late_minutes: int | None = None
    left_early_minutes: int | None = None
    # The limits passed by the rule's exact seconds (15 min 1 s late is too late, though it shows 15 min).
    joined_too_late: bool = False
    left_too_early: bool = False
    notes: str = ""
    pronouns: str = ""
    omit: bool = False
    errors: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def is_blank(self) -> bool:
        return not self.name and not self.email

    def who(self, number: int) -> str:
        """How a screen reader names the row: the person, not a row number (a blank row has only that)."""
        return self.name or self.email or f"new row {number}"


class LeftOut(msgspec.Struct, kw_only=True):
    """Someone in the report who is not proposed (no email, a facilitator, …) and why."""

    name: str
    reason: str


class Review(msgspec.Struct, kw_only=True):
    rows: list[ReviewRow]
    left_out: list[LeftOut] = msgspec.field(default_factory=list)
    source: str = ""
    problems: list[str] = msgspec.field(default_factory=list)
    report_notes: list[str] = msgspec.field(default_factory=list)  # about the report as a whole

    def with_blank_rows(self, count: int = BLANK_ROWS) -> "Review":
        """Empty rows at the end, for people the report or the typed list missed."""
        blanks = max(0, count - sum(row.is_blank for row in self.rows[-count:]))
        return msgspec.structs.replace(self, rows=[*self.rows, *(ReviewRow() for _ in range(blanks))])


def _notes(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value if v)
    return str(value or "")


def review_from_proposal(proposed: Proposed) -> Review:
    """From the attendance-report import: attendees with numbers and notes, who was left out, and the notes
    about the report as a whole."""
    proposal = proposed.proposal
    rows = []
    for a in proposal.attendees:
        too_late, too_early = proposed.over_limits.get(email_key(a.email), (False, False))
        rows.append(
            ReviewRow(
                name=a.name,
                email=a.email,
                core_trained=a.core_trained,
                full_participation=a.full_participation,
                minutes_present=a.minutes_present,
                joined_late_minutes=a.joined_late_minutes,
                left_early_minutes=a.left_early_minutes,
                joined_too_late=too_late,
                left_too_early=too_early,
                notes=_notes(a.notes),
            )
        )
    return Review(
        rows=rows,
        left_out=[LeftOut(name=u.name, reason=u.reason) for u in proposal.unmatched],
        source="report",
        report_notes=list(proposal.notes),
    )


def review_from_typed(
    entries: Iterable[TypedEntry], *, core_trained: set[str], all_core: bool, all_full: bool
) -> Review:
    """From a typed list; `core_trained` holds the emails the ledger already knows as core-trained."""
    return Review(
        rows=[
            ReviewRow(
                name=e.name,
                email=e.email,
                core_trained=all_core or email_key(e.email) in core_trained,
                full_participation=all_full,
            )
            for e in entries
        ],
        source="typed",
    )


def review_from_version(rows: Sequence[ListRow], version: int) -> Review:
    return Review(
        rows=[
            ReviewRow(
                name=r.name,
                email=r.email,
                core_trained=r.core_trained,
                full_participation=r.full_participation,
                pronouns=r.pronouns or "",
            )
            for r in rows
        ],
        source=f"version {version}",
    )


def _number(form: FormMultiDict, name: str) -> int | None:
    value = text(form, name)
    return int(value) if value.isdigit() and len(value) < 7 else None


def review_from_form(form: FormMultiDict) -> Review:
    """The review table as the browser sent it back."""
    count = _number(form, "row_count") or 0
    rows = []
    for i in range(min(count, MAX_ROWS + MORE_ROWS + BLANK_ROWS)):
        prefix = f"rows-{i}-"
        rows.append(
            ReviewRow(
                name=text(form, prefix + "name"),
                email=text(form, prefix + "email"),
                core_trained=form.get(prefix + "core_trained") is not None,
                full_participation=form.get(prefix + "full_participation") is not None,
                minutes_present=_number(form, prefix + "minutes_present"),
                joined_late_minutes=_number(form, prefix + "joined_late_minutes"),
                left_early_minutes=_number(form, prefix + "left_early_minutes"),
                joined_too_late=form.get(prefix + "joined_too_late") is not None,
                left_too_early=form.get(prefix + "left_too_early") is not None,
                notes=text(form, prefix + "notes")[:500],
                pronouns=text(form, prefix + "pronouns")[:60],
                omit=form.get(prefix + "omit") is not None,
            )
        )
    left_out = []
    for i in range(min(_number(form, "left_out_count") or 0, MAX_ROWS)):
        name = text(form, f"left_out-{i}-name")[:200]
        if name:
            left_out.append(LeftOut(name=name, reason=text(form, f"left_out-{i}-reason")[:200]))
    notes = [text(form, f"report_note-{i}")[:1000] for i in range(MAX_REPORT_NOTES)]
    return Review(
        rows=rows,
        left_out=left_out,
        source=text(form, "source")[:40],
        report_notes=[note for note in notes if note],
    )


class Submission(msgspec.Struct, kw_only=True):
    """The API's body for the kept rows, and which review row each of its rows came from."""

    body: AttendeeListIn
    positions: list[int]


def submission(review: Review) -> Submission | None:
    """Every kept row checked by the API's rule; None when any row is wrong (its errors are on the row)."""
    kept: list[AttendeeIn] = []
    positions: list[int] = []
    wrong = False
    for position, row in enumerate(review.rows):
        row.errors = {}
        if row.omit or row.is_blank:
            continue
        converted, errors = attendee_in(
            name=row.name,
            email=row.email,
            core_trained=row.core_trained,
            full_participation=row.full_participation,
            pronouns=row.pronouns,
        )
        if converted is None:
            row.errors = errors
            wrong = True
            continue
        kept.append(converted)
        positions.append(position)
    if wrong:
        return None
    try:
        # The list's own rules (its length) from the API's struct as well.
        body = msgspec.convert({"attendees": kept}, AttendeeListIn, from_attributes=True)
    except msgspec.ValidationError:
        review.problems.append(f"A list can have at most {MAX_ROWS} attendees; this one has {len(kept)}.")
        return None
    return Submission(body=body, positions=positions)


def place_errors(review: Review, submitted: Submission, duplicates: Sequence[tuple[int, int]]) -> None:
    """Put the list's refusal of a repeated email ((row, earlier row), 0-based among the kept rows) on the
    review rows."""
    for row, _ in duplicates:
        if 0 <= row < len(submitted.positions):
            target = review.rows[submitted.positions[row]]
            target.errors["email"] = "This email is already on the list above; each attendee appears once."
