"""Certificates for staff and the intake: stored PDFs, lookup, revocation (SPEC §3)."""

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from service.api.auth import Principal, requires
from service.api.documentation import (
    API_OPERATION,
    CONTENT_DISPOSITION,
    PDF,
    RETRY_AFTER,
    WWW_AUTHENTICATE,
    documented,
)
from service.api.fields import EmailQuery, LongText
from service.api.problems import Problem, problem_responses, require_json_body
from service.api.requests import CertificateRequestOut, requests_out
from service.certificates.links import normalize_serial
from service.ledger.certificates import (
    CertificateRecord,
    certificates_for,
    get_pdf,
    revoke_certificate,
)
from service.ledger.requests import list_requests, requests_for_session
from service.rules.wording import clean_text

TAGS = ["certificates"]
NO_CERTIFICATE = "No certificate with that serial."
PDF_OPERATION = documented(
    replace_content={"200": {"application/pdf": PDF}},
    headers={
        "200": {"Content-Disposition": CONTENT_DISPOSITION},
        "401": {"WWW-Authenticate": WWW_AUTHENTICATE},
        "503": {"Retry-After": RETRY_AFTER},
    },
)


class RevokeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    reason: LongText


class CertificateOut(msgspec.Struct, kw_only=True):
    serial: str
    session_id: str
    email: str
    holder_name: str
    session_date: str
    issued_at: str
    verify_url: str
    pdf_url: str
    status: str
    revoked_at: str | None
    revocation_reason: str | None
    supersedes: str | None
    superseded_by: str | None
    list_version: int
    needs_review: bool


class CertificateListingOut(msgspec.Struct, kw_only=True):
    certificates: list[CertificateOut]
    requests: list[CertificateRequestOut]


def certificate_out(record: CertificateRecord, needs_review: bool = False) -> CertificateOut:
    return CertificateOut(
        serial=record.serial,
        session_id=record.session_id,
        email=record.email,
        holder_name=record.holder_name,
        session_date=record.content.session_date.isoformat(),
        issued_at=record.issued_at,
        verify_url=record.verify_url,
        pdf_url=f"/api/v1/certificates/{record.serial}/pdf",
        status=record.status,
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        supersedes=record.supersedes,
        superseded_by=record.superseded_by,
        list_version=record.list_version,
        needs_review=needs_review,
    )


@get(
    "/certificates/{serial:str}/pdf",
    guards=[requires("admin", "intake")],
    media_type="application/pdf",
    summary="Download a certificate's PDF",
    response_description="The PDF exactly as stored when the certificate was issued.",
    tags=TAGS,
    operation_class=PDF_OPERATION,
    responses=problem_responses(400, 401, 403, 404, not_found=NO_CERTIFICATE),
)
async def pdf(request: Request[Principal, Any, Any], serial: FromPath[str]) -> Response[bytes]:
    """The bytes stored when the certificate was issued: the record of what was issued."""
    return stored_pdf(request, normalize_serial(serial))


def stored_pdf(request: Request[Principal, Any, Any], serial: str) -> Response[bytes]:
    stored = request.app.state.ledger.look(lambda db: get_pdf(db, serial))
    if stored is None:
        raise Problem(404, f"There is no certificate {serial!r}.")
    return Response(
        stored,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="certificate-{serial}.pdf"'},
    )


@get(
    "/certificates",
    guards=[requires("admin")],
    summary="Find certificates by email or session",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(
        400, 401, 403, 422, bad_request="Neither or both of ?email= and ?session_id= were given."
    ),
)
async def lookup(
    request: Request[Principal, Any, Any],
    email: EmailQuery = None,
    session_id: Annotated[str | None, QueryParameter(description="A session's id.")] = None,
) -> CertificateListingOut:
    """A person's (`?email=`) or a session's (`?session_id=`) certificates and requests, for "where is my
    certificate?"; exactly one of the two. `needs_review` flags a holder a later list no longer makes eligible."""
    if (email is None) == (session_id is None):
        raise Problem(400, "Give exactly one of ?email=… or ?session_id=….")
    async with request.app.state.ledger.read() as db:
        listed = await certificates_for(db, email=email, session_id=session_id)
        if email is not None:
            requests = await list_requests(db, status=None, notified=None, email=email)
        else:
            requests = await requests_for_session(db, session_id or "")
    return CertificateListingOut(
        certificates=[certificate_out(c.record, c.needs_review) for c in listed],
        requests=await requests_out(request, requests),
    )


@post(
    "/certificates/{serial:str}/revoke",
    status_code=HTTP_200_OK,
    guards=[requires("admin")],
    before_request=require_json_body,
    summary="Revoke a certificate",
    tags=TAGS,
    operation_class=API_OPERATION,
    responses=problem_responses(400, 401, 403, 404, 413, 415, 422, 503, not_found=NO_CERTIFICATE),
)
async def revoke(
    request: Request[Principal, Any, Any], serial: FromPath[str], data: JSONBody[RevokeIn]
) -> CertificateOut:
    """Revoked certificates stay verifiable and show when and why they were revoked."""
    caller: Principal = request.user
    # Revoking again is a no-op that answers with the first revocation (safe to retry).
    async with request.app.state.ledger.write(caller.actor) as tx:
        revoked = await revoke_certificate(tx, normalize_serial(serial), clean_text(data.reason))
    if revoked is None:
        raise Problem(404, f"There is no certificate {serial!r}.")
    return certificate_out(revoked)


routes = [pdf, lookup, revoke]
