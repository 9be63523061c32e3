"""POST /verify/pdf: is this file exactly a certificate we issued? (SPEC §6; customcert #430)

A certification board that was handed a PDF checks it here, with no token:
- genuine: its SHA-256 is the recorded digest of a certificate's stored bytes (an indexed lookup), so it
  is the file that was issued, unaltered; the answer carries that certificate's verification as /v/ gives
  it (valid, revoked with the reason, or superseded by a corrected one);
- altered: it is not such a file, but it names a certificate that exists (fingerprint.named_serials: the
  serial in its metadata, title or text). It may have been edited, or merely re-saved by a program; either
  way the file proves nothing, and the verification link printed on it is what to rely on. The certificate
  itself is not shown: knowing a serial must not reveal what the signed link does;
- unknown: anything else, garbage and empty bodies included (never a 5xx).

Programs send the file as the body (`Content-Type: application/pdf`) and get JSON; the upload form on the
verification pages posts multipart/form-data and gets a page (JSON too when it asks with Accept). At most
5 MB (413), other media types 415, problem details for programs. Nothing is stored, nothing is kept.
"""

import asyncio
import hashlib
import sqlite3
from dataclasses import dataclass
from typing import Any, Literal

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import ClientException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Encoding, Example, OpenAPIMediaType, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType
from litestar.response import Template

from service.api.documentation import HTML, RETRY_AFTER, documented
from service.api.problems import PROBLEM_JSON, Problem, ProblemDetails, problem_response, problem_responses
from service.api.verification import Verification, verification_of, wants_json
from service.certificates.fingerprint import named_serials
from service.ledger.certificates import CertificateRecord, find_by_pdf_sha256, lookup_certificate
from service.rules.wording import join_names, long_date

MAX_PDF_BYTES = 5 * 1024 * 1024
# A form upload wraps the file in a multipart envelope (boundary lines, part headers): room for it.
_ENVELOPE_BYTES = 64 * 1024
PDF_MEDIA_TYPE = "application/pdf"
FORM_MEDIA_TYPE = "multipart/form-data"
FILE_FIELD = "file"
_SHOWN_FILENAME = 120
TAGS = ["verification"]

Outcome = Literal["genuine", "altered", "unknown"]


class PdfCheck(msgspec.Struct, kw_only=True):
    """The answer to a file check: `certificate` is the verification of the certificate the file is
    (as GET /v/{token} gives it) when `status` is `genuine`, else null."""

    status: Outcome
    certificate: Verification | None


@dataclass(frozen=True)
class _Checked:
    status: Outcome
    record: CertificateRecord | None  # genuine: the certificate it is; altered: the one it names


def _fingerprint(data: bytes) -> tuple[str, tuple[str, ...]]:
    return hashlib.sha256(data).hexdigest(), named_serials(data)


async def _check(request: Request[Any, Any, Any], data: bytes) -> _Checked:
    # Hashing and scanning up to 5 MB take milliseconds: off the event loop.
    digest, serials = await asyncio.to_thread(_fingerprint, data)
    # Single-row reads by an indexed key, on the lookup connection (as /v/ does).
    return request.app.state.ledger.look(lambda db: _checked(db, digest, serials))


def _checked(db: sqlite3.Connection, digest: str, serials: tuple[str, ...]) -> _Checked:
    issued = find_by_pdf_sha256(db, digest)
    if issued is not None:
        return _Checked("genuine", issued)
    for serial in serials:
        named = lookup_certificate(db, serial)
        if named is not None:
            return _Checked("altered", named)
    return _Checked("unknown", None)


def _json(checked: _Checked) -> Response[Any]:
    certificate = verification_of(checked.record) if checked.status == "genuine" and checked.record else None
    return Response(PdfCheck(status=checked.status, certificate=certificate), media_type=MediaType.JSON)


def _page(
    request: Request[Any, Any, Any],
    outcome: str | None,
    *,
    status_code: int = 200,
    record: CertificateRecord | None = None,
    filename: str | None = None,
) -> Template:
    context: dict[str, Any] = {
        "issuer": request.app.state.settings.issuer_name,
        "outcome": outcome,
        "max_mb": MAX_PDF_BYTES // (1024 * 1024),
        "filename": _shown(filename),
    }
    if record is not None and outcome == "genuine":
        content = record.content
        context |= {
            "certificate": verification_of(record),
            "session_date": long_date(content.session_date),
            "contact_hours": f"{content.contact_hours:g}",
            "facilitators": join_names(content.facilitators),
            "issued_on": long_date(content.issued_on),
            "revoked_on": record.revoked_at[:10] if record.revoked_at else None,
        }
    elif record is not None:
        context["serial"] = record.serial
    return Template("verify_pdf.html", context=context, status_code=status_code, media_type=MediaType.HTML)


