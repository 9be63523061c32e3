"""The proposed attendee list from an attendance report (SPEC §6), for the facilitator to review and PUT.

Used by the API (`POST /api/v1/sessions/{id}/attendance-report`) and the portal alike; nothing is stored.

How a report becomes a list, where SPEC §6 leaves it open:
- A person is an email (the same email in any case is one person); rows without an email are grouped by
  their cleaned name, and joined to the one person with an email and that name when there is exactly one
  (the same person on a phone without signing in).
- Facilitators are left out when their cleaned name is a session facilitator's (case, accents, order
  and titles aside), and with them every row of the same email, and the email staff recorded for the
  facilitator token that registered the session. A name only close to a facilitator's ("Jayne Doe")
  stays, with a note: leaving out an attendee by mistake would cost them their certificate.
- `unmatched` holds whoever cannot go on a list: no email in the report, or one that is not a valid
  address. The reason says so, with how long they were there, so the facilitator can add them by hand.
- Zoom waiting-room time is not presence (the person was not in the room); it is noted.
- A Zoom "unique users" export has only each person's total minutes: it cannot show lateness, leaving
  early or time away, so nobody is proposed as full participant from it (`joined_late_minutes` and
  `left_early_minutes` are null, unknown); the note says to tick it by hand or upload the participant
  report. A Teams report without its in-meeting activities knows first join and last leave only: it is
  judged on those, and the note says time away could not be checked.
- Every proposed row is valid for PUT .../attendees as it is (a valid email, a name of 1 to 200 printable
  characters; the extra keys are ignored there).
"""

import asyncio
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import msgspec

# The field types PUT .../attendees validates: a proposed row must pass them unchanged.
from service.api.fields import Email
from service.ledger.attendance import KnownAttendee, known_attendees, owner_facilitator_email
from service.ledger.database import Ledger
from service.ledger.sessions import SessionRecord
from service.reports import Report, ReportError, cell_text
from service.reports.parse import read_report
from service.rules.attendee_lists import email_key
from service.rules.names import CLOSE, EXACT, fold, name_score
from service.rules.participation import Interval, Limits, clip, judge_participation, union
from service.settings import Settings

MAX_NAME = 200  # the longest name PUT .../attendees takes
MAX_PEOPLE = 5000  # the longest list it takes
_GROUP = re.compile(r"\s*\(([^()]*)\)")
_TRAILING_GROUP = re.compile(r"\s*\(([^()]*)\)\s*$")
_HOST_TAGS = frozenset(
    {"host", "co-host", "cohost", "co host", "alternative host", "organizer", "co-organizer"}
)
_OTHER_TAGS = frozenset({"guest", "external", "unverified", "me", "presenter", "panelist", "attendee"})
_PRONOUNS = re.compile(r"^(?:pronouns:\s*)?(?:[a-z]+(?:\s*/\s*[a-z]+)+|any pronouns)$")
_HOST_ROLES = frozenset({"organizer", "co-organizer"})


class ProposedAttendee(msgspec.Struct, kw_only=True):
    """A row of the proposed list: PUT's fields, and the numbers and notes behind full_participation."""

    name: str
    email: str
    core_trained: bool
    full_participation: bool
    minutes_present: int
    joined_late_minutes: int | None  # null: the export cannot tell (Zoom "unique users")
    left_early_minutes: int | None
    notes: list[str]


class Unmatched(msgspec.Struct, kw_only=True):
    """Someone in the report who cannot go on a list as it is (no usable email), and why."""

    name: str
    reason: str


class Proposal(msgspec.Struct, kw_only=True):
    attendees: list[ProposedAttendee]
    unmatched: list[Unmatched]


def display_name(raw: str, carries_original: bool) -> tuple[str, bool]:
    """The name a report shows without role tags ("(Host)", "(Co-host)", "(Guest)"), pronoun tags
    ("(she/her)") and, under Zoom's "Name (Original Name)" column, the "(Original)" part; and whether a
    host tag was among them."""
    host = False

    def tag(match: re.Match[str]) -> str:
        nonlocal host
        words = {w.strip() for w in match[1].casefold().split(",")}
        if words <= _HOST_TAGS | _OTHER_TAGS:
            host = host or bool(words & _HOST_TAGS)
            return ""
        return "" if _PRONOUNS.match(match[1].strip().casefold()) else match[0]

    text = cell_text(raw)
    if "(" not in text:
        return text, False
    text = _GROUP.sub(tag, text)
    if carries_original and (original := _TRAILING_GROUP.search(text)):
        current = text[: original.start()].strip()
        text = current or original[1]
    return " ".join(text.split()), host


def _usable_email(email: str) -> bool:
    try:
        msgspec.convert(email, Email)
    except msgspec.ValidationError:
        return False
    return True


