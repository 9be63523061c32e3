"""Sessions and their attendee lists (SPEC §3)."""

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta

from service.api.auth import Principal, requires
from service.api.documentation import API_OPERATION
from service.api.fields import TEXT_ITEMS_SCHEMA, Date, Email, LocalTime, Text, date_out_of_range
from service.api.problems import Problem, field_error, problem_responses, require_json_body
from service.ledger.sessions import (
    ListRow,
    NewSession,
    SessionRecord,
    create_session,
    get_session,
    list_version,
    sessions_on,
    submit_list,
)
from service.rules.attendee_lists import duplicate_email_rows
from service.rules.wording import clean_text
from service.settings import is_iana_zone

DEFAULT_TITLE = "IPS Co-reflection"
TAGS = ["sessions"]
# Beyond SQLite's integers a version number made the query itself fail (a 500); no list gets near it.
MAX_VERSION = 2**31 - 1
NO_SESSION = "No session with that id that this token can see (a facilitator sees only their own)."


class SessionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    date: Date
    duration_minutes: Annotated[int, Meta(ge=30, le=240)]
    facilitators: Annotated[
        list[Text], Meta(min_length=1, max_length=20, extra_json_schema=TEXT_ITEMS_SCHEMA)
    ]
    level: Literal["central", "hub"]
    start_time: LocalTime | None = None
    timezone: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    organization: Text | None = None
    title: Text = DEFAULT_TITLE
    delivery: Literal["online", "in_person"] = "online"


class SessionOut(msgspec.Struct, kw_only=True):
    id: str
    date: dt.date
    start_time: str | None
    timezone: str
    duration_minutes: int
    facilitators: list[str]
    level: str
    organization: str | None
    title: str
    delivery: str
    created_at: str
    list_version: int | None


class SessionsOut(msgspec.Struct):
    sessions: list[SessionOut]


class AttendeeIn(msgspec.Struct, kw_only=True):
    """One row of a list. Other keys (an attendance report's minutes and notes) are ignored."""

    name: Text
    email: Email
    core_trained: bool
    full_participation: bool
    pronouns: Annotated[str, Meta(max_length=60)] | None = None


class AttendeeListIn(msgspec.Struct, kw_only=True):
    attendees: Annotated[list[AttendeeIn], Meta(max_length=5000)]


class AttendeeListOut(msgspec.Struct, kw_only=True):
    version: int
    attendees: int
    eligible: int


class AttendeeOut(msgspec.Struct, kw_only=True):
    name: str
    email: str
    core_trained: bool
    full_participation: bool
    pronouns: str | None


class ListVersionOut(msgspec.Struct, kw_only=True):
    session_id: str
    version: int
    submitted_at: str
    attendees: list[AttendeeOut]


def session_out(record: SessionRecord) -> SessionOut:
    return SessionOut(
        id=record.id,
        date=record.date,
        start_time=record.start_time,
        timezone=record.timezone,
        duration_minutes=record.duration_minutes,
        facilitators=list(record.facilitators),
        level=record.level,
        organization=record.organization,
        title=record.title,
        delivery=record.delivery,
        created_at=record.created_at,
        list_version=record.list_version,
    )


async def load_session(request: Request[Principal, Any, Any], session_id: str) -> SessionRecord:
    """The session if this caller may see it: a facilitator sees only the sessions their token created."""
    async with request.app.state.ledger.read() as db:
        record = await get_session(db, session_id)
    caller: Principal = request.user
    if record is None or (caller.role == "facilitator" and record.owner_token_id != caller.token_id):
        raise Problem(404, f"There is no session {session_id!r} that this token can see.")
    return record


@post(
    "/sessions",
    status_code=HTTP_201_CREATED,
    guards=[requires("admin", "facilitator")],
    before_request=require_json_body,
    summary="Register a session",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 413, 415, 422, 503),
)
async def create(request: Request[Principal, Any, Any], data: JSONBody[SessionIn]) -> SessionOut:
    """Admin, or a facilitator for the levels staff granted their token (`central` only when granted).
    The answer echoes the session with its `id`."""
    return session_out(await register_session(request, data))


async def register_session(request: Request[Principal, Any, Any], data: SessionIn) -> SessionRecord:
    """The rules beyond the body's shape, the write and the desk's re-decision, shared with the portal:
    a Problem names what is wrong (403 for a level the token lacks, 422 naming the field)."""
    caller: Principal = request.user
    if data.level not in caller.levels:
        raise Problem(
            403,
            f"This token may not register {data.level}-level sessions; staff grant the levels "
            f"a facilitator may register (this one: {', '.join(caller.levels) or 'none'}).",
        )
    if refused := date_out_of_range(data.date):
        raise field_error("date", refused)
    settings = request.app.state.settings
    timezone = data.timezone if data.timezone is not None else settings.timezone
    if not is_iana_zone(timezone):
        raise field_error("timezone", f"{timezone!r} is not an IANA time zone such as America/New_York")
    facilitators = tuple(clean_text(name) for name in data.facilitators)
    new = NewSession(
        date=data.date,
        start_time=data.start_time,
        timezone=timezone,
        duration_minutes=data.duration_minutes,
        facilitators=facilitators,
        level=data.level,
        organization=clean_text(data.organization) if data.organization else None,
        title=clean_text(data.title),
        delivery=data.delivery,
    )
    async with request.app.state.ledger.write(caller.actor) as tx:
        record = await create_session(tx, new, caller.token_id)
    await request.app.state.desk.session_registered(record.date, caller.actor)
    return record


