"""Attendance-report import (SPEC §6): a Zoom or Teams export in, the proposed attendee list out.

The body is the file exactly as exported. Nothing is stored: the facilitator reviews the proposal and
submits it with PUT /api/v1/sessions/{id}/attendees (the extra keys of each row are ignored there).
"""

from dataclasses import dataclass
from typing import Any

from litestar import Request, post
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.spec import OpenAPIMediaType, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.params import FromPath

from service.api.auth import Principal, requires
from service.api.documentation import API_OPERATION
from service.api.problems import Problem, check_api_request, problem_responses
from service.api.sessions import NO_SESSION, load_session
from service.reports import MAX_REPORT_BYTES, ReportError
from service.reports.proposal import Proposal, propose_list

TAGS = ["sessions"]
# What browsers, curl and spreadsheets call a CSV or TSV file; none at all is fine too.
REPORT_MEDIA_TYPES = (
    "text/csv",
    "text/tab-separated-values",
    "text/plain",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
)
DESCRIPTION = (
    "The session's attendee list as the report shows it, not yet submitted: each person with "
    "`full_participation` by the rule of SPEC §6 (by default joined at most 15 min after the start, present "
    "until at most 10 min before the end, away at most 10 min in all in between; reconnects and second "
    "devices merged), the minutes behind it and `notes` in words. "
    "`core_trained` is true when a current list already holds that email as core-trained, and the name is "
    "the one an earlier list gave the email, else the report's display name without tags. Facilitators are "
    'left out, and named in `unmatched` as "a facilitator of this session" after whoever has no usable '
    "email (with the reason). `notes` says things about the report as a whole: where the start came from "
    "when the session has no `start_time` (the report's meeting start, else the time by which half of the "
    "attendees had joined), or that the report's meeting started far from the registered start. A report "
    "in which nobody was there during the session is a 422, and so is one with a time more than two days "
    "from the session's date (naming its row). A Zoom 'unique users' export "
    "has no join or leave times: `joined_late_minutes` and `left_early_minutes` are null and nobody is "
    "proposed as full participant. Review the proposal, then PUT it to /sessions/{id}/attendees (the extra "
    "keys are ignored there). Nothing is stored."
)
_TEXT = Schema(type=OpenAPIType.STRING, description="The export's bytes: UTF-8 or UTF-16, comma or tab.")
_BYTES = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


@dataclass
class _ReportOperation(API_OPERATION):  # type: ignore[misc,valid-type]
    """Documents the raw request body, which the handler reads itself (Litestar documents only `data`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(
            required=True,
            description="A Zoom participant report (also its 'unique users' export) or a Microsoft Teams "
            "attendance report, exactly as exported, at most 5 MB.",
            content={
                "text/csv": OpenAPIMediaType(schema=_TEXT),
                "text/tab-separated-values": OpenAPIMediaType(schema=_TEXT),
                "application/octet-stream": OpenAPIMediaType(schema=_BYTES),
            },
        )


def _media_type(request: Request[Any, Any, Any]) -> tuple[str, str | None]:
    """The declared media type ("" when none) and its charset parameter."""
    declared = request.headers.get("content-type") or ""
    media_type, *parameters = (part.strip() for part in declared.split(";"))
    charset = next(
        (
            value.strip().strip('"')
            for key, _, value in (p.partition("=") for p in parameters)
            if key.strip().lower() == "charset"
        ),
        None,
    )
    return media_type.lower(), charset or None


async def require_report_body(request: Request[Any, Any, Any]) -> None:
    """before_request of the import (it replaces the router's, so it runs that one too): a body declared
    as something other than a CSV file is a 415 saying what to send."""
    await check_api_request(request)
    media_type, _ = _media_type(request)
    if media_type and media_type not in REPORT_MEDIA_TYPES:
        raise Problem(
            415,
            f"Send the exported file itself as the body (Content-Type: text/csv), not {media_type!r}; "
            "for example: curl --data-binary @report.csv -H 'Content-Type: text/csv' …",
        )


@post(
    "/sessions/{session_id:str}/attendance-report",
    status_code=200,
    guards=[requires("admin", "facilitator")],
    before_request=require_report_body,
    request_max_body_size=MAX_REPORT_BYTES,
    summary="Propose the attendee list from a Zoom or Teams attendance report",
    description=DESCRIPTION,
    tags=TAGS,
    operation_class=_ReportOperation,
    responses=problem_responses(
        400,
        401,
        403,
        404,
        413,
        415,
        422,
        not_found=NO_SESSION,
    ),
)
async def propose_from_report(request: Request[Principal, Any, Any], session_id: FromPath[str]) -> Proposal:
    """The proposed list of a session from its attendance report; DESCRIPTION (in the OpenAPI document)
    says the rules."""
    session = await load_session(request, session_id)
    try:
        data = await request.body()
    except RequestEntityTooLarge:
        raise Problem(
            413,
            f"The file is larger than {MAX_REPORT_BYTES // (1024 * 1024)} MB; an attendance report is far "
            "smaller. Check that it is the export itself.",
        ) from None
    _, charset = _media_type(request)
    try:
        proposed = await propose_list(
            request.app.state.ledger, session, data, request.app.state.settings, charset=charset
        )
    except ReportError as exc:
        raise Problem(422, str(exc)) from None
    return proposed.proposal


routes = [propose_from_report]