@dataclass
class _Person:
    email: str
    first_row: int
    names: list[str] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)
    waiting: list[Interval] = field(default_factory=list)
    total_minutes: float = 0.0
    host: bool = False
    rows_without_email: int = 0
    unusable_email: str = ""

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else ""


def _people(report: Report, zone: ZoneInfo) -> list[_Person]:
    """The report's people in order of first appearance, their rows merged."""
    people: dict[str, _Person] = {}
    usable: dict[str, bool] = {}  # a person's rows repeat their address: check it once
    # Rows in time order, so that the name a person had last is the one proposed; people in file order.
    ordered = sorted(
        enumerate(report.connections), key=lambda r: (r[1].joined is None, r[1].joined or dt.datetime.min)
    )
    for number, row in ordered:
        name, host = display_name(row.name, report.names_carry_original)
        email = cell_text(row.email)
        unusable = ""
        if email and email not in usable:
            usable[email] = _usable_email(email)
        if email and not usable[email]:
            unusable, email = email, ""
        key = email_key(email) if email else f"name:{fold(name)}"
        if key == "name:":
            continue
        person = people.get(key)
        if person is None:
            if len(people) == MAX_PEOPLE:
                raise ReportError(
                    f"The report lists more than {MAX_PEOPLE} people, more than an attendee list holds."
                )
            person = people[key] = _Person(email=email, first_row=number)
        person.first_row = min(person.first_row, number)
        if name and name not in person.names[-1:]:
            person.names.append(name)
        person.host = person.host or host or row.role.casefold() in _HOST_ROLES
        person.unusable_email = person.unusable_email or unusable
        person.total_minutes += row.total_minutes or 0.0
        if row.joined and row.left:
            span = (_utc(row.joined, zone), _utc(row.left, zone))
            (person.waiting if row.in_waiting_room else person.intervals).append(span)
    _join_rows_without_email(people)
    return sorted(people.values(), key=lambda p: p.first_row)


def _join_rows_without_email(people: dict[str, _Person]) -> None:
    if not any(key.startswith("name:") for key in people):
        return
    by_name: dict[str, list[str]] = {}
    for key, person in people.items():
        if person.email:
            for name in person.names:
                by_name.setdefault(fold(name), []).append(key)
    for key in [k for k in people if k.startswith("name:")]:
        owners = set(by_name.get(key.removeprefix("name:"), []))
        if len(owners) == 1:
            guest, owner = people.pop(key), people[owners.pop()]
            owner.intervals += guest.intervals
            owner.waiting += guest.waiting
            owner.total_minutes += guest.total_minutes
            owner.rows_without_email += 1
            owner.first_row = min(owner.first_row, guest.first_row)


