"""RFC 9457 problem details for every error under /api/ (and for unknown routes).

The verification routes (/v/..., /verify/...) answer in their own shapes instead (SPEC §3), except 429.
A validation error says which field was wrong; a body that is not JSON is a 400, one that breaks a rule
a 422 (SPEC §3). Nothing unexpected ever reaches the client as a traceback.
"""

import logging
import re
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_422_UNPROCESSABLE_ENTITY,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from service.ledger.database import LedgerUnavailable

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("certledger")

_TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Invalid request",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}
_ROW = re.compile(r"^attendees\[(\d+)\]")


class Problem(HTTPException):
    """An error answered as problem details; `errors` names the fields at fault."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        *,
        title: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=detail, status_code=status_code, headers=headers)
        self.title = title or _TITLES.get(status_code, "Error")
        self.errors = errors


def field_error(field: str, message: str) -> Problem:
    return Problem(HTTP_422_UNPROCESSABLE_ENTITY, f"{field}: {message}", errors=[_error(field, message)])


def _error(field: str, message: str) -> dict[str, Any]:
    error: dict[str, Any] = {"field": field, "message": message}
    if row := _ROW.match(field):
        error["row"] = int(row.group(1)) + 1
    return error


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": title, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _plain_message(field: str, message: str) -> str:
    """msgspec's messages are for programmers; say what a person can fix."""
    name = field.rsplit(".", 1)[-1]
    if message.startswith("Expected `str` matching regex"):
        if name == "email":
            return "is not a valid email address"
        if name == "start_time":
            return "must be a local time written HH:MM (00:00 to 23:59)"
        return "must be printable text without control characters, and not blank"
    if "RFC3339 encoded date" in message:
        return "must be a real calendar date written YYYY-MM-DD"
    return message


def _validation_problem(exc: ValidationException) -> tuple[int, str, list[dict[str, Any]]]:
    messages = exc.extra if isinstance(exc.extra, list) else []
    errors = []
    for item in messages:
        if not isinstance(item, dict):
            continue
        key, message = str(item.get("key", "")), str(item.get("message", "invalid value"))
        field = key.replace("data.", "", 1) if key else "body"
        errors.append(_error(field, _plain_message(field, message)))
    # Litestar reports a body that is not JSON as a validation error of the whole body.
    syntax = any("malformed" in e["message"].lower() or "json" in e["message"].lower() for e in errors)
    if not errors or syntax:
        return HTTP_400_BAD_REQUEST, "The request body is not valid JSON.", errors
    described = "; ".join(
        (f"row {e['row']}: " if "row" in e else "") + f"{e['field']}: {e['message']}" for e in errors
    )
    return HTTP_422_UNPROCESSABLE_ENTITY, described, errors


def handle_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The one exception handler of the app: maps every exception to its answer."""
    if isinstance(exc, Problem):
        return problem_response(
            exc.status_code,
            exc.title,
            exc.detail,
            errors=exc.errors,
            headers=exc.headers,
            instance=request.url.path,
        )
    if isinstance(exc, ValidationException):
        status, detail, errors = _validation_problem(exc)
        return problem_response(status, _TITLES[status], detail, errors=errors, instance=request.url.path)
    if isinstance(exc, HTTPException):
        status = exc.status_code
        detail = exc.detail if exc.detail and exc.detail != _TITLES.get(status) else ""
        return problem_response(
            status,
            _TITLES.get(status, "Error"),
            detail or _TITLES.get(status, "Error"),
            headers=exc.headers,
            instance=request.url.path,
        )
    if isinstance(exc, LedgerUnavailable):
        log.error("ledger unavailable: %s", exc)
        return problem_response(
            HTTP_503_SERVICE_UNAVAILABLE,
            _TITLES[503],
            "The ledger cannot record changes right now; nothing was changed. Please try again later.",
            headers={"Retry-After": "30"},
        )
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR,
        _TITLES[500],
        "Something went wrong on our side. It has been logged; please try again later.",
    )
