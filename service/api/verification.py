"""Public verification of a certificate from the link printed on it (SPEC §3).

People get an HTML page, programs JSON (Accept: application/json). Altered, truncated, foreign-key and
unknown tokens all get the same 404, so the answer reveals nothing about why. Never the holder's email.
"""

import sqlite3
from collections.abc import Callable
from typing import Any, Literal

import msgspec
from litestar import MediaType, Request, Response, get, head
from litestar.openapi import ResponseSpec
from litestar.params import FromPath
from litestar.response import Template
from litestar.response.base import ASGIResponse

from service.api.documentation import HTML, RETRY_AFTER, documented
from service.api.problems import problem_responses
from service.certificates.links import LinkSigner
from service.ledger.certificates import CertificateRecord, lookup_certificate
from service.ledger.database import LedgerUnavailable
from service.rules.wording import join_names, long_date


class VerifiedSession(msgspec.Struct, kw_only=True):
    date: str
    title: str
    facilitators: list[str]
    duration_minutes: int
    contact_hours: float
    delivery: str


class SupersededBy(msgspec.Struct, kw_only=True):
    serial: str
    verify_url: str


class Verification(msgspec.Struct, kw_only=True):
    status: Literal["valid", "revoked", "superseded"]
    serial: str
    holder_name: str
    issuer: str
    issued_at: str
    session: VerifiedSession
    revoked_at: str | None
    revocation_reason: str | None
    superseded_by: SupersededBy | None = None


class Invalid(msgspec.Struct):
    status: Literal["invalid"] = "invalid"


def is_verification_path(path: str) -> bool:
    return path in ("/v", "/verify") or path.startswith(("/v/", "/verify/"))


def wants_json(request: Request[Any, Any, Any]) -> bool:
    # Read from the raw ASGI headers: building request.headers costs more than the rest of a cached
    # verification (issue 6).
    accept = next((v.decode("latin-1") for k, v in request.scope["headers"] if k == b"accept"), "")
    # The two answers programs and browsers actually send, without parsing the header.
    if accept == "application/json":
        return True
    if "json" not in accept:
        return False
    best = request.accept.best_match(["text/html", "application/json"], default="text/html")
    return best == "application/json"


def invalid_answer(request: Request[Any, Any, Any]) -> Response[Any]:
    if wants_json(request):
        return Response(Invalid(), status_code=404, media_type=MediaType.JSON)
    return Template(
        "verify_invalid.html",
        context={"issuer": request.app.state.settings.issuer_name},
        status_code=404,
        media_type=MediaType.HTML,
    )


def verification_of(record: CertificateRecord) -> Verification:
    superseded_by = None
    if record.superseded_by is not None and record.superseded_by_url is not None:
        superseded_by = SupersededBy(serial=record.superseded_by, verify_url=record.superseded_by_url)
    content = record.content
    status: Literal["valid", "revoked", "superseded"] = (
        "superseded" if superseded_by else "revoked" if record.revoked_at else "valid"
    )
    return Verification(
        status=status,
        serial=record.serial,
        holder_name=content.holder_name,
        issuer=content.issuer,
        issued_at=record.issued_at,
        session=VerifiedSession(
            date=content.session_date.isoformat(),
            title=content.title,
            facilitators=list(content.facilitators),
            duration_minutes=content.duration_minutes,
            contact_hours=content.contact_hours,
            delivery=content.delivery,
        ),
        revoked_at=record.revoked_at,
        revocation_reason=record.revocation_reason,
        superseded_by=superseded_by,
    )


class _Answers:
    """One certificate's verification answers, made once while the ledger stays unchanged."""

    def __init__(self, record: CertificateRecord) -> None:
        self.record = record
        self.verification = verification_of(record)
        self.json = _encoder.encode(self.verification)
        self._html: bytes | None = None

    def html(self, request: Request[Any, Any, Any]) -> bytes:
        if self._html is None:
            template = request.app.template_engine.get_template("verify.html")
            self._html = template.render(**self._context()).encode()
        return self._html

    def _context(self) -> dict[str, Any]:
        verification, content = self.verification, self.record.content
        return {
            "status": verification.status,
            "status_label": verification.status.capitalize(),
            "serial": verification.serial,
            "holder_name": verification.holder_name,
            "issuer": verification.issuer,
            "session": verification.session,
            "session_date": long_date(content.session_date),
            "contact_hours": f"{content.contact_hours:g}",
            "facilitators": join_names(content.facilitators),
            "issued_on": long_date(content.issued_on),
            "revoked_on": self.record.revoked_at[:10] if self.record.revoked_at else None,
            "revocation_reason": verification.revocation_reason,
            "superseded_by": verification.superseded_by,
        }


_encoder = msgspec.json.Encoder()


def _answers_for(
    signer: LinkSigner, token: str
) -> Callable[[sqlite3.Connection], tuple[_Answers | None, str | None]]:
    def compute(db: sqlite3.Connection) -> tuple[_Answers | None, str | None]:
        serial = signer.serial_from(token)
        record = None if serial is None else lookup_certificate(db, serial)
        return (None if record is None else _Answers(record)), serial

    return compute


@get(
    "/v/{token:str}",
    summary="Verify a certificate",
    description=(
        "The path of the verification URL printed on a certificate (public, no token). An HTML page by "
        "default; JSON with `Accept: application/json`. A link that is altered, truncated, signed with "
        'an unknown key or names no certificate answers 404 `{"status": "invalid"}` (or the page '
        "saying it could not be verified). Never the holder's email."
    ),
    tags=["verification"],
    operation_class=documented(
        drop=("400",),
        content={"200": {"text/html": HTML}, "404": {"text/html": HTML}},
        headers={"429": {"Retry-After": RETRY_AFTER}},
    ),
    responses={
        200: ResponseSpec(
            data_container=Verification,
            description="The certificate: `valid`, `revoked` or `superseded` (then with `superseded_by`).",
            generate_examples=False,
        ),
        404: ResponseSpec(
            data_container=Invalid, description="The link names no certificate.", generate_examples=False
        ),
        **problem_responses(429),
    },
)
async def verify(request: Request[Any, Any, Any], token: FromPath[str]) -> ASGIResponse:
    # The low-level response: a cached answer needs no Response object and no conversion of it.
    answers = _answers(request, token)
    if answers is None:
        return invalid_answer(request).to_asgi_response(app=None, request=request)
    if wants_json(request):
        return ASGIResponse(body=answers.json, media_type=MediaType.JSON)
    return ASGIResponse(body=answers.html(request), media_type=MediaType.HTML)


@head("/v/{token:str}", summary="Check a verification link", tags=["verification"], include_in_schema=False)
async def verify_head(request: Request[Any, Any, Any], token: FromPath[str]) -> Response[None]:
    """Link checkers and QR-code apps ask with HEAD first: the same status, no body."""
    found = _answers(request, token) is not None
    media_type = MediaType.JSON if wants_json(request) else MediaType.HTML
    return Response(None, status_code=200 if found else 404, media_type=media_type)


def _answers(request: Request[Any, Any, Any], token: str) -> _Answers | None:
    # Keyed by the token itself: a link seen before needs neither its signature checked nor a read.
    state = request.app.state
    try:
        return state.verifications.get(token, _answers_for(state.signer, token))
    except sqlite3.OperationalError as exc:
        raise LedgerUnavailable(str(exc)) from exc


routes = [verify, verify_head]
