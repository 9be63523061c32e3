"""The proposed attendee list from an attendance report (SPEC §6), for the facilitator to review and PUT.

Used by the API (`POST /api/v1/sessions/{id}/attendance-report`) and the portal alike; nothing is stored.

How a report becomes a list, where SPEC §6 leaves it open:
- A person is an email (the same email in any case is one person); rows without an email are grouped by
  their cleaned name, and joined to the one person with an email and that name when there is exactly one
  (the same person on a phone without signing in).
- Facilitators are left out when their cleaned name, or the name they had before a rename in Zoom's
  "Name (Original Name)" column, is a session facilitator's (case, accents, order and titles aside), and
  with them every row of the same email, and the email staff recorded for the facilitator token that
  registered the session. They are named in `unmatched` ("a facilitator of this session"), after the
  others, so that the facilitator sees nobody vanished. A name only close to a facilitator's ("Jayne
  Doe") stays, with a note: leaving out an attendee by mistake would cost them their certificate.
- `unmatched` holds whoever cannot go on a list: no email in the report, or one that is not a valid
  address. The reason says so, with how long they were there, so the facilitator can add them by hand.
- One email under several names (a rename, or an address several people share) is one person, the last
  name proposed, with a note naming every name. A row whose leave time is missing or before its join
  time is not counted, with a note naming the row.
- The start is the registered one. Without a registered start time it is the report's meeting start;
  without that either, the time by which half of the attendees had joined, counting only connections of
  at least 5 minutes and leaving out facilitators and hosts (who open the meeting early; a 1-minute audio
  test is not arriving). `notes` of the proposal says where the start came from, and warns when the
  report's meeting start is farther from the registered start than the late limit (another meeting's
  report, or a wrong start time). A report in which nobody was there during the session is refused.
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

from service.ledger.attendance import KnownAttendee, known_attendees, owner_facilitator_email
from service.ledger.database import Ledger
from service.ledger.sessions import SessionRecord
from service.reports import Connection, Report, ReportError, cell_text
from service.reports.parse import read_report
from service.rules.attendee_lists import email_key, is_email
from service.rules.names import CLOSE, EXACT, fold, name_score
from service.rules.participation import Interval, Limits, clip, judge_participation, union
from service.rules.wording import day_month_year
from service.settings import Settings

MAX_NAME = 200  # the longest name PUT .../attendees takes
MAX_PEOPLE = 5000  # the longest list it takes
# A connection shorter than this does not show when someone arrived (an audio test, a wrong click).
MAIN_CONNECTION = dt.timedelta(minutes=5)
FACILITATOR = "a facilitator of this session"
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
    """Someone in the report who is not on the proposed list (no usable email, or a facilitator), and why."""

    name: str
    reason: str


class Proposal(msgspec.Struct, kw_only=True):
    attendees: list[ProposedAttendee]
    unmatched: list[Unmatched]
    # About the report as a whole: where the session's start came from when none is registered, a meeting
    # start far from the registered one. Empty when there is nothing to say.
    notes: list[str] = msgspec.field(default_factory=list)


class Proposed(msgspec.Struct, kw_only=True):
    """The proposal, and for the portal which limit each attendee passed by the rule's exact seconds
    (by email key: joined too late, left too early), which whole minutes alone cannot show."""

    proposal: Proposal
    over_limits: dict[str, tuple[bool, bool]]


class _Name(msgspec.Struct, frozen=True):
    shown: str  # without tags, pronouns and the "(Original Name)" part
    original: str  # the "(Original Name)" part under Zoom's "Name (Original Name)" column, else ""
    host: bool  # a host tag was among the tags


def _read_name(raw: str, carries_original: bool) -> _Name:
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
        return _Name(text, "", False)
    text = _GROUP.sub(tag, text)
    original = ""
    if carries_original and (found := _TRAILING_GROUP.search(text)):
        current = text[: found.start()].strip()
        original = " ".join(found[1].split())
        text = current or original
    return _Name(" ".join(text.split()), original, host)


def display_name(raw: str, carries_original: bool) -> tuple[str, bool]:
    """The name a report shows without role tags ("(Host)", "(Co-host)", "(Guest)"), pronoun tags
    ("(she/her)") and, under Zoom's "Name (Original Name)" column, the "(Original)" part; and whether a
    host tag was among them."""
    name = _read_name(raw, carries_original)
    return name.shown, name.host


@dataclass
class _Person:
    email: str
    first_row: int
    names: list[str] = field(default_factory=list)
    originals: list[str] = field(default_factory=list)  # names before a rename: facilitators' too
    intervals: list[Interval] = field(default_factory=list)
    waiting: list[Interval] = field(default_factory=list)
    total_minutes: float = 0.0
    host: bool = False
    rows_without_email: int = 0
    unusable_email: str = ""
    row_notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.names[-1] if self.names else ""

    def first_main_join(self) -> dt.datetime | None:
        """When they arrived: the first connection long enough to be more than a test."""
        return min((s for s, e in self.intervals if e - s >= MAIN_CONNECTION), default=None)


def _row_note(row: Connection, kind: str) -> str:
    """Why a connection is not counted ("" when it is)."""
    if kind == "zoom_unique_users":
        return ""
    if row.joined is None and row.left is None:
        problem = "has no join or leave time"
    elif row.left is None:
        problem = "has no leave time"
    elif row.joined is None:
        problem = "has no join time"
    elif row.left < row.joined:
        problem = f"leaves ({row.left:%H:%M:%S}) before it joins ({row.joined:%H:%M:%S})"
    else:
        return ""
    return f"row {row.line} of the report {problem}, so that connection is not counted"


def _people(report: Report, zone: ZoneInfo) -> list[_Person]:
    """The report's people in order of first appearance, their rows merged."""
    people: dict[str, _Person] = {}
    usable: dict[str, bool] = {}  # a person's rows repeat their address: check it once
    # Rows in time order, so that the name a person had last is the one proposed; people in file order.
    ordered = sorted(
        enumerate(report.connections), key=lambda r: (r[1].joined is None, r[1].joined or dt.datetime.min)
    )
    for number, row in ordered:
        read = _read_name(row.name, report.names_carry_original)
        name = read.shown
        email = cell_text(row.email)
        unusable = ""
        if email and email not in usable:
            usable[email] = is_email(email)
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
        if read.original and read.original not in person.originals:
            person.originals.append(read.original)
        person.host = person.host or read.host or row.role.casefold() in _HOST_ROLES
        person.unusable_email = person.unusable_email or unusable
        person.total_minutes += row.total_minutes or 0.0
        if note := _row_note(row, report.kind):
            person.row_notes.append(note)
        elif row.joined and row.left:
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
            owner.row_notes += guest.row_notes
            owner.originals += [n for n in guest.originals if n not in owner.originals]
            owner.first_row = min(owner.first_row, guest.first_row)


