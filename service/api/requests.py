"""Certificate requests (SPEC §3): decided by the desk, answered with one or two plain sentences."""

from typing import Annotated, Any, Literal

import msgspec
from litestar import Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK
from msgspec import Meta

from service.api.auth import Principal, requires
from service.api.documentation import API_OPERATION
from service.api.fields import Date, Email, EmailQuery, LocalTime, Text, date_out_of_range
from service.api.problems import Problem, field_error, problem_responses, require_json_body
from service.desk import MessageIdConflict
from service.ledger.certificates import CertificateRecord, get_certificates, lookup_certificate
from service.ledger.requests import NewRequest, RequestRecord, get_request, list_requests, mark_told
from service.rules.wording import clean_text

TAGS = ["certificate requests"]
NO_REQUEST = "No certificate request with that id."

MessageId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=998,
        pattern=r"^[^\u0000-\u001f\u007f]+$",
        description="The email's Message-ID.",
    ),
]


class CertificateRequestIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email: Email
    date: Date
    facilitator: Text | None = None
    message_id: MessageId | None = None
    start_time: LocalTime | None = None


class CertificateSummary(msgspec.Struct, kw_only=True):
    serial: str
    verify_url: str
    pdf_url: str
    holder_name: str
    session_date: str


class CertificateRequestOut(msgspec.Struct, kw_only=True):
    request_id: str
    email: str
    message_id: str | None
    outcome: Literal["issued", "pending", "rejected"]
    reason: str | None
    message: str
    certificate: CertificateSummary | None


class CertificateRequestsOut(msgspec.Struct):
    requests: list[CertificateRequestOut]


def certificate_summary(record: CertificateRecord) -> CertificateSummary:
    return CertificateSummary(
        serial=record.serial,
        verify_url=record.verify_url,
        pdf_url=f"/api/v1/certificates/{record.serial}/pdf",
        holder_name=record.holder_name,
        session_date=record.content.session_date.isoformat(),
    )


async def requests_out(
    request: Request[Principal, Any, Any], records: list[RequestRecord]
) -> list[CertificateRequestOut]:
    async with request.app.state.ledger.read() as db:
        certificates = await get_certificates(db, [r.serial for r in records if r.serial])
    return [_request_out(r, certificates.get(r.serial or "")) for r in records]


def request_out(request: Request[Principal, Any, Any], record: RequestRecord) -> CertificateRequestOut:
    serial = record.serial
    found = request.app.state.ledger.look(lambda db: lookup_certificate(db, serial)) if serial else None
    return _request_out(record, found)


def _request_out(record: RequestRecord, found: CertificateRecord | None) -> CertificateRequestOut:
    certificate = certificate_summary(found) if found else None
    return CertificateRequestOut(
        request_id=record.id,
        email=record.email,
        message_id=record.message_id,
        outcome=record.outcome,  # type: ignore[arg-type]
        reason=record.reason,
        message=record.message,
        certificate=certificate,
    )


@post(
    "/certificate-requests",
    status_code=HTTP_200_OK,
    guards=[requires("admin", "intake")],
    before_request=require_json_body,
    summary="Ask for a certificate",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(
        400,
        401,
        403,
        409,
        413,
        415,
        422,
        503,
        conflict="The message_id already belongs to a request from another address.",
    ),
)
async def create(
    request: Request[Principal, Any, Any], data: JSONBody[CertificateRequestIn]
) -> CertificateRequestOut:
    """Decides the request at once: `issued` (with the certificate), `pending` or `rejected`, with a
    `reason` and a plain `message` for the attendee. Asking again returns the same certificate."""
    if refused := date_out_of_range(data.date):
        raise field_error("date", refused)
    caller: Principal = request.user
    new = NewRequest(
        email=clean_text(data.email),
        date=data.date,
        facilitator=clean_text(data.facilitator) if data.facilitator else None,
        start_time=data.start_time,
        message_id=(data.message_id.strip() or None) if data.message_id else None,
    )
    try:
        record = await request.app.state.desk.request(new, caller.actor)
    except MessageIdConflict as exc:
        raise Problem(
            409, f"message_id {exc.args[0]!r} already belongs to a request from another address."
        ) from exc
    return request_out(request, record)


@get(
    "/certificate-requests",
    guards=[requires("admin", "intake")],
    summary="List certificate requests",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 422, 503),
)
async def list_all(
    request: Request[Principal, Any, Any],
    status: Annotated[
        Literal["pending", "decided", "issued", "rejected"] | None,
        QueryParameter(description="`decided` is issued or rejected; leave out for every status."),
    ] = None,
    notified: Annotated[
        bool | None,
        QueryParameter(description="false: the attendee has not been told the current outcome yet."),
    ] = None,
    email: EmailQuery = None,
) -> CertificateRequestsOut:
    """With status=decided&notified=false: requests whose outcome changed after their first answer."""
    async with request.app.state.ledger.read() as db:
        records = await list_requests(db, status=status, notified=notified, email=email)
    return CertificateRequestsOut(requests=await requests_out(request, records))


@post(
    "/certificate-requests/{request_id:str}/notified",
    status_code=HTTP_200_OK,
    guards=[requires("admin", "intake")],
    summary="Mark a request's outcome as told",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 404, 422, 503, not_found=NO_REQUEST),
)
async def notified(
    request: Request[Principal, Any, Any],
    request_id: FromPath[str],
    outcome: Annotated[
        Literal["issued", "pending", "rejected"] | None,
        QueryParameter(
            description="The outcome the attendee was told (default: the current one). When the outcome "
            "has changed since, the request stays in the notified=false listing."
        ),
    ] = None,
) -> CertificateRequestOut:
    """The attendee has been told the outcome: the request leaves the notified=false listing."""
    caller: Principal = request.user
    async with request.app.state.ledger.write(caller.actor) as tx:
        record = await mark_told(tx, request_id, outcome)
    if record is None:
        raise Problem(404, f"There is no certificate request {request_id!r}.")
    return request_out(request, record)


@get(
    "/certificate-requests/{request_id:str}",
    guards=[requires("admin", "intake")],
    summary="Show a certificate request",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 404, not_found=NO_REQUEST),
)
async def show(request: Request[Principal, Any, Any], request_id: FromPath[str]) -> CertificateRequestOut:
    """The request's current outcome, reason, message and certificate."""
    async with request.app.state.ledger.read() as db:
        record = await get_request(db, request_id)
    if record is None:
        raise Problem(404, f"There is no certificate request {request_id!r}.")
    return request_out(request, record)


routes = [create, list_all, notified, show]