def _shown(filename: str | None) -> str | None:
    if not filename:
        return None
    printable = "".join(c for c in filename if c.isprintable())
    return printable if len(printable) <= _SHOWN_FILENAME else printable[: _SHOWN_FILENAME - 1] + "…"


_TOO_LARGE_DETAIL = (
    f"The file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB; a certificate we issue is far smaller "
    "(tens of kilobytes). Check that it is the certificate's PDF file itself."
)
_NO_FILE_DETAIL = (
    f"The form carries no file in its {FILE_FIELD!r} field; attach the certificate's PDF file there as a "
    f"file, with a filename (for example: curl -F {FILE_FIELD}=@certificate.pdf …), or send the file itself "
    "as the body with Content-Type: application/pdf."
)
_UNREADABLE_DETAIL = (
    "The request body cannot be read as multipart/form-data (no boundary, or a broken or overlong "
    f"envelope); send the certificate's PDF file as its {FILE_FIELD!r} field."
)
# The upload form's refusals, by the page's outcome: the status, and the problem for JSON callers.
_REFUSALS = {
    "unreadable": (400, "Bad request", _UNREADABLE_DETAIL),
    "too_large": (413, "Request body too large", _TOO_LARGE_DETAIL),
    "no_file": (422, "Invalid request", _NO_FILE_DETAIL),
}


def _media_type(request: Request[Any, Any, Any]) -> str:
    return (request.headers.get("content-type") or "").partition(";")[0].strip().lower()


def _refuse(
    request: Request[Any, Any, Any], outcome: str, as_json: bool, filename: str | None = None
) -> Response[Any]:
    status, title, detail = _REFUSALS[outcome]
    if as_json:
        return problem_response(status, title, detail, instance=request.url.path)
    return _page(request, outcome, status_code=status, filename=filename)


async def _check_form(request: Request[Any, Any, Any]) -> Response[Any]:
    """The upload form's answer: a page (JSON and problem details when the caller asks for JSON)."""
    as_json = wants_json(request)
    try:
        form = await request.form()
    except RequestEntityTooLarge:
        return _refuse(request, "too_large", as_json)
    except ClientException:
        # No boundary, a broken envelope, too many parts: nothing readable was sent.
        return _refuse(request, "unreadable", as_json)
    except (UnicodeError, LookupError, ValueError):
        # Litestar decodes a part without a filename as text in the charset it declares: binary bytes or
        # an unknown charset fail there. Such a part is a text field, not a file upload.
        return _refuse(request, "no_file", as_json)
    try:
        # A browser sends the form without a chosen file as an empty text field: that is no file either.
        upload = next((v for v in form.getall(FILE_FIELD, []) if isinstance(v, UploadFile)), None)
        data = await upload.read() if upload is not None else None
    finally:
        await form.close()
    if upload is None or data is None:
        return _refuse(request, "no_file", as_json)
    if len(data) > MAX_PDF_BYTES:
        return _refuse(request, "too_large", as_json, upload.filename)
    checked = await _check(request, data)
    if as_json:
        return _json(checked)
    return _page(request, checked.status, record=checked.record, filename=upload.filename)


_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_FORM = Schema(
    type=OpenAPIType.OBJECT,
    required=[FILE_FIELD],
    properties={
        FILE_FIELD: Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description="The PDF file to check."
        )
    },
)


