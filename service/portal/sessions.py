"""A facilitator's pages: their sessions, registering one, and a session's attendee list from an upload
or a typed list through the review table to a submitted version, with each attendee's certificate status.

Staff (admin) use the same pages for any session. Handlers parse the form and take the steps the JSON
API takes, from service.lists: `register_session` and `submit_attendees` (with the desk's re-decisions),
`load_session` (a facilitator sees only their own sessions; another's is the 404 page); their refusals
become errors beside the form's fields. The ledger's queries fill the pages.
"""

import functools
import zoneinfo
from typing import Any

import msgspec
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath

from service import lists
from service.api.auth import Principal
from service.api.problems import Problem
from service.ledger.attendance import known_attendees
from service.ledger.certificates import certificates_for
from service.ledger.exports import list_versions_of, sessions_newest_first
from service.ledger.requests import requests_for_session
from service.ledger.sessions import ListRow, SessionRecord, list_version
from service.lists import DuplicateEmails, FieldRefused, LevelNotGranted, SessionDraft
from service.portal.forms import SESSION_MESSAGES, session_in, text
from service.portal.pages import page, see_other, signed_in, submitted_by
from service.portal.review import (
    MORE_ROWS,
    Review,
    ReviewRow,
    place_errors,
    review_from_form,
    review_from_proposal,
    review_from_typed,
    review_from_version,
    submission,
)
from service.portal.session_filters import read_filters
from service.portal.statuses import attendee_statuses, reason_words, requests_off_list
from service.portal.typed_list import read_typed_list
from service.reports import EXPECTED, MAX_REPORT_BYTES, WHERE_TO_DOWNLOAD, ReportError
from service.reports.proposal import propose_list
from service.rules.attendee_lists import email_key

# The form's multipart wrapping around a 5 MB export; the file itself is held to MAX_REPORT_BYTES.
_MULTIPART_ALLOWANCE = 64 * 1024

LEVEL_LABELS = {"central": "IPS Central", "hub": "Hub / local"}
_ZONE_AREAS = (
    "Africa",
    "America",
    "Antarctica",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)


@functools.cache
def time_zones() -> list[str]:
    """The zones people pick from (the legacy aliases such as US/Eastern are left out of the suggestions)."""
    return sorted(z for z in zoneinfo.available_timezones() if z.split("/", 1)[0] in _ZONE_AREAS)


@get("/sessions", guards=[signed_in], name="portal:sessions")
async def sessions(request: Request[Principal, Any, Any]) -> Response[Any]:
    """Newest first; filtered by date range and organization (staff see every session)."""
    caller: Principal = request.user
    filters = read_filters(request.query_params)
    async with request.app.state.ledger.read() as db:
        found = await sessions_newest_first(
            db,
            owner_token_id=caller.token_id,
            only_owner=caller.role == "facilitator",
            first=filters.first,
            last=filters.last,
            organization=filters.organization,
        )
    return page(
        request,
        "sessions.html",
        status_code=400 if filters.errors else 200,
        sessions=found,
        filters=filters,
        level_labels=LEVEL_LABELS,
    )