def _utc(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A report's wall-clock time read in the session's zone: report times are the session's local time."""
    return moment.replace(tzinfo=zone).astimezone(dt.UTC)


def session_window(session: SessionRecord, report: Report) -> tuple[dt.datetime, dt.datetime] | None:
    """The registered schedule (date, start_time, duration in the session's zone) in UTC; the report's
    meeting start (else its first join) when the session has no start_time."""
    zone = ZoneInfo(session.timezone)
    if session.start_time:
        local = dt.datetime.combine(session.date, dt.time.fromisoformat(session.start_time))
    else:
        joins = [c.joined for c in report.connections if c.joined and not c.in_waiting_room]
        local = report.meeting_start or min(joins, default=None)
        if local is None:
            return None
    start = _utc(local, zone)
    return start, start + dt.timedelta(minutes=session.duration_minutes)


class Judged(msgspec.Struct, kw_only=True):
    """A person judged from the report alone, before the ledger is asked about their name and training."""

    name: str
    email: str
    full: bool
    minutes_present: int
    late: int | None
    early: int | None
    notes: list[str]
    reason: str = ""  # why they cannot be listed (unmatched), "" when they can


def _facilitator_match(name: str, facilitators: Sequence[str]) -> tuple[bool, str]:
    """(the name is a facilitator's, the facilitator it only comes close to, "" if none)."""
    if not name or not facilitators:
        return False, ""
    if name_score(name, facilitators) == EXACT:
        return True, ""
    close = next((f for f in facilitators if name_score(name, [f]) >= CLOSE), "")
    return False, close


def judge_report(
    report: Report, session: SessionRecord, limits: Limits, facilitator_email: str | None = None
) -> list[Judged]:
    """Everyone in the report but the facilitators, judged by the rule of SPEC §6. Pure."""
    window = session_window(session, report)
    owner = email_key(facilitator_email) if facilitator_email else None
    judged = []
    for person in _people(report, ZoneInfo(session.timezone)):
        matches = [_facilitator_match(name, session.facilitators) for name in person.names]
        if any(exact for exact, _ in matches) or (person.email and email_key(person.email) == owner):
            continue
        close = next((near for _, near in matches if near), "")
        judged.append(_judge_person(person, report, session, window, limits, close))
    return judged


def _judge_person(
    person: _Person,
    report: Report,
    session: SessionRecord,
    window: tuple[dt.datetime, dt.datetime] | None,
    limits: Limits,
    close_to_facilitator: str,
) -> Judged:
    notes: list[str] = []
    if report.kind == "zoom_unique_users" or window is None:
        minutes = min(int(person.total_minutes), session.duration_minutes)
        full, late, early = False, None, None
        notes.append(
            f"a Zoom 'unique users' export gives only the total time in the meeting "
            f"({int(person.total_minutes)} min), not when: judge lateness and leaving early yourself, "
            "or upload the participant report without 'Show unique users'"
        )
        summary = f"In the meeting {int(person.total_minutes)} min in all."
    else:
        start, end = window
        judged = judge_participation(person.intervals, start, end, limits)
        full, minutes = judged.full, judged.minutes_present
        late, early = judged.joined_late_minutes, judged.left_early_minutes
        notes += judged.notes
        if not report.gaps_known and judged.minutes_present:
            notes.append("the report gives only first join and last leave: time away in between is not known")
        waited = sum((e - s).total_seconds() for s, e in clip(union(person.waiting), start, end))
        if waited >= 60:
            notes.append(f"waited {int(waited // 60)} min in the waiting room (not counted as present)")
        summary = f"Present {minutes} min" + (
            ", full participation." if full else f": {'; '.join(judged.notes) or 'not in full'}."
        )
    if close_to_facilitator:
        notes.append(f"name close to the facilitator {close_to_facilitator}'s: remove this row if it is them")
    if person.host:
        notes.append("a host of the meeting, not a facilitator of this session")
    if person.rows_without_email:
        notes.append("includes a connection without email under the same name")
    if not person.email:
        reason = (
            f"The report's email {person.unusable_email!r} is not a valid address"
            if person.unusable_email
            else "No email in the report"
        )
        reason += f", so they cannot be listed: add them with their email if you know who this is. {summary}"
    else:
        reason = ""
    return Judged(
        name=person.name[:MAX_NAME].strip(),
        email=person.email,
        full=full,
        minutes_present=minutes,
        late=late,
        early=early,
        notes=notes,
        reason=reason,
    )


def proposal_from(judged: list[Judged], known: dict[str, KnownAttendee]) -> Proposal:
    """The proposal, once the ledger said what it knows of these emails (by email key). Pure."""
    attendees, unmatched = [], []
    for draft in judged:
        if draft.reason:
            unmatched.append(Unmatched(name=draft.name or "(no name)", reason=draft.reason))
            continue
        earlier = known.get(email_key(draft.email))
        notes = list(draft.notes)
        name = draft.name or draft.email
        if earlier is not None:
            if fold(earlier.name) != fold(name):
                notes.append(f"name as an earlier list gave it (the report says {name!r})")
            name = earlier.name
        elif not draft.name:
            notes.append("no name in the report: type it before submitting")
        elif "," in name:
            notes.append(
                "the report writes the name with a comma (surname first?): check it before submitting"
            )
        attendees.append(
            ProposedAttendee(
                name=name,
                email=draft.email,
                core_trained=earlier is not None and earlier.core_trained,
                full_participation=draft.full,
                minutes_present=draft.minutes_present,
                joined_late_minutes=draft.late,
                left_early_minutes=draft.early,
                notes=notes,
            )
        )
    return Proposal(attendees=attendees, unmatched=unmatched)


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_late_minutes=settings.max_late_minutes,
        max_early_minutes=settings.max_early_minutes,
        max_away_minutes=settings.max_away_minutes,
    )


async def propose_list(
    ledger: Ledger, session: SessionRecord, data: bytes, settings: Settings, *, charset: str | None = None
) -> Proposal:
    """The proposed attendee list for `session` from an uploaded export (its bytes as exported).

    Raises ReportError (its message is for the facilitator) when the file is not a report this reads.
    Reads the ledger, stores nothing. Reading and judging run in a worker thread: a 5 MB export takes
    longer than the event loop may be held.
    """
    async with ledger.read() as db:
        facilitator_email = await owner_facilitator_email(db, session.owner_token_id)

    def judge() -> list[Judged]:
        report = read_report(data, session.date, charset)
        return judge_report(report, session, limits_from(settings), facilitator_email)

    judged = await asyncio.to_thread(judge)
    async with ledger.read() as db:
        known = await known_attendees(db, [j.email for j in judged if j.email])
    return proposal_from(judged, known)