@get(
    "/sessions",
    guards=[requires("admin", "facilitator", "intake")],
    summary="List sessions",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 422),
)
async def list_sessions(
    request: Request[Principal, Any, Any],
    date: Annotated[
        dt.date | None, QueryParameter(description="Only sessions on this date, YYYY-MM-DD.")
    ] = None,
) -> SessionsOut:
    """Sessions on `?date=YYYY-MM-DD` (or all): admin and intake see every session, a facilitator their own."""
    caller: Principal = request.user
    async with request.app.state.ledger.read() as db:
        records = await sessions_on(db, date, caller.token_id, only_owner=caller.role == "facilitator")
    return SessionsOut(sessions=[session_out(r) for r in records])


@get(
    "/sessions/{session_id:str}",
    guards=[requires("admin", "facilitator", "intake")],
    summary="Show a session",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 404, not_found=NO_SESSION),
)
async def show(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> SessionOut:
    """The session with its latest attendee-list version (`list_version`, null before the first list)."""
    return session_out(await load_session(request, session_id))


@put(
    "/sessions/{session_id:str}/attendees",
    guards=[requires("admin", "facilitator")],
    before_request=require_json_body,
    summary="Submit the attendee list",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503, not_found=NO_SESSION),
)
async def submit_attendees(
    request: Request[Principal, Any, Any],
    session_id: FromPath[str],
    data: JSONBody[AttendeeListIn],
) -> AttendeeListOut:
    """Replaces the session's list with a new version (every version is kept). A malformed email, a
    missing flag or the same email twice is a 422 naming the row."""
    return await store_list(request, await load_session(request, session_id), data)


async def store_list(
    request: Request[Principal, Any, Any], record: SessionRecord, data: AttendeeListIn
) -> AttendeeListOut:
    """A new list version of a session the caller may see, then the desk's re-decisions; shared with the
    portal. The same email twice is a Problem (422) naming each row."""
    duplicates = duplicate_email_rows([a.email for a in data.attendees])
    if duplicates:
        errors = [
            {
                "field": f"attendees[{row}].email",
                "row": row + 1,
                "message": f"the same email as row {earlier + 1}; each attendee appears once",
            }
            for row, earlier in duplicates
        ]
        detail = "; ".join(f"row {e['row']}: {e['message']}" for e in errors)
        raise Problem(422, detail, errors=errors)
    rows = [
        ListRow(
            name=clean_text(a.name),
            email=clean_text(a.email),
            core_trained=a.core_trained,
            full_participation=a.full_participation,
            pronouns=a.pronouns.strip() or None if a.pronouns else None,
        )
        for a in data.attendees
    ]
    caller: Principal = request.user
    async with request.app.state.ledger.write(caller.actor) as tx:
        version = await submit_list(tx, record.id, rows)
    await request.app.state.desk.list_submitted(record.id, version, record.date, caller.actor)
    return AttendeeListOut(
        version=version,
        attendees=len(rows),
        eligible=sum(r.core_trained and r.full_participation for r in rows),
    )


@get(
    "/sessions/{session_id:str}/attendees",
    guards=[requires("admin", "facilitator")],
    summary="Show an attendee list version",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(
        400, 401, 403, 404, 422, not_found="No such session for this token, or no such list version."
    ),
)
async def show_attendees(
    request: Request[Principal, Any, Any],
    session_id: FromPath[str],
    version: Annotated[
        Annotated[int, Meta(ge=1, le=MAX_VERSION)] | None,
        QueryParameter(
            ge=1, le=MAX_VERSION, description="An earlier list version (1, 2, …); the latest when left out."
        ),
    ] = None,
) -> ListVersionOut:
    """The latest list version, or an earlier one with ?version=N."""
    record = await load_session(request, session_id)
    async with request.app.state.ledger.read() as db:
        wanted = version if version is not None else record.list_version
        found = await list_version(db, record.id, wanted) if wanted is not None else None
    if found is None:
        raise Problem(404, f"Session {session_id!r} has no attendee list version {wanted or 1}.")
    return ListVersionOut(
        session_id=found.session_id,
        version=found.version,
        submitted_at=found.submitted_at,
        attendees=[AttendeeOut(**msgspec.structs.asdict(r)) for r in found.rows],
    )


routes = [create, list_sessions, show, submit_attendees, show_attendees]