@dataclass
class _CheckOperation(
    documented(  # type: ignore[misc]
        content={status: {"text/html": HTML} for status in ("200", "400", "413", "422")},
        headers={"429": {"Retry-After": RETRY_AFTER}},
    )
):
    """Documents the raw request body, which the handler reads itself (Litestar documents only `data`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.request_body = RequestBody(
            required=True,
            description=(
                f"The PDF file, at most {MAX_PDF_BYTES // (1024 * 1024)} MB: the body itself "
                "(`application/pdf`), or the `file` field of a form upload (`multipart/form-data`, as the "
                "verification pages' upload form sends it)."
            ),
            content={
                PDF_MEDIA_TYPE: OpenAPIMediaType(schema=_BINARY),
                FORM_MEDIA_TYPE: OpenAPIMediaType(
                    schema=_FORM, encoding={FILE_FIELD: Encoding(content_type=PDF_MEDIA_TYPE)}
                ),
            },
        )


def _problem_spec(status: int, title: str, description: str, detail: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ProblemDetails,
        media_type=PROBLEM_JSON,
        description=description,
        generate_examples=False,
        examples=[
            Example(
                summary=title,
                value={"type": "about:blank", "status": status, "title": title, "detail": detail},
            )
        ],
    )


@post(
    "/verify/pdf",
    status_code=200,
    request_max_body_size=MAX_PDF_BYTES + _ENVELOPE_BYTES,
    summary="Check a certificate's PDF file",
    description=(
        "Public, no token. Is this file exactly a certificate we issued? `genuine`: byte for byte the "
        "file stored when a certificate was issued; `certificate` is then that certificate's verification, "
        "as `GET /v/{token}` gives it (`valid`, `revoked` with the reason, or `superseded`). `altered`: "
        "the file names a certificate we issued but is not that file: it may have been edited or "
        "re-saved; rely on the verification link printed on it instead. `unknown`: anything else "
        "(`certificate` is null for both). Each outcome is a 200. The body is the file itself "
        "(`application/pdf`, answered in JSON) or the `file` field of the verification pages' upload "
        "form (`multipart/form-data`, answered with a page, or JSON with `Accept: application/json`). "
        "Nothing is stored."
    ),
    tags=TAGS,
    operation_class=_CheckOperation,
    responses={
        200: ResponseSpec(
            data_container=PdfCheck,
            description="The outcome: `genuine`, `altered` or `unknown` (a page for the upload form).",
            generate_examples=False,
        ),
        400: _problem_spec(
            400,
            "Bad request",
            "A form upload that cannot be read as multipart/form-data (a page for the upload form).",
            _UNREADABLE_DETAIL,
        ),
        413: _problem_spec(
            413,
            "Request body too large",
            f"The file is larger than {MAX_PDF_BYTES // (1024 * 1024)} MB (a page for the upload form).",
            _TOO_LARGE_DETAIL,
        ),
        415: _problem_spec(
            415,
            "Unsupported media type",
            "The body is neither `application/pdf` nor `multipart/form-data`.",
            "Send the PDF file itself as the body with Content-Type: application/pdf, not 'text/plain'.",
        ),
        422: _problem_spec(
            422,
            "Invalid request",
            "A form upload without a file in its `file` field (a page for the upload form).",
            _NO_FILE_DETAIL,
        ),
        **problem_responses(429),
    },
)
async def check_pdf(request: Request[Any, Any, Any]) -> Response[Any]:
    media_type = _media_type(request)
    if media_type == FORM_MEDIA_TYPE:
        return await _check_form(request)
    if media_type != PDF_MEDIA_TYPE:
        declared = f", not {media_type!r}" if media_type else ""
        raise Problem(
            415,
            "Send the PDF file itself as the body with Content-Type: application/pdf"
            f"{declared} (for example: curl --data-binary @certificate.pdf -H 'Content-Type: "
            "application/pdf' …), or upload it as the `file` field of multipart/form-data.",
        )
    try:
        data = await request.body()
    except RequestEntityTooLarge:
        raise Problem(413, _TOO_LARGE_DETAIL) from None
    if len(data) > MAX_PDF_BYTES:
        raise Problem(413, _TOO_LARGE_DETAIL)
    return _json(await _check(request, data))


@get(
    "/verify/pdf",
    summary="The page to check a certificate's PDF file",
    response_description="The page with the upload form.",
    description="An HTML page with the upload form that posts to `POST /verify/pdf` (public, no token).",
    tags=TAGS,
    media_type=MediaType.HTML,
    operation_class=documented(headers={"429": {"Retry-After": RETRY_AFTER}}),
    responses={**problem_responses(429)},
)
async def check_pdf_page(request: Request[Any, Any, Any]) -> Template:
    return _page(request, None)


routes = [check_pdf, check_pdf_page]
