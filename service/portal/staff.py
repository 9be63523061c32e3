"""Staff pages (admin token): a person found by email, revocation, pending and refused requests, the
attendance export, and a certificate's stored PDF. Every session is on the shared sessions page.

"Where is my certificate?" answered in one page: the lists that name the person, their requests with
outcome and reason, and their certificates with status, serial, verification link and review flag.
"""

from typing import Any, Literal

import msgspec
from litestar import Request, Response, get, post
from litestar.params import FromPath

from service.api.auth import Principal
from service.api.certificates import RevokeIn, stored_pdf
from service.api.problems import Problem
from service.certificates.links import normalize_serial
from service.ledger.certificates import certificates_for, revoke_certificate
from service.ledger.exports import appearances, attendance, organizations, requests_with_outcome
from service.ledger.requests import list_requests
from service.portal.export import attendance_csv, export_filename
from service.portal.forms import text
from service.portal.pages import page, see_other, staff
from service.portal.session_filters import read_filters
from service.portal.statuses import reason_words
from service.rules.attendee_lists import is_email
from service.rules.wording import clean_text

EMAIL_MESSAGE = "Enter the person's email address, like name@example.org."
REASON_MESSAGE = "Say why it is revoked (shown on the verification page), in at most 2000 characters."


def _valid_email(value: str) -> str | None:
    return value.strip() if is_email(value) else None


async def _person_page(
    request: Request[Principal, Any, Any],
    typed: str,
    *,
    status: int = 200,
    revoke_errors: dict[str, str] | None = None,
    reasons: dict[str, str] | None = None,
) -> Response[Any]:
    email = _valid_email(typed) if typed else None
    context: dict[str, Any] = {"typed": typed, "email": email, "errors": {}, "searched": bool(typed)}
    if typed and email is None:
        context["errors"] = {"email": EMAIL_MESSAGE}
        status = 400
    if email is not None:
        async with request.app.state.ledger.read() as db:
            context["certificates"] = await certificates_for(db, email=email)
            context["requests"] = list(
                reversed(await list_requests(db, status=None, notified=None, email=email))
            )
            context["listed"] = await appearances(db, email)
    return page(
        request,
        "staff_person.html",
        status_code=status,
        reason_words=reason_words,
        revoke_errors=revoke_errors or {},
        reasons=reasons or {},
        revoked=request.query_params.get("revoked"),
        **context,
    )


@get("/staff/people", guards=[staff], name="portal:staff-person")
async def person(request: Request[Principal, Any, Any]) -> Response[Any]:
    return await _person_page(request, str(request.query_params.get("email") or "").strip()[:254])


@post("/staff/certificates/{serial:str}/revoke", guards=[staff], name="portal:staff-revoke")
async def revoke(request: Request[Principal, Any, Any], serial: FromPath[str]) -> Response[Any]:
    """Revoke with a reason, as POST /api/v1/certificates/{serial}/revoke does; then back to the person."""
    form = await request.form()
    typed_email = text(form, "email")[:254]
    reason = text(form, "reason")
    try:
        data = msgspec.convert({"reason": reason}, RevokeIn)
    except msgspec.ValidationError:
        return await _person_page(
            request,
            typed_email,
            status=422,
            revoke_errors={serial: REASON_MESSAGE},
            reasons={serial: reason[:2000]},
        )
    caller: Principal = request.user
    async with request.app.state.ledger.write(caller.actor) as tx:
        revoked = await revoke_certificate(tx, normalize_serial(serial), clean_text(data.reason))
    if revoked is None:
        raise Problem(404, f"There is no certificate {serial!r}.")
    return see_other("/portal/staff/people", email=typed_email or revoked.email, revoked=revoked.serial)


@get("/staff/requests", guards=[staff], name="portal:staff-requests")
async def requests(request: Request[Principal, Any, Any]) -> Response[Any]:
    """Pending requests (waiting for a session or its list), or refused ones, newest decisions first."""
    wanted = request.query_params.get("outcome")
    outcome: Literal["pending", "rejected"] = "rejected" if wanted == "rejected" else "pending"
    async with request.app.state.ledger.read() as db:
        found = await requests_with_outcome(db, outcome)
    return page(request, "staff_requests.html", outcome=outcome, requests=found, reason_words=reason_words)


@get("/staff/export", guards=[staff], name="portal:staff-export")
async def export(request: Request[Principal, Any, Any]) -> Response[Any]:
    """The form; with an organization and both dates, the CSV itself (the same as `certledger export`)."""
    filters = read_filters(request.query_params)
    if filters.given:
        for name, message in (
            ("organization", "Enter the contracting organization."),
            ("from", "Enter the first session date of the period."),
            ("to", "Enter the last session date of the period."),
        ):
            if not filters.values[name] and name not in filters.errors:
                filters.errors[name] = message
    if filters.given and not filters.errors:
        assert filters.organization and filters.first and filters.last
        async with request.app.state.ledger.read() as db:
            rows = await attendance(db, filters.organization, filters.first, filters.last)
        name = export_filename(filters.organization, filters.first, filters.last)
        return Response(
            attendance_csv(rows),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    async with request.app.state.ledger.read() as db:
        known = await organizations(db)
    return page(
        request,
        "staff_export.html",
        status_code=400 if filters.errors else 200,
        filters=filters,
        organizations=known,
    )


@get("/staff/certificates/{serial:str}/pdf", guards=[staff], name="portal:staff-pdf")
async def pdf(request: Request[Principal, Any, Any], serial: FromPath[str]) -> Response[bytes]:
    """The PDF exactly as stored when it was issued, to send it again by hand."""
    return stored_pdf(request, normalize_serial(serial))


routes = [person, revoke, requests, export, pdf]
