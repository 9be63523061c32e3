"""Rendering portal pages, and the portal's answer to every error: a page in words, never JSON.

Each page gets what the layout needs (who is signed in, the CSRF nonce for its forms, the issuer); an
error anywhere under /portal/ becomes a page with the status and one or two sentences a person can act on.
"""

import logging
import urllib.parse
from typing import Any

from litestar import MediaType, Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.handlers.base import BaseRouteHandler
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from service.api.auth import Principal
from service.api.problems import Problem
from service.ledger.database import LedgerUnavailable
from service.lists import SessionNotFound
from service.portal.csrf import CsrfRefused, csrf_token
from service.reports import MAX_REPORT_BYTES
from service.rules.wording import long_date

log = logging.getLogger("certledger")
HOME = "/portal/"
MAX_FORM_BYTES = 2 * 1024 * 1024  # the app's limit for a request body (service.app.MAX_BODY_BYTES)


class SignInRequired(Exception):
    """The page needs a signed-in facilitator or staff member."""


class StaffOnly(Exception):
    """The page is for staff (an admin token)."""


# Guards are coroutines: Litestar runs a plain function guard in a worker thread, a thread hop per request.
async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: someone with a facilitator or admin token signed in."""
    if connection.scope.get("user") is None:
        raise SignInRequired


async def staff(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Guard: staff (an admin token) signed in."""
    await signed_in(connection, handler)
    if connection.user.role != "admin":
        raise StaffOnly


def page(
    request: Request[Any, Any, Any], template: str, *, status_code: int = 200, **context: Any
) -> Template:
    user: Principal | None = request.scope.get("user")
    return Template(
        f"portal/{template}",
        context={
            "user": user,
            "is_staff": user is not None and user.role == "admin",
            "csrf_token": csrf_token(request) if "auth" in request.scope else "",
            "issuer": request.app.state.settings.issuer_name,
            "long_date": long_date,
            **context,
        },
        status_code=status_code,
        media_type=MediaType.HTML,
    )


def see_other(path: str, **query: str | int) -> Redirect:
    """After a POST that changed something: the browser GETs the result (reloading repeats nothing)."""
    target = f"{path}?{urllib.parse.urlencode(query)}" if query else path
    return Redirect(target, status_code=HTTP_303_SEE_OTHER)


def safe_next(value: object) -> str | None:
    """Where to go after signing in: only a path of this portal. Starting with /portal/, it names no other
    site; a backslash (browsers read it as a slash) and dot segments ("/portal/../api/…", also written
    %2e%2e, which a browser resolves out of the portal) are refused all the same."""
    if not isinstance(value, str) or not value.startswith("/portal/") or "\\" in value:
        return None
    path = urllib.parse.unquote(value.partition("?")[0].partition("#")[0])
    if any(segment in (".", "..") for segment in path.split("/")) or "\\" in path:
        return None
    return value if len(value) <= 500 and value.isprintable() else None


def submitted_by(actor: str) -> str:
    """Who a ledger event names, in words: "token:3:Jane Doe" is Jane Doe, the bootstrap token is staff."""
    if actor == "admin:bootstrap":
        return "staff (bootstrap token)"
    kind, _, rest = actor.partition(":")
    if kind == "token":
        return rest.partition(":")[2] or actor
    return actor


def _error_page(request: Request[Any, Any, Any], status: int, heading: str, message: str) -> Template:
    return page(request, "error.html", status_code=status, heading=heading, message=message)


def handle_portal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The portal router's exception handler (it overrides the app's problem details for /portal/)."""
    if isinstance(exc, SignInRequired):
        query = {"next": request.url.path} if request.method == "GET" else {}
        return see_other(HOME, **query)
    if isinstance(exc, StaffOnly):
        return _error_page(
            request,
            403,
            "For staff only",
            "This page needs a staff (admin) token. Sign in with one to see it.",
        )
    if isinstance(exc, CsrfRefused):
        return _error_page(
            request,
            403,
            "This form could not be accepted",
            "The form was not sent from this portal in your current sign-in (it may be from an older "
            "page, or your sign-in ended). Nothing was changed. Go back, reload the page, and send it again.",
        )
    if isinstance(exc, SessionNotFound) or (
        isinstance(exc, Problem | NotFoundException) and exc.status_code == 404
    ):
        return _error_page(
            request,
            404,
            "Not found",
            "There is nothing here that you can see. A facilitator sees only the sessions they registered.",
        )
    if isinstance(exc, ValidationException):
        return _error_page(request, 400, "That address is not right", "Check the link and try again.")
    if isinstance(exc, HTTPException):
        status = exc.status_code
        if status == 413:
            limit = MAX_REPORT_BYTES if request.url.path.endswith("/report") else MAX_FORM_BYTES
            message = (
                f"The file or form is too large (at most {limit // (1024 * 1024)} MB). Nothing was changed."
            )
        elif status == 405:
            message = "That page cannot be used this way. Use the links and buttons of the portal."
        else:
            message = exc.detail or "The request could not be handled."
        return _error_page(request, status, "That did not work", message)
    if isinstance(exc, LedgerUnavailable):
        log.error("ledger unavailable: %s", exc)
        return _error_page(
            request,
            503,
            "Please try again later",
            "The ledger cannot record changes right now; nothing was changed.",
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_page(
        request,
        500,
        "Something went wrong",
        "Something went wrong on our side. It has been logged; please try again later.",
    )
