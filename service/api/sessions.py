"""Sessions and their attendee lists (SPEC §3).

The handlers decode and answer; the steps themselves (the rules beyond a body's shape, who may see a
session, storing, the desk's re-decisions) are service.lists, which the portal takes too. Its refusals
become problem details here: `problem_for`.
"""

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED
from msgspec import Meta

from service import lists
from service.api.auth import Principal, requires
from service.api.documentation import API_OPERATION
from service.api.fields import TEXT_ITEMS_SCHEMA, Date, Email, LocalTime, Text
from service.api.problems import Problem, field_error, problem_responses, require_json_body
from service.ledger.sessions import ListRow, SessionRecord, list_version, sessions_on
from service.lists import (
    DEFAULT_TITLE,
    DuplicateEmails,
    FieldRefused,
    LevelNotGranted,
    ListsError,
    SessionDraft,
    SessionNotFound,
)

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


def problem_for(refused: ListsError) -> Problem:
    """A refusal of service.lists as problem details: 404, 403 for a level, 422 naming the field or rows."""
    if isinstance(refused, SessionNotFound):
        return Problem(404, str(refused))
    if isinstance(refused, LevelNotGranted):
        return Problem(403, str(refused))
    if isinstance(refused, FieldRefused):
        return field_error(refused.field, refused.message)
    if isinstance(refused, DuplicateEmails):
        errors = [
            {
                "field": f"attendees[{row}].email",
                "row": row + 1,
                "message": f"the same email as row {earlier + 1}; each attendee appears once",
            }
            for row, earlier in refused.pairs
        ]
        return Problem(422, str(refused), errors=errors)
    return Problem(422, str(refused))


async def load_session(request: Request[Principal, Any, Any], session_id: str) -> SessionRecord:
    """The session if this caller may see it (service.lists.load_session), else a 404."""
    try:
        return await lists.load_session(request.app.state.ledger, request.user, session_id)
    except ListsError as refused:
        raise problem_for(refused) from None


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
    state = request.app.state
    draft = msgspec.convert(data, SessionDraft, from_attributes=True)
    try:
        record = await lists.register_session(state.ledger, state.desk, state.settings, request.user, draft)
    except ListsError as refused:
        raise problem_for(refused) from None
    return session_out(record)


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
    record = await load_session(request, session_id)
    drafts = [msgspec.convert(a, ListRow, from_attributes=True) for a in data.attendees]
    state = request.app.state
    try:
        stored = await lists.submit_attendees(state.ledger, state.desk, request.user, record, drafts)
    except ListsError as refused:
        raise problem_for(refused) from None
    return AttendeeListOut(version=stored.version, attendees=stored.attendees, eligible=stored.eligible)


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