def _session_form(
    request: Request[Principal, Any, Any], values: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response[Any]:
    caller: Principal = request.user
    return page(
        request,
        "session_new.html",
        status_code=status,
        values=values,
        errors=errors,
        levels=[(level, LEVEL_LABELS[level]) for level in caller.levels],
        zones=time_zones(),
    )


@get("/sessions/new", guards=[signed_in], name="portal:session-new")
async def new_session_form(request: Request[Principal, Any, Any]) -> Response[Any]:
    caller: Principal = request.user
    values = {
        "timezone": request.app.state.settings.timezone,
        "duration_minutes": "90",
        "delivery": "online",
        "title": "IPS Co-reflection",
        "facilitators": caller.name if caller.role == "facilitator" else "",
        "level": caller.levels[0] if len(caller.levels) == 1 else "",
    }
    return _session_form(request, values, {})


@post("/sessions", guards=[signed_in], name="portal:session-create")
async def create_session(request: Request[Principal, Any, Any]) -> Response[Any]:
    form = await request.form()
    fields = ("date", "start_time", "timezone", "duration_minutes", "facilitators", "level", "title")
    values = {name: text(form, name) for name in (*fields, "delivery", "organization")}
    data, errors = session_in(form, request.app.state.settings.timezone)
    if errors or data is None:
        return _session_form(request, values, errors, status=422)
    state = request.app.state
    draft = msgspec.convert(data, SessionDraft, from_attributes=True)
    try:
        record = await lists.register_session(state.ledger, state.desk, state.settings, request.user, draft)
    except LevelNotGranted as refused:
        label = LEVEL_LABELS.get(refused.level, refused.level)
        errors["level"] = f"Your token may not register {label}-level sessions; staff grant that."
        return _session_form(request, values, errors, status=422)
    except FieldRefused as refused:
        # What the rules check beyond the form's shape (a date out of range, an unknown time zone).
        errors[refused.field] = SESSION_MESSAGES.get(refused.field, refused.message)
        return _session_form(request, values, errors, status=422)
    return see_other(f"/portal/sessions/{record.id}", registered=1)


async def _load(request: Request[Principal, Any, Any], session_id: str) -> SessionRecord:
    """The session if this caller may see it; SessionNotFound otherwise (the 404 page)."""
    return await lists.load_session(request.app.state.ledger, request.user, session_id)


async def _session_page(
    request: Request[Principal, Any, Any],
    record: SessionRecord,
    *,
    version: int | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    typed: str = "",
    report_details: str = "",
) -> Response[Any]:
    shown_version = version if version is not None else record.list_version
    async with request.app.state.ledger.read() as db:
        versions = await list_versions_of(db, record.id)
        shown = await list_version(db, record.id, shown_version) if shown_version else None
        certificates = await certificates_for(db, session_id=record.id)
        requests = await requests_for_session(db, record.id)
    if version is not None and shown is None:
        raise Problem(404, f"Session {record.id!r} has no list version {version}.")
    rows = shown.rows if shown else ()
    submitted = request.query_params.get("submitted")
    return page(
        request,
        "session.html",
        status_code=status,
        session=record,
        level_labels=LEVEL_LABELS,
        versions=versions,
        shown=shown,
        statuses=attendee_statuses(rows, certificates, requests),
        off_list=requests_off_list(rows, requests),
        reason_words=reason_words,
        email_key=email_key,
        registered=request.query_params.get("registered") == "1",
        submitted=next((v for v in versions if str(v.version) == submitted), None),
        errors=errors or {},
        typed=typed,
        report_details=report_details,
        where_to_download=WHERE_TO_DOWNLOAD,
        submitted_by=submitted_by,
    )


@get("/sessions/{session_id:str}", guards=[signed_in], name="portal:session")
async def session_page(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    record = await _load(request, session_id)
    raw = request.query_params.get("version")
    version = None
    if raw is not None:
        if not raw.isdigit() or len(raw) > 9:
            raise Problem(404, "No such list version.")
        version = int(raw)
    return await _session_page(request, record, version=version)


def _review_page(
    request: Request[Principal, Any, Any], record: SessionRecord, review: Review, status: int = 200
) -> Response[Any]:
    return page(
        request,
        "review.html",
        status_code=status,
        session=record,
        review=review,
        next_version=(record.list_version or 0) + 1,
        limits=request.app.state.settings,
        has_errors=bool(review.problems) or any(row.errors for row in review.rows),
    )


@post(
    "/sessions/{session_id:str}/report",
    guards=[signed_in],
    name="portal:upload-report",
    request_max_body_size=MAX_REPORT_BYTES + _MULTIPART_ALLOWANCE,
)
async def upload_report(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    """Read a Zoom or Teams export into the review table; nothing is stored. The same 5 MB as the API."""
    record = await _load(request, session_id)
    upload = (await request.form()).get("report")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    if not data:
        error = "Choose the attendance report file your meeting tool exported (a .csv file)."
        return await _session_page(request, record, status=422, errors={"report": error})
    if len(data) > MAX_REPORT_BYTES:
        error = (
            f"The file is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB; an attendance report is far "
            "smaller. Check that it is the export itself."
        )
        return await _session_page(request, record, status=413, errors={"report": error})
    try:
        proposed = await propose_list(request.app.state.ledger, record, data, request.app.state.settings)
    except ReportError as unread:
        return await _session_page(
            request,
            record,
            status=422,
            errors={"report": unread.plain},
            report_details=EXPECTED if unread.expected else "",
        )
    review = review_from_proposal(proposed)
    return _review_page(request, record, review.with_blank_rows())


@post("/sessions/{session_id:str}/typed", guards=[signed_in], name="portal:typed-list")
async def typed_list(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    """Read a typed or pasted list into the review table; nothing is stored."""
    record = await _load(request, session_id)
    form = await request.form()
    typed = form.get("typed")
    typed = typed if isinstance(typed, str) else ""
    entries, problems = read_typed_list(typed)
    if not problems and not entries:
        problems = ["Type or paste at least one attendee: one per line, “Name, email”."]
    if problems:
        return await _session_page(
            request, record, status=422, errors={"typed": " ".join(problems)}, typed=typed
        )
    async with request.app.state.ledger.read() as db:
        known = await known_attendees(db, [e.email for e in entries])
    review = review_from_typed(
        entries,
        core_trained={key for key, person in known.items() if person.core_trained},
        all_core=form.get("all_core_trained") is not None,
        all_full=form.get("all_full_participation") is not None,
    )
    return _review_page(request, record, review.with_blank_rows())


@get("/sessions/{session_id:str}/review", guards=[signed_in], name="portal:review-latest")
async def review_latest(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    """The latest version in the review table, to correct it into a new version."""
    record = await _load(request, session_id)
    if record.list_version is None:
        return see_other(f"/portal/sessions/{record.id}")
    async with request.app.state.ledger.read() as db:
        latest = await list_version(db, record.id, record.list_version)
    assert latest is not None
    return _review_page(request, record, review_from_version(latest.rows, latest.version).with_blank_rows())


@post("/sessions/{session_id:str}/attendees", guards=[signed_in], name="portal:submit-list")
async def submit_list(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Response[Any]:
    """The reviewed table becomes the session's next list version, as PUT .../attendees does."""
    record = await _load(request, session_id)
    form = await request.form()
    review = review_from_form(form)
    if form.get("action") == "more_rows":
        review.rows += [ReviewRow() for _ in range(MORE_ROWS)]
        return _review_page(request, record, review)
    submitted = submission(review)
    if submitted is None:
        return _review_page(request, record, review.with_blank_rows(0), status=422)
    if not submitted.body.attendees:
        review.problems.append("The list is empty: keep at least one attendee, or go back to the session.")
        return _review_page(request, record, review.with_blank_rows(), status=422)
    drafts = [msgspec.convert(a, ListRow, from_attributes=True) for a in submitted.body.attendees]
    state = request.app.state
    try:
        stored = await lists.submit_attendees(state.ledger, state.desk, request.user, record, drafts)
    except DuplicateEmails as refused:
        place_errors(review, submitted, refused.pairs)
        return _review_page(request, record, review, status=422)
    return see_other(f"/portal/sessions/{record.id}", submitted=stored.version)


routes = [
    sessions,
    new_session_form,
    create_session,
    session_page,
    upload_report,
    typed_list,
    review_latest,
    submit_list,
]