def _utc(moment: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A report's wall-clock time read in the session's zone: report times are the session's local time."""
    return moment.replace(tzinfo=zone).astimezone(dt.UTC)


def _clock(moment: dt.datetime, zone: ZoneInfo) -> str:
    """18:00, or 18:00:12 when the seconds count, in the session's local time."""
    local = moment.astimezone(zone)
    return f"{local:%H:%M}" if local.second == 0 else f"{local:%H:%M:%S}"


def _inferred_start(people: Sequence[_Person]) -> dt.datetime | None:
    """The time by which half of the attendees had arrived (the lower median of their first main joins):
    early birds and a late majority move it less than the earliest or the latest join would."""
    for group in ([p for p in people if not p.host], list(people)):
        arrivals = sorted(t for p in group if (t := p.first_main_join()) is not None)
        if arrivals:
            return arrivals[(len(arrivals) + 1) // 2 - 1]
    return min((s for p in people for s, _ in p.intervals), default=None)


def _start(
    session: SessionRecord, report: Report, attendees: Sequence[_Person], zone: ZoneInfo
) -> tuple[dt.datetime | None, str]:
    """The session's start in UTC, and a note saying where it came from when it was not registered."""
    if session.start_time:
        local = dt.datetime.combine(session.date, dt.time.fromisoformat(session.start_time))
        return _utc(local, zone), ""
    if report.meeting_start is not None:
        start = _utc(report.meeting_start, zone)
        return start, (
            f"The session has no registered start time: the report's meeting start, {_clock(start, zone)}, "
            "is taken as its start. Register the start time to judge lateness from the schedule."
        )
    start = _inferred_start(attendees)
    if start is None:
        return None, ""
    return start, (
        f"The session has no registered start time and the report gives no meeting start: the start is "
        f"taken as {_clock(start, zone)} ({session.timezone}), the time by which half of the attendees had "
        f"joined (leaving out facilitators, hosts and connections shorter than "
        f"{int(MAIN_CONNECTION.total_seconds() // 60)} minutes). Check lateness yourself, or register the "
        "session's start time and upload the report again."
    )


def _meeting_start_note(
    session: SessionRecord, report: Report, start: dt.datetime, limits: Limits, zone: ZoneInfo
) -> str:
    """A warning when the report's meeting started farther from the registered start than the late limit."""
    if not session.start_time or report.meeting_start is None:
        return ""
    meeting = _utc(report.meeting_start, zone)
    apart = (meeting - start).total_seconds()
    if abs(apart) <= limits.max_late_minutes * 60:
        return ""
    minutes = int(abs(apart) // 60)
    when = f"{_clock(meeting, zone)} on {day_month_year(meeting.astimezone(zone).date())}"
    return (
        f"The report's meeting started at {when}, {minutes} min {'after' if apart > 0 else 'before'} the "
        f"session's registered start ({session.start_time}): check that this is the session's report and "
        "that its start time is right. Lateness is judged from the registered start."
    )


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
    too_late: bool = False  # the limits passed, by the exact seconds
    too_early: bool = False


class Judgement(msgspec.Struct, kw_only=True):
    """Everyone in the report judged, and what is to be said about the report as a whole."""

    people: list[Judged]
    notes: list[str]


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
) -> Judgement:
    """Everyone in the report judged by the rule of SPEC §6; the facilitators named as such. Pure.

    ReportError when nobody in the report was there during the session (another meeting's report)."""
    zone = ZoneInfo(session.timezone)
    owner = email_key(facilitator_email) if facilitator_email else None
    attendees: list[tuple[_Person, str]] = []
    facilitators: list[_Person] = []
    everyone = _people(report, zone)
    for person in everyone:
        matches = [_facilitator_match(name, session.facilitators) for name in person.names]
        by_original = [_facilitator_match(name, session.facilitators)[0] for name in person.originals]
        if (
            any(exact for exact, _ in matches)
            or any(by_original)
            or (person.email and email_key(person.email) == owner)
        ):
            facilitators.append(person)
            continue
        attendees.append((person, next((near for _, near in matches if near), "")))

    notes: list[str] = []
    window = None
    if report.kind != "zoom_unique_users":
        start, start_note = _start(session, report, [p for p, _ in attendees], zone)
        if start is None or not any(p.intervals for p in everyone):
            raise ReportError(
                "No row of the report has a join time and a later leave time, so nobody's participation "
                "can be judged: export the participant report again."
            )
        window = (start, start + dt.timedelta(minutes=session.duration_minutes))
        _refuse_another_meeting(everyone, window, session, zone)
        notes += [n for n in (start_note, _meeting_start_note(session, report, start, limits, zone)) if n]
    judged = [_judge_person(p, report, session, window, limits, close) for p, close in attendees]
    judged += [
        Judged(
            name=(p.name or p.email)[:MAX_NAME].strip(),
            email=p.email,
            full=False,
            minutes_present=0,
            late=None,
            early=None,
            notes=[],
            reason=FACILITATOR,
        )
        for p in facilitators
    ]
    return Judgement(people=judged, notes=notes)


def _refuse_another_meeting(
    people: Sequence[_Person], window: Interval, session: SessionRecord, zone: ZoneInfo
) -> None:
    """Nobody, facilitators included, in the meeting during the session: the report is another meeting's
    (or the session's time is wrong), and a list of absentees would only mislead."""
    if any(clip(union(p.intervals), *window) for p in people):
        return
    start, end = window
    raise ReportError(
        f"Nobody in this report was in the meeting during the session ({_clock(start, zone)} to "
        f"{_clock(end, zone)}, {day_month_year(start.astimezone(zone).date())}, {session.timezone}): it "
        "looks like another meeting's report, or the session's date, start time or time zone is wrong."
    )


def _judge_person(
    person: _Person,
    report: Report,
    session: SessionRecord,
    window: tuple[dt.datetime, dt.datetime] | None,
    limits: Limits,
    close_to_facilitator: str,
) -> Judged:
    notes: list[str] = []
    too_late = too_early = False
    if window is None:
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
        too_late, too_early = judged.joined_too_late, judged.left_too_early
        notes += judged.notes
        if not report.gaps_known and judged.minutes_present:
            notes.append("the report gives only first join and last leave: time away in between is not known")
        waited = sum((e - s).total_seconds() for s, e in clip(union(person.waiting), start, end))
        if waited >= 60:
            notes.append(f"waited {int(waited // 60)} min in the waiting room (not counted as present)")
        summary = f"Present {minutes} min" + (
            ", full participation." if full else f": {'; '.join(judged.notes) or 'not in full'}."
        )
    notes += person.row_notes
    distinct: dict[str, str] = {}
    for each in person.names:
        distinct.setdefault(fold(each), each)
    if person.email and len(distinct) > 1:
        notes.append(
            f"this email appears under {len(distinct)} names ({', '.join(distinct.values())}): check that it is one "
            "person's (each attendee needs their own email); the last name is proposed"
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
        if person.row_notes:
            reason += f" ({'; '.join(person.row_notes)}.)"
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
        too_late=too_late,
        too_early=too_early,
    )


def proposal_from(judgement: Judgement, known: dict[str, KnownAttendee]) -> Proposal:
    """The proposal, once the ledger said what it knows of these emails (by email key). Pure."""
    attendees, unmatched, facilitators = [], [], []
    for draft in judgement.people:
        if draft.reason == FACILITATOR:
            facilitators.append(Unmatched(name=draft.name or "(no name)", reason=draft.reason))
            continue
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
    return Proposal(attendees=attendees, unmatched=unmatched + facilitators, notes=list(judgement.notes))


def over_limits(judgement: Judgement) -> dict[str, tuple[bool, bool]]:
    """By email key, whether each listed person joined too late and left too early (exact seconds)."""
    return {
        email_key(j.email): (j.too_late, j.too_early) for j in judgement.people if j.email and not j.reason
    }


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_late_minutes=settings.max_late_minutes,
        max_early_minutes=settings.max_early_minutes,
        max_away_minutes=settings.max_away_minutes,
    )


async def propose_list(
    ledger: Ledger, session: SessionRecord, data: bytes, settings: Settings, *, charset: str | None = None
) -> Proposed:
    """The proposed attendee list for `session` from an uploaded export (its bytes as exported).

    Raises ReportError (its message is for the facilitator) when the file is not a report this reads, or
    not this session's. Reads the ledger, stores nothing. Reading and judging run in a worker thread: a
    5 MB export takes longer than the event loop may be held.
    """
    async with ledger.read() as db:
        facilitator_email = await owner_facilitator_email(db, session.owner_token_id)

    def judge() -> Judgement:
        report = read_report(data, session.date, charset)
        return judge_report(report, session, limits_from(settings), facilitator_email)

    judgement = await asyncio.to_thread(judge)
    async with ledger.read() as db:
        known = await known_attendees(db, [j.email for j in judgement.people if j.email and not j.reason])
    return Proposed(proposal=proposal_from(judgement, known), over_limits=over_limits(judgement))
