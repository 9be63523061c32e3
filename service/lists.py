"""Registering sessions and submitting attendee lists: the steps the API and the portal both take.

Outside the HTTP layer. Each step takes plain arguments (the ledger, the desk, the settings, the caller and
data whose shape the caller's boundary already checked: the API's and the portal's forms decode into the
same structs) and keeps the rules beyond that shape: the levels a token may register, the dates and time
zones a session may have, who may see a session (a facilitator only the sessions their token created),
one row per email in a list. It stores, then lets the desk decide waiting requests again. What it refuses
is a domain error, `ListsError`: the API answers it as problem details, the portal as an error beside the
form's field.
"""

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

import msgspec

from service.desk import CertificateDesk
from service.ledger.database import Ledger
from service.ledger.sessions import (
    ListRow,
    NewSession,
    SessionRecord,
    create_session,
    get_session,
    submit_list,
)
from service.rules.attendee_lists import duplicate_email_rows
from service.rules.wording import clean_text
from service.settings import Settings, is_iana_zone

DEFAULT_TITLE = "IPS Co-reflection"
# Session and request dates stay well inside what date arithmetic can reach: the desk looks a day either
# side of a date, and 0001-01-01 or 9999-12-31 would overflow (a 500, after the session was stored).
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


def date_out_of_range(date: dt.date) -> str | None:
    """Why a session or request date is refused, or None when it is in range."""
    if EARLIEST_DATE <= date <= LATEST_DATE:
        return None
    return f"must be a date from {EARLIEST_DATE} to {LATEST_DATE}"


class Caller(Protocol):
    """Who asks (service.api.auth.Principal): their role, token, granted levels and name in events."""

    @property
    def role(self) -> str: ...
    @property
    def token_id(self) -> int | None: ...
    @property
    def levels(self) -> tuple[str, ...]: ...
    @property
    def actor(self) -> str: ...


class ListsError(Exception):
    """A step refused; the message is a sentence for the person who asked."""


class SessionNotFound(ListsError):
    """No such session, or one this caller may not see (the same answer: another's session is not told)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"There is no session {session_id!r} that this token can see.")
        self.session_id = session_id


class LevelNotGranted(ListsError):
    """The caller's token may not register sessions of this level (staff grant levels)."""

    def __init__(self, level: str, granted: tuple[str, ...]) -> None:
        super().__init__(
            f"This token may not register {level}-level sessions; staff grant the levels a facilitator "
            f"may register (this one: {', '.join(granted) or 'none'})."
        )
        self.level = level
        self.granted = granted


class FieldRefused(ListsError):
    """One field breaks a rule its type cannot say (a date out of range, an unknown time zone)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class DuplicateEmails(ListsError):
    """The same email on more than one row of a list: (row, earlier row) pairs, 0-based."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        super().__init__(
            "; ".join(
                f"row {row + 1}: the same email as row {earlier + 1}; each attendee appears once"
                for row, earlier in pairs
            )
        )
        self.pairs = pairs


class SessionDraft(msgspec.Struct, frozen=True, kw_only=True):
    """A session to register, its fields already of the right shape (SessionIn of the API)."""

    date: dt.date
    duration_minutes: int
    facilitators: Sequence[str]
    level: str
    start_time: str | None = None
    timezone: str | None = None
    organization: str | None = None
    title: str = DEFAULT_TITLE
    delivery: str = "online"


class Submitted(msgspec.Struct, frozen=True, kw_only=True):
    version: int
    attendees: int
    eligible: int


async def load_session(ledger: Ledger, caller: Caller, session_id: str) -> SessionRecord:
    """The session if this caller may see it: a facilitator sees only the sessions their token created."""
    record = ledger.look(lambda db: get_session(db, session_id))
    if record is None or (caller.role == "facilitator" and record.owner_token_id != caller.token_id):
        raise SessionNotFound(session_id)
    return record


async def register_session(
    ledger: Ledger, desk: CertificateDesk, settings: Settings, caller: Caller, data: SessionDraft
) -> SessionRecord:
    """Store a new session owned by the caller's token, then decide again the requests that may mean it."""
    if data.level not in caller.levels:
        raise LevelNotGranted(data.level, caller.levels)
    if refused := date_out_of_range(data.date):
        raise FieldRefused("date", refused)
    timezone = data.timezone if data.timezone is not None else settings.timezone
    if not is_iana_zone(timezone):
        raise FieldRefused("timezone", f"{timezone!r} is not an IANA time zone such as America/New_York")
    new = NewSession(
        date=data.date,
        start_time=data.start_time,
        timezone=timezone,
        duration_minutes=data.duration_minutes,
        facilitators=tuple(clean_text(name) for name in data.facilitators),
        level=data.level,
        organization=clean_text(data.organization) if data.organization else None,
        title=clean_text(data.title),
        delivery=data.delivery,
    )
    async with ledger.write(caller.actor) as tx:
        record = await create_session(tx, new, caller.token_id)
    await desk.session_registered(record.date, caller.actor)
    return record


async def submit_attendees(
    ledger: Ledger,
    desk: CertificateDesk,
    caller: Caller,
    record: SessionRecord,
    attendees: Sequence[ListRow],
) -> Submitted:
    """A new list version of a session the caller may see (load_session), then the desk's re-decisions.
    `attendees` are rows as submitted, their fields of the right shape; stored with their text cleaned.
    The same email twice is DuplicateEmails, naming each row."""
    if duplicates := duplicate_email_rows([a.email for a in attendees]):
        raise DuplicateEmails(duplicates)
    rows = [
        msgspec.structs.replace(
            a,
            name=clean_text(a.name),
            email=clean_text(a.email),
            pronouns=a.pronouns.strip() or None if a.pronouns else None,
        )
        for a in attendees
    ]
    async with ledger.write(caller.actor) as tx:
        version = await submit_list(tx, record.id, rows)
    await desk.list_submitted(record.id, version, record.date, caller.actor)
    return Submitted(
        version=version,
        attendees=len(rows),
        eligible=sum(r.core_trained and r.full_participation for r in rows),
    )
